/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mps_slot.h - who owns a worker slot: a worker claims it, the primary
 * reaps it when its owner dies without releasing it.
 *
 * Both sides touch the slot's neighbour-table QSBR reader: a claimer
 * registers it, the reaper takes the dead owner's offline and unregisters
 * it. The reaper must never do that to a new owner's registration, so a
 * slot whose owner died is claimable only once the reap is over (state
 * DEAD), or if the owner had released it (FREE); while the primary has
 * not reaped it yet, or reaps it (REAPING), claims wait. A claimer that
 * won the slot while a reap began (it looked before another owner came
 * and died) waits for the reap's end before it registers.
 */
#ifndef MPS_SLOT_H
#define MPS_SLOT_H

#include <stdint.h>

#include "mps_shared.h"

/* Worker side: makes pid me the owner of slot s; register its reader only
 * after this returns 0 (*prev = the last owner, 0 if none). -EBUSY if a
 * live process owns it; -EAGAIN if its owner died and the primary has not
 * reaped the slot yet (try again after the primary's next check);
 * -ETIMEDOUT if the slot is ours but a reap of it did not end within
 * wait_ms (the primary is stopped: give up; ours is then a dead owner's
 * slot like any other). */
int mps_slot_claim(struct mps_worker_slot *s, int32_t me, int32_t *prev,
		   unsigned int wait_ms);

/* Primary side: 1 if the owner of s died without releasing it; the slot is
 * then REAPING and its owner's pid in *pid: take its reader offline,
 * unregister it, and end with mps_slot_reap_end. 0 if there is nothing to
 * reap (free, live, already dead, or claimed meanwhile). */
int mps_slot_reap_begin(struct mps_worker_slot *s, int32_t *pid);

/* Marks the REAPING slot DEAD: claimable from now on. */
void mps_slot_reap_end(struct mps_worker_slot *s);

#endif /* MPS_SLOT_H */
