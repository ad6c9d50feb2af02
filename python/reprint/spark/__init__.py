"""reprint.spark: near-duplicate clusters on Spark, equal to ``reprint dedup``.

    from reprint.spark import dedup
    out = dedup(df, text_col="text", id_col="id", threshold=0.8)
    # df's columns + position, cluster, duplicate, similarity

How it works (docs/SCALING.md has the picture):

1. Every document gets its input position (``position_col``, or the row
   order of df: partition by partition, row by row).
2. Per partition, the C core (reprint._core, through mapInArrow on the
   Arrow buffers, without a Python object per text) computes what rp_dedup
   keeps of a text: its signature (rp_sketch_text), shingle count, content
   hash and length, and its LSH band keys (rp_band_key).
3. Documents with identical bytes (a 128-bit BLAKE2b digest plus the length)
   are one node: they have the same shingles, so the library joins them
   whatever the threshold, and every other pair treats them alike.  This
   keeps a bucket of thousands of exact copies from turning into millions
   of pairs.  Token-less documents match only documents with the same
   content hash and length, as in the library.
4. Spark shuffles the band keys; every pair of nodes sharing a (band, key)
   is a candidate; each candidate is verified as the library does: estimate
   = fraction of equal signature values (rp_sig_jaccard); with verify="auto"
   an estimate within rp_verify_margin of the threshold is replaced by the
   exact Jaccard (rp_text_jaccard on the two texts, joined for those pairs
   only); a pair is an edge when the deciding value >= threshold.
5. Connected components of the edges with Spark joins (alternating
   large-star / small-star, Kiveris et al., SoCC 2014) label every node with
   the smallest position in its component: the library's clusters are
   exactly these components, so the representative (the first document, or
   with keep="longest" the longest, ties to the first) and the duplicate
   flags equal the command line's.
6. similarity = the estimate of a document's signature against its
   representative's (exact with verify="exact", and with verify="auto"
   where the estimate is within the margin), as a float32, as the
   library keeps it; 1 for representatives and token-less duplicates.

Needs pyspark and pyarrow (``pip install './python[spark]'``) and reprint
installed on every executor (see docs/SCALING.md).
"""
from __future__ import annotations

import fnmatch
import glob as _glob
import logging
import os
import time
import urllib.parse
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from .. import _core, _params, ReprintError

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

_log = logging.getLogger("reprint.spark")

__all__ = ["dedup", "read_input", "dedup_files", "connected_components", "to_jsonl_lines"]

_SKETCH_SCHEMA = "pos long, len long, nsh long, content long, digest binary, sig binary, keys array<long>"


# ---- per-partition work (runs on the executors) ----------------------------

def _offsets(arr: Any, np: Any, pa: Any) -> tuple[Any, int]:
    """The n + 1 offsets of an Arrow string/binary array (sliced to its offset)."""
    wide = pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type)
    width = 8 if wide else 4
    offs = np.frombuffer(arr.buffers()[1], dtype=np.int64 if wide else np.int32, count=len(arr) + 1,
                         offset=arr.offset * width)
    return offs, width


def _binary_column(data: bytes, n: int, row: int, pa: Any, np: Any) -> Any:
    """n fixed-length binary values of `row` bytes from one buffer, without copying."""
    offs = np.arange(0, (n + 1) * row, row, dtype=np.int64)
    return pa.Array.from_buffers(pa.large_binary(), n, [None, pa.py_buffer(offs), pa.py_buffer(data)]).cast(
        pa.binary())


def _fixed_rows(arr: Any, row: int, np: Any, pa: Any) -> Any:
    """The values of a binary array of equal-length rows as one buffer."""
    offs, _ = _offsets(arr, np, pa)
    if len(arr) == 0:
        return b""
    data = arr.buffers()[2]
    start, end = int(offs[0]), int(offs[-1])
    if end - start != len(arr) * row or arr.null_count:
        raise ReprintError("signature column has rows of the wrong length")
    return memoryview(data)[start:end]


