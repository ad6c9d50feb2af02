/* reader.c — the first stage: turns inputs (files, directories, "-" for
 * stdin) into records, in input order, each with a global seq.
 *
 * Every input is sniffed for gzip (1f 8b, multi-member, ISA-L inflate) and
 * zstd (28 b5 2f fd, or a skippable frame first, streaming); a truncated or
 * corrupt stream is fatal.
 * Formats: JSON Lines (a text and an id field picked by dotted path by a
 * scanner that validates the whole line without building a tree), LINES (one
 * document per line) and FILE (one document per file; the default for files
 * under a directory, which is walked recursively in byte order of names).
 *
 * Memory is bounded by the longest record: decompressed bytes go straight
 * into one line buffer that is compacted as records are consumed and grows
 * only while a record is incomplete; a record longer than max_record is
 * reported as bad and the rest of it is discarded unbuffered.  Records point
 * into that buffer (or into decode buffers when the text has escapes), so
 * they stay valid only until the next call. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && (defined(__clang__) || __GNUC__ >= 8)
#include <immintrin.h>
#define HAVE_VBMI2_STRINGS 1 /* AVX-512 VBMI2 string decoding, chosen at run time */
#endif
#include <isa-l.h>
/* For ZSTD_createDCtx_advanced: zstd allocates through rp_malloc too. */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#include <zstd_errors.h>
#include "internal.h"

#define DEFAULT_MAX_RECORD ((size_t)64 << 20)
#define BUF_INITIAL ((size_t)1 << 20) /* line buffer */
#define READ_MIN ((size_t)256 << 10)  /* never read or decompress into less room */
#define IN_SIZE ((size_t)1 << 20)     /* compressed input buffer */
#define MAX_DEPTH 512                 /* JSON nesting limit (the scanner recurses) */

typedef enum { CODEC_PLAIN, CODEC_GZIP, CODEC_ZSTD } codec;

/* A dotted field path ("meta.id") split into its parts. */
typedef struct field_path {
	char *spec;         /* the path as given, for messages */
	size_t n;           /* number of parts */
	const char **part;  /* part i is part[i][0, len[i]), inside spec */
	size_t *len;
} field_path;

/* A directory being walked: its entries sorted by name, and the next one. */
typedef struct dir_frame {
	char *path;   /* the directory as reached: input joined with the relative path */
	char **names; /* sorted entry names, pointing into pool */
	char *pool;
	size_t n, next;
	dev_t dev;    /* identity, to refuse a symbolic-link cycle */
	ino_t ino;
} dir_frame;

struct rp_reader {
	/* configuration */
	char **inputs;     /* copies of the input names, in input_block */
	char *input_block;
	size_t ninputs, next_input;
	rp_format format;
	size_t max_record;
	field_path text_path, id_path;
	field_path extra_path[RP_MAX_EXTRA]; /* n == 0: not asked for */

	/* directories being walked, innermost last */
	dir_frame *dirs;
	size_t ndirs, dirs_cap;

	/* the input being read */
	int is_open;
	int fd, close_fd;
	const char *name;  /* input name as reported in records and errors */
	size_t name_len;
	char *name_owned;  /* set when name was built by the directory walk */
	rp_format file_format;
	codec codec;
	int in_eof;        /* read() returned 0 */
	int done;          /* no more decompressed bytes */
	int vbmi2;         /* string_copy_vbmi2 may run */
	int seekable;      /* the input is an uncompressed regular file: records say where their texts are */
	uint64_t file_no;  /* inputs opened so far, this one included */
	int skipping;      /* discarding the rest of an over-long record (or of a file) */
	uint64_t line_no;  /* newline-terminated lines consumed */

	/* decompressed bytes: [start, end) not yet consumed; newline search resumes at scan */
	char *buf;
	size_t cap, start, end, scan;
	uint64_t buf_off;  /* stream offset of buf[0] */

	/* compressed bytes: [in_pos, in_len) not yet decompressed */
	unsigned char *in;
	size_t in_pos, in_len;
	struct inflate_state *gz;
	int gz_member_done;
	int gz_header;     /* a member's header is next: read all of it first */
	ZSTD_DCtx *zs;
	size_t zs_pending; /* last ZSTD_decompressStream hint: 0 when a frame is complete */

	/* decode buffers: text and id with escapes, object keys with escapes, PATH:LINE ids */
	char *text_buf, *id_buf, *key_buf, *extra_buf[RP_MAX_EXTRA];
	size_t text_cap, id_cap, key_cap, extra_cap[RP_MAX_EXTRA];
	char **sink;       /* rp_reader_set_text_sink: texts decoded at *sink + *sink_len */
	size_t *sink_len, *sink_cap;

	uint64_t seq;
	int fatal;         /* nonzero: a fatal error happened; every call repeats it */
	rp_error fatal_err;
};

/* ---- errors ------------------------------------------------------------ */

/* Record a fatal error (sticky) and copy it to err. */
static int __attribute__((format(printf, 6, 7)))
fatal(rp_reader *r, rp_error *err, int code, const char *file, uint64_t byte, const char *fmt, ...)
{
	char msg[sizeof r->fatal_err.message];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	rp_set_error_at(&r->fatal_err, code, file, 0, byte, "%s", msg);
	r->fatal = code;
	if (err) *err = r->fatal_err;
	return code;
}

static int out_of_memory(rp_reader *r, rp_error *err)
{
	return fatal(r, err, RP_ENOMEM, r->is_open ? r->name : NULL, 0, "out of memory");
}

static const char *errno_text(int e, char *buf, size_t size)
{
	return strerror_r(e, buf, size); /* GNU: returns the message */
}

/* ---- options ----------------------------------------------------------- */

static void path_free(field_path *fp)
{
	rp_free(fp->spec);
	rp_free(fp->part);
	rp_free(fp->len);
	memset(fp, 0, sizeof *fp);
}

static int path_parse(field_path *fp, const char *spec, const char *what, rp_error *err)
{
	size_t slen = strlen(spec), n = 1;
	if (!slen) return rp_set_error(err, RP_EUSAGE, "empty %s field path", what);
	for (size_t i = 0; i < slen; i++) n += spec[i] == '.';
	fp->spec = rp_malloc(slen + 1);
	fp->part = rp_malloc_array(n, sizeof *fp->part);
	fp->len = rp_malloc_array(n, sizeof *fp->len);
	if (!fp->spec || !fp->part || !fp->len)
		return rp_set_error(err, RP_ENOMEM, "out of memory");
	memcpy(fp->spec, spec, slen + 1);
	const char *s = fp->spec;
	for (size_t i = 0; i < n; i++) {
		const char *dot = strchr(s, '.');
		size_t len = dot ? (size_t)(dot - s) : strlen(s);
		if (!len)
			return rp_set_error(err, RP_EUSAGE, "%s field path \"%s\" has an empty part", what,
			                    spec);
		fp->part[i] = s;
		fp->len[i] = len;
		s += len + 1;
	}
	fp->n = n;
	return 0;
}

/* ---- the input being read ---------------------------------------------- */

static void close_input(rp_reader *r)
{
	if (r->is_open && r->close_fd) close(r->fd);
	rp_free(r->name_owned);
	r->name_owned = NULL;
	r->name = NULL;
	r->is_open = 0;
	r->fd = -1;
}

static ssize_t read_retry(int fd, void *p, size_t n)
{
	ssize_t got;
	do got = read(fd, p, n);
	while (got < 0 && errno == EINTR);
	return got;
}

static int read_error(rp_reader *r, rp_error *err)
{
	char eb[128];
	return fatal(r, err, RP_EIO, r->name, r->buf_off + r->end, "read error: %s",
	             errno_text(errno, eb, sizeof eb));
}

