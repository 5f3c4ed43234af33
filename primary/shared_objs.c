/* SPDX-License-Identifier: BSD-3-Clause
 *
 * shared_objs.c - creates the objects the secondaries attach to by name.
 *
 * The mps_shared memzone (with the stack's ISN secret), the mbuf pool, the
 * neighbour hash and one ring per worker (see mps_shared.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_hash.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_memzone.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "mps_log.h"
#include "mps_neigh.h"
#include "mps_ring.h"
#include "primary.h"

/* Pool size from the contract (MPS_POOL_MBUFS), rounded to 2^n - 1. */
static unsigned int
pool_size(unsigned int n_ports, unsigned int n_workers)
{
	return rte_align32pow2(MPS_POOL_MBUFS(n_ports, n_workers)) - 1;
}

/* The readers' QSBR variable lives in its own memzone: plain
 * shared data (no pointers), one thread id per worker slot. */
static int
neigh_qs_create(struct mps_primary *pp, int socket)
{
	size_t sz = rte_rcu_qsbr_get_memsize(MPS_QS_READERS);

	pp->qs_mz = rte_memzone_reserve_aligned(MPS_NEIGH_QS_NAME, sz, socket, 0,
						RTE_CACHE_LINE_SIZE);
	if (pp->qs_mz == NULL) {
		MPS_LOG(ERR, "cannot reserve memzone %s: %s", MPS_NEIGH_QS_NAME,
			rte_strerror(rte_errno));
		return -rte_errno;
	}
	pp->neigh_qs = pp->qs_mz->addr;
	return rte_rcu_qsbr_init(pp->neigh_qs, MPS_QS_READERS);
}

/* The table's times: one unstamped struct mps_neigh_stamp per key
 * position the table can hand out. */
static int
neigh_stamps_create(struct mps_primary *pp, int socket)
{
	uint32_t n = mps_neigh_stamp_slots(pp->neigh);
	size_t sz = (size_t)n * sizeof(struct mps_neigh_stamp);

	pp->stamps_mz = rte_memzone_reserve_aligned(MPS_NEIGH_STAMPS_NAME, sz,
						    socket, 0, RTE_CACHE_LINE_SIZE);
	if (pp->stamps_mz == NULL) {
		MPS_LOG(ERR, "cannot reserve memzone %s (%zu bytes): %s",
			MPS_NEIGH_STAMPS_NAME, sz, rte_strerror(rte_errno));
		return -rte_errno;
	}
	mps_neigh_stamps_init(pp->stamps_mz->addr, n);
	pp->neigh_tab = (struct mps_neigh_table){
		.h = pp->neigh, .st = pp->stamps_mz->addr, .n_st = n,
	};
	return 0;
}

/* --neigh entries, before any worker runs. */
static void
neigh_add_static(struct mps_primary *pp, const struct mps_config *cfg)
{
	for (uint32_t i = 0; i < cfg->n_static_neigh; i++) {
		if (mps_neigh_add_static(pp->neigh, cfg->static_neigh[i].ip,
					 cfg->static_neigh[i].mac) != 0) {
			MPS_LOG(WARNING, "static neighbour %u does not fit the table", i);
			pp->shared->neigh_static_full++;
		}
	}
}

/* Fills buf from the kernel's random source (getrandom(2), blocking until
 * it is seeded). Returns 0 or a negative errno. */
