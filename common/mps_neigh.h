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

/* What mps_neigh_learn did, for the caller's counters. */
enum mps_neigh_result {
	MPS_NEIGH_UNCHANGED = 0, /* fresh and same MAC: no write */
	MPS_NEIGH_ADDED,         /* new entry or MAC changed */
	MPS_NEIGH_REFRESHED,     /* same MAC, timestamp rewritten */
	MPS_NEIGH_FULL,          /* no room */
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

/* Records ip -> mac seen now by `worker`, writing only when something
 * changed or the entry is due for a refresh (every MPS_NEIGH_REFRESH_S, or
 * ttl_s / 2 if that is sooner, so a live peer never expires). Static entries
 * are never overwritten. */
enum mps_neigh_result mps_neigh_learn(struct rte_hash *h, uint32_t ip_be,
				      const uint8_t mac[6], uint32_t now_s,
				      uint32_t ttl_s, unsigned int worker);

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
