/* SPDX-License-Identifier: BSD-3-Clause
 *
 * test_parse.c - frame classification (common/mps_parse.c). Frames are built
 * byte by byte; truncation loops copy each prefix into a heap buffer of
 * exactly that length, so an overread shows under ASan.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mps_parse.h"
#include "unit.h"

static const uint8_t mac_dst[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };
static const uint8_t mac_src[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t mac_sha[6] = { 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f };
static const uint8_t mac_tha[6] = { 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6 };
static const uint8_t ip_a[4] = { 198, 18, 0, 1 };
static const uint8_t ip_b[4] = { 198, 18, 0, 2 };

#define ARP_FRAME_LEN 42u  /* 14 + 28 */
#define IP_PAYLOAD 12u     /* UDP header + 4 bytes */

/* A network-order uint32 from 4 bytes, as the parser stores addresses. */
static uint32_t
be32_of(const uint8_t b[4])
{
	uint32_t v;

	memcpy(&v, b, 4);
	return v;
}

static uint32_t
put_eth(uint8_t *f, uint16_t ethertype)
{
	memcpy(f, mac_dst, 6);
	memcpy(f + 6, mac_src, 6);
	f[12] = (uint8_t)(ethertype >> 8);
	f[13] = (uint8_t)ethertype;
	return MPS_ETH_HLEN;
}

/* Ethernet + Ethernet/IPv4 ARP, unpadded: returns 42. The sender hardware
 * address differs from the Ethernet source and the target hardware address
 * is non-zero, so a field read from the wrong offset shows. */
static uint32_t
build_arp(uint8_t *f, uint16_t op)
{
	uint8_t *a = f + put_eth(f, MPS_ETHERTYPE_ARP);

	a[0] = 0x00; a[1] = 0x01;           /* htype Ethernet */
	a[2] = 0x08; a[3] = 0x00;           /* ptype IPv4 */
	a[4] = 6;                           /* hlen */
	a[5] = 4;                           /* plen */
	a[6] = (uint8_t)(op >> 8); a[7] = (uint8_t)op;
	memcpy(a + 8, mac_sha, 6);
	memcpy(a + 14, ip_a, 4);
	memcpy(a + 18, mac_tha, 6);
	memcpy(a + 24, ip_b, 4);
	return ARP_FRAME_LEN;
}

/* Ethernet + IPv4 with ihl_words*4 header bytes (options filled with NOP)
 * and IP_PAYLOAD bytes of UDP; total length set to match. Returns frame
 * length. */
static uint32_t
build_ipv4(uint8_t *f, uint8_t ihl_words)
{
	uint8_t *ip = f + put_eth(f, MPS_ETHERTYPE_IPV4);
	uint32_t hlen = ihl_words * 4u, tot = hlen + IP_PAYLOAD;

	memset(ip, 0, hlen + IP_PAYLOAD);
	ip[0] = (uint8_t)(0x40 | ihl_words);
	ip[1] = 0;
	ip[2] = (uint8_t)(tot >> 8); ip[3] = (uint8_t)tot;
	ip[4] = 0x12; ip[5] = 0x34;         /* id */
	ip[6] = 0x40; ip[7] = 0;            /* DF */
	ip[8] = 64;                         /* ttl */
	ip[9] = 17;                         /* UDP */
	ip[10] = 0xab; ip[11] = 0xcd;       /* checksum: not the parser's job */
	memcpy(ip + 12, ip_a, 4);
	memcpy(ip + 16, ip_b, 4);
	for (uint32_t i = 20; i < hlen; i++)
		ip[i] = 1;                  /* NOP options */
	ip[hlen + 0] = 0x30; ip[hlen + 1] = 0x39; /* sport 12345 */
	ip[hlen + 2] = 0x00; ip[hlen + 3] = 0x07; /* dport 7 */
	ip[hlen + 4] = 0x00; ip[hlen + 5] = (uint8_t)IP_PAYLOAD;
	memcpy(ip + hlen + 8, "ping", 4);
	return MPS_ETH_HLEN + tot;
}

