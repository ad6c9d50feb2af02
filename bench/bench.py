#!/usr/bin/env python3
"""Side-by-side benchmark driver (bench/run.sh calls it; `make bench` runs that).

  bench.py --corpus NAME=FILE.jsonl[:TRUTH.jsonl] ... [--tools LIST]
           [--budget 900] [--reprint build/reprint] [--results bench/out/results]

For every corpus, every tool runs on the same file on this machine, one at a
time, and is measured from outside: wall seconds, CPU seconds (user+sys of
the process and its reaped children, from wait4), and peak RSS (the larger
of the tool's own ru_maxrss, i.e. the largest single process, and the peak
of the summed proportional set size of the whole process tree, sampled every
0.25 s from /proc, so multi-process tools count whole and forked workers' shared
pages count once).  Every tool runs under bench/rusage.c (built by run.sh
into out/rusage), which forks it and reports its own ru_maxrss: Linux keeps
ru_maxrss across execve, so a tool forked straight from this driver reported
the driver's peak (about 210 MB) whenever its own was smaller.
Python peers' wall time is taken inside their process (peers.py: from
before the peer library import to the pairs written; interpreter start-up
excluded); reprint's is the whole process.

A run shorter than --repeat-under seconds (60) is repeated (--repeat, 3 in
all) and its median time is reported (peak memory: the largest); the first
run's output is the one scored.

A tool whose predicted time on a corpus (from its earlier runs) exceeds
--budget seconds, or that does not finish within it, runs on two prefixes of
the corpus (P/2 and P documents, P sized to take about a quarter of the
budget); its seconds are extrapolated to the whole corpus as docs^k with k
fitted through the two prefix runs (clamped to [1, 2.5]); docs/s and MB/s
are those of the larger prefix, and the table says so.

Tools: reprint-j1, reprint-j2 (build/reprint dedup, -j 1 / -j 2; skipped if
build/reprint does not exist), datasketch, rensa, rensa-cminhash, text-dedup
(peers.py). Results: RESULTS.json and RESULTS.md (Markdown tables).
"""
import argparse
import datetime
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out")
VPY = os.path.join(HERE, "venv", "bin", "python")
RUSAGE = os.path.join(OUT, "rusage")  # bench/rusage.c, built by run.sh
sys.path.insert(0, HERE)
from score import score  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")
ALL_TOOLS = ["reprint-j1", "reprint-j2", "datasketch", "rensa", "rensa-cminhash", "text-dedup"]


