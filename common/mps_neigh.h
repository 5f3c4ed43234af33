/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mps_neigh.h - the shared neighbour table (IPv4 -> MAC) in an rte_hash.
 *
 * Key: the IPv4 address in network byte order. Data: one 64-bit word that
 * holds the MAC (bits 0-47), the id of the worker that last wrote it
 * (bits 48-55: up to 256 workers), and a static flag (bit 63), so a MAC
 * change is a single atomic store. Only the *_with_hash calls are used: the
 * hash's own function pointer is valid only in the process that created the
 * table.
 *
 * Time lives beside the table, in a shared array indexed by the key's
 * position (rte_hash positions are stable while the key lives;
 * MPS_NEIGH_STAMPS_NAME): when the entry was last written (aging) and when
 * its MAC last changed (locktime), both in 64-bit milliseconds of the TSC
 * every process reads. An age cannot wrap back to "fresh", however long
 * the primary's aging is held up, and a refresh is one store there, not a
 * hash write. A position the primary frees is stamped "unstamped" first,
 * so a key re-using it reads as fresh until its creator stamps it. The
 * segment is hostile: the learning rules are those of mps_neigh_learn.
 */
#ifndef MPS_NEIGH_H
#define MPS_NEIGH_H

#include <stdint.h>

struct rte_hash;

#define MPS_NEIGH_WORKER_SHIFT 48u
#define MPS_NEIGH_WORKER_MASK 0xffu
#define MPS_NEIGH_REFRESH_S 10u  /* a known peer is rewritten at most this often */
#define MPS_NEIGH_UNSTAMPED UINT64_MAX /* written_ms of a key being created */

/* The times of one key position (shared, MPS_NEIGH_STAMPS_NAME). */
struct mps_neigh_stamp {
	uint64_t written_ms; /* last creation, change or refresh; or UNSTAMPED */
	uint64_t changed_ms; /* last MAC change (creation counts) */
};

/* The table as every process sees it: the hash and its stamps. */
struct mps_neigh_table {
	struct rte_hash *h;
	struct mps_neigh_stamp *st; /* one per key position */
	uint32_t n_st;
};

/* What a received frame says about an address, for mps_neigh_learn. */
enum mps_neigh_evidence {
	MPS_NEIGH_EV_IPV4 = 0,     /* an IPv4 source: may create, never changes a MAC */
	MPS_NEIGH_EV_ARP,          /* an ARP reply, or a request for someone
				    * else: changes a MAC only after locktime */
	MPS_NEIGH_EV_ARP_OVERRIDE, /* gratuitous ARP, or a request for our
				    * address: changes a MAC at once (Linux) */
};

/* What mps_neigh_learn did, for the caller's counters. */
enum mps_neigh_result {
	MPS_NEIGH_UNCHANGED = 0, /* fresh and same MAC: no write */
	MPS_NEIGH_ADDED,         /* new entry or MAC changed */
	MPS_NEIGH_REFRESHED,     /* same MAC, timestamp rewritten */
	MPS_NEIGH_FULL,          /* no room */
	MPS_NEIGH_CONFLICT,      /* learned entry, other MAC, change refused
				  * (IPv4 evidence, or within locktime) */
	MPS_NEIGH_PINNED,        /* static entry, other MAC: refused */
	MPS_NEIGH_RATELIMITED,   /* a write was due, the learner's budget is spent */
};

/* A token bucket: rate tokens a second, at most burst saved; starts
 * full. Process-private (a worker's own). */
struct mps_tbucket {
	uint64_t milli;   /* tokens x 1000 */
	uint64_t last_ms; /* when milli was last topped up */
	uint32_t rate;    /* tokens a second */
	uint32_t burst;
};

static inline void
mps_tbucket_init(struct mps_tbucket *b, uint32_t rate, uint32_t burst,
		 uint64_t now_ms)
{
	b->rate = rate;
	b->burst = burst;
	b->milli = (uint64_t)burst * 1000;
	b->last_ms = now_ms;
}

/* Takes one token if there is one: 1, else 0. A clock that went
 * backwards (another process's reading) adds nothing. */
static inline int
mps_tbucket_take(struct mps_tbucket *b, uint64_t now_ms)
{
	uint64_t cap = (uint64_t)b->burst * 1000;

	if (now_ms > b->last_ms) {
		uint64_t dt = now_ms - b->last_ms, room = cap - b->milli;

		/* dt * rate only when it cannot pass room (no overflow). */
		if (b->rate != 0 && dt > room / b->rate)
			b->milli = cap;
		else
			b->milli += dt * b->rate;
		b->last_ms = now_ms;
	}
	if (b->milli < 1000)
		return 0;
	b->milli -= 1000;
	return 1;
}

/* Everything mps_neigh_learn needs besides the frame's claim: the table,
 * the rules' numbers, the learner's write budget and its clock (ms of the
 * TSC, which every process reads alike). */
struct mps_neigh_learner {
	struct mps_neigh_table t;
	uint32_t ttl_s;
	uint32_t locktime_ms;
	unsigned int worker;
	struct mps_tbucket *writes; /* NULL: unlimited */
	uint64_t now_ms;
};

