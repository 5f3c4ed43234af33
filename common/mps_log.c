/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mps_log.c - registers the "user.mps" log type (--log-level=user.mps:debug).
 */
#include "mps_log.h"

RTE_LOG_REGISTER(mps_logtype, user.mps, INFO);
