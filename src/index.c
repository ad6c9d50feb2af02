/* index.c — the persistent index: a directory of segments (segment.c) and a
 * manifest naming the live ones, with tombstones (docs/FORMAT.md).
 *
 * Readers read the manifest once at open and verify every live segment; a
 * segment they cannot find (a compaction removed it after they read the
 * manifest) makes them read the manifest again.  The single writer holds an
 * exclusive flock on DIR/LOCK.  Every change is published by writing a new
 * manifest under a temporary name, fsyncing it, renaming it over MANIFEST
 * and fsyncing the directory, after every segment it names is complete and
 * fsynced: a crash at any point leaves the old or the new manifest, and
 * files nothing names are removed by the next writer.
 *
 * Adding: documents are sketched on the pool (the same tokens, shingles,
 * one-permutation MinHash and band keys as rp_dedup, and winnowed
 * fingerprints as rp_reuse) into an in-memory run; a run that reaches the
 * memory budget is written as a temporary segment (band keys, fingerprints
 * and ids radix-sorted), and the commit merges the runs into one segment.
 * An id already live in the index, or earlier in the same add, is skipped.
 *
 * Querying: the query's fingerprints are looked up in every segment first
 * (two preads each), as a fingerprint in more than max_df live documents of
 * the whole index is boilerplate; then per segment its band keys; band
 * candidates are verified by the Jaccard estimated from the stored b-bit
 * signature, corrected for chance agreement of b-bit values (Li & Konig,
 * "b-Bit Minwise Hashing", WWW 2010: for sparse sets P(equal) = C + (1 - C) J
 * with C = 2^-b); fingerprint candidates by containment = shared
 * fingerprints / fingerprints of each side. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include "segment.h"

#define OPEN_RETRIES 20
#define MAX_RUN_DOCS (1u << 24) /* a run's fingerprint entries pack the doc in 24 bits */

struct rp_index {
	char *dir;
	int mode;
	int lock_fd;
	seg_params sp;
	rp_index_params ip;
	uint64_t generation, next_segment, manifest_bytes;
	seg **segs;
	size_t nsegs;
	seg_hook hook;
	struct qworker *qw; /* query scratch, one per pool thread */
	int nqw;
};

/* ---- small helpers ---- */

static char *path_join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *p = rp_malloc(a + b + 2);
	if (!p) return NULL;
	memcpy(p, dir, a);
	p[a] = '/';
	memcpy(p + a + 1, name, b + 1);
	return p;
}

static char *seg_path(const char *dir, uint64_t number)
{
	char name[64];
	snprintf(name, sizeof name, "seg-%016llx.rps", (unsigned long long)number);
	return path_join(dir, name);
}

/* An error for want of file descriptors (seg_sys_error) says why so many
 * are open, and what to do: every segment holds one while the index is open. */
static rp_status fd_hint(const char *dir, size_t nsegs, rp_status rc, rp_error *err)
{
	if (rc && err && !strncmp(err->message, SEG_EMFILE, strlen(SEG_EMFILE)))
		seg_error(err, rc, dir,
		          SEG_EMFILE ": %zu segments, each an open file; raise ulimit -n, or run reprint index compact "
		          "(with a higher limit) to merge them",
		          nsegs);
	return rc;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* LSD radix sort of a[0..n) on bits [lo, hi), in as few passes of at most
 * 12 bits as cover them, skipping passes in which every value has the same
 * digit; stable.  Returns the array holding the result (a or tmp). */
static uint64_t *radix_sort(uint64_t *a, uint64_t *tmp, size_t n, unsigned lo, unsigned hi)
{
	if (hi <= lo) return a;
	const unsigned passes = (hi - lo + 11) / 12, DIGIT = (hi - lo + passes - 1) / passes;
	size_t count[1 << 12];
	for (unsigned shift = lo; shift < hi; shift += DIGIT) {
		unsigned width = hi - shift < DIGIT ? hi - shift : DIGIT;
		uint64_t mask = (1ULL << width) - 1;
		memset(count, 0, (mask + 1) * sizeof *count);
		for (size_t i = 0; i < n; i++) count[(a[i] >> shift) & mask]++;
		if (n == 0 || count[(a[0] >> shift) & mask] == n) continue;
		size_t sum = 0;
		for (size_t k = 0; k <= mask; k++) {
			size_t c = count[k];
			count[k] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++) tmp[count[(a[i] >> shift) & mask]++] = a[i];
		uint64_t *t = a;
		a = tmp;
		tmp = t;
	}
	return a;
}

/* ---- parameters ---- */

void rp_index_params_default(rp_index_params *ip)
{
	rp_params_default(&ip->p);
	ip->p.verify = RP_VERIFY_ESTIMATE;
	ip->min_words = 50;
	ip->sig_bits = 8;
	ip->store_text = 0;
}

static rp_status params_check(rp_index_params *ip, rp_error *err)
{
	int rc = rp_params_resolve(&ip->p, err);
	if (rc) return rc;
	if (ip->p.bands > 1024) return rp_set_error(err, RP_EUSAGE, "at most 1024 bands");
	if (ip->min_words < ip->p.ngram || ip->min_words > 1000000)
		return rp_set_error(err, RP_EUSAGE, "--min-words (%d) must be at least the n-gram length (%d)", ip->min_words,
		                    ip->p.ngram);
	int b = ip->sig_bits;
	if (b != 1 && b != 2 && b != 4 && b != 8 && b != 16 && b != 32)
		return rp_set_error(err, RP_EUSAGE, "--sig-bits must be 1, 2, 4, 8, 16 or 32, not %d", b);
	return 0;
}

const rp_index_params *rp_index_get_params(const rp_index *ix) { return &ix->ip; }

rp_status rp_index_check_params(const rp_index *ix, const rp_params *p, rp_error *err)
{
	rp_params q = *p;
	int rc = rp_params_resolve(&q, err);
	if (rc) return rc;
	const rp_params *x = &ix->ip.p;
	const char *d = ix->dir;
	if (q.ngram != x->ngram || q.char_shingles != x->char_shingles)
		return rp_set_error(err, RP_EUSAGE, "index %s was created with %s %d-grams, not %s %d-grams", d,
		                    x->char_shingles ? "char" : "word", x->ngram, q.char_shingles ? "char" : "word", q.ngram);
	if (q.num_perm != x->num_perm)
		return rp_set_error(err, RP_EUSAGE, "index %s was created with --num-perm %d, not %d", d, x->num_perm, q.num_perm);
	if (q.threshold != x->threshold)
		return rp_set_error(err, RP_EUSAGE, "index %s was created with --threshold %g, not %g", d, x->threshold,
		                    q.threshold);
	if (q.bands != x->bands || q.rows != x->rows)
		return rp_set_error(err, RP_EUSAGE, "index %s was created with --bands %d --rows %d, not %d x %d", d, x->bands,
		                    x->rows, q.bands, q.rows);
	if (q.seed != x->seed)
		return rp_set_error(err, RP_EUSAGE, "index %s was created with --seed %llu, not %llu", d,
		                    (unsigned long long)x->seed, (unsigned long long)q.seed);
	return 0;
}

void rp_index_set_step_hook(rp_index *ix, void (*fn)(void *ctx, const char *step), void *ctx)
{
	ix->hook.fn = fn;
	ix->hook.ctx = ctx;
}

/* ---- manifest ---- */

typedef struct {
	uint64_t number, ndocs, size, checksum, ndeleted;
	uint32_t *deleted; /* sorted */
} man_entry;

typedef struct {
	seg_params sp;
	uint64_t generation, next_segment, bytes;
	man_entry *e;
	size_t n;
} manifest;

static void manifest_free(manifest *m)
{
	for (size_t i = 0; i < m->n; i++) rp_free(m->e[i].deleted);
	rp_free(m->e);
	memset(m, 0, sizeof *m);
}

static rp_status manifest_read(const char *dir, manifest *m, rp_error *err)
{
	memset(m, 0, sizeof *m);
	char *path = path_join(dir, "MANIFEST");
	uint8_t *b = NULL;
	int fd = -1, rc = 0;
	if (!path) return rp_set_error(err, RP_ENOMEM, "out of memory");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) {
			struct stat st;
			if (stat(dir, &st)) rc = seg_error(err, RP_EIO, dir, "cannot open the index: %s", strerror(errno));
			else rc = seg_error(err, RP_EDATA, path, "missing: %s is not a reprint index", dir);
		} else {
			rc = seg_sys_error(err, path, "cannot open");
		}
		goto out;
	}
	struct stat st;
	if (fstat(fd, &st)) {
		rc = seg_error(err, RP_EIO, path, "cannot stat: %s", strerror(errno));
		goto out;
	}
	uint64_t size = (uint64_t)st.st_size;
	if (size < MAN_FIXED + 8 || size > (1ULL << 34)) {
		rc = seg_error(err, RP_EDATA, path, "corrupt manifest (%llu bytes: truncated)", (unsigned long long)size);
		goto out;
	}
	b = rp_malloc((size_t)size);
	if (!b) {
		rc = rp_set_error(err, RP_ENOMEM, "out of memory");
		goto out;
	}
	if (seg_pread(fd, b, (size_t)size, 0)) {
		rc = seg_error(err, RP_EIO, path, "cannot read: %s", errno ? strerror(errno) : "file truncated");
		goto out;
	}
	if (memcmp(b, MAN_MAGIC, 8)) {
		rc = seg_error(err, RP_EDATA, path, "not a reprint index manifest (bad magic)");
		goto out;
	}
	if (XXH64(b, (size_t)size - 8, 0) != get_u64(b + size - 8)) {
		rc = seg_error(err, RP_EDATA, path, "checksum mismatch: the manifest is corrupt or truncated");
		goto out;
	}
	if (get_u32(b + 8) != SEG_VERSION) {
		rc = seg_error(err, RP_EDATA, path, "index format version %u, this reprint reads version %u", get_u32(b + 8),
		               SEG_VERSION);
		goto out;
	}
	seg_params_get(b + 16, &m->sp);
	m->generation = get_u64(b + 80);
	m->next_segment = get_u64(b + 88);
	uint64_t n = get_u64(b + 96);
	if (n > (size - MAN_FIXED - 8) / MAN_ENTRY_BYTES) {
		rc = seg_error(err, RP_EDATA, path, "corrupt manifest (segment count)");
		goto out;
	}
	m->e = rp_malloc_array(n ? (size_t)n : 1, sizeof *m->e);
	if (!m->e) {
		rc = rp_set_error(err, RP_ENOMEM, "out of memory");
		goto out;
	}
	memset(m->e, 0, (n ? (size_t)n : 1) * sizeof *m->e);
	m->n = (size_t)n;
	uint64_t at = MAN_FIXED + n * MAN_ENTRY_BYTES;
	for (size_t i = 0; i < m->n; i++) {
		const uint8_t *e = b + MAN_FIXED + i * MAN_ENTRY_BYTES;
		man_entry *x = &m->e[i];
		x->number = get_u64(e);
		x->ndocs = get_u64(e + 8);
		x->size = get_u64(e + 16);
		x->checksum = get_u64(e + 24);
		x->ndeleted = get_u64(e + 32);
		uint64_t off = get_u64(e + 40);
		if (off != at || x->ndeleted > x->ndocs || x->ndeleted > (size - 8 - at) / 4 || x->number == 0
		    || x->number >= m->next_segment) {
			rc = seg_error(err, RP_EDATA, path, "corrupt manifest (segment %zu)", i);
			goto out;
		}
		x->deleted = rp_malloc_array(x->ndeleted ? (size_t)x->ndeleted : 1, sizeof *x->deleted);
		if (!x->deleted) {
			rc = rp_set_error(err, RP_ENOMEM, "out of memory");
			goto out;
		}
		for (uint64_t j = 0; j < x->ndeleted; j++) {
			x->deleted[j] = get_u32(b + at + 4 * j);
			if (x->deleted[j] >= x->ndocs || (j && x->deleted[j] <= x->deleted[j - 1])) {
				rc = seg_error(err, RP_EDATA, path, "corrupt manifest (deletions of segment %zu)", i);
				goto out;
			}
		}
		at += 4 * x->ndeleted;
	}
	if (at + 8 != size) {
		rc = seg_error(err, RP_EDATA, path, "corrupt manifest (length)");
		goto out;
	}
	m->bytes = size;
