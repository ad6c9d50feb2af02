#!/bin/sh
# End-to-end tests of the index's rules that must not depend on how it was
# built: --max-df counts the live documents of the whole index (not of one
# segment, not the removed ones); many segments with few file descriptors;
# default and repeated ids are told apart in what an add or remove says.
. tests/lib.sh
if [ -d /dev/shm ] && [ -w /dev/shm ]; then X=$(mktemp -d /dev/shm/reprint-cli-rules-XXXXXX); else X="$T/x"; mkdir -p "$X"; fi
trap 'rm -rf "$T" "$X"' EXIT
nmatches() { grep -o '"id": ' "$1" | sed 1d | wc -l; }

# ---- --max-df: live documents across all segments ----
# 1500 documents sharing a 120-word footer (more than the default 1000: it is
# boilerplate), and a short query made of other words and that footer.
awk 'BEGIN {
	srand(11)
	for (i = 0; i < 3000; i++) { w[i] = ""; for (k = 0; k < 6; k++) w[i] = w[i] sprintf("%c", 97 + int(rand() * 26)) }
	f = w[int(rand() * 3000)]; for (k = 1; k < 120; k++) f = f " " w[int(rand() * 3000)]
	for (d = 0; d < 1500; d++) {
		t = w[int(rand() * 3000)]; for (k = 1; k < 250; k++) t = t " " w[int(rand() * 3000)]
		printf "{\"id\": \"s%d\", \"text\": \"%s %s\"}\n", d, t, f >"/dev/stdout"
	}
	t = w[int(rand() * 3000)]; for (k = 1; k < 60; k++) t = t " " w[int(rand() * 3000)]
	printf "{\"id\": \"brief\", \"text\": \"%s %s\"}\n", t, f >"/dev/stderr"
}' >"$T/site.jsonl" 2>"$T/brief.jsonl"
head -n 750 "$T/site.jsonl" >"$T/s1"; tail -n 750 "$T/site.jsonl" >"$T/s2"
$R index create "$X/one" && $R index add -q "$X/one" "$T/site.jsonl"
$R index create "$X/two" && $R index add -q "$X/two" "$T/s1" && $R index add -q "$X/two" "$T/s2"
expect_eq maxdf_two_segments "$($R index info --json "$X/two" | grep -o '"segments": [0-9]*')" '"segments": 2'
$R query -q "$X/one" "$T/brief.jsonl" >"$T/q1"; expect_eq maxdf_query_exit $? 0
$R query -q "$X/two" "$T/brief.jsonl" >"$T/q2"
expect_eq maxdf_boilerplate_footer "$(cat "$T/q1")" '{"id": "brief", "matches": []}'
cmp -s "$T/q1" "$T/q2"; expect_eq maxdf_one_add_same_as_two $? 0
cp -r "$X/two" "$X/comp" && $R index compact -q "$X/comp"
$R query -q "$X/comp" "$T/brief.jsonl" | cmp -s - "$T/q1"; expect_eq maxdf_compacted_same $? 0
# with a higher limit the footer is shared text again, in every layout
for ix in one two comp; do
	$R query -q --max-df 2000 "$X/$ix" "$T/brief.jsonl" >"$T/q_$ix"
	expect_eq "maxdf_2000_${ix}_matches" "$(nmatches "$T/q_$ix")" 1500
done
cmp -s "$T/q_one" "$T/q_two" && cmp -s "$T/q_one" "$T/q_comp"; expect_eq maxdf_2000_same $? 0
# the limit is exact: 1500 documents are boilerplate at 1499, not at 1500
expect_eq maxdf_1499 "$($R query -q --max-df 1499 "$X/two" "$T/brief.jsonl" | nmatches /dev/stdin)" 0
expect_eq maxdf_1500 "$($R query -q --max-df 1500 "$X/two" "$T/brief.jsonl" | nmatches /dev/stdin)" 1500

