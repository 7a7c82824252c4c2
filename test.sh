#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds tidemail and runs the whole test suite (unit and end-to-end
# against a private Dovecot).  Installs missing Debian packages first.
#
#   ./test.sh               build in build/ and run every test
#   ./test.sh --sanitize    the same with AddressSanitizer and UBSan, in build-asan/
#   ./test.sh -- ARGS       pass ARGS to `meson test` (e.g. --suite unit)
set -euo pipefail
cd "$(dirname "$0")"
. tools/deps.sh
tidemail_install_deps

dir=build
setup=()
if [ "${1:-}" = "--sanitize" ]; then
	shift
	dir=build-asan
	setup=(-Db_sanitize=address,undefined -Db_lundef=false)
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1
	export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
fi
[ "${1:-}" = "--" ] && shift

if [ ! -f "$dir/build.ninja" ]; then
	meson setup "$dir" "${setup[@]}" >/dev/null
else
	meson setup --reconfigure "$dir" "${setup[@]}" >/dev/null
fi
ninja -C "$dir"
# Every harness password is a sentinel; after the suite, look for it in
# meson's log, the tests' trace files and what the run left in /tmp
# (tests/secrets/sweep.sh).
rm -rf "$dir/meson-logs/traces"
export TIDEMAIL_TRACE_DIR=$PWD/$dir/meson-logs/traces
touch "$dir/meson-logs/secrets-sweep.stamp"
meson test -C "$dir" --print-errorlogs "$@"
bash tests/secrets/sweep.sh "$dir"
