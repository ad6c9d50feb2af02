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
# A fresh cgroup with one limit, for the cases that need a container's limits:
# new_cgroup CONTROLLER V1_FILE V1_VALUE V2_FILE V2_VALUE sets $CG (cgroup v1
# where that controller's hierarchy is writable, else v2 where the controller
# is delegated) and returns 0, or returns 1 where none can be made (not
# root, no such controller); in_cgroup CMD... runs a command in it (status
# 77: it could not join); drop_cgroup removes it.
CG=
new_cgroup() {
	CG=
	[ "$(id -u)" = 0 ] || return 1
	if [ -w "/sys/fs/cgroup/$1" ] && mkdir "/sys/fs/cgroup/$1/reprint-test-$$" 2>/dev/null; then
		CG=/sys/fs/cgroup/$1/reprint-test-$$
		echo "$3" >"$CG/$2" 2>/dev/null && return 0
	elif grep -qw "$1" /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null &&
	     mkdir /sys/fs/cgroup/reprint-test-$$ 2>/dev/null; then
		CG=/sys/fs/cgroup/reprint-test-$$
		echo "$5" >"$CG/$4" 2>/dev/null && return 0
	fi
	drop_cgroup
	return 1
}
in_cgroup() { sh -c 'echo $$ >"$0/cgroup.procs" 2>/dev/null || exit 77; exec "$@"' "$CG" "$@"; }
drop_cgroup() { [ -n "$CG" ] && rmdir "$CG" 2>/dev/null; CG=; }
