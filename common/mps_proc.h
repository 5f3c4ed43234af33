/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mps_proc.h - is a peer process alive? Used by the primary (worker
 * liveness), the workers (primary liveness) and slot claiming.
 */
#ifndef MPS_PROC_H
#define MPS_PROC_H

#include <stdint.h>

/* 1 if pid runs. A zombie (dead, not yet reaped: common when the parent
 * is a shell that went on, or an init that does not reap) counts as dead. */
int mps_pid_alive(int32_t pid);

/* Sleeps us microseconds against an absolute CLOCK_MONOTONIC deadline, so
 * signals cannot stretch it (see mps_proc.c). */
void mps_sleep_us(unsigned int us);

#endif /* MPS_PROC_H */
