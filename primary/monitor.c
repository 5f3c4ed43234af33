/* SPDX-License-Identifier: BSD-3-Clause
 *
 * monitor.c - the primary's main loop. It sleeps between checks (never
 * busy-polls): worker liveness by pid and heartbeat, the optional per-worker
 * stats line, neighbour aging, and the orderly stop of the workers at
 * shutdown.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_hash.h>
#include <rte_rcu_qsbr.h>

#include "mps_neigh.h"
#include "mps_proc.h"
#include "mps_slot.h"

#include "mps_log.h"
#include "primary.h"

#define TICK_US 100000u       /* 100 ms between checks */
#define STALL_MS 1000u        /* heartbeat older than this: stalled */

static const char *const state_names[] = {
	[MPS_WORKER_FREE] = "free",
	[MPS_WORKER_STARTING] = "starting",
	[MPS_WORKER_RUNNING] = "running",
	[MPS_WORKER_STOPPING] = "stopping",
	[MPS_WORKER_DEAD] = "dead",
	[MPS_WORKER_DRAINING] = "draining",
	[MPS_WORKER_REAPING] = "reaping",
};

const char *
mps_worker_state_name(uint32_t state)
{
	return state < RTE_DIM(state_names) ? state_names[state] : "?";
}

#define NEIGH_GC_BATCH 256u  /* entries deleted per aging pass */
#define NEIGH_GRACE_MS 2000u /* a grace period longer than this stops
			      * waiting for stalled workers */

/* Expired neighbours deleted, waiting for their grace period. */
struct neigh_gc {
	int32_t pos[NEIGH_GC_BATCH];
	unsigned int n;
	uint64_t token;
	uint64_t since_tsc; /* when the grace period started */
};

/* Milliseconds since the slot's last heartbeat; 0 if it never beat (or
 * beat after we read the clock). */
static uint64_t
beat_age_ms(const struct mps_shared *sh, const struct mps_worker_slot *slot,
	    uint64_t now)
{
	uint64_t beat = slot->heartbeat_tsc;

	return beat == 0 || beat >= now ? 0 : (now - beat) / (sh->tsc_hz / 1000);
}

/* Marks a slot whose owner died, counting the mbufs it held (lost to the
 * pool: see README "Reliability"), and takes its QSBR reader qs offline.
 * 1 if it did. */
static int
reap_slot(struct mps_primary *pp, struct mps_worker_slot *slot, uint32_t w,
	  uint32_t qs, const char *what)
{
	uint64_t held;
	int32_t pid;

	if (!mps_slot_reap_begin(slot, &pid))
		return 0;
	/* Nobody claims the slot until reap_end: the reader we unregister is
	 * the dead owner's, never a new one's. */
	rte_rcu_qsbr_thread_offline(pp->neigh_qs, qs);
	rte_rcu_qsbr_thread_unregister(pp->neigh_qs, qs);
	held = slot->stats.mbufs_held + slot->stats.tx_queued + slot->stats.tx_seg_held;
	MPS_LOG(WARNING, "%s %u (pid %d) died; it held %" PRIu64 " mbufs and %" PRIu64 " connection(s)%s",
		what, w, pid, held, slot->stats.tcp_active,
		qs == w ? "; the slot can be restarted with --worker" : "");
	pp->mbufs_lost += held;
	pp->worker_deaths++;
	mps_slot_reap_end(slot);
	return 1;
}

/* Marks slots whose owner died (workers, and predecessors draining after
 * a --replace); warns once per stall. */
static void
check_workers(struct mps_primary *pp, uint8_t *stalled)
{
	struct mps_shared *sh = pp->shared;
	uint64_t now = rte_get_tsc_cycles();

	for (uint32_t w = 0; w < sh->cfg.n_workers; w++) {
		struct mps_worker_slot *slot = &sh->workers[w];
		uint64_t age_ms;

		reap_slot(pp, &sh->drain[w], w, MPS_DRAIN_QS_ID(w), "draining worker");
		if (reap_slot(pp, slot, w, w, "worker")) {
			stalled[w] = 0;
			continue;
		}
		age_ms = beat_age_ms(sh, slot, now);
		if (slot->owner_pid != 0 && slot->state == MPS_WORKER_RUNNING &&
		    age_ms > STALL_MS) {
			if (!stalled[w])
				MPS_LOG(WARNING, "worker %u (pid %d) stalled: no heartbeat for %" PRIu64 " ms",
					w, slot->owner_pid, age_ms);
			stalled[w] = 1;
		} else {
			stalled[w] = 0;
		}
	}
}

