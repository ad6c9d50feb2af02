/* index.c — `reprint index create|add|remove|compact|info` and `reprint
 * query`: the persistent index (src/index.c, docs/FORMAT.md).
 *
 * Records are read by read_id_batches (cli/input.c): each batch carries its
 * records' ids and errors, so that an add or a query stays within bounded
 * memory however long the input is. */
#include <errno.h>
#include <getopt.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "input.h"
#include "index.h"

/* The rp_index_docs of a batch read by read_id_batches; NULL when out of
 * memory. */
static rp_index_doc *batch_docs(const batch *b, rp_index_doc **docs, size_t *cap)
{
	if (b->n > *cap) {
		rp_index_doc *d = realloc(*docs, b->n * sizeof *d);
		if (!d) return NULL;
		*docs = d;
		*cap = b->n;
	}
	for (size_t i = 0; i < b->n; i++)
		(*docs)[i] = (rp_index_doc){b->ptr[i], b->len[i], b->ids + b->ioff[i], b->ilen[i], !!(b->idf[i] & RP_ID_NUMBER),
		                            b->bad[i] != 0, !!(b->idf[i] & RP_ID_DEFAULT)};
	return *docs;
}

/* Why an add skipped documents, for its summary line. */
static const char *skip_reason(const rp_index_add_stats *st, char *buf, size_t size)
{
	if (!st->repeated) return "id already in the index";
	if (st->repeated == st->skipped) return "id repeated in this input";
	unsigned long long in = (unsigned long long)(st->skipped - st->repeated), rep = (unsigned long long)st->repeated;
	snprintf(buf, size, "%llu id%s already in the index, %llu id%s repeated in this input", in, in == 1 ? "" : "s", rep,
	         rep == 1 ? "" : "s");
	return buf;
}

/* Records without an id get PATH:LINE: an add of a file of the same name
 * (today.jsonl, standard input) finds yesterday's and skips them.  Said even
 * with -q: documents were silently left out. */
static void warn_default_ids(const char *dir, const rp_index_add_stats *st)
{
	if (!st->skipped_default) return;
	unsigned long long n = (unsigned long long)st->skipped_default;
	cli_error("warning: %llu record%s no id field; %s default id%s PATH:LINE %s already in the index %s, so "
	          "%s skipped; give every record an id (--id-field)",
	          n, n == 1 ? " has" : "s have", n == 1 ? "its" : "their", n == 1 ? "" : "s", n == 1 ? "was" : "were", dir,
	          n == 1 ? "it was" : "they were");
}

static int out_of_memory(rp_error *err)
{
	memset(err, 0, sizeof *err);
	snprintf(err->message, sizeof err->message, "out of memory");
	err->code = RP_ENOMEM;
	return -1;
}

/* ---- shared option handling ---- */

/* REPRINT_CRASH_AT=N (tests): stop the process with status 137 at the
 * writer's Nth durable step (write, fsync, rename, unlink), as kill -9
 * would.  REPRINT_CRASH_AT=0 prints the number of steps on exit. */
static long crash_at = -1;
static _Atomic long crash_steps;
static void crash_hook(void *ctx, const char *step)
{
	(void)ctx;
	(void)step;
	if (atomic_fetch_add(&crash_steps, 1) + 1 == crash_at) _exit(137);
}
static void crash_setup(rp_index *ix)
{
	const char *s = getenv("REPRINT_CRASH_AT");
	if (!s || !*s) return;
	crash_at = strtol(s, NULL, 10);
	rp_index_set_step_hook(ix, crash_hook, NULL);
}
static void crash_report(void)
{
	if (crash_at == 0) fprintf(stderr, "reprint: %ld writer steps\n", (long)atomic_load(&crash_steps));
}

/* Open DIR; the error is printed.  Returns the exit status on failure. */
static int open_index(rp_index **ix, const char *dir, int mode)
{
	rp_error err = {0};
	int rc = rp_index_open(ix, dir, mode, &err);
	if (!rc) return 0;
	cli_rp_error(&err);
	return EXIT_DATA;
}

typedef struct {
	rp_reader_opts ro;
	int skip_errors, threads, quiet;
} input_opts;

enum { OPT_FORMAT = 1000, OPT_TEXT_FIELD, OPT_ID_FIELD, OPT_MAX_RECORD, OPT_ON_ERROR };

/* Input options shared by add and query; 1 handled, 0 not ours, -1 error. */
static int input_option(const char *cmd, int c, input_opts *o)
{
	int mr;
	switch (c) {
	case 'f':
		if (!strcmp(optarg, "auto")) o->ro.format = RP_FORMAT_AUTO;
		else if (!strcmp(optarg, "jsonl")) o->ro.format = RP_FORMAT_JSONL;
		else if (!strcmp(optarg, "lines")) o->ro.format = RP_FORMAT_LINES;
		else if (!strcmp(optarg, "file")) o->ro.format = RP_FORMAT_FILE;
		else return cli_usage(cmd, "--format: expected auto, jsonl, lines or file, got '%s'", optarg), -1;
		return 1;
	case OPT_TEXT_FIELD: o->ro.text_field = optarg; return 1;
	case OPT_ID_FIELD: o->ro.id_field = optarg; return 1;
	case OPT_MAX_RECORD:
		if (parse_int(cmd, "--max-record", optarg, 1, 2147483647, &mr)) return -1;
		o->ro.max_record = (size_t)mr;
		return 1;
	case OPT_ON_ERROR:
		if (!strcmp(optarg, "skip")) o->skip_errors = 1;
		else if (!strcmp(optarg, "fail")) o->skip_errors = 0;
		else return cli_usage(cmd, "--on-error: expected fail or skip, got '%s'", optarg), -1;
		return 1;
	case 'j': return parse_int(cmd, "--threads", optarg, 1, 256, &o->threads) ? -1 : 1;
	case 'q': o->quiet = 1; return 1;
	}
	return 0;
}

