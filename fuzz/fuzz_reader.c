/* fuzz_reader.c — rp_reader_new / rp_reader_next on bytes given as a file.
 *
 * Input: 5 parameter bytes, then the data.
 *   byte 0: bits 0-1 codec: 0 the data as given (so the fuzzer's own gzip and
 *           zstd streams reach the decoders), 1 gzip, 2 zstd, 3 two gzip
 *           members (two zstd frames if bit 7); bits 2-3 format (AUTO,
 *           JSONL, LINES, FILE); bits 4-5 text/id fields (text/id,
 *           doc.body/doc.id dotted, text/text the same field, t.x.y/m.id);
 *           bit 6: cut the compressed stream short (codecs 1-3).
 *   byte 1: max_record: 0 the default, 1..127 that many bytes, 128..255
 *           (b - 127) * 64 bytes.
 *   byte 2: where the compressed stream is split (codec 3) or cut (bit 6).
 *   byte 3: if bits 5-7 are set, prefix the data with about 768 KiB
 *           (bit 3) or 1 MiB of padding lines, or one long padding line
 *           (bit 4), shortened by (bits 0-2) * 61 + (byte 2 & 63) bytes, so
 *           that the data crosses the reader's buffer boundaries
 *           (compaction, growth, skipping an over-long record across reads).
 *   byte 4: nonzero: read the file once more with every read() of the
 *           library cut to 1..(b & 63) + 1 bytes (short reads, as from a
 *           pipe); bit 6: every third read() fails with EINTR first; bit 7:
 *           the (b2 & 15) + 1-th read() fails with EIO.  The harness is
 *           linked with -Wl,--wrap=read to do this.
 *
 * Invariants, for every record of every pass:
 *  - seq counts 0, 1, 2, ...; file is the input's name;
 *  - a good record's text is valid UTF-8 without NUL (rp_utf8_check and an
 *    independent decoder agree);
 *  - raw is the bytes of the decompressed stream at rec->byte (the stream is
 *    known: the data, or what zlib or libzstd make of the fuzzer's own
 *    compressed data); line is 1 + the newlines before it; lines increase;
 *  - the records are exactly the stream's lines (every line, or every
 *    non-blank line for JSON Lines; one record per file for FILE): none lost,
 *    none invented; a line longer than max_record is a bad record whose raw
 *    is its first max_record bytes;
 *  - LINES and FILE: text is raw; bad iff too long or invalid UTF-8 or NUL;
 *  - JSON Lines: bad iff a reference JSON parser (strict RFC 8259 with
 *    UTF-8 checks, the text and id picked by dotted path, last one wins)
 *    rejects the line or finds no string text, an id of another type, a
 *    lone surrogate in text or id, or NUL in text; a good record's text and
 *    id are the reference's decoded values (id PATH:LINE when missing);
 *  - a good record that says where its text is (text_seekable): those bytes
 *    of the file, read again, are the text or its JSON string, which
 *    rp_json_text decodes to the text; rp_json_text on any other piece of
 *    the line fails with RP_EDATA or gives UTF-8 without NUL;
 *  - a bad record's error is RP_EDATA at its line, at or after its byte;
 *  - after the end, rp_reader_next keeps returning 0; after a fatal error,
 *    the same error; a cut-short compressed stream ends in a fatal error;
 *  - reading the same file again, the file given twice, and the stream in
 *    short reads (with EINTR) give the same records; an EIO ends the records
 *    early with a sticky RP_EIO, after records that are a prefix of the
 *    others. */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#include "fuzz.h"

#define DEFAULT_MAX ((size_t)64 << 20)
#define REF_LIMIT ((size_t)64 << 20) /* reference decompression gives up beyond this */

/* ---- growable byte buffer ---- */
typedef struct { unsigned char *p; size_t n, cap; } bytes;
static FZ_NOCOV void put(bytes *b, const void *s, size_t n)
{
	if (b->n + n > b->cap || !b->p) {
		b->cap = (b->n + n) * 2 + 64;
		b->p = fz_xrealloc(b->p, b->cap);
	}
	if (n) memcpy(b->p + b->n, s, n);
	b->n += n;
}

/* ---- compression by the harness ---- */
static void gzip_member(bytes *out, const unsigned char *s, size_t n)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) abort();
	size_t bound = deflateBound(&z, (uLong)n) + 64;
	size_t at = out->n;
	put(out, NULL, 0);
	if (out->cap < at + bound) out->cap = at + bound, out->p = fz_xrealloc(out->p, out->cap);
	z.next_in = (Bytef *)s;
	z.avail_in = (uInt)n;
	z.next_out = out->p + at;
	z.avail_out = (uInt)bound;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END) abort();
	out->n = at + (size_t)z.total_out;
	deflateEnd(&z);
}

static void zstd_frame(bytes *out, const unsigned char *s, size_t n)
{
	size_t bound = ZSTD_compressBound(n);
	if (out->cap < out->n + bound) out->cap = out->n + bound, out->p = fz_xrealloc(out->p, out->cap);
	size_t got = ZSTD_compress(out->p + out->n, bound, s, n, 1);
	if (ZSTD_isError(got)) abort();
	out->n += got;
}

