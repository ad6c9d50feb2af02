/* compare.c — `reprint compare A B`: one pair of documents, explained.
 * Scores (Jaccard, containment both ways), the shared passages as byte
 * ranges of the original texts, and each side's unique parts: as a readable
 * summary (coloured on a terminal), one JSON object (--json), or a
 * self-contained side-by-side HTML page (--html FILE). */
#include <ctype.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"

typedef struct {
	char *id, *text;
	size_t id_len, len;
	int id_is_number;
} document;

static void help(void)
{
	puts("Usage: reprint compare [OPTION]... A B\n"
	     "Compare two documents: Jaccard of their shingles, how much of each is contained\n"
	     "in the other, the passages they share (in any order, as byte ranges of the\n"
	     "original texts) and what each has that the other lacks.  A and B are files (or -\n"
	     "for standard input); with --format jsonl a record is picked from each.  A passage\n"
	     "is exact runs joined across gaps of g words (edits) where g <= 8 and g is at most\n"
	     "half the words matched on each side of the gap: it is mostly shared text.  What\n"
	     "each side has that the other lacks (\"only in A/B\", only_a/only_b) holds its words\n"
	     "in no passage and the words inside a passage that a word-by-word diff leaves\n"
	     "unpaired (an edit the passage spans).  Documents with no words match only if\n"
	     "their bytes are identical; a document shorter than --min-words held whole by\n"
	     "the other is one passage.  Only one of A and B may be -, neither a directory.\n\n"
	     "  -f, --format FMT     file (default: the whole file is the document), jsonl, lines\n"
	     "      --a-id ID        with jsonl/lines: the record of A with this id (default: the first)\n"
	     "      --b-id ID        the same for B\n"
	     "      --text-field F   JSON field with the text (default text)\n"
	     "      --id-field F     JSON field with the id (default id)\n"
	     "  -m, --min-words N    shortest passage reported, in words (default 8; at least -n)\n"
	     "  -n, --ngram N        shingle length for the scores (default 5)\n"
	     "      --json           print one JSON object\n"
	     "      --html FILE      write a side-by-side page with the passages highlighted\n"
	     "      --color WHEN     auto (default), always or never\n"
	     "  -h, --help           this help");
}

/* Read the document named by id (or the first) from path. */
static int load(const char *path, const rp_reader_opts *ro, const char *want, document *d)
{
	rp_reader *r;
	rp_error err;
	const char *in[] = {path};
	if (rp_reader_new(&r, in, 1, ro, &err)) { cli_rp_error(&err); return -1; }
	rp_record rec;
	int rc, found = 0;
	while ((rc = rp_reader_next(r, &rec, &err)) > 0) {
		if (want && (rec.id_len != strlen(want) || memcmp(rec.id, want, rec.id_len))) continue;
		if (rec.bad) { cli_rp_error(&err); rp_reader_free(r); return -1; }
		d->text = malloc(rec.text_len + 1);
		d->id = malloc(rec.id_len + 1);
		if (!d->text || !d->id) { cli_error("out of memory"); rp_reader_free(r); return -1; }
		memcpy(d->text, rec.text, rec.text_len);
		memcpy(d->id, rec.id, rec.id_len);
		d->len = rec.text_len;
		d->id_len = rec.id_len;
		d->id_is_number = rec.id_is_number;
		found = 1;
		break;
	}
	if (rc < 0) cli_rp_error(&err);
	rp_reader_free(r);
	if (rc < 0) return -1;
	if (!found) {
		cli_error("%s: %s", path, want ? "no record with that id" : "no record");
		return -1;
	}
	return 0;
}

static void json_id(FILE *f, const document *d)
{
	if (d->id_is_number) fwrite(d->id, 1, d->id_len, f);
	else json_string(f, d->id, d->id_len);
}

