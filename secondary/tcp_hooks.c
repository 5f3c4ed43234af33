/* SPDX-License-Identifier: BSD-3-Clause
 *
 * tcp_hooks.c - lwIP's TCP hooks for a worker (wired in lwipopts.h).
 *
 * RFC 6528 ISNs, TIME_WAIT ended as Linux does, the connection limits
 * applied to a SYN before lwIP takes it, and the worker-wide out-of-order
 * limit; and whether lwIP holds a connection (for steer.c).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

/* netinet/ip.h (via DPDK) and lwIP both define these, identically. */
#undef IP_RF
#undef IP_DF
#undef IP_MF
#undef IP_OFFMASK

#include "lwip/ip.h"
#include "lwip/ip4_addr.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/tcp.h"

#include "api/limits.h"
#include "mps_isn.h"
#include "netif.h"
#include "pcb_cache.h"
#include "tcp_hooks.h"
#include "worker.h"

/* TIME_WAITs cut short (below), remembered until the 4-tuple's next ISN is
 * drawn: the new connection must start above what the old one sent. */
#define TW_MEMORY 64u
static struct tw_ended {
	uint32_t remote_ip;
	uint16_t remote_port, local_port;
	uint32_t snd_nxt;
} tw_ended[TW_MEMORY];
static unsigned int tw_next;
/* The stack's secret (struct mps_shared), copied: read once per ISN. */
static uint8_t isn_secret[MPS_ISN_SECRET_LEN];
static uint64_t isn_tick_cycles; /* TSC cycles per 4 us tick of M */

int
mps_tcp_hooks_init(const struct mps_shared *sh)
{
	static const uint8_t zero[MPS_ISN_SECRET_LEN];

	/* all zeros: a primary that never drew it (the layout check passed) */
	if (memcmp(sh->isn_secret, zero, sizeof(zero)) == 0)
		return -EINVAL;
	memcpy(isn_secret, sh->isn_secret, sizeof(isn_secret));
	isn_tick_cycles = rte_get_tsc_hz() / MPS_ISN_CLOCK_HZ;
	if (isn_tick_cycles == 0)
		isn_tick_cycles = 1;
	return 0;
}

/* lwIP's TCP_OOSEQ_PBUFS_LIMIT hook: no out-of-order queueing
 * while this worker holds its budget of RX mbufs. */
unsigned short
mps_ooseq_pbufs_limit(void)
{
	struct mps_worker *w = mps_worker();

	if (w->stats == NULL || w->stats->mbufs_held < MPS_RX_HELD_HARD)
		return TCP_OOSEQ_MAX_PBUFS;
	w->stats->rx_ooseq_capped++;
	return 0;
}

static void
tw_remember(const struct tcp_pcb *pcb)
{
	tw_ended[tw_next++ % TW_MEMORY] = (struct tw_ended){
		.remote_ip = ip4_addr_get_u32(&pcb->remote_ip),
		.remote_port = pcb->remote_port,
		.local_port = pcb->local_port,
		.snd_nxt = pcb->snd_nxt,
	};
}

/* lwIP's LWIP_HOOK_TCP_ISN (see lwipopts.h): RFC 6528 (common/mps_isn.c:
 * a 4 us clock plus SipHash-2-4 of the 4-tuple under the stack's secret),
 * raised above a cut-short TIME_WAIT's snd_nxt. The TSC is the clock: the
 * same in every worker, so a restarted worker's ISNs follow on. */
unsigned int
mps_tcp_isn(const struct ip4_addr *local_ip, unsigned short local_port,
	    const struct ip4_addr *remote_ip, unsigned short remote_port)
{
	uint32_t isn = mps_isn(isn_secret, ip4_addr_get_u32(local_ip), local_port,
			       ip4_addr_get_u32(remote_ip), remote_port,
			       (uint32_t)(rte_get_tsc_cycles() / isn_tick_cycles));

	for (unsigned int i = 0; i < TW_MEMORY; i++) {
		struct tw_ended *e = &tw_ended[i];

		if (e->remote_port != remote_port || e->local_port != local_port ||
		    e->remote_ip != ip4_addr_get_u32(remote_ip))
			continue;
		if (TCP_SEQ_LT(isn, e->snd_nxt + 65537u))
			isn = e->snd_nxt + 65537u;
		e->remote_port = 0;
	}
	return isn;
}

