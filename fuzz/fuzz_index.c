/* fuzz_index.c — rp_index_open, rp_index_info_get and rp_index_query on an
 * index whose files the fuzzer changed (docs/FORMAT.md).
 *
 * Once per process the harness builds two small valid indexes in a fresh
 * directory (mkdtemp under $TMPDIR, removed at exit), reads their files into
 * memory and records what they answer.  Base 0: default parameters, stored
 * texts, two segments, tombstones in both; base 1: n-gram 3, K 64, 4-bit
 * signatures, min_words 20, no texts, compacted into one segment.  Every
 * input then rewrites a work directory with one base's files, changes one
 * file, opens it and queries seven fixed documents (exact copies, a
 * near-duplicate, a passage inside new text, token-less, empty, unrelated).
 *
 * Input: 2 parameter bytes, then the fuzzer's bytes (B).
 *   byte 0: bit 0 the base; bits 1-3 the change; bits 4-7 the file changed:
 *           0 MANIFEST, k the ((k - 1) mod S)-th segment named by it.
 *     0 flip: B is triples (u16 position mod size, xor byte);
 *     1 truncate to (u16 of B) mod (size + 1) bytes, then append the rest of B;
 *     2 splice: overwrite from (u16 of B) mod (size + 1) with the rest of B;
 *     3 replace the file by B;
 *     4 flip as 0, then recompute the checksums (below);
 *     5 splice as 2, then recompute the checksums;
 *     6 a file made by the fuzzer with a valid-looking header: the manifest
 *       is magic, version, the base's parameters (B's own if byte 1 bit 1),
 *       then B; a segment is magic, version, H, the parameters, the base's
 *       document count and number, N = B[0] % 40 sections whose kind, index,
 *       length, count, a and b come from B (offsets tiling the file), then
 *       the rest of B as their bytes; then the checksums are recomputed;
 *     7 an extra file next to the index (MANIFEST.tmp, an unnamed segment,
 *       a segment's name with a suffix) holding B, or with B empty the file
 *       removed.
 *   byte 1: bit 0 open for writing (RP_INDEX_WRITE: lock, garbage removed);
 *           bit 1 see change 6; bit 2 do not rebind a changed segment in the
 *           manifest (its size and header checksum stay the old ones).
 * Recomputing the checksums: a segment's section checksums (where its table
 * places them inside the file) and header checksum, then its size and header
 * checksum in the manifest's entry (unless byte 1 bit 2), then the
 * manifest's checksum.
 *
 * Invariants:
 *  - rp_index_open succeeds or fails with RP_EDATA or RP_EIO and a message
 *    naming a file of the index; files equal to the base's always open;
 *  - the same input twice (a second open, and a second query on one handle)
 *    gives the same error or the same answers;
 *  - an index that opens is consistent by an independent parser of
 *    docs/FORMAT.md, every checksum included (so without recomputed
 *    checksums it opens only if the files are unchanged, or the fuzzer found
 *    the checksum itself), and info agrees with it (segments, live and
 *    deleted documents, bytes, generation);
 *  - if the manifest and the segments it names are the base's, the answers
 *    are exactly the base's: info, every match, score and passage;
 *  - otherwise every match names a live document of the files (id, its
 *    number flag and text length); jaccard, a_in_b, b_in_a are in [0, 1];
 *    matches are sorted by score then id; passages lie inside both texts; a
 *    query fails only with RP_EDATA or RP_EIO naming a segment. */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include "fuzz.h"

#define NBASE 2
#define NQUERY 7
#define MAXFILES 8

typedef struct { char name[64]; uint8_t *p; size_t n; } file;
typedef struct { uint8_t *p; size_t n, cap; } buf;
struct base {
	file f[MAXFILES];
	size_t nf;
	int seg_file[MAXFILES]; /* index in f of the k-th segment the manifest names */
	size_t nsegs;
	buf answer;             /* what the base answers (serialized) */
	int store_text;
};
typedef struct base base;

static char root[512], work[600];
static base bases[NBASE];
static char *docs[20], *queries[NQUERY];

