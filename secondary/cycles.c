/* SPDX-License-Identifier: BSD-3-Clause
 *
 * cycles.c - see cycles.h: the zone, the end of a busy iteration, lwIP's tcp_output.
 *
 * Built only into the cycles build (MPS_CYCLES). lwIP calls tcp_output
 * from tcp_input, its timers and tcp_close, and the API from its sends;
 * the cycles build compiles every file but tcp_out.c and this one with
 * tcp_output renamed mps_cyc_tcp_output (the Makefile), so that every
 * such call is charged to lwIP output.
 */
#include <errno.h>
#include <stdio.h>

#include <rte_errno.h>
#include <rte_memzone.h>
#include <rte_seqcount.h>

#include "lwip/tcp.h"

#include "cycles.h"
#include "mps_log.h"
#include "worker.h"

struct mps_cyc_state mps_cyc = { .depth = 1, .stack = { MPS_CYC_OTHER } };

/* One TSC read's cost in cycles: the cheapest of a few timed runs of
 * back-to-back reads (what the probes add, their bookkeeping aside). */
static uint64_t
tsc_read_cycles(void)
{
	uint64_t best = UINT64_MAX;

	for (unsigned int run = 0; run < 16; run++) {
		uint64_t t0 = rte_rdtsc(), t;

		for (unsigned int i = 0; i < 256; i++)
			(void)rte_rdtsc();
		t = (rte_rdtsc() - t0) / 257;
		if (t < best)
			best = t;
	}
	return best;
}

int
mps_cyc_init(uint16_t worker_id)
{
	char name[RTE_MEMZONE_NAMESIZE];
	const struct rte_memzone *mz;

	snprintf(name, sizeof(name), MPS_CYCLES_FMT, worker_id);
	mz = rte_memzone_lookup(name); /* a restarted worker's, or a predecessor's */
	if (mz == NULL)
		mz = rte_memzone_reserve(name, sizeof(struct mps_cycles), SOCKET_ID_ANY, 0);
	if (mz == NULL || mz->len < sizeof(struct mps_cycles)) {
		MPS_LOG(ERR, "worker %u: cycles zone %s: %s", worker_id, name,
			mz == NULL ? rte_strerror(rte_errno) : "too small");
		return mz == NULL ? -rte_errno : -EINVAL;
	}
	mps_cyc.zone = mz->addr;
	mps_cyc.zone->n_cat = MPS_CYC_N;
	mps_cyc.zone->tsc_read_cycles = tsc_read_cycles();
	MPS_LOG(INFO, "worker %u: cycles build: busy cycles by category in %s", worker_id,
		name);
	return 0;
}

void
mps_cyc_busy(const struct mps_worker *w, uint64_t t0, uint64_t t1)
{
	struct mps_cyc_state *s = &mps_cyc;
	struct mps_cycles *z = s->zone;

	s->iter[s->stack[s->depth - 1]] += t1 - s->last;
	s->last = t1;
	if (z == NULL || w->draining)
		return;
	rte_seqcount_write_begin(&z->seq);
	for (unsigned int i = 0; i < MPS_CYC_N; i++)
		z->cat[i] += s->iter[i];
	z->busy_cycles += t1 - t0;
	z->busy_iterations++;
	z->tsc_reads += s->reads;
	if (s->depth != 1 || s->unbalanced)
		z->unbalanced++;
	rte_seqcount_write_end(&z->seq);
}

err_t mps_cyc_tcp_output(struct tcp_pcb *pcb);

err_t
mps_cyc_tcp_output(struct tcp_pcb *pcb)
{
	err_t ret;

	MPS_CYC_PUSH(LWIP_OUT);
	ret = tcp_output(pcb);
	MPS_CYC_POP();
	return ret;
}
