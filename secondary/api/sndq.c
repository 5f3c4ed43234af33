/* SPDX-License-Identifier: BSD-3-Clause
 *
 * sndq.c - the per-connection send queue above lwIP's window, and its limit.
 *
 * What lwIP's send buffer cannot take now waits here in pbufs from lwIP's
 * heap and is moved down from the sent/poll callbacks. The limit bounds
 * what one connection may have pending, so a client that stops reading
 * cannot eat the worker's memory. Counters go through mps_worker().
 */
#include <errno.h>
#include <string.h>

#include "sndq.h"
#include "worker.h"

void
mps_sndq_init(struct mps_sndq *q, uint32_t sndbuf, uint32_t limit)
{
	q->sndbuf = sndbuf;
	q->limit = limit ? limit : UINT32_MAX;
}

/* How much lwIP takes now, in one tcp_write. */
static uint16_t
lwip_room(const struct tcp_pcb *pcb, uint32_t want)
{
	uint32_t room = tcp_sndbuf(pcb);

	if (tcp_sndqueuelen(pcb) >= TCP_SND_QUEUELEN - 1)
		return 0;
	if (room > want)
		room = want;
	return room > 0xffffu ? 0xffffu : (uint16_t)room;
}

uint32_t
mps_sndq_pending(const struct mps_sndq *q, const struct tcp_pcb *pcb)
{
	return q->sndbuf - tcp_sndbuf(pcb) + q->len;
}

uint32_t
mps_sndq_room(const struct mps_sndq *q, const struct tcp_pcb *pcb)
{
	uint32_t pending = mps_sndq_pending(q, pcb), lwip_free;

	if (q->len == 0 && tcp_sndqueuelen(pcb) < TCP_SND_QUEUELEN - 1)
		lwip_free = tcp_sndbuf(pcb);
	else
		lwip_free = 0;
	/* Well-behaved apps fill lwIP's buffer and no more; the queue is for
	 * writes that must not be split (headers) and for push apps. */
	if (pending >= q->limit)
		return 0;
	return lwip_free < q->limit - pending ? lwip_free : q->limit - pending;
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
mps_sndq_send(struct mps_sndq *q, struct tcp_pcb *pcb, const void *buf,
	      uint32_t len)
{
	struct mps_worker_stats *st = mps_worker()->stats;
	uint32_t pending = mps_sndq_pending(q, pcb);
	const uint8_t *b = buf;
	int wrote = 0;

	if ((uint64_t)pending + len > q->limit) {
		st->tcp_sndq_drop++;
		return -ENOBUFS;
	}
	if (pending + len > st->sndq_max)
		st->sndq_max = pending + len;
	/* Straight to lwIP while nothing waits (order) and it has room. */
	while (q->len == 0 && len > 0) {
		uint16_t n = lwip_room(pcb, len);

		if (n == 0 || tcp_write(pcb, b, n, TCP_WRITE_FLAG_COPY |
					(len > n ? TCP_WRITE_FLAG_MORE : 0)) != ERR_OK)
			break;
		b += n;
		len -= n;
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
mps_sndq_flush(struct mps_sndq *q, struct tcp_pcb *pcb)
{
	struct mps_worker_stats *st = mps_worker()->stats;
	uint32_t moved = 0;

	while (q->head != NULL) {
		struct pbuf *p = q->head;
		uint16_t n = lwip_room(pcb, (uint32_t)(p->len - q->head_off));

		if (n == 0 || tcp_write(pcb, (uint8_t *)p->payload + q->head_off,
					n, TCP_WRITE_FLAG_COPY) != ERR_OK)
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
