/* compare_time.c — time rp_compare in-process on two texts.
 *
 *   compare_time A B [ITERATIONS [MIN_WORDS]]
 *
 * Reads two files, calls rp_compare ITERATIONS times (default 1000, after 10
 * warm-up calls) and prints one JSON object: the time per call (min, median,
 * mean, p90 in ms), and for the median the share of tokenising both texts and
 * of aligning the two token streams (rp_tokenize and rp_align timed alone the
 * same way).  Build:
 *   cc -O2 -Iinclude bench/compare_time.c build/libreprint.a \
 *      -lutf8proc -lxxhash -lisal -lzstd -lz -lpthread -lm */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "reprint.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) { perror(path); exit(1); }
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = malloc((size_t)n + 1);
	if (!s || fread(s, 1, (size_t)n, f) != (size_t)n) { perror(path); exit(1); }
	fclose(f);
	s[n] = 0;
	*len = (size_t)n;
	return s;
}

static int cmp_d(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a > b) - (a < b);
}

typedef struct { double min, med, mean, p90; } summary;

static summary summarize(double *t, int n)
{
	summary s = {0};
	double sum = 0;
	for (int i = 0; i < n; i++) sum += t[i];
	qsort(t, (size_t)n, sizeof *t, cmp_d);
	s.min = t[0];
	s.med = t[n / 2];
	s.p90 = t[(int)(n * 0.9)];
	s.mean = sum / n;
	return s;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s A B [ITERATIONS [MIN_WORDS]]\n", argv[0]);
		return 2;
	}
	int iters = argc > 3 ? atoi(argv[3]) : 1000;
	int min_words = argc > 4 ? atoi(argv[4]) : 8;
	if (iters < 1) iters = 1;
	size_t alen, blen;
	char *a = slurp(argv[1], &alen), *b = slurp(argv[2], &blen);
	rp_params p;
	rp_params_default(&p);
	rp_error err;
	if (rp_params_resolve(&p, &err)) { fprintf(stderr, "params: %s\n", err.message); return 1; }
	double *t = malloc((size_t)iters * sizeof *t);
	rp_comparison c;
	/* warm-up */
	for (int i = 0; i < 10; i++) {
		if (rp_compare(a, alen, b, blen, &p, min_words, &c, &err)) { fprintf(stderr, "compare: %s\n", err.message); return 1; }
		rp_comparison_free(&c);
	}
	size_t npass = 0, pwords = 0, aw = 0, bw = 0;
	double jac = 0;
	for (int i = 0; i < iters; i++) {
		double t0 = now_ms();
		rp_compare(a, alen, b, blen, &p, min_words, &c, &err);
		t[i] = now_ms() - t0;
		if (i == 0) {
			npass = c.npassages;
			for (size_t k = 0; k < c.npassages; k++) pwords += c.passages[k].tokens;
			aw = c.a_words, bw = c.b_words, jac = c.jaccard;
		}
		rp_comparison_free(&c);
	}
	summary sc = summarize(t, iters);
	/* tokenising both texts alone */
	rp_tokens ta = {0}, tb = {0};
	for (int i = 0; i < iters; i++) {
		double t0 = now_ms();
		rp_tokenize(a, alen, p.char_shingles, p.seed, &ta, &err);
		rp_tokenize(b, blen, p.char_shingles, p.seed, &tb, &err);
		t[i] = now_ms() - t0;
	}
	summary st = summarize(t, iters);
	/* aligning the two token streams alone (the options rp_compare uses) */
	rp_align_opts ao = {p.ngram < 8 ? p.ngram : 8, 8, min_words};
	for (int i = 0; i < iters; i++) {
		rp_passage *ps;
		size_t n;
		double t0 = now_ms();
		rp_align(ta.hash, ta.n, tb.hash, tb.n, &ao, &ps, &n, &err);
		t[i] = now_ms() - t0;
		rp_free_passages(ps);
	}
	summary sa = summarize(t, iters);
	printf("{\"a_bytes\": %zu, \"b_bytes\": %zu, \"a_words\": %zu, \"b_words\": %zu, \"jaccard\": %.4f, "
	       "\"passages\": %zu, \"passage_words\": %zu, \"iterations\": %d, \"min_words\": %d, "
	       "\"compare_ms\": {\"min\": %.4f, \"median\": %.4f, \"mean\": %.4f, \"p90\": %.4f}, "
	       "\"tokenize_both_ms\": {\"min\": %.4f, \"median\": %.4f}, \"align_ms\": {\"min\": %.4f, \"median\": %.4f}}\n",
	       alen, blen, aw, bw, jac, npass, pwords, iters, min_words, sc.min, sc.med, sc.mean, sc.p90, st.min, st.med,
	       sa.min, sa.med);
	rp_tokens_free(&ta);
	rp_tokens_free(&tb);
	free(t);
	free(a);
	free(b);
	return 0;
}
