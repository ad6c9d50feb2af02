/* reuse.c — `reprint reuse`: every pair of documents in a corpus that share
 * passages of at least --min-words words, with the passages as byte ranges,
 * site boilerplate left out, and optionally the groups of documents linked by
 * reuse with their probable source. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#include "input.h"
#include <xxhash.h>

static void help(void)
{
	puts("Usage: reprint reuse [OPTION]... [INPUT]...\n"
	     "Find every pair of documents sharing passages of at least --min-words words, in\n"
	     "any order.  One JSON line per pair, in input order of (a, b):\n"
	     "  {\"a\", \"b\", \"jaccard\", \"a_in_b\", \"b_in_a\", \"passages\": [{\"a\": [start, end],\n"
	     "   \"b\": [start, end], \"words\"}]}\n"
	     "Offsets are byte offsets into each document's text.  A passage is exact runs\n"
	     "joined across gaps of g words (edits) where g <= 8 and g is at most half the\n"
	     "words matched on each side of the gap: it is mostly shared text.  Passages\n"
	     "shared by many documents at one distance from their start or end (a site's\n"
	     "header, footer) when short (150 words) or a minority of their pages, unless\n"
	     "those documents are almost nothing else (copies of one text), or elsewhere in\n"
	     "documents that share little else (share buttons) are\n"
	     "boilerplate: they count neither in passages nor in containment (a passage spans\n"
	     "a run of it, 8 words at most, only as it spans an edited word).  Inputs and bad\n"
	     "records as for 'reprint dedup'; a skipped bad record is written first as\n"
	     "{\"id\", \"error\", \"file\", \"line\", \"byte\"}.  The token streams of documents of\n"
	     "--min-words or more (about 10 bytes a word) are held in memory up to a quarter of the\n"
	     "memory the process may use (physical memory, or its cgroup's or address-space limit\n"
	     "when lower; --memory sets it), the rest in a temporary file in $TMPDIR.\n\n"
	     "  -m, --min-words N      shortest passage, in words (default 50)\n"
	     "  -n, --ngram N          seed length in words (default 5)\n"
	     "      --template-df N    a passage in at least N documents may be boilerplate (default 40)\n"
	     "      --max-df N         a passage in more than N documents is boilerplate (default 1000)\n"
	     "      --all-candidates   also align pairs sharing only one fingerprint, in different\n"
	     "                         contexts (no exact run of --min-words words; slower, and a\n"
	     "                         few such pairs hold a passage joined across edited words)\n"
	     "      --memory SIZE      token streams held in memory at most: MB, or with K, M or G;\n"
	     "                         0 puts them all in the temporary file (default: a quarter of\n"
	     "                         the memory the process may use)\n"
	     "  -f, --format FMT       auto (default), jsonl, lines, or file\n"
	     "      --text-field F     JSON field with the text (default text)\n"
	     "      --id-field F       JSON field with the id (default id)\n"
	     "      --max-record N     longest record in bytes (default 67108864)\n"
	     "      --on-error MODE    fail (default) or skip\n"
	     "      --group-field F    JSON field naming each document's site or source: a\n"
	     "                         passage in two or more documents, all of one group, is\n"
	     "                         that group's boilerplate\n"
	     "      --date-field F     JSON field with each document's date: the source of a\n"
	     "                         group is its earliest.  RFC 3339 / ISO 8601 dates\n"
	     "                         (2005-09-01, 2005-09-01T10:00:00.5+02:00; no offset: UTC)\n"
	     "                         and numbers (seconds since 1970) compare as instants;\n"
	     "                         other values come after them, compared as strings, and\n"
	     "                         documents without one (missing, null or \"\") last\n"
	     "  -o, --output FILE      write the pairs to FILE (default: standard output)\n"
	     "      --clusters FILE    groups of documents linked by reuse: {\"source\": the\n"
	     "                         earliest by --date-field, else the first in input order,\n"
	     "                         \"size\", \"documents\": [...in input order]}\n"
	     "      --boilerplate FILE the boilerplate found: {\"id\", \"boilerplate\": [[start, end]]}\n"
	     "      --stats FILE       the summary as JSON (with the CPU seconds of reading,\n"
	     "                         finding candidates and aligning them)\n"
	     "  -j, --threads N        threads (default: all usable cores)\n"
	     "  -q, --quiet            no summary or progress on stderr\n"
	     "  -h, --help             this help");
}

/* CPU seconds of the process so far (all threads). */
static double cpu_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static int add_batch(void *ctx, batch *b, rp_error *err)
{
	return rp_reuse_add(ctx, b->n, b->ptr, b->len, b->bad, err);
}

