/* The persistent index in the library: adds in several batches (with
 * spilled runs) answer like one rp_dedup over everything; every flipped byte
 * and every truncation of a segment and of the manifest is an error naming
 * the file; tombstones, compaction, duplicate ids, the writer's lock,
 * readers' snapshots, refused parameters, passages, token-less documents,
 * containment, and allocation failure at every point. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include "test.h"
#include "reprint.h"
#include "internal.h"
#include "synth.h"

#define NDOC 600
static char *docs[NDOC];
static size_t lens[NDOC];
static char ids[NDOC][16];
static char base[256];

static void make_corpus(void)
{
	synth_corpus(7, NDOC, docs, lens);
	for (int d = 0; d < NDOC; d++) snprintf(ids[d], sizeof ids[d], "d%03d", d);
}

/* Files and flat directories, without forking (forking an ASan process is
 * slow). */
static void rmrf(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) return;
	struct dirent *e;
	char path[1024];
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (unlink(path)) rmrf(path);
	}
	closedir(d);
	rmdir(dir);
}

static int copy_file(const char *from, const char *to)
{
	FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
	char buf[1 << 16];
	size_t n;
	int rc = a && b ? 0 : -1;
	while (!rc && (n = fread(buf, 1, sizeof buf, a)) > 0)
		if (fwrite(buf, 1, n, b) != n) rc = -1;
	if (a) fclose(a);
	if (b && fclose(b)) rc = -1;
	return rc;
}

static int copy_dir(const char *from, const char *to)
{
	rmrf(to);
	if (mkdir(to, 0755)) return -1;
	DIR *d = opendir(from);
	if (!d) return -1;
	struct dirent *e;
	char a[1024], b[1024];
	int rc = 0;
	while ((e = readdir(d)) && !rc) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
		snprintf(a, sizeof a, "%s/%s", from, e->d_name);
		snprintf(b, sizeof b, "%s/%s", to, e->d_name);
		rc = copy_file(a, b);
	}
	closedir(d);
	return rc;
}

static const char *fresh_dir(const char *name)
{
	static char path[512];
	snprintf(path, sizeof path, "%s/%s", base, name);
	rmrf(path);
	return path;
}

static rp_index_doc doc_of(int i)
{
	return (rp_index_doc){docs[i], lens[i], ids[i], strlen(ids[i]), 0, 0, 0};
}

/* Add documents [from, to) in one add; returns the stats' added. */
static uint64_t add_range(const char *dir, int from, int to, size_t memory, rp_pool *pool)
{
	rp_index *ix;
	rp_error e;
	if (rp_index_open(&ix, dir, RP_INDEX_WRITE, &e)) {
		fprintf(stderr, "open: %s\n", e.message);
		return UINT64_MAX;
	}
	rp_index_add *a;
	rp_index_add_stats st = {0};
	CHECK(rp_index_add_new(&a, ix, pool, memory, &e) == 0);
	rp_index_doc d[NDOC];
	for (int i = from; i < to; i++) d[i - from] = doc_of(i);
	/* in batches of 64, as a reader would hand them over */
	for (int i = 0; i < to - from; i += 64) CHECK(rp_index_add_docs(a, (size_t)(to - from - i < 64 ? to - from - i : 64), d + i, &e) == 0);
	CHECKF(rp_index_add_commit(a, NULL, &st, &e) == 0, "%s", e.message);
	rp_index_add_free(a);
	rp_index_close(ix);
	return st.added;
}

static int doc_index(const char *id) { return atoi(id + 1); }

static uint32_t uf_find(uint32_t *p, uint32_t x)
{
	while (p[x] != x) p[x] = p[p[x]], x = p[x];
	return x;
}
static void uf_union(uint32_t *p, uint32_t a, uint32_t b)
{
	a = uf_find(p, a), b = uf_find(p, b);
	if (a < b) p[b] = a;
	else if (b < a) p[a] = b;
}

/* Three adds (runs spilled every few dozen documents) answer like one
 * dedup over everything: every pair dedup verified is matched both ways;
 * with 32-bit signatures the match graph has exactly dedup's clusters,
 * with 8-bit ones extra edges only at the threshold. */
