#!/usr/bin/env python3
"""datasketch's MinHashLSH holding the same documents as a reprint index, for
bench/index_bench.sh: memory of the process holding it, and query latency.

  index_datasketch.py CORPUS.jsonl QUERIES.jsonl [--docs N] [--queries M]

Builds MinHash (MinHash.bulk, word 5-gram shingles as in bench/peers.py, 128
permutations) of the first N documents of CORPUS and inserts them into
MinHashLSH(threshold=0.8, num_perm=128, params=(18, 7)), keeping every
MinHash for verification (datasketch's LSH returns unverified candidates).
Then, one document at a time, for the M documents of QUERIES of 3500..4500
bytes: shingle, MinHash, lsh.query, verify each candidate's estimated Jaccard
(>= 0.8): the same work `reprint query` does for near-duplicates.  Prints one
JSON line: build seconds, RSS before/after (MB), bytes per document, query
p50/p90/p99 (ms, whole query and lsh.query alone), matches.
"""
import argparse
import json
import os
import re
import time

WORD = re.compile(r"\w+")


def shingles(text, n=5):
    w = WORD.findall(text.lower())
    if len(w) < n:
        return [" ".join(w)] if w else []
    return list({" ".join(w[i:i + n]) for i in range(len(w) - n + 1)})


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def hwm_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("queries")
    ap.add_argument("--docs", type=int, default=100000)
    ap.add_argument("--queries-max", type=int, default=1000)
    a = ap.parse_args()
    from datasketch import MinHash, MinHashLSH
    rss0 = rss_mb()
    t0 = time.perf_counter()
    lsh = MinHashLSH(threshold=0.8, num_perm=128, params=(18, 7))
    store = {}
    n = 0
    with open(a.corpus, "rb") as f:
        batch_ids, batch_toks = [], []
        for line in f:
            if n >= a.docs:
                break
            d = json.loads(line)
            batch_ids.append(d["id"])
            batch_toks.append([s.encode("utf-8") for s in shingles(d.get("text") or "")])
            n += 1
            if len(batch_ids) == 1000:
                for i, m in zip(batch_ids, MinHash.bulk(batch_toks, num_perm=128, seed=1)):
                    lsh.insert(i, m, check_duplication=False)
                    store[i] = m
                batch_ids, batch_toks = [], []
        if batch_ids:
            for i, m in zip(batch_ids, MinHash.bulk(batch_toks, num_perm=128, seed=1)):
                lsh.insert(i, m, check_duplication=False)
                store[i] = m
    build_s = time.perf_counter() - t0
    rss1 = rss_mb()
    lat, lat_lsh, matches = [], [], 0
    with open(a.queries, "rb") as f:
        for line in f:
            if len(lat) >= a.queries_max:
                break
            d = json.loads(line)
            text = d.get("text") or ""
            if not 3500 <= len(text.encode("utf-8")) <= 4500:
                continue
            q0 = time.perf_counter()
            m = MinHash(num_perm=128, seed=1)
            m.update_batch([s.encode("utf-8") for s in shingles(text)])
            q1 = time.perf_counter()
            cands = lsh.query(m)
            q2 = time.perf_counter()
            found = [c for c in cands if m.jaccard(store[c]) >= 0.8]
            q3 = time.perf_counter()
            matches += len(found)
            lat.append((q3 - q0) * 1e3)
            lat_lsh.append((q2 - q1) * 1e3)
    print(json.dumps({
        "tool": "datasketch MinHashLSH", "documents": n, "build_s": round(build_s, 2),
        "docs_per_s": round(n / build_s, 1), "rss_before_mb": round(rss0, 1), "rss_after_mb": round(rss1, 1),
        "bytes_per_document": round((rss1 - rss0) * 1048576 / max(n, 1), 1), "peak_rss_mb": round(hwm_mb(), 1),
        "queries": len(lat), "p50_ms": round(pct(lat, 0.5), 3), "p90_ms": round(pct(lat, 0.9), 3),
        "p99_ms": round(pct(lat, 0.99), 3), "lsh_query_p50_ms": round(pct(lat_lsh, 0.5), 3),
        "lsh_query_p99_ms": round(pct(lat_lsh, 0.99), 3), "matches_per_query": round(matches / max(len(lat), 1), 2),
        "pid": os.getpid()}))


if __name__ == "__main__":
    main()
