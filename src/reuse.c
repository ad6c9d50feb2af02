/* reuse.c — passages reused across a corpus.
 *
 * rp_reuse_add tokenises each document on the pool, winnows its shingle
 * hashes (winnow.c: every shared run of min_words tokens shares a
 * fingerprint), keeps the fingerprints as postings and spills the token
 * stream (hash and byte span of every token) to an unlinked temporary file,
 * so memory holds only the postings and a fixed record per document.
 *
 * rp_reuse_finish sorts the postings by fingerprint.  A fingerprint found in
 * many documents (at least template_df) is a template candidate: if the
 * documents sharing it share little else (median, over pairs of them, of
 * shared fingerprints / fingerprints of the smaller document below 0.5) and
 * none of them is mostly made of it (no pair above 0.9), it is boilerplate (a
 * site's header, footer, share buttons, a signature); if they share most of
 * their text it is one story syndicated widely, and if one document is
 * mostly that text it is a source quoted or excerpted by the others: both
 * stay reuse.  A
 * fingerprint in more than max_df documents is boilerplate outright.
 * Boilerplate fingerprints yield no candidate pairs, and the tokens they
 * cover are masked out of alignment and containment.  Every other pair of
 * documents sharing a fingerprint is a candidate; rp_reuse_next aligns
 * candidates in parallel (align.c) and returns those with at least one
 * passage of min_words tokens, in (a, b) order. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "internal.h"

#define CHUNK 2048 /* candidate pairs aligned per rp_reuse_next call */

typedef struct { uint64_t hash; uint32_t doc, pos; } posting;
/* A boilerplate fingerprint in doc at pos, and where another document has it. */
#define TEMPLATE_REFS 3
typedef struct {
	uint32_t doc, pos;
	uint32_t ref_doc[TEMPLATE_REFS], ref_pos[TEMPLATE_REFS]; /* other documents with it */
	uint32_t nref;
} template_hit;

typedef struct {
	uint64_t *hash;
	uint32_t *start, *end;
	uint8_t *masked;
	size_t n, cap;
} doc_tokens;