def _sketch_fn(params: dict[str, Any], bands: int, rows: int):
    K = params["num_perm"]
    kw = {k: params[k] for k in ("ngram", "char_shingles", "num_perm", "seed")}

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import hashlib

        import numpy as np
        import pyarrow as pa

        from reprint import _core as core

        for batch in batches:
            n = batch.num_rows
            if n == 0:
                continue
            pos, text = batch.column(0), batch.column(1)
            if text.null_count:
                bad = next(i for i in range(n) if not text[i].is_valid)
                raise ReprintError(f"document at position {pos[bad].as_py()}: no text (null)")
            offs, width = _offsets(text, np, pa)
            data = text.buffers()[2]
            if data is None:
                data = b""
            try:
                sigs, nsh, content = core.sketch_arrow(data, offs, width, n, 1, **kw)
            except ReprintError as e:
                raise ReprintError(f"document at position {pos[e.index].as_py()}: {e.message}") from None
            mv = memoryview(data)
            o = offs.tolist()
            digest = [hashlib.blake2b(mv[o[i]:o[i + 1]], digest_size=16).digest() for i in range(n)]
            keys = np.frombuffer(core.band_keys(sigs, K, bands, rows), dtype=np.int64)
            yield pa.RecordBatch.from_arrays(
                [pos.cast(pa.int64()),
                 pa.array(np.diff(offs).astype(np.int64)),
                 pa.array(np.frombuffer(nsh, dtype=np.int64)),
                 pa.array(np.frombuffer(content, dtype=np.int64)),
                 pa.array(digest, pa.binary()),
                 _binary_column(sigs, n, K * 4, pa, np),
                 pa.ListArray.from_arrays(pa.array(np.arange(0, n * bands + 1, bands, dtype=np.int32)),
                                          pa.array(keys))],
                names=["pos", "len", "nsh", "content", "digest", "sig", "keys"])

    return run


def _estimate_fn(K: int, threshold: float, margin: float, verify: int):
    """(a, b, sig_a, sig_b) -> (a, b, est, exact): exact says the estimate
    does not decide (verify auto within the margin, or verify exact)."""

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import numpy as np
        import pyarrow as pa

        from reprint import _core as core

        for batch in batches:
            if batch.num_rows == 0:
                continue
            sa = _fixed_rows(batch.column(2), K * 4, np, pa)
            sb = _fixed_rows(batch.column(3), K * 4, np, pa)
            est = np.frombuffer(core.sig_jaccard_many(sa, sb, K), dtype=np.float64)
            if verify == _core.VERIFY_ESTIMATE:
                exact = np.zeros(len(est), dtype=bool)
            elif verify == _core.VERIFY_EXACT:
                exact = np.ones(len(est), dtype=bool)
            else:  # the library's test, in the same double arithmetic: fabs(e - t) > margin
                exact = ~(np.abs(est - threshold) > margin)
            yield pa.RecordBatch.from_arrays([batch.column(0), batch.column(1), pa.array(est), pa.array(exact)],
                                             names=["a", "b", "est", "exact"])

    return run


def _exact_fn(params: dict[str, Any]):
    """(a, b, text_a, text_b) -> (a, b, j): exact Jaccard of the shingle sets."""
    kw = {k: params[k] for k in ("ngram", "char_shingles", "seed")}

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import numpy as np
        import pyarrow as pa

        from reprint import _core as core

        for batch in batches:
            if batch.num_rows == 0:
                continue
            ta = batch.column(2).to_pylist()
            tb = batch.column(3).to_pylist()
            j = np.frombuffer(core.text_jaccard_many(ta, tb, **kw), dtype=np.float64)
            yield pa.RecordBatch.from_arrays([batch.column(0), batch.column(1), pa.array(j)], names=["a", "b", "j"])

    return run


# ---- connected components ---------------------------------------------------

