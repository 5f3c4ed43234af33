/* SPDX-License-Identifier: BSD-3-Clause
 *
 * attach.c - finds the primary's objects by name, checks the layout, claims
 * a worker slot.
 *
 * The claim is atomic; a slot whose owner died may be taken.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_hash.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_memzone.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "attach.h"
#include "mps_log.h"
#include "mps_proc.h"
#include "mps_slot.h"
#include "worker.h"

int
mps_attach(struct mps_worker *w, char *err, size_t errlen)
{
	const struct rte_memzone *mz = rte_memzone_lookup(MPS_MEMZONE_NAME);
	struct mps_shared *sh;
	char name[RTE_RING_NAMESIZE];

	if (mz == NULL) {
		snprintf(err, errlen, "no %s memzone: is mps-primary running with this --file-prefix?",
			 MPS_MEMZONE_NAME);
		return -ENOENT;
	}
	sh = mz->addr;
	if (!mps_shared_compatible(sh)) {
		snprintf(err, errlen, "layout mismatch: primary has magic 0x%x version %u, this binary 0x%x version %u; rebuild both from one tree",
			 sh->magic, sh->layout_version, MPS_MAGIC, MPS_LAYOUT_VERSION);
		return -EPROTO;
	}
	w->shared = sh;
	w->pool = rte_mempool_lookup(MPS_POOL_NAME);
	w->neigh = rte_hash_find_existing(MPS_NEIGH_NAME);
	if (w->pool == NULL || w->neigh == NULL) {
		snprintf(err, errlen, "primary's %s or %s missing", MPS_POOL_NAME,
			 MPS_NEIGH_NAME);
		return -ENOENT;
	}
	if (rte_pktmbuf_priv_size(w->pool) < MPS_MBUF_PRIV_SIZE) {
		snprintf(err, errlen, "mbuf private area too small");
		return -EPROTO;
	}
	w->n_workers = (uint16_t)sh->cfg.n_workers;
	for (uint16_t i = 0; i < w->n_workers; i++) {
		snprintf(name, sizeof(name), MPS_RING_FMT, i);
		w->rings[i] = rte_ring_lookup(name);
		if (w->rings[i] == NULL) {
			snprintf(err, errlen, "ring %s missing", name);
			return -ENOENT;
		}
		snprintf(name, sizeof(name), MPS_DRAIN_RING_FMT, i);
		w->drain_rings[i] = rte_ring_lookup(name);
		if (w->drain_rings[i] == NULL) {
			snprintf(err, errlen, "ring %s missing", name);
			return -ENOENT;
		}
	}
	/* Quiescent states for the primary's neighbour reclaim. */
	mz = rte_memzone_lookup(MPS_NEIGH_QS_NAME);
	if (mz == NULL) {
		snprintf(err, errlen, "memzone %s missing", MPS_NEIGH_QS_NAME);
		return -ENOENT;
	}
	w->neigh_qs = mz->addr;
	/* The table's times (aging and the learning rules' locktime). */
	mz = rte_memzone_lookup(MPS_NEIGH_STAMPS_NAME);
	if (mz == NULL) {
		snprintf(err, errlen, "memzone %s missing", MPS_NEIGH_STAMPS_NAME);
		return -ENOENT;
	}
	w->learner.t = (struct mps_neigh_table){
		.h = w->neigh, .st = mz->addr,
		.n_st = (uint32_t)(mz->len / sizeof(struct mps_neigh_stamp)),
	};
	w->n_ports = (uint16_t)sh->n_ports;
	memcpy(w->port_ids, sh->port_ids, sizeof(w->port_ids));
	w->tx_offloads = sh->tx_offloads;
	return 0;
}

/* 1 if live slot s (not ours) runs on lcore. */
static int
slot_on_lcore(const struct mps_worker_slot *s, uint32_t lcore, int32_t *by)
{
	if (s->owner_pid == getpid() || !mps_pid_alive(s->owner_pid) ||
	    s->lcore_id != lcore)
		return 0;
	*by = s->owner_pid;
	return 1;
}

/* The EAL lcore id indexes the pool's caches and the hash's writer slots:
 * two live processes (draining ones too) must never share one. */
int
mps_check_lcore(const struct mps_shared *sh, char *err, size_t errlen)
{
	uint32_t lcore = rte_lcore_id();
	int32_t by = 0;
	int used = mps_pid_alive(sh->primary_pid) && sh->primary_lcore_id == lcore;

	if (used)
		by = sh->primary_pid;
	for (uint32_t i = 0; i < sh->cfg.n_workers && !used; i++) {
		int32_t s = sh->replace[i].successor_pid;

		used = slot_on_lcore(&sh->workers[i], lcore, &by) ||
		       slot_on_lcore(&sh->drain[i], lcore, &by);
		/* a successor still building its stack */
		if (!used && s != 0 && s != getpid() && mps_pid_alive(s) &&
		    sh->replace[i].successor_lcore == lcore) {
			used = 1;
			by = s;
		}
	}
	if (!used)
		return 0;
	snprintf(err, errlen, "EAL lcore id %u is already used by pid %d: give each process its own, e.g. --lcores %u@0",
		 lcore, by, lcore + 1);
	return -EBUSY;
}

/* How long a claim waits for the primary to reap a dead owner's slot: it
 * looks every 100 ms (primary/monitor.c), so this allows for a busy
 * machine, not for a stopped primary. */
#define REAP_WAIT_MS 5000u

