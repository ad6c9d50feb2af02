"""reprint.compare against `reprint compare --json`, reuse against `reprint reuse`."""
import io
import json
import random

import pytest

import reprint
from conftest import corpus, records, run_cli


def pairs_from(name, n, seed):
    recs = records(name)
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a = rng.choice(recs)
        # a near copy (some sentences dropped), or another document
        if rng.random() < 0.6:
            sents = a["text"].split(". ")
            keep = [s for s in sents if rng.random() < 0.8] or sents[:1]
            out.append((a["text"], ". ".join(keep)))
        else:
            out.append((a["text"], rng.choice(recs)["text"]))
    return out


@pytest.mark.parametrize("min_words,ngram", [(8, 5), (3, 3), (20, 5)])
def test_compare_equals_cli_json(tmp_path, min_words, ngram):
    for k, (a, b) in enumerate(pairs_from("bbc-news", 12, k_seed := min_words * 100 + ngram)):
        fa, fb = tmp_path / f"a{k}.txt", tmp_path / f"b{k}.txt"
        fa.write_text(a, encoding="utf-8")
        fb.write_text(b, encoding="utf-8")
        cli = run_cli("compare", "--json", "-m", str(min_words), "-n", str(ngram), str(fa), str(fb))
        res = reprint.compare(a, b, ngram=ngram, min_words=min_words, a_id=str(fa), b_id=str(fb))
        assert reprint.compare_json(res).encode() == cli, k_seed
        want = json.loads(cli)
        assert res["passages"] == want["passages"] and res["only_a"] == want["only_a"]
        assert res["a"] == want["a"] and res["b"] == want["b"]
        assert abs(res["jaccard"] - want["jaccard"]) < 1e-5


def test_compare_records_and_offsets():
    a = {"id": 7, "text": "Élan — the “quick” brown fox jumps over the lazy dog again and again"}
    b = {"id": "b", "text": "prefix words here: the quick brown fox jumps over the lazy dog again and again"}
    res = reprint.compare(a, b, min_words=5)
    assert res["a"]["id"] == 7 and res["b"]["id"] == "b"
    (p,) = res["passages"]
    ta, tb = a["text"].encode(), b["text"].encode()
    assert ta[p["a"][0]:p["a"][1]].decode() == "the “quick” brown fox jumps over the lazy dog again and again"
    assert tb[p["b"][0]:p["b"][1]].decode() == "the quick brown fox jumps over the lazy dog again and again"
    assert res["only_a"] == [[0, len("Élan".encode())]]


def test_reuse_equals_cli(tmp_path):
    cli = run_cli("reuse", "-q", corpus("bbc-news"))
    out = tmp_path / "reuse.jsonl"
    pairs = reprint.reuse_jsonl(corpus("bbc-news"), out)
    assert out.read_bytes() == cli
    mem = reprint.reuse(records("bbc-news"))
    assert "".join(reprint.reuse_json_lines(mem)).encode() == cli
    assert [(p["a"], p["b"]) for p in mem] == [(p["a"], p["b"]) for p in pairs]
    cli20 = run_cli("reuse", "-q", "-m", "20", corpus("bbc-news-summary"))
    assert "".join(reprint.reuse_json_lines(reprint.reuse(records("bbc-news-summary"), min_words=20))).encode() == cli20


def test_reuse_memory_budget():
    # every token stream in the temporary file, or a few: the same pairs
    recs = records("bbc-news")
    want = reprint.reuse(recs)
    assert reprint.reuse(recs, memory=0) == want
    assert reprint.reuse(recs, memory=1 << 16) == want
    with pytest.raises(reprint.ReprintError):
        reprint.reuse(recs, memory=-1)


def test_reuse_plain_texts():
    base = " ".join(f"w{i}" for i in range(80))
    pairs = reprint.reuse(["intro " + base, "unrelated text " * 20, base + " outro"], min_words=50)
    assert [(p["a"], p["b"]) for p in pairs] == [(0, 2)]
    assert pairs[0]["passages"][0]["words"] == 80


def test_arguments_the_cli_refuses(tmp_path):
    # what `reprint compare` and `reprint reuse` refuse (exit 2), the binding
    # refuses too (ReprintError), never silently using a default
    import subprocess
    from conftest import CLI
    a = " ".join(f"w{i}" for i in range(60))
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": 1, "text": a + " x"}) + "\n" + json.dumps({"id": 2, "text": "q " + a}) + "\n")
    (tmp_path / "a.txt").write_text(a)

    def cli_refuses(*args):
        return subprocess.run([CLI, *args], capture_output=True).returncode == 2

    for mw in (0, 2, 4, 1000001):
        assert cli_refuses("compare", "-m", str(mw), str(tmp_path / "a.txt"), str(tmp_path / "a.txt")), mw
        with pytest.raises(reprint.ReprintError, match="min.words"):
            reprint.compare(a, a, min_words=mw)
        assert cli_refuses("reuse", "-m", str(mw), str(src)), mw
        with pytest.raises(reprint.ReprintError, match="min.words"):
            reprint.reuse([a, a], min_words=mw)
        with pytest.raises(reprint.ReprintError, match="min.words"):
            reprint.reuse_jsonl(str(src), min_words=mw)
    assert reprint.compare(a, a, min_words=5)["passages"] and reprint.compare(a, a, ngram=3, min_words=3)["passages"]
    for opt, kw in (("--template-df", "template_df"), ("--max-df", "max_df")):
        for v in (0, 1, (1 << 30) + 1):
            assert cli_refuses("reuse", opt, str(v), str(src)), (opt, v)
            with pytest.raises(reprint.ReprintError):
                reprint.reuse([a, a], **{kw: v})
            with pytest.raises(reprint.ReprintError):
                reprint.reuse_jsonl(str(src), **{kw: v})
    assert cli_refuses("reuse", "--template-df", "2000", str(src))
    with pytest.raises(reprint.ReprintError, match="max_df"):
        reprint.reuse([a, a], template_df=2000)
    assert len(reprint.reuse([a + " x", "q " + a], min_words=10, template_df=2, max_df=2)) == 1
    for bad in (float("nan"), 0, 1.5, -0.1):
        with pytest.raises(reprint.ReprintError, match="threshold"):
            reprint.lsh_params(bad)
