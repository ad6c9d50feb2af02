#!/bin/sh
# End-to-end tests of `reprint dedup` and `reprint params`: every input format,
# every kind of bad input, exit codes, conservation, determinism, outputs.
. tests/lib.sh
stats_field() { sed -n "s/.*\"$2\": \([0-9.]*\).*/\1/p" "$1"; }
conserved() { # read = kept + removed + errored
	r=$(stats_field "$1" read); k=$(stats_field "$1" kept); m=$(stats_field "$1" removed); e=$(stats_field "$1" errored)
	[ -n "$r" ] && [ "$r" -eq $((k + m + e)) ]
}

# ---- manners and usage errors ----
$R --version >"$T/v" 2>&1; expect_eq version_exit $? 0
check version_text grep -q '^reprint [0-9.]* (normalisation 1)$' "$T/v"
$R dedup --help >"$T/h"; expect_eq help_exit $? 0
for o in --threshold --num-perm --ngram --shingle --bands --rows --verify --keep --text-field --id-field \
         --format --on-error --output --pairs --kept --removed --stats --threads --quiet --verbose --max-record; do
	grep -q -- "$o" "$T/h" || fail "help_lists_$o" "missing"
done
check help_defaults grep -q 'default 0.8' "$T/h"
$R >/dev/null 2>&1; expect_eq no_command_exit $? 2
$R frobnicate >/dev/null 2>&1; expect_eq unknown_command_exit $? 2
$R dedup --threshold 2 /dev/null >/dev/null 2>&1; expect_eq bad_threshold_exit $? 2
$R dedup --bogus /dev/null >/dev/null 2>&1; expect_eq bad_option_exit $? 2
$R dedup --bands 30 --rows 7 /dev/null >/dev/null 2>&1; expect_eq bands_rows_exceed_exit $? 2
$R params --threshold 0.8 --num-perm 128 >"$T/p"; expect_eq params_exit $? 0
check params_choice grep -q 'bands 18, rows 7' "$T/p"
check params_curve grep -q '^ *0.80 *0.98' "$T/p"
# -j's default is the cores the process may run on (taskset, cpusets), not all online ones
if command -v taskset >/dev/null 2>&1; then
	taskset -c 0 $R dedup -v /dev/null -o "$T/j.out" 2>"$T/j.err"
	check threads_default_affinity grep -q ', 1 thread$' "$T/j.err"
fi
# and no more than its cgroup's CPU quota (a container given one CPU of a larger machine)
if new_cgroup cpu cpu.cfs_quota_us 100000 cpu.max "100000 100000"; then
	in_cgroup $R dedup -v /dev/null -o "$T/q.out" 2>"$T/q.err"; rc=$?
	drop_cgroup
	if [ "$rc" = 77 ]; then echo "note: skipped the CPU quota case: could not join a cpu cgroup"
	else check threads_default_cpu_quota grep -q ', 1 thread$' "$T/q.err"; fi
else
	echo "note: skipped the CPU quota case: cannot make a cpu cgroup here (not root, or no writable v1/v2 cpu controller)"
fi

