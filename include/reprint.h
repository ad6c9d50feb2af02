/* reprint.h — the one public header of libreprint.
 *
 * reprint finds reprinted text: near-duplicate documents (dedup) and, later,
 * passages reused across documents.  The pipeline is
 *   reader -> normalize (tokens with byte spans) -> shingle -> sketch -> lsh
 *   -> candidates -> verify -> cluster
 * Every fallible call returns an rp_status (0 on success) and fills an
 * rp_error supplied by the caller.  The library never prints, never exits and
 * keeps no mutable global state; all allocation goes through rp_alloc hooks. */
#ifndef REPRINT_H
#define REPRINT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RP_VERSION "0.1.0"
#define RP_NORM_VERSION 1 /* bump when tokens or token hashes change */

/* ---- errors ------------------------------------------------------------ */
typedef int rp_status;
enum {
	RP_OK = 0,
	RP_ENOMEM = -1, /* allocation failed */
	RP_EIO = -2,    /* read/write/open failed */
	RP_EDATA = -3,  /* bad input record or stream */
	RP_EUSAGE = -4, /* bad parameter */
	RP_EINTR = -5   /* interrupted by the caller's cancel flag */
};

typedef struct rp_error {
	int code;          /* one of RP_E*, 0 if no error */
	char message[512]; /* what went wrong, without the position */
	char file[512];    /* input name ("-" for stdin), empty if none */
	uint64_t line;     /* 1-based line number, 0 if not applicable */
	uint64_t byte;     /* 0-based byte offset in the (decompressed) stream */
} rp_error;

/* Format "file:line:byte: message", or "file: byte N: message" when the
 * line is unknown (a whole-file document's line is inside that file), or
 * "file: message", or the message alone, into buf; returns buf. */
const char *rp_error_format(const rp_error *err, char *buf, size_t size);

/* ---- allocation hook --------------------------------------------------- */
/* All allocation in the library goes through these.  rp_alloc_set() is meant
 * for tests (fail the Nth allocation); it must be called before any handle
 * exists.  NULL restores malloc/realloc/free. */
typedef struct rp_allocator {
	void *(*malloc_fn)(void *ctx, size_t size);
	void *(*realloc_fn)(void *ctx, void *ptr, size_t size);
	void (*free_fn)(void *ctx, void *ptr);
	void *ctx;
} rp_allocator;
void rp_alloc_set(const rp_allocator *a);

/* ---- parameters -------------------------------------------------------- */
/* How a candidate pair is checked against the threshold.
 * AUTO: the Jaccard estimated from the whole signature decides, unless it lies
 *       within 3 standard errors of the threshold; then the exact Jaccard of
 *       the two shingle sets decides (sets are spilled to a temporary file).
 * ESTIMATE: the estimate alone; nothing is spilled.
 * EXACT: the exact Jaccard for every pair. */
enum { RP_VERIFY_AUTO = 0, RP_VERIFY_ESTIMATE = 1, RP_VERIFY_EXACT = 2 };

typedef struct rp_params {
	int ngram;          /* shingle length in tokens (word mode) or chars (char mode), default 5 */
	int char_shingles;  /* 0: word n-grams; 1: character n-grams */
	int num_perm;       /* sketch size K, default 128 */
	int bands, rows;    /* LSH banding; 0,0 = chosen from threshold for recall >= 0.98 */
	double threshold;   /* Jaccard threshold, default 0.8 */
	int verify;         /* RP_VERIFY_AUTO (default), RP_VERIFY_ESTIMATE or RP_VERIFY_EXACT */
	int keep_longest;   /* 0: representative = first in input order; 1: longest (ties: first) */
	uint64_t seed;      /* hash seed, default 0 */
	const char *tmpdir; /* where AUTO and EXACT spill shingle sets; NULL: $TMPDIR or /tmp */
} rp_params;

void rp_params_default(rp_params *p);
/* Checks ranges and fills bands/rows when they are 0. */
rp_status rp_params_resolve(rp_params *p, rp_error *err);
/* Probability that a pair of Jaccard s becomes an LSH candidate. */
double rp_lsh_probability(int bands, int rows, double s);
/* Bands and rows for threshold t with K values: the largest r such that
 * b = K / r gives P(candidate | t) >= 0.98. */
