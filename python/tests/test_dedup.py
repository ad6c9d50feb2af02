"""reprint.dedup and dedup_jsonl against `reprint dedup`, byte for byte."""
import io
import json
import os
import signal
import threading
import time

import pytest

import reprint
from conftest import corpus, records, run_cli

CORPORA = ["bbc-news", "reuters21578", "20news-bydate", "gutenberg"]


@pytest.mark.parametrize("name", CORPORA)
def test_records_equal_cli(name):
    cli = run_cli("dedup", "-q", corpus(name))
    res = reprint.dedup(records(name))
    assert "".join(res.jsonl_lines()).encode() == cli


@pytest.mark.parametrize("name", CORPORA)
def test_dedup_jsonl_equals_cli(name, tmp_path):
    cli = run_cli("dedup", "-q", corpus(name))
    out = tmp_path / "out.jsonl"
    reprint.dedup_jsonl(corpus(name), out)
    assert out.read_bytes() == cli
    buf = io.BytesIO()
    res = reprint.dedup_jsonl([corpus(name)], buf)
    assert buf.getvalue() == cli
    text = io.StringIO()  # written in chunks of whole lines, each decoded
    res.write_jsonl(text)
    assert text.getvalue().encode() == cli and res.jsonl_bytes() == cli


def test_dedup_jsonl_rereads_plain_files_as_cli(tmp_path):
    """The exact checks read texts again from an uncompressed file (and from a
    copy for gzip): the pairs and Jaccards equal the command's either way."""
    import gzip
    plain = tmp_path / "re.jsonl"
    plain.write_bytes(gzip.open(corpus("reuters21578")).read())
    for src in (str(plain), corpus("reuters21578")):
        pairs = tmp_path / "pairs.jsonl"
        cli = run_cli("dedup", "-q", "--verify", "exact", "--pairs", str(pairs), src)
        res = reprint.dedup_jsonl(src, None, verify="exact")
        assert res.jsonl_bytes() == cli
        assert len(res.pairs) > 100
        assert [float("%.6g" % j) for _, _, j in res.pairs] == [
            float(l.split(b'"jaccard": ')[1].rstrip(b"}\n")) for l in pairs.read_bytes().splitlines(True)]


def test_reread_dedup_add_equals_spill():
    """Texts given by themselves to Dedup(reread=True) are copied and read
    again: the same results as the default, which spills shingles."""
    texts = records("reuters21578")
    texts = [r["text"] for r in texts] if isinstance(texts[0], dict) else texts
    out = []
    for reread in (False, True):
        d = reprint._core.Dedup(1, None, reread, verify=reprint._core.VERIFY_EXACT)
        d.add(texts[:5000])
        d.add(texts[5000:])
        d.finish()
        out.append((d.results(), d.pairs()))
    assert out[0] == out[1] and len(out[0][1][0]) > 100


OPTIONS = [
    (dict(threshold=0.5), ["-t", "0.5"]),
    (dict(threshold=0.95, num_perm=64), ["-t", "0.95", "-k", "64"]),
    (dict(verify="exact"), ["--verify", "exact"]),
    (dict(verify="estimate", threshold=0.7), ["--verify", "estimate", "-t", "0.7"]),
    (dict(keep="longest", threshold=0.6), ["--keep", "longest", "-t", "0.6"]),
    (dict(shingle="char:7"), ["--shingle", "char:7"]),
    (dict(ngram=3, seed=7), ["-n", "3", "--seed", "7"]),
    (dict(bands=8, rows=4), ["--bands", "8", "--rows", "4"]),
]


@pytest.mark.parametrize("kw,args", OPTIONS)
def test_options_equal_cli(kw, args):
    recs = records("bbc-news")
    cli = run_cli("dedup", "-q", *args, corpus("bbc-news"))
    assert "".join(reprint.dedup(recs, **kw).jsonl_lines()).encode() == cli


def test_pairs_equal_cli(tmp_path):
    pairs = tmp_path / "pairs.jsonl"
    run_cli("dedup", "-q", "--pairs", str(pairs), "-o", os.devnull, corpus("reuters21578"))
    res = reprint.dedup(records("reuters21578"))
    lines = "".join(f'{{"a": {reprint._json_id(a)}, "b": {reprint._json_id(b)}, "jaccard": {reprint._g6(j)}}}\n'
                    for a, b, j in res.pairs)
    assert lines.encode() == pairs.read_bytes()


