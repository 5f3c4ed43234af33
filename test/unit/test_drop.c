/* SPDX-License-Identifier: BSD-3-Clause
 *
 * test_drop.c - drop reasons: mps_parse_frame's reason for a
 * malformed frame and mps_frame_check's policy on the rest. Frames are
 * Ethernet + IPv4 + TCP SYN built byte by byte, checksum set right.
 */
#include <string.h>

#include "mps_parse.h"
#include "unit.h"

#define TCP_FRAME_LEN (14u + 20u + 20u)

/* Sets the IPv4 header checksum over hlen bytes at ip. */
static void
ip_csum(uint8_t *ip, uint32_t hlen)
{
	uint32_t sum = 0;

	ip[10] = ip[11] = 0;
	for (uint32_t i = 0; i < hlen; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ip[10] = (uint8_t)(~sum >> 8);
	ip[11] = (uint8_t)~sum;
}

/* Ethernet + IPv4 (20) + TCP SYN (20) to 198.18.0.2:80. */
static uint32_t
build_syn(uint8_t *f)
{
	uint8_t *ip = f + 14, *tcp = ip + 20;

	memset(f, 0, TCP_FRAME_LEN);
	memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x01\x42", 12);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[3] = 40;
	ip[6] = 0x40;  /* DF */
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, "\xc6\x12\x00\x42\xc6\x12\x00\x02", 8);
	tcp[0] = 0xa8; tcp[1] = 0x00; tcp[3] = 80;
	tcp[12] = 0x50;
	tcp[13] = 0x02;  /* SYN */
	ip_csum(ip, 20);
	return TCP_FRAME_LEN;
}

static enum mps_drop_reason
verdict(const uint8_t *f, uint32_t len)
{
	struct mps_frame_info fi;

	mps_parse_frame(f, len, &fi);
	return mps_frame_check(f, len, &fi);
}

void
test_drop_reasons(void)
{
	uint8_t f[128];
	uint32_t len = build_syn(f);

	CHECK_EQ(verdict(f, len), MPS_DROP_NONE);
	CHECK_EQ(verdict(f, 10), MPS_DROP_TRUNCATED);
	CHECK_EQ(verdict(f, 14 + 12), MPS_DROP_TRUNCATED);
	f[14 + 10] ^= 0xff;  /* IPv4 checksum */
	CHECK_EQ(verdict(f, len), MPS_DROP_BAD_CSUM);
	build_syn(f);
	f[14] = 0x43;        /* IHL 3 */
	CHECK_EQ(verdict(f, len), MPS_DROP_BAD_IP_HDR);
	build_syn(f);
	f[14 + 3] = 200;     /* total length beyond the frame */
	ip_csum(f + 14, 20);
	CHECK_EQ(verdict(f, len), MPS_DROP_TRUNCATED);
	build_syn(f);
	f[14 + 6] = 0x20;    /* MF */
	ip_csum(f + 14, 20);
	CHECK_EQ(verdict(f, len), MPS_DROP_FRAGMENT);
	build_syn(f);
	f[14 + 32 + 1] = 0x03; /* SYN+FIN */
	CHECK_EQ(verdict(f, len), MPS_DROP_BAD_TCP);
	build_syn(f);
	f[14 + 32] = 0x40;   /* data offset 4 */
	CHECK_EQ(verdict(f, len), MPS_DROP_BAD_TCP);
	build_syn(f);
	f[14 + 32] = 0xf0;   /* data offset 15, beyond the segment */
	CHECK_EQ(verdict(f, len), MPS_DROP_BAD_TCP);
	build_syn(f);
	f[14 + 3] = 30;      /* 10 bytes of TCP */
	ip_csum(f + 14, 20);
	CHECK_EQ(verdict(f, len), MPS_DROP_TRUNCATED);
	build_syn(f);
	f[12] = 0x81;        /* 802.1Q */
	f[13] = 0x00;
	CHECK_EQ(verdict(f, len), MPS_DROP_VLAN);
	f[12] = 0x86;        /* IPv6 */
	f[13] = 0xdd;
	CHECK_EQ(verdict(f, len), MPS_DROP_ETHERTYPE);
}

void
test_drop_ip_options_and_names(void)
{
	uint8_t f[128];
	uint8_t *ip = f + 14;

	build_syn(f);
	/* 4 option bytes (NOPs) between the IPv4 and TCP headers. */
	memmove(ip + 24, ip + 20, 20);
	memset(ip + 20, 1, 4);
	ip[0] = 0x46;
	ip[3] = 44;
	ip_csum(ip, 24);
	CHECK_EQ(verdict(f, TCP_FRAME_LEN + 4), MPS_DROP_IP_OPTIONS);
	for (unsigned int r = 0; r < MPS_DROP_REASONS; r++)
		CHECK(strcmp(mps_drop_reason_name(r), "?") != 0);
	CHECK(strcmp(mps_drop_reason_name(MPS_DROP_REASONS), "?") == 0);
	CHECK(strcmp(mps_drop_reason_name(MPS_DROP_BAD_CSUM), "bad_csum") == 0);
}