#define INPUT_LONG_OPTS                                                                                    \
	{"format", required_argument, 0, 'f'}, {"text-field", required_argument, 0, OPT_TEXT_FIELD},      \
	{"id-field", required_argument, 0, OPT_ID_FIELD}, {"max-record", required_argument, 0, OPT_MAX_RECORD}, \
	{"on-error", required_argument, 0, OPT_ON_ERROR}, {"threads", required_argument, 0, 'j'},        \
	{"quiet", no_argument, 0, 'q'}

#define INPUT_HELP                                                                                         \
	"  -f, --format FMT       auto (default: JSON Lines for files, one document per\n"                   \
	"                         file under directories), jsonl, lines, or file\n"                          \
	"      --text-field F     JSON field with the text, dotted path (default text)\n"                    \
	"      --id-field F       JSON field with the id, dotted path (default id)\n"                        \
	"      --max-record N     longest record in bytes (default 67108864)\n"                              \
	"      --on-error MODE    fail (default: stop at the first bad record, exit 1) or\n"                 \
	"                         skip\n"                                                                     \
	"  -j, --threads N        threads (default: all usable cores)\n"                                     \
	"  -q, --quiet            no summary or progress on stderr\n"

/* ---- index create ---- */

static void create_help(void)
{
	puts("Usage: reprint index create [OPTION]... DIR\n"
	     "Create an empty index in DIR (a new or empty directory).  The parameters are\n"
	     "fixed for the life of the index: every segment records them, and adding,\n"
	     "querying or deduplicating with others is refused.\n\n"
	     "  -t, --threshold T      Jaccard threshold of near-duplicates (default 0.8)\n"
	     "  -n, --ngram N          shingle length in words (default 5)\n"
	     "      --shingle KIND     word (default), word:N, or char:N\n"
	     "  -k, --num-perm K       sketch size (default 128, at most 1024)\n"
	     "      --bands B          LSH bands (default: chosen for recall >= 0.98 at T)\n"
	     "      --rows R           rows per band (with --bands)\n"
	     "      --seed N           hash seed, decimal or 0x hex (default 0)\n"
	     "      --min-words N      containment fingerprints find shared passages of N\n"
	     "                         words (default 50)\n"
	     "      --sig-bits B       bits kept of each MinHash value: 1, 2, 4, 8 (default),\n"
	     "                         16 or 32 (32: the same estimate as 'reprint dedup')\n"
	     "      --store-text       keep every text, for 'reprint query --passages'\n"
	     "  -q, --quiet            accepted as by the other commands (create prints\n"
	     "                         nothing but errors)\n"
	     "  -h, --help             this help");
}

static int cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{"threshold", required_argument, 0, 't'}, {"ngram", required_argument, 0, 'n'},
		{"shingle", required_argument, 0, 'S'},   {"num-perm", required_argument, 0, 'k'},
		{"bands", required_argument, 0, 'B'},     {"rows", required_argument, 0, 'R'},
		{"seed", required_argument, 0, 's'},      {"min-words", required_argument, 0, 'm'},
		{"sig-bits", required_argument, 0, 'b'},  {"store-text", no_argument, 0, 'T'},
		{"quiet", no_argument, 0, 'q'},           {"help", no_argument, 0, 'h'},
		{0, 0, 0, 0}};
	const char *cmd = "index create ";
	rp_index_params ip;
	rp_index_params_default(&ip);
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "t:n:k:qh", opts, NULL)) != -1) {
		switch (c) {
		case 't': if (parse_double(cmd, "--threshold", optarg, 0, 1, &ip.p.threshold)) return EXIT_USAGE; break;
		case 'n': if (parse_int(cmd, "--ngram", optarg, 1, 64, &ip.p.ngram)) return EXIT_USAGE; break;
		case 'S': {
			const char *colon = strchr(optarg, ':');
			size_t kind = colon ? (size_t)(colon - optarg) : strlen(optarg);
			if (kind == 4 && !strncmp(optarg, "word", 4)) ip.p.char_shingles = 0;
			else if (kind == 4 && !strncmp(optarg, "char", 4)) ip.p.char_shingles = 1;
			else return cli_usage(cmd, "--shingle: expected word, word:N or char:N, got '%s'", optarg);
			if (colon && parse_int(cmd, "--shingle", colon + 1, 1, 64, &ip.p.ngram)) return EXIT_USAGE;
			break;
		}
		case 'k': if (parse_int(cmd, "--num-perm", optarg, 1, RP_MAX_PERM, &ip.p.num_perm)) return EXIT_USAGE; break;
		case 'B': if (parse_int(cmd, "--bands", optarg, 1, RP_MAX_PERM, &ip.p.bands)) return EXIT_USAGE; break;
		case 'R': if (parse_int(cmd, "--rows", optarg, 1, RP_MAX_PERM, &ip.p.rows)) return EXIT_USAGE; break;
		case 's':
			if (parse_seed(cmd, optarg, &ip.p.seed)) return EXIT_USAGE;
			break;
		case 'm': if (parse_int(cmd, "--min-words", optarg, 1, 1000000, &ip.min_words)) return EXIT_USAGE; break;
		case 'b': if (parse_int(cmd, "--sig-bits", optarg, 1, 32, &ip.sig_bits)) return EXIT_USAGE; break;
		case 'T': ip.store_text = 1; break;
		case 'q': break; /* nothing to quieten */
		case 'h': create_help(); return EXIT_OK;
		default: return cli_usage(cmd, "bad option");
		}
	}
	if (optind != argc - 1) return cli_usage(cmd, "expected one directory");
	rp_error err = {0};
	int rc = rp_index_create(argv[optind], &ip, &err);
	if (rc == RP_EUSAGE && err.file[0]) return cli_usage(cmd, "%s: %s", err.file, err.message);
	if (rc == RP_EUSAGE) return cli_usage(cmd, "%s", err.message[0] ? err.message : "bad parameters");
	if (rc) {
		cli_rp_error(&err);
		return EXIT_DATA;
	}
	return EXIT_OK;
}

