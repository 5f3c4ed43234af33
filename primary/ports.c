/* SPDX-License-Identifier: BSD-3-Clause
 *
 * ports.c - every port: one RX/TX queue pair per worker, symmetric RSS, the
 * RETA, the offloads.
 *
 * RSS covers what the port can hash; the RETA is round-robin where the port
 * has one; the offloads are those it offers that the workers use.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "mps_log.h"
#include "primary.h"

_Static_assert(MPS_RETA_MAX == RTE_ETH_RSS_RETA_SIZE_512, "RETA mirror size");

/* Symmetric Toeplitz key: both directions of a flow hash alike. */
static uint8_t rss_key[MPS_RSS_KEY_LEN] = {
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d,
	0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d,
	0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
};

#define WANT_RSS_HF (RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_TCP | \
		     RTE_ETH_RSS_NONFRAG_IPV4_UDP)
#define WANT_TX_OFFLOADS (RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | \
			  RTE_ETH_TX_OFFLOAD_TCP_CKSUM | \
			  RTE_ETH_TX_OFFLOAD_UDP_CKSUM | \
			  RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
#define WANT_RX_OFFLOADS (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | \
			  RTE_ETH_RX_OFFLOAD_TCP_CKSUM | \
			  RTE_ETH_RX_OFFLOAD_UDP_CKSUM)

static int
is_tap(const struct rte_eth_dev_info *info)
{
	return strcmp(info->driver_name, "net_tap") == 0;
}

/* net_tap opens each queue with O_ASYNC: the kernel sends the process that
 * opened it (the primary) a real-time signal for every frame the queue
 * receives, to tell that process's own RX burst there is something to
 * read. The primary never reads a queue (the workers do, with file
 * descriptors of their own, and no signal), so each signal only woke it,
 * taking the CPU the workers and the clients needed (make bench's flood
 * section: 3.1-3.4 s of the primary's CPU in 5 s before, 16-349 ms after).
 * Cleared on the queue's open file, which the workers' descriptors and the
 * TX queue's share. */
static void
tap_quiet(uint16_t port, uint16_t nq)
{
	for (uint16_t q = 0; q < nq; q++) {
		int fd = rte_eth_dev_rx_intr_ctl_q_get_fd(port, q);
		int fl = fd >= 0 ? fcntl(fd, F_GETFL) : -1;

		if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_ASYNC) != 0)
			MPS_LOG(WARNING, "port %u queue %u: net_tap's per-frame signal left on (%s): the primary wakes for every frame",
				port, q, fd < 0 ? "no queue file" : strerror(errno));
	}
}

/* A worker asks for the file of one of its net_tap queues
 * (MPS_RXFD_MP_NAME); none in the reply for any other port. */
static int
rxfd_request(const struct rte_mp_msg *msg, const void *peer)
{
	struct mps_rxfd_req req;
	struct rte_eth_dev_info info;
	struct rte_mp_msg reply;
	int fd = -1;

	memset(&reply, 0, sizeof(reply));
	snprintf(reply.name, sizeof(reply.name), "%s", msg->name);
	if (msg->len_param == sizeof(req)) {
		memcpy(&req, msg->param, sizeof(req));
		if (rte_eth_dev_info_get(req.port, &info) == 0 && is_tap(&info))
			fd = rte_eth_dev_rx_intr_ctl_q_get_fd(req.port, req.queue);
	}
	if (fd >= 0) {
		reply.num_fds = 1;
		reply.fds[0] = fd;
	}
	return rte_mp_reply(&reply, peer);
}

/* The offloads asked of every port: checksums unless
 * --no-offload, VLAN strip/insert when --vlan is set (and not
 * --no-offload). The workers do in software whatever a port lacks. */
static uint64_t
want_tx_offloads(const struct mps_config *cfg)
{
	if (cfg->no_offload)
		return RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	return WANT_TX_OFFLOADS |
	       (cfg->vlan_id != 0 ? RTE_ETH_TX_OFFLOAD_VLAN_INSERT : 0);
}

static uint64_t
want_rx_offloads(const struct mps_config *cfg)
{
	if (cfg->no_offload)
		return 0;
	return WANT_RX_OFFLOADS |
	       (cfg->vlan_id != 0 ? RTE_ETH_RX_OFFLOAD_VLAN_STRIP : 0);
}

