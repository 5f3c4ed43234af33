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

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <rte_bitops.h>
#include <rte_common.h>
#include <rte_seqcount.h>

#include "mps_config.h"
#include "mps_isn.h"
#include "mps_neigh.h"
#include "mps_parse.h"

#define MPS_MEMZONE_NAME   "mps_shared"
#define MPS_POOL_NAME      "mps_mbuf_pool"
#define MPS_NEIGH_NAME     "mps_neigh"
#define MPS_RING_FMT       "mps_ring_%u"
#define MPS_DRAIN_RING_FMT "mps_drain_%u" /* to worker K's draining predecessor */
#define MPS_NEIGH_QS_NAME  "mps_neigh_qs" /* rte_rcu_qsbr of the readers */
#define MPS_NEIGH_STAMPS_NAME "mps_neigh_stamps" /* each key position's times */

/* mps-capture's mirror: copies from the workers (rte_pcapng
 * blocks in mbufs of their own pool), one ring, multi-producer. */
#define MPS_CAPTURE_RING   "mps_capture"
#define MPS_CAPTURE_POOL   "mps_capture_pool"
#define MPS_CAPTURE_RING_SIZE 2048u
#define MPS_CAPTURE_POOL_SIZE 4095u
#define MPS_CAPTURE_FRAME(mtu) ((mtu) + 22u) /* whole frame: Ethernet + one VLAN tag */

#define MPS_MAGIC          0x6d707374u /* "mpst" */
#ifndef MPS_LAYOUT_VERSION /* overridden only to build the mismatch test */
#define MPS_LAYOUT_VERSION 25u
#endif

/* The mbuf private area holds lwIP's struct pbuf_custom (zero-copy RX).
 * The secondary checks sizeof(struct pbuf_custom) fits at compile time. */
#define MPS_MBUF_PRIV_SIZE 64u

#define MPS_RING_SIZE      1024u

/* The kernel exception path (--exception IFACE; primary/exception.c,
 * secondary/exception.c). Per worker w two single-producer/single-consumer
 * rings: "mps_exc_<w>" carries what the worker does not serve to the
 * primary, which writes it to IFACE; "mps_exc_tx_<w>" carries what the
 * kernel sent on IFACE from the primary to worker w, which transmits it.
 * Both are reset by the primary when w's slot changes owner. The rate
 * limit (each direction) lets EXC_BURST_MS of --exception-rate through at
 * once. The primary sleeps in poll(2) on IFACE and an eventfd the workers
 * write when it sleeps (handed to them with DPDK's multi-process message
 * MPS_EXC_MP_NAME; each worker at most once per MPS_EXC_KICK_US), at
 * most MPS_EXC_POLL_MS. */
#define MPS_EXC_RING_FMT    "mps_exc_%u"
#define MPS_EXC_TX_RING_FMT "mps_exc_tx_%u"
#define MPS_EXC_RING_SIZE   512u
#define MPS_EXC_MP_NAME     "mps_exc_efd"
#define MPS_EXC_RATE        10000   /* --exception-rate default, frames/s */
#define MPS_EXC_RATE_MAX    10000000
#define MPS_EXC_BURST_MS    100u
#define MPS_EXC_POLL_MS     100u
#define MPS_EXC_KICK_US     1000u

/* A worker's idle wait on its net_tap queues: it asks the primary, with
 * DPDK's multi-process message MPS_RXFD_MP_NAME (param: struct
 * mps_rxfd_req), for the file of queue `queue` of port `port`, and sleeps in
 * ppoll(2) on it instead of reading it empty (net_tap's RX burst is one
 * readv(2) per frame and one more that finds nothing). The reply has one
 * descriptor, or none where the port has no such file (only net_tap's is
 * handed out: it is readable exactly when the queue holds a frame). */
#define MPS_RXFD_MP_NAME    "mps_rx_fd"
struct mps_rxfd_req {
	uint16_t port;
	uint16_t queue;
};

/* Ports and the mbuf pool: the primary configures and sizes by these, the
 * workers poll and hold by them. */
