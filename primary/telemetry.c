/* SPDX-License-Identifier: BSD-3-Clause
 *
 * telemetry.c - the /mps/ commands of dpdk-telemetry.py.
 *
 * /mps/workers, /mps/worker, /mps/stats, /mps/config, /mps/neigh,
 * /mps/neigh_stats, /mps/pool, /mps/exception and /mps/cycles. Telemetry
 * runs only in the primary, so everything shown is read from the
 * memzones and the shared hash.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_memzone.h>
#include <rte_mempool.h>
#include <rte_hash.h>
#include <rte_rwlock.h>
#include <rte_seqcount.h>
#include <rte_telemetry.h>

#include "mps_config.h"
#include "mps_neigh.h"
#include "primary.h"

static struct mps_primary *tel_pp;

#define ADD_STAT(d, s, f) rte_tel_data_add_dict_u64(d, #f, (s)->f)

/* Who serves this slot's queue while its worker cannot
 * (adopter: named by the primary, adopted_by: polling it now, -1: nobody)
 * and the queues this worker polls for others ("1,3"). */
static void
add_adoption(struct rte_tel_data *c, const struct mps_shared *sh, uint32_t w)
{
	char adopts[64] = "";
	size_t off = 0;

	for (uint32_t q = 0; q < sh->cfg.n_workers && off < sizeof(adopts); q++)
		if (sh->adopt[q].poller == (int32_t)w && sh->adopt[q].poller_pid != 0)
			off += (size_t)snprintf(adopts + off, sizeof(adopts) - off,
						"%s%u", off ? "," : "", q);
	rte_tel_data_add_dict_int(c, "adopter", sh->adopt[w].adopter);
	rte_tel_data_add_dict_int(c, "adopted_by", sh->adopt[w].poller_pid == 0 ? -1 :
				  sh->adopt[w].poller);
	rte_tel_data_add_dict_string(c, "adopts", adopts);
}

/* Its predecessor still draining after a --replace (pid 0: none), the
 * connections it still holds, and a successor waiting to take over. */
static void
add_drain(struct rte_tel_data *c, const struct mps_shared *sh, uint32_t w)
{
	const struct mps_worker_slot *d = &sh->drain[w];
	int draining = d->owner_pid != 0 && d->state == MPS_WORKER_DRAINING;

	rte_tel_data_add_dict_int(c, "draining_pid", draining ? d->owner_pid : 0);
	rte_tel_data_add_dict_u64(c, "draining_conns", draining ? d->stats.tcp_active : 0);
	rte_tel_data_add_dict_int(c, "successor_pid", sh->replace[w].successor_pid);
}

/* The slot's own fields: owner, state, liveness, adoption, drain. */
static void
add_slot(struct rte_tel_data *c, const struct mps_shared *sh, uint32_t w, uint64_t now)
{
	const struct mps_worker_slot *slot = &sh->workers[w];

	rte_tel_data_add_dict_int(c, "pid", slot->owner_pid);
	rte_tel_data_add_dict_string(c, "state", mps_worker_state_name(slot->state));
	rte_tel_data_add_dict_u64(c, "lcore", slot->lcore_id);
	rte_tel_data_add_dict_u64(c, "restarts", slot->restarts);
	rte_tel_data_add_dict_u64(c, "heartbeat_age_ms",
		slot->heartbeat_tsc == 0 || slot->heartbeat_tsc >= now ? 0 :
		(now - slot->heartbeat_tsc) * 1000 / sh->tsc_hz);
	add_adoption(c, sh, w);
	add_drain(c, sh, w);
}

/* /mps/workers answers one page of workers: telemetry's reply is at most
 * 16 KiB, and one worker's summary takes up to about 1 KiB (every number
 * at its longest), so 16 fit and MPS_MAX_WORKERS do not. */
#define TEL_WORKERS_PAGE 16u