out:
	if (rc) manifest_free(m);
	if (fd >= 0) close(fd);
	rp_free(b);
	rp_free(path);
	return rc;
}

/* Write m as the new MANIFEST: temporary file, fsync, rename, fsync dir. */
static rp_status manifest_write(const char *dir, const manifest *m, const seg_hook *hook, rp_error *err)
{
	uint64_t size = MAN_FIXED + (uint64_t)m->n * MAN_ENTRY_BYTES + 8;
	for (size_t i = 0; i < m->n; i++) size += 4 * m->e[i].ndeleted;
	uint8_t *b = rp_malloc((size_t)size);
	char *path = path_join(dir, "MANIFEST"), *tmp = path_join(dir, "MANIFEST.tmp");
	int rc = 0, fd = -1;
	if (!b || !path || !tmp) {
		rc = rp_set_error(err, RP_ENOMEM, "out of memory");
		goto out;
	}
	memset(b, 0, (size_t)size);
	memcpy(b, MAN_MAGIC, 8);
	put_u32(b + 8, SEG_VERSION);
	seg_params_put(b + 16, &m->sp);
	put_u64(b + 80, m->generation);
	put_u64(b + 88, m->next_segment);
	put_u64(b + 96, m->n);
	uint64_t at = MAN_FIXED + (uint64_t)m->n * MAN_ENTRY_BYTES;
	for (size_t i = 0; i < m->n; i++) {
		uint8_t *e = b + MAN_FIXED + i * MAN_ENTRY_BYTES;
		const man_entry *x = &m->e[i];
		put_u64(e, x->number);
		put_u64(e + 8, x->ndocs);
		put_u64(e + 16, x->size);
		put_u64(e + 24, x->checksum);
		put_u64(e + 32, x->ndeleted);
		put_u64(e + 40, at);
		for (uint64_t j = 0; j < x->ndeleted; j++) put_u32(b + at + 4 * j, x->deleted[j]);
		at += 4 * x->ndeleted;
	}
	put_u64(b + size - 8, XXH64(b, (size_t)size - 8, 0));
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = seg_sys_error(err, tmp, "cannot create");
		goto out;
	}
	if (seg_pwrite(hook, fd, b, (size_t)size, 0) || seg_fsync(hook, fd)) {
		rc = seg_error(err, RP_EIO, tmp, "write failed: %s", strerror(errno));
		goto out;
	}
	close(fd);
	fd = -1;
	seg_step(hook, "rename");
	if (rename(tmp, path)) {
		rc = seg_error(err, RP_EIO, path, "cannot replace: %s", strerror(errno));
		goto out;
	}
	if (seg_fsync_dir(hook, dir)) rc = seg_sys_error(err, dir, "fsync failed");
out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	rp_free(b);
	rp_free(path);
	rp_free(tmp);
	return rc;
}

/* The manifest describing ix's segments, with generation + 1. */
static rp_status manifest_of(const rp_index *ix, manifest *m, rp_error *err)
{
	memset(m, 0, sizeof *m);
	m->sp = ix->sp;
	m->generation = ix->generation + 1;
	m->next_segment = ix->next_segment;
	m->e = rp_malloc_array(ix->nsegs + 1, sizeof *m->e);
	if (!m->e) return rp_set_error(err, RP_ENOMEM, "out of memory");
	memset(m->e, 0, (ix->nsegs + 1) * sizeof *m->e);
	for (size_t i = 0; i < ix->nsegs; i++) {
		const seg *s = ix->segs[i];
		man_entry *x = &m->e[m->n++];
		*x = (man_entry){s->number, s->ndocs, s->size, s->checksum, s->ndeleted, NULL};
		x->deleted = rp_malloc_array(s->ndeleted ? (size_t)s->ndeleted : 1, sizeof *x->deleted);
		if (!x->deleted) {
			manifest_free(m);
			return rp_set_error(err, RP_ENOMEM, "out of memory");
		}
		uint64_t k = 0;
		for (uint64_t d = 0; d < s->ndocs && k < s->ndeleted; d++)
			if (seg_is_deleted(s, d)) x->deleted[k++] = (uint32_t)d;
	}
	return 0;
}

/* ---- create, open, close ---- */

rp_status rp_index_create(const char *dir, const rp_index_params *ipin, rp_error *err)
{
	rp_index_params ip = *ipin;
	int rc = params_check(&ip, err);
	if (rc) return rc;
	if (mkdir(dir, 0755) && errno != EEXIST) return seg_error(err, RP_EIO, dir, "cannot create: %s", strerror(errno));
	DIR *d = opendir(dir);
	if (!d) return seg_sys_error(err, dir, "cannot open");
	struct dirent *e;
	int empty = 1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = 0;
	closedir(d);
	if (!empty) return seg_error(err, RP_EUSAGE, dir, "not empty: an index is created in a new or empty directory");
	char *lock = path_join(dir, "LOCK");
	if (!lock) return rp_set_error(err, RP_ENOMEM, "out of memory");
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	rp_free(lock);
	if (fd < 0) return seg_sys_error(err, dir, "cannot create the lock file");
	close(fd);
	manifest m = {0};
	seg_params_from(&m.sp, &ip);
	m.generation = 1;
	m.next_segment = 1;
	return manifest_write(dir, &m, NULL, err);
}

static void close_segs(rp_index *ix)
{
	for (size_t i = 0; i < ix->nsegs; i++) seg_close(ix->segs[i]);
	rp_free(ix->segs);
	ix->segs = NULL;
	ix->nsegs = 0;
}

/* Open the segments m names; *missing = 1 if one does not exist. */
static rp_status open_segs(rp_index *ix, const manifest *m, int *missing, rp_error *err)
{
	*missing = 0;
	ix->segs = rp_malloc_array(m->n ? m->n : 1, sizeof *ix->segs);
	if (!ix->segs) return rp_set_error(err, RP_ENOMEM, "out of memory");
	for (size_t i = 0; i < m->n; i++) {
		const man_entry *x = &m->e[i];
		char *path = seg_path(ix->dir, x->number);
		if (!path) return rp_set_error(err, RP_ENOMEM, "out of memory");
		seg *s;
		int rc = seg_open(&s, path, &m->sp, x->size, x->checksum, err);
		if (rc) {
			if (rc == RP_EIO && access(path, F_OK) && errno == ENOENT) *missing = 1;
			rp_free(path);
			return rc;
		}
		rp_free(path);
		if (s->number != x->number || s->ndocs != x->ndocs) {
			int r = seg_error(err, RP_EDATA, s->path, "is not the segment the manifest names");
			seg_close(s);
			return r;
		}
		if (x->ndeleted) {
			s->deleted = rp_malloc((size_t)(s->ndocs / 8 + 1));
			if (!s->deleted) {
				seg_close(s);
				return rp_set_error(err, RP_ENOMEM, "out of memory");
			}
			memset(s->deleted, 0, (size_t)(s->ndocs / 8 + 1));
			for (uint64_t j = 0; j < x->ndeleted; j++) s->deleted[x->deleted[j] >> 3] |= (uint8_t)(1u << (x->deleted[j] & 7));
			s->ndeleted = x->ndeleted;
		}
		ix->segs[ix->nsegs++] = s;
	}
	return 0;
}

/* Remove files an interrupted writer left: segments the manifest does not
 * name and temporary manifests. */
static void collect_garbage(rp_index *ix)
{
	DIR *d = opendir(ix->dir);
	if (!d) return;
	struct dirent *e;
	while ((e = readdir(d))) {
		const char *n = e->d_name;
		int ours = 0;
		unsigned long long num;
		char tail[8];
		if (sscanf(n, "seg-%16llx.rp%1s", &num, tail) == 2 && strlen(n) == 24 && !strcmp(n + 20, ".rps")) {
			ours = 1;
			for (size_t i = 0; i < ix->nsegs; i++)
				if (ix->segs[i]->number == num) ours = 0;
		} else if (!strcmp(n, "MANIFEST.tmp")) {
			ours = 1;
		}
		if (!ours) continue;
		char *p = path_join(ix->dir, n);
		if (p) {
			seg_step(&ix->hook, "unlink");
			unlink(p);
			rp_free(p);
		}
	}
	closedir(d);
}

rp_status rp_index_open(rp_index **out, const char *dir, int mode, rp_error *err)
{
	*out = NULL;
	rp_index *ix = rp_malloc(sizeof *ix);
	if (!ix) return rp_set_error(err, RP_ENOMEM, "out of memory");
	memset(ix, 0, sizeof *ix);
	ix->lock_fd = -1;
	ix->mode = mode;
	int rc = 0;
	size_t named = 0; /* segments the manifest names */
	ix->dir = rp_strdup(dir);
	if (!ix->dir) {
		rp_free(ix);
		return rp_set_error(err, RP_ENOMEM, "out of memory");
	}
	if (mode == RP_INDEX_WRITE) {
		char *lock = path_join(dir, "LOCK");
		if (!lock) {
			rc = rp_set_error(err, RP_ENOMEM, "out of memory");
			goto fail;
		}
		ix->lock_fd = open(lock, O_RDWR | O_CLOEXEC);
		if (ix->lock_fd < 0) {
			rc = errno == ENOENT ? seg_error(err, RP_EDATA, lock, "missing: %s is not a reprint index", dir)
			                     : seg_sys_error(err, lock, "cannot open");
			rp_free(lock);
			goto fail;
		}
		rp_free(lock);
		if (flock(ix->lock_fd, LOCK_EX | LOCK_NB)) {
			if (errno == EWOULDBLOCK) rc = rp_set_error(err, RP_ELOCKED, "index %s is locked by another writer", dir);
			else rc = seg_error(err, RP_EIO, dir, "cannot lock the index: %s", strerror(errno));
			goto fail;
		}
	}
	uint64_t last_generation = 0;
	rp_error missing_err;
	for (int attempt = 0;; attempt++) {
		manifest m;
		if ((rc = manifest_read(dir, &m, err))) goto fail;
		if (attempt && m.generation == last_generation) {
			/* the manifest did not change: the segment is really missing */
			manifest_free(&m);
			if (err) *err = missing_err;
			rc = RP_EIO;
			goto fail;
		}
		last_generation = m.generation;
		if (m.sp.norm_version != RP_NORM_VERSION) {
			rc = seg_error(err, RP_EDATA, dir,
			               "the index was built with normalisation version %u and this reprint has version %d: "
			               "build a new index", m.sp.norm_version, RP_NORM_VERSION);
			manifest_free(&m);
			goto fail;
		}
		ix->sp = m.sp;
		seg_params_to(&m.sp, &ix->ip);
		rp_index_params chk = ix->ip;
		if (params_check(&chk, err) || chk.p.bands != ix->ip.p.bands || chk.p.rows != ix->ip.p.rows
		    || !key_bits_valid(m.sp.band_key_bits, m.sp.fp_key_bits)) {
			rc = seg_error(err, RP_EDATA, dir, "corrupt manifest: bad parameters");
			manifest_free(&m);
			goto fail;
		}
		ix->generation = m.generation;
		ix->next_segment = m.next_segment;
		ix->manifest_bytes = m.bytes;
		int missing;
		named = m.n;
		rc = open_segs(ix, &m, &missing, err);
		manifest_free(&m);
		if (!rc) break;
		close_segs(ix);
		/* A writer may have compacted after we read the manifest: read it
		 * again, and give up if it has not changed. */
		if (!missing || mode == RP_INDEX_WRITE || attempt >= OPEN_RETRIES) goto fail;
		if (err) missing_err = *err;
	}
	if (mode == RP_INDEX_WRITE) collect_garbage(ix);
	*out = ix;
	return 0;
fail:
	rc = fd_hint(dir, named, rc, err);
	rp_index_close(ix);
	return rc;
}

