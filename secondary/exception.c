/* SPDX-License-Identifier: BSD-3-Clause
 *
 * exception.c - the worker's side of the kernel exception path: what the
 * stack does not serve goes to the primary, which writes it to the kernel's
 * interface; what the kernel sends there comes back to be transmitted.
 *
 * The decision is made here, once, on the frame netif.c parsed, and counted
 * by reason (exc_ip, exc_arp, exc_arp_copy, exc_ethertype, exc_vlan):
 * - IPv4 to any address but the stack's (unicast, broadcast, multicast):
 *   moved to the kernel. Frames for the stack's address never go there.
 * - ARP whose target is not the stack's address: moved, unless it is a
 *   broadcast or a gratuitous ARP, which both get (the stack learns from
 *   it, the kernel gets a copy).
 * - Every other ethertype (IPv6, LLDP, ...) and frames the VLAN rule
 *   refuses: moved, with their VLAN tag as it was on the wire (put back if
 *   the port or the VLAN rule had stripped it).
 * Malformed frames stay drops. Frames from a ring were decided by the
 * worker that first received them (an ARP copy is never sent twice).
 *
 * Each worker has its own single-producer ring to the primary and its own
 * single-consumer ring from it; it uses them only once the primary has
 * emptied and reset them for this process (ready_pid), so a predecessor that
 * died inside an enqueue cannot wedge them (and a worker that drains after
 * --replace, its slot handed to its successor, leaves them alone). The
 * rate limit is shared by
 * every worker: one compare-and-swap of a GCRA word per frame (lock-free,
 * so a worker killed in it leaves it sound). When the primary sleeps, a
 * worker that gave it frames writes its eventfd: in that loop iteration,
 * or (if it wrote it less than MPS_EXC_KICK_US ago) in the first one after.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "attach.h"
#include "exception.h"
#include "mps_log.h"
#include "netif.h"

#define EXC_MP_TIMEOUT_S 5

int
mps_exc_init(struct mps_worker *w)
{
	const struct mps_shared *sh = w->shared;
	char name[RTE_RING_NAMESIZE];
	uint64_t one = 1;

	w->exc_efd = -1;
	if (sh->cfg.exc_iface[0] == '\0')
		return 0;
	snprintf(name, sizeof(name), MPS_EXC_RING_FMT, w->id);
	w->exc_ring = rte_ring_lookup(name);
	snprintf(name, sizeof(name), MPS_EXC_TX_RING_FMT, w->id);
	w->exc_tx_ring = rte_ring_lookup(name);
	if (w->exc_ring == NULL || w->exc_tx_ring == NULL) {
		w->exc_ring = w->exc_tx_ring = NULL;
		return -ENOENT;
	}
	w->exc_pid = getpid();
	w->exc_interval = sh->tsc_hz / sh->cfg.exc_rate;
	w->exc_tolerance = sh->tsc_hz / 1000 * MPS_EXC_BURST_MS;
	w->exc_kick_cycles = sh->tsc_hz / 1000000 * MPS_EXC_KICK_US;
	w->exc_efd = mps_primary_fd(MPS_EXC_MP_NAME, NULL, 0, EXC_MP_TIMEOUT_S);
	if (w->exc_efd < 0)
		MPS_LOG(WARNING, "worker %u: no eventfd from the primary: it takes our kernel-path frames within %u ms",
			w->id, MPS_EXC_POLL_MS);
	else if (write(w->exc_efd, &one, sizeof(one)) < 0) /* reset our rings now */
		MPS_LOG(DEBUG, "worker %u: eventfd write: %s", w->id, strerror(errno));
	return 0;
}

static inline int
ready(struct mps_worker *w)
{
	if (likely(w->exc_ready))
		return 1;
	w->exc_ready = __atomic_load_n(&w->shared->exc.ready_pid[w->id],
				       __ATOMIC_ACQUIRE) == w->exc_pid;
	return w->exc_ready;
}

/* Hands m (ours) to the primary, its VLAN tag as on the wire, within the
 * shared rate; counts and frees what does not pass. */
static void
to_kernel(struct mps_worker *w, struct rte_mbuf *m)
{
	if (!ready(w)) {
		w->stats->exc_drop_full++;
		rte_pktmbuf_free(m);
		return;
	}
	if (!mps_gcra_take(&w->shared->exc.rx_tat, rte_get_tsc_cycles(),
			   w->exc_interval, w->exc_tolerance)) {
		w->stats->exc_drop_rate++;
		rte_pktmbuf_free(m);
		return;
	}
	if (((m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) && rte_vlan_insert(&m) != 0) ||
	    rte_ring_sp_enqueue(w->exc_ring, m) != 0) {
		w->stats->exc_drop_full++;
		rte_pktmbuf_free(m);
		return;
	}
	w->exc_pending = 1;
}

