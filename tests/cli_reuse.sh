#!/bin/sh
# End-to-end tests of `reprint compare`, `reprint reuse` and `reprint dedup --containment`.
. tests/lib.sh

# ---- compare ----
zcat "$DATA/bbc-news.jsonl.gz" | head -n 1 >"$T/one.jsonl"
$R compare --format jsonl "$T/one.jsonl" "$T/one.jsonl" --json >"$T/self"; expect_eq compare_self_exit $? 0
check compare_self_jaccard grep -q '"jaccard": 1, "containment": {"a_in_b": 1, "b_in_a": 1}' "$T/self"
check compare_self_one_passage grep -q '"passages": \[{"a": \[0, [0-9]*\], "b": \[0, [0-9]*\], "words": [0-9]*}\], "only_a": \[\], "only_b": \[\]' "$T/self"
printf 'Breaking news from our own site.\n\nThe committee met on Tuesday to discuss the new budget, which includes significant cuts to the transport department and a rise in spending on schools.\n' >"$T/a.txt"
printf 'The committee met on Tuesday\nto discuss the new budget, which includes \342\200\234significant\342\200\235 cuts to the transport department and a rise in spending on schools.\n\nShare this story.\n' >"$T/b.txt"
$R compare --json "$T/a.txt" "$T/b.txt" >"$T/ab"; expect_eq compare_exit $? 0
# offsets checked by hand: "The" at 34 to "schools" ending at 183 in A; 0..155 in B
check compare_passage_bytes grep -q '"passages": \[{"a": \[34, 183\], "b": \[0, 155\], "words": 25}\]' "$T/ab"
check compare_only_a grep -q '"only_a": \[\[0, 31\]\]' "$T/ab"
check compare_only_b grep -q '"only_b": \[\[158, 174\]\]' "$T/ab"
check compare_scores grep -q '"jaccard": 0.7, "containment": {"a_in_b": 0.777778, "b_in_a": 0.875}' "$T/ab"
$R compare "$T/a.txt" "$T/b.txt" --color never >"$T/ab.txt"
check compare_text_summary grep -q '^1 shared passage, 25 words:' "$T/ab.txt"
$R compare "$T/a.txt" "$T/b.txt" --html "$T/ab.html" >/dev/null
check compare_html grep -q '<a class="p p0" id="a1" href="#b1"' "$T/ab.html"
$R compare "$T/a.txt" >/dev/null 2>&1; expect_eq compare_one_input_exit $? 2
$R compare "$T/a.txt" "$T/missing.txt" >/dev/null 2>&1; expect_eq compare_missing_exit $? 1
$R compare --format jsonl --a-id nope "$T/one.jsonl" "$T/one.jsonl" >/dev/null 2>&1; expect_eq compare_no_id_exit $? 1

# ---- reuse ----
$R reuse -q "$DATA/bbc-news.jsonl.gz" -j1 -o "$T/r1" --clusters "$T/c1" --stats "$T/s1"; expect_eq reuse_exit $? 0
$R reuse -q "$DATA/bbc-news.jsonl.gz" -j2 -o "$T/r2" --clusters "$T/c2"
check reuse_j1_j2_same cmp -s "$T/r1" "$T/r2"
check reuse_clusters_same cmp -s "$T/c1" "$T/c2"
check reuse_exact_copy_pair grep -q '{"a": "business/007", "b": "business/253", "jaccard": 1.0000, "a_in_b": 1.0000, "b_in_a": 1.0000' "$T/r1"
check reuse_stats_read grep -q '"read": 2225, "errored": 0' "$T/s1"
check reuse_clusters_source grep -q '{"source": "business/007", "size": 2, "documents": \["business/007", "business/253"\]}' "$T/c1"
$R reuse -q --min-words 2 /dev/null >/dev/null 2>&1; expect_eq reuse_min_words_below_ngram_exit $? 2
printf '{"id": "x", "text": "fine"}\nnot json\n' >"$T/bad.jsonl"
$R reuse -q "$T/bad.jsonl" >/dev/null 2>&1; expect_eq reuse_bad_fail_exit $? 1
$R reuse -q --on-error skip "$T/bad.jsonl" >"$T/rb"; expect_eq reuse_bad_skip_exit $? 0
check reuse_bad_skip_reported grep -q '"error": "invalid JSON' "$T/rb"

