/* align.c — shared passages between two token streams, in any order.
 *
 * Seed, chain, extend, with no dynamic programming over whole documents:
 *  1. seeds: every position pair (i, j) where the k-token shingles of A at i
 *     and of B at j are equal, found through a hash table of A's shingles
 *     (a shingle occurring more than MAX_OCC times in B seeds nothing: it is
 *     repetition, not a passage).  A is prepared once (rp_aligner_set_a:
 *     the table and a bit filter of its tokens) and aligned against many B,
 *     as reuse does for all pairs with one first document; B's shingles are
 *     finalised only where all their tokens pass A's token filter, and
 *     probed where they also pass a bit filter of A's shingles (scan_b), or
 *     all, eight at a time with AVX-512 (scan_b_avx512);
 *  2. chain: seeds, made in B order, chained on their diagonal (j - i) as
 *     they come (on one diagonal they come in A order); seeds on one diagonal
 *     that overlap or touch (no token between them unmatched) join one
 *     segment: a run of tokens equal on both sides;
 *  3. merge: segments join across a gap of g tokens (the larger of the gaps
 *     in A and in B) only if g <= max_gap AND g is at most half the matched
 *     tokens on each side of it (those of the passage so far, and of the
 *     segment it joins): first on one diagonal, so a changed word (which
 *     breaks k seeds) does not split a passage, then across diagonals, so a
 *     word inserted or deleted does not either.  The density rule keeps a
 *     passage mostly shared text: every gap is flanked by twice its length
 *     of matched tokens, so two texts sharing only short snippets a few
 *     words apart give those snippets, not one passage across both texts;
 *  4. select: longest first, a segment keeps only what no longer segment
 *     already claimed in A or in B, so every token belongs to one passage;
 *  5. extend both ends token by token while the tokens agree.
 * Passages found in any order: a paragraph moved to the top is its own
 * passage.  Cost O(|A| + |B| + seeds), no allocation
 * per pair once the scratch has grown. */
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#ifdef RP_HAVE_SHINGLE8
#define HAVE_AVX512_SCAN 1
#endif

#define MAX_OCC 16

/* A passage while it is found: token ranges in A and in B, half-open. */
typedef struct {
	uint32_t a_start, a_end, b_start, b_end;
	uint32_t matched; /* tokens matched exactly inside (merge's density rule) */
} segment;

struct rp_aligner {
	size_t k;
	uint32_t gap, min_tokens;
	int scalar;              /* never the AVX-512 scan (tests) */
	/* side A */
	const uint64_t *a;
	size_t na, sa;
	uint64_t *ha;            /* A's shingles */
	size_t ha_cap;
	size_t tmask;            /* table size - 1 */
	size_t distinct;         /* distinct shingles of A */
	uint64_t *t_hash;        /* table: a shingle hash ... */
	uint32_t *t_head;        /* 1 + its first position in A, 0 empty */
	uint32_t *t_cnt;         /* its occurrences in the current B (0 between calls) */
	size_t t_cap;
	uint32_t *next;          /* 1 + next position in A of the same hash */
	size_t next_cap;
	uint64_t *filt;          /* one bit per value of a hash's top fbits bits: set if A may have it */
	size_t filt_cap;
	unsigned fbits;
	uint64_t *tfilt;         /* the same for A's tokens, tbits bits */
	size_t tfilt_cap;
	unsigned tbits;
	/* scratch for one B */
	uint64_t *hb;
	size_t hb_cap;
	uint32_t *maybe;         /* B positions that pass the filter */
	size_t maybe_cap;
	uint64_t *bits;          /* B's tokens, then its windows, that pass the token filter (AVX-512) */
	size_t bits_cap;
	uint64_t *match;         /* j << 32 | slot of every B shingle found in A */
	size_t match_cap;
	uint64_t *open;          /* per diagonal: the segment being chained on it, else 0 */
	size_t open_cap;
	segment *seg, *seg_tmp, *sel;
	size_t seg_cap, seg_tmp_cap, sel_cap;
	uint8_t *claim_a, *claim_b;
	size_t claim_a_cap, claim_b_cap;
	/* boilerplate (rp_aligner_mask): tokens a gap may hold without counting
	 * against the density rule */
	uint8_t *mask[2];
	size_t mask_cap[2];
	int has_mask[2];
};