static uint32_t le32(const uint8_t *b) { return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24; }
static uint64_t le64(const uint8_t *b) { return (uint64_t)le32(b) | (uint64_t)le32(b + 4) << 32; }
static void put32(uint8_t *b, uint32_t v) { for (int i = 0; i < 4; i++) b[i] = (uint8_t)(v >> 8 * i); }
static void put64(uint8_t *b, uint64_t v) { for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> 8 * i); }

static FZ_NOCOV void bput(buf *b, const void *s, size_t n)
{
	if (b->n + n > b->cap || !b->p) {
		b->cap = (b->n + n) * 2 + 64;
		b->p = fz_xrealloc(b->p, b->cap);
	}
	if (n) memcpy(b->p + b->n, s, n);
	b->n += n;
}
static void bput_u64(buf *b, uint64_t v) { bput(b, &v, sizeof v); }
static void bput_f64(buf *b, double v) { bput(b, &v, sizeof v); }

/* ---- the documents: words from a fixed generator ---- */
static uint64_t rng_state;
static uint32_t rng(void)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(rng_state >> 33);
}
static void add_words(buf *b, int n)
{
	static const char *syl[] = {"ka", "lo", "mi", "ne", "su", "ta", "re", "vo", "pi", "da", "gu", "fe", "zo", "bi"};
	for (int i = 0; i < n; i++) {
		if (b->n) bput(b, " ", 1);
		int k = 2 + rng() % 3;
		for (int j = 0; j < k; j++) bput(b, syl[rng() % 14], 2);
	}
}
static char *finish(buf *b)
{
	bput(b, "", 1);
	return (char *)b->p;
}
/* n words starting at word `from` of s */
static void copy_words(buf *b, const char *s, int from, int n)
{
	const char *p = s;
	for (int i = 0; i < from && p; i++) p = strchr(p, ' '), p = p ? p + 1 : NULL;
	for (int i = 0; i < n && p && *p; i++) {
		const char *e = strchr(p, ' ');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (b->n) bput(b, " ", 1);
		bput(b, p, len);
		p = e ? e + 1 : NULL;
	}
}

static void make_docs(void)
{
	rng_state = 42;
	for (int i = 0; i < 20; i++) {
		buf b = {0};
		switch (i) {
		case 1: /* doc 0 with one word changed: a near-duplicate */
			copy_words(&b, docs[0], 0, 60), bput(&b, " xyzzy", 6), copy_words(&b, docs[0], 61, 200);
			break;
		case 3: /* 80 words of doc 2 inside new text: a reprint */
			add_words(&b, 12), copy_words(&b, docs[2], 20, 80), add_words(&b, 10);
			break;
		case 12: /* doc 4 again, in the other segment */
			copy_words(&b, docs[4], 0, 1000);
			break;
		case 13: bput(&b, "", 0); break;
		case 14: bput(&b, "... !!! ---", 11); break;
		case 15: add_words(&b, 8); break; /* too short for fingerprints */
		default: add_words(&b, 60 + (int)(rng() % 90));
		}
		docs[i] = finish(&b);
	}
	buf q[NQUERY] = {{0}};
	copy_words(&q[0], docs[0], 0, 1000);
	add_words(&q[1], 15), copy_words(&q[1], docs[2], 10, 90), add_words(&q[1], 30);
	copy_words(&q[2], docs[4], 0, 1000);
	bput(&q[3], "... !!! ---", 11);
	bput(&q[4], "", 0);
	add_words(&q[5], 120);
	copy_words(&q[6], docs[1], 0, 30), bput(&q[6], " plugh", 6), copy_words(&q[6], docs[1], 30, 1000);
	for (int i = 0; i < NQUERY; i++) queries[i] = finish(&q[i]);
}

/* ---- files ---- */
static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) return;
	struct dirent *e;
	char p[1200];
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		struct stat st;
		if (!lstat(p, &st) && S_ISDIR(st.st_mode)) remove_tree(p);
		else unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

static void empty_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) abort();
	struct dirent *e;
	char p[1200];
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.') continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		if (unlink(p)) abort();
	}
	closedir(d);
}

