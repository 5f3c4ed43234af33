/* SPDX-License-Identifier: BSD-3-Clause
 *
 * test_config.c - defaults and command-line parsing (common/mps_config.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "mps_config.h"
#include "mps_shared.h" /* --neigh-locktime's numbers */
#include "unit.h"

#define IP(a, b, c, d) htonl(((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | \
			     ((uint32_t)(c) << 8) | (uint32_t)(d))

/* A config full of a byte pattern, so "untouched" and "reset" are visible. */
static void
cfg_garbage(struct mps_config *cfg)
{
	memset(cfg, 0xa5, sizeof(*cfg));
}

void
test_config_defaults(void)
{
	struct mps_config cfg;

	cfg_garbage(&cfg);
	mps_config_defaults(&cfg);
	CHECK_EQ(cfg.n_workers, 1);
	CHECK_EQ(cfg.ip, IP(198, 18, 0, 2));
	CHECK_EQ(cfg.prefix_len, 24);
	CHECK_EQ(cfg.netmask, IP(255, 255, 255, 0));
	CHECK_EQ(cfg.gateway, 0);
	CHECK_EQ(cfg.mtu, 1500);
	CHECK_EQ(cfg.stats_interval, 0);
	CHECK_EQ(cfg.n_listeners, 2);
	CHECK_EQ(cfg.listeners[0].port, 7);
	CHECK_EQ(cfg.listeners[0].app, MPS_APP_ECHO);
	CHECK_EQ(cfg.listeners[1].port, 80);
	CHECK_EQ(cfg.listeners[1].app, MPS_APP_HTTP);
	/* Unused slots are zeroed, not left over (the struct is shared). */
	for (uint32_t i = 2; i < MPS_MAX_LISTENERS; i++) {
		CHECK_EQ(cfg.listeners[i].port, 0);
		CHECK_EQ(cfg.listeners[i].app, MPS_APP_NONE);
	}
}

void
test_config_prefix_to_mask(void)
{
	CHECK_EQ(mps_prefix_to_mask(0), 0);
	CHECK_EQ(mps_prefix_to_mask(1), IP(128, 0, 0, 0));
	CHECK_EQ(mps_prefix_to_mask(8), IP(255, 0, 0, 0));
	CHECK_EQ(mps_prefix_to_mask(15), IP(255, 254, 0, 0));
	CHECK_EQ(mps_prefix_to_mask(24), IP(255, 255, 255, 0));
	CHECK_EQ(mps_prefix_to_mask(31), IP(255, 255, 255, 254));
	CHECK_EQ(mps_prefix_to_mask(32), IP(255, 255, 255, 255));
	for (uint8_t p = 1; p <= 32; p++) {
		uint32_t want = (uint32_t)(0xffffffffull << (32 - p));

		CHECK_EQ(ntohl(mps_prefix_to_mask(p)), want);
	}
}

