/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mps-capture: records what the workers receive and send into a pcapng file.
 *
 * In the spirit of dpdk-dumpcap.
 *
 * dpdk-dumpcap cannot see the workers' traffic in DPDK 22.11 (rte_pdump
 * only works in the primary). mps-capture is a secondary that switches on
 * the mirror of the chosen workers through the memzone (capture_set), takes
 * their copies (rte_pcapng packet blocks, port, queue and direction set by
 * the worker) off the capture ring and writes them with rte_pcapng. The
 * workers never wait for it: what does not fit is counted (capture_drop).
 * Stops on SIGINT/SIGTERM, after --duration or --count, or when the
 * primary stops; always switches the mirror off on the way out.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_memzone.h>
#include <rte_pcapng.h>
#include <rte_ring.h>

#include "mps_config.h"
#include "mps_shared.h"
#include "mps_proc.h"
#include "mps_ring.h"

#define BURST 64u
#define IDLE_US 1000u
#define CLAIM_WAIT_MS 1000u /* the primary cleaning up after a dead capture */
#define DEFAULT_LCORES RTE_STR(MPS_CAPTURE_LCORE) "@0" /* above every worker's two ids */

struct capture_opts {
	const char *file;
	struct mps_wset workers; /* empty: every worker */
	uint32_t duration_s; /* 0 = until stopped */
	uint64_t count;      /* 0 = unlimited */
	uint32_t snaplen;    /* 0 = whole frames */
};

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
	printf("usage: %s [EAL options] -- -w FILE [options]\n"
	       "Captures what mpstack's workers receive and send into a pcapng file.\n"
	       "EAL options: the primary's --file-prefix (default lcore: 127@0).\n\n"
	       "  -w, --write FILE      pcapng file to write (as dpdk-dumpcap -w); never\n"
	       "                        through a symlink, nor over another user's file\n"
	       "      --worker ID       capture worker ID (one of the primary's); repeat for\n"
	       "                        more (default: all)\n"
	       "  -a, --duration SECS   stop after SECS seconds\n"
	       "  -c, --count N         stop after N packets\n"
	       "  -s, --snaplen BYTES   keep at most BYTES of each frame\n"
	       "  -h, --help            this text\n"
	       "Stops on SIGINT/SIGTERM (Ctrl-C) and when the primary stops.\n", prg);
}

