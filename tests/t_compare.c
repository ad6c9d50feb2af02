/* rp_compare and rp_align on real articles with known edits applied by a
 * generator: a new headline, a site header and footer, a paragraph moved to
 * the top, a paragraph cut, lines re-wrapped, quotes and dashes made
 * typographic.  Every planted shared passage must be found with both ends
 * within 3 words of the truth on both sides; offsets must be honest (on
 * UTF-8 boundaries, and the bytes at a passage normalise to the same tokens
 * on both sides); containment must equal a brute-force computation. */
#include <math.h>
#include "test.h"
#include "reprint.h"
#include "internal.h"

typedef struct { size_t a0, a1, b0, b1; } span; /* byte ranges of one paragraph in A and B */

static char *bufcat(char *buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		buf = realloc(buf, *cap);
	}
	memcpy(buf + *len, s, n);
	*len += n;
	buf[*len] = 0;
	return buf;
}

/* Append paragraph p re-wrapped at ~60 columns with typographic quotes and dashes. */
static char *append_edited(char *buf, size_t *len, size_t *cap, const char *p, size_t n)
{
	size_t col = 0;
	int open = 1;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c == '"') {
			buf = bufcat(buf, len, cap, open ? "\xe2\x80\x9c" : "\xe2\x80\x9d", 3);
			open = !open;
		} else if (c == '\'') {
			buf = bufcat(buf, len, cap, "\xe2\x80\x99", 3);
		} else if (c == '-' && i > 0 && i + 1 < n && p[i - 1] == ' ' && p[i + 1] == ' ') {
			buf = bufcat(buf, len, cap, "\xe2\x80\x94", 3);
		} else if (c == ' ' && col > 60) {
			buf = bufcat(buf, len, cap, "\n", 1);
			col = 0;
			continue;
		} else {
			buf = bufcat(buf, len, cap, &c, 1);
		}
		col++;
	}
	return buf;
}

/* Token index of the first token starting at or after byte off. */
static size_t tok_at(const rp_tokens *t, size_t off)
{
	size_t i = 0;
	while (i < t->n && t->start[i] < off) i++;
	return i;
}

static int checked_articles, checked_passages, boundary_failures, missing;