/* Refill the compressed buffer (only called when it is empty). */
static int read_compressed(rp_reader *r, rp_error *err)
{
	ssize_t got = read_retry(r->fd, r->in, IN_SIZE);
	if (got < 0) return read_error(r, err);
	r->in_pos = 0;
	r->in_len = (size_t)got;
	if (!got) r->in_eof = 1;
	return 0;
}

/* Make at least READ_MIN bytes of room after end: move the unconsumed bytes
 * to the front, and grow only when they fill the buffer. */
static int make_room(rp_reader *r)
{
	if (r->cap - r->end >= READ_MIN) return 0;
	if (r->start) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->buf_off += r->start;
		r->end -= r->start;
		r->scan -= r->start;
		r->start = 0;
		if (r->cap - r->end >= READ_MIN) return 0;
	}
	void *p = r->buf;
	if (rp_grow(&p, &r->cap, r->end + READ_MIN, 1)) return RP_ENOMEM;
	r->buf = p;
	return 0;
}

static const char *isal_error_text(int ret)
{
	switch (ret) {
	case ISAL_INVALID_BLOCK: return "invalid deflate block";
	case ISAL_INVALID_SYMBOL: return "invalid deflate symbol";
	case ISAL_INVALID_LOOKBACK: return "invalid deflate distance";
	case ISAL_INVALID_WRAPPER: return "invalid gzip header";
	case ISAL_UNSUPPORTED_METHOD: return "unsupported compression method";
	case ISAL_INCORRECT_CHECKSUM: return "CRC mismatch";
	case ISAL_NEED_DICT: return "needs a preset dictionary";
	default: return "inflate error";
	}
}

/* RFC 1952: "A compliant decompressor must give an error indication if any
 * reserved bit is non-zero" (FLG bits 5-7: a field this decoder would not
 * know to skip).  zlib and gzip refuse them; ISA-L ignores them, so every
 * member's header h (at least 4 bytes, gzip magic first) is checked here. */
static int gzip_reserved_flags(rp_reader *r, const unsigned char *h, size_t n, uint64_t byte, rp_error *err)
{
	if (n >= 4 && h[0] == 0x1f && h[1] == 0x8b && (h[3] & 0xe0))
		return fatal(r, err, RP_EDATA, r->name, byte,
		             "corrupt gzip stream: reserved header flags set");
	return 0;
}

/* The length of the gzip member header at h (RFC 1952: 10 bytes, then the
 * optional extra field, name, comment and header CRC): 1 with *len when the
 * n bytes hold all of it, 0 when more are needed. */
static int gzip_header_length(const unsigned char *h, size_t n, size_t *len)
{
	if (n < 10) return 0;
	size_t at = 10;
	unsigned flg = h[3];
	if (flg & 4) { /* FEXTRA */
		if (n < at + 2) return 0;
		at += 2 + (size_t)(h[at] | h[at + 1] << 8);
	}
	for (unsigned bit = 8; bit <= 16; bit <<= 1) { /* FNAME, FCOMMENT: zero-terminated */
		if (!(flg & bit)) continue;
		if (at >= n) return 0;
		const unsigned char *z = memchr(h + at, 0, n - at);
		if (!z) return 0;
		at = (size_t)(z - h) + 1;
	}
	if (flg & 2) at += 2; /* FHCRC */
	if (n < at) return 0;
	*len = at;
	return 1;
}

/* Have the whole header of the member starting at in_pos in the compressed
 * buffer before inflating it: ISA-L 2.30 misreads a header (one with a file
 * name) that arrives a few bytes at a time, as from a slow pipe.  Also
 * refuses reserved flags.  0, or a fatal error. */
static int gzip_whole_header(rp_reader *r, rp_error *err)
{
	size_t len;
	for (;;) {
		const unsigned char *h = r->in + r->in_pos;
		size_t n = r->in_len - r->in_pos;
		int rc = gzip_reserved_flags(r, h, n, r->buf_off + r->end, err);
		if (rc) return rc;
		if (n >= 2 && (h[0] != 0x1f || h[1] != 0x8b)) return 0; /* not gzip: ISA-L says so */
		if (gzip_header_length(h, n, &len) || r->in_eof) return 0; /* a short one: ISA-L says truncated */
		if (r->in_pos) {
			memmove(r->in, h, n);
			r->in_pos = 0;
			r->in_len = n;
		}
		if (r->in_len == IN_SIZE)
			return fatal(r, err, RP_EDATA, r->name, r->buf_off + r->end, "corrupt gzip stream: header too long");
		ssize_t got = read_retry(r->fd, r->in + r->in_len, IN_SIZE - r->in_len);
		if (got < 0) return read_error(r, err);
		if (!got) r->in_eof = 1;
		r->in_len += (size_t)got;
	}
}

static int fill_gzip(rp_reader *r, rp_error *err)
{
	struct inflate_state *gz = r->gz;
	for (;;) {
		if (r->gz_member_done) {
			/* Another member follows if there is any more input. */
			if (r->in_pos == r->in_len) {
				int rc = read_compressed(r, err);
				if (rc) return rc;
				if (r->in_eof) {
					r->done = 1;
					return 0;
				}
			}
			isal_inflate_reset(gz);
			gz->crc_flag = ISAL_GZIP;
			r->gz_member_done = 0;
			r->gz_header = 1;
		}
		if (r->gz_header) {
			int rc = gzip_whole_header(r, err);
			if (rc) return rc;
			r->gz_header = 0;
		}
		if (r->in_pos == r->in_len && !r->in_eof) {
			int rc = read_compressed(r, err);
			if (rc) return rc;
		}
		size_t room = r->cap - r->end;
		gz->next_in = r->in + r->in_pos;
		gz->avail_in = (uint32_t)(r->in_len - r->in_pos);
		gz->next_out = (uint8_t *)r->buf + r->end;
		gz->avail_out = room > UINT32_MAX ? UINT32_MAX : (uint32_t)room;
		int ret = isal_inflate(gz);
		size_t produced = (size_t)((char *)gz->next_out - (r->buf + r->end));
		size_t consumed = (r->in_len - r->in_pos) - gz->avail_in;
		r->in_pos += consumed;
		r->end += produced;
		if (ret < 0)
			return fatal(r, err, RP_EDATA, r->name, r->buf_off + r->end,
			             "corrupt gzip stream: %s", isal_error_text(ret));
		if (gz->block_state == ISAL_BLOCK_FINISH) r->gz_member_done = 1;
		if (produced) return 1;
		if (r->gz_member_done) continue;
		if (r->in_eof && r->in_pos == r->in_len)
			return fatal(r, err, RP_EDATA, r->name, r->buf_off + r->end, "truncated gzip stream");
		if (!consumed && r->in_pos < r->in_len) /* cannot happen with room to write */
			return fatal(r, err, RP_EDATA, r->name, r->buf_off + r->end,
			             "corrupt gzip stream: inflate made no progress");
	}
}