static void check_dedup_equivalence(int sig_bits)
{
	char name[32];
	snprintf(name, sizeof name, "eq%d", sig_bits);
	const char *dir = fresh_dir(name);
	rp_index_params ip;
	rp_index_params_default(&ip);
	ip.sig_bits = sig_bits;
	rp_error e;
	CHECK(rp_index_create(dir, &ip, &e) == 0);
	rp_pool *pool = rp_pool_new(2);
	CHECK(add_range(dir, 0, 150, 16 << 10, pool) == 150);
	CHECK(add_range(dir, 150, 400, 16 << 10, pool) == 250);
	CHECK(add_range(dir, 400, NDOC, 0, pool) == 200);

	rp_params p;
	rp_params_default(&p);
	p.verify = RP_VERIFY_ESTIMATE;
	rp_dedup *d;
	CHECK(rp_dedup_new(&d, &p, pool, &e) == 0);
	CHECK(rp_dedup_add(d, NDOC, (const char *const *)docs, lens, NULL, &e) == 0);
	CHECK(rp_dedup_finish(d, &e) == 0);

	rp_index *ix;
	CHECK(rp_index_open(&ix, dir, RP_INDEX_READ, &e) == 0);
	rp_index_info info;
	rp_index_info_get(ix, &info);
	CHECK(info.docs == NDOC && info.segments == 3);
	rp_index_query_opts o;
	rp_index_query_opts_default(&o);
	o.containment = 2; /* near-duplicates only */
	static rp_index_doc q[NDOC];
	static rp_index_result r[NDOC];
	for (int i = 0; i < NDOC; i++) q[i] = doc_of(i);
	CHECK(rp_index_query(ix, pool, NDOC, q, &o, r, &e) == 0);
	static uint8_t match[NDOC][NDOC];
	memset(match, 0, sizeof match);
	uint32_t parent[NDOC];
	for (int i = 0; i < NDOC; i++) parent[i] = (uint32_t)i;
	int self = 0, ordered = 1;
	for (int i = 0; i < NDOC; i++)
		for (size_t k = 0; k < r[i].n; k++) {
			int j = doc_index(r[i].matches[k].id);
			CHECK(r[i].matches[k].jaccard >= p.threshold);
			if (k) {
				const rp_index_match *m0 = &r[i].matches[k - 1], *m1 = &r[i].matches[k];
				double s0 = fmax(m0->jaccard, fmax(m0->a_in_b, m0->b_in_a));
				double s1 = fmax(m1->jaccard, fmax(m1->a_in_b, m1->b_in_a));
				if (s0 < s1 || (s0 == s1 && strcmp(r[i].matches[k - 1].id, r[i].matches[k].id) >= 0)) ordered = 0;
			}
			if (j == i) {
				self++;
				CHECK(r[i].matches[k].jaccard == 1.0);
				continue;
			}
			match[i][j] = 1;
			uf_union(parent, (uint32_t)i, (uint32_t)j);
		}
	CHECK(self == NDOC);
	CHECK(ordered);
	const uint64_t *pa, *pb;
	const double *pj;
	size_t np = rp_dedup_pairs(d, &pa, &pb, &pj), missed = 0;
	for (size_t i = 0; i < np; i++) missed += !match[pa[i]][pb[i]] || !match[pb[i]][pa[i]];
	CHECKF(missed == 0, "%zu of %zu dedup pairs not matched", missed, np);
	CHECK(np > 100);
	int differ = 0, extra = 0, extra_far = 0;
	for (int i = 0; i < NDOC; i++) {
		rp_dedup_result dr;
		rp_dedup_get(d, (uint64_t)i, &dr);
		if (uf_find(parent, (uint32_t)i) != dr.cluster) differ++;
		for (int j = 0; j < NDOC; j++) {
			if (!match[i][j]) continue;
			rp_dedup_result dj;
			rp_dedup_get(d, (uint64_t)j, &dj);
			if (dj.cluster == dr.cluster) continue;
			extra++;
			/* the full-signature estimate of an extra edge is at the threshold */
			uint32_t si[RP_MAX_PERM], sj[RP_MAX_PERM];
			size_t ns;
			uint64_t c;
			rp_tokens t = {0};
			rp_sketch_text(docs[i], lens[i], &p, &t, si, &ns, &c, &e);
			rp_sketch_text(docs[j], lens[j], &p, &t, sj, &ns, &c, &e);
			rp_tokens_free(&t);
			if (rp_sig_jaccard(si, sj, p.num_perm) < p.threshold - 3.0 / p.num_perm) extra_far++;
		}
	}
	printf("# sig-bits %d: %zu dedup pairs all matched; %d documents in other clusters, %d extra directed edges\n",
	       sig_bits, np, differ, extra);
	if (sig_bits == 32) CHECK(differ == 0 && extra == 0);
	CHECK(extra_far == 0);
	CHECK(extra <= 20);
	rp_index_results_free(r, NDOC);
	rp_index_close(ix);
	rp_dedup_free(d);
	rp_pool_free(pool);
}

