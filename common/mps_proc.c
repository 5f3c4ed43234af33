/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mps_proc.c - process liveness from kill(0) and /proc/PID/stat.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
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

int
mps_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

char **
mps_secondary_eal_argv(int argc, char **argv, const char *default_lcores,
		       int *out_argc)
{
	char **v = calloc((size_t)argc + 4, sizeof(*v));
	int has_type = 0, has_lcores = 0;

	if (v == NULL)
		return NULL;
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		has_type |= strncmp(argv[i], "--proc-type", 11) == 0;
		has_lcores |= strncmp(argv[i], "--lcores", 8) == 0 ||
			      strcmp(argv[i], "-l") == 0 || strcmp(argv[i], "-c") == 0;
	}
	v[0] = argv[0];
	*out_argc = 1;
	if (!has_type)
		v[(*out_argc)++] = (char *)"--proc-type=secondary";
	if (!has_lcores && default_lcores != NULL) {
		v[(*out_argc)++] = (char *)"--lcores";
		v[(*out_argc)++] = (char *)default_lcores;
	}
	for (int i = 1; i < argc; i++)
		v[(*out_argc)++] = argv[i];
	return v;
}