def connected_components(edges: "DataFrame", src: str = "a", dst: str = "b", max_rounds: int = 100) -> "DataFrame":
    """Connected components of an undirected graph given as a DataFrame of
    long pairs: (node, label) for every node on an edge, label = the smallest
    node of its component.

    Alternating large-star and small-star rounds (Kiveris, Lattanzi,
    Mirrokni, Rastogi, Vassilvitskii, "Connected Components in MapReduce and
    Beyond", SoCC 2014), O(log n) rounds, each one shuffle per step: the
    neighbour sets are gathered with collect_set and the new edges emitted
    with array functions.  Both steps keep connectivity, so the rounds stop
    when the edges form a star forest (every node has at most one smaller
    neighbour, and a node with one has no larger one): then each star is a
    component and its centre is its smallest node.  Each round is
    checkpointed (localCheckpoint) so the plan does not grow."""
    from pyspark.sql import functions as F

    e = edges.select(F.greatest(src, dst).alias("hi"), F.least(src, dst).alias("lo")).where(
        F.col("hi") != F.col("lo"))
    for rnd in range(max_rounds):
        _log.info("connected components: round %d", rnd + 1)
        g = (e.select(F.explode(F.array(F.struct(F.col("hi").alias("u"), F.col("lo").alias("v")),
                                        F.struct(F.col("lo").alias("u"), F.col("hi").alias("v")))).alias("e"))
             .groupBy(F.col("e.u").alias("u")).agg(F.collect_set("e.v").alias("vs"))
             .withColumn("m", F.least("u", F.array_min("vs")))
             .withColumn("below", F.size(F.filter("vs", lambda x: x < F.col("u"))))
             .withColumn("above", F.size(F.filter("vs", lambda x: x > F.col("u"))))
             .localCheckpoint())
        if g.where((F.col("below") > 1) | ((F.col("below") == 1) & (F.col("above") > 0))).limit(1).count() == 0:
            return g.select(F.col("u").alias("node"), F.col("m").alias("label"))
        # large-star: every neighbour larger than u links to m(u) = min(u, N(u))
        large = g.select(F.explode(F.transform(F.filter("vs", lambda x: x > F.col("u")),
                                               lambda x: F.struct(x.alias("hi"), F.col("m").alias("lo")))).alias("e"))
        # small-star: each node and its smaller neighbours link to the smallest of them
        small = (large.groupBy(F.col("e.hi").alias("hi")).agg(F.collect_set("e.lo").alias("ls"))
                 .withColumn("m", F.array_min("ls"))
                 .select(F.explode(F.concat(
                     F.transform(F.filter("ls", lambda x: x != F.col("m")),
                                 lambda x: F.struct(x.alias("hi"), F.col("m").alias("lo"))),
                     F.array(F.struct(F.col("hi").alias("hi"), F.col("m").alias("lo"))))).alias("e"))
                 .select("e.hi", "e.lo"))
        e = small.localCheckpoint()
    raise RuntimeError(f"connected components did not converge in {max_rounds} rounds")


# ---- the job ----------------------------------------------------------------

def _with_positions(df: "DataFrame", name: str) -> "DataFrame":
    """df with a column `name`: the row's position in df's order (partition
    by partition, row by row), from monotonically_increasing_id and the
    partition sizes.  df is persisted so the ids do not change."""
    from pyspark.sql import functions as F
    from pyspark.storagelevel import StorageLevel

    mono = df.withColumn("_rp_mono", F.monotonically_increasing_id()).persist(StorageLevel.MEMORY_AND_DISK)
    counts = (mono.select(F.shiftright("_rp_mono", 33).alias("p")).groupBy("p").count().collect())
    base: dict[int, int] = {}
    total = 0
    for r in sorted(counts, key=lambda r: r["p"]):
        base[r["p"]] = total
        total += r["count"]
    spark = df.sparkSession
    offs = spark.createDataFrame([(p, b) for p, b in base.items()], "p long, base long")
    return (mono.withColumn("p", F.shiftright("_rp_mono", 33)).join(F.broadcast(offs), "p")
            .withColumn(name, F.col("base") + (F.col("_rp_mono").bitwiseAND((1 << 33) - 1)))
            .drop("p", "base", "_rp_mono"))


