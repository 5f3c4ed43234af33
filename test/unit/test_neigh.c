/* SPDX-License-Identifier: BSD-3-Clause
 *
 * test_neigh.c - the neighbour table (common/mps_neigh.[ch]): the packed data
 * word, then a real rte_hash (EAL is initialised by main.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_log.h>
#include <rte_memory.h>

#include "mps_neigh.h"
#include "mps_shared.h" /* the TTL defaults */
#include "unit.h"

#define IP(a, b, c, d) htonl(((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | \
			     ((uint32_t)(c) << 8) | (uint32_t)(d))

static const uint8_t mac1[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t mac2[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x57 };
static const uint8_t mac3[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee };

void
test_neigh_pack_roundtrip(void)
{
	static const uint8_t macs[][6] = {
		{ 0x01, 0x02, 0x03, 0x04, 0x05, 0x06 },
		{ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 },
		{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
		{ 0x80, 0x00, 0x00, 0x00, 0x00, 0x01 },
		{ 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 },
	};
	uint8_t out[6];
	uint64_t w;

	/* The documented layout: MAC in bits 0-47, first byte highest,
	 * worker in 48-55, static in 63, nothing else. */
	CHECK_EQ(mps_neigh_pack(macs[0], 0, 0), 0x010203040506ll);
	CHECK(mps_neigh_pack(macs[0], 0, 5) == (5ull << 48 | 0x010203040506ull));
	CHECK(mps_neigh_pack(macs[2], 1, 255) == (~0ull & ~(0x7full << 56)));
	CHECK(mps_neigh_pack(macs[2], 0, 255) == 0x00ffffffffffffffull);

	for (size_t m = 0; m < sizeof(macs) / sizeof(macs[0]); m++) {
		for (unsigned int id = 0; id < 256; id += 51) {
			for (int s = 0; s <= 1; s++) {
				w = mps_neigh_pack(macs[m], s, id);
				memset(out, 0x77, sizeof(out));
				mps_neigh_unpack_mac(w, out);
				CHECK(memcmp(out, macs[m], 6) == 0);
				CHECK_EQ(mps_neigh_is_static(w), s);
				CHECK_EQ(mps_neigh_worker(w), id);
			}
		}
	}
}

void
test_neigh_static_bit(void)
{
	uint64_t s = mps_neigh_pack(mac1, 1, 0);
	uint64_t d = mps_neigh_pack(mac1, 0, 0);
	uint8_t out[6];

	CHECK_EQ(mps_neigh_is_static(s), 1);
	CHECK_EQ(mps_neigh_is_static(d), 0);
	CHECK_EQ(mps_neigh_is_static(mps_neigh_pack(mac1, 7, 0)), 1);
	CHECK(s == (d | 1ull << 63));
	/* The flag does not affect the MAC. */
	mps_neigh_unpack_mac(s, out);
	CHECK(memcmp(out, mac1, 6) == 0);
	CHECK(mps_neigh_same_mac(s, d));
}

/* Ages are 64-bit milliseconds: they never wrap back to fresh, however
 * long aging is held up (the 11-bit seconds of layout 14 read an entry
 * written at t as 5 s old at t + 2053 s). */
void
test_neigh_age_wrap(void)
{
	struct mps_neigh_stamp st = { .written_ms = 100000 };
	const uint64_t w = mps_neigh_pack(mac1, 0, 0);
	const uint32_t ttl = MPS_NEIGH_TTL_S;

	CHECK(mps_neigh_age_ms(&st, 100000) == 0);
	CHECK(mps_neigh_age_ms(&st, 110000) == 10000);
	CHECK(!mps_neigh_expired(w, &st, 100000 + ttl * 1000ull - 1, ttl));
	CHECK(mps_neigh_expired(w, &st, 100000 + ttl * 1000ull, ttl));
	/* Long after: still expired, at every period the old layouts had. */
	CHECK(mps_neigh_expired(w, &st, 100000 + 2053000ull, ttl));
	CHECK(mps_neigh_expired(w, &st, 100000 + 0x8000 * 1000ull + 5000, ttl));
	CHECK(mps_neigh_expired(w, &st, 100000 + (1ull << 32) * 1000 + 5000, ttl));
	CHECK(mps_neigh_expired(w, &st, UINT64_MAX / 2, ttl));
	/* A stamp a little ahead of the reader's clock is fresh. */
	CHECK(mps_neigh_age_ms(&st, 99990) == 0);
	CHECK(!mps_neigh_expired(w, &st, 99990, ttl));
	/* Unstamped (a key being created) is fresh; static never expires. */
	st.written_ms = MPS_NEIGH_UNSTAMPED;
	CHECK(mps_neigh_age_ms(&st, 1ull << 40) == 0);
	CHECK(!mps_neigh_expired(w, &st, 1ull << 40, ttl));
	st.written_ms = 0;
	CHECK(!mps_neigh_expired(mps_neigh_pack(mac1, 1, 0), &st, 1ull << 40, 1));
}

void
test_neigh_same_mac(void)
{
	uint64_t a = mps_neigh_pack(mac1, 0, 0);

	CHECK(mps_neigh_same_mac(a, a));
	CHECK(mps_neigh_same_mac(a, mps_neigh_pack(mac1, 1, 200)));
	CHECK(!mps_neigh_same_mac(a, mps_neigh_pack(mac2, 0, 0)));
	for (int i = 0; i < 6; i++) {
		uint8_t m[6];

		memcpy(m, mac1, 6);
		m[i] ^= 0x80;
		CHECK(!mps_neigh_same_mac(a, mps_neigh_pack(m, 0, 0)));
		m[i] ^= 0x81;
		CHECK(!mps_neigh_same_mac(a, mps_neigh_pack(m, 0, 0)));
	}
}

/* CRC32-C (Castagnoli, reflected, no inversion) of a 32-bit word as the
 * SSE4.2 crc32 instruction computes it: what rte_hash_crc_4byte must return
 * on any CPU, so that every process agrees on a key's signature. */
static uint32_t
ref_crc32c_4byte(uint32_t data, uint32_t init)
{
	uint32_t crc = init ^ data;

	for (int i = 0; i < 32; i++)
		crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1u)));
	return crc;
}

void
test_neigh_sig_stable(void)
{
	const uint32_t ips[] = {
		0, 0xffffffffu, IP(198, 18, 0, 1), IP(198, 18, 0, 2),
		IP(10, 0, 0, 1), IP(1, 2, 3, 4), 0x80000000u, 1,
	};
	uint32_t s0, s1;

	for (size_t i = 0; i < sizeof(ips) / sizeof(ips[0]); i++) {
		s0 = mps_neigh_sig(ips[i]);
		s1 = mps_neigh_sig(ips[i]);
		CHECK_EQ(s0, s1);
		if (!CHECK_EQ(s0, ref_crc32c_4byte(ips[i], 0)))
			printf("  ip 0x%08x\n", ips[i]);
	}
	/* Neighbouring addresses get different signatures. */
	CHECK(mps_neigh_sig(IP(198, 18, 0, 1)) != mps_neigh_sig(IP(198, 18, 0, 2)));
	CHECK(mps_neigh_sig(IP(198, 18, 0, 1)) != mps_neigh_sig(IP(198, 18, 1, 1)));
}

