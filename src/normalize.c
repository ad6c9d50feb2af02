/* normalize.c — text to tokens.
 *
 * A token is a maximal run of word characters (letters, digits, combining
 * marks) after Unicode NFKC and case folding; everything else (spaces of every
 * kind including NBSP, quotes, dashes, ellipses, '*', '\\', '#', brackets)
 * separates tokens and yields none.  Default-ignorable characters (soft
 * hyphen, zero-width joiners, the byte-order mark) vanish without splitting a
 * word.  A word hyphenated across a line break ("infor-\n  mation") is joined.
 *
 * Plain ASCII text goes 64 bytes at a time through the block tokenizer
 * (normalize_block.h; SSE2, AVX2 or AVX-512, the widest the CPU has, and
 * block_vbmi below where AVX-512 has VBMI and VBMI2), which hashes words
 * straight from the text; it leaves NUL, bytes >= 0x80 (but for
 * a few common separators: NBSP, dashes, curly quotes, the ellipsis) and
 * hyphens that may end a line to the general path below, which gives the
 * same tokens for the same bytes.  There ASCII runs take a table-driven path
 * that lowercases into a scratch buffer and never calls utf8proc; a run
 * holding a byte >= 0x80 is decomposed (NFKD + case fold + ignorables
 * removed), composed (NFKC) and split by utf8proc.  Every token keeps the
 * byte span [start, end) of the original text it came from; tokens that one
 * run splits into after NFKC (rare: "½" -> "1", "2") share the run's span.
 * Token hashes are a two-multiply hash of tokens up to 16 bytes and XXH3-64
 * of longer ones, of the normalised UTF-8 with the caller's seed: identical
 * on every platform and every path.
 * The rules are versioned by RP_NORM_VERSION; docs/NORMALIZATION.md. */
#include <string.h>
#include <utf8proc.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && (defined(__clang__) || __GNUC__ >= 5)
#include <immintrin.h>
#define HAVE_AVX2_BLOCKS 1 /* AVX2 and AVX-512 block tokenizers, chosen at run time */
#endif
#define XXH_INLINE_ALL /* inline XXH3: token hashes are short and many */
#include <xxhash.h>
#include "internal.h"

enum { C_SEP = 0, C_WORD = 1, C_HIGH = 2, C_NUL = 3 };

