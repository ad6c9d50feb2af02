/* compare.c — one pair of documents, explained: exact shingle Jaccard and
 * containment both ways, the shared passages (align.c) as byte ranges of the
 * original texts, and what each side has that the other lacks. */
#include <stdlib.h>
#include <string.h>
#include "internal.h"

void rp_free_passages(rp_passage *p) { rp_free(p); }
void rp_free_ranges(rp_range *r) { rp_free(r); }

/* Sorted distinct shingles of a token stream. */
static int shingle_set(const rp_tokens *t, int n, uint64_t **out, size_t *nout)
{
	uint64_t *s = rp_malloc_array(t->n ? t->n : 1, sizeof *s);
	if (!s) return RP_ENOMEM;
	size_t u = rp_sort_unique_u64(s, rp_shingles(t->hash, t->n, n, s));
	if (u == SIZE_MAX) {
		rp_free(s);
		return RP_ENOMEM;
	}
	*out = s;
	*nout = u;
	return 0;
}

/* Token runs of t not covered (matched inside a passage), as byte ranges. */
static int uncovered(const rp_tokens *t, const uint8_t *covered, rp_range **out, size_t *nout)
{
	size_t cap = 0;
	*out = NULL;
	*nout = 0;
	for (size_t i = 0; i < t->n;) {
		if (covered[i]) { i++; continue; }
		size_t j = i;
		while (j < t->n && !covered[j]) j++;
		if (rp_grow((void **)out, &cap, *nout + 1, sizeof **out)) return RP_ENOMEM;
		(*out)[(*nout)++] = (rp_range){t->start[i], t->end[j - 1]};
		i = j;
	}
	return 0;
}

/* How far to look for the next agreement after a disagreement inside a
 * passage (tokens skipped on both sides together; the aligner bridges at
 * most 8 on each), and how many tokens must then agree (fewer at the end). */
#define RESYNC 32
#define CONFIRM 2

/* Do a[i..] and b[j..] agree on CONFIRM tokens (or up to the ends)? */
static int agree(const uint64_t *a, size_t i, size_t ae, const uint64_t *b, size_t j, size_t be)
{
	for (size_t t = 0; t < CONFIRM && i + t < ae && j + t < be; t++)
		if (a[i + t] != b[j + t]) return 0;
	return 1;
}

/* The tokens of passage q matched exactly, a token-level diff: equal tokens
 * pair up in order; at a disagreement, the nearest point (fewest tokens
 * skipped on both sides) where CONFIRM tokens agree again (the rest
 * unpaired, failing one within RESYNC), after the common tail.  Marks ca, cb and partner (1 + the B token
 * an A token is paired with). */
static void diff_passage(const rp_tokens *ta, const rp_tokens *tb, const rp_passage *q, uint8_t *ca, uint8_t *cb,
                         uint32_t *partner)
{
	const uint64_t *a = ta->hash, *b = tb->hash;
	size_t i = q->a_start, j = q->b_start, ae = q->a_end, be = q->b_end;
	/* the common tail first, so that the passage's last tokens pair up (its
	 * first ones do: both sides agree there) */
	while (ae > i && be > j && a[ae - 1] == b[be - 1]) {
		ae--, be--;
		ca[ae] = cb[be] = 1;
		partner[ae] = (uint32_t)be + 1;
	}
	/* a passage's end tokens agree on both sides: shared, paired or not
	 * (a[i] may equal b[j] and a[i + 1] too, with only one paired) */
	ca[i] = cb[j] = 1;
	ca[q->a_end - 1] = cb[q->b_end - 1] = 1;
	while (i < ae && j < be) {
		if (a[i] == b[j]) {
			ca[i] = cb[j] = 1;
			partner[i] = (uint32_t)j + 1;
			i++, j++;
			continue;
		}
		int found = 0;
		for (size_t d = 1; d <= RESYNC && !found; d++)
			for (size_t di = 0; di <= d; di++) {
				/* as many skipped in A as in B first (substitutions), then
				 * ever less even splits: d/2, d/2 + 1, d/2 - 1, ... */
				size_t x = di & 1 ? d / 2 + (di + 1) / 2 : d / 2 - di / 2;
				size_t dj = d - x;
				if (i + x >= ae || j + dj >= be || a[i + x] != b[j + dj] || !agree(a, i + x, ae, b, j + dj, be))
					continue;
				i += x, j += dj, found = 1;
				break;
			}
		if (!found) break;
	}
}