void
test_config_parse_u32(void)
{
	static const char *const bad_format[] = {
		"", " 1", "1 ", "+1", "-1", "-0", "12abc", "0x10", "1.5", "1e3",
		"\t7", "7\n", "abc",
	};
	uint32_t v;

	/* Good values, including the limits and leading zeros (decimal). */
	v = 99;
	CHECK_EQ(mps_parse_u32("0", 0, 10, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(mps_parse_u32("10", 0, 10, &v), 0);
	CHECK_EQ(v, 10);
	CHECK_EQ(mps_parse_u32("1", 1, 16, &v), 0);
	CHECK_EQ(v, 1);
	CHECK_EQ(mps_parse_u32("16", 1, 16, &v), 0);
	CHECK_EQ(v, 16);
	CHECK_EQ(mps_parse_u32("010", 0, 100, &v), 0);
	CHECK_EQ(v, 10); /* not octal */
	CHECK_EQ(mps_parse_u32("4294967295", 0, UINT32_MAX, &v), 0);
	CHECK_EQ(v, UINT32_MAX);

	/* Malformed: -EINVAL, out untouched. */
	for (size_t i = 0; i < sizeof(bad_format) / sizeof(bad_format[0]); i++) {
		v = 12345;
		if (!CHECK_EQ(mps_parse_u32(bad_format[i], 0, UINT32_MAX, &v),
			      -EINVAL))
			printf("  input '%s'\n", bad_format[i]);
		CHECK_EQ(v, 12345);
	}
	v = 12345;
	CHECK_EQ(mps_parse_u32(NULL, 0, 10, &v), -EINVAL);
	CHECK_EQ(v, 12345);

	/* Out of range or overflowing: -ERANGE, out untouched. */
	v = 12345;
	CHECK_EQ(mps_parse_u32("0", 1, 16, &v), -ERANGE);
	CHECK_EQ(mps_parse_u32("17", 1, 16, &v), -ERANGE);
	CHECK_EQ(mps_parse_u32("4294967296", 0, UINT32_MAX, &v), -ERANGE);
	CHECK_EQ(mps_parse_u32("18446744073709551615", 0, UINT32_MAX, &v),
		 -ERANGE);
	CHECK_EQ(mps_parse_u32("18446744073709551616", 0, UINT32_MAX, &v),
		 -ERANGE);
	CHECK_EQ(mps_parse_u32("99999999999999999999999999", 0, UINT32_MAX, &v),
		 -ERANGE);
	CHECK_EQ(v, 12345);
}

void
test_config_parse_ipv4(void)
{
	static const char *const bad[] = {
		"", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1.2.3.256", "1.2.3.-4",
		"a.b.c.d", " 1.2.3.4", "1.2.3.4 ", "1.2.3.4/24", "1..2.3",
		"1.2.3.4.", "0x1.2.3.4", "1234",
	};
	uint32_t ip;

	CHECK_EQ(mps_parse_ipv4("198.18.0.2", &ip), 0);
	CHECK_EQ(ip, IP(198, 18, 0, 2));
	/* Network byte order: first octet is the first byte in memory. */
	CHECK_EQ(((uint8_t *)&ip)[0], 198);
	CHECK_EQ(((uint8_t *)&ip)[3], 2);
	CHECK_EQ(mps_parse_ipv4("0.0.0.0", &ip), 0);
	CHECK_EQ(ip, 0);
	CHECK_EQ(mps_parse_ipv4("255.255.255.255", &ip), 0);
	CHECK_EQ(ip, 0xffffffffu);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ip = 0x01020304;
		if (!CHECK_EQ(mps_parse_ipv4(bad[i], &ip), -EINVAL))
			printf("  input '%s'\n", bad[i]);
		CHECK_EQ(ip, 0x01020304);
	}
	CHECK_EQ(mps_parse_ipv4(NULL, &ip), -EINVAL);
}

void
test_config_parse_cidr(void)
{
	static const char *const bad[] = {
		"", "/24", "10.0.0.1/", "10.0.0.1/0", "10.0.0.1/33",
		"10.0.0.1/-1", "10.0.0.1/+8", "10.0.0.1/8x", "10.0.0.1/ 8",
		"10.0.0.1/24/8", "10.0.0/24", "10.0.0.256/24", "300.0.0.1/8",
		"10.0.0.1 /8", "255.255.255.255/32000000000", "10.0.0.1/4294967320",
	};
	uint32_t ip;
	uint8_t plen;

	CHECK_EQ(mps_parse_cidr("198.18.0.2/24", &ip, &plen), 0);
	CHECK_EQ(ip, IP(198, 18, 0, 2));
	CHECK_EQ(plen, 24);
	CHECK_EQ(mps_parse_cidr("10.1.2.3/1", &ip, &plen), 0);
	CHECK_EQ(ip, IP(10, 1, 2, 3));
	CHECK_EQ(plen, 1);
	CHECK_EQ(mps_parse_cidr("255.255.255.255/32", &ip, &plen), 0);
	CHECK_EQ(ip, 0xffffffffu);
	CHECK_EQ(plen, 32);
	/* No prefix means a host address. */
	plen = 7;
	CHECK_EQ(mps_parse_cidr("10.0.0.1", &ip, &plen), 0);
	CHECK_EQ(ip, IP(10, 0, 0, 1));
	CHECK_EQ(plen, 32);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!CHECK_EQ(mps_parse_cidr(bad[i], &ip, &plen), -EINVAL))
			printf("  input '%s'\n", bad[i]);
	}
	CHECK_EQ(mps_parse_cidr(NULL, &ip, &plen), -EINVAL);
}

void
test_config_app_names(void)
{
	CHECK_EQ(mps_app_from_name("echo"), MPS_APP_ECHO);
	CHECK_EQ(mps_app_from_name("http"), MPS_APP_HTTP);
	CHECK_EQ(mps_app_from_name("discard"), MPS_APP_DISCARD);
	CHECK_EQ(mps_app_from_name("none"), MPS_APP_NONE);
	CHECK_EQ(mps_app_from_name(""), MPS_APP_NONE);
	CHECK_EQ(mps_app_from_name("ech"), MPS_APP_NONE);
	CHECK_EQ(mps_app_from_name("echoo"), MPS_APP_NONE);
	CHECK(strcmp(mps_app_name(MPS_APP_ECHO), "echo") == 0);
	CHECK(strcmp(mps_app_name(MPS_APP_HTTP), "http") == 0);
	CHECK(strcmp(mps_app_name(MPS_APP_DISCARD), "discard") == 0);
	CHECK(strcmp(mps_app_name(MPS_APP_NONE), "none") == 0);
	CHECK(strcmp(mps_app_name(MPS_APP_IPERF), "iperf") == 0);
	CHECK_EQ(mps_app_from_name("iperf"), MPS_APP_IPERF);
	CHECK_EQ(mps_app_from_name("bulk"), MPS_APP_BULK);
	CHECK(strcmp(mps_app_name((enum mps_app)(MPS_APP_BULK + 1)), "?") == 0);
	CHECK(strcmp(mps_app_name((enum mps_app)1000), "?") == 0);
	for (int a = MPS_APP_ECHO; a <= MPS_APP_IPERF; a++)
		CHECK_EQ(mps_app_from_name(mps_app_name((enum mps_app)a)), a);
}

