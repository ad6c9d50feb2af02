/* synth.h — the synthetic near-duplicate corpus t_dedup and t_index share:
 * 200 base documents of 120-400 words, then copies of random bases with 0-6%
 * of words replaced (at 2% a 5-shingle Jaccard is about 0.82, so many pairs
 * straddle the 0.8 threshold).  Words come from a 64-word vocabulary with
 * suffixes, so shingles repeat across documents as in real text. */
#ifndef RP_TEST_SYNTH_H
#define RP_TEST_SYNTH_H
#include <stdio.h>
#include <string.h>
#include "internal.h"

#define SYNTH_BASES 200
#define SYNTH_MAX_WORDS 400

static uint64_t synth_rng;
static uint64_t synth_next(void) { synth_rng += 0x9e3779b97f4a7c15ULL; return rp_mix64(synth_rng); }

static const char *synth_vocab(uint64_t i)
{
	static char w[64][32];
	static int init;
	if (!init) {
		for (int k = 0; k < 64; k++) snprintf(w[k], sizeof w[k], "w%dq%d", k * 7919 % 1000, k);
		init = 1;
	}
	return w[i % 64];
}

/* Fill docs[0..ndoc) (strdup'ed) and lens from the generator seeded with seed. */
static void synth_corpus(uint64_t seed, int ndoc, char **docs, size_t *lens)
{
	static char buf[8192];
	static uint64_t words[1024][SYNTH_MAX_WORDS];
	static size_t nw[1024];
	synth_rng = seed;
	for (int d = 0; d < ndoc && d < 1024; d++) {
		if (d < SYNTH_BASES) {
			nw[d] = 120 + synth_next() % 280;
			for (size_t i = 0; i < nw[d]; i++) words[d][i] = synth_next();
		} else {
			int src = (int)(synth_next() % SYNTH_BASES);
			nw[d] = nw[src];
			int permille = (int)(synth_next() % 61);
			for (size_t i = 0; i < nw[d]; i++)
				words[d][i] = (int)(synth_next() % 1000) < permille ? synth_next() : words[src][i];
		}
		size_t len = 0;
		for (size_t i = 0; i < nw[d]; i++) {
			uint64_t x = words[d][i];
			len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s%llu ", synth_vocab(x),
			                        (x >> 8) % 3 ? "" : "x", (unsigned long long)(x >> 40) % 97);
		}
		docs[d] = strdup(buf);
		lens[d] = len;
	}
}
#endif
