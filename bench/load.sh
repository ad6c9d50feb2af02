#!/bin/sh
# bench/load.sh — load test (issue 6): dedup, reuse and index add on >= 5 GB
# of JSON Lines under a fixed memory limit, and one 200 MB document and one
# 200 MB JSON line; prints peak RSS and time of each run.
#
# The 5 GB corpus is bench/out/scaled-1100MB.jsonl (bench/make_corpus.py)
# read five times through five symbolic links (ids repeat across the copies,
# which every command accepts: the copies become duplicates).  Memory limit:
# LOAD_LIMIT_MB (default 4096) as `ulimit -v`, virtual memory, which bounds
# RSS from above.  Results go to LOAD_OUT (default bench/out/load, where the
# inputs are); LOAD_ONLY="reuse-5GB reuse-doc-200MB" runs only the runs named;
# LOAD_REPRINT is the binary (default build/reprint).
set -eu
cd "$(dirname "$0")/.."
O=bench/out/load
LIMIT_MB=${LOAD_LIMIT_MB:-4096}
R=${LOAD_REPRINT:-build/reprint}
W=${LOAD_OUT:-$O}
mkdir -p $O $W
[ -s bench/out/scaled-1100MB.jsonl ] || python3 bench/make_corpus.py scaled --mb 1100 --seed 1
for i in 1 2 3 4 5; do ln -sf ../scaled-1100MB.jsonl $O/part$i.jsonl; done
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null

want() { case " ${LOAD_ONLY:-$1} " in *" $1 "*) return 0 ;; esac; return 1; }
run() { # NAME COMMAND...
	name=$1; shift
	want "$name" || return 0
	if ( ulimit -v $((LIMIT_MB * 1024)); /usr/bin/time -f "%e %M" -o $W/$name.time "$@" ) >$W/$name.out 2>$W/$name.err; then
		set -- $(cat $W/$name.time)
		printf '| %s | ok | %s s | %.0f MB |\n' "$name" "$1" "$(echo "$2 / 1024" | bc -l)"
	else
		printf '| %s | FAILED (see %s) | | |\n' "$name" "$W/$name.err"
	fi
}

echo "| run | status | seconds | peak RSS |"
echo "|---|---|---:|---:|"
run dedup-5GB $R dedup -q $O/part1.jsonl $O/part2.jsonl $O/part3.jsonl $O/part4.jsonl $O/part5.jsonl -o /dev/null --stats $W/dedup.stats
# reuse on 5.5 GB of documents that share text only where a passage was
# planted (bench/make_corpus.py distinct: 5% reprint 1-3 paragraphs of an
# earlier document, 5% are edited copies).  The scaled corpus above draws
# from a finite paragraph pool: at 5 GB every paragraph recurs in ~100
# documents and the pairs alone outgrow any memory limit; LOAD_REUSE=scaled
# runs reuse on it anyway.
[ -s bench/out/distinct-5500MB.jsonl ] || ! want reuse-5GB || python3 bench/make_corpus.py distinct --mb 5500
run reuse-5GB $R reuse -q bench/out/distinct-5500MB.jsonl -o /dev/null --stats $W/reuse.stats
[ "${LOAD_REUSE:-}" = scaled ] && run reuse-5GB-scaled $R reuse -q $O/part1.jsonl $O/part2.jsonl $O/part3.jsonl $O/part4.jsonl $O/part5.jsonl -o /dev/null --stats $W/reuse-scaled.stats
if $R index --help >/dev/null 2>&1 && want index-create; then
	rm -rf $W/index
	run index-create $R index create $W/index
	run index-add-5GB $R index add $W/index $O/part1.jsonl $O/part2.jsonl $O/part3.jsonl $O/part4.jsonl $O/part5.jsonl
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
run doc-200MB $R dedup -q --format file --max-record 300000000 $O/doc200.txt $O/doc200.txt -o $W/doc200.out
run line-200MB $R dedup -q --max-record 300000000 $O/line200.jsonl -o $W/line200.out
# reuse of one 200 MB document alone, and of the 200 MB line with its first
# paragraph as a second document (one passage to find).
run reuse-doc-200MB $R reuse -q --format file --max-record 300000000 $O/doc200.txt -o $W/reuse-doc200.out
run reuse-line-200MB $R reuse -q --max-record 300000000 $O/line200.jsonl -o $W/reuse-line200.out
run compare-200MB $R compare --json $O/doc200.txt $O/doc200.txt