/* --connect: the client apps only, N per worker. */
void
test_config_connect(void)
{
	struct mps_config cfg;

	mps_config_defaults(&cfg);
	CHECK_EQ(mps_parse_connect("198.18.2.2:9:bulk*4,198.18.2.2:7:load*2,"
				   "198.18.2.3:7:echo", &cfg), 0);
	CHECK_EQ(cfg.n_connects, 3);
	CHECK_EQ(cfg.connects[0].ip, IP(198, 18, 2, 2));
	CHECK_EQ(cfg.connects[0].port, 9);
	CHECK_EQ(cfg.connects[0].app, MPS_APP_BULK);
	CHECK_EQ(cfg.connects[0].count, 4);
	CHECK_EQ(cfg.connects[1].app, MPS_APP_LOAD);
	CHECK_EQ(cfg.connects[1].count, 2);
	CHECK_EQ(cfg.connects[2].app, MPS_APP_ECHO);
	CHECK_EQ(cfg.connects[2].count, 1);
	/* Servers are not clients; a bad one leaves the list as it was. */
	CHECK_EQ(mps_parse_connect("198.18.2.2:9:discard", &cfg), -EINVAL);
	CHECK_EQ(mps_parse_connect("198.18.2.2:9:bulk*0", &cfg), -EINVAL);
	CHECK_EQ(mps_parse_connect("198.18.2.2:9:bulk*1025", &cfg), -EINVAL);
	CHECK_EQ(mps_parse_connect("0.0.0.0:9:bulk", &cfg), -EINVAL);
	CHECK_EQ(cfg.n_connects, 3);
}

void
test_config_listen_good(void)
{
	struct mps_config cfg;

	mps_config_defaults(&cfg);
	CHECK_EQ(mps_parse_listen("9:discard", &cfg), 0);
	CHECK_EQ(cfg.n_listeners, 1);
	CHECK_EQ(cfg.listeners[0].port, 9);
	CHECK_EQ(cfg.listeners[0].app, MPS_APP_DISCARD);

	/* Replaces, in the given order; limits 1 and 65535. */
	CHECK_EQ(mps_parse_listen("65535:http,1:echo,8080:discard", &cfg), 0);
	CHECK_EQ(cfg.n_listeners, 3);
	CHECK_EQ(cfg.listeners[0].port, 65535);
	CHECK_EQ(cfg.listeners[0].app, MPS_APP_HTTP);
	CHECK_EQ(cfg.listeners[1].port, 1);
	CHECK_EQ(cfg.listeners[1].app, MPS_APP_ECHO);
	CHECK_EQ(cfg.listeners[2].port, 8080);
	CHECK_EQ(cfg.listeners[2].app, MPS_APP_DISCARD);

	/* Same app on several ports is fine. */
	CHECK_EQ(mps_parse_listen("7:echo,8:echo", &cfg), 0);
	CHECK_EQ(cfg.n_listeners, 2);
	CHECK_EQ(cfg.listeners[1].port, 8);
	CHECK_EQ(cfg.listeners[1].app, MPS_APP_ECHO);
}

/* Each bad list fails and leaves cfg byte-for-byte as it was. */
void
test_config_listen_bad(void)
{
	static const char *const bad[] = {
		"", "7", "7:", ":echo", ":", "7:none", "7:bogus", "7:ECHO",
		"0:echo", "65536:echo", "99999999999:echo", "-1:echo", "+7:echo",
		"7:echo,7:http", "7:echo,80:http,7:discard", "7:echo,80",
		"7:echo,80:bogus", "7 :echo", "7: echo", "7:echo ", "7:echo:x",
		"7;echo", "0x7:echo",
	};
	struct mps_config cfg, before;
	char longbuf[600];
	int ret;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mps_config_defaults(&cfg);
		cfg.n_listeners = 1; /* distinct from defaults */
		before = cfg;
		ret = mps_parse_listen(bad[i], &cfg);
		if (!CHECK(ret == -EINVAL || ret == -E2BIG))
			printf("  input '%s' -> %d\n", bad[i], ret);
		if (!CHECK(memcmp(&cfg, &before, sizeof(cfg)) == 0))
			printf("  input '%s' changed cfg\n", bad[i]);
	}
	mps_config_defaults(&cfg);
	before = cfg;
	CHECK_EQ(mps_parse_listen(NULL, &cfg), -EINVAL);
	/* Longer than the parser's buffer: refused, not truncated. */
	memset(longbuf, 0, sizeof(longbuf));
	strcpy(longbuf, "7:echo");
	for (size_t n = strlen(longbuf); n + 7 < sizeof(longbuf) - 1;
	     n = strlen(longbuf))
		strcat(longbuf, ",80:http"); /* dup ports too, but length first */
	CHECK(strlen(longbuf) >= 512);
	CHECK_EQ(mps_parse_listen(longbuf, &cfg), -EINVAL);
	CHECK(memcmp(&cfg, &before, sizeof(cfg)) == 0);
}

