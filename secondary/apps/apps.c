/* SPDX-License-Identifier: BSD-3-Clause
 *
 * apps.c - opens the configured listeners and active opens; two small apps
 * that exercise the API.
 *
 * The small apps: `source` (a push
 * app: 64 KiB per byte received, queued whether or not the peer keeps up,
 * so the per-connection send limit is what bounds it), the echo client
 * (timed round trips to a remote echo server, then close) and the bulk
 * client (a stream as fast as the peer's window takes it, never queued:
 * the sender of make bench's bulk section).
 */
#include <errno.h>
#include <string.h>

#include <rte_cycles.h>

#include "lwip/apps/lwiperf.h"
#include "lwip/ip_addr.h"

#include "apps.h"
#include "mps_log.h"


static uint8_t source_block[MPS_SOURCE_BLOCK];

/* source: each byte received asks for one block. */
static void
source_recv(mps_conn_t h, void *arg)
{
	uint32_t n = mps_recv_len(h);

	(void)arg;
	mps_recv_consume(h, n);
	while (n-- > 0)
		if (mps_send(h, source_block, sizeof(source_block)) != 0)
			return; /* over the limit: dropped, counted */
}

const struct mps_api_ops mps_source_ops = {
	.on_recv = source_recv,
};

/* Echo client state in the connection's scratch area. */
struct echo_client {
	uint64_t sent_tsc;
	uint32_t rounds;
};
_Static_assert(sizeof(struct echo_client) <= MPS_CONN_CTX, "client state too big");

static void
client_send(mps_conn_t h, struct echo_client *ec)
{
	static const uint8_t msg[MPS_ECHO_CLIENT_MSG] = "mpstack echo client";

	ec->sent_tsc = rte_get_tsc_cycles();
	mps_send(h, msg, sizeof(msg));
}

static int
client_open(mps_conn_t h, const struct mps_conn_info *ci, void *arg)
{
	(void)ci;
	(void)arg;
	client_send(h, mps_conn_ctx(h));
	return 0;
}

/* A full message back is one round trip; after the last, close. */
static void
client_recv(mps_conn_t h, void *arg)
{
	struct echo_client *ec = mps_conn_ctx(h);

	(void)arg;
	while (ec != NULL && mps_recv_len(h) >= MPS_ECHO_CLIENT_MSG) {
		uint64_t us = (rte_get_tsc_cycles() - ec->sent_tsc) * 1000000 /
			      rte_get_tsc_hz();

		mps_recv_consume(h, MPS_ECHO_CLIENT_MSG);
		mps_api_count_rtt(us);
		/* The load client never stops on its own. */
		if (arg != (void *)(uintptr_t)MPS_APP_LOAD &&
		    ++ec->rounds == MPS_ECHO_CLIENT_ROUNDS) {
			mps_api_count(MPS_COUNT_CLIENT_DONE);
			mps_close(h);
			return;
		}
		client_send(h, ec);
	}
}

static void
client_closed(mps_conn_t h, int err, void *arg)
{
	(void)arg;
	if (err != 0)
		MPS_LOG(INFO, "worker %u: client connection %d ended: %s",
			mps_api_worker_id(), h, strerror(-err));
}

const struct mps_api_ops mps_echo_client_ops = {
	.on_open = client_open,
	.on_recv = client_recv,
	.on_closed = client_closed,
};

/* bulk: fill what lwIP takes now, again each time room opens; whatever
 * the peer sends is dropped. */
static void
bulk_fill(mps_conn_t h, void *arg)
{
	uint32_t room;

	(void)arg;
	while ((room = mps_send_room(h)) > 0)
		if (mps_send(h, source_block, RTE_MIN(room, MPS_SOURCE_BLOCK)) != 0)
			return;
}

static int
bulk_open(mps_conn_t h, const struct mps_conn_info *ci, void *arg)
{
	(void)ci;
	bulk_fill(h, arg);
	return 0;
}

static void
bulk_recv(mps_conn_t h, void *arg)
{
	(void)arg;
	mps_recv_consume(h, mps_recv_len(h));
}

const struct mps_api_ops mps_bulk_client_ops = {
	.on_open = bulk_open,
	.on_recv = bulk_recv,
	.on_writable = bulk_fill,
	.on_closed = client_closed,
};

static const struct mps_api_ops *
server_ops(uint16_t app)
{
	switch (app) {
	case MPS_APP_ECHO: return &mps_echo_ops;
	case MPS_APP_HTTP: return &mps_http_ops;
	case MPS_APP_SOURCE: return &mps_source_ops;
	default: return &mps_discard_ops;
	}
}

/* Every configured listener, with its tuning over the global one. */
int
mps_apps_listen(const struct mps_config *cfg)
{
	int ret = 0;

	memset(source_block, 'S', sizeof(source_block));
	for (uint32_t i = 0; ret == 0 && i < cfg->n_listeners; i++) {
		struct mps_tcp_tune t;

		if (cfg->listeners[i].app == MPS_APP_IPERF) {
			/* lwIP's lwiperf listens and serves on its own pcbs. */
			if (lwiperf_start_tcp_server(IP4_ADDR_ANY, cfg->listeners[i].port,
						     NULL, NULL) == NULL)
				ret = -ENOMEM;
			continue;
		}
		mps_tune_resolve(&cfg->tune, &cfg->listeners[i].tune, &t);
		ret = mps_listen(cfg->listeners[i].port, &t,
				 server_ops(cfg->listeners[i].app), NULL);
		if (ret != 0)
			MPS_LOG(ERR, "cannot listen on port %u: %s",
				cfg->listeners[i].port, strerror(-ret));
	}
	return ret;
}

/* Every configured active open; a failure is logged and counted. */
void
mps_apps_connect(const struct mps_config *cfg)
{

	for (uint32_t i = 0; i < cfg->n_connects; i++) {
		const struct mps_connect *c = &cfg->connects[i];

		for (uint32_t k = 0; k < RTE_MAX(c->count, 1u); k++) {
			mps_conn_t h = mps_connect(c->ip, c->port, &cfg->tune,
						   c->app == MPS_APP_BULK ?
						   &mps_bulk_client_ops :
						   &mps_echo_client_ops,
						   (void *)(uintptr_t)c->app);

			if (h < 0) /* counted by the API */
				MPS_LOG(WARNING, "worker %u: connect %u: %s",
					mps_api_worker_id(), i, strerror(-h));
		}
	}
}

void
mps_apps_close_all(void)
{
	mps_api_shutdown();
}