/* Byte classes: ASCII letters and digits are word bytes (lowered below). */
static const uint8_t byte_class[256] = {
	[0] = C_NUL,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1,
	['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1,
	['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1,
	['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1,
	['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
	[0x80 ... 0xff] = C_HIGH,
};

/* Tokens of at most 16 bytes (nearly all words) are hashed from their bytes
 * as two little-endian 64-bit words, zero-padded, with two multiplications
 * and a finaliser: no length dispatch, and the SIMD tokenizer can hash a
 * word straight from its register.  Longer tokens use XXH3-64. */
static inline uint64_t short_hash(uint64_t lo, uint64_t hi, size_t len, uint64_t seed)
{
	uint64_t h = (lo ^ seed) * 0x9e3779b97f4a7c15ULL;
	h ^= rp_rotl64((hi ^ (seed >> 7)) * 0xc2b2ae3d27d4eb4fULL, 31);
	return rp_mix64(h ^ ((uint64_t)len << 56));
}

uint64_t rp_token_hash(const char *utf8, size_t len, uint64_t seed)
{
	if (len > 16) return XXH3_64bits_withSeed(utf8, len, seed);
	uint64_t w[2] = {0, 0};
	for (size_t i = 0; i < len; i++) w[i >> 3] |= (uint64_t)(unsigned char)utf8[i] << ((i & 7) * 8);
	return short_hash(w[0], w[1], len, seed);
}

#ifdef __SSE2__
/* Bit k set where byte k of v is an ASCII letter or digit. */
static inline unsigned word_mask16(__m128i v)
{
	__m128i letter = _mm_add_epi8(_mm_or_si128(v, _mm_set1_epi8(0x20)), _mm_set1_epi8((char)(0x80 - 'a')));
	__m128i digit = _mm_add_epi8(v, _mm_set1_epi8((char)(0x80 - '0')));
	__m128i w = _mm_or_si128(_mm_cmplt_epi8(letter, _mm_set1_epi8((char)(-128 + 26))),
	                         _mm_cmplt_epi8(digit, _mm_set1_epi8((char)(-128 + 10))));
	return (unsigned)_mm_movemask_epi8(w);
}

/* v with ASCII capitals lowered. */
static inline __m128i lower16(__m128i v)
{
	__m128i up = _mm_cmplt_epi8(_mm_add_epi8(v, _mm_set1_epi8((char)(0x80 - 'A'))), _mm_set1_epi8((char)(-128 + 26)));
	return _mm_or_si128(v, _mm_and_si128(up, _mm_set1_epi8(0x20)));
}

/* Masks keeping the first L bytes of a 16-byte little-endian pair. */
static const uint64_t keep_lo[17] = {0, 0xff, 0xffff, 0xffffff, 0xffffffff, 0xffffffffffULL, 0xffffffffffffULL,
	0xffffffffffffffULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL};
static const uint64_t keep_hi[17] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xffff, 0xffffff, 0xffffffff,
	0xffffffffffULL, 0xffffffffffffULL, 0xffffffffffffffULL, ~0ULL};
#endif

/* Scratch buffers, kept in rp_tokens between calls. */
struct rp_tok_scratch {
	rp_tokens *out;
	uint64_t seed;
	int char_tokens;
	char *run;              /* the current run's bytes, ASCII lowered */
	size_t run_len, run_cap;
	utf8proc_int32_t *cps;  /* decomposed code points of a non-ASCII run */
	size_t cps_cap;
	char *word;             /* one normalised token of a non-ASCII run */
	size_t word_len, word_cap;
};
typedef struct rp_tok_scratch tokenizer;

static int grow_tokens(rp_tokens *t);

static inline int push_hash(rp_tokens *t, uint64_t h, size_t start, size_t end)
{
	if (__builtin_expect(t->n == t->cap, 0) && grow_tokens(t)) return RP_ENOMEM;
	size_t n = t->n;
	t->hash[n] = h;
	t->start[n] = (uint32_t)start;
	t->end[n] = (uint32_t)end;
	t->n = n + 1;
	return 0;
}

static int grow_tokens(rp_tokens *t)
{
	size_t cap = t->cap ? t->cap * 2 : 1024;
	uint64_t *h = rp_realloc_array(t->hash, cap, sizeof *h);
	if (!h) return RP_ENOMEM;
	t->hash = h;
	uint32_t *a = rp_realloc_array(t->start, cap, sizeof *a);
	if (!a) return RP_ENOMEM;
	t->start = a;
	uint32_t *b = rp_realloc_array(t->end, cap, sizeof *b);
	if (!b) return RP_ENOMEM;
	t->end = b;
	t->cap = cap;
	return 0;
}

static inline int push_token(tokenizer *tk, const char *s, size_t len, size_t start, size_t end)
{
	return push_hash(tk->out, rp_token_hash(s, len, tk->seed), start, end);
}

/* Emit an all-ASCII run (already lowered): one token, or one per character. */
static int emit_ascii_run(tokenizer *tk, size_t start, size_t end)
{
	if (!tk->char_tokens) return push_token(tk, tk->run, tk->run_len, start, end);
	/* Character tokens: positions inside a run are exact unless a hyphen
	 * join removed bytes; then all share the run's span. */
	int exact = tk->run_len == end - start;
	for (size_t i = 0; i < tk->run_len; i++) {
		int rc = push_token(tk, tk->run + i, 1, exact ? start + i : start, exact ? start + i + 1 : end);
		if (rc) return rc;
	}
	return 0;
}

static int is_word_cp(utf8proc_int32_t cp)
{
	switch (utf8proc_category(cp)) {
	case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
	case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
	case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
	case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
		return 1;
	default:
		return 0;
	}
}

/* Does a non-ASCII code point belong inside a run?  Word characters, format
 * characters (ignorable: removed later) and symbols with a compatibility
 * decomposition (™ -> tm); every other one separates. */
static int in_run_cp(utf8proc_int32_t cp)
{
	utf8proc_category_t c = utf8proc_category(cp);
	if (is_word_cp(cp) || c == UTF8PROC_CATEGORY_CF) return 1;
	if (c >= UTF8PROC_CATEGORY_SM && c <= UTF8PROC_CATEGORY_SO)
		return utf8proc_get_property(cp)->decomp_seqindex != UINT16_MAX;
	return 0;
}

static int flush_word(tokenizer *tk, size_t start, size_t end)
{
	if (!tk->word_len) return 0;
	int rc = push_token(tk, tk->word, tk->word_len, start, end);
	tk->word_len = 0;
	return rc;
}

/* Emit a run holding non-ASCII bytes: NFKC + case fold, then split on
 * non-word characters. */
static int emit_unicode_run(tokenizer *tk, size_t start, size_t end)
{
	const utf8proc_option_t opt =
		UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_IGNORE;
	utf8proc_ssize_t n;
	for (;;) {
		n = utf8proc_decompose((const utf8proc_uint8_t *)tk->run, (utf8proc_ssize_t)tk->run_len,
		                       tk->cps, (utf8proc_ssize_t)tk->cps_cap, opt);
		if (n < 0) return RP_EDATA; /* cannot happen: the run was validated */
		if ((size_t)n <= tk->cps_cap) break;
		if (rp_grow((void **)&tk->cps, &tk->cps_cap, (size_t)n, sizeof *tk->cps)) return RP_ENOMEM;
	}
	n = utf8proc_normalize_utf32(tk->cps, n, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
	if (n < 0) return RP_EDATA;
	for (utf8proc_ssize_t i = 0; i < n; i++) {
		utf8proc_int32_t cp = tk->cps[i];
		if (!is_word_cp(cp)) {
			int rc = flush_word(tk, start, end);
			if (rc) return rc;
			continue;
		}
		if (rp_grow((void **)&tk->word, &tk->word_cap, tk->word_len + 4, 1)) return RP_ENOMEM;
		tk->word_len += (size_t)utf8proc_encode_char(cp, (utf8proc_uint8_t *)tk->word + tk->word_len);
		if (tk->char_tokens) {
			int rc = flush_word(tk, start, end);
			if (rc) return rc;
		}
	}
	return flush_word(tk, start, end);
}

static int run_append(tokenizer *tk, const char *s, size_t len)
{
	if (rp_grow((void **)&tk->run, &tk->run_cap, tk->run_len + len, 1)) return RP_ENOMEM;
	memcpy(tk->run + tk->run_len, s, len);
	tk->run_len += len;
	return 0;
}

/* If text[i] is '-' ending a line ("-", blanks, newline, blanks) and a word
 * character follows, return the index of that character; else 0. */
static size_t hyphen_break(const unsigned char *s, size_t len, size_t i)
{
	size_t j = i + 1;
	while (j < len && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r')) j++;
	if (j >= len || s[j] != '\n') return 0;
	j++;
	while (j < len && (s[j] == ' ' || s[j] == '\t')) j++;
	if (j >= len) return 0;
	if (byte_class[s[j]] == C_WORD) return j;
	if (byte_class[s[j]] == C_HIGH) {
		utf8proc_int32_t cp;
		if (utf8proc_iterate(s + j, (utf8proc_ssize_t)(len - j), &cp) > 0 && is_word_cp(cp)) return j;
	}
	return 0;
}

#ifdef __SSE2__
/* ---- The 64-byte block tokenizer (normalize_block.h) ---- */

static inline uint64_t load64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof v);
	return v;
}

/* Hash of the ASCII word w[0, L) into *h, lowered: setting bit 5 of a letter
 * or digit lowers a capital and leaves the rest as they are.  This way for
 * words longer than 16 bytes or too near the end of the text to load 16. */
static int ascii_word_hash_slow(tokenizer *tk, const unsigned char *w, size_t L, uint64_t *h)
{
	if (rp_grow((void **)&tk->run, &tk->run_cap, L, 1)) return RP_ENOMEM;
	for (size_t k = 0; k < L; k++) tk->run[k] = (char)(w[k] | 0x20);
	*h = rp_token_hash(tk->run, L, tk->seed);
	return 0;
}

/* Hash of the ASCII word s[a, e) into *h: from two 8-byte loads when it
 * can, else as above. */
static inline int ascii_word_hash(tokenizer *tk, const unsigned char *s, size_t len, size_t a, size_t e, uint64_t *h)
{
	size_t L = e - a;
	if (L <= 16 && a + 16 <= len) {
		uint64_t lo = (load64(s + a) | 0x2020202020202020ULL) & keep_lo[L];
		uint64_t hi = (load64(s + a + 8) | 0x2020202020202020ULL) & keep_hi[L];
		*h = short_hash(lo, hi, L, tk->seed);
		return 0;
	}
	return ascii_word_hash_slow(tk, s + a, L, h);
}

/* Pair the word starts *st of one block with its word ends en (each end
 * after its start), adding the words at out[n] with positions from base;
 * returns the new n, or SIZE_MAX when out of memory.  The one start left
 * without an end stays in *st.  safe: every start lies 16 bytes or more
 * before the end of the text, so the word is loaded whole without a test. */
static inline __attribute__((always_inline)) size_t pair_words(tokenizer *tk, const unsigned char *s, size_t len,
                                                               int safe, uint64_t *st, uint64_t en, uint32_t base,
                                                               rp_tokens *out, size_t n)
{
	uint32_t *S = out->start, *E = out->end;
	uint64_t *H = out->hash, seed = tk->seed, m = *st;
	while (en) {
		uint32_t a = base + (uint32_t)__builtin_ctzll(m), e = base + (uint32_t)__builtin_ctzll(en);
		m &= m - 1;
		en &= en - 1;
		S[n] = a;
		E[n] = e;
		size_t L = e - a;
		if (__builtin_expect(L <= 16 && (safe || a + 16 <= len), 1)) {
			uint64_t lo = (load64(s + a) | 0x2020202020202020ULL) & keep_lo[L];
			uint64_t hi = (load64(s + a + 8) | 0x2020202020202020ULL) & keep_hi[L];
			H[n] = short_hash(lo, hi, L, seed);
		} else if (ascii_word_hash_slow(tk, s + a, L, H + n)) {
			return SIZE_MAX;
		}
		n++;
	}
	*st = m;
	return n;
}

/* Bytes of the commonest non-ASCII separators in English text, whole
 * inside the 64 bytes at p: NBSP (C2 A0) and E2 80 followed by 93 94 (en
 * and em dash), 98 99 9C 9D (curly quotes) or A6 (ellipsis).  None is a word
 * character, an ignorable or a symbol with a compatibility decomposition,
 * so each separates words exactly as a blank does (docs/NORMALIZATION.md),
 * and the block tokenizer takes them itself instead of the general path. */
static uint64_t common_separators(const unsigned char *p)
{
	uint64_t e2 = 0, x80 = 0, third = 0, c2 = 0, a0 = 0;
	for (int k = 0; k < 4; k++) {
		__m128i v = _mm_loadu_si128((const __m128i *)(p + 16 * k));
		__m128i even = _mm_and_si128(v, _mm_set1_epi8((char)0xfe)); /* x and x | 1 alike */
		__m128i t = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8((char)0x93)),
		                                      _mm_cmpeq_epi8(v, _mm_set1_epi8((char)0x94))),
		                         _mm_or_si128(_mm_cmpeq_epi8(even, _mm_set1_epi8((char)0x98)),
		                                      _mm_cmpeq_epi8(even, _mm_set1_epi8((char)0x9c))));
		t = _mm_or_si128(t, _mm_cmpeq_epi8(v, _mm_set1_epi8((char)0xa6)));
		e2 |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8((char)0xe2))) << (16 * k);
		x80 |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8((char)0x80))) << (16 * k);
		third |= (uint64_t)(unsigned)_mm_movemask_epi8(t) << (16 * k);
		c2 |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8((char)0xc2))) << (16 * k);
		a0 |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8((char)0xa0))) << (16 * k);
	}
	uint64_t s3 = e2 & (x80 >> 1) & (third >> 2), s2 = c2 & (a0 >> 1);
	return s3 | (s3 << 1) | (s3 << 2) | s2 | (s2 << 1);
}

