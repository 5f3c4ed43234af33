/* SPDX-License-Identifier: BSD-3-Clause
 *
 * attach.h - a worker's attach, slot claim and release.
 */
#ifndef MPS_ATTACH_H
#define MPS_ATTACH_H

#include <stddef.h>

struct mps_worker;

/* Looks up every shared object; one-line reason in err on failure. */
int mps_attach(struct mps_worker *w, char *err, size_t errlen);
/* Claims slot `requested`, or the lowest free one when it is negative. */
int mps_claim_slot(struct mps_worker *w, int requested, char *err, size_t errlen);
void mps_release_slot(struct mps_worker *w);

#endif /* MPS_ATTACH_H */