typedef struct { uint64_t hash; uint64_t seq; } named;

static int cmp_named(const void *x, const void *y, void *mv)
{
	const named *a = x, *b = y;
	if (a->hash != b->hash) return a->hash < b->hash ? -1 : 1;
	size_t la, lb;
	const char *sa = meta_extra(mv, 0, a->seq, &la), *sb = meta_extra(mv, 0, b->seq, &lb);
	int c = memcmp(sa, sb, la < lb ? la : lb);
	if (c || la != lb) return c ? c : la < lb ? -1 : 1;
	return (a->seq > b->seq) - (a->seq < b->seq);
}

/* Dense group ids (1, 2, ...; 0 for none) from the group field's values. */
static int set_groups(rp_reuse *r, record_meta *m)
{
	named *v = malloc((m->n ? m->n : 1) * sizeof *v);
	uint32_t *g = calloc(m->n ? m->n : 1, sizeof *g);
	if (!v || !g) { free(v); free(g); cli_error("out of memory"); return -1; }
	size_t nv = 0;
	for (uint64_t s = 0; s < m->n; s++) {
		size_t len;
		const char *x = meta_extra(m, 0, s, &len);
		if (len) v[nv++] = (named){XXH3_64bits(x, len), s};
	}
	qsort_r(v, nv, sizeof *v, cmp_named, m);
	uint32_t id = 0;
	for (size_t i = 0; i < nv; i++) {
		size_t la = 0, lb;
		const char *a = i ? meta_extra(m, 0, v[i - 1].seq, &la) : NULL, *b = meta_extra(m, 0, v[i].seq, &lb);
		if (!i || v[i].hash != v[i - 1].hash || la != lb || memcmp(a, b, la)) id++; /* a new value */
		g[v[i].seq] = id;
	}
	rp_error err;
	int rc = rp_reuse_set_groups(r, g, m->n, &err);
	if (rc) cli_rp_error(&err);
	free(v);
	free(g);
	return rc ? -1 : 0;
}

/* A date as an instant: whole seconds since 1970-01-01T00:00:00Z, and
 * nanoseconds. */
typedef struct { int64_t s; int32_t ns; } instant;