static int fill_zstd(rp_reader *r, rp_error *err)
{
	for (;;) {
		if (r->in_pos == r->in_len && !r->in_eof) {
			int rc = read_compressed(r, err);
			if (rc) return rc;
		}
		if (r->in_eof && r->in_pos == r->in_len && !r->zs_pending) {
			r->done = 1; /* the last frame is complete and flushed */
			return 0;
		}
		ZSTD_inBuffer in = {r->in, r->in_len, r->in_pos};
		ZSTD_outBuffer out = {r->buf + r->end, r->cap - r->end, 0};
		size_t ret = ZSTD_decompressStream(r->zs, &out, &in);
		if (ZSTD_isError(ret)) {
			if (ZSTD_getErrorCode(ret) == ZSTD_error_memory_allocation)
				return out_of_memory(r, err);
			return fatal(r, err, RP_EDATA, r->name, r->buf_off + r->end,
			             "corrupt zstd stream: %s", ZSTD_getErrorName(ret));
		}
		size_t consumed = in.pos - r->in_pos;
		r->in_pos = in.pos;
		r->end += out.pos;
		r->zs_pending = ret;
		if (out.pos) return 1;
		if (r->in_eof && r->in_pos == r->in_len && r->zs_pending)
			return fatal(r, err, RP_EDATA, r->name, r->buf_off + r->end, "truncated zstd stream");
		if (!consumed && r->in_pos < r->in_len)
			return fatal(r, err, RP_EDATA, r->name, r->buf_off + r->end,
			             "corrupt zstd stream: no progress");
	}
}

/* Append more decompressed bytes after end.  Returns 1 if some were added,
 * 0 at the end of the stream (done is set), <0 on a fatal error. */
static int fill(rp_reader *r, rp_error *err)
{
	if (make_room(r)) return out_of_memory(r, err);
	if (r->codec == CODEC_GZIP) return fill_gzip(r, err);
	if (r->codec == CODEC_ZSTD) return fill_zstd(r, err);
	ssize_t got = read_retry(r->fd, r->buf + r->end, r->cap - r->end);
	if (got < 0) return read_error(r, err);
	if (!got) {
		r->done = 1;
		return 0;
	}
	r->end += (size_t)got;
	return 1;
}

static void *zstd_alloc(void *opaque, size_t size) { (void)opaque; return rp_malloc(size); }
static void zstd_free(void *opaque, void *p) { (void)opaque; rp_free(p); }

/* Start reading fd as input `name`: sniff the first bytes for gzip or zstd. */
static int start_input(rp_reader *r, int fd, int close_fd, const char *name, char *name_owned,
                       rp_format format, rp_error *err)
{
	r->is_open = 1;
	r->file_no++;
	r->fd = fd;
	r->close_fd = close_fd;
	r->name = name;
	r->name_len = strlen(name);
	r->name_owned = name_owned;
	r->file_format = format;
	r->codec = CODEC_PLAIN;
	r->in_eof = r->done = r->skipping = 0;
	r->line_no = 0;
	r->start = r->end = r->scan = 0;
	r->buf_off = 0;
	r->in_pos = r->in_len = 0;

	/* Read at least 4 bytes (or to the end) to see the magic. */
	size_t want = r->cap < IN_SIZE ? r->cap : IN_SIZE;
	while (r->end < 4) {
		ssize_t got = read_retry(fd, r->buf + r->end, want - r->end);
		if (got < 0) return read_error(r, err);
		if (!got) {
			r->done = 1;
			break;
		}
		r->end += (size_t)got;
	}
	const unsigned char *m = (const unsigned char *)r->buf;
	if (r->end >= 2 && m[0] == 0x1f && m[1] == 0x8b) r->codec = CODEC_GZIP;
	else if (r->end >= 4 && ((m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd) ||
	                         ((m[0] & 0xf0) == 0x50 && m[1] == 0x2a && m[2] == 0x4d && m[3] == 0x18)))
		r->codec = CODEC_ZSTD; /* a frame, or a skippable frame first (pzstd writes one per frame) */
	struct stat st;
	r->seekable = 0;
	if (r->codec == CODEC_PLAIN) {
		r->seekable = close_fd && !fstat(fd, &st) && S_ISREG(st.st_mode);
		return 0;
	}

	if (!r->in && !(r->in = rp_malloc(IN_SIZE))) return out_of_memory(r, err);
	if (r->codec == CODEC_GZIP) {
		int rc = gzip_reserved_flags(r, m, r->end, 0, err);
		if (rc) return rc;
		if (!r->gz && !(r->gz = rp_malloc(sizeof *r->gz))) return out_of_memory(r, err);
		isal_inflate_init(r->gz);
		r->gz->crc_flag = ISAL_GZIP;
		r->gz_member_done = 0;
		r->gz_header = 1;
	} else {
		if (!r->zs) {
			ZSTD_customMem mem = {zstd_alloc, zstd_free, NULL};
			if (!(r->zs = ZSTD_createDCtx_advanced(mem))) return out_of_memory(r, err);
		}
		ZSTD_DCtx_reset(r->zs, ZSTD_reset_session_only);
		r->zs_pending = 1;
	}
	memcpy(r->in, r->buf, r->end);
	r->in_len = r->end;
	r->in_eof = r->done;
	r->done = 0;
	r->end = 0;
	return 0;
}

/* ---- directory walk ---------------------------------------------------- */

static void dir_pop(rp_reader *r)
{
	dir_frame *d = &r->dirs[--r->ndirs];
	rp_free(d->path);
	rp_free(d->names);
	rp_free(d->pool);
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b); /* byte order */
}

/* Push directory `path` (owned: freed here on failure) with its sorted entries. */
static int dir_push(rp_reader *r, char *path, const struct stat *st, rp_error *err)
{
	char eb[128];
	for (size_t i = 0; i < r->ndirs; i++) {
		if (r->dirs[i].dev == st->st_dev && r->dirs[i].ino == st->st_ino) {
			fatal(r, err, RP_EIO, path, 0, "directory cycle: already inside %s", r->dirs[i].path);
			rp_free(path);
			return RP_EIO;
		}
	}
	void *frames = r->dirs;
	if (rp_grow(&frames, &r->dirs_cap, r->ndirs + 1, sizeof *r->dirs)) {
		rp_free(path);
		return out_of_memory(r, err);
	}
	r->dirs = frames;
	dir_frame *d = &r->dirs[r->ndirs];
	memset(d, 0, sizeof *d);
	d->path = path;
	d->dev = st->st_dev;
	d->ino = st->st_ino;
	r->ndirs++; /* owned by the stack from here on: freed by dir_pop */

	DIR *dir = opendir(path);
	if (!dir)
		return fatal(r, err, RP_EIO, path, 0, "cannot open directory: %s",
		             errno_text(errno, eb, sizeof eb));
	size_t pool_len = 0, pool_cap = 0, *offsets = NULL, offsets_cap = 0;
	int rc = 0;
	for (;;) {
		errno = 0;
		struct dirent *e = readdir(dir);
		if (!e) {
			if (errno)
				rc = fatal(r, err, RP_EIO, path, 0, "cannot read directory: %s",
				           errno_text(errno, eb, sizeof eb));
			break;
		}
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
		size_t len = strlen(e->d_name) + 1;
		void *pool = d->pool, *offs = offsets;
		int grown = rp_grow(&pool, &pool_cap, pool_len + len, 1);
		d->pool = pool;
		if (!grown) grown = rp_grow(&offs, &offsets_cap, d->n + 1, sizeof *offsets);
		offsets = offs;
		if (grown) {
			rc = out_of_memory(r, err);
			break;
		}
		memcpy(d->pool + pool_len, e->d_name, len);
		offsets[d->n++] = pool_len;
		pool_len += len;
	}
	closedir(dir);
	if (!rc && d->n && !(d->names = rp_malloc_array(d->n, sizeof *d->names)))
		rc = out_of_memory(r, err);
	if (!rc) {
		for (size_t i = 0; i < d->n; i++) d->names[i] = d->pool + offsets[i];
		qsort(d->names, d->n, sizeof *d->names, compare_names);
	} else {
		d->n = 0;
	}
	rp_free(offsets);
	return rc;
}

static char *join_path(const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	int slash = dl && dir[dl - 1] != '/';
	char *p = rp_malloc(dl + slash + nl + 1);
	if (!p) return NULL;
	memcpy(p, dir, dl);
	if (slash) p[dl] = '/';
	memcpy(p + dl + slash, name, nl + 1);
	return p;
}

