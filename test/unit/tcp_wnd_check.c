/* SPDX-License-Identifier: BSD-3-Clause
 *
 * tcp_wnd_check.c - lwIP takes the peer's send window as RFC 9293
 * (3.10.7.4) says: a zero window in a segment whose SEQ and ACK are those
 * of the peer's previous segment stops the stack sending new data.
 *
 * lwIP 2.1.3 took a window at unchanged SND.WL1/SND.WL2 only when it grew,
 * so it went on sending into the zero window
 * (secondary/lwip/patches/tcp-in-rfc9293-window-update.patch). One lwIP
 * instance (the worker's lwipopts.h and lwIP objects, no DPDK) listens;
 * the test plays the peer with hand-made segments fed to ip4_input, and
 * reads what lwIP sends from a netif that queues every packet. Cases:
 * - the peer's data segment, same SEQ/ACK as its handshake ACK, window 0;
 * - the same as a pure ACK;
 * - a window 0 in a segment whose ACK is for data never sent: RFC 9293
 *   drops it, so the window stays open.
 * After each, the app writes and calls tcp_output: payload bytes on the
 * wire are counted. Exits 0 on success, 1 with a message per failed case.
 * Built against lwIP's own tcp_in.c (make build/tcp-wnd-check-unpatched)
 * it must fail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/init.h"
#include "lwip/ip4.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/ip4.h"
#include "lwip/prot/tcp.h"
#include "lwip/tcp.h"

#include "lwip_loop.h"

#define SERVER_PORT 80
#define PEER_WND 8192     /* what the peer advertises while it is open */
#define APP_BYTES 4000    /* what the app writes after the window closed */
#define PEER_DATA 10      /* the peer's data segment */

static struct tcp_pcb *accepted;
static ip4_addr_t stack_ip, peer_ip;

/* One segment lwIP sent, as the peer sees it. */
struct seen {
	u32_t seq, ack;
	u8_t flags;
	u16_t payload;
};

/* Takes the oldest queued packet; 0 if there is none. */
static int
next_sent(struct seen *s)
{
	struct pbuf *p;
	const struct ip_hdr *iph;
	const struct tcp_hdr *th;
	u16_t ihl, len;

	p = lwip_loop_take();
	if (p == NULL)
		return 0;
	iph = (const struct ip_hdr *)p->payload;
	ihl = IPH_HL_BYTES(iph);
	len = lwip_ntohs(IPH_LEN(iph));
	th = (const struct tcp_hdr *)((const u8_t *)p->payload + ihl);
	s->seq = lwip_ntohl(th->seqno);
	s->ack = lwip_ntohl(th->ackno);
	s->flags = TCPH_FLAGS(th);
	s->payload = (u16_t)(len - ihl - TCPH_HDRLEN_BYTES(th));
	pbuf_free(p);
	return 1;
}

/* Payload bytes in every queued packet, which are dropped. */
static unsigned int
sent_payload(void)
{
	struct seen s;
	unsigned int n = 0;

	while (next_sent(&s))
		n += s.payload;
	return n;
}

/* Hands lwIP a segment from the peer (checksums are not checked on this
 * netif). */
static void
peer_send(u16_t peer_port, u32_t seq, u32_t ack, u8_t flags, u16_t wnd, u16_t payload)
{
	lwip_loop_segment(&peer_ip, peer_port, &stack_ip, SERVER_PORT, seq, ack, flags, wnd,
			  payload);
}

static err_t
on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	(void)arg;
	(void)err;
	if (p != NULL) {
		tcp_recved(pcb, p->tot_len);
		pbuf_free(p);
	}
	return ERR_OK;
}

static err_t
on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg;
	(void)err;
	accepted = pcb;
	tcp_recv(pcb, on_recv);
	return ERR_OK;
}

/* The peer connects from peer_port (window PEER_WND, no options); returns
 * the accepted pcb and the peer's next SEQ and ACK. */
static struct tcp_pcb *
handshake(u16_t peer_port, u32_t *seq, u32_t *ack)
{
	struct seen s;
	u32_t iss = 1000000u * peer_port;

	accepted = NULL;
	peer_send(peer_port, iss, 0, TCP_SYN, PEER_WND, 0);
	if (!next_sent(&s) || s.flags != (TCP_SYN | TCP_ACK) || s.ack != iss + 1)
		return NULL;
	*seq = iss + 1;
	*ack = s.seq + 1;
	peer_send(peer_port, *seq, *ack, TCP_ACK, PEER_WND, 0);
	(void)sent_payload();
	return accepted;
}

