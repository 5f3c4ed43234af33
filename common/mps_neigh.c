/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mps_neigh.c - see mps_neigh.h.
 */
#include <errno.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>

#include "mps_neigh.h"

uint32_t
mps_neigh_sig(uint32_t ip_be)
{
	return rte_hash_crc_4byte(ip_be, 0);
}

/* Lock-free readers and multi-writer adds: workers learn concurrently while
 * others look up; only the primary deletes. RW_CONCURRENCY_LF implies
 * NO_FREE_ON_DEL: a deleted key's slot is reused only once the primary
 * frees it after a grace period (see mps_neigh_expire). */
struct rte_hash *
mps_neigh_create(const char *name, uint32_t entries, int socket_id)
{
	struct rte_hash_parameters p = {
		.name = name,
		.entries = entries,
		.key_len = sizeof(uint32_t),
		.hash_func = rte_hash_crc,
		.hash_func_init_val = 0,
		.socket_id = socket_id,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
			      RTE_HASH_EXTRA_FLAGS_MULTI_WRITER_ADD,
	};

	return rte_hash_create(&p);
}

int
mps_neigh_get(const struct rte_hash *h, uint32_t ip_be, uint64_t *w)
{
	void *data;

	if (rte_hash_lookup_with_hash_data(h, &ip_be, mps_neigh_sig(ip_be),
					   &data) < 0)
		return -ENOENT;
	*w = (uint64_t)(uintptr_t)data;
	return 0;
}

int32_t
mps_neigh_find(const struct mps_neigh_table *t, uint32_t ip_be, uint64_t *w,
	       struct mps_neigh_stamp **st)
{
	void *data;
	int32_t pos = rte_hash_lookup_with_hash_data(t->h, &ip_be,
						      mps_neigh_sig(ip_be), &data);

	/* A position past the stamps would be a sizing bug: treat the key
	 * as absent rather than read beyond the array. */
	if (pos < 0 || (uint32_t)pos >= t->n_st)
		return -ENOENT;
	*w = (uint64_t)(uintptr_t)data;
	*st = &t->st[pos];
	return pos;
}

int
mps_neigh_lookup(const struct mps_neigh_table *t, uint32_t ip_be,
		 uint64_t now_ms, uint32_t ttl_s, uint8_t mac[6])
{
	struct mps_neigh_stamp *st;
	uint64_t w;

	if (mps_neigh_find(t, ip_be, &w, &st) < 0 ||
	    mps_neigh_expired(w, st, now_ms, ttl_s))
		return -ENOENT;
	mps_neigh_unpack_mac(w, mac);
	return 0;
}

uint32_t
mps_neigh_stamp_slots(const struct rte_hash *h)
{
	int32_t n = rte_hash_max_key_id(h);

	return n < 0 ? 0 : (uint32_t)n + 1;
}

void
mps_neigh_stamps_init(struct mps_neigh_stamp *st, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		st[i] = (struct mps_neigh_stamp){ .written_ms = MPS_NEIGH_UNSTAMPED };
}

/* Stamps both times of a key that was just created (its position is
 * known only now). */
static void
neigh_stamp_new(struct mps_neigh_learner *l, uint32_t ip_be)
{
	struct mps_neigh_stamp *st;
	uint64_t w;

	if (mps_neigh_find(&l->t, ip_be, &w, &st) < 0)
		return;
	__atomic_store_n(&st->changed_ms, l->now_ms, __ATOMIC_RELEASE);
	__atomic_store_n(&st->written_ms, l->now_ms, __ATOMIC_RELEASE);
}

