/* SPDX-License-Identifier: BSD-3-Clause
 *
 * echo.c - RFC 862 echo. Received bytes are written back in order; the
 * receive window is only reopened (tcp_recved) for bytes already queued for
 * sending, so a peer that reads slowly is slowed down instead of filling our
 * memory. What does not fit now is retried from the sent and poll callbacks.
 */
#include "apps.h"

void
mps_echo_flush(struct mps_conn *c)
{
	struct tcp_pcb *pcb = c->pcb;
	int wrote = 0;

	while (c->rx.n > 0) {
		struct pbuf *q = c->rx.chain[0];
		tcpwnd_size_t room = tcp_sndbuf(pcb);
		u16_t len = q->len;

		if (room < len)
			len = (u16_t)room;
		if (len == 0 || tcp_sndqueuelen(pcb) >= TCP_SND_QUEUELEN - 1)
			break;
		if (tcp_write(pcb, q->payload, len,
			      TCP_WRITE_FLAG_COPY | TCP_WRITE_FLAG_MORE) != ERR_OK)
			break; /* ERR_MEM: retried from sent/poll */
		mps_pbq_consume(&c->rx, len);
		tcp_recved(pcb, len);
		wrote = 1;
	}
	if (wrote)
		tcp_output(pcb);
	if (c->rx.n == 0 && (c->peer_closed || c->close_after))
		mps_conn_close(c);
}

err_t
mps_echo_recv(struct mps_conn *c)
{
	mps_echo_flush(c);
	return ERR_OK;
}