/* Ends pcb's TIME_WAIT for a new connection on its 4-tuple. */
static signed char
tw_end(struct mps_worker *w, struct tcp_pcb *pcb)
{
	tw_remember(pcb);
	tcp_abort(pcb);
	w->stats->tcp_tw_reused++;
	return ERR_ABRT;
}

/* A SYN to listener lpcb, before lwIP allocates a PCB for it: the worker's
 * and the source's connection limits (api/limits.c). Over the source's
 * limit the SYN is answered with a RST (the client sees ECONNREFUSED at
 * once); with the worker full and nothing idle to make room it is dropped
 * as Linux drops a SYN its accept queue has no room for (the client
 * retries). Both counted there. */
static signed char
listen_syn(struct tcp_pcb *lpcb, struct tcp_hdr *hdr)
{
	const struct tcp_pcb_listen *l = (const struct tcp_pcb_listen *)lpcb;

	switch (mps_limits_syn(ip4_addr_get_u32(ip_2_ip4(ip_current_src_addr())),
			       l->accepts_pending)) {
	case MPS_SYN_PASS:
		return ERR_OK;
	case MPS_SYN_RST:
		/* lwIP made the header host order already */
		tcp_rst(lpcb, 0, hdr->seqno + 1, ip_current_dest_addr(),
			ip_current_src_addr(), hdr->dest, hdr->src);
		return ERR_RST;
	default:
		return ERR_ABRT;
	}
}

/* lwIP's LWIP_HOOK_TCP_INPACKET_PCB (see lwipopts.h), for every segment
 * that matched a pcb: SYNs to our listeners meet the connection limits
 * (above). lwIP's TIME_WAIT ignores RSTs (RFC 1337) and answers
 * a SYN on the same 4-tuple with an ACK for the old connection: a client
 * reusing its port then hangs for the whole TIME_WAIT. Like Linux (whose
 * default does not follow RFC 1337):
 * - a RST at rcv_nxt (the client's answer to that ACK) ends the TIME_WAIT,
 *   and the client's next SYN finds the listener;
 * - a SYN above rcv_nxt ends it at once: the frame goes back on this
 *   worker's own ring, to be read again next iteration.
 * lwIP returns right after the hook on this path (dropping its copy), so
 * freeing the pcb here is safe; tcp_abort sends nothing for a TIME_WAIT pcb. */
signed char
mps_tcp_inpacket_hook(struct tcp_pcb *pcb, struct tcp_hdr *hdr, struct pbuf *p)
{
	struct mps_worker *w = mps_worker();
	uint8_t flags = TCPH_FLAGS(hdr);
	uint32_t seqno = hdr->seqno; /* lwIP made it host order already */
	struct rte_mbuf *m, *copy;
	struct tcp_hdr *th;

	if (unlikely(pcb->state == LISTEN)) {
		/* only a bare SYN makes a PCB; lwIP answers the rest */
		if ((flags & (TCP_SYN | TCP_ACK | TCP_RST)) != TCP_SYN)
			return ERR_OK;
		return listen_syn(pcb, hdr);
	}
	if (likely(pcb->state != TIME_WAIT))
		return ERR_OK;
	if ((flags & TCP_RST) && seqno == pcb->rcv_nxt)
		return tw_end(w, pcb);
	if ((flags & (TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN)) != TCP_SYN ||
	    !TCP_SEQ_GT(seqno, pcb->rcv_nxt) ||
	    (m = mps_netif_rx_mbuf(p)) == NULL)
		return ERR_OK;
	copy = rte_pktmbuf_copy(m, w->pool, 0, UINT32_MAX);
	if (copy == NULL)
		return ERR_OK;
	/* tcp_input turned these header fields to host order in place. */
	th = rte_pktmbuf_mtod_offset(copy, struct tcp_hdr *,
				     (uint8_t *)hdr - rte_pktmbuf_mtod(m, uint8_t *));
	th->src = lwip_htons(th->src);
	th->dest = lwip_htons(th->dest);
	th->seqno = lwip_htonl(th->seqno);
	th->ackno = lwip_htonl(th->ackno);
	th->wnd = lwip_htons(th->wnd);
	if (rte_ring_mp_enqueue(w->rings[w->id], copy) != 0) {
		rte_pktmbuf_free(copy);
		return ERR_OK;
	}
	return tw_end(w, pcb);
}

int
mps_tcp_has_pcb(uint32_t local_ip, uint16_t local_port, uint32_t remote_ip,
		uint16_t remote_port)
{
	return mps_pcb_cache_has(local_ip, local_port, remote_ip, remote_port);
}