static void test_equivalence_sig32(void) { check_dedup_equivalence(32); }
static void test_equivalence_sig8(void) { check_dedup_equivalence(8); }

/* ---- a small index whose every byte is flipped ---- */

static const char *small_texts[] = {
	"", "...", "Hello world, a short one.",
	NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};

static const char *build_small(const char *name, int store_text)
{
	const char *dir = fresh_dir(name);
	static char keep[512];
	snprintf(keep, sizeof keep, "%s", dir);
	rp_index_params ip;
	rp_index_params_default(&ip);
	ip.store_text = store_text;
	rp_error e;
	CHECK(rp_index_create(keep, &ip, &e) == 0);
	rp_index *ix;
	CHECK(rp_index_open(&ix, keep, RP_INDEX_WRITE, &e) == 0);
	rp_pool *pool = rp_pool_new(1);
	rp_index_add *a;
	CHECK(rp_index_add_new(&a, ix, pool, 0, &e) == 0);
	rp_index_doc d[12];
	char idb[12][16];
	for (int i = 0; i < 12; i++) {
		snprintf(idb[i], sizeof idb[i], "s%d", i);
		const char *t = small_texts[i] ? small_texts[i] : docs[i * 37];
		d[i] = (rp_index_doc){t, strlen(t), idb[i], strlen(idb[i]), i == 5, 0, 0};
	}
	CHECK(rp_index_add_docs(a, 12, d, &e) == 0);
	rp_index_add_stats st;
	CHECK(rp_index_add_commit(a, NULL, &st, &e) == 0);
	CHECK(st.added == 12);
	rp_index_add_free(a);
	rp_index_close(ix);
	rp_pool_free(pool);
	return keep;
}

static long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) ? -1 : (long)st.st_size;
}

static int flip(const char *path, long pos)
{
	int fd = open(path, O_RDWR);
	unsigned char c;
	if (fd < 0 || pread(fd, &c, 1, pos) != 1) return -1;
	c ^= 0x5a;
	int rc = pwrite(fd, &c, 1, pos) == 1 ? 0 : -1;
	close(fd);
	return rc;
}

/* Open must fail with RP_EDATA naming the file (one of them). */
static int refused(const char *dir, const char *file)
{
	rp_index *ix;
	rp_error e;
	memset(&e, 0, sizeof e);
	int rc = rp_index_open(&ix, dir, RP_INDEX_READ, &e);
	if (!rc) {
		rp_index_close(ix);
		return 0;
	}
	char msg[1200];
	rp_error_format(&e, msg, sizeof msg);
	return rc == RP_EDATA && strstr(msg, file) != NULL;
}

static void check_every_byte(const char *dir, const char *file, int truncations)
{
	char path[600];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	long size = file_size(path);
	CHECK(size > 0);
	long bad = 0;
	for (long pos = 0; pos < size; pos++) {
		if (flip(path, pos)) { bad++; break; }
		if (!refused(dir, file)) {
			if (bad < 5) fprintf(stderr, "FAIL: %s: flip at %ld not detected\n", file, pos);
			bad++;
		}
		flip(path, pos);
	}
	CHECKF(bad == 0, "%ld of %ld flipped bytes of %s undetected", bad, size, file);
	if (truncations) {
		char copy[700];
		snprintf(copy, sizeof copy, "%s.orig", path);
		CHECK(copy_file(path, copy) == 0);
		long tbad = 0;
		for (long len = 0; len < size; len += 1 + len / 64) {
			CHECK(truncate(path, len) == 0);
			if (!refused(dir, file)) tbad++;
			CHECK(copy_file(copy, path) == 0);
		}
		unlink(copy);
		CHECKF(tbad == 0, "%ld truncations of %s undetected", tbad, file);
	}
	rp_index *ix;
	rp_error e;
	CHECK(rp_index_open(&ix, dir, RP_INDEX_READ, &e) == 0);
	rp_index_close(ix);
}

static void test_every_flipped_byte(void)
{
	const char *dir = build_small("flip", 1);
	check_every_byte(dir, "seg-0000000000000001.rps", 1);
	check_every_byte(dir, "MANIFEST", 1);
	/* a missing segment is named too */
	char path[600], moved[600];
	snprintf(path, sizeof path, "%s/seg-0000000000000001.rps", dir);
	snprintf(moved, sizeof moved, "%s/elsewhere", dir);
	CHECK(rename(path, moved) == 0);
	rp_index *ix;
	rp_error e;
	CHECK(rp_index_open(&ix, dir, RP_INDEX_READ, &e) == RP_EIO && strstr(e.file, "seg-0000000000000001.rps"));
	CHECK(rename(moved, path) == 0);
}

