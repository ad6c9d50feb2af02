/* index_query.c — latency of `reprint query` against a persistent index, one
 * document at a time on one thread, in one process:
 *
 *   index_query DIR QUERIES.jsonl [MAX] [MIN_BYTES MAX_BYTES]
 *
 * opens the index once (timed separately: it verifies every segment), then
 * times rp_index_query on each document of QUERIES whose text length is in
 * [MIN_BYTES, MAX_BYTES] (default 3500..4500: "a 4 KB document"), up to MAX
 * (default 2000), and prints one JSON line: open seconds, queries, p50, p90,
 * p99 and max milliseconds, matches per query, peak RSS in MB.
 * Build: cc -O2 -Iinclude bench/index_query.c build/libreprint.a -lutf8proc -lxxhash -lisal -lzstd -lz -lpthread -lm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include "reprint.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: index_query DIR QUERIES.jsonl [MAX] [MIN_BYTES MAX_BYTES]\n");
		return 2;
	}
	size_t max = argc > 3 ? strtoul(argv[3], NULL, 10) : 2000;
	size_t lo = argc > 5 ? strtoul(argv[4], NULL, 10) : 3500, hi = argc > 5 ? strtoul(argv[5], NULL, 10) : 4500;
	rp_error err;
	char buf[1200];
	double t0 = now();
	rp_index *ix;
	if (rp_index_open(&ix, argv[1], RP_INDEX_READ, &err)) {
		fprintf(stderr, "%s\n", rp_error_format(&err, buf, sizeof buf));
		return 1;
	}
	double open_s = now() - t0;
	const char *in[] = {argv[2]};
	rp_reader_opts ro = {RP_FORMAT_JSONL, "text", "id", 64u << 20};
	rp_reader *r;
	if (rp_reader_new(&r, in, 1, &ro, &err)) {
		fprintf(stderr, "%s\n", rp_error_format(&err, buf, sizeof buf));
		return 1;
	}
	double *lat = malloc(max * sizeof *lat), *cpu = malloc(max * sizeof *cpu);
	size_t n = 0, matches = 0, self = 0;
	rp_record rec;
	rp_index_query_opts o;
	rp_index_query_opts_default(&o);
	while (n < max && rp_reader_next(r, &rec, &err) > 0) {
		if (rec.bad || rec.text_len < lo || rec.text_len > hi) continue;
		rp_index_doc d = {rec.text, rec.text_len, rec.id, rec.id_len, 0, 0, 0};
		rp_index_result res;
		double a = now(), c = cpu_now();
		if (rp_index_query(ix, NULL, 1, &d, &o, &res, &err)) {
			fprintf(stderr, "%s\n", rp_error_format(&err, buf, sizeof buf));
			return 1;
		}
		cpu[n] = (cpu_now() - c) * 1e3;
		lat[n++] = (now() - a) * 1e3;
		matches += res.n;
		for (size_t k = 0; k < res.n; k++)
			if (res.matches[k].id_len == rec.id_len && !memcmp(res.matches[k].id, rec.id, rec.id_len)) self++;
		rp_index_results_free(&res, 1);
	}
	if (!n) {
		fprintf(stderr, "no query document of %zu..%zu bytes\n", lo, hi);
		return 1;
	}
	double total = 0;
	for (size_t i = 0; i < n; i++) total += lat[i];
	qsort(lat, n, sizeof *lat, cmp_double);
	qsort(cpu, n, sizeof *cpu, cmp_double);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"open_s\": %.3f, \"queries\": %zu, \"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f, "
	       "\"mean_ms\": %.3f, \"cpu_p50_ms\": %.3f, \"cpu_p99_ms\": %.3f, \"matches_per_query\": %.2f, \"found_self\": %zu, \"peak_rss_mb\": %.1f}\n",
	       open_s, n, lat[n / 2], lat[n * 9 / 10], lat[n * 99 / 100], lat[n - 1], total / n, cpu[n / 2], cpu[n * 99 / 100], (double)matches / n, self,
	       ru.ru_maxrss / 1024.0);
	free(lat);
	free(cpu);
	rp_reader_free(r);
	rp_index_close(ix);
	return 0;
}
