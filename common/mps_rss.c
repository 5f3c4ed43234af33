/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mps_rss.c - RSS-aware local ports, on DPDK's software Toeplitz
 * (rte_thash.h). The key is converted once per call to the byte-swapped
 * form rte_softrss_be wants, then every candidate port costs one hash.
 */
#include <arpa/inet.h>
#include <string.h>

#include <rte_thash.h>

#include "mps_rss.h"

/* The tuple of a frame remote -> local, in CPU order as rte_softrss wants. */
static void
reply_tuple(struct rte_ipv4_tuple *t, uint32_t remote_ip_be,
	    uint32_t local_ip_be, uint16_t remote_port, uint16_t local_port)
{
	memset(t, 0, sizeof(*t));
	t->src_addr = ntohl(remote_ip_be);
	t->dst_addr = ntohl(local_ip_be);
	t->sport = remote_port;
	t->dport = local_port;
}

uint32_t
mps_rss_reply_hash(const uint8_t key[MPS_RSS_KEY_LEN], uint32_t remote_ip_be,
		   uint32_t local_ip_be, uint16_t remote_port, uint16_t local_port)
{
	struct rte_ipv4_tuple t;

	reply_tuple(&t, remote_ip_be, local_ip_be, remote_port, local_port);
	return rte_softrss((uint32_t *)&t, RTE_THASH_V4_L4_LEN, key);
}

uint16_t
mps_rss_reply_queue(const uint8_t key[MPS_RSS_KEY_LEN], const uint16_t *reta,
		    uint16_t reta_size, uint32_t remote_ip_be,
		    uint32_t local_ip_be, uint16_t remote_port, uint16_t local_port)
{
	uint32_t h = mps_rss_reply_hash(key, remote_ip_be, local_ip_be,
					remote_port, local_port);

	return reta[h % reta_size];
}

uint16_t
mps_rss_pick_port(const uint8_t key[MPS_RSS_KEY_LEN], const uint16_t *reta,
		  uint16_t reta_size, uint16_t queue, uint32_t remote_ip_be,
		  uint32_t local_ip_be, uint16_t remote_port, uint16_t start,
		  uint16_t lo, uint32_t n)
{
	uint8_t be_key[MPS_RSS_KEY_LEN];
	struct rte_ipv4_tuple t;

	if (reta_size == 0 || n == 0 || start < lo || (uint32_t)(start - lo) >= n)
		return 0;
	rte_convert_rss_key((const uint32_t *)(const void *)key,
			    (uint32_t *)(void *)be_key, MPS_RSS_KEY_LEN);
	reply_tuple(&t, remote_ip_be, local_ip_be, remote_port, 0);
	for (uint32_t i = 0; i < n; i++) {
		uint16_t port = (uint16_t)(lo + (start - lo + i) % n);

		t.dport = port;
		if (reta[rte_softrss_be((uint32_t *)&t, RTE_THASH_V4_L4_LEN,
					be_key) % reta_size] == queue)
			return port;
	}
	return 0;
}
