/* segment.c — segment files of the persistent index (docs/FORMAT.md).
 *
 * A segment is one immutable file: a header (parameters, document count, a
 * table of sections with an XXH64 checksum each, and its own checksum) and
 * the sections laid end to end after it, so that every byte of the file is
 * covered by a checksum.  A writer plans every section's exact length first
 * and then streams each one in place; nothing is referenced before the file
 * is complete and fsynced.  seg_open verifies every byte (checksums, layout,
 * the counts that tie the sections together) before answering anything, so
 * a flipped byte or a truncated file is an error naming the file, never a
 * wrong answer; after that every read is still bounds-checked.
 *
 * Lookup tables are packed: entries (key, doc) sorted by key, a directory of
 * 2^d buckets on the key's top d bits (u32 start of each bucket), and each
 * entry bit-packed as the remaining key bits and the doc number in as many
 * bits as the document count needs.  A lookup is two small preads.  Readers
 * use pread, not mmap: on this kernel one touch of a mapped page maps its
 * whole page-cache folio (up to 1 MiB measured), so the ~100 scattered
 * lookups of one query would map ~100 MB into the process; with pread the
 * process holds only its buffers while the page cache still serves reads.
 *
 * seg_merge merges segments into one: documents in input order without the
 * dropped ones and every table by a k-way merge of the inputs' sorted
 * entries with the documents renumbered, each a job on the pool.  Memory:
 * 4 bytes per input document for the renumbering, the output's table
 * directories and buffers. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>
#include "segment.h"

#define WBUF (1u << 20)  /* section write buffer */
#define RBUF (1u << 20)  /* verification and merge read window */

int seg_error(rp_error *err, int code, const char *path, const char *fmt, ...)
{
	char msg[sizeof err->message];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return rp_set_error_at(err, code, path, 0, 0, "%s", msg);
}

int seg_sys_error(rp_error *err, const char *path, const char *what)
{
	int e = errno;
	if (e == EMFILE || e == ENFILE) return seg_error(err, RP_EIO, path, SEG_EMFILE " (%s)", what);
	return seg_error(err, RP_EIO, path, "%s: %s", what, strerror(e));
}

/* ---- parameters ---- */

void seg_params_from(seg_params *sp, const rp_index_params *ip)
{
	memset(sp, 0, sizeof *sp);
	sp->norm_version = RP_NORM_VERSION;
	sp->ngram = (uint32_t)ip->p.ngram;
	sp->char_shingles = (uint32_t)ip->p.char_shingles;
	sp->num_perm = (uint32_t)ip->p.num_perm;
	sp->bands = (uint32_t)ip->p.bands;
	sp->rows = (uint32_t)ip->p.rows;
	sp->threshold = ip->p.threshold;
	sp->seed = ip->p.seed;
	sp->min_words = (uint32_t)ip->min_words;
	sp->sig_bits = (uint32_t)ip->sig_bits;
	sp->store_text = (uint32_t)ip->store_text;
	sp->band_key_bits = BAND_KEY_BITS;
	sp->fp_key_bits = FP_KEY_BITS;
}

void seg_params_to(const seg_params *sp, rp_index_params *ip)
{
	rp_params_default(&ip->p);
	ip->p.ngram = (int)sp->ngram;
	ip->p.char_shingles = (int)sp->char_shingles;
	ip->p.num_perm = (int)sp->num_perm;
	ip->p.bands = (int)sp->bands;
	ip->p.rows = (int)sp->rows;
	ip->p.threshold = sp->threshold;
	ip->p.seed = sp->seed;
	ip->p.verify = RP_VERIFY_ESTIMATE;
	ip->min_words = (int)sp->min_words;
	ip->sig_bits = (int)sp->sig_bits;
	ip->store_text = (int)sp->store_text;
}

void seg_params_put(uint8_t *b, const seg_params *sp)
{
	memset(b, 0, SEG_PARAMS_BYTES);
	put_u32(b, sp->norm_version);
	put_u32(b + 4, sp->ngram);
	put_u32(b + 8, sp->char_shingles);
	put_u32(b + 12, sp->num_perm);
	put_u32(b + 16, sp->bands);
	put_u32(b + 20, sp->rows);
	uint64_t t;
	memcpy(&t, &sp->threshold, 8);
	put_u64(b + 24, t);
	put_u64(b + 32, sp->seed);
	put_u32(b + 40, sp->min_words);
	put_u32(b + 44, sp->sig_bits);
	put_u32(b + 48, sp->store_text);
	put_u32(b + 52, sp->band_key_bits);
	put_u32(b + 56, sp->fp_key_bits);
}

void seg_params_get(const uint8_t *b, seg_params *sp)
{
	memset(sp, 0, sizeof *sp);
	sp->norm_version = get_u32(b);
	sp->ngram = get_u32(b + 4);
	sp->char_shingles = get_u32(b + 8);
	sp->num_perm = get_u32(b + 12);
	sp->bands = get_u32(b + 16);
	sp->rows = get_u32(b + 20);
	uint64_t t = get_u64(b + 24);
	memcpy(&sp->threshold, &t, 8);
	sp->seed = get_u64(b + 32);
	sp->min_words = get_u32(b + 40);
	sp->sig_bits = get_u32(b + 44);
	sp->store_text = get_u32(b + 48);
	sp->band_key_bits = get_u32(b + 52);
	sp->fp_key_bits = get_u32(b + 56);
}

int seg_params_compare(const seg_params *a, const seg_params *b, const char *what, rp_error *err)
{
#define DIFF(f, name)                                                                                   \
	if (a->f != b->f)                                                                               \
		return rp_set_error(err, RP_EDATA, "%s: %s differs (%llu, %llu)", what, name,             \
		                    (unsigned long long)a->f, (unsigned long long)b->f);
	DIFF(norm_version, "normalisation version")
	DIFF(ngram, "n-gram length")
	DIFF(char_shingles, "shingle kind")
	DIFF(num_perm, "num-perm")
	DIFF(bands, "bands")
	DIFF(rows, "rows")
	DIFF(seed, "seed")
	DIFF(min_words, "min-words")
	DIFF(sig_bits, "sig-bits")
	DIFF(store_text, "store-text")
	DIFF(band_key_bits, "band key bits")
	DIFF(fp_key_bits, "fingerprint key bits")
#undef DIFF
	if (memcmp(&a->threshold, &b->threshold, sizeof a->threshold))
		return rp_set_error(err, RP_EDATA, "%s: threshold differs (%g, %g)", what, a->threshold, b->threshold);
	return 0;
}

/* ---- I/O ---- */

int seg_pwrite(const seg_hook *h, int fd, const void *buf, size_t len, uint64_t off)
{
	seg_step(h, "write");
	return rp_pwrite_all(fd, buf, len, off);
}

int seg_pread(int fd, void *buf, size_t len, uint64_t off)
{
	return rp_pread_all(fd, buf, len, off);
}

int seg_fsync(const seg_hook *h, int fd)
{
	seg_step(h, "fsync");
	return fsync(fd);
}