/* ---- reference decompression of the fuzzer's own streams ---- */
/* lenient: clear the reserved FLG bits of every member header first (zlib,
 * like RFC 1952, rejects them; ISA-L ignores them). */
static int ref_gunzip(const unsigned char *s, size_t n, bytes *out, int lenient)
{
	size_t pos = 0;
	unsigned char buf[65536];
	unsigned char *copy = NULL;
	if (lenient) s = copy = fz_memdup(s, n);
	while (pos < n) {
		z_stream z;
		memset(&z, 0, sizeof z);
		if (copy && n - pos >= 4) copy[pos + 3] &= 0x1f;
		if (inflateInit2(&z, 15 + 16) != Z_OK) abort();
		z.next_in = (Bytef *)s + pos;
		z.avail_in = (uInt)(n - pos);
		int rc;
		do {
			z.next_out = buf;
			z.avail_out = sizeof buf;
			rc = inflate(&z, Z_NO_FLUSH);
			put(out, buf, sizeof buf - z.avail_out);
			if (out->n > REF_LIMIT) rc = Z_MEM_ERROR;
		} while (rc == Z_OK && (z.avail_in || !z.avail_out));
		pos = n - z.avail_in;
		inflateEnd(&z);
		if (rc != Z_STREAM_END) {
			free(copy);
			return rc == Z_MEM_ERROR ? -2 : -1;
		}
	}
	free(copy);
	return 0;
}

static int ref_unzstd(const unsigned char *s, size_t n, bytes *out)
{
	ZSTD_DCtx *z = ZSTD_createDCtx();
	if (!z) abort();
	ZSTD_inBuffer in = {s, n, 0};
	unsigned char buf[65536];
	int rc;
	for (;;) {
		ZSTD_outBuffer o = {buf, sizeof buf, 0};
		size_t before = in.pos;
		size_t ret = ZSTD_decompressStream(z, &o, &in);
		if (ZSTD_isError(ret)) { rc = -1; break; }
		put(out, buf, o.pos);
		if (out->n > REF_LIMIT) { rc = -2; break; }
		if (in.pos == in.size && o.pos < o.size) { rc = ret ? -1 : 0; break; } /* ret != 0: truncated */
		if (!o.pos && in.pos == before) { rc = -1; break; }
	}
	ZSTD_freeDCtx(z);
	return rc;
}

/* ---- reference JSON parser ---- */
enum { F_MISSING, F_STRING, F_NUMBER, F_WRONG };
typedef struct {
	const unsigned char *p, *end;
	const char *const *tpart, *const *ipart;
	size_t tn, in;
	int bad;
	int text_state, id_state;
	bytes text, id;
} rj;

static void rj_ws(rj *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r' || *j->p == '\n')) j->p++;
}

static int hexval(unsigned c)
{
	if (c >= '0' && c <= '9') return (int)(c - '0');
	if (c >= 'a' && c <= 'f') return (int)(c - 'a' + 10);
	if (c >= 'A' && c <= 'F') return (int)(c - 'A' + 10);
	return -1;
}

static int rj_u4(const unsigned char *p, const unsigned char *end, uint32_t *v)
{
	if (end - p < 4) return 0;
	*v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval(p[i]);
		if (h < 0) return 0;
		*v = *v << 4 | (uint32_t)h;
	}
	return 1;
}

static void put_cp(bytes *b, uint32_t cp)
{
	unsigned char u[4];
	size_t n;
	if (cp < 0x80) u[0] = (unsigned char)cp, n = 1;
	else if (cp < 0x800) u[0] = (unsigned char)(0xc0 | cp >> 6), u[1] = (unsigned char)(0x80 | (cp & 63)), n = 2;
	else if (cp < 0x10000)
		u[0] = (unsigned char)(0xe0 | cp >> 12), u[1] = (unsigned char)(0x80 | (cp >> 6 & 63)),
		u[2] = (unsigned char)(0x80 | (cp & 63)), n = 3;
	else
		u[0] = (unsigned char)(0xf0 | cp >> 18), u[1] = (unsigned char)(0x80 | (cp >> 12 & 63)),
		u[2] = (unsigned char)(0x80 | (cp >> 6 & 63)), u[3] = (unsigned char)(0x80 | (cp & 63)), n = 4;
	put(b, u, n);
}

/* A string at j->p (the quote).  strict: lone surrogates refused;
 * no_nul: \u0000 refused.  The decoded value goes to *out. */
static int rj_string(rj *j, bytes *out, int strict, int no_nul)
{
	out->n = 0;
	j->p++;
	for (;;) {
		if (j->p >= j->end) return -1;
		unsigned c = *j->p;
		if (c == '"') { j->p++; return 0; }
		if (c < 0x20) return -1;
		if (c >= 0x80) {
			uint32_t cp;
			size_t k = fz_utf8_decode(j->p, (size_t)(j->end - j->p), &cp);
			if (!k) return -1;
			put(out, j->p, k);
			j->p += k;
			continue;
		}
		if (c != '\\') { put(out, j->p, 1); j->p++; continue; }
		if (j->end - j->p < 2) return -1;
		unsigned e = j->p[1];
		uint32_t cp;
		switch (e) {
		case '"': cp = '"'; break;
		case '\\': cp = '\\'; break;
		case '/': cp = '/'; break;
		case 'b': cp = 8; break;
		case 'f': cp = 12; break;
		case 'n': cp = 10; break;
		case 'r': cp = 13; break;
		case 't': cp = 9; break;
		case 'u': {
			if (!rj_u4(j->p + 2, j->end, &cp)) return -1;
			j->p += 6;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				uint32_t lo;
				if (j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u' && rj_u4(j->p + 2, j->end, &lo) &&
				    lo >= 0xdc00 && lo <= 0xdfff) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					j->p += 6;
				} else if (strict) {
					return -1;
				}
			} else if (cp >= 0xdc00 && cp <= 0xdfff && strict) {
				return -1;
			}
			if (cp == 0 && no_nul) return -1;
			put_cp(out, cp);
			continue;
		}
		default: return -1;
		}
		put_cp(out, cp);
		j->p += 2;
	}
}

