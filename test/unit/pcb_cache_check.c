/* SPDX-License-Identifier: BSD-3-Clause
 *
 * pcb_cache_check.c - the PCB cache (secondary/pcb_cache.c) in front of
 * lwIP's lookup: it finds the PCB lwIP's walk would, and no slot keeps a
 * PCB lwIP has freed, whichever way lwIP frees it.
 *
 * One lwIP instance talks to itself (lwip_loop.h): CONNS connections to a
 * listener, data on each, then
 *  - every active PCB is found as itself or not at all (then lwIP walks),
 *    and most are found;
 *  - tcp_input takes a cached PCB without its walk (the walk would have
 *    moved the PCB to the front of lwIP's list);
 *  - a PCB freed by tcp_abort, its peer freed by the RST, one freed by
 *    lwIP's slow timer (a FIN_WAIT_2 that timed out: tcp_slowtmr unlinks and
 *    frees it without touching its state or 4-tuple) and one whose TIME_WAIT
 *    ran out are in no slot;
 *  - a PCB in TIME_WAIT is not found (lwIP looks it up in its TIME_WAIT list);
 *  - new connections reuse the freed PCBs and carry data.
 * No DPDK, no hugepages. Exits 0 on success, 1 with a message otherwise.
 */
#include <stdio.h>

#include "lwip/ip4.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"

#include "lwip_loop.h"
#include "pcb_cache.h"

#define PORT 7
#define CONNS 64

static unsigned int accepted, bytes_in;

static err_t
on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	(void)arg;
	(void)err;
	if (p == NULL)
		return ERR_OK; /* the peer's FIN: this side stays open */
	bytes_in += p->tot_len;
	tcp_recved(pcb, p->tot_len);
	pbuf_free(p);
	return ERR_OK;
}

static err_t
on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg;
	if (err != ERR_OK || pcb == NULL)
		return ERR_VAL;
	tcp_recv(pcb, on_recv);
	accepted++;
	return ERR_OK;
}

static struct tcp_pcb *
find(const struct tcp_pcb *pcb)
{
	return mps_pcb_cache_lookup(ip4_addr_get_u32(&pcb->local_ip), pcb->local_port,
				    ip4_addr_get_u32(&pcb->remote_ip), pcb->remote_port);
}

/* lwIP's side of client cl (the listener's child), or NULL. */
static struct tcp_pcb *
server_of(const struct tcp_pcb *cl)
{
	for (struct tcp_pcb *pcb = tcp_active_pcbs; pcb != NULL; pcb = pcb->next)
		if (pcb->local_port == PORT && pcb->remote_port == cl->local_port)
			return pcb;
	return NULL;
}

static int
fail(const char *msg)
{
	fprintf(stderr, "pcb-cache-check: FAIL: %s\n", msg);
	return 1;
}

/* Every active PCB is found as itself or not at all; *hits: as itself. */
static int
all_found_as_themselves(unsigned int *hits)
{
	*hits = 0;
	for (struct tcp_pcb *pcb = tcp_active_pcbs; pcb != NULL; pcb = pcb->next) {
		struct tcp_pcb *c = find(pcb);

		if (c != NULL && c != pcb)
			return 0;
		*hits += c == pcb;
	}
	return 1;
}

/* CONNS clients, one byte each way of the handshake and one of data. */
static int
open_clients(struct tcp_pcb **cl)
{
	ip_addr_t dst;

	IP_ADDR4(&dst, 10, 0, 0, 1);
	for (int i = 0; i < CONNS; i++) {
		cl[i] = tcp_new();
		if (cl[i] == NULL || tcp_connect(cl[i], &dst, PORT, NULL) != ERR_OK)
			return -1;
		tcp_recv(cl[i], on_recv);
		lwip_loop_deliver();
	}
	for (int i = 0; i < CONNS; i++) {
		if (cl[i]->state != ESTABLISHED || tcp_write(cl[i], "x", 1, TCP_WRITE_FLAG_COPY) != ERR_OK)
			return -1;
		tcp_output(cl[i]);
		lwip_loop_deliver();
	}
	return 0;
}