void
test_config_listen_too_many(void)
{
	struct mps_config cfg, before;
	char buf[512];
	size_t off = 0;

	/* Exactly MPS_MAX_LISTENERS: accepted. */
	buf[0] = '\0';
	for (uint32_t i = 0; i < MPS_MAX_LISTENERS; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%u:echo",
					i ? "," : "", 1000 + i);
	mps_config_defaults(&cfg);
	CHECK_EQ(mps_parse_listen(buf, &cfg), 0);
	CHECK_EQ(cfg.n_listeners, MPS_MAX_LISTENERS);
	CHECK_EQ(cfg.listeners[MPS_MAX_LISTENERS - 1].port,
		 1000 + MPS_MAX_LISTENERS - 1);
	CHECK_EQ(cfg.listeners[MPS_MAX_LISTENERS - 1].app, MPS_APP_ECHO);

	/* One more: -E2BIG, cfg untouched. */
	snprintf(buf + off, sizeof(buf) - off, ",2000:http");
	mps_config_defaults(&cfg);
	before = cfg;
	CHECK_EQ(mps_parse_listen(buf, &cfg), -E2BIG);
	CHECK(memcmp(&cfg, &before, sizeof(cfg)) == 0);
}

/* "PORT:APP[,PORT:APP...]": an empty item is not a PORT:APP. */
void
test_config_listen_empty_item(void)
{
	static const char *const bad[] = {
		",", ",,", "7:echo,,80:http", ",7:echo", "7:echo,",
	};
	struct mps_config cfg, before;
	int ret;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mps_config_defaults(&cfg);
		cfg.n_listeners = 1;
		before = cfg;
		ret = mps_parse_listen(bad[i], &cfg);
		if (!CHECK_EQ(ret, -EINVAL))
			printf("  input '%s' accepted (n_listeners %u)\n", bad[i],
			       cfg.n_listeners);
		CHECK(memcmp(&cfg, &before, sizeof(cfg)) == 0);
	}
}

void
test_config_parse_mac(void)
{
	static const char *const bad[] = {
		"", "00:11:22:33:44", "00:11:22:33:44:55:66", "00:11:22:33:44:5",
		"00:11:22:33:44:555", "0g:11:22:33:44:55", "00-11-22-33-44-55",
		"001:1:22:33:44:55", "00:11:22:33:44:55 ", "0:11:22:33:44:555",
		"00:11:22:33:44:5g", "00:11:22:33:44::5",
	};
	uint8_t mac[6];
	static const uint8_t want[6] = { 0x00, 0x11, 0x22, 0xaa, 0xbb, 0xff };
	static const uint8_t sentinel[6] = { 1, 2, 3, 4, 5, 6 };

	CHECK_EQ(mps_parse_mac("00:11:22:aa:BB:ff", mac), 0);
	CHECK(memcmp(mac, want, 6) == 0);
	CHECK_EQ(mps_parse_mac("ff:ff:ff:ff:ff:ff", mac), 0);
	for (int i = 0; i < 6; i++)
		CHECK_EQ(mac[i], 0xff);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(mac, sentinel, 6);
		if (!CHECK_EQ(mps_parse_mac(bad[i], mac), -EINVAL))
			printf("  input '%s' -> %02x:%02x:%02x:%02x:%02x:%02x\n",
			       bad[i], mac[0], mac[1], mac[2], mac[3], mac[4],
			       mac[5]);
		CHECK(memcmp(mac, sentinel, 6) == 0);
	}
	CHECK_EQ(mps_parse_mac(NULL, mac), -EINVAL);
}

/* Two hex digits per octet, nothing else: sscanf's %x would also take a
 * sign or leading blanks inside the 17 characters. */