void rp_lsh_choose(double t, int num_perm, int *bands, int *rows);

/* The memory this process may use: the least of the physical memory, the
 * address-space limit (ulimit -v) and its memory cgroup's limit (v1 or v2,
 * the cgroup's own and its ancestors': in a container, the container's). */
uint64_t rp_memory_limit(void);

/* ---- thread pool ------------------------------------------------------- */
typedef struct rp_pool rp_pool;
/* nthreads <= 0: the cores this process may run on (taskset, cpusets), or
 * its cgroup's CPU quota rounded up when that is lower (a container's CPUs). */
rp_pool *rp_pool_new(int nthreads);
int rp_pool_size(const rp_pool *pool);
/* Run fn(arg, i, worker) for every i in [0, n) on the pool's threads and the
 * calling thread; returns when all are done.  worker is in [0, size), 0 the
 * caller, for per-thread scratch. */
void rp_pool_run(rp_pool *pool, size_t n, void (*fn)(void *arg, size_t i, int worker), void *arg);
/* Have the next job the pool runs (whoever starts it: rp_dedup_add,
 * rp_reuse_add, ...) first call side(arg) on the calling thread, while the
 * pool's other threads start on the job's items; the caller then joins
 * them.  A reader overlaps the next batch's reading with this batch's work
 * so, with no thread of its own.  side NULL cancels; a job started with
 * side set clears it. */
void rp_pool_side(rp_pool *pool, void (*side)(void *arg), void *arg);
void rp_pool_free(rp_pool *pool);

/* ---- tokens ------------------------------------------------------------ */
typedef struct rp_tokens {
	size_t n, cap;
	uint64_t *hash;  /* n token hashes */
	uint32_t *start; /* n byte offsets: token i covers [start[i], end[i]) of the text */
	uint32_t *end;
	struct rp_tok_scratch *scratch; /* private buffers reused across calls */
} rp_tokens;

/* An rp_tokens starts zeroed ({0}) and is reused across calls; rp_tokens_free
 * releases it.  Normalise UTF-8 text into tokens (NFKC + case folding; see docs/NORMALIZATION.md).
 * Texts are limited to 4 GiB - 1.  char_tokens: each word character is a token.
 * Returns RP_EDATA for invalid UTF-8 or a NUL byte (err->byte says where). */
rp_status rp_tokenize(const char *text, size_t len, int char_tokens, uint64_t seed,
                      rp_tokens *out, rp_error *err);
void rp_tokens_free(rp_tokens *t);
/* Hash of one already-normalised token (pins the on-disk token hash). */
uint64_t rp_token_hash(const char *utf8, size_t len, uint64_t seed);

/* ---- shingles and sketches --------------------------------------------- */
/* Shingle hashes of n consecutive tokens (rolling, O(1) per token).  A stream
 * shorter than n gives one shingle of all its tokens; an empty one gives none.
 * out must have room for max(1, ntok - n + 1) values.  Returns the count. */
size_t rp_shingles(const uint64_t *tok, size_t ntok, int n, uint64_t *out);
/* One-permutation MinHash with optimal densification: K 32-bit values. An
 * empty shingle set gives all RP_SIG_EMPTY. */
#define RP_SIG_EMPTY 0xffffffffu
#define RP_MAX_PERM 1024 /* largest K */
void rp_sketch(const uint64_t *shingles, size_t n, int K, uint64_t seed, uint32_t *sig);
/* Fraction of equal positions of two signatures. */
double rp_sig_jaccard(const uint32_t *a, const uint32_t *b, int K);
/* Exact Jaccard of two sorted, duplicate-free hash sets. */
double rp_set_jaccard(const uint64_t *a, size_t na, const uint64_t *b, size_t nb);

/* LSH band key of band `band`: XXH3-64 of its rows values, seeded with the
 * band number (what rp_dedup buckets on; for engines that shuffle keys). */
uint64_t rp_band_key(const uint32_t *sig, int band, int rows);

/* Everything rp_dedup keeps of one text, for engines that distribute the work
 * (the Spark job): the K-value signature into sig (K = p->num_perm), the
 * number of distinct-or-not shingles (0: the text has no token; such texts
 * match only texts with identical bytes, compared by *content, a hash of the
 * bytes, and length).  scratch is reused across calls (start it zeroed). */
