/* Passage reuse across a corpus built from real BBC articles: forty unrelated
 * articles wrapped in one site template must give no pair (the template is
 * boilerplate), one story syndicated across seventy sites, each with its own
 * template, must give every pair with the story's passage and without the
 * templates, and an excerpt planted in another article must be found with its
 * ends within 3 words; containment within 0.02 of brute force. */
#include <math.h>
#include <unistd.h>
#include <stdatomic.h>
#include "test.h"
#include "fail_alloc.h"
#include "reprint.h"
#include "internal.h"

#define NART 200
static char *art[NART];
static size_t artlen[NART];

static uint64_t rng = 7;
static uint64_t next(void) { rng += 0x9e3779b97f4a7c15ULL; return rp_mix64(rng); }

/* A site template of about 45 words made of random words, so every site's differs. */
static void make_words(char *buf, size_t cap, int words, const char *prefix)
{
	static const char *w[] = {"home", "news", "sport", "weather", "contact", "about", "privacy", "terms",
		"subscribe", "newsletter", "share", "facebook", "twitter", "email", "print", "copyright", "rights",
		"reserved", "advertise", "careers", "local", "world", "business", "politics", "opinion", "video",
		"photos", "events", "jobs", "cars", "homes", "classifieds", "archive", "help", "login", "register"};
	size_t len = (size_t)snprintf(buf, cap, "%s", prefix);
	for (int i = 0; i < words && len + 20 < cap; i++)
		len += (size_t)snprintf(buf + len, cap - len, " %s%s", w[next() % 36], next() % 4 ? "" : "s");
}

static void load_articles(void)
{
	const char *in[] = {SHARED_DATA "/bbc-news.jsonl.gz"};
	rp_reader_opts ro = {RP_FORMAT_JSONL, "text", "id", 0};
	rp_reader *r;
	rp_error e;
	rp_reader_new(&r, in, 1, &ro, &e);
	rp_record rec;
	int n = 0, i = 0;
	/* Every 11th article (no two are the copies BBC News holds twice). */
	while (rp_reader_next(r, &rec, &e) > 0 && n < NART)
		if (i++ % 11 == 0) {
			art[n] = malloc(rec.text_len + 1);
			memcpy(art[n], rec.text, rec.text_len);
			art[n][rec.text_len] = 0;
			artlen[n++] = rec.text_len;
		}
	rp_reader_free(r);
}

static rp_pool *pool;

/* where & 3: 0 token records in memory (the default), 1 in the token file,
 * mapped, 2 in the token file, read with pread, 3 some in memory, the rest
 * read; where >> 2: 0 texts kept, tokenised again for the candidates (what
 * a small corpus gets), 1 token records kept at once. */
static int run_limit(size_t n, char **docs, rp_reuse **out, int where)
{
	size_t *len = malloc(n * sizeof *len);
	for (size_t i = 0; i < n; i++) len[i] = strlen(docs[i]);
	rp_params p;
	rp_params_default(&p);
	rp_reuse_opts o;
	rp_reuse_opts_default(&o);
	rp_error e;
	int rc = rp_reuse_new(out, &p, &o, pool, &e);
	static const uint64_t mem[] = {UINT64_MAX, 0, 0, 40000}, map[] = {UINT64_MAX, UINT64_MAX, 0, 0};
	if (!rc && where & 3) rp_reuse_set_memory(*out, mem[where & 3], map[where & 3]);
	if (!rc) rp_reuse_set_keep(*out, where >> 2 ? 2 : 1);
	if (!rc) rc = rp_reuse_add(*out, n, (const char *const *)docs, len, NULL, &e);
	if (!rc) rc = rp_reuse_finish(*out, &e);
	free(len);
	return rc;
}

static int run(size_t n, char **docs, rp_reuse **out) { return run_limit(n, docs, out, 0); }

/* Are passages a[0..n) and b[0..n) the same?  Field by field: rp_passage has
 * padding, which memcmp would compare too (garbage outside sanitizer builds). */
static int same_passages(const rp_passage *a, const rp_passage *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i].a_start != b[i].a_start || a[i].a_end != b[i].a_end || a[i].b_start != b[i].b_start
		    || a[i].b_end != b[i].b_end || a[i].tokens != b[i].tokens || a[i].a_byte_start != b[i].a_byte_start
		    || a[i].a_byte_end != b[i].a_byte_end || a[i].b_byte_start != b[i].b_byte_start
		    || a[i].b_byte_end != b[i].b_byte_end)
			return 0;
	return 1;
}

/* Token records in memory, in the token file mapped or read with pread, or
 * split: the same pairs, passages, scores and boilerplate, on pages in one
 * template, half of them carrying one story. */
