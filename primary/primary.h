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

/* Everything the primary owns, for setup and teardown. */
struct mps_primary {
	struct mps_shared *shared;
	const struct rte_memzone *mz;
	struct rte_mempool *pool;
	struct rte_hash *neigh;
	struct rte_ring *rings[MPS_MAX_WORKERS];
	uint16_t n_ports;
	uint16_t port_ids[MPS_MAX_PORTS];
	uint16_t ports_started;
	/* issue 4 (reliability): mbufs the dead workers held when they died */
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

/* monitor.c: the sleeping loop until SIGINT/SIGTERM, then stop workers. */
void mps_monitor_run(struct mps_primary *pp, volatile int *quit);
void mps_monitor_stop_workers(struct mps_primary *pp, unsigned int timeout_ms);

/* Human name of a slot state. */
const char *mps_worker_state_name(uint32_t state);

#endif /* MPS_PRIMARY_H */
