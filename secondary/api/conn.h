/* SPDX-License-Identifier: BSD-3-Clause
 *
 * conn.h - connections: checked handles, and lwIP callbacks as app events.
 *
 * Internal to the API (api/).
 */
#ifndef MPS_API_CONN_H
#define MPS_API_CONN_H

#include <stdint.h>

#include "lwip/tcp.h"

#include "api.h"
#include "budget.h"
#include "mps_config.h"
#include "rxq.h"
#include "sndq.h"

/* A handle is (generation & 0x1ffff) << MPS_CONN_IDX_BITS | slot index;
 * generations skip the value that would make slot 0's handle 0. */
#define MPS_CONN_MAX MEMP_NUM_TCP_PCB
#define MPS_CONN_IDX_BITS 14
#define MPS_CONN_IDX_MASK ((1u << MPS_CONN_IDX_BITS) - 1)
#define MPS_CONN_GEN_MASK 0x1ffffu

struct mps_conn {
	struct tcp_pcb *pcb;       /* NULL once lwIP has let go */
	const struct mps_api_ops *ops;
	void *arg;
	uint32_t gen;              /* bumped on free: old handles go stale */
	int32_t next_free;
	s16_t rto_min;             /* slow-timer ticks */
	uint8_t in_use;
	uint8_t closing;           /* FIN once the queue is empty */
	uint8_t peer_closed;
	uint8_t active;
	uint8_t established;
	uint8_t quickack;
	uint8_t wait;              /* enum mps_wait the app timer is armed for */
	uint8_t lingering;         /* LINGER_*: a lingering close in progress */
	uint16_t initcwnd;
	uint32_t rcvbuf;
	/* Time limits from the listener (ms) */
	uint32_t header_ms, keepalive_ms, send_ms, linger_ms;
	uint64_t linger_end_ms;    /* the lingering close ends by then at the latest */
	uint8_t accepted;          /* counted by the connection limits (limits.c) */
	uint32_t peer_ip;          /* network order */
	uint32_t progress_ms;      /* sys_now() of the last progress (budget.c) */
	int32_t idle_prev, idle_next; /* the idle list (limits.c), -1 ends */
	uint8_t idle;              /* on the idle list */
	struct mps_pbq rx;
	struct mps_sndq tx;        /* with this connection's sndbuf and limit */
	uint64_t ctx[MPS_CONN_CTX / 8]; /* the app's */
};

/* A listener's port, tuning and app (what lwIP's accept callback gets). */
struct mps_api_listener {
	struct tcp_pcb *pcb;
	uint16_t port;
	struct mps_tcp_tune tune;
	const struct mps_api_ops *ops;
	void *arg;
};

/* Lingering close stages (c->lingering) */
#define MPS_LINGER_WAIT 1u /* FIN once the send queue is in lwIP */
#define MPS_LINGER_FIN 2u  /* FIN sent: reading and dropping */

/* Each connection slot's two timers (timer.h): the app's wait (or the
 * lingering close) and the send timeout. */
#define MPS_TIMER_APP(idx) ((idx) * 2u)
#define MPS_TIMER_SEND(idx) ((idx) * 2u + 1u)

/* Allocates the table; every slot free, generation 1. 0 or -ENOMEM. */
int mps_conn_table_init(void);
/* The handle naming c now. */
mps_conn_t mps_conn_handle(const struct mps_conn *c);
/* The live connection a handle names, or NULL (counted as api_bad_handle). */
struct mps_conn *mps_conn_get(mps_conn_t h);
/* A zeroed slot in use (its generation kept), or NULL when all are. */
struct mps_conn *mps_conn_alloc(void);
/* Detaches c from its pcb, frees its queues and slot (its handle goes
 * stale), then tells the app on_closed(err). */
void mps_conn_release(struct mps_conn *c, int err);
/* Per-connection tuning on a fresh pcb. */
void mps_conn_tune(struct mps_conn *c, struct tcp_pcb *pcb,
		   const struct mps_tcp_tune *t);
/* Points pcb's lwIP callbacks at c. */
void mps_conn_attach(struct mps_conn *c, struct tcp_pcb *pcb);
/* RST, from inside or outside an lwIP callback; then released with err. */
void mps_conn_abort(struct mps_conn *c, int err);
/* FIN once everything queued has gone to lwIP (else retried from poll). */
void mps_conn_try_close(struct mps_conn *c);
/* Arms, keeps or cancels c's send timeout after a send (progress 0) or
 * an acknowledgement of new data (progress 1). */
void mps_conn_send_timer(struct mps_conn *c, int progress);
/* Timer id (timer.h) expired: the send timeout, an app wait or the end
 * of a lingering close. */
void mps_conn_expire(uint32_t id);
/* The connection in slot i, or NULL if the slot is free (i < MPS_CONN_MAX). */
struct mps_conn *mps_conn_slot(uint32_t i);
/* Slot index of c. */
int32_t mps_conn_index(const struct mps_conn *c);
/* What c holds of the worker's memory (budget.h). */
void mps_conn_held(const struct mps_conn *c, struct mps_mem_held *h);
/* Releases every connection still in use (lwIP has let go of them all). */
void mps_conn_release_all(int err);

/* lwIP's accept callback (arg: the struct mps_api_listener). */
err_t mps_conn_on_accept(void *arg, struct tcp_pcb *pcb, err_t err);
/* lwIP's connected callback for active opens (arg: the struct mps_conn). */
err_t mps_conn_on_connected(void *arg, struct tcp_pcb *pcb, err_t err);

#endif /* MPS_API_CONN_H */
