/* fuzz_reuse.c — rp_reuse: passages reused across a small corpus.
 *
 * Input: byte 0 = n-gram (1 + b % 8 when bit 3 is set, else 5; low three
 * bits also pick min_words = n-gram + (byte 1) % 16), byte 2 = flags (bit 0
 * all_candidates; bits 1-2 where token records live: memory, the token
 * file mapped, read with pread, or split; bit 3 keep token records at once
 * instead of texts; bits 4-5: 0 no boilerplate possible, else template_df
 * 2 + byte 3 % 6 and max_df template_df + (byte 3 >> 4); bit 6 mark the
 * documents starting with byte 4 as errored; bit 7 give each document the
 * group (its first byte) % 3), then documents, one per line.  Invariants:
 *  - rp_reuse succeeds when every invalid document (bad UTF-8, NUL) is
 *    marked errored; such an unmarked document fails the add with RP_EDATA;
 *  - pairs come in strictly increasing (a, b) order, a < b, never an
 *    errored document; scores in [0, 1]; at least one passage, each of at
 *    least min_words tokens on both sides, sorted by A, never overlapping,
 *    its byte range the spans of its first and last tokens, which agree on
 *    both sides (checked against rp_tokenize);
 *  - boilerplate ranges are sorted, inside the text, on UTF-8 boundaries;
 *  - with one thread and the given storage, and with two threads and the
 *    defaults, the same pairs, scores, passages and boilerplate, bit for bit;
 *  - where no boilerplate is possible (template_df above the number of
 *    documents, and no groups): nothing is boilerplate; every pair of documents sharing an
 *    exact run of min_words tokens is reported (brute force over token
 *    hashes), and every reported pair is what rp_compare says of the two
 *    texts: the same passages and the same Jaccard and containments. */
#include "fuzz.h"

typedef struct {
	size_t n;
	rp_reuse_pair *pair;  /* deep copies */
	rp_range **tpl;       /* per document: boilerplate ranges */
	size_t *ntpl;
	size_t templates;
} outcome;

static void run_reuse(rp_pool *pool, const rp_params *p, const rp_reuse_opts *o, int where, int keep, size_t n,
                      char **text, const size_t *len, const int *bad, const uint32_t *group, outcome *out)
{
	static const uint64_t mem[] = {UINT64_MAX, 0, 0, 600}, map[] = {UINT64_MAX, UINT64_MAX, 0, 0};
	rp_reuse *r = NULL;
	rp_error e;
	memset(out, 0, sizeof *out);
	FCHECKF(rp_reuse_new(&r, p, o, pool, &e) == 0, "%s", e.message);
	if (where) rp_reuse_set_memory(r, mem[where], map[where]);
	if (keep) rp_reuse_set_keep(r, keep);
	/* In two batches, as a reader would hand them over. */
	size_t half = n / 2;
	FCHECKF(rp_reuse_add(r, half, (const char *const *)text, len, bad, &e) == 0, "%s", e.message);
	FCHECKF(rp_reuse_add(r, n - half, (const char *const *)text + half, len + half, bad + half, &e) == 0, "%s",
	        e.message);
	if (group) FCHECK(rp_reuse_set_groups(r, group, n, &e) == 0);
	FCHECKF(rp_reuse_finish(r, &e) == 0, "%s", e.message);
	const rp_reuse_pair *pr;
	size_t k, cap = 0;
	int rc;
	while ((rc = rp_reuse_next(r, &pr, &k, &e)) == 0 && k) {
		for (size_t i = 0; i < k; i++) {
			if (out->n == cap) {
				cap = cap ? 2 * cap : 16;
				out->pair = fz_xrealloc(out->pair, cap * sizeof *out->pair);
			}
			rp_reuse_pair *q = &out->pair[out->n++];
			*q = pr[i];
			q->passages = fz_memdup(pr[i].passages, pr[i].npassages * sizeof *pr[i].passages);
		}
	}
	FCHECKF(rc == 0, "%s", e.message);
	out->templates = rp_reuse_template_fingerprints(r);
	out->tpl = fz_xmalloc(n * sizeof *out->tpl);
	out->ntpl = fz_xmalloc(n * sizeof *out->ntpl);
	for (size_t d = 0; d < n; d++) {
		rp_range *rg = NULL;
		size_t nr = 0;
		FCHECKF(rp_reuse_template_spans(r, d, &rg, &nr, &e) == 0, "%s", e.message);
		out->tpl[d] = fz_memdup(rg, nr * sizeof *rg);
		out->ntpl[d] = nr;
		rp_free_ranges(rg);
	}
	rp_reuse_free(r);
}

