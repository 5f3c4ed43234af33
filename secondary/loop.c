/* SPDX-License-Identifier: BSD-3-Clause
 *
 * loop.c - the worker's poll loop, one iteration at a time.
 *
 * Each iteration: peers' ring -> RX burst on every port -> lwIP timers -> TX
 * flush -> heartbeat and stats; idle iterations back off to short sleeps so
 * that a two-CPU machine still runs the primary, the tools and the clients.
 */
#include <errno.h>
#include <signal.h>

#include <rte_cycles.h>
#include <rte_epoll.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "lwip/timeouts.h"

#include "adopt.h"
#include "exception.h"
#include "api/api.h"
#include "api/budget.h"
#include "cycles.h"
#include "loop.h"
#include "mirror.h"
#include "mps_log.h"
#include "mps_proc.h"
#include "netif.h"
#include "replace.h"
#include "rxwait.h"
#include "worker.h"

#define IDLE_SPIN 64u          /* empty iterations before sleeping */
#define IDLE_SLEEP_MIN_US 10u
#define IDLE_SLEEP_MAX_US 500u
/* Idle for this long, a worker sleeps up to IDLE_SLEEP_DEEP_US: each
 * wake-up costs a poll of every queue it cannot wait on (rxwait.c: all but
 * net_tap's) and a system call, so a quiet worker wakes a quarter as often
 * as at IDLE_SLEEP_MAX_US, and the first frame after a quiet spell waits at
 * most that long where it cannot wake the worker itself. */
#define IDLE_DEEP_AFTER_MS 100u
#define IDLE_SLEEP_DEEP_US 2000u
#define CHECK_PRIMARY_MS 200u

static unsigned int
drain_ring(struct mps_worker *w)
{
	void *objs[MPS_RX_BURST];
	unsigned int n;

	n = rte_ring_sc_dequeue_burst(w->ring, objs, MPS_RX_BURST, NULL);
	if (n == 0)
		return 0;
	MPS_CYC_PUSH(PARSE);
	for (unsigned int i = 0; i < n; i++)
		if (!mps_replace_tx_input(w, objs[i]) &&
		    !mps_adopt_ring_input(w, objs[i]))
			mps_netif_input(w, objs[i], MPS_RX_RING);
	w->stats->ring_rx += n;
	MPS_CYC_POP();
	return n;
}

/* Port index pi's queue, unless the last wait found it empty. */
static unsigned int
rx_port(struct mps_worker *w, uint16_t pi)
{
	struct rte_mbuf *pkts[MPS_RX_BURST];
	uint16_t port = w->port_ids[pi], n;

	if (mps_rxwait_skip(w, pi))
		return 0;
	MPS_CYC_PUSH(DRV_RX);
	n = rte_eth_rx_burst(port, w->id, pkts, MPS_RX_BURST);
	MPS_CYC_POP();
	if (n == 0)
		return 0;
	MPS_CYC_PUSH(PARSE);
	if (mps_mirror_on(w))
		mps_mirror_burst(w, port, pkts, n, 0);

	for (uint16_t i = 0; i < n && i < MPS_PREFETCH; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (uint16_t i = 0; i < n; i++) {
		if (i + MPS_PREFETCH < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + MPS_PREFETCH], void *));
		w->stats->rx_bytes += rte_pktmbuf_pkt_len(pkts[i]);
		mps_netif_input(w, pkts[i], 0);
	}
	w->stats->rx_pkts += n;
	MPS_CYC_POP();
	return n;
}

