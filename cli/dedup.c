/* dedup.c — `reprint dedup`: near-duplicate clusters of a corpus.
 *
 * Batches of records (input.c) are sketched on the pool by rp_dedup_add;
 * after rp_dedup_finish the output is written in input order, every file
 * under a temporary name renamed into place only on success. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "input.h"
#include "index.h"

static void help(void)
{
	puts("Usage: reprint dedup [OPTION]... [INPUT]...\n"
	     "Cluster near-duplicate documents.  INPUT is a file (JSON Lines by default;\n"
	     "gzip and zstd detected), a directory (every file under it is one document)\n"
	     "or - for standard input (the default).  One JSON line per input record is\n"
	     "written, in input order: {\"id\", \"cluster\", \"duplicate\", \"similarity\"};\n"
	     "similarity is the Jaccard to the document the record was matched to: its\n"
	     "cluster's representative, or with --containment the document that contains\n"
	     "it (named in \"matched\" when it is not the representative), with\n"
	     "\"containment\" the share of the record found in it.\n\n"
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
	     "                         auto and exact read the texts they compare again:\n"
	     "                         from uncompressed files in place; the texts of\n"
	     "                         gzip, zstd or stdin input are copied to $TMPDIR\n"
	     "      --keep WHICH       first (default) or longest: the representative kept\n"
	     "      --seed N           hash seed, decimal or 0x hex (default 0)\n"
	     "      --containment T    also remove a kept document when at least T of it (its\n"
	     "                         shingles outside boilerplate) is contained in a longer\n"
	     "                         kept document: excerpts, truncated copies, copies in\n"
	     "                         another site's template (default: off)\n"
	     "      --min-words N      with --containment: shortest shared passage (default 50)\n"
	     "      --index DIR        also remove documents that near-duplicate one in the index\n"
	     "                         DIR (\"cluster\" is its id, with \"in_index\": true)\n"
	     "      --add              with --index: then add the kept documents to DIR\n\n"
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
	     "  -j, --threads N        threads (default: all usable cores)\n"
	     "  -q, --quiet            no summary or progress on stderr\n"
	     "  -v, --verbose          also print the parameters chosen\n"
	     "  -h, --help             this help");
}

typedef struct {
	rp_params p;
	rp_reader_opts ro;
	int threads, skip_errors, quiet, verbose;
	const char *output, *pairs, *kept, *removed, *stats;
	double containment; /* 0: off */
	int min_words;      /* passages for --containment */
	const char *index;  /* --index DIR */
	int index_add;      /* --add */
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
		{"containment", required_argument, 0, 'C'}, {"min-words", required_argument, 0, 'm'},
		{"index", required_argument, 0, 1001},   {"add", no_argument, 0, 1002},
		{"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
	rp_params_default(&o->p);
	o->min_words = 50;
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
		case 's':
			if (parse_seed("dedup ", optarg, &o->p.seed)) return -1;
			break;
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
		case 'C':
			if (parse_double("dedup ", "--containment", optarg, 0, 1, &o->containment)) return -1;
			if (o->containment <= 0) return cli_usage("dedup ", "--containment must be above 0"), -1;
			break;
		case 'm': if (parse_int("dedup ", "--min-words", optarg, 1, 1000000, &o->min_words)) return -1; break;
		case 'j': if (parse_int("dedup ", "--threads", optarg, 1, 256, &o->threads)) return -1; break;
		case 'q': o->quiet = 1; break;
		case 'v': o->verbose = 1; break;
		case 1001: o->index = optarg; break;
		case 1002: o->index_add = 1; break;
		case 'h': help(); exit(EXIT_OK);
		default: return cli_usage("dedup ", "bad option"), -1;
		}
	}
	rp_error err;
	if (rp_params_resolve(&o->p, &err)) return cli_usage("dedup ", "%s", err.message), -1;
	if (o->index_add && !o->index) return cli_usage("dedup ", "--add needs --index DIR"), -1;
	*first_input = optind;
	return 0;
}

