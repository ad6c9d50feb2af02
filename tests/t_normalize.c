/* Known-answer and equivalence tests for normalisation and token hashing. */
#include <ctype.h>
#include "test.h"
#include "reprint.h"
#include "internal.h" /* rp_tokenize_path */

static rp_tokens tok;

static size_t toks(const char *s, uint64_t *h, size_t max)
{
	rp_error e;
	int rc = rp_tokenize(s, strlen(s), 0, 0, &tok, &e);
	if (rc) return (size_t)-1;
	for (size_t i = 0; i < tok.n && i < max; i++) h[i] = tok.hash[i];
	return tok.n;
}

/* Same token stream for both texts. */
static int same(const char *a, const char *b)
{
	uint64_t ha[64], hb[64];
	size_t na = toks(a, ha, 64), nb = toks(b, hb, 64);
	if (na != nb || na == (size_t)-1) {
		fprintf(stderr, "  [%s] %zu tokens vs [%s] %zu tokens\n", a, na, b, nb);
		return 0;
	}
	for (size_t i = 0; i < na && i < 64; i++)
		if (ha[i] != hb[i]) {
			fprintf(stderr, "  [%s] vs [%s]: token %zu differs\n", a, b, i);
			return 0;
		}
	return 1;
}

/* Tokens of s equal the hashes of the given words. */
static int words(const char *s, const char *const *w, size_t n)
{
	uint64_t h[64];
	size_t m = toks(s, h, 64);
	if (m != n) {
		fprintf(stderr, "  [%s]: %zu tokens, want %zu\n", s, m, n);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if (h[i] != rp_token_hash(w[i], strlen(w[i]), 0)) {
			fprintf(stderr, "  [%s]: token %zu is not '%s'\n", s, i, w[i]);
			return 0;
		}
	return 1;
}
#define WORDS(s, ...) words(s, (const char *const[]){__VA_ARGS__}, sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *))

static void test_hash_known_answers(void)
{
	/* These values pin the token hash, which goes on disk (RP_NORM_VERSION 1):
	 * up to 16 bytes the two-multiply short hash, longer XXH3-64. */
	CHECK(rp_token_hash("hello", 5, 0) == 0x9c61f9b81d637ce8ULL);
	CHECK(rp_token_hash("world", 5, 0) == 0xcc2951da324d415dULL);
	CHECK(rp_token_hash("internationalization", 20, 0) == 0xb73ad40a442f6c37ULL);
	CHECK(rp_token_hash("hello", 5, 1) != rp_token_hash("hello", 5, 0));
	CHECK(rp_token_hash("ab", 2, 0) != rp_token_hash("ab\0", 3, 0)); /* length counts */
}

/* The SIMD and table paths against a naive reference tokenizer for ASCII:
 * random texts of words, capitals, digits, punctuation and line-end hyphens,
 * at every alignment and up to the end of the buffer. */
static void test_ascii_paths_match_reference(void)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	static const char seps[] = " \n\t.,;:!?()[]*#\"'/_";
	uint64_t x = 12345;
	rp_error e;
	for (int round = 0; round < 3000; round++) {
		char text[600], norm[64];
		size_t len = 0;
		while (len < 500) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			size_t wl = 1 + (x >> 33) % (round % 7 == 0 ? 40 : 12);
			for (size_t k = 0; k < wl; k++) {
				x = x * 6364136223846793005ULL + 1442695040888963407ULL;
				text[len++] = alphabet[(x >> 33) % (sizeof alphabet - 1)];
			}
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			size_t ns = 1 + (x >> 40) % 3;
			for (size_t k = 0; k < ns; k++) text[len++] = seps[(x >> (20 + 3 * k)) % (sizeof seps - 1)];
		}
		len -= (size_t)(round % 3); /* sometimes end inside a word */
		CHECK(rp_tokenize(text, len, 0, 0, &tok, &e) == 0);
		size_t n = 0, i = 0;
		int ok = 1;
		while (i < len) {
			while (i < len && !isalnum((unsigned char)text[i])) i++;
			if (i >= len) break;
			size_t st = i, m = 0;
			while (i < len && isalnum((unsigned char)text[i])) norm[m < 63 ? m++ : m] = (char)tolower((unsigned char)text[i]), i++;
			if (m < 63) {
				ok &= n < tok.n && tok.hash[n] == rp_token_hash(norm, m, 0) && tok.start[n] == st && tok.end[n] == i;
			}
			n++;
		}
		CHECKF(ok && n == tok.n, "round %d: %zu reference tokens, %zu tokens", round, n, tok.n);
		if (!ok) break;
	}
}

