#!/bin/sh
# I/O faults and conservation for `reprint dedup` (issue 6, items 3 and 4):
#  - a full disk on every output (/dev/full, and ENOSPC on a real file system:
#    a 64 KiB tmpfs in a private mount namespace), on the spill file
#    ($TMPDIR), on the --kept/--removed spool (/tmp) and on reuse's token
#    file: exit 1, a clear message, no partial or temporary file left;
#  - inputs that cannot be read: missing, a read error (/proc/self/mem), a
#    FIFO or a dangling symbolic link under a directory (a file that vanished
#    after the listing), a gzip stream whose writer dies half-way; a FIFO
#    with a writer reads like a file;
#  - short reads: stdin fed through a pipe a few bytes at a time gives the
#    same bytes out as the file;
#  - every corpus of ../shared/data: read = kept + removed + errored, read =
#    the lines of the file, the kept and removed files hold exactly the input
#    lines, and identical bytes out for -j1 and -j2 and for one file or the
#    same lines split into four files.
# A check of a known bug (see docs/TESTING.md) prints "xfail" and does not
# count as a failure unless REPRINT_STRICT=1.
. tests/lib.sh
stats_field() { sed -n "s/.*\"$2\": \([0-9.]*\).*/\1/p" "$1"; }
conserved() { # read = kept + removed + errored
	r=$(stats_field "$1" read); k=$(stats_field "$1" kept); m=$(stats_field "$1" removed); e=$(stats_field "$1" errored)
	[ -n "$r" ] && [ "$r" -eq $((k + m + e)) ]
}
no_tmp() { ! ls -a "$1" | grep -q '\.tmp\.'; }  # no temporary output left in directory $1
empty_dir() { [ -z "$(ls -A "$1")" ]; }
xcheck() {
	n=$1; shift
	if "$@"; then ok "$n"
	elif [ -n "${REPRINT_STRICT:-}" ]; then fail "$n" "known bug: $*"
	else echo "xfail $n: known bug, see docs/TESTING.md"; fi
}
# Copy stdin to stdout N bytes at a time with a pause after each write, so a
# reader on a pipe gets short reads.
slow_cat() {
	perl -e 'binmode STDIN; binmode STDOUT; $| = 1; my $n = shift;
	         while (read(STDIN, my $b, $n)) { print $b; select(undef, undef, undef, 0.0003) }' "$1"
}
RA=$(cd "$(dirname "$R")" && pwd)/$(basename "$R") # absolute: some cases run elsewhere
DA=$(cd "$DATA" && pwd)

A='The committee met on Tuesday to discuss the new budget, which includes \"significant\" cuts to the transport department and a rise in spending on schools and hospitals across the region, officials said.'
B='The committee met on Tuesday to discuss the new budget, which includes \u201csignificant\u201d cuts to the\ntransport department and a rise in spending on schools and hospitals across the\nregion, officials said.'
U='A completely different story about football: the home side won three nil after a late rally in the second half, and the manager praised the young striker.'
printf '{"id": "a", "text": "%s"}\n{"id": "b", "text": "%s"}\n{"id": "u", "text": "%s"}\n' "$A" "$B" "$U" >"$T/c.jsonl"
$R dedup -q "$T/c.jsonl" -o "$T/c.out"; expect_eq fixture_exit $? 0
gzip -c "$T/c.jsonl" >"$T/c.jsonl.gz"
zstd -q -c "$T/c.jsonl" >"$T/c.jsonl.zst"

