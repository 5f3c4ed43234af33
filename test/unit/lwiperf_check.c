/* SPDX-License-Identifier: BSD-3-Clause
 *
 * lwiperf_check.c - lwIP aborts a connection lwiperf serves and
 * the pcb pool must stay sound. lwIP frees the pcb before it calls the
 * error callback; unpatched lwiperf closes it again, the pool's free list
 * then loops and tcp_new() hands out the same pcb twice.
 *
 * One lwIP instance (the worker's lwipopts.h, the worker's lwIP objects)
 * talks to itself over a netif that queues every packet and feeds it back
 * to ip4_input: an iperf-style client connects to lwiperf, lwIP aborts the
 * server side (tcp_abort, as tcp_kill_prio or a shutdown would), then
 * tcp_new() must hand out distinct pcbs and lwiperf must serve a second connection.
 * No DPDK, no hugepages. Exits 0 on success, 1 with a message otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lwip/apps/lwiperf.h"
#include "lwip/init.h"
#include "lwip/ip4.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"

#define IPERF_PORT 5001
#define QLEN 256
#define NEW_PCBS 4

static struct netif loop_netif;
static struct pbuf *queue[QLEN];
static unsigned int q_head, q_tail;

u32_t sys_now(void);

/* lwIP's clock (the worker's comes from the TSC). */
u32_t
sys_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u32_t)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* The worker's out-of-order budget hook (lwipopts.h; secondary/tcp_hooks.c):
 * here, lwIP's per-pcb limit. */
unsigned short
mps_ooseq_pbufs_limit(void)
{
	return TCP_OOSEQ_MAX_PBUFS;
}

/* The worker's TIME_WAIT reuse hook (lwipopts.h; secondary/tcp_hooks.c):
 * here, lwIP's own behaviour. */
signed char
mps_tcp_inpacket_hook(struct tcp_pcb *pcb, struct tcp_hdr *hdr, struct pbuf *p)
{
	(void)pcb;
	(void)hdr;
	(void)p;
	return ERR_OK;
}

/* The worker's ISN hook (lwipopts.h; secondary/tcp_hooks.c): any number does. */
unsigned int
mps_tcp_isn(const struct ip4_addr *local_ip, unsigned short local_port,
	    const struct ip4_addr *remote_ip, unsigned short remote_port)
{
	(void)local_ip;
	(void)remote_ip;
	return ((unsigned int)local_port << 16) ^ remote_port ^ 0x6d707374u;
}

/* Queues a copy of every packet sent: delivered later, never reentrantly. */
static err_t
loop_output(struct netif *n, struct pbuf *p, const ip4_addr_t *dst)
{
	struct pbuf *q;

	(void)n;
	(void)dst;
	if (q_tail - q_head == QLEN)
		return ERR_MEM;
	q = pbuf_clone(PBUF_RAW, PBUF_RAM, p);
	if (q == NULL)
		return ERR_MEM;
	queue[q_tail++ % QLEN] = q;
	return ERR_OK;
}

static err_t
loop_init(struct netif *n)
{
	n->name[0] = 'l';
	n->name[1] = 'p';
	n->mtu = 1500;
	n->output = loop_output;
	n->flags = NETIF_FLAG_LINK_UP;
	return ERR_OK;
}

/* Feeds queued packets back in until none are left. */
static void
deliver(void)
{
	while (q_head != q_tail) {
		struct pbuf *p = queue[q_head++ % QLEN];

		if (loop_netif.input(p, &loop_netif) != ERR_OK)
			pbuf_free(p);
	}
}

/* The established pcb lwiperf accepted on its port, or NULL. */
static struct tcp_pcb *
lwiperf_conn(void)
{
	for (struct tcp_pcb *pcb = tcp_active_pcbs; pcb != NULL; pcb = pcb->next)
		if (pcb->local_port == IPERF_PORT && pcb->state == ESTABLISHED &&
		    pcb->callback_arg != NULL)
			return pcb;
	return NULL;
}

/* Opens a client connection to lwiperf; returns lwiperf's side of it. */
static struct tcp_pcb *
connect_iperf(struct tcp_pcb **client)
{
	ip_addr_t dst;

	*client = tcp_new();
	if (*client == NULL)
		return NULL;
	IP_ADDR4(&dst, 10, 0, 0, 1);
	if (tcp_connect(*client, &dst, IPERF_PORT, NULL) != ERR_OK)
		return NULL;
	deliver();
	return lwiperf_conn();
}

static int
fail(const char *msg)
{
	fprintf(stderr, "lwiperf-check: FAIL: %s\n", msg);
	return 1;
}

int
main(void)
{
	ip4_addr_t ip, mask, gw;
	struct tcp_pcb *client, *server, *pcbs[NEW_PCBS];

	lwip_init();
	IP4_ADDR(&ip, 10, 0, 0, 1);
	IP4_ADDR(&mask, 255, 255, 255, 0);
	IP4_ADDR(&gw, 0, 0, 0, 0);
	if (netif_add(&loop_netif, &ip, &mask, &gw, NULL, loop_init, ip4_input) == NULL)
		return fail("netif_add");
	netif_set_default(&loop_netif);
	netif_set_up(&loop_netif);
	if (lwiperf_start_tcp_server(IP4_ADDR_ANY, IPERF_PORT, NULL, NULL) == NULL)
		return fail("lwiperf_start_tcp_server");

	server = connect_iperf(&client);
	if (server == NULL)
		return fail("lwiperf did not accept the first connection");
	/* lwIP drops lwiperf's connection: pcb freed, then lwiperf_tcp_err. */
	tcp_abort(server);
	deliver(); /* the RST resets the client, whose pcb lwIP frees */

	/* The client's pcb went back too: a double free shows within 3. */
	for (int i = 0; i < NEW_PCBS; i++) {
		pcbs[i] = tcp_new();
		if (pcbs[i] == NULL)
			return fail("tcp_new failed");
		for (int j = 0; j < i; j++)
			if (pcbs[j] == pcbs[i])
				return fail("tcp_new returned the same pcb twice: pcb pool corrupted (double free)");
	}
	for (int i = 0; i < NEW_PCBS; i++)
		tcp_abort(pcbs[i]);

	server = connect_iperf(&client);
	if (server == NULL)
		return fail("lwiperf did not accept a connection after the abort");
	if (server == client)
		return fail("client and server share one pcb");
	printf("lwiperf-check: ok (abort freed the pcb once; lwiperf serves again)\n");
	return 0;
}
