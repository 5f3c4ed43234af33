/* SPDX-License-Identifier: BSD-3-Clause
 *
 * netif.c - lwIP's netif on DPDK mbufs: init, input, output, flush.
 *
 * RX is zero-copy: each mbuf's private area holds a struct pbuf_custom whose
 * payload is the mbuf's data, and freeing the pbuf frees the mbuf. Before a
 * frame reaches lwIP it passes the VLAN rule (whatever path brought it:
 * see vlan_rx), is parsed once, with bounds checks, and checked;
 * the parse goes to neighbour learning (neigh_learn.c) and to steering
 * (steer.c), which may hand the frame to another worker. TX copies each
 * pbuf chain into one mbuf and batches it; the batch is flushed once per
 * loop iteration and what the NIC refuses stays for the next one.
 *
 * Checksums: lwIP neither checks TCP/UDP/IPv4-header checksums
 * nor computes the ones the ports offload. On RX the port's verdict is
 * trusted (BAD dropped, GOOD passed) and a frame it gave no verdict for is
 * verified here in software; the IPv4 header is checked by the frame
 * parser. On TX the mbuf asks the port for what lwIP left out.
 */
#include <errno.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

/* netinet/ip.h (via rte_ip.h) and lwIP both define these, identically. */
#undef IP_RF
#undef IP_DF
#undef IP_MF
#undef IP_OFFMASK

#include "lwip/etharp.h"
#include "lwip/ip4_addr.h"
#include "lwip/pbuf.h"
#include "netif/ethernet.h"

#include "cycles.h"
#include "exception.h"
#include "mirror.h"
#include "mps_csum.h"
#include "mps_log.h"
#include "mps_neigh.h"
#include "mps_parse.h"
#include "neigh_learn.h"
#include "netif.h"
#include "replace.h"
#include "steer.h"
#include "txseg.h"

_Static_assert(sizeof(struct pbuf_custom) <= MPS_MBUF_PRIV_SIZE,
	       "struct pbuf_custom does not fit the mbuf private area");

#define MPS_TX_CSUM_OFFLOADS (RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | \
			      RTE_ETH_TX_OFFLOAD_TCP_CKSUM | \
			      RTE_ETH_TX_OFFLOAD_UDP_CKSUM)

/* lwIP released the last reference to an RX pbuf: give the mbuf back. */
static void
mps_pbuf_free(struct pbuf *p)
{
	mps_worker()->stats->mbufs_held--;
	rte_pktmbuf_free(mps_pbuf_mbuf(p));
}

struct rte_mbuf *
mps_netif_rx_mbuf(struct pbuf *p)
{
	if (!(p->flags & PBUF_FLAG_IS_CUSTOM) ||
	    ((struct pbuf_custom *)p)->custom_free_function != mps_pbuf_free)
		return NULL;
	return mps_pbuf_mbuf(p);
}

/* Why this frame must not reach lwIP, if it must not: the parser's and the
 * policy's verdict, then the L4 checksum the port verified. */
static inline enum mps_drop_reason
frame_drop_reason(const struct rte_mbuf *m, const uint8_t *data, uint16_t len,
		  struct mps_frame_info *fi)
{
	if (mps_frame_check(data, len, fi) != MPS_DROP_NONE)
		return fi->drop_reason;
	if (unlikely((m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) ==
		     RTE_MBUF_F_RX_L4_CKSUM_BAD))
		fi->drop_reason = MPS_DROP_BAD_CSUM;
	return fi->drop_reason;
}

/* Counts a dropped frame under its reason and its group. */
static void
count_drop(struct mps_worker *w, uint8_t reason)
{
	if (reason < MPS_DROP_MALFORMED_END)
		w->stats->rx_drop_malformed++;
	else
		w->stats->rx_drop_unsupported++;
	if (reason < MPS_DROP_REASONS)
		w->stats->rx_drop_reason[reason]++;
}

/* The VLAN rule, one verdict for every path a frame takes (our queue, an
 * adopted queue, a peer's ring, our own ring): with --vlan only frames of
 * our VLAN pass, their tag stripped by the port or here; without it, only
 * frames the port did not untag (tags still on the frame reach the parser,
 * which drops them). The verdict travels with the mbuf: rte_vlan_strip
 * records the tag in vlan_tci and sets RTE_MBUF_F_RX_VLAN_STRIPPED as a
 * stripping port does, rings pass the mbuf and rte_pktmbuf_copy copies
 * both, so a frame already untagged is only compared again, never
 * stripped twice, and an untagged frame is never taken for an untagged-by-
 * us one. 0 to go on, -1 to drop (as "vlan"). */
