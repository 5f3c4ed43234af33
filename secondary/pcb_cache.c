/* SPDX-License-Identifier: BSD-3-Clause
 *
 * pcb_cache.c - a segment finds its connection's PCB, or that it has none,
 * in O(1).
 *
 * lwIP finds the PCB of every segment by walking its list of active PCBs,
 * then its list of TIME_WAIT PCBs. With N connections, a segment for none
 * of them (a SYN, a forged ACK or RST, a late segment) walks all N, and
 * one for a connection deep in the list walks most of them: a trickle of
 * forged segments could keep a worker busy.
 *
 * This is an index of both lists, in front of lwIP's walks (our patch to
 * tcp_in.c): a hash of the 4-tuple, seeded, chained. It is complete: lwIP
 * puts a PCB on a list and takes it off only through TCP_REG and TCP_RMV,
 * which our hook file (lwip_hooks.h) extends to tell us, except where
 * tcp_slowtmr unlinks a PCB it then frees at once; every PCB is freed
 * through tcp_free, whose extension-slot destroy callback drops it here
 * too. So an entry is on its list, and a 4-tuple with no entry has no PCB
 * on it: lwIP skips its walk. An entry whose PCB is bound to another netif
 * lets lwIP walk. A 4-tuple lives on a list once (lwIP refuses a second
 * connect, a SYN for a TIME_WAIT tuple goes to that PCB). (One moment
 * differs from lwIP's list: tcp_close with unread data, called from inside
 * tcp_input, unlinks the PCB at once and frees it when tcp_input ends; no
 * segment is looked up in between, as tcp_input is never nested.)
 *
 * Builds with AddressSanitizer (the tests, the fuzzer, the ASan smoke
 * test) check every answer against lwIP's walk and abort on a difference.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/tcp.h"
#include "lwip/tcp.h"

#include "pcb_cache.h"

#if defined(__SANITIZE_ADDRESS__)
#define INDEX_CHECK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define INDEX_CHECK 1
#endif
#endif

#if TCP_DEBUG_PCB_LISTS
#error "lwip_hooks.h extends the TCP_REG/TCP_RMV of builds without TCP_DEBUG_PCB_LISTS"
#endif

#define SLOTS 65536u /* a power of 2, 6 times MEMP_NUM_TCP_PCB: chains stay short */
_Static_assert((SLOTS & (SLOTS - 1)) == 0 && SLOTS >= MEMP_NUM_TCP_PCB,
	       "SLOTS: a power of 2, one slot per PCB at least");

enum { LIST_ACTIVE = 1, LIST_TW = 2 };

/* One indexed PCB: its chain links are node numbers, -1 for none. */
struct node {
	struct tcp_pcb *pcb;
	int32_t next, prev;
	uint32_t slot;
	uint8_t list;
};

static int32_t heads[SLOTS];
static struct node nodes[MEMP_NUM_TCP_PCB];
static int32_t free_node;
/* A PCB was listed while no node was free (cannot be: one node per PCB
 * of the pool): from then on, a miss walks. */
static int incomplete;
static unsigned long checked;
static uint64_t hash_seed;
static u8_t ext_id = LWIP_TCP_PCB_NUM_EXT_ARG_ID_INVALID;

static void index_destroy(u8_t id, void *data);

static const struct tcp_ext_arg_callbacks index_cbs = {
	.destroy = index_destroy,
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
	return (uint32_t)k & (SLOTS - 1);
}

static inline int
pcb_is(const struct tcp_pcb *pcb, uint32_t local_ip, uint16_t local_port,
       uint32_t remote_ip, uint16_t remote_port)
{
	return pcb->remote_port == remote_port && pcb->local_port == local_port &&
	       ip4_addr_get_u32(&pcb->remote_ip) == remote_ip &&
	       ip4_addr_get_u32(&pcb->local_ip) == local_ip;
}

/* The list a PCB list pointer names, or 0 for one the index leaves out
 * (bound, listen). */
static inline uint8_t
list_of(struct tcp_pcb **list)
{
	return list == &tcp_active_pcbs ? LIST_ACTIVE : list == &tcp_tw_pcbs ? LIST_TW : 0;
}

