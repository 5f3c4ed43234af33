/* SPDX-License-Identifier: BSD-3-Clause
 *
 * exception.c - the primary's side of the kernel exception path: the
 * kernel interface, and one thread that moves frames between it and the
 * workers' rings.
 *
 * --exception IFACE: the primary opens /dev/net/tun and creates tap IFACE
 * with the first port's MAC (and --mtu) in its own namespace; from then on
 * it only reads, writes and polls that fd. A user may move IFACE to another
 * namespace (ip link set IFACE netns NS): the fd goes on working, and the
 * primary makes no call on IFACE by name or index. Closing the fd at exit
 * removes IFACE wherever it is.
 *
 * Wire -> kernel: each worker puts what the stack does not serve on its own
 * single-producer ring "mps_exc_<w>" (secondary/exception.c decides, rate
 * limits and counts); the thread writes each frame to IFACE. Kernel ->
 * wire: the thread reads IFACE, passes the rate limit (its own GCRA), and
 * puts each frame on the ring "mps_exc_tx_<w>" of a running worker chosen
 * by a hash of the frame's addresses (one flow, one worker, one TX queue;
 * on net_tap the kernel then steers the flow's replies to that queue). No
 * queue of the port is the primary's: net_tap passes at most 8 queue fds to
 * secondaries, and a primary queue's RX would need polling.
 *
 * Idle: the thread sleeps in poll(2) on IFACE and an eventfd. Before it
 * sleeps it raises exc.sleeping and looks at the rings once more; a worker
 * that enqueued frames clears the flag and writes the eventfd (DPDK's
 * multi-process message MPS_EXC_MP_NAME hands it to the workers). Frames
 * from the kernel wake it at once; frames from a worker within the
 * worker's loop iteration; at worst (no eventfd) within MPS_EXC_POLL_MS.
 *
 * A slot whose owner changed (released, or died and was claimed again) has
 * both rings emptied and reset before the new owner may use them
 * (exc.ready_pid): a worker killed inside an enqueue or dequeue leaves
 * its ring's head and tail apart, which would wedge its successor.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "mps_log.h"
#include "mps_proc.h"
#include "mps_ring.h"
#include "primary.h"

#define EXC_BURST 32u

/* The primary's one exception path (process-private). */
static struct {
	struct rte_ring *rx[MPS_MAX_WORKERS]; /* worker -> primary */
	struct rte_ring *tx[MPS_MAX_WORKERS]; /* primary -> worker */
	int tap_fd;
	int efd;
	int mp_registered;
	int thread_started;
	pthread_t thread;
	volatile int stop;
	uint64_t tx_tat, interval, tolerance; /* kernel -> wire rate limit */
} exc = { .tap_fd = -1, .efd = -1 };

/* A worker asks for the eventfd that wakes us. */
static int
efd_request(const struct rte_mp_msg *msg, const void *peer)
{
	struct rte_mp_msg reply;

	memset(&reply, 0, sizeof(reply));
	snprintf(reply.name, sizeof(reply.name), "%s", msg->name);
	reply.num_fds = 1;
	reply.fds[0] = exc.efd;
	return rte_mp_reply(&reply, peer);
}

/* Creates tap IFACE (refusing a name in use: TUNSETIFF would attach to an
 * existing persistent tap) with MAC mac and MTU mtu. The MTU is the one
 * call by name, made before anyone can have moved IFACE. */
static int
tap_create(const char *name, const struct rte_ether_addr *mac, uint16_t mtu)
{
	struct ifreq ifr;
	int fd, s;

	if (if_nametoindex(name) != 0) {
		MPS_LOG(ERR, "--exception %s: an interface of that name exists already", name);
		return -EEXIST;
	}
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		MPS_LOG(ERR, "--exception: /dev/net/tun: %s", strerror(errno));
		return -errno;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (ioctl(fd, TUNSETIFF, &ifr) != 0)
		goto fail;
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, mac->addr_bytes, RTE_ETHER_ADDR_LEN);
	if (ioctl(fd, SIOCSIFHWADDR, &ifr) != 0) /* on the fd, not by name */
		goto fail;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ifr.ifr_mtu = mtu;
	if (s < 0 || ioctl(s, SIOCSIFMTU, &ifr) != 0)
		MPS_LOG(WARNING, "--exception %s: MTU %u not set: %s", name, mtu,
			strerror(errno));
	if (s >= 0)
		close(s);
	return fd;
