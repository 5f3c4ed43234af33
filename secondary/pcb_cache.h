/* SPDX-License-Identifier: BSD-3-Clause
 *
 * pcb_cache.h - a segment finds its connection's PCB in O(1) (see
 * pcb_cache.c).
 */
#ifndef MPS_PCB_CACHE_H
#define MPS_PCB_CACHE_H

#include <stdint.h>

struct netif;
struct tcp_hdr;
struct tcp_pcb;
struct ip4_addr;

/* Takes an extension slot of every PCB and the hash's seed; call once,
 * before lwIP opens or accepts a connection. */
void mps_pcb_cache_init(uint64_t seed);

/* LWIP_HOOK_TCP_PCB_FIND (our patch to tcp_in.c): the active PCB for the
 * segment (hdr's ports in host order, as tcp_input has them then), or
 * NULL, and lwIP walks its list as before. */
struct tcp_pcb *mps_pcb_cache_find(const struct tcp_hdr *hdr, const struct ip4_addr *src,
				   const struct ip4_addr *dst, const struct netif *inp);

/* LWIP_HOOK_TCP_PCB_FOUND: lwIP's walk found pcb; the next segment will
 * not walk. */
void mps_pcb_cache_found(struct tcp_pcb *pcb);

/* The active PCB for a 4-tuple if the cache holds it, else NULL:
 * addresses in network order, ports in host order. */
struct tcp_pcb *mps_pcb_cache_lookup(uint32_t local_ip, uint16_t local_port,
				     uint32_t remote_ip, uint16_t remote_port);

/* 1 if a slot points at pcb (the check's view: after lwIP frees a PCB, no
 * slot may). */
int mps_pcb_cache_holds(const struct tcp_pcb *pcb);

#endif /* MPS_PCB_CACHE_H */
