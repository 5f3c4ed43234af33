/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mps_siphash.h - SipHash-2-4, a keyed pseudo-random function for short inputs.
 *
 * DPDK 22.11 has no SipHash (its hashes, rte_hash_crc/rte_jhash/rte_softrss,
 * are not keyed PRFs: CRC and Toeplitz are linear, jhash is not designed to
 * keep a key secret), so this is SipHash-2-4 written from the reference
 * algorithm (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
 * 2012). Checked against the reference test vectors in test/unit/test_isn.c.
 */
#ifndef MPS_SIPHASH_H
#define MPS_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define MPS_SIPHASH_KEY_LEN 16u

/* SipHash-2-4 of len bytes at data under the 128-bit key (bytes k0 then k1,
 * each little-endian, as in the reference). The 64-bit result is the
 * reference's output bytes read as a little-endian integer. */
uint64_t mps_siphash24(const uint8_t key[MPS_SIPHASH_KEY_LEN], const void *data,
		       size_t len);

#endif /* MPS_SIPHASH_H */
