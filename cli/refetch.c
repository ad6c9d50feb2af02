/* refetch.c — each record's text, to be read again on demand.  dedup's exact
 * checks compare the shingle sets of a few thousand documents; rather than
 * have the library write every document's shingles to a temporary file (4
 * bytes a shingle, a quarter of the CPU time on uncompressed input), the
 * command keeps where each text is, 16 bytes a record: a text read from an
 * uncompressed regular file is found again at its place there, through a
 * duplicate of the reader's descriptor (the same file, even if renamed or
 * replaced since), and decoded again when it is a JSON string; any other
 * text (stdin, gzip, zstd) is copied to a temporary spool file as it is read.
 * A file that changes during the run is caught twice: the library refuses a
 * text of another length or number of shingles, and refetch_unchanged
 * compares the size and modification time of every file read again. */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"
#include "input.h"
#include "refetch.h"

enum { SRC_BITS = 23, QUOTED = 1u << SRC_BITS, LEN_SHIFT = 24 };
#define MAX_LEN ((uint64_t)1 << (64 - LEN_SHIFT))

/* A text: bytes [at, at + len) of source src (0: the spool, i: file i - 1),
 * a JSON string with its quotes when QUOTED; len_src = len << 24 | QUOTED | src. */
typedef struct {
	uint64_t at, len_src;
} place;

typedef struct {
	int fd;                /* a duplicate of the reader's */
	char *name;
	off_t size;            /* when first read */
	struct timespec mtime;
	atomic_int fetched;    /* a text was read again from it */
} source_file;

typedef struct {
	char *raw, *dec;
	size_t raw_cap, dec_cap;
} slot_buf;

struct refetch {
	place *place;
	size_t n, cap;
	source_file *file;
	size_t nfiles, file_cap, max_files;
	uint64_t file_no;      /* the reader's number of the current input */
	long cur;              /* its index in file, -1 if its texts are spooled */
	FILE *spool;
	uint64_t spool_len;
	int spool_error, spool_missing; /* errno of its first failure; it could not be made */
	slot_buf *slot;
	int nslots;
};

refetch *refetch_new(int nslots)
{
	refetch *f = calloc(1, sizeof *f);
	if (!f) return NULL;
	f->slot = calloc((size_t)nslots, sizeof *f->slot);
	if (!f->slot) {
		free(f);
		return NULL;
	}
	f->nslots = nslots;
	f->cur = -1;
	f->file_no = UINT64_MAX;
	/* At most half the descriptors the process may have: the rest stay for
	 * the outputs, the spool and the reader's own. */
	struct rlimit rl;
	f->max_files = 32;
	if (!getrlimit(RLIMIT_NOFILE, &rl))
		f->max_files = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur / 2 > (1u << SRC_BITS) - 2
		                   ? (1u << SRC_BITS) - 2 : (size_t)rl.rlim_cur / 2;
	return f;
}

/* The index in f->file of the record's input, opened on its first record;
 * -1 if its texts cannot be read there again. */
static long record_file(refetch *f, const rp_record *rec)
{
	if (rec->file_no == f->file_no) return f->cur;
	f->file_no = rec->file_no;
	f->cur = -1;
	if (!rec->text_seekable || f->nfiles >= f->max_files) return -1;
	struct stat st;
	int fd = fcntl(rec->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0) return -1;
	if (fstat(fd, &st)) {
		close(fd);
		return -1;
	}
	f->file = xgrow(f->file, &f->file_cap, f->nfiles + 1, sizeof *f->file);
	source_file *sf = &f->file[f->nfiles];
	sf->fd = fd;
	sf->name = strdup(rec->file);
	if (!sf->name) {
		cli_error("out of memory");
		exit(EXIT_DATA);
	}
	sf->size = st.st_size;
	sf->mtime = st.st_mtim;
	atomic_init(&sf->fetched, 0);
	f->cur = (long)f->nfiles++;
	return f->cur;
}

/* An unlinked temporary file in $TMPDIR (tmpfile(3) ignores it). */
static FILE *temp_file(void)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	if (!dir || !*dir) dir = "/tmp";
	if (snprintf(path, sizeof path, "%s/reprint-texts-XXXXXX", dir) >= (int)sizeof path) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	int fd = mkstemp(path);
	if (fd < 0) return NULL;
	unlink(path);
	FILE *f = fdopen(fd, "w+");
	if (!f) close(fd);
	return f;
}