/* ---- the same segment whatever the threads and runs ---- */

/* The one segment file in dir, read whole; NULL if not exactly one. */
static unsigned char *only_segment(const char *dir, size_t *len)
{
	DIR *d = opendir(dir);
	if (!d) return NULL;
	struct dirent *e;
	char path[1024] = "";
	int n = 0;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "seg-", 4)) snprintf(path, sizeof path, "%s/%s", dir, e->d_name), n++;
	closedir(d);
	FILE *f = n == 1 ? fopen(path, "rb") : NULL;
	if (!f) return NULL;
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	rewind(f);
	unsigned char *b = malloc(*len ? *len : 1);
	if (b && fread(b, 1, *len, f) != *len) free(b), b = NULL;
	fclose(f);
	return b;
}

/* One add written directly (one thread, one run) and one merged from many
 * spilled runs on 2 or 3 threads give the same segment, byte for byte but
 * for its number and the header's checksum: the runs' fingerprints are put
 * in document order whatever thread sketched them, and the merge renumbers
 * by offset or by map alike. */
static void test_same_segment_any_threads_runs(void)
{
	const int threads[3] = {1, 2, 3};
	const size_t memory[3] = {0, 40 << 10, 16 << 10};
	unsigned char *first = NULL;
	size_t first_len = 0;
	for (int c = 0; c < 3; c++) {
		char name[32];
		snprintf(name, sizeof name, "same%d", c);
		const char *dir = fresh_dir(name);
		rp_index_params ip;
		rp_index_params_default(&ip);
		ip.store_text = 1;
		rp_error e;
		CHECK(rp_index_create(dir, &ip, &e) == 0);
		rp_pool *pool = rp_pool_new(threads[c]);
		CHECK(add_range(dir, 0, NDOC, memory[c], pool) == NDOC);
		rp_pool_free(pool);
		size_t len = 0;
		unsigned char *b = only_segment(dir, &len);
		CHECKF(b != NULL, "config %d: not one segment", c);
		if (!b) continue;
		if (!first) {
			first = b, first_len = len;
			continue;
		}
		size_t h = (size_t)b[12] | (size_t)b[13] << 8 | (size_t)b[14] << 16 | (size_t)b[15] << 24;
		CHECKF(len == first_len && h < len, "config %d: %zu bytes, not %zu", c, len, first_len);
		if (len == first_len && h < len) {
			/* the number (88..96) and the header checksum differ */
			memset(b + 88, 0, 8), memset(first + 88, 0, 8);
			memset(b + h - 8, 0, 8), memset(first + h - 8, 0, 8);
			size_t at = 0;
			while (at < len && b[at] == first[at]) at++;
			CHECKF(at == len, "config %d: differs at byte %zu of %zu", c, at, len);
		}
		free(b);
	}
	free(first);
}

/* ---- tombstones, compaction, duplicate ids ---- */

static size_t query_ids(rp_index *ix, rp_pool *pool, int doc, char out[][16], size_t max)
{
	rp_index_doc q = doc_of(doc);
	rp_index_result r;
	rp_error e;
	rp_index_query_opts o;
	rp_index_query_opts_default(&o);
	if (rp_index_query(ix, pool, 1, &q, &o, &r, &e)) return SIZE_MAX;
	size_t n = r.n < max ? r.n : max;
	for (size_t k = 0; k < n; k++) snprintf(out[k], 16, "%s", r.matches[k].id);
	rp_index_results_free(&r, 1);
	return n;
}

