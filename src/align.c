/* align.c — shared passages between two token streams, in any order.
 *
 * Seed, chain, extend, with no dynamic programming over whole documents:
 *  1. seeds: every position pair (i, j) where the k-token shingles of A at i
 *     and of B at j are equal, found through a hash table of B's shingles
 *     (a shingle occurring more than MAX_OCC times in B seeds nothing: it is
 *     repetition, not a passage);
 *  2. chain: seeds sorted by diagonal (j - i) then i; seeds on one diagonal
 *     closer than max_gap tokens join one segment, so a changed word (which
 *     breaks k seeds) does not split a passage;
 *  3. merge: segments that follow each other within max_gap tokens in both A
 *     and B join across diagonals, so a word inserted or deleted does not
 *     split a passage either;
 *  4. select: longest first, a segment keeps only what no longer segment
 *     already claimed in A or in B, so every token belongs to one passage;
 *  5. extend both ends token by token while the tokens agree.
 * Passages found in any order: a paragraph moved to the top is its own
 * passage.  Cost O(|A| + |B| + seeds log seeds). */
#include <stdlib.h>
#include <string.h>
#include "internal.h"

#define MAX_OCC 16

typedef struct { int64_t diag; uint32_t i; } seed;

static int cmp_seed(const void *x, const void *y)
{
	const seed *a = x, *b = y;
	if (a->diag != b->diag) return a->diag < b->diag ? -1 : 1;
	return (a->i > b->i) - (a->i < b->i);
}

static int cmp_len_desc(const void *x, const void *y)
{
	const rp_passage *a = x, *b = y;
	uint32_t la = a->a_end - a->a_start, lb = b->a_end - b->a_start;
	if (la != lb) return la > lb ? -1 : 1;
	if (a->a_start != b->a_start) return a->a_start < b->a_start ? -1 : 1;
	return (a->b_start > b->b_start) - (a->b_start < b->b_start);
}

static int cmp_a_start(const void *x, const void *y)
{
	const rp_passage *a = x, *b = y;
	if (a->a_start != b->a_start) return a->a_start < b->a_start ? -1 : 1;
	return (a->b_start > b->b_start) - (a->b_start < b->b_start);
}

/* Append to a growable passage array. */
static int push(rp_passage **v, size_t *n, size_t *cap, rp_passage p)
{
	if (rp_grow((void **)v, cap, *n + 1, sizeof **v)) return RP_ENOMEM;
	(*v)[(*n)++] = p;
	return 0;
}

/* Trim p to the longest part of its A range not yet claimed.  The B range is
 * trimmed by as many tokens at each end as the A range (a merged passage may
 * change diagonal in the middle, so each end keeps its own alignment).
 * Returns 0 if too little is left or the B part is claimed. */
static int unclaimed_part(rp_passage *p, const uint8_t *claim_a, const uint8_t *claim_b, uint32_t min_tokens)
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
static int trim_to_agreement(rp_passage *p, const uint64_t *a, const uint64_t *b, uint32_t min_tokens)
{
	while (p->a_start < p->a_end && p->b_start < p->b_end && a[p->a_start] != b[p->b_start])
		p->a_start++, p->b_start++;
	while (p->a_end > p->a_start && p->b_end > p->b_start && a[p->a_end - 1] != b[p->b_end - 1])
		p->a_end--, p->b_end--;
	return p->a_end - p->a_start >= min_tokens && p->b_end - p->b_start >= min_tokens;
}

