/* SPDX-License-Identifier: BSD-3-Clause
 *
 * cycles.h - where a worker's busy cycles go: TSC probes of the cycles build.
 *
 * Built with MPS_CYCLES (`make CYCLES=1`, into build/cycles), the worker
 * keeps a small stack of open categories (MPS_CYC_CATEGORIES in
 * mps_shared.h), "other" at the bottom. MPS_CYC_PUSH(cat) charges the
 * cycles since the last switch to the category on top and opens cat;
 * MPS_CYC_POP() charges them to the top one and closes it. So the
 * innermost open category gets the time and nothing counts twice; opening
 * the category already on top costs no TSC read. MPS_CYC_BEGIN(t0) starts
 * an iteration at t0; MPS_CYC_BUSY(w, t0, t1) ends a busy one at t1 and
 * adds its figures (which sum to t1 - t0) to the worker's zone. In the
 * normal build every macro is empty and nothing is reserved.
 */
#ifndef MPS_CYCLES_H
#define MPS_CYCLES_H

#include "mps_shared.h"

struct mps_worker;

#ifdef MPS_CYCLES

#include <rte_branch_prediction.h>
#include <rte_cycles.h>

#define MPS_CYC_DEPTH 16u

struct mps_cyc_state {
	uint64_t last;              /* TSC of the last switch */
	uint32_t depth;             /* open categories, "other" included */
	uint32_t excess;            /* pushes past MPS_CYC_DEPTH not yet popped */
	uint8_t stack[MPS_CYC_DEPTH];
	uint8_t unbalanced;         /* a pop found only "other" open */
	uint64_t reads;             /* this iteration's TSC reads */
	uint64_t iter[MPS_CYC_N];   /* this iteration's cycles by category */
	struct mps_cycles *zone;    /* NULL: not counting */
};

/* One worker per process: the probes need no context. */
extern struct mps_cyc_state mps_cyc;

static inline void
mps_cyc_charge(struct mps_cyc_state *s, uint8_t cat)
{
	uint64_t now = rte_rdtsc();

	s->iter[cat] += now - s->last;
	s->last = now;
	s->reads++;
}

static inline void
mps_cyc_push(uint8_t cat)
{
	struct mps_cyc_state *s = &mps_cyc;
	uint8_t top = s->stack[s->depth - 1];

	if (unlikely(s->depth == MPS_CYC_DEPTH)) {
		s->excess++; /* stays in top; its pop comes first */
		s->unbalanced = 1;
		return;
	}
	if (cat != top)
		mps_cyc_charge(s, top);
	s->stack[s->depth++] = cat;
}

static inline void
mps_cyc_pop(void)
{
	struct mps_cyc_state *s = &mps_cyc;
	uint8_t top;

	if (unlikely(s->excess != 0)) {
		s->excess--;
		return;
	}
	if (unlikely(s->depth <= 1)) {
		s->unbalanced = 1;
		return;
	}
	top = s->stack[--s->depth];
	if (top != s->stack[s->depth - 1])
		mps_cyc_charge(s, top);
}

static inline void
mps_cyc_begin(uint64_t t0)
{
	struct mps_cyc_state *s = &mps_cyc;

	s->last = t0;
	s->depth = 1;
	s->stack[0] = MPS_CYC_OTHER;
	s->excess = 0;
	s->unbalanced = 0;
	s->reads = 0;
	for (unsigned int i = 0; i < MPS_CYC_N; i++)
		s->iter[i] = 0;
}

/* Reserves (or, after a restart, finds) this worker's zone. 0 or -errno. */
int mps_cyc_init(uint16_t worker_id);

/* Ends a busy iteration that began at t0 at t1: its figures to the zone. */
void mps_cyc_busy(const struct mps_worker *w, uint64_t t0, uint64_t t1);

#define MPS_CYC_PUSH(cat) mps_cyc_push(MPS_CYC_##cat)
#define MPS_CYC_POP() mps_cyc_pop()
#define MPS_CYC_BEGIN(t0) mps_cyc_begin(t0)
#define MPS_CYC_BUSY(w, t0, t1) mps_cyc_busy(w, t0, t1)
#define MPS_CYC_INIT(id) mps_cyc_init(id)

#else /* !MPS_CYCLES: the normal build pays nothing */

#define MPS_CYC_PUSH(cat) do { } while (0)
#define MPS_CYC_POP() do { } while (0)
#define MPS_CYC_BEGIN(t0) do { (void)(t0); } while (0)
#define MPS_CYC_BUSY(w, t0, t1) do { (void)(w); (void)(t0); (void)(t1); } while (0)
#define MPS_CYC_INIT(id) 0

#endif /* MPS_CYCLES */

#endif /* MPS_CYCLES_H */