static int isdig(unsigned c) { return c >= '0' && c <= '9'; }

static int rj_number(rj *j)
{
	const unsigned char *p = j->p;
	if (p < j->end && *p == '-') p++;
	if (p >= j->end || !isdig(*p)) return -1;
	if (*p == '0') p++;
	else while (p < j->end && isdig(*p)) p++;
	if (p < j->end && *p == '.') {
		p++;
		if (p >= j->end || !isdig(*p)) return -1;
		while (p < j->end && isdig(*p)) p++;
	}
	if (p < j->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < j->end && (*p == '+' || *p == '-')) p++;
		if (p >= j->end || !isdig(*p)) return -1;
		while (p < j->end && isdig(*p)) p++;
	}
	j->p = p;
	return 0;
}

static int part_is(const char *part, const bytes *key)
{
	return strlen(part) == key->n && !memcmp(part, key->p, key->n);
}

/* A value; td/id: how many parts of the text/id path the keys leading here
 * matched, -1 if off the path. */
static int rj_value(rj *j, int depth, int td, int id)
{
	int is_text = td >= 0 && (size_t)td == j->tn, is_id = id >= 0 && (size_t)id == j->in;
	if (j->p >= j->end) return -1;
	unsigned c = *j->p;
	if (c == '"') {
		bytes tmp = {0};
		int rc = rj_string(j, &tmp, is_text || is_id, is_text);
		if (!rc && is_text) j->text.n = 0, put(&j->text, tmp.p, tmp.n), j->text_state = F_STRING;
		if (!rc && is_id) j->id.n = 0, put(&j->id, tmp.p, tmp.n), j->id_state = F_STRING;
		free(tmp.p);
		return rc;
	}
	if (is_text) j->text_state = F_WRONG;
	if (c == '-' || isdig(c)) {
		const unsigned char *s = j->p;
		if (rj_number(j)) return -1;
		if (is_id) j->id.n = 0, put(&j->id, s, (size_t)(j->p - s)), j->id_state = F_NUMBER;
		return 0;
	}
	if (is_id) j->id_state = F_WRONG;
	if (c == '{') {
		if (depth >= 512) return -1;
		j->p++;
		rj_ws(j);
		if (j->p < j->end && *j->p == '}') { j->p++; return 0; }
		for (;;) {
			if (j->p >= j->end || *j->p != '"') return -1;
			bytes key = {0};
			int rc = rj_string(j, &key, 0, 0);
			int ct = -1, ci = -1;
			if (!rc && td >= 0 && (size_t)td < j->tn && part_is(j->tpart[td], &key)) ct = td + 1;
			if (!rc && id >= 0 && (size_t)id < j->in && part_is(j->ipart[id], &key)) ci = id + 1;
			free(key.p);
			if (rc) return -1;
			rj_ws(j);
			if (j->p >= j->end || *j->p != ':') return -1;
			j->p++;
			rj_ws(j);
			if (rj_value(j, depth + 1, ct, ci)) return -1;
			rj_ws(j);
			if (j->p >= j->end) return -1;
			if (*j->p == ',') { j->p++; rj_ws(j); continue; }
			if (*j->p == '}') { j->p++; return 0; }
			return -1;
		}
	}
	if (c == '[') {
		if (depth >= 512) return -1;
		j->p++;
		rj_ws(j);
		if (j->p < j->end && *j->p == ']') { j->p++; return 0; }
		for (;;) {
			if (rj_value(j, depth + 1, -1, -1)) return -1;
			rj_ws(j);
			if (j->p >= j->end) return -1;
			if (*j->p == ',') { j->p++; rj_ws(j); continue; }
			if (*j->p == ']') { j->p++; return 0; }
			return -1;
		}
	}
	static const char *const lit[] = {"true", "false", "null"};
	for (int i = 0; i < 3; i++) {
		size_t l = strlen(lit[i]);
		if ((size_t)(j->end - j->p) >= l && !memcmp(j->p, lit[i], l)) { j->p += l; return 0; }
	}
	return -1;
}

/* ---- configuration ---- */
typedef struct { const char *text, *id; const char *tpart[3], *ipart[3]; size_t tn, in; } fieldset;
static const fieldset fieldsets[4] = {
	{"text", "id", {"text"}, {"id"}, 1, 1},
	{"doc.body", "doc.id", {"doc", "body"}, {"doc", "id"}, 2, 2},
	{"text", "text", {"text"}, {"text"}, 1, 1},
	{"t.x.y", "m.id", {"t", "x", "y"}, {"m", "id"}, 3, 2},
};

