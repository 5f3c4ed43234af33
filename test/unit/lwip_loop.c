/* SPDX-License-Identifier: BSD-3-Clause
 *
 * lwip_loop.c - one lwIP instance talking to itself (see lwip_loop.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lwip/init.h"
#include "lwip/ip4.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/ip4.h"
#include "lwip/prot/tcp.h"
#include "lwip/tcp.h"

#include "lwip_loop.h"
#include "pcb_cache.h"

#define QLEN 4096

struct netif lwip_loop_netif;
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

/* The worker's out-of-order budget hook (secondary/tcp_hooks.c): here,
 * lwIP's per-pcb limit. */
unsigned short
mps_ooseq_pbufs_limit(void)
{
	return TCP_OOSEQ_MAX_PBUFS;
}

/* The worker's TIME_WAIT reuse hook: here, lwIP's own behaviour. */
signed char
mps_tcp_inpacket_hook(struct tcp_pcb *pcb, struct tcp_hdr *hdr, struct pbuf *p)
{
	(void)pcb;
	(void)hdr;
	(void)p;
	return ERR_OK;
}

/* The worker's ISN hook: any number does. */
unsigned int
mps_tcp_isn(const struct ip4_addr *local_ip, unsigned short local_port,
	    const struct ip4_addr *remote_ip, unsigned short remote_port)
{
	(void)local_ip;
	(void)remote_ip;
	return ((unsigned int)local_port << 16) ^ remote_port ^ 0x6d707374u;
}

/* The worker's TX segment hook (secondary/txseg.c): lwIP's own heap. */
struct pbuf *
mps_tcp_seg_alloc(int layer, unsigned short length, unsigned short alloc)
{
	(void)length;
	return pbuf_alloc((pbuf_layer)layer, alloc, PBUF_RAM);
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

int
lwip_loop_up(void)
{
	ip4_addr_t ip, mask, gw;

	lwip_init();
	mps_pcb_cache_init(0x6d7073746163686bull); /* the worker's, any seed */
	IP4_ADDR(&ip, 10, 0, 0, 1);
	IP4_ADDR(&mask, 255, 255, 255, 0);
	IP4_ADDR(&gw, 0, 0, 0, 0);
	if (netif_add(&lwip_loop_netif, &ip, &mask, &gw, NULL, loop_init, ip4_input) == NULL)
		return -1;
	netif_set_default(&lwip_loop_netif);
	netif_set_up(&lwip_loop_netif);
	return 0;
}

void
lwip_loop_deliver(void)
{
	while (q_head != q_tail) {
		struct pbuf *p = queue[q_head++ % QLEN];

		if (lwip_loop_netif.input(p, &lwip_loop_netif) != ERR_OK)
			pbuf_free(p);
	}
}

struct pbuf *
lwip_loop_take(void)
{
	return q_head == q_tail ? NULL : queue[q_head++ % QLEN];
}

void
lwip_loop_segment(const ip4_addr_t *src, u16_t sport, const ip4_addr_t *dst, u16_t dport,
		  u32_t seq, u32_t ack, u8_t flags, u16_t wnd, u16_t payload)
{
	u16_t len = (u16_t)(IP_HLEN + TCP_HLEN + payload);
	struct pbuf *p = pbuf_alloc(PBUF_RAW, len, PBUF_RAM);
	struct ip_hdr *iph;
	struct tcp_hdr *th;

	if (p == NULL) {
		fprintf(stderr, "lwip_loop: no pbuf for a segment\n");
		exit(1);
	}
	memset(p->payload, 0, len);
	iph = (struct ip_hdr *)p->payload;
	IPH_VHL_SET(iph, 4, IP_HLEN / 4);
	IPH_LEN_SET(iph, lwip_htons(len));
	IPH_TTL_SET(iph, 64);
	IPH_PROTO_SET(iph, IP_PROTO_TCP);
	ip4_addr_copy(iph->src, *src);
	ip4_addr_copy(iph->dest, *dst);
	th = (struct tcp_hdr *)((u8_t *)p->payload + IP_HLEN);
	th->src = lwip_htons(sport);
	th->dest = lwip_htons(dport);
	th->seqno = lwip_htonl(seq);
	th->ackno = lwip_htonl(ack);
	TCPH_HDRLEN_FLAGS_SET(th, TCP_HLEN / 4, flags);
	th->wnd = lwip_htons(wnd);
	memset((u8_t *)th + TCP_HLEN, 'x', payload);
	if (lwip_loop_netif.input(p, &lwip_loop_netif) != ERR_OK)
		pbuf_free(p);
}
