/* SPDX-License-Identifier: BSD-3-Clause
 *
 * rxwait.c - an idle worker sleeps on its net_tap queues' files instead of
 * reading them empty.
 *
 * net_tap's RX burst is a readv(2) per frame and one more that finds the
 * queue empty; a worker backing off would read every queue at every
 * wake-up. The primary hands each worker its queues' files (the secondary
 * has no RX interrupt handle in DPDK 22.11); the worker sleeps in ppoll(2)
 * on them, which wakes it when a frame comes, and does not read a queue
 * the wait found empty until it has work again. Right after work, it
 * still reads its queues while it spins (the next frame of a
 * conversation is often that close); an iteration with work reads every
 * queue, so other work never starves one.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>

#include "attach.h"
#include "mps_log.h"
#include "rxwait.h"

#define RXFD_MP_TIMEOUT_S 1

static int
is_tap(uint16_t port)
{
	struct rte_eth_dev_info info;

	return rte_eth_dev_info_get(port, &info) == 0 &&
	       strcmp(info.driver_name, "net_tap") == 0;
}

/* Only net_tap's queues have a file to wait on (the primary hands out no
 * other); a worker with any other port polls all of them. */
void
mps_rxwait_init(struct mps_worker *w)
{
	uint16_t got = 0;

	w->rx_wait = 0;
	w->rx_quiet = 0;
	for (uint16_t i = 0; i < MPS_MAX_PORTS; i++)
		w->rx_fds[i] = -1;
	if (w->shared->cfg.idle_mode == MPS_IDLE_SPIN)
		return; /* never sleeps (intr: for when its interrupts fail) */
	for (uint16_t i = 0; i < w->n_ports && got == i && is_tap(w->port_ids[i]); i++) {
		struct mps_rxfd_req req = { .port = w->port_ids[i], .queue = w->id };

		w->rx_fds[i] = mps_primary_fd(MPS_RXFD_MP_NAME, &req, sizeof(req),
					      RXFD_MP_TIMEOUT_S);
		if (w->rx_fds[i] < 0)
			MPS_LOG(WARNING, "worker %u: the primary handed out no file for net_tap port %u's queue; idle reads the queues",
				w->id, w->port_ids[i]);
		else
			got++;
	}
	w->rx_wait = got == w->n_ports;
	if (w->rx_wait)
		MPS_LOG(INFO, "worker %u: idle waits on the queues' files", w->id);
}

void
mps_rxwait_fini(struct mps_worker *w)
{
	for (uint16_t i = 0; i < MPS_MAX_PORTS; i++)
		if (w->rx_fds[i] >= 0) {
			close(w->rx_fds[i]);
			w->rx_fds[i] = -1;
		}
	w->rx_wait = 0;
	w->rx_quiet = 0;
}

int
mps_rxwait_sleep(struct mps_worker *w, unsigned int us)
{
	struct pollfd fds[MPS_MAX_PORTS];
	struct timespec ts = { .tv_sec = us / 1000000u,
			       .tv_nsec = (long)(us % 1000000u) * 1000 };
	int n;

	if (!w->rx_wait || w->draining) /* a drainer's queue is its successor's */
		return 0;
	for (uint16_t i = 0; i < w->n_ports; i++)
		fds[i] = (struct pollfd){ .fd = w->rx_fds[i], .events = POLLIN };
	n = ppoll(fds, w->n_ports, &ts, NULL);
	if (n < 0) { /* a signal, or no sleep at all: read them all again */
		w->rx_quiet = 0;
		return errno == EINTR;
	}
	w->rx_quiet = (uint8_t)((1u << w->n_ports) - 1);
	for (uint16_t i = 0; n > 0 && i < w->n_ports; i++) {
		if (fds[i].revents & (POLLERR | POLLHUP | POLLNVAL)) {
			/* It would wake us at once, every time. */
			MPS_LOG(WARNING, "worker %u: port %u's queue file reports 0x%x; idle polls the queues from now on",
				w->id, w->port_ids[i], (unsigned int)fds[i].revents);
			w->rx_wait = 0;
			w->rx_quiet = 0;
			break;
		}
		if (fds[i].revents & POLLIN)
			w->rx_quiet &= ~(1u << i);
	}
	return 1;
}
