/* fuzz_sketch.c — rp_shingles, rp_sketch, rp_sketch_tokens, rp_sig_jaccard, rp_set_jaccard.
 *
 * Input: byte 0 = n-gram length and mode, bytes 1-2 = K, byte 3 = seed and
 * alphabet, byte 4 = where A ends and B begins; the rest gives two streams A
 * and B: either token hashes made from single bytes over a small alphabet
 * (many repeated shingles, so the Jaccard takes interesting values) or raw
 * 64-bit shingle hashes (mode bit), so bins and the empty marker can be hit
 * directly.  Invariants:
 *  - rp_shingles returns max(1, ntok - n + 1) values (0 for no token), each
 *    equal to the documented formula computed without rolling;
 *  - every non-empty bin of rp_sketch holds the minimum low 32 bits of the
 *    shingles that pick it (0xffffffff moved to 0xfffffffe); an empty set
 *    gives all RP_SIG_EMPTY; a non-empty set leaves no bin empty and fills the
 *    empty bins with values of non-empty ones; the order and repetition of
 *    shingles do not matter; the seed changes only densified bins;
 *  - rp_sketch_tokens, on every path, equals rp_shingles then rp_sketch and
 *    gives the low 32 bits of every shingle;
 *  - rp_sig_jaccard is in [0, 1], symmetric, 1 for a signature with itself
 *    and for the signatures of equal sets, 0 when no value is shared;
 *  - rp_set_jaccard equals a naive count, is in [0, 1], symmetric, 1 on
 *    equal sets (and on two empty sets). */
#include "fuzz.h"

static uint64_t naive_shingle(const uint64_t *t, size_t w)
{
	uint64_t h = 0;
	for (size_t i = 0; i < w; i++) h ^= rp_rotl64(t[i], (unsigned)(w - 1 - i));
	return rp_mix64(h ^ (0x9e3779b97f4a7c15ULL * (uint64_t)w));
}

static uint32_t low32(uint64_t h)
{
	uint32_t v = (uint32_t)h;
	return v == RP_SIG_EMPTY ? v - 1 : v;
}

static uint32_t bin_of(uint64_t h, int K) { return (uint32_t)(((unsigned __int128)h * (uint64_t)K) >> 64); }

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* Sorted, duplicate-free copy; returns its length. */
static size_t sorted_set(const uint64_t *v, size_t n, uint64_t *out)
{
	if (n && out != v) memcpy(out, v, n * sizeof *v);
	qsort(out, n, sizeof *out, cmp_u64);
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (!u || out[i] != out[u - 1]) out[u++] = out[i];
	return u;
}

static void check_shingles(const uint64_t *tok, size_t ntok, int n, const uint64_t *sh, size_t ns)
{
	size_t want = ntok == 0 ? 0 : ntok < (size_t)n ? 1 : ntok - (size_t)n + 1;
	FCHECKF(ns == want, "%zu shingles from %zu tokens, n=%d", ns, ntok, n);
	size_t w = ntok < (size_t)n ? ntok : (size_t)n;
	for (size_t j = 0; j < ns; j++)
		FCHECKF(sh[j] == naive_shingle(tok + j, w), "shingle %zu of %zu (n=%d)", j, ns, n);
}

