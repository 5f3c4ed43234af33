/* SPDX-License-Identifier: BSD-3-Clause
 *
 * txseg.c - lwIP's TCP data segments in pool mbufs, sent without a copy.
 *
 * lwIP builds each data segment in one buffer (LWIP_NETIF_TX_SINGLE_PBUF)
 * and keeps it until the peer acknowledges it. That allocation goes
 * through our hook (LWIP_HOOK_TCP_SEG_ALLOC; secondary/lwip/patches):
 * the buffer is a pool mbuf and the pbuf lives in its private area, as on
 * RX. Each time the segment is sent, the frame is a new mbuf holding a
 * copy of the headers (lwIP rewrites them for every transmission) chained
 * to an indirect mbuf on the payload (which lwIP never changes once it
 * was sent). Whoever frees the frame (the NIC, a successor worker) drops
 * that reference in its own process: no external buffer, no per-process
 * callback. The segment's mbuf goes back to the pool when lwIP and every
 * frame are done with it.
 *
 * Segments that start short (a response header, an echo) are copied into
 * the frame: a header-and-reference pair costs more than copying them.
 * Their buffers come from a pool of our own (an lwIP private pool, fixed
 * size, O(1)) while it lasts: lwIP's heap is first fit, and the block
 * after each allocation at its lowest free address is found by walking
 * every block still in use behind it, one segment per connection in
 * flight. Segments beyond MPS_TX_SEG_HELD per worker, those too large for
 * the short pool, those the pool has no room for and all long ones on
 * ports that do not send chained mbufs come from lwIP's heap (the memory
 * budget, api/budget.c, counts only that heap; the pool is bounded by
 * itself).
 */
#include <string.h>

#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "lwip/memp.h"
#include "lwip/pbuf.h"

#include "netif.h"
#include "txseg.h"

/* A short segment's buffer: the pbuf, then room for a segment of an
 * Ethernet MSS with its headers (lwIP asks for a full one, to append to). */
#define TX_SHORT_BUFS 4096u
#define TX_SHORT_SIZE 2048u
struct tx_short {
	struct pbuf_custom pc;
	uint8_t data[TX_SHORT_SIZE - sizeof(struct pbuf_custom)];
};
LWIP_MEMPOOL_DECLARE(MPS_TX_SHORT, TX_SHORT_BUFS, sizeof(struct tx_short),
		     "short TCP segments")

static void
short_free(struct pbuf *p)
{
	LWIP_MEMPOOL_FREE(MPS_TX_SHORT, p);
}

/* A pbuf like pbuf_alloc(layer, alloc, PBUF_RAM)'s from the short pool,
 * or NULL. */
static struct pbuf *
short_alloc(pbuf_layer layer, unsigned short alloc)
{
	struct tx_short *b;

	/* pbuf_layer's values are the headers' room (a jumbo MSS: no fit) */
	if (LWIP_MEM_ALIGN_SIZE((size_t)layer) + alloc > sizeof(b->data) ||
	    (b = LWIP_MEMPOOL_ALLOC(MPS_TX_SHORT)) == NULL)
		return NULL;
	b->pc.custom_free_function = short_free;
	return pbuf_alloced_custom(layer, alloc, PBUF_RAM, &b->pc, b->data, sizeof(b->data));
}

/* lwIP released a segment: its mbuf goes back once no frame holds it. */
static void
txseg_free(struct pbuf *p)
{
	mps_worker()->stats->tx_seg_held--;
	rte_pktmbuf_free(mps_pbuf_mbuf(p));
}

void
mps_txseg_init(struct mps_worker *w)
{
	static int pool_ready;

	w->txseg_on = (w->tx_offloads & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0;
	if (!pool_ready) {
		LWIP_MEMPOOL_INIT(MPS_TX_SHORT);
		pool_ready = 1;
	}
}

/* LWIP_HOOK_TCP_SEG_ALLOC: what pbuf_alloc(layer, alloc, PBUF_RAM) gives,
 * in an mbuf when it may be; length is what the segment holds for now. */
struct pbuf *
mps_tcp_seg_alloc(int layer, unsigned short length, unsigned short alloc)
{
	struct mps_worker *w = mps_worker();
	struct rte_mbuf *m;

	if (w->txseg_on && length >= MPS_TX_ZC_MIN && w->stats->tx_seg_held < MPS_TX_SEG_HELD &&
	    (m = rte_pktmbuf_alloc(w->pool)) != NULL) {
		struct pbuf_custom *pc = rte_mbuf_to_priv(m);
		struct pbuf *p;

		pc->custom_free_function = txseg_free;
		p = pbuf_alloced_custom((pbuf_layer)layer, alloc, PBUF_RAM, pc,
					m->buf_addr, m->buf_len);
		if (p != NULL) {
			w->stats->tx_seg_held++;
			return p;
		}
		rte_pktmbuf_free(m); /* larger than an mbuf */
	}
	if (length < MPS_TX_ZC_MIN) {
		struct pbuf *p = short_alloc((pbuf_layer)layer, alloc);

		if (p != NULL)
			return p;
	}
	return pbuf_alloc((pbuf_layer)layer, alloc, PBUF_RAM);
}

/* Length of the Ethernet, IPv4 and TCP headers of lwIP's frame, or 0. */
static uint32_t
headers_len(const uint8_t *f, uint32_t len)
{
	const struct rte_ether_hdr *eh = (const struct rte_ether_hdr *)f;
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eh + 1);
	uint32_t l3;

	if (len < sizeof(*eh) + sizeof(*ip) + sizeof(struct rte_tcp_hdr) ||
	    eh->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    ip->next_proto_id != IPPROTO_TCP)
		return 0;
	l3 = sizeof(*eh) + rte_ipv4_hdr_len(ip);
	if (len < l3 + sizeof(struct rte_tcp_hdr))
		return 0;
	l3 += (uint32_t)(((const struct rte_tcp_hdr *)(f + l3))->data_off >> 4) * 4;
	return l3 <= len ? l3 : 0;
}

struct rte_mbuf *
mps_txseg_frame(struct mps_worker *w, struct pbuf *p)
{
	struct rte_mbuf *m[2], *seg;
	uint32_t hlen;

	if (p->next != NULL || !(p->flags & PBUF_FLAG_IS_CUSTOM) ||
	    ((struct pbuf_custom *)p)->custom_free_function != txseg_free)
		return NULL;
	hlen = headers_len(p->payload, p->len);
	if (hlen == 0 || p->len - hlen < MPS_TX_ZC_MIN ||
	    rte_pktmbuf_alloc_bulk(w->pool, m, 2) != 0)
		return NULL;
	seg = mps_pbuf_mbuf(p);
	memcpy(rte_pktmbuf_append(m[0], (uint16_t)hlen), p->payload, hlen);
	rte_pktmbuf_attach(m[1], seg);
	m[1]->data_off = (uint16_t)((const char *)p->payload + hlen - (char *)seg->buf_addr);
	m[1]->data_len = (uint16_t)(p->len - hlen);
	m[1]->pkt_len = m[1]->data_len;
	m[0]->next = m[1];
	m[0]->nb_segs = 2;
	m[0]->pkt_len += m[1]->pkt_len;
	return m[0];
}