/* Masks of 64 bytes: ASCII letters and digits; bytes >= 0x80 or NUL; '-';
 * bytes <= 0x20 (blanks, and other controls, which only make a '-' go the
 * general way). */
static inline void classify_sse2(const unsigned char *p, uint64_t *word, uint64_t *high, uint64_t *hyph, uint64_t *ctl)
{
	uint64_t w = 0, h = 0, y = 0, c = 0;
	for (int k = 0; k < 4; k++) {
		__m128i v = _mm_loadu_si128((const __m128i *)(p + 16 * k));
		w |= (uint64_t)word_mask16(v) << (16 * k);
		h |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmplt_epi8(v, _mm_set1_epi8(1))) << (16 * k);
		y |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('-'))) << (16 * k);
		c |= (uint64_t)(unsigned)_mm_movemask_epi8(
			_mm_cmpeq_epi8(_mm_subs_epu8(v, _mm_set1_epi8(0x20)), _mm_setzero_si128())) << (16 * k);
	}
	*word = w, *high = h, *hyph = y, *ctl = c;
}

#define BLOCK_FN block_sse2
#define BLOCK_TARGET
#define BLOCK_CLASSIFY classify_sse2
#include "normalize_block.h"
#undef BLOCK_FN
#undef BLOCK_TARGET
#undef BLOCK_CLASSIFY

