/* texts.c — where each document's text can be read again, so that dedup's
 * exact checks fetch the few texts they compare (rp_dedup_set_fetch) instead
 * of having every document's shingles spilled (4 bytes a shingle written to
 * the page cache: a quarter of the CPU time on uncompressed input).  16
 * bytes a document in memory: a text read from an uncompressed regular file
 * is found again at its place there, through a duplicate of the reader's
 * descriptor (the same file, even if renamed or replaced since), and decoded
 * again with the reader's own code when it is a JSON string; any other text
 * (stdin, gzip, zstd, a text given by itself) is copied to an unlinked
 * temporary file as it comes.  A file that changes during the run is caught
 * twice: rp_dedup refuses a text whose length, shingle count or signature
 * differs, and rp_texts_unchanged compares the size and modification time
 * of every file read again. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include "internal.h"

enum { SRC_BITS = 23, QUOTED = 1u << SRC_BITS, LEN_SHIFT = 24, COPY_BUF = 1 << 20 };
#define MAX_LEN ((uint64_t)1 << (64 - LEN_SHIFT))

/* A text: bytes [at, at + len) of source src (0: the copy file, i: file
 * i - 1), a JSON string with its quotes when QUOTED; len_src = len << 24 |
 * QUOTED | src. */
typedef struct {
	uint64_t at, len_src;
} place;

typedef struct {
	int fd;             /* a duplicate of the reader's */
	char *name;
	off_t size;         /* when first read */
	struct timespec mtime;
	atomic_int fetched; /* a text was read again from it */
} source_file;

typedef struct {
	char *raw, *dec;
	size_t raw_cap, dec_cap;
} slot_buf;

struct rp_texts {
	place *place;
	size_t n, cap;
	source_file *file;
	size_t nfiles, file_cap, max_files;
	uint64_t file_no;   /* the reader's number of the current input */
	long cur;           /* its index in file, -1 if its texts are copied */
	char *tmpdir;
	int copy_fd;        /* the copied texts, -1 until the first */
	uint64_t copy_len;  /* bytes written or buffered */
	char *buf;          /* COPY_BUF bytes waiting to be written */
	size_t buf_n;
	slot_buf *slot;
	int nslots;
};

rp_status rp_texts_new(rp_texts **out, int nslots, const char *tmpdir, rp_error *err)
{
	*out = NULL;
	if (nslots < 1) return rp_set_error(err, RP_EUSAGE, "rp_texts_new: nslots must be at least 1");
	rp_texts *t = rp_malloc(sizeof *t);
	if (!t) return rp_set_error(err, RP_ENOMEM, "out of memory");
	memset(t, 0, sizeof *t);
	t->copy_fd = -1;
	t->cur = -1;
	t->file_no = UINT64_MAX;
	t->nslots = nslots;
	t->slot = rp_malloc_array((size_t)nslots, sizeof *t->slot);
	if (tmpdir) t->tmpdir = rp_strdup(tmpdir);
	if (!t->slot || (tmpdir && !t->tmpdir)) {
		rp_texts_free(t);
		return rp_set_error(err, RP_ENOMEM, "out of memory");
	}
	memset(t->slot, 0, (size_t)nslots * sizeof *t->slot);
	/* At most half the descriptors the process may have: the rest stay for
	 * its outputs, temporary files and the reader's own. */
	struct rlimit rl;
	t->max_files = 32;
	if (!getrlimit(RLIMIT_NOFILE, &rl))
		t->max_files = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur / 2 > (1u << SRC_BITS) - 2
		                   ? (1u << SRC_BITS) - 2 : (size_t)rl.rlim_cur / 2;
	*out = t;
	return RP_OK;
}

static rp_status next_place(rp_texts *t, place **p, rp_error *err)
{
	if (rp_grow((void **)&t->place, &t->cap, t->n + 1, sizeof *t->place))
		return rp_set_error(err, RP_ENOMEM, "out of memory");
	*p = &t->place[t->n++];
	**p = (place){0, 0};
	return RP_OK;
}

static rp_status flush_copy(rp_texts *t, rp_error *err)
{
	if (!t->buf_n) return RP_OK;
	if (rp_pwrite_all(t->copy_fd, t->buf, t->buf_n, t->copy_len - t->buf_n))
		return rp_set_error(err, RP_EIO, "cannot write the temporary text file: %s",
		                    errno ? strerror(errno) : "no space");
	t->buf_n = 0;
	return RP_OK;
}

/* Append a text to the copy file (buffered) and note its place in *p. */
static rp_status copy_text(rp_texts *t, const char *text, size_t len, place *p, rp_error *err)
{
	if ((uint64_t)len >= MAX_LEN) return rp_set_error(err, RP_EDATA, "a text of %zu bytes is too long to keep", len);
	if (t->copy_fd < 0) {
		if (!t->buf && !(t->buf = rp_malloc(COPY_BUF))) return rp_set_error(err, RP_ENOMEM, "out of memory");
		if ((t->copy_fd = rp_spill_open(t->tmpdir, "texts", err)) < 0) return err ? err->code : RP_EIO;
	}
	p->at = t->copy_len;
	p->len_src = (uint64_t)len << LEN_SHIFT;
	while (len) {
		size_t k = COPY_BUF - t->buf_n < len ? COPY_BUF - t->buf_n : len;
		memcpy(t->buf + t->buf_n, text, k);
		t->buf_n += k, t->copy_len += k, text += k, len -= k;
		if (t->buf_n == COPY_BUF) {
			rp_status rc = flush_copy(t, err);
			if (rc) return rc;
		}
	}
	return RP_OK;
}

/* The index in t->file of the record's input, opened on its first record;
 * -1 if its texts cannot be read there again. */
