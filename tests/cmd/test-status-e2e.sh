#!/bin/bash
# SPDX-License-Identifier: MIT
# `tidemail status` after real syncs against a private Dovecot
# (tests/harness/tm-dovecot): never synced, in step, local changes (new,
# removed, reflagged) counted and listed with -v, in step again after the
# next sync, and answered at once while a sync holds the account.
set -u
TIDEMAIL=$1
TM_DOVECOT=$2
command -v sqlite3 >/dev/null || { echo "FAIL: sqlite3 is missing (Debian package sqlite3)"; exit 1; }
tmp=$(mktemp -d /tmp/tm-status.XXXXXX)
chmod 755 "$tmp"
trap '"$TM_DOVECOT" stop "$tmp/server" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
eval "$("$TM_DOVECOT" start "$tmp/server")" || { echo "FAIL: no server"; exit 1; }
printf '%s\n' "$TM_PASSWORD" >"$tmp/pw"
export TZ=UTC
failures=0
doveadm_() { doveadm -c "$TM_DOVECOT_CONF" "$@"; }

doveadm_ mailbox create -u "$TM_USER" Lists || exit 1
for i in 1 2 3; do
	printf 'From: a@example.com\nMessage-ID: <%s@example.com>\nSubject: m%s\n\nbody %s\n' \
		"$i" "$i" "$i" | doveadm_ save -u "$TM_USER" -m INBOX || exit 1
done
printf 'From: b@example.com\nMessage-ID: <l1@example.com>\nSubject: l\n\nlist\n' |
	doveadm_ save -u "$TM_USER" -m Lists || exit 1

# $1: extra remote line (a password_command that waits, for the lock case)
config() {
	cat >"$tmp/c.yaml" <<YAML
state_dir: $tmp/state
accounts:
  t:
    remote:
      host: $TM_IMAP_HOST
      port: $TM_IMAPS_PORT
      ca_file: $TM_CA_FILE
      user: $TM_USER
      password_command: "${1:-}cat $tmp/pw"
    local: {path: $tmp/Mail}
YAML
}

# run STATUS ARGS...: tidemail -c c.yaml ARGS, output in $tmp/out
run() {
	local want=$1
	shift
	"$TIDEMAIL" -c "$tmp/c.yaml" "$@" >"$tmp/out" 2>&1
	local status=$?
	if [ "$status" != "$want" ]; then
		echo "FAIL: tidemail $*: exit $status, expected $want:"
		cat "$tmp/out"
		failures=$((failures + 1))
		return 1
	fi
}

# expect_out TEXT: $tmp/out is exactly TEXT
expect_out() {
	if [ "$(cat "$tmp/out")" == "$1" ]; then
		echo "ok: $case"
	else
		printf 'FAIL (%s):\n--- got\n%s\n--- expected\n%s\n' "$case" "$(cat "$tmp/out")" "$1"
		failures=$((failures + 1))
	fi
}

# The last sync of the account as status prints it; the state file is
# read with sqlite3 as an independent witness.
last_sync() {
	local t
	t=$(sqlite3 "$tmp/state/t.db" "SELECT max(last_sync) FROM folders")
	date -u -d "@$t" '+%Y-%m-%d %H:%M (just now)'
}

config

case="never synced"
run 0 status && expect_out "t: never synced (no state file $tmp/state/t.db)"
[ -e "$tmp/state/t.db" ] && { echo "FAIL: status created the state file"; failures=$((failures + 1)); }

case="in step after the first sync"
run 0 -q sync
run 0 status && expect_out "t: 2 folders, 4 messages on the server, 4 local; last sync $(last_sync); nothing pending
  INBOX: 3 on the server, 3 local; last sync $(last_sync); no local changes
  Lists: 1 on the server, 1 local; last sync $(last_sync); no local changes"

# A mail reader's day: one message read, one deleted, one new draft, and
# a new folder.
cd "$tmp/Mail/INBOX" || exit 1
files=(new/* cur/*)
first=${files[0]##*/} second=${files[1]##*/}
mv "${files[0]}" "cur/${first%%:*}:2,S"
rm "${files[1]}"
printf 'From: me@example.com\nSubject: draft\n\ntext\n' >"cur/draft.1.host:2,D"
mkdir -p "$tmp/Mail/Notes/cur" "$tmp/Mail/Notes/new" "$tmp/Mail/Notes/tmp"
printf 'Subject: note\n\nn\n' >"$tmp/Mail/Notes/new/note.1.host"
cd - >/dev/null || exit 1

case="local changes"
run 0 status && expect_out "t: 2 folders, 4 messages on the server, 4 local; last sync $(last_sync); 4 local changes pending
  INBOX: 3 on the server, 3 local; last sync $(last_sync); local changes: 1 new, 1 removed, 1 flag changed
  Lists: 1 on the server, 1 local; last sync $(last_sync); no local changes
  Notes: new local folder, 1 file, not synced yet"

case="local changes, file by file (-v)"
removed=${second%%:*} flagged=${first%%:*}
[[ $removed < $flagged ]] && order="    removed: $removed
    flags: $flagged - -> S" || order="    flags: $flagged - -> S
    removed: $removed"
run 0 -v status && expect_out "t: 2 folders, 4 messages on the server, 4 local; last sync $(last_sync); 4 local changes pending
  INBOX: 3 on the server, 3 local; last sync $(last_sync); local changes: 1 new, 1 removed, 1 flag changed
$order
    new: cur/draft.1.host:2,D
  Lists: 1 on the server, 1 local; last sync $(last_sync); no local changes
  Notes: new local folder, 1 file, not synced yet"

case="-q: the summary only"
run 0 -q status && expect_out "t: 2 folders, 4 messages on the server, 4 local; last sync $(last_sync); 4 local changes pending"

case="in step after the second sync"
run 0 -q sync
run 0 status && expect_out "t: 3 folders, 5 messages on the server, 5 local; last sync $(last_sync); nothing pending
  INBOX: 3 on the server, 3 local; last sync $(last_sync); no local changes
  Lists: 1 on the server, 1 local; last sync $(last_sync); no local changes
  Notes: 1 on the server, 1 local; last sync $(last_sync); no local changes"
# The server agrees (doveadm, not our IMAP code).
seen=$(doveadm_ -f flow search -u "$TM_USER" mailbox INBOX SEEN | wc -l)
total=$(doveadm_ -f flow search -u "$TM_USER" mailbox INBOX ALL | wc -l)
[ "$seen" = 1 ] && [ "$total" = 3 ] ||
	{ echo "FAIL: the server's INBOX has $total messages, $seen seen"; failures=$((failures + 1)); }

case="while a sync holds the account"
config "sleep 3; "
"$TIDEMAIL" -c "$tmp/c.yaml" -q sync >"$tmp/sync.out" 2>&1 &
sync_pid=$!
sleep 1
start=$(date +%s%N)
run 0 -q status
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
expect_out "t: 3 folders, 5 messages on the server, 5 local; last sync $(last_sync); nothing pending"
if ! kill -0 "$sync_pid" 2>/dev/null; then
	echo "FAIL: the sync was over before status ran; the case proves nothing"
	failures=$((failures + 1))
fi
[ "$elapsed_ms" -lt 1500 ] ||
	{ echo "FAIL: status took $elapsed_ms ms beside a running sync"; failures=$((failures + 1)); }
wait "$sync_pid" || { echo "FAIL: the sync beside status failed: $(cat "$tmp/sync.out")"; failures=$((failures + 1)); }

[ "$failures" = 0 ] || { echo "$failures failed"; exit 1; }
echo "all passed"