#define MPS_RX_DESC        1024u  /* RX descriptors per queue */
#define MPS_TX_DESC        1024u  /* TX descriptors per queue */
#define MPS_RX_BURST       32u    /* frames per rte_eth_rx_burst */
#define MPS_TX_BATCH       512u   /* frames a worker keeps for the NIC, bounded */
#define MPS_POOL_CACHE     256u   /* per-lcore mempool cache */
#define MPS_LWIP_HELD      8192u  /* mbufs one worker's lwIP may hold: received
				   * data (unread, out-of-order; see
				   * MPS_RX_HELD_HARD) and TCP segments */
#define MPS_TX_SEG_HELD    2048u  /* ... of which TCP segments (secondary/txseg.c) */
/* A frame sent by reference (secondary/txseg.c) is 2 mbufs, its headers
 * and a reference on a segment's payload, and may keep that segment's mbuf
 * once lwIP let go of it: 3 mbufs per frame in a TX batch, 3 per 2
 * descriptors of a TX ring (one mbuf each). */
#define MPS_TX_FRAME_MBUFS 3u
/* Pool: every queue's descriptors, burst and cache, and per worker what its
 * lwIP, its TX batch and its ring may hold, plus one more worker's worth
 * for a predecessor draining beside its successor (--replace; a rolling
 * restart replaces one worker at a time); rounded up to 2^n - 1. */
#define MPS_POOL_MBUFS(n_ports, n_workers) \
	((n_ports) * (n_workers) * (MPS_RX_DESC + MPS_TX_DESC * MPS_TX_FRAME_MBUFS / 2 + \
				    MPS_RX_BURST + MPS_POOL_CACHE) + \
	 ((n_workers) + 1) * (MPS_LWIP_HELD + MPS_TX_BATCH * MPS_TX_FRAME_MBUFS + MPS_RING_SIZE) + \
	 (n_workers) * 2 * MPS_EXC_RING_SIZE)

/* RSS: the symmetric Toeplitz key every port is given (the longest a port
 * takes; one that wants fewer bytes gets its first ones) and the largest
 * redirection table mirrored in the memzone. */
#define MPS_RSS_KEY_LEN    52u
#define MPS_RETA_MAX       512u

/* Neighbour table: --neigh-ttl and --neigh-entries defaults and ranges
 * (plain numbers: the usage text prints them). */
#define MPS_NEIGH_TTL_S        300
#define MPS_NEIGH_TTL_MAX_S    1800
#define MPS_NEIGH_ENTRIES      65536
#define MPS_NEIGH_ENTRIES_MIN  64
#define MPS_NEIGH_ENTRIES_MAX  1048576
_Static_assert(MPS_MAX_WORKERS - 1 <= MPS_NEIGH_WORKER_MASK,
	       "worker ids beyond the neighbour word's field");
/* The lcore plan of mps_config.h fits EAL's ids: the primary's 0, two per
 * worker slot, mps-capture's above them. */
_Static_assert(MPS_SUCCESSOR_LCORE(MPS_MAX_WORKERS - 1) < MPS_CAPTURE_LCORE &&
	       MPS_CAPTURE_LCORE < RTE_MAX_LCORE, "lcore ids beyond RTE_MAX_LCORE");

/* A set of worker ids (the capture's workers, the RETA's live queues): one
 * bit per worker in 64-bit words, any MPS_MAX_WORKERS. Not rte_bitmap (its
 * header holds pointers, which shared memory must not) nor the
 * rte_bit_relaxed_* calls (experimental in DPDK 22.11): RTE_BIT64 and a
 * word per 64 workers. A shared set is written word by word (atomic
 * stores) and read a word at a time, which is all a worker needs. */
#define MPS_WSET_WORDS ((MPS_MAX_WORKERS + 63u) / 64u)
struct mps_wset {
	volatile uint64_t bits[MPS_WSET_WORDS];
};

static inline void
mps_wset_add(struct mps_wset *s, uint32_t w)
{
	s->bits[w / 64u] |= RTE_BIT64(w % 64u);
}

/* Is w in s? One relaxed load of w's word (the worker's hot path). */
static inline int
mps_wset_has(const struct mps_wset *s, uint32_t w)
{
	return w < MPS_MAX_WORKERS &&
	       ((__atomic_load_n(&s->bits[w / 64u], __ATOMIC_RELAXED) >> (w % 64u)) & 1u);
}

