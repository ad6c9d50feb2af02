/* The reader: UTF-8 validation, JSON Lines fields and errors with their
 * positions, LINES and FILE formats, directory order, gzip (multi-member) and
 * zstd by magic, truncated and corrupt streams, over-long records with bounded
 * memory, allocation failure at every allocation, and the real corpora.
 * Fixtures are written to a fresh directory under /tmp. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#include "test.h"
#include "reprint.h"
#include "internal.h"

static char tmpdir[256];

/* Path of a fixture (a few rotating static buffers). */
static const char *fx(const char *name)
{
	static char bufs[8][512];
	static int k;
	char *b = bufs[k++ % 8];
	snprintf(b, 512, "%s/%s", tmpdir, name);
	return b;
}

static void write_bytes(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f) {
		perror(path);
		exit(2);
	}
	if (len && fwrite(data, 1, len, f) != len) exit(2);
	fclose(f);
}

static void write_str(const char *path, const char *s) { write_bytes(path, s, strlen(s)); }

/* gzip with one member per part (zlib appends a member on each gzopen "ab"). */
static void write_gzip(const char *path, const char *const *parts, size_t nparts)
{
	unlink(path);
	for (size_t i = 0; i < nparts; i++) {
		gzFile g = gzopen(path, "ab");
		if (!g) exit(2);
		if (strlen(parts[i])) gzwrite(g, parts[i], (unsigned)strlen(parts[i]));
		gzclose(g);
	}
}

/* zstd with one frame per part. */
static void write_zstd(const char *path, const char *const *parts, size_t nparts)
{
	FILE *f = fopen(path, "wb");
	if (!f) exit(2);
	for (size_t i = 0; i < nparts; i++) {
		size_t len = strlen(parts[i]), cap = ZSTD_compressBound(len);
		char *c = malloc(cap);
		ZSTD_CCtx *cc = ZSTD_createCCtx();
		ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
		size_t n = ZSTD_compress2(cc, c, cap, parts[i], len);
		ZSTD_freeCCtx(cc);
		if (ZSTD_isError(n)) exit(2);
		fwrite(c, 1, n, f);
		free(c);
	}
	fclose(f);
}

static char *read_whole(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) exit(2);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)n + 1);
	if (fread(b, 1, (size_t)n, f) != (size_t)n) exit(2);
	fclose(f);
	*len = (size_t)n;
	return b;
}

/* ---- collecting records ------------------------------------------------ */

typedef struct got_rec {
	uint64_t seq, line, byte;
	int bad, id_is_number, id_default;
	char *text, *id, *raw, *file; /* NUL-terminated copies */
	size_t text_len, id_len, raw_len;
	int text_in_raw;               /* text points into raw (no copy was made) */
	char msg[512];                 /* error of a bad record */
	uint64_t err_line, err_byte;
	char err_file[512];
} got_rec;

typedef struct got {
	got_rec *rec;
	size_t n;
	int status;  /* what ended the reading: 0 or a negative rp_status */
	rp_error err;
	int again;   /* status of one more call after the end or a fatal error */
} got;

static char *dup_bytes(const char *s, size_t len)
{
	char *d = malloc(len + 1);
	if (len) memcpy(d, s, len);
	d[len] = 0;
	return d;
}

static got read_inputs(const char *const *in, size_t nin, const rp_reader_opts *o)
{
	got g = {0};
	rp_reader *r;
	rp_error e = {0};
	g.status = rp_reader_new(&r, in, nin, o, &e);
	if (g.status) {
		g.err = e;
		return g;
	}
	size_t cap = 0;
	for (;;) {
		rp_record rec;
		int rc = rp_reader_next(r, &rec, &e);
		if (rc != 1) {
			g.status = rc;
			g.err = e;
			rp_error e2;
			g.again = rp_reader_next(r, &rec, &e2);
			break;
		}
		if (g.n == cap) {
			cap = cap ? 2 * cap : 16;
			g.rec = realloc(g.rec, cap * sizeof *g.rec);
		}
		got_rec *x = &g.rec[g.n++];
		memset(x, 0, sizeof *x);
		x->seq = rec.seq;
		x->line = rec.line;
		x->byte = rec.byte;
		x->bad = rec.bad;
		x->id_is_number = rec.id_is_number;
		x->id_default = rec.id_default;
		x->text = dup_bytes(rec.text, rec.text_len);
		x->text_len = rec.text_len;
		x->id = dup_bytes(rec.id, rec.id_len);
		x->id_len = rec.id_len;
		x->raw = dup_bytes(rec.raw, rec.raw_len);
		x->raw_len = rec.raw_len;
		x->file = dup_bytes(rec.file, strlen(rec.file));
		x->text_in_raw = rec.text_len && rec.text >= rec.raw && rec.text < rec.raw + rec.raw_len;
		if (rec.bad) {
			snprintf(x->msg, sizeof x->msg, "%s", e.message);
			snprintf(x->err_file, sizeof x->err_file, "%s", e.file);
			x->err_line = e.line;
			x->err_byte = e.byte;
		}
	}
	rp_reader_free(r);
	return g;
}

static void got_free(got *g)
{
	for (size_t i = 0; i < g->n; i++) {
		free(g->rec[i].text);
		free(g->rec[i].id);
		free(g->rec[i].raw);
		free(g->rec[i].file);
	}
	free(g->rec);
	memset(g, 0, sizeof *g);
}

static got read_one(const char *path, const rp_reader_opts *o) { return read_inputs(&path, 1, o); }

/* Offset of the first occurrence of needle in hay (which may hold NULs). */
static uint64_t offset_of(const char *hay, size_t len, const char *needle)
{
	const char *p = memmem(hay, len, needle, strlen(needle));
	return p ? (uint64_t)(p - hay) : (uint64_t)-1;
}

/* ---- UTF-8 ------------------------------------------------------------- */

