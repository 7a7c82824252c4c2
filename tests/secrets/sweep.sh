#!/bin/bash
# SPDX-License-Identifier: MIT
# The suite-wide secrets sweep (issue 9, point 8), run by test.sh after
# `meson test`, when meson's log is complete (meson cannot order one test
# after all the others, and writes its log buffered).
#
# Every harness Dovecot's default password starts with tmSentinelPw
# (HARNESS_SENTINEL_PREFIX) and 16 hex digits, so every e2e test ran with
# a sentinel.  This looks for the prefix and a hex digit, as it is and in
# base64 at each alignment, in
#  - meson's test log (every test's stdout and stderr, traces included),
#  - the trace files of in-process e2e tests in BUILD/meson-logs/traces
#    (test.sh points TIDEMAIL_TRACE_DIR there; see harness_trace_line),
#  - everything the run left in ${TMPDIR:-/tmp} since test.sh touched
#    BUILD/meson-logs/secrets-sweep.stamp, except the servers' own
#    directories (those holding dovecot.conf: the passwd-file has it)
#    and config files (*.yaml), where a test put the password it gives.
# Prints the hits and "figures: secrets-sweep sentinel-hits=H
# files-scanned=N"; exit 0 without hits, 1 with, 2 on errors.
#
#   bash tests/secrets/sweep.sh BUILD-DIR
set -u
dir=${1:?usage: sweep.sh BUILD-DIR}
scanner=$dir/tests/secrets/tm-secrets
log=$dir/meson-logs/testlog.txt
stamp=$dir/meson-logs/secrets-sweep.stamp
# The prefix and one hex digit of the random part: the prefix alone is
# in the harness's sources and in every binary linked with it.
secrets=()
for d in 0 1 2 3 4 5 6 7 8 9 a b c d e f; do
	secrets+=("tmSentinelPw$d")
done
[ -x "$scanner" ] || { echo "sweep.sh: $scanner not built" >&2; exit 2; }
[ -f "$log" ] || { echo "sweep.sh: no $log" >&2; exit 2; }

list=$(mktemp)
trap 'rm -f "$list"' EXIT
printf '%s\0' "$log" >"$list"
[ -d "$dir/meson-logs/traces" ] && printf '%s\0' "$dir/meson-logs/traces" >>"$list"
if [ -f "$stamp" ]; then
	tmpdir=${TMPDIR:-/tmp}
	mapfile -d '' left < <(find "$tmpdir" -mindepth 1 -maxdepth 1 -newer "$stamp" -print0 2>/dev/null)
	servers=$(find "${left[@]}" -name dovecot.conf -printf '%h/\n' 2>/dev/null)
	find "${left[@]}" -type f -print0 2>/dev/null |
		while IFS= read -r -d '' f; do
			skip=
			while IFS= read -r s; do
				[ -n "$s" ] && [ "${f#"$s"}" != "$f" ] && skip=1 && break
			done <<<"$servers"
			case $f in *.yaml) skip=1 ;; esac
			[ -z "$skip" ] && printf '%s\0' "$f"
		done >>"$list"
fi

hits=0 files=0 status=0
while IFS= read -r line; do
	case $line in
	hit:*) echo "$line" ;;
	files-scanned=*)
		n=${line#files-scanned=}
		files=$((files + ${n%% *}))
		hits=$((hits + ${line##*hits=}))
		;;
	esac
done < <(xargs -0 -n 500 "$scanner" scan "${secrets[@]}" -- <"$list")
[ "$hits" = 0 ] || status=1
echo "figures: secrets-sweep sentinel-hits=$hits files-scanned=$files"
exit $status
