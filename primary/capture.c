/* SPDX-License-Identifier: BSD-3-Clause
 *
 * capture.c - what packet capture needs from the primary.
 *
 * dpdk-dumpcap/dpdk-pdump attach through rte_pdump, which in DPDK 22.11
 * only sees packets the primary itself receives or sends (rte_pdump_init
 * fails in an application secondary), so it shows none of the workers'
 * traffic. mps-capture covers that: the workers mirror into the capture
 * ring created here, with mbufs from the capture pool created here, so a
 * capture can never take mbufs from the data path. If a capture dies
 * without switching the mirror off, the monitor does it.
 */
#include <errno.h>
#include <signal.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_pcapng.h>
#include <rte_pdump.h>
#include <rte_ring.h>

#include "mps_log.h"
#include "mps_ring.h"
#include "mps_proc.h"
#include "primary.h"

#define CAPTURE_EXIT_WAIT_MS 2000u

#define CAPTURE_POOL_CACHE 32u

int
mps_capture_create(struct mps_primary *pp)
{
	int socket = (int)rte_socket_id();
	uint32_t frame = MPS_CAPTURE_FRAME(pp->shared->cfg.mtu);

	pp->capture_pool = rte_pktmbuf_pool_create(MPS_CAPTURE_POOL,
		MPS_CAPTURE_POOL_SIZE, CAPTURE_POOL_CACHE, 0,
		(uint16_t)rte_pcapng_mbuf_size(frame), socket);
	if (pp->capture_pool == NULL) {
		MPS_LOG(ERR, "cannot create %s: %s", MPS_CAPTURE_POOL,
			rte_strerror(rte_errno));
		return -rte_errno;
	}
	pp->capture_ring = rte_ring_create(MPS_CAPTURE_RING, MPS_CAPTURE_RING_SIZE,
					   socket, RING_F_SC_DEQ);
	if (pp->capture_ring == NULL) {
		MPS_LOG(ERR, "cannot create ring %s: %s", MPS_CAPTURE_RING,
			rte_strerror(rte_errno));
		return -rte_errno;
	}
	pp->shared->capture_snaplen = frame;
	if (rte_pdump_init() == 0)
		pp->pdump_ready = 1;
	else
		MPS_LOG(WARNING, "rte_pdump_init failed: %s; dpdk-dumpcap cannot attach",
			rte_strerror(rte_errno));
	return 0;
}

void
mps_capture_destroy(struct mps_primary *pp)
{
	struct mps_shared *sh = pp->shared;

	if (pp->pdump_ready)
		rte_pdump_uninit();
	pp->pdump_ready = 0;
	if (sh != NULL) {
		int32_t pid;
		unsigned int waited = 0;

		mps_wset_store(&sh->capture_set, &(struct mps_wset){ 0 });
		/* A running mps-capture sees the stop flag and reads the ring
		 * a last time: wait for it (bounded) before taking the ring. */
		while ((pid = __atomic_load_n(&sh->capture_pid, __ATOMIC_ACQUIRE)) != 0 &&
		       pid != sh->primary_pid && mps_pid_alive(pid) &&
		       waited < CAPTURE_EXIT_WAIT_MS) {
			mps_sleep_us(10000);
			waited += 10;
		}
		if (pid != 0 && pid != sh->primary_pid && mps_pid_alive(pid)) {
			MPS_LOG(WARNING, "mps-capture (pid %d) did not stop: capture ring left allocated",
				pid);
			return;
		}
	}
	mps_ring_free_mbufs(pp->capture_ring);
	rte_ring_free(pp->capture_ring);
	pp->capture_ring = NULL;
	rte_mempool_free(pp->capture_pool);
	pp->capture_pool = NULL;
}

/* A capture that died holding the mirror: switch it off and empty the ring
 * (its single consumer is gone, so the primary may dequeue). The primary
 * first takes the claim itself (dead pid -> its own), so no new capture can
 * claim the mirror while it switches it off and drains; then lets it go. */
void
mps_capture_check(struct mps_primary *pp)
{
	struct mps_shared *sh = pp->shared;
	int32_t pid = sh->capture_pid;

	if (pid == 0 || pid == sh->primary_pid || mps_pid_alive(pid))
		return;
	if (!__atomic_compare_exchange_n(&sh->capture_pid, &pid, sh->primary_pid, 0,
					 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return; /* a new capture claimed it first: its mirror, its ring */
	mps_wset_store(&sh->capture_set, &(struct mps_wset){ 0 });
	mps_ring_free_mbufs(pp->capture_ring);
	__atomic_store_n(&sh->capture_pid, 0, __ATOMIC_RELEASE);
	MPS_LOG(WARNING, "capture pid %d died; mirror switched off", pid);
}
