#!/bin/sh
# Evaluate `reprint reuse` / `reprint compare` (bench/eval_reuse.py) on a private
# build of one commit, so that concurrent edits and rebuilds of build/ in the
# working tree cannot change the binary halfway through.
#
#   sh bench/eval_reuse.sh [STEP...]     STEP: bbc-summary quotes brute speed report (default: all)
#
# Env: EVAL_COMMIT (default HEAD), EVAL_BUILD (default /tmp/reprint-eval-<commit>),
#      EVAL_REPEAT (3), EVAL_BIG (bench/out/scaled-1100MB.jsonl).
# Writes bench/out/reuse/*.json and bench/out/reuse_eval.md.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
commit=$(git -C "$root" rev-parse "${EVAL_COMMIT:-HEAD}")
build=${EVAL_BUILD:-/tmp/reprint-eval-$(echo "$commit" | cut -c1-12)}
if [ ! -x "$build/build/reprint" ] || [ ! -f "$build/build/libreprint.a" ]; then
	rm -rf "$build"
	mkdir -p "$build"
	git -C "$root" archive "$commit" | tar -x -C "$build"
	make -C "$build" -j2 >/dev/null
fi
echo "$commit" >"$build/COMMIT"
# the in-process compare timer, linked against that commit's library
cc -O2 -I"$build/include" "$here/compare_time.c" "$build/build/libreprint.a" \
	-lutf8proc -lxxhash -lisal -lzstd -lz -lpthread -lm -o "$build/compare_time"
export REPRINT="$build/build/reprint" COMPARE_TIME="$build/compare_time" EVAL_COMMIT_ID="$commit"
if [ $# -eq 0 ]; then set -- all; fi
for step in "$@"; do
	python3 "$here/eval_reuse.py" "$step"
done
[ "$*" = all ] || [ "$*" = report ] || python3 "$here/eval_reuse.py" report