rp_status rp_sketch_text(const char *text, size_t len, const rp_params *p, rp_tokens *scratch, uint32_t *sig,
                         size_t *nshingles, uint64_t *content, rp_error *err);
/* Exact Jaccard of the shingle sets of two texts under p, over the low 32
 * bits of each shingle hash: the value rp_dedup's exact checks compute. */
rp_status rp_text_jaccard(const char *a, size_t alen, const char *b, size_t blen, const rp_params *p, double *j,
                          rp_error *err);
/* RP_VERIFY_AUTO trusts an estimate e when |e - threshold| > this margin
 * (3 standard errors at the threshold plus 1/K); otherwise the exact Jaccard
 * decides.  A pair is a duplicate when the deciding value >= threshold. */
double rp_verify_margin(const rp_params *p);

/* ---- reader ------------------------------------------------------------ */
typedef enum { RP_FORMAT_AUTO = 0, RP_FORMAT_JSONL, RP_FORMAT_LINES, RP_FORMAT_FILE } rp_format;

typedef struct rp_reader_opts {
	rp_format format;       /* AUTO: JSON Lines for files, one document per file under directories */
	const char *text_field; /* dotted path, default "text" */
	const char *id_field;   /* dotted path, default "id" */
	size_t max_record;      /* longest record accepted in bytes, default 64 MiB */
} rp_reader_opts;
#define RP_MAX_EXTRA 2

/* Every pointer in an rp_record (text, id, raw, file) stays valid only until
 * the next rp_reader_next call on the same reader. */
typedef struct rp_record {
	uint64_t seq;        /* 0, 1, 2, ... across all inputs */
	const char *text;    /* decoded UTF-8 text (valid until the next call) */
	size_t text_len;
	const char *id;      /* id: id field, else path (files), else PATH:LINE */
	size_t id_len;
	int id_is_number;    /* id came from a JSON number: print it unquoted */
	const char *raw;     /* the record's original bytes (JSON line w/o newline, line, or file) */
	size_t raw_len;
	const char *file;    /* input name */
	uint64_t line;       /* 1-based line of the record (0 for whole files) */
	uint64_t byte;       /* byte offset of the record in the decompressed stream */
	int bad;             /* nonzero: the record is bad; reason in err of rp_reader_next */
	const char *extra[2]; /* the extra fields' values (string decoded, or number text); NULL if absent */
	size_t extra_len[2];
	/* Where the text lies in its input, for a caller that reads it again later
	 * instead of keeping it (rp_dedup_set_fetch): when text_seekable, the
	 * input is an uncompressed regular file open as descriptor fd (valid until
	 * the next call: dup it to keep it) and the text is its bytes [text_byte,
	 * text_byte + text_raw_len): the line itself, or when text_quoted the JSON
	 * string with its quotes, which rp_json_text decodes as the reader did. */
	int text_seekable, text_quoted, fd;
	uint64_t file_no;    /* the files opened before this record's (0, 1, 2, ...) */
	uint64_t text_byte;
	size_t text_raw_len;
	int crlf;            /* the line ended in "\r\n" (raw holds neither) */
	int id_default;      /* the id is PATH:LINE: the record has no id field (or is not JSON) */
} rp_record;

typedef struct rp_reader rp_reader;
rp_status rp_reader_new(rp_reader **out, const char *const *inputs, size_t ninputs,
                        const rp_reader_opts *opts, rp_error *err);
/* Next record.  Returns 1 and fills rec; 0 at the end of all input; <0 on a
 * fatal stream error (unreadable file, truncated gzip), after which every
 * later call returns the same error.  A bad record (invalid
 * JSON, missing text field, invalid UTF-8, NUL byte, record too long) is
 * returned with rec->bad = 1 and err filled; its id falls back to PATH:LINE and
 * reading continues with the next record. */
int rp_reader_next(rp_reader *r, rp_record *rec, rp_error *err);
void rp_reader_free(rp_reader *r);
/* Also pick JSON field `path` (dotted) of every record into rec->extra[k]
 * (k < RP_MAX_EXTRA), e.g. a date or a site name; call before the first
 * rp_reader_next.  A record whose field is not a string, number or null is
 * bad; null is as if the field were absent (rec->extra[k] NULL). */
