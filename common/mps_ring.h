/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mps_ring.h - emptying a ring of mbufs, for whoever owns its consumer side.
 *
 * A worker's ring at exit, the capture ring, the primary's rings at
 * teardown.
 */
#ifndef MPS_RING_H
#define MPS_RING_H

#include <rte_mbuf.h>
#include <rte_ring.h>

/* Dequeues and frees every mbuf on r (the caller is its only consumer);
 * returns how many. NULL is an empty ring. */
static inline unsigned int
mps_ring_free_mbufs(struct rte_ring *r)
{
	void *objs[64];
	unsigned int n, total = 0;

	while (r != NULL &&
	       (n = rte_ring_sc_dequeue_burst(r, objs, RTE_DIM(objs), NULL)) != 0) {
		rte_pktmbuf_free_bulk((struct rte_mbuf **)objs, n);
		total += n;
	}
	return total;
}

#endif /* MPS_RING_H */