# ---- a full disk on each output ----
outs() { # DIR WHICH: the five output options into DIR, WHICH one to /dev/full
	for x in o pairs kept removed stats; do
		if [ "$x" = "$2" ]; then p=/dev/full; else p=$1/$x; fi
		if [ "$x" = o ]; then printf -- '-o %s ' "$p"; else printf -- '--%s %s ' "$x" "$p"; fi
	done
}
for x in o pairs kept removed stats; do
	d=$T/full_$x
	mkdir "$d"
	$R dedup -q "$T/c.jsonl" $(outs "$d" $x) 2>"$d.err"; expect_eq "disk_full_${x}_exit" $? 1
	check "disk_full_${x}_message" grep -q 'No space left on device' "$d.err"
	check "disk_full_${x}_no_temp" no_tmp "$d"
	# A failed run should leave none of its outputs (each is renamed into
	# place on success): today those committed before the failing one stay.
	check "disk_full_${x}_no_other_output" empty_dir "$d"
	check "disk_full_${x}_message_names_file" grep -q '/dev/full' "$d.err"
done
$R dedup -q "$T/c.jsonl" >/dev/full 2>"$T/stdout_full.err"; expect_eq disk_full_stdout_exit $? 1
check disk_full_stdout_message grep -q 'standard output.*No space left' "$T/stdout_full.err"

# ENOSPC on a real file system: a 64 KiB tmpfs in a private mount namespace
# (nothing to clean up: it vanishes with the namespace).
in_small_fs() { # SHELL-CODE, run with $S the small file system; exit 77: cannot mount
	unshare -m sh -c "mkdir -p '$T/small' && mount -t tmpfs -o size=64k tmpfs '$T/small' 2>/dev/null || exit 77
		S='$T/small'; $1" 2>/dev/null
}
if ! in_small_fs true; then
	echo "note: skipped the full-file-system cases: cannot mount a tmpfs in a private mount namespace (unshare -m; not root?)"
