#!/bin/sh
# bench/index_bench.sh — the persistent index at a million documents (issue 4);
# not part of `make test`.  Writes bench/out/index/results.md and results.json.
#
# Corpus: bench/out/scaled-2000MB.jsonl, 1,107,980 documents of 2..12
# paragraphs drawn from the paragraphs of the shared corpora plus 5% planted
# edited copies (`bench/make_corpus.py scaled --mb 2000 --seed 1`, built if
# missing; news-article sized: 1.8 KB on average).  Query documents: another
# corpus from the same paragraph pool with another seed (so they are not in
# the index but share paragraphs with it, as new articles do), those of
# 3500..4500 bytes ("a 4 KB document").
#
#   1. index add of the first 1,000,000 documents (one process, -j THREADS),
#      REPEAT times into a fresh index (best and median reported), then of
#      the other 107,980 (against the million), then index compact; wall and
#      CPU seconds and peak RSS by /usr/bin/time -v
#   2. index info: bytes per document, by part
#   3. latency: bench/index_query.c opens the index once and times each of
#      2000 queries of a 4 KB document on one thread (wall and thread CPU)
#   4. peak RSS of `reprint query` over 20,000 documents (/usr/bin/time -v)
#   5. datasketch MinHashLSH holding the first DS_DOCS documents
#      (bench/index_datasketch.py): memory and query time, same queries
#
# Knobs: INDEX_BENCH_THREADS (2), INDEX_BENCH_REPEAT (3: runs of the first
# add; the machine is shared, one run says little), INDEX_BENCH_DS_DOCS (100000; building
# datasketch over a million takes about ten times as long), INDEX_BENCH_DIR
# (where the index goes, default bench/out/index).  The machine is shared:
# every step runs under nice -n 10 and the load average is recorded.
set -eu
cd "$(dirname "$0")/.."
R=${REPRINT:-build/reprint}
O=${INDEX_BENCH_DIR:-bench/out/index}
J=${INDEX_BENCH_THREADS:-2}
N=${INDEX_BENCH_REPEAT:-3}
DS=${INDEX_BENCH_DS_DOCS:-100000}
CORPUS=bench/out/scaled-2000MB.jsonl
QSRC=bench/out/scaled-120MB-seed7.jsonl
PY=bench/venv/bin/python
[ -x /usr/bin/time ] || { echo "index_bench: /usr/bin/time missing (Debian package 'time')" >&2; exit 1; }
mkdir -p "$O"
make -s build/reprint build/libreprint.a
cc -O2 -Iinclude bench/index_query.c build/libreprint.a -lutf8proc -lxxhash -lisal -lzstd -lz -lpthread -lm \
	-o "$O/index_query"
[ -f "$CORPUS" ] || nice -n 10 python3 bench/make_corpus.py scaled --mb 2000 --seed 1 -o "$CORPUS"
[ -f "$QSRC" ] || nice -n 10 python3 bench/make_corpus.py scaled --mb 120 --seed 7 -o "$QSRC"
python3 - "$QSRC" "$O/queries4k.jsonl" <<'EOF'
import json, sys
n = 0
with open(sys.argv[1], "rb") as f, open(sys.argv[2], "wb") as out:
    for line in f:
        d = json.loads(line)
        if 3500 <= len(d["text"].encode("utf-8")) <= 4500:
            d["id"] = "q" + d["id"]
            out.write((json.dumps(d) + "\n").encode("utf-8")); n += 1
print(f"{n} query documents of 3500..4500 bytes", file=sys.stderr)
EOF
head -n 20000 "$QSRC" >"$O/queries20k.jsonl"

# timed NAME CMD...: run under /usr/bin/time -v, keep wall, user+sys, peak RSS in $O/NAME.time
timed() {
	name=$1; shift
	load=$(cut -d' ' -f1 /proc/loadavg)
	nice -n 10 /usr/bin/time -v "$@" 2>"$O/$name.err" || { cat "$O/$name.err" >&2; exit 1; }
	wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$O/$name.err" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
	cpu=$(awk '/User time/ { u = $NF } /System time/ { s = $NF } END { print u + s }' "$O/$name.err")
	rss=$(awk '/Maximum resident/ { print $NF / 1024 }' "$O/$name.err")
	echo "$wall $cpu $rss $load" >"$O/$name.time"
	echo "$name: wall $wall s, cpu $cpu s, peak RSS $rss MB, load $load" >&2
}

rm -rf "$O/ix"
$R index create "$O/ix"
head -n 1000000 "$CORPUS" >"$O/part1.jsonl"
tail -n +1000001 "$CORPUS" >"$O/part2.jsonl"
cat "$O/part1.jsonl" >/dev/null # warm the page cache: measure sketching, not the disk
timed add1 $R index add -j "$J" "$O/ix" "$O/part1.jsonl"
i=2
while [ "$i" -le "$N" ]; do
	rm -rf "$O/ixr"
	$R index create "$O/ixr"
	timed "add1_$i" $R index add -j "$J" "$O/ixr" "$O/part1.jsonl"
	i=$((i + 1))
