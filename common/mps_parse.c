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
	fi->drop_reason = len < ARP_LEN ? MPS_DROP_TRUNCATED : MPS_DROP_BAD_ARP;
	if (len < ARP_LEN || rd16(p) != 1 || rd16(p + 2) != MPS_ETHERTYPE_IPV4 ||
	    p[4] != 6 || p[5] != 4)
		return MPS_FRAME_MALFORMED;
	fi->arp_op = rd16(p + 6);
	if (fi->arp_op != MPS_ARP_REQUEST && fi->arp_op != MPS_ARP_REPLY)
		return MPS_FRAME_MALFORMED;
	fi->drop_reason = MPS_DROP_NONE;
	memcpy(fi->arp_sha, p + 8, 6);
	fi->arp_spa = rd32_raw(p + 14);
	memcpy(fi->arp_tha, p + 18, 6);
	fi->arp_tpa = rd32_raw(p + 24);
	return MPS_FRAME_ARP;
}

/* TCP/UDP ports and TCP flags, as far as the frame holds them (l4 points
 * past the IPv4 header, len bytes of the frame follow it). */
static void
parse_l4(const uint8_t *l4, uint32_t len, struct mps_frame_info *fi)
{
	if (fi->ip_proto != MPS_IPPROTO_TCP && fi->ip_proto != MPS_IPPROTO_UDP)
		return;
	fi->l4_len = (uint16_t)(len > UINT16_MAX ? UINT16_MAX : len);
	if (len >= 4) {
		fi->sport = rd16(l4);
		fi->dport = rd16(l4 + 2);
	}
	if (fi->ip_proto == MPS_IPPROTO_TCP && len >= 14)
		fi->tcp_flags = l4[13];
}

/* Version, header length and total length must agree with the frame. */
static enum mps_frame_kind
parse_ipv4(const uint8_t *p, uint32_t len, struct mps_frame_info *fi)
{
	uint8_t ihl;

	fi->drop_reason = MPS_DROP_TRUNCATED;
	if (len < 20)
		return MPS_FRAME_MALFORMED;
	fi->drop_reason = MPS_DROP_BAD_IP_HDR;
	if ((p[0] >> 4) != 4)
		return MPS_FRAME_MALFORMED;
	ihl = (uint8_t)((p[0] & 0x0f) * 4);
	if (ihl < 20)
		return MPS_FRAME_MALFORMED;
	fi->ip_len = rd16(p + 2);
	if (fi->ip_len < ihl)
		return MPS_FRAME_MALFORMED;
	fi->drop_reason = MPS_DROP_TRUNCATED;
	if (ihl > len || fi->ip_len > len)
		return MPS_FRAME_MALFORMED;
	fi->drop_reason = MPS_DROP_NONE;
	fi->ip_hlen = ihl;
	fi->ip_proto = p[9];
	fi->ip_src = rd32_raw(p + 12);
	fi->ip_dst = rd32_raw(p + 16);
	parse_l4(p + ihl, len - ihl, fi);
	return MPS_FRAME_IPV4;
}

enum mps_frame_kind
mps_parse_frame(const uint8_t *data, uint32_t len, struct mps_frame_info *fi)
{
	memset(fi, 0, sizeof(*fi));
	if (data == NULL || len < MPS_ETH_HLEN) {
		fi->drop_reason = MPS_DROP_TRUNCATED;
		return fi->kind = MPS_FRAME_MALFORMED;
	}
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

/* ---- drop reasons and the policy check ---- */

#define IP_MF_OFFMASK 0x3fffu /* more-fragments flag + fragment offset */

static const char *const drop_reason_names[MPS_DROP_REASONS] = {
	[MPS_DROP_NONE] = "none",
	[MPS_DROP_TRUNCATED] = "truncated",
	[MPS_DROP_BAD_IP_HDR] = "bad_ip_hdr",
	[MPS_DROP_BAD_CSUM] = "bad_csum",
	[MPS_DROP_BAD_TCP] = "bad_tcp",
	[MPS_DROP_BAD_ARP] = "bad_arp",
	[MPS_DROP_IP_OPTIONS] = "ip_options",
	[MPS_DROP_FRAGMENT] = "fragment",
	[MPS_DROP_VLAN] = "vlan",
	[MPS_DROP_ETHERTYPE] = "ethertype",
};

const char *
mps_drop_reason_name(unsigned int reason)
{
	return reason < MPS_DROP_REASONS ? drop_reason_names[reason] : "?";
}

/* One's-complement sum of an IPv4 header; 0xffff when the checksum holds. */
static uint16_t
ip_hdr_sum(const uint8_t *p, uint32_t hlen)
{
	uint32_t sum = 0;

	for (uint32_t i = 0; i + 1 < hlen; i += 2)
		sum += rd16(p + i);
	while (sum >> 16)
		sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)sum;
}

/* TCP header inside the IPv4 payload: complete, sane offset and flags. */
static enum mps_drop_reason
check_tcp(const uint8_t *tcp, uint32_t tcp_len)
{
	uint32_t doff;
	uint8_t flags;

	if (tcp_len < 20)
		return MPS_DROP_TRUNCATED;
	doff = (uint32_t)(tcp[12] >> 4) * 4;
	flags = tcp[13];
	if (doff < 20 || doff > tcp_len)
		return MPS_DROP_BAD_TCP;
	if ((flags & MPS_TCP_SYN) && (flags & (MPS_TCP_FIN | MPS_TCP_RST)))
		return MPS_DROP_BAD_TCP;
	return MPS_DROP_NONE;
}

/* IPv4 that parsed: checksum, then what we do not serve, then TCP. */
static enum mps_drop_reason
check_ipv4(const uint8_t *ip, const struct mps_frame_info *fi)
{
	if (ip_hdr_sum(ip, fi->ip_hlen) != 0xffffu)
		return MPS_DROP_BAD_CSUM;
	if (fi->ip_hlen > 20)
		return MPS_DROP_IP_OPTIONS;
	if ((rd16(ip + 6) & IP_MF_OFFMASK) != 0)
		return MPS_DROP_FRAGMENT;
	if (fi->ip_proto == MPS_IPPROTO_TCP)
		return check_tcp(ip + fi->ip_hlen, (uint32_t)fi->ip_len - fi->ip_hlen);
	return MPS_DROP_NONE;
}

enum mps_drop_reason
mps_frame_check(const uint8_t *data, uint32_t len, struct mps_frame_info *fi)
{
	enum mps_drop_reason r = MPS_DROP_NONE;

	switch (fi->kind) {
	case MPS_FRAME_MALFORMED:
		r = fi->drop_reason != MPS_DROP_NONE ? fi->drop_reason :
						       MPS_DROP_TRUNCATED;
		break;
	case MPS_FRAME_IPV4:
		if (len >= MPS_ETH_HLEN + (uint32_t)fi->ip_len)
			r = check_ipv4(data + MPS_ETH_HLEN, fi);
		else
			r = MPS_DROP_TRUNCATED;
		break;
	case MPS_FRAME_OTHER:
		r = fi->ethertype == MPS_ETHERTYPE_VLAN || fi->ethertype == 0x88a8u ?
			    MPS_DROP_VLAN : MPS_DROP_ETHERTYPE;
		break;
	case MPS_FRAME_ARP:
		break;
	}
	fi->drop_reason = (uint8_t)r;
	return r;
}