/* Workers FIRST.. FIRST+15 ("/mps/workers,FIRST", FIRST 0 without a
 * parameter), keyed by worker id: each slot's own fields and the compact
 * counter set (the per-worker rte_metrics names). Past the last worker:
 * {} (a client pages on until it gets an empty page). /mps/worker,ID has
 * every counter of one worker. */
static int
tel_workers(const char *cmd __rte_unused, const char *params,
	    struct rte_tel_data *d)
{
	const struct mps_shared *sh = tel_pp->shared;
	uint64_t now = rte_get_tsc_cycles();
	uint32_t first = 0;

	if (params != NULL && params[0] != '\0' &&
	    mps_parse_u32(params, 0, MPS_MAX_WORKERS, &first) != 0)
		return -1;
	rte_tel_data_start_dict(d);
	for (uint32_t w = first; w < sh->cfg.n_workers && w < first + TEL_WORKERS_PAGE; w++) {
		const struct mps_worker_stats *s = &sh->workers[w].stats;
		struct rte_tel_data *c = rte_tel_data_alloc();
		char key[16];

		if (c == NULL)
			return -1;
		rte_tel_data_start_dict(c);
		add_slot(c, sh, w, now);
#define MPS_X_COMPACT(f, per_worker, what) \
		if (per_worker) \
			rte_tel_data_add_dict_u64(c, #f, s->f);
		MPS_COUNTERS(MPS_X_COMPACT)
#undef MPS_X_COMPACT
		rte_tel_data_add_dict_u64(c, "rx_drop", mps_stats_rx_drops(s));
		snprintf(key, sizeof(key), "%u", w);
		rte_tel_data_add_dict_container(d, key, c, 0);
	}
	return 0;
}

/* One worker ("/mps/worker,ID"): its slot's fields and every counter, by
 * the names rte_metrics and /mps/stats use. */
static int
tel_worker(const char *cmd __rte_unused, const char *params,
	   struct rte_tel_data *d)
{
	const struct mps_shared *sh = tel_pp->shared;
	uint32_t w;

	if (params == NULL || mps_parse_u32(params, 0, sh->cfg.n_workers - 1, &w) != 0)
		return -1;
	rte_tel_data_start_dict(d);
	add_slot(d, sh, w, rte_get_tsc_cycles());
	for (unsigned int i = 0; i < mps_stats_n_fields(); i++)
		rte_tel_data_add_dict_u64(d, mps_stats_field_name(i),
					  mps_stats_field(&sh->workers[w].stats, i));
	return 0;
}

static const char *
ip_str(uint32_t ip_be, char *buf)
{
	return inet_ntop(AF_INET, &ip_be, buf, INET_ADDRSTRLEN);
}

static int
tel_config(const char *cmd __rte_unused, const char *params __rte_unused,
	   struct rte_tel_data *d)
{
	const struct mps_shared *sh = tel_pp->shared;
	const struct mps_config *cfg = &sh->cfg;
	char buf[INET_ADDRSTRLEN], lst[256] = "";
	size_t off = 0;

	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "primary_pid", sh->primary_pid);
	rte_tel_data_add_dict_u64(d, "workers", cfg->n_workers);
	rte_tel_data_add_dict_u64(d, "ports", sh->n_ports);
	rte_tel_data_add_dict_string(d, "ip", ip_str(cfg->ip, buf));
	rte_tel_data_add_dict_u64(d, "prefix_len", cfg->prefix_len);
	rte_tel_data_add_dict_string(d, "gateway", ip_str(cfg->gateway, buf));
	rte_tel_data_add_dict_u64(d, "mtu", cfg->mtu);
	rte_tel_data_add_dict_u64(d, "tx_mtu", sh->tx_mtu);
	for (uint32_t i = 0; i < cfg->n_listeners && off < sizeof(lst); i++)
		off += (size_t)snprintf(lst + off, sizeof(lst) - off, "%s%u:%s",
				i ? "," : "", cfg->listeners[i].port,
				mps_app_name(cfg->listeners[i].app));
	rte_tel_data_add_dict_string(d, "listen", lst);
	rte_tel_data_add_dict_u64(d, "tx_offloads", sh->tx_offloads);
	rte_tel_data_add_dict_u64(d, "rx_offloads", sh->rx_offloads);
	rte_tel_data_add_dict_u64(d, "layout_version", sh->layout_version);
	rte_tel_data_add_dict_u64(d, "vlan", cfg->vlan_id);
	rte_tel_data_add_dict_u64(d, "no_offload", cfg->no_offload);
	rte_tel_data_add_dict_string(d, "exception", cfg->exc_iface);
	rte_tel_data_add_dict_u64(d, "exception_rate", cfg->exc_rate);
	return 0;
}

