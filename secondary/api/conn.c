/* SPDX-License-Identifier: BSD-3-Clause
 *
 * conn.c - connections: checked handles, and lwIP callbacks as app events.
 *
 * lwIP frees a pcb inside tcp_abort and expects ERR_ABRT from the callback
 * that caused it; cb_pcb/cb_aborted carry that across the app's call.
 * The worker's counters and port MTU come through mps_worker().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/priv/tcp_priv.h"
#include "lwip/sys.h"
#include "lwip/tcp.h"

#include "conn.h"
#include "cycles.h"
#include "timer.h"
#include "limits.h"
#include "worker.h"

#define POLL_INTERVAL 1           /* lwIP slow-timer ticks: retries queued data */
#define KEEPALIVE_IDLE_MS 60000u  /* probe a connection idle this long */
#define KEEPALIVE_INTVL_MS 10000u
#define KEEPALIVE_CNT 3u          /* unanswered probes before the reset */

_Static_assert(MPS_CONN_MAX <= MPS_CONN_IDX_MASK, "handle index bits too few");

static struct mps_conn *conns;
static int32_t free_head = -1;
static struct tcp_pcb *cb_pcb;  /* pcb whose lwIP callback is running */
static int cb_aborted;          /* ... and the app aborted it */

static inline struct mps_worker_stats *
stats(void)
{
	return mps_worker()->stats;
}

int
mps_conn_table_init(void)
{
	conns = calloc(MPS_CONN_MAX, sizeof(*conns));
	if (conns == NULL)
		return -ENOMEM;
	for (int32_t i = MPS_CONN_MAX - 1; i >= 0; i--) {
		conns[i].gen = 1;
		conns[i].next_free = free_head;
		free_head = i;
	}
	return 0;
}

mps_conn_t
mps_conn_handle(const struct mps_conn *c)
{
	uint32_t idx = (uint32_t)(c - conns);

	return (mps_conn_t)(((c->gen & MPS_CONN_GEN_MASK) << MPS_CONN_IDX_BITS) | idx);
}

/* The live connection a handle names, or NULL (counted) if it is stale. */
struct mps_conn *
mps_conn_get(mps_conn_t h)
{
	uint32_t idx = (uint32_t)h & MPS_CONN_IDX_MASK;
	struct mps_conn *c;

	if (h <= 0 || conns == NULL || idx >= MPS_CONN_MAX)
		goto bad;
	c = &conns[idx];
	if (!c->in_use || c->pcb == NULL ||
	    ((uint32_t)h >> MPS_CONN_IDX_BITS) != (c->gen & MPS_CONN_GEN_MASK))
		goto bad;
	return c;
bad:
	if (stats() != NULL)
		stats()->api_bad_handle++;
	return NULL;
}

struct mps_conn *
mps_conn_alloc(void)
{
	struct mps_conn *c;
	uint32_t gen;

	if (free_head < 0)
		return NULL;
	c = &conns[free_head];
	free_head = c->next_free;
	gen = c->gen;
	memset(c, 0, sizeof(*c));
	c->gen = gen;
	c->in_use = 1;
	c->idle_prev = c->idle_next = -1;
	c->progress_ms = sys_now();
	stats()->tcp_active++;
	return c;
}

struct mps_conn *
mps_conn_slot(uint32_t i)
{
	return &conns[i];
}

int32_t
mps_conn_index(const struct mps_conn *c)
{
	return (int32_t)(c - conns);
}

void
mps_conn_held(const struct mps_conn *c, struct mps_mem_held *h)
{
	h->bytes = c->tx.len + c->rx.len;
	h->segs = 0;
	if (c->pcb != NULL) {
		h->bytes += c->tx.sndbuf - c->pcb->snd_buf; /* tcp_sndbuf() stops at 0xffff */
		h->segs = tcp_sndqueuelen(c->pcb);
	}
}

/* After any event: a connection within its memory minimum counts as
 * moving (budget.c sheds only what stalls beyond it), and an accepted one
 * with nothing to send, unacknowledged or unread joins the idle list
 * (limits.c; our own active opens are never evicted). */
