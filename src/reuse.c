/* reuse.c — passages reused across a corpus.
 *
 * rp_reuse_add tokenises each document on the pool, winnows its shingle
 * hashes (winnow.c: every shared run of min_words tokens shares a
 * fingerprint) and keeps the fingerprints as postings, each with hashes of
 * the tokens on its left and on its right (context_sigs), and, for each
 * document long enough to hold a passage, either its text or its token
 * stream (hash and byte span of every token, the spans packed into a byte of
 * gap and a byte of length where they fit: keep_record): texts while few documents
 * share fingerprints (sample_repeats), the documents in candidates being
 * tokenised again in rp_reuse_finish (materialize).  Both in memory up to a
 * budget (a quarter of the memory the process may use: rp_memory_limit, or
 * rp_reuse_set_memory_budget), beyond it in an unlinked
 * temporary file, mapped when it fits the same budget, else read piecewise.
 *
 * rp_reuse_finish sorts the postings by fingerprint.  A fingerprint found in
 * many documents (at least template_df) is a template candidate.  The ratio
 * of a pair of its documents is their shared fingerprints / the fingerprints
 * of the smaller one (the median and the largest over up to 64 pairs).
 *  - Anchored (at one distance from the start, or from the end, of at least
 *    half its documents: a header or a footer, or what sits at a fixed place
 *    from one): boilerplate when the median ratio is below 0.5, or when the
 *    documents share at most ANCHORED_MAX_WORDS (150) words at the median,
 *    however much of its (short) pages that makes, and even where some page
 *    is nothing else (a page-not-found page); never at a median ratio of 0.9
 *    or more (copies of one text, each in a template of its own).  A longer
 *    text that is most of its pages is a story syndicated at their top or
 *    bottom, each page adding its own text: reuse.
 *  - Elsewhere: boilerplate (share buttons, a signature) if the documents
 *    share little else (median ratio below 0.5) and none of them is mostly
 *    made of it (no pair at 0.9); if they share most of their text it is one
 *    story syndicated widely, and if one document is mostly that text it is
 *    a source quoted or excerpted by the others: both stay reuse.
 * The limits: pages with almost no text of their own beside a footer (20
 * words beside 85: the fingerprints, about two a min_words window, barely
 * see it; 30 are enough) are taken for copies of it; a text of 150 words or
 * less copied into template_df or more documents that each add more than
 * itself on one side only is taken for a template (with text of their own
 * on both sides it stays reuse), and a header or footer of more than 150
 * words that is most of its pages for syndication; a page made of a
 * floating block alone (at no fixed place) still shields it.  A
 * fingerprint in more than max_df documents is boilerplate outright.
 * Boilerplate fingerprints yield no candidate pairs, and the tokens they
 * cover are masked out of alignment and containment (each document's mask is
 * computed once, on the pool; for a document in no candidate, only when
 * asked for).  A pair of documents sharing two non-boilerplate fingerprints,
 * or one whose left or right context agrees too, is a candidate (a pair
 * sharing one fingerprint in different contexts holds no run of min_words
 * tokens; all_candidates keeps those too); rp_reuse_next aligns candidates
 * in parallel (align.c; pairs come sorted by a, and each worker prepares a's
 * seed table once for all its pairs) and returns those with at least one
 * passage of min_words tokens, in (a, b) order. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "internal.h"
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX512_PACK 1
#endif

#define CHUNK 2048 /* candidate pairs aligned per rp_reuse_next call */
#define ARENA ((size_t)4 << 20) /* bytes of token records per memory chunk */
#define HUGE ((size_t)2 << 20)  /* a huge page */
#define HUGE_FIRST ((uint64_t)32 << 20) /* bytes of kept texts and records asking for huge pages */
#define EAGER_PERCENT 16
/* A header or footer shared by pages that are mostly made of it stays
 * boilerplate while it is this short (words shared at the median); longer,
 * it is a story syndicated at the top or bottom of pages with text of their own. */
#define ANCHORED_MAX_WORDS 150

/* A fingerprint of doc at pos, with hashes of the tokens around it on its
 * left and on its right (context_sigs), 0 where the document ends first. */
typedef struct { uint64_t hash; uint32_t doc, pos, left, right; } posting;
/* A boilerplate fingerprint in doc at pos, and where another document has it. */
#define TEMPLATE_REFS 3
typedef struct {
	uint32_t doc, pos;
	uint32_t ref_doc[TEMPLATE_REFS], ref_pos[TEMPLATE_REFS]; /* other documents with it */
	uint32_t nref;
} template_hit;

/* A document's token spans: starts st and ends en (wide), or a checkpoint
 * start every SPAN_BLOCK tokens (ck) and a gap byte and a length byte a token
 * (gl; the gap from the previous token's end, 0 at a checkpoint). */
#define SPAN_BLOCK 64
typedef struct {
	const uint32_t *st, *en;
	const uint32_t *ck;
	const uint8_t *gl;
} spans;

typedef struct {
	rp_tokens tok;
	uint64_t *shingles;
	size_t shingles_cap;
	rp_fingerprint *fp;
	size_t fp_cap;
	posting *post; /* this worker's postings of the current batch */
	size_t npost, post_cap;
	rp_aligner *al;
	int64_t a_doc;     /* the document held in ah (masked) and set as the aligner's A, -1 if none */
	const uint64_t *a_hash; /* its token hashes, boilerplate replaced by values that match nothing */
	spans a_sp;        /* its token spans */
	int a_sp_ok;       /* 0 until needed */
	uint64_t *ah, *bh; /* buffers for token hashes */
	size_t ah_cap, bh_cap;
	uint32_t *aspan, *bspan; /* buffers for token spans */
	size_t aspan_cap, bspan_cap;
	const uint64_t *ref; /* token hashes of a template's reference document */
	uint64_t *ref_buf;
	size_t ref_cap, ref_n;
	int64_t ref_doc;
	uint8_t *masked;
	size_t masked_cap;
	uint64_t *sh, *set;
	size_t sh_cap, set_cap;
	uint64_t *stage; /* a document's token file record, to write at once */
	size_t stage_cap;
	uint8_t *packed; /* a document's spans, packed */
	size_t packed_cap;
	char *arena;     /* token records held in memory: the current chunk */
	size_t arena_used, arena_cap;
	char **chunks;   /* all chunks */
	size_t nchunks, chunks_cap;
	char pad[64];
} worker;

struct rp_reuse {
	rp_params p;
	rp_reuse_opts o;
	size_t window;
	rp_pool *pool;
	int nworkers;
	worker *w;
	size_t n, cap;
	uint64_t *spill_at;
	uint32_t *ntok, *nfp;
	_Atomic int spill_fd; /* the token file, -1 until first needed (spill_open) */
	pthread_mutex_t spill_lock;
	char *tmpdir;         /* where to make it (NULL: $TMPDIR or /tmp) */
	int spill_failed;     /* it could not be made: spill_err says why */
	rp_error spill_err;
	_Atomic uint64_t spill_end;
	const char *map; /* the token file mapped after finish, NULL: read with pread */
	size_t map_len;
	uint64_t map_limit; /* largest token file mapped */
	const char **mem;   /* each document's token record when held in memory, else NULL */
	const char **txt;   /* each document's text when held in memory, else NULL (in the file at txt_at) */
	uint64_t *txt_at, *txt_len;
	uint8_t *wide;      /* token record with spans as two arrays of starts and ends, not packed */
	int eager;          /* keep token records at once, not texts (sample_repeats) */
	int keep_mode;      /* 0: decide (sample_repeats), 1: always texts, 2: always records */
	uint64_t *seen;     /* sampled fingerprints seen (hash | 64), open addressing */
	uint32_t *seen_doc; /* the first document of each */
	uint32_t *orig_doc; /* reference documents, sorted, whose unmasked hashes are kept (keep_refs) */
	uint64_t **orig;
	size_t norig;
	size_t seen_n, seen_cap, sampled, repeats;
	_Atomic uint64_t mem_used;
	_Atomic uint64_t huge_used; /* bytes of arenas asked for as huge pages */
	_Atomic uint64_t mem_limit; /* bytes of token records held in memory at most (0 once memory ran out) */
	uint64_t budget;            /* mem_limit as set (rp_reuse_memory_budget) */
	posting *post;
	size_t npost, post_cap;
	/* after finish */
	uint64_t *cand; /* candidate pairs a << 32 | b, sorted */
	size_t ncand, next;
	template_hit *tpl; /* boilerplate fingerprints, sorted by doc then pos */
	uint32_t *group;   /* optional: site of each document (0: none) */
	uint32_t *mask_at; /* boilerplate of document d: token runs mask_run[mask_at[d] .. mask_at[d + 1]) */
	uint32_t *mask_run; /* start, end pairs */
	_Atomic uint32_t *ndist; /* distinct clean shingles of each document, UINT32_MAX until needed */
	size_t ntpl;
	size_t template_groups;
	rp_reuse_pair *chunk;
	int *chunk_rc;
	size_t chunk_n;
	int finished;
};

static void free_chunk(rp_reuse *r)
{
	if (!r->chunk) return;
	for (size_t i = 0; i < CHUNK; i++) rp_free(r->chunk[i].passages), r->chunk[i].passages = NULL;
}

void rp_reuse_opts_default(rp_reuse_opts *o)
{
	o->min_words = 50;
	o->template_df = 40;
	o->max_df = 1000;
	o->all_candidates = 0;
}

