/* The dedup stage end to end in the library: planted near-duplicates against
 * brute-force exact Jaccard, determinism across thread counts, short and empty
 * documents, the representative rules. */
#include <pthread.h>
#include <math.h>
#include "test.h"
#include "reprint.h"
#include "internal.h"
#include "synth.h"

#define NDOC 600
static char *docs[NDOC];
static size_t lens[NDOC];

static void make_corpus(void) { synth_corpus(99, NDOC, docs, lens); }

static int run_dedup(int threads, const rp_params *p, rp_dedup **out)
{
	rp_pool *pool = rp_pool_new(threads);
	rp_dedup *d;
	rp_error e;
	if (rp_dedup_new(&d, p, pool, &e)) return -1;
	/* Two batches of unequal size. */
	if (rp_dedup_add(d, 250, (const char *const *)docs, lens, NULL, &e)) return -1;
	if (rp_dedup_add(d, NDOC - 250, (const char *const *)docs + 250, lens + 250, NULL, &e)) return -1;
	if (rp_dedup_finish(d, &e)) return -1;
	*out = d;
	rp_pool_free(pool); /* the handle no longer needs it after finish */
	return 0;
}

/* Exact Jaccard of word 5-shingle sets of two documents. */
static double exact(int a, int b)
{
	static uint64_t *sets[NDOC];
	static size_t n[NDOC];
	rp_tokens t = {0};
	rp_error e;
	for (int k = 0; k < 2; k++) {
		int d = k ? b : a;
		if (sets[d]) continue;
		rp_tokenize(docs[d], lens[d], 0, 0, &t, &e);
		sets[d] = malloc((t.n + 1) * sizeof **sets);
		n[d] = rp_shingles(t.hash, t.n, 5, sets[d]);
		/* sort + unique */
		for (size_t i = 1; i < n[d]; i++)
			for (size_t j = i; j > 0 && sets[d][j - 1] > sets[d][j]; j--) {
				uint64_t x = sets[d][j]; sets[d][j] = sets[d][j - 1]; sets[d][j - 1] = x;
			}
		size_t u = n[d] ? 1 : 0;
		for (size_t i = 1; i < n[d]; i++) if (sets[d][i] != sets[d][u - 1]) sets[d][u++] = sets[d][i];
		n[d] = u;
	}
	rp_tokens_free(&t);
	return rp_set_jaccard(sets[a], n[a], sets[b], n[b]);
}

static void check_against_brute_force(int verify)
{
	rp_params p;
	rp_params_default(&p);
	p.verify = verify;
	rp_dedup *d;
	CHECK(run_dedup(2, &p, &d) == 0);
	int missed = 0, truth = 0;
	for (int a = 0; a < NDOC; a++)
		for (int b = a + 1; b < NDOC; b++) {
			double j = exact(a, b);
			if (j < p.threshold + 0.05) continue;
			truth++;
			rp_dedup_result ra, rb;
			rp_dedup_get(d, (uint64_t)a, &ra);
			rp_dedup_get(d, (uint64_t)b, &rb);
			if (ra.cluster != rb.cluster) missed++;
		}
	const uint64_t *pa, *pb;
	const double *pj;
	size_t np = rp_dedup_pairs(d, &pa, &pb, &pj);
	int low = 0;
	for (size_t i = 0; i < np; i++) {
		double j = exact((int)pa[i], (int)pb[i]);
		if (j < p.threshold - 0.1) low++;
		if (verify == RP_VERIFY_EXACT) CHECK(fabs(j - pj[i]) < 1e-9 && pj[i] >= p.threshold);
		if (i) CHECK(pa[i - 1] < pa[i] || (pa[i - 1] == pa[i] && pb[i - 1] < pb[i]));
	}
	printf("# verify %s: %zu verified pairs; of %d pairs at >= t+0.05 %d not clustered; %d below t-0.1\n",
	       verify == RP_VERIFY_EXACT ? "exact" : verify == RP_VERIFY_AUTO ? "auto" : "estimate", np, truth, missed, low);
	CHECK(np > 100);
	/* Exact verification misses nothing the LSH offers (P >= 0.999 at t+0.05);
	 * the K=128 estimate has a standard error of 0.03 at 0.85, so a pair just
	 * above t+0.05 is rejected with probability up to about 6%: allow 3%
	 * of such pairs overall (most are far above). */
	if (verify != RP_VERIFY_ESTIMATE) CHECK(missed == 0);
	else CHECKF(missed <= truth * 3 / 100 + 1, "%d of %d", missed, truth);
	CHECK(low == 0);
	rp_dedup_free(d);
}