static FZ_NOCOV int read_whole(const char *path, uint8_t **out, size_t *n)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0) return -1;
	buf b = {0};
	uint8_t tmp[65536];
	ssize_t got;
	while ((got = read(fd, tmp, sizeof tmp)) > 0) bput(&b, tmp, (size_t)got);
	close(fd);
	if (got < 0) { free(b.p); return -1; }
	bput(&b, "", 0);
	*out = b.p, *n = b.n;
	return 0;
}

static void write_file(const char *dir, const char *name, const uint8_t *p, size_t n)
{
	char path[1200];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || (n && write(fd, p, n) != (ssize_t)n) || close(fd)) abort();
}

/* Is file `name` with these bytes not one of the base's files? */
static int differs(const base *b, const char *name, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < b->nf; i++)
		if (!strcmp(b->f[i].name, name)) return b->f[i].n != n || memcmp(b->f[i].p, p, n);
	return 1;
}

/* ---- an independent reading of the format: the live documents ---- */
typedef struct { const uint8_t *id; size_t len; int number; uint32_t text_len; } live_doc;
typedef struct {
	uint64_t segments, docs, deleted, bytes, generation;
	live_doc *live;
	size_t nlive;
	uint8_t *files[64]; /* the segment files read */
	size_t nfiles;
	int nfiles_changed;  /* of the manifest and the files it names, how many differ from the base's */
} parsed;

static void parsed_free(parsed *p)
{
	for (size_t i = 0; i < p->nfiles; i++) free(p->files[i]);
	free(p->live);
	memset(p, 0, sizeof *p);
}

/* Parse the index in dir as docs/FORMAT.md says, every checksum included;
 * the library opened it, so any failure here is a finding. */
static void parse_index(const char *dir, parsed *out, const base *b)
{
	memset(out, 0, sizeof *out);
	char path[1200];
	uint8_t *m;
	size_t mn;
	snprintf(path, sizeof path, "%s/MANIFEST", dir);
	FCHECK(read_whole(path, &m, &mn) == 0);
	FCHECK(mn >= 112 && !memcmp(m, "RPRTMAN1", 8) && XXH64(m, mn - 8, 0) == le64(m + mn - 8));
	out->nfiles_changed = differs(b, "MANIFEST", m, mn);
	out->generation = le64(m + 80);
	uint64_t S = le64(m + 96);
	FCHECK(S <= (mn - 112) / 48);
	out->segments = S;
	out->bytes = mn;
	size_t cap = 0;
	for (uint64_t i = 0; i < S; i++) {
		const uint8_t *e = m + 104 + 48 * i;
		uint64_t number = le64(e), ndocs = le64(e + 8), size = le64(e + 16), D = le64(e + 32), toff = le64(e + 40);
		FCHECK(D <= ndocs && toff <= mn - 8 && D <= (mn - 8 - toff) / 4);
		snprintf(path, sizeof path, "%s/seg-%016llx.rps", dir, (unsigned long long)number);
		uint8_t *s;
		size_t sn;
		FCHECKF(read_whole(path, &s, &sn) == 0, "open succeeded but %s cannot be read", path);
		FCHECK(out->nfiles < 64);
		out->files[out->nfiles++] = s;
		out->nfiles_changed += differs(b, path + strlen(dir) + 1, s, sn);
		/* an entry's size and header checksum bind it to one file (0: not checked) */
		FCHECKF((size == 0 || sn == size) && sn >= 112 && !memcmp(s, "RPRTSEG1", 8), "segment %llu",
		        (unsigned long long)number);
		FCHECK(le64(s + 80) == ndocs && le64(s + 88) == number);
		uint32_t nsec = le32(s + 96);
		uint64_t H = 104 + 48 * (uint64_t)nsec + 8;
		FCHECK(H <= sn && XXH64(s, H - 8, 0) == le64(s + H - 8));
		FCHECK(le64(e + 24) == 0 || le64(e + 24) == le64(s + H - 8));
		const uint8_t *docsec = NULL, *idsec = NULL;
		uint64_t docs_len = 0, ids_len = 0;
		for (uint32_t k = 0; k < nsec; k++) {
			const uint8_t *x = s + 104 + 48 * k;
			uint64_t off = le64(x + 8), len = le64(x + 16);
			FCHECK(off <= sn && len <= sn - off && XXH64(s + off, len, 0) == le64(x + 40));
			if (le32(x) == 1) docsec = s + off, docs_len = len;
			if (le32(x) == 2) idsec = s + off, ids_len = len;
		}
		FCHECK(docsec && idsec && docs_len == 16 * ndocs);
		out->docs += ndocs - D;
		out->deleted += D;
		out->bytes += sn;
		uint64_t prev = 0, t = 0;
		for (uint64_t d = 0; d < ndocs; d++) {
			uint64_t x = le64(docsec + 16 * d), end = x & ((1ULL << 62) - 1);
			FCHECK(end >= prev && end <= ids_len);
			int dead = 0;
			while (t < D && le32(m + toff + 4 * t) < d) t++;
			if (t < D && le32(m + toff + 4 * t) == d) dead = 1;
			if (!dead) {
				if (out->nlive == cap) cap = cap * 2 + 16, out->live = fz_xrealloc(out->live, cap * sizeof *out->live);
				out->live[out->nlive++] = (live_doc){idsec + prev, end - prev, !!(x >> 62 & 1), le32(docsec + 16 * d + 8)};
			}
			prev = end;
		}
	}
	free(m);
}