rp_status rp_reader_set_extra(rp_reader *r, int k, const char *path, rp_error *err);
/* Have JSON texts with escapes decoded straight into the caller's buffer, at
 * *buf + *len, instead of the reader's own (one copy fewer for a caller that
 * gathers texts in one buffer): rec->text then points there.  *buf is grown
 * with rp_realloc as needed (*cap its size); the reader never changes *len,
 * the caller advances it past the texts it keeps.  A text without escapes
 * still points into the reader's line.  buf NULL: back to the reader's own
 * buffer.  The three pointers must stay valid while set. */
void rp_reader_set_text_sink(rp_reader *r, char **buf, size_t *len, size_t *cap);
/* Decode the JSON string `quoted` (len bytes, its quotes included, as an
 * rp_record's text_byte and text_raw_len locate it) as the reader decodes a
 * text field: *text points into quoted when it has no escapes, else into
 * *buf, grown with rp_realloc (*cap its size).  RP_EDATA if it is not one
 * such string.  Thread-safe. */
rp_status rp_json_text(const char *quoted, size_t len, char **buf, size_t *cap, const char **text,
                       size_t *text_len, rp_error *err);

/* ---- dedup ------------------------------------------------------------- */
typedef struct rp_dedup rp_dedup;

typedef struct rp_dedup_result {
	uint64_t cluster;   /* seq of the representative */
	int duplicate;      /* 1 if not the representative */
	double similarity;  /* Jaccard to the representative, by the rule that verifies pairs: exact (RP_VERIFY_EXACT, or AUTO near the threshold) or estimated */
} rp_dedup_result;

rp_status rp_dedup_new(rp_dedup **out, const rp_params *p, rp_pool *pool, rp_error *err);
/* Add n documents with consecutive seqs starting at the next free seq; texts
 * are tokenised and sketched on the pool.  bad[i] != 0 marks an errored record
 * that takes a seq but never joins a cluster. */
rp_status rp_dedup_add(rp_dedup *d, size_t n, const char *const *texts, const size_t *lens,
                       const int *bad, rp_error *err);
/* The exact checks of RP_VERIFY_AUTO and RP_VERIFY_EXACT need the shingles
 * of the documents they compare, which rp_dedup_add writes to a temporary
 * file (4 bytes a shingle).  A caller that can give a document's text back
 * (one reading uncompressed files) sets fetch instead, before the first
 * rp_dedup_add: nothing is written, and rp_dedup_finish calls
 * fetch(ctx, slot, seq, &text, &len, err) for the documents it checks, from
 * several threads at once, each with its own slot (0 .. pool size - 1); the
 * text must stay valid until the next call with the same slot.  A text that
 * is not the one added (another length or number of shingles) fails the
 * finish with RP_EIO; fetch's own error fails it with fetch's status. */
typedef rp_status (*rp_dedup_fetch_fn)(void *ctx, int slot, uint64_t seq, const char **text, size_t *len,
                                       rp_error *err);
rp_status rp_dedup_set_fetch(rp_dedup *d, rp_dedup_fetch_fn fetch, void *ctx, rp_error *err);

/* Texts to read again, for rp_dedup_set_fetch: 16 bytes a document in
 * memory.  rp_texts_add notes where the text of the next record (seq 0, 1,
 * 2, ... in the order added) is: in place in an uncompressed regular file,
 * read again through a duplicate of the reader's descriptor (at most half
 * the process's descriptor limit are kept; beyond, texts are copied), else
 * copied to an unlinked file in tmpdir (NULL: $TMPDIR, else /tmp);
 * rp_texts_add_text copies a text given by itself; a bad record is noted as
 * empty.  After the last add, rp_texts_ready; then rp_texts_fetch (ctx: the
 * rp_texts) is the rp_dedup_fetch_fn, for nslots threads at once.  After the
 * checks, rp_texts_unchanged fails with RP_EIO if a file that texts were read
 * from again has changed size or modification time since its first record. */
