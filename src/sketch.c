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
#ifdef RP_HAVE_SHINGLE8
#define HAVE_AVX512_SKETCH 1 /* shingles hashed eight at a time, chosen at run time */
#endif

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

#ifdef HAVE_AVX512_SKETCH
#define SKETCH_AVX512 "avx512f,avx512dq,avx512vl"

/* Shingles j .. j+7 of a full-window stream (w tokens each, count of them)
 * at once: each is XOR_i rotl(tok[j+i], w-1-i), the rolling hash's value
 * written out (shingle.c), then rp_mix64, the bin (h*K >> 64 from two 32-bit
 * products: K < 2^32) and the 32-bit value, exactly as sketch_add has them.
 * The minima are then taken one shingle at a time (bins collide). */
__attribute__((target(SKETCH_AVX512))) static void sketch_avx512(const uint64_t *tok, size_t count, size_t w,
                                                              uint64_t tag, uint64_t k, uint32_t *sig,
                                                              uint32_t *low32)
{
	const __m512i vk = _mm512_set1_epi64((long long)k);
	const __m512i all1 = _mm512_set1_epi64(0xffffffffLL);
	const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 0, 0, 0, 0, 0, 0, 0, 0);
	/* (bin << 32 | value) of a chunk of shingles, then the minima: reading
	 * them back right after the vector stores stalled on forwarding. */
	enum { CHUNK = 256 };
	uint64_t key[CHUNK];
	for (size_t c0 = 0; c0 < count; c0 += CHUNK) {
		size_t cn = count - c0 < CHUNK ? count - c0 : CHUNK;
		for (size_t j = 0; j < cn; j += 8) {
			size_t left = cn - j;
			__mmask8 m = left >= 8 ? 0xff : (__mmask8)((1u << left) - 1);
			const uint64_t *t = tok + c0 + j;
			__m512i h = rp_shingle8(t, m, w, tag);
			__m512i lo = _mm512_srli_epi64(_mm512_mul_epu32(h, vk), 32);
			__m512i bin = _mm512_add_epi64(_mm512_mul_epu32(_mm512_srli_epi64(h, 32), vk), lo);
			if (low32) {
				/* The low halves by a permute: a down-converting store to
				 * memory (vpmovqd) is slow on some CPUs. */
				__m256i lo32 = _mm512_castsi512_si256(_mm512_permutexvar_epi32(even, h));
				if (m == 0xff) _mm256_storeu_si256((__m256i *)(void *)(low32 + c0 + j), lo32);
				else _mm256_mask_storeu_epi32(low32 + c0 + j, m, lo32);
			}
			__m512i v = _mm512_and_si512(h, all1);
			v = _mm512_mask_sub_epi64(v, _mm512_cmpeq_epi64_mask(v, all1), v, _mm512_set1_epi64(1)); /* not EMPTY */
			_mm512_mask_storeu_epi64(key + j, m, _mm512_or_si512(_mm512_andnot_si512(all1, bin), v));
		}
		for (size_t j = 0; j < cn; j++) {
			uint32_t b = (uint32_t)(key[j] >> 32), v = (uint32_t)key[j];
			uint32_t cur = sig[b];
			sig[b] = v < cur ? v : cur;
		}
	}
}

/* Bin i's value when its RP_PROBES table probes all found empty bins: the
 * probe sequence continued until a full one. */
static uint32_t probe_on(const uint32_t *sig, int K, uint64_t seed, uint32_t i)
{
	uint64_t base = probe_base(seed, (int)i);
	for (uint64_t attempt = RP_PROBES + 1;; attempt++) {
		uint32_t j = probe_bin(base, attempt, (uint64_t)K);
		if (sig[j] != RP_SIG_EMPTY) return sig[j];
	}
}

/* densify() with a probe table for K a multiple of 16: the empty bins
 * listed sixteen at a time, and each one's eight table probes gathered at
 * once; the bins are written at the end, so the probes see the bins as the
 * shingles left them, as densify's copy does.  The rare bin whose eight
 * probes all miss continues densify's probe sequence. */
