/* SPDX-License-Identifier: BSD-3-Clause
 *
 * api.h - the worker-side TCP API, public: what apps include. The built-in
 * apps use it, and a user's app would: listeners with their own buffer
 * sizes, send-queue limit and tuning; accept and connect events carrying the addresses;
 * active opens; sends that queue beyond lwIP's window up to a per-connection
 * limit (over it the connection is dropped and counted, so a client that
 * falls behind cannot eat the worker's memory) and wait when the worker's
 * memory is short; close.
 *
 * Connections are named by handles that carry a generation: a stale or
 * closed handle makes every call return -EBADF, never crash. Everything
 * runs inside the worker's poll loop (one thread, lwIP's raw API).
 */
#ifndef MPS_API_H
#define MPS_API_H

#include <stdint.h>

#include "mps_config.h"

/* A connection handle; negative values are errors (-errno). */
typedef int32_t mps_conn_t;

/* What a new connection knows about itself. Addresses in network order,
 * ports in host order. listen_port is 0 for active opens. */
struct mps_conn_info {
	uint32_t peer_ip;
	uint16_t peer_port;
	uint16_t local_port;
	uint16_t listen_port;
	uint8_t active;
};

/* An app's callbacks; any may be NULL. arg is what listen/connect got. */
struct mps_api_ops {
	/* Accepted, or an active open completed. Return non-zero to refuse
	 * (the connection is aborted). */
	int (*on_open)(mps_conn_t h, const struct mps_conn_info *ci, void *arg);
	/* New bytes can be read (mps_recv_len/peek/consume). */
	void (*on_recv)(mps_conn_t h, void *arg);
	/* Queued data was acknowledged: room to send again. Also called
	 * periodically while anything is queued. */
	void (*on_writable)(mps_conn_t h, void *arg);
	/* The peer sent FIN: nothing more will arrive. */
	void (*on_peer_closed)(mps_conn_t h, void *arg);
	/* The handle is dead: 0 after mps_close completed, else -errno
	 * (-ECONNRESET, -ECONNREFUSED, -ENOBUFS over the send limit,
	 * -ETIMEDOUT over the send timeout, ...). */
	void (*on_closed)(mps_conn_t h, int err, void *arg);
	/* What the app waited for (mps_set_wait) did not come in time;
	 * counted already. NULL: the API closes the connection (FIN). */
	void (*on_timeout)(mps_conn_t h, int what, void *arg);
};

/* What the app waits for from the peer; each arms one of the listener's
 * time limits (struct mps_tcp_tune) on the connection's one app timer. */
enum mps_wait {
	MPS_WAIT_NONE = 0,  /* nothing: the timer is off (e.g. while sending) */
	MPS_WAIT_REQUEST,   /* the rest of a request: header_timeout
			     * (tcp_header_timeout when it fires) */
	MPS_WAIT_IDLE,      /* a next request: keepalive_timeout
			     * (tcp_keepalive_timeout) */
};

/* Sets up the API for this process's worker (mps_worker()): the
 * connection table, the connection limits (connections accepted; from one
 * source address, 0 = no limit) and the memory budget sized from them.
 * Returns 0, -ENOMEM, or -EINVAL when the budget cannot hold max_conns. */
int mps_api_init(uint32_t max_conns, uint32_t max_conns_per_ip);

/* Listens on port with the given tuning (fields resolved already, see
 * mps_tune_resolve). Returns 0 or -errno. */
int mps_listen(uint16_t port, const struct mps_tcp_tune *tune,
	       const struct mps_api_ops *ops, void *arg);

/* Opens a connection to ip:port (network-order ip). The local port is
 * picked so that the reply hashes to this worker's queue. on_open (or
 * on_closed with an error) reports the outcome. Returns the handle. */
mps_conn_t mps_connect(uint32_t ip, uint16_t port, const struct mps_tcp_tune *tune,
		       const struct mps_api_ops *ops, void *arg);

/* Queues len bytes: what lwIP's window takes goes now, the rest waits in
 * the connection's send queue. 0, -EBADF, -EPIPE (closing), -EAGAIN:
 * the worker's memory is short and this connection is past its minimum,
 * nothing was taken (send again from on_writable; mps_send_room says how
 * much fits), or -ENOBUFS: over the connection's limit, the connection
 * was dropped (RST). */
