"""reprint.spark in local[2] mode: exactly the clusters, flags and similarities
of `reprint dedup`, whatever the partitioning."""
import random

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