static void
conn_account(struct mps_conn *c)
{
	struct mps_mem_held h;

	mps_conn_held(c, &h);
	if (h.bytes <= MPS_MEM_CONN_MIN)
		c->progress_ms = sys_now();
	mps_limits_set_idle(c, c->accepted && h.bytes == 0 && !c->closing && c->established &&
			       c->pcb != NULL && c->pcb->unsent == NULL &&
			       c->pcb->unacked == NULL);
}

/* Detaches c from its pcb (which lwIP keeps or has freed), frees its
 * queues and slot, then tells the app. */
void
mps_conn_release(struct mps_conn *c, int err)
{
	mps_conn_t h = mps_conn_handle(c);
	const struct mps_api_ops *ops = c->ops;
	void *arg = c->arg;
	int was_open = c->established;

	mps_timer_cancel(MPS_TIMER_APP(c - conns));
	mps_timer_cancel(MPS_TIMER_SEND(c - conns));
	mps_limits_release(c);
	if (c->pcb != NULL) {
		tcp_arg(c->pcb, NULL);
		tcp_recv(c->pcb, NULL);
		tcp_sent(c->pcb, NULL);
		tcp_err(c->pcb, NULL);
		tcp_poll(c->pcb, NULL, 0);
	}
	mps_pbq_free(&c->rx);
	mps_sndq_free(&c->tx);
	c->pcb = NULL;
	c->in_use = 0;
	c->gen++;
	if ((c->gen & MPS_CONN_GEN_MASK) == 0) /* slot 0 with generation 0 is handle 0 */
		c->gen++;
	c->next_free = free_head;
	free_head = (int32_t)(c - conns);
	stats()->tcp_active--;
	if (c->active && !was_open)
		stats()->tcp_connect_fail++;
	if (ops != NULL && ops->on_closed != NULL)
		ops->on_closed(h, err, arg);
}

_Static_assert(TCP_WND == MPS_TCP_BUF_MAX && TCP_SND_BUF == MPS_TCP_BUF_MAX,
	       "--rcvbuf/--sndbuf's ceiling is lwIP's window and send buffer");

