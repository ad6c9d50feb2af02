/* dedup.c — near-duplicate clusters: sketch, candidates, verify, cluster.
 *
 * rp_dedup_add() tokenises, shingles and sketches batches of documents on the
 * pool, keeping per document only a fixed-size record (the low 16 bits of
 * each signature value, 48 bits of each band key, length, flags).
 * rp_dedup_finish() then, band by band, drops the keys no other key of the
 * band can equal (a two-bit-set filter on their top bits), radix-sorts the
 * remaining (key, seq) pairs and walks each
 * bucket of equal keys in seq order: a member is verified against the
 * members of each other component in the bucket until one passes, and only a pair whose Jaccard passes the
 * threshold may join two clusters in the union-find.  The clusters are the
 * connected components of the graph of verified candidate pairs.  The Jaccard is estimated from the whole
 * signature; in RP_VERIFY_AUTO mode an estimate within 3 standard errors of
 * the threshold is replaced by the exact Jaccard of the two shingle sets,
 * which rp_dedup_add spills to an unlinked temporary file (32 bits of each
 * shingle hash, 4 bytes per shingle on disk, 12 bytes per document in
 * memory), or which a caller's fetch function (rp_dedup_set_fetch) gives
 * back as texts to tokenise again (4 bytes per document).  Documents with no
 * token match each other only when their bytes are identical.  The
 * representative is the lowest seq of a cluster (or the longest text, ties to
 * the lowest seq).  Everything after sketching runs
 * in a fixed order, so the result does not depend on the number of threads. */
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xxhash.h>
#include "internal.h"

enum { DOC_BAD = 1, DOC_EMPTY = 2 };

/* A document's band keys are computed while its signature is in cache and
 * kept, 48 bits of each (6 bytes a band: 108 a document at the default 18
 * bands), in chunks of BK_CHUNK documents: the top 32 bits in one array, the
 * next 16 in another.  Two documents share a bucket when their keys agree on
 * those 48 bits; a pair that agrees by chance (2^-48 a band) is only one more
 * candidate to verify. */
enum { BK_CHUNK = 4096 };
/* Bands BK_STRIDE apart in a chunk: 16 KB apart, the slots one document
 * writes would all fall in one cache set (5 ms more on scaled 100 MB); the
 * 16-bit halves BK_STRIDE16 apart for the same reason. */
enum { BK_STRIDE = BK_CHUNK + 16, BK_STRIDE16 = BK_CHUNK + 32 };

typedef struct {
	rp_tokens tok;
	uint32_t sig[RP_MAX_PERM]; /* the signature being made, all 32 bits */
	uint32_t *spill32;     /* shingles waiting to be spilled, spill_used of them */
	size_t spill32_cap, spill_used;
	uint32_t *pend;        /* the documents they belong to */
	size_t pend_n, pend_cap;
	size_t keep_used, keep_pend; /* what was buffered before this batch: kept if the batch fails */
	char pad[64]; /* workers write here constantly: keep them off each other's cache lines */
} worker;

typedef struct { uint64_t key; uint64_t seq; } keyed;

/* Exact results already computed, shared by the verifiers, by pair
 * (a << 32 | b, a < b; key 0: a free slot): a pair rejected in one band is
 * checked again in every other band it shares (45% of the exact checks on the
 * scaled corpora were repeats, and a cache per thread missed a third of them
 * at -j2).  Threads insert without locks: a slot's key is taken by a
 * compare-and-swap, then its value stored; a reader that finds the key before
 * the value takes it as missing.  The table grows only between rounds of
 * bands, when no thread uses it (cache_grow); within a round, once half
 * full, it keeps no more. */
typedef struct {
	_Atomic uint64_t *key;
	_Atomic uint64_t *val; /* the bits of a double; CACHE_UNSET until stored */
	size_t cap;
	_Atomic size_t n;
} pair_cache;

/* One thread's exact checks: two shingle sets read back and hashed, the
 * first kept while the same exemplar is compared with many others. */
typedef struct {
	rp_hset a, b;
	int64_t a_doc, b_doc;
	uint32_t *raw;     /* a document's shingles as read back */
	size_t raw_cap;
	/* fetch mode: the text's tokens and shingles, and the first error */
	rp_tokens tok;
	uint32_t sig[RP_MAX_PERM];
	int failed;
	rp_error err;
	char pad[64];
} verifier;

struct rp_dedup {
	rp_params p;
	rp_pool *pool;
	int nworkers;
	worker *workers;
	size_t n, cap;
	/* n x K: the low 16 bits of each signature value.  Two different
	 * values agree on them with probability 2^-16, which adds (1 - J) /
	 * 65536 to the expected estimate of J, against a standard error of 0.035
	 * at J = 0.8 and K = 128 (densification copies values into empty bins,
	 * so on a document of a few shingles one such agreement can count in
	 * several positions: rare, and the expectation is the same); half the
	 * memory of 32 bits, and the pages faulted in for 28 MB of signatures
	 * cost 8% of the time on scaled 100 MB. */
	uint16_t *sig;
	uint8_t *flags;     /* DOC_* */
	uint64_t *len;      /* text bytes */
	uint64_t *content;  /* hash of the bytes of a token-less document */
	/* the band keys: chunks that never move, band-major inside, so that the
	 * top 32 bits of document seq's key in band b are
	 * bk[seq / BK_CHUNK][b * BK_STRIDE + seq % BK_CHUNK] and the next 16
	 * bk16[seq / BK_CHUNK][b * BK_STRIDE16 + seq % BK_CHUNK] (0 where flags
	 * are set) */
	uint32_t **bk;
	uint16_t **bk16;
	size_t nbk, bk_cap, bk16_cap;
	/* spilled shingles (AUTO and EXACT): document i's are at spill_at[i],
	 * spill_n[i] values, unsorted; or with a fetch function, no spill file
	 * and spill_n[i] the count a text fetched again must have */
	rp_dedup_fetch_fn fetch;
	void *fetch_ctx;
	int spill_fd;
	_Atomic uint64_t spill_end;
	uint64_t *spill_at;
	uint32_t *spill_n;
	verifier *ver;           /* one per worker */
	pair_cache cache;
	rp_probes *probes;       /* densification probes for p.num_perm and p.seed */
	double margin;           /* AUTO: 3 standard errors at the threshold */
	/* results */
	uint32_t *parent;
	uint32_t *rep;
	float *similarity;
	uint64_t *pair_a, *pair_b;
	double *pair_j;
	size_t npairs, pairs_cap;
	int finished;
};

double rp_verify_margin(const rp_params *p)
{
	return 3.0 * sqrt(p->threshold * (1.0 - p->threshold) / p->num_perm) + 1.0 / p->num_perm;
}

rp_status rp_sketch_text(const char *text, size_t len, const rp_params *p, rp_tokens *scratch, uint32_t *sig,
                         size_t *nshingles, uint64_t *content, rp_error *err)
{
	int rc = rp_tokenize(text, len, p->char_shingles, p->seed, scratch, err);
	if (rc) return rc;
	uint64_t *sh = rp_malloc_array(scratch->n ? scratch->n : 1, sizeof *sh);
	if (!sh) return rp_set_error(err, RP_ENOMEM, "out of memory");
	size_t ns = rp_shingles(scratch->hash, scratch->n, p->ngram, sh);
	rp_sketch(sh, ns, p->num_perm, p->seed, sig);
	rp_free(sh);
	*nshingles = ns;
	*content = ns ? 0 : XXH3_64bits_withSeed(text, len, p->seed);
	return 0;
}

/* Sorted distinct low 32 bits of a text's shingle hashes, widened: the set
 * rp_dedup's exact checks compare (it spills 32 bits per shingle). */
static int text_set32(const char *text, size_t len, const rp_params *p, rp_tokens *t, uint64_t **set, size_t *n,
                      rp_error *err)
{
	int rc = rp_tokenize(text, len, p->char_shingles, p->seed, t, err);
	if (rc) return rc;
	*set = rp_malloc_array(t->n ? t->n : 1, sizeof **set);
	if (!*set) return rp_set_error(err, RP_ENOMEM, "out of memory");
	size_t m = rp_shingles(t->hash, t->n, p->ngram, *set);
	for (size_t i = 0; i < m; i++) (*set)[i] = (uint32_t)(*set)[i];
	*n = rp_sort_unique_u64(*set, m);
	if (*n == SIZE_MAX) return rp_set_error(err, RP_ENOMEM, "out of memory");
	return 0;
}