void
mps_pcb_cache_init(uint64_t seed)
{
	if (ext_id == LWIP_TCP_PCB_NUM_EXT_ARG_ID_INVALID)
		ext_id = tcp_ext_arg_alloc_id();
	for (uint32_t i = 0; i < MEMP_NUM_TCP_PCB; i++)
		if (nodes[i].pcb != NULL)
			nodes[i].pcb->ext_args[ext_id].data = NULL;
	hash_seed = seed;
	for (uint32_t i = 0; i < SLOTS; i++)
		heads[i] = -1;
	for (int32_t i = 0; i < (int32_t)MEMP_NUM_TCP_PCB; i++)
		nodes[i] = (struct node){ .next = i + 1 < (int32_t)MEMP_NUM_TCP_PCB ? i + 1 : -1,
					  .prev = -1 };
	free_node = 0;
	incomplete = 0;
	/* Called again while lwIP holds connections: they are indexed anew. */
	for (struct tcp_pcb *pcb = tcp_active_pcbs; pcb != NULL; pcb = pcb->next)
		mps_pcb_cache_listed(&tcp_active_pcbs, pcb);
	for (struct tcp_pcb *pcb = tcp_tw_pcbs; pcb != NULL; pcb = pcb->next)
		mps_pcb_cache_listed(&tcp_tw_pcbs, pcb);
}

/* The node pcb holds (its extension slot keeps the number + 1), or -1. */
static inline int32_t
node_of(const struct tcp_pcb *pcb)
{
	return (int32_t)(uintptr_t)pcb->ext_args[ext_id].data - 1;
}

static void
unlink_node(int32_t i)
{
	struct node *n = &nodes[i];

	if (n->prev >= 0)
		nodes[n->prev].next = n->next;
	else
		heads[n->slot] = n->next;
	if (n->next >= 0)
		nodes[n->next].prev = n->prev;
	n->pcb->ext_args[ext_id].data = NULL;
	*n = (struct node){ .next = free_node, .prev = -1 };
	free_node = i;
}

/* tcp_free: the PCB leaves the index if the list it was on did not tell
 * (tcp_slowtmr's unlinks). */
static void
index_destroy(u8_t id, void *data)
{
	(void)id;
	if (data != NULL)
		unlink_node((int32_t)(uintptr_t)data - 1);
}

void
mps_pcb_cache_listed(struct tcp_pcb **list, struct tcp_pcb *pcb)
{
	uint8_t which = list_of(list);
	struct node *n;
	uint32_t slot;
	int32_t i;

	if (which == 0 || ext_id == LWIP_TCP_PCB_NUM_EXT_ARG_ID_INVALID)
		return;
	if (node_of(pcb) >= 0) /* not on two lists; cannot happen */
		unlink_node(node_of(pcb));
	if (free_node < 0) { /* cannot happen: a node per PCB of the pool */
		incomplete = 1;
		return;
	}
	i = free_node;
	n = &nodes[i];
	free_node = n->next;
	slot = slot_of(ip4_addr_get_u32(&pcb->local_ip), pcb->local_port,
		       ip4_addr_get_u32(&pcb->remote_ip), pcb->remote_port);
	*n = (struct node){ .pcb = pcb, .slot = slot, .list = which,
			    .prev = -1, .next = heads[slot] };
	if (n->next >= 0)
		nodes[n->next].prev = i;
	heads[n->slot] = i;
	tcp_ext_arg_set(pcb, ext_id, (void *)(uintptr_t)(i + 1));
	tcp_ext_arg_set_callbacks(pcb, ext_id, &index_cbs);
}

void
mps_pcb_cache_unlisted(struct tcp_pcb **list, struct tcp_pcb *pcb)
{
	int32_t i;

	if (ext_id == LWIP_TCP_PCB_NUM_EXT_ARG_ID_INVALID)
		return;
	i = node_of(pcb);
	if (i >= 0 && list_of(list) != 0 && nodes[i].list == list_of(list))
		unlink_node(i);
}

/* The PCB on list with this 4-tuple: the index's answer. */
static struct tcp_pcb *
index_find(uint8_t which, uint32_t local_ip, uint16_t local_port, uint32_t remote_ip,
	   uint16_t remote_port)
{
	for (int32_t i = heads[slot_of(local_ip, local_port, remote_ip, remote_port)]; i >= 0;
	     i = nodes[i].next)
		if (nodes[i].list == which &&
		    pcb_is(nodes[i].pcb, local_ip, local_port, remote_ip, remote_port))
			return nodes[i].pcb;
	return NULL;
}

/* The same answer from lwIP's list, as its walk finds it (a list holds
 * at most the pool's PCBs: a longer walk goes round in circles). */