static void test_utf8_check(void)
{
	static const struct { const char *s; size_t len, want; } v[] = {
		{"", 0, 0},
		{"plain ascii text", 16, 16},
		{"caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80", 14, 14},
		{"\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", 18, 18},
		{"a\xc0\x80", 3, 1},             /* overlong NUL */
		{"a\xc1\xbf", 3, 1},             /* overlong */
		{"ab\xe0\x9f\xbf", 5, 2},        /* overlong 3-byte */
		{"\xf0\x8f\xbf\xbf", 4, 0},      /* overlong 4-byte */
		{"xx\xed\xa0\x80", 5, 2},        /* surrogate U+D800 */
		{"\xed\x9f\xbf", 3, 3},          /* U+D7FF is fine */
		{"\xf4\x90\x80\x80", 4, 0},      /* above U+10FFFF */
		{"\xf5\x80\x80\x80", 4, 0},
		{"\xff", 1, 0},
		{"abc\x80", 4, 3},               /* lone continuation */
		{"abc\xe4\xb8", 5, 3},           /* truncated at the end */
		{"\xe4\xb8x", 3, 0},             /* truncated by ASCII */
		{"nul\0here", 8, 3},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		CHECKF(rp_utf8_check(v[i].s, v[i].len) == v[i].want, "vector %zu: got %zu want %zu", i,
		       rp_utf8_check(v[i].s, v[i].len), v[i].want);

	/* A bad byte at every position of a long buffer (fast-path boundaries),
	 * with and without non-ASCII text before it. */
	char buf[80];
	for (int prefix = 0; prefix < 2; prefix++) {
		for (size_t at = 0; at < 70; at++) {
			for (size_t i = 0; i < sizeof buf; i++) buf[i] = (char)('a' + i % 26);
			if (prefix && at >= 3) memcpy(buf + at - 3, "\xc3\xa9 ", 3);
			buf[at] = 0;
			CHECKF(rp_utf8_check(buf, sizeof buf) == at, "NUL at %zu", at);
			buf[at] = (char)0xa0;
			CHECKF(rp_utf8_check(buf, sizeof buf) == at, "0xa0 at %zu", at);
			buf[at] = 'z';
			CHECK(rp_utf8_check(buf, sizeof buf) == sizeof buf);
		}
	}
}

/* ---- JSON Lines -------------------------------------------------------- */

static const char jsonl_good[] =
	"{\"id\": \"a1\", \"text\": \"Hello \\\"world\\\"\\n\\tTab \\u00e9\\u4E2D \\ud83d\\ude00 end\\/\\\\\"}\n"
	"   \t\n"
	"{\"meta\": {\"id\": 42, \"x\": [1, 2.5e-3, {\"id\": \"no\"}, true, null]}, \"text\": \"nested\", \"id\": \"top\"}\n"
	"{\"text\": \"no id here\"}\r\n"
	"\n"
	"{\"id\": \"b\\u0041\", \"text\": \"plain caf\xc3\xa9\", \"extra\": {\"k\\u0065y\": \"\\udc00 lone surrogate elsewhere is fine\"}}\n"
	"{\"id\": -1.5E+3, \"text\": \"\"}";

static void test_jsonl_fields(void)
{
	const char *path = fx("good.jsonl");
	write_str(path, jsonl_good);
	got g = read_one(path, NULL);
	CHECK(g.status == 0);
	CHECK(g.again == 0);
	CHECKF(g.n == 5, "%zu records", g.n);
	if (g.n != 5) goto out;
	for (size_t i = 0; i < g.n; i++) {
		CHECK(g.rec[i].seq == i);
		CHECK(!g.rec[i].bad);
		CHECK(!strcmp(g.rec[i].file, path));
	}
	got_rec *r = g.rec;
	CHECK(!strcmp(r[0].id, "a1") && !r[0].id_is_number && !r[0].id_default);
	CHECK(!strcmp(r[0].text, "Hello \"world\"\n\tTab \xc3\xa9\xe4\xb8\xad \xf0\x9f\x98\x80 end/\\"));
	CHECK(r[0].line == 1 && r[0].byte == 0);
	CHECK(r[0].raw_len == offset_of(jsonl_good, sizeof jsonl_good - 1, "\n   \t"));
	CHECK(!r[0].text_in_raw);

	CHECK(!strcmp(r[1].id, "top") && !strcmp(r[1].text, "nested"));
	CHECK(r[1].line == 3);
	CHECK(r[1].byte == offset_of(jsonl_good, sizeof jsonl_good - 1, "{\"meta\""));
	CHECK(r[1].text_in_raw); /* no escapes: no copy */

	/* \r\n: the \r is not part of the raw line; id falls back to PATH:LINE */
	char want_id[600];
	snprintf(want_id, sizeof want_id, "%s:4", path);
	CHECK(!strcmp(r[2].id, want_id) && r[2].line == 4 && r[2].id_default);
	CHECK(!strcmp(r[2].raw, "{\"text\": \"no id here\"}"));

	CHECK(!strcmp(r[3].id, "bA") && r[3].line == 6);
	CHECK(!strcmp(r[3].text, "plain caf\xc3\xa9"));

	CHECK(!strcmp(r[4].id, "-1.5E+3") && r[4].id_is_number && !r[4].id_default);
	CHECK(r[4].text_len == 0 && r[4].line == 7); /* last line without newline */
	got_free(&g);

	/* Dotted paths: the id inside "meta", and a text field that is missing. */
	rp_reader_opts o = {RP_FORMAT_JSONL, "text", "meta.id", 0};
	g = read_one(path, &o);
	CHECK(g.n == 5 && g.status == 0);
	if (g.n == 5) {
		CHECK(!strcmp(g.rec[1].id, "42") && g.rec[1].id_is_number);
		snprintf(want_id, sizeof want_id, "%s:1", path);
		CHECK(!strcmp(g.rec[0].id, want_id)); /* "id" is no "meta.id" */
	}
	got_free(&g);

	/* A byte-order mark before the first line is skipped. */
	write_str(fx("bom.jsonl"), "\xef\xbb\xbf{\"text\": \"bom\"}\n");
	g = read_one(fx("bom.jsonl"), NULL);
	CHECK(g.n == 1 && !g.rec[0].bad && !strcmp(g.rec[0].text, "bom") && g.rec[0].byte == 3);
	got_free(&g);

	write_str(fx("nested.jsonl"), "{\"doc\": {\"body\": {\"text\": \"deep\"}, \"text\": \"shallow\"}, \"text\": 1}\n"
	                              "{\"doc\": {\"body\": \"not an object\"}}\n");
	rp_reader_opts o2 = {RP_FORMAT_AUTO, "doc.body.text", "doc.id", 0};
	g = read_one(fx("nested.jsonl"), &o2);
	CHECK(g.n == 2);
	if (g.n == 2) {
		CHECK(!g.rec[0].bad && !strcmp(g.rec[0].text, "deep"));
		CHECK(g.rec[1].bad && !strcmp(g.rec[1].msg, "missing text field \"doc.body.text\""));
	}
	got_free(&g);
out:
	got_free(&g);
}

/* One bad line each; every one is returned as a bad record with the reason
 * and the offset of the problem, and reading goes on. */
static void test_jsonl_bad_records(void)
{
	static const char bad[] =
		"{\"id\": \"m1\", \"title\": \"x\"}\n"                         /* 1 missing text */
		"{\"id\": \"u1\", \"text\": \"abc}\n"                          /* 2 unterminated */
		"{\"id\": \"v1\", \"text\": \"a\xff b\"}\n"                    /* 3 invalid UTF-8 */
		"{\"id\": \"n1\", \"text\": \"a\\u0000b\"}\n"                  /* 4 NUL escape */
		"{\"id\": \"n2\", \"text\": \"a\0b\"}\n"                       /* 5 raw NUL */
		"{\"id\": \"s1\", \"text\": \"x\\ud800y\"}\n"                  /* 6 lone surrogate */
		"{\"id\": \"t1\", \"text\": 5}\n"                              /* 7 not a string */
		"{\"text\": \"ok\", \"id\": \"after\"} x\n"                    /* 8 trailing data */
		"[1, 2]\n"                                                     /* 9 not an object */
		"{\"text\": \"fine\", \"id\": \"good\"}\n"                     /* 10 good */
		"{\"id\": \"\xc0\xaf\", \"text\": \"overlong\"}\n"             /* 11 invalid UTF-8 */
		"{\"text\": \"x\", \"id\": null}\n"                            /* 12 id type */
		"{\"text\": \"x\", \"id\": \"e\", \"n\": 01}\n"                /* 13 bad number */
		"{\"text\": \"x\\q\"}\n"                                       /* 14 bad escape */
		"{\"text\": \"x\", }\n"                                        /* 15 trailing comma */
		"{\"text\": \"tab\there\"}\n"                                  /* 16 raw control */
		"{\"text\": \"x\\u12\"}\n";                                    /* 17 short \u */
	const size_t len = sizeof bad - 1;
	const char *path = fx("bad.jsonl");
	write_bytes(path, bad, len);
	got g = read_one(path, NULL);
	CHECK(g.status == 0);
	CHECKF(g.n == 17, "%zu records", g.n);
	if (g.n != 17) {
		got_free(&g);
		return;
	}
	static const struct { const char *msg, *id, *at; } want[] = {
		{"missing text field \"text\"", "m1", "{\"id\": \"m1\""},
		{"invalid JSON: unterminated string", "u1", "\"abc}"},
		{"invalid UTF-8", "v1", "\xff b"},
		{"NUL byte in text", "n1", "\\u0000b"},
		{"NUL byte in text", "n2", NULL}, /* at the raw NUL of line 5 */
		{"invalid \\u escape", "s1", "\\ud800y"},
		{"text field \"text\" is not a string", "t1", "{\"id\": \"t1\""},
		{"invalid JSON: unexpected data after the value", "after", "x\n[1"},
		{"JSON line is not an object", NULL, "[1, 2]"},
		{NULL, "good", NULL},
		{"invalid UTF-8", NULL, "\xc0\xaf"},
		{"id field \"id\" is not a string or number", NULL, "{\"text\": \"x\", \"id\": null"},
		{"invalid JSON: invalid number (leading zero)", "e", "01}\n"},
		{"invalid JSON: invalid escape", NULL, "\\q"},
		{"invalid JSON: expected a string key", NULL, "}\n{\"text\": \"tab"},
		{"invalid JSON: unescaped control character", NULL, "\there"},
		{"invalid JSON: invalid \\u escape", NULL, "\\u12"},
	};
	for (size_t i = 0; i < 17; i++) {
		got_rec *r = &g.rec[i];
		CHECK(r->seq == i && r->line == i + 1);
		if (!want[i].msg) {
			CHECK(!r->bad && !strcmp(r->text, "fine") && !strcmp(r->id, want[i].id));
			continue;
		}
		CHECKF(r->bad, "line %zu not bad", i + 1);
		CHECKF(strstr(r->msg, want[i].msg) != NULL, "line %zu: [%s] want [%s]", i + 1, r->msg,
		       want[i].msg);
		CHECK(r->text_len == 0);
		CHECK(!strcmp(r->err_file, r->file) && r->err_line == i + 1);
		/* the offset of the problem in the stream */
		uint64_t at = want[i].at ? offset_of(bad, len, want[i].at)
		                         : (uint64_t)((const char *)memchr(bad + r->byte, 0, len - r->byte) - bad);
		CHECKF(r->err_byte == at, "line %zu: error at %llu, want %llu", i + 1,
		       (unsigned long long)r->err_byte, (unsigned long long)at);
		/* the raw line is there; the id is the parsed one or PATH:LINE */
		CHECK(r->raw_len > 0 && r->byte + r->raw_len < len && bad[r->byte + r->raw_len] == '\n');
		char want_id[600];
		if (want[i].id) snprintf(want_id, sizeof want_id, "%s", want[i].id);
		else snprintf(want_id, sizeof want_id, "%s:%zu", path, i + 1);
		CHECKF(!strcmp(r->id, want_id), "line %zu: id [%s] want [%s]", i + 1, r->id, want_id);
	}
	got_free(&g);

	/* Nesting deeper than the limit is refused, not a stack overflow. */
	char deep[4096];
	size_t n = 0;
	n += (size_t)sprintf(deep, "{\"text\": \"x\", \"a\": ");
	for (int i = 0; i < 1000; i++) deep[n++] = '[';
	for (int i = 0; i < 1000; i++) deep[n++] = ']';
	deep[n++] = '}';
	deep[n++] = '\n';
	write_bytes(fx("deep.jsonl"), deep, n);
	g = read_one(fx("deep.jsonl"), NULL);
	CHECK(g.n == 1 && g.rec[0].bad && strstr(g.rec[0].msg, "nested"));
	got_free(&g);
}

/* ---- over-long records, bounded memory --------------------------------- */

/* An allocator that counts live bytes and allocations, keeps the peak, and
 * can fail the Nth allocation. */
static size_t live_bytes, peak_bytes, live_allocs, alloc_count, fail_at;
static int failed;

static void *count_malloc(void *ctx, size_t size)
{
	(void)ctx;
	if (fail_at && ++alloc_count == fail_at) {
		failed = 1;
		return NULL;
	}
	size_t *p = malloc(size + 16);
	if (!p) return NULL;
	*p = size;
	live_bytes += size;
	live_allocs++;
	if (live_bytes > peak_bytes) peak_bytes = live_bytes;
	return (char *)p + 16;
}

static void count_free(void *ctx, void *q)
{
	(void)ctx;
	if (!q) return;
	size_t *p = (size_t *)((char *)q - 16);
	live_bytes -= *p;
	live_allocs--;
	free(p);
}

static void *count_realloc(void *ctx, void *q, size_t size)
{
	if (!q) return count_malloc(ctx, size);
	if (fail_at && ++alloc_count == fail_at) {
		failed = 1;
		return NULL;
	}
	size_t *p = (size_t *)((char *)q - 16), old = *p;
	size_t *n = realloc(p, size + 16);
	if (!n) return NULL;
	*n = size;
	live_bytes = live_bytes - old + size;
	if (live_bytes > peak_bytes) peak_bytes = live_bytes;
	return (char *)n + 16;
}

static const rp_allocator counting = {count_malloc, count_realloc, count_free, NULL};

static void count_reset(size_t fail)
{
	live_bytes = peak_bytes = live_allocs = alloc_count = 0;
	fail_at = fail;
	failed = 0;
}

/* Escapes, control and non-ASCII bytes at every offset around the 16- and
 * 64-byte blocks the string decoders work in, after an earlier escape (the
 * decoding loop) or not (the first escape starts it). */
static void test_escape_blocks(void)
{
	static const struct {
		const char *json, *text; /* text NULL: a bad record */
		const char *msg;
		int at; /* the error's byte within the token */
	} tok[] = {
		{"\\n", "\n", NULL, 0},
		{"\\\\", "\\", NULL, 0},
		{"\\\"", "\"", NULL, 0},
		{"\\\\\\n", "\\\n", NULL, 0},
		{"\\\\\\\\\\\\", "\\\\\\", NULL, 0},
		{"\\/\\b\\f\\r\\t", "/\b\f\r\t", NULL, 0},
		{"\\u00e9\\n", "\xc3\xa9\n", NULL, 0},
		{"\xc3\xa9\\\"", "\xc3\xa9\"", NULL, 0},
		{"\\x", NULL, "invalid JSON: invalid escape", 0},
		{"\\\\\\x", NULL, "invalid JSON: invalid escape", 2},
		{"\\\x01", NULL, "invalid JSON: invalid escape", 0},
		{"\\\xc3\xa9", NULL, "invalid JSON: invalid escape", 0},
		{"\\\xe2\x80\x99", NULL, "invalid JSON: invalid escape", 0}, /* 0xe2 & 0x7f is 'b' */
		{"\x01", NULL, "invalid JSON: unescaped control character in string", 0},
		{"\\n\xff", NULL, "invalid UTF-8", 2},
		{"\\u0000", NULL, "NUL byte in text", 0},
	};
	const char *path = fx("escapes.jsonl");
	size_t ntok = sizeof tok / sizeof tok[0], nrec = 0;
	FILE *f = fopen(path, "wb");
	for (size_t t = 0; t < ntok; t++)
		for (int lead = 0; lead < 2; lead++)
			for (int k = 0; k < 140; k++, nrec++)
				fprintf(f, "{\"text\":\"%s%*s%s%s\"}\n", lead ? "\\n" : "", k, "",
				        tok[t].json, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\\\\");
	fclose(f);
	got g = read_one(path, NULL);
	CHECK(g.status == 0 && g.n == nrec);
	size_t i = 0, fails = 0;
	for (size_t t = 0; t < ntok && g.n == nrec; t++)
		for (int lead = 0; lead < 2; lead++)
			for (int k = 0; k < 140; k++, i++) {
				got_rec *x = &g.rec[i];
				if (!tok[t].text) {
					uint64_t at = x->byte + 9 + (lead ? 2 : 0) + (uint64_t)k + (uint64_t)tok[t].at;
					fails += !x->bad || strcmp(x->msg, tok[t].msg) || x->err_byte != at;
					continue;
				}
				char want[512];
				snprintf(want, sizeof want, "%s%*s%s%s", lead ? "\n" : "", k, "", tok[t].text,
				         "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\\");
				fails += x->bad || strcmp(x->text, want) || x->text_len != strlen(want);
			}
	CHECK(fails == 0);
	got_free(&g);
}

static void test_overlong_records(void)
{
	/* Lines of exactly max_record bytes pass (also before \r\n); one more
	 * byte does not, and the next line is read normally. */
	const size_t max = 64;
	char line[200], content[1000];
	size_t n = 0;
	memset(line, 'x', sizeof line);
	/* {"text":"xxx"} = 11 + k bytes */
	n += (size_t)sprintf(content + n, "{\"text\":\"%.*s\"}\n", (int)(max - 11), line);
	n += (size_t)sprintf(content + n, "{\"text\":\"%.*s\"}\r\n", (int)(max - 11), line);
	n += (size_t)sprintf(content + n, "{\"text\":\"%.*s\"}\n", (int)(max - 10), line);
	n += (size_t)sprintf(content + n, "{\"text\":\"%.*s\"}\n", 150, line);
	n += (size_t)sprintf(content + n, "{\"text\":\"after\"}\n");
	n += (size_t)sprintf(content + n, "{\"text\":\"%.*s\"}", 150, line); /* no newline */
	write_bytes(fx("long.jsonl"), content, n);
	rp_reader_opts o = {RP_FORMAT_AUTO, NULL, NULL, max};
	got g = read_one(fx("long.jsonl"), &o);
	CHECK(g.status == 0 && g.n == 6);
	if (g.n == 6) {
		CHECK(!g.rec[0].bad && g.rec[0].text_len == max - 11);
		CHECK(!g.rec[1].bad && g.rec[1].raw_len == max);
		CHECK(g.rec[2].bad && !strcmp(g.rec[2].msg, "record longer than 64 bytes"));
		CHECK(g.rec[2].raw_len <= max && g.rec[2].line == 3);
		CHECK(g.rec[3].bad && g.rec[3].line == 4);
		CHECK(!g.rec[4].bad && !strcmp(g.rec[4].text, "after") && g.rec[4].line == 5);
		CHECK(g.rec[5].bad && g.rec[5].line == 6);
		char id[600];
		snprintf(id, sizeof id, "%s:4", fx("long.jsonl"));
		CHECK(!strcmp(g.rec[3].id, id));
	}
	got_free(&g);

	/* A 24 MiB line with max_record 1 MiB, plain and gzip: memory stays
	 * bounded by the record limit, not by the line or the file. */
	size_t big = (size_t)24 << 20;
	char *huge = malloc(big + 100);
	memcpy(huge, "{\"text\": \"", 10);
	for (size_t i = 10; i < big; i++) huge[i] = (char)('a' + i % 26);
	size_t hl = big;
	hl += (size_t)sprintf(huge + hl, "\"}\n{\"text\": \"next\"}\n");
	write_bytes(fx("huge.jsonl"), huge, hl);
	huge[hl] = 0;
	const char *part[] = {huge};
	write_gzip(fx("huge.jsonl.gz"), part, 1);
	free(huge);
	rp_reader_opts o1 = {RP_FORMAT_JSONL, NULL, NULL, (size_t)1 << 20};
	const char *names[] = {"huge.jsonl", "huge.jsonl.gz"};
	for (int k = 0; k < 2; k++) {
		count_reset(0);
		rp_alloc_set(&counting);
		g = read_one(fx(names[k]), &o1);
		rp_alloc_set(NULL);
		CHECK(g.status == 0 && g.n == 2);
		if (g.n == 2) {
			CHECK(g.rec[0].bad && !strcmp(g.rec[0].msg, "record longer than 1048576 bytes"));
			CHECK(!g.rec[1].bad && !strcmp(g.rec[1].text, "next") && g.rec[1].line == 2);
			CHECK(g.rec[1].byte == big + 3);
		}
		CHECKF(peak_bytes < ((size_t)8 << 20), "%s: peak %zu bytes", names[k], peak_bytes);
		CHECK(live_allocs == 0 && live_bytes == 0);
		got_free(&g);
	}

	/* FILE records: over the limit is bad, and the next file is read. */
	mkdir(fx("fdir"), 0755);
	write_str(fx("fdir/a.txt"), "a file that is longer than twenty bytes");
	write_str(fx("fdir/b.txt"), "short");
	rp_reader_opts o2 = {RP_FORMAT_AUTO, NULL, NULL, 20};
	g = read_one(fx("fdir"), &o2);
	CHECK(g.status == 0 && g.n == 2);
	if (g.n == 2) {
		CHECK(g.rec[0].bad && !strcmp(g.rec[0].msg, "record longer than 20 bytes"));
		CHECK(!strcmp(g.rec[0].id, fx("fdir/a.txt")) && g.rec[0].line == 0);
		CHECK(!g.rec[1].bad && !strcmp(g.rec[1].text, "short"));
	}
	got_free(&g);
}

/* ---- LINES and FILE ---------------------------------------------------- */

static void test_lines_format(void)
{
	static const char lines[] = "one\r\n\ntwo \xe2\x82\xac\nbad \xe2\x82\nnul\0x\nlast";
	write_bytes(fx("doc.txt"), lines, sizeof lines - 1);
	rp_reader_opts o = {RP_FORMAT_LINES, NULL, NULL, 0};
	got g = read_one(fx("doc.txt"), &o);
	CHECK(g.status == 0 && g.n == 6);
	if (g.n == 6) {
		CHECK(!strcmp(g.rec[0].text, "one") && g.rec[0].raw_len == 3 && g.rec[0].line == 1);
		CHECK(!g.rec[1].bad && g.rec[1].text_len == 0 && g.rec[1].line == 2 && g.rec[1].byte == 5);
		CHECK(!strcmp(g.rec[2].text, "two \xe2\x82\xac"));
		CHECK(g.rec[3].bad && !strcmp(g.rec[3].msg, "invalid UTF-8") &&
		      g.rec[3].err_byte == offset_of(lines, sizeof lines - 1, "\xe2\x82\nnul"));
		CHECK(g.rec[4].bad && !strcmp(g.rec[4].msg, "NUL byte in text") && g.rec[4].err_byte == 24);
		CHECK(!strcmp(g.rec[5].text, "last") && g.rec[5].line == 6);
		char id[600];
		snprintf(id, sizeof id, "%s:3", fx("doc.txt"));
		CHECK(!strcmp(g.rec[2].id, id));
	}
	got_free(&g);

	/* A final newline makes no extra record; an empty file makes none. */
	write_str(fx("two.txt"), "a\n\n");
	write_str(fx("empty.txt"), "");
	const char *in[] = {fx("two.txt"), fx("empty.txt")};
	g = read_inputs(in, 2, &o);
	CHECK(g.status == 0 && g.n == 2);
	got_free(&g);

	/* FILE: the whole file, id = path, line 0; an empty file is an empty document. */
	rp_reader_opts f = {RP_FORMAT_FILE, NULL, NULL, 0};
	g = read_inputs(in, 2, &f);
	CHECK(g.status == 0 && g.n == 2);
	if (g.n == 2) {
		CHECK(!strcmp(g.rec[0].text, "a\n\n") && !strcmp(g.rec[0].id, in[0]) && g.rec[0].line == 0);
		CHECK(g.rec[1].text_len == 0 && !g.rec[1].bad && g.rec[1].seq == 1);
	}
	got_free(&g);
}

/* ---- directories ------------------------------------------------------- */

static void test_directory_walk(void)
{
	mkdir(fx("dir"), 0755);
	mkdir(fx("dir/a"), 0755);
	write_str(fx("dir/b.txt"), "bee");
	write_str(fx("dir/B.txt"), "Big");
	write_str(fx("dir/.hidden"), "hidden");
	write_str(fx("dir/empty.txt"), "");
	write_str(fx("dir/a/z.txt"), "zed\n");
	const char *gz[] = {"gzipped ", "doc"};
	write_gzip(fx("dir/a/c.gz"), gz, 2);
	const char *zs[] = {"zstd doc"};
	write_zstd(fx("dir/a.zst"), zs, 1);
	static const char *const order[][2] = {
		{"dir/.hidden", "hidden"}, {"dir/B.txt", "Big"}, {"dir/a/c.gz", "gzipped doc"},
		{"dir/a/z.txt", "zed\n"}, {"dir/a.zst", "zstd doc"}, {"dir/b.txt", "bee"},
		{"dir/empty.txt", ""},
	};
	char in_slash[600];
	snprintf(in_slash, sizeof in_slash, "%s/", fx("dir"));
	const char *variants[] = {fx("dir"), in_slash};
	for (int v = 0; v < 2; v++) {
		got g = read_one(variants[v], NULL);
		CHECK(g.status == 0);
		CHECKF(g.n == 7, "%zu records", g.n);
		for (size_t i = 0; i < g.n && i < 7; i++) {
			CHECKF(!strcmp(g.rec[i].id, fx(order[i][0])), "record %zu: %s", i, g.rec[i].id);
			CHECK(!strcmp(g.rec[i].file, g.rec[i].id));
			CHECK(!strcmp(g.rec[i].text, order[i][1]) && !g.rec[i].bad);
			CHECK(g.rec[i].line == 0 && g.rec[i].seq == i);
		}
		got_free(&g);
	}

	/* Under a directory an explicit JSONL format reads JSON Lines; seq goes
	 * on across inputs. */
	mkdir(fx("jdir"), 0755);
	write_str(fx("jdir/2.jsonl"), "{\"id\": \"c\", \"text\": \"third\"}\n");
	write_str(fx("jdir/1.jsonl"), "{\"id\": \"a\", \"text\": \"first\"}\n{\"id\": \"b\", \"text\": \"second\"}\n");
	const char *in[] = {fx("jdir"), fx("dir/b.txt")};
	rp_reader_opts o = {RP_FORMAT_JSONL, NULL, NULL, 0};
	write_str(fx("dir/b.txt"), "{\"id\": \"d\", \"text\": \"fourth\"}");
	got g = read_inputs(in, 2, &o);
	CHECK(g.status == 0 && g.n == 4);
	if (g.n == 4) {
		CHECK(!strcmp(g.rec[0].id, "a") && !strcmp(g.rec[2].id, "c") && !strcmp(g.rec[3].id, "d"));
		CHECK(!strcmp(g.rec[2].file, fx("jdir/2.jsonl")) && g.rec[3].seq == 3);
	}
	got_free(&g);

	/* An entry that cannot be read is an error, not skipped. */
	mkdir(fx("broken"), 0755);
	write_str(fx("broken/a.txt"), "fine");
	CHECK(symlink("does-not-exist", fx("broken/b.txt")) == 0);
	g = read_one(fx("broken"), NULL);
	CHECK(g.n == 1 && g.status == RP_EIO && g.again == RP_EIO);
	CHECK(!strcmp(g.err.file, fx("broken/b.txt")));
	CHECKF(strstr(g.err.message, "cannot open: No such file or directory") != NULL, "%s", g.err.message);
	got_free(&g);
	unlink(fx("broken/b.txt"));
	CHECK(mkfifo(fx("broken/c.fifo"), 0644) == 0);
	g = read_one(fx("broken"), NULL);
	CHECK(g.n == 1 && g.status == RP_EIO && strstr(g.err.message, "not a regular file"));
	got_free(&g);
	unlink(fx("broken/c.fifo"));

	/* A symbolic link back up the tree is refused rather than followed forever. */
	mkdir(fx("cyc"), 0755);
	CHECK(symlink(".", fx("cyc/loop")) == 0);
	g = read_one(fx("cyc"), NULL);
	CHECK(g.status == RP_EIO && strstr(g.err.message, "cycle"));
	got_free(&g);
}

/* ---- compression ------------------------------------------------------- */

static void test_gzip_zstd(void)
{
	const char *l1 = "{\"id\": \"g1\", \"text\": \"one\"}\n{\"id\": \"g2\", \"te";
	const char *l2 = "xt\": \"two\"}\n";
	const char *l3 = "{\"id\": \"g3\", \"text\": \"three\"}\n";
	const char *single[] = {"{\"id\": \"g1\", \"text\": \"one\"}\n"};
	const char *multi[] = {l1, l2, "", l3}; /* an empty member too */
	write_gzip(fx("single.jsonl.gz"), single, 1);
	write_gzip(fx("multi.jsonl.gz"), multi, 4);
	write_zstd(fx("multi.zst"), multi, 4);
	write_zstd(fx("no-extension"), single, 1);
	const char *in[] = {fx("single.jsonl.gz"), fx("multi.jsonl.gz"), fx("multi.zst"), fx("no-extension")};
	got g = read_inputs(in, 4, NULL);
	CHECK(g.status == 0);
	CHECKF(g.n == 8, "%zu records", g.n);
	static const char *ids[] = {"g1", "g1", "g2", "g3", "g1", "g2", "g3", "g1"};
	for (size_t i = 0; i < g.n && i < 8; i++) {
		CHECK(!g.rec[i].bad && !strcmp(g.rec[i].id, ids[i]) && g.rec[i].seq == i);
	}
	if (g.n == 8) {
		CHECK(!strcmp(g.rec[2].text, "two") && g.rec[2].line == 2 && g.rec[2].byte == 28);
		CHECK(!strcmp(g.rec[3].file, fx("multi.jsonl.gz")) && g.rec[3].byte == 56);
	}
	got_free(&g);

	/* stdin: "-" is sniffed like any file */
	int saved = dup(0), fd = open(fx("multi.jsonl.gz"), O_RDONLY);
	dup2(fd, 0);
	close(fd);
	g = read_one("-", NULL);
	dup2(saved, 0);
	close(saved);
	CHECK(g.status == 0 && g.n == 3);
	if (g.n == 3) CHECK(!strcmp(g.rec[0].file, "-") && !strcmp(g.rec[2].id, "g3"));
	got_free(&g);
}

/* gzip members whose headers carry an extra field, a name, a comment and a
 * header CRC, as gzip(1) writes a name: zlib's deflate with a gz_header. */
static size_t gzip_with_header(unsigned char *out, size_t cap, const char *text)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	if (deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) exit(2);
	gz_header h;
	memset(&h, 0, sizeof h);
	static unsigned char extra[] = "xy\004\000abcd";
	h.extra = extra;
	h.extra_len = 8;
	h.name = (Bytef *)"a-file-name-longer-than-a-few-reads.jsonl";
	h.comment = (Bytef *)"a comment";
	h.hcrc = 1;
	if (deflateSetHeader(&z, &h) != Z_OK) exit(2);
	z.next_in = (Bytef *)text;
	z.avail_in = (uInt)strlen(text);
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END) exit(2);
	size_t n = cap - z.avail_out;
	deflateEnd(&z);
	return n;
}