# removed documents do not count: 6 documents share a footer (in one
# segment, and in two); with --max-df 3 it is boilerplate until 3 of them
# are removed, and then the index answers as one built from the 3 live ones
head -n 6 "$T/site.jsonl" >"$T/six"
grep -v '"s[034]"' "$T/six" >"$T/live"
$R index create "$X/live" && $R index add -q "$X/live" "$T/live"
$R query -q --max-df 3 "$X/live" "$T/brief.jsonl" >"$T/ql"
expect_eq maxdf_live_matches "$(nmatches "$T/ql")" 3
printf 's0\ns3\ns4\n' >"$T/ids"
$R index create "$X/six1" && $R index add -q "$X/six1" "$T/six"
$R index create "$X/six2" && head -n 3 "$T/six" | $R index add -q "$X/six2" - && tail -n 3 "$T/six" | $R index add -q "$X/six2" -
for ix in six1 six2; do
	$R query -q --max-df 3 "$X/$ix" "$T/brief.jsonl" >"$T/q"
	expect_eq "maxdf_${ix}_boilerplate" "$(nmatches "$T/q")" 0
	$R index remove -q "$X/$ix" --ids "$T/ids"; expect_eq "maxdf_${ix}_remove_exit" $? 0
	$R query -q --max-df 3 "$X/$ix" "$T/brief.jsonl" | cmp -s - "$T/ql"; expect_eq "maxdf_${ix}_removed_not_counted" $? 0
	$R query -q --max-df 2 "$X/$ix" "$T/brief.jsonl" >"$T/q"
	expect_eq "maxdf_${ix}_removed_still_over" "$(nmatches "$T/q")" 0
done

# ---- many segments, few file descriptors ----
# every segment holds an open file: with 30 segments and a hard limit of 24
# descriptors, each command says so and what to do; with only the soft limit
# that low, reprint raises it to the hard limit and works
$R index create "$X/fd"
i=1; while [ $i -le 30 ]; do sed -n "${i}p" "$T/site.jsonl" | $R index add -q "$X/fd" - || break; i=$((i + 1)); done
expect_eq fd_thirty_segments "$($R index info --json "$X/fd" | grep -o '"segments": [0-9]*')" '"segments": 30'
sed -n 31p "$T/site.jsonl" >"$T/more"
fdmsg="$X/fd: too many open files: 30 segments, each an open file; raise ulimit -n, or run reprint index compact"
for cmd in query add compact; do
	case $cmd in query) args="query -q $X/fd $T/brief.jsonl" ;; add) args="index add -q $X/fd $T/more" ;; compact) args="index compact -q $X/fd" ;; esac
	(ulimit -n 24 && exec $R $args) >"$T/o" 2>"$T/e"; expect_eq "fd_hard_${cmd}_exit" $? 1
	check "fd_hard_${cmd}_message" grep -qF "reprint: $fdmsg" "$T/e"
	check "fd_hard_${cmd}_no_fsync" sh -c "! grep -q fsync '$T/e'"
done
if [ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge 64 ]; then
	(ulimit -Sn 24 && exec $R query -q "$X/fd" "$T/brief.jsonl") >"$T/o" 2>"$T/e"; expect_eq fd_soft_query_exit $? 0
	expect_eq fd_soft_query_answer "$(nmatches "$T/o")" 30
	(ulimit -Sn 24 && exec $R index add -q "$X/fd" "$T/more") 2>"$T/e"; expect_eq fd_soft_add_exit $? 0
	(ulimit -Sn 24 && exec $R index compact -q "$X/fd") 2>"$T/e"; expect_eq fd_soft_compact_exit $? 0
	expect_eq fd_soft_compacted "$($R index info --json "$X/fd" | grep -o '"segments": [0-9]*')" '"segments": 1'
else
	echo "note: skipped the soft-limit cases: the hard limit of open files here is $(ulimit -Hn)"
fi