#define TEL_NEIGH_MAX 128u /* telemetry replies are limited to 16 KiB */

/* One entry's fields into dict c: ip, mac, age_s, learned_by (the
 * worker that last wrote it, -1 for a static entry), static. */
static void
tel_neigh_fields(struct rte_tel_data *c, uint32_t ip_be, uint64_t w,
		 const struct mps_neigh_stamp *st, uint64_t now_ms)
{
	struct rte_ether_addr mac;
	char ip[INET_ADDRSTRLEN], macs[RTE_ETHER_ADDR_FMT_SIZE];

	mps_neigh_unpack_mac(w, mac.addr_bytes);
	rte_ether_format_addr(macs, sizeof(macs), &mac);
	rte_tel_data_add_dict_string(c, "ip", ip_str(ip_be, ip));
	rte_tel_data_add_dict_string(c, "mac", macs);
	rte_tel_data_add_dict_u64(c, "age_s", mps_neigh_is_static(w) ? 0 :
				  mps_neigh_age_ms(st, now_ms) / 1000);
	rte_tel_data_add_dict_int(c, "learned_by", mps_neigh_is_static(w) ? -1 :
				  (int)mps_neigh_worker(w));
	rte_tel_data_add_dict_int(c, "static", mps_neigh_is_static(w));
}

/* Live entries. Without a parameter: the first TEL_NEIGH_MAX as
 * {"0": {ip, mac, ...}, "1": ...} (telemetry dict keys cannot hold dots).
 * With an address ("/mps/neigh,198.18.0.1"): that entry's fields, or {}
 * when it is absent or expired. Iterating is safe against the workers'
 * lock-free adds. */
static int
tel_neigh(const char *cmd __rte_unused, const char *params,
	  struct rte_tel_data *d)
{
	const struct mps_shared *sh = tel_pp->shared;
	const struct mps_neigh_table *t = &tel_pp->neigh_tab;
	uint64_t now = rte_get_tsc_cycles() / (sh->tsc_hz / 1000);
	uint32_t ttl = sh->cfg.neigh_ttl_s, iter = 0, ip_be;
	struct mps_neigh_stamp *st;
	int32_t pos;
	unsigned int n = 0;
	const void *key;
	void *data;
	uint64_t w;

	rte_tel_data_start_dict(d);
	if (params != NULL && params[0] != '\0') {
		if (mps_parse_ipv4(params, &ip_be) != 0)
			return -1;
		if (mps_neigh_find(t, ip_be, &w, &st) >= 0 &&
		    !mps_neigh_expired(w, st, now, ttl))
			tel_neigh_fields(d, ip_be, w, st, now);
		return 0;
	}
	while (n < TEL_NEIGH_MAX &&
	       (pos = rte_hash_iterate(t->h, &key, &data, &iter)) >= 0) {
		struct rte_tel_data *c;
		char idx[16];

		w = (uint64_t)(uintptr_t)data;
		if ((uint32_t)pos >= t->n_st ||
		    mps_neigh_expired(w, &t->st[pos], now, ttl))
			continue;
		c = rte_tel_data_alloc();
		if (c == NULL)
			return -1;
		rte_tel_data_start_dict(c);
		tel_neigh_fields(c, *(const uint32_t *)key, w, &t->st[pos], now);
		snprintf(idx, sizeof(idx), "%u", n++);
		rte_tel_data_add_dict_container(d, idx, c, 0);
	}
	return 0;
}

