/* SPDX-License-Identifier: BSD-3-Clause
 *
 * lwipopts.h - lwIP configured for one mpstack worker.
 *
 * NO_SYS raw API, one
 * Ethernet netif on DPDK mbufs, no libc malloc (lwIP's own static heap and
 * pools), window scaling, pools sized for ~10k connections per worker.
 */
#ifndef MPS_LWIPOPTS_H
#define MPS_LWIPOPTS_H

/* ---- system ---- */
#define NO_SYS                      1
#define SYS_LIGHTWEIGHT_PROT        0 /* one thread per lwIP instance */
#define LWIP_SOCKET                 0
#define LWIP_NETCONN                0
#define LWIP_TIMERS                 1
#define LWIP_DONT_PROVIDE_BYTEORDER_FUNCTIONS 1 /* libc has them */

/* ---- memory: static heap and pools, never libc malloc ---- */
#define MEM_LIBC_MALLOC             0
#define MEMP_MEM_MALLOC             0
#define MEM_ALIGNMENT               8
/* The heap holds TCP's queued TX data, copied RX pieces and every control
 * segment (SYN-ACK, ACK, RST, FIN). Data does not take it first-come: the
 * worker API's budget (secondary/api/budget.c) keeps MPS_MEM_CTRL_RESERVE
 * for control segments, a minimum per connection, and shares the rest
 * (sizes in secondary/api/budget.h). Pages are touched only when used. */
#define MEM_SIZE                    (64 * 1024 * 1024)
#define MEMP_NUM_TCP_PCB            10240
#define MEMP_NUM_TCP_PCB_LISTEN     16
#define MEMP_NUM_TCP_SEG            65535 /* lwIP counts pool elements in 16 bits */
#define MEMP_NUM_PBUF               1024
#define MEMP_NUM_ARP_QUEUE          256
#define MEMP_NUM_UDP_PCB            4
#define MEMP_NUM_RAW_PCB            0
#define PBUF_POOL_SIZE              64  /* RX uses mbufs, not this pool */
#define LWIP_SUPPORT_CUSTOM_PBUF    1   /* zero-copy RX: mbuf as pbuf */

/* ---- protocols ---- */
#define LWIP_IPV4                   1
#define LWIP_IPV6                   0
#define LWIP_ARP                    1
#define LWIP_ETHERNET               1
#define ARP_TABLE_SIZE              128
#define ARP_QUEUEING                1
#define ETHARP_TABLE_MATCH_NETIF    0
#define LWIP_ICMP                   1
#define LWIP_RAW                    0
#define LWIP_UDP                    1
#define LWIP_TCP                    1
#define LWIP_DHCP                   0
#define LWIP_AUTOIP                 0
#define LWIP_IGMP                   0
#define LWIP_DNS                    0
#define IP_REASSEMBLY               0 /* fragments are dropped */
#define IP_FRAG                     0 /* we never send more than the MTU */
#define IP_OPTIONS_ALLOWED          1

/* ---- TCP ---- */
/* Jumbo frames. TCP_MSS is only the ceiling: lwIP advertises and
 * sends min(TCP_MSS, netif MTU - 40) (TCP_CALCULATE_EFF_SEND_MSS), so a
 * 1500-byte MTU still uses 1460 and --mtu 9000 uses 8960. Queue lengths
 * stay sized for 1460-byte segments, the smallest common case. */
#define TCP_MSS                     8960
#define MPS_TCP_MSS_ETH             1460
#define LWIP_WND_SCALE              1
/* 256 KiB, the ceiling of --rcvbuf/--sndbuf (MPS_TCP_BUF_MAX, checked in
 * api/conn.c): more in flight for a jumbo connection (README "Windows, and
 * what is in flight"). */
#define TCP_RCV_SCALE               3
#define TCP_WND                     (256 * 1024)
#define TCP_SND_BUF                 (256 * 1024)
#define TCP_SND_QUEUELEN            ((4 * TCP_SND_BUF) / MPS_TCP_MSS_ETH)
#define TCP_SNDLOWAT                (32 * 1024) /* below 64K - 4*1460 */
/* The window is backed by mbufs (RX is zero-copy), not by PBUF_POOL, which
 * lwIP's sanity check assumes. */
#define LWIP_DISABLE_TCP_SANITY_CHECKS 1
#define TCP_OVERSIZE                TCP_MSS
#define TCP_QUEUE_OOSEQ             1
#define TCP_OOSEQ_MAX_PBUFS         64
/* Out-of-order segments are RX mbufs of the shared pool. Per pcb
 * they stay capped at TCP_OOSEQ_MAX_PBUFS; across the worker, once it holds
 * MPS_RX_HELD_HARD mbufs (secondary/worker.h), new ones are not queued (the
 * peer retransmits them), so many connections cannot pin the pool. */
unsigned short mps_ooseq_pbufs_limit(void);
#define TCP_OOSEQ_PBUFS_LIMIT(pcb)  mps_ooseq_pbufs_limit()
/* A client that reuses the 4-tuple of a connection lwIP still holds in
 * TIME_WAIT would hang for the whole TIME_WAIT (2 x TCP_MSL): the hook ends
 * the TIME_WAIT as Linux does (secondary/tcp_hooks.c). */
struct tcp_pcb;
struct tcp_hdr;
struct pbuf;
signed char mps_tcp_inpacket_hook(struct tcp_pcb *pcb, struct tcp_hdr *hdr,
				  struct pbuf *p);
#define LWIP_HOOK_TCP_INPACKET_PCB(pcb, hdr, optlen, opt1len, opt2, p) \
	mps_tcp_inpacket_hook(pcb, hdr, p)
