"""python -m reprint.spark dedup INPUT... OUTPUT [--master URL] [--partitions N] [options]

Reads JSON Lines (or Parquet, by extension), clusters near-duplicates on
Spark exactly as ``reprint dedup`` does, and writes one record per input
document with its id, cluster, duplicate flag and similarity: JSON Lines as
a directory of part files whose concatenation (in name order) equals
``reprint dedup``'s output byte for byte, or Parquet when OUTPUT ends in
.parquet (or the input is Parquet)."""
from __future__ import annotations

import argparse
import os
import sys
import time


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m reprint.spark", description=__doc__.split("\n\n")[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dedup", help="cluster near-duplicate documents",
                       usage="python -m reprint.spark dedup [OPTION]... INPUT... OUTPUT")
    d.add_argument("paths", nargs="+", metavar="PATH", help="the input files (JSON Lines or Parquet), then OUTPUT")
    d.add_argument("--master", help="Spark master URL (default: spark-submit's, else local[*])")
    d.add_argument("--partitions", type=int, help="partitions for the per-document work and the shuffles")
    d.add_argument("-t", "--threshold", type=float, default=0.8, help="Jaccard threshold (default 0.8)")
    d.add_argument("-n", "--ngram", type=int, default=5, help="shingle length (default 5)")
    d.add_argument("--shingle", default="word", help="word (default), word:N, char:N")
    d.add_argument("-k", "--num-perm", type=int, default=128, help="sketch size (default 128)")
    d.add_argument("--bands", type=int, help="LSH bands (default: chosen from the threshold)")
    d.add_argument("--rows", type=int, help="LSH rows")
    d.add_argument("--verify", default="auto", choices=["auto", "estimate", "exact"])
    d.add_argument("--keep", default="first", choices=["first", "longest"])
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--text-field", default="text")
    d.add_argument("--id-field", default="id")
    d.add_argument("--output-format", choices=["json", "parquet"], help="default: by OUTPUT's extension, else the input's")
    d.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                   help="a Spark setting, e.g. --conf spark.driver.memory=8g (repeatable)")
    d.add_argument("-q", "--quiet", action="store_true", help="no summary or progress bar on stderr")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if len(args.paths) < 2:
        print("reprint.spark: expected INPUT... OUTPUT", file=sys.stderr)
        return 2
    *inputs, output = args.paths
    # Python workers run this interpreter (where reprint is installed) unless told otherwise
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    from . import dedup_files

    b = SparkSession.builder.appName("reprint dedup")
    if args.master:
        b = b.master(args.master)
    if args.partitions:
        b = b.config("spark.sql.shuffle.partitions", str(args.partitions))
    if args.quiet:
        b = b.config("spark.ui.showConsoleProgress", "false")
    for kv in args.conf:
        key, eq, value = kv.partition("=")
        if not eq:
            print(f"reprint.spark: --conf expects KEY=VALUE, got {kv!r}", file=sys.stderr)
            return 2
        b = b.config(key, value)
    spark = b.getOrCreate()
    t0 = time.perf_counter()
    try:
        out = dedup_files(spark, inputs, output, partitions=args.partitions, text_field=args.text_field,
                          id_field=args.id_field, output_format=args.output_format, threshold=args.threshold,
                          num_perm=args.num_perm, ngram=args.ngram, shingle=args.shingle, bands=args.bands,
                          rows=args.rows, verify=args.verify, keep=args.keep, seed=args.seed)
        if not args.quiet:
            from pyspark.sql import functions as F

            r = out.agg(F.count("*").alias("n"), F.sum(F.col("duplicate").cast("long")).alias("d")).collect()[0]
            secs = time.perf_counter() - t0
            print(f"reprint.spark: read {r['n']}, kept {r['n'] - (r['d'] or 0)}, removed {r['d'] or 0}; "
                  f"{secs:.2f} s, {r['n'] / secs if secs else 0:.0f} documents/s", file=sys.stderr)
    except Exception as e:  # noqa: BLE001 - one line on stderr, like the command
        msg = str(e).strip().splitlines()
        print(f"reprint.spark: {msg[-1] if msg else type(e).__name__}", file=sys.stderr)
        return 1
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
