/* SPDX-License-Identifier: BSD-3-Clause
 *
 * test_portopts.c - the port options: --no-offload and --vlan parse,
 * default off, and refuse what is out of range.
 */
#include <string.h>

#include "mps_config.h"
#include "unit.h"

/* Parses the NULL-terminated arguments into cfg; the parser's result. */
static int
parse(struct mps_config *cfg, const char *const *args)
{
	struct unit_argv a;
	char err[256];

	unit_argv_build(&a, args);
	return mps_config_parse_args(cfg, a.argc, a.argv, err, sizeof(err));
}

void
test_portopts_defaults(void)
{
	struct mps_config cfg;
	const char *none[] = { NULL };

	memset(&cfg, 0xa5, sizeof(cfg));
	CHECK_EQ(parse(&cfg, none), 0);
	CHECK_EQ(cfg.no_offload, 0);
	CHECK_EQ(cfg.vlan_id, 0);
}

void
test_portopts_good(void)
{
	struct mps_config cfg;
	const char *a1[] = { "--no-offload", "--vlan", "100", NULL };
	const char *a2[] = { "--vlan=4094", NULL };
	const char *a3[] = { "--vlan", "1", "--mtu", "9000", NULL };

	CHECK_EQ(parse(&cfg, a1), 0);
	CHECK_EQ(cfg.no_offload, 1);
	CHECK_EQ(cfg.vlan_id, 100);
	CHECK_EQ(parse(&cfg, a2), 0);
	CHECK_EQ(cfg.vlan_id, 4094);
	CHECK_EQ(cfg.no_offload, 0);
	CHECK_EQ(parse(&cfg, a3), 0);
	CHECK_EQ(cfg.vlan_id, 1);
	CHECK_EQ(cfg.mtu, 9000);
}

void
test_portopts_bad(void)
{
	static const char *const bad[][3] = {
		{ "--vlan", "0", NULL },
		{ "--vlan", "4095", NULL },
		{ "--vlan", "x", NULL },
		{ "--vlan", NULL, NULL },
		{ "--no-offload=1", NULL, NULL },
	};
	struct mps_config cfg;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(parse(&cfg, bad[i]), -22);
}
