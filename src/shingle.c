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
	size_t count = rp_shingle_count(ntok, n);
	if (count == 0) return 0;
	rp_roll r;
	out[0] = rp_roll_init(&r, tok, ntok, n);
	for (size_t j = 1; j < count; j++) out[j] = rp_roll_next(&r, tok, j);
	return count;
}
