/* fuzz_compare.c — rp_compare and rp_align: one pair of texts explained.
 *
 * Input: byte 0 = min_words (1 + b % 24) and n-gram (1 + (b >> 5) % 8 when
 * bit 4 is set, else 5), byte 1 = where A ends (as a fraction of the rest);
 * the rest is A then B.  Invariants:
 *  - rp_compare succeeds iff both texts are valid UTF-8 without NUL, and
 *    otherwise fails with RP_EDATA;
 *  - jaccard and both containments are in [0, 1]; comparing B with A gives
 *    the same jaccard and the containments swapped; the same call twice
 *    gives the same answer;
 *  - passages are sorted by A, at least min_words tokens (unless one covers
 *    all of A or all of B), never overlap in A or in B, and their byte ranges
 *    lie inside the texts, start before they end and sit on UTF-8
 *    boundaries, equal to the spans of their first and last tokens; a
 *    passage starts and ends on tokens that agree on both sides;
 *  - no words on either side: the scores are 1 if the bytes are identical,
 *    else 0;
 *  - the only_a / only_b ranges are sorted, disjoint, inside the texts, and
 *    overlap a passage only strictly inside it (an edit it spans: never its
 *    first or last token's span); every token outside all passages is in
 *    one, and none holds a token whose span a passage's end token has. */
#include "fuzz.h"

static int boundary(const char *s, size_t len, uint64_t at)
{
	return at == len || (at < len && ((unsigned char)s[at] & 0xc0) != 0x80);
}

/* Field by field: a memcmp also compared rp_passage's four bytes of padding
 * after `tokens`, which nothing sets (a fuzz finding: two identical calls
 * "differed" there). */
static int same_passage(const rp_passage *x, const rp_passage *y)
{
	return x->a_start == y->a_start && x->a_end == y->a_end && x->b_start == y->b_start && x->b_end == y->b_end &&
	       x->tokens == y->tokens && x->a_byte_start == y->a_byte_start && x->a_byte_end == y->a_byte_end &&
	       x->b_byte_start == y->b_byte_start && x->b_byte_end == y->b_byte_end;
}