rp_aligner *rp_aligner_new(const rp_align_opts *o)
{
	rp_aligner *al = rp_malloc(sizeof *al);
	if (!al) return NULL;
	memset(al, 0, sizeof *al);
	al->k = o->seed_tokens ? (size_t)o->seed_tokens : 5;
	al->gap = o->max_gap ? (uint32_t)o->max_gap : 8;
	al->min_tokens = o->min_tokens ? (uint32_t)o->min_tokens : 8;
	return al;
}

void rp_aligner_free(rp_aligner *al)
{
	if (!al) return;
	rp_free(al->ha); rp_free(al->t_hash); rp_free(al->t_head); rp_free(al->t_cnt); rp_free(al->next);
	rp_free(al->filt); rp_free(al->tfilt); rp_free(al->maybe); rp_free(al->bits);
	rp_free(al->hb); rp_free(al->match); rp_free(al->open); rp_free(al->seg); rp_free(al->seg_tmp); rp_free(al->sel);
	rp_free(al->claim_a); rp_free(al->claim_b); rp_free(al->mask[0]); rp_free(al->mask[1]);
	rp_free(al);
}

int rp_aligner_set_a(rp_aligner *al, const uint64_t *a, size_t na)
{
	al->a = a;
	al->na = na;
	al->sa = 0;
	al->has_mask[0] = 0;
	al->distinct = 0;
	if (na > UINT32_MAX - 1) return RP_EDATA;
	if (na < al->k) return 0;
	size_t sa = na - al->k + 1, tcap = 1;
	/* load at most 1/4 (few collisions, each a mispredicted branch) while the
	 * table fits the L2 cache, else 1/2 */
	while (tcap < sa * (sa <= ((size_t)1 << 14) ? 4 : 2)) tcap <<= 1;
	if (rp_grow((void **)&al->ha, &al->ha_cap, sa, sizeof *al->ha)
	    || rp_grow((void **)&al->next, &al->next_cap, sa, sizeof *al->next))
		return RP_ENOMEM;
	if (tcap > al->t_cap) {
		rp_free(al->t_hash); rp_free(al->t_head); rp_free(al->t_cnt);
		al->t_hash = rp_malloc_array(tcap, sizeof *al->t_hash);
		al->t_head = rp_malloc_array(tcap, sizeof *al->t_head);
		al->t_cnt = rp_malloc_array(tcap, sizeof *al->t_cnt);
		al->t_cap = al->t_hash && al->t_head && al->t_cnt ? tcap : 0;
		if (!al->t_cap) return RP_ENOMEM;
		memset(al->t_cnt, 0, tcap * sizeof *al->t_cnt);
	}
	al->tmask = tcap - 1;
	memset(al->t_head, 0, tcap * sizeof *al->t_head);
	al->fbits = 0; /* the shingle filter: built when the scalar scan needs it */
	/* The token filter: about 16 bits per token of A */
	unsigned tbits = 12;
	while (tbits < 40 && ((size_t)1 << tbits) < na * 16) tbits++;
	size_t twords = ((size_t)1 << tbits) / 64;
	if (rp_grow((void **)&al->tfilt, &al->tfilt_cap, twords, sizeof *al->tfilt)) return RP_ENOMEM;
	memset(al->tfilt, 0, twords * sizeof *al->tfilt);
	al->tbits = tbits;
	for (size_t i = 0; i < na; i++) {
		uint64_t f = a[i] >> (64 - tbits);
		al->tfilt[f >> 6] |= 1ULL << (f & 63);
	}
	rp_shingles(a, na, (int)al->k, al->ha);
	/* Inserted backwards so chains run in ascending order. */
	size_t distinct = 0;
	for (size_t i = sa; i-- > 0;) {
		uint64_t h = al->ha[i];
		size_t slot = h & al->tmask;
		while (al->t_head[slot] && al->t_hash[slot] != h) slot = (slot + 1) & al->tmask;
		distinct += !al->t_head[slot];
		al->t_hash[slot] = h;
		al->next[i] = al->t_head[slot];
		al->t_head[slot] = (uint32_t)i + 1;
	}
	al->sa = sa;
	al->distinct = distinct;
	return 0;
}

