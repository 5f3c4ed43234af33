/* SPDX-License-Identifier: BSD-3-Clause
 *
 * neigh_learn.c - neighbour learning from received frames, and ARP fan-out.
 *
 * What a worker offers the shared table (common/mps_neigh.c applies the
 * rules: IPv4 creates but never changes, ARP replies respect the locktime,
 * gratuitous ARP overrides, static never changes, every write costs a
 * token of this worker's budget): on-link unicast senders only, and the
 * same claim (address and MAC) not again within the same second. A known
 * address claimed by an IPv4 frame with another MAC is a conflict: counted,
 * logged (rate-limited), and the address is asked for by ARP (rate-limited),
 * so the MAC that answers wins -- a host that changed NIC without
 * announcing itself is found again, a spoofer is not believed.
 *
 * The probe is lwIP's etharp_request: the stack's own ARP request builder,
 * sent through this netif's linkoutput like every other frame (TX batch,
 * VLAN tag, capture mirror, counters), so nothing here builds frames.
 */
#include <inttypes.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "lwip/etharp.h"
#include "lwip/ip4_addr.h"

#include "cycles.h"
#include "mps_log.h"
#include "mps_neigh.h"
#include "neigh_learn.h"

static inline int
on_link(const struct mps_worker *w, uint32_t ip_be)
{
	const struct mps_config *cfg = &w->shared->cfg;

	return ip_be != 0 && (ip_be & cfg->netmask) == (cfg->ip & cfg->netmask) &&
	       ip_be != cfg->ip && (ip_be | cfg->netmask) != 0xffffffffu;
}

void
mps_neigh_learn_init(struct mps_worker *w)
{
	struct mps_neigh_table t = w->learner.t;
	const struct mps_config *cfg = &w->shared->cfg;
	uint64_t now_ms = rte_get_tsc_cycles() / (w->shared->tsc_hz / 1000);

	w->now_ms = now_ms;
	w->learner = (struct mps_neigh_learner){
		.t = t,
		.ttl_s = cfg->neigh_ttl_s,
		.locktime_ms = cfg->neigh_locktime_ms,
		.worker = w->id,
		.writes = &w->neigh_writes,
	};
	mps_tbucket_init(&w->neigh_writes, MPS_NEIGH_WRITE_RATE,
			 MPS_NEIGH_WRITE_BURST, now_ms);
	mps_tbucket_init(&w->neigh_probes, MPS_NEIGH_PROBE_RATE,
			 MPS_NEIGH_PROBE_BURST, now_ms);
	memset(w->probe_ip, 0, sizeof(w->probe_ip));
	memset(w->probe_ms, 0, sizeof(w->probe_ms));
}

static const char *
evidence_name(enum mps_neigh_evidence ev)
{
	switch (ev) {
	case MPS_NEIGH_EV_IPV4:
		return "an IPv4 frame";
	case MPS_NEIGH_EV_ARP:
		return "an ARP reply within the locktime";
	case MPS_NEIGH_EV_ARP_OVERRIDE:
		break;
	}
	return "ARP";
}

/* At most one line per MPS_NEIGH_LOG_S, saying how many were not logged. */
static void
log_conflict(struct mps_worker *w, uint32_t ip_be, const uint8_t mac[6],
	     enum mps_neigh_evidence ev, enum mps_neigh_result r)
{
	const uint8_t *a = (const uint8_t *)&ip_be;
	uint64_t old = 0;
	uint8_t have[6] = { 0 };

	if (w->conflict_log_s != 0 &&
	    w->now_s - w->conflict_log_s < MPS_NEIGH_LOG_S) {
		w->conflict_unlogged++;
		return;
	}
	if (mps_neigh_get(w->neigh, ip_be, &old) == 0)
		mps_neigh_unpack_mac(old, have);
	MPS_LOG(WARNING, "worker %u: neighbour conflict: %u.%u.%u.%u is %s%02x:%02x:%02x:%02x:%02x:%02x, %s claims %02x:%02x:%02x:%02x:%02x:%02x: refused (%" PRIu64 " more not logged)",
		w->id, a[0], a[1], a[2], a[3],
		r == MPS_NEIGH_PINNED ? "pinned to " : "",
		have[0], have[1], have[2], have[3], have[4], have[5],
		evidence_name(ev), mac[0], mac[1], mac[2], mac[3], mac[4],
		mac[5], w->conflict_unlogged);
	w->conflict_log_s = w->now_s;
	w->conflict_unlogged = 0;
}

