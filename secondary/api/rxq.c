/* SPDX-License-Identifier: BSD-3-Clause
 *
 * rxq.c - the per-connection queue of received data the app has not read.
 *
 * It must not pin the shared mbuf pool: small pieces are packed into copy
 * buffers from lwIP's heap and their mbufs freed at once (see rxq.h). The
 * worker's counters are reached through mps_worker().
 */
#include <errno.h>
#include <string.h>

#include "budget.h"
#include "rxq.h"
#include "worker.h"

#define MIN(a, b) ((a) < (b) ? (a) : (b))

static inline int
pbuf_is_mbuf(const struct pbuf *p)
{
	return (p->flags & PBUF_FLAG_IS_CUSTOM) != 0;
}

/* Links standalone pbuf p at the tail. */
static void
pbq_link(struct mps_pbq *q, struct pbuf *p, uint16_t room)
{
	if (q->tail != NULL)
		q->tail->next = p;
	else
		q->head = p;
	q->tail = p;
	q->tail_room = room;
	q->len += p->len;
	q->n++;
	q->mbufs += pbuf_is_mbuf(p);
}

/* Copies the bytes of chain p after the tail's data, into new copy buffers
 * for what does not fit, if the memory budget allows them (tx_held: what
 * the connection holds on its send side). All or nothing: 0, or -ENOMEM
 * with q unchanged. */
static int
pbq_copy_in(struct mps_pbq *q, const struct pbuf *p, uint32_t tx_held)
{
	struct pbuf *fresh = NULL, **end = &fresh;
	uint32_t need = p->tot_len > q->tail_room ? p->tot_len - q->tail_room : 0;
	struct mps_mem_held held = { .bytes = tx_held + q->len };

	if (need > 0 &&
	    !mps_mem_may_take(&held, (need + MPS_PBQ_COPY_BUF - 1) / MPS_PBQ_COPY_BUF *
			      MPS_PBQ_COPY_BUF))
		return -ENOMEM;

	for (; need > 0; need -= MIN(need, MPS_PBQ_COPY_BUF)) {
		*end = pbuf_alloc(PBUF_RAW, MPS_PBQ_COPY_BUF, PBUF_RAM);
		if (*end == NULL) {
			while (fresh != NULL) {
				struct pbuf *f = fresh;

				fresh = f->next;
				f->next = NULL;
				pbuf_free(f);
			}
			return -ENOMEM;
		}
		end = &(*end)->next;
	}
	for (; p != NULL; p = p->next) {
		const uint8_t *data = p->payload;
		uint16_t len = p->len;

		while (len > 0) {
			struct pbuf *t = q->tail;
			uint16_t k;

			if (q->tail_room == 0) {
				t = fresh;
				fresh = t->next;
				t->next = NULL;
				/* a standalone buffer we own: len counts what it holds */
				t->len = t->tot_len = 0;
				pbq_link(q, t, MPS_PBQ_COPY_BUF);
			}
			k = MIN(len, q->tail_room);
			memcpy((uint8_t *)t->payload + t->len, data, k);
			t->len = t->tot_len = (u16_t)(t->len + k);
			q->tail_room = (uint16_t)(q->tail_room - k);
			q->len += k;
			data += k;
			len = (uint16_t)(len - k);
		}
	}
	return 0;
}

/* Takes one piece: copied when small or when the worker holds too many
 * mbufs, kept zero-copy otherwise (or when lwIP's heap is short). */
static void
pbq_take(struct mps_pbq *q, struct pbuf *p, struct mps_worker_stats *st,
	 uint32_t tx_held)
{
	if (pbuf_is_mbuf(p) &&
	    (p->len < MPS_PBQ_COPY_BELOW || st->mbufs_held > MPS_RX_HELD_SOFT) &&
	    pbq_copy_in(q, p, tx_held) == 0) {
		st->rx_copied++;
		pbuf_free(p);
		return;
	}
	pbq_link(q, p, 0);
}