static void
set_ip_totlen(uint8_t *f, uint16_t tot)
{
	f[MPS_ETH_HLEN + 2] = (uint8_t)(tot >> 8);
	f[MPS_ETH_HLEN + 3] = (uint8_t)tot;
}

/* Parses a heap copy of exactly len bytes, so ASan sees any overread. */
static enum mps_frame_kind
parse_exact(const uint8_t *f, uint32_t len, struct mps_frame_info *fi)
{
	uint8_t *copy = malloc(len ? len : 1);
	enum mps_frame_kind k;

	if (copy == NULL) {
		CHECK(copy != NULL);
		return MPS_FRAME_MALFORMED;
	}
	memcpy(copy, f, len);
	memset(fi, 0xee, sizeof(*fi));
	k = mps_parse_frame(copy, len, fi);
	CHECK_EQ(k, fi->kind);
	free(copy);
	return k;
}

static void
check_eth(const struct mps_frame_info *fi, uint16_t ethertype)
{
	CHECK(memcmp(fi->dst_mac, mac_dst, 6) == 0);
	CHECK(memcmp(fi->src_mac, mac_src, 6) == 0);
	CHECK_EQ(fi->ethertype, ethertype);
}

void
test_parse_arp_valid(void)
{
	uint8_t f[64];
	struct mps_frame_info fi;
	uint32_t len;

	len = build_arp(f, MPS_ARP_REQUEST);
	CHECK_EQ(parse_exact(f, len, &fi), MPS_FRAME_ARP);
	check_eth(&fi, MPS_ETHERTYPE_ARP);
	CHECK_EQ(fi.arp_op, MPS_ARP_REQUEST);
	CHECK(memcmp(fi.arp_sha, mac_sha, 6) == 0);
	CHECK_EQ(fi.arp_spa, be32_of(ip_a));
	CHECK_EQ(fi.arp_tpa, be32_of(ip_b));

	len = build_arp(f, MPS_ARP_REPLY);
	CHECK_EQ(parse_exact(f, len, &fi), MPS_FRAME_ARP);
	CHECK_EQ(fi.arp_op, MPS_ARP_REPLY);
	CHECK(memcmp(fi.arp_sha, mac_sha, 6) == 0);
	CHECK_EQ(fi.arp_spa, be32_of(ip_a));
	CHECK_EQ(fi.arp_tpa, be32_of(ip_b));

	/* Padded to the Ethernet minimum (60) and with an FCS (64): still ARP. */
	memset(f + len, 0x5a, sizeof(f) - len);
	CHECK_EQ(parse_exact(f, 60, &fi), MPS_FRAME_ARP);
	CHECK_EQ(fi.arp_spa, be32_of(ip_a));
	CHECK_EQ(parse_exact(f, 64, &fi), MPS_FRAME_ARP);
	CHECK_EQ(fi.arp_tpa, be32_of(ip_b));
}

void
test_parse_arp_bad_fields(void)
{
	/* Offset (from the ARP header) and value of one corrupted byte. */
	static const struct {
		uint32_t off;
		uint8_t val;
	} bad[] = {
		{ 0, 0x01 },  /* htype 0x0101 */
		{ 1, 0x06 },  /* htype 6 (IEEE 802) */
		{ 1, 0x00 },  /* htype 0 */
		{ 2, 0x86 },  /* ptype 0x8600 */
		{ 3, 0x06 },  /* ptype 0x0806 */
		{ 4, 8 },     /* hlen 8 */
		{ 4, 0 },     /* hlen 0 */
		{ 5, 16 },    /* plen 16 (IPv6) */
		{ 5, 6 },     /* plen 6 */
		{ 7, 0 },     /* op 0 */
		{ 7, 3 },     /* op 3 (RARP request) */
		{ 7, 4 },     /* op 4 */
		{ 6, 0x01 },  /* op 0x0101 */
	};
	uint8_t f[64];
	struct mps_frame_info fi;
	uint32_t len;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		len = build_arp(f, MPS_ARP_REQUEST);
		f[MPS_ETH_HLEN + bad[i].off] = bad[i].val;
		if (!CHECK_EQ(parse_exact(f, len, &fi), MPS_FRAME_MALFORMED))
			printf("  ARP byte %u = 0x%02x\n", bad[i].off, bad[i].val);
		/* Padding does not make it acceptable. */
		memset(f + len, 0, sizeof(f) - len);
		CHECK_EQ(parse_exact(f, 60, &fi), MPS_FRAME_MALFORMED);
	}
	/* op 0x0200: a reply with its bytes swapped. */
	len = build_arp(f, 0x0200);
	CHECK_EQ(parse_exact(f, len, &fi), MPS_FRAME_MALFORMED);
}

