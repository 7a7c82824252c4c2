#!/bin/sh
# SPDX-License-Identifier: MIT
# `meson install --destdir` puts every file in place: the program, both man
# pages, the example config, the systemd user units and bash completion.
#   test-install.sh BUILD_ROOT SOURCE_ROOT PREFIX BINDIR MANDIR DATADIR
set -u
build=$1 src=$2 prefix=$3 bindir=$4 mandir=$5 datadir=$6
# Relative option values are below the prefix; absolute ones are as given.
under() { case $1 in /*) echo "$1" ;; *) echo "$prefix/$1" ;; esac; }
bindir=$(under "$bindir") mandir=$(under "$mandir") datadir=$(under "$datadir")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

if ! meson install -C "$build" --no-rebuild --destdir "$tmp/root" >"$tmp/log" 2>&1; then
	cat "$tmp/log"
	echo "FAIL: meson install"
	exit 1
fi
root=$tmp/root

# same INSTALLED SOURCE: installed as a copy of the source file.
same() {
	if [ ! -f "$root$1" ]; then
		fail "$1 is not installed"
	elif ! cmp -s "$root$1" "$2"; then
		fail "$1 differs from $2"
	else
		echo "ok: $1"
	fi
}

[ -x "$root$bindir/tidemail" ] && echo "ok: $bindir/tidemail" ||
	fail "$bindir/tidemail is not installed or not executable"
"$root$bindir/tidemail" --version | grep -qx 'tidemail [0-9.]*' ||
	fail "the installed program does not run"
same "$mandir/man1/tidemail.1" "$src/man/tidemail.1"
same "$mandir/man5/tidemail-config.5" "$src/man/tidemail-config.5"
same "$datadir/doc/tidemail/config.example.yaml" "$src/contrib/config.example.yaml"
same "$prefix/lib/systemd/user/tidemail.timer" "$src/contrib/systemd/tidemail.timer"
same "$datadir/bash-completion/completions/tidemail" "$src/contrib/completion/tidemail.bash"

service=$root$prefix/lib/systemd/user/tidemail.service
if [ -f "$service" ]; then
	grep -qx "ExecStart=$bindir/tidemail -q sync" "$service" &&
		grep -qx "Type=oneshot" "$service" &&
		echo "ok: $prefix/lib/systemd/user/tidemail.service" ||
		fail "tidemail.service: $(grep -E '^(Type|ExecStart)=' "$service")"
else
	fail "$prefix/lib/systemd/user/tidemail.service is not installed"
fi
watch=$root$prefix/lib/systemd/user/tidemail-watch.service
if [ -f "$watch" ] && grep -qx "ExecStart=$bindir/tidemail -q watch" "$watch"; then
	echo "ok: $prefix/lib/systemd/user/tidemail-watch.service"
else
	fail "tidemail-watch.service is missing or wrong"
fi

# man finds the installed pages by name.
for page in tidemail tidemail-config; do
	MANPATH=$root$mandir MANWIDTH=80 man "$page" 2>/dev/null | grep -q '^NAME' ||
		fail "man $page does not find the installed page"
done

# Nothing else is installed.
want=8
got=$(find "$root" -type f | wc -l)
[ "$got" = "$want" ] || fail "$got files installed, expected $want: $(find "$root" -type f)"

# The units as systemd reads them, Documentation= (the installed man
# pages) included.
if command -v systemd-analyze >/dev/null; then
	cp "$service" "$root$prefix/lib/systemd/user/tidemail.timer" "$tmp/"
	# verify wants the program at its installed path; point it at the
	# destdir copy.
	sed -i "s|^ExecStart=$bindir/|ExecStart=$root$bindir/|" "$tmp/tidemail.service"
	mkdir -m 700 "$tmp/run"
	out=$(XDG_RUNTIME_DIR=$tmp/run MANPATH=$root$mandir systemd-analyze verify --user \
		"$tmp/tidemail.service" "$tmp/tidemail.timer" 2>&1) &&
		[ -z "$out" ] && echo "ok: systemd-analyze verify" || fail "systemd-analyze verify: $out"
else
	echo "skip: systemd-analyze verify (no systemd-analyze: Debian package systemd)"
fi

[ "$failures" = 0 ] || { echo "$failures failed"; exit 1; }
echo "all passed"
