/* fuzz_tokenize.c — rp_tokenize against a slow reference tokenizer.
 *
 * Input: byte 0 = flags (bits 0-1 seed choice, bits 2-5 prefix length for
 * the shift check), the rest is the text.  For word and character mode:
 *  - the result equals a reference written from docs/NORMALIZATION.md one
 *    code point at a time (no SIMD, no in-place hashing): same error and
 *    error offset, else the same token hashes and spans;
 *  - an error is RP_EDATA at the first invalid byte or NUL, which is where
 *    rp_utf8_check and an independent decoder put it;
 *  - spans lie inside the text, start < end, on UTF-8 boundaries, starts do
 *    not decrease, ends do not decrease;
 *  - an ASCII-only span's tokens are its letters and digits lowercased,
 *    hashed by rp_token_hash;
 *  - the same text twice (reused and fresh rp_tokens) gives the same tokens,
 *    and so does every tokenizer path (rp_tokenize_path: general, SSE2,
 *    AVX2, AVX-512, AVX-512 VBMI blocks);
 *    k leading spaces shift every span by k; a trailing space changes
 *    nothing; another seed gives the same spans;
 *  - word and character mode cover the same bytes. */
#include <utf8proc.h>
#include "fuzz.h"

typedef struct {
	size_t n, cap;
	uint64_t *h;
	uint32_t *s, *e;
	int rc;        /* 0 or RP_EDATA */
	uint64_t at;   /* error offset */
} toks;

static void toks_push(toks *t, uint64_t h, size_t s, size_t e)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		t->h = fz_xrealloc(t->h, t->cap * sizeof *t->h);
		t->s = fz_xrealloc(t->s, t->cap * sizeof *t->s);
		t->e = fz_xrealloc(t->e, t->cap * sizeof *t->e);
	}
	t->h[t->n] = h;
	t->s[t->n] = (uint32_t)s;
	t->e[t->n] = (uint32_t)e;
	t->n++;
}

static void toks_free(toks *t) { free(t->h); free(t->s); free(t->e); memset(t, 0, sizeof *t); }

/* ---- the reference ---- */

static int ref_is_word_cp(int32_t cp)
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