rp_status rp_reuse_new(rp_reuse **out, const rp_params *p, const rp_reuse_opts *o, rp_pool *pool, rp_error *err)
{
	*out = NULL;
	rp_params q = *p;
	int rc = rp_params_resolve(&q, err);
	if (rc) return rc;
	if (o->min_words < q.ngram)
		return rp_set_error(err, RP_EUSAGE, "--min-words (%d) must be at least the n-gram length (%d)", o->min_words, q.ngram);
	if (o->template_df < 2 || o->max_df < o->template_df)
		return rp_set_error(err, RP_EUSAGE, "need 2 <= template df (%d) <= max df (%d)", o->template_df, o->max_df);
	rp_reuse *r = rp_malloc(sizeof *r);
	if (!r) return rp_set_error(err, RP_ENOMEM, "out of memory");
	memset(r, 0, sizeof *r);
	r->p = q;
	r->o = *o;
	r->window = (size_t)(o->min_words - q.ngram + 1);
	r->pool = pool;
	r->nworkers = rp_pool_size(pool);
	atomic_init(&r->spill_fd, -1);
	pthread_mutex_init(&r->spill_lock, NULL);
	r->w = rp_malloc_array((size_t)r->nworkers, sizeof *r->w);
	if (!r->w) { rp_free(r); return rp_set_error(err, RP_ENOMEM, "out of memory"); }
	memset(r->w, 0, (size_t)r->nworkers * sizeof *r->w);
	rp_align_opts ao = {q.ngram, 8, o->min_words};
	for (int i = 0; i < r->nworkers; i++) {
		r->w[i].ref_doc = r->w[i].a_doc = -1;
		if (!(r->w[i].al = rp_aligner_new(&ao))) {
			rp_reuse_free(r);
			return rp_set_error(err, RP_ENOMEM, "out of memory");
		}
	}
	/* The budget for token records, and for mapping the token file: a
	 * quarter of the memory the process may use (physical memory, or the
	 * address-space or cgroup limit when lower: in a container, the
	 * container's memory). */
	uint64_t limit = rp_memory_limit();
	r->map_limit = limit == UINT64_MAX ? 0 : limit / 4;
	if (r->map_limit > SIZE_MAX) r->map_limit = SIZE_MAX;
	atomic_init(&r->mem_limit, r->map_limit);
	r->budget = r->map_limit;
	/* The token file is made when first needed (spill_open): a run that
	 * fits in memory needs no usable temporary directory. */
	if (q.tmpdir && !(r->tmpdir = rp_strdup(q.tmpdir))) {
		rp_reuse_free(r);
		return rp_set_error(err, RP_ENOMEM, "out of memory");
	}
	*out = r;
	return RP_OK;
}

typedef struct {
	rp_reuse *r;
	size_t base;
	const char *const *texts;
	const size_t *lens;
	const int *bad;
	int *status;
	rp_error *errs;
} add_job;

/* Hash of tokens [a, b) (b - a >= k) from the k-token shingle hashes sh:
 * equal tokens give equal hashes; never 0. */
static uint32_t span_sig(const uint64_t *sh, size_t a, size_t b, size_t k)
{
	uint64_t h = 0x243f6a8885a308d3ULL;
	for (size_t x = a; x + k < b; x += k) h = rp_rotl64(h, 7) ^ sh[x]; /* shingle hashes are mixed already */
	h = rp_mix64(rp_rotl64(h, 7) ^ sh[b - k]);
	return (uint32_t)(h >> 32) | 1;
}

/* The context of the fingerprint at shingle pos of a document of n tokens
 * with shingle hashes sh (k tokens each), for passages of m tokens.
 * Winnowing selects the minimum of every window of w = m - k + 1 shingles,
 * so a run of m tokens that two documents share is one window, and its
 * minimum, at some pos in both, is a fingerprint of both, at the same
 * offset s in the run's window: pos - s with s in [0, w - 1].  The run is
 * tokens [pos - s, pos - s + m).  If s <= c it holds tokens [pos, pos + m - c)
 * (right); else tokens [pos - c - 1, pos + k) (left).  So two fingerprints
 * of equal hash witness such a run only if their left or their right
 * contexts are equal: with c = (w - 2) / 2 both are about (m + k) / 2
 * tokens.  0: that context runs past the document's ends, so no run of m
 * tokens puts the fingerprint there. */
static void context_sigs(const uint64_t *sh, size_t n, size_t k, size_t m, size_t pos, uint32_t *left,
                         uint32_t *right)
{
	size_t w = m - k + 1, c = w >= 2 ? (w - 2) / 2 : 0;
	*right = pos + m - c <= n ? span_sig(sh, pos, pos + m - c, k) : 0;
	*left = w >= 2 && pos >= c + 1 ? span_sig(sh, pos - c - 1, pos + k, k) : 0;
}

/* The token file, made (unlinked, in tmpdir) by the first thread that needs
 * it; -1 if it cannot be (why: spill_err, copied to *err if not NULL). */
static int spill_open(rp_reuse *r, rp_error *err)
{
	int fd = atomic_load(&r->spill_fd);
	if (fd >= 0) return fd;
	pthread_mutex_lock(&r->spill_lock);
	fd = atomic_load(&r->spill_fd);
	if (fd < 0 && !r->spill_failed) {
		if ((fd = rp_spill_open(r->tmpdir, "tokens", &r->spill_err)) < 0) r->spill_failed = 1;
		else atomic_store(&r->spill_fd, fd);
	}
	if (fd < 0 && err) *err = r->spill_err;
	pthread_mutex_unlock(&r->spill_lock);
	return fd;
}

/* Could the token file not be made?  Then why, into *err. */
static int spill_failed(rp_reuse *r, rp_error *err)
{
	pthread_mutex_lock(&r->spill_lock);
	int failed = r->spill_failed;
	if (failed && err) *err = r->spill_err;
	pthread_mutex_unlock(&r->spill_lock);
	return failed;
}

/* Keep the concatenation of parts in memory while the budget allows (*mem,
 * in the worker's arena), else in the token file (*mem NULL, at *at):
 * RP_EIO if it cannot be made or written. */
static int keep(rp_reuse *r, worker *w, const void *const *part, const size_t *plen, int np, const char **mem,
                uint64_t *at)
{
	uint64_t bytes = 0;
	for (int i = 0; i < np; i++) bytes += plen[i];
	bytes = (bytes + 7) & ~(uint64_t)7; /* records stay 8-byte aligned, texts between them too */
	char *rec = NULL;
	*mem = NULL;
	if (atomic_fetch_add(&r->mem_used, bytes) + bytes <= atomic_load(&r->mem_limit)) {
		if (w->arena_used + bytes > w->arena_cap) {
			size_t cap = bytes > ARENA ? bytes : ARENA;
			char *raw = NULL;
			if (rp_grow((void **)&w->chunks, &w->chunks_cap, w->nchunks + 1, sizeof *w->chunks)
			    || cap > SIZE_MAX - HUGE || !(raw = rp_malloc(cap + HUGE))) {
				/* No memory for more: this and all later ones go to the file. */
				atomic_store(&r->mem_limit, 0);
				atomic_fetch_sub(&r->mem_used, bytes);
				goto spill;
			}
			w->chunks[w->nchunks++] = raw;
			/* Aligned to huge pages, and asking for them for the first
			 * HUGE_FIRST bytes only: a page fault per 4 KB costs as much as
			 * aligning a pair (BBC: 30 ms instead of 34), but with the
			 * kernel's defrag on madvise, once free huge pages run out, a
			 * huge page's first touch compacts memory synchronously, 2-4x
			 * the cost of small pages (2.3 s against 0.6-0.9 s a GB here:
			 * 3 s more system time on the 1.1 GB corpus, 20% more time on
			 * the 100 MB one). */
			w->arena = raw + (HUGE - (uintptr_t)raw % HUGE) % HUGE;
			if (atomic_fetch_add(&r->huge_used, cap) + cap <= HUGE_FIRST)
				madvise(w->arena, cap / HUGE * HUGE, MADV_HUGEPAGE);
#ifdef MADV_POPULATE_WRITE
			/* Beyond them, fault the small pages in with one call (the
			 * arena is filled to the end): a fault per 4 KB page costs
			 * twice the zeroing (20news: 45 ms against 20).  Advice
			 * only: an older kernel refuses it and the pages fault in
			 * one by one. */
			else
				madvise(w->arena, cap / HUGE * HUGE, MADV_POPULATE_WRITE);
#endif
			w->arena_used = 0;
			w->arena_cap = cap;
		}
		rec = w->arena + w->arena_used;
		w->arena_used += bytes;
	} else atomic_fetch_sub(&r->mem_used, bytes);
spill:
	if (rec) {
		*mem = rec;
		for (int i = 0; i < np; i++) memcpy(rec, part[i], plen[i]), rec += plen[i];
		return 0;
	}
	int fd = spill_open(r, NULL);
	if (fd < 0) return RP_EIO;
	uint64_t off = atomic_fetch_add(&r->spill_end, bytes);
	*at = off;
	for (int i = 0; i < np; i++) {
		if (plen[i] && rp_pwrite_all(fd, part[i], plen[i], off)) return RP_EIO;
		off += plen[i];
	}
	return 0;
}

/* Bytes of the spans of n tokens in a token record. */
static size_t span_bytes(size_t n, int wide)
{
	return wide ? 8 * n : 4 * ((n + SPAN_BLOCK - 1) / SPAN_BLOCK) + 2 * n;
}

#ifdef HAVE_AVX512_PACK
/* keep_record's packing of the full blocks of SPAN_BLOCK tokens among n,
 * sixteen tokens at a time: gap | length << 8 narrowed to 16 bits; returns
 * the or of all gaps and lengths. */
__attribute__((target("avx512f"))) static uint32_t pack_blocks_avx512(const uint32_t *st, const uint32_t *en, size_t n,
                                                                      uint8_t *ck, uint8_t *gl)
{
	__m512i big = _mm512_setzero_si512();
	for (size_t b = 0; b + SPAN_BLOCK <= n; b += SPAN_BLOCK) {
		memcpy(ck + 4 * (b / SPAN_BLOCK), &st[b], 4);
		__m512i prev = _mm512_set1_epi32((int)st[b]); /* the block's first gap is 0 */
		for (size_t c = b; c < b + SPAN_BLOCK; c += 16) {
			__m512i s = _mm512_loadu_si512((const void *)(st + c)), e = _mm512_loadu_si512((const void *)(en + c));
			__m512i gap = _mm512_sub_epi32(s, _mm512_alignr_epi32(e, prev, 15)), len = _mm512_sub_epi32(e, s);
			big = _mm512_or_si512(big, _mm512_or_si512(gap, len));
			_mm256_storeu_si256((__m256i *)(gl + 2 * c),
			                    _mm512_cvtepi32_epi16(_mm512_or_si512(gap, _mm512_slli_epi32(len, 8))));
			prev = e;
		}
	}
	return (uint32_t)_mm512_reduce_or_epi32(big);
}
#endif

/* The token record of w->tok (hashes, then spans: packed where every length
 * and gap fits a byte, a quarter of the record smaller; else starts then
 * ends) kept as keep does; *wide says which. */