static void check_article(const char *a, size_t alen)
{
	/* Paragraphs of A (split at blank lines); paragraph 0 is the headline. */
	size_t ps[64], pe[64], np = 0;
	for (size_t i = 0; i < alen && np < 64;) {
		while (i < alen && a[i] == '\n') i++;
		if (i >= alen) break;
		const char *e = memmem(a + i, alen - i, "\n\n", 2);
		size_t j = e ? (size_t)(e - a) : alen;
		ps[np] = i, pe[np] = j, np++;
		i = j;
	}
	if (np < 5) return;
	/* B: headline, header, last paragraph moved to the top, paragraph 2 cut. */
	int order[64], no = 0;
	order[no++] = (int)np - 1;
	for (int k = 1; k < (int)np - 1; k++)
		if (k != 2) order[no++] = k;
	char *b = NULL;
	size_t blen = 0, bcap = 0;
	b = bufcat(b, &blen, &bcap, "EXCLUSIVE: our own headline for this story\n\nHome | News | Sport | Weather | Contact us\n\n",
	           strlen("EXCLUSIVE: our own headline for this story\n\nHome | News | Sport | Weather | Contact us\n\n"));
	span sp[64];
	for (int k = 0; k < no; k++) {
		sp[k].a0 = ps[order[k]];
		sp[k].a1 = pe[order[k]];
		sp[k].b0 = blen;
		b = append_edited(b, &blen, &bcap, a + ps[order[k]], pe[order[k]] - ps[order[k]]);
		sp[k].b1 = blen;
		b = bufcat(b, &blen, &bcap, "\n\n", 2);
	}
	b = bufcat(b, &blen, &bcap, "Share this article: Facebook Twitter Email\nCopyright 2005 The Daily Example.",
	           strlen("Share this article: Facebook Twitter Email\nCopyright 2005 The Daily Example."));
	rp_params p;
	rp_params_default(&p);
	rp_comparison c;
	rp_error e;
	CHECK(rp_compare(a, alen, b, blen, &p, 8, &c, &e) == 0);
	rp_tokens ta = {0}, tb = {0};
	rp_tokenize(a, alen, 0, 0, &ta, &e);
	rp_tokenize(b, blen, 0, 0, &tb, &e);
	/* Truth: runs of paragraphs consecutive in both A and B form one passage. */
	for (int k = 0; k < no;) {
		int l = k;
		while (l + 1 < no && order[l + 1] == order[l] + 1) l++;
		size_t ta0 = tok_at(&ta, sp[k].a0), ta1 = tok_at(&ta, sp[l].a1);
		size_t tb0 = tok_at(&tb, sp[k].b0), tb1 = tok_at(&tb, sp[l].b1);
		k = l + 1;
		if (ta1 - ta0 < 12) continue; /* too short to promise */
		checked_passages++;
		int found = 0;
		for (size_t q = 0; q < c.npassages; q++) {
			const rp_passage *r = &c.passages[q];
			if (r->a_end <= ta0 || r->a_start >= ta1) continue;
			found = 1;
			long d[4] = {(long)r->a_start - (long)ta0, (long)r->a_end - (long)ta1, (long)r->b_start - (long)tb0,
			             (long)r->b_end - (long)tb1};
			if (labs(d[0]) > 3 || labs(d[1]) > 3 || labs(d[2]) > 3 || labs(d[3]) > 3) {
				boundary_failures++;
				fprintf(stderr, "  passage A %zu-%zu B %zu-%zu found as A %u-%u B %u-%u\n", ta0, ta1, tb0, tb1,
				        r->a_start, r->a_end, r->b_start, r->b_end);
			}
			break;
		}
		if (!found) missing++;
	}
	/* Honest offsets: on boundaries, inside the texts, same tokens both sides. */
	for (size_t q = 0; q < c.npassages; q++) {
		const rp_passage *r = &c.passages[q];
		CHECK(r->a_byte_end <= alen && r->b_byte_end <= blen);
		CHECK(((unsigned char)a[r->a_byte_start] & 0xc0) != 0x80 && ((unsigned char)b[r->b_byte_start] & 0xc0) != 0x80);
		rp_tokens x = {0}, y = {0};
		rp_tokenize(a + r->a_byte_start, r->a_byte_end - r->a_byte_start, 0, 0, &x, &e);
		rp_tokenize(b + r->b_byte_start, r->b_byte_end - r->b_byte_start, 0, 0, &y, &e);
		CHECK(x.n == r->a_end - r->a_start);
		size_t agree = 0;
		for (size_t i = 0; i < x.n && i < y.n; i++) agree += x.hash[i] == y.hash[i];
		CHECKF(agree + 16 >= x.n, "passage %zu: %zu of %zu tokens agree", q, agree, x.n);
		rp_tokens_free(&x);
		rp_tokens_free(&y);
	}
	/* Containment against brute force over the shingle sets. */
	uint64_t *sa = malloc((ta.n + 1) * 8), *sb = malloc((tb.n + 1) * 8);
	size_t na = rp_shingles(ta.hash, ta.n, 5, sa), nb = rp_shingles(tb.hash, tb.n, 5, sb), in_b = 0, ua = 0;
	for (size_t i = 0; i < na; i++) {
		int dup = 0, found = 0;
		for (size_t j = 0; j < i && !dup; j++) dup = sa[j] == sa[i];
		if (dup) continue;
		ua++;
		for (size_t j = 0; j < nb && !found; j++) found = sb[j] == sa[i];
		in_b += found;
	}
	CHECK(fabs((double)in_b / ua - c.a_in_b) < 1e-9);
	free(sa); free(sb);
	rp_tokens_free(&ta);
	rp_tokens_free(&tb);
	rp_comparison_free(&c);
	free(b);
	checked_articles++;

	/* An excerpt: the paragraphs making up the first 30% of the article,
	 * wrapped in another site's text.  One passage, and B mostly in A. */
	size_t cut = ps[1] + (alen - ps[1]) * 3 / 10, last = 1;
	while (last + 1 < np && pe[last] < cut) last++;
	blen = bcap = 0;
	b = bufcat(NULL, &blen, &bcap, "Read an excerpt below.\n\n", strlen("Read an excerpt below.\n\n"));
	size_t b0 = blen;
	b = append_edited(b, &blen, &bcap, a + ps[1], pe[last] - ps[1]);
	size_t b1 = blen;
	b = bufcat(b, &blen, &bcap, "\n\nSubscribe to read the whole story.", strlen("\n\nSubscribe to read the whole story."));
	CHECK(rp_compare(a, alen, b, blen, &p, 8, &c, &e) == 0);
	rp_tokenize(a, alen, 0, 0, &ta, &e);
	rp_tokenize(b, blen, 0, 0, &tb, &e);
	size_t xa0 = tok_at(&ta, ps[1]), xa1 = tok_at(&ta, pe[last]), xb0 = tok_at(&tb, b0), xb1 = tok_at(&tb, b1);
	checked_passages++;
	if (c.npassages < 1) missing++;
	else if (labs((long)c.passages[0].a_start - (long)xa0) > 3 || labs((long)c.passages[0].a_end - (long)xa1) > 3
	         || labs((long)c.passages[0].b_start - (long)xb0) > 3 || labs((long)c.passages[0].b_end - (long)xb1) > 3)
		boundary_failures++;
	CHECK(c.b_in_a > 0.7 && c.a_in_b < c.b_in_a);
	rp_tokens_free(&ta);
	rp_tokens_free(&tb);
	rp_comparison_free(&c);
	free(b);
}