void
test_config_parse_mac_strict(void)
{
	static const char *const bad[] = {
		"+0:11:22:33:44:55", "-1:11:22:33:44:55", " 0:11:22:33:44:55",
		"00:11:22:33:44: 5", "00:11:22:33:44:+5", "00:-1:22:33:44:55",
	};
	static const uint8_t sentinel[6] = { 1, 2, 3, 4, 5, 6 };
	uint8_t mac[6];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(mac, sentinel, 6);
		if (!CHECK_EQ(mps_parse_mac(bad[i], mac), -EINVAL))
			printf("  input '%s' -> %02x:%02x:%02x:%02x:%02x:%02x\n",
			       bad[i], mac[0], mac[1], mac[2], mac[3], mac[4],
			       mac[5]);
	}
}

/* Clears all of glibc's getopt state (optind = 0 re-initialises, which
 * optind = 1 does not: a pointer into the previous argv survives). Keeps one
 * case's leftovers from spoiling the next; test_config_args_short_options
 * checks that mps_config_parse_args does not need it. */
static void
getopt_full_reset(void)
{
	char a0[] = "reset";
	char *v[] = { a0, NULL };

	optind = 0;
	opterr = 0;
	(void)getopt(1, v, "");
}

/* Runs mps_config_parse_args on "mps-primary" + args (NULL-terminated). */
static int
run_args(struct mps_config *cfg, char *err, size_t errlen,
	 const char *const *args)
{
	struct unit_argv a;

	getopt_full_reset();
	unit_argv_build(&a, args);
	if (errlen > 0)
		err[0] = '\0';
	return mps_config_parse_args(cfg, a.argc, a.argv, err, errlen);
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

void
test_config_args_none(void)
{
	struct mps_config cfg, def;
	char err[256];
	const char *const none[] = { NULL };

	mps_config_defaults(&def);
	cfg_garbage(&cfg);
	CHECK_EQ(run_args(&cfg, err, sizeof(err), none), 0);
	CHECK(memcmp(&cfg, &def, sizeof(cfg)) == 0);

	/* Each call starts from the defaults, not from the previous result. */
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--workers", "4")), 0);
	CHECK_EQ(cfg.n_workers, 4);
	CHECK_EQ(run_args(&cfg, err, sizeof(err), none), 0);
	CHECK(memcmp(&cfg, &def, sizeof(cfg)) == 0);
}

void
test_config_args_good(void)
{
	struct mps_config cfg;
	char err[256];

	cfg_garbage(&cfg);
	CHECK_EQ(run_args(&cfg, err, sizeof(err),
			  ARGS("--workers", "4", "--ip", "10.1.2.3/16",
			       "--gateway", "10.1.255.254", "--listen",
			       "8080:http,9:discard", "--mtu", "9000",
			       "--stats", "5")),
		 0);
	CHECK_EQ(cfg.n_workers, 4);
	CHECK_EQ(cfg.ip, IP(10, 1, 2, 3));
	CHECK_EQ(cfg.prefix_len, 16);
	CHECK_EQ(cfg.netmask, IP(255, 255, 0, 0));
	CHECK_EQ(cfg.gateway, IP(10, 1, 255, 254));
	CHECK_EQ(cfg.n_listeners, 2);
	CHECK_EQ(cfg.listeners[0].port, 8080);
	CHECK_EQ(cfg.listeners[0].app, MPS_APP_HTTP);
	CHECK_EQ(cfg.listeners[1].port, 9);
	CHECK_EQ(cfg.listeners[1].app, MPS_APP_DISCARD);
	CHECK_EQ(cfg.mtu, 9000);
	CHECK_EQ(cfg.stats_interval, 5);

	/* --opt=value form and the other limits. */
	CHECK_EQ(run_args(&cfg, err, sizeof(err),
			  ARGS("--workers=16", "--mtu=576", "--stats=0",
			       "--ip=192.168.7.9")),
		 0);
	CHECK_EQ(cfg.n_workers, 16);
	CHECK_EQ(cfg.mtu, 576);
	CHECK_EQ(cfg.stats_interval, 0);
	CHECK_EQ(cfg.ip, IP(192, 168, 7, 9));
	CHECK_EQ(cfg.prefix_len, 32);
	CHECK_EQ(cfg.netmask, 0xffffffffu);
	CHECK_EQ(cfg.n_listeners, 2); /* defaults kept */

	CHECK_EQ(run_args(&cfg, err, sizeof(err),
			  ARGS("--workers", "1", "--stats", "3600", "--ip",
			       "10.0.0.1/1")),
		 0);
	CHECK_EQ(cfg.n_workers, 1);
	CHECK_EQ(cfg.stats_interval, 3600);
	CHECK_EQ(cfg.prefix_len, 1);
	CHECK_EQ(cfg.netmask, IP(128, 0, 0, 0));

	/* The last of a repeated option wins. */
	CHECK_EQ(run_args(&cfg, err, sizeof(err),
			  ARGS("--workers", "2", "--workers", "3")),
		 0);
	CHECK_EQ(cfg.n_workers, 3);

	/* Idle strategies. */
	CHECK_EQ(cfg.idle_mode, MPS_IDLE_BACKOFF);
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--idle", "spin")), 0);
	CHECK_EQ(cfg.idle_mode, MPS_IDLE_SPIN);
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--idle=intr")), 0);
	CHECK_EQ(cfg.idle_mode, MPS_IDLE_INTR);
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--idle", "nap")), -EINVAL);
	CHECK(strstr(err, "--idle") != NULL);
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--listen", "5001:iperf")), 0);
	CHECK_EQ(cfg.listeners[0].app, MPS_APP_IPERF);
}

struct bad_case {
	const char *opt;
	const char *val;
	const char *in_err; /* must appear in the error text */
};

void
test_config_args_bad(void)
{
	static const struct bad_case cases[] = {
		{ "--workers", "0", "--workers" },
		{ "--workers", "64", "--workers (1..63)" },
		{ "--workers", "abc", "abc" },
		{ "--workers", "", "--workers" },
		{ "--workers", "-1", "--workers" },
		{ "--ip", "10.0.0.1/0", "10.0.0.1/0" },
		{ "--ip", "10.0.0.1/33", "--ip" },
		{ "--ip", "300.1.1.1/24", "--ip" },
		{ "--ip", "", "--ip" },
		{ "--gateway", "1.2.3", "1.2.3" },
		{ "--gateway", "x", "--gateway" },
		{ "--listen", "7:bogus", "7:bogus" },
		{ "--listen", "0:echo", "--listen" },
		{ "--listen", "7:echo,7:echo", "--listen" },
		{ "--mtu", "575", "--mtu" },
		{ "--mtu", "9001", "9001" },
		{ "--mtu", "1500x", "--mtu" },
		{ "--stats", "3601", "--stats" },
		{ "--stats", "-1", "--stats" },
	};
	struct mps_config cfg;
	char err[256], eq[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bad_case *c = &cases[i];

		/* "--opt value" */
		if (!CHECK_EQ(run_args(&cfg, err, sizeof(err),
				       ARGS(c->opt, c->val)),
			      -EINVAL))
			printf("  %s '%s'\n", c->opt, c->val);
		if (!CHECK(strstr(err, c->in_err) != NULL))
			printf("  %s '%s': err '%s'\n", c->opt, c->val, err);
		/* "--opt=value", after a good option */
		snprintf(eq, sizeof(eq), "%s=%s", c->opt, c->val);
		if (!CHECK_EQ(run_args(&cfg, err, sizeof(err),
				       ARGS("--workers", "2", eq)),
			      -EINVAL))
			printf("  %s\n", eq);
		CHECK(err[0] != '\0');
	}

	/* A required argument missing at the end. */
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--workers")), -EINVAL);
	CHECK(strstr(err, "--workers") != NULL);
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--mtu", "1500", "--ip")),
		 -EINVAL);
	CHECK(strstr(err, "--ip") != NULL);
	/* --help takes no argument. */
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--help=yes")), -EINVAL);

	/* A short error buffer is truncated and terminated, never overrun. */
	{
		char small[16];

		memset(small, 'Z', sizeof(small));
		CHECK_EQ(run_args(&cfg, small, 8, ARGS("--mtu", "1")), -EINVAL);
		CHECK_EQ(strlen(small), 7);
		for (size_t i = 8; i < sizeof(small); i++)
			CHECK_EQ(small[i], 'Z');
	}
}