/* One compact line per worker, rates over the last interval:
 * "w0 running pid 1234 rx 812/s 0.5Mb/s tx 790/s 9.1Mb/s drop 3 tcp 4/120/1
 * neigh 3 ring 0 busy 12%" (tcp: active/accepted/reset; drop: RX drops). */
static void
print_stats(const struct mps_shared *sh, struct mps_worker_stats *prev,
	    double secs)
{
	for (uint32_t w = 0; w < sh->cfg.n_workers; w++) {
		const struct mps_worker_slot *slot = &sh->workers[w];
		struct mps_worker_stats s = slot->stats, *p = &prev[w];
		uint64_t busy = s.busy_cycles - p->busy_cycles;
		uint64_t all = busy + s.idle_cycles - p->idle_cycles;

		if (slot->owner_pid == 0 && s.rx_pkts == 0)
			continue;
		if (s.iterations < p->iterations) /* slot reset by a restart */
			memset(p, 0, sizeof(*p));
		printf("w%u %-8s pid %d rx %.0f/s %.1fMb/s tx %.0f/s %.1fMb/s drop %" PRIu64
		       " tcp %" PRIu64 "/%" PRIu64 "/%" PRIu64 " neigh %" PRIu64
		       " ring %" PRIu64 " busy %.0f%%\n",
		       w, mps_worker_state_name(slot->state), slot->owner_pid,
		       (double)(s.rx_pkts - p->rx_pkts) / secs,
		       (double)(s.rx_bytes - p->rx_bytes) * 8 / secs / 1e6,
		       (double)(s.tx_pkts - p->tx_pkts) / secs,
		       (double)(s.tx_bytes - p->tx_bytes) * 8 / secs / 1e6,
		       mps_stats_rx_drops(&s) + s.tx_drop_full + s.tx_drop_nombuf,
		       s.tcp_active, s.tcp_accepted, s.tcp_reset,
		       s.neigh_learned, s.ring_tx,
		       all == 0 ? 0.0 : 100.0 * (double)busy / (double)all);
		*p = s;
	}
	fflush(stdout);
}

/* Takes offline, for the reclaim only, every live worker whose heartbeat
 * is older than STALL_MS (stopped by a signal or a debugger, or wedged):
 * the grace period then completes without it. It comes back online by
 * itself at its next loop iteration (loop.c). */
static void
neigh_offline_stalled(struct mps_primary *pp, uint64_t token)
{
	struct mps_shared *sh = pp->shared;
	uint64_t now = rte_get_tsc_cycles();

	for (uint32_t i = 0; i < 2 * sh->cfg.n_workers; i++) {
		uint32_t w = i % sh->cfg.n_workers;
		uint32_t qs = i < sh->cfg.n_workers ? w : MPS_DRAIN_QS_ID(w);
		const struct mps_worker_slot *slot = qs == w ? &sh->workers[w] :
							       &sh->drain[w];
		uint64_t *cnt = &pp->neigh_qs->qsbr_cnt[qs].cnt;
		uint64_t seen = __atomic_load_n(cnt, __ATOMIC_ACQUIRE);

		/* Only a reader that holds this grace period up, and only if
		 * it did not report meanwhile (compare-and-set: a report that
		 * lands first wins). */
		if (slot->owner_pid == 0 || slot->heartbeat_tsc == 0 ||
		    beat_age_ms(sh, slot, now) <= STALL_MS ||
		    seen == __RTE_QSBR_CNT_THR_OFFLINE || seen >= token ||
		    !__atomic_compare_exchange_n(cnt, &seen,
						 __RTE_QSBR_CNT_THR_OFFLINE, 0,
						 __ATOMIC_RELEASE, __ATOMIC_RELAXED))
			continue;
		sh->neigh_offlined++;
		MPS_LOG(WARNING, "worker %u%s (pid %d) stalled: neighbour aging no longer waits for it",
			w, qs == w ? "" : " (draining)", slot->owner_pid);
	}
}

/* Reclaims expired neighbours, safely against lock-free readers.
 *
 * Why not rte_hash_rcu_qsbr_add: in its DQ mode a worker's add may run the
 * reclaim callback, a function pointer of the primary's binary (the
 * secondaries are another binary: a crash); in its SYNC mode every delete
 * blocks for a full grace period. So the table keeps the default of
 * RW_CONCURRENCY_LF (NO_FREE_ON_DEL) and the primary drives an
 * rte_rcu_qsbr variable in shared memory itself: delete a batch of expired
 * keys (new lookups no longer find them), take a token, and free the key
 * slots only once every registered worker has reported a quiescent state
 * past the token. Workers report one per poll-loop iteration and never
 * hold a lookup result across one; a dead worker is taken offline by
 * check_workers, a stalled one once the grace period is NEIGH_GRACE_MS
 * old (neigh_offline_stalled; what that costs: README "Aging"). The
 * telemetry thread may still show a reused slot for one call, which is
 * harmless. */
