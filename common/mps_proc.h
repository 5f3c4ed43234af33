/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mps_proc.h - process helpers every program uses: is a peer alive (worker
 * and primary liveness, slot claiming), sleeping, argv handling.
 */
#ifndef MPS_PROC_H
#define MPS_PROC_H

#include <stdint.h>

/* 1 if pid runs. A zombie (dead, not yet reaped: common when the parent
 * is a shell that went on, or an init that does not reap) counts as dead. */
int mps_pid_alive(int32_t pid);

/* 1 if --help or -h is anywhere in argv: programs answer it before EAL,
 * which would print its own usage and exit. */
int mps_wants_help(int argc, char **argv);

/* A secondary's EAL argv: argv with --proc-type=secondary added unless one
 * is given, and "--lcores default_lcores" unless -l/-c/--lcores is (skipped
 * when default_lcores is NULL). calloc'ed array; NULL on ENOMEM. */
char **mps_secondary_eal_argv(int argc, char **argv, const char *default_lcores,
			      int *out_argc);

/* Sleeps us microseconds against an absolute CLOCK_MONOTONIC deadline, so
 * signals cannot stretch it (see mps_proc.c). */
void mps_sleep_us(unsigned int us);

#endif /* MPS_PROC_H */