int
mps_ports_probe(struct mps_primary *pp, const struct mps_config *cfg)
{
	uint16_t port;

	RTE_ETH_FOREACH_DEV(port) {
		struct rte_eth_dev_info info;
		int ret = rte_eth_dev_info_get(port, &info);

		if (ret != 0)
			return ret;
		if (pp->n_ports == MPS_MAX_PORTS) {
			MPS_LOG(ERR, "more than %u ports", MPS_MAX_PORTS);
			return -E2BIG;
		}
		if (strcmp(info.driver_name, "net_tap") == 0 &&
		    cfg->n_workers > MPS_TAP_MAX_QUEUES) {
			/* A secondary gets the tap's queue fds in one EAL IPC
			 * message: RTE_MP_MAX_FD_NUM, RX and TX together. */
			RTE_BUILD_BUG_ON(2 * MPS_TAP_MAX_QUEUES > RTE_MP_MAX_FD_NUM);
			MPS_LOG(ERR, "port %u (net_tap) supports at most %u queue pairs in multi-process (DPDK hands a secondary at most %u queue fds, RX and TX); asked for --workers %u: use fewer workers or a port with more queues (net_memif, net_null, a NIC)",
				port, MPS_TAP_MAX_QUEUES, RTE_MP_MAX_FD_NUM, cfg->n_workers);
			return -EINVAL;
		}
		if (cfg->n_workers > info.max_rx_queues ||
		    cfg->n_workers > info.max_tx_queues) {
			MPS_LOG(ERR, "port %u (%s) has %u RX / %u TX queues; asked for --workers %u",
				port, info.driver_name, info.max_rx_queues,
				info.max_tx_queues, cfg->n_workers);
			return -EINVAL;
		}
		pp->port_ids[pp->n_ports++] = port;
	}
	if (pp->n_ports == 0) {
		MPS_LOG(ERR, "no ports: give --vdev net_tap0,iface=NAME or -a PCI_BDF");
		return -ENODEV;
	}
	return 0;
}

/* Round-robin the redirection table over the queues, if the port has one. */
static void
program_reta(uint16_t port, uint16_t reta_size, uint16_t n_queues)
{
	struct rte_eth_rss_reta_entry64 reta[MPS_RETA_MAX /
					     RTE_ETH_RETA_GROUP_SIZE];
	int ret;

	if (reta_size == 0 || reta_size > MPS_RETA_MAX)
		return;
	memset(reta, 0, sizeof(reta));
	for (uint16_t i = 0; i < reta_size; i++) {
		reta[i / RTE_ETH_RETA_GROUP_SIZE].mask |=
			1ull << (i % RTE_ETH_RETA_GROUP_SIZE);
		reta[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE] =
			i % n_queues;
	}
	ret = rte_eth_dev_rss_reta_update(port, reta, reta_size);
	if (ret != 0)
		MPS_LOG(WARNING, "port %u: RETA update refused: %s", port,
			rte_strerror(-ret));
}

/* Publishes the first port's key and RETA so workers can pick
 * local ports whose replies come back to them. net_tap's RSS is the
 * kernel's queue choice (the queue that sent the flow), not its RETA, so
 * it publishes none and workers take any port. */
static void
share_reta(struct mps_primary *pp, uint16_t port, const struct rte_eth_dev_info *info)
{
	struct rte_eth_rss_reta_entry64 reta[MPS_RETA_MAX /
					     RTE_ETH_RETA_GROUP_SIZE];
	struct mps_shared *sh = pp->shared;
	uint16_t size = info->reta_size;

	memcpy(sh->rss_key, rss_key, sizeof(sh->rss_key));
	sh->reta_size = 0;
	if (size == 0 || size > MPS_RETA_MAX ||
	    strcmp(info->driver_name, "net_tap") == 0)
		return;
	memset(reta, 0, sizeof(reta));
	for (uint16_t i = 0; i < size; i++)
		reta[i / RTE_ETH_RETA_GROUP_SIZE].mask |=
			1ull << (i % RTE_ETH_RETA_GROUP_SIZE);
	if (rte_eth_dev_rss_reta_query(port, reta, size) != 0) {
		MPS_LOG(INFO, "port %u: RETA unreadable: active opens take any local port",
			port);
		return;
	}
	for (uint16_t i = 0; i < size; i++)
		sh->reta[i] = reta[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE];
	sh->reta_size = size;
}

/* nq RX/TX queue pairs of MPS_RX_DESC/MPS_TX_DESC descriptors (or what
 * the port adjusts them to), with the port's enabled offloads. */