/* The app writes APP_BYTES and asks lwIP to send; returns the payload
 * bytes lwIP put on the wire. */
static unsigned int
app_write(struct tcp_pcb *pcb)
{
	static const char data[APP_BYTES];

	if (tcp_write(pcb, data, sizeof(data), TCP_WRITE_FLAG_COPY) != ERR_OK ||
	    tcp_output(pcb) != ERR_OK) {
		fprintf(stderr, "tcp-wnd-check: tcp_write/tcp_output failed\n");
		exit(1);
	}
	return sent_payload();
}

enum wnd_case { ZERO_IN_DATA, ZERO_IN_ACK, ZERO_BAD_ACK };

static const char *const case_name[] = {
	[ZERO_IN_DATA] = "window 0 in a data segment with the previous SEQ/ACK",
	[ZERO_IN_ACK] = "window 0 in a pure ACK with the previous SEQ/ACK",
	[ZERO_BAD_ACK] = "window 0 in a segment acking data never sent",
};

/* One connection through one case; 0 if lwIP behaved, 1 otherwise. */
static int
run_case(enum wnd_case c, u16_t peer_port)
{
	struct tcp_pcb *pcb;
	u32_t seq, ack;
	unsigned int n;
	int bad = 0;

	pcb = handshake(peer_port, &seq, &ack);
	if (pcb == NULL) {
		fprintf(stderr, "tcp-wnd-check: FAIL: %s: handshake\n", case_name[c]);
		return 1;
	}
	switch (c) {
	case ZERO_IN_DATA:
		peer_send(peer_port, seq, ack, TCP_ACK | TCP_PSH, 0, PEER_DATA);
		seq += PEER_DATA;
		break;
	case ZERO_IN_ACK:
		peer_send(peer_port, seq, ack, TCP_ACK, 0, 0);
		break;
	case ZERO_BAD_ACK:
		peer_send(peer_port, seq, ack + 100000u, TCP_ACK, 0, 0);
		break;
	}
	(void)sent_payload(); /* lwIP's ACKs */
	n = app_write(pcb);
	if (c == ZERO_BAD_ACK) {
		if (n == 0) {
			fprintf(stderr, "tcp-wnd-check: FAIL: %s: the window was taken "
				"from an unacceptable ACK, nothing sent\n", case_name[c]);
			bad = 1;
		}
	} else if (n != 0) {
		fprintf(stderr, "tcp-wnd-check: FAIL: %s: %u bytes sent into the "
			"zero window\n", case_name[c], n);
		bad = 1;
	} else {
		/* the peer opens its window again: the data must follow */
		peer_send(peer_port, seq, ack, TCP_ACK, PEER_WND, 0);
		tcp_output(pcb);
		n = sent_payload();
		if (n == 0) {
			fprintf(stderr, "tcp-wnd-check: FAIL: %s: nothing sent once the "
				"window reopened\n", case_name[c]);
			bad = 1;
		}
	}
	if (!bad)
		printf("tcp-wnd-check: ok: %s\n", case_name[c]);
	tcp_abort(pcb);
	(void)sent_payload();
	return bad;
}

int
main(void)
{
	struct tcp_pcb *lpcb;
	int failed = 0;

	IP4_ADDR(&stack_ip, 10, 0, 0, 1); /* lwip_loop_netif's */
	IP4_ADDR(&peer_ip, 10, 0, 0, 2);
	if (lwip_loop_up() != 0) {
		fprintf(stderr, "tcp-wnd-check: netif_add failed\n");
		return 1;
	}
	NETIF_SET_CHECKSUM_CTRL(&lwip_loop_netif, NETIF_CHECKSUM_DISABLE_ALL);
	lpcb = tcp_new();
	if (lpcb == NULL || tcp_bind(lpcb, IP4_ADDR_ANY, SERVER_PORT) != ERR_OK ||
	    (lpcb = tcp_listen(lpcb)) == NULL) {
		fprintf(stderr, "tcp-wnd-check: cannot listen\n");
		return 1;
	}
	tcp_accept(lpcb, on_accept);

	failed += run_case(ZERO_IN_DATA, 40001);
	failed += run_case(ZERO_IN_ACK, 40002);
	failed += run_case(ZERO_BAD_ACK, 40003);
	if (failed != 0) {
		fprintf(stderr, "tcp-wnd-check: %d of 3 cases failed\n", failed);
		return 1;
	}
	printf("tcp-wnd-check: ok (the peer's zero window is honoured, RFC 9293 3.10.7.4)\n");
	return 0;
}
