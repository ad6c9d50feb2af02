#!/usr/bin/env python3
"""Run one peer near-duplicate tool on a JSONL corpus and write the duplicate
pairs it finds, with the same parameters as reprint's defaults.

  peers.py TOOL CORPUS.jsonl --pairs OUT.jsonl [--stats STATS.json]
           [--max-docs N] [--num-perm 128] [--ngram 5] [--threshold 0.8]
           [--bands 18 --rows 7] [--rensa-bands 16] [--seed 1]

TOOL is one of:
  datasketch    datasketch MinHash (MinHash.bulk: shared permutations,
                update_batch) + MinHashLSH(params=(bands, rows)); streaming
                query-then-insert; every LSH candidate is verified with
                MinHash.jaccard >= threshold.
  rensa         rensa RMinHash (RMinHash.from_token_sets, batched) +
                RMinHashLSH(threshold, num_perm, num_bands); RMinHashLSH needs
                num_perm divisible by num_bands, so 18x7 is not possible:
                --rensa-bands (default 16, i.e. 16x8); candidates verified with
                RMinHash.jaccard >= threshold.
  rensa-cminhash  rensa CMinHash + CMinHashDeduplicator(threshold, num_perm):
                get_duplicates() (already checked against the threshold by
                rensa) then add(); pairs carry CMinHash.jaccard.
  text-dedup    text-dedup's MinHash pipeline (python -m text_dedup.minhash,
                its own CLI, Hugging Face datasets under the hood) with
                --ngram 5 --num_perm 128 --threshold 0.8 --b B --r R
                --min_length 0; it does NOT verify candidates: every LSH bucket
                collision becomes an edge. Its union-find (dumped with --debug)
                gives the clusters; pairs written are (document, cluster
                representative) for every non-representative document.
                Runs with --td-python (default bench/venv/bin/python).

Tokens for datasketch and rensa are the same for both, computed in Python
(the peers have no tokenizer of their own): text.lower(), words = runs of
\\w characters, word n-grams joined by a space; a document of fewer than n
words is one shingle of its words; an empty document has no shingles.
text-dedup uses its own tokenizer (re.split on single \\W characters, which
keeps empty strings between consecutive non-word characters).

Output: one line per pair {"a": id, "b": id, "jaccard": estimate}, a before
b in input order. --stats writes {"tool","docs","bytes","seconds",...}
measured inside the process (wall time from before the peer library's
import to the pairs written; interpreter start-up excluded; for text-dedup
the wall time of its own CLI process); peak RSS is measured from outside by bench.py with
/usr/bin/time -v.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

WORD = re.compile(r"\w+")


def shingles(text, n):
    w = WORD.findall(text.lower())
    if len(w) < n:
        return [" ".join(w)] if w else []
    return list({" ".join(w[i:i + n]) for i in range(len(w) - n + 1)})


def read_corpus(path, max_docs=None):
    """Yield (id, text, nbytes) from a JSONL corpus."""
    with open(path, "rb") as f:
        for i, line in enumerate(f):
            if max_docs is not None and i >= max_docs:
                break
            d = json.loads(line)
            yield d["id"], d.get("text") or "", len(line)


def batches(it, size):
    buf = []
    for x in it:
        buf.append(x)
        if len(buf) >= size:
            yield buf
            buf = []
    if buf:
        yield buf


class Phases:
    """Wall seconds spent in each phase (read+tokenize, sketch, LSH+verify)."""

    def __init__(self):
        self.t = {"read_tokenize": 0.0, "sketch": 0.0, "lsh_verify": 0.0}
        self.last = time.perf_counter()

    def lap(self, name):
        now = time.perf_counter()
        self.t[name] += now - self.last
        self.last = now

    def out(self):
        return {"phase_seconds": {k: round(v, 3) for k, v in self.t.items()}}


def write_pairs(path, ids, pairs):
    with open(path, "w", encoding="utf-8") as f:
        for a, b, j in pairs:
            f.write(json.dumps({"a": ids[a], "b": ids[b], "jaccard": None if j is None else round(float(j), 6)},
                               ensure_ascii=False) + "\n")


# ----------------------------------------------------------------- datasketch
def run_datasketch(a):
    from datasketch import MinHash, MinHashLSH
    lsh = MinHashLSH(threshold=a.threshold, num_perm=a.num_perm, params=(a.bands, a.rows))
    ids, store, pairs = [], [], []
    nbytes = 0
    ph = Phases()
    for batch in batches(read_corpus(a.corpus, a.max_docs), 1000):
        toks = []
        for doc_id, text, nb in batch:
            ids.append(doc_id)
            nbytes += nb
            toks.append([s.encode("utf-8") for s in shingles(text, a.ngram)])
        ph.lap("read_tokenize")
        mhs = MinHash.bulk(toks, num_perm=a.num_perm, seed=a.seed)
        ph.lap("sketch")
        for m in mhs:
            k = len(store)
            for c in lsh.query(m):
                j = m.jaccard(store[c])
                if j >= a.threshold:
                    pairs.append((c, k, j))
            lsh.insert(k, m, check_duplication=False)
            store.append(m)
        ph.lap("lsh_verify")
    return ids, nbytes, pairs, {"bands": a.bands, "rows": a.rows, **ph.out()}


# ---------------------------------------------------------------------- rensa
def run_rensa(a):
    from rensa import RMinHash, RMinHashLSH
    lsh = RMinHashLSH(a.threshold, a.num_perm, a.rensa_bands)
    ids, store, pairs = [], [], []
    nbytes = 0
    ph = Phases()
    for batch in batches(read_corpus(a.corpus, a.max_docs), 1000):
        toks = []
        for doc_id, text, nb in batch:
            ids.append(doc_id)
            nbytes += nb
            toks.append(shingles(text, a.ngram))
        ph.lap("read_tokenize")
        mhs = RMinHash.from_token_sets(toks, a.num_perm, a.seed)
        ph.lap("sketch")
        for m in mhs:
            k = len(store)
            for c in lsh.query(m):
                j = m.jaccard(store[c])
                if j >= a.threshold:
                    pairs.append((c, k, j))
            lsh.insert(k, m)
            store.append(m)
        ph.lap("lsh_verify")
    return ids, nbytes, pairs, {"bands": a.rensa_bands, "rows": a.num_perm // a.rensa_bands, **ph.out()}


def run_rensa_cminhash(a):
    from rensa import CMinHash, CMinHashDeduplicator
    dedup = CMinHashDeduplicator(a.threshold, a.num_perm, a.seed)
    ids, store, pairs = [], [], []
    index = {}
    nbytes = 0
    ph = Phases()
    for batch in batches(read_corpus(a.corpus, a.max_docs), 1000):
        toks = []
        for doc_id, text, nb in batch:
            ids.append(doc_id)
            nbytes += nb
            toks.append(shingles(text, a.ngram))
        ph.lap("read_tokenize")
        mhs = CMinHash.from_token_sets(toks, a.num_perm, a.seed)
        ph.lap("sketch")
        for m in mhs:
            k = len(store)
            for key in dedup.get_duplicates(m):
                c = index[key]
                pairs.append((c, k, m.jaccard(store[c])))
            key = str(k)
            dedup.add(key, m)
            index[key] = k
            store.append(m)
        ph.lap("lsh_verify")
    return ids, nbytes, pairs, {"lsh": "CMinHashDeduplicator (rensa's own candidate search)", **ph.out()}


# ----------------------------------------------------------------- text-dedup
def run_text_dedup(a):
    import shutil
    work = os.path.abspath(a.workdir or (os.path.splitext(a.pairs)[0] + ".td"))
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    src = a.corpus
    ids, nbytes = [], 0
    if a.max_docs is not None:      # text-dedup reads whole files: cut a prefix
        src = os.path.join(work, "input.jsonl")
        with open(a.corpus, "rb") as f, open(src, "wb") as g:
            for i, line in enumerate(f):
                if i >= a.max_docs:
                    break
                g.write(line)
    cmd = [a.td_python, "-m", "text_dedup.minhash",
           "--path", "json", "--data_files", os.path.abspath(src), "--split", "train",
           "--cache_dir", os.path.join(work, "cache"), "--output", os.path.join(work, "output"),
           "--column", "text", "--idx_column", "id", "--debug",
           "--ngram", str(a.ngram), "--min_length", "0", "--num_perm", str(a.num_perm),
           "--threshold", str(a.threshold), "--b", str(a.bands), "--r", str(a.rows),
           "--num_proc", str(a.td_num_proc)]
    env = dict(os.environ, HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1", TQDM_DISABLE="1", COLUMNS="200")
    t0 = time.perf_counter()
    r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    secs = time.perf_counter() - t0
    with open(os.path.join(work, "log.txt"), "w") as f:
        f.write(" ".join(cmd) + "\n" + r.stdout)
    if r.returncode != 0:
        sys.stderr.write(r.stdout[-4000:])
        raise SystemExit(f"text-dedup failed with status {r.returncode}")
    # ids and bytes for the output mapping (read after text-dedup's run so that
    # this wrapper stays small while it runs)
    for doc_id, _t, nb in read_corpus(src):
        ids.append(doc_id)
        nbytes += nb
    # the dumped UnionFind is a text_dedup class: unpickle it in text-dedup's venv
    dump = subprocess.run(
        [a.td_python, "-c",
         "import json,pickle,sys\n"
         "uf = pickle.load(open(sys.argv[1], 'rb'))\n"
         "json.dump([[x, uf.find(x)] for x in uf.parent], sys.stdout)",
         os.path.join(work, "output", "uf.pkl")],
        stdout=subprocess.PIPE, check=True, text=True)
    pos = {d: i for i, d in enumerate(ids)}
    pairs = []
    for x, root in json.loads(dump.stdout):
        if root != x:
            a_, b_ = sorted((pos[x], pos[root]))
            pairs.append((a_, b_, None))
    pairs.sort()
    kept = None
    m = re.search(r"After\s*:\s*(\d+)", r.stdout)
    if m:
        kept = int(m.group(1))
    return ids, nbytes, pairs, {"bands": a.bands, "rows": a.rows, "num_proc": a.td_num_proc,
                                "kept": kept, "seconds": secs,
                                "note": "pairs are (doc, cluster representative) edges; unverified"}


TOOLS = {"datasketch": run_datasketch, "rensa": run_rensa,
         "rensa-cminhash": run_rensa_cminhash, "text-dedup": run_text_dedup}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tool", choices=sorted(TOOLS))
    ap.add_argument("corpus")
    ap.add_argument("--pairs", required=True)
    ap.add_argument("--stats")
    ap.add_argument("--max-docs", type=int)
    ap.add_argument("--num-perm", type=int, default=128)
    ap.add_argument("--ngram", type=int, default=5)
    ap.add_argument("--threshold", type=float, default=0.8)
    ap.add_argument("--bands", type=int, default=18)
    ap.add_argument("--rows", type=int, default=7)
    ap.add_argument("--rensa-bands", type=int, default=16)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--td-python", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                        "venv", "bin", "python"))
    ap.add_argument("--td-num-proc", type=int, default=os.cpu_count())
    ap.add_argument("--workdir")
    a = ap.parse_args()
    t0 = time.perf_counter()
    ids, nbytes, pairs, extra = TOOLS[a.tool](a)
    write_pairs(a.pairs, ids, pairs)
    # text-dedup: its own CLI process's wall time, not this wrapper's mapping work
    secs = extra.pop("seconds", None) or (time.perf_counter() - t0)
    st = {"tool": a.tool, "docs": len(ids), "bytes": nbytes, "pairs": len(pairs),
          "seconds": round(secs, 3), "docs_per_s": round(len(ids) / secs, 1),
          "mb_per_s": round(nbytes / 1e6 / secs, 3), "num_perm": a.num_perm, "ngram": a.ngram,
          "threshold": a.threshold, **extra}
    if a.stats:
        with open(a.stats, "w") as f:
            json.dump(st, f, indent=1)
    print(json.dumps(st), file=sys.stderr)


if __name__ == "__main__":
    main()
