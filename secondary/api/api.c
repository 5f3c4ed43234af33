/* SPDX-License-Identifier: BSD-3-Clause
 *
 * api.c - the public worker TCP API: listen, connect, send, receive, close.
 *
 * Also the RSS-aware local ports of active opens, and the counters apps
 * keep through the API.
 *
 * The connections themselves (handles, lwIP callbacks) are conn.c's, their
 * queues rxq.c's and sndq.c's. This process's worker is mps_worker().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/priv/tcp_priv.h"
#include "lwip/sys.h"
#include "lwip/tcp.h"

#include "api.h"
#include "budget.h"
#include "conn.h"
#include "limits.h"
#include "mps_rss.h"
#include "timer.h"
#include "worker.h"

static struct mps_api_listener listeners[MPS_MAX_LISTENERS];
static uint32_t n_listeners;

int
mps_api_init(uint32_t max_conns, uint32_t max_conns_per_ip)
{
	int ret = mps_mem_init(max_conns);

	if (ret == 0)
		ret = mps_limits_init(max_conns, max_conns_per_ip);
	if (ret == 0)
		ret = mps_conn_table_init();
	return ret != 0 ? ret : mps_timer_init(2 * MPS_CONN_MAX, mps_worker()->now_ms);
}

int
mps_listen(uint16_t port, const struct mps_tcp_tune *tune,
	   const struct mps_api_ops *ops, void *arg)
{
	struct mps_api_listener *l;
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
	*l = (struct mps_api_listener){ .pcb = lpcb, .port = port,
					.tune = *tune, .ops = ops, .arg = arg };
	tcp_arg(lpcb, l);
	tcp_accept(lpcb, mps_conn_on_accept);
	return 0;
}

/* A local port whose reply hashes to our queue (any port when there is
 * no RETA: net_tap's kernel queue follows the queue that sent the SYN);
 * 0 when none does. */
uint16_t
mps_api_pick_port(uint32_t local_ip, uint32_t remote_ip, uint16_t remote_port)
{
	const struct mps_worker *w = mps_worker();
	const struct mps_shared *sh = w->shared;
	uint16_t start = (uint16_t)(MPS_EPHEMERAL_LO + (uint32_t)random() % MPS_EPHEMERAL_N);

	if (sh->reta_size == 0) {
		/* net_tap: the port names the worker; strays are steered back. */
		uint16_t n = w->n_workers;

		start = (uint16_t)(start - (start % n) + w->id);
		if (start >= MPS_EPHEMERAL_LO + MPS_EPHEMERAL_N)
			start = (uint16_t)(start - n);
		return start;
	}
	return mps_rss_pick_port(sh->rss_key, sh->reta, sh->reta_size, w->id,
				 remote_ip, local_ip, remote_port, start,
				 MPS_EPHEMERAL_LO, MPS_EPHEMERAL_N);
}

int
mps_api_is_listener(uint16_t port)
{
	for (uint32_t i = 0; i < n_listeners; i++)
		if (listeners[i].port == port)
			return 1;
	return 0;
}

int
mps_api_port_owner(uint16_t dport)
{
	const struct mps_worker *w = mps_worker();

	if (w->shared == NULL || w->shared->reta_size != 0 || w->n_workers < 2 ||
	    dport < MPS_EPHEMERAL_LO || dport >= MPS_EPHEMERAL_LO + MPS_EPHEMERAL_N)
		return -1;
	for (uint32_t i = 0; i < n_listeners; i++)
		if (listeners[i].port == dport)
			return -1;
	return dport % w->n_workers;
}

