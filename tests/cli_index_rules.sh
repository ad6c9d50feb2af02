#!/bin/sh
# End-to-end tests of the index's rules that must not depend on how it was
# built: --max-df counts the live documents of the whole index (not of one
# segment, not the removed ones); many segments with few file descriptors.
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

cli_end