static void test_token_records_anywhere(void)
{
	char header[2048], footer[2048], *docs[60];
	make_words(header, sizeof header, 60, "The Daily Example");
	make_words(footer, sizeof footer, 60, "Read more");
	for (int i = 0; i < 60; i++) {
		size_t n = strlen(header) + artlen[i] + artlen[120] + strlen(footer) + 8;
		docs[i] = malloc(n);
		snprintf(docs[i], n, "%s\n\n%s\n\n%s\n\n%s", header, art[i], i % 2 ? art[120] : "", footer);
	}
	size_t total = 0;
	int differ = 0;
	for (int where = 1; where <= 7; where++) {
		rp_reuse *r[2];
		CHECK(run_limit(60, docs, &r[0], 0) == 0 && run_limit(60, docs, &r[1], where) == 0);
		const rp_reuse_pair *p0, *p1;
		size_t n0, n1;
		rp_error e;
		for (;;) {
			CHECK(rp_reuse_next(r[0], &p0, &n0, &e) == 0 && rp_reuse_next(r[1], &p1, &n1, &e) == 0);
			if (n0 != n1) { differ++; break; }
			if (!n0) break;
			for (size_t i = 0; i < n0; i++) {
				total++;
				if (p0[i].a != p1[i].a || p0[i].b != p1[i].b || p0[i].jaccard != p1[i].jaccard
				    || p0[i].a_in_b != p1[i].a_in_b || p0[i].npassages != p1[i].npassages
				    || !same_passages(p0[i].passages, p1[i].passages, p0[i].npassages))
					differ++;
			}
		}
		for (int i = 0; i < 60; i++) {
			rp_range *g0, *g1;
			size_t m0, m1;
			CHECK(rp_reuse_template_spans(r[0], (uint64_t)i, &g0, &m0, &e) == 0);
			CHECK(rp_reuse_template_spans(r[1], (uint64_t)i, &g1, &m1, &e) == 0);
			if (m0 != m1 || (m0 && memcmp(g0, g1, m0 * sizeof *g0)) || !m0) differ++;
			rp_free_ranges(g0);
			rp_free_ranges(g1);
		}
		rp_reuse_free(r[0]);
		rp_reuse_free(r[1]);
	}
	printf("# token records in memory, in a mapped file, read, split; texts or records kept: %zu pairs, %d differences\n", total, differ);
	CHECK(total == 7 * 30 * 29 / 2);
	CHECK(differ == 0);
	for (int i = 0; i < 60; i++) free(docs[i]);
}

/* Passages' byte offsets are the tokenizer's spans of their first and last
 * tokens, whether a document's record keeps its spans packed (a byte of gap
 * and of length a token) or wide (a gap or a word of 256 bytes or more), in
 * memory or in the token file, records or texts kept. */
static void test_spans_packed_and_wide(void)
{
	char *docs[12];
	for (int i = 0; i < 6; i++) {
		size_t la = artlen[i], cut = la / 2;
		while (cut < la && art[i][cut] != ' ') cut++;
		/* 2i: the article with 300 spaces in the middle, or a 300-letter word
		 * (i odd); 2i + 1: the article as it is */
		docs[2 * i] = malloc(la + 310);
		memcpy(docs[2 * i], art[i], cut);
		memset(docs[2 * i] + cut, i % 2 ? 'q' : ' ', 300);
		docs[2 * i][cut] = docs[2 * i][cut + 299] = ' ';
		memcpy(docs[2 * i] + cut + 300, art[i] + cut, la - cut);
		docs[2 * i][la + 300] = 0;
		docs[2 * i + 1] = strdup(art[i]);
	}
	rp_tokens tok[12];
	memset(tok, 0, sizeof tok);
	rp_error e;
	for (int i = 0; i < 12; i++) CHECK(rp_tokenize(docs[i], strlen(docs[i]), 0, 0, &tok[i], &e) == 0);
	size_t checked = 0, bad = 0;
	for (int where = 0; where <= 15; where++) {
		rp_reuse *r;
		rp_simd_off = where >= 8; /* the scalar packing and scans too */
		CHECK(run_limit(12, docs, &r, where & 7) == 0);
		const rp_reuse_pair *p;
		size_t n;
		while (rp_reuse_next(r, &p, &n, &e) == 0 && n)
			for (size_t i = 0; i < n; i++)
				for (size_t q = 0; q < p[i].npassages; q++) {
					const rp_passage *x = &p[i].passages[q];
					const rp_tokens *ta = &tok[p[i].a], *tb = &tok[p[i].b];
					checked++;
					bad += x->a_byte_start != ta->start[x->a_start] || x->a_byte_end != ta->end[x->a_end - 1]
					       || x->b_byte_start != tb->start[x->b_start] || x->b_byte_end != tb->end[x->b_end - 1];
				}
		rp_reuse_free(r);
	}
	rp_simd_off = 0;
	printf("# packed and wide spans, AVX-512 and scalar: %zu passages checked, %zu wrong\n", checked, bad);
	CHECK(checked >= 16 * 6);
	CHECK(bad == 0);
	for (int i = 0; i < 12; i++) rp_tokens_free(&tok[i]), free(docs[i]);
}

