#!/usr/bin/env python3
"""Evaluate `reprint reuse` and `reprint compare` against real labels and brute force.

  eval_reuse.py bbc-summary   summary sentences of BBC News Summary found in their article
  eval_reuse.py quotes        20 Newsgroups quoted replies (truth from the quote marks)
  eval_reuse.py brute         recall against brute-force shared runs of >= 50 tokens
                              (BBC News, a 20 MB sample of 20 Newsgroups)
  eval_reuse.py speed         reuse MB/s and peak RSS (-j1, -j2), compare time per call
  eval_reuse.py report        bench/out/reuse_eval.md from the JSON results
  eval_reuse.py all           everything above, in order

Every step writes bench/out/reuse/<step>.json (figures) next to the raw outputs, and
`report` assembles them.  Python standard library only.  Run from the project root
(or anywhere: paths are relative to this file).  Knobs: REPRINT (binary, default
build/reprint), DATA (default ../shared/data), EVAL_REPEAT (timings, default 3),
EVAL_BIG (the >= 1 GB corpus, default bench/out/scaled-1100MB.jsonl).

Tokens (to mirror reprint's, docs/NORMALIZATION.md): NFKC + casefold, default-
ignorable code points removed, a word broken by "-" at a line end joined, tokens
= maximal runs of letters, digits and combining marks (so "_" and "'" split).
"""
import bisect
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter, defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
REPRINT = os.environ.get("REPRINT", os.path.join(ROOT, "build", "reprint"))
DATA = os.environ.get("DATA", os.path.join(ROOT, "..", "shared", "data"))
OUT = os.path.join(HERE, "out", "reuse")
REPEAT = int(os.environ.get("EVAL_REPEAT", "3"))
BIG = os.environ.get("EVAL_BIG", os.path.join(HERE, "out", "scaled-1100MB.jsonl"))

# ---------------------------------------------------------------- tokens
WORD = re.compile(r"(?:[^\W_]|[\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u0610-\u061a\u064b-\u065f"
                  r"\u0900-\u0903\u093a-\u094f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f])+")
IGNORABLE = re.compile("[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
                       "\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8]")
HYPHEN_EOL = re.compile(r"(?<=[^\W_])-[ \t]*\r?\n[ \t]*(?=[^\W_])")
HYPHEN_GAP = re.compile(r"-[ \t]*\r?\n[ \t]*")
HYPHEN_CUT = re.compile(r"-[ \t]*\r?\n[ \t]*")


def norm(s):
    s = IGNORABLE.sub("", s)
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", s).casefold())


def tokens(text):
    """Normalised tokens of a text (no offsets)."""
    return WORD.findall(norm(HYPHEN_EOL.sub("", text)))


def tokens_spans(text):
    """Tokens with byte spans [start, end) in text's UTF-8 encoding.  Tokens are
    found on the original text and then normalised one by one (a token that NFKC
    splits keeps its run's span, as in reprint)."""
    text2 = IGNORABLE.sub("\u00ad", text)  # keep offsets; soft hyphen is a non-word char here
    out = []
    runs = []  # (start, end) char ranges of word runs, joined across "-" + line end
    for m in WORD.finditer(text2):
        if runs and HYPHEN_GAP.fullmatch(text2, runs[-1][1], m.start()):
            runs[-1] = (runs[-1][0], m.end())
        else:
            runs.append((m.start(), m.end()))
    if text.isascii():
        for a, b in runs:
            out.append((HYPHEN_CUT.sub("", text2[a:b]).lower(), a, b))
        return out
    pref = [0] * (len(text) + 1)
    acc = 0
    for i, ch in enumerate(text):
        pref[i] = acc
        o = ord(ch)
        acc += 1 if o < 0x80 else 2 if o < 0x800 else 3 if o < 0x10000 else 4
    pref[len(text)] = acc
    for a, b in runs:
        for t in WORD.findall(norm(HYPHEN_CUT.sub("", text2[a:b]))) or [text2[a:b].lower()]:
            out.append((t, pref[a], pref[b]))
    return out


def read_jsonl_gz(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def read_jsonl(path):
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def save(name, obj):
    os.makedirs(OUT, exist_ok=True)
    obj["commit"] = os.environ.get("EVAL_COMMIT_ID")
    obj["reprint"] = REPRINT
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(obj, f, indent=1, ensure_ascii=False)
    print(f"wrote {os.path.join(OUT, name + '.json')}", file=sys.stderr)


def load(name):
    p = os.path.join(OUT, name + ".json")
    if not os.path.exists(p):
        return None
    with open(p) as f:
        return json.load(f)


def run_reuse(inputs, out, min_words, threads=None, extra=(), stats=True):
    """Run reprint reuse; returns (wall seconds, stats dict)."""
    os.makedirs(os.path.dirname(out), exist_ok=True)
    st = out + ".stats.json"
    cmd = [REPRINT, "reuse", "-q", "--min-words", str(min_words), "-o", out, "--stats", st]
    if threads:
        cmd += ["-j", str(threads)]
    cmd += list(extra) + list(inputs)
    t0 = time.perf_counter()
    # Through a shell that forks: Linux keeps ru_maxrss across execve, so a
    # reprint forked straight from this (big) Python process would report
    # Python's peak RSS as its own.
    subprocess.run(["/bin/sh", "-c", '"$@"; exit $?', "sh"] + cmd, check=True)
    wall = time.perf_counter() - t0
    with open(st) as f:
        s = json.load(f)
    return wall, s


def uptime():
    with open("/proc/loadavg") as f:
        return f.read().split()[:3]


def merge_ranges(ranges):
    out = []
    for s, e in sorted(ranges):
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1][1] = e
        else:
            out.append([s, e])
    return out


def covered_mask(spans, ranges):
    """1 for each token span (s, e) that lies inside one of the byte ranges."""
    m = merge_ranges(ranges)
    starts = [r[0] for r in m]
    out = []
    for s, e in spans:
        k = bisect.bisect_right(starts, s) - 1
        out.append(1 if k >= 0 and e <= m[k][1] else 0)
    return out


# ---------------------------------------------------------------- 1. BBC News Summary
SENT_SPLIT = re.compile(r"(?<=[.!?][\"'])(?=[A-Z\"'])|(?<=[.!?])(?=[A-Z])")


def split_sentences(s):
    """Char ranges of the sentences of a summary (joined without separator)."""
    cuts = [0] + [m.start() for m in SENT_SPLIT.finditer(s)] + [len(s)]
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


def char_to_byte(s):
    if s.isascii():
        return lambda i: i
    pref = [0] * (len(s) + 1)
    acc = 0
    for i, ch in enumerate(s):
        pref[i] = acc
        acc += len(ch.encode("utf-8"))
    pref[len(s)] = acc
    return lambda i: pref[i]


def seq_ratio(x, y):
    import difflib
    return difflib.SequenceMatcher(None, x, y, autojunk=False).ratio()


