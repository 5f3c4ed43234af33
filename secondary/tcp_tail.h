/* SPDX-License-Identifier: BSD-3-Clause
 *
 * tcp_tail.h - the tail of a PCB's unacknowledged segments (tcp_tail.c).
 * lwIP calls these through LWIP_HOOK_TCP_UNACKED_TAIL and
 * LWIP_HOOK_TCP_UNACKED_TAIL_SET (lwipopts.h; our patch to tcp_out.c).
 */
#ifndef MPS_TCP_TAIL_H
#define MPS_TCP_TAIL_H

struct tcp_pcb;
struct tcp_seg;

/* The last segment of pcb's unacked list, which is not empty. */
struct tcp_seg *mps_tcp_unacked_tail(struct tcp_pcb *pcb);

/* tcp_output appended seg to pcb's unacked list: the tail now. */
void mps_tcp_unacked_tail_set(struct tcp_pcb *pcb, struct tcp_seg *seg);

/* How many tails were checked against lwIP's walk (builds with
 * AddressSanitizer; 0 in others): for tcp-tail-check. */
unsigned long mps_tcp_tail_checked(void);

#endif /* MPS_TCP_TAIL_H */