void
test_config_args_help(void)
{
	struct mps_config cfg;
	char err[256];

	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--help")), 1);
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--workers", "2", "--help")),
		 1);
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--help", "--bogus")), 1);
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--bogus", "--help")),
		 -EINVAL);
	CHECK(mps_config_usage() != NULL);
	CHECK(strstr(mps_config_usage(), "--listen") != NULL);
	CHECK(strstr(mps_config_usage(), "--help") != NULL);
}

void
test_config_args_unknown_and_stray(void)
{
	struct mps_config cfg;
	char err[256];

	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--bogus")), -EINVAL);
	CHECK(strstr(err, "--bogus") != NULL);
	CHECK_EQ(run_args(&cfg, err, sizeof(err),
			  ARGS("--workers", "2", "--bogus=1")),
		 -EINVAL);
	CHECK(strstr(err, "--bogus") != NULL);
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("-w", "2")), -EINVAL);
	CHECK(strstr(err, "-w") != NULL);

	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("stray")), -EINVAL);
	CHECK(strstr(err, "stray") != NULL);
	CHECK_EQ(run_args(&cfg, err, sizeof(err),
			  ARGS("--workers", "2", "stray")),
		 -EINVAL);
	CHECK(strstr(err, "stray") != NULL);
	CHECK_EQ(run_args(&cfg, err, sizeof(err),
			  ARGS("stray", "--workers", "2")),
		 -EINVAL);
	CHECK(strstr(err, "stray") != NULL);
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--", "x")), -EINVAL);
	CHECK(strstr(err, "'x'") != NULL);
	/* A lone "-" is an argument, not an option. */
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("-")), -EINVAL);
	/* A bare "--" ends the options and leaves nothing stray. */
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--workers", "3", "--")),
		 0);
	CHECK_EQ(cfg.n_workers, 3);
}

