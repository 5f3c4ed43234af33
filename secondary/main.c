/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mps-secondary: one worker, on one RX/TX queue pair of every port.
 *
 * Attaches to the primary's objects, claims a
 * worker slot (= the RX/TX queue pair it polls on every port), runs its own
 * lwIP stack until told to stop, then closes its connections, frees every
 * mbuf it holds and releases the slot.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_random.h>
#include <rte_ring.h>

#include "lwip/init.h"
#include "lwip/timeouts.h"

#include "adopt.h"
#include "api/api.h"
#include "apps/apps.h"
#include "attach.h"
#include "cycles.h"
#include "exception.h"
#include "loop.h"
#include "mirror.h"
#include "mps_log.h"
#include "mps_proc.h"
#include "mps_ring.h"
#include "neigh_learn.h"
#include "netif.h"
#include "pcb_cache.h"
#include "replace.h"
#include "rxwait.h"
#include "tcp_hooks.h"
#include "worker.h"

#define DRAIN_MS 100u

static volatile int quit;

static void
on_signal(int sig __rte_unused)
{
	quit = 1;
}

static void
usage(const char *prg)
{
	printf("usage: %s [EAL options] -- [--worker ID [--replace [--drain-timeout S]]]\n"
	       "Runs one mpstack worker on RX/TX queue ID of every port.\n"
	       "EAL options: the primary's --file-prefix, and a distinct --lcores N@CPU\n"
	       "(N unique per process; the primary uses 0).\n\n"
	       "  --worker ID          claim slot ID (default: the lowest free slot)\n"
	       "  --replace            take over live worker ID without failing a request:\n"
	       "                       it hands its queue over once we are ready, finishes\n"
	       "                       its connections, then exits\n"
	       "  --drain-timeout S    the replaced worker resets what is left after S\n"
	       "                       seconds (default %u, 1..3600)\n"
	       "  --help               this text\n", prg, MPS_DRAIN_TIMEOUT_S);
}

struct args {
	int worker;     /* -1: any free slot */
	int replace;
	uint32_t drain_timeout_s;
};

