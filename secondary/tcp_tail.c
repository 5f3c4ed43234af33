/* SPDX-License-Identifier: BSD-3-Clause
 *
 * tcp_tail.c - lwIP's tcp_output appends to a PCB's unacknowledged
 * segments without walking them.
 *
 * lwIP 2.1.3 walks pcb->unacked to its end on every tcp_output, so a
 * sender with W bytes in flight walks W / MSS segments for each ACK. Our
 * patch to tcp_out.c asks for the tail here and tells us where it
 * appended. The tail is kept in the PCB's extension slot: tcp_output is
 * the only place lwIP adds to the list, and every other change takes
 * segments from its head (acknowledged, or moved back to be resent) or
 * empties it. So while the list is not empty, the last segment tcp_output
 * appended is its tail. A slot that does not look like a tail (none, or a
 * segment with a successor) is walked as before; builds with
 * AddressSanitizer (the tests, the fuzzer) check every answer against the
 * walk.
 */
#include <stdio.h>
#include <stdlib.h>

#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"

#include "tcp_tail.h"

#if defined(__SANITIZE_ADDRESS__)
#define TAIL_CHECK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TAIL_CHECK 1
#endif
#endif

static u8_t ext_id = LWIP_TCP_PCB_NUM_EXT_ARG_ID_INVALID;
static unsigned long checked;

unsigned long
mps_tcp_tail_checked(void)
{
	return checked;
}

struct tcp_seg *
mps_tcp_unacked_tail(struct tcp_pcb *pcb)
{
	struct tcp_seg *t = ext_id == LWIP_TCP_PCB_NUM_EXT_ARG_ID_INVALID ? NULL :
			    pcb->ext_args[ext_id].data;
	struct tcp_seg *walk = pcb->unacked;

#ifdef TAIL_CHECK
	while (walk->next != NULL)
		walk = walk->next;
	if (t != NULL && t != walk) {
		fprintf(stderr, "tcp_tail: the kept tail %p is not the last unacked segment %p\n",
			(void *)t, (void *)walk);
		abort();
	}
	checked += t != NULL;
#endif
	if (t == NULL || t->next != NULL) {
		for (t = walk; t->next != NULL; t = t->next)
			;
	}
	return t;
}

void
mps_tcp_unacked_tail_set(struct tcp_pcb *pcb, struct tcp_seg *seg)
{
	if (ext_id == LWIP_TCP_PCB_NUM_EXT_ARG_ID_INVALID)
		ext_id = tcp_ext_arg_alloc_id();
	pcb->ext_args[ext_id].data = seg;
}