#ifdef HAVE_AVX2_BLOCKS
__attribute__((target("avx2"))) static inline unsigned mask32(__m256i m)
{
	return (unsigned)_mm256_movemask_epi8(m);
}

__attribute__((target("avx2"))) static inline void classify_avx2(const unsigned char *p, uint64_t *word,
                                                                 uint64_t *high, uint64_t *hyph, uint64_t *ctl)
{
	uint64_t w = 0, h = 0, y = 0, c = 0;
	for (int k = 0; k < 2; k++) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(p + 32 * k));
		__m256i letter = _mm256_add_epi8(_mm256_or_si256(v, _mm256_set1_epi8(0x20)), _mm256_set1_epi8((char)(0x80 - 'a')));
		__m256i digit = _mm256_add_epi8(v, _mm256_set1_epi8((char)(0x80 - '0')));
		__m256i wm = _mm256_or_si256(_mm256_cmpgt_epi8(_mm256_set1_epi8((char)(-128 + 26)), letter),
		                             _mm256_cmpgt_epi8(_mm256_set1_epi8((char)(-128 + 10)), digit));
		w |= (uint64_t)mask32(wm) << (32 * k);
		h |= (uint64_t)mask32(_mm256_cmpgt_epi8(_mm256_set1_epi8(1), v)) << (32 * k);
		y |= (uint64_t)mask32(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('-'))) << (32 * k);
		c |= (uint64_t)mask32(_mm256_cmpeq_epi8(_mm256_subs_epu8(v, _mm256_set1_epi8(0x20)), _mm256_setzero_si256()))
		     << (32 * k);
	}
	*word = w, *high = h, *hyph = y, *ctl = c;
}

#define BLOCK_FN block_avx2
#define BLOCK_TARGET __attribute__((target("avx2,bmi,popcnt")))
#define BLOCK_CLASSIFY classify_avx2
#include "normalize_block.h"
#undef BLOCK_FN
#undef BLOCK_TARGET
#undef BLOCK_CLASSIFY

/* AVX-512: the classifier writes mask registers directly, and the words of
 * a block are hashed eight at a time (the scalar hash's four multiplies per
 * word were a third of the time). */
#define AVX512 "avx512f,avx512dq,avx512bw,avx512vl,avx2,bmi,popcnt"

__attribute__((target(AVX512))) static inline void classify_avx512(const unsigned char *p, uint64_t *word,
                                                                   uint64_t *high, uint64_t *hyph, uint64_t *ctl)
{
	__m512i v = _mm512_loadu_si512((const void *)p);
	__m512i letter = _mm512_sub_epi8(_mm512_or_si512(v, _mm512_set1_epi8(0x20)), _mm512_set1_epi8('a'));
	*word = _mm512_cmplt_epu8_mask(letter, _mm512_set1_epi8(26)) |
	        _mm512_cmplt_epu8_mask(_mm512_sub_epi8(v, _mm512_set1_epi8('0')), _mm512_set1_epi8(10));
	*high = _mm512_cmplt_epi8_mask(v, _mm512_set1_epi8(1));
	*hyph = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('-'));
	*ctl = _mm512_cmple_epu8_mask(v, _mm512_set1_epi8(0x20));
}

/* Words waiting to be hashed: up to 30 from earlier blocks and up to 33
 * that end in the current one. */
typedef struct {
	uint64_t lo[64], hi[64], len[64]; /* lowered bytes 0-7, 8-15; length << 56 */
	uint64_t slow;                    /* bit j: word j is hashed by ascii_word_hash_slow */
} word_batch;

static inline void batch_word(word_batch *wb, unsigned j, const unsigned char *s, size_t len, int safe, uint32_t a,
                              uint32_t e)
{
	size_t L = e - a;
	uint64_t lo = 0, hi = 0;
	if (__builtin_expect(L <= 16 && (safe || a + 16 <= len), 1)) {
		lo = (load64(s + a) | 0x2020202020202020ULL) & keep_lo[L];
		hi = (load64(s + a + 8) | 0x2020202020202020ULL) & keep_hi[L];
	} else {
		wb->slow |= 1ULL << j;
	}
	wb->lo[j] = lo;
	wb->hi[j] = hi;
	wb->len[j] = (uint64_t)L << 56;
}

/* short_hash of words 0..cnt-1 of wb into H, eight at a time. */
__attribute__((target(AVX512))) static inline void hash_batch(const word_batch *wb, unsigned cnt, uint64_t seed,
                                                              uint64_t *H)
{
	const __m512i s0 = _mm512_set1_epi64((long long)seed), s7 = _mm512_set1_epi64((long long)(seed >> 7));
	for (unsigned j = 0; j < cnt; j += 8) {
		__mmask8 m = cnt - j >= 8 ? 0xff : (__mmask8)((1u << (cnt - j)) - 1);
		__m512i lo = _mm512_maskz_loadu_epi64(m, wb->lo + j), hi = _mm512_maskz_loadu_epi64(m, wb->hi + j);
		__m512i h = _mm512_mullo_epi64(_mm512_xor_si512(lo, s0), _mm512_set1_epi64((long long)0x9e3779b97f4a7c15ULL));
		__m512i g = _mm512_mullo_epi64(_mm512_xor_si512(hi, s7), _mm512_set1_epi64((long long)0xc2b2ae3d27d4eb4fULL));
		h = _mm512_xor_si512(h, _mm512_rol_epi64(g, 31));
		h = _mm512_xor_si512(h, _mm512_maskz_loadu_epi64(m, wb->len + j));
		h = _mm512_xor_si512(h, _mm512_srli_epi64(h, 33)); /* rp_mix64 */
		h = _mm512_mullo_epi64(h, _mm512_set1_epi64((long long)0xff51afd7ed558ccdULL));
		h = _mm512_xor_si512(h, _mm512_srli_epi64(h, 33));
		h = _mm512_mullo_epi64(h, _mm512_set1_epi64((long long)0xc4ceb9fe1a85ec53ULL));
		h = _mm512_xor_si512(h, _mm512_srli_epi64(h, 33));
		_mm512_mask_storeu_epi64(H + j, m, h);
	}
}