static void test_planted_edits_on_bbc(void)
{
	const char *in[] = {SHARED_DATA "/bbc-news.jsonl.gz"};
	rp_reader_opts ro = {RP_FORMAT_JSONL, "text", "id", 0};
	rp_reader *r;
	rp_error e;
	CHECK(rp_reader_new(&r, in, 1, &ro, &e) == 0);
	rp_record rec;
	int n = 0;
	while (rp_reader_next(r, &rec, &e) > 0 && n < 2225) {
		if (n++ % 10) continue; /* every 10th article */
		check_article(rec.text, rec.text_len);
	}
	rp_reader_free(r);
	printf("# %d articles, %d planted passages: %d missing, %d with an end more than 3 words off\n",
	       checked_articles, checked_passages, missing, boundary_failures);
	CHECK(checked_articles > 100);
	CHECK(missing == 0);
	CHECK(boundary_failures == 0);
}

static void test_align_basics(void)
{
	uint64_t a[100], b[100];
	for (int i = 0; i < 100; i++) a[i] = 1000 + (uint64_t)i, b[i] = 5000 + (uint64_t)i;
	/* b holds a[10..40) at 50 and a[60..90) at 0, with one word changed at b[15]. */
	for (int i = 0; i < 30; i++) b[50 + i] = a[10 + i], b[i] = a[60 + i];
	b[15] = 7;
	rp_align_opts o = {5, 8, 8};
	rp_passage *p;
	size_t n;
	rp_error e;
	CHECK(rp_align(a, 100, b, 100, &o, &p, &n, &e) == 0);
	CHECK(n == 2);
	if (n == 2) {
		CHECK(p[0].a_start == 10 && p[0].a_end == 40 && p[0].b_start == 50 && p[0].b_end == 80);
		CHECK(p[1].a_start == 60 && p[1].a_end == 90 && p[1].b_start == 0 && p[1].b_end == 30);
	}
	rp_free_passages(p);
	/* Nothing shared; too short; empty. */
	CHECK(rp_align(a, 100, a + 50, 0, &o, &p, &n, &e) == 0 && n == 0);
	rp_free_passages(p);
	CHECK(rp_align(a, 4, a, 4, &o, &p, &n, &e) == 0 && n == 0);
	rp_free_passages(p);
	/* A repeated block in B is matched once. */
	for (int i = 0; i < 100; i++) b[i] = a[i % 20];
	CHECK(rp_align(a, 20, b, 100, &o, &p, &n, &e) == 0 && n == 1 && p[0].tokens == 20);
	rp_free_passages(p);
}