/* Open the next input: the next entry of the innermost directory, else the
 * next input given.  Returns 1 when one is open, 0 when none is left. */
static int open_next(rp_reader *r, rp_error *err)
{
	char eb[128];
	rp_format plain = r->format == RP_FORMAT_AUTO ? RP_FORMAT_JSONL : r->format;
	rp_format in_dir = r->format == RP_FORMAT_JSONL || r->format == RP_FORMAT_LINES
	                       ? r->format : RP_FORMAT_FILE;
	for (;;) {
		const char *path;
		char *owned = NULL;
		int under_dir = r->ndirs > 0;
		if (under_dir) {
			dir_frame *d = &r->dirs[r->ndirs - 1];
			if (d->next == d->n) {
				dir_pop(r);
				continue;
			}
			if (!(owned = join_path(d->path, d->names[d->next++]))) return out_of_memory(r, err);
			path = owned;
		} else {
			if (r->next_input == r->ninputs) return 0;
			path = r->inputs[r->next_input++];
			if (!strcmp(path, "-")) {
				int rc = start_input(r, STDIN_FILENO, 0, path, NULL, plain, err);
				return rc < 0 ? rc : 1;
			}
		}

		struct stat st;
		if (stat(path, &st)) {
			fatal(r, err, RP_EIO, path, 0, "cannot open: %s", errno_text(errno, eb, sizeof eb));
			rp_free(owned);
			return RP_EIO;
		}
		if (S_ISDIR(st.st_mode)) {
			if (!owned) {
				size_t len = strlen(path) + 1;
				if (!(owned = rp_malloc(len))) return out_of_memory(r, err);
				memcpy(owned, path, len);
			}
			int rc = dir_push(r, owned, &st, err);
			if (rc < 0) return rc;
			continue;
		}
		if (under_dir && !S_ISREG(st.st_mode)) {
			fatal(r, err, RP_EIO, path, 0, "not a regular file or directory");
			rp_free(owned);
			return RP_EIO;
		}
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fatal(r, err, RP_EIO, path, 0, "cannot open: %s", errno_text(errno, eb, sizeof eb));
			rp_free(owned);
			return RP_EIO;
		}
		int rc = start_input(r, fd, 1, path, owned, under_dir ? in_dir : plain, err);
		return rc < 0 ? rc : 1;
	}
}

/* ---- JSON scanner ------------------------------------------------------ */

typedef enum { STR_SKIP, STR_KEY, STR_TEXT, STR_ID, STR_EXTRA } string_mode; /* STR_EXTRA + i: extra field i */
enum { FIELD_MISSING, FIELD_STRING, FIELD_NUMBER, FIELD_WRONG_TYPE };

/* One line being scanned: the whole line is validated; the values at the
 * text and id paths are picked up on the way (the last one wins, as with
 * most JSON parsers). */
typedef struct json_scan {
	rp_reader *r;
	const unsigned char *line, *p, *end;
	const char *text, *id, *extra[RP_MAX_EXTRA];
	size_t text_len, id_len, extra_len[RP_MAX_EXTRA];
	size_t text_at, text_raw_len; /* the text's string in the line, quotes included */
	int text_state, id_state, extra_state[RP_MAX_EXTRA];
	const char *error;  /* first problem, at byte error_at of the line */
	size_t error_at;
	int nomem;
} json_scan;

static int json_fail(json_scan *js, const unsigned char *at, const char *msg)
{
	js->error = msg;
	js->error_at = (size_t)(at - js->line);
	return -1;
}

static inline void skip_space(json_scan *js)
{
	const unsigned char *p = js->p, *end = js->end;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) p++;
	js->p = p;
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* High bit set in the bytes of v that may need attention inside a string:
 * '"', '\\', control characters and non-ASCII.  The lowest flagged byte is
 * always a real one (a subtraction only borrows out of a flagged byte), so on
 * little-endian machines the lowest set bit gives its position. */
static inline uint64_t string_specials(uint64_t v)
{
	uint64_t q = v ^ (ONES * '"'), b = v ^ (ONES * '\\');
	return (((q - ONES) & ~q) | ((b - ONES) & ~b) | ((v - ONES * 0x20) & ~v) | v) & HIGHS;
}

static inline int is_special(unsigned c) { return c == '"' || c == '\\' || c < 0x20 || c >= 0x80; }

/* The first byte of [p, end) that needs attention inside a string, or end. */
static inline const unsigned char *string_find(const unsigned char *p, const unsigned char *end)
{
#ifdef __SSE2__
	const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
	const __m128i space = _mm_set1_epi8(0x20);
	while (end - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)p);
		/* Signed compare: bytes >= 0x80 are negative, so "< 0x20" also
		 * catches every non-ASCII byte. */
		__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote),
		                                      _mm_cmpeq_epi8(v, backslash)),
		                         _mm_cmplt_epi8(v, space));
		unsigned mask = (unsigned)_mm_movemask_epi8(m);
		if (mask) return p + __builtin_ctz(mask);
		p += 16;
	}
#endif
	while (end - p >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		if (string_specials(v)) break;
		p += 8;
	}
	while (p < end && !is_special(*p)) p++;
	return p;
}

/* The same, copying the bytes passed over to *dst (advanced likewise).  The
 * copy goes a block at a time, so it may write up to a block beyond the bytes
 * passed over, but never beyond *dst + (end - p). */
static inline const unsigned char *string_copy(const unsigned char *p, const unsigned char *end,
                                               char **dst)
{
	char *o = *dst;
#ifdef __SSE2__
	const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
	const __m128i space = _mm_set1_epi8(0x20);
	while (end - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)p);
		_mm_storeu_si128((__m128i *)o, v);
		__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote),
		                                      _mm_cmpeq_epi8(v, backslash)),
		                         _mm_cmplt_epi8(v, space));
		unsigned mask = (unsigned)_mm_movemask_epi8(m);
		if (mask) {
			unsigned k = (unsigned)__builtin_ctz(mask);
			*dst = o + k;
			return p + k;
		}
		p += 16;
		o += 16;
	}
#endif
	while (end - p >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		memcpy(o, &v, 8);
		if (string_specials(v)) break;
		p += 8;
		o += 8;
	}
	while (p < end && !is_special(*p)) *o++ = (char)*p++;
	*dst = o;
	return p;
}

/* The byte each one-character escape stands for (0: not one). */
static const unsigned char simple_escape[256] = {
	['"'] = '"', ['\\'] = '\\', ['/'] = '/', ['b'] = '\b',
	['f'] = '\f', ['n'] = '\n', ['r'] = '\r', ['t'] = '\t',
};

#ifdef HAVE_VBMI2_STRINGS
#define VBMI2_TARGET __attribute__((target("avx512f,avx512bw,avx512vbmi,avx512vbmi2,popcnt")))
/* string_copy for AVX-512 VBMI2 machines: 64 bytes at a time, decoding
 * one-character escapes in the block (vpermi2b maps the escaped byte,
 * vpcompressb drops the backslashes), so text with an escape every few dozen
 * bytes stays in the loop.  Stops at the first byte string_copy would stop at
 * other than a one-character escape: a real quote, control or non-ASCII byte,
 * any other escape; the same write bound holds. */
