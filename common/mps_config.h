/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mps_config.h - network and application configuration shared by every
 * process, and the parsers for the command line that fills it. Plain C with
 * no DPDK calls, so the unit tests exercise it directly.
 */
#ifndef MPS_CONFIG_H
#define MPS_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/* Workers: one RX/TX queue pair each. The ceiling is what RTE_MAX_LCORE
 * (128 in Debian's DPDK 22.11) allows, since every process needs its own
 * EAL lcore id and a worker slot needs two while a successor replaces it
 * (--replace): the primary on 0, worker ID on ID + 1, its successor on
 * ID + 1 + MPS_MAX_WORKERS (MPS_SUCCESSOR_LCORE), mps-capture on 127
 * (checked against RTE_MAX_LCORE in mps_shared.h). */
#define MPS_MAX_WORKERS   63u
#define MPS_WORKER_LCORE(id)    ((id) + 1u)
#define MPS_SUCCESSOR_LCORE(id) ((id) + 1u + MPS_MAX_WORKERS)
#define MPS_CAPTURE_LCORE 127   /* a plain number: its default --lcores */
#define MPS_MAX_PORTS     4u
#define MPS_MAX_LISTENERS 16u
#define MPS_TAP_MAX_QUEUES 4u /* net_tap: 8 fds per EAL IPC message (RX + TX) */
#define MPS_MAX_STATIC_NEIGH 16u /* --neigh ADDR=MAC entries */
#define MPS_MIN_MBUFS     1024u     /* --mbufs range */
#define MPS_MAX_MBUFS     4194304u
#define MPS_IFNAMSIZ      16u /* IFNAMSIZ: an interface name and its NUL */
/* Connection limits, per worker (--max-conns, --max-conns-per-ip). The
 * most is lwIP's PCB pool (10240, lwipopts.h) less 1024 for half-open,
 * closing and TIME_WAIT PCBs; the worker checks it at build time. */
#define MPS_MAX_CONNS_DEFAULT 8192 /* plain numbers: the usage text prints them */
#define MPS_MAX_CONNS_MIN     16
#define MPS_MAX_CONNS_MAX     9216
#define MPS_MAX_CONNS_PER_IP_DEFAULT 1024

enum mps_app {
	MPS_APP_NONE = 0,
	MPS_APP_ECHO,
	MPS_APP_HTTP,
	MPS_APP_DISCARD,
	MPS_APP_IPERF,   /* lwIP's lwiperf: an iperf 2 server */
	MPS_APP_SOURCE, /* Pushes 64 KiB per byte received */
	MPS_APP_LOAD,   /* --connect only: closed-loop 64-byte echoes */
	MPS_APP_BULK,   /* --connect only: streams as fast as the window allows */
};

/* What a worker does when a poll finds nothing. */
enum mps_idle_mode {
	MPS_IDLE_BACKOFF = 0, /* pause, then sleeps growing to 500 us */
	MPS_IDLE_SPIN,        /* never sleep: dedicated cores, lowest latency */
	MPS_IDLE_INTR,        /* sleep in epoll on the queues' RX interrupts */
};

/* TCP tuning, global and per listener. A listener's zero field
 * (or MPS_TUNE_INHERIT flag) takes the global value. */
#define MPS_MAX_CONNECTS 8u
/* The largest --rcvbuf and --sndbuf, and the default: lwIP's TCP_WND and
 * TCP_SND_BUF (secondary/lwip/lwipopts.h; api/conn.c checks they agree). */
#define MPS_TCP_BUF_MAX (256u * 1024)
#define MPS_TUNE_INHERIT 0u
#define MPS_TUNE_OFF 1u
#define MPS_TUNE_ON 2u

struct mps_tcp_tune {
	uint32_t rcvbuf;      /* receive window bytes, 0 = lwIP's TCP_WND */
	uint32_t sndbuf;      /* lwIP send buffer bytes, 0 = TCP_SND_BUF */
	uint32_t sndq_limit;  /* bytes queued per connection before it is dropped */
	uint16_t rto_min_ms;  /* floor under lwIP's computed RTO, 0 = none */
	uint16_t rto_init_ms; /* RTO before the first sample, 0 = lwIP's 3 s */
	uint16_t initcwnd;    /* initial cwnd in segments, 0 = lwIP's RFC 3390 */
	uint8_t nodelay;      /* MPS_TUNE_*: Nagle off when ON */
	uint8_t quickack;     /* MPS_TUNE_*: ACK every segment when ON */
	/* Time limits (ms), see the README's table of limits */
	uint32_t header_timeout_ms;    /* a request's header must be whole by then */
	uint32_t keepalive_timeout_ms; /* idle between requests before the close */
	uint32_t send_timeout_ms;      /* data pending, no ACK progress: reset */
	uint32_t linger_timeout_ms;    /* lingering close: silence this long ends it */
};

/* The time limits' defaults (nginx's, but a 30 s header timeout) and range
 * (plain numbers: the usage text prints them). */
#define MPS_HEADER_TIMEOUT_MS    30000
#define MPS_KEEPALIVE_TIMEOUT_MS 75000
#define MPS_SEND_TIMEOUT_MS      60000
#define MPS_LINGER_TIMEOUT_MS    5000
#define MPS_TIMEOUT_MAX_MS       86400000u /* a day */

/* An active open each worker makes at start-up. */
struct mps_connect {
	uint32_t ip;   /* network byte order */
	uint16_t port;
	uint16_t app;  /* enum mps_app: the client side of it */
	uint16_t count; /* connections per worker ("*N" suffix) */
};

struct mps_listener {
	uint16_t port;
	uint16_t app; /* enum mps_app */
	struct mps_tcp_tune tune; /* Per-listener overrides */
};

/* Everything here is plain data: it is copied into the shared memzone. */
struct mps_config {
	uint32_t n_workers;
	uint32_t ip;          /* network byte order */
	uint32_t netmask;     /* network byte order */
	uint32_t gateway;     /* network byte order, 0 = none */
	uint8_t prefix_len;
	uint16_t mtu;
	uint32_t stats_interval; /* seconds, 0 = quiet */
	uint32_t n_listeners;
	struct mps_listener listeners[MPS_MAX_LISTENERS];
	/* Performance */
	uint32_t idle_mode;      /* enum mps_idle_mode */
	/* Neighbour table */
	uint32_t neigh_ttl_s;    /* learned entries older than this are missing */
	uint32_t neigh_entries;  /* table capacity */
	uint32_t neigh_locktime_ms; /* an ARP reply changes no MAC younger than this */
	uint32_t n_static_neigh;
	struct mps_static_neigh {
		uint32_t ip;     /* network byte order */
		uint8_t mac[6];
	} static_neigh[MPS_MAX_STATIC_NEIGH];
	/* Connection limits, per worker */
	uint32_t max_conns;        /* connections accepted */
	uint32_t max_conns_per_ip; /* ... from one source address, 0 = none */
	/* Global TCP tuning and active opens */
	struct mps_tcp_tune tune;
	uint32_t n_connects;
	struct mps_connect connects[MPS_MAX_CONNECTS];
	/* reliability */
	uint32_t n_mbufs;     /* mbuf pool size, 0 = sized from the ports */
	/* Port features */
	uint32_t no_offload;  /* 1: checksums and VLAN tags in software */
	uint16_t vlan_id;     /* 802.1Q VLAN the stack lives on, 0 = untagged */
	/* The kernel exception path: what the stack does not serve goes to
	 * this kernel interface, and what the kernel sends there leaves
	 * through the first port ("" = off), at most exc_rate frames a
	 * second each way. */
	char exc_iface[MPS_IFNAMSIZ];
	uint32_t exc_rate;
};

/* Fills the documented defaults: 1 worker, 198.18.0.2/24, 7:echo,80:http. */
void mps_config_defaults(struct mps_config *cfg);

/* Number parsing with end-pointer and range checks. 0 or -EINVAL/-ERANGE. */
int mps_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);

