/* SPDX-License-Identifier: BSD-3-Clause
 *
 * adopt.c - the worker's side of queue adoption: lock, poll, hand-back.
 *
 * No black holes: queues whose own worker is absent, dead or not yet
 * started are polled by another.
 *
 * The primary names an adopter for every orphan queue in the memzone
 * (shared->adopt[q].adopter). The adopter takes the queue's RX lock
 * (poller_pid), polls it alongside its own queue, and spreads what it
 * receives (once it passed the VLAN rule, which the receiving worker
 * checks again) over the live workers as steer.c decides (a stable flow hash,
 * so every frame of one flow reaches the same worker); that worker's lwIP
 * answers on its own TX queue (on net_tap the kernel then steers the flow
 * to that queue by itself). ARP, ICMP and anything else any worker can
 * answer is served by the adopter itself, so ARP replies are still fanned
 * out.
 * Segments of connections that died with their worker reach an lwIP that
 * has no PCB for them, which answers with a RST: counted as adopt_rst.
 *
 * A returning worker clears its queue's adopter and waits until the
 * adopter has released the RX lock (or died), then holds that lock itself
 * for as long as it polls its own queue: a concurrent rx_burst on one
 * queue corrupts the PMD's queue state, so no rx_burst on a queue happens
 * without its lock.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

#include <rte_bitops.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "adopt.h"
#include "cycles.h"
#include "mirror.h"
#include "mps_log.h"
#include "mps_parse.h"
#include "mps_proc.h"
#include "netif.h"
#include "steer.h"

#define HANDBACK_SLEEP_US 1000u
#define HANDBACK_LOG_MS 1000u

static uint64_t adopted_flag; /* mbuf dynflag: "an adopted frame" */
static int32_t self_pid;      /* our RX lock value */

int
mps_adopt_init(struct mps_worker *w __rte_unused)
{
	int bit = rte_mbuf_dynflag_lookup(MPS_ADOPT_DYNFLAG, NULL);

	self_pid = getpid();
	if (bit < 0)
		return -rte_errno;
	adopted_flag = RTE_BIT64(bit);
	return 0;
}

/* Takes our own queue's RX lock from nobody, from ourselves, or from a
 * holder that died; 1 if we hold it now, 0 if a live process holds it
 * (returned in *holder). */