static int keep_record(rp_reuse *r, worker *w, const char **mem, uint64_t *at, uint8_t *wide)
{
	const size_t n = w->tok.n;
	const uint32_t *st = w->tok.start, *en = w->tok.end;
	uint32_t big = 0;
	if (rp_grow((void **)&w->packed, &w->packed_cap, span_bytes(n, 0), 1)) return RP_ENOMEM;
	uint8_t *gl = w->packed + 4 * ((n + SPAN_BLOCK - 1) / SPAN_BLOCK);
	size_t b = 0;
#ifdef HAVE_AVX512_PACK
	if (rp_have_avx512dq()) {
		big = pack_blocks_avx512(st, en, n, w->packed, gl);
		b = n / SPAN_BLOCK * SPAN_BLOCK;
	}
#endif
	for (; b < n; b += SPAN_BLOCK) {
		size_t e = b + SPAN_BLOCK < n ? b + SPAN_BLOCK : n;
		memcpy(w->packed + 4 * (b / SPAN_BLOCK), &st[b], 4);
		gl[2 * b] = 0;
		gl[2 * b + 1] = (uint8_t)(en[b] - st[b]);
		big |= en[b] - st[b];
		for (size_t i = b + 1; i < e; i++) {
			uint32_t gap = st[i] - en[i - 1], len = en[i] - st[i];
			big |= gap | len; /* a token starting before the last one ended wraps: big */
			gl[2 * i] = (uint8_t)gap;
			gl[2 * i + 1] = (uint8_t)len;
		}
	}
	*wide = big > 255;
	if (*wide) {
		const void *part[3] = {w->tok.hash, st, en};
		size_t plen[3] = {n * 8, n * 4, n * 4};
		return keep(r, w, part, plen, 3, mem, at);
	}
	const void *part[2] = {w->tok.hash, w->packed};
	size_t plen[2] = {n * 8, span_bytes(n, 0)};
	return keep(r, w, part, plen, 2, mem, at);
}

/* Start and end of token i. */
static inline void span_at(const spans *v, size_t i, uint64_t *start, uint64_t *end)
{
	if (v->st) {
		*start = v->st[i];
		*end = v->en[i];
		return;
	}
	size_t b = i / SPAN_BLOCK * SPAN_BLOCK;
	uint32_t x = v->ck[i / SPAN_BLOCK];
	for (size_t t = b; t < i; t++) x += (uint32_t)v->gl[2 * t + 1] + v->gl[2 * t + 2];
	*start = x;
	*end = x + v->gl[2 * i + 1];
}

static int add_one(rp_reuse *r, worker *w, size_t seq, const char *text, size_t len, rp_error *err)
{
	int rc = rp_tokenize(text, len, r->p.char_shingles, r->p.seed, &w->tok, err);
	if (rc) return rc;
	size_t n = w->tok.n;
	if (n > UINT32_MAX - 1) return rp_set_error(err, RP_EDATA, "too many tokens in one document");
	r->ntok[seq] = (uint32_t)n;
	if (!n) return 0;
	/* The token record is kept (in memory or the token file) at once where
	 * most documents turn out to be in candidates (r->eager), else the text,
	 * to be tokenised again once the candidates are known, for the documents
	 * they need.  A document shorter than min_words is in no pair and needs
	 * neither. */
	if (n >= (size_t)r->o.min_words) {
		/* the first HUGE_FIRST bytes as records: on huge pages they cost
		 * less than tokenising again */
		if (r->keep_mode ? r->keep_mode == 2 : r->eager || atomic_load(&r->mem_used) < HUGE_FIRST) {
			/* The token record: the hashes, then the spans. */
			rc = keep_record(r, w, &r->mem[seq], &r->spill_at[seq], &r->wide[seq]);
		} else {
			const void *part[1] = {text};
			size_t plen[1] = {len};
			r->txt_len[seq] = len;
			rc = keep(r, w, part, plen, 1, &r->txt[seq], &r->txt_at[seq]);
		}
		if (rc == RP_EIO && spill_failed(r, err)) return rc;
		if (rc)
			return rp_set_error(err, rc, rc == RP_ENOMEM ? "out of memory" : "cannot write the temporary token file: %s",
			                    strerror(errno));
	}
	if (rp_grow((void **)&w->shingles, &w->shingles_cap, n, sizeof *w->shingles)
	    || rp_grow((void **)&w->fp, &w->fp_cap, n, sizeof *w->fp))
		return rp_set_error(err, RP_ENOMEM, "out of memory");
	size_t ns = rp_shingles(w->tok.hash, n, r->p.ngram, w->shingles);
	/* A document shorter than min_words cannot hold a passage. */
	size_t nf = n >= (size_t)r->o.min_words ? rp_winnow(w->shingles, ns, r->window, w->fp) : 0;
	r->nfp[seq] = (uint32_t)nf;
	if (rp_grow((void **)&w->post, &w->post_cap, w->npost + nf, sizeof *w->post))
		return rp_set_error(err, RP_ENOMEM, "out of memory");
	for (size_t i = 0; i < nf; i++) {
		posting *q = &w->post[w->npost++];
		*q = (posting){w->fp[i].hash, (uint32_t)seq, w->fp[i].pos, 0, 0};
		context_sigs(w->shingles, n, (size_t)r->p.ngram, (size_t)r->o.min_words, q->pos, &q->left, &q->right);
	}
	return 0;
}

static void add_item(void *v, size_t i, int wid)
{
	add_job *j = v;
	rp_reuse *r = j->r;
	size_t seq = j->base + i;
	r->ntok[seq] = r->nfp[seq] = 0;
	r->spill_at[seq] = r->txt_at[seq] = r->txt_len[seq] = 0;
	r->mem[seq] = r->txt[seq] = NULL;
	r->wide[seq] = 0;
	if (j->bad && j->bad[i]) { j->status[i] = 0; return; }
	j->status[i] = add_one(r, &r->w[wid], seq, j->texts[i], j->lens[i], &j->errs[i]);
}

/* Whether to keep token records at once (r->eager) or texts, decided
 * between batches: keeping the text (about 6 bytes a token) and tokenising
 * again only the documents the candidates need is cheaper when few are
 * needed (a corpus of mostly distinct texts: 15% of the 1.1 GB one), a
 * record at once (10 bytes a token, every page of it touched for the first
 * time) when most are.  The estimate: among a 1/64 sample of the
 * fingerprints (by hash) of the batches so far, the share already seen in
 * another document. */
static int sample_repeats(rp_reuse *r, size_t nnew)
{
	for (size_t i = r->npost - nnew; i < r->npost; i++) {
		uint64_t h = r->post[i].hash;
		if (h & 63) continue;
		if (2 * (r->seen_n + 1) > r->seen_cap) {
			size_t cap = r->seen_cap ? 2 * r->seen_cap : 1024;
			uint64_t *t = rp_malloc_array(cap, sizeof *t);
			uint32_t *d = rp_malloc_array(cap, sizeof *d);
			if (!t || !d) { rp_free(t); rp_free(d); return RP_ENOMEM; }
			memset(t, 0, cap * sizeof *t);
			for (size_t x = 0; x < r->seen_cap; x++)
				if (r->seen[x]) {
					size_t slot = (size_t)(r->seen[x] >> 6) & (cap - 1);
					while (t[slot]) slot = (slot + 1) & (cap - 1);
					t[slot] = r->seen[x], d[slot] = r->seen_doc[x];
				}
			rp_free(r->seen); rp_free(r->seen_doc);
			r->seen = t, r->seen_doc = d, r->seen_cap = cap;
		}
		uint64_t key = h | 64; /* never 0, the empty slot */
		size_t slot = (size_t)(h >> 6) & (r->seen_cap - 1);
		while (r->seen[slot] && r->seen[slot] != key) slot = (slot + 1) & (r->seen_cap - 1);
		r->sampled++;
		if (!r->seen[slot]) r->seen[slot] = key, r->seen_doc[slot] = r->post[i].doc, r->seen_n++;
		else if (r->seen_doc[slot] != r->post[i].doc) r->repeats++;
	}
	r->eager = r->keep_mode ? r->keep_mode == 2 : r->sampled >= 256 && r->repeats * 100 >= r->sampled * EAGER_PERCENT;
	return 0;
}

rp_status rp_reuse_add(rp_reuse *r, size_t n, const char *const *texts, const size_t *lens, const int *bad,
                       rp_error *err)
{
	if (r->finished) return rp_set_error(err, RP_EUSAGE, "rp_reuse_add after rp_reuse_finish");
	if (r->n + n > UINT32_MAX - 1) return rp_set_error(err, RP_EUSAGE, "too many documents");
	if (r->n + n > r->cap) {
		size_t cap = r->cap ? r->cap : 1024;
		while (cap < r->n + n) cap *= 2;
		void *q;
		if (!(q = rp_realloc_array(r->spill_at, cap, sizeof *r->spill_at))) goto nomem;
		r->spill_at = q;
		if (!(q = rp_realloc_array((void *)r->mem, cap, sizeof *r->mem))) goto nomem;
		r->mem = q;
		if (!(q = rp_realloc_array(r->ntok, cap, sizeof *r->ntok))) goto nomem;
		r->ntok = q;
		if (!(q = rp_realloc_array(r->nfp, cap, sizeof *r->nfp))) goto nomem;
		r->nfp = q;
		if (!(q = rp_realloc_array((void *)r->txt, cap, sizeof *r->txt))) goto nomem;
		r->txt = q;
		if (!(q = rp_realloc_array(r->txt_at, cap, sizeof *r->txt_at))) goto nomem;
		r->txt_at = q;
		if (!(q = rp_realloc_array(r->txt_len, cap, sizeof *r->txt_len))) goto nomem;
		r->txt_len = q;
		if (!(q = rp_realloc_array(r->wide, cap, sizeof *r->wide))) goto nomem;
		r->wide = q;
		r->cap = cap;
	}
	add_job j = {r, r->n, texts, lens, bad, NULL, NULL};
	j.status = rp_malloc_array(n ? n : 1, sizeof *j.status);
	j.errs = rp_malloc_array(n ? n : 1, sizeof *j.errs);
	if (!j.status || !j.errs) { rp_free(j.status); rp_free(j.errs); goto nomem; }
	for (int w = 0; w < r->nworkers; w++) r->w[w].npost = 0;
	rp_pool_run(r->pool, n, add_item, &j);
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++)
		if (j.status[i]) rc = j.status[i], *err = j.errs[i];
	/* Gather the workers' postings. */
	size_t batch_post = r->npost;
	for (int w = 0; w < r->nworkers && !rc; w++) {
		if (rp_grow((void **)&r->post, &r->post_cap, r->npost + r->w[w].npost, sizeof *r->post)) {
			rc = rp_set_error(err, RP_ENOMEM, "out of memory");
			break;
		}
		if (r->w[w].npost) memcpy(r->post + r->npost, r->w[w].post, r->w[w].npost * sizeof *r->post);
		r->npost += r->w[w].npost;
	}
	if (!rc && sample_repeats(r, r->npost - batch_post)) rc = rp_set_error(err, RP_ENOMEM, "out of memory");
	rp_free(j.status);
	rp_free(j.errs);
	if (!rc) r->n += n;
	return rc;
