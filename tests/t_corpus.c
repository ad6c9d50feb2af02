/* Real corpora against an exact all-pairs similarity join: every pair of
 * documents whose exact word 5-shingle Jaccard is >= threshold + 0.05 must end
 * in one cluster, and no verified pair may be below threshold - 0.1.
 *
 * The exact join uses prefix filtering (Bayardo et al., "Scaling up all pairs
 * similarity search", WWW 2007): with the shingles of every set in one global
 * order, two sets with Jaccard >= s share an element among the first
 * |x| - ceil(s |x|) + 1 of each, so candidates from shared prefix elements,
 * verified exactly, are every pair >= s. */
#include <math.h>
#include "test.h"
#include "reprint.h"
#include "internal.h"

typedef struct { uint64_t key; uint32_t a, b; } entry;

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return (a > b) - (a < b);
}
static int cmp_entry(const void *x, const void *y)
{
	const entry *a = x, *b = y;
	if (a->key != b->key) return (a->key > b->key) - (a->key < b->key);
	return (a->a > b->a) - (a->a < b->a);
}

static void check_corpus(const char *path, size_t expect_docs)
{
	const char *in[] = {path};
	rp_reader_opts ro = {RP_FORMAT_JSONL, "text", "id", 0};
	rp_reader *r;
	rp_error e;
	if (rp_reader_new(&r, in, 1, &ro, &e)) { CHECKF(0, "%s: %s", path, e.message); return; }
	rp_params p;
	rp_params_default(&p);
	rp_pool *pool = rp_pool_new(2);
	rp_dedup *d;
	CHECK(rp_dedup_new(&d, &p, pool, &e) == 0);
	size_t n = 0, cap = 0;
	uint64_t **set = NULL;
	size_t *setn = NULL;
	rp_tokens tok = {0};
	uint64_t *sh = NULL;
	size_t shcap = 0;
	rp_record rec;
	int rc;
	while ((rc = rp_reader_next(r, &rec, &e)) > 0) {
		CHECK(!rec.bad);
		const char *t = rec.text;
		size_t l = rec.text_len;
		CHECK(rp_dedup_add(d, 1, &t, &l, NULL, &e) == 0);
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			set = realloc(set, cap * sizeof *set);
			setn = realloc(setn, cap * sizeof *setn);
		}
		rp_tokenize(t, l, 0, 0, &tok, &e);
		if (rp_grow((void **)&sh, &shcap, tok.n + 1, sizeof *sh)) abort();
		size_t m = rp_shingles(tok.hash, tok.n, 5, sh);
		qsort(sh, m, sizeof *sh, cmp_u64);
		size_t u = m ? 1 : 0;
		for (size_t i = 1; i < m; i++) if (sh[i] != sh[u - 1]) sh[u++] = sh[i];
		set[n] = malloc((u ? u : 1) * sizeof **set);
		memcpy(set[n], sh, u * sizeof *sh);
		setn[n] = u;
		n++;
	}
	CHECK(rc == 0);
	CHECK(n == expect_docs);
	CHECK(rp_dedup_finish(d, &e) == 0);

	/* Exact join at s = t + 0.05 by prefix filtering (sets are sorted by hash:
	 * the global order). */
	const double s = p.threshold + 0.05;
	size_t ne = 0, ecap = 0;
	entry *ent = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!setn[i]) continue;
		size_t prefix = setn[i] - (size_t)ceil(s * (double)setn[i]) + 1;
		for (size_t k = 0; k < prefix && k < setn[i]; k++) {
			if (ne == ecap) ecap = ecap ? ecap * 2 : 4096, ent = realloc(ent, ecap * sizeof *ent);
			ent[ne++] = (entry){set[i][k], (uint32_t)i, 0};
		}
	}
	qsort(ent, ne, sizeof *ent, cmp_entry);
	size_t np = 0, pcap = 0;
	entry *pairs = NULL;
	for (size_t lo = 0, hi; lo < ne; lo = hi) {
		for (hi = lo + 1; hi < ne && ent[hi].key == ent[lo].key; hi++) {}
		for (size_t x = lo; x < hi; x++)
			for (size_t y = x + 1; y < hi; y++) {
				if (np == pcap) pcap = pcap ? pcap * 2 : 4096, pairs = realloc(pairs, pcap * sizeof *pairs);
				pairs[np++] = (entry){((uint64_t)ent[x].a << 32) | ent[y].a, ent[x].a, ent[y].a};
			}
	}
	qsort(pairs, np, sizeof *pairs, cmp_entry);
	int truth = 0, missed = 0;
	for (size_t i = 0; i < np; i++) {
		if (i && pairs[i].key == pairs[i - 1].key) continue;
		uint32_t a = pairs[i].a, b = pairs[i].b;
		if (rp_set_jaccard(set[a], setn[a], set[b], setn[b]) < s) continue;
		truth++;
		rp_dedup_result ra, rb;
		rp_dedup_get(d, a, &ra);
		rp_dedup_get(d, b, &rb);
		if (ra.cluster != rb.cluster) {
			missed++;
			fprintf(stderr, "  missed %u %u J=%.3f\n", a, b, rp_set_jaccard(set[a], setn[a], set[b], setn[b]));
		}
	}
	/* Every verified pair against exact Jaccard. */
	const uint64_t *pa, *pb;
	const double *pj;
	size_t nv = rp_dedup_pairs(d, &pa, &pb, &pj);
	int low = 0, below = 0;
	for (size_t i = 0; i < nv; i++) {
		double j = rp_set_jaccard(set[pa[i]], setn[pa[i]], set[pb[i]], setn[pb[i]]);
		if (j < p.threshold - 0.1) low++;
		if (j < p.threshold) below++;
	}
	printf("# %s: %zu docs, %d pairs with exact J >= %.2f, %d not clustered; %zu verified pairs, "
	       "%d below %.2f, %d below %.2f\n", path, n, truth, s, missed, nv, below, p.threshold, low,
	       p.threshold - 0.1);
	CHECK(truth > 90);
	CHECK(missed == 0);
	CHECK(low == 0);
	for (size_t i = 0; i < n; i++) free(set[i]);
	free(set); free(setn); free(ent); free(pairs); rp_free(sh);
	rp_tokens_free(&tok);
	rp_dedup_free(d);
	rp_pool_free(pool);
	rp_reader_free(r);
}

static void test_bbc_news(void) { check_corpus(SHARED_DATA "/bbc-news.jsonl.gz", 2225); }
static void test_reuters(void) { check_corpus(SHARED_DATA "/reuters21578.jsonl.gz", 21578); }

int main(void)
{
	RUN(test_bbc_news);
	RUN(test_reuters);
	TEST_END();
}