static int
own_lock(struct mps_adopt_queue *aq, int32_t *holder)
{
	int32_t cur = 0;

	if (__atomic_compare_exchange_n(&aq->poller_pid, &cur, self_pid, 0,
					__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST) ||
	    cur == self_pid)
		return 1;
	*holder = cur;
	if (mps_pid_alive(cur)) /* zombies count as dead */
		return 0;
	/* died holding it: take it over unless someone else just did */
	return __atomic_compare_exchange_n(&aq->poller_pid, &cur, self_pid, 0,
					   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/* The queue is ours again: stop its adoption and take its RX lock, which
 * we then hold for as long as we poll the queue, so no adopter can poll it
 * alongside us even if the primary names one by mistake. Waits as long as
 * a live adopter holds the lock (it may be stopped in mid rx_burst),
 * sleeping between looks and logging every HANDBACK_LOG_MS; gives up only
 * when we are told to stop. 0, or -EINTR when stopped while waiting. */
int
mps_adopt_handback(struct mps_worker *w, volatile int *quit)
{
	struct mps_adopt_queue *aq = &w->shared->adopt[w->id];
	uint64_t hz = rte_get_tsc_hz(), t0 = rte_get_tsc_cycles();
	uint64_t next_log = t0 + HANDBACK_LOG_MS * hz / 1000;
	int32_t adopter = __atomic_exchange_n(&aq->adopter, -1, __ATOMIC_SEQ_CST);
	int32_t holder = 0;
	unsigned int waited = 0;

	while (!own_lock(aq, &holder)) {
		uint64_t now = rte_get_tsc_cycles();

		if (*quit || __atomic_load_n(&w->shared->stop, __ATOMIC_ACQUIRE)) {
			MPS_LOG(WARNING, "worker %u: stopped while adopter pid %d still held queue %u",
				w->id, holder, w->id);
			return -EINTR;
		}
		if (now >= next_log) {
			MPS_LOG(WARNING, "worker %u: queue %u still held by adopter pid %d after %" PRIu64 " ms; waiting",
				w->id, w->id, holder, (now - t0) * 1000 / hz);
			next_log = now + HANDBACK_LOG_MS * hz / 1000;
		}
		w->slot->heartbeat_tsc = now; /* alive, only waiting */
		/* Holding no table entry, however long the wait: neighbour
		 * aging must not wait for us. */
		if (!waited)
			rte_rcu_qsbr_thread_offline(w->neigh_qs, w->qs_id);
		mps_sleep_us(HANDBACK_SLEEP_US); /* the holder may be stopped */
		waited = 1;
	}
	if (waited)
		rte_rcu_qsbr_thread_online(w->neigh_qs, w->qs_id);
	/* Polled by its own worker: nobody adopts it (a holder that died did
	 * not clear its id, and telemetry would go on naming it). */
	aq->poller = -1;
	if (adopter >= 0 || waited)
		MPS_LOG(INFO, "worker %u: queue %u handed back by worker %d in %" PRIu64 " us",
			w->id, w->id, adopter,
			(rte_get_tsc_cycles() - t0) * 1000000 / hz);
	return 0;
}

/* 1 if the frame is a TCP segment that can only belong to an existing
 * connection (no SYN, no RST): lwIP answers it with a RST if it has none. */
static int
needs_connection(const struct mps_frame_info *fi)
{
	return mps_frame_has_tcp_flags(fi) &&
	       (fi->tcp_flags & (MPS_TCP_SYN | MPS_TCP_RST)) == 0;
}

/* 1 if the TX frame m is a TCP RST. */
static int
is_tcp_rst(const struct rte_mbuf *m)
{
	struct mps_frame_info fi;

	mps_parse_frame(rte_pktmbuf_mtod(m, const uint8_t *),
			rte_pktmbuf_data_len(m), &fi);
	return mps_frame_has_tcp_flags(&fi) && (fi.tcp_flags & MPS_TCP_RST) != 0;
}

/* Feeds an adopted frame (fi: its parse) to our lwIP; counts the RST it
 * provokes when the segment belonged to a connection nobody has any more. */
static void
adopt_input(struct mps_worker *w, struct rte_mbuf *m,
	    const struct mps_frame_info *fi, int from_peer)
{
	uint16_t mark = mps_netif_tx_queued(w), n;
	struct rte_mbuf *const *sent;
	int orphan_seg = needs_connection(fi);

	mps_netif_input(w, m, from_peer);
	if (!orphan_seg)
		return;
	n = mps_netif_tx_since(w, mark, &sent);
	for (uint16_t i = 0; i < n; i++)
		if (is_tcp_rst(sent[i])) {
			w->stats->adopt_rst++;
			break;
		}
}

int
mps_adopt_ring_input(struct mps_worker *w, struct rte_mbuf *m)
{
	struct mps_frame_info fi;

	if ((m->ol_flags & adopted_flag) == 0 || adopted_flag == 0)
		return 0;
	m->ol_flags &= ~adopted_flag;
	w->stats->adopt_ring_rx++;
	mps_parse_frame(rte_pktmbuf_mtod(m, const uint8_t *),
			rte_pktmbuf_data_len(m), &fi);
	adopt_input(w, m, &fi, MPS_RX_ADOPTED);
	return 1;
}

/* One frame from an adopted queue: the VLAN rule, then served here or
 * handed to the worker steer.c names (the mbuf carries the verdict: see
 * mps_netif_vlan_admit). */
static void
adopt_frame(struct mps_worker *w, struct rte_mbuf *m)
{
	uint16_t len = rte_pktmbuf_data_len(m), to;
	struct mps_frame_info fi;

	w->stats->adopt_rx++;
	w->stats->rx_bytes += len;
	/* The VLAN rule before the parse: steering reads the untagged frame,
	 * and no frame of another VLAN (or untagged) reaches any worker. */
	if (mps_netif_vlan_admit(w, m, MPS_RX_ADOPTED) != 0)
		return;
	len = rte_pktmbuf_data_len(m);
	mps_parse_frame(rte_pktmbuf_mtod(m, const uint8_t *), len, &fi);
	if (m->nb_segs != 1 || fi.kind == MPS_FRAME_MALFORMED ||
	    (to = mps_steer_adopted(w, &fi)) == w->id || adopted_flag == 0) {
		adopt_input(w, m, &fi, MPS_RX_ADOPTED);
		return;
	}
	m->ol_flags |= adopted_flag;
	mps_steer_clear(m);
	if (mps_steer_hand_off(w, to, m) != 0) {
		w->stats->adopt_drop++;
		rte_pktmbuf_free(m);
		return;
	}
	w->stats->adopt_handed++;
}

/* One RX burst from adopted queue q of port. */
static unsigned int
adopt_rx(struct mps_worker *w, uint16_t port, uint16_t q)
{
	struct rte_mbuf *pkts[MPS_RX_BURST];
	uint16_t n;

	MPS_CYC_PUSH(DRV_RX);
	n = rte_eth_rx_burst(port, q, pkts, MPS_RX_BURST);
	MPS_CYC_POP();
	MPS_CYC_PUSH(PARSE);
	if (n != 0 && mps_mirror_on(w))
		mps_mirror_burst(w, port, pkts, n, 0);
	for (uint16_t i = 0; i < n; i++)
		adopt_frame(w, pkts[i]);
	w->stats->rx_pkts += n;
	MPS_CYC_POP();
	return n;
}

/* Takes queue q's RX lock; 1 if we hold it. After taking it, looks at
 * adopter again: its worker may have cleared it between our first look and
 * the lock (it clears adopter, then looks at the lock: with both sides
 * store-then-load in SEQ_CST, at least one of us sees the other). */
static int
lock_queue(struct mps_worker *w, struct mps_adopt_queue *aq, int32_t me)
{
	int32_t free_pid = 0;

	if (aq->poller_pid == me)
		return 1;
	if (!__atomic_compare_exchange_n(&aq->poller_pid, &free_pid, me, 0,
					 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return 0;
	if (__atomic_load_n(&aq->adopter, __ATOMIC_SEQ_CST) != w->id) {
		__atomic_store_n(&aq->poller_pid, 0, __ATOMIC_SEQ_CST);
		return 0;
	}
	aq->poller = w->id;
	return 1;
}

/* Lets go of queue q's RX lock after our last burst on it. */
static void
unlock_queue(struct mps_adopt_queue *aq)
{
	aq->poller = -1;
	__atomic_store_n(&aq->poller_pid, 0, __ATOMIC_RELEASE);
}

unsigned int
mps_adopt_poll(struct mps_worker *w)
{
	struct mps_shared *sh = w->shared;
	int32_t me = self_pid;
	unsigned int work = 0, held = 0;

	for (uint16_t q = 0; q < w->n_workers; q++) {
		struct mps_adopt_queue *aq = &sh->adopt[q];

		if (q == w->id)
			continue;
		if (__atomic_load_n(&aq->adopter, __ATOMIC_ACQUIRE) != w->id) {
			if (aq->poller_pid == me)
				unlock_queue(aq);
			continue;
		}
		if (!lock_queue(w, aq, me))
			continue;
		held++;
		for (uint16_t i = 0; i < w->n_ports; i++)
			work += adopt_rx(w, w->port_ids[i], q);
	}
	w->stats->adopt_queues = held;
	return work;
}

void
mps_adopt_let_go(struct mps_worker *w)
{
	struct mps_adopt_queue *aq = &w->shared->adopt[w->id];
	int32_t me = self_pid;

	__atomic_compare_exchange_n(&aq->poller_pid, &me, 0, 0,
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

void
mps_adopt_release(struct mps_worker *w)
{
	for (uint16_t q = 0; q < w->n_workers; q++)
		if (w->shared->adopt[q].poller_pid == self_pid)
			unlock_queue(&w->shared->adopt[q]);
	w->stats->adopt_queues = 0;
}