/* ---- index add ---- */

static void add_help(void)
{
	puts("Usage: reprint index add [OPTION]... DIR [INPUT]...\n"
	     "Add documents to the index in DIR (inputs as for 'reprint dedup'; default:\n"
	     "standard input).  A document whose id is already in the index, or earlier in\n"
	     "the input, is skipped and counted.  A record without an id field gets the id\n"
	     "PATH:LINE, which an input of the same name added before already has: such\n"
	     "records are skipped with a warning (even with -q); give every record an id.\n"
	     "The documents are sketched into sorted runs of at most --memory MB, merged\n"
	     "into one new segment and published atomically: an interrupted add leaves the\n"
	     "index as it was.\n\n"
	     "      --memory SIZE      memory for sorted runs: MB, or with K, M or G (default\n"
	     "                         256, or a quarter of the memory the process may use,\n"
	     "                         its cgroup's limit included, if less)\n"
	     INPUT_HELP
	     "  -v, --verbose          also print the time of each phase\n"
	     "  -h, --help             this help");
}

static double cpu_seconds(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

typedef struct {
	rp_index_add *a;
	rp_error err;
	rp_index_doc *docs;
	size_t docs_cap;
	uint64_t records;
} add_ctx;

static int add_consume(void *v, batch *b, rp_error *err)
{
	add_ctx *x = v;
	const rp_index_doc *docs = batch_docs(b, &x->docs, &x->docs_cap);
	if (!docs) return out_of_memory(err);
	x->records += b->n;
	return rp_index_add_docs(x->a, b->n, docs, err) ? -1 : 0;
}

static int cmd_add(int argc, char **argv)
{
	static const struct option opts[] = {
		INPUT_LONG_OPTS, {"memory", required_argument, 0, 'M'}, {"verbose", no_argument, 0, 'v'},
		{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	const char *cmd = "index add ";
	input_opts io = {{RP_FORMAT_AUTO, "text", "id", 64u << 20}, 0, 0, 0};
	size_t memory = 0; /* the library's default */
	int c, verbose = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:j:qvh", opts, NULL)) != -1) {
		int r = input_option(cmd, c, &io);
		if (r < 0) return EXIT_USAGE;
		if (r) continue;
		switch (c) {
		case 'M': {
			uint64_t v;
			if (parse_size(cmd, "--memory", optarg, 0, &v)) return EXIT_USAGE;
			memory = (size_t)v;
			break;
		}
		case 'v': verbose = 1; break;
		case 'h': add_help(); return EXIT_OK;
		default: return cli_usage(cmd, "bad option");
		}
	}
	if (optind >= argc) return cli_usage(cmd, "expected the index directory");
	const char *dir = argv[optind++];
	size_t ninputs;
	const char *const *inputs = input_args(argc, argv, optind, &ninputs);
	double t0 = now_seconds(), c0 = cpu_seconds();
	int status = EXIT_DATA;
	rp_index *ix = NULL;
	rp_pool *pool = NULL;
	rp_reader *reader = NULL;
	add_ctx x = {NULL, {0}, NULL, 0, 0};
	if ((status = open_index(&ix, dir, RP_INDEX_WRITE))) goto done;
	status = EXIT_DATA;
	crash_setup(ix);
	pool = rp_pool_new(io.threads);
	if (!pool) { cli_error("cannot start threads"); goto done; }
	if (rp_index_add_new(&x.a, ix, pool, memory, &x.err)) { cli_rp_error(&x.err); goto done; }
	if (rp_reader_new(&reader, inputs, ninputs, &io.ro, &x.err)) { cli_rp_error(&x.err); goto done; }
	/* 16 MB batches: half as many pool jobs as 8 MB ones; the second thread
	 * slept 1.8 s instead of 2.6 s over a million documents, for 16 MB */
	if (read_id_batches(reader, io.skip_errors, io.quiet, pool, 16384, (size_t)16 << 20, add_consume, &x))
		goto done;
	uint64_t records = x.records;
	double t1 = now_seconds(), c1 = cpu_seconds();
	rp_index_add_stats st;
	if (rp_index_add_commit(x.a, NULL, &st, &x.err)) { cli_rp_error(&x.err); goto done; }
	double secs = now_seconds() - t0;
	if (verbose && !io.quiet)
		cli_error("phases: read and sketch %.2f s (%.2f CPU-s, full runs written on the way), commit %.2f s "
		          "(%.2f CPU-s, %llu sorted runs of at most %.0f MB merged)", t1 - t0, c1 - c0, secs - (t1 - t0),
		          cpu_seconds() - c1, (unsigned long long)st.runs, st.memory / 1048576.0);
	char why[128];
	if (!io.quiet) {
		cli_error("read %llu, added %llu, skipped %llu (%s), errored %llu", (unsigned long long)records,
		          (unsigned long long)st.added, (unsigned long long)st.skipped, skip_reason(&st, why, sizeof why),
		          (unsigned long long)st.errored);
		if (st.added)
			cli_error("segment %llu: %llu bytes, %.0f bytes per document; %llu sorted runs; %.2f s, %.0f documents/s, "
			          "peak %.0f MB",
			          (unsigned long long)st.number, (unsigned long long)st.bytes, (double)st.bytes / (double)st.added,
			          (unsigned long long)st.runs, secs, secs > 0 ? records / secs : 0.0, peak_rss_mb());
	}
	warn_default_ids(dir, &st);
	status = EXIT_OK;
done:
	free(x.docs);
	rp_index_add_free(x.a);
	rp_reader_free(reader);
	crash_report();
	rp_index_close(ix);
	rp_pool_free(pool);
	return status;
}

/* ---- index remove ---- */

typedef struct {
	const char *id;
	size_t len, at;
} id_ref;

static int cmp_id_ref(const void *x, const void *y)
{
	const id_ref *a = x, *b = y;
	if (a->len != b->len) return a->len < b->len ? -1 : 1;
	int c = memcmp(a->id, b->id, a->len);
	if (c) return c;
	return (a->at > b->at) - (a->at < b->at);
}

/* Drop the ids listed again (the first stays, in order); returns how many. */
static size_t drop_repeated_ids(char **ids, size_t *lens, size_t *n)
{
	if (*n < 2) return 0;
	id_ref *r = malloc(*n * sizeof *r);
	uint8_t *again = calloc(*n, 1);
	if (!r || !again) { cli_error("out of memory"); exit(EXIT_DATA); }
	for (size_t i = 0; i < *n; i++) r[i] = (id_ref){ids[i], lens[i], i};
	qsort(r, *n, sizeof *r, cmp_id_ref);
	for (size_t i = 1; i < *n; i++)
		if (r[i].len == r[i - 1].len && !memcmp(r[i].id, r[i - 1].id, r[i].len)) again[r[i].at] = 1;
	size_t m = 0;
	for (size_t i = 0; i < *n; i++) {
		if (again[i]) {
			free(ids[i]);
			continue;
		}
		ids[m] = ids[i];
		lens[m++] = lens[i];
	}
	size_t dropped = *n - m;
	*n = m;
	free(r);
	free(again);
	return dropped;
}

static int cmd_remove(int argc, char **argv)
{
	static const struct option opts[] = {
		{"ids", required_argument, 0, 'i'}, {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	const char *cmd = "index remove ", *ids_path = NULL;
	int quiet = 0, c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		switch (c) {
		case 'i': ids_path = optarg; break;
		case 'q': quiet = 1; break;
		case 'h':
			puts("Usage: reprint index remove DIR --ids FILE\n"
			     "Remove the documents whose ids are listed in FILE (one per line; - for\n"
			     "standard input) from the index in DIR.  They stop matching at once; their\n"
			     "space is reclaimed by 'reprint index compact'.  An id listed twice is removed\n"
			     "once and counted as repeated.\n\n"
			     "      --ids FILE         the ids to remove\n"
			     "  -q, --quiet            no summary\n"
			     "  -h, --help             this help");
			return EXIT_OK;
		default: return cli_usage(cmd, "bad option");
		}
	}
	if (optind != argc - 1) return cli_usage(cmd, "expected one index directory");
	if (!ids_path) return cli_usage(cmd, "--ids FILE is required");
	FILE *f = strcmp(ids_path, "-") ? fopen(ids_path, "r") : stdin;
	if (!f) {
		cli_error("%s: cannot open: %s", ids_path, strerror(errno));
		return EXIT_DATA;
	}
	char **ids = NULL, *line = NULL;
	size_t *lens = NULL, n = 0, cap = 0, lcap = 0;
	ssize_t len;
	while ((len = getline(&line, &lcap, f)) >= 0) {
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
		if (!len) continue;
		size_t c2 = cap;
		ids = xgrow(ids, &c2, n + 1, sizeof *ids);
		c2 = cap;
		lens = xgrow(lens, &c2, n + 1, sizeof *lens);
		cap = c2;
		ids[n] = malloc((size_t)len + 1);
		if (!ids[n]) { cli_error("out of memory"); exit(EXIT_DATA); }
		memcpy(ids[n], line, (size_t)len);
		ids[n][len] = 0;
		lens[n++] = (size_t)len;
	}
	int read_failed = ferror(f);
	free(line);
	if (f != stdin) fclose(f);
	int status = EXIT_DATA;
	rp_index *ix = NULL;
	if (read_failed) {
		cli_error("%s: read failed", ids_path);
		goto done;
	}
	if ((status = open_index(&ix, argv[optind], RP_INDEX_WRITE))) goto done;
	status = EXIT_DATA;
	crash_setup(ix);
	rp_error err = {0};
	uint64_t removed;
	size_t listed = n, repeated = drop_repeated_ids(ids, lens, &n);
	if (rp_index_remove(ix, n, (const char *const *)ids, lens, &removed, &err)) {
		cli_rp_error(&err);
		goto done;
	}
	if (!quiet) {
		size_t absent = n - (size_t)(removed < n ? removed : n);
		if (repeated)
			cli_error("removed %llu of %zu ids (%zu not in the index, %zu repeated in the list)",
			          (unsigned long long)removed, listed, absent, repeated);
		else
			cli_error("removed %llu of %zu ids (%zu not in the index)", (unsigned long long)removed, listed, absent);
	}
	status = EXIT_OK;
done:
	crash_report();
	rp_index_close(ix);
	for (size_t i = 0; i < n; i++) free(ids[i]);
	free(ids);
	free(lens);
	return status;
}

/* ---- index compact ---- */

static int cmd_compact(int argc, char **argv)
{
	static const struct option opts[] = {{"threads", required_argument, 0, 'j'}, {"quiet", no_argument, 0, 'q'},
	                                     {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	int quiet = 0, threads = 0, c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "j:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': if (parse_int("index compact ", "--threads", optarg, 1, 256, &threads)) return EXIT_USAGE; break;
		case 'q': quiet = 1; break;
		case 'h':
			puts("Usage: reprint index compact DIR\n"
			     "Merge every live segment of the index in DIR into one, leaving removed\n"
			     "documents out, and publish it atomically.\n\n"
			     "  -j, --threads N        threads (default: all usable cores)\n"
			     "  -q, --quiet            no summary\n"
			     "  -h, --help             this help");
			return EXIT_OK;
		default: return cli_usage("index compact ", "bad option");
		}
	}
	if (optind != argc - 1) return cli_usage("index compact ", "expected one index directory");
	double t0 = now_seconds();
	rp_index *ix = NULL;
	int status = open_index(&ix, argv[optind], RP_INDEX_WRITE);
	if (status) return status;
	crash_setup(ix);
	rp_index_info before, after;
	rp_index_info_get(ix, &before);
	rp_error err = {0};
	status = EXIT_OK;
	rp_pool *pool = rp_pool_new(threads);
	if (!pool) {
		cli_error("cannot start threads");
		status = EXIT_DATA;
	} else if (rp_index_compact(ix, pool, &err)) {
		cli_rp_error(&err);
		status = EXIT_DATA;
	} else if (!quiet) {
		rp_index_info_get(ix, &after);
		cli_error("%zu segments (%llu bytes) -> %zu (%llu bytes), %llu documents, %llu removed dropped; %.2f s",
		          before.segments, (unsigned long long)before.bytes, after.segments, (unsigned long long)after.bytes,
		          (unsigned long long)after.docs, (unsigned long long)before.deleted, now_seconds() - t0);
	}
	crash_report();
	rp_index_close(ix);
	rp_pool_free(pool);
	return status;
}

/* ---- index info ---- */

static int cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, 0, 'J'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	int json = 0, c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'J': json = 1; break;
		case 'h':
			puts("Usage: reprint index info [--json] DIR\n"
			     "Print the index's parameters, documents, segments and bytes per document\n"
			     "(every segment is verified first).\n\n"
			     "      --json             one JSON object\n"
			     "  -h, --help             this help");
			return EXIT_OK;
		default: return cli_usage("index info ", "bad option");
		}
	}
	if (optind != argc - 1) return cli_usage("index info ", "expected one index directory");
	rp_index *ix = NULL;
	int status = open_index(&ix, argv[optind], RP_INDEX_READ);
	if (status) return status;
	const rp_index_params *ip = rp_index_get_params(ix);
	rp_index_info in;
	rp_index_info_get(ix, &in);
	double per = in.docs ? 1.0 / (double)in.docs : 0.0;
	double no_text = (double)(in.bytes - in.part_bytes[4]) * per;
	static const char *const parts[] = {"documents_and_ids", "signatures", "bands", "fingerprints", "text"};
	if (json) {
		printf("{\"format_version\": 1, \"norm_version\": %d, \"generation\": %llu, \"shingle\": \"%s\", \"ngram\": %d, "
		       "\"num_perm\": %d, \"bands\": %d, \"rows\": %d, \"threshold\": %g, \"seed\": %llu, \"min_words\": %d, "
		       "\"sig_bits\": %d, \"store_text\": %s, \"documents\": %llu, \"removed\": %llu, \"segments\": %zu, "
		       "\"bytes\": %llu, \"bytes_per_document\": %.1f, \"bytes_per_document_without_text\": %.1f, \"parts\": {",
		       RP_NORM_VERSION, (unsigned long long)in.generation, ip->p.char_shingles ? "char" : "word", ip->p.ngram,
		       ip->p.num_perm, ip->p.bands, ip->p.rows, ip->p.threshold, (unsigned long long)ip->p.seed, ip->min_words,
		       ip->sig_bits, ip->store_text ? "true" : "false", (unsigned long long)in.docs,
		       (unsigned long long)in.deleted, in.segments, (unsigned long long)in.bytes, (double)in.bytes * per, no_text);
		for (int k = 0; k < 5; k++)
			printf("%s\"%s\": %.1f", k ? ", " : "", parts[k], (double)in.part_bytes[k] * per);
		printf("}, \"segment_list\": [");
		for (size_t i = 0; i < in.segments; i++) {
			rp_index_segment_info si;
			rp_index_segment_get(ix, i, &si);
			printf("%s{\"number\": %llu, \"documents\": %llu, \"removed\": %llu, \"bytes\": %llu}", i ? ", " : "",
			       (unsigned long long)si.number, (unsigned long long)si.docs, (unsigned long long)si.deleted,
			       (unsigned long long)si.bytes);
		}
		printf("]}\n");
	} else {
		printf("index %s: format 1, normalisation %d, generation %llu\n", argv[optind], RP_NORM_VERSION,
		       (unsigned long long)in.generation);
		printf("parameters: %s %d-grams, num-perm %d, bands %d x rows %d, threshold %g, seed %llu, min-words %d, "
		       "sig-bits %d, store-text %s\n",
		       ip->p.char_shingles ? "char" : "word", ip->p.ngram, ip->p.num_perm, ip->p.bands, ip->p.rows,
		       ip->p.threshold, (unsigned long long)ip->p.seed, ip->min_words, ip->sig_bits, ip->store_text ? "yes" : "no");
		printf("documents: %llu live, %llu removed (until compaction), %zu segments\n", (unsigned long long)in.docs,
		       (unsigned long long)in.deleted, in.segments);
		printf("bytes: %llu, %.1f per live document (%.1f without text): documents and ids %.1f, signatures %.1f, "
		       "band tables %.1f, fingerprints %.1f, text %.1f\n",
		       (unsigned long long)in.bytes, (double)in.bytes * per, no_text, in.part_bytes[0] * per,
		       in.part_bytes[1] * per, in.part_bytes[2] * per, in.part_bytes[3] * per, in.part_bytes[4] * per);
		for (size_t i = 0; i < in.segments; i++) {
			rp_index_segment_info si;
			rp_index_segment_get(ix, i, &si);
			printf("segment %llu: %llu documents, %llu removed, %llu bytes\n", (unsigned long long)si.number,
			       (unsigned long long)si.docs, (unsigned long long)si.deleted, (unsigned long long)si.bytes);
		}
	}
	rp_index_close(ix);
	if (fflush(stdout) || ferror(stdout)) {
		cli_error("write error on standard output");
		return EXIT_DATA;
	}
	return EXIT_OK;
}