/* A table with a name no other test uses, and its stamps as the primary
 * makes them. free_table() frees both. */
static struct mps_neigh_table *
new_table(uint32_t entries)
{
	static unsigned int seq;
	char name[RTE_HASH_NAMESIZE];
	struct mps_neigh_table *t = calloc(1, sizeof(*t));

	if (!CHECK(t != NULL))
		return NULL;
	snprintf(name, sizeof(name), "unit_neigh_%u", seq++);
	t->h = mps_neigh_create(name, entries, SOCKET_ID_ANY);
	if (!CHECK(t->h != NULL)) {
		printf("  mps_neigh_create(%s, %u): %s\n", name, entries,
		       rte_strerror(rte_errno));
		free(t);
		return NULL;
	}
	t->n_st = mps_neigh_stamp_slots(t->h);
	t->st = calloc(t->n_st, sizeof(*t->st));
	if (!CHECK(t->n_st > 0 && t->st != NULL)) {
		rte_hash_free(t->h);
		free(t);
		return NULL;
	}
	mps_neigh_stamps_init(t->st, t->n_st);
	return t;
}

static void
free_table(struct mps_neigh_table *t)
{
	rte_hash_free(t->h);
	free(t->st);
	free(t);
}

/* The raw data word of a key, or 0 with a failed check if absent. */
static uint64_t
raw_word(const struct mps_neigh_table *t, uint32_t ip)
{
	uint64_t w = 0;

	CHECK_EQ(mps_neigh_get(t->h, ip, &w), 0);
	return w;
}

/* When a key was last written, in seconds (tests write whole seconds). */
static uint64_t
written_s(const struct mps_neigh_table *t, uint32_t ip)
{
	struct mps_neigh_stamp *st;
	uint64_t w;

	if (!CHECK(mps_neigh_find(t, ip, &w, &st) >= 0))
		return 0;
	return st->written_ms / 1000;
}

/* The table's own behaviour, with the rules out of the way: a
 * gratuitous ARP (changes at once), no write budget. */
static enum mps_neigh_result
garp_learn(struct mps_neigh_table *t, uint32_t ip, const uint8_t mac[6],
	   uint32_t now_s, uint32_t ttl_s, unsigned int worker)
{
	struct mps_neigh_learner l = {
		.t = *t, .ttl_s = ttl_s, .worker = worker,
		.now_ms = (uint64_t)now_s * 1000,
	};

	return mps_neigh_learn(&l, ip, mac, MPS_NEIGH_EV_ARP_OVERRIDE);
}

/* mps_neigh_lookup at now_s seconds. */
static int
lookup_s(const struct mps_neigh_table *t, uint32_t ip, uint64_t now_s,
	 uint32_t ttl, uint8_t mac[6])
{
	return mps_neigh_lookup(t, ip, now_s * 1000, ttl, mac);
}

static int
lookup_is(const struct mps_neigh_table *t, uint32_t ip, uint64_t now_s,
	  uint32_t ttl, const uint8_t want[6])
{
	uint8_t mac[6];

	memset(mac, 0, sizeof(mac));
	if (lookup_s(t, ip, now_s, ttl, mac) != 0)
		return 0;
	return memcmp(mac, want, 6) == 0;
}

void
test_neigh_table_learn(void)
{
	struct mps_neigh_table *h;
	const uint32_t ip = IP(198, 18, 0, 1), ip2 = IP(198, 18, 0, 9);
	const uint32_t t0 = 1000, ttl = MPS_NEIGH_TTL_S;
	uint32_t t;
	uint8_t mac[6];
	uint64_t w;

	if (!CHECK(unit_eal_ok))
		return;
	h = new_table(1024);
	if (h == NULL)
		return;

	memset(mac, 0x77, sizeof(mac));
	CHECK_EQ(lookup_s(h, ip, t0, ttl, mac), -ENOENT);
	CHECK_EQ(mac[0], 0x77); /* untouched when absent */

	/* New -> ADDED, then found. */
	CHECK_EQ(garp_learn(h, ip, mac1, t0, MPS_NEIGH_TTL_S, 0), MPS_NEIGH_ADDED);
	CHECK(lookup_is(h, ip, t0, ttl, mac1));
	CHECK_EQ(rte_hash_lookup(h->h, &ip) >= 0, 1);
	CHECK_EQ(rte_hash_count(h->h), 1);
	w = raw_word(h, ip);
	CHECK_EQ(written_s(h, ip), t0);
	CHECK_EQ(mps_neigh_is_static(w), 0);

	/* Same MAC while fresh -> UNCHANGED, and nothing is written. */
	CHECK_EQ(garp_learn(h, ip, mac1, t0, MPS_NEIGH_TTL_S, 0), MPS_NEIGH_UNCHANGED);
	CHECK_EQ(garp_learn(h, ip, mac1, t0 + MPS_NEIGH_REFRESH_S - 1, MPS_NEIGH_TTL_S, 0),
		 MPS_NEIGH_UNCHANGED);
	CHECK_EQ(written_s(h, ip), t0);

	/* Same MAC once due -> REFRESHED, with the new timestamp. */
	t = t0 + MPS_NEIGH_REFRESH_S;
	CHECK_EQ(garp_learn(h, ip, mac1, t, MPS_NEIGH_TTL_S, 0), MPS_NEIGH_REFRESHED);
	CHECK_EQ(written_s(h, ip), t);
	CHECK_EQ(rte_hash_count(h->h), 1);
	/* Fresh again from t: not due until t + REFRESH, alive until t + TTL. */
	CHECK_EQ(garp_learn(h, ip, mac1, t + MPS_NEIGH_REFRESH_S - 1, MPS_NEIGH_TTL_S, 0),
		 MPS_NEIGH_UNCHANGED);
	CHECK(lookup_is(h, ip, t + ttl - 1, ttl, mac1));

	/* Changed MAC -> ADDED at once (even while fresh), lookup sees it. */
	CHECK_EQ(garp_learn(h, ip, mac2, t + 1, MPS_NEIGH_TTL_S, 0), MPS_NEIGH_ADDED);
	CHECK(lookup_is(h, ip, t + 1, ttl, mac2));
	CHECK_EQ(written_s(h, ip), t + 1);
	CHECK_EQ(garp_learn(h, ip, mac2, t + 2, MPS_NEIGH_TTL_S, 0), MPS_NEIGH_UNCHANGED);
	CHECK_EQ(rte_hash_count(h->h), 1);

	/* A second address is independent. */
	CHECK_EQ(garp_learn(h, ip2, mac1, t + 3, MPS_NEIGH_TTL_S, 0), MPS_NEIGH_ADDED);
	CHECK(lookup_is(h, ip2, t + 3, ttl, mac1));
	CHECK(lookup_is(h, ip, t + 3, ttl, mac2));
	CHECK_EQ(rte_hash_count(h->h), 2);

	/* A refresh writes the stamp only: the word stays as it was. */
	w = raw_word(h, ip2);
	CHECK_EQ(garp_learn(h, ip2, mac1, t + 3 + MPS_NEIGH_REFRESH_S, MPS_NEIGH_TTL_S, 5),
		 MPS_NEIGH_REFRESHED);
	CHECK(raw_word(h, ip2) == w);
	CHECK_EQ(written_s(h, ip2), t + 3 + MPS_NEIGH_REFRESH_S);

	free_table(h);
}

