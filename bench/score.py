#!/usr/bin/env python3
"""Score a tool's duplicate pairs (and clusters) against brute-force truth.

  score.py CORPUS.jsonl TRUTH.jsonl PAIRS.jsonl [--clusters OUT.jsonl]
           [--threshold 0.8] [--ngram 5] [--name TOOL] [--json SCORE.json]

PAIRS: lines {"a": id, "b": id, ...} (reprint --pairs, peers.py --pairs).
CLUSTERS: reprint's output lines {"id": ..., "cluster": representative id};
without it, clusters are the connected components of PAIRS.
TRUTH: truth.py output (every pair with exact Jaccard >= threshold), or
make_corpus.py's .planted.jsonl (only its pairs with jaccard >= threshold
count: recall is then recall of the planted copies).

Pairs that involve a document with no words are left out of every count
(truth.py leaves those documents out too) and reported as "empty_pairs".

Measures:
  recall_pairs     truth pairs reported as a pair
  recall_clusters  truth pairs whose two documents end in one cluster
  recall_hi        recall_clusters over truth pairs with J >= threshold + 0.05
                   (the issue's acceptance band)
  precision        reported pairs whose exact Jaccard is >= threshold
  precision_tol    reported pairs whose exact Jaccard is >= threshold - 0.1
  min_jaccard      lowest exact Jaccard of a reported pair
Exact Jaccard of reported pairs is computed here with the same shingles as
truth.py.
"""
import argparse
import json
import sys

sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(__file__)))
from truth import shingle_hashes  # noqa: E402


def read_jsonl(path):
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


class UF:
    def __init__(self):
        self.p = {}

    def find(self, x):
        p = self.p
        root = x
        while p.get(root, root) != root:
            root = p[root]
        while p.get(x, x) != root:
            p[x], x = root, p[x]
        return root

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.p[rb] = ra


def score(corpus, truth_path, pairs_path, clusters_path=None, t=0.8, n=5):
    pos = {}
    for i, d in enumerate(read_jsonl(corpus)):
        pos[d["id"]] = i

    def key(a, b):
        pa, pb = pos[a], pos[b]
        return (pa, pb) if pa < pb else (pb, pa)

    truth = {}
    for d in read_jsonl(truth_path):
        if d["a"] in pos and d["b"] in pos and d["jaccard"] >= t - 1e-9:
            truth[key(d["a"], d["b"])] = d["jaccard"]
    reported = set()
    for d in read_jsonl(pairs_path):
        if d["a"] == d["b"]:
            continue
        reported.add(key(d["a"], d["b"]))
    # shingle sets of every document in a reported pair
    need = {x for p in reported for x in p}
    sets = {}
    for i, d in enumerate(read_jsonl(corpus)):
        if i in need:
            sets[i] = shingle_hashes(d.get("text") or "", n)
    empty_pairs = {p for p in reported if not sets[p[0]] or not sets[p[1]]}
    reported -= empty_pairs
    exact = {}
    for p in reported:
        a, b = sets[p[0]], sets[p[1]]
        i = len(a & b)
        exact[p] = i / (len(a) + len(b) - i)
    # clusters
    if clusters_path:
        cl = {}
        for d in read_jsonl(clusters_path):
            if d.get("id") in pos:
                cl[pos[d["id"]]] = d.get("cluster")
        same = lambda a, b: cl.get(a) is not None and cl.get(a) == cl.get(b)  # noqa: E731
        nclusters = len(set(cl.values()))
    else:
        uf = UF()
        for a, b in reported | empty_pairs:
            uf.union(a, b)
        same = lambda a, b: uf.find(a) == uf.find(b)  # noqa: E731
        nclusters = len(pos) - sum(1 for x in list(uf.p) if uf.find(x) != x)
    nt = len(truth)
    hi = [p for p, j in truth.items() if j >= t + 0.05]
    r = {
        "docs": len(pos),
        "truth_pairs": nt,
        "reported_pairs": len(reported),
        "empty_pairs": len(empty_pairs),
        "clusters": nclusters,
        "recall_pairs": sum(1 for p in truth if p in reported) / nt if nt else None,
        "recall_clusters": sum(1 for p in truth if same(*p)) / nt if nt else None,
        "recall_hi": sum(1 for p in hi if same(*p)) / len(hi) if hi else None,
        "precision": (sum(1 for j in exact.values() if j >= t - 1e-9) / len(exact)) if exact else None,
        "precision_tol": (sum(1 for j in exact.values() if j >= t - 0.1 - 1e-9) / len(exact)) if exact else None,
        "min_jaccard": min(exact.values()) if exact else None,
    }
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus")
    ap.add_argument("truth")
    ap.add_argument("pairs")
    ap.add_argument("--clusters")
    ap.add_argument("--threshold", type=float, default=0.8)
    ap.add_argument("--ngram", type=int, default=5)
    ap.add_argument("--name", default="")
    ap.add_argument("--json")
    a = ap.parse_args()
    r = score(a.corpus, a.truth, a.pairs, a.clusters, a.threshold, a.ngram)
    r["tool"] = a.name
    if a.json:
        with open(a.json, "w") as f:
            json.dump(r, f, indent=1)
    fmt = lambda v: "-" if v is None else (f"{v:.4f}" if isinstance(v, float) else str(v))  # noqa: E731
    print(" ".join(f"{k}={fmt(v)}" for k, v in r.items()))


if __name__ == "__main__":
    main()