/* The shingle filter of the scalar scan: about 32 bits per shingle of A,
 * so that nearly every shingle of B that A lacks is turned away without a
 * probe.  (The AVX-512 scan probes every window its token filter passes:
 * three in four are in A, and a gather per eight cost more than the probes
 * it saved.) */
static int build_filter(rp_aligner *al)
{
	unsigned fbits = 12;
	while (fbits < 40 && ((size_t)1 << fbits) < al->sa * 32) fbits++;
	size_t fwords = ((size_t)1 << fbits) / 64;
	if (rp_grow((void **)&al->filt, &al->filt_cap, fwords, sizeof *al->filt)) return RP_ENOMEM;
	memset(al->filt, 0, fwords * sizeof *al->filt);
	for (size_t i = 0; i < al->sa; i++) {
		uint64_t f = al->ha[i] >> (64 - fbits);
		al->filt[f >> 6] |= 1ULL << (f & 63);
	}
	al->fbits = fbits;
	return 0;
}

int rp_aligner_mask(rp_aligner *al, int side, size_t n, const uint32_t *runs, size_t nruns)
{
	al->has_mask[side] = 0;
	if (!nruns) return 0;
	if (rp_grow((void **)&al->mask[side], &al->mask_cap[side], n + 1, 1)) return RP_ENOMEM;
	memset(al->mask[side], 0, n + 1);
	for (size_t q = 0; q < nruns; q++)
		if (runs[2 * q] < runs[2 * q + 1] && runs[2 * q + 1] <= n)
			memset(al->mask[side] + runs[2 * q], 1, runs[2 * q + 1] - runs[2 * q]);
	al->has_mask[side] = 1;
	return 0;
}

size_t rp_aligner_distinct_a(const rp_aligner *al) { return al->distinct; }
void rp_aligner_set_scalar(rp_aligner *al, int scalar) { al->scalar = scalar; }

/* The orders passages are sorted in: by a_start then b_start, or longest
 * first (by_len 1), then so, or by diagonal (b_start - a_start) first
 * (by_len 2), then so.  Strict and total on the segments of one alignment
 * (no two start at the same seed). */
static inline int before(const segment *a, const segment *b, int by_len)
{
	if (by_len == 2) {
		int64_t da = (int64_t)a->b_start - a->a_start, db = (int64_t)b->b_start - b->a_start;
		if (da != db) return da < db;
	} else if (by_len) {
		uint32_t la = a->a_end - a->a_start, lb = b->a_end - b->a_start;
		if (la != lb) return la > lb;
	}
	if (a->a_start != b->a_start) return a->a_start < b->a_start;
	return a->b_start < b->b_start;
}

/* Sort segments: insertion sort of runs of 16 (most alignments have fewer),
 * then the runs merged pairwise through tmp (room for n). */
static void sort_segments(segment *p, size_t n, int by_len, segment *tmp)
{
	for (size_t s = 0; s < n; s += 16) {
		size_t e = s + 16 < n ? s + 16 : n;
		for (size_t i = s + 1; i < e; i++) {
			segment x = p[i];
			size_t j = i;
			while (j > s && before(&x, &p[j - 1], by_len)) p[j] = p[j - 1], j--;
			p[j] = x;
		}
	}
	segment *src = p, *dst = tmp;
	for (size_t w = 16; w < n; w *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n, i = lo, j = mid, o = lo;
			while (i < mid && j < hi) dst[o++] = before(&src[j], &src[i], by_len) ? src[j++] : src[i++];
			while (i < mid) dst[o++] = src[i++];
			while (j < hi) dst[o++] = src[j++];
		}
		segment *t = src;
		src = dst;
		dst = t;
	}
	if (src != p) memcpy(p, src, n * sizeof *p);
}

