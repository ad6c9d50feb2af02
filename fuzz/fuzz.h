/* fuzz.h — shared by the fuzz targets in fuzz/: invariant checks that abort
 * with a message (libFuzzer and the replay driver both treat abort() as a
 * finding), a reader of parameter bytes, and an independent UTF-8 decoder
 * used as the reference for the library's validators.
 *
 * Each target is built two ways: with clang -fsanitize=fuzzer (fuzz/run.sh,
 * `make fuzz`) and with gcc and ASan+UBSan against fuzz/replay.c, which
 * replays the committed corpus in `make test`. */
#ifndef RP_FUZZ_H
#define RP_FUZZ_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "reprint.h"
#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FCHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "invariant violated: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		abort(); \
	} } while (0)
#define FCHECKF(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "invariant violated: %s:%d: %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		abort(); \
	} } while (0)

/* Harness loops over every byte (copies, reference scans of a megabyte of
 * padding) are kept out of the coverage feedback: they only slow clang's
 * -fsanitize=fuzzer build down and give it nothing to learn. */
#if defined(__clang__)
#define FZ_NOCOV __attribute__((no_sanitize("coverage")))
#else
#define FZ_NOCOV
#endif

/* Parameter bytes taken from the front of the input (0 once it is used up). */
typedef struct { const uint8_t *p; size_t n; } fz_in;
static inline uint8_t fz_byte(fz_in *in)
{
	if (!in->n) return 0;
	in->n--;
	return *in->p++;
}

/* malloc that never returns NULL (the harness's own memory). */
static inline void *fz_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) abort();
	return p;
}
static inline void *fz_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) abort();
	return p;
}
static inline void *fz_memdup(const void *s, size_t n)
{
	void *p = fz_xmalloc(n);
	if (n) memcpy(p, s, n);
	return p;
}

/* Decode one UTF-8 sequence at s[0..n) the slow, obvious way (Unicode 15,
 * table 3-7: shortest form, no surrogates, at most U+10FFFF).  Returns its
 * length and sets *cp, or 0 if the bytes are not well-formed. */
static inline size_t fz_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	if (!n) return 0;
	unsigned c = s[0];
	size_t len;
	uint32_t v, min;
	if (c < 0x80) { *cp = c; return 1; }
	if ((c & 0xe0) == 0xc0) len = 2, v = c & 0x1f, min = 0x80;
	else if ((c & 0xf0) == 0xe0) len = 3, v = c & 0x0f, min = 0x800;
	else if ((c & 0xf8) == 0xf0) len = 4, v = c & 0x07, min = 0x10000;
	else return 0;
	if (n < len) return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80) return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
	*cp = v;
	return len;
}

/* Offset of the first byte that is NUL or starts an ill-formed sequence, or
 * n: the reference for rp_utf8_check. */
static inline FZ_NOCOV size_t fz_utf8_first_bad(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		if (u[i] - 1u < 0x7fu) { i++; continue; }
		uint32_t cp;
		size_t k = fz_utf8_decode(u + i, n - i, &cp);
		if (!k || cp == 0) return i;
		i += k;
	}
	return n;
}

static inline int fz_is_boundary(const char *s, size_t n, size_t at)
{
	return at == 0 || at == n || ((unsigned char)s[at] & 0xc0) != 0x80;
}
#endif