static void print_ranges(FILE *f, const rp_range *r, size_t n)
{
	fputc('[', f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s[%llu, %llu]", i ? ", " : "", (unsigned long long)r[i].start, (unsigned long long)r[i].end);
	fputc(']', f);
}

static void print_json(const document *a, const document *b, const rp_comparison *c)
{
	printf("{\"a\": {\"id\": ");
	json_id(stdout, a);
	printf(", \"bytes\": %zu, \"words\": %zu}, \"b\": {\"id\": ", a->len, c->a_words);
	json_id(stdout, b);
	printf(", \"bytes\": %zu, \"words\": %zu}, \"jaccard\": %.6g, \"containment\": {\"a_in_b\": %.6g, \"b_in_a\": %.6g}, "
	       "\"passages\": [", b->len, c->b_words, c->jaccard, c->a_in_b, c->b_in_a);
	for (size_t i = 0; i < c->npassages; i++) {
		const rp_passage *p = &c->passages[i];
		printf("%s{\"a\": [%llu, %llu], \"b\": [%llu, %llu], \"words\": %u}", i ? ", " : "",
		       (unsigned long long)p->a_byte_start, (unsigned long long)p->a_byte_end,
		       (unsigned long long)p->b_byte_start, (unsigned long long)p->b_byte_end, p->tokens);
	}
	printf("], \"only_a\": ");
	print_ranges(stdout, c->only_a, c->nonly_a);
	printf(", \"only_b\": ");
	print_ranges(stdout, c->only_b, c->nonly_b);
	printf("}\n");
}

/* Is s[i] a control character for a terminal: C0, DEL, or a C1 control
 * (U+0080..U+009F, C2 80..C2 9F in UTF-8)?  Returns its length, else 0. */
static size_t control_at(const char *s, size_t n, size_t i)
{
	unsigned char ch = (unsigned char)s[i];
	if (ch < 0x20 || ch == 0x7f) return 1;
	if (ch == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 && (unsigned char)s[i + 1] <= 0x9f) return 2;
	return 0;
}

/* Print s with control characters escaped (\x1b, \u009b), so that text
 * from a document never reaches the terminal as an escape sequence. */
static void print_escaped(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t c = control_at(s, n, i);
		if (c == 1) printf("\\x%02x", (unsigned char)s[i]);
		else if (c == 2) printf("\\u%04x", (unsigned char)s[i + 1]), i++;
		else putchar(s[i]);
	}
}

/* Print up to max bytes of s on one line, whitespace collapsed, control
 * characters escaped, cut on a UTF-8 boundary. */
static void snippet(const char *s, size_t n, size_t max)
{
	size_t out = 0;
	int space = 0;
	for (size_t i = 0; i < n && out < max; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') { space = 1; continue; }
		if (space && out) putchar(' '), out++;
		space = 0;
		size_t c = control_at(s, n, i);
		if (c) {
			if (out + 6 > max) break;
			print_escaped(s + i, c);
			out += c == 1 ? 4 : 6;
			i += c - 1;
			continue;
		}
		if (out + 4 >= max && (ch & 0xc0) != 0x80 && ch >= 0x80) break;
		putchar(ch);
		out++;
	}
}

static void print_text(const document *a, const document *b, const rp_comparison *c, int color)
{
	const char *g = color ? "\033[32m" : "", *y = color ? "\033[33m" : "", *bold = color ? "\033[1m" : "",
	           *off = color ? "\033[0m" : "";
	printf("%sA%s ", bold, off);
	print_escaped(a->id, a->id_len);
	printf(": %zu bytes, %zu words\n", a->len, c->a_words);
	printf("%sB%s ", bold, off);
	print_escaped(b->id, b->id_len);
	printf(": %zu bytes, %zu words\n", b->len, c->b_words);
	printf("Jaccard %.3f   A in B %.3f   B in A %.3f\n\n", c->jaccard, c->a_in_b, c->b_in_a);
	size_t shared = 0;
	for (size_t i = 0; i < c->npassages; i++) shared += c->passages[i].tokens;
	printf("%s%zu shared passage%s%s, %zu words:\n", g, c->npassages, c->npassages == 1 ? "" : "s", off, shared);
	for (size_t i = 0; i < c->npassages; i++) {
		const rp_passage *p = &c->passages[i];
		printf("  %s%3zu%s  A %llu-%llu  B %llu-%llu  %u words  \"", g, i + 1, off,
		       (unsigned long long)p->a_byte_start, (unsigned long long)p->a_byte_end,
		       (unsigned long long)p->b_byte_start, (unsigned long long)p->b_byte_end, p->tokens);
		snippet(a->text + p->a_byte_start, p->a_byte_end - p->a_byte_start, 60);
		printf("\"\n");
	}
	const rp_range *only[2] = {c->only_a, c->only_b};
	size_t nonly[2] = {c->nonly_a, c->nonly_b};
	const document *doc[2] = {a, b};
	for (int s = 0; s < 2; s++) {
		printf("\n%sOnly in %c%s: %zu part%s\n", y, "AB"[s], off, nonly[s], nonly[s] == 1 ? "" : "s");
		for (size_t i = 0; i < nonly[s]; i++) {
			printf("  %llu-%llu  \"", (unsigned long long)only[s][i].start, (unsigned long long)only[s][i].end);
			snippet(doc[s]->text + only[s][i].start, only[s][i].end - only[s][i].start, 70);
			printf("\"\n");
		}
	}
}

