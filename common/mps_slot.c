/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mps_slot.c - who owns a worker slot: a worker's claim, and the
 * primary's reap of an owner that died (the protocol: mps_slot.h).
 */
#include <errno.h>

#include "mps_proc.h"
#include "mps_slot.h"

int
mps_slot_claim(struct mps_worker_slot *s, int32_t me, int32_t *prev)
{
	int32_t owner = __atomic_load_n(&s->owner_pid, __ATOMIC_ACQUIRE);
	uint32_t state = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);

	if (owner != 0 && mps_pid_alive(owner))
		return -EBUSY;
	/* A dead owner's reader may still be registered: the primary
	 * unregisters it first (it saw DEAD or FREE after that). */
	if (owner != 0 && state != MPS_WORKER_DEAD && state != MPS_WORKER_FREE)
		return -EAGAIN;
	if (!__atomic_compare_exchange_n(&s->owner_pid, &owner, me, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return -EBUSY;
	*prev = owner;
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
	/* From here no claim succeeds... */
	if (!__atomic_compare_exchange_n(&s->state, &state, MPS_WORKER_REAPING, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return 0;
	/* ...but one may have landed before: the owner released the slot
	 * (FREE), a new worker claimed it and now shows the state we saw. */
	if (__atomic_load_n(&s->owner_pid, __ATOMIC_ACQUIRE) != owner) {
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
	__atomic_store_n(&s->state, MPS_WORKER_DEAD, __ATOMIC_RELEASE);
}
