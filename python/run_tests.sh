#!/bin/sh
# python/run_tests.sh — test the Python binding and the Spark job.
#
# Builds the CLI (the tests compare against build/reprint), makes a venv
# (python/.venv, or $REPRINT_VENV), pip installs ./python with pytest,
# datasketch and numpy, and pyspark + pyarrow when Java is there, then runs
# pytest.  Without Java or pyspark the Spark tests are skipped, each with the
# reason.  Exits with pytest's status; "no tests collected" (5) is a failure.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
VENV=${REPRINT_VENV:-$HERE/.venv}
PY=${PYTHON:-python3}

make -C "$ROOT" --no-print-directory build/reprint || { echo "run_tests.sh: cannot build the CLI (make deps?)" >&2; exit 1; }
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV" || { echo "run_tests.sh: cannot create $VENV (apt-get install python3-venv)" >&2; exit 1; }
PIP="$VENV/bin/pip"
"$PIP" install -q pytest datasketch numpy || exit 1
(cd "$ROOT" && "$PIP" install -q --force-reinstall --no-deps ./python) || { echo "run_tests.sh: pip install ./python failed" >&2; exit 1; }

if command -v java >/dev/null 2>&1 || [ -n "${JAVA_HOME:-}" ]; then
	# pandas < 3: pyspark's Arrow path warns about pandas 3
	"$PIP" install -q pyspark pyarrow "pandas<3" || echo "run_tests.sh: pyspark could not be installed: the Spark tests will be skipped" >&2
else
	echo "run_tests.sh: no Java (apt-get install openjdk-17-jre-headless): the Spark tests will be skipped" >&2
fi

# from tests/: neither the driver nor Spark's Python workers (which put their
# working directory on sys.path) may import the uninstalled python/reprint
cd "$HERE/tests" || exit 1
"$VENV/bin/pytest" -q -rs "$@"
status=$?
if [ "$status" -eq 5 ]; then
	echo "run_tests.sh: pytest ran no tests" >&2
	exit 1
fi
exit "$status"