static void test_shared_template_is_not_reuse(void)
{
	char header[2048], footer[2048], *docs[40];
	make_words(header, sizeof header, 70, "The Example Herald");
	make_words(footer, sizeof footer, 70, "Follow us");
	for (int i = 0; i < 40; i++) {
		size_t n = strlen(header) + artlen[i] + strlen(footer) + 8;
		docs[i] = malloc(n);
		snprintf(docs[i], n, "%s\n\n%s\n\n%s", header, art[i], footer);
	}
	rp_reuse *r;
	CHECK(run(40, docs, &r) == 0);
	const rp_reuse_pair *pr;
	size_t n, total = 0;
	rp_error e;
	while (rp_reuse_next(r, &pr, &n, &e) == 0 && n) total += n;
	printf("# 40 articles in one template: %zu pairs reported, %zu boilerplate fingerprints\n", total,
	       rp_reuse_template_fingerprints(r));
	CHECK(total == 0);
	/* The template is found in every page, and covers it. */
	int found = 0;
	for (int i = 0; i < 40; i++) {
		rp_range *rg;
		size_t nr;
		CHECK(rp_reuse_template_spans(r, (uint64_t)i, &rg, &nr, &e) == 0);
		if (nr >= 2 && rg[0].start == 0 && rg[nr - 1].end == strlen(docs[i])) found++;
		rp_free_ranges(rg);
	}
	CHECKF(found == 40, "header and footer found whole in %d of 40 pages", found);
	rp_reuse_free(r);
	for (int i = 0; i < 40; i++) free(docs[i]);
}

static void test_syndicated_story_is_reuse(void)
{
	enum { SITES = 70 };
	char *docs[SITES + 30], header[2048], footer[2048];
	size_t story_at[SITES], story_len = artlen[100];
	for (int i = 0; i < SITES; i++) {
		char name[32];
		snprintf(name, sizeof name, "Site %d News", i);
		make_words(header, sizeof header, 40, name);
		make_words(footer, sizeof footer, 40, "More from us");
		size_t n = strlen(header) + story_len + strlen(footer) + 8;
		docs[i] = malloc(n);
		snprintf(docs[i], n, "%s\n\n%s\n\n%s", header, art[100], footer);
		story_at[i] = strlen(header) + 2;
	}
	/* Thirty unrelated articles around them. */
	for (int i = 0; i < 30; i++) docs[SITES + i] = strdup(art[101 + i]);
	rp_reuse *r;
	CHECK(run(SITES + 30, docs, &r) == 0);
	const rp_reuse_pair *pr;
	size_t n, total = 0;
	int bad_bounds = 0, bad_containment = 0, other = 0;
	rp_error e;
	while (rp_reuse_next(r, &pr, &n, &e) == 0 && n)
		for (size_t i = 0; i < n; i++) {
			const rp_reuse_pair *x = &pr[i];
			if (x->b >= SITES) { other++; continue; }
			total++;
			/* One passage: the story, ends within 3 words (a word is < 20 bytes here). */
			if (x->npassages != 1
			    || labs((long)x->passages[0].a_byte_start - (long)story_at[x->a]) > 60
			    || labs((long)x->passages[0].a_byte_end - (long)(story_at[x->a] + story_len)) > 60
			    || labs((long)x->passages[0].b_byte_start - (long)story_at[x->b]) > 60)
				bad_bounds++;
			/* Brute force: no template is shared here, so containment over all
			 * shingles of the two pages (rp_compare computes it exactly). */
			if (total % 50 == 1) {
				rp_params p;
				rp_params_default(&p);
				rp_comparison c;
				CHECK(rp_compare(docs[x->a], strlen(docs[x->a]), docs[x->b], strlen(docs[x->b]), &p, 50, &c, &e) == 0);
				if (fabs(x->a_in_b - c.a_in_b) > 0.02 || fabs(x->b_in_a - c.b_in_a) > 0.02) bad_containment++;
				rp_comparison_free(&c);
			}
		}
	printf("# story on %d sites: %zu of %d pairs, %d with a bad passage, %d containment off by > 0.02, %d others\n",
	       SITES, total, SITES * (SITES - 1) / 2, bad_bounds, bad_containment, other);
	CHECK(total == SITES * (SITES - 1) / 2);
	CHECK(bad_bounds == 0);
	CHECK(bad_containment == 0);
	CHECK(other == 0);
	rp_reuse_free(r);
	for (int i = 0; i < SITES + 30; i++) free(docs[i]);
}