VBMI2_TARGET static const unsigned char *string_copy_vbmi2(const unsigned char *p,
                                                          const unsigned char *end, char **dst)
{
	const uint64_t even = 0x5555555555555555ULL;
	const __m512i quote = _mm512_set1_epi8('"'), backslash = _mm512_set1_epi8('\\');
	const __m512i space = _mm512_set1_epi8(0x20);
	const __m512i lo = _mm512_loadu_si512((const void *)simple_escape);
	const __m512i hi = _mm512_loadu_si512((const void *)(simple_escape + 64));
	char *o = *dst;
	while (end - p >= 64) {
		__m512i v = _mm512_loadu_si512((const void *)p);
		uint64_t bs = _mm512_cmpeq_epi8_mask(v, backslash);
		/* Signed: also every non-ASCII byte. */
		uint64_t ctl = _mm512_cmplt_epi8_mask(v, space);
		uint64_t other = _mm512_cmpeq_epi8_mask(v, quote) | ctl;
		if (!(bs | other)) {
			_mm512_storeu_si512((void *)o, v);
			p += 64;
			o += 64;
			continue;
		}
		/* The bytes escaped by a backslash (a block never starts inside an
		 * escape): odd-length backslash runs escape the byte after them. */
		uint64_t follows = bs << 1;
		uint64_t odd_starts = bs & ~even & ~follows;
		uint64_t invert = (odd_starts + bs) << 1;
		uint64_t escaped = (even ^ invert) & follows;
		uint64_t starts = bs & ~escaped;
		/* The escaped bytes' values; 0 for anything but a simple escape
		 * (the table is indexed by 7 bits: non-ASCII bytes, in ctl, are
		 * refused separately). */
		__m512i mapped = _mm512_permutex2var_epi8(lo, v, hi);
		uint64_t invalid = _mm512_cmpeq_epi8_mask(mapped, _mm512_setzero_si512()) | ctl;
		uint64_t real = (other & ~escaped) | (escaped & invalid) >> 1;
		/* An escape in the last byte goes to the next block. */
		uint64_t stopmask = real | (starts & 1ULL << 63);
		unsigned stop = stopmask ? (unsigned)__builtin_ctzll(stopmask) : 64;
		uint64_t keep = ~starts & (stop == 64 ? ~0ULL : (1ULL << stop) - 1);
		__m512i out = _mm512_maskz_compress_epi8(keep, _mm512_mask_blend_epi8(escaped, v, mapped));
		_mm512_storeu_si512((void *)o, out);
		o += __builtin_popcountll(keep);
		p += stop;
		if (real && (unsigned)__builtin_ctzll(real) == stop) break;
	}
	*dst = o;
	if (end - p >= 64) return p;
	return string_copy(p, end, dst);
}
#endif

static inline int hex4(const unsigned char *p, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		unsigned c = p[i], d;
		if (c - '0' < 10u) d = c - '0';
		else if ((c | 0x20) - 'a' < 6u) d = (c | 0x20) - 'a' + 10;
		else return 0;
		v = v << 4 | d;
	}
	*out = v;
	return 1;
}

static inline size_t put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Scan the string whose opening quote is at js->p.  Modes other than
 * STR_SKIP return its value in *out: a pointer into the line when it has no
 * escapes, else into a decode buffer (filled from the first escape on).
 * STR_TEXT and STR_ID refuse lone surrogate escapes (their value must be
 * UTF-8); STR_TEXT refuses NUL. */
static int scan_string(json_scan *js, string_mode mode, const char **out, size_t *out_len)
{
	const unsigned char *open = js->p, *p = open + 1, *end = js->end;
	char *dst = NULL, *base = NULL;
	int strict = mode == STR_TEXT || mode >= STR_ID;
	for (;;) {
#ifdef HAVE_VBMI2_STRINGS
		if (dst && js->r->vbmi2) p = string_copy_vbmi2(p, end, &dst);
		else
#endif
		p = dst ? string_copy(p, end, &dst) : string_find(p, end);
		if (p == end) return json_fail(js, open, "invalid JSON: unterminated string");
		unsigned c = *p;
		if (c == '\\' && end - p >= 2 && simple_escape[p[1]] && (dst || mode == STR_SKIP)) {
			if (dst) *dst++ = (char)simple_escape[p[1]]; /* the common case */
			p += 2;
			continue;
		}
		if (c == '"') break;
		if (c >= 0x80) {
			/* Non-ASCII: validate sequence after sequence. */
			do {
				size_t n = rp_utf8_sequence(p, end);
				if (!n) return json_fail(js, p, "invalid UTF-8");
				if (dst) {
					for (size_t i = 0; i < n; i++) *dst++ = (char)p[i];
				}
				p += n;
			} while (p < end && *p >= 0x80);
			continue;
		}
		if (c < 0x20) {
			if (c == 0 && mode == STR_TEXT) return json_fail(js, p, "NUL byte in text");
			return json_fail(js, p, "invalid JSON: unescaped control character in string");
		}

		const unsigned char *esc = p; /* a backslash */
		uint32_t cp;
		size_t esc_len = 2;
		if (end - p < 2) return json_fail(js, open, "invalid JSON: unterminated string");
		if (simple_escape[p[1]]) {
			cp = simple_escape[p[1]];
		} else if (p[1] == 'u') {
			if (end - p < 6 || !hex4(p + 2, &cp))
				return json_fail(js, esc, "invalid JSON: invalid \\u escape");
			esc_len = 6;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				uint32_t lo;
				if (end - p >= 12 && p[6] == '\\' && p[7] == 'u' && hex4(p + 8, &lo) &&
				    lo >= 0xdc00 && lo <= 0xdfff) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					esc_len = 12;
				} else if (strict) {
					return json_fail(js, esc, "invalid \\u escape (lone surrogate)");
				}
			} else if (cp >= 0xdc00 && cp <= 0xdfff && strict) {
				return json_fail(js, esc, "invalid \\u escape (lone surrogate)");
			}
		} else {
			return json_fail(js, esc, "invalid JSON: invalid escape");
		}
		if (cp == 0 && mode == STR_TEXT) return json_fail(js, esc, "NUL byte in text");
		if (mode != STR_SKIP) {
			if (!dst) {
				/* Decoded text is never longer than its escaped form, so
				 * one allocation of the rest of the line is enough. */
				rp_reader *r = js->r;
				int sunk = mode == STR_TEXT && r->sink;
				char **bufp = sunk ? r->sink
				              : mode == STR_TEXT ? &r->text_buf
				              : mode == STR_ID ? &r->id_buf
				              : mode >= STR_EXTRA ? &r->extra_buf[mode - STR_EXTRA] : &r->key_buf;
				size_t *capp = sunk ? r->sink_cap
				               : mode == STR_TEXT ? &r->text_cap
				               : mode == STR_ID ? &r->id_cap
				               : mode >= STR_EXTRA ? &r->extra_cap[mode - STR_EXTRA] : &r->key_cap;
				size_t at = sunk ? *r->sink_len : 0;
				void *b = *bufp;
				if (rp_grow(&b, capp, at + (size_t)(end - open), 1)) {
					js->nomem = 1;
					return json_fail(js, esc, "out of memory");
				}
				*bufp = b;
				base = dst = (char *)b + at;
				memcpy(dst, open + 1, (size_t)(esc - open - 1));
				dst += esc - open - 1;
			}
			dst += put_utf8(dst, cp);
		}
		p += esc_len;
	}
	if (out) {
		if (dst) {
			*out = base;
			*out_len = (size_t)(dst - base);
		} else {
			*out = (const char *)open + 1;
			*out_len = (size_t)(p - open - 1);
		}
	}
	js->p = p + 1;
	return 0;
}

static inline int is_digit(unsigned c) { return c - '0' < 10u; }