def test_threads_do_not_change_the_answer():
    recs = records("reuters21578")
    one = reprint.dedup(recs, threads=1)
    two = reprint.dedup(recs, threads=2)
    assert list(one.jsonl_lines()) == list(two.jsonl_lines())


def test_plain_texts_and_generators():
    texts = [r["text"] for r in records("bbc-news")]
    res = reprint.dedup(texts)
    gen = reprint.dedup(t for t in texts)
    assert list(res) == list(gen)
    assert res.ids is None
    dups = res.removed()
    assert len(dups) == 157  # as `reprint dedup` reports for bbc-news
    for i in dups:
        r = res[i]
        assert r["duplicate"] and r["cluster"] < i and 0.8 <= r["similarity"] <= 1.0
        assert res[r["cluster"]]["cluster"] == r["cluster"]
    assert res[0] == {"id": 0, "cluster": 0, "duplicate": False, "similarity": 1.0}
    assert len(res.kept()) + len(dups) == len(texts)
    clusters = res.clusters()
    assert sum(len(m) - 1 for m in clusters.values()) == len(dups)


def test_bytes_texts_and_numpy_arrays():
    np = pytest.importorskip("numpy")
    texts = ["one two three four five six", b"one two three four five six", "seven eight nine"]
    res = reprint.dedup(texts)
    assert res.cluster_index.tolist() == [0, 0, 2]
    assert res.duplicate.dtype == np.bool_ and res.similarity.dtype == np.float32


def test_empty_documents_match_only_identical_bytes():
    res = reprint.dedup(["", "", " ", "...", "...", "a b c"])
    assert res.cluster_index.tolist() == [0, 0, 2, 3, 3, 5]


def test_bad_documents():
    with pytest.raises(reprint.ReprintError, match="document 2: .*NUL") as e:
        reprint.dedup(["a b c", "d e f", "g\x00h", "i"])
    assert isinstance(e.value, ValueError) and e.value.index == 2 and e.value.byte == 1
    res = reprint.dedup(["a b c", "d e f", "g\x00h", "a b c"], on_error="skip")
    assert res[2] == {"id": 2, "error": "NUL byte in text"} and res[3]["cluster"] == 0
    with pytest.raises(reprint.ReprintError, match='missing text field "text"'):
        reprint.dedup([{"id": "x", "text": "a"}, {"id": "y"}])
    res = reprint.dedup([{"id": "x", "text": "a"}, {"id": "y"}], on_error="skip")
    assert res[1] == {"id": "y", "error": 'missing text field "text"'}
    with pytest.raises(reprint.ReprintError, match="threshold"):
        reprint.dedup(["a"], threshold=1.5)
    with pytest.raises(reprint.ReprintError, match="bands and rows"):
        reprint.dedup(["a"], bands=4)
    with pytest.raises(reprint.ReprintIOError) as e:
        reprint.dedup_jsonl("/nonexistent/file.jsonl")
    assert isinstance(e.value, OSError) and "nonexistent" in str(e.value)


def test_dedup_jsonl_skip_errors_equals_cli(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"id": 1, "text": "a b c d e f g"}\n{"id": 2}\nnot json\n'
                    b'{"id": "3", "text": "a b c d e f g"}\n{"text": "no id here at all"}\n')
    cli = run_cli("dedup", "-q", "--on-error", "skip", str(src))
    out = tmp_path / "out.jsonl"
    for threads in (1, 2):  # reading alone, or beside a pool thread sketching
        reprint.dedup_jsonl(str(src), out, on_error="skip", threads=threads)
        assert out.read_bytes() == cli
        with pytest.raises(reprint.ReprintError, match=r"in.jsonl:2:.*missing text field"):
            reprint.dedup_jsonl(str(src), None, threads=threads)