static void qworkers_free(rp_index *ix);

void rp_index_close(rp_index *ix)
{
	if (!ix) return;
	close_segs(ix);
	qworkers_free(ix);
	if (ix->lock_fd >= 0) close(ix->lock_fd); /* releases the lock */
	rp_free(ix->dir);
	rp_free(ix);
}

void rp_index_info_get(const rp_index *ix, rp_index_info *info)
{
	memset(info, 0, sizeof *info);
	info->segments = ix->nsegs;
	info->generation = ix->generation;
	info->bytes = ix->manifest_bytes;
	for (size_t i = 0; i < ix->nsegs; i++) {
		const seg *s = ix->segs[i];
		info->docs += s->ndocs - s->ndeleted;
		info->deleted += s->ndeleted;
		info->bytes += s->size;
		for (int k = 0; k < 5; k++) info->part_bytes[k] += s->part_bytes[k];
	}
}

void rp_index_segment_get(const rp_index *ix, size_t i, rp_index_segment_info *info)
{
	memset(info, 0, sizeof *info);
	if (i >= ix->nsegs) return;
	const seg *s = ix->segs[i];
	*info = (rp_index_segment_info){s->number, s->ndocs, s->ndeleted, s->size};
}

/* Publish m, then make ix describe it (segments in `keep` stay open,
 * `added` is appended). */
static rp_status publish(rp_index *ix, manifest *m, rp_error *err)
{
	m->generation = ix->generation + 1;
	int rc = manifest_write(ix->dir, m, &ix->hook, err);
	if (rc) return rc;
	ix->generation = m->generation;
	ix->next_segment = m->next_segment;
	uint64_t size = MAN_FIXED + (uint64_t)m->n * MAN_ENTRY_BYTES + 8;
	for (size_t i = 0; i < m->n; i++) size += 4 * m->e[i].ndeleted;
	ix->manifest_bytes = size;
	return 0;
}

/* ---- sketching (shared by add and query) ---- */

typedef struct {
	rp_tokens tok;
	uint64_t *sh;
	size_t sh_cap;
	rp_fingerprint *fp;
	size_t fp_cap;
	uint64_t *keys; /* fingerprint keys, sorted, distinct */
	size_t nkeys, keys_cap;
	uint32_t sig[RP_MAX_PERM];
	uint32_t band[1024];
	uint64_t content;
	int empty;
	rp_probes *probes; /* densification probes, made at the first sketch */
} sketch_scratch;

static void scratch_free(sketch_scratch *s)
{
	rp_tokens_free(&s->tok);
	rp_free(s->sh);
	rp_free(s->fp);
	rp_free(s->keys);
	rp_free(s->probes);
}

/* Insertion sort for the few fingerprints of one document. */
static void sort_small(uint64_t *a, size_t n)
{
	if (n > 64) {
		qsort(a, n, sizeof *a, cmp_u64);
		return;
	}
	for (size_t i = 1; i < n; i++) {
		uint64_t x = a[i];
		size_t j = i;
		for (; j > 0 && a[j - 1] > x; j--) a[j] = a[j - 1];
		a[j] = x;
	}
}

static rp_status sketch(const rp_index_params *ip, const seg_params *sp, sketch_scratch *s, const char *text,
                        size_t len, rp_error *err)
{
	const rp_params *p = &ip->p;
	int rc = rp_tokenize(text, len, p->char_shingles, p->seed, &s->tok, err);
	if (rc) return rc;
	size_t n = s->tok.n;
	if (rp_grow((void **)&s->sh, &s->sh_cap, n ? n : 1, sizeof *s->sh)) return rp_set_error(err, RP_ENOMEM, "out of memory");
	if (!s->probes) {
		if (!(s->probes = rp_malloc(sizeof *s->probes))) return rp_set_error(err, RP_ENOMEM, "out of memory");
		rp_probes_init(s->probes, p->num_perm, p->seed);
	}
	size_t ns = rp_shingles(s->tok.hash, n, p->ngram, s->sh);
	rp_sketch_probed(s->sh, ns, p->num_perm, p->seed, s->sig, s->probes);
	s->nkeys = 0;
	s->empty = ns == 0;
	s->content = 0;
	if (s->empty) {
		s->content = XXH3_64bits_withSeed(text, len, p->seed);
		return 0;
	}
	for (int b = 0; b < p->bands; b++) s->band[b] = (uint32_t)(rp_band_key(s->sig, b, p->rows) >> (64 - sp->band_key_bits));
	if (n >= (size_t)ip->min_words) {
		if (rp_grow((void **)&s->fp, &s->fp_cap, ns, sizeof *s->fp)
		    || rp_grow((void **)&s->keys, &s->keys_cap, ns, sizeof *s->keys))
			return rp_set_error(err, RP_ENOMEM, "out of memory");
		size_t nf = rp_winnow(s->sh, ns, (size_t)(ip->min_words - p->ngram + 1), s->fp);
		for (size_t i = 0; i < nf; i++) s->keys[i] = s->fp[i].hash >> (64 - sp->fp_key_bits);
		sort_small(s->keys, nf);
		size_t u = 0;
		for (size_t i = 0; i < nf; i++)
			if (!u || s->keys[i] != s->keys[u - 1]) s->keys[u++] = s->keys[i];
		s->nkeys = u;
	}
	return 0;
}

static void pack_sig(const uint32_t *sig, int K, int bits, uint8_t *out)
{
	switch (bits) {
	case 8:
		for (int i = 0; i < K; i++) out[i] = (uint8_t)sig[i];
		return;
	case 16:
		for (int i = 0; i < K; i++) out[2 * i] = (uint8_t)sig[i], out[2 * i + 1] = (uint8_t)(sig[i] >> 8);
		return;
	case 32:
		for (int i = 0; i < K; i++) put_u32(out + 4 * i, sig[i]);
		return;
	default: {
		size_t nb = ((size_t)K * (size_t)bits + 7) / 8;
		memset(out, 0, nb);
		uint32_t mask = (1u << bits) - 1;
		for (int i = 0; i < K; i++) {
			size_t bit = (size_t)i * (size_t)bits;
			out[bit >> 3] |= (uint8_t)((sig[i] & mask) << (bit & 7));
		}
	}
	}
}

/* Jaccard from two packed b-bit signatures: agreements m of K, corrected
 * for the chance C = 2^-b that two different values agree in b bits. */
static double bbit_jaccard(const uint8_t *a, const uint8_t *b, int K, int bits)
{
	int m = 0;
	switch (bits) {
	case 8:
		for (int i = 0; i < K; i++) m += a[i] == b[i];
		break;
	case 16:
		for (int i = 0; i < K; i++) m += a[2 * i] == b[2 * i] && a[2 * i + 1] == b[2 * i + 1];
		break;
	case 32:
		for (int i = 0; i < K; i++) m += !memcmp(a + 4 * i, b + 4 * i, 4);
		break;
	default: {
		uint32_t mask = (1u << bits) - 1;
		for (int i = 0; i < K; i++) {
			size_t bit = (size_t)i * (size_t)bits;
			m += ((a[bit >> 3] >> (bit & 7)) & mask) == ((b[bit >> 3] >> (bit & 7)) & mask);
		}
	}
	}
	double P = (double)m / K;
	if (bits >= 32) return P; /* what rp_dedup estimates */
	double C = 1.0 / (double)(1u << bits);
	double j = (P - C) / (1.0 - C);
	return j < 0 ? 0 : j > 1 ? 1 : j;
}

/* ---- adding ---- */

enum { RUN_EMPTY = 1, RUN_NUMBER = 2, RUN_NOID = 4, RUN_DEFAULT_ID = 8 };

typedef struct {
	size_t n, cap;
	uint64_t *seq;
	uint64_t *id_off;
	uint32_t *id_len;
	char *ids;
	size_t ids_len, ids_cap;
	uint8_t *flags;
	uint32_t *text_len, *nfp;
	uint64_t *content;
	uint8_t *sigs;
	uint32_t *bands;
	uint64_t *fp; /* key << 24 | run doc */
	size_t nfp_total, fp_cap;
	char *text;
	uint64_t *text_off;
	size_t text_total, text_cap;
	size_t noid;
} run;

typedef struct {
	sketch_scratch s;
	uint64_t *fpl; /* key << 24 | run doc, this batch */
	size_t nfpl, fpl_cap;
	char pad[64];
} add_worker;

/* A spilled run: its segment and the sequence numbers of its documents. */
typedef struct {
	seg *s;
	uint64_t *seq;
} spilled;

struct rp_index_add {
	rp_index *ix;
	rp_pool *pool;
	size_t memory;
	int nworkers;
	add_worker *w;
	uint64_t next_seq;
	run r;
	spilled *runs;
	size_t nruns, runs_cap;
	uint64_t skipped, errored, repeated, skipped_default;
	int done, failed; /* after a failure only rp_index_add_free is allowed */
};

static void run_free(run *r)
{
	rp_free(r->seq); rp_free(r->id_off); rp_free(r->id_len); rp_free(r->ids); rp_free(r->flags);
	rp_free(r->text_len); rp_free(r->nfp); rp_free(r->content); rp_free(r->sigs); rp_free(r->bands);
	rp_free(r->fp); rp_free(r->text); rp_free(r->text_off);
	memset(r, 0, sizeof *r);
}

static void run_clear(run *r)
{
	r->n = r->ids_len = r->nfp_total = r->text_total = r->noid = 0;
}

rp_status rp_index_add_new(rp_index_add **out, rp_index *ix, rp_pool *pool, size_t memory, rp_error *err)
{
	*out = NULL;
	if (ix->mode != RP_INDEX_WRITE) return rp_set_error(err, RP_EUSAGE, "the index is not open for writing");
	rp_index_add *a = rp_malloc(sizeof *a);
	if (!a) return rp_set_error(err, RP_ENOMEM, "out of memory");
	memset(a, 0, sizeof *a);
	a->ix = ix;
	a->pool = pool;
	if (!memory) { /* 256 MB, less in a small container */
		uint64_t q = rp_memory_limit() / 4;
		memory = q < ((uint64_t)256 << 20) ? (size_t)(q > (1u << 20) ? q : (1u << 20)) : (size_t)256 << 20;
	}
	a->memory = memory;
	a->nworkers = rp_pool_size(pool);
	a->w = rp_malloc_array((size_t)a->nworkers, sizeof *a->w);
	if (!a->w) {
		rp_free(a);
		return rp_set_error(err, RP_ENOMEM, "out of memory");
	}
	memset(a->w, 0, (size_t)a->nworkers * sizeof *a->w);
	*out = a;
	return 0;
}

static int run_reserve(rp_index_add *a, size_t need)
{
	run *r = &a->r;
	if (need <= r->cap) return 0;
	size_t cap = r->cap ? r->cap : 1024;
	while (cap < need) cap *= 2;
	const rp_index_params *ip = &a->ix->ip;
	size_t sb = seg_sig_bytes(&a->ix->sp);
	void *q;
#define GROW(f, size)                                         \
	if (!(q = rp_realloc_array(r->f, cap, size))) return RP_ENOMEM; \
	r->f = q;
	GROW(seq, sizeof *r->seq)
	GROW(id_off, sizeof *r->id_off)
	GROW(id_len, sizeof *r->id_len)
	GROW(flags, 1)
	GROW(text_len, sizeof *r->text_len)
	GROW(nfp, sizeof *r->nfp)
	GROW(content, sizeof *r->content)
	GROW(sigs, sb)
	GROW(bands, (size_t)ip->p.bands * sizeof *r->bands)
	if (ip->store_text) { GROW(text_off, sizeof *r->text_off) }
#undef GROW
	r->cap = cap;
	return 0;
}

