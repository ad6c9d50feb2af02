#!/bin/sh
# End-to-end tests of `reprint index` and `reprint query`: adds in batches
# answer like one dedup, a writer killed at every durable step leaves the old
# or the new index, corrupt and truncated files are named errors, one writer
# at a time, readers during a write, tombstones and compaction, passages.
. tests/lib.sh
FAST=build/reprint   # the crash loops run the optimised binary; checks use $R
# Index directories on tmpfs when there is one: writers fsync.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then X=$(mktemp -d /dev/shm/reprint-cli-index-XXXXXX); else X="$T/x"; mkdir -p "$X"; fi
trap 'rm -rf "$T" "$X"' EXIT
# "query match" lines from query output, "a b" lines from dedup pairs
edges() { awk '{ n = split($0, a, /"id": "/); q = a[2]; sub(/".*/, "", q); for (i = 3; i <= n; i++) { m = a[i]; sub(/".*/, "", m); if (m != q) print q " " m } }' "$1" | sort -u; }
pairs_both() { sed 's/^{"a": "\([^"]*\)", "b": "\([^"]*\)".*/\1 \2\n\2 \1/' "$1" | sort -u; }
info_field() { $R index info --json "$1" | grep -o "\"$2\": [0-9.]*" | head -n 1 | sed 's/.*: //'; }

# ---- manners ----
$R index >/dev/null 2>&1; expect_eq index_no_command_exit $? 2
$R index frob >/dev/null 2>&1; expect_eq index_unknown_exit $? 2
$R index create --help >"$T/h"; expect_eq create_help_exit $? 0
for o in --threshold --ngram --num-perm --bands --rows --seed --min-words --sig-bits --store-text; do
	grep -q -- "$o" "$T/h" || fail "create_help_lists_$o" "missing"
done
$R query --help >"$T/h"; expect_eq query_help_exit $? 0
for o in --containment --passages --max-matches --format --text-field --id-field --on-error --output --threads; do
	grep -q -- "$o" "$T/h" || fail "query_help_lists_$o" "missing"
done
$R index create --sig-bits 3 "$X/bad" 2>/dev/null; expect_eq create_bad_sig_bits_exit $? 2
$R index create "$X/none/deeper" 2>/dev/null; expect_eq create_no_parent_exit $? 1
$R query "$X/missing" /dev/null 2>"$T/e"; expect_eq query_missing_index_exit $? 1
check query_missing_index_message grep -q 'missing.*not a reprint index\|cannot open the index' "$T/e"

# ---- three adds, then query = one dedup over everything ----
zcat "$DATA/bbc-news.jsonl.gz" >"$T/bbc.jsonl"
sed -n '1,700p' "$T/bbc.jsonl" >"$T/p1"; sed -n '701,1500p' "$T/bbc.jsonl" >"$T/p2"; sed -n '1501,$p' "$T/bbc.jsonl" >"$T/p3"
$R index create "$X/ix"; expect_eq create_exit $? 0
$R index create "$X/ix" 2>"$T/e"; expect_eq create_twice_exit $? 2
check create_twice_message grep -q 'not empty' "$T/e"
$R index add -q "$X/ix" "$T/p1" && $R index add -v --memory 128K "$X/ix" "$T/p2" 2>"$T/e" && $R index add -q "$X/ix" <"$T/p3"
expect_eq add_exit $? 0
check add_verbose_phases grep -q '^reprint: phases: read and sketch .* s (.* CPU-s, .*), commit .* s (.* CPU-s, [1-9][0-9]* sorted runs of at most [0-9]* MB merged)$' "$T/e"
$R index add --help >"$T/h"; check add_help_verbose grep -q -- '--verbose' "$T/h"
# runs of 256 MB by default, or a quarter of the memory the process may use
# if less: in a 256 MiB memory cgroup (a small container), 64 MB
if new_cgroup memory memory.limit_in_bytes 268435456 memory.max 268435456; then
	$R index create "$X/ixm"
	in_cgroup $R index add -v "$X/ixm" "$T/p1" 2>"$T/em"; rc=$?
	drop_cgroup
	if [ "$rc" = 77 ]; then echo "note: skipped the memory cgroup case: could not join a memory cgroup"
	else
		expect_eq add_in_cgroup_exit "$rc" 0
		check add_in_cgroup_runs_64mb grep -q 'sorted runs of at most 64 MB merged)$' "$T/em"
	fi
