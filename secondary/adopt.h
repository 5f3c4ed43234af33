/* SPDX-License-Identifier: BSD-3-Clause
 *
 * adopt.h - the worker's side of queue adoption: see adopt.c.
 */
#ifndef MPS_ADOPT_H
#define MPS_ADOPT_H

#include "worker.h"

/* Looks up the dynflag marking a frame an adopter handed over a ring (the
 * primary registers it: a secondary cannot create the dynflag memzone);
 * without it the adopter serves every frame itself. */
int mps_adopt_init(struct mps_worker *w);

/* Our queue is ours again: clears its adoption, waits for the adopter to
 * let go of its RX lock and holds that lock from then on. Call before the
 * first RX burst on it, and again whenever an adopter is named for it.
 * 0, or -EINTR if *quit or the stop flag was set while waiting. */
int mps_adopt_handback(struct mps_worker *w, volatile int *quit);

/* Polls the queues the primary gave us to adopt; returns frames seen. */
unsigned int mps_adopt_poll(struct mps_worker *w);

/* A frame from our ring: 1 if it was an adopted frame, now served. */
int mps_adopt_ring_input(struct mps_worker *w, struct rte_mbuf *m);

/* Stops polling every adopted queue (teardown). */
void mps_adopt_release(struct mps_worker *w);

/* Lets go of our own queue's RX lock (after our last burst on it), for
 * the successor that replaces us. */
void mps_adopt_let_go(struct mps_worker *w);

#endif /* MPS_ADOPT_H */