nomem:
	return rp_set_error(err, RP_ENOMEM, "out of memory");
}

static int cmp_posting(const void *x, const void *y)
{
	const posting *a = x, *b = y;
	if (a->hash != b->hash) return a->hash < b->hash ? -1 : 1;
	if (a->doc != b->doc) return a->doc < b->doc ? -1 : 1;
	return (a->pos > b->pos) - (a->pos < b->pos);
}

static inline int posting_less(const posting *a, const posting *b)
{
	if (a->hash != b->hash) return a->hash < b->hash;
	if (a->doc != b->doc) return a->doc < b->doc;
	return a->pos < b->pos;
}

/* Sort postings by (hash, doc, pos), the order cmp_posting gives: scattered
 * into buckets of hash ranges (about two postings a bucket over the range the
 * hashes span: winnowed minima crowd the low end, but not so much that the
 * buckets grow long), each bucket then sorted by insertion (qsort when
 * long); qsort when short or out of memory. */
static void sort_postings(posting *p, size_t n)
{
	posting *tmp = n >= 256 ? rp_malloc_array(n, sizeof *tmp) : NULL;
	uint64_t lo = UINT64_MAX, hi = 0;
	for (size_t i = 0; tmp && i < n; i++) {
		if (p[i].hash < lo) lo = p[i].hash;
		if (p[i].hash > hi) hi = p[i].hash;
	}
	unsigned shift = 0;
	while (tmp && ((hi - lo) >> shift) >= n / 2) shift++;
	size_t nb = tmp ? (size_t)((hi - lo) >> shift) + 2 : 0;
	size_t *at = tmp ? rp_malloc_array(nb, sizeof *at) : NULL;
	if (!at) {
		rp_free(tmp);
		if (n) qsort(p, n, sizeof *p, cmp_posting);
		return;
	}
	memset(at, 0, nb * sizeof *at);
	for (size_t i = 0; i < n; i++) at[((p[i].hash - lo) >> shift) + 1]++;
	for (size_t b = 1; b < nb; b++) at[b] += at[b - 1];
	for (size_t i = 0; i < n; i++) tmp[at[(p[i].hash - lo) >> shift]++] = p[i];
	/* at[b] is now the end of bucket b */
	for (size_t b = 0, s = 0; b + 1 < nb; s = at[b++]) {
		size_t e = at[b];
		if (e - s > 48) {
			qsort(tmp + s, e - s, sizeof *tmp, cmp_posting);
			continue;
		}
		for (size_t i = s + 1; i < e; i++) {
			posting x = tmp[i];
			size_t j = i;
			while (j > s && posting_less(&x, &tmp[j - 1])) tmp[j] = tmp[j - 1], j--;
			tmp[j] = x;
		}
	}
	memcpy(p, tmp, n * sizeof *p);
	rp_free(tmp);
	rp_free(at);
}

static int cmp_doc_pos(const void *x, const void *y)
{
	const template_hit *a = x, *b = y;
	if (a->doc != b->doc) return a->doc < b->doc ? -1 : 1;
	return (a->pos > b->pos) - (a->pos < b->pos);
}

static int cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	return (a > b) - (a < b);
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a > b) - (a < b);
}

/* Distinct documents of the posting group [lo, hi), in doc order, into docs. */
static size_t group_docs(const posting *p, size_t lo, size_t hi, uint32_t *docs)
{
	size_t m = 0;
	for (size_t i = lo; i < hi; i++)
		if (!m || docs[m - 1] != p[i].doc) docs[m++] = p[i].doc;
	return m;
}

/* Append every pair of docs[0..m) to *pairs. */
static int emit_pairs(const uint32_t *docs, size_t m, uint64_t **pairs, size_t *n, size_t *cap)
{
	if (rp_grow((void **)pairs, cap, *n + m * (m - 1) / 2, sizeof **pairs)) return RP_ENOMEM;
	for (size_t x = 0; x < m; x++)
		for (size_t y = x + 1; y < m; y++) (*pairs)[(*n)++] = (uint64_t)docs[x] << 32 | docs[y];
	return 0;
}

/* Size of the intersection of two sorted, duplicate-free hash lists. */
static size_t shared_count(const uint64_t *a, size_t na, const uint64_t *b, size_t nb)
{
	size_t i = 0, j = 0, c = 0;
	while (i < na && j < nb) {
		if (a[i] < b[j]) i++;
		else if (a[i] > b[j]) j++;
		else c++, i++, j++;
	}
	return c;
}

/* The most documents that agree on one value of v[0..n) (sorted in place). */
static size_t mode_count(uint32_t *v, size_t n)
{
	size_t best = 0;
	if (n) qsort(v, n, sizeof *v, cmp_u32);
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && v[j] == v[i]; j++) {}
		if (j - i > best) best = j - i;
	}
	return best;
}

/* Is the fingerprint group p[lo, hi) anchored to an end of its documents:
 * in at least half of them, at one distance (in tokens) from their start, or
 * at one distance from their end?  That is where a site's header or footer
 * sits (the text between it and that end is the same template, or a
 * fixed-length part of it), whatever the length of each page; text quoted or
 * copied into documents of different lengths sits at varying distances from
 * both ends.  from_start and from_end: scratch of hi - lo values at least. */
static int anchored(const rp_reuse *r, const posting *p, size_t lo, size_t hi, uint32_t *from_start,
                    uint32_t *from_end)
{
	size_t m = 0;
	for (size_t i = lo, j; i < hi; i = j, m++) {
		for (j = i + 1; j < hi && p[j].doc == p[i].doc; j++) {}
		/* the first occurrence in the document for its start, the last for its end */
		from_start[m] = p[i].pos;
		from_end[m] = r->ntok[p[i].doc] - p[j - 1].pos;
	}
	return 2 * mode_count(from_start, m) >= m || 2 * mode_count(from_end, m) >= m;
}

/* Are the documents docs[0..m) all of one named group? */
static int one_group(const rp_reuse *r, const uint32_t *docs, size_t m)
{
	if (!r->group || m < 2 || !r->group[docs[0]]) return 0;
	for (size_t i = 1; i < m; i++)
		if (r->group[docs[i]] != r->group[docs[0]]) return 0;
	return 1;
}

static int mask_all(rp_reuse *r);

typedef struct { rp_reuse *r; const uint32_t *doc; int *rc; } tok_job;

/* The token record of one document (its hashes, then its starts, then its
 * ends), from its kept text, into memory or the token file. */
static void tok_item(void *v, size_t i, int wid)
{
	tok_job *j = v;
	rp_reuse *r = j->r;
	worker *w = &r->w[wid];
	uint32_t d = j->doc[i];
	const char *text = r->txt[d];
	size_t len = (size_t)r->txt_len[d];
	if (!text) {
		if (rp_grow((void **)&w->stage, &w->stage_cap, len / 8 + 1, sizeof *w->stage)) { j->rc[i] = RP_ENOMEM; return; }
		if (rp_pread_all(r->spill_fd, w->stage, len, r->txt_at[d])) { j->rc[i] = RP_EIO; return; }
		text = (const char *)w->stage;
	}
	if ((j->rc[i] = rp_tokenize(text, len, r->p.char_shingles, r->p.seed, &w->tok, NULL))) return;
	size_t n = w->tok.n;
	if (n != r->ntok[d]) { j->rc[i] = RP_EDATA; return; }
	if (!(j->rc[i] = keep_record(r, w, &r->mem[d], &r->spill_at[d], &r->wide[d]))) r->txt_len[d] = 0; /* has its record */
}

/* Token records of the documents in candidates and of the reference
 * documents of boilerplate, tokenised again from their kept texts: most
 * documents of a corpus of distinct texts are in no candidate, and a record
 * is about 10 bytes a token against about 6 bytes of text.  (Other documents with
 * boilerplate are tokenised again where their masks are found: read_kept.) */
static int materialize(rp_reuse *r)
{
	uint8_t *need = rp_malloc(r->n ? r->n : 1);
	uint32_t *list = NULL;
	int *rcs = NULL, rc = RP_ENOMEM;
	if (!need) return RP_ENOMEM;
	memset(need, 0, r->n ? r->n : 1);
	for (size_t i = 0; i < r->ncand; i++) need[r->cand[i] >> 32] = need[(uint32_t)r->cand[i]] = 1;
	for (size_t i = 0; i < r->ntpl; i++)
		for (uint32_t q = 0; q < r->tpl[i].nref; q++) need[r->tpl[i].ref_doc[q]] = 1;

	size_t m = 0;
	for (size_t d = 0; d < r->n; d++) m += need[d] && r->txt_len[d];
	list = rp_malloc_array(m ? m : 1, sizeof *list);
	rcs = rp_malloc_array(m ? m : 1, sizeof *rcs);
	if (!list || !rcs) goto out;
	m = 0;
	for (size_t d = 0; d < r->n; d++)
		if (need[d] && r->txt_len[d]) list[m++] = (uint32_t)d;
	tok_job j = {r, list, rcs};
	rp_pool_run(r->pool, m, tok_item, &j);
	rc = 0;
	for (size_t i = 0; i < m && !rc; i++) rc = rcs[i];
out:
	for (int i = 0; i < r->nworkers; i++) {
		rp_tokens_free(&r->w[i].tok);
		rp_free(r->w[i].stage), r->w[i].stage = NULL, r->w[i].stage_cap = 0;
		rp_free(r->w[i].packed), r->w[i].packed = NULL, r->w[i].packed_cap = 0;
	}
	rp_free(need);
	rp_free(list);
	rp_free(rcs);
	return rc;
}