else
	echo "note: skipped the memory cgroup case: cannot make a memory cgroup here (not root, or no writable v1/v2 memory controller)"
fi
expect_eq info_documents "$(info_field "$X/ix" documents)" 2225
expect_eq info_segments "$(info_field "$X/ix" segments)" 3
$R index info "$X/ix" >"$T/info"; check info_text grep -q '^parameters: word 5-grams, num-perm 128, bands 18 x rows 7, threshold 0.8' "$T/info"
$R dedup -q --verify estimate --pairs "$T/pairs" "$T/bbc.jsonl" >/dev/null
$R query -q --containment off "$X/ix" "$T/bbc.jsonl" -o "$T/q"; expect_eq query_exit $? 0
expect_eq query_lines "$(wc -l <"$T/q")" 2225
edges "$T/q" >"$T/qe"; pairs_both "$T/pairs" >"$T/pe"
expect_eq dedup_pairs_all_matched "$(comm -13 "$T/qe" "$T/pe" | wc -l)" 0
expect_eq no_other_matches "$(comm -23 "$T/qe" "$T/pe" | wc -l)" 0
check dedup_pairs_some test "$(wc -l <"$T/pe")" -gt 200
check query_self_first grep -q '^{"id": "business/001", "matches": \[{"id": "business/001", "jaccard": 1, "a_in_b": 1, "b_in_a": 1}' "$T/q"
$R query -q -j1 --containment off "$X/ix" "$T/bbc.jsonl" | cmp -s - "$T/q"; expect_eq query_j1_same $? 0
# one index built in one add answers the same
$R index create "$X/one" && $R index add -q "$X/one" "$T/bbc.jsonl"
$R query -q --containment off "$X/one" "$T/bbc.jsonl" | cmp -s - "$T/q"; expect_eq one_add_same $? 0
# ids already present are skipped and counted
$R index add "$X/ix" "$T/p2" 2>"$T/e"; expect_eq readd_exit $? 0
check readd_counted grep -q 'added 0, skipped 800 (id already in the index)' "$T/e"
# containment: the summaries are found inside their articles
zcat "$DATA/bbc-news-summary.jsonl.gz" | head -n 200 >"$T/sum.jsonl"
$R query -q --text-field summary "$X/ix" "$T/sum.jsonl" -o "$T/qs"
own=$(awk '{ q = $0; sub(/^{"id": "/, "", q); sub(/".*/, "", q); if (index($0, "\"matches\": [{\"id\": \"" q "\"")) n++ } END { print n + 0 }' "$T/qs")
check summaries_found_in_articles test "$own" -ge 140
check containment_reported grep -q '"a_in_b": 1, "b_in_a": 0\.[0-9]*}' "$T/qs"
# bad records: fail, or skip and report
printf '{"id": "ok", "text": "fine text"}\n{"id": "bad", "text": "x\377y"}\n' >"$T/bad.jsonl"
$R query -q "$X/ix" "$T/bad.jsonl" >/dev/null 2>"$T/e"; expect_eq query_bad_exit $? 1
check query_bad_position grep -q 'bad.jsonl:2:' "$T/e"
$R query -q --on-error skip "$X/ix" "$T/bad.jsonl" >"$T/o"; expect_eq query_skip_exit $? 0
check query_skip_reported grep -q '^{"id": "bad", "error": ".*", "file": ".*bad.jsonl", "line": 2' "$T/o"
$R index add -q --on-error skip "$X/ix" "$T/bad.jsonl"; expect_eq add_skip_exit $? 0
expect_eq add_skip_documents "$(info_field "$X/ix" documents)" 2226

