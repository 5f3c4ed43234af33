/* SPDX-License-Identifier: BSD-3-Clause
 *
 * fuzz_rx.c - libFuzzer harness for a worker's RX path: the bytes become
 * frames in real mbufs that go through mps_netif_input exactly as in
 * mps-secondary: bounds-checked parse, neighbour learning into a real
 * rte_hash, ARP fan-out onto a real ring, the mbuf wrapped as a custom
 * pbuf, lwIP's ethernet_input, and the echo/http/discard apps behind it.
 * Replies go out through a net_null port (TX discards).
 *
 * EAL runs in-process with --no-huge --in-memory (no hugepages, no runtime
 * files, no NIC), so the RX path is fuzzed unchanged rather than refactored
 * around fake mbufs. The input is a sequence of frames, each prefixed by its
 * length (2 bytes, big endian), so the fuzzer can build whole TCP exchanges.
 * lwIP's checksum checks are off on this netif so mutated frames get past
 * them into TCP's state machine.
 */
#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_hash.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

/* netinet/ip.h (via rte_ethdev.h) and lwIP both define these, identically. */
#undef IP_RF
#undef IP_DF
#undef IP_MF
#undef IP_OFFMASK

#include "lwip/init.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"

#include "api/api.h"
#include "apps/apps.h"
#include "mps_neigh.h"
#include "neigh_learn.h"
#include "netif.h"
#include "pcb_cache.h"
#include "tcp_hooks.h"
#include "worker.h"

#define FUZZ_MBUFS 8191u
#define FUZZ_DESC 256u

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mps_shared shared;

/* The stack's MAC in the seeds (test/fuzz/make_seeds.py). */
static const struct rte_ether_addr fuzz_mac = {
	.addr_bytes = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 } };

/* One net_null port with one queue pair, fixed MAC. */
static int
port_setup(uint16_t port, struct rte_mempool *pool)
{
	struct rte_eth_conf conf;

	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_configure(port, 1, 1, &conf) != 0 ||
	    rte_eth_rx_queue_setup(port, 0, FUZZ_DESC, SOCKET_ID_ANY, NULL, pool) != 0 ||
	    rte_eth_tx_queue_setup(port, 0, FUZZ_DESC, SOCKET_ID_ANY, NULL) != 0 ||
	    rte_eth_dev_default_mac_addr_set(port, (struct rte_ether_addr *)&fuzz_mac) != 0 ||
	    rte_eth_dev_start(port) != 0)
		return -1;
	return 0;
}

/* The shared memzone's content, in private memory: 2 workers so ARP
 * fan-out runs, default address 198.18.0.2/24, echo/http/discard. */
static void
shared_setup(void)
{
	mps_config_defaults(&shared.cfg);
	shared.cfg.n_workers = 2;
	mps_parse_listen("7:echo,80:http,9:discard", &shared.cfg);
	shared.magic = MPS_MAGIC;
	shared.layout_version = MPS_LAYOUT_VERSION;
	shared.tsc_hz = rte_get_tsc_hz();
	shared.n_ports = 1;
	shared.tx_mtu = (uint16_t)shared.cfg.mtu;
	shared.workers[1].state = MPS_WORKER_RUNNING;
	/* a fixed ISN secret: runs stay reproducible */
	for (unsigned int i = 0; i < sizeof(shared.isn_secret); i++)
		shared.isn_secret[i] = (uint8_t)(0xa5 ^ i);
}

static char runtime_dir[PATH_MAX];

/* EAL leaves its runtime dir (a socket, no hugepage files with --no-huge). */
static void
remove_runtime_dir(void)
{
	DIR *d = opendir(runtime_dir);
	struct dirent *de;
	char path[PATH_MAX + 256];

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", runtime_dir, de->d_name);
			unlink(path);
		}
	closedir(d);
	rmdir(runtime_dir);
}

