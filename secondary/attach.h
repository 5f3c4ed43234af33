/* SPDX-License-Identifier: BSD-3-Clause
 *
 * attach.h - a worker's attach, slot claim and release, and the files the
 * primary hands out.
 */
#ifndef MPS_ATTACH_H
#define MPS_ATTACH_H

#include <stddef.h>

struct mps_shared;
struct mps_worker;

/* Looks up every shared object; one-line reason in err on failure. */
int mps_attach(struct mps_worker *w, char *err, size_t errlen);
/* Claims slot `requested`, or the lowest free one when it is negative. */
int mps_claim_slot(struct mps_worker *w, int requested, char *err, size_t errlen);
/* The rest of a claim once slot id is ours (owner_pid set): the worker's
 * pointers, gauges, lcore, QSBR reader; state STARTING. */
void mps_slot_taken(struct mps_worker *w, uint16_t id);
/* Releases the slot we hold (w->slot: a worker or a drain slot). */
void mps_release_slot(struct mps_worker *w);
/* 0, or -EBUSY with a reason if a live process uses our EAL lcore id. */
int mps_check_lcore(const struct mps_shared *sh, char *err, size_t errlen);
/* One file descriptor from the primary: DPDK's multi-process request
 * `name` with param (len bytes), answered with one descriptor within
 * timeout_s; -1 if none came. */
int mps_primary_fd(const char *name, const void *param, size_t len, int timeout_s);

#endif /* MPS_ATTACH_H */
