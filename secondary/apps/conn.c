/* SPDX-License-Identifier: BSD-3-Clause
 *
 * conn.c - listeners from the shared config, accepting connections,
 * per-connection state from an lwIP memory pool (no malloc), and the
 * callbacks that route events to the app.
 */
#include <errno.h>
#include <string.h>

#include "lwip/apps/lwiperf.h"
#include "lwip/memp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"

#include "mps_log.h"
#include "apps.h"
#include "worker.h"

#define POLL_INTERVAL 1 /* lwIP slow-timer ticks: retries ERR_MEM */

LWIP_MEMPOOL_DECLARE(MPS_CONN, MEMP_NUM_TCP_PCB, sizeof(struct mps_conn),
		     "mps_conn");

static struct mps_worker *self;
static struct tcp_pcb *listeners[MPS_MAX_LISTENERS];

/* ---- the received-data queue ---- */

int
mps_pbq_push(struct mps_pbq *q, struct pbuf *p)
{
	uint16_t add = p->tot_len;

	if (q->n > 0 && q->chain[q->n - 1]->tot_len + (uint32_t)add <= 0xffffu) {
		pbuf_cat(q->chain[q->n - 1], p);
	} else {
		if (q->n == MPS_PBQ_SLOTS)
			return -1;
		q->chain[q->n++] = p;
	}
	q->len += add;
	return 0;
}

/* Copies up to len bytes from the front; returns how many. */
uint32_t
mps_pbq_copy(const struct mps_pbq *q, void *buf, uint32_t len)
{
	uint32_t done = 0;

	for (uint8_t i = 0; i < q->n && done < len; i++) {
		uint32_t want = len - done;

		if (want > q->chain[i]->tot_len)
			want = q->chain[i]->tot_len;
		done += pbuf_copy_partial(q->chain[i], (char *)buf + done,
					  (u16_t)want, 0);
	}
	return done;
}

/* Drops len bytes from the front, freeing the pbufs (and mbufs) emptied. */
void
mps_pbq_consume(struct mps_pbq *q, uint32_t len)
{
	while (len > 0 && q->n > 0) {
		struct pbuf *head = q->chain[0];
		uint32_t take = len < head->tot_len ? len : head->tot_len;

		q->chain[0] = pbuf_free_header(head, (u16_t)take);
		q->len -= take;
		len -= take;
		if (q->chain[0] == NULL) {
			memmove(q->chain, q->chain + 1,
				(size_t)(q->n - 1) * sizeof(q->chain[0]));
			q->n--;
		}
	}
}

void
mps_pbq_free(struct mps_pbq *q)
{
	for (uint8_t i = 0; i < q->n; i++)
		pbuf_free(q->chain[i]);
	memset(q, 0, sizeof(*q));
}

/* ---- connection lifecycle ---- */

static void
conn_free(struct mps_conn *c)
{
	mps_pbq_free(&c->rx);
	LWIP_MEMPOOL_FREE(MPS_CONN, c);
	self->stats->tcp_active--;
}

void
mps_tcp_recved(struct tcp_pcb *pcb, uint32_t n)
{
	while (n > 0) {
		u16_t part = n > 0xffffu ? 0xffffu : (u16_t)n;

		tcp_recved(pcb, part);
		n -= part;
	}
}

void
mps_conn_close(struct mps_conn *c)
{
	struct tcp_pcb *pcb = c->pcb;

	c->close_after = 1;
	/* Unread data would turn lwIP's FIN into a RST that can destroy the
	 * response still in flight: account it as read. */
	mps_tcp_recved(pcb, c->rx.len);
	mps_pbq_free(&c->rx);
	if (tcp_close(pcb) != ERR_OK)
		return; /* out of memory for the FIN: poll retries */
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_sent(pcb, NULL);
	tcp_err(pcb, NULL);
	tcp_poll(pcb, NULL, 0);
	self->stats->tcp_closed++;
	conn_free(c);
}

/* lwIP already freed the pcb (RST received or tcp_abort). */
static void
on_err(void *arg, err_t err)
{
	struct mps_conn *c = arg;

	(void)err;
	if (c == NULL)
		return;
	self->stats->tcp_reset++;
	conn_free(c);
}

static void
app_flush(struct mps_conn *c)
{
	switch (c->app) {
	case MPS_APP_ECHO:
		mps_echo_flush(c);
		break;
	case MPS_APP_HTTP:
		mps_http_flush(c);
		break;
	default: /* discard: nothing to send; close when the peer does */
		if (c->peer_closed)
			mps_conn_close(c);
		break;
	}
}

