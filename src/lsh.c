/* lsh.c — parameters and LSH banding.
 *
 * b bands of r rows: a pair of Jaccard s shares at least one band key with
 * probability 1 - (1 - s^r)^b.  rp_lsh_choose() takes the largest r (fewest
 * false candidates) for which b = K / r still gives probability >= 0.98 at the
 * threshold.  A band key is XXH3-64 of the band's r values seeded with the
 * band number. */
#include <math.h>
#define XXH_INLINE_ALL /* band keys are short hashes, millions of them */
#include <xxhash.h>
#include "internal.h"

void rp_params_default(rp_params *p)
{
	p->ngram = 5;
	p->char_shingles = 0;
	p->num_perm = 128;
	p->bands = p->rows = 0;
	p->threshold = 0.8;
	p->verify = RP_VERIFY_AUTO;
	p->tmpdir = NULL;
	p->keep_longest = 0;
	p->seed = 0;
}

double rp_lsh_probability(int bands, int rows, double s)
{
	return 1.0 - pow(1.0 - pow(s, rows), bands);
}

void rp_lsh_choose(double t, int num_perm, int *bands, int *rows)
{
	for (int r = num_perm; r >= 1; r--) {
		int b = num_perm / r;
		if (rp_lsh_probability(b, r, t) >= 0.98) {
			*bands = b;
			*rows = r;
			return;
		}
	}
	*bands = num_perm;
	*rows = 1;
}

rp_status rp_params_resolve(rp_params *p, rp_error *err)
{
	if (p->ngram < 1 || p->ngram > 64)
		return rp_set_error(err, RP_EUSAGE, "n-gram length must be in 1..64, not %d", p->ngram);
	if (p->num_perm < 1 || p->num_perm > RP_MAX_PERM)
		return rp_set_error(err, RP_EUSAGE, "--num-perm must be in 1..%d, not %d", RP_MAX_PERM, p->num_perm);
	if (!(p->threshold > 0.0 && p->threshold <= 1.0))
		return rp_set_error(err, RP_EUSAGE, "--threshold must be in (0, 1], not %g", p->threshold);
	if (p->verify < RP_VERIFY_AUTO || p->verify > RP_VERIFY_EXACT)
		return rp_set_error(err, RP_EUSAGE, "unknown verification mode %d", p->verify);
	if ((p->bands == 0) != (p->rows == 0))
		return rp_set_error(err, RP_EUSAGE, "--bands and --rows go together");
	if (p->bands == 0) rp_lsh_choose(p->threshold, p->num_perm, &p->bands, &p->rows);
	if (p->bands < 1 || p->rows < 1 || (long)p->bands * p->rows > p->num_perm)
		return rp_set_error(err, RP_EUSAGE, "--bands x --rows (%d x %d) must be at most --num-perm (%d)",
		                    p->bands, p->rows, p->num_perm);
	return RP_OK;
}

uint64_t rp_band_key(const uint32_t *sig, int band, int rows)
{
	return XXH3_64bits_withSeed(sig + (size_t)band * rows, (size_t)rows * sizeof *sig, (uint64_t)band);
}

__attribute__((flatten)) void rp_band_keys(const uint32_t *sig, int bands, int rows, uint64_t *keys)
{
	const size_t len = (size_t)rows * sizeof *sig;
	for (int b = 0; b < bands; b++) keys[b] = XXH3_64bits_withSeed(sig + (size_t)b * rows, len, (uint64_t)b);
}