static void check_sketch(const uint64_t *sh, size_t ns, int K, uint64_t seed, const uint32_t *sig)
{
	uint32_t *mins = fz_xmalloc((size_t)K * sizeof *mins);
	for (int i = 0; i < K; i++) mins[i] = RP_SIG_EMPTY;
	for (size_t s = 0; s < ns; s++) {
		uint32_t b = bin_of(sh[s], K), v = low32(sh[s]);
		if (v < mins[b]) mins[b] = v;
	}
	int filled = 0;
	uint64_t *vals = fz_xmalloc((size_t)K * sizeof *vals); /* the filled bins' values, sorted */
	for (int i = 0; i < K; i++)
		if (mins[i] != RP_SIG_EMPTY) vals[filled++] = mins[i];
	qsort(vals, (size_t)filled, sizeof *vals, cmp_u64);
	for (int i = 0; i < K; i++) {
		if (!ns) {
			FCHECK(sig[i] == RP_SIG_EMPTY);
		} else if (mins[i] != RP_SIG_EMPTY) {
			FCHECKF(sig[i] == mins[i], "bin %d: %08x, minimum %08x", i, sig[i], mins[i]);
		} else {
			FCHECKF(sig[i] != RP_SIG_EMPTY, "bin %d left empty (%d of %d filled)", i, filled, K);
			uint64_t key = sig[i];
			FCHECKF(bsearch(&key, vals, (size_t)filled, sizeof *vals, cmp_u64), "densified bin %d holds %08x, the value of no filled bin", i, sig[i]);
		}
	}
	/* Order and repetition do not matter. */
	uint64_t *rev = fz_xmalloc((2 * ns + 1) * sizeof *rev);
	for (size_t s = 0; s < ns; s++) rev[s] = sh[ns - 1 - s], rev[ns + s] = sh[s];
	uint32_t *sig2 = fz_xmalloc((size_t)K * sizeof *sig2);
	rp_sketch(rev, 2 * ns, K, seed, sig2);
	FCHECK(!memcmp(sig, sig2, (size_t)K * sizeof *sig));
	/* Another seed changes only the densified bins. */
	rp_sketch(sh, ns, K, seed + 0x1234567, sig2);
	for (int i = 0; i < K; i++)
		if (mins[i] != RP_SIG_EMPTY || !ns) FCHECK(sig2[i] == sig[i]);
	free(rev);
	free(sig2);
	free(mins);
	free(vals);
}

/* rp_sketch_tokens (dedup's one pass: shingles, sketch, the spilled low 32
 * bits) equals rp_shingles then rp_sketch, on the CPU's widest path and the
 * portable one, with the probe table and without. */
static void check_fused(const uint64_t *tok, size_t ntok, int n, int K, uint64_t seed, const uint64_t *sh, size_t ns,
                        const uint32_t *sig)
{
	static rp_probes pr;
	rp_probes_init(&pr, K, seed);
	uint32_t *f = fz_xmalloc((size_t)K * sizeof *f), *lw = fz_xmalloc((ns + 1) * sizeof *lw);
	for (int portable = 0; portable < 2; portable++) {
		rp_sketch_portable(portable);
		for (int table = 0; table < 2; table++) {
			size_t m = rp_sketch_tokens(tok, ntok, n, K, seed, f, table ? lw : NULL, table ? &pr : NULL);
			FCHECKF(m == ns, "%zu fused shingles, %zu", m, ns);
			FCHECKF(!memcmp(f, sig, (size_t)K * sizeof *f), "fused sketch differs (portable %d, table %d)", portable, table);
			for (size_t j = 0; table && j < ns; j++) FCHECKF(lw[j] == (uint32_t)sh[j], "low 32 bits of shingle %zu", j);
		}
	}
	rp_sketch_portable(0);
	free(f);
	free(lw);
}

