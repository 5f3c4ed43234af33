/* SPDX-License-Identifier: BSD-3-Clause
 *
 * neigh_learn.h - neighbour learning from received frames, and ARP fan-out.
 */
#ifndef MPS_NEIGH_LEARN_H
#define MPS_NEIGH_LEARN_H

#include "mps_parse.h"
#include "worker.h"

/* Sets up w's learning context once w->shared, w->id and the table
 * (w->learner.t: the hash and its stamps from MPS_NEIGH_STAMPS_NAME) are
 * set; the write and probe budgets start full. */
void mps_neigh_learn_init(struct mps_worker *w);

/* Learns from a parsed frame addressed to us (or broadcast): an ARP
 * sender, or an IPv4 source on our link sent to our MAC (under the rules
 * of mps_neigh_learn; a conflicting IPv4 claim is probed by ARP). ARP
 * replies to us and gratuitous ARP are also copied to every running
 * peer's ring unless the frame came from a peer (from_peer). m stays the
 * caller's. w->now_s and w->now_ms must be current. */
void mps_neigh_learn_rx(struct mps_worker *w, const struct mps_frame_info *fi,
			struct rte_mbuf *m, int from_peer);

#endif /* MPS_NEIGH_LEARN_H */
