#!/bin/sh
# Threads under ThreadSanitizer: the commands that use the pool, run by
# build/tsan/reprint with four threads on real corpora (more threads than
# cores, so the interleavings vary), must report no data race and give the
# bytes the ASan build gives with one thread: dedup in every verification mode
# (the shared cache of exact results, the walk overlapped with the next
# round's band keys, the output written while the next round is formatted),
# --containment, reuse, index add and query.
. tests/lib.sh
TS="${REPRINT_TSAN:-build/tsan/reprint}"
export TSAN_OPTIONS="halt_on_error=1:exitcode=66"
if [ ! -x "$TS" ]; then
	fail tsan-binary "$TS missing (make build/tsan/reprint)"
	cli_end
	exit
fi
# same NAME COMMAND ARGS...: "$TS" -j$J (4 unless set) and "$R" -j1 on ARGS,
# outputs (and for dedup the pairs) to $T/NAME.*
same() {
	n=$1; cmd=$2; shift 2
	set -- "$cmd" "$@"
	[ "$cmd" = dedup ] && set -- "$@" --pairs "$T/$n.tp"
	"$TS" "$@" -j"${J:-4}" -o "$T/$n.t" 2>"$T/$n.err"; rc=$?
	[ "$cmd" = dedup ] && mv "$T/$n.tp" "$T/$n.pt" && set -- "$@" --pairs "$T/$n.tp"
	"$R" "$@" -j1 -o "$T/$n.s" 2>/dev/null
	if [ "$rc" != 0 ]; then fail "$n" "exit $rc: $(grep -m1 -A3 'WARNING: ThreadSanitizer' "$T/$n.err" | tr '\n' ' ')"
	elif ! cmp -s "$T/$n.t" "$T/$n.s"; then fail "$n" "-j${J:-4} under TSan differs from -j1"
	elif [ "$cmd" = dedup ] && ! cmp -s "$T/$n.pt" "$T/$n.tp"; then fail "$n" "pairs at -j${J:-4} under TSan differ from -j1"
	else ok "$n"; fi
}
for c in 20news-bydate reuters21578; do
	for v in auto exact estimate; do
		same "dedup-$c-$v" dedup -q --verify "$v" "$DATA/$c.jsonl.gz"
	done
done
# no more threads than cores (2 here and in CI): the pool's idle threads spin
# between jobs instead of sleeping
J=2
same dedup-reuters21578-j2 dedup -q "$DATA/reuters21578.jsonl.gz"
J=4
same dedup-containment dedup -q --containment 0.8 "$DATA/bbc-news.jsonl.gz"
same reuse reuse -q "$DATA/bbc-news.jsonl.gz"
"$TS" index create "$T/ix4" >/dev/null 2>&1 && "$R" index create "$T/ix1" >/dev/null 2>&1
"$TS" index add -q -j4 "$T/ix4" "$DATA/reuters21578.jsonl.gz" 2>"$T/add.err"; rc=$?
"$R" index add -q -j1 "$T/ix1" "$DATA/reuters21578.jsonl.gz" 2>/dev/null
check index-add-no-race [ "$rc" = 0 ]
"$TS" query -q -j4 "$T/ix4" "$DATA/bbc-news.jsonl.gz" -o "$T/q4" 2>"$T/q.err"; rc=$?
"$R" query -q -j1 "$T/ix1" "$DATA/bbc-news.jsonl.gz" -o "$T/q1" 2>/dev/null
check query-no-race [ "$rc" = 0 ]
check query-same cmp -s "$T/q4" "$T/q1"
cli_end