static inline uint64_t
mps_neigh_pack(const uint8_t mac[6], int is_static, unsigned int worker)
{
	uint64_t w = 0;

	for (int i = 0; i < 6; i++)
		w = (w << 8) | mac[i];
	w |= (uint64_t)(worker & MPS_NEIGH_WORKER_MASK) << MPS_NEIGH_WORKER_SHIFT;
	if (is_static)
		w |= 1ull << 63;
	return w;
}

static inline void
mps_neigh_unpack_mac(uint64_t w, uint8_t mac[6])
{
	for (int i = 5; i >= 0; i--) {
		mac[i] = (uint8_t)w;
		w >>= 8;
	}
}

static inline int
mps_neigh_is_static(uint64_t w)
{
	return (int)(w >> 63);
}

/* The worker that last wrote a learned entry. */
static inline unsigned int
mps_neigh_worker(uint64_t w)
{
	return (unsigned int)(w >> MPS_NEIGH_WORKER_SHIFT) & MPS_NEIGH_WORKER_MASK;
}

/* Milliseconds since the position was written: 0 while unstamped, and
 * for a stamp a little ahead of now_ms (another process read the TSC
 * later). */
static inline uint64_t
mps_neigh_age_ms(const struct mps_neigh_stamp *st, uint64_t now_ms)
{
	uint64_t t = __atomic_load_n(&st->written_ms, __ATOMIC_ACQUIRE);

	return t == MPS_NEIGH_UNSTAMPED || (int64_t)(now_ms - t) < 0 ? 0 :
	       now_ms - t;
}

/* A learned entry at least ttl_s old counts as missing; static never. */
static inline int
mps_neigh_expired(uint64_t w, const struct mps_neigh_stamp *st,
		  uint64_t now_ms, uint32_t ttl_s)
{
	return !mps_neigh_is_static(w) &&
	       mps_neigh_age_ms(st, now_ms) >= (uint64_t)ttl_s * 1000;
}

/* Same MAC in both words? */
static inline int
mps_neigh_same_mac(uint64_t a, uint64_t b)
{
	return ((a ^ b) & 0xffffffffffffull) == 0;
}

/* The signature every process computes for a key. */
uint32_t mps_neigh_sig(uint32_t ip_be);

/* Creates the table (primary only). NULL with rte_errno set on failure. */
struct rte_hash *mps_neigh_create(const char *name, uint32_t entries,
				  int socket_id);

/* Finds a live entry: 0 and the MAC, or -ENOENT (absent or expired). */
int mps_neigh_lookup(const struct mps_neigh_table *t, uint32_t ip_be,
		     uint64_t now_ms, uint32_t ttl_s, uint8_t mac[6]);

/* The raw data word of ip: 0 and *w, or -ENOENT. */
int mps_neigh_get(const struct rte_hash *h, uint32_t ip_be, uint64_t *w);

/* The data word and stamps of ip: its key position, or -ENOENT. */
int32_t mps_neigh_find(const struct mps_neigh_table *t, uint32_t ip_be,
		       uint64_t *w, struct mps_neigh_stamp **st);

/* Key positions the stamp array of h must hold. */
uint32_t mps_neigh_stamp_slots(const struct rte_hash *h);

/* Marks n stamps unstamped (a new table's array, by the primary). */
void mps_neigh_stamps_init(struct mps_neigh_stamp *st, uint32_t n);

/* Records what a frame says (ip -> mac, by evidence ev) under the rules:
 * - an absent (or expired) address is added, whatever the evidence;
 * - a static entry never changes (PINNED if the MAC differs);
 * - the same MAC is refreshed (its written stamp only) when due (every
 *   MPS_NEIGH_REFRESH_S, or ttl_s / 2 if that is sooner, so a live peer
 *   never expires; at once if unstamped); a refresh does not move the
 *   locktime window (Linux);
 * - another MAC: never from IPv4 (CONFLICT); from an ARP reply only when
 *   the entry's MAC last changed at least locktime_ms ago (else CONFLICT;
 *   two workers racing for one change: the first wins, the other gets
 *   CONFLICT); from a gratuitous ARP or a request for our address at once;
 * - every write (add, change, refresh, attempt on a full table) takes one
 *   token of l->writes: none left, RATELIMITED and nothing written.
 * Creation and change stamp both of the key's times. */
enum mps_neigh_result mps_neigh_learn(struct mps_neigh_learner *l,
				      uint32_t ip_be, const uint8_t mac[6],
				      enum mps_neigh_evidence ev);

/* Adds or replaces a static entry (never aged, never learned over).
 * 0 or -ENOSPC. */
int mps_neigh_add_static(struct rte_hash *h, uint32_t ip_be,
			 const uint8_t mac[6]);

/* Primary only. Deletes up to max expired learned entries and stores their
 * key positions in pos[]: the caller frees them with mps_neigh_release
 * only after every reader has passed a quiescent state (the table is
 * lock-free for readers, so a deleted slot is not reused until then).
 * Returns the number deleted. */
unsigned int mps_neigh_expire(const struct mps_neigh_table *t, uint64_t now_ms,
			      uint32_t ttl_s, int32_t *pos, unsigned int max);

/* Primary only: unstamps a deleted key's position and frees it. */
void mps_neigh_release(const struct mps_neigh_table *t, int32_t pos);

#endif /* MPS_NEIGH_H */
