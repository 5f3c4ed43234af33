/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mps_proc.c - process liveness from kill(0) and /proc/PID/stat.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mps_proc.h"

/* The state letter after "PID (name) "; the name may hold spaces and ')'. */
static int
pid_is_zombie(int32_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p != NULL && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

int
mps_pid_alive(int32_t pid)
{
	if (pid <= 0)
		return 0;
	if (kill(pid, 0) != 0 && errno == ESRCH)
		return 0;
	return !pid_is_zombie(pid);
}

/* net_tap makes the kernel signal the process that opened the queues (the
 * primary) for every received packet. A relative nanosleep restarted after
 * each signal (rte_delay_us_sleep does that) rounds its remainder up and,
 * under load, never ends: the primary's monitor stopped ticking. An absolute
 * deadline is immune. */
void
mps_sleep_us(unsigned int us)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += us / 1000000u;
	t.tv_nsec += (long)(us % 1000000u) * 1000;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR)
		;
}
