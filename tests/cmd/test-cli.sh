#!/bin/sh
# SPDX-License-Identifier: MIT
# The command line as a user meets it: help, version, exit statuses, and
# config errors reported before any networking.
set -u
TIDEMAIL=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

# expect STATUS "EXPECTED STDERR (exact, empty for none)" ARGS...
expect() {
	want_status=$1 want_err=$2
	shift 2
	"$TIDEMAIL" "$@" >"$tmp/out" 2>"$tmp/err"
	status=$?
	err=$(cat "$tmp/err")
	if [ "$status" != "$want_status" ]; then
		echo "FAIL: tidemail $*: exit $status, expected $want_status (stderr: $err)"
		failures=$((failures + 1))
	elif [ -n "$want_err" ] && [ "$err" != "$want_err" ]; then
		printf 'FAIL: tidemail %s:\n  stderr:   %s\n  expected: %s\n' "$*" "$err" "$want_err"
		failures=$((failures + 1))
	else
		echo "ok: tidemail $*"
	fi
}

expect 0 "" --help
grep -q '^usage: tidemail \[-c FILE\] \[-v | -q\] COMMAND' "$tmp/out" ||
	{ echo "FAIL: --help shows no usage line"; failures=$((failures + 1)); }
expect 0 "" --version
grep -qx 'tidemail [0-9][0-9.]*' "$tmp/out" ||
	{ echo "FAIL: --version printed '$(cat "$tmp/out")'"; failures=$((failures + 1)); }
expect 2 "" # no command: usage on stderr
expect 2 "tidemail: unknown command 'frobnicate' (expected check, status, sync or watch; see --help)" frobnicate
expect 2 "tidemail: -v and -q cannot be used together" -v -q check
expect 2 "tidemail: $tmp/none.yaml: cannot open the config file: No such file or directory" \
	-c "$tmp/none.yaml" check

printf 'accounts:\n  w:\n    remote: {host: h, user: u, password_command: pw, port: 0}\n    local: {path: /m}\n' >"$tmp/bad.yaml"
expect 2 "tidemail: $tmp/bad.yaml:3:60: accounts.w.remote.port: expected an integer from 1 to 65535, got '0'" \
	-c "$tmp/bad.yaml" check

printf 'accounts:\n  w:\n    remote: {host: h, user: u, password: hunter2}\n    local: {path: /m}\n' >"$tmp/open.yaml"
chmod 644 "$tmp/open.yaml"
expect 2 "tidemail: $tmp/open.yaml:3:32: accounts.w.remote.password: this file holds a password but is readable by group or others; run: chmod 600 $tmp/open.yaml" \
	-c "$tmp/open.yaml" check

chmod 600 "$tmp/open.yaml"
expect 2 "tidemail: $tmp/open.yaml: no account 'nope' in the config" -c "$tmp/open.yaml" check nope

# The default path follows XDG_CONFIG_HOME.
mkdir -p "$tmp/xdg/tidemail"
printf 'accounts: []\n' >"$tmp/xdg/tidemail/config.yaml"
XDG_CONFIG_HOME=$tmp/xdg expect 2 "tidemail: $tmp/xdg/tidemail/config.yaml:1:11: accounts: expected a mapping of account names, got a list" check

# The password never appears in anything tidemail prints.
if grep -q hunter2 "$tmp/out" "$tmp/err"; then
	echo "FAIL: the password was printed"
	failures=$((failures + 1))
fi

echo "$failures failed"
[ "$failures" -eq 0 ]