int seg_fsync_dir(const seg_hook *h, const char *dir)
{
	seg_step(h, "fsync");
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

uint64_t seg_id_hash(const char *id, size_t len) { return XXH3_64bits(id, len); }

/* ---- table shape ---- */

static unsigned bits_for(uint64_t n) /* bits to number 0 .. n-1, at least 1 */
{
	unsigned b = 1;
	while (b < 64 && (n - 1) >> b) b++;
	return b;
}

void seg_table_shape(uint64_t n, unsigned keybits, uint64_t ndocs, unsigned *d, unsigned *docbits)
{
	/* 16 to 32 entries per bucket: a bucket is one small read, the
	 * directory costs at most 2 bits per entry. */
	unsigned b = 0;
	if (n >= 64) {
		while (b < 63 && n >> (b + 1)) b++; /* floor(log2 n) */
		b -= 4;
	}
	if (b > 30) b = 30;
	if (b > keybits - 1) b = keybits - 1;
	*d = b;
	*docbits = ndocs > 1 ? bits_for(ndocs) : 1;
}

static void table_fill(seg_table *t, const seg_section *dir, const seg_section *ent)
{
	t->dir = dir;
	t->ent = ent;
	t->n = ent->count;
	t->d = ent->a;
	t->keybits = ent->b >> 8;
	t->docbits = ent->b & 0xff;
	t->rbits = t->keybits - t->d;
	t->width = t->rbits + t->docbits;
}

/* ---- writing ---- */

struct segw {
	seg_params p;
	uint64_t number, ndocs;
	seg_hook hook;
	seg_section *sec;
	uint32_t nsec, cap;
	uint8_t *done;
	uint64_t header_len;
	int fd;
	char *path;
};

struct secw {
	segw *w;
	int idx;
	uint64_t pos;
	uint8_t *buf;
	size_t n;
	XXH64_state_t h;
};

rp_status segw_new(segw **out, const seg_params *sp, uint64_t number, uint64_t ndocs, const seg_hook *hook,
                   rp_error *err)
{
	segw *w = rp_malloc(sizeof *w);
	if (!w) return rp_set_error(err, RP_ENOMEM, "out of memory");
	memset(w, 0, sizeof *w);
	w->p = *sp;
	w->number = number;
	w->ndocs = ndocs;
	if (hook) w->hook = *hook;
	w->fd = -1;
	*out = w;
	return 0;
}

int segw_plan(segw *w, uint32_t kind, uint32_t index, uint64_t len, uint64_t count, uint32_t a, uint32_t b)
{
	if (w->nsec == w->cap) {
		uint32_t cap = w->cap ? w->cap * 2 : 64;
		seg_section *q = rp_realloc_array(w->sec, cap, sizeof *q);
		if (!q) return -1;
		w->sec = q;
		w->cap = cap;
	}
	w->sec[w->nsec] = (seg_section){kind, index, 0, len, count, a, b, 0};
	return (int)w->nsec++;
}

int segw_plan_table(segw *w, uint32_t table, uint64_t n, unsigned keybits)
{
	unsigned d, docbits;
	seg_table_shape(n, keybits, w->ndocs, &d, &docbits);
	uint64_t width = keybits - d + docbits;
	if (segw_plan(w, SEC_DIR, table, (((uint64_t)1 << d) + 1) * 4, ((uint64_t)1 << d) + 1, d, 0) < 0) return -1;
	return segw_plan(w, SEC_ENT, table, (n * width + 7) / 8, n, d, keybits << 8 | docbits);
}

rp_status segw_open(segw *w, const char *path, rp_error *err)
{
	w->done = rp_malloc(w->nsec ? w->nsec : 1);
	w->path = rp_strdup(path);
	if (!w->done || !w->path) return rp_set_error(err, RP_ENOMEM, "out of memory");
	memset(w->done, 0, w->nsec ? w->nsec : 1);
	w->header_len = SEG_HEADER_FIXED + (uint64_t)w->nsec * SEG_SECTION_BYTES + 8;
	uint64_t off = w->header_len;
	for (uint32_t i = 0; i < w->nsec; i++) {
		w->sec[i].off = off;
		off += w->sec[i].len;
	}
	w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->fd < 0) return seg_sys_error(err, path, "cannot create");
	return 0;
}

rp_status secw_open(segw *w, int section, secw **out, rp_error *err)
{
	secw *s = rp_malloc(sizeof *s);
	uint8_t *buf = rp_malloc(WBUF);
	if (!s || !buf) {
		rp_free(s);
		rp_free(buf);
		return rp_set_error(err, RP_ENOMEM, "out of memory");
	}
	memset(s, 0, sizeof *s);
	s->w = w;
	s->idx = section;
	s->buf = buf;
	XXH64_reset(&s->h, 0);
	*out = s;
	return 0;
}

static rp_status secw_flush(secw *s, rp_error *err)
{
	if (!s->n) return 0;
	const seg_section *sec = &s->w->sec[s->idx];
	if (s->pos + s->n > sec->len)
		return seg_error(err, RP_EDATA, s->w->path, "internal error: section %u/%u overflows its plan", sec->kind,
		                 sec->index);
	XXH64_update(&s->h, s->buf, s->n); /* here, not per put: one long update */
	if (seg_pwrite(&s->w->hook, s->w->fd, s->buf, s->n, sec->off + s->pos))
		return seg_error(err, RP_EIO, s->w->path, "write failed: %s", strerror(errno));
	s->pos += s->n;
	s->n = 0;
	return 0;
}

rp_status secw_put(secw *s, const void *buf, size_t len, rp_error *err)
{
	if (!len) return 0;
	const uint8_t *p = buf;
	while (len) {
		size_t k = WBUF - s->n < len ? WBUF - s->n : len;
		memcpy(s->buf + s->n, p, k);
		s->n += k, p += k, len -= k;
		if (s->n == WBUF) {
			int rc = secw_flush(s, err);
			if (rc) return rc;
		}
	}
	return 0;
}

rp_status secw_close(secw *s, rp_error *err)
{
	int rc = secw_flush(s, err);
	seg_section *sec = &s->w->sec[s->idx];
	if (!rc && s->pos != sec->len)
		rc = seg_error(err, RP_EDATA, s->w->path, "internal error: section %u/%u is %llu bytes, planned %llu",
		               sec->kind, sec->index, (unsigned long long)s->pos, (unsigned long long)sec->len);
	if (!rc) {
		sec->checksum = XXH64_digest(&s->h);
		s->w->done[s->idx] = 1;
	}
	rp_free(s->buf);
	rp_free(s);
	return rc;
}

void secw_abort(secw *s)
{
	if (!s) return;
	rp_free(s->buf);
	rp_free(s);
}

struct tabw {
	segw *w;
	int ent;
	secw *s;
	uint32_t *dir;
	uint64_t n, i, last_key;
	uint32_t last_doc;
	unsigned d, keybits, rbits, docbits;
	uint64_t acc; /* bits not yet staged, accbits < 8 between entries */
	unsigned accbits;
	uint8_t stage[(1 << 16) + 8]; /* 8 bytes of slack for whole-word stores */
	size_t nstage;
};