rp_status rp_text_jaccard(const char *a, size_t alen, const char *b, size_t blen, const rp_params *p, double *j,
                          rp_error *err)
{
	rp_tokens t = {0};
	uint64_t *sa = NULL, *sb = NULL;
	size_t na = 0, nb = 0;
	int rc = text_set32(a, alen, p, &t, &sa, &na, err);
	if (!rc) rc = text_set32(b, blen, p, &t, &sb, &nb, err);
	if (!rc) *j = rp_set_jaccard(sa, na, sb, nb);
	rp_tokens_free(&t);
	rp_free(sa);
	rp_free(sb);
	return rc;
}

rp_status rp_dedup_new(rp_dedup **out, const rp_params *p, rp_pool *pool, rp_error *err)
{
	*out = NULL;
	rp_params q = *p;
	rp_status rc = rp_params_resolve(&q, err);
	if (rc) return rc;
	rp_dedup *d = rp_malloc(sizeof *d);
	if (!d) return rp_set_error(err, RP_ENOMEM, "out of memory");
	memset(d, 0, sizeof *d);
	d->p = q;
	d->pool = pool;
	d->spill_fd = -1;
	d->nworkers = rp_pool_size(pool);
	d->workers = rp_malloc_array((size_t)d->nworkers, sizeof *d->workers);
	d->ver = rp_malloc_array((size_t)d->nworkers, sizeof *d->ver);
	d->probes = rp_malloc(sizeof *d->probes);
	if (!d->workers || !d->ver || !d->probes) {
		d->nworkers = 0; /* nothing in them to free */
		rp_dedup_free(d);
		return rp_set_error(err, RP_ENOMEM, "out of memory");
	}
	memset(d->workers, 0, (size_t)d->nworkers * sizeof *d->workers);
	memset(d->ver, 0, (size_t)d->nworkers * sizeof *d->ver);
	for (int w = 0; w < d->nworkers; w++) d->ver[w].a_doc = d->ver[w].b_doc = -1;
	rp_probes_init(d->probes, q.num_perm, q.seed);
	d->margin = rp_verify_margin(&q);
	*out = d;
	return RP_OK;
}

rp_status rp_dedup_set_fetch(rp_dedup *d, rp_dedup_fetch_fn fn, void *ctx, rp_error *err)
{
	if (d->cap) return rp_set_error(err, RP_EUSAGE, "rp_dedup_set_fetch after rp_dedup_add");
	if (!fn || d->p.verify == RP_VERIFY_ESTIMATE) return RP_OK; /* nothing is ever fetched */
	d->fetch = fn;
	d->fetch_ctx = ctx;
	return RP_OK;
}

static int grow_docs(rp_dedup *d, size_t need)
{
	if (need <= d->cap) return 0;
	size_t cap = d->cap ? d->cap : 1024;
	while (cap < need) cap *= 2;
	const size_t K = (size_t)d->p.num_perm;
	void *q;
	if (!(q = rp_realloc_array(d->sig, cap, K * sizeof *d->sig))) return RP_ENOMEM;
	d->sig = q;
	if (!(q = rp_realloc_array(d->flags, cap, 1))) return RP_ENOMEM;
	d->flags = q;
	if (!(q = rp_realloc_array(d->len, cap, sizeof *d->len))) return RP_ENOMEM;
	d->len = q;
	if (!(q = rp_realloc_array(d->content, cap, sizeof *d->content))) return RP_ENOMEM;
	d->content = q;
	if (d->spill_fd >= 0) {
		if (!(q = rp_realloc_array(d->spill_at, cap, sizeof *d->spill_at))) return RP_ENOMEM;
		d->spill_at = q;
	}
	if (d->spill_fd >= 0 || d->fetch) {
		if (!(q = rp_realloc_array(d->spill_n, cap, sizeof *d->spill_n))) return RP_ENOMEM;
		d->spill_n = q;
	}
	d->cap = cap;
	return 0;
}

/* Fault in the pages of [p, p + bytes) with one call: the signatures of a
 * batch are 256 bytes a document of fresh memory, and a page fault per 4 KB
 * cost more than zeroing them (8% of the CPU time on scaled 100 MB).  Advice
 * only: a kernel without MADV_POPULATE_WRITE (before 5.14) refuses it and
 * the pages fault in one by one. */
static void prefault(void *p, size_t bytes)
{
#ifdef MADV_POPULATE_WRITE
	/* asked every time (a read of the auxiliary vector): a static cache of
	 * it, filled by whichever thread came first, was a data race */
	long ps = sysconf(_SC_PAGESIZE);
	const uintptr_t page = ps > 0 ? (uintptr_t)ps : 4096;
	if (bytes < 2 * page) return;
	uintptr_t a = (uintptr_t)p & ~(page - 1), e = ((uintptr_t)p + bytes + page - 1) & ~(page - 1);
	madvise((void *)a, e - a, MADV_POPULATE_WRITE);
#else
	(void)p, (void)bytes;
#endif
}

/* Chunks of band keys for documents up to need (faulted in by the batch's
 * job: add_item). */
static int grow_bkeys(rp_dedup *d, size_t need)
{
	const size_t bands = (size_t)d->p.bands;
	while (d->nbk * BK_CHUNK < need) {
		if (rp_grow((void **)&d->bk, &d->bk_cap, d->nbk + 1, sizeof *d->bk)
		    || rp_grow((void **)&d->bk16, &d->bk16_cap, d->nbk + 1, sizeof *d->bk16))
			return RP_ENOMEM;
		uint32_t *top = rp_malloc_array(bands * BK_STRIDE, sizeof *top);
		uint16_t *next = rp_malloc_array(bands * BK_STRIDE16, sizeof *next);
		if (!top || !next) {
			rp_free(top);
			rp_free(next);
			return RP_ENOMEM;
		}
		d->bk[d->nbk] = top;
		d->bk16[d->nbk++] = next;
	}
	return 0;
}

/* Keep document seq's band keys, hashed from its signature sig (all 32 bits
 * of each value; NULL where flags are set) while it is in cache, and the low
 * 16 bits of the signature. */
static void keep_sketch(rp_dedup *d, size_t seq, const uint32_t *sig)
{
	const int bands = d->p.bands, K = d->p.num_perm;
	uint64_t key[RP_MAX_PERM];
	uint16_t *low = d->sig + seq * (size_t)K;
	if (sig) {
		rp_band_keys(sig, bands, d->p.rows, key);
		rp_sig_low16(sig, K, low);
	} else {
		memset(key, 0, (size_t)bands * sizeof *key);
		for (int k = 0; k < K; k++) low[k] = (uint16_t)RP_SIG_EMPTY;
	}
	uint32_t *top = d->bk[seq / BK_CHUNK] + seq % BK_CHUNK;
	uint16_t *next = d->bk16[seq / BK_CHUNK] + seq % BK_CHUNK;
	for (int b = 0; b < bands; b++) {
		top[(size_t)b * BK_STRIDE] = (uint32_t)(key[b] >> 32);
		next[(size_t)b * BK_STRIDE16] = (uint16_t)(key[b] >> 16);
	}
}

typedef struct {
	rp_dedup *d;
	size_t base, n;
	const char *const *texts;
	const size_t *lens;
	const int *bad;
	int *status;
	rp_error *errs; /* one per worker: the error of its lowest failing item */
	size_t *err_item;
	size_t chunk0, chunk1; /* the band key chunks made for this batch */
} add_job;

enum { SPILL_FLUSH = 1 << 20 };

/* Write a worker's buffered shingles and make its documents' offsets absolute. */
static int flush_spill(rp_dedup *d, worker *w, rp_error *err)
{
	uint64_t bytes = w->spill_used * sizeof *w->spill32;
	if (!bytes) return 0;
	uint64_t at = atomic_fetch_add(&d->spill_end, bytes);
	if (rp_pwrite_all(d->spill_fd, w->spill32, bytes, at))
		return rp_set_error(err, RP_EIO, "cannot write the temporary shingle file: %s", strerror(errno));
	for (size_t i = 0; i < w->pend_n; i++) d->spill_at[w->pend[i]] += at;
	w->spill_used = w->pend_n = 0;
	w->keep_used = w->keep_pend = 0; /* the earlier batches' shingles are in the file now */
	return 0;
}

