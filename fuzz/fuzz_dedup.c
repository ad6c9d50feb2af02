/* fuzz_dedup.c — rp_dedup_new / add / finish on documents cut from the input.
 *
 * Input: 6 parameter bytes, then documents separated by '\n'.
 *   byte 0: bits 0-1 verify (AUTO, ESTIMATE, EXACT, AUTO), bit 2 character
 *           shingles, bit 3 keep the longest, bits 4-7 n-gram length - 1;
 *   byte 1: K = 1 + (b & 31), or 1 + (b & 127) when bit 7 is set;
 *   byte 2: threshold (b + 1) / 256;
 *   byte 3: 0 bands and rows chosen from the threshold, else rows 1 + (b & 7)
 *           and bands from the rest (bands x rows <= K);
 *   byte 4: bits 0-1 seed choice, bits 2-5 batch size - 1 (documents per
 *           rp_dedup_add);
 *   byte 5: a document starting with this byte (if nonzero) is passed as bad.
 * Documents that are not valid UTF-8 (or hold NUL) are first passed as they
 * are: rp_dedup_add must fail with RP_EDATA at the first bad byte of the
 * first such document of the batch and keep nothing; the batch is then passed
 * again with them marked bad.
 *
 * Four runs must give identical results and pairs, bit for bit: one thread
 * and batches, two threads and batches, two threads and one batch with bad
 * documents marked from the start, and two threads and batches with the
 * exact checks' texts fetched (rp_dedup_set_fetch) instead of spilled.  Invariants on the results:
 *  - a bad document is alone: cluster = seq, not a duplicate, similarity 0;
 *  - cluster <= seq (keeping the first), duplicate iff cluster != seq, the
 *    representative is its own cluster and not a duplicate; with
 *    keep-longest, the representative is the longest member (ties: first);
 *  - similarity is 1 for a representative, else in [0, 1] and equal to the
 *    exact Jaccard (EXACT; AUTO within the margin below) or the signature
 *    estimate (otherwise; on the values' low 16 bits, as rp_dedup keeps them)
 *    with the representative, computed here independently; a token-less duplicate has
 *    the same bytes as its representative;
 *  - pairs are sorted, a < b, in one cluster, never a bad document; their
 *    jaccard is in [0, 1], >= threshold, and is the estimate (ESTIMATE), the
 *    exact value (EXACT), or in AUTO the estimate when it is more than
 *    rp_verify_margin (>= 3 standard errors) from the threshold and the exact
 *    value otherwise; token-less documents pair only with identical bytes, at
 *    1; rp_text_jaccard gives the same exact value;
 *  - rp_sketch_text gives the same signature and shingle count, and
 *    rp_dedup_length the text's length (0 for a bad document);
 *  - the pairs form a spanning forest of the clusters: each joins two
 *    different components, and the components are exactly the clusters;
 *  - documents with the same token stream (or, token-less, the same bytes)
 *    are in the same cluster. */
#include <math.h>
#include "fuzz.h"

typedef struct {
	size_t n;
	rp_dedup_result *res;
	uint64_t *len; /* rp_dedup_length */
	size_t np;
	uint64_t *pa, *pb;
	double *pj;
} outcome;

static void outcome_free(outcome *o)
{
	free(o->res); free(o->len); free(o->pa); free(o->pb); free(o->pj);
	memset(o, 0, sizeof *o);
}

typedef struct {
	size_t n;
	const char **text;
	size_t *len;
	int *marked;  /* passed as bad by the caller */
	int *invalid; /* not valid UTF-8 or holds NUL */
	size_t *first_bad;
} docs;

/* rp_dedup_set_fetch's function: document seq's text, as it was added. */
static rp_status fetch_doc(void *ctx, int slot, uint64_t seq, const char **text, size_t *len, rp_error *err)
{
	const docs *D = ctx;
	(void)err;
	FCHECK(slot >= 0 && slot < 2 && seq < D->n && !D->marked[seq] && !D->invalid[seq]);
	*text = D->text[seq];
	*len = D->len[seq];
	return RP_OK;
}

/* fetch: the exact checks get their texts back from fetch_doc instead of
 * the spill file. */