def dedup(df: "DataFrame", text_col: str = "text", id_col: str | None = "id", threshold: float = 0.8,
          num_perm: int = 128, ngram: int = 5, bands: int | None = None, rows: int | None = None,
          verify: str = "auto", keep: str = "first", shingle: str = "word", seed: int = 0,
          position_col: str | None = None, partitions: int | None = None) -> "DataFrame":
    """Near-duplicate clusters of df's documents, exactly those of ``reprint dedup``
    on the same documents in the same order.

    Returns df's columns plus ``position`` (the input position, unless
    position_col names an existing one), ``cluster`` (the representative's
    id, or its position when id_col is None), ``duplicate`` (bool) and
    ``similarity`` (float: Jaccard to the representative, exact near the
    threshold under verify="auto", as the command line).  The input position is position_col when given (unique longs; the
    representative is the smallest), else df's row order.  partitions: how
    many partitions the per-document work uses (default: df's).  The job
    persists its intermediate tables (MEMORY_AND_DISK) so the returned
    DataFrame is cheap to use; spark.catalog.clearCache() frees them."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    from pyspark.storagelevel import StorageLevel

    p = _core.resolve_params(**_params(threshold=threshold, num_perm=num_perm, ngram=ngram, shingle=shingle,
                                       bands=bands, rows=rows, verify=verify, keep=keep, seed=seed))
    K, B, R = p["num_perm"], p["bands"], p["rows"]
    t0 = time.perf_counter()
    pos_name = position_col or "position"
    if position_col is None:
        if "position" in df.columns:
            raise ReprintError("df already has a 'position' column: pass position_col='position'")
        df = _with_positions(df, pos_name)
    base = df.persist(StorageLevel.MEMORY_AND_DISK)
    docs = base.select(F.col(pos_name).cast("long").alias("pos"), F.col(text_col).alias("text"))
    if partitions:
        docs = docs.repartition(int(partitions))

    # 2. sketches and band keys, by the C core
    sk = docs.mapInArrow(_sketch_fn(p, B, R), _SKETCH_SCHEMA)

    # 3. node of every document: the first of its exact copies (token-less
    #    documents: of its group of equal content hash and length)
    empty = F.col("nsh") == 0
    w = Window.partitionBy(empty, F.col("len"), F.when(empty, F.col("content")), F.when(~empty, F.col("digest")))
    sk = sk.withColumn("node", F.min("pos").over(w)).persist(StorageLevel.MEMORY_AND_DISK)
    node_map = sk.select("pos", "node")
    nonempty = sk.where(~empty)

    # 4. candidates: node pairs sharing a (band, key)
    nodes = nonempty.where(F.col("pos") == F.col("node"))
    bk = nodes.select("pos", F.posexplode("keys").alias("band", "key"))
    x, y = bk.alias("x"), bk.alias("y")
    pairs = (x.join(y, (F.col("x.band") == F.col("y.band")) & (F.col("x.key") == F.col("y.key"))
                    & (F.col("x.pos") < F.col("y.pos")))
             .select(F.col("x.pos").alias("a"), F.col("y.pos").alias("b")).distinct())
    sigs = sk.select("pos", "sig")
    with_sigs = (pairs.join(sigs.select(F.col("pos").alias("a"), F.col("sig").alias("sig_a")), "a")
                 .join(sigs.select(F.col("pos").alias("b"), F.col("sig").alias("sig_b")), "b")
                 .select("a", "b", "sig_a", "sig_b"))
    est = with_sigs.mapInArrow(_estimate_fn(K, p["threshold"], p["margin"], p["verify"]),
                               "a long, b long, est double, exact boolean").persist(StorageLevel.MEMORY_AND_DISK)
    t = p["threshold"]
    edges = est.where(~F.col("exact") & (F.col("est") >= t)).select("a", "b")
    need = est.where(F.col("exact")).select("a", "b")
    texts = docs.select("pos", "text")
    if p["verify"] != _core.VERIFY_ESTIMATE:
        with_texts = (need.join(texts.select(F.col("pos").alias("a"), F.col("text").alias("ta")), "a")
                      .join(texts.select(F.col("pos").alias("b"), F.col("text").alias("tb")), "b")
                      .select("a", "b", "ta", "tb"))
        exact = with_texts.mapInArrow(_exact_fn(p), "a long, b long, j double")
        edges = edges.unionAll(exact.where(F.col("j") >= t).select("a", "b"))

    # 5. components over nodes, then every document through its node
    _log.info("plan built, %.1f s; connected components", time.perf_counter() - t0)
    cc = connected_components(edges)
    _log.info("connected components done, %.1f s", time.perf_counter() - t0)
    labelled = (node_map.join(cc.select(F.col("node"), F.col("label")), "node", "left")
                .select("pos", F.coalesce("label", "node").alias("label")))
    if p["keep_longest"]:
        best = (labelled.join(sk.select("pos", "len"), "pos").groupBy("label")
                .agg(F.min(F.struct(F.negative("len").alias("l"), F.col("pos").alias("p"))).alias("best"))
                .select("label", F.col("best.p").alias("rep")))
        reps = labelled.join(best, "label").select("pos", "rep")
    else:
        reps = labelled.select("pos", F.col("label").alias("rep"))
    reps = reps.persist(StorageLevel.MEMORY_AND_DISK)

    # 6. similarity to the representative
    meta = sk.select("pos", "nsh", "sig")
    dups = reps.where(F.col("rep") != F.col("pos")).join(meta, "pos").where(F.col("nsh") > 0)
    if p["verify"] == _core.VERIFY_EXACT:
        sim_pairs = (dups.select(F.col("pos").alias("a"), F.col("rep").alias("b"))
                     .join(texts.select(F.col("pos").alias("a"), F.col("text").alias("ta")), "a")
                     .join(texts.select(F.col("pos").alias("b"), F.col("text").alias("tb")), "b")
                     .select("a", "b", "ta", "tb").mapInArrow(_exact_fn(p), "a long, b long, j double")
                     .select(F.col("a").alias("pos"), F.col("j").alias("sim")))
    else:
        # by the rule that decides pairs: under auto, exact near the threshold
        sim_est = (dups.select(F.col("pos").alias("a"), F.col("rep").alias("b"), F.col("sig").alias("sig_a"))
                   .join(sigs.select(F.col("pos").alias("b"), F.col("sig").alias("sig_b")), "b")
                   .select("a", "b", "sig_a", "sig_b")
                   .mapInArrow(_estimate_fn(K, t, p["margin"], p["verify"]),
                               "a long, b long, est double, exact boolean"))
        sim_pairs = sim_est.where(~F.col("exact")).select(F.col("a").alias("pos"), F.col("est").alias("sim"))
        if p["verify"] == _core.VERIFY_AUTO:
            sim_pairs = sim_pairs.unionAll(
                sim_est.where(F.col("exact")).select("a", "b")
                .join(texts.select(F.col("pos").alias("a"), F.col("text").alias("ta")), "a")
                .join(texts.select(F.col("pos").alias("b"), F.col("text").alias("tb")), "b")
                .select("a", "b", "ta", "tb").mapInArrow(_exact_fn(p), "a long, b long, j double")
                .select(F.col("a").alias("pos"), F.col("j").alias("sim")))
    result = (reps.join(sim_pairs, "pos", "left")
              .select("pos", "rep", (F.col("rep") != F.col("pos")).alias("duplicate"),
                      F.coalesce("sim", F.lit(1.0)).cast("float").alias("similarity")))

    out = base.join(result.withColumnRenamed("pos", pos_name), pos_name)
    numbers = id_col is not None and ID_NUMBER_COL in base.columns  # from read_input: ids that were JSON numbers
    if id_col is not None:
        ids = base.select(F.col(pos_name).cast("long").alias("rep"), F.col(id_col).alias("cluster"),
                          *([F.col(ID_NUMBER_COL).alias(_CLUSTER_NUMBER_COL)] if numbers else []))
        out = out.join(ids, "rep", "left").drop("rep")
    else:
        out = out.withColumnRenamed("rep", "cluster")
    cols = [c for c in base.columns] + ["cluster", "duplicate", "similarity"]
    return out.select(*cols, *([_CLUSTER_NUMBER_COL] if numbers else []))


# ---- files, and the command line -------------------------------------------

def _local(path: str) -> str | None:
    u = urllib.parse.urlparse(path)
    if u.scheme in ("", "file"):
        return os.path.abspath(urllib.parse.unquote(u.path if u.scheme else path))
    return None


def _input_order(inputs: Sequence[str]) -> Any:
    """A function from a file path as Spark reports it to (input index, path),
    so files sort in the order the inputs were given (a directory or glob:
    its files by name), as the command line reads them."""
    specs = []
    for i, s in enumerate(inputs):
        loc = _local(s)
        specs.append((i, s, loc, _glob.has_magic(s)))

    def order(file_path: str) -> tuple[int, str, str]:
        loc = _local(file_path)
        for i, s, sloc, magic in specs:
            if loc is not None and sloc is not None:
                if loc == sloc or loc.startswith(sloc.rstrip("/") + "/") or (magic and fnmatch.fnmatch(loc, sloc)):
                    return i, file_path, s if loc == sloc else loc
            elif file_path == s or file_path.startswith(s.rstrip("/") + "/"):
                return i, file_path, s if file_path == s else file_path
        return len(specs), file_path, file_path

    return order


# a JSON number as Jackson writes one back (Spark's string conversion of a number token)
_NUM_RE = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$"
_BLANK_RE = r"^[ \t\r\n]*$"  # lines of JSON whitespace: skipped, as the CLI and spark.read.json do
ID_NUMBER_COL = "_id_is_number"  # read_input: the id was a JSON number (written unquoted)
_CLUSTER_NUMBER_COL = "_cluster_is_number"


def _schema_for(fields: Sequence[tuple[str, Any]], corrupt: bool = False) -> Any:
    """The struct schema holding each dotted path with its leaf type."""
    from pyspark.sql.types import StringType, StructField, StructType

    tree: dict[str, Any] = {}
    for path, leaf in fields:
        node = tree
        parts = path.split(".")
        if "" in parts:
            raise ReprintError(f'field path "{path}" has an empty part')
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ReprintError(f"field paths {', '.join(f for f, _ in fields)} overlap")
        if parts[-1] in node and node[parts[-1]] != leaf:
            raise ReprintError(f"field paths {', '.join(f for f, _ in fields)} overlap")
        node[parts[-1]] = leaf

    def build(node: dict[str, Any]) -> Any:
        return StructType([StructField(k, build(v) if isinstance(v, dict) else v, True) for k, v in node.items()])

    st = build(tree)
    if corrupt:
        st = st.add("_corrupt_record", StringType(), True)
    return st


def _get(col: Any, path: str) -> Any:
    for part in path.split("."):
        col = col.getField(part)
    return col


def _kind(value: Any, path: str, s: Any) -> Any:
    """What the JSON value at path was, given s, its value as Spark's string
    conversion gives it (a string's text; any other value's JSON): "number",
    "other" (true, false, an object or an array) or "string".  Spark turns
    every value into a string for a string field, so the few whose string
    could be a number, a boolean, an object or an array are parsed again with
    that type (only those: the parse is in the branch of a CASE)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, BooleanType, DoubleType, MapType, StringType

    def parses(dtype: Any, **opts: str) -> Any:
        return _get(F.from_json(value, _schema_for([(path, dtype)]), opts), path).isNotNull()

    return (F.when(s.isNull(), F.lit(None))
            .when(s.rlike(_NUM_RE) & parses(DoubleType(), allowNonNumericNumbers="false"), F.lit("number"))
            .when(s.isin("true", "false") & parses(BooleanType()), F.lit("other"))
            .when(s.startswith("{") & parses(MapType(StringType(), StringType())), F.lit("other"))
            .when(s.startswith("[") & parses(ArrayType(StringType())), F.lit("other"))
            .otherwise(F.lit("string")))