static int ascii_alnum(unsigned c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

enum { K_ERR, K_SEP, K_RUN };

/* Class of the character at i and its length. */
static int ref_class(const unsigned char *s, size_t len, size_t i, size_t *k, int *word)
{
	*word = 0;
	if (s[i] < 0x80) {
		*k = 1;
		if (!s[i]) return K_ERR;
		*word = ascii_alnum(s[i]);
		return *word ? K_RUN : K_SEP;
	}
	uint32_t cp;
	*k = fz_utf8_decode(s + i, len - i, &cp);
	if (!*k) return K_ERR;
	*word = ref_is_word_cp((int32_t)cp);
	if (*word) return K_RUN;
	utf8proc_category_t c = utf8proc_category((int32_t)cp);
	if (c == UTF8PROC_CATEGORY_CF) return K_RUN; /* ignorable: vanishes inside a word */
	/* Symbols that decompose (™ -> tm) belong to the word they touch. */
	if (c >= UTF8PROC_CATEGORY_SM && c <= UTF8PROC_CATEGORY_SO &&
	    utf8proc_get_property((int32_t)cp)->decomp_seqindex != UINT16_MAX)
		return K_RUN;
	return K_SEP;
}

/* A '-' at i, blanks, a newline, blanks, then a word character: its index. */
static size_t ref_hyphen(const unsigned char *s, size_t len, size_t i)
{
	size_t j = i + 1;
	while (j < len && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r')) j++;
	if (j >= len || s[j] != '\n') return 0;
	j++;
	while (j < len && (s[j] == ' ' || s[j] == '\t')) j++;
	if (j >= len) return 0;
	size_t k;
	int word;
	if (ref_class(s, len, j, &k, &word) == K_RUN && word) return j;
	return 0;
}

static void ref_tokenize(const char *text, size_t len, int chars, uint64_t seed, toks *out)
{
	const unsigned char *s = (const unsigned char *)text;
	unsigned char *run = fz_xmalloc(len + 1);
	out->n = 0;
	out->rc = 0;
	size_t i = 0;
	while (i < len) {
		size_t k;
		int word, cls = ref_class(s, len, i, &k, &word);
		if (cls == K_ERR) { out->rc = RP_EDATA; out->at = i; break; }
		if (cls == K_SEP) { i += k; continue; }
		size_t start = i, rl = 0;
		int ascii = 1;
		for (;;) {
			if (i < len) {
				cls = ref_class(s, len, i, &k, &word);
				if (cls == K_ERR && s[i] >= 0x80) { out->rc = RP_EDATA; out->at = i; goto done; }
				if (cls == K_RUN) {
					memcpy(run + rl, s + i, k);
					rl += k;
					ascii &= s[i] < 0x80;
					i += k;
					continue;
				}
				if (s[i] == '-' && rl) {
					size_t nx = ref_hyphen(s, len, i);
					if (nx) { i = nx; continue; }
				}
			}
			break;
		}
		if (ascii) {
			for (size_t j = 0; j < rl; j++) run[j] = (unsigned char)(run[j] >= 'A' && run[j] <= 'Z' ? run[j] + 32 : run[j]);
			if (!chars) {
				toks_push(out, rp_token_hash((char *)run, rl, seed), start, i);
			} else {
				int exact = rl == i - start;
				for (size_t j = 0; j < rl; j++)
					toks_push(out, rp_token_hash((char *)run + j, 1, seed), exact ? start + j : start,
					          exact ? start + j + 1 : i);
			}
			continue;
		}
		/* NFKC with case folding and ignorables removed, then split on
		 * every non-word character. */
		utf8proc_uint8_t *m = NULL;
		utf8proc_ssize_t mn = utf8proc_map(run, (utf8proc_ssize_t)rl, &m,
		                                   UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT |
		                                   UTF8PROC_CASEFOLD | UTF8PROC_IGNORE);
		FCHECKF(mn >= 0, "utf8proc_map failed on a valid run: %s", utf8proc_errmsg(mn));
		size_t ws = 0, p = 0;
		while (p < (size_t)mn) {
			uint32_t cp;
			size_t cl = fz_utf8_decode(m + p, (size_t)mn - p, &cp);
			FCHECK(cl > 0);
			if (!ref_is_word_cp((int32_t)cp)) {
				if (p > ws) toks_push(out, rp_token_hash((char *)m + ws, p - ws, seed), start, i);
				ws = p + cl;
			} else if (chars) {
				toks_push(out, rp_token_hash((char *)m + p, cl, seed), start, i);
				ws = p + cl;
			}
			p += cl;
		}
		if (p > ws) toks_push(out, rp_token_hash((char *)m + ws, p - ws, seed), start, i);
		free(m);
	}
done:
	free(run);
}

/* ---- the library ---- */

static void lib_tokenize_path(rp_tokens *t, const char *text, size_t len, int chars, uint64_t seed, toks *out,
                              int path)
{
	rp_error err;
	memset(&err, 0, sizeof err);
	int rc = path == RP_TOK_AUTO ? rp_tokenize(text, len, chars, seed, t, &err)
	                             : rp_tokenize_path(text, len, chars, seed, t, &err, path);
	out->n = 0;
	out->rc = rc;
	out->at = 0;
	if (rc) {
		FCHECKF(rc == RP_EDATA, "rp_tokenize returned %d", rc);
		FCHECK(err.code == rc);
		FCHECK(err.message[0]);
		out->at = err.byte;
		return;
	}
	for (size_t i = 0; i < t->n; i++) toks_push(out, t->hash[i], t->start[i], t->end[i]);
}

static void lib_tokenize(rp_tokens *t, const char *text, size_t len, int chars, uint64_t seed, toks *out)
{
	lib_tokenize_path(t, text, len, chars, seed, out, RP_TOK_AUTO);
}

static void same(const toks *a, const toks *b, uint32_t shift, int hashes, const char *what)
{
	FCHECKF(a->rc == b->rc, "%s: rc %d vs %d", what, a->rc, b->rc);
	if (a->rc) {
		FCHECKF(a->at + shift == b->at, "%s: error at %llu vs %llu", what, (unsigned long long)a->at,
		        (unsigned long long)b->at);
		return;
	}
	FCHECKF(a->n == b->n, "%s: %zu vs %zu tokens", what, a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		FCHECKF(!hashes || a->h[i] == b->h[i], "%s: token %zu hash %016llx vs %016llx", what, i,
		        (unsigned long long)a->h[i], (unsigned long long)b->h[i]);
		FCHECKF(a->s[i] + shift == b->s[i] && a->e[i] + shift == b->e[i],
		        "%s: token %zu span [%u,%u) vs [%u,%u)", what, i, a->s[i], a->e[i], b->s[i], b->e[i]);
	}
}

static void check_spans(const toks *t, const char *text, size_t len)
{
	for (size_t i = 0; i < t->n; i++) {
		FCHECK(t->s[i] < t->e[i]);
		FCHECK(t->e[i] <= len);
		FCHECK(fz_is_boundary(text, len, t->s[i]) && fz_is_boundary(text, len, t->e[i]));
		if (i) FCHECK(t->s[i - 1] <= t->s[i] && t->e[i - 1] <= t->e[i]);
		/* Spans never overlap unless equal (tokens of one run share its span). */
		if (i) FCHECK(t->e[i - 1] <= t->s[i] || (t->s[i - 1] == t->s[i] && t->e[i - 1] == t->e[i]));
	}
}

/* Tokens of an ASCII-only span are its letters and digits, lowercased. */
static void check_ascii_spans(const toks *t, const char *text, int chars, uint64_t seed)
{
	char buf[4096];
	for (size_t i = 0; i < t->n;) {
		size_t j = i + 1;
		while (j < t->n && t->s[j] == t->s[i] && t->e[j] == t->e[i]) j++;
		size_t s = t->s[i], e = t->e[i], n = 0;
		int ascii = 1;
		for (size_t k = s; k < e && ascii; k++) ascii = (unsigned char)text[k] < 0x80;
		if (ascii && e - s <= sizeof buf) {
			for (size_t k = s; k < e; k++) {
				unsigned c = (unsigned char)text[k];
				if (ascii_alnum(c)) buf[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
			}
			if (!chars) {
				FCHECKF(j - i == 1, "ASCII span [%zu,%zu) gives %zu word tokens", s, e, j - i);
				FCHECK(t->h[i] == rp_token_hash(buf, n, seed));
			} else if (j - i == 1 && e - s == 1) {
				FCHECK(t->h[i] == rp_token_hash(buf, 1, seed));
			} else {
				/* Several character tokens share the span of a joined run
				 * (or chars in one exact span each, grouped here as one). */
				FCHECKF(j - i == n, "ASCII span [%zu,%zu): %zu tokens, %zu characters", s, e, j - i, n);
				for (size_t k = 0; k < n; k++) FCHECK(t->h[i + k] == rp_token_hash(buf + k, 1, seed));
			}
		}
		i = j;
	}
}

/* Bytes covered by some token. */
static void coverage(const toks *t, size_t len, unsigned char *cov)
{
	memset(cov, 0, len ? len : 1);
	for (size_t i = 0; i < t->n; i++) memset(cov + t->s[i], 1, t->e[i] - t->s[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_in in = {data, size};
	uint8_t flags = fz_byte(&in);
	static const uint64_t seeds[4] = {0, 1, 0x9e3779b97f4a7c15ULL, 0xffffffffffffffffULL};
	uint64_t seed = seeds[flags & 3];
	size_t pad = (flags >> 2) & 15;
	size_t len = in.n;
	char *text = fz_memdup(in.p, len); /* exactly len bytes: ASan sees any overread */
	size_t bad = fz_utf8_first_bad(text, len);
	FCHECKF(rp_utf8_check(text, len) == bad, "rp_utf8_check %zu, reference %zu", rp_utf8_check(text, len), bad);

	char *padded = fz_xmalloc(len + pad + 1);
	memset(padded, ' ', pad);
	if (len) memcpy(padded + pad, text, len);
	char *spaced = fz_xmalloc(len + 1);
	if (len) memcpy(spaced, text, len);
	spaced[len] = ' ';

	unsigned char *cov[2] = {fz_xmalloc(len + 1), fz_xmalloc(len + 1)};
	rp_tokens t = {0};
	for (int chars = 0; chars < 2; chars++) {
		toks lib = {0}, ref = {0}, again = {0}, fresh = {0}, shifted = {0}, trailing = {0}, other = {0};
		lib_tokenize(&t, text, len, chars, seed, &lib);
		ref_tokenize(text, len, chars, seed, &ref);
		same(&ref, &lib, 0, 1, chars ? "char mode vs reference" : "word mode vs reference");
		if (lib.rc) {
			FCHECKF(lib.at == bad, "error at %llu, first invalid byte at %zu", (unsigned long long)lib.at, bad);
		} else {
			FCHECK(bad == len);
			check_spans(&lib, text, len);
			check_ascii_spans(&lib, text, chars, seed);
			coverage(&lib, len, cov[chars]);
		}
		lib_tokenize(&t, text, len, chars, seed, &again);
		same(&lib, &again, 0, 1, "same text twice");
		for (int path = RP_TOK_GENERAL; path <= RP_TOK_VBMI; path++) {
			toks other_path = {0};
			lib_tokenize_path(&t, text, len, chars, seed, &other_path, path);
			same(&lib, &other_path, 0, 1, "another tokenizer path (general, SSE2, AVX2, AVX-512, VBMI)");
			toks_free(&other_path);
		}
		rp_tokens t2 = {0};
		lib_tokenize(&t2, text, len, chars, seed, &fresh);
		rp_tokens_free(&t2);
		same(&lib, &fresh, 0, 1, "fresh rp_tokens");
		lib_tokenize(&t, padded, len + pad, chars, seed, &shifted);
		same(&lib, &shifted, (uint32_t)pad, 1, "leading spaces");
		lib_tokenize(&t, spaced, len + 1, chars, seed, &trailing);
		same(&lib, &trailing, 0, 1, "trailing space");
		lib_tokenize(&t, text, len, chars, seed ^ 0x5555, &other);
		same(&lib, &other, 0, 0, "another seed");
		toks_free(&lib); toks_free(&ref); toks_free(&again); toks_free(&fresh);
		toks_free(&shifted); toks_free(&trailing); toks_free(&other);
	}
	if (bad == len) FCHECK(!len || !memcmp(cov[0], cov[1], len)); /* same bytes covered */
	rp_tokens_free(&t);
	free(cov[0]); free(cov[1]);
	free(text); free(padded); free(spaced);
	return 0;
}
