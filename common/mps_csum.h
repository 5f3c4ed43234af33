/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mps_csum.h - the Internet checksum (RFC 1071), for lwIP and for RX.
 *
 * Where the port computes no checksum (net_memif, the tap without
 * offloads) every TCP byte is summed twice: by the sender's lwIP and by
 * the receiver's check (secondary/netif.c). lwIP's own sum and DPDK's
 * rte_raw_cksum read 16 or 32 bits per addition; this one adds 32-bit
 * words into four 64-bit accumulators, so the carries wait for the end
 * and the additions run side by side (test/unit/test_csum.c compares it
 * with both, make bench shows what it saves in cycles per byte).
 */
#ifndef MPS_CSUM_H
#define MPS_CSUM_H

#include <stddef.h>
#include <stdint.h>

struct rte_ipv4_hdr;

/* The one's-complement sum of len bytes at buf taken as 16-bit words in
 * memory order (a last odd byte padded with zero), folded to 16 bits, not
 * inverted: rte_raw_cksum's result. Any alignment. */
uint16_t mps_csum(const void *buf, size_t len);

/* lwIP's LWIP_CHKSUM (lwipopts.h): the same sum, lwIP's signature. */
unsigned short mps_csum_lwip(const void *buf, int len);

/* 1 if the TCP or UDP segment at l4 (the rest of the IPv4 datagram ip:
 * total_length says how long; the caller checked it is in the frame)
 * has a checksum that holds with ip's pseudo-header, else 0.
 * rte_ipv4_udptcp_cksum_verify's rule. */
int mps_csum_ipv4_l4_ok(const struct rte_ipv4_hdr *ip, const void *l4);

#endif /* MPS_CSUM_H */
