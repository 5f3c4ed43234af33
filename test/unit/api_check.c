/* SPDX-License-Identifier: BSD-3-Clause
 *
 * api_check.c - the worker API's pieces on lwIP without DPDK: the RX piece
 * queue's accounting, handle generations, the send-queue limit, the
 * counters apps keep through the API, and the deadlines' timer wheel.
 *
 * Built like lwiperf_check.c: the worker's lwipopts.h and lwIP objects, one
 * lwIP instance talking to itself over a netif that queues every packet and
 * feeds it back to ip4_input (never reentrantly). RX mbufs are stood in for
 * by custom pbufs (what the worker's zero-copy RX pbufs are), whose frees
 * are counted. The worker is mps_worker() with its counters in a local
 * struct. Exits 0 on success, 1 with every failed check listed otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "lwip/init.h"
#include "lwip/ip4.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"

#include "lwip_loop.h"

#include "api/api.h"
#include "api/budget.h"
#include "api/conn.h"
#include "api/limits.h"
#include "api/rxq.h"
#include "api/sndq.h"
#include "api/timer.h"
#include "worker.h"

#define PORT 7000
#define LIMIT 100000u /* the send-queue test's per-connection limit */

static int failures;

#define CHECK(expr)                                                          \
	do {                                                                 \
		if (!(expr)) {                                               \
			fprintf(stderr, "api-check: %s:%d: FAIL: %s\n",      \
				__FILE__, __LINE__, #expr);                  \
			failures++;                                          \
		}                                                            \
	} while (0)

static struct mps_worker_stats st;

/* ---- stand-in RX mbufs: custom pbufs whose frees are counted ---- */

struct fake_mbuf {
	struct pbuf_custom pc;
	uint8_t data[2048];
};

static unsigned int mbufs_alloced, mbufs_freed;

static void
fake_mbuf_free(struct pbuf *p)
{
	mbufs_freed++;
	free(p);
}

/* A len-byte zero-copy RX piece filled with byte c. */
static struct pbuf *
fake_mbuf(uint16_t len, uint8_t c)
{
	struct fake_mbuf *m = calloc(1, sizeof(*m));

	if (m == NULL)
		abort();
	memset(m->data, c, len);
	m->pc.custom_free_function = fake_mbuf_free;
	mbufs_alloced++;
	return pbuf_alloced_custom(PBUF_RAW, len, PBUF_REF, &m->pc, m->data,
				   sizeof(m->data));
}

/* 1 if buf[0..n) all equal c. */
static int
all_bytes(const uint8_t *buf, uint32_t n, uint8_t c)
{
	for (uint32_t i = 0; i < n; i++)
		if (buf[i] != c)
			return 0;
	return 1;
}

/* ---- the RX piece queue ---- */

/* Small pieces are packed into copy buffers and their mbufs freed at once. */
static void
test_rxq_small_pieces_packed(void)
{
	struct mps_pbq q = { 0 };
	static uint8_t buf[4096];
	unsigned int freed0 = mbufs_freed;

	memset(&st, 0, sizeof(st));
	CHECK(mps_pbq_push(&q, fake_mbuf(100, 'a'), 0) == 0);
	CHECK(mps_pbq_push(&q, fake_mbuf(100, 'b'), 0) == 0);
	CHECK(mps_pbq_push(&q, fake_mbuf(100, 'c'), 0) == 0);
	CHECK(q.len == 300 && q.n == 1 && q.mbufs == 0);
	CHECK(q.tail_room == MPS_PBQ_COPY_BUF - 300);
	CHECK(mbufs_freed - freed0 == 3);
	CHECK(st.rx_copied == 3);
	/* 20 more: 2300 bytes fill one buffer and start a second */
	for (int i = 0; i < 20; i++)
		CHECK(mps_pbq_push(&q, fake_mbuf(100, 'd'), 0) == 0);
	CHECK(q.len == 2300 && q.n == 2 && q.mbufs == 0);
	CHECK(q.tail_room == 2 * MPS_PBQ_COPY_BUF - 2300);
	/* copy reads across buffers and consumes nothing */
	CHECK(mps_pbq_copy(&q, buf, sizeof(buf)) == 2300);
	CHECK(all_bytes(buf, 100, 'a') && all_bytes(buf + 100, 100, 'b') &&
	      all_bytes(buf + 200, 100, 'c') && all_bytes(buf + 300, 2000, 'd'));
	CHECK(mps_pbq_copy(&q, buf, 150) == 150 && q.len == 2300);
	/* consume past the first buffer: it goes, the second is cut */
	mps_pbq_consume(&q, MPS_PBQ_COPY_BUF + 10);
	CHECK(q.len == 2300 - MPS_PBQ_COPY_BUF - 10 && q.n == 1);
	CHECK(mps_pbq_copy(&q, buf, 1) == 1 && buf[0] == 'd');
	mps_pbq_consume(&q, q.len);
	CHECK(q.len == 0 && q.n == 0 && q.head == NULL && q.tail == NULL &&
	      q.tail_room == 0);
	mps_pbq_free(&q);
}

/* Large pieces stay zero-copy (chains taken apart); consume and free give
 * every mbuf back; above the worker's soft and hard budgets they are copied. */
static void
test_rxq_zero_copy_and_budgets(void)
{
	struct mps_pbq q = { 0 };
	struct pbuf *chain;
	uint8_t buf[64];
	unsigned int freed0 = mbufs_freed, alloced0 = mbufs_alloced;

	memset(&st, 0, sizeof(st));
	CHECK(mps_pbq_push(&q, fake_mbuf(1000, 'x'), 0) == 0);
	CHECK(q.len == 1000 && q.n == 1 && q.mbufs == 1 && st.rx_copied == 0);
	chain = fake_mbuf(600, 'y');
	pbuf_cat(chain, fake_mbuf(700, 'z'));
	CHECK(mps_pbq_push(&q, chain, 0) == 0);
	CHECK(q.len == 2300 && q.n == 3 && q.mbufs == 3);
	CHECK(mbufs_freed == freed0);
	/* the first piece and 100 bytes of the second */
	mps_pbq_consume(&q, 1100);
	CHECK(q.len == 1200 && q.n == 2 && q.mbufs == 2);
	CHECK(mbufs_freed - freed0 == 1);
	CHECK(mps_pbq_copy(&q, buf, sizeof(buf)) == sizeof(buf));
	CHECK(all_bytes(buf, sizeof(buf), 'y'));
	/* over the soft budget a large piece is copied and its mbuf freed */
	st.mbufs_held = MPS_RX_HELD_SOFT + 1;
	CHECK(mps_pbq_push(&q, fake_mbuf(1000, 'w'), 0) == 0);
	CHECK(q.len == 2200 && q.n == 3 && q.mbufs == 2 && st.rx_copied == 1);
	CHECK(mbufs_freed - freed0 == 2);
	/* at the hard budget every piece of a chain is copied */
	st.mbufs_held = MPS_RX_HELD_HARD;
	chain = fake_mbuf(900, 'v');
	pbuf_cat(chain, fake_mbuf(900, 'u'));
	CHECK(mps_pbq_push(&q, chain, 0) == 0);
	CHECK(q.len == 4000 && q.mbufs == 2 && st.rx_copied == 3);
	CHECK(mbufs_freed - freed0 == 4);
	mps_pbq_free(&q);
	CHECK(q.len == 0 && q.n == 0 && q.mbufs == 0 && q.head == NULL);
	CHECK(mbufs_freed - freed0 == mbufs_alloced - alloced0);
	CHECK(st.rx_refused == 0);
}

/* push_lazy: a small piece into an empty queue stays in its mbuf for the
 * callback; read there, it is never copied; what the app left is packed by
 * settle as push would have. Anything else goes through push. */
static void
test_rxq_lazy_settle(void)
{
	struct mps_pbq q = { 0 };
	uint8_t buf[128];
	unsigned int freed0 = mbufs_freed, alloced0 = mbufs_alloced;

	memset(&st, 0, sizeof(st));
	/* read at once: no copy, the mbuf goes back when consumed */
	CHECK(mps_pbq_push_lazy(&q, fake_mbuf(100, 'a'), 0) == 0);
	CHECK(q.len == 100 && q.n == 1 && q.mbufs == 1 && q.lazy);
	CHECK(mps_pbq_copy(&q, buf, sizeof(buf)) == 100 && all_bytes(buf, 100, 'a'));
	mps_pbq_consume(&q, 100);
	CHECK(mbufs_freed - freed0 == 1);
	mps_pbq_settle(&q, 0);
	CHECK(q.len == 0 && q.head == NULL && !q.lazy && st.rx_copied == 0);
	/* 40 bytes read, 60 left: packed into a copy buffer, mbuf freed */
	CHECK(mps_pbq_push_lazy(&q, fake_mbuf(100, 'b'), 0) == 0);
	mps_pbq_consume(&q, 40);
	mps_pbq_settle(&q, 0);
	CHECK(q.len == 60 && q.n == 1 && q.mbufs == 0 && !q.lazy && st.rx_copied == 1);
	CHECK(q.tail_room == MPS_PBQ_COPY_BUF - 60 && mbufs_freed - freed0 == 2);
	CHECK(mps_pbq_copy(&q, buf, sizeof(buf)) == 60 && all_bytes(buf, 60, 'b'));
	/* a queue that holds data: copied at once, packed after it */
	CHECK(mps_pbq_push_lazy(&q, fake_mbuf(100, 'c'), 0) == 0);
	CHECK(q.len == 160 && q.n == 1 && q.mbufs == 0 && !q.lazy && st.rx_copied == 2);
	mps_pbq_consume(&q, q.len);
	/* a large piece: zero-copy as push keeps it, nothing to settle */
	CHECK(mps_pbq_push_lazy(&q, fake_mbuf(1000, 'd'), 0) == 0);
	CHECK(q.mbufs == 1 && !q.lazy);
	mps_pbq_settle(&q, 0);
	CHECK(q.mbufs == 1 && st.rx_copied == 2);
	mps_pbq_consume(&q, q.len);
	/* over the soft budget: copied at once */
	st.mbufs_held = MPS_RX_HELD_SOFT + 1;
	CHECK(mps_pbq_push_lazy(&q, fake_mbuf(100, 'e'), 0) == 0);
	CHECK(q.mbufs == 0 && !q.lazy && st.rx_copied == 3);
	mps_pbq_free(&q);
	CHECK(mbufs_freed - freed0 == mbufs_alloced - alloced0);
}

/* A connection holds at most MPS_PBQ_MAX_MBUFS mbufs zero-copy: the next
 * push is refused (lwIP keeps the data), counted, and q is unchanged. */
static void
test_rxq_mbuf_bound(void)
{
	struct mps_pbq q = { 0 };
	struct pbuf *p;
	unsigned int freed0 = mbufs_freed;

	memset(&st, 0, sizeof(st));
	for (uint32_t i = 0; i < MPS_PBQ_MAX_MBUFS; i++)
		CHECK(mps_pbq_push(&q, fake_mbuf(600, 'm'), 0) == 0);
	CHECK(q.n == MPS_PBQ_MAX_MBUFS && q.mbufs == MPS_PBQ_MAX_MBUFS);
	CHECK(q.len == 600u * MPS_PBQ_MAX_MBUFS);
	p = fake_mbuf(600, 'n');
	CHECK(mps_pbq_push(&q, p, 0) == -1);
	CHECK(st.rx_refused == 1 && q.mbufs == MPS_PBQ_MAX_MBUFS);
	CHECK(mbufs_freed == freed0); /* refused: still the caller's */
	/* one piece read: room for one more */
	mps_pbq_consume(&q, 600);
	CHECK(mps_pbq_push(&q, p, 0) == 0);
	CHECK(q.mbufs == MPS_PBQ_MAX_MBUFS && st.rx_refused == 1);
	mps_pbq_free(&q);
	CHECK(mbufs_freed - freed0 == MPS_PBQ_MAX_MBUFS + 1);
}

/* ---- connections over the loopback ---- */

static mps_conn_t opened, closed_h;
static int closed_err, n_closed;
static uint32_t n_recv;

static int
t_open(mps_conn_t h, const struct mps_conn_info *ci, void *arg)
{
	(void)ci;
	(void)arg;
	opened = h;
	return 0;
}

static void
t_recv(mps_conn_t h, void *arg)
{
	(void)arg;
	n_recv += mps_recv_len(h);
}

static void
t_closed(mps_conn_t h, int err, void *arg)
{
	(void)arg;
	closed_h = h;
	closed_err = err;
	n_closed++;
}

static const struct mps_api_ops t_ops = {
	.on_open = t_open,
	.on_recv = t_recv,
	.on_closed = t_closed,
};

/* The raw lwIP client's side. */
static uint32_t client_rx;
static err_t client_err_seen;

static err_t
client_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	(void)arg;
	(void)err;
	if (p == NULL)
		return ERR_OK;
	client_rx += p->tot_len;
	tcp_recved(pcb, p->tot_len);
	pbuf_free(p);
	return ERR_OK;
}

