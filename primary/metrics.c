/* SPDX-License-Identifier: BSD-3-Clause
 *
 * metrics.c - the workers' counters by name, for everything that shows them:
 * rte_metrics (dpdk-proc-info --metrics), /mps/stats and the stats line.
 *
 * The primary sums the memzone's per-worker stats once a second and
 * publishes them through rte_metrics as global metrics: every counter as
 * "mps_<name>" (all workers), and a compact set per worker as
 * "mps_w<ID>_<name>". rte_metrics has no per-worker dimension (its port id
 * is an ethdev port), and at most RTE_METRICS_MAX_METRICS names, so workers
 * beyond what fits get totals only (logged).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <rte_lcore.h>
#include <rte_metrics.h>

#include "mps_log.h"
#include "primary.h"

#define FIELD(f) { #f, offsetof(struct mps_worker_stats, f) }

/* Every uint64_t of struct mps_worker_stats that is a counter or gauge. */
static const struct {
	const char *name;
	size_t off;
} named_fields[] = {
	FIELD(rx_pkts), FIELD(rx_bytes), FIELD(tx_pkts), FIELD(tx_bytes),
	FIELD(rx_drop_malformed), FIELD(rx_drop_unsupported),
	FIELD(rx_drop_multiseg), FIELD(rx_drop_lwip),
	FIELD(tx_retries), FIELD(tx_drop_full), FIELD(tx_drop_nombuf),
	FIELD(tx_drop_toolong),
	FIELD(ring_rx), FIELD(ring_tx), FIELD(ring_drop),
	FIELD(neigh_learned), FIELD(neigh_refreshed), FIELD(neigh_hit),
	FIELD(neigh_miss), FIELD(neigh_full),
	FIELD(tcp_accepted), FIELD(tcp_active), FIELD(tcp_closed),
	FIELD(tcp_reset), FIELD(tcp_refused),
	FIELD(http_requests), FIELD(http_errors),
	FIELD(iterations), FIELD(busy_iterations), FIELD(busy_cycles),
	FIELD(idle_cycles), FIELD(idle_sleeps), FIELD(mbufs_held),
	FIELD(capture_pkts), FIELD(capture_drop),
	FIELD(tcp_sndq_drop), FIELD(sndq_bytes), FIELD(sndq_max),
	FIELD(api_bad_handle), FIELD(tcp_connect_ok), FIELD(tcp_connect_fail),
	FIELD(client_rtts), FIELD(client_rtt_us_sum), FIELD(client_rtt_us_max),
	FIELD(client_done),
	FIELD(tcp_pcbs), FIELD(tcp_syn_rcvd), FIELD(syn_evicted), FIELD(tx_queued),
	/* queue adoption */
	FIELD(adopt_rx), FIELD(adopt_handed), FIELD(adopt_drop),
	FIELD(adopt_ring_rx), FIELD(adopt_rst), FIELD(adopt_queues),
	/* port features */
	FIELD(rx_csum_sw), FIELD(tx_csum_offload), FIELD(rx_vlan_sw),
	FIELD(tx_vlan_sw), FIELD(tcp_nodelay), FIELD(tcp_quickack),
	FIELD(tcp_rto_ms), FIELD(tcp_tw_reused),
	/* RX memory */
	FIELD(rx_copied), FIELD(rx_refused), FIELD(rx_ooseq_capped),
};

/* The compact per-worker set (names from the table above, plus rx_drop,
 * the sum of every RX drop). */
static const char *const worker_metric_names[] = {
	"rx_pkts", "tx_pkts", "rx_bytes", "tx_bytes", "rx_drop",
	"tcp_accepted", "tcp_active", "tcp_closed", "tcp_reset",
	"neigh_learned", "neigh_hit", "neigh_miss", "ring_tx", "tx_retries",
	"busy_cycles", "idle_cycles",
};

#define N_NAMED ((unsigned int)RTE_DIM(named_fields))
#define N_FIELDS (N_NAMED + MPS_DROP_REASONS - 1)
#define N_WORKER_METRICS ((unsigned int)RTE_DIM(worker_metric_names))

_Static_assert(N_FIELDS <= MPS_STATS_MAX_FIELDS, "raise MPS_STATS_MAX_FIELDS");

static char field_names[N_FIELDS][RTE_METRICS_MAX_NAME_LEN];
static size_t field_offs[N_FIELDS];
static int fields_ready;
static int metrics_key_total = -1;
static int metrics_key_worker[MPS_MAX_WORKERS];
static unsigned int metrics_workers; /* workers with their own names */

/* Names and offsets of every field: the table, then one per drop reason. */
static void
fields_init(void)
{
	unsigned int i, n = 0;

	if (fields_ready)
		return;
	for (i = 0; i < N_NAMED; i++, n++) {
		snprintf(field_names[n], sizeof(field_names[n]), "%s",
			 named_fields[i].name);
		field_offs[n] = named_fields[i].off;
	}
	for (i = 1; i < MPS_DROP_REASONS; i++, n++) {
		snprintf(field_names[n], sizeof(field_names[n]), "rx_drop_%s",
			 mps_drop_reason_name(i));
		field_offs[n] = offsetof(struct mps_worker_stats, rx_drop_reason) +
				i * sizeof(uint64_t);
	}
	fields_ready = 1;
}