typedef struct {
	rp_index_add *a;
	const rp_index_doc *docs;
	size_t base; /* run slot of docs[0] */
	size_t *slot; /* run slot of docs[i], or SIZE_MAX */
	int *status;
	rp_error *errs;
	size_t *err_item;
} add_job;

static void add_item(void *v, size_t i, int wid)
{
	add_job *j = v;
	rp_index_add *a = j->a;
	size_t slot = j->slot[i];
	j->status[i] = 0;
	if (slot == SIZE_MAX) return;
	add_worker *w = &a->w[wid];
	run *r = &a->r;
	const rp_index_params *ip = &a->ix->ip;
	rp_error e;
	int rc = sketch(ip, &a->ix->sp, &w->s, j->docs[i].text, j->docs[i].len, &e);
	if (!rc && w->s.tok.n > UINT32_MAX) rc = rp_set_error(&e, RP_EDATA, "too many tokens in one document");
	if (rc) {
		j->status[i] = rc;
		if (i < j->err_item[wid]) j->err_item[wid] = i, j->errs[wid] = e;
		return;
	}
	r->text_len[slot] = (uint32_t)j->docs[i].len;
	r->nfp[slot] = (uint32_t)w->s.nkeys;
	r->content[slot] = w->s.content;
	if (w->s.empty) r->flags[slot] |= RUN_EMPTY;
	pack_sig(w->s.sig, ip->p.num_perm, ip->sig_bits, r->sigs + slot * seg_sig_bytes(&a->ix->sp));
	memcpy(r->bands + slot * (size_t)ip->p.bands, w->s.band, (size_t)ip->p.bands * sizeof *r->bands);
	if (w->s.nkeys) {
		if (rp_grow((void **)&w->fpl, &w->fpl_cap, w->nfpl + w->s.nkeys, sizeof *w->fpl)) {
			j->status[i] = rp_set_error(&e, RP_ENOMEM, "out of memory");
			if (i < j->err_item[wid]) j->err_item[wid] = i, j->errs[wid] = e;
			return;
		}
		for (size_t k = 0; k < w->s.nkeys; k++) w->fpl[w->nfpl++] = w->s.keys[k] << 24 | slot;
	}
}

static rp_status run_spill(rp_index_add *a, rp_error *err);

/* Memory the run will take when written: its arrays (which grow by
 * doubling, so up to twice what is used) and the write's sort buffers. */
static size_t run_memory(const rp_index_add *a)
{
	const run *r = &a->r;
	const rp_index_params *ip = &a->ix->ip;
	size_t fixed = 37 + seg_sig_bytes(&a->ix->sp) + 4 * (size_t)ip->p.bands + (ip->store_text ? 8 : 0);
	size_t used = r->n * fixed + r->ids_len + 8 * r->nfp_total + r->text_total;
	/* every table is written at once: a sort buffer pair per worker, the
	 * fingerprints' and the small tables' */
	size_t temp = (size_t)a->nworkers * 16 * r->n + 8 * r->nfp_total + 16 * r->n;
	return 2 * used + temp + 29 * r->n;
}

static rp_status add_docs(rp_index_add *a, size_t n, const rp_index_doc *docs, rp_error *err)
{
	if (a->done || a->failed)
		return rp_set_error(err, RP_EUSAGE, "rp_index_add_docs after the commit or a failure");
	run *r = &a->r;
	const rp_index_params *ip = &a->ix->ip;
	int rc = 0;
	for (size_t off = 0; off < n;) {
		/* chunks small enough to check the memory budget often (a
		 * document takes about 500 bytes), large enough that the pool's
		 * threads seldom wait for each other at the end of one (a whole
		 * batch of the CLI's reader at the default budget), and never
		 * more than keeps the run under 2^24 documents */
		size_t chunk = a->memory / 2048, room = MAX_RUN_DOCS - r->n;
		chunk = chunk < 16 ? 16 : chunk > 16384 ? 16384 : chunk;
		size_t m = n - off < room ? n - off : room;
		if (m > chunk) m = chunk;
		add_job j = {a, docs + off, r->n, NULL, NULL, NULL, NULL};
		j.slot = rp_malloc_array(m ? m : 1, sizeof *j.slot);
		j.status = rp_malloc_array(m ? m : 1, sizeof *j.status);
		j.errs = rp_malloc_array((size_t)a->nworkers, sizeof *j.errs);
		j.err_item = rp_malloc_array((size_t)a->nworkers, sizeof *j.err_item);
		if (!j.slot || !j.status || !j.errs || !j.err_item || run_reserve(a, r->n + m)) {
			rc = rp_set_error(err, RP_ENOMEM, "out of memory");
			goto batch_out;
		}
		size_t good = 0;
		for (size_t i = 0; i < m; i++) {
			const rp_index_doc *d = &docs[off + i];
			uint64_t seq = a->next_seq + i;
			if (d->bad) {
				j.slot[i] = SIZE_MAX;
				continue;
			}
			size_t s = r->n + good++;
			j.slot[i] = s;
			r->seq[s] = seq;
			r->flags[s] = (uint8_t)((d->id ? (d->id_is_number ? RUN_NUMBER : 0) : RUN_NOID)
			                        | (d->id_default ? RUN_DEFAULT_ID : 0));
			r->id_off[s] = r->ids_len;
			r->id_len[s] = 0;
			if (d->id) {
				if (d->id_len > UINT32_MAX) {
					rc = rp_set_error(err, RP_EDATA, "an id longer than 4 GiB");
					goto batch_out;
				}
				if (rp_grow((void **)&r->ids, &r->ids_cap, r->ids_len + d->id_len, 1)) {
					rc = rp_set_error(err, RP_ENOMEM, "out of memory");
					goto batch_out;
				}
				if (d->id_len) memcpy(r->ids + r->ids_len, d->id, d->id_len);
				r->ids_len += d->id_len;
				r->id_len[s] = (uint32_t)d->id_len;
			}
			if (ip->store_text) {
				if (rp_grow((void **)&r->text, &r->text_cap, r->text_total + d->len, 1)) {
					rc = rp_set_error(err, RP_ENOMEM, "out of memory");
					goto batch_out;
				}
				if (d->len) memcpy(r->text + r->text_total, d->text, d->len);
				r->text_off[s] = r->text_total;
				r->text_total += d->len;
			}
		}
		for (int w = 0; w < a->nworkers; w++) j.err_item[w] = SIZE_MAX, a->w[w].nfpl = 0;
		rp_pool_run(a->pool, m, add_item, &j);
		size_t first = SIZE_MAX;
		int fw = -1;
		for (int w = 0; w < a->nworkers; w++)
			if (j.err_item[w] < first) first = j.err_item[w], fw = w;
		if (fw >= 0) {
			if (err) *err = j.errs[fw];
			rc = j.status[first];
			goto batch_out;
		}
		/* the workers' fingerprints into the run in document order (each
		 * worker's are in document order, a document's together), so that
		 * the write sorts them by key alone */
		size_t nfp = 0;
		for (int w = 0; w < a->nworkers; w++) nfp += a->w[w].nfpl;
		if (rp_grow((void **)&r->fp, &r->fp_cap, r->nfp_total + nfp, sizeof *r->fp)) {
			rc = rp_set_error(err, RP_ENOMEM, "out of memory");
			goto batch_out;
		}
		size_t *at = j.slot; /* reused: where each new document's fingerprints go */
		for (size_t s = 0, sum = r->nfp_total; s < good; s++) {
			at[s] = sum;
			sum += r->nfp[r->n + s];
		}
		for (int w = 0; w < a->nworkers; w++) {
			const uint64_t *f = a->w[w].fpl;
			for (size_t x = 0; x < a->w[w].nfpl; x++) r->fp[at[(f[x] & 0xffffff) - r->n]++] = f[x];
		}
		r->nfp_total += nfp;
		for (size_t i = 0; i < m; i++) {
			if (docs[off + i].bad) a->errored++;
			else if (!docs[off + i].id) r->noid++;
		}
		r->n += good;
		a->next_seq += m;
		off += m;
	batch_out:
		rp_free(j.slot);
		rp_free(j.status);
		rp_free(j.errs);
		rp_free(j.err_item);
		if (rc) {
			a->failed = 1;
			return rc;
		}
		if (!r->noid && r->n && (run_memory(a) >= a->memory || r->n >= MAX_RUN_DOCS))
			if ((rc = run_spill(a, err))) {
				a->failed = 1;
				return rc;
			}
	}
	return 0;
}

rp_status rp_index_add_docs(rp_index_add *a, size_t n, const rp_index_doc *docs, rp_error *err)
{
	return fd_hint(a->ix->dir, a->ix->nsegs, add_docs(a, n, docs, err), err);
}

rp_status rp_index_add_name(rp_index_add *a, uint64_t seq, const char *id, size_t len, int flags, rp_error *err)
{
	run *r = &a->r;
	/* runs are in seq order: binary search */
	size_t lo = 0, hi = r->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (r->seq[mid] < seq) lo = mid + 1;
		else hi = mid;
	}
	if (lo == r->n || r->seq[lo] != seq) return 0; /* a bad record: nothing to name */
	if (!(r->flags[lo] & RUN_NOID)) return rp_set_error(err, RP_EUSAGE, "document %llu already has an id",
	                                                   (unsigned long long)seq);
	if (len > UINT32_MAX) return rp_set_error(err, RP_EDATA, "an id longer than 4 GiB");
	if (rp_grow((void **)&r->ids, &r->ids_cap, r->ids_len + len, 1)) return rp_set_error(err, RP_ENOMEM, "out of memory");
	if (len) memcpy(r->ids + r->ids_len, id, len);
	r->id_off[lo] = r->ids_len;
	r->id_len[lo] = (uint32_t)len;
	r->ids_len += len;
	r->flags[lo] = (uint8_t)((r->flags[lo] & ~(RUN_NOID | RUN_DEFAULT_ID)) | (flags & RP_ID_NUMBER ? RUN_NUMBER : 0)
	                         | (flags & RP_ID_DEFAULT ? RUN_DEFAULT_ID : 0));
	r->noid--;
	return 0;
}

/* Which run documents stay: not dropped by the caller, not a repeat of an
 * earlier id in the run, not live in the index already. */
typedef struct {
	rp_index_add *a;
	uint64_t *hash;
	uint8_t *keep;
	seg_buf *bufs;
	uint32_t **docs;
	size_t *docs_cap;
	int *status;     /* per worker: the error of its lowest failing item */
	rp_error *errs;
	size_t *err_item;
} dup_job;

static void dup_item(void *v, size_t i, int wid)
{
	dup_job *j = v;
	rp_index *ix = j->a->ix;
	run *r = &j->a->r;
	if (!j->keep[i]) return;
	const char *id = r->ids + r->id_off[i];
	rp_error e;
	for (size_t s = 0; s < ix->nsegs && j->keep[i]; s++) {
		seg *sg = ix->segs[s];
		size_t n = 0;
		int rc = seg_table_find(sg, seg_tab(sg, TAB_ID), j->hash[i] >> (64 - ID_KEY_BITS), &j->bufs[wid], &j->docs[wid],
		                        &n, &j->docs_cap[wid], &e);
		for (size_t k = 0; !rc && k < n; k++) {
			if (seg_is_deleted(sg, j->docs[wid][k])) continue;
			int eq = seg_id_equal(sg, j->docs[wid][k], id, r->id_len[i], &j->bufs[wid], &e);
			if (eq < 0) rc = eq;
			else if (eq) {
				j->keep[i] = 0;
				break;
			}
		}
		if (rc) {
			if (i < j->err_item[wid]) j->err_item[wid] = i, j->status[wid] = rc, j->errs[wid] = e;
			return;
		}
	}
}

/* Repeats within the run: sorted by (top 40 bits of the id hash, document;
 * a run holds < 2^24 documents), the ids of a group are compared. */
