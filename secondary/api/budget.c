/* SPDX-License-Identifier: BSD-3-Clause
 *
 * budget.c - the worker's memory budget: who may take lwIP's heap and TCP
 * segments for data, and who is shed when they run short.
 *
 * See budget.h for the three parts. Data is only ever taken through
 * mps_mem_room / mps_mem_may_copy (the send queue, lwIP's send buffer, the
 * RX copy buffers), so lwIP's control segments always find the reserve.
 * Counters and gauges go through mps_worker().
 */
#include <errno.h>
#include <string.h>

#include <rte_common.h>

#include "lwip/memp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/stats.h"
#include "lwip/sys.h"

#include "budget.h"
#include "conn.h"
#include "worker.h"

_Static_assert(MEM_STATS && MEMP_STATS, "the budget reads lwIP's heap and pool use");

static uint32_t guar_bytes, guar_segs; /* the guaranteed part */
static uint32_t ctrl_segs;             /* one SYN-ACK or FIN per PCB */
static int shed_wanted;
static uint32_t last_shed_ms;

int
mps_mem_init(uint32_t max_conns)
{
	ctrl_segs = MEMP_NUM_TCP_PCB;
	guar_bytes = max_conns * (MPS_MEM_CONN_MIN + MPS_MEM_CONN_MIN_SEGS * MPS_MEM_PBUF_COST);
	guar_segs = max_conns * MPS_MEM_CONN_MIN_SEGS;
	/* A shared part of at least a quarter of each resource. */
	if ((uint64_t)guar_bytes + MPS_MEM_CTRL_RESERVE > (uint64_t)MEM_SIZE * 3 / 4 ||
	    (uint64_t)guar_segs + ctrl_segs > (uint64_t)MEMP_NUM_TCP_SEG * 3 / 4)
		return -EINVAL;
	shed_wanted = 0;
	return 0;
}

static inline uint32_t
heap_used(void)
{
	return (uint32_t)lwip_stats.mem.used;
}

static inline uint32_t
segs_used(void)
{
	return (uint32_t)lwip_stats.memp[MEMP_TCP_SEG]->used;
}

/* Heap bytes and segments free below limit_bytes/limit_segs. */
static inline uint32_t
below(uint32_t used, uint32_t limit)
{
	return used < limit ? limit - used : 0;
}

uint32_t
mps_mem_room(const struct mps_mem_held *held, uint32_t want, uint16_t mss)
{
	uint32_t heap_top = MEM_SIZE - MPS_MEM_CTRL_RESERVE;
	uint32_t seg_top = MEMP_NUM_TCP_SEG - ctrl_segs;
	uint32_t seg_cost = mss + MPS_MEM_PBUF_COST;
	uint32_t heap = below(heap_used(), heap_top - guar_bytes);
	uint32_t segs = below(segs_used(), seg_top - guar_segs);
	uint32_t own = 0, room;
	uint64_t shared;

	if (want == 0)
		return 0;
	/* The shared part holds floor(heap / seg_cost) whole segments, no
	 * more than segs. The usual answer, all of want, needs no division:
	 * heap * mss >= (want + mss) * seg_cost makes that floor times mss
	 * at least want. */
	if ((uint64_t)heap * mss >= ((uint64_t)want + mss) * seg_cost &&
	    (uint64_t)segs * mss >= want)
		return want;
	/* What the minimum still covers: from the guaranteed part. */
	if (held->bytes < MPS_MEM_CONN_MIN && held->segs < MPS_MEM_CONN_MIN_SEGS) {
		own = MPS_MEM_CONN_MIN - held->bytes;
		if (own > (MPS_MEM_CONN_MIN_SEGS - held->segs) * (uint32_t)mss)
			own = (MPS_MEM_CONN_MIN_SEGS - held->segs) * (uint32_t)mss;
		if (below(heap_used(), heap_top) < own + MPS_MEM_PBUF_COST ||
		    below(segs_used(), seg_top) < MPS_MEM_CONN_MIN_SEGS)
			own = 0; /* the sizing is wrong; counted below */
	}
	/* Beyond it: from the shared part, whole segments. */
	shared = (uint64_t)RTE_MIN(heap / seg_cost, segs) * mss;
	room = shared > own ? (uint32_t)RTE_MIN(shared, (uint64_t)UINT32_MAX) : own;
	if (room < want && room < mss) {
		mps_worker()->stats->mem_wait++;
		shed_wanted = 1;
	}
	return room < want ? room : want;
}

int
mps_mem_may_take(const struct mps_mem_held *held, uint32_t len)
{
	uint32_t heap_top = MEM_SIZE - MPS_MEM_CTRL_RESERVE;
	uint32_t cost = len + MPS_MEM_PBUF_COST;

	if (held->bytes + len <= MPS_MEM_CONN_MIN && below(heap_used(), heap_top) >= cost)
		return 1;
	if (below(heap_used(), heap_top - guar_bytes) >= cost)
		return 1;
	mps_worker()->stats->mem_wait++;
	shed_wanted = 1;
	return 0;
}

/* A candidate for shedding: what it holds beyond its minimum, weighted by
 * how long it has made no progress. */
struct victim {
	struct mps_conn *c;
	uint64_t score;
	uint32_t bytes;
};

/* Keeps the MPS_MEM_SHED_BATCH highest scores, highest first. */
static void
consider(struct victim *v, unsigned int *n, struct mps_conn *c, uint64_t score,
	 uint32_t bytes)
{
	unsigned int i = *n < MPS_MEM_SHED_BATCH ? (*n)++ : MPS_MEM_SHED_BATCH;

	while (i > 0 && v[i - 1].score < score) {
		if (i < MPS_MEM_SHED_BATCH)
			v[i] = v[i - 1];
		i--;
	}
	if (i < MPS_MEM_SHED_BATCH)
		v[i] = (struct victim){ c, score, bytes };
}

/* Resets the connections that hold the most beyond their minimum and have
 * made no progress for at least MPS_MEM_SHED_STALL_MS, worst first, until
 * MPS_MEM_SHED_FREE bytes are freed. One walk of the connection table. */
static void
shed(uint32_t now)
{
	struct victim v[MPS_MEM_SHED_BATCH];
	unsigned int n = 0;
	uint32_t freed = 0;

	for (uint32_t i = 0; i < MPS_CONN_MAX; i++) {
		struct mps_conn *c = mps_conn_slot(i);
		struct mps_mem_held h;
		uint32_t stalled;

		if (!c->in_use || c->pcb == NULL)
			continue;
		mps_conn_held(c, &h);
		stalled = now - c->progress_ms;
		if (h.bytes <= MPS_MEM_CONN_MIN || stalled < MPS_MEM_SHED_STALL_MS)
			continue;
		consider(v, &n, c, (uint64_t)(h.bytes - MPS_MEM_CONN_MIN) * stalled, h.bytes);
	}
	for (unsigned int i = 0; i < n && freed < MPS_MEM_SHED_FREE; i++) {
		freed += v[i].bytes;
		mps_worker()->stats->mem_shed++;
		mps_conn_abort(v[i].c, -ENOMEM);
	}
}

void
mps_mem_poll(void)
{
	struct mps_worker_stats *st = mps_worker()->stats;
	uint32_t now;

	st->lwip_heap_used = heap_used();
	st->lwip_segs_used = segs_used();
	if (!shed_wanted)
		return;
	now = sys_now();
	if (now - last_shed_ms < MPS_MEM_SHED_INTERVAL_MS)
		return;
	last_shed_ms = now;
	shed_wanted = 0;
	shed(now);
}
