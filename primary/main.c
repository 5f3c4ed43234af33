/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mps-primary: EAL, the pool, the ports and the shared objects, then the
 * monitor.
 *
 * Initialises EAL, the mbuf pool and the ports, creates the
 * objects the workers attach to, then monitors them until SIGINT/SIGTERM.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <mntent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "mps_log.h"
#include "mps_proc.h"
#include "primary.h"

#define STOP_TIMEOUT_MS 4000u

static volatile int quit;

/* Only sets the flag; main does the work. */
static void
on_signal(int sig __rte_unused)
{
	quit = 1;
}

static void
usage(const char *prg)
{
	printf("usage: %s [EAL options] -- [options]\n"
	       "Starts the mpstack primary: ports, mbuf pool, shared tables.\n"
	       "Start workers with mps-secondary --file-prefix <same> -- --worker ID.\n\n"
	       "options:\n%s\n"
	       "EAL options commonly used: --file-prefix NAME, --vdev net_tap0,iface=mps0,\n"
	       "-a PCI_BDF (a real NIC; without it pass --no-pci), --lcores ID@CPU.\n",
	       prg, mps_config_usage());
}

/* Free 2 MB + 1 GB hugepages, or -1 if unreadable. */
static long
free_hugepages(void)
{
	static const char *const paths[] = {
		"/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages",
		"/sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages",
	};
	long total = -1;

	for (size_t i = 0; i < RTE_DIM(paths); i++) {
		FILE *f = fopen(paths[i], "r");
		long n;

		if (f == NULL)
			continue;
		if (fscanf(f, "%ld", &n) == 1)
			total = (total < 0 ? 0 : total) + n;
		fclose(f);
	}
	return total;
}

/* The --file-prefix EAL actually uses: the last component of the runtime
 * dir it reports (EAL makes it <run dir>/dpdk/<prefix>). Not our own
 * reading of argv: EAL's getopt_long also takes the option abbreviated
 * (--file-pre=X), and a prefix guessed wrong ("rte", the default) would
 * have the clean-up delete another DPDK application's hugepage files.
 * NULL if the runtime dir names none. */
static const char *
eal_file_prefix(const char *runtime_dir)
{
	const char *slash = strrchr(runtime_dir, '/');
	const char *prefix;

	/* ".../dpdk/<prefix>", the prefix one component (a prefix with a
	 * '/' in it names no file we could match safely) */
	if (slash == NULL || slash - runtime_dir < 5 ||
	    strncmp(slash - 5, "/dpdk", 5) != 0)
		return NULL;
	prefix = slash + 1;
	return prefix[0] != '\0' && strcmp(prefix, ".") != 0 &&
	       strcmp(prefix, "..") != 0 ? prefix : NULL;
}

/* 1 if name is one of prefix's hugepage files as EAL names them:
 * <prefix>map_<number>, nothing before or after (so prefix "a" never
 * matches prefix "amap_"'s files). */
static int
is_hugepage_file(const char *name, const char *prefix)
{
	size_t plen = strlen(prefix);
	const char *n;

	if (strncmp(name, prefix, plen) != 0 || strncmp(name + plen, "map_", 4) != 0)
		return 0;
	n = name + plen + 4;
	if (*n == '\0')
		return 0;
	for (; *n != '\0'; n++)
		if (*n < '0' || *n > '9')
			return 0;
	return 1;
}

/* After rte_eal_cleanup: EAL leaves its runtime dir and, in every hugetlbfs
 * mount, the files backing our memory (which keep the pages allocated).
 * The primary owns both for its prefix (the one EAL used, NULL when
 * unknown: then only the runtime dir); remove them so nothing is left. */
static void
remove_runtime_files(const char *prefix, const char *runtime_dir)
{
	struct mntent *me;
	FILE *mounts;
	DIR *d;
	struct dirent *de;
	char path[PATH_MAX];

	d = opendir(runtime_dir);
	if (d != NULL) {
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.' &&
			    snprintf(path, sizeof(path), "%s/%s", runtime_dir,
				     de->d_name) < (int)sizeof(path))
				unlink(path);
		closedir(d);
		rmdir(runtime_dir);
	}
	if (prefix == NULL)
		return;
	mounts = setmntent("/proc/mounts", "r");
	if (mounts == NULL)
		return;
	while ((me = getmntent(mounts)) != NULL) {
		if (strcmp(me->mnt_type, "hugetlbfs") != 0)
			continue;
		d = opendir(me->mnt_dir);
		if (d == NULL)
			continue;
		while ((de = readdir(d)) != NULL)
			if (is_hugepage_file(de->d_name, prefix) &&
			    snprintf(path, sizeof(path), "%s/%s", me->mnt_dir,
				     de->d_name) < (int)sizeof(path))
				unlink(path);
		closedir(d);
	}
	endmntent(mounts);
}