/* Table size and aging counters, and the workers' sums. */
static int
tel_neigh_stats(const char *cmd __rte_unused, const char *params __rte_unused,
		struct rte_tel_data *d)
{
	const struct mps_shared *sh = tel_pp->shared;
	struct mps_worker_stats sum = { 0 };

	for (uint32_t i = 0; i < sh->cfg.n_workers; i++) {
		const struct mps_worker_stats *s = &sh->workers[i].stats;

		sum.neigh_learned += s->neigh_learned;
		sum.neigh_refreshed += s->neigh_refreshed;
		sum.neigh_full += s->neigh_full;
		sum.neigh_hit += s->neigh_hit;
		sum.neigh_miss += s->neigh_miss;
		sum.neigh_conflict += s->neigh_conflict;
		sum.neigh_ratelimited += s->neigh_ratelimited;
		sum.neigh_probe += s->neigh_probe;
		sum.neigh_qs_online += s->neigh_qs_online;
		sum.ring_tx += s->ring_tx;
		sum.ring_rx += s->ring_rx;
		sum.ring_drop += s->ring_drop;
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "count", (uint64_t)rte_hash_count(tel_pp->neigh));
	rte_tel_data_add_dict_u64(d, "capacity", sh->cfg.neigh_entries);
	rte_tel_data_add_dict_u64(d, "ttl_s", sh->cfg.neigh_ttl_s);
	rte_tel_data_add_dict_u64(d, "static", sh->cfg.n_static_neigh);
	rte_tel_data_add_dict_u64(d, "static_full", sh->neigh_static_full);
	rte_tel_data_add_dict_u64(d, "expired", sh->neigh_expired);
	rte_tel_data_add_dict_u64(d, "freed", sh->neigh_freed);
	rte_tel_data_add_dict_u64(d, "offlined", sh->neigh_offlined);
	rte_tel_data_add_dict_u64(d, "locktime_ms", sh->cfg.neigh_locktime_ms);
	rte_tel_data_add_dict_u64(d, "write_rate", MPS_NEIGH_WRITE_RATE);
	rte_tel_data_add_dict_u64(d, "write_burst", MPS_NEIGH_WRITE_BURST);
	ADD_STAT(d, &sum, neigh_learned);
	ADD_STAT(d, &sum, neigh_refreshed);
	ADD_STAT(d, &sum, neigh_full);
	ADD_STAT(d, &sum, neigh_hit);
	ADD_STAT(d, &sum, neigh_miss);
	ADD_STAT(d, &sum, neigh_conflict);
	ADD_STAT(d, &sum, neigh_ratelimited);
	ADD_STAT(d, &sum, neigh_probe);
	ADD_STAT(d, &sum, neigh_qs_online);
	ADD_STAT(d, &sum, ring_tx);
	ADD_STAT(d, &sum, ring_rx);
	ADD_STAT(d, &sum, ring_drop);
	return 0;
}

/* Every counter summed over the workers, plus how many run. */
static int
tel_stats(const char *cmd __rte_unused, const char *params __rte_unused,
	  struct rte_tel_data *d)
{
	const struct mps_shared *sh = tel_pp->shared;
	unsigned int n = mps_stats_n_fields();
	uint64_t v[MPS_N_COUNTERS], running = 0;

	mps_stats_sum(sh, v);
	for (uint32_t w = 0; w < sh->cfg.n_workers; w++)
		running += sh->workers[w].state == MPS_WORKER_RUNNING;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "workers", sh->cfg.n_workers);
	rte_tel_data_add_dict_u64(d, "workers_running", running);
	for (unsigned int i = 0; i < n; i++)
		rte_tel_data_add_dict_u64(d, mps_stats_field_name(i), v[i]);
	return 0;
}

