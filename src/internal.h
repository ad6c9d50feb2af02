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
/* Grow *ptr (element size elsize) so that it holds at least need elements;
 * capacity grows geometrically.  Returns 0 or RP_ENOMEM (ptr untouched). */
int rp_grow(void **ptr, size_t *cap, size_t need, size_t elsize);

/* Fill err (if non-NULL) and return code. */
int rp_set_error(rp_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Same, with a position. */
int rp_set_error_at(rp_error *err, int code, const char *file, uint64_t line, uint64_t byte,
                    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Thread pool: run fn(arg, i) for i in [0, n) on the pool's threads and the
 * caller; returns when all are done. */
void rp_pool_run(rp_pool *pool, size_t n, void (*fn)(void *arg, size_t i, int worker), void *arg);

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

/* UTF-8 validation: returns the offset of the first invalid byte (or NUL),
 * or len if the whole buffer is valid and NUL-free. */
size_t rp_utf8_check(const char *s, size_t len);

/* A winnowed fingerprint: a shingle hash and the token position it starts at. */
typedef struct { uint64_t hash; uint32_t pos; } rp_fingerprint;
/* Robust winnowing of n shingle hashes with window w; out needs room for n
 * entries.  Returns the number of fingerprints (winnow.c). */
size_t rp_winnow(const uint64_t *h, size_t n, size_t w, rp_fingerprint *out);


#endif