/* ---- answers ---- */
static double score(const rp_index_match *m)
{
	double s = m->jaccard;
	if (m->a_in_b > s) s = m->a_in_b;
	if (m->b_in_a > s) s = m->b_in_a;
	return s;
}

static int unit(double x) { return x >= 0 && x <= 1; } /* false for NaN */

/* Run info and the queries on ix; serialize into out.  Returns the query's
 * status (its error in *qe). */
static int answer(rp_index *ix, int passages, buf *out, rp_error *qe, const parsed *ref)
{
	rp_index_info info;
	rp_index_info_get(ix, &info);
	bput_u64(out, info.segments), bput_u64(out, info.docs), bput_u64(out, info.deleted);
	bput_u64(out, info.bytes), bput_u64(out, info.generation);
	for (int k = 0; k < 5; k++) bput_u64(out, info.part_bytes[k]);
	if (ref) {
		FCHECKF(info.segments == ref->segments && info.docs == ref->docs && info.deleted == ref->deleted
		        && info.bytes == ref->bytes && info.generation == ref->generation,
		        "info: %zu segments, %llu docs, %llu deleted, %llu bytes; the files say %llu, %llu, %llu, %llu",
		        info.segments, (unsigned long long)info.docs, (unsigned long long)info.deleted,
		        (unsigned long long)info.bytes, (unsigned long long)ref->segments, (unsigned long long)ref->docs,
		        (unsigned long long)ref->deleted, (unsigned long long)ref->bytes);
		uint64_t parts = 0;
		for (int k = 0; k < 5; k++) parts += info.part_bytes[k];
		FCHECK(parts <= info.bytes);
	}
	rp_index_doc q[NQUERY];
	for (int i = 0; i < NQUERY; i++) q[i] = (rp_index_doc){queries[i], strlen(queries[i]), NULL, 0, 0, 0, 0};
	rp_index_query_opts o;
	rp_index_query_opts_default(&o);
	o.passages = passages;
	rp_index_result r[NQUERY];
	memset(qe, 0, sizeof *qe);
	int rc = rp_index_query(ix, NULL, NQUERY, q, &o, r, qe);
	bput_u64(out, (uint64_t)(int64_t)rc);
	if (rc) {
		bput(out, qe->message, strlen(qe->message));
		return rc;
	}
	for (int i = 0; i < NQUERY; i++) {
		bput_u64(out, r[i].n);
		for (size_t k = 0; k < r[i].n; k++) {
			const rp_index_match *m = &r[i].matches[k];
			bput_u64(out, m->id_len), bput(out, m->id, m->id_len);
			bput_u64(out, (uint64_t)m->id_is_number), bput_u64(out, m->length);
			bput_f64(out, m->jaccard), bput_f64(out, m->a_in_b), bput_f64(out, m->b_in_a);
			bput_u64(out, m->npassages);
			for (size_t j = 0; j < m->npassages; j++) { /* field by field: the struct has padding */
				const rp_passage *ps = &m->passages[j];
				uint64_t v[9] = {ps->a_start, ps->a_end, ps->b_start, ps->b_end, ps->tokens,
				                 ps->a_byte_start, ps->a_byte_end, ps->b_byte_start, ps->b_byte_end};
				bput(out, v, sizeof v);
			}
			if (!ref) continue;
			FCHECKF(unit(m->jaccard) && unit(m->a_in_b) && unit(m->b_in_a), "query %d match %zu: scores %g %g %g",
			        i, k, m->jaccard, m->a_in_b, m->b_in_a);
			int found = 0;
			for (size_t d = 0; d < ref->nlive && !found; d++) {
				const live_doc *l = &ref->live[d];
				found = l->len == m->id_len && !memcmp(l->id, m->id, m->id_len) && l->number == m->id_is_number
				        && l->text_len == m->length;
			}
			FCHECKF(found, "query %d match %zu: id '%.*s' (number %d, %llu bytes) is no live document", i, k,
			        (int)m->id_len, m->id, m->id_is_number, (unsigned long long)m->length);
			if (k) {
				const rp_index_match *p = &r[i].matches[k - 1];
				size_t ml = p->id_len < m->id_len ? p->id_len : m->id_len;
				int c = memcmp(p->id, m->id, ml);
				FCHECKF(score(p) > score(m) || (score(p) == score(m) && (c < 0 || (c == 0 && p->id_len <= m->id_len))),
				        "query %d: matches %zu and %zu out of order", i, k - 1, k);
			}
			for (size_t j = 0; j < m->npassages; j++) {
				const rp_passage *ps = &m->passages[j];
				FCHECK(ps->a_byte_start < ps->a_byte_end && ps->a_byte_end <= q[i].len);
				FCHECK(ps->b_byte_start < ps->b_byte_end && ps->b_byte_end <= m->length);
			}
		}
	}
	rp_index_results_free(r, NQUERY);
	return 0;
}

