/* SPDX-License-Identifier: BSD-3-Clause
 *
 * arch/cc.h - lwIP's compiler and platform port for mpstack (Linux, gcc).
 */
#ifndef MPS_LWIP_ARCH_CC_H
#define MPS_LWIP_ARCH_CC_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>

#define LWIP_TIMEVAL_PRIVATE 0
#define LWIP_RAND() ((u32_t)random())

/* Byte swaps inline (lwIP's defaults are out-of-line calls on every header
 * field): x86 is little-endian. */
#define lwip_htons(x) ((u16_t)__builtin_bswap16((u16_t)(x)))
#define lwip_htonl(x) ((u32_t)__builtin_bswap32((u32_t)(x)))

#define LWIP_PLATFORM_DIAG(x) do { printf x; } while (0)
/* An lwIP invariant broke: stop loudly rather than corrupt state. */
#define LWIP_PLATFORM_ASSERT(x) do { \
	fprintf(stderr, "lwIP assertion \"%s\" failed at %s:%d\n", x, \
		__FILE__, __LINE__); \
	abort(); \
} while (0)

#endif /* MPS_LWIP_ARCH_CC_H */
