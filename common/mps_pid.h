/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mps_pid.h - is a process alive (issue 8)? A killed worker that nobody has
 * reaped yet is a zombie kill(pid, 0) still finds, and the reaper may take
 * a second or more: as far as serving a queue or holding a slot goes it is
 * dead, so the slot can be adopted and restarted at once.
 */
#ifndef MPS_PID_H
#define MPS_PID_H

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* 1 if /proc says pid has exited (zombie or dead) but is not reaped. */
static inline int
mps_pid_zombie(int32_t pid)
{
	char path[32], buf[128], *p;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the command name may hold anything */
	return p != NULL && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

/* 1 if pid is a running (not exited) process. */
static inline int
mps_pid_alive(int32_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno != ESRCH) &&
	       !mps_pid_zombie(pid);
}

#endif /* MPS_PID_H */