static int
vlan_rx(struct mps_worker *w, struct rte_mbuf *m)
{
	uint16_t vid = w->shared->cfg.vlan_id;
	const struct rte_ether_hdr *eh;

	if (vid == 0)
		return (m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) ? -1 : 0;
	if (!(m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED)) {
		eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
		if (rte_pktmbuf_data_len(m) < sizeof(*eh) + sizeof(struct rte_vlan_hdr) ||
		    eh->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN) ||
		    rte_vlan_strip(m) != 0)
			return -1;
		w->stats->rx_vlan_sw++;
	}
	return (m->vlan_tci & RTE_VLAN_ID_MASK) == vid ? 0 : -1;
}

int
mps_netif_vlan_admit(struct mps_worker *w, struct rte_mbuf *m, int from_peer)
{
	if (likely(vlan_rx(w, m) == 0))
		return 0;
	if (mps_exc_rx_vlan(w, m, from_peer))
		return -1;
	count_drop(w, MPS_DROP_VLAN);
	rte_pktmbuf_free(m);
	return -1;
}

/* The TCP/UDP checksum lwIP no longer checks: the port's verdict
 * where it gave one (BAD is dropped before), else computed here. A frame
 * verified here is marked GOOD, so a worker it is steered to trusts it. */
static int
l4_csum_ok(struct mps_worker *w, struct rte_mbuf *m, const uint8_t *data,
	   const struct mps_frame_info *fi)
{
	const struct rte_ipv4_hdr *ip;
	const uint8_t *l4;
	uint64_t f = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;

	if (fi->kind != MPS_FRAME_IPV4 ||
	    (fi->ip_proto != IPPROTO_TCP && fi->ip_proto != IPPROTO_UDP) ||
	    f == RTE_MBUF_F_RX_L4_CKSUM_GOOD || f == RTE_MBUF_F_RX_L4_CKSUM_NONE)
		return 1;
	ip = (const struct rte_ipv4_hdr *)(data + RTE_ETHER_HDR_LEN);
	l4 = data + RTE_ETHER_HDR_LEN + fi->ip_hlen;
	w->stats->rx_csum_sw++;
	if (fi->ip_proto == IPPROTO_UDP) {
		if (fi->ip_len < fi->ip_hlen + sizeof(struct rte_udp_hdr))
			return 0;
		if (((const struct rte_udp_hdr *)l4)->dgram_cksum == 0)
			return 1; /* UDP without a checksum */
	}
	if (!mps_csum_ipv4_l4_ok(ip, l4))
		return 0;
	m->ol_flags = (m->ol_flags & ~RTE_MBUF_F_RX_L4_CKSUM_MASK) |
		      RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	return 1;
}

void
mps_netif_input(struct mps_worker *w, struct rte_mbuf *m, int from_peer)
{
	struct mps_frame_info fi;
	struct pbuf_custom *pc;
	struct pbuf *p;
	uint8_t *data;
	uint16_t len;

	if (unlikely(m->nb_segs != 1)) {
		w->stats->rx_drop_multiseg++;
		rte_pktmbuf_free(m);
		return;
	}
	if (unlikely(mps_netif_vlan_admit(w, m, from_peer) != 0)) /* whoever handed it */
		return;
	data = rte_pktmbuf_mtod(m, uint8_t *);
	len = rte_pktmbuf_data_len(m);
	mps_parse_frame(data, len, &fi);
	if (mps_exc_rx(w, &fi, m, from_peer)) /* the kernel's, not ours */
		return;
	if (unlikely(frame_drop_reason(m, data, len, &fi) != MPS_DROP_NONE)) {
		count_drop(w, fi.drop_reason);
		rte_pktmbuf_free(m);
		return;
	}
	if (unlikely(!l4_csum_ok(w, m, data, &fi))) {
		count_drop(w, MPS_DROP_BAD_CSUM);
		rte_pktmbuf_free(m);
		return;
	}
	mps_neigh_learn_rx(w, &fi, m, from_peer == MPS_RX_RING);
	if (mps_steer_rx(w, &fi, m, from_peer))
		return;

	MPS_CYC_PUSH(LWIP_IN);
	pc = rte_mbuf_to_priv(m);
	pc->custom_free_function = mps_pbuf_free;
	p = pbuf_alloced_custom(PBUF_RAW, len, PBUF_REF, pc, data, len);
	w->stats->mbufs_held++;
	if (w->netif.input(p, &w->netif) != ERR_OK) {
		w->stats->rx_drop_lwip++;
		pbuf_free(p);
	}
	MPS_CYC_POP();
}