/* Takes slot id if free or owned by a dead process; waits (up to
 * REAP_WAIT_MS) while the primary has yet to reap a dead owner. */
static int
try_claim(struct mps_shared *sh, uint32_t id)
{
	struct mps_worker_slot *s = &sh->workers[id];
	uint64_t until = rte_get_timer_cycles() + rte_get_timer_hz() / 1000 * REAP_WAIT_MS;
	int32_t prev = 0;
	int rc;

	while ((rc = mps_slot_claim(s, getpid(), &prev, REAP_WAIT_MS)) == -EAGAIN &&
	       rte_get_timer_cycles() < until)
		mps_sleep_us(1000);
	if (rc == 0 && prev != 0)
		s->restarts++;
	return rc;
}

int
mps_claim_slot(struct mps_worker *w, int requested, char *err, size_t errlen)
{
	struct mps_shared *sh = w->shared;
	int id = -1, rc;

	if (mps_check_lcore(sh, err, errlen) != 0)
		return -EBUSY;
	if (requested >= 0) {
		if ((uint32_t)requested >= sh->cfg.n_workers) {
			snprintf(err, errlen, "--worker %d out of range: the primary has %u worker slot(s) (0..%u)",
				 requested, sh->cfg.n_workers, sh->cfg.n_workers - 1);
			return -ERANGE;
		}
		rc = try_claim(sh, (uint32_t)requested);
		if (rc == -EAGAIN || rc == -ETIMEDOUT) {
			snprintf(err, errlen, "worker slot %d: its last owner died and the primary has not marked it dead within %u ms (is the primary stopped?)",
				 requested, REAP_WAIT_MS);
			return -EBUSY;
		}
		if (rc != 0) {
			snprintf(err, errlen, "worker slot %d is held by live pid %d",
				 requested, sh->workers[requested].owner_pid);
			return -EBUSY;
		}
		id = requested;
	} else {
		int unreaped = 0;

		for (uint32_t i = 0; i < sh->cfg.n_workers && id < 0; i++) {
			rc = try_claim(sh, i);
			if (rc == 0)
				id = (int)i;
			unreaped |= rc == -EAGAIN || rc == -ETIMEDOUT;
			if (rc == -ETIMEDOUT)
				break; /* slot i is ours, and the primary stuck */
		}
		if (id < 0 && unreaped) {
			snprintf(err, errlen, "no worker slot: a dead worker's slot was not marked dead by the primary within %u ms (is the primary stopped?)",
				 REAP_WAIT_MS);
			return -EBUSY;
		}
		if (id < 0) {
			snprintf(err, errlen, "all %u worker slots are held by live workers",
				 sh->cfg.n_workers);
			return -EBUSY;
		}
	}
	mps_slot_taken(w, (uint16_t)id);
	return 0;
}

void
mps_slot_taken(struct mps_worker *w, uint16_t id)
{
	w->id = id;
	w->slot = &w->shared->workers[id];
	w->stats = &w->slot->stats;
	w->ring = w->rings[id];
	/* A restarted slot starts its gauges afresh; counters keep counting. */
	w->stats->tcp_active = 0;
	w->stats->mbufs_held = 0;
	w->stats->tx_seg_held = 0;
	w->slot->lcore_id = rte_lcore_id();
	/* Alive from now: the primary would take a reader with an old
	 * heartbeat (a dead predecessor's) offline. */
	w->slot->heartbeat_tsc = rte_get_tsc_cycles();
	/* STARTING first: if we die before we register, the primary still
	 * reaps the slot (it leaves DEAD ones alone). */
	__atomic_store_n(&w->slot->state, MPS_WORKER_STARTING, __ATOMIC_RELEASE);
	/* A neighbour-table reader from here (the first SYN of --connect looks
	 * up its next hop before the loop starts) until mps_release_slot. */
	w->qs_id = id;
	rte_rcu_qsbr_thread_register(w->neigh_qs, w->qs_id);
	rte_rcu_qsbr_thread_online(w->neigh_qs, w->qs_id);
}

void
mps_release_slot(struct mps_worker *w)
{
	/* No lookups from here on; never block the reclaim. */
	rte_rcu_qsbr_thread_offline(w->neigh_qs, w->qs_id);
	rte_rcu_qsbr_thread_unregister(w->neigh_qs, w->qs_id);
	w->stats->tcp_active = 0;
	w->stats->mbufs_held = 0;
	w->stats->tx_seg_held = 0;
	__atomic_store_n(&w->slot->state, MPS_WORKER_FREE, __ATOMIC_RELEASE);
	__atomic_store_n(&w->slot->owner_pid, 0, __ATOMIC_RELEASE);
}

int
mps_primary_fd(const char *name, const void *param, size_t len, int timeout_s)
{
	struct timespec ts = { .tv_sec = timeout_s };
	struct rte_mp_msg msg;
	struct rte_mp_reply rep;
	int fd = -1;

	if (len > sizeof(msg.param))
		return -1;
	memset(&msg, 0, sizeof(msg));
	snprintf(msg.name, sizeof(msg.name), "%s", name);
	if (len > 0)
		memcpy(msg.param, param, len);
	msg.len_param = (int)len;
	if (rte_mp_request_sync(&msg, &rep, &ts) != 0)
		return -1;
	if (rep.nb_received == 1 && rep.msgs[0].num_fds == 1)
		fd = rep.msgs[0].fds[0];
	free(rep.msgs);
	return fd;
}