static void test_remove_compact_duplicates(void)
{
	const char *dir = fresh_dir("rm");
	rp_index_params ip;
	rp_index_params_default(&ip);
	rp_error e;
	CHECK(rp_index_create(dir, &ip, &e) == 0);
	rp_pool *pool = rp_pool_new(2);
	CHECK(add_range(dir, 0, 300, 8 << 10, pool) == 300);
	CHECK(add_range(dir, 200, NDOC, 8 << 10, pool) == 300); /* 200..299 are skipped */
	rp_index *ix;
	CHECK(rp_index_open(&ix, dir, RP_INDEX_WRITE, &e) == 0);
	/* an add that repeats ids within itself, across its runs */
	rp_index_add *a;
	CHECK(rp_index_add_new(&a, ix, pool, 4 << 10, &e) == 0);
	rp_index_doc d[4] = {{"one two three", 13, "new", 3, 0, 0, 0}, {"four five", 9, "d005", 4, 0, 0, 0},
	                     {"six seven", 9, "new", 3, 0, 0, 0}, {"bad", 3, "bad", 3, 0, 1, 0}};
	for (int i = 0; i < 4; i++) CHECK(rp_index_add_docs(a, 1, &d[i], &e) == 0);
	for (int i = 0; i < 40; i++) CHECK(rp_index_add_docs(a, 1, &d[2], &e) == 0);
	rp_index_add_stats st;
	CHECK(rp_index_add_commit(a, NULL, &st, &e) == 0);
	CHECKF(st.added == 1 && st.skipped == 42 && st.errored == 1, "%llu %llu %llu", (unsigned long long)st.added,
	       (unsigned long long)st.skipped, (unsigned long long)st.errored);
	/* of those, 41 repeats of "new" (in the run and across runs), 1 in the index */
	CHECKF(st.repeated == 41 && st.skipped_default == 0, "%llu %llu", (unsigned long long)st.repeated,
	       (unsigned long long)st.skipped_default);
	rp_index_add_free(a);
	/* a made-up id found in the index is counted apart, given directly or
	 * later by name */
	CHECK(rp_index_add_new(&a, ix, pool, 0, &e) == 0);
	rp_index_doc dd[2] = {{"eight nine", 10, "d006", 4, 0, 0, 1}, {"ten eleven", 10, "d007", 4, 0, 0, 0}};
	CHECK(rp_index_add_docs(a, 2, dd, &e) == 0);
	CHECK(rp_index_add_commit(a, NULL, &st, &e) == 0);
	CHECK(st.added == 0 && st.skipped == 2 && st.repeated == 0 && st.skipped_default == 1);
	rp_index_add_free(a);
	CHECK(rp_index_add_new(&a, ix, pool, 0, &e) == 0);
	dd[0].id = dd[1].id = NULL;
	CHECK(rp_index_add_docs(a, 2, dd, &e) == 0);
	CHECK(rp_index_add_name(a, 0, "d006", 4, RP_ID_DEFAULT, &e) == 0);
	CHECK(rp_index_add_name(a, 1, "d007", 4, RP_ID_DEFAULT, &e) == 0);
	CHECK(rp_index_add_commit(a, NULL, &st, &e) == 0);
	CHECK(st.added == 0 && st.skipped == 2 && st.skipped_default == 2);
	rp_index_add_free(a);
	rp_index_info in;
	rp_index_info_get(ix, &in);
	CHECK(in.docs == NDOC + 1 && in.segments == 3);
	/* the first copy of "new" was kept */
	rp_index_doc nq = {"one two three", 13, NULL, 0, 0, 0, 0};
	rp_index_result r;
	CHECK(rp_index_query(ix, pool, 1, &nq, NULL, &r, &e) == 0);
	CHECK(r.n == 1 && !strcmp(r.matches[0].id, "new") && r.matches[0].jaccard == 1.0);
	rp_index_results_free(&r, 1);

	char got[64][16];
	size_t before = query_ids(ix, pool, 205, got, 64);
	CHECK(before >= 1 && before < 64);
	const char *rm[] = {"d205", "d010", "absent", "d205"};
	size_t rl[] = {4, 4, 6, 4};
	uint64_t removed;
	CHECK(rp_index_remove(ix, 4, rm, rl, &removed, &e) == 0);
	CHECK(removed == 2);
	size_t after = query_ids(ix, pool, 205, got, 64);
	CHECK(after < before);
	for (size_t k = 0; k < after; k++) CHECK(strcmp(got[k], "d205"));
	rp_index_info_get(ix, &in);
	CHECK(in.docs == NDOC - 1 && in.deleted == 2);
	/* a reader sees the tombstones */
	rp_index *rd;
	CHECK(rp_index_open(&rd, dir, RP_INDEX_READ, &e) == 0);
	CHECK(query_ids(rd, pool, 205, got, 64) == after);
	/* compaction: one segment, same answers, removed documents gone */
	static char ans[NDOC][8][16];
	static size_t nans[NDOC];
	for (int i = 0; i < NDOC; i += 7) nans[i] = query_ids(ix, pool, i, ans[i], 8);
	CHECK(rp_index_compact(ix, pool, &e) == 0);
	rp_index_info_get(ix, &in);
	CHECK(in.docs == NDOC - 1 && in.deleted == 0 && in.segments == 1);
	for (int i = 0; i < NDOC; i += 7) {
		char now[8][16];
		size_t n = query_ids(ix, pool, i, now, 8);
		CHECK(n == nans[i]);
		for (size_t k = 0; k < n && k < nans[i]; k++) CHECK(!strcmp(now[k], ans[i][k]));
	}
	/* the reader opened before the compaction still answers from its files */
	CHECK(query_ids(rd, pool, 205, got, 64) == after);
	rp_index_close(rd);
	/* a removed id can be added again */
	rp_index_close(ix);
	CHECK(add_range(dir, 205, 206, 0, pool) == 1);
	CHECK(add_range(dir, 205, 206, 0, pool) == 0);
	rp_pool_free(pool);
}