static int
random_fill(uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = getrandom(buf + got, len - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	return 0;
}

int
mps_shared_create(struct mps_primary *pp, const struct mps_config *cfg)
{
	struct mps_shared *sh;
	unsigned int n_mbufs;
	uint16_t data_room;
	char name[RTE_RING_NAMESIZE];
	int socket = (int)rte_socket_id();
	int ret;

	pp->mz = rte_memzone_reserve(MPS_MEMZONE_NAME, sizeof(*sh), socket,
				     RTE_MEMZONE_2MB | RTE_MEMZONE_SIZE_HINT_ONLY);
	if (pp->mz == NULL) {
		MPS_LOG(ERR, "cannot reserve memzone %s: %s", MPS_MEMZONE_NAME,
			rte_strerror(rte_errno));
		return -rte_errno;
	}
	sh = pp->mz->addr;
	memset(sh, 0, sizeof(*sh));
	sh->magic = MPS_MAGIC;
	sh->layout_version = MPS_LAYOUT_VERSION;
	sh->primary_pid = getpid();
	sh->primary_lcore_id = rte_lcore_id();
	sh->tsc_hz = rte_get_tsc_hz();
	sh->cfg = *cfg;
	pp->shared = sh;
	/* RFC 6528's secret: once per stack, shared by every worker. */
	ret = random_fill(sh->isn_secret, sizeof(sh->isn_secret));
	if (ret != 0) {
		MPS_LOG(ERR, "cannot draw the ISN secret: getrandom: %s", strerror(-ret));
		return ret;
	}

	/* Room for one full frame (MTU + Ethernet + VLAN) after the headroom. */
	data_room = (uint16_t)RTE_MAX((unsigned int)RTE_MBUF_DEFAULT_BUF_SIZE,
				      RTE_PKTMBUF_HEADROOM + cfg->mtu + 18u);
	n_mbufs = cfg->n_mbufs != 0 ? cfg->n_mbufs :
				       pool_size(pp->n_ports, cfg->n_workers);
	pp->pool = rte_pktmbuf_pool_create(MPS_POOL_NAME, n_mbufs, MPS_POOL_CACHE,
					   MPS_MBUF_PRIV_SIZE, data_room, socket);
	if (pp->pool == NULL) {
		MPS_LOG(ERR, "cannot create mbuf pool (%u mbufs of %u bytes): %s",
			n_mbufs, data_room, rte_strerror(rte_errno));
		return -rte_errno;
	}
	MPS_LOG(INFO, "mbuf pool %s: %u mbufs, data room %u", MPS_POOL_NAME,
		n_mbufs, data_room);

	pp->neigh = mps_neigh_create(MPS_NEIGH_NAME, cfg->neigh_entries, socket);
	if (pp->neigh == NULL) {
		MPS_LOG(ERR, "cannot create hash %s: %s", MPS_NEIGH_NAME,
			rte_strerror(rte_errno));
		return -rte_errno;
	}
	if (neigh_qs_create(pp, socket) != 0 || neigh_stamps_create(pp, socket) != 0)
		return -rte_errno;
	neigh_add_static(pp, cfg);

	for (unsigned int w = 0; w < cfg->n_workers; w++) {
		snprintf(name, sizeof(name), MPS_RING_FMT, w);
		pp->rings[w] = rte_ring_create(name, MPS_RING_SIZE, socket,
					       RING_F_SC_DEQ);
		if (pp->rings[w] == NULL) {
			MPS_LOG(ERR, "cannot create ring %s: %s", name,
				rte_strerror(rte_errno));
			return -rte_errno;
		}
		snprintf(name, sizeof(name), MPS_DRAIN_RING_FMT, w);
		pp->drain_rings[w] = rte_ring_create(name, MPS_RING_SIZE, socket,
						     RING_F_SC_DEQ);
		if (pp->drain_rings[w] == NULL) {
			MPS_LOG(ERR, "cannot create ring %s: %s", name,
				rte_strerror(rte_errno));
			return -rte_errno;
		}
	}
	return 0;
}

/* Frees in reverse order; safe on a partly created set. */
void
mps_shared_destroy(struct mps_primary *pp)
{
	for (unsigned int w = 0; w < MPS_MAX_WORKERS; w++) {
		if (pp->rings[w] != NULL) {
			mps_ring_free_mbufs(pp->rings[w]);
			rte_ring_free(pp->rings[w]);
			pp->rings[w] = NULL;
		}
		if (pp->drain_rings[w] != NULL) {
			mps_ring_free_mbufs(pp->drain_rings[w]);
			rte_ring_free(pp->drain_rings[w]);
			pp->drain_rings[w] = NULL;
		}
	}
	rte_hash_free(pp->neigh);
	pp->neigh = NULL;
	if (pp->stamps_mz != NULL)
		rte_memzone_free(pp->stamps_mz);
	pp->stamps_mz = NULL;
	if (pp->qs_mz != NULL)
		rte_memzone_free(pp->qs_mz);
	pp->qs_mz = NULL;
	pp->neigh_qs = NULL;
	rte_mempool_free(pp->pool);
	pp->pool = NULL;
	if (pp->mz != NULL)
		rte_memzone_free(pp->mz);
	pp->mz = NULL;
	pp->shared = NULL;
}
