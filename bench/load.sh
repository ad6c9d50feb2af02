#!/bin/sh
# bench/load.sh — load test (issue 6): dedup, reuse and index add on >= 5 GB
# of JSON Lines under a fixed memory limit, and one 200 MB document and one
# 200 MB JSON line; prints peak RSS and time of each run.
#
# The 5 GB corpus is bench/out/scaled-1100MB.jsonl (bench/make_corpus.py)
# read five times through five symbolic links (ids repeat across the copies,
# which every command accepts: the copies become duplicates).  Memory limit:
# LOAD_LIMIT_MB (default 4096) as `ulimit -v`, virtual memory, which bounds
# RSS from above.
set -eu
cd "$(dirname "$0")/.."
O=bench/out/load
LIMIT_MB=${LOAD_LIMIT_MB:-4096}
R=build/reprint
mkdir -p $O
[ -s bench/out/scaled-1100MB.jsonl ] || python3 bench/make_corpus.py scaled --mb 1100 --seed 1
for i in 1 2 3 4 5; do ln -sf ../scaled-1100MB.jsonl $O/part$i.jsonl; done
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null

run() { # NAME COMMAND...
	name=$1; shift
	if ( ulimit -v $((LIMIT_MB * 1024)); /usr/bin/time -f "%e %M" -o $O/$name.time "$@" ) >$O/$name.out 2>$O/$name.err; then
		set -- $(cat $O/$name.time)
		printf '| %s | ok | %s s | %.0f MB |\n' "$name" "$1" "$(echo "$2 / 1024" | bc -l)"
	else
		printf '| %s | FAILED (see %s) | | |\n' "$name" "$O/$name.err"
	fi
}

echo "| run | status | seconds | peak RSS |"
echo "|---|---|---:|---:|"
run dedup-5GB $R dedup -q $O/part1.jsonl $O/part2.jsonl $O/part3.jsonl $O/part4.jsonl $O/part5.jsonl -o /dev/null --stats $O/dedup.stats
# reuse runs at 6-20 MB/s on this corpus (every paragraph is reused in ~20
# documents): about 15 minutes here, so only with LOAD_REUSE=1.
[ "${LOAD_REUSE:-0}" = 1 ] && run reuse-5GB $R reuse -q $O/part1.jsonl $O/part2.jsonl $O/part3.jsonl $O/part4.jsonl $O/part5.jsonl -o /dev/null --stats $O/reuse.stats
if $R index --help >/dev/null 2>&1; then
	rm -rf $O/index
	run index-create $R index create $O/index
	run index-add-5GB $R index add $O/index $O/part1.jsonl $O/part2.jsonl $O/part3.jsonl $O/part4.jsonl $O/part5.jsonl
fi

# One 200 MB document (a file) and one 200 MB JSON line.
if [ ! -s $O/doc200.txt ]; then
	python3 - <<'PY'
import json, random
random.seed(5)
words = [json.loads(l)["text"] for l in open("bench/out/scaled-1100MB.jsonl") if random.random() < 0.2]
text, size = [], 0
for w in words:
    text.append(w); size += len(w) + 1
    if size > 200_000_000: break
body = "\n".join(text)
open("bench/out/load/doc200.txt", "w").write(body)
open("bench/out/load/line200.jsonl", "w").write(json.dumps({"id": "big", "text": body}) + "\n" +
                                               json.dumps({"id": "small", "text": text[0]}) + "\n")
PY
fi
run doc-200MB $R dedup -q --format file --max-record 300000000 $O/doc200.txt $O/doc200.txt -o $O/doc200.out
run line-200MB $R dedup -q --max-record 300000000 $O/line200.jsonl -o $O/line200.out
run compare-200MB $R compare --json $O/doc200.txt $O/doc200.txt
