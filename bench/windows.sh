#!/bin/sh
# windows.sh — reprint against datasketch and rensa side by side, in short
# windows, for a host whose speed changes from minute to minute (the tenth
# session's tables in bench/RESULTS.md).  Each window: settle the scaled
# 100 MB corpus, RUNS runs of reprint dedup -j2 and -j1 alternating,
# datasketch twice and rensa once, then AFTER more -j2 runs; one Markdown row
# per window with the ratios of datasketch's mean time to the two -j2
# medians.  Run after `make` and `make bench` (the corpus and bench/venv).
#   WINDOWS=4 RUNS=31 AFTER=15 PAUSE=20 sh bench/windows.sh
set -eu
cd "$(dirname "$0")/.."
WINDOWS=${WINDOWS:-4}
RUNS=${RUNS:-31}
AFTER=${AFTER:-15}
PAUSE=${PAUSE:-20}
OUT=${TMPDIR:-/tmp}/reprint-windows
mkdir -p "$OUT"
F=bench/out/scaled-100MB.jsonl
PY=bench/venv/bin/python
[ -f "$F" ] && [ -x "$PY" ] || { echo "windows.sh: run make bench first ($F, $PY)" >&2; exit 2; }

# wall seconds of one run of a command (perf's elapsed time when there is perf)
wall() {
	if command -v perf >/dev/null 2>&1; then
		perf stat -o "$OUT/ps" "$@" >/dev/null 2>&1
		awk '/seconds time elapsed/ { gsub(/,/, "", $1); print $1 }' "$OUT/ps"
	else
		t0=$(date +%s%N)
		"$@" >/dev/null 2>&1
		t1=$(date +%s%N)
		awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", (b - a) / 1e9 }'
	fi
}

# "median best" in ms of the numbers in a file
stats() {
	sort -n "$1" | awk '{ v[NR] = $1 * 1000 } END { printf "%.1f %.1f\n", v[int((NR + 1) / 2)], v[1] }'
}

# the seconds a peer reports for itself (its --stats file)
peer() {
	$PY bench/peers.py "$1" "$F" --pairs "$OUT/$1.pairs" --stats "$OUT/$1.stats" >/dev/null 2>&1
	$PY -c 'import json, sys; print(json.load(open(sys.argv[1]))["seconds"])' "$OUT/$1.stats"
}

echo "| window (UTC) | -j2 median (best) | -j1 median (best) | -j2 after the peers (best) | datasketch | rensa | datasketch (mean) / -j2, both medians |"
echo "|---|---:|---:|---:|---:|---:|---:|"
w=0
while [ $w -lt "$WINDOWS" ]; do
	[ $w -gt 0 ] && sleep "$PAUSE"
	start=$(date -u +%H:%M)
	# as a file read from disk is cached (bench/headline.sh, settle)
	sync "$F"
	dd if="$F" iflag=nocache count=0 status=none
	cat "$F" >/dev/null
	: >"$OUT/j2"; : >"$OUT/j1"; : >"$OUT/after"
	i=0
	while [ $i -lt "$RUNS" ]; do
		wall build/reprint dedup -q -j2 "$F" -o "$OUT/o2.jsonl" >>"$OUT/j2"
		wall build/reprint dedup -q -j1 "$F" -o "$OUT/o1.jsonl" >>"$OUT/j1"
		i=$((i + 1))
	done
	d1=$(peer datasketch)
	d2=$(peer datasketch)
	r=$(peer rensa)
	i=0
	while [ $i -lt "$AFTER" ]; do
		wall build/reprint dedup -q -j2 "$F" -o "$OUT/o2.jsonl" >>"$OUT/after"
		i=$((i + 1))
	done
	set -- $(stats "$OUT/j2") $(stats "$OUT/j1") $(stats "$OUT/after")
	awk -v t="$start" -v m2="$1" -v b2="$2" -v m1="$3" -v b1="$4" -v ma="$5" -v ba="$6" \
	    -v d1="$d1" -v d2="$d2" -v r="$r" 'BEGIN {
		d = (d1 + d2) / 2
		printf "| %s | %.1f (%.1f) | %.1f (%.1f) | %.1f (%.1f) | %.2f, %.2f | %.2f | %.0fx, %.0fx |\n",
		       t, m2, b2, m1, b1, ma, ba, d1, d2, r, d * 1000 / m2, d * 1000 / ma
	}'
	w=$((w + 1))
done
