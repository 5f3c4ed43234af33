/* SPDX-License-Identifier: BSD-3-Clause
 *
 * unit.h - a tiny unit-test harness for common/.
 *
 * A test is a void function that makes CHECKs. A failing CHECK prints
 * file:line and the expression, marks the running test failed, and the test
 * goes on. Every test is listed once in UNIT_TESTS below: that list declares
 * the functions (for -Wmissing-prototypes) and builds main.c's table.
 */
#ifndef MPS_UNIT_H
#define MPS_UNIT_H

#include <stdint.h>

/* X(name): test_<name>() is defined in one of the test_*.c files. */
#define UNIT_TESTS(X)                     \
	/* test_config.c */               \
	X(config_defaults)                \
	X(config_prefix_to_mask)          \
	X(config_parse_u32)               \
	X(config_parse_ipv4)              \
	X(config_parse_cidr)              \
	X(config_app_names)               \
	X(config_connect)                 \
	X(config_listen_good)             \
	X(config_listen_bad)              \
	X(config_listen_too_many)         \
	X(config_listen_empty_item)       \
	X(config_parse_mac)               \
	X(config_parse_mac_strict)        \
	X(config_args_none)               \
	X(config_args_good)               \
	X(config_args_bad)                \
	X(config_args_help)               \
	X(config_args_unknown_and_stray)  \
	X(config_args_gateway)            \
	X(config_args_short_options)      \
	X(config_args_neigh_locktime)     \
	X(config_args_exception)          \
	X(exc_gcra)                       \
	X(config_args_time_limits)        \
	/* test_parse.c */                \
	X(parse_arp_valid)                \
	X(parse_arp_bad_fields)           \
	X(parse_arp_truncated)            \
	X(parse_ipv4_valid)               \
	X(parse_ipv4_bad_header)          \
	X(parse_ipv4_truncated)           \
	X(parse_ipv4_padding)             \
	X(parse_other_ethertypes)         \
	X(parse_short_and_null)           \
	X(parse_mac_is_unicast)           \
	X(parse_l4_ports_flags)           \
	/* test_drop.c */       \
	X(drop_reasons)                   \
	X(drop_ip_options_and_names)      \
	/* test_neigh.c */                \
	X(neigh_pack_roundtrip)           \
	X(neigh_static_bit)               \
	X(neigh_age_wrap)                 \
	X(neigh_same_mac)                 \
	X(neigh_sig_stable)               \
	X(neigh_table_create)             \
	X(neigh_table_learn)              \
	X(neigh_table_expire)             \
	X(neigh_table_static)             \
	X(neigh_table_full)               \
	X(neigh_worker_field)             \
	X(neigh_table_learner_refresh)    \
	X(neigh_table_add_static)         \
	X(neigh_table_reclaim)            \
	X(neigh_rule_ipv4_creates_never_changes) \
	X(neigh_rule_arp_locktime)        \
	X(neigh_rule_garp_overrides)      \
	X(neigh_rule_static_never)        \
	X(neigh_tbucket)                  \
	X(neigh_rule_ratelimit)           \
	X(neigh_rule_full_table)          \
	X(neigh_rule_stamps)              \
	X(neigh_learn_races_delete)       \
	/* test_wset.c */                 \
	X(wset_every_worker)              \
	X(wset_hex)                       \
	/* test_csum.c */                 \
	X(csum_matches_references)        \
	X(csum_l4_verify)                 \
	/* test_rss.c */        \
	X(rss_ms_vectors)                 \
	X(rss_hash_matches_softrss)       \
	X(rss_pick_port_many)             \
	X(rss_pick_port_spread)           \
	X(rss_pick_port_none)             \
	/* test_portopts.c */  \
	X(portopts_defaults)              \
	X(portopts_good)                  \
	X(portopts_bad)                   \
	/* test_isn.c */                  \
	X(siphash_vectors)                \
	X(isn_clock_and_tuple)            \
	X(isn_crc_attack)                 \
	X(isn_not_linear)                 \
	/* test_slot.c */                 \
	X(slot_claim_waits_for_reap)      \
	X(slot_reap_cases)                \
	X(slot_claim_races_reap_begin)

#define UNIT_DECLARE(name) void test_##name(void);
UNIT_TESTS(UNIT_DECLARE)
#undef UNIT_DECLARE

/* Set by main.c: rte_eal_init succeeded, so rte_hash tests can run. */
extern int unit_eal_ok;

/* Records one check; returns cond so a test can stop early if it must. */
int unit_check(int cond, const char *expr, const char *file, int line);
/* Same, for an equality of integers: prints both values on failure. */
int unit_check_eq(long long got, long long want, const char *got_expr,
		  const char *want_expr, const char *file, int line);

#define CHECK(cond) unit_check(!!(cond), #cond, __FILE__, __LINE__)
#define CHECK_EQ(got, want)                                                  \
	unit_check_eq((long long)(got), (long long)(want), #got, #want,      \
		      __FILE__, __LINE__)

/* Builds a writable argv from string literals (getopt_long may permute it).
 * argv[0] is the program name. Returns argc. */
#define UNIT_MAX_ARGS 16
#define UNIT_ARG_LEN 128
struct unit_argv {
	char buf[UNIT_MAX_ARGS][UNIT_ARG_LEN];
	char *argv[UNIT_MAX_ARGS + 1];
	int argc;
};
/* NULL-terminated list of arguments after the program name. */
int unit_argv_build(struct unit_argv *a, const char *const *args);

#endif /* MPS_UNIT_H */