static void
client_err(void *arg, err_t err)
{
	(void)arg;
	client_err_seen = err;
}

/* Connects a client to PORT; returns the API's handle for the server side
 * (0 if none opened) and the client's pcb in *client. */
static mps_conn_t
connect_one(struct tcp_pcb **client)
{
	ip_addr_t dst;

	opened = 0;
	client_err_seen = ERR_OK;
	*client = tcp_new();
	if (*client == NULL)
		return 0;
	tcp_recv(*client, client_recv);
	tcp_err(*client, client_err);
	IP_ADDR4(&dst, 10, 0, 0, 1);
	if (tcp_connect(*client, &dst, PORT, NULL) != ERR_OK)
		return 0;
	lwip_loop_deliver();
	return opened;
}

/* Slot 0's handle would be 0 when its generation wraps to 0: skipped. */
static void
test_handle_never_zero(void)
{
	struct mps_conn *c;
	mps_conn_t h;

	memset(&st, 0, sizeof(st));
	c = mps_conn_alloc();
	CHECK(c != NULL);
	if (c == NULL)
		return;
	h = mps_conn_handle(c);
	CHECK(h > 0 && ((uint32_t)h & MPS_CONN_IDX_MASK) == 0); /* a fresh table's first */
	c->gen = MPS_CONN_GEN_MASK; /* the last generation before the wrap */
	mps_conn_release(c, 0);
	c = mps_conn_alloc(); /* the same slot again (LIFO free list) */
	CHECK(c != NULL);
	if (c == NULL)
		return;
	h = mps_conn_handle(c);
	CHECK(((uint32_t)h & MPS_CONN_IDX_MASK) == 0);
	CHECK(h > 0);
	CHECK(mps_conn_get(h) == NULL); /* no pcb yet: not live */
	mps_conn_release(c, 0);
	CHECK(st.tcp_active == 0);
}