/* Publishes src into the shared set dst, word by word (release). */
static inline void
mps_wset_store(struct mps_wset *dst, const struct mps_wset *src)
{
	for (uint32_t i = 0; i < MPS_WSET_WORDS; i++)
		__atomic_store_n(&dst->bits[i], src->bits[i], __ATOMIC_RELEASE);
}

static inline int
mps_wset_equal(const struct mps_wset *a, const struct mps_wset *b)
{
	for (uint32_t i = 0; i < MPS_WSET_WORDS; i++)
		if (a->bits[i] != b->bits[i])
			return 0;
	return 1;
}

/* s as hex, most significant word first ("0x3" for workers 0 and 1);
 * buf must hold 2 + 16 * MPS_WSET_WORDS + 1 bytes. */
#define MPS_WSET_HEX_LEN (3u + 16u * MPS_WSET_WORDS)
static inline const char *
mps_wset_hex(const struct mps_wset *s, char *buf, size_t len)
{
	size_t off = (size_t)snprintf(buf, len, "0x");
	int lead = 1;

	for (uint32_t i = MPS_WSET_WORDS; i-- > 0 && off < len;) {
		uint64_t v = s->bits[i];

		if (lead && v == 0 && i != 0)
			continue;
		off += (size_t)snprintf(buf + off, len - off, lead ? "%" PRIx64 : "%016" PRIx64, v);
		lead = 0;
	}
	return buf;
}

/* Learning rules (common/mps_neigh.h). --neigh-locktime: an ARP reply does
 * not change a MAC that changed less than this long ago (Linux's
 * locktime). Writes: every worker's writes to the table (new entries,
 * changes, refreshes, attempts on a full table) come out of its own token
 * bucket, so a flood of new sources cannot hold the hash's writer lock;
 * the burst is twice the largest legitimate burst the tests replay (2,000
 * new hosts at once, test_neigh.py). Probes: an IPv4 frame claiming a
 * known address with another MAC makes its worker ask by ARP, at most once
 * per address per interval and PROBE_RATE a second in all. Conflicts are
 * logged at most once per LOG_S per worker. */
#define MPS_NEIGH_LOCKTIME_MS     1000
#define MPS_NEIGH_LOCKTIME_MAX_MS 60000
#define MPS_NEIGH_WRITE_RATE      1024u /* writes a second, per worker */
#define MPS_NEIGH_WRITE_BURST     4096u
#define MPS_NEIGH_PROBE_RATE      8u    /* ARP probes a second, per worker */
#define MPS_NEIGH_PROBE_BURST     16u
#define MPS_NEIGH_PROBE_INTERVAL_MS 1000u /* per address */
#define MPS_NEIGH_PROBE_SLOTS     64u   /* addresses a worker remembers probing */
#define MPS_NEIGH_LOG_S           1u

/* Lifecycle of a worker slot, written by its owner (and by the primary when
 * it finds the owner dead). */
enum mps_worker_state {
	MPS_WORKER_FREE = 0,     /* never claimed or cleanly released */
	MPS_WORKER_STARTING = 1, /* claimed, building its stack */
	MPS_WORKER_RUNNING = 2,  /* in its poll loop */
	MPS_WORKER_STOPPING = 3, /* closing connections, freeing mbufs */
	MPS_WORKER_DEAD = 4,     /* owner died without releasing (primary saw it) */
	MPS_WORKER_DRAINING = 5, /* a replaced worker finishing its connections
				  * (drain slots only) */
	MPS_WORKER_REAPING = 6,  /* owner died; the primary unregisters its
				  * reader: no claims until DEAD (mps_slot.h) */
};

/* The workers' counters, listed once, by subsystem. Everything that shows
 * them is generated from this list: the slot's struct mps_worker_stats,
 * rte_metrics names (dpdk-proc-info --metrics), /mps/stats, /mps/worker,ID
 * and the Python tools (which read the names from telemetry).
 *
 * X(name, per_worker, what): per_worker = 1 puts the counter in the compact
 * per-worker rte_metrics set ("mps_w<ID>_<name>") besides the total
 * ("mps_<name>"). Gauges say so in their text. Written only by the owning
 * worker, read by anyone. */
