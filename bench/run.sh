#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The tidemail/mbsync benchmark of issue 8 in one command:
#
#   bench/run.sh [--quick] [bench-sync options: --runs N --light-runs N
#                --only LETTERS --seed N --dir DIR --keep]
#
# Builds tidemail, tm-dovecot and bench-sync in build-bench/ (only those
# targets), checks that Dovecot and mbsync are there, and runs bench-sync,
# which prints every run and a table of medians.  Needs root or the
# Debian packages already installed: dovecot-imapd (the server), isync
# (mbsync), gnutls-bin (certtool, for tm-dovecot's certificates).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=""
for p in dovecot-imapd isync gnutls-bin; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "bench/run.sh: missing Debian packages:$missing (apt-get install -y$missing)" >&2
	exit 1
fi

build=build-bench
[ -f "$build/build.ninja" ] || meson setup "$build" >/dev/null
ninja -C "$build" cmd/tidemail tests/harness/tm-dovecot bench/bench-sync >/dev/null
exec "$build/bench/bench-sync" "$@"
