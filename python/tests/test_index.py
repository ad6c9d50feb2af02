"""reprint.Index against the command line (`reprint index ...`, `reprint query`)
on real documents (BBC news), and its failure modes: two writers, corrupt
files, bad documents, Ctrl-C."""
import json
import os
import signal
import subprocess
import threading
import time
import warnings

import pytest

import reprint
from conftest import CLI, records, run_cli


def write_jsonl(path, recs):
    with open(path, "w", encoding="utf-8") as f:
        for r in recs:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return str(path)


def cli_err(*args):
    r = subprocess.run([CLI, *args], capture_output=True)
    assert r.returncode == 0, r.stderr.decode()
    return r.stderr.decode()


@pytest.fixture(scope="module")
def bbc():
    return records("bbc-news")


def queries(bbc):
    """Queries with answers of every kind: exact copies, halves (containment),
    the BBC summaries (sentences taken from the articles), unrelated text, and
    an id that is a JSON number."""
    summ = records("bbc-news-summary")
    q = [{"id": f"copy/{r['id']}", "text": r["text"]} for r in bbc[::50]]
    q += [{"id": f"half/{r['id']}", "text": r["text"][: len(r["text"]) // 2]} for r in bbc[3::17]]
    q += [{"id": f"summary/{r['id']}", "text": r["text"]} for r in summ[::9]]
    q += [{"id": 7, "text": "nothing like any news story at all, just a few words"}]
    return q


def test_add_in_batches_then_query_equals_cli(tmp_path, bbc):
    parts = [bbc[:800], bbc[600:1500], bbc[1500:]]  # the second overlaps the first by 200 ids
    a, b = str(tmp_path / "cli.idx"), str(tmp_path / "py.idx")
    run_cli("index", "create", a)
    skipped_cli = []
    for k, part in enumerate(parts):
        err = cli_err("index", "add", a, write_jsonl(tmp_path / f"part{k}.jsonl", part))
        skipped_cli.append(int(err.split("skipped ")[1].split()[0]))
    assert skipped_cli == [0, 200, 0]

    with reprint.Index.create(b) as idx:
        stats = [idx.add(part) for part in parts]
    assert [s["skipped"] for s in stats] == skipped_cli
    assert [s["added"] for s in stats] == [800, 700, len(bbc) - 1500]
    assert all(s["errored"] == 0 and s["read"] == len(p) for s, p in zip(stats, parts))
    assert [s["segment"] for s in stats] == [1, 2, 3]

    q = queries(bbc)
    qpath = write_jsonl(tmp_path / "q.jsonl", q)
    cli = run_cli("query", a, qpath)
    cli_lines = cli.decode().splitlines(keepends=True)
    assert len(cli_lines) == len(q)
    nmatch = sum(len(json.loads(line)["matches"]) for line in cli_lines)
    assert nmatch > 150 and any('"a_in_b": 1' in line for line in cli_lines)

    with reprint.Index(b) as idx:
        res = idx.query(q)
        lines = [reprint.query_json_line(r["id"], ms) for r, ms in zip(q, res)]
        assert "".join(lines).encode() == cli  # byte for byte
        assert [json.loads(x) for x in lines] == [json.loads(x) for x in cli_lines]
        for ms in res:
            assert all(list(m) == ["id", "jaccard", "a_in_b", "b_in_a"] for m in ms)
        out = tmp_path / "py.jsonl"
        st = idx.query_jsonl(qpath, out)
        assert out.read_bytes() == cli
        assert st["queries"] == len(q) and st["matches"] == nmatch
        # query options as the command's
        for opts, kw in ((["--containment", "off"], dict(containment=None)),
                         (["--containment", "0.9", "--max-matches", "2"], dict(containment=0.9, max_matches=2)),
                         (["--max-df", "3"], dict(max_df=3))):
            res = idx.query(q, **kw)
            assert "".join(reprint.query_json_line(r["id"], ms) for r, ms in zip(q, res)).encode() == \
                run_cli("query", *opts, a, qpath)
    # the index written by Python is the command's: same answers from the CLI
    assert run_cli("query", b, qpath) == cli
    # plain texts with ids, in any iterable
    c = str(tmp_path / "texts.idx")
    with reprint.Index.create(c) as idx:
        st = idx.add((r["text"] for r in bbc), ids=(r["id"] for r in bbc))
        assert st["added"] == len(bbc)
        assert idx.query([r["text"] for r in q]) == reprint.Index(b).query(q)


def test_passages_equal_cli(tmp_path, bbc):
    a, b = str(tmp_path / "cli.idx"), str(tmp_path / "py.idx")
    docs = bbc[:400]
    run_cli("index", "create", "--store-text", "--min-words", "20", a)
    run_cli("index", "add", a, write_jsonl(tmp_path / "d.jsonl", docs))
    with reprint.Index.create(b, store_text=True, min_words=20) as idx:
        idx.add(docs[:150])
        idx.add(docs[150:])
    q = queries(docs)
    qpath = write_jsonl(tmp_path / "q.jsonl", q)
    cli = run_cli("query", "--passages", a, qpath)
    with reprint.Index(b) as idx:
        res = idx.query(q, passages=True)
        assert "".join(reprint.query_json_line(r["id"], ms) for r, ms in zip(q, res)).encode() == cli
        assert any(m["passages"] for ms in res for m in ms)
        half = next(ms for r, ms in zip(q, res) if str(r["id"]).startswith("half/") and ms)
        p = half[0]["passages"][0]
        assert list(p) == ["a", "b", "words"] and p["words"] >= 20
    with reprint.Index(a) as idx, pytest.raises(reprint.ReprintError):
        reprint.Index.create(str(tmp_path / "nt.idx")).query(["x"], passages=True)


def test_remove_compact_info_equal_cli(tmp_path, bbc):
    path = str(tmp_path / "py.idx")
    docs = bbc[:600]
    q = queries(docs)
    with reprint.Index.create(path, threshold=0.7, num_perm=64) as idx:
        idx.add(docs[:300])
        idx.add(docs[300:])
        before = idx.query(q)
        gone = [r["id"] for r in docs[::10]]
        assert idx.remove(gone + ["no/such/id"]) == len(gone)
        after = idx.query(q)
        i = idx.info()
    assert i["documents"] == 600 - len(gone) and i["removed"] == len(gone) and i["segments"] == 2
    for ms0, ms1 in zip(before, after):
        assert [m for m in ms0 if m["id"] not in gone] == ms1
    assert all(m["id"] not in gone for ms in after for m in ms)

    def same_info(py, cli):
        # the same keys, in the same order, and the same values: rounded as the CLI prints them
        cli = json.loads(cli)
        assert list(py) == list(cli) and py == cli
        assert json.dumps(py) == json.dumps(cli)

    same_info(i, run_cli("index", "info", "--json", path))
    with reprint.Index(path, "w") as idx:
        c = idx.compact()
        assert c == {"segments_before": 2, "bytes_before": i["bytes"], "segments": 1, "bytes": c["bytes"],
                     "documents": 600 - len(gone), "removed_dropped": len(gone)}
        assert idx.query(q) == after
        i2 = idx.info()
    assert i2["segments"] == 1 and i2["removed"] == 0 and i2["bytes"] < i["bytes"]
    same_info(i2, run_cli("index", "info", "--json", path))
    assert reprint.Index(path).params["threshold"] == 0.7


def test_two_writers_refused(tmp_path):
    path = str(tmp_path / "ix")
    w = reprint.Index.create(path)
    with pytest.raises(reprint.ReprintError, match="locked by another writer") as e:
        reprint.Index(path, "w")
    assert e.value.code == reprint.ELOCKED
    # the command line is refused too, and readers are not
    r = subprocess.run([CLI, "index", "add", path], input=b'{"id": "x", "text": "a b c"}\n', capture_output=True)
    assert r.returncode != 0 and b"locked" in r.stderr
    with reprint.Index(path) as reader:
        assert reader.query(["a b c"]) == [[]]
    w.add([{"id": "x", "text": "a b c d e f g"}])
    w.close()
    with reprint.Index(path, "w") as w2:
        assert w2.add([{"id": "x", "text": "a b c"}])["skipped"] == 1
    with pytest.raises(ValueError, match="closed"):
        w2.query(["a"])
    with reprint.Index(path) as ro, pytest.raises(reprint.ReprintError, match="reading"):
        ro.add([{"id": "y", "text": "b"}])


def test_corrupt_index_raises(tmp_path, bbc):
    path = tmp_path / "ix"
    with reprint.Index.create(path) as idx:
        idx.add(bbc[:200])
    segs = [p for p in os.listdir(path) if p not in ("MANIFEST", "LOCK")]
    assert segs
    seg = path / sorted(segs)[0]
    data = bytearray(seg.read_bytes())
    data[len(data) // 2] ^= 0x55
    seg.write_bytes(bytes(data))
    with pytest.raises(reprint.ReprintError, match=os.path.basename(seg)):
        reprint.Index(path)
    seg.write_bytes(bytes(data[: len(data) // 3]))  # truncated
    with pytest.raises(reprint.ReprintError):
        reprint.Index(path)
    man = [p for p in os.listdir(path) if "MANIFEST" in p.upper()]
    for m in man:
        (path / m).write_bytes(b"garbage")
    with pytest.raises(reprint.ReprintError):
        reprint.Index(path)
    with pytest.raises(reprint.ReprintError, match="not a reprint index"):
        reprint.Index(tmp_path)
    with pytest.raises(reprint.ReprintError):
        reprint.Index(tmp_path / "missing")
    with pytest.raises(reprint.ReprintError):
        reprint.Index.create(path)  # not empty


def test_bad_documents(tmp_path):
    path = str(tmp_path / "ix")
    with reprint.Index.create(path) as idx:
        idx.add([{"id": "a", "text": "one two three four five six"}])
        with pytest.raises(reprint.ReprintError, match="document 2: .*NUL") as e:
            idx.add(["x y z", "p q r", "g\x00h"], ids=["x", "p", "g"])
        assert e.value.index == 2
        assert idx.info()["documents"] == 1  # the failed add left the index as it was
        with pytest.raises(reprint.ReprintError, match='document 1: missing text field "text"'):
            idx.add([{"id": "b", "text": "b"}, {"id": "c"}])
        with pytest.raises(reprint.ReprintError, match="no id"):
            idx.add(["no id here"])
        st = idx.add([{"id": "b", "text": "b c"}, {"id": "c"}, {"id": "d", "text": "g\x00h"}], on_error="skip")
        assert (st["added"], st["errored"], sorted(st["errors"])) == (1, 2, [1, 2])
        assert idx.query(["one two three four five six", None, {"id": "q"}], on_error="skip") == \
            [[{"id": "a", "jaccard": 1.0, "a_in_b": 0.0, "b_in_a": 0.0}], None, None]
        with pytest.raises(reprint.ReprintError, match="document 1: .*NUL"):
            idx.query(["a", "b\x00"])
        with pytest.raises(reprint.ReprintError, match="containment"):
            idx.query(["a"], containment=1.5)
        with pytest.raises(reprint.ReprintError, match="ids"):
            idx.add(["a", "b"], ids=["a"])
    with pytest.raises(reprint.ReprintError, match="threshold"):
        reprint.Index.create(str(tmp_path / "t"), threshold=2)
    with pytest.raises(reprint.ReprintError, match="sig"):
        reprint.Index.create(str(tmp_path / "s"), sig_bits=3)


def test_add_jsonl_equals_cli_add(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"id": 1, "text": "a b c d e f g h"}\n{"id": 2}\n{"text": "no id here at all"}\n'
                    b'{"id": 1, "text": "again"}\n')
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    run_cli("index", "create", a)
    err = cli_err("index", "add", "--on-error", "skip", a, str(src))
    with reprint.Index.create(b) as idx:
        st = idx.add_jsonl(str(src), on_error="skip")
        with pytest.raises(reprint.ReprintError, match=r"in.jsonl:2:.*missing text field"):
            idx.add_jsonl(str(src))
    assert f"read 4, added {st['added']}, skipped {st['skipped']}" in err and st["errored"] == 1
    q = tmp_path / "q.jsonl"
    q.write_bytes(b'{"id": 9, "text": "a b c d e f g h"}\n{"id": 10}\n{"text": "no id here at all"}\n')
    cli = run_cli("query", "--on-error", "skip", a, str(q))
    out = tmp_path / "out.jsonl"
    reprint.Index(b).query_jsonl(str(q), out, on_error="skip")
    assert out.read_bytes() == cli and b'"error"' in cli and b'"id": 1,' in cli


def test_ctrl_c_interrupts_add(tmp_path):
    texts = [r["text"] for r in records("20news-bydate")] * 6  # about 110,000 documents: 0.3 s or more
    ids = [str(i) for i in range(len(texts))]
    path = str(tmp_path / "ix")
    idx = reprint.Index.create(path)
    timer = threading.Timer(0.05, lambda: os.kill(os.getpid(), signal.SIGINT))  # during the first batches
    timer.start()
    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        idx.add(texts, ids=ids)
        time.sleep(5)  # finished before the signal: wait for it so the test still sees it
    timer.join()
    assert time.perf_counter() - t0 < 5
    assert idx.info()["documents"] == 0  # nothing published
    assert idx.add(texts[:10], ids=[str(i) for i in range(10)])["added"] == 10  # still usable
    idx.close()


def test_non_finite_ids_refused(tmp_path):
    # JSON has no NaN or infinity: such an id would be written as invalid JSON
    with reprint.Index.create(str(tmp_path / "ix")) as ix:
        for bad in (float("nan"), float("inf"), float("-inf")):
            with pytest.raises(reprint.ReprintError, match="finite"):
                ix.add([{"id": bad, "text": "some text here and more"}])
        assert ix.info()["documents"] == 0
    res = reprint.dedup([{"id": float("nan"), "text": "a b c d e f"}, {"id": "ok", "text": "a b c d e f"}],
                        on_error="skip")
    lines = [json.loads(l) for l in res.jsonl_bytes().decode().splitlines()]
    assert len(lines) == 2 and "finite" in lines[0]["error"]


def test_lone_surrogate_skipped(tmp_path):
    # json.loads makes a lone surrogate of "\ud800": not valid Unicode, so a
    # bad record under on_error="skip", as dedup has it, not an exception
    recs = [{"id": "a", "text": "good text for the index here"},
            json.loads('{"id": "b", "text": "bad \\ud800 text"}')]
    with reprint.Index.create(str(tmp_path / "ix")) as ix:
        out = ix.add(recs, on_error="skip")
        assert out["added"] == 1 and out["errored"] == 1
        q = ix.query([r["text"] for r in recs], on_error="skip")
        assert q[1] is None and q[0]


def test_dotted_field_as_cli(tmp_path):
    # a dotted path goes through nested objects, as the CLI's reader, and
    # only that: a key holding the dots is not the field (no fallback)
    both = {"id": "r", "a.b": "alpha beta gamma delta epsilon zeta", "a": {"b": "one two three four five six"}}
    (tmp_path / "dot.jsonl").write_text(json.dumps(both) + "\n")
    run_cli("index", "create", str(tmp_path / "cli"))
    run_cli("index", "add", "-q", "--text-field", "a.b", str(tmp_path / "cli"), str(tmp_path / "dot.jsonl"))
    with reprint.Index.create(str(tmp_path / "py")) as ix:
        ix.add([both], text_field="a.b")
    for d in ("cli", "py"):
        with reprint.Index(str(tmp_path / d)) as ix:
            assert ix.query(["one two three four five six"])[0], d
            assert not ix.query(["alpha beta gamma delta epsilon zeta"])[0], d

    lit = {"id": "l", "a.b": "alpha beta gamma delta epsilon zeta eta"}
    src = tmp_path / "lit.jsonl"
    src.write_text(json.dumps(lit) + "\n")
    r = subprocess.run([CLI, "dedup", "-q", "--text-field", "a.b", str(src)], capture_output=True)
    assert r.returncode == 1 and b'missing text field "a.b"' in r.stderr
    cli_line = json.loads(run_cli("dedup", "-q", "--on-error", "skip", "--text-field", "a.b", str(src)))
    with pytest.raises(reprint.ReprintError, match='missing text field "a.b"'):
        reprint.dedup([lit], text_field="a.b")
    res = reprint.dedup([lit], text_field="a.b", on_error="skip")
    assert res[0] == {"id": "l", "error": cli_line["error"]} and cli_line["error"] == 'missing text field "a.b"'
    with pytest.raises(reprint.ReprintError, match='missing text field "a.b"'):
        reprint.dedup_jsonl(str(src), text_field="a.b")
    with reprint.Index.create(str(tmp_path / "lit")) as ix:
        with pytest.raises(reprint.ReprintError, match='missing text field "a.b"'):
            ix.add([lit], text_field="a.b")
        assert ix.add([lit], text_field="a.b", on_error="skip")["errored"] == 1
        assert ix.query([lit], text_field="a.b", on_error="skip") == [None]
    with pytest.raises(reprint.ReprintError, match='missing text field "a.b"'):
        reprint.compare(lit, lit, text_field="a.b")
    with pytest.raises(reprint.ReprintError, match='missing text field "a.b"'):
        reprint.reuse([lit, lit], text_field="a.b")
    # the id field too: a key "m.id" is not the id "m.id"
    res = reprint.dedup([{"m.id": "x", "text": "a b c d e f"}], id_field="m.id")
    assert res[0]["id"] == 0
    # paths the CLI refuses
    for bad in ("", "a..b", ".a", "a."):
        with pytest.raises(reprint.ReprintError, match="empty"):
            reprint.dedup([lit], text_field=bad)


def test_lone_surrogate_ids_are_bad_records(tmp_path):
    recs = [{"id": "a", "text": "good text for the index here"}, {"id": "b\udc80", "text": "other words in here"},
            {"id": "c", "text": "bad \ud800 text"}]
    with reprint.Index.create(str(tmp_path / "ix")) as ix:
        out = ix.add(recs, on_error="skip")
        assert out["added"] == 1 and out["errored"] == 2 and sorted(out["errors"]) == [1, 2]
        assert "lone surrogate" in out["errors"][1]
        with pytest.raises(reprint.ReprintError, match="document 1: .*lone surrogate"):
            ix.add(recs)
        with pytest.raises(reprint.ReprintError, match="document 0: .*lone surrogate"):
            ix.add(["some text"], ids=["x\ud800"])
        with pytest.raises(reprint.ReprintError, match="document 1: text is not valid Unicode"):
            ix.add([{"id": "z", "text": "fine"}, recs[2]])
        with pytest.raises(reprint.ReprintError, match="document 1: .*lone surrogate"):  # as the CLI's query
            ix.query(recs)
        with pytest.raises(reprint.ReprintError, match="document 1: text is not valid Unicode"):
            ix.query(["a b", recs[2]["text"]])
        assert ix.query(recs, on_error="skip")[1:] == [None, None]
        assert ix.info()["documents"] == 1


def test_default_ids_already_in_index_warn_as_cli(tmp_path):
    # records without an id get PATH:LINE; adding the file again skips them
    # all: the CLI warns even with -q, and so must add_jsonl, counting them
    # as the library does (skipped_default)
    src = tmp_path / "noid.jsonl"
    src.write_bytes(b'{"text": "a b c d e f g"}\n{"id": "x", "text": "h i j k l m"}\n{"text": "n o p q r s"}\n')
    cli, py = str(tmp_path / "cli"), str(tmp_path / "py")
    run_cli("index", "create", cli)
    run_cli("index", "add", "-q", cli, str(src))
    err = cli_err("index", "add", "-q", cli, str(src))
    assert "2 records have no id field" in err
    with reprint.Index.create(py) as ix:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            st = ix.add_jsonl(str(src))  # no warning the first time
        assert st["skipped_default"] == 0 and st["added"] == 3
        with pytest.warns(UserWarning) as w:
            st = ix.add_jsonl(str(src))
        assert st["skipped"] == 3 and st["skipped_default"] == 2 and st["added"] == 0
        assert len(w) == 1
        assert "reprint: warning: " + str(w[0].message).replace(py, cli) + "\n" == err
        src1 = tmp_path / "one.jsonl"
        src1.write_bytes(b'{"text": "a b c d e f g"}\n')
        ix.add_jsonl(str(src1))
        with pytest.warns(UserWarning, match="1 record has no id field; its default id PATH:LINE was already"):
            assert ix.add_jsonl(str(src1))["skipped_default"] == 1
        assert ix.add([{"id": "y", "text": "t u v"}])["skipped_default"] == 0


def test_remove_one_id_given_alone(tmp_path):
    # a str (or bytes, or int) given alone is one id, never its characters
    with reprint.Index.create(str(tmp_path / "ix")) as ix:
        ix.add(["one two three four five", "six seven eight", "nine ten", "eleven twelve", "x y z"],
               ids=["a", "b", "abc", "d", 7])
        assert ix.remove("abc") == 1
        assert ix.info()["documents"] == 4 and ix.info()["removed"] == 1
        assert ix.remove(b"a") == 1 and ix.remove(7) == 1
        assert ix.remove(["b", "zz"]) == 1 and ix.remove(("d",)) == 1
        assert ix.remove("\ud800") == 0 and ix.remove(["q", "\ud800"]) == 0
        assert ix.info()["documents"] == 0


def test_remove_ids_of_non_utf8_file_names(tmp_path):
    # default ids of a file whose name is not UTF-8 come back (from query) as
    # surrogateescape str; remove takes them, or their bytes
    f = os.fsencode(str(tmp_path)) + b"/f\xff.jsonl"
    with open(f, "wb") as fh:
        fh.write(b'{"text": "a b c d e f g"}\n{"text": "h i j k l m n"}\n')
    with reprint.Index.create(str(tmp_path / "ix")) as ix:
        ix.add_jsonl(f)
        got = ix.query(["a b c d e f g"])[0][0]["id"]
        assert os.fsencode(got) == f + b":1"
        assert ix.remove(got) == 1 and ix.remove(f + b":2") == 1
        assert ix.info()["documents"] == 0


def test_info_equals_cli_json(tmp_path):
    path = str(tmp_path / "ix")
    with reprint.Index.create(path, threshold=0.123456789, store_text=True) as idx:
        idx.add([{"id": str(i), "text": f"document {i} with a few words " * (i % 7 + 1)} for i in range(37)])
        info = idx.info()
        assert idx.params["threshold"] == 0.123456789
    cli = json.loads(run_cli("index", "info", "--json", path))
    assert info == cli and info["threshold"] == 0.123457
    assert info["bytes_per_document"] == float("%.1f" % (info["bytes"] / 37))
