/* SPDX-License-Identifier: BSD-3-Clause
 *
 * test_isn.c - SipHash-2-4 and the RFC 6528 ISNs (common/mps_siphash.c,
 * common/mps_isn.c), and the attack that broke the CRC-keyed ISNs.
 *
 * The old ISNs (secondary/tcp_hooks.c before layout 12) were
 * rte_hash_crc(tuple ^ k0, k1) + clock. CRC32C without final inversion
 * is linear over GF(2) in data and initial value together, so for any
 * secret crc(tuple ^ k0, k1) = crc(tuple, 0) ^ mask, one 32-bit mask per
 * worker. An attacker who knows the clock term (the 4 us tick; here given
 * to it exactly, the attacker's best case) and opens connections of its
 * own learns the mask and predicts the ISN of any other 4-tuple. The same
 * attack, and a generic linearity test that needs no knowledge of the
 * function, must fail against SipHash-2-4.
 */
#include <stdio.h>
#include <string.h>

#include <rte_hash_crc.h>

#include "mps_isn.h"
#include "mps_siphash.h"
#include "unit.h"

#define ATTACK_TRIALS 200
#define ATTACK_SAMPLES 16 /* connections the attacker opens per trial */

/* The reference vectors (SipHash's vectors.h, vectors_sip64): key
 * 00 01 .. 0f, message 00 01 .. (len - 1), output bytes read little-endian.
 * Length 15 is the paper's worked example (Appendix A). */
static const uint64_t sip24_vectors[] = {
	0x726fdb47dd0e0e31ull, 0x74f839c593dc67fdull, 0x0d6c8009d9a94f5aull,
	0x85676696d7fb7e2dull, 0xcf2794e0277187b7ull, 0x18765564cd99a68dull,
	0xcbc9466e58fee3ceull, 0xab0200f58b01d137ull, 0x93f5f5799a932462ull,
	0x9e0082df0ba9e4b0ull, 0x7a5dbbc594ddb9f3ull, 0xf4b32f46226bada7ull,
	0x751e8fbc860ee5fbull, 0x14ea5627c0843d90ull, 0xf723ca908e7af2eeull,
	0xa129ca6149be45e5ull, 0x3f2acc7f57c29bdbull,
};

