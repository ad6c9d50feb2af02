#!/usr/bin/env python3
"""What the Python binding adds to the command line's time, on the same documents.

    python benchmarks/overhead.py [--runs 3] [CORPUS.jsonl[.gz] ...]

For each corpus (default: bbc-news, reuters21578, 20news-bydate from
../shared/data), the best of --runs runs (the least disturbed by other work
on the machine; the work itself is deterministic) of
  cli       build/reprint dedup -q CORPUS -o OUT
  jsonl     reprint.dedup_jsonl(CORPUS, OUT)            same input, same output bytes
  memory    reprint.dedup(texts) on the texts already in memory (parsing the
            JSON is the caller's, not timed), then write_jsonl(OUT)
  sketch    reprint.sketch(texts) (signatures only)
Prints a table and one JSON line per corpus (--json FILE appends them).
Run it from a directory where `import reprint` finds the installed package
(not python/ itself)."""
import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time

import reprint

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = os.path.join(ROOT, "build", "reprint")
DATA = os.path.normpath(os.path.join(ROOT, "..", "shared", "data"))


def best_time(fn, runs):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def load_texts(path):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpora", nargs="*")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", help="append one JSON line per corpus to this file")
    ap.add_argument("--no-memory", action="store_true", help="skip the in-memory runs (huge corpora)")
    args = ap.parse_args()
    corpora = args.corpora or [os.path.join(DATA, f"{n}.jsonl.gz")
                               for n in ("bbc-news", "reuters21578", "20news-bydate")]
    tmp = tempfile.mkdtemp(prefix="reprint-bench-")
    out_cli, out_py = os.path.join(tmp, "cli.jsonl"), os.path.join(tmp, "py.jsonl")
    print(f"{'corpus':<28} {'docs':>8} {'MB':>7} {'cli s':>7} {'jsonl s':>8} {'+%':>6} {'memory s':>9} {'+%':>6} "
          f"{'sketch s':>9}")
    for path in corpora:
        mb = os.path.getsize(path) / 1e6
        t_cli = best_time(lambda: subprocess.run([CLI, "dedup", "-q", path, "-o", out_cli], check=True), args.runs)
        t_jsonl = best_time(lambda: reprint.dedup_jsonl(path, out_py), args.runs)
        same = open(out_cli, "rb").read() == open(out_py, "rb").read()
        row = {"corpus": os.path.basename(path), "bytes": os.path.getsize(path), "cli_s": round(t_cli, 4),
               "jsonl_s": round(t_jsonl, 4), "jsonl_overhead": round(t_jsonl / t_cli - 1, 4),
               "identical_output": same}
        t_mem = t_sk = float("nan")
        n = sum(1 for _ in reprint.read_records(path)) if args.no_memory else None
        if not args.no_memory:
            recs = load_texts(path)
            n = len(recs)
            texts = [r["text"] for r in recs]
            t_mem = best_time(lambda: reprint.dedup(recs).write_jsonl(out_py), args.runs)
            same_mem = open(out_cli, "rb").read() == open(out_py, "rb").read()
            t_sk = best_time(lambda: reprint.sketch(texts), args.runs)
            row.update(memory_s=round(t_mem, 4), memory_overhead=round(t_mem / t_cli - 1, 4),
                       identical_output_memory=same_mem, sketch_s=round(t_sk, 4))
            del recs, texts
        row["documents"] = n
        print(f"{row['corpus']:<28} {n:>8} {mb:>7.1f} {t_cli:>7.3f} {t_jsonl:>8.3f} {100 * (t_jsonl / t_cli - 1):>+6.1f} "
              f"{t_mem:>9.3f} {100 * (t_mem / t_cli - 1):>+6.1f} {t_sk:>9.3f}" + ("" if same else "  OUTPUT DIFFERS"))
        if args.json:
            with open(args.json, "a") as f:
                f.write(json.dumps(row) + "\n")
    for f in (out_cli, out_py):
        if os.path.exists(f):
            os.unlink(f)
    os.rmdir(tmp)


if __name__ == "__main__":
    sys.exit(main())