/* An error from open or query: a known code, a message, a file of the index. */
static void check_error(int rc, const rp_error *e, const char *what)
{
	FCHECKF(rc == RP_EDATA || rc == RP_EIO, "%s: status %d (%s)", what, rc, e->message);
	FCHECKF(e->message[0] != 0, "%s: no message", what);
	FCHECKF(!strncmp(e->file, work, strlen(work)), "%s: '%s' names no file of the index (%s)", what, e->file,
	        e->message);
}

/* ---- building the bases ---- */
static void build_base(int which)
{
	base *b = &bases[which];
	char dir[700];
	snprintf(dir, sizeof dir, "%s/base%d", root, which);
	rp_index_params ip;
	rp_index_params_default(&ip);
	if (which == 0) {
		ip.store_text = 1;
	} else {
		ip.p.ngram = 3, ip.p.num_perm = 64, ip.sig_bits = 4, ip.min_words = 20;
	}
	b->store_text = ip.store_text;
	rp_error e;
	rp_index *ix;
	if (rp_index_create(dir, &ip, &e) || rp_index_open(&ix, dir, RP_INDEX_WRITE, &e)) goto fail;
	char ids[20][16];
	rp_index_doc d[20];
	for (int i = 0; i < 20; i++) {
		snprintf(ids[i], sizeof ids[i], i == 5 ? "%d" : "d%d", i);
		d[i] = (rp_index_doc){docs[i], strlen(docs[i]), ids[i], strlen(ids[i]), i == 5, 0, 0};
	}
	/* two adds: two segments */
	for (int part = 0; part < 2; part++) {
		rp_index_add *a;
		rp_index_add_stats st;
		if (rp_index_add_new(&a, ix, NULL, 0, &e)) goto fail;
		int from = part ? 11 : 0, n = part ? 9 : 11;
		if (rp_index_add_docs(a, (size_t)n, d + from, &e) || rp_index_add_commit(a, NULL, &st, &e)) {
			rp_index_add_free(a);
			goto fail;
		}
		rp_index_add_free(a);
	}
	const char *gone[] = {"d1", "d12", "d17"};
	size_t glen[] = {2, 3, 3};
	uint64_t removed;
	if (rp_index_remove(ix, 3, gone, glen, &removed, &e)) goto fail;
	if (which == 1 && rp_index_compact(ix, NULL, &e)) goto fail;
	rp_index_close(ix);

	/* its files, the manifest first, then the segments in manifest order */
	uint8_t *m;
	size_t mn;
	char path[1200];
	snprintf(path, sizeof path, "%s/MANIFEST", dir);
	if (read_whole(path, &m, &mn)) abort();
	b->f[0] = (file){"MANIFEST", m, mn};
	b->f[1] = (file){"LOCK", fz_xmalloc(1), 0};
	b->nf = 2;
	uint64_t S = le64(m + 96);
	FCHECK(S >= 1 && S + 2 <= MAXFILES);
	for (uint64_t i = 0; i < S; i++) {
		file *f = &b->f[b->nf];
		snprintf(f->name, sizeof f->name, "seg-%016llx.rps", (unsigned long long)le64(m + 104 + 48 * i));
		snprintf(path, sizeof path, "%s/%s", dir, f->name);
		if (read_whole(path, &f->p, &f->n)) abort();
		b->seg_file[b->nsegs++] = (int)b->nf++;
	}
	/* what it answers */
	if (rp_index_open(&ix, dir, RP_INDEX_READ, &e)) goto fail;
	rp_error qe;
	parsed ref;
	parse_index(dir, &ref, b);
	FCHECKF(answer(ix, b->store_text, &b->answer, &qe, &ref) == 0, "base %d: query: %s", which, qe.message);
	parsed_free(&ref);
	rp_index_close(ix);
	remove_tree(dir);
	return;
fail:
	fprintf(stderr, "fuzz_index: cannot build base index %d: %s\n", which, e.message);
	abort();
}