void
test_siphash_vectors(void)
{
	uint8_t key[MPS_SIPHASH_KEY_LEN], msg[64];

	for (unsigned int i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	for (unsigned int i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	for (size_t len = 0; len < sizeof(sip24_vectors) / sizeof(sip24_vectors[0]); len++)
		if (!CHECK(mps_siphash24(key, msg, len) == sip24_vectors[len]))
			printf("  length %zu: got %016llx\n", len,
			       (unsigned long long)mps_siphash24(key, msg, len));
	/* the paper's example, spelled out */
	CHECK(mps_siphash24(key, msg, 15) == 0xa129ca6149be45e5ull);
}

/* splitmix64: reproducible secrets and tuples for the tests. */
static uint64_t
rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void
rnd_secret(uint64_t *s, uint8_t secret[MPS_ISN_SECRET_LEN])
{
	uint64_t a = rnd(s), b = rnd(s);

	memcpy(secret, &a, 8);
	memcpy(secret + 8, &b, 8);
}

void
test_isn_clock_and_tuple(void)
{
	uint8_t secret[MPS_ISN_SECRET_LEN], other[MPS_ISN_SECRET_LEN];
	uint64_t seed = 1;
	uint32_t lip = 0x020012c6u, rip = 0x010012c6u; /* 198.18.0.2, .1 as stored */
	uint32_t f;

	rnd_secret(&seed, secret);
	memcpy(other, secret, sizeof(other));
	other[15] ^= 0x80;
	f = mps_isn_offset(secret, lip, 80, rip, 40000);
	/* M + F, F a function of the tuple and the secret only */
	CHECK_EQ(mps_isn(secret, lip, 80, rip, 40000, 0), f);
	CHECK_EQ(mps_isn(secret, lip, 80, rip, 40000, 12345u), f + 12345u);
	CHECK_EQ(mps_isn(secret, lip, 80, rip, 40000, 0xffffffffu), f - 1u);
	CHECK_EQ(mps_isn_offset(secret, lip, 80, rip, 40000), f);
	/* every field, and the secret, changes it */
	CHECK(mps_isn_offset(secret, lip ^ 0x01000000u, 80, rip, 40000) != f);
	CHECK(mps_isn_offset(secret, lip, 81, rip, 40000) != f);
	CHECK(mps_isn_offset(secret, lip, 80, rip ^ 1u, 40000) != f);
	CHECK(mps_isn_offset(secret, lip, 80, rip, 40001) != f);
	CHECK(mps_isn_offset(secret, rip, 40000, lip, 80) != f); /* direction */
	CHECK(mps_isn_offset(other, lip, 80, rip, 40000) != f);
}

struct tuple {
	uint32_t lip, rip;
	uint16_t lport, rport;
};

/* The old scheme, as secondary/tcp_hooks.c had it: two 32-bit keys per
 * worker (rte_rand), CRC32C of the tuple, plus the clock. */
static uint32_t
crc_isn(const uint32_t key[2], const struct tuple *t, uint32_t clock_4us)
{
	uint32_t w[3] = { t->lip ^ key[0], t->rip,
			  ((uint32_t)t->lport << 16) | t->rport };

	return rte_hash_crc(w, sizeof(w), key[1]) + clock_4us;
}

/* What the attacker computes itself: the public CRC, no key. */
static uint32_t
crc_public(const struct tuple *t)
{
	uint32_t w[3] = { t->lip, t->rip, ((uint32_t)t->lport << 16) | t->rport };

	return rte_hash_crc(w, sizeof(w), 0);
}

/* The ISN functions under attack, behind one signature. */
struct isn_scheme {
	uint32_t crc_key[2];
	uint8_t secret[MPS_ISN_SECRET_LEN];
	int sip; /* 0: the old CRC scheme, 1: mps_isn */
};

static uint32_t
scheme_isn(const struct isn_scheme *s, const struct tuple *t, uint32_t clock_4us)
{
	if (!s->sip)
		return crc_isn(s->crc_key, t, clock_4us);
	return mps_isn(s->secret, t->lip, t->lport, t->rip, t->rport, clock_4us);
}

/* One trial of the attack: the attacker opens ATTACK_SAMPLES connections
 * of its own (its address, ports it chooses), sees their ISNs and the
 * clock, recovers the mask by the CRC's linearity (the mask every sample
 * agrees on; *consistent says whether all did), then predicts the ISN the
 * server gives another source's connection. 1 if the prediction is exact. */
static int
attack_once(const struct isn_scheme *s, uint64_t *seed, int *consistent)
{
	struct tuple t = { .lip = 0x020012c6u, .lport = 80,
			   .rip = 0x010012c6u }; /* attacker 198.18.0.1 */
	struct tuple victim;
	uint32_t clock_4us = (uint32_t)rnd(seed), mask = 0;

	*consistent = 1;
	for (unsigned int i = 0; i < ATTACK_SAMPLES; i++) {
		uint32_t isn, m;

		t.rport = (uint16_t)(40000 + i); /* chosen tuples */
		clock_4us += 1 + (uint32_t)(rnd(seed) % 25000); /* up to 100 ms apart */
		isn = scheme_isn(s, &t, clock_4us);
		m = (isn - clock_4us) ^ crc_public(&t);
		if (i == 0)
			mask = m;
		else if (m != mask)
			*consistent = 0;
	}
	/* another source: a random address and port, a little later */
	victim = (struct tuple){ .lip = t.lip, .lport = t.lport,
				 .rip = (uint32_t)rnd(seed),
				 .rport = (uint16_t)rnd(seed) };
	clock_4us += 1 + (uint32_t)(rnd(seed) % 25000);
	return scheme_isn(s, &victim, clock_4us) ==
	       (crc_public(&victim) ^ mask) + clock_4us;
}

/* ATTACK_TRIALS trials, each against a fresh secret; predictions that hit. */
static unsigned int
attack(int sip, unsigned int *consistent_trials)
{
	uint64_t seed = 0x6d707374ull + (uint64_t)sip;
	unsigned int hits = 0;

	*consistent_trials = 0;
	for (unsigned int trial = 0; trial < ATTACK_TRIALS; trial++) {
		struct isn_scheme s = { .sip = sip };
		int consistent;

		s.crc_key[0] = (uint32_t)rnd(&seed);
		s.crc_key[1] = (uint32_t)rnd(&seed);
		rnd_secret(&seed, s.secret);
		hits += (unsigned int)attack_once(&s, &seed, &consistent);
		*consistent_trials += (unsigned int)consistent;
	}
	return hits;
}

void
test_isn_crc_attack(void)
{
	unsigned int old_consistent, new_consistent;
	unsigned int old_hits = attack(0, &old_consistent);
	unsigned int new_hits = attack(1, &new_consistent);

	printf("  ISN prediction from %u own connections: CRC32C scheme %u/%u, "
	       "SipHash-2-4 %u/%u (mask consistent in %u and %u trials)\n",
	       ATTACK_SAMPLES, old_hits, ATTACK_TRIALS, new_hits, ATTACK_TRIALS,
	       old_consistent, new_consistent);
	/* the attack works: the old scheme falls every time */
	CHECK_EQ(old_consistent, ATTACK_TRIALS);
	CHECK_EQ(old_hits, ATTACK_TRIALS);
	/* and gets nothing from the new one */
	CHECK_EQ(new_consistent, 0);
	CHECK_EQ(new_hits, 0);
}

/* A test for linearity that needs no knowledge of the function: with the
 * clock fixed, F(a) ^ F(b) ^ F(c) ^ F(a ^ b ^ c) is 0 for every affine F
 * (the old scheme, always), and for a PRF only by chance (1 in 2^32). */
void
test_isn_not_linear(void)
{
	uint64_t seed = 7;
	unsigned int zero[2] = { 0, 0 };

	for (int sip = 0; sip <= 1; sip++) {
		for (unsigned int i = 0; i < ATTACK_TRIALS; i++) {
			struct isn_scheme s = { .sip = sip };
			struct tuple a, b, c, d;

			s.crc_key[0] = (uint32_t)rnd(&seed);
			s.crc_key[1] = (uint32_t)rnd(&seed);
			rnd_secret(&seed, s.secret);
			a = (struct tuple){ (uint32_t)rnd(&seed), (uint32_t)rnd(&seed),
					    (uint16_t)rnd(&seed), (uint16_t)rnd(&seed) };
			b = (struct tuple){ (uint32_t)rnd(&seed), (uint32_t)rnd(&seed),
					    (uint16_t)rnd(&seed), (uint16_t)rnd(&seed) };
			c = (struct tuple){ (uint32_t)rnd(&seed), (uint32_t)rnd(&seed),
					    (uint16_t)rnd(&seed), (uint16_t)rnd(&seed) };
			d = (struct tuple){ a.lip ^ b.lip ^ c.lip, a.rip ^ b.rip ^ c.rip,
					    (uint16_t)(a.lport ^ b.lport ^ c.lport),
					    (uint16_t)(a.rport ^ b.rport ^ c.rport) };
			if ((scheme_isn(&s, &a, 0) ^ scheme_isn(&s, &b, 0) ^
			     scheme_isn(&s, &c, 0) ^ scheme_isn(&s, &d, 0)) == 0)
				zero[sip]++;
		}
	}
	CHECK_EQ(zero[0], ATTACK_TRIALS); /* CRC: affine, every time */
	CHECK_EQ(zero[1], 0);             /* SipHash: never */
}