#define MPS_COUNTERS_RX(X) \
	X(rx_pkts, 1, "frames received (drops included)") \
	X(rx_bytes, 1, "bytes received") \
	X(rx_drop_malformed, 0, "failed the bounds-checked parse") \
	X(rx_drop_unsupported, 0, "well-formed, not served (VLAN, ...)") \
	X(rx_drop_multiseg, 0, "chained RX mbufs we do not reassemble") \
	X(rx_drop_lwip, 0, "netif->input refused the frame") \
	X(rx_csum_sw, 0, "TCP/UDP checksums verified in software") \
	X(rx_vlan_sw, 0, "VLAN tags stripped in software")
#define MPS_COUNTERS_RXMEM(X) /* received data cannot pin the mbuf pool */ \
	X(mbufs_held, 0, "gauge: RX mbufs lwIP holds now") \
	X(rx_copied, 0, "received pbufs copied to lwIP's heap, mbuf freed") \
	X(rx_refused, 0, "segments refused: connection or worker over its RX bound") \
	X(rx_ooseq_capped, 0, "out-of-order segments not queued: worker over budget")
#define MPS_COUNTERS_TX(X) \
	X(tx_pkts, 1, "frames handed to the NIC") \
	X(tx_bytes, 1, "bytes handed to the NIC") \
	X(tx_retries, 1, "NIC refused part of a burst, kept") \
	X(tx_drop_full, 0, "TX batch full: frame dropped") \
	X(tx_drop_nombuf, 0, "no mbuf to copy a frame into") \
	X(tx_drop_toolong, 0, "frame larger than one mbuf") \
	X(tx_queued, 0, "gauge: frames in the TX batch") \
	X(tx_csum_offload, 0, "frames whose checksums the NIC fills in") \
	X(tx_zero_copy, 0, "frames sent with their payload by reference") \
	X(tx_seg_held, 0, "gauge: TCP segments lwIP holds in mbufs") \
	X(tx_vlan_sw, 0, "VLAN tags inserted in software")
#define MPS_COUNTERS_RING(X) /* the workers' rings */ \
	X(ring_rx, 0, "frames/messages drained from our ring") \
	X(ring_tx, 1, "frames put on peers' rings") \
	X(ring_drop, 0, "peer ring full") \
	X(stray_handed, 0, "segments of connections we do not hold, passed on (no RETA)") \
	X(stray_rx, 0, "such segments a peer passed to us")
#define MPS_COUNTERS_NEIGH(X) /* the shared neighbour table */ \
	X(neigh_learned, 1, "new entry or changed MAC written") \
	X(neigh_refreshed, 0, "timestamp refresh written") \
	X(neigh_hit, 1, "next hop found in the shared table") \
	X(neigh_miss, 1, "fell back to lwIP's ARP") \
	X(neigh_full, 0, "table full, could not add") \
	X(neigh_conflict, 0, "other MAC for a known address refused (IPv4, locktime, static)") \
	X(neigh_ratelimited, 0, "table writes refused: the worker's write budget was spent") \
	X(neigh_probe, 0, "ARP requests sent to check a conflicting address") \
	X(neigh_qs_online, 0, "back online after the primary took this stalled worker offline")
#define MPS_COUNTERS_TCP(X) /* lwIP's connections */ \
	X(tcp_accepted, 1, "connections accepted") \
	X(tcp_active, 1, "gauge: open connections") \
	X(tcp_closed, 1, "connections closed") \
	X(tcp_reset, 1, "connections ended by RST or error") \
	X(tcp_refused, 0, "accept refused: no app state left") \
	X(tcp_pcbs, 0, "gauge: lwIP active PCBs incl. half-open") \
	X(tcp_syn_rcvd, 0, "gauge: half-open PCBs") \
	X(syn_evicted, 0, "half-open PCBs dropped: backlog full") \
	X(tcp_nodelay, 0, "connections opened with Nagle off") \
	X(tcp_quickack, 0, "connections opened with quick ACKs") \
	X(tcp_rto_ms, 0, "gauge: RTO of the last connection established") \
	X(tcp_tw_reused, 0, "TIME_WAIT pcbs ended by a new SYN or a RST")
