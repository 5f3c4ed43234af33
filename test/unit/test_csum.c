/* SPDX-License-Identifier: BSD-3-Clause
 *
 * test_csum.c - the Internet checksum (common/mps_csum.c): the same sum
 * as RFC 1071's byte-pair loop and DPDK's rte_raw_cksum for every start
 * alignment and length (odd ones too) up to a jumbo frame and lwIP's
 * largest pbuf, and the RX check on TCP and UDP segments: it holds for a
 * segment DPDK checksummed, fails for one changed bit or a bad length.
 */
#include <string.h>

#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "mps_csum.h"
#include "unit.h"

/* RFC 1071 4.1, byte pairs in memory order as native 16-bit words. */
static uint16_t
ref_sum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;
	uint16_t w;

	for (; len >= 2; p += 2, len -= 2) {
		memcpy(&w, p, 2);
		s += w;
		s = (s & 0xffff) + (s >> 16);
	}
	if (len == 1) {
		w = 0;
		memcpy(&w, p, 1);
		s += w;
		s = (s & 0xffff) + (s >> 16);
	}
	return (uint16_t)s;
}

static uint8_t buf[65536 + 8];

static void
fill(uint32_t seed)
{
	for (size_t i = 0; i < sizeof(buf); i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (uint8_t)(seed >> 16);
	}
}

void
test_csum_matches_references(void)
{
	static const size_t big[] = { 1460, 1500, 8960, 9000, 32768, 65535 };

	fill(1);
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len <= 600; len++)
			if (!CHECK_EQ(mps_csum(buf + off, len), ref_sum(buf + off, len)) ||
			    !CHECK_EQ(mps_csum(buf + off, len), rte_raw_cksum(buf + off, len)))
				printf("  offset %zu, length %zu\n", off, len);
	for (size_t i = 0; i < RTE_DIM(big); i++)
		for (size_t off = 0; off < 2; off++)
			CHECK_EQ(mps_csum(buf + off, big[i]), ref_sum(buf + off, big[i]));
	/* All ones: the carries are many and the sum is 0xffff, not 0. */
	memset(buf, 0xff, sizeof(buf));
	CHECK_EQ(mps_csum(buf, 65535), ref_sum(buf, 65535));
	CHECK_EQ(mps_csum(buf, 8), 0xffff);
	memset(buf, 0, 64);
	CHECK_EQ(mps_csum(buf, 64), 0);
	CHECK_EQ(mps_csum_lwip(buf, 0), 0);
	CHECK_EQ(mps_csum_lwip(buf + 1, 65535), ref_sum(buf + 1, 65535));
}

/* An IPv4 datagram of l4_len bytes of proto after a 20-byte header. */
static struct rte_ipv4_hdr *
datagram(uint8_t proto, uint16_t l4_len)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)buf;

	fill(7);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + l4_len));
	ip->time_to_live = 64;
	ip->next_proto_id = proto;
	ip->src_addr = rte_cpu_to_be_32(0xc6120001);  /* 198.18.0.1 */
	ip->dst_addr = rte_cpu_to_be_32(0xc6120002);
	return ip;
}

void
test_csum_l4_verify(void)
{
	static const uint16_t lens[] = { 20, 21, 64, 1480, 8940 };

	for (size_t i = 0; i < RTE_DIM(lens); i++) {
		struct rte_ipv4_hdr *ip = datagram(IPPROTO_TCP, lens[i]);
		struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(ip + 1);

		tcp->cksum = 0;
		tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
		CHECK(mps_csum_ipv4_l4_ok(ip, tcp));
		buf[sizeof(*ip) + lens[i] - 1] ^= 0x10;  /* one bit of the payload */
		CHECK(!mps_csum_ipv4_l4_ok(ip, tcp));
		buf[sizeof(*ip) + lens[i] - 1] ^= 0x10;
		ip->src_addr ^= rte_cpu_to_be_32(1);     /* the pseudo-header */
		CHECK(!mps_csum_ipv4_l4_ok(ip, tcp));
	}
	{
		struct rte_ipv4_hdr *ip = datagram(IPPROTO_UDP, 100);
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

		udp->dgram_len = rte_cpu_to_be_16(100);
		udp->dgram_cksum = 0;
		udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
		CHECK(mps_csum_ipv4_l4_ok(ip, udp));
		udp->dgram_cksum ^= 0x0100;
		CHECK(!mps_csum_ipv4_l4_ok(ip, udp));
		/* total_length shorter than the header: never holds */
		ip->total_length = rte_cpu_to_be_16(10);
		CHECK(!mps_csum_ipv4_l4_ok(ip, udp));
	}
}