def bbc_summary():
    docs = list(read_jsonl_gz(os.path.join(DATA, "bbc-news-summary.jsonl.gz")))
    tmp = tempfile.mkdtemp(prefix="eval-reuse-bbcsum-")
    jl = os.path.join(OUT, "bbcsum.jsonl")
    os.makedirs(OUT, exist_ok=True)
    truth = {}  # id -> dict
    short = 0
    nsent_all = 0
    not_verbatim = []
    with open(jl, "w", encoding="utf-8") as f:
        for d in docs:
            art, summ = d["text"], d["summary"]
            f.write(json.dumps({"id": d["id"] + "#text", "text": art}, ensure_ascii=False) + "\n")
            f.write(json.dumps({"id": d["id"] + "#summary", "text": summ}, ensure_ascii=False) + "\n")
            toks = tokens_spans(summ)
            c2b = char_to_byte(summ)
            art_joined = " " + " ".join(t for t, _, _ in tokens_spans(art)) + " "
            sents = []
            true_tok = set()  # tokens of summary sentences (any length) found verbatim in the article
            for a, b in split_sentences(summ):
                nsent_all += 1
                ba, bb = c2b(a), c2b(b)
                idx = [k for k, (t, s, e) in enumerate(toks) if s >= ba and e <= bb]
                verb = (" " + " ".join(toks[k][0] for k in idx) + " ") in art_joined
                if verb:
                    true_tok.update(idx)
                if len(idx) < 8:
                    short += 1
                    continue
                if not verb:
                    not_verbatim.append((d["id"], summ[a:b]))
                sents.append({"bytes": [ba, bb], "tok": idx, "verbatim": verb})
            truth[d["id"]] = {"toks": toks, "sents": sents, "art": art, "summ": summ, "true_tok": true_tok}
            with open(os.path.join(tmp, d["id"].replace("/", "_") + ".a"), "w", encoding="utf-8") as g:
                g.write(art)
            with open(os.path.join(tmp, d["id"].replace("/", "_") + ".b"), "w", encoding="utf-8") as g:
                g.write(summ)

    def passages_compare(mw, reverse):
        """{id: [(article range, summary range, words)]} from one compare per pair."""
        res = {}
        t0 = time.perf_counter()
        for d in docs:
            a = os.path.join(tmp, d["id"].replace("/", "_") + ".a")
            b = os.path.join(tmp, d["id"].replace("/", "_") + ".b")
            args = [REPRINT, "compare", "--json", "--min-words", str(mw)] + ([b, a] if reverse else [a, b])
            o = json.loads(subprocess.run(args, check=True, capture_output=True).stdout)
            ps = []
            for p in o["passages"]:
                pa, pb = (p["b"], p["a"]) if reverse else (p["a"], p["b"])
                ps.append((pa, pb, p["words"]))
            res[d["id"]] = ps
        return res, time.perf_counter() - t0

    def passages_reuse(mw):
        out = os.path.join(OUT, f"bbcsum-reuse-m{mw}.jsonl")
        wall, st = run_reuse([jl], out, mw, extra=["--boilerplate", out + ".boiler.jsonl"])
        res = defaultdict(list)
        other = 0
        for r in read_jsonl(out):
            ia, ib = r["a"].split("#"), r["b"].split("#")
            if ia[0] == ib[0] and {ia[1], ib[1]} == {"text", "summary"}:
                for p in r["passages"]:
                    pa, pb = (p["a"], p["b"]) if ia[1] == "text" else (p["b"], p["a"])
                    res[ia[0]].append((pa, pb, p["words"]))
            else:
                other += 1
        nboiler = sum(1 for _ in read_jsonl(out + ".boiler.jsonl")) if os.path.exists(out + ".boiler.jsonl") else 0
        return res, wall, st, other, nboiler

    def score(res):
        n = found = nv = found_v = 0
        by_len = defaultdict(lambda: [0, 0])
        ptoks = ptoks_true = 0
        pass_n = pass_exact = 0
        pw_b = pw_match = 0
        bad_pass = []
        ratios = []
        missed = []
        for did, t in truth.items():
            ps = res.get(did, [])
            spans = [(s, e) for _, s, e in t["toks"]]
            cov = covered_mask(spans, [tuple(p[1]) for p in ps])
            true_tok = t["true_tok"]
            for s in t["sents"]:
                c = sum(cov[k] for k in s["tok"]) / len(s["tok"])
                ok = c >= 0.8
                n += 1
                found += ok
                L = len(s["tok"])
                bucket = "8-11" if L < 12 else "12-19" if L < 20 else "20-29" if L < 30 else "30+"
                by_len[bucket][0] += 1
                by_len[bucket][1] += ok
                if s["verbatim"]:
                    nv += 1
                    found_v += ok
                    if not ok:
                        missed.append((did, L, round(c, 2), t["summ"].encode()[s["bytes"][0]:s["bytes"][1]].decode()))
            ptoks += sum(cov)
            ptoks_true += sum(cov[k] for k in true_tok)
            abytes = t["art"].encode("utf-8")
            sbytes = t["summ"].encode("utf-8")
            for pa, pb, w in ps:
                ta = tokens(abytes[pa[0]:pa[1]].decode("utf-8"))
                tb = tokens(sbytes[pb[0]:pb[1]].decode("utf-8"))
                pass_n += 1
                pass_exact += ta == tb
                pw_b += len(tb)
                if ta != tb:
                    ratios.append(seq_ratio(ta, tb))
                    import difflib
                    sm = difflib.SequenceMatcher(None, ta, tb, autojunk=False)
                    pw_match += sum(m.size for m in sm.get_matching_blocks())
                    if len(bad_pass) < 8:
                        bad_pass.append({"id": did, "article": abytes[pa[0]:pa[1]].decode("utf-8")[:200],
                                         "summary": sbytes[pb[0]:pb[1]].decode("utf-8")[:200]})
                else:
                    pw_match += len(tb)
        return {
            "sentences": n, "found": found, "recall": found / n if n else 0,
            "verbatim_sentences": nv, "verbatim_found": found_v, "recall_verbatim": found_v / nv if nv else 0,
            "recall_by_length": {k: {"n": v[0], "found": v[1], "recall": v[1] / v[0]} for k, v in sorted(by_len.items())},
            "precision_words": ptoks_true / ptoks if ptoks else 0, "passage_words_summary": ptoks,
            "passages": pass_n, "passages_identical_tokens": pass_exact,
            "precision_aligned_words": pw_match / pw_b if pw_b else None, "misaligned_examples": bad_pass,
            "min_ratio_nonidentical": min(ratios) if ratios else None,
            "missed_examples": missed[:12], "missed": len(missed),
        }

    result = {"docs": len(docs), "summary_sentences": nsent_all, "short_sentences_dropped": short,
              "not_verbatim": len(not_verbatim), "not_verbatim_examples": not_verbatim[:5],
              "load": uptime(), "runs": {}}
    for mw in (8, 12):
        for reverse in (False, True):
            res, secs = passages_compare(mw, reverse)
            sc = score(res)
            sc["seconds_total"] = secs
            sc["ms_per_call_process"] = 1000 * secs / len(docs)
            result["runs"][f"compare-m{mw}" + ("-reversed" if reverse else "")] = sc
            print(f"compare m{mw} rev={reverse}: recall {sc['recall']:.4f} ({sc['found']}/{sc['sentences']}), "
                  f"precision {sc['precision_words']:.4f}, {secs:.1f} s", file=sys.stderr)
        best = None
        for _ in range(REPEAT):
            res, wall, st, other, nb = passages_reuse(mw)
            if best is None or st["seconds"] < best[2]["seconds"]:
                best = (res, wall, st, other, nb)
        res, wall, st, other, nb = best
        sc = score(res)
        # misses explained by boilerplate masking: the sentence overlaps a boilerplate span of its summary
        bp = {}
        bpath = os.path.join(OUT, f"bbcsum-reuse-m{mw}.jsonl.boiler.jsonl")
        for r in read_jsonl(bpath):
            bp[r["id"]] = r["boilerplate"]
        in_bp = 0
        for did, t in truth.items():
            ranges = bp.get(did + "#summary", [])
            if not ranges:
                continue
            spans = [(s_, e_) for _, s_, e_ in t["toks"]]
            cov = covered_mask(spans, [tuple(p[1]) for p in res.get(did, [])])
            bmask = covered_mask(spans, [tuple(x) for x in ranges])
            for s_ in t["sents"]:
                if sum(cov[k] for k in s_["tok"]) < 0.8 * len(s_["tok"]) and any(bmask[k] for k in s_["tok"]):
                    in_bp += 1
        sc["missed_overlapping_boilerplate"] = in_bp
        sc.update({"stats": st, "wall": wall, "pairs_other": other, "docs_with_boilerplate": nb})
        result["runs"][f"reuse-m{mw}"] = sc
        print(f"reuse m{mw}: recall {sc['recall']:.4f} ({sc['found']}/{sc['sentences']}), "
              f"precision {sc['precision_words']:.4f}, {st['seconds']:.2f} s", file=sys.stderr)
    save("bbc_summary", result)
    return result


# ---------------------------------------------------------------- 2. 20 Newsgroups quoted replies
QUOTED = re.compile(r"^[ \t]{0,3}[>|]")
# other quote marks seen in 20news (tin's ":", "}", "=", "#", initials "TK>", "ac:"); only used to
# tell quote-related reported pairs from the rest, not for the truth
QUOTED_BROAD = re.compile(r"^[ \t]{0,3}(?:[>|:}=#%]|[A-Za-z]{1,4}[>:] )")


def quote_blocks(text, pattern=QUOTED):
    """Byte ranges of the quoted blocks (runs of lines starting with > or |,
    blank lines between quoted lines included) and of all quoted lines."""
    lines = text.split("\n")
    b = 0
    info = []  # (start byte, end byte, kind) kind: 1 quoted, 0 blank, -1 other
    for ln in lines:
        L = len(ln.encode("utf-8"))
        kind = 1 if pattern.match(ln) else 0 if not ln.strip() else -1
        info.append((b, b + L, kind))
        b += L + 1
    blocks = []
    cur = None
    last_q = None
    for s, e, k in info:
        if k == 1:
            if cur is None:
                cur = [s, e]
            else:
                cur[1] = e
            last_q = e
        elif k == -1:
            if cur is not None:
                blocks.append((cur[0], last_q))
                cur = None
    if cur is not None:
        blocks.append((cur[0], last_q))
    quoted_lines = [(s, e) for s, e, k in info if k == 1]
    return blocks, quoted_lines


def exact_runs(x, y, k=8, ypos=None):
    """Maximal exact common runs (i, j, length >= k) of token lists x and y."""
    if ypos is None:
        ypos = defaultdict(list)
        for j in range(len(y) - k + 1):
            ypos[tuple(y[j:j + k])].append(j)
    runs = []
    seen = set()
    for i in range(len(x) - k + 1):
        js = ypos.get(tuple(x[i:i + k]))
        if not js or len(js) > 50:
            continue
        for j in js:
            if (i - j) in seen and i > 0 and j > 0 and x[i - 1] == y[j - 1]:
                continue  # inside a run already found
            if i > 0 and j > 0 and x[i - 1] == y[j - 1]:
                continue
            L = k
            while i + L < len(x) and j + L < len(y) and x[i + L] == y[j + L]:
                L += 1
            runs.append((i, j, L))
    return runs