/* ---- one writer, snapshots for readers ---- */

static void test_lock_and_snapshots(void)
{
	const char *dir = fresh_dir("lock");
	rp_index_params ip;
	rp_index_params_default(&ip);
	rp_error e;
	CHECK(rp_index_create(dir, &ip, &e) == 0);
	rp_pool *pool = rp_pool_new(2);
	CHECK(add_range(dir, 0, 100, 0, pool) == 100);
	rp_index *w1, *w2, *r1, *r2;
	CHECK(rp_index_open(&w1, dir, RP_INDEX_WRITE, &e) == 0);
	CHECK(rp_index_open(&w2, dir, RP_INDEX_WRITE, &e) == RP_ELOCKED);
	CHECK(strstr(e.message, "is locked by another writer") != NULL);
	CHECK(rp_index_open(&r1, dir, RP_INDEX_READ, &e) == 0); /* readers need no lock */
	rp_index_add *a;
	CHECK(rp_index_add_new(&a, w1, pool, 0, &e) == 0);
	rp_index_doc d[50];
	for (int i = 0; i < 50; i++) d[i] = doc_of(100 + i);
	CHECK(rp_index_add_docs(a, 50, d, &e) == 0);
	/* before the commit nobody sees the new documents */
	char got[8][16];
	CHECK(rp_index_open(&r2, dir, RP_INDEX_READ, &e) == 0);
	CHECK(query_ids(r2, pool, 120, got, 8) == 0 || strcmp(got[0], "d120"));
	rp_index_close(r2);
	rp_index_add_stats st;
	CHECK(rp_index_add_commit(a, NULL, &st, &e) == 0 && st.added == 50);
	rp_index_add_free(a);
	size_t n = query_ids(r1, pool, 120, got, 8); /* the old snapshot */
	for (size_t k = 0; k < n; k++) CHECK(strcmp(got[k], "d120"));
	CHECK(rp_index_open(&r2, dir, RP_INDEX_READ, &e) == 0);
	CHECK(query_ids(r2, pool, 120, got, 8) >= 1 && !strcmp(got[0], "d120"));
	rp_index_close(r2);
	rp_index_close(r1);
	rp_index_close(w1);
	CHECK(rp_index_open(&w2, dir, RP_INDEX_WRITE, &e) == 0); /* the lock went with w1 */
	rp_index_close(w2);
	rp_pool_free(pool);
}

/* ---- parameters are fixed ---- */

static void rewrite_manifest(const char *dir, size_t field, uint32_t value)
{
	char path[600];
	snprintf(path, sizeof path, "%s/MANIFEST", dir);
	long size = file_size(path);
	unsigned char *b = malloc((size_t)size);
	FILE *f = fopen(path, "r+b");
	CHECK(f && fread(b, 1, (size_t)size, f) == (size_t)size);
	memcpy(b + field, &value, 4); /* little-endian hosts */
	uint64_t c = XXH64(b, (size_t)size - 8, 0);
	memcpy(b + size - 8, &c, 8);
	rewind(f);
	CHECK(fwrite(b, 1, (size_t)size, f) == (size_t)size);
	fclose(f);
	free(b);
}