/* Hash the cnt words waiting in wb: tokens n0 onwards.  The counts are
 * passed by value: a count whose address was taken lived in memory, reloaded
 * after every store of a word's start and end (a uint32_t that might alias
 * it), a store-to-load wait per word. */
__attribute__((target(AVX512))) static int flush_batch(tokenizer *tk, const unsigned char *s, word_batch *wb,
                                                       unsigned cnt, size_t n0)
{
	rp_tokens *out = tk->out;
	hash_batch(wb, cnt, tk->seed, out->hash + n0);
	for (uint64_t m = wb->slow; m; m &= m - 1) {
		size_t k = n0 + (size_t)__builtin_ctzll(m);
		if (ascii_word_hash_slow(tk, s + out->start[k], out->end[k] - out->start[k], out->hash + k)) return RP_ENOMEM;
	}
	wb->slow = 0;
	return 0;
}

#define BLOCK_FN block_avx512
#define BLOCK_TARGET __attribute__((target(AVX512)))
#define BLOCK_CLASSIFY classify_avx512
#define BLOCK_BATCH 1
#include "normalize_block.h"
#undef BLOCK_FN
#undef BLOCK_TARGET
#undef BLOCK_CLASSIFY
#undef BLOCK_BATCH

/* ---- AVX-512 with VBMI and VBMI2: the words of a block in registers ----
 *
 * The same blocks, masks and stops as normalize_block.h, but no loop over
 * the words: the block's word starts and ends are compressed out of an index
 * vector (vpcompressb), widened and stored with a few vector stores, and the
 * words' bytes are permuted straight out of the lowered text (vpermt2b over
 * the 128 bytes from 32 before the block), zeroed past each word's length,
 * and hashed eight at a time.  A word carried in from the last block takes
 * its bytes from the 32 before the block; words longer than 16 bytes are
 * hashed again the slow exact way.  Bytes past the end of the text load as
 * blanks, and a word's own bytes all lie in the text, so a short word near
 * the end needs no care. */
#define AVX512VBMI AVX512 ",avx512vbmi,avx512vbmi2"

/* The 64 bytes of s from i, blanks (all bytes ' ') past len. */
__attribute__((target(AVX512VBMI))) static inline __m512i load_block(const unsigned char *s, size_t len, size_t i,
                                                                     __m512i blanks)
{
	if (i >= len) return blanks;
	if (len - i >= 64) return _mm512_loadu_si512((const void *)(s + i));
	return _mm512_mask_loadu_epi8(blanks, (__mmask64)((1ULL << (len - i)) - 1), s + i);
}

/* common_separators of the 64 bytes in v. */
__attribute__((target(AVX512VBMI))) static inline uint64_t common_separators_zmm(__m512i v)
{
	__m512i even = _mm512_and_si512(v, _mm512_set1_epi8((char)0xfe));
	uint64_t e2 = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8((char)0xe2));
	uint64_t x80 = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8((char)0x80));
	uint64_t third = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8((char)0x93)) |
	                 _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8((char)0x94)) |
	                 _mm512_cmpeq_epi8_mask(even, _mm512_set1_epi8((char)0x98)) |
	                 _mm512_cmpeq_epi8_mask(even, _mm512_set1_epi8((char)0x9c)) |
	                 _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8((char)0xa6));
	uint64_t c2 = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8((char)0xc2));
	uint64_t a0 = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8((char)0xa0));
	uint64_t s3 = e2 & (x80 >> 1) & (third >> 2), s2 = c2 & (a0 >> 1);
	return s3 | (s3 << 1) | (s3 << 2) | s2 | (s2 << 1);
}

