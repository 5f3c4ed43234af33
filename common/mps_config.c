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

static const char *const app_names[] = {
	[MPS_APP_NONE] = "none",
	[MPS_APP_ECHO] = "echo",
	[MPS_APP_HTTP] = "http",
	[MPS_APP_DISCARD] = "discard",
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

/* Parses into a scratch list first, so cfg is untouched on error. */
int
mps_parse_listen(const char *s, struct mps_config *cfg)
{
	struct mps_listener list[MPS_MAX_LISTENERS];
	char buf[512];
	char *save = NULL, *tok;
	uint32_t n = 0;

	if (s == NULL || s[0] == '\0' || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':');
		uint32_t port;
		enum mps_app app;

		if (colon == NULL)
			return -EINVAL;
		*colon = '\0';
		if (mps_parse_u32(tok, 1, 65535, &port) != 0)
			return -EINVAL;
		app = mps_app_from_name(colon + 1);
		if (app == MPS_APP_NONE)
			return -EINVAL;
		for (uint32_t i = 0; i < n; i++)
			if (list[i].port == port)
				return -EINVAL;
		if (n == MPS_MAX_LISTENERS)
			return -E2BIG;
		list[n++] = (struct mps_listener){ .port = (uint16_t)port,
						   .app = (uint16_t)app };
	}
	if (n == 0)
		return -EINVAL;
	memcpy(cfg->listeners, list, n * sizeof(list[0]));
	cfg->n_listeners = n;
	return 0;
}

int
mps_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;

	if (s == NULL || strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

const char *
mps_config_usage(void)
{
	return "  --workers N              worker processes = RX/TX queue pairs per port (default 1)\n"
	       "  --ip ADDR/PREFIX         the stack's address (default 198.18.0.2/24)\n"
	       "  --gateway ADDR           next hop for off-link destinations\n"
	       "  --listen PORT:APP[,...]  listeners; APP is echo, http or discard\n"
	       "                           (default 7:echo,80:http)\n"
	       "  --mtu BYTES              IP MTU, 576..9000 (default 1500)\n"
	       "  --stats SECONDS          print one line per worker every SECONDS\n"
	       /* issue 4 (reliability) */
	       "  --mbufs N                mbuf pool size (default: sized from the\n"
	       "                           ports and workers; small values force exhaustion)\n"
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
	OPT_MBUFS, /* issue 4 */
};

static const struct option long_opts[] = {
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ "ip", required_argument, NULL, OPT_IP },
	{ "gateway", required_argument, NULL, OPT_GATEWAY },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "mtu", required_argument, NULL, OPT_MTU },
	{ "stats", required_argument, NULL, OPT_STATS },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "mbufs", required_argument, NULL, OPT_MBUFS }, /* issue 4 */
	{ NULL, 0, NULL, 0 },
};

/* Sets err and returns -EINVAL, so each check is one line. */
static int
fail(char *err, size_t errlen, const char *what, const char *arg)
{
	snprintf(err, errlen, "invalid %s '%s'", what, arg ? arg : "");
	return -EINVAL;
}

int
mps_config_parse_args(struct mps_config *cfg, int argc, char **argv,
		      char *err, size_t errlen)
{
	uint32_t v;
	int opt;

	mps_config_defaults(cfg);
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		switch (opt) {
		case OPT_WORKERS:
			if (mps_parse_u32(optarg, 1, MPS_MAX_WORKERS, &v) != 0)
				return fail(err, errlen, "--workers (1..16)", optarg);
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
					    "--listen (PORT:APP[,PORT:APP...], APP echo|http|discard)",
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
		case OPT_MBUFS: /* issue 4 */
			if (mps_parse_u32(optarg, MPS_MIN_MBUFS, MPS_MAX_MBUFS, &v) != 0)
				return fail(err, errlen, "--mbufs (1024..4194304)", optarg);
			cfg->n_mbufs = v;
			break;
		default:
			return fail(err, errlen, "option",
				    argv[optind - 1]);
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