/* n random words of 3 to 9 letters (a vocabulary too large to repeat 5-grams). */
static void random_words(char *buf, size_t cap, int n)
{
	size_t len = 0;
	buf[0] = 0;
	for (int i = 0; i < n && len + 12 < cap; i++) {
		int k = 3 + (int)(next() % 7);
		if (i) buf[len++] = ' ';
		for (int c = 0; c < k; c++) buf[len++] = (char)('a' + next() % 26);
		buf[len] = 0;
	}
}

/* Pages of `body` words of their own and one 85-word footer; with
 * empty_page, one more page that is only the footer.  The pairs reported,
 * and the pages whose boilerplate covers the footer whole. */
static void footer_pages(int body, int empty_page, size_t *npairs, int *masked)
{
	static const char footer[] = "This article is published by the Example Daily Herald. Subscribe to our newsletter "
		"to get the best of our journalism delivered to your inbox every morning, follow us on social media, and "
		"share this story with your friends and family. All content copyright Example Daily Herald Media Group "
		"Limited, registered in England and Wales, company number 1234567. Our journalists follow the editors code "
		"of practice and we are regulated by the independent press standards organisation. If you have a "
		"complaint please contact the readers editor.";
	enum { PAGES = 60 };
	char *docs[PAGES + 1], words[4096];
	size_t n = 0;
	for (int i = 0; i < PAGES; i++) {
		random_words(words, sizeof words, body);
		size_t len = strlen(words) + sizeof footer + 4;
		docs[n] = malloc(len);
		snprintf(docs[n++], len, "%s\n\n%s", words, footer);
	}
	if (empty_page) {
		docs[n] = malloc(sizeof footer + 32);
		snprintf(docs[n++], sizeof footer + 32, "Page not found.\n\n%s", footer);
	}
	rp_reuse *r;
	rp_error e;
	CHECK(run(n, docs, &r) == 0);
	const rp_reuse_pair *pr;
	size_t k;
	*npairs = 0;
	while (rp_reuse_next(r, &pr, &k, &e) == 0 && k) *npairs += k;
	*masked = 0;
	for (size_t i = 0; i < n; i++) {
		rp_range *rg;
		size_t nr;
		CHECK(rp_reuse_template_spans(r, (uint64_t)i, &rg, &nr, &e) == 0);
		size_t at = strlen(docs[i]) - (sizeof footer - 1);
		if (nr && rg[nr - 1].start == at && rg[nr - 1].end == strlen(docs[i]) - 1) ++*masked; /* (not its final stop) */
		rp_free_ranges(rg);
	}
	rp_reuse_free(r);
	for (size_t i = 0; i < n; i++) free(docs[i]);
}

/* A footer on every page is boilerplate however short the pages are (it once
 * had to be under half of them), and a page that is nothing but the footer
 * does not make it a quoted source of the others. */
static void test_footer_on_short_pages(void)
{
	static const int body[] = {30, 50, 100, 150};
	for (size_t i = 0; i < sizeof body / sizeof *body; i++)
		for (int empty = 0; empty < 2; empty++) {
			size_t npairs;
			int masked;
			footer_pages(body[i], empty, &npairs, &masked);
			printf("# footer on 60 pages of %d words%s: %zu pairs, footer masked in %d pages\n", body[i],
			       empty ? " and a page of nothing else" : "", npairs, masked);
			CHECK(npairs == 0);
			CHECK(masked == 60 + empty);
		}
}

/* One 300-word story at the top of 40 pages, each adding 100-300 words of
 * its own below it, and the story alone: it sits at one distance from the
 * start of every page, like a header, but it is most of each page and much
 * longer than a template, so it is syndication, reported between every pair
 * (a QA pass found the header rule masking it). */
static void test_story_at_the_top_is_reuse(void)
{
	enum { PAGES = 40 };
	char *docs[PAGES + 1], story[8192], own[8192];
	random_words(story, sizeof story, 300);
	docs[0] = strdup(story);
	for (int i = 0; i < PAGES; i++) {
		random_words(own, sizeof own, 100 + (int)(next() % 201));
		size_t len = strlen(story) + strlen(own) + 4;
		docs[i + 1] = malloc(len);
		snprintf(docs[i + 1], len, "%s\n\n%s", story, own);
	}
	rp_reuse *r;
	rp_error e;
	CHECK(run(PAGES + 1, docs, &r) == 0);
	const rp_reuse_pair *pr;
	size_t k, npairs = 0;
	while (rp_reuse_next(r, &pr, &k, &e) == 0 && k) npairs += k;
	printf("# a story at the top of %d pages with their own text below: %zu pairs\n", PAGES, npairs);
	CHECK(npairs == (PAGES + 1) * PAGES / 2);
	rp_reuse_free(r);
	for (int i = 0; i <= PAGES; i++) free(docs[i]);
}