/* Sets the per-connection tuning on a fresh pcb. */
void
mps_conn_tune(struct mps_conn *c, struct tcp_pcb *pcb, const struct mps_tcp_tune *t)
{
	uint32_t sndbuf = TCP_SND_BUF;

	if (t->sndbuf != 0 && t->sndbuf < TCP_SND_BUF) {
		pcb->snd_buf = (tcpwnd_size_t)t->sndbuf;
		sndbuf = t->sndbuf;
	}
	mps_sndq_init(&c->tx, sndbuf, t->sndq_limit);
	c->rcvbuf = t->rcvbuf;
	if (t->nodelay == MPS_TUNE_OFF)
		tcp_nagle_enable(pcb);
	else
		tcp_nagle_disable(pcb);
	c->quickack = t->quickack == MPS_TUNE_ON;
	/* What lwIP's pcb carries, for telemetry */
	stats()->tcp_nodelay += tcp_nagle_disabled(pcb) ? 1 : 0;
	stats()->tcp_quickack += c->quickack;
	c->rto_min = (s16_t)((t->rto_min_ms + TCP_SLOW_INTERVAL - 1) / TCP_SLOW_INTERVAL);
	if (t->rto_init_ms != 0)
		pcb->rto = (s16_t)(t->rto_init_ms < TCP_SLOW_INTERVAL ? 1 :
				   t->rto_init_ms / TCP_SLOW_INTERVAL);
	c->initcwnd = t->initcwnd;
	c->header_ms = t->header_timeout_ms ? t->header_timeout_ms : MPS_HEADER_TIMEOUT_MS;
	c->keepalive_ms = t->keepalive_timeout_ms ? t->keepalive_timeout_ms :
			  MPS_KEEPALIVE_TIMEOUT_MS;
	c->send_ms = t->send_timeout_ms ? t->send_timeout_ms : MPS_SEND_TIMEOUT_MS;
	c->linger_ms = t->linger_timeout_ms ? t->linger_timeout_ms : MPS_LINGER_TIMEOUT_MS;
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
apply_established(struct mps_conn *c, struct tcp_pcb *pcb)
{
	if (c->initcwnd != 0)
		pcb->cwnd = (tcpwnd_size_t)(c->initcwnd * pcb->mss);
	if (c->rcvbuf != 0 && pcb->rcv_wnd > c->rcvbuf)
		pcb->rcv_wnd = (tcpwnd_size_t)c->rcvbuf;
	if (c->rto_min != 0 && pcb->rto < c->rto_min)
		pcb->rto = c->rto_min;
	stats()->tcp_rto_ms = (uint64_t)pcb->rto * TCP_SLOW_INTERVAL;
	/* Send no segment the ports cannot carry; the MSS we
	 * advertised (netif MTU) may be larger, for receiving jumbo frames */
	if (pcb->mss > mps_worker()->port_mtu - 40)
		pcb->mss = (u16_t)(mps_worker()->port_mtu - 40);
	c->established = 1;
}

/* Drops c with a RST from inside or outside an lwIP callback. */
void
mps_conn_abort(struct mps_conn *c, int err)
{
	struct tcp_pcb *pcb = c->pcb;

	tcp_arg(pcb, NULL);
	tcp_err(pcb, NULL);
	tcp_abort(pcb);
	if (pcb == cb_pcb)
		cb_aborted = 1;
	c->pcb = NULL;
	stats()->tcp_reset++;
	mps_conn_release(c, err);
}

/* Accounts what the app did not read as read: unread data would turn
 * lwIP's FIN into a RST that can destroy the response still in flight. */
static void
drop_unread(struct mps_conn *c, struct tcp_pcb *pcb)
{
	mps_tcp_recved(pcb, c->rx.len);
	mps_pbq_free(&c->rx);
	if (pcb->refused_data != NULL) { /* what we refused counts as unread too */
		mps_tcp_recved(pcb, pcb->refused_data->tot_len);
		pbuf_free(pcb->refused_data);
		pcb->refused_data = NULL;
	}
}

/* The lingering close's next deadline: linger_ms of silence, and never
 * past its end. */
static void
linger_arm(struct mps_conn *c)
{
	uint64_t t = mps_worker()->now_ms + c->linger_ms;

	mps_timer_arm(MPS_TIMER_APP(c - conns), t < c->linger_end_ms ? t : c->linger_end_ms);
}

/* Lingering close: FIN now, the receive side stays open (dropping what
 * arrives) until the peer's FIN or the linger timer. 0 when the FIN is
 * out, -1 to retry (lwIP had no memory: poll retries). */
static int
linger_start(struct mps_conn *c, struct tcp_pcb *pcb)
{
	drop_unread(c, pcb);
	if (tcp_shutdown(pcb, 0, 1) != ERR_OK)
		return -1;
	c->lingering = MPS_LINGER_FIN;
	c->linger_end_ms = mps_worker()->now_ms + MPS_LINGER_MAX_MS;
	stats()->tcp_linger++;
	linger_arm(c);
	return 0;
}

/* FIN when everything queued has gone to lwIP; retried from poll. A
 * lingering close sends its FIN then and completes later. */
void
mps_conn_try_close(struct mps_conn *c)
{
	struct tcp_pcb *pcb = c->pcb;

	if (c->tx.len != 0)
		return;
	if (c->lingering == MPS_LINGER_WAIT && !c->peer_closed) {
		linger_start(c, pcb);
		return;
	}
	if (c->lingering == MPS_LINGER_FIN)
		return; /* completes on the peer's FIN or the timer */
	drop_unread(c, pcb);
	/* lwIP also takes a window below its maximum for unread data: give
	 * back what a small rcvbuf held in reserve. */
	if (c->rcvbuf != 0)
		pcb->rcv_wnd = TCP_WND_MAX(pcb);
	if (tcp_close(pcb) != ERR_OK)
		return; /* out of memory for the FIN: poll retries */
	stats()->tcp_closed++;
	mps_conn_release(c, 0);
}

/* Runs after any event: pushes queued bytes and a pending close. */
static void
conn_progress(struct mps_conn *c)
{
	if (c->tx.len != 0 && mps_sndq_flush(&c->tx, c->pcb, c->rx.len) != 0)
		tcp_output(c->pcb);
	if (c->closing)
		mps_conn_try_close(c);
}

/* Enter/leave an lwIP callback for pcb: returns ERR_ABRT if the app
 * aborted it meanwhile. What runs between is app time (cycles.h). */
static inline void
cb_enter(struct tcp_pcb *pcb)
{
	MPS_CYC_PUSH(APP);
	cb_pcb = pcb;
	cb_aborted = 0;
}

static inline err_t
cb_leave(void)
{
	err_t ret = cb_aborted ? ERR_ABRT : ERR_OK;

	cb_pcb = NULL;
	cb_aborted = 0;
	MPS_CYC_POP();
	return ret;
}

/* ---- lwIP callbacks ---- */

/* lwIP already freed the pcb (RST received, timeout, or abort). */
static void
on_err(void *arg, err_t err)
{
	struct mps_conn *c = arg;

	if (c == NULL)
		return;
	c->pcb = NULL;
	stats()->tcp_reset++;
	mps_conn_release(c, err == ERR_RST ? (c->established ? -ECONNRESET : -ECONNREFUSED) :
			err == ERR_ABRT ? -ETIMEDOUT : -EIO);
}

static err_t
on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct mps_conn *c = arg;
	mps_conn_t h;

	if (c == NULL) { /* closing: nobody reads any more */
		if (p != NULL) {
			tcp_recved(pcb, p->tot_len);
			pbuf_free(p);
		}
		return ERR_OK;
	}
	if (c->lingering != 0) { /* read and dropped */
		if (p != NULL) {
			tcp_recved(pcb, p->tot_len);
			pbuf_free(p);
			if (c->lingering == MPS_LINGER_FIN)
				linger_arm(c);
			return ERR_OK;
		}
		c->peer_closed = 1;
		c->lingering = 0; /* the peer is done too: close now */
		mps_conn_try_close(c);
		return ERR_OK;
	}
	h = mps_conn_handle(c);
	cb_enter(pcb);
	if (p == NULL) {
		c->peer_closed = 1;
		if (c->ops->on_peer_closed != NULL)
			c->ops->on_peer_closed(h, c->arg);
		else
			mps_close(h);
	} else {
		if (err != ERR_OK ||
		    mps_pbq_push_lazy(&c->rx, p, mps_sndq_pending(&c->tx, pcb)) != 0) {
			cb_leave();
			return ERR_MEM; /* lwIP keeps it and offers it again */
		}
		if (c->quickack)
			tcp_ack_now(pcb);
		if (c->ops->on_recv != NULL)
			c->ops->on_recv(h, c->arg);
	}
	if (!cb_aborted && conns[h & MPS_CONN_IDX_MASK].in_use &&
	    mps_conn_handle(&conns[h & MPS_CONN_IDX_MASK]) == h)
		conn_progress(c);
	if (!cb_aborted && c->in_use && mps_conn_handle(c) == h) {
		mps_pbq_settle(&c->rx, c->pcb != NULL ? mps_sndq_pending(&c->tx, c->pcb) : 0);
		conn_account(c);
	}
	return cb_leave();
}