#define MPS_COUNTERS_API(X) /* the worker API: send queues, active opens */ \
	X(tcp_sndq_drop, 0, "connections dropped: over their send limit") \
	X(sndq_bytes, 0, "gauge: bytes queued above lwIP, all connections") \
	X(sndq_max, 0, "most bytes one connection had queued") \
	X(api_bad_handle, 0, "calls with a stale or closed handle") \
	X(tcp_connect_ok, 0, "active opens established") \
	X(tcp_connect_fail, 0, "active opens refused, reset or timed out") \
	X(tcp_header_timeout, 0, "connections closed: a request not whole within header_timeout") \
	X(tcp_keepalive_timeout, 0, "idle connections closed after keepalive_timeout") \
	X(tcp_send_timeout, 0, "connections reset: nothing acknowledged for send_timeout") \
	X(tcp_linger, 0, "lingering closes: FIN, then the peer's data read and dropped")
#define MPS_COUNTERS_LIMITS(X) /* per-client bounds: memory, connections */ \
	X(lwip_heap_used, 0, "gauge: bytes of lwIP's heap in use (data and control)") \
	X(lwip_segs_used, 0, "gauge: lwIP TCP segments in use") \
	X(mem_wait, 0, "data refused for now: memory short beyond the connection's minimum") \
	X(mem_shed, 0, "connections reset to free memory: most held, longest without progress") \
	X(conn_limit, 0, "SYNs dropped, connections refused: worker at --max-conns") \
	X(conn_limit_ip, 0, "SYNs answered with RST, connections refused: source at --max-conns-per-ip") \
	X(conn_idle_evicted, 0, "idle connections reset to make room for a new one")
#define MPS_COUNTERS_APPS(X) /* the built-in apps */ \
	X(http_requests, 0, "HTTP requests answered") \
	X(http_errors, 0, "HTTP 4xx answered") \
	X(client_rtts, 0, "echo client round trips completed") \
	X(client_rtt_us_sum, 0, "their round-trip times, summed") \
	X(client_rtt_us_max, 0, "the longest round trip") \
	X(client_done, 0, "echo client connections that finished")
#define MPS_COUNTERS_LOOP(X) /* the poll loop */ \
	X(iterations, 0, "loop iterations") \
	X(busy_iterations, 0, "iterations that found work") \
	X(busy_cycles, 1, "TSC cycles of those") \
	X(idle_cycles, 1, "TSC cycles of iterations that found no work") \
	X(idle_sleeps, 0, "back-off sleeps when idle")
#define MPS_COUNTERS_CAPTURE(X) /* the mps-capture mirror */ \
	X(capture_pkts, 0, "copies put on the capture ring") \
	X(capture_drop, 0, "capture ring full or no mbuf: skipped")
#define MPS_COUNTERS_ADOPT(X) /* queues adopted from absent or dead workers */ \
	X(adopt_rx, 0, "frames received on queues we adopted") \
	X(adopt_handed, 0, "of those, put on the chosen peer's ring") \
	X(adopt_drop, 0, "of those, dropped: peer ring full") \
	X(adopt_ring_rx, 0, "adopted frames a peer handed to us") \
	X(adopt_rst, 0, "RSTs answering adopted segments of dead connections") \
	X(adopt_queues, 0, "gauge: queues we poll besides our own")
#define MPS_COUNTERS_REPLACE(X) /* --replace: successor and draining predecessor */ \
	X(drain_handed, 0, "segments of the predecessor's connections handed to it") \
	X(drain_tx, 0, "frames sent for the draining predecessor") \
	X(drain_reset, 0, "connections reset at the drain timeout")
#define MPS_COUNTERS_EXC(X) /* the kernel exception path, by reason */ \
	X(exc_ip, 0, "IPv4 to another address (unicast, broadcast, multicast) moved to the kernel") \
	X(exc_arp, 0, "ARP for another address moved to the kernel") \
	X(exc_arp_copy, 0, "broadcast or gratuitous ARP copied to the kernel (the stack keeps it)") \
	X(exc_ethertype, 0, "IPv6 and other ethertypes moved to the kernel") \
	X(exc_vlan, 0, "frames of other VLANs (or untagged with --vlan) moved to the kernel") \
	X(exc_drop_rate, 0, "of those, dropped: over --exception-rate") \
	X(exc_drop_full, 0, "of those, dropped: ring to the primary full or not ready") \
	X(exc_tx, 0, "frames from the kernel put on the wire by this worker")

