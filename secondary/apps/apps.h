/* SPDX-License-Identifier: BSD-3-Clause
 *
 * apps.h - the built-in applications on lwIP's raw TCP API, and the
 * per-connection state they share.
 */
#ifndef MPS_APPS_H
#define MPS_APPS_H

#include <stdint.h>

#include "lwip/pbuf.h"
#include "lwip/tcp.h"

#include "mps_config.h"

#define MPS_PBQ_SLOTS 8u /* received chains held, each at most 64 KiB */

/* Received data not yet consumed: chains kept apart because a pbuf chain's
 * tot_len is 16 bits while the (scaled) window is larger. */
struct mps_pbq {
	struct pbuf *chain[MPS_PBQ_SLOTS];
	uint8_t n;
	uint32_t len;
};

struct mps_conn {
	struct tcp_pcb *pcb;
	uint16_t app;          /* enum mps_app */
	uint8_t peer_closed;   /* FIN received */
	uint8_t close_after;   /* close once everything is queued */
	uint32_t body_left;    /* http: response body bytes still to queue */
	struct mps_pbq rx;
};

/* conn.c */
int mps_pbq_push(struct mps_pbq *q, struct pbuf *p);
uint32_t mps_pbq_copy(const struct mps_pbq *q, void *buf, uint32_t len);
void mps_pbq_consume(struct mps_pbq *q, uint32_t len);
void mps_pbq_free(struct mps_pbq *q);
/* tcp_recved for any length (lwIP's takes 16 bits). */
void mps_tcp_recved(struct tcp_pcb *pcb, uint32_t n);
/* Closes gracefully (FIN) when lwIP can; retried from poll otherwise. */
void mps_conn_close(struct mps_conn *c);

/* Each app: what to do with new data / room to send / poll. */
err_t mps_echo_recv(struct mps_conn *c);
void mps_echo_flush(struct mps_conn *c);
err_t mps_http_recv(struct mps_conn *c);
void mps_http_flush(struct mps_conn *c);

#endif /* MPS_APPS_H */
