#!/bin/bash
# SPDX-License-Identifier: MIT
# `tidemail sync` as cron and a user see it, against a private Dovecot:
# silent on success when stdout is not a terminal; a no-op resync sends no
# SELECT and no FETCH (-v trace); --dry-run; and each exit status of
# SPEC.md section 1 with its one-line message.
set -u
TIDEMAIL=$1
TM_DOVECOT=$2
tmp=$(mktemp -d /tmp/tm-sync-cli.XXXXXX)
chmod 755 "$tmp"
trap '"$TM_DOVECOT" stop "$tmp/server" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
eval "$("$TM_DOVECOT" start "$tmp/server")" || { echo "FAIL: no server"; exit 1; }
doveadm_() { doveadm -c "$TM_DOVECOT_CONF" "$@"; }
failures=0
fail() { echo "FAIL ($case): $*"; failures=$((failures + 1)); }

config() { # PORT
	cat >"$tmp/c.yaml" <<YAML
state_dir: $tmp/state
accounts:
  t:
    remote: {host: $TM_IMAP_HOST, port: $1, ca_file: $TM_CA_FILE, user: $TM_USER, password: "$TM_PASSWORD"}
    local: {path: $tmp/Mail}
    sync: {max_size: 100K}
YAML
	chmod 600 "$tmp/c.yaml"
}
run() { "$TIDEMAIL" -c "$tmp/c.yaml" "$@" >"$tmp/out" 2>"$tmp/err"; echo $?; }

doveadm_ mailbox create -u "$TM_USER" Box
doveadm_ mailbox create -u "$TM_USER" Big
{ printf 'Message-ID: <big@t>\r\nSubject: big\r\n\r\n'; head -c 150000 /dev/zero | tr '\0' x; printf '\r\n'; } |
	doveadm_ save -u "$TM_USER" -m Big
for i in $(seq 1 12); do
	printf 'Message-ID: <m%d@t>\r\nSubject: m%d\r\n\r\nx\r\n' "$i" "$i" | doveadm_ save -u "$TM_USER" -m Box
done
config "$TM_IMAPS_PORT"

case="first sync is silent from cron"
[ "$(run sync)" = 0 ] || fail "exit $(cat "$tmp/err")"
[ -s "$tmp/out" ] && fail "stdout: $(cat "$tmp/out")"
[ -s "$tmp/err" ] && fail "stderr: $(cat "$tmp/err")"
[ "$(find "$tmp/Mail/Box" -type f | wc -l)" = 12 ] || fail "files: $(find "$tmp/Mail" -type f | wc -l)"

case="a no-op resync sends no SELECT and no FETCH"
sleep 2.1  # past the Maildir timestamp guard, so the scan can be skipped
run sync >/dev/null
[ "$(run -v sync)" = 0 ] || fail "exit"
grep -q ' C: T[0-9]* LIST ' "$tmp/err" || fail "no LIST in the trace"
if grep -E ' C: T[0-9]* (SELECT|EXAMINE|UID FETCH|FETCH|UID STORE|APPEND)' "$tmp/err"; then
	fail "the trace shows commands a no-op run should not send"
fi
grep -q '^t: 0 down (0 bytes), 0 up (0 bytes)' "$tmp/out" || fail "summary: $(cat "$tmp/out")"

case="--dry-run prints the plan and changes nothing"
printf 'Message-ID: <new@t>\r\n\r\nx\r\n' | doveadm_ save -u "$TM_USER" -m Box
[ "$(run sync --dry-run)" = 0 ] || fail "exit"
grep -qx 't/Box: download UID 13 ([0-9]* bytes) flags ' "$tmp/out" || fail "plan: $(cat "$tmp/out")"
[ "$(find "$tmp/Mail/Box" -type f | wc -l)" = 12 ] || fail "--dry-run wrote files"
[ "$(run sync)" = 0 ] || fail "exit"
[ "$(find "$tmp/Mail/Box" -type f | wc -l)" = 13 ] || fail "the new message did not come"

case="--pull with --push"
[ "$(run sync --pull --push)" = 2 ] || fail "exit"
grep -qx 'tidemail: --pull and --push cannot be used together' "$tmp/err" || fail "$(cat "$tmp/err")"

case="unknown account"
[ "$(run sync nope)" = 2 ] || fail "exit"
grep -qx "tidemail: $tmp/c.yaml: no account 'nope' in the config" "$tmp/err" || fail "$(cat "$tmp/err")"

case="max_delete refuses the folder: exit 1, then --force"
rm "$tmp"/Mail/Box/*/*
[ "$(run sync)" = 1 ] || fail "exit"
grep -qx 'tidemail: account t, folder Box: refusing to delete 13 of 13 server messages (more than max_delete 50%); run with --force to allow it' "$tmp/err" || fail "$(cat "$tmp/err")"
[ "$(doveadm_ -f flow mailbox status -u "$TM_USER" messages Box)" = "Box messages=13" ] || fail "server changed"
grep -q 'Box: .*REFUSED by a guard: refusing to delete 13 of 13 server messages' <("$TIDEMAIL" -c "$tmp/c.yaml" status) ||
	fail "status does not show the refusal"
[ "$(run sync --force)" = 0 ] || fail "--force exit $(cat "$tmp/err")"
"$TIDEMAIL" -c "$tmp/c.yaml" status >"$tmp/status"
grep -q 'REFUSED' "$tmp/status" && fail "the refusal outlived a forced run"
grep -q '^  Big: 0 on the server, 0 local;.*; 1 message not transferred (max_size or max_age)$' "$tmp/status" ||
	fail "status does not show the skipped message: $(cat "$tmp/status")"
[ "$(doveadm_ -f flow mailbox status -u "$TM_USER" messages Box)" = "Box messages=0" ] || fail "--force did not delete"

case="a held lock: exit 75 at once"
flock "$tmp/state/t.db.lock" sleep 3 &
sleep 0.3
start=$(date +%s%N)
[ "$(run sync)" = 75 ] || fail "exit"
grep -q '^tidemail: account t: another tidemail run holds it' "$tmp/err" || fail "$(cat "$tmp/err")"
[ $(( ($(date +%s%N) - start) / 1000000 )) -lt 2000 ] || fail "it waited"
wait

case="a missing local root: exit 1, nothing deleted"
printf 'Message-ID: <keep@t>\r\n\r\nx\r\n' | doveadm_ save -u "$TM_USER" -m Box
mv "$tmp/Mail" "$tmp/Mail.away"
[ "$(run sync)" = 1 ] || fail "exit"
grep -q "^tidemail: account t: local root $tmp/Mail is missing" "$tmp/err" || fail "$(cat "$tmp/err")"
[ "$(doveadm_ -f flow mailbox status -u "$TM_USER" messages Box)" = "Box messages=1" ] || fail "server changed"
mv "$tmp/Mail.away" "$tmp/Mail"

case="cannot connect: exit 3"
config 1
[ "$(run sync)" = 3 ] || fail "exit"
grep -qx 'tidemail: account t: cannot connect to 127.0.0.1 port 1: Connection refused' "$tmp/err" || fail "$(cat "$tmp/err")"

echo "$failures failed"
[ "$failures" -eq 0 ]