__attribute__((target(SKETCH_AVX512))) static void densify_avx512(uint32_t *sig, int K, uint64_t seed,
                                                               const rp_probes *t)
{
	uint32_t empty[RP_MAX_PERM + 16], val[RP_MAX_PERM];
	const __m512i none = _mm512_set1_epi32(-1);
	__m512i idx = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
	int m = 0, last = 0;
	for (int i = 0; i < K; i += 16, idx = _mm512_add_epi32(idx, _mm512_set1_epi32(16))) {
		__mmask16 e = _mm512_cmpeq_epi32_mask(_mm512_loadu_si512((const void *)(sig + i)), none);
		_mm512_storeu_si512((void *)(empty + m), _mm512_maskz_compress_epi32(e, idx));
		m += __builtin_popcount(e);
		unsigned f = (uint16_t)~e;
		if (f) last = i + 31 - __builtin_clz(f);
	}
	if (m == 0 || m == K) return;
	if (m == K - 1) {
		for (int i = 0; i < K; i++) sig[i] = sig[last];
		return;
	}
	int e0 = 0;
	if (K == 128) {
		/* The 128 bins in eight registers, looked up sixteen probes (two
		 * empty bins) at a time by four two-register permutes: faster than
		 * gathering them from memory. */
		__m512i s[8];
		for (int r = 0; r < 8; r++) s[r] = _mm512_loadu_si512((const void *)(sig + 16 * r));
		for (; e0 < m; e0 += 2) {
			int e1 = e0 + 1 < m ? e0 + 1 : e0; /* an odd last one goes twice */
			__m128i p0 = _mm_loadu_si128((const __m128i *)(const void *)t->bin[empty[e0]]);
			__m128i p1 = _mm_loadu_si128((const __m128i *)(const void *)t->bin[empty[e1]]);
			__m512i at = _mm512_cvtepu16_epi32(_mm256_inserti128_si256(_mm256_castsi128_si256(p0), p1, 1));
			__m512i a = _mm512_permutex2var_epi32(s[0], at, s[1]), b = _mm512_permutex2var_epi32(s[2], at, s[3]);
			__m512i c = _mm512_permutex2var_epi32(s[4], at, s[5]), d = _mm512_permutex2var_epi32(s[6], at, s[7]);
			__mmask16 b5 = _mm512_test_epi32_mask(at, _mm512_set1_epi32(32));
			__mmask16 b6 = _mm512_test_epi32_mask(at, _mm512_set1_epi32(64));
			__m512i g = _mm512_mask_blend_epi32(b6, _mm512_mask_blend_epi32(b5, a, b), _mm512_mask_blend_epi32(b5, c, d));
			unsigned hit = _mm512_cmpneq_epi32_mask(g, none);
			/* the first hit of each half, or the probes beyond the table */
			val[e0] = hit & 0xff ? (uint32_t)_mm_cvtsi128_si32(_mm512_castsi512_si128(
			                           _mm512_permutexvar_epi32(_mm512_set1_epi32(__builtin_ctz(hit)), g)))
			                     : probe_on(sig, K, seed, empty[e0]);
			val[e1] = hit >> 8 ? (uint32_t)_mm_cvtsi128_si32(_mm512_castsi512_si128(
			                         _mm512_permutexvar_epi32(_mm512_set1_epi32(__builtin_ctz(hit >> 8) + 8), g)))
			                   : probe_on(sig, K, seed, empty[e1]);
		}
	}
	for (int e = e0; e < m; e++) {
		uint32_t i = empty[e];
		__m256i at = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)t->bin[i]));
		__m256i g = _mm256_i32gather_epi32((const int *)(const void *)sig, at, 4);
		__mmask8 hit = _mm256_cmpneq_epi32_mask(g, _mm256_set1_epi32(-1));
		val[e] = hit ? (uint32_t)_mm256_cvtsi256_si32(_mm256_maskz_compress_epi32(hit, g)) : probe_on(sig, K, seed, i);
	}
	for (int e = 0; e < m; e++) sig[empty[e]] = val[e];
}

static int portable_only; /* rp_sketch_portable: tests */

/* The CPU checks read what libgcc found at start-up (as vbmi2_strings in
 * reader.c does): nothing to cache, nothing for threads to race on. */
static int have_avx512(void)
{
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
	       __builtin_cpu_supports("avx512vl") && !portable_only;
}
#endif

