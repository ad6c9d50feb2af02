#!/usr/bin/env python3
"""Deterministic benchmark corpora built from the real corpora in ../shared/data.

  make_corpus.py news   [--data DIR] [-o bench/out/news.jsonl]
      BBC News (2,225) + Reuters-21578 (21,578) concatenated, as JSONL
      {"id": "bbc:<id>" | "reuters:<id>", "text": ...}. Texts are byte-for-byte
      the source texts (empty Reuters stories included: they are real).

  make_corpus.py scaled --mb N [--seed S] [--dup-share 0.05] [-o FILE]
      About N MB (10^6 bytes) of JSONL: new documents, each 2..12 paragraphs
      drawn with a seeded RNG from the paragraph pool of all corpora (BBC,
      Reuters, 20 Newsgroups, Gutenberg; paragraphs of >= 10 words, exact
      repeats removed), plus a share (default 5%) of planted edited copies of
      earlier original documents. The truth for the planted copies goes to
      FILE with .jsonl replaced by .planted.jsonl: one line per copy
      {"a": source id, "b": copy id, "jaccard": exact Jaccard of the lowercase
      word 5-gram sets, "edits": {...}}.

  make_corpus.py distinct --mb N [--seed S] [--reuse-share 0.05] [--dup-share 0.05] [-o FILE]
      About N MB of JSONL whose documents do not share text by construction,
      for load tests of `reuse` at any size (the scaled corpus draws from a
      finite paragraph pool, so at gigabytes every paragraph recurs in
      dozens of documents).  Each document has 2..12 paragraphs of words
      drawn at random with the corpora's word frequencies; a share
      (--reuse-share) also carries 1..3 paragraphs copied verbatim from an
      earlier document (a reprinted passage), and a share (--dup-share) is an
      edited copy of an earlier document, as in `scaled`.

Edits of a planted copy: word drops and adjacent-word swaps at a per-copy
rate (30% of copies get none; the rest spread exact Jaccard over roughly
0.55..1.0, around the 0.8 threshold), and, each with probability 1/2, changes that must not change the
tokens after normalisation: case changes, straight->typographic quotes,
re-flowed lines (re-wrapped at a random width, or paragraphs joined),
NBSP for some spaces.

Same arguments, same bytes: everything depends only on the source files,
the seed and N. Python's own str hash is never used.
"""
import argparse
import array
import operator
import gzip
import json
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "data"))
OUT = os.path.join(HERE, "out")

WORD = re.compile(r"\w+")
PARA_SPLIT = re.compile(r"\n\s*\n|\n(?=[ \t]{3,}\S)")
SPACES = re.compile(r"\s+")


