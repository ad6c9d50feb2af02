#!/bin/sh
# Install the Debian packages reprint needs, only the missing ones.
# Used by `make test`, `make demo`, `make bench` and `make fuzz`.
set -e
need="gcc make pkg-config libutf8proc-dev libxxhash-dev libisal-dev libzstd-dev zlib1g-dev zstd gzip"
missing=""
for p in $need; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "reprint: installing Debian packages:$missing" >&2
if [ "$(id -u)" != 0 ]; then
	echo "reprint: not root; run: sudo apt-get install -y$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq $missing >/dev/null