__attribute__((target(AVX512VBMI))) static int block_vbmi(tokenizer *tk, const unsigned char *s, size_t len,
                                                          size_t *pos, size_t *slow_until)
{
	rp_tokens *out = tk->out;
	size_t i = *pos, n = out->n;
	uint64_t carry = 0, seed = tk->seed; /* carry: 1 when a word runs into this block */
	uint32_t cstart = 0;                  /* then its start, as out->start[n] */
	__m512i lower = _mm512_set1_epi8(0x20); /* ' ' too */
	/* Byte k of a block is byte 32 + k of the permute tables. */
	const __m512i index = _mm512_add_epi8(_mm512_set_epi64(0x3f3e3d3c3b3a3938LL, 0x3736353433323130LL,
	                                                       0x2f2e2d2c2b2a2928LL, 0x2726252423222120LL,
	                                                       0x1f1e1d1c1b1a1918LL, 0x1716151413121110LL,
	                                                       0x0f0e0d0c0b0a0908LL, 0x0706050403020100LL),
	                                      _mm512_set1_epi8(32));
	const __m512i lane = _mm512_set_epi64(0x0707070707070707LL, 0x0606060606060606LL, 0x0505050505050505LL,
	                                      0x0404040404040404LL, 0x0303030303030303LL, 0x0202020202020202LL,
	                                      0x0101010101010101LL, 0); /* byte -> its 8-byte lane */
	const __m512i byte = _mm512_set1_epi64(0x0706050403020100LL); /* byte -> its place in its lane */
	/* Every other constant made once and kept in a register: without the
	 * empty asm, gcc built each again from an immediate in every block. */
	__m512i c_a = _mm512_set1_epi8('a'), c_26 = _mm512_set1_epi8(26), c_0 = _mm512_set1_epi8('0');
	__m512i c_10 = _mm512_set1_epi8(10), c_1 = _mm512_set1_epi8(1), c_dash = _mm512_set1_epi8('-');
	__m512i c_8 = _mm512_set1_epi8(8), c_16 = _mm512_set1_epi8(16), byte8 = _mm512_add_epi8(byte, c_8);
	__m512i s0 = _mm512_set1_epi64((long long)seed), s7 = _mm512_set1_epi64((long long)(seed >> 7));
	__m512i m0 = _mm512_set1_epi64((long long)0x9e3779b97f4a7c15ULL), m1 = _mm512_set1_epi64((long long)0xc2b2ae3d27d4eb4fULL);
	__m512i m2 = _mm512_set1_epi64((long long)0xff51afd7ed558ccdULL), m3 = _mm512_set1_epi64((long long)0xc4ceb9fe1a85ec53ULL);
	__asm__("" : "+v"(c_a), "+v"(c_26), "+v"(c_0), "+v"(c_10), "+v"(c_1), "+v"(c_dash), "+v"(c_8), "+v"(c_16));
	__asm__("" : "+v"(lower), "+v"(byte8), "+v"(s0), "+v"(s7), "+v"(m0), "+v"(m1), "+v"(m2), "+v"(m3));
	__m512i cur = load_block(s, len, i, lower), prevl = lower;
	while (i < len) {
		if (out->cap - n < 64 && grow_tokens(out)) return RP_ENOMEM;
		__m512i next = load_block(s, len, i + 64, lower);
		__m512i curl = _mm512_or_si512(cur, lower);
		uint64_t word = _mm512_cmplt_epu8_mask(_mm512_sub_epi8(curl, c_a), c_26) |
		                _mm512_cmplt_epu8_mask(_mm512_sub_epi8(cur, c_0), c_10);
		uint64_t high = _mm512_cmplt_epi8_mask(cur, c_1);
		uint64_t hyph = _mm512_cmpeq_epi8_mask(cur, c_dash);
		uint64_t ctl = _mm512_cmple_epu8_mask(cur, lower);
		if (high) high &= ~common_separators_zmm(cur);
		uint64_t prev = (word << 1) | carry;
		uint64_t bad = high | (hyph & prev & ((ctl >> 1) | (1ULL << 63)));
		uint64_t st = word & ~prev, en = ~word & prev;
		unsigned b = 64;
		if (bad) {
			b = (unsigned)__builtin_ctzll(bad);
			uint64_t keep = b ? ~0ULL >> (64 - b) : 0;
			st &= keep;
			en &= keep;
		}
		uint32_t base = (uint32_t)i;
		unsigned k = (unsigned)__builtin_popcountll(en), ns = (unsigned)__builtin_popcountll(st);
		if (k) { /* k words end here (at most 32), the first perhaps carried in */
			uint32_t *S = out->start, *E = out->end;
			uint64_t *H = out->hash;
			__m512i sb = _mm512_maskz_compress_epi8(st, index), eb = _mm512_maskz_compress_epi8(en, index);
			__m512i off = _mm512_set1_epi32((int)(base - 32));
			_mm512_storeu_si512((void *)(E + n), _mm512_add_epi32(_mm512_cvtepu8_epi32(_mm512_castsi512_si128(eb)), off));
			if (k > 16)
				_mm512_storeu_si512((void *)(E + n + 16),
				                    _mm512_add_epi32(_mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(eb, 1)), off));
			_mm512_storeu_si512((void *)(S + n + carry),
			                    _mm512_add_epi32(_mm512_cvtepu8_epi32(_mm512_castsi512_si128(sb)), off));
			if (ns > 16)
				_mm512_storeu_si512((void *)(S + n + carry + 16),
				                    _mm512_add_epi32(_mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(sb, 1)), off));
			if (carry) { /* its start first: 32 - (bytes before the block), or 0 (then too long anyway) */
				uint32_t back = base - cstart;
				sb = _mm512_mask_expand_epi8(_mm512_set1_epi8((char)(back <= 32 ? 32 - back : 0)), ~1ULL, sb);
			}
			__m512i lens = _mm512_sub_epi8(eb, sb);
			uint64_t slow = _mm512_cmpgt_epu8_mask(lens, c_16) & (~0ULL >> (64 - k));
			__m512i t0 = _mm512_alignr_epi32(curl, prevl, 8), t1 = _mm512_alignr_epi32(_mm512_or_si512(next, lower), curl, 8);
			__m512i sel = lane;
			for (unsigned g = 0; g < k; g += 8, sel = _mm512_add_epi8(sel, c_8)) {
				__m512i at = _mm512_add_epi8(_mm512_permutexvar_epi8(sel, sb), byte);
				__m512i l8 = _mm512_permutexvar_epi8(sel, lens);
				__m512i lo = _mm512_maskz_permutex2var_epi8(_mm512_cmplt_epu8_mask(byte, l8), t0, at, t1);
				__m512i hi = _mm512_maskz_permutex2var_epi8(_mm512_cmplt_epu8_mask(byte8, l8), t0,
				                                            _mm512_add_epi8(at, c_8), t1);
				__m512i len56 = _mm512_maskz_permutexvar_epi8(0x8080808080808080ULL, sel, lens);
				/* short_hash of the eight words */
				__m512i h = _mm512_mullo_epi64(_mm512_xor_si512(lo, s0), m0);
				__m512i g2 = _mm512_mullo_epi64(_mm512_xor_si512(hi, s7), m1);
				h = _mm512_ternarylogic_epi64(h, _mm512_rol_epi64(g2, 31), len56, 0x96);
				h = _mm512_mullo_epi64(_mm512_xor_si512(h, _mm512_srli_epi64(h, 33)), m2);
				h = _mm512_mullo_epi64(_mm512_xor_si512(h, _mm512_srli_epi64(h, 33)), m3);
				_mm512_storeu_si512((void *)(H + n + g), _mm512_xor_si512(h, _mm512_srli_epi64(h, 33)));
			}
			for (; slow; slow &= slow - 1) {
				size_t j = n + (size_t)__builtin_ctzll(slow);
				if (ascii_word_hash_slow(tk, s + S[j], E[j] - S[j], H + j)) return RP_ENOMEM;
			}
			n += k;
			carry = carry + ns - k;
			if (carry) cstart = base + 63 - (uint32_t)__builtin_clzll(st); /* the last start; stored already */
		} else if (st) { /* one word running into the next block */
			cstart = out->start[n] = base + (uint32_t)__builtin_ctzll(st);
			carry = 1;
		}
		if (b < 64) {
			out->n = n;
			*pos = carry ? out->start[n] : i + b;
			unsigned upto = __builtin_popcountll(bad) > 8 ? 64 - (unsigned)__builtin_clzll(bad)
			                                               : b + (unsigned)__builtin_ctzll(~(bad >> b) | (1ULL << 63));
			*slow_until = i + upto;
			return 0;
		}
		prevl = curl;
		cur = next;
		i += 64;
	}
	if (carry) { /* a word running to the end of the text */
		out->end[n] = (uint32_t)len;
		if (ascii_word_hash(tk, s, len, out->start[n], len, out->hash + n)) return RP_ENOMEM;
		n++;
	}
	out->n = n;
	*pos = len;
	return 0;
}
#endif
#endif