def _refuse_directories(spark: "SparkSession", inputs: Sequence[str]) -> None:
    """The CLI makes one document of every file of a directory input; the
    Spark job reads JSON Lines files only, so a directory is refused rather
    than read as JSON Lines."""
    for s in inputs:
        if _glob.has_magic(s):
            continue
        loc = _local(s)
        if loc is not None:
            is_dir = os.path.isdir(loc)
        else:
            try:
                jvm, conf = spark.sparkContext._jvm, spark.sparkContext._jsc.hadoopConfiguration()
                path = jvm.org.apache.hadoop.fs.Path(s)
                is_dir = bool(path.getFileSystem(conf).getFileStatus(path).isDirectory())
            except Exception:  # missing: Spark's read reports it
                is_dir = False
        if is_dir:
            raise ReprintError(f"{s}: is a directory: reprint dedup makes one document of each file in a directory, "
                               "the Spark job reads JSON Lines files only; pass the files (or a glob)")


def read_input(spark: "SparkSession", inputs: Sequence[str], text_field: str = "text", id_field: str = "id",
               format: str | None = None) -> "DataFrame":
    """Read JSON Lines (or Parquet, by extension or format="parquet") files
    into a DataFrame (id, text, position), position being the record's place
    in the order the command line reads them: line order within a file,
    files in the order given.

    JSON Lines are read as the command reads them: a record whose text is
    not a string (a number, say), whose id is neither a string nor a number,
    that has no text or is not JSON stops the read with ReprintError naming
    the file and line, as ``reprint dedup`` stops (there is no skip mode).
    id is a string column; the column ``_id_is_number`` says which ids were
    JSON numbers (written unquoted by to_jsonl_lines, as the CLI).  A
    directory is refused (ReprintError): the CLI makes one document of each
    of its files, not JSON Lines."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType
    from pyspark.storagelevel import StorageLevel

    inputs = list(inputs)
    if format is None:
        format = "parquet" if all(s.rstrip("/").endswith(".parquet") for s in inputs) else "json"
    if format == "parquet":
        raw = spark.read.parquet(*inputs)
        cols = [F.col(text_field).alias("text")]
        cols.append(F.col(id_field).alias("id") if _has_field(raw, id_field) else F.lit(None).cast("string").alias("id"))
        df = raw.select(*cols, F.col("_metadata.file_path").alias("_file"),
                        F.col("_metadata.file_block_start").alias("_block"),
                        F.monotonically_increasing_id().alias("_mono"), F.lit(False).alias(ID_NUMBER_COL),
                        F.lit(None).cast("string").alias("_bad"))
    else:
        _refuse_directories(spark, inputs)
        lines = (spark.read.text(inputs)
                 .select("value", F.col("_metadata.file_path").alias("_file"),
                         F.col("_metadata.file_block_start").alias("_block"))
                 .where(~F.col("value").rlike(_BLANK_RE)))
        value = F.col("value")
        r = F.from_json(value, _schema_for([(text_field, StringType()), (id_field, StringType())], corrupt=True))
        rec = lines.select(value, r.alias("_r"), "_file", "_block", F.monotonically_increasing_id().alias("_mono"))
        text_s, id_s = _get(F.col("_r"), text_field), _get(F.col("_r"), id_field)
        tkind, ikind = _kind(value, text_field, text_s), _kind(value, id_field, id_s)
        bad = (F.when(F.col("_r").isNull() | F.col("_r._corrupt_record").isNotNull(), F.lit("invalid JSON"))
               .when(text_s.isNull(), F.lit(f'missing text field "{text_field}" (or null)'))
               .when(tkind != "string", F.lit(f'text field "{text_field}" is not a string'))
               .when(ikind == "other", F.lit(f'id field "{id_field}" is not a string or number')))
        df = rec.select(text_s.alias("text"), id_s.alias("id"), "_file", "_block", "_mono",
                        F.coalesce(ikind == "number", F.lit(False)).alias(ID_NUMBER_COL), bad.alias("_bad"))
    df = df.persist(StorageLevel.MEMORY_AND_DISK)
    blocks = df.groupBy("_file", "_block").agg(F.min("_mono").alias("first"), F.count("*").alias("n"),
                                                F.min(F.when(F.col("_bad").isNotNull(), F.col("_mono"))).alias(
                                                    "bad")).collect()
    order = _input_order(inputs)
    rows = []
    file_start: dict[str, int] = {}
    total = 0
    first_bad = None
    for r in sorted(blocks, key=lambda r: (order(r["_file"])[:2], r["_block"])):
        f = r["_file"]
        file_start.setdefault(f, total)
        rows.append((f, r["_block"], total - r["first"], order(f)[2]))
        if r["bad"] is not None and first_bad is None:  # the first bad record in input order
            first_bad = (r["bad"], total - r["first"], f, order(f)[2])
        total += r["n"]
    if first_bad is not None:
        mono, delta, f, name = first_bad
        msg = df.where(F.col("_mono") == mono).select("_bad").first()[0]
        df.unpersist()
        raise ReprintError(f"{name}:{mono + delta - file_start[f] + 1}: {msg}")
    offs = spark.createDataFrame([(f, b, d, name, file_start[f]) for f, b, d, name in rows],
                                 "_file string, _block long, delta long, name string, fstart long")
    out = (df.join(F.broadcast(offs), ["_file", "_block"])
           .withColumn("position", F.col("_mono") + F.col("delta")))
    # a record without an id is PATH:LINE, as in the command line (exact when
    # the file has no blank lines: they are skipped without counting)
    line_id = F.concat_ws(":", "name", (F.col("position") - F.col("fstart") + 1).cast("string"))
    if dict(out.dtypes)["id"] == "string":
        out = out.withColumn("id", F.coalesce("id", line_id))
    return out.select("id", "text", "position", ID_NUMBER_COL)


def _has_field(df: "DataFrame", path: str) -> bool:
    try:
        df.select(path).schema
        return True
    except Exception:
        return False


def to_jsonl_lines(df: "DataFrame", position_col: str = "position") -> "DataFrame":
    """One string column `value`: the lines ``reprint dedup`` writes, in
    input order (a range-partitioned sort by position, so the part files of
    df.write.text concatenated in name order are the command's output)."""
    from .. import _g6, _json_id, _NumberId

    numbers = ID_NUMBER_COL in df.columns and _CLUSTER_NUMBER_COL in df.columns

    def fmt(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        for b in batches:
            ids = b.column(0).to_pylist()
            cl = b.column(1).to_pylist()
            dup = b.column(2).to_pylist()
            sim = b.column(3).to_pylist()
            if numbers:  # ids that were JSON numbers, unquoted as the CLI writes them
                ids = [_NumberId(i) if f else i for i, f in zip(ids, b.column(4).to_pylist())]
                cl = [_NumberId(c) if f else c for c, f in zip(cl, b.column(5).to_pylist())]
            lines = [f'{{"id": {_json_id(i)}, "cluster": {_json_id(c)}, "duplicate": {"true" if d else "false"}, '
                     f'"similarity": {_g6(s)}}}' for i, c, d, s in zip(ids, cl, dup, sim)]
            yield pa.RecordBatch.from_arrays([pa.array(lines, pa.string())], names=["value"])

    extra = [ID_NUMBER_COL, _CLUSTER_NUMBER_COL] if numbers else []
    return (df.orderBy(position_col).select("id", "cluster", "duplicate", "similarity", *extra)
            .mapInArrow(fmt, "value string"))


def dedup_files(spark: "SparkSession", inputs: Sequence[str], output: str, partitions: int | None = None,
                text_field: str = "text", id_field: str = "id", output_format: str | None = None,
                **params: Any) -> "DataFrame":
    """The command ``python -m reprint.spark dedup``: read, cluster, write.
    JSON Lines output is a directory of part files whose concatenation in
    name order equals ``reprint dedup``'s output; Parquet output has the
    columns id, cluster, duplicate, similarity, position."""
    in_fmt = "parquet" if all(s.rstrip("/").endswith(".parquet") for s in inputs) else "json"
    df = read_input(spark, inputs, text_field, id_field, in_fmt)
    from pyspark.storagelevel import StorageLevel

    out = dedup(df, "text", "id", position_col="position", partitions=partitions, **params).persist(
        StorageLevel.MEMORY_AND_DISK)
    fmt = output_format or ("parquet" if output.rstrip("/").endswith(".parquet") else
                            "json" if output.rstrip("/").endswith((".jsonl", ".json")) else in_fmt)
    if fmt == "parquet":
        out.select("id", "cluster", "duplicate", "similarity", "position").orderBy("position").write.mode(
            "overwrite").parquet(output)
    else:
        to_jsonl_lines(out).write.mode("overwrite").text(output)
    return out
