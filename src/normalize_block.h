/* normalize_block.h — the 64-byte block tokenizer of normalize.c, included
 * there once per instruction set (SSE2, and AVX2 when the compiler has it)
 * with BLOCK_FN naming the function, BLOCK_TARGET its target attribute and
 * BLOCK_CLASSIFY the classifier.  Not a header for any other file.
 *
 * From a position outside any run, 64 bytes at a time: classify every byte
 * into bit masks (word bytes; bytes the general path must see), take word
 * starts and ends as mask edges with the last word bit carried into the next
 * block, and pair the k-th start with the k-th end, hashing each word as it
 * is found (a separate pass that first wrote every start and end with
 * fixed-count loops was slower: more stores, and its count tests
 * mispredicted as often).  Stops before the first byte the general path
 * must see (NUL, a byte >= 0x80 outside the few common separators that
 * common_separators finds, or a '-' after a word and before a blank or
 * other control byte, which may join a word across a line break), handing
 * back the start of the word that runs into it, or the byte itself; the
 * general path then takes over at least to *slow_until. */

BLOCK_TARGET static int BLOCK_FN(tokenizer *tk, const unsigned char *s, size_t len, size_t *pos, size_t *slow_until)
{
	rp_tokens *out = tk->out;
	size_t i = *pos, n = out->n;
	uint64_t carry = 0; /* 1 when a word runs into this block; out->start[n] is its start */
#ifdef BLOCK_BATCH
	word_batch wb; /* words n0 .. n0 + cnt - 1, not hashed yet */
	wb.slow = 0;
	unsigned cnt = 0;
	size_t n0 = n;
#endif
	while (i < len) {
		if (out->cap - n < 40 && grow_tokens(out)) return RP_ENOMEM;
		unsigned char pad[64];
		const unsigned char *p = s + i;
		if (len - i < 64) { /* the last block, padded with blanks */
			memset(pad, ' ', sizeof pad);
			memcpy(pad, p, len - i);
			p = pad;
		}
		uint64_t word, high, hyph, ctl;
		BLOCK_CLASSIFY(p, &word, &high, &hyph, &ctl);
		if (high) high &= ~common_separators(p); /* curly quotes, dashes: separators here too */
		uint64_t prev = (word << 1) | carry; /* the byte before is a word byte */
		uint64_t bad = high | (hyph & prev & ((ctl >> 1) | (1ULL << 63)));
		uint64_t st = word & ~prev, en = ~word & prev; /* word starts; bytes just after a word */
		unsigned b = 64;
		if (bad) {
			b = (unsigned)__builtin_ctzll(bad);
			uint64_t keep = b ? ~0ULL >> (64 - b) : 0;
			st &= keep;
			en &= keep;
		}
		uint32_t base = (uint32_t)i;
#ifdef BLOCK_BATCH
		/* Pair starts and ends first; hash the words once 31 or more wait. */
		int safe = i + 80 <= len;
		if (carry && en) { /* the word from the last block ends here */
			out->end[n] = base + (uint32_t)__builtin_ctzll(en);
			batch_word(&wb, cnt++, s, len, safe, out->start[n], out->end[n]);
			n++;
			en &= en - 1;
			carry = 0;
		}
		if (!carry) { /* each end now follows its start in this block */
			uint32_t *S = out->start, *E = out->end;
			while (en) {
				uint32_t a = base + (uint32_t)__builtin_ctzll(st), e = base + (uint32_t)__builtin_ctzll(en);
				st &= st - 1;
				en &= en - 1;
				S[n] = a;
				E[n] = e;
				batch_word(&wb, cnt++, s, len, safe, a, e);
				n++;
			}
			if (st) S[n] = base + (uint32_t)__builtin_ctzll(st), carry = 1; /* at most one left */
		}
		if (cnt > 30 || b < 64) {
			if (flush_batch(tk, s, &wb, cnt, n0)) return RP_ENOMEM;
			n0 += cnt;
			cnt = 0;
		}
#else
		if (carry && en) { /* the word from the last block ends here */
			out->end[n] = base + (uint32_t)__builtin_ctzll(en);
			if (ascii_word_hash(tk, s, len, out->start[n], out->end[n], out->hash + n)) return RP_ENOMEM;
			n++;
			en &= en - 1;
			carry = 0;
		}
		if (!carry) { /* each end now follows its start in this block */
			n = i + 80 <= len ? pair_words(tk, s, len, 1, &st, en, base, out, n)
			                  : pair_words(tk, s, len, 0, &st, en, base, out, n);
			if (n == SIZE_MAX) return RP_ENOMEM;
			if (st) out->start[n] = base + (uint32_t)__builtin_ctzll(st), carry = 1; /* at most one left */
		}
#endif
		if (b < 64) {
			out->n = n;
			*pos = carry ? out->start[n] : i + b;
			/* The general path takes the first cluster of such bytes (one
			 * UTF-8 character); when they are dense, the whole block. */
			unsigned upto = __builtin_popcountll(bad) > 8 ? 64 - (unsigned)__builtin_clzll(bad)
			                                               : b + (unsigned)__builtin_ctzll(~(bad >> b) | (1ULL << 63));
			*slow_until = i + upto;
			return 0;
		}
		i += 64;
	}
#ifdef BLOCK_BATCH
	if (flush_batch(tk, s, &wb, cnt, n0)) return RP_ENOMEM;
#endif
	if (carry) { /* a word running to the end of the text */
		out->end[n] = (uint32_t)len;
		if (ascii_word_hash(tk, s, len, out->start[n], len, out->hash + n)) return RP_ENOMEM;
		n++;
	}
	out->n = n;
	*pos = len;
	return 0;
}