static void cleanup(void)
{
	remove_tree(root);
	for (int i = 0; i < NBASE; i++) {
		for (size_t k = 0; k < bases[i].nf; k++) free(bases[i].f[k].p);
		free(bases[i].answer.p);
	}
	for (int i = 0; i < 20; i++) free(docs[i]);
	for (int i = 0; i < NQUERY; i++) free(queries[i]);
}

static void setup(void)
{
	static int done;
	if (done) return;
	done = 1;
	const char *tmp = getenv("TMPDIR");
	snprintf(root, sizeof root, "%s/rp-fuzz-index-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(root)) {
		perror(root);
		abort();
	}
	atexit(cleanup);
	snprintf(work, sizeof work, "%s/work", root);
	if (mkdir(work, 0755)) abort();
	make_docs();
	for (int i = 0; i < NBASE; i++) build_base(i);
}

/* ---- changes ---- */
/* A little-endian u16 of parameter bytes (read in order: the operands of |
 * are unsequenced). */
static size_t fz_u16(fz_in *in)
{
	size_t lo = fz_byte(in);
	return lo | (size_t)fz_byte(in) << 8;
}

static void recompute_manifest(buf *m)
{
	if (m->n >= 8) put64(m->p + m->n - 8, XXH64(m->p, m->n - 8, 0));
}