void
test_neigh_table_expire(void)
{
	struct mps_neigh_table *h;
	const uint32_t ip = IP(198, 18, 0, 1), ttl = MPS_NEIGH_TTL_S;
	const uint32_t t0 = 1000;
	uint8_t mac[6];

	if (!CHECK(unit_eal_ok))
		return;
	h = new_table(256);
	if (h == NULL)
		return;

	CHECK_EQ(garp_learn(h, ip, mac1, t0, MPS_NEIGH_TTL_S, 0), MPS_NEIGH_ADDED);
	CHECK(lookup_is(h, ip, t0 + ttl - 1, ttl, mac1));
	memset(mac, 0x77, sizeof(mac));
	CHECK_EQ(lookup_s(h, ip, t0 + ttl, ttl, mac), -ENOENT);
	CHECK_EQ(mac[0], 0x77);
	CHECK_EQ(lookup_s(h, ip, t0 + ttl + 100, ttl, mac), -ENOENT);
	/* The caller's TTL is what counts. */
	CHECK(lookup_is(h, ip, t0 + 4, 5, mac1));
	CHECK_EQ(lookup_s(h, ip, t0 + 5, 5, mac), -ENOENT);
	CHECK_EQ(lookup_s(h, ip, t0, 0, mac), -ENOENT);
	/* Expired but still in the table: learning it again revives it. */
	CHECK_EQ(rte_hash_count(h->h), 1);
	CHECK_EQ(garp_learn(h, ip, mac1, t0 + ttl, MPS_NEIGH_TTL_S, 0), MPS_NEIGH_REFRESHED);
	CHECK(lookup_is(h, ip, t0 + ttl, ttl, mac1));
	CHECK_EQ(garp_learn(h, ip, mac2, t0 + 3 * ttl, MPS_NEIGH_TTL_S, 0), MPS_NEIGH_ADDED);
	CHECK(lookup_is(h, ip, t0 + 3 * ttl, ttl, mac2));

	/* Aging held up for ever (no reclaim): never fresh again. */
	CHECK_EQ(garp_learn(h, ip, mac1, 32760, MPS_NEIGH_TTL_S, 0), MPS_NEIGH_ADDED);
	CHECK(lookup_is(h, ip, 32760 + ttl - 1, ttl, mac1));
	for (uint64_t later = ttl; later < (1ull << 33); later = later * 3 + 7)
		if (!CHECK_EQ(lookup_s(h, ip, 32760 + later, ttl, mac), -ENOENT))
			printf("  fresh again %" PRIu64 " s later\n", later);
	CHECK_EQ(lookup_s(h, ip, 32760 + 2048 + 5, ttl, mac), -ENOENT);

	free_table(h);
}

void
test_neigh_table_static(void)
{
	struct mps_neigh_table *h;
	const uint32_t ip = IP(198, 18, 0, 254), ttl = MPS_NEIGH_TTL_S;
	uint64_t w = mps_neigh_pack(mac3, 1, 0);
	uint8_t mac[6];

	if (!CHECK(unit_eal_ok))
		return;
	h = new_table(256);
	if (h == NULL)
		return;

	CHECK_EQ(rte_hash_add_key_with_hash_data(h->h, &ip, mps_neigh_sig(ip),
						 (void *)(uintptr_t)w),
		 0);
	CHECK(lookup_is(h, ip, 0, ttl, mac3));

	/* learn never overwrites it, whatever the MAC or the time. */
	CHECK_EQ(garp_learn(h, ip, mac1, 5, MPS_NEIGH_TTL_S, 0), MPS_NEIGH_PINNED);
	CHECK_EQ(garp_learn(h, ip, mac1, 5000, MPS_NEIGH_TTL_S, 0), MPS_NEIGH_PINNED);
	CHECK_EQ(garp_learn(h, ip, mac3, 5000, MPS_NEIGH_TTL_S, 0), MPS_NEIGH_UNCHANGED);
	CHECK(raw_word(h, ip) == w);

	/* and it never expires. */
	CHECK(lookup_is(h, ip, ttl, ttl, mac3));
	CHECK(lookup_is(h, ip, 0x7fff, ttl, mac3));
	CHECK(lookup_is(h, ip, 1000000, ttl, mac3));
	CHECK(lookup_is(h, ip, 1000000, 0, mac3));
	memset(mac, 0, sizeof(mac));
	CHECK_EQ(lookup_s(h, ip, 0xffffffffu, 1, mac), 0);
	CHECK(memcmp(mac, mac3, 6) == 0);

	free_table(h);
}

void
test_neigh_table_full(void)
{
	enum { ENTRIES = 64, MAX_TRY = 4096 };
	struct mps_neigh_table *h;
	const uint32_t t0 = 50, ttl = MPS_NEIGH_TTL_S;
	uint32_t n = 0, full_ip = 0;
	int added_ok = 1, found_ok = 1;
	uint8_t mac[6];

	if (!CHECK(unit_eal_ok))
		return;
	h = new_table(ENTRIES);
	if (h == NULL)
		return;

	for (uint32_t i = 0; i < MAX_TRY; i++) {
		uint32_t ip = IP(10, 0, i >> 8, i & 0xff);
		enum mps_neigh_result r;

		memcpy(mac, mac1, 6);
		mac[4] = (uint8_t)(i >> 8);
		mac[5] = (uint8_t)i;
		r = garp_learn(h, ip, mac, t0, MPS_NEIGH_TTL_S, 0);
		if (r == MPS_NEIGH_FULL) {
			full_ip = ip;
			break;
		}
		if (r != MPS_NEIGH_ADDED)
			added_ok = 0;
		n++;
	}
	CHECK(added_ok);
	if (!CHECK(full_ip != 0))
		printf("  %u entries added to a %u-entry table\n", n, ENTRIES);
	/* Cuckoo hashing fills most of the buckets before giving up. */
	if (!CHECK(n >= ENTRIES / 2 && n <= ENTRIES))
		printf("  full after %u entries\n", n);
	CHECK_EQ(rte_hash_count(h->h), n);

	/* The refused one is absent; every added one survived the cuckoo
	 * displacements with its own MAC. */
	CHECK_EQ(lookup_s(h, full_ip, t0, ttl, mac), -ENOENT);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t want[6];

		memcpy(want, mac1, 6);
		want[4] = (uint8_t)(i >> 8);
		want[5] = (uint8_t)i;
		if (!lookup_is(h, IP(10, 0, i >> 8, i & 0xff), t0, ttl, want))
			found_ok = 0;
	}
	CHECK(found_ok);

	/* A full table still updates keys it holds (no new slot needed). */
	CHECK_EQ(garp_learn(h, IP(10, 0, 0, 0), mac3, t0 + 1,
				 MPS_NEIGH_TTL_S, 0),
		 MPS_NEIGH_ADDED);
	CHECK(lookup_is(h, IP(10, 0, 0, 0), t0 + 1, ttl, mac3));
	memcpy(mac, mac1, 6);
	mac[4] = 0;
	mac[5] = 1;
	CHECK_EQ(garp_learn(h, IP(10, 0, 0, 1), mac,
				 t0 + MPS_NEIGH_REFRESH_S, MPS_NEIGH_TTL_S, 0),
		 MPS_NEIGH_REFRESHED);
	CHECK_EQ(garp_learn(h, full_ip, mac2, t0 + 2, MPS_NEIGH_TTL_S, 0), MPS_NEIGH_FULL);
	CHECK_EQ(rte_hash_count(h->h), n);

	free_table(h);
}

