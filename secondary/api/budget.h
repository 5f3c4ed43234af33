/* SPDX-License-Identifier: BSD-3-Clause
 *
 * budget.h - the worker's memory budget: who may take lwIP's heap and TCP
 * segments for data, and who is shed when they run short.
 *
 * Internal to the API (api/). Two resources, each cut in three:
 *
 *   [ shared ......................| guaranteed | control reserve ]
 *
 * - control reserve: only lwIP's own control segments (SYN-ACK, ACK, RST,
 *   FIN, probes) reach it, since data never does: the stack can always
 *   answer, however full the data buffers are;
 * - guaranteed: max_conns x MPS_MEM_CONN_MIN, so that every connection can
 *   always hold its minimum (a response header, a few segments in flight);
 * - shared: the rest, for data beyond a connection's minimum, first come;
 *   when it is short, the connections that hold the most beyond their
 *   minimum without progress for the longest are reset (shed), never one
 *   that is moving.
 * The gauges are lwIP's own heap and pool use (MEM_STATS, MEMP_STATS).
 */
#ifndef MPS_API_BUDGET_H
#define MPS_API_BUDGET_H

#include <stdint.h>

#define MPS_MEM_CTRL_RESERVE (4u << 20) /* heap bytes data never takes */
#define MPS_MEM_CONN_MIN 4096u          /* bytes a connection may always hold */
#define MPS_MEM_CONN_MIN_SEGS 3u        /* ... and TCP segments */
#define MPS_MEM_PBUF_COST 96u           /* heap bytes a pbuf costs besides its data */
#define MPS_MEM_SHED_STALL_MS 1000u     /* no progress this long: may be shed */
#define MPS_MEM_SHED_INTERVAL_MS 50u    /* one shedding pass at most this often */
#define MPS_MEM_SHED_BATCH 32u          /* connections one pass may reset */
#define MPS_MEM_SHED_FREE (1u << 20)    /* what one pass aims to free */

/* What one connection holds: data bytes (sent and unacknowledged, queued,
 * copied received data) and TCP segments (lwIP's send queue). */
struct mps_mem_held {
	uint32_t bytes;
	uint32_t segs;
};

/* Sets the guaranteed part from the per-worker connection limit. 0, or
 * -EINVAL when the heap or the segment pool cannot hold it. */
int mps_mem_init(uint32_t max_conns);
/* Bytes a connection holding *held may take now, in pieces of mss bytes
 * (one segment each), up to want. Counts a wait (mem_wait) and asks for a
 * shedding pass when the shared part cannot give what its minimum does not
 * cover. */
uint32_t mps_mem_room(const struct mps_mem_held *held, uint32_t want, uint16_t mss);
/* len heap bytes of data in one piece (a send-queue or RX copy buffer),
 * on the same rule: 1 if a connection holding *held may take them now. */
int mps_mem_may_take(const struct mps_mem_held *held, uint32_t len);
/* Runs a shedding pass if one was asked for and the last is old enough;
 * publishes the gauges. Called once per loop iteration: O(1) unless a pass
 * runs (then one walk of the connection table). */
void mps_mem_poll(void);

#endif /* MPS_API_BUDGET_H */