# ---- --group-field and --date-field: 6 sites of 3 pages, each site's pages in
# its own 60-word template (3 pages: too few for the default rule), and one
# story on two sites, the later-numbered site dated first ----
awk 'BEGIN {
	srand(7)
	for (site = 0; site < 6; site++) {
		tpl = ""; for (i = 0; i < 60; i++) tpl = tpl " nav" int(rand() * 40)
		for (k = 0; k < 3; k++) {
			art = ""; for (i = 0; i < 200; i++) art = art " w" int(rand() * 100000)
			printf "{\"id\": \"s%d/%d\", \"site\": \"site%d\", \"date\": \"2005-0%d-1%d\", \"text\": \"%s\\n\\n%s\"}\n", site, k, site, site + 1, k, tpl, art
		}
	}
	story = ""; for (i = 0; i < 300; i++) story = story " s" int(rand() * 100000)
	printf "{\"id\": \"s0/story\", \"site\": \"site0\", \"date\": \"2005-09-01\", \"text\": \"x%s\"}\n", story
	printf "{\"id\": \"s5/story\", \"site\": \"site5\", \"date\": \"2005-08-01\", \"text\": \"y%s\"}\n", story
}' >"$T/sites.jsonl"
$R reuse -q "$T/sites.jsonl" >"$T/nogroup"
expect_eq reuse_site_templates_without_groups "$(wc -l <"$T/nogroup")" 19
$R reuse -q "$T/sites.jsonl" --group-field site --date-field date --clusters "$T/sc" --boilerplate "$T/sb" >"$T/group"
expect_eq reuse_group_field_only_the_story "$(wc -l <"$T/group")" 1
check reuse_group_field_story_pair grep -q '^{"a": "s0/story", "b": "s5/story", "jaccard": 0.99[0-9]*, "a_in_b": 0.99[0-9]*, "b_in_a": 0.99[0-9]*, "passages": \[{"a": \[2, [0-9]*\], "b": \[2, [0-9]*\], "words": 300}\]}' "$T/group"
check reuse_date_field_source grep -q '^{"source": "s5/story", "size": 2, "documents": \["s0/story", "s5/story"\]}$' "$T/sc"
expect_eq reuse_group_boilerplate_pages "$(grep -c '"boilerplate": \[\[1, 3[0-9][0-9]\]\]}' "$T/sb")" 18
$R reuse -q "$T/sites.jsonl" --clusters "$T/sc2" >/dev/null
check reuse_source_first_without_dates grep -q '^{"source": "s0/story"' "$T/sc2"

