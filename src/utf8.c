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
				size_t n = rp_utf8_sequence(p, end);
				if (!n) return (size_t)(p - start);
				p += n;
			}
		}
	}
	return len;
}