# ---- a small corpus: one article, three edited copies, one unrelated ----
A='The committee met on Tuesday to discuss the new budget, which includes \"significant\" cuts to the transport department and a rise in spending on schools and hospitals across the region, officials said.'
B='The committee met on Tuesday to discuss the new budget, which includes \u201csignificant\u201d cuts to the\ntransport department and a rise in spending on schools and hospitals across the\nregion, officials said.'
C='THE COMMITTEE met on Tuesday to discuss the new budget,\u00a0which includes *significant* cuts to the transport depart-\nment and a rise in spending on schools and hospitals across the region, officials said.'
U='A completely different story about football: the home side won three nil after a late rally in the second half, and the manager praised the young striker.'
printf '{"id": "a", "text": "%s"}\n{"id": "b", "text": "%s"}\n{"id": "u", "text": "%s"}\n\n{"id": "c", "text": "%s"}\n' "$A" "$B" "$U" "$C" >"$T/c.jsonl"
$R dedup -q "$T/c.jsonl" -o "$T/out" --stats "$T/st"; expect_eq jsonl_exit $? 0
expect_eq jsonl_lines "$(wc -l <"$T/out")" 4
check jsonl_b_dup grep -q '{"id": "b", "cluster": "a", "duplicate": true' "$T/out"
check jsonl_c_dup grep -q '{"id": "c", "cluster": "a", "duplicate": true' "$T/out"
check jsonl_u_kept grep -q '{"id": "u", "cluster": "u", "duplicate": false, "similarity": 1}' "$T/out"
check jsonl_conserved conserved "$T/st"
expect_eq jsonl_stats "$(stats_field "$T/st" kept)/$(stats_field "$T/st" removed)/$(stats_field "$T/st" clusters)" 2/2/1

# compressed, multi-member, stdin, split into files: identical output
gzip -c "$T/c.jsonl" >"$T/c.jsonl.gz"
zstd -q -c "$T/c.jsonl" >"$T/c.zst"
head -n 2 "$T/c.jsonl" | gzip -c >"$T/mm.gz"; tail -n +3 "$T/c.jsonl" | gzip -c >>"$T/mm.gz"
$R dedup -q "$T/c.jsonl.gz" >"$T/o_gz"; check gzip_same cmp -s "$T/out" "$T/o_gz"
$R dedup -q "$T/c.zst" >"$T/o_zst"; check zstd_same cmp -s "$T/out" "$T/o_zst"
$R dedup -q "$T/mm.gz" >"$T/o_mm"; check multimember_gzip_same cmp -s "$T/out" "$T/o_mm"
$R dedup -q <"$T/c.jsonl.gz" >"$T/o_in"; check stdin_same cmp -s "$T/out" "$T/o_in"
$R dedup -q - <"$T/c.jsonl" >"$T/o_in2"; check stdin_dash_same cmp -s "$T/out" "$T/o_in2"
head -n 2 "$T/c.jsonl" >"$T/s1.jsonl"; tail -n +3 "$T/c.jsonl" >"$T/s2.jsonl"
$R dedup -q "$T/s1.jsonl" "$T/s2.jsonl" >"$T/o_split"; check split_files_same cmp -s "$T/out" "$T/o_split"

# dotted id and text fields, numeric ids
printf '{"meta": {"id": 7}, "body": {"t": "%s"}}\n{"meta": {"id": 8}, "body": {"t": "%s"}}\n' "$A" "$B" >"$T/n.jsonl"
$R dedup -q --id-field meta.id --text-field body.t "$T/n.jsonl" >"$T/o_n"
check dotted_fields grep -q '{"id": 8, "cluster": 7, "duplicate": true' "$T/o_n"
printf '{"text": "%s"}\n{"text": "%s"}\n' "$A" "$A" >"$T/noid.jsonl"
$R dedup -q "$T/noid.jsonl" >"$T/o_noid"
check id_falls_back_to_path_line grep -q "\"id\": \"$T/noid.jsonl:2\", \"cluster\": \"$T/noid.jsonl:1\"" "$T/o_noid"

