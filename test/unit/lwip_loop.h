/* SPDX-License-Identifier: BSD-3-Clause
 *
 * lwip_loop.h - one lwIP instance talking to itself, for the checks of the
 * worker's lwIP pieces without DPDK (lwiperf-check, api-check,
 * tcp-wnd-check).
 *
 * lwip_loop.c also gives lwIP what the worker would: sys_now and the
 * worker's three lwIP hooks (lwipopts.h), as lwIP's own behaviour, and the
 * worker's own PCB cache (secondary/pcb_cache.c).
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

#endif /* MPS_LWIP_LOOP_H */
