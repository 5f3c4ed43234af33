/* SPDX-License-Identifier: BSD-3-Clause
 *
 * netif.h - lwIP's netif on DPDK mbufs: init, input, output, TX batch.
 */
#ifndef MPS_NETIF_H
#define MPS_NETIF_H

#include <stdint.h>

#include <rte_mbuf_core.h>

#include "worker.h"

struct pbuf;

/* The mbuf whose private area holds the pbuf p (RX frames, TX segments). */
static inline struct rte_mbuf *
mps_pbuf_mbuf(struct pbuf *p)
{
	return (struct rte_mbuf *)(void *)((char *)p - sizeof(struct rte_mbuf));
}

/* Adds the worker's netif to lwIP (MAC of its first port, the shared IP
 * config) and makes it the default. 0 or -ENODEV. */
int mps_netif_init(struct mps_worker *w);

/* Frees what lwIP's ARP still queues for unresolved neighbours (its
 * references on TCP segments in mbufs among them): at teardown, once
 * every connection is closed. */
void mps_netif_release(struct mps_worker *w);

/* The VLAN rule (--vlan: only our VLAN, untagged here if the port did not;
 * without: only frames the port did not untag), the same on every path:
 * idempotent, the verdict travels with the mbuf. 0 to go on; -1 when m was
 * taken: moved to the kernel exception path (from_peer, an enum
 * mps_rx_path, is not a ring), else dropped (freed, counted as "vlan").
 * Call before anything reads the frame's headers. */
int mps_netif_vlan_admit(struct mps_worker *w, struct rte_mbuf *m, int from_peer);

/* Where a frame handed to mps_netif_input comes from. */
enum mps_rx_path {
	MPS_RX_QUEUE = 0,   /* our own queue */
	MPS_RX_RING = 1,    /* a ring: a peer's hand-off or fan-out, or our
			     * own re-injection */
	MPS_RX_ADOPTED = 2, /* a queue we adopted, steered by adopt.c */
};

/* One received frame into lwIP: VLAN rule (on every frame, whatever its
 * path), parse, checks, learning, steering (steer.c), then zero-copy as a
 * custom pbuf. from_peer: an enum mps_rx_path. Takes m in every case. */
void mps_netif_input(struct mps_worker *w, struct rte_mbuf *m, int from_peer);

/* Appends a whole frame (one segment, ready for the wire: the kernel's)
 * to the TX batch. 0, or -1 when it was too long or the batch full
 * (freed, counted). */
int mps_netif_tx_frame(struct mps_worker *w, struct rte_mbuf *m);

/* Sends the TX batch; what the NIC refuses stays, in order. */
void mps_tx_flush(struct mps_worker *w);

/* The first sent frames of the TX batch are gone (sent or handed on). */
void mps_netif_tx_consumed(struct mps_worker *w, uint16_t sent);

/* Adds a finished frame (a draining predecessor's) to the TX batch: 0, or
 * -ENOBUFS with m freed when the batch stays full. */
int mps_netif_tx_append(struct mps_worker *w, struct rte_mbuf *m);

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