/* A handle goes stale once its connection is closed and when its slot is
 * reused; every call with it (or with 0) returns -EBADF and is counted. */
static void
test_handle_generations(void)
{
	struct tcp_pcb *client;
	mps_conn_t h1, h2;
	uint8_t b = 0;

	memset(&st, 0, sizeof(st));
	h1 = connect_one(&client);
	CHECK(h1 > 0);
	CHECK(mps_peer_closed(h1) == 0 && mps_conn_ctx(h1) != NULL);
	CHECK(st.api_bad_handle == 0 && st.tcp_active == 1);
	n_closed = 0;
	CHECK(mps_close(h1) == 0);
	lwip_loop_deliver();
	CHECK(n_closed == 1 && closed_h == h1 && closed_err == 0);
	CHECK(mps_send(h1, &b, 1) == -EBADF);
	CHECK(mps_close(h1) == -EBADF);
	CHECK(mps_conn_ctx(h1) == NULL);
	CHECK(st.api_bad_handle == 3);
	tcp_close(client);
	lwip_loop_deliver();

	/* the same slot, a new generation: the old handle stays stale */
	h2 = connect_one(&client);
	CHECK(h2 > 0 && h2 != h1);
	CHECK(((uint32_t)h2 & MPS_CONN_IDX_MASK) == ((uint32_t)h1 & MPS_CONN_IDX_MASK));
	CHECK(mps_peer_closed(h2) == 0);
	CHECK(mps_peer_closed(h1) == -EBADF);
	CHECK(mps_recv_consume(h1, 1) == -EBADF);
	CHECK(mps_send(0, &b, 1) == -EBADF && mps_abort(-1) == -EBADF);
	CHECK(st.api_bad_handle == 7);
	/* an abort frees the slot too */
	n_closed = 0;
	CHECK(mps_abort(h2) == 0);
	CHECK(n_closed == 1 && closed_h == h2 && closed_err == -ECONNABORTED);
	CHECK(mps_peer_closed(h2) == -EBADF);
	CHECK(st.api_bad_handle == 8 && st.tcp_active == 0);
	lwip_loop_deliver(); /* the RST ends the client */
	CHECK(client_err_seen == ERR_RST);
}