def test_dedup_jsonl_one_thread_equals_two(tmp_path):
    cli = run_cli("dedup", "-q", corpus("reuters21578"))
    out = tmp_path / "out.jsonl"
    reprint.dedup_jsonl(corpus("reuters21578"), out, threads=1)
    assert out.read_bytes() == cli
    # a stream broken half-way: the same error, after the same records, either way
    broken = tmp_path / "broken.jsonl.gz"
    with open(corpus("reuters21578"), "rb") as f:
        broken.write_bytes(f.read(200000))
    msgs = []
    for threads in (1, 2):
        with pytest.raises(reprint.ReprintError) as e:
            reprint.dedup_jsonl(str(broken), None, threads=threads)
        msgs.append(str(e.value))
    assert msgs[0] == msgs[1] and "truncated" in msgs[0]


def test_dedup_jsonl_result_equals_dedup_of_its_records(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"id": 7, "text": "a b c d e f g"}\n{"id": "x\\"y", "text": "a b c d e f g"}\n'
                    b'{"id": 2.5, "text": "h i j k l m n"}\nnot json\n{"text": "h i j k l m n"}\n')
    res = reprint.dedup_jsonl(str(src), None, on_error="skip")
    recs = list(reprint.read_records(str(src)))
    assert res.ids == [r["id"] for r in recs]
    assert [isinstance(i, reprint._NumberId) for i in res.ids] == [True, False, True, False, False]
    assert res[1] == {"id": 'x"y', "cluster": "7", "duplicate": True, "similarity": 1.0}
    assert res[3]["error"] == recs[3]["error"] and res.clusters() == {"7": ["7", 'x"y'], "2.5": ["2.5", recs[4]["id"]]}
    cli = run_cli("dedup", "-q", "--on-error", "skip", str(src))
    assert res.jsonl_bytes() == cli
    import pickle
    again = pickle.loads(pickle.dumps(reprint.dedup_jsonl(str(src), None, on_error="skip")))
    assert again.ids == res.ids and again.jsonl_bytes() == cli and list(again) == list(res)
    res.ids = ["a", "b", "c", "d", "e"]  # ids set by hand are the ones written
    assert b'"id": "b", "cluster": "a"' in res.jsonl_bytes()