int
main(void)
{
	struct tcp_pcb *lpcb, *cl[CONNS], *deep = NULL, *head, *server0, *c0, *c1, *c2;
	unsigned int hits;

	if (lwip_loop_up() != 0)
		return fail("netif_add");
	lpcb = tcp_new();
	if (lpcb == NULL || tcp_bind(lpcb, IP4_ADDR_ANY, PORT) != ERR_OK ||
	    (lpcb = tcp_listen_with_backlog(lpcb, 255)) == NULL)
		return fail("listen");
	tcp_accept(lpcb, on_accept);

	if (open_clients(cl) != 0 || accepted != CONNS || bytes_in != CONNS)
		return fail("the connections did not open and carry a byte each");
	if (!all_found_as_themselves(&hits))
		return fail("the cache found another PCB than the segment's");
	if (hits < CONNS) /* of 2 x CONNS: a few may share a slot */
		return fail("the cache holds fewer than half of the active PCBs");

	/* A segment for a cached server side deep in lwIP's list: tcp_input
	 * takes it from the cache, so the list's head does not move (lwIP's
	 * walk would have moved it there). */
	head = tcp_active_pcbs;
	for (int i = CONNS / 2; i < CONNS && deep == NULL; i++) {
		struct tcp_pcb *srv = server_of(cl[i]);

		if (srv != NULL && srv != head && find(srv) == srv && find(cl[i]) == cl[i])
			deep = cl[i];
	}
	if (deep == NULL)
		return fail("no cached connection deep in the list");
	tcp_nagle_disable(deep); /* the first byte's ACK is still delayed */
	if (tcp_write(deep, "y", 1, TCP_WRITE_FLAG_COPY) != ERR_OK)
		return fail("tcp_write");
	tcp_output(deep);
	lwip_loop_deliver();
	if (bytes_in != CONNS + 1)
		return fail("the byte did not arrive");
	if (tcp_active_pcbs != head)
		return fail("tcp_input walked its list for a cached PCB");

	/* tcp_abort: client 0's server side; the RST frees client 0. */
	c0 = cl[0];
	server0 = server_of(c0);
	if (server0 == NULL || find(server0) != server0 || find(c0) != c0)
		return fail("connection 0 is not cached");
	tcp_abort(server0);
	lwip_loop_deliver();
	if (mps_pcb_cache_holds(server0))
		return fail("a slot still points at a PCB tcp_abort freed");
	if (mps_pcb_cache_holds(c0))
		return fail("a slot still points at a PCB a RST freed");

	/* The slow timer: client 1 closes, its peer does not; FIN_WAIT_2
	 * times out after TCP_FIN_WAIT_TIMEOUT of slow-timer ticks. */
	c1 = cl[1];
	if (tcp_close(c1) != ERR_OK)
		return fail("tcp_close");
	lwip_loop_deliver();
	if (c1->state != FIN_WAIT_2 || find(c1) != c1)
		return fail("the closing client is not cached in FIN_WAIT_2");
	for (int i = 0; i <= TCP_FIN_WAIT_TIMEOUT / TCP_SLOW_INTERVAL + 1; i++) {
		tcp_slowtmr();
		lwip_loop_deliver();
	}
	for (struct tcp_pcb *pcb = tcp_active_pcbs; pcb != NULL; pcb = pcb->next)
		if (pcb == c1 && pcb->state == FIN_WAIT_2)
			return fail("FIN_WAIT_2 did not time out");
	if (mps_pcb_cache_holds(c1))
		return fail("a slot still points at a PCB lwIP's slow timer freed");

	/* TIME_WAIT: client 2 closes, then its peer. */
	c2 = cl[2];
	if (find(c2) != c2 || server_of(c2) == NULL)
		return fail("client 2 is not cached");
	tcp_close(c2);
	lwip_loop_deliver();
	tcp_close(server_of(c2));
	lwip_loop_deliver();
	if (c2->state != TIME_WAIT)
		return fail("client 2 is not in TIME_WAIT");
	if (find(c2) != NULL)
		return fail("the cache found a TIME_WAIT PCB as active");
	for (unsigned long i = 0; i <= 2 * TCP_MSL / TCP_SLOW_INTERVAL + 1; i++)
		tcp_slowtmr();
	for (struct tcp_pcb *pcb = tcp_tw_pcbs; pcb != NULL; pcb = pcb->next)
		if (pcb == c2)
			return fail("TIME_WAIT did not run out");
	if (mps_pcb_cache_holds(c2))
		return fail("a slot still points at a PCB whose TIME_WAIT ran out");

	/* New connections take the freed PCBs; the cache still finds only
	 * the right one. */
	accepted = 0;
	bytes_in = 0;
	if (open_clients(cl) != 0 || accepted != CONNS || bytes_in != CONNS)
		return fail("new connections did not open and carry a byte each");
	if (!all_found_as_themselves(&hits))
		return fail("after reuse, the cache found another PCB than the segment's");
	printf("pcb-cache-check: ok (%u of the active PCBs cached)\n", hits);
	return 0;
}
