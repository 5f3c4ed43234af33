/* SPDX-License-Identifier: BSD-3-Clause
 *
 * replace.c - graceful replacement of a live worker (--replace): the
 * successor's take-over, the predecessor's drain, and the frames between
 * them. The hand-shake is in the memzone (struct mps_replace in
 * mps_shared.h).
 *
 * The successor S builds its whole stack (lwIP, listeners) on private
 * counters, then asks. The predecessor O, between two loop iterations,
 * stops polling queue K and lets go of its RX lock, moves into drain slot
 * K (a slot, ring and QSBR reader id of its own: nothing keyed by the
 * worker id is shared by the two), and hands slot K to S. S claims it and
 * takes the RX lock as a returning worker does (adopt.c). From then on:
 * - S serves every new connection, ARP and ICMP; a TCP segment that is not
 *   a SYN and has no PCB in S is O's, handed to O's drain ring;
 * - O transmits nothing itself: its frames go to S on S's ring, and S puts
 *   them in its own TX batch. One transmitter per TX queue (two tx_burst
 *   callers corrupt a real NIC's ring), and the frames leave by queue K,
 *   so net_tap keeps steering the flows' replies there;
 * - O answers HTTP requests with Connection: close and closes after the
 *   answer (never under a request in flight), lets other transfers end,
 *   and exits when it holds no connection (TIME_WAIT aside: S answers
 *   those segments), or resets the rest at the drain timeout (counted).
 * If S dies before O moved, O goes on as if nothing happened; if it dies
 * while O drains, O takes slot and queue K back (it owns those flows).
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include <rte_bitops.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "lwip/priv/tcp_priv.h"

#include "adopt.h"
#include "api/api.h"
#include "apps/apps.h"
#include "attach.h"
#include "mps_log.h"
#include "mps_proc.h"
#include "mps_ring.h"
#include "netif.h"
#include "replace.h"
#include "tcp_hooks.h"

#define TAKEOVER_WAIT_MS 10000u /* the predecessor moves out within this */
#define SUCCESSOR_CHECK_MS 100u

static struct mps_worker_stats staging; /* S's counters before it has a slot */
static int32_t predecessor_pid;         /* S: the worker it replaces */
static uint64_t next_successor_check;   /* O: TSC of its next look at S */
static uint64_t drain_tx_flag;          /* mbuf dynflag: "send this for me" */

int
mps_replace_init(void)
{
	int bit = rte_mbuf_dynflag_lookup(MPS_DRAIN_TX_DYNFLAG, NULL);

	if (bit < 0)
		return -rte_errno;
	drain_tx_flag = RTE_BIT64(bit);
	return 0;
}