static void no_spill(rp_dedup *d, size_t seq)
{
	if (d->spill_n) d->spill_n[seq] = 0;
	if (d->spill_at) d->spill_at[seq] = 0;
}

static int sketch_one(rp_dedup *d, worker *w, size_t seq, const char *text, size_t len, rp_error *err)
{
	const rp_params *p = &d->p;
	uint32_t *sig = w->sig;
	d->len[seq] = len;
	d->content[seq] = 0;
	d->flags[seq] = 0;
	no_spill(d, seq);
	int rc = rp_tokenize(text, len, p->char_shingles, p->seed, &w->tok, err);
	if (rc) return rc;
	size_t ns = rp_shingle_count(w->tok.n, p->ngram);
	uint32_t *low32 = NULL;
	if (d->spill_n && ns > UINT32_MAX) return rp_set_error(err, RP_EDATA, "more than 2^32 shingles in one document");
	if (d->spill_fd >= 0 && ns) {
		/* 32 bits of each shingle hash: half the disk traffic; two distinct
		 * shingles of a pair collide with probability 2^-32.  They are
		 * buffered per worker and written SPILL_FLUSH bytes at a time: one
		 * pwrite per document cost more system time than the sketching. */
		if (rp_grow((void **)&w->spill32, &w->spill32_cap, w->spill_used + ns, sizeof *w->spill32) ||
		    rp_grow((void **)&w->pend, &w->pend_cap, w->pend_n + 1, sizeof *w->pend))
			return rp_set_error(err, RP_ENOMEM, "out of memory");
		low32 = w->spill32 + w->spill_used;
	}
	rp_sketch_tokens(w->tok.hash, w->tok.n, p->ngram, p->num_perm, p->seed, sig, low32, d->probes);
	if (d->fetch) d->spill_n[seq] = (uint32_t)ns;
	if (ns == 0) {
		d->flags[seq] = DOC_EMPTY;
		d->content[seq] = XXH3_64bits_withSeed(text, len, p->seed);
	}
	keep_sketch(d, seq, d->flags[seq] ? NULL : sig);
	if (low32) {
		d->spill_at[seq] = w->spill_used * sizeof *w->spill32; /* relative until flushed */
		d->spill_n[seq] = (uint32_t)ns;
		w->spill_used += ns;
		w->pend[w->pend_n++] = (uint32_t)seq;
		if (w->spill_used * sizeof *w->spill32 >= SPILL_FLUSH) return flush_spill(d, w, err);
	}
	return 0;
}

/* The batch's signatures and new band key chunks are faulted in by the first
 * PREFAULT_PIECES items of its job, on the pool (the first thread to start
 * takes them while the caller may still be reading the next batch), not
 * before it: 440 KB of keys every 4,096 documents had the other threads wait
 * 0.2-0.4 ms.  All chunks but the first (a small run touches a few pages of
 * it). */
enum { PREFAULT_PIECES = 4 };

static void prefault_piece(void *p, size_t bytes, size_t i)
{
	size_t lo = bytes * i / PREFAULT_PIECES, hi = bytes * (i + 1) / PREFAULT_PIECES;
	prefault((char *)p + lo, hi - lo);
}

static void add_item(void *v, size_t i, int wid)
{
	add_job *j = v;
	rp_dedup *d = j->d;
	if (i < PREFAULT_PIECES) {
		const size_t K = (size_t)d->p.num_perm, n = j->n, lo = n * i / PREFAULT_PIECES,
		             hi = n * (i + 1) / PREFAULT_PIECES;
		prefault(d->sig + (j->base + lo) * K, (hi - lo) * K * sizeof *d->sig);
		for (size_t c = j->chunk0 ? j->chunk0 : 1; c < j->chunk1; c++) {
			prefault_piece(d->bk[c], (size_t)d->p.bands * BK_STRIDE * sizeof **d->bk, i);
			prefault_piece(d->bk16[c], (size_t)d->p.bands * BK_STRIDE16 * sizeof **d->bk16, i);
		}
		return;
	}
	i -= PREFAULT_PIECES;
	size_t seq = j->base + i;
	if (j->bad && j->bad[i]) {
		d->flags[seq] = DOC_BAD;
		keep_sketch(d, seq, NULL);
		d->len[seq] = 0;
		d->content[seq] = 0;
		no_spill(d, seq);
		j->status[i] = 0;
		return;
	}
	rp_error e;
	j->status[i] = sketch_one(d, &d->workers[wid], seq, j->texts[i], j->lens[i], &e);
	if (j->status[i] && i < j->err_item[wid]) {
		j->err_item[wid] = i;
		j->errs[wid] = e;
	}
}

rp_status rp_dedup_add(rp_dedup *d, size_t n, const char *const *texts, const size_t *lens,
                       const int *bad, rp_error *err)
{
	if (d->finished) return rp_set_error(err, RP_EUSAGE, "rp_dedup_add after rp_dedup_finish");
	if (d->n + n > UINT32_MAX - 1) return rp_set_error(err, RP_EUSAGE, "more than 4294967294 documents");
	/* The spill file, made on the first add unless the texts are fetched. */
	if (!d->cap && d->p.verify != RP_VERIFY_ESTIMATE && !d->fetch && d->spill_fd < 0
	    && (d->spill_fd = rp_spill_open(d->p.tmpdir, "shingles", err)) < 0)
		return err ? err->code : RP_EIO;
	if (grow_docs(d, d->n + n)) return rp_set_error(err, RP_ENOMEM, "out of memory");
	size_t chunk0 = d->nbk;
	if (grow_bkeys(d, d->n + n)) return rp_set_error(err, RP_ENOMEM, "out of memory");
	add_job j = {d, d->n, n, texts, lens, bad, NULL, NULL, NULL, chunk0, d->nbk};
	j.status = rp_malloc_array(n ? n : 1, sizeof *j.status);
	j.errs = rp_malloc_array((size_t)d->nworkers, sizeof *j.errs);
	j.err_item = rp_malloc_array((size_t)d->nworkers, sizeof *j.err_item);
	rp_status rc = RP_OK;
	if (!j.status || !j.errs || !j.err_item) {
		rc = rp_set_error(err, RP_ENOMEM, "out of memory");
		goto out;
	}
	for (int w = 0; w < d->nworkers; w++) {
		j.err_item[w] = SIZE_MAX;
		d->workers[w].keep_used = d->workers[w].spill_used;
		d->workers[w].keep_pend = d->workers[w].pend_n;
	}
	rp_pool_run(d->pool, n + PREFAULT_PIECES, add_item, &j);
	/* Report the failure of the lowest index, whichever worker met it. */
	size_t first = SIZE_MAX;
	int fw = -1;
	for (int w = 0; w < d->nworkers; w++)
		if (j.err_item[w] < first) first = j.err_item[w], fw = w;
	if (fw >= 0) {
		if (err) *err = j.errs[fw];
		rc = j.status[first];
		goto out; /* the batch is dropped: d->n stays */
	}
	/* Shingles still buffered stay so until a worker's buffer fills or
	 * rp_dedup_finish: flushing them here would be serial work per batch. */
	d->n += n;
out:
	if (rc) /* whatever the dropped batch buffered goes with it */
		for (int w = 0; w < d->nworkers; w++)
			d->workers[w].spill_used = d->workers[w].keep_used, d->workers[w].pend_n = d->workers[w].keep_pend;
	rp_free(j.status);
	rp_free(j.errs);
	rp_free(j.err_item);
	return rc;
}

/* ---- union-find ---- */
static uint32_t find(uint32_t *parent, uint32_t x)
{
	while (parent[x] != x) {
		parent[x] = parent[parent[x]];
		x = parent[x];
	}
	return x;
}

/* Link the two roots; the lower seq stays the root. */
static void unite(uint32_t *parent, uint32_t a, uint32_t b)
{
	a = find(parent, a);
	b = find(parent, b);
	if (a == b) return;
	if (a < b) parent[b] = a;
	else parent[a] = b;
}

