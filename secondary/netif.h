/* SPDX-License-Identifier: BSD-3-Clause
 *
 * netif.h - lwIP's netif on DPDK mbufs: init, input, output, TX batch.
 */
#ifndef MPS_NETIF_H
#define MPS_NETIF_H

#include <stdint.h>

#include "worker.h"

struct pbuf;
struct rte_mbuf;

/* Adds the worker's netif to lwIP (MAC of its first port, the shared IP
 * config) and makes it the default. 0 or -ENODEV. */
int mps_netif_init(struct mps_worker *w);

/* One received frame into lwIP: VLAN rule, parse, checks, learning,
 * steering, then zero-copy as a custom pbuf. from_peer: it came from a
 * peer's ring (untagged, steered already). Takes m in every case. */
void mps_netif_input(struct mps_worker *w, struct rte_mbuf *m, int from_peer);

/* Sends the TX batch; what the NIC refuses stays, in order. */
void mps_tx_flush(struct mps_worker *w);

/* Frees every frame of the TX batch (teardown). */
void mps_tx_drop_all(struct mps_worker *w);

/* Frames waiting in the TX batch; also a mark for mps_netif_tx_since. */
uint16_t mps_netif_tx_queued(const struct mps_worker *w);

/* The frames queued since the batch held `mark` frames: their number, and
 * *frames the first of them (0 if the batch was flushed meanwhile). */
uint16_t mps_netif_tx_since(const struct mps_worker *w, uint16_t mark,
			    struct rte_mbuf *const **frames);

/* The mbuf under p if p is an RX pbuf of this netif, else NULL. */
struct rte_mbuf *mps_netif_rx_mbuf(struct pbuf *p);

#endif /* MPS_NETIF_H */