/* Initial sequence numbers as RFC 6528 has them (SipHash-2-4 of the
 * 4-tuple under the stack's secret plus a 4 us clock, common/mps_isn.c;
 * lwIP's own are predictable), and above what the
 * previous connection on a 4-tuple sent when its TIME_WAIT was cut short
 * (RFC 1122 4.2.2.13). In secondary/tcp_hooks.c. */
struct ip4_addr;
unsigned int mps_tcp_isn(const struct ip4_addr *local_ip, unsigned short local_port,
			 const struct ip4_addr *remote_ip, unsigned short remote_port);
#define LWIP_HOOK_TCP_ISN(lip, lport, rip, rport) mps_tcp_isn(lip, lport, rip, rport)
/* TCP data segments that start with 512 bytes or more are built in pool
 * mbufs and sent by reference (secondary/txseg.c; the hook is our patch
 * to tcp_out.c). */
struct pbuf *mps_tcp_seg_alloc(int layer, unsigned short length, unsigned short alloc);
#define LWIP_HOOK_TCP_SEG_ALLOC(layer, length, alloc) \
	mps_tcp_seg_alloc((int)(layer), (length), (alloc))
/* A segment's PCB, or that it has none, from an index instead of lwIP's
 * walks of every active and TIME_WAIT PCB (secondary/pcb_cache.c; the
 * hooks are our patch to tcp_in.c; the index learns of every change to
 * those lists from the TCP_REG and TCP_RMV of lwip_hooks.h). */
#define LWIP_HOOK_FILENAME "lwip_hooks.h"
struct netif;
void mps_pcb_cache_listed(struct tcp_pcb **list, struct tcp_pcb *pcb);
void mps_pcb_cache_unlisted(struct tcp_pcb **list, struct tcp_pcb *pcb);
struct tcp_pcb *mps_pcb_cache_find(const struct tcp_hdr *hdr, const struct ip4_addr *src,
				   const struct ip4_addr *dst, const struct netif *inp);
struct tcp_pcb *mps_pcb_cache_find_tw(const struct tcp_hdr *hdr, const struct ip4_addr *src,
				      const struct ip4_addr *dst, const struct netif *inp);
#define LWIP_HOOK_TCP_PCB_FIND(hdr, src, dst, inp) mps_pcb_cache_find(hdr, src, dst, inp)
#define LWIP_HOOK_TCP_TW_PCB_FIND(hdr, src, dst, inp) mps_pcb_cache_find_tw(hdr, src, dst, inp)
/* The hooks' "no PCB on this list has the 4-tuple": no walk. Never dereferenced. */
#define LWIP_HOOK_TCP_PCB_NONE ((struct tcp_pcb *)(uintptr_t)1)
/* tcp_output appends what it sends to the tail it keeps instead of walking
 * every segment in flight (secondary/tcp_tail.c; our patch to tcp_out.c). */
struct tcp_seg;
struct tcp_seg *mps_tcp_unacked_tail(struct tcp_pcb *pcb);
void mps_tcp_unacked_tail_set(struct tcp_pcb *pcb, struct tcp_seg *seg);
#define LWIP_HOOK_TCP_UNACKED_TAIL(pcb) mps_tcp_unacked_tail(pcb)
#define LWIP_HOOK_TCP_UNACKED_TAIL_SET(pcb, seg) mps_tcp_unacked_tail_set(pcb, seg)
#define TCP_LISTEN_BACKLOG          1
#define TCP_DEFAULT_LISTEN_BACKLOG  255
#define LWIP_TCP_KEEPALIVE          1 /* per-pcb idle/interval/count (api/conn.c) */
/* Three extension slots per pcb: pcb_guard.c learns of every half-open pcb
 * of our listeners (passive_open) and of its end (destroy), so the SYN
 * guard evicts the oldest in O(1) instead of walking every PCB;
 * pcb_cache.c learns that a PCB it cached is freed (destroy); tcp_tail.c
 * keeps the tail of the unacked list there. */
#define LWIP_TCP_PCB_NUM_EXT_ARGS   3
#define TCP_TMR_INTERVAL            100 /* ms: delayed ACK and RTO granularity */
#define LWIP_TCP_TIMESTAMPS         0

/* ---- netif ---- */
#define LWIP_NETIF_TX_SINGLE_PBUF   1 /* one segment = one pbuf (an mbuf: txseg.c) */
#define LWIP_CHECKSUM_CTRL_PER_NETIF 1
/* The checksums ports do not offload (net_memif offloads none): ours, 64-bit
 * accumulators, several times lwIP's speed (common/mps_csum.c). */
unsigned short mps_csum_lwip(const void *buf, int len);
#define LWIP_CHKSUM                 mps_csum_lwip
#define LWIP_NETIF_STATUS_CALLBACK  0
#define LWIP_NETIF_LINK_CALLBACK    0
#define LWIP_SINGLE_NETIF           1

/* ---- statistics and debug: counters are ours, in the memzone ---- */
/* Only the heap's and the pools' use (a few adds per allocation): the
 * memory budget reads them, and telemetry shows them as gauges. */
#define LWIP_STATS                  1
#define MEM_STATS                   1
#define MEMP_STATS                  1
#define LINK_STATS                  0
#define ETHARP_STATS                0
#define IP_STATS                    0
#define IPFRAG_STATS                0
#define ICMP_STATS                  0
#define IGMP_STATS                  0
#define UDP_STATS                   0
#define TCP_STATS                   0
#define SYS_STATS                   0
#define MIB2_STATS                  0
#define LWIP_STATS_DISPLAY          0
#define LWIP_DEBUG                  0

#endif /* MPS_LWIPOPTS_H */
