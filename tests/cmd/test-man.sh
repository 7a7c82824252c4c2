#!/bin/sh
# SPDX-License-Identifier: MIT
# The man pages render with man -l without a single warning, and
# tidemail-config(5) describes every key of docs/config.md.
#   test-man.sh TIDEMAIL.1 TIDEMAIL-CONFIG.5 DOCS/CONFIG.MD
set -u
failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}
command -v man >/dev/null || { echo "man is missing (Debian package man-db)"; exit 1; }

for page in "$1" "$2"; do
	warnings=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
	[ -z "$warnings" ] || fail "$page: man --warnings says: $warnings"
	text=$(MANWIDTH=80 man -l "$page" 2>/dev/null)
	lines=$(printf '%s\n' "$text" | wc -l)
	[ "$lines" -gt 100 ] || fail "$page renders to only $lines lines"
	# Nothing wider than the terminal but the examples (indented 14).
	wide=$(printf '%s\n' "$text" | awk 'length > 80 && !/^              /')
	[ -z "$wide" ] || fail "$page: lines wider than 80 columns: $wide"
	echo "ok: $page renders, $lines lines"
done

# Every key in the YAML block of docs/config.md has its own entry (.B key
# in a tagged paragraph) or, for the mappings, a section naming it.  The
# lines indented by two spaces hold the example's account name, not a key;
# `password` is only in a comment there ("or  password: ...").
keys=$(awk '/^```yaml/ { on = 1; next } /^```/ { on = 0 } on' "$3" |
	sed -n -e '/^  [^ ]/d' -e 's/^ *\([a-z0-9_]*\):.*/\1/p' | sort -u)
keys="$keys password"
[ -n "$keys" ] || fail "no keys found in $3"
for key in $keys; do
	if grep -qx "\.B $key" "$2" || grep -q "^\.BI accounts\. NAME \.$key" "$2"; then
		echo "ok: tidemail-config(5) has $key"
	else
		fail "tidemail-config(5) does not describe '$key'"
	fi
done

# The commands and exit statuses of the program are all in tidemail(1).
for word in check status sync watch; do
	grep -q "^\.BR $word \"" "$1" || fail "tidemail(1) has no entry for the command $word"
done
for code in 0 1 2 3 75; do
	grep -A1 '^\.TP' "$1" | grep -qx "\.B $code" || fail "tidemail(1) has no exit status $code"
done
[ "$failures" = 0 ] || { echo "$failures failed"; exit 1; }
echo "all passed"