void
test_config_args_gateway(void)
{
	struct mps_config cfg;
	char err[256];

	/* On the default 198.18.0.0/24. */
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--gateway", "198.18.0.1")),
		 0);
	CHECK_EQ(cfg.gateway, IP(198, 18, 0, 1));
	CHECK_EQ(run_args(&cfg, err, sizeof(err),
			  ARGS("--gateway", "198.18.0.254")),
		 0);
	/* Off the default subnet. */
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--gateway", "198.18.1.1")),
		 -EINVAL);
	CHECK(strstr(err, "198.18.1.1") != NULL);
	CHECK(strstr(err, "--gateway") != NULL);
	/* Checked after all options, whatever their order. */
	CHECK_EQ(run_args(&cfg, err, sizeof(err),
			  ARGS("--gateway", "198.18.0.1", "--ip", "10.0.0.2/8")),
		 -EINVAL);
	CHECK_EQ(run_args(&cfg, err, sizeof(err),
			  ARGS("--gateway", "10.255.255.254", "--ip", "10.0.0.2/8")),
		 0);
	CHECK_EQ(cfg.gateway, IP(10, 255, 255, 254));
	/* A /32 address has no on-link gateway. */
	CHECK_EQ(run_args(&cfg, err, sizeof(err),
			  ARGS("--ip", "10.0.0.2", "--gateway", "10.0.0.1")),
		 -EINVAL);
	/* A wider prefix puts more on the subnet. */
	CHECK_EQ(run_args(&cfg, err, sizeof(err),
			  ARGS("--ip", "198.18.0.2/15", "--gateway", "198.19.255.1")),
		 0);
	CHECK_EQ(run_args(&cfg, err, sizeof(err),
			  ARGS("--ip", "198.18.0.2/16", "--gateway", "198.19.255.1")),
		 -EINVAL);
}

/* mps_config_parse_args resets getopt itself, so a second call in the same
 * process parses from scratch, even when the first stopped at an unknown
 * short option. The same argv storage is reused, as happens with argv arrays
 * on the stack: a stale getopt pointer into it then reads the new strings. */
static void
repeat_case(const char *first)
{
	struct mps_config cfg;
	struct unit_argv a;
	char err[256];

	getopt_full_reset();
	unit_argv_build(&a, (const char *const[]){ first, NULL });
	err[0] = '\0';
	CHECK_EQ(mps_config_parse_args(&cfg, a.argc, a.argv, err, sizeof(err)),
		 -EINVAL);
	/* No reset here: that is the function's job. */
	unit_argv_build(&a, (const char *const[]){ "--workers", "3", NULL });
	err[0] = '\0';
	if (!CHECK_EQ(mps_config_parse_args(&cfg, a.argc, a.argv, err,
					    sizeof(err)),
		      0))
		printf("  after '%s': err '%s'\n", first, err);
	CHECK_EQ(cfg.n_workers, 3);
	getopt_full_reset();
}

void
test_config_args_short_options(void)
{
	struct mps_config cfg;
	char err[256];

	/* An unknown option in a cluster of short options is named ("-x" or
	 * "-xy"), not whatever argv element precedes the cluster. */
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("-xy")), -EINVAL);
	if (!CHECK(strstr(err, "-x") != NULL))
		printf("  err '%s'\n", err);
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--workers", "2", "-ab")),
		 -EINVAL);
	if (!CHECK(strstr(err, "-a") != NULL))
		printf("  err '%s'\n", err);

	repeat_case("-x");
	repeat_case("-xy");
	repeat_case("--bogus"); /* long options leave no such state */
}

/* --neigh-locktime: default, range, the error names the option. */
void
test_config_args_neigh_locktime(void)
{
	struct mps_config cfg;
	char err[256];

	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--workers", "1")), 0);
	CHECK_EQ(cfg.neigh_locktime_ms, MPS_NEIGH_LOCKTIME_MS);
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--neigh-locktime", "0")), 0);
	CHECK_EQ(cfg.neigh_locktime_ms, 0);
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--neigh-locktime", "2500")), 0);
	CHECK_EQ(cfg.neigh_locktime_ms, 2500);
	CHECK_EQ(run_args(&cfg, err, sizeof(err),
			  ARGS("--neigh-locktime", RTE_STR(MPS_NEIGH_LOCKTIME_MAX_MS))), 0);
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--neigh-locktime", "60001")),
		 -EINVAL);
	CHECK(strstr(err, "--neigh-locktime") != NULL);
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--neigh-locktime", "1s")),
		 -EINVAL);
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--neigh-locktime", "-1")),
		 -EINVAL);
}

