#!/bin/sh
# The Spark job against the command line on one corpus, on this machine.
#   sh benchmarks/spark_scale.sh CORPUS.jsonl [PYTHON]
# Runs ROUNDS times (default 2): `reprint dedup` (all cores), then
# `python -m reprint.spark dedup` with local[1] and local[2], so the two
# alternate.  Checks every Spark output equals the CLI's byte for byte, and
# prints for each run the wall-clock seconds, documents per second, the CPU
# seconds of the whole process tree (driver, JVM, Python workers; sampled each
# second) and the cores it obtained (CPU / wall), with the load average before
# and after: on a shared machine the cores obtained, not the cores asked for,
# decide the 1 -> 2 core speed-up.  Spark event logs go to $OUT/events.
# PYTHON is a python with reprint[spark] installed (default: python3).
set -eu
CORPUS=$1
PY=${2:-python3}
ROUNDS=${ROUNDS:-2}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$(dirname "$HERE")")
OUT=${BENCH_OUT:-$(mktemp -d)}
mkdir -p "$OUT/events"
export SPARK_LOCAL_IP=${SPARK_LOCAL_IP:-127.0.0.1}
DOCS=$(wc -l < "$CORPUS")
now() { date +%s.%N; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
# cpu_tree PID FILE: until PID exits, write the CPU seconds of its process tree to FILE
cpu_tree() {
	python3 - "$1" "$2" <<'EOF'
import os, sys, time
root, out, tick, seen = int(sys.argv[1]), sys.argv[2], os.sysconf("SC_CLK_TCK"), {}
while os.path.exists(f"/proc/{root}"):
    kids, cpu = {}, {}
    for d in filter(str.isdigit, os.listdir("/proc")):
        try:
            s = open(f"/proc/{d}/stat").read()
        except OSError:
            continue
        f = s[s.rindex(")") + 2:].split()
        kids.setdefault(int(f[1]), []).append(int(d))
        cpu[int(d)] = (int(f[11]) + int(f[12])) / tick
    todo = [root]
    while todo:
        p = todo.pop()
        if p in cpu:
            seen[p] = max(seen.get(p, 0.0), cpu[p])
        todo.extend(kids.get(p, []))
    open(out, "w").write(f"{sum(seen.values()):.1f}\n")
    time.sleep(1)
EOF
}
report() { # NAME T0 T1 LOAD_BEFORE [CPU_FILE [SAME]]
	python3 -c "
import sys
name, t0, t1, lb = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
s = t1 - t0
line = f'{name}: {s:.1f} s, {$DOCS / s:.0f} docs/s'
if len(sys.argv) > 5:
    c = float(open(sys.argv[5]).read())
    line += f', cpu {c:.0f} s ({c / s:.2f} cores), output {sys.argv[6]} to the CLI\'s'
print(line + f', load {lb} -> ' + ' '.join(open('/proc/loadavg').read().split()[:3]))" "$@"
}

cd "$OUT"
for r in $(seq "$ROUNDS"); do
	lb=$(load)
	t0=$(now)
	"$ROOT/build/reprint" dedup -q "$CORPUS" -o "$OUT/cli.jsonl"
	t1=$(now)
	report "round $r cli" "$t0" "$t1" "$lb"
	for m in 1 2; do
		rm -rf "$OUT/spark$m"
		lb=$(load)
		t0=$(now)
		"$PY" -m reprint.spark dedup "$CORPUS" "$OUT/spark$m" --master "local[$m]" --partitions $((m * 8)) -q \
			--conf spark.driver.memory=12g --conf spark.sql.files.maxPartitionBytes=64m \
			--conf spark.eventLog.enabled=true --conf "spark.eventLog.dir=file://$OUT/events" 2>"$OUT/spark$m.log" &
		pid=$!
		cpu_tree "$pid" "$OUT/spark$m.cpu" &
		wait "$pid"
		t1=$(now)
		wait
		cat "$OUT/spark$m"/part-* | cmp -s - "$OUT/cli.jsonl" && same=identical || same=DIFFERENT
		report "round $r spark local[$m]" "$t0" "$t1" "$lb" "$OUT/spark$m.cpu" "$same"
	done
done