typedef struct {
	rp_tokens tok;
	uint64_t *shingles;
	size_t shingles_cap;
	rp_fingerprint *fp;
	size_t fp_cap;
	posting *post; /* this worker's postings of the current batch */
	size_t npost, post_cap;
	doc_tokens a, b;
	uint64_t *ref;           /* token hashes of a template's reference document */
	size_t ref_cap, ref_n;
	int64_t ref_doc;
	uint64_t *sa, *sb;
	size_t sa_cap, sb_cap;
	int64_t a_doc;     /* the document held in a (masked), -1 if none */
	size_t sa_n;       /* its clean shingle set in sa, SIZE_MAX if not computed */
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
	int spill_fd;
	_Atomic uint64_t spill_end;
	posting *post;
	size_t npost, post_cap;
	/* after finish */
	uint64_t *cand; /* candidate pairs a << 32 | b, sorted */
	size_t ncand, next;
	template_hit *tpl; /* boilerplate fingerprints, sorted by doc then pos */
	uint32_t *group;   /* optional: site of each document (0: none) */
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
	r->spill_fd = -1;
	r->w = rp_malloc_array((size_t)r->nworkers, sizeof *r->w);
	if (!r->w) { rp_free(r); return rp_set_error(err, RP_ENOMEM, "out of memory"); }
	memset(r->w, 0, (size_t)r->nworkers * sizeof *r->w);
	for (int i = 0; i < r->nworkers; i++) r->w[i].ref_doc = r->w[i].a_doc = -1;
	if ((r->spill_fd = rp_spill_open(q.tmpdir, "tokens", err)) < 0) {
		rc = err ? err->code : RP_EIO;
		rp_reuse_free(r);
		return rc;
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

static int add_one(rp_reuse *r, worker *w, size_t seq, const char *text, size_t len, rp_error *err)
{
	int rc = rp_tokenize(text, len, r->p.char_shingles, r->p.seed, &w->tok, err);
	if (rc) return rc;
	size_t n = w->tok.n;
	if (n > UINT32_MAX - 1) return rp_set_error(err, RP_EDATA, "too many tokens in one document");
	r->ntok[seq] = (uint32_t)n;
	if (!n) return 0;
	uint64_t bytes = n * 16, at = atomic_fetch_add(&r->spill_end, bytes);
	r->spill_at[seq] = at;
	if (rp_pwrite_all(r->spill_fd, w->tok.hash, n * 8, at) || rp_pwrite_all(r->spill_fd, w->tok.start, n * 4, at + n * 8)
	    || rp_pwrite_all(r->spill_fd, w->tok.end, n * 4, at + n * 12))
		return rp_set_error(err, RP_EIO, "cannot write the temporary token file: %s", strerror(errno));
	if (rp_grow((void **)&w->shingles, &w->shingles_cap, n, sizeof *w->shingles)
	    || rp_grow((void **)&w->fp, &w->fp_cap, n, sizeof *w->fp))
		return rp_set_error(err, RP_ENOMEM, "out of memory");
	size_t ns = rp_shingles(w->tok.hash, n, r->p.ngram, w->shingles);
	/* A document shorter than min_words cannot hold a passage. */
	size_t nf = n >= (size_t)r->o.min_words ? rp_winnow(w->shingles, ns, r->window, w->fp) : 0;
	r->nfp[seq] = (uint32_t)nf;
	if (rp_grow((void **)&w->post, &w->post_cap, w->npost + nf, sizeof *w->post))
		return rp_set_error(err, RP_ENOMEM, "out of memory");
	for (size_t i = 0; i < nf; i++) w->post[w->npost++] = (posting){w->fp[i].hash, (uint32_t)seq, w->fp[i].pos};
	return 0;
}

static void add_item(void *v, size_t i, int wid)
{
	add_job *j = v;
	rp_reuse *r = j->r;
	size_t seq = j->base + i;
	r->ntok[seq] = r->nfp[seq] = 0;
	r->spill_at[seq] = 0;
	if (j->bad && j->bad[i]) { j->status[i] = 0; return; }
	j->status[i] = add_one(r, &r->w[wid], seq, j->texts[i], j->lens[i], &j->errs[i]);
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
		if (!(q = rp_realloc_array(r->ntok, cap, sizeof *r->ntok))) goto nomem;
		r->ntok = q;
		if (!(q = rp_realloc_array(r->nfp, cap, sizeof *r->nfp))) goto nomem;
		r->nfp = q;
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
	for (int w = 0; w < r->nworkers && !rc; w++) {
		if (rp_grow((void **)&r->post, &r->post_cap, r->npost + r->w[w].npost, sizeof *r->post)) {
			rc = rp_set_error(err, RP_ENOMEM, "out of memory");
			break;
		}
		if (r->w[w].npost) memcpy(r->post + r->npost, r->w[w].post, r->w[w].npost * sizeof *r->post);
		r->npost += r->w[w].npost;
	}
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

static int cmp_doc_pos(const void *x, const void *y)
{
	const template_hit *a = x, *b = y;
	if (a->doc != b->doc) return a->doc < b->doc ? -1 : 1;
	return (a->pos > b->pos) - (a->pos < b->pos);
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

/* Are the documents docs[0..m) all of one named group? */
static int one_group(const rp_reuse *r, const uint32_t *docs, size_t m)
{
	if (!r->group || m < 2 || !r->group[docs[0]]) return 0;
	for (size_t i = 1; i < m; i++)
		if (r->group[docs[i]] != r->group[docs[0]]) return 0;
	return 1;
}

rp_status rp_reuse_finish(rp_reuse *r, rp_error *err)
{
	if (r->finished) return RP_OK;
	int rc = RP_ENOMEM;
	uint32_t *docs = NULL;
	uint64_t *pairs = NULL;
	size_t npairs = 0, pairs_cap = 0, cand_cap = 0, tpl_cap = 0;
	uint8_t *is_tpl = NULL;
	uint64_t *by_doc = NULL;
	size_t *doc_at = NULL;
	size_t ngroups = 0;
	if (r->npost) qsort(r->post, r->npost, sizeof *r->post, cmp_posting);
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
	for (size_t lo = 0, hi; lo < r->npost; lo = hi, ngroups++)
		for (hi = lo + 1; hi < r->npost && r->post[hi].hash == r->post[lo].hash; hi++) {}
	/* 2. boilerplate: widely shared fingerprints whose documents share little else */
	is_tpl = rp_malloc(ngroups ? ngroups : 1);
	if (!is_tpl) goto out;
	size_t g = 0;
	for (size_t lo = 0, hi; lo < r->npost; lo = hi, g++) {
		for (hi = lo + 1; hi < r->npost && r->post[hi].hash == r->post[lo].hash; hi++) {}
		size_t m = group_docs(r->post, lo, hi, docs);
		is_tpl[g] = 0;
		if (m > (size_t)r->o.max_df || one_group(r, docs, m)) is_tpl[g] = 1;
		else if (m >= (size_t)r->o.template_df) {
			double ratio[64];
			size_t nr = 0;
			for (size_t x = 1; x < m && nr < 64; x++) {
				uint32_t a = docs[x - 1], b = docs[x];
				size_t shared = shared_count(by_doc + doc_at[a], doc_at[a + 1] - doc_at[a], by_doc + doc_at[b],
				                             doc_at[b + 1] - doc_at[b]);
				size_t na = doc_at[a + 1] - doc_at[a], nb = doc_at[b + 1] - doc_at[b], small = na < nb ? na : nb;
				ratio[nr++] = small ? (double)shared / small : 1.0;
			}
			if (nr) qsort(ratio, nr, sizeof *ratio, cmp_double);
			/* Boilerplate: most pairs share little else, and no document is
			 * mostly this passage (a quoted post, the original of excerpts:
			 * then the others reuse it). */
			is_tpl[g] = nr && ratio[nr / 2] < 0.5 && ratio[nr - 1] < 0.9;
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
	/* 3. candidates: pairs sharing a fingerprint that is not boilerplate */
	npairs = 0;
	g = 0;
	for (size_t lo = 0, hi; lo < r->npost; lo = hi, g++) {
		for (hi = lo + 1; hi < r->npost && r->post[hi].hash == r->post[lo].hash; hi++) {}
		if (is_tpl[g]) continue;
		size_t m = group_docs(r->post, lo, hi, docs);
		if (m >= 2 && emit_pairs(docs, m, &pairs, &npairs, &pairs_cap)) goto out;
	}
	if (rp_sort_u64(pairs, npairs)) goto out;
	for (size_t i = 0; i < npairs; i++)
		if (!i || pairs[i] != pairs[i - 1]) {
			if (rp_grow((void **)&r->cand, &cand_cap, r->ncand + 1, sizeof *r->cand)) goto out;
			r->cand[r->ncand++] = pairs[i];
		}
	r->chunk = rp_malloc_array(CHUNK, sizeof *r->chunk);
	r->chunk_rc = rp_malloc_array(CHUNK, sizeof *r->chunk_rc);
	if (!r->chunk || !r->chunk_rc) goto out;
	memset(r->chunk, 0, CHUNK * sizeof *r->chunk);
	rp_free(r->post); /* postings are no longer needed */
	r->post = NULL;
	r->npost = r->post_cap = 0;
	r->finished = 1;
	rc = RP_OK;
out:
	if (rc) rp_set_error(err, rc, "out of memory");
	rp_free(docs);
	rp_free(pairs);
	rp_free(is_tpl);
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

size_t rp_reuse_candidates(const rp_reuse *r) { return r->ncand; }
size_t rp_reuse_template_fingerprints(const rp_reuse *r) { return r->template_groups; }

/* Token hashes of document doc into w->ref (cached). */
static int load_ref(rp_reuse *r, worker *w, uint32_t doc)
{
	if (w->ref_doc == (int64_t)doc) return 0;
	size_t n = r->ntok[doc];
	if (rp_grow((void **)&w->ref, &w->ref_cap, n ? n : 1, sizeof *w->ref)) return RP_ENOMEM;
	if (n && rp_pread_all(r->spill_fd, w->ref, n * 8, r->spill_at[doc])) return RP_EIO;
	w->ref_n = n;
	w->ref_doc = doc;
	return 0;
}

/* Load document doc's tokens and mark its boilerplate: each boilerplate
 * fingerprint is extended left and right for as long as the document agrees
 * with the reference document that shares it, so the whole template run is
 * masked, not only the winnowed positions. */
static int load_doc(rp_reuse *r, worker *w, uint32_t doc, doc_tokens *t)
{
	size_t n = r->ntok[doc];
	if (t->cap < n) {
		size_t cap = n;
		void *q;
		if (!(q = rp_realloc_array(t->hash, cap, 8))) return RP_ENOMEM;
		t->hash = q;
		if (!(q = rp_realloc_array(t->start, cap, 4))) return RP_ENOMEM;
		t->start = q;
		if (!(q = rp_realloc_array(t->end, cap, 4))) return RP_ENOMEM;
		t->end = q;
		if (!(q = rp_realloc_array(t->masked, cap, 1))) return RP_ENOMEM;
		t->masked = q;
		t->cap = cap;
	}
	t->n = n;
	if (!n) return 0;
	uint64_t at = r->spill_at[doc];
	if (rp_pread_all(r->spill_fd, t->hash, n * 8, at) || rp_pread_all(r->spill_fd, t->start, n * 4, at + n * 8)
	    || rp_pread_all(r->spill_fd, t->end, n * 4, at + n * 12))
		return RP_EIO;
	memset(t->masked, 0, n);
	size_t lo = 0, hi = r->ntpl;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (r->tpl[mid].doc < doc) lo = mid + 1;
		else hi = mid;
	}
	const size_t k = (size_t)r->p.ngram;
	for (size_t i = lo; i < r->ntpl && r->tpl[i].doc == doc; i++) {
		const template_hit *h = &r->tpl[i];
		if (h->pos < n && t->masked[h->pos]) continue; /* inside a run already masked */
		size_t x = 0, ex = n;
		for (uint32_t q = 0; q < h->nref; q++) {
			int rc = load_ref(r, w, h->ref_doc[q]);
			if (rc) return rc;
			size_t lx = h->pos, lex = h->pos + k, y = h->ref_pos[q], ey = h->ref_pos[q] + k;
			while (lx > 0 && y > 0 && t->hash[lx - 1] == w->ref[y - 1]) lx--, y--;
			while (lex < n && ey < w->ref_n && t->hash[lex] == w->ref[ey]) lex++, ey++;
			if (lx > x) x = lx;
			if (lex < ex) ex = lex;
		}
		if (!h->nref || x > h->pos) x = h->pos;
		if (!h->nref || ex < h->pos + k) ex = h->pos + k;
		for (size_t m = x; m < ex && m < n; m++) t->masked[m] = 1;
	}
	return 0;
}

/* Sorted distinct shingles of t that touch no masked token. */
static size_t clean_shingles(const rp_reuse *r, const doc_tokens *t, uint64_t *out)
{
	const size_t k = (size_t)r->p.ngram;
	size_t ns = rp_shingles(t->hash, t->n, (int)k, out), m = 0, run = 0;
	/* run: masked tokens inside the current window */
	size_t w = t->n < k ? t->n : k;
	for (size_t i = 0; i < w; i++) run += t->masked[i];
	for (size_t i = 0; i < ns; i++) {
		if (i) {
			run -= t->masked[i - 1];
			if (i + w - 1 < t->n) run += t->masked[i + w - 1];
		}
		if (!run) out[m++] = out[i];
	}
	return rp_sort_unique_u64(out, m);
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
		if ((rc = load_doc(r, w, a, &w->a))) return rc;
		/* Masked tokens get values that match nothing. */
		for (size_t i = 0; i < w->a.n; i++)
			if (w->a.masked[i]) w->a.hash[i] = rp_mix64(0x5eedULL ^ ((uint64_t)a << 32) ^ i);
		w->a_doc = a;
		w->sa_n = SIZE_MAX;
	}
	if ((rc = load_doc(r, w, b, &w->b))) return rc;
	for (size_t i = 0; i < w->b.n; i++)
		if (w->b.masked[i]) w->b.hash[i] = rp_mix64(0xb0b0ULL ^ ((uint64_t)b << 32) ^ i ^ (1ULL << 63));
	rp_align_opts ao = {r->p.ngram, 8, r->o.min_words};
	rp_error e;
	if ((rc = rp_align(w->a.hash, w->a.n, w->b.hash, w->b.n, &ao, &out->passages, &out->npassages, &e))) return rc;
	if (!out->npassages) return 0;
	for (size_t q = 0; q < out->npassages; q++) {
		rp_passage *p = &out->passages[q];
		p->a_byte_start = w->a.start[p->a_start];
		p->a_byte_end = w->a.end[p->a_end - 1];
		p->b_byte_start = w->b.start[p->b_start];
		p->b_byte_end = w->b.end[p->b_end - 1];
	}
	if (w->sa_n == SIZE_MAX) {
		if (rp_grow((void **)&w->sa, &w->sa_cap, w->a.n + 1, 8)) return RP_ENOMEM;
		if ((w->sa_n = clean_shingles(r, &w->a, w->sa)) == SIZE_MAX) return RP_ENOMEM;
	}
	if (rp_grow((void **)&w->sb, &w->sb_cap, w->b.n + 1, 8)) return RP_ENOMEM;
	size_t na = w->sa_n, nb = clean_shingles(r, &w->b, w->sb), inter = 0;
	if (nb == SIZE_MAX) return RP_ENOMEM;
	for (size_t i = 0, j = 0; i < na && j < nb;) {
		if (w->sa[i] < w->sb[j]) i++;
		else if (w->sa[i] > w->sb[j]) j++;
		else inter++, i++, j++;
	}
	out->jaccard = na + nb ? (double)inter / (double)(na + nb - inter) : 0.0;
	out->a_in_b = na ? (double)inter / na : 0.0;
	out->b_in_a = nb ? (double)inter / nb : 0.0;
	return 0;
}

typedef struct { rp_reuse *r; size_t first; } chunk_job;

static void chunk_item(void *v, size_t i, int wid)
{
	chunk_job *j = v;
	j->r->chunk_rc[i] = align_pair(j->r, &j->r->w[wid], j->r->cand[j->first + i], &j->r->chunk[i]);
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

rp_status rp_reuse_template_spans(rp_reuse *r, uint64_t doc, rp_range **out, size_t *nout, rp_error *err)
{
	*out = NULL;
	*nout = 0;
	if (doc >= r->n || !r->finished) return RP_OK;
	worker *w = &r->w[0];
	w->a_doc = -1; /* w->a is reused here, unmasked */
	int rc = load_doc(r, w, (uint32_t)doc, &w->a);
	if (rc) return rp_set_error(err, rc, rc == RP_ENOMEM ? "out of memory" : "cannot read the temporary token file");
	size_t cap = 0;
	for (size_t i = 0; i < w->a.n;) {
		if (!w->a.masked[i]) { i++; continue; }
		size_t j = i;
		while (j < w->a.n && w->a.masked[j]) j++;
		if (rp_grow((void **)out, &cap, *nout + 1, sizeof **out)) {
			rp_free(*out);
			*out = NULL;
			return rp_set_error(err, RP_ENOMEM, "out of memory");
		}
		(*out)[(*nout)++] = (rp_range){w->a.start[i], w->a.end[j - 1]};
		i = j;
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
		rp_free(w->a.hash); rp_free(w->a.start); rp_free(w->a.end); rp_free(w->a.masked);
		rp_free(w->b.hash); rp_free(w->b.start); rp_free(w->b.end); rp_free(w->b.masked);
		rp_free(w->sa); rp_free(w->sb); rp_free(w->ref);
	}
	rp_free(r->w);
	if (r->spill_fd >= 0) close(r->spill_fd);
	rp_free(r->spill_at); rp_free(r->ntok); rp_free(r->nfp);
	rp_free(r->post); rp_free(r->cand); rp_free(r->tpl); rp_free(r->group);
	rp_free(r);
}