/* Judge a JSON line as the reader must: 1 good (text and id filled), 0 bad. */
static int ref_json(const unsigned char *line, size_t n, const fieldset *fs, bytes *text, bytes *id,
                    int *id_state)
{
	rj j;
	memset(&j, 0, sizeof j);
	j.p = line;
	j.end = line + n;
	j.tpart = fs->tpart;
	j.ipart = fs->ipart;
	j.tn = fs->tn;
	j.in = fs->in;
	rj_ws(&j);
	int is_object = j.p < j.end && *j.p == '{';
	int ok = !rj_value(&j, 0, 0, 0);
	rj_ws(&j);
	ok = ok && j.p == j.end && is_object && j.text_state == F_STRING && j.id_state != F_WRONG;
	text->n = id->n = 0;
	put(text, j.text.p, j.text.n);
	put(id, j.id.p, j.id.n);
	*id_state = j.id_state;
	free(j.text.p);
	free(j.id.p);
	return ok;
}

/* ---- records as read ---- */
typedef struct {
	uint64_t seq, line, byte, err_line, err_byte;
	int bad, id_is_number, err_code;
	char *text, *id, *raw, *file, *err_msg, *err_file;
	size_t text_len, id_len, raw_len;
} rec_copy;

typedef struct {
	rec_copy *r;
	size_t n, cap;
	int end;          /* 0 or the fatal status */
	rp_error end_err;
} run;

static void run_free(run *x)
{
	for (size_t i = 0; i < x->n; i++) {
		rec_copy *c = &x->r[i];
		free(c->text); free(c->id); free(c->raw); free(c->file); free(c->err_msg); free(c->err_file);
	}
	free(x->r);
	memset(x, 0, sizeof *x);
}

static char *cstr(const char *s, size_t n)
{
	char *p = fz_xmalloc(n + 1);
	if (n) memcpy(p, s, n);
	p[n] = 0;
	return p;
}

/* A good record that says where its text is: those bytes of its file, read
 * again, are the text (a line), or decode to it with rp_json_text (a JSON
 * string); rp_json_text on the record's other substrings either fails or
 * gives valid UTF-8 without NUL. */
static void check_located(const rp_record *rec)
{
	FCHECK(rec->fd >= 0);
	char *raw = fz_xrealloc(NULL, rec->text_raw_len + 1);
	FCHECK(pread(rec->fd, raw, rec->text_raw_len, (off_t)rec->text_byte) == (ssize_t)rec->text_raw_len);
	if (!rec->text_quoted) {
		FCHECK(rec->text_raw_len == rec->text_len && !memcmp(raw, rec->text, rec->text_len));
	} else {
		char *buf = NULL;
		size_t cap = 0, len = 0;
		const char *text = NULL;
		rp_error e;
		int rc = rp_json_text(raw, rec->text_raw_len, &buf, &cap, &text, &len, &e);
		FCHECKF(rc == 0, "rp_json_text: %s", e.message);
		FCHECK(len == rec->text_len && !memcmp(text, rec->text, len));
		/* the record's other pieces, as a file changed under the reader would give */
		for (size_t a = 0; a < rec->raw_len && a < 64; a += 7)
			for (size_t n = 1; a + n <= rec->raw_len && n < 256; n = 2 * n + 1)
				if (!rp_json_text(rec->raw + a, n, &buf, &cap, &text, &len, &e)) {
					FCHECK(rec->raw[a] == '"' && rec->raw[a + n - 1] == '"');
					FCHECK(rp_utf8_check(text, len) == len && !memchr(text, 0, len));
				} else {
					FCHECK(e.code == RP_EDATA);
				}
		free(buf);
	}
	free(raw);
}

static void read_all(const char *const *inputs, size_t ninputs, const rp_reader_opts *ro, run *out)
{
	memset(out, 0, sizeof *out);
	rp_reader *r = NULL;
	rp_error err;
	memset(&err, 0, sizeof err);
	int rc = rp_reader_new(&r, inputs, ninputs, ro, &err);
	FCHECKF(rc == 0, "rp_reader_new: %s", err.message);
	rp_record rec;
	for (;;) {
		memset(&err, 0, sizeof err);
		rc = rp_reader_next(r, &rec, &err);
		if (rc <= 0) break;
		FCHECK(rc == 1);
		if (out->n == out->cap) {
			out->cap = out->cap ? 2 * out->cap : 64;
			out->r = fz_xrealloc(out->r, out->cap * sizeof *out->r);
		}
		rec_copy *c = &out->r[out->n++];
		memset(c, 0, sizeof *c);
		FCHECK(rec.text && rec.id && rec.raw && rec.file);
		c->seq = rec.seq;
		c->line = rec.line;
		c->byte = rec.byte;
		c->bad = rec.bad;
		c->id_is_number = rec.id_is_number;
		c->text = cstr(rec.text, rec.text_len), c->text_len = rec.text_len;
		c->id = cstr(rec.id, rec.id_len), c->id_len = rec.id_len;
		c->raw = cstr(rec.raw, rec.raw_len), c->raw_len = rec.raw_len;
		c->file = cstr(rec.file, strlen(rec.file));
		if (!rec.bad && rec.text_seekable) check_located(&rec);
		if (rec.bad) {
			c->err_code = err.code;
			c->err_msg = cstr(err.message, strnlen(err.message, sizeof err.message));
			c->err_file = cstr(err.file, strnlen(err.file, sizeof err.file));
			c->err_line = err.line;
			c->err_byte = err.byte;
		}
	}
	out->end = rc;
	out->end_err = err;
	if (rc < 0) FCHECKF(err.code == rc, "fatal %d but err.code %d", rc, err.code);
	/* The end is sticky: 0 again, or the same error again. */
	rp_error err2;
	memset(&err2, 0, sizeof err2);
	int rc2 = rp_reader_next(r, &rec, &err2);
	FCHECKF(rc2 == rc, "after the end: %d, then %d", rc, rc2);
	if (rc < 0) FCHECK(err2.code == err.code && !strcmp(err2.message, err.message));
	rp_reader_free(r);
}

