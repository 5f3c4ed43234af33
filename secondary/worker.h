/* SPDX-License-Identifier: BSD-3-Clause
 *
 * worker.h - one mps-secondary process: its view of the shared objects, its
 * lwIP netif and its TX batch. Process-private; one instance per process.
 */
#ifndef MPS_WORKER_H
#define MPS_WORKER_H

#include <stdint.h>

#include "lwip/netif.h"

#include "mps_shared.h"

#define MPS_PREFETCH 4u

struct rte_mbuf;
struct rte_mempool;
struct rte_hash;
struct rte_ring;
struct rte_rcu_qsbr;

/* RX mbufs a worker may hold beyond the current burst (lwIP's
 * out-of-order queues, refused data, unread data). Above SOFT, unread
 * data is copied to lwIP's heap and its mbuf freed; at HARD, out-of-order
 * segments are not queued and data that cannot be copied is refused. The
 * primary sizes the pool with MPS_LWIP_HELD per worker for what lwIP holds. */
#define MPS_RX_HELD_SOFT 2048u
#define MPS_RX_HELD_HARD 4096u
_Static_assert(MPS_RX_HELD_HARD + MPS_TX_SEG_HELD <= MPS_LWIP_HELD,
	       "the pool is sized for less");

struct mps_worker {
	struct mps_shared *shared;
	struct mps_worker_slot *slot;
	struct mps_worker_stats *stats;
	struct rte_mempool *pool;
	struct rte_hash *neigh;
	struct rte_ring *rings[MPS_MAX_WORKERS]; /* rings[id] is slot id's */
	/* drain_rings[id]: to slot id's draining predecessor (--replace) */
	struct rte_ring *drain_rings[MPS_MAX_WORKERS];
	struct rte_ring *ring;        /* the ring we consume: rings[id], or
				       * drain_rings[id] while we drain */
	uint16_t id;                  /* worker id == queue id on every port */
	uint16_t n_workers;
	uint16_t n_ports;
	uint16_t port_ids[MPS_MAX_PORTS];
	uint64_t tx_offloads;
	uint8_t txseg_on;          /* TCP segments in mbufs (txseg.c) */
	uint32_t now_s;               /* coarse clock for the neighbour table */
	uint64_t now_ms;              /* the same clock in ms (locktime, budgets) */
	/* The last next hop sent to and its MAC, as read from the table in
	 * this loop iteration (netif.c; 0: none, reset as each iteration
	 * starts): a burst of replies to one peer looks the table up once */
	uint32_t tx_nh;
	uint8_t tx_nh_mac[6];
	uint32_t last_learned_ip;     /* skips the table for a repeating peer */
	uint32_t last_learned_s;
	uint8_t last_learned_mac[6];
	/* Neighbour learning (neigh_learn.c): the rules' context, the write
	 * budget, ARP probes of conflicting addresses, the conflict log */
	struct mps_neigh_learner learner;
	struct mps_tbucket neigh_writes;
	struct mps_tbucket neigh_probes;
	uint32_t probe_ip[MPS_NEIGH_PROBE_SLOTS];
	uint64_t probe_ms[MPS_NEIGH_PROBE_SLOTS];
	uint32_t conflict_log_s;      /* now_s of the last conflict logged */
	uint64_t conflict_unlogged;   /* conflicts since, not logged */
	struct netif netif;
	uint16_t tx_n;
	struct rte_mbuf *tx_batch[MPS_TX_BATCH];
	struct rte_rcu_qsbr *neigh_qs; /* Reported once per iteration */
	/* mps-capture's ring and pool (NULL: no mirroring) */
	struct rte_ring *capture_ring;
	struct rte_mempool *capture_pool;
	/* The largest IP packet every port sends (its MTU); lwIP's
	 * netif MTU is the configured one, what the pool can receive */
	uint16_t port_mtu;
	/* --replace (replace.c): set while this process drains, having
	 * handed its queue to a successor */
	int draining;
	uint32_t qs_id;               /* our QSBR reader id */
	int32_t successor_pid;
	uint64_t drain_until_tsc;     /* the drain timeout */
	uint32_t drain_timeout_s;
	/* The kernel exception path (exception.c); exc_ring NULL: off */
	struct rte_ring *exc_ring;    /* to the primary (we produce) */
	struct rte_ring *exc_tx_ring; /* from the primary (we consume) */
	int exc_efd;                  /* wakes the primary; -1 none */
	int32_t exc_pid;              /* our pid: the rings' ready mark */
	uint8_t exc_ready;            /* the primary reset our rings for us */
	uint8_t exc_pending;          /* frames enqueued since the last kick */
	uint64_t exc_interval;        /* rate limit: TSC cycles per frame */
	uint64_t exc_tolerance;       /* and its burst, in cycles */
	uint64_t exc_kick_tsc;        /* when we last woke the primary */
	uint64_t exc_kick_cycles;     /* MPS_EXC_KICK_US in TSC cycles */
	/* Idle waits on the queues' files (rxwait.c) */
	int rx_fds[MPS_MAX_PORTS];    /* -1: none */
	uint8_t rx_wait;              /* every port has one: ppoll, not sleep */
	uint8_t rx_quiet;             /* bit i: the wait found port i's queue empty */
};

/* worker.c: this process's worker, for code lwIP calls without a context. */
struct mps_worker *mps_worker(void);

/* pcb_guard.c: half-open PCB eviction under SYN flood, PCB gauges. */
void mps_pcb_guard(struct mps_worker *w, uint64_t now_tsc);

#endif /* MPS_WORKER_H */