else
	# the output file itself on the full file system
	in_small_fs "'$RA' dedup -q '$DA/bbc-news.jsonl.gz' -o \$S/out --stats \$S/st 2>'$T/fs_out.err'
		echo \$? >'$T/fs_out.rc'; ls -A \$S >'$T/fs_out.ls'"
	expect_eq enospc_output_exit "$(cat "$T/fs_out.rc")" 1
	check enospc_output_message grep -q 'out: write failed: No space left on device' "$T/fs_out.err"
	check enospc_output_nothing_left test ! -s "$T/fs_out.ls"
	# the spill file (--verify auto keeps the texts of compressed input in $TMPDIR)
	mkdir "$T/spill"
	in_small_fs "TMPDIR=\$S '$RA' dedup -q '$DA/bbc-news.jsonl.gz' -o '$T/spill/out' --stats '$T/spill/st' 2>'$T/spill.err'
		echo \$? >'$T/spill.rc'; ls -A \$S >'$T/spill.ls'"
	expect_eq enospc_spill_exit "$(cat "$T/spill.rc")" 1
	check enospc_spill_message grep -q 'cannot write the temporary text file: No space left on device' "$T/spill.err"
	check enospc_spill_no_output empty_dir "$T/spill"
	check enospc_spill_file_removed test ! -s "$T/spill.ls"
	# the --kept/--removed spool (tmpfile() in /tmp): a small /tmp over
	# everything under it, so the program, its input and its output
	# directory are reached through descriptors and the working directory
	mkdir "$T/spool"
	in_small_fs "exec 5<'$RA' 6<'$DA/bbc-news.jsonl.gz' && cd '$T/spool' && mount -t tmpfs -o size=64k tmpfs /tmp &&
		/proc/self/fd/5 dedup -q - -o out --kept kept --removed removed --stats st <&6 2>../spool.err
		echo \$? >../spool.rc"
	expect_eq enospc_spool_exit "$(cat "$T/spool.rc")" 1
	# whichever temporary file in /tmp fills first: the spool or the copy of
	# the texts (stdin) that the exact checks read again
	check enospc_spool_message grep -qE '(spool file: write failed|temporary text file): No space left on device' "$T/spool.err"
	# (fixed: the reader thread used to exit() on a spool write error, leaving
	# out.tmp.PID, kept.tmp.PID, ... behind)
	check enospc_spool_no_temp no_tmp "$T/spool"
	rm -f "$T"/spool/*.tmp.*
	# reuse's token file ($TMPDIR), every token stream in it (--memory 0)
	mkdir "$T/rtok"
	in_small_fs "TMPDIR=\$S '$RA' reuse -q --memory 0 '$DA/bbc-news.jsonl.gz' -o '$T/rtok/out' --stats '$T/rtok/st' 2>'$T/rtok.err'
		echo \$? >'$T/rtok.rc'; ls -A \$S >'$T/rtok.ls'"
	expect_eq enospc_reuse_tokens_exit "$(cat "$T/rtok.rc")" 1
	check enospc_reuse_tokens_message grep -q 'cannot write the temporary token file: No space left on device' "$T/rtok.err"
	check enospc_reuse_tokens_no_output empty_dir "$T/rtok"
	check enospc_reuse_tokens_file_removed test ! -s "$T/rtok.ls"
fi

# $TMPDIR that does not exist: clear error before any output is written, when
# a temporary file is needed (the texts of compressed input or stdin for the
# exact checks; those of an uncompressed file are read there again)
mkdir "$T/notmp"
TMPDIR=/nonexistent/rp-faults $R dedup -q "$T/c.jsonl.gz" -o "$T/notmp/out" 2>"$T/notmp.err"; expect_eq tmpdir_missing_exit $? 1
check tmpdir_missing_message grep -q 'cannot create a temporary file in /nonexistent/rp-faults: No such file' "$T/notmp.err"
check tmpdir_missing_no_output empty_dir "$T/notmp"
TMPDIR=/nonexistent/rp-faults $R dedup -q --verify estimate "$T/c.jsonl.gz" -o "$T/notmp/out"
expect_eq tmpdir_missing_estimate_spills_nothing $? 0
rm -f "$T/notmp/out"
TMPDIR=/nonexistent/rp-faults $R dedup -q --verify exact "$T/c.jsonl" -o "$T/notmp/out"
expect_eq tmpdir_missing_plain_file_needs_none $? 0

# ---- inputs that cannot be read ----
mkdir "$T/ro"
$R dedup -q "$T/missing.jsonl" -o "$T/ro/out" 2>"$T/missing.err"; expect_eq missing_exit $? 1
check missing_message grep -q "missing.jsonl: cannot open: No such file or directory" "$T/missing.err"
$R dedup -q "$T/c.jsonl" "$T/missing.jsonl" "$T/c.jsonl" -o "$T/ro/out" 2>"$T/missing2.err"; expect_eq missing_second_exit $? 1
check missing_second_message grep -q "missing.jsonl: cannot open" "$T/missing2.err"
$R dedup -q /proc/self/mem -o "$T/ro/out" 2>"$T/eio.err"; expect_eq read_error_exit $? 1
check read_error_message grep -q '/proc/self/mem: read error: Input/output error' "$T/eio.err"
check read_error_no_output empty_dir "$T/ro"
mkdir "$T/fifodir"
cp "$T/c.jsonl" "$T/fifodir/a.jsonl"
mkfifo "$T/fifodir/b.fifo"
timeout 20 $R dedup -q --format jsonl "$T/fifodir" -o "$T/ro/out" 2>"$T/fifodir.err"; expect_eq fifo_in_dir_exit $? 1
check fifo_in_dir_message grep -q 'b.fifo: not a regular file or directory' "$T/fifodir.err"
mkdir "$T/dangling"
cp "$T/c.jsonl" "$T/dangling/a.jsonl"
ln -s "$T/vanished.jsonl" "$T/dangling/b.jsonl"
$R dedup -q "$T/dangling" -o "$T/ro/out" 2>"$T/dangling.err"; expect_eq vanished_file_exit $? 1
check vanished_file_message grep -q 'b.jsonl: cannot open: No such file or directory' "$T/dangling.err"
check unreadable_inputs_no_output empty_dir "$T/ro"
mkdir "$T/dirjsonl"
cp "$T/c.jsonl" "$T/dirjsonl/c.jsonl"
$R dedup -q --format jsonl "$T/dirjsonl" >"$T/dirjsonl.out"; check directory_as_jsonl_same cmp -s "$T/c.out" "$T/dirjsonl.out"
mkfifo "$T/f1"
cat "$T/c.jsonl" >"$T/f1" &
timeout 20 $R dedup -q "$T/f1" >"$T/f1.out"; expect_eq fifo_exit $? 0
check fifo_same cmp -s "$T/c.out" "$T/f1.out"
wait
mkfifo "$T/f2"
head -c 150 "$T/c.jsonl.gz" >"$T/f2" &
timeout 20 $R dedup -q "$T/f2" -o "$T/ro/out" 2>"$T/f2.err"; expect_eq writer_dies_exit $? 1
check writer_dies_message grep -q 'truncated gzip stream' "$T/f2.err"
wait
mkfifo "$T/f3"
timeout 2 $R dedup -q "$T/f3" >/dev/null 2>&1; expect_eq fifo_without_writer_waits $? 124
: >"$T/empty.jsonl"
$R dedup -q "$T/empty.jsonl" -o "$T/empty.out" --stats "$T/empty.st"; expect_eq empty_input_exit $? 0
expect_eq empty_input_read "$(stats_field "$T/empty.st" read)" 0
check empty_input_empty_output test ! -s "$T/empty.out"

# zstd starting with a skippable frame (pzstd writes one before every frame):
# once read as plain text and rejected as invalid JSON
{ printf 'P*M\030\005\000\000\000skip!'; cat "$T/c.jsonl.zst"; } >"$T/skippable.zst"
$R dedup -q "$T/skippable.zst" >"$T/skippable.out"; check zstd_skippable_frame_first_same cmp -s "$T/c.out" "$T/skippable.out"

# gzip with a reserved header flag (RFC 1952: must be refused; gzip -t does;
# ISA-L ignores the reserved bits, so the reader checks them), in the first
# member and in the second
gzip -n -c "$T/c.jsonl" >"$T/plain.gz"
{ head -c 3 "$T/plain.gz"; printf '\100'; tail -c +5 "$T/plain.gz"; } >"$T/reserved.gz"
$R dedup -q "$T/reserved.gz" >/dev/null 2>"$T/reserved.err"; check gzip_reserved_flags_refused test $? = 1
check gzip_reserved_flags_message grep -q "reserved.gz.*corrupt gzip stream: reserved header flags set" "$T/reserved.err"
cat "$T/plain.gz" "$T/reserved.gz" >"$T/reserved2.gz"
$R dedup -q "$T/reserved2.gz" >/dev/null 2>"$T/reserved2.err"; check gzip_reserved_flags_second_member_refused test $? = 1
check gzip_reserved_flags_second_member_message grep -q "reserved header flags set" "$T/reserved2.err"

# ---- short reads: stdin through a pipe a few bytes at a time ----
slow_cat 7 <"$T/c.jsonl" | $R dedup -q - >"$T/sr1.out"; check short_reads_plain cmp -s "$T/c.out" "$T/sr1.out"
slow_cat 5 <"$T/c.jsonl.gz" | $R dedup -q >"$T/sr2.out"; check short_reads_gzip cmp -s "$T/c.out" "$T/sr2.out"
slow_cat 3 <"$T/c.jsonl.zst" | $R dedup -q >"$T/sr3.out"; check short_reads_zstd cmp -s "$T/c.out" "$T/sr3.out"
$R dedup -q "$DATA/bbc-news.jsonl.gz" --pairs "$T/bbc.pairs" >"$T/bbc.out"
slow_cat 4093 <"$DATA/bbc-news.jsonl.gz" | $R dedup -q --pairs "$T/bbc_sr.pairs" >"$T/bbc_sr.out"
check short_reads_bbc_gzip cmp -s "$T/bbc.out" "$T/bbc_sr.out"
check short_reads_bbc_pairs cmp -s "$T/bbc.pairs" "$T/bbc_sr.pairs"
zcat "$DATA/bbc-news.jsonl.gz" | slow_cat 65521 | $R dedup -q >"$T/bbc_sr2.out"
check short_reads_bbc_plain cmp -s "$T/bbc.out" "$T/bbc_sr2.out"

# ---- conservation and determinism on every corpus ----
for c in gutenberg bbc-news bbc-news-summary reuters21578 20news-bydate; do
	f=$DATA/$c.jsonl.gz
	lines=$(zcat "$f" | wc -l)
	$R dedup -q -j1 "$f" -o "$T/$c.o1" --pairs "$T/$c.p1" --kept "$T/$c.k1" --removed "$T/$c.r1" --stats "$T/$c.s1"
	expect_eq "${c}_exit" $? 0
	check "${c}_conserved" conserved "$T/$c.s1"
	expect_eq "${c}_read_every_line" "$(stats_field "$T/$c.s1" read)" "$lines"
	expect_eq "${c}_one_result_per_line" "$(wc -l <"$T/$c.o1")" "$lines"
	expect_eq "${c}_kept_file" "$(wc -l <"$T/$c.k1")" "$(stats_field "$T/$c.s1" kept)"
	expect_eq "${c}_removed_file" "$(wc -l <"$T/$c.r1")" "$(stats_field "$T/$c.s1" removed)"
	# kept + removed hold exactly the input lines, unaltered
	expect_eq "${c}_kept_removed_are_input" "$(cat "$T/$c.k1" "$T/$c.r1" | LC_ALL=C sort | cksum)" \
		"$(zcat "$f" | LC_ALL=C sort | cksum)"
	$R dedup -q -j2 "$f" -o "$T/$c.o2" --pairs "$T/$c.p2" --kept "$T/$c.k2" --removed "$T/$c.r2"
	zcat "$f" >"$T/$c.jsonl"
	split -n l/4 "$T/$c.jsonl" "$T/$c.part."
	rm -f "$T/$c.jsonl"
	$R dedup -q -j2 "$T/$c.part."* -o "$T/$c.o3" --pairs "$T/$c.p3" --kept "$T/$c.k3" --removed "$T/$c.r3"
	rm -f "$T/$c.part."*
	for x in o p k r; do
		check "${c}_${x}_j1_j2_same" cmp -s "$T/$c.${x}1" "$T/$c.${x}2"
		check "${c}_${x}_one_vs_four_files_same" cmp -s "$T/$c.${x}1" "$T/$c.${x}3"
	done
	rm -f "$T/$c".[opkr][123]
done
# errored records are counted, reported and kept out of kept/removed
zcat "$DATA/reuters21578.jsonl.gz" |
	awk 'NR % 1000 == 0 { print "{\"id\": \"bad" NR "\", \"text\": \"broken" } { print }' >"$T/reuters_bad.jsonl"
$R dedup -q --on-error skip -j2 "$T/reuters_bad.jsonl" -o "$T/rb.out" --kept "$T/rb.k" --removed "$T/rb.r" --stats "$T/rb.st"
expect_eq errored_exit $? 0
check errored_conserved conserved "$T/rb.st"
expect_eq errored_count "$(stats_field "$T/rb.st" errored)" 21
expect_eq errored_read "$(stats_field "$T/rb.st" read)" $(( $(zcat "$DATA/reuters21578.jsonl.gz" | wc -l) + 21 ))
expect_eq errored_reported "$(grep -c '"error": "invalid JSON' "$T/rb.out")" 21
expect_eq errored_not_in_kept_removed "$(cat "$T/rb.k" "$T/rb.r" | grep -c '"broken')" 0
rm -f "$T/reuters_bad.jsonl"

# ---- devices are written in place, never replaced ----
$R dedup -q "$T/c.jsonl" -o /dev/null --pairs /dev/null --stats /dev/null; expect_eq dev_null_outputs_exit $? 0
check dev_null_still_a_device test -c /dev/null
check dev_full_still_a_device test -c /dev/full
cli_end