static void run_dedup(rp_pool *pool, const rp_params *p, const docs *D, size_t batch, int premark, int fetch,
                      outcome *o)
{
	rp_dedup *d = NULL;
	rp_error err;
	memset(&err, 0, sizeof err);
	int rc = rp_dedup_new(&d, p, pool, &err);
	FCHECKF(rc == 0, "rp_dedup_new: %s", err.message);
	if (fetch) FCHECK(rp_dedup_set_fetch(d, fetch_doc, (void *)D, &err) == 0);
	int *bad = fz_xmalloc((D->n + 1) * sizeof *bad);
	for (size_t at = 0; at < D->n; at += batch) {
		size_t m = D->n - at < batch ? D->n - at : batch;
		size_t first_invalid = SIZE_MAX;
		for (size_t i = 0; i < m; i++) {
			bad[i] = D->marked[at + i] || (premark && D->invalid[at + i]);
			if (!bad[i] && D->invalid[at + i] && first_invalid == SIZE_MAX) first_invalid = at + i;
		}
		memset(&err, 0, sizeof err);
		rc = rp_dedup_add(d, m, D->text + at, D->len + at, bad, &err);
		if (first_invalid != SIZE_MAX) {
			FCHECKF(rc == RP_EDATA, "a batch with invalid UTF-8 (document %zu) gave %d", first_invalid, rc);
			FCHECK(err.code == RP_EDATA);
			FCHECKF(err.byte == D->first_bad[first_invalid], "error at byte %llu, document %zu's first bad byte %zu",
			        (unsigned long long)err.byte, first_invalid, D->first_bad[first_invalid]);
			FCHECKF(rp_dedup_count(d) == at, "a failed batch kept documents: %zu, expected %zu", rp_dedup_count(d), at);
			for (size_t i = 0; i < m; i++) bad[i] = D->marked[at + i] || D->invalid[at + i];
			rc = rp_dedup_add(d, m, D->text + at, D->len + at, bad, &err);
		}
		FCHECKF(rc == 0, "rp_dedup_add: %d %s", rc, err.message);
	}
	FCHECK(rp_dedup_count(d) == D->n);
	rc = rp_dedup_finish(d, &err);
	FCHECKF(rc == 0, "rp_dedup_finish: %d %s", rc, err.message);
	FCHECK(rp_dedup_finish(d, &err) == 0); /* a second finish is harmless */
	o->n = D->n;
	o->res = fz_xmalloc((D->n + 1) * sizeof *o->res);
	o->len = fz_xmalloc((D->n + 1) * sizeof *o->len);
	for (size_t s = 0; s < D->n; s++) rp_dedup_get(d, s, &o->res[s]), o->len[s] = rp_dedup_length(d, s);
	const uint64_t *a, *b;
	const double *j;
	o->np = rp_dedup_pairs(d, &a, &b, &j);
	o->pa = fz_memdup(a, o->np * sizeof *a);
	o->pb = fz_memdup(b, o->np * sizeof *b);
	o->pj = fz_memdup(j, o->np * sizeof *j);
	rp_dedup_free(d);
	free(bad);
}