/* A post quoted by 45 replies, each quoting it somewhere in its own text
 * (not at a fixed place): the replies share nothing else, but the post is
 * mostly the quoted passage, so it is their source, not boilerplate. */
static void test_quoted_source_is_reuse(void)
{
	enum { REPLIES = 45 };
	char *docs[REPLIES + 1], quote[2048];
	random_words(quote, sizeof quote, 90);
	docs[0] = malloc(strlen(quote) + 32);
	sprintf(docs[0], "Original post.\n\n%s", quote);
	for (int i = 0; i < REPLIES; i++) {
		char before[4096], after[4096];
		random_words(before, sizeof before, 40 + (int)(next() % 200));
		random_words(after, sizeof after, 40 + (int)(next() % 200));
		size_t len = strlen(before) + strlen(quote) + strlen(after) + 8;
		docs[i + 1] = malloc(len);
		snprintf(docs[i + 1], len, "%s\n\n%s\n\n%s", before, quote, after);
	}
	rp_reuse *r;
	rp_error e;
	CHECK(run(REPLIES + 1, docs, &r) == 0);
	const rp_reuse_pair *pr;
	size_t k, from_source = 0, other = 0;
	while (rp_reuse_next(r, &pr, &k, &e) == 0 && k)
		for (size_t i = 0; i < k; i++) pr[i].a == 0 ? from_source++ : other++;
	printf("# a post quoted by %d replies: %zu pairs with it, %zu between replies\n", REPLIES, from_source, other);
	CHECK(from_source == REPLIES);
	rp_reuse_free(r);
	for (int i = 0; i <= REPLIES; i++) free(docs[i]);
}

/* The token file is made when first needed: with an unusable tmpdir, a run
 * held in memory succeeds; one that needs the file fails at rp_reuse_add,
 * saying why, and frees cleanly. */
static void test_token_file_when_needed(void)
{
	char *docs[2];
	docs[0] = strdup(art[10]);
	docs[1] = strdup(art[10]);
	size_t len[2] = {strlen(docs[0]), strlen(docs[1])};
	for (int where = 0; where < 2; where++) {
		rp_params p;
		rp_params_default(&p);
		p.tmpdir = "/nonexistent/reprint-test";
		rp_reuse_opts o;
		rp_reuse_opts_default(&o);
		rp_reuse *r;
		rp_error e = {0};
		CHECK(rp_reuse_new(&r, &p, &o, pool, &e) == 0);
		if (where) rp_reuse_set_memory(r, 0, 0);
		int rc = rp_reuse_add(r, 2, (const char *const *)docs, len, NULL, &e);
		if (!where) {
			CHECKF(rc == 0, "%s", e.message);
			CHECK(rp_reuse_finish(r, &e) == 0);
			const rp_reuse_pair *pr;
			size_t n;
			CHECK(rp_reuse_next(r, &pr, &n, &e) == 0 && n == 1);
		} else {
			CHECK(rc == RP_EIO);
			CHECKF(strstr(e.message, "cannot create a temporary file in /nonexistent/reprint-test"), "%s", e.message);
		}
		rp_reuse_free(r);
	}
	free(docs[0]);
	free(docs[1]);
}

static void test_excerpt_found(void)
{
	/* Article 150 holds the middle 60 words of article 160. */
	rp_tokens t = {0};
	rp_error e;
	rp_tokenize(art[160], artlen[160], 0, 0, &t, &e);
	size_t from = t.start[t.n / 3], to = t.end[t.n / 3 + 59];
	size_t n150 = artlen[150];
	char *docs[3];
	docs[0] = strdup(art[160]);
	docs[1] = malloc(n150 + (to - from) + 4);
	size_t half = n150 / 2;
	while (half < n150 && art[150][half] != ' ') half++;
	memcpy(docs[1], art[150], half);
	memcpy(docs[1] + half, " ", 1);
	memcpy(docs[1] + half + 1, art[160] + from, to - from);
	memcpy(docs[1] + half + 1 + (to - from), " ", 1);
	strcpy(docs[1] + half + 2 + (to - from), art[150] + half);
	docs[2] = strdup(art[170]);
	rp_reuse *r;
	CHECK(run(3, docs, &r) == 0);
	const rp_reuse_pair *pr;
	size_t n;
	CHECK(rp_reuse_next(r, &pr, &n, &e) == 0 && n == 1);
	if (n == 1) {
		CHECK(pr[0].a == 0 && pr[0].b == 1 && pr[0].npassages == 1);
		const rp_passage *p = &pr[0].passages[0];
		CHECKF(p->tokens >= 57 && p->tokens <= 63, "%u words", p->tokens);
		CHECK(labs((long)p->a_byte_start - (long)from) < 40 && labs((long)p->a_byte_end - (long)to) < 40);
		CHECK(labs((long)p->b_byte_start - (long)(half + 1)) < 40);
	}
	rp_reuse_free(r);
	rp_tokens_free(&t);
	for (int i = 0; i < 3; i++) free(docs[i]);
}


