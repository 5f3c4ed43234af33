/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mps_parse.h - bounds-checked classification of a received Ethernet frame,
 * done before a frame reaches lwIP so that neighbours can be learned and
 * malformed frames counted. Plain C, no DPDK calls.
 */
#ifndef MPS_PARSE_H
#define MPS_PARSE_H

#include <stdint.h>

#define MPS_ETH_HLEN 14u
#define MPS_ETHERTYPE_IPV4 0x0800u
#define MPS_ETHERTYPE_ARP 0x0806u
#define MPS_ETHERTYPE_VLAN 0x8100u

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
	uint32_t arp_spa;    /* network byte order */
	uint32_t arp_tpa;
	/* IPv4 (kind == MPS_FRAME_IPV4) */
	uint32_t ip_src;     /* network byte order */
	uint32_t ip_dst;
	uint8_t ip_proto;
	uint8_t ip_hlen;     /* bytes */
	uint16_t ip_len;     /* total length from the header */
};

/* Classifies data[0..len). Never reads past len. Returns fi->kind. */
enum mps_frame_kind mps_parse_frame(const uint8_t *data, uint32_t len,
				    struct mps_frame_info *fi);

/* A source MAC worth learning: unicast, not all-zero. */
int mps_mac_is_unicast(const uint8_t mac[6]);

#endif /* MPS_PARSE_H */