static void test_parameters_refused(void)
{
	const char *dir = build_small("params", 0);
	rp_index *ix;
	rp_error e;
	CHECK(rp_index_open(&ix, dir, RP_INDEX_READ, &e) == 0);
	rp_params p;
	rp_params_default(&p);
	CHECK(rp_index_check_params(ix, &p, &e) == 0);
	p.threshold = 0.9;
	CHECK(rp_index_check_params(ix, &p, &e) == RP_EUSAGE && strstr(e.message, "--threshold 0.8, not 0.9"));
	rp_params_default(&p);
	p.ngram = 3;
	CHECK(rp_index_check_params(ix, &p, &e) == RP_EUSAGE);
	rp_index_close(ix);
	/* another normalisation version: refused */
	rewrite_manifest(dir, 16, RP_NORM_VERSION + 1);
	CHECK(rp_index_open(&ix, dir, RP_INDEX_READ, &e) == RP_EDATA && strstr(e.message, "normalisation version"));
	/* a segment whose parameters differ from the manifest's */
	rewrite_manifest(dir, 16, RP_NORM_VERSION);
	rewrite_manifest(dir, 20, 4); /* ngram 4 in the manifest only */
	CHECK(rp_index_open(&ix, dir, RP_INDEX_READ, &e) == RP_EDATA);
	CHECK(strstr(e.message, "n-gram length differs") && strstr(e.file, "seg-"));
	rp_index_params ip;
	rp_index_params_default(&ip);
	ip.sig_bits = 3;
	CHECK(rp_index_create(fresh_dir("bad"), &ip, &e) == RP_EUSAGE);
	rp_index_params_default(&ip);
	CHECK(rp_index_create(dir, &ip, &e) == RP_EUSAGE); /* not empty */
}

/* ---- passages, token-less documents, containment ---- */

static void test_passages_empty_containment(void)
{
	const char *dir = build_small("pass", 1);
	rp_index *ix;
	rp_error e;
	CHECK(rp_index_open(&ix, dir, RP_INDEX_READ, &e) == 0);
	rp_pool *pool = rp_pool_new(2);
	/* a query made of a stored document's first 200 words and other text:
	 * the longest of the stored ones */
	int best = 3;
	size_t best_words = 0;
	for (int i = 3; i < 12; i++) {
		size_t w = 0;
		for (const char *c = docs[i * 37]; *c; c++) w += *c == ' ';
		if (w > best_words) best_words = w, best = i;
	}
	CHECK(best_words >= 300);
	char best_id[16];
	snprintf(best_id, sizeof best_id, "s%d", best);
	const char *src = docs[best * 37];
	size_t cut = 0;
	for (int w = 0; w < 200 && src[cut]; cut++) w += src[cut] == ' ';
	char *q = malloc(cut + 4096);
	memcpy(q, src, cut);
	size_t ql = cut;
	for (int w = 0; w < 60; w++) ql += (size_t)sprintf(q + ql, "other%d ", w);
	rp_index_doc qd[4] = {{q, ql, NULL, 0, 0, 0, 0}, {"...", 3, NULL, 0, 0, 0, 0}, {"", 0, NULL, 0, 0, 0, 0},
	                      {"!!!", 3, NULL, 0, 0, 0, 0}};
	rp_index_query_opts o;
	rp_index_query_opts_default(&o);
	o.passages = 1;
	rp_index_result r[4];
	CHECK(rp_index_query(ix, pool, 4, qd, &o, r, &e) == 0);
	CHECK(r[0].n == 1 && !strcmp(r[0].matches[0].id, best_id));
	if (r[0].n == 1) {
		const rp_index_match *m = &r[0].matches[0];
		CHECKF(m->a_in_b > 0.6 && m->jaccard < 0.8, "a_in_b %g jaccard %g", m->a_in_b, m->jaccard);
		CHECK(m->npassages == 1);
		if (m->npassages == 1) {
			const rp_passage *ps = &m->passages[0];
			CHECK(ps->a_byte_start == 0 && ps->b_byte_start == 0 && ps->a_byte_end == ps->b_byte_end);
			CHECK(ps->a_byte_end >= cut / 2 && ps->a_byte_end <= cut && !memcmp(q, src, ps->a_byte_end));
		}
	}
	/* token-less documents match identical bytes only */
	CHECK(r[1].n == 1 && !strcmp(r[1].matches[0].id, "s1") && r[1].matches[0].jaccard == 1.0);
	CHECK(r[2].n == 1 && !strcmp(r[2].matches[0].id, "s0"));
	CHECK(r[3].n == 0);
	rp_index_results_free(r, 4);
	/* the id flagged as a JSON number comes back flagged */
	rp_index_doc n5 = {docs[5 * 37], lens[5 * 37], NULL, 0, 0, 0, 0};
	CHECK(rp_index_query(ix, pool, 1, &n5, NULL, r, &e) == 0);
	CHECK(r[0].n >= 1 && r[0].matches[0].id_is_number && !strcmp(r[0].matches[0].id, "s5"));
	rp_index_results_free(r, 1);
	/* with containment off, the partial copy is not reported */
	o.containment = 2;
	CHECK(rp_index_query(ix, pool, 1, qd, &o, r, &e) == 0);
	CHECK(r[0].n == 0);
	rp_index_results_free(r, 1);
	free(q);
	rp_index_close(ix);
	rp_pool_free(pool);
}