int cmd_index(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		FILE *f = argc < 2 ? stderr : stdout;
		fputs("Usage: reprint index COMMAND [OPTION]... DIR ...\n"
		      "A persistent, incremental index to query new documents against.\n\n"
		      "  create   create an empty index with its sketch parameters\n"
		      "  add      add documents (skipping ids already present)\n"
		      "  remove   remove documents by id\n"
		      "  compact  merge the segments, dropping removed documents\n"
		      "  info     parameters, counts, segments, bytes per document\n\n"
		      "'reprint query DIR INPUT...' finds near-duplicates and reprints in the index.\n", f);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	const char *sub = argv[1];
	if (!strcmp(sub, "create")) return cmd_create(argc - 1, argv + 1);
	if (!strcmp(sub, "add")) return cmd_add(argc - 1, argv + 1);
	if (!strcmp(sub, "remove")) return cmd_remove(argc - 1, argv + 1);
	if (!strcmp(sub, "compact")) return cmd_compact(argc - 1, argv + 1);
	if (!strcmp(sub, "info")) return cmd_info(argc - 1, argv + 1);
	return cli_usage("index ", "unknown index command '%s'", sub);
}

/* ---- query ---- */

static void query_help(void)
{
	puts("Usage: reprint query [OPTION]... DIR [INPUT]...\n"
	     "Find, for every input document, the documents of the index in DIR that are\n"
	     "near-duplicates of it (estimated Jaccard at least the index's threshold) or\n"
	     "reprints (one contained in the other by at least --containment).  One JSON line\n"
	     "per input record, in input order:\n"
	     "  {\"id\", \"matches\": [{\"id\", \"jaccard\", \"a_in_b\", \"b_in_a\"}]}\n"
	     "a_in_b is the share of the query found in the indexed document, b_in_a the\n"
	     "reverse (shared winnowed fingerprints); matches are sorted by their largest\n"
	     "score, then id.  Inputs as for 'reprint dedup'.\n\n"
	     "      --containment T    report containment from T (default 0.5; 'off': never)\n"
	     "      --passages         add the shared passages as byte ranges of the query (a)\n"
	     "                         and of the indexed text (b): needs --store-text\n"
	     "      --max-matches N    at most the N best matches per document (default: all)\n"
	     "      --max-df N         fingerprints in more than N documents are boilerplate\n"
	     "                         and ignored (default 1000): live documents of the\n"
	     "                         whole index, whatever its segments; removed ones do\n"
	     "                         not count\n"
	     "  -o, --output FILE      write the results to FILE (default: standard output)\n"
	     INPUT_HELP
	     "  -h, --help             this help");
}