rp_status rp_reuse_finish(rp_reuse *r, rp_error *err)
{
	if (r->finished) return RP_OK;
	int rc = RP_ENOMEM;
	uint32_t *docs = NULL;
	uint64_t *pairs = NULL;
	size_t npairs = 0, pairs_cap = 0, tpl_cap = 0;
	uint8_t *is_tpl = NULL;
	uint32_t *anchor = NULL;
	uint64_t *by_doc = NULL;
	size_t *doc_at = NULL;
	size_t ngroups = 0;
	uint64_t *ctx = NULL, *ctx_tmp = NULL, *cpairs = NULL;
	size_t ctx_cap = 0, ctx_tmp_cap = 0, ncpairs = 0, cpairs_cap = 0;
	/* The adding is over: its scratch (16 bytes of tokens, 8 of shingles and
	 * 16 of fingerprints per word of the longest document, doubled by growth)
	 * would otherwise sit beside the aligner's tables; 2.7 GB for a 200 MB
	 * document. */
	for (int i = 0; i < r->nworkers; i++) {
		worker *w = &r->w[i];
		rp_tokens_free(&w->tok);
		rp_free(w->shingles), w->shingles = NULL, w->shingles_cap = 0;
		rp_free(w->fp), w->fp = NULL, w->fp_cap = 0;
		rp_free(w->stage), w->stage = NULL, w->stage_cap = 0;
		rp_free(w->packed), w->packed = NULL, w->packed_cap = 0;
	}
	/* (materialize uses tok and stage again, and frees them after) */
	/* The postings array grew by doubling: give the slack back before the
	 * sort's scratch of the same size is asked for (up to half of it is
	 * unused, a gigabyte on 5 GB corpora). */
	if (r->npost && r->post_cap > r->npost) {
		posting *q = rp_realloc_array(r->post, r->npost, sizeof *r->post);
		if (q) r->post = q, r->post_cap = r->npost;
	}
	sort_postings(r->post, r->npost);
	docs = rp_malloc_array(r->n ? r->n : 1, sizeof *docs);
	if (!docs) goto out;
	/* 1. every document's distinct fingerprints, sorted, for counting what
	 * two documents share without enumerating the pairs of big groups */
	by_doc = rp_malloc_array(r->npost ? r->npost : 1, sizeof *by_doc);
	doc_at = rp_malloc_array(r->n + 1, sizeof *doc_at);
	if (!by_doc || !doc_at) goto out;
	memset(doc_at, 0, (r->n + 1) * sizeof *doc_at);
	for (size_t i = 0; i < r->npost; i++) doc_at[r->post[i].doc + 1]++;
	for (size_t d = 0; d < r->n; d++) doc_at[d + 1] += doc_at[d];
	for (size_t i = 0; i < r->npost; i++) by_doc[doc_at[r->post[i].doc]++] = r->post[i].hash;
	for (size_t d = r->n; d > 0; d--) doc_at[d] = doc_at[d - 1]; /* undo the advance */
	doc_at[0] = 0;
	/* postings are in hash order, so each document's run is sorted: drop repeats */
	for (size_t d = 0, w = 0; d < r->n; d++) {
		size_t from = doc_at[d], to = doc_at[d + 1];
		doc_at[d] = w;
		for (size_t i = from; i < to; i++)
			if (i == from || by_doc[i] != by_doc[i - 1]) by_doc[w++] = by_doc[i];
		if (d + 1 == r->n) doc_at[r->n] = w;
	}
	size_t biggest = 1; /* postings of the largest group */
	for (size_t lo = 0, hi; lo < r->npost; lo = hi, ngroups++) {
		for (hi = lo + 1; hi < r->npost && r->post[hi].hash == r->post[lo].hash; hi++) {}
		if (hi - lo > biggest) biggest = hi - lo;
	}
	/* 2. boilerplate: widely shared fingerprints whose documents share little
	 * else, or that sit at a fixed place from one end of their documents */
	is_tpl = rp_malloc(ngroups ? ngroups : 1);
	anchor = rp_malloc_array(biggest, 2 * sizeof *anchor);
	if (!is_tpl || !anchor) goto out;
	size_t g = 0;
	for (size_t lo = 0, hi; lo < r->npost; lo = hi, g++) {
		for (hi = lo + 1; hi < r->npost && r->post[hi].hash == r->post[lo].hash; hi++) {}
		size_t m = group_docs(r->post, lo, hi, docs);
		is_tpl[g] = 0;
		if (m > (size_t)r->o.max_df || one_group(r, docs, m)) is_tpl[g] = 1;
		else if (m >= (size_t)r->o.template_df) {
			double ratio[64], words[64];
			size_t nr = 0;
			for (size_t x = 1; x < m && nr < 64; x++) {
				uint32_t a = docs[x - 1], b = docs[x];
				size_t shared = shared_count(by_doc + doc_at[a], doc_at[a + 1] - doc_at[a], by_doc + doc_at[b],
				                             doc_at[b + 1] - doc_at[b]);
				size_t na = doc_at[a + 1] - doc_at[a], nb = doc_at[b + 1] - doc_at[b], small = na < nb ? na : nb;
				uint32_t s = na < nb ? a : b;
				ratio[nr] = small ? (double)shared / small : 1.0;
				/* the words they share: shared fingerprints at the smaller
				 * document's words per fingerprint */
				words[nr++] = small ? (double)shared * r->ntok[s] / small : 0.0;
			}
			if (nr) qsort(ratio, nr, sizeof *ratio, cmp_double), qsort(words, nr, sizeof *words, cmp_double);
			if (!nr) is_tpl[g] = 0;
			else if (anchored(r, r->post, lo, hi, anchor, anchor + (hi - lo)))
				/* A header or footer: boilerplate whatever share of its
				 * (short) pages it makes up, and even where one page is
				 * nothing else (a page-not-found page), as long as it is
				 * short (ANCHORED_MAX_WORDS shared at the median) or a
				 * minority of its pages.  Not when its documents share
				 * more, most of their text: one story syndicated at the top
				 * of pages that add their own below it; nor when most of
				 * them are almost nothing else, copies of one text. */
				is_tpl[g] = ratio[nr / 2] < 0.9 && (ratio[nr / 2] < 0.5 || words[nr / 2] <= ANCHORED_MAX_WORDS);
			else
				/* Elsewhere: boilerplate if most pairs share little else,
				 * and no document is mostly this passage (a quoted post,
				 * the original of excerpts: then the others reuse it). */
				is_tpl[g] = ratio[nr / 2] < 0.5 && ratio[nr - 1] < 0.9;
		}
		if (is_tpl[g]) {
			r->template_groups++;
			if (rp_grow((void **)&r->tpl, &tpl_cap, r->ntpl + (hi - lo), sizeof *r->tpl)) goto out;
			/* References: the first postings of up to TEMPLATE_REFS other
			 * documents of the group.  The mask is where the document agrees
			 * with every reference, so a reference that happens to be the
			 * document's true copy cannot stretch it over the shared text. */
			for (size_t i = lo; i < hi; i++) {
				template_hit h = {r->post[i].doc, r->post[i].pos, {0}, {0}, 0};
				for (size_t q = lo; q < hi && h.nref < TEMPLATE_REFS; q++)
					if (r->post[q].doc != h.doc && (q == lo || r->post[q].doc != r->post[q - 1].doc))
						h.ref_doc[h.nref] = r->post[q].doc, h.ref_pos[h.nref++] = r->post[q].pos;
				r->tpl[r->ntpl++] = h;
			}
		}
	}
	if (r->ntpl) qsort(r->tpl, r->ntpl, sizeof *r->tpl, cmp_doc_pos);
	/* 3. candidates.  A pair of documents sharing a run of min_words
	 * tokens that is not boilerplate shares a non-boilerplate fingerprint
	 * whose left or right contexts agree too (context_sigs); those pairs are
	 * candidates, and so are pairs sharing two or more non-boilerplate
	 * fingerprints, where the aligner may join shorter runs across a few
	 * changed words into a passage.  A pair sharing only one fingerprint, in
	 * different contexts, holds no run of min_words tokens: it is not
	 * aligned.  pairs: one per pair and shared non-boilerplate fingerprint;
	 * cpairs: one per pair and shared context. */
	npairs = 0;
	g = 0;
	for (size_t lo = 0, hi; lo < r->npost; lo = hi, g++) {
		for (hi = lo + 1; hi < r->npost && r->post[hi].hash == r->post[lo].hash; hi++) {}
		size_t m = group_docs(r->post, lo, hi, docs);
		if (m < 2) continue;
		if (!is_tpl[g] && emit_pairs(docs, m, &pairs, &npairs, &pairs_cap)) goto out;
		if (rp_grow((void **)&ctx, &ctx_cap, hi - lo, sizeof *ctx)
		    || rp_grow((void **)&ctx_tmp, &ctx_tmp_cap, hi - lo, sizeof *ctx_tmp))
			goto out;
		for (int side = 0; side < 2; side++) {
			/* the group's postings by (context, doc) */
			size_t nc = 0;
			for (size_t i = lo; i < hi; i++) {
				uint32_t c = side ? r->post[i].right : r->post[i].left;
				if (c) ctx[nc++] = (uint64_t)c << 32 | r->post[i].doc;
			}
			rp_sort_u64_tmp(ctx, ctx_tmp, nc); /* a few; thousands for boilerplate */
			for (size_t x = 0, y; x < nc; x = y) {
				m = 0;
				for (y = x; y < nc && ctx[y] >> 32 == ctx[x] >> 32; y++)
					if (!m || docs[m - 1] != (uint32_t)ctx[y]) docs[m++] = (uint32_t)ctx[y];
				/* A boilerplate fingerprint (a common phrase, say) in a context
				 * fewer than template_df documents share, not all of one
				 * group, is inside a passage they share: the pairs stay
				 * candidates, and the aligner joins the passage across the
				 * few masked tokens. */
				if (m >= 2 && (!is_tpl[g] || (m < (size_t)r->o.template_df && !one_group(r, docs, m)))
				    && emit_pairs(docs, m, &cpairs, &ncpairs, &cpairs_cap))
					goto out;
			}
		}
	}
	/* The postings and the per-document fingerprints are no longer needed:
	 * free them before the sorts, the run's peak of memory. */
	rp_free(r->post);
	r->post = NULL;
	r->npost = r->post_cap = 0;
	rp_free(by_doc);
	rp_free(doc_at);
	by_doc = NULL;
	doc_at = NULL;
	if (rp_sort_u64(cpairs, ncpairs)) goto out;
	size_t nc = 0;
	for (size_t i = 0; i < ncpairs; i++)
		if (!i || cpairs[i] != cpairs[nc - 1]) cpairs[nc++] = cpairs[i];
	ncpairs = nc;
	if (rp_sort_u64(pairs, npairs)) goto out;
	/* The candidates: pairs found twice in pairs (two distinct fingerprints:
	 * group_docs lists a document once a group), or in cpairs (which holds
	 * pairs of boilerplate fingerprints too, absent from pairs); both sorted,
	 * walked together twice: to count, then to fill. */
	for (int fill = 0; fill < 2; fill++) {
		size_t m = 0;
		for (size_t i = 0, c = 0; i < npairs || c < ncpairs;) {
			uint64_t key = i < npairs && (c >= ncpairs || pairs[i] <= cpairs[c]) ? pairs[i] : cpairs[c];
			size_t run = 0;
			while (i < npairs && pairs[i] == key) i++, run++;
			int in_c = c < ncpairs && cpairs[c] == key;
			c += in_c;
			if (in_c || run >= 2 || (run && r->o.all_candidates)) {
				if (fill) r->cand[m] = key;
				m++;
			}
		}
		if (!fill && !(r->cand = rp_malloc_array(m ? m : 1, sizeof *r->cand))) goto out;
		if (fill) r->ncand = m;
	}
	rp_free(cpairs);
	cpairs = NULL;
	rp_free(pairs);
	pairs = NULL;
	r->ndist = rp_malloc_array(r->n ? r->n : 1, sizeof *r->ndist);
	if (!r->ndist) goto out;
	for (size_t d = 0; d < r->n; d++) atomic_init(&r->ndist[d], UINT32_MAX);
	/* Map the token file when it is at most a quarter of the memory and the
	 * address space allows: every pair reads B's tokens, and a read call per
	 * pair costs a third of the alignment time.  The mapped pages are the
	 * page cache that read calls would fill too, but they count in the
	 * process's resident size.  Else read it piecewise. */
	uint64_t len;
	if ((rc = materialize(r))) {
		if (rc == RP_EIO) {
			if (!spill_failed(r, err)) /* else err says why it could not be made */
				rp_set_error(err, rc, "cannot use the temporary token file: %s",
				             errno ? strerror(errno) : "it was truncated");
		} else if (rc == RP_ENOMEM) rp_set_error(err, rc, "out of memory");
		else rp_set_error(err, rc, "a document tokenised differently the second time");
		goto out;
	}
	rc = RP_ENOMEM;
	len = atomic_load(&r->spill_end);
	if (len && len <= r->map_limit) {
		void *m = mmap(NULL, (size_t)len, PROT_READ, MAP_SHARED, r->spill_fd, 0);
		if (m != MAP_FAILED) r->map = m, r->map_len = (size_t)len;
	}
	if ((rc = mask_all(r))) {
		if (rc == RP_EIO)
			rp_set_error(err, rc, "cannot read the temporary token file: %s", errno ? strerror(errno) : "it was truncated");
		else rc = RP_ENOMEM;
		goto out;
	}
	rc = RP_ENOMEM;
	r->chunk = rp_malloc_array(CHUNK, sizeof *r->chunk);
	if (r->chunk) memset(r->chunk, 0, CHUNK * sizeof *r->chunk);
	r->chunk_rc = rp_malloc_array(CHUNK, sizeof *r->chunk_rc);
	if (!r->chunk || !r->chunk_rc) goto out;
	r->finished = 1;
	rc = RP_OK;
out:
	if (rc == RP_ENOMEM) rp_set_error(err, rc, "out of memory");
	rp_free(docs);
	rp_free(pairs);
	rp_free(ctx);
	rp_free(ctx_tmp);
	rp_free(cpairs);
	rp_free(is_tpl);
	rp_free(anchor);
	rp_free(by_doc);
	rp_free(doc_at);
	return rc;
}

