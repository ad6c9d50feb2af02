/* utf8.c — UTF-8 validation.  rp_utf8_check() accepts exactly the well-formed
 * UTF-8 of Unicode table 3-7 (no overlongs, no surrogates, nothing above
 * U+10FFFF) and also rejects NUL, which no record may contain.  ASCII goes
 * 16 bytes at a time as two 64-bit words; only bytes >= 0x80 take the
 * careful path. */
#include <string.h>
#include "internal.h"

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Nonzero if some byte of v is NUL or >= 0x80.  The subtraction borrows only
 * out of a zero byte, so a word of bytes 0x01..0x7f always gives 0. */
static inline uint64_t not_plain_ascii(uint64_t v)
{
	return ((v - ONES) | v) & HIGHS;
}

/* Length of the well-formed multi-byte sequence at p (p[0] >= 0x80), or 0. */
static inline size_t sequence_length(const unsigned char *p, const unsigned char *end)
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

size_t rp_utf8_check(const char *s, size_t len)
{
	const unsigned char *start = (const unsigned char *)s, *p = start, *end = start + len;
	while (p < end) {
		while (end - p >= 16) {
			uint64_t a, b;
			memcpy(&a, p, 8);
			memcpy(&b, p + 8, 8);
			if (not_plain_ascii(a) | not_plain_ascii(b)) break;
			p += 16;
		}
		/* Byte by byte over the next 16 bytes (the block that held a NUL
		 * or a non-ASCII byte), then back to the fast loop. */
		const unsigned char *stop = end - p > 16 ? p + 16 : end;
		while (p < stop) {
			unsigned c = *p;
			if (c - 1u < 0x7fu) {
				p++;
			} else if (c == 0) {
				return (size_t)(p - start);
			} else {
				size_t n = sequence_length(p, end);
				if (!n) return (size_t)(p - start);
				p += n;
			}
		}
	}
	return len;
}