static void test_brute_force_estimate(void) { check_against_brute_force(RP_VERIFY_ESTIMATE); }
static void test_brute_force_auto(void) { check_against_brute_force(RP_VERIFY_AUTO); }
static void test_brute_force_exact(void) { check_against_brute_force(RP_VERIFY_EXACT); }

static void test_deterministic_across_threads(void)
{
	rp_params p;
	rp_params_default(&p);
	p.threshold = 0.7;
	rp_dedup *d1, *d3;
	CHECK(run_dedup(1, &p, &d1) == 0);
	CHECK(run_dedup(3, &p, &d3) == 0);
	for (uint64_t s = 0; s < NDOC; s++) {
		rp_dedup_result a, b;
		rp_dedup_get(d1, s, &a);
		rp_dedup_get(d3, s, &b);
		CHECK(a.cluster == b.cluster && a.duplicate == b.duplicate && a.similarity == b.similarity);
		CHECK(a.cluster <= s); /* the representative is the first in input order */
	}
	rp_dedup_free(d1);
	rp_dedup_free(d3);
}

/* x and y give every document the same cluster, flag and similarity, and
 * the same pairs (at least one). */
static void check_same(const rp_dedup *x, const rp_dedup *y, int threads)
{
	for (uint64_t s = 0; s < NDOC; s++) {
		rp_dedup_result a, b;
		rp_dedup_get(x, s, &a);
		rp_dedup_get(y, s, &b);
		CHECKF(a.cluster == b.cluster && a.duplicate == b.duplicate && a.similarity == b.similarity,
		       "doc %llu, %d threads", (unsigned long long)s, threads);
	}
	const uint64_t *pa, *pb, *qa, *qb;
	const double *pj, *qj;
	size_t np = rp_dedup_pairs(x, &pa, &pb, &pj), nq = rp_dedup_pairs(y, &qa, &qb, &qj);
	CHECK(np == nq && np > 0);
	for (size_t i = 0; i < np && i < nq; i++) CHECK(pa[i] == qa[i] && pb[i] == qb[i] && pj[i] == qj[i]);
}

/* A batch that fails part-way (a NUL byte in its 60th text, after the texts
 * before it were sketched and their shingles buffered for the spill file) is
 * dropped whole: adding the same documents again then gives exactly the
 * clusters, similarities and pairs of a run without the failure, in exact
 * mode, where every verification reads the spill file. */
static void test_failed_batch_leaves_no_trace(void)
{
	rp_params p;
	rp_params_default(&p);
	p.verify = RP_VERIFY_EXACT;
	char *bad = malloc(lens[60] + 1);
	memcpy(bad, docs[60], lens[60] + 1);
	bad[lens[60] / 2] = '\0';
	for (int threads = 1; threads <= 2; threads++) {
		rp_dedup *clean, *d;
		CHECK(run_dedup(threads, &p, &clean) == 0);
		rp_pool *pool = rp_pool_new(threads);
		rp_error e;
		CHECK(rp_dedup_new(&d, &p, pool, &e) == 0);
		for (size_t at = 0; at < NDOC; at += 100) {
			const char *texts[100];
			for (int i = 0; i < 100; i++) texts[i] = docs[at + (size_t)i];
			texts[60] = bad;
			CHECK(rp_dedup_add(d, 100, texts, lens + at, NULL, &e) == RP_EDATA);
			CHECK(rp_dedup_count(d) == at);
			CHECK(rp_dedup_add(d, 100, (const char *const *)docs + at, lens + at, NULL, &e) == 0);
		}
		CHECK(rp_dedup_finish(d, &e) == 0);
		check_same(clean, d, threads);
		rp_dedup_free(clean);
		rp_dedup_free(d);
		rp_pool_free(pool);
	}
	free(bad);
}

/* rp_dedup_set_fetch: the texts given back on demand instead of spilled.  The
 * results equal the spilling run's in auto and exact mode at 1 and 2 threads;
 * a text that is not the one added (another length, or other words of the
 * same length) and a fetch that fails each fail the finish, with the
 * document named or fetch's own message; set after an add is refused. */
typedef struct {
	int changed;  /* 1: doc 1's text comes back shorter, 2: other words, 3: fetch fails */
	int calls;
	char buf[2][64 * 1024];
} fetch_ctx;

