/* sketch.c — one-permutation MinHash with optimal densification.
 *
 * Each shingle hash h picks one of K bins by its high bits (h*K >> 64) and
 * competes with its low 32 bits for that bin's minimum: one pass, O(shingles
 * + K), instead of K hash functions per shingle.  Bins left empty borrow the
 * value of the first non-empty bin along a seeded pseudo-random probe sequence
 * (Shrivastava, "Optimal densification for fast and accurate minwise hashing",
 * ICML 2017), which keeps the estimator unbiased: for two sets A and B the
 * probability that position i agrees is J(A, B).  The Jaccard estimate is the
 * fraction of agreeing positions; its standard error is about
 * sqrt(J(1-J)/K).  Values are 32-bit; RP_SIG_EMPTY marks an empty set. */
#include <string.h>
#include "internal.h"

/* Shingle h competes for the minimum of bin (h*K >> 64). */
static inline void sketch_add(uint32_t *sig, uint64_t h, uint64_t k)
{
	uint32_t bin = (uint32_t)(((unsigned __int128)h * k) >> 64);
	uint32_t v = (uint32_t)h;
	v -= v == RP_SIG_EMPTY; /* keep the empty marker unambiguous */
	uint32_t cur = sig[bin];
	sig[bin] = v < cur ? v : cur;
}

/* Bin i's attempt-th densification probe (attempt >= 1). */
static inline uint32_t probe_bin(uint64_t base, uint64_t attempt, uint64_t k)
{
	uint64_t r = rp_mix64(base + attempt * 0x9e3779b97f4a7c15ULL);
	return (uint32_t)(((unsigned __int128)r * k) >> 64);
}

static inline uint64_t probe_base(uint64_t seed, int i)
{
	return rp_mix64(seed ^ (0xd6e8feb86659fd93ULL * (uint64_t)(i + 1)));
}

void rp_probes_init(rp_probes *t, int K, uint64_t seed)
{
	t->K = K;
	t->seed = seed;
	for (int i = 0; i < K && i < RP_MAX_PERM; i++) {
		uint64_t base = probe_base(seed, i);
		for (int a = 0; a < RP_PROBES; a++) t->bin[i][a] = (uint16_t)probe_bin(base, (uint64_t)a + 1, (uint64_t)K);
	}
}

/* Optimal densification.  An empty bin i probes bins mix(seed, i, attempt)
 * mod K until one is non-empty; the first RP_PROBES come from the table when
 * one is given for this K and seed (a document of a few dozen shingles leaves
 * most of 128 bins empty, and hashing every probe cost more than the
 * sketch). */
static void densify(uint32_t *sig, int K, uint64_t seed, const rp_probes *t)
{
	const uint64_t k = (uint64_t)K;
	if (t && (t->K != K || t->seed != seed)) t = NULL; /* made for another sketch */
	/* The empty bins, listed without a branch per bin (whether a bin is
	 * empty is a coin toss on short documents). */
	uint16_t empty[RP_MAX_PERM];
	int m = 0, last = 0;
	for (int i = 0; i < K; i++) {
		int e = sig[i] == RP_SIG_EMPTY;
		empty[m] = (uint16_t)i;
		m += e;
		last = e ? last : i;
	}
	if (m == 0 || m == K) return;
	if (m == K - 1) { /* every probe sequence ends at the one full bin */
		for (int i = 0; i < K; i++) sig[i] = sig[last];
		return;
	}
	/* Probe the bins as the shingles left them, not bins filled below. */
	uint32_t full[RP_MAX_PERM];
	memcpy(full, sig, (size_t)K * sizeof *sig);
	for (int e = 0; e < m; e++) {
		int i = empty[e];
		uint64_t attempt = 1;
		if (t) {
			/* Branch-free: the first filled bin of the table's probes, found
			 * from the last probe back. */
			uint32_t v = RP_SIG_EMPTY;
			for (int a = RP_PROBES - 1; a >= 0; a--) {
				uint32_t x = full[t->bin[i][a]];
				v = x != RP_SIG_EMPTY ? x : v;
			}
			if (v != RP_SIG_EMPTY) {
				sig[i] = v;
				continue;
			}
			attempt = RP_PROBES + 1;
		}
		uint64_t base = probe_base(seed, i);
		for (;; attempt++) {
			uint32_t j = probe_bin(base, attempt, k);
			if (full[j] != RP_SIG_EMPTY) {
				sig[i] = full[j];
				break;
			}
		}
	}
}

void rp_sketch_probed(const uint64_t *shingles, size_t n, int K, uint64_t seed, uint32_t *sig, const rp_probes *probes)
{
	if (K <= 0 || K > RP_MAX_PERM) return;
	for (int i = 0; i < K; i++) sig[i] = RP_SIG_EMPTY;
	for (size_t s = 0; s < n; s++) sketch_add(sig, shingles[s], (uint64_t)K);
	densify(sig, K, seed, probes);
}

void rp_sketch(const uint64_t *shingles, size_t n, int K, uint64_t seed, uint32_t *sig)
{
	rp_sketch_probed(shingles, n, K, seed, sig, NULL);
}

size_t rp_sketch_tokens(const uint64_t *tok, size_t ntok, int n, int K, uint64_t seed, uint32_t *sig,
                        uint32_t *low32, const rp_probes *probes)
{
	size_t count = rp_shingle_count(ntok, n);
	if (K <= 0 || K > RP_MAX_PERM) return count;
	for (int i = 0; i < K; i++) sig[i] = RP_SIG_EMPTY;
	if (count == 0) return 0;
	const uint64_t k = (uint64_t)K;
	rp_roll r;
	uint64_t h = rp_roll_init(&r, tok, ntok, n);
	if (low32) {
		low32[0] = (uint32_t)h;
		sketch_add(sig, h, k);
		for (size_t j = 1; j < count; j++) {
			h = rp_roll_next(&r, tok, j);
			low32[j] = (uint32_t)h;
			sketch_add(sig, h, k);
		}
	} else {
		sketch_add(sig, h, k);
		for (size_t j = 1; j < count; j++) sketch_add(sig, rp_roll_next(&r, tok, j), k);
	}
	densify(sig, K, seed, probes);
	return count;
}

double rp_sig_jaccard(const uint32_t *a, const uint32_t *b, int K)
{
	int eq = 0;
	for (int i = 0; i < K; i++) eq += a[i] == b[i];
	return K ? (double)eq / K : 0.0;
}

double rp_set_jaccard(const uint64_t *a, size_t na, const uint64_t *b, size_t nb)
{
	if (na == 0 && nb == 0) return 1.0;
	size_t i = 0, j = 0, inter = 0;
	while (i < na && j < nb) {
		if (a[i] < b[j]) i++;
		else if (a[i] > b[j]) j++;
		else inter++, i++, j++;
	}
	return (double)inter / (double)(na + nb - inter);
}