/* README: mps_send queues beyond lwIP's window up to the connection's
 * limit; over it the connection is reset and counted (tcp_sndq_drop). */
static void
test_sndq_limit(void)
{
	static uint8_t data[LIMIT];
	struct tcp_pcb *client;
	mps_conn_t h;

	memset(&st, 0, sizeof(st));
	memset(data, 's', sizeof(data));
	h = connect_one(&client);
	CHECK(h > 0);
	/* nothing delivered meanwhile: all of it stays pending */
	CHECK(mps_send(h, data, 60000) == 0);
	CHECK(mps_send_pending(h) == 60000);
	CHECK(mps_send_room(h) <= LIMIT - 60000);
	CHECK(mps_send(h, data, LIMIT - 60000) == 0); /* exactly the limit */
	CHECK(mps_send_pending(h) == LIMIT);
	CHECK(mps_send_room(h) == 0);
	CHECK(st.tcp_sndq_drop == 0 && st.sndq_max == LIMIT);
	n_closed = 0;
	CHECK(mps_send(h, data, 1) == -ENOBUFS);
	CHECK(st.tcp_sndq_drop == 1 && st.tcp_reset == 1);
	CHECK(n_closed == 1 && closed_h == h && closed_err == -ENOBUFS);
	CHECK(mps_send(h, data, 1) == -EBADF);
	CHECK(st.sndq_bytes == 0 && st.tcp_active == 0);
	lwip_loop_deliver();
	CHECK(client_err_seen == ERR_RST);
}