# lines format and directories
RAW_A=$(printf '%s' "$A" | sed 's/\\"/"/g')
RAW_B='The committee met on Tuesday to discuss the new budget, which includes \342\200\234significant\342\200\235 cuts to the\ntransport department and a rise in spending on schools and hospitals across the\nregion, officials said.'
printf '%s\n%s\n%s\n' "$RAW_A" "$U" "$RAW_A" >"$T/l.txt"
$R dedup -q --format lines "$T/l.txt" >"$T/o_l"
check lines_format grep -q "\"id\": \"$T/l.txt:3\", \"cluster\": \"$T/l.txt:1\", \"duplicate\": true" "$T/o_l"
mkdir -p "$T/d/sub"; printf '%s\n' "$RAW_A" >"$T/d/x.txt"; printf "$RAW_B\n" >"$T/d/sub/y.txt"; printf '%s\n' "$U" | gzip -c >"$T/d/z.gz"
$R dedup -q "$T/d" >"$T/o_d"
expect_eq dir_records "$(wc -l <"$T/o_d")" 3
check dir_dup grep -q "\"id\": \"$T/d/x.txt\", \"cluster\": \"$T/d/sub/y.txt\", \"duplicate\": true" "$T/o_d"

# ---- bad input ----
printf '{"id": "g", "text": "good text here"}\n{"id": "h", "text": "broken\n{"id": "i"}\n{"id": "j", "text": "bad \377 utf8"}\n{"id": "k", "text": "nul \\u0000 here"}\n{"id": "l", "text": "fine again"}\n' >"$T/bad.jsonl"
$R dedup -q "$T/bad.jsonl" -o "$T/o_bad" 2>"$T/e_bad"; expect_eq bad_fail_exit $? 1
check bad_fail_names_position grep -q "bad.jsonl:2:" "$T/e_bad"
check bad_fail_no_output test ! -e "$T/o_bad"
check bad_fail_no_temp sh -c "! ls '$T' | grep -q 'o_bad.tmp'"
$R dedup -q --on-error skip "$T/bad.jsonl" -o "$T/o_bad" --stats "$T/st_bad" 2>"$T/e_bad"; expect_eq bad_skip_exit $? 0
expect_eq bad_skip_every_record "$(wc -l <"$T/o_bad")" 6
expect_eq bad_skip_errored "$(stats_field "$T/st_bad" errored)" 4
check bad_skip_conserved conserved "$T/st_bad"
check bad_skip_reason_json grep -q '"id": "h", "error": "invalid JSON' "$T/o_bad"
check bad_skip_reason_missing grep -q '"id": "i", "error": "missing text field' "$T/o_bad"
check bad_skip_reason_utf8 grep -q '"id": "j", "error": "invalid UTF-8' "$T/o_bad"
check bad_skip_reason_nul grep -q '"id": "k", "error": "NUL' "$T/o_bad"
check bad_skip_line_numbers grep -q '"file": ".*bad.jsonl", "line": 3,' "$T/o_bad"
head -c 300 "$T/c.jsonl.gz" >"$T/trunc.gz"
$R dedup -q "$T/trunc.gz" -o "$T/o_tr" 2>"$T/e_tr"; expect_eq truncated_gzip_exit $? 1
check truncated_gzip_message grep -q 'trunc.gz.*truncated' "$T/e_tr"
check truncated_gzip_no_output test ! -e "$T/o_tr"
# -j1 reads each batch alone, -j2 while the other thread works on the last:
# the same exit status, message and output for a bad record, a skipped one,
# a broken stream
RA=$(cd "$(dirname "$R")" && pwd)/$(basename "$R")
for c in "bad.jsonl" "--on-error skip bad.jsonl" "trunc.gz"; do
	case_name=$(echo "$c" | tr -c 'a-z0-9\n' _)
	for j in 1 2; do
		(cd "$T" && $RA dedup -q -j$j $c -o "o_j$j" 2>"e_j$j"; echo $? >"x_j$j")
	done
	check "j1_j2_same_exit_$case_name" cmp -s "$T/x_j1" "$T/x_j2"
	check "j1_j2_same_message_$case_name" cmp -s "$T/e_j1" "$T/e_j2"
	check "j1_j2_same_output_$case_name" sh -c "cmp -s '$T/o_j1' '$T/o_j2' || { test ! -e '$T/o_j1' && test ! -e '$T/o_j2'; }"
	rm -f "$T"/[oex]_j[12]