static void check_ranges(const rp_range *r, size_t n, const char *s, size_t len, const rp_passage *ps, size_t np,
                         int side_a, const rp_tokens *t)
{
	for (size_t i = 0; i < n; i++) {
		FCHECK(r[i].start < r[i].end && r[i].end <= len);
		FCHECK(boundary(s, len, r[i].start) && boundary(s, len, r[i].end));
		if (i) FCHECK(r[i - 1].end < r[i].start || (r[i - 1].end == r[i].start && r[i].start == len));
		for (size_t k = 0; k < np; k++) { /* disjoint, or inside between its end tokens */
			uint32_t ts = side_a ? ps[k].a_start : ps[k].b_start, te = side_a ? ps[k].a_end : ps[k].b_end;
			FCHECKF(r[i].end <= t->start[ts] || r[i].start >= t->end[te - 1]
			        || (r[i].start >= t->end[ts] && r[i].end <= t->start[te - 1]),
			        "only range [%llu, %llu) against passage %zu [%u, %u)", (unsigned long long)r[i].start,
			        (unsigned long long)r[i].end, k, t->start[ts], t->end[te - 1]);
		}
	}
	/* every token in no passage is in an only range */
	for (size_t x = 0, q = 0; x < t->n; x++) {
		int in = 0;
		for (size_t k = 0; k < np && !in; k++)
			in = side_a ? x >= ps[k].a_start && x < ps[k].a_end : x >= ps[k].b_start && x < ps[k].b_end;
		if (in) continue;
		while (q < n && r[q].end <= t->start[x]) q++;
		FCHECKF(q < n && r[q].start <= t->start[x] && t->end[x] <= r[q].end, "token %zu in no passage nor only range", x);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2) return 0;
	rp_params p;
	rp_params_default(&p);
	int min_words = 1 + data[0] % 24;
	if (data[0] & 0x10) p.ngram = 1 + (data[0] >> 5) % 8;
	const char *rest = (const char *)data + 2;
	size_t n = size - 2, alen = n * data[1] / 255;
	const char *a = rest, *b = rest + alen;
	size_t blen = n - alen;
	int valid = rp_utf8_check(a, alen) == alen && rp_utf8_check(b, blen) == blen;
	rp_comparison c, c2, r;
	rp_error e;
	int rc = rp_compare(a, alen, b, blen, &p, min_words, &c, &e);
	if (!valid) {
		FCHECK(rc == RP_EDATA);
		return 0;
	}
	FCHECK(rc == 0);
	/* The token streams, to check the passages' ends (re-tokenising a byte
	 * range is not enough: tokens that NFKC splits from one run share its
	 * span). */
	rp_tokens ta = {0}, tb = {0};
	FCHECK(rp_tokenize(a, alen, p.char_shingles, p.seed, &ta, &e) == 0);
	FCHECK(rp_tokenize(b, blen, p.char_shingles, p.seed, &tb, &e) == 0);
	FCHECK(ta.n == c.a_words && tb.n == c.b_words);
	FCHECK(c.jaccard >= 0 && c.jaccard <= 1 && c.a_in_b >= 0 && c.a_in_b <= 1 && c.b_in_a >= 0 && c.b_in_a <= 1);
	FCHECK(rp_compare(a, alen, b, blen, &p, min_words, &c2, &e) == 0);
	FCHECK(c2.jaccard == c.jaccard && c2.npassages == c.npassages && c2.nonly_a == c.nonly_a);
	for (size_t i = 0; i < c.npassages; i++)
		FCHECK(same_passage(&c.passages[i], &c2.passages[i]));
	rp_comparison_free(&c2);
	FCHECK(rp_compare(b, blen, a, alen, &p, min_words, &r, &e) == 0);
	FCHECK(r.jaccard == c.jaccard && r.a_in_b == c.b_in_a && r.b_in_a == c.a_in_b);
	rp_comparison_free(&r);
	for (size_t i = 0; i < c.npassages; i++) {
		const rp_passage *q = &c.passages[i];
		FCHECK(q->a_end > q->a_start && q->b_end > q->b_start);
		int whole = (q->a_start == 0 && q->a_end == ta.n) || (q->b_start == 0 && q->b_end == tb.n);
		FCHECKF(whole || (q->a_end - q->a_start >= (uint32_t)min_words && q->b_end - q->b_start >= (uint32_t)min_words),
		        "passage %zu: %u/%u tokens < %d", i, q->a_end - q->a_start, q->b_end - q->b_start, min_words);
		FCHECK(q->tokens == q->a_end - q->a_start);
		FCHECK(q->a_byte_start < q->a_byte_end && q->a_byte_end <= alen);
		FCHECK(q->b_byte_start < q->b_byte_end && q->b_byte_end <= blen);
		FCHECK(boundary(a, alen, q->a_byte_start) && boundary(a, alen, q->a_byte_end));
		FCHECK(boundary(b, blen, q->b_byte_start) && boundary(b, blen, q->b_byte_end));
		FCHECK(q->a_end <= ta.n && q->b_end <= tb.n);
		FCHECK(ta.hash[q->a_start] == tb.hash[q->b_start] && ta.hash[q->a_end - 1] == tb.hash[q->b_end - 1]);
		FCHECK(q->a_byte_start == ta.start[q->a_start] && q->a_byte_end == ta.end[q->a_end - 1]);
		FCHECK(q->b_byte_start == tb.start[q->b_start] && q->b_byte_end == tb.end[q->b_end - 1]);
		for (size_t k = 0; k < i; k++) {
			const rp_passage *o = &c.passages[k];
			FCHECK(o->a_start <= q->a_start);
			FCHECK(o->a_end <= q->a_start || o->a_start >= q->a_end);
			FCHECK(o->b_end <= q->b_start || o->b_start >= q->b_end);
		}
	}
	if (!c.a_shingles && !c.b_shingles) {
		double same = alen == blen && (!alen || !memcmp(a, b, alen)) ? 1.0 : 0.0;
		FCHECK(c.jaccard == same && c.a_in_b == same && c.b_in_a == same);
	}
	check_ranges(c.only_a, c.nonly_a, a, alen, c.passages, c.npassages, 1, &ta);
	check_ranges(c.only_b, c.nonly_b, b, blen, c.passages, c.npassages, 0, &tb);
	rp_comparison_free(&c);
	rp_tokens_free(&ta);
	rp_tokens_free(&tb);
	return 0;
}
