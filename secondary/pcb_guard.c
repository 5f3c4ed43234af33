/* SPDX-License-Identifier: BSD-3-Clause
 *
 * pcb_guard.c - keeps a SYN flood from locking legitimate clients out, and
 * publishes how many lwIP PCBs are in use.
 *
 * lwIP counts half-open (SYN_RCVD) connections against a listener's backlog
 * and keeps them for TCP_SYN_RCVD_TIMEOUT (20 s). Spoofed SYNs never
 * complete, so a flood fills the backlog in microseconds and every later SYN,
 * a real client's included, is dropped for the whole flood. Linux answers
 * with SYN cookies; lwIP has none. Instead, before each RX burst, a listener
 * whose backlog could not take one more burst loses its oldest half-open
 * PCBs (abandoned without a RST: the sources are usually forged). A real
 * client completes its handshake within one round trip, long before its
 * PCB becomes the oldest, so it is served while the flood goes on; memory
 * stays bounded by the backlog and MEMP_NUM_TCP_PCB.
 */
#include <rte_common.h>
#include <rte_cycles.h>

#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"

#include "worker.h"

#define GUARD_HEADROOM (2 * MPS_RX_BURST) /* free backlog kept per listener */
#define CENSUS_MS 100u

/* Evicts the oldest half-open PCBs of one listener down to the headroom.
 * tcp_active_pcbs is newest first, so the oldest are at the tail. */
static void
evict_half_open(struct mps_worker *w, struct tcp_pcb_listen *lpcb)
{
	static struct tcp_pcb *half[MEMP_NUM_TCP_PCB];
	unsigned int n = 0, target = lpcb->backlog > GUARD_HEADROOM ?
					  lpcb->backlog - GUARD_HEADROOM : 0;
	struct tcp_pcb *pcb;

	for (pcb = tcp_active_pcbs; pcb != NULL && n < RTE_DIM(half); pcb = pcb->next)
		if (pcb->state == SYN_RCVD && pcb->listener == lpcb)
			half[n++] = pcb;
	while (n > 0 && lpcb->accepts_pending > target) {
		tcp_abandon(half[--n], 0); /* also gives back its backlog slot */
		w->stats->syn_evicted++;
	}
}

/* Counts active and half-open PCBs for telemetry (gauges). */
static void
census(struct mps_worker *w)
{
	uint64_t all = 0, half = 0;

	for (struct tcp_pcb *pcb = tcp_active_pcbs; pcb != NULL; pcb = pcb->next) {
		all++;
		half += pcb->state == SYN_RCVD;
	}
	w->stats->tcp_pcbs = all;
	w->stats->tcp_syn_rcvd = half;
}

void
mps_pcb_guard(struct mps_worker *w, uint64_t now_tsc)
{
	static uint64_t next_census;
	struct tcp_pcb_listen *lpcb;

	/* Listeners with a deliberately tiny backlog (lwiperf serves one
	 * client at a time with a backlog of 1) are left to lwIP. */
	for (lpcb = tcp_listen_pcbs.listen_pcbs; lpcb != NULL; lpcb = lpcb->next)
		if (lpcb->backlog > 2 * GUARD_HEADROOM &&
		    (unsigned int)lpcb->accepts_pending + GUARD_HEADROOM > lpcb->backlog)
			evict_half_open(w, lpcb);
	if (now_tsc >= next_census) {
		census(w);
		next_census = now_tsc + rte_get_tsc_hz() / 1000 * CENSUS_MS;
	}
}
