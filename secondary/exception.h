/* SPDX-License-Identifier: BSD-3-Clause
 *
 * exception.h - the worker's side of the kernel exception path.
 */
#ifndef MPS_EXCEPTION_H
#define MPS_EXCEPTION_H

#include "mps_parse.h"
#include "worker.h"

struct rte_mbuf;

/* Finds the exception rings and asks the primary for its eventfd, when
 * the primary runs with --exception. 0 (also when off), or a negative
 * errno (the path then stays off in this worker). */
int mps_exc_init(struct mps_worker *w);

/* The decision, once, on a frame our netif parsed (fi), from path
 * from_peer (enum mps_rx_path; frames from a ring were decided by the
 * worker that received them): 0 if the stack serves it (a broadcast or
 * gratuitous ARP for another address is also copied to the kernel), 1 if
 * it was moved to the kernel path (or dropped there, counted). */
int mps_exc_rx(struct mps_worker *w, const struct mps_frame_info *fi,
	       struct rte_mbuf *m, int from_peer);

/* A frame the VLAN rule refused (another VLAN, untagged with --vlan,
 * tagged without): 1 if moved to the kernel (its tag as on the wire),
 * 0 if the caller drops it (path off, or from a ring). */
int mps_exc_rx_vlan(struct mps_worker *w, struct rte_mbuf *m, int from_peer);

/* Once per loop iteration: wakes the primary if we gave it frames while
 * it slept, and puts what the kernel sent (for us to transmit) in the TX
 * batch. Returns the frames taken from the kernel. */
unsigned int mps_exc_poll(struct mps_worker *w);

#endif /* MPS_EXCEPTION_H */