rp_status tabw_open(segw *w, int ent, tabw **out, rp_error *err)
{
	tabw *t = rp_malloc(sizeof *t);
	if (!t) return rp_set_error(err, RP_ENOMEM, "out of memory");
	memset(t, 0, offsetof(tabw, stage));
	t->nstage = 0;
	const seg_section *e = &w->sec[ent];
	t->w = w;
	t->ent = ent;
	t->n = e->count;
	t->d = e->a;
	t->keybits = e->b >> 8;
	t->docbits = e->b & 0xff;
	t->rbits = t->keybits - t->d;
	t->dir = rp_malloc_array(((size_t)1 << t->d) + 1, sizeof *t->dir);
	if (!t->dir) {
		rp_free(t);
		return rp_set_error(err, RP_ENOMEM, "out of memory");
	}
	memset(t->dir, 0, (((size_t)1 << t->d) + 1) * sizeof *t->dir);
	int rc = secw_open(w, ent, &t->s, err);
	if (rc) {
		rp_free(t->dir);
		rp_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

/* Append nbits (<= 57) of v to the bit stream: whole bytes go to the stage
 * by one 8-byte little-endian store. */
static inline rp_status tabw_bits(tabw *t, uint64_t v, unsigned nbits, rp_error *err)
{
	t->acc |= v << t->accbits;
	t->accbits += nbits;
	unsigned nb = t->accbits >> 3;
	uint8_t *p = t->stage + t->nstage;
	put_u64(p, t->acc);
	t->nstage += nb;
	t->acc = nb == 8 ? 0 : t->acc >> (8 * nb);
	t->accbits &= 7;
	if (t->nstage >= sizeof t->stage - 16) {
		int rc = secw_put(t->s, t->stage, t->nstage, err);
		if (rc) return rc;
		t->nstage = 0;
	}
	return 0;
}

rp_status tabw_add(tabw *t, uint64_t key, uint32_t doc, rp_error *err)
{
	if (t->i >= t->n || (t->keybits < 64 && key >> t->keybits) || doc >= t->w->ndocs
	    || (t->i && (key < t->last_key || (key == t->last_key && doc <= t->last_doc))))
		return seg_error(err, RP_EDATA, t->w->path, "internal error: table %u entry %llu out of order or range",
		                 t->w->sec[t->ent].index, (unsigned long long)t->i);
	t->last_key = key;
	t->last_doc = doc;
	t->dir[(key >> t->rbits) + 1]++;
	t->i++;
	uint64_t rem = t->rbits ? key & ((1ULL << t->rbits) - 1) : 0;
	if (t->rbits + t->docbits <= 57) return tabw_bits(t, rem | (uint64_t)doc << t->rbits, t->rbits + t->docbits, err);
	int rc = tabw_bits(t, rem, t->rbits, err);
	if (!rc) rc = tabw_bits(t, doc, t->docbits, err);
	return rc;
}

rp_status tabw_close(tabw *t, rp_error *err)
{
	int rc = 0;
	if (t->i != t->n)
		rc = seg_error(err, RP_EDATA, t->w->path, "internal error: table %u has %llu entries, planned %llu",
		               t->w->sec[t->ent].index, (unsigned long long)t->i, (unsigned long long)t->n);
	if (!rc && t->accbits) rc = tabw_bits(t, 0, 8 - t->accbits, err);
	if (!rc && t->nstage) rc = secw_put(t->s, t->stage, t->nstage, err);
	int rc2 = secw_close(t->s, err);
	t->s = NULL;
	if (!rc) rc = rc2;
	size_t nb = ((size_t)1 << t->d) + 1;
	for (size_t b = 1; b < nb; b++) t->dir[b] += t->dir[b - 1];
	secw *ds = NULL;
	if (!rc) rc = secw_open(t->w, t->ent - 1, &ds, err);
	for (size_t b = 0; !rc && b < nb; b += 1024) {
		uint8_t tmp[4096];
		size_t m = nb - b < 1024 ? nb - b : 1024;
		for (size_t j = 0; j < m; j++) put_u32(tmp + 4 * j, t->dir[b + j]);
		rc = secw_put(ds, tmp, 4 * m, err);
	}
	if (ds) {
		if (!rc) rc = secw_close(ds, err);
		else secw_abort(ds);
	}
	rp_free(t->dir);
	rp_free(t);
	return rc;
}

void tabw_abort(tabw *t)
{
	if (!t) return;
	secw_abort(t->s);
	rp_free(t->dir);
	rp_free(t);
}

rp_status segw_finish(segw *w, uint64_t *size, uint64_t *checksum, rp_error *err)
{
	for (uint32_t i = 0; i < w->nsec; i++)
		if (!w->done[i])
			return seg_error(err, RP_EDATA, w->path, "internal error: section %u/%u not written", w->sec[i].kind,
			                 w->sec[i].index);
	uint8_t *h = rp_malloc(w->header_len);
	if (!h) return rp_set_error(err, RP_ENOMEM, "out of memory");
	memset(h, 0, w->header_len);
	memcpy(h, SEG_MAGIC, 8);
	put_u32(h + 8, SEG_VERSION);
	put_u32(h + 12, (uint32_t)w->header_len);
	seg_params_put(h + 16, &w->p);
	put_u64(h + 80, w->ndocs);
	put_u64(h + 88, w->number);
	put_u32(h + 96, w->nsec);
	for (uint32_t i = 0; i < w->nsec; i++) {
		uint8_t *e = h + SEG_HEADER_FIXED + (size_t)i * SEG_SECTION_BYTES;
		const seg_section *s = &w->sec[i];
		put_u32(e, s->kind);
		put_u32(e + 4, s->index);
		put_u64(e + 8, s->off);
		put_u64(e + 16, s->len);
		put_u64(e + 24, s->count);
		put_u32(e + 32, s->a);
		put_u32(e + 36, s->b);
		put_u64(e + 40, s->checksum);
	}
	uint64_t c = XXH64(h, w->header_len - 8, 0);
	put_u64(h + w->header_len - 8, c);
	int rc = 0;
	if (seg_pwrite(&w->hook, w->fd, h, w->header_len, 0) || seg_fsync(&w->hook, w->fd))
		rc = seg_error(err, RP_EIO, w->path, "write failed: %s", strerror(errno));
	rp_free(h);
	if (rc) return rc;
	if (close(w->fd)) {
		w->fd = -1;
		return seg_error(err, RP_EIO, w->path, "close failed: %s", strerror(errno));
	}
	w->fd = -1;
	*size = w->nsec ? w->sec[w->nsec - 1].off + w->sec[w->nsec - 1].len : w->header_len;
	*checksum = c;
	return 0;
}

void segw_free(segw *w)
{
	if (!w) return;
	if (w->fd >= 0) close(w->fd);
	rp_free(w->sec);
	rp_free(w->done);
	rp_free(w->path);
	rp_free(w);
}

/* ---- reading and verification ---- */

static const char *section_name(const seg_section *s, char *buf, size_t size)
{
	static const char *const names[] = {"?", "documents", "ids", "signatures", "text offsets", "text",
	                                    "directory", "entries"};
	const char *k = s->kind < 8 ? names[s->kind] : "unknown";
	if (s->kind == SEC_DIR || s->kind == SEC_ENT) {
		if (s->index == TAB_FP) snprintf(buf, size, "fingerprint table %s", k);
		else if (s->index == TAB_EMPTY) snprintf(buf, size, "empty-document table %s", k);
		else if (s->index == TAB_ID) snprintf(buf, size, "id table %s", k);
		else snprintf(buf, size, "band %u table %s", s->index, k);
	} else {
		snprintf(buf, size, "%s", k);
	}
	return buf;
}

/* Stream a section through the checksum, calling check on each chunk (a
 * multiple of 16 bytes except the last) to validate its records. */
typedef int (*chunk_fn)(void *ctx, const uint8_t *p, size_t n, uint64_t at);

static rp_status verify_section(seg *s, const seg_section *sec, uint8_t *buf, chunk_fn fn, void *ctx, rp_error *err)
{
	XXH64_state_t h;
	XXH64_reset(&h, 0);
	char name[64];
	for (uint64_t at = 0; at < sec->len;) {
		size_t k = sec->len - at < RBUF ? (size_t)(sec->len - at) : RBUF;
		if (seg_pread(s->fd, buf, k, sec->off + at))
			return seg_error(err, errno ? RP_EIO : RP_EDATA, s->path, "cannot read the %s: %s",
			                 section_name(sec, name, sizeof name), errno ? strerror(errno) : "file truncated");
		XXH64_update(&h, buf, k);
		if (fn && fn(ctx, buf, k, at))
			return seg_error(err, RP_EDATA, s->path, "corrupt %s (bytes %llu..)", section_name(sec, name, sizeof name),
			                 (unsigned long long)(sec->off + at));
		at += k;
	}
	if (XXH64_digest(&h) != sec->checksum)
		return seg_error(err, RP_EDATA, s->path, "checksum mismatch in the %s (bytes %llu..%llu): the file is corrupt",
		                 section_name(sec, name, sizeof name), (unsigned long long)sec->off,
		                 (unsigned long long)(sec->off + sec->len));
	return 0;
}

typedef struct {
	uint64_t last_id_end, text_sum, nfp, empty, non_empty, ndocs, ids_len;
} docs_check;

static int check_docs(void *v, const uint8_t *p, size_t n, uint64_t at)
{
	docs_check *c = v;
	(void)at;
	for (size_t i = 0; i + 16 <= n; i += 16) {
		uint64_t e = get_u64(p + i), end = e & DOC_END_MASK;
		if (end < c->last_id_end || end > c->ids_len) return -1;
		c->last_id_end = end;
		c->text_sum += get_u32(p + i + 8);
		uint32_t nfp = get_u32(p + i + 12);
		c->nfp += nfp;
		if (e & DOC_EMPTY_FLAG) {
			if (nfp) return -1;
			c->empty++;
		} else {
			c->non_empty++;
		}
	}
	return 0;
}

typedef struct { uint64_t last, limit; int first; } mono_check;

static int check_u64_mono(void *v, const uint8_t *p, size_t n, uint64_t at)
{
	mono_check *c = v;
	(void)at;
	for (size_t i = 0; i + 8 <= n; i += 8) {
		uint64_t x = get_u64(p + i);
		if (x < c->last || x > c->limit) return -1;
		c->last = x;
	}
	return 0;
}

static int check_dir(void *v, const uint8_t *p, size_t n, uint64_t at)
{
	mono_check *c = v;
	for (size_t i = 0; i + 4 <= n; i += 4) {
		uint64_t x = get_u32(p + i);
		if ((at == 0 && i == 0 && x != 0) || x < c->last || x > c->limit) return -1;
		c->last = x;
	}
	return 0;
}

seg_table *seg_tab(seg *s, uint32_t table)
{
	if (table < s->p.bands) return &s->tab[table];
	if (table >= TAB_FP && table <= TAB_ID) return &s->tab[s->p.bands + (table - TAB_FP)];
	return NULL;
}

static rp_status seg_verify(seg *s, rp_error *err)
{
	uint8_t *buf = rp_malloc(s->size < RBUF ? (size_t)s->size : RBUF);
	if (!buf) return rp_set_error(err, RP_ENOMEM, "out of memory");
	int rc = 0;
	docs_check dc = {0};
	dc.ids_len = s->ids->len;
	if ((rc = verify_section(s, s->docs, buf, check_docs, &dc, err))) goto out;
	if (dc.last_id_end != s->ids->len) {
		rc = seg_error(err, RP_EDATA, s->path, "corrupt documents section: ids do not add up");
		goto out;
	}
	s->empty = dc.empty;
	s->non_empty = dc.non_empty;
	s->nfp_total = dc.nfp;
	if ((rc = verify_section(s, s->ids, buf, NULL, NULL, err))) goto out;
	if ((rc = verify_section(s, s->sigs, buf, NULL, NULL, err))) goto out;
	if (s->p.store_text) {
		mono_check mc = {0, s->text->len, 0};
		if ((rc = verify_section(s, s->text_end, buf, check_u64_mono, &mc, err))) goto out;
		if (mc.last != s->text->len || dc.text_sum != s->text->len) {
			rc = seg_error(err, RP_EDATA, s->path, "corrupt text offsets: they do not add up");
			goto out;
		}
		if ((rc = verify_section(s, s->text, buf, NULL, NULL, err))) goto out;
	}
	for (uint32_t t = 0; t < s->p.bands + 3; t++) {
		seg_table *tb = &s->tab[t];
		uint32_t id = t < s->p.bands ? t : TAB_FP + (t - s->p.bands);
		uint64_t want = id < s->p.bands ? s->non_empty : id == TAB_FP ? s->nfp_total : id == TAB_EMPTY ? s->empty : s->ndocs;
		if (tb->n != want) {
			char name[64];
			rc = seg_error(err, RP_EDATA, s->path, "corrupt %s: %llu entries for %llu", section_name(tb->ent, name, sizeof name),
			               (unsigned long long)tb->n, (unsigned long long)want);
			goto out;
		}
		mono_check mc = {0, tb->n, 0};
		if ((rc = verify_section(s, tb->dir, buf, check_dir, &mc, err))) goto out;
		if (mc.last != tb->n) {
			rc = seg_error(err, RP_EDATA, s->path, "corrupt table directory %u", id);
			goto out;
		}
		if ((rc = verify_section(s, tb->ent, buf, NULL, NULL, err))) goto out;
	}
out:
	rp_free(buf);
	return rc;
}

rp_status seg_open(seg **out, const char *path, const seg_params *expect, uint64_t size, uint64_t checksum,
                   rp_error *err)
{
	*out = NULL;
	seg *s = rp_malloc(sizeof *s);
	if (!s) return rp_set_error(err, RP_ENOMEM, "out of memory");
	memset(s, 0, sizeof *s);
	s->fd = -1;
	uint8_t *h = NULL;
	int rc = 0;
	s->path = rp_strdup(path);
	if (!s->path) goto nomem;
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0) {
		rc = seg_sys_error(err, path, "cannot open");
		goto fail;
	}
	struct stat st;
	if (fstat(s->fd, &st)) {
		rc = seg_error(err, RP_EIO, path, "cannot stat: %s", strerror(errno));
		goto fail;
	}
	s->size = (uint64_t)st.st_size;
	if (size && s->size != size) {
		rc = seg_error(err, RP_EDATA, path, "is %llu bytes, the manifest says %llu: the file is %s",
		               (unsigned long long)s->size, (unsigned long long)size, s->size < size ? "truncated" : "corrupt");
		goto fail;
	}
	uint8_t fixed[SEG_HEADER_FIXED];
	if (s->size < SEG_HEADER_FIXED + 8 || seg_pread(s->fd, fixed, sizeof fixed, 0)) {
		rc = seg_error(err, RP_EDATA, path, "truncated segment header");
		goto fail;
	}
	if (memcmp(fixed, SEG_MAGIC, 8)) {
		rc = seg_error(err, RP_EDATA, path, "not a reprint index segment (bad magic)");
		goto fail;
	}
	uint32_t version = get_u32(fixed + 8), hlen = get_u32(fixed + 12), nsec = get_u32(fixed + 96);
	if (version != SEG_VERSION) {
		rc = seg_error(err, RP_EDATA, path, "segment format version %u, this reprint reads version %u", version,
		               SEG_VERSION);
		goto fail;
	}
	if (nsec > 4096 || hlen != SEG_HEADER_FIXED + (uint64_t)nsec * SEG_SECTION_BYTES + 8 || hlen > s->size) {
		rc = seg_error(err, RP_EDATA, path, "corrupt segment header (bad length)");
		goto fail;
	}
	h = rp_malloc(hlen);
	if (!h) goto nomem;
	if (seg_pread(s->fd, h, hlen, 0)) {
		rc = seg_error(err, RP_EDATA, path, "truncated segment header");
		goto fail;
	}
	s->checksum = get_u64(h + hlen - 8);
	if (XXH64(h, hlen - 8, 0) != s->checksum) {
		rc = seg_error(err, RP_EDATA, path, "checksum mismatch in the segment header: the file is corrupt");
		goto fail;
	}
	if (checksum && s->checksum != checksum) {
		rc = seg_error(err, RP_EDATA, path, "is not the segment the manifest names (header checksum differs)");
		goto fail;
	}
	seg_params_get(h + 16, &s->p);
	if (expect && (rc = seg_params_compare(expect, &s->p, "segment parameters differ from the manifest's", err))) {
		seg_error(err, RP_EDATA, path, "%s", err->message);
		goto fail;
	}
	s->ndocs = get_u64(h + 80);
	s->number = get_u64(h + 88);
	s->nsec = nsec;
	if (s->p.sig_bits == 0 || s->p.sig_bits > 32 || 32 % s->p.sig_bits || s->p.num_perm == 0
	    || s->p.num_perm > RP_MAX_PERM || s->p.bands == 0 || s->p.bands > RP_MAX_PERM || s->ndocs >= UINT32_MAX
	    || !key_bits_valid(s->p.band_key_bits, s->p.fp_key_bits)) {
		rc = seg_error(err, RP_EDATA, path, "corrupt segment header (bad parameters)");
		goto fail;
	}
	s->sec = rp_malloc_array(nsec ? nsec : 1, sizeof *s->sec);
	s->tab = rp_malloc_array(s->p.bands + 3, sizeof *s->tab);
	if (!s->sec || !s->tab) goto nomem;
	memset(s->tab, 0, (s->p.bands + 3) * sizeof *s->tab);
	uint64_t at = hlen;
	const seg_section **dirs = (const seg_section **)rp_malloc_array(s->p.bands + 3, sizeof *dirs);
	if (!dirs) goto nomem;
	memset(dirs, 0, (s->p.bands + 3) * sizeof *dirs);
	for (uint32_t i = 0; i < nsec; i++) {
		const uint8_t *e = h + SEG_HEADER_FIXED + (size_t)i * SEG_SECTION_BYTES;
		seg_section *x = &s->sec[i];
		*x = (seg_section){get_u32(e), get_u32(e + 4), get_u64(e + 8), get_u64(e + 16), get_u64(e + 24),
		                   get_u32(e + 32), get_u32(e + 36), get_u64(e + 40)};
		if (x->off != at || x->len > s->size - at) {
			rp_free(dirs);
			rc = seg_error(err, RP_EDATA, path, "%s (section %u ends past the end of the file)",
			               x->off == at ? "truncated segment" : "corrupt segment layout", i);
			goto fail;
		}
		at += x->len;
		const seg_section **slot = NULL;
		if (x->kind == SEC_DOCS) slot = &s->docs;
		else if (x->kind == SEC_IDS) slot = &s->ids;
		else if (x->kind == SEC_SIGS) slot = &s->sigs;
		else if (x->kind == SEC_TEXT_END) slot = &s->text_end;
		else if (x->kind == SEC_TEXT) slot = &s->text;
		else if (x->kind == SEC_DIR || x->kind == SEC_ENT) {
			uint32_t t = x->index < s->p.bands ? x->index
			             : x->index >= TAB_FP && x->index <= TAB_ID ? s->p.bands + (x->index - TAB_FP) : UINT32_MAX;
			if (t != UINT32_MAX) slot = x->kind == SEC_DIR ? &dirs[t] : &s->tab[t].ent;
		}
		if (!slot || *slot) {
			rp_free(dirs);
			rc = seg_error(err, RP_EDATA, path, "corrupt segment layout (section %u)", i);
			goto fail;
		}
		*slot = x;
	}
	if (at != s->size) {
		rp_free(dirs);
		rc = seg_error(err, RP_EDATA, path, "corrupt segment: %llu bytes after the last section",
		               (unsigned long long)(s->size - at));
		goto fail;
	}
	int bad = !s->docs || !s->ids || !s->sigs || !s->text_end != !s->p.store_text || !s->text != !s->p.store_text;
	bad = bad || s->docs->len != s->ndocs * 16 || s->sigs->len != s->ndocs * seg_sig_bytes(&s->p)
	      || (s->text_end && s->text_end->len != s->ndocs * 8);
	for (uint32_t t = 0; !bad && t < s->p.bands + 3; t++) {
		const seg_section *d = dirs[t], *e = s->tab[t].ent;
		if (!d || !e) { bad = 1; break; }
		unsigned keybits = t < s->p.bands ? s->p.band_key_bits : t == s->p.bands ? s->p.fp_key_bits
		                   : t == s->p.bands + 1 ? EMPTY_KEY_BITS : ID_KEY_BITS;
		unsigned dd, docbits;
		seg_table_shape(e->count, keybits, s->ndocs, &dd, &docbits);
		if (e->a != dd || (e->b >> 8) != keybits || (e->b & 0xff) != docbits || d->a != dd
		    || d->len != (((uint64_t)1 << dd) + 1) * 4 || e->count >= UINT32_MAX
		    || e->len != (e->count * (keybits - dd + docbits) + 7) / 8) {
			bad = 1;
			break;
		}
		table_fill(&s->tab[t], d, e);
	}
	rp_free(dirs);
	if (bad) {
		rc = seg_error(err, RP_EDATA, path, "corrupt segment layout (section sizes)");
		goto fail;
	}
	rp_free(h);
	h = NULL;
	if ((rc = seg_verify(s, err))) goto fail;
	s->part_bytes[0] = hlen + s->docs->len + s->ids->len + s->tab[s->p.bands + 2].dir->len
	                   + s->tab[s->p.bands + 2].ent->len + s->tab[s->p.bands + 1].dir->len + s->tab[s->p.bands + 1].ent->len;
	s->part_bytes[1] = s->sigs->len;
	for (uint32_t t = 0; t < s->p.bands; t++) s->part_bytes[2] += s->tab[t].dir->len + s->tab[t].ent->len;
	s->part_bytes[3] = s->tab[s->p.bands].dir->len + s->tab[s->p.bands].ent->len;
	s->part_bytes[4] = s->text ? s->text->len + s->text_end->len : 0;
	*out = s;
	return 0;
nomem:
	rc = rp_set_error(err, RP_ENOMEM, "out of memory");
fail:
	rp_free(h);
	seg_close(s);
	return rc;
}

void seg_close(seg *s)
{
	if (!s) return;
	if (s->fd >= 0) close(s->fd);
	rp_free(s->path);
	rp_free(s->sec);
	rp_free(s->tab);
	rp_free(s->deleted);
	rp_free(s);
}

rp_status seg_read(seg *s, const seg_section *sec, uint64_t off, void *buf, size_t len, rp_error *err)
{
	if (off > sec->len || len > sec->len - off)
		return seg_error(err, RP_EDATA, s->path, "corrupt segment: a read past the end of a section");
	if (seg_pread(s->fd, buf, len, sec->off + off))
		return seg_error(err, errno ? RP_EIO : RP_EDATA, s->path, "read failed: %s",
		                 errno ? strerror(errno) : "the file was truncated");
	return 0;
}

rp_status seg_doc_get(seg *s, uint64_t doc, seg_doc *d, rp_error *err)
{
	if (doc >= s->ndocs) return seg_error(err, RP_EDATA, s->path, "corrupt segment: document %llu out of range",
	                                      (unsigned long long)doc);
	uint8_t b[32];
	int rc;
	if (doc) rc = seg_read(s, s->docs, (doc - 1) * 16, b, 32, err);
	else rc = seg_read(s, s->docs, 0, b + 16, 16, err);
	if (rc) return rc;
	d->id_start = doc ? get_u64(b) & DOC_END_MASK : 0;
	uint64_t e = get_u64(b + 16);
	d->id_end = e & DOC_END_MASK;
	d->empty = !!(e & DOC_EMPTY_FLAG);
	d->id_is_number = !!(e & DOC_NUMBER_FLAG);
	d->text_len = get_u32(b + 24);
	d->nfp = get_u32(b + 28);
	if (d->id_end < d->id_start || d->id_end > s->ids->len)
		return seg_error(err, RP_EDATA, s->path, "corrupt documents section");
	return 0;
}

int seg_id_equal(seg *s, uint64_t doc, const char *id, size_t len, seg_buf *buf, rp_error *err)
{
	seg_doc d;
	int rc = seg_doc_get(s, doc, &d, err);
	if (rc) return rc;
	if (d.id_end - d.id_start != len) return 0;
	if (rp_grow((void **)&buf->p, &buf->cap, len + 1, 1)) return rp_set_error(err, RP_ENOMEM, "out of memory");
	if ((rc = seg_read(s, s->ids, d.id_start, buf->p, len, err))) return rc;
	return memcmp(buf->p, id, len) == 0;
}

rp_status seg_table_find_limit(seg *s, const seg_table *t, uint64_t key, uint64_t limit, seg_buf *buf,
                               uint32_t **docs, size_t *n, size_t *cap, uint64_t *count, rp_error *err)
{
	*count = 0;
	uint64_t bucket = key >> t->rbits;
	uint8_t b[8];
	int rc = seg_read(s, t->dir, bucket * 4, b, 8, err);
	if (rc) return rc;
	uint64_t lo = get_u32(b), hi = get_u32(b + 4);
	if (lo > hi || hi > t->n) return seg_error(err, RP_EDATA, s->path, "corrupt table directory");
	if (lo == hi) return 0;
	uint64_t bit0 = lo * t->width, byte0 = bit0 >> 3, byte1 = (hi * t->width + 7) >> 3;
	size_t len = (size_t)(byte1 - byte0);
	if (rp_grow((void **)&buf->p, &buf->cap, len + 8, 1)) return rp_set_error(err, RP_ENOMEM, "out of memory");
	if ((rc = seg_read(s, t->ent, byte0, buf->p, len, err))) return rc;
	memset(buf->p + len, 0, 8);
	const uint64_t rem = t->rbits ? key & ((1ULL << t->rbits) - 1) : 0;
	uint64_t pos = bit0 - byte0 * 8, first = UINT64_MAX, c = 0;
	for (uint64_t i = lo; i < hi; i++, pos += t->width) {
		uint64_t r = get_bits(buf->p, pos, t->rbits);
		if (r == rem) {
			if (first == UINT64_MAX) first = pos;
			c++;
		} else if (r > rem) {
			break;
		}
	}
	*count = c;
	if (!c || c > limit) return 0;
	if (rp_grow((void **)docs, cap, *n + c, sizeof **docs)) return rp_set_error(err, RP_ENOMEM, "out of memory");
	pos = first;
	for (uint64_t i = 0; i < c; i++, pos += t->width) {
		uint64_t doc = get_bits(buf->p, pos + t->rbits, t->docbits);
		if (doc >= s->ndocs) return seg_error(err, RP_EDATA, s->path, "corrupt table entry");
		(*docs)[(*n)++] = (uint32_t)doc;
	}
	return 0;
}

rp_status seg_table_find(seg *s, const seg_table *t, uint64_t key, seg_buf *buf, uint32_t **docs, size_t *n,
                         size_t *cap, rp_error *err)
{
	uint64_t count;
	return seg_table_find_limit(s, t, key, UINT64_MAX, buf, docs, n, cap, &count, err);
}

/* ---- sequential reading ---- */

/* A read window over one section, for reads at non-decreasing offsets. */
typedef struct {
	seg *s;
	const seg_section *sec;
	uint8_t *buf;
	size_t cap;
	uint64_t start, n; /* window: section bytes [start, start + n) */
} window;

static rp_status win_init(window *w, seg *s, const seg_section *sec, size_t cap, rp_error *err)
{
	memset(w, 0, sizeof *w);
	w->s = s;
	w->sec = sec;
	w->cap = cap;
	w->buf = rp_malloc(cap + 16);
	if (!w->buf) return rp_set_error(err, RP_ENOMEM, "out of memory");
	return 0;
}

/* Make [off, off + need) readable (need <= cap); bytes past the section
 * read as zero. */
static rp_status win_at(window *w, uint64_t off, size_t need, rp_error *err)
{
	if (off >= w->start && off + need <= w->start + w->n) return 0;
	if (off >= w->sec->len) {
		memset(w->buf, 0, need);
		w->start = off;
		w->n = need;
		return 0;
	}
	size_t k = w->sec->len - off < w->cap ? (size_t)(w->sec->len - off) : w->cap;
	int rc = seg_read(w->s, w->sec, off, w->buf, k, err);
	if (rc) return rc;
	memset(w->buf + k, 0, 16);
	w->start = off;
	w->n = k < need ? need : k;
	return 0;
}

static void win_free(window *w) { rp_free(w->buf); w->buf = NULL; }

struct tabr {
	seg *s;
	const seg_table *t;
	uint64_t i, bucket, bucket_end;
	window dir, ent;
};

rp_status tabr_open(seg *s, const seg_table *t, tabr **out, rp_error *err)
{
	tabr *r = rp_malloc(sizeof *r);
	if (!r) return rp_set_error(err, RP_ENOMEM, "out of memory");
	memset(r, 0, sizeof *r);
	r->s = s;
	r->t = t;
	int rc = win_init(&r->dir, s, t->dir, 1 << 16, err);
	if (!rc) rc = win_init(&r->ent, s, t->ent, 1 << 16, err);
	if (!rc) rc = win_at(&r->dir, 4, 4, err);
	if (rc) {
		tabr_free(r);
		return rc;
	}
	r->bucket = 0;
	r->bucket_end = get_u32(r->dir.buf + (4 - r->dir.start));
	*out = r;
	return 0;
}

int tabr_next(tabr *r, uint64_t *key, uint32_t *doc, rp_error *err)
{
	const seg_table *t = r->t;
	if (r->i >= t->n) return 0;
	int rc;
	uint64_t nb = (uint64_t)1 << t->d;
	while (r->i >= r->bucket_end) {
		if (++r->bucket >= nb) return seg_error(err, RP_EDATA, r->s->path, "corrupt table directory");
		uint64_t off = (r->bucket + 1) * 4;
		if ((rc = win_at(&r->dir, off, 4, err))) return rc;
		uint64_t e = get_u32(r->dir.buf + (off - r->dir.start));
		if (e < r->bucket_end || e > t->n) return seg_error(err, RP_EDATA, r->s->path, "corrupt table directory");
		r->bucket_end = e;
	}
	uint64_t bit = r->i * t->width, byte = bit >> 3;
	if ((rc = win_at(&r->ent, byte, 16, err))) return rc;
	const uint8_t *p = r->ent.buf + (byte - r->ent.start);
	uint64_t rem = get_bits(p, bit & 7, t->rbits), d = get_bits(p, (bit & 7) + t->rbits, t->docbits);
	if (d >= r->s->ndocs) return seg_error(err, RP_EDATA, r->s->path, "corrupt table entry");
	*key = r->bucket << t->rbits | rem;
	*doc = (uint32_t)d;
	r->i++;
	return 1;
}

void tabr_free(tabr *r)
{
	if (!r) return;
	win_free(&r->dir);
	win_free(&r->ent);
	rp_free(r);
}

/* ---- merging ---- */


typedef struct {
	uint64_t key;
	uint32_t doc; /* new number */
	uint32_t in;
} head;

static int head_less(const head *a, const head *b)
{
	return a->key < b->key || (a->key == b->key && a->doc < b->doc);
}

static void heap_down(head *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < n && head_less(&h[l], &h[m])) m = l;
		if (l + 1 < n && head_less(&h[l + 1], &h[m])) m = l + 1;
		if (m == i) return;
		head t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/* The next live entry of input i, renumbered (by map, or as base + doc
 * when map is NULL: an input with nothing dropped); 0 at the end. */
static int next_live(tabr *r, const uint32_t *map, uint32_t base, head *out, uint32_t in, rp_error *err)
{
	for (;;) {
		uint64_t key;
		uint32_t doc;
		int rc = tabr_next(r, &key, &doc, err);
		if (rc <= 0) return rc;
		if (!map) {
			*out = (head){key, base + doc, in};
			return 1;
		}
		if (map[doc] == UINT32_MAX) continue;
		*out = (head){key, map[doc], in};
		return 1;
	}
}

static inline int bit_get(const uint8_t *b, uint64_t i) { return b && (b[i >> 3] >> (i & 7) & 1); }
static inline void bit_set(uint8_t *b, uint64_t i) { b[i >> 3] |= (uint8_t)(1u << (i & 7)); }

/* Ids found in more than one input: the later copies are dropped. */
static rp_status drop_duplicate_ids(merge_input *in, size_t k, uint8_t **drop, uint64_t *dups, rp_error *err)
{
	tabr **r = rp_malloc_array(k, sizeof *r);
	if (r) memset(r, 0, k * sizeof *r);
	head *h = rp_malloc_array(k, sizeof *h);
	head *group = NULL;
	size_t ngroup = 0, gcap = 0;
	seg_buf b1 = {0}, b2 = {0};
	int rc = 0;
	size_t nh = 0;
	if (!r || !h) {
		rc = rp_set_error(err, RP_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < k; i++) {
		if ((rc = tabr_open(in[i].s, seg_tab(in[i].s, TAB_ID), &r[i], err))) goto out;
		uint64_t key;
		uint32_t doc;
		for (;;) {
			int x = tabr_next(r[i], &key, &doc, err);
			if (x < 0) { rc = x; goto out; }
			if (!x) break;
			if (bit_get(drop[i], doc)) continue;
			h[nh++] = (head){key, doc, (uint32_t)i};
			break;
		}
	}
	while (nh) {
		/* pop the minimum key by linear scan over the k heads (k is small
		 * for this pass: it runs once per merge over the id tables) */
		size_t m = 0;
		for (size_t i = 1; i < nh; i++)
			if (h[i].key < h[m].key || (h[i].key == h[m].key && h[i].in < h[m].in)) m = i;
		head cur = h[m];
		/* collect every entry with this key */
		ngroup = 0;
		for (size_t i = 0; i < nh;) {
			if (h[i].key != cur.key) { i++; continue; }
			if (rp_grow((void **)&group, &gcap, ngroup + 1, sizeof *group)) {
				rc = rp_set_error(err, RP_ENOMEM, "out of memory");
				goto out;
			}
			group[ngroup++] = h[i];
			uint32_t src = h[i].in;
			/* advance input src past this key (entries with the same key
			 * in one input are distinct ids sharing a hash) */
			int x;
			for (;;) {
				uint64_t key;
				uint32_t doc;
				x = tabr_next(r[src], &key, &doc, err);
				if (x < 0) { rc = x; goto out; }
				if (!x) break;
				if (bit_get(drop[src], doc)) continue;
				if (key == cur.key) {
					if (rp_grow((void **)&group, &gcap, ngroup + 1, sizeof *group)) {
						rc = rp_set_error(err, RP_ENOMEM, "out of memory");
						goto out;
					}
					group[ngroup++] = (head){key, doc, src};
					continue;
				}
				h[i] = (head){key, doc, src};
				break;
			}
			if (!x) h[i] = h[--nh];
			else i++;
		}
		if (ngroup < 2) continue;
		/* order the group by input, then compare later entries with earlier */
		for (size_t a = 1; a < ngroup; a++)
			for (size_t b = a; b > 0 && (group[b].in < group[b - 1].in
			                             || (group[b].in == group[b - 1].in && group[b].doc < group[b - 1].doc)); b--) {
				head t = group[b];
				group[b] = group[b - 1];
				group[b - 1] = t;
			}
		for (size_t a = 1; a < ngroup; a++) {
			seg *sa = in[group[a].in].s;
			seg_doc da;
			if ((rc = seg_doc_get(sa, group[a].doc, &da, err))) goto out;
			size_t len = (size_t)(da.id_end - da.id_start);
			if (rp_grow((void **)&b1.p, &b1.cap, len + 1, 1)) {
				rc = rp_set_error(err, RP_ENOMEM, "out of memory");
				goto out;
			}
			if ((rc = seg_read(sa, sa->ids, da.id_start, b1.p, len, err))) goto out;
			for (size_t e = 0; e < a; e++) {
				if (group[e].in == group[a].in || bit_get(drop[group[e].in], group[e].doc)) continue;
				int eq = seg_id_equal(in[group[e].in].s, group[e].doc, (const char *)b1.p, len, &b2, err);
				if (eq < 0) { rc = eq; goto out; }
				if (eq) {
					bit_set(drop[group[a].in], group[a].doc);
					(*dups)++;
					break;
				}
			}
		}
	}
out:
	if (r)
		for (size_t i = 0; i < k; i++) tabr_free(r[i]);
	rp_free(r);
	rp_free(h);
	rp_free(group);
	rp_free(b1.p);
	rp_free(b2.p);
	return rc;
}

/* Copy [off, off + len) of a section through a window into a stream. */
static rp_status copy_bytes(window *w, uint64_t off, uint64_t len, secw *out, rp_error *err)
{
	while (len) {
		int rc = win_at(w, off, 1, err);
		if (rc) return rc;
		uint64_t avail = w->start + w->n - off;
		if (off + avail > w->sec->len) avail = w->sec->len - off;
		size_t k = avail < len ? (size_t)avail : (size_t)len;
		if ((rc = secw_put(out, w->buf + (off - w->start), k, err))) return rc;
		off += k, len -= k;
	}
	return 0;
}

typedef struct {
	merge_input *in;
	size_t k;
	uint32_t **map;
	const uint32_t *base; /* first new number of an input with nothing dropped */
	const uint8_t *plain;
	const seg_params *sp;
	segw *w;
	const int *tab_ent;
	int sec[5]; /* planned sections: documents, ids, signatures, text ends, texts */
	int *status; /* per table, then the documents */
	rp_error *errs;
} table_job;

/* Merge table t of every input into the output: entries by (key, new doc). */
static rp_status merge_table(table_job *j, uint32_t t, rp_error *err)
{
	const size_t k = j->k;
	uint32_t id = t < j->sp->bands ? t : TAB_FP + (t - j->sp->bands);
	tabr **r = rp_malloc_array(k, sizeof *r);
	if (r) memset(r, 0, k * sizeof *r);
	head *h = rp_malloc_array(k, sizeof *h);
	tabw *tw = NULL;
	int rc = 0;
	size_t nh = 0;
	if (!r || !h) {
		rc = rp_set_error(err, RP_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < k; i++) {
		if ((rc = tabr_open(j->in[i].s, seg_tab(j->in[i].s, id), &r[i], err))) goto out;
		int x = next_live(r[i], j->plain[i] ? NULL : j->map[i], j->base[i], &h[nh], (uint32_t)i, err);
		if (x < 0) { rc = x; goto out; }
		if (x) nh++;
	}
	for (size_t i = nh; i-- > 0;) heap_down(h, nh, i);
	if ((rc = tabw_open(j->w, j->tab_ent[t], &tw, err))) goto out;
	while (nh) {
		if ((rc = tabw_add(tw, h[0].key, h[0].doc, err))) goto out;
		uint32_t src = h[0].in;
		int x = next_live(r[src], j->plain[src] ? NULL : j->map[src], j->base[src], &h[0], src, err);
		if (x < 0) { rc = x; goto out; }
		if (!x) h[0] = h[--nh];
		heap_down(h, nh, 0);
	}
	rc = tabw_close(tw, err);
	tw = NULL;
out:
	tabw_abort(tw);
	if (r)
		for (size_t i = 0; i < k; i++) tabr_free(r[i]);
	rp_free(r);
	rp_free(h);
	return rc;
}

/* Documents, ids, signatures and texts of the surviving documents, in
 * input order: one pool item, beside the tables. */
static rp_status merge_docs(table_job *j, rp_error *err)
{
	const seg_params *sp = j->sp;
	const size_t sig_bytes = seg_sig_bytes(sp);
	const int nsec = sp->store_text ? 5 : 3;
	secw *st[5] = {0};
	window win[5];
	memset(win, 0, sizeof win);
	int rc = 0;
	for (int x = 0; x < nsec && !rc; x++) rc = secw_open(j->w, j->sec[x], &st[x], err);
	if (rc) goto out;
	uint64_t id_end = 0, text_end = 0;
	for (size_t i = 0; i < j->k; i++) {
		seg *s = j->in[i].s;
		const uint32_t *map = j->map[i];
		const seg_section *secs[5] = {s->docs, s->ids, s->sigs, s->text_end, s->text};
		for (int x = 0; x < nsec; x++)
			if ((rc = win_init(&win[x], s, secs[x], x == 0 || x == 3 ? 1 << 16 : RBUF, err))) goto out;
		uint64_t prev_end = 0, prev_text = 0;
		for (uint64_t d = 0; d < s->ndocs; d++) {
			if ((rc = win_at(&win[0], d * 16, 16, err))) goto out;
			uint8_t rec[16];
			memcpy(rec, win[0].buf + (d * 16 - win[0].start), 16);
			uint64_t e = get_u64(rec), end = e & DOC_END_MASK, tlen = get_u32(rec + 8), tend = 0;
			if (sp->store_text) {
				if ((rc = win_at(&win[3], d * 8, 8, err))) goto out;
				tend = get_u64(win[3].buf + (d * 8 - win[3].start));
				if (tend < prev_text || tend - prev_text != tlen) {
					rc = seg_error(err, RP_EDATA, s->path, "corrupt text offsets");
					goto out;
				}
			}
			if (map[d] != UINT32_MAX) {
				id_end += end - prev_end;
				put_u64(rec, id_end | (e & ~DOC_END_MASK));
				if ((rc = secw_put(st[0], rec, 16, err))) goto out;
				if ((rc = copy_bytes(&win[1], prev_end, end - prev_end, st[1], err))) goto out;
				if ((rc = copy_bytes(&win[2], d * sig_bytes, sig_bytes, st[2], err))) goto out;
				if (sp->store_text) {
					uint8_t b8[8];
					text_end += tlen;
					put_u64(b8, text_end);
					if ((rc = secw_put(st[3], b8, 8, err))) goto out;
					if ((rc = copy_bytes(&win[4], prev_text, tlen, st[4], err))) goto out;
				}
			}
			prev_end = end;
			prev_text = tend;
		}
		for (int x = 0; x < 5; x++) win_free(&win[x]);
	}
	for (int x = 0; x < 5; x++) {
		if (!st[x]) continue;
		int y = secw_close(st[x], err);
		st[x] = NULL;
		if (y && !rc) rc = y;
	}
out:
	for (int x = 0; x < 5; x++) {
		secw_abort(st[x]);
		win_free(&win[x]);
	}
	return rc;
}

/* Items: the fingerprint table, the largest (several entries per
 * document), then the documents, then the band, empty and id tables, so
 * that the big ones start first and the small ones fill the threads. */
static void table_item(void *v, size_t i, int wid)
{
	(void)wid;
	table_job *j = v;
	size_t B = j->sp->bands, nt = B + 3;
	if (i == 1) {
		j->status[nt] = merge_docs(j, &j->errs[nt]);
		return;
	}
	size_t t = i == 0 ? B : i <= B + 1 ? i - 2 : i - 1;
	j->status[t] = merge_table(j, (uint32_t)t, &j->errs[t]);
}

rp_status seg_merge(merge_input *in, size_t k, const seg_params *sp, const char *path, uint64_t number,
                    const seg_hook *hook, rp_pool *pool, uint64_t *docs_out, uint64_t *dups, uint64_t *size,
                    uint64_t *checksum, rp_error *err)
{
	*docs_out = 0;
	*dups = 0;
	int rc = 0;
	uint8_t **drop = rp_malloc_array(k ? k : 1, sizeof *drop);
	uint32_t **map = rp_malloc_array(k ? k : 1, sizeof *map);
	uint32_t *base = rp_malloc_array(k ? k : 1, sizeof *base);
	uint8_t *plain = rp_malloc(k ? k : 1);
	segw *w = NULL;
	if (!drop || !map || !base || !plain) {
		rp_free(drop);
		rp_free(map);
		rp_free(base);
		rp_free(plain);
		return rp_set_error(err, RP_ENOMEM, "out of memory");
	}
	memset(drop, 0, k * sizeof *drop);
	memset(map, 0, k * sizeof *map);
	for (size_t i = 0; i < k; i++) {
		size_t nb = (size_t)(in[i].s->ndocs / 8 + 1);
		drop[i] = rp_malloc(nb);
		map[i] = rp_malloc_array(in[i].s->ndocs ? (size_t)in[i].s->ndocs : 1, sizeof **map);
		if (!drop[i] || !map[i]) goto nomem;
		if (in[i].drop) memcpy(drop[i], in[i].drop, nb);
		else memset(drop[i], 0, nb);
	}
	if (k > 1 && (rc = drop_duplicate_ids(in, k, drop, dups, err))) goto out;

	/* 1. count what survives, number it */
	uint64_t n = 0, ids_len = 0, text_len = 0, nfp = 0, empty = 0;
	for (size_t i = 0; i < k; i++) {
		seg *s = in[i].s;
		window dw;
		if ((rc = win_init(&dw, s, s->docs, RBUF, err))) goto out;
		uint64_t prev_end = 0;
		base[i] = (uint32_t)n;
		plain[i] = 1;
		for (uint64_t d = 0; d < s->ndocs; d++) {
			if ((rc = win_at(&dw, d * 16, 16, err))) { win_free(&dw); goto out; }
			const uint8_t *p = dw.buf + (d * 16 - dw.start);
			uint64_t e = get_u64(p), end = e & DOC_END_MASK;
			if (bit_get(drop[i], d)) {
				map[i][d] = UINT32_MAX;
				plain[i] = 0;
			} else {
				map[i][d] = (uint32_t)n++;
				ids_len += end - prev_end;
				text_len += get_u32(p + 8);
				nfp += get_u32(p + 12);
				empty += !!(e & DOC_EMPTY_FLAG);
			}
			prev_end = end;
		}
		win_free(&dw);
	}
	if (n == 0) goto out;
	if (n >= UINT32_MAX || nfp >= UINT32_MAX) {
		rc = rp_set_error(err, RP_EUSAGE, "a merged segment would hold more than 2^32 - 1 documents or fingerprints");
		goto out;
	}
	const size_t sig_bytes = seg_sig_bytes(sp);
	if ((rc = segw_new(&w, sp, number, n, hook, err))) goto out;
	int s_docs = segw_plan(w, SEC_DOCS, 0, n * 16, n, 0, 0);
	int s_ids = segw_plan(w, SEC_IDS, 0, ids_len, 0, 0, 0);
	int s_sigs = segw_plan(w, SEC_SIGS, 0, n * sig_bytes, n, 0, 0);
	int s_tend = sp->store_text ? segw_plan(w, SEC_TEXT_END, 0, n * 8, n, 0, 0) : 0;
	int s_text = sp->store_text ? segw_plan(w, SEC_TEXT, 0, text_len, 0, 0, 0) : 0;
	int tab_ent[RP_MAX_PERM + 3];
	for (uint32_t t = 0; t < sp->bands + 3; t++) {
		uint32_t id = t < sp->bands ? t : TAB_FP + (t - sp->bands);
		uint64_t cnt = id < sp->bands ? n - empty : id == TAB_FP ? nfp : id == TAB_EMPTY ? empty : n;
		unsigned kb = id < sp->bands ? sp->band_key_bits : id == TAB_FP ? sp->fp_key_bits
		              : id == TAB_EMPTY ? EMPTY_KEY_BITS : ID_KEY_BITS;
		tab_ent[t] = segw_plan_table(w, id, cnt, kb);
	}
	if (s_docs < 0 || s_ids < 0 || s_sigs < 0 || s_tend < 0 || s_text < 0) goto nomem;
	for (uint32_t t = 0; t < sp->bands + 3; t++)
		if (tab_ent[t] < 0) goto nomem;
	if ((rc = segw_open(w, path, err))) goto out;

	/* 2. the documents and the tables (a k-way merge each) on the pool */
	{
		uint32_t nt = sp->bands + 3;
		table_job tj = {in, k, map, base, plain, sp, w, tab_ent, {s_docs, s_ids, s_sigs, s_tend, s_text}, NULL, NULL};
		tj.status = rp_malloc_array(nt + 1, sizeof *tj.status);
		tj.errs = rp_malloc_array(nt + 1, sizeof *tj.errs);
		if (!tj.status || !tj.errs) {
			rp_free(tj.status);
			rp_free(tj.errs);
			goto nomem;
		}
		rp_pool_run(pool, nt + 1, table_item, &tj);
		if (tj.status[nt]) rc = tj.status[nt], *err = tj.errs[nt];
		for (uint32_t t = 0; t < nt && !rc; t++)
			if (tj.status[t]) rc = tj.status[t], *err = tj.errs[t];
		rp_free(tj.status);
		rp_free(tj.errs);
		if (rc) goto out;
	}
	if ((rc = segw_finish(w, size, checksum, err))) goto out;
	*docs_out = n;
	goto out;
nomem:
	rc = rp_set_error(err, RP_ENOMEM, "out of memory");
out:
	segw_free(w);
	for (size_t i = 0; i < k; i++) {
		rp_free(drop[i]);
		rp_free(map[i]);
	}
	rp_free(drop);
	rp_free(map);
	rp_free(base);
	rp_free(plain);
	if (rc && *docs_out == 0) unlink(path);
	return rc;
}
