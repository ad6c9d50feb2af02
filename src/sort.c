/* sort.c — sorting hashes, the one sort the hot paths need: 64-bit shingle
 * sets for exact Jaccard and containment, and the 32-bit shingles dedup
 * spills for its exact checks (half the bytes moved per pass).  LSD radix
 * sort, 8 bits per pass, all histograms counted in one pass, skipping passes
 * where every key has the same byte; insertion sort for short arrays.  About
 * 7x faster than qsort with a comparison function on sets of a few hundred
 * shingles. */
#include <string.h>
#include "internal.h"

/* The radix sort of n values of type T (BYTES bytes) in a, with n values of
 * scratch in tmp; one definition for both widths. */
#define DEFINE_RADIX_SORT(storage, name, T, BYTES)                                     \
	storage void name(T *a, T *tmp, size_t n)                                      \
	{                                                                              \
		if (n < 48) {                                                          \
			for (size_t i = 1; i < n; i++) {                               \
				T x = a[i];                                            \
				size_t j = i;                                          \
				while (j > 0 && a[j - 1] > x) a[j] = a[j - 1], j--;    \
				a[j] = x;                                              \
			}                                                              \
			return;                                                        \
		}                                                                      \
		T *src = a, *dst = tmp;                                                \
		/* A byte equal in every key (the top half of widened 32-bit       \
		 * values) costs no pass at all. */                                    \
		size_t count[BYTES][256];                                              \
		memset(count, 0, sizeof count);                                        \
		for (size_t i = 0; i < n; i++) {                                       \
			T x = a[i];                                                    \
			for (int b = 0; b < BYTES; b++) count[b][(x >> (8 * b)) & 0xff]++; \
		}                                                                      \
		for (int b = 0; b < BYTES; b++) {                                      \
			const int shift = 8 * b;                                       \
			size_t *c = count[b];                                          \
			if (c[(a[0] >> shift) & 0xff] == n) continue;                  \
			size_t sum = 0;                                                \
			for (int k = 0; k < 256; k++) {                                \
				size_t v = c[k];                                       \
				c[k] = sum;                                            \
				sum += v;                                              \
			}                                                              \
			for (size_t i = 0; i < n; i++) dst[c[(src[i] >> shift) & 0xff]++] = src[i]; \
			T *t = src;                                                    \
			src = dst;                                                     \
			dst = t;                                                       \
		}                                                                      \
		if (src != a) memcpy(a, src, n * sizeof *a);                           \
	}

DEFINE_RADIX_SORT(, rp_sort_u64_tmp, uint64_t, 8)
DEFINE_RADIX_SORT(static, radix_sort_u32, uint32_t, 4)

/* Up to MSD_MAX 32-bit hashes (dedup's exact checks read sets of a few
 * hundred): one scatter into tmp by the top bits, twice as many buckets as
 * values, leaving at most a value or two per bucket; then one insertion sort
 * over the whole array, which moves values only within their bucket and is
 * mostly a run of predictable compares, and the copy back.  About 3.5 ns a
 * value from 100 to 2,000 values, against 6-8 for a scatter by the top byte
 * (fuller buckets, mispredicted moves) and more for four radix passes, whose
 * counters cost as much as the values.  Returns 0, having changed nothing,
 * when the top bits are too skewed for it (a bucket of more than
 * MSD_BUCKET). */
enum { MSD_MAX_BITS = 12, MSD_MAX = 1 << (MSD_MAX_BITS - 1), MSD_BUCKET = 48 };
static int msd_sort_u32(uint32_t *a, uint32_t *tmp, size_t n)
{
	int bits = 2;
	while (((size_t)1 << (bits - 1)) < n) bits++;
	const int shift = 32 - bits;
	const size_t buckets = (size_t)1 << bits;
	uint32_t count[1 << MSD_MAX_BITS], sum = 0, max = 0;
	memset(count, 0, buckets * sizeof *count);
	for (size_t i = 0; i < n; i++) count[a[i] >> shift]++;
	for (size_t k = 0; k < buckets; k++) {
		uint32_t c = count[k];
		max = c > max ? c : max;
		count[k] = sum;
		sum += c;
	}
	if (max > MSD_BUCKET) return 0;
	for (size_t i = 0; i < n; i++) tmp[count[a[i] >> shift]++] = a[i];
	for (size_t i = 1; i < n; i++) {
		uint32_t x = tmp[i];
		if (tmp[i - 1] <= x) continue;
		size_t j = i;
		while (j > 0 && tmp[j - 1] > x) tmp[j] = tmp[j - 1], j--;
		tmp[j] = x;
	}
	memcpy(a, tmp, n * sizeof *a);
	return 1;
}

void rp_sort_u32_tmp(uint32_t *a, uint32_t *tmp, size_t n)
{
	if (n >= 48 && n <= MSD_MAX && msd_sort_u32(a, tmp, n)) return;
	radix_sort_u32(a, tmp, n);
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
