#!/bin/sh
# Install the peers into bench/venv (gitignored), pinned: datasketch and rensa
# from bench/requirements.txt; text-dedup with its whole pinned dependency set
# from bench/requirements-text-dedup.txt, allowed to fail (at most 10 minutes):
# its outcome is written to bench/out/text-dedup-status.txt and its log to
# bench/out/text-dedup-install.log. A failed text-dedup install is not retried
# on later runs unless TD_RETRY=1. Idempotent: a second run only checks.
set -eu
cd "$(dirname "$0")/.."
V=bench/venv
mkdir -p bench/out
if ! python3 -c 'import ensurepip' 2>/dev/null; then
	echo "bench: installing python3-venv" >&2
	apt-get install -y python3-venv >&2
fi
if [ ! -x "$V/bin/python" ]; then
	python3 -m venv "$V"
	"$V/bin/pip" install -q --upgrade pip >&2 || true
fi
"$V/bin/pip" install -q -r bench/requirements.txt >&2
"$V/bin/python" -c 'import datasketch, rensa' >&2

ST=bench/out/text-dedup-status.txt
if [ -f "$ST" ] && grep -q '^failed' "$ST" && [ "${TD_RETRY:-0}" != 1 ]; then
	echo "bench: text-dedup: $(cat "$ST") (not retried; TD_RETRY=1 to retry)" >&2
	exit 0
fi
if "$V/bin/python" -c 'import text_dedup.minhash' 2>/dev/null; then
	echo "ok $("$V/bin/pip" show text-dedup 2>/dev/null | sed -n 's/^Version: //p')" > "$ST"
	exit 0
fi
echo "bench: installing text-dedup (pinned, may take a minute or fail)" >&2
start=$(date +%s)
if timeout 600 "$V/bin/pip" install -r bench/requirements-text-dedup.txt > bench/out/text-dedup-install.log 2>&1 \
   && "$V/bin/python" -c 'import text_dedup.minhash' >> bench/out/text-dedup-install.log 2>&1; then
	echo "ok $("$V/bin/pip" show text-dedup 2>/dev/null | sed -n 's/^Version: //p') (installed in $(( $(date +%s) - start )) s)" > "$ST"
else
	echo "failed after $(( $(date +%s) - start )) s: $(tail -n 3 bench/out/text-dedup-install.log | tr '\n' ' ' | cut -c1-300)" > "$ST"
	# datasketch and rensa must stay as pinned even if text-dedup half-installed
	"$V/bin/pip" install -q -r bench/requirements.txt >&2 || true
fi
echo "bench: text-dedup: $(cat "$ST")" >&2
