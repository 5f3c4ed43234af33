/* SPDX-License-Identifier: BSD-3-Clause
 *
 * primary.h - the primary's init stages and monitor, one file each.
 */
#ifndef MPS_PRIMARY_H
#define MPS_PRIMARY_H

#include <stdint.h>

#include "mps_shared.h"

struct rte_mempool;
struct rte_hash;
struct rte_ring;
struct rte_memzone;
struct rte_rcu_qsbr;

/* Everything the primary owns, for setup and teardown. */
struct mps_primary {
	struct mps_shared *shared;
	const struct rte_memzone *mz;
	struct rte_mempool *pool;
	struct rte_hash *neigh;
	struct mps_neigh_table neigh_tab; /* neigh and its stamps */
	struct rte_ring *rings[MPS_MAX_WORKERS];
	struct rte_ring *drain_rings[MPS_MAX_WORKERS];
	uint16_t n_ports;
	uint16_t port_ids[MPS_MAX_PORTS];
	uint16_t ports_started;
	/* Readers' quiescent states, for neighbour reclaim */
	const struct rte_memzone *qs_mz;
	struct rte_rcu_qsbr *neigh_qs;
	/* When each neighbour key's MAC last changed (locktime) */
	const struct rte_memzone *stamps_mz;
	/* mps-capture's ring and pool, pdump */
	struct rte_ring *capture_ring;
	struct rte_mempool *capture_pool;
	int pdump_ready;
	/* Mbufs the dead workers held when they died */
	uint64_t mbufs_lost;
	uint32_t worker_deaths;
};

/* shared_objs.c: memzone, mbuf pool, neighbour hash, rings. */
int mps_shared_create(struct mps_primary *pp, const struct mps_config *cfg);
void mps_shared_destroy(struct mps_primary *pp);

/* ports.c: find the ports and check they can serve cfg; then queues, RSS,
 * offloads, MTU, start; stop and close. */
int mps_ports_probe(struct mps_primary *pp, const struct mps_config *cfg);
int mps_ports_init(struct mps_primary *pp);
void mps_ports_close(struct mps_primary *pp);

/* telemetry.c: /mps/workers, /mps/config, /mps/neigh. */
int mps_telemetry_register(struct mps_primary *pp);
/* Commands answer "error" from here on: the objects are being torn down. */
void mps_telemetry_unregister(void);

/* monitor.c: the sleeping loop until SIGINT/SIGTERM, then stop workers. */
void mps_monitor_run(struct mps_primary *pp, volatile int *quit);
void mps_monitor_stop_workers(struct mps_primary *pp, unsigned int timeout_ms);

/* metrics.c: the workers' counters by name, summed, and
 * published through rte_metrics once a second by the monitor. */
unsigned int mps_stats_n_fields(void);
const char *mps_stats_field_name(unsigned int i);
uint64_t mps_stats_field(const struct mps_worker_stats *s, unsigned int i);
uint64_t mps_stats_rx_drops(const struct mps_worker_stats *s);
void mps_stats_sum(const struct mps_shared *sh, uint64_t *out); /* n_fields */
int mps_metrics_init(struct mps_primary *pp);
void mps_metrics_update(struct mps_primary *pp);
void mps_metrics_deinit(void);

/* capture.c: the objects mps-capture and the workers' mirror use,
 * rte_pdump for dpdk-dumpcap, and releasing a dead capture's mirror. */
int mps_capture_create(struct mps_primary *pp);
void mps_capture_destroy(struct mps_primary *pp);
void mps_capture_check(struct mps_primary *pp);

/* adopt.c: who serves the queues of absent or dead workers;
 * ports.c: RETA entries of those queues pointed at live queues. */
int mps_adopt_init(struct mps_primary *pp);
void mps_adopt_tick(struct mps_primary *pp);
void mps_ports_reta_live(struct mps_primary *pp, const struct mps_wset *live);

/* exception.c: the kernel exception path (--exception IFACE): the
 * interface, the workers' rings, the thread between them; nothing when
 * off. Destroy after the workers stopped: it removes IFACE. */
int mps_exc_create(struct mps_primary *pp);
void mps_exc_destroy(struct mps_primary *pp);

/* Human name of a slot state. */
const char *mps_worker_state_name(uint32_t state);

#endif /* MPS_PRIMARY_H */