/* --exception IFACE and --exception-rate: off by default, names as the
 * kernel takes them, the rate's range; errors name the option. */
void
test_config_args_exception(void)
{
	struct mps_config cfg;
	char err[256];

	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--workers", "1")), 0);
	CHECK_EQ(cfg.exc_iface[0], '\0');
	CHECK_EQ(cfg.exc_rate, MPS_EXC_RATE);
	CHECK_EQ(run_args(&cfg, err, sizeof(err),
			  ARGS("--exception", "mpsk0", "--exception-rate", "250")), 0);
	CHECK(strcmp(cfg.exc_iface, "mpsk0") == 0);
	CHECK_EQ(cfg.exc_rate, 250);
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--exception", "a23456789012345")), 0);
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--exception", "a234567890123456")),
		 -EINVAL);
	CHECK(strstr(err, "--exception") != NULL);
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--exception", "")), -EINVAL);
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--exception", "a/b")), -EINVAL);
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--exception", "a b")), -EINVAL);
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--exception", "..")), -EINVAL);
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--exception-rate", "0")), -EINVAL);
	CHECK(strstr(err, "--exception-rate") != NULL);
	CHECK_EQ(run_args(&cfg, err, sizeof(err),
			  ARGS("--exception-rate", RTE_STR(MPS_EXC_RATE_MAX))), 0);
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--exception-rate", "10000001")),
		 -EINVAL);
}

/* The shared rate limit: a burst of tolerance/interval + 1 frames at one
 * instant, then one frame per interval; never more over any span. */
void
test_exc_gcra(void)
{
	volatile uint64_t tat = 0;
	uint64_t now = 1000000, passed = 0;

	for (int i = 0; i < 100; i++)
		passed += (uint64_t)mps_gcra_take(&tat, now, 10, 50);
	CHECK_EQ(passed, 6);
	passed = 0;
	for (uint64_t t = now; t < now + 10000; t++)
		passed += (uint64_t)mps_gcra_take(&tat, t, 10, 50);
	CHECK(passed >= 994 && passed <= 1000);
	/* idle long: the burst again, no more */
	passed = 0;
	for (int i = 0; i < 100; i++)
		passed += (uint64_t)mps_gcra_take(&tat, now + 1000000, 10, 50);
	CHECK_EQ(passed, 6);
}

/* The time limits: nginx-like defaults, a flag for every listener, a key
 * for one, the listener's own over the flag. */
void
test_config_args_time_limits(void)
{
	struct mps_config cfg;
	struct mps_tcp_tune t;
	char err[256];

	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--workers", "1")), 0);
	CHECK_EQ(cfg.tune.header_timeout_ms, MPS_HEADER_TIMEOUT_MS);
	CHECK_EQ(cfg.tune.keepalive_timeout_ms, MPS_KEEPALIVE_TIMEOUT_MS);
	CHECK_EQ(cfg.tune.send_timeout_ms, MPS_SEND_TIMEOUT_MS);
	CHECK_EQ(cfg.tune.linger_timeout_ms, MPS_LINGER_TIMEOUT_MS);
	CHECK_EQ(run_args(&cfg, err, sizeof(err),
			  ARGS("--header-timeout", "2000", "--keepalive-timeout", "3000",
			       "--send-timeout", "4000", "--linger-timeout", "500",
			       "--listen", "80:http:keepalive_timeout=1500:header_timeout=100,81:http")), 0);
	mps_tune_resolve(&cfg.tune, &cfg.listeners[0].tune, &t);
	CHECK_EQ(t.header_timeout_ms, 100);
	CHECK_EQ(t.keepalive_timeout_ms, 1500);
	CHECK_EQ(t.send_timeout_ms, 4000);
	CHECK_EQ(t.linger_timeout_ms, 500);
	mps_tune_resolve(&cfg.tune, &cfg.listeners[1].tune, &t);
	CHECK_EQ(t.header_timeout_ms, 2000);
	CHECK_EQ(t.keepalive_timeout_ms, 3000);
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--send-timeout", "0")), -EINVAL);
	CHECK(strstr(err, "send-timeout") != NULL);
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--header-timeout", "86400001")),
		 -EINVAL);
	CHECK_EQ(run_args(&cfg, err, sizeof(err), ARGS("--listen", "80:http:linger_timeout=x")),
		 -EINVAL);
	CHECK(strstr(mps_config_usage(), "--keepalive-timeout") != NULL);
}
