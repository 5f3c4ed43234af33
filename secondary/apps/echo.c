/* SPDX-License-Identifier: BSD-3-Clause
 *
 * echo.c - RFC 862 echo, and discard, on the worker API. Echo writes back
 * only what fits in the send buffer and consumes (reopening the receive
 * window) only what it wrote, so a peer that reads slowly is slowed down
 * instead of filling our memory.
 */
#include "apps.h"

#define ECHO_CHUNK 16384u

/* Moves received bytes to the send side while there is room. */
static void
echo_pump(mps_conn_t h, void *arg)
{
	uint8_t buf[ECHO_CHUNK];

	(void)arg;
	for (;;) {
		uint32_t n = mps_recv_len(h), room;

		if (n == 0)
			break;
		room = mps_send_room(h);
		if (n > room)
			n = room;
		if (n > sizeof(buf))
			n = sizeof(buf);
		if (n == 0)
			break;
		n = mps_recv_peek(h, buf, n);
		if (mps_send(h, buf, n) != 0)
			return;
		mps_recv_consume(h, n);
	}
}

/* Room again: echo more; once the peer's FIN came and everything it sent
 * went back, close. */
static void
echo_writable(mps_conn_t h, void *arg)
{
	echo_pump(h, arg);
	if (mps_peer_closed(h) == 1 && mps_recv_len(h) == 0)
		mps_close(h);
}

const struct mps_api_ops mps_echo_ops = {
	.on_recv = echo_pump,
	.on_writable = echo_writable,
	.on_peer_closed = echo_writable,
};

/* discard: every byte is consumed at once; close when the peer does. */
static void
discard_recv(mps_conn_t h, void *arg)
{
	(void)arg;
	mps_recv_consume(h, mps_recv_len(h));
}

const struct mps_api_ops mps_discard_ops = {
	.on_recv = discard_recv,
};