rp_status rp_reuse_set_groups(rp_reuse *r, const uint32_t *group, size_t n, rp_error *err)
{
	if (r->finished) return rp_set_error(err, RP_EUSAGE, "rp_reuse_set_groups after rp_reuse_finish");
	if (n != r->n) return rp_set_error(err, RP_EUSAGE, "%zu groups for %zu documents", n, r->n);
	uint32_t *g = rp_malloc_array(n ? n : 1, sizeof *g);
	if (!g) return rp_set_error(err, RP_ENOMEM, "out of memory");
	if (n) memcpy(g, group, n * sizeof *g);
	rp_free(r->group);
	r->group = g;
	return 0;
}

void rp_reuse_set_keep(rp_reuse *r, int mode)
{
	r->keep_mode = mode;
	r->eager = mode == 2;
}

void rp_reuse_set_memory(rp_reuse *r, uint64_t mem_bytes, uint64_t map_bytes)
{
	atomic_store(&r->mem_limit, mem_bytes);
	r->budget = mem_bytes;
	r->map_limit = map_bytes;
}
size_t rp_reuse_candidates(const rp_reuse *r) { return r->ncand; }
size_t rp_reuse_template_fingerprints(const rp_reuse *r) { return r->template_groups; }
uint64_t rp_reuse_memory_budget(const rp_reuse *r) { return r->budget; }

rp_status rp_reuse_set_memory_budget(rp_reuse *r, uint64_t bytes, rp_error *err)
{
	if (r->n) return rp_set_error(err, RP_EUSAGE, "rp_reuse_set_memory_budget after rp_reuse_add");
	rp_reuse_set_memory(r, bytes, bytes > SIZE_MAX ? SIZE_MAX : bytes);
	return RP_OK;
}

/* Token hashes of document doc: *out points into the mapped token file, or
 * at *buf, where they are read (copy: always into *buf, to be changed). */
/* Document doc, kept as text and not tokenised again (r->txt_len[doc] > 0):
 * its token hashes (starts_ends 0) or its starts then ends (1) into *buf. */
static int read_kept(rp_reuse *r, uint32_t doc, int starts_ends, void **buf, size_t *cap)
{
	size_t len = (size_t)r->txt_len[doc], n = r->ntok[doc];
	char *tmp = NULL;
	const char *text = r->txt[doc];
	if (!text) {
		if (!(tmp = rp_malloc(len))) return RP_ENOMEM;
		if (rp_pread_all(r->spill_fd, tmp, len, r->txt_at[doc])) { rp_free(tmp); return RP_EIO; }
		text = tmp;
	}
	rp_tokens t;
	memset(&t, 0, sizeof t);
	int rc = rp_tokenize(text, len, r->p.char_shingles, r->p.seed, &t, NULL);
	rp_free(tmp);
	if (!rc && t.n != n) rc = RP_EDATA;
	/* *cap counts the buffer's own elements: 8-byte hashes, 4-byte spans */
	if (!rc && rp_grow(buf, cap, n ? (starts_ends ? 2 * n : n) : 1, starts_ends ? 4 : 8)) rc = RP_ENOMEM;
	if (!rc && !starts_ends) memcpy(*buf, t.hash, n * 8);
	if (!rc && starts_ends) memcpy(*buf, t.start, n * 4), memcpy((char *)*buf + n * 4, t.end, n * 4);
	rp_tokens_free(&t);
	return rc;
}

static int read_hashes(rp_reuse *r, uint32_t doc, int copy, uint64_t **buf, size_t *cap, const uint64_t **out)
{
	size_t n = r->ntok[doc];
	if (r->txt_len[doc]) {
		int rc = read_kept(r, doc, 0, (void **)buf, cap);
		*out = *buf;
		return rc;
	}
	const char *at = r->mem[doc] ? r->mem[doc] : r->map ? r->map + r->spill_at[doc] : NULL;
	if (at && !copy) {
		*out = (const uint64_t *)at;
		return 0;
	}
	if (rp_grow((void **)buf, cap, n ? n : 1, sizeof **buf)) return RP_ENOMEM;
	if (at) memcpy(*buf, at, n * 8);
	else if (n && rp_pread_all(r->spill_fd, *buf, n * 8, r->spill_at[doc])) return RP_EIO;
	*out = *buf;
	return 0;
}

/* Spans of document doc's tokens, pointing into its record or into *buf. */
static int read_spans(rp_reuse *r, uint32_t doc, uint32_t **buf, size_t *cap, spans *out)
{
	size_t n = r->ntok[doc];
	int wide = r->wide[doc];
	const char *at = NULL;
	memset(out, 0, sizeof *out);
	if (r->txt_len[doc]) {
		int rc = read_kept(r, doc, 1, (void **)buf, cap);
		out->st = *buf, out->en = *buf + n;
		return rc;
	}
	at = r->mem[doc] ? r->mem[doc] : r->map ? r->map + r->spill_at[doc] : NULL;
	if (at) at += n * 8;
	else {
		size_t bytes = span_bytes(n, wide);
		if (rp_grow((void **)buf, cap, bytes / 4 + 1, sizeof **buf)) return RP_ENOMEM;
		if (n && rp_pread_all(r->spill_fd, *buf, bytes, r->spill_at[doc] + n * 8)) return RP_EIO;
		at = (const char *)*buf;
	}
	if (wide) out->st = (const uint32_t *)at, out->en = (const uint32_t *)at + n;
	else out->ck = (const uint32_t *)at, out->gl = (const uint8_t *)at + 4 * ((n + SPAN_BLOCK - 1) / SPAN_BLOCK);
	return 0;
}

/* Token hashes of document doc into w->ref (cached). */
static int load_ref(rp_reuse *r, worker *w, uint32_t doc)
{
	if (w->ref_doc == (int64_t)doc) return 0;
	w->ref_doc = -1;
	/* after the masking, its unmasked copy (keep_refs) */
	for (size_t lo = 0, hi = r->norig; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->orig_doc[mid] == doc) {
			w->ref = r->orig[mid];
			w->ref_n = r->ntok[doc];
			w->ref_doc = doc;
			return 0;
		}
		if (r->orig_doc[mid] < doc) lo = mid + 1;
		else hi = mid;
	}
	int rc = read_hashes(r, doc, 0, &w->ref_buf, &w->ref_cap, &w->ref);
	if (rc) return rc;
	w->ref_n = r->ntok[doc];
	w->ref_doc = doc;
	return 0;
}

/* Document doc's boilerplate, from its template hits tpl[lo ..]: each
 * boilerplate fingerprint is extended left and right for as long as the
 * document agrees with the reference documents that share it, so the whole
 * template run is masked, not only the winnowed positions.  The masked
 * tokens, as maximal runs (start, end pairs), into *runs (allocated). */