static rp_status fetch_doc(void *v, int slot, uint64_t seq, const char **text, size_t *len, rp_error *err)
{
	fetch_ctx *c = v;
	__atomic_add_fetch(&c->calls, 1, __ATOMIC_RELAXED);
	*text = docs[seq];
	*len = lens[seq];
	if (!c->changed || seq > 30) return RP_OK;
	if (c->changed == 3) {
		snprintf(err->message, sizeof err->message, "cannot read text %llu", (unsigned long long)seq);
		err->code = RP_EIO;
		return RP_EIO;
	}
	if (c->changed == 1) {
		*len -= 1;
		return RP_OK;
	}
	if (lens[seq] >= sizeof c->buf[0]) return RP_OK;
	memcpy(c->buf[slot], docs[seq], lens[seq]);
	for (size_t i = 0; i < lens[seq]; i++) /* every letter shifted: same length and word count, other words */
		if (c->buf[slot][i] >= 'a' && c->buf[slot][i] < 'z') c->buf[slot][i]++;
	*text = c->buf[slot];
	return RP_OK;
}

static void test_fetch_instead_of_spill(void)
{
	const int modes[2] = {RP_VERIFY_AUTO, RP_VERIFY_EXACT};
	for (int m = 0; m < 2; m++)
		for (int threads = 1; threads <= 2; threads++) {
			rp_params p;
			rp_params_default(&p);
			p.verify = modes[m];
			p.threshold = 0.7;
			rp_dedup *spill, *d;
			CHECK(run_dedup(threads, &p, &spill) == 0);
			rp_pool *pool = rp_pool_new(threads);
			rp_error e;
			fetch_ctx *c = calloc(1, sizeof *c);
			CHECK(rp_dedup_new(&d, &p, pool, &e) == 0);
			CHECK(rp_dedup_set_fetch(d, fetch_doc, c, &e) == 0);
			CHECK(rp_dedup_add(d, 250, (const char *const *)docs, lens, NULL, &e) == 0);
			CHECK(rp_dedup_set_fetch(d, fetch_doc, c, &e) == RP_EUSAGE);
			CHECK(rp_dedup_add(d, NDOC - 250, (const char *const *)docs + 250, lens + 250, NULL, &e) == 0);
			CHECK(rp_dedup_finish(d, &e) == 0);
			CHECK(c->calls > 10);
			check_same(spill, d, threads);
			rp_dedup_free(d);
			for (c->changed = 1; c->changed <= 3; c->changed++) {
				c->calls = 0;
				CHECK(rp_dedup_new(&d, &p, pool, &e) == 0);
				CHECK(rp_dedup_set_fetch(d, fetch_doc, c, &e) == 0);
				CHECK(rp_dedup_add(d, NDOC, (const char *const *)docs, lens, NULL, &e) == 0);
				int rc = rp_dedup_finish(d, &e);
				CHECKF(rc == RP_EIO, "change %d: %d", c->changed, rc);
				if (c->changed < 3) CHECKF(strstr(e.message, "changed during the run") != NULL, "%s", e.message);
				else CHECKF(strstr(e.message, "cannot read text") != NULL, "%s", e.message);
				rp_dedup_free(d);
			}
			free(c);
			rp_dedup_free(spill);
			rp_pool_free(pool);
		}
}

static void test_short_empty_and_keep_longest(void)
{
	const char *t[] = {"", "  ...  ", "", "Hello world", "hello, WORLD!", "  ...  ",
	                   "a b c d e f g h", "A B C D E F G H and more words here to be longer", "bad"};
	size_t l[9];
	int bad[9] = {0, 0, 0, 0, 0, 0, 0, 0, 1};
	for (int i = 0; i < 9; i++) l[i] = strlen(t[i]);
	rp_params p;
	rp_params_default(&p);
	p.keep_longest = 1;
	rp_pool *pool = rp_pool_new(2);
	rp_dedup *d;
	rp_error e;
	CHECK(rp_dedup_new(&d, &p, pool, &e) == 0);
	CHECK(rp_dedup_add(d, 9, t, l, bad, &e) == 0);
	CHECK(rp_dedup_finish(d, &e) == 0);
	rp_dedup_result r[9];
	for (int i = 0; i < 9; i++) rp_dedup_get(d, (uint64_t)i, &r[i]);
	CHECK(r[0].cluster == 0 && !r[0].duplicate);
	CHECK(r[2].cluster == 0 && r[2].duplicate);       /* empty matches empty */
	CHECK(r[1].cluster == 1 && r[5].cluster == 1);    /* same token-less bytes */
	CHECK(r[1].cluster != r[0].cluster);              /* but not other empty text */
	CHECK(r[3].cluster == r[4].cluster);              /* short: compared on the words they have */
	CHECK(r[3].cluster == 4 && r[3].duplicate && !r[4].duplicate); /* the longer is kept */
	CHECK(r[6].cluster != r[7].cluster);
	CHECK(r[8].cluster == 8 && !r[8].duplicate);      /* a bad record never joins */
	rp_dedup_free(d);
	rp_pool_free(pool);
}

