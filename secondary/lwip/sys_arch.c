/* SPDX-License-Identifier: BSD-3-Clause
 *
 * sys_arch.c - lwIP's clock for NO_SYS: milliseconds from the TSC.
 */
#include <rte_cycles.h>

#include "lwip/sys.h"

u32_t
sys_now(void)
{
	static uint64_t cycles_per_ms;

	if (cycles_per_ms == 0)
		cycles_per_ms = rte_get_tsc_hz() / 1000;
	return (u32_t)(rte_get_tsc_cycles() / cycles_per_ms);
}