void refetch_add(refetch *f, const rp_record *rec)
{
	f->place = xgrow(f->place, &f->cap, f->n + 1, sizeof *f->place);
	place *p = &f->place[f->n++];
	*p = (place){0, 0};
	if (rec->bad || !rec->text_len) return;
	long i = record_file(f, rec);
	if (i >= 0 && rec->text_raw_len < MAX_LEN) {
		p->at = rec->text_byte;
		p->len_src = (uint64_t)rec->text_raw_len << LEN_SHIFT | (rec->text_quoted ? QUOTED : 0) | (uint64_t)(i + 1);
		return;
	}
	if (f->spool_error) return;
	if (rec->text_len >= MAX_LEN) {
		f->spool_error = EFBIG;
		return;
	}
	if (!f->spool && !(f->spool = temp_file())) {
		f->spool_error = errno ? errno : EIO;
		f->spool_missing = 1;
		return;
	}
	if (fwrite(rec->text, 1, rec->text_len, f->spool) != rec->text_len) f->spool_error = errno ? errno : EIO;
	p->at = f->spool_len;
	p->len_src = (uint64_t)rec->text_len << LEN_SHIFT;
	f->spool_len += rec->text_len;
}

int refetch_ready(refetch *f)
{
	if (f->spool && !f->spool_error && fflush(f->spool)) f->spool_error = errno ? errno : EIO;
	if (f->spool_missing) {
		const char *dir = getenv("TMPDIR");
		cli_error("cannot create a temporary file in %s: %s", dir && *dir ? dir : "/tmp", strerror(f->spool_error));
		return -1;
	}
	if (f->spool_error) {
		cli_error("temporary text file: write failed: %s", strerror(f->spool_error));
		return -1;
	}
	return 0;
}

static rp_status __attribute__((format(printf, 3, 4))) fail(rp_error *err, int code, const char *fmt, ...)
{
	if (!err) return code;
	memset(err, 0, sizeof *err);
	err->code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	return code;
}

static int read_at(int fd, char *p, size_t len, uint64_t at)
{
	while (len) {
		ssize_t r = pread(fd, p, len, (off_t)at);
		if (r < 0 && errno == EINTR) continue;
		if (r <= 0) {
			if (r == 0) errno = 0;
			return -1;
		}
		p += r, len -= (size_t)r, at += (uint64_t)r;
	}
	return 0;
}

rp_status refetch_text(void *ctx, int slot, uint64_t seq, const char **text, size_t *len, rp_error *err)
{
	refetch *f = ctx;
	if (seq >= f->n || slot < 0 || slot >= f->nslots)
		return fail(err, RP_EUSAGE, "no text %llu for slot %d", (unsigned long long)seq, slot);
	place p = f->place[seq];
	size_t n = (size_t)(p.len_src >> LEN_SHIFT), src = (size_t)(p.len_src & (QUOTED - 1));
	source_file *sf = src ? &f->file[src - 1] : NULL;
	const char *name = sf ? sf->name : "temporary text file";
	slot_buf *b = &f->slot[slot];
	if (!n) { /* an empty text, or a bad record's */
		*text = "";
		*len = 0;
		return RP_OK;
	}
	if (n + 1 > b->raw_cap) {
		char *q = realloc(b->raw, n + 1);
		if (!q) return fail(err, RP_ENOMEM, "out of memory");
		b->raw = q;
		b->raw_cap = n + 1;
	}
	if (sf) atomic_store_explicit(&sf->fetched, 1, memory_order_relaxed);
	if (read_at(sf ? sf->fd : fileno(f->spool), b->raw, n, p.at))
		return fail(err, RP_EIO, "%s: cannot read it again at byte %llu: %s", name,
		                    (unsigned long long)p.at, errno ? strerror(errno) : "it is shorter than it was");
	if (!(p.len_src & QUOTED)) {
		*text = b->raw;
		*len = n;
		return RP_OK;
	}
	rp_error e;
	if (rp_json_text(b->raw, n, &b->dec, &b->dec_cap, text, len, &e))
		return e.code == RP_ENOMEM ? fail(err, RP_ENOMEM, "out of memory")
		                           : fail(err, RP_EIO, "%s changed during the run: byte %llu no longer starts "
		                                          "the text that was read there", name, (unsigned long long)p.at);
	return RP_OK;
}

int refetch_unchanged(refetch *f)
{
	for (size_t i = 0; i < f->nfiles; i++) {
		source_file *sf = &f->file[i];
		struct stat st;
		if (!atomic_load(&sf->fetched)) continue;
		if (fstat(sf->fd, &st) || st.st_size != sf->size || st.st_mtim.tv_sec != sf->mtime.tv_sec ||
		    st.st_mtim.tv_nsec != sf->mtime.tv_nsec) {
			cli_error("%s changed during the run, and texts read from it again may differ from the first "
			          "reading; nothing was written", sf->name);
			return -1;
		}
	}
	return 0;
}

void refetch_free(refetch *f)
{
	if (!f) return;
	for (size_t i = 0; i < f->nfiles; i++) close(f->file[i].fd), free(f->file[i].name);
	for (int s = 0; s < f->nslots; s++) free(f->slot[s].raw), free(f->slot[s].dec);
	if (f->spool) fclose(f->spool);
	free(f->place);
	free(f->file);
	free(f->slot);
	free(f);
}
