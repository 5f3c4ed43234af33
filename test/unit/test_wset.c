/* SPDX-License-Identifier: BSD-3-Clause
 *
 * test_wset.c - the worker sets of mps_shared.h (capture workers, live
 * RETA queues): every worker id up to MPS_MAX_WORKERS - 1 has its own
 * bit, past it none, and the hex form the logs print.
 */
#include <string.h>

#include "mps_shared.h"
#include "unit.h"

void
test_wset_every_worker(void)
{
	for (uint32_t w = 0; w < MPS_MAX_WORKERS; w++) {
		struct mps_wset s = { 0 }, t = { 0 };

		mps_wset_add(&s, w);
		for (uint32_t v = 0; v < MPS_MAX_WORKERS; v++)
			if (!CHECK_EQ(mps_wset_has(&s, v), v == w))
				printf("  set {%u}, asked %u\n", w, v);
		CHECK(!mps_wset_has(&s, MPS_MAX_WORKERS));
		CHECK(!mps_wset_equal(&s, &t));
		mps_wset_store(&t, &s);
		CHECK(mps_wset_equal(&s, &t));
	}
}

void
test_wset_hex(void)
{
	struct mps_wset s = { 0 };
	char hex[MPS_WSET_HEX_LEN];

	CHECK(strcmp(mps_wset_hex(&s, hex, sizeof(hex)), "0x0") == 0);
	mps_wset_add(&s, 0);
	mps_wset_add(&s, 31);
	mps_wset_add(&s, 32);
	CHECK(strcmp(mps_wset_hex(&s, hex, sizeof(hex)), "0x180000001") == 0);
	mps_wset_add(&s, MPS_MAX_WORKERS - 1);
	CHECK(strlen(mps_wset_hex(&s, hex, sizeof(hex))) == 2 + (MPS_MAX_WORKERS + 3) / 4);
}
