/* SPDX-License-Identifier: BSD-3-Clause
 *
 * lwip_loop.h - one lwIP instance talking to itself, for the checks of the
 * worker's lwIP pieces without DPDK (lwiperf-check, api-check,
 * tcp-wnd-check).
 *
 * lwip_loop.c also gives lwIP what the worker would: sys_now and the
 * worker's three lwIP hooks (lwipopts.h), as lwIP's own behaviour, and the
 * worker's own PCB index (secondary/pcb_cache.c).
 */
#ifndef MPS_LWIP_LOOP_H
#define MPS_LWIP_LOOP_H

#include "lwip/netif.h"

/* 10.0.0.1/24, up and default once lwip_loop_up() returned 0. */
extern struct netif lwip_loop_netif;

/* lwip_init() and the loopback netif: every packet sent is queued (a copy)
 * and fed back to ip4_input by lwip_loop_deliver(), never reentrantly.
 * 0, or -1 if the netif could not be added. */
int lwip_loop_up(void);

/* Feeds queued packets back in until none are left. */
void lwip_loop_deliver(void);

/* The oldest packet sent and not yet delivered, taken off the queue (the
 * caller frees it), or NULL: for a check that plays the peer itself. */
struct pbuf *lwip_loop_take(void);

/* One TCP segment the check plays the peer with: from src:sport to
 * dst:dport, payload bytes of 'x', no options and no checksums (the check
 * turns the netif's checks off), fed to ip4_input. Exits on no memory. */
void lwip_loop_segment(const ip4_addr_t *src, u16_t sport, const ip4_addr_t *dst, u16_t dport,
		       u32_t seq, u32_t ack, u8_t flags, u16_t wnd, u16_t payload);

#endif /* MPS_LWIP_LOOP_H */