/* nh's MAC from the shared table, or what this loop iteration already
 * read there for it: a MAC copied a few microseconds earlier is the one a
 * reply sent then would have carried. 1 if found. */
static int
next_hop_mac(struct mps_worker *w, uint32_t nh, struct eth_addr *mac)
{
	int hit;

	if (nh == 0)
		return 0;
	if (nh == w->tx_nh) {
		memcpy(mac->addr, w->tx_nh_mac, sizeof(w->tx_nh_mac));
		return 1;
	}
	MPS_CYC_PUSH(NEIGH);
	hit = mps_neigh_lookup(&w->learner.t, nh, w->now_ms, w->shared->cfg.neigh_ttl_s,
			       mac->addr) == 0;
	MPS_CYC_POP();
	if (hit) {
		w->tx_nh = nh;
		memcpy(w->tx_nh_mac, mac->addr, sizeof(w->tx_nh_mac));
	}
	return hit;
}

/* Next hop from the shared table first, then lwIP's own ARP (which asks
 * and queues). Broadcast and multicast go straight to etharp_output. */
static err_t
mps_netif_output(struct netif *netif, struct pbuf *p, const ip4_addr_t *dst)
{
	struct mps_worker *w = netif->state;
	uint32_t nh = ip4_addr_get_u32(dst);
	struct eth_addr mac;

	if (!ip4_addr_isbroadcast(dst, netif) && !ip4_addr_ismulticast(dst)) {
		if (!ip4_addr_netcmp(dst, netif_ip4_addr(netif),
				     netif_ip4_netmask(netif)))
			nh = w->shared->cfg.gateway;
		if (next_hop_mac(w, nh, &mac)) {
			w->stats->neigh_hit++;
			return ethernet_output(netif, p,
					       (const struct eth_addr *)netif->hwaddr,
					       &mac, ETHTYPE_IP);
		}
		w->stats->neigh_miss++;
	}
	return etharp_output(netif, p, dst);
}

/* Asks the port for the checksums lwIP left out: ol_flags, the
 * header lengths, and the pseudo-header sum the L4 checksum starts from. */
static void
tx_csum_offload(struct mps_worker *w, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	uint32_t len = rte_pktmbuf_data_len(m);
	uint64_t off = w->tx_offloads, fl = 0;
	struct rte_ipv4_hdr *ip;
	char *l4;

	if (!(off & MPS_TX_CSUM_OFFLOADS) ||
	    len < RTE_ETHER_HDR_LEN + sizeof(*ip) ||
	    eh->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
		return;
	ip = (struct rte_ipv4_hdr *)(eh + 1);
	m->l2_len = RTE_ETHER_HDR_LEN;
	m->l3_len = rte_ipv4_hdr_len(ip);
	l4 = (char *)ip + m->l3_len;
	if (off & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) {
		fl |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
		ip->hdr_checksum = 0;
	}
	if (ip->next_proto_id == IPPROTO_TCP && (off & RTE_ETH_TX_OFFLOAD_TCP_CKSUM) &&
	    len >= RTE_ETHER_HDR_LEN + m->l3_len + sizeof(struct rte_tcp_hdr)) {
		struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)l4;

		fl |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
		m->l4_len = (tcp->data_off >> 4) * 4;
		tcp->cksum = rte_ipv4_phdr_cksum(ip, fl);
	} else if (ip->next_proto_id == IPPROTO_UDP &&
		   (off & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) &&
		   len >= RTE_ETHER_HDR_LEN + m->l3_len + sizeof(struct rte_udp_hdr)) {
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)l4;

		fl |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM;
		m->l4_len = sizeof(*udp);
		udp->dgram_cksum = rte_ipv4_phdr_cksum(ip, fl);
	}
	if (fl == 0)
		return;
	m->ol_flags |= fl;
	w->stats->tx_csum_offload++;
}

/* Tags the frame with our VLAN: by the port where it inserts
 * tags, else here (rte_vlan_insert also grows l2_len). */
