/* internal.h — helpers shared by the stages of libreprint; not installed. */
#ifndef RP_INTERNAL_H
#define RP_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include "reprint.h"

/* Allocation: every allocation of the library goes through these (alloc.c). */
void *rp_malloc(size_t size);
void *rp_realloc(void *ptr, size_t size);
void rp_free(void *ptr);
/* Overflow-checked nmemb * size; NULL on overflow or failure. */
void *rp_malloc_array(size_t nmemb, size_t size);
void *rp_realloc_array(void *ptr, size_t nmemb, size_t size);
/* A copy of the string s (rp_free it); NULL when out of memory. */
char *rp_strdup(const char *s);
/* Grow *ptr (element size elsize) so that it holds at least need elements;
 * capacity grows geometrically.  Returns 0 or RP_ENOMEM (ptr untouched). */
int rp_grow(void **ptr, size_t *cap, size_t need, size_t elsize);

/* Fill err (if non-NULL) and return code. */
int rp_set_error(rp_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Same, with a position. */
int rp_set_error_at(rp_error *err, int code, const char *file, uint64_t line, uint64_t byte,
                    const char *fmt, ...) __attribute__((format(printf, 6, 7)));


/* 64-bit finaliser (murmur3 fmix64): a bijection with full avalanche. */
static inline uint64_t rp_mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}
static inline uint64_t rp_rotl64(uint64_t x, unsigned r)
{
	r &= 63;
	return r ? (x << r) | (x >> (64 - r)) : x;
}

/* Whether the CPU has AVX-512 F and DQ (shingle.c; checked once), and so
 * whether shingles, winnowing, the aligner's scan and span packing take
 * their AVX-512 paths; never while rp_simd_off is set (tests compare). */
int rp_have_avx512dq(void);
extern int rp_simd_off;

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define RP_HAVE_SHINGLE8 1
/* The hashes of the eight shingles of w tokens starting at t, t + 1, ...,
 * t + 7 (lanes outside m load nothing; their values are garbage), from the
 * formula: rp_mix64(tag ^ XOR_i rotl(t[i], w - 1 - i)), rp_roll's values
 * bit for bit.  One definition for the AVX-512 paths of shingle.c, sketch.c
 * and align.c; the default w = 5 with immediate rotates. */
__attribute__((target("avx512f,avx512dq"))) static inline __m512i rp_shingle8(const uint64_t *t, __mmask8 m,
                                                                              size_t w, uint64_t tag)
{
	__m512i h = _mm512_set1_epi64((long long)tag);
	if (w == 5) {
		h = _mm512_xor_si512(h, _mm512_rol_epi64(_mm512_maskz_loadu_epi64(m, t), 4));
		h = _mm512_xor_si512(h, _mm512_rol_epi64(_mm512_maskz_loadu_epi64(m, t + 1), 3));
		h = _mm512_xor_si512(h, _mm512_rol_epi64(_mm512_maskz_loadu_epi64(m, t + 2), 2));
		h = _mm512_xor_si512(h, _mm512_rol_epi64(_mm512_maskz_loadu_epi64(m, t + 3), 1));
		h = _mm512_xor_si512(h, _mm512_maskz_loadu_epi64(m, t + 4));
	} else {
		for (size_t i = 0; i < w; i++)
			h = _mm512_xor_si512(h, _mm512_rolv_epi64(_mm512_maskz_loadu_epi64(m, t + i),
			                                          _mm512_set1_epi64((long long)((w - 1 - i) & 63))));
	}
	h = _mm512_xor_si512(h, _mm512_srli_epi64(h, 33)); /* rp_mix64 */
	h = _mm512_mullo_epi64(h, _mm512_set1_epi64((long long)0xff51afd7ed558ccdULL));
	h = _mm512_xor_si512(h, _mm512_srli_epi64(h, 33));
	h = _mm512_mullo_epi64(h, _mm512_set1_epi64((long long)0xc4ceb9fe1a85ec53ULL));
	return _mm512_xor_si512(h, _mm512_srli_epi64(h, 33));
}
#endif

/* Rolling shingle hash (shingle.c documents it): rp_roll_init gives the
 * first shingle of a non-empty token stream, rp_roll_next the j-th (j >= 1,
 * j < rp_shingle_count) from the one before. */