/* The density rule: a gap is bridged only when at most max_gap tokens and
 * at most half the matched tokens on each side.  Snippets of 5 shared tokens
 * every 12 (7 different between) are no passage; one changed token every
 * 20, or two every 12, keep one passage; a 3-token gap splits after 5
 * matched tokens, not after 6. */
static void test_align_density(void)
{
	static uint64_t a[240], b[240];
	rp_align_opts o = {5, 8, 8};
	rp_passage *p;
	size_t n;
	rp_error e;
	for (int i = 0; i < 240; i++) a[i] = 1000 + (uint64_t)i, b[i] = i % 12 < 5 ? a[i] : 50000 + (uint64_t)i;
	CHECK(rp_align(a, 240, b, 240, &o, &p, &n, &e) == 0);
	CHECKF(n == 0, "%zu passages, first %u tokens", n, n ? p[0].tokens : 0);
	rp_free_passages(p);
	o.min_tokens = 5; /* the snippets themselves */
	CHECK(rp_align(a, 240, b, 240, &o, &p, &n, &e) == 0 && n == 20 && p[0].tokens == 5);
	rp_free_passages(p);
	o.min_tokens = 8;
	for (int i = 0; i < 240; i++) b[i] = i % 20 == 10 ? 7 : a[i];
	CHECK(rp_align(a, 240, b, 240, &o, &p, &n, &e) == 0 && n == 1 && p[0].tokens == 240);
	rp_free_passages(p);
	for (int i = 0; i < 240; i++) b[i] = i % 12 >= 10 ? 7 + (uint64_t)i : a[i];
	CHECK(rp_align(a, 240, b, 240, &o, &p, &n, &e) == 0 && n == 1 && p[0].tokens == 238);
	rp_free_passages(p);
	/* 30 matched, gap 3, 5 matched, gap 3, 30 matched: the 5 are too few */
	for (int i = 0; i < 71; i++) b[i] = (i >= 30 && i < 33) || (i >= 38 && i < 41) ? 9000 + (uint64_t)i : a[i];
	CHECK(rp_align(a, 71, b, 71, &o, &p, &n, &e) == 0 && n == 2);
	rp_free_passages(p);
	/* ... with 6 in the middle, one passage */
	for (int i = 0; i < 72; i++) b[i] = (i >= 30 && i < 33) || (i >= 39 && i < 42) ? 9000 + (uint64_t)i : a[i];
	CHECK(rp_align(a, 72, b, 72, &o, &p, &n, &e) == 0 && n == 1 && p[0].tokens == 72);
	rp_free_passages(p);
	/* an insertion of 4 tokens in B between 8 and 8 matched: bridged */
	for (int i = 0; i < 20; i++) b[i] = i < 8 ? a[i] : i < 12 ? 9000 + (uint64_t)i : a[i - 4];
	CHECK(rp_align(a, 16, b, 20, &o, &p, &n, &e) == 0 && n == 1 && p[0].tokens == 16 && p[0].b_end == 20);
	rp_free_passages(p);
}

static size_t find(const char *s, const char *w) { return (size_t)(strstr(s, w) - s); }

