/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mps_rss.h - RSS-aware local ports for active opens. The NIC
 * hashes a received frame's IPv4/TCP 4-tuple with Toeplitz (the key the
 * primary programmed) and looks the hash up in its RETA to pick a queue.
 * A worker that connects out picks its local port so that the replies'
 * tuple lands on its own queue.
 */
#ifndef MPS_RSS_H
#define MPS_RSS_H

#include <stdint.h>

#include "mps_shared.h" /* MPS_RSS_KEY_LEN */

/* Toeplitz hash (rte_softrss) of the reply tuple remote -> local, as the
 * NIC computes it. Addresses in network order, ports in host order. */
uint32_t mps_rss_reply_hash(const uint8_t key[MPS_RSS_KEY_LEN], uint32_t remote_ip_be,
			    uint32_t local_ip_be, uint16_t remote_port,
			    uint16_t local_port);

/* The queue the NIC gives that reply: reta[hash % reta_size]. */
uint16_t mps_rss_reply_queue(const uint8_t key[MPS_RSS_KEY_LEN], const uint16_t *reta,
			     uint16_t reta_size, uint32_t remote_ip_be,
			     uint32_t local_ip_be, uint16_t remote_port,
			     uint16_t local_port);

/* The first local port in [lo, lo + n), scanning cyclically from start,
 * whose reply lands on queue; 0 if none does. */
uint16_t mps_rss_pick_port(const uint8_t key[MPS_RSS_KEY_LEN], const uint16_t *reta,
			   uint16_t reta_size, uint16_t queue,
			   uint32_t remote_ip_be, uint32_t local_ip_be,
			   uint16_t remote_port, uint16_t start, uint16_t lo,
			   uint32_t n);

#endif /* MPS_RSS_H */