typedef struct { uint64_t h, tag; unsigned rw; size_t w; } rp_roll;
static inline size_t rp_shingle_count(size_t ntok, int n)
{
	return ntok == 0 || n <= 0 ? 0 : ntok < (size_t)n ? 1 : ntok - (size_t)n + 1;
}
static inline uint64_t rp_roll_init(rp_roll *r, const uint64_t *tok, size_t ntok, int n)
{
	r->w = ntok < (size_t)n ? ntok : (size_t)n;
	/* Tag with the window length so a short stream never equals a full shingle. */
	r->tag = 0x9e3779b97f4a7c15ULL * (uint64_t)r->w;
	r->rw = (unsigned)(r->w & 63);
	r->h = 0;
	for (size_t i = 0; i < r->w; i++) r->h ^= rp_rotl64(tok[i], (unsigned)(r->w - 1 - i));
	return rp_mix64(r->h ^ r->tag);
}
static inline uint64_t rp_roll_next(rp_roll *r, const uint64_t *tok, size_t j)
{
	r->h = rp_rotl64(r->h, 1) ^ rp_rotl64(tok[j - 1], r->rw) ^ tok[j + r->w - 1];
	return rp_mix64(r->h ^ r->tag);
}

/* The first RP_PROBES bins of every bin's densification probe sequence for
 * one K and seed, computed once by whoever sketches many documents. */
enum { RP_PROBES = 8 };
typedef struct {
	int K;
	uint64_t seed;
	uint16_t bin[RP_MAX_PERM][RP_PROBES];
} rp_probes;
void rp_probes_init(rp_probes *t, int K, uint64_t seed);

/* rp_sketch with a probe table (NULL, or made for this K and seed). */
void rp_sketch_probed(const uint64_t *shingles, size_t n, int K, uint64_t seed, uint32_t *sig, const rp_probes *probes);

/* rp_shingles then rp_sketch in one pass, without the array of shingle
 * hashes; the low 32 bits of shingle i go to low32[i] unless low32 is NULL
 * (dedup spills them).  probes (NULL, or made for this K and seed) only saves
 * time.  Returns the number of shingles (sketch.c). */
size_t rp_sketch_tokens(const uint64_t *tok, size_t ntok, int n, int K, uint64_t seed, uint32_t *sig,
                        uint32_t *low32, const rp_probes *probes);
/* rp_sketch_tokens, densification and rp_sig_jaccard take AVX-512 paths
 * when the CPU has it; both give the same results.  on = 1 keeps them to
 * the portable code (tests; not thread-safe). */
void rp_sketch_portable(int on);
/* The low 16 bits of each of a signature's K values, into out. */
void rp_sig_low16(const uint32_t *sig, int K, uint16_t *out);
/* rp_sig_jaccard of two signatures kept as rp_sig_low16 gives them: the
 * share of positions where the low 16 bits agree. */
double rp_sig16_jaccard(const uint16_t *a, const uint16_t *b, int K);
/* rp_band_key of bands 0 .. bands - 1 of one signature, into keys. */
void rp_band_keys(const uint32_t *sig, int bands, int rows, uint64_t *keys);

/* Length of the well-formed multi-byte UTF-8 sequence at p (p[0] >= 0x80),
 * or 0: no overlongs, no surrogates, nothing above U+10FFFF.  Inline: the
 * JSON string scanner calls it for every non-ASCII character. */
static inline size_t rp_utf8_sequence(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0];
	size_t avail = (size_t)(end - p);
	if (c >= 0xc2 && c <= 0xdf) {
		if (avail >= 2 && (p[1] & 0xc0) == 0x80) return 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		/* E0 needs A0..BF (no overlong), ED needs 80..9F (no surrogate). */
		unsigned lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
		if (avail >= 3 && p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80) return 3;
	} else if (c >= 0xf0 && c <= 0xf4) {
		/* F0 needs 90..BF (no overlong), F4 needs 80..8F (<= U+10FFFF). */
		unsigned lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
		if (avail >= 4 && p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 &&
		    (p[3] & 0xc0) == 0x80)
			return 4;
	}
	return 0;
}

/* rp_tokenize on a chosen path, for tests and benchmarks: all give the same
 * tokens.  AUTO is rp_tokenize's choice (the widest the CPU has); GENERAL
 * skips the 64-byte block tokenizer; VBMI (AVX-512 with VBMI and VBMI2)
 * falls back to AVX512 on a CPU without them, AVX512 to AVX2, AVX2 to SSE2,
 * and all to GENERAL where the compiler has no SSE2. */
enum { RP_TOK_AUTO, RP_TOK_GENERAL, RP_TOK_SSE2, RP_TOK_AVX2, RP_TOK_AVX512, RP_TOK_VBMI };
rp_status rp_tokenize_path(const char *text, size_t len, int char_tokens, uint64_t seed, rp_tokens *out,
                           rp_error *err, int path);

/* UTF-8 validation: returns the offset of the first invalid byte (or NUL),
 * or len if the whole buffer is valid and NUL-free. */
size_t rp_utf8_check(const char *s, size_t len);

/* Temporary files (spill.c): an unlinked file in dir (NULL: $TMPDIR or /tmp)
 * named after what (for messages); the descriptor, or -1 with err filled. */