# ---- remove and compact ----
printf 'business/001\nsport/002\nnot-there\n' >"$T/ids"
$R index remove "$X/ix" --ids "$T/ids" 2>"$T/e"; expect_eq remove_exit $? 0
check remove_counted grep -q 'removed 2 of 3 ids' "$T/e"
expect_eq removed_documents "$(info_field "$X/ix" documents)/$(info_field "$X/ix" removed)" 2224/2
$R query -q "$X/ix" "$T/bbc.jsonl" -o "$T/qr"
check removed_not_matched sh -c "! grep -q '\"matches\": \[.*\"id\": \"business/001\"' '$T/qr'"
$R index compact "$X/ix" 2>/dev/null; expect_eq compact_exit $? 0
expect_eq compacted "$(info_field "$X/ix" segments)/$(info_field "$X/ix" documents)/$(info_field "$X/ix" removed)" 1/2224/0
$R query -q "$X/ix" "$T/bbc.jsonl" | cmp -s - "$T/qr"; expect_eq compact_same_answers $? 0
expect_eq compact_left_one_file "$(ls "$X/ix" | grep -c '^seg-')" 1

# ---- passages with stored text ----
$R index create --store-text "$X/tx" && $R index add -q "$X/tx" "$T/p1"
head -n 1 "$T/bbc.jsonl" >"$T/first.jsonl"
$R query -q --passages "$X/tx" "$T/first.jsonl" >"$T/qp"; expect_eq passages_exit $? 0
check passages_whole grep -q '"passages": \[{"a": \[0, [0-9]*\], "b": \[0, [0-9]*\], "words": [0-9]*}\]' "$T/qp"
$R query -q --passages "$X/one" "$T/first.jsonl" >/dev/null 2>&1; expect_eq passages_need_text_exit $? 2
bpt=$(info_field "$X/one" bytes_per_document_without_text)
check bytes_per_document_reported test -n "$bpt"
echo "# bbc-news index: $bpt bytes per document"

# ---- dedup --index DIR [--add] ----
$R index create "$X/dd" && $R index add -q "$X/dd" "$T/p1"
$R dedup -q --index "$X/dd" --threshold 0.9 "$T/bbc.jsonl" >/dev/null 2>"$T/e"; expect_eq dedup_index_other_threshold_exit $? 2
check dedup_index_other_threshold_message grep -q "index $X/dd was created with --threshold 0.8, not 0.9" "$T/e"
$R dedup -q --ngram 3 --index "$X/dd" "$T/bbc.jsonl" >/dev/null 2>&1; expect_eq dedup_index_other_ngram_exit $? 2
$R dedup -q --add "$T/bbc.jsonl" >/dev/null 2>&1; expect_eq dedup_add_without_index_exit $? 2
$R dedup -q "$T/bbc.jsonl" --stats "$T/st0" >/dev/null
$R dedup --index "$X/dd" --add "$T/bbc.jsonl" -o "$T/dd" --stats "$T/st1" 2>"$T/e"; expect_eq dedup_index_add_exit $? 0
expect_eq dedup_index_indexed_removed "$(head -n 700 "$T/dd" | grep -c '"duplicate": true, "similarity": 1, "in_index": true}$')" 700
kept=$(grep -o '"kept": [0-9]*' "$T/st1" | sed 's/.*: //')
check dedup_index_kept_fewer test "$kept" -lt "$(grep -o '"kept": [0-9]*' "$T/st0" | sed 's/.*: //')"
check dedup_index_conserved test "$(grep -o '"removed": [0-9]*' "$T/st1" | sed 's/.*: //')" -eq $((2225 - kept))
check dedup_index_add_message grep -q "index $X/dd: added $kept kept documents" "$T/e"
expect_eq dedup_index_add_documents "$(info_field "$X/dd" documents)" $((700 + kept))
$R dedup -q --index "$X/dd" "$T/bbc.jsonl" >"$T/dd2"
expect_eq dedup_index_again_nothing_kept "$(grep -c '"duplicate": false' "$T/dd2")" 0