/* What each side adds, inside passages too; scores and lists agree. */
static void test_compare_lists(void)
{
	rp_params p;
	rp_params_default(&p);
	rp_comparison c;
	rp_error e;
	const char *a = "The minister told the inquiry on Tuesday that he had read the report and that he had known "
	                "about the payments to the contractor, according to a transcript released by the committee.";
	const char *b = "The minister told the inquiry on Tuesday that he had read the report and that he had never "
	                "known about the payments to the contractor, according to a transcript released by the committee.";
	/* One passage across the edit; "never" only in B. */
	CHECK(rp_compare(a, strlen(a), b, strlen(b), &p, 8, &c, &e) == 0);
	CHECK(c.npassages == 1 && c.passages[0].b_byte_end == strlen(b) - 1);
	CHECK(c.nonly_a == 0 && c.nonly_b == 1);
	if (c.nonly_b == 1) CHECK(c.only_b[0].start == find(b, "never") && c.only_b[0].end == find(b, "never") + 5);
	rp_comparison_free(&c);
	/* A substitution: "knew" against "had known", both sides. */
	const char *d = "The minister told the inquiry on Tuesday that he had read the report and that he knew "
	                "about the payments to the contractor, according to a transcript released by the committee.";
	CHECK(rp_compare(a, strlen(a), d, strlen(d), &p, 8, &c, &e) == 0);
	CHECK(c.npassages == 1 && c.nonly_a == 1 && c.nonly_b == 1);
	if (c.nonly_a == 1 && c.nonly_b == 1) {
		CHECK(c.only_a[0].start == find(a, "had known") && c.only_a[0].end == find(a, "had known") + 9);
		CHECK(c.only_b[0].start == find(d, "knew") && c.only_b[0].end == find(d, "knew") + 4);
	}
	rp_comparison_free(&c);
	/* "½" against "¼": NFKC makes "1", "2" and "1", "4" of them, sharing one
	 * span; "1" agrees, but the span is not shared: the passage stops before
	 * it and the only ranges hold it, without overlap. */
	const char *h = "alpha beta gamma delta epsilon zeta eta theta iota kappa \xc2\xbd more words only in a";
	const char *q = "alpha beta gamma delta epsilon zeta eta theta iota kappa \xc2\xbc other words in b";
	CHECK(rp_compare(h, strlen(h), q, strlen(q), &p, 8, &c, &e) == 0);
	CHECK(c.npassages == 1 && c.nonly_a == 1 && c.nonly_b == 1);
	if (c.npassages == 1 && c.nonly_a == 1 && c.nonly_b == 1) {
		CHECK(c.passages[0].a_byte_end == find(h, "kappa") + 5 && c.passages[0].b_byte_end == find(q, "kappa") + 5);
		CHECK(c.only_a[0].start == find(h, "\xc2") && c.only_b[0].start == find(q, "\xc2"));
	}
	rp_comparison_free(&c);
	/* No words: 1 only for identical bytes (as dedup). */
	CHECK(rp_compare("!!! ...", 7, "???", 3, &p, 8, &c, &e) == 0);
	CHECK(c.jaccard == 0 && c.a_in_b == 0 && c.b_in_a == 0 && c.npassages == 0 && c.nonly_a == 0);
	rp_comparison_free(&c);
	CHECK(rp_compare("!!!", 3, "!!!", 3, &p, 8, &c, &e) == 0 && c.jaccard == 1 && c.a_in_b == 1);
	rp_comparison_free(&c);
	CHECK(rp_compare("", 0, "", 0, &p, 8, &c, &e) == 0 && c.jaccard == 1);
	rp_comparison_free(&c);
	/* Shorter than min_words: shared whole, one passage, nothing only on a side. */
	CHECK(rp_compare("one two three", 13, "One, two three!", 15, &p, 8, &c, &e) == 0);
	CHECK(c.jaccard == 1 && c.npassages == 1 && c.nonly_a == 0 && c.nonly_b == 0);
	if (c.npassages == 1) CHECK(c.passages[0].tokens == 3 && c.passages[0].b_byte_end == 14);
	rp_comparison_free(&c);
	CHECK(rp_compare("two three", 9, "one two three four", 18, &p, 8, &c, &e) == 0);
	CHECK(c.npassages == 1 && c.nonly_a == 0 && c.nonly_b == 2);
	if (c.npassages == 1) CHECK(c.passages[0].b_start == 1 && c.passages[0].b_end == 3);
	rp_comparison_free(&c);
	CHECK(rp_compare("one two three", 13, "one three two", 13, &p, 8, &c, &e) == 0);
	CHECK(c.npassages == 0 && c.nonly_a == 1 && c.nonly_b == 1);
	rp_comparison_free(&c);
	/* min_words below the n-gram length: seeds that short, runs found. */
	CHECK(rp_compare("x y one two three z", 19, "q one two three r", 17, &p, 3, &c, &e) == 0);
	CHECK(c.npassages == 1 && c.passages[0].tokens == 3);
	rp_comparison_free(&c);
}