unsigned int
mps_stats_n_fields(void)
{
	fields_init();
	return N_FIELDS;
}

const char *
mps_stats_field_name(unsigned int i)
{
	fields_init();
	return i < N_FIELDS ? field_names[i] : NULL;
}

uint64_t
mps_stats_field(const struct mps_worker_stats *s, unsigned int i)
{
	uint64_t v;

	fields_init();
	if (i >= N_FIELDS)
		return 0;
	memcpy(&v, (const char *)s + field_offs[i], sizeof(v));
	return v;
}

/* Field index by name, or -1. */
static int
field_index(const char *name)
{
	for (unsigned int i = 0; i < N_FIELDS; i++)
		if (strcmp(field_names[i], name) == 0)
			return (int)i;
	return -1;
}

uint64_t
mps_stats_rx_drops(const struct mps_worker_stats *s)
{
	return s->rx_drop_malformed + s->rx_drop_unsupported +
	       s->rx_drop_multiseg + s->rx_drop_lwip;
}

void
mps_stats_sum(const struct mps_shared *sh, uint64_t *out)
{
	memset(out, 0, N_FIELDS * sizeof(*out));
	for (uint32_t w = 0; w < sh->cfg.n_workers; w++)
		for (unsigned int i = 0; i < N_FIELDS; i++)
			out[i] += mps_stats_field(&sh->workers[w].stats, i);
}

/* Registers one set of names "mps_<prefix><name>"; returns its first key. */
static int
reg_set(const char *prefix, const char *const *names, unsigned int n)
{
	char buf[N_FIELDS][RTE_METRICS_MAX_NAME_LEN];
	const char *ptrs[N_FIELDS];

	for (unsigned int i = 0; i < n; i++) {
		snprintf(buf[i], sizeof(buf[i]), "mps_%s%s", prefix, names[i]);
		ptrs[i] = buf[i];
	}
	return rte_metrics_reg_names(ptrs, (uint16_t)n);
}

int
mps_metrics_init(struct mps_primary *pp)
{
	const char *names[N_FIELDS];
	unsigned int n_workers = pp->shared->cfg.n_workers, room;
	char prefix[16];
	int ret;

	fields_init();
	ret = rte_metrics_init((int)rte_socket_id());
	if (ret != 0 && ret != -EEXIST)
		return ret;
	for (unsigned int i = 0; i < N_FIELDS; i++)
		names[i] = field_names[i];
	metrics_key_total = reg_set("", names, N_FIELDS);
	if (metrics_key_total < 0)
		return metrics_key_total;
	room = (RTE_METRICS_MAX_METRICS - N_FIELDS) / N_WORKER_METRICS;
	metrics_workers = RTE_MIN(n_workers, room);
	if (metrics_workers < n_workers)
		MPS_LOG(NOTICE, "rte_metrics holds %u names: per-worker metrics for workers 0..%u only",
			RTE_METRICS_MAX_METRICS, metrics_workers - 1);
	for (unsigned int w = 0; w < metrics_workers; w++) {
		snprintf(prefix, sizeof(prefix), "w%u_", w);
		metrics_key_worker[w] = reg_set(prefix, worker_metric_names,
						N_WORKER_METRICS);
		if (metrics_key_worker[w] < 0)
			return metrics_key_worker[w];
	}
	MPS_LOG(INFO, "rte_metrics: %u total counters, %u per worker for %u worker(s)",
		N_FIELDS, N_WORKER_METRICS, metrics_workers);
	return 0;
}

/* The compact per-worker values, in worker_metric_names order. */
static void
worker_values(const struct mps_worker_stats *s, uint64_t *v)
{
	for (unsigned int i = 0; i < N_WORKER_METRICS; i++) {
		int f = field_index(worker_metric_names[i]);

		v[i] = f >= 0 ? mps_stats_field(s, (unsigned int)f) :
				mps_stats_rx_drops(s);
	}
}

void
mps_metrics_update(struct mps_primary *pp)
{
	const struct mps_shared *sh = pp->shared;
	uint64_t v[N_FIELDS];

	if (metrics_key_total < 0)
		return;
	mps_stats_sum(sh, v);
	rte_metrics_update_values(RTE_METRICS_GLOBAL, (uint16_t)metrics_key_total,
				  v, N_FIELDS);
	for (unsigned int w = 0; w < metrics_workers; w++) {
		worker_values(&sh->workers[w].stats, v);
		rte_metrics_update_values(RTE_METRICS_GLOBAL,
					  (uint16_t)metrics_key_worker[w], v,
					  N_WORKER_METRICS);
	}
}

void
mps_metrics_deinit(void)
{
	if (metrics_key_total >= 0)
		rte_metrics_deinit();
	metrics_key_total = -1;
}