static err_t
on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct mps_conn *c = arg;

	(void)pcb;
	if (c == NULL) { /* closing: nobody reads any more */
		if (p != NULL) {
			tcp_recved(pcb, p->tot_len);
			pbuf_free(p);
		}
		return ERR_OK;
	}
	if (p == NULL) {
		c->peer_closed = 1;
		c->close_after = 1;
		app_flush(c);
		return ERR_OK;
	}
	if (err != ERR_OK || c->app == MPS_APP_DISCARD) {
		tcp_recved(pcb, p->tot_len);
		pbuf_free(p);
		return ERR_OK;
	}
	if (mps_pbq_push(&c->rx, p) != 0)
		return ERR_MEM; /* lwIP keeps it and offers it again */
	switch (c->app) {
	case MPS_APP_ECHO:
		return mps_echo_recv(c);
	case MPS_APP_HTTP:
		return mps_http_recv(c);
	default:
		return ERR_OK;
	}
}

static err_t
on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	(void)pcb;
	(void)len;
	if (arg != NULL)
		app_flush(arg);
	return ERR_OK;
}

/* Periodic retry for what ERR_MEM or a full send buffer held back. */
static err_t
on_poll(void *arg, struct tcp_pcb *pcb)
{
	(void)pcb;
	if (arg != NULL)
		app_flush(arg);
	return ERR_OK;
}

static err_t
on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct mps_conn *c;

	if (err != ERR_OK || pcb == NULL)
		return ERR_VAL;
	c = LWIP_MEMPOOL_ALLOC(MPS_CONN);
	if (c == NULL) {
		self->stats->tcp_refused++;
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	memset(c, 0, sizeof(*c));
	c->pcb = pcb;
	c->app = (uint16_t)(uintptr_t)arg;
	tcp_nagle_disable(pcb);
	tcp_arg(pcb, c);
	tcp_recv(pcb, on_recv);
	tcp_sent(pcb, on_sent);
	tcp_err(pcb, on_err);
	tcp_poll(pcb, on_poll, POLL_INTERVAL);
	self->stats->tcp_accepted++;
	self->stats->tcp_active++;
	return ERR_OK;
}

int
mps_apps_listen(struct mps_worker *w)
{
	const struct mps_config *cfg = &w->shared->cfg;

	self = w;
	LWIP_MEMPOOL_INIT(MPS_CONN);
	for (uint32_t i = 0; i < cfg->n_listeners; i++) {
		struct tcp_pcb *pcb, *lpcb;

		if (cfg->listeners[i].app == MPS_APP_IPERF) {
			/* lwiperf listens and serves on its own. */
			if (lwiperf_start_tcp_server(IP4_ADDR_ANY, cfg->listeners[i].port,
						     NULL, NULL) == NULL)
				return -ENOMEM;
			continue;
		}
		pcb = tcp_new();
		if (pcb == NULL)
			return -ENOMEM;
		if (tcp_bind(pcb, IP4_ADDR_ANY, cfg->listeners[i].port) != ERR_OK) {
			MPS_LOG(ERR, "cannot bind port %u", cfg->listeners[i].port);
			tcp_abort(pcb);
			return -EADDRINUSE;
		}
		lpcb = tcp_listen_with_backlog(pcb, TCP_DEFAULT_LISTEN_BACKLOG);
		if (lpcb == NULL) {
			tcp_abort(pcb);
			return -ENOMEM;
		}
		tcp_arg(lpcb, (void *)(uintptr_t)cfg->listeners[i].app);
		tcp_accept(lpcb, on_accept);
		listeners[i] = lpcb;
	}
	return 0;
}

/* Listeners closed, every connection aborted (RST to the peer, state freed
 * through on_err), TIME_WAIT pcbs dropped. */
void
mps_apps_close_all(void)
{
	for (uint32_t i = 0; i < MPS_MAX_LISTENERS; i++) {
		if (listeners[i] != NULL)
			tcp_close(listeners[i]);
		listeners[i] = NULL;
	}
	while (tcp_active_pcbs != NULL)
		tcp_abort(tcp_active_pcbs);
	while (tcp_tw_pcbs != NULL)
		tcp_abort(tcp_tw_pcbs);
}