enum mps_neigh_result
mps_neigh_learn(struct mps_neigh_learner *l, uint32_t ip_be,
		const uint8_t mac[6], enum mps_neigh_evidence ev)
{
	uint64_t old, w = mps_neigh_pack(mac, 0, l->worker);
	uint64_t half = RTE_MAX(l->ttl_s / 2, 1u) * 1000ull;
	uint64_t refresh = RTE_MIN(MPS_NEIGH_REFRESH_S * 1000ull, half);
	struct mps_neigh_stamp *st = NULL;
	uint64_t seen = 0;
	int cas = 0; /* the change must win the stamp from seen */
	int32_t pos = mps_neigh_find(&l->t, ip_be, &old, &st);

	if (pos >= 0) {
		if (mps_neigh_is_static(old))
			return mps_neigh_same_mac(old, w) ? MPS_NEIGH_UNCHANGED :
							    MPS_NEIGH_PINNED;
		if (mps_neigh_same_mac(old, w)) {
			if (__atomic_load_n(&st->written_ms, __ATOMIC_ACQUIRE) !=
			    MPS_NEIGH_UNSTAMPED &&
			    mps_neigh_age_ms(st, l->now_ms) < refresh)
				return MPS_NEIGH_UNCHANGED;
			/* A refresh is one store of the stamp: no hash write. */
			if (l->writes != NULL && !mps_tbucket_take(l->writes, l->now_ms))
				return MPS_NEIGH_RATELIMITED;
			__atomic_store_n(&st->written_ms, l->now_ms, __ATOMIC_RELEASE);
			return MPS_NEIGH_REFRESHED;
		}
		if (!mps_neigh_expired(old, st, l->now_ms, l->ttl_s)) {
			/* Unstamped: its creator has not stamped the change
			 * time yet, and the old one is a previous key's. */
			if (ev == MPS_NEIGH_EV_IPV4 ||
			    (ev == MPS_NEIGH_EV_ARP &&
			     __atomic_load_n(&st->written_ms, __ATOMIC_ACQUIRE) ==
			     MPS_NEIGH_UNSTAMPED))
				return MPS_NEIGH_CONFLICT;
			seen = __atomic_load_n(&st->changed_ms, __ATOMIC_ACQUIRE);
			/* Signed: a stamp a little ahead of our clock (another
			 * worker read the TSC later) is recent, not ancient. */
			if (ev == MPS_NEIGH_EV_ARP &&
			    (int64_t)(l->now_ms - seen) < (int64_t)l->locktime_ms)
				return MPS_NEIGH_CONFLICT;
			cas = ev == MPS_NEIGH_EV_ARP;
		}
		/* Expired (lookups already treat it as absent) or a due
		 * change: the key stays, its MAC and stamps change. */
	}
	if (l->writes != NULL && !mps_tbucket_take(l->writes, l->now_ms))
		return MPS_NEIGH_RATELIMITED;
	if (pos >= 0) {
		/* Claim the change: of two workers changing one entry at
		 * once (two replies racing) only the first does. */
		if (!cas)
			__atomic_store_n(&st->changed_ms, l->now_ms, __ATOMIC_RELEASE);
		else if (!__atomic_compare_exchange_n(&st->changed_ms, &seen,
						      l->now_ms, 0,
						      __ATOMIC_ACQ_REL,
						      __ATOMIC_ACQUIRE))
			return MPS_NEIGH_CONFLICT;
	}
	/* On an existing key this is one atomic store of the data word. */
	if (rte_hash_add_key_with_hash_data(l->t.h, &ip_be, mps_neigh_sig(ip_be),
					    (void *)(uintptr_t)w) < 0)
		return MPS_NEIGH_FULL;
	/* The primary may have deleted the key between our find and our add,
	 * which then created it anew, maybe at another position: stamp
	 * where it is now. */
	if (pos >= 0 && mps_neigh_find(&l->t, ip_be, &old, &st) == pos)
		__atomic_store_n(&st->written_ms, l->now_ms, __ATOMIC_RELEASE);
	else
		neigh_stamp_new(l, ip_be);
	return MPS_NEIGH_ADDED;
}

int
mps_neigh_add_static(struct rte_hash *h, uint32_t ip_be, const uint8_t mac[6])
{
	uint64_t w = mps_neigh_pack(mac, 1, 0);

	if (rte_hash_add_key_with_hash_data(h, &ip_be, mps_neigh_sig(ip_be),
					    (void *)(uintptr_t)w) < 0)
		return -ENOSPC;
	return 0;
}

#define EXPIRE_BATCH 256u

/* Keys are collected first and deleted after the walk, so the iteration
 * never runs over a bucket it is changing. Each entry is read again just
 * before its delete: a worker that refreshed it meanwhile keeps it (the
 * remaining window only costs that worker one miss and a re-learn). */
unsigned int
mps_neigh_expire(const struct mps_neigh_table *t, uint64_t now_ms,
		 uint32_t ttl_s, int32_t *pos, unsigned int max)
{
	uint32_t keys[EXPIRE_BATCH], iter = 0;
	unsigned int n_keys = 0, n = 0;
	const void *key;
	void *data;
	int32_t p;

	max = RTE_MIN(max, EXPIRE_BATCH);
	while (n_keys < max &&
	       (p = rte_hash_iterate(t->h, &key, &data, &iter)) >= 0) {
		uint64_t unstamped = MPS_NEIGH_UNSTAMPED;

		if ((uint32_t)p >= t->n_st)
			continue;
		/* A key its creator never stamped (killed between its add
		 * and its stamp) starts its TTL now; a creator that is only
		 * late overwrites this. Every entry ages. */
		__atomic_compare_exchange_n(&t->st[p].written_ms, &unstamped, now_ms,
					    0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
		if (mps_neigh_expired((uint64_t)(uintptr_t)data, &t->st[p],
				      now_ms, ttl_s))
			keys[n_keys++] = *(const uint32_t *)key;
	}
	for (unsigned int i = 0; i < n_keys; i++) {
		struct mps_neigh_stamp *st;
		uint64_t w;

		if (mps_neigh_find(t, keys[i], &w, &st) < 0 ||
		    !mps_neigh_expired(w, st, now_ms, ttl_s))
			continue;
		p = rte_hash_del_key_with_hash(t->h, &keys[i], mps_neigh_sig(keys[i]));
		if (p >= 0)
			pos[n++] = p;
	}
	return n;
}

void
mps_neigh_release(const struct mps_neigh_table *t, int32_t pos)
{
	if (pos >= 0 && (uint32_t)pos < t->n_st) {
		__atomic_store_n(&t->st[pos].changed_ms, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&t->st[pos].written_ms, MPS_NEIGH_UNSTAMPED,
				 __ATOMIC_RELEASE);
	}
	rte_hash_free_key_with_position(t->h, pos);
}
