#!/bin/sh
# fuzz/run.sh — `make fuzz`: build the libFuzzer targets with clang (ASan,
# UBSan, coverage) into build/fuzz/ and run each for FUZZ_SECONDS (default
# 60), one after another.  Each run starts from the committed corpus
# fuzz/corpus/<target>/ plus the working corpus build/fuzz/work_<target>/
# kept from earlier runs; afterwards both are minimised with -merge=1 into
# the smallest set that keeps every feature, which replaces the generated
# inputs of fuzz/corpus/<target>/ (commit them); the hand-made seed-* and
# regress-* inputs always stay.  A finding leaves
# build/fuzz/crash_<target>-*: copy it into fuzz/corpus/<target>/ as
# regress-<name> once fixed, so `make test` replays it forever.
#
#   FUZZ_SECONDS=600 FUZZ_TARGETS="reader dedup" sh fuzz/run.sh
# The fuzzers run under nice -n FUZZ_NICE (default 10), relative to run.sh's
# own niceness.
set -u
cd "$(dirname "$0")/.." || exit 1
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_TARGETS=${FUZZ_TARGETS:-$(ls fuzz/fuzz_*.c | sed 's|fuzz/fuzz_\(.*\)\.c|\1|')} # default: every target
CLANG=${CLANG:-clang}
if ! command -v "$CLANG" >/dev/null 2>&1; then
	echo "fuzz/run.sh: $CLANG not found; make fuzz needs clang and libFuzzer:" >&2
	echo "  apt-get install clang libclang-rt-dev   (Debian 12: clang-14 libclang-rt-14-dev)" >&2
	exit 1
fi
LIBS="-lutf8proc -lxxhash -lisal -lzstd -lz -lpthread -lm"
FLAGS="-g -O1 -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude -Isrc -fno-omit-frame-pointer
       -fsanitize=address,undefined -fno-sanitize-recover=all"
COV="-fsanitize-coverage-ignorelist=fuzz/coverage-ignore.txt"
mkdir -p build/fuzz/obj || exit 1

# The library, instrumented for coverage (rebuilt when a source is newer).
objs=""
for src in src/*.c; do
	obj=build/fuzz/obj/$(basename "$src" .c).o
	objs="$objs $obj"
	if [ ! -e "$obj" ] || [ "$src" -nt "$obj" ] || [ include/reprint.h -nt "$obj" ] || [ src/internal.h -nt "$obj" ]; then
		$CLANG $FLAGS -fsanitize=fuzzer-no-link $COV -c "$src" -o "$obj" || exit 1
	fi
done
rm -f build/fuzz/libreprint.a && ar rcs build/fuzz/libreprint.a $objs || exit 1

# The longest input each target takes: enough for a few dozen documents or
# JSON lines; the reader pads inputs to a megabyte itself when asked to; the
# index target's inputs replace whole segment files of 4 to 14 KB.
max_len() {
	case $1 in
	reader) echo 4096 ;; tokenize) echo 4096 ;; sketch) echo 4096 ;; dedup) echo 4096 ;; index) echo 16384 ;; *) echo 4096 ;;
	esac
}

status=0
for t in $FUZZ_TARGETS; do
	bin=build/fuzz/fuzz_$t
	# fuzz_reader cuts the library's read() calls short (as the Makefile does).
	wrap=""; [ "$t" = reader ] && wrap="-Wl,--wrap=read"
	$CLANG $FLAGS -fsanitize=fuzzer $COV fuzz/fuzz_$t.c build/fuzz/libreprint.a $wrap $LIBS -o "$bin" || exit 1
	mkdir -p "build/fuzz/work_$t" "fuzz/corpus/$t"
	echo "== fuzz_$t: $FUZZ_SECONDS s, -max_len=$(max_len "$t")"
	nice -n "${FUZZ_NICE:-10}" "$bin" -max_total_time="$FUZZ_SECONDS" -max_len="$(max_len "$t")" -timeout=30 \
		-rss_limit_mb=4096 -print_final_stats=1 \
		-artifact_prefix="build/fuzz/crash_$t-" "build/fuzz/work_$t" "fuzz/corpus/$t" \
		>"build/fuzz/log_$t.txt" 2>&1
	rc=$?
	grep -E '^(#[0-9]+ *DONE|Done|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY|invariant violated)' \
		"build/fuzz/log_$t.txt" | tail -n 6
	if [ "$rc" != 0 ]; then
		echo "fuzz_$t: FINDING (exit $rc); see build/fuzz/log_$t.txt and build/fuzz/crash_$t-*" >&2
		status=1
		continue
	fi
	# Minimise: the smallest set of inputs (committed ones and the working
	# corpus) that keeps every feature; seed-* and regress-* always stay.
	before=$(ls "fuzz/corpus/$t" | wc -l)
	rm -rf "build/fuzz/merged_$t" && mkdir -p "build/fuzz/merged_$t"
	if nice -n "${FUZZ_NICE:-10}" "$bin" -merge=1 -max_len="$(max_len "$t")" -timeout=30 -rss_limit_mb=4096 \
		"build/fuzz/merged_$t" "fuzz/corpus/$t" "build/fuzz/work_$t" >>"build/fuzz/log_$t.txt" 2>&1; then
		keep=$(cd "fuzz/corpus/$t" && ls | grep -E '^(seed|regress)-' | xargs -r sha1sum | cut -d' ' -f1)
		find "fuzz/corpus/$t" -type f ! -name 'seed-*' ! -name 'regress-*' -delete
		for f in "build/fuzz/merged_$t"/*; do
			[ -e "$f" ] || continue
			echo "$keep" | grep -qx "$(basename "$f")" || cp "$f" "fuzz/corpus/$t/"
		done
	else
		echo "fuzz_$t: merge failed; corpus left as it was (see build/fuzz/log_$t.txt)" >&2
		status=1
	fi
	echo "fuzz_$t: corpus $before -> $(ls "fuzz/corpus/$t" | wc -l) files, $(cat "fuzz/corpus/$t"/* | wc -c) bytes"
done
exit $status