static int
queues_setup(struct mps_primary *pp, uint16_t port, const struct rte_eth_dev_info *info,
	     const struct rte_eth_conf *conf, uint16_t nq)
{
	uint16_t nb_rxd = MPS_RX_DESC, nb_txd = MPS_TX_DESC;
	struct rte_eth_txconf txconf;
	struct rte_eth_rxconf rxconf;
	int ret;

	ret = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rxd, &nb_txd);
	if (ret != 0)
		return ret;
	rxconf = info->default_rxconf;
	rxconf.offloads = conf->rxmode.offloads;
	txconf = info->default_txconf;
	txconf.offloads = conf->txmode.offloads;
	for (uint16_t q = 0; q < nq; q++) {
		ret = rte_eth_rx_queue_setup(port, q, nb_rxd,
					     rte_eth_dev_socket_id(port), &rxconf,
					     pp->pool);
		if (ret != 0) {
			MPS_LOG(ERR, "port %u: RX queue %u: %s", port, q,
				rte_strerror(-ret));
			return ret;
		}
		ret = rte_eth_tx_queue_setup(port, q, nb_txd,
					     rte_eth_dev_socket_id(port), &txconf);
		if (ret != 0) {
			MPS_LOG(ERR, "port %u: TX queue %u: %s", port, q,
				rte_strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* Configures one port; records the offloads it will use in tx/rx and
 * lowers *mtu to what it sends, where it refused --mtu. */
static int
port_init(struct mps_primary *pp, uint16_t port, uint64_t *tx_off,
	  uint64_t *rx_off, uint16_t *mtu)
{
	const struct mps_config *cfg = &pp->shared->cfg;
	uint16_t nq = (uint16_t)cfg->n_workers;
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	int ret;

	ret = rte_eth_dev_info_get(port, &info);
	if (ret != 0)
		return ret;
	memset(&conf, 0, sizeof(conf));
	if (nq > 1 && info.flow_type_rss_offloads != 0) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = WANT_RSS_HF & info.flow_type_rss_offloads;
		if (conf.rx_adv_conf.rss_conf.rss_hf != WANT_RSS_HF)
			MPS_LOG(INFO, "port %u: RSS refused hash types 0x%" PRIx64,
				port, WANT_RSS_HF & ~info.flow_type_rss_offloads);
		if (info.hash_key_size > 0 && info.hash_key_size <= sizeof(rss_key)) {
			conf.rx_adv_conf.rss_conf.rss_key = rss_key;
			conf.rx_adv_conf.rss_conf.rss_key_len = info.hash_key_size;
		}
	} else if (nq > 1) {
		MPS_LOG(INFO, "port %u (%s): no RSS; the device spreads flows itself",
			port, info.driver_name);
	}
	/* net_tap: its queues' descriptors (tap_quiet), with no effect on
	 * how the queues work. */
	if (cfg->idle_mode == MPS_IDLE_INTR || is_tap(&info))
		conf.intr_conf.rxq = 1;
	conf.txmode.offloads = want_tx_offloads(cfg) & info.tx_offload_capa;
	conf.rxmode.offloads = want_rx_offloads(cfg) & info.rx_offload_capa;
	*tx_off &= conf.txmode.offloads;
	*rx_off &= conf.rxmode.offloads;

	ret = rte_eth_dev_configure(port, nq, nq, &conf);
	if (ret != 0) {
		MPS_LOG(ERR, "port %u: configure %u queues: %s", port, nq,
			rte_strerror(-ret));
		return ret;
	}
	ret = rte_eth_dev_set_mtu(port, cfg->mtu);
	if (ret == -ENOTSUP) {
		/* No MTU operation: a software port (net_memif spreads a frame
		 * over as many of its buffers as it takes) that passes any
		 * frame; ethdev's own MTU stays at its 1500 default. */
		MPS_LOG(INFO, "port %u (%s): no MTU setting; frames up to MTU %u",
			port, info.driver_name, cfg->mtu);
	} else if (ret != 0) {
		uint16_t m;

		MPS_LOG(WARNING, "port %u (%s): MTU %u refused (port max %u): %s",
			port, info.driver_name, cfg->mtu, info.max_mtu,
			rte_strerror(-ret));
		if (rte_eth_dev_get_mtu(port, &m) == 0 && m < *mtu)
			*mtu = m;
	}
	ret = queues_setup(pp, port, &info, &conf, nq);
	if (ret != 0)
		return ret;
	if (conf.rxmode.mq_mode == RTE_ETH_MQ_RX_RSS) {
		program_reta(port, info.reta_size, nq);
		if (port == pp->port_ids[0])
			share_reta(pp, port, &info);
	}
	ret = rte_eth_dev_start(port);
	if (ret != 0) {
		MPS_LOG(ERR, "port %u: start: %s", port, rte_strerror(-ret));
		return ret;
	}
	pp->ports_started++;
	if (is_tap(&info))
		tap_quiet(port, nq);
	ret = rte_eth_promiscuous_disable(port);
	if (ret != 0 && ret != -ENOTSUP)
		MPS_LOG(INFO, "port %u: promiscuous off refused", port);
	MPS_LOG(INFO, "port %u (%s): %u queue pairs, tx offloads 0x%" PRIx64
		", rx offloads 0x%" PRIx64, port, info.driver_name, nq,
		conf.txmode.offloads, conf.rxmode.offloads);
	return 0;
}

/* The offloads kept are those every port has, so a worker can treat all
 * ports alike. */
int
mps_ports_init(struct mps_primary *pp)
{
	uint64_t tx_off = want_tx_offloads(&pp->shared->cfg);
	uint64_t rx_off = want_rx_offloads(&pp->shared->cfg);
	uint16_t mtu = (uint16_t)pp->shared->cfg.mtu;
	int ret;

	for (uint16_t i = 0; i < pp->n_ports; i++) {
		ret = port_init(pp, pp->port_ids[i], &tx_off, &rx_off, &mtu);
		if (ret != 0)
			return ret;
	}
	pp->shared->n_ports = pp->n_ports;
	memcpy(pp->shared->port_ids, pp->port_ids, sizeof(pp->port_ids));
	pp->shared->tx_offloads = tx_off;
	pp->shared->rx_offloads = rx_off;
	pp->shared->tx_mtu = mtu;
	if (rte_mp_action_register(MPS_RXFD_MP_NAME, rxfd_request) != 0)
		MPS_LOG(WARNING, "no %s action (%s): workers poll net_tap queues while idle",
			MPS_RXFD_MP_NAME, rte_strerror(rte_errno));
	return 0;
}

void
mps_ports_close(struct mps_primary *pp)
{
	rte_mp_action_unregister(MPS_RXFD_MP_NAME); /* before the ports go */
	for (uint16_t i = 0; i < pp->n_ports; i++) {
		uint16_t port = pp->port_ids[i];

		if (i < pp->ports_started)
			rte_eth_dev_stop(port);
		rte_eth_dev_close(port);
	}
	pp->ports_started = 0;
	pp->n_ports = 0;
}

/* Points the RETA entries of queues in no live worker's hands at
 * live queues (round-robin over them), and every entry back at its own
 * queue once that worker returns. Entries of live queues never move, so
 * their flows stay put. Only for ports with a programmable RETA (not
 * net_tap: its "RSS" is the kernel's queue choice). Untested here: no such
 * port on the test machine. */
void
mps_ports_reta_live(struct mps_primary *pp, const struct mps_wset *live)
{
	char hex[MPS_WSET_HEX_LEN];
	struct rte_eth_rss_reta_entry64 reta[MPS_RETA_MAX /
					     RTE_ETH_RETA_GROUP_SIZE];
	uint16_t nq = (uint16_t)pp->shared->cfg.n_workers, ids[MPS_MAX_WORKERS], n = 0;

	for (uint16_t q = 0; q < nq; q++)
		if (mps_wset_has(live, q))
			ids[n++] = q;
	for (uint16_t i = 0; i < pp->n_ports && nq > 1; i++) {
		uint16_t port = pp->port_ids[i];
		struct rte_eth_dev_info info;
		int ret;

		if (rte_eth_dev_info_get(port, &info) != 0 || info.reta_size == 0 ||
		    info.reta_size > MPS_RETA_MAX ||
		    strcmp(info.driver_name, "net_tap") == 0)
			continue;
		memset(reta, 0, sizeof(reta));
		for (uint16_t e = 0, k = 0; e < info.reta_size; e++) {
			uint16_t q = e % nq;

			if (n != 0 && !mps_wset_has(live, q))
				q = ids[k++ % n];
			reta[e / RTE_ETH_RETA_GROUP_SIZE].mask |=
				1ull << (e % RTE_ETH_RETA_GROUP_SIZE);
			reta[e / RTE_ETH_RETA_GROUP_SIZE].reta[e % RTE_ETH_RETA_GROUP_SIZE] = q;
		}
		ret = rte_eth_dev_rss_reta_update(port, reta, info.reta_size);
		if (ret != 0)
			MPS_LOG(WARNING, "port %u: RETA update for live queues %s refused: %s",
				port, mps_wset_hex(live, hex, sizeof(hex)), rte_strerror(-ret));
		else
			MPS_LOG(INFO, "port %u: RETA spread over live queues %s",
				port, mps_wset_hex(live, hex, sizeof(hex)));
	}
}