void
test_parse_arp_truncated(void)
{
	uint8_t f[64];
	struct mps_frame_info fi;
	uint32_t full = build_arp(f, MPS_ARP_REQUEST);

	for (uint32_t len = 0; len < full; len++)
		if (!CHECK_EQ(parse_exact(f, len, &fi), MPS_FRAME_MALFORMED))
			printf("  ARP truncated to %u\n", len);
	CHECK_EQ(parse_exact(f, full, &fi), MPS_FRAME_ARP);
}

void
test_parse_ipv4_valid(void)
{
	uint8_t f[128];
	struct mps_frame_info fi;
	uint32_t len;

	len = build_ipv4(f, 5);
	CHECK_EQ(len, MPS_ETH_HLEN + 20 + IP_PAYLOAD);
	CHECK_EQ(parse_exact(f, len, &fi), MPS_FRAME_IPV4);
	check_eth(&fi, MPS_ETHERTYPE_IPV4);
	CHECK_EQ(fi.ip_src, be32_of(ip_a));
	CHECK_EQ(fi.ip_dst, be32_of(ip_b));
	CHECK_EQ(fi.ip_proto, 17);
	CHECK_EQ(fi.ip_hlen, 20);
	CHECK_EQ(fi.ip_len, 20 + IP_PAYLOAD);

	/* With options: 24 and the maximum 60 header bytes. */
	len = build_ipv4(f, 6);
	CHECK_EQ(parse_exact(f, len, &fi), MPS_FRAME_IPV4);
	CHECK_EQ(fi.ip_hlen, 24);
	CHECK_EQ(fi.ip_len, 24 + IP_PAYLOAD);
	CHECK_EQ(fi.ip_src, be32_of(ip_a));
	len = build_ipv4(f, 15);
	CHECK_EQ(parse_exact(f, len, &fi), MPS_FRAME_IPV4);
	CHECK_EQ(fi.ip_hlen, 60);
	CHECK_EQ(fi.ip_len, 60 + IP_PAYLOAD);
	CHECK_EQ(fi.ip_dst, be32_of(ip_b));

	/* Header only: total length == IHL is fine. */
	len = build_ipv4(f, 5);
	set_ip_totlen(f, 20);
	CHECK_EQ(parse_exact(f, MPS_ETH_HLEN + 20, &fi), MPS_FRAME_IPV4);
	CHECK_EQ(fi.ip_len, 20);

	/* A large total length is read big-endian (0x0120 = 288). */
	{
		uint8_t big[MPS_ETH_HLEN + 288];

		build_ipv4(big, 5);
		set_ip_totlen(big, 288);
		CHECK_EQ(parse_exact(big, sizeof(big), &fi), MPS_FRAME_IPV4);
		CHECK_EQ(fi.ip_len, 288);
		CHECK_EQ(parse_exact(big, sizeof(big) - 1, &fi),
			 MPS_FRAME_MALFORMED);
	}
}

