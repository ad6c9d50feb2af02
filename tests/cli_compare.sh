#!/bin/sh
# End-to-end tests of `reprint compare`: edits inside a passage shown as not
# shared, refused arguments, scores and lists that agree, escaped output.
. tests/lib.sh

# ---- an edit inside a passage: one passage, the edit only on its side ----
S='The minister told the inquiry on Tuesday that he had read the report and that he %s known about the payments to the contractor, according to a transcript released by the committee last night.'
printf "$S" had >"$T/n_a.txt"
printf "$S" 'had never' >"$T/n_b.txt"
$R compare --color never "$T/n_a.txt" "$T/n_b.txt" >"$T/n.txt"; expect_eq edit_exit $? 0
check edit_one_passage grep -q '^1 shared passage, 34 words' "$T/n.txt"
check edit_only_a_none grep -q '^Only in A: 0 parts' "$T/n.txt"
check edit_only_b_never grep -q '^  85-90  "never"$' "$T/n.txt"
$R compare --json "$T/n_a.txt" "$T/n_b.txt" >"$T/n.json"
check edit_json grep -q '"passages": \[{"a": \[0, 191\], "b": \[0, 197\], "words": 34}\], "only_a": \[\], "only_b": \[\[85, 90\]\]}$' "$T/n.json"
$R compare --html "$T/n.html" "$T/n_a.txt" "$T/n_b.txt" >/dev/null
check edit_html_not_shared grep -q 'had <span class="u" title="only on this side">never</span> known' "$T/n.html"

# ---- density: snippets of 5 shared words every 12 are no passage ----
awk 'BEGIN { srand(3); for (i = 0; i < 144; i++) { w = "w" int(rand() * 20000); a = a " " w; b = b " " (i % 12 < 5 ? w : "v" int(rand() * 20000)) } print a >"'"$T"'/sp_a.txt"; print b >"'"$T"'/sp_b.txt" }'
$R compare --json "$T/sp_a.txt" "$T/sp_b.txt" >"$T/sp.json"
check sparse_no_passage grep -q '"passages": \[\]' "$T/sp.json"
$R compare --json -m 5 "$T/sp_a.txt" "$T/sp_b.txt" >"$T/sp5.json"
expect_eq sparse_snippets_m5 "$(grep -o '"words": 5}' "$T/sp5.json" | wc -l)" 12
{ printf '{"id": "a", "text": "%s"}\n' "$(cat "$T/sp_a.txt")"; printf '{"id": "b", "text": "%s"}\n' "$(cat "$T/sp_b.txt")"; } >"$T/sp.jsonl"
$R reuse -q --min-words 8 "$T/sp.jsonl" >"$T/sp.reuse"
expect_eq sparse_reuse_no_pair "$(wc -l <"$T/sp.reuse")" 0

# ---- refused arguments: usage errors ----
echo x | $R compare - - >/dev/null 2>"$T/err"; expect_eq stdin_twice_exit $? 2
check stdin_twice_message grep -q 'cannot both be standard input' "$T/err"
$R compare -m 3 "$T/n_a.txt" "$T/n_b.txt" >/dev/null 2>"$T/err"; expect_eq min_words_below_ngram_exit $? 2
check min_words_below_ngram_message grep -q 'min-words (3) must be at least the n-gram length (5)' "$T/err"
$R compare -m 3 -n 3 --json "$T/n_a.txt" "$T/n_b.txt" >/dev/null; expect_eq min_words_3_ngram_3 $? 0
mkdir "$T/dir"; cp "$T/n_a.txt" "$T/dir/"
$R compare "$T/dir" "$T/n_b.txt" >/dev/null 2>"$T/err"; expect_eq directory_exit $? 2
check directory_message grep -q 'is a directory' "$T/err"

# ---- scores agree with the lists ----
printf '!!! ...' >"$T/t_a.txt"; printf '???' >"$T/t_b.txt"
$R compare --json "$T/t_a.txt" "$T/t_b.txt" >"$T/t.json"
check no_words_differ grep -q '"jaccard": 0, "containment": {"a_in_b": 0, "b_in_a": 0}' "$T/t.json"
$R compare --json "$T/t_a.txt" "$T/t_a.txt" >"$T/t2.json"
check no_words_identical grep -q '"jaccard": 1, "containment": {"a_in_b": 1, "b_in_a": 1}' "$T/t2.json"
printf 'Three short words' >"$T/s_a.txt"; printf 'three SHORT words.\n' >"$T/s_b.txt"
$R compare --json "$T/s_a.txt" "$T/s_b.txt" >"$T/s.json"
check short_identical_one_passage grep -q '"jaccard": 1, .*"passages": \[{"a": \[0, 17\], "b": \[0, 17\], "words": 3}\], "only_a": \[\], "only_b": \[\]}' "$T/s.json"

# ---- "½" against "¼": not shown as shared, no overlapping ranges ----
printf 'alpha beta gamma delta epsilon zeta eta theta iota kappa \302\275 more words only in a' >"$T/h_a.txt"
printf 'alpha beta gamma delta epsilon zeta eta theta iota kappa \302\274 other words in b' >"$T/h_b.txt"
$R compare --json "$T/h_a.txt" "$T/h_b.txt" >"$T/h.json"
check nfkc_span_not_shared grep -q '"passages": \[{"a": \[0, 56\], "b": \[0, 56\], "words": 10}\], "only_a": \[\[57, 80\]\], "only_b": \[\[57, 76\]\]}' "$T/h.json"

# ---- control characters escaped in the readable output ----
printf 'Intro \033]0;owned\007\033[2J the council voted on Tuesday to approve the new budget for local schools\n' >"$T/e_a.txt"
printf 'Other the council voted on Tuesday to approve the new budget for local schools\n' >"$T/e_b.txt"
cp "$T/e_a.txt" "$T/e$(printf '\033')[31m.txt"
$R compare --color never "$T/e$(printf '\033')[31m.txt" "$T/e_b.txt" >"$T/e.txt"; expect_eq escape_exit $? 0
check escape_no_raw_esc sh -c "! grep -q \"\$(printf '\\033')\" '$T/e.txt'"
check escape_no_raw_bel sh -c "! grep -q \"\$(printf '\\007')\" '$T/e.txt'"
check escape_excerpt grep -q '"Intro \\x1b\]0;owned\\x07\\x1b\[2J"' "$T/e.txt"
check escape_id grep -q '^A .*e\\x1b\[31m.txt: ' "$T/e.txt"
# ---- --html may not overwrite A or B ----
echo "alpha beta gamma delta epsilon zeta" >"$T/ha.txt"; cp "$T/ha.txt" "$T/hb.txt"; cp "$T/hb.txt" "$T/hb.keep"
$R compare "$T/ha.txt" "$T/hb.txt" --html "$T/hb.txt" >/dev/null 2>"$T/hb.err"; expect_eq html_over_input_exit $? 2
check html_over_input_untouched cmp -s "$T/hb.txt" "$T/hb.keep"
check html_over_input_message grep -q "is also an input" "$T/hb.err"
# ---- a word NFKC splits, against part of it: unshared on both sides ----
base="alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu"
printf '%s ½ %s' "$base" "$base" >"$T/nh_a.txt"; printf '%s 1 4 %s' "$base" "$base" >"$T/nh_b.txt"
$R compare --json -m 5 "$T/nh_a.txt" "$T/nh_b.txt" >"$T/nh.json"
check nfkc_half_only_a grep -q '"only_a": \[\[67, 69\]\]' "$T/nh.json"
check nfkc_half_only_b_both_words grep -q '"only_b": \[\[67, 70\]\]' "$T/nh.json"
cli_end