static void outcome_free(outcome *o, size_t n)
{
	for (size_t i = 0; i < o->n; i++) free(o->pair[i].passages);
	free(o->pair);
	for (size_t d = 0; d < n; d++) free(o->tpl[d]);
	free(o->tpl);
	free(o->ntpl);
}

/* Field by field (rp_passage has padding). */
static int same_passage(const rp_passage *x, const rp_passage *y)
{
	return x->a_start == y->a_start && x->a_end == y->a_end && x->b_start == y->b_start && x->b_end == y->b_end &&
	       x->tokens == y->tokens && x->a_byte_start == y->a_byte_start && x->a_byte_end == y->a_byte_end &&
	       x->b_byte_start == y->b_byte_start && x->b_byte_end == y->b_byte_end;
}

static void same_outcome(const outcome *x, const outcome *y, size_t n, const char *what)
{
	FCHECKF(x->n == y->n, "%s: %zu pairs vs %zu", what, x->n, y->n);
	FCHECKF(x->templates == y->templates, "%s: %zu boilerplate fingerprints vs %zu", what, x->templates, y->templates);
	for (size_t i = 0; i < x->n; i++) {
		const rp_reuse_pair *a = &x->pair[i], *b = &y->pair[i];
		FCHECKF(a->a == b->a && a->b == b->b && a->jaccard == b->jaccard && a->a_in_b == b->a_in_b &&
		        a->b_in_a == b->b_in_a && a->npassages == b->npassages,
		        "%s: pair %zu: %llu-%llu %.17g (%zu passages) vs %llu-%llu %.17g (%zu)", what, i,
		        (unsigned long long)a->a, (unsigned long long)a->b, a->jaccard, a->npassages,
		        (unsigned long long)b->a, (unsigned long long)b->b, b->jaccard, b->npassages);
		for (size_t k = 0; k < a->npassages; k++)
			FCHECKF(same_passage(&a->passages[k], &b->passages[k]), "%s: pair %zu passage %zu", what, i, k);
	}
	for (size_t d = 0; d < n; d++) {
		FCHECKF(x->ntpl[d] == y->ntpl[d], "%s: document %zu: %zu boilerplate ranges vs %zu", what, d, x->ntpl[d],
		        y->ntpl[d]);
		for (size_t k = 0; k < x->ntpl[d]; k++)
			FCHECK(x->tpl[d][k].start == y->tpl[d][k].start && x->tpl[d][k].end == y->tpl[d][k].end);
	}
}

/* Boilerplate in a passage [s, e) of a document with tokens t: never at
 * its ends (they agree on both sides; masked tokens match nothing), only a
 * run the aligner joined across as it joins across an edit, of at most
 * its gap (8 tokens). */
static void inner_boilerplate(const rp_range *rg, size_t nr, const rp_tokens *t, uint64_t s, uint64_t e)
{
	for (size_t k = 0; k < nr; k++) {
		if (rg[k].end <= s || rg[k].start >= e) continue;
		FCHECKF(rg[k].start > s && rg[k].end < e, "boilerplate [%llu, %llu) at an end of passage [%llu, %llu)",
		        (unsigned long long)rg[k].start, (unsigned long long)rg[k].end, (unsigned long long)s,
		        (unsigned long long)e);
		size_t n = 0;
		for (size_t i = 0; i < t->n; i++) n += t->start[i] >= rg[k].start && t->end[i] <= rg[k].end;
		FCHECKF(n <= 8, "boilerplate of %zu tokens inside passage [%llu, %llu)", n, (unsigned long long)s,
		        (unsigned long long)e);
	}
}