static int scan_number(json_scan *js, const char **out, size_t *out_len)
{
	const unsigned char *s = js->p, *p = s, *end = js->end;
	if (p < end && *p == '-') p++;
	if (p == end || !is_digit(*p)) return json_fail(js, s, "invalid JSON: invalid number");
	if (*p == '0') {
		p++;
		/* "01" is no number: say so here, not as a 0 followed by junk
		 * (which would have taken 0 for the record's id) */
		if (p < end && is_digit(*p)) return json_fail(js, s, "invalid JSON: invalid number (leading zero)");
	} else {
		while (p < end && is_digit(*p)) p++;
	}
	if (p < end && *p == '.') {
		p++;
		if (p == end || !is_digit(*p)) return json_fail(js, s, "invalid JSON: invalid number");
		while (p < end && is_digit(*p)) p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-')) p++;
		if (p == end || !is_digit(*p)) return json_fail(js, s, "invalid JSON: invalid number");
		while (p < end && is_digit(*p)) p++;
	}
	*out = (const char *)s;
	*out_len = (size_t)(p - s);
	js->p = p;
	return 0;
}

/* How many parts of each extra field's path the keys leading here matched
 * (-1: off the path). */
typedef struct { int d[RP_MAX_EXTRA]; } extra_depths;

static int scan_value(json_scan *js, int depth, int text_depth, int id_depth, extra_depths xd);

/* text_depth: how many parts of the text path the keys leading here matched
 * (-1: off the path); likewise id_depth. */
static int scan_object(json_scan *js, int depth, int text_depth, int id_depth, extra_depths xd)
{
	const field_path *tp = &js->r->text_path, *ip = &js->r->id_path;
	const unsigned char *open = js->p;
	int text_inside = text_depth >= 0 && (size_t)text_depth < tp->n;
	int id_inside = id_depth >= 0 && (size_t)id_depth < ip->n;
	int extra_inside = 0;
	for (int k = 0; k < RP_MAX_EXTRA; k++)
		extra_inside |= xd.d[k] >= 0 && (size_t)xd.d[k] < js->r->extra_path[k].n;
	js->p++;
	skip_space(js);
	if (js->p < js->end && *js->p == '}') {
		js->p++;
		return 0;
	}
	for (;;) {
		if (js->p == js->end) return json_fail(js, open, "invalid JSON: unterminated object");
		if (*js->p != '"') return json_fail(js, js->p, "invalid JSON: expected a string key");
		const char *key = NULL;
		size_t key_len = 0;
		if (scan_string(js, text_inside || id_inside || extra_inside ? STR_KEY : STR_SKIP, &key, &key_len))
			return -1;
		int child_text = -1, child_id = -1;
		if (text_inside && key_len == tp->len[text_depth] &&
		    !memcmp(key, tp->part[text_depth], key_len))
			child_text = text_depth + 1;
		if (id_inside && key_len == ip->len[id_depth] && !memcmp(key, ip->part[id_depth], key_len))
			child_id = id_depth + 1;
		extra_depths child_x;
		for (int k = 0; k < RP_MAX_EXTRA; k++) {
			const field_path *xp = &js->r->extra_path[k];
			int dk = xd.d[k];
			child_x.d[k] = dk >= 0 && (size_t)dk < xp->n && key_len == xp->len[dk] && !memcmp(key, xp->part[dk], key_len)
			               ? dk + 1 : -1;
		}
		skip_space(js);
		if (js->p == js->end || *js->p != ':')
			return json_fail(js, js->p, "invalid JSON: expected ':' after object key");
		js->p++;
		skip_space(js);
		if (scan_value(js, depth, child_text, child_id, child_x)) return -1;
		skip_space(js);
		if (js->p == js->end) return json_fail(js, open, "invalid JSON: unterminated object");
		if (*js->p == ',') {
			js->p++;
			skip_space(js);
			continue;
		}
		if (*js->p == '}') {
			js->p++;
			return 0;
		}
		return json_fail(js, js->p, "invalid JSON: expected ',' or '}' in object");
	}
}

static int scan_array(json_scan *js, int depth)
{
	const unsigned char *open = js->p;
	js->p++;
	skip_space(js);
	if (js->p < js->end && *js->p == ']') {
		js->p++;
		return 0;
	}
	extra_depths off;
	for (int k = 0; k < RP_MAX_EXTRA; k++) off.d[k] = -1;
	for (;;) {
		if (scan_value(js, depth, -1, -1, off)) return -1;
		skip_space(js);
		if (js->p == js->end) return json_fail(js, open, "invalid JSON: unterminated array");
		if (*js->p == ',') {
			js->p++;
			skip_space(js);
			continue;
		}
		if (*js->p == ']') {
			js->p++;
			return 0;
		}
		return json_fail(js, js->p, "invalid JSON: expected ',' or ']' in array");
	}
}

static int scan_value(json_scan *js, int depth, int text_depth, int id_depth, extra_depths xd)
{
	int is_text = text_depth >= 0 && (size_t)text_depth == js->r->text_path.n;
	int is_id = id_depth >= 0 && (size_t)id_depth == js->r->id_path.n;
	if (js->p == js->end) return json_fail(js, js->p, "invalid JSON: expected a value");
	unsigned c = *js->p;
	/* An extra field is picked up by itself (a string or a number), and the
	 * value is then scanned again for text and id (nothing is copied twice
	 * unless two paths name the same value). */
	for (int k = 0; k < RP_MAX_EXTRA; k++) {
		if (xd.d[k] < 0 || js->r->extra_path[k].n == 0 || (size_t)xd.d[k] != js->r->extra_path[k].n) continue;
		const unsigned char *at = js->p;
		if (c == '"') {
			if (scan_string(js, (string_mode)(STR_EXTRA + k), &js->extra[k], &js->extra_len[k])) return -1;
			js->extra_state[k] = FIELD_STRING;
		} else if (c == '-' || c - '0' < 10u) {
			if (scan_number(js, &js->extra[k], &js->extra_len[k])) return -1;
			js->extra_state[k] = FIELD_NUMBER;
		} else if (c == 'n') {
			js->extra_state[k] = FIELD_MISSING; /* null: as if absent (the literal is checked below) */
		} else {
			js->extra_state[k] = FIELD_WRONG_TYPE;
		}
		js->p = at;
		xd.d[k] = -1;
	}
	if (c == '"') {
		if (is_text) {
			const unsigned char *at = js->p;
			if (scan_string(js, STR_TEXT, &js->text, &js->text_len)) return -1;
			js->text_state = FIELD_STRING;
			js->text_at = (size_t)(at - js->line);
			js->text_raw_len = (size_t)(js->p - at);
			if (is_id) {
				js->id = js->text;
				js->id_len = js->text_len;
				js->id_state = FIELD_STRING;
			}
			return 0;
		}
		if (is_id) {
			if (scan_string(js, STR_ID, &js->id, &js->id_len)) return -1;
			js->id_state = FIELD_STRING;
			return 0;
		}
		return scan_string(js, STR_SKIP, NULL, NULL);
	}
	if (is_text) js->text_state = FIELD_WRONG_TYPE;
	if (c == '-' || c - '0' < 10u) {
		const char *num;
		size_t len;
		if (scan_number(js, &num, &len)) return -1;
		if (is_id) {
			js->id = num;
			js->id_len = len;
			js->id_state = FIELD_NUMBER;
		}
		return 0;
	}
	if (is_id) js->id_state = FIELD_WRONG_TYPE;
	if (c == '{' || c == '[') {
		if (depth >= MAX_DEPTH)
			return json_fail(js, js->p, "invalid JSON: nested more than 512 levels deep");
		return c == '{' ? scan_object(js, depth + 1, is_text ? -1 : text_depth,
		                              is_id ? -1 : id_depth, xd)
		                : scan_array(js, depth + 1);
	}
	const char *literal = c == 't' ? "true" : c == 'f' ? "false" : c == 'n' ? "null" : NULL;
	size_t len = literal ? strlen(literal) : 0;
	if (!literal || (size_t)(js->end - js->p) < len || memcmp(js->p, literal, len))
		return json_fail(js, js->p, "invalid JSON: unexpected character");
	js->p += len;
	return 0;
}

