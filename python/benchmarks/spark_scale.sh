#!/bin/sh
# The Spark job against the command line on one corpus, on this machine.
#   sh benchmarks/spark_scale.sh CORPUS.jsonl [PYTHON]
# Runs `reprint dedup` (all cores), then `python -m reprint.spark dedup` with
# local[1] and local[2], checks the Spark output equals the CLI's byte for
# byte, and prints wall-clock seconds and documents per second for each.
# PYTHON is a python with reprint[spark] installed (default: python3).
set -eu
CORPUS=$1
PY=${2:-python3}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$(dirname "$HERE")")
OUT=${BENCH_OUT:-$(mktemp -d)}
export SPARK_LOCAL_IP=${SPARK_LOCAL_IP:-127.0.0.1}
DOCS=$(wc -l < "$CORPUS")
secs() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$2"; }
now() { date +%s.%N; }

t0=$(now)
"$ROOT/build/reprint" dedup -q "$CORPUS" -o "$OUT/cli.jsonl"
t1=$(now)
cli=$(secs "$t0" "$t1")
echo "cli: $cli s, $(python3 -c "print(round($DOCS / $cli))") docs/s"
cd "$OUT"
for m in 1 2; do
	rm -rf "$OUT/spark$m"
	t0=$(now)
	"$PY" -m reprint.spark dedup "$CORPUS" "$OUT/spark$m" --master "local[$m]" --partitions $((m * 8)) -q \
		--conf spark.driver.memory=12g --conf spark.sql.files.maxPartitionBytes=64m 2>"$OUT/spark$m.log"
	t1=$(now)
	s=$(secs "$t0" "$t1")
	cat "$OUT/spark$m"/part-* | cmp -s - "$OUT/cli.jsonl" && same=identical || same=DIFFERENT
	echo "spark local[$m]: $s s, $(python3 -c "print(round($DOCS / $s))") docs/s, output $same to the CLI's"
done