done
rm -rf "$O/ixr"
$R index info --json "$O/ix" >"$O/info1.json"
timed add2 $R index add -j "$J" "$O/ix" "$O/part2.jsonl"
timed compact $R index compact "$O/ix"
$R index info --json "$O/ix" >"$O/info.json"
$R index info "$O/ix" >"$O/info.txt"
nice -n 10 "$O/index_query" "$O/ix" "$O/queries4k.jsonl" 2000 >"$O/latency.json"
nice -n 10 "$O/index_query" "$O/ix" "$O/part1.jsonl" 2000 >"$O/latency_self.json"
timed query $R query -j "$J" "$O/ix" "$O/queries20k.jsonl" -o "$O/query20k.out"
rm -f "$O/part1.jsonl" "$O/part2.jsonl"
if [ -x "$PY" ] && [ "$DS" -gt 0 ]; then
	nice -n 10 /usr/bin/time -v "$PY" bench/index_datasketch.py "$CORPUS" "$O/queries4k.jsonl" --docs "$DS" \
		>"$O/datasketch.json" 2>"$O/datasketch.err"
	# the same number of documents in a reprint index, for a like-for-like memory figure
	rm -rf "$O/ix_small"; $R index create "$O/ix_small"
	head -n "$DS" "$CORPUS" | $R index add -q -j "$J" "$O/ix_small" -
	nice -n 10 "$O/index_query" "$O/ix_small" "$O/queries4k.jsonl" 1000 >"$O/latency_small.json"
	$R index info --json "$O/ix_small" >"$O/info_small.json"
fi

python3 - "$O" "$DS" "$N" <<'EOF'
import json, os, sys
O, DS, N = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def t(name):
    w, c, r, l = open(os.path.join(O, name + ".time")).read().split()
    return float(w), float(c), float(r), float(l)
info = json.load(open(os.path.join(O, "info.json")))
info1 = json.load(open(os.path.join(O, "info1.json")))
lat = json.load(open(os.path.join(O, "latency.json")))
lat_self = json.load(open(os.path.join(O, "latency_self.json")))
a1, a2, cp, qq = t("add1"), t("add2"), t("compact"), t("query")
runs = sorted([a1] + [t(f"add1_{i}") for i in range(2, N + 1)])
best, median = runs[0], runs[len(runs) // 2]
res = {"documents": info["documents"], "add1": a1, "add1_runs": runs, "add2": a2, "compact": cp, "query20k": qq,
       "info": info, "info_after_first_add": info1, "latency_new_4k": lat, "latency_indexed_4k": lat_self}
lines = ["# Persistent index benchmark (bench/index_bench.sh)", "",
         f"Corpus: bench/out/scaled-2000MB.jsonl, {info['documents']:,} documents (1.8 KB average); "
         "queries: 4 KB documents of another seed's corpus (not indexed, sharing paragraphs with it).", "",
         "| step | documents | wall s | CPU s | docs/s (wall) | docs per CPU s | peak RSS MB | load avg |",
         "|---|---:|---:|---:|---:|---:|---:|---:|"]
for name, n, x in [(f"index add (empty index), best of {len(runs)}", 1000000, best),
                   (f"index add (empty index), median of {len(runs)}", 1000000, median),
                   ("index add (to the million)", info["documents"] - 1000000, a2),
                   ("index compact", info["documents"], cp), ("reprint query (20,000 docs)", 20000, qq)]:
    lines.append(f"| {name} | {n:,} | {x[0]:.1f} | {x[1]:.1f} | {n / x[0]:,.0f} | {n / x[1]:,.0f} | {x[2]:.0f} | {x[3]:.1f} |")
p = info["parts"]
lines += ["", f"Index: {info['bytes']:,} bytes, {info['bytes_per_document_without_text']:.1f} bytes per document "
          f"(documents and ids {p['documents_and_ids']:.1f}, signatures {p['signatures']:.1f}, band tables {p['bands']:.1f}, "
          f"fingerprints {p['fingerprints']:.1f}); after the first add alone {info1['bytes_per_document_without_text']:.1f}.", "",
          "| query latency, one 4 KB document at a time | queries | p50 ms | p90 ms | p99 ms | max ms | CPU p50 ms | CPU p99 ms | matches/query | open s | peak RSS MB |",
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
for name, x in [("new documents", lat), ("indexed documents", lat_self)]:
    lines.append(f"| {name} | {x['queries']} | {x['p50_ms']:.3f} | {x['p90_ms']:.3f} | {x['p99_ms']:.3f} | {x['max_ms']:.2f} | "
                 f"{x['cpu_p50_ms']:.3f} | {x['cpu_p99_ms']:.3f} | {x['matches_per_query']:.2f} | {x['open_s']:.2f} | {x['peak_rss_mb']:.1f} |")
ds_path = os.path.join(O, "datasketch.json")
if os.path.exists(ds_path):
    ds = json.loads([l for l in open(ds_path) if l.startswith("{")][-1])
    small = json.load(open(os.path.join(O, "latency_small.json")))
    info_s = json.load(open(os.path.join(O, "info_small.json")))
    res.update({"datasketch": ds, "reprint_small": small, "info_small": info_s})
    lines += ["", f"Against datasketch {ds['documents']:,} documents (the corpus's first):", "",
              "| | build s | memory, bytes per document | query p50 ms | query p99 ms | matches/query |", "|---|---:|---:|---:|---:|---:|",
              f"| datasketch MinHashLSH (in memory, RSS growth) | {ds['build_s']:.1f} | {ds['bytes_per_document']:,.0f} | {ds['p50_ms']:.3f} | {ds['p99_ms']:.3f} | {ds['matches_per_query']:.2f} |",
              f"| reprint index (on disk; query process RSS {small['peak_rss_mb']:.1f} MB) | | {info_s['bytes_per_document_without_text']:.0f} | {small['p50_ms']:.3f} | {small['p99_ms']:.3f} | {small['matches_per_query']:.2f} |"]
open(os.path.join(O, "results.md"), "w").write("\n".join(lines) + "\n")
json.dump(res, open(os.path.join(O, "results.json"), "w"), indent=1)
print("\n".join(lines))
EOF