static int mask_doc(rp_reuse *r, worker *w, uint32_t doc, size_t lo, uint32_t **runs, size_t *nruns)
{
	*runs = NULL;
	*nruns = 0;
	size_t n = r->ntok[doc];
	const uint64_t *t;
	int rc = read_hashes(r, doc, 0, &w->bh, &w->bh_cap, &t);
	if (rc) return rc;
	if (rp_grow((void **)&w->masked, &w->masked_cap, n + 1, 1)) return RP_ENOMEM;
	uint8_t *masked = w->masked;
	memset(masked, 0, n + 1);
	const size_t k = (size_t)r->p.ngram;
	for (size_t i = lo; i < r->ntpl && r->tpl[i].doc == doc; i++) {
		const template_hit *h = &r->tpl[i];
		if (h->pos < n && masked[h->pos]) continue; /* inside a run already masked */
		size_t x = 0, ex = n;
		for (uint32_t q = 0; q < h->nref; q++) {
			if ((rc = load_ref(r, w, h->ref_doc[q]))) return rc;
			size_t lx = h->pos, lex = h->pos + k, y = h->ref_pos[q], ey = h->ref_pos[q] + k;
			while (lx > 0 && y > 0 && t[lx - 1] == w->ref[y - 1]) lx--, y--;
			while (lex < n && ey < w->ref_n && t[lex] == w->ref[ey]) lex++, ey++;
			if (lx > x) x = lx;
			if (lex < ex) ex = lex;
		}
		if (!h->nref || x > h->pos) x = h->pos;
		if (!h->nref || ex < h->pos + k) ex = h->pos + k;
		for (size_t m = x; m < ex && m < n; m++) masked[m] = 1;
	}
	size_t cap = 0;
	for (size_t i = 0; i < n;) {
		if (!masked[i]) { i++; continue; }
		size_t j = i;
		while (j < n && masked[j]) j++;
		if (rp_grow((void **)runs, &cap, 2 * *nruns + 2, sizeof **runs)) {
			rp_free(*runs);
			*runs = NULL;
			return RP_ENOMEM;
		}
		(*runs)[2 * *nruns] = (uint32_t)i;
		(*runs)[2 * *nruns + 1] = (uint32_t)j;
		++*nruns;
		i = j;
	}
	return 0;
}

typedef struct {
	rp_reuse *r;
	const size_t *lo; /* first template hit of each document with some */
	uint32_t **runs;
	size_t *nruns;
	int *rc;
} mask_job;

static void mask_item(void *v, size_t i, int wid)
{
	mask_job *j = v;
	uint32_t doc = j->r->tpl[j->lo[i]].doc;
	j->runs[i] = NULL, j->nruns[i] = 0, j->rc[i] = 0;
	if (j->r->txt_len[doc]) return; /* in no candidate: found when asked for (rp_reuse_template_spans) */
	j->rc[i] = mask_doc(j->r, &j->r->w[wid], doc, j->lo[i], &j->runs[i], &j->nruns[i]);
}

/* Replace document doc's boilerplate token hashes, in its record, by values
 * that match nothing: distinct for every document and position (rp_mix64 is
 * a bijection), so a masked token of one document never equals one of
 * another. */
static int apply_mask(rp_reuse *r, worker *w, uint32_t doc)
{
	uint64_t *h;
	if (r->txt_len[doc]) return 0; /* in no candidate: its tokens are never aligned */
	if (r->mem[doc]) h = (uint64_t *)(uintptr_t)r->mem[doc];
	else {
		const uint64_t *t;
		int rc = read_hashes(r, doc, 1, &w->bh, &w->bh_cap, &t);
		if (rc) return rc;
		h = w->bh;
	}
	for (uint32_t q = r->mask_at[doc]; q < r->mask_at[doc + 1]; q++)
		for (uint32_t i = r->mask_run[2 * q]; i < r->mask_run[2 * q + 1]; i++)
			h[i] = rp_mix64(0x5eedULL ^ ((uint64_t)doc << 32) ^ i);
	if (!r->mem[doc] && rp_pwrite_all(r->spill_fd, h, r->ntok[doc] * 8, r->spill_at[doc])) return RP_EIO;
	return 0;
}

static void apply_item(void *v, size_t i, int wid)
{
	mask_job *j = v;
	j->rc[i] = apply_mask(j->r, &j->r->w[wid], j->r->tpl[j->lo[i]].doc);
}

/* Unmasked copies of the token hashes of the reference documents of the
 * documents whose boilerplate is found only when asked for (kept as text,
 * in no candidate): masking changes the references' records. */
static int keep_refs(rp_reuse *r)
{
	size_t n = 0, cap = 0;
	uint32_t *docs = NULL;
	for (size_t i = 0; i < r->ntpl; i++) {
		if (!r->txt_len[r->tpl[i].doc]) continue;
		if (rp_grow((void **)&docs, &cap, n + TEMPLATE_REFS, sizeof *docs)) { rp_free(docs); return RP_ENOMEM; }
		for (uint32_t q = 0; q < r->tpl[i].nref; q++) docs[n++] = r->tpl[i].ref_doc[q];
	}
	if (!n) return 0;
	qsort(docs, n, sizeof *docs, cmp_u32);
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (!m || docs[i] != docs[m - 1]) docs[m++] = docs[i];
	r->orig_doc = docs;
	if (!(r->orig = rp_malloc_array(m, sizeof *r->orig))) return RP_ENOMEM;
	memset(r->orig, 0, m * sizeof *r->orig);
	r->norig = m;
	for (size_t i = 0; i < m; i++) {
		size_t c = 0;
		const uint64_t *h;
		int rc = read_hashes(r, docs[i], 1, &r->orig[i], &c, &h);
		if (rc) return rc;
	}
	return 0;
}

/* The boilerplate of every document with template hits, on the pool, into
 * r->mask_at and r->mask_run; then masked in the token records (after all
 * are found: finding one reads other documents' unmasked tokens). */
static int mask_all(rp_reuse *r)
{
	size_t nd = 0, total = 0;
	int rc = RP_ENOMEM;
	for (size_t i = 0; i < r->ntpl; i++) nd += !i || r->tpl[i].doc != r->tpl[i - 1].doc;
	mask_job j = {r, NULL, NULL, NULL, NULL};
	size_t *lo = rp_malloc_array(nd ? nd : 1, sizeof *lo);
	j.runs = rp_malloc_array(nd ? nd : 1, sizeof *j.runs);
	if (j.runs) memset(j.runs, 0, (nd ? nd : 1) * sizeof *j.runs);
	j.nruns = rp_malloc_array(nd ? nd : 1, sizeof *j.nruns);
	j.rc = rp_malloc_array(nd ? nd : 1, sizeof *j.rc);
	r->mask_at = rp_malloc_array(r->n + 1, sizeof *r->mask_at);
	if (!lo || !j.runs || !j.nruns || !j.rc || !r->mask_at) goto out;
	nd = 0;
	for (size_t i = 0; i < r->ntpl; i++)
		if (!i || r->tpl[i].doc != r->tpl[i - 1].doc) lo[nd++] = i;
	j.lo = lo;
	rp_pool_run(r->pool, nd, mask_item, &j);
	rc = 0;
	for (size_t i = 0; i < nd; i++) {
		if (j.rc[i] && !rc) rc = j.rc[i];
		total += j.nruns[i];
	}
	if (rc) goto out;
	rc = RP_ENOMEM;
	if (total > UINT32_MAX / 2 || !(r->mask_run = rp_malloc_array(total ? 2 * total : 1, sizeof *r->mask_run)))
		goto out;
	size_t at = 0, d = 0;
	for (size_t x = 0; x < nd; x++) {
		uint32_t doc = r->tpl[lo[x]].doc;
		while (d <= doc) r->mask_at[d++] = (uint32_t)at;
		if (j.nruns[x]) memcpy(r->mask_run + 2 * at, j.runs[x], 2 * j.nruns[x] * sizeof *r->mask_run);
		at += j.nruns[x];
	}
	while (d <= r->n) r->mask_at[d++] = (uint32_t)at;
	for (int i = 0; i < r->nworkers; i++) r->w[i].ref_doc = -1;
	if ((rc = keep_refs(r))) goto out;
	rp_pool_run(r->pool, nd, apply_item, &j);
	rc = 0;
	for (size_t i = 0; i < nd && !rc; i++) rc = j.rc[i];
out:
	if (j.runs)
		for (size_t i = 0; i < nd; i++) rp_free(j.runs[i]);
	rp_free(lo); rp_free(j.runs); rp_free(j.nruns); rp_free(j.rc);
	return rc;
}


/* Distinct shingles of document doc that touch no boilerplate (h: its masked
 * token hashes), counted once and remembered. */
static size_t distinct_clean(rp_reuse *r, worker *w, uint32_t doc, const uint64_t *h)
{
	uint32_t c = atomic_load_explicit(&r->ndist[doc], memory_order_relaxed);
	if (c != UINT32_MAX) return c;
	const size_t k = (size_t)r->p.ngram, n = r->ntok[doc];
	if (rp_grow((void **)&w->sh, &w->sh_cap, n + 1, 8) || rp_grow((void **)&w->masked, &w->masked_cap, n + 1, 1))
		return SIZE_MAX;
	memset(w->masked, 0, n);
	for (uint32_t q = r->mask_at[doc]; q < r->mask_at[doc + 1]; q++)
		memset(w->masked + r->mask_run[2 * q], 1, r->mask_run[2 * q + 1] - r->mask_run[2 * q]);
	size_t ns = rp_shingles(h, n, (int)k, w->sh), m = 0, run = 0;
	/* run: masked tokens inside the current window */
	size_t win = n < k ? n : k;
	for (size_t i = 0; i < win; i++) run += w->masked[i];
	for (size_t i = 0; i < ns; i++) {
		if (i) {
			run -= w->masked[i - 1];
			if (i + win - 1 < n) run += w->masked[i + win - 1];
		}
		if (!run) w->sh[m++] = w->sh[i];
	}
	/* Count them in a hash set (shingle hashes are well mixed: low bits index it). */
	size_t tcap = 16, u = 0, zero = 0;
	while (tcap < (m <= ((size_t)1 << 14) ? 4 : 2) * m) tcap <<= 1; /* load 1/4 while it fits the L2 cache */
	if (rp_grow((void **)&w->set, &w->set_cap, tcap, sizeof *w->set)) return SIZE_MAX;
	memset(w->set, 0, tcap * sizeof *w->set);
	for (size_t i = 0; i < m; i++) {
		uint64_t x = w->sh[i];
		if (!x) { zero = 1; continue; } /* 0 marks an empty slot */
		size_t slot = x & (tcap - 1);
		while (w->set[slot] && w->set[slot] != x) slot = (slot + 1) & (tcap - 1);
		if (!w->set[slot]) w->set[slot] = x, u++;
	}
	u += zero;
	atomic_store_explicit(&r->ndist[doc], (uint32_t)u, memory_order_relaxed);
	return u;
}

