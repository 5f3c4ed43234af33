/* SPDX-License-Identifier: BSD-3-Clause
 *
 * worker.c - this process's one worker, reached through mps_worker().
 *
 * For the code lwIP calls back without a context (pbuf free, hooks, raw
 * API callbacks).
 */
#include "worker.h"

static struct mps_worker the_worker;

/* This process's worker (one per process). */
struct mps_worker *
mps_worker(void)
{
	return &the_worker;
}