static struct tcp_pcb *
walk_find(struct tcp_pcb *list, uint32_t local_ip, uint16_t local_port, uint32_t remote_ip,
	  uint16_t remote_port)
{
	uint32_t steps = 0;

	for (struct tcp_pcb *pcb = list; pcb != NULL && steps++ < MEMP_NUM_TCP_PCB; pcb = pcb->next)
		if (pcb_is(pcb, local_ip, local_port, remote_ip, remote_port))
			return pcb;
	return NULL;
}

static struct tcp_pcb *
find(uint8_t which, uint32_t local_ip, uint16_t local_port, uint32_t remote_ip,
     uint16_t remote_port)
{
	struct tcp_pcb *pcb = index_find(which, local_ip, local_port, remote_ip, remote_port);

#ifdef INDEX_CHECK
	struct tcp_pcb *walk = walk_find(which == LIST_ACTIVE ? tcp_active_pcbs : tcp_tw_pcbs,
					 local_ip, local_port, remote_ip, remote_port);

	if (!incomplete && pcb != walk) {
		fprintf(stderr, "pcb_cache: the index found %p on the %s list, lwIP's walk %p\n",
			(void *)pcb, which == LIST_ACTIVE ? "active" : "TIME_WAIT", (void *)walk);
		abort();
	}
	checked++;
#endif
	return pcb;
}

/* The hooks' answer: the PCB, NULL to walk, LWIP_HOOK_TCP_PCB_NONE for no PCB. */
static struct tcp_pcb *
hook_answer(uint8_t which, const struct tcp_hdr *hdr, const struct ip4_addr *src,
	    const struct ip4_addr *dst, const struct netif *inp)
{
	struct tcp_pcb *pcb;

	if (ext_id == LWIP_TCP_PCB_NUM_EXT_ARG_ID_INVALID)
		return NULL; /* not initialised: lwIP walks */
	/* tcp_input turned the ports to host order already */
	pcb = find(which, ip4_addr_get_u32(dst), hdr->dest, ip4_addr_get_u32(src), hdr->src);
	if (pcb == NULL)
		return incomplete ? NULL : LWIP_HOOK_TCP_PCB_NONE;
	if (pcb->netif_idx != NETIF_NO_INDEX && pcb->netif_idx != netif_get_index(inp))
		return NULL; /* lwIP's walk skips it */
	return pcb;
}

struct tcp_pcb *
mps_pcb_cache_find(const struct tcp_hdr *hdr, const struct ip4_addr *src,
		   const struct ip4_addr *dst, const struct netif *inp)
{
	return hook_answer(LIST_ACTIVE, hdr, src, dst, inp);
}

struct tcp_pcb *
mps_pcb_cache_find_tw(const struct tcp_hdr *hdr, const struct ip4_addr *src,
		      const struct ip4_addr *dst, const struct netif *inp)
{
	return hook_answer(LIST_TW, hdr, src, dst, inp);
}

int
mps_pcb_cache_has(uint32_t local_ip, uint16_t local_port, uint32_t remote_ip,
		  uint16_t remote_port)
{
	if (incomplete || ext_id == LWIP_TCP_PCB_NUM_EXT_ARG_ID_INVALID)
		return walk_find(tcp_active_pcbs, local_ip, local_port, remote_ip, remote_port) ||
		       walk_find(tcp_tw_pcbs, local_ip, local_port, remote_ip, remote_port);
	return find(LIST_ACTIVE, local_ip, local_port, remote_ip, remote_port) != NULL ||
	       find(LIST_TW, local_ip, local_port, remote_ip, remote_port) != NULL;
}

struct tcp_pcb *
mps_pcb_cache_lookup(uint32_t local_ip, uint16_t local_port, uint32_t remote_ip,
		     uint16_t remote_port)
{
	if (ext_id == LWIP_TCP_PCB_NUM_EXT_ARG_ID_INVALID)
		return walk_find(tcp_active_pcbs, local_ip, local_port, remote_ip, remote_port);
	return find(LIST_ACTIVE, local_ip, local_port, remote_ip, remote_port);
}

int
mps_pcb_cache_holds(const struct tcp_pcb *pcb)
{
	for (uint32_t i = 0; i < MEMP_NUM_TCP_PCB; i++)
		if (nodes[i].pcb == pcb)
			return 1;
	return 0;
}

unsigned long
mps_pcb_cache_checked(void)
{
	return checked;
}