static void
neigh_age(struct mps_primary *pp, struct neigh_gc *gc)
{
	struct mps_shared *sh = pp->shared;
	uint64_t now = rte_get_tsc_cycles();

	if (gc->n != 0) {
		if (rte_rcu_qsbr_check(pp->neigh_qs, gc->token, false) != 1) {
			if ((now - gc->since_tsc) * 1000 / sh->tsc_hz <= NEIGH_GRACE_MS)
				return;
			neigh_offline_stalled(pp, gc->token);
			if (rte_rcu_qsbr_check(pp->neigh_qs, gc->token, false) != 1)
				return;
		}
		for (unsigned int i = 0; i < gc->n; i++)
			mps_neigh_release(&pp->neigh_tab, gc->pos[i]);
		sh->neigh_freed += gc->n;
		gc->n = 0;
	}
	gc->n = mps_neigh_expire(&pp->neigh_tab, now / (sh->tsc_hz / 1000),
				 sh->cfg.neigh_ttl_s, gc->pos, NEIGH_GC_BATCH);
	if (gc->n != 0) {
		sh->neigh_expired += gc->n;
		gc->token = rte_rcu_qsbr_start(pp->neigh_qs);
		gc->since_tsc = now;
	}
}

void
mps_monitor_run(struct mps_primary *pp, volatile int *quit)
{
	struct mps_shared *sh = pp->shared;
	uint8_t stalled[MPS_MAX_WORKERS] = { 0 };
	static struct neigh_gc gc;
	static struct mps_worker_stats prev[MPS_MAX_WORKERS];
	uint64_t next_stats = 0, next_metrics = 0, hz = rte_get_tsc_hz();

	while (!*quit) {
		mps_sleep_us(TICK_US);
		check_workers(pp, stalled);
		mps_adopt_tick(pp);
		neigh_age(pp, &gc);
		mps_capture_check(pp);
		if (rte_get_tsc_cycles() >= next_metrics) {
			mps_metrics_update(pp);
			next_metrics = rte_get_tsc_cycles() + hz;
		}
		if (sh->cfg.stats_interval != 0 && rte_get_tsc_cycles() >= next_stats) {
			if (next_stats != 0)
				print_stats(sh, prev, (double)sh->cfg.stats_interval);
			next_stats = rte_get_tsc_cycles() + sh->cfg.stats_interval * hz;
		}
	}
}

/* Raises the stop flag and waits for every live worker to release its slot. */
void
mps_monitor_stop_workers(struct mps_primary *pp, unsigned int timeout_ms)
{
	struct mps_shared *sh = pp->shared;
	int32_t pids[2 * MPS_MAX_WORKERS] = { 0 };
	unsigned int waited = 0;
	uint32_t left;

	/* The pids, not the slots: a worker clears its slot before it exits
	 * (and leaves EAL), and freeing shared memory while it is still
	 * attached waits on an EAL sync request it no longer answers. */
	/* Workers, then draining predecessors (pids[n + w]). */
	for (uint32_t w = 0; w < sh->cfg.n_workers; w++) {
		pids[w] = sh->workers[w].owner_pid;
		pids[MPS_MAX_WORKERS + w] = sh->drain[w].owner_pid;
	}
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
	do {
		left = 0;
		for (uint32_t i = 0; i < 2 * MPS_MAX_WORKERS; i++) {
			uint32_t w = i % MPS_MAX_WORKERS;
			const struct mps_worker_slot *s = i < MPS_MAX_WORKERS ?
				&sh->workers[w] : &sh->drain[w];

			if (w >= sh->cfg.n_workers)
				continue;
			if (pids[i] == 0 && s->owner_pid != 0)
				pids[i] = s->owner_pid; /* started meanwhile */
			if (pids[i] != 0 && mps_pid_alive(pids[i]))
				left++;
		}
		if (left == 0)
			break;
		mps_sleep_us(10000);
		waited += 10;
	} while (waited < timeout_ms);
	for (uint32_t i = 0; i < 2 * MPS_MAX_WORKERS && left != 0; i++)
		if (i % MPS_MAX_WORKERS < sh->cfg.n_workers && pids[i] != 0 &&
		    mps_pid_alive(pids[i]))
			MPS_LOG(WARNING, "worker %u (pid %d) did not stop in %u ms",
				i % MPS_MAX_WORKERS, pids[i], timeout_ms);
}