# --date-field values as instants: the source of two copies of one story is
# the earlier; dates that do not parse come after those that do (compared as
# strings), and no date (null, "", missing) last; ties go to input order.
story=$(awk 'BEGIN { for (i = 1; i <= 80; i++) printf " w%d", i * 7919 % 100003 }')
date_source() {
	printf '{"id": "d0", "date": %s, "text": "a%s"}\n{"id": "d1", "date": %s, "text": "b%s"}\n' "$1" "$story" "$2" "$story" >"$T/dates.jsonl"
	$R reuse -q "$T/dates.jsonl" --date-field date --clusters "$T/dates.c" -o /dev/null || echo "exit $?"
	sed -n 's/^{"source": "\([^"]*\)".*/\1/p' "$T/dates.c"
}
expect_eq date_offset "$(date_source '"2026-01-05T09:00:00Z"' '"2026-01-05T10:00:00+02:00"')" d1
expect_eq date_fraction "$(date_source '"2026-01-05T09:00:00.5Z"' '"2026-01-05T09:00:00Z"')" d1
expect_eq date_null_undated "$(date_source null '"2026-01-05"')" d1
expect_eq date_empty_undated "$(date_source '""' '"2026-01-05"')" d1
expect_eq date_negative_offset "$(date_source '"2026-01-05"' '"2026-01-04T23:59:59-00:30"')" d0
expect_eq date_space_lowercase_hhmm "$(date_source '"2026-01-05 09:00:00z"' '"2026-01-05t08:00+0000"')" d1
expect_eq date_epoch_seconds "$(date_source 1767603600 '"2026-01-05T08:59:59Z"')" d1
expect_eq date_epoch_seconds_2 "$(date_source 1767603599.5 '"2026-01-05T09:00:00Z"')" d0
expect_eq date_same_instant_input_order "$(date_source '"2026-01-05T10:00:00+01:00"' '"2026-01-05T09:00:00Z"')" d0
expect_eq date_unparsed_after_parsed "$(date_source '"yesterday"' '"2026-01-05"')" d1
expect_eq date_invalid_day_unparsed "$(date_source '"2026-02-30"' '"2026-03-01"')" d1
expect_eq date_unparsed_as_strings "$(date_source '"b-day"' '"a-day"')" d1
expect_eq date_unparsed_before_undated "$(date_source null '"someday"')" d1
printf '{"id": "d0", "text": "a%s"}\n{"id": "d1", "date": "2026-01-05", "text": "b%s"}\n' "$story" "$story" >"$T/dates.jsonl"
$R reuse -q "$T/dates.jsonl" --date-field date --clusters "$T/dates.c" -o /dev/null
check date_missing_undated grep -q '^{"source": "d1"' "$T/dates.c"

# The man page documents --group-field and --date-field in the words of `reuse --help`.
$R reuse --help >"$T/rhelp"
sed 's/\\-/-/g; s/\\f[BRI]//g' docs/reprint.1 >"$T/rman"
for o in group-field date-field; do
	h=$(awk -v o="--$o" '$1 == o { on = 1; $1 = ""; $2 = ""; print; next } on && /^ +-/ { exit } on { print }' "$T/rhelp" | tr '\n' ' ' | tr -s ' ' | sed 's/^ //; s/ $//')
	m=$(awk -v o="--$o F" '$0 == o { on = 1; next } on && /^\./ { exit } on { print }' "$T/rman" | tr '\n' ' ' | tr -s ' ' | sed 's/^ //; s/ $//')
	check "man_documents_$o" test -n "$h" -a "$h" = "$m"
done

# An unusable TMPDIR does not matter while the token streams fit in memory:
# the token file is made only when first needed.
TMPDIR=/nonexistent/dir $R reuse -q "$DATA/bbc-news.jsonl.gz" -o "$T/rtmp"; expect_eq no_tmpdir_in_memory_exit $? 0
check no_tmpdir_in_memory_same_pairs cmp -s "$T/r1" "$T/rtmp"
TMPDIR=/nonexistent/dir $R reuse -q --memory 0 "$DATA/bbc-news.jsonl.gz" -o "$T/rtmp0" 2>"$T/rtmp0.err"; expect_eq no_tmpdir_needed_exit $? 1
check no_tmpdir_needed_message grep -q 'cannot create a temporary file in /nonexistent/dir' "$T/rtmp0.err"
# Singular for one in the summary (and in compare's page).
printf '{"id": "d0", "text": "a%s"}\n{"id": "d1", "text": "b%s"}\n' "$story" "$story" >"$T/one_pair.jsonl"
$R reuse "$T/one_pair.jsonl" -o /dev/null 2>"$T/one_pair.err"
check summary_singular grep -q '; 1 pair shares passages of 50+ words (1 candidate), 1 group;' "$T/one_pair.err"
check compare_html_singular grep -q '<span>1 shared passage</span>' "$T/ab.html"