# ------------------------------------------------------------- measurement
def settle(path):
    """Leave path in the page cache as a file read from disk is, whatever wrote it.

    How a file sits in the page cache depends on how it was written: the corpus
    generator's 8 KB writes leave 8 KB folios, a read from disk (readahead) large
    ones, and copying 100 MB out of 8 KB folios costs the reader 2.5 times the
    kernel CPU (16 ms against 6.5 ms here, `dd bs=1M`).  A corpus a user
    deduplicates was read from disk, so every tool is timed on that: write back,
    drop the file's pages, read it once."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        while os.read(fd, 1 << 20):
            pass
    finally:
        os.close(fd)


def tree_pids(root):
    """root and all its descendants (from the parent pids in /proc/*/stat)."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                s = f.read()
            ppid = int(s[s.rindex(b")") + 2:].split()[1])
            kids.setdefault(ppid, []).append(int(d))
        except (OSError, ValueError, IndexError):
            pass
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, ()))
    return out


def proc_mem(pid):
    """Proportional set size (shared pages split between the processes that
    share them, so forked workers are not counted twice), else RSS."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return 0


def busy_seconds():
    """CPU seconds all processes of the machine have used (from /proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (v + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def run_measured(cmd, log_path, env=None, timeout=None):
    with open(log_path, "w") as log:
        log.write(" ".join(cmd) + "\n")
        log.flush()
        ru_file = log_path + ".rusage"
        wrapped = os.access(RUSAGE, os.X_OK)
        if wrapped:
            if os.path.exists(ru_file):
                os.unlink(ru_file)
            cmd = [RUSAGE, ru_file] + list(cmd)
        busy0 = busy_seconds()
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                             start_new_session=True, cwd=ROOT)
        peak = [0]
        done = threading.Event()
        killed = [False]

        def sample():
            # Light on purpose (2 cores): the tree is re-listed every 0.25 s
            # and its memory summed only when the tool has more than one
            # process; a single process's peak is its ru_maxrss, exactly.
            while not done.is_set():
                try:
                    pids = tree_pids(p.pid)
                    if len(pids) > 1 + wrapped:
                        peak[0] = max(peak[0], sum(proc_mem(q) for q in pids))
                except Exception:
                    pass
                if timeout and time.perf_counter() - t0 > timeout:
                    killed[0] = True
                    try:
                        os.killpg(p.pid, 9)
                    except OSError:
                        pass
                done.wait(0.25)

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        _, status, ru = os.wait4(p.pid, 0)
        secs = time.perf_counter() - t0
        busy = busy_seconds() - busy0
        done.set()
        th.join()
        p.returncode = os.waitstatus_to_exitcode(status)
    cpu = ru.ru_utime + ru.ru_stime
    own_rss_kb = ru.ru_maxrss  # unwrapped: may be the driver's peak (see the top)
    if wrapped:
        try:
            with open(ru_file) as f:
                own_rss_kb = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            own_rss_kb = 0
    # CPU used meanwhile by everything else on the machine (other users'
    # jobs, and this driver's sampler), in cores: > 0.15 makes timings suspect
    other = max(0.0, busy - cpu) / secs if secs > 0.5 else None
    return {"rc": p.returncode, "wall": secs, "cpu": cpu, "other_cores": other,
            "peak_rss_mb": max(peak[0] / 2**20, own_rss_kb / 1024), "killed": killed[0]}


# ------------------------------------------------------------------ corpora
def corpus_info(path):
    n = 0
    with open(path, "rb") as f:
        for _ in f:
            n += 1
    return {"path": path, "bytes": os.path.getsize(path), "docs": n}


def make_prefix(path, ndocs):
    out = os.path.join(OUT, "prefix", f"{os.path.basename(path)[:-6]}.first{ndocs}.jsonl")
    if not os.path.exists(out):
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(path, "rb") as f, open(out + ".tmp", "wb") as g:
            for i, line in enumerate(f):
                if i >= ndocs:
                    break
                g.write(line)
        os.replace(out + ".tmp", out)
    settle(out)
    return out


# -------------------------------------------------------------------- tools
def tool_cmd(tool, corpus, base, a):
    """Return (cmd, pairs_path, clusters_path, stats_path) for one run."""
    pairs = base + ".pairs.jsonl"
    stats = base + ".stats.json"
    if tool.startswith("reprint-j"):
        j = tool[len("reprint-j"):]
        out = base + ".out.jsonl"
        cmd = [a.reprint, "dedup", corpus, "--pairs", pairs, "-o", out, "--stats", stats, "-j", j,
               "--threshold", str(a.threshold), "--num-perm", str(a.num_perm), "--ngram", str(a.ngram)]
        return cmd, pairs, out, stats
    cmd = [VPY, os.path.join(HERE, "peers.py"), tool, corpus, "--pairs", pairs, "--stats", stats,
           "--threshold", str(a.threshold), "--num-perm", str(a.num_perm), "--ngram", str(a.ngram),
           "--bands", str(a.bands), "--rows", str(a.rows)]
    return cmd, pairs, None, stats


def tool_available(tool, a):
    if tool.startswith("reprint"):
        return (os.access(a.reprint, os.X_OK), f"{a.reprint} not built")
    if not os.path.exists(VPY):
        return (False, "bench/venv missing (run bench/peers.sh)")
    mod = {"datasketch": "datasketch", "rensa": "rensa", "rensa-cminhash": "rensa",
           "text-dedup": "text_dedup.minhash"}[tool]
    r = subprocess.run([VPY, "-c", f"import {mod}"], capture_output=True, text=True)
    if r.returncode == 0:
        return (True, "")
    why = "import failed"
    st = os.path.join(OUT, "text-dedup-status.txt")
    if tool == "text-dedup" and os.path.exists(st):
        why = open(st).read().strip()
    return (False, why)


def run_once(tool, cname, corpus, truth, a, tag="", timeout=None, scored=True):
    """One measured run of tool on corpus; returns a result dict."""
    res = {"tool": tool, "corpus": cname}
    run_dir = os.path.join(OUT, "runs", cname)
    os.makedirs(run_dir, exist_ok=True)
    base = os.path.join(run_dir, tool + tag)
    for ext in (".pairs.jsonl", ".out.jsonl", ".stats.json"):
        if os.path.exists(base + ext):
            os.remove(base + ext)
    cmd, pairs, clusters, stats = tool_cmd(tool, corpus, base, a)
    m = run_measured(cmd, base + ".log", timeout=timeout)
    if m["rc"] != 0 and not m["killed"] and tool.startswith("reprint"):
        # an older reprint may not take the explicit parameter flags: they are its defaults
        cmd2 = cmd[:cmd.index("--threshold")]
        m2 = run_measured(cmd2, base + ".log", timeout=timeout)
        if m2["rc"] == 0:
            m, cmd = m2, cmd2
    res["cmd"] = " ".join(os.path.relpath(c, ROOT) if c.startswith(ROOT) else c for c in cmd)
    if tool == "text-dedup":
        shutil.rmtree(base + ".pairs.td", ignore_errors=True)   # HF datasets arrow cache
    if m["rc"] != 0:
        tail = open(base + ".log", errors="replace").read()[-600:]
        res["killed"] = m["killed"]
        res["failed"] = ("did not finish in %d s" % timeout) if m["killed"] else f"exit {m['rc']}: {tail}"
        return res
    st = {}
    if os.path.exists(stats):
        with open(stats) as f:
            st = json.load(f)
    info = corpus_info(corpus)
    secs = st.get("seconds") if not tool.startswith("reprint") else m["wall"]
    secs = float(secs) if secs else m["wall"]
    res.update({"docs": info["docs"], "bytes": info["bytes"], "seconds": secs, "wall": m["wall"],
                "cpu": m["cpu"], "other_cores": m["other_cores"], "peak_rss_mb": m["peak_rss_mb"], "stats": st,
                "docs_per_s": info["docs"] / secs, "mb_per_s": info["bytes"] / 1e6 / secs,
                "seconds_full": secs})
    if scored and truth and os.path.exists(pairs):
        try:
            res["score"] = score(corpus, truth, pairs, clusters, a.threshold, a.ngram)
        except Exception as e:  # a malformed output file must not lose the timings
            res["score_error"] = repr(e)
    return res


def exponent(p1, p2):
    """k in t = c * n^k through two (docs, seconds) points, clamped to [1, 2.5]."""
    (n1, t1), (n2, t2) = sorted([p1, p2])
    if n2 <= n1 or t1 <= 0 or t2 <= 0:
        return 1.0
    k = math.log(t2 / t1) / math.log(n2 / n1)
    return min(2.5, max(1.0, k))


def predict(hist, n):
    """Predicted seconds for n docs from earlier (docs, seconds) of this tool."""
    if not hist:
        return None, 1.0
    pts = sorted(hist)
    k = exponent(pts[-2], pts[-1]) if len(pts) >= 2 else 1.0
    n0, t0 = pts[-1]
    return t0 * (n / n0) ** k, k


def say(res):
    if "seconds" in res:
        print(f"bench: {res['corpus']}: {res['tool']}: {res['seconds']:.2f}s ({res['docs']} docs) "
              f"{res['docs_per_s']:.0f} docs/s {res['mb_per_s']:.2f} MB/s {res['peak_rss_mb']:.0f} MB "
              f"{json.dumps(res.get('score', {}))}", file=sys.stderr, flush=True)
    else:
        print(f"bench: {res['corpus']}: {res['tool']}: {res.get('skipped') or res.get('failed')}",
              file=sys.stderr, flush=True)


def run_tool(tool, cname, info, truth, hist, a):
    """Run tool on the whole corpus, or, when it would take (or takes) more than
    --budget seconds, on two prefixes (P/2 and P documents) and extrapolate
    to the whole corpus with the exponent k fitted through them
    (t = c * docs^k, k clamped to [1, 2.5]: a quadratic tool is not
    flattered by a linear extrapolation)."""
    ok, why = tool_available(tool, a)
    if not ok:
        res = {"tool": tool, "corpus": cname, "skipped": why}
        say(res)
        return res
    h = hist.setdefault(tool, [])
    n = info["docs"]
    pred, k = predict(h, n)
    killed = None
    if pred is None or pred <= a.budget:
        print(f"bench: {cname}: {tool} ...", file=sys.stderr, flush=True)
        res = run_once(tool, cname, info["path"], truth, a, timeout=a.budget)
        if "seconds" in res:
            if a.repeat > 1 and res["seconds"] < a.repeat_under:
                # short runs are noisy on a small shared machine: the median of
                # --repeat runs (the first one's output is the one scored)
                times = [(res["seconds"], res["wall"], res["cpu"], res["other_cores"])]
                peak = res["peak_rss_mb"]
                for i in range(1, a.repeat):
                    r = run_once(tool, cname, info["path"], truth, a, tag=f".rep{i}",
                                 timeout=a.budget, scored=False)
                    if "seconds" not in r:
                        break
                    times.append((r["seconds"], r["wall"], r["cpu"], r["other_cores"]))
                    peak = max(peak, r["peak_rss_mb"])
                times.sort()
                secs, wall, cpu, other = times[len(times) // 2]
                res.update({"seconds": secs, "wall": wall, "cpu": cpu, "other_cores": other,
                            "seconds_full": secs,
                            "peak_rss_mb": peak, "repeats": [t[0] for t in times],
                            "docs_per_s": res["docs"] / secs, "mb_per_s": res["bytes"] / 1e6 / secs})
            h.append((res["docs"], res["seconds"]))
            say(res)
            return res
        if not res.get("killed"):
            say(res)
            return res
        killed = res
        k = max(k, 2.0)     # it took longer than predicted: size the prefixes for the worst
        pred = a.budget * 4.0
    # prefix sizes: predicted time of the larger prefix about budget / 4
    p_docs = int(n * (a.budget / 4 / max(pred, 1e-9)) ** (1.0 / k))
    p_docs = max(1000, min(p_docs, n // 2))
    runs = []
    for pn in (p_docs // 2, p_docs):
        corpus = make_prefix(info["path"], pn)
        print(f"bench: {cname}: {tool} (prefix of {pn} docs) ...", file=sys.stderr, flush=True)
        r = run_once(tool, cname, corpus, truth, a, tag=f".first{pn}", timeout=a.budget)
        say(r)
        if "seconds" not in r:
            r["failed"] = f"prefix of {pn} docs: {r.get('failed')}"
            return r
        runs.append(r)
    k_fit = exponent((runs[0]["docs"], runs[0]["seconds"]), (runs[1]["docs"], runs[1]["seconds"]))
    res = runs[1]
    res["prefix_docs"] = res["docs"]
    res["exponent"] = k_fit
    res["seconds_full"] = res["seconds"] * (n / res["docs"]) ** k_fit
    if killed:
        res["note"] = f"did not finish the whole corpus in {a.budget:.0f} s"
    h.extend([(r["docs"], r["seconds"]) for r in runs])
    return res


# ------------------------------------------------------------------ report
def fmt(v, nd=2):
    if v is None:
        return "-"
    if isinstance(v, float):
        if v >= 1000:
            return f"{v:,.0f}"
        return f"{v:.{nd}f}"
    return str(v)


def machine():
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, {platform.system()} {platform.release()}"


def versions(a):
    v = {}
    if os.path.exists(VPY):
        r = subprocess.run([VPY, "-m", "pip", "freeze"], capture_output=True, text=True)
        for line in r.stdout.splitlines():
            name = line.split("==")[0].lower()
            if name in ("datasketch", "rensa", "text-dedup", "numpy", "datasets"):
                v[name] = line.split("==")[-1]
        r = subprocess.run([VPY, "--version"], capture_output=True, text=True)
        v["python"] = r.stdout.strip().split()[-1]
    if os.access(a.reprint, os.X_OK):
        r = subprocess.run([a.reprint, "--version"], capture_output=True, text=True)
        v["reprint"] = (r.stdout or r.stderr).strip().splitlines()[0] if (r.stdout or r.stderr).strip() else "?"
    return v


def report(all_res, corpora, a):
    L = []
    L.append("# reprint vs peers: near-duplicate detection benchmark\n")
    L.append(f"Run {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')} on {machine()}. "
             f"One tool at a time, same corpus file, same machine.\n")
    v = versions(a)
    L.append("Versions: " + ", ".join(f"{k} {x}" for k, x in sorted(v.items())) + ".\n")
    L.append(f"Parameters for every tool: word {a.ngram}-gram shingles, {a.num_perm} permutations, "
             f"threshold {a.threshold}. LSH: datasketch and text-dedup {a.bands} bands x {a.rows} rows; "
             f"rensa's RMinHashLSH needs num_perm divisible by the band count, so 16 x 8; "
             f"rensa-cminhash uses rensa's CMinHashDeduplicator (no band parameter); reprint its own "
             f"choice (recall >= 0.98 at the threshold). Peers tokenise in Python (lowercase, \\w+ words); "
             f"text-dedup with its own tokenizer; reprint with its NFKC + casefold normaliser.\n")
    L.append(f"Seconds are the median of {a.repeat} runs for runs under {a.repeat_under:.0f} s, "
             "else of one run. "
             "Seconds are end to end: read the JSONL, tokenise, sketch, LSH, verify, write pairs. "
             "CPU s = user + system of the process tree. Peak RSS = whole process tree. "
             "'x j1' / 'x j2' = tool seconds / reprint -j1 (-j2) seconds on the same corpus "
             "(how many times faster reprint is). Recall = truth pairs (exact Jaccard >= threshold, "
             "brute force) whose two documents end in one cluster; precision = reported pairs whose "
             "exact Jaccard is >= threshold (>= threshold - 0.1 in brackets).\n")
    contended = []
    for cname, info in corpora.items():
        rows = [r for r in all_res if r["corpus"] == cname]
        L.append(f"\n## {cname}: {info['docs']:,} documents, {info['bytes'] / 1e6:.1f} MB\n")
        if info.get("how"):
            L.append(info["how"] + "\n")
        base = {t: r.get("seconds_full") for r in rows for t in ("reprint-j1", "reprint-j2")
                if r["tool"] == t and "seconds_full" in r}
        L.append("| tool | docs | MB | seconds | docs/s | MB/s | CPU s | peak RSS MB | x j1 | x j2 "
                 "| recall | recall J>=t+0.05 | precision | pairs |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            if "seconds" not in r:
                L.append(f"| {r['tool']} | | | | | | | | | | | | | "
                         f"{'skipped: ' + r['skipped'] if 'skipped' in r else 'FAILED: ' + r.get('failed', '')[:200].replace('|', '/').replace(chr(10), ' ')} |")
                continue
            sc = r.get("score", {})
            secs = r["seconds_full"]
            stxt = fmt(r["seconds"])
            if r.get("prefix_docs"):
                stxt = (f"{fmt(secs)} (extrapolated as docs^{r['exponent']:.2f} from {fmt(r['seconds'])} s "
                        f"on the first {r['docs']:,} docs{'; ' + r['note'] if r.get('note') else ''})")
            if (r.get("other_cores") or 0) > 0.15:
                stxt += f" ⚠ other load {r['other_cores']:.2f} cores"
                contended.append(r["tool"])
            x1 = fmt(secs / base["reprint-j1"], 1) if base.get("reprint-j1") else "-"
            x2 = fmt(secs / base["reprint-j2"], 1) if base.get("reprint-j2") else "-"
            prec = "-"
            if sc.get("precision") is not None:
                prec = f"{sc['precision']:.4f} ({sc['precision_tol']:.4f})"
            L.append(f"| {r['tool']} | {r['docs']:,} | {r['bytes'] / 1e6:.1f} | {stxt} | "
                     f"{fmt(r['docs_per_s'], 0)} | {fmt(r['mb_per_s'])} | {fmt(r['cpu'], 1)} | "
                     f"{fmt(r['peak_rss_mb'], 0)} | {x1} | {x2} | {fmt(sc.get('recall_clusters'), 4)} | "
                     f"{fmt(sc.get('recall_hi'), 4)} | {prec} | "
                     f"{sc.get('reported_pairs', '-')} / {sc.get('truth_pairs', '-')} truth |")
        ph = [r for r in rows if r.get("stats", {}).get("phase_seconds")]
        if ph:
            L.append("\nWhere the Python peers spend their time (seconds):\n")
            L.append("| tool | read + tokenise (Python) | sketch | LSH + verify |")
            L.append("|---|---:|---:|---:|")
            for r in ph:
                p = r["stats"]["phase_seconds"]
                L.append(f"| {r['tool']} | {p['read_tokenize']:.2f} | {p['sketch']:.2f} | {p['lsh_verify']:.2f} |")
    L.append("\n## Notes\n")
    if contended:
        L.append("- ⚠ Other processes on this machine used more than 0.15 of a core during the runs "
                 "marked (measured from /proc/stat minus the tool's own CPU): their times are too "
                 "high by an unknown amount. Rerun on a quiet machine for figures to quote.")
    st = os.path.join(OUT, "text-dedup-status.txt")
    if os.path.exists(st):
        L.append(f"- text-dedup install: {open(st).read().strip()}. text-dedup 0.4.1 is not offered "
                 "for Python 3.11 (pip sees versions up to 0.4.0). It never verifies LSH candidates "
                 "(a bucket collision is an edge), so its pairs are (document, cluster representative) "
                 "edges from its union-find; it runs as its own CLI with `--num_proc` = all cores. "
                 "Its tokenizer splits on single non-word characters (`re.split(r'\\W')`), so every "
                 "run of whitespace (CRLF, indentation, two spaces) adds empty tokens: two copies that "
                 "differ only in whitespace can fall far below the threshold (on the 100 MB corpus, "
                 "planted copies with identical words measured a median Jaccard of 0.64 in its "
                 "tokens), which is most of its recall loss there.")
    L.append("- Empty documents (no words) are left out of recall and precision (every pair of them is "
             "trivially identical); the Reuters part of the news corpus has 737.")
    L.append("- rensa is multi-threaded (rayon) in its sketching; datasketch is single-threaded; "
             "the Python tokenising of both is single-threaded. rensa's own sketching is fast; most of "
             "its end-to-end time is the Python shingling every rensa user has to do (table above).")
    L.append("- rensa-cminhash (CMinHashDeduplicator) grows faster than linearly with the number of "
             "documents (its candidate search), see its times on the two corpora.")
    L.append("- datasketch and rensa verify candidates with the 128-slot estimate, so pairs just "
             "above the threshold are lost and pairs just below it kept: their recall over all truth "
             "pairs is lower than over J >= threshold + 0.05, and precision < 1.")
    return "\n".join(L) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", action="append", required=True, help="NAME=FILE[:TRUTH]")
    ap.add_argument("--how", action="append", default=[], help="NAME=how the corpus was made")
    ap.add_argument("--tools", default=",".join(ALL_TOOLS))
    ap.add_argument("--corpus-tools", action="append", default=[],
                    help="NAME=t1,t2: tools for that corpus only (default --tools)")
    ap.add_argument("--budget", type=float, default=900)
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs shorter than --repeat-under s are repeated this often; median kept")
    ap.add_argument("--repeat-under", type=float, default=60)
    ap.add_argument("--reprint", default=os.path.join(ROOT, "build", "reprint"))
    ap.add_argument("--results", default=os.path.join(OUT, "results"))
    ap.add_argument("--threshold", type=float, default=0.8)
    ap.add_argument("--num-perm", type=int, default=128)
    ap.add_argument("--ngram", type=int, default=5)
    ap.add_argument("--bands", type=int, default=18)
    ap.add_argument("--rows", type=int, default=7)
    a = ap.parse_args()
    tools = [t for t in a.tools.split(",") if t]
    hows = dict(h.split("=", 1) for h in a.how)
    per_tools = {k: [t for t in v.split(",") if t] for k, v in (c.split("=", 1) for c in a.corpus_tools)}
    corpora, truths = {}, {}
    for c in a.corpus:
        name, rest = c.split("=", 1)
        path, _, truth = rest.partition(":")
        corpora[name] = corpus_info(os.path.abspath(path))
        meta = os.path.abspath(path)[:-6] + ".meta.json"
        how = hows.get(name, "")
        if not how and os.path.exists(meta):
            with open(meta) as f:
                mj = json.load(f)
            how = (f"Built by `bench/make_corpus.py scaled --mb {mj['mb']:g} --seed {mj['seed']}`: "
                   f"{mj['how']}. {mj['planted']:,} planted copies ({mj['dup_share']:.0%}), paragraph "
                   f"pool {mj['paragraph_pool']:,}.")
        corpora[name]["how"] = how
        truths[name] = os.path.abspath(truth) if truth else None
        if truths[name] and truths[name].endswith(".planted.jsonl"):
            corpora[name]["how"] += (" Truth here is the planted copies only (recall = planted copies "
                                     "with exact Jaccard >= threshold found; no brute force at this "
                                     "size); precision is still exact for every reported pair.")
    hist, all_res = {}, []
    for cname, info in corpora.items():
        settle(info["path"])
        for tool in per_tools.get(cname, tools):
            all_res.append(run_tool(tool, cname, info, truths[cname], hist, a))
    with open(a.results + ".json", "w") as f:
        json.dump({"corpora": corpora, "runs": all_res}, f, indent=1)
    md = report(all_res, corpora, a)
    with open(a.results + ".md", "w") as f:
        f.write(md)
    print(md)


if __name__ == "__main__":
    main()