static void test_ascii_tokens_and_spans(void)
{
	rp_error e;
	const char *s = "Hello, World! 42x";
	CHECK(rp_tokenize(s, strlen(s), 0, 0, &tok, &e) == 0);
	CHECK(tok.n == 3);
	CHECK(tok.start[0] == 0 && tok.end[0] == 5);
	CHECK(tok.start[1] == 7 && tok.end[1] == 12);
	CHECK(tok.start[2] == 14 && tok.end[2] == 17);
	CHECK(WORDS(s, "hello", "world", "42x"));
	CHECK(WORDS("under_score it's", "under", "score", "it", "s"));
	CHECK(toks("", NULL, 0) == 0);
	CHECK(toks("  ... --- !!! ", NULL, 0) == 0);
}

static void test_typography_folds(void)
{
	CHECK(same("\xe2\x80\x9c" "Don\xe2\x80\x99t go,\xe2\x80\x9d she said", "\"Don't go,\" she said"));
	CHECK(same("a\xc2\xa0" "b", "a b"));                     /* NBSP */
	CHECK(same("a\xe2\x80\x83" "b\xe3\x80\x80" "c", "a b c")); /* em space, ideographic space */
	CHECK(same("wait\xe2\x80\xa6what", "wait...what"));       /* ellipsis */
	CHECK(same("yes\xe2\x80\x94no\xe2\x80\x93maybe", "yes--no-maybe")); /* em and en dash */
	CHECK(same("one two\nthree\r\n\r\nfour", "one two three four")); /* wrapping, paragraphs */
	CHECK(same("**bold** \\*x [link text](#)", "bold x link text"));
	CHECK(same("# Title\n\n* item", "title item"));
}

static void test_unicode_nfkc_casefold(void)
{
	CHECK(same("\xef\xac\x81" "ne", "fine"));             /* fi ligature */
	CHECK(same("\xef\xbc\xa1\xef\xbc\xa2\xef\xbc\xa3", "abc")); /* fullwidth ABC */
	CHECK(same("Stra\xc3\x9f" "e", "STRASSE"));           /* sharp s folds to ss */
	CHECK(same("caf\xc3\xa9", "cafe\xcc\x81"));           /* precomposed vs combining */
	CHECK(same("CAF\xc3\x89", "caf\xc3\xa9"));
	CHECK(same("\xce\xa3\xce\x99\xce\xa3", "\xcf\x83\xce\xb9\xcf\x83")); /* Greek capitals */
	CHECK(same("x \xe2\x84\xa2", "x tm"));                /* trade mark sign */
	CHECK(same("x\xe2\x84\xa2", "xtm"));                  /* NFKC joins it to the word */
	CHECK(same("\xef\xbb\xbfStart", "start"));            /* byte-order mark vanishes */
	CHECK(WORDS("caf\xc3\xa9 au lait", "caf\xc3\xa9", "au", "lait"));
}

static void test_hyphenation_joined(void)
{
	CHECK(same("infor-\nmation", "information"));
	CHECK(same("infor- \r\n   mation", "information"));
	CHECK(same("infor\xc2\xad" "mation", "information")); /* soft hyphen */
	CHECK(same("well-known", "well known"));              /* a real hyphen splits */
	CHECK(same("end -\nnext", "end next"));               /* a dash after a space is not a hyphen */
	CHECK(same("caf\xc3\xa9-\nteria", "caf\xc3\xa9teria"));
}

static void test_spans_on_utf8_boundaries(void)
{
	const char *s = "\xe2\x80\x9c" "Caf\xc3\xa9\xe2\x80\x9d na\xc3\xafve \xe6\x97\xa5\xe6\x9c\xac";
	rp_error e;
	CHECK(rp_tokenize(s, strlen(s), 0, 0, &tok, &e) == 0);
	CHECK(tok.n == 3);
	for (size_t i = 0; i < tok.n; i++) {
		unsigned char a = (unsigned char)s[tok.start[i]];
		CHECK((a & 0xc0) != 0x80);
		CHECK(tok.end[i] == strlen(s) || ((unsigned char)s[tok.end[i]] & 0xc0) != 0x80);
	}
	CHECK(tok.start[0] == 3 && tok.end[0] == 8);
}

static void test_char_tokens(void)
{
	rp_error e;
	const char *s = "ab c\xc3\xa9";
	CHECK(rp_tokenize(s, strlen(s), 1, 0, &tok, &e) == 0);
	CHECK(tok.n == 4);
	CHECK(tok.start[0] == 0 && tok.end[0] == 1);
	CHECK(tok.start[2] == 3);
	CHECK(tok.hash[3] == rp_token_hash("\xc3\xa9", 2, 0));
}