static int same_rec(const rec_copy *a, const rec_copy *b, uint64_t seq_shift)
{
	return a->seq + seq_shift == b->seq && a->line == b->line && a->byte == b->byte && a->bad == b->bad &&
	       a->id_is_number == b->id_is_number && a->text_len == b->text_len &&
	       !memcmp(a->text, b->text, a->text_len) && a->id_len == b->id_len && !memcmp(a->id, b->id, a->id_len) &&
	       a->raw_len == b->raw_len && !memcmp(a->raw, b->raw, a->raw_len) && !strcmp(a->file, b->file) &&
	       a->err_code == b->err_code && a->err_line == b->err_line && a->err_byte == b->err_byte &&
	       (!a->bad || (!strcmp(a->err_msg, b->err_msg) && !strcmp(a->err_file, b->err_file)));
}

/* ---- read() as the library sees it (linked with -Wl,--wrap=read) ---- */
ssize_t __real_read(int fd, void *buf, size_t n);
ssize_t __wrap_read(int fd, void *buf, size_t n);

static struct {
	int on;              /* cut reads now */
	unsigned maxchunk;   /* each read returns at most 1..maxchunk bytes */
	uint32_t rng;
	size_t fast;         /* the first `fast` bytes (padding) in full reads */
	size_t delivered;
	int eintr;           /* every third call fails with EINTR first */
	long eio_at;         /* the call that fails with EIO (0: none) */
	long calls;
} cut_reads;

ssize_t __wrap_read(int fd, void *buf, size_t n)
{
	if (!cut_reads.on) return __real_read(fd, buf, n);
	long call = ++cut_reads.calls;
	if (cut_reads.eio_at && call == cut_reads.eio_at) {
		errno = EIO;
		return -1;
	}
	if (cut_reads.eintr && call % 3 == 0) {
		errno = EINTR;
		return -1;
	}
	if (cut_reads.delivered >= cut_reads.fast) {
		cut_reads.rng = cut_reads.rng * 1103515245u + 12345u;
		size_t chunk = 1 + (cut_reads.rng >> 16) % cut_reads.maxchunk;
		if (n > chunk) n = chunk;
	}
	ssize_t got = __real_read(fd, buf, n);
	if (got > 0) cut_reads.delivered += (size_t)got;
	return got;
}

static int memfd = -1;
static char path[64];

static void setup(void)
{
	if (memfd >= 0) return;
	memfd = memfd_create("fuzz_reader", 0);
	if (memfd < 0) abort();
	snprintf(path, sizeof path, "/proc/self/fd/%d", memfd);
}

/* ---- the checks ---- */
typedef struct {
	const unsigned char *s; /* the decompressed stream, if known */
	size_t n;
	int known, prefix_only;  /* prefix_only: the real stream may be a prefix of s */
	rp_format fmt;           /* effective: JSONL, LINES or FILE */
	size_t max;
	const fieldset *fs;
} expect;

static FZ_NOCOV int is_blank(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') return 0;
	return 1;
}

