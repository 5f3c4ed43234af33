/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mps_neigh.h - the shared neighbour table (IPv4 -> MAC) in an rte_hash.
 *
 * Key: the IPv4 address in network byte order. Data: one 64-bit word that
 * holds the MAC (bits 0-47), the id of the worker that last wrote it
 * (bits 48-51), a coarse timestamp in seconds modulo 2^11 (bits 52-62) and a
 * static flag (bit 63), so an update is a single atomic store. The timestamp
 * range (2048 s) is larger than the longest TTL (MPS_NEIGH_TTL_MAX_S in
 * mps_shared.h) and
 * the primary deletes entries as soon as they expire, so an age never wraps
 * back to "fresh". Only the *_with_hash calls are used: the hash's own
 * function pointer is valid only in the process that created the table.
 *
 * The word's timestamp is the last write (aging); when the MAC last
 * changed (locktime, in ms) is kept beside the table, in a shared array
 * indexed by the key's position (rte_hash positions are stable while the
 * key lives; MPS_NEIGH_LOCK_NAME). The segment is hostile: the learning
 * rules are those of mps_neigh_learn.
 */
#ifndef MPS_NEIGH_H
#define MPS_NEIGH_H

#include <stdint.h>

struct rte_hash;

#define MPS_NEIGH_WORKER_SHIFT 48u
#define MPS_NEIGH_WORKER_MASK 0xfu
#define MPS_NEIGH_TIME_SHIFT 52u
#define MPS_NEIGH_TIME_BITS 11u
#define MPS_NEIGH_TIME_MASK ((1u << MPS_NEIGH_TIME_BITS) - 1)
#define MPS_NEIGH_REFRESH_S 10u  /* a known peer is rewritten at most this often */

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
 * the shared change stamps, the rules' numbers, the learner's write
 * budget and its clock (now_s for the entry's age, now_ms for locktime;
 * both from the TSC, which every process reads alike). */
struct mps_neigh_learner {
	struct rte_hash *h;
	uint64_t *changed_ms;   /* per key position: ms of the last MAC change
				 * (shared, MPS_NEIGH_LOCK_NAME); NULL: no locktime */
	uint32_t n_changed;     /* positions in changed_ms */
	uint32_t ttl_s;
	uint32_t locktime_ms;
	unsigned int worker;
	struct mps_tbucket *writes; /* NULL: unlimited */
	uint32_t now_s;
	uint64_t now_ms;
};

static inline uint64_t
mps_neigh_pack(const uint8_t mac[6], uint32_t now_s, int is_static,
	       unsigned int worker)
{
	uint64_t w = 0;

	for (int i = 0; i < 6; i++)
		w = (w << 8) | mac[i];
	w |= (uint64_t)(worker & MPS_NEIGH_WORKER_MASK) << MPS_NEIGH_WORKER_SHIFT;
	w |= (uint64_t)(now_s & MPS_NEIGH_TIME_MASK) << MPS_NEIGH_TIME_SHIFT;
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

/* Seconds since the entry was written, modulo the timestamp's range. */
static inline uint32_t
mps_neigh_age(uint64_t w, uint32_t now_s)
{
	uint32_t t = (uint32_t)(w >> MPS_NEIGH_TIME_SHIFT) & MPS_NEIGH_TIME_MASK;

	return (now_s - t) & MPS_NEIGH_TIME_MASK;
}

/* A learned entry at least ttl_s old counts as missing; static never. */
static inline int
mps_neigh_expired(uint64_t w, uint32_t now_s, uint32_t ttl_s)
{
	return !mps_neigh_is_static(w) && mps_neigh_age(w, now_s) >= ttl_s;
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
int mps_neigh_lookup(const struct rte_hash *h, uint32_t ip_be, uint32_t now_s,
		     uint32_t ttl_s, uint8_t mac[6]);

/* The raw data word of ip: 0 and *w, or -ENOENT. */
int mps_neigh_get(const struct rte_hash *h, uint32_t ip_be, uint64_t *w);

/* Key positions a change stamp array for h must hold. */
uint32_t mps_neigh_lock_slots(const struct rte_hash *h);

/* Records what a frame says (ip -> mac, by evidence ev) under the rules:
 * - an absent (or expired) address is added, whatever the evidence;
 * - a static entry never changes (PINNED if the MAC differs);
 * - the same MAC is rewritten only when due for a refresh (every
 *   MPS_NEIGH_REFRESH_S, or ttl_s / 2 if that is sooner, so a live peer
 *   never expires); a refresh does not move the locktime window (Linux);
 * - another MAC: never from IPv4 (CONFLICT); from an ARP reply only when
 *   the entry's MAC last changed at least locktime_ms ago (else CONFLICT;
 *   two workers racing for one change: the first wins, the other gets
 *   CONFLICT); from a gratuitous ARP or a request for our address at once;
 * - every write (add, change, refresh, attempt on a full table) takes one
 *   token of l->writes: none left, RATELIMITED and nothing written.
 * Creation and change stamp the key's change time. */
enum mps_neigh_result mps_neigh_learn(struct mps_neigh_learner *l,
				      uint32_t ip_be, const uint8_t mac[6],
				      enum mps_neigh_evidence ev);

/* Adds or replaces a static entry (never aged, never learned over).
 * 0 or -ENOSPC. */
int mps_neigh_add_static(struct rte_hash *h, uint32_t ip_be,
			 const uint8_t mac[6]);

/* Primary only. Deletes up to max expired learned entries and stores their
 * key positions in pos[]: the caller frees them with
 * rte_hash_free_key_with_position only after every reader has passed a
 * quiescent state (the table is lock-free for readers, so a deleted slot is
 * not reused until then). Returns the number deleted. */
unsigned int mps_neigh_expire(struct rte_hash *h, uint32_t now_s,
			      uint32_t ttl_s, int32_t *pos, unsigned int max);

#endif /* MPS_NEIGH_H */
