/* sort.c — sorting hashes, the one sort the hot paths need: 64-bit shingle
 * sets for exact Jaccard and containment.  LSD radix sort, 8 bits per pass,
 * all histograms counted in one pass, skipping passes where every key has
 * the same byte; insertion sort for short arrays.  About 7x faster than
 * qsort with a comparison function on sets of a few hundred shingles. */
#include <string.h>
#include "internal.h"

/* The radix sort of n values in a, with n values of scratch in tmp. */
void rp_sort_u64_tmp(uint64_t *a, uint64_t *tmp, size_t n)
{
	if (n < 48) {
		for (size_t i = 1; i < n; i++) {
			uint64_t x = a[i];
			size_t j = i;
			while (j > 0 && a[j - 1] > x) a[j] = a[j - 1], j--;
			a[j] = x;
		}
		return;
	}
	uint64_t *src = a, *dst = tmp;
	/* A byte equal in every key costs no pass at all. */
	size_t count[8][256];
	memset(count, 0, sizeof count);
	for (size_t i = 0; i < n; i++) {
		uint64_t x = a[i];
		for (int b = 0; b < 8; b++) count[b][(x >> (8 * b)) & 0xff]++;
	}
	for (int b = 0; b < 8; b++) {
		const int shift = 8 * b;
		size_t *c = count[b];
		if (c[(a[0] >> shift) & 0xff] == n) continue;
		size_t sum = 0;
		for (int k = 0; k < 256; k++) {
			size_t v = c[k];
			c[k] = sum;
			sum += v;
		}
		for (size_t i = 0; i < n; i++) dst[c[(src[i] >> shift) & 0xff]++] = src[i];
		uint64_t *t = src;
		src = dst;
		dst = t;
	}
	if (src != a) memcpy(a, src, n * sizeof *a);
}

int rp_sort_u64(uint64_t *a, size_t n)
{
	if (n < 48) {
		rp_sort_u64_tmp(a, NULL, n);
		return 0;
	}
	uint64_t *tmp = rp_malloc_array(n, sizeof *tmp);
	if (!tmp) return RP_ENOMEM;
	rp_sort_u64_tmp(a, tmp, n);
	rp_free(tmp);
	return 0;
}

size_t rp_sort_unique_u64(uint64_t *a, size_t n)
{
	if (rp_sort_u64(a, n)) return SIZE_MAX;
	size_t u = n ? 1 : 0;
	for (size_t i = 1; i < n; i++)
		if (a[i] != a[u - 1]) a[u++] = a[i];
	return u;
}