int rp_spill_open(const char *dir, const char *what, rp_error *err);
/* What this process may use (limits.c; rp_memory_limit is public).
 * rp_cpu_limit: the CPUs it may run on (taskset, cpusets), or its cgroup's
 * CPU quota rounded up when lower; at least 1.  The cgroup limits (v1 or v2,
 * the cgroup's own and its ancestors') are read from the files under root
 * (NULL: "/"; tests give a made-up tree): UINT64_MAX or INFINITY where
 * there is none. */
uint64_t rp_cgroup_memory_limit(const char *root);
long rp_cpu_limit(void);
double rp_cgroup_cpu_limit(const char *root);
/* Whole-buffer pwrite and pread at an offset; 0, or -1 with errno set (errno
 * 0 when pread met the end of the file first). */
int rp_pwrite_all(int fd, const void *buf, size_t len, uint64_t at);
int rp_pread_all(int fd, void *buf, size_t len, uint64_t at);

/* Sort n hashes ascending (sort.c); 0 or RP_ENOMEM.  rp_sort_unique_u64 also
 * drops repeats and returns the new count, SIZE_MAX when out of memory. */
int rp_sort_u64(uint64_t *a, size_t n);
void rp_sort_u64_tmp(uint64_t *a, uint64_t *tmp, size_t n); /* tmp: n values of scratch */
size_t rp_sort_unique_u64(uint64_t *a, size_t n);

/* A set of 32-bit values for exact Jaccard (sketch.c): the distinct values
 * listed, and hashed into a table at most a quarter full.  rp_hset_build
 * replaces its contents with the m values v (repeats allowed); 0 or
 * RP_ENOMEM. */
typedef struct {
	uint32_t *table, *list;
	size_t table_cap, list_cap;
	size_t n;              /* distinct values other than 0 */
	int zero;              /* 0 is in the set */
	int shift;             /* 32 - log2(table slots) */
	uint32_t mask;         /* table slots - 1 */
} rp_hset;
int rp_hset_build(rp_hset *s, const uint32_t *v, size_t m);
double rp_hset_jaccard(const rp_hset *a, const rp_hset *b);
void rp_hset_free(rp_hset *s);

/* A winnowed fingerprint: a shingle hash and the token position it starts at. */
typedef struct { uint64_t hash; uint32_t pos; } rp_fingerprint;
/* Robust winnowing of n shingle hashes with window w; out needs room for n
 * entries.  Returns the number of fingerprints (winnow.c). */
size_t rp_winnow(const uint64_t *h, size_t n, size_t w, rp_fingerprint *out);


/* Alignment with side A prepared once and aligned against many B (align.c;
 * rp_align is one set_a and one run).  set_a keeps the pointer a, which must
 * stay valid while runs use it.  run returns the passages (allocated, NULL
 * when none) and in *shared the number of distinct shingles B has in common
 * with A.  Both return 0, RP_ENOMEM or RP_EDATA (too long). */
typedef struct rp_aligner rp_aligner;
rp_aligner *rp_aligner_new(const rp_align_opts *o);
void rp_aligner_free(rp_aligner *al);
int rp_aligner_set_a(rp_aligner *al, const uint64_t *a, size_t na);
size_t rp_aligner_distinct_a(const rp_aligner *al); /* distinct shingles of the A set */
/* Boilerplate of side 0 (A, after rp_aligner_set_a, which clears it) or 1
 * (B, for the following runs): nruns sorted token runs, start, end pairs,
 * of a stream of n tokens.  A gap of boilerplate on both sides does not count
 * against the merge's density rule (it still counts against max_gap). */
int rp_aligner_mask(rp_aligner *al, int side, size_t n, const uint32_t *runs, size_t nruns);
int rp_aligner_run(rp_aligner *al, const uint64_t *b, size_t nb, rp_passage **out, size_t *nout, size_t *shared);
/* Use the scalar scan of B even where AVX-512 is available (tests compare the two). */
void rp_aligner_set_scalar(rp_aligner *al, int scalar);
/* rp_reuse keeps token records in memory up to mem_bytes, writes the rest
 * to its token file, and maps that file when it is at most map_bytes, else
 * reads it with pread (defaults: a quarter of the physical memory each).
 * For tests; call before the first rp_reuse_add. */
void rp_reuse_set_memory(rp_reuse *r, uint64_t mem_bytes, uint64_t map_bytes);
/* What rp_reuse_add keeps of a document: 0 (default) decided between
 * batches, 1 its text, tokenised again if a candidate needs it, 2 its token
 * record.  For tests; call before the first rp_reuse_add. */
void rp_reuse_set_keep(rp_reuse *r, int mode);

#endif