/* Below the limit, what lwIP had no room for is queued and moves down as
 * the peer acknowledges, in order, until nothing is pending. */
static void
test_sndq_drains(void)
{
	static uint8_t data[LIMIT];
	struct tcp_pcb *client;
	mps_conn_t h;
	int rounds = 0;

	memset(&st, 0, sizeof(st));
	h = connect_one(&client);
	CHECK(h > 0);
	client_rx = 0;
	CHECK(mps_send(h, data, LIMIT / 2) == 0);
	CHECK(mps_send(h, data, LIMIT / 2) == 0);
	while (client_rx < LIMIT && rounds++ < 2000) {
		lwip_loop_deliver();
		tcp_tmr();
	}
	CHECK(client_rx == LIMIT);
	CHECK(mps_send_pending(h) == 0 && st.sndq_bytes == 0);
	CHECK(st.tcp_sndq_drop == 0);
	mps_abort(h);
	lwip_loop_deliver();
}

/* What apps count goes to the worker's stats through the API. */
/* README "Limits": the per-source count (an open-addressed table with
 * deletions) refuses a source over its limit with a RST and passes
 * another; a full worker with nothing idle drops a SYN; releases give
 * everything back. Connections without a pcb stand in for accepted ones. */
static void
test_conn_limits(void)
{
	enum { PER_IP = 3, MAX = 9216, IPS = 3000 };
	static struct mps_conn *c[MAX];
	unsigned int n = 0;

	memset(&st, 0, sizeof(st));
	CHECK(mps_limits_init(MAX, PER_IP) == 0);
	/* 3000 sources x 3 = 9000 connections: many share probe runs */
	for (uint32_t ip = 1; ip <= IPS; ip++)
		for (int k = 0; k < PER_IP; k++) {
			CHECK(mps_limits_syn(ip, 0) == MPS_SYN_PASS);
			c[n] = mps_conn_alloc();
			c[n]->peer_ip = ip;
			CHECK(mps_limits_accept(c[n]) == 0);
			n++;
		}
	CHECK(mps_limits_syn(7, 0) == MPS_SYN_RST && st.conn_limit_ip == 1);
	CHECK(mps_limits_syn(100000, 0) == MPS_SYN_PASS);
	CHECK(mps_limits_syn(100000, MAX - n) == MPS_SYN_DROP && st.conn_limit == 1);
	/* free every other source: the others keep their counts */
	for (unsigned int i = 0; i < n; i++)
		if (c[i]->peer_ip % 2 == 0)
			mps_conn_release(c[i], 0);
	for (uint32_t ip = 1; ip <= IPS; ip++)
		if (mps_limits_syn(ip, 0) != (ip % 2 == 0 ? MPS_SYN_PASS : MPS_SYN_RST))
			failures++, fprintf(stderr, "api-check: source %u miscounted\n", ip);
	for (unsigned int i = 0; i < n; i++)
		if (c[i]->peer_ip % 2 != 0)
			mps_conn_release(c[i], 0);
	for (uint32_t ip = 1; ip <= IPS; ip++)
		if (mps_limits_syn(ip, MAX - 1) != MPS_SYN_PASS)
			failures++, fprintf(stderr, "api-check: source %u still counted\n", ip);
	CHECK(st.tcp_active == 0);
	CHECK(mps_limits_init(MPS_MAX_CONNS_DEFAULT, 0) == 0);
	/* the budget refuses a limit the heap cannot guarantee */
	CHECK(mps_mem_init(1000000) == -EINVAL);
	CHECK(mps_mem_init(MPS_MAX_CONNS_MAX) == 0);
	CHECK(mps_mem_init(MPS_MAX_CONNS_DEFAULT) == 0);
}

