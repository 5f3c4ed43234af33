/* SPDX-License-Identifier: BSD-3-Clause
 *
 * tcp_hooks.h - lwIP's TCP hooks for a worker (see tcp_hooks.c).
 *
 * ISN, TIME_WAIT reuse and the out-of-order limit, and the PCB lookup
 * steering asks (steer.c). lwIP calls the hooks through
 * the macros in lwipopts.h, which declares them for lwIP's own sources;
 * this header is for ours.
 */
#ifndef MPS_TCP_HOOKS_H
#define MPS_TCP_HOOKS_H

#include <stdint.h>

struct ip4_addr;
struct mps_shared;
struct pbuf;
struct tcp_hdr;
struct tcp_pcb;

/* Takes the stack's ISN secret from the memzone. Call once, before lwIP
 * opens or accepts a connection. -EINVAL: the primary never drew one. */
int mps_tcp_hooks_init(const struct mps_shared *sh);

/* TCP_OOSEQ_PBUFS_LIMIT: no out-of-order queueing while the worker holds
 * its budget of RX mbufs. */
unsigned short mps_ooseq_pbufs_limit(void);

/* LWIP_HOOK_TCP_ISN: RFC 6528 (mps_isn.h) under the stack's secret,
 * above a cut-short TIME_WAIT's snd_nxt. */
unsigned int mps_tcp_isn(const struct ip4_addr *local_ip, unsigned short local_port,
			 const struct ip4_addr *remote_ip, unsigned short remote_port);

/* 1 if our lwIP holds a connection (active or TIME_WAIT PCB) for this
 * 4-tuple: addresses in network order, ports in host order. */
int mps_tcp_has_pcb(uint32_t local_ip, uint16_t local_port, uint32_t remote_ip,
		    uint16_t remote_port);

/* LWIP_HOOK_TCP_INPACKET_PCB: ends a TIME_WAIT the way Linux does. */
signed char mps_tcp_inpacket_hook(struct tcp_pcb *pcb, struct tcp_hdr *hdr,
				  struct pbuf *p);

#endif /* MPS_TCP_HOOKS_H */
