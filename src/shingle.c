/* shingle.c — shingle hashes from token hashes.
 *
 * A shingle is n consecutive tokens.  Its hash is a cyclic polynomial
 * (BuzHash) over the n token hashes, H = XOR_i rotl(t[j+i], n-1-i), updated in
 * O(1) per token whatever n is, then passed through a 64-bit finaliser so that
 * every output bit depends on every input bit.  A stream shorter than n tokens
 * gives one shingle made of all its tokens, so short documents still compare;
 * an empty stream gives none. */
#include "internal.h"

size_t rp_shingles(const uint64_t *tok, size_t ntok, int n, uint64_t *out)
{
	if (ntok == 0 || n <= 0) return 0;
	size_t w = (size_t)n;
	if (ntok < w) w = ntok;
	/* Tag with the window length so a short stream never equals a full shingle. */
	const uint64_t tag = 0x9e3779b97f4a7c15ULL * (uint64_t)w;
	uint64_t h = 0;
	for (size_t i = 0; i < w; i++) h ^= rp_rotl64(tok[i], (unsigned)(w - 1 - i));
	out[0] = rp_mix64(h ^ tag);
	if (ntok < (size_t)n) return 1;
	size_t count = ntok - w + 1;
	const unsigned rw = (unsigned)(w & 63);
	for (size_t j = 1; j < count; j++) {
		h = rp_rotl64(h, 1) ^ rp_rotl64(tok[j - 1], rw) ^ tok[j + w - 1];
		out[j] = rp_mix64(h ^ tag);
	}
	return count;
}