static int
vlan_tx(struct mps_worker *w, struct rte_mbuf **m)
{
	uint16_t vid = w->shared->cfg.vlan_id;

	if (vid == 0)
		return 0;
	(*m)->vlan_tci = vid;
	if (w->tx_offloads & RTE_ETH_TX_OFFLOAD_VLAN_INSERT) {
		(*m)->ol_flags |= RTE_MBUF_F_TX_VLAN;
		return 0;
	}
	if (rte_vlan_insert(m) != 0)
		return -ENOSPC;
	w->stats->tx_vlan_sw++;
	return 0;
}

/* The frame in one mbuf, copied. */
static struct rte_mbuf *
frame_copy(struct mps_worker *w, struct pbuf *p)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->pool);
	char *data;

	if (unlikely(m == NULL)) {
		w->stats->tx_drop_nombuf++;
		return NULL;
	}
	data = rte_pktmbuf_append(m, p->tot_len);
	if (unlikely(data == NULL)) {
		w->stats->tx_drop_toolong++;
		rte_pktmbuf_free(m);
		return NULL;
	}
	pbuf_copy_partial(p, data, p->tot_len, 0);
	return m;
}

/* Makes the frame an mbuf (a TCP segment's payload by reference, the
 * rest copied) and appends it to the TX batch. */
static err_t
linkoutput(struct mps_worker *w, struct pbuf *p)
{
	struct rte_mbuf *m;

	if (unlikely(p->tot_len > w->port_mtu + RTE_ETHER_HDR_LEN)) {
		/* The port would refuse it for ever (net_tap: > 1504). */
		w->stats->tx_drop_toolong++;
		return ERR_IF;
	}
	m = mps_txseg_frame(w, p);
	if (m != NULL)
		w->stats->tx_zero_copy++;
	else if ((m = frame_copy(w, p)) == NULL)
		return ERR_MEM;
	tx_csum_offload(w, m);
	if (unlikely(vlan_tx(w, &m) != 0)) {
		w->stats->tx_drop_toolong++;
		rte_pktmbuf_free(m);
		return ERR_IF;
	}
	if (unlikely(w->tx_n == MPS_TX_BATCH))
		mps_tx_flush(w);
	if (unlikely(w->tx_n == MPS_TX_BATCH)) {
		w->stats->tx_drop_full++;
		rte_pktmbuf_free(m);
		return ERR_MEM;
	}
	w->tx_batch[w->tx_n++] = m;
	if (mps_mirror_on(w))
		mps_mirror_burst(w, w->port_ids[0], &m, 1, 1);
	w->stats->tx_bytes += p->tot_len;
	return ERR_OK;
}

/* lwIP's linkoutput (its ARP sends through it too). */
static err_t
mps_linkoutput(struct netif *netif, struct pbuf *p)
{
	struct mps_worker *w = netif->state;
	err_t ret;

	MPS_CYC_PUSH(LWIP_OUT);
	ret = linkoutput(w, p);
	MPS_CYC_POP();
	return ret;
}

int
mps_netif_tx_frame(struct mps_worker *w, struct rte_mbuf *m)
{
	uint32_t len = rte_pktmbuf_pkt_len(m);

	if (unlikely(m->nb_segs != 1 ||
		     len > (uint32_t)w->port_mtu + RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN)) {
		w->stats->tx_drop_toolong++;
		rte_pktmbuf_free(m);
		return -1;
	}
	if (unlikely(w->tx_n == MPS_TX_BATCH))
		mps_tx_flush(w);
	if (unlikely(w->tx_n == MPS_TX_BATCH)) {
		w->stats->tx_drop_full++;
		rte_pktmbuf_free(m);
		return -1;
	}
	w->tx_batch[w->tx_n++] = m;
	if (mps_mirror_on(w))
		mps_mirror_burst(w, w->port_ids[0], &m, 1, 1);
	w->stats->tx_bytes += len;
	return 0;
}

void
mps_tx_flush(struct mps_worker *w)
{
	uint16_t sent;

	if (w->tx_n == 0)
		return;
	if (unlikely(w->draining)) { /* our successor transmits */
		mps_replace_tx(w);
		return;
	}
	MPS_CYC_PUSH(DRV_TX);
	sent = rte_eth_tx_burst(w->port_ids[0], w->id, w->tx_batch, w->tx_n);
	w->stats->tx_pkts += sent;
	if (sent < w->tx_n)
		w->stats->tx_retries++;
	mps_netif_tx_consumed(w, sent);
	MPS_CYC_POP();
}

