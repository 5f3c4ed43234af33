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

#include "lwip/apps/lwiperf.h"
#include "lwip/init.h"
#include "lwip/ip4.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"

#include "lwip_loop.h"

#define IPERF_PORT 5001
#define NEW_PCBS 4



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
	lwip_loop_deliver();
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
	struct tcp_pcb *client, *server, *pcbs[NEW_PCBS];

	if (lwip_loop_up() != 0)
		return fail("netif_add");
	if (lwiperf_start_tcp_server(IP4_ADDR_ANY, IPERF_PORT, NULL, NULL) == NULL)
		return fail("lwiperf_start_tcp_server");

	server = connect_iperf(&client);
	if (server == NULL)
		return fail("lwiperf did not accept the first connection");
	/* lwIP drops lwiperf's connection: pcb freed, then lwiperf_tcp_err. */
	tcp_abort(server);
	lwip_loop_deliver(); /* the RST resets the client, whose pcb lwIP frees */

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