/* Creation: usable table, failures reported with NULL and rte_errno. */
void
test_neigh_table_create(void)
{
	struct rte_hash *h, *h2;
	const uint32_t ip = IP(198, 18, 0, 1);
	uint32_t log_level;

	if (!CHECK(unit_eal_ok))
		return;
	h = mps_neigh_create("unit_neigh_dup", 64, SOCKET_ID_ANY);
	if (!CHECK(h != NULL))
		return;
	/* The table hashes keys exactly as mps_neigh_sig does, so plain
	 * rte_hash calls in the primary (telemetry, aging) find the keys
	 * workers added with *_with_hash. */
	CHECK_EQ(rte_hash_hash(h, &ip), mps_neigh_sig(ip));
	CHECK_EQ(rte_hash_add_key_with_hash_data(h, &ip, mps_neigh_sig(ip),
						 (void *)(uintptr_t)mps_neigh_pack(mac1, 0, 0)),
		 0);
	CHECK(rte_hash_lookup(h, &ip) >= 0);
	CHECK_EQ(rte_hash_count(h), 1);

	/* The same name twice: the second fails with EEXIST. (The failures
	 * below are expected: keep DPDK from logging them.) */
	log_level = rte_log_get_global_level();
	rte_log_set_global_level(RTE_LOG_EMERG);
	rte_errno = 0;
	h2 = mps_neigh_create("unit_neigh_dup", 64, SOCKET_ID_ANY);
	CHECK(h2 == NULL);
	CHECK_EQ(rte_errno, EEXIST);
	if (h2 != NULL)
		rte_hash_free(h2);
	/* Too small for one bucket. */
	rte_errno = 0;
	h2 = mps_neigh_create("unit_neigh_tiny", 0, SOCKET_ID_ANY);
	CHECK(h2 == NULL);
	CHECK(rte_errno != 0);
	if (h2 != NULL)
		rte_hash_free(h2);
	rte_log_set_global_level(log_level);

	rte_hash_free(h);
	/* Freed: the name can be used again. */
	h = mps_neigh_create("unit_neigh_dup", 64, SOCKET_ID_ANY);
	CHECK(h != NULL);
	if (h != NULL)
		rte_hash_free(h);
}

/* The unit test binary is linked with --wrap for the table's add: a test
 * can run something (the primary's delete) right before the next one. */
int __real_rte_hash_add_key_with_hash_data(const struct rte_hash *h,
					   const void *key, hash_sig_t sig,
					   void *data);
int __wrap_rte_hash_add_key_with_hash_data(const struct rte_hash *h,
					   const void *key, hash_sig_t sig,
					   void *data);
static void (*before_add)(void);

int
__wrap_rte_hash_add_key_with_hash_data(const struct rte_hash *h, const void *key,
				       hash_sig_t sig, void *data)
{
	void (*f)(void) = before_add;

	before_add = NULL;
	if (f != NULL)
		f();
	return __real_rte_hash_add_key_with_hash_data(h, key, sig, data);
}

static struct mps_neigh_table *race_table;
static uint32_t race_ip;

/* The primary's reclaim, all at once: delete and release race_ip's key. */
static void
delete_race_ip(void)
{
	int32_t p = rte_hash_del_key_with_hash(race_table->h, &race_ip,
					       mps_neigh_sig(race_ip));

	uint32_t filler = IP(10, 3, 9, 9);

	if (!CHECK(p >= 0))
		return;
	mps_neigh_release(race_table, p);
	/* Another key takes the freed slot (as under load): the learn's add
	 * creates race_ip elsewhere. */
	CHECK_EQ(__real_rte_hash_add_key_with_hash_data(race_table->h, &filler,
							mps_neigh_sig(filler),
							(void *)(uintptr_t)1), 0);
}

/* A learn that found the key, then lost it to the primary before its add
 * (which creates it anew, maybe elsewhere), stamps where the key is now:
 * never an unstamped key nobody ages. */
void
test_neigh_learn_races_delete(void)
{
	struct mps_neigh_table *h;
	struct mps_neigh_stamp *st;
	uint64_t w;
	int32_t pos;

	if (!CHECK(unit_eal_ok) || (h = new_table(256)) == NULL)
		return;
	race_table = h;
	race_ip = IP(198, 18, 0, 33);
	CHECK_EQ(garp_learn(h, race_ip, mac1, 100, MPS_NEIGH_TTL_S, 0), MPS_NEIGH_ADDED);
	pos = mps_neigh_find(h, race_ip, &w, &st);
	before_add = delete_race_ip;
	CHECK_EQ(garp_learn(h, race_ip, mac2, 200, MPS_NEIGH_TTL_S, 0), MPS_NEIGH_ADDED);
	CHECK(before_add == NULL); /* the delete ran */
	if (!CHECK(mps_neigh_find(h, race_ip, &w, &st) >= 0 && st != &h->st[pos]))
		goto out;
	CHECK(mps_neigh_same_mac(w, mps_neigh_pack(mac2, 0, 0)));
	CHECK(st->written_ms == 200000);
	CHECK(lookup_is(h, race_ip, 200 + MPS_NEIGH_TTL_S - 1, MPS_NEIGH_TTL_S, mac2));
	CHECK_EQ(lookup_s(h, race_ip, 200 + MPS_NEIGH_TTL_S, MPS_NEIGH_TTL_S, (uint8_t[6]){ 0 }),
		 -ENOENT);
out:
	free_table(h);
}

/* The learner's id shares the word without touching the rest, for
 * every worker the stack can have. */
