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

#define LWIP_PLATFORM_DIAG(x) do { printf x; } while (0)
/* An lwIP invariant broke: stop loudly rather than corrupt state. */
#define LWIP_PLATFORM_ASSERT(x) do { \
	fprintf(stderr, "lwIP assertion \"%s\" failed at %s:%d\n", x, \
		__FILE__, __LINE__); \
	abort(); \
} while (0)

#endif /* MPS_LWIP_ARCH_CC_H */
