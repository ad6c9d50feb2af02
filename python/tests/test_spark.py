"""reprint.spark in local[2] mode: exactly the clusters, flags and similarities
of `reprint dedup`, whatever the partitioning."""
import json
import random
import re

import pytest

import reprint
from conftest import corpus, records, run_cli

pytest.importorskip("pyspark", reason="Spark tests skipped: pyspark is not installed (pip install './python[spark]')")

CORPORA = ["bbc-news", "reuters21578"]


def lines_of(rows):
    return "".join(f'{{"id": {reprint._json_id(r["id"])}, "cluster": {reprint._json_id(r["cluster"])}, '
                   f'"duplicate": {"true" if r["duplicate"] else "false"}, "similarity": {reprint._g6(r["similarity"])}}}\n'
                   for r in rows).encode()


@pytest.mark.parametrize("name", CORPORA)
@pytest.mark.parametrize("partitions", [1, 2, 8])
def test_command_output_equals_cli(spark, tmp_path, name, partitions):
    from reprint.spark import dedup_files

    cli = run_cli("dedup", "-q", corpus(name))
    out = tmp_path / "out"
    dedup_files(spark, [corpus(name)], str(out), partitions=partitions)
    got = b"".join(p.read_bytes() for p in sorted(out.glob("part-*")))
    assert got == cli


@pytest.mark.parametrize("name", CORPORA)
def test_reordered_partitions(spark, name):
    from pyspark.sql import functions as F

    from reprint.spark import dedup, read_input

    cli = run_cli("dedup", "-q", corpus(name))
    df = read_input(spark, [corpus(name)]).persist()
    n = df.count()
    # four slices of the input, unioned last first, rows reversed inside partitions
    cuts = [0, n // 4, n // 2, 3 * n // 4, n]
    parts = [df.where((F.col("position") >= a) & (F.col("position") < b)) for a, b in zip(cuts, cuts[1:])]
    shuffled = parts[3].unionAll(parts[2]).unionAll(parts[1]).unionAll(parts[0])
    shuffled = shuffled.repartition(5, F.rand(seed=7)).sortWithinPartitions(F.desc("position"))
    res = dedup(shuffled, position_col="position", partitions=3)
    rows = res.orderBy("position").collect()
    assert [r["position"] for r in rows] == list(range(n))
    assert lines_of(rows) == cli


def test_dataframe_row_order_and_options(spark):
    from reprint.spark import dedup

    recs = records("bbc-news")
    df = spark.createDataFrame([(r["id"], r["text"]) for r in recs], "id string, text string").repartition(3)
    # repartition(3) shuffles rows: the input order is now df's order, which the job records as position
    ordered = df.persist()
    res = dedup(ordered, threshold=0.7, keep="longest", verify="exact").orderBy("position").collect()
    order = [r["id"] for r in res]
    by_id = {r["id"]: r for r in recs}
    want = reprint.dedup([by_id[i] for i in order], threshold=0.7, keep="longest", verify="exact")
    assert lines_of(res) == "".join(want.jsonl_lines()).encode()


def test_connected_components_match_union_find(spark):
    from reprint.spark import connected_components

    rng = random.Random(5)
    n = 3000
    edges = [(i, i + 1) for i in range(0, 400)]  # a long path: many rounds
    edges += [(rng.randrange(n), rng.randrange(n)) for _ in range(1500)]
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    nodes = {x for a, b in edges if a != b for x in (a, b)}  # self-loops carry no edge
    want = {x: find(x) for x in nodes}  # the root is the smallest node of its component
    df = spark.createDataFrame(edges, "a long, b long")
    got = {r["node"]: r["label"] for r in connected_components(df).collect()}
    assert got == want


def _cli_fails(path):
    import subprocess

    from conftest import CLI
    r = subprocess.run([CLI, "dedup", "-q", str(path)], capture_output=True)
    assert r.returncode == 1
    return r.stderr.decode()


@pytest.mark.parametrize("bad", ['{"id": "b", "text": 12345}', '{"id": "b", "text": 1.5}', '{"id": "b", "text": true}',
                                 '{"id": "b", "text": {"a": "x"}}', '{"id": "b", "text": ["x"]}',
                                 '{"id": true, "text": "x y"}', '{"id": {"a": 1}, "text": "x y"}',
                                 '{"id": "b", "text": "x y"', '{"id": "b"}'])
def test_bad_records_stop_as_cli(spark, tmp_path, bad):
    # a text that is not a string (Spark would read 12345 as "12345"), an id
    # that is neither a string nor a number, a line that is not JSON, no
    # text: the CLI stops at the record (exit 1), and so does the job
    from reprint.spark import dedup_files

    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "a", "text": "one two three"}\n' + bad + '\n{"id": 1, "text": "x y z"}\n')
    err = _cli_fails(src)
    with pytest.raises(reprint.ReprintError) as e:
        dedup_files(spark, [str(src)], str(tmp_path / "out"))
    msg = str(e.value)
    assert msg.startswith(f"{src}:2: ")
    want = re.split(r":2:\d+: ", err, maxsplit=1)[1].strip()
    if want.startswith("invalid JSON"):
        assert "invalid JSON" in msg
    elif want.startswith("missing text field"):
        assert 'missing text field "text"' in msg
    else:
        assert msg.endswith(want)


