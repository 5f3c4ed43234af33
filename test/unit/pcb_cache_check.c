/* SPDX-License-Identifier: BSD-3-Clause
 *
 * pcb_cache_check.c - the PCB index (secondary/pcb_cache.c) in front of
 * lwIP's lookups: it finds the PCB lwIP's walk would, a segment of no
 * connection walks nothing, and the index keeps no PCB lwIP has freed,
 * whichever way lwIP frees it.
 *
 * One lwIP instance talks to itself (lwip_loop.h): CONNS connections to a
 * listener, data on each, then
 *  - every active PCB is found as itself, also after the index is set up
 *    again while lwIP holds them;
 *  - tcp_input takes an indexed PCB without its walk (the walk would have
 *    moved the PCB to the front of lwIP's list);
 *  - a PCB freed by tcp_abort, its peer freed by the RST, one freed by
 *    lwIP's slow timer (a FIN_WAIT_2 that timed out: tcp_slowtmr unlinks and
 *    frees it without touching its state or 4-tuple) and one whose TIME_WAIT
 *    ran out are in no slot;
 *  - a PCB in TIME_WAIT is not found as active;
 *  - segments of no connection (an ACK, a RST, a SYN to a closed port) are
 *    answered, or dropped, with both of lwIP's lists made circular for the
 *    time: a walk of either would never end (an alarm fails the check);
 *  - new connections reuse the freed PCBs and carry data.
 * No DPDK, no hugepages. Exits 0 on success, 1 with a message otherwise.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lwip/ip4.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/ip4.h"
#include "lwip/prot/tcp.h"
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

/* lwIP walked a circular list: it never ends. */
static void
on_alarm(int sig)
{
	static const char msg[] =
		"pcb-cache-check: FAIL: tcp_input walked its PCB list for a segment of no connection\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

/* The last PCB of a list (NULL if empty). */
static struct tcp_pcb *
last_of(struct tcp_pcb *list)
{
	while (list != NULL && list->next != NULL)
		list = list->next;
	return list;
}

/* A segment from 10.0.0.9:sport to our port dport (the netif checks no
 * checksum). */
static void
stray_segment(u16_t sport, u16_t dport, u8_t flags)
{
	ip4_addr_t src, dst;

	IP4_ADDR(&src, 10, 0, 0, 9);
	IP4_ADDR(&dst, 10, 0, 0, 1);
	lwip_loop_segment(&src, sport, &dst, dport, 1000, 2000, flags, 8192, 0);
}

/* RSTs lwIP queued to 10.0.0.9 (every queued packet is taken). */
static unsigned int
rsts_to_stray(void)
{
	unsigned int n = 0;
	struct pbuf *p;

	while ((p = lwip_loop_take()) != NULL) {
		const struct ip_hdr *iph = p->payload;
		const struct tcp_hdr *th = (const struct tcp_hdr *)((const u8_t *)p->payload +
								    IPH_HL_BYTES(iph));

		n += ip4_addr_get_u32(&iph->dest) == PP_HTONL(0x0a000009ul) &&
		     (TCPH_FLAGS(th) & TCP_RST);
		pbuf_free(p);
	}
	return n;
}

/* Segments of no connection, with both lists circular: none may walk. */
static int
strays_walk_nothing(void)
{
	struct tcp_pcb *la = last_of(tcp_active_pcbs), *lt = last_of(tcp_tw_pcbs);
	unsigned int rsts;

	if (la == NULL || lt == NULL)
		return fail("no active or no TIME_WAIT PCB to make circular");
	signal(SIGALRM, on_alarm);
	alarm(5);
	la->next = tcp_active_pcbs;
	lt->next = tcp_tw_pcbs;
	stray_segment(40000, PORT, TCP_ACK);     /* answered with a RST */
	stray_segment(40001, PORT + 1, TCP_SYN); /* a closed port: a RST */
	stray_segment(40002, PORT, TCP_RST);     /* dropped */
	la->next = NULL;
	lt->next = NULL;
	alarm(0);
	rsts = rsts_to_stray();
	if (rsts != 2)
		return fail("the segments of no connection were not answered with 2 RSTs");
	return 0;
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
	NETIF_SET_CHECKSUM_CTRL(&lwip_loop_netif, NETIF_CHECKSUM_DISABLE_ALL); /* hand-made segments */
	lpcb = tcp_new();
	if (lpcb == NULL || tcp_bind(lpcb, IP4_ADDR_ANY, PORT) != ERR_OK ||
	    (lpcb = tcp_listen_with_backlog(lpcb, 255)) == NULL)
		return fail("listen");
	tcp_accept(lpcb, on_accept);

	if (open_clients(cl) != 0 || accepted != CONNS || bytes_in != CONNS)
		return fail("the connections did not open and carry a byte each");
	if (!all_found_as_themselves(&hits))
		return fail("the cache found another PCB than the segment's");
	if (hits != 2 * CONNS)
		return fail("the index misses an active PCB");
	mps_pcb_cache_init(0x5eedull); /* again, lwIP holding them: indexed anew */
	if (!all_found_as_themselves(&hits) || hits != 2 * CONNS)
		return fail("after a second init, the index misses an active PCB");

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
	if (strays_walk_nothing() != 0)
		return 1;
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
	printf("pcb-cache-check: ok (%u active PCBs indexed; segments of no connection walked nothing; %lu answers checked against lwIP's walk)\n",
	       hits, mps_pcb_cache_checked());
	return 0;
}