/* One reuse run over docs (template_df 3), in memory or read from the token
 * file: a checksum of everything it returns, or -1 on an error. */
static size_t nspans, npairs; /* of the last run */

static long long sweep_run(char **docs, size_t n, int where)
{
	nspans = npairs = 0;
	size_t len[8];
	for (size_t i = 0; i < n; i++) len[i] = strlen(docs[i]);
	rp_params p;
	rp_params_default(&p);
	rp_reuse_opts o;
	rp_reuse_opts_default(&o);
	o.template_df = 3;
	rp_error e;
	rp_reuse *r = NULL;
	long long sum = 0;
	int rc = rp_reuse_new(&r, &p, &o, pool, &e);
	if (!rc && where && where < 3) rp_reuse_set_memory(r, where == 1 ? 3000 : 0, 0);
	if (!rc) rp_reuse_set_keep(r, where == 3 ? 2 : 1);
	if (!rc) rc = rp_reuse_add(r, n, (const char *const *)docs, len, NULL, &e);
	if (!rc) rc = rp_reuse_finish(r, &e);
	const rp_reuse_pair *pr;
	size_t m;
	while (!rc && !(rc = rp_reuse_next(r, &pr, &m, &e)) && m)
		for (size_t i = 0; i < m; i++) {
			npairs++;
			sum = sum * 31 + (long long)(pr[i].a * 7 + pr[i].b) + (long long)(pr[i].jaccard * 1e6);
			for (size_t q = 0; q < pr[i].npassages; q++)
				sum = sum * 31 + (long long)(pr[i].passages[q].a_byte_start + 3 * pr[i].passages[q].b_byte_end);
		}
	for (size_t d = 0; d < n && !rc; d++) {
		rp_range *g;
		size_t ng;
		if (!(rc = rp_reuse_template_spans(r, d, &g, &ng, &e)))
			for (size_t q = 0; q < ng; q++) sum = sum * 31 + (long long)(g[q].start + g[q].end), nspans++;
		rp_free_ranges(g);
	}
	rp_reuse_free(r);
	if (rc && rc != RP_ENOMEM) return -2; /* only running out of memory may fail here */
	return rc ? -1 : sum;
}

/* Fail the 1st, 2nd, ... allocation of a reuse run (boilerplate, a shared
 * story, token records in memory, split, or in the file, texts or records kept) until one
 * completes: every failure is "out of memory" (never a crash or a leak),
 * and a run that completes gives the right answer. */
static void test_allocation_failures(void)
{
	char header[1024], *docs[6];
	make_words(header, sizeof header, 60, "The Sweep Gazette");
	for (int i = 0; i < 6; i++) {
		size_t n = strlen(header) + artlen[30 + i] + artlen[40] + 8;
		docs[i] = malloc(n);
		snprintf(docs[i], n, "%s\n\n%s\n\n%s", header, art[30 + i], i < 2 ? art[40] : "");
	}
	for (int where = 0; where < 4; where++) {
		long long want = sweep_run(docs, 6, where);
		CHECKF(want >= 0 && npairs == 1 && nspans == 6, "%zu pairs, %zu boilerplate spans", npairs, nspans);
		rp_alloc_set(&(rp_allocator){fail_malloc, fail_realloc, fail_free, NULL});
		long runs = 0, wrong = 0, bad = 0;
		for (long k = 0;; k++) {
			atomic_store(&countdown, k);
			atomic_store(&failures, 0);
			long long got = sweep_run(docs, 6, where);
			runs++;
			if (got == -2) bad++;
			else if (got >= 0 && got != want) wrong++;
			if (!atomic_load(&failures)) break;
		}
		atomic_store(&countdown, -1);
		rp_alloc_set(NULL);
		printf("# allocation failures, records %s: %ld runs, %ld other errors, %ld wrong answers\n",
		       where == 0 ? "in memory" : where == 1 ? "split" : where == 2 ? "in the file" : "kept at once", runs, bad, wrong);
		CHECK(bad == 0 && wrong == 0);
	}
	/* rp_compare (and so rp_align) too */
	rp_params p;
	rp_params_default(&p);
	rp_comparison want, got;
	rp_error e;
	CHECK(rp_compare(docs[0], strlen(docs[0]), docs[1], strlen(docs[1]), &p, 8, &want, &e) == 0);
	rp_alloc_set(&(rp_allocator){fail_malloc, fail_realloc, fail_free, NULL});
	long runs = 0, bad = 0;
	for (long k = 0;; k++) {
		atomic_store(&countdown, k);
		atomic_store(&failures, 0);
		int rc = rp_compare(docs[0], strlen(docs[0]), docs[1], strlen(docs[1]), &p, 8, &got, &e);
		runs++;
		if (rc ? rc != RP_ENOMEM : got.npassages != want.npassages || got.jaccard != want.jaccard
		                               || !same_passages(got.passages, want.passages, want.npassages))
			bad++;
		rp_comparison_free(&got);
		if (!atomic_load(&failures)) break;
	}
	atomic_store(&countdown, -1);
	rp_alloc_set(NULL);
	printf("# allocation failures, compare: %ld runs, %ld wrong\n", runs, bad);
	CHECK(bad == 0);
	rp_comparison_free(&want);
	for (int i = 0; i < 6; i++) free(docs[i]);
}