/* Tokens of [s, e) outside boilerplate (all of them without a mask). */
static inline uint32_t unmasked(const uint8_t *mask, uint32_t s, uint32_t e)
{
	uint32_t n = 0;
	for (uint32_t i = s; i < e; i++) n += !mask || !mask[i];
	return n;
}

/* May s, which starts at most one token before r ends in A and in B,
 * continue r?  The gap between them, the larger of A's and B's (0 when they
 * touch or overlap), must be at most max_gap, and at most half the tokens
 * matched in r and in s: a passage is mostly shared text.  Boilerplate
 * (rp_aligner_mask) counts towards the first bound, not the second. */
static inline int dense_gap(const rp_aligner *al, const segment *r, const segment *s, uint32_t max_gap)
{
	uint32_t ga = s->a_start > r->a_end ? s->a_start - r->a_end : 0;
	uint32_t gb = s->b_start > r->b_end ? s->b_start - r->b_end : 0;
	if ((ga > gb ? ga : gb) > max_gap) return 0;
	if (al->has_mask[0] && ga) ga = unmasked(al->mask[0], r->a_end, s->a_start);
	if (al->has_mask[1] && gb) gb = unmasked(al->mask[1], r->b_end, s->b_start);
	uint64_t g = ga > gb ? ga : gb;
	return 2 * g <= r->matched && 2 * g <= s->matched;
}

/* Append to a growable segment array. */
static int push(segment **v, size_t *n, size_t *cap, segment p)
{
	if (rp_grow((void **)v, cap, *n + 1, sizeof **v)) return RP_ENOMEM;
	(*v)[(*n)++] = p;
	return 0;
}

/* Trim p to the longest part of its A range not yet claimed.  The B range is
 * trimmed by as many tokens at each end as the A range (a merged passage may
 * change diagonal in the middle, so each end keeps its own alignment).
 * Returns 0 if too little is left or the B part is claimed. */
static int unclaimed_part(segment *p, const uint8_t *claim_a, const uint8_t *claim_b, uint32_t min_tokens)
{
	uint32_t best_s = 0, best_len = 0, s = p->a_start;
	for (uint32_t i = p->a_start; i <= p->a_end; i++) {
		if (i == p->a_end || claim_a[i]) {
			if (i - s > best_len) best_len = i - s, best_s = s;
			s = i + 1;
		}
	}
	if (best_len < min_tokens) return 0;
	uint32_t cut_front = best_s - p->a_start, cut_back = p->a_end - (best_s + best_len);
	if (cut_front + cut_back >= p->b_end - p->b_start) return 0;
	uint32_t bs = p->b_start + cut_front, be = p->b_end - cut_back;
	/* The same on the B side, cutting A by as much at each end. */
	uint32_t bbest_s = bs, bbest_len = 0, t = bs;
	for (uint32_t j = bs; j <= be; j++) {
		if (j == be || claim_b[j]) {
			if (j - t > bbest_len) bbest_len = j - t, bbest_s = t;
			t = j + 1;
		}
	}
	uint32_t bfront = bbest_s - bs, bback = be - (bbest_s + bbest_len);
	if (bbest_len < min_tokens || bfront + bback >= best_len || best_len - bfront - bback < min_tokens) return 0;
	p->a_start = best_s + bfront;
	p->a_end = best_s + best_len - bback;
	p->b_start = bbest_s;
	p->b_end = bbest_s + bbest_len;
	return 1;
}

/* Move p's ends inwards until each end's tokens agree on both sides, so a
 * passage never starts or ends on a word that only one side has. */
static int trim_to_agreement(segment *p, const uint64_t *a, const uint64_t *b, uint32_t min_tokens)
{
	while (p->a_start < p->a_end && p->b_start < p->b_end && a[p->a_start] != b[p->b_start])
		p->a_start++, p->b_start++;
	while (p->a_end > p->a_start && p->b_end > p->b_start && a[p->a_end - 1] != b[p->b_end - 1])
		p->a_end--, p->b_end--;
	return p->a_end - p->a_start >= min_tokens && p->b_end - p->b_start >= min_tokens;
}

