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

static int32_t neigh_find(const struct rte_hash *h, uint32_t ip_be,
			  uint64_t *w);

int
mps_neigh_get(const struct rte_hash *h, uint32_t ip_be, uint64_t *w)
{
	return neigh_find(h, ip_be, w) < 0 ? -ENOENT : 0;
}

int
mps_neigh_lookup(const struct rte_hash *h, uint32_t ip_be, uint32_t now_s,
		 uint32_t ttl_s, uint8_t mac[6])
{
	uint64_t w;

	if (mps_neigh_get(h, ip_be, &w) != 0 || mps_neigh_expired(w, now_s, ttl_s))
		return -ENOENT;
	mps_neigh_unpack_mac(w, mac);
	return 0;
}

uint32_t
mps_neigh_lock_slots(const struct rte_hash *h)
{
	int32_t n = rte_hash_max_key_id(h);

	return n < 0 ? 0 : (uint32_t)n + 1;
}

/* The data word of ip and its key position, or -ENOENT. */
static int32_t
neigh_find(const struct rte_hash *h, uint32_t ip_be, uint64_t *w)
{
	void *data;
	int32_t pos = rte_hash_lookup_with_hash_data(h, &ip_be,
						      mps_neigh_sig(ip_be), &data);

	if (pos < 0)
		return -ENOENT;
	*w = (uint64_t)(uintptr_t)data;
	return pos;
}

static inline uint64_t *
neigh_stamp(const struct mps_neigh_learner *l, int32_t pos)
{
	if (l->changed_ms == NULL || pos < 0 || (uint32_t)pos >= l->n_changed)
		return NULL;
	return &l->changed_ms[pos];
}

/* Stamps a key that was just created (its position is known only now). */
static void
neigh_stamp_new(struct mps_neigh_learner *l, uint32_t ip_be)
{
	uint64_t w;
	uint64_t *st = neigh_stamp(l, neigh_find(l->h, ip_be, &w));

	if (st != NULL)
		__atomic_store_n(st, l->now_ms, __ATOMIC_RELEASE);
}

enum mps_neigh_result
mps_neigh_learn(struct mps_neigh_learner *l, uint32_t ip_be,
		const uint8_t mac[6], enum mps_neigh_evidence ev)
{
	uint64_t old, w = mps_neigh_pack(mac, l->now_s, 0, l->worker);
	uint32_t half = RTE_MAX(l->ttl_s / 2, 1u);
	uint32_t refresh = RTE_MIN(MPS_NEIGH_REFRESH_S, half);
	enum mps_neigh_result res = MPS_NEIGH_ADDED;
	uint64_t *st = NULL, seen = 0;
	int32_t pos = neigh_find(l->h, ip_be, &old);
	int is_new = pos < 0;

	if (pos >= 0) {
		if (mps_neigh_is_static(old))
			return mps_neigh_same_mac(old, w) ? MPS_NEIGH_UNCHANGED :
							    MPS_NEIGH_PINNED;
		if (mps_neigh_same_mac(old, w)) {
			if (mps_neigh_age(old, l->now_s) < refresh)
				return MPS_NEIGH_UNCHANGED;
			res = MPS_NEIGH_REFRESHED;
		} else if (mps_neigh_expired(old, l->now_s, l->ttl_s)) {
			is_new = 1; /* lookups already treat it as absent */
		} else if (ev == MPS_NEIGH_EV_IPV4) {
			return MPS_NEIGH_CONFLICT;
		} else {
			st = neigh_stamp(l, pos);
			if (st != NULL)
				seen = __atomic_load_n(st, __ATOMIC_ACQUIRE);
			/* Signed: a stamp a little ahead of our clock (another
			 * worker read the TSC later) is recent, not ancient. */
			if (st != NULL && ev == MPS_NEIGH_EV_ARP &&
			    (int64_t)(l->now_ms - seen) < (int64_t)l->locktime_ms)
				return MPS_NEIGH_CONFLICT;
		}
	}
	if (l->writes != NULL && !mps_tbucket_take(l->writes, l->now_ms))
		return MPS_NEIGH_RATELIMITED;
	if (res == MPS_NEIGH_ADDED && !is_new && st != NULL) {
		/* Claim the change: of two workers changing one entry at
		 * once (two replies racing) only the first does. */
		if (ev != MPS_NEIGH_EV_ARP)
			__atomic_store_n(st, l->now_ms, __ATOMIC_RELEASE);
		else if (!__atomic_compare_exchange_n(st, &seen, l->now_ms, 0,
						      __ATOMIC_ACQ_REL,
						      __ATOMIC_ACQUIRE))
			return MPS_NEIGH_CONFLICT;
	} else if (is_new && pos >= 0) {
		st = neigh_stamp(l, pos);
		if (st != NULL)
			__atomic_store_n(st, l->now_ms, __ATOMIC_RELEASE);
	}
	/* On an existing key this is one atomic store of the data word. */
	if (rte_hash_add_key_with_hash_data(l->h, &ip_be, mps_neigh_sig(ip_be),
					    (void *)(uintptr_t)w) < 0)
		return MPS_NEIGH_FULL;
	if (is_new && pos < 0)
		neigh_stamp_new(l, ip_be);
	return res;
}

int
mps_neigh_add_static(struct rte_hash *h, uint32_t ip_be, const uint8_t mac[6])
{
	uint64_t w = mps_neigh_pack(mac, 0, 1, 0);

	if (rte_hash_add_key_with_hash_data(h, &ip_be, mps_neigh_sig(ip_be),
					    (void *)(uintptr_t)w) < 0)
		return -ENOSPC;
	return 0;
}

#define EXPIRE_BATCH 256u

/* Keys are collected first and deleted after the walk, so the iteration
 * never runs over a bucket it is changing. Each word is read again just
 * before its delete: a worker that refreshed it meanwhile keeps it (the
 * remaining window only costs that worker one miss and a re-learn). */
unsigned int
mps_neigh_expire(struct rte_hash *h, uint32_t now_s, uint32_t ttl_s,
		 int32_t *pos, unsigned int max)
{
	uint32_t keys[EXPIRE_BATCH], iter = 0;
	unsigned int n_keys = 0, n = 0;
	const void *key;
	void *data;

	max = RTE_MIN(max, EXPIRE_BATCH);
	while (n_keys < max && rte_hash_iterate(h, &key, &data, &iter) >= 0)
		if (mps_neigh_expired((uint64_t)(uintptr_t)data, now_s, ttl_s))
			keys[n_keys++] = *(const uint32_t *)key;
	for (unsigned int i = 0; i < n_keys; i++) {
		uint64_t w;
		int32_t p;

		if (mps_neigh_get(h, keys[i], &w) != 0 ||
		    !mps_neigh_expired(w, now_s, ttl_s))
			continue;
		p = rte_hash_del_key_with_hash(h, &keys[i], mps_neigh_sig(keys[i]));
		if (p >= 0)
			pos[n++] = p;
	}
	return n;
}
