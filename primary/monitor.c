/* SPDX-License-Identifier: BSD-3-Clause
 *
 * monitor.c - the primary's main loop. It sleeps between checks (never
 * busy-polls): worker liveness by pid and heartbeat, the optional per-worker
 * stats line, and the orderly stop of the workers at shutdown.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>

#include <rte_cycles.h>

#include "mps_log.h"
#include "mps_proc.h"
#include "primary.h"

#define TICK_US 100000u       /* 100 ms between checks */
#define STALL_MS 1000u        /* heartbeat older than this: stalled */

static const char *const state_names[] = {
	[MPS_WORKER_FREE] = "free",
	[MPS_WORKER_STARTING] = "starting",
	[MPS_WORKER_RUNNING] = "running",
	[MPS_WORKER_STOPPING] = "stopping",
	[MPS_WORKER_DEAD] = "dead",
};

const char *
mps_worker_state_name(uint32_t state)
{
	return state < RTE_DIM(state_names) ? state_names[state] : "?";
}

static int
pid_alive(int32_t pid)
{
	return mps_pid_alive(pid);
}

/* Marks slots whose owner died, counting the mbufs it held (lost to the
 * pool: see README "Reliability"); warns once per stall. */
static void
check_workers(struct mps_primary *pp, uint8_t *stalled)
{
	struct mps_shared *sh = pp->shared;
	uint64_t now = rte_get_tsc_cycles();

	for (uint32_t w = 0; w < sh->cfg.n_workers; w++) {
		struct mps_worker_slot *slot = &sh->workers[w];
		int32_t pid = slot->owner_pid;
		uint64_t age_ms;

		if (pid == 0 || slot->state == MPS_WORKER_DEAD)
			continue;
		if (!pid_alive(pid)) {
			uint64_t held = slot->stats.mbufs_held + slot->stats.tx_queued;

			MPS_LOG(WARNING, "worker %u (pid %d) died; slot %u can be restarted with --worker %u (it held %" PRIu64 " mbufs)",
				w, pid, w, w, held);
			pp->mbufs_lost += held;
			pp->worker_deaths++;
			slot->state = MPS_WORKER_DEAD;
			stalled[w] = 0;
			continue;
		}
		/* The worker may have beaten after we read the clock. */
		age_ms = slot->heartbeat_tsc >= now ? 0 :
			 (now - slot->heartbeat_tsc) * 1000 / sh->tsc_hz;
		if (slot->state == MPS_WORKER_RUNNING && age_ms > STALL_MS) {
			if (!stalled[w])
				MPS_LOG(WARNING, "worker %u (pid %d) stalled: no heartbeat for %" PRIu64 " ms",
					w, pid, age_ms);
			stalled[w] = 1;
		} else {
			stalled[w] = 0;
		}
	}
}

static void
print_stats(const struct mps_shared *sh)
{
	for (uint32_t w = 0; w < sh->cfg.n_workers; w++) {
		const struct mps_worker_slot *slot = &sh->workers[w];
		const struct mps_worker_stats *s = &slot->stats;

		printf("worker %u pid %d %-8s rx %" PRIu64 " tx %" PRIu64
		       " drop %" PRIu64 " accepted %" PRIu64 " active %" PRIu64
		       " http %" PRIu64 " neigh +%" PRIu64 "/hit %" PRIu64 "\n",
		       w, slot->owner_pid, mps_worker_state_name(slot->state),
		       s->rx_pkts, s->tx_pkts,
		       s->rx_drop_malformed + s->rx_drop_multiseg + s->rx_drop_lwip +
			       s->tx_drop_full + s->tx_drop_nombuf,
		       s->tcp_accepted, s->tcp_active, s->http_requests,
		       s->neigh_learned, s->neigh_hit);
	}
	fflush(stdout);
}

void
mps_monitor_run(struct mps_primary *pp, volatile int *quit)
{
	struct mps_shared *sh = pp->shared;
	uint8_t stalled[MPS_MAX_WORKERS] = { 0 };
	uint64_t next_stats = 0, hz = rte_get_tsc_hz();

	while (!*quit) {
		mps_sleep_us(TICK_US);
		check_workers(pp, stalled);
		if (sh->cfg.stats_interval != 0 && rte_get_tsc_cycles() >= next_stats) {
			if (next_stats != 0)
				print_stats(sh);
			next_stats = rte_get_tsc_cycles() + sh->cfg.stats_interval * hz;
		}
	}
}

/* Raises the stop flag and waits for every live worker to release its slot. */
void
mps_monitor_stop_workers(struct mps_primary *pp, unsigned int timeout_ms)
{
	struct mps_shared *sh = pp->shared;
	unsigned int waited = 0;
	uint32_t left;

	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
	do {
		left = 0;
		for (uint32_t w = 0; w < sh->cfg.n_workers; w++)
			if (pid_alive(sh->workers[w].owner_pid))
				left++;
		if (left == 0)
			break;
		mps_sleep_us(10000);
		waited += 10;
	} while (waited < timeout_ms);
	for (uint32_t w = 0; w < sh->cfg.n_workers && left != 0; w++)
		if (pid_alive(sh->workers[w].owner_pid))
			MPS_LOG(WARNING, "worker %u (pid %d) did not stop in %u ms",
				w, sh->workers[w].owner_pid, timeout_ms);
}