rp_status rp_tokenize(const char *text, size_t len, int char_tokens, uint64_t seed,
                      rp_tokens *out, rp_error *err)
{
	return rp_tokenize_path(text, len, char_tokens, seed, out, err, RP_TOK_AUTO);
}

rp_status rp_tokenize_path(const char *text, size_t len, int char_tokens, uint64_t seed, rp_tokens *out,
                           rp_error *err, int path)
{
	const unsigned char *s = (const unsigned char *)text;
	int rc = 0;
	out->n = 0;
	if (len > UINT32_MAX - 1) return rp_set_error(err, RP_EDATA, "text longer than 4 GiB");
	if (!out->scratch) {
		out->scratch = rp_malloc(sizeof *out->scratch);
		if (!out->scratch) return rp_set_error(err, RP_ENOMEM, "out of memory");
		memset(out->scratch, 0, sizeof *out->scratch);
	}
	tokenizer *tk = out->scratch;
	tk->out = out;
	tk->seed = seed;
	tk->char_tokens = char_tokens;
	tk->word_len = 0;
	size_t i = 0;
#ifdef __SSE2__
	/* The block tokenizer runs from i unless the general path has bytes
	 * before slow_until to take. */
	size_t slow_until = path == RP_TOK_GENERAL ? SIZE_MAX : 0;
	int (*block)(tokenizer *, const unsigned char *, size_t, size_t *, size_t *) = block_sse2;
#ifdef HAVE_AVX2_BLOCKS
	if (path != RP_TOK_SSE2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") &&
	    __builtin_cpu_supports("popcnt"))
		block = block_avx2;
	if ((path == RP_TOK_AUTO || path >= RP_TOK_AVX512) && block == block_avx2 &&
	    __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
	    __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
		block = block_avx512;
	if ((path == RP_TOK_AUTO || path == RP_TOK_VBMI) && block == block_avx512 &&
	    __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512vbmi2"))
		block = block_vbmi;
#endif
#else
	(void)path;
#endif
	while (i < len) {
#ifdef __SSE2__
		if (i >= slow_until && !tk->char_tokens) {
			if ((rc = block(tk, s, len, &i, &slow_until))) goto done;
			if (i >= len) break;
		}
		/* Near the bytes the block tokenizer leaves here (and in builds
		 * without it): 16 bytes at a time, skip separators, and take an ASCII
		 * word shorter than 16 bytes ended by an ASCII separator other than
		 * '-' (which may be a line-end hyphen).  Everything else falls
		 * through to the general path below. */
		if (i + 16 <= len && !tk->char_tokens) {
			__m128i v = _mm_loadu_si128((const __m128i *)(s + i));
			unsigned word = word_mask16(v);
			/* Whole window of plain ASCII (no byte >= 0x80, NUL, or '-' that
			 * might end a line: one before a space, tab, CR, LF or the
			 * window's end): emit every word that ends inside it from one
			 * load.  Any other '-' is an ordinary separator. */
			unsigned hyph = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('-')));
			unsigned blank = (unsigned)_mm_movemask_epi8(_mm_or_si128(
				_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\t'))),
				_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\r')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\n')))));
			unsigned bad = (unsigned)_mm_movemask_epi8(_mm_or_si128(v, _mm_cmpeq_epi8(v, _mm_setzero_si128())))
			             | (hyph & ((blank >> 1) | 0x8000u));
			if (!bad) {
				/* At most 8 words end in 16 bytes: room for them first, then
				 * the arrays and the count live in registers (a store to
				 * out->hash could otherwise alias out->n). */
				if (out->cap - out->n < 8 && grow_tokens(out)) { rc = RP_ENOMEM; goto done; }
				uint64_t *H = out->hash;
				uint32_t *S = out->start, *E = out->end;
				size_t n = out->n;
				__m128i w = lower16(v);
				uint64_t lo = (uint64_t)_mm_cvtsi128_si64(w), hi = (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(w, w));
				unsigned starts = word & ~(word << 1) & 0xffffu, consumed = 16;
				while (starts) {
					unsigned st = (unsigned)__builtin_ctz(starts);
					unsigned L = (unsigned)__builtin_ctz(~(word >> st));
					if (st + L >= 16) { consumed = st; break; } /* runs past the window */
					uint64_t tl = st == 0 ? lo : st < 8 ? (lo >> (8 * st)) | (hi << (64 - 8 * st)) : hi >> (8 * (st - 8));
					uint64_t th = st < 8 ? hi >> (8 * st) : 0;
					H[n] = short_hash(tl & keep_lo[L], th & keep_hi[L], L, seed);
					S[n] = (uint32_t)(i + st);
					E[n] = (uint32_t)(i + st + L);
					n++;
					starts &= starts - 1;
				}
				out->n = n;
				if (consumed) { i += consumed; continue; }
			}
			if (!(word & 1)) {
				unsigned special = (unsigned)_mm_movemask_epi8(v)
				                 | (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128()));
				unsigned stop = word | special;
				if (!stop) { i += 16; continue; }
				unsigned k = (unsigned)__builtin_ctz(stop);
				i += k;
				if (!((special >> k) & 1)) continue;
			} else {
				unsigned nonword = ~word & 0xffffu;
				unsigned L = nonword ? (unsigned)__builtin_ctz(nonword) : 16;
				unsigned char e = L < 16 ? s[i + L] : 0;
				if (L < 16 && e < 0x80 && e != '-' && e != 0) {
					__m128i w = lower16(v);
					uint64_t lo = (uint64_t)_mm_cvtsi128_si64(w) & keep_lo[L];
					uint64_t hi = (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(w, w)) & keep_hi[L];
					if ((rc = push_hash(out, short_hash(lo, hi, L, seed), i, i + L))) goto done;
					i += L;
					continue;
				}
			}
		}