typedef struct {
	rp_index *ix;
	rp_pool *pool;
	rp_index_query_opts qo;
	FILE *out;
	rp_index_result *res;
	size_t res_cap;
	rp_index_doc *docs;
	size_t docs_cap;
	uint64_t queries, matched, matches;
} query_ctx;

static int query_consume(void *v, batch *b, rp_error *err)
{
	query_ctx *q = v;
	if (b->n > q->res_cap) {
		free(q->res);
		q->res_cap = 0;
		q->res = malloc(b->n * sizeof *q->res);
		if (!q->res) return out_of_memory(err);
		q->res_cap = b->n;
	}
	const rp_index_doc *docs = batch_docs(b, &q->docs, &q->docs_cap);
	if (!docs) return out_of_memory(err);
	if (rp_index_query(q->ix, q->pool, b->n, docs, &q->qo, q->res, err)) return -1;
	FILE *f = q->out;
	for (size_t i = 0; i < b->n; i++) {
		const rp_index_doc *d = &docs[i];
		fputs("{\"id\": ", f);
		if (d->id_is_number) fwrite(d->id, 1, d->id_len, f);
		else json_string(f, d->id, d->id_len);
		if (d->bad) {
			const char *msg = b->errs + b->eoff[i], *file = msg + strlen(msg) + 1;
			fputs(", \"error\": ", f);
			json_string(f, msg, strlen(msg));
			fputs(", \"file\": ", f);
			json_string(f, file, strlen(file));
			fprintf(f, ", \"line\": %llu, \"byte\": %llu}\n", (unsigned long long)b->eline[i],
			        (unsigned long long)b->ebyte[i]);
			continue;
		}
		q->queries++;
		fputs(", \"matches\": [", f);
		const rp_index_result *r = &q->res[i];
		for (size_t k = 0; k < r->n; k++) {
			const rp_index_match *m = &r->matches[k];
			fputs(k ? ", {\"id\": " : "{\"id\": ", f);
			if (m->id_is_number) fwrite(m->id, 1, m->id_len, f);
			else json_string(f, m->id, m->id_len);
			fprintf(f, ", \"jaccard\": %.4g, \"a_in_b\": %.4g, \"b_in_a\": %.4g", m->jaccard, m->a_in_b, m->b_in_a);
			if (q->qo.passages) {
				fputs(", \"passages\": [", f);
				for (size_t p = 0; p < m->npassages; p++) {
					const rp_passage *ps = &m->passages[p];
					fprintf(f, "%s{\"a\": [%llu, %llu], \"b\": [%llu, %llu], \"words\": %u}", p ? ", " : "",
					        (unsigned long long)ps->a_byte_start, (unsigned long long)ps->a_byte_end,
					        (unsigned long long)ps->b_byte_start, (unsigned long long)ps->b_byte_end, ps->tokens);
				}
				fputc(']', f);
			}
			fputc('}', f);
		}
		fputs("]}\n", f);
		q->matched += r->n > 0;
		q->matches += r->n;
	}
	rp_index_results_free(q->res, b->n);
	return 0;
}