void
test_neigh_worker_field(void)
{
	for (unsigned int id = 0; id <= MPS_NEIGH_WORKER_MASK; id++) {
		uint64_t w = mps_neigh_pack(mac1, 0, id);
		uint8_t out[6];

		CHECK_EQ(mps_neigh_worker(w), id);
		CHECK_EQ(mps_neigh_is_static(w), 0);
		mps_neigh_unpack_mac(w, out);
		CHECK(memcmp(out, mac1, 6) == 0);
	}
	CHECK_EQ(mps_neigh_worker(mps_neigh_pack(mac1, 0, 16)), 16);
	CHECK_EQ(mps_neigh_worker(mps_neigh_pack(mac1, 0, 200)), 200);
}

/* Learn records who wrote, and refreshes at half a short TTL so a
 * peer that keeps talking never expires. */
void
test_neigh_table_learner_refresh(void)
{
	struct mps_neigh_table *h;
	const uint32_t ip = IP(198, 18, 0, 7);

	if (!CHECK(unit_eal_ok))
		return;
	h = new_table(256);
	if (h == NULL)
		return;
	CHECK_EQ(garp_learn(h, ip, mac1, 100, 4, 3), MPS_NEIGH_ADDED);
	CHECK_EQ(mps_neigh_worker(raw_word(h, ip)), 3);
	CHECK_EQ(garp_learn(h, ip, mac1, 101, 4, 1), MPS_NEIGH_UNCHANGED);
	CHECK_EQ(mps_neigh_worker(raw_word(h, ip)), 3);
	/* TTL 4: due after 2 s, not after MPS_NEIGH_REFRESH_S. */
	CHECK_EQ(garp_learn(h, ip, mac1, 102, 4, 1), MPS_NEIGH_REFRESHED);
	CHECK_EQ(written_s(h, ip), 102);
	/* A refresh stamps the time only: the word names who wrote the MAC. */
	CHECK_EQ(mps_neigh_worker(raw_word(h, ip)), 3);
	CHECK(lookup_is(h, ip, 105, 4, mac1));
	/* TTL 1: every second. */
	CHECK_EQ(garp_learn(h, ip, mac1, 103, 1, 2), MPS_NEIGH_REFRESHED);
	/* A moved host is picked up at once, by whoever saw it. */
	CHECK_EQ(garp_learn(h, ip, mac2, 103, 300, 0), MPS_NEIGH_ADDED);
	CHECK(lookup_is(h, ip, 103, 300, mac2));
	CHECK_EQ(mps_neigh_worker(raw_word(h, ip)), 0);
	free_table(h);
}

/* --neigh entries replace learned ones and are never aged. */
void
test_neigh_table_add_static(void)
{
	struct mps_neigh_table *h;
	const uint32_t ip = IP(198, 18, 0, 250);

	if (!CHECK(unit_eal_ok))
		return;
	h = new_table(256);
	if (h == NULL)
		return;
	CHECK_EQ(garp_learn(h, ip, mac1, 10, 300, 1), MPS_NEIGH_ADDED);
	CHECK_EQ(mps_neigh_add_static(h->h, ip, mac3), 0);
	CHECK(mps_neigh_is_static(raw_word(h, ip)));
	CHECK(lookup_is(h, ip, 10 + 5000, 300, mac3));
	CHECK_EQ(garp_learn(h, ip, mac2, 20, 300, 1), MPS_NEIGH_PINNED);
	CHECK_EQ(mps_neigh_expire(h, 20000000, 1, NULL, 0), 0);
	CHECK_EQ(rte_hash_count(h->h), 1);
	free_table(h);
}

/* The primary's reclaim: expired learned entries are deleted (and
 * their slots come back once freed), fresh and static ones stay, and a full
 * table takes new keys again afterwards. */
void
test_neigh_table_reclaim(void)
{
	enum { ENTRIES = 64, MAX_TRY = 4096 };
	struct mps_neigh_table *h;
	int32_t pos[256];
	uint32_t n = 0, i, got;
	uint8_t mac[6];

	if (!CHECK(unit_eal_ok))
		return;
	h = new_table(ENTRIES);
	if (h == NULL)
		return;
	CHECK_EQ(mps_neigh_add_static(h->h, IP(10, 1, 0, 1), mac3), 0);
	CHECK_EQ(garp_learn(h, IP(10, 1, 0, 2), mac2, 95, 10, 0),
		 MPS_NEIGH_ADDED);
	memcpy(mac, mac1, 6);
	for (i = 0; i < MAX_TRY; i++) {
		mac[5] = (uint8_t)i;
		if (garp_learn(h, IP(10, 0, i >> 8, i & 0xff), mac, 80, 10,
				    1) == MPS_NEIGH_FULL)
			break;
		n++;
	}
	CHECK(i < MAX_TRY); /* it did fill */
	/* At 95 the 80-entries are expired (TTL 10), the 95 one is not. */
	got = 0;
	for (;;) {
		unsigned int k = mps_neigh_expire(h, 95000, 10, pos, 16);

		if (k == 0)
			break;
		CHECK(k <= 16);
		for (unsigned int j = 0; j < k; j++)
			mps_neigh_release(h, pos[j]);
		got += k;
	}
	CHECK_EQ(got, n);
	CHECK_EQ(rte_hash_count(h->h), 2);
	CHECK(lookup_is(h, IP(10, 1, 0, 1), 95, 10, mac3));
	CHECK(lookup_is(h, IP(10, 1, 0, 2), 95, 10, mac2));
	/* Room again: the same number of new hosts fits. */
	for (i = 0; i < n; i++) {
		mac[5] = (uint8_t)i;
		if (garp_learn(h, IP(10, 2, i >> 8, i & 0xff), mac, 96, 10,
				    1) != MPS_NEIGH_ADDED)
			break;
	}
	CHECK_EQ(i, n);
	free_table(h);
}

/* ---- the learning rules (the segment is hostile) ---- */

/* A learner as a worker has one: the default TTL, the locktime given,
 * no write budget unless the test sets one. */
static int
learner_init(struct mps_neigh_learner *l, struct mps_neigh_table *h,
	     uint32_t locktime_ms)
{
	*l = (struct mps_neigh_learner){
		.t = *h, .ttl_s = MPS_NEIGH_TTL_S, .locktime_ms = locktime_ms,
		.worker = 2,
	};
	return 1;
}

/* One frame's claim at ms on the learner's clock. */
static enum mps_neigh_result
at(struct mps_neigh_learner *l, uint64_t ms, uint32_t ip, const uint8_t mac[6],
   enum mps_neigh_evidence ev)
{
	l->now_ms = ms;
	return mps_neigh_learn(l, ip, mac, ev);
}

/* The defaults hold the largest legitimate burst with room to spare
 * (test_neigh.py's 2,000 hosts, even all on one worker). */
