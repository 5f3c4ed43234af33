/* SPDX-License-Identifier: BSD-3-Clause
 *
 * rxq.h - the per-connection queue of received data the app has not read.
 */
#ifndef MPS_API_RXQ_H
#define MPS_API_RXQ_H

#include <stdint.h>

#include "lwip/pbuf.h"
#include "lwip/tcp.h"

/* A zero-copy RX pbuf keeps a whole mbuf (~2 KiB) for however few bytes it
 * carries, until the app consumes them. Pieces smaller than
 * MPS_PBQ_COPY_BELOW, and all pieces while the worker holds more than
 * MPS_RX_HELD_SOFT mbufs, are packed into MPS_PBQ_COPY_BUF-byte buffers
 * from lwIP's heap instead, and their mbufs go back to the pool at once. */
#define MPS_PBQ_COPY_BELOW 512u
#define MPS_PBQ_COPY_BUF 2048u
#define MPS_PBQ_MAX_MBUFS 1024u /* zero-copy per connection; over it lwIP holds the data */

/* Received data not yet consumed (it must not pin the shared
 * mbuf pool). Standalone pbufs (tot_len == len) linked through next, so a
 * push is O(1): received zero-copy mbufs, and copy buffers from lwIP's
 * heap into which small segments are packed (their mbufs go back at once).
 * The bytes are bounded by the receive window (nothing is tcp_recved
 * before the app consumes it), the mbufs by MPS_PBQ_MAX_MBUFS. */
struct mps_pbq {
	struct pbuf *head, *tail;
	uint32_t len;       /* bytes */
	uint32_t n;         /* pbufs */
	uint32_t mbufs;     /* of those, RX mbufs held zero-copy */
	uint16_t tail_room; /* free bytes after tail's data (a copy buffer) */
	uint8_t lazy;       /* its one piece is an mbuf to settle (push_lazy) */
};

/* Queues what lwIP delivered; -1 refuses it (lwIP keeps it). Copy
 * buffers come out of the memory budget (budget.h); tx_held is what the
 * connection holds on its send side. */
int mps_pbq_push(struct mps_pbq *q, struct pbuf *p, uint32_t tx_held);
/* mps_pbq_push, except that an empty queue takes one small mbuf piece as
 * it is, for the app to read in the callback that delivers it (a request
 * read at once is never copied); mps_pbq_settle() must follow that
 * callback. */
int mps_pbq_push_lazy(struct mps_pbq *q, struct pbuf *p, uint32_t tx_held);
/* Packs what the app left of a piece push_lazy kept as it was, as
 * mps_pbq_push would have (if the budget allows; else it stays zero-copy). */
void mps_pbq_settle(struct mps_pbq *q, uint32_t tx_held);
/* Copies up to len bytes from the front; returns how many. */
uint32_t mps_pbq_copy(const struct mps_pbq *q, void *buf, uint32_t len);
/* Drops len bytes from the front, freeing the pbufs (and mbufs) emptied. */
void mps_pbq_consume(struct mps_pbq *q, uint32_t len);
/* Frees everything queued; q is empty afterwards. */
void mps_pbq_free(struct mps_pbq *q);
/* tcp_recved for any length (lwIP's takes 16 bits). */
void mps_tcp_recved(struct tcp_pcb *pcb, uint32_t n);

#endif /* MPS_API_RXQ_H */
