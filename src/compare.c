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

/* Token runs of t not covered by any passage, as byte ranges. */
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

rp_status rp_compare(const char *a, size_t alen, const char *b, size_t blen, const rp_params *p,
                     int min_words, rp_comparison *out, rp_error *err)
{
	memset(out, 0, sizeof *out);
	rp_tokens ta = {0}, tb = {0};
	uint64_t *sa = NULL, *sb = NULL;
	uint8_t *cov = NULL;
	size_t na = 0, nb = 0;
	int rc;
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
	out->jaccard = na + nb ? (double)inter / (double)(na + nb - inter) : 1.0;
	out->a_in_b = na ? (double)inter / na : (nb ? 0.0 : 1.0);
	out->b_in_a = nb ? (double)inter / nb : (na ? 0.0 : 1.0);
	rp_align_opts ao = {p->ngram < 8 ? p->ngram : 8, 8, min_words > 0 ? min_words : 8};
	if ((rc = rp_align(ta.hash, ta.n, tb.hash, tb.n, &ao, &out->passages, &out->npassages, err))) goto out;
	for (size_t k = 0; k < out->npassages; k++) {
		rp_passage *q = &out->passages[k];
		q->a_byte_start = ta.start[q->a_start];
		q->a_byte_end = ta.end[q->a_end - 1];
		q->b_byte_start = tb.start[q->b_start];
		q->b_byte_end = tb.end[q->b_end - 1];
	}
	rc = RP_ENOMEM;
	cov = rp_malloc((ta.n > tb.n ? ta.n : tb.n) + 1);
	if (!cov) goto nomem;
	memset(cov, 0, ta.n + 1);
	for (size_t k = 0; k < out->npassages; k++)
		memset(cov + out->passages[k].a_start, 1, out->passages[k].a_end - out->passages[k].a_start);
	if (uncovered(&ta, cov, &out->only_a, &out->nonly_a)) goto nomem;
	memset(cov, 0, tb.n + 1);
	for (size_t k = 0; k < out->npassages; k++)
		memset(cov + out->passages[k].b_start, 1, out->passages[k].b_end - out->passages[k].b_start);
	if (uncovered(&tb, cov, &out->only_b, &out->nonly_b)) goto nomem;
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
	rp_free(cov);
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