static void check_run(const run *x, const expect *ex, const char *name)
{
	size_t nl_seen = 0, nl_pos = 0; /* newlines in s[0, nl_pos) */
	size_t next_line = 0;            /* for the conservation walk: start of the next expected line */
	uint64_t prev_line = 0;
	char want_id[128];
	bytes rtext = {0}, rid = {0};
	for (size_t k = 0; k < x->n; k++) {
		const rec_copy *c = &x->r[k];
		FCHECKF(c->seq == k, "record %zu has seq %llu", k, (unsigned long long)c->seq);
		FCHECK(!strcmp(c->file, name));
		if (!c->bad) {
			FCHECK(rp_utf8_check(c->text, c->text_len) == c->text_len);
			FCHECK(fz_utf8_first_bad(c->text, c->text_len) == c->text_len);
		} else {
			FCHECKF(c->err_code == RP_EDATA, "bad record with error %d", c->err_code);
			FCHECK(c->err_msg[0]);
			FCHECK(!strcmp(c->err_file, name));
			/* a whole file's bad byte is placed on its line in the file too
			 * (checked against the stream below); an over-long file has none */
			if (ex->fmt != RP_FORMAT_FILE) FCHECK(c->err_line == c->line);
			FCHECK(c->err_byte >= c->byte);
		}
		if (ex->fmt == RP_FORMAT_FILE) {
			FCHECK(c->line == 0 && c->byte == 0);
			FCHECK(!strcmp(c->id, name));
		} else {
			FCHECK(c->line > prev_line);
			prev_line = c->line;
			FCHECK(!memchr(c->raw, '\n', c->raw_len));
		}
		if (ex->fmt != RP_FORMAT_JSONL && !c->bad) FCHECK(c->text_len == c->raw_len && !memcmp(c->text, c->raw, c->raw_len));
		if (ex->fmt == RP_FORMAT_LINES) {
			snprintf(want_id, sizeof want_id, "%s:%llu", name, (unsigned long long)c->line);
			FCHECK(c->id_len == strlen(want_id) && !memcmp(c->id, want_id, c->id_len));
		}
		if (!ex->known) continue;

		/* raw is the stream's bytes at byte. */
		FCHECKF(c->byte + c->raw_len <= ex->n, "record %zu: byte %llu + %zu beyond the stream (%zu)", k,
		        (unsigned long long)c->byte, c->raw_len, ex->n);
		FCHECKF(!memcmp(ex->s + c->byte, c->raw, c->raw_len), "record %zu: raw differs from the stream at %llu", k,
		        (unsigned long long)c->byte);
		if (c->bad) FCHECK(c->err_byte <= ex->n);
		if (c->bad && ex->fmt == RP_FORMAT_FILE && c->err_line) {
			size_t lines = 1;
			for (size_t i = 0; i < c->err_byte && i < ex->n; i++) lines += ex->s[i] == '\n';
			FCHECKF(c->err_line == lines, "record %zu: error on line %llu, but %zu newlines before byte %llu", k,
			        (unsigned long long)c->err_line, lines - 1, (unsigned long long)c->err_byte);
		}
		if (ex->fmt != RP_FORMAT_FILE) {
			while (nl_pos < c->byte) {
				const unsigned char *nl = memchr(ex->s + nl_pos, '\n', c->byte - nl_pos);
				if (!nl) { nl_pos = c->byte; break; }
				nl_seen++;
				nl_pos = (size_t)(nl - ex->s) + 1;
			}
			FCHECKF(c->line == nl_seen + 1, "record %zu: line %llu, but %zu newlines before byte %llu", k,
			        (unsigned long long)c->line, nl_seen, (unsigned long long)c->byte);
		}
		if (ex->prefix_only) continue;

		/* The record is the next line (or the file): none skipped. */
		size_t ls, le, len;
		if (ex->fmt == RP_FORMAT_FILE) {
			ls = 0, le = ex->n, len = ex->n;
		} else {
			for (;;) {
				FCHECKF(next_line < ex->n, "record %zu beyond the last line", k);
				ls = next_line;
				const unsigned char *nl = memchr(ex->s + ls, '\n', ex->n - ls);
				le = nl ? (size_t)(nl - ex->s) : ex->n;
				next_line = nl ? le + 1 : ex->n;
				len = le - ls;
				if (len && ex->s[le - 1] == '\r') len--;
				if (ex->fmt == RP_FORMAT_JSONL && len <= ex->max) {
					size_t b = ls == 0 && len >= 3 && !memcmp(ex->s, "\xef\xbb\xbf", 3) ? 3 : 0;
					if (is_blank(ex->s + ls + b, len - b)) continue; /* blank: no record */
				}
				break;
			}
		}
		int too_long = len > ex->max;
		if (too_long) {
			FCHECKF(c->bad, "record %zu: line of %zu bytes > max_record %zu is not bad", k, len, ex->max);
			FCHECK(c->byte == ls && c->raw_len == ex->max);
			FCHECK(strstr(c->err_msg, "longer than"));
			continue;
		}
		size_t bom = ex->fmt == RP_FORMAT_JSONL && ls == 0 && len >= 3 && !memcmp(ex->s, "\xef\xbb\xbf", 3) ? 3 : 0;
		FCHECKF(c->byte == ls + bom, "record %zu at byte %llu, expected line at %zu", k, (unsigned long long)c->byte,
		        ls + bom);
		FCHECKF(c->raw_len == len - bom, "record %zu: raw_len %zu, line %zu", k, c->raw_len, len - bom);
		if (ex->fmt != RP_FORMAT_JSONL) {
			int bad = fz_utf8_first_bad((const char *)ex->s + ls, len) < len;
			FCHECKF(c->bad == bad, "record %zu: bad %d, reference %d", k, c->bad, bad);
			continue;
		}
		int id_state;
		int good = ref_json(ex->s + ls + bom, len - bom, ex->fs, &rtext, &rid, &id_state);
		FCHECKF(c->bad == !good, "record %zu: reader says %s (%s), reference says %s", k, c->bad ? "bad" : "good",
		        c->bad ? c->err_msg : "", good ? "good" : "bad");
		if (!good) continue;
		FCHECKF(c->text_len == rtext.n && !memcmp(c->text, rtext.p, rtext.n), "record %zu: text differs", k);
		if (id_state == F_MISSING) {
			snprintf(want_id, sizeof want_id, "%s:%llu", name, (unsigned long long)c->line);
			FCHECK(c->id_len == strlen(want_id) && !memcmp(c->id, want_id, c->id_len) && !c->id_is_number);
		} else {
			FCHECKF(c->id_len == rid.n && !memcmp(c->id, rid.p, rid.n), "record %zu: id differs", k);
			FCHECK(c->id_is_number == (id_state == F_NUMBER));
		}
	}
	/* Nothing left unread: the remaining lines are all blank. */
	if (ex->known && !ex->prefix_only && x->end == 0) {
		if (ex->fmt == RP_FORMAT_FILE) {
			FCHECKF(x->n == 1, "%zu records for one file", x->n);
		} else {
			while (next_line < ex->n) {
				size_t ls = next_line;
				const unsigned char *nl = memchr(ex->s + ls, '\n', ex->n - ls);
				size_t le = nl ? (size_t)(nl - ex->s) : ex->n, len = le - ls;
				next_line = nl ? le + 1 : ex->n;
				if (len && ex->s[le - 1] == '\r') len--;
				size_t b = ls == 0 && len >= 3 && !memcmp(ex->s, "\xef\xbb\xbf", 3) ? 3 : 0;
				FCHECKF(ex->fmt == RP_FORMAT_JSONL && len <= ex->max && is_blank(ex->s + ls + b, len - b),
				        "line at byte %zu (%zu bytes) gave no record", ls, len);
			}
		}
	}
	free(rtext.p);
	free(rid.p);
}

