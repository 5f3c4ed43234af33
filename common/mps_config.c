/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mps_config.c - defaults and command-line parsing for the primary's
 * network and application configuration.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mps_config.h"
#include "mps_shared.h"

static const char *const app_names[] = {
	[MPS_APP_NONE] = "none",
	[MPS_APP_ECHO] = "echo",
	[MPS_APP_HTTP] = "http",
	[MPS_APP_DISCARD] = "discard",
	[MPS_APP_IPERF] = "iperf",
	[MPS_APP_SOURCE] = "source",
	[MPS_APP_LOAD] = "load",
	[MPS_APP_BULK] = "bulk",
};

/* Defaults a user gets with no options: see the README. */
void
mps_config_defaults(struct mps_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->n_workers = 1;
	cfg->ip = htonl(0xc6120002); /* 198.18.0.2 */
	cfg->prefix_len = 24;
	cfg->netmask = mps_prefix_to_mask(24);
	cfg->mtu = 1500;
	cfg->n_listeners = 2;
	cfg->listeners[0] = (struct mps_listener){ .port = 7, .app = MPS_APP_ECHO };
	cfg->listeners[1] = (struct mps_listener){ .port = 80, .app = MPS_APP_HTTP };
	cfg->neigh_ttl_s = MPS_NEIGH_TTL_S;
	cfg->neigh_entries = MPS_NEIGH_ENTRIES;
	cfg->neigh_locktime_ms = MPS_NEIGH_LOCKTIME_MS;
	/* Low latency by default; a client that falls 1 MiB behind
	 * is dropped. */
	cfg->tune.nodelay = MPS_TUNE_ON;
	cfg->tune.quickack = MPS_TUNE_OFF;
	cfg->tune.sndq_limit = 1u << 20;
	cfg->exc_rate = MPS_EXC_RATE;
	cfg->tune.header_timeout_ms = MPS_HEADER_TIMEOUT_MS;
	cfg->tune.keepalive_timeout_ms = MPS_KEEPALIVE_TIMEOUT_MS;
	cfg->tune.send_timeout_ms = MPS_SEND_TIMEOUT_MS;
	cfg->tune.linger_timeout_ms = MPS_LINGER_TIMEOUT_MS;
	cfg->max_conns = MPS_MAX_CONNS_DEFAULT;
	cfg->max_conns_per_ip = MPS_MAX_CONNS_PER_IP_DEFAULT;
}

