/* dedup.c — `reprint dedup`: near-duplicate clusters of a corpus.
 *
 * Batches of records (input.c) are sketched on the pool by rp_dedup_add;
 * after rp_dedup_finish the output is written in input order, every file
 * under a temporary name renamed into place only on success. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "input.h"

static void help(void)
{
	puts("Usage: reprint dedup [OPTION]... [INPUT]...\n"
	     "Cluster near-duplicate documents.  INPUT is a file (JSON Lines by default;\n"
	     "gzip and zstd detected), a directory (every file under it is one document)\n"
	     "or - for standard input (the default).  One JSON line per input record is\n"
	     "written, in input order: {\"id\", \"cluster\", \"duplicate\", \"similarity\"}.\n\n"
	     "Similarity:\n"
	     "  -t, --threshold T      Jaccard threshold for duplicates (default 0.8)\n"
	     "  -n, --ngram N          shingle length in words (default 5)\n"
	     "      --shingle KIND     word (default), word:N, or char:N (characters, for OCR\n"
	     "                         text and languages without spaces)\n"
	     "  -k, --num-perm K       sketch size (default 128, at most 1024)\n"
	     "      --bands B          LSH bands (default: chosen for recall >= 0.98 at T;\n"
	     "      --rows R           see 'reprint params')\n"
	     "      --verify MODE      auto (default): the Jaccard estimated from the whole\n"
	     "                         sketch decides unless it is within 3 standard errors\n"
	     "                         of the threshold, then the exact Jaccard decides;\n"
	     "                         estimate: the estimate alone; exact: always exact.\n"
	     "                         auto and exact spill shingles to $TMPDIR (8 bytes each)\n"
	     "      --keep WHICH       first (default) or longest: the representative kept\n"
	     "      --seed N           hash seed (default 0)\n\n"
	     "Input:\n"
	     "  -f, --format FMT       auto (default: JSON Lines for files, one document per\n"
	     "                         file under directories), jsonl, lines, or file\n"
	     "      --text-field F     JSON field with the text, dotted path (default text)\n"
	     "      --id-field F       JSON field with the id, dotted path (default id)\n"
	     "      --max-record N     longest record in bytes (default 67108864)\n"
	     "      --on-error MODE    fail (default: stop at the first bad record, exit 1,\n"
	     "                         write nothing) or skip (report it in the output with\n"
	     "                         its reason and count it as errored)\n\n"
	     "Output:\n"
	     "  -o, --output FILE      write the results to FILE (default: standard output)\n"
	     "      --pairs FILE       every verified pair: {\"a\", \"b\", \"jaccard\"}\n"
	     "      --kept FILE        the original records of the kept documents\n"
	     "      --removed FILE     the original records of the duplicates\n"
	     "      --stats FILE       the summary as JSON\n"
	     "  -j, --threads N        threads (default: all cores)\n"
	     "  -q, --quiet            no summary or progress on stderr\n"
	     "  -v, --verbose          also print the parameters chosen\n"
	     "  -h, --help             this help");
}

typedef struct {
	rp_params p;
	rp_reader_opts ro;
	int threads, skip_errors, quiet, verbose;
	const char *output, *pairs, *kept, *removed, *stats;
} dedup_opts;

static int parse_shingle(const char *s, rp_params *p)
{
	const char *colon = strchr(s, ':');
	size_t kind = colon ? (size_t)(colon - s) : strlen(s);
	if (kind == 4 && !strncmp(s, "word", 4)) p->char_shingles = 0;
	else if (kind == 4 && !strncmp(s, "char", 4)) p->char_shingles = 1;
	else return cli_usage("dedup ", "--shingle: expected word, word:N or char:N, got '%s'", s), -1;
	if (colon) return parse_int("dedup ", "--shingle", colon + 1, 1, 64, &p->ngram);
	return 0;
}

static int parse_args(int argc, char **argv, dedup_opts *o, int *first_input)
{
	static const struct option opts[] = {
		{"threshold", required_argument, 0, 't'}, {"ngram", required_argument, 0, 'n'},
		{"shingle", required_argument, 0, 'S'},   {"num-perm", required_argument, 0, 'k'},
		{"bands", required_argument, 0, 'B'},     {"rows", required_argument, 0, 'R'},
		{"verify", required_argument, 0, 'E'},    {"keep", required_argument, 0, 'K'},
		{"seed", required_argument, 0, 's'},      {"format", required_argument, 0, 'f'},
		{"text-field", required_argument, 0, 'T'}, {"id-field", required_argument, 0, 'I'},
		{"max-record", required_argument, 0, 'M'}, {"on-error", required_argument, 0, 'e'},
		{"output", required_argument, 0, 'o'},    {"pairs", required_argument, 0, 'P'},
		{"kept", required_argument, 0, 'A'},      {"removed", required_argument, 0, 'D'},
		{"stats", required_argument, 0, 'X'},     {"threads", required_argument, 0, 'j'},
		{"quiet", no_argument, 0, 'q'},           {"verbose", no_argument, 0, 'v'},
		{"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
	rp_params_default(&o->p);
	o->ro = (rp_reader_opts){RP_FORMAT_AUTO, "text", "id", 64u << 20};
	int c, mr;
	optind = 1;
	while ((c = getopt_long(argc, argv, "t:n:k:f:o:j:qvh", opts, NULL)) != -1) {
		switch (c) {
		case 't': if (parse_double("dedup ", "--threshold", optarg, 0, 1, &o->p.threshold)) return -1; break;
		case 'n': if (parse_int("dedup ", "--ngram", optarg, 1, 64, &o->p.ngram)) return -1; break;
		case 'S': if (parse_shingle(optarg, &o->p)) return -1; break;
		case 'k': if (parse_int("dedup ", "--num-perm", optarg, 1, RP_MAX_PERM, &o->p.num_perm)) return -1; break;
		case 'B': if (parse_int("dedup ", "--bands", optarg, 1, RP_MAX_PERM, &o->p.bands)) return -1; break;
		case 'R': if (parse_int("dedup ", "--rows", optarg, 1, RP_MAX_PERM, &o->p.rows)) return -1; break;
		case 'E':
			if (!strcmp(optarg, "exact")) o->p.verify = RP_VERIFY_EXACT;
			else if (!strcmp(optarg, "estimate")) o->p.verify = RP_VERIFY_ESTIMATE;
			else if (!strcmp(optarg, "auto")) o->p.verify = RP_VERIFY_AUTO;
			else return cli_usage("dedup ", "--verify: expected auto, estimate or exact, got '%s'", optarg), -1;
			break;
		case 'K':
			if (!strcmp(optarg, "longest")) o->p.keep_longest = 1;
			else if (!strcmp(optarg, "first")) o->p.keep_longest = 0;
			else return cli_usage("dedup ", "--keep: expected first or longest, got '%s'", optarg), -1;
			break;
		case 's': {
			char *end;
			errno = 0;
			o->p.seed = strtoull(optarg, &end, 0);
			if (errno || *end || end == optarg) return cli_usage("dedup ", "--seed: expected an integer, got '%s'", optarg), -1;
			break;
		}
		case 'f':
			if (!strcmp(optarg, "auto")) o->ro.format = RP_FORMAT_AUTO;
			else if (!strcmp(optarg, "jsonl")) o->ro.format = RP_FORMAT_JSONL;
			else if (!strcmp(optarg, "lines")) o->ro.format = RP_FORMAT_LINES;
			else if (!strcmp(optarg, "file")) o->ro.format = RP_FORMAT_FILE;
			else return cli_usage("dedup ", "--format: expected auto, jsonl, lines or file, got '%s'", optarg), -1;
			break;
		case 'T': o->ro.text_field = optarg; break;
		case 'I': o->ro.id_field = optarg; break;
		case 'M':
			if (parse_int("dedup ", "--max-record", optarg, 1, 2147483647, &mr)) return -1;
			o->ro.max_record = (size_t)mr;
			break;
		case 'e':
			if (!strcmp(optarg, "skip")) o->skip_errors = 1;
			else if (!strcmp(optarg, "fail")) o->skip_errors = 0;
			else return cli_usage("dedup ", "--on-error: expected fail or skip, got '%s'", optarg), -1;
			break;
		case 'o': o->output = optarg; break;
		case 'P': o->pairs = optarg; break;
		case 'A': o->kept = optarg; break;
		case 'D': o->removed = optarg; break;
		case 'X': o->stats = optarg; break;
		case 'j': if (parse_int("dedup ", "--threads", optarg, 1, 256, &o->threads)) return -1; break;
		case 'q': o->quiet = 1; break;
		case 'v': o->verbose = 1; break;
		case 'h': help(); exit(EXIT_OK);
		default: return cli_usage("dedup ", "bad option"), -1;
		}
	}
	rp_error err;
	if (rp_params_resolve(&o->p, &err)) return cli_usage("dedup ", "%s", err.message), -1;
	*first_input = optind;
	return 0;
}

/* Copy the original records to the kept and removed files, in input order. */
static int write_originals(const record_meta *m, rp_dedup *d, FILE *kept, FILE *removed)
{
	char *buf = NULL;
	size_t cap = 0;
	int rc = 0;
	if (fflush(m->spool) || fseek(m->spool, 0, SEEK_SET)) {
		cli_error("spool file: %s", strerror(errno));
		return -1;
	}
	size_t nb = 0;
	for (uint64_t s = 0; s < m->n; s++) {
		uint64_t a = s ? m->raw_end[s - 1] : 0, len = m->raw_end[s] - a;
		buf = xgrow(buf, &cap, len + 1, 1);
		if (len && fread(buf, 1, len, m->spool) != len) {
			cli_error("spool file: read failed");
			rc = -1;
			break;
		}
		int bad = nb < m->nbad && m->bad[nb].seq == s;
		if (bad) { nb++; continue; } /* errored records are in neither */
		rp_dedup_result r;
		rp_dedup_get(d, s, &r);
		FILE *f = r.duplicate ? removed : kept;
		if (!f) continue;
		fwrite(buf, 1, len, f);
		putc('\n', f);
	}
	free(buf);
	return rc;
}

