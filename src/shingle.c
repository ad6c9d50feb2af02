/* shingle.c — shingle hashes from token hashes.
 *
 * A shingle is n consecutive tokens.  Its hash is a cyclic polynomial
 * (BuzHash) over the n token hashes, H = XOR_i rotl(t[j+i], n-1-i), updated in
 * O(1) per token whatever n is, then passed through a 64-bit finaliser so that
 * every output bit depends on every input bit.  A stream shorter than n tokens
 * gives one shingle made of all its tokens, so short documents still compare;
 * an empty stream gives none.  With AVX-512 (chosen at run time) eight
 * shingles are hashed at once from the formula instead of rolling: the same
 * values, bit for bit. */
#include "internal.h"
#ifdef RP_HAVE_SHINGLE8
#define HAVE_AVX512_SHINGLES 1

/* Shingles [0, count) in blocks of eight; returns how many were done. */
__attribute__((target("avx512f,avx512dq"))) static size_t shingles_avx512(const uint64_t *tok, size_t count,
                                                                           size_t w, uint64_t tag, uint64_t *out)
{
	size_t j = 0;
	for (; j + 8 <= count; j += 8) _mm512_storeu_si512((void *)(out + j), rp_shingle8(tok + j, 0xff, w, tag));
	return j;
}

int rp_simd_off;

int rp_have_avx512dq(void)
{
	static int have = -1; /* racing threads store the same value */
	if (rp_simd_off) return 0;
	int h = __atomic_load_n(&have, __ATOMIC_RELAXED);
	if (h < 0) {
		h = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
		__atomic_store_n(&have, h, __ATOMIC_RELAXED);
	}
	return h;
}
#else
int rp_simd_off;
int rp_have_avx512dq(void) { return 0; }
#endif

size_t rp_shingles(const uint64_t *tok, size_t ntok, int n, uint64_t *out)
{
	size_t count = rp_shingle_count(ntok, n);
	if (count == 0) return 0;
	rp_roll r;
	out[0] = rp_roll_init(&r, tok, ntok, n);
	size_t j = 1;
#ifdef HAVE_AVX512_SHINGLES
	if (count >= 9 && rp_have_avx512dq()) {
		j = 1 + shingles_avx512(tok + 1, count - 1, r.w, r.tag, out + 1);
		if (j == count) return count;
		/* the rolling state of shingle j - 1, for the rest */
		r.h = 0;
		for (size_t i = 0; i < r.w; i++) r.h ^= rp_rotl64(tok[j - 1 + i], (unsigned)(r.w - 1 - i));
	}
#endif
	for (; j < count; j++) out[j] = rp_roll_next(&r, tok, j);
	return count;
}