typedef struct rp_texts rp_texts;
rp_status rp_texts_new(rp_texts **out, int nslots, const char *tmpdir, rp_error *err);
rp_status rp_texts_add(rp_texts *t, const rp_record *rec, rp_error *err);
rp_status rp_texts_add_text(rp_texts *t, const char *text, size_t len, rp_error *err);
rp_status rp_texts_ready(rp_texts *t, rp_error *err);
rp_status rp_texts_fetch(void *t, int slot, uint64_t seq, const char **text, size_t *len, rp_error *err);
rp_status rp_texts_unchanged(rp_texts *t, rp_error *err);
/* Forget the texts from seq n on (those of a batch rp_dedup_add refused). */
void rp_texts_truncate(rp_texts *t, size_t n);
void rp_texts_free(rp_texts *t);
/* Cluster everything added.  After this, results are available. */
rp_status rp_dedup_finish(rp_dedup *d, rp_error *err);
size_t rp_dedup_count(const rp_dedup *d);
/* Text length in bytes of document seq (0 for a bad record). */
uint64_t rp_dedup_length(const rp_dedup *d, uint64_t seq);
/* Document seq's cluster after rp_dedup_finish; safe from several threads
 * at once. */
void rp_dedup_get(const rp_dedup *d, uint64_t seq, rp_dedup_result *res);
/* Verified pairs (a < b by seq) that joined clusters, in order of (a, b). */
size_t rp_dedup_pairs(const rp_dedup *d, const uint64_t **a, const uint64_t **b, const double **jaccard);
/* After rp_dedup_finish: free what only finding the clusters needed (the
 * signatures, the temporary shingle file, the workers' scratch) early.
 * rp_dedup_get, _pairs, _count and _length keep working, and may run on
 * another thread meanwhile (the command writes its output while a second
 * thread releases).  Before rp_dedup_finish it does nothing. */
void rp_dedup_release(rp_dedup *d);
void rp_dedup_free(rp_dedup *d);

/* ---- passages: alignment and the comparison of two documents ----------- */
typedef struct rp_passage {
	uint32_t a_start, a_end;  /* token range in A, half-open */
	uint32_t b_start, b_end;  /* token range in B, half-open */
	uint32_t tokens;          /* a_end - a_start */
	uint64_t a_byte_start, a_byte_end; /* byte range in A's text (rp_compare fills them) */
	uint64_t b_byte_start, b_byte_end;
} rp_passage;

typedef struct rp_align_opts {
	int seed_tokens; /* seed length k in tokens, default 5 */
	int max_gap;     /* tokens of disagreement bridged inside one passage, default 8; a gap of g
	                  * tokens (the larger of A's and B's) is bridged only if g <= max_gap and g
	                  * is at most half the tokens matched on each side of it (in the passage so
	                  * far, and in the exact run it joins): a passage is mostly shared text */
	int min_tokens;  /* shortest passage reported, default 8 */
} rp_align_opts;

/* Passages shared by token streams a and b, in any order, sorted by a_start;
 * each token belongs to at most one passage.  A passage is a chain of exact
 * runs joined across small gaps (max_gap above), so it may hold a few tokens
 * that differ; its first and last tokens agree on both sides.  *out is allocated with the
 * library allocator; free it with rp_free_passages(). */
rp_status rp_align(const uint64_t *a, size_t na, const uint64_t *b, size_t nb, const rp_align_opts *opts,
                   rp_passage **out, size_t *nout, rp_error *err);
void rp_free_passages(rp_passage *p);

typedef struct rp_range { uint64_t start, end; } rp_range; /* half-open byte range */

typedef struct rp_comparison {
	size_t a_words, b_words;     /* tokens */
	size_t a_shingles, b_shingles, shared_shingles; /* distinct shingles */
	double jaccard;              /* exact Jaccard of the shingle sets */
	double a_in_b, b_in_a;       /* shared / distinct shingles of A (of B) */
	rp_passage *passages;        /* sorted by A offset */
	size_t npassages;
	rp_range *only_a, *only_b;   /* what each side has that the other lacks, sorted token runs:
	                              * tokens in no passage, and tokens inside a passage that a
	                              * token-level diff of its two sides leaves unpaired (an edit
	                              * the passage spans); such a range lies strictly inside the
	                              * passage, never on its first or last token */
	size_t nonly_a, nonly_b;
} rp_comparison;