/* n decimal digits at p (before end) into *v. */
static int get_digits(const char *p, const char *end, int n, int *v)
{
	if (end - p < n) return 0;
	int x = 0;
	for (int i = 0; i < n; i++) {
		if ((unsigned)(p[i] - '0') > 9) return 0;
		x = x * 10 + (p[i] - '0');
	}
	*v = x;
	return 1;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

/* A --date-field value as an instant: an RFC 3339 / ISO 8601 date
 * (YYYY-MM-DD: its midnight UTC), or date and time (YYYY-MM-DD, then T, t or
 * a space, then hh:mm, :ss and a fraction optional, then Z, z, +hh:mm, -hh:mm,
 * +hhmm or -hhmm; no offset: UTC); or a number (a JSON number or a string
 * that is one): seconds since 1970-01-01T00:00:00Z.  0 if it is neither. */
static int parse_date(const char *t, size_t len, instant *out)
{
	const char *p = t, *end = t + len;
	int y, mo, d, h = 0, mi = 0, sec = 0, ns = 0;
	if (get_digits(p, end, 4, &y) && len >= 10 && p[4] == '-' && get_digits(p + 5, end, 2, &mo) && p[7] == '-'
	    && get_digits(p + 8, end, 2, &d)) {
		static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
		if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1]
		    || (mo == 2 && d == 29 && (y % 4 || (y % 100 == 0 && y % 400))))
			return 0;
		p += 10;
		int64_t off = 0;
		if (p < end) {
			if (*p != 'T' && *p != 't' && *p != ' ') return 0;
			p++;
			if (!get_digits(p, end, 2, &h) || end - p < 5 || p[2] != ':' || !get_digits(p + 3, end, 2, &mi)) return 0;
			p += 5;
			if (p < end && *p == ':') {
				if (!get_digits(p + 1, end, 2, &sec)) return 0;
				p += 3;
				if (p < end && (*p == '.' || *p == ',')) {
					int nd = 0;
					for (p++; p < end && (unsigned)(*p - '0') <= 9; p++, nd++)
						if (nd < 9) ns = ns * 10 + (*p - '0');
					if (!nd) return 0;
					for (; nd < 9; nd++) ns *= 10;
				}
			}
			if (h > 23 || mi > 59 || sec > 60) return 0; /* 60: a leap second */
			if (p < end && (*p == 'Z' || *p == 'z')) p++;
			else if (p < end && (*p == '+' || *p == '-')) {
				int oh, om, sign = *p == '-' ? -1 : 1;
				if (!get_digits(p + 1, end, 2, &oh)) return 0;
				p += 3;
				if (p < end && *p == ':') p++;
				if (!get_digits(p, end, 2, &om) || oh > 23 || om > 59) return 0;
				p += 2;
				off = sign * (oh * 3600 + om * 60);
			}
			if (p != end) return 0;
		}
		out->s = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
		out->ns = ns;
		return 1;
	}
	char b[64], *e;
	if (!len || len >= sizeof b) return 0;
	memcpy(b, t, len), b[len] = 0;
	if (!(b[0] == '-' || (unsigned)(b[0] - '0') <= 9)) return 0; /* no spaces, "inf" or "nan" */
	double x = strtod(b, &e);
	if (*e || !(x > -1e15 && x < 1e15)) return 0;
	double f = floor(x);
	out->s = (int64_t)f;
	out->ns = (int32_t)((x - f) * 1e9);
	if (out->ns > 999999999) out->ns = 999999999;
	return 1;
}

/* Is record a's date before record b's?  Dates that parse (parse_date) come
 * first, by instant; then values that do not, compared as strings (bytewise);
 * then documents without a date (the field missing, null or ""); ties go to
 * input order. */
static int date_before(const record_meta *m, uint64_t a, uint64_t b)
{
	size_t la, lb;
	const char *da = meta_extra(m, 1, a, &la), *db = meta_extra(m, 1, b, &lb);
	instant ia, ib;
	int ra = !la ? 2 : parse_date(da, la, &ia) ? 0 : 1, rb = !lb ? 2 : parse_date(db, lb, &ib) ? 0 : 1;
	if (ra != rb) return ra < rb;
	if (ra == 0 && (ia.s != ib.s || ia.ns != ib.ns)) return ia.s < ib.s || (ia.s == ib.s && ia.ns < ib.ns);
	if (ra == 1) {
		int c = memcmp(da, db, la < lb ? la : lb);
		if (c) return c < 0;
		if (la != lb) return la < lb;
	}
	return a < b;
}

/* x as printf's "%.4f" writes it: exact rounding of the double, ties to even;
 * done by hand for scores in [0, 1] away from a tie (the common case), else
 * by snprintf.  Returns the end. */