# ---- ids: defaults, repeats ----
# records without an id field get PATH:LINE: a daily add of a file of the
# same name skips the new documents, with a warning (even with -q)
$R index create -q "$X/day"; expect_eq create_quiet_exit $? 0
echo '{"text": "monday story about the harbour strike and the ships waiting offshore"}' >"$T/today.jsonl"
$R index add -q "$X/day" "$T/today.jsonl" 2>"$T/e"; expect_eq default_first_add_exit $? 0
expect_eq default_first_add_silent "$(cat "$T/e")" ""
echo '{"text": "tuesday story about an election result in a small mountain town"}' >"$T/today.jsonl"
$R index add "$X/day" "$T/today.jsonl" 2>"$T/e"; expect_eq default_second_add_exit $? 0
check default_skipped_counted grep -q 'added 0, skipped 1 (id already in the index)' "$T/e"
check default_warning grep -qF "reprint: warning: 1 record has no id field; its default id PATH:LINE was already in the index $X/day, so it was skipped; give every record an id (--id-field)" "$T/e"
printf '%s\n' '{"text": "a wednesday story one"}' '{"text": "a wednesday story two"}' '{"text": "a wednesday story three"}' >"$T/today.jsonl"
$R index add -q "$X/day" "$T/today.jsonl" 2>"$T/e"
check default_warning_quiet grep -q '^reprint: warning: 1 record has no id field' "$T/e"
$R index add -q "$X/day" "$T/today.jsonl" 2>"$T/e"
check default_warning_plural grep -q '^reprint: warning: 3 records have no id field; their default ids PATH:LINE were already in the index .*, so they were skipped' "$T/e"
# standard input: -:LINE
echo '{"text": "thursday story about the river"}' | $R index add -q "$X/day" - 2>"$T/e"
echo '{"text": "friday story about the mountains"}' | $R index add -q "$X/day" - 2>"$T/e"
check default_warning_stdin grep -q '^reprint: warning: 1 record has no id field' "$T/e"
# ids from the records: an id already in the index is no surprise
printf '{"id": "today.jsonl:1", "text": "saturday story"}\n' >"$T/today.jsonl"
$R index add -q "$X/day" "$T/today.jsonl" 2>"$T/e"
expect_eq given_id_no_warning "$(cat "$T/e")" ""
# dedup --index --add says it too
printf '{"text": "a sunday story about the sea and the boats in the bay"}\n' >"$T/today.jsonl"
$R dedup -q --index "$X/day" --add "$T/today.jsonl" >/dev/null 2>"$T/e"; expect_eq dedup_add_default_exit $? 0
check dedup_add_default_warning grep -q '^reprint: warning: 1 record has no id field' "$T/e"
# repeats within one input are not "already in the index"
printf '%s\n' '{"id": "r1", "text": "first text here"}' '{"id": "r1", "text": "second text here"}' '{"id": "r2", "text": "third text"}' >"$T/rep.jsonl"
$R index create "$X/rep" && $R index add "$X/rep" "$T/rep.jsonl" 2>"$T/e"
check repeated_in_input grep -q 'read 3, added 2, skipped 1 (id repeated in this input), errored 0' "$T/e"
$R index add "$X/rep" "$T/rep.jsonl" 2>"$T/e"
check repeated_and_present grep -q 'read 3, added 0, skipped 3 (2 ids already in the index, 1 id repeated in this input), errored 0' "$T/e"
$R index add "$X/rep" "$T/rep.jsonl" "$T/rep.jsonl" 2>"$T/e"
check repeated_across_inputs grep -q 'read 6, added 0, skipped 6 (2 ids already in the index, 4 ids repeated in this input)' "$T/e"
# remove: an id listed twice is a repeat, not absent
printf 'r1\nnone\nr1\n' >"$T/ids"
$R index remove "$X/rep" --ids "$T/ids" 2>"$T/e"; expect_eq remove_repeated_exit $? 0
check remove_repeated grep -q 'removed 1 of 3 ids (1 not in the index, 1 repeated in the list)' "$T/e"
expect_eq remove_repeated_documents "$($R index info --json "$X/rep" | grep -o '"documents": [0-9]*' | head -n 1)" '"documents": 1'
# create: a directory not empty is named
$R index create "$X/rep" 2>"$T/e"; expect_eq create_not_empty_exit $? 2
check create_not_empty_named grep -qF "reprint: $X/rep: not empty" "$T/e"

# ---- the man page documents every option of the index commands ----
sed 's/\\-/-/g; s/\\f[BIR]//g' docs/reprint.1 >"$T/man"
for c in "index create" "index add" "index remove" "index compact" "index info" query dedup; do
	missing=
	for o in $($R $c --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
		grep -q -- "$o\b" "$T/man" || missing="$missing $o"
	done
	expect_eq "man_documents_$(echo "$c" | tr ' ' _)" "$missing" ""
done
for c in create add remove compact info; do check "man_section_index_$c" grep -q "^.SS index $c" docs/reprint.1; done
check man_section_query grep -q '^.SH QUERY' docs/reprint.1
check man_max_df_default grep -q 'boilerplate and ignored (default 1000)' "$T/man"

cli_end
