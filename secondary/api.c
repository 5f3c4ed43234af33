/* SPDX-License-Identifier: BSD-3-Clause
 *
 * api.c - the worker-side TCP API on lwIP's raw API: a table of
 * connections named by generation-checked handles, listeners with their
 * own tuning, active opens on RSS-aware local ports, a send queue above
 * lwIP's window bounded per connection, and the lwIP callbacks that turn
 * into app events.
 *
 * lwIP frees a pcb inside tcp_abort and expects ERR_ABRT from the callback
 * that caused it; cb_pcb/cb_aborted carry that across the app's call.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>

#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"

#include "api.h"
#include "apps/apps.h"
#include "mps_log.h"
#include "mps_rss.h"
#include "worker.h"

#define POLL_INTERVAL 1       /* lwIP slow-timer ticks: retries queued data */
#define TXQ_CHUNK 32768u      /* largest pbuf the send queue allocates */
#define MAX_CONNS MEMP_NUM_TCP_PCB
#define IDX_BITS 14
#define IDX_MASK ((1u << IDX_BITS) - 1)
#define EPHEMERAL_LO MPS_EPHEMERAL_LO
#define EPHEMERAL_N MPS_EPHEMERAL_N

_Static_assert(MAX_CONNS <= IDX_MASK, "handle index bits too few");

/* Bytes queued above lwIP, oldest first; head_off already handed over. */
struct api_txq {
	struct pbuf *head, *tail; /* standalone pbufs linked through next */
	uint32_t len;
	uint16_t head_off;
};

struct api_conn {
	struct tcp_pcb *pcb;       /* NULL once lwIP has let go */
	const struct mps_api_ops *ops;
	void *arg;
	uint32_t gen;              /* bumped on free: old handles go stale */
	uint32_t sndbuf;           /* this connection's lwIP send buffer */
	uint32_t sndq_limit;
	int32_t next_free;
	s16_t rto_min;             /* slow-timer ticks */
	uint8_t in_use;
	uint8_t closing;           /* FIN once the queue is empty */
	uint8_t peer_closed;
	uint8_t active;
	uint8_t established;
	uint8_t quickack;
	uint16_t initcwnd;
	uint32_t rcvbuf;
	struct mps_pbq rx;
	struct api_txq tx;
	uint64_t ctx[MPS_CONN_CTX / 8]; /* the app's */
};

struct api_listener {
	struct tcp_pcb *pcb;
	uint16_t port;
	struct mps_tcp_tune tune;
	const struct mps_api_ops *ops;
	void *arg;
};

static struct mps_worker *self;
static struct api_conn *conns;
static int32_t free_head = -1;
static struct api_listener listeners[MPS_MAX_LISTENERS];
static uint32_t n_listeners;
static struct tcp_pcb *cb_pcb;  /* pcb whose lwIP callback is running */
static int cb_aborted;          /* ... and the app aborted it */

/* ---- the received-data queue (used by the API and apps.h) ---- */

/* A zero-copy RX pbuf keeps a whole mbuf (~2 KiB) for however
 * few bytes it carries, until the app consumes them. Pieces smaller than
 * RX_COPY_BELOW, and all pieces while the worker holds more than
 * MPS_RX_HELD_SOFT mbufs, are packed into RX_COPY_BUF-byte buffers from
 * lwIP's heap instead, and their mbufs go back to the pool at once. */
#define KEEPALIVE_IDLE_MS 60000u  /* probe a connection idle this long */
#define KEEPALIVE_INTVL_MS 10000u
#define KEEPALIVE_CNT 3u          /* unanswered probes before the reset */
#define RX_COPY_BELOW 512u
#define RX_COPY_BUF 2048u
#define MPS_PBQ_MAX_MBUFS 1024u /* zero-copy per connection; over it lwIP holds the data */

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
 * for what does not fit. All or nothing: 0, or -ENOMEM with q unchanged. */