/* Runs of exactly min_words words planted between random texts, at random
 * places, for several min_words (the window w = min_words - ngram + 1 from
 * 1 up): every planted pair is a candidate (its one shared fingerprint has
 * a matching left or right context) and is found, and nothing else. */
static void test_exact_runs_found(void)
{
	enum { NDOC = 40, WORDS = 300 };
	static const int mins[] = {5, 6, 7, 12, 50, 51};
	for (size_t t = 0; t < sizeof mins / sizeof *mins; t++) {
		int m = mins[t];
		unsigned w[NDOC][WORDS];
		for (int d = 0; d < NDOC; d++)
			for (int i = 0; i < WORDS; i++) w[d][i] = (unsigned)(next() % 1000000);
		for (int d = 1; d < NDOC; d += 2) {
			int from = (int)(next() % (WORDS - m + 1)), to = (int)(next() % (WORDS - m + 1));
			for (int i = 0; i < m; i++) w[d][to + i] = w[d - 1][from + i];
		}
		char *docs[NDOC];
		size_t len[NDOC];
		for (int d = 0; d < NDOC; d++) {
			docs[d] = malloc(WORDS * 9 + 1);
			len[d] = 0;
			for (int i = 0; i < WORDS; i++) len[d] += (size_t)sprintf(docs[d] + len[d], "w%06u ", w[d][i]);
		}
		rp_params p;
		rp_params_default(&p);
		rp_reuse_opts o;
		rp_reuse_opts_default(&o);
		o.min_words = m;
		rp_error e;
		rp_reuse *r = NULL;
		CHECK(rp_reuse_new(&r, &p, &o, pool, &e) == 0);
		CHECK(rp_reuse_add(r, NDOC, (const char *const *)docs, len, NULL, &e) == 0);
		CHECK(rp_reuse_finish(r, &e) == 0);
		const rp_reuse_pair *pr;
		size_t n, found = 0, other = 0;
		while (rp_reuse_next(r, &pr, &n, &e) == 0 && n)
			for (size_t i = 0; i < n; i++) {
				if (pr[i].b == pr[i].a + 1 && pr[i].b % 2 && pr[i].npassages == 1 && pr[i].passages[0].tokens >= (uint32_t)m)
					found++;
				else other++;
			}
		CHECKF(found == NDOC / 2 && other == 0, "min_words %d: %zu of %d planted runs found, %zu other pairs", m, found,
		       NDOC / 2, other);
		rp_reuse_free(r);
		for (int d = 0; d < NDOC; d++) free(docs[d]);
	}
}

/* A run of 50 words whose one winnowing window has its minimum on a common
 * phrase (in more than max_df documents: boilerplate, masked) is still
 * found when the two documents share nothing else: the phrase's context
 * agrees in fewer than template_df documents. */
