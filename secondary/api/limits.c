/* SPDX-License-Identifier: BSD-3-Clause
 *
 * limits.c - one worker's connection limits: how many connections it
 * accepts, how many from one source address, and which idle connection
 * makes room for a new client.
 *
 * Every step is O(1): the per-source counts live in an open-addressed
 * table (linear probing, keyed hash, at most one entry per connection in a
 * table over three times larger), and idle connections on a list, longest idle
 * first, that connections join and leave as their events come. Counters go
 * through mps_worker().
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include <rte_jhash.h>

#include "conn.h"
#include "limits.h"
#include "worker.h"

#define SRC_SLOTS 32768u /* a power of two, over three per connection */
_Static_assert(SRC_SLOTS >= 3u * MPS_CONN_MAX, "per-source table too small");
_Static_assert((SRC_SLOTS & (SRC_SLOTS - 1)) == 0, "SRC_SLOTS must be a power of two");

struct src_count {
	uint32_t ip;    /* network order; 0: free (never a source we accept) */
	uint32_t n;
};

static struct src_count *src;
static uint32_t src_seed;
static uint32_t max_conns, max_per_ip, n_accepted;
static int32_t idle_head = -1, idle_tail = -1; /* oldest first */

static inline struct mps_worker_stats *
stats(void)
{
	return mps_worker()->stats;
}

int
mps_limits_init(uint32_t max, uint32_t per_ip)
{
	max_conns = max;
	max_per_ip = per_ip;
	n_accepted = 0;
	idle_head = idle_tail = -1;
	free(src);
	src = calloc(SRC_SLOTS, sizeof(*src));
	if (src == NULL)
		return -ENOMEM;
	/* keyed, so that sources cannot be picked to collide */
	src_seed = (uint32_t)random() ^ (uint32_t)time(NULL);
	return 0;
}

static inline uint32_t
src_home(uint32_t ip)
{
	return rte_jhash_1word(ip, src_seed) & (SRC_SLOTS - 1);
}

/* The slot holding ip, or the free slot where it would go. */
static uint32_t
src_find(uint32_t ip)
{
	uint32_t i = src_home(ip);

	while (src[i].ip != 0 && src[i].ip != ip)
		i = (i + 1) & (SRC_SLOTS - 1);
	return i;
}

static uint32_t
src_count(uint32_t ip)
{
	return src == NULL ? 0 : src[src_find(ip)].n;
}

static void
src_add(uint32_t ip)
{
	uint32_t i = src_find(ip);

	src[i].ip = ip;
	src[i].n++;
}

/* One fewer from ip; an emptied slot is freed by moving later entries of
 * its probe run back (deletion without tombstones). */
static void
src_del(uint32_t ip)
{
	uint32_t i = src_find(ip), j;

	if (src[i].ip != ip || --src[i].n != 0)
		return;
	for (j = (i + 1) & (SRC_SLOTS - 1); src[j].ip != 0; j = (j + 1) & (SRC_SLOTS - 1)) {
		uint32_t home = src_home(src[j].ip);

		/* j may move to i if its home is not in (i, j] (cyclically) */
		if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
			src[i] = src[j];
			i = j;
		}
	}
	src[i] = (struct src_count){ 0, 0 };
}

enum mps_syn_verdict
mps_limits_syn(uint32_t src_ip, uint32_t half_open)
{
	if (max_per_ip != 0 && src_count(src_ip) >= max_per_ip) {
		stats()->conn_limit_ip++;
		return MPS_SYN_RST;
	}
	/* Full: let the SYN through only if an idle connection can make room
	 * once its handshake completes (a forged SYN never evicts anyone). */
	if (n_accepted + half_open >= max_conns && idle_head < 0) {
		stats()->conn_limit++;
		return MPS_SYN_DROP;
	}
	return MPS_SYN_PASS;
}

int
mps_limits_accept(struct mps_conn *c)
{
	if (max_per_ip != 0 && src_count(c->peer_ip) >= max_per_ip) {
		stats()->conn_limit_ip++;
		return -1;
	}
	if (n_accepted >= max_conns) {
		if (idle_head < 0) {
			stats()->conn_limit++;
			return -1;
		}
		/* nginx closes idle keep-alive connections for a new client;
		 * a RST gives the PCB back at once (see README) */
		stats()->conn_idle_evicted++;
		mps_conn_abort(mps_conn_slot((uint32_t)idle_head), -ECONNABORTED);
	}
	c->accepted = 1;
	n_accepted++;
	src_add(c->peer_ip);
	return 0;
}

void
mps_limits_set_idle(struct mps_conn *c, int idle)
{
	int32_t i = mps_conn_index(c);

	if (!!idle == c->idle)
		return;
	if (idle) {
		c->idle = 1;
		c->idle_prev = idle_tail;
		c->idle_next = -1;
		if (idle_tail >= 0)
			mps_conn_slot((uint32_t)idle_tail)->idle_next = i;
		else
			idle_head = i;
		idle_tail = i;
		return;
	}
	if (c->idle_prev >= 0)
		mps_conn_slot((uint32_t)c->idle_prev)->idle_next = c->idle_next;
	else
		idle_head = c->idle_next;
	if (c->idle_next >= 0)
		mps_conn_slot((uint32_t)c->idle_next)->idle_prev = c->idle_prev;
	else
		idle_tail = c->idle_prev;
	c->idle = 0;
}

void
mps_limits_release(struct mps_conn *c)
{
	mps_limits_set_idle(c, 0);
	if (!c->accepted)
		return;
	c->accepted = 0;
	n_accepted--;
	src_del(c->peer_ip);
}