/* The answer for one record, after --containment. */
typedef struct {
	uint64_t cluster;   /* seq of the representative */
	uint64_t matched;   /* seq of the document it was matched to */
	float similarity;   /* Jaccard to matched */
	float containment;  /* share of it contained in matched; < 0 if not a containment match */
	uint8_t duplicate;
} result;

typedef struct {
	rp_dedup *d;
	rp_reuse *r;
	dedup_index *ix; /* --index */
} both;

static int add_both(void *ctx, batch *b, rp_error *err)
{
	both *x = ctx;
	int rc = rp_dedup_add(x->d, b->n, b->ptr, b->len, b->bad, err);
	if (!rc && x->r) rc = rp_reuse_add(x->r, b->n, b->ptr, b->len, b->bad, err);
	if (!rc && x->ix) rc = dedup_index_batch(x->ix, b->n, b->ptr, b->len, b->bad, err);
	return rc;
}

typedef struct { uint64_t child, parent; float contained, jaccard; } edge;

static int cmp_edge(const void *x, const void *y)
{
	const edge *a = x, *b = y;
	if (a->child != b->child) return a->child < b->child ? -1 : 1;
	return (a->parent > b->parent) - (a->parent < b->parent);
}

static int cmp_longest(const void *x, const void *y, void *d)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	uint64_t la = rp_dedup_length(d, a), lb = rp_dedup_length(d, b);
	if (la != lb) return la > lb ? -1 : 1;
	return (a > b) - (a < b);
}

/* Representative after containment, following absorbed representatives. */
static uint64_t final_rep(result *res, uint64_t s)
{
	while (res[s].cluster != s) s = res[s].cluster;
	return s;
}

/* --containment: a kept document at least t of which is contained in a
 * longer kept document becomes its duplicate.  Documents are decided from the
 * longest down, so a container's own fate is known when it is used. */
static int apply_containment(rp_dedup *d, rp_reuse *r, double t, result *res, size_t n)
{
	edge *e = NULL;
	size_t ne = 0, cap = 0;
	rp_error err;
	for (;;) {
		const rp_reuse_pair *pr;
		size_t np;
		if (rp_reuse_next(r, &pr, &np, &err)) { cli_rp_error(&err); free(e); return -1; }
		if (!np) break;
		for (size_t i = 0; i < np; i++) {
			uint64_t a = pr[i].a, b = pr[i].b;
			uint64_t la = rp_dedup_length(d, a), lb = rp_dedup_length(d, b);
			/* the shorter is the candidate child; equal lengths: the later */
			int a_child = la < lb || (la == lb && a > b);
			double c = a_child ? pr[i].a_in_b : pr[i].b_in_a;
			if (c < t) continue;
			e = xgrow(e, &cap, ne + 1, sizeof *e);
			e[ne++] = (edge){a_child ? a : b, a_child ? b : a, (float)c, (float)pr[i].jaccard};
		}
	}
	if (ne) qsort(e, ne, sizeof *e, cmp_edge);
	uint64_t *order = malloc((n ? n : 1) * sizeof *order);
	if (!order) { free(e); cli_error("out of memory"); return -1; }
	for (size_t i = 0; i < n; i++) order[i] = i;
	qsort_r(order, n, sizeof *order, cmp_longest, d);
	for (size_t k = 0; k < n; k++) {
		uint64_t x = order[k];
		if (res[x].duplicate || res[x].cluster != x) continue;
		/* edges of x as child: binary search */
		size_t lo = 0, hi = ne;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (e[mid].child < x) lo = mid + 1;
			else hi = mid;
		}
		for (size_t i = lo; i < ne && e[i].child == x; i++) {
			uint64_t y = e[i].parent;
			/* the container must be kept (a representative not absorbed) */
			if (res[y].duplicate || res[y].cluster != y) continue;
			res[x].cluster = y;
			res[x].matched = y;
			res[x].duplicate = 1;
			res[x].similarity = e[i].jaccard;
			res[x].containment = e[i].contained;
			break;
		}
	}
	for (size_t i = 0; i < n; i++) res[i].cluster = final_rep(res, res[i].cluster);
	free(order);
	free(e);
	return 0;
}