# ---- regressions ----
# A template's mask must not stretch over a true copy that also holds the
# template phrase (input order must not matter either).
S='The company said quarterly profits rose sharply in the three months to December because of strong sales of its new phones in Asia and Europe'
{
	printf '{"id": "A", "text": "Alpha story begins here with some words. %s. Then alpha goes on about other things entirely."}\n' "$S"
	printf '{"id": "B", "text": "Beta report opens differently today. %s. Beta closes with a note on weather."}\n' "$S"
	for f in 'Cats sleep a lot and dream of fish' 'Rain fell on the quiet northern town' \
	         'Engineers built a bridge over the river' 'The orchestra played a new symphony tonight'; do
		printf '{"id": "U%s", "text": "%s while inflation eased in the three months to December said officials. %s again."}\n' "${#f}" "$f" "$f"
	done
} >"$T/tpl.jsonl"
(tail -n 4 "$T/tpl.jsonl"; head -n 2 "$T/tpl.jsonl") >"$T/tpl2.jsonl"
$R reuse -q --min-words 8 --template-df 4 "$T/tpl.jsonl" >"$T/tpl.out"
$R reuse -q --min-words 8 --template-df 4 "$T/tpl2.jsonl" >"$T/tpl2.out"
check template_mask_not_over_copy grep -q '^{"a": "A", "b": "B", .*"passages": \[{"a": \[41, 181\], "b": \[37, 177\], "words": 25}\]}$' "$T/tpl.out"
check template_mask_order_free grep -q '"a": \[41, 181\], "b": \[37, 177\], "words": 25' "$T/tpl2.out"
# Byte-identical BBC articles are reported (politics/218 and politics/253 were masked whole).
$R reuse -q "$DATA/bbc-news.jsonl.gz" -o "$T/bbcr"
check identical_articles_reported grep -q '^{"a": "politics/218", "b": "politics/253", "jaccard": 1.0000' "$T/bbcr"
check identical_articles_reported_2 grep -q '^{"a": "tech/090", "b": "tech/312", "jaccard": 1.0000' "$T/bbcr"
# Alignment never pairs different text after a spurious repeat of a 5-gram.
printf '%s' 'In 2003 crop production totalled 11 million tonnes said the joint report from the Food and Agriculture Organisation. Unrelated words fill this middle part of the article so the two sentences are far apart in it and nothing else is shared here at all. The Food and Agriculture Organisation recommends that the food assistance is bought locally.' >"$T/fa.txt"
printf '%s' 'In 2003 crop production totalled 11 million tonnes said the joint report from the Food and Agriculture Organisation. Something else in between here. The Food and Agriculture Organisation recommends that the food assistance is bought locally.' >"$T/fb.txt"
$R compare --json --min-words 8 "$T/fa.txt" "$T/fb.txt" >"$T/fab"
check compare_no_cross_alignment grep -q '"passages": \[{"a": \[0, 115\], "b": \[0, 115\], "words": 18}, {"a": \[251, 342\], "b": \[149, 240\], "words": 13}\]' "$T/fab"
# Output to a symbolic link writes through it and keeps the link.
: >"$T/real.json"; ln -s "$T/real.json" "$T/link.json"
$R dedup -q "$T/one.jsonl" --stats "$T/link.json" >/dev/null
check output_symlink_kept test -L "$T/link.json"
check output_symlink_written grep -q '"read": 1' "$T/real.json"