static char *put_fixed4(char *p, double x)
{
	double s = x * 10000.0, fl = floor(s);
	if (!(x >= 0.0 && x <= 1.0) || fabs(s - fl - 0.5) < 1e-6) return p + snprintf(p, 32, "%.4f", x);
	unsigned v = (unsigned)fl + (s - fl > 0.5);
	*p++ = (char)('0' + v / 10000);
	*p++ = '.';
	for (unsigned d = 1000, r = v % 10000; d; d /= 10) *p++ = (char)('0' + r / d % 10);
	return p;
}

/* Decimal digits of v; returns the end. */
static char *put_u64(char *p, uint64_t v)
{
	char t[24];
	int n = 0;
	do t[n++] = (char)('0' + v % 10); while (v /= 10);
	while (n) *p++ = t[--n];
	return p;
}

static uint32_t find(uint32_t *parent, uint32_t x)
{
	while (parent[x] != x) parent[x] = parent[parent[x]], x = parent[x];
	return x;
}

static void write_error_lines(FILE *f, const record_meta *m)
{
	for (size_t i = 0; i < m->nbad; i++) {
		const bad_record *br = &m->bad[i];
		fputs("{\"id\": ", f);
		write_id(f, m, br->seq);
		fputs(", \"error\": ", f);
		json_string(f, br->message, strlen(br->message));
		fputs(", \"file\": ", f);
		json_string(f, br->file, strlen(br->file));
		fprintf(f, ", \"line\": %llu, \"byte\": %llu}\n", (unsigned long long)br->line, (unsigned long long)br->byte);
	}
}

