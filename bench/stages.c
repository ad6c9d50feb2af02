/* stages.c — time each stage of the dedup pipeline on one thread:
 * reading, tokenising, shingling, sketching.  Usage: stages FILE.jsonl[.gz] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "reprint.h"
#include "internal.h" /* rp_sketch_tokens, the path dedup takes */

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	if (argc < 2) return 2;
	const char *in[] = {argv[1]};
	rp_reader_opts ro = {RP_FORMAT_JSONL, "text", "id", 0};
	rp_reader *r;
	rp_error e;
	if (rp_reader_new(&r, in, 1, &ro, &e)) return 1;
	/* Read everything into memory first. */
	size_t n = 0, cap = 1 << 16, bytes = 0, raw = 0;
	char **text = malloc(cap * sizeof *text);
	size_t *len = malloc(cap * sizeof *len);
	rp_record rec;
	double t0 = now();
	while (rp_reader_next(r, &rec, &e) > 0) {
		if (n == cap) cap *= 2, text = realloc(text, cap * sizeof *text), len = realloc(len, cap * sizeof *len);
		text[n] = malloc(rec.text_len + 1);
		memcpy(text[n], rec.text, rec.text_len);
		len[n++] = rec.text_len;
		bytes += rec.text_len;
		raw += rec.raw_len + 1;
	}
	double t_read = now() - t0;
	rp_reader_free(r);
	rp_tokens tok = {0};
	size_t ntok = 0, nsh = 0;
	uint64_t *sh = malloc(8 << 20), sink = 0;
	uint32_t sig[128];
	uint32_t *low = malloc(4 << 20), sig2[128];
	double t_tok = 0, t_sh = 0, t_sk = 0, t_fu = 0;
	static rp_probes probes;
	rp_probes_init(&probes, 128, 0);
	for (size_t i = 0; i < n; i++) {
		double a = now();
		rp_tokenize(text[i], len[i], 0, 0, &tok, &e);
		double b = now();
		size_t m = rp_shingles(tok.hash, tok.n, 5, sh);
		double c = now();
		rp_sketch(sh, m, 128, 0, sig);
		double d = now();
		rp_sketch_tokens(tok.hash, tok.n, 5, 128, 0, sig2, low, &probes);
		double f = now();
		if (memcmp(sig, sig2, sizeof sig)) return 3;
		t_tok += b - a, t_sh += c - b, t_sk += d - c, t_fu += f - d;
		ntok += tok.n, nsh += m, sink += sig[0];
	}
	printf("%zu docs, %.1f MB JSONL, %.1f MB text, %zu tokens, %zu shingles\n", n, raw / 1e6, bytes / 1e6, ntok, nsh);
	printf("read+copy   %.3f s  %7.0f MB/s of JSONL\n", t_read, raw / 1e6 / t_read);
	printf("tokenize    %.3f s  %7.0f MB/s of text  %5.1f ns/token\n", t_tok, bytes / 1e6 / t_tok, t_tok * 1e9 / ntok);
	printf("shingles    %.3f s  %7.1f ns/shingle\n", t_sh, t_sh * 1e9 / nsh);
	printf("sketch      %.3f s  %7.1f ns/shingle  %.0f ns/doc\n", t_sk, t_sk * 1e9 / nsh, t_sk * 1e9 / n);
	printf("fused       %.3f s  %7.1f ns/shingle  (shingles + sketch + 32-bit spill copy, one pass)\n", t_fu,
	       t_fu * 1e9 / nsh);
	printf("total       %.3f s  %7.0f MB/s of JSONL (sketch path, one thread)%s\n", t_read + t_tok + t_sh + t_sk,
	       raw / 1e6 / (t_read + t_tok + t_sh + t_sk), sink == 42 ? "" : "");
	return 0;
}
