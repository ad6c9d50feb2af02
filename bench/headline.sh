#!/bin/sh
# headline.sh — the headline speed figures of bench/RESULTS.md in about ten
# minutes, side by side in one run: reprint dedup -j1/-j2 on the scaled
# corpora (best and median of RUNS), datasketch and rensa once on the 100 MB
# corpus (the ratios), and reprint reuse per CPU-second on the real corpora.
# Run it on a quiet machine after `make` and `make bench` (which builds the
# corpora and bench/venv); it prints Markdown rows to stdout and the load
# average before each block.  HEADLINE_PEERS=0 skips the peers.
set -eu
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
OUT=${TMPDIR:-/tmp}/reprint-headline
mkdir -p "$OUT"
R=build/reprint
DATA=../shared/data

# The peak RSS of each run from bench/rusage.c (the command's own ru_maxrss)
RU=bench/out/rusage
[ $RU -nt bench/rusage.c ] || { mkdir -p bench/out && cc -O2 -o $RU bench/rusage.c; }

# best and median wall and CPU seconds of RUNS runs of a command
measure() {
	i=0
	: >"$OUT/times"
	while [ $i -lt "$RUNS" ]; do
		# Wall and CPU from perf when there is perf (its elapsed time in us, its
		# task-clock in ms), else wall from date and CPU from rusage
		if command -v perf >/dev/null 2>&1; then
			perf stat -e task-clock -o "$OUT/ps" $RU "$OUT/t1" "$@" >/dev/null
			cpu=$(awk '/task-clock/ { gsub(/,/, "", $1); printf "%.4f", $1 / 1000 }' "$OUT/ps")
			wall=$(awk '/seconds time elapsed/ { gsub(/,/, "", $1); print $1 }' "$OUT/ps")
		else
			t0=$(date +%s%N)
			$RU "$OUT/t1" "$@" >/dev/null
			t1=$(date +%s%N)
			wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')
			cpu=$(awk '{ printf "%.4f", $2 + $3 }' "$OUT/t1")
		fi
		awk -v c="$cpu" -v w="$wall" '{ print w, c, 0, $1 }' "$OUT/t1" >>"$OUT/times"
		i=$((i + 1))
	done
	sort -n "$OUT/times" | awk -v n="$RUNS" '
		{ w[NR] = $1; c[NR] = $2 + $3; m[NR] = $4 }
		END { printf "%.4f %.4f %.4f %.0f\n", w[1], w[int((n + 1) / 2)], c[1], m[1] / 1024 }'
}

# Leave FILE in the page cache as a file read from disk is (large folios),
# not as the corpus generator's 8 KB writes left it (8 KB folios, which cost
# the kernel's copy 2.5 times the CPU): write back, drop its pages, read it
# once.  Every tool below reads it in that state (the peers the 100 MB file
# settled for reprint's runs).  bench.py does the same.
settle() {
	sync "$1"
	dd if="$1" iflag=nocache count=0 status=none
	cat "$1" >/dev/null
}

echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| corpus | MB | -j1 wall best/median | -j1 CPU s | -j2 wall best/median | -j2/-j1 | peak MB |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for c in scaled-100MB scaled-1100MB; do
	f=bench/out/$c.jsonl
	[ -f "$f" ] || continue
	settle "$f"
	mb=$(awk -v b="$(stat -c %s "$f")" 'BEGIN { printf "%.0f", b / 1e6 }')
	set -- $(measure $R dedup -q -j1 "$f" -o "$OUT/o.jsonl")
	w1=$1 m1=$2 c1=$3
	set -- $(measure $R dedup -q -j2 "$f" -o "$OUT/o.jsonl")
	w2=$1 m2=$2 rss=$4
	awk -v c="$c" -v mb="$mb" -v w1="$w1" -v m1="$m1" -v c1="$c1" -v w2="$w2" -v m2="$m2" -v rss="$rss" 'BEGIN {
		printf "| %s | %s | %.3f s (%.0f MB/s) / %.3f | %.3f (%.0f MB per CPU-s) | %.3f s (%.0f MB/s) / %.3f | %.2fx | %s |\n",
		       c, mb, w1, mb / w1, m1, c1, mb / c1, w2, mb / w2, m2, w1 / w2, rss }'
done

if [ "${HEADLINE_PEERS:-1}" != 0 ] && [ -x bench/venv/bin/python ] && [ -f bench/out/scaled-100MB.jsonl ]; then
	echo
	echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "| peer on scaled 100 MB | s (inside the process) |"
	echo "|---|---:|"
	for t in datasketch rensa; do
		bench/venv/bin/python bench/peers.py $t bench/out/scaled-100MB.jsonl --pairs "$OUT/$t.pairs" \
			--stats "$OUT/$t.stats" >/dev/null
		python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print('| %s | %.2f |' % (sys.argv[2], s['seconds']))" \
			"$OUT/$t.stats" $t
	done
fi

echo
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| reuse -j1 | MB | CPU s (fastest run) | MB per CPU-s | wall s best | peak MB |"
echo "|---|---:|---:|---:|---:|---:|"
for f in $DATA/bbc-news.jsonl.gz $DATA/reuters21578.jsonl.gz $DATA/20news-bydate.jsonl.gz \
         bench/out/scaled-100MB.jsonl ${HEADLINE_REUSE_BIG:-}; do
	[ -f "$f" ] || continue
	case $f in
	*.gz) mb=$(gzip -dc "$f" | wc -c | awk '{ printf "%.1f", $1 / 1e6 }') ;;
	*) mb=$(awk -v b="$(stat -c %s "$f")" 'BEGIN { printf "%.1f", b / 1e6 }') ;;
	esac
	set -- $(measure $R reuse -q -j1 "$f" -o "$OUT/r.jsonl")
	awk -v f="$(basename "$f")" -v mb="$mb" -v w="$1" -v c="$3" -v rss="$4" 'BEGIN {
		printf "| %s | %s | %.3f | %.0f | %.3f | %s |\n", f, mb, c, mb / c, w, rss }'
done