done
$R dedup -q "$T/nonexistent.jsonl" 2>"$T/e_ne"; expect_eq missing_file_exit $? 1
check missing_file_message grep -q 'nonexistent.jsonl' "$T/e_ne"
# A 100 MB line: rejected by --max-record (64 MiB) with its position; the next line is read.
{ printf '{"id": "big", "text": "'; head -c 100000000 /dev/zero | tr '\0' 'a'; printf '"}\n{"id": "after", "text": "%s"}\n' "$A"; } >"$T/big.jsonl"
$R dedup -q "$T/big.jsonl" 2>"$T/e_big" >/dev/null; expect_eq big_line_fail_exit $? 1
check big_line_message grep -q 'big.jsonl:1:.*longer than' "$T/e_big"
$R dedup -q --on-error skip "$T/big.jsonl" --stats "$T/st_big" >"$T/o_big"
check big_line_skip_next_read grep -q '"id": "after", "cluster": "after"' "$T/o_big"
check big_line_conserved conserved "$T/st_big"
rm -f "$T/big.jsonl"
$R dedup -q "$T/c.jsonl" -o /nonexistent-dir/out 2>"$T/e_o"; expect_eq unwritable_output_exit $? 1
$R dedup -q "$T/c.jsonl" -o /dev/full 2>/dev/null; expect_eq disk_full_exit $? 1

# ---- outputs: pairs, kept, removed ----
$R dedup -q "$T/c.jsonl" --pairs "$T/pairs" --kept "$T/kept" --removed "$T/removed" >/dev/null
expect_eq pairs_count "$(wc -l <"$T/pairs")" 2
check pairs_format grep -q '^{"a": "a", "b": "b", "jaccard": 1}$' "$T/pairs"
expect_eq kept_count "$(wc -l <"$T/kept")" 2
expect_eq removed_count "$(wc -l <"$T/removed")" 2
check kept_bytes_unchanged sh -c "head -n 1 '$T/c.jsonl' | cmp -s - '$(echo "$T/kept")' -n $(head -n 1 "$T/c.jsonl" | wc -c)"
check removed_original grep -qF "$(sed -n 2p "$T/c.jsonl")" "$T/removed"

# ---- real data: determinism across -j, runs and file splits ----
$R dedup -q -j1 "$DATA/bbc-news.jsonl.gz" -o "$T/bbc1" --stats "$T/st1" --pairs "$T/bp1"
$R dedup -q -j2 "$DATA/bbc-news.jsonl.gz" -o "$T/bbc2" --pairs "$T/bp2"
$R dedup -q -j2 "$DATA/bbc-news.jsonl.gz" -o "$T/bbc3"
check bbc_j1_j2_same cmp -s "$T/bbc1" "$T/bbc2"
check bbc_pairs_j1_j2_same cmp -s "$T/bp1" "$T/bp2"
check bbc_runs_same cmp -s "$T/bbc2" "$T/bbc3"
zcat "$DATA/bbc-news.jsonl.gz" | split -l 700 - "$T/bbcpart."
$R dedup -q -j2 "$T"/bbcpart.* -o "$T/bbc4"
check bbc_split_same cmp -s "$T/bbc1" "$T/bbc4"
check bbc_conserved conserved "$T/st1"