void
test_parse_ipv4_bad_header(void)
{
	uint8_t f[128];
	struct mps_frame_info fi;
	uint32_t len;

	/* Version other than 4 under ethertype IPv4. */
	static const uint8_t versions[] = { 0, 1, 5, 6, 15 };

	for (size_t i = 0; i < sizeof(versions); i++) {
		len = build_ipv4(f, 5);
		f[MPS_ETH_HLEN] = (uint8_t)(versions[i] << 4 | 5);
		if (!CHECK_EQ(parse_exact(f, len, &fi), MPS_FRAME_MALFORMED))
			printf("  version %u\n", versions[i]);
	}
	/* IHL below 5 words. */
	for (uint8_t ihl = 0; ihl < 5; ihl++) {
		len = build_ipv4(f, 5);
		f[MPS_ETH_HLEN] = (uint8_t)(0x40 | ihl);
		set_ip_totlen(f, 20 + IP_PAYLOAD);
		if (!CHECK_EQ(parse_exact(f, len, &fi), MPS_FRAME_MALFORMED))
			printf("  IHL %u\n", ihl);
	}
	/* IHL beyond the frame: 60-byte header claimed in 32 bytes of IP. */
	len = build_ipv4(f, 5);
	f[MPS_ETH_HLEN] = 0x4f;
	CHECK_EQ(parse_exact(f, len, &fi), MPS_FRAME_MALFORMED);
	/* ... and 24 bytes claimed in exactly 20 (total length 20). */
	len = build_ipv4(f, 5);
	f[MPS_ETH_HLEN] = 0x46;
	set_ip_totlen(f, 20);
	CHECK_EQ(parse_exact(f, MPS_ETH_HLEN + 20, &fi), MPS_FRAME_MALFORMED);

	/* Total length below the header length. */
	static const uint16_t short_tot[] = { 0, 1, 19 };

	for (size_t i = 0; i < sizeof(short_tot) / sizeof(short_tot[0]); i++) {
		len = build_ipv4(f, 5);
		set_ip_totlen(f, short_tot[i]);
		if (!CHECK_EQ(parse_exact(f, len, &fi), MPS_FRAME_MALFORMED))
			printf("  total length %u (IHL 20)\n", short_tot[i]);
	}
	len = build_ipv4(f, 6);
	set_ip_totlen(f, 23);
	CHECK_EQ(parse_exact(f, len, &fi), MPS_FRAME_MALFORMED);
	len = build_ipv4(f, 6);
	set_ip_totlen(f, 24);
	CHECK_EQ(parse_exact(f, len, &fi), MPS_FRAME_IPV4);

	/* Total length beyond the frame. */
	len = build_ipv4(f, 5);
	set_ip_totlen(f, (uint16_t)(len - MPS_ETH_HLEN + 1));
	CHECK_EQ(parse_exact(f, len, &fi), MPS_FRAME_MALFORMED);
	set_ip_totlen(f, 0xffff);
	CHECK_EQ(parse_exact(f, len, &fi), MPS_FRAME_MALFORMED);
	set_ip_totlen(f, 0x2000); /* 8192: wrong byte order of 0x0020 */
	CHECK_EQ(parse_exact(f, len, &fi), MPS_FRAME_MALFORMED);
	set_ip_totlen(f, (uint16_t)(len - MPS_ETH_HLEN));
	CHECK_EQ(parse_exact(f, len, &fi), MPS_FRAME_IPV4);
}

void
test_parse_ipv4_truncated(void)
{
	uint8_t f[128];
	struct mps_frame_info fi;
	uint32_t full;

	full = build_ipv4(f, 5);
	for (uint32_t len = 0; len < full; len++)
		if (!CHECK_EQ(parse_exact(f, len, &fi), MPS_FRAME_MALFORMED))
			printf("  IPv4 (IHL 5) truncated to %u\n", len);
	CHECK_EQ(parse_exact(f, full, &fi), MPS_FRAME_IPV4);

	full = build_ipv4(f, 15);
	for (uint32_t len = 0; len < full; len++)
		if (!CHECK_EQ(parse_exact(f, len, &fi), MPS_FRAME_MALFORMED))
			printf("  IPv4 (IHL 15) truncated to %u\n", len);
	CHECK_EQ(parse_exact(f, full, &fi), MPS_FRAME_IPV4);

	/* A header-only datagram truncated inside the header. */
	build_ipv4(f, 5);
	set_ip_totlen(f, 20);
	for (uint32_t len = 0; len < MPS_ETH_HLEN + 20; len++)
		CHECK_EQ(parse_exact(f, len, &fi), MPS_FRAME_MALFORMED);
}

