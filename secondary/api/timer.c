/* SPDX-License-Identifier: BSD-3-Clause
 *
 * timer.c - per-connection deadlines on a hashed timer wheel: arming,
 * re-arming and cancelling cost O(1); see timer.h.
 *
 * Each armed timer sits in the doubly linked list of the slot its deadline
 * falls in (tick % MPS_TIMER_SLOTS), or in the due list once found expired.
 * The cursor visits each slot when the clock passes it; a timer whose
 * deadline is a turn or more away stays where it is until its turn.
 */
#include <errno.h>
#include <stdlib.h>

#include "timer.h"

#define NIL (-1)
#define LIST_NONE UINT16_MAX
#define LIST_DUE MPS_TIMER_SLOTS /* the last list head */

_Static_assert((MPS_TIMER_SLOTS & (MPS_TIMER_SLOTS - 1)) == 0, "slots: a power of 2");

struct timer_node {
	int32_t prev, next;
	uint64_t expiry_ms;
	uint16_t list;       /* slot, LIST_DUE or LIST_NONE */
};

static struct timer_node *nodes;
static uint32_t n_nodes;
static int32_t heads[MPS_TIMER_SLOTS + 1];
static uint64_t cursor; /* the first tick whose slot is not visited yet */

int
mps_timer_init(uint32_t n, uint64_t now_ms)
{
	free(nodes);
	nodes = calloc(n, sizeof(*nodes));
	if (nodes == NULL)
		return -ENOMEM;
	n_nodes = n;
	for (uint32_t i = 0; i < n; i++)
		nodes[i].list = LIST_NONE;
	for (uint32_t i = 0; i <= MPS_TIMER_SLOTS; i++)
		heads[i] = NIL;
	cursor = now_ms / MPS_TIMER_TICK_MS;
	return 0;
}

static void
unlink_node(int32_t id)
{
	struct timer_node *t = &nodes[id];

	if (t->prev != NIL)
		nodes[t->prev].next = t->next;
	else
		heads[t->list] = t->next;
	if (t->next != NIL)
		nodes[t->next].prev = t->prev;
	t->list = LIST_NONE;
}

static void
push_node(int32_t id, uint16_t list)
{
	struct timer_node *t = &nodes[id];

	t->list = list;
	t->prev = NIL;
	t->next = heads[list];
	if (t->next != NIL)
		nodes[t->next].prev = id;
	heads[list] = id;
}

void
mps_timer_arm(uint32_t id, uint64_t expiry_ms)
{
	uint64_t tick = expiry_ms / MPS_TIMER_TICK_MS;

	if (id >= n_nodes)
		return;
	if (nodes[id].list != LIST_NONE)
		unlink_node((int32_t)id);
	nodes[id].expiry_ms = expiry_ms;
	/* A slot the cursor has passed would be seen only a turn later. */
	push_node((int32_t)id, tick < cursor ? LIST_DUE :
		  (uint16_t)(tick & (MPS_TIMER_SLOTS - 1)));
}

void
mps_timer_cancel(uint32_t id)
{
	if (id < n_nodes && nodes[id].list != LIST_NONE)
		unlink_node((int32_t)id);
}

int
mps_timer_armed(uint32_t id)
{
	return id < n_nodes && nodes[id].list != LIST_NONE;
}

uint64_t
mps_timer_expiry(uint32_t id)
{
	return id < n_nodes ? nodes[id].expiry_ms : 0;
}

/* Moves the expired timers of one slot to the due list. */
static void
collect_slot(uint32_t slot, uint64_t now_ms)
{
	int32_t id = heads[slot];

	while (id != NIL) {
		int32_t next = nodes[id].next;

		if (nodes[id].expiry_ms <= now_ms) {
			unlink_node(id);
			push_node(id, LIST_DUE);
		}
		id = next;
	}
}

int32_t
mps_timer_next_expired(uint64_t now_ms)
{
	uint64_t now_tick = now_ms / MPS_TIMER_TICK_MS;
	int32_t id;

	if (nodes == NULL)
		return -1;
	/* A tick's slot is visited once the tick is over, so everything
	 * in it for this turn has expired. After a long stall, one visit of
	 * every slot is enough. */
	if (now_tick > cursor + MPS_TIMER_SLOTS)
		cursor = now_tick - MPS_TIMER_SLOTS;
	while (cursor < now_tick)
		collect_slot((uint32_t)(cursor++ & (MPS_TIMER_SLOTS - 1)), now_ms);
	id = heads[LIST_DUE];
	if (id == NIL)
		return -1;
	unlink_node(id);
	return id;
}