/* Queues what lwIP delivered (a chain, taken apart). -1 refuses it (lwIP
 * keeps it and offers it again; no more data is taken meanwhile): the
 * connection already holds MPS_PBQ_MAX_MBUFS mbufs zero-copy, or the
 * worker holds its budget of mbufs and lwIP's heap cannot take a copy.
 * Copied bytes are packed, so small pieces never hit the per-connection
 * limit (the receive window bounds them). */
int
mps_pbq_push(struct mps_pbq *q, struct pbuf *p, uint32_t tx_held)
{
	struct mps_worker_stats *st = mps_worker()->stats;

	if (q->mbufs + pbuf_clen(p) > MPS_PBQ_MAX_MBUFS)
		goto refuse;
	if (st->mbufs_held >= MPS_RX_HELD_HARD) {
		if (pbq_copy_in(q, p, tx_held) != 0)
			goto refuse;
		st->rx_copied += pbuf_clen(p);
		pbuf_free(p);
		return 0;
	}
	while (p != NULL) {
		struct pbuf *next = p->next;

		/* each piece of a chain holds its own reference */
		p->next = NULL;
		p->tot_len = p->len;
		if (p->len == 0)
			pbuf_free(p);
		else
			pbq_take(q, p, st, tx_held);
		p = next;
	}
	return 0;
refuse:
	st->rx_refused++;
	return -1;
}

int
mps_pbq_push_lazy(struct mps_pbq *q, struct pbuf *p, uint32_t tx_held)
{
	if (q->head == NULL && p->next == NULL && pbuf_is_mbuf(p) && p->len != 0 &&
	    p->len < MPS_PBQ_COPY_BELOW &&
	    mps_worker()->stats->mbufs_held <= MPS_RX_HELD_SOFT) {
		pbq_link(q, p, 0);
		q->lazy = 1;
		return 0;
	}
	return mps_pbq_push(q, p, tx_held);
}

void
mps_pbq_settle(struct mps_pbq *q, uint32_t tx_held)
{
	struct pbuf *p = q->head;

	if (!q->lazy)
		return;
	q->lazy = 0;
	if (p == NULL || q->n != 1 || !pbuf_is_mbuf(p))
		return; /* read (or the queue moved on meanwhile) */
	*q = (struct mps_pbq){ 0 };
	if (pbq_copy_in(q, p, tx_held) == 0) {
		mps_worker()->stats->rx_copied++;
		pbuf_free(p);
	} else {
		pbq_link(q, p, 0);
	}
}

/* Copies up to len bytes from the front; returns how many. */
uint32_t
mps_pbq_copy(const struct mps_pbq *q, void *buf, uint32_t len)
{
	uint32_t done = 0;

	for (const struct pbuf *p = q->head; p != NULL && done < len; p = p->next) {
		uint32_t k = MIN(len - done, (uint32_t)p->len);

		memcpy((char *)buf + done, p->payload, k);
		done += k;
	}
	return done;
}

/* Drops len bytes from the front, freeing the pbufs (and mbufs) emptied. */
void
mps_pbq_consume(struct mps_pbq *q, uint32_t len)
{
	while (len > 0 && q->head != NULL) {
		struct pbuf *head = q->head;

		if (len < head->len) {
			pbuf_remove_header(head, (size_t)len);
			q->len -= len;
			return;
		}
		len -= head->len;
		q->len -= head->len;
		q->head = head->next;
		q->n--;
		q->mbufs -= pbuf_is_mbuf(head);
		if (q->head == NULL) {
			q->tail = NULL;
			q->tail_room = 0;
		}
		head->next = NULL;
		pbuf_free(head);
	}
}

/* Frees everything queued; q is empty afterwards. */
void
mps_pbq_free(struct mps_pbq *q)
{
	while (q->head != NULL) {
		struct pbuf *p = q->head;

		q->head = p->next;
		p->next = NULL;
		pbuf_free(p);
	}
	memset(q, 0, sizeof(*q));
}

/* tcp_recved for any length (lwIP's takes 16 bits). */
void
mps_tcp_recved(struct tcp_pcb *pcb, uint32_t n)
{
	while (n > 0) {
		u16_t part = n > 0xffffu ? 0xffffu : (u16_t)n;

		tcp_recved(pcb, part);
		n -= part;
	}
}
