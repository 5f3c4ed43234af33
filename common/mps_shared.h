/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mps_shared.h - the contract between mps-primary and mps-secondary.
 *
 * Every object shared between processes is named here, and the layout of the
 * shared memzone is defined here. Shared memory never holds a function
 * pointer or a pointer into process-private memory. Bump MPS_LAYOUT_VERSION
 * whenever anything in this file changes shape.
 */
#ifndef MPS_SHARED_H
#define MPS_SHARED_H

#include <stdint.h>
#include <sys/types.h>

#include <rte_common.h>

#include "mps_config.h"
#include "mps_parse.h"

#define MPS_MEMZONE_NAME   "mps_shared"
#define MPS_POOL_NAME      "mps_mbuf_pool"
#define MPS_NEIGH_NAME     "mps_neigh"
#define MPS_RING_FMT       "mps_ring_%u"
#define MPS_NEIGH_QS_NAME  "mps_neigh_qs" /* rte_rcu_qsbr of the readers */

/* mps-capture's mirror: copies from the workers (rte_pcapng
 * blocks in mbufs of their own pool), one ring, multi-producer. */
#define MPS_CAPTURE_RING   "mps_capture"
#define MPS_CAPTURE_POOL   "mps_capture_pool"
#define MPS_CAPTURE_RING_SIZE 2048u
#define MPS_CAPTURE_POOL_SIZE 4095u
#define MPS_CAPTURE_FRAME(mtu) ((mtu) + 22u) /* whole frame: Ethernet + one VLAN tag */

#define MPS_MAGIC          0x6d707374u /* "mpst" */
#ifndef MPS_LAYOUT_VERSION /* overridden only to build the mismatch test */
#define MPS_LAYOUT_VERSION 10u
#endif

/* The mbuf private area holds lwIP's struct pbuf_custom (zero-copy RX).
 * The secondary checks sizeof(struct pbuf_custom) fits at compile time. */
#define MPS_MBUF_PRIV_SIZE 64u

#define MPS_RING_SIZE      1024u
#define MPS_NEIGH_ENTRIES  65536u

/* Lifecycle of a worker slot, written by its owner (and by the primary when
 * it finds the owner dead). */
enum mps_worker_state {
	MPS_WORKER_FREE = 0,     /* never claimed or cleanly released */
	MPS_WORKER_STARTING = 1, /* claimed, building its stack */
	MPS_WORKER_RUNNING = 2,  /* in its poll loop */
	MPS_WORKER_STOPPING = 3, /* closing connections, freeing mbufs */
	MPS_WORKER_DEAD = 4,     /* owner died without releasing (primary saw it) */
};

/* Per-worker counters. Written only by the owning worker, read by anyone. */
struct mps_worker_stats {
	uint64_t rx_pkts;
	uint64_t rx_bytes;
	uint64_t tx_pkts;
	uint64_t tx_bytes;
	uint64_t rx_drop_malformed; /* failed the bounds-checked parse */
	uint64_t rx_drop_multiseg;  /* chained RX mbufs we do not reassemble */
	uint64_t rx_drop_lwip;      /* netif->input refused the frame */
	uint64_t tx_retries;        /* NIC refused part of a burst, kept */
	uint64_t tx_drop_full;      /* TX batch full: frame dropped, counted */
	uint64_t tx_drop_nombuf;    /* no mbuf to copy a frame into */
	uint64_t tx_drop_toolong;   /* frame larger than one mbuf */
	uint64_t ring_rx;           /* frames/messages drained from our ring */
	uint64_t ring_tx;           /* frames we put on peers' rings */
	uint64_t ring_drop;         /* peer ring full */
	uint64_t neigh_learned;     /* new entry or changed MAC written */
	uint64_t neigh_refreshed;   /* timestamp refresh written */
	uint64_t neigh_hit;         /* next hop found in the shared table */
	uint64_t neigh_miss;        /* fell back to lwIP's ARP */
	uint64_t neigh_full;        /* table full, could not add */
	uint64_t tcp_accepted;
	uint64_t tcp_active;        /* open connections now (gauge) */
	uint64_t tcp_closed;
	uint64_t tcp_reset;         /* connections ended by RST or error */
	uint64_t tcp_refused;       /* accept refused: no app state left */
	uint64_t http_requests;
	uint64_t http_errors;       /* 4xx answered */
	uint64_t iterations;
	uint64_t busy_iterations;
	uint64_t busy_cycles;
	uint64_t idle_sleeps;
	uint64_t mbufs_held;        /* RX mbufs lwIP holds now (gauge) */
	/* Worker API, active opens, send-queue limits */
	uint64_t tcp_sndq_drop;     /* connections dropped: over their send limit */
	uint64_t sndq_bytes;        /* bytes queued above lwIP, all conns (gauge) */
	uint64_t sndq_max;          /* most bytes one connection had queued */
	uint64_t api_bad_handle;    /* calls with a stale or closed handle */
	uint64_t tcp_connect_ok;    /* active opens established */
	uint64_t tcp_connect_fail;  /* active opens refused, reset or timed out */
	uint64_t client_rtts;       /* echo client round trips completed */
	uint64_t client_rtt_us_sum;
	uint64_t client_rtt_us_max;
	uint64_t client_done;       /* echo client connections that finished */
	/* Drops by reason, and the capture mirror */
	uint64_t rx_drop_unsupported; /* well-formed, not served (VLAN, ...) */
	uint64_t rx_drop_reason[MPS_DROP_REASONS]; /* enum mps_drop_reason */
	uint64_t capture_pkts;      /* copies put on the capture ring */
	uint64_t capture_drop;      /* capture ring full or no mbuf: skipped */
	uint64_t idle_cycles;       /* cycles of iterations that found no work */
	/* reliability */
	uint64_t tcp_pcbs;          /* lwIP active PCBs incl. half-open (gauge) */
	uint64_t tcp_syn_rcvd;      /* half-open PCBs (gauge) */
	uint64_t syn_evicted;       /* half-open PCBs dropped: backlog full */
	uint64_t tx_queued;         /* frames in the TX batch (gauge) */
	/* Queues adopted from absent or dead workers */
	uint64_t adopt_rx;          /* frames received on queues we adopted */
	uint64_t adopt_handed;      /* of those, put on the chosen peer's ring */
	uint64_t adopt_drop;        /* of those, dropped: peer ring full */
	uint64_t adopt_ring_rx;     /* adopted frames a peer handed to us */
	uint64_t adopt_rst;         /* RSTs answering adopted segments of dead connections */
	uint64_t adopt_queues;      /* queues we poll besides our own (gauge) */
	/* Checksum offloads, VLAN, tuning */
	uint64_t rx_csum_sw;        /* TCP/UDP checksums verified in software */
	uint64_t tx_csum_offload;   /* frames whose checksums the NIC fills in */
	uint64_t rx_vlan_sw;        /* VLAN tags stripped in software */
	uint64_t tx_vlan_sw;        /* VLAN tags inserted in software */
	uint64_t tcp_nodelay;       /* connections opened with Nagle off */
	uint64_t tcp_quickack;      /* connections opened with quick ACKs */
	uint64_t tcp_rto_ms;        /* RTO of the last connection established */
	/* Received data cannot pin the shared mbuf pool */
	uint64_t rx_copied;         /* received pbufs copied to lwIP's heap, mbuf freed */
	uint64_t rx_refused;        /* segments refused: connection or worker over its RX bound */
	uint64_t rx_ooseq_capped;   /* out-of-order segments not queued: worker over budget */
	/* TIME_WAIT reuse (see secondary/tcp_hooks.c mps_tcp_inpacket_hook) */
	uint64_t tcp_tw_reused;     /* TIME_WAIT pcbs ended by a new SYN or a RST */
};