fail:
	MPS_LOG(ERR, "--exception %s: cannot create the tap: %s", name, strerror(errno));
	s = -errno;
	close(fd);
	return s;
}

/* A slot whose owner changed: empty and reset its rings, then let the new
 * owner (or nobody) use them. Only this thread consumes rx[w] and produces
 * tx[w], and no process produces rx[w] or consumes tx[w] until ready_pid
 * names it. */
static void
reclaim(struct mps_shared *sh)
{
	for (uint32_t w = 0; w < sh->cfg.n_workers; w++) {
		int32_t owner = __atomic_load_n(&sh->workers[w].owner_pid, __ATOMIC_ACQUIRE);
		int32_t prev = sh->exc.ready_pid[w];

		if (owner == prev)
			continue;
		mps_ring_free_mbufs(exc.rx[w]);
		rte_ring_reset(exc.rx[w]);
		mps_ring_free_mbufs(exc.tx[w]);
		rte_ring_reset(exc.tx[w]);
		if (prev != 0)
			sh->exc.stats.ring_resets++;
		__atomic_store_n(&sh->exc.ready_pid[w], owner, __ATOMIC_RELEASE);
	}
}

/* 1 if there is work: frames on a worker's ring, or a slot to reclaim. */
static int
pending(const struct mps_shared *sh)
{
	for (uint32_t w = 0; w < sh->cfg.n_workers; w++)
		if (rte_ring_count(exc.rx[w]) != 0 ||
		    sh->workers[w].owner_pid != sh->exc.ready_pid[w])
			return 1;
	return 0;
}

/* Wire -> kernel: every worker's ring, a burst each, written to IFACE. */
static unsigned int
to_kernel(struct mps_shared *sh)
{
	struct mps_exc_stats *st = &sh->exc.stats;
	struct rte_mbuf *m[EXC_BURST];
	unsigned int total = 0;

	for (uint32_t w = 0; w < sh->cfg.n_workers; w++) {
		unsigned int n = rte_ring_sc_dequeue_burst(exc.rx[w], (void **)m,
							   EXC_BURST, NULL);

		for (unsigned int i = 0; i < n; i++) {
			uint16_t len = rte_pktmbuf_data_len(m[i]);

			if (write(exc.tap_fd, rte_pktmbuf_mtod(m[i], void *), len) == len) {
				st->to_kernel_pkts++;
				st->to_kernel_bytes += len;
			} else {
				st->to_kernel_drop++;
			}
		}
		rte_pktmbuf_free_bulk(m, n);
		total += n;
	}
	return total;
}

/* One flow, one worker: a hash of the frame's destination MAC and, for
 * IPv4 and IPv6, its addresses. */
static uint32_t
flow_hash(const uint8_t *d, uint32_t len)
{
	uint64_t key[5] = { 0 }; /* rte_hash_crc reads 8 bytes at a time, aligned */
	uint16_t type = (uint16_t)(d[12] << 8 | d[13]);
	uint32_t n = 8;

	memcpy(key, d, RTE_ETHER_ADDR_LEN);
	if (type == RTE_ETHER_TYPE_IPV4 && len >= 34) {
		memcpy(&key[1], d + 26, 8);
		n = 16;
	} else if (type == RTE_ETHER_TYPE_IPV6 && len >= 54) {
		memcpy(&key[1], d + 22, 32);
		n = 40;
	}
	return rte_hash_crc(key, n, 0);
}

/* The workers that may transmit the kernel's frames: RUNNING, their
 * rings ready for them, and alive. The list is rebuilt at most every
 * LIVE_REFRESH_MS (a pid check reads /proc), so a killed worker gets
 * frames for at most that long, not until the monitor's next tick marks
 * it dead. */
#define LIVE_REFRESH_MS 10u

static uint16_t live[MPS_MAX_WORKERS], n_live;
static uint64_t live_tsc;

