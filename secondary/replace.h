/* SPDX-License-Identifier: BSD-3-Clause
 *
 * replace.h - graceful replacement of a live worker (--replace).
 */
#ifndef MPS_REPLACE_H
#define MPS_REPLACE_H

#include <stddef.h>

#include "mps_parse.h"
#include "worker.h"

#define MPS_DRAIN_TIMEOUT_S 30u /* --drain-timeout default */

/* Successor: registers as the one replacing live worker k (before its
 * stack is built). 0, or a one-line reason in err. */
int mps_replace_register(struct mps_worker *w, uint16_t k, char *err,
			 size_t errlen);

/* Successor, stack built: asks worker k to move out and takes its slot
 * and queue. If the predecessor dies first, the slot is claimed as after
 * any death. 0, or a reason in err (the predecessor keeps its queue). */
int mps_replace_takeover(struct mps_worker *w, volatile int *quit, char *err,
			 size_t errlen);

/* Predecessor, once per loop iteration: starts draining when a successor
 * asks; while draining, takes the queue back if the successor died and
 * ends the drain when no connection is left or the drain timeout is
 * reached (remaining connections reset). 1 when the drain is over. */
int mps_replace_tick(struct mps_worker *w, volatile int *quit);

/* Predecessor: sends its TX batch through the successor (ring). */
void mps_replace_tx(struct mps_worker *w);

/* Successor: 1 if m is a frame the predecessor asked us to send (it is
 * then in our TX batch, or dropped and counted). */
int mps_replace_tx_input(struct mps_worker *w, struct rte_mbuf *m);

/* Successor: 1 if the parsed frame belongs to a connection our draining
 * predecessor holds (not a SYN, no PCB here) and was handed to it (or
 * dropped and counted). */
int mps_replace_hand_off(struct mps_worker *w, const struct mps_frame_info *fi,
			 struct rte_mbuf *m);

#endif /* MPS_REPLACE_H */
