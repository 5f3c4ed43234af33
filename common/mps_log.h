/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mps_log.h - the application's registered log type ("user.mps").
 */
#ifndef MPS_LOG_H
#define MPS_LOG_H

#include <rte_log.h>

extern int mps_logtype;

#define MPS_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, mps_logtype, "MPS: " fmt "\n", ##__VA_ARGS__)

#endif /* MPS_LOG_H */