#define MPS_COUNTERS(X) \
	MPS_COUNTERS_RX(X) MPS_COUNTERS_RXMEM(X) MPS_COUNTERS_TX(X) \
	MPS_COUNTERS_RING(X) MPS_COUNTERS_NEIGH(X) MPS_COUNTERS_TCP(X) \
	MPS_COUNTERS_API(X) MPS_COUNTERS_LIMITS(X) MPS_COUNTERS_APPS(X) MPS_COUNTERS_LOOP(X) \
	MPS_COUNTERS_CAPTURE(X) MPS_COUNTERS_ADOPT(X) MPS_COUNTERS_REPLACE(X) \
	MPS_COUNTERS_EXC(X)

struct mps_worker_stats {
#define MPS_X_FIELD(name, per_worker, what) uint64_t name;
	MPS_COUNTERS(MPS_X_FIELD)
#undef MPS_X_FIELD
	uint64_t rx_drop_reason[MPS_DROP_REASONS]; /* "rx_drop_<reason>" */
};

#define MPS_X_ONE(name, per_worker, what) + 1
#define MPS_X_PW(name, per_worker, what) + (per_worker)
/* Names every worker's counters take: the list, and one per drop reason
 * but "none". */
#define MPS_N_COUNTERS (0 MPS_COUNTERS(MPS_X_ONE) + MPS_DROP_REASONS - 1)
/* Per-worker rte_metrics names: the list's per_worker ones, and rx_drop
 * (the sum of every RX drop). */
#define MPS_N_WORKER_METRICS (0 MPS_COUNTERS(MPS_X_PW) + 1)

/* rte_metrics holds at most 256 names (RTE_METRICS_MAX_METRICS), shared by
 * every counter: the totals take MPS_N_COUNTERS, and each worker that fits
 * in the rest MPS_N_WORKER_METRICS (workers beyond get totals only, logged
 * at start). A counter added to the list costs one name, or one per
 * worker with per_worker = 1. The budget guarantees per-worker names for
 * MPS_METRICS_MIN_WORKERS workers. */
#define MPS_METRICS_BUDGET 256u
#define MPS_METRICS_MIN_WORKERS 8u

/* The primary's own counters of the exception path (written by its
 * exception thread only), published as "mps_exc_<name>" besides the
 * workers' totals. */
#define MPS_EXC_COUNTERS(X) \
	X(to_kernel_pkts, 0, "frames written to IFACE") \
	X(to_kernel_bytes, 0, "bytes written to IFACE") \
	X(to_kernel_drop, 0, "frames IFACE refused (down, queue full)") \
	X(from_kernel_pkts, 0, "frames read from IFACE, handed to a worker") \
	X(from_kernel_bytes, 0, "bytes of those") \
	X(from_kernel_drop_rate, 0, "frames from IFACE dropped: over --exception-rate") \
	X(from_kernel_drop, 0, "frames from IFACE dropped: no running worker, ring full, no mbuf") \
	X(ring_resets, 0, "worker rings emptied and reset after their worker left")
#define MPS_N_EXC_METRICS (0 MPS_EXC_COUNTERS(MPS_X_ONE))

_Static_assert(MPS_N_COUNTERS + MPS_N_EXC_METRICS +
	       MPS_METRICS_MIN_WORKERS * MPS_N_WORKER_METRICS <=
	       MPS_METRICS_BUDGET, "rte_metrics name budget exceeded");

struct mps_exc_stats {
#define MPS_X_FIELD(name, per_worker, what) uint64_t name;
	MPS_EXC_COUNTERS(MPS_X_FIELD)
#undef MPS_X_FIELD
};

/* The exception path's shared state. sleeping: the primary is (about to
 * be) in poll(2): a worker that put frames on its ring clears it and
 * writes the eventfd. ready_pid[w]: the owner of slot w for which the
 * primary has emptied and reset w's two rings; a worker uses them only
 * once it reads its own pid here. rx_tat: the wire -> kernel rate limit
 * shared by every worker (GCRA's theoretical arrival time, TSC cycles,
 * one compare-and-swap per frame: see mps_gcra_take). */