/* Recompute a segment's checksums; rebind entry k of the manifest to it. */
static void recompute_segment(buf *s, buf *m, size_t k, int rebind)
{
	if (s->n >= 112) {
		uint32_t nsec = le32(s->p + 96);
		uint64_t H = 104 + 48 * (uint64_t)nsec + 8;
		if (H <= s->n) {
			for (uint32_t i = 0; i < nsec; i++) {
				uint8_t *x = s->p + 104 + 48 * i;
				uint64_t off = le64(x + 8), len = le64(x + 16);
				if (off <= s->n && len <= s->n - off) put64(x + 40, XXH64(s->p + off, len, 0));
			}
			put64(s->p + H - 8, XXH64(s->p, H - 8, 0));
		}
	}
	if (rebind && m->n >= 104 + 48 * (k + 1) + 8) {
		uint8_t *e = m->p + 104 + 48 * k;
		put64(e + 16, s->n);
		if (s->n >= 112) {
			uint64_t H = 104 + 48 * (uint64_t)le32(s->p + 96) + 8;
			if (H <= s->n) put64(e + 24, le64(s->p + H - 8));
		}
		recompute_manifest(m);
	}
}

static FZ_NOCOV void flip(buf *f, fz_in *in)
{
	while (in->n >= 3 && f->n) {
		size_t pos = fz_u16(in) % f->n;
		f->p[pos] ^= fz_byte(in);
	}
}

static FZ_NOCOV void splice_at(buf *f, fz_in *in)
{
	size_t pos = fz_u16(in) % (f->n + 1);
	f->n = pos;
	bput(f, in->p, in->n);
}