typedef struct {
	int wfd, rfd;
	const unsigned char *p;
	size_t n;
} trickle;

/* Write a few bytes at a time, each only once the reader has taken the last:
 * every read() of the reader gets one to three bytes. */
static void *trickle_main(void *v)
{
	trickle *t = v;
	for (size_t i = 0, k = 0; i < t->n; k++) {
		size_t c = 1 + k % 3;
		if (c > t->n - i) c = t->n - i;
		if (write(t->wfd, t->p + i, c) != (ssize_t)c) break;
		i += c;
		int left = 1;
		while (left > 0 && !ioctl(t->rfd, FIONREAD, &left) && left > 0) usleep(20);
	}
	close(t->wfd);
	return NULL;
}

/* A gzip stream from a slow pipe: ISA-L 2.30 misread a member header that
 * came a few bytes per read (a name split across reads gave "invalid deflate
 * block"), so the reader gathers each whole header first. */
static void test_gzip_trickle(void)
{
	static unsigned char gz[4096];
	size_t n = gzip_with_header(gz, sizeof gz, "{\"id\": \"t1\", \"text\": \"one two\"}\n{\"id\": \"t2\", \"text\": \"x\"}\n");
	n += gzip_with_header(gz + n, sizeof gz - n, "{\"id\": \"t3\", \"text\": \"three\"}\n");
	int fds[2];
	CHECK(pipe(fds) == 0);
	trickle t = {fds[1], fds[0], gz, n};
	pthread_t th;
	CHECK(pthread_create(&th, NULL, trickle_main, &t) == 0);
	int saved = dup(0);
	dup2(fds[0], 0);
	close(fds[0]);
	got g = read_one("-", NULL);
	pthread_join(th, NULL);
	dup2(saved, 0);
	close(saved);
	CHECKF(g.status == 0 && g.n == 3, "status %d, %zu records", g.status, g.n);
	if (g.n == 3) CHECK(!strcmp(g.rec[0].id, "t1") && !strcmp(g.rec[2].text, "three"));
	got_free(&g);
}