def test_dedup_jsonl_stream_error(tmp_path):
    import gzip
    data = gzip.compress(b"".join(b'{"id": %d, "text": "word%d a b c d e"}\n' % (i, i) for i in range(20000)))
    src = tmp_path / "cut.jsonl.gz"
    src.write_bytes(data[:len(data) // 2])
    with pytest.raises(reprint.ReprintError, match="truncated gzip"):
        reprint.dedup_jsonl(str(src), None)


def test_ctrl_c_interrupts_dedup_jsonl(tmp_path):
    src = tmp_path / "big.jsonl"
    with open(corpus("20news-bydate"), "rb") as f:
        import gzip
        one = gzip.decompress(f.read())
    src.write_bytes(one * 6)
    timer = threading.Timer(0.05, lambda: os.kill(os.getpid(), signal.SIGINT))  # mid-call: it takes 0.3 s or more
    timer.start()
    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        reprint.dedup_jsonl(str(src), None)
        time.sleep(5)
    timer.join()
    assert time.perf_counter() - t0 < 5


def test_ctrl_c_interrupts_a_long_call():
    texts = [r["text"] for r in records("20news-bydate")] * 6  # about 110,000 documents, seconds of work
    timer = threading.Timer(0.05, lambda: os.kill(os.getpid(), signal.SIGINT))  # mid-call: it takes 0.3 s or more
    timer.start()
    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        reprint.dedup(texts)
        time.sleep(5)  # finished before the signal: wait for it so the test still sees it
    timer.join()
    assert time.perf_counter() - t0 < 5


def test_gil_is_released():
    texts = [r["text"] for r in records("20news-bydate")] * 2
    ticks = []
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    t = threading.Thread(target=tick)
    t.start()
    t0 = time.perf_counter()
    reprint.sketch(texts, threads=1)
    elapsed = time.perf_counter() - t0
    stop.set()
    t.join()
    during = [x for x in ticks if t0 <= x <= t0 + elapsed]
    # a thread blocked on the GIL would tick a handful of times (the switch interval is 5 ms per tick)
    assert len(during) > elapsed / 0.004 * 0.5


def test_non_utf8_file_names_as_cli(tmp_path):
    # default ids (PATH:LINE) of a file whose name is not UTF-8: the CLI
    # writes each such byte as \udcXX (Python's surrogateescape); so must
    # dedup_jsonl, reuse_jsonl and Index.query_jsonl, byte for byte
    d = os.fsencode(str(tmp_path))
    f = d + b"/f\xff\xc3.jsonl"
    with open(f, "wb") as fh:
        fh.write(b'{"text": "one two three four five six seven"}\n' * 2 + b'{"id": 3}\n')
    cli = run_cli("dedup", "-q", "--on-error", "skip", f)
    assert b"f\\udcff\\udcc3.jsonl:2" in cli and b'"file": "' + d + b'/f\\udcff\\udcc3.jsonl"' in cli
    out = tmp_path / "o.jsonl"
    res = reprint.dedup_jsonl(f, str(out), on_error="skip")
    assert out.read_bytes() == cli and res.jsonl_bytes() == cli
    assert "".join(res.jsonl_lines()).encode() == cli
    assert os.fsencode(res.ids[0]) == f + b":1"
    import pickle  # ids as a list of str rather than the reader's store
    assert pickle.loads(pickle.dumps(res)).jsonl_bytes() == cli
    assert reprint.dedup_jsonl(os.fsdecode(f), on_error="skip").jsonl_bytes() == cli
    buf = io.StringIO()
    res.write_jsonl(buf)
    assert buf.getvalue().encode() == cli

    g = d + b"/g\xff.jsonl"
    with open(g, "wb") as fh:
        fh.write(b'{"text": "one two three four five six seven"}\n' * 2)
    cli = run_cli("reuse", "-q", "--min-words", "5", g)
    assert b"\\udcff" in cli
    reprint.reuse_jsonl(g, str(out), min_words=5)
    assert out.read_bytes() == cli

    ix = str(tmp_path / "ix")
    run_cli("index", "create", ix)
    run_cli("index", "add", "-q", ix, g)
    cli = run_cli("query", "-q", "--on-error", "skip", ix, f)
    assert cli.count(b"\\udcff") == 7  # 2 queries, 4 matches, 1 error's file
    with reprint.Index(ix) as idx:
        idx.query_jsonl(f, str(out), on_error="skip")
    assert out.read_bytes() == cli
    with reprint.Index.create(str(tmp_path / "ix-py")) as idx:  # the same index from add_jsonl
        idx.add_jsonl(g)
        idx.query_jsonl(f, str(out), on_error="skip")
    assert out.read_bytes() == cli


def test_missing_non_utf8_path_is_an_io_error(tmp_path):
    missing = os.fsencode(str(tmp_path)) + b"/missing\xff.jsonl"
    for call in (lambda: reprint.dedup_jsonl(missing), lambda: list(reprint.read_records(missing)),
                 lambda: reprint.reuse_jsonl(missing)):
        with pytest.raises(reprint.ReprintIOError, match=r"missing\\xff\.jsonl: cannot open") as e:
            call()
        assert os.fsencode(e.value.file) == missing


def test_lone_surrogate_ids_are_bad_records():
    # the CLI's reader refuses a lone surrogate in an id (it cannot be read
    # from JSON); from Python objects such a record is bad, never a
    # UnicodeEncodeError once the work is done
    recs = [{"id": "a", "text": "one two three four five six"}, {"id": "b\udc80", "text": "x y z"},
            {"id": "c\ud800", "text": "one two three four five six"}, {"id": "d", "text": "p \ud800 q"}]
    res = reprint.dedup(recs, on_error="skip")
    assert sorted(res.errors) == [1, 2, 3]
    assert "lone surrogate" in res.errors[1] and "not valid Unicode" in res.errors[3]
    lines = [json.loads(x) for x in res.jsonl_bytes().decode().splitlines()]
    assert [x.get("error") is None for x in lines] == [True, False, False, False]
    assert [x["id"] for x in lines] == ["a", 1, 2, "d"]
    for bad in recs[1:]:
        with pytest.raises(reprint.ReprintError, match="document 1: .*not valid Unicode"):
            reprint.dedup([recs[0], bad])
    with pytest.raises(reprint.ReprintError, match="document 1: .*not valid Unicode"):
        reprint.dedup(["a b c", "d \ud800"])


OUT_SRC = b'{"id": 1, "text": "a b c d e f g h"}\n{"id": 2, "text": "a b c d e f g h"}\n'


def _outputs(src, path):
    """Each writer of the binding, writing src's result to path."""
    ix = os.path.join(os.path.dirname(src), "ix-out")
    if not os.path.exists(ix):
        with reprint.Index.create(ix) as idx:
            idx.add_jsonl(src)
    return {
        "dedup_jsonl": lambda: reprint.dedup_jsonl(src, path),
        "write_jsonl": lambda: reprint.dedup([json.loads(x) for x in OUT_SRC.splitlines()]).write_jsonl(path),
        "reuse_jsonl": lambda: reprint.reuse_jsonl(src, path, min_words=5),
        "query_jsonl": lambda: reprint.Index(ix).query_jsonl(src, path),
    }


def test_output_through_symlink_as_cli(tmp_path):
    # a symbolic link to a regular file: the file it names is replaced (it
    # keeps its permissions), the link stays a link, as `reprint ... -o`
    src = str(tmp_path / "in.jsonl")
    (tmp_path / "in.jsonl").write_bytes(OUT_SRC)
    cli = {"dedup_jsonl": run_cli("dedup", "-q", src), "reuse_jsonl": run_cli("reuse", "-q", "--min-words", "5", src)}
    target, link = tmp_path / "t.jsonl", tmp_path / "l.jsonl"
    for name, write in _outputs(src, str(link)).items():
        for p in (target, link):
            if os.path.lexists(p):
                os.unlink(p)
        target.write_bytes(b"old\n")
        os.chmod(target, 0o640)
        os.symlink("t.jsonl", link)
        write()
        assert os.path.islink(link) and os.readlink(link) == "t.jsonl", name
        assert target.read_bytes() not in (b"", b"old\n"), name
        assert target.read_bytes() == cli.get(name, target.read_bytes()), name
        assert os.stat(target).st_mode & 0o7777 == 0o640, name
        assert sorted(os.listdir(tmp_path)) == ["in.jsonl", "ix-out", "l.jsonl", "t.jsonl"], name
    # the CLI does the same
    os.unlink(target)
    target.write_bytes(b"")
    run_cli("dedup", "-q", "-o", str(link), src)
    assert os.path.islink(link) and target.read_bytes() == cli["dedup_jsonl"]
    # a dangling link: the file it names is made, relative to the link's directory
    os.unlink(target)
    sub = tmp_path / "sub"
    sub.mkdir()
    os.symlink("../t.jsonl", sub / "dl.jsonl")
    reprint.dedup_jsonl(src, str(sub / "dl.jsonl"))
    assert os.path.islink(sub / "dl.jsonl") and target.read_bytes() == cli["dedup_jsonl"]


def test_output_fifo_and_descriptors_written_in_place(tmp_path):
    src = str(tmp_path / "in.jsonl")
    (tmp_path / "in.jsonl").write_bytes(OUT_SRC)
    fifo = str(tmp_path / "fifo")
    os.mkfifo(fifo)
    for name, write in _outputs(src, fifo).items():
        got = []
        reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()))
        reader.start()
        write()
        reader.join(10)
        assert got and got[0], name
        assert os.path.exists(fifo) and not os.path.isfile(fifo), name  # still the FIFO
    # /dev/fd/N: through the descriptor, at its offset, never replaced
    out = tmp_path / "out.jsonl"
    out.write_bytes(b"first\n")
    ino = os.stat(out).st_ino
    with open(out, "ab") as f:
        for name, write in _outputs(src, f"/dev/fd/{f.fileno()}").items():
            write()
    data = out.read_bytes()
    expect = b"first\n"
    for name, write in _outputs(src, str(tmp_path / "each.jsonl")).items():
        write()
        expect += (tmp_path / "each.jsonl").read_bytes()
    assert data == expect and os.stat(out).st_ino == ino
    # /dev/stdout of a process whose output goes to a file opened to append
    code = ("import reprint, sys; print('before', flush=False); "
            f"reprint.dedup_jsonl({src!r}, '/dev/stdout'); print('after')")
    with open(out, "wb") as f:
        f.write(b"head\n")
    with open(out, "ab") as f:
        import subprocess
        import sys
        subprocess.run([sys.executable, "-c", code], stdout=f, check=True)
    assert out.read_bytes() == b"head\nbefore\n" + run_cli("dedup", "-q", src) + b"after\n"
    assert os.stat(out).st_ino == ino