/* App options after EAL's. 0, or -1 on error (said on stderr). */
static int
parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "worker", required_argument, NULL, 'w' },
		{ "replace", no_argument, NULL, 'r' },
		{ "drain-timeout", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	uint32_t v;
	int opt;

	*a = (struct args){ .worker = -1, .drain_timeout_s = MPS_DRAIN_TIMEOUT_S };
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 'r') {
			a->replace = 1;
		} else if (opt == 'w' && mps_parse_u32(optarg, 0, 65535, &v) == 0) {
			a->worker = (int)v;
		} else if (opt == 'd' && mps_parse_u32(optarg, 1, 3600, &v) == 0) {
			a->drain_timeout_s = v;
		} else {
			fprintf(stderr, "mps-secondary: invalid %s%s (see --help)\n",
				opt == 'w' ? "--worker " : opt == 'd' ? "--drain-timeout " :
				"option ", opt == 'w' || opt == 'd' ? optarg : argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mps-secondary: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (a->replace && a->worker < 0) {
		fprintf(stderr, "mps-secondary: --replace needs --worker ID\n");
		return -1;
	}
	return 0;
}

/* Closes every connection, sends what that produced, frees what we hold. */
static void
worker_teardown(struct mps_worker *w)
{
	uint64_t until = rte_get_tsc_cycles() + DRAIN_MS * rte_get_tsc_hz() / 1000;

	__atomic_store_n(&w->slot->state, MPS_WORKER_STOPPING, __ATOMIC_RELEASE);
	mps_adopt_release(w);
	mps_apps_close_all();
	mps_netif_release(w);
	while (mps_netif_tx_queued(w) > 0 && rte_get_tsc_cycles() < until)
		mps_tx_flush(w);
	mps_tx_drop_all(w);
	mps_ring_free_mbufs(w->ring);
	if (w->stats->mbufs_held != 0 || w->stats->tx_seg_held != 0)
		MPS_LOG(WARNING, "worker %u: %" PRIu64 " RX mbufs and %" PRIu64 " TCP segments still held by lwIP at exit",
			w->id, w->stats->mbufs_held, w->stats->tx_seg_held);
	w->stats->tcp_active = 0;
}

int
main(int argc, char **argv)
{
	struct mps_worker *w = mps_worker();
	char err[256], **eargv;
	struct args a;
	int eargc, n, bad, ret;

	if (mps_wants_help(argc, argv)) {
		usage(argv[0]);
		return 0;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "mps-secondary: must run as root (hugepages)\n");
		return 1;
	}
	eargv = mps_secondary_eal_argv(argc, argv, NULL, &eargc);
	if (eargv == NULL)
		return 1;
	n = rte_eal_init(eargc, eargv);
	if (n < 0) {
		free(eargv);
		/* EAL made an empty runtime dir for the prefix: leave nothing. */
		rmdir(rte_eal_get_runtime_dir());
		fprintf(stderr, "mps-secondary: cannot attach: no primary running with this --file-prefix\n");
		return 1;
	}
	eargc -= n;
	eargv += n;
	eargv[0] = argv[0];

	bad = parse_args(eargc, eargv, &a);
	free(eargv - n); /* the array only: nothing keeps a pointer to it */
	/* The layout is checked first: a mismatched binary touches nothing. */
	ret = bad ? -EINVAL : mps_attach(w, err, sizeof(err));
	if (ret == 0 && mps_replace_init() != 0)
		MPS_LOG(WARNING, "no %s: this worker cannot be replaced gracefully, nor replace one",
			MPS_DRAIN_TX_DYNFLAG);
	w->drain_timeout_s = a.drain_timeout_s;
	if (ret == 0)
		ret = a.replace ? mps_replace_register(w, (uint16_t)a.worker, err, sizeof(err)) :
				  mps_claim_slot(w, a.worker, err, sizeof(err));
	if (ret != 0) {
		if (!bad)
			fprintf(stderr, "mps-secondary: %s\n", err);
		rte_eal_cleanup();
		return 1;
	}

	mps_neigh_learn_init(w);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	srandom((unsigned int)(rte_get_tsc_cycles() ^ (uint64_t)getpid()));
	if (mps_mirror_init(w) != 0)
		MPS_LOG(NOTICE, "worker %u: no capture ring; mps-capture unavailable", w->id);
	if (mps_adopt_init(w) != 0)
		MPS_LOG(WARNING, "worker %u: no mbuf dynflag; adopted frames are served by the adopter alone", w->id);
	if (mps_exc_init(w) != 0)
		MPS_LOG(WARNING, "worker %u: exception rings missing: frames for the kernel are dropped", w->id);
	mps_rxwait_init(w);
	lwip_init();
	mps_pcb_cache_init(rte_rand());
	ret = mps_tcp_hooks_init(w->shared);
	if (ret != 0)
		MPS_LOG(ERR, "worker %u: the memzone holds no ISN secret", w->id);
	else
		ret = mps_netif_init(w);
	if (ret == 0)
		ret = mps_api_init(w->shared->cfg.max_conns, w->shared->cfg.max_conns_per_ip);
	if (ret == 0)
		ret = mps_apps_listen(&w->shared->cfg);
	if (ret == 0)
		ret = MPS_CYC_INIT(w->id); /* the cycles build's zone */
	if (ret != 0) {
		fprintf(stderr, "mps-secondary: worker %u: stack set-up failed: %s\n",
			w->id, strerror(-ret));
		if (a.replace) /* the worker we meant to replace keeps its queue */
			goto out;
		goto out_release;
	}
	/* Built: now the live worker hands its queue over. */
	if (a.replace && mps_replace_takeover(w, &quit, err, sizeof(err)) != 0) {
		fprintf(stderr, "mps-secondary: %s\n", err);
		ret = -EAGAIN;
		goto out;
	}
	MPS_LOG(INFO, "worker %u (pid %d) running on queue %u of %u port(s)",
		w->id, getpid(), w->id, w->n_ports);
	printf("mps-secondary: worker %u ready\n", w->id);
	fflush(stdout);
	mps_apps_connect(&w->shared->cfg);

	ret = mps_loop_run(w, &quit);
	worker_teardown(w);
	mps_rxwait_fini(w);
	MPS_LOG(INFO, "worker %u stopped", w->id);

out_release:
	mps_release_slot(w);
out:
	rte_eal_cleanup();
	return ret == 0 ? 0 : 1;
}
