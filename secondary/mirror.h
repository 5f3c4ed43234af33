/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mirror.h - the worker's side of mps-capture: see mirror.c.
 */
#ifndef MPS_MIRROR_H
#define MPS_MIRROR_H

#include <stdint.h>

#include <rte_branch_prediction.h>

#include "worker.h"

#define MPS_MIRROR_BURST 64u

/* Finds the capture ring and pool; -ENOENT (never mirror) without them. */
int mps_mirror_init(struct mps_worker *w);

/* Copies n frames of port into the capture ring, never blocking. */
void mps_mirror_burst(struct mps_worker *w, uint16_t port, struct rte_mbuf **pkts,
		      uint16_t n, int out);

/* Is a capture asking this worker for copies? One load per burst. */
static inline int
mps_mirror_on(const struct mps_worker *w)
{
	return unlikely(mps_wset_has(&w->shared->capture_set, w->id)) &&
	       w->capture_ring != NULL;
}

#endif /* MPS_MIRROR_H */