/* rp_aligner_run's scan of B: the positions j of B's shingles whose tokens
 * all pass A's token filter and which pass its shingle filter, into maybe,
 * and their hashes, rp_shingles' (rolling, finalised only where a window
 * passes the token filter), into hb; returns how many. */
static size_t scan_b(const rp_aligner *al, const uint64_t *b, size_t nb, uint32_t *maybe, uint64_t *hb)
{
	const size_t k = al->k, sb = nb - k + 1;
	const unsigned fshift = 64 - al->fbits, tshift = 64 - al->tbits, rw = (unsigned)(k & 63);
	const uint64_t *filt = al->filt, *tfilt = al->tfilt, tag = 0x9e3779b97f4a7c15ULL * (uint64_t)k;
	uint64_t h = 0;
	size_t n = 0, miss = SIZE_MAX; /* the last token A lacks, among those read */
#define IN_A(x) ((tfilt[((x) >> tshift) >> 6] >> (((x) >> tshift) & 63)) & 1)
	for (size_t i = 0; i < k; i++) {
		h ^= rp_rotl64(b[i], (unsigned)(k - 1 - i));
		if (!IN_A(b[i])) miss = i;
	}
	for (size_t j = 0; j < sb; j++) {
		if (j) {
			uint64_t t = b[j + k - 1];
			h = rp_rotl64(h, 1) ^ rp_rotl64(b[j - 1], rw) ^ t;
			if (!IN_A(t)) miss = j + k - 1;
		}
		if (miss != SIZE_MAX && miss >= j) continue;
		uint64_t x = rp_mix64(h ^ tag), f = x >> fshift;
		maybe[n] = (uint32_t)j;
		hb[n] = x;
		n += (filt[f >> 6] >> (f & 63)) & 1;
	}
#undef IN_A
	return n;
}

#ifdef HAVE_AVX512_SCAN
/* rp_aligner_run's scan of B with AVX-512: a bitmap of B's tokens in A's
 * token filter (gathered), then of the windows of k such tokens (shifted and
 * anded), then, eight windows at a time, the shingle hashes of those that
 * pass, from the formula (shingle.c), packed into maybe and hb (room for
 * sb + 8 of each).  The positions the scalar scan gives and more (no
 * shingle filter: all go to the table, which decides), with the same
 * hashes, in order.  k <= 64. */
#define SCAN_TARGET __attribute__((target("avx512f,avx512dq,avx512vl,popcnt")))
SCAN_TARGET static size_t scan_b_avx512(const rp_aligner *al, const uint64_t *b, size_t nb, uint64_t *bits,
                                        uint32_t *maybe, uint64_t *hb)
{
	const size_t k = al->k, sb = nb - k + 1, nw = (nb + 63) / 64;
	const unsigned tshift = 64 - al->tbits;
	const uint64_t *tfilt = al->tfilt, tag = 0x9e3779b97f4a7c15ULL * (uint64_t)k;
	/* 1. tokens in A's token filter: bit i */
	const __m512i one = _mm512_set1_epi64(1), low6 = _mm512_set1_epi64(63);
	const __m128i tsh = _mm_cvtsi32_si128((int)tshift);
	uint8_t *tb = (uint8_t *)bits;
	memset(bits, 0, (nw + 1) * sizeof *bits);
	size_t i = 0;
	for (; i + 8 <= nb; i += 8) {
		__m512i f = _mm512_srl_epi64(_mm512_loadu_si512((const void *)(b + i)), tsh);
		__m512i w = _mm512_i64gather_epi64(_mm512_srli_epi64(f, 6), (const void *)tfilt, 8);
		tb[i / 8] = (uint8_t)_mm512_test_epi64_mask(_mm512_srlv_epi64(w, _mm512_and_si512(f, low6)), one);
	}
	for (; i < nb; i++) {
		uint64_t f = b[i] >> tshift;
		tb[i / 8] |= (uint8_t)(((tfilt[f >> 6] >> (f & 63)) & 1) << (i & 7));
	}
	/* 2. windows whose k tokens all are: bit j (0 past the last window) */
	for (size_t q = 0; q < nw; q++) {
		uint64_t cur = bits[q], nxt = bits[q + 1], w = cur;
		for (size_t r = 1; r < k; r++) w &= cur >> r | nxt << (64 - r);
		bits[q] = w;
	}
	/* 3. their shingle hashes, in the shingle filter */
	const uint8_t *wb = tb;
	const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
	size_t n = 0, j = 0;
	for (; j + 8 <= sb; j += 8) {
		__mmask8 m = wb[j / 8];
		if (!m) continue;
		__m512i h = rp_shingle8(b + j, 0xff, k, tag);
		_mm512_storeu_si512((void *)(hb + n), _mm512_maskz_compress_epi64(m, h));
		_mm256_storeu_si256((__m256i *)(maybe + n),
		                    _mm256_maskz_compress_epi32(m, _mm256_add_epi32(_mm256_set1_epi32((int)j), iota)));
		n += (size_t)__builtin_popcount(m);
	}
	for (; j < sb; j++) {
		if (!((wb[j / 8] >> (j & 7)) & 1)) continue;
		uint64_t h = 0;
		for (size_t t = 0; t < k; t++) h ^= rp_rotl64(b[j + t], (unsigned)(k - 1 - t));
		maybe[n] = (uint32_t)j;
		hb[n++] = rp_mix64(h ^ tag);
	}
	return n;
}
#endif

