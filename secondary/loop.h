/* SPDX-License-Identifier: BSD-3-Clause
 *
 * loop.h - the worker's poll loop.
 */
#ifndef MPS_LOOP_H
#define MPS_LOOP_H

struct mps_worker;

/* Runs until *quit, the primary's stop flag, or the primary's death
 * (-ESRCH). */
int mps_loop_run(struct mps_worker *w, volatile int *quit);

#endif /* MPS_LOOP_H */