# ---- exact checks read their texts again: in place from uncompressed files
# (JSON strings decoded again, CRLF lines and a byte-order mark too), from a
# temporary copy for gzip, stdin and files beyond the descriptor budget; every
# way gives the same pairs and Jaccards ----
zcat "$DATA/reuters21578.jsonl.gz" >"$T/re.jsonl"
$R dedup -q -j2 --verify exact "$DATA/reuters21578.jsonl.gz" -o "$T/re_gz" --pairs "$T/rp_gz"; expect_eq refetch_gz_exit $? 0
$R dedup -q -j2 --verify exact "$T/re.jsonl" -o "$T/re_plain" --pairs "$T/rp_plain"
$R dedup -q -j1 --verify exact - <"$T/re.jsonl" -o "$T/re_stdin" --pairs "$T/rp_stdin"
{ printf '\357\273\277'; sed 's/$/\r/' "$T/re.jsonl"; } >"$T/re_crlf.jsonl"
$R dedup -q -j2 --verify exact "$T/re_crlf.jsonl" -o "$T/re_crlf" --pairs "$T/rp_crlf"
split -l 700 "$T/re.jsonl" "$T/repart."
(ulimit -n 30 && $R dedup -q -j2 --verify exact "$T"/repart.* -o "$T/re_split" --pairs "$T/rp_split"); expect_eq refetch_fd_budget_exit $? 0
check refetch_pairs_found test "$(wc -l <"$T/rp_gz")" -gt 100
for w in plain stdin crlf split; do
	check "refetch_${w}_pairs_same" cmp -s "$T/rp_gz" "$T/rp_$w"
	check "refetch_${w}_out_same" cmp -s "$T/re_gz" "$T/re_$w"
done
python3 -c 'import json,sys
for l in open(sys.argv[1]): print(json.loads(l)["text"].replace("\n", " "))' "$T/re.jsonl" >"$T/re.txt"
gzip -c "$T/re.txt" >"$T/re.txt.gz"
$R dedup -q --format lines --verify exact "$T/re.txt" --pairs "$T/rl_plain" -o /dev/null
$R dedup -q --format lines --verify exact "$T/re.txt.gz" --pairs "$T/rl_gz" -o /dev/null
check refetch_lines_pairs_found test "$(wc -l <"$T/rl_gz")" -gt 100
sed 's/re\.txt\.gz:/re.txt:/g' "$T/rl_gz" >"$T/rl_gz_named"
check refetch_lines_same cmp -s "$T/rl_gz_named" "$T/rl_plain"
expect_eq bbc_read "$(stats_field "$T/st1" read)" 2225
removed=$(stats_field "$T/st1" removed)
check bbc_removes_at_least_98_exact_copies test "$removed" -ge 98
# ---- outputs: named twice, an input, through a symbolic link, a signal ----
printf '{"id": "a", "text": "one two three four five six"}\n' >"$T/o_in.jsonl"
cp "$T/o_in.jsonl" "$T/o_keep.jsonl"
$R dedup -q "$T/o_in.jsonl" -o "$T/o_x.out" --pairs "$T/./o_x.out" 2>"$T/o_twice.err"; expect_eq output_twice_exit $? 2
check output_twice_message grep -q "named for two outputs" "$T/o_twice.err"
check output_twice_nothing_left sh -c "! ls '$T'/o_x.out* >/dev/null 2>&1"
$R dedup -q "$T/o_in.jsonl" -o "$T/o_in.jsonl" 2>"$T/o_self.err"; expect_eq output_is_input_exit $? 2
check output_is_input_message grep -q "is also an input" "$T/o_self.err"
check output_is_input_untouched cmp -s "$T/o_in.jsonl" "$T/o_keep.jsonl"
ln -s o_in.jsonl "$T/o_link_in.out"
$R dedup -q "$T/o_in.jsonl" -o "$T/o_link_in.out" 2>/dev/null; expect_eq output_link_to_input_exit $? 2
check output_link_to_input_untouched cmp -s "$T/o_in.jsonl" "$T/o_keep.jsonl"
# a link to another file: that file is replaced on success, untouched on failure, the link stays
echo precious >"$T/o_prev.txt"; chmod 600 "$T/o_prev.txt"
ln -s o_prev.txt "$T/o_link.out"
printf '{bad\n' >"$T/o_bad.jsonl"
$R dedup -q "$T/o_bad.jsonl" -o "$T/o_link.out" 2>/dev/null; expect_eq output_link_failed_exit $? 1
check output_link_failed_untouched grep -qx precious "$T/o_prev.txt"
$R dedup -q "$T/o_in.jsonl" -o "$T/o_link.out"; expect_eq output_link_exit $? 0
check output_link_stays_link test -L "$T/o_link.out"
check output_link_target_written grep -q '"id": "a"' "$T/o_prev.txt"
expect_eq output_replaced_keeps_mode "$(stat -c %a "$T/o_prev.txt")" 600
check output_link_no_tmp_left sh -c "! ls '$T'/o_prev.txt.tmp.* '$T'/o_link.out.tmp.* >/dev/null 2>&1"
# a run killed by a signal leaves no temporary file (it waits on a FIFO)
mkfifo "$T/o_fifo"
$R dedup -q "$T/o_fifo" -o "$T/o_sig.out" --pairs "$T/o_sig.pairs" &
pid=$!
exec 7>"$T/o_fifo"; sleep 0.3; kill -TERM $pid; wait $pid; rc=$?; exec 7>&-
expect_eq output_signal_status $rc 143
check output_signal_no_tmp_left sh -c "! ls '$T'/o_sig.* >/dev/null 2>&1"
# a file name that is not UTF-8 is written as \udcXX (Python's surrogateescape): valid JSON
mkdir -p "$T/o_names"
printf 'hello world\n' >"$T/o_names/bad$(printf '\377')name.txt"
$R dedup -q "$T/o_names" >"$T/o_names.out"; expect_eq non_utf8_name_exit $? 0
check non_utf8_name_escaped grep -q 'bad\\udcffname.txt' "$T/o_names.out"
check non_utf8_name_valid_json python3 -c 'import json,sys
[json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]' "$T/o_names.out"