static void test_truncated_and_corrupt(void)
{
	/* 20000 lines, gzip and zstd, cut in the middle: the records before
	 * the cut come back, then a fatal error naming the file and the
	 * decompressed offset reached; every later call repeats it. */
	size_t cap = 2000000, n = 0;
	char *text = malloc(cap);
	for (int i = 0; i < 20000; i++)
		n += (size_t)snprintf(text + n, cap - n, "{\"id\": %d, \"text\": \"line %d of the test\"}\n", i, i * 7919);
	const char *part[] = {text};
	write_gzip(fx("t.jsonl.gz"), part, 1);
	write_zstd(fx("t.jsonl.zst"), part, 1);
	const char *names[] = {"t.jsonl.gz", "t.jsonl.zst"};
	const char *what[] = {"truncated gzip stream", "truncated zstd stream"};
	for (int k = 0; k < 2; k++) {
		size_t len;
		char *c = read_whole(fx(names[k]), &len);
		char cut[64];
		snprintf(cut, sizeof cut, "cut-%s", names[k]);
		write_bytes(fx(cut), c, len / 2);
		got g = read_one(fx(cut), NULL);
		CHECK(g.status == RP_EDATA && g.again == RP_EDATA);
		CHECKF(strstr(g.err.message, what[k]) != NULL, "%s", g.err.message);
		CHECK(!strcmp(g.err.file, fx(cut)));
		CHECK(g.n > 100 && g.n < 20000);
		size_t bad = 0;
		for (size_t i = 0; i < g.n; i++) bad += g.rec[i].bad;
		CHECK(bad == 0);
		if (g.n) CHECK(g.err.byte >= g.rec[g.n - 1].byte + g.rec[g.n - 1].raw_len);
		CHECK(g.err.byte <= n);
		got_free(&g);

		/* Corrupt: bytes overwritten in the middle. */
		memset(c + len / 2, 0x55, 64);
		snprintf(cut, sizeof cut, "corrupt-%s", names[k]);
		write_bytes(fx(cut), c, len);
		g = read_one(fx(cut), NULL);
		CHECK(g.status == RP_EDATA && !strcmp(g.err.file, fx(cut)));
		CHECKF(strstr(g.err.message, k ? "zstd" : "gzip") != NULL, "%s", g.err.message);
		got_free(&g);

		/* Only the magic. */
		snprintf(cut, sizeof cut, "magic-%s", names[k]);
		write_bytes(fx(cut), c, k ? 4 : 2);
		g = read_one(fx(cut), NULL);
		CHECK(g.status == RP_EDATA && g.n == 0 && strstr(g.err.message, what[k]));
		got_free(&g);
		free(c);
	}
	free(text);

	/* Garbage after the last gzip member is corrupt data, not ignored. */
	size_t len;
	char *c = read_whole(fx("single.jsonl.gz"), &len);
	c = realloc(c, len + 32);
	memcpy(c + len, "this is not a gzip member", 25);
	write_bytes(fx("trailing.gz"), c, len + 25);
	free(c);
	got g = read_one(fx("trailing.gz"), NULL);
	CHECK(g.n == 1 && g.status == RP_EDATA);
	got_free(&g);

	/* Missing file: the inputs before it are read first. */
	const char *in[] = {fx("single.jsonl.gz"), fx("missing.jsonl")};
	g = read_inputs(in, 2, NULL);
	CHECK(g.n == 1 && g.status == RP_EIO && g.again == RP_EIO);
	CHECK(!strcmp(g.err.file, fx("missing.jsonl")));
	CHECK(!strcmp(g.err.message, "cannot open: No such file or directory"));
	got_free(&g);
}