/* Acknowledged data: lwIP updated the RTO; keep it above the floor, move
 * queued bytes down, let the app write more. */
static err_t
on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct mps_conn *c = arg;
	mps_conn_t h;

	if (c == NULL)
		return ERR_OK;
	if (len != 0) /* the peer took data */
		c->progress_ms = sys_now();
	if (c->rto_min != 0 && pcb->rto < c->rto_min)
		pcb->rto = c->rto_min;
	h = mps_conn_handle(c);
	cb_enter(pcb);
	conn_progress(c);
	if (!cb_aborted && c->in_use && mps_conn_handle(c) == h)
		mps_conn_send_timer(c, len > 0);
	if (!cb_aborted && c->in_use && mps_conn_handle(c) == h && !c->closing &&
	    c->ops->on_writable != NULL)
		c->ops->on_writable(h, c->arg);
	if (!cb_aborted && c->in_use && mps_conn_handle(c) == h)
		conn_account(c);
	return cb_leave();
}

/* Periodic retry for what lwIP had no room or memory for. */
static err_t
on_poll(void *arg, struct tcp_pcb *pcb)
{
	return on_sent(arg, pcb, 0);
}

void
mps_conn_attach(struct mps_conn *c, struct tcp_pcb *pcb)
{
	tcp_arg(pcb, c);
	tcp_recv(pcb, on_recv);
	tcp_sent(pcb, on_sent);
	tcp_err(pcb, on_err);
	tcp_poll(pcb, on_poll, POLL_INTERVAL);
}