static int add_pair(rp_dedup *d, uint64_t a, uint64_t b, double j)
{
	if (d->npairs == d->pairs_cap) {
		size_t cap = d->pairs_cap ? d->pairs_cap * 2 : 1024;
		void *q;
		if (!(q = rp_realloc_array(d->pair_a, cap, sizeof *d->pair_a))) return RP_ENOMEM;
		d->pair_a = q;
		if (!(q = rp_realloc_array(d->pair_b, cap, sizeof *d->pair_b))) return RP_ENOMEM;
		d->pair_b = q;
		if (!(q = rp_realloc_array(d->pair_j, cap, sizeof *d->pair_j))) return RP_ENOMEM;
		d->pair_j = q;
		d->pairs_cap = cap;
	}
	d->pair_a[d->npairs] = a < b ? a : b;
	d->pair_b[d->npairs] = a < b ? b : a;
	d->pair_j[d->npairs] = j;
	d->npairs++;
	return 0;
}

/* Fail verifier v's check with a message (RP_EIO: the text changed). */
static int fetch_fail(verifier *v, int rc, const char *fmt, unsigned long long doc)
{
	v->failed = 1;
	rp_set_error(&v->err, rc, fmt, doc);
	return rc;
}

/* Fetch document doc's text again and put the low 32 bits of its shingle
 * hashes in raw (room for spill_n[doc] of them).  The text must be the one
 * that was added: the same length and number of shingles, or RP_EIO. */
static int fetch_shingles(rp_dedup *d, verifier *v, int64_t doc, uint32_t *raw)
{
	const char *text;
	size_t len;
	int rc = d->fetch(d->fetch_ctx, (int)(v - d->ver), (uint64_t)doc, &text, &len, &v->err);
	if (rc) {
		v->failed = 1;
		return rc;
	}
	if (len != d->len[doc])
		return fetch_fail(v, RP_EIO, "document %llu changed during the run (its text has another length)",
		                  (unsigned long long)doc);
	if ((rc = rp_tokenize(text, len, d->p.char_shingles, d->p.seed, &v->tok, &v->err))) {
		v->failed = 1;
		return rc;
	}
	/* The shingles come out of the sketch that made them the first time, and
	 * the signature must come out the same (a text changed in place, words
	 * for words of the same length, is caught here). */
	const size_t K = (size_t)d->p.num_perm;
	if (rp_shingle_count(v->tok.n, d->p.ngram) != d->spill_n[doc])
		return fetch_fail(v, RP_EIO, "document %llu changed during the run (its text has other words)",
		                  (unsigned long long)doc);
	rp_sketch_tokens(v->tok.hash, v->tok.n, d->p.ngram, d->p.num_perm, d->p.seed, v->sig, raw, d->probes);
	uint16_t low[RP_MAX_PERM];
	rp_sig_low16(v->sig, (int)K, low);
	if (memcmp(low, d->sig + (size_t)doc * K, K * sizeof *low))
		return fetch_fail(v, RP_EIO, "document %llu changed during the run (its text has other words)",
		                  (unsigned long long)doc);
	return 0;
}

/* Read document doc's shingles back into the set *set: from the spill
 * file, or from the text fetched again. */
static int load_set(rp_dedup *d, verifier *v, int64_t doc, rp_hset *set, int64_t *cached)
{
	if (*cached == doc) return 0;
	*cached = -1;
	size_t m = d->spill_n[doc];
	if (rp_grow((void **)&v->raw, &v->raw_cap, m ? m : 1, sizeof *v->raw)) return RP_ENOMEM;
	if (d->fetch) {
		int rc = fetch_shingles(d, v, doc, v->raw);
		if (rc) return rc;
	} else if (rp_pread_all(d->spill_fd, v->raw, m * 4, d->spill_at[doc])) {
		return RP_EIO;
	}
	if (rp_hset_build(set, v->raw, m)) return RP_ENOMEM;
	*cached = doc;
	return 0;
}

#define CACHE_UNSET UINT64_MAX /* no double's bits: a NaN */
enum { CACHE_MAX = 1 << 19 }; /* pairs remembered: at most 8 MB */

static int cache_get(pair_cache *c, uint64_t key, double *j)
{
	if (!c->cap) return 0;
	for (size_t i = rp_mix64(key) & (c->cap - 1);; i = (i + 1) & (c->cap - 1)) {
		uint64_t k = atomic_load_explicit(&c->key[i], memory_order_acquire);
		if (k == 0) return 0;
		if (k != key) continue;
		uint64_t bits = atomic_load_explicit(&c->val[i], memory_order_acquire);
		if (bits == CACHE_UNSET) return 0;
		memcpy(j, &bits, sizeof *j);
		return 1;
	}
}

/* Remember a result, unless the table is half full. */
static void cache_put(pair_cache *c, uint64_t key, double j)
{
	if (2 * (atomic_load_explicit(&c->n, memory_order_relaxed) + 1) > c->cap) return; /* and when there is none */
	uint64_t bits;
	memcpy(&bits, &j, sizeof bits);
	for (size_t i = rp_mix64(key) & (c->cap - 1);; i = (i + 1) & (c->cap - 1)) {
		uint64_t k = atomic_load_explicit(&c->key[i], memory_order_relaxed);
		if (k == key) return; /* another thread's, of the same value */
		if (k == 0) {
			if (!atomic_compare_exchange_strong_explicit(&c->key[i], &k, key, memory_order_relaxed,
			                                             memory_order_relaxed)) {
				if (k == key) return;
				continue;
			}
			atomic_store_explicit(&c->val[i], bits, memory_order_release);
			atomic_fetch_add_explicit(&c->n, 1, memory_order_relaxed);
			return;
		}
	}
}

/* With no thread using the cache: make room for at least `more` further
 * results (up to CACHE_MAX), rehashing what it holds; 0 or RP_ENOMEM. */
static int cache_grow(pair_cache *c, size_t more)
{
	size_t n = atomic_load(&c->n), cap = c->cap ? c->cap : 1024;
	while (cap < CACHE_MAX && 2 * (n + more) > cap) cap *= 2;
	if (cap == c->cap) return 0;
	_Atomic uint64_t *key = rp_malloc_array(cap, sizeof *key), *val = rp_malloc_array(cap, sizeof *val);
	if (!key || !val) {
		rp_free(key);
		rp_free(val);
		return RP_ENOMEM;
	}
	for (size_t i = 0; i < cap; i++) atomic_init(&key[i], 0), atomic_init(&val[i], CACHE_UNSET);
	pair_cache g = {key, val, cap, 0};
	for (size_t i = 0; i < c->cap; i++) {
		uint64_t k = atomic_load(&c->key[i]), bits = atomic_load(&c->val[i]);
		if (!k || bits == CACHE_UNSET) continue;
		size_t x = rp_mix64(k) & (cap - 1);
		while (atomic_load(&key[x])) x = (x + 1) & (cap - 1);
		atomic_init(&key[x], k);
		atomic_init(&val[x], bits);
		g.n++;
	}
	rp_free(c->key);
	rp_free(c->val);
	*c = g;
	return 0;
}

static int exact_jaccard(rp_dedup *d, verifier *v, size_t a, size_t b, double *j)
{
	int rc;
	uint64_t key = a < b ? (uint64_t)a << 32 | b : (uint64_t)b << 32 | a;
	if (a != b && cache_get(&d->cache, key, j)) return 0;
	/* a is usually the bucket's exemplar, compared with many b: keep it. */
	if ((rc = load_set(d, v, (int64_t)a, &v->a, &v->a_doc))) return rc;
	if ((rc = load_set(d, v, (int64_t)b, &v->b, &v->b_doc))) return rc;
	*j = rp_hset_jaccard(&v->a, &v->b);
	if (a != b) cache_put(&d->cache, key, *j);
	return 0;
}

static double estimate(const rp_dedup *d, size_t a, size_t b)
{
	const size_t K = (size_t)d->p.num_perm;
	return rp_sig16_jaccard(d->sig + a * K, d->sig + b * K, (int)K);
}