/* Binds pcb to a local port from the picker; retries a port in use. */
static int
bind_rss_port(struct tcp_pcb *pcb, uint32_t ip, uint16_t port)
{
	for (int tries = 0; tries < 64; tries++) {
		uint16_t lp = mps_api_pick_port(mps_worker()->shared->cfg.ip, ip, port);

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
	struct mps_conn *c;
	struct tcp_pcb *pcb;
	ip_addr_t dst;
	int ret;

	if (ops == NULL || ip == 0 || port == 0)
		return -EINVAL;
	pcb = tcp_new();
	if (pcb == NULL) {
		mps_worker()->stats->tcp_connect_fail++;
		return -ENOMEM;
	}
	ret = bind_rss_port(pcb, ip, port);
	if (ret != 0) {
		tcp_abort(pcb);
		mps_worker()->stats->tcp_connect_fail++;
		return ret;
	}
	c = mps_conn_alloc();
	if (c == NULL) {
		tcp_abort(pcb);
		mps_worker()->stats->tcp_connect_fail++;
		return -ENOMEM;
	}
	c->pcb = pcb;
	c->ops = ops;
	c->arg = arg;
	c->active = 1;
	mps_conn_tune(c, pcb, tune);
	mps_conn_attach(c, pcb);
	ip_addr_set_ip4_u32(&dst, ip);
	if (tcp_connect(pcb, &dst, port, mps_conn_on_connected) != ERR_OK) {
		/* Detach first: tcp_abort would call on_err, which releases c. */
		tcp_arg(pcb, NULL);
		tcp_err(pcb, NULL);
		tcp_abort(pcb);
		c->pcb = NULL;
		mps_conn_release(c, -ENOMEM); /* counts tcp_connect_fail */
		return -ENOMEM;
	}
	return mps_conn_handle(c);
}

int
mps_send(mps_conn_t h, const void *buf, uint32_t len)
{
	struct mps_conn *c = mps_conn_get(h);
	int ret;

	if (c == NULL)
		return -EBADF;
	if (c->closing)
		return -EPIPE;
	ret = mps_sndq_send(&c->tx, c->pcb, c->rx.len, buf, len);
	if (ret == -EAGAIN) /* memory short: nothing taken, send again when writable */
		return ret;
	if (ret != 0) { /* over the limit (or lwIP's heap failed): dropped, counted */
		mps_conn_abort(c, ret);
		return -ENOBUFS;
	}
	mps_conn_send_timer(c, 0);
	return 0;
}

uint32_t
mps_send_pending(mps_conn_t h)
{
	struct mps_conn *c = mps_conn_get(h);

	return c == NULL ? 0 : mps_sndq_pending(&c->tx, c->pcb);
}

uint32_t
mps_send_room(mps_conn_t h)
{
	struct mps_conn *c = mps_conn_get(h);

	return c == NULL || c->closing ? 0 : mps_sndq_room(&c->tx, c->pcb, c->rx.len);
}

uint32_t
mps_recv_len(mps_conn_t h)
{
	struct mps_conn *c = mps_conn_get(h);

	return c == NULL ? 0 : c->rx.len;
}

uint32_t
mps_recv_peek(mps_conn_t h, void *buf, uint32_t len)
{
	struct mps_conn *c = mps_conn_get(h);

	return c == NULL ? 0 : mps_pbq_copy(&c->rx, buf, len);
}

int
mps_recv_consume(mps_conn_t h, uint32_t len)
{
	struct mps_conn *c = mps_conn_get(h);
	uint32_t ann = 0;

	if (c == NULL)
		return -EBADF;
	if (len > c->rx.len)
		len = c->rx.len;
	if (len != 0)
		c->progress_ms = sys_now(); /* the app reads: not stalled (budget.c) */
	mps_pbq_consume(&c->rx, len);
	if (c->rcvbuf != 0) {
		/* lwIP floors its window at 0 when the peer uses what the
		 * handshake granted: return only what keeps window + unread
		 * within rcvbuf. */
		uint32_t used = c->pcb->rcv_wnd + c->rx.len;

		len = used >= c->rcvbuf ? 0 :
		      len < c->rcvbuf - used ? len : c->rcvbuf - used;
		ann = c->pcb->rcv_ann_wnd;
	}
	mps_tcp_recved(c->pcb, len);
	/* lwIP announces a reopened window at once only when it grew by
	 * TCP_WND_UPDATE_THRESHOLD (32 KiB), which a smaller rcvbuf never
	 * reaches: the peer, facing a zero window, would wait for its
	 * persist timer (seconds, backing off). Announce a quarter of it. */
	if (c->rcvbuf != 0 && c->pcb->rcv_ann_wnd >= ann + c->rcvbuf / 4) {
		tcp_ack_now(c->pcb);
		tcp_output(c->pcb);
	}
	return 0;
}

void *
mps_conn_ctx(mps_conn_t h)
{
	struct mps_conn *c = mps_conn_get(h);

	return c == NULL ? NULL : c->ctx;
}

int
mps_peer_closed(mps_conn_t h)
{
	struct mps_conn *c = mps_conn_get(h);

	return c == NULL ? -EBADF : c->peer_closed;
}

int
mps_close(mps_conn_t h)
{
	struct mps_conn *c = mps_conn_get(h);

	if (c == NULL)
		return -EBADF;
	if (c->lingering != 0)
		return 0; /* closing already, on the linger timer */
	mps_timer_cancel(MPS_TIMER_APP((uint32_t)h & MPS_CONN_IDX_MASK));
	c->wait = MPS_WAIT_NONE;
	c->closing = 1;
	mps_conn_try_close(c);
	return 0;
}

int
mps_close_lingering(mps_conn_t h)
{
	struct mps_conn *c = mps_conn_get(h);

	if (c == NULL)
		return -EBADF;
	if (c->lingering != 0 || c->closing)
		return 0; /* closing already */
	mps_timer_cancel(MPS_TIMER_APP((uint32_t)h & MPS_CONN_IDX_MASK));
	c->wait = MPS_WAIT_NONE;
	c->closing = 1;
	c->lingering = MPS_LINGER_WAIT;
	mps_conn_try_close(c);
	return 0;
}

int
mps_set_wait(mps_conn_t h, enum mps_wait what)
{
	struct mps_conn *c = mps_conn_get(h);
	uint32_t id, ms;

	if (c == NULL)
		return -EBADF;
	if (c->closing || c->wait == what)
		return 0;
	id = MPS_TIMER_APP((uint32_t)h & MPS_CONN_IDX_MASK);
	c->wait = (uint8_t)what;
	if (what == MPS_WAIT_NONE) {
		mps_timer_cancel(id);
		return 0;
	}
	ms = what == MPS_WAIT_REQUEST ? c->header_ms : c->keepalive_ms;
	mps_timer_arm(id, mps_worker()->now_ms + ms);
	return 0;
}

unsigned int
mps_api_tick(uint64_t now_ms)
{
	unsigned int n = 0;
	int32_t id;

	while ((id = mps_timer_next_expired(now_ms)) >= 0) {
		mps_conn_expire((uint32_t)id);
		n++;
	}
	return n;
}

int
mps_abort(mps_conn_t h)
{
	struct mps_conn *c = mps_conn_get(h);

	if (c == NULL)
		return -EBADF;
	mps_conn_abort(c, -ECONNABORTED);
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
	mps_conn_release_all(-ECONNABORTED);
}

static int draining;

void
mps_api_set_draining(int on)
{
	draining = on;
}

int
mps_api_draining(void)
{
	return draining;
}

void
mps_api_count(enum mps_api_counter what)
{
	struct mps_worker_stats *st = mps_worker()->stats;

	switch (what) {
	case MPS_COUNT_HTTP_REQUEST: st->http_requests++; break;
	case MPS_COUNT_HTTP_ERROR: st->http_errors++; break;
	case MPS_COUNT_CLIENT_DONE: st->client_done++; break;
	}
}

void
mps_api_count_rtt(uint64_t us)
{
	struct mps_worker_stats *st = mps_worker()->stats;

	st->client_rtts++;
	st->client_rtt_us_sum += us;
	if (us > st->client_rtt_us_max)
		st->client_rtt_us_max = us;
}

uint16_t
mps_api_worker_id(void)
{
	return mps_worker()->id;
}