_Static_assert(MPS_NEIGH_WRITE_BURST >= 2 * 2000, "write burst below 2x the 2,000-host test");

#define T0 5000500ull /* ms: any clock value, mid-second */

/* An IPv4 frame creates an entry but never changes its MAC, however
 * often or late it comes; the same MAC still refreshes. */
void
test_neigh_rule_ipv4_creates_never_changes(void)
{
	struct mps_neigh_learner l;
	struct mps_neigh_table *h;
	const uint32_t ip = IP(198, 18, 0, 1), ttl = MPS_NEIGH_TTL_S;

	if (!CHECK(unit_eal_ok) || (h = new_table(256)) == NULL)
		return;
	if (!learner_init(&l, h, MPS_NEIGH_LOCKTIME_MS))
		goto out;
	CHECK_EQ(at(&l, T0, ip, mac1, MPS_NEIGH_EV_IPV4), MPS_NEIGH_ADDED);
	CHECK(lookup_is(h, ip, (uint32_t)(T0 / 1000), ttl, mac1));
	CHECK_EQ(mps_neigh_worker(raw_word(h, ip)), 2);
	/* The poisoning of the measurement: 8 frames, another MAC. */
	for (int i = 0; i < 8; i++)
		CHECK_EQ(at(&l, T0 + 10 + (uint64_t)i, ip, mac2, MPS_NEIGH_EV_IPV4),
			 MPS_NEIGH_CONFLICT);
	/* The owner's frames still refresh it. */
	CHECK_EQ(at(&l, T0 + MPS_NEIGH_REFRESH_S * 1000ull, ip, mac1, MPS_NEIGH_EV_IPV4),
		 MPS_NEIGH_REFRESHED);
	/* Long after the locktime too, right up to the TTL. */
	CHECK_EQ(at(&l, T0 + 60000, ip, mac2, MPS_NEIGH_EV_IPV4), MPS_NEIGH_CONFLICT);
	CHECK_EQ(at(&l, T0 + (MPS_NEIGH_REFRESH_S + ttl - 1) * 1000ull, ip, mac3,
		    MPS_NEIGH_EV_IPV4), MPS_NEIGH_CONFLICT);
	CHECK(lookup_is(h, ip, (uint32_t)(T0 / 1000) + MPS_NEIGH_REFRESH_S + ttl - 1,
			ttl, mac1));
	/* Expired (not reclaimed yet) counts as absent: IPv4 creates again. */
	CHECK_EQ(at(&l, T0 + (MPS_NEIGH_REFRESH_S + ttl) * 1000ull, ip, mac2,
		    MPS_NEIGH_EV_IPV4), MPS_NEIGH_ADDED);
	CHECK(lookup_is(h, ip, (uint32_t)(T0 / 1000) + MPS_NEIGH_REFRESH_S + ttl,
			ttl, mac2));
	CHECK_EQ(rte_hash_count(h->h), 1);
out:
	free_table(h);
}

/* An ARP reply changes a MAC only locktime after its last change
 * (creation counts); a refresh does not move that window; the change
 * itself starts a new one. */
void
test_neigh_rule_arp_locktime(void)
{
	struct mps_neigh_learner l;
	struct mps_neigh_table *h;
	const uint32_t ip = IP(198, 18, 0, 7), lock = MPS_NEIGH_LOCKTIME_MS;
	uint64_t t;

	if (!CHECK(unit_eal_ok) || (h = new_table(256)) == NULL)
		return;
	if (!learner_init(&l, h, lock))
		goto out;
	CHECK_EQ(at(&l, T0, ip, mac1, MPS_NEIGH_EV_IPV4), MPS_NEIGH_ADDED);
	CHECK_EQ(at(&l, T0 + 1, ip, mac2, MPS_NEIGH_EV_ARP), MPS_NEIGH_CONFLICT);
	CHECK_EQ(at(&l, T0 + lock - 1, ip, mac2, MPS_NEIGH_EV_ARP), MPS_NEIGH_CONFLICT);
	CHECK(raw_word(h, ip) != 0 && mps_neigh_same_mac(raw_word(h, ip),
				mps_neigh_pack(mac1, 0, 0)));
	/* A stamp a little ahead of this learner's clock (another worker
	 * read the TSC later) is recent, not 2^64 ms old. */
	CHECK_EQ(at(&l, T0 - 5, ip, mac2, MPS_NEIGH_EV_ARP), MPS_NEIGH_CONFLICT);
	/* At the locktime: accepted, and that is a change (stamped). */
	CHECK_EQ(at(&l, T0 + lock, ip, mac2, MPS_NEIGH_EV_ARP), MPS_NEIGH_ADDED);
	CHECK(lookup_is(h, ip, (uint32_t)((T0 + lock) / 1000), MPS_NEIGH_TTL_S, mac2));
	/* Several replies back to back: the first wins (Linux). */
	CHECK_EQ(at(&l, T0 + lock + 1, ip, mac3, MPS_NEIGH_EV_ARP), MPS_NEIGH_CONFLICT);
	CHECK_EQ(at(&l, T0 + lock + 2, ip, mac2, MPS_NEIGH_EV_ARP), MPS_NEIGH_UNCHANGED);
	/* A refresh (same MAC, due) does not restart the window. */
	t = T0 + lock + MPS_NEIGH_REFRESH_S * 1000ull;
	CHECK_EQ(at(&l, t, ip, mac2, MPS_NEIGH_EV_ARP), MPS_NEIGH_REFRESHED);
	CHECK_EQ(at(&l, t + 1, ip, mac3, MPS_NEIGH_EV_ARP), MPS_NEIGH_ADDED);
	CHECK(lookup_is(h, ip, (uint32_t)((t + 1) / 1000), MPS_NEIGH_TTL_S, mac3));
	/* IPv4 never, however old the change. */
	CHECK_EQ(at(&l, t + 100000, ip, mac1, MPS_NEIGH_EV_IPV4), MPS_NEIGH_CONFLICT);

	/* --neigh-locktime 0: every reply changes it. */
	if (!learner_init(&l, h, 0))
		goto out;
	CHECK_EQ(at(&l, t + 200000, ip, mac1, MPS_NEIGH_EV_ARP), MPS_NEIGH_ADDED);
	CHECK_EQ(at(&l, t + 200000, ip, mac2, MPS_NEIGH_EV_ARP), MPS_NEIGH_ADDED);
out:
	free_table(h);
}

/* A gratuitous ARP (or a request for our address) moves the entry at
 * once, even right after a change: legitimate failover. */