# ---- late usage errors exit 2: a bad field path, a bad seed ----
$R dedup -q --text-field '' "$T/o_in.jsonl" >/dev/null 2>&1; expect_eq empty_field_path_exit $? 2
$R dedup -q --id-field 'a..b' "$T/o_in.jsonl" >/dev/null 2>&1; expect_eq bad_field_path_exit $? 2
$R dedup -q --seed -1 "$T/o_in.jsonl" >/dev/null 2>&1; expect_eq negative_seed_exit $? 2
$R dedup -q --seed 010 --pairs "$T/s10.p" "$T/o_in.jsonl" >"$T/s10.out"; expect_eq decimal_seed_exit $? 0
$R dedup -q --seed 10 --pairs "$T/s10b.p" "$T/o_in.jsonl" >"$T/s10b.out"
check seed_leading_zero_is_decimal cmp -s "$T/s10.out" "$T/s10b.out"

# ---- where a bad whole-file document is: its line inside the file ----
mkdir -p "$T/o_files"
printf 'fine first line\nbad \377 here\n' >"$T/o_files/x.txt"
$R dedup -q "$T/o_files" >/dev/null 2>"$T/o_files.err"; expect_eq file_doc_bad_exit $? 1
check file_doc_bad_line_and_byte grep -q 'x.txt:2:20: invalid UTF-8' "$T/o_files.err"
seq 1 20000 | sed 's/.*/{"id": "&", "text": "number &"}/' | gzip -c | head -c 20000 >"$T/o_trunc.gz"
$R dedup -q "$T/o_trunc.gz" >/dev/null 2>"$T/o_trunc.err"
check truncated_gzip_says_byte grep -q 'o_trunc.gz: byte [0-9]*: truncated gzip stream' "$T/o_trunc.err"