/* Ethernet pads short frames: a total length below the frame is fine. */
void
test_parse_ipv4_padding(void)
{
	uint8_t f[128];
	struct mps_frame_info fi;
	uint32_t len;

	len = build_ipv4(f, 5);
	memset(f + len, 0, sizeof(f) - len);
	CHECK_EQ(parse_exact(f, 60, &fi), MPS_FRAME_IPV4);
	CHECK_EQ(fi.ip_len, 20 + IP_PAYLOAD);
	CHECK_EQ(fi.ip_src, be32_of(ip_a));
	CHECK_EQ(parse_exact(f, 64, &fi), MPS_FRAME_IPV4);
	CHECK_EQ(parse_exact(f, sizeof(f), &fi), MPS_FRAME_IPV4);
	CHECK_EQ(fi.ip_len, 20 + IP_PAYLOAD);
	CHECK_EQ(fi.ip_hlen, 20);
}

void
test_parse_other_ethertypes(void)
{
	static const uint16_t others[] = {
		MPS_ETHERTYPE_VLAN, 0x88a8 /* QinQ */, 0x86dd /* IPv6 */,
		0x0801, 0x0805, 0x0807, 0x0608 /* ARP byte-swapped */,
		0x0008 /* IPv4 byte-swapped */, 0x0000, 0x05dc /* 802.3 length */,
		0xffff,
	};
	uint8_t f[128];
	struct mps_frame_info fi;
	uint32_t len;

	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		/* An IPv4 packet behind it, which must not matter. */
		len = build_ipv4(f, 5);
		f[12] = (uint8_t)(others[i] >> 8);
		f[13] = (uint8_t)others[i];
		if (!CHECK_EQ(parse_exact(f, len, &fi), MPS_FRAME_OTHER))
			printf("  ethertype 0x%04x\n", others[i]);
		check_eth(&fi, others[i]);
		/* Header alone is a well-formed frame too. */
		CHECK_EQ(parse_exact(f, MPS_ETH_HLEN, &fi), MPS_FRAME_OTHER);
	}

	/* VLAN-tagged IPv4 (TCI, then 0x0800): not parsed here. */
	{
		uint8_t ip[128];
		uint32_t iplen = build_ipv4(ip, 5) - MPS_ETH_HLEN;

		len = put_eth(f, MPS_ETHERTYPE_VLAN);
		f[len++] = 0x00; f[len++] = 0x64;   /* VID 100 */
		f[len++] = 0x08; f[len++] = 0x00;
		memcpy(f + len, ip + MPS_ETH_HLEN, iplen);
		len += iplen;
	}
	CHECK_EQ(parse_exact(f, len, &fi), MPS_FRAME_OTHER);
	CHECK_EQ(fi.ethertype, MPS_ETHERTYPE_VLAN);
}

void
test_parse_short_and_null(void)
{
	uint8_t f[64];
	struct mps_frame_info fi;

	memset(&fi, 0xee, sizeof(fi));
	CHECK_EQ(mps_parse_frame(NULL, 0, &fi), MPS_FRAME_MALFORMED);
	CHECK_EQ(fi.kind, MPS_FRAME_MALFORMED);
	CHECK_EQ(mps_parse_frame(NULL, 60, &fi), MPS_FRAME_MALFORMED);

	/* Shorter than an Ethernet header, whatever the ethertype. */
	put_eth(f, 0x86dd);
	for (uint32_t len = 0; len < MPS_ETH_HLEN; len++)
		CHECK_EQ(parse_exact(f, len, &fi), MPS_FRAME_MALFORMED);
	/* A bare Ethernet header that announces ARP or IPv4 is malformed. */
	put_eth(f, MPS_ETHERTYPE_ARP);
	CHECK_EQ(parse_exact(f, MPS_ETH_HLEN, &fi), MPS_FRAME_MALFORMED);
	put_eth(f, MPS_ETHERTYPE_IPV4);
	CHECK_EQ(parse_exact(f, MPS_ETH_HLEN, &fi), MPS_FRAME_MALFORMED);
}