int rp_aligner_run(rp_aligner *al, const uint64_t *b, size_t nb, rp_passage **out, size_t *nout, size_t *shared)
{
	*out = NULL;
	*nout = 0;
	*shared = 0;
	const size_t k = al->k, na = al->na, sa = al->sa;
	const uint32_t gap = al->gap, min_tokens = al->min_tokens;
	const uint64_t *a = al->a;
	if (nb > UINT32_MAX - 1 || (sa && na + nb > UINT32_MAX - 1)) return RP_EDATA;
	if (!sa || nb < k) return 0;
	size_t sb = nb - k + 1;
	if (rp_grow((void **)&al->hb, &al->hb_cap, sb + 8, sizeof *al->hb)
	    || rp_grow((void **)&al->maybe, &al->maybe_cap, sb + 8, sizeof *al->maybe))
		return RP_ENOMEM;
	/* B's shingles that A may have (every token in A's token filter), then
	 * those found in A. */
	size_t nmatch = 0, inter = 0, nmaybe;
	uint32_t *maybe = al->maybe;
	uint64_t *hb = al->hb;
#ifdef HAVE_AVX512_SCAN
	if (!al->scalar && k <= 64 && rp_have_avx512dq() && __builtin_cpu_supports("avx512vl")) {
		if (rp_grow((void **)&al->bits, &al->bits_cap, nb / 64 + 2, sizeof *al->bits)) return RP_ENOMEM;
		nmaybe = scan_b_avx512(al, b, nb, al->bits, maybe, hb);
	} else
#endif
	{
		if (!al->fbits && build_filter(al)) return RP_ENOMEM;
		nmaybe = scan_b(al, b, nb, maybe, hb);
	}
	/* B's shingles found in A, and how often each occurs in B. */
	for (size_t x = 0; x < nmaybe; x++) {
		size_t j = maybe[x];
		uint64_t h = hb[x];
		size_t slot = h & al->tmask;
		while (al->t_head[slot] && al->t_hash[slot] != h) slot = (slot + 1) & al->tmask;
		if (!al->t_head[slot]) continue;
		if (nmatch == al->match_cap && rp_grow((void **)&al->match, &al->match_cap, nmatch + 1, sizeof *al->match)) {
			for (size_t q = 0; q < nmatch; q++) al->t_cnt[al->match[q] & 0xffffffffu] = 0;
			return RP_ENOMEM;
		}
		al->match[nmatch++] = (uint64_t)j << 32 | slot;
		if (!al->t_cnt[slot]++) inter++;
	}
	*shared = inter;
	/* 1-2. seeds: (i, j) with equal shingles, unless the shingle occurs more
	 * than MAX_OCC times in B, chained as they come: in B order, so each
	 * diagonal's come in A order (i = j - diagonal); open[d] is (1 + the
	 * segment a seed on diagonal d (j - i + sa - 1) would extend) << 32 | its
	 * last seed's i, 0 between calls */
	size_t nseg = 0, ndiag = sa + sb - 1;
	if (ndiag > al->open_cap) {
		rp_free(al->open);
		al->open_cap = 0;
		if (!(al->open = rp_malloc_array(ndiag, sizeof *al->open))) {
			for (size_t q = 0; q < nmatch; q++) al->t_cnt[al->match[q] & 0xffffffffu] = 0;
			return RP_ENOMEM;
		}
		memset(al->open, 0, ndiag * sizeof *al->open);
		al->open_cap = ndiag;
	}
	uint64_t *open = al->open;
	int rc = 0;
	for (size_t q = 0; q < nmatch && !rc; q++) {
		size_t j = (size_t)(al->match[q] >> 32), slot = (size_t)(al->match[q] & 0xffffffffu);
		if (al->t_cnt[slot] > MAX_OCC) continue;
		for (uint32_t i1 = al->t_head[slot]; i1; i1 = al->next[i1 - 1]) {
			uint32_t i = i1 - 1, d = (uint32_t)(j + sa - 1 - i);
			uint64_t o = open[d];
			/* a segment being chained: a_start its first seed, a_end its last
			 * (once closed), b_start its diagonal */
			if (o && i - (uint32_t)o <= k) open[d] = (o & ~(uint64_t)0xffffffffu) | i;
			else {
				if (o) al->seg[(o >> 32) - 1].a_end = (uint32_t)o;
				if ((rc = push(&al->seg, &nseg, &al->seg_cap, (segment){i, i, d, 0, 0}))) break;
				open[d] = (uint64_t)nseg << 32 | i;
			}
		}
	}
	for (size_t q = 0; q < nmatch; q++) al->t_cnt[al->match[q] & 0xffffffffu] = 0;
	nmatch = 0;
	for (size_t x = 0; x < nseg; x++) { /* close the segments still open */
		uint64_t o = open[al->seg[x].b_start];
		if (o) al->seg[(o >> 32) - 1].a_end = (uint32_t)o, open[al->seg[x].b_start] = 0;
	}
	for (size_t x = 0; x < nseg; x++) {
		segment *p = &al->seg[x];
		int64_t diag = (int64_t)p->b_start - (int64_t)(sa - 1);
		uint32_t i0 = p->a_start, i1 = p->a_end + (uint32_t)k;
		*p = (segment){i0, i1, (uint32_t)(i0 + diag), (uint32_t)(i1 + diag), i1 - i0};
	}
	if (rc) return rc;
	if (!nseg) return 0;
	/* 3. merge segments that follow each other in both A and B, across a
	 * gap dense_gap allows: first on one diagonal, then across */
	if (rp_grow((void **)&al->seg_tmp, &al->seg_tmp_cap, nseg, sizeof *al->seg_tmp)) return RP_ENOMEM;
	segment *seg = al->seg;
	sort_segments(seg, nseg, 2, al->seg_tmp);
	size_t m = 0;
	for (size_t s = 0; s < nseg; s++) {
		segment *r = m ? &seg[m - 1] : NULL;
		if (r && seg[s].b_start - seg[s].a_start == r->b_start - r->a_start && seg[s].a_start >= r->a_end
		    && dense_gap(al, r, &seg[s], gap)) {
			r->matched += seg[s].matched;
			r->a_end = seg[s].a_end;
			r->b_end = seg[s].b_end;
		} else seg[m++] = seg[s];
	}
	nseg = m;
	sort_segments(seg, nseg, 0, al->seg_tmp);
	m = 0;
	for (size_t s = 0; s < nseg; s++) {
		int merged = 0;
		/* Look back over a few recent segments for one this continues. */
		for (size_t q = m; q-- > 0 && m - q <= 8;) {
			segment *r = &seg[q];
			/* s continues r after a small insertion or deletion: it starts
			 * where r ends (at most one token of overlap) or within max_gap
			 * after, in both A and B.  A segment overlapping r more is another
			 * alignment of the same text: selection chooses between them. */
			if (seg[s].a_start + 1 >= r->a_end && seg[s].b_start + 1 >= r->b_end && dense_gap(al, r, &seg[s], gap)) {
				uint32_t over = r->a_end > seg[s].a_start ? r->a_end - seg[s].a_start : 0;
				r->matched += seg[s].matched > over ? seg[s].matched - over : 0;
				r->a_end = seg[s].a_end;
				r->b_end = seg[s].b_end;
				merged = 1;
				break;
			}
			if (seg[s].a_start >= r->a_start && seg[s].a_end <= r->a_end && seg[s].b_start >= r->b_start
			    && seg[s].b_end <= r->b_end) { merged = 1; break; } /* inside r */
		}
		if (!merged) seg[m++] = seg[s];
	}
	nseg = m;
	/* 4. select, longest first, each token claimed once */
	if (rp_grow((void **)&al->claim_a, &al->claim_a_cap, na, 1) || rp_grow((void **)&al->claim_b, &al->claim_b_cap, nb, 1))
		return RP_ENOMEM;
	uint8_t *claim_a = al->claim_a, *claim_b = al->claim_b;
	memset(claim_a, 0, na);
	memset(claim_b, 0, nb);
	size_t nsel = 0;
	sort_segments(seg, nseg, 1, al->seg_tmp);
	for (size_t s = 0; s < nseg; s++) {
		segment p = seg[s];
		if (p.a_end - p.a_start < min_tokens && p.b_end - p.b_start < min_tokens) continue;
		if (!unclaimed_part(&p, claim_a, claim_b, min_tokens) || !trim_to_agreement(&p, a, b, min_tokens)) continue;
		/* 5. extend while tokens agree and are free */
		while (p.a_start > 0 && p.b_start > 0 && a[p.a_start - 1] == b[p.b_start - 1] && !claim_a[p.a_start - 1]
		       && !claim_b[p.b_start - 1])
			p.a_start--, p.b_start--;
		while (p.a_end < na && p.b_end < nb && a[p.a_end] == b[p.b_end] && !claim_a[p.a_end] && !claim_b[p.b_end])
			p.a_end++, p.b_end++;
		/* Claim; B tokens already claimed inside a merged passage stay with
		 * their first owner. */
		memset(claim_a + p.a_start, 1, p.a_end - p.a_start);
		memset(claim_b + p.b_start, 1, p.b_end - p.b_start);
		if (push(&al->sel, &nsel, &al->sel_cap, p)) return RP_ENOMEM;
	}
	sort_segments(al->sel, nsel, 0, al->seg_tmp); /* nsel <= nseg */
	rp_passage *sel = nsel ? rp_malloc_array(nsel, sizeof *sel) : NULL;
	if (nsel && !sel) return RP_ENOMEM;
	for (size_t q = 0; q < nsel; q++) {
		const segment *x = &al->sel[q];
		sel[q] = (rp_passage){x->a_start, x->a_end, x->b_start, x->b_end, x->a_end - x->a_start, 0, 0, 0, 0};
	}
	*out = sel;
	*nout = nsel;
	return 0;
}

rp_status rp_align(const uint64_t *a, size_t na, const uint64_t *b, size_t nb, const rp_align_opts *o,
                   rp_passage **out, size_t *nout, rp_error *err)
{
	*out = NULL;
	*nout = 0;
	if (na > UINT32_MAX - 1 || nb > UINT32_MAX - 1 || na + nb > UINT32_MAX - 1)
		return rp_set_error(err, RP_EDATA, "document too long to align");
	rp_aligner *al = rp_aligner_new(o);
	if (!al) return rp_set_error(err, RP_ENOMEM, "out of memory");
	size_t shared;
	int rc = rp_aligner_set_a(al, a, na);
	if (!rc) rc = rp_aligner_run(al, b, nb, out, nout, &shared);
	rp_aligner_free(al);
	if (rc) return rp_set_error(err, rc, rc == RP_ENOMEM ? "out of memory" : "document too long to align");
	return RP_OK;
}
