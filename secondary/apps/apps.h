/* SPDX-License-Identifier: BSD-3-Clause
 *
 * apps.h - the built-in applications, written on the worker API (api/api.h).
 */
#ifndef MPS_APPS_H
#define MPS_APPS_H

#include <stdint.h>

#include "api/api.h"
#include "mps_config.h"

/* Each built-in app's callbacks (servers) and the clients. */
extern const struct mps_api_ops mps_echo_ops;
extern const struct mps_api_ops mps_http_ops;
extern const struct mps_api_ops mps_discard_ops;
extern const struct mps_api_ops mps_source_ops;
extern const struct mps_api_ops mps_echo_client_ops;
extern const struct mps_api_ops mps_bulk_client_ops;

#define MPS_ECHO_CLIENT_ROUNDS 100u /* round trips, then the client closes */
#define MPS_ECHO_CLIENT_MSG 64u     /* bytes per round trip */
#define MPS_SOURCE_BLOCK 65536u     /* source: bytes pushed per byte received */

/* apps.c: listeners from the config (after mps_api_init), the --connect
 * active opens, and closing everything. */
int mps_apps_listen(const struct mps_config *cfg);
void mps_apps_connect(const struct mps_config *cfg);
void mps_apps_close_all(void);

#endif /* MPS_APPS_H */
