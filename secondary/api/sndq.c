/* SPDX-License-Identifier: BSD-3-Clause
 *
 * sndq.c - the per-connection send queue above lwIP's window, and its limit.
 *
 * What lwIP's send buffer cannot take now waits here in pbufs from lwIP's
 * heap and is moved down from the sent/poll callbacks. The limit bounds
 * what one connection may have pending, so a client that stops reading
 * cannot eat the worker's memory; lwIP is given no more than the peer's
 * window (beyond the connection's minimum) and what the memory budget
 * allows (budget.c). Counters go through mps_worker().
 */
#include <errno.h>
#include <string.h>

#include "budget.h"
#include "sndq.h"
#include "worker.h"

void
mps_sndq_init(struct mps_sndq *q, uint32_t sndbuf, uint32_t limit)
{
	q->sndbuf = sndbuf;
	q->limit = limit ? limit : UINT32_MAX;
}

/* lwIP's free send buffer: tcp_sndbuf() tops out at 0xffff with window
 * scaling, snd_buf itself does not. */
static inline uint32_t
lwip_free(const struct tcp_pcb *pcb)
{
	return pcb->snd_buf;
}

uint32_t
mps_sndq_pending(const struct mps_sndq *q, const struct tcp_pcb *pcb)
{
	return q->sndbuf - lwip_free(pcb) + q->len;
}

/* What the connection holds, adding extra bytes about to be taken. */
static inline struct mps_mem_held
held_by(const struct mps_sndq *q, const struct tcp_pcb *pcb, uint32_t rx_held,
	uint32_t extra)
{
	return (struct mps_mem_held){
		.bytes = rx_held + mps_sndq_pending(q, pcb) + extra,
		.segs = tcp_sndqueuelen(pcb),
	};
}

/* How much lwIP may take now, up to want: its send buffer and queue
 * length, the peer's window beyond the connection's minimum, the budget. */
static uint32_t
lwip_room(const struct mps_sndq *q, const struct tcp_pcb *pcb, uint32_t rx_held,
	  uint32_t want)
{
	uint32_t in_lwip = q->sndbuf - lwip_free(pcb);
	uint32_t cap = pcb->snd_wnd > MPS_MEM_CONN_MIN ? pcb->snd_wnd : MPS_MEM_CONN_MIN;
	uint32_t room = lwip_free(pcb);
	struct mps_mem_held held = held_by(q, pcb, rx_held, 0);
	uint16_t mss = tcp_mss(pcb) != 0 ? tcp_mss(pcb) : 536;

	if (tcp_sndqueuelen(pcb) >= TCP_SND_QUEUELEN - 1 || in_lwip >= cap)
		return 0;
	if (room > cap - in_lwip)
		room = cap - in_lwip;
	if (room > want)
		room = want;
	return mps_mem_room(&held, room, mss);
}

uint32_t
mps_sndq_room(const struct mps_sndq *q, const struct tcp_pcb *pcb, uint32_t rx_held)
{
	uint32_t pending = mps_sndq_pending(q, pcb), lwip_free;

	/* Well-behaved apps fill lwIP's buffer and no more; the queue is for
	 * writes that must not be split (headers) and for push apps. */
	if (pending >= q->limit)
		return 0;
	lwip_free = q->len == 0 ? lwip_room(q, pcb, rx_held, q->limit - pending) : 0;
	return lwip_free;
}

void
mps_sndq_free(struct mps_sndq *q)
{
	while (q->head != NULL) {
		struct pbuf *p = q->head;

		q->head = p->next;
		p->next = NULL;
		pbuf_free(p);
	}
	mps_worker()->stats->sndq_bytes -= q->len;
	q->tail = NULL;
	q->len = 0;
	q->head_off = 0;
}

/* Appends len bytes in standalone pbufs from lwIP's heap. 0 or -ENOMEM. */
static int
sndq_append(struct mps_sndq *q, const uint8_t *buf, uint32_t len)
{
	struct mps_worker_stats *st = mps_worker()->stats;

	while (len > 0) {
		uint16_t n = len > MPS_SNDQ_CHUNK ? MPS_SNDQ_CHUNK : (uint16_t)len;
		struct pbuf *p = pbuf_alloc(PBUF_RAW, n, PBUF_RAM);

		if (p == NULL)
			return -ENOMEM;
		memcpy(p->payload, buf, n);
		if (q->tail != NULL)
			q->tail->next = p;
		else
			q->head = p;
		q->tail = p;
		q->len += n;
		st->sndq_bytes += n;
		buf += n;
		len -= n;
	}
	return 0;
}

int
mps_sndq_send(struct mps_sndq *q, struct tcp_pcb *pcb, uint32_t rx_held,
	      const void *buf, uint32_t len)
{
	struct mps_worker_stats *st = mps_worker()->stats;
	uint32_t pending = mps_sndq_pending(q, pcb), direct = 0;
	const uint8_t *b = buf;
	int wrote = 0;

	if ((uint64_t)pending + len > q->limit) {
		st->tcp_sndq_drop++;
		return -ENOBUFS;
	}
	/* All or nothing: what lwIP cannot take now must fit the budget. */
	if (q->len == 0)
		direct = lwip_room(q, pcb, rx_held, len);
	if (direct < len) {
		struct mps_mem_held held = held_by(q, pcb, rx_held, direct);

		if (!mps_mem_may_take(&held, len - direct))
			return -EAGAIN;
	}
	if (pending + len > st->sndq_max)
		st->sndq_max = pending + len;
	/* Straight to lwIP while nothing waits (order) and it has room. */
	while (direct > 0) {
		uint16_t n = direct > 0xffffu ? 0xffffu : (uint16_t)direct;

		if (tcp_write(pcb, b, n, TCP_WRITE_FLAG_COPY |
			      (len > n ? TCP_WRITE_FLAG_MORE : 0)) != ERR_OK)
			break;
		b += n;
		len -= n;
		direct -= n;
		wrote = 1;
	}
	if (len > 0 && sndq_append(q, b, len) != 0) {
		st->tcp_sndq_drop++;
		return -ENOMEM;
	}
	if (wrote)
		tcp_output(pcb);
	return 0;
}

uint32_t
mps_sndq_flush(struct mps_sndq *q, struct tcp_pcb *pcb, uint32_t rx_held)
{
	struct mps_worker_stats *st = mps_worker()->stats;
	uint32_t moved = 0;

	while (q->head != NULL) {
		struct pbuf *p = q->head;
		uint32_t want = (uint32_t)(p->len - q->head_off);
		uint32_t n = lwip_room(q, pcb, rx_held, want > 0xffffu ? 0xffffu : want);

		if (n == 0 || tcp_write(pcb, (uint8_t *)p->payload + q->head_off,
					(uint16_t)n, TCP_WRITE_FLAG_COPY) != ERR_OK)
			break;
		q->head_off = (uint16_t)(q->head_off + n);
		q->len -= n;
		st->sndq_bytes -= n;
		moved += n;
		if (q->head_off == p->len) {
			q->head = p->next;
			if (q->head == NULL)
				q->tail = NULL;
			p->next = NULL;
			pbuf_free(p);
			q->head_off = 0;
		}
	}
	return moved;
}