/* Registers every port's queue with this thread's epoll set. */
static int
intr_setup(struct mps_worker *w)
{
	for (uint16_t i = 0; i < w->n_ports; i++) {
		int ret = rte_eth_dev_rx_intr_ctl_q(w->port_ids[i], w->id,
						    RTE_EPOLL_PER_THREAD,
						    RTE_INTR_EVENT_ADD, NULL);
		if (ret != 0) {
			MPS_LOG(WARNING, "worker %u: RX interrupts unavailable on port %u (%s); idling with back-off",
				w->id, w->port_ids[i], rte_strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* Arms the interrupts, sleeps until a frame or timeout_ms, disarms. */
static void
intr_wait(struct mps_worker *w, int timeout_ms)
{
	struct rte_epoll_event ev[MPS_MAX_PORTS];

	for (uint16_t i = 0; i < w->n_ports; i++)
		rte_eth_dev_rx_intr_enable(w->port_ids[i], w->id);
	rte_epoll_wait(RTE_EPOLL_PER_THREAD, ev, MPS_MAX_PORTS, timeout_ms);
	for (uint16_t i = 0; i < w->n_ports; i++)
		rte_eth_dev_rx_intr_disable(w->port_ids[i], w->id);
}

static int
primary_alive(const struct mps_shared *sh)
{
	return mps_pid_alive(sh->primary_pid);
}

int
mps_loop_run(struct mps_worker *w, volatile int *quit)
{
	struct mps_shared *sh = w->shared;
	uint64_t hz = rte_get_tsc_hz(), ms_cycles = hz / 1000;
	uint64_t shared_ms = sh->tsc_hz / 1000;
	uint64_t last_timer = 0, next_check = 0, idle_since = 0;
	unsigned int idle = 0, sleep_us = IDLE_SLEEP_MIN_US;
	int use_intr = sh->cfg.idle_mode == MPS_IDLE_INTR && intr_setup(w) == 0;

	/* A beat before RUNNING: the slot may hold a dead predecessor's (or
	 * none), which the primary would report as a stall. */
	w->slot->heartbeat_tsc = rte_get_tsc_cycles();
	__atomic_store_n(&w->slot->state, MPS_WORKER_RUNNING, __ATOMIC_SEQ_CST);
	if (mps_adopt_handback(w, quit) != 0) /* Before our first RX burst */
		return 0;
	while (!*quit && !__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
		uint64_t t0 = rte_get_tsc_cycles();
		unsigned int work, queued;

		/* First: the primary judges stalls (and QSBR readers that
		 * hold aging up) by it. */
		w->slot->heartbeat_tsc = t0;
		MPS_CYC_BEGIN(t0);

		/* An adopter named for our queue behind our back (a
		 * race with the primary) must not get it: clear it again. */
		if (unlikely(__atomic_load_n(&sh->adopt[w->id].adopter,
					     __ATOMIC_ACQUIRE) >= 0) && !w->draining &&
		    mps_adopt_handback(w, quit) != 0)
			break;

		/* No table entry read before this point is used after it.
		 * A worker that stalled (SIGSTOP, a debugger) was taken
		 * offline by the primary so that aging went on: back online
		 * first (a full barrier, unlike the quiescent report). */
		if (unlikely(__atomic_load_n(&w->neigh_qs->qsbr_cnt[w->qs_id].cnt,
					     __ATOMIC_RELAXED) ==
			     __RTE_QSBR_CNT_THR_OFFLINE)) {
			rte_rcu_qsbr_thread_online(w->neigh_qs, w->qs_id);
			w->stats->neigh_qs_online++;
		}
		rte_rcu_qsbr_quiescent(w->neigh_qs, w->qs_id);
		/* Before anything learns: the peers' ARP copies too. now_ms
		 * uses the primary's TSC rate, so every process stamps alike. */
		w->now_s = (uint32_t)(t0 / hz);
		w->now_ms = t0 / shared_ms;
		w->tx_nh = 0; /* next hops are read from the table again */
		work = drain_ring(w);

		if (likely(!w->draining)) { /* else the queue is our successor's */
			for (uint16_t i = 0; i < w->n_ports; i++)
				work += rx_port(w, i);
			work += mps_adopt_poll(w); /* Orphan queues */
		}
		work += mps_exc_poll(w); /* the kernel's frames; wake the primary */
		if (t0 - last_timer >= ms_cycles) {
			MPS_CYC_PUSH(TIMERS);
			sys_check_timeouts();
			work += mps_api_tick(w->now_ms); /* Connections' deadlines */
			MPS_CYC_POP();
			last_timer = t0;
		}
		/* Frames the port took are work; frames it would not take
		 * (link down, a memif without its peer, a full ring) wait for
		 * the next iteration, which backs off like an idle one. */
		queued = mps_netif_tx_queued(w);
		mps_tx_flush(w);
		work += queued - mps_netif_tx_queued(w);
		w->stats->tx_queued = mps_netif_tx_queued(w);
		mps_pcb_guard(w, t0);
		mps_mem_poll();

		w->stats->iterations++;
		if (unlikely(mps_replace_tick(w, quit))) /* drained */
			break;
		if (t0 >= next_check) {
			if (!primary_alive(sh)) {
				MPS_LOG(ERR, "primary (pid %d) is gone; stopping",
					sh->primary_pid);
				return -ESRCH;
			}
			next_check = t0 + CHECK_PRIMARY_MS * ms_cycles;
		}
		if (work != 0) {
			uint64_t t1 = rte_get_tsc_cycles();

			w->stats->busy_iterations++;
			w->stats->busy_cycles += t1 - t0;
			MPS_CYC_BUSY(w, t0, t1);
			mps_rxwait_busy(w);
			idle = 0;
			sleep_us = IDLE_SLEEP_MIN_US;
			continue;
		}
		if (idle == 0)
			idle_since = t0;
		if (sh->cfg.idle_mode == MPS_IDLE_SPIN || ++idle < IDLE_SPIN) {
			rte_pause();
		} else {
			unsigned int cap = t0 - idle_since >= IDLE_DEEP_AFTER_MS * ms_cycles ?
						   IDLE_SLEEP_DEEP_US : IDLE_SLEEP_MAX_US;

			if (use_intr && !w->draining)
				intr_wait(w, 1);
			else if (!mps_rxwait_sleep(w, sleep_us))
				mps_sleep_us(sleep_us);
			w->stats->idle_sleeps++;
			sleep_us = RTE_MIN(2 * sleep_us, cap);
		}
		w->stats->idle_cycles += rte_get_tsc_cycles() - t0;
	}
	return 0;
}
