/* SPDX-License-Identifier: BSD-3-Clause
 *
 * steer.h - which worker owns a received frame, and handing it over.
 */
#ifndef MPS_STEER_H
#define MPS_STEER_H

#include "mps_parse.h"
#include "worker.h"

/* A frame netif RX parsed into fi, from_peer its enum mps_rx_path: 1 if it
 * belongs to another worker's active open, or is a segment of a passive
 * connection our lwIP does not hold (no RETA: it goes round the running
 * workers), and was handed to a worker's ring (or dropped and counted when
 * that worker is not running or its ring is full); 0 if it is ours to
 * serve. A frame a peer handed us is ours, but for such a stray. */
int mps_steer_rx(struct mps_worker *w, const struct mps_frame_info *fi,
		 struct rte_mbuf *m, int from_peer);

/* A frame from a queue we adopted, parsed into fi: the worker that serves
 * it (possibly w->id). */
uint16_t mps_steer_adopted(const struct mps_worker *w,
			   const struct mps_frame_info *fi);

/* Forgets any steering mark m carries (before m is handed over by other
 * means than mps_steer_rx). */
void mps_steer_clear(struct rte_mbuf *m);

/* Puts m on worker to's ring: 0, or -ENOBUFS when the ring is full (m is
 * still the caller's). */
int mps_steer_hand_off(struct mps_worker *w, uint16_t to, struct rte_mbuf *m);

#endif /* MPS_STEER_H */