static void
refresh_live(const struct mps_shared *sh)
{
	uint64_t now = rte_get_tsc_cycles();

	if (now - live_tsc < sh->tsc_hz / 1000 * LIVE_REFRESH_MS)
		return;
	live_tsc = now;
	n_live = 0;
	for (uint32_t w = 0; w < sh->cfg.n_workers; w++) {
		int32_t owner = sh->workers[w].owner_pid;

		if (owner != 0 && sh->exc.ready_pid[w] == owner &&
		    __atomic_load_n(&sh->workers[w].state, __ATOMIC_ACQUIRE) ==
			    MPS_WORKER_RUNNING && mps_pid_alive(owner))
			live[n_live++] = (uint16_t)w;
	}
}

/* A worker to transmit frame d, or -1: by flow hash over the live list. */
static int
pick_worker(const struct mps_shared *sh, const uint8_t *d, uint32_t len)
{
	refresh_live(sh);
	return n_live == 0 ? -1 : live[flow_hash(d, len) % n_live];
}

/* Kernel -> wire: up to a burst read from IFACE, each within the rate
 * handed to a worker. Returns the frames read. */
static unsigned int
from_kernel(struct mps_primary *pp)
{
	struct mps_shared *sh = pp->shared;
	struct mps_exc_stats *st = &sh->exc.stats;
	unsigned int n;

	for (n = 0; n < EXC_BURST; n++) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(pp->pool);
		uint8_t scratch[64];
		ssize_t len;
		int w;

		if (m == NULL) { /* read it anyway, or IFACE stays readable */
			if (read(exc.tap_fd, scratch, sizeof(scratch)) < 0)
				break;
			st->from_kernel_drop++;
			continue;
		}
		len = read(exc.tap_fd, rte_pktmbuf_mtod(m, void *), rte_pktmbuf_tailroom(m));
		if (len < RTE_ETHER_HDR_LEN) {
			rte_pktmbuf_free(m);
			if (len < 0)
				break;
			continue;
		}
		rte_pktmbuf_append(m, (uint16_t)len);
		if (!mps_gcra_take(&exc.tx_tat, rte_get_tsc_cycles(), exc.interval,
				   exc.tolerance)) {
			st->from_kernel_drop_rate++;
			rte_pktmbuf_free(m);
			continue;
		}
		w = pick_worker(sh, rte_pktmbuf_mtod(m, uint8_t *), (uint32_t)len);
		if (w < 0 || rte_ring_sp_enqueue(exc.tx[w], m) != 0) {
			st->from_kernel_drop++;
			rte_pktmbuf_free(m);
			continue;
		}
		st->from_kernel_pkts++;
		st->from_kernel_bytes += (uint64_t)len;
	}
	return n;
}

/* The thread: move what there is, else sleep in poll(2) (see above). */
static void *
exc_thread(void *arg)
{
	struct mps_primary *pp = arg;
	struct mps_shared *sh = pp->shared;
	struct pollfd pfd[2] = {
		{ .fd = exc.tap_fd, .events = POLLIN },
		{ .fd = exc.efd, .events = POLLIN },
	};
	uint64_t v;

	while (!__atomic_load_n(&exc.stop, __ATOMIC_ACQUIRE)) {
		reclaim(sh);
		if (to_kernel(sh) + (pfd[0].fd >= 0 ? from_kernel(pp) : 0) != 0)
			continue;
		__atomic_store_n(&sh->exc.sleeping, 1, __ATOMIC_SEQ_CST);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (!pending(sh) && poll(pfd, 2, MPS_EXC_POLL_MS) > 0) {
			if ((pfd[1].revents & POLLIN) && read(exc.efd, &v, sizeof(v)) < 0)
				v = 0;
			if (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
				MPS_LOG(ERR, "--exception %s: the tap fd failed; kernel -> wire stops",
					sh->cfg.exc_iface);
				pfd[0].fd = -1; /* poll(2) ignores it from now on */
			}
		}
		__atomic_store_n(&sh->exc.sleeping, 0, __ATOMIC_RELEASE);
	}
	return NULL;
}