/* Tokens that NFKC split from one run share its span (e.g. "½": "1", "2"):
 * the span is shared only if all its tokens are; else none is. */
static void whole_spans(const rp_tokens *t, uint8_t *c)
{
	for (size_t i = 0; i < t->n;) {
		size_t j = i + 1;
		int all = c[i];
		while (j < t->n && t->start[j] == t->start[i]) all &= c[j++];
		if (!all) memset(c + i, 0, j - i);
		i = j;
	}
}

/* whole_spans on both sides, and a token paired with one that is not shared
 * is not shared either ("1" of "1 4" paired with the "1" of "½", which is not
 * shared as "½" is not whole), until nothing changes. */
static void whole_spans_both(const rp_tokens *ta, const rp_tokens *tb, uint8_t *ca, uint8_t *cb, const uint32_t *partner)
{
	for (int changed = 1; changed;) {
		changed = 0;
		whole_spans(ta, ca);
		whole_spans(tb, cb);
		for (size_t i = 0; i < ta->n; i++)
			if (partner[i] && ca[i] != cb[partner[i] - 1]) ca[i] = cb[partner[i] - 1] = 0, changed = 1;
	}
}

/* Where does the token sequence n[0..m) first occur in h[0..nh)?  SIZE_MAX
 * if nowhere (Knuth-Morris-Pratt; fail has room for m). */
static size_t find_run(const uint64_t *h, size_t nh, const uint64_t *n, size_t m, uint32_t *fail)
{
	fail[0] = 0;
	for (size_t i = 1, k = 0; i < m; i++) {
		while (k && n[i] != n[k]) k = fail[k - 1];
		if (n[i] == n[k]) k++;
		fail[i] = (uint32_t)k;
	}
	for (size_t i = 0, k = 0; i < nh; i++) {
		while (k && h[i] != n[k]) k = fail[k - 1];
		if (h[i] == n[k]) k++;
		if (k == m) return i + 1 - m;
	}
	return SIZE_MAX;
}