/* mps_mem_room as it was before its fast path, divisions and all: the
 * reference it must agree with. */
static uint32_t
mem_room_ref(const struct mps_mem_held *held, uint32_t want, uint16_t mss,
	     uint32_t max_conns, int *waits)
{
	uint32_t heap_top = MEM_SIZE - MPS_MEM_CTRL_RESERVE;
	uint32_t ctrl = MEMP_NUM_TCP_PCB, seg_top = MEMP_NUM_TCP_SEG - ctrl;
	uint32_t guar_b = max_conns * (MPS_MEM_CONN_MIN + MPS_MEM_CONN_MIN_SEGS * MPS_MEM_PBUF_COST);
	uint32_t guar_s = max_conns * MPS_MEM_CONN_MIN_SEGS;
	uint32_t heap = (uint32_t)lwip_stats.mem.used, segs = lwip_stats.memp[MEMP_TCP_SEG]->used;
	uint32_t own = 0, shared, room, free_h, free_s;

	*waits = 0;
	if (want == 0)
		return 0;
	if (held->bytes < MPS_MEM_CONN_MIN && held->segs < MPS_MEM_CONN_MIN_SEGS) {
		own = MPS_MEM_CONN_MIN - held->bytes;
		if (own > (MPS_MEM_CONN_MIN_SEGS - held->segs) * (uint32_t)mss)
			own = (MPS_MEM_CONN_MIN_SEGS - held->segs) * (uint32_t)mss;
		if ((heap < heap_top ? heap_top - heap : 0) < own + MPS_MEM_PBUF_COST ||
		    (segs < seg_top ? seg_top - segs : 0) < MPS_MEM_CONN_MIN_SEGS)
			own = 0;
	}
	free_h = heap < heap_top - guar_b ? heap_top - guar_b - heap : 0;
	free_s = segs < seg_top - guar_s ? seg_top - guar_s - segs : 0;
	shared = free_h / (mss + MPS_MEM_PBUF_COST);
	if (shared > free_s)
		shared = free_s;
	shared = shared > UINT32_MAX / mss ? UINT32_MAX : shared * mss;
	room = own > shared ? own : shared;
	*waits = room < want && room < mss;
	return room < want ? room : want;
}