/* Band keys over several of their chunks (4,096 documents each): the corpus
 * copied 15 times (9,000 documents) in batches that straddle chunk
 * boundaries, some records marked bad on and around them.  A copy joins the
 * cluster of its original; a bad record joins nothing.  At threshold 0.5
 * (42 bands) the bands past the 32 whose keys are kept from sketching take
 * the other path. */
static void test_band_keys_across_chunks(void)
{
	enum { COPIES = 15, N = NDOC * COPIES };
	const char **t = malloc(N * sizeof *t);
	size_t *l = malloc(N * sizeof *l);
	int *bad = calloc(N, sizeof *bad);
	for (int i = 0; i < N; i++) t[i] = docs[i % NDOC], l[i] = lens[i % NDOC];
	const int bad_at[] = {4095, 4096, 4097, 6000, 8191, 8192, N - 1};
	for (size_t i = 0; i < sizeof bad_at / sizeof *bad_at; i++) bad[bad_at[i]] = 1;
	const size_t batch[] = {1000, 4097, 3000, 903};
	for (int pass = 0; pass < 4; pass++) {
		rp_params p;
		rp_params_default(&p);
		p.threshold = pass & 1 ? 0.5 : 0.8;
		int threads = pass < 2 ? 1 : 2;
		rp_dedup *one, *d;
		CHECK(run_dedup(threads, &p, &one) == 0);
		rp_pool *pool = rp_pool_new(threads);
		rp_error e;
		CHECK(rp_dedup_new(&d, &p, pool, &e) == 0);
		for (size_t b = 0, at = 0; b < 4; at += batch[b++])
			CHECK(rp_dedup_add(d, batch[b], t + at, l + at, bad + at, &e) == 0);
		CHECK(rp_dedup_count(d) == N);
		CHECK(rp_dedup_finish(d, &e) == 0);
		int wrong = 0;
		for (uint64_t s = 0; s < N; s++) {
			rp_dedup_result a, r;
			rp_dedup_get(one, s % NDOC, &a);
			rp_dedup_get(d, s, &r);
			if (bad[s]) wrong += r.cluster != s || r.duplicate;
			else wrong += r.cluster != a.cluster || r.duplicate != (s >= NDOC || a.duplicate);
		}
		CHECKF(wrong == 0, "%d of %d records, threshold %.1f, %d threads", wrong, N, p.threshold, threads);
		rp_dedup_free(one);
		rp_dedup_free(d);
		rp_pool_free(pool);
	}
	free(t);
	free(l);
	free(bad);
}

/* rp_pool_side: the next job, and only it, runs the side task once on the
 * calling thread, and every item still runs exactly once. */
typedef struct { int calls; pthread_t caller; int on_caller; } side_state;
static void side_task(void *v)
{
	side_state *s = v;
	s->calls++;
	s->on_caller = pthread_equal(pthread_self(), s->caller);
	for (volatile int i = 0; i < 200000; i++) {} /* the other threads start meanwhile */
}
static void count_item(void *v, size_t i, int wid)
{
	(void)wid;
	__atomic_fetch_add(&((int *)v)[i], 1, __ATOMIC_RELAXED);
}
static void test_pool_side(void)
{
	for (int threads = 1; threads <= 3; threads++) {
		rp_pool *pool = rp_pool_new(threads);
		CHECK(pool != NULL);
		int hits[1000] = {0};
		side_state s = {0, pthread_self(), 0};
		rp_pool_side(pool, side_task, &s);
		rp_pool_run(pool, 1000, count_item, hits);
		CHECK(s.calls == 1 && s.on_caller);
		int once = 1;
		for (int i = 0; i < 1000; i++) once &= hits[i] == 1;
		CHECK(once);
		rp_pool_run(pool, 1000, count_item, hits); /* the side went with the first job */
		CHECK(s.calls == 1);
		rp_pool_side(pool, side_task, &s);
		rp_pool_side(pool, NULL, NULL); /* cancelled */
		rp_pool_run(pool, 10, count_item, hits);
		CHECK(s.calls == 1);
		rp_pool_side(pool, side_task, &s); /* a job of one item runs it too */
		rp_pool_run(pool, 1, count_item, hits);
		CHECK(s.calls == 2);
		rp_pool_free(pool);
	}
}

int main(void)
{
	make_corpus();
	RUN(test_pool_side);
	RUN(test_brute_force_estimate);
	RUN(test_brute_force_auto);
	RUN(test_brute_force_exact);
	RUN(test_deterministic_across_threads);
	RUN(test_short_empty_and_keep_longest);
	RUN(test_failed_batch_leaves_no_trace);
	RUN(test_band_keys_across_chunks);
	RUN(test_fetch_instead_of_spill);
	for (int i = 0; i < NDOC; i++) free(docs[i]);
	TEST_END();
}
