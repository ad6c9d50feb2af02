#!/bin/sh
# Replay every committed fuzz corpus fuzz/corpus/<target>/ through its target
# built with gcc and ASan+UBSan (build/san/fuzz_<target>, made by `make
# test`): every input must keep every invariant the target checks (a
# violation aborts and names the input).  One check per input.
. tests/lib.sh
for dir in fuzz/corpus/*/; do
	t=$(basename "$dir")
	bin=build/san/fuzz_$t
	if [ ! -x "$bin" ]; then
		fail "replay_$t" "$bin is not built (make test builds it)"
		continue
	fi
	start=$(date +%s)
	"$bin" "$dir" >"$T/replay_$t" 2>&1
	rc=$?
	n=$(sed -n 's/^# \([0-9]*\) passed, 0 failed$/\1/p' "$T/replay_$t")
	if [ "$rc" = 0 ] && [ -n "$n" ]; then
		P=$((P + n))
		echo "ok replay_$t: $n inputs in $(( $(date +%s) - start )) s"
	else
		fail "replay_$t" "exit $rc after: $(grep '^replay ' "$T/replay_$t" | tail -n 1)"
		grep -E 'invariant violated|ERROR|runtime error|SUMMARY' "$T/replay_$t" | head -n 5
	fi
done
cli_end