/* The aligner's AVX-512 scan of B (where the CPU has it) and its scalar one
 * find the same passages and shared counts: random streams over a small
 * vocabulary (so filters pass often) with copied runs, several n-gram
 * lengths, lengths around the vector width. */
static void test_align_scan_paths_agree(void)
{
	uint64_t s = 99;
	static uint64_t a[3000], b[3000];
	const int ks[] = {1, 2, 3, 5, 8, 13, 64, 65};
	for (int round = 0; round < 96; round++) {
		int k = ks[round % 8];
		size_t na = 1 + (size_t)(round * 37 % 2900), nb = 1 + (size_t)(round * 53 % 2950);
		uint64_t vocab = round % 3 == 0 ? 8 : round % 3 == 1 ? 200 : 100000;
		for (size_t i = 0; i < na; i++) s += 0x9e3779b97f4a7c15ULL, a[i] = rp_mix64(rp_mix64(s) % vocab + 1);
		for (size_t i = 0; i < nb; i++) s += 0x9e3779b97f4a7c15ULL, b[i] = rp_mix64(rp_mix64(s) % vocab + 1);
		for (size_t c = 0; c + 60 < na && c + 60 < nb && c < 2000; c += 400) /* copied runs */
			memcpy(b + (c * 7 % (nb - 60)), a + c, 60 * sizeof *a);
		rp_align_opts o = {k, 8, 8};
		rp_aligner *x = rp_aligner_new(&o), *y = rp_aligner_new(&o);
		CHECK(x && y);
		if (!x || !y) { rp_aligner_free(x); rp_aligner_free(y); return; }
		rp_aligner_set_scalar(y, 1);
		CHECK(rp_aligner_set_a(x, a, na) == 0 && rp_aligner_set_a(y, a, na) == 0);
		rp_passage *p = NULL, *q = NULL;
		size_t np = 0, nq = 0, sp = 0, sq = 0;
		CHECK(rp_aligner_run(x, b, nb, &p, &np, &sp) == 0 && rp_aligner_run(y, b, nb, &q, &nq, &sq) == 0);
		int same = np == nq && sp == sq;
		for (size_t i = 0; same && i < np; i++) /* field by field: memcmp would compare the padding too */
			same = p[i].a_start == q[i].a_start && p[i].a_end == q[i].a_end && p[i].b_start == q[i].b_start &&
			       p[i].b_end == q[i].b_end && p[i].tokens == q[i].tokens && p[i].a_byte_start == q[i].a_byte_start &&
			       p[i].a_byte_end == q[i].a_byte_end && p[i].b_byte_start == q[i].b_byte_start &&
			       p[i].b_byte_end == q[i].b_byte_end;
		CHECKF(same, "round %d k %d: %zu/%zu passages, %zu/%zu shared",
		       round, k, np, nq, sp, sq);
		rp_free_passages(p);
		rp_free_passages(q);
		rp_aligner_free(x);
		rp_aligner_free(y);
	}
}

int main(void)
{
	RUN(test_align_basics);
	RUN(test_align_scan_paths_agree);
	RUN(test_align_density);
	RUN(test_compare_lists);
	RUN(test_planted_edits_on_bbc);
	TEST_END();
}
