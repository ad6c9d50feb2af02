#!/bin/sh
# Run every test program given as arguments, then every tests/cli_*.sh script,
# and finish with the line "N passed, N failed".
passed=0; failed=0
export REPRINT="${REPRINT:-build/san/reprint}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
out=$(mktemp); trap 'rm -f "$out"' EXIT
for t in "$@" tests/cli_*.sh; do
	[ -e "$t" ] || continue
	case "$t" in *.sh) cmd="sh $t" ;; *) cmd="$t" ;; esac
	start=$(date +%s)
	$cmd >"$out" 2>&1; rc=$?
	p=$(sed -n 's/^# \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$out" | tail -n 1)
	f=$(sed -n 's/^# \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$out" | tail -n 1)
	if [ -z "$p" ]; then p=0; f=1; echo "FAIL $t: exited $rc without a summary"; fi
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; echo "FAIL $t: exited $rc"; fi
	grep -E '^(FAIL|==[0-9]+==|.*runtime error)' "$out" | head -n 40
	[ "$f" != 0 ] && tail -n 30 "$out"
	printf '%-40s %4s passed %3s failed  %3ss\n' "$t" "$p" "$f" "$(( $(date +%s) - start ))"
	passed=$((passed + p)); failed=$((failed + f))
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
