/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mps_parse.c - see mps_parse.h.
 */
#include <string.h>

#include "mps_parse.h"

#define ARP_LEN 28u /* Ethernet/IPv4 ARP body */

static inline uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t
rd32_raw(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v)); /* keeps network byte order */
	return v;
}

int
mps_mac_is_unicast(const uint8_t mac[6])
{
	static const uint8_t zero[6];

	return (mac[0] & 1) == 0 && memcmp(mac, zero, 6) != 0;
}

/* Ethernet/IPv4 ARP only: htype 1, ptype IPv4, hlen 6, plen 4. */
static enum mps_frame_kind
parse_arp(const uint8_t *p, uint32_t len, struct mps_frame_info *fi)
{
	if (len < ARP_LEN || rd16(p) != 1 || rd16(p + 2) != MPS_ETHERTYPE_IPV4 ||
	    p[4] != 6 || p[5] != 4)
		return MPS_FRAME_MALFORMED;
	fi->arp_op = rd16(p + 6);
	if (fi->arp_op != MPS_ARP_REQUEST && fi->arp_op != MPS_ARP_REPLY)
		return MPS_FRAME_MALFORMED;
	memcpy(fi->arp_sha, p + 8, 6);
	fi->arp_spa = rd32_raw(p + 14);
	fi->arp_tpa = rd32_raw(p + 24);
	return MPS_FRAME_ARP;
}

/* Version, header length and total length must agree with the frame. */
static enum mps_frame_kind
parse_ipv4(const uint8_t *p, uint32_t len, struct mps_frame_info *fi)
{
	uint8_t ihl;

	if (len < 20 || (p[0] >> 4) != 4)
		return MPS_FRAME_MALFORMED;
	ihl = (uint8_t)((p[0] & 0x0f) * 4);
	if (ihl < 20 || ihl > len)
		return MPS_FRAME_MALFORMED;
	fi->ip_len = rd16(p + 2);
	if (fi->ip_len < ihl || fi->ip_len > len)
		return MPS_FRAME_MALFORMED;
	fi->ip_hlen = ihl;
	fi->ip_proto = p[9];
	fi->ip_src = rd32_raw(p + 12);
	fi->ip_dst = rd32_raw(p + 16);
	return MPS_FRAME_IPV4;
}

enum mps_frame_kind
mps_parse_frame(const uint8_t *data, uint32_t len, struct mps_frame_info *fi)
{
	memset(fi, 0, sizeof(*fi));
	if (data == NULL || len < MPS_ETH_HLEN)
		return fi->kind = MPS_FRAME_MALFORMED;
	memcpy(fi->dst_mac, data, 6);
	memcpy(fi->src_mac, data + 6, 6);
	fi->ethertype = rd16(data + 12);
	data += MPS_ETH_HLEN;
	len -= MPS_ETH_HLEN;
	switch (fi->ethertype) {
	case MPS_ETHERTYPE_ARP:
		fi->kind = parse_arp(data, len, fi);
		break;
	case MPS_ETHERTYPE_IPV4:
		fi->kind = parse_ipv4(data, len, fi);
		break;
	default:
		fi->kind = MPS_FRAME_OTHER;
		break;
	}
	return fi->kind;
}