static void html_escape(FILE *f, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(s[i], f);
		}
	}
}

/* Text in no passage: marked as unique when it holds a word (punctuation and
 * blanks between passages are not). */
static void html_gap(FILE *f, const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && !isalnum((unsigned char)s[i]) && (unsigned char)s[i] < 0x80) i++;
	if (i == n) { html_escape(f, s, n); return; }
	fputs("<span class=\"u\" title=\"only on this side\">", f);
	html_escape(f, s, n);
	fputs("</span>", f);
}

/* A passage's text, its parts that the other side lacks (an edit inside
 * it: only ranges within [s, e)) marked as unique. */
static void html_passage(FILE *f, const document *d, uint64_t s, uint64_t e, const rp_range *only, size_t nonly)
{
	uint64_t at = s;
	for (size_t i = 0; i < nonly; i++) {
		if (only[i].end <= at || only[i].start >= e) continue;
		uint64_t us = only[i].start > at ? only[i].start : at, ue = only[i].end < e ? only[i].end : e;
		html_escape(f, d->text + at, us - at);
		fputs("<span class=\"u\" title=\"only on this side\">", f);
		html_escape(f, d->text + us, ue - us);
		fputs("</span>", f);
		at = ue;
	}
	html_escape(f, d->text + at, e - at);
}

/* One side: the text with passages as links to their twin and unique parts marked. */
static void html_side(FILE *f, char side, const document *d, const rp_comparison *c)
{
	const rp_range *only = side == 'a' ? c->only_a : c->only_b;
	size_t nonly = side == 'a' ? c->nonly_a : c->nonly_b;
	char other = side == 'a' ? 'b' : 'a';
	/* Passages sorted by this side's offset. */
	size_t n = c->npassages, *order = malloc((n ? n : 1) * sizeof *order);
	if (!order) return;
	for (size_t i = 0; i < n; i++) order[i] = i;
	for (size_t i = 1; i < n; i++) /* insertion sort: passages are few */
		for (size_t j = i; j > 0; j--) {
			const rp_passage *x = &c->passages[order[j - 1]], *y = &c->passages[order[j]];
			uint64_t kx = side == 'a' ? x->a_byte_start : x->b_byte_start;
			uint64_t ky = side == 'a' ? y->a_byte_start : y->b_byte_start;
			if (kx <= ky) break;
			size_t t = order[j]; order[j] = order[j - 1]; order[j - 1] = t;
		}
	fprintf(f, "<div class=\"side\"><h2>%c: ", side - 32);
	html_escape(f, d->id, d->id_len);
	fprintf(f, "</h2><pre>");
	uint64_t at = 0;
	for (size_t k = 0; k < n; k++) {
		const rp_passage *p = &c->passages[order[k]];
		uint64_t s = side == 'a' ? p->a_byte_start : p->b_byte_start, e = side == 'a' ? p->a_byte_end : p->b_byte_end;
		if (s < at) continue;
		html_gap(f, d->text + at, s - at);
		fprintf(f, "<a class=\"p p%zu\" id=\"%c%zu\" href=\"#%c%zu\" title=\"passage %zu, %u words\">", order[k] % 6,
		        side, order[k] + 1, other, order[k] + 1, order[k] + 1, p->tokens);
		html_passage(f, d, s, e, only, nonly);
		fputs("</a>", f);
		at = e;
	}
	html_gap(f, d->text + at, d->len - at);
	fputs("</pre></div>\n", f);
	free(order);
}

static int write_html(const char *path, const document *a, const document *b, const rp_comparison *c)
{
	out_file o;
	if (out_open(&o, path)) return -1;
	FILE *f = o.f;
	fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>reprint compare</title><style>\n"
	      "body{font-family:sans-serif;margin:1em}pre{white-space:pre-wrap;font-family:serif;font-size:15px;"
	      "background:#fff8f0;padding:.5em}\n.sides{display:flex;gap:1em}.side{flex:1;min-width:0}\n"
	      "a.p{color:inherit;text-decoration:none}a.p:target{outline:2px solid #c00}\n"
	      ".p0{background:#cfe8ff}.p1{background:#d8f5c8}.p2{background:#ffe3b8}.p3{background:#ead6ff}"
	      ".p4{background:#c9f1ec}.p5{background:#fbd3e4}\n.u{color:#a00;text-decoration:underline dotted}\n"
	      ".scores span{margin-right:2em}\n"
	      "</style></head><body>\n<h1>reprint compare</h1>\n<p class=\"scores\">", f);
	fprintf(f, "<span>Jaccard <b>%.3f</b></span><span>A in B <b>%.3f</b></span><span>B in A <b>%.3f</b></span>"
	        "<span>%zu shared passage%s</span></p>\n<p>Highlighted text is shared (click to jump to the other side); "
	        "red dotted text is only on its side.</p>\n<div class=\"sides\">\n",
	        c->jaccard, c->a_in_b, c->b_in_a, c->npassages, c->npassages == 1 ? "" : "s");
	html_side(f, 'a', a, c);
	html_side(f, 'b', b, c);
	fputs("</div></body></html>\n", f);
	return out_commit(&o);
}