/* A copy of m for the kernel; the stack keeps m. */
static void
copy_to_kernel(struct mps_worker *w, struct rte_mbuf *m)
{
	struct rte_mbuf *c = rte_pktmbuf_copy(m, w->pool, 0, UINT32_MAX);

	if (c == NULL) {
		w->stats->exc_drop_full++;
		return;
	}
	to_kernel(w, c);
}

static inline int
is_broadcast(const uint8_t mac[6])
{
	static const uint8_t bc[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	return memcmp(mac, bc, 6) == 0;
}

int
mps_exc_rx(struct mps_worker *w, const struct mps_frame_info *fi,
	   struct rte_mbuf *m, int from_peer)
{
	uint32_t ours = w->shared->cfg.ip;

	if (w->exc_ring == NULL || from_peer == MPS_RX_RING || unlikely(w->draining))
		return 0;
	switch (fi->kind) {
	case MPS_FRAME_IPV4:
		if (fi->ip_dst == ours)
			return 0;
		w->stats->exc_ip++;
		break;
	case MPS_FRAME_ARP:
		if (fi->arp_tpa == ours)
			return 0;
		if (is_broadcast(fi->dst_mac) || fi->arp_spa == fi->arp_tpa) {
			w->stats->exc_arp_copy++;
			copy_to_kernel(w, m);
			return 0;
		}
		w->stats->exc_arp++;
		break;
	case MPS_FRAME_OTHER:
		if (fi->ethertype == MPS_ETHERTYPE_VLAN || fi->ethertype == 0x88a8u)
			w->stats->exc_vlan++;
		else
			w->stats->exc_ethertype++;
		break;
	case MPS_FRAME_MALFORMED:
	default:
		return 0;
	}
	to_kernel(w, m);
	return 1;
}

int
mps_exc_rx_vlan(struct mps_worker *w, struct rte_mbuf *m, int from_peer)
{
	if (w->exc_ring == NULL || from_peer == MPS_RX_RING || unlikely(w->draining))
		return 0;
	w->stats->exc_vlan++;
	to_kernel(w, m);
	return 1;
}

/* The primary sleeps: wake it for what we enqueued. The fence orders our
 * enqueue before our look at sleeping, as the primary orders its store to
 * sleeping before its look at the rings: one of us sees the other. */
static void
kick(struct mps_worker *w)
{
	uint64_t one = 1;

	w->exc_pending = 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (w->exc_efd < 0 ||
	    !__atomic_load_n(&w->shared->exc.sleeping, __ATOMIC_RELAXED) ||
	    !__atomic_exchange_n(&w->shared->exc.sleeping, 0, __ATOMIC_SEQ_CST))
		return;
	if (write(w->exc_efd, &one, sizeof(one)) < 0)
		MPS_LOG(DEBUG, "worker %u: eventfd write: %s", w->id, strerror(errno));
}

unsigned int
mps_exc_poll(struct mps_worker *w)
{
	struct rte_mbuf *pkts[MPS_RX_BURST];
	uint64_t now;
	unsigned int n;

	if (w->exc_ring == NULL)
		return 0;
	if (unlikely(w->draining)) {
		/* --replace: the slot and its rings are our successor's now;
		 * if it dies we take them back, once the primary reset them */
		w->exc_ready = 0;
		return 0;
	}
	if (w->exc_pending || !ready(w)) {
		now = rte_get_tsc_cycles();
		/* at most one write(2) per MPS_EXC_KICK_US: a busy path pays
		 * for it once per many frames, an idle one at its first; a
		 * new owner asks for its rings the same way */
		if (now - w->exc_kick_tsc >= w->exc_kick_cycles) {
			w->exc_kick_tsc = now;
			kick(w);
		}
	}
	if (!w->exc_ready)
		return 0;
	n = rte_ring_sc_dequeue_burst(w->exc_tx_ring, (void **)pkts, MPS_RX_BURST, NULL);
	for (unsigned int i = 0; i < n; i++)
		if (mps_netif_tx_frame(w, pkts[i]) == 0)
			w->stats->exc_tx++;
	return n;
}