/* The budget's answer, fast path included, is the reference's for every
 * heap and segment use from empty to full (near both limits most often),
 * MSS, want and holding. */
static void
test_mem_room_matches_reference(void)
{
	const uint16_t msses[] = { 536, 1460, 8960 };
	const uint32_t wants[] = { 1, 64, 535, 536, 1460, 1461, 8961, 65535, 262144, UINT32_MAX };
	const struct mps_mem_held helds[] = {
		{ 0, 0 }, { MPS_MEM_CONN_MIN / 2, 1 }, { MPS_MEM_CONN_MIN, MPS_MEM_CONN_MIN_SEGS },
	};
	uint32_t max_conns = MPS_MAX_CONNS_DEFAULT;
	uint32_t guar_b = max_conns * (MPS_MEM_CONN_MIN + MPS_MEM_CONN_MIN_SEGS * MPS_MEM_PBUF_COST);
	uint32_t edge = MEM_SIZE - MPS_MEM_CTRL_RESERVE - guar_b; /* the shared heap's end */
	uint32_t seg_edge = MEMP_NUM_TCP_SEG - MEMP_NUM_TCP_PCB - max_conns * MPS_MEM_CONN_MIN_SEGS;
	unsigned int seed = 17;
	mem_size_t heap0 = lwip_stats.mem.used;
	u16_t segs0 = lwip_stats.memp[MEMP_TCP_SEG]->used;
	unsigned int bad = 0, fast = 0;

	CHECK(mps_mem_init(max_conns) == 0);
	for (unsigned int k = 0; k < 20000; k++) {
		/* half uniform, half within reach of each limit */
		uint32_t r = (uint32_t)rand_r(&seed), r2 = (uint32_t)rand_r(&seed);
		uint32_t h = k % 2 ? r % (MEM_SIZE + 1) : edge - 100000 + r % 200000;
		uint32_t sg = k % 4 < 2 ? r2 % (MEMP_NUM_TCP_SEG + 1) : seg_edge - 200 + r2 % 400;

		lwip_stats.mem.used = (mem_size_t)h;
		lwip_stats.memp[MEMP_TCP_SEG]->used = (u16_t)sg;
		for (unsigned int i = 0; i < RTE_DIM(msses) * RTE_DIM(wants) * RTE_DIM(helds); i++) {
			uint16_t mss = msses[i % RTE_DIM(msses)];
			uint32_t want = wants[i / RTE_DIM(msses) % RTE_DIM(wants)];
			const struct mps_mem_held *hd = &helds[i / RTE_DIM(msses) / RTE_DIM(wants)];
			uint64_t w0 = st.mem_wait;
			int ref_wait;
			uint32_t ref = mem_room_ref(hd, want, mss, max_conns, &ref_wait);
			uint32_t got = mps_mem_room(hd, want, mss);

			fast += got == want;
			if ((got != ref || st.mem_wait - w0 != (uint64_t)ref_wait) && bad++ < 5)
				fprintf(stderr, "api-check: mem_room(heap %u, segs %u, mss %u, want %u, held %u/%u) = %u, reference %u\n",
					h, sg, mss, want, hd->bytes, hd->segs, got, ref);
		}
	}
	lwip_stats.mem.used = heap0;
	lwip_stats.memp[MEMP_TCP_SEG]->used = segs0;
	CHECK(bad == 0);
	CHECK(fast > 0); /* the sweep reached both answers */
	CHECK(st.mem_wait > 0);
}