/* ---- options and allocation failure ------------------------------------ */

static void test_bad_options(void)
{
	rp_reader *r = (rp_reader *)1;
	rp_error e;
	const char *in[] = {"x"};
	rp_reader_opts o = {RP_FORMAT_AUTO, "", NULL, 0};
	CHECK(rp_reader_new(&r, in, 1, &o, &e) == RP_EUSAGE && r == NULL);
	o.text_field = "a..b";
	CHECK(rp_reader_new(&r, in, 1, &o, &e) == RP_EUSAGE);
	o.text_field = NULL;
	o.id_field = "meta.";
	CHECK(rp_reader_new(&r, in, 1, &o, &e) == RP_EUSAGE);
	o.id_field = NULL;
	o.format = (rp_format)9;
	CHECK(rp_reader_new(&r, in, 1, &o, &e) == RP_EUSAGE);
	CHECK(rp_reader_new(&r, NULL, 0, NULL, &e) == 0);
	rp_record rec;
	CHECK(rp_reader_next(r, &rec, &e) == 0);
	rp_reader_free(r);
	rp_reader_free(NULL);
}

/* Fail the 1st, 2nd, ... allocation: every run ends with RP_ENOMEM (or, once
 * no failure is left to inject, reads everything), and nothing leaks. */
static void test_allocation_failure(void)
{
	write_str(fx("esc.jsonl"), "{\"meta\": {\"k\\u0065y\": 1}, \"id\": \"a\\n\", \"text\": \"x\\ty\"}\n{\"text\": \"no id\"}\n");
	const char *in[] = {fx("esc.jsonl"), fx("dir"), fx("multi.zst"), fx("multi.jsonl.gz")};
	rp_reader_opts o = {RP_FORMAT_AUTO, "text", "meta.key", 0};
	got ref = read_inputs(in, 4, &o);
	CHECK(ref.status == 0 && ref.n == 2 + 7 + 3 + 3);
	size_t runs = 0;
	for (size_t n = 1; n < 1000; n++) {
		count_reset(n);
		rp_alloc_set(&counting);
		got g = read_inputs(in, 4, &o);
		rp_alloc_set(NULL);
		CHECKF(live_allocs == 0, "fail at %zu: %zu allocations leaked", n, live_allocs);
		runs++;
		if (!failed) {
			CHECK(g.status == 0 && g.n == ref.n);
			got_free(&g);
			break;
		}
		CHECKF(g.status == RP_ENOMEM, "fail at %zu: status %d (%s)", n, g.status, g.err.message);
		CHECK(g.n <= ref.n);
		got_free(&g);
	}
	CHECK(runs > 5 && runs < 1000);
	got_free(&ref);
}