int
mps_exc_create(struct mps_primary *pp)
{
	struct mps_shared *sh = pp->shared;
	const struct mps_config *cfg = &sh->cfg;
	char name[RTE_RING_NAMESIZE];
	struct rte_ether_addr mac;
	rte_cpuset_t cpus;
	int ret;

	if (cfg->exc_iface[0] == '\0')
		return 0;
	for (uint32_t w = 0; w < cfg->n_workers; w++) {
		snprintf(name, sizeof(name), MPS_EXC_RING_FMT, w);
		exc.rx[w] = rte_ring_create(name, MPS_EXC_RING_SIZE, (int)rte_socket_id(),
					    RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), MPS_EXC_TX_RING_FMT, w);
		exc.tx[w] = rte_ring_create(name, MPS_EXC_RING_SIZE, (int)rte_socket_id(),
					    RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (exc.rx[w] == NULL || exc.tx[w] == NULL) {
			MPS_LOG(ERR, "cannot create exception rings: %s", rte_strerror(rte_errno));
			return -rte_errno;
		}
	}
	ret = rte_eth_macaddr_get(pp->port_ids[0], &mac);
	if (ret != 0)
		return ret;
	/* The kernel's multicast (IPv6 neighbour discovery, mDNS, LLDP...)
	 * reaches a real NIC's queues only with all-multicast (a list per
	 * group the kernel joins would need its joins relayed to us). */
	for (uint16_t i = 0; i < pp->n_ports; i++)
		if (rte_eth_allmulticast_enable(pp->port_ids[i]) != 0)
			MPS_LOG(WARNING, "port %u refused all-multicast: the kernel behind %s gets no multicast from it",
				pp->port_ids[i], cfg->exc_iface);
	exc.tap_fd = tap_create(cfg->exc_iface, &mac, cfg->mtu);
	if (exc.tap_fd < 0)
		return exc.tap_fd;
	exc.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (exc.efd < 0)
		return -errno;
	ret = rte_mp_action_register(MPS_EXC_MP_NAME, efd_request);
	if (ret != 0)
		return -rte_errno;
	exc.mp_registered = 1;
	exc.interval = sh->tsc_hz / cfg->exc_rate;
	exc.tolerance = sh->tsc_hz / 1000 * MPS_EXC_BURST_MS;
	ret = rte_ctrl_thread_create(&exc.thread, "mps-exc", NULL, exc_thread, pp);
	if (ret != 0)
		return -ret;
	exc.thread_started = 1;
	/* On the primary's own CPU: EAL puts control threads on the CPUs no
	 * lcore of ours was given, which are the workers' CPUs. */
	cpus = rte_lcore_cpuset(rte_get_main_lcore());
	ret = pthread_setaffinity_np(exc.thread, sizeof(cpus), &cpus);
	if (ret != 0)
		MPS_LOG(WARNING, "exception path: thread affinity: %s", strerror(ret));
	MPS_LOG(INFO, "exception path: kernel interface %s, at most %u frames/s each way",
		cfg->exc_iface, cfg->exc_rate);
	return 0;
}

void
mps_exc_destroy(struct mps_primary *pp __rte_unused)
{
	uint64_t one = 1;

	if (exc.thread_started) {
		__atomic_store_n(&exc.stop, 1, __ATOMIC_RELEASE);
		if (write(exc.efd, &one, sizeof(one)) < 0)
			MPS_LOG(DEBUG, "eventfd write: %s", strerror(errno));
		pthread_join(exc.thread, NULL);
		exc.thread_started = 0;
	}
	if (exc.mp_registered)
		rte_mp_action_unregister(MPS_EXC_MP_NAME);
	exc.mp_registered = 0;
	if (exc.tap_fd >= 0)
		close(exc.tap_fd); /* removes IFACE, in whatever namespace */
	if (exc.efd >= 0)
		close(exc.efd);
	exc.tap_fd = exc.efd = -1;
	for (uint32_t w = 0; w < MPS_MAX_WORKERS; w++) {
		mps_ring_free_mbufs(exc.rx[w]);
		mps_ring_free_mbufs(exc.tx[w]);
		rte_ring_free(exc.rx[w]);
		rte_ring_free(exc.tx[w]);
		exc.rx[w] = exc.tx[w] = NULL;
	}
}