/* Compare two texts: scores from p (ngram, char_shingles, seed) and passages
 * of at least min_words tokens (seeds of min(ngram, 8, min_words) tokens).
 * Byte offsets are into the given texts and always on UTF-8 boundaries.
 * Texts with no token (no shingle) on either side score 1 only if their
 * bytes are identical, else 0, as dedup treats them.  When A or B is
 * shorter than min_words and the other holds all its tokens in a row, that
 * run is one passage, shorter than min_words.  Tokens NFKC splits from one
 * run share its span: the span counts as shared only if all of them are
 * paired, and a passage is trimmed so that it never ends on part of one.
 * Free with rp_comparison_free(). */
rp_status rp_compare(const char *a, size_t alen, const char *b, size_t blen, const rp_params *p,
                     int min_words, rp_comparison *out, rp_error *err);
void rp_comparison_free(rp_comparison *c);

/* ---- passage reuse across a corpus --------------------------------------- */
typedef struct rp_reuse rp_reuse;

typedef struct rp_reuse_opts {
	int min_words;   /* shortest shared passage, in words (default 50) */
	int template_df; /* a passage in at least this many documents may be boilerplate (default 40) */
	int max_df;      /* a fingerprint in more documents is boilerplate outright (default 1000) */
	int all_candidates; /* 1: align every pair sharing a fingerprint; 0 (default): skip pairs that
	                     * share one fingerprint in different contexts (they hold no exact run of
	                     * min_words; a few hold a passage of shorter runs joined across edits) */
} rp_reuse_opts;

typedef struct rp_reuse_pair {
	uint64_t a, b;             /* seqs, a < b */
	double jaccard;            /* exact, over shingles outside boilerplate */
	double a_in_b, b_in_a;     /* containment, likewise */
	rp_passage *passages;      /* byte ranges filled; a passage never starts or ends in
	                            * boilerplate, and holds some only where it joins across
	                            * a short run of it (at most 8 words), as across an edit */
	size_t npassages;
} rp_reuse_pair;

void rp_reuse_opts_default(rp_reuse_opts *o);
/* The pool must outlive the handle: rp_reuse_next aligns on it. */
rp_status rp_reuse_new(rp_reuse **out, const rp_params *p, const rp_reuse_opts *o, rp_pool *pool, rp_error *err);
/* Add n documents with the next seqs; bad[i] marks an errored record. */
rp_status rp_reuse_add(rp_reuse *r, size_t n, const char *const *texts, const size_t *lens, const int *bad,
                       rp_error *err);
/* Optional, before rp_reuse_finish: group[seq] (0: none) names each
 * document's site or source.  A passage found in two or more documents, all
 * of one group, is then that group's boilerplate. */
rp_status rp_reuse_set_groups(rp_reuse *r, const uint32_t *group, size_t n, rp_error *err);
/* Index the fingerprints, find boilerplate and candidate pairs. */
rp_status rp_reuse_finish(rp_reuse *r, rp_error *err);
/* The next pairs sharing at least one passage, in (a, b) order; *n == 0 at
 * the end.  The pairs stay valid until the next call. */
rp_status rp_reuse_next(rp_reuse *r, const rp_reuse_pair **pairs, size_t *n, rp_error *err);
size_t rp_reuse_candidates(const rp_reuse *r);
size_t rp_reuse_template_fingerprints(const rp_reuse *r);
/* Bytes of token records held in memory before the rest go to a temporary
 * file: by default a quarter of the memory the process may use (the least
 * of physical memory, the address-space limit and its cgroup's memory
 * limit).  Set it before the first rp_reuse_add (0: every record in the
 * file); the file is mapped when it is no larger than the budget. */
uint64_t rp_reuse_memory_budget(const rp_reuse *r);
rp_status rp_reuse_set_memory_budget(rp_reuse *r, uint64_t bytes, rp_error *err);
/* Byte ranges of document doc found to be boilerplate; free *out with rp_free_ranges. */
rp_status rp_reuse_template_spans(rp_reuse *r, uint64_t doc, rp_range **out, size_t *nout, rp_error *err);
void rp_free_ranges(rp_range *r);
void rp_reuse_free(rp_reuse *r);