static long record_file(rp_texts *t, const rp_record *rec, rp_error *err, int *nomem)
{
	if (rec->file_no == t->file_no) return t->cur;
	t->file_no = rec->file_no;
	t->cur = -1;
	if (!rec->text_seekable || t->nfiles >= t->max_files) return -1;
	struct stat st;
	int fd = fcntl(rec->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0) return -1; /* no descriptor to spare: the texts are copied */
	if (fstat(fd, &st)) {
		close(fd);
		return -1;
	}
	char *name = rp_strdup(rec->file);
	if (!name || rp_grow((void **)&t->file, &t->file_cap, t->nfiles + 1, sizeof *t->file)) {
		close(fd);
		rp_free(name);
		*nomem = 1;
		rp_set_error(err, RP_ENOMEM, "out of memory");
		return -1;
	}
	source_file *sf = &t->file[t->nfiles];
	sf->fd = fd;
	sf->name = name;
	sf->size = st.st_size;
	sf->mtime = st.st_mtim;
	atomic_init(&sf->fetched, 0);
	t->cur = (long)t->nfiles++;
	return t->cur;
}

rp_status rp_texts_add(rp_texts *t, const rp_record *rec, rp_error *err)
{
	place *p = NULL;
	rp_status rc = next_place(t, &p, err);
	if (rc || rec->bad || !rec->text_len) return rc;
	int nomem = 0;
	long i = record_file(t, rec, err, &nomem);
	if (nomem) return RP_ENOMEM;
	if (i >= 0 && (uint64_t)rec->text_raw_len < MAX_LEN) {
		p->at = rec->text_byte;
		p->len_src = (uint64_t)rec->text_raw_len << LEN_SHIFT | (rec->text_quoted ? QUOTED : 0) | (uint64_t)(i + 1);
		return RP_OK;
	}
	return copy_text(t, rec->text, rec->text_len, p, err);
}

rp_status rp_texts_add_text(rp_texts *t, const char *text, size_t len, rp_error *err)
{
	place *p = NULL;
	rp_status rc = next_place(t, &p, err);
	return rc || !len ? rc : copy_text(t, text, len, p, err);
}

rp_status rp_texts_ready(rp_texts *t, rp_error *err)
{
	return t->copy_fd >= 0 ? flush_copy(t, err) : RP_OK;
}

rp_status rp_texts_fetch(void *ctx, int slot, uint64_t seq, const char **text, size_t *len, rp_error *err)
{
	rp_texts *t = ctx;
	if (seq >= t->n || slot < 0 || slot >= t->nslots)
		return rp_set_error(err, RP_EUSAGE, "no text %llu for slot %d", (unsigned long long)seq, slot);
	place p = t->place[seq];
	size_t n = (size_t)(p.len_src >> LEN_SHIFT), src = (size_t)(p.len_src & (QUOTED - 1));
	source_file *sf = src ? &t->file[src - 1] : NULL;
	slot_buf *b = &t->slot[slot];
	*text = "";
	*len = 0;
	if (!n) return RP_OK; /* an empty text, or a bad record's */
	if (!sf && t->buf_n) return rp_set_error(err, RP_EUSAGE, "rp_texts_fetch before rp_texts_ready");
	if (rp_grow((void **)&b->raw, &b->raw_cap, n, 1)) return rp_set_error(err, RP_ENOMEM, "out of memory");
	if (sf) atomic_store_explicit(&sf->fetched, 1, memory_order_relaxed);
	if (rp_pread_all(sf ? sf->fd : t->copy_fd, b->raw, n, p.at))
		return rp_set_error(err, RP_EIO, "%s: cannot read it again at byte %llu: %s",
		                    sf ? sf->name : "temporary text file", (unsigned long long)p.at,
		                    errno ? strerror(errno) : "it is shorter than it was");
	if (!(p.len_src & QUOTED)) {
		*text = b->raw;
		*len = n;
		return RP_OK;
	}
	rp_error e;
	if (rp_json_text(b->raw, n, &b->dec, &b->dec_cap, text, len, &e))
		return e.code == RP_ENOMEM ? rp_set_error(err, RP_ENOMEM, "out of memory")
		                           : rp_set_error(err, RP_EIO, "%s changed during the run: byte %llu no longer "
		                                          "starts the text that was read there", sf->name,
		                                          (unsigned long long)p.at);
	return RP_OK;
}

rp_status rp_texts_unchanged(rp_texts *t, rp_error *err)
{
	for (size_t i = 0; i < t->nfiles; i++) {
		source_file *sf = &t->file[i];
		struct stat st;
		if (!atomic_load(&sf->fetched)) continue;
		if (fstat(sf->fd, &st) || st.st_size != sf->size || st.st_mtim.tv_sec != sf->mtime.tv_sec ||
		    st.st_mtim.tv_nsec != sf->mtime.tv_nsec)
			return rp_set_error(err, RP_EIO, "%s changed during the run, and texts read from it again may "
			                    "differ from the first reading", sf->name);
	}
	return RP_OK;
}

void rp_texts_truncate(rp_texts *t, size_t n)
{
	if (n < t->n) t->n = n;
}

void rp_texts_free(rp_texts *t)
{
	if (!t) return;
	for (size_t i = 0; i < t->nfiles; i++) close(t->file[i].fd), rp_free(t->file[i].name);
	for (int s = 0; t->slot && s < t->nslots; s++) rp_free(t->slot[s].raw), rp_free(t->slot[s].dec);
	if (t->copy_fd >= 0) close(t->copy_fd);
	rp_free(t->place);
	rp_free(t->file);
	rp_free(t->slot);
	rp_free(t->buf);
	rp_free(t->tmpdir);
	rp_free(t);
}