# ---- one writer; readers during a write ----
mkfifo "$T/fifo"
printf '{"id": "during", "text": "%s"}\n' "$(head -c 3000 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$T/during.jsonl"
$R index add -q "$X/one" "$T/fifo" 2>"$T/e1" &
writer=$!
exec 3>"$T/fifo"  # the writer holds the lock, waiting for input
cat "$T/during.jsonl" >&3
sleep 0.3
$R index add -q "$X/one" "$T/p1" 2>"$T/e2"; expect_eq second_writer_exit $? 1
check second_writer_message grep -q "index $X/one is locked by another writer" "$T/e2"
$R index compact "$X/one" 2>/dev/null; expect_eq second_compactor_exit $? 1
$R query -q "$X/one" "$T/during.jsonl" >"$T/o"; expect_eq reader_during_write_exit $? 0
check reader_during_write_old_state grep -q '^{"id": "during", "matches": \[\]}$' "$T/o"
$R query -q --containment off "$X/one" "$T/bbc.jsonl" | cmp -s - "$T/q"; expect_eq reader_during_write_same $? 0
exec 3>&-
wait $writer; expect_eq first_writer_exit $? 0
$R query -q "$X/one" "$T/during.jsonl" >"$T/o"
check reader_after_write_new_state grep -q '^{"id": "during", "matches": \[{"id": "during", "jaccard": 1' "$T/o"
expect_eq after_write_documents "$(info_field "$X/one" documents)" 2226
flock -n "$X/one/LOCK" true; expect_eq lock_released $? 0

# readers opening while a writer adds and compacts over and over (a reader
# whose segment was compacted away reads the manifest again)
$FAST index create "$X/rw" && head -n 200 "$T/bbc.jsonl" | $FAST index add -q "$X/rw" -
( for i in 1 2 3 4 5 6 7 8; do sed -n "$((200 + i * 10)),$((209 + i * 10))p" "$T/bbc.jsonl" | $FAST index add -q "$X/rw" -; $FAST index compact -q "$X/rw"; done; touch "$T/rw.done" ) &
bad=0; reads=0
while [ ! -e "$T/rw.done" ] || [ "$reads" -lt 3 ]; do
	$R index info --json "$X/rw" >"$T/o" 2>"$T/e" || { bad=$((bad + 1)); head -n 1 "$T/e"; }
	reads=$((reads + 1))
done
wait
expect_eq readers_during_compactions "$bad" 0
expect_eq readers_final_documents "$(info_field "$X/rw" documents)" 280

