#!/usr/bin/env python3
"""Brute-force truth: every pair of documents whose exact Jaccard of word
5-gram shingle sets is >= the threshold.

  truth.py CORPUS.jsonl -o TRUTH.jsonl [--threshold 0.8] [--ngram 5] [--max-docs N]

Shingles: text.lower(), words = runs of \\w characters, word n-grams (a
document of fewer than n words is one shingle of the words it has); the same
definition the peers are given (peers.py). Documents with no words at all are
left out (their count is reported): every pair of them would be "identical",
which says nothing about near-duplicate finding.

Exact, not sampled: an all-pairs similarity join with prefix filtering
(Bayardo et al., "Scaling up all pairs similarity search", WWW 2007).
Shingles are ordered by ascending corpus frequency; documents are taken in
ascending size; a document's first |x| - ceil(t*|x|) + 1 shingles in that
order are probed against, then added to, an inverted index. Two sets with
Jaccard >= t always share a shingle within both prefixes, so every such pair
becomes a candidate; each candidate passing the size filter is checked with
the exact set Jaccard. No pair is estimated.

Output: {"a": id, "b": id, "jaccard": J} per pair, a before b in input order,
sorted by (a, b) input position.
"""
import argparse
import json
import math
import re
import sys
import time
from collections import Counter

WORD = re.compile(r"\w+")


def shingle_hashes(text, n):
    w = WORD.findall(text.lower())
    if len(w) < n:
        return {hash(" ".join(w))} if w else set()
    return {hash(" ".join(w[i:i + n])) for i in range(len(w) - n + 1)}


def load(path, n, max_docs=None):
    ids, sets = [], []
    with open(path, "rb") as f:
        for i, line in enumerate(f):
            if max_docs is not None and i >= max_docs:
                break
            d = json.loads(line)
            ids.append(d["id"])
            sets.append(frozenset(shingle_hashes(d.get("text") or "", n)))
    return ids, sets


def all_pairs(sets, t):
    freq = Counter()
    for s in sets:
        freq.update(s)
    order = sorted((i for i, s in enumerate(sets) if s), key=lambda i: len(sets[i]))
    index = {}
    out = []
    eps = 1e-9
    for x in order:
        sx = sets[x]
        nx = len(sx)
        toks = sorted(sx, key=lambda h: (freq[h], h))
        p = nx - math.ceil(t * nx - eps) + 1
        prefix = toks[:p]
        cands = set()
        for h in prefix:
            lst = index.get(h)
            if lst:
                cands.update(lst)
        minsize = t * nx - eps
        for y in cands:
            sy = sets[y]
            ny = len(sy)
            if ny < minsize:
                continue
            inter = len(sx & sy)
            j = inter / (nx + ny - inter)
            if j >= t - eps:
                out.append((min(x, y), max(x, y), j))
        for h in prefix:
            lst = index.get(h)
            if lst is None:
                index[h] = [x]
            else:
                lst.append(x)
    out.sort()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus")
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("--threshold", type=float, default=0.8)
    ap.add_argument("--ngram", type=int, default=5)
    ap.add_argument("--max-docs", type=int)
    a = ap.parse_args()
    t0 = time.perf_counter()
    ids, sets = load(a.corpus, a.ngram, a.max_docs)
    t1 = time.perf_counter()
    pairs = all_pairs(sets, a.threshold)
    t2 = time.perf_counter()
    with open(a.out, "w", encoding="utf-8") as f:
        for x, y, j in pairs:
            f.write(json.dumps({"a": ids[x], "b": ids[y], "jaccard": round(j, 6)}, ensure_ascii=False) + "\n")
    empty = sum(1 for s in sets if not s)
    print(f"truth: {len(ids)} documents ({empty} with no words, left out), {len(pairs)} pairs with "
          f"J >= {a.threshold}; load {t1 - t0:.1f}s, join {t2 - t1:.1f}s -> {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