/* Where worker ID's busy cycles went ("/mps/cycles,ID"): its cycles
 * zone, read whole under the worker's seqcount, so the categories sum to
 * busy_cycles. {} when the worker is not a cycles build. */
static int
tel_cycles(const char *cmd __rte_unused, const char *params,
	   struct rte_tel_data *d)
{
	static const char *const keys[] = {
#define MPS_X_KEY(id, key, what) key,
		MPS_CYC_CATEGORIES(MPS_X_KEY)
#undef MPS_X_KEY
	};
	const struct mps_shared *sh = tel_pp->shared;
	char name[RTE_MEMZONE_NAMESIZE];
	const struct rte_memzone *mz;
	const struct mps_cycles *z;
	struct mps_cycles c;
	uint32_t w, sn;

	if (params == NULL || mps_parse_u32(params, 0, sh->cfg.n_workers - 1, &w) != 0)
		return -1;
	rte_tel_data_start_dict(d);
	snprintf(name, sizeof(name), MPS_CYCLES_FMT, w);
	mz = rte_memzone_lookup(name);
	if (mz == NULL || mz->len < sizeof(c))
		return 0;
	z = mz->addr;
	do {
		sn = rte_seqcount_read_begin(&z->seq);
		memcpy(&c, z, sizeof(c));
	} while (rte_seqcount_read_retry(&z->seq, sn));
	if (c.n_cat != MPS_CYC_N)
		return 0;
	rte_tel_data_add_dict_u64(d, "busy_cycles", c.busy_cycles);
	rte_tel_data_add_dict_u64(d, "busy_iterations", c.busy_iterations);
	rte_tel_data_add_dict_u64(d, "unbalanced", c.unbalanced);
	rte_tel_data_add_dict_u64(d, "tsc_reads", c.tsc_reads);
	rte_tel_data_add_dict_u64(d, "tsc_read_cycles", c.tsc_read_cycles);
	for (unsigned int i = 0; i < MPS_CYC_N; i++)
		rte_tel_data_add_dict_u64(d, keys[i], c.cat[i]);
	return 0;
}

/* The mbuf pool (size, in use, free) and the ports' RX
 * allocation failures, to see exhaustion and mbufs lost to dead workers. */
static int
tel_pool(const char *cmd __rte_unused, const char *params __rte_unused,
	 struct rte_tel_data *d)
{
	const struct rte_mempool *mp = tel_pp->pool;
	uint64_t rx_nombuf = 0, imissed = 0;

	for (uint16_t i = 0; i < tel_pp->n_ports; i++) {
		struct rte_eth_stats st;

		if (rte_eth_stats_get(tel_pp->port_ids[i], &st) == 0) {
			rx_nombuf += st.rx_nombuf;
			imissed += st.imissed;
		}
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "size", mp->size);
	rte_tel_data_add_dict_u64(d, "in_use", rte_mempool_in_use_count(mp));
	rte_tel_data_add_dict_u64(d, "avail", rte_mempool_avail_count(mp));
	rte_tel_data_add_dict_u64(d, "cache_size", mp->cache_size);
	rte_tel_data_add_dict_u64(d, "rx_nombuf", rx_nombuf);
	rte_tel_data_add_dict_u64(d, "imissed", imissed);
	rte_tel_data_add_dict_u64(d, "worker_deaths", tel_pp->worker_deaths);
	rte_tel_data_add_dict_u64(d, "mbufs_lost", tel_pp->mbufs_lost);
	return 0;
}

/* The kernel exception path: the interface and rate, the primary's
 * frames and bytes each way with its drops, and the workers' decisions by
 * reason and their drops, summed. */
static int
tel_exception(const char *cmd __rte_unused, const char *params __rte_unused,
	      struct rte_tel_data *d)
{
	const struct mps_shared *sh = tel_pp->shared;
	const struct mps_exc_stats *st = &sh->exc.stats;
	struct mps_worker_stats sum;

