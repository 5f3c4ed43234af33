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
 *
 * O(1) per loop iteration: lwIP tells us of every half-open PCB of a
 * listener as it is made (the passive_open callback of its extension
 * slot, LWIP_TCP_PCB_NUM_EXT_ARGS) and of its end (destroy), and each
 * listener keeps its PCBs in a FIFO, oldest first. A PCB that completed its
 * handshake stays in the FIFO until it reaches the head, where it is
 * dropped from it without being touched: each PCB is visited at most once.
 */
#include <rte_common.h>
#include <rte_cycles.h>

#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"

#include "worker.h"

#define GUARD_HEADROOM (2 * MPS_RX_BURST) /* free backlog kept per listener */
#define CENSUS_MS 100u

/* One PCB in its listener's FIFO (a slot per PCB lwIP may have). */
struct half_open {
	struct tcp_pcb *pcb;
	int32_t prev, next; /* in the FIFO (-1 ends), next also in the free list */
	int32_t fifo;       /* listener slot, -1: not in a FIFO */
};

/* A listener's FIFO, oldest first. */
struct guard_fifo {
	struct tcp_pcb_listen *lpcb; /* NULL: slot free */
	int32_t head, tail;
};

static struct half_open nodes[MEMP_NUM_TCP_PCB];
static struct guard_fifo fifos[MEMP_NUM_TCP_PCB_LISTEN];
static int32_t free_nodes = -1;
static u8_t ext_id = LWIP_TCP_PCB_NUM_EXT_ARG_ID_INVALID;

static err_t guard_passive_open(u8_t id, struct tcp_pcb_listen *lpcb, struct tcp_pcb *cpcb);
static void guard_destroy(u8_t id, void *data);

static const struct tcp_ext_arg_callbacks listener_cbs = {
	.destroy = guard_destroy,
	.passive_open = guard_passive_open,
};
static const struct tcp_ext_arg_callbacks pcb_cbs = {
	.destroy = guard_destroy,
};

/* Takes node i out of its FIFO, O(1). */
static void
fifo_unlink(int32_t i)
{
	struct half_open *n = &nodes[i];
	struct guard_fifo *f;

	if (n->fifo < 0)
		return;
	f = &fifos[n->fifo];
	if (n->prev >= 0)
		nodes[n->prev].next = n->next;
	else
		f->head = n->next;
	if (n->next >= 0)
		nodes[n->next].prev = n->prev;
	else
		f->tail = n->prev;
	n->fifo = -1;
}

/* lwIP made cpcb (SYN_RCVD) for listener lpcb: to the FIFO's tail. */
static err_t
guard_passive_open(u8_t id, struct tcp_pcb_listen *lpcb, struct tcp_pcb *cpcb)
{
	struct guard_fifo *f = tcp_ext_arg_get((struct tcp_pcb *)lpcb, id);
	int32_t i = free_nodes;

	if (f == NULL || i < 0)
		return ERR_OK; /* untracked: the guard just cannot evict it */
	free_nodes = nodes[i].next;
	nodes[i] = (struct half_open){ .pcb = cpcb, .prev = f->tail, .next = -1,
				       .fifo = (int32_t)(f - fifos) };
	if (f->tail >= 0)
		nodes[f->tail].next = i;
	else
		f->head = i;
	f->tail = i;
	tcp_ext_arg_set(cpcb, id, &nodes[i]);
	tcp_ext_arg_set_callbacks(cpcb, id, &pcb_cbs);
	return ERR_OK;
}

/* lwIP frees a PCB we track, or a listener: forget it. */
static void
guard_destroy(u8_t id, void *data)
{
	(void)id;
	if (data == NULL)
		return;
	if (data >= (void *)fifos && data < (void *)(fifos + RTE_DIM(fifos))) {
		struct guard_fifo *f = data;

		while (f->head >= 0) /* the listener went: its FIFO goes */
			fifo_unlink(f->head);
		f->lpcb = NULL;
		return;
	}
	struct half_open *n = data;
	int32_t i = (int32_t)(n - nodes);

	fifo_unlink(i);
	n->pcb = NULL;
	n->next = free_nodes;
	free_nodes = i;
}

/* Gives every listener lwIP has a FIFO: O(listeners). */
static void
track_listeners(void)
{
	for (struct tcp_pcb_listen *l = tcp_listen_pcbs.listen_pcbs; l != NULL; l = l->next) {
		if (l->ext_args[ext_id].callbacks != NULL)
			continue;
		for (unsigned int k = 0; k < RTE_DIM(fifos); k++) {
			if (fifos[k].lpcb != NULL)
				continue;
			fifos[k] = (struct guard_fifo){ .lpcb = l, .head = -1, .tail = -1 };
			tcp_ext_arg_set((struct tcp_pcb *)l, ext_id, &fifos[k]);
			tcp_ext_arg_set_callbacks((struct tcp_pcb *)l, ext_id, &listener_cbs);
			break;
		}
	}
}

/* Evicts the oldest half-open PCBs of one listener down to the headroom.
 * PCBs that completed their handshake leave the FIFO as they reach its
 * head (each once). */
static void
evict_half_open(struct mps_worker *w, struct tcp_pcb_listen *lpcb, struct guard_fifo *f)
{
	unsigned int target = lpcb->backlog > GUARD_HEADROOM ?
			      lpcb->backlog - GUARD_HEADROOM : 0;

	while (lpcb->accepts_pending > target && f->head >= 0) {
		int32_t i = f->head;
		struct tcp_pcb *pcb = nodes[i].pcb;

		fifo_unlink(i);
		if (pcb->state != SYN_RCVD)
			continue; /* established: no longer ours to evict */
		tcp_abandon(pcb, 0); /* gives back its backlog slot; destroy frees i */
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

	if (unlikely(ext_id == LWIP_TCP_PCB_NUM_EXT_ARG_ID_INVALID)) {
		ext_id = tcp_ext_arg_alloc_id();
		for (int32_t i = 0, n = (int32_t)RTE_DIM(nodes); i < n; i++)
			nodes[i] = (struct half_open){ .prev = -1, .fifo = -1,
						       .next = i + 1 < n ? i + 1 : -1 };
		free_nodes = 0;
	}
	track_listeners();
	/* Listeners with a deliberately tiny backlog (lwiperf serves one
	 * client at a time with a backlog of 1) are left to lwIP. */
	for (unsigned int k = 0; k < RTE_DIM(fifos); k++) {
		struct tcp_pcb_listen *lpcb = fifos[k].lpcb;

		if (lpcb != NULL && lpcb->backlog > 2 * GUARD_HEADROOM &&
		    (unsigned int)lpcb->accepts_pending + GUARD_HEADROOM > lpcb->backlog)
			evict_half_open(w, lpcb, &fifos[k]);
	}
	if (now_tsc >= next_census) {
		census(w);
		next_census = now_tsc + rte_get_tsc_hz() / 1000 * CENSUS_MS;
	}
}