int cmd_query(int argc, char **argv)
{
	static const struct option opts[] = {
		INPUT_LONG_OPTS, {"containment", required_argument, 0, 'C'}, {"passages", no_argument, 0, 'P'},
		{"max-matches", required_argument, 0, 'x'}, {"max-df", required_argument, 0, 'D'},
		{"output", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	const char *cmd = "query ", *output = "-";
	input_opts io = {{RP_FORMAT_AUTO, "text", "id", 64u << 20}, 0, 0, 0};
	query_ctx q;
	memset(&q, 0, sizeof q);
	rp_index_query_opts_default(&q.qo);
	int c, mm;
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:j:qo:h", opts, NULL)) != -1) {
		int r = input_option(cmd, c, &io);
		if (r < 0) return EXIT_USAGE;
		if (r) continue;
		switch (c) {
		case 'C':
			if (!strcmp(optarg, "off")) q.qo.containment = 2.0;
			else if (parse_double(cmd, "--containment", optarg, 0, 1, &q.qo.containment)) return EXIT_USAGE;
			else if (q.qo.containment <= 0) return cli_usage(cmd, "--containment must be above 0");
			break;
		case 'P': q.qo.passages = 1; break;
		case 'x':
			if (parse_int(cmd, "--max-matches", optarg, 1, 2147483647, &mm)) return EXIT_USAGE;
			q.qo.max_matches = (size_t)mm;
			break;
		case 'D': if (parse_int(cmd, "--max-df", optarg, 1, 2147483647, &q.qo.max_df)) return EXIT_USAGE; break;
		case 'o': output = optarg; break;
		case 'h': query_help(); return EXIT_OK;
		default: return cli_usage(cmd, "bad option");
		}
	}
	if (optind >= argc) return cli_usage(cmd, "expected the index directory");
	const char *dir = argv[optind++];
	size_t ninputs;
	const char *const *inputs = input_args(argc, argv, optind, &ninputs);
	double t0 = now_seconds();
	int status = EXIT_DATA;
	rp_reader *reader = NULL;
	out_file out = {0};
	rp_error err = {0};
	if ((status = open_index(&q.ix, dir, RP_INDEX_READ))) goto done;
	status = EXIT_DATA;
	if (q.qo.passages && !rp_index_get_params(q.ix)->store_text) {
		status = cli_usage(cmd, "--passages: the index %s does not store text (index create --store-text)", dir);
		goto done;
	}
	q.pool = rp_pool_new(io.threads);
	if (!q.pool) { cli_error("cannot start threads"); goto done; }
	if (rp_reader_new(&reader, inputs, ninputs, &io.ro, &err)) { cli_rp_error(&err); goto done; }
	out_protect(dir);
	if (out_open(&out, output)) goto done;
	q.out = out.f;
	if (read_id_batches(reader, io.skip_errors, io.quiet, q.pool, BATCH_RECORDS, BATCH_BYTES, query_consume, &q)) goto done;
	if (out_commit(&out)) goto done;
	double secs = now_seconds() - t0;
	if (!io.quiet)
		cli_error("queried %llu documents: %llu with matches, %llu matches; %.2f s, %.0f documents/s, peak %.0f MB",
		          (unsigned long long)q.queries, (unsigned long long)q.matched, (unsigned long long)q.matches, secs,
		          secs > 0 ? q.queries / secs : 0.0, peak_rss_mb());
	status = EXIT_OK;
done:
	if (status != EXIT_OK) out_abort(&out);
	free(q.res);
	free(q.docs);
	rp_reader_free(reader);
	rp_index_close(q.ix);
	rp_pool_free(q.pool);
	return status;
}

/* ---- dedup --index DIR [--add] ---- */

struct dedup_index {
	rp_index *ix;
	rp_index_add *add;
	rp_pool *pool;
	const char *dir;
	rp_index_query_opts qo;
	uint64_t seq;
	uint64_t *mseq; /* records that matched, ascending */
	double *msim;
	size_t *moff, *mlen;
	uint8_t *mnum;
	size_t nm, mcap;
	char *ids;
	size_t ids_len, ids_cap;
	rp_index_doc *docs;
	rp_index_result *res;
	size_t docs_cap;
};

int dedup_index_open(dedup_index **out, const rp_params *p, const char *dir, int add, rp_pool *pool)
{
	dedup_index *x = calloc(1, sizeof *x);
	if (!x) { cli_error("out of memory"); return EXIT_DATA; }
	*out = x;
	x->pool = pool;
	x->dir = dir;
	rp_index_query_opts_default(&x->qo);
	x->qo.containment = 2.0; /* near-duplicates only */
	int status = open_index(&x->ix, dir, add ? RP_INDEX_WRITE : RP_INDEX_READ);
	if (status) return status;
	rp_error err = {0};
	if (rp_index_check_params(x->ix, p, &err)) return cli_usage("dedup ", "%s", err.message);
	if (add) {
		crash_setup(x->ix);
		if (rp_index_add_new(&x->add, x->ix, pool, 0, &err)) { cli_rp_error(&err); return EXIT_DATA; }
	}
	return 0;
}

rp_status dedup_index_batch(dedup_index *x, size_t n, const char *const *texts, const size_t *lens, const int *bad,
                            rp_error *err)
{
	if (n > x->docs_cap) {
		free(x->docs);
		free(x->res);
		x->docs = malloc(n * sizeof *x->docs);
		x->res = malloc(n * sizeof *x->res);
		if (!x->docs || !x->res) {
			x->docs_cap = 0;
			memset(err, 0, sizeof *err);
			snprintf(err->message, sizeof err->message, "out of memory");
			return err->code = RP_ENOMEM;
		}
		x->docs_cap = n;
	}
	for (size_t i = 0; i < n; i++) x->docs[i] = (rp_index_doc){texts[i], lens[i], NULL, 0, 0, bad ? bad[i] : 0, 0};
	int rc = rp_index_query(x->ix, x->pool, n, x->docs, &x->qo, x->res, err);
	if (rc) return rc;
	for (size_t i = 0; i < n; i++) {
		if (!x->res[i].n) continue;
		/* the most similar (matches are by score, which counts containment too) */
		const rp_index_match *m = &x->res[i].matches[0];
		for (size_t k = 1; k < x->res[i].n; k++)
			if (x->res[i].matches[k].jaccard > m->jaccard) m = &x->res[i].matches[k];
		size_t cap = x->mcap;
		if (x->nm == x->mcap) {
			x->mseq = xgrow(x->mseq, &cap, x->nm + 1, sizeof *x->mseq);
			cap = x->mcap;
			x->msim = xgrow(x->msim, &cap, x->nm + 1, sizeof *x->msim);
			cap = x->mcap;
			x->moff = xgrow(x->moff, &cap, x->nm + 1, sizeof *x->moff);
			cap = x->mcap;
			x->mlen = xgrow(x->mlen, &cap, x->nm + 1, sizeof *x->mlen);
			cap = x->mcap;
			x->mnum = xgrow(x->mnum, &cap, x->nm + 1, 1);
			x->mcap = cap;
		}
		x->ids = xgrow(x->ids, &x->ids_cap, x->ids_len + m->id_len + 1, 1);
		memcpy(x->ids + x->ids_len, m->id, m->id_len);
		x->mseq[x->nm] = x->seq + i;
		x->msim[x->nm] = m->jaccard;
		x->moff[x->nm] = x->ids_len;
		x->mlen[x->nm] = m->id_len;
		x->mnum[x->nm] = (uint8_t)m->id_is_number;
		x->ids_len += m->id_len;
		x->nm++;
	}
	rp_index_results_free(x->res, n);
	if (x->add && (rc = rp_index_add_docs(x->add, n, x->docs, err))) return rc;
	x->seq += n;
	return 0;
}

int dedup_index_match(const dedup_index *x, uint64_t seq, const char **id, size_t *len, int *is_number, double *jaccard)
{
	size_t lo = 0, hi = x->nm;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (x->mseq[mid] < seq) lo = mid + 1;
		else hi = mid;
	}
	if (lo == x->nm || x->mseq[lo] != seq) return 0;
	*id = x->ids + x->moff[lo];
	*len = x->mlen[lo];
	*is_number = x->mnum[lo];
	*jaccard = x->msim[lo];
	return 1;
}

