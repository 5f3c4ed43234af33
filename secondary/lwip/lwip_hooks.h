/* SPDX-License-Identifier: BSD-3-Clause
 *
 * lwip_hooks.h - lwIP's PCB list macros, telling the PCB index.
 *
 * lwIP's LWIP_HOOK_FILENAME: its core files include it after their own
 * headers. lwIP puts a PCB on its lists and takes it off through TCP_REG and
 * TCP_RMV (lwip/priv/tcp_priv.h). These are lwIP's own, each telling the
 * PCB index (secondary/pcb_cache.c) what changed, so that the index holds
 * exactly the active and TIME_WAIT lists (the functions are declared in
 * lwipopts.h).
 */
#ifndef MPS_LWIP_HOOKS_H
#define MPS_LWIP_HOOKS_H

#include "lwip/priv/tcp_priv.h"

#undef TCP_REG
#define TCP_REG(pcbs, npcb)                           \
	do {                                          \
		(npcb)->next = *(pcbs);               \
		*(pcbs) = (npcb);                     \
		tcp_timer_needed();                   \
		mps_pcb_cache_listed((pcbs), (npcb)); \
	} while (0)

#undef TCP_RMV
#define TCP_RMV(pcbs, npcb)                                          \
	do {                                                         \
		mps_pcb_cache_unlisted((pcbs), (npcb));              \
		if (*(pcbs) == (npcb)) {                             \
			*(pcbs) = (*(pcbs))->next;                   \
		} else {                                             \
			for (struct tcp_pcb *tcp_tmp_pcb = *(pcbs);  \
			     tcp_tmp_pcb != NULL;                    \
			     tcp_tmp_pcb = tcp_tmp_pcb->next) {      \
				if (tcp_tmp_pcb->next == (npcb)) {   \
					tcp_tmp_pcb->next = (npcb)->next; \
					break;                       \
				}                                    \
			}                                            \
		}                                                    \
		(npcb)->next = NULL;                                 \
	} while (0)

#endif /* MPS_LWIP_HOOKS_H */
