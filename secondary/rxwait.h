/* SPDX-License-Identifier: BSD-3-Clause
 *
 * rxwait.h - an idle worker sleeps on its net_tap queues' files instead of
 * reading them empty.
 */
#ifndef MPS_RXWAIT_H
#define MPS_RXWAIT_H

#include <stdint.h>

#include "worker.h"

/* Asks the primary for the file of our queue on every port (in backoff
 * idle mode only). The wait is on when every port has one; otherwise the
 * worker polls and sleeps as before. */
void mps_rxwait_init(struct mps_worker *w);

/* Closes the files. */
void mps_rxwait_fini(struct mps_worker *w);

/* An iteration did work: every queue is read again. */
static inline void
mps_rxwait_busy(struct mps_worker *w)
{
	w->rx_quiet = 0;
}

/* 1 if port index i is to be skipped: the last wait found its queue empty
 * and the worker has had nothing to do since. */
static inline int
mps_rxwait_skip(const struct mps_worker *w, uint16_t i)
{
	return (w->rx_quiet >> i) & 1u;
}

/* Sleeps at most us microseconds or until a queue is readable; the others
 * are quiet from then on. 1 if it waited on the queues, 0 if the worker has no
 * wait (the caller sleeps). */
int mps_rxwait_sleep(struct mps_worker *w, unsigned int us);

#endif /* MPS_RXWAIT_H */