/* Dotted quad to network byte order. 0 or -EINVAL. */
int mps_parse_ipv4(const char *s, uint32_t *ip_be);

/* "ADDR/PREFIX" (PREFIX 1..32; no prefix means /32). 0 or -EINVAL. */
int mps_parse_cidr(const char *s, uint32_t *ip_be, uint8_t *prefix_len);

/* Prefix length to network-order mask. */
uint32_t mps_prefix_to_mask(uint8_t prefix_len);

/* "PORT:APP[,PORT:APP...]" replaces cfg's listeners. 0 or -EINVAL/-E2BIG. */
int mps_parse_listen(const char *s, struct mps_config *cfg);

/* "ADDR=MAC" appended to cfg's static neighbours (an address
 * given twice keeps the last MAC). 0, -EINVAL or -E2BIG. */
int mps_parse_static_neigh(const char *s, struct mps_config *cfg);
/* "ADDR:PORT:APP[,...]" replaces cfg's active opens. */
int mps_parse_connect(const char *s, struct mps_config *cfg);

/* The effective tuning of a listener (its fields over the global). */
void mps_tune_resolve(const struct mps_tcp_tune *global,
		      const struct mps_tcp_tune *own, struct mps_tcp_tune *out);

/* A kernel interface name for --exception: 1..15 bytes, none of '/',
 * ':', whitespace, not "." or "..". 0 or -EINVAL. */
int mps_parse_ifname(const char *s, char out[MPS_IFNAMSIZ]);

/* "aa:bb:cc:dd:ee:ff" to 6 bytes. 0 or -EINVAL. */
int mps_parse_mac(const char *s, uint8_t mac[6]);

enum mps_app mps_app_from_name(const char *name);
const char *mps_app_name(enum mps_app app);

/* Parses the primary's application arguments (after EAL's "--").
 * Returns 0 when cfg is ready, 1 when --help was asked (usage printed by the
 * caller), or -EINVAL with a one-line reason in err. */
int mps_config_parse_args(struct mps_config *cfg, int argc, char **argv,
			  char *err, size_t errlen);

/* The primary's usage text (app options only). */
const char *mps_config_usage(void);

#endif /* MPS_CONFIG_H */