static void same_runs(const run *a, const run *b, const char *what)
{
	FCHECKF(a->n == b->n, "%s: %zu vs %zu records", what, a->n, b->n);
	for (size_t i = 0; i < a->n; i++) FCHECKF(same_rec(&a->r[i], &b->r[i], 0), "%s: record %zu differs", what, i);
	FCHECKF(a->end == b->end, "%s: end %d vs %d", what, a->end, b->end);
	if (a->end) FCHECK(!strcmp(a->end_err.message, b->end_err.message) && a->end_err.byte == b->end_err.byte);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	fz_in in = {data, size};
	uint8_t b0 = fz_byte(&in), b1 = fz_byte(&in), b2 = fz_byte(&in), b3 = fz_byte(&in), b4 = fz_byte(&in);
	int codec = b0 & 3, cut = codec && (b0 & 0x40), zstd_multi = b0 & 0x80;
	rp_format format = (rp_format)((b0 >> 2) & 3);
	const fieldset *fs = &fieldsets[(b0 >> 4) & 3];
	size_t max = b1 == 0 ? 0 : b1 < 128 ? b1 : (size_t)(b1 - 127) * 64;

	/* The plain stream: optional padding, then the data. */
	bytes plain = {0};
	if ((b3 & 0xe0) == 0xe0) {
		size_t target = ((b3 & 8) ? (768u << 10) : (1u << 20)) - (size_t)(b3 & 7) * 61 - (b2 & 63);
		plain.cap = target + in.n + 1;
		plain.p = fz_xmalloc(plain.cap);
		if (b3 & 0x10) {
			memcpy(plain.p, "{\"text\": \"", 10);
			memset(plain.p + 10, 'a', target - 13);
			memcpy(plain.p + target - 3, "\"}\n", 3);
		} else {
			static const char line[] = "{\"id\": 1, \"text\": \"padding padding padding padding padding\"}\n";
			size_t l = sizeof line - 1, at = 0;
			for (; at + l <= target; at += l) memcpy(plain.p + at, line, l);
			memset(plain.p + at, '\n', target - at);
		}
		plain.n = target;
	}
	size_t pad = plain.n;
	put(&plain, in.p, in.n);

	/* What goes into the file. */
	bytes file = {0};
	put(&file, NULL, 0); /* never a null pointer, even when empty */
	if (codec == 0) {
		put(&file, plain.p, plain.n);
	} else {
		int zst = codec == 2 || (codec == 3 && zstd_multi);
		size_t split = codec == 3 ? plain.n * b2 / 256 : plain.n;
		if (zst) {
			zstd_frame(&file, plain.p, split);
			if (codec == 3) zstd_frame(&file, plain.p + split, plain.n - split);
		} else {
			gzip_member(&file, plain.p, split);
			if (codec == 3) gzip_member(&file, plain.p + split, plain.n - split);
		}
		if (cut) file.n = file.n * b2 / 256;
	}

	/* The stream the reader should see. */
	expect ex = {0};
	ex.fmt = format == RP_FORMAT_AUTO ? RP_FORMAT_JSONL : format;
	ex.max = max ? max : DEFAULT_MAX;
	ex.fs = fs;
	bytes ref = {0};
	int ref_rc = 0, reserved_flags = 0;
	int magic_gz = file.n >= 2 && file.p[0] == 0x1f && file.p[1] == 0x8b;
	/* A zstd stream starts with a frame or a skippable frame (pzstd writes
	 * one before every frame): magic 28 b5 2f fd or 5? 2a 4d 18. */
	int magic_zst = file.n >= 4 && (!memcmp(file.p, "\x28\xb5\x2f\xfd", 4) ||
	                                ((file.p[0] & 0xf0) == 0x50 && !memcmp(file.p + 1, "\x2a\x4d\x18", 3)));
	if (codec && !magic_gz && !magic_zst) {
		/* Cut inside the magic number: what is left is read as plain. */
		codec = 0, cut = 0;
		ex.s = file.p, ex.n = file.n, ex.known = 1;
	} else if (codec) {
		ex.s = plain.p, ex.n = plain.n, ex.known = 1, ex.prefix_only = cut;
	} else if (!magic_gz && !magic_zst) {
		ex.s = plain.p, ex.n = plain.n, ex.known = 1;
	} else if ((ref_rc = magic_gz ? ref_gunzip(file.p, file.n, &ref, 0) : ref_unzstd(file.p, file.n, &ref)) == 0) {
		ex.s = ref.p, ex.n = ref.n, ex.known = 1;
	} else if (magic_gz && ref_rc == -1 && (ref.n = 0, ref_gunzip(file.p, file.n, &ref, 1) == 0)) {
		/* Valid but for reserved header flags: the reader must refuse the
		 * stream; the records before the refusal are checked against that
		 * decoding. */
		ex.s = ref.p, ex.n = ref.n, ex.known = 1;
		reserved_flags = 1;
	}

	if (ftruncate(memfd, 0) || (file.n && pwrite(memfd, file.p, file.n, 0) != (ssize_t)file.n)) abort();
	rp_reader_opts ro = {format, fs->text, fs->id, max};
	const char *one[1] = {path}, *two[2] = {path, path};

	run r1, r2, r3;
	read_all(one, 1, &ro, &r1);
	check_run(&r1, &ex, path);
	if (cut && !(codec == 3)) FCHECKF(r1.end < 0, "a cut-short stream (%zu of its bytes) read without error", file.n);
	/* RFC 1952: "A compliant decompressor must give an error indication if
	 * any reserved bit is non-zero"; zlib and gzip do, ISA-L does not, so
	 * the reader checks every member's FLG byte itself. */
	if (reserved_flags)
		FCHECKF(r1.end == RP_EDATA && strstr(r1.end_err.message, "reserved header flags"),
		        "a gzip member with reserved header flags set: end %d (%s), %zu records", r1.end,
		        r1.end ? r1.end_err.message : "no error", r1.n);
	if ((magic_gz || magic_zst) && codec == 0 && ref_rc == -1 && r1.end == 0)
		FCHECKF(0, "the reader accepted a %s stream that %s rejects (%zu records)", magic_gz ? "gzip" : "zstd",
		        magic_gz ? "zlib" : "libzstd", r1.n);

	read_all(one, 1, &ro, &r2);
	same_runs(&r1, &r2, "same file twice");
	run_free(&r2);

	read_all(two, 2, &ro, &r3);
	if (r1.end == 0) {
		FCHECKF(r3.n == 2 * r1.n, "file given twice: %zu records, once: %zu", r3.n, r1.n);
		for (size_t i = 0; i < r3.n; i++)
			FCHECKF(same_rec(&r1.r[i % r1.n], &r3.r[i], i < r1.n ? 0 : r1.n), "file given twice: record %zu", i);
		FCHECK(r3.end == 0);
	} else {
		FCHECK(r3.n == r1.n && r3.end == r1.end);
		for (size_t i = 0; i < r1.n; i++) FCHECK(same_rec(&r1.r[i], &r3.r[i], 0));
	}
	run_free(&r3);

	if (b4) {
		/* The same file in short reads, perhaps with EINTR or an EIO. */
		memset(&cut_reads, 0, sizeof cut_reads);
		cut_reads.maxchunk = (b4 & 63) + 1u;
		cut_reads.rng = b4;
		cut_reads.fast = codec ? 0 : pad;
		cut_reads.eintr = (b4 >> 6) & 1;
		cut_reads.eio_at = b4 & 0x80 ? (b2 & 15) + 1 : 0;
		cut_reads.on = 1;
		run rs;
		read_all(one, 1, &ro, &rs);
		cut_reads.on = 0;
		FCHECKF(cut_reads.calls > 0, "read() was not wrapped: link with -Wl,--wrap=read");
		int eio = cut_reads.eio_at && cut_reads.calls >= cut_reads.eio_at;
		if (eio) {
			FCHECKF(rs.end == RP_EIO, "read() failed with EIO, but the reader ended with %d", rs.end);
			FCHECK(strstr(rs.end_err.message, "Input/output error"));
			FCHECKF(rs.n <= r1.n || r1.end, "%zu records before the EIO, %zu in all", rs.n, r1.n);
		} else if (r1.end == 0) {
			same_runs(&r1, &rs, "whole reads vs short reads");
		} else {
			/* A fatal error may be met after fewer or more records
			 * depending on how the bytes arrive; both end in it. */
			FCHECKF(rs.end == r1.end, "whole vs short reads: end %d vs %d", r1.end, rs.end);
		}
		size_t m = rs.n < r1.n ? rs.n : r1.n;
		for (size_t i = 0; i < m; i++) FCHECKF(same_rec(&r1.r[i], &rs.r[i], 0), "whole vs short reads: record %zu", i);
		check_run(&rs, &ex, path);
		run_free(&rs);
	}
	run_free(&r1);
	free(plain.p);
	free(file.p);
	free(ref.p);
	return 0;
}