/* Decimal only, whole string, within [min, max]. */
int
mps_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long v;

	if (s == NULL || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

/* inet_pton accepts exactly four decimal octets, which is what we want. */
int
mps_parse_ipv4(const char *s, uint32_t *ip_be)
{
	struct in_addr a;

	if (s == NULL || inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*ip_be = a.s_addr;
	return 0;
}

uint32_t
mps_prefix_to_mask(uint8_t prefix_len)
{
	if (prefix_len == 0)
		return 0;
	return htonl(0xffffffffu << (32 - prefix_len));
}

int
mps_parse_cidr(const char *s, uint32_t *ip_be, uint8_t *prefix_len)
{
	char buf[INET_ADDRSTRLEN + 4];
	char *slash;
	uint32_t plen = 32;

	if (s == NULL || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash != NULL) {
		*slash = '\0';
		if (mps_parse_u32(slash + 1, 1, 32, &plen) != 0)
			return -EINVAL;
	}
	if (mps_parse_ipv4(buf, ip_be) != 0)
		return -EINVAL;
	*prefix_len = (uint8_t)plen;
	return 0;
}

enum mps_app
mps_app_from_name(const char *name)
{
	for (size_t i = 1; i < sizeof(app_names) / sizeof(app_names[0]); i++)
		if (strcmp(name, app_names[i]) == 0)
			return (enum mps_app)i;
	return MPS_APP_NONE;
}

const char *
mps_app_name(enum mps_app app)
{
	if ((size_t)app >= sizeof(app_names) / sizeof(app_names[0]))
		return "?";
	return app_names[app];
}

/* One "KEY=VALUE" tuning item (listener suffix or global flag). */
static int
parse_tune_item(const char *key, const char *val, struct mps_tcp_tune *t)
{
	uint32_t v;

	if (strcmp(key, "nodelay") == 0 || strcmp(key, "quickack") == 0) {
		if (mps_parse_u32(val, 0, 1, &v) != 0)
			return -EINVAL;
		*(key[0] == 'n' ? &t->nodelay : &t->quickack) =
			v ? MPS_TUNE_ON : MPS_TUNE_OFF;
		return 0;
	}
	if (strcmp(key, "rcvbuf") == 0 || strcmp(key, "sndbuf") == 0)
		return mps_parse_u32(val, 4096, MPS_TCP_BUF_MAX, key[0] == 'r' ?
				     &t->rcvbuf : &t->sndbuf) == 0 ? 0 : -EINVAL;
	if (strcmp(key, "sndq") == 0)
		return mps_parse_u32(val, 1024, 1u << 30, &t->sndq_limit) == 0 ?
		       0 : -EINVAL;
	if (strcmp(key, "header_timeout") == 0 || strcmp(key, "keepalive_timeout") == 0 ||
	    strcmp(key, "send_timeout") == 0 || strcmp(key, "linger_timeout") == 0) {
		uint32_t *f = key[0] == 'h' ? &t->header_timeout_ms :
			      key[0] == 'k' ? &t->keepalive_timeout_ms :
			      key[0] == 's' ? &t->send_timeout_ms : &t->linger_timeout_ms;

		return mps_parse_u32(val, 1, MPS_TIMEOUT_MAX_MS, f) == 0 ? 0 : -EINVAL;
	}
	if (mps_parse_u32(val, 1, 60000, &v) != 0)
		return -EINVAL;
	if (strcmp(key, "rto_min") == 0)
		t->rto_min_ms = (uint16_t)v;
	else if (strcmp(key, "rto_init") == 0)
		t->rto_init_ms = (uint16_t)v;
	else if (strcmp(key, "initcwnd") == 0 && v <= 64)
		t->initcwnd = (uint16_t)v;
	else
		return -EINVAL;
	return 0;
}

/* "KEY=VAL[:KEY=VAL...]" after a listener's app; NULL is none. */
static int
parse_tune_list(char *s, struct mps_tcp_tune *t)
{
	char *save = NULL, *item;

	memset(t, 0, sizeof(*t));
	if (s == NULL)
		return 0;
	for (item = strtok_r(s, ":", &save); item != NULL;
	     item = strtok_r(NULL, ":", &save)) {
		char *eq = strchr(item, '=');

		if (eq == NULL)
			return -EINVAL;
		*eq = '\0';
		if (parse_tune_item(item, eq + 1, t) != 0)
			return -EINVAL;
	}
	return 0;
}

void
mps_tune_resolve(const struct mps_tcp_tune *global,
		 const struct mps_tcp_tune *own, struct mps_tcp_tune *out)
{
#define PICK(f) out->f = own->f ? own->f : global->f
	PICK(rcvbuf);
	PICK(sndbuf);
	PICK(sndq_limit);
	PICK(rto_min_ms);
	PICK(rto_init_ms);
	PICK(initcwnd);
	PICK(nodelay);
	PICK(quickack);
	PICK(header_timeout_ms);
	PICK(keepalive_timeout_ms);
	PICK(send_timeout_ms);
	PICK(linger_timeout_ms);
#undef PICK
}

/* Parses into a scratch list first, so cfg is untouched on error. */
int
mps_parse_connect(const char *s, struct mps_config *cfg)
{
	struct mps_connect list[MPS_MAX_CONNECTS];
	char buf[512];
	char *save = NULL, *tok;
	uint32_t n = 0;

	if (s == NULL || s[0] == '\0' || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		char *c1 = strchr(tok, ':'), *c2, *star;
		uint32_t port, count = 1;
		enum mps_app app;

		if (c1 == NULL || (c2 = strchr(c1 + 1, ':')) == NULL)
			return -EINVAL;
		*c1 = *c2 = '\0';
		if (n == MPS_MAX_CONNECTS)
			return -E2BIG;
		star = strchr(c2 + 1, '*'); /* APP*N, N per worker */
		if (star != NULL) {
			*star = '\0';
			if (mps_parse_u32(star + 1, 1, 1024, &count) != 0)
				return -EINVAL;
		}
		app = mps_app_from_name(c2 + 1);
		if (mps_parse_ipv4(tok, &list[n].ip) != 0 || list[n].ip == 0 ||
		    mps_parse_u32(c1 + 1, 1, 65535, &port) != 0 ||
		    (app != MPS_APP_ECHO && app != MPS_APP_LOAD &&
		     app != MPS_APP_BULK))
			return -EINVAL;
		list[n].port = (uint16_t)port;
		list[n].app = (uint16_t)app;
		list[n].count = (uint16_t)count;
		n++;
	}
	memcpy(cfg->connects, list, n * sizeof(list[0]));
	cfg->n_connects = n;
	return 0;
}

/* Parses into a scratch list first, so cfg is untouched on error. */
int
mps_parse_listen(const char *s, struct mps_config *cfg)
{
	struct mps_listener list[MPS_MAX_LISTENERS];
	char buf[512];
	char *rest = buf, *tok;
	uint32_t n = 0;

	if (s == NULL || s[0] == '\0' || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	while ((tok = strsep(&rest, ",")) != NULL) { /* empty items are errors */
		char *colon = strchr(tok, ':'), *opts;
		struct mps_tcp_tune tune;
		uint32_t port;
		enum mps_app app;

		if (colon == NULL)
			return -EINVAL;
		*colon = '\0';
		if (mps_parse_u32(tok, 1, 65535, &port) != 0)
			return -EINVAL;
		opts = strchr(colon + 1, ':');
		if (opts != NULL)
			*opts++ = '\0';
		app = mps_app_from_name(colon + 1);
		if (app == MPS_APP_NONE)
			return -EINVAL;
		if (parse_tune_list(opts, &tune) != 0)
			return -EINVAL;
		for (uint32_t i = 0; i < n; i++)
			if (list[i].port == port)
				return -EINVAL;
		if (n == MPS_MAX_LISTENERS)
			return -E2BIG;
		list[n++] = (struct mps_listener){ .port = (uint16_t)port,
						   .app = (uint16_t)app,
						   .tune = tune };
	}
	if (n == 0)
		return -EINVAL;
	memcpy(cfg->listeners, list, n * sizeof(list[0]));
	cfg->n_listeners = n;
	return 0;
}

/* Exactly six pairs of hex digits separated by colons. */
int
mps_parse_mac(const char *s, uint8_t mac[6])
{
	uint8_t out[6];

	if (s == NULL || strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		const char *p = s + 3 * i;
		char hex[3] = { p[0], p[1], '\0' };

		if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]) ||
		    (i < 5 && p[2] != ':'))
			return -EINVAL;
		out[i] = (uint8_t)strtoul(hex, NULL, 16);
	}
	memcpy(mac, out, 6);
	return 0;
}