# ---- similarity under --verify auto: the exact Jaccard when it decided ----
# A = w0..w199, B = w20..w219: exact 5-gram Jaccard 176/216 = 0.814815, the
# estimate about 0.77 (within 3 standard errors of 0.8, so auto checks exactly)
python3 -c 'import json
print(json.dumps({"id": "A", "text": " ".join("w%d" % i for i in range(200))}))
print(json.dumps({"id": "B", "text": " ".join("w%d" % i for i in range(20, 220))}))' >"$T/ab.jsonl"
$R dedup -q "$T/ab.jsonl" --pairs "$T/ab.pairs" >"$T/ab.out"
check auto_pair_exact grep -q '"jaccard": 0.814815' "$T/ab.pairs"
check auto_similarity_is_exact grep -q '"id": "B", "cluster": "A", "duplicate": true, "similarity": 0.814815' "$T/ab.out"
# ---- --kept/--removed keep each line's end: CRLF stays CRLF ----
printf '{"id": "a", "text": "one two three four five six"}\r\n{"id": "b", "text": "one two three four five six"}\r\n{"id": "c", "text": "seven eight nine ten eleven twelve"}\n' >"$T/crlf.jsonl"
$R dedup -q "$T/crlf.jsonl" --kept "$T/crlf.k" --removed "$T/crlf.r" --stats "$T/crlf.st" -o /dev/null
sort "$T/crlf.jsonl" >"$T/crlf.sorted"; cat "$T/crlf.k" "$T/crlf.r" | sort >"$T/crlf.both"
check crlf_kept_removed_same_bytes cmp -s "$T/crlf.sorted" "$T/crlf.both"
expect_eq crlf_stats_bytes "$(stats_field "$T/crlf.st" bytes)" "$(wc -c <"$T/crlf.jsonl")"
# ---- a number with a leading zero is invalid JSON, and its record keeps no partial id ----
printf '{"id": 01, "text": "one two three"}\n' >"$T/lz.jsonl"
$R dedup -q --on-error skip "$T/lz.jsonl" >"$T/lz.out"
check leading_zero_default_id grep -q '^{"id": "[^"]*lz.jsonl:1", "error": "invalid JSON: invalid number (leading zero)"' "$T/lz.out"
# ---- outputs that would be read, or break what is read: refused; /dev/stdout appended to ----
mkdir -p "$T/od"; echo "alpha beta gamma delta epsilon" >"$T/od/a.txt"
$R dedup -q "$T/od" -o "$T/od/out.jsonl" 2>"$T/od.err"; expect_eq output_inside_input_dir_exit $? 2
check output_inside_input_dir_message grep -q "is inside the input directory" "$T/od.err"
check output_inside_input_dir_nothing_left sh -c "test \$(ls '$T/od' | wc -l) = 1"
cp "$T/o_in.jsonl" "$T/o_std.jsonl"
$R dedup -q - -o "$T/o_std.jsonl" <"$T/o_std.jsonl" 2>/dev/null; expect_eq output_is_stdin_file_exit $? 2
check output_is_stdin_file_untouched cmp -s "$T/o_std.jsonl" "$T/o_in.jsonl"
$R dedup -q "$T/o_in.jsonl" -o '' 2>/dev/null; expect_eq output_empty_path_exit $? 2
$R index create "$T/oix" && $R index add -q "$T/oix" "$T/o_in.jsonl"
$R query -q "$T/oix" "$T/o_in.jsonl" -o "$T/oix/MANIFEST" 2>/dev/null; expect_eq query_output_in_index_exit $? 2
$R dedup -q --index "$T/oix" "$T/o_in.jsonl" -o "$T/oix/x" 2>/dev/null; expect_eq dedup_output_in_index_exit $? 2
$R index info "$T/oix" >/dev/null 2>&1; expect_eq index_intact_after_refusals $? 0
echo old >"$T/olog"
{ echo first; $R dedup -q --stats /dev/stdout -o /dev/null "$T/o_in.jsonl"; echo last; } >>"$T/olog"
expect_eq dev_stdout_appends "$(sed -n '1p;2p;4p' "$T/olog" | tr '\n' ' ')" "old first last "
check dev_stdout_stats_written sh -c "sed -n 3p '$T/olog' | grep -q '\"read\": 1'"
cli_end