def read_jsonl_gz(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def shingles(text, n=5):
    """Lowercase words split on non-word characters, word n-gram set.
    A document shorter than n words is one shingle of the words it has;
    an empty document is the empty set. (Same definition as peers.py/truth.py.)"""
    w = WORD.findall(text.lower())
    if len(w) < n:
        return {" ".join(w)} if w else set()
    return {" ".join(w[i:i + n]) for i in range(len(w) - n + 1)}


def jaccard(a, b):
    if not a and not b:
        return 1.0
    i = len(a & b)
    return i / (len(a) + len(b) - i)


def dump(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


# --------------------------------------------------------------------- news
def build_news(data, out):
    n = 0
    size = 0
    with open(out + ".tmp", "w", encoding="utf-8", newline="\n") as f:
        for name, prefix in (("bbc-news.jsonl.gz", "bbc:"), ("reuters21578.jsonl.gz", "reuters:")):
            for d in read_jsonl_gz(os.path.join(data, name)):
                line = dump({"id": prefix + str(d["id"]), "text": d["text"]}) + "\n"
                f.write(line)
                n += 1
    os.replace(out + ".tmp", out)
    size = os.path.getsize(out)
    print(f"news: {n} documents, {size / 1e6:.1f} MB -> {out}", file=sys.stderr)


# ------------------------------------------------------------------- scaled
def paragraph_pool(data):
    pool = []
    seen = set()
    for name in ("bbc-news.jsonl.gz", "reuters21578.jsonl.gz",
                 "20news-bydate.jsonl.gz", "gutenberg.jsonl.gz"):
        for d in read_jsonl_gz(os.path.join(data, name)):
            for p in PARA_SPLIT.split(d["text"]):
                p = p.strip("\n")
                if len(p.split()) < 10:
                    continue
                key = SPACES.sub(" ", p).strip()
                if key in seen:
                    continue
                seen.add(key)
                pool.append(p)
    return pool


QUOTES = str.maketrans({"'": "\u2019", '"': "\u201d"})


def edit_copy(rng, paras):
    """Return (text, edits) for a planted edited copy of the paragraphs."""
    if rng.random() < 0.3:      # normalisation-only copy: same tokens
        drop = swap = 0.0
    else:
        drop = rng.uniform(0.0, 0.03)
        swap = rng.uniform(0.0, 0.012)
    edits = {"drop": round(drop, 4), "swap": round(swap, 4)}
    do_case = rng.random() < 0.5
    do_quotes = rng.random() < 0.5
    reflow = rng.random() < 0.5
    nbsp = rng.random() < 0.25
    out = []
    for p in paras:
        toks = [t for t in p.split() if rng.random() >= drop]
        i = 0
        while i < len(toks) - 1:
            if rng.random() < swap:
                toks[i], toks[i + 1] = toks[i + 1], toks[i]
                i += 2
            else:
                i += 1
        if do_case:
            toks = [t.upper() if rng.random() < 0.05 else (t.capitalize() if rng.random() < 0.05 else t)
                    for t in toks]
        out.append(toks)
    if do_case:
        edits["case"] = True
    if do_quotes:
        edits["quotes"] = True
    if nbsp:
        edits["nbsp"] = True
    if reflow:
        width = rng.randint(40, 90)
        joined = rng.random() < 0.3
        edits["reflow"] = "joined" if joined else width
        if joined:
            out = [[t for toks in out for t in toks]]
        paras_txt = []
        for toks in out:
            lines, cur, ln = [], [], 0
            for t in toks:
                if cur and ln + 1 + len(t) > width:
                    lines.append(" ".join(cur))
                    cur, ln = [], 0
                ln += len(t) + (1 if cur else 0)
                cur.append(t)
            if cur:
                lines.append(" ".join(cur))
            paras_txt.append("\n".join(lines))
    else:
        paras_txt = [" ".join(toks) for toks in out]
    text = "\n\n".join(paras_txt)
    if do_quotes:
        text = text.translate(QUOTES)
    if nbsp:
        text = text.replace(" the ", "\u00a0the\u00a0")
    return text, edits


class LineWriter:
    """JSON lines to an open file, 4096 at a time; size counts the bytes."""

    def __init__(self, f):
        self.f, self.buf, self.size = f, [], 0

    def add(self, obj):
        line = dump(obj) + "\n"
        self.buf.append(line)
        self.size += len(line) if line.isascii() else len(line.encode("utf-8"))
        if len(self.buf) >= 4096:
            self.flush()

    def flush(self):
        self.f.write("".join(self.buf))
        self.buf.clear()


def build_scaled(data, mb, seed, dup_share, out):
    rng = random.Random(seed)
    pool = paragraph_pool(data)
    npool = len(pool)
    target = int(mb * 1e6)
    originals = []          # (id, paragraph indices) of original documents
    n = 0
    n_planted = 0
    truth_path = re.sub(r"\.jsonl$", "", out) + ".planted.jsonl"
    with open(out + ".tmp", "w", encoding="utf-8", newline="\n") as f, \
            open(truth_path + ".tmp", "w", encoding="utf-8", newline="\n") as tf:
        w = LineWriter(f)
        while w.size < target:
            doc_id = f"doc{n:08d}"
            if originals and rng.random() < dup_share:
                src_id, idx = originals[rng.randrange(len(originals))]
                paras = [pool[i] for i in idx]
                text, edits = edit_copy(rng, paras)
                j = jaccard(shingles("\n\n".join(paras)), shingles(text))
                tf.write(dump({"a": src_id, "b": doc_id, "jaccard": round(j, 6), "edits": edits}) + "\n")
                n_planted += 1
            else:
                k = rng.randint(2, 12)
                idx = tuple(rng.randrange(npool) for _ in range(k))
                originals.append((doc_id, idx))
                text = "\n\n".join(pool[i] for i in idx)
            w.add({"id": doc_id, "text": text})
            n += 1
        w.flush()
    os.replace(out + ".tmp", out)
    os.replace(truth_path + ".tmp", truth_path)
    meta = {"mb": mb, "seed": seed, "dup_share": dup_share, "paragraph_pool": npool,
            "documents": n, "planted": n_planted, "bytes": os.path.getsize(out),
            "how": "documents of 2..12 paragraphs drawn with random.Random(seed) from the "
                   "de-duplicated >=10-word paragraphs of bbc-news, reuters21578, 20news-bydate "
                   "and gutenberg; planted edited copies (word drops/swaps, case, quotes, reflow, "
                   "NBSP) of earlier originals, truth in the .planted.jsonl file"}
    with open(re.sub(r"\.jsonl$", "", out) + ".meta.json", "w") as mf:
        json.dump(meta, mf, indent=1)
    print(f"scaled: {n} documents ({n_planted} planted copies), {meta['bytes'] / 1e6:.1f} MB, "
          f"pool {npool} paragraphs -> {out}", file=sys.stderr)


def build_distinct(data, mb, seed, reuse_share, dup_share, out):
    rng = random.Random(seed)
    pool = paragraph_pool(data)
    counts = {}
    for p in pool[:200000]:
        for w in p.split():
            counts[w] = counts.get(w, 0) + 1
    vocab = sorted(counts)
    cum, total = [], 0
    for w in vocab:
        total += counts[w]
        cum.append(total)
    lengths = [len(p.split()) for p in pool]
    # 65536 words drawn by frequency, indexed by random 16-bit numbers: the
    # sampling then runs in C (operator.itemgetter), 5 GB in minutes.
    table = rng.choices(vocab, cum_weights=cum, k=65536)
    pick = operator.itemgetter
    target = int(mb * 1e6)
    recent = []  # paragraphs of recent originals, to reprint from
    n = n_reused = n_dup = 0
    with open(out + ".tmp", "w", encoding="utf-8", newline="\n") as f:
        w = LineWriter(f)
        while w.size < target:
            if recent and rng.random() < dup_share:
                text, _ = edit_copy(rng, recent[rng.randrange(len(recent))])
                n_dup += 1
            else:
                ks = [max(10, lengths[rng.randrange(len(lengths))]) for _ in range(rng.randint(2, 12))]
                words = pick(*array.array("H", rng.randbytes(2 * sum(ks))))(table)
                paras, at = [], 0
                for k in ks:
                    paras.append(" ".join(words[at:at + k]))
                    at += k
                if recent and rng.random() < reuse_share:
                    src = recent[rng.randrange(len(recent))]
                    for _ in range(rng.randint(1, 3)):
                        paras.insert(rng.randrange(len(paras) + 1), src[rng.randrange(len(src))])
                    n_reused += 1
                if len(recent) < 10000:
                    recent.append(paras)
                else:
                    recent[rng.randrange(10000)] = paras
                text = "\n\n".join(paras)
            w.add({"id": f"d{n:09d}", "text": text})
            n += 1
        w.flush()
    os.replace(out + ".tmp", out)
    print(f"distinct: {n} documents ({n_reused} reprinting passages, {n_dup} edited copies), "
          f"{w.size / 1e6:.1f} MB -> {out}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=["news", "scaled", "distinct"])
    ap.add_argument("--reuse-share", type=float, default=0.05)
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--mb", type=float, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dup-share", type=float, default=0.05)
    ap.add_argument("-o", "--out")
    a = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    if a.kind == "news":
        build_news(a.data, a.out or os.path.join(OUT, "news.jsonl"))
    elif a.kind == "distinct":
        name = f"distinct-{a.mb:g}MB.jsonl"
        build_distinct(a.data, a.mb, a.seed, a.reuse_share, a.dup_share, a.out or os.path.join(OUT, name))
    else:
        name = f"scaled-{a.mb:g}MB.jsonl" if a.seed == 1 else f"scaled-{a.mb:g}MB-s{a.seed}.jsonl"
        build_scaled(a.data, a.mb, a.seed, a.dup_share, a.out or os.path.join(OUT, name))


if __name__ == "__main__":
    main()