/* ---- persistent index ---------------------------------------------------- */
/* A directory of immutable, checksummed segment files and a manifest naming
 * the live ones, replaced atomically (docs/FORMAT.md).  One writer at a time
 * (a lock file); any number of readers, each seeing the index as it was when
 * it opened.  The sketch parameters are fixed when the index is created. */
typedef struct rp_index rp_index;

#define RP_ELOCKED (-6) /* rp_index_open(RP_INDEX_WRITE): another writer holds the lock */

typedef struct rp_index_params {
	rp_params p;    /* ngram, char_shingles, num_perm, bands, rows, threshold, seed (verify,
	                   keep_longest and tmpdir are not used) */
	int min_words;  /* containment: fingerprints find shared runs of this many words (default 50) */
	int sig_bits;   /* bits kept of each MinHash value for the Jaccard estimate: 1, 2, 4, 8
	                   (default), 16 or 32 (32: the estimate rp_dedup makes) */
	int store_text; /* keep every text, for passages (default 0) */
} rp_index_params;

void rp_index_params_default(rp_index_params *ip);
/* Create an empty index in dir (created if missing, else it must be empty).
 * Checks the parameters and fills bands and rows when they are 0. */
rp_status rp_index_create(const char *dir, const rp_index_params *ip, rp_error *err);

enum { RP_INDEX_READ = 0, RP_INDEX_WRITE = 1 };
/* Open dir, reading its manifest once and verifying every byte of every live
 * segment (checksums, sizes, parameters, normalisation version); a corrupt or
 * truncated file is RP_EDATA naming the file.  RP_INDEX_WRITE also takes the
 * writer's lock (RP_ELOCKED if another process holds it) and removes files
 * left by an interrupted writer. */
rp_status rp_index_open(rp_index **out, const char *dir, int mode, rp_error *err);
void rp_index_close(rp_index *ix);
const rp_index_params *rp_index_get_params(const rp_index *ix);
/* RP_EUSAGE naming the first of ngram, shingle kind, num_perm, bands, rows,
 * threshold and seed in which p differs from the index (p is resolved first). */
rp_status rp_index_check_params(const rp_index *ix, const rp_params *p, rp_error *err);
/* Test hook: fn(ctx, step) runs before every write, fsync, rename and unlink
 * the writer makes ("write", "fsync", "rename", "unlink"). */
void rp_index_set_step_hook(rp_index *ix, void (*fn)(void *ctx, const char *step), void *ctx);

typedef struct rp_index_info {
	size_t segments;
	uint64_t docs;        /* live documents */
	uint64_t deleted;     /* removed, still held by segments until compaction */
	uint64_t bytes;       /* segment files and manifest */
	uint64_t generation;  /* bumped by every change */
	/* bytes of the segments by part: 0 documents and ids, 1 signatures, 2 band
	 * tables, 3 fingerprints, 4 stored text */
	uint64_t part_bytes[5];
} rp_index_info;
typedef struct rp_index_segment_info {
	uint64_t number, docs, deleted, bytes;
} rp_index_segment_info;
void rp_index_info_get(const rp_index *ix, rp_index_info *info);
void rp_index_segment_get(const rp_index *ix, size_t i, rp_index_segment_info *info);

/* One document for rp_index_add_docs or rp_index_query. */
typedef struct rp_index_doc {
	const char *text;
	size_t len;
	const char *id;   /* add: its id (NULL: given later with rp_index_add_name) */
	size_t id_len;
	int id_is_number; /* the id came from a JSON number */
	int bad;          /* an errored record: not added; no match */
	int id_default;   /* add: the id is a default the caller made up (PATH:LINE), not
	                   * the record's: counted apart when skipped (skipped_default) */
} rp_index_doc;

/* Adding documents: they are sketched on the pool into sorted runs of at most
 * `memory` bytes (0: below), spilled as temporary segments, and merged into
 * one new segment by rp_index_add_commit, which publishes it atomically.
 * Freeing the handle without a commit leaves the index as it was. */