/* Compare-and-set of the record's phase. */
static int
phase_cas(struct mps_replace *r, uint32_t from, uint32_t to)
{
	return __atomic_compare_exchange_n(&r->phase, &from, to, 0,
					   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

/* Clears the record if it still names successor s. */
static void
record_clear(struct mps_replace *r, int32_t s)
{
	uint32_t ph = __atomic_load_n(&r->phase, __ATOMIC_ACQUIRE);

	if (__atomic_compare_exchange_n(&r->successor_pid, &s, 0, 0,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		phase_cas(r, ph, MPS_REPLACE_NONE);
}

static struct mps_replace *
record(const struct mps_worker *w)
{
	return &w->shared->replace[w->id];
}

static uint64_t
ms_cycles(uint64_t ms)
{
	return ms * rte_get_tsc_hz() / 1000;
}

/* The gauges follow the process from one slot to the other. */
static void
move_gauges(struct mps_worker_stats *to, struct mps_worker_stats *from)
{
#define MOVE(g) do { to->g = from->g; from->g = 0; } while (0)
	MOVE(tcp_active);
	MOVE(mbufs_held);
	MOVE(sndq_bytes);
	MOVE(tcp_pcbs);
	MOVE(tcp_syn_rcvd);
	MOVE(tx_queued);
	MOVE(tx_seg_held);
#undef MOVE
}

/* ---- the successor ---- */

int
mps_replace_register(struct mps_worker *w, uint16_t k, char *err, size_t errlen)
{
	struct mps_shared *sh = w->shared;
	const struct mps_worker_slot *slot, *drain;
	int32_t cur, me = getpid();

	if (k >= sh->cfg.n_workers) {
		snprintf(err, errlen, "--worker %u out of range: the primary has %u worker slot(s)",
			 k, sh->cfg.n_workers);
		return -ERANGE;
	}
	if (mps_check_lcore(sh, err, errlen) != 0)
		return -EBUSY;
	slot = &sh->workers[k];
	drain = &sh->drain[k];
	predecessor_pid = slot->owner_pid;
	if (predecessor_pid == 0 || !mps_pid_alive(predecessor_pid) ||
	    __atomic_load_n(&slot->state, __ATOMIC_ACQUIRE) != MPS_WORKER_RUNNING) {
		snprintf(err, errlen, "--replace: worker %u is not running; start it without --replace",
			 k);
		return -ESRCH;
	}
	if (drain_tx_flag == 0) {
		snprintf(err, errlen, "--replace: the primary registered no %s", MPS_DRAIN_TX_DYNFLAG);
		return -ENOTSUP;
	}
	/* Free, or dead and reaped by the primary (its QSBR reader is gone). */
	if (drain->owner_pid != 0 && drain->state != MPS_WORKER_DEAD) {
		snprintf(err, errlen, "--replace: worker %u's predecessor (pid %d) is still draining; wait for it to exit",
			 k, drain->owner_pid);
		return -EBUSY;
	}
	cur = sh->replace[k].successor_pid;
	if ((cur != 0 && mps_pid_alive(cur)) ||
	    !__atomic_compare_exchange_n(&sh->replace[k].successor_pid, &cur, me,
					 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		snprintf(err, errlen, "--replace: pid %d is already replacing worker %u",
			 cur, k);
		return -EBUSY;
	}
	sh->replace[k].drain_timeout_s = w->drain_timeout_s;
	sh->replace[k].successor_lcore = rte_lcore_id();
	/* A dead registrant may have left any phase; nobody else writes it
	 * while the pid is ours and the worker has not answered. */
	__atomic_store_n(&sh->replace[k].phase, MPS_REPLACE_NONE, __ATOMIC_RELEASE);
	/* Our id from now on; the slot only once it is handed to us. */
	w->id = k;
	w->stats = &staging;
	return 0;
}

/* Withdraws our request: 1 if it was still unanswered (the predecessor
 * keeps everything), 0 if it is moving out or moved meanwhile. */
static int
withdraw(struct mps_worker *w)
{
	if (!phase_cas(record(w), MPS_REPLACE_READY, MPS_REPLACE_NONE))
		return 0;
	record_clear(record(w), getpid());
	return 1;
}

int
mps_replace_takeover(struct mps_worker *w, volatile int *quit, char *err,
		     size_t errlen)
{
	struct mps_replace *r = record(w);
	uint64_t t0 = rte_get_tsc_cycles(), until = t0 + ms_cycles(TAKEOVER_WAIT_MS);

	uint32_t ph;

	if (!phase_cas(r, MPS_REPLACE_NONE, MPS_REPLACE_READY)) {
		snprintf(err, errlen, "--replace: worker %u's hand-over record changed under us", w->id);
		return -EBUSY;
	}
	MPS_LOG(INFO, "worker %u: pid %d ready to take over; waiting for pid %d to hand over queue %u",
		w->id, getpid(), predecessor_pid, w->id);
	while ((ph = __atomic_load_n(&r->phase, __ATOMIC_ACQUIRE)) != MPS_REPLACE_MOVED) {
		if (ph == MPS_REPLACE_NONE) {
			snprintf(err, errlen, "--replace: worker %u (pid %d) refused the hand-over (its drain slot is busy); it keeps serving",
				 w->id, predecessor_pid);
			return -EBUSY;
		}
		if (!mps_pid_alive(predecessor_pid) && withdraw(w)) {
			MPS_LOG(WARNING, "worker %u: predecessor pid %d died before the hand-over; claiming the slot as after any death",
				w->id, predecessor_pid);
			return mps_claim_slot(w, w->id, err, errlen);
		}
		if ((*quit || __atomic_load_n(&w->shared->stop, __ATOMIC_ACQUIRE) ||
		     rte_get_tsc_cycles() >= until) && withdraw(w)) {
			snprintf(err, errlen, "--replace: worker %u (pid %d) did not hand over its queue in %u ms; it keeps serving",
				 w->id, predecessor_pid, TAKEOVER_WAIT_MS);
			return -ETIMEDOUT;
		}
		mps_sleep_us(1000);
	}
	/* The predecessor gave slot w->id to us (owner_pid is our pid). */
	w->slot = &w->shared->workers[w->id];
	w->slot->restarts++;
	mps_slot_taken(w, w->id);
	record_clear(r, getpid());
	MPS_LOG(NOTICE, "worker %u: pid %d took over queue %u from pid %d in %" PRIu64 " us",
		w->id, getpid(), w->id, predecessor_pid,
		(rte_get_tsc_cycles() - t0) * 1000000 / rte_get_tsc_hz());
	return 0;
}

int
mps_replace_tx_input(struct mps_worker *w, struct rte_mbuf *m)
{
	if ((m->ol_flags & drain_tx_flag) == 0 || drain_tx_flag == 0)
		return 0;
	m->ol_flags &= ~drain_tx_flag;
	if (mps_netif_tx_append(w, m) != 0)
		w->stats->tx_drop_full++;
	else
		w->stats->drain_tx++;
	return 1;
}

int
mps_replace_hand_off(struct mps_worker *w, const struct mps_frame_info *fi,
		     struct rte_mbuf *m)
{
	if (likely(__atomic_load_n(&w->shared->drain[w->id].state,
				   __ATOMIC_ACQUIRE) != MPS_WORKER_DRAINING) ||
	    w->draining || !mps_frame_has_tcp_flags(fi) ||
	    fi->ip_dst != w->shared->cfg.ip ||
	    (fi->tcp_flags & (MPS_TCP_SYN | MPS_TCP_ACK)) == MPS_TCP_SYN ||
	    mps_tcp_has_pcb(fi->ip_dst, fi->dport, fi->ip_src, fi->sport))
		return 0;
	if (rte_ring_mp_enqueue(w->drain_rings[w->id], m) != 0) {
		w->stats->ring_drop++;
		rte_pktmbuf_free(m);
		return 1;
	}
	w->stats->drain_handed++;
	return 1;
}

/* ---- the predecessor ---- */

void
mps_replace_tx(struct mps_worker *w)
{
	struct rte_mbuf *const *frames;
	uint16_t n = mps_netif_tx_since(w, 0, &frames), sent;

	for (uint16_t i = 0; i < n; i++)
		frames[i]->ol_flags |= drain_tx_flag;
	sent = (uint16_t)rte_ring_mp_enqueue_burst(w->rings[w->id],
						   (void *const *)frames, n, NULL);
	mps_netif_tx_consumed(w, sent);
}

/* Moves out of slot K into drain slot K and hands slot K to successor s
 * (phase MOVING: only we write the record). */
static void
drain_begin(struct mps_worker *w, int32_t s)
{
	struct mps_shared *sh = w->shared;
	struct mps_worker_slot *old = w->slot, *d = &sh->drain[w->id];
	uint32_t dstate = __atomic_load_n(&d->state, __ATOMIC_ACQUIRE);
	unsigned int tries = 0;
	int32_t me = getpid();

	/* Free, or its last owner dead and reaped (the primary took its
	 * QSBR reader offline before it stored DEAD). */
	if (d->owner_pid != 0 && dstate != MPS_WORKER_DEAD) {
		MPS_LOG(WARNING, "worker %u: drain slot held by pid %d; refusing pid %d's hand-over",
			w->id, d->owner_pid, s);
		__atomic_store_n(&sh->replace[w->id].phase, MPS_REPLACE_NONE, __ATOMIC_RELEASE);
		return;
	}
	/* Our last frames on the wire while the queue is still ours. */
	while (mps_netif_tx_queued(w) > 0 && tries++ < 100)
		mps_tx_flush(w);
	mps_adopt_release(w);
	mps_adopt_let_go(w);
	/* The drain slot: its ring may hold frames a successor handed to a
	 * predecessor that died; ours to consume now. */
	mps_ring_free_mbufs(w->drain_rings[w->id]);
	d->lcore_id = old->lcore_id;
	d->heartbeat_tsc = rte_get_tsc_cycles();
	__atomic_store_n(&d->owner_pid, me, __ATOMIC_RELEASE);
	move_gauges(&d->stats, &old->stats);
	/* A reader of its own before leaving the old id (no gap). */
	rte_rcu_qsbr_thread_register(w->neigh_qs, MPS_DRAIN_QS_ID(w->id));
	rte_rcu_qsbr_thread_online(w->neigh_qs, MPS_DRAIN_QS_ID(w->id));
	rte_rcu_qsbr_thread_offline(w->neigh_qs, w->qs_id);
	rte_rcu_qsbr_thread_unregister(w->neigh_qs, w->qs_id);
	w->qs_id = MPS_DRAIN_QS_ID(w->id);
	w->slot = d;
	w->stats = &d->stats;
	w->ring = w->drain_rings[w->id];
	w->draining = 1;
	w->successor_pid = s;
	/* The successor's --drain-timeout: the one who replaces us says. */
	w->drain_timeout_s = sh->replace[w->id].drain_timeout_s;
	w->drain_until_tsc = rte_get_tsc_cycles() + w->drain_timeout_s * rte_get_tsc_hz();
	mps_api_set_draining(1);
	__atomic_store_n(&d->state, MPS_WORKER_DRAINING, __ATOMIC_RELEASE);
	/* Slot K is the successor's: it sets STARTING, then RUNNING. */
	__atomic_store_n(&old->owner_pid, s, __ATOMIC_RELEASE);
	phase_cas(&sh->replace[w->id], MPS_REPLACE_MOVING, MPS_REPLACE_MOVED);
	MPS_LOG(NOTICE, "worker %u (pid %d): queue %u handed to pid %d; draining %" PRIu64 " connection(s) for at most %u s",
		w->id, me, w->id, s, w->stats->tcp_active, w->drain_timeout_s);
}

/* Frames our successor handed us but we did not read before taking
 * the queue back: still ours. */
static void
drain_ring_rest(struct mps_worker *w, struct rte_ring *r)
{
	void *objs[MPS_RX_BURST];
	unsigned int n;

	while ((n = rte_ring_sc_dequeue_burst(r, objs, MPS_RX_BURST, NULL)) != 0)
		for (unsigned int i = 0; i < n; i++)
			mps_netif_input(w, objs[i], MPS_RX_RING);
}

/* The successor is gone while we drain: slot and queue K are ours again.
 * It left the slot free (a clean exit), or died and the primary marked
 * the slot DEAD after taking its QSBR reader offline (so our register
 * comes after). Else not yet: we look again later. */
static void
take_back(struct mps_worker *w, volatile int *quit)
{
	struct mps_shared *sh = w->shared;
	struct mps_worker_slot *slot = &sh->workers[w->id], *d = w->slot;
	int32_t s = w->successor_pid, me = getpid();
	uint32_t st = __atomic_load_n(&slot->state, __ATOMIC_ACQUIRE);
	int32_t from = st == MPS_WORKER_DEAD ? s : 0;

	if ((st != MPS_WORKER_DEAD && st != MPS_WORKER_FREE) ||
	    !__atomic_compare_exchange_n(&slot->owner_pid, &from, me, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return; /* not yet reaped, or claimed by a new worker */
	slot->restarts++;
	move_gauges(&slot->stats, &d->stats);
	slot->lcore_id = d->lcore_id;
	slot->heartbeat_tsc = rte_get_tsc_cycles();
	__atomic_store_n(&slot->state, MPS_WORKER_STARTING, __ATOMIC_RELEASE);
	rte_rcu_qsbr_thread_register(w->neigh_qs, w->id);
	rte_rcu_qsbr_thread_online(w->neigh_qs, w->id);
	rte_rcu_qsbr_thread_offline(w->neigh_qs, w->qs_id);
	rte_rcu_qsbr_thread_unregister(w->neigh_qs, w->qs_id);
	w->qs_id = w->id;
	w->slot = slot;
	w->stats = &slot->stats;
	w->ring = w->rings[w->id];
	w->draining = 0;
	mps_api_set_draining(0);
	__atomic_store_n(&d->state, MPS_WORKER_STOPPING, __ATOMIC_RELEASE);
	drain_ring_rest(w, w->drain_rings[w->id]);
	__atomic_store_n(&d->state, MPS_WORKER_FREE, __ATOMIC_RELEASE);
	__atomic_store_n(&d->owner_pid, 0, __ATOMIC_RELEASE);
	/* The record may still name the dead successor. */
	record_clear(&sh->replace[w->id], w->successor_pid);
	/* As a returning worker: clear an adopter, take the RX lock. */
	__atomic_store_n(&slot->state, MPS_WORKER_RUNNING, __ATOMIC_SEQ_CST);
	MPS_LOG(WARNING, "worker %u (pid %d): successor pid %d died; queue %u is ours again",
		w->id, me, w->successor_pid, w->id);
	mps_adopt_handback(w, quit);
}

/* Connections we still hold (TIME_WAIT aside). */
static unsigned int
active_pcbs(void)
{
	unsigned int n = 0;

	for (struct tcp_pcb *p = tcp_active_pcbs; p != NULL; p = p->next)
		n++;
	return n;
}

int
mps_replace_tick(struct mps_worker *w, volatile int *quit)
{
	struct mps_replace *r = record(w);
	uint64_t now;
	int32_t s;

	if (likely(!w->draining)) {
		if (likely(__atomic_load_n(&r->phase, __ATOMIC_ACQUIRE) !=
			   MPS_REPLACE_READY))
			return 0;
		/* MOVING: the successor can no longer withdraw. */
		if (!phase_cas(r, MPS_REPLACE_READY, MPS_REPLACE_MOVING))
			return 0;
		s = __atomic_load_n(&r->successor_pid, __ATOMIC_ACQUIRE);
		if (s != 0 && mps_pid_alive(s)) {
			drain_begin(w, s);
		} else { /* died before we moved: nothing changes */
			phase_cas(r, MPS_REPLACE_MOVING, MPS_REPLACE_NONE);
			record_clear(r, s);
		}
		return 0;
	}
	now = rte_get_tsc_cycles();
	if (now >= next_successor_check) {
		next_successor_check = now + ms_cycles(SUCCESSOR_CHECK_MS);
		if (!mps_pid_alive(w->successor_pid)) {
			take_back(w, quit);
			if (!w->draining)
				return 0;
		}
	}
	if (tcp_active_pcbs == NULL && mps_netif_tx_queued(w) == 0) {
		MPS_LOG(NOTICE, "worker %u (pid %d): drained; exiting", w->id, getpid());
		return 1;
	}
	if (now >= w->drain_until_tsc) {
		unsigned int n = active_pcbs();

		w->stats->drain_reset += n;
		MPS_LOG(WARNING, "worker %u (pid %d): drain timeout (%u s): resetting %u connection(s)",
			w->id, getpid(), w->drain_timeout_s, n);
		mps_apps_close_all();
		return 1;
	}
	return 0;
}