static void test_bad_input(void)
{
	rp_error e;
	const char bad[] = "ok \xff here";
	CHECK(rp_tokenize(bad, strlen(bad), 0, 0, &tok, &e) == RP_EDATA);
	CHECK(e.byte == 3);
	const char nul[] = "ab\0cd";
	CHECK(rp_tokenize(nul, 5, 0, 0, &tok, &e) == RP_EDATA);
	CHECK(e.byte == 2);
	const char trunc[] = "abc \xc3";
	CHECK(rp_tokenize(trunc, strlen(trunc), 0, 0, &tok, &e) == RP_EDATA);
	const char surrogate[] = "x \xed\xa0\x80";
	CHECK(rp_tokenize(surrogate, strlen(surrogate), 0, 0, &tok, &e) == RP_EDATA);
}

/* ---- The 64-byte block tokenizer against the general path ---- */

static rp_tokens ptok[6];

/* text[0, len) on every path (in a buffer of exactly len bytes, so ASan sees
 * any read past the end): the same status, error byte, hashes and spans as
 * the general path.  Returns 1 when they agree, and the status in *status. */
static int paths_agree(const char *text, size_t len, int chars, uint64_t seed, const char *what, size_t at, int *status)
{
	char *buf = malloc(len ? len : 1);
	if (len) memcpy(buf, text, len);
	int rc[6];
	size_t byte[6];
	for (int p = RP_TOK_GENERAL; p <= RP_TOK_VBMI; p++) {
		rp_error e;
		memset(&e, 0, sizeof e);
		rc[p] = rp_tokenize_path(buf, len, chars, seed, &ptok[p], &e, p);
		byte[p] = rc[p] ? e.byte : 0;
	}
	free(buf);
	for (int p = RP_TOK_SSE2; p <= RP_TOK_VBMI; p++) {
		const rp_tokens *g = &ptok[RP_TOK_GENERAL], *b = &ptok[p];
		int same = rc[p] == rc[RP_TOK_GENERAL] && byte[p] == byte[RP_TOK_GENERAL];
		if (same && !rc[p]) {
			same = b->n == g->n;
			for (size_t k = 0; same && k < g->n; k++)
				same = b->hash[k] == g->hash[k] && b->start[k] == g->start[k] && b->end[k] == g->end[k];
		}
		CHECKF(same, "%s at %zu (len %zu, chars %d): path %d gives status %d byte %zu, %zu tokens; general %d byte %zu, %zu tokens",
		       what, at, len, chars, p, rc[p], byte[p], b->n, rc[RP_TOK_GENERAL], byte[RP_TOK_GENERAL], g->n);
		if (!same) return 0;
	}
	*status = rc[RP_TOK_GENERAL];
	return 1;
}

/* Words of 1 to 40 bytes starting at every offset around the 16- and
 * 64-byte boundaries, ended by each kind of separator, and hyphens at and
 * around a block's last byte, with and without a line break after them. */
static void test_block_boundaries(void)
{
	int rc;
	static const char *ends[] = {" ", ".", "-", "-\n", "- \r\nx", "\n", "-x", "--", "'", "-\t\n  Next", "\xc3\xa9", ""};
	char text[256];
	for (size_t off = 0; off < 140; off++)
		for (size_t wl = 1; wl <= 40; wl += (wl < 20 ? 1 : 7))
			for (size_t k = 0; k < sizeof ends / sizeof *ends; k++) {
				memset(text, ' ', off);
				for (size_t j = 0; j < wl; j++) text[off + j] = "aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789xyz"[(j + off) % 39];
				size_t el = strlen(ends[k]), len = off + wl + el;
				memcpy(text + off + wl, ends[k], el);
				len += (size_t)snprintf(text + len, sizeof text - len, "tail words here");
				if (!paths_agree(text, len, 0, 0, "word", off, &rc)) return;
				if (!paths_agree(text, off + wl + el, 0, 7, "word at the end", off, &rc)) return;
			}
	/* A line-end hyphen at each offset of two blocks. */
	for (size_t at = 1; at < 140; at++) {
		memset(text, 'w', at);
		for (size_t j = 0; j < at; j += 6) text[j] = ' ';
		memcpy(text + at, "-\n  joined rest", 15);
		if (!paths_agree(text, at + 15, 0, 0, "hyphen", at, &rc)) return;
		if (!paths_agree(text, at + 1, 0, 0, "hyphen at the end", at, &rc)) return;
		if (!paths_agree(text, at + 2, 0, 0, "hyphen, newline at the end", at, &rc)) return;
	}
}

/* One special character at every offset of a plain ASCII text spanning
 * several blocks: UTF-8 letters and punctuation, invalid bytes (the same
 * error byte), and NUL (an error at exactly that byte). */