int mps_send(mps_conn_t h, const void *buf, uint32_t len);

/* Bytes mps_send would take now without going over the limit, the peer's
 * window (beyond a small minimum) or the memory budget. */
uint32_t mps_send_room(mps_conn_t h);

/* Bytes sent but not yet acknowledged, plus those still queued. */
uint32_t mps_send_pending(mps_conn_t h);

/* Received bytes not yet consumed. */
uint32_t mps_recv_len(mps_conn_t h);

/* Copies up to len received bytes without consuming them; returns how many. */
uint32_t mps_recv_peek(mps_conn_t h, void *buf, uint32_t len);

/* Drops len received bytes and reopens the window by as much. */
int mps_recv_consume(mps_conn_t h, uint32_t len);

/* A zeroed per-connection scratch area for the app (MPS_CONN_CTX bytes,
 * 8-byte aligned), or NULL for a stale handle. */
#define MPS_CONN_CTX 16u
void *mps_conn_ctx(mps_conn_t h);

/* 1 if the peer sent FIN, 0 if not, -EBADF for a stale handle. */
int mps_peer_closed(mps_conn_t h);

/* Graceful close: queued data goes first, then FIN. on_closed(0) follows. */
int mps_close(mps_conn_t h);

/* Immediate close: RST, queued data dropped. on_closed(-ECONNABORTED). */
int mps_abort(mps_conn_t h);

/* Lingering close (nginx's): queued data goes first, then FIN; what the
 * peer still sends is read and dropped until it closes too, or sends
 * nothing for the listener's linger_timeout, or for MPS_LINGER_MAX_MS in
 * all; then the close completes (on_closed(0)). A client still sending a
 * request body thus reads the answer instead of a RST. Counted in
 * tcp_linger. The app gets no more events but on_closed. */
#define MPS_LINGER_MAX_MS 30000u
int mps_close_lingering(mps_conn_t h);

/* Sets what the app waits for from the peer (enum mps_wait). The same
 * wait again keeps its deadline, so periodic calls do not extend it; a
 * different one starts a fresh deadline. Every connection also has a
 * send timeout of its own: while anything sent is unacknowledged or
 * queued, a peer that acknowledges nothing new for the listener's
 * send_timeout is reset (tcp_send_timeout, on_closed(-ETIMEDOUT)).
 * 0, or -EBADF. */
int mps_set_wait(mps_conn_t h, enum mps_wait what);

/* Expires the connections' deadlines that are due (the worker's poll
 * loop calls it; costs what expired plus the clock ticks passed). Returns
 * how many expired. */
unsigned int mps_api_tick(uint64_t now_ms);

/* Listeners closed, every connection aborted, TIME_WAIT dropped. */
void mps_api_shutdown(void);

/* What apps count in the worker's stats (apps never touch the worker). */
enum mps_api_counter {
	MPS_COUNT_HTTP_REQUEST, /* http_requests: a request answered */
	MPS_COUNT_HTTP_ERROR,   /* http_errors: a 4xx answered */
	MPS_COUNT_CLIENT_DONE,  /* client_done: an echo client finished */
};
void mps_api_count(enum mps_api_counter what);

/* One echo-client round trip of us microseconds (client_rtts, its sum
 * and maximum). */
void mps_api_count_rtt(uint64_t us);

/* 1 while this worker drains for a successor (--replace): apps finish
 * what is in flight and close, e.g. HTTP answers with Connection: close. */
int mps_api_draining(void);
void mps_api_set_draining(int on);

/* This worker's id (== its queue), for apps' log lines. */
uint16_t mps_api_worker_id(void);

/* Local ports of active opens: Linux's default ephemeral range. Without a
 * RETA (net_tap) a worker takes ports with port % n_workers == its id, so
 * a reply that lands on another queue is passed to it (steer.c). */
#define MPS_EPHEMERAL_LO 32768u
#define MPS_EPHEMERAL_N 28232u

/* The worker that owns TCP destination port dport, or -1 if any may. */
int mps_api_port_owner(uint16_t dport);

/* 1 if port is one of our listeners (its connections are passive). */
int mps_api_is_listener(uint16_t port);

/* RSS-aware local ports (common/mps_rss.c does the hashing). */
uint16_t mps_api_pick_port(uint32_t local_ip, uint32_t remote_ip,
			   uint16_t remote_port);

#endif /* MPS_API_H */