static int
has_arg(int argc, char **argv, const char *prefix)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strncmp(argv[i], prefix, strlen(prefix)) == 0)
			return 1;
	return 0;
}

/* The init stages in order, each undone by the cleanup label named after
 * it; kept in one function (over 80 lines) so the unwinding reads in one
 * place, as in DPDK's samples. */
int
main(int argc, char **argv)
{
	struct mps_primary pp;
	struct mps_config cfg;
	char err[256], runtime_dir[PATH_MAX];
	const char *prefix;
	int ret, n;

	if (mps_wants_help(argc, argv)) {
		usage(argv[0]);
		return 0;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "mps-primary: must run as root (hugepages, tap devices)\n");
		return 1;
	}
	if (!has_arg(argc, argv, "--no-huge") && free_hugepages() <= 0) {
		fprintf(stderr, "mps-primary: no free hugepages: reserve some with scripts/hugepages.sh (or sysfs nr_hugepages)\n");
		return 1;
	}

	n = rte_eal_init(argc, argv);
	if (n < 0)
		rte_exit(EXIT_FAILURE, "cannot init EAL: %s (another primary with this --file-prefix?)\n",
			 rte_strerror(rte_errno));
	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		rte_exit(EXIT_FAILURE, "must run as the primary process\n");
	snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());
	prefix = eal_file_prefix(runtime_dir);
	if (prefix == NULL)
		MPS_LOG(WARNING, "no --file-prefix in EAL's runtime dir %s: hugepage files will not be removed at exit",
			runtime_dir);
	argc -= n;
	argv += n;
	argv[0] = (char *)"mps-primary";

	memset(&pp, 0, sizeof(pp));
	ret = mps_config_parse_args(&cfg, argc, argv, err, sizeof(err));
	if (ret != 0) {
		fprintf(stderr, "mps-primary: %s (see --help)\n", err);
		ret = -EINVAL;
		goto out_eal;
	}

	ret = mps_ports_probe(&pp, &cfg);
	if (ret != 0)
		goto out_eal;
	ret = mps_shared_create(&pp, &cfg);
	if (ret != 0)
		goto out_shared;
	ret = mps_ports_init(&pp);
	if (ret != 0)
		goto out_ports;
	if (mps_adopt_init(&pp) != 0)
		MPS_LOG(WARNING, "no mbuf dynflag: adopters serve adopted frames alone");
	ret = mps_capture_create(&pp);
	if (ret != 0)
		goto out_capture;
	ret = mps_exc_create(&pp);
	if (ret != 0)
		goto out_exc;
	ret = mps_metrics_init(&pp);
	if (ret != 0)
		MPS_LOG(WARNING, "rte_metrics not available (%d): dpdk-proc-info --metrics shows nothing", ret);
	ret = mps_telemetry_register(&pp);
	if (ret != 0)
		MPS_LOG(WARNING, "telemetry commands not registered (%d)", ret);

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("mps-primary: ready: %u worker(s), %u port(s), pid %d\n",
	       cfg.n_workers, pp.n_ports, getpid());
	fflush(stdout);

	mps_monitor_run(&pp, &quit);
	MPS_LOG(INFO, "stopping: telling workers to exit");
	mps_monitor_stop_workers(&pp, STOP_TIMEOUT_MS);
	ret = 0;

out_exc:
	mps_telemetry_unregister(); /* before anything it reads goes away */
	mps_exc_destroy(&pp);
out_capture:
	mps_telemetry_unregister(); /* before anything it reads goes away */
	mps_capture_destroy(&pp);
out_ports:
	mps_telemetry_unregister();
	mps_metrics_deinit();
	mps_ports_close(&pp);
out_shared:
	mps_shared_destroy(&pp);
out_eal:
	rte_eal_cleanup();
	remove_runtime_files(prefix, runtime_dir);
	return ret == 0 ? 0 : 1;
}
