# lib.sh — sourced by tests/cli_*.sh: check helpers for shell tests.
# Each check prints "ok NAME" or "FAIL NAME: why"; cli_end prints the summary.
P=0; F=0
R="${REPRINT:-build/san/reprint}"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
DATA=../shared/data
ok()   { P=$((P+1)); echo "ok $1"; }
fail() { F=$((F+1)); echo "FAIL $1: $2"; }
# check NAME CONDITION-COMMAND...
check() { n=$1; shift; if "$@"; then ok "$n"; else fail "$n" "$*"; fi; }
# expect_eq NAME GOT WANT
expect_eq() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "got [$2] want [$3]"; fi; }
cli_end() { echo "# $P passed, $F failed"; [ "$F" = 0 ]; }