/* Application options after EAL's. 0 or -EINVAL (message printed). */
static int
parse_args(int argc, char **argv, struct capture_opts *o)
{
	static const struct option opts[] = {
		{ "write", required_argument, NULL, 'w' },
		{ "worker", required_argument, NULL, 'W' },
		{ "duration", required_argument, NULL, 'a' },
		{ "count", required_argument, NULL, 'c' },
		{ "snaplen", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	uint32_t v;
	int opt;

	memset(o, 0, sizeof(*o));
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "w:a:c:s:", opts, NULL)) != -1) {
		int bad = 0;

		switch (opt) {
		case 'w':
			o->file = optarg;
			break;
		case 'W':
			bad = mps_parse_u32(optarg, 0, MPS_MAX_WORKERS - 1, &v);
			if (!bad)
				mps_wset_add(&o->workers, v);
			break;
		case 'a':
			bad = mps_parse_u32(optarg, 1, 86400, &o->duration_s);
			break;
		case 'c':
			bad = mps_parse_u32(optarg, 1, UINT32_MAX, &v);
			o->count = v;
			break;
		case 's':
			bad = mps_parse_u32(optarg, 64, 65535, &o->snaplen);
			break;
		default:
			bad = 1;
		}
		if (bad) {
			fprintf(stderr, "mps-capture: invalid option %s (see --help)\n",
				argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc || o->file == NULL) {
		fprintf(stderr, "mps-capture: %s (see --help)\n",
			o->file == NULL ? "-w FILE is required" : "unexpected argument");
		return -EINVAL;
	}
	return 0;
}

/* Takes the mirror: one capture at a time; a dead holder's claim lapses.
 * The primary holds the claim for a moment while it cleans up after a
 * dead capture: wait for that (bounded), never take the mirror from it. */
static int
claim_mirror(struct mps_shared *sh)
{
	uint64_t until = rte_get_tsc_cycles() + CLAIM_WAIT_MS * rte_get_tsc_hz() / 1000;
	int32_t cur = __atomic_load_n(&sh->capture_pid, __ATOMIC_ACQUIRE);

	for (;;) {
		if (cur == sh->primary_pid && rte_get_tsc_cycles() < until) {
			mps_sleep_us(IDLE_US);
			cur = __atomic_load_n(&sh->capture_pid, __ATOMIC_ACQUIRE);
			continue;
		}
		if (cur != 0 && mps_pid_alive(cur)) {
			fprintf(stderr, "mps-capture: another capture (pid %d) is running\n", cur);
			return -EBUSY;
		}
		if (__atomic_compare_exchange_n(&sh->capture_pid, &cur, getpid(), 0,
						__ATOMIC_SEQ_CST, __ATOMIC_ACQUIRE))
			return 0;
		if (rte_get_tsc_cycles() >= until) {
			fprintf(stderr, "mps-capture: another capture (pid %d) is starting\n", cur);
			return -EBUSY;
		}
	}
}

/* No --worker: every worker of the primary; else every --worker must be
 * one of its workers. 0, or -EINVAL (message printed). */
static int
select_workers(struct mps_wset *set, uint32_t n_workers)
{
	int any = 0;

	for (uint32_t w = 0; w < MPS_MAX_WORKERS; w++) {
		if (!mps_wset_has(set, w))
			continue;
		any = 1;
		if (w >= n_workers) {
			fprintf(stderr, "mps-capture: --worker %u out of range (the primary has %u workers: 0..%u)\n",
				w, n_workers, n_workers - 1);
			return -EINVAL;
		}
	}
	for (uint32_t w = 0; !any && w < n_workers; w++)
		mps_wset_add(set, w);
	return 0;
}

/* What the workers keep of each frame for this capture: -s, else (and at
 * most) the whole frame; set for every capture, so an earlier -s never
 * truncates a later capture. */
static uint32_t
capture_snaplen(const struct mps_shared *sh, const struct capture_opts *o)
{
	uint32_t full = MPS_CAPTURE_FRAME(sh->cfg.mtu);

	return o->snaplen != 0 && o->snaplen < full ? o->snaplen : full;
}

static uint64_t
mirror_drops(const struct mps_shared *sh, const struct mps_wset *set)
{
	uint64_t n = 0;

	for (uint32_t w = 0; w < sh->cfg.n_workers; w++)
		if (mps_wset_has(set, w))
			n += sh->workers[w].stats.capture_drop;
	return n;
}

/* Writes up to what --count still allows, frees the burst. */
static uint64_t
write_burst(rte_pcapng_t *pcapng, struct rte_mbuf **pkts, unsigned int n,
	    uint64_t written, uint64_t count, int *err)
{
	unsigned int k = n;

	if (count != 0 && written + k > count)
		k = (unsigned int)(count - written);
	if (k != 0 && rte_pcapng_write_packets(pcapng, pkts, (uint16_t)k) < 0)
		*err = -errno;
	rte_pktmbuf_free_bulk(pkts, n);
	return k;
}

/* Until a stop condition: ring -> file. Returns packets written. */
static uint64_t
capture_loop(struct mps_shared *sh, struct rte_ring *ring, rte_pcapng_t *pcapng,
	     const struct capture_opts *o, int *err)
{
	struct rte_mbuf *pkts[BURST];
	uint64_t written = 0, hz = rte_get_tsc_hz();
	uint64_t deadline = o->duration_s ? rte_get_tsc_cycles() + o->duration_s * hz : 0;
	unsigned int n;

	while (!quit && *err == 0 && (o->count == 0 || written < o->count)) {
		if (deadline != 0 && rte_get_tsc_cycles() >= deadline)
			break;
		if (sh->stop || !mps_pid_alive(sh->primary_pid))
			break;
		n = rte_ring_sc_dequeue_burst(ring, (void **)pkts, BURST, NULL);
		if (n == 0) {
			mps_sleep_us(IDLE_US);
			continue;
		}
		written += write_burst(pcapng, pkts, n, written, o->count, err);
	}
	/* Mirror off, then what was already copied (bounded by the ring). */
	mps_wset_store(&sh->capture_set, &(struct mps_wset){ 0 });
	while ((n = rte_ring_sc_dequeue_burst(ring, (void **)pkts, BURST, NULL)) != 0)
		written += write_burst(pcapng, pkts, n, written, o->count, err);
	return written;
}

/* Opens -w FILE for writing as root may: never through a symbolic link
 * (O_NOFOLLOW: a link planted where the file will be would have us
 * truncate its target), only a regular file or a FIFO, and never over a
 * file of another user or one with other hard links. A file is truncated
 * only once it passed. The fd, or -1 (message printed). */
static int
open_output(const char *path)
{
	struct stat st;
	const char *why = NULL;
	int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC,
			0644);

	if (fd < 0) {
		if (errno == ELOOP)
			fprintf(stderr, "mps-capture: refusing to write %s: it is a symbolic link\n",
				path);
		else
			fprintf(stderr, "mps-capture: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0)
		why = strerror(errno);
	else if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode))
		why = "not a regular file or FIFO";
	else if (st.st_uid != geteuid())
		why = "owned by another user";
	else if (S_ISREG(st.st_mode) && st.st_nlink > 1)
		why = "it has other hard links";
	else if (S_ISREG(st.st_mode) && ftruncate(fd, 0) != 0)
		why = strerror(errno);
	if (why != NULL) {
		fprintf(stderr, "mps-capture: refusing to write %s: %s\n", path, why);
		close(fd);
		return -1;
	}
	return fd;
}

