/* SPDX-License-Identifier: BSD-3-Clause
 *
 * test_rss.c - the RSS-aware local-port picker against DPDK's own
 * software Toeplitz, rte_softrss: the hash matches Microsoft's published
 * verification vectors, and for many tuples, queue counts and RETA sizes
 * the port the picker returns is one whose reply tuple rte_softrss sends
 * to the asked queue, and it is the first such port from the start.
 */
#include <arpa/inet.h>
#include <string.h>

#include <rte_thash.h>

#include "mps_config.h"
#include "mps_rss.h"
#include "unit.h"

/* Microsoft's RSS verification key ("Verifying the RSS Hash Calculation"). */
static const uint8_t ms_key[MPS_RSS_KEY_LEN] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
	0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
	0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
	0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

/* The primary's symmetric key (primary/ports.c), first 40 bytes. */
static const uint8_t sym_key[MPS_RSS_KEY_LEN] = {
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
};

/* A small deterministic generator (xorshift32), so failures reproduce. */
static uint32_t
next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static uint32_t
ip_be(const char *s)
{
	struct in_addr a;

	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

/* rte_softrss of src -> dst straight from DPDK, independent of mps_rss.c. */
static uint32_t
ref_hash(const uint8_t *key, uint32_t src_be, uint32_t dst_be, uint16_t sport,
	 uint16_t dport)
{
	struct rte_ipv4_tuple t;

	memset(&t, 0, sizeof(t));
	t.src_addr = ntohl(src_be);
	t.dst_addr = ntohl(dst_be);
	t.sport = sport;
	t.dport = dport;
	return rte_softrss((uint32_t *)&t, RTE_THASH_V4_L4_LEN, key);
}

/* Round-robin RETA over n queues, as the primary programs it. */
static void
fill_reta(uint16_t *reta, uint16_t size, uint16_t n)
{
	for (uint16_t i = 0; i < size; i++)
		reta[i] = (uint16_t)(i % n);
}

void
test_rss_ms_vectors(void)
{
	/* IPv4 with TCP ports, from the verification suite: the frame's
	 * source is the remote, its destination our local address. */
	CHECK_EQ(mps_rss_reply_hash(ms_key, ip_be("66.9.149.187"),
				    ip_be("161.142.100.80"), 2794, 1766),
		 0x51ccc178u);
	CHECK_EQ(mps_rss_reply_hash(ms_key, ip_be("199.92.111.2"),
				    ip_be("65.69.140.83"), 14230, 4739),
		 0xc626b0eau);
	CHECK_EQ(mps_rss_reply_hash(ms_key, ip_be("24.19.198.95"),
				    ip_be("12.22.207.184"), 12898, 38024),
		 0x5c2b394au);
}

void
test_rss_hash_matches_softrss(void)
{
	uint32_t s = 12345;

	for (int i = 0; i < 2000; i++) {
		uint32_t r = next_rand(&s), l = next_rand(&s), p = next_rand(&s);
		const uint8_t *key = (i & 1) ? ms_key : sym_key;

		if (!CHECK_EQ(mps_rss_reply_hash(key, r, l, (uint16_t)p,
						 (uint16_t)(p >> 16)),
			      ref_hash(key, r, l, (uint16_t)p, (uint16_t)(p >> 16))))
			return;
	}
}

/* Picks for many tuples, queue counts 1..MPS_MAX_WORKERS and RETA sizes
 * 64..512: the picked port's reply goes to the queue by rte_softrss, lies
 * in range, and no port scanned before it (cyclically from start) would
 * have done. */
void
test_rss_pick_port_many(void)
{
	static const uint16_t sizes[] = { 64, 128, 512 };
	static uint16_t reta[512];
	const uint16_t lo = 32768;
	const uint32_t n = 28232;
	uint32_t s = 0xdecafbad, picks = 0;

	for (size_t si = 0; si < RTE_DIM(sizes); si++) {
		for (uint16_t nq = 1; nq <= MPS_MAX_WORKERS; nq++) {
			fill_reta(reta, sizes[si], nq);
			for (int t = 0; t < 20; t++) {
				uint32_t rip = next_rand(&s), lip = next_rand(&s);
				uint16_t rport = (uint16_t)(next_rand(&s) | 1);
				uint16_t q = (uint16_t)(next_rand(&s) % nq);
				uint16_t start = (uint16_t)(lo + next_rand(&s) % n);
				const uint8_t *key = (t & 1) ? ms_key : sym_key;
				uint16_t port = mps_rss_pick_port(key, reta, sizes[si], q,
								  rip, lip, rport,
								  start, lo, n);
				uint32_t h;

				if (!CHECK(port >= lo && port < lo + n))
					return;
				h = ref_hash(key, rip, lip, rport, port);
				if (!CHECK_EQ(reta[h % sizes[si]], q))
					return;
				CHECK_EQ(mps_rss_reply_queue(key, reta, sizes[si], rip,
							     lip, rport, port), q);
				for (uint16_t p = start; p != port;
				     p = (uint16_t)(p + 1 == lo + n ? lo : p + 1)) {
					h = ref_hash(key, rip, lip, rport, p);
					if (!CHECK(reta[h % sizes[si]] != q))
						return;
				}
				picks++;
			}
		}
	}
	CHECK_EQ(picks, RTE_DIM(sizes) * MPS_MAX_WORKERS * 20);
}

/* Every queue of a round-robin RETA is reachable within a few ports: the
 * picker's scan is short (expected nq tries). */
void
test_rss_pick_port_spread(void)
{
	static uint16_t reta[128];
	uint32_t rip = ip_be("198.18.0.1"), lip = ip_be("198.18.0.2");

	fill_reta(reta, 128, 4);
	for (uint16_t q = 0; q < 4; q++) {
		uint16_t port = mps_rss_pick_port(sym_key, reta, 128, q, rip, lip,
						  7, 40000, 32768, 28232);

		CHECK(port >= 40000 && port < 40000 + 64);
		CHECK_EQ(reta[ref_hash(sym_key, rip, lip, 7, port) % 128], q);
	}
}

/* No port when the queue is not in the RETA or the arguments are wrong. */
void
test_rss_pick_port_none(void)
{
	static uint16_t reta[64];
	uint32_t rip = ip_be("198.18.0.1"), lip = ip_be("198.18.0.2");

	fill_reta(reta, 64, 2);
	CHECK_EQ(mps_rss_pick_port(sym_key, reta, 64, 5, rip, lip, 80, 40000,
				   40000, 1000), 0);
	CHECK_EQ(mps_rss_pick_port(sym_key, reta, 0, 0, rip, lip, 80, 40000,
				   40000, 1000), 0);
	CHECK_EQ(mps_rss_pick_port(sym_key, reta, 64, 0, rip, lip, 80, 40000,
				   40000, 0), 0);
	CHECK_EQ(mps_rss_pick_port(sym_key, reta, 64, 0, rip, lip, 80, 39999,
				   40000, 1000), 0);
	CHECK_EQ(mps_rss_pick_port(sym_key, reta, 64, 0, rip, lip, 80, 41000,
				   40000, 1000), 0);
}
