/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mps_parse.h - bounds-checked classification of a received frame, once,
 * before lwIP sees it.
 *
 * So that neighbours can be learned and malformed frames counted. Plain C,
 * no DPDK calls.
 */
#ifndef MPS_PARSE_H
#define MPS_PARSE_H

#include <stdint.h>

#define MPS_ETH_HLEN 14u
#define MPS_ETHERTYPE_IPV4 0x0800u
#define MPS_ETHERTYPE_ARP 0x0806u
#define MPS_ETHERTYPE_VLAN 0x8100u
#define MPS_IPPROTO_TCP 6u
#define MPS_IPPROTO_UDP 17u

/* TCP header flags (byte 13 of the TCP header). */
#define MPS_TCP_FIN 0x01u
#define MPS_TCP_SYN 0x02u
#define MPS_TCP_RST 0x04u
#define MPS_TCP_PSH 0x08u
#define MPS_TCP_ACK 0x10u

enum mps_frame_kind {
	MPS_FRAME_MALFORMED = 0, /* drop, count as malformed */
	MPS_FRAME_ARP,
	MPS_FRAME_IPV4,
	MPS_FRAME_OTHER, /* well-formed but not ours to parse (lwIP decides) */
};

enum mps_arp_op { MPS_ARP_REQUEST = 1, MPS_ARP_REPLY = 2 };

struct mps_frame_info {
	enum mps_frame_kind kind;
	uint8_t src_mac[6];  /* Ethernet source */
	uint8_t dst_mac[6];
	uint16_t ethertype;
	/* ARP (kind == MPS_FRAME_ARP) */
	uint16_t arp_op;
	uint8_t arp_sha[6];
	uint8_t arp_tha[6];
	uint32_t arp_spa;    /* network byte order */
	uint32_t arp_tpa;
	/* IPv4 (kind == MPS_FRAME_IPV4) */
	uint32_t ip_src;     /* network byte order */
	uint32_t ip_dst;
	uint8_t ip_proto;
	uint8_t ip_hlen;     /* bytes */
	uint16_t ip_len;     /* total length from the header */
	/* TCP/UDP (ip_proto 6 or 17): what of the L4 header the frame holds.
	 * Bounded by the frame, not by ip_len; read them through
	 * mps_frame_has_ports / mps_frame_has_tcp_flags. */
	uint16_t l4_len;     /* frame bytes after the IPv4 header (capped) */
	uint16_t sport;      /* host byte order; 0 unless l4_len >= 4 */
	uint16_t dport;
	uint8_t tcp_flags;   /* TCP only; 0 unless l4_len >= 14 */
	/* Why a frame is dropped (enum mps_drop_reason), set by
	 * mps_parse_frame for MALFORMED and by mps_frame_check otherwise. */
	uint8_t drop_reason;
};

/* Classifies data[0..len). Never reads past len. Returns fi->kind. */
enum mps_frame_kind mps_parse_frame(const uint8_t *data, uint32_t len,
				    struct mps_frame_info *fi);

/* 1 if fi is a TCP or UDP datagram whose frame holds both ports. */
static inline int
mps_frame_has_ports(const struct mps_frame_info *fi)
{
	return fi->kind == MPS_FRAME_IPV4 &&
	       (fi->ip_proto == MPS_IPPROTO_TCP || fi->ip_proto == MPS_IPPROTO_UDP) &&
	       fi->l4_len >= 4;
}

/* 1 if fi is a TCP segment whose frame holds its flags byte. */
static inline int
mps_frame_has_tcp_flags(const struct mps_frame_info *fi)
{
	return fi->kind == MPS_FRAME_IPV4 && fi->ip_proto == MPS_IPPROTO_TCP &&
	       fi->l4_len >= 14;
}

/* A source MAC worth learning: unicast, not all-zero. */
int mps_mac_is_unicast(const uint8_t mac[6]);

/* ---- drop reasons, one counter each (rx_drop_<name>) ---- */

/* Why a received frame never reached lwIP. The first group is malformed
 * (counted in rx_drop_malformed too), the second well-formed but not served
 * (counted in rx_drop_unsupported). Append only: the values index the
 * shared rx_drop_reason[] counters. */
enum mps_drop_reason {
	MPS_DROP_NONE = 0,
	MPS_DROP_TRUNCATED,   /* shorter than its own headers say */
	MPS_DROP_BAD_IP_HDR,  /* IPv4 version, IHL or total length wrong */
	MPS_DROP_BAD_CSUM,    /* IPv4 header checksum, or L4 as the NIC flagged */
	MPS_DROP_BAD_TCP,     /* TCP data offset, impossible flag combinations */
	MPS_DROP_BAD_ARP,     /* not Ethernet/IPv4 ARP, unknown opcode */
	MPS_DROP_MALFORMED_END, /* marker: reasons below are "unsupported" */
	MPS_DROP_IP_OPTIONS = MPS_DROP_MALFORMED_END, /* IPv4 options */
	MPS_DROP_FRAGMENT,    /* IPv4 fragment (no reassembly) */
	MPS_DROP_VLAN,        /* 802.1Q/802.1ad tag still on the frame */
	MPS_DROP_ETHERTYPE,   /* neither IPv4 nor ARP */
	MPS_DROP_REASONS,
};

/* Stable name of a reason ("truncated", "bad_csum", ...), for counters. */
const char *mps_drop_reason_name(unsigned int reason);

/* The policy on a frame mps_parse_frame accepted (ARP, IPV4, OTHER): what
 * the stack does not serve (options, fragments, VLAN, other ethertypes) and
 * what lwIP would drop silently (IPv4 header checksum, TCP header). Never
 * reads past len. Returns MPS_DROP_NONE or the reason (also in fi). */
enum mps_drop_reason mps_frame_check(const uint8_t *data, uint32_t len,
				     struct mps_frame_info *fi);

#endif /* MPS_PARSE_H */