rp_status rp_align(const uint64_t *a, size_t na, const uint64_t *b, size_t nb, const rp_align_opts *o,
                   rp_passage **out, size_t *nout, rp_error *err)
{
	*out = NULL;
	*nout = 0;
	const size_t k = o->seed_tokens ? (size_t)o->seed_tokens : 5;
	const uint32_t gap = o->max_gap ? (uint32_t)o->max_gap : 8;
	const uint32_t min_tokens = o->min_tokens ? (uint32_t)o->min_tokens : 8;
	if (na > UINT32_MAX - 1 || nb > UINT32_MAX - 1) return rp_set_error(err, RP_EDATA, "document too long to align");
	if (na < k || nb < k) return RP_OK;
	size_t sa = na - k + 1, sb = nb - k + 1;
	int rc = RP_ENOMEM;
	uint64_t *ha = rp_malloc_array(sa, sizeof *ha), *hb = rp_malloc_array(sb, sizeof *hb);
	size_t tcap = 1;
	while (tcap < sb * 2) tcap <<= 1;
	uint32_t *table = rp_malloc_array(tcap, sizeof *table); /* 1 + first position, 0 empty */
	uint32_t *next = rp_malloc_array(sb, sizeof *next);     /* 1 + next position of the same hash */
	uint8_t *occ = rp_malloc_array(tcap, 1);
	seed *seeds = NULL;
	size_t nseeds = 0, seeds_cap = 0;
	rp_passage *seg = NULL, *sel = NULL;
	size_t nseg = 0, seg_cap = 0, nsel = 0, sel_cap = 0;
	uint8_t *claim_a = NULL, *claim_b = NULL;
	if (!ha || !hb || !table || !next || !occ) goto out;
	rp_shingles(a, na, (int)k, ha);
	rp_shingles(b, nb, (int)k, hb);
	memset(table, 0, tcap * sizeof *table);
	memset(occ, 0, tcap);
	/* B's shingles, inserted backwards so chains run in ascending order. */
	for (size_t j = sb; j-- > 0;) {
		size_t slot = hb[j] & (tcap - 1);
		while (table[slot] && hb[table[slot] - 1] != hb[j]) slot = (slot + 1) & (tcap - 1);
		next[j] = table[slot];
		table[slot] = (uint32_t)j + 1;
		if (occ[slot] < 255) occ[slot]++;
	}
	/* 1. seeds */
	for (size_t i = 0; i < sa; i++) {
		size_t slot = ha[i] & (tcap - 1);
		while (table[slot] && hb[table[slot] - 1] != ha[i]) slot = (slot + 1) & (tcap - 1);
		if (!table[slot] || occ[slot] > MAX_OCC) continue;
		for (uint32_t j1 = table[slot]; j1; j1 = next[j1 - 1]) {
			if (rp_grow((void **)&seeds, &seeds_cap, nseeds + 1, sizeof *seeds)) goto out;
			seeds[nseeds++] = (seed){(int64_t)(j1 - 1) - (int64_t)i, (uint32_t)i};
		}
	}
	if (!nseeds) { rc = RP_OK; goto out; }
	/* 2. chain along diagonals */
	qsort(seeds, nseeds, sizeof *seeds, cmp_seed);
	for (size_t s = 0; s < nseeds;) {
		size_t t = s;
		while (t + 1 < nseeds && seeds[t + 1].diag == seeds[s].diag && seeds[t + 1].i - seeds[t].i <= gap) t++;
		uint32_t i0 = seeds[s].i, i1 = seeds[t].i + (uint32_t)k;
		rp_passage p = {i0, i1, (uint32_t)(i0 + seeds[s].diag), (uint32_t)(i1 + seeds[s].diag), 0, 0, 0, 0, 0};
		if (push(&seg, &nseg, &seg_cap, p)) goto out;
		s = t + 1;
	}
	/* 3. merge segments that follow each other in both A and B */
	qsort(seg, nseg, sizeof *seg, cmp_a_start);
	size_t m = 0;
	for (size_t s = 0; s < nseg; s++) {
		int merged = 0;
		/* Look back over a few recent segments for one this continues. */
		for (size_t q = m; q-- > 0 && m - q <= 8;) {
			rp_passage *r = &seg[q];
			/* s continues r after a small insertion or deletion: it starts
			 * where r ends (at most one token of overlap) or within max_gap
			 * after, in both A and B.  A segment overlapping r more is another
			 * alignment of the same text: selection chooses between them. */
			if (seg[s].a_start + 1 >= r->a_end && seg[s].a_start <= r->a_end + gap
			    && seg[s].b_start + 1 >= r->b_end && seg[s].b_start <= r->b_end + gap) {
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
	claim_a = rp_malloc(na);
	claim_b = rp_malloc(nb);
	if (!claim_a || !claim_b) goto out;
	memset(claim_a, 0, na);
	memset(claim_b, 0, nb);
	qsort(seg, nseg, sizeof *seg, cmp_len_desc);
	for (size_t s = 0; s < nseg; s++) {
		rp_passage p = seg[s];
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
		for (uint32_t i = p.a_start; i < p.a_end; i++) claim_a[i] = 1;
		for (uint32_t j = p.b_start; j < p.b_end; j++) claim_b[j] = 1;
		p.tokens = p.a_end - p.a_start;
		if (push(&sel, &nsel, &sel_cap, p)) goto out;
	}
	if (nsel) qsort(sel, nsel, sizeof *sel, cmp_a_start);
	*out = sel;
	*nout = nsel;
	sel = NULL;
	rc = RP_OK;
out:
	if (rc == RP_ENOMEM) rp_set_error(err, rc, "out of memory");
	rp_free(ha); rp_free(hb); rp_free(table); rp_free(next); rp_free(occ);
	rp_free(seeds); rp_free(seg); rp_free(sel); rp_free(claim_a); rp_free(claim_b);
	return rc;
}