/* What the kernel takes as a name (dev_valid_name), so that TUNSETIFF
 * creates the interface the user named. */
int
mps_parse_ifname(const char *s, char out[MPS_IFNAMSIZ])
{
	size_t n = s == NULL ? 0 : strlen(s);

	if (n == 0 || n >= MPS_IFNAMSIZ || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ':' || isspace((unsigned char)s[i]))
			return -EINVAL;
	memcpy(out, s, n + 1);
	return 0;
}

/* Unicast MACs only; a repeated address replaces its MAC. */
int
mps_parse_static_neigh(const char *s, struct mps_config *cfg)
{
	char buf[INET_ADDRSTRLEN + 20];
	char *eq;
	uint32_t ip, i;
	uint8_t mac[6];

	if (s == NULL || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	eq = strchr(buf, '=');
	if (eq == NULL)
		return -EINVAL;
	*eq = '\0';
	if (mps_parse_ipv4(buf, &ip) != 0 || ip == 0 ||
	    mps_parse_mac(eq + 1, mac) != 0 || (mac[0] & 1) != 0)
		return -EINVAL;
	for (i = 0; i < cfg->n_static_neigh; i++)
		if (cfg->static_neigh[i].ip == ip)
			break;
	if (i == MPS_MAX_STATIC_NEIGH)
		return -E2BIG;
	cfg->static_neigh[i].ip = ip;
	memcpy(cfg->static_neigh[i].mac, mac, 6);
	if (i == cfg->n_static_neigh)
		cfg->n_static_neigh++;
	return 0;
}

_Static_assert(MPS_MAX_WORKERS == 63u, "the --workers texts say 63");

const char *
mps_config_usage(void)
{
	return "  --workers N              worker processes = RX/TX queue pairs per port\n"
	       "                           (default 1, at most 63)\n"
	       "  --ip ADDR/PREFIX         the stack's address (default 198.18.0.2/24)\n"
	       "  --gateway ADDR           next hop for off-link destinations\n"
	       "  --listen PORT:APP[,...]  listeners; APP is echo, http, discard or iperf\n"
	       "                           (default 7:echo,80:http)\n"
	       "  --mtu BYTES              IP MTU, 576..9000 (default 1500)\n"
	       "  --stats SECONDS          print one line per worker every SECONDS\n"
	       "  --idle MODE              backoff (default: sleep when idle), spin, or\n"
	       "                           intr (wait for RX interrupts where the port has them)\n"
	       "  --neigh-ttl SECONDS      learned neighbours expire after this, 1.."
	       RTE_STR(MPS_NEIGH_TTL_MAX_S) " (default " RTE_STR(MPS_NEIGH_TTL_S) ")\n"
	       "  --neigh-entries N        neighbour table size, " RTE_STR(MPS_NEIGH_ENTRIES_MIN) ".."
	       RTE_STR(MPS_NEIGH_ENTRIES_MAX) " (default " RTE_STR(MPS_NEIGH_ENTRIES) ")\n"
	       "  --neigh ADDR=MAC         static neighbour, never aged nor changed (repeatable,\n"
	       "                           up to 16; pin the gateway with --neigh GW=MAC)\n"
	       "  --neigh-locktime MS      an ARP reply does not change a MAC that changed\n"
	       "                           less than MS ago, 0.." RTE_STR(MPS_NEIGH_LOCKTIME_MAX_MS)
	       " (default " RTE_STR(MPS_NEIGH_LOCKTIME_MS) ")\n"
	       "  --connect ADDR:PORT:APP[*N][,...]  each worker opens N of these (APP:\n"
	       "                           echo, timed round trips; load, closed-loop echoes;\n"
	       "                           bulk, a stream as fast as the peer takes it)\n"
	       "  --nodelay 0|1            Nagle off (default 1)\n"
	       "  --quickack 0|1           ACK every segment at once (default 0)\n"
	       "  --rto-min MS             floor under the retransmission timeout\n"
	       "  --rto-init MS            RTO before the first RTT sample (lwIP: 3000)\n"
	       "  --initcwnd SEGS          initial congestion window (lwIP: RFC 3390)\n"
	       "  --rcvbuf BYTES           receive window per connection (4096..262144)\n"
	       "  --sndbuf BYTES           lwIP send buffer per connection (4096..262144)\n"
	       "  --sndq BYTES             bytes an app may queue per connection; over it\n"
	       "                           the connection is dropped (default 1048576)\n"
	       "  --header-timeout MS      a request's header must be whole within MS of its\n"
	       "                           first byte (of the accept); else closed (default "
	       RTE_STR(MPS_HEADER_TIMEOUT_MS) ")\n"
	       "  --keepalive-timeout MS   idle keep-alive connections are closed after MS\n"
	       "                           (default " RTE_STR(MPS_KEEPALIVE_TIMEOUT_MS) ")\n"
	       "  --send-timeout MS        a peer that acknowledges nothing of what is pending\n"
	       "                           for MS is reset (default " RTE_STR(MPS_SEND_TIMEOUT_MS) ")\n"
	       "  --linger-timeout MS      lingering close after an error answer: ends after\n"
	       "                           MS without data from the peer (default "
	       RTE_STR(MPS_LINGER_TIMEOUT_MS) ")\n"
	       "  listener suffix :KEY=VAL (KEY nodelay, quickack, rto_min, rto_init,\n"
	       "                           initcwnd, rcvbuf, sndbuf, sndq, header_timeout,\n"
	       "                           keepalive_timeout, send_timeout, linger_timeout)\n"
	       "                           tunes one listener\n"
	       "  --max-conns N            connections each worker accepts, "
	       RTE_STR(MPS_MAX_CONNS_MIN) ".." RTE_STR(MPS_MAX_CONNS_MAX) "\n"
	       "                           (default " RTE_STR(MPS_MAX_CONNS_DEFAULT)
	       "; when full, the longest idle one makes room)\n"
	       "  --max-conns-per-ip N     ... from one source address, 0 = no limit\n"
	       "                           (default " RTE_STR(MPS_MAX_CONNS_PER_IP_DEFAULT) "; over it a SYN gets a RST)\n"
	       /* reliability */
	       "  --mbufs N                mbuf pool size (default: sized from the\n"
	       "                           ports and workers; small values force exhaustion)\n"
	       "  --no-offload             checksums and VLAN tags in software even where\n"
	       "                           the ports could do them\n"
	       "  --vlan ID                802.1Q VLAN of the stack, 1..4094 (default none)\n"
	       "  --exception IFACE        what the stack does not serve goes to kernel\n"
	       "                           interface IFACE (created, with the port's MAC),\n"
	       "                           what the kernel sends there leaves through the port\n"
	       "  --exception-rate PPS     at most PPS frames a second each way, 1.."
	       RTE_STR(MPS_EXC_RATE_MAX) " (default " RTE_STR(MPS_EXC_RATE) ")\n"
	       "  --help                   this text\n";
}

enum {
	OPT_WORKERS = 256,
	OPT_IP,
	OPT_GATEWAY,
	OPT_LISTEN,
	OPT_MTU,
	OPT_STATS,
	OPT_HELP,
	OPT_IDLE,
	OPT_NEIGH_TTL,
	OPT_NEIGH_ENTRIES,
	OPT_NEIGH,
	OPT_NEIGH_LOCKTIME,
	/* TCP API */
	OPT_CONNECT,
	OPT_TUNE,
	OPT_MAX_CONNS,
	OPT_MAX_CONNS_PER_IP,
	OPT_MBUFS,
	/* port features */
	OPT_NO_OFFLOAD,
	OPT_VLAN,
	OPT_EXCEPTION,
	OPT_EXCEPTION_RATE,
};

static const struct option long_opts[] = {
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ "ip", required_argument, NULL, OPT_IP },
	{ "gateway", required_argument, NULL, OPT_GATEWAY },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "mtu", required_argument, NULL, OPT_MTU },
	{ "stats", required_argument, NULL, OPT_STATS },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "idle", required_argument, NULL, OPT_IDLE },
	{ "neigh-ttl", required_argument, NULL, OPT_NEIGH_TTL },
	{ "neigh-entries", required_argument, NULL, OPT_NEIGH_ENTRIES },
	{ "neigh", required_argument, NULL, OPT_NEIGH },
	{ "neigh-locktime", required_argument, NULL, OPT_NEIGH_LOCKTIME },
	/* TCP tuning (the option name is the tuning key) and connects */
	{ "connect", required_argument, NULL, OPT_CONNECT },
	{ "max-conns", required_argument, NULL, OPT_MAX_CONNS },
	{ "max-conns-per-ip", required_argument, NULL, OPT_MAX_CONNS_PER_IP },
	{ "nodelay", required_argument, NULL, OPT_TUNE },
	{ "quickack", required_argument, NULL, OPT_TUNE },
	{ "rto-min", required_argument, NULL, OPT_TUNE },
	{ "rto-init", required_argument, NULL, OPT_TUNE },
	{ "initcwnd", required_argument, NULL, OPT_TUNE },
	{ "rcvbuf", required_argument, NULL, OPT_TUNE },
	{ "sndbuf", required_argument, NULL, OPT_TUNE },
	{ "sndq", required_argument, NULL, OPT_TUNE },
	{ "header-timeout", required_argument, NULL, OPT_TUNE },
	{ "keepalive-timeout", required_argument, NULL, OPT_TUNE },
	{ "send-timeout", required_argument, NULL, OPT_TUNE },
	{ "linger-timeout", required_argument, NULL, OPT_TUNE },
	{ "mbufs", required_argument, NULL, OPT_MBUFS },
	/* Port features */
	{ "no-offload", no_argument, NULL, OPT_NO_OFFLOAD },
	{ "vlan", required_argument, NULL, OPT_VLAN },
	{ "exception", required_argument, NULL, OPT_EXCEPTION },
	{ "exception-rate", required_argument, NULL, OPT_EXCEPTION_RATE },
	{ NULL, 0, NULL, 0 },
};

