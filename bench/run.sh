#!/bin/sh
# `make bench`: reprint side by side with its peers (datasketch, rensa,
# text-dedup) on the same corpora, same parameters, same machine; then
# reprint alone on a >= 1 GiB corpus. Writes bench/out/results.md (and
# results.json); every run's output, pairs, stats and log are kept in
# bench/out/runs/CORPUS/.
#
# Knobs (environment):
#   BENCH_SCALED_MB  size of the scaled corpus run against the peers (100)
#   BENCH_BIG_MB     size of the reprint-only corpus, 0 to skip (1100)
#   BENCH_BUDGET     seconds a peer may take on a corpus before it is run on a
#                    prefix and extrapolated (900)
#   BENCH_TOOLS      comma list (reprint-j1,reprint-j2,datasketch,rensa,rensa-cminhash,text-dedup)
set -eu
cd "$(dirname "$0")/.."
SCALED_MB=${BENCH_SCALED_MB:-100}
BIG_MB=${BENCH_BIG_MB:-1100}
BUDGET=${BENCH_BUDGET:-900}
TOOLS=${BENCH_TOOLS:-reprint-j1,reprint-j2,datasketch,rensa,rensa-cminhash,text-dedup}
O=bench/out
mkdir -p $O

sh bench/peers.sh
# Every tool runs under bench/rusage.c, which reports the tool's own peak RSS
# (bench.py: Linux keeps ru_maxrss across execve).
cc -O2 -o $O/rusage bench/rusage.c

# Corpora and truth are deterministic: built once, reused while present.
[ -s $O/news.jsonl ] || python3 bench/make_corpus.py news
[ -s $O/scaled-${SCALED_MB}MB.jsonl ] || python3 bench/make_corpus.py scaled --mb "$SCALED_MB"
[ -s $O/news.truth.jsonl ] || python3 bench/truth.py $O/news.jsonl -o $O/news.truth.jsonl
[ -s $O/scaled-${SCALED_MB}MB.truth.jsonl ] ||
	python3 bench/truth.py $O/scaled-${SCALED_MB}MB.jsonl -o $O/scaled-${SCALED_MB}MB.truth.jsonl

set -- --corpus news=$O/news.jsonl:$O/news.truth.jsonl \
	--how "news=BBC News (2,225 articles) and Reuters-21578 (21,578 stories, 737 of them empty) concatenated as they are, JSONL with id and text (\`bench/make_corpus.py news\`). Truth: brute-force exact Jaccard over all pairs (\`bench/truth.py\`)." \
	--corpus scaled-${SCALED_MB}MB=$O/scaled-${SCALED_MB}MB.jsonl:$O/scaled-${SCALED_MB}MB.truth.jsonl
if [ "$BIG_MB" != 0 ]; then
	[ -s $O/scaled-${BIG_MB}MB.jsonl ] || python3 bench/make_corpus.py scaled --mb "$BIG_MB"
	set -- "$@" --corpus scaled-${BIG_MB}MB=$O/scaled-${BIG_MB}MB.jsonl:$O/scaled-${BIG_MB}MB.planted.jsonl \
		--corpus-tools scaled-${BIG_MB}MB=reprint-j1,reprint-j2
fi
python3 bench/bench.py "$@" --tools "$TOOLS" --budget "$BUDGET" --results $O/results
echo "bench: results in $O/results.md" >&2