	memset(&sum, 0, sizeof(sum));
	for (uint32_t i = 0; i < sh->cfg.n_workers; i++) {
		const struct mps_worker_stats *s = &sh->workers[i].stats;

#define MPS_X_SUM(f, per_worker, what) sum.f += s->f;
		MPS_COUNTERS_EXC(MPS_X_SUM)
#undef MPS_X_SUM
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "iface", sh->cfg.exc_iface);
	rte_tel_data_add_dict_u64(d, "rate", sh->cfg.exc_rate);
	rte_tel_data_add_dict_u64(d, "burst_ms", MPS_EXC_BURST_MS);
#define MPS_X_ADD(f, per_worker, what) ADD_STAT(d, st, f);
	MPS_EXC_COUNTERS(MPS_X_ADD)
#undef MPS_X_ADD
#define MPS_X_ADD(f, per_worker, what) ADD_STAT(d, &sum, f);
	MPS_COUNTERS_EXC(MPS_X_ADD)
#undef MPS_X_ADD
	return 0;
}

/* The telemetry thread keeps answering until the process exits (DPDK 22.11
 * has no unregister), so every command runs under a read lock and finds
 * tel_pp NULL once the primary has started tearing down. */
static rte_rwlock_t tel_lock = RTE_RWLOCK_INITIALIZER;

#define GUARDED(fn) \
static int \
fn##_guarded(const char *cmd, const char *params, struct rte_tel_data *d) \
{ \
	int ret = -1; \
\
	rte_rwlock_read_lock(&tel_lock); \
	if (tel_pp != NULL) \
		ret = fn(cmd, params, d); \
	rte_rwlock_read_unlock(&tel_lock); \
	return ret; \
}
GUARDED(tel_workers)
GUARDED(tel_worker)
GUARDED(tel_config)
GUARDED(tel_neigh)
GUARDED(tel_neigh_stats)
GUARDED(tel_stats)
GUARDED(tel_pool)
GUARDED(tel_exception)
GUARDED(tel_cycles)

void
mps_telemetry_unregister(void)
{
	rte_rwlock_write_lock(&tel_lock);
	tel_pp = NULL;
	rte_rwlock_write_unlock(&tel_lock);
}

int
mps_telemetry_register(struct mps_primary *pp)
{
	int ret;

	tel_pp = pp;
	ret = rte_telemetry_register_cmd("/mps/workers", tel_workers_guarded,
		"Workers' state and main counters, 16 a page. Parameters: optional first worker id (default 0)");
	if (ret == 0)
		ret = rte_telemetry_register_cmd("/mps/worker", tel_worker_guarded,
			"One worker's state and every counter. Parameters: worker id");
	if (ret == 0)
		ret = rte_telemetry_register_cmd("/mps/config", tel_config_guarded,
			"The network and listener config. Takes no parameters");
	if (ret == 0)
		ret = rte_telemetry_register_cmd("/mps/neigh", tel_neigh_guarded,
			"Shared neighbour table (first 128 live entries). Parameters: optional IPv4 address");
	if (ret == 0)
		ret = rte_telemetry_register_cmd("/mps/neigh_stats", tel_neigh_stats_guarded,
			"Neighbour table size, aging and worker counters. Takes no parameters");
	if (ret == 0)
		ret = rte_telemetry_register_cmd("/mps/stats", tel_stats_guarded,
			"Every worker counter summed over the workers. Takes no parameters");
	if (ret == 0)
		ret = rte_telemetry_register_cmd("/mps/pool", tel_pool_guarded,
			"mbuf pool use, RX nombuf, mbufs lost to dead workers. Takes no parameters");
	if (ret == 0)
		ret = rte_telemetry_register_cmd("/mps/exception", tel_exception_guarded,
			"The kernel exception path: frames, bytes, drops each way. Takes no parameters");
	if (ret == 0)
		ret = rte_telemetry_register_cmd("/mps/cycles", tel_cycles_guarded,
			"A cycles build's busy cycles by category ({} otherwise). Parameters: worker id");
	return ret;
}
