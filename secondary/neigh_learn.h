/* SPDX-License-Identifier: BSD-3-Clause
 *
 * neigh_learn.h - neighbour learning from received frames, and ARP fan-out.
 */
#ifndef MPS_NEIGH_LEARN_H
#define MPS_NEIGH_LEARN_H

#include "mps_parse.h"
#include "worker.h"

/* Learns from a parsed frame addressed to us (or broadcast): an ARP
 * sender, or an IPv4 source on our link sent to our MAC. ARP replies to us
 * and gratuitous ARP are also copied to every running peer's ring unless
 * the frame came from a peer (from_peer). m stays the caller's. */
void mps_neigh_learn_rx(struct mps_worker *w, const struct mps_frame_info *fi,
			struct rte_mbuf *m, int from_peer);

#endif /* MPS_NEIGH_LEARN_H */