static void test_run_around_common_phrase(void)
{
	enum { M = 50, K = 5, OTHERS = 30 };
	char run[M * 8 + 1], phrase[K * 8 + 1];
	rp_params p;
	rp_params_default(&p);
	rp_tokens t = {0};
	uint64_t sh[M];
	for (;;) { /* a run whose minimum shingle is inside, so both halves seed the aligner */
		size_t len = 0;
		for (int i = 0; i < M; i++) len += (size_t)sprintf(run + len, "w%06u ", (unsigned)(next() % 1000000));
		CHECK(rp_tokenize(run, len, 0, p.seed, &t, NULL) == 0 && t.n == M);
		size_t ns = rp_shingles(t.hash, t.n, K, sh), min = 0;
		for (size_t i = 1; i < ns; i++)
			if (sh[i] <= sh[min]) min = i;
		if (min < 12 || min > 33) continue;
		memcpy(phrase, run + min * 8, K * 8);
		phrase[K * 8] = 0;
		break;
	}
	char *docs[2 + OTHERS];
	size_t len[2 + OTHERS];
	for (int d = 0; d < 2 + OTHERS; d++) docs[d] = malloc(220 * 8 + sizeof run);
	/* new flanks until the two documents with the run share no fingerprint
	 * but the phrase's (else another one would make them a candidate) */
	uint64_t fsh[2][260];
	rp_fingerprint fp[2][260];
	size_t nfp[2];
	for (int shared = 0; shared != 1;) {
		for (int d = 0; d < 2 + OTHERS; d++) {
			size_t n = 0;
			for (int i = 0; i < 100; i++) n += (size_t)sprintf(docs[d] + n, "w%06u ", (unsigned)(next() % 1000000));
			n += (size_t)sprintf(docs[d] + n, "%s", d < 2 ? run : phrase);
			for (int i = 0; i < 100; i++) n += (size_t)sprintf(docs[d] + n, "w%06u ", (unsigned)(next() % 1000000));
			len[d] = n;
		}
		for (int d = 0; d < 2; d++) {
			CHECK(rp_tokenize(docs[d], len[d], 0, p.seed, &t, NULL) == 0 && t.n == 200 + M);
			size_t ns = rp_shingles(t.hash, t.n, K, fsh[d]);
			nfp[d] = rp_winnow(fsh[d], ns, M - K + 1, fp[d]);
		}
		shared = 0;
		for (size_t i = 0; i < nfp[0]; i++)
			for (size_t j = 0; j < nfp[1]; j++) shared += fp[0][i].hash == fp[1][j].hash;
	}
	rp_tokens_free(&t);
	rp_reuse_opts o;
	rp_reuse_opts_default(&o);
	o.template_df = o.max_df = 20;
	rp_error e;
	rp_reuse *r = NULL;
	CHECK(rp_reuse_new(&r, &p, &o, pool, &e) == 0);
	CHECK(rp_reuse_add(r, 2 + OTHERS, (const char *const *)docs, len, NULL, &e) == 0);
	CHECK(rp_reuse_finish(r, &e) == 0);
	const rp_reuse_pair *pr;
	size_t n, found = 0, other = 0;
	while (rp_reuse_next(r, &pr, &n, &e) == 0 && n)
		for (size_t i = 0; i < n; i++) {
			if (pr[i].a == 0 && pr[i].b == 1 && pr[i].npassages == 1 && pr[i].passages[0].tokens >= M) found++;
			else other++;
		}
	CHECKF(found == 1 && other == 0, "%zu found, %zu other pairs, %zu boilerplate fingerprints", found, other,
	       rp_reuse_template_fingerprints(r));
	rp_reuse_free(r);
	for (int d = 0; d < 2 + OTHERS; d++) free(docs[d]);
}

/* The token-record budget is a quarter of the memory the process may use
 * (rp_memory_limit: tests/t_limits.c). */
static void test_memory_budget(void)
{
	uint64_t lim = rp_memory_limit();
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	CHECK(lim > 0 && lim <= (uint64_t)pages * (uint64_t)page);
	rp_params p;
	rp_params_default(&p);
	rp_reuse_opts o;
	rp_reuse_opts_default(&o);
	rp_reuse *r = NULL;
	rp_error e;
	CHECK(rp_reuse_new(&r, &p, &o, pool, &e) == 0);
	CHECK(rp_reuse_memory_budget(r) == lim / 4);
	rp_reuse_free(r);
}

int main(void)
{
	load_articles();
	pool = rp_pool_new(2);
	RUN(test_shared_template_is_not_reuse);
	RUN(test_syndicated_story_is_reuse);
	RUN(test_excerpt_found);
	RUN(test_footer_on_short_pages);
	RUN(test_story_at_the_top_is_reuse);
	RUN(test_quoted_source_is_reuse);
	RUN(test_token_file_when_needed);
	RUN(test_token_records_anywhere);
	RUN(test_spans_packed_and_wide);
	RUN(test_exact_runs_found);
	RUN(test_run_around_common_phrase);
	RUN(test_allocation_failures);
	RUN(test_memory_budget);
	for (int i = 0; i < NART; i++) free(art[i]);
	rp_pool_free(pool);
	TEST_END();
}
