/* SPDX-License-Identifier: BSD-3-Clause
 *
 * txseg.h - lwIP's TCP data segments in pool mbufs, sent without a copy.
 */
#ifndef MPS_TXSEG_H
#define MPS_TXSEG_H

#include <stdint.h>

#include "worker.h"

struct pbuf;
struct rte_mbuf;

/* Payloads shorter than this are copied: two mbufs and a reference
 * cost more than copying them. A segment that starts shorter stays in
 * lwIP's heap, and a worker holds at most MPS_TX_SEG_HELD segments in
 * mbufs (mps_shared.h): past it they come from the heap too. */
#define MPS_TX_ZC_MIN 512u

/* Whether segments go into mbufs: on ports that send chained mbufs. */
void mps_txseg_init(struct mps_worker *w);

/* The frame for lwIP's frame p (Ethernet, IPv4, TCP) without copying its
 * payload: a new mbuf with the headers chained to a reference on the
 * payload, or NULL when p is not such a segment, its payload is short or
 * no mbuf is left (the caller copies). */
struct rte_mbuf *mps_txseg_frame(struct mps_worker *w, struct pbuf *p);

#endif /* MPS_TXSEG_H */
