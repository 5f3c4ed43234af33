/* SPDX-License-Identifier: BSD-3-Clause
 *
 * sndq.h - the per-connection send queue above lwIP's window, and its limit.
 */
#ifndef MPS_API_SNDQ_H
#define MPS_API_SNDQ_H

#include <stdint.h>

#include "lwip/pbuf.h"
#include "lwip/tcp.h"

#define MPS_SNDQ_CHUNK 32768u /* largest pbuf the send queue allocates */

/* Bytes queued above lwIP, oldest first; head_off already handed over.
 * pending = what lwIP holds unacknowledged (sndbuf - tcp_sndbuf) + len;
 * a send that would take pending over limit is refused. */
struct mps_sndq {
	struct pbuf *head, *tail; /* standalone pbufs linked through next */
	uint32_t len;
	uint16_t head_off;
	uint32_t sndbuf;          /* this connection's lwIP send buffer */
	uint32_t limit;           /* most bytes pending; UINT32_MAX: none */
};

/* Sets the connection's lwIP send buffer and limit (0: no limit). */
void mps_sndq_init(struct mps_sndq *q, uint32_t sndbuf, uint32_t limit);
/* What lwIP is given is bounded by its send buffer, by the peer's window
 * (beyond the connection's memory minimum: data the peer cannot take yet
 * waits with the app, not in memory) and by the memory budget (budget.h).
 * rx_held: the bytes the connection holds on its receive side. */
/* Writes len bytes: what lwIP takes now goes at once, the rest is queued.
 * 0; -ENOBUFS over the limit (nothing taken; counted in tcp_sndq_drop:
 * the caller drops the connection); -EAGAIN when the memory budget cannot
 * hold the rest now (nothing taken; counted in mem_wait: the app sends
 * again when writable); -ENOMEM in the rare case lwIP's heap fails an
 * allocation the budget allowed (part may be queued; counted in
 * tcp_sndq_drop: the caller drops the connection). */
int mps_sndq_send(struct mps_sndq *q, struct tcp_pcb *pcb, uint32_t rx_held,
		  const void *buf, uint32_t len);
/* Hands queued bytes to lwIP while it has room. Returns bytes moved. */
uint32_t mps_sndq_flush(struct mps_sndq *q, struct tcp_pcb *pcb, uint32_t rx_held);
/* Bytes sent but not acknowledged plus those queued. */
uint32_t mps_sndq_pending(const struct mps_sndq *q, const struct tcp_pcb *pcb);
/* Bytes a send would take now without going over the limit, the peer's
 * window or the memory budget. */
uint32_t mps_sndq_room(const struct mps_sndq *q, const struct tcp_pcb *pcb,
		       uint32_t rx_held);
/* Frees what is queued (the limit and sndbuf stay). */
void mps_sndq_free(struct mps_sndq *q);

#endif /* MPS_API_SNDQ_H */
