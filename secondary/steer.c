/* SPDX-License-Identifier: BSD-3-Clause
 *
 * steer.c - the one place that decides which worker owns a received frame.
 *
 * Two rules, on the frame parsed once (struct mps_frame_info):
 * - Port owner. Without a RETA (net_tap) nothing aims a reply at the queue
 *   that sent the SYN, so the local port of an active open names its worker
 *   (api.c picks it: mps_api_pick_port, and says who owns a port:
 *   mps_api_port_owner). A segment for another worker's active open goes to
 *   that worker's ring.
 * - Adoption hash. Frames polled from an adopted queue (adopt.c) are spread
 *   over the live workers by the symmetric Toeplitz hash of the 4-tuple (the
 *   key the ports use), so every frame of one flow reaches the same worker;
 *   what any worker can answer (ARP, ICMP, ...) stays with the adopter.
 * - Strays (no RETA). A segment of a passive connection that our lwIP does
 *   not hold goes round the other running workers before anyone answers it
 *   with a RST: see stray() below.
 * - Predecessor (--replace). While the worker we replaced drains, a segment
 *   of a connection it holds (not a SYN, no PCB here) goes to it: replace.c.
 * Frames a peer handed over arrive with from_peer set and are never steered
 * again, but for a stray on its way round.
 */
#include <errno.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "api/api.h"
#include "mps_rss.h"
#include "netif.h"
#include "replace.h"
#include "steer.h"
#include "tcp_hooks.h"

/* The worker whose active open owns this TCP segment to us, or -1 if any
 * worker may serve it. */
static int
port_owner(const struct mps_worker *w, const struct mps_frame_info *fi)
{
	if (!mps_frame_has_ports(fi) || fi->ip_proto != MPS_IPPROTO_TCP ||
	    fi->ip_dst != w->shared->cfg.ip)
		return -1;
	return mps_api_port_owner(fi->dport);
}

int
mps_steer_hand_off(struct mps_worker *w, uint16_t to, struct rte_mbuf *m)
{
	return rte_ring_mp_enqueue(w->rings[to], m) == 0 ? 0 : -ENOBUFS;
}

/* A stray on its way round the workers carries this tag and the id of the
 * worker it arrived on in the mbuf's hash.usr (the RSS hash, unused once
 * the frame is received); steer.c sets and clears it, nothing else reads
 * it. */
#define STRAY_TAG 0x5a7a0000u
#define STRAY_TAG_MASK 0xffff0000u

void
mps_steer_clear(struct rte_mbuf *m)
{
	m->hash.usr = 0;
}

/* 1 if m is a stray a peer passed on (*origin: where it arrived). */
static int
stray_origin(const struct rte_mbuf *m, uint16_t *origin)
{
	if ((m->hash.usr & STRAY_TAG_MASK) != STRAY_TAG)
		return 0;
	*origin = (uint16_t)(m->hash.usr & 0xffffu);
	return 1;
}

/* A TCP segment to one of our listeners that is not a SYN: it belongs to a
 * passive connection some worker holds, if any does. */
static int
passive_segment(const struct mps_worker *w, const struct mps_frame_info *fi)
{
	return mps_frame_has_tcp_flags(fi) && (fi->tcp_flags & MPS_TCP_SYN) == 0 &&
	       fi->ip_dst == w->shared->cfg.ip && mps_api_is_listener(fi->dport);
}

/* The next running worker after us in id order, -1 once the walk that
 * started at origin is round. */
static int
next_running(const struct mps_worker *w, uint16_t origin)
{
	for (uint16_t i = 1; i < w->n_workers; i++) {
		uint16_t c = (uint16_t)((w->id + i) % w->n_workers);

		if (c == origin)
			return -1;
		if (__atomic_load_n(&w->shared->workers[c].state, __ATOMIC_ACQUIRE) ==
		    MPS_WORKER_RUNNING)
			return c;
	}
	return -1;
}