/* The longest run of equal tokens that a and b share (brute force). */
static FZ_NOCOV size_t longest_run(const uint64_t *a, size_t na, const uint64_t *b, size_t nb, size_t *row)
{
	size_t best = 0;
	memset(row, 0, (nb + 1) * sizeof *row);
	for (size_t i = 1; i <= na; i++) {
		size_t diag = 0; /* row[j - 1] of the previous i */
		for (size_t j = 1; j <= nb; j++) {
			size_t up = row[j];
			row[j] = a[i - 1] == b[j - 1] ? diag + 1 : 0;
			if (row[j] > best) best = row[j];
			diag = up;
		}
	}
	return best;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static rp_pool *pool1, *pool2;
	if (!pool1) pool1 = rp_pool_new(1), pool2 = rp_pool_new(2);
	FCHECK(pool1 && pool2 && rp_pool_size(pool1) == 1 && rp_pool_size(pool2) == 2);
	fz_in in = {data, size};
	uint8_t b0 = fz_byte(&in), b1 = fz_byte(&in), b2 = fz_byte(&in), b3 = fz_byte(&in), b4 = fz_byte(&in);
	rp_params p;
	rp_params_default(&p);
	if (b0 & 8) p.ngram = 1 + (b0 >> 4) % 8;
	rp_reuse_opts o;
	rp_reuse_opts_default(&o);
	o.min_words = p.ngram + b1 % 16;
	o.all_candidates = b2 & 1;
	int where = (b2 >> 1) & 3, keep = b2 & 8 ? 2 : 1;
	int boiler = (b2 >> 4) & 3;
	if (boiler) {
		o.template_df = 2 + b3 % 6;
		o.max_df = o.template_df + (b3 >> 4);
	} else {
		o.template_df = o.max_df = 1 << 20; /* more documents than an input can hold */
	}

	/* The documents, one per line. */
	size_t n = 0, cap = 16;
	char **text = fz_xmalloc(cap * sizeof *text);
	size_t *len = fz_xmalloc(cap * sizeof *len);
	char *copy = fz_memdup(in.p, in.n);
	for (size_t at = 0; at <= in.n && n < 256;) {
		const char *nl = memchr(copy + at, '\n', in.n - at);
		size_t end = nl ? (size_t)(nl - copy) : in.n;
		if (n == cap) {
			cap *= 2;
			text = fz_xrealloc(text, cap * sizeof *text);
			len = fz_xrealloc(len, cap * sizeof *len);
		}
		/* Each its own allocation of its exact size: ASan sees overreads. */
		text[n] = fz_memdup(copy + at, end - at);
		len[n] = end - at;
		n++;
		if (!nl) break;
		at = end + 1;
	}
	free(copy);
	int *bad = fz_xmalloc(n * sizeof *bad);
	uint32_t *group = b2 & 0x80 ? fz_xmalloc(n * sizeof *group) : NULL;
	/* Boilerplate needs a fingerprint in template_df documents, or groups (a
	 * passage in documents all of one group is that group's). */
	int possible = boiler || group;
	size_t first_invalid = SIZE_MAX;
	for (size_t d = 0; d < n; d++) {
		int invalid = fz_utf8_first_bad(text[d], len[d]) < len[d];
		bad[d] = invalid || ((b2 & 0x40) && len[d] && (uint8_t)text[d][0] == b4);
		if (invalid && first_invalid == SIZE_MAX) first_invalid = d;
		if (group) group[d] = len[d] ? (uint8_t)text[d][0] % 3 : 0;
	}

	/* An invalid document not marked errored fails the add. */
	if (first_invalid != SIZE_MAX) {
		rp_reuse *r = NULL;
		rp_error e;
		FCHECK(rp_reuse_new(&r, &p, &o, pool1, &e) == 0);
		int rc = rp_reuse_add(r, 1, (const char *const *)&text[first_invalid], &len[first_invalid], NULL, &e);
		FCHECKF(rc == RP_EDATA, "an invalid document added: %d", rc);
		rp_reuse_free(r);
	}

	outcome o1, o2;
	run_reuse(pool1, &p, &o, where, keep, n, text, len, bad, group, &o1);
	run_reuse(pool2, &p, &o, 0, 0, n, text, len, bad, group, &o2);
	same_outcome(&o1, &o2, n, "one thread and the given storage vs two threads and the defaults");

	/* Every document's tokens, for the passages' ends and the brute force. */
	rp_tokens *tok = fz_xmalloc(n * sizeof *tok);
	rp_error e;
	for (size_t d = 0; d < n; d++) {
		memset(&tok[d], 0, sizeof tok[d]);
		if (!bad[d]) FCHECK(rp_tokenize(text[d], len[d], p.char_shingles, p.seed, &tok[d], &e) == 0);
	}
	for (size_t d = 0; d < n; d++) {
		const rp_range *rg = o1.tpl[d];
		for (size_t k = 0; k < o1.ntpl[d]; k++) {
			FCHECK(rg[k].start < rg[k].end && rg[k].end <= len[d]);
			FCHECK(fz_is_boundary(text[d], len[d], rg[k].start) && fz_is_boundary(text[d], len[d], rg[k].end));
			if (k) FCHECK(rg[k - 1].end <= rg[k].start);
		}
		if (!possible) FCHECKF(!o1.ntpl[d], "document %zu has boilerplate where none is possible", d);
	}
	if (!possible) FCHECK(o1.templates == 0);

	for (size_t i = 0; i < o1.n; i++) {
		const rp_reuse_pair *x = &o1.pair[i];
		FCHECK(x->a < x->b && x->b < n);
		if (i) FCHECK(o1.pair[i - 1].a < x->a || (o1.pair[i - 1].a == x->a && o1.pair[i - 1].b < x->b));
		FCHECKF(!bad[x->a] && !bad[x->b], "pair %llu-%llu has an errored document", (unsigned long long)x->a,
		        (unsigned long long)x->b);
		FCHECK(x->jaccard >= 0 && x->jaccard <= 1 && x->a_in_b >= 0 && x->a_in_b <= 1 && x->b_in_a >= 0 &&
		       x->b_in_a <= 1);
		FCHECK(x->npassages >= 1);
		const rp_tokens *ta = &tok[x->a], *tb = &tok[x->b];
		size_t alen = len[x->a], blen = len[x->b];
		for (size_t k = 0; k < x->npassages; k++) {
			const rp_passage *q = &x->passages[k];
			FCHECKF(q->a_end - q->a_start >= (uint32_t)o.min_words && q->b_end - q->b_start >= (uint32_t)o.min_words,
			        "pair %zu passage %zu: %u/%u tokens < %d", i, k, q->a_end - q->a_start, q->b_end - q->b_start,
			        o.min_words);
			FCHECK(q->tokens == q->a_end - q->a_start);
			FCHECK(q->a_end <= ta->n && q->b_end <= tb->n);
			FCHECK(ta->hash[q->a_start] == tb->hash[q->b_start] && ta->hash[q->a_end - 1] == tb->hash[q->b_end - 1]);
			FCHECK(q->a_byte_start == ta->start[q->a_start] && q->a_byte_end == ta->end[q->a_end - 1]);
			FCHECK(q->b_byte_start == tb->start[q->b_start] && q->b_byte_end == tb->end[q->b_end - 1]);
			FCHECK(q->a_byte_start < q->a_byte_end && q->a_byte_end <= alen);
			FCHECK(q->b_byte_start < q->b_byte_end && q->b_byte_end <= blen);
			inner_boilerplate(o1.tpl[x->a], o1.ntpl[x->a], ta, q->a_byte_start, q->a_byte_end);
			inner_boilerplate(o1.tpl[x->b], o1.ntpl[x->b], tb, q->b_byte_start, q->b_byte_end);
			if (k) {
				const rp_passage *pq = &x->passages[k - 1];
				FCHECK(pq->a_end <= q->a_start);
				FCHECK(pq->b_end <= q->b_start || pq->b_start >= q->b_end);
			}
		}
	}

	if (!possible) {
		/* Exact runs of min_words tokens are never missed, and a reported
		 * pair is what rp_compare says of it. */
		size_t maxn = 0, at = 0;
		for (size_t d = 0; d < n; d++)
			if (tok[d].n > maxn) maxn = tok[d].n;
		size_t *row = fz_xmalloc((maxn + 1) * sizeof *row);
		for (size_t a = 0; a < n; a++) {
			if (bad[a]) continue;
			for (size_t b = a + 1; b < n; b++) {
				if (bad[b]) continue;
				while (at < o1.n && (o1.pair[at].a < a || (o1.pair[at].a == a && o1.pair[at].b < b))) at++;
				int reported = at < o1.n && o1.pair[at].a == a && o1.pair[at].b == b;
				size_t run = longest_run(tok[a].hash, tok[a].n, tok[b].hash, tok[b].n, row);
				FCHECKF(reported || run < (size_t)o.min_words,
				        "documents %zu and %zu share a run of %zu tokens (min_words %d) and are not reported", a, b,
				        run, o.min_words);
				if (!reported) continue;
				const rp_reuse_pair *x = &o1.pair[at];
				rp_comparison c;
				FCHECK(rp_compare(text[a], len[a], text[b], len[b], &p, o.min_words, &c, &e) == 0);
				FCHECKF(c.npassages == x->npassages && c.jaccard == x->jaccard && c.a_in_b == x->a_in_b &&
				        c.b_in_a == x->b_in_a,
				        "pair %zu-%zu: rp_compare %zu passages, J %.17g, %.17g %.17g; rp_reuse %zu, %.17g, %.17g %.17g", a,
				        b, c.npassages, c.jaccard, c.a_in_b, c.b_in_a, x->npassages, x->jaccard, x->a_in_b, x->b_in_a);
				for (size_t k = 0; k < c.npassages; k++)
					FCHECKF(same_passage(&c.passages[k], &x->passages[k]), "pair %zu-%zu: passage %zu differs", a, b, k);
				rp_comparison_free(&c);
			}
		}
		free(row);
	}

	for (size_t d = 0; d < n; d++) rp_tokens_free(&tok[d]);
	free(tok);
	outcome_free(&o1, n);
	outcome_free(&o2, n);
	for (size_t d = 0; d < n; d++) free(text[d]);
	free(text);
	free(len);
	free(bad);
	free(group);
	return 0;
}
