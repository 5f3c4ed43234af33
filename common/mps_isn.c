/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mps_isn.c - see mps_isn.h.
 */
#include <string.h>

#include "mps_isn.h"

uint32_t
mps_isn_offset(const uint8_t secret[MPS_ISN_SECRET_LEN], uint32_t local_ip_be,
	       uint16_t local_port, uint32_t remote_ip_be, uint16_t remote_port)
{
	/* The tuple as it is on the wire: addresses as stored, ports big-endian. */
	uint8_t tuple[12];

	memcpy(tuple, &local_ip_be, 4);
	tuple[4] = (uint8_t)(local_port >> 8);
	tuple[5] = (uint8_t)local_port;
	memcpy(tuple + 6, &remote_ip_be, 4);
	tuple[10] = (uint8_t)(remote_port >> 8);
	tuple[11] = (uint8_t)remote_port;
	return (uint32_t)mps_siphash24(secret, tuple, sizeof(tuple));
}

uint32_t
mps_isn(const uint8_t secret[MPS_ISN_SECRET_LEN], uint32_t local_ip_be,
	uint16_t local_port, uint32_t remote_ip_be, uint16_t remote_port,
	uint32_t clock_4us)
{
	return clock_4us + mps_isn_offset(secret, local_ip_be, local_port,
					  remote_ip_be, remote_port);
}