/* Stray segments (no RETA). A segment of a passive connection our lwIP
 * does not hold would be answered with a RST. Without a RETA nothing makes
 * every segment of a flow arrive on one queue (net_tap: the kernel picks the
 * queue of a frame it sends by a flow hash, and for a VLAN-tagged frame a
 * packet socket sends that hash follows the IP length, not the 4-tuple:
 * the handshake lands on one queue, the data on another). So it is passed
 * to the next running worker, and on, until the worker that holds it serves
 * it or the walk is round (that last worker answers the RST). 1 if passed
 * on (or dropped and counted). */
static int
stray(struct mps_worker *w, const struct mps_frame_info *fi, struct rte_mbuf *m,
      uint16_t origin)
{
	int next;

	if (w->shared->reta_size != 0 || w->n_workers < 2 || !passive_segment(w, fi) ||
	    mps_tcp_has_pcb(fi->ip_dst, fi->dport, fi->ip_src, fi->sport))
		return 0;
	next = next_running(w, origin);
	if (next < 0)
		return 0;
	m->hash.usr = STRAY_TAG | origin;
	if (mps_steer_hand_off(w, (uint16_t)next, m) != 0) {
		w->stats->ring_drop++;
		rte_pktmbuf_free(m);
		return 1;
	}
	w->stats->stray_handed++;
	w->stats->ring_tx++;
	return 1;
}

int
mps_steer_rx(struct mps_worker *w, const struct mps_frame_info *fi,
	     struct rte_mbuf *m, int from_peer)
{
	uint16_t origin;
	int owner;

	if (from_peer == MPS_RX_ADOPTED)
		return 0;
	/* A connection our draining predecessor still holds (--replace). */
	if (mps_replace_hand_off(w, fi, m))
		return 1;
	if (from_peer == MPS_RX_RING) {
		if (!stray_origin(m, &origin))
			return 0;
		w->stats->stray_rx++;
		mps_steer_clear(m);
		return stray(w, fi, m, origin);
	}
	mps_steer_clear(m);
	owner = port_owner(w, fi);
	if (owner == w->id)
		return 0;
	if (owner < 0)
		return stray(w, fi, m, w->id);
	if (w->shared->workers[owner].state != MPS_WORKER_RUNNING ||
	    mps_steer_hand_off(w, (uint16_t)owner, m) != 0) {
		w->stats->ring_drop++;
		rte_pktmbuf_free(m);
		return 1;
	}
	w->stats->ring_tx++;
	return 1;
}

/* The port owner of an adopted frame, if it is running (else the hash
 * decides), or -1. */
static int
adopted_port_owner(const struct mps_worker *w, const struct mps_frame_info *fi)
{
	int owner = port_owner(w, fi);

	if (owner < 0 || owner >= w->n_workers)
		return -1;
	if (owner != w->id && __atomic_load_n(&w->shared->workers[owner].state,
					      __ATOMIC_ACQUIRE) != MPS_WORKER_RUNNING)
		return -1;
	return owner;
}

/* The owner of an active open's port, else a flow hash over the live
 * workers for TCP/UDP to us, ourselves for everything else (or when
 * alone). */
uint16_t
mps_steer_adopted(const struct mps_worker *w, const struct mps_frame_info *fi)
{
	const struct mps_shared *sh = w->shared;
	uint16_t live[MPS_MAX_WORKERS], n = 0;
	uint32_t hash;
	int owner;

	if (!mps_frame_has_ports(fi) || fi->ip_dst != sh->cfg.ip)
		return w->id;
	owner = adopted_port_owner(w, fi);
	if (owner >= 0)
		return (uint16_t)owner;
	for (uint16_t i = 0; i < w->n_workers; i++)
		if (i == w->id || __atomic_load_n(&sh->workers[i].state,
						  __ATOMIC_ACQUIRE) == MPS_WORKER_RUNNING)
			live[n++] = i;
	hash = mps_rss_reply_hash(sh->rss_key, fi->ip_src, fi->ip_dst,
				  fi->sport, fi->dport);
	return live[hash % n];
}