#endif
		/* Skip separators (ASCII fast; non-ASCII decoded). */
		unsigned c = byte_class[s[i]];
		if (c == C_SEP) { i++; continue; }
		if (c == C_NUL) { rc = rp_set_error_at(err, RP_EDATA, NULL, 0, i, "NUL byte in text"); goto done; }
		if (c == C_HIGH) {
			utf8proc_int32_t cp;
			utf8proc_ssize_t k = utf8proc_iterate(s + i, (utf8proc_ssize_t)(len - i), &cp);
			if (k < 0) { rc = rp_set_error_at(err, RP_EDATA, NULL, 0, i, "invalid UTF-8"); goto done; }
			if (!in_run_cp(cp)) { i += (size_t)k; continue; }
		}
		/* Fast path: an ASCII word ended by an ordinary separator; hashed in
		 * place when it has no capital letter. */
		if (c == C_WORD && !tk->char_tokens) {
			size_t j = i;
			unsigned upper = 0;
			while (j < len && byte_class[s[j]] == C_WORD) upper |= (unsigned)(s[j] - 'A') < 26u, j++;
			if (j == len || (byte_class[s[j]] == C_SEP && !(s[j] == '-' && hyphen_break(s, len, j)))) {
				const char *w = (const char *)s + i;
				if (upper) {
					if (rp_grow((void **)&tk->run, &tk->run_cap, j - i, 1)) { rc = RP_ENOMEM; goto done; }
					for (size_t k = 0; k < j - i; k++) tk->run[k] = (char)(s[i + k] | (((unsigned)(s[i + k] - 'A') < 26u) << 5));
					w = tk->run;
				}
				if ((rc = push_token(tk, w, j - i, i, j))) goto done;
				i = j;
				continue;
			}
		}
		/* A run starts at i. */
		size_t start = i, end;
		int ascii = 1;
		tk->run_len = 0;
		for (;;) {
			size_t j = i;
			while (j < len && byte_class[s[j]] == C_WORD) j++;
			if (j > i) {
				if ((rc = run_append(tk, (const char *)s + i, j - i))) goto done;
				i = j;
			}
			if (i >= len) break;
			c = byte_class[s[i]];
			if (c == C_HIGH) {
				utf8proc_int32_t cp;
				utf8proc_ssize_t k = utf8proc_iterate(s + i, (utf8proc_ssize_t)(len - i), &cp);
				if (k < 0) { rc = rp_set_error_at(err, RP_EDATA, NULL, 0, i, "invalid UTF-8"); goto done; }
				if (!in_run_cp(cp)) break;
				if ((rc = run_append(tk, (const char *)s + i, (size_t)k))) goto done;
				ascii = 0;
				i += (size_t)k;
				continue;
			}
			if (s[i] == '-' && tk->run_len) {
				size_t next = hyphen_break(s, len, i);
				if (next) { i = next; continue; }
			}
			break;
		}
		end = i;
		if (ascii) {
			for (size_t k = 0; k < tk->run_len; k++) tk->run[k] |= (char)((tk->run[k] >= 'A' && tk->run[k] <= 'Z') << 5);
			rc = emit_ascii_run(tk, start, end);
		} else {
			rc = emit_unicode_run(tk, start, end);
		}
		if (rc) {
			if (rc == RP_ENOMEM) rp_set_error(err, rc, "out of memory");
			else rp_set_error_at(err, rc, NULL, 0, start, "cannot normalise text");
			goto done;
		}
	}
done:
	if (rc == RP_ENOMEM && err && err->code != RP_ENOMEM) rp_set_error(err, rc, "out of memory");
	return rc;
}

void rp_tokens_free(rp_tokens *t)
{
	if (!t) return;
	rp_free(t->hash);
	rp_free(t->start);
	rp_free(t->end);
	if (t->scratch) {
		rp_free(t->scratch->run);
		rp_free(t->scratch->cps);
		rp_free(t->scratch->word);
		rp_free(t->scratch);
	}
	memset(t, 0, sizeof *t);
}
