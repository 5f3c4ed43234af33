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
 * Frames a peer handed over arrive with from_peer set and are never steered
 * again.
 */
#include <errno.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "api/api.h"
#include "mps_rss.h"
#include "steer.h"

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

int
mps_steer_rx(struct mps_worker *w, const struct mps_frame_info *fi,
	     struct rte_mbuf *m, int from_peer)
{
	int owner;

	if (from_peer)
		return 0;
	owner = port_owner(w, fi);
	if (owner < 0 || owner == w->id)
		return 0;
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