/* A manifest or segment made by the fuzzer with a plausible header. */
static void fuzzer_file(buf *f, const file *orig, int is_manifest, int own_params, fz_in *in)
{
	f->n = 0;
	if (is_manifest) {
		bput(f, orig->p, 16); /* magic, version */
		size_t k = in->n < 64 ? in->n : 64;
		if (own_params) {
			bput(f, in->p, k);
			in->p += k, in->n -= k;
		} else {
			bput(f, orig->p + 16, 64);
		}
		bput(f, in->p, in->n);
		bput(f, "\0\0\0\0\0\0\0\0", 8);
		recompute_manifest(f);
		return;
	}
	uint32_t nsec = fz_byte(in) % 40;
	uint64_t H = 104 + 48 * (uint64_t)nsec + 8;
	bput(f, orig->p, 104); /* magic, version, H, parameters, n, number, N */
	put32(f->p + 12, (uint32_t)H);
	put32(f->p + 96, nsec);
	/* sections: kind, index (u16), length (u16), count (u16), a, b */
	size_t at = H;
	uint8_t e[48];
	for (uint32_t i = 0; i < nsec; i++) {
		memset(e, 0, sizeof e);
		uint32_t kind = 1 + fz_byte(in) % 7;
		uint32_t index = (uint32_t)fz_u16(in);
		uint64_t len = fz_u16(in);
		uint64_t count = fz_u16(in);
		if (index >= 64) index = 1024 + index % 3;
		put32(e, kind), put32(e + 4, index), put64(e + 8, at), put64(e + 16, len), put64(e + 24, count);
		uint32_t a = fz_byte(in) % 32;
		uint32_t keybits = fz_byte(in);
		put32(e + 32, a), put32(e + 36, keybits << 8 | fz_byte(in));
		bput(f, e, sizeof e);
		at += len;
	}
	bput(f, "\0\0\0\0\0\0\0\0", 8);
	/* the sections' bytes: the rest of the input, zeros after it */
	size_t want = at - H, take = in->n < want ? in->n : want;
	bput(f, in->p, take);
	for (size_t i = take; i < want; i++) bput(f, "", 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	fz_in in = {data, size};
	uint8_t b0 = fz_byte(&in), b1 = fz_byte(&in);
	base *b = &bases[b0 & 1];
	int mode = (b0 >> 1) & 7, which = b0 >> 4, wmode = b1 & 1 ? RP_INDEX_WRITE : RP_INDEX_READ;
	int fi = which == 0 ? 0 : b->seg_file[(size_t)(which - 1) % b->nsegs];
	size_t seg_k = which == 0 ? 0 : (size_t)(which - 1) % b->nsegs;

	/* The files: the base's, one of them changed. */
	buf f[MAXFILES] = {{0}};
	for (size_t i = 0; i < b->nf; i++) bput(&f[i], b->f[i].p, b->f[i].n);
	buf *t = &f[fi], *man = &f[0];
	int removed = 0;
	const char *extra = NULL;
	switch (mode) {
	case 0: flip(t, &in); break;
	case 1: {
		size_t len = fz_u16(&in) % (t->n + 1);
		t->n = len;
		bput(t, in.p, in.n);
		break;
	}
	case 2: splice_at(t, &in); break;
	case 3: t->n = 0, bput(t, in.p, in.n); break;
	case 4: case 5: case 6:
		if (mode == 4) flip(t, &in);
		else if (mode == 5) splice_at(t, &in);
		else fuzzer_file(t, &b->f[fi], fi == 0, b1 & 2, &in);
		if (fi == 0) recompute_manifest(t);
		else recompute_segment(t, man, seg_k, !(b1 & 4));
		break;
	case 7: {
		static const char *names[] = {"MANIFEST.tmp", "seg-00000000000000ff.rps", "seg-0000000000000001.rps.tmp",
		                              "seg-000000000000000.rps", "notes.txt"};
		if (!in.n) removed = 1;
		else extra = names[which % 5];
		break;
	}
	}

	empty_dir(work);
	int same = !removed && !extra;
	for (size_t i = 0; i < b->nf; i++) {
		if (removed && (int)i == fi) continue;
		write_file(work, b->f[i].name, f[i].p, f[i].n);
		same = same && f[i].n == b->f[i].n && !memcmp(f[i].p, b->f[i].p, f[i].n);
	}
	if (extra) write_file(work, extra, in.p, in.n);

	rp_index *ix;
	rp_error e, e2, qe, qe2;
	memset(&e, 0, sizeof e);
	int rc = rp_index_open(&ix, work, wmode, &e);
	buf a1 = {0}, a2 = {0}, a3 = {0};
	int q1 = 0;
	if (rc) {
		FCHECKF(!same, "the base's own files did not open: %s", e.message);
		check_error(rc, &e, "open");
	} else {
		/* Every file it read is consistent (checksums too, whether the
		 * harness recomputed them or the fuzzer found them). */
		parsed ref;
		parse_index(work, &ref, b);
		q1 = answer(ix, b->store_text, &a1, &qe, &ref);
		if (q1) check_error(q1, &qe, "query");
		/* the same queries again on the same handle */
		int q2 = answer(ix, b->store_text, &a2, &qe2, NULL);
		FCHECKF(q2 == q1 && a1.n == a2.n && !memcmp(a1.p, a2.p, a1.n), "a second query on one handle differs");
		/* The files it reads are the base's: the base's answers. */
		if (same || ref.nfiles_changed == 0)
			FCHECKF(q1 == 0 && a1.n == b->answer.n && !memcmp(a1.p, b->answer.p, a1.n),
			        "the index opened with the base's files (change %d, file %s) and answers "
			        "differently%s%s", mode, b->f[fi].name, q1 ? ": " : "", q1 ? qe.message : "");
		parsed_free(&ref);
		rp_index_close(ix);
	}
	/* The same input twice: open again. */
	memset(&e2, 0, sizeof e2);
	int rc2 = rp_index_open(&ix, work, RP_INDEX_READ, &e2);
	if (wmode == RP_INDEX_READ || rc) {
		FCHECKF(rc2 == rc, "opened twice: %d then %d (%s)", rc, rc2, rc2 ? e2.message : e.message);
		if (rc) FCHECKF(!strcmp(e.message, e2.message) && !strcmp(e.file, e2.file), "opened twice: '%s' then '%s'",
		                e.message, e2.message);
	} else {
		FCHECKF(rc2 == 0, "opened for writing, then not for reading: %s", e2.message);
	}
	if (!rc2) {
		int q3 = answer(ix, b->store_text, &a3, &qe2, NULL);
		if (!rc) FCHECKF(q3 == q1 && a3.n == a1.n && !memcmp(a3.p, a1.p, a1.n), "opened twice: different answers");
		rp_index_close(ix);
	}
	free(a1.p), free(a2.p), free(a3.p);
	for (size_t i = 0; i < MAXFILES; i++) free(f[i].p);
	return 0;
}