static void
test_app_counters(void)
{
	memset(&st, 0, sizeof(st));
	mps_api_count(MPS_COUNT_HTTP_REQUEST);
	mps_api_count(MPS_COUNT_HTTP_REQUEST);
	mps_api_count(MPS_COUNT_HTTP_ERROR);
	mps_api_count(MPS_COUNT_CLIENT_DONE);
	mps_api_count_rtt(30);
	mps_api_count_rtt(10);
	CHECK(st.http_requests == 2 && st.http_errors == 1 && st.client_done == 1);
	CHECK(st.client_rtts == 2 && st.client_rtt_us_sum == 40 &&
	      st.client_rtt_us_max == 30);
}

/* The timer wheel: each deadline fires once its 10 ms tick is over, never
 * before; re-arming moves it, cancelling drops it; deadlines a turn or more
 * away, in the past, or across a long stall fire in time. */
static void
test_timer_wheel(void)
{
	CHECK(mps_timer_init(8, 1000) == 0);
	mps_timer_arm(0, 1005);
	mps_timer_arm(1, 1500);
	mps_timer_arm(2, 1000 + 50000);     /* beyond one turn (41 s) */
	mps_timer_arm(3, 1020);
	mps_timer_cancel(3);
	mps_timer_arm(4, 1030);
	mps_timer_arm(4, 2000);             /* re-armed later */
	CHECK(mps_timer_armed(0) && !mps_timer_armed(3) && mps_timer_expiry(4) == 2000);
	CHECK(mps_timer_next_expired(1009) == -1);
	CHECK(mps_timer_next_expired(1010) == 0);
	CHECK(mps_timer_next_expired(1010) == -1 && !mps_timer_armed(0));
	CHECK(mps_timer_next_expired(1499) == -1);
	CHECK(mps_timer_next_expired(1510) == 1);
	CHECK(mps_timer_next_expired(1999) == -1);
	CHECK(mps_timer_next_expired(2010) == 4);
	CHECK(mps_timer_next_expired(42000) == -1);  /* 2's slot passed, a turn early */
	CHECK(mps_timer_next_expired(51009) == -1);
	CHECK(mps_timer_next_expired(51010) == 2);
	mps_timer_arm(5, 60000);
	CHECK(mps_timer_next_expired(1000000) == 5); /* after a stall */
	mps_timer_arm(6, 500);                       /* in the past */
	CHECK(mps_timer_next_expired(1000000) == 6);
	CHECK(mps_timer_next_expired(1000000) == -1);
}

int
main(void)
{
	struct mps_worker *w = mps_worker();
	struct mps_tcp_tune tune = { .sndq_limit = LIMIT, .sndbuf = 32768,
				     .nodelay = MPS_TUNE_ON };

	w->stats = &st;
	w->n_workers = 1;
	w->port_mtu = 1500;
	if (lwip_loop_up() != 0)
		return 1;

	test_rxq_small_pieces_packed();
	test_rxq_zero_copy_and_budgets();
	test_rxq_mbuf_bound();
	test_rxq_lazy_settle();
	test_timer_wheel();
	CHECK(mps_api_init(MPS_MAX_CONNS_DEFAULT, 0) == 0);
	test_handle_never_zero();
	CHECK(mps_listen(PORT, &tune, &t_ops, NULL) == 0);
	test_handle_generations();
	test_sndq_limit();
	test_sndq_drains();
	test_conn_limits();
	test_mem_room_matches_reference();
	test_app_counters();
	mps_api_shutdown();
	if (failures != 0) {
		fprintf(stderr, "api-check: %d check(s) failed\n", failures);
		return 1;
	}
	printf("api-check: ok (RX queue accounting, handle generations, send-queue limit, timer wheel, connection limits, memory room)\n");
	return 0;
}
