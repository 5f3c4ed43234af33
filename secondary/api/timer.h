/* SPDX-License-Identifier: BSD-3-Clause
 *
 * timer.h - per-connection deadlines on a hashed timer wheel: arming,
 * re-arming and cancelling a deadline cost O(1), and finding the expired
 * ones costs what expired plus the slots the clock passed, never a walk
 * over every connection.
 *
 * Internal to the API (api/). Timers are numbered 0..n-1 by the caller
 * (conn.c: two per connection slot). Times are milliseconds of the worker's
 * clock (mps_worker()->now_ms).
 */
#ifndef MPS_API_TIMER_H
#define MPS_API_TIMER_H

#include <stdint.h>

#define MPS_TIMER_TICK_MS 10u   /* resolution: a deadline fires at most one tick late */
#define MPS_TIMER_SLOTS 4096u   /* 41 s per turn; later deadlines wait their turn */

/* Sets up n timers, all disarmed, with the wheel at now_ms. 0 or -ENOMEM. */
int mps_timer_init(uint32_t n, uint64_t now_ms);
/* (Re)arms timer id to fire at expiry_ms. */
void mps_timer_arm(uint32_t id, uint64_t expiry_ms);
/* Disarms timer id (a disarmed one stays so). */
void mps_timer_cancel(uint32_t id);
/* 1 if timer id is armed. */
int mps_timer_armed(uint32_t id);
/* Timer id's deadline (meaningful while armed). */
uint64_t mps_timer_expiry(uint32_t id);
/* The next timer whose deadline is at or before now_ms, disarmed, or -1
 * when none is left. The caller may arm or cancel any timer in between. */
int32_t mps_timer_next_expired(uint64_t now_ms);

#endif /* MPS_API_TIMER_H */
