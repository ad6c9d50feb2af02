/* tokenize_paths.c — the tokenizer alone on each path rp_tokenize_path
 * offers (general, SSE2, AVX2, AVX-512, AVX-512 VBMI blocks; a path the CPU lacks falls
 * back to the next narrower), checking that every path gives the general
 * path's tokens.  Texts are read into memory first, then tokenised 5 times
 * per path; prints the best and median.
 *   cc -O2 -std=c11 -D_GNU_SOURCE -Iinclude -Isrc bench/tokenize_paths.c build/libreprint.a \
 *      -lutf8proc -lxxhash -lisal -lzstd -lz -lpthread -lm -o build/tokenize_paths
 *   build/tokenize_paths FILE.jsonl[.gz]... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "reprint.h"
#include "internal.h" /* rp_tokenize_path */

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	static const char *names[] = {"", "general", "SSE2", "AVX2", "AVX-512", "VBMI"}; /* RP_TOK_* */
	for (int f = 1; f < argc; f++) {
		const char *in[] = {argv[f]};
		rp_reader_opts ro = {RP_FORMAT_JSONL, "text", "id", 0};
		rp_reader *r;
		rp_error e;
		if (rp_reader_new(&r, in, 1, &ro, &e)) return 1;
		size_t n = 0, cap = 1024, bytes = 0;
		char **text = malloc(cap * sizeof *text);
		size_t *len = malloc(cap * sizeof *len);
		rp_record rec;
		while (rp_reader_next(r, &rec, &e) > 0) {
			if (n == cap) cap *= 2, text = realloc(text, cap * sizeof *text), len = realloc(len, cap * sizeof *len);
			text[n] = malloc(rec.text_len + 1);
			memcpy(text[n], rec.text, rec.text_len);
			len[n++] = rec.text_len;
			bytes += rec.text_len;
		}
		rp_reader_free(r);
		rp_tokens tok[6] = {{0}};
		size_t mismatches = 0, ntok = 0;
		for (size_t i = 0; i < n; i++) { /* every path gives the general path's tokens */
			int rc[6];
			for (int p = RP_TOK_GENERAL; p <= RP_TOK_VBMI; p++) rc[p] = rp_tokenize_path(text[i], len[i], 0, 0, &tok[p], &e, p);
			ntok += tok[RP_TOK_GENERAL].n;
			for (int p = RP_TOK_SSE2; p <= RP_TOK_VBMI; p++) {
				int same = rc[p] == rc[RP_TOK_GENERAL] && tok[p].n == tok[RP_TOK_GENERAL].n;
				for (size_t k = 0; same && k < tok[p].n; k++)
					same = tok[p].hash[k] == tok[1].hash[k] && tok[p].start[k] == tok[1].start[k] && tok[p].end[k] == tok[1].end[k];
				mismatches += !same;
			}
		}
		printf("%s: %zu docs, %.1f MB of text, %zu tokens, %zu mismatches\n", argv[f], n, bytes / 1e6, ntok, mismatches);
		for (int p = RP_TOK_GENERAL; p <= RP_TOK_VBMI; p++) {
			double t[5];
			for (int rep = 0; rep < 5; rep++) {
				double a = now();
				for (size_t i = 0; i < n; i++) rp_tokenize_path(text[i], len[i], 0, 0, &tok[p], &e, p);
				t[rep] = now() - a;
			}
			qsort(t, 5, sizeof *t, cmp_double);
			printf("  %-8s best %.3f s %6.0f MB/s %5.2f ns/token; median %.3f s\n", names[p], t[0], bytes / 1e6 / t[0],
			       t[0] * 1e9 / (ntok ? ntok : 1), t[2]);
		}
		for (int p = 0; p < 6; p++) rp_tokens_free(&tok[p]);
		for (size_t i = 0; i < n; i++) free(text[i]);
		free(text);
		free(len);
		if (mismatches) return 3;
	}
	return 0;
}