static int align_pair(rp_reuse *r, worker *w, uint64_t key, rp_reuse_pair *out)
{
	uint32_t a = (uint32_t)(key >> 32), b = (uint32_t)key;
	int rc;
	memset(out, 0, sizeof *out);
	out->a = a;
	out->b = b;
	/* Pairs come in (a, b) order: a is often the one held from the last pair. */
	if (w->a_doc != (int64_t)a) {
		w->a_doc = -1;
		if ((rc = read_hashes(r, a, 0, &w->ah, &w->ah_cap, &w->a_hash))) return rc;
		if ((rc = rp_aligner_set_a(w->al, w->a_hash, r->ntok[a]))
		    || (rc = rp_aligner_mask(w->al, 0, r->ntok[a], r->mask_run + 2 * (size_t)r->mask_at[a],
		                             r->mask_at[a + 1] - r->mask_at[a])))
			return rc;
		/* With nothing masked, A's distinct clean shingles are the
		 * aligner's table's: distinct_clean need not count them again. */
		if (r->mask_at[a] == r->mask_at[a + 1] && r->ntok[a] >= (uint32_t)r->p.ngram)
			atomic_store_explicit(&r->ndist[a], (uint32_t)rp_aligner_distinct_a(w->al), memory_order_relaxed);
		w->a_doc = a;
		w->a_sp_ok = 0;
	}
	const uint64_t *bh;
	if ((rc = read_hashes(r, b, 0, &w->bh, &w->bh_cap, &bh))) return rc;
	size_t inter;
	if ((rc = rp_aligner_mask(w->al, 1, r->ntok[b], r->mask_run + 2 * (size_t)r->mask_at[b],
	                          r->mask_at[b + 1] - r->mask_at[b])))
		return rc;
	if ((rc = rp_aligner_run(w->al, bh, r->ntok[b], &out->passages, &out->npassages, &inter))) return rc;
	if (!out->npassages) return 0;
	spans bsp;
	if (!w->a_sp_ok && (rc = read_spans(r, a, &w->aspan, &w->aspan_cap, &w->a_sp))) return rc;
	w->a_sp_ok = 1;
	if ((rc = read_spans(r, b, &w->bspan, &w->bspan_cap, &bsp))) return rc;
	for (size_t q = 0; q < out->npassages; q++) {
		rp_passage *p = &out->passages[q];
		uint64_t x;
		span_at(&w->a_sp, p->a_start, &p->a_byte_start, &x);
		span_at(&w->a_sp, p->a_end - 1, &x, &p->a_byte_end);
		span_at(&bsp, p->b_start, &p->b_byte_start, &x);
		span_at(&bsp, p->b_end - 1, &x, &p->b_byte_end);
	}
	size_t na = distinct_clean(r, w, a, w->a_hash), nb = distinct_clean(r, w, b, bh);
	if (na == SIZE_MAX || nb == SIZE_MAX) return RP_ENOMEM;
	out->jaccard = na + nb ? (double)inter / (double)(na + nb - inter) : 0.0;
	out->a_in_b = na ? (double)inter / na : 0.0;
	out->b_in_a = nb ? (double)inter / nb : 0.0;
	return 0;
}

typedef struct { rp_reuse *r; size_t first; } chunk_job;

static void chunk_item(void *v, size_t i, int wid)
{
	chunk_job *j = v;
	rp_reuse *r = j->r;
	/* Start fetching what the pairs this worker most likely aligns next need:
	 * two ahead, B's tokens; four ahead, where they are. */
	size_t next = j->first + i + 2;
	if (next + 2 < r->ncand) {
		uint32_t b4 = (uint32_t)r->cand[next + 2];
		__builtin_prefetch(&r->mem[b4]);
		__builtin_prefetch(&r->ntok[b4]);
		__builtin_prefetch(&r->spill_at[b4]);
	}
	if (next < r->ncand) {
		uint32_t b = (uint32_t)r->cand[next];
		const char *at = r->mem[b] ? r->mem[b] : r->map ? r->map + r->spill_at[b] : NULL;
		if (at)
			for (size_t o = 0; o < 8 && o * 64 < r->ntok[b] * 8; o++) __builtin_prefetch(at + o * 64);
	}
	r->chunk_rc[i] = align_pair(r, &r->w[wid], r->cand[j->first + i], &r->chunk[i]);
}

rp_status rp_reuse_next(rp_reuse *r, const rp_reuse_pair **pairs, size_t *n, rp_error *err)
{
	*pairs = NULL;
	*n = 0;
	if (!r->finished) return rp_set_error(err, RP_EUSAGE, "rp_reuse_next before rp_reuse_finish");
	free_chunk(r);
	while (r->next < r->ncand) {
		size_t m = r->ncand - r->next < CHUNK ? r->ncand - r->next : CHUNK;
		chunk_job j = {r, r->next};
		rp_pool_run(r->pool, m, chunk_item, &j);
		r->next += m;
		size_t kept = 0;
		for (size_t i = 0; i < m; i++) {
			if (r->chunk_rc[i]) {
				int rc = r->chunk_rc[i];
				free_chunk(r);
				if (rc == RP_ENOMEM) return rp_set_error(err, rc, "out of memory");
				return rp_set_error(err, rc, "cannot read the temporary token file: %s",
				                    errno ? strerror(errno) : "it was truncated");
			}
			if (r->chunk[i].npassages) {
				rp_reuse_pair t = r->chunk[i];
				r->chunk[i] = r->chunk[kept];
				r->chunk[kept++] = t;
			} else {
				rp_free(r->chunk[i].passages);
				r->chunk[i].passages = NULL;
			}
		}
		if (kept) {
			*pairs = r->chunk;
			*n = kept;
			return RP_OK;
		}
	}
	return RP_OK;
}

/* The boilerplate of a document in no candidate (kept as text), found now:
 * as mask_all would have, against the references' unmasked tokens. */
static rp_status deferred_spans(rp_reuse *r, worker *w, uint32_t doc, rp_range **out, size_t *nout, rp_error *err)
{
	size_t lo = 0, hi = r->ntpl;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->tpl[mid].doc < doc) lo = mid + 1;
		else hi = mid;
	}
	if (lo == r->ntpl || r->tpl[lo].doc != doc) return RP_OK;
	uint32_t *runs;
	size_t nruns;
	w->ref_doc = -1;
	int rc = mask_doc(r, w, doc, lo, &runs, &nruns);
	w->ref_doc = -1;
	spans sp;
	if (!rc && nruns) rc = read_spans(r, doc, &w->bspan, &w->bspan_cap, &sp);
	if (!rc && nruns && !(*out = rp_malloc_array(nruns, sizeof **out))) rc = RP_ENOMEM;
	if (!rc)
		for (size_t q = 0; q < nruns; q++) {
			uint64_t s, e, x;
			span_at(&sp, runs[2 * q], &s, &x);
			span_at(&sp, runs[2 * q + 1] - 1, &x, &e);
			(*out)[(*nout)++] = (rp_range){s, e};
		}
	rp_free(runs);
	if (rc == RP_ENOMEM) return rp_set_error(err, rc, "out of memory");
	if (rc) return rp_set_error(err, rc, "cannot read the temporary token file");
	return RP_OK;
}

rp_status rp_reuse_template_spans(rp_reuse *r, uint64_t doc, rp_range **out, size_t *nout, rp_error *err)
{
	*out = NULL;
	*nout = 0;
	if (doc >= r->n || !r->finished) return RP_OK;
	worker *w = &r->w[0];
	if (r->txt_len[doc]) return deferred_spans(r, w, (uint32_t)doc, out, nout, err);
	uint32_t lo = r->mask_at[doc], hi = r->mask_at[doc + 1];
	if (lo == hi) return RP_OK;
	spans sp;
	int rc = read_spans(r, (uint32_t)doc, &w->bspan, &w->bspan_cap, &sp);
	if (rc == RP_ENOMEM) return rp_set_error(err, rc, "out of memory");
	if (rc) return rp_set_error(err, RP_EIO, "cannot read the temporary token file");
	*out = rp_malloc_array(hi - lo, sizeof **out);
	if (!*out) return rp_set_error(err, RP_ENOMEM, "out of memory");
	for (uint32_t q = lo; q < hi; q++) {
		uint64_t s, e, x;
		span_at(&sp, r->mask_run[2 * q], &s, &x);
		span_at(&sp, r->mask_run[2 * q + 1] - 1, &x, &e);
		(*out)[(*nout)++] = (rp_range){s, e};
	}
	return RP_OK;
}

void rp_reuse_free(rp_reuse *r)
{
	if (!r) return;
	free_chunk(r);
	rp_free(r->chunk);
	rp_free(r->chunk_rc);
	for (int i = 0; i < r->nworkers; i++) {
		worker *w = &r->w[i];
		rp_tokens_free(&w->tok);
		rp_free(w->shingles); rp_free(w->fp); rp_free(w->post);
		rp_aligner_free(w->al);
		rp_free(w->ah); rp_free(w->bh); rp_free(w->aspan); rp_free(w->bspan);
		rp_free(w->ref_buf); rp_free(w->masked); rp_free(w->sh); rp_free(w->set); rp_free(w->stage); rp_free(w->packed);
		for (size_t c = 0; c < w->nchunks; c++) rp_free(w->chunks[c]);
		rp_free(w->chunks);
	}
	rp_free(r->w);
	if (r->map) munmap((void *)r->map, r->map_len);
	if (atomic_load(&r->spill_fd) >= 0) close(atomic_load(&r->spill_fd));
	pthread_mutex_destroy(&r->spill_lock);
	rp_free(r->tmpdir);
	rp_free(r->spill_at); rp_free(r->wide); rp_free(r->ntok); rp_free(r->nfp); rp_free((void *)r->mem);
	rp_free((void *)r->txt); rp_free(r->txt_at); rp_free(r->txt_len);
	rp_free(r->seen); rp_free(r->seen_doc);
	for (size_t i = 0; i < r->norig && r->orig; i++) rp_free(r->orig[i]);
	rp_free(r->orig); rp_free(r->orig_doc);
	rp_free(r->post); rp_free(r->cand); rp_free(r->tpl); rp_free(r->group);
	rp_free(r->mask_at); rp_free(r->mask_run); rp_free((void *)r->ndist);
	rp_free(r);
}