rp_status rp_compare(const char *a, size_t alen, const char *b, size_t blen, const rp_params *p,
                     int min_words, rp_comparison *out, rp_error *err)
{
	memset(out, 0, sizeof *out);
	rp_tokens ta = {0}, tb = {0};
	uint64_t *sa = NULL, *sb = NULL;
	uint8_t *ca = NULL, *cb = NULL;
	uint32_t *partner = NULL;
	size_t na = 0, nb = 0;
	int rc;
	if (min_words < 1) min_words = 8;
	if ((rc = rp_tokenize(a, alen, p->char_shingles, p->seed, &ta, err))) goto out;
	if ((rc = rp_tokenize(b, blen, p->char_shingles, p->seed, &tb, err))) goto out;
	out->a_words = ta.n;
	out->b_words = tb.n;
	rc = RP_ENOMEM;
	if (shingle_set(&ta, p->ngram, &sa, &na) || shingle_set(&tb, p->ngram, &sb, &nb)) goto nomem;
	size_t inter = 0;
	for (size_t i = 0, j = 0; i < na && j < nb;) {
		if (sa[i] < sb[j]) i++;
		else if (sa[i] > sb[j]) j++;
		else inter++, i++, j++;
	}
	out->a_shingles = na;
	out->b_shingles = nb;
	out->shared_shingles = inter;
	if (!na && !nb) {
		/* No words on either side: as dedup, they match only if their bytes
		 * are identical (docs/NORMALIZATION.md). */
		double same = alen == blen && (!alen || !memcmp(a, b, alen)) ? 1.0 : 0.0;
		out->jaccard = out->a_in_b = out->b_in_a = same;
	} else {
		out->jaccard = (double)inter / (double)(na + nb - inter);
		out->a_in_b = na ? (double)inter / na : 0.0;
		out->b_in_a = nb ? (double)inter / nb : 0.0;
	}
	/* seeds no longer than the shortest passage, so that one can be found */
	int k = p->ngram < 8 ? p->ngram : 8;
	if (k > min_words) k = min_words;
	rp_align_opts ao = {k, 8, min_words};
	if ((rc = rp_align(ta.hash, ta.n, tb.hash, tb.n, &ao, &out->passages, &out->npassages, err))) goto out;
	rc = RP_ENOMEM;
	size_t nmax = ta.n > tb.n ? ta.n : tb.n;
	ca = rp_malloc(ta.n + 1);
	cb = rp_malloc(tb.n + 1);
	partner = rp_malloc_array(nmax + 1, sizeof *partner);
	if (!ca || !cb || !partner) goto nomem;
	int whole = 0; /* a passage shorter than min_words: all of the shorter document */
	if (!out->npassages && ta.n && tb.n && (ta.n < (size_t)min_words || tb.n < (size_t)min_words)) {
		/* A document shorter than min_words has no passage, but if the
		 * other holds all of it, it is shared whole. */
		const rp_tokens *s = ta.n <= tb.n ? &ta : &tb, *l = s == &ta ? &tb : &ta;
		size_t at = find_run(l->hash, l->n, s->hash, s->n, partner);
		if (at != SIZE_MAX) {
			if (!(out->passages = rp_malloc(sizeof *out->passages))) goto nomem;
			memset(out->passages, 0, sizeof *out->passages);
			uint32_t m = (uint32_t)s->n;
			rp_passage *q = out->passages;
			q->a_start = s == &ta ? 0 : (uint32_t)at;
			q->b_start = s == &ta ? (uint32_t)at : 0;
			q->a_end = q->a_start + m;
			q->b_end = q->b_start + m;
			out->npassages = 1;
			whole = 1;
		}
	}
	/* What each side has that the other lacks: tokens in no passage, and
	 * those inside a passage that the token-level diff does not pair (an
	 * edit the passage spans); a span NFKC split into several tokens is
	 * shared only whole.  A passage whose end then falls on an unshared
	 * token is trimmed to its outermost shared pair of tokens, and dropped
	 * if shorter than min_words; until nothing changes. */
	for (int changed = 1; changed;) {
		changed = 0;
		memset(ca, 0, ta.n + 1);
		memset(cb, 0, tb.n + 1);
		memset(partner, 0, (ta.n + 1) * sizeof *partner);
		for (size_t x = 0; x < out->npassages; x++) diff_passage(&ta, &tb, &out->passages[x], ca, cb, partner);
		whole_spans_both(&ta, &tb, ca, cb, partner);
		size_t m = 0;
		for (size_t x = 0; x < out->npassages; x++) {
			rp_passage q = out->passages[x];
			if (ca[q.a_start] && cb[q.b_start] && ca[q.a_end - 1] && cb[q.b_end - 1]) {
				out->passages[m++] = q;
				continue;
			}
			uint32_t s = q.a_start, e = q.a_end;
			if (!ca[s] || !cb[q.b_start])
				do s++; while (s < e && !(ca[s] && partner[s] && cb[partner[s] - 1]));
			if (s < e && (!ca[e - 1] || !cb[q.b_end - 1]))
				do e--; while (e > s && !(ca[e - 1] && partner[e - 1] && cb[partner[e - 1] - 1]));
			changed = 1;
			if (e == s) continue;
			if (s != q.a_start) q.b_start = partner[s] - 1;
			if (e != q.a_end) q.b_end = partner[e - 1];
			q.a_start = s;
			q.a_end = e;
			if (q.b_end <= q.b_start) continue;
			if (!whole && (e - s < (uint32_t)min_words || q.b_end - q.b_start < (uint32_t)min_words)) continue;
			out->passages[m++] = q;
		}
		out->npassages = m;
	}
	for (size_t x = 0; x < out->npassages; x++) {
		rp_passage *q = &out->passages[x];
		q->tokens = q->a_end - q->a_start;
		q->a_byte_start = ta.start[q->a_start];
		q->a_byte_end = ta.end[q->a_end - 1];
		q->b_byte_start = tb.start[q->b_start];
		q->b_byte_end = tb.end[q->b_end - 1];
	}
	if (!out->npassages) {
		rp_free(out->passages);
		out->passages = NULL;
	}
	if (uncovered(&ta, ca, &out->only_a, &out->nonly_a) || uncovered(&tb, cb, &out->only_b, &out->nonly_b)) goto nomem;
	rc = RP_OK;
	goto out;
nomem:
	rp_set_error(err, RP_ENOMEM, "out of memory");
out:
	if (rc) rp_comparison_free(out);
	rp_tokens_free(&ta);
	rp_tokens_free(&tb);
	rp_free(sa);
	rp_free(sb);
	rp_free(ca);
	rp_free(cb);
	rp_free(partner);
	return rc;
}

void rp_comparison_free(rp_comparison *c)
{
	if (!c) return;
	rp_free(c->passages);
	rp_free(c->only_a);
	rp_free(c->only_b);
	memset(c, 0, sizeof *c);
}