void
mps_netif_tx_consumed(struct mps_worker *w, uint16_t sent)
{
	/* Keep the rest, in order, for the next iteration. */
	if (sent < w->tx_n)
		memmove(w->tx_batch, w->tx_batch + sent,
			(size_t)(w->tx_n - sent) * sizeof(w->tx_batch[0]));
	w->tx_n = (uint16_t)(w->tx_n - sent);
}

int
mps_netif_tx_append(struct mps_worker *w, struct rte_mbuf *m)
{
	if (unlikely(w->tx_n == MPS_TX_BATCH))
		mps_tx_flush(w);
	if (unlikely(w->tx_n == MPS_TX_BATCH)) {
		rte_pktmbuf_free(m);
		return -ENOBUFS;
	}
	w->tx_batch[w->tx_n++] = m;
	return 0;
}

void
mps_tx_drop_all(struct mps_worker *w)
{
	rte_pktmbuf_free_bulk(w->tx_batch, w->tx_n);
	w->tx_n = 0;
}

uint16_t
mps_netif_tx_queued(const struct mps_worker *w)
{
	return w->tx_n;
}

uint16_t
mps_netif_tx_since(const struct mps_worker *w, uint16_t mark,
		   struct rte_mbuf *const **frames)
{
	if (mark >= w->tx_n)
		return 0;
	*frames = &w->tx_batch[mark];
	return (uint16_t)(w->tx_n - mark);
}

/* lwIP checks no TCP/UDP/IPv4-header checksum (mps_netif_input
 * and the frame parser do) and computes none the ports fill in; ICMP stays
 * lwIP's. */
static void
netif_checksums(const struct mps_worker *w, struct netif *netif)
{
	u16_t flags = NETIF_CHECKSUM_ENABLE_ALL &
		      ~(NETIF_CHECKSUM_CHECK_IP | NETIF_CHECKSUM_CHECK_TCP |
			NETIF_CHECKSUM_CHECK_UDP);

	if (w->tx_offloads & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM)
		flags &= (u16_t)~NETIF_CHECKSUM_GEN_IP;
	if (w->tx_offloads & RTE_ETH_TX_OFFLOAD_TCP_CKSUM)
		flags &= (u16_t)~NETIF_CHECKSUM_GEN_TCP;
	if (w->tx_offloads & RTE_ETH_TX_OFFLOAD_UDP_CKSUM)
		flags &= (u16_t)~NETIF_CHECKSUM_GEN_UDP;
	NETIF_SET_CHECKSUM_CTRL(netif, flags);
}

/* lwIP's netif init callback: MAC of the first port, MTU, our outputs. */
static err_t
netif_setup(struct netif *netif)
{
	struct mps_worker *w = netif->state;
	struct rte_ether_addr mac;

	if (rte_eth_macaddr_get(w->port_ids[0], &mac) != 0)
		return ERR_IF;
	memcpy(netif->hwaddr, mac.addr_bytes, ETH_HWADDR_LEN);
	netif->hwaddr_len = ETH_HWADDR_LEN;
	netif->mtu = w->shared->cfg.mtu;
	netif->name[0] = 'd';
	netif->name[1] = 'p';
	netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP |
		       NETIF_FLAG_ETHERNET | NETIF_FLAG_LINK_UP;
	netif->output = mps_netif_output;
	netif->linkoutput = mps_linkoutput;
	netif_checksums(w, netif);
	return ERR_OK;
}

void
mps_netif_release(struct mps_worker *w)
{
	etharp_cleanup_netif(&w->netif);
}

int
mps_netif_init(struct mps_worker *w)
{
	const struct mps_config *cfg = &w->shared->cfg;
	ip4_addr_t ip, mask, gw;

	w->port_mtu = w->shared->tx_mtu;
	if (w->port_mtu < cfg->mtu)
		MPS_LOG(WARNING, "worker %u: ports send at most MTU %u: TCP segments sized for it, --mtu %u only for receiving",
			w->id, w->port_mtu, cfg->mtu);
	ip4_addr_set_u32(&ip, cfg->ip);
	ip4_addr_set_u32(&mask, cfg->netmask);
	ip4_addr_set_u32(&gw, cfg->gateway);
	if (netif_add(&w->netif, &ip, &mask, &gw, w, netif_setup,
		      ethernet_input) == NULL)
		return -ENODEV;
	mps_txseg_init(w);
	netif_set_default(&w->netif);
	netif_set_link_up(&w->netif);
	netif_set_up(&w->netif);
	return 0;
}
