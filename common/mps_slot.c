/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mps_slot.c - who owns a worker slot: a worker's claim, and the
 * primary's reap of an owner that died (the protocol: mps_slot.h).
 */
#include <errno.h>

#include "mps_proc.h"
#include "mps_slot.h"

int
mps_slot_claim(struct mps_worker_slot *s, int32_t me, int32_t *prev,
	       unsigned int wait_ms)
{
	int32_t owner = __atomic_load_n(&s->owner_pid, __ATOMIC_ACQUIRE);
	uint32_t state = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);

	if (owner != 0 && mps_pid_alive(owner))
		return -EBUSY;
	/* A dead owner's reader may still be registered: take the slot only
	 * once the primary has unregistered it (DEAD), or if the owner
	 * released it (FREE). */
	if (owner != 0 && state != MPS_WORKER_DEAD && state != MPS_WORKER_FREE)
		return -EAGAIN;
	if (!__atomic_compare_exchange_n(&s->owner_pid, &owner, me, 0,
					 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return -EBUSY;
	*prev = owner;
	/* What we saw may be old: between our look and our swap, another
	 * worker took the slot, died, and the primary began to reap it
	 * (it swapped the state before it re-read the owner, we the owner
	 * before we read the state: one of us sees the other). Register only
	 * once that reap is over. */
	for (unsigned int ms = 0; __atomic_load_n(&s->state, __ATOMIC_SEQ_CST) ==
				  MPS_WORKER_REAPING; ms++) {
		if (ms == wait_ms)
			return -ETIMEDOUT;
		mps_sleep_us(1000);
	}
	return 0;
}

int
mps_slot_reap_begin(struct mps_worker_slot *s, int32_t *pid)
{
	int32_t owner = __atomic_load_n(&s->owner_pid, __ATOMIC_ACQUIRE);
	uint32_t state = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);

	if (owner == 0 || state == MPS_WORKER_DEAD || state == MPS_WORKER_FREE ||
	    state == MPS_WORKER_REAPING || mps_pid_alive(owner))
		return 0;
	/* From here no claim passes the gate... */
	if (!__atomic_compare_exchange_n(&s->state, &state, MPS_WORKER_REAPING, 0,
					 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return 0;
	/* ...but one may have landed before: a new owner (it waits for the
	 * end of a reap it sees) shows the state we saw. */
	if (__atomic_load_n(&s->owner_pid, __ATOMIC_SEQ_CST) != owner) {
		__atomic_compare_exchange_n(&s->state, &(uint32_t){ MPS_WORKER_REAPING },
					    state, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
		return 0;
	}
	*pid = owner;
	return 1;
}

void
mps_slot_reap_end(struct mps_worker_slot *s)
{
	uint32_t reaping = MPS_WORKER_REAPING;

	/* Only REAPING: a claimer does not move it on (it waits). */
	__atomic_compare_exchange_n(&s->state, &reaping, MPS_WORKER_DEAD, 0,
				    __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}