/* The Jaccard used to decide a pair, by the verification mode. */
static int verify_pair(rp_dedup *d, verifier *v, size_t a, size_t b, double *j)
{
	double e = estimate(d, a, b);
	if (d->p.verify == RP_VERIFY_ESTIMATE
	    || (d->p.verify == RP_VERIFY_AUTO && fabs(e - d->p.threshold) > d->margin)) {
		*j = e;
		return 0;
	}
	return exact_jaccard(d, v, a, b, j);
}

static int cmp_keyed(const void *a, const void *b)
{
	const keyed *x = a, *y = b;
	if (x->key != y->key) return (x->key > y->key) - (x->key < y->key);
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Sort (key, seq) pairs, given in seq order, by key then seq, in place (tmp:
 * n pairs of scratch, count: 65,536 counters of scratch).  The keys go into
 * about n buckets by their top B bits (8 <= B <= 16): a stable scatter by the
 * top 8 bits into tmp, then one by the top B back into a (each writes through
 * at most 256 cursors at a time, which a single scatter through 65,536
 * cursors, a TLB miss per key on large inputs, does not).  Then each bucket
 * (a key or two on average: band keys are hashes) by a stable insertion sort
 * on the key, or qsort when a bucket is large.  Buckets sized to n, not
 * always 65,536: most bands keep a few thousand keys, and three passes over
 * 65,536 counters had been most of the sort. */
static void sort_keyed(keyed *a, keyed *tmp, size_t n, uint32_t *count)
{
	int B = 8;
	while (B < 16 && ((size_t)1 << B) < n) B++;
	const size_t nb = (size_t)1 << B, per_top = nb >> 8;
	const int shift = 64 - B;
	memset(count, 0, nb * sizeof *count);
	for (size_t i = 0; i < n; i++) count[a[i].key >> shift]++;
	uint32_t top[256], sum = 0;
	for (size_t t = 0; t < 256; t++) {
		uint32_t c = 0;
		for (size_t h = t * per_top; h < (t + 1) * per_top; h++) c += count[h];
		top[t] = sum;
		sum += c;
	}
	sum = 0;
	for (size_t h = 0; h < nb; h++) {
		uint32_t c = count[h];
		count[h] = sum;
		sum += c;
	}
	for (size_t i = 0; i < n; i++) tmp[top[a[i].key >> 56]++] = a[i];
	for (size_t i = 0; i < n; i++) a[count[tmp[i].key >> shift]++] = tmp[i];
	/* count[h] is now the end of bucket h */
	for (size_t h = 0, lo = 0; h < nb; lo = count[h++]) {
		size_t hi = count[h];
		if (hi - lo > 32) {
			qsort(a + lo, hi - lo, sizeof *a, cmp_keyed);
			continue;
		}
		for (size_t x = lo + 1; x < hi; x++) {
			keyed t = a[x];
			size_t y = x;
			for (; y > lo && a[y - 1].key > t.key; y--) a[y] = a[y - 1];
			a[y] = t;
		}
	}
}

typedef struct {
	rp_dedup *d;
	int band0;       /* first band of this round */
	keyed **keys;    /* one array per band of the round */
	keyed **tmp;
	uint32_t **count;
	uint64_t **seen; /* per band: two bit sets of filter_bits bits, "seen" and "seen twice", word by word */
	int filter_shift; /* 64 - log2(filter_bits) */
	size_t *nkeys;
} band_job;

/* The band key filter: h, a key's top bits, into "seen" or, if seen
 * already, "seen twice".  A word of each side by side: one cache line a key. */
static inline void filter_add(uint64_t *seen, uint64_t h)
{
	uint64_t bit = 1ULL << (h & 63), *w = seen + 2 * (h >> 6);
	w[1] |= w[0] & bit;
	w[0] |= bit;
}

static inline uint64_t filter_twice(const uint64_t *seen, uint64_t h)
{
	return seen[2 * (h >> 6) + 1] >> (h & 63) & 1;
}

/* One band's kept keys in one chunk: their top 32 and next 16 bits, the
 * documents' flags, and how many documents. */
typedef struct {
	const uint32_t *top;
	const uint16_t *next;
	const uint8_t *flags;
	size_t len;
} key_chunk;

static inline key_chunk band_chunk(const rp_dedup *d, int band, size_t c)
{
	size_t left = d->n - c * BK_CHUNK;
	return (key_chunk){d->bk[c] + (size_t)band * BK_STRIDE, d->bk16[c] + (size_t)band * BK_STRIDE16,
	                   d->flags + c * BK_CHUNK, left < BK_CHUNK ? left : BK_CHUNK};
}

/* The top 64 - sh bits of the 48 kept of key x, for the filter. */
static inline uint64_t filter_bits(const key_chunk *kc, size_t x, int sh)
{
	return sh >= 32 ? kc->top[x] >> (sh - 32) : ((uint64_t)kc->top[x] << 32 | (uint64_t)kc->next[x] << 16) >> sh;
}

static void band_keys(void *v, size_t i, int wid)
{
	(void)wid;
	band_job *j = v;
	rp_dedup *d = j->d;
	int band = j->band0 + (int)i;
	keyed *k = j->keys[i];
	const size_t n = d->n;
	const int sh = j->filter_shift;
	const size_t words = ((size_t)1 << (64 - sh)) / 64;
	uint64_t *seen = j->seen[i];
	memset(seen, 0, 2 * words * sizeof *seen);
	/* Only keys that may be shared go on to the sort: a key whose top bits
	 * no other key of the band has is a bucket of one, which the walks skip
	 * (most keys: the sort was a third of the finish).  The survivors keep
	 * their order, so the buckets of two or more come out as before.  The
	 * bit sets are megabytes: fetch ahead, or every key waits on memory. */
	enum { AHEAD = 16 };
	size_t kept = 0;
	/* The keys kept from sketching, 4 + 2 bytes a document in a row; the
	 * filter looks at their top halves alone unless it has more than 2^32
	 * bits (over 2^28 documents). */
	for (size_t c = 0; c < d->nbk && c * BK_CHUNK < n; c++) {
		const key_chunk kc = band_chunk(d, band, c);
		for (size_t x = 0; x < kc.len; x++) {
			__builtin_prefetch(seen + 2 * (filter_bits(&kc, x + AHEAD < kc.len ? x + AHEAD : x, sh) >> 6), 1);
			if (!kc.flags[x]) filter_add(seen, filter_bits(&kc, x, sh));
		}
	}
	for (size_t c = 0; c < d->nbk && c * BK_CHUNK < n; c++) {
		const key_chunk kc = band_chunk(d, band, c);
		for (size_t x = 0; x < kc.len; x++) {
			__builtin_prefetch(seen + 2 * (filter_bits(&kc, x + AHEAD < kc.len ? x + AHEAD : x, sh) >> 6) + 1);
			if (kc.flags[x] || !filter_twice(seen, filter_bits(&kc, x, sh))) continue;
			k[kept].seq = c * BK_CHUNK + x;
			k[kept].key = (uint64_t)kc.top[x] << 32 | (uint64_t)kc.next[x] << 16;
			kept++;
		}
	}
	sort_keyed(k, j->tmp[i], kept, j->count[i]);
	j->nkeys[i] = kept;
}

/* Scratch for one bucket: members grouped by the component they are in. */
typedef struct {
	int32_t *next;  /* next member of the same group, -1 at the end */
	int32_t *head, *tail;
	uint32_t *root; /* the group's union-find root, refreshed before use */
	uint8_t *dead;  /* merged into another group */
	size_t cap;
} bucket_groups;

static int groups_reserve(bucket_groups *g, size_t n)
{
	if (n <= g->cap) return 0;
	size_t cap = g->cap ? g->cap : 64;
	while (cap < n) cap *= 2;
	void *q;
	if (!(q = rp_realloc_array(g->next, cap, sizeof *g->next))) return RP_ENOMEM;
	g->next = q;
	if (!(q = rp_realloc_array(g->head, cap, sizeof *g->head))) return RP_ENOMEM;
	g->head = q;
	if (!(q = rp_realloc_array(g->tail, cap, sizeof *g->tail))) return RP_ENOMEM;
	g->tail = q;
	if (!(q = rp_realloc_array(g->root, cap, sizeof *g->root))) return RP_ENOMEM;
	g->root = q;
	if (!(q = rp_realloc_array(g->dead, cap, 1))) return RP_ENOMEM;
	g->dead = q;
	g->cap = cap;
	return 0;
}

/* The root of x without compressing the path: safe while threads share parent. */
static uint32_t find_ro(const uint32_t *parent, uint32_t x)
{
	while (parent[x] != x) x = parent[x];
	return x;
}

/* The first bucket start at or after position p of a sorted band. */
static size_t bucket_start(const keyed *k, size_t m, size_t p)
{
	if (p == 0 || p >= m) return p < m ? p : m;
	while (p < m && k[p].key == k[p - 1].key) p++;
	return p;
}

/* Verification in parallel, before the serial walk of a round's bands: every
 * member of a bucket is checked against the bucket's first member unless the
 * two are already in one component.  pre[x] gets the Jaccard of that pair
 * (-1: not checked).  A verification is a pure function of the pair, so the
 * walk that reuses these values gives the same clusters and pairs as one that
 * computed them itself; most checks the walk needs are of this shape (a
 * bucket of copies of one document).  Work is cut at bucket boundaries into
 * PRE_CHUNKS pieces per band.  Each piece also lists the buckets of two or
 * more, so that the serial walk visits only those (most buckets have one
 * member): two values each, in the band's sort scratch from twice the
 * piece's first key on.
 *
 * With two threads or more, a bucket of at most SPEC_MAX members where some
 * member failed its check against the first is checked further: every pair
 * of later members (y, x), y < x, not already in one component, which is
 * what the walk may need there (a failed member forms a group of its own,
 * that later members are checked against): on the scaled 1.1 GB corpus 23 k
 * checks done in parallel instead of 18.7 k in the walk.  Where the
 * scratch cannot grow, the walk does them itself. */
enum { PRE_CHUNKS = 16, SPEC_MAX = 16 };

typedef struct {
	rp_dedup *d;
	keyed **keys;
	size_t *nkeys;
	double **pre;
	int *rc, *eno; /* per worker: the first failure and its errno */
	uint32_t **multi;  /* per band: (start, 1 + offset in the piece's spec or 0) per bucket */
	uint32_t *nmulti;  /* per band and piece: how many buckets */
	int speculate;     /* check the later pairs of buckets with a failure */
	double **spec;     /* per band and piece: those checks, a triangle per bucket */
	size_t *spec_n, *spec_cap;
} pre_job;

/* Where the check of bucket members y < x (1 <= y, 2 <= x, relative to the
 * bucket's first member) is in its triangle. */
static inline size_t spec_at(size_t y, size_t x)
{
	return (x - 1) * (x - 2) / 2 + (y - 1);
}

/* Piece c's first key in a sorted band of m keys. */
static size_t piece_start(const keyed *k, size_t m, size_t c)
{
	return bucket_start(k, m, m * c / PRE_CHUNKS);
}

static void pre_verify(void *v, size_t i, int wid)
{
	pre_job *j = v;
	rp_dedup *d = j->d;
	const keyed *k = j->keys[i / PRE_CHUNKS];
	size_t m = j->nkeys[i / PRE_CHUNKS], c = i % PRE_CHUNKS;
	double *pre = j->pre[i / PRE_CHUNKS];
	size_t lo = piece_start(k, m, c), end = piece_start(k, m, c + 1);
	uint32_t *multi = j->multi[i / PRE_CHUNKS] + 2 * lo, nmulti = 0;
	const double t = d->p.threshold;
	int rc;
	j->nmulti[i] = 0;
	j->spec_n[i] = 0;
	if (j->rc[wid]) return;
	while (lo < end) {
		size_t hi = lo + 1;
		while (hi < m && k[hi].key == k[lo].key) hi++;
		if (hi - lo >= 2) {
			uint32_t e = (uint32_t)k[lo].seq, root = find_ro(d->parent, e), at = 0;
			int failed = 0;
			for (size_t x = lo + 1; x < hi; x++) {
				pre[x] = -1;
				if (find_ro(d->parent, (uint32_t)k[x].seq) == root) continue;
				if ((rc = verify_pair(d, &d->ver[wid], e, k[x].seq, &pre[x]))) goto fail;
				failed |= pre[x] < t;
			}
			size_t size = hi - lo, np = (size - 1) * (size - 2) / 2;
			if (failed && j->speculate && size >= 3 && size <= SPEC_MAX
			    && !rp_grow((void **)&j->spec[i], &j->spec_cap[i], j->spec_n[i] + np, sizeof **j->spec)) {
				double *tri = j->spec[i] + j->spec_n[i];
				for (size_t x = 2; x < size; x++) {
					uint32_t rx = find_ro(d->parent, (uint32_t)k[lo + x].seq);
					for (size_t y = 1; y < x; y++) {
						double *c = &tri[spec_at(y, x)];
						*c = -1;
						if (find_ro(d->parent, (uint32_t)k[lo + y].seq) == rx) continue;
						if ((rc = verify_pair(d, &d->ver[wid], k[lo + y].seq, k[lo + x].seq, c))) goto fail;
					}
				}
				at = (uint32_t)(j->spec_n[i] + 1);
				j->spec_n[i] += np;
			}
			multi[2 * nmulti] = (uint32_t)lo;
			multi[2 * nmulti + 1] = at;
			nmulti++;
		}
		lo = hi;
	}
	j->nmulti[i] = nmulti;
	return;
fail:
	j->rc[wid] = rc, j->eno[wid] = errno;
}

/* Walk the buckets of two or more of one sorted band, as pre_verify listed
 * them, in key order.  Within a bucket, in seq order, each
 * member is verified against the members of every other component present
 * in the bucket, stopping at the first that passes.  The clusters are then
 * exactly the connected components of the graph of all verified candidate
 * pairs, whatever the order of the work: the same answer the Spark job
 * computes with joins.  A bucket of copies of one document costs one find per
 * member; only a bucket of many unrelated documents costs quadratic time. */
static int join_buckets(rp_dedup *d, const keyed *k, size_t m, const double *pre, const uint32_t *multi,
                        const uint32_t *nmulti, double *const *spec, bucket_groups *g)
{
	const double t = d->p.threshold;
	for (size_t c = 0; c < PRE_CHUNKS; c++) {
		const uint32_t *list = multi + 2 * piece_start(k, m, c);
		for (uint32_t b = 0; b < nmulti[c]; b++) {
			size_t lo = list[2 * b], hi = lo + 1;
			const double *tri = list[2 * b + 1] ? spec[c] + list[2 * b + 1] - 1 : NULL;
			while (hi < m && k[hi].key == k[lo].key) hi++;
			if (groups_reserve(g, hi - lo)) return RP_ENOMEM;
			size_t ngroups = 0;
			for (size_t x = lo; x < hi; x++) {
				uint32_t s = (uint32_t)k[x].seq;
				int32_t mine = -1; /* the group s belongs to */
				for (size_t q = 0; q < ngroups; q++) {
					if (g->dead[q]) continue;
					g->root[q] = find(d->parent, g->root[q]);
					int same = g->root[q] == find(d->parent, s);
					if (!same) {
						for (int32_t y = g->head[q]; y >= 0; y = g->next[y]) {
							uint32_t e = (uint32_t)k[lo + (size_t)y].seq;
							double j;
							if (y == 0 && pre[x] >= 0) {
								j = pre[x]; /* checked in parallel beforehand */
							} else if (y > 0 && tri && tri[spec_at((size_t)y, x - lo)] >= 0) {
								j = tri[spec_at((size_t)y, x - lo)]; /* and this */
							} else {
								int rc = verify_pair(d, &d->ver[0], e, s, &j);
								if (rc) return rc;
							}
							if (j >= t) {
								unite(d->parent, e, s);
								if (add_pair(d, e, s, j)) return RP_ENOMEM;
								same = 1;
								break;
							}
						}
					}
					if (!same) continue;
					if (mine < 0) {
						mine = (int32_t)q;
					} else { /* s joined two groups: append q's members to mine */
						g->next[g->tail[mine]] = g->head[q];
						g->tail[mine] = g->tail[q];
						g->dead[q] = 1;
					}
				}
				int32_t idx = (int32_t)(x - lo);
				g->next[idx] = -1;
				if (mine < 0) {
					mine = (int32_t)ngroups++;
					g->head[mine] = g->tail[mine] = idx;
					g->dead[mine] = 0;
				} else {
					g->next[g->tail[mine]] = idx;
					g->tail[mine] = idx;
				}
				g->root[mine] = find(d->parent, s);
			}
		}
	}
	return 0;
}

/* The walk of one round's bands, in band order (as the pool's side task). */
typedef struct {
	rp_dedup *d;
	keyed **keys;
	size_t *nkeys;
	double **pre;
	uint32_t **multi;
	uint32_t *nmulti;
	double **spec;
	bucket_groups *groups;
	int nb;
	int rc;
} walk_job;

static void walk_round(void *v)
{
	walk_job *w = v;
	for (int r = 0; r < w->nb && !w->rc; r++)
		w->rc = join_buckets(w->d, w->keys[r], w->nkeys[r], w->pre[r], w->multi[r], w->nmulti + r * PRE_CHUNKS,
		                     w->spec + r * PRE_CHUNKS, w->groups);
}

static int cmp_pair_index(const void *a, const void *b, void *v)
{
	const rp_dedup *d = v;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	if (d->pair_a[x] != d->pair_a[y]) return d->pair_a[x] < d->pair_a[y] ? -1 : 1;
	return (d->pair_b[x] > d->pair_b[y]) - (d->pair_b[x] < d->pair_b[y]);
}

static int sort_pairs(rp_dedup *d)
{
	size_t n = d->npairs;
	if (n < 2) return 0;
	size_t *idx = rp_malloc_array(n, sizeof *idx);
	uint64_t *a = rp_malloc_array(n, sizeof *a), *b = rp_malloc_array(n, sizeof *b);
	double *j = rp_malloc_array(n, sizeof *j);
	int rc = 0;
	if (!idx || !a || !b || !j) { rc = RP_ENOMEM; goto out; }
	for (size_t i = 0; i < n; i++) idx[i] = i;
	qsort_r(idx, n, sizeof *idx, cmp_pair_index, d);
	for (size_t i = 0; i < n; i++) a[i] = d->pair_a[idx[i]], b[i] = d->pair_b[idx[i]], j[i] = d->pair_j[idx[i]];
	memcpy(d->pair_a, a, n * sizeof *a);
	memcpy(d->pair_b, b, n * sizeof *b);
	memcpy(d->pair_j, j, n * sizeof *j);
out:
	rp_free(idx); rp_free(a); rp_free(b); rp_free(j);
	return rc;
}

/* Documents [c * SIM_CHUNK, (c + 1) * SIM_CHUNK): the similarity to their
 * representative (rc[c]: the first failure of an exact check, or 0). */
enum { SIM_CHUNK = 4096 };
typedef struct {
	rp_dedup *d;
	int *rc;
} sim_job;

static void similarity_chunk(void *v, size_t c, int wid)
{
	sim_job *s = v;
	rp_dedup *d = s->d;
	size_t lo = c * SIM_CHUNK, hi = lo + SIM_CHUNK < d->n ? lo + SIM_CHUNK : d->n;
	s->rc[c] = 0;
	for (size_t i = lo; i < hi; i++) {
		uint32_t rep = d->rep[d->parent[i]];
		double j = 1.0;
		/* By the rule that decides pairs: under auto, an estimate near the
		 * threshold is replaced by the exact Jaccard (cached when this pair
		 * was verified), so a member never shows a similarity on the other
		 * side of the threshold from the one its verification saw. */
		if (rep != i && d->flags[i] != DOC_EMPTY && (s->rc[c] = verify_pair(d, &d->ver[wid], rep, i, &j))) return;
		d->similarity[i] = (float)j;
	}
}

rp_status rp_dedup_finish(rp_dedup *d, rp_error *err)
{
	if (d->finished) return RP_OK;
	for (int w = 0; w < d->nworkers; w++) {
		rp_status frc = flush_spill(d, &d->workers[w], err);
		if (frc) return frc;
	}
	const size_t n = d->n;
	int rc = 0;
	int round = d->nworkers < d->p.bands ? d->nworkers : d->p.bands;
	/* two sets of a round's band slots, used in turn (the walk of one round
	 * reads its set while the keys of the next are made in the other) */
	keyed *keys[512] = {0}, *tmp[512] = {0};
	uint32_t *count[512] = {0};
	uint64_t *seen[512] = {0};
	/* The band key filter: 16 bits a document or more, a power of two. */
	int filter_log = 12;
	while (filter_log < 40 && ((size_t)1 << filter_log) < 16 * n) filter_log++;
	const size_t filter_words = ((size_t)1 << filter_log) / 64;
	double *pre[256] = {0};
	int *pre_rc = rp_malloc_array((size_t)d->nworkers * 2, sizeof *pre_rc);
	size_t nkeys[512];
	uint32_t nmulti[256 * PRE_CHUNKS];
	/* per band of a round and piece: the walk's checks done beforehand */
	size_t npieces = (size_t)round * PRE_CHUNKS;
	double **spec = rp_malloc_array(npieces, sizeof *spec);
	size_t *spec_n = rp_malloc_array(npieces, sizeof *spec_n), *spec_cap = rp_malloc_array(npieces, sizeof *spec_cap);
	if (spec) memset(spec, 0, npieces * sizeof *spec);
	if (spec_cap) memset(spec_cap, 0, npieces * sizeof *spec_cap);
	bucket_groups groups = {0};
	d->parent = rp_malloc_array(n ? n : 1, sizeof *d->parent);
	d->rep = rp_malloc_array(n ? n : 1, sizeof *d->rep);
	d->similarity = rp_malloc_array(n ? n : 1, sizeof *d->similarity);
	if (!d->parent || !d->rep || !d->similarity || !pre_rc || !spec || !spec_n || !spec_cap) goto nomem;
	for (size_t i = 0; i < n; i++) d->parent[i] = (uint32_t)i;

	/* Token-less documents: identical bytes only. */
	size_t ne = 0;
	for (size_t i = 0; i < n; i++) ne += d->flags[i] == DOC_EMPTY;
	if (ne > 1) {
		keyed *e = rp_malloc_array(ne, sizeof *e);
		if (!e) goto nomem;
		size_t m = 0;
		for (size_t i = 0; i < n; i++)
			if (d->flags[i] == DOC_EMPTY) e[m].key = d->content[i], e[m].seq = i, m++;
		qsort(e, m, sizeof *e, cmp_keyed);
		for (size_t i = 1; i < m; i++)
			if (e[i].key == e[i - 1].key && d->len[e[i].seq] == d->len[e[i - 1].seq]
			    && find(d->parent, (uint32_t)e[i].seq) != find(d->parent, (uint32_t)e[i - 1].seq)) {
				unite(d->parent, (uint32_t)e[i - 1].seq, (uint32_t)e[i].seq);
				if (add_pair(d, e[i - 1].seq, e[i].seq, 1.0)) { rp_free(e); goto nomem; }
			}
		rp_free(e);
	}

	/* Bands, `round` at a time: keys computed and sorted in parallel, buckets
	 * joined in band order, on the calling thread while the other threads
	 * make the next round's keys (the walk had them wait 0.1-0.5 ms a round
	 * on scaled 100 MB at -j2).  The keys do not depend on the clusters; the
	 * checks before a walk do, and come after the last walk. */
	for (int r = 0; r < 2 * round; r++) {
		keys[r] = rp_malloc_array(n ? n : 1, sizeof **keys);
		tmp[r] = rp_malloc_array(n ? n : 1, sizeof **tmp);
		count[r] = rp_malloc_array(65536, sizeof **count);
		seen[r] = rp_malloc_array(2 * filter_words, sizeof **seen);
		if (!keys[r] || !tmp[r] || !count[r] || !seen[r]) goto nomem;
	}
	for (int r = 0; r < round; r++)
		if (!(pre[r] = rp_malloc_array(n ? n : 1, sizeof **pre))) goto nomem;
	size_t cached = 0; /* results the cache held before the last round */
	const int nrounds = (d->p.bands + round - 1) / round;
	band_job first = {d, 0, keys, tmp, count, seen, 64 - filter_log, nkeys};
	rp_pool_run(d->pool, (size_t)(d->p.bands < round ? d->p.bands : round), band_keys, &first);
	for (int R = 0; R < nrounds; R++) {
		const int b0 = R * round, nb = d->p.bands - b0 < round ? d->p.bands - b0 : round, set = (R & 1) * round;
		/* room for twice what the last round added, and n / 32 more */
		size_t now = atomic_load(&d->cache.n);
		if (d->p.verify != RP_VERIFY_ESTIMATE && cache_grow(&d->cache, 2 * (now - cached) + n / 32)) goto nomem;
		cached = now;
		/* the sort scratch is free until the set's next round: the bucket starts */
		uint32_t *multi[256];
		for (int r = 0; r < nb; r++) multi[r] = (uint32_t *)tmp[set + r];
		pre_job pj = {d, keys + set, nkeys + set, pre, pre_rc, pre_rc + d->nworkers, multi, nmulti,
		              d->nworkers > 1, spec, spec_n, spec_cap};
		memset(pre_rc, 0, (size_t)d->nworkers * 2 * sizeof *pre_rc);
		rp_pool_run(d->pool, (size_t)nb * PRE_CHUNKS, pre_verify, &pj);
		for (int w = 0; w < d->nworkers; w++)
			if (pre_rc[w]) {
				rc = pre_rc[w];
				errno = pre_rc[d->nworkers + w];
				goto fail;
			}
		walk_job wk = {d, keys + set, nkeys + set, pre, multi, nmulti, spec, &groups, nb, 0};
		if (R + 1 < nrounds) {
			const int b1 = b0 + round, nb1 = d->p.bands - b1 < round ? d->p.bands - b1 : round;
			const int next = set ^ round;
			band_job j = {d, b1, keys + next, tmp + next, count + next, seen + next, 64 - filter_log, nkeys + next};
			rp_pool_side(d->pool, walk_round, &wk);
			rp_pool_run(d->pool, (size_t)nb1, band_keys, &j);
		} else {
			walk_round(&wk);
		}
		if ((rc = wk.rc)) goto fail;
	}

	/* Every document's parent made its root, in one pass: a parent is never
	 * above its child (unite keeps the lower root, find halves paths), so
	 * parent[i]'s parent is a root by the time i is reached.  The loops below
	 * and rp_dedup_get then read roots in order instead of walking paths. */
	for (size_t i = 0; i < n; i++) d->parent[i] = d->parent[d->parent[i]];
	/* Representatives and similarities. */
	for (size_t i = 0; i < n; i++) d->rep[i] = (uint32_t)i;
	if (d->p.keep_longest) {
		for (size_t i = 0; i < n; i++) {
			uint32_t root = d->parent[i], best = d->rep[root];
			if (d->len[i] > d->len[best]) d->rep[root] = (uint32_t)i;
		}
	}
	/* Similarity to the representative: exact in EXACT mode, else estimated;
	 * on the pool (the signatures read are cache misses). */
	if (d->p.verify == RP_VERIFY_EXACT && cache_grow(&d->cache, n / 32)) goto nomem;
	{
		const size_t nchunks = (n + SIM_CHUNK - 1) / SIM_CHUNK;
		sim_job sj = {d, rp_malloc_array(nchunks ? nchunks : 1, sizeof *sj.rc)};
		if (!sj.rc) goto nomem;
		rp_pool_run(d->pool, nchunks, similarity_chunk, &sj);
		/* A failed chunk again, alone, so that the error reported is the
		 * first one in document order whichever thread met it first. */
		for (size_t c = 0; c < nchunks && !rc; c++) {
			if (!sj.rc[c]) continue;
			for (int w = 0; w < d->nworkers; w++) d->ver[w].failed = 0;
			similarity_chunk(&sj, c, 0);
			rc = sj.rc[c];
		}
		rp_free(sj.rc);
		if (rc) goto fail;
	}
	if (sort_pairs(d)) goto nomem;
	d->finished = 1;
	goto out;
nomem:
	rc = RP_ENOMEM;
fail:
	if (rc == RP_ENOMEM) {
		rp_set_error(err, rc, "out of memory");
	} else {
		/* a fetch's own error, the first worker's that has one */
		int w = 0;
		while (w < d->nworkers && !d->ver[w].failed) w++;
		if (w < d->nworkers) {
			if (err) *err = d->ver[w].err;
		} else {
			rp_set_error(err, rc, "cannot read the temporary shingle file: %s",
			             errno ? strerror(errno) : "it was truncated");
		}
	}
out:
	for (int r = 0; r < 512; r++) rp_free(keys[r]), rp_free(tmp[r]), rp_free(count[r]), rp_free(seen[r]);
	for (int r = 0; r < 256; r++) rp_free(pre[r]);
	for (size_t c = 0; spec && c < npieces; c++) rp_free(spec[c]);
	rp_free(spec); rp_free(spec_n); rp_free(spec_cap);
	rp_free(pre_rc);
	rp_free(groups.next); rp_free(groups.head); rp_free(groups.tail); rp_free(groups.root); rp_free(groups.dead);
	return rc;
}

size_t rp_dedup_count(const rp_dedup *d) { return d->n; }
uint64_t rp_dedup_length(const rp_dedup *d, uint64_t seq) { return seq < d->n ? d->len[seq] : 0; }

void rp_dedup_get(const rp_dedup *d, uint64_t seq, rp_dedup_result *res)
{
	if (!d->finished || seq >= d->n || (d->flags[seq] & DOC_BAD)) {
		res->cluster = seq;
		res->duplicate = 0;
		res->similarity = 0.0;
		return;
	}
	uint32_t rep = d->rep[find_ro(d->parent, (uint32_t)seq)]; /* read only: threads may ask at once */
	res->cluster = rep;
	res->duplicate = rep != seq;
	res->similarity = d->similarity[seq];
}

size_t rp_dedup_pairs(const rp_dedup *d, const uint64_t **a, const uint64_t **b, const double **j)
{
	*a = d->pair_a;
	*b = d->pair_b;
	*j = d->pair_j;
	return d->npairs;
}

/* What only adding and finishing need. */
static void free_work(rp_dedup *d)
{
	for (int w = 0; d->workers && w < d->nworkers; w++) {
		rp_tokens_free(&d->workers[w].tok);
		rp_free(d->workers[w].spill32);
		rp_free(d->workers[w].pend);
	}
	rp_free(d->workers);
	d->workers = NULL;
	if (d->spill_fd >= 0) close(d->spill_fd); /* the kernel drops its pages: ~0.6 ms per 10 MB */
	d->spill_fd = -1;
	for (int w = 0; d->ver && w < d->nworkers; w++)
		rp_hset_free(&d->ver[w].a), rp_hset_free(&d->ver[w].b), rp_free(d->ver[w].raw),
		rp_tokens_free(&d->ver[w].tok);
	rp_free(d->ver);
	d->ver = NULL;
	rp_free(d->cache.key);
	rp_free(d->cache.val);
	memset(&d->cache, 0, sizeof d->cache);
	rp_free(d->probes);
	d->probes = NULL;
	rp_free(d->spill_at); rp_free(d->spill_n);
	d->spill_at = NULL, d->spill_n = NULL;
	rp_free(d->sig);
	d->sig = NULL;
	for (size_t c = 0; c < d->nbk; c++) rp_free(d->bk[c]);
	rp_free(d->bk);
	d->bk = NULL;
	for (size_t c = 0; c < d->nbk; c++) rp_free(d->bk16[c]);
	rp_free(d->bk16);
	d->bk16 = NULL;
	d->nbk = d->bk_cap = d->bk16_cap = 0;
}

void rp_dedup_release(rp_dedup *d)
{
	if (d && d->finished) free_work(d);
}

void rp_dedup_free(rp_dedup *d)
{
	if (!d) return;
	free_work(d);
	rp_free(d->flags); rp_free(d->len); rp_free(d->content);
	rp_free(d->parent); rp_free(d->rep); rp_free(d->similarity);
	rp_free(d->pair_a); rp_free(d->pair_b); rp_free(d->pair_j);
	rp_free(d);
}