# ---- kill at every durable step of an add ----
head -n 150 "$T/bbc.jsonl" >"$T/base.jsonl"; sed -n '151,400p' "$T/bbc.jsonl" >"$T/more.jsonl"
# the state is told apart by a sample of both parts (queries under ASan are slower)
{ sed -n '1~30p' "$T/base.jsonl"; sed -n '1~10p' "$T/more.jsonl"; } >"$T/probe.jsonl"
$FAST index create "$X/c0" && $FAST index add -q "$X/c0" "$T/base.jsonl"
cp -r "$X/c0" "$X/c1" && $FAST index add -q --memory 96K "$X/c1" "$T/more.jsonl"
$R query -q "$X/c0" "$T/probe.jsonl" >"$T/before"; $R query -q "$X/c1" "$T/probe.jsonl" >"$T/after"
check before_after_differ sh -c "! cmp -s '$T/before' '$T/after'"
rm -rf "$X/c1"; cp -r "$X/c0" "$X/c1"
steps=$(REPRINT_CRASH_AT=0 $FAST index add -q --memory 96K "$X/c1" "$T/more.jsonl" 2>&1 | sed -n 's/^reprint: \([0-9]*\) writer steps$/\1/p')
check crash_steps_counted test "${steps:-0}" -gt 20
bad=0; olds=0; news=0; n=1
while [ "$n" -le "${steps:-0}" ]; do
	rm -rf "$X/c1"; cp -r "$X/c0" "$X/c1"
	REPRINT_CRASH_AT=$n $FAST index add -q --memory 96K "$X/c1" "$T/more.jsonl" 2>/dev/null; rc=$?
	if [ "$rc" != 137 ]; then bad=$((bad + 1)); echo "crash at $n: exit $rc"; fi
	$R query -q "$X/c1" "$T/probe.jsonl" >"$T/now" 2>"$T/e"; rc=$?
	if cmp -s "$T/now" "$T/before"; then olds=$((olds + 1))
	elif cmp -s "$T/now" "$T/after"; then news=$((news + 1))
	else bad=$((bad + 1)); echo "crash at $n: query exit $rc, neither state"; head -n 2 "$T/e"; fi
	# every step of the publication (the last 16), every 5th before
	if [ "$n" -lt $((steps - 16)) ]; then n=$((n + 5)); else n=$((n + 1)); fi
done
expect_eq crash_every_step_old_or_new "$bad" 0
check crash_saw_both test "$olds" -gt 0 -a "$news" -gt 0
echo "# crash points: $olds left the old index, $news the new one"
# after a crash the next writer removes the leftovers and adds normally
rm -rf "$X/c1"; cp -r "$X/c0" "$X/c1"
REPRINT_CRASH_AT=$((steps / 2)) $FAST index add -q --memory 96K "$X/c1" "$T/more.jsonl" 2>/dev/null
check crash_left_garbage test "$(ls "$X/c1" | wc -l)" -gt 3
$R index add -q --memory 96K "$X/c1" "$T/more.jsonl"; expect_eq recover_exit $? 0
$R query -q "$X/c1" "$T/probe.jsonl" | cmp -s - "$T/after"; expect_eq recover_same $? 0
expect_eq recover_no_garbage "$(ls "$X/c1" | sed 's/^seg-[0-9a-f]*\.rps$/seg/' | tr '\n' ' ')" "LOCK MANIFEST seg seg "
# compaction and removal killed at every step
for cmd in compact remove; do
	rm -rf "$X/c2"; cp -r "$X/c1" "$X/c2"
	printf 'business/005\n' >"$T/ids1"
	if [ $cmd = compact ]; then $FAST index remove -q "$X/c2" --ids "$T/ids1"; args=""; else args="--ids $T/ids1"; fi
	cp -r "$X/c2" "$X/c3"; $FAST index $cmd -q "$X/c3" $args
	$R query -q "$X/c2" "$T/probe.jsonl" >"$T/before"; $R query -q "$X/c3" "$T/probe.jsonl" >"$T/after"
	rm -rf "$X/c3"
	steps=$(REPRINT_CRASH_AT=0 $FAST index $cmd -q "$X/c2" $args 2>&1 | sed -n 's/^reprint: \([0-9]*\) writer steps$/\1/p')
	rm -rf "$X/c2"; cp -r "$X/c1" "$X/c2"
	[ $cmd = compact ] && $FAST index remove -q "$X/c2" --ids "$T/ids1"
	bad=0; n=1
	while [ "$n" -le "${steps:-0}" ]; do
		rm -rf "$X/c3"; cp -r "$X/c2" "$X/c3"
		REPRINT_CRASH_AT=$n $FAST index $cmd -q "$X/c3" $args 2>/dev/null
		$R query -q "$X/c3" "$T/probe.jsonl" >"$T/now" 2>/dev/null
		cmp -s "$T/now" "$T/before" || cmp -s "$T/now" "$T/after" || { bad=$((bad + 1)); echo "$cmd crash at $n: neither state"; }
		if [ "$n" -lt $((steps - 10)) ]; then n=$((n + 4)); else n=$((n + 1)); fi
	done
	expect_eq "crash_${cmd}_old_or_new" "$bad" 0
	check "crash_${cmd}_steps" test "${steps:-0}" -gt 3