struct mps_exc_shared {
	volatile uint32_t sleeping;
	uint32_t pad;
	volatile int32_t ready_pid[MPS_MAX_WORKERS];
	volatile uint64_t rx_tat __rte_cache_aligned;
	struct mps_exc_stats stats __rte_cache_aligned;
};

/* A rate limit several processes can share: GCRA on one 64-bit word
 * (the theoretical arrival time, in TSC cycles). interval: cycles per
 * frame (tsc_hz / rate); tolerance: how far ahead of now the word may run
 * (the burst, in cycles). 1 if the frame may pass. Lock-free: a process
 * killed anywhere in it leaves the word valid. */
static inline int
mps_gcra_take(volatile uint64_t *tat, uint64_t now, uint64_t interval,
	      uint64_t tolerance)
{
	uint64_t cur = __atomic_load_n(tat, __ATOMIC_RELAXED), next;

	do {
		next = (cur > now ? cur : now) + interval;
		if (next - now > tolerance + interval)
			return 0;
	} while (!__atomic_compare_exchange_n(tat, &cur, next, 1, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return 1;
}

/* One worker slot: owner pid and state, heartbeat, stats. */
struct mps_worker_slot {
	volatile int32_t owner_pid; /* 0 = free; claimed by compare-and-set
				     * (mps_slot.h) */
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

/* Graceful replacement of worker K (mps-secondary --replace, see
 * secondary/replace.c). The successor S registers itself (successor_pid,
 * by compare-and-set), builds its stack, then sets READY. The live worker
 * O sees READY at its next loop iteration, stops polling queue K, moves
 * into drain slot K (a slot, ring and QSBR reader id of its own), hands
 * slot K's owner_pid to S and sets MOVED; S then claims the slot and the
 * queue. S clears the record once it runs. From then on S hands O the
 * segments of connections it does not hold (ring MPS_DRAIN_RING_FMT) and
 * transmits O's frames (O puts them on ring K): one transmitter per
 * queue. */
enum mps_replace_phase {
	MPS_REPLACE_NONE = 0,
	MPS_REPLACE_READY = 1,  /* S is built: O, move out */
	MPS_REPLACE_MOVING = 2, /* O is moving out (S can no longer withdraw) */
	MPS_REPLACE_MOVED = 3,  /* O is in the drain slot: S, take slot K */
};

/* Every change of phase is a compare-and-set from the phase its writer
 * saw, so neither side overwrites the other's. */
struct mps_replace {
	volatile int32_t successor_pid;
	volatile uint32_t phase;
	uint32_t drain_timeout_s; /* the successor's --drain-timeout, for O */
	volatile uint32_t successor_lcore; /* its EAL lcore id, already in use */
};
/* The mbuf dynflag on frames a draining predecessor asks its successor to
 * send (on its ring). */
#define MPS_DRAIN_TX_DYNFLAG "mps_dynflag_drain_tx"

/* The QSBR reader id of worker K's draining predecessor. */
#define MPS_DRAIN_QS_ID(k) (MPS_MAX_WORKERS + (k))
#define MPS_QS_READERS (2 * MPS_MAX_WORKERS)

/* Where a worker's busy cycles go: the cycles build only (`make CYCLES=1`,
 * build/cycles; secondary/cycles.h). Every TSC cycle of a busy loop
 * iteration is charged to exactly one category, the innermost one open
 * (a category entered inside another pauses it), so the categories sum to
 * busy_cycles. X(ID, key, what covers it), in the zone's order. */
#define MPS_CYC_CATEGORIES(X) \
	X(DRV_RX, "drv_rx", "driver RX: rte_eth_rx_burst on our queues and adopted ones") \
	X(DRV_TX, "drv_tx", "driver TX: rte_eth_tx_burst of the batch (every flush)") \
	X(PARSE, "parse", "parse and steer: VLAN, frame parse and checks, L4 checksum, steering, ring hand-offs both ways") \
	X(NEIGH, "neigh", "neighbour: shared-table writes learned from received frames, next-hop lookups") \
	X(LWIP_IN, "lwip_in", "lwIP input: netif input to tcp_input, without the callbacks and output it runs") \
	X(APP, "app", "app: the API's lwIP callbacks (cb_enter to cb_leave) and the app code they run, its writes (tcp_write) included") \
	X(LWIP_OUT, "lwip_out", "lwIP output: tcp_output, IP output and linkoutput (the copy into an mbuf), without driver TX") \
	X(TIMERS, "timers", "timers: lwIP's timers and the API's timer wheel") \
	X(OTHER, "other", "other: the rest of the busy iteration (loop bookkeeping, heartbeat, guards, exception path)")

enum mps_cyc_cat {
#define MPS_X_ENUM(id, key, what) MPS_CYC_##id,
	MPS_CYC_CATEGORIES(MPS_X_ENUM)
#undef MPS_X_ENUM
	MPS_CYC_N
};

/* Worker K's figures, in memzone MPS_CYCLES_FMT (K), reserved by a
 * worker of the cycles build (none in the normal build), written by
 * it at the end of every busy iteration under seq and read by the
 * primary's /mps/cycles,K. A draining predecessor (--replace) stops
 * writing: the zone is its successor's. */
#define MPS_CYCLES_FMT "mps_cycles_%u"

struct mps_cycles {
	rte_seqcount_t seq;
	uint32_t n_cat;            /* MPS_CYC_N */
	uint64_t busy_cycles;      /* the slot's busy_cycles, from the same TSC reads */
	uint64_t busy_iterations;
	uint64_t unbalanced;       /* busy iterations that ended with a category still open (a bug) */
	uint64_t tsc_reads;        /* the probes' TSC reads in those iterations */
	uint64_t tsc_read_cycles;  /* what one costs, measured by the worker at start */
	uint64_t cat[MPS_CYC_N];   /* sum: busy_cycles */
} __rte_cache_aligned;

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
	uint16_t tx_mtu;           /* the largest IP packet every port sends:
				    * --mtu, less where a port refused it */
	struct mps_config cfg;     /* the single source of network config */
	struct mps_worker_slot workers[MPS_MAX_WORKERS];
	/* drain[K]: worker K's predecessor while it drains (--replace) */
	struct mps_worker_slot drain[MPS_MAX_WORKERS];
	struct mps_replace replace[MPS_MAX_WORKERS];
	/* Neighbour aging, written by the primary only */
	uint64_t neigh_expired;     /* learned entries deleted after the TTL */
	uint64_t neigh_freed;       /* their slots freed after a grace period */
	uint64_t neigh_offlined;    /* stalled workers not waited for (reclaim) */
	uint64_t neigh_static_full; /* --neigh entries that did not fit */
	/* What the workers need to pick RSS-aware local ports */
	uint8_t rss_key[MPS_RSS_KEY_LEN]; /* the Toeplitz key every port uses */
	uint16_t reta_size;        /* 0: no programmable RETA (e.g. net_tap) */
	uint16_t reta[MPS_RETA_MAX]; /* port 0's queue for each RETA entry */
	/* Capture mirror, switched on by mps-capture */
	struct mps_wset capture_set;      /* the workers that mirror RX and TX */
	volatile int32_t capture_pid;     /* the capture holding the mirror, 0 = none */
	volatile uint32_t capture_snaplen; /* bytes kept per frame */
	/* Who serves each queue whose worker is absent or dead */
	struct mps_adopt_queue adopt[MPS_MAX_WORKERS];
	struct mps_wset reta_live; /* queues the RETA spreads over (reta ports) */
	/* The stack's TCP ISN secret (RFC 6528's secretkey, see mps_isn.h):
	 * 128 bits from getrandom(2), drawn once by the primary before any
	 * worker attaches; every worker keys its ISNs with it, so a restarted
	 * worker goes on with the same ISN space. Never published. */
	uint8_t isn_secret[MPS_ISN_SECRET_LEN];
	/* The kernel exception path (cfg.exc_iface set) */
	struct mps_exc_shared exc;
} __rte_cache_aligned;

/* Two slots (worker and drain) per worker dominate: about 93 KB at 63. */
_Static_assert(sizeof(struct mps_shared) <= 128 * 1024, "the memzone grew past 128 KiB");

/* 1 if sh was laid out by a binary of this layout (same magic and
 * version): the one check every process makes before reading the memzone. */
static inline int
mps_shared_compatible(const struct mps_shared *sh)
{
	return sh->magic == MPS_MAGIC && sh->layout_version == MPS_LAYOUT_VERSION;
}

#endif /* MPS_SHARED_H */