typedef struct rp_index_add rp_index_add;
typedef struct rp_index_add_stats {
	uint64_t added;   /* documents in the new segment */
	uint64_t skipped; /* ids already in the index or earlier in this add */
	uint64_t errored; /* bad records */
	uint64_t runs;    /* sorted runs spilled before the merge */
	uint64_t bytes;   /* size of the new segment */
	uint64_t number;  /* its number (0 if nothing was added) */
	uint64_t memory;  /* bytes of a sorted run at most */
	uint64_t repeated;        /* of skipped: ids repeated within this add (the first is kept) */
	uint64_t skipped_default; /* of skipped: ids already in the index that were defaults
	                           * (rp_index_doc.id_default, RP_ID_DEFAULT): records without an
	                           * id whose made-up ids collide with an earlier add's */
} rp_index_add_stats;
/* The index must be open for writing; the pool must outlive the handle.
 * memory: bytes of a sorted run before it is spilled; 0: 256 MB, or a
 * quarter of the memory the process may use (rp_memory_limit) if less. */
rp_status rp_index_add_new(rp_index_add **out, rp_index *ix, rp_pool *pool, size_t memory, rp_error *err);
/* Add n documents with the next sequence numbers (0, 1, ... per handle). */
rp_status rp_index_add_docs(rp_index_add *a, size_t n, const rp_index_doc *docs, rp_error *err);
/* Give the id of document seq, added with id NULL (its run stays in memory).
 * flags: RP_ID_NUMBER if the id came from a JSON number (1, as
 * rp_index_doc.id_is_number), | RP_ID_DEFAULT if it is a made-up default
 * (as rp_index_doc.id_default). */
#define RP_ID_NUMBER 1
#define RP_ID_DEFAULT 2
rp_status rp_index_add_name(rp_index_add *a, uint64_t seq, const char *id, size_t len, int flags,
                            rp_error *err);
/* Write the segment and publish it.  drop: NULL or one byte per sequence
 * number, nonzero to leave that document out. */
rp_status rp_index_add_commit(rp_index_add *a, const uint8_t *drop, rp_index_add_stats *st, rp_error *err);
void rp_index_add_free(rp_index_add *a);

/* Remove documents by id (tombstones in a new manifest); *removed counts
 * those found. */
rp_status rp_index_remove(rp_index *ix, size_t n, const char *const *ids, const size_t *lens, uint64_t *removed,
                          rp_error *err);
/* Merge every live segment into one, leaving removed documents out; the
 * tables are merged on the pool (NULL: this thread). */
rp_status rp_index_compact(rp_index *ix, rp_pool *pool, rp_error *err);

typedef struct rp_index_query_opts {
	double containment; /* report a match when a_in_b or b_in_a reaches this (default 0.5) */
	int passages;       /* align with the stored text (index created with store_text) */
	int max_df;         /* a fingerprint in more documents is boilerplate, ignored (default
	                     * 1000; at least 1): its live documents in the whole index are
	                     * counted, whatever its segments, removed ones not; so an index
	                     * answers the same however it was added and compacted */
	size_t max_matches; /* keep the best this many (0: all) */
} rp_index_query_opts;
void rp_index_query_opts_default(rp_index_query_opts *o);

typedef struct rp_index_match {
	const char *id;   /* owned by the result */
	size_t id_len;
	int id_is_number;
	double jaccard;   /* estimated from the stored b-bit signature (Li & Konig's correction) */
	double a_in_b;    /* share of the query in the indexed document (shared fingerprints) */
	double b_in_a;    /* share of the indexed document in the query */
	uint64_t length;  /* the indexed text's length in bytes */
	rp_passage *passages; /* with opts.passages: shared passages, byte ranges (a: query) */
	size_t npassages;
} rp_index_match;
typedef struct rp_index_result {
	rp_index_match *matches; /* by score (max of the three) descending, then id */
	size_t n;
} rp_index_result;
/* Query n documents, on the pool; out[i] answers docs[i].  A near-duplicate
 * is a document whose estimated Jaccard reaches the index threshold; a
 * reprint one that contains the query, or is contained in it, by at least
 * opts.containment (with two shared fingerprints at least).  One call at a
 * time per handle (its scratch is reused); open several handles to query
 * from several threads.  Free with rp_index_results_free. */
rp_status rp_index_query(rp_index *ix, rp_pool *pool, size_t n, const rp_index_doc *docs,
                         const rp_index_query_opts *o, rp_index_result *out, rp_error *err);
void rp_index_results_free(rp_index_result *r, size_t n);

#ifdef __cplusplus
}
#endif
#endif