/* ---- records ----------------------------------------------------------- */

/* Point rec->id at "PATH:LINE". */
static int line_id(rp_reader *r, rp_record *rec)
{
	void *b = r->id_buf;
	if (rp_grow(&b, &r->id_cap, r->name_len + 24, 1)) return RP_ENOMEM;
	r->id_buf = b;
	int n = snprintf(r->id_buf, r->id_cap, "%s:%llu", r->name, (unsigned long long)rec->line);
	rec->id = r->id_buf;
	rec->id_len = (size_t)n;
	rec->id_default = 1;
	return 0;
}

static void record_begin(rp_reader *r, rp_record *rec, size_t at, size_t len, uint64_t line)
{
	rec->seq = r->seq;
	rec->text = "";
	rec->text_len = 0;
	rec->id = r->name;
	rec->id_len = r->name_len;
	rec->id_is_number = 0;
	rec->id_default = 0;
	rec->raw = r->buf + at;
	rec->raw_len = len;
	rec->crlf = 0;
	for (int k = 0; k < RP_MAX_EXTRA; k++) rec->extra[k] = NULL, rec->extra_len[k] = 0;
	rec->file = r->name;
	rec->line = line;
	rec->byte = r->buf_off + at;
	rec->bad = 0;
	rec->text_seekable = rec->text_quoted = 0;
	rec->fd = -1;
	rec->file_no = r->file_no - 1;
	rec->text_byte = 0;
	rec->text_raw_len = 0;
}

/* Say where the text of a good record lies in the input, when it can be read
 * there again. */
static void record_located(rp_reader *r, rp_record *rec, int quoted, uint64_t byte, size_t raw_len)
{
	if (!r->seekable) return;
	rec->text_seekable = 1;
	rec->text_quoted = quoted;
	rec->fd = r->fd;
	rec->text_byte = byte;
	rec->text_raw_len = raw_len;
}

/* Finish a bad record: the error is at stream offset `byte`. */
static int __attribute__((format(printf, 5, 6)))
record_bad(rp_reader *r, rp_record *rec, rp_error *err, uint64_t byte, const char *fmt, ...)
{
	char msg[sizeof err->message];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	rec->bad = 1;
	rec->text = "";
	rec->text_len = 0;
	rp_set_error_at(err, RP_EDATA, r->name, rec->line, byte, "%s", msg);
	r->seq++;
	return 1;
}

static int record_too_long(rp_reader *r, rp_record *rec, rp_error *err)
{
	if (rec->raw_len > r->max_record) rec->raw_len = r->max_record;
	if (rec->line && line_id(r, rec)) return out_of_memory(r, err);
	return record_bad(r, rec, err, rec->byte, "record longer than %zu bytes", r->max_record);
}

/* A whole text (LINES or FILE record): valid UTF-8 without NUL. */
static int record_text(rp_reader *r, rp_record *rec, rp_error *err)
{
	size_t bad = rp_utf8_check(rec->raw, rec->raw_len);
	if (bad < rec->raw_len) {
		int rc = record_bad(r, rec, err, rec->byte + bad, "%s", rec->raw[bad] ? "invalid UTF-8" : "NUL byte in text");
		if (err && !rec->line) { /* a whole file: say the line inside it too */
			uint64_t line = 1;
			for (size_t i = 0; i < bad; i++) line += rec->raw[i] == '\n';
			err->line = line;
		}
		return rc;
	}
	rec->text = rec->raw;
	rec->text_len = rec->raw_len;
	record_located(r, rec, 0, rec->byte, rec->raw_len);
	r->seq++;
	return 1;
}

/* A JSON line.  Returns 1 with a record, 0 for a blank line, <0 if fatal. */
static int record_json(rp_reader *r, rp_record *rec, rp_error *err)
{
	if (rec->byte == 0 && rec->raw_len >= 3 && !memcmp(rec->raw, "\xef\xbb\xbf", 3)) {
		rec->raw += 3; /* a byte-order mark at the start of the stream is not JSON */
		rec->raw_len -= 3;
		rec->byte = 3;
	}
	json_scan js = {0};
	js.r = r;
	js.line = js.p = (const unsigned char *)rec->raw;
	js.end = js.line + rec->raw_len;
	skip_space(&js);
	if (js.p == js.end) return 0;
	int is_object = *js.p == '{';
	extra_depths root;
	for (int k = 0; k < RP_MAX_EXTRA; k++) root.d[k] = r->extra_path[k].n ? 0 : -1;
	if (!scan_value(&js, 0, 0, 0, root)) {
		skip_space(&js);
		if (js.p != js.end) json_fail(&js, js.p, "invalid JSON: unexpected data after the value");
		else if (!is_object) json_fail(&js, js.line, "JSON line is not an object");
	}
	if (js.nomem) return out_of_memory(r, err);
	if (js.id_state == FIELD_STRING || js.id_state == FIELD_NUMBER) {
		rec->id = js.id;
		rec->id_len = js.id_len;
		rec->id_is_number = js.id_state == FIELD_NUMBER;
	} else if (line_id(r, rec)) {
		return out_of_memory(r, err);
	}
	if (js.error) return record_bad(r, rec, err, rec->byte + js.error_at, "%s", js.error);
	if (js.text_state == FIELD_MISSING)
		return record_bad(r, rec, err, rec->byte, "missing text field \"%s\"", r->text_path.spec);
	if (js.text_state == FIELD_WRONG_TYPE)
		return record_bad(r, rec, err, rec->byte, "text field \"%s\" is not a string",
		                  r->text_path.spec);
	if (js.id_state == FIELD_WRONG_TYPE)
		return record_bad(r, rec, err, rec->byte, "id field \"%s\" is not a string or number",
		                  r->id_path.spec);
	for (int k = 0; k < RP_MAX_EXTRA; k++) {
		if (js.extra_state[k] == FIELD_WRONG_TYPE)
			return record_bad(r, rec, err, rec->byte, "field \"%s\" is not a string or number",
			                  r->extra_path[k].spec);
		if (js.extra_state[k] == FIELD_STRING || js.extra_state[k] == FIELD_NUMBER) {
			rec->extra[k] = js.extra[k];
			rec->extra_len[k] = js.extra_len[k];
		}
	}
	rec->text = js.text;
	rec->text_len = js.text_len;
	record_located(r, rec, 1, rec->byte + js.text_at, js.text_raw_len);
	r->seq++;
	return 1;
}

/* The line [at, at + len) (newline and \r removed) as a record. */
static int record_line(rp_reader *r, rp_record *rec, size_t at, size_t len, rp_error *err)
{
	record_begin(r, rec, at, len, r->line_no);
	if (len > r->max_record) return record_too_long(r, rec, err);
	if (r->file_format == RP_FORMAT_JSONL) return record_json(r, rec, err);
	if (line_id(r, rec)) return out_of_memory(r, err);
	return record_text(r, rec, err);
}

