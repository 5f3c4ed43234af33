/* SPDX-License-Identifier: BSD-3-Clause
 *
 * neigh_learn.c - neighbour learning from received frames, and ARP fan-out.
 *
 * What a worker offers the shared table (common/mps_neigh.c, which keeps
 * static entries and decides when an entry is rewritten): on-link unicast
 * senders only, and the peer learned last not again within the same second.
 */
#include <string.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "mps_neigh.h"
#include "neigh_learn.h"

static inline int
on_link(const struct mps_worker *w, uint32_t ip_be)
{
	const struct mps_config *cfg = &w->shared->cfg;

	return ip_be != 0 && (ip_be & cfg->netmask) == (cfg->ip & cfg->netmask) &&
	       ip_be != cfg->ip && (ip_be | cfg->netmask) != 0xffffffffu;
}

/* Records ip -> mac in the shared table; a repeating peer costs nothing. */
static void
learn(struct mps_worker *w, uint32_t ip_be, const uint8_t mac[6])
{
	if (!on_link(w, ip_be) || !mps_mac_is_unicast(mac))
		return;
	if (ip_be == w->last_learned_ip && w->now_s == w->last_learned_s)
		return;
	switch (mps_neigh_learn(w->neigh, ip_be, mac, w->now_s,
				w->shared->cfg.neigh_ttl_s, w->id)) {
	case MPS_NEIGH_ADDED:
		w->stats->neigh_learned++;
		break;
	case MPS_NEIGH_REFRESHED:
		w->stats->neigh_refreshed++;
		break;
	case MPS_NEIGH_FULL:
		w->stats->neigh_full++;
		return;
	case MPS_NEIGH_UNCHANGED:
		break;
	}
	w->last_learned_ip = ip_be;
	w->last_learned_s = w->now_s;
}

/* An ARP reply (or gratuitous ARP) may answer a question another worker's
 * lwIP asked: every peer gets its own copy, never the same mbuf. */
static void
fan_out_arp(struct mps_worker *w, struct rte_mbuf *m)
{
	for (uint16_t peer = 0; peer < w->n_workers; peer++) {
		struct rte_mbuf *copy;

		if (peer == w->id ||
		    w->shared->workers[peer].state != MPS_WORKER_RUNNING)
			continue;
		copy = rte_pktmbuf_copy(m, w->pool, 0, UINT32_MAX);
		if (copy == NULL || rte_ring_mp_enqueue(w->rings[peer], copy) != 0) {
			rte_pktmbuf_free(copy);
			w->stats->ring_drop++;
			continue;
		}
		w->stats->ring_tx++;
	}
}

/* Requests are not fanned out: the worker that received one answers it,
 * once. */
void
mps_neigh_learn_rx(struct mps_worker *w, const struct mps_frame_info *fi,
		   struct rte_mbuf *m, int from_peer)
{
	if (fi->kind == MPS_FRAME_ARP) {
		learn(w, fi->arp_spa, fi->arp_sha);
		if (!from_peer && ((fi->arp_op == MPS_ARP_REPLY &&
				    fi->arp_tpa == w->shared->cfg.ip) ||
				   fi->arp_spa == fi->arp_tpa))
			fan_out_arp(w, m);
	} else if (fi->kind == MPS_FRAME_IPV4 &&
		   memcmp(fi->dst_mac, w->netif.hwaddr, 6) == 0) {
		learn(w, fi->ip_src, fi->src_mac);
	}
}
