/* SPDX-License-Identifier: BSD-3-Clause
 *
 * limits.h - one worker's connection limits: how many connections it
 * accepts, how many from one source address, and which idle connection
 * makes room for a new client.
 *
 * Internal to the API (api/), except mps_limits_syn, which lwIP's input
 * hook calls for a SYN to one of our listeners (tcp_hooks.c).
 */
#ifndef MPS_API_LIMITS_H
#define MPS_API_LIMITS_H

#include <stdint.h>

struct mps_conn;

/* What a SYN to a listener gets. */
enum mps_syn_verdict {
	MPS_SYN_PASS = 0, /* lwIP answers it */
	MPS_SYN_DROP,     /* worker full, nothing idle to make room: dropped */
	MPS_SYN_RST,      /* its source is at its limit: answered with a RST */
};

/* Sets the limits (config: --max-conns, --max-conns-per-ip; 0 per IP =
 * none) and allocates the per-source table. 0 or -ENOMEM. */
int mps_limits_init(uint32_t max_conns, uint32_t max_per_ip);
/* A SYN from src_ip (network order); half_open: the listener's pending
 * handshakes. Counted when not MPS_SYN_PASS. */
enum mps_syn_verdict mps_limits_syn(uint32_t src_ip, uint32_t half_open);
/* c was just accepted from c->peer_ip: counts it, closing the longest
 * idle connection when the worker is full. 0, or -1 when it is over a
 * limit (counted; the caller refuses it). */
int mps_limits_accept(struct mps_conn *c);
/* c is going away: uncounted and off the idle list. */
void mps_limits_release(struct mps_conn *c);
/* c is idle (nothing to send, unacknowledged or unread) or not: kept on
 * the idle list, oldest first. O(1). */
void mps_limits_set_idle(struct mps_conn *c, int idle);

#endif /* MPS_API_LIMITS_H */