int cmd_compare(int argc, char **argv)
{
	static const struct option opts[] = {
		{"format", required_argument, 0, 'f'},  {"a-id", required_argument, 0, 'A'},
		{"b-id", required_argument, 0, 'B'},    {"text-field", required_argument, 0, 'T'},
		{"id-field", required_argument, 0, 'I'}, {"min-words", required_argument, 0, 'm'},
		{"ngram", required_argument, 0, 'n'},   {"json", no_argument, 0, 'J'},
		{"html", required_argument, 0, 'H'},    {"color", required_argument, 0, 'C'},
		{"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
	rp_reader_opts ro = {RP_FORMAT_FILE, "text", "id", (size_t)1 << 30}; /* two named files: up to 1 GiB each */
	rp_params p;
	rp_params_default(&p);
	const char *a_id = NULL, *b_id = NULL, *html = NULL;
	int json = 0, min_words = 8, color = -1, c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:m:n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (!strcmp(optarg, "file")) ro.format = RP_FORMAT_FILE;
			else if (!strcmp(optarg, "jsonl")) ro.format = RP_FORMAT_JSONL;
			else if (!strcmp(optarg, "lines")) ro.format = RP_FORMAT_LINES;
			else return cli_usage("compare ", "--format: expected file, jsonl or lines, got '%s'", optarg);
			break;
		case 'A': a_id = optarg; break;
		case 'B': b_id = optarg; break;
		case 'T': ro.text_field = optarg; break;
		case 'I': ro.id_field = optarg; break;
		case 'm': if (parse_int("compare ", "--min-words", optarg, 1, 1000000, &min_words)) return EXIT_USAGE; break;
		case 'n': if (parse_int("compare ", "--ngram", optarg, 1, 64, &p.ngram)) return EXIT_USAGE; break;
		case 'J': json = 1; break;
		case 'H': html = optarg; break;
		case 'C':
			if (!strcmp(optarg, "always")) color = 1;
			else if (!strcmp(optarg, "never")) color = 0;
			else if (!strcmp(optarg, "auto")) color = -1;
			else return cli_usage("compare ", "--color: expected auto, always or never, got '%s'", optarg);
			break;
		case 'h': help(); return EXIT_OK;
		default: return cli_usage("compare ", "bad option");
		}
	}
	if (argc - optind != 2) return cli_usage("compare ", "expected two inputs, A and B");
	if (min_words < p.ngram)
		return cli_usage("compare ", "--min-words (%d) must be at least the n-gram length (%d)", min_words, p.ngram);
	if (!strcmp(argv[optind], "-") && !strcmp(argv[optind + 1], "-"))
		return cli_usage("compare ", "A and B cannot both be standard input (-)");
	for (int i = optind; i < optind + 2; i++) {
		struct stat st;
		if (strcmp(argv[i], "-") && !stat(argv[i], &st) && S_ISDIR(st.st_mode))
			return cli_usage("compare ", "%s is a directory: A and B must be files", argv[i]);
	}
	size_t ninputs;
	input_args(optind + 2, argv, optind, &ninputs); /* --html may not overwrite A or B */
	if ((a_id || b_id) && ro.format == RP_FORMAT_FILE)
		return cli_usage("compare ", "--a-id and --b-id need --format jsonl or lines");
	document a = {0}, b = {0};
	rp_comparison cmp = {0};
	rp_error err;
	int status = EXIT_DATA;
	if (load(argv[optind], &ro, a_id, &a) || load(argv[optind + 1], &ro, b_id, &b)) goto done;
	if (rp_compare(a.text, a.len, b.text, b.len, &p, min_words, &cmp, &err)) { cli_rp_error(&err); goto done; }
	if (html && write_html(html, &a, &b, &cmp)) goto done;
	if (json) print_json(&a, &b, &cmp);
	else print_text(&a, &b, &cmp, color < 0 ? isatty(1) : color);
	if (fflush(stdout)) { cli_error("write error on standard output"); goto done; }
	status = EXIT_OK;
done:
	rp_comparison_free(&cmp);
	free(a.text); free(a.id); free(b.text); free(b.id);
	return status;
}