/* One worker slot: owner pid and state, heartbeat, stats. */
struct mps_worker_slot {
	volatile int32_t owner_pid; /* 0 = free; claimed by compare-and-set */
	volatile uint32_t state;    /* enum mps_worker_state */
	volatile uint32_t lcore_id; /* EAL lcore id of the owner */
	uint32_t restarts;          /* times this slot was claimed after a death */
	volatile uint64_t heartbeat_tsc; /* rte_get_tsc_cycles() of last loop */
	struct mps_worker_stats stats;
} __rte_cache_aligned;

/* Adoption of queue q (index) whose worker is absent or dead.
 * adopter is written by the primary (a RUNNING worker, or -1) and cleared
 * by the worker returning to q. poller_pid is the lock on q's RX: the
 * adopter takes it (compare-and-set 0 -> its pid) before its first
 * rx_burst on q and stores 0 after its last, so two processes never poll q
 * at once; the returning worker takes it too (once it is 0, or its holder
 * is dead: the primary clears a dead holder too) and holds it while it
 * polls q. poller is an adopter holder's worker id, for display. */
#define MPS_ADOPT_DYNFLAG "mps_dynflag_adopted" /* on frames handed over */

struct mps_adopt_queue {
	volatile int32_t adopter;
	volatile int32_t poller_pid;
	volatile int32_t poller;
	uint32_t pad;
	volatile uint64_t since_tsc; /* when the current adopter was chosen */
};

/* The memzone. The primary fills everything before starting the ports;
 * secondaries only read the config. */
struct mps_shared {
	uint32_t magic;
	uint32_t layout_version;
	int32_t primary_pid;
	uint32_t primary_lcore_id;
	uint64_t tsc_hz;
	volatile uint32_t stop;    /* set by the primary: workers must exit */
	uint32_t n_ports;
	uint16_t port_ids[MPS_MAX_PORTS];
	uint64_t tx_offloads;      /* offloads enabled on every port */
	uint64_t rx_offloads;
	struct mps_config cfg;     /* the single source of network config */
	struct mps_worker_slot workers[MPS_MAX_WORKERS];
	/* Neighbour aging, written by the primary only */
	uint64_t neigh_expired;     /* learned entries deleted after the TTL */
	uint64_t neigh_freed;       /* their slots freed after a grace period */
	uint64_t neigh_static_full; /* --neigh entries that did not fit */
	/* What the workers need to pick RSS-aware local ports */
	uint8_t rss_key[40];       /* the Toeplitz key every port uses */
	uint16_t reta_size;        /* 0: no programmable RETA (e.g. net_tap) */
	uint16_t reta[512];        /* port 0's queue for each RETA entry */
	/* Capture mirror, switched on by mps-capture */
	volatile uint32_t capture_mask;   /* bit w: worker w mirrors RX and TX */
	volatile int32_t capture_pid;     /* the capture holding the mirror, 0 = none */
	volatile uint32_t capture_snaplen; /* bytes kept per frame */
	/* Who serves each queue whose worker is absent or dead */
	struct mps_adopt_queue adopt[MPS_MAX_WORKERS];
	uint32_t reta_live_mask;   /* queues the RETA spreads over (reta ports) */
} __rte_cache_aligned;

#endif /* MPS_SHARED_H */