void
test_neigh_rule_garp_overrides(void)
{
	struct mps_neigh_learner l;
	struct mps_neigh_table *h;
	const uint32_t ip = IP(198, 18, 0, 8), lock = MPS_NEIGH_LOCKTIME_MS;

	if (!CHECK(unit_eal_ok) || (h = new_table(256)) == NULL)
		return;
	if (!learner_init(&l, h, lock))
		goto out;
	CHECK_EQ(at(&l, T0, ip, mac1, MPS_NEIGH_EV_IPV4), MPS_NEIGH_ADDED);
	CHECK_EQ(at(&l, T0 + 1, ip, mac2, MPS_NEIGH_EV_ARP_OVERRIDE), MPS_NEIGH_ADDED);
	CHECK(lookup_is(h, ip, (uint32_t)(T0 / 1000), MPS_NEIGH_TTL_S, mac2));
	CHECK_EQ(at(&l, T0 + 2, ip, mac3, MPS_NEIGH_EV_ARP_OVERRIDE), MPS_NEIGH_ADDED);
	/* It restarted the window for replies. */
	CHECK_EQ(at(&l, T0 + 3, ip, mac1, MPS_NEIGH_EV_ARP), MPS_NEIGH_CONFLICT);
	CHECK_EQ(at(&l, T0 + 2 + lock, ip, mac1, MPS_NEIGH_EV_ARP), MPS_NEIGH_ADDED);
out:
	free_table(h);
}

/* Static entries never change, whatever the evidence; a different MAC
 * is reported (PINNED), the same one is simply unchanged. */
void
test_neigh_rule_static_never(void)
{
	struct mps_neigh_learner l;
	struct mps_neigh_table *h;
	const uint32_t ip = IP(198, 18, 0, 1);
	const enum mps_neigh_evidence evs[] = {
		MPS_NEIGH_EV_IPV4, MPS_NEIGH_EV_ARP, MPS_NEIGH_EV_ARP_OVERRIDE,
	};
	uint64_t w;

	if (!CHECK(unit_eal_ok) || (h = new_table(256)) == NULL)
		return;
	if (!learner_init(&l, h, 0))
		goto out;
	CHECK_EQ(mps_neigh_add_static(h->h, ip, mac3), 0);
	w = raw_word(h, ip);
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		CHECK_EQ(at(&l, T0 + i, ip, mac1, evs[i]), MPS_NEIGH_PINNED);
		CHECK_EQ(at(&l, T0 + 3600000 + i, ip, mac1, evs[i]), MPS_NEIGH_PINNED);
		CHECK_EQ(at(&l, T0 + i, ip, mac3, evs[i]), MPS_NEIGH_UNCHANGED);
	}
	CHECK(raw_word(h, ip) == w);
out:
	free_table(h);
}

/* The token bucket: starts full, refills at rate, never above burst. */
void
test_neigh_tbucket(void)
{
	struct mps_tbucket b;
	unsigned int n = 0;

	mps_tbucket_init(&b, 100, 10, 1000);
	while (mps_tbucket_take(&b, 1000))
		n++;
	CHECK_EQ(n, 10);
	CHECK(!mps_tbucket_take(&b, 1009)); /* 0.9 token */
	CHECK(mps_tbucket_take(&b, 1010));  /* 1 token after 10 ms at 100/s */
	CHECK(!mps_tbucket_take(&b, 1010));
	/* A clock read earlier by someone else adds nothing, takes nothing. */
	CHECK(!mps_tbucket_take(&b, 900));
	/* A long pause refills to the burst only. */
	n = 0;
	while (mps_tbucket_take(&b, 1000000))
		n++;
	CHECK_EQ(n, 10);
	/* Over one second at 100/s: the burst plus 100. */
	mps_tbucket_init(&b, 100, 10, 0);
	n = 0;
	for (uint64_t ms = 0; ms <= 1000; ms++)
		while (mps_tbucket_take(&b, ms))
			n++;
	CHECK_EQ(n, 110);
	/* Huge values do not overflow. */
	mps_tbucket_init(&b, UINT32_MAX, UINT32_MAX, 0);
	CHECK(mps_tbucket_take(&b, UINT64_MAX / 2));
}

/* Writes come out of the learner's budget: new entries, changes,
 * refreshes and attempts on a full table each take a token; unchanged,
 * conflicting and static claims take none. Refused writes leave the
 * table as it was. */
void
test_neigh_rule_ratelimit(void)
{
	struct mps_neigh_learner l;
	struct mps_tbucket b;
	struct mps_neigh_table *h;
	unsigned int added = 0, limited = 0;
	uint8_t mac[6];

	if (!CHECK(unit_eal_ok) || (h = new_table(1024)) == NULL)
		return;
	if (!learner_init(&l, h, MPS_NEIGH_LOCKTIME_MS))
		goto out;
	mps_tbucket_init(&b, 10, 20, T0);
	l.writes = &b;
	memcpy(mac, mac1, 6);
	/* A flood of 200 new sources in one millisecond: the burst gets in. */
	for (uint32_t i = 0; i < 200; i++) {
		enum mps_neigh_result r;

		mac[5] = (uint8_t)i;
		r = at(&l, T0, IP(10, 9, 0, i + 1), mac, MPS_NEIGH_EV_IPV4);
		added += r == MPS_NEIGH_ADDED;
		limited += r == MPS_NEIGH_RATELIMITED;
	}
	CHECK_EQ(added, 20);
	CHECK_EQ(limited, 180);
	CHECK_EQ(rte_hash_count(h->h), 20);
	mac[5] = 199;
	CHECK_EQ(lookup_s(h, IP(10, 9, 0, 200), (uint32_t)(T0 / 1000),
				  MPS_NEIGH_TTL_S, mac), -ENOENT);
	/* Budget spent: what needs no write still works. */
	mac[5] = 0;
	CHECK_EQ(at(&l, T0 + 1, IP(10, 9, 0, 1), mac, MPS_NEIGH_EV_IPV4), MPS_NEIGH_UNCHANGED);
	CHECK_EQ(at(&l, T0 + 1, IP(10, 9, 0, 1), mac2, MPS_NEIGH_EV_IPV4), MPS_NEIGH_CONFLICT);
	CHECK_EQ(mps_neigh_add_static(h->h, IP(10, 9, 1, 1), mac3), 0);
	CHECK_EQ(at(&l, T0 + 1, IP(10, 9, 1, 1), mac2, MPS_NEIGH_EV_ARP), MPS_NEIGH_PINNED);
	/* A due change waits for a token too, and keeps the old MAC. */
	CHECK_EQ(at(&l, T0 + 2000, IP(10, 9, 0, 1), mac2, MPS_NEIGH_EV_ARP_OVERRIDE),
		 MPS_NEIGH_ADDED); /* 20 tokens came back in 2 s */
	b.milli = 0;
	CHECK_EQ(at(&l, T0 + 2000, IP(10, 9, 0, 1), mac3, MPS_NEIGH_EV_ARP_OVERRIDE),
		 MPS_NEIGH_RATELIMITED);
	CHECK(lookup_is(h, IP(10, 9, 0, 1), (uint32_t)((T0 + 2000) / 1000),
			MPS_NEIGH_TTL_S, mac2));
	/* 100 ms at 10/s: one more write. */
	CHECK_EQ(at(&l, T0 + 2100, IP(10, 9, 0, 1), mac3, MPS_NEIGH_EV_ARP_OVERRIDE),
		 MPS_NEIGH_ADDED);
out:
	free_table(h);
}