static rp_status select_docs(rp_index_add *a, const uint8_t *drop, uint8_t *keep, uint64_t *hash, rp_error *err)
{
	run *r = &a->r;
	int rc = 0;
	uint64_t *hs = rp_malloc_array(r->n ? r->n : 1, sizeof *hs), *tmp = rp_malloc_array(r->n ? r->n : 1, sizeof *tmp);
	if (!hs || !tmp) {
		rp_free(hs);
		rp_free(tmp);
		return rp_set_error(err, RP_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < r->n; i++) {
		keep[i] = !(drop && drop[r->seq[i]]);
		hash[i] = seg_id_hash(r->ids + r->id_off[i], r->id_len[i]);
		hs[i] = (hash[i] >> 24) << 24 | i;
	}
	uint64_t *o = radix_sort(hs, tmp, r->n, 24, 64);
	for (size_t x = 0; x < r->n;) {
		size_t y = x + 1;
		while (y < r->n && o[y] >> 24 == o[x] >> 24) y++;
		for (size_t p = x + 1; p < y; p++) {
			size_t i = o[p] & 0xffffff;
			if (!keep[i]) continue;
			for (size_t q = x; q < p; q++) {
				size_t e = o[q] & 0xffffff;
				if (keep[e] && r->id_len[e] == r->id_len[i]
				    && !memcmp(r->ids + r->id_off[e], r->ids + r->id_off[i], r->id_len[i])) {
					keep[i] = 0;
					a->skipped++;
					a->repeated++;
					break;
				}
			}
		}
		x = y;
	}
	rp_free(hs);
	rp_free(tmp);
	if (a->ix->nsegs && r->n) {
		int nw = a->nworkers;
		dup_job j = {a, hash, keep, NULL, NULL, NULL, NULL, NULL, NULL};
		j.bufs = rp_malloc_array((size_t)nw, sizeof *j.bufs);
		j.docs = rp_malloc_array((size_t)nw, sizeof *j.docs);
		j.docs_cap = rp_malloc_array((size_t)nw, sizeof *j.docs_cap);
		j.status = rp_malloc_array((size_t)nw, sizeof *j.status);
		j.errs = rp_malloc_array((size_t)nw, sizeof *j.errs);
		j.err_item = rp_malloc_array((size_t)nw, sizeof *j.err_item);
		uint8_t *before = rp_malloc(r->n);
		if (!j.bufs || !j.docs || !j.docs_cap || !j.status || !j.errs || !j.err_item || !before) {
			rc = rp_set_error(err, RP_ENOMEM, "out of memory");
		} else {
			memset(j.bufs, 0, (size_t)nw * sizeof *j.bufs);
			memset(j.docs, 0, (size_t)nw * sizeof *j.docs);
			memset(j.docs_cap, 0, (size_t)nw * sizeof *j.docs_cap);
			for (int w = 0; w < nw; w++) j.err_item[w] = SIZE_MAX;
			memcpy(before, keep, r->n);
			rp_pool_run(a->pool, r->n, dup_item, &j);
			size_t first = SIZE_MAX;
			for (int w = 0; w < nw; w++)
				if (j.err_item[w] < first) first = j.err_item[w], rc = j.status[w], *err = j.errs[w];
			for (size_t i = 0; i < r->n; i++)
				if (before[i] && !keep[i]) {
					a->skipped++;
					a->skipped_default += !!(r->flags[i] & RUN_DEFAULT_ID);
				}
			for (int w = 0; w < nw; w++) rp_free(j.bufs[w].p), rp_free(j.docs[w]);
		}
		rp_free(j.bufs); rp_free(j.docs); rp_free(j.docs_cap); rp_free(j.status); rp_free(j.errs);
		rp_free(j.err_item); rp_free(before);
	}
	return rc;
}

/* A run being written, one pool item each: the documents' sections, the B
 * band tables (built in per-worker buffers, radix-sorted, written), the
 * fingerprints, and the token-less and id tables together. */
typedef struct {
	run *r;
	segw *w;
	const int *tab_ent;
	const uint32_t *newdoc;
	const uint8_t *keep;
	const uint64_t *hash;
	int bands, store_text;
	unsigned band_bits;
	size_t sig_bytes;
	int sec[5]; /* planned sections: documents, ids, signatures, text ends, texts */
	uint64_t **key, **tmp; /* per worker, room for every kept document */
	uint64_t *fptmp;
	uint64_t *e, *etmp;
	size_t nfp;
	int *status;
	rp_error *errs;
} tables_job;

static rp_status write_sorted(segw *w, int ent, const uint64_t *a, size_t n, unsigned docbits, rp_error *err)
{
	tabw *tw;
	int rc = tabw_open(w, ent, &tw, err);
	if (rc) return rc;
	const uint64_t mask = (1ULL << docbits) - 1;
	for (size_t x = 0; x < n && !rc; x++) rc = tabw_add(tw, a[x] >> docbits, (uint32_t)(a[x] & mask), err);
	if (rc) {
		tabw_abort(tw);
		return rc;
	}
	return tabw_close(tw, err);
}

static rp_status run_table(tables_job *j, size_t i, int wid, rp_error *err)
{
	run *r = j->r;
	size_t m = 0;
	if (i < (size_t)j->bands) {
		uint64_t *k = j->key[wid];
		for (size_t d = 0; d < r->n; d++)
			if (j->keep[d] && !(r->flags[d] & RUN_EMPTY))
				k[m++] = (uint64_t)r->bands[d * (size_t)j->bands + i] << 32 | j->newdoc[d];
		/* generated in doc order; a stable sort on the key keeps that within keys */
		return write_sorted(j->w, j->tab_ent[i], radix_sort(k, j->tmp[wid], m, 32, 32 + j->band_bits), m, 32, err);
	}
	if (i == (size_t)j->bands) /* renumbered before: key << 24 | doc, in doc order */
		return write_sorted(j->w, j->tab_ent[i], radix_sort(r->fp, j->fptmp, j->nfp, 24, 64), j->nfp, 24, err);
	for (int t = 0; t < 2; t++) {
		m = 0;
		for (size_t d = 0; d < r->n; d++) {
			if (!j->keep[d]) continue;
			if (t == 0 && (r->flags[d] & RUN_EMPTY)) j->e[m++] = (r->content[d] >> 32) << 32 | j->newdoc[d];
			if (t == 1) j->e[m++] = (j->hash[d] >> 32) << 32 | j->newdoc[d];
		}
		int rc = write_sorted(j->w, j->tab_ent[i + (size_t)t], radix_sort(j->e, j->etmp, m, 32, 64), m, 32, err);
		if (rc) return rc;
	}
	return 0;
}

/* The documents, ids, signatures and texts of the kept documents: one pool
 * item, beside the tables. */
static rp_status run_docs(tables_job *j, rp_error *err)
{
	run *r = j->r;
	const uint8_t *keep = j->keep;
	const size_t sb = j->sig_bytes;
	secw *st = NULL;
	int rc;
	if ((rc = secw_open(j->w, j->sec[0], &st, err))) goto out;
	uint64_t end = 0;
	for (size_t i = 0; i < r->n; i++) {
		if (!keep[i]) continue;
		uint8_t rec[16];
		end += r->id_len[i];
		uint64_t flags = (r->flags[i] & RUN_EMPTY ? DOC_EMPTY_FLAG : 0) | (r->flags[i] & RUN_NUMBER ? DOC_NUMBER_FLAG : 0);
		put_u64(rec, end | flags);
		put_u32(rec + 8, r->text_len[i]);
		put_u32(rec + 12, r->nfp[i]);
		if ((rc = secw_put(st, rec, 16, err))) goto out;
	}
	rc = secw_close(st, err);
	st = NULL;
	if (rc || (rc = secw_open(j->w, j->sec[1], &st, err))) goto out;
	for (size_t i = 0; i < r->n; i++)
		if (keep[i] && r->id_len[i] && (rc = secw_put(st, r->ids + r->id_off[i], r->id_len[i], err))) goto out;
	rc = secw_close(st, err);
	st = NULL;
	if (rc || (rc = secw_open(j->w, j->sec[2], &st, err))) goto out;
	for (size_t i = 0; i < r->n; i++)
		if (keep[i] && (rc = secw_put(st, r->sigs + i * sb, sb, err))) goto out;
	rc = secw_close(st, err);
	st = NULL;
	if (rc || !j->store_text) goto out;
	if ((rc = secw_open(j->w, j->sec[3], &st, err))) goto out;
	uint64_t te = 0;
	for (size_t i = 0; i < r->n; i++) {
		if (!keep[i]) continue;
		uint8_t b8[8];
		te += r->text_len[i];
		put_u64(b8, te);
		if ((rc = secw_put(st, b8, 8, err))) goto out;
	}
	rc = secw_close(st, err);
	st = NULL;
	if (rc || (rc = secw_open(j->w, j->sec[4], &st, err))) goto out;
	for (size_t i = 0; i < r->n; i++)
		if (keep[i] && r->text_len[i] && (rc = secw_put(st, r->text + r->text_off[i], r->text_len[i], err))) goto out;
	rc = secw_close(st, err);
	st = NULL;
out:
	secw_abort(st);
	return rc;
}

/* Items: the fingerprint table, the largest, then the documents, then the
 * band tables and the empty and id tables (see seg_merge). */
static void table_item(void *v, size_t i, int wid)
{
	tables_job *j = v;
	size_t B = (size_t)j->bands;
	if (i == 1) {
		j->status[B + 2] = run_docs(j, &j->errs[B + 2]);
		return;
	}
	size_t t = i == 0 ? B : i <= B + 1 ? i - 2 : i - 1;
	j->status[t] = run_table(j, t, wid, &j->errs[t]);
}

/* Write the run's kept documents as segment `number`. */
static rp_status run_write(rp_index_add *a, const uint8_t *drop, uint64_t number, const char *path, uint64_t *ndocs,
                           uint64_t *size, uint64_t *checksum, uint64_t **seqs, rp_error *err)
{
	run *r = &a->r;
	const rp_index_params *ip = &a->ix->ip;
	const seg_params *sp = &a->ix->sp;
	const size_t sb = seg_sig_bytes(sp);
	const int B = ip->p.bands;
	int rc = 0;
	*ndocs = 0;
	uint8_t *keep = rp_malloc(r->n ? r->n : 1);
	uint64_t *hash = rp_malloc_array(r->n ? r->n : 1, sizeof *hash);
	uint32_t *newdoc = rp_malloc_array(r->n ? r->n : 1, sizeof *newdoc);
	segw *w = NULL;
	uint64_t *key[256] = {0}, *tmp[256] = {0};
	uint64_t *e = NULL, *etmp = NULL, *etmp2 = NULL;
	rp_error *terrs = NULL;
	if (!keep || !hash || !newdoc) goto nomem;
	if ((rc = select_docs(a, drop, keep, hash, err))) goto out;
	uint64_t n = 0, ids_len = 0, text_len = 0, nfp = 0, empty = 0;
	for (size_t i = 0; i < r->n; i++) {
		if (!keep[i]) {
			newdoc[i] = UINT32_MAX;
			continue;
		}
		newdoc[i] = (uint32_t)n++;
		ids_len += r->id_len[i];
		text_len += ip->store_text ? r->text_len[i] : 0;
		nfp += r->nfp[i];
		empty += !!(r->flags[i] & RUN_EMPTY);
	}
	if (seqs) {
		*seqs = rp_malloc_array(n ? n : 1, sizeof **seqs);
		if (!*seqs) goto nomem;
		for (size_t i = 0; i < r->n; i++)
			if (keep[i]) (*seqs)[newdoc[i]] = r->seq[i];
	}
	if (n == 0) goto out;
	if ((rc = segw_new(&w, sp, number, n, &a->ix->hook, err))) goto out;
	int s_docs = segw_plan(w, SEC_DOCS, 0, n * 16, n, 0, 0);
	int s_ids = segw_plan(w, SEC_IDS, 0, ids_len, 0, 0, 0);
	int s_sigs = segw_plan(w, SEC_SIGS, 0, n * sb, n, 0, 0);
	int s_tend = ip->store_text ? segw_plan(w, SEC_TEXT_END, 0, n * 8, n, 0, 0) : 0;
	int s_text = ip->store_text ? segw_plan(w, SEC_TEXT, 0, text_len, 0, 0, 0) : 0;
	int tab_ent[1024 + 3];
	for (int t = 0; t < B; t++) tab_ent[t] = segw_plan_table(w, (uint32_t)t, n - empty, sp->band_key_bits);
	tab_ent[B] = segw_plan_table(w, TAB_FP, nfp, sp->fp_key_bits);
	tab_ent[B + 1] = segw_plan_table(w, TAB_EMPTY, empty, EMPTY_KEY_BITS);
	tab_ent[B + 2] = segw_plan_table(w, TAB_ID, n, ID_KEY_BITS);
	if (s_docs < 0 || s_ids < 0 || s_sigs < 0 || s_tend < 0 || s_text < 0) goto nomem;
	for (int t = 0; t < B + 3; t++)
		if (tab_ent[t] < 0) goto nomem;
	if ((rc = segw_open(w, path, err))) goto out;

	/* fingerprints: renumber in place, drop the left-out documents' */
	size_t m = 0;
	for (size_t x = 0; x < r->nfp_total; x++) {
		uint32_t d = (uint32_t)(r->fp[x] & 0xffffff);
		if (newdoc[d] == UINT32_MAX) continue;
		r->fp[m++] = (r->fp[x] & ~0xffffffULL) | newdoc[d];
	}
	r->nfp_total = m; /* the run is consumed by this write */
	/* the documents and every table on the pool */
	tables_job tj = {r, w, tab_ent, newdoc, keep, hash, B, ip->store_text, sp->band_key_bits, sb,
	                 {s_docs, s_ids, s_sigs, s_tend, s_text}, key, tmp, NULL, NULL, NULL, m, NULL, NULL};
	for (int k = 0; k < a->nworkers; k++) {
		key[k] = rp_malloc_array((size_t)n + 1, sizeof **key);
		tmp[k] = rp_malloc_array((size_t)n + 1, sizeof **tmp);
		if (!key[k] || !tmp[k]) goto nomem;
	}
	tj.fptmp = etmp = rp_malloc_array(m ? m : 1, sizeof *etmp);
	tj.e = e = rp_malloc_array((size_t)n, sizeof *e);
	tj.etmp = etmp2 = rp_malloc_array((size_t)n, sizeof *etmp2);
	tj.status = rp_malloc_array((size_t)B + 3, sizeof *tj.status);
	tj.errs = terrs = rp_malloc_array((size_t)B + 3, sizeof *tj.errs);
	if (!etmp || !e || !etmp2 || !tj.status || !terrs) {
		rp_free(tj.status);
		goto nomem;
	}
	rp_pool_run(a->pool, (size_t)B + 3, table_item, &tj);
	if (tj.status[B + 2]) rc = tj.status[B + 2], *err = tj.errs[B + 2];
	for (int t = 0; t < B + 2 && !rc; t++)
		if (tj.status[t]) rc = tj.status[t], *err = tj.errs[t];
	rp_free(tj.status);
	if (rc) goto out;
	if ((rc = segw_finish(w, size, checksum, err))) goto out;
	*ndocs = n;
	goto out;
nomem:
	rc = rp_set_error(err, RP_ENOMEM, "out of memory");
out:
	segw_free(w);
	for (int k = 0; k < a->nworkers; k++) rp_free(key[k]), rp_free(tmp[k]);
	rp_free(e);
	rp_free(etmp);
	rp_free(etmp2);
	rp_free(terrs);
	rp_free(keep);
	rp_free(hash);
	rp_free(newdoc);
	if (rc) {
		if (seqs) rp_free(*seqs), *seqs = NULL;
		unlink(path);
	}
	return rc;
}

/* Write the in-memory run as a temporary segment. */
static rp_status run_spill(rp_index_add *a, rp_error *err)
{
	rp_index *ix = a->ix;
	if (rp_grow((void **)&a->runs, &a->runs_cap, a->nruns + 1, sizeof *a->runs))
		return rp_set_error(err, RP_ENOMEM, "out of memory");
	uint64_t number = ix->next_segment++;
	char *path = seg_path(ix->dir, number);
	if (!path) return rp_set_error(err, RP_ENOMEM, "out of memory");
	uint64_t n, size, checksum, *seqs = NULL;
	int rc = run_write(a, NULL, number, path, &n, &size, &checksum, &seqs, err);
	if (!rc && n) {
		seg *s;
		rc = seg_open(&s, path, &ix->sp, size, checksum, err);
		if (!rc) {
			a->runs[a->nruns++] = (spilled){s, seqs};
			seqs = NULL;
		}
	}
	rp_free(seqs);
	rp_free(path);
	run_clear(&a->r);
	return rc;
}

static rp_status add_commit(rp_index_add *a, const uint8_t *drop, rp_index_add_stats *st, rp_error *err)
{
	rp_index *ix = a->ix;
	memset(st, 0, sizeof *st);
	st->memory = a->memory;
	if (a->done || a->failed) return rp_set_error(err, RP_EUSAGE, "rp_index_add_commit after a commit or a failure");
	a->done = 1;
	if (a->r.noid) return rp_set_error(err, RP_EUSAGE, "%zu documents were added without an id", a->r.noid);
	int rc = 0;
	uint64_t number = ix->next_segment++, n = 0, size = 0, checksum = 0;
	char *path = seg_path(ix->dir, number);
	seg *s = NULL;
	merge_input *in = NULL;
	manifest m = {0};
	if (!path) return rp_set_error(err, RP_ENOMEM, "out of memory");
	st->runs = a->nruns;
	if (a->nruns == 0) {
		rc = run_write(a, drop, number, path, &n, &size, &checksum, NULL, err);
	} else if (a->nruns == 1 && !a->r.n && !drop) {
		/* one run: it is the segment */
		seg *rs = a->runs[0].s;
		n = rs->ndocs, size = rs->size, checksum = rs->checksum;
		ix->next_segment--;
		rp_free(path);
		number = rs->number;
		path = seg_path(ix->dir, number);
		if (!path) return rp_set_error(err, RP_ENOMEM, "out of memory");
		s = rs; /* verified when it was spilled */
		rp_free(a->runs[0].seq);
		a->nruns = 0;
	} else {
		if (a->r.n && (rc = run_spill(a, err))) goto out;
		st->runs = a->nruns;
		in = rp_malloc_array(a->nruns, sizeof *in);
		if (!in) {
			rc = rp_set_error(err, RP_ENOMEM, "out of memory");
			goto out;
		}
		memset(in, 0, a->nruns * sizeof *in);
		for (size_t i = 0; i < a->nruns; i++) {
			in[i].s = a->runs[i].s;
			if (!drop) continue;
			uint8_t *dm = rp_malloc((size_t)(in[i].s->ndocs / 8 + 1));
			if (!dm) {
				rc = rp_set_error(err, RP_ENOMEM, "out of memory");
				goto out;
			}
			memset(dm, 0, (size_t)(in[i].s->ndocs / 8 + 1));
			for (uint64_t d = 0; d < in[i].s->ndocs; d++)
				if (drop[a->runs[i].seq[d]]) dm[d >> 3] |= (uint8_t)(1u << (d & 7));
			in[i].drop = dm;
		}
		uint64_t dups = 0;
		rc = seg_merge(in, a->nruns, &ix->sp, path, number, &ix->hook, a->pool, &n, &dups, &size, &checksum, err);
		a->skipped += dups;
		a->repeated += dups; /* across runs */
	}
	if (rc) goto out;
	st->added = n;
	st->skipped = a->skipped;
	st->repeated = a->repeated;
	st->skipped_default = a->skipped_default;
	st->errored = a->errored;
	if (n) {
		if (!s && (rc = seg_open(&s, path, &ix->sp, size, checksum, err))) goto out;
		if (seg_fsync_dir(&ix->hook, ix->dir)) {
			rc = seg_sys_error(err, ix->dir, "fsync failed");
			goto out;
		}
		if ((rc = manifest_of(ix, &m, err))) goto out;
		m.e[m.n++] = (man_entry){number, n, size, checksum, 0, NULL};
		if ((rc = publish(ix, &m, err))) goto out;
		seg **q = rp_realloc_array(ix->segs, ix->nsegs + 1, sizeof *q);
		if (!q) {
			rc = rp_set_error(err, RP_ENOMEM, "out of memory");
			goto out;
		}
		ix->segs = q;
		ix->segs[ix->nsegs++] = s;
		s = NULL;
		st->bytes = size;
		st->number = number;
	}
	/* the runs are no longer needed */
	for (size_t i = 0; i < a->nruns; i++) {
		char *rp = seg_path(ix->dir, a->runs[i].s->number);
		if (rp) {
			seg_step(&ix->hook, "unlink");
			unlink(rp);
			rp_free(rp);
		}
	}
out:
	if (in)
		for (size_t i = 0; i < a->nruns; i++) rp_free((void *)in[i].drop);
	rp_free(in);
	manifest_free(&m);
	seg_close(s);
	if (rc) unlink(path);
	rp_free(path);
	return rc;
}

rp_status rp_index_add_commit(rp_index_add *a, const uint8_t *drop, rp_index_add_stats *st, rp_error *err)
{
	return fd_hint(a->ix->dir, a->ix->nsegs, add_commit(a, drop, st, err), err);
}

void rp_index_add_free(rp_index_add *a)
{
	if (!a) return;
	for (size_t i = 0; i < a->nruns; i++) {
		char *rp = seg_path(a->ix->dir, a->runs[i].s->number); /* gone after a commit */
		if (rp) unlink(rp), rp_free(rp);
		seg_close(a->runs[i].s);
		rp_free(a->runs[i].seq);
	}
	rp_free(a->runs);
	for (int w = 0; w < a->nworkers; w++) {
		scratch_free(&a->w[w].s);
		rp_free(a->w[w].fpl);
	}
	rp_free(a->w);
	run_free(&a->r);
	rp_free(a);
}

/* ---- remove and compact ---- */

static rp_status index_remove(rp_index *ix, size_t n, const char *const *ids, const size_t *lens, uint64_t *removed,
                               rp_error *err)
{
	*removed = 0;
	if (ix->mode != RP_INDEX_WRITE) return rp_set_error(err, RP_EUSAGE, "the index is not open for writing");
	int rc = 0;
	seg_buf buf = {0};
	uint32_t *docs = NULL;
	size_t cap = 0;
	manifest m = {0};
	uint8_t **del = rp_malloc_array(ix->nsegs ? ix->nsegs : 1, sizeof *del);
	if (del) memset(del, 0, ix->nsegs * sizeof *del);
	uint64_t *ndel = rp_malloc_array(ix->nsegs ? ix->nsegs : 1, sizeof *ndel);
	if (!del || !ndel) {
		rc = rp_set_error(err, RP_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t s = 0; s < ix->nsegs; s++) {
		seg *sg = ix->segs[s];
		size_t nb = (size_t)(sg->ndocs / 8 + 1);
		del[s] = rp_malloc(nb);
		if (!del[s]) {
			rc = rp_set_error(err, RP_ENOMEM, "out of memory");
			goto out;
		}
		if (sg->deleted) memcpy(del[s], sg->deleted, nb);
		else memset(del[s], 0, nb);
		ndel[s] = sg->ndeleted;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t h = seg_id_hash(ids[i], lens[i]);
		for (size_t s = 0; s < ix->nsegs; s++) {
			seg *sg = ix->segs[s];
			size_t nd = 0;
			if ((rc = seg_table_find(sg, seg_tab(sg, TAB_ID), h >> (64 - ID_KEY_BITS), &buf, &docs, &nd, &cap, err)))
				goto out;
			for (size_t k = 0; k < nd; k++) {
				uint32_t d = docs[k];
				if (del[s][d >> 3] >> (d & 7) & 1) continue;
				int eq = seg_id_equal(sg, d, ids[i], lens[i], &buf, err);
				if (eq < 0) {
					rc = eq;
					goto out;
				}
				if (eq) {
					del[s][d >> 3] |= (uint8_t)(1u << (d & 7));
					ndel[s]++;
					(*removed)++;
				}
			}
		}
	}
	if (!*removed) goto out;
	if ((rc = manifest_of(ix, &m, err))) goto out;
	for (size_t s = 0; s < ix->nsegs; s++) {
		man_entry *x = &m.e[s];
		rp_free(x->deleted);
		x->deleted = rp_malloc_array(ndel[s] ? (size_t)ndel[s] : 1, sizeof *x->deleted);
		if (!x->deleted) {
			rc = rp_set_error(err, RP_ENOMEM, "out of memory");
			goto out;
		}
		x->ndeleted = 0;
		for (uint64_t d = 0; d < ix->segs[s]->ndocs; d++)
			if (del[s][d >> 3] >> (d & 7) & 1) x->deleted[x->ndeleted++] = (uint32_t)d;
	}
	if ((rc = publish(ix, &m, err))) goto out;
	for (size_t s = 0; s < ix->nsegs; s++) {
		seg *sg = ix->segs[s];
		rp_free(sg->deleted);
		sg->deleted = del[s];
		sg->ndeleted = ndel[s];
		del[s] = NULL;
	}
out:
	if (del)
		for (size_t s = 0; s < ix->nsegs; s++) rp_free(del[s]);
	rp_free(del);
	rp_free(ndel);
	rp_free(buf.p);
	rp_free(docs);
	manifest_free(&m);
	return rc;
}

rp_status rp_index_remove(rp_index *ix, size_t n, const char *const *ids, const size_t *lens, uint64_t *removed,
                          rp_error *err)
{
	return fd_hint(ix->dir, ix->nsegs, index_remove(ix, n, ids, lens, removed, err), err);
}

static rp_status compact(rp_index *ix, rp_pool *pool, rp_error *err)
{
	if (ix->mode != RP_INDEX_WRITE) return rp_set_error(err, RP_EUSAGE, "the index is not open for writing");
	if (ix->nsegs == 0 || (ix->nsegs == 1 && ix->segs[0]->ndeleted == 0)) return 0;
	int rc = 0;
	uint64_t number = ix->next_segment++, n = 0, dups = 0, size = 0, checksum = 0;
	char *path = seg_path(ix->dir, number);
	merge_input *in = rp_malloc_array(ix->nsegs, sizeof *in);
	seg *s = NULL;
	manifest m = {0};
	if (!path || !in) {
		rc = rp_set_error(err, RP_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < ix->nsegs; i++) in[i] = (merge_input){ix->segs[i], ix->segs[i]->deleted};
	if ((rc = seg_merge(in, ix->nsegs, &ix->sp, path, number, &ix->hook, pool, &n, &dups, &size, &checksum, err))) goto out;
	if (n && (rc = seg_open(&s, path, &ix->sp, size, checksum, err))) goto out;
	if (seg_fsync_dir(&ix->hook, ix->dir)) {
		rc = seg_sys_error(err, ix->dir, "fsync failed");
		goto out;
	}
	m.sp = ix->sp;
	m.next_segment = ix->next_segment;
	m.e = rp_malloc(sizeof *m.e);
	if (!m.e) {
		rc = rp_set_error(err, RP_ENOMEM, "out of memory");
		goto out;
	}
	if (n) m.e[m.n++] = (man_entry){number, n, size, checksum, 0, NULL};
	if ((rc = publish(ix, &m, err))) goto out;
	/* the old segments: readers that opened them keep their descriptors */
	for (size_t i = 0; i < ix->nsegs; i++) {
		char *p = seg_path(ix->dir, ix->segs[i]->number);
		if (p) {
			seg_step(&ix->hook, "unlink");
			unlink(p);
			rp_free(p);
		}
	}
	close_segs(ix);
	ix->segs = rp_malloc(sizeof *ix->segs);
	if (!ix->segs) {
		rc = rp_set_error(err, RP_ENOMEM, "out of memory");
		goto out;
	}
	if (s) ix->segs[ix->nsegs++] = s;
	s = NULL;
out:
	if (rc && path) unlink(path);
	seg_close(s);
	manifest_free(&m);
	rp_free(in);
	rp_free(path);
	return rc;
}

rp_status rp_index_compact(rp_index *ix, rp_pool *pool, rp_error *err)
{
	return fd_hint(ix->dir, ix->nsegs, compact(ix, pool, err), err);
}

/* ---- queries ---- */

typedef struct {
	uint32_t seg, doc;
	double jaccard, a_in_b, b_in_a;
	seg_doc d;       /* its record: id range, length */
	int band;        /* a band candidate */
	uint32_t shared; /* fingerprints shared */
} found;

typedef struct qworker {
	sketch_scratch s;
	uint8_t sig[RP_MAX_PERM * 4];
	uint8_t *csig;
	seg_buf buf;
	uint32_t *bdocs, *fdocs, *tmp;
	size_t nb, nf, bcap, fcap, tcap;
	/* the live documents under the query's fingerprints, over all segments:
	 * fseg[i] is the segment of fdocs[i]; grouped by segment into gdocs,
	 * segment s's at gdocs[goff[s] .. goff[s + 1]) */
	uint32_t *fseg, *gdocs;
	size_t *goff;
	size_t fscap, gcap, gocap;
	found *hits;
	size_t nhits, hits_cap;
	char pad[64];
} qworker;

static void qworkers_free(rp_index *ix)
{
	for (int i = 0; i < ix->nqw; i++) {
		qworker *w = &ix->qw[i];
		scratch_free(&w->s);
		rp_free(w->csig);
		rp_free(w->buf.p);
		rp_free(w->bdocs);
		rp_free(w->fdocs);
		rp_free(w->fseg);
		rp_free(w->gdocs);
		rp_free(w->goff);
		rp_free(w->tmp);
		rp_free(w->hits);
	}
	rp_free(ix->qw);
	ix->qw = NULL;
	ix->nqw = 0;
}

void rp_index_query_opts_default(rp_index_query_opts *o)
{
	o->containment = 0.5;
	o->passages = 0;
	o->max_df = 1000;
	o->max_matches = 0;
}

typedef struct {
	rp_index *ix;
	const rp_index_doc *docs;
	const rp_index_query_opts *o;
	rp_index_result *out;
	int *status;
	rp_error *errs;
	size_t *err_item;
} query_job;

static int add_hit(qworker *w, const found *f)
{
	if (rp_grow((void **)&w->hits, &w->hits_cap, w->nhits + 1, sizeof *w->hits)) return RP_ENOMEM;
	w->hits[w->nhits++] = *f;
	return 0;
}

/* Sort document numbers: insertion for a few, else LSD radix, 11 bits a
 * pass (a popular fingerprint lists hundreds). */
static int sort_docs(qworker *w, uint32_t *a, size_t n)
{
	if (n <= 32) {
		for (size_t i = 1; i < n; i++) {
			uint32_t x = a[i];
			size_t j = i;
			for (; j > 0 && a[j - 1] > x; j--) a[j] = a[j - 1];
			a[j] = x;
		}
		return 0;
	}
	if (rp_grow((void **)&w->tmp, &w->tcap, n, sizeof *w->tmp)) return RP_ENOMEM;
	uint32_t count[1 << 11];
	uint32_t *src = a, *dst = w->tmp;
	for (int shift = 0; shift < 32; shift += 11) {
		memset(count, 0, sizeof count);
		for (size_t i = 0; i < n; i++) count[(src[i] >> shift) & 0x7ff]++;
		if (count[(src[0] >> shift) & 0x7ff] == n) continue; /* one digit: nothing to do */
		uint32_t sum = 0;
		for (size_t k = 0; k < (1 << 11); k++) {
			uint32_t c = count[k];
			count[k] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++) dst[count[(src[i] >> shift) & 0x7ff]++] = src[i];
		uint32_t *t = src;
		src = dst;
		dst = t;
	}
	if (src != a) memcpy(a, src, n * sizeof *a);
	return 0;
}

static size_t sort_unique(uint32_t *a, size_t n)
{
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (!u || a[i] != a[u - 1]) a[u++] = a[i];
	return u;
}

/* The document frequency of a fingerprint is the number of live documents
 * listing it in the whole index, whatever its segments: one with more than
 * max_df is boilerplate, and its documents are left out.  Key by key, over
 * the segments: a segment that lists more entries than the remaining budget
 * plus its deleted documents has too many live ones, without decoding them;
 * else its entries are decoded and the deleted ones dropped.  The survivors
 * are then grouped by segment (a counting sort) and each group sorted, for
 * query_seg (w->gdocs, w->goff). */
static rp_status fp_docs(rp_index *ix, qworker *w, const rp_index_query_opts *o, rp_error *err)
{
	const uint64_t max_df = o->max_df > 0 ? (uint64_t)o->max_df : 0;
	int rc;
	w->nf = 0;
	for (size_t k = 0; k < w->s.nkeys; k++) {
		const size_t start = w->nf;
		uint64_t live = 0; /* <= max_df */
		int common = 0;
		for (size_t si = 0; si < ix->nsegs && !common; si++) {
			seg *s = ix->segs[si];
			const uint64_t limit = (max_df - live) + s->ndeleted;
			const size_t before = w->nf;
			uint64_t count;
			if ((rc = seg_table_find_limit(s, seg_tab(s, TAB_FP), w->s.keys[k], limit, &w->buf, &w->fdocs, &w->nf,
			                               &w->fcap, &count, err)))
				return rc;
			if (count > limit) { /* at least count - ndeleted > max_df - live live ones */
				common = 1;
				break;
			}
			if (rp_grow((void **)&w->fseg, &w->fscap, w->nf, sizeof *w->fseg))
				return rp_set_error(err, RP_ENOMEM, "out of memory");
			size_t m = before;
			for (size_t i = before; i < w->nf; i++)
				if (!seg_is_deleted(s, w->fdocs[i])) {
					w->fdocs[m] = w->fdocs[i];
					w->fseg[m++] = (uint32_t)si;
				}
			w->nf = m;
			live += m - before;
			if (live > max_df) common = 1;
		}
		if (common) w->nf = start;
	}
	/* group by segment: goff[s + 1] counts, then starts, then ends */
	if (rp_grow((void **)&w->goff, &w->gocap, ix->nsegs + 2, sizeof *w->goff)
	    || rp_grow((void **)&w->gdocs, &w->gcap, w->nf ? w->nf : 1, sizeof *w->gdocs))
		return rp_set_error(err, RP_ENOMEM, "out of memory");
	memset(w->goff, 0, (ix->nsegs + 2) * sizeof *w->goff);
	for (size_t i = 0; i < w->nf; i++) w->goff[w->fseg[i] + 2]++;
	for (size_t si = 2; si < ix->nsegs + 2; si++) w->goff[si] += w->goff[si - 1];
	for (size_t i = 0; i < w->nf; i++) w->gdocs[w->goff[w->fseg[i] + 1]++] = w->fdocs[i];
	for (size_t si = 0; si < ix->nsegs; si++)
		if (sort_docs(w, w->gdocs + w->goff[si], w->goff[si + 1] - w->goff[si]))
			return rp_set_error(err, RP_ENOMEM, "out of memory");
	return 0;
}

/* Candidates of one segment, verified, appended to w->hits; its fingerprint
 * candidates are those fp_docs found. */
static rp_status query_seg(rp_index *ix, uint32_t si, qworker *w, const rp_index_doc *q, const rp_index_query_opts *o,
                           rp_error *err)
{
	seg *s = ix->segs[si];
	const rp_index_params *ip = &ix->ip;
	const size_t sb = seg_sig_bytes(&ix->sp);
	int rc;
	seg_doc d;
	if (w->s.empty) {
		w->nb = 0;
		if ((rc = seg_table_find(s, seg_tab(s, TAB_EMPTY), w->s.content >> 32, &w->buf, &w->bdocs, &w->nb, &w->bcap, err)))
			return rc;
		for (size_t i = 0; i < w->nb; i++) {
			if (seg_is_deleted(s, w->bdocs[i])) continue;
			if ((rc = seg_doc_get(s, w->bdocs[i], &d, err))) return rc;
			if (!d.empty || d.text_len != q->len) continue;
			found f = {si, w->bdocs[i], 1.0, 1.0, 1.0, d, 1, 0};
			if (add_hit(w, &f)) return rp_set_error(err, RP_ENOMEM, "out of memory");
		}
		return 0;
	}
	w->nb = 0;
	for (int b = 0; b < ip->p.bands; b++)
		if ((rc = seg_table_find(s, &s->tab[b], w->s.band[b], &w->buf, &w->bdocs, &w->nb, &w->bcap, err))) return rc;
	if (sort_docs(w, w->bdocs, w->nb)) return rp_set_error(err, RP_ENOMEM, "out of memory");
	w->nb = sort_unique(w->bdocs, w->nb);
	const uint32_t *fdocs = w->gdocs + w->goff[si];
	const size_t nf = w->goff[si + 1] - w->goff[si];
	/* walk both sorted lists */
	size_t i = 0, j = 0;
	const double nq = (double)w->s.nkeys;
	while (i < w->nb || j < nf) {
		uint32_t doc;
		int band = 0;
		uint32_t shared = 0;
		if (j >= nf || (i < w->nb && w->bdocs[i] <= fdocs[j])) {
			doc = w->bdocs[i++];
			band = 1;
		} else {
			doc = fdocs[j];
		}
		while (j < nf && fdocs[j] == doc) shared++, j++;
		if ((!band && shared < 2) || seg_is_deleted(s, doc)) continue;
		double a_in_b = nq > 0 ? shared / nq : 0.0;
		if (a_in_b > 1) a_in_b = 1; /* a damaged table may list a key twice */
		double jac = -1.0;
		if (band) {
			if ((rc = seg_read(s, s->sigs, (uint64_t)doc * sb, w->csig, sb, err))) return rc;
			jac = bbit_jaccard(w->sig, w->csig, ip->p.num_perm, ip->sig_bits);
			if (jac < ip->p.threshold && shared < 2) continue;
		}
		if ((rc = seg_doc_get(s, doc, &d, err))) return rc;
		if (d.empty) continue;
		double b_in_a = d.nfp ? (double)shared / d.nfp : 0.0;
		if (b_in_a > 1) b_in_a = 1;
		int near = jac >= ip->p.threshold;
		/* one shared fingerprint is one shared shingle (or a truncated key
		 * colliding): containment needs two */
		int contained = shared >= 2 && (a_in_b >= o->containment || b_in_a >= o->containment);
		if (!near && !contained) continue;
		if (jac < 0) {
			if ((rc = seg_read(s, s->sigs, (uint64_t)doc * sb, w->csig, sb, err))) return rc;
			jac = bbit_jaccard(w->sig, w->csig, ip->p.num_perm, ip->sig_bits);
		}
		found f = {si, doc, jac, a_in_b, b_in_a, d, band, shared};
		if (add_hit(w, &f)) return rp_set_error(err, RP_ENOMEM, "out of memory");
	}
	return 0;
}

typedef struct {
	found f;
	const char *id;
	size_t len;
} ranked;

static double score(const found *f)
{
	double s = f->jaccard;
	if (f->a_in_b > s) s = f->a_in_b;
	if (f->b_in_a > s) s = f->b_in_a;
	return s;
}

static int cmp_ranked(const void *x, const void *y)
{
	const ranked *a = x, *b = y;
	double sa = score(&a->f), sb = score(&b->f);
	if (sa != sb) return sa > sb ? -1 : 1;
	size_t m = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->id, b->id, m);
	if (c) return c;
	if (a->len != b->len) return a->len < b->len ? -1 : 1;
	if (a->f.seg != b->f.seg) return a->f.seg < b->f.seg ? -1 : 1;
	return (a->f.doc > b->f.doc) - (a->f.doc < b->f.doc);
}

static rp_status query_one(rp_index *ix, qworker *w, const rp_index_doc *q, const rp_index_query_opts *o,
                           rp_index_result *out, rp_error *err)
{
	memset(out, 0, sizeof *out);
	if (q->bad) return 0;
	const rp_index_params *ip = &ix->ip;
	int rc = sketch(ip, &ix->sp, &w->s, q->text, q->len, err);
	if (rc) return rc;
	pack_sig(w->s.sig, ip->p.num_perm, ip->sig_bits, w->sig);
	w->nhits = 0;
	if ((rc = fp_docs(ix, w, o, err))) return rc;
	for (size_t s = 0; s < ix->nsegs; s++)
		if ((rc = query_seg(ix, (uint32_t)s, w, q, o, err))) return rc;
	if (!w->nhits) return 0;
	/* ids of the hits, then rank */
	ranked *rk = rp_malloc_array(w->nhits, sizeof *rk);
	char *ids = NULL;
	size_t total = 0;
	if (!rk) goto nomem;
	for (size_t i = 0; i < w->nhits; i++) total += (size_t)(w->hits[i].d.id_end - w->hits[i].d.id_start) + 1;
	ids = rp_malloc(total ? total : 1);
	if (!ids) goto nomem;
	size_t at = 0;
	for (size_t i = 0; i < w->nhits; i++) {
		seg *s = ix->segs[w->hits[i].seg];
		size_t len = (size_t)(w->hits[i].d.id_end - w->hits[i].d.id_start);
		if ((rc = seg_read(s, s->ids, w->hits[i].d.id_start, ids + at, len, err))) goto fail;
		ids[at + len] = 0;
		rk[i] = (ranked){w->hits[i], ids + at, len};
		at += len + 1;
	}
	qsort(rk, w->nhits, sizeof *rk, cmp_ranked);
	size_t n = w->nhits;
	if (o->max_matches && n > o->max_matches) n = o->max_matches;
	/* one block: the matches, then their ids */
	size_t id_bytes = 0;
	for (size_t i = 0; i < n; i++) id_bytes += rk[i].len + 1;
	uint8_t *block = rp_malloc(n * sizeof(rp_index_match) + id_bytes);
	if (!block) goto nomem;
	rp_index_match *m = (rp_index_match *)block;
	char *idp = (char *)(block + n * sizeof(rp_index_match));
	memset(m, 0, n * sizeof *m);
	for (size_t i = 0; i < n; i++) {
		memcpy(idp, rk[i].id, rk[i].len + 1);
		m[i] = (rp_index_match){idp, rk[i].len, rk[i].f.d.id_is_number, rk[i].f.jaccard, rk[i].f.a_in_b,
		                        rk[i].f.b_in_a, rk[i].f.d.text_len, NULL, 0};
		idp += rk[i].len + 1;
	}
	out->matches = m;
	out->n = n;
	if (o->passages && ip->store_text) {
		for (size_t i = 0; i < n; i++) {
			seg *s = ix->segs[rk[i].f.seg];
			uint64_t doc = rk[i].f.doc, b[2] = {0, 0};
			uint8_t e[16];
			if (doc) rc = seg_read(s, s->text_end, (doc - 1) * 8, e, 16, err);
			else rc = seg_read(s, s->text_end, 0, e + 8, 8, err);
			if (rc) goto fail;
			b[0] = doc ? get_u64(e) : 0;
			b[1] = get_u64(e + 8);
			if (b[1] < b[0] || b[1] - b[0] != m[i].length) {
				rc = seg_error(err, RP_EDATA, s->path, "corrupt text offsets");
				goto fail;
			}
			if (rp_grow((void **)&w->buf.p, &w->buf.cap, (size_t)m[i].length + 1, 1)) goto nomem;
			if ((rc = seg_read(s, s->text, b[0], w->buf.p, (size_t)m[i].length, err))) goto fail;
			rp_comparison c;
			if ((rc = rp_compare(q->text, q->len, (const char *)w->buf.p, (size_t)m[i].length, &ip->p, ip->min_words,
			                     &c, err))) {
				/* the query was tokenised already: the stored text is bad */
				if (rc == RP_EDATA)
					seg_error(err, RP_EDATA, s->path, "corrupt stored text of document %llu: %s",
					          (unsigned long long)doc, err->message);
				goto fail;
			}
			m[i].passages = c.passages;
			m[i].npassages = c.npassages;
			c.passages = NULL;
			rp_comparison_free(&c);
		}
	}
	rp_free(rk);
	rp_free(ids);
	return 0;
nomem:
	rc = rp_set_error(err, RP_ENOMEM, "out of memory");
fail:
	rp_free(rk);
	rp_free(ids);
	rp_index_results_free(out, 1);
	return rc;
}

static void query_item(void *v, size_t i, int wid)
{
	query_job *j = v;
	rp_error e;
	j->status[i] = query_one(j->ix, &j->ix->qw[wid], &j->docs[i], j->o, &j->out[i], &e);
	if (j->status[i] && i < j->err_item[wid]) {
		j->err_item[wid] = i;
		j->errs[wid] = e;
	}
}

rp_status rp_index_query(rp_index *ix, rp_pool *pool, size_t n, const rp_index_doc *docs, const rp_index_query_opts *o,
                         rp_index_result *out, rp_error *err)
{
	rp_index_query_opts def;
	if (!o) {
		rp_index_query_opts_default(&def);
		o = &def;
	}
	memset(out, 0, n * sizeof *out);
	int nw = rp_pool_size(pool);
	if (nw > ix->nqw) {
		qworkers_free(ix);
		ix->qw = rp_malloc_array((size_t)nw, sizeof *ix->qw);
		if (!ix->qw) return rp_set_error(err, RP_ENOMEM, "out of memory");
		memset(ix->qw, 0, (size_t)nw * sizeof *ix->qw);
		ix->nqw = nw;
		for (int i = 0; i < nw; i++) {
			ix->qw[i].csig = rp_malloc(seg_sig_bytes(&ix->sp));
			if (!ix->qw[i].csig) return rp_set_error(err, RP_ENOMEM, "out of memory");
		}
	}
	query_job j = {ix, docs, o, out, NULL, NULL, NULL};
	j.status = rp_malloc_array(n ? n : 1, sizeof *j.status);
	j.errs = rp_malloc_array((size_t)nw, sizeof *j.errs);
	j.err_item = rp_malloc_array((size_t)nw, sizeof *j.err_item);
	int rc = 0;
	if (!j.status || !j.errs || !j.err_item) {
		rc = rp_set_error(err, RP_ENOMEM, "out of memory");
		goto out;
	}
	for (int w = 0; w < nw; w++) j.err_item[w] = SIZE_MAX;
	rp_pool_run(pool, n, query_item, &j);
	size_t first = SIZE_MAX;
	int fw = -1;
	for (int w = 0; w < nw; w++)
		if (j.err_item[w] < first) first = j.err_item[w], fw = w;
	if (fw >= 0) {
		if (err) *err = j.errs[fw];
		rc = j.status[first];
		rp_index_results_free(out, n);
	}
out:
	rp_free(j.status);
	rp_free(j.errs);
	rp_free(j.err_item);
	return rc;
}

void rp_index_results_free(rp_index_result *r, size_t n)
{
	if (!r) return;
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < r[i].n; k++) rp_free_passages(r[i].matches[k].passages);
		rp_free(r[i].matches);
		r[i].matches = NULL;
		r[i].n = 0;
	}
}
