/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mps_csum.c - see mps_csum.h.
 */
#include <string.h>

#include <rte_ip.h>

#include "mps_csum.h"

static inline uint32_t
load32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v)); /* any alignment */
	return v;
}

uint16_t
mps_csum(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t a = 0, b = 0, c = 0, d = 0, s;
	uint16_t tail = 0;

	/* A 32-bit word is two 16-bit words: their sum, carries included,
	 * folds back to the same 16-bit sum. Four accumulators of 2^32 - 1
	 * per 32 bytes cannot overflow below 2^37 bytes. */
	for (; len >= 32; p += 32, len -= 32) {
		a += load32(p);
		b += load32(p + 4);
		c += load32(p + 8);
		d += load32(p + 12);
		a += load32(p + 16);
		b += load32(p + 20);
		c += load32(p + 24);
		d += load32(p + 28);
	}
	for (; len >= 4; p += 4, len -= 4)
		a += load32(p);
	if (len >= 2) {
		memcpy(&tail, p, 2);
		b += tail;
		p += 2;
		len -= 2;
	}
	if (len == 1) {
		tail = 0;
		memcpy(&tail, p, 1); /* the byte first in memory, zero after it */
		c += tail;
	}
	s = a + b + c + d;
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffu) + (s >> 16);
	s = (s & 0xffffu) + (s >> 16);
	return (uint16_t)s;
}

unsigned short
mps_csum_lwip(const void *buf, int len)
{
	return len > 0 ? mps_csum(buf, (size_t)len) : 0;
}

int
mps_csum_ipv4_l4_ok(const struct rte_ipv4_hdr *ip, const void *l4)
{
	uint32_t l3_len = rte_be_to_cpu_16(ip->total_length);
	uint32_t hlen = rte_ipv4_hdr_len(ip);
	uint32_t sum;

	if (l3_len < hlen)
		return 0;
	sum = (uint32_t)mps_csum(l4, l3_len - hlen) + rte_ipv4_phdr_cksum(ip, 0);
	sum = (sum & 0xffffu) + (sum >> 16);
	return sum == 0xffffu;
}