/* A full table: a new address is refused (FULL) and still costs a token
 * (the attempt took the writer lock); entries it holds keep changing
 * under the rules; lookups are unaffected. */
void
test_neigh_rule_full_table(void)
{
	enum { ENTRIES = 64, MAX_TRY = 4096 };
	struct mps_neigh_learner l;
	struct mps_tbucket b;
	struct mps_neigh_table *h;
	uint32_t n = 0, full_ip = 0;
	uint64_t before;
	uint8_t mac[6];

	if (!CHECK(unit_eal_ok) || (h = new_table(ENTRIES)) == NULL)
		return;
	if (!learner_init(&l, h, MPS_NEIGH_LOCKTIME_MS))
		goto out;
	mps_tbucket_init(&b, 1, MAX_TRY, T0);
	l.writes = &b;
	memcpy(mac, mac1, 6);
	for (uint32_t i = 0; i < MAX_TRY; i++) {
		mac[4] = (uint8_t)(i >> 8);
		mac[5] = (uint8_t)i;
		if (at(&l, T0, IP(10, 0, i >> 8, i & 0xff), mac,
		       MPS_NEIGH_EV_IPV4) == MPS_NEIGH_FULL) {
			full_ip = IP(10, 0, i >> 8, i & 0xff);
			break;
		}
		n++;
	}
	if (!CHECK(full_ip != 0))
		goto free_out;
	CHECK_EQ(b.milli, (uint64_t)(MAX_TRY - n - 1) * 1000);
	before = b.milli;
	CHECK_EQ(at(&l, T0, full_ip, mac2, MPS_NEIGH_EV_IPV4), MPS_NEIGH_FULL);
	CHECK_EQ(b.milli, before - 1000);
	/* Held entries: IPv4 still cannot change them, a reply after the
	 * locktime can, a gratuitous ARP can at once. */
	mac[4] = 0;
	mac[5] = 0;
	CHECK_EQ(at(&l, T0 + 5000, IP(10, 0, 0, 0), mac3, MPS_NEIGH_EV_IPV4),
		 MPS_NEIGH_CONFLICT);
	CHECK_EQ(at(&l, T0 + 5000, IP(10, 0, 0, 0), mac3, MPS_NEIGH_EV_ARP),
		 MPS_NEIGH_ADDED);
	CHECK_EQ(at(&l, T0 + 5001, IP(10, 0, 0, 0), mac, MPS_NEIGH_EV_ARP_OVERRIDE),
		 MPS_NEIGH_ADDED);
	CHECK(lookup_is(h, IP(10, 0, 0, 0), (uint32_t)((T0 + 5001) / 1000),
			MPS_NEIGH_TTL_S, mac));
	CHECK_EQ(rte_hash_count(h->h), n);
free_out:
out:
	free_table(h);
}

/* Stamps: creation and change set both times at the key's position, a
 * refresh only the written time; a released position is unstamped (a key
 * that re-uses it reads as fresh until its creator stamps it). */
void
test_neigh_rule_stamps(void)
{
	struct mps_neigh_learner l;
	struct mps_neigh_table *h;
	const uint32_t ip = IP(198, 18, 0, 9);
	struct mps_neigh_stamp *st;
	int32_t pos, freed[4];
	uint64_t w;

	if (!CHECK(unit_eal_ok) || (h = new_table(256)) == NULL)
		return;
	if (!learner_init(&l, h, MPS_NEIGH_LOCKTIME_MS))
		goto out;
	CHECK(h->n_st >= 256);
	CHECK_EQ(at(&l, T0, ip, mac1, MPS_NEIGH_EV_ARP), MPS_NEIGH_ADDED);
	pos = mps_neigh_find(h, ip, &w, &st);
	if (!CHECK(pos >= 0 && st == &h->st[pos]))
		goto out;
	CHECK(st->changed_ms == T0 && st->written_ms == T0);
	CHECK_EQ(at(&l, T0 + MPS_NEIGH_REFRESH_S * 1000ull, ip, mac1,
		    MPS_NEIGH_EV_ARP), MPS_NEIGH_REFRESHED);
	CHECK(st->changed_ms == T0);
	CHECK(st->written_ms == T0 + MPS_NEIGH_REFRESH_S * 1000ull);
	CHECK_EQ(at(&l, T0 + 20000, ip, mac2, MPS_NEIGH_EV_ARP), MPS_NEIGH_ADDED);
	CHECK(st->changed_ms == T0 + 20000 && st->written_ms == T0 + 20000);
	/* Expired, reclaimed, released: unstamped. */
	w = T0 + 20000 + MPS_NEIGH_TTL_S * 1000ull;
	if (!CHECK_EQ(mps_neigh_expire(h, w, MPS_NEIGH_TTL_S, freed, 4), 1))
		goto out;
	CHECK_EQ(freed[0], pos);
	mps_neigh_release(h, freed[0]);
	CHECK(h->st[pos].written_ms == MPS_NEIGH_UNSTAMPED);
	CHECK_EQ(rte_hash_count(h->h), 0);
	/* An unstamped key (its creator between add and stamp) is fresh;
	 * an ARP reply cannot change it (its change time is not known yet);
	 * the next frame of the same MAC stamps it. */
	CHECK_EQ(rte_hash_add_key_with_hash_data(h->h, &ip, mps_neigh_sig(ip),
						 (void *)(uintptr_t)mps_neigh_pack(mac3, 0, 1)),
		 0);
	pos = mps_neigh_find(h, ip, &w, &st);
	if (!CHECK(pos >= 0))
		goto out;
	st->written_ms = MPS_NEIGH_UNSTAMPED;
	CHECK(lookup_is(h, ip, T0 / 1000 + 100000, MPS_NEIGH_TTL_S, mac3));
	CHECK_EQ(at(&l, T0 + 30000, ip, mac1, MPS_NEIGH_EV_ARP), MPS_NEIGH_CONFLICT);
	CHECK_EQ(at(&l, T0 + 30000, ip, mac3, MPS_NEIGH_EV_IPV4), MPS_NEIGH_REFRESHED);
	CHECK(st->written_ms == T0 + 30000);
	/* One its creator never stamps (killed between add and stamp) still
	 * ages: the primary's walk starts its TTL. */
	st->written_ms = MPS_NEIGH_UNSTAMPED;
	CHECK_EQ(mps_neigh_expire(h, T0 + 40000, MPS_NEIGH_TTL_S, freed, 4), 0);
	CHECK(st->written_ms == T0 + 40000);
	CHECK_EQ(mps_neigh_expire(h, T0 + 40000 + MPS_NEIGH_TTL_S * 1000ull,
				  MPS_NEIGH_TTL_S, freed, 4), 1);
out:
	free_table(h);
}