static int
pbq_copy_in(struct mps_pbq *q, const struct pbuf *p)
{
	struct pbuf *fresh = NULL, **end = &fresh;
	uint32_t need = p->tot_len > q->tail_room ? p->tot_len - q->tail_room : 0;

	for (; need > 0; need -= RTE_MIN(need, RX_COPY_BUF)) {
		*end = pbuf_alloc(PBUF_RAW, RX_COPY_BUF, PBUF_RAM);
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
				pbq_link(q, t, RX_COPY_BUF);
			}
			k = RTE_MIN(len, q->tail_room);
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
pbq_take(struct mps_pbq *q, struct pbuf *p)
{
	if (pbuf_is_mbuf(p) &&
	    (p->len < RX_COPY_BELOW || self->stats->mbufs_held > MPS_RX_HELD_SOFT) &&
	    pbq_copy_in(q, p) == 0) {
		self->stats->rx_copied++;
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
mps_pbq_push(struct mps_pbq *q, struct pbuf *p)
{
	if (q->mbufs + pbuf_clen(p) > MPS_PBQ_MAX_MBUFS)
		goto refuse;
	if (self->stats->mbufs_held >= MPS_RX_HELD_HARD) {
		if (pbq_copy_in(q, p) != 0)
			goto refuse;
		self->stats->rx_copied += pbuf_clen(p);
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
			pbq_take(q, p);
		p = next;
	}
	return 0;
refuse:
	self->stats->rx_refused++;
	return -1;
}

/* Copies up to len bytes from the front; returns how many. */
uint32_t
mps_pbq_copy(const struct mps_pbq *q, void *buf, uint32_t len)
{
	uint32_t done = 0;

	for (const struct pbuf *p = q->head; p != NULL && done < len; p = p->next) {
		uint32_t k = RTE_MIN(len - done, (uint32_t)p->len);

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

/* ---- the send queue above lwIP ---- */

static void
txq_free(struct api_txq *q)
{
	while (q->head != NULL) {
		struct pbuf *p = q->head;

		q->head = p->next;
		p->next = NULL;
		pbuf_free(p);
	}
	self->stats->sndq_bytes -= q->len;
	memset(q, 0, sizeof(*q));
}

/* Appends len bytes in standalone pbufs from lwIP's heap. 0 or -ENOMEM. */
static int
txq_append(struct api_txq *q, const uint8_t *buf, uint32_t len)
{
	while (len > 0) {
		uint16_t n = len > TXQ_CHUNK ? TXQ_CHUNK : (uint16_t)len;
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
		self->stats->sndq_bytes += n;
		buf += n;
		len -= n;
	}
	return 0;
}

/* How much lwIP takes now, in one tcp_write. */
static uint16_t
lwip_room(struct tcp_pcb *pcb, uint32_t want)
{
	uint32_t room = tcp_sndbuf(pcb);

	if (tcp_sndqueuelen(pcb) >= TCP_SND_QUEUELEN - 1)
		return 0;
	if (room > want)
		room = want;
	return room > 0xffffu ? 0xffffu : (uint16_t)room;
}

/* Hands queued bytes to lwIP while it has room. Returns bytes moved. */
static uint32_t
txq_flush(struct api_conn *c)
{
	struct api_txq *q = &c->tx;
	uint32_t moved = 0;

	while (q->head != NULL) {
		struct pbuf *p = q->head;
		uint16_t n = lwip_room(c->pcb, (uint32_t)(p->len - q->head_off));

		if (n == 0 || tcp_write(c->pcb, (uint8_t *)p->payload + q->head_off,
					n, TCP_WRITE_FLAG_COPY) != ERR_OK)
			break;
		q->head_off = (uint16_t)(q->head_off + n);
		q->len -= n;
		self->stats->sndq_bytes -= n;
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

/* ---- the connection table ---- */

static inline mps_conn_t
handle_of(const struct api_conn *c)
{
	uint32_t idx = (uint32_t)(c - conns);

	return (mps_conn_t)(((c->gen & 0x1ffffu) << IDX_BITS) | idx);
}

/* The live connection a handle names, or NULL (counted) if it is stale. */
static struct api_conn *
conn_get(mps_conn_t h)
{
	uint32_t idx = (uint32_t)h & IDX_MASK;
	struct api_conn *c;

	if (h <= 0 || conns == NULL || idx >= MAX_CONNS)
		goto bad;
	c = &conns[idx];
	if (!c->in_use || c->pcb == NULL ||
	    ((uint32_t)h >> IDX_BITS) != (c->gen & 0x1ffffu))
		goto bad;
	return c;
bad:
	if (self != NULL)
		self->stats->api_bad_handle++;
	return NULL;
}

static struct api_conn *
conn_alloc(void)
{
	struct api_conn *c;
	uint32_t gen;

	if (free_head < 0)
		return NULL;
	c = &conns[free_head];
	free_head = c->next_free;
	gen = c->gen;
	memset(c, 0, sizeof(*c));
	c->gen = gen;
	c->in_use = 1;
	self->stats->tcp_active++;
	return c;
}

/* Detaches c from its pcb (which lwIP keeps or has freed), frees its
 * queues and slot, then tells the app. */
static void
conn_release(struct api_conn *c, int err)
{
	mps_conn_t h = handle_of(c);
	const struct mps_api_ops *ops = c->ops;
	void *arg = c->arg;
	int was_open = c->established;

	if (c->pcb != NULL) {
		tcp_arg(c->pcb, NULL);
		tcp_recv(c->pcb, NULL);
		tcp_sent(c->pcb, NULL);
		tcp_err(c->pcb, NULL);
		tcp_poll(c->pcb, NULL, 0);
	}
	mps_pbq_free(&c->rx);
	txq_free(&c->tx);
	c->pcb = NULL;
	c->in_use = 0;
	c->gen++;
	if ((c->gen & 0x1ffffu) == 0) /* slot 0 with generation 0 is handle 0 */
		c->gen++;
	c->next_free = free_head;
	free_head = (int32_t)(c - conns);
	self->stats->tcp_active--;
	if (c->active && !was_open)
		self->stats->tcp_connect_fail++;
	if (ops != NULL && ops->on_closed != NULL)
		ops->on_closed(h, err, arg);
}

/* Sets the per-connection tuning on a fresh pcb. */
static void
apply_tune(struct api_conn *c, struct tcp_pcb *pcb, const struct mps_tcp_tune *t)
{
	c->sndbuf = TCP_SND_BUF;
	if (t->sndbuf != 0 && t->sndbuf < TCP_SND_BUF) {
		pcb->snd_buf = (tcpwnd_size_t)t->sndbuf;
		c->sndbuf = t->sndbuf;
	}
	c->rcvbuf = t->rcvbuf;
	c->sndq_limit = t->sndq_limit ? t->sndq_limit : UINT32_MAX;
	if (t->nodelay == MPS_TUNE_OFF)
		tcp_nagle_enable(pcb);
	else
		tcp_nagle_disable(pcb);
	c->quickack = t->quickack == MPS_TUNE_ON;
	/* What lwIP's pcb carries, for telemetry */
	self->stats->tcp_nodelay += tcp_nagle_disabled(pcb) ? 1 : 0;
	self->stats->tcp_quickack += c->quickack;
	c->rto_min = (s16_t)((t->rto_min_ms + TCP_SLOW_INTERVAL - 1) / TCP_SLOW_INTERVAL);
	if (t->rto_init_ms != 0)
		pcb->rto = (s16_t)RTE_MAX(1, t->rto_init_ms / TCP_SLOW_INTERVAL);
	c->initcwnd = t->initcwnd;
	/* A peer that vanished without FIN or RST (or whose RST reached
	 * another worker, see README "queue adoption") is found by keepalive
	 * probes, so its connection cannot stay open for ever. */
	ip_set_option(pcb, SOF_KEEPALIVE);
	pcb->keep_idle = KEEPALIVE_IDLE_MS;
	pcb->keep_intvl = KEEPALIVE_INTVL_MS;
	pcb->keep_cnt = KEEPALIVE_CNT;
}

/* What the handshake leaves behind that tuning overrides: cwnd and the
 * receive window. */
static void
apply_established(struct api_conn *c, struct tcp_pcb *pcb)
{
	if (c->initcwnd != 0)
		pcb->cwnd = (tcpwnd_size_t)(c->initcwnd * pcb->mss);
	if (c->rcvbuf != 0 && pcb->rcv_wnd > c->rcvbuf)
		pcb->rcv_wnd = (tcpwnd_size_t)c->rcvbuf;
	if (c->rto_min != 0 && pcb->rto < c->rto_min)
		pcb->rto = c->rto_min;
	self->stats->tcp_rto_ms = (uint64_t)pcb->rto * TCP_SLOW_INTERVAL;
	/* Send no segment the ports cannot carry; the MSS we
	 * advertised (netif MTU) may be larger, for receiving jumbo frames */
	if (pcb->mss > self->port_mtu - 40)
		pcb->mss = (u16_t)(self->port_mtu - 40);
	c->established = 1;
}

/* Drops c with a RST from inside or outside an lwIP callback. */
static void
conn_abort(struct api_conn *c, int err)
{
	struct tcp_pcb *pcb = c->pcb;

	tcp_arg(pcb, NULL);
	tcp_err(pcb, NULL);
	tcp_abort(pcb);
	if (pcb == cb_pcb)
		cb_aborted = 1;
	c->pcb = NULL;
	self->stats->tcp_reset++;
	conn_release(c, err);
}

/* FIN when everything queued has gone to lwIP; retried from poll. */
static void
conn_try_close(struct api_conn *c)
{
	struct tcp_pcb *pcb = c->pcb;

	if (c->tx.len != 0)
		return;
	/* Unread data would turn lwIP's FIN into a RST that can destroy the
	 * response still in flight: account it as read. */
	mps_tcp_recved(pcb, c->rx.len);
	mps_pbq_free(&c->rx);
	if (pcb->refused_data != NULL) { /* what we refused counts as unread too */
		mps_tcp_recved(pcb, pcb->refused_data->tot_len);
		pbuf_free(pcb->refused_data);
		pcb->refused_data = NULL;
	}
	/* lwIP also takes a window below its maximum for unread data: give
	 * back what a small rcvbuf held in reserve. */
	if (c->rcvbuf != 0)
		pcb->rcv_wnd = TCP_WND_MAX(pcb);
	if (tcp_close(pcb) != ERR_OK)
		return; /* out of memory for the FIN: poll retries */
	self->stats->tcp_closed++;
	conn_release(c, 0);
}

/* Runs after any event: pushes queued bytes and a pending close. */
static void
conn_progress(struct api_conn *c)
{
	if (c->tx.len != 0 && txq_flush(c) != 0)
		tcp_output(c->pcb);
	if (c->closing)
		conn_try_close(c);
}

/* Enter/leave an lwIP callback for pcb: returns ERR_ABRT if the app
 * aborted it meanwhile. */
static inline void
cb_enter(struct tcp_pcb *pcb)
{
	cb_pcb = pcb;
	cb_aborted = 0;
}

static inline err_t
cb_leave(void)
{
	err_t ret = cb_aborted ? ERR_ABRT : ERR_OK;

	cb_pcb = NULL;
	cb_aborted = 0;
	return ret;
}

/* ---- lwIP callbacks ---- */

/* lwIP already freed the pcb (RST received, timeout, or abort). */
static void
on_err(void *arg, err_t err)
{
	struct api_conn *c = arg;

	if (c == NULL)
		return;
	c->pcb = NULL;
	self->stats->tcp_reset++;
	conn_release(c, err == ERR_RST ? (c->established ? -ECONNRESET : -ECONNREFUSED) :
			err == ERR_ABRT ? -ETIMEDOUT : -EIO);
}

static err_t
on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct api_conn *c = arg;
	mps_conn_t h;

	if (c == NULL) { /* closing: nobody reads any more */
		if (p != NULL) {
			tcp_recved(pcb, p->tot_len);
			pbuf_free(p);
		}
		return ERR_OK;
	}
	h = handle_of(c);
	cb_enter(pcb);
	if (p == NULL) {
		c->peer_closed = 1;
		if (c->ops->on_peer_closed != NULL)
			c->ops->on_peer_closed(h, c->arg);
		else
			mps_close(h);
	} else {
		if (err != ERR_OK || mps_pbq_push(&c->rx, p) != 0) {
			cb_leave();
			return ERR_MEM; /* lwIP keeps it and offers it again */
		}
		if (c->quickack)
			tcp_ack_now(pcb);
		if (c->ops->on_recv != NULL)
			c->ops->on_recv(h, c->arg);
	}
	if (!cb_aborted && conns[h & IDX_MASK].in_use &&
	    handle_of(&conns[h & IDX_MASK]) == h)
		conn_progress(c);
	return cb_leave();
}

/* Acknowledged data: lwIP updated the RTO; keep it above the floor, move
 * queued bytes down, let the app write more. */
static err_t
on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct api_conn *c = arg;
	mps_conn_t h;

	(void)len;
	if (c == NULL)
		return ERR_OK;
	if (c->rto_min != 0 && pcb->rto < c->rto_min)
		pcb->rto = c->rto_min;
	h = handle_of(c);
	cb_enter(pcb);
	conn_progress(c);
	if (!cb_aborted && c->in_use && handle_of(c) == h && !c->closing &&
	    c->ops->on_writable != NULL)
		c->ops->on_writable(h, c->arg);
	return cb_leave();
}

/* Periodic retry for what lwIP had no room or memory for. */
static err_t
on_poll(void *arg, struct tcp_pcb *pcb)
{
	return on_sent(arg, pcb, 0);
}

static void
set_callbacks(struct api_conn *c, struct tcp_pcb *pcb)
{
	tcp_arg(pcb, c);
	tcp_recv(pcb, on_recv);
	tcp_sent(pcb, on_sent);
	tcp_err(pcb, on_err);
	tcp_poll(pcb, on_poll, POLL_INTERVAL);
}

/* Tells the app about an open connection; aborts it if the app refuses. */
static err_t
conn_opened(struct api_conn *c, struct tcp_pcb *pcb, uint16_t listen_port)
{
	struct mps_conn_info ci = {
		.peer_ip = ip4_addr_get_u32(ip_2_ip4(&pcb->remote_ip)),
		.peer_port = pcb->remote_port,
		.local_port = pcb->local_port,
		.listen_port = listen_port,
		.active = c->active,
	};
	mps_conn_t h = handle_of(c);

	apply_established(c, pcb);
	cb_enter(pcb);
	if (c->ops->on_open != NULL && c->ops->on_open(h, &ci, c->arg) != 0 &&
	    !cb_aborted && c->in_use && handle_of(c) == h)
		conn_abort(c, -ECONNABORTED);
	return cb_leave();
}

static err_t
on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct api_listener *l = arg;
	struct api_conn *c;

	if (err != ERR_OK || pcb == NULL || l == NULL)
		return ERR_VAL;
	c = conn_alloc();
	if (c == NULL) {
		self->stats->tcp_refused++;
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	c->pcb = pcb;
	c->ops = l->ops;
	c->arg = l->arg;
	apply_tune(c, pcb, &l->tune);
	set_callbacks(c, pcb);
	self->stats->tcp_accepted++;
	return conn_opened(c, pcb, l->port);
}

static err_t
on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct api_conn *c = arg;

	if (c == NULL || err != ERR_OK)
		return ERR_OK;
	self->stats->tcp_connect_ok++;
	return conn_opened(c, pcb, 0);
}

/* ---- the API ---- */

int
mps_api_init(struct mps_worker *w)
{
	self = w;
	conns = calloc(MAX_CONNS, sizeof(*conns));
	if (conns == NULL)
		return -ENOMEM;
	for (int32_t i = MAX_CONNS - 1; i >= 0; i--) {
		conns[i].gen = 1;
		conns[i].next_free = free_head;
		free_head = i;
	}
	return 0;
}

int
mps_listen(uint16_t port, const struct mps_tcp_tune *tune,
	   const struct mps_api_ops *ops, void *arg)
{
	struct api_listener *l;
	struct tcp_pcb *pcb, *lpcb;

	if (n_listeners == MPS_MAX_LISTENERS || ops == NULL)
		return -ENOSPC;
	pcb = tcp_new();
	if (pcb == NULL)
		return -ENOMEM;
	if (tcp_bind(pcb, IP4_ADDR_ANY, port) != ERR_OK) {
		tcp_abort(pcb);
		return -EADDRINUSE;
	}
	lpcb = tcp_listen_with_backlog(pcb, TCP_DEFAULT_LISTEN_BACKLOG);
	if (lpcb == NULL) {
		tcp_abort(pcb);
		return -ENOMEM;
	}
	l = &listeners[n_listeners++];
	*l = (struct api_listener){ .pcb = lpcb, .port = port, .tune = *tune,
				    .ops = ops, .arg = arg };
	tcp_arg(lpcb, l);
	tcp_accept(lpcb, on_accept);
	return 0;
}

/* A local port whose reply hashes to our queue (any port when there is
 * no RETA: net_tap's kernel queue follows the queue that sent the SYN);
 * 0 when none does. */
uint16_t
mps_api_pick_port(uint32_t local_ip, uint32_t remote_ip, uint16_t remote_port)
{
	const struct mps_shared *sh = self->shared;
	uint16_t start = (uint16_t)(EPHEMERAL_LO + (uint32_t)random() % EPHEMERAL_N);

	if (sh->reta_size == 0) {
		/* net_tap: the port names the worker; strays are steered back. */
		uint16_t n = self->n_workers;

		start = (uint16_t)(start - (start % n) + self->id);
		if (start >= EPHEMERAL_LO + EPHEMERAL_N)
			start = (uint16_t)(start - n);
		return start;
	}
	return mps_rss_pick_port(sh->rss_key, sh->reta, sh->reta_size, self->id,
				 remote_ip, local_ip, remote_port, start,
				 EPHEMERAL_LO, EPHEMERAL_N);
}

int
mps_api_port_owner(uint16_t dport)
{
	if (self == NULL || self->shared->reta_size != 0 || self->n_workers < 2 ||
	    dport < EPHEMERAL_LO || dport >= EPHEMERAL_LO + EPHEMERAL_N)
		return -1;
	for (uint32_t i = 0; i < n_listeners; i++)
		if (listeners[i].port == dport)
			return -1;
	return dport % self->n_workers;
}

/* Binds pcb to a local port from the picker; retries a port in use. */
static int
bind_rss_port(struct tcp_pcb *pcb, uint32_t ip, uint16_t port)
{
	for (int tries = 0; tries < 64; tries++) {
		uint16_t lp = mps_api_pick_port(self->shared->cfg.ip, ip, port);

		if (lp == 0)
			return -EADDRNOTAVAIL;
		if (tcp_bind(pcb, IP4_ADDR_ANY, lp) == ERR_OK)
			return 0;
	}
	return -EADDRINUSE;
}

mps_conn_t
mps_connect(uint32_t ip, uint16_t port, const struct mps_tcp_tune *tune,
	    const struct mps_api_ops *ops, void *arg)
{
	struct api_conn *c;
	struct tcp_pcb *pcb;
	ip_addr_t dst;
	int ret;

	if (ops == NULL || ip == 0 || port == 0)
		return -EINVAL;
	pcb = tcp_new();
	if (pcb == NULL) {
		self->stats->tcp_connect_fail++;
		return -ENOMEM;
	}
	ret = bind_rss_port(pcb, ip, port);
	if (ret != 0) {
		tcp_abort(pcb);
		self->stats->tcp_connect_fail++;
		return ret;
	}
	c = conn_alloc();
	if (c == NULL) {
		tcp_abort(pcb);
		self->stats->tcp_connect_fail++;
		return -ENOMEM;
	}
	c->pcb = pcb;
	c->ops = ops;
	c->arg = arg;
	c->active = 1;
	apply_tune(c, pcb, tune);
	set_callbacks(c, pcb);
	ip_addr_set_ip4_u32(&dst, ip);
	if (tcp_connect(pcb, &dst, port, on_connected) != ERR_OK) {
		/* Detach first: tcp_abort would call on_err, which releases c. */
		tcp_arg(pcb, NULL);
		tcp_err(pcb, NULL);
		tcp_abort(pcb);
		c->pcb = NULL;
		conn_release(c, -ENOMEM); /* counts tcp_connect_fail */
		return -ENOMEM;
	}
	return handle_of(c);
}

int
mps_send(mps_conn_t h, const void *buf, uint32_t len)
{
	struct api_conn *c = conn_get(h);
	const uint8_t *b = buf;
	uint32_t pending;
	int wrote = 0;

	if (c == NULL)
		return -EBADF;
	if (c->closing)
		return -EPIPE;
	pending = c->sndbuf - tcp_sndbuf(c->pcb) + c->tx.len;
	if ((uint64_t)pending + len > c->sndq_limit) {
		self->stats->tcp_sndq_drop++;
		conn_abort(c, -ENOBUFS);
		return -ENOBUFS;
	}
	if (pending + len > self->stats->sndq_max)
		self->stats->sndq_max = pending + len;
	while (c->tx.len == 0 && len > 0) {
		uint16_t n = lwip_room(c->pcb, len);

		if (n == 0 || tcp_write(c->pcb, b, n, TCP_WRITE_FLAG_COPY |
					(len > n ? TCP_WRITE_FLAG_MORE : 0)) != ERR_OK)
			break;
		b += n;
		len -= n;
		wrote = 1;
	}
	if (len > 0 && txq_append(&c->tx, b, len) != 0) {
		self->stats->tcp_sndq_drop++;
		conn_abort(c, -ENOMEM);
		return -ENOBUFS;
	}
	if (wrote)
		tcp_output(c->pcb);
	return 0;
}

uint32_t
mps_send_pending(mps_conn_t h)
{
	struct api_conn *c = conn_get(h);

	if (c == NULL)
		return 0;
	return c->sndbuf - tcp_sndbuf(c->pcb) + c->tx.len;
}

uint32_t
mps_send_room(mps_conn_t h)
{
	struct api_conn *c = conn_get(h);
	uint32_t pending, lwip_free;

	if (c == NULL || c->closing)
		return 0;
	pending = c->sndbuf - tcp_sndbuf(c->pcb) + c->tx.len;
	if (c->tx.len == 0 && tcp_sndqueuelen(c->pcb) < TCP_SND_QUEUELEN - 1)
		lwip_free = tcp_sndbuf(c->pcb);
	else
		lwip_free = 0;
	/* Well-behaved apps fill lwIP's buffer and no more; the queue is for
	 * writes that must not be split (headers) and for push apps. */
	if (pending >= c->sndq_limit)
		return 0;
	return RTE_MIN(lwip_free, c->sndq_limit - pending);
}

uint32_t
mps_recv_len(mps_conn_t h)
{
	struct api_conn *c = conn_get(h);

	return c == NULL ? 0 : c->rx.len;
}

uint32_t
mps_recv_peek(mps_conn_t h, void *buf, uint32_t len)
{
	struct api_conn *c = conn_get(h);

	return c == NULL ? 0 : mps_pbq_copy(&c->rx, buf, len);
}

int
mps_recv_consume(mps_conn_t h, uint32_t len)
{
	struct api_conn *c = conn_get(h);

	if (c == NULL)
		return -EBADF;
	if (len > c->rx.len)
		len = c->rx.len;
	mps_pbq_consume(&c->rx, len);
	if (c->rcvbuf != 0) {
		/* lwIP floors its window at 0 when the peer uses what the
		 * handshake granted: return only what keeps window + unread
		 * within rcvbuf. */
		uint32_t used = c->pcb->rcv_wnd + c->rx.len;

		len = used >= c->rcvbuf ? 0 : RTE_MIN(len, c->rcvbuf - used);
	}
	mps_tcp_recved(c->pcb, len);
	return 0;
}

void *
mps_conn_ctx(mps_conn_t h)
{
	struct api_conn *c = conn_get(h);

	return c == NULL ? NULL : c->ctx;
}

int
mps_peer_closed(mps_conn_t h)
{
	struct api_conn *c = conn_get(h);

	return c == NULL ? -EBADF : c->peer_closed;
}

int
mps_close(mps_conn_t h)
{
	struct api_conn *c = conn_get(h);

	if (c == NULL)
		return -EBADF;
	c->closing = 1;
	conn_try_close(c);
	return 0;
}

int
mps_abort(mps_conn_t h)
{
	struct api_conn *c = conn_get(h);

	if (c == NULL)
		return -EBADF;
	conn_abort(c, -ECONNABORTED);
	return 0;
}

void
mps_api_shutdown(void)
{
	for (uint32_t i = 0; i < n_listeners; i++)
		tcp_close(listeners[i].pcb);
	n_listeners = 0;
	while (tcp_active_pcbs != NULL)
		tcp_abort(tcp_active_pcbs);
	while (tcp_tw_pcbs != NULL)
		tcp_abort(tcp_tw_pcbs);
	/* Connections closed gracefully are detached already; those lwIP
	 * aborted just now went through on_err. */
	if (conns != NULL)
		for (uint32_t i = 0; i < MAX_CONNS; i++)
			if (conns[i].in_use) {
				conns[i].pcb = NULL;
				conn_release(&conns[i], -ECONNABORTED);
			}
}