int dedup_index_commit(dedup_index *x, const record_meta *meta, const uint8_t *drop, int quiet)
{
	if (!x->add) return 0;
	rp_error err = {0};
	for (uint64_t s = 0; s < meta->n; s++) {
		uint64_t a = s ? meta->id_end[s - 1] : 0;
		if (rp_index_add_name(x->add, s, meta->ids + a, meta->id_end[s] - a, meta->id_flags[s], &err)) {
			cli_rp_error(&err);
			return -1;
		}
	}
	rp_index_add_stats st;
	if (rp_index_add_commit(x->add, drop, &st, &err)) {
		cli_rp_error(&err);
		return -1;
	}
	char why[128];
	if (!quiet)
		cli_error("index %s: added %llu kept documents, skipped %llu (%s)", x->dir, (unsigned long long)st.added,
		          (unsigned long long)st.skipped, skip_reason(&st, why, sizeof why));
	warn_default_ids(x->dir, &st);
	return 0;
}

void dedup_index_free(dedup_index *x)
{
	if (!x) return;
	rp_index_add_free(x->add);
	crash_report();
	rp_index_close(x->ix);
	free(x->mseq); free(x->msim); free(x->moff); free(x->mlen); free(x->mnum); free(x->ids);
	free(x->docs); free(x->res);
	free(x);
}
