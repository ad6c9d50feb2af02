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
			min = end + 1 - w, hm = h[min];
			for (size_t i = min + 1; i <= end; i++)
				if (h[i] <= hm) min = i, hm = h[i];
			out[nout++] = (rp_fingerprint){hm, (uint32_t)min};
		}
	}
	return nout;
}
