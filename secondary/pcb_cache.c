/* SPDX-License-Identifier: BSD-3-Clause
 *
 * pcb_cache.c - a segment finds its connection's PCB in O(1).
 *
 * lwIP finds the PCB of every segment by walking its list of active PCBs
 * and moves the one it found to the front. With N connections taking
 * turns, each segment's PCB is about N entries deep: the walk costs a few
 * cycles per connection the worker holds, for every segment.
 *
 * This is a cache in front of that walk (our patch to tcp_in.c): one
 * pointer per slot, the slot chosen by a seeded hash of the 4-tuple. lwIP
 * fills it when its walk finds a PCB, and takes the cached PCB when it is
 * still active (not CLOSED, LISTEN or TIME_WAIT), carries the segment's
 * 4-tuple and is bound to no other netif; anything else (an empty slot,
 * two connections in one slot) walks as before, so the cache changes
 * which PCB is found never, only how fast. A PCB that lwIP frees clears
 * its slot first: the PCB's extension slot (LWIP_TCP_PCB_NUM_EXT_ARGS)
 * records where it was cached, and its destroy callback runs in tcp_free,
 * which every PCB goes through, so no slot points at a free PCB. (One
 * moment differs from lwIP's list: tcp_close with unread data, called
 * from inside tcp_input, unlinks the PCB at once and frees it when
 * tcp_input ends; no segment is looked up in between, as tcp_input is
 * never nested.)
 */
#include <stddef.h>
#include <stdint.h>

#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/tcp.h"
#include "lwip/tcp.h"

#include "pcb_cache.h"

#define CACHE_SLOTS 65536u /* a power of 2, 6 times MEMP_NUM_TCP_PCB: few PCBs share a slot */
_Static_assert((CACHE_SLOTS & (CACHE_SLOTS - 1)) == 0 && CACHE_SLOTS >= MEMP_NUM_TCP_PCB,
	       "CACHE_SLOTS: a power of 2, one slot per PCB at least");

static struct tcp_pcb *slots[CACHE_SLOTS];
static uint64_t hash_seed;
static u8_t ext_id = LWIP_TCP_PCB_NUM_EXT_ARG_ID_INVALID;

static void cache_destroy(u8_t id, void *data);

static const struct tcp_ext_arg_callbacks cache_cbs = {
	.destroy = cache_destroy,
};

/* Addresses in network order, ports in host order, as lwIP keeps them. */
static inline uint32_t
slot_of(uint32_t local_ip, uint16_t local_port, uint32_t remote_ip, uint16_t remote_port)
{
	uint64_t k = (((uint64_t)remote_ip << 32) | local_ip) ^ hash_seed;

	k += ((uint64_t)remote_port << 16 | local_port) * 0x9e3779b97f4a7c15ull;
	k ^= k >> 31;
	k *= 0xbf58476d1ce4e5b9ull;
	k ^= k >> 29;
	return (uint32_t)k & (CACHE_SLOTS - 1);
}

static inline int
pcb_is(const struct tcp_pcb *pcb, uint32_t local_ip, uint16_t local_port,
       uint32_t remote_ip, uint16_t remote_port)
{
	return pcb->remote_port == remote_port && pcb->local_port == local_port &&
	       ip4_addr_get_u32(&pcb->remote_ip) == remote_ip &&
	       ip4_addr_get_u32(&pcb->local_ip) == local_ip;
}

static inline int
active(const struct tcp_pcb *pcb)
{
	return pcb->state != CLOSED && pcb->state != LISTEN && pcb->state != TIME_WAIT;
}

void
mps_pcb_cache_init(uint64_t seed)
{
	hash_seed = seed;
	if (ext_id == LWIP_TCP_PCB_NUM_EXT_ARG_ID_INVALID)
		ext_id = tcp_ext_arg_alloc_id();
	for (uint32_t i = 0; i < CACHE_SLOTS; i++)
		slots[i] = NULL;
}

/* lwIP frees a PCB we cached: its slot goes (another PCB may have taken
 * the slot since; it only walks again). */
static void
cache_destroy(u8_t id, void *data)
{
	(void)id;
	slots[(uintptr_t)data] = NULL;
}

struct tcp_pcb *
mps_pcb_cache_lookup(uint32_t local_ip, uint16_t local_port, uint32_t remote_ip,
		     uint16_t remote_port)
{
	struct tcp_pcb *pcb = slots[slot_of(local_ip, local_port, remote_ip, remote_port)];

	if (pcb == NULL || !active(pcb) ||
	    !pcb_is(pcb, local_ip, local_port, remote_ip, remote_port))
		return NULL;
	return pcb;
}

struct tcp_pcb *
mps_pcb_cache_find(const struct tcp_hdr *hdr, const struct ip4_addr *src,
		   const struct ip4_addr *dst, const struct netif *inp)
{
	/* tcp_input turned the ports to host order already */
	struct tcp_pcb *pcb = mps_pcb_cache_lookup(ip4_addr_get_u32(dst), hdr->dest,
						   ip4_addr_get_u32(src), hdr->src);

	if (pcb != NULL && pcb->netif_idx != NETIF_NO_INDEX &&
	    pcb->netif_idx != netif_get_index(inp))
		return NULL; /* lwIP's walk skips it too */
	return pcb;
}

void
mps_pcb_cache_found(struct tcp_pcb *pcb)
{
	uint32_t s;

	if (ext_id == LWIP_TCP_PCB_NUM_EXT_ARG_ID_INVALID)
		return; /* not initialised: lwIP walks */
	s = slot_of(ip4_addr_get_u32(&pcb->local_ip), pcb->local_port,
		    ip4_addr_get_u32(&pcb->remote_ip), pcb->remote_port);
	tcp_ext_arg_set(pcb, ext_id, (void *)(uintptr_t)s);
	tcp_ext_arg_set_callbacks(pcb, ext_id, &cache_cbs);
	slots[s] = pcb;
}

int
mps_pcb_cache_holds(const struct tcp_pcb *pcb)
{
	for (uint32_t i = 0; i < CACHE_SLOTS; i++)
		if (slots[i] == pcb)
			return 1;
	return 0;
}