/* ---- real corpora ------------------------------------------------------ */

static void test_corpora(void)
{
	got g = read_one(SHARED_DATA "/reuters21578.jsonl.gz", NULL);
	CHECK(g.status == 0);
	CHECKF(g.n == 21578, "%zu records", g.n);
	size_t bad = 0, empty = 0;
	for (size_t i = 0; i < g.n; i++) {
		bad += g.rec[i].bad;
		empty += g.rec[i].text_len == 0;
	}
	CHECK(bad == 0);
	CHECKF(empty == 737, "%zu empty texts", empty); /* README: 737 empty stories */
	if (g.n) CHECK(!strcmp(g.rec[0].id, "1") && !strcmp(g.rec[g.n - 1].id, "21578"));
	got_free(&g);

	g = read_one(SHARED_DATA "/bbc-news.jsonl.gz", NULL);
	CHECK(g.status == 0 && g.n == 2225);
	if (g.n) {
		CHECK(!strcmp(g.rec[0].id, "business/001"));
		CHECK(!strncmp(g.rec[0].text, "Ad sales boost Time Warner profit\n\n", 35));
		CHECK(strstr(g.rec[0].text, "\xc2\xa3" "600m") != NULL); /* £ decoded from the JSON */
	}
	got_free(&g);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* rp_reader_set_text_sink: a text with escapes is decoded at buf + len,
 * one without still points into the line, and the caller's len decides
 * where the next one goes; unset, the reader's own buffer again. */
static void test_text_sink(void)
{
	const char *path = fx("sink.jsonl");
	write_str(path, "{\"id\": 1, \"text\": \"plain words\"}\n"
	                "{\"id\": 2, \"text\": \"line\\none \\u00e9\"}\n"
	                "{\"id\": 3, \"text\": \"tab\\there\", \"x\": }\n"
	                "{\"id\": 4, \"text\": \"quote \\\"q\\\"\"}\n"
	                "{\"id\": 5, \"text\": \"again\\n\"}\n");
	rp_reader *r = NULL;
	rp_error e;
	const char *in[1] = {path};
	CHECK(rp_reader_new(&r, in, 1, NULL, &e) == 0);
	if (!r) return;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	rp_reader_set_text_sink(r, &buf, &len, &cap);
	rp_record rec;
	CHECK(rp_reader_next(r, &rec, &e) == 1 && !rec.bad);
	CHECK(rec.text_len == 11 && !memcmp(rec.text, "plain words", 11));
	CHECK(!buf || rec.text < buf || rec.text >= buf + cap); /* in the line */
	CHECK(rp_reader_next(r, &rec, &e) == 1 && !rec.bad);
	CHECK(buf && rec.text == buf && rec.text_len == 11 && !memcmp(rec.text, "line\none \xc3\xa9", 11));
	len = rec.text_len; /* kept */
	CHECK(rp_reader_next(r, &rec, &e) == 1 && rec.bad); /* decoded, then bad: len unchanged */
	CHECK(rp_reader_next(r, &rec, &e) == 1 && !rec.bad);
	CHECK(rec.text == buf + 11 && rec.text_len == 9 && !memcmp(rec.text, "quote \"q\"", 9));
	CHECK(!memcmp(buf, "line\none \xc3\xa9", 11)); /* the kept text is intact */
	rp_reader_set_text_sink(r, NULL, NULL, NULL);
	CHECK(rp_reader_next(r, &rec, &e) == 1 && !rec.bad);
	CHECK(rec.text_len == 6 && !memcmp(rec.text, "again\n", 6) && (rec.text < buf || rec.text >= buf + cap));
	CHECK(rp_reader_next(r, &rec, &e) == 0);
	rp_reader_free(r);
	free(buf);
}

/* Extra fields: a string (decoded), a number (its text), null or missing (no
 * value), anything else a bad record; "nul" is invalid JSON. */
static void test_extra_fields(void)
{
	const char *path = fx("extra.jsonl");
	write_str(path, "{\"id\": 1, \"date\": \"2005-\\u00309\", \"text\": \"a\"}\n"
	                "{\"id\": 2, \"date\": -1.5e3, \"text\": \"b\"}\n"
	                "{\"id\": 3, \"date\": null, \"text\": \"c\"}\n"
	                "{\"id\": 4, \"text\": \"d\"}\n"
	                "{\"id\": 5, \"date\": [1], \"text\": \"e\"}\n"
	                "{\"id\": 6, \"date\": nul, \"text\": \"f\"}\n");
	rp_reader *r = NULL;
	rp_error e;
	const char *in[1] = {path};
	CHECK(rp_reader_new(&r, in, 1, NULL, &e) == 0);
	if (!r) return;
	CHECK(rp_reader_set_extra(r, 1, "date", &e) == 0);
	rp_record rec;
	CHECK(rp_reader_next(r, &rec, &e) == 1 && !rec.bad);
	CHECK(rec.extra[1] && rec.extra_len[1] == 7 && !memcmp(rec.extra[1], "2005-09", 7) && !rec.extra[0]);
	CHECK(rp_reader_next(r, &rec, &e) == 1 && !rec.bad);
	CHECK(rec.extra[1] && rec.extra_len[1] == 6 && !memcmp(rec.extra[1], "-1.5e3", 6));
	CHECK(rp_reader_next(r, &rec, &e) == 1 && !rec.bad && !rec.extra[1] && !rec.extra_len[1]);
	CHECK(rp_reader_next(r, &rec, &e) == 1 && !rec.bad && !rec.extra[1] && !rec.extra_len[1]);
	CHECK(rp_reader_next(r, &rec, &e) == 1 && rec.bad && strstr(e.message, "field \"date\" is not a string or number"));
	CHECK(rp_reader_next(r, &rec, &e) == 1 && rec.bad && strstr(e.message, "invalid JSON"));
	CHECK(rp_reader_next(r, &rec, &e) == 0);
	rp_reader_free(r);
}

/* rp_texts: texts noted as read, then fetched again: in place from a plain
 * file (a JSON string decoded again, an escape-free one, a LINES record),
 * copied from gzip and from rp_texts_add_text; a bad record is empty; a
 * copied text cannot be fetched before rp_texts_ready; a file read again
 * that then changes fails rp_texts_unchanged, one not read again does not. */
static void test_texts_read_again(void)
{
	const char *jl = "{\"id\": 1, \"text\": \"caf\\u00e9 \\\"quoted\\\"\\nline\"}\n"
	                 "{\"id\": 2, \"text\": \"plain text\"}\n{\"id\": 3}\n";
	write_str(fx("t1.jsonl"), jl);
	const char *parts[] = {"{\"text\": \"from gzip \\u00e9\"}\n"};
	write_gzip(fx("t2.jsonl.gz"), parts, 1);
	write_str(fx("t3.txt"), "a line\r\nanother line\n");
	write_str(fx("t4.jsonl"), "{\"text\": \"never fetched\"}\n");
	const char *want[] = {"caf\xc3\xa9 \"quoted\"\nline", "plain text", "", "from gzip \xc3\xa9",
	                      "never fetched", "given by itself"};
	rp_texts *t;
	rp_error e;
	CHECK(rp_texts_new(&t, 2, tmpdir, &e) == 0);
	const char *in1[] = {fx("t1.jsonl"), fx("t2.jsonl.gz"), fx("t4.jsonl")};
	rp_reader *r;
	CHECK(rp_reader_new(&r, in1, 3, NULL, &e) == 0);
	rp_record rec;
	int n = 0;
	while (rp_reader_next(r, &rec, &e) == 1) {
		CHECK(rec.bad == (n == 2));
		CHECK(rec.text_seekable == (!rec.bad && n != 3));
		CHECK(rp_texts_add(t, &rec, &e) == 0);
		n++;
	}
	CHECK(n == 5);
	rp_reader_free(r);
	CHECK(rp_texts_add_text(t, "given by itself", 15, &e) == 0);
	const char *text;
	size_t len;
	CHECK(rp_texts_fetch(t, 1, 3, &text, &len, &e) == RP_EUSAGE); /* the copy is not flushed yet */
	CHECK(rp_texts_ready(t, &e) == 0);
	for (int i = 0; i < 6; i++) {
		if (i == 4) continue;
		CHECK(rp_texts_fetch(t, i & 1, (uint64_t)i, &text, &len, &e) == 0);
		CHECKF(len == strlen(want[i]) && !memcmp(text, want[i], len), "text %d: %.*s", i, (int)len, text);
	}
	CHECK(rp_texts_fetch(t, 2, 0, &text, &len, &e) == RP_EUSAGE); /* no such slot */
	CHECK(rp_texts_fetch(t, 0, 6, &text, &len, &e) == RP_EUSAGE); /* no such text */
	CHECK(rp_texts_unchanged(t, &e) == 0);
	write_str(fx("t4.jsonl"), "{\"text\": \"changed, never fetched\"}\n");
	CHECK(rp_texts_unchanged(t, &e) == 0);
	FILE *f = fopen(fx("t1.jsonl"), "ab");
	fputs("{\"text\": \"appended\"}\n", f);
	fclose(f);
	CHECK(rp_texts_unchanged(t, &e) == RP_EIO && strstr(e.message, "t1.jsonl changed during the run"));
	rp_texts_free(t);
	/* LINES: the line without its CR, in place */
	CHECK(rp_texts_new(&t, 1, NULL, &e) == 0);
	rp_reader_opts o = {RP_FORMAT_LINES, NULL, NULL, 0};
	const char *in3[] = {fx("t3.txt")};
	CHECK(rp_reader_new(&r, in3, 1, &o, &e) == 0);
	while (rp_reader_next(r, &rec, &e) == 1) CHECK(rp_texts_add(t, &rec, &e) == 0);
	rp_reader_free(r);
	CHECK(rp_texts_ready(t, &e) == 0);
	CHECK(rp_texts_fetch(t, 0, 0, &text, &len, &e) == 0 && len == 6 && !memcmp(text, "a line", 6));
	CHECK(rp_texts_fetch(t, 0, 1, &text, &len, &e) == 0 && len == 12 && !memcmp(text, "another line", 12));
	rp_texts_free(t);
}

int main(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/t_reader.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 2;
	}
	RUN(test_utf8_check);
	RUN(test_jsonl_fields);
	RUN(test_jsonl_bad_records);
	RUN(test_escape_blocks);
	RUN(test_text_sink);
	RUN(test_extra_fields);
	RUN(test_overlong_records);
	RUN(test_lines_format);
	RUN(test_directory_walk);
	RUN(test_gzip_zstd);
	RUN(test_gzip_trickle);
	RUN(test_truncated_and_corrupt);
	RUN(test_bad_options);
	RUN(test_allocation_failure);
	RUN(test_corpora);
	RUN(test_texts_read_again);
	nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	TEST_END();
}