done
# real kill -9 after small random delays
bad=0
$R query -q "$X/c0" "$T/probe.jsonl" >"$T/before"
rm -rf "$X/c1"; cp -r "$X/c0" "$X/c1"; $FAST index add -q --memory 96K "$X/c1" "$T/more.jsonl"
$R query -q "$X/c1" "$T/probe.jsonl" >"$T/after"
for i in 1 2 3 4 5 6 7 8; do
	rm -rf "$X/c3"; cp -r "$X/c0" "$X/c3"
	$FAST index add -q --memory 96K "$X/c3" "$T/more.jsonl" 2>/dev/null &
	pid=$!
	sleep "0.0$(awk -v s="$i" 'BEGIN { srand(s); printf "%d", rand() * 9 }')"
	kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
	$R query -q "$X/c3" "$T/probe.jsonl" >"$T/now" 2>/dev/null
	cmp -s "$T/now" "$T/before" || cmp -s "$T/now" "$T/after" || { bad=$((bad + 1)); echo "kill $i: neither state"; }
done
expect_eq kill9_old_or_new "$bad" 0

# ---- flipped bytes and truncated files: named errors, never an answer ----
$FAST index create "$X/f0" && $FAST index add -q "$X/f0" "$T/base.jsonl"
seg=$(cd "$X/f0" && ls seg-*)
for file in MANIFEST "$seg"; do
	size=$(wc -c <"$X/f0/$file")
	bad=0; tried=0
	for pos in 0 7 8 12 16 20 40 80 96 104 150 $((size / 7)) $((size / 3)) $((size / 2)) $((size * 2 / 3)) $((size - 9)) $((size - 1)); do
		[ "$pos" -lt "$size" ] || continue
		rm -rf "$X/f1"; cp -r "$X/f0" "$X/f1"
		printf '\377' | dd of="$X/f1/$file" bs=1 seek="$pos" conv=notrunc 2>/dev/null
		cmp -s "$X/f0/$file" "$X/f1/$file" && printf '\000' | dd of="$X/f1/$file" bs=1 seek="$pos" conv=notrunc 2>/dev/null
		$R query -q "$X/f1" "$T/first.jsonl" >"$T/o" 2>"$T/e"; rc=$?
		tried=$((tried + 1))
		if [ $rc != 1 ] || [ -s "$T/o" ] || ! grep -q "$file" "$T/e" || grep -q 'runtime error\|AddressSanitizer' "$T/e"; then
			bad=$((bad + 1)); echo "flip $file at $pos: exit $rc: $(head -c 200 "$T/e")"
		fi
	done
	for len in 0 10 100 $((size / 2)) $((size - 1)); do
		rm -rf "$X/f1"; cp -r "$X/f0" "$X/f1"
		truncate -s "$len" "$X/f1/$file"
		$R index info "$X/f1" >"$T/o" 2>"$T/e"; rc=$?
		tried=$((tried + 1))
		if [ $rc != 1 ] || [ -s "$T/o" ] || ! grep -q "$file" "$T/e"; then bad=$((bad + 1)); echo "truncate $file to $len: exit $rc"; fi
	done
	expect_eq "corrupt_${file%%-*}_named_errors" "$bad/$tried" "0/$tried"
done
rm -rf "$X/f1"; cp -r "$X/f0" "$X/f1"; truncate -s 1000 "$X/f1/$seg"
$R query -q "$X/f1" "$T/first.jsonl" 2>"$T/e"
check truncated_message grep -q "$seg: is .* bytes, the manifest says .*: the file is truncated" "$T/e"

cli_end
