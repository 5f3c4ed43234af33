/* SPDX-License-Identifier: BSD-3-Clause
 *
 * tcp_tail_check.c - lwIP's tcp_output appends to the unacked tail that
 * secondary/tcp_tail.c keeps, and that tail is always the list's last
 * segment, through losses, fast retransmits and retransmission timeouts.
 *
 * One lwIP talks to itself (lwip_loop.c): a client sends BYTES of a known
 * pattern to a server that reads everything. The test delivers the
 * packets itself and drops one data segment in DROP_EVERY (first sends
 * only), so the sender sees duplicate ACKs and fast-retransmits
 * (tcp_rexmit puts the first unacked segment back; tcp_output inserts it
 * before the tail); and once it drops a whole flight and runs lwIP's slow
 * timer until the retransmission timeout moves every unacked segment
 * back (tcp_rexmit_rto_prepare). Built with AddressSanitizer (make asan),
 * tcp_tail.c checks each tail it gives against lwIP's walk and aborts on
 * a difference. The check also fails if the bytes arrive out of order or
 * short, if the sender was never seen in fast recovery (TF_INFR) or never
 * timed out, or if no tail was checked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/init.h"
#include "lwip/ip4.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/ip4.h"
#include "lwip/prot/tcp.h"
#include "lwip/tcp.h"

#include "lwip_loop.h"
#include "tcp_tail.h"

#define PORT 7
#define BYTES (4u << 20)
#define DROP_EVERY 53u

static u32_t received, bad;
static struct tcp_pcb *server;

static u8_t
pattern(u32_t off)
{
	return (u8_t)(off * 7u + (off >> 11));
}

static err_t
on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	(void)arg;
	(void)err;
	if (p == NULL)
		return ERR_OK;
	for (struct pbuf *q = p; q != NULL; q = q->next)
		for (u16_t i = 0; i < q->len; i++)
			bad += ((const u8_t *)q->payload)[i] != pattern(received++);
	tcp_recved(pcb, p->tot_len);
	pbuf_free(p);
	return ERR_OK;
}

static err_t
on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg;
	(void)err;
	server = pcb;
	tcp_recv(pcb, on_recv);
	return ERR_OK;
}

/* Sequence number and payload length of a packet lwIP sent, if it is a
 * data segment from the client (source port cport). */
static int
data_seg(struct pbuf *p, u16_t cport, u32_t *seq, u16_t *len)
{
	const struct ip_hdr *iph = p->payload;
	u16_t ihl = (u16_t)(IPH_HL(iph) * 4);
	const struct tcp_hdr *th = (const struct tcp_hdr *)((const u8_t *)iph + ihl);
	u16_t hl = (u16_t)(TCPH_HDRLEN(th) * 4);

	*len = (u16_t)(lwip_ntohs(IPH_LEN(iph)) - ihl - hl);
	*seq = lwip_ntohl(th->seqno);
	return lwip_ntohs(th->src) == cport && *len != 0;
}

static int
fail(const char *msg)
{
	fprintf(stderr, "tcp-tail-check: FAIL: %s\n", msg);
	return 1;
}

int
main(void)
{
	struct tcp_pcb *lpcb, *cl;
	ip_addr_t dst;
	u32_t sent = 0, high = 0, nseg = 0, fast = 0, after = 0, rto = 0, infr = 0;
	int flight_dropped = 0;
	static u8_t chunk[16384];

	if (lwip_loop_up() != 0)
		return fail("netif_add");
	lpcb = tcp_new();
	if (lpcb == NULL || tcp_bind(lpcb, IP4_ADDR_ANY, PORT) != ERR_OK ||
	    (lpcb = tcp_listen_with_backlog(lpcb, 4)) == NULL)
		return fail("listen");
	tcp_accept(lpcb, on_accept);
	IP_ADDR4(&dst, 10, 0, 0, 1);
	cl = tcp_new();
	if (cl == NULL || tcp_connect(cl, &dst, PORT, NULL) != ERR_OK)
		return fail("connect");
	lwip_loop_deliver();
	if (cl->state != ESTABLISHED || server == NULL)
		return fail("the connection did not open");
	tcp_nagle_disable(cl);

	for (unsigned int rounds = 0; received < BYTES && rounds < 2000000; rounds++) {
		struct pbuf *p;

		while (sent < BYTES) {
			u16_t n = (u16_t)LWIP_MIN(LWIP_MIN(tcp_sndbuf(cl), sizeof(chunk)), BYTES - sent);

			if (n == 0 || tcp_sndqueuelen(cl) >= TCP_SND_QUEUELEN - 8)
				break;
			for (u16_t i = 0; i < n; i++)
				chunk[i] = pattern(sent + i);
			if (tcp_write(cl, chunk, n, TCP_WRITE_FLAG_COPY) != ERR_OK)
				break;
			sent += n;
		}
		tcp_output(cl);
		if (!flight_dropped && sent > BYTES / 2 && cl->unacked != NULL &&
		    cl->unacked->next != NULL) {
			/* a whole flight lost: only the timeout repairs it */
			while ((p = lwip_loop_take()) != NULL)
				pbuf_free(p);
			for (int t = 0; t < 200 && cl->unacked != NULL && cl->nrtx == 0; t++)
				tcp_tmr();
			rto += cl->nrtx != 0;
			flight_dropped = 1;
			continue;
		}
		unsigned int moved = 0;

		while ((p = lwip_loop_take()) != NULL) {
			u32_t seq;
			u16_t len;

			moved++;
			if (data_seg(p, cl->local_port, &seq, &len)) {
				if (nseg != 0 && TCP_SEQ_LT(seq, high)) {
					*(flight_dropped ? &after : &fast) += 1;
				} else if (++nseg % DROP_EVERY == 0) {
					high = seq + len;
					pbuf_free(p);
					continue;
				} else {
					high = seq + len;
				}
			}
			if (lwip_loop_netif.input(p, &lwip_loop_netif) != ERR_OK)
				pbuf_free(p);
			infr += (cl->flags & TF_INFR) != 0; /* in fast recovery */
		}
		if (moved == 0)
			tcp_tmr(); /* time passes: delayed ACKs, a lost last segment */
	}
	printf("tcp-tail-check: %u bytes, %u data segments; resent %u before the lost flight (%u packets in fast recovery), %u after its timeout (%u); %lu tails checked\n",
	       received, nseg, fast, infr, after, rto, mps_tcp_tail_checked());
	if (received != BYTES || bad != 0)
		return fail("the bytes did not all arrive in order");
	if (fast == 0 || infr == 0 || rto == 0 || after == 0)
		return fail("nothing was retransmitted (fast retransmit and timeout)");
	if (mps_tcp_tail_checked() == 0)
		return fail("no tail was checked against lwIP's walk (build with make asan)");
	printf("tcp-tail-check: ok\n");
	return 0;
}