static const char *const verify_names[] = {"auto", "estimate", "exact"};

static int add_batch(void *ctx, batch *b, rp_error *err)
{
	return rp_dedup_add(ctx, b->n, b->ptr, b->len, b->bad, err);
}

int cmd_dedup(int argc, char **argv)
{
	dedup_opts o = {0};
	int first;
	if (parse_args(argc, argv, &o, &first)) return EXIT_USAGE;
	const char *stdin_only[] = {"-"};
	const char *const *inputs = first < argc ? (const char *const *)argv + first : stdin_only;
	size_t ninputs = first < argc ? (size_t)(argc - first) : 1;
	double t0 = now_seconds();
	int status = EXIT_DATA;
	rp_error err = {0};
	rp_pool *pool = rp_pool_new(o.threads);
	rp_dedup *d = NULL;
	rp_reader *reader = NULL;
	record_meta meta = {0};
	out_file out = {0}, pairs = {0}, kept = {0}, removed = {0}, stats = {0};
	if (!pool) { cli_error("cannot start threads"); goto done; }
	if (rp_dedup_new(&d, &o.p, pool, &err)) { cli_rp_error(&err); goto done; }
	if (o.verbose && !o.quiet)
		cli_error("threshold %g, %s %d-grams, num-perm %d, bands %d x rows %d, verify %s, %d threads",
		          o.p.threshold, o.p.char_shingles ? "char" : "word", o.p.ngram, o.p.num_perm,
		          o.p.bands, o.p.rows, verify_names[o.p.verify], rp_pool_size(pool));
	if (rp_reader_new(&reader, inputs, ninputs, &o.ro, &err)) { cli_rp_error(&err); goto done; }
	if (o.kept || o.removed) {
		meta.spool = tmpfile();
		if (!meta.spool) { cli_error("cannot create a temporary file: %s", strerror(errno)); goto done; }
	}
	/* Open every output first: a bad path fails before the work. */
	if (out_open(&out, o.output ? o.output : "-")) goto done;
	if (o.pairs && out_open(&pairs, o.pairs)) goto done;
	if (o.kept && out_open(&kept, o.kept)) goto done;
	if (o.removed && out_open(&removed, o.removed)) goto done;
	if (o.stats && out_open(&stats, o.stats)) goto done;

	if (read_batches(reader, o.skip_errors, &meta, o.quiet, add_batch, d)) goto done;
	if (rp_dedup_finish(d, &err)) { cli_rp_error(&err); goto done; }

	/* Results, in input order. */
	size_t nb = 0, kept_n = 0, removed_n = 0, clusters = 0;
	for (uint64_t s = 0; s < meta.n; s++) {
		FILE *f = out.f;
		fputs("{\"id\": ", f);
		write_id(f, &meta, s);
		if (nb < meta.nbad && meta.bad[nb].seq == s) {
			bad_record *br = &meta.bad[nb++];
			fputs(", \"error\": ", f);
			json_string(f, br->message, strlen(br->message));
			fputs(", \"file\": ", f);
			json_string(f, br->file, strlen(br->file));
			fprintf(f, ", \"line\": %llu, \"byte\": %llu}\n", (unsigned long long)br->line,
			        (unsigned long long)br->byte);
			continue;
		}
		rp_dedup_result r;
		rp_dedup_get(d, s, &r);
		fputs(", \"cluster\": ", f);
		write_id(f, &meta, r.cluster);
		fprintf(f, ", \"duplicate\": %s, \"similarity\": %.6g}\n", r.duplicate ? "true" : "false", r.similarity);
		if (r.duplicate) {
			removed_n++;
			/* Count a cluster once, at its first duplicate's representative. */
		} else {
			kept_n++;
		}
	}
	/* Clusters with at least one duplicate. */
	{
		const uint64_t *pa, *pb;
		const double *pj;
		size_t np = rp_dedup_pairs(d, &pa, &pb, &pj);
		if (pairs.f)
			for (size_t i = 0; i < np; i++) {
				fputs("{\"a\": ", pairs.f);
				write_id(pairs.f, &meta, pa[i]);
				fputs(", \"b\": ", pairs.f);
				write_id(pairs.f, &meta, pb[i]);
				fprintf(pairs.f, ", \"jaccard\": %.6g}\n", pj[i]);
			}
		clusters = kept_n; /* replaced below by clusters of size >= 2 */
		size_t multi = 0;
		uint8_t *mark = calloc(meta.n ? meta.n : 1, 1);
		if (!mark) { cli_error("out of memory"); goto done; }
		for (uint64_t s = 0; s < meta.n; s++) {
			rp_dedup_result r;
			rp_dedup_get(d, s, &r);
			if (r.duplicate && !mark[r.cluster]) mark[r.cluster] = 1, multi++;
		}
		free(mark);
		clusters = multi;
	}
	if ((kept.f || removed.f) && write_originals(&meta, d, kept.f, removed.f)) goto done;
	double secs = now_seconds() - t0;
	if (stats.f)
		fprintf(stats.f,
		        "{\"read\": %zu, \"kept\": %zu, \"removed\": %zu, \"errored\": %zu, \"clusters\": %zu, "
		        "\"bytes\": %llu, \"seconds\": %.3f, \"mb_per_s\": %.2f, \"peak_rss_mb\": %.1f, "
		        "\"threads\": %d, \"threshold\": %g, \"ngram\": %d, \"shingle\": \"%s\", \"num_perm\": %d, "
		        "\"bands\": %d, \"rows\": %d, \"verify\": \"%s\", \"norm_version\": %d, \"version\": \"%s\"}\n",
		        meta.n, kept_n, removed_n, meta.nbad, clusters, (unsigned long long)meta.bytes, secs,
		        secs > 0 ? meta.bytes / 1e6 / secs : 0.0, peak_rss_mb(), rp_pool_size(pool), o.p.threshold,
		        o.p.ngram, o.p.char_shingles ? "char" : "word", o.p.num_perm, o.p.bands, o.p.rows,
		        verify_names[o.p.verify], RP_NORM_VERSION, RP_VERSION);
	if (out_commit(&out) || out_commit(&pairs) || out_commit(&kept) || out_commit(&removed) || out_commit(&stats))
		goto done;
	if (!o.quiet)
		cli_error("read %zu, kept %zu, removed %zu, errored %zu, clusters %zu; %.2f s, %.1f MB/s, peak %.0f MB",
		          meta.n, kept_n, removed_n, meta.nbad, clusters, secs, secs > 0 ? meta.bytes / 1e6 / secs : 0.0,
		          peak_rss_mb());
	status = EXIT_OK;
done:
	if (status != EXIT_OK) {
		out_abort(&out); out_abort(&pairs); out_abort(&kept); out_abort(&removed); out_abort(&stats);
	}
	meta_free(&meta);
	rp_reader_free(reader);
	rp_dedup_free(d);
	rp_pool_free(pool);
	return status;
}
