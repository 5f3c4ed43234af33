/* SPDX-License-Identifier: BSD-3-Clause
 *
 * pcb_cache.h - a segment finds its connection's PCB, or that it has none,
 * in O(1) (see pcb_cache.c).
 */
#ifndef MPS_PCB_CACHE_H
#define MPS_PCB_CACHE_H

#include <stdint.h>

struct netif;
struct tcp_hdr;
struct tcp_pcb;
struct ip4_addr;

/* Takes an extension slot of every PCB (the first time) and the hash's
 * seed, and indexes what lwIP's lists hold (nothing before lwIP opens or
 * accepts a connection). */
void mps_pcb_cache_init(uint64_t seed);

/* TCP_REG / TCP_RMV (lwip_hooks.h): pcb joined / left lwIP's list
 * *list; only the active and TIME_WAIT lists are indexed. */
void mps_pcb_cache_listed(struct tcp_pcb **list, struct tcp_pcb *pcb);
void mps_pcb_cache_unlisted(struct tcp_pcb **list, struct tcp_pcb *pcb);

/* LWIP_HOOK_TCP_PCB_FIND and LWIP_HOOK_TCP_TW_PCB_FIND (our patch to
 * tcp_in.c): the active (TIME_WAIT) PCB for the segment (hdr's ports in
 * host order, as tcp_input has them then), LWIP_HOOK_TCP_PCB_NONE
 * (lwipopts.h) if there is none, or NULL, and lwIP walks its list as
 * before. */
struct tcp_pcb *mps_pcb_cache_find(const struct tcp_hdr *hdr, const struct ip4_addr *src,
				   const struct ip4_addr *dst, const struct netif *inp);
struct tcp_pcb *mps_pcb_cache_find_tw(const struct tcp_hdr *hdr, const struct ip4_addr *src,
				      const struct ip4_addr *dst, const struct netif *inp);

/* The active PCB for a 4-tuple, else NULL: addresses in network order,
 * ports in host order. */
struct tcp_pcb *mps_pcb_cache_lookup(uint32_t local_ip, uint16_t local_port,
				     uint32_t remote_ip, uint16_t remote_port);
/* 1 if an active or TIME_WAIT PCB has the 4-tuple. */
int mps_pcb_cache_has(uint32_t local_ip, uint16_t local_port, uint32_t remote_ip,
		      uint16_t remote_port);

/* 1 if the index holds pcb (the check's view: after lwIP frees a PCB, it
 * may not). */
int mps_pcb_cache_holds(const struct tcp_pcb *pcb);
/* Answers compared with lwIP's walk (builds with AddressSanitizer). */
unsigned long mps_pcb_cache_checked(void);

#endif /* MPS_PCB_CACHE_H */