static void test_block_special_bytes(void)
{
	static const char *specials[] = {"\xc3\xa9", "\xe2\x80\x99", "\xe2\x80\x94", "\xc2\xad", "\xef\xbb\xbf", "\xe2\x84\xa2",
	                                 "\xf0\x9f\x98\x80", "\xcc\x81", "\xff", "\xc3", "\x80",
	                                 /* separators the block tokenizer takes itself; near misses; cut short */
	                                 "\xc2\xa0", "\xe2\x80\x93", "\xe2\x80\x98", "\xe2\x80\x9c", "\xe2\x80\x9d",
	                                 "\xe2\x80\xa6", "\xe2\x80\x8b", "\xe2\x80\x9e", "\xe2\x80\x92", "\xc2\xb2",
	                                 "\xe2\x84\x99", "\xe2\x80", "\xe2\x99", "\xc2\xc2\xa0", "\xe2\xe2\x80\x99"};
	char base[200], text[220];
	int rc;
	size_t valid = 0; /* texts that tokenise without error */
	for (size_t j = 0; j < sizeof base; j++) base[j] = (j % 7 == 6) ? ' ' : (j % 13 == 5) ? 'Q' : (char)('a' + j % 26);
	for (size_t at = 0; at < 160; at++) {
		for (size_t k = 0; k < sizeof specials / sizeof *specials; k++) {
			size_t sl = strlen(specials[k]);
			memcpy(text, base, at);
			memcpy(text + at, specials[k], sl);
			memcpy(text + at + sl, base + at, sizeof base - at);
			if (!paths_agree(text, sizeof base + sl, 0, 0, specials[k], at, &rc)) return;
			valid += rc == 0;
		}
		memcpy(text, base, sizeof base);
		text[at] = '\0';
		rp_error e;
		CHECKF(rp_tokenize_path(text, sizeof base, 0, 0, &ptok[0], &e, RP_TOK_AUTO) == RP_EDATA && e.byte == at,
		       "NUL at %zu: error at %zu", at, (size_t)e.byte);
		if (!paths_agree(text, sizeof base, 0, 0, "NUL", at, &rc)) return;
		CHECK(rc == RP_EDATA);
	}
	CHECKF(valid == 160 * 19, "%zu texts without error", valid); /* the 19 valid specials */
}

/* Random texts of every length 0..200 mixing ASCII words, punctuation,
 * line-end hyphens, UTF-8 (valid and not) and control bytes, in word and
 * character mode. */
static void test_block_random_mixes(void)
{
	static const char *pieces[] = {"a", "Ab", "word", "WORDS", "x1", "0", "internationalization", " ", "  ", "\n", "\r\n",
	                               "\t", "-", "-\n", "- \n  ", "-\r\n", ".", ",", "'", "\"", "--", " - ", "\xc3\xa9",
	                               "caf\xc3\xa9", "\xe2\x80\x99", "\xe2\x80\x94", "\xc2\xad", "\xe2\x84\xa2", "\xc2\xbd",
	                               "\xd0\x9f\xd1\x80\xd0\xb8", "\xe4\xb8\xad", "\xcc\x81", "\xc2\xa0", "\xe2\x80\x9c",
	                               "\xe2\x80\xa6", "\xe2\x80\x8b", "\xff", "\x01", "\0"};
	uint64_t x = 99;
	char text[200];
	int rc;
	for (size_t len = 0; len <= 200; len++)
		for (int r = 0; r < 12; r++) {
			size_t n = 0, npieces = r < 4 ? 22 : r < 8 ? 36 : sizeof pieces / sizeof *pieces;
			while (n < len) {
				x = x * 6364136223846793005ULL + 1442695040888963407ULL;
				size_t k = (size_t)(x >> 33) % npieces;
				size_t pl = k == npieces - 1 && npieces == sizeof pieces / sizeof *pieces ? 1 : strlen(pieces[k]);
				if (pl > len - n) pl = len - n;
				memcpy(text + n, pieces[k], pl);
				n += pl;
			}
			if (!paths_agree(text, len, r & 1, (uint64_t)r, "random text", len, &rc)) return;
		}
}

int main(void)
{
	RUN(test_hash_known_answers);
	RUN(test_ascii_paths_match_reference);
	RUN(test_ascii_tokens_and_spans);
	RUN(test_typography_folds);
	RUN(test_unicode_nfkc_casefold);
	RUN(test_hyphenation_joined);
	RUN(test_spans_on_utf8_boundaries);
	RUN(test_char_tokens);
	RUN(test_bad_input);
	RUN(test_block_boundaries);
	RUN(test_block_special_bytes);
	RUN(test_block_random_mixes);
	rp_tokens_free(&tok);
	for (int p = 0; p < 6; p++) rp_tokens_free(&ptok[p]);
	TEST_END();
}
