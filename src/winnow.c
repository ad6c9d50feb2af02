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
 * Expected density: 2 / (w + 1) fingerprints per token. */
#include "internal.h"

size_t rp_winnow(const uint64_t *h, size_t n, size_t w, rp_fingerprint *out)
{
	if (w == 0 || n < w) return 0;
	size_t nout = 0, min = SIZE_MAX;
	for (size_t end = w - 1; end < n; end++) {
		size_t start = end + 1 - w;
		if (min == SIZE_MAX || min < start) {
			/* The minimum left the window: rescan it (rightmost minimum). */
			min = start;
			for (size_t i = start + 1; i <= end; i++)
				if (h[i] <= h[min]) min = i;
			out[nout++] = (rp_fingerprint){h[min], (uint32_t)min};
		} else if (h[end] <= h[min]) {
			min = end;
			out[nout++] = (rp_fingerprint){h[min], (uint32_t)min};
		}
	}
	return nout;
}