static double naive_jaccard(const uint64_t *a, size_t na, const uint64_t *b, size_t nb)
{
	if (!na && !nb) return 1.0;
	size_t inter = 0;
	for (size_t i = 0; i < na; i++)
		for (size_t j = 0; j < nb; j++)
			if (a[i] == b[j]) { inter++; break; }
	return (double)inter / (double)(na + nb - inter);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_in in = {data, size};
	uint8_t b0 = fz_byte(&in), b1 = fz_byte(&in), b2 = fz_byte(&in), b3 = fz_byte(&in), b4 = fz_byte(&in);
	int raw = b0 & 0x80;
	int n = b0 & 0x40 ? 1 + (b0 & 0x3f) : 1 + (b0 & 7); /* 1..64, mostly 1..8 */
	/* K in 1..256, or in 1..1024 when bit 7 of byte 1 is set (densifying a
	 * few filled bins of a large K costs O(K^2 / filled) probes). */
	int K = b1 & 0x80 ? 1 + (int)(((unsigned)(b1 & 0x7f) << 8 | b2) % RP_MAX_PERM) : 1 + b2;
	static const uint64_t seeds[4] = {0, 42, 0x8000000000000000ULL, 0xffffffffffffffffULL};
	uint64_t seed = seeds[b3 & 3];
	unsigned alpha = 2 + (b3 >> 2); /* 2..65 distinct tokens */
	size_t split = in.n * b4 / 256;
	const uint8_t *src[2] = {in.p, in.p + split};
	size_t srclen[2] = {split, in.n - split};

	uint64_t *tok[2], *sh[2], *set[2];
	size_t ntok[2], ns[2], nset[2];
	uint32_t *sig[2];
	for (int d = 0; d < 2; d++) {
		if (raw) {
			/* Raw shingle hashes, 8 bytes each (a short tail is zero-padded). */
			ns[d] = (srclen[d] + 7) / 8;
			sh[d] = fz_xmalloc((ns[d] + 1) * sizeof **sh);
			for (size_t i = 0; i < ns[d]; i++) {
				uint64_t v = 0;
				for (size_t k = 0; k < 8 && 8 * i + k < srclen[d]; k++) v |= (uint64_t)src[d][8 * i + k] << (8 * k);
				sh[d][i] = v;
			}
			tok[d] = NULL;
			ntok[d] = 0;
		} else {
			ntok[d] = srclen[d];
			tok[d] = fz_xmalloc((ntok[d] + 1) * sizeof **tok);
			for (size_t i = 0; i < ntok[d]; i++) tok[d][i] = rp_mix64(src[d][i] % alpha + seed);
			sh[d] = fz_xmalloc((ntok[d] + 1) * sizeof **sh);
			ns[d] = rp_shingles(tok[d], ntok[d], n, sh[d]);
			check_shingles(tok[d], ntok[d], n, sh[d], ns[d]);
			/* Deterministic. */
			uint64_t *again = fz_xmalloc((ntok[d] + 1) * sizeof *again);
			FCHECK(rp_shingles(tok[d], ntok[d], n, again) == ns[d]);
			FCHECK(!ns[d] || !memcmp(again, sh[d], ns[d] * sizeof *again));
			free(again);
		}
		sig[d] = fz_xmalloc((size_t)K * sizeof **sig);
		rp_sketch(sh[d], ns[d], K, seed, sig[d]);
		check_sketch(sh[d], ns[d], K, seed, sig[d]);
		if (!raw) check_fused(tok[d], ntok[d], n, K, seed, sh[d], ns[d], sig[d]);
		set[d] = fz_xmalloc((ns[d] + 1) * sizeof **set);
		nset[d] = sorted_set(sh[d], ns[d], set[d]);
	}

	double e_ab = rp_sig_jaccard(sig[0], sig[1], K), e_ba = rp_sig_jaccard(sig[1], sig[0], K);
	FCHECK(e_ab >= 0.0 && e_ab <= 1.0);
	FCHECK(e_ab == e_ba);
	FCHECK(rp_sig_jaccard(sig[0], sig[0], K) == 1.0);
	FCHECK(rp_sig_jaccard(sig[1], sig[1], K) == 1.0);

	double j_ab = rp_set_jaccard(set[0], nset[0], set[1], nset[1]);
	double j_ba = rp_set_jaccard(set[1], nset[1], set[0], nset[0]);
	FCHECK(j_ab >= 0.0 && j_ab <= 1.0);
	FCHECK(j_ab == j_ba);
	if (nset[0] * nset[1] <= 200000)
		FCHECKF(j_ab == naive_jaccard(set[0], nset[0], set[1], nset[1]), "%g vs naive %g", j_ab,
		        naive_jaccard(set[0], nset[0], set[1], nset[1]));
	FCHECK(rp_set_jaccard(set[0], nset[0], set[0], nset[0]) == 1.0);
	if (j_ab == 1.0) {
		/* Equal sets: equal signatures. */
		FCHECK(!memcmp(sig[0], sig[1], (size_t)K * sizeof *sig[0]));
		FCHECK(e_ab == 1.0);
	}
	if (nset[0] && nset[1]) {
		/* No low-32-bit value in common: no position can agree. */
		uint64_t *lo[2];
		size_t nlo[2];
		for (int d = 0; d < 2; d++) {
			lo[d] = fz_xmalloc(nset[d] * sizeof *lo[d]);
			for (size_t i = 0; i < nset[d]; i++) lo[d][i] = low32(set[d][i]);
			nlo[d] = sorted_set(lo[d], nset[d], lo[d]);
		}
		int shared = 0;
		for (size_t i = 0, j = 0; i < nlo[0] && j < nlo[1] && !shared;) {
			if (lo[0][i] < lo[1][j]) i++;
			else if (lo[0][i] > lo[1][j]) j++;
			else shared = 1;
		}
		if (!shared) FCHECKF(e_ab == 0.0, "no value shared but estimate %g", e_ab);
		free(lo[0]);
		free(lo[1]);
	}
	for (int d = 0; d < 2; d++) free(tok[d]), free(sh[d]), free(set[d]), free(sig[d]);
	return 0;
}