/* Tells the app about an open connection; aborts it if the app refuses. */
static err_t
conn_opened(struct mps_conn *c, struct tcp_pcb *pcb, uint16_t listen_port)
{
	struct mps_conn_info ci = {
		.peer_ip = ip4_addr_get_u32(ip_2_ip4(&pcb->remote_ip)),
		.peer_port = pcb->remote_port,
		.local_port = pcb->local_port,
		.listen_port = listen_port,
		.active = c->active,
	};
	mps_conn_t h = mps_conn_handle(c);

	apply_established(c, pcb);
	cb_enter(pcb);
	if (c->ops->on_open != NULL && c->ops->on_open(h, &ci, c->arg) != 0 &&
	    !cb_aborted && c->in_use && mps_conn_handle(c) == h)
		mps_conn_abort(c, -ECONNABORTED);
	if (!cb_aborted && c->in_use && mps_conn_handle(c) == h)
		conn_account(c);
	return cb_leave();
}

err_t
mps_conn_on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct mps_api_listener *l = arg;
	struct mps_conn *c;

	if (err != ERR_OK || pcb == NULL || l == NULL)
		return ERR_VAL;
	c = mps_conn_alloc();
	if (c == NULL) {
		stats()->tcp_refused++;
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	c->peer_ip = ip4_addr_get_u32(ip_2_ip4(&pcb->remote_ip));
	if (mps_limits_accept(c) != 0) { /* over a limit: refused (RST), counted */
		mps_conn_release(c, -ECONNREFUSED); /* no app saw it */
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	c->pcb = pcb;
	c->ops = l->ops;
	c->arg = l->arg;
	mps_conn_tune(c, pcb, &l->tune);
	mps_conn_attach(c, pcb);
	stats()->tcp_accepted++;
	return conn_opened(c, pcb, l->port);
}

err_t
mps_conn_on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct mps_conn *c = arg;

	if (c == NULL || err != ERR_OK)
		return ERR_OK;
	stats()->tcp_connect_ok++;
	return conn_opened(c, pcb, 0);
}

/* Anything sent and not acknowledged, or still queued (lwIP's segments,
 * a FIN included, and our send queue). */
static int
send_pending(const struct mps_conn *c)
{
	return c->pcb->unacked != NULL || c->pcb->unsent != NULL || c->tx.len != 0;
}

void
mps_conn_send_timer(struct mps_conn *c, int progress)
{
	uint32_t id = MPS_TIMER_SEND(c - conns);

	if (c->pcb == NULL || !send_pending(c))
		mps_timer_cancel(id);
	else if (progress || !mps_timer_armed(id))
		mps_timer_arm(id, mps_worker()->now_ms + c->send_ms);
}

void
mps_conn_expire(uint32_t id)
{
	struct mps_conn *c;
	mps_conn_t h;
	int what;

	if (id / 2 >= MPS_CONN_MAX || !conns[id / 2].in_use || conns[id / 2].pcb == NULL)
		return;
	c = &conns[id / 2];
	h = mps_conn_handle(c);
	what = c->wait;
	if (id == MPS_TIMER_SEND(id / 2)) {
		/* Nothing new acknowledged for send_ms: the peer reads nothing. */
		stats()->tcp_send_timeout++;
		mps_conn_abort(c, -ETIMEDOUT);
		return;
	}
	if (c->lingering == MPS_LINGER_FIN) { /* silent long enough, or over */
		c->lingering = 0;
		mps_conn_try_close(c);
		return;
	}
	c->wait = MPS_WAIT_NONE;
	if (what == MPS_WAIT_REQUEST)
		stats()->tcp_header_timeout++;
	else if (what == MPS_WAIT_IDLE)
		stats()->tcp_keepalive_timeout++;
	else
		return;
	if (c->ops->on_timeout != NULL)
		c->ops->on_timeout(h, what, c->arg);
	else
		mps_close(h);
}

void
mps_conn_release_all(int err)
{
	if (conns == NULL)
		return;
	for (uint32_t i = 0; i < MPS_CONN_MAX; i++)
		if (conns[i].in_use) {
			conns[i].pcb = NULL;
			mps_conn_release(&conns[i], err);
		}
}