void rp_sketch_portable(int on)
{
#ifdef HAVE_AVX512_SKETCH
	portable_only = on;
#else
	(void)on;
#endif
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
#ifdef HAVE_AVX512_SKETCH
	if (t && K % 16 == 0 && have_avx512()) {
		densify_avx512(sig, K, seed, t);
		return;
	}
#endif
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
#ifdef HAVE_AVX512_SKETCH
	/* Full windows of up to 16 tokens: the vector path costs w operations
	 * per eight shingles where the rolling hash costs three per shingle. */
	if (ntok >= (size_t)n && n <= 16 && have_avx512()) {
		sketch_avx512(tok, count, (size_t)n, 0x9e3779b97f4a7c15ULL * (uint64_t)n, k, sig, low32);
		densify(sig, K, seed, probes);
		return count;
	}
#endif
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

#ifdef HAVE_AVX512_SKETCH
__attribute__((target(SKETCH_AVX512))) static int sig_equal_avx512(const uint32_t *a, const uint32_t *b, int K)
{
	int eq = 0;
	for (int i = 0; i < K; i += 16)
		eq += __builtin_popcount(_mm512_cmpeq_epi32_mask(_mm512_loadu_si512((const void *)(a + i)),
		                                                 _mm512_loadu_si512((const void *)(b + i))));
	return eq;
}
#endif

double rp_sig_jaccard(const uint32_t *a, const uint32_t *b, int K)
{
#ifdef HAVE_AVX512_SKETCH
	if (K > 0 && K % 16 == 0 && have_avx512()) return (double)sig_equal_avx512(a, b, K) / K;
#endif
	int eq = 0;
	for (int i = 0; i < K; i++) eq += a[i] == b[i];
	return K ? (double)eq / K : 0.0;
}

#ifdef HAVE_AVX512_SKETCH
#define SIG16_AVX512 "avx512f,avx512bw"

static int have_avx512bw(void)
{
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && !portable_only;
}

__attribute__((target(SIG16_AVX512))) static void low16_avx512(const uint32_t *sig, int K, uint16_t *out)
{
	for (int i = 0; i < K; i += 16)
		_mm256_storeu_si256((void *)(out + i), _mm512_cvtepi32_epi16(_mm512_loadu_si512((const void *)(sig + i))));
}

__attribute__((target(SIG16_AVX512))) static int sig16_equal_avx512(const uint16_t *a, const uint16_t *b, int K)
{
	int eq = 0;
	for (int i = 0; i < K; i += 32)
		eq += __builtin_popcount(_mm512_cmpeq_epi16_mask(_mm512_loadu_si512((const void *)(a + i)),
		                                                 _mm512_loadu_si512((const void *)(b + i))));
	return eq;
}
#endif

void rp_sig_low16(const uint32_t *sig, int K, uint16_t *out)
{
#ifdef HAVE_AVX512_SKETCH
	if (K > 0 && K % 16 == 0 && have_avx512bw()) {
		low16_avx512(sig, K, out);
		return;
	}
#endif
	for (int i = 0; i < K; i++) out[i] = (uint16_t)sig[i];
}

double rp_sig16_jaccard(const uint16_t *a, const uint16_t *b, int K)
{
#ifdef HAVE_AVX512_SKETCH
	if (K > 0 && K % 32 == 0 && have_avx512bw()) return (double)sig16_equal_avx512(a, b, K) / K;
#endif
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

/* ---- exact Jaccard of 32-bit shingle sets, hashed ----
 *
 * dedup's exact checks compare the low 32 bits of two documents' shingle
 * hashes.  Each set is built once into an open-addressing table at most a
 * quarter full (linear probing; 0 marks an empty slot, the value 0 itself a
 * flag) that also lists its distinct values; a pair then costs one lookup
 * per value of the smaller set.  Against sorting both sets by radix and
 * merging them: the exact checks' share of a -j1 run with --verify exact on
 * scaled 100 MB went from 9.7% to 4.7% (half full: 7.1%, mispredicted
 * collisions). */
static inline uint32_t hset_slot(uint32_t x, int shift)
{
	return (x * 0x9e3779b1u) >> shift; /* the top bits of a product */
}

int rp_hset_build(rp_hset *s, const uint32_t *v, size_t m)
{
	/* At most a quarter full; 2^32 slots never fill (0 is not stored). */
	int bits = 6;
	while (bits < 32 && ((uint64_t)1 << bits) < 4 * (uint64_t)m) bits++;
	size_t slots = (size_t)((uint64_t)1 << bits);
	if (rp_grow((void **)&s->table, &s->table_cap, slots, sizeof *s->table)
	    || rp_grow((void **)&s->list, &s->list_cap, m ? m : 1, sizeof *s->list))
		return RP_ENOMEM;
	/* In locals: stores to the table could otherwise alias the mask. */
	uint32_t *table = s->table, *list = s->list, mask = (uint32_t)(slots - 1);
	const int shift = 32 - bits;
	size_t n = 0;
	int zero = 0;
	memset(table, 0, slots * sizeof *table);
	for (size_t k = 0; k < m; k++) {
		uint32_t x = v[k];
		if (!x) {
			zero = 1;
			continue;
		}
		for (uint32_t i = hset_slot(x, shift);; i = (i + 1) & mask) {
			uint32_t t = table[i];
			if (t == x) break;
			if (!t) {
				table[i] = x;
				list[n++] = x;
				break;
			}
		}
	}
	s->n = n;
	s->zero = zero;
	s->shift = shift;
	s->mask = mask;
	return 0;
}

double rp_hset_jaccard(const rp_hset *a, const rp_hset *b)
{
	size_t na = a->n + (size_t)a->zero, nb = b->n + (size_t)b->zero;
	if (na == 0 && nb == 0) return 1.0;
	const rp_hset *small = na <= nb ? a : b, *large = na <= nb ? b : a;
	const uint32_t *table = large->table, *list = small->list, mask = large->mask;
	const int shift = large->shift;
	size_t inter = small->zero && large->zero;
	for (size_t k = 0; k < small->n; k++) {
		uint32_t x = list[k];
		for (uint32_t i = hset_slot(x, shift);; i = (i + 1) & mask) {
			uint32_t t = table[i];
			if (t == x) {
				inter++;
				break;
			}
			if (!t) break;
		}
	}
	return (double)inter / (double)(na + nb - inter);
}

void rp_hset_free(rp_hset *s)
{
	rp_free(s->table);
	rp_free(s->list);
	memset(s, 0, sizeof *s);
}