def quotes():
    path = os.path.join(DATA, "20news-bydate.jsonl.gz")
    docs = list(read_jsonl_gz(path))
    ids = [d["id"] for d in docs]
    pos = {x: i for i, x in enumerate(ids)}
    t0 = time.perf_counter()
    toks = []  # per doc: list of (token, start, end)
    blocks = []
    qlines = []
    qbroad = []
    own_shingles = defaultdict(list)  # hash of 8 tokens of own (unquoted) text -> docs
    K = 8
    for i, d in enumerate(docs):
        ts = tokens_spans(d["text"])
        toks.append(ts)
        bl, ql = quote_blocks(d["text"])
        blocks.append(bl)
        qlines.append(ql)
        qbroad.append(quote_blocks(d["text"], QUOTED_BROAD)[1])
        qmask = covered_mask([(s, e) for _, s, e in ts], ql) if ql else [0] * len(ts)
        # own text = tokens not on quoted lines, in order (quoted lines removed)
        own = [t for (t, _, _), q in zip(ts, qmask) if not q]
        seen = set()
        for j in range(len(own) - K + 1):
            h = hash(tuple(own[j:j + K]))
            if h not in seen:
                seen.add(h)
                own_shingles[h].append(i)
    print(f"quotes: tokenised and indexed {len(docs)} posts in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    # truth
    truth = {}  # (reply, source) -> info
    nblocks50 = 0
    replies50 = set()
    for i, bl in enumerate(blocks):
        if not bl:
            continue
        ts = toks[i]
        spans = [(s, e) for _, s, e in ts]
        for bs, be in bl:
            idx = [k for k, (s, e) in enumerate(spans) if s >= bs and e <= be]
            if len(idx) < 50:
                continue
            nblocks50 += 1
            replies50.add(i)
            bt = [ts[k][0] for k in idx]
            cnt = Counter()
            for j in range(len(bt) - K + 1):
                for dd in set(own_shingles.get(hash(tuple(bt[j:j + K])), ())):
                    if dd != i:
                        cnt[dd] += 1
            for src, c in cnt.items():
                if c < 10:
                    continue
                st = [t for t, _, _ in toks[src]]
                runs = exact_runs(bt, st, K)
                if not runs:
                    continue
                longest = max(runs, key=lambda r: r[2])
                matched = sum(r[2] for r in runs)
                if longest[2] < 50 and matched < 50:
                    continue
                key = (i, src)
                rec = truth.setdefault(key, {"longest": 0, "matched": 0, "reply_tok": set(), "runs": []})
                if longest[2] > rec["longest"]:
                    rec["longest"] = longest[2]
                    rec["longest_reply_tok"] = (idx[longest[0]], idx[longest[0]] + longest[2])
                rec["matched"] += matched
                for a, b, L in runs:
                    rec["reply_tok"].update(idx[a:a + L])
                rec["block_tok"] = rec.get("block_tok", set()) | set(idx)
    strict = {k for k, v in truth.items() if v["longest"] >= 50}
    loose = set(truth)
    print(f"quotes: {nblocks50} quoted blocks >= 50 words in {len(replies50)} posts; truth pairs: "
          f"{len(strict)} with an exact run >= 50, {len(loose)} with >= 50 matched words "
          f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    res = {"posts": len(docs), "blocks_ge50": nblocks50, "replies_ge50": len(replies50),
           "truth_strict": len(strict), "truth_loose": len(loose), "load": uptime()}
    # reprint: default, and with boilerplate detection switched off (diagnostic)
    out = os.path.join(OUT, "20news-m50.jsonl")
    best = None
    for _ in range(REPEAT):
        wall, st = run_reuse([path], out, 50, extra=["--boilerplate", out + ".boiler.jsonl"])
        if best is None or st["seconds"] < best[1]["seconds"]:
            best = (wall, st)
    res["reuse_stats"], res["wall"] = best[1], best[0]
    res["default"] = evaluate_quotes(out, docs, ids, pos, toks, qlines, qbroad, truth, strict, loose, explain=True)
    out2 = os.path.join(OUT, "20news-m50-noboiler.jsonl")
    wall, st = run_reuse([path], out2, 50, extra=["--template-df", "1000000000", "--max-df", "1000000000",
                                                  "--boilerplate", out2 + ".boiler.jsonl"])
    res["no_boilerplate_stats"] = st
    res["no_boilerplate"] = evaluate_quotes(out2, docs, ids, pos, toks, qlines, qbroad, truth, strict, loose, explain=False)
    res["template_df_sweep"] = {}
    for tdf in (10, 20, 50):
        out3 = os.path.join(OUT, f"20news-m50-tdf{tdf}.jsonl")
        wall, st = run_reuse([path], out3, 50, extra=["--template-df", str(tdf), "--boilerplate", out3 + ".boiler.jsonl"])
        e = evaluate_quotes(out3, docs, ids, pos, toks, qlines, qbroad, truth, strict, loose, explain=False)
        e["seconds"] = st["seconds"]
        e["boilerplate_fingerprints"] = st["boilerplate_fingerprints"]
        res["template_df_sweep"][tdf] = e
    save("quotes", res)
    return res


def evaluate_quotes(out, docs, ids, pos, toks, qlines, qbroad, truth, strict, loose, explain):
    reported = {}
    for r in read_jsonl(out):
        a, b = pos[r["a"]], pos[r["b"]]
        reported[(a, b)] = r
    boiler = {pos[r["id"]]: r["boilerplate"] for r in read_jsonl(out + ".boiler.jsonl")}

    def get_pair(i, j):
        if (i, j) in reported:
            r = reported[(i, j)]
            return r, [(tuple(p["a"]), tuple(p["b"]), p["words"]) for p in r["passages"]]
        if (j, i) in reported:
            r = reported[(j, i)]
            return r, [(tuple(p["b"]), tuple(p["a"]), p["words"]) for p in r["passages"]]
        return None, None

    def side_tokens(i, ranges):
        spans = [(s, e) for _, s, e in toks[i]]
        m = covered_mask(spans, ranges)
        return {k for k, v in enumerate(m) if v}

    res = {"reported_pairs": len(reported)}
    for name, T in (("strict", strict), ("loose", loose)):
        found = [k for k in T if get_pair(*k)[0] is not None]
        res[f"recall_{name}"] = len(found) / len(T) if T else 0
        res[f"found_{name}"] = len(found)
    # boundaries over found strict pairs
    inq = tot = 0
    p_in_t = p_tot = t_in_p = t_tot = 0
    dstart, dend = [], []
    bound_ex = []
    for key in sorted(strict):
        r, ps = get_pair(*key)
        if r is None:
            continue
        i, src = key
        P = side_tokens(i, [p[0] for p in ps])
        Q = side_tokens(i, qlines[i]) if qlines[i] else set()
        inq += len(P & Q)
        tot += len(P)
        T = truth[key]["reply_tok"]
        p_in_t += len(P & T)
        p_tot += len(P)
        t_in_p += len(T & P)
        t_tot += len(T)
        # the passage overlapping the longest exact run most: boundary distances in words
        ls, le = truth[key]["longest_reply_tok"]
        best_ov, best_pe = -1, None
        for pr in ps:
            pt = side_tokens(i, [pr[0]])
            if not pt:
                continue
            ov = len(pt & set(range(ls, le)))
            if ov > best_ov:
                best_ov, best_pe = ov, (min(pt), max(pt) + 1)
        if best_pe and best_ov > 0:
            dstart.append(abs(best_pe[0] - ls))
            dend.append(abs(best_pe[1] - le))
            if (abs(best_pe[0] - ls) > 3 or abs(best_pe[1] - le) > 3) and len(bound_ex) < 30:
                w = [t for t, _, _ in toks[i]]
                bound_ex.append({"reply": ids[i], "source": ids[src], "truth_run": [ls, le], "passage": list(best_pe),
                                 "truth_start": " ".join(w[ls:ls + 8]), "passage_start": " ".join(w[best_pe[0]:best_pe[0] + 8]),
                                 "truth_end": " ".join(w[max(ls, le - 8):le]), "passage_end": " ".join(w[max(0, best_pe[1] - 8):best_pe[1]])})

    def med(v):
        v = sorted(v)
        return v[len(v) // 2] if v else None

    res["found_pairs_reply_passage_words_in_quoted_lines"] = inq / tot if tot else None
    res["found_pairs_word_precision_vs_matched_quote"] = p_in_t / p_tot if p_tot else None
    res["found_pairs_word_recall_vs_matched_quote"] = t_in_p / t_tot if t_tot else None
    res["boundary_start_median_words"] = med(dstart)
    res["boundary_end_median_words"] = med(dend)
    res["boundary_within_3_words_start"] = sum(1 for x in dstart if x <= 3) / len(dstart) if dstart else None
    res["boundary_within_3_words_end"] = sum(1 for x in dend if x <= 3) / len(dend) if dend else None
    res["boundary_pairs"] = len(dstart)
    res["boundary_examples"] = bound_ex
    missed = sorted(k for k in strict if get_pair(*k)[0] is None)
    res["missed_strict"] = len(missed)
    if not explain:
        return res
    # misses: how many posts hold the quoted text (the middle 8 words of the longest run)?
    need = {}
    for key in missed:
        i, src = key
        ls, le = truth[key]["longest_reply_tok"]
        mid = (ls + le) // 2 - 4
        need[key] = tuple(t for t, _, _ in toks[i][mid:mid + 8])
    want = set(need.values())
    df = Counter()
    for ts in toks:
        w = [t for t, _, _ in ts]
        seen = set()
        for j in range(len(w) - 7):
            g = tuple(w[j:j + 8])
            if g in want and g not in seen:
                seen.add(g)
                df[g] += 1
    why = Counter()
    miss_examples = []
    for key in missed:
        i, src = key
        T = truth[key]["reply_tok"]
        B = side_tokens(i, [tuple(x) for x in boiler.get(i, [])])
        n = df[need[key]]
        reason = []
        if len(T & B) >= 0.2 * len(T):
            reason.append("quote masked as boilerplate")
        else:
            reason.append("quote not masked")
        reason.append("quoted text in >= 5 posts" if n >= 5 else "quoted text in < 5 posts")
        a, b = docs[i]["text"], docs[src]["text"]
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fa, \
                tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fb:
            fa.write(a)
            fb.write(b)
        o = json.loads(subprocess.run([REPRINT, "compare", "--json", "--min-words", "50", fa.name, fb.name],
                                      check=True, capture_output=True).stdout)
        os.unlink(fa.name)
        os.unlink(fb.name)
        reason.append("compare finds it" if o["passages"] else "compare misses it too")
        why["; ".join(reason)] += 1
        if len(miss_examples) < 60:
            ls, le = truth[key]["longest_reply_tok"]
            bsp, bep = toks[i][ls][1], toks[i][le - 1][2]
            miss_examples.append({"reply": ids[i], "source": ids[src], "longest_run": truth[key]["longest"],
                                  "posts_with_quote": n, "why": "; ".join(reason),
                                  "compare_passages_words": [p["words"] for p in o["passages"]],
                                  "quote": docs[i]["text"].encode()[bsp:bep].decode("utf-8", "replace")[:300]})
    res["missed_reasons"] = dict(why)
    res["missed_examples"] = miss_examples
    # reported pairs that are not quote-related
    cats = Counter()
    examples = defaultdict(list)
    truth_pairs = {tuple(sorted(k)) for k in loose}
    for (a, b), r in sorted(reported.items()):
        if (a, b) in truth_pairs:
            cats["truth quote pair"] += 1
            continue
        pa = side_tokens(a, [tuple(p["a"]) for p in r["passages"]])
        pb = side_tokens(b, [tuple(p["b"]) for p in r["passages"]])
        qa = side_tokens(a, qbroad[a]) if qbroad[a] else set()
        qb = side_tokens(b, qbroad[b]) if qbroad[b] else set()
        fa = len(pa & qa) / len(pa) if pa else 0
        fb = len(pb & qb) / len(pb) if pb else 0
        if fa >= 0.5 and fb >= 0.5:
            c = "both quote the same text"
        elif fa >= 0.5 or fb >= 0.5:
            c = "one quotes the other (not in truth: other quote marks, or no exact run >= 50 words)"
        else:
            ta, tb = docs[a]["text"], docs[b]["text"]
            hdr_a, hdr_b = ta.find("\n\n"), tb.find("\n\n")
            pas = r["passages"]
            in_hdr = all(p["a"][1] <= hdr_a + 2 and p["b"][1] <= hdr_b + 2 for p in pas)
            la, lb = len(ta.encode()), len(tb.encode())
            tail = all(p["a"][0] >= 0.5 * la and p["b"][0] >= 0.5 * lb and la - p["a"][1] < 300
                       and lb - p["b"][1] < 300 for p in pas)
            from_a = re.search(r"^From: (.*)$", ta[:hdr_a], re.M)
            from_b = re.search(r"^From: (.*)$", tb[:hdr_b], re.M)
            same_author = bool(from_a and from_b and from_a.group(1).strip() == from_b.group(1).strip())
            if r["jaccard"] >= 0.5:
                c = "near-identical posts (cross-post or repost)"
            elif in_hdr:
                c = "header"
            elif tail and same_author:
                c = "signature / closing of one author"
            elif same_author:
                c = "same author, other text (repeated FAQ/announcement/own text)"
            else:
                c = "different authors, unquoted shared text"
        cats[c] += 1
        if c not in ("truth quote pair", "both quote the same text") and len(examples[c]) < 8:
            p = r["passages"][0]
            examples[c].append({"a": ids[a], "b": ids[b], "jaccard": r["jaccard"],
                                "words": [x["words"] for x in r["passages"]],
                                "text": docs[a]["text"].encode()[p["a"][0]:p["a"][1]].decode("utf-8", "replace")[:400]})
    res["reported_categories"] = dict(cats)
    res["reported_examples"] = dict(examples)
    return res



# ---------------------------------------------------------------- 3. brute force
def sample_20news(out):
    """All posts (train and test) of the 10 groups with an even index in alphabetical
    order: about 20 MB of JSONL, threads kept whole."""
    docs = list(read_jsonl_gz(os.path.join(DATA, "20news-bydate.jsonl.gz")))
    groups = sorted({d["group"] for d in docs})
    keep = set(groups[0::2])
    n = 0
    with open(out, "w", encoding="utf-8") as f:
        for d in docs:
            if d["group"] in keep:
                line = json.dumps({"id": d["id"], "text": d["text"]}, ensure_ascii=False) + "\n"
                f.write(line)
                n += len(line.encode("utf-8"))
    return sorted(keep), n


def brute_pairs(docs, W=50):
    """Every pair of documents sharing a run of >= W tokens (a W-token window), with
    one witness (pos in a, pos in b), the number of shared windows and the smallest
    document frequency among the shared windows."""
    M = (1 << 61) - 1
    B = 1000003
    BW = pow(B, W, M)
    ids = {}
    toks = []
    first = defaultdict(list)  # window hash -> [(doc, pos)] (first position in each doc)
    for di, d in enumerate(docs):
        w = tokens(d["text"])
        toks.append(w)
        if len(w) < W:
            continue
        x = [ids.setdefault(t, len(ids) + 1) for t in w]
        h = 0
        seen = set()
        for j, v in enumerate(x):
            h = (h * B + v) % M
            if j >= W:
                h = (h - x[j - W] * BW) % M
            if j >= W - 1 and h not in seen:
                seen.add(h)
                first[h].append((di, j - W + 1))
    pairs = {}
    for h, occ in first.items():
        m = len(occ)
        if m < 2:
            continue
        for a in range(m):
            for b in range(a + 1, m):
                (da, pa), (db, pb) = occ[a], occ[b]
                key = (da, db) if da < db else (db, da)
                rec = pairs.get(key)
                if rec is None:
                    wa, wb = (pa, pb) if da < db else (pb, pa)
                    pairs[key] = [wa, wb, 1, m]
                else:
                    rec[2] += 1
                    if m < rec[3]:
                        rec[3] = m
    # verify witnesses (no hash collision)
    bad = [k for k, v in pairs.items() if toks[k[0]][v[0]:v[0] + W] != toks[k[1]][v[1]:v[1] + W]]
    for k in bad:
        del pairs[k]
    return pairs, toks, len(bad)


def compare_texts(a, b, mw=50):
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as fa, \
            tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as fb:
        fa.write(a)
        fb.write(b)
    try:
        return json.loads(subprocess.run([REPRINT, "compare", "--json", "--min-words", str(mw), fa.name, fb.name],
                                         check=True, capture_output=True).stdout)
    finally:
        os.unlink(fa.name)
        os.unlink(fb.name)


def brute_one(name, path, gz):
    docs = list(read_jsonl_gz(path) if gz else read_jsonl(path))
    ids = [d["id"] for d in docs]
    pos = {x: i for i, x in enumerate(ids)}
    t0 = time.perf_counter()
    truth, toks, collisions = brute_pairs(docs)
    tb = time.perf_counter() - t0
    out = os.path.join(OUT, f"brute-{name}-m50.jsonl")
    best = None
    for _ in range(REPEAT):
        wall, st = run_reuse([path], out, 50, extra=["--boilerplate", out + ".boiler.jsonl"])
        if best is None or st["seconds"] < best[1]["seconds"]:
            best = (wall, st)
    wall, st = best
    reported = {}
    for r in read_jsonl(out):
        a, b = pos[r["a"]], pos[r["b"]]
        reported[(a, b) if a < b else (b, a)] = r
    boiler = {pos[r["id"]]: r["boilerplate"] for r in read_jsonl(out + ".boiler.jsonl")}
    found = [k for k in truth if k in reported]
    missed = [k for k in truth if k not in reported]
    rare = {k for k, v in truth.items() if v[3] < 5}  # some shared window is in < 5 documents
    res = {"docs": len(docs), "bytes": os.path.getsize(path) if not gz else None, "truth_pairs": len(truth),
           "hash_collisions_dropped": collisions, "brute_seconds": tb, "reuse_stats": st, "wall": wall,
           "reported_pairs": len(reported), "found": len(found), "recall": len(found) / len(truth) if truth else None,
           "truth_rare": len(rare), "found_rare": sum(1 for k in found if k in rare),
           "recall_rare": sum(1 for k in found if k in rare) / len(rare) if rare else None,
           "reported_not_in_truth": sum(1 for k in reported if k not in truth), "load": uptime()}
    # reported pairs not in truth: their longest passage (gapped passages of >= 50 words with edits)
    # misses
    why = Counter()
    ex = []
    for k in sorted(missed):
        a, b = k
        wa, wb, nshared, mindf = truth[k]
        o = compare_texts(docs[a]["text"], docs[b]["text"])
        reasons = []
        # the witness run, as byte range in a: from reprint's own token spans is not
        # available; use ours
        sa = tokens_spans(docs[a]["text"])
        sb = tokens_spans(docs[b]["text"])
        tokdiff = len(sa) != len(toks[a]) or len(sb) != len(toks[b]) or o["a"]["words"] != len(toks[a]) \
            or o["b"]["words"] != len(toks[b])
        ba = [tuple(x) for x in boiler.get(a, [])]
        bb = [tuple(x) for x in boiler.get(b, [])]
        span_a = None
        if len(sa) == len(toks[a]):
            span_a = (sa[wa][1], sa[wa + 49][2])
            ma = covered_mask([(s_, e_) for _, s_, e_ in sa[wa:wa + 50]], ba)
            masked_a = sum(ma)
        else:
            masked_a = None
        if len(sb) == len(toks[b]):
            mb = covered_mask([(s_, e_) for _, s_, e_ in sb[wb:wb + 50]], bb)
            masked_b = sum(mb)
        else:
            masked_b = None
        masked = (masked_a or 0) + (masked_b or 0) > 0
        if not o["passages"]:
            # compare (no corpus, no boilerplate) misses it too: repetition (a shingle seen > 16
            # times in one document seeds nothing) or an alignment problem
            w = toks[a][wa:wa + 50]
            rep = len(set(w)) <= 10
            reasons.append("compare misses it too: " + ("repetitive text (few distinct words)" if rep else "other"))
        elif masked and mindf >= 5:
            reasons.append("masked as boilerplate; every shared 50-word window is in >= 5 documents (the template rule)")
        elif masked:
            reasons.append("masked as boilerplate although a shared 50-word window is in < 5 documents")
        else:
            reasons.append("not masked; compare finds it")
        if o["a"]["words"] != len(toks[a]) or o["b"]["words"] != len(toks[b]):
            reasons.append("token count differs")
        r_ = "; ".join(reasons)
        why[r_] += 1
        if len(ex) < 40:
            text = " ".join(toks[a][wa:wa + 50])
            ex.append({"a": ids[a], "b": ids[b], "why": r_, "shared_windows": nshared, "min_df": mindf,
                       "masked_tokens_a": masked_a, "masked_tokens_b": masked_b,
                       "compare_words": [p["words"] for p in o["passages"]],
                       "tokens_reprint": [o["a"]["words"], o["b"]["words"]], "tokens_python": [len(toks[a]), len(toks[b])],
                       "shared_text": text[:400],
                       "byte_range_a": span_a})
    res["missed"] = len(missed)
    res["missed_reasons"] = dict(why)
    # diagnostics: boilerplate detection off, or a higher --template-df
    res["variants"] = {}
    for label, extra in (("template-df 20", ["--template-df", "20"]), ("template-df 50", ["--template-df", "50"]),
                         ("boilerplate off", ["--template-df", "1000000000", "--max-df", "1000000000"])):
        o2 = os.path.join(OUT, f"brute-{name}-m50-{label.replace(' ', '')}.jsonl")
        _, st2 = run_reuse([path], o2, 50, extra=extra)
        rep2 = set()
        for r in read_jsonl(o2):
            a, b = pos[r["a"]], pos[r["b"]]
            rep2.add((a, b) if a < b else (b, a))
        f2 = sum(1 for k in truth if k in rep2)
        res["variants"][label] = {"recall": f2 / len(truth) if truth else None, "found": f2,
                                  "reported_pairs": len(rep2), "seconds": st2["seconds"],
                                  "recall_rare": sum(1 for k in rare if k in rep2) / len(rare) if rare else None}
    # tokenizer agreement: reprint's word count (compare against an empty text) vs ours, every document
    same = 0
    diff_ex = []
    empty = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)
    empty.close()
    for di, d in enumerate(docs):
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as fa:
            fa.write(d["text"])
        o = json.loads(subprocess.run([REPRINT, "compare", "--json", fa.name, empty.name], check=True,
                                      capture_output=True).stdout)
        os.unlink(fa.name)
        if o["a"]["words"] == len(toks[di]):
            same += 1
        elif len(diff_ex) < 10:
            diff_ex.append({"id": ids[di], "reprint": o["a"]["words"], "python": len(toks[di])})
    os.unlink(empty.name)
    res["token_count_agreement"] = same / len(docs)
    res["token_count_differences"] = diff_ex
    res["missed_examples"] = ex
    # reported but not in truth: what are they (no exact 50-token run: edited passages)?
    extra = [k for k in reported if k not in truth]
    res["reported_not_in_truth_examples"] = []
    for k in extra[:8]:
        r = reported[k]
        p = max(r["passages"], key=lambda x: x["words"])
        a = pos[r["a"]]
        res["reported_not_in_truth_examples"].append(
            {"a": r["a"], "b": r["b"], "words": [x["words"] for x in r["passages"]],
             "text": docs[a]["text"].encode()[p["a"][0]:p["a"][1]].decode("utf-8", "replace")[:300]})
    return res


def brute():
    res = {}
    res["bbc-news"] = brute_one("bbc", os.path.join(DATA, "bbc-news.jsonl.gz"), True)
    print(f"brute bbc: recall {res['bbc-news']['recall']:.4f} of {res['bbc-news']['truth_pairs']}", file=sys.stderr)
    sp = os.path.join(OUT, "20news-20MB.jsonl")
    groups, nbytes = sample_20news(sp)
    res["20news-20MB"] = brute_one("20news20", sp, False)
    res["20news-20MB"]["groups"] = groups
    print(f"brute 20news: recall {res['20news-20MB']['recall']:.4f} of {res['20news-20MB']['truth_pairs']}",
          file=sys.stderr)
    save("brute", res)
    return res



# ---------------------------------------------------------------- 4. speed
def timed_reuse(inputs, threads, out="/dev/null"):
    """One reuse run: reprint's stats plus CPU seconds (user + sys of the children)."""
    import resource
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = uptime()
    wall, st = run_reuse(inputs, os.path.join(OUT, "speed.jsonl") if out is None else out, 50, threads=threads)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return {"seconds": st["seconds"], "mb_per_s": st["mb_per_s"], "wall": wall, "cpu": cpu,
            "user": r1.ru_utime - r0.ru_utime, "sys": r1.ru_stime - r0.ru_stime,
            "mb_per_cpu_s": st["bytes"] / 1e6 / cpu if cpu else None, "peak_rss_mb": st["peak_rss_mb"],
            "bytes": st["bytes"], "pairs": st["pairs"], "candidates": st["candidates"],
            "boilerplate_fingerprints": st["boilerplate_fingerprints"], "load_before": load}


def cut_20k(text, start_key, nbytes=20000):
    i = text.find(start_key)
    b = text[i:].encode("utf-8")[:nbytes]
    b = b[:b.rfind(b" ")]  # whole words, valid UTF-8
    return b


def speed():
    res = {"load_start": uptime(), "reuse": {}, "repeat": REPEAT}
    corpora = [("bbc-news", os.path.join(DATA, "bbc-news.jsonl.gz")),
               ("20news-bydate", os.path.join(DATA, "20news-bydate.jsonl.gz"))]
    if os.path.exists(BIG):
        corpora.append((os.path.basename(BIG).replace(".jsonl", ""), BIG))
    for name, path in corpora:
        res["reuse"][name] = {}
        for j in (1, 2):
            runs = []
            for _ in range(REPEAT):
                out = "/dev/null" if os.path.getsize(path) > 100e6 else None
                runs.append(timed_reuse([path], j, out))
                print(f"speed {name} -j{j}: {runs[-1]['mb_per_s']:.1f} MB/s, {runs[-1]['mb_per_cpu_s']:.1f} MB/cpu-s, "
                      f"peak {runs[-1]['peak_rss_mb']:.0f} MB, load {runs[-1]['load_before']}", file=sys.stderr)
            best = max(runs, key=lambda r: r["mb_per_s"])
            res["reuse"][name][f"j{j}"] = {"best": best, "runs": runs}
    # compare: two 20 KB cuts of two editions of Pride and Prejudice, from the same place
    g = {d["id"]: d["text"] for d in read_jsonl_gz(os.path.join(DATA, "gutenberg.jsonl.gz"))}
    key = "The day passed much as the day before had done"
    a = cut_20k(g["pg1342"], key)
    b = cut_20k(g["pg1342/body-ascii"], key)
    pa, pb = os.path.join(OUT, "pp-pg1342-20k.txt"), os.path.join(OUT, "pp-body-ascii-20k.txt")
    with open(pa, "wb") as f:
        f.write(a)
    with open(pb, "wb") as f:
        f.write(b)
    ct = os.environ.get("COMPARE_TIME")
    res["compare"] = {"a": "pg1342 (Windows-1252 release, curly quotes, [Illustration] lines, CRLF)",
                      "b": "pg1342/body-ascii (plain ASCII release, CRLF)",
                      "cut": f"from '{key}' (chapter X), 20,000 bytes cut back to a space"}
    if ct:
        for mw in (8, 50):
            runs = []
            for _ in range(REPEAT):
                load = uptime()
                o = json.loads(subprocess.run([ct, pa, pb, "1000", str(mw)], check=True, capture_output=True).stdout)
                o["load_before"] = load
                runs.append(o)
            best = min(runs, key=lambda r: r["compare_ms"]["median"])
            res["compare"][f"min_words_{mw}"] = {"best": best, "runs": runs}
            print(f"compare in-process m{mw}: median {best['compare_ms']['median']:.3f} ms", file=sys.stderr)
    # the CLI, one process per call
    runs = []
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        for _ in range(20):
            subprocess.run([REPRINT, "compare", "--json", pa, pb], check=True, capture_output=True)
        runs.append((time.perf_counter() - t0) / 20 * 1000)
    res["compare"]["cli_ms_per_process"] = min(runs)
    res["load_end"] = uptime()
    save("speed", res)
    return res



# ---------------------------------------------------------------- bugs: minimal reproductions
REPRO_SHARED = ("The company said quarterly profits rose sharply in the three months to December "
                "because of strong sales of its new phones in Asia and Europe")
REPRO_DOCS = [
    {"id": "A", "text": "Alpha story begins here with some words. " + REPRO_SHARED + ". Then alpha goes on about other things entirely."},
    {"id": "B", "text": "Beta report opens differently today. " + REPRO_SHARED + ". Beta closes with a note on weather."},
] + [{"id": f"U{i}", "text": f + " while inflation eased in the three months to December said officials. " + f + " again."}
     for i, f in enumerate(["Cats sleep a lot and dream of fish", "Rain fell on the quiet northern town",
                            "Engineers built a bridge over the river", "The orchestra played a new symphony tonight"])]
REPRO_A = ("In 2003 crop production totalled 11 million tonnes said the joint report from the Food and Agriculture "
           "Organisation. Unrelated words fill this middle part of the article so the two sentences are far apart in "
           "it and nothing else is shared here at all. The Food and Agriculture Organisation recommends that the food "
           "assistance is bought locally.")
REPRO_B = ("In 2003 crop production totalled 11 million tonnes said the joint report from the Food and Agriculture "
           "Organisation. Something else in between here. The Food and Agriculture Organisation recommends that the "
           "food assistance is bought locally.")


def repro():
    d = tempfile.mkdtemp(prefix="eval-reuse-repro-")
    res = {}
    # 1. boilerplate mask extended over a true copy; depends on input order
    for name, order in (("AB_first", REPRO_DOCS), ("AB_last", REPRO_DOCS[2:] + REPRO_DOCS[:2])):
        f = os.path.join(d, name + ".jsonl")
        with open(f, "w") as g:
            for x in order:
                g.write(json.dumps(x) + "\n")
        o = subprocess.run([REPRINT, "reuse", "-q", "--min-words", "8", "--boilerplate", f + ".bp", f],
                           check=True, capture_output=True, text=True).stdout
        with open(f + ".bp") as g:
            bp = g.read()
        res["mask_" + name] = {"pairs": o, "boilerplate": bp}
    # real case: byte-identical BBC articles not reported
    bbc = {x["id"]: x["text"] for x in read_jsonl_gz(os.path.join(DATA, "bbc-news.jsonl.gz"))}
    out = os.path.join(d, "bbc.jsonl")
    subprocess.run([REPRINT, "reuse", "-q", "-o", out, "--boilerplate", out + ".bp",
                    os.path.join(DATA, "bbc-news.jsonl.gz")], check=True)
    rep = {(r["a"], r["b"]) for r in read_jsonl(out)}
    bp = {r["id"]: r["boilerplate"] for r in read_jsonl(out + ".bp")}
    res["bbc_identical"] = []
    for a, b in (("politics/218", "politics/253"), ("tech/090", "tech/312")):
        o = compare_texts(bbc[a], bbc[b])
        res["bbc_identical"].append({"a": a, "b": b, "identical": bbc[a] == bbc[b], "bytes": len(bbc[a].encode()),
                                     "reported_by_reuse": (a, b) in rep or (b, a) in rep,
                                     "boilerplate_a": bp.get(a), "boilerplate_b": bp.get(b),
                                     "compare_passages": [(p["a"], p["b"], p["words"]) for p in o["passages"]]})
    # 2. a passage whose A and B ranges are different text
    o = compare_texts(REPRO_A, REPRO_B, 8)
    ab, bb = REPRO_A.encode(), REPRO_B.encode()
    res["misaligned"] = [{"a": p["a"], "b": p["b"], "words": p["words"], "a_text": ab[p["a"][0]:p["a"][1]].decode(),
                          "b_text": bb[p["b"][0]:p["b"][1]].decode()} for p in o["passages"]]
    # 3. peak_rss_mb inherits the forking parent's peak across execve
    code = ("x = bytearray(1500 * 10**6)\nfor i in range(0, len(x), 4096): x[i] = 1\nimport subprocess, sys\n"
            "subprocess.run([sys.argv[1], 'reuse', '-q', '-o', '/dev/null', '--stats', sys.argv[2], sys.argv[3]])\n")
    st = os.path.join(d, "st.json")
    subprocess.run([sys.executable, "-c", code, REPRINT, st, os.path.join(DATA, "bbc-news.jsonl.gz")], check=True)
    with open(st) as g:
        inflated = json.load(g)["peak_rss_mb"]
    subprocess.run(["/bin/sh", "-c", '"$@"; exit $?', "sh", REPRINT, "reuse", "-q", "-o", "/dev/null", "--stats", st,
                    os.path.join(DATA, "bbc-news.jsonl.gz")], check=True)
    with open(st) as g:
        clean = json.load(g)["peak_rss_mb"]
    res["peak_rss"] = {"from_python_with_1500MB": inflated, "from_small_shell": clean}
    # 4. an output path that is a symlink: the link is replaced by a regular file (the target stays as it was)
    real, link = os.path.join(d, "real.json"), os.path.join(d, "link.json")
    open(real, "w").close()
    os.symlink("real.json", link)
    f = os.path.join(d, "AB_last.jsonl")
    subprocess.run([REPRINT, "reuse", "-q", "-o", os.devnull, "--stats", link, f], check=True)
    res["symlink_output"] = {"link_is_symlink_after": os.path.islink(link), "link_size": os.path.getsize(link),
                             "target_size": os.path.getsize(real)}
    save("repro", res)
    return res



# ---------------------------------------------------------------- report
def pct(x, d=1):
    return "–" if x is None else f"{100 * x:.{d}f}%"


def f3(x):
    return "–" if x is None else f"{x:.3f}"


def report():
    b1, q, br, sp, rp = load("bbc_summary"), load("quotes"), load("brute"), load("speed"), load("repro")
    commit = os.environ.get("EVAL_COMMIT_ID") or subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"],
                                                                 capture_output=True, text=True).stdout.strip()
    L = []
    w = L.append
    w("# reprint reuse / compare against real labels and brute force\n")
    commit = next((x["commit"] for x in (b1, q, br, sp, rp) if x and x.get("commit")), commit)
    w(f"Generated by `sh bench/eval_reuse.sh` (bench/eval_reuse.py) on a private build of commit `{commit[:12]}` "
      f"(so that concurrent edits of build/ cannot change the binary mid-run). Machine: 2 cores shared with other "
      f"engineers' tests, fuzzers and benchmarks; the load average is given with every timing. Raw figures: "
      f"bench/out/reuse/*.json.\n")
    w("Tokens in the Python side mirror reprint's (NFKC + casefold, default-ignorables removed, `-`+line-end joins, "
      "words = runs of letters/digits/marks, so `_` and `'` split).")
    if br:
        w(f" Checked: the Python word count equals reprint's (`compare` words) on every document of BBC News "
          f"({pct(br['bbc-news'].get('token_count_agreement'))}) and of the 20news sample "
          f"({pct(br['20news-20MB'].get('token_count_agreement'))}).\n")
    # ---- 1
    if b1:
        w("## 1. BBC News Summary: summary sentences found in their article\n")
        w(f"{b1['docs']} article/summary pairs. Summaries were split into sentences at `.`/`!`/`?` (optionally followed "
          f"by a quote) followed by an upper-case letter; {b1['summary_sentences']} pieces, {b1['short_sentences_dropped']} "
          f"of < 8 words dropped, leaving **{b1['runs']['compare-m8']['sentences']} sentences** of >= 8 words; "
          f"{b1['not_verbatim']} of them are not verbatim in the article as split (the split joined two sentences, e.g. "
          f"`...development\".said Ulrich...`), they stay in the recall count. A sentence is *found* when passages cover "
          f">= 80% of its words (summary side of the passages, byte offsets mapped to words).\n")
        w("| run | min-words | recall | 8-11 words | 12-19 | 20-29 | 30+ | word precision (aligned) | word precision (vs sentence split) | passages with identical words both sides | time |")
        w("|---|---|---|---|---|---|---|---|---|---|---|")
        for k, v in b1["runs"].items():
            mw = "8" if "m8" in k else "12"
            bl = v["recall_by_length"]
            if k.startswith("compare"):
                t = f"{v['seconds_total']:.1f} s for 2,225 processes ({v['ms_per_call_process']:.1f} ms/process)"
                name = "`compare A=article B=summary`" if "reversed" not in k else "`compare A=summary B=article`"
            else:
                t = f"{v['stats']['seconds']:.2f} s ({v['stats']['mb_per_s']:.1f} MB/s, 4,450 docs)"
                name = "`reuse` on a JSONL of 4,450 docs"
            w(f"| {name} | {mw} | **{pct(v['recall'], 2)}** ({v['found']}/{v['sentences']}) | "
              + " | ".join(pct(bl[x]["recall"]) for x in ("8-11", "12-19", "20-29", "30+"))
              + f" | {pct(v.get('precision_aligned_words'), 2)} | {pct(v['precision_words'], 2)} | "
                f"{v['passages_identical_tokens']}/{v['passages']} | {t} |")
        r8, ru8 = b1["runs"]["compare-m8"], b1["runs"]["reuse-m8"]
        w("")
        w(f"- *Word precision (aligned)*: of the summary-side words in passages, the share matched word for word by "
          f"the article side of the same passage. *vs sentence split*: the share lying in a summary sentence found "
          f"verbatim in the article; the {pct(1 - r8['precision_words'], 1)} gap is the sentence splitter's failures "
          f"(two sentences glued by `\".`), not reprint's.")
        w(f"- `compare` misses {r8['missed']} sentences at min-words 8. Those inspected (business/009, /246, /261, "
          f"/299) share a phrase with another copied sentence (\"the Food and Agriculture Organisation\", \"Mr "
          f"Ebbers has denied\", \"bankruptcy protection in the US\"): alignment merges a short spurious seed of another diagonal with "
          f"the real one and then trims the merged segment along the wrong diagonal (bug 2 below), e.g. business/009 "
          f"\"The Food and Agriculture Organisation (FAO) recommend that the food assistance is bought locally.\" "
          f"(coverage 0). {r8['passages'] - r8['passages_identical_tokens']} of {r8['passages']} passages do not have "
          f"identical words on both sides: mostly gap-bridged small edits (by design, <= 8 words), some shifted by a "
          f"word or more (bug 2).")
        w(f"- `reuse` at min-words 8 loses {ru8['missed'] - r8['missed']} more sentences than `compare`: "
          f"{ru8.get('missed_overlapping_boilerplate', '?')} of its {ru8['missed']} misses overlap text that reuse "
          f"marked as boilerplate. With an 8-word window, common 5-grams (\"in the three months to\") are winnowed "
          f"fingerprints in >= 5 unrelated articles, become template fingerprints, and the mask is then extended over "
          f"the whole sentence because the reference document it is extended against is the article's own summary "
          f"(bug 1). Example: business/001's first sentence \"Quarterly profits at US media giant TimeWarner jumped 76% "
          f"to $1.13bn ...\" occurs in exactly 2 documents (the article and its summary) but both copies are masked.")
        w(f"- At min-words 12 recall of 8-11-word sentences is ~12% by definition (only found when glued to a "
          f"neighbouring copied sentence); >= 12-word sentences: compare "
          f"{pct(b1['runs']['compare-m12']['recall_by_length']['12-19']['recall'])} / "
          f"{pct(b1['runs']['compare-m12']['recall_by_length']['20-29']['recall'])} / "
          f"{pct(b1['runs']['compare-m12']['recall_by_length']['30+']['recall'])}.\n")
    # ---- 2
    if q:
        d = q["default"]
        w("## 2. 20 Newsgroups: quoted replies\n")
        w(f"Truth from the quote marks: lines starting (after <= 3 blanks) with `>` or `|` are quoted; a quoted block is a "
          f"run of such lines (blank lines inside kept). {q['blocks_ge50']} blocks of >= 50 words in {q['replies_ge50']} "
          f"posts. Candidate sources: posts whose *own* (unquoted) text shares >= 10 8-word shingles with the block "
          f"(Python index over all 18,846 posts); truth pair = (reply, source) when the block and the source's text "
          f"share an exact run of >= 50 words (**{q['truth_strict']} pairs**, *strict*) or >= 50 words in exact runs "
          f"of >= 8 (**{q['truth_loose']}**, *loose*: quotes with elisions).\n")
        st = q["reuse_stats"]
        w(f"`reprint reuse 20news-bydate.jsonl.gz --min-words 50`: {d['reported_pairs']} pairs, {st['seconds']:.2f} s "
          f"({st['mb_per_s']:.1f} MB/s, load {' '.join(q['load'])}), {st['boilerplate_fingerprints']} boilerplate "
          f"fingerprints.\n")
        w("| run | pairs reported | recall strict | recall loose | reply-side passage words inside quoted lines | word precision / recall vs the matched quote | start / end within 3 words |")
        w("|---|---|---|---|---|---|---|")
        rows = [("default (template-df 5)", d)]
        for k, v in sorted(q.get("template_df_sweep", {}).items(), key=lambda x: int(x[0])):
            rows.append((f"--template-df {k}", v))
        rows.append(("boilerplate detection off", q["no_boilerplate"]))
        for name, v in rows:
            w(f"| {name} | {v['reported_pairs']} | **{pct(v['recall_strict'])}** | {pct(v['recall_loose'])} | "
              f"{pct(v['found_pairs_reply_passage_words_in_quoted_lines'])} | "
              f"{pct(v['found_pairs_word_precision_vs_matched_quote'])} / {pct(v['found_pairs_word_recall_vs_matched_quote'])} | "
              f"{pct(v['boundary_within_3_words_start'])} / {pct(v['boundary_within_3_words_end'])} |")
        w("")
        w(f"Misses (strict, default): {d['missed_strict']}. Why (Python check of each):\n")
        for k, v in sorted(d["missed_reasons"].items(), key=lambda x: -x[1]):
            w(f"- {v}: {k}")
        w("")
        w("\"Quoted text in >= 5 posts\" is the template rule working as designed but wrong for Usenet: a post quoted "
          "by 4+ replies (which share little else) is a passage \"shared by many documents whose other content is "
          "unrelated\", so it is masked as boilerplate and the replies lose their pair with the source. \"< 5 posts\" "
          "is bug 1: e.g. comp.sys.ibm.pc.hardware/60796 (\"Does anyone have a source for 386DX/25 Motherboards?...\", "
          "quoted by 60857 and 60935: 3 posts) is masked in all three because the common phrase \"does anyone have a "
          "source for\" is in 5 posts (2 unrelated) and the mask is extended along the quote.\n")
        w("Boundaries: the median start and end differences are 0 words; differences > 3 words are mostly the "
          "passage extending over the attribution line (\"In article <...> oehler@yar.cs.wisc.edu (Wonko the Sane) "
          "writes:\" matches the source's `From:` header) or across an elision of <= 8 words that the exact-run truth "
          "splits, and passages starting later where the first part of the quote was masked as boilerplate.\n")
        w("Reported pairs by kind (quote marks here also `:`, `}`, `=`, `#`, `XX>`):\n")
        w("| kind | pairs |")
        w("|---|---|")
        for k, v in sorted(d["reported_categories"].items(), key=lambda x: -x[1]):
            w(f"| {k} | {v} |")
        w("")
        w("Judgement (from reading random samples of each kind): nearly all pairs outside the truth are real reuse. "
          "*Both quote the same text*: siblings quoting one post. *One quotes the other*: quotes with other marks "
          "(tin's `: `, `Graeme>`, `<->`, `[(*]`) or with elisions, so no exact 50-word run. *Different authors* "
          "(a sample of 14): 11 quotes marked in ways no regex catches (indentation, `?`, `<`, \"Pat says:\"), 1 "
          "reposted announcement (\"The New Haven Senators have been sold...\"), 2 header material: a mail "
          "gateway's `Received:` chain (comp.windows.x/67165 / 67374) and a thread's `Subject: Re: ATF BURNS "
          "DIVIDIAN RANCH!` + `Distribution:` + `NNTP-Posting-Host:` lines reaching 51 words "
          "(talk.politics.guns/54363 / 54659), which are not meaningful reuse. *Same author*: repeated notices "
          "(\"Private note to Jennifer Fakult. 'This post may contain ... sarcasm'\" in 5 alt.atheism posts), "
          "schedules and FAQs re-posted (rec.sport.hockey Calder Cup schedules). *Near-identical*: cross-posts and "
          "reposts (alt.atheism FAQ `Archive-name: atheism/resources` 54163 vs 49960). *Signatures* (ASCII-art Sting "
          "quote of test/alt.atheism/53331, \"David Hunt - Graduate Slave\" box) and *header* blocks (IBM's "
          "`Disclaimer: This posting represents the poster's views...`) are boilerplate in the issue's sense but "
          "are reported when fewer than 5 posts share them: these ("
          + str(d["reported_categories"].get("signature / closing of one author", 0))
          + " signature and " + str(d["reported_categories"].get("header", 0)) + " header pairs, plus header "
          "material among the rest: about 2-3% of the " + str(d["reported_pairs"]) + " pairs) are the false reuse.\n")
        for k, ex in d["reported_examples"].items():
            w(f"- *{k}*: " + "; ".join(f"{e['a']} / {e['b']} ({e['words']} words: \"{e['text'][:90].strip()}...\")".replace("\n", " ")
                                       for e in ex[:2]))
        w("")
    # ---- 3
    if br:
        w("## 3. Recall against brute force (shared runs of >= 50 words)\n")
        w("Truth: every pair of documents sharing any 50-token window (rolling hash of the Python tokens, each "
          "witness checked word by word). 20news sample: all posts (train + test) of the 10 groups with an even "
          "index in alphabetical order (" + ", ".join(br["20news-20MB"].get("groups", [])) + "), "
          f"{br['20news-20MB']['docs']} posts, {br['20news-20MB']['bytes'] / 1e6:.1f} MB of JSONL; threads stay whole.\n")
        w("| corpus | truth pairs | reported | recall | recall, pairs with a window in < 5 docs | template-df 20 | template-df 50 | boilerplate off | reported, no exact 50-word run |")
        w("|---|---|---|---|---|---|---|---|---|")
        for name, v in ((k, x) for k, x in br.items() if isinstance(x, dict)):
            va = v["variants"]
            w(f"| {name} | {v['truth_pairs']} | {v['reported_pairs']} | **{pct(v['recall'])}** | "
              f"{pct(v['recall_rare'])} ({v['truth_rare']}) | {pct(va['template-df 20']['recall'])} | "
              f"{pct(va['template-df 50']['recall'])} | {pct(va['boilerplate off']['recall'])} | "
              f"{v['reported_not_in_truth']} |")
        w("")
        for name, v in ((k, x) for k, x in br.items() if isinstance(x, dict)):
            w(f"Misses on {name} ({v['missed']}):\n")
            for k, c in sorted(v["missed_reasons"].items(), key=lambda x: -x[1]):
                w(f"- {c}: {k}")
            w("")
        w("Examples:\n")
        w("- **bbc politics/218 = politics/253** (byte-identical, 636 words) and **tech/090 = tech/312** (byte-identical, "
          "736 words) are not reported: `--boilerplate` shows politics/218 and /253 masked over [0, 3632] (the whole "
          "text), tech/312 over [0, 4041] while tech/090 only over [3938, 4041] (\"Clark Boyd is technology "
          "correspondent for The World, a BBC World Service and WGBH-Boston co-production\", a real byline in 8 "
          "articles). The template fingerprint's mask is extended for as long as the document agrees with its "
          "*reference* document, and the reference is the identical twin: bug 1. `compare` finds both pairs whole.")
        w("- bbc politics/049 with /081, /141, /299, /300: the same 66-word quote (\"...a real risk that people on "
          "the margins of society would be driven into the hands of extremists...\") in 5 articles that share little "
          "else: masked by the template rule (arguably reuse, not boilerplate: the same quote syndicated in 5 stories).")
        w("- 20news test/alt.atheism/53261 (Robert Beauchaine's post \"Yet I am still not a believer. Is god not "
          "concerned with my disposition?...\") with its 7 quoting replies 53280, 53316, 53332, 53424, 53473, 53538, "
          "53669: a post quoted by >= 5 replies is a template; every one of these pairs is lost.")
        w("- 20news test/rec.motorcycles/105157, 105158, train/104284, 104295, 104946: the shared 50-token run is "
          "Rob Castro's signature behind a row of 26 `o`s (ASCII art); a shingle repeated > 16 times in a document "
          "seeds nothing (align.c MAX_OCC) so < 50 words remain, and `compare` misses it too. Same for "
          "comp.os.ms-windows.misc/9980-9990 (uuencoded binaries: `ax ax ax max ax...`). Not real passage reuse.")
        w("- Reported but no exact 50-token run in the truth: passages of >= 50 words with small edits bridged "
          "(e.g. bbc business/010 / business/291, 53 words; business/264 / business/421, 88 words): real reuse.\n")
        w("No tokenisation difference was found (word counts agree on every document), and no miss is explained by "
          "winnowing or candidate generation: with boilerplate detection off recall is "
          f"{pct(br['bbc-news']['variants']['boilerplate off']['recall'])} (BBC) and "
          f"{pct(br['20news-20MB']['variants']['boilerplate off']['recall'])} (20news), the rest being the repetition "
          "rule.\n")
    # ---- 4
    if sp:
        w("## 4. Speed and memory\n")
        w(f"Best of {sp['repeat']} runs; MB = 10^6 bytes of uncompressed JSONL (gzip inputs decompressed by reprint); "
          "MB/s as reprint's `--stats` (wall); MB per CPU-second = MB / (user + sys) of the process, less sensitive "
          "to the other engineers' load; peak RSS from `--stats` (reprint started from a small shell, see bug 3).\n")
        w("| corpus | MB | threads | MB/s (wall) | MB per CPU-s | peak RSS MB | pairs | candidates | load avg before |")
        w("|---|---|---|---|---|---|---|---|---|")
        for name, v in sp["reuse"].items():
            for j in ("j1", "j2"):
                b = v[j]["best"]
                w(f"| {name} | {b['bytes'] / 1e6:.0f} | {j[1]} | **{b['mb_per_s']:.1f}** | {b['mb_per_cpu_s']:.1f} | "
                  f"{b['peak_rss_mb']:.0f} | {b['pairs']} | {b['candidates']} | {' '.join(b['load_before'])} |")
        w("")
        big = [v for k, v in sp["reuse"].items() if k.startswith("scaled")]
        w("The machine was saturated by other work during every run (load average 5-9 on 2 cores), so wall MB/s "
          "is roughly half of what the CPU time allows and -j2 gains nothing; MB per CPU-second is the fairer "
          "figure. **The target (>= 150 MB/s per core) is not met on any corpus**: 14-79 MB per CPU-second, and "
          "it falls as candidate pairs per MB rise.")
        if big:
            w(f"The {big[0]['j1']['best']['bytes'] / 1e9:.1f} GB corpus is bench/make_corpus.py `scaled --mb 1100 "
              "--seed 1` (608,721 documents recombined from a pool of 215,362 paragraphs, 5% planted edited copies): "
              "each paragraph is drawn into ~20 unrelated documents, so it is a worst case for the boilerplate "
              f"rule ({big[0]['j1']['best']['boilerplate_fingerprints']:,} template fingerprints, "
              f"{big[0]['j1']['best']['candidates']:,} candidate pairs, {big[0]['j1']['best']['pairs']:,} pairs "
              "reported).")
        w("\nWhere the time goes (perf, 20news, -j1, this commit): aligning candidate pairs ~64% (rp_align "
          "~28% with its seed qsort, reading both documents' spilled tokens back with pread ~17%, sorting shingle "
          "sets for containment ~12%), ingest ~21% (of which writing the token spill file ~12%; tokenising, "
          "shingling and winnowing are small). On scaled-100MB (commit 92be693, before shingle sets were radix-sorted), pread of the spill file (~27%, template masking "
          "reads each reference document again) and qsort (~26%) dominate. So the ingest path is not the "
          "bottleneck; per-candidate work is (every candidate pair re-reads two documents and re-masks their "
          "templates, and a pair with a passage sorts both shingle sets).\n")
        c = sp.get("compare", {})
        if "min_words_8" in c:
            b8, b50 = c["min_words_8"]["best"], c["min_words_50"]["best"]
            w(f"`rp_compare` in-process (bench/compare_time.c, {b8['iterations']} calls after 10 warm-up calls): two "
              f"20 KB cuts of Pride and Prejudice ({c['a']} vs {c['b']}, {c['cut']}; {b8['a_words']} and "
              f"{b8['b_words']} words, Jaccard {b8['jaccard']:.3f}, {b8['passages']} passages covering "
              f"{b8['passage_words']} words):\n")
            w("| min-words | median ms | min ms | mean ms | p90 ms | of which tokenising both (median) | aligning (median) |")
            w("|---|---|---|---|---|---|---|")
            for mw, b in (("8", b8), ("50", b50)):
                cm = b["compare_ms"]
                w(f"| {mw} | **{cm['median']:.3f}** | {cm['min']:.3f} | {cm['mean']:.3f} | {cm['p90']:.3f} | "
                  f"{b['tokenize_both_ms']['median']:.3f} | {b['align_ms']['median']:.3f} |")
            w("")
            w(f"The CLI (`reprint compare --json`, one process per call): {c['cli_ms_per_process']:.1f} ms per call. "
              "Mean and p90 are inflated by the shared machine (load in speed.json); the median is the figure.\n")
    # ---- bugs
    if rp:
        w("## Bugs found (minimal reproductions)\n")
        w("**Bug 1 — the boilerplate mask is extended over a true copy.** For a template fingerprint, load_doc extends "
          "the mask left and right for as long as the document agrees with the group's *reference* document (the "
          "group's first posting, or for the first document the first posting of another document). When that "
          "reference is the document's own copy (a duplicate, the quoted post, the article of a summary), the whole "
          "shared passage is masked in both, and the pair disappears. The result depends on input order. "
          "Reproduction (6 documents; A and B share a 25-word sentence containing \"in the three months to "
          "December\", which 4 unrelated documents also contain):\n")
        w("```sh")
        w("python3 - <<'EOF' > t.jsonl")
        w("import json")
        w(f"s = {REPRO_SHARED!r}")
        w("docs = [{'id': 'A', 'text': 'Alpha story begins here with some words. ' + s + '. Then alpha goes on about other things entirely.'},")
        w("        {'id': 'B', 'text': 'Beta report opens differently today. ' + s + '. Beta closes with a note on weather.'}]")
        w("for i, f in enumerate(['Cats sleep a lot and dream of fish', 'Rain fell on the quiet northern town',")
        w("                       'Engineers built a bridge over the river', 'The orchestra played a new symphony tonight']):")
        w("    docs.append({'id': f'U{i}', 'text': f + ' while inflation eased in the three months to December said officials. ' + f + ' again.'})")
        w("for d in docs: print(json.dumps(d))")
        w("EOF")
        w("build/reprint reuse -q --min-words 8 --boilerplate bp.jsonl t.jsonl; cat bp.jsonl   # no pair; A, B masked whole")
        w("(tail -4 t.jsonl; head -2 t.jsonl) > t2.jsonl")
        w("build/reprint reuse -q --min-words 8 t2.jsonl                             # A/B found, 25 words")
        w("```\n")
        m1 = rp["mask_AB_first"]
        w(f"Observed: A,B first → pairs: {'(none)' if not m1['pairs'].strip() else m1['pairs'].strip()}; boilerplate "
          f"`{m1['boilerplate'].splitlines()[0]}` (the whole shared sentence). A,B last → "
          f"`{rp['mask_AB_last']['pairs'].strip()[:120]}...`.")
        for x in rp["bbc_identical"]:
            w(f"On real data: {x['a']} and {x['b']} are byte-identical ({x['bytes']} bytes); `reprint reuse "
              f"bbc-news.jsonl.gz` does not report them (reported: {x['reported_by_reuse']}); boilerplate "
              f"{x['a']} {x['boilerplate_a']}, {x['b']} {x['boilerplate_b']}; `compare` finds "
              f"{x['compare_passages'][0][2] if x['compare_passages'] else 0} words.")
        def cnt(reasons, key):
            return sum(v for k, v in reasons.items() if key in k)
        imp = []
        if br:
            imp.append(f"{cnt(br['bbc-news']['missed_reasons'], 'although')} of {br['bbc-news']['missed']} BBC "
                       f"brute-force misses, {cnt(br['20news-20MB']['missed_reasons'], 'although')} of "
                       f"{br['20news-20MB']['missed']} on the 20news sample")
        if q:
            imp.append(f"{cnt(q['default']['missed_reasons'], 'masked as boilerplate; quoted text in < 5')} of "
                       f"{q['default']['missed_strict']} quote misses")
        if b1:
            imp.append(f"{b1['runs']['reuse-m8'].get('missed_overlapping_boilerplate')} of "
                       f"{b1['runs']['reuse-m8']['missed']} BBC-summary misses of reuse at min-words 8")
        w("Impact here (misses whose shared text is in < 5 documents yet masked): " + "; ".join(imp) + ". A fix "
          "direction: extend a template mask only over tokens whose own shingles are shared by >= template_df "
          "documents (or intersect the extensions against two references), and never against a reference that is "
          "itself a candidate partner of the document.\n")
        w("**Bug 2 — alignment: a passage whose A and B ranges are different text.** Step 3 of align.c merges a "
          "segment into an earlier one on another diagonal when it starts within `max_gap` in both A and B; a short "
          "spurious seed (a 5-gram repeated in B) thus absorbs the real segment, and step 4 (`unclaimed_part`) then "
          "trims the merged segment along the spurious diagonal, mapping A words to the wrong B words:\n")
        w("```sh")
        w(f"printf '%s' {REPRO_A!r} > a.txt".replace("printf '%s' '", "printf '%s' '"))
        w(f"printf '%s' {REPRO_B!r} > b.txt")
        w("build/reprint compare --json --min-words 8 a.txt b.txt")
        w("```\n")
        for p in rp["misaligned"]:
            w(f"- passage a {p['a']} = \"{p['a_text']}\" ↔ b {p['b']} = \"{p['b_text']}\" ({p['words']} words)")
        w("\nExpected: one 13-word passage \"The Food and Agriculture Organisation recommends that the food assistance "
          "is bought locally\" on both sides. On BBC summaries this costs ~0.3% of sentences and shifts some "
          "passages by a word or more (business/093: summary side starts one word early, \"offer.Argentina ...\").\n")
        pr = rp["peak_rss"]
        w("**Bug 3 (minor) — `peak_rss_mb` in `--stats` and the summary line is the parent's.** It is "
          "`getrusage(RUSAGE_SELF).ru_maxrss`, which Linux keeps across `execve`: reprint started by a process with a "
          f"large RSS reports that process's peak. Started from a Python process holding 1.5 GB: "
          f"{pr['from_python_with_1500MB']:.0f} MB; the same run from a small shell: {pr['from_small_shell']:.0f} MB. "
          "(Read VmHWM from /proc/self/status at start and at the end, or report the RSS growth, to fix.) Any "
          "harness that measures with `wait4`'s ru_maxrss from a big parent has the same artefact.\n")
        sl = rp.get("symlink_output")
        if sl:
            w("**Bug 4 — an output path that is a symlink is replaced by a regular file.** `out_open` stat()s the "
              "path (following the link), sees a regular file, writes a temporary file next to the *link* and "
              "rename()s it over the link: the link becomes a regular file and its target is left untouched. With "
              "`--stats /dev/stdout` (or `-o /dev/stderr` ...) while standard output is redirected to a file, running "
              "as root, this replaces the system's /dev/stdout symlink by a regular file holding the output, for "
              "every process on the machine. (It happened during this evaluation: /dev/stdout and /dev/stderr were "
              "regular files from 05:30 to 06:00 and were restored as symlinks to /proc/self/fd/1 and /proc/self/fd/2.)")
            w("```sh")
            w("touch real.json && ln -s real.json link.json")
            w("build/reprint reuse -q -o /dev/null --stats link.json t2.jsonl")
            w("ls -l link.json real.json   # link.json is now a regular file; real.json still empty")
            w("```\n")
            w(f"Observed: link still a symlink: {sl['link_is_symlink_after']}, link.json {sl['link_size']} bytes, "
              f"real.json {sl['target_size']} bytes. Fix: resolve the path (realpath) before choosing the temporary "
              "name and renaming, and write in place when the resolved path is not a regular file or lies under /dev "
              "or /proc.\n")
        w("**Not a bug, a design limit to decide on — the template rule versus quoting.** With `--template-df 5`, any "
          "text quoted by >= 4 replies becomes boilerplate; recall of quoted replies is "
          f"{pct(q['default']['recall_strict']) if q else '?'} and of brute-force pairs on the 20news sample "
          f"{pct(br['20news-20MB']['recall']) if br else '?'}; `--template-df 20` gives "
          f"{pct(q['template_df_sweep']['20']['recall_strict']) if q else '?'} / "
          f"{pct(br['20news-20MB']['variants']['template-df 20']['recall']) if br else '?'}, `--template-df 50` "
          f"{pct(q['template_df_sweep']['50']['recall_strict']) if q else '?'} / "
          f"{pct(br['20news-20MB']['variants']['template-df 50']['recall']) if br else '?'}.\n")
    path = os.path.join(HERE, "out", "reuse_eval.md")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(L) + "\n")
    print(f"wrote {path}", file=sys.stderr)


STEPS = {"bbc-summary": "bbc_summary", "quotes": "quotes", "brute": "brute", "repro": "repro", "speed": "speed",
         "report": "report"}


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in list(STEPS) + ["all"]:
        print(__doc__)
        sys.exit(2)
    steps = list(STEPS) if sys.argv[1] == "all" else [sys.argv[1]]
    for s in steps:
        globals()[STEPS[s]]()


if __name__ == "__main__":
    main()
