/* SPDX-License-Identifier: BSD-3-Clause
 *
 * main.c - runs every unit test of common/ and prints "N passed, N failed"
 * (N = test functions) as the last line; exit status 1 if any failed.
 *
 * EAL is initialised once, without hugepages or devices, because the
 * neighbour table tests need a real rte_hash.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>

#include "unit.h"

struct unit_test {
	const char *name;
	void (*fn)(void);
};

#define UNIT_ENTRY(name) { #name, test_##name },
static const struct unit_test tests[] = { UNIT_TESTS(UNIT_ENTRY) };
#undef UNIT_ENTRY

int unit_eal_ok;

static const char *cur_test = "(none)";
static unsigned int cur_failures;

int
unit_check(int cond, const char *expr, const char *file, int line)
{
	if (!cond) {
		cur_failures++;
		printf("FAIL %s: %s:%d: CHECK(%s)\n", cur_test, file, line, expr);
	}
	return cond;
}

int
unit_check_eq(long long got, long long want, const char *got_expr,
	      const char *want_expr, const char *file, int line)
{
	if (got != want) {
		cur_failures++;
		printf("FAIL %s: %s:%d: CHECK_EQ(%s, %s): got %lld, want %lld\n",
		       cur_test, file, line, got_expr, want_expr, got, want);
	}
	return got == want;
}

int
unit_argv_build(struct unit_argv *a, const char *const *args)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->buf[0], UNIT_ARG_LEN, "%s", "mps-primary");
	a->argv[0] = a->buf[0];
	a->argc = 1;
	for (; *args != NULL && a->argc < UNIT_MAX_ARGS; args++) {
		snprintf(a->buf[a->argc], UNIT_ARG_LEN, "%s", *args);
		a->argv[a->argc] = a->buf[a->argc];
		a->argc++;
	}
	a->argv[a->argc] = NULL;
	return a->argc;
}

/* No hugepages, no PCI, no shared files: works with or without reserved
 * hugepages, next to a running mps-primary, and under ASan. --in-memory is
 * refused with --no-huge (which implies legacy memory); --no-shconf does the
 * same job here. Our own --file-prefix keeps clear of the default "rte"
 * runtime directory a primary may own. One lcore on CPU 0. */
static int
eal_start(void)
{
	const char *eal_args[] = {
		"unit-tests", "--no-huge", "-m", "256", "--no-pci",
		"--no-shconf", "--file-prefix", "mps-unit", "--no-telemetry",
		"--log-level=lib.eal:error", "--lcores", "0@0",
	};
	char buf[sizeof(eal_args) / sizeof(eal_args[0])][64];
	char *argv[sizeof(eal_args) / sizeof(eal_args[0]) + 1];
	int argc = (int)(sizeof(eal_args) / sizeof(eal_args[0]));

	for (int i = 0; i < argc; i++) {
		snprintf(buf[i], sizeof(buf[i]), "%s", eal_args[i]);
		argv[i] = buf[i];
	}
	argv[argc] = NULL;
	return rte_eal_init(argc, argv);
}

int
main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;
	unsigned int passed = 0, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (eal_start() < 0)
		printf("rte_eal_init failed: rte_hash tests will fail\n");
	else
		unit_eal_ok = 1;

	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		if (only != NULL && strstr(tests[i].name, only) == NULL)
			continue;
		cur_test = tests[i].name;
		cur_failures = 0;
		tests[i].fn();
		if (cur_failures == 0) {
			passed++;
		} else {
			failed++;
			printf("FAILED %s (%u checks)\n", tests[i].name,
			       cur_failures);
		}
	}
	cur_test = "(none)";

	if (unit_eal_ok) {
		char dir[PATH_MAX];

		/* EAL leaves its (empty, with --no-shconf) runtime directory. */
		snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
		rte_eal_cleanup();
		(void)rmdir(dir);
	}
	printf("%u passed, %u failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
