"""Shared fixtures: the project's CLI (build/reprint), the corpora in
../shared/data, and a local Spark session (skipped, with the reason, when
Java or pyspark is missing)."""
import gzip
import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = os.path.join(ROOT, "build", "reprint")
DATA = os.environ.get("REPRINT_DATA", os.path.normpath(os.path.join(ROOT, "..", "shared", "data")))


def corpus(name):
    path = os.path.join(DATA, f"{name}.jsonl.gz")
    if not os.path.exists(path):
        pytest.fail(f"corpus {path} is missing (set REPRINT_DATA to the shared/data directory)")
    return path


def records(name):
    with gzip.open(corpus(name), "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def run_cli(*args, input=None):
    if not os.access(CLI, os.X_OK):
        pytest.fail(f"{CLI} is missing: run `make` in {ROOT} first (python/run_tests.sh does)")
    r = subprocess.run([CLI, *args], input=input, capture_output=True)
    if r.returncode != 0:
        raise AssertionError(f"reprint {' '.join(args)} failed ({r.returncode}): {r.stderr.decode()}")
    return r.stdout


@pytest.fixture(scope="session")
def spark():
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark tests skipped: no Java (install openjdk-17-jre-headless)")
    try:
        import pyarrow  # noqa: F401
        from pyspark.sql import SparkSession
    except ImportError as e:
        pytest.skip(f"Spark tests skipped: {e} (pip install './python[spark]')")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    s = (SparkSession.builder.master("local[2]").appName("reprint tests")
         .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
         .config("spark.sql.shuffle.partitions", "4").config("spark.driver.host", "127.0.0.1")
         .getOrCreate())
    s.sparkContext.setLogLevel("ERROR")
    yield s
    s.stop()