/* Attach, take the mirror, write, release: one function (over 80 lines)
 * so each step's cleanup label sits next to it. */
int
main(int argc, char **argv)
{
	const struct rte_memzone *mz;
	struct capture_opts o;
	struct mps_shared *sh;
	struct rte_ring *ring;
	rte_pcapng_t *pcapng;
	uint64_t drops0, written;
	char **eargv, hex[MPS_WSET_HEX_LEN];
	int eargc, n, fd, err = 0;

	if (mps_wants_help(argc, argv)) {
		usage(argv[0]);
		return 0;
	}
	eargv = mps_secondary_eal_argv(argc, argv, DEFAULT_LCORES, &eargc);
	if (eargv == NULL)
		return 1;
	n = rte_eal_init(eargc, eargv);
	if (n < 0) {
		rmdir(rte_eal_get_runtime_dir());
		fprintf(stderr, "mps-capture: cannot attach: no primary running with this --file-prefix\n");
		return 1;
	}
	eargc -= n;
	eargv += n;
	eargv[0] = argv[0];
	if (parse_args(eargc, eargv, &o) != 0)
		goto fail_eal;

	mz = rte_memzone_lookup(MPS_MEMZONE_NAME);
	ring = rte_ring_lookup(MPS_CAPTURE_RING);
	if (mz == NULL || ring == NULL) {
		fprintf(stderr, "mps-capture: no %s: is mps-primary running with this --file-prefix?\n",
			mz == NULL ? MPS_MEMZONE_NAME : MPS_CAPTURE_RING);
		goto fail_eal;
	}
	sh = mz->addr;
	if (!mps_shared_compatible(sh)) {
		fprintf(stderr, "mps-capture: layout mismatch: primary has magic 0x%x version %u, this binary 0x%x version %u; rebuild both from one tree\n",
			sh->magic, sh->layout_version, MPS_MAGIC, MPS_LAYOUT_VERSION);
		goto fail_eal;
	}
	if (select_workers(&o.workers, sh->cfg.n_workers) != 0)
		goto fail_eal;
	fd = open_output(o.file);
	if (fd < 0)
		goto fail_eal;
	pcapng = rte_pcapng_fdopen(fd, NULL, NULL, "mps-capture", NULL);
	if (pcapng == NULL) {
		fprintf(stderr, "mps-capture: cannot start pcapng: %s\n", rte_strerror(rte_errno));
		close(fd);
		goto fail_eal;
	}
	if (claim_mirror(sh) != 0)
		goto fail_file;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	mps_ring_free_mbufs(ring);
	sh->capture_snaplen = capture_snaplen(sh, &o);
	drops0 = mirror_drops(sh, &o.workers);
	mps_wset_store(&sh->capture_set, &o.workers);
	printf("mps-capture: capturing workers %s into %s\n",
	       mps_wset_hex(&o.workers, hex, sizeof(hex)), o.file);
	fflush(stdout);

	written = capture_loop(sh, ring, pcapng, &o, &err);
	__atomic_store_n(&sh->capture_pid, 0, __ATOMIC_RELEASE);
	rte_pcapng_close(pcapng);
	fprintf(stderr, "mps-capture: %lu packets written to %s, %lu dropped by the mirror\n",
		(unsigned long)written, o.file,
		(unsigned long)(mirror_drops(sh, &o.workers) - drops0));
	if (err != 0)
		fprintf(stderr, "mps-capture: write failed: %s\n", strerror(-err));
	rte_eal_cleanup();
	return err == 0 ? 0 : 1;

fail_file:
	rte_pcapng_close(pcapng);
fail_eal:
	rte_eal_cleanup();
	return 1;
}