/* Copy the original records to the kept and removed files, in input order. */
static int write_originals(const record_meta *m, const result *res, FILE *kept, FILE *removed)
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
		FILE *f = res[s].duplicate ? removed : kept;
		if (!f) continue;
		fwrite(buf, 1, len, f); /* with its line end */
	}
	free(buf);
	return rc;
}

static const char *const verify_names[] = {"auto", "estimate", "exact"};

/* A growing buffer the result lines are formatted into: stdio's call per
 * field and open_memstream's growth were most of the output's time (13 ms
 * of a 190 ms run on 100 MB).  A buffer that cannot grow is marked failed
 * and written no further. */
typedef struct {
	char *p;
	size_t len, cap;
	int failed;
} line_buf;

static int lb_reserve(line_buf *b, size_t n)
{
	if (b->failed) return -1;
	if (b->len + n <= b->cap) return 0;
	size_t cap = b->cap ? b->cap : 1 << 16;
	while (cap < b->len + n) cap *= 2;
	char *q = realloc(b->p, cap);
	if (!q) return b->failed = 1, -1;
	b->p = q, b->cap = cap;
	return 0;
}

static inline void lb_put(line_buf *b, const char *s, size_t n)
{
	if (lb_reserve(b, n)) return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

#define LB_LIT(b, lit) lb_put((b), (lit), sizeof(lit) - 1)

static void __attribute__((format(printf, 2, 3))) lb_printf(line_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || lb_reserve(b, (size_t)n + 1)) return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* As json_string, into b. */
static void lb_json_string(line_buf *b, const char *s, size_t n)
{
	if (lb_reserve(b, 6 * n + 2)) return;
	char *o = b->p + b->len;
	*o++ = '"';
	o = json_escape(o, s, n);
	*o++ = '"';
	b->len = (size_t)(o - b->p);
}

/* As write_id (cli/input.c), into b. */
static void lb_id(line_buf *b, const record_meta *m, uint64_t seq)
{
	uint64_t a = seq ? m->id_end[seq - 1] : 0, e = m->id_end[seq];
	if (m->id_flags[seq] & RP_ID_NUMBER) lb_put(b, m->ids + a, e - a);
	else lb_json_string(b, m->ids + a, e - a);
}

/* The result lines of records [lo, hi) into b; adds to *kept and *removed. */
static void write_results(line_buf *b, const record_meta *meta, const result *res, const dedup_index *dx,
                          uint64_t lo, uint64_t hi, size_t *kept, size_t *removed)
{
	const char *xid;
	size_t xlen;
	int xnum;
	double xsim;
	size_t nb = 0, top = meta->nbad; /* the first bad record at or after lo */
	while (nb < top) {
		size_t mid = (nb + top) / 2;
		if (meta->bad[mid].seq < lo) nb = mid + 1;
		else top = mid;
	}
	for (uint64_t s = lo; s < hi; s++) {
		LB_LIT(b, "{\"id\": ");
		lb_id(b, meta, s);
		if (nb < meta->nbad && meta->bad[nb].seq == s) {
			const bad_record *br = &meta->bad[nb++];
			LB_LIT(b, ", \"error\": ");
			lb_json_string(b, br->message, strlen(br->message));
			LB_LIT(b, ", \"file\": ");
			lb_json_string(b, br->file, strlen(br->file));
			lb_printf(b, ", \"line\": %llu, \"byte\": %llu}\n", (unsigned long long)br->line,
			          (unsigned long long)br->byte);
			continue;
		}
		const result *r = &res[s];
		LB_LIT(b, ", \"cluster\": ");
		if (dx && dedup_index_match(dx, s, &xid, &xlen, &xnum, &xsim)) {
			if (xnum) lb_put(b, xid, xlen);
			else lb_json_string(b, xid, xlen);
			lb_printf(b, ", \"duplicate\": true, \"similarity\": %.6g, \"in_index\": true}\n", xsim);
			(*removed)++;
			continue;
		}
		lb_id(b, meta, r->cluster);
		/* Most records are kept with similarity 1: those without printf's
		 * float formatting (%.6g of 1 is "1"). */
		if (r->similarity == 1.0f) {
			if (r->duplicate) LB_LIT(b, ", \"duplicate\": true, \"similarity\": 1");
			else LB_LIT(b, ", \"duplicate\": false, \"similarity\": 1");
		} else {
			lb_printf(b, ", \"duplicate\": %s, \"similarity\": %.6g", r->duplicate ? "true" : "false", r->similarity);
		}
		if (r->matched != r->cluster) {
			LB_LIT(b, ", \"matched\": ");
			lb_id(b, meta, r->matched);
		}
		if (r->containment >= 0) lb_printf(b, ", \"containment\": %.4g", r->containment);
		LB_LIT(b, "}\n");
		if (r->duplicate) (*removed)++;
		else (*kept)++;
	}
}

/* Result lines formatted in parallel, OUT_CHUNK records a piece and
 * OUT_PER_THREAD pieces a thread in a round, into two sets of buffers used in
 * turn: while the pool formats one round, the calling thread first writes the
 * last (rp_pool_side), so only the last round's writing is left after the
 * formatting, and the buffers, reused, stay small (all the lines of 100 MB
 * held at once had been 4.7 MB of fresh memory, a page fault per 4 KB). */
enum { OUT_CHUNK = 2048, OUT_PER_THREAD = 2, OUT_MAX = 64 };
typedef struct {
	const record_meta *meta;
	const result *res;
	const dedup_index *dx;
	uint64_t lo;                   /* the round's first record */
	int set;                       /* the set of buffers being formatted */
	line_buf buf[2][OUT_MAX];      /* per set and chunk: its lines */
	size_t kept[2][OUT_MAX], removed[2][OUT_MAX];
	/* the writing of the other set */
	out_file *out;
	size_t pending;                /* its chunks */
	size_t kept_total, removed_total;
	int rc;                        /* -1 once a buffer could not grow */
} out_rounds;

static void format_chunk(void *v, size_t i, int wid)
{
	(void)wid;
	out_rounds *o = v;
	uint64_t lo = o->lo + i * OUT_CHUNK, hi = lo + OUT_CHUNK < o->meta->n ? lo + OUT_CHUNK : o->meta->n;
	line_buf *b = &o->buf[o->set][i];
	b->len = o->kept[o->set][i] = o->removed[o->set][i] = 0;
	write_results(b, o->meta, o->res, o->dx, lo, hi, &o->kept[o->set][i], &o->removed[o->set][i]);
}

/* Write the chunks of the set not being formatted, in order. */
static void write_pending(void *v)
{
	out_rounds *o = v;
	int set = o->set ^ 1;
	for (size_t i = 0; i < o->pending; i++) {
		if (o->buf[set][i].failed) o->rc = -1;
		else if (!o->rc) fwrite(o->buf[set][i].p, 1, o->buf[set][i].len, o->out->f);
		o->kept_total += o->kept[set][i], o->removed_total += o->removed[set][i];
	}
	if (o->pending) out_writeback(o->out); /* the fsync at the end waits for less */
	o->pending = 0;
}

/* All result lines into out, in input order: on the pool with two threads or
 * more (the output was a tenth of a -j2 run on 1.1 GB).  0, or -1 when out of
 * memory. */
static int write_all_results(out_file *out, rp_pool *pool, const record_meta *meta, const result *res,
                             const dedup_index *dx, size_t *kept, size_t *removed)
{
	int threads = rp_pool_size(pool);
	size_t per_round = (size_t)threads * OUT_PER_THREAD < OUT_MAX ? (size_t)threads * OUT_PER_THREAD : OUT_MAX;
	out_rounds *o = calloc(1, sizeof *o);
	if (!o) return -1;
	o->meta = meta, o->res = res, o->dx = dx, o->out = out;
	for (uint64_t lo = 0; lo < meta->n && !o->rc; lo += per_round * OUT_CHUNK) {
		size_t nchunks = (size_t)((meta->n - lo + OUT_CHUNK - 1) / OUT_CHUNK);
		if (nchunks > per_round) nchunks = per_round;
		o->lo = lo;
		if (o->pending) rp_pool_side(pool, write_pending, o);
		rp_pool_run(pool, nchunks, format_chunk, o);
		o->pending = nchunks;
		o->set ^= 1;
	}
	write_pending(o); /* the last round's */
	*kept += o->kept_total, *removed += o->removed_total;
	int rc = o->rc;
	for (int set = 0; set < 2; set++)
		for (size_t i = 0; i < OUT_MAX; i++) free(o->buf[set][i].p);
	free(o);
	return rc;
}

/* Every record's result from the library, a chunk a pool item (the array's
 * fresh pages are faulted in by all threads). */
enum { GET_CHUNK = 8192 };
typedef struct {
	rp_dedup *d;
	result *res;
	uint64_t n;
} get_job;

static void get_results(void *v, size_t i, int wid)
{
	(void)wid;
	get_job *g = v;
	uint64_t hi = (i + 1) * GET_CHUNK < g->n ? (i + 1) * GET_CHUNK : g->n;
	for (uint64_t s = i * GET_CHUNK; s < hi; s++) {
		rp_dedup_result r;
		rp_dedup_get(g->d, s, &r);
		g->res[s] = (result){r.cluster, r.cluster, (float)r.similarity, -1.0f, (uint8_t)r.duplicate};
	}
}

static void *release_main(void *d)
{
	rp_dedup_release(d);
	return NULL;
}

int cmd_dedup(int argc, char **argv)
{
	dedup_opts o = {0};
	int first;
	if (parse_args(argc, argv, &o, &first)) return EXIT_USAGE;
	size_t ninputs;
	const char *const *inputs = input_args(argc, argv, first, &ninputs);
	double t0 = now_seconds();
	int status = EXIT_DATA;
	rp_error err = {0};
	rp_pool *pool = rp_pool_new(o.threads);
	rp_dedup *d = NULL;
	rp_reuse *ru = NULL;
	result *res = NULL;
	rp_reader *reader = NULL;
	record_meta meta = {0};
	rp_texts *texts = NULL;
	out_file out = {0}, pairs = {0}, kept = {0}, removed = {0}, stats = {0};
	dedup_index *dx = NULL;
	uint8_t *drop = NULL;
	pthread_t releaser;
	int releasing = 0;
	if (!pool) { cli_error("cannot start threads"); goto done; }
	if (o.index) out_protect(o.index);
	if (o.index && (status = dedup_index_open(&dx, &o.p, o.index, o.index_add, pool))) goto done;
	status = EXIT_DATA;
	if (rp_dedup_new(&d, &o.p, pool, &err)) { cli_rp_error(&err); goto done; }
	/* The exact checks read the texts they compare again (src/texts.c) rather
	 * than have every document's shingles spilled. */
	if (o.p.verify != RP_VERIFY_ESTIMATE) {
		if (rp_texts_new(&texts, rp_pool_size(pool), NULL, &err) ||
		    rp_dedup_set_fetch(d, rp_texts_fetch, texts, &err)) { cli_rp_error(&err); goto done; }
		meta.texts = texts;
	}
	if (o.containment > 0) {
		rp_reuse_opts rop;
		rp_reuse_opts_default(&rop);
		rop.min_words = o.min_words;
		if (rp_reuse_new(&ru, &o.p, &rop, pool, &err)) {
			if (err.code == RP_EUSAGE) { status = cli_usage("dedup ", "%s", err.message); goto done; }
			cli_rp_error(&err);
			goto done;
		}
	}
	if (o.verbose && !o.quiet)
		cli_error("threshold %g, %s %d-grams, num-perm %d, bands %d x rows %d, verify %s, %d thread%s",
		          o.p.threshold, o.p.char_shingles ? "char" : "word", o.p.ngram, o.p.num_perm,
		          o.p.bands, o.p.rows, verify_names[o.p.verify], rp_pool_size(pool),
		          rp_pool_size(pool) == 1 ? "" : "s");
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

	both ctx = {d, ru, dx};
	if (read_batches(reader, o.skip_errors, &meta, o.quiet, pool, add_both, &ctx)) goto done;
	if (texts && rp_texts_ready(texts, &err)) { cli_rp_error(&err); goto done; }
	double t_read = now_seconds();
	if (rp_dedup_finish(d, &err)) { cli_rp_error(&err); goto done; }
	if (texts && rp_texts_unchanged(texts, &err)) {
		cli_rp_error(&err);
		cli_error("nothing was written");
		goto done;
	}
	/* With two threads or more, a second one releases the signatures and the
	 * spill file (the kernel's freeing of its pages: 45 ms on 1.1 GB) while
	 * this one writes the output. */
	if (rp_pool_size(pool) > 1 && !pthread_create(&releaser, NULL, release_main, d)) releasing = 1;
	if (o.verbose && !o.quiet)
		cli_error("read and sketched %zu records in %.2f s; clustered in %.2f s", meta.n, t_read - t0,
		          now_seconds() - t_read);
	res = malloc((meta.n ? meta.n : 1) * sizeof *res);
	if (!res) { cli_error("out of memory"); goto done; }
	get_job gj = {d, res, meta.n};
	rp_pool_run(pool, (meta.n + GET_CHUNK - 1) / GET_CHUNK, get_results, &gj);
	if (ru) {
		if (rp_reuse_finish(ru, &err)) { cli_rp_error(&err); goto done; }
		if (apply_containment(d, ru, o.containment, res, meta.n)) goto done;
	}
	/* --index: a near-duplicate of an indexed document is removed too */
	const char *xid;
	size_t xlen;
	int xnum;
	double xsim;
	for (uint64_t s = 0; dx && s < meta.n; s++)
		if (dedup_index_match(dx, s, &xid, &xlen, &xnum, &xsim)) res[s].duplicate = 1, res[s].similarity = (float)xsim;

	/* Results, in input order. */
	size_t kept_n = 0, removed_n = 0, clusters = 0;
	if (write_all_results(&out, pool, &meta, res, dx, &kept_n, &removed_n)) { cli_error("out of memory"); goto done; }
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
		size_t multi = 0;
		uint8_t *mark = calloc(meta.n ? meta.n : 1, 1);
		if (!mark) { cli_error("out of memory"); goto done; }
		for (uint64_t s = 0; s < meta.n; s++)
			if (res[s].duplicate && !mark[res[s].cluster]) mark[res[s].cluster] = 1, multi++;
		free(mark);
		clusters = multi;
	}
	if ((kept.f || removed.f) && write_originals(&meta, res, kept.f, removed.f)) goto done;
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
	if (out_commit_all((out_file *[]){&out, &pairs, &kept, &removed, &stats}, 5))
		goto done;
	if (o.index_add) { /* --add: the kept documents go into the index */
		if (!(drop = malloc(meta.n ? meta.n : 1))) { cli_error("out of memory"); goto done; }
		for (uint64_t s = 0; s < meta.n; s++) drop[s] = res[s].duplicate;
		if (dedup_index_commit(dx, &meta, drop, o.quiet)) goto done;
	}
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
	free(res);
	free(drop);
	dedup_index_free(dx);
	rp_reader_free(reader);
	rp_reuse_free(ru);
	if (releasing) pthread_join(releaser, NULL);
	rp_dedup_free(d);
	rp_texts_free(texts);
	rp_pool_free(pool);
	return status;
}
