/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mps_isn.h - TCP initial sequence numbers as RFC 6528 makes them.
 *
 * ISN = M + F(localip, localport, remoteip, remoteport, secretkey): M a
 * 4 us clock (RFC 793, RFC 6528 section 3), F SipHash-2-4 of the 4-tuple
 * under a 128-bit secret, truncated to 32 bits. F is a keyed PRF and not
 * linear: ISNs seen on one's own connections tell nothing about another
 * 4-tuple's (a CRC keyed with a secret does: CRC is linear, the key
 * collapses to one 32-bit mask; test/unit/test_isn.c shows both).
 * A pure function, so the unit tests run it without lwIP or DPDK; the
 * worker's hook (secondary/tcp_hooks.c) gives it the stack's secret (one
 * per stack, drawn by the primary, in struct mps_shared) and the clock.
 */
#ifndef MPS_ISN_H
#define MPS_ISN_H

#include <stdint.h>

#include "mps_siphash.h"

#define MPS_ISN_SECRET_LEN MPS_SIPHASH_KEY_LEN /* 128 bits */
#define MPS_ISN_CLOCK_HZ   250000u             /* M ticks every 4 us */

/* F: SipHash-2-4 under secret of the 4-tuple. Addresses as lwIP stores
 * them (network byte order in memory), ports in host order. */
uint32_t mps_isn_offset(const uint8_t secret[MPS_ISN_SECRET_LEN], uint32_t local_ip_be,
			uint16_t local_port, uint32_t remote_ip_be, uint16_t remote_port);

/* The ISN: clock_4us (M, in 4 us ticks, wrapping) + F. */
uint32_t mps_isn(const uint8_t secret[MPS_ISN_SECRET_LEN], uint32_t local_ip_be,
		 uint16_t local_port, uint32_t remote_ip_be, uint16_t remote_port,
		 uint32_t clock_4us);

#endif /* MPS_ISN_H */