/* ---- allocation failure everywhere ---- */

static _Atomic long countdown = -1;
static void *fail_malloc(void *ctx, size_t n)
{
	(void)ctx;
	return atomic_fetch_sub(&countdown, 1) == 0 ? NULL : malloc(n);
}
static void *fail_realloc(void *ctx, void *p, size_t n)
{
	(void)ctx;
	return atomic_fetch_sub(&countdown, 1) == 0 ? NULL : realloc(p, n);
}
static void fail_free(void *ctx, void *p) { (void)ctx; free(p); }

/* One writer session: add (two runs, merged), query, remove, compact. */
static int session(const char *dir, rp_pool *pool)
{
	rp_index *ix = NULL;
	rp_index_add *a = NULL;
	rp_error e;
	rp_index_result r[3];
	int rc = rp_index_open(&ix, dir, RP_INDEX_WRITE, &e);
	if (rc) return rc;
	rp_index_doc d[30];
	for (int i = 0; i < 30; i++) d[i] = doc_of(200 + i);
	rp_index_add_stats st;
	if ((rc = rp_index_add_new(&a, ix, pool, 4 << 10, &e))) goto out;
	if ((rc = rp_index_add_docs(a, 15, d, &e)) || (rc = rp_index_add_docs(a, 15, d + 15, &e))) goto out;
	if ((rc = rp_index_add_commit(a, NULL, &st, &e))) goto out;
	if ((rc = rp_index_query(ix, pool, 3, d, NULL, r, &e))) goto out;
	int ok = r[0].n >= 1;
	rp_index_results_free(r, 3);
	if (!ok) { rc = 99; goto out; }
	const char *rm[] = {"d201"};
	size_t rl[] = {4};
	uint64_t removed;
	if ((rc = rp_index_remove(ix, 1, rm, rl, &removed, &e))) goto out;
	if ((rc = rp_index_compact(ix, pool, &e))) goto out;
out:
	if (rc && rc != 99 && e.code != rc) rc = 98; /* the error must be filled */
	rp_index_add_free(a);
	rp_index_close(ix);
	return rc;
}

static void test_allocation_failures(void)
{
	char dir0[600], dir[600];
	snprintf(dir0, sizeof dir0, "%s", fresh_dir("alloc0"));
	snprintf(dir, sizeof dir, "%s", fresh_dir("alloc"));
	rp_index_params ip;
	rp_index_params_default(&ip);
	rp_error e;
	CHECK(rp_index_create(dir0, &ip, &e) == 0);
	rp_pool *pool = rp_pool_new(2);
	CHECK(add_range(dir0, 0, 20, 0, pool) == 20);
	rp_allocator fa = {fail_malloc, fail_realloc, fail_free, NULL};
	long failures = 0, n;
	for (n = 0;; n += 1 + n / 40) {
		CHECK(copy_dir(dir0, dir) == 0);
		rp_alloc_set(&fa);
		countdown = n;
		int rc = session(dir, pool);
		countdown = -1;
		rp_alloc_set(NULL);
		CHECKF(rc != 98 && rc != 99, "allocation %ld: rc %d", n, rc);
		/* whatever failed, the index opens and holds the old or the new documents */
		rp_index *ix;
		int orc = rp_index_open(&ix, dir, RP_INDEX_READ, &e);
		CHECKF(orc == 0, "after failure %ld: %s", n, e.message);
		if (orc) break;
		rp_index_info in;
		rp_index_info_get(ix, &in);
		CHECK(in.docs == 20 || in.docs == 50 || in.docs == 49);
		rp_index_close(ix);
		if (rc == 0) break;
		failures++;
	}
	printf("# %ld allocation failure points tried, %ld allocations in the session\n", failures, n);
	CHECK(failures > 50);
	rp_pool_free(pool);
}

int main(void)
{
	/* on tmpfs when there is one: the test fsyncs hundreds of times */
	const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(base, sizeof base, "%s/reprint-t_index-XXXXXX", tmp);
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 1;
	}
	make_corpus();
	RUN(test_equivalence_sig32);
	RUN(test_equivalence_sig8);
	RUN(test_every_flipped_byte);
	RUN(test_same_segment_any_threads_runs);
	RUN(test_remove_compact_duplicates);
	RUN(test_lock_and_snapshots);
	RUN(test_parameters_refused);
	RUN(test_passages_empty_containment);
	RUN(test_allocation_failures);
	for (int i = 0; i < NDOC; i++) free(docs[i]);
	rmrf(base);
	TEST_END();
}