/* Sets err and returns -EINVAL, so each check is one line. */
static int
fail(char *err, size_t errlen, const char *what, const char *arg)
{
	snprintf(err, errlen, "invalid %s '%s'", what, arg ? arg : "");
	return -EINVAL;
}

/* One case per option (over 80 lines): a getopt switch reads best whole. */
int
mps_config_parse_args(struct mps_config *cfg, int argc, char **argv,
		      char *err, size_t errlen)
{
	uint32_t v;
	int opt, idx;

	mps_config_defaults(cfg);
	optind = 0; /* glibc: 0 also resets the scan inside a "-xy" cluster */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":", long_opts, &idx)) != -1) {
		switch (opt) {
		/* TCP API */
		case OPT_CONNECT:
			if (mps_parse_connect(optarg, cfg) != 0)
				return fail(err, errlen,
					    "--connect (ADDR:PORT:echo|load|bulk[*N][,...])", optarg);
			break;
		case OPT_TUNE: {
			char key[32];

			snprintf(key, sizeof(key), "%s", long_opts[idx].name);
			for (char *k = key; *k; k++)
				if (*k == '-')
					*k = '_';
			if (parse_tune_item(key, optarg, &cfg->tune) != 0)
				return fail(err, errlen, long_opts[idx].name, optarg);
			break;
		}
		case OPT_MAX_CONNS:
			if (mps_parse_u32(optarg, MPS_MAX_CONNS_MIN, MPS_MAX_CONNS_MAX, &v) != 0)
				return fail(err, errlen, "--max-conns (" RTE_STR(MPS_MAX_CONNS_MIN) ".."
					    RTE_STR(MPS_MAX_CONNS_MAX) ")", optarg);
			cfg->max_conns = v;
			break;
		case OPT_MAX_CONNS_PER_IP:
			if (mps_parse_u32(optarg, 0, MPS_MAX_CONNS_MAX, &v) != 0)
				return fail(err, errlen, "--max-conns-per-ip (0.."
					    RTE_STR(MPS_MAX_CONNS_MAX) ")", optarg);
			cfg->max_conns_per_ip = v;
			break;
		/* Port features */
		case OPT_NO_OFFLOAD:
			cfg->no_offload = 1;
			break;
		case OPT_VLAN:
			if (mps_parse_u32(optarg, 1, 4094, &v) != 0)
				return fail(err, errlen, "--vlan (1..4094)", optarg);
			cfg->vlan_id = (uint16_t)v;
			break;
		case OPT_EXCEPTION:
			if (mps_parse_ifname(optarg, cfg->exc_iface) != 0)
				return fail(err, errlen, "--exception (an interface name, 1..15 bytes)",
					    optarg);
			break;
		case OPT_EXCEPTION_RATE:
			if (mps_parse_u32(optarg, 1, MPS_EXC_RATE_MAX, &cfg->exc_rate) != 0)
				return fail(err, errlen, "--exception-rate (1.."
					    RTE_STR(MPS_EXC_RATE_MAX) ")", optarg);
			break;
		case OPT_WORKERS:
			if (mps_parse_u32(optarg, 1, MPS_MAX_WORKERS, &v) != 0)
				return fail(err, errlen, "--workers (1..63)", optarg);
			cfg->n_workers = v;
			break;
		case OPT_IP:
			if (mps_parse_cidr(optarg, &cfg->ip, &cfg->prefix_len) != 0)
				return fail(err, errlen, "--ip (ADDR/PREFIX)", optarg);
			cfg->netmask = mps_prefix_to_mask(cfg->prefix_len);
			break;
		case OPT_GATEWAY:
			if (mps_parse_ipv4(optarg, &cfg->gateway) != 0)
				return fail(err, errlen, "--gateway", optarg);
			break;
		case OPT_LISTEN:
			if (mps_parse_listen(optarg, cfg) != 0)
				return fail(err, errlen,
					    "--listen (PORT:APP[,PORT:APP...], APP echo|http|discard|iperf)",
					    optarg);
			break;
		case OPT_MTU:
			if (mps_parse_u32(optarg, 576, 9000, &v) != 0)
				return fail(err, errlen, "--mtu (576..9000)", optarg);
			cfg->mtu = (uint16_t)v;
			break;
		case OPT_STATS:
			if (mps_parse_u32(optarg, 0, 3600, &v) != 0)
				return fail(err, errlen, "--stats (0..3600)", optarg);
			cfg->stats_interval = v;
			break;
		case OPT_HELP:
			return 1;
		case OPT_IDLE:
			if (strcmp(optarg, "backoff") == 0)
				cfg->idle_mode = MPS_IDLE_BACKOFF;
			else if (strcmp(optarg, "spin") == 0)
				cfg->idle_mode = MPS_IDLE_SPIN;
			else if (strcmp(optarg, "intr") == 0)
				cfg->idle_mode = MPS_IDLE_INTR;
			else
				return fail(err, errlen, "--idle (backoff|spin|intr)", optarg);
			break;
		case OPT_NEIGH_TTL: /* Neighbour table options */
			if (mps_parse_u32(optarg, 1, MPS_NEIGH_TTL_MAX_S, &v) != 0)
				return fail(err, errlen,
					    "--neigh-ttl (1.." RTE_STR(MPS_NEIGH_TTL_MAX_S) ")", optarg);
			cfg->neigh_ttl_s = v;
			break;
		case OPT_NEIGH_ENTRIES:
			if (mps_parse_u32(optarg, MPS_NEIGH_ENTRIES_MIN, MPS_NEIGH_ENTRIES_MAX, &v) != 0)
				return fail(err, errlen, "--neigh-entries (" RTE_STR(MPS_NEIGH_ENTRIES_MIN)
					    ".." RTE_STR(MPS_NEIGH_ENTRIES_MAX) ")", optarg);
			cfg->neigh_entries = v;
			break;
		case OPT_NEIGH_LOCKTIME:
			if (mps_parse_u32(optarg, 0, MPS_NEIGH_LOCKTIME_MAX_MS, &v) != 0)
				return fail(err, errlen, "--neigh-locktime (0.."
					    RTE_STR(MPS_NEIGH_LOCKTIME_MAX_MS) " ms)", optarg);
			cfg->neigh_locktime_ms = v;
			break;
		case OPT_NEIGH:
			if (mps_parse_static_neigh(optarg, cfg) != 0)
				return fail(err, errlen,
					    "--neigh (ADDR=MAC, unicast MAC, at most 16)",
					    optarg);
			break;
		case OPT_MBUFS:
			if (mps_parse_u32(optarg, MPS_MIN_MBUFS, MPS_MAX_MBUFS, &v) != 0)
				return fail(err, errlen, "--mbufs (1024..4194304)", optarg);
			cfg->n_mbufs = v;
			break;
		case ':':
			return fail(err, errlen, "option (value missing)",
				    argv[optind - 1]);
		default: {
			char shortopt[3] = { '-', (char)optopt, '\0' };

			return fail(err, errlen, "option",
				    optopt > 0 && optopt < 256 ? shortopt : argv[optind - 1]);
		}
		}
	}
	if (optind < argc)
		return fail(err, errlen, "argument", argv[optind]);
	if (cfg->gateway != 0 &&
	    (cfg->gateway & cfg->netmask) != (cfg->ip & cfg->netmask))
		return fail(err, errlen, "--gateway (not on the --ip subnet)",
			    inet_ntoa((struct in_addr){ .s_addr = cfg->gateway }));
	return 0;
}