int cmd_reuse(int argc, char **argv)
{
	static const struct option opts[] = {
		{"min-words", required_argument, 0, 'm'}, {"ngram", required_argument, 0, 'n'},
		{"template-df", required_argument, 0, 'D'}, {"max-df", required_argument, 0, 'X'},
		{"format", required_argument, 0, 'f'},   {"text-field", required_argument, 0, 'T'},
		{"id-field", required_argument, 0, 'I'}, {"max-record", required_argument, 0, 'M'},
		{"on-error", required_argument, 0, 'e'}, {"output", required_argument, 0, 'o'},
		{"clusters", required_argument, 0, 'C'}, {"boilerplate", required_argument, 0, 'B'},
		{"stats", required_argument, 0, 'S'},    {"threads", required_argument, 0, 'j'},
		{"quiet", no_argument, 0, 'q'},          {"help", no_argument, 0, 'h'},
		{"group-field", required_argument, 0, 'G'}, {"date-field", required_argument, 0, 'W'},
		{"all-candidates", no_argument, 0, 'A'}, {"memory", required_argument, 0, 'Y'},
		{0, 0, 0, 0}};
	rp_params p;
	rp_params_default(&p);
	rp_reuse_opts ro;
	rp_reuse_opts_default(&ro);
	rp_reader_opts rdo = {RP_FORMAT_AUTO, "text", "id", 64u << 20};
	const char *output = "-", *clusters_path = NULL, *boiler_path = NULL, *stats_path = NULL;
	uint64_t memory = 0;
	int memory_set = 0;
	const char *group_field = NULL, *date_field = NULL;
	int threads = 0, quiet = 0, skip = 0, c, mr;
	double cpu[3] = {0, 0, 0}; /* CPU seconds at the end of reading, of finding candidates, of the pairs */
	optind = 1;
	while ((c = getopt_long(argc, argv, "m:n:f:o:j:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'm': if (parse_int("reuse ", "--min-words", optarg, 1, 1000000, &ro.min_words)) return EXIT_USAGE; break;
		case 'n': if (parse_int("reuse ", "--ngram", optarg, 1, 64, &p.ngram)) return EXIT_USAGE; break;
		case 'D': if (parse_int("reuse ", "--template-df", optarg, 2, 1 << 30, &ro.template_df)) return EXIT_USAGE; break;
		case 'X': if (parse_int("reuse ", "--max-df", optarg, 2, 1 << 30, &ro.max_df)) return EXIT_USAGE; break;
		case 'A': ro.all_candidates = 1; break;
		case 'Y':
			if (parse_size("reuse ", "--memory", optarg, 1, &memory)) return EXIT_USAGE;
			memory_set = 1;
			break;
		case 'f':
			if (!strcmp(optarg, "auto")) rdo.format = RP_FORMAT_AUTO;
			else if (!strcmp(optarg, "jsonl")) rdo.format = RP_FORMAT_JSONL;
			else if (!strcmp(optarg, "lines")) rdo.format = RP_FORMAT_LINES;
			else if (!strcmp(optarg, "file")) rdo.format = RP_FORMAT_FILE;
			else return cli_usage("reuse ", "--format: expected auto, jsonl, lines or file, got '%s'", optarg);
			break;
		case 'T': rdo.text_field = optarg; break;
		case 'I': rdo.id_field = optarg; break;
		case 'M':
			if (parse_int("reuse ", "--max-record", optarg, 1, 2147483647, &mr)) return EXIT_USAGE;
			rdo.max_record = (size_t)mr;
			break;
		case 'e':
			if (!strcmp(optarg, "skip")) skip = 1;
			else if (!strcmp(optarg, "fail")) skip = 0;
			else return cli_usage("reuse ", "--on-error: expected fail or skip, got '%s'", optarg);
			break;
		case 'o': output = optarg; break;
		case 'C': clusters_path = optarg; break;
		case 'B': boiler_path = optarg; break;
		case 'S': stats_path = optarg; break;
		case 'j': if (parse_int("reuse ", "--threads", optarg, 1, 256, &threads)) return EXIT_USAGE; break;
		case 'q': quiet = 1; break;
		case 'G': group_field = optarg; break;
		case 'W': date_field = optarg; break;
		case 'h': help(); return EXIT_OK;
		default: return cli_usage("reuse ", "bad option");
		}
	}
	if (ro.max_df < ro.template_df) return cli_usage("reuse ", "--max-df must be at least --template-df");
	size_t ninputs;
	const char *const *inputs = input_args(argc, argv, optind, &ninputs);
	double t0 = now_seconds();
	int status = EXIT_DATA;
	rp_error err = {0};
	rp_pool *pool = rp_pool_new(threads);
	rp_reuse *r = NULL;
	rp_reader *reader = NULL;
	record_meta meta = {0};
	out_file out = {0}, cl = {0}, bp = {0}, st = {0};
	uint32_t *parent = NULL;
	size_t npairs = 0, linked = 0;
	if (!pool) { cli_error("cannot start threads"); goto done; }
	if (rp_reuse_new(&r, &p, &ro, pool, &err)) {
		if (err.code == RP_EUSAGE) { status = cli_usage("reuse ", "%s", err.message); goto done; }
		cli_rp_error(&err);
		goto done;
	}
	if (memory_set && rp_reuse_set_memory_budget(r, memory, &err)) { cli_rp_error(&err); goto done; }
	if (rp_reader_new(&reader, inputs, ninputs, &rdo, &err)) { cli_rp_error(&err); goto done; }
	if ((group_field && rp_reader_set_extra(reader, 0, group_field, &err))
	    || (date_field && rp_reader_set_extra(reader, 1, date_field, &err))) {
		status = cli_usage("reuse ", "%s", err.message);
		goto done;
	}
	meta.keep_extra[0] = group_field != NULL;
	meta.keep_extra[1] = date_field != NULL;
	if (out_open(&out, output)) goto done;
	if (clusters_path && out_open(&cl, clusters_path)) goto done;
	if (boiler_path && out_open(&bp, boiler_path)) goto done;
	if (stats_path && out_open(&st, stats_path)) goto done;
	/* Batches of 4 MB, not 8: the reader's two batch buffers are fresh
	 * memory, and page faults were a fifth of the run (20news: 271 -> 259
	 * ms at the median). */
	if (read_batches_max(reader, skip, &meta, quiet, pool, (size_t)4 << 20, add_batch, r)) goto done;
	if (group_field && set_groups(r, &meta)) goto done;
	/* a field named but in no record is most likely misspelt */
	for (int k = 0; k < 2 && !quiet && meta.n; k++) {
		const char *f = k ? date_field : group_field;
		if (f && meta.extra_len[k] == 0)
			cli_error("warning: --%s-field \"%s\" has a value in none of the %zu records", k ? "date" : "group", f, meta.n);
	}
	cpu[0] = cpu_now();
	if (rp_reuse_finish(r, &err)) { cli_rp_error(&err); goto done; }
	cpu[1] = cpu_now();
	parent = malloc((meta.n ? meta.n : 1) * sizeof *parent);
	if (!parent) { cli_error("out of memory"); goto done; }
	for (size_t i = 0; i < meta.n; i++) parent[i] = (uint32_t)i;
	write_error_lines(out.f, &meta);
	for (;;) {
		const rp_reuse_pair *pr;
		size_t n;
		if (rp_reuse_next(r, &pr, &n, &err)) { cli_rp_error(&err); goto done; }
		if (!n) break;
		for (size_t i = 0; i < n; i++) {
			const rp_reuse_pair *x = &pr[i];
			FILE *f = out.f;
			fputs("{\"a\": ", f);
			write_id(f, &meta, x->a);
			fputs(", \"b\": ", f);
			write_id(f, &meta, x->b);
			/* the rest as fprintf(", \"jaccard\": %.4f, ...") would, by hand: the
			 * output of a busy corpus is millions of numbers */
			char buf[160], *e = buf;
#define PUT(lit) (memcpy(e, lit, sizeof lit - 1), e += sizeof lit - 1)
			PUT(", \"jaccard\": ");
			e = put_fixed4(e, x->jaccard);
			PUT(", \"a_in_b\": ");
			e = put_fixed4(e, x->a_in_b);
			PUT(", \"b_in_a\": ");
			e = put_fixed4(e, x->b_in_a);
			PUT(", \"passages\": [");
			fwrite(buf, 1, (size_t)(e - buf), f);
			for (size_t q = 0; q < x->npassages; q++) {
				const rp_passage *ps = &x->passages[q];
				e = buf;
				if (q) PUT(", ");
				PUT("{\"a\": [");
				e = put_u64(e, ps->a_byte_start);
				PUT(", ");
				e = put_u64(e, ps->a_byte_end);
				PUT("], \"b\": [");
				e = put_u64(e, ps->b_byte_start);
				PUT(", ");
				e = put_u64(e, ps->b_byte_end);
				PUT("], \"words\": ");
				e = put_u64(e, ps->tokens);
				PUT("}");
				fwrite(buf, 1, (size_t)(e - buf), f);
			}
#undef PUT
			fputs("]}\n", f);
			uint32_t ra = find(parent, (uint32_t)x->a), rb = find(parent, (uint32_t)x->b);
			if (ra != rb) parent[ra > rb ? ra : rb] = ra < rb ? ra : rb; /* lowest seq stays the root */
			npairs++;
		}
	}
	/* Groups linked by reuse; the source is the first document in input order. */
	size_t groups = 0;
	if (cl.f || st.f || !quiet) {
		uint32_t *first = malloc((meta.n ? meta.n : 1) * sizeof *first);
		size_t *count = calloc(meta.n ? meta.n : 1, sizeof *count);
		if (!first || !count) { free(first); free(count); cli_error("out of memory"); goto done; }
		for (size_t i = 0; i < meta.n; i++) count[find(parent, (uint32_t)i)]++;
		for (size_t i = 0; i < meta.n; i++) {
			uint32_t root = find(parent, (uint32_t)i);
			if (count[root] < 2) continue;
			if (root == i) {
				groups++;
				linked += count[root];
				if (cl.f) {
					/* the source: earliest by date, else first */
					size_t src = i;
					if (date_field)
						for (size_t j = i + 1; j < meta.n; j++)
							if (find(parent, (uint32_t)j) == root && date_before(&meta, j, src)) src = j;
					fputs("{\"source\": ", cl.f);
					write_id(cl.f, &meta, src);
					fprintf(cl.f, ", \"size\": %zu, \"documents\": [", count[root]);
					/* members in input order: scan forward (groups are few and small) */
					int firstm = 1;
					for (size_t j = i; j < meta.n; j++)
						if (find(parent, (uint32_t)j) == root) {
							if (!firstm) fputs(", ", cl.f);
							write_id(cl.f, &meta, j);
							firstm = 0;
						}
					fputs("]}\n", cl.f);
				}
			}
		}
		free(first);
		free(count);
	}
	if (bp.f) {
		for (size_t i = 0; i < meta.n; i++) {
			rp_range *rg;
			size_t nr;
			if (rp_reuse_template_spans(r, i, &rg, &nr, &err)) { cli_rp_error(&err); goto done; }
			if (nr) {
				fputs("{\"id\": ", bp.f);
				write_id(bp.f, &meta, i);
				fputs(", \"boilerplate\": [", bp.f);
				for (size_t k = 0; k < nr; k++)
					fprintf(bp.f, "%s[%llu, %llu]", k ? ", " : "", (unsigned long long)rg[k].start,
					        (unsigned long long)rg[k].end);
				fputs("]}\n", bp.f);
			}
			rp_free_ranges(rg);
		}
	}
	cpu[2] = cpu_now();
	double secs = now_seconds() - t0;
	if (st.f)
		fprintf(st.f,
		        "{\"read\": %zu, \"errored\": %zu, \"pairs\": %zu, \"candidates\": %zu, \"groups\": %zu, "
		        "\"documents_linked\": %zu, \"boilerplate_fingerprints\": %zu, \"bytes\": %llu, \"seconds\": %.3f, "
		        "\"mb_per_s\": %.2f, \"peak_rss_mb\": %.1f, \"min_words\": %d, \"ngram\": %d, \"norm_version\": %d, "
		        "\"memory_budget_mb\": %.1f, \"cpu_read\": %.3f, \"cpu_finish\": %.3f, \"cpu_pairs\": %.3f}\n",
		        meta.n, meta.nbad, npairs, rp_reuse_candidates(r), groups, linked, rp_reuse_template_fingerprints(r),
		        (unsigned long long)meta.bytes, secs, secs > 0 ? meta.bytes / 1e6 / secs : 0.0, peak_rss_mb(),
		        ro.min_words, p.ngram, RP_NORM_VERSION, rp_reuse_memory_budget(r) / 1048576.0, cpu[0], cpu[1] - cpu[0],
		        cpu[2] - cpu[1]);
	if (out_commit_all((out_file *[]){&out, &cl, &bp, &st}, 4)) goto done;
	if (!quiet)
		cli_error("read %zu, errored %zu; %zu %s passages of %d+ words (%zu candidate%s), %zu group%s; "
		          "%.2f s, %.1f MB/s, peak %.0f MB",
		          meta.n, meta.nbad, npairs, npairs == 1 ? "pair shares" : "pairs share", ro.min_words,
		          rp_reuse_candidates(r), rp_reuse_candidates(r) == 1 ? "" : "s", groups, groups == 1 ? "" : "s", secs,
		          secs > 0 ? meta.bytes / 1e6 / secs : 0.0, peak_rss_mb());
	status = EXIT_OK;
done:
	if (status != EXIT_OK) { out_abort(&out); out_abort(&cl); out_abort(&bp); out_abort(&st); }
	free(parent);
	meta_free(&meta);
	rp_reader_free(reader);
	rp_reuse_free(r);
	rp_pool_free(pool);
	return status;
}
