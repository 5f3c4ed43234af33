/* SPDX-License-Identifier: BSD-3-Clause
 *
 * apps.h - the built-in applications, written on the worker API (api.h),
 * and the received-data queue the API keeps per connection.
 */
#ifndef MPS_APPS_H
#define MPS_APPS_H

#include <stdint.h>

#include "lwip/pbuf.h"
#include "lwip/tcp.h"

#include "api.h"
#include "mps_config.h"

/* Received data not yet consumed (it must not pin the shared
 * mbuf pool). Standalone pbufs (tot_len == len) linked through next, so a
 * push is O(1): received zero-copy mbufs, and copy buffers from lwIP's
 * heap into which small segments are packed (their mbufs go back at once).
 * The bytes are bounded by the receive window (nothing is tcp_recved
 * before the app consumes it), the pbufs by MPS_PBQ_MAX_PBUFS. */
struct mps_pbq {
	struct pbuf *head, *tail;
	uint32_t len;       /* bytes */
	uint32_t n;         /* pbufs */
	uint32_t mbufs;     /* of those, RX mbufs held zero-copy */
	uint16_t tail_room; /* free bytes after tail's data (a copy buffer) */
};

/* api.c */
int mps_pbq_push(struct mps_pbq *q, struct pbuf *p);
uint32_t mps_pbq_copy(const struct mps_pbq *q, void *buf, uint32_t len);
void mps_pbq_consume(struct mps_pbq *q, uint32_t len);
void mps_pbq_free(struct mps_pbq *q);
/* tcp_recved for any length (lwIP's takes 16 bits). */
void mps_tcp_recved(struct tcp_pcb *pcb, uint32_t n);

/* Each built-in app's callbacks (servers) and the echo client. */
extern const struct mps_api_ops mps_echo_ops;
extern const struct mps_api_ops mps_http_ops;
extern const struct mps_api_ops mps_discard_ops;
extern const struct mps_api_ops mps_source_ops;
extern const struct mps_api_ops mps_echo_client_ops;

#define MPS_ECHO_CLIENT_ROUNDS 100u /* round trips, then the client closes */
#define MPS_ECHO_CLIENT_MSG 64u     /* bytes per round trip */
#define MPS_SOURCE_BLOCK 65536u     /* source: bytes pushed per byte received */

#endif /* MPS_APPS_H */