/* Asks who has ip_be, unless this worker asked less than
 * MPS_NEIGH_PROBE_INTERVAL_MS ago or its probe budget is spent. */
static void
probe(struct mps_worker *w, uint32_t ip_be)
{
	unsigned int slot = mps_neigh_sig(ip_be) % MPS_NEIGH_PROBE_SLOTS;
	ip4_addr_t ip;

	if (w->probe_ip[slot] == ip_be &&
	    w->now_ms - w->probe_ms[slot] < MPS_NEIGH_PROBE_INTERVAL_MS)
		return;
	if (!mps_tbucket_take(&w->neigh_probes, w->now_ms))
		return;
	w->probe_ip[slot] = ip_be;
	w->probe_ms[slot] = w->now_ms;
	ip4_addr_set_u32(&ip, ip_be);
	if (etharp_request(&w->netif, &ip) == ERR_OK)
		w->stats->neigh_probe++;
}

/* Offers ip -> mac (by evidence ev) to the shared table. */
static void
learn(struct mps_worker *w, uint32_t ip_be, const uint8_t mac[6],
      enum mps_neigh_evidence ev)
{
	enum mps_neigh_result r;

	if (!on_link(w, ip_be) || !mps_mac_is_unicast(mac))
		return;
	if (ip_be == w->last_learned_ip && w->now_s == w->last_learned_s &&
	    memcmp(mac, w->last_learned_mac, 6) == 0)
		return;
	w->learner.now_ms = w->now_ms;
	MPS_CYC_PUSH(NEIGH);
	r = mps_neigh_learn(&w->learner, ip_be, mac, ev);
	MPS_CYC_POP();
	switch (r) {
	case MPS_NEIGH_ADDED:
		w->stats->neigh_learned++;
		break;
	case MPS_NEIGH_REFRESHED:
		w->stats->neigh_refreshed++;
		break;
	case MPS_NEIGH_UNCHANGED:
		break;
	case MPS_NEIGH_FULL:
		w->stats->neigh_full++;
		return;
	case MPS_NEIGH_RATELIMITED:
		w->stats->neigh_ratelimited++;
		return;
	case MPS_NEIGH_CONFLICT:
	case MPS_NEIGH_PINNED:
		w->stats->neigh_conflict++;
		log_conflict(w, ip_be, mac, ev, r);
		if (r == MPS_NEIGH_CONFLICT && ev == MPS_NEIGH_EV_IPV4)
			probe(w, ip_be);
		return;
	}
	w->last_learned_ip = ip_be;
	w->last_learned_s = w->now_s;
	memcpy(w->last_learned_mac, mac, 6);
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

/* Linux's arp_is_garp: sender and target address alike; a reply also
 * names the sender's MAC as target (or none). */
static int
is_garp(const struct mps_frame_info *fi)
{
	static const uint8_t zero[6];

	if (fi->arp_spa != fi->arp_tpa)
		return 0;
	return fi->arp_op == MPS_ARP_REQUEST ||
	       memcmp(fi->arp_tha, fi->arp_sha, 6) == 0 ||
	       memcmp(fi->arp_tha, zero, 6) == 0;
}

/* What an ARP frame proves (Linux's arp_process): a gratuitous ARP and a
 * request for our address override; a reply, or a request for someone
 * else, waits out the locktime. */
static enum mps_neigh_evidence
arp_evidence(const struct mps_worker *w, const struct mps_frame_info *fi)
{
	if (is_garp(fi) ||
	    (fi->arp_op == MPS_ARP_REQUEST && fi->arp_tpa == w->shared->cfg.ip))
		return MPS_NEIGH_EV_ARP_OVERRIDE;
	return MPS_NEIGH_EV_ARP;
}

/* Requests are not fanned out: the worker that received one answers it,
 * once. */
void
mps_neigh_learn_rx(struct mps_worker *w, const struct mps_frame_info *fi,
		   struct rte_mbuf *m, int from_peer)
{
	if (fi->kind == MPS_FRAME_ARP) {
		learn(w, fi->arp_spa, fi->arp_sha, arp_evidence(w, fi));
		if (!from_peer && ((fi->arp_op == MPS_ARP_REPLY &&
				    fi->arp_tpa == w->shared->cfg.ip) ||
				   fi->arp_spa == fi->arp_tpa))
			fan_out_arp(w, m);
	} else if (fi->kind == MPS_FRAME_IPV4 &&
		   memcmp(fi->dst_mac, w->netif.hwaddr, 6) == 0) {
		learn(w, fi->ip_src, fi->src_mac, MPS_NEIGH_EV_IPV4);
	}
}