static void same_outcome(const outcome *x, const outcome *y, const char *what)
{
	FCHECK(x->n == y->n);
	for (size_t s = 0; s < x->n; s++)
		FCHECKF(x->len[s] == y->len[s] && x->res[s].cluster == y->res[s].cluster && x->res[s].duplicate == y->res[s].duplicate &&
		        !memcmp(&x->res[s].similarity, &y->res[s].similarity, sizeof(double)),
		        "%s: document %zu: cluster %llu/%llu similarity %.17g/%.17g", what, s,
		        (unsigned long long)x->res[s].cluster, (unsigned long long)y->res[s].cluster, x->res[s].similarity,
		        y->res[s].similarity);
	FCHECKF(x->np == y->np, "%s: %zu vs %zu pairs", what, x->np, y->np);
	for (size_t i = 0; i < x->np; i++)
		FCHECKF(x->pa[i] == y->pa[i] && x->pb[i] == y->pb[i] && !memcmp(&x->pj[i], &y->pj[i], sizeof(double)),
		        "%s: pair %zu differs", what, i);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* The estimate as rp_dedup keeps signatures (the low 16 bits of each value,
 * src/dedup.c): the share of positions that agree on them.  Not the 32-bit
 * estimate: two different values agree on their low 16 bits once in 65,536,
 * and densification copies a bin's value into empty bins, so on a document of
 * a few shingles one such pair can move the estimate by several positions
 * (a fuzz finding, fuzz/corpus/dedup/regress-sig16-densified). */
static double est16(const uint32_t *a, const uint32_t *b, int K)
{
	int eq = 0;
	for (int i = 0; i < K; i++) eq += (uint16_t)a[i] == (uint16_t)b[i];
	return K ? (double)eq / K : 0.0;
}

static size_t find(size_t *parent, size_t x)
{
	while (parent[x] != x) x = parent[x] = parent[parent[x]];
	return x;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static rp_pool *pool1, *pool2;
	if (!pool1) pool1 = rp_pool_new(1), pool2 = rp_pool_new(2);
	FCHECK(pool1 && pool2 && rp_pool_size(pool1) == 1 && rp_pool_size(pool2) == 2);
	fz_in in = {data, size};
	uint8_t b0 = fz_byte(&in), b1 = fz_byte(&in), b2 = fz_byte(&in), b3 = fz_byte(&in), b4 = fz_byte(&in),
	        b5 = fz_byte(&in);
	rp_params p;
	rp_params_default(&p);
	static const int modes[4] = {RP_VERIFY_AUTO, RP_VERIFY_ESTIMATE, RP_VERIFY_EXACT, RP_VERIFY_AUTO};
	p.verify = modes[b0 & 3];
	p.char_shingles = (b0 >> 2) & 1;
	p.keep_longest = (b0 >> 3) & 1;
	p.ngram = 1 + (b0 >> 4);
	p.num_perm = b1 & 0x80 ? 1 + (b1 & 127) : 1 + (b1 & 31);
	p.threshold = (b2 + 1) / 256.0;
	if (b3) {
		p.rows = 1 + (b3 & 7);
		if (p.rows > p.num_perm) p.rows = p.num_perm;
		p.bands = 1 + (b3 >> 3) % (p.num_perm / p.rows);
	}
	static const uint64_t seeds[4] = {0, 7, 0x8000000000000000ULL, 0xffffffffffffffffULL};
	p.seed = seeds[b4 & 3];
	size_t batch = 1 + ((b4 >> 2) & 15);
	rp_params q = p;
	rp_error err;
	FCHECKF(rp_params_resolve(&q, &err) == 0, "%s", err.message);
	const int K = q.num_perm;
	const double t = q.threshold, margin = rp_verify_margin(&q);

	/* The documents. */
	docs D = {0};
	size_t cap = 16;
	D.text = fz_xmalloc(cap * sizeof *D.text);
	D.len = fz_xmalloc(cap * sizeof *D.len);
	char *copy = fz_memdup(in.p, in.n); /* exact size: ASan sees overreads */
	for (size_t at = 0; at <= in.n && D.n < 512;) {
		const char *nl = memchr(copy + at, '\n', in.n - at);
		size_t end = nl ? (size_t)(nl - copy) : in.n;
		if (D.n == cap) {
			cap *= 2;
			D.text = fz_xrealloc(D.text, cap * sizeof *D.text);
			D.len = fz_xrealloc(D.len, cap * sizeof *D.len);
		}
		D.text[D.n] = copy + at;
		D.len[D.n] = end - at;
		D.n++;
		if (!nl) break;
		at = end + 1;
	}
	D.marked = fz_xmalloc(D.n * sizeof *D.marked);
	D.invalid = fz_xmalloc(D.n * sizeof *D.invalid);
	D.first_bad = fz_xmalloc(D.n * sizeof *D.first_bad);
	for (size_t i = 0; i < D.n; i++) {
		D.marked[i] = b5 && D.len[i] && (uint8_t)D.text[i][0] == b5;
		D.first_bad[i] = fz_utf8_first_bad(D.text[i], D.len[i]);
		D.invalid[i] = D.first_bad[i] < D.len[i];
	}

	/* Independent shingle sets and signatures. */
	uint64_t **set = fz_xmalloc(D.n * sizeof *set);
	size_t *nset = fz_xmalloc(D.n * sizeof *nset);
	uint32_t *sig = fz_xmalloc(D.n * (size_t)K * sizeof *sig);
	uint64_t **tok = fz_xmalloc(D.n * sizeof *tok);
	size_t *ntok = fz_xmalloc(D.n * sizeof *ntok);
	int *skip = fz_xmalloc(D.n * sizeof *skip);
	rp_tokens tk = {0}, tk2 = {0};
	for (size_t i = 0; i < D.n; i++) {
		skip[i] = D.marked[i] || D.invalid[i];
		set[i] = NULL, nset[i] = 0, tok[i] = NULL, ntok[i] = 0;
		if (skip[i]) continue;
		FCHECK(rp_tokenize(D.text[i], D.len[i], p.char_shingles, p.seed, &tk, &err) == 0);
		ntok[i] = tk.n;
		tok[i] = fz_memdup(tk.hash, tk.n * sizeof *tk.hash);
		uint64_t *sh = fz_xmalloc((tk.n + 1) * sizeof *sh);
		size_t ns = rp_shingles(tk.hash, tk.n, p.ngram, sh);
		rp_sketch(sh, ns, K, p.seed, sig + i * (size_t)K);
		/* The exact set is of the low 32 bits, as the library compares them
		 * (rp_text_jaccard, the exact checks). */
		for (size_t k = 0; k < ns; k++) sh[k] = (uint32_t)sh[k];
		qsort(sh, ns, sizeof *sh, cmp_u64);
		size_t u = 0;
		for (size_t k = 0; k < ns; k++)
			if (!u || sh[k] != sh[u - 1]) sh[u++] = sh[k];
		set[i] = sh;
		nset[i] = u;
		/* rp_sketch_text (the distributed engines' entry) agrees. */
		uint32_t *sig2 = fz_xmalloc((size_t)K * sizeof *sig2);
		size_t ns2 = 0;
		uint64_t content = 0;
		FCHECK(rp_sketch_text(D.text[i], D.len[i], &q, &tk2, sig2, &ns2, &content, &err) == 0);
		FCHECK(ns2 == ns && !memcmp(sig2, sig + i * (size_t)K, (size_t)K * sizeof *sig2));
		free(sig2);
	}
	rp_tokens_free(&tk);
	rp_tokens_free(&tk2);
#define EST(a, b) est16(sig + (a) * (size_t)K, sig + (b) * (size_t)K, K)
#define EXACT(a, b) rp_set_jaccard(set[a], nset[a], set[b], nset[b])

	outcome o1 = {0}, o2 = {0}, o3 = {0}, o4 = {0};
	run_dedup(pool1, &p, &D, batch, 0, 0, &o1);
	run_dedup(pool2, &p, &D, batch, 0, 0, &o2);
	run_dedup(pool2, &p, &D, D.n ? D.n : 1, 1, 0, &o3);
	run_dedup(pool2, &p, &D, batch, 0, 1, &o4);
	same_outcome(&o1, &o2, "1 vs 2 threads");
	same_outcome(&o1, &o3, "batches vs one batch");
	same_outcome(&o1, &o4, "spilled vs fetched texts");

	const rp_dedup_result *R = o1.res;
	for (size_t s = 0; s < D.n; s++) {
		const rp_dedup_result *r = &R[s];
		FCHECKF(o1.len[s] == (skip[s] ? 0 : D.len[s]), "rp_dedup_length(%zu) = %llu, %zu bytes%s", s,
		        (unsigned long long)o1.len[s], D.len[s], skip[s] ? ", bad" : "");
		if (skip[s]) {
			FCHECKF(r->cluster == s && !r->duplicate && r->similarity == 0.0, "bad document %zu in cluster %llu", s,
			        (unsigned long long)r->cluster);
			continue;
		}
		FCHECK(r->cluster < D.n);
		if (!p.keep_longest) FCHECKF(r->cluster <= s, "document %zu in cluster %llu", s, (unsigned long long)r->cluster);
		FCHECK(r->duplicate == (r->cluster != s));
		size_t c = (size_t)r->cluster;
		FCHECK(!skip[c]);
		FCHECK(R[c].cluster == c && !R[c].duplicate);
		FCHECK(r->similarity >= 0.0 && r->similarity <= 1.0);
		if (!r->duplicate) {
			FCHECK(r->similarity == 1.0);
		} else if (!nset[s]) {
			FCHECK(!nset[c] && D.len[s] == D.len[c] && !memcmp(D.text[s], D.text[c], D.len[s]));
			FCHECK(r->similarity == 1.0);
		} else {
			/* by the rule that decides pairs: auto takes the exact Jaccard
			 * when the estimate is within the margin of the threshold */
			double e = EST(s, c);
			double want = p.verify == RP_VERIFY_EXACT || (p.verify == RP_VERIFY_AUTO && fabs(e - t) <= margin)
			                  ? EXACT(c, s) : e;
			FCHECKF(r->similarity == (double)(float)want, "document %zu: similarity %.9g, expected %.9g", s,
			        r->similarity, want);
		}
		if (p.keep_longest) FCHECKF(D.len[c] > D.len[s] || (D.len[c] == D.len[s] && c <= s),
		                            "representative %zu (%zu bytes) of %zu (%zu bytes) is not the longest, first", c,
		                            D.len[c], s, D.len[s]);
	}

	size_t *parent = fz_xmalloc((D.n + 1) * sizeof *parent);
	for (size_t s = 0; s < D.n; s++) parent[s] = s;
	for (size_t i = 0; i < o1.np; i++) {
		size_t a = (size_t)o1.pa[i], b = (size_t)o1.pb[i];
		double j = o1.pj[i];
		FCHECK(a < b && b < D.n);
		if (i) FCHECK(o1.pa[i - 1] < a || (o1.pa[i - 1] == a && o1.pb[i - 1] < b));
		FCHECK(!skip[a] && !skip[b]);
		FCHECK(R[a].cluster == R[b].cluster);
		FCHECKF(j >= t && j <= 1.0, "pair %zu-%zu: jaccard %.17g, threshold %.17g", a, b, j, t);
		if (!nset[a] || !nset[b]) {
			FCHECKF(!nset[a] && !nset[b], "token-less document paired with another");
			FCHECK(j == 1.0 && D.len[a] == D.len[b] && !memcmp(D.text[a], D.text[b], D.len[a]));
		} else {
			double e = EST(a, b), x = EXACT(a, b), x2 = -1;
			FCHECK(rp_text_jaccard(D.text[a], D.len[a], D.text[b], D.len[b], &q, &x2, &err) == 0);
			FCHECKF(x2 == x, "rp_text_jaccard %.17g, exact %.17g", x2, x);
			if (p.verify == RP_VERIFY_ESTIMATE) FCHECKF(j == e, "pair %zu-%zu: %.17g, estimate %.17g", a, b, j, e);
			else if (p.verify == RP_VERIFY_EXACT) FCHECKF(j == x, "pair %zu-%zu: %.17g, exact %.17g", a, b, j, x);
			else {
				/* AUTO: the estimate decides when it is more than the
				 * margin (>= 3 standard errors) away from the threshold. */
				double want = fabs(e - t) > margin ? e : x;
				FCHECKF(j == want, "pair %zu-%zu: %.17g, estimate %.17g, exact %.17g, margin %.17g", a, b, j, e, x,
				        margin);
				FCHECK(margin >= 3.0 * sqrt(t * (1.0 - t) / K));
			}
		}
		size_t ra = find(parent, a), rb = find(parent, b);
		FCHECKF(ra != rb, "pair %zu-%zu closes a cycle", a, b);
		parent[ra < rb ? rb : ra] = ra < rb ? ra : rb;
	}
	/* Components of the pairs are the clusters. */
	size_t *comp_cluster = fz_xmalloc((D.n + 1) * sizeof *comp_cluster);
	for (size_t s = 0; s < D.n; s++) comp_cluster[s] = SIZE_MAX;
	for (size_t s = 0; s < D.n; s++) {
		if (skip[s]) continue;
		size_t root = find(parent, s);
		if (comp_cluster[root] == SIZE_MAX) comp_cluster[root] = (size_t)R[s].cluster;
		FCHECKF(comp_cluster[root] == R[s].cluster, "document %zu: cluster %llu, its pairs' component has %zu", s,
		        (unsigned long long)R[s].cluster, comp_cluster[root]);
		FCHECK(find(parent, (size_t)R[s].cluster) == root);
	}
	/* Same tokens (or, token-less, same bytes): same cluster. */
	for (size_t a = 0; a < D.n; a++) {
		if (skip[a]) continue;
		for (size_t b = a + 1; b < D.n; b++) {
			if (skip[b]) continue;
			int same = nset[a] && nset[b] ? ntok[a] == ntok[b] && !memcmp(tok[a], tok[b], ntok[a] * sizeof *tok[a])
			           : !nset[a] && !nset[b] && D.len[a] == D.len[b] && !memcmp(D.text[a], D.text[b], D.len[a]);
			if (same)
				FCHECKF(R[a].cluster == R[b].cluster, "documents %zu and %zu have the same tokens but clusters %llu, %llu",
				        a, b, (unsigned long long)R[a].cluster, (unsigned long long)R[b].cluster);
		}
	}

	free(parent);
	free(comp_cluster);
	outcome_free(&o1); outcome_free(&o2); outcome_free(&o3); outcome_free(&o4);
	for (size_t i = 0; i < D.n; i++) free(set[i]), free(tok[i]);
	free(set); free(nset); free(sig); free(tok); free(ntok); free(skip);
	free(D.text); free(D.len); free(D.marked); free(D.invalid); free(D.first_bad);
	free(copy);
	return 0;
}