# The token-record budget is a quarter of the memory the process may use: in
# a memory cgroup of 2 GiB (v1 here; v2 where its memory controller can be
# delegated), 512 MB, whatever the machine has.
MB=$(sed -n 's/.*"memory_budget_mb": \([0-9.]*\).*/\1/p' "$T/s1")
PHYS=$(awk '/^MemTotal:/ { printf "%.1f", $2 / 1024 / 4 }' /proc/meminfo)
check budget_quarter_of_memory awk -v a="$MB" -v b="$PHYS" 'BEGIN { exit !(a > 0 && a <= b + 0.1) }'
# --memory sets the budget: every token stream in the token file (0), or some
# (1 MB), the same pairs; a size that is not one is a usage error.
$R reuse -q --memory 0 "$DATA/bbc-news.jsonl.gz" -o "$T/rm0" --stats "$T/sm0"; expect_eq memory_0_exit $? 0
check memory_0_same_pairs cmp -s "$T/r1" "$T/rm0"
check memory_0_budget grep -q '"memory_budget_mb": 0.0,' "$T/sm0"
$R reuse -q --memory 1 "$DATA/bbc-news.jsonl.gz" -o "$T/rm1"
check memory_1mb_same_pairs cmp -s "$T/r1" "$T/rm1"
$R reuse -q --memory 64K -j1 "$DATA/bbc-news.jsonl.gz" -o "$T/rm64"
check memory_64k_same_pairs cmp -s "$T/r1" "$T/rm64"
$R reuse -q --memory 2T "$DATA/bbc-news.jsonl.gz" >/dev/null 2>"$T/rmbad"; expect_eq memory_bad_exit $? 2
check memory_bad_message grep -q -- "--memory: expected a size like 256 (MB), 64K or 2G, got '2T'" "$T/rmbad"
if new_cgroup memory memory.limit_in_bytes 2147483648 memory.max 2147483648; then
	in_cgroup $R reuse -q "$DATA/bbc-news.jsonl.gz" -o "$T/rcg" --stats "$T/scg"; rc=$?
	drop_cgroup
	if [ "$rc" = 77 ]; then echo "note: skipped the memory cgroup case: could not join a memory cgroup"
	else
		expect_eq cgroup_reuse_exit "$rc" 0
		check cgroup_budget_512mb grep -q '"memory_budget_mb": 512.0,' "$T/scg"
		check cgroup_same_pairs cmp -s "$T/r1" "$T/rcg"
	fi
else
	echo "note: skipped the memory cgroup case: cannot make a memory cgroup here (not root, or no writable v1/v2 memory controller)"
fi

# ---- dedup --containment: the partial Pride and Prejudice (Jaccard 0.08) ----
$R dedup -q --containment 0.8 "$DATA/gutenberg.jsonl.gz" >"$T/g"
check containment_partial_removed grep -q '{"id": "pg42671/partial", "cluster": "pg1342", "duplicate": true, "similarity": 0.0[0-9]*, "containment": 0.9' "$T/g"
check containment_other_book_kept grep -q '{"id": "pg84", "cluster": "pg84", "duplicate": false' "$T/g"
$R dedup -q "$DATA/gutenberg.jsonl.gz" >"$T/g0"
check without_containment_partial_kept grep -q '{"id": "pg42671/partial", "cluster": "pg42671/partial", "duplicate": false' "$T/g0"
# ---- a --group-field or --date-field that no record has is most likely misspelt: a warning ----
printf '{"id": "a", "site": "x", "text": "one two three"}\n{"id": "b", "site": "y", "text": "four five six"}\n' >"$T/gf.jsonl"
$R reuse "$T/gf.jsonl" --group-field sitee -o /dev/null 2>"$T/gf.err"; expect_eq group_field_missing_exit $? 0
check group_field_missing_warned grep -q 'warning: --group-field "sitee" has a value in none of the 2 records' "$T/gf.err"
$R reuse "$T/gf.jsonl" --group-field site -o /dev/null 2>"$T/gf2.err"
check group_field_present_no_warning sh -c "! grep -q warning '$T/gf2.err'"
# ---- an output that is an input, or two outputs on one path, are refused ----
cp "$T/gf.jsonl" "$T/gf.keep"
$R reuse -q "$T/gf.jsonl" -o "$T/gf.jsonl" 2>/dev/null; expect_eq reuse_output_is_input_exit $? 2
check reuse_output_is_input_untouched cmp -s "$T/gf.jsonl" "$T/gf.keep"
$R reuse -q "$T/gf.jsonl" -o "$T/gf.out" --clusters "$T/gf.out" 2>/dev/null; expect_eq reuse_two_outputs_exit $? 2
check reuse_two_outputs_nothing_left sh -c "! ls '$T'/gf.out* >/dev/null 2>&1"
cli_end
