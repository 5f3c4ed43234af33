/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mirror.c - copies of what this worker receives and sends, for mps-capture.
 *
 * While the capture has our bit in the memzone's capture_set,
 * each frame is copied with rte_pcapng_copy (a ready pcapng packet block,
 * port, queue and direction recorded) into the capture pool and put on the
 * capture ring. Copies that find no mbuf or no room are counted in
 * capture_drop and skipped: the data path never waits for the capture.
 */
#include <errno.h>

#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_pcapng.h>
#include <rte_ring.h>

#include "mirror.h"
#include "worker.h"

int
mps_mirror_init(struct mps_worker *w)
{
	w->capture_ring = rte_ring_lookup(MPS_CAPTURE_RING);
	w->capture_pool = rte_mempool_lookup(MPS_CAPTURE_POOL);
	if (w->capture_ring == NULL || w->capture_pool == NULL) {
		w->capture_ring = NULL; /* a primary without capture: never mirror */
		return -ENOENT;
	}
	return 0;
}

void
mps_mirror_burst(struct mps_worker *w, uint16_t port, struct rte_mbuf **pkts,
		 uint16_t n, int out)
{
	struct rte_mbuf *copies[MPS_MIRROR_BURST];
	enum rte_pcapng_direction dir = out ? RTE_PCAPNG_DIRECTION_OUT :
					      RTE_PCAPNG_DIRECTION_IN;
	uint32_t snaplen = w->shared->capture_snaplen;
	uint64_t ts = rte_get_tsc_cycles();
	unsigned int k = 0, sent;

	for (uint16_t i = 0; i < n && k < MPS_MIRROR_BURST; i++) {
		struct rte_mbuf *c = rte_pcapng_copy(port, w->id, pkts[i],
						     w->capture_pool, snaplen, ts, dir);

		if (unlikely(c == NULL))
			w->stats->capture_drop++;
		else
			copies[k++] = c;
	}
	if (n > MPS_MIRROR_BURST)
		w->stats->capture_drop += n - MPS_MIRROR_BURST;
	sent = rte_ring_mp_enqueue_burst(w->capture_ring, (void **)copies, k, NULL);
	if (unlikely(sent < k)) {
		rte_pktmbuf_free_bulk(copies + sent, k - sent);
		w->stats->capture_drop += k - sent;
	}
	w->stats->capture_pkts += sent;
}
