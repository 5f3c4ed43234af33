/* SPDX-License-Identifier: BSD-3-Clause
 *
 * adopt.c - the primary's side of queue adoption: who serves a queue whose
 * worker is absent, dead or stopping.
 *
 * No black holes. Absent means never started or cleanly gone. Every monitor
 * tick (100 ms) it names an adopter among the RUNNING workers for each such
 * queue (the one adopting the fewest queues so far), keeps a live adopter in
 * place, and clears the RX lock of an adopter that died. The workers do the
 * polling and hand-back (see secondary/adopt.c). On ports with a
 * programmable RETA the primary also steers the orphan queues' RETA entries
 * to live queues, and back when their worker returns.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_mbuf_dyn.h>

#include "mps_log.h"
#include "mps_proc.h"
#include "primary.h"

static uint32_t
slot_state(const struct mps_shared *sh, int32_t w)
{
	return __atomic_load_n(&sh->workers[w].state, __ATOMIC_SEQ_CST);
}

/* 1 while queue q's replaced worker drains: if its successor dies, it
 * takes the queue back (within SUCCESSOR_CHECK_MS) with the connections
 * it holds, so nobody adopts the queue (nor steers it away) meanwhile. */
static int
drainer_alive(const struct mps_shared *sh, uint32_t q)
{
	int32_t pid = sh->drain[q].owner_pid;

	return pid != 0 && __atomic_load_n(&sh->drain[q].state, __ATOMIC_ACQUIRE) ==
	       MPS_WORKER_DRAINING && mps_pid_alive(pid);
}

/* Resets the adoption table; registers the mbuf dynflags the workers mark
 * handed-over frames with (a secondary can only look them up): adopted
 * frames, and a draining predecessor's frames to send. */
int
mps_adopt_init(struct mps_primary *pp)
{
	static const struct rte_mbuf_dynflag desc = { .name = MPS_ADOPT_DYNFLAG };
	static const struct rte_mbuf_dynflag drain = { .name = MPS_DRAIN_TX_DYNFLAG };
	struct mps_shared *sh = pp->shared;
	int bit = rte_mbuf_dynflag_register(&desc);

	if (bit >= 0)
		bit = rte_mbuf_dynflag_register(&drain);
	for (uint32_t q = 0; q < MPS_MAX_WORKERS; q++) {
		sh->adopt[q].adopter = -1;
		sh->adopt[q].poller = -1;
		sh->adopt[q].poller_pid = 0;
	}
	memset((void *)&sh->reta_live, 0, sizeof(sh->reta_live));
	for (uint32_t q = 0; q < sh->cfg.n_workers; q++)
		mps_wset_add(&sh->reta_live, q);
	return bit < 0 ? -rte_errno : 0;
}

/* A poller (adopter or the queue's own worker) that died holding the
 * queue's RX lock cannot release it. */
static void
clear_dead_poller(struct mps_adopt_queue *aq, uint32_t q)
{
	int32_t pid = aq->poller_pid;

	if (pid == 0 || mps_pid_alive(pid))
		return;
	if (__atomic_compare_exchange_n(&aq->poller_pid, &pid, 0, 0,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		aq->poller = -1;
		MPS_LOG(WARNING, "queue %u: pid %d died holding its RX lock; lock cleared",
			q, pid);
	}
}

/* The RUNNING worker adopting the fewest queues, or -1. */
static int32_t
pick_adopter(const struct mps_shared *sh)
{
	unsigned int load[MPS_MAX_WORKERS] = { 0 };
	int32_t best = -1;

	for (uint32_t q = 0; q < sh->cfg.n_workers; q++)
		if (sh->adopt[q].adopter >= 0)
			load[sh->adopt[q].adopter]++;
	for (uint32_t w = 0; w < sh->cfg.n_workers; w++)
		if (slot_state(sh, (int32_t)w) == MPS_WORKER_RUNNING &&
		    (best < 0 || load[w] < load[best]))
			best = (int32_t)w;
	return best;
}

/* After naming adopter next for queue q: if q's worker came back while we
 * decided (it may have set STARTING/RUNNING and cleared adopter between
 * our look at its state and our compare-and-set, which then still saw -1),
 * take the adoption back. It sets its state before it clears adopter, so
 * this second look after the SEQ_CST swap cannot miss it. 1 if reverted. */
static int
revert_if_returned(struct mps_shared *sh, uint32_t q, int32_t next)
{
	uint32_t st = slot_state(sh, (int32_t)q);

	if (st != MPS_WORKER_STARTING && st != MPS_WORKER_RUNNING)
		return 0;
	__atomic_compare_exchange_n(&sh->adopt[q].adopter, &next, -1, 0,
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	return 1;
}

/* Names an adopter for queue q if its worker is not serving it. The
 * returning worker sets its state (STARTING) before it clears adopter; we
 * read adopter before the state, swap it by compare-and-set and read the
 * state again after (revert_if_returned). The worker also holds its
 * queue's RX lock while it polls and clears a stray adopter itself, so
 * even a lost race never puts two pollers on one queue. */
static void
adopt_queue(struct mps_shared *sh, uint32_t q)
{
	struct mps_adopt_queue *aq = &sh->adopt[q];
	int32_t cur = __atomic_load_n(&aq->adopter, __ATOMIC_SEQ_CST), next;
	uint32_t st = slot_state(sh, (int32_t)q);

	if (st == MPS_WORKER_STARTING || st == MPS_WORKER_RUNNING ||
	    drainer_alive(sh, q))
		return; /* its worker (or its drainer) clears the adoption itself */
	if (cur >= 0 && slot_state(sh, cur) == MPS_WORKER_RUNNING)
		return;
	next = pick_adopter(sh);
	if (next == cur || next == (int32_t)q)
		return;
	if (!__atomic_compare_exchange_n(&aq->adopter, &cur, next, 0,
					 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return;
	if (revert_if_returned(sh, q, next))
		return;
	aq->since_tsc = rte_get_tsc_cycles();
	if (next >= 0)
		MPS_LOG(NOTICE, "queue %u (worker %s) adopted by worker %d",
			q, mps_worker_state_name(st), next);
	else
		MPS_LOG(WARNING, "queue %u (worker %s): no running worker to adopt it",
			q, mps_worker_state_name(st));
}

/* Queues whose worker is RUNNING or about to be (RETA targets). */
static void
live_set(const struct mps_shared *sh, struct mps_wset *live)
{
	for (uint32_t q = 0; q < sh->cfg.n_workers; q++) {
		uint32_t st = slot_state(sh, (int32_t)q);

		if (st == MPS_WORKER_RUNNING || st == MPS_WORKER_STARTING ||
		    drainer_alive(sh, q))
			mps_wset_add(live, q);
	}
}

void
mps_adopt_tick(struct mps_primary *pp)
{
	struct mps_shared *sh = pp->shared;
	struct mps_wset live = { 0 };

	for (uint32_t q = 0; q < sh->cfg.n_workers; q++) {
		clear_dead_poller(&sh->adopt[q], q);
		adopt_queue(sh, q);
	}
	live_set(sh, &live);
	if (!mps_wset_equal(&live, &sh->reta_live)) {
		mps_wset_store(&sh->reta_live, &live);
		mps_ports_reta_live(pp, &live);
	}
}