/* Next record of the open input: 1, or 0 at its end, or <0 if fatal. */
static int next_line_record(rp_reader *r, rp_record *rec, rp_error *err)
{
	for (;;) {
		char *nl = memchr(r->buf + r->scan, '\n', r->end - r->scan);
		if (nl) {
			size_t at = r->start, len = (size_t)(nl - r->buf) - at;
			r->start = r->scan = at + len + 1;
			r->line_no++;
			if (r->skipping) {
				r->skipping = 0;
				continue;
			}
			int cr = len && r->buf[at + len - 1] == '\r';
			int rc = record_line(r, rec, at, len - (size_t)cr, err);
			rec->crlf = cr;
			if (rc) return rc;
			continue;
		}
		r->scan = r->end;
		if (r->skipping) {
			r->start = r->end;
		} else if (r->end - r->start > r->max_record + 1) {
			/* Over-long without its newline yet (+1: it may end in \r). */
			record_begin(r, rec, r->start, r->end - r->start, r->line_no + 1);
			r->start = r->end;
			r->skipping = 1;
			return record_too_long(r, rec, err);
		}
		if (r->done) {
			if (r->start == r->end) return 0;
			/* The last line has no newline. */
			size_t at = r->start, len = r->end - at;
			r->start = r->scan = r->end;
			r->line_no++;
			int cr = r->buf[at + len - 1] == '\r';
			int rc = record_line(r, rec, at, len - (size_t)cr, err);
			rec->crlf = cr;
			if (rc) return rc;
			return 0;
		}
		int rc = fill(r, err);
		if (rc < 0) return rc;
	}
}

static int next_file_record(rp_reader *r, rp_record *rec, rp_error *err)
{
	for (;;) {
		if (r->skipping) {
			r->start = r->end; /* the file's record was returned; drain the rest */
			if (r->done) return 0;
		} else if (r->end - r->start > r->max_record) {
			record_begin(r, rec, r->start, r->end - r->start, 0);
			r->skipping = 1;
			return record_too_long(r, rec, err);
		} else if (r->done) {
			record_begin(r, rec, r->start, r->end - r->start, 0);
			r->skipping = 1;
			return record_text(r, rec, err);
		}
		int rc = fill(r, err);
		if (rc < 0) return rc;
	}
}

int rp_reader_next(rp_reader *r, rp_record *rec, rp_error *err)
{
	if (!r || !rec) return rp_set_error(err, RP_EUSAGE, "rp_reader_next: NULL argument");
	for (;;) {
		if (r->fatal) {
			if (err) *err = r->fatal_err;
			return r->fatal;
		}
		if (!r->is_open) {
			int rc = open_next(r, err);
			if (rc <= 0) return rc;
		}
		int rc = r->file_format == RP_FORMAT_FILE ? next_file_record(r, rec, err)
		                                          : next_line_record(r, rec, err);
		if (rc) return rc;
		close_input(r);
	}
}

/* ---- handle ------------------------------------------------------------ */

/* string_copy_vbmi2 may run on this CPU. */
static int vbmi2_strings(void)
{
#ifdef HAVE_VBMI2_STRINGS
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	       __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512vbmi2") &&
	       __builtin_cpu_supports("popcnt");
#else
	return 0;
#endif
}

rp_status rp_reader_new(rp_reader **out, const char *const *inputs, size_t ninputs,
                        const rp_reader_opts *opts, rp_error *err)
{
	if (!out) return rp_set_error(err, RP_EUSAGE, "rp_reader_new: out is NULL");
	*out = NULL;
	if (ninputs && !inputs) return rp_set_error(err, RP_EUSAGE, "rp_reader_new: inputs is NULL");
	for (size_t i = 0; i < ninputs; i++)
		if (!inputs[i]) return rp_set_error(err, RP_EUSAGE, "rp_reader_new: input %zu is NULL", i);
	rp_reader_opts o = {RP_FORMAT_AUTO, "text", "id", 0};
	if (opts) {
		o = *opts;
		if (!o.text_field) o.text_field = "text";
		if (!o.id_field) o.id_field = "id";
	}
	if (o.format < RP_FORMAT_AUTO || o.format > RP_FORMAT_FILE)
		return rp_set_error(err, RP_EUSAGE, "unknown input format %d", (int)o.format);

	rp_reader *r = rp_malloc(sizeof *r);
	if (!r) return rp_set_error(err, RP_ENOMEM, "out of memory");
	memset(r, 0, sizeof *r);
	r->fd = -1;
	r->vbmi2 = vbmi2_strings();
	r->format = o.format;
	r->max_record = o.max_record ? o.max_record : DEFAULT_MAX_RECORD;
	if (r->max_record > SIZE_MAX / 4) r->max_record = SIZE_MAX / 4; /* room for the arithmetic */
	int rc = path_parse(&r->text_path, o.text_field, "text", err);
	if (!rc) rc = path_parse(&r->id_path, o.id_field, "id", err);
	if (rc) {
		rp_reader_free(r);
		return rc;
	}

	/* The inputs: an array of pointers into one block of strings. */
	size_t bytes = 0;
	for (size_t i = 0; i < ninputs; i++) bytes += strlen(inputs[i]) + 1;
	r->inputs = rp_malloc_array(ninputs, sizeof *r->inputs);
	r->input_block = rp_malloc(bytes);
	r->cap = BUF_INITIAL;
	r->buf = rp_malloc(r->cap);
	if (!r->inputs || !r->input_block || !r->buf) {
		rp_reader_free(r);
		return rp_set_error(err, RP_ENOMEM, "out of memory");
	}
	char *block = r->input_block;
	for (size_t i = 0; i < ninputs; i++) {
		size_t len = strlen(inputs[i]) + 1;
		memcpy(block, inputs[i], len);
		r->inputs[i] = block;
		block += len;
	}
	r->ninputs = ninputs;
	*out = r;
	return RP_OK;
}

rp_status rp_json_text(const char *quoted, size_t len, char **buf, size_t *cap, const char **text,
                       size_t *text_len, rp_error *err)
{
	/* A reader of nothing but its text sink, so that the text is decoded by
	 * the very code that decoded it the first time. */
	rp_reader r;
	memset(&r, 0, sizeof r);
	r.vbmi2 = vbmi2_strings();
	size_t zero = 0;
	r.sink = buf, r.sink_len = &zero, r.sink_cap = cap;
	json_scan js = {0};
	js.r = &r;
	js.line = js.p = (const unsigned char *)quoted;
	js.end = js.line + len;
	if (!len || *quoted != '"' || scan_string(&js, STR_TEXT, text, text_len) || js.p != js.end)
		return rp_set_error(err, js.nomem ? RP_ENOMEM : RP_EDATA, "%s",
		                    js.nomem ? "out of memory" : js.error ? js.error : "not one JSON string");
	return RP_OK;
}

void rp_reader_set_text_sink(rp_reader *r, char **buf, size_t *len, size_t *cap)
{
	r->sink = buf;
	r->sink_len = buf ? len : NULL;
	r->sink_cap = buf ? cap : NULL;
}

rp_status rp_reader_set_extra(rp_reader *r, int k, const char *path, rp_error *err)
{
	if (k < 0 || k >= RP_MAX_EXTRA || !path || !*path)
		return rp_set_error(err, RP_EUSAGE, "rp_reader_set_extra: bad field %d", k);
	if (r->seq) return rp_set_error(err, RP_EUSAGE, "rp_reader_set_extra after the first record");
	path_free(&r->extra_path[k]);
	return path_parse(&r->extra_path[k], path, "extra", err);
}

void rp_reader_free(rp_reader *r)
{
	if (!r) return;
	close_input(r);
	while (r->ndirs) dir_pop(r);
	rp_free(r->dirs);
	rp_free(r->inputs);
	rp_free(r->input_block);
	path_free(&r->text_path);
	path_free(&r->id_path);
	for (int k = 0; k < RP_MAX_EXTRA; k++) path_free(&r->extra_path[k]), rp_free(r->extra_buf[k]);
	rp_free(r->buf);
	rp_free(r->in);
	rp_free(r->gz);
	ZSTD_freeDCtx(r->zs);
	rp_free(r->text_buf);
	rp_free(r->id_buf);
	rp_free(r->key_buf);
	rp_free(r);
}
