/* SPDX-License-Identifier: BSD-3-Clause
 *
 * metrics.c - the workers' counters by name, summed, and published through
 * rte_metrics.
 *
 * For everything that shows them: rte_metrics (dpdk-proc-info --metrics),
 * /mps/stats and the stats line.
 *
 * The primary sums the memzone's per-worker stats once a second and
 * publishes them through rte_metrics as global metrics: every counter as
 * "mps_<name>" (all workers), and a compact set per worker as
 * "mps_w<ID>_<name>". rte_metrics has no per-worker dimension (its port id
 * is an ethdev port), and at most MPS_METRICS_BUDGET names, so workers
 * beyond what fits get totals only (logged). The names come from the
 * contract's counter list (MPS_COUNTERS in mps_shared.h).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <rte_lcore.h>
#include <rte_metrics.h>

#include "mps_log.h"
#include "primary.h"

/* Every counter of the contract's list (mps_shared.h), in its order. */
static const struct {
	const char *name;
	size_t off;
} named_fields[] = {
#define MPS_X_NAMED(f, per_worker, what) { #f, offsetof(struct mps_worker_stats, f) },
	MPS_COUNTERS(MPS_X_NAMED)
#undef MPS_X_NAMED
};

/* The compact per-worker set: the list's per_worker counters, plus
 * rx_drop, the sum of every RX drop. */
static const char *const worker_metric_names[] = {
#define MPS_X_PER_WORKER(f, per_worker, what) per_worker ? #f : NULL,
	MPS_COUNTERS(MPS_X_PER_WORKER)
#undef MPS_X_PER_WORKER
};

#define N_NAMED ((unsigned int)RTE_DIM(named_fields))
#define N_FIELDS MPS_N_COUNTERS
#define N_WORKER_METRICS MPS_N_WORKER_METRICS

_Static_assert(N_NAMED + MPS_DROP_REASONS - 1 == N_FIELDS, "counter list");

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
	/* Drain slots too: a replaced worker's counters go on there. */
	for (uint32_t w = 0; w < sh->cfg.n_workers; w++)
		for (unsigned int i = 0; i < N_FIELDS; i++)
			out[i] += mps_stats_field(&sh->workers[w].stats, i) +
				  mps_stats_field(&sh->drain[w].stats, i);
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
	RTE_BUILD_BUG_ON(RTE_METRICS_MAX_METRICS != MPS_METRICS_BUDGET);
	room = (MPS_METRICS_BUDGET - N_FIELDS) / N_WORKER_METRICS;
	metrics_workers = RTE_MIN(n_workers, room);
	if (metrics_workers < n_workers)
		MPS_LOG(NOTICE, "rte_metrics holds %u names: per-worker metrics for workers 0..%u only",
			RTE_METRICS_MAX_METRICS, metrics_workers - 1);
	for (unsigned int i = 0, n = 0; i < N_NAMED; i++)
		if (worker_metric_names[i] != NULL)
			names[n++] = worker_metric_names[i];
	names[N_WORKER_METRICS - 1] = "rx_drop";
	for (unsigned int w = 0; w < metrics_workers; w++) {
		snprintf(prefix, sizeof(prefix), "w%u_", w);
		metrics_key_worker[w] = reg_set(prefix, names, N_WORKER_METRICS);
		if (metrics_key_worker[w] < 0)
			return metrics_key_worker[w];
	}
	MPS_LOG(INFO, "rte_metrics: %u total counters, %u per worker for %u worker(s)",
		N_FIELDS, N_WORKER_METRICS, metrics_workers);
	return 0;
}

/* The compact per-worker values, in compact-name order (rx_drop last). */
static void
worker_values(const struct mps_worker_stats *s, uint64_t *v)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < N_NAMED; i++)
		if (worker_metric_names[i] != NULL)
			v[n++] = mps_stats_field(s, i);
	v[n] = mps_stats_rx_drops(s);
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