def test_number_text_strings_that_look_like_json_are_texts(spark, tmp_path):
    from reprint.spark import dedup_files

    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "text": t}) + "\n"
                           for i, t in [("a", "12345"), ("b", "true"), ("c", "{\"a\": 1}"), ("d", "[1]"), ("e", "1.5e3"),
                                        ("f", "NaN"), ("g", "12345")]))
    out = tmp_path / "out"
    dedup_files(spark, [str(src)], str(out))
    assert b"".join(p.read_bytes() for p in sorted(out.glob("part-*"))) == run_cli("dedup", "-q", str(src))


def test_mixed_string_and_number_ids_as_cli(spark, tmp_path):
    # ids that are JSON numbers come out unquoted, string ids quoted (also
    # "2", a string that looks like a number), missing ids as PATH:LINE
    from reprint.spark import dedup_files

    src = tmp_path / "mixed.jsonl"
    text = "one two three four five six seven eight"
    src.write_text("".join(line + "\n" for line in [
        json.dumps({"id": "a", "text": text}), json.dumps({"id": 1, "text": text}),
        json.dumps({"id": "2", "text": "other words entirely here now"}), json.dumps({"id": 3, "text": "x y z w"}),
        json.dumps({"text": "x y z w"}), json.dumps({"id": -40, "text": "p q r s t"}),
        json.dumps({"id": "b", "meta": {"id": 5}, "text": "p q r s t"})]))
    cli = run_cli("dedup", "-q", str(src))
    assert b'"id": 1,' in cli and b'"id": "2"' in cli
    out = tmp_path / "out"
    dedup_files(spark, [str(src)], str(out))
    assert b"".join(p.read_bytes() for p in sorted(out.glob("part-*"))) == cli
    # a nested id field, as --id-field meta.id
    cli = run_cli("dedup", "-q", "--id-field", "meta.id", str(src))
    out2 = tmp_path / "out2"
    dedup_files(spark, [str(src)], str(out2), id_field="meta.id")
    assert b"".join(p.read_bytes() for p in sorted(out2.glob("part-*"))) == cli


def test_directory_input_refused(spark, tmp_path):
    # the CLI makes one document of each file in a directory; the job reads
    # JSON Lines only, so it refuses a directory rather than read it otherwise
    from reprint.spark import dedup_files, read_input

    d = tmp_path / "docs"
    d.mkdir()
    (d / "a.txt").write_text("one two three four five six\n")
    with pytest.raises(reprint.ReprintError, match="is a directory"):
        dedup_files(spark, [str(d)], str(tmp_path / "out"))
    with pytest.raises(reprint.ReprintError, match="is a directory"):
        read_input(spark, [str(d)])
