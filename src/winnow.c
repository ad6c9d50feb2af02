/* winnow.c — passage fingerprints by robust winnowing (Schleimer, Wilkerson
 * and Aiken, SIGMOD 2003) over the shingle hashes of a document.
 *
 * In every window of w consecutive shingle hashes the minimum is selected
 * (ties go to the rightmost, so the choice is deterministic and repeated text
 * selects few positions); each newly selected position is a fingerprint.
 * Guarantee: two documents sharing a run of at least w + k - 1 tokens
 * (k-token shingles) share at least one fingerprint, because that run holds a
 * whole window of identical hashes whose minimum both select.  With
 * w = min_words - k + 1 every shared run of min_words tokens is found.
 * Expected density: 2 / (w + 1) fingerprints per token.  With AVX-512 (chosen
 * at run time) a window is rescanned eight hashes at a time. */
#include "internal.h"
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX512_WINNOW 1

/* The rightmost minimum of h[0 .. n) (n >= 1): its position, *m its value. */
__attribute__((target("avx512f"))) static size_t rightmost_min_avx512(const uint64_t *h, size_t n, uint64_t *m)
{
	const __m512i ones = _mm512_set1_epi64(-1);
	__m512i v = ones;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) v = _mm512_min_epu64(v, _mm512_loadu_si512((const void *)(h + i)));
	__mmask8 tail = (__mmask8)((1u << (n - i)) - 1);
	if (tail) v = _mm512_min_epu64(v, _mm512_mask_loadu_epi64(ones, tail, (const void *)(h + i)));
	uint64_t x = _mm512_reduce_min_epu64(v);
	const __m512i vx = _mm512_set1_epi64((long long)x);
	*m = x;
	if (tail) {
		unsigned e = _mm512_mask_cmpeq_epu64_mask(tail, _mm512_maskz_loadu_epi64(tail, (const void *)(h + i)), vx);
		if (e) return i + 31 - (size_t)__builtin_clz(e);
	}
	for (; i >= 8; i -= 8) {
		unsigned e = _mm512_cmpeq_epu64_mask(_mm512_loadu_si512((const void *)(h + i - 8)), vx);
		if (e) return i - 8 + 31 - (size_t)__builtin_clz(e);
	}
	return 0; /* not reached: x is one of them */
}
#endif

size_t rp_winnow(const uint64_t *h, size_t n, size_t w, rp_fingerprint *out)
{
	if (w == 0 || n < w) return 0;
#ifdef HAVE_AVX512_WINNOW
	const int vec = w >= 16 && rp_have_avx512dq();
#endif
	/* The first window's rightmost minimum. */
	size_t nout = 0, min = 0;
	uint64_t hm = h[0];
	for (size_t i = 1; i < w; i++)
		if (h[i] <= hm) min = i, hm = h[i];
	out[nout++] = (rp_fingerprint){hm, (uint32_t)min};
	for (size_t end = w; end < n; end++) {
		uint64_t x = h[end];
		if (x <= hm) {
			/* A new minimum (also when the old one just left: everything
			 * after it in the window is larger, or it would not be the
			 * rightmost). */
			min = end, hm = x;
			out[nout++] = (rp_fingerprint){hm, (uint32_t)min};
		} else if (min + w <= end) {
			/* The minimum left the window: rescan it (rightmost minimum). */
			min = end + 1 - w;
#ifdef HAVE_AVX512_WINNOW
			if (vec) min += rightmost_min_avx512(h + min, w, &hm);
			else
#endif
			{
				hm = h[min];
				for (size_t i = min + 1; i <= end; i++)
					if (h[i] <= hm) min = i, hm = h[i];
			}
			out[nout++] = (rp_fingerprint){hm, (uint32_t)min};
		}
	}
	return nout;
}