int
LLVMFuzzerInitialize(int *argc __rte_unused, char ***argv __rte_unused)
{
	static char prefix[64];
	static char *eal_args[] = {
		"fuzz-rx", "--no-huge", "--no-shconf", "--no-pci", "--no-telemetry",
		"-m", "256", "--vdev", "net_null0", "--lcores", "0@(0-1)",
		"--log-level", "*:error", "--file-prefix", prefix, NULL,
	};
	struct mps_worker *w = mps_worker();

	/* --no-huge is legacy memory, which --in-memory refuses: a private
	 * prefix instead, and its runtime dir removed at exit. */
	snprintf(prefix, sizeof(prefix), "mps-fuzz-%d", getpid());
	if (rte_eal_init((int)RTE_DIM(eal_args) - 1, eal_args) < 0) {
		fprintf(stderr, "fuzz-rx: rte_eal_init failed\n");
		exit(1);
	}
	snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());
	atexit(remove_runtime_dir);
	shared_setup();
	w->shared = &shared;
	w->slot = &shared.workers[0];
	w->stats = &w->slot->stats;
	w->n_workers = 2;
	w->n_ports = 1;
	w->pool = rte_pktmbuf_pool_create("fuzz_pool", FUZZ_MBUFS, 256,
					  MPS_MBUF_PRIV_SIZE,
					  RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	w->neigh = mps_neigh_create("fuzz_neigh", 1024, SOCKET_ID_ANY);
	w->rings[0] = rte_ring_create("fuzz_ring0", 1024, SOCKET_ID_ANY, RING_F_SC_DEQ);
	w->rings[1] = rte_ring_create("fuzz_ring1", 1024, SOCKET_ID_ANY, RING_F_SC_DEQ);
	if (w->neigh != NULL) {
		/* The table's stamps, as the primary sizes them. */
		w->learner.t.h = w->neigh;
		w->learner.t.n_st = mps_neigh_stamp_slots(w->neigh);
		w->learner.t.st = calloc(w->learner.t.n_st,
					 sizeof(struct mps_neigh_stamp));
		if (w->learner.t.st != NULL)
			mps_neigh_stamps_init(w->learner.t.st, w->learner.t.n_st);
		mps_neigh_learn_init(w);
	}
	if (w->pool == NULL || w->neigh == NULL || w->rings[0] == NULL ||
	    w->learner.t.st == NULL ||
	    w->rings[1] == NULL || rte_eth_dev_count_avail() < 1 ||
	    port_setup(0, w->pool) != 0) {
		fprintf(stderr, "fuzz-rx: set-up failed\n");
		exit(1);
	}
	lwip_init();
	mps_pcb_cache_init(0);
	if (mps_tcp_hooks_init(&shared) != 0 || mps_netif_init(w) != 0 ||
	    mps_api_init(w->shared->cfg.max_conns, w->shared->cfg.max_conns_per_ip) != 0 ||
	    mps_apps_listen(&w->shared->cfg) != 0) {
		fprintf(stderr, "fuzz-rx: lwIP set-up failed\n");
		exit(1);
	}
	NETIF_SET_CHECKSUM_CTRL(&w->netif, NETIF_CHECKSUM_GEN_IP |
				NETIF_CHECKSUM_GEN_TCP | NETIF_CHECKSUM_GEN_UDP |
				NETIF_CHECKSUM_GEN_ICMP);
	return 0;
}

/* Frees what "peers" would have taken from the ring (worker 1 is fake). */
static void
drain_peer_ring(struct mps_worker *w)
{
	void *obj;

	while (rte_ring_sc_dequeue(w->rings[1], &obj) == 0)
		rte_pktmbuf_free(obj);
}

/* The pool ran dry: lwIP may legitimately hold many mbufs (out-of-order
 * queues, unread data), so drop every connection; then nothing may remain
 * in use, or the RX path leaks mbufs. */
static struct rte_mbuf *
alloc_or_reset(struct mps_worker *w)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->pool);
	unsigned int left;

	if (m != NULL)
		return m;
	mps_tx_drop_all(w);
	while (tcp_active_pcbs != NULL)
		tcp_abort(tcp_active_pcbs);
	while (tcp_tw_pcbs != NULL)
		tcp_abort(tcp_tw_pcbs);
	left = rte_mempool_in_use_count(w->pool);
	if (left != 0) {
		fprintf(stderr, "fuzz-rx: %u mbufs leaked (lwIP holds %lu)\n", left,
			(unsigned long)w->stats->mbufs_held);
		abort();
	}
	return rte_pktmbuf_alloc(w->pool);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mps_worker *w = mps_worker();
	uint64_t now = rte_get_tsc_cycles();

	w->now_s = (uint32_t)(now / shared.tsc_hz);
	w->now_ms = now / (shared.tsc_hz / 1000);
	w->tx_nh = 0; /* as the loop does each iteration */
	while (size >= 2) {
		size_t len = ((size_t)data[0] << 8) | data[1];
		struct rte_mbuf *m;
		char *p;

		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		m = alloc_or_reset(w);
		if (len > rte_pktmbuf_tailroom(m))
			len = rte_pktmbuf_tailroom(m);
		p = rte_pktmbuf_append(m, (uint16_t)len);
		memcpy(p, data, len);
		mps_netif_input(w, m, 0);
		data += len;
		size -= len;
		mps_tx_flush(w);
		drain_peer_ring(w);
	}
	sys_check_timeouts();
	mps_pcb_guard(w, now);
	mps_tx_flush(w);
	return 0;
}