void
test_parse_mac_is_unicast(void)
{
	static const struct {
		uint8_t mac[6];
		int unicast;
	} cases[] = {
		{ { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }, 1 },
		{ { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 }, 1 }, /* local admin */
		{ { 0x00, 0x00, 0x00, 0x00, 0x00, 0x01 }, 1 },
		{ { 0x00, 0x00, 0x00, 0x00, 0x01, 0x00 }, 1 },
		{ { 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff }, 1 },
		{ { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 }, 0 }, /* zero */
		{ { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 0 }, /* broadcast */
		{ { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 }, 0 }, /* IPv4 mcast */
		{ { 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 }, 0 }, /* IPv6 mcast */
		{ { 0x01, 0x00, 0x00, 0x00, 0x00, 0x00 }, 0 },
		{ { 0x03, 0x00, 0x00, 0x00, 0x00, 0x00 }, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const uint8_t *m = cases[i].mac;

		if (!CHECK_EQ(!!mps_mac_is_unicast(m), cases[i].unicast))
			printf("  %02x:%02x:%02x:%02x:%02x:%02x\n", m[0], m[1],
			       m[2], m[3], m[4], m[5]);
	}
}

/* TCP/UDP ports and TCP flags, as far as the frame holds them. */
void
test_parse_l4_ports_flags(void)
{
	uint8_t f[128];
	uint8_t *ip = f + MPS_ETH_HLEN;
	struct mps_frame_info fi;
	uint32_t len = build_ipv4(f, 5);

	/* UDP: ports, no flags */
	CHECK_EQ(parse_exact(f, len, &fi), MPS_FRAME_IPV4);
	CHECK(mps_frame_has_ports(&fi));
	CHECK(!mps_frame_has_tcp_flags(&fi));
	CHECK_EQ(fi.l4_len, IP_PAYLOAD);
	CHECK_EQ(fi.sport, 12345);
	CHECK_EQ(fi.dport, 7);
	CHECK_EQ(fi.tcp_flags, 0);

	/* TCP with a whole header: ports and flags */
	memset(ip + 20, 0, 20);
	ip[9] = MPS_IPPROTO_TCP;
	ip[20] = 0x30; ip[21] = 0x39; ip[22] = 0x00; ip[23] = 0x50;
	ip[32] = 0x50;                      /* data offset 5 */
	ip[33] = MPS_TCP_SYN | MPS_TCP_ACK;
	set_ip_totlen(f, 40);
	len = MPS_ETH_HLEN + 40;
	CHECK_EQ(parse_exact(f, len, &fi), MPS_FRAME_IPV4);
	CHECK(mps_frame_has_ports(&fi));
	CHECK(mps_frame_has_tcp_flags(&fi));
	CHECK_EQ(fi.dport, 80);
	CHECK_EQ(fi.tcp_flags, MPS_TCP_SYN | MPS_TCP_ACK);

	/* Frame ends inside the TCP header: what it holds, no more */
	set_ip_totlen(f, 33);
	CHECK_EQ(parse_exact(f, MPS_ETH_HLEN + 33, &fi), MPS_FRAME_IPV4);
	CHECK(mps_frame_has_ports(&fi));
	CHECK(!mps_frame_has_tcp_flags(&fi));
	CHECK_EQ(fi.tcp_flags, 0);
	set_ip_totlen(f, 23);
	CHECK_EQ(parse_exact(f, MPS_ETH_HLEN + 23, &fi), MPS_FRAME_IPV4);
	CHECK_EQ(fi.l4_len, 3);
	CHECK(!mps_frame_has_ports(&fi));
	CHECK_EQ(fi.dport, 0);

	/* Other protocols: none of it */
	set_ip_totlen(f, 40);
	ip[9] = 1;                          /* ICMP */
	CHECK_EQ(parse_exact(f, len, &fi), MPS_FRAME_IPV4);
	CHECK(!mps_frame_has_ports(&fi));
	CHECK_EQ(fi.l4_len, 0);
	CHECK_EQ(fi.sport, 0);
}
