#!/bin/bash
# SPDX-License-Identifier: MIT
# `tidemail watch` against a private Dovecot: changes on either side are
# synced within seconds, a lock held by another run is waited out, the
# network going away and coming back (also with the server restarted on
# other ports) is survived, and SIGTERM and SIGINT end it with status 0.
#
# tidemail reaches the server through tcp-relay, a forwarder on a port of
# its own: killing the relay is the network going away (connections drop,
# new ones are refused); starting it again on the same port is the network
# coming back.  tm-dovecot cannot do this by itself: a server started
# again on its directory keeps the mail but gets new ports, which the
# config could not follow (and a new password, which password_command
# follows).
#   test-watch-e2e.sh TIDEMAIL TM-DOVECOT TCP-RELAY
set -u
TIDEMAIL=$1
TM_DOVECOT=$2
RELAY=$3
tmp=$(mktemp -d /tmp/tm-watch.XXXXXX)
chmod 755 "$tmp"
watch_pid=
relay_pid=
cleanup() {
	[ -n "$watch_pid" ] && kill -KILL "$watch_pid" 2>/dev/null
	[ -n "$relay_pid" ] && kill "$relay_pid" 2>/dev/null
	"$TM_DOVECOT" stop "$tmp/server" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
eval "$("$TM_DOVECOT" start "$tmp/server")" || { echo "FAIL: no server"; exit 1; }
doveadm_() { doveadm -c "$TM_DOVECOT_CONF" "$@"; }
failures=0
fail() { echo "FAIL ($case): $*"; failures=$((failures + 1)); }

# relay_start [PORT]: (re)starts the relay to the server's TLS port.
relay_start() {
	"$RELAY" "${1:-0}" "$TM_IMAPS_PORT" >"$tmp/relay.port" &
	relay_pid=$!
	for _ in $(seq 50); do
		[ -s "$tmp/relay.port" ] && break
		sleep 0.1
	done
	relay_port=$(cat "$tmp/relay.port")
	[ -n "$relay_port" ] || { echo "FAIL: the relay did not start on port ${1:-0}"; exit 1; }
}
relay_stop() {
	kill "$relay_pid"
	wait "$relay_pid" 2>/dev/null
	relay_pid=
}

# within SECONDS COMMAND...: true as soon as COMMAND succeeds.
alive() { kill -0 "$watch_pid" 2>/dev/null || fail "watch exited"; }
within() {
	local limit=$(( $(date +%s%N) + $1 * 1000000000 ))
	shift
	while [ "$(date +%s%N)" -lt "$limit" ]; do
		"$@" && return 0
		sleep 0.2
	done
	"$@"
}
files_in() { find "$tmp/Mail/$1" -path '*/tmp' -prune -o -type f -print 2>/dev/null | wc -l; }
has_files() { [ "$(files_in "$1")" = "$2" ]; }
server_count() { doveadm_ -f flow mailbox status -u "$TM_USER" messages "$1" 2>/dev/null | sed 's/.*messages=//'; }
has_messages() { [ "$(server_count "$1")" = "$2" ]; }
save() { # FOLDER ID
	printf 'Message-ID: <%s@t>\r\nSubject: %s\r\n\r\nbody\r\n' "$2" "$2" |
		doveadm_ save -u "$TM_USER" -m "$1"
}
deliver() { # FOLDER NAME: a file as a mail client writes one
	printf 'Message-ID: <%s@local>\r\nSubject: %s\r\n\r\nlocal\r\n' "$2" "$2" \
		>"$tmp/Mail/$1/tmp/$2"
	mv "$tmp/Mail/$1/tmp/$2" "$tmp/Mail/$1/new/$2"
}

relay_start
cat >"$tmp/c.yaml" <<YAML
state_dir: $tmp/state
accounts:
  t:
    remote: {host: $TM_IMAP_HOST, port: $relay_port, ca_file: $TM_CA_FILE, user: $TM_USER, password_command: "cat $tmp/pw", timeout: 10s}
    local: {path: $tmp/Mail}
YAML
chmod 600 "$tmp/c.yaml"
printf "%s\n" "$TM_PASSWORD" >"$tmp/pw"
save INBOX first

# stdout is a file: quiet unless something goes wrong.
"$TIDEMAIL" -c "$tmp/c.yaml" watch >"$tmp/out" 2>"$tmp/err" &
watch_pid=$!

case="the sync at start"
within 10 has_files INBOX 1 || fail "INBOX holds $(files_in INBOX) files"

case="a message saved on the server comes down"
save INBOX second
within 10 has_files INBOX 2 || fail "INBOX holds $(files_in INBOX) files"

case="a new folder on the server, and a message in it (NOTIFY)"
doveadm_ mailbox create -u "$TM_USER" Work
save Work third
within 10 has_files Work 1 || fail "Work holds $(files_in Work) files"

case="a file delivered into the Maildir goes up"
deliver INBOX local1
within 10 has_messages INBOX 3 || fail "the server's INBOX holds $(server_count INBOX)"

case="a flag set locally reaches the server"
f=$(find "$tmp/Mail/INBOX/new" -type f -name local1)
if [ -n "$f" ]; then
	mv "$f" "$tmp/Mail/INBOX/cur/local1:2,FS"
	seen() { doveadm_ search -u "$TM_USER" mailbox INBOX FLAGGED SEEN | grep -q .; }
	within 10 seen || fail "no message is \\Flagged and \\Seen on the server"
else
	fail "local1 was renamed: $(ls "$tmp/Mail/INBOX/new" "$tmp/Mail/INBOX/cur")"
fi

case="a folder made locally is created on the server"
mkdir -p "$tmp/Mail/Local/cur" "$tmp/Mail/Local/new" "$tmp/Mail/Local/tmp"
deliver Local local2
within 10 has_messages Local 1 || fail "the server's Local holds '$(server_count Local)'"

case="nothing said so far"
[ -s "$tmp/out" ] && fail "stdout: $(cat "$tmp/out")"
[ -s "$tmp/err" ] && fail "stderr: $(cat "$tmp/err")"

case="a lock held by another run is waited out"
flock "$tmp/state/t.db.lock" sleep 3 &
lock_pid=$!
sleep 0.3
deliver INBOX local3
sleep 2
has_messages INBOX 3 || fail "synced through the lock: $(server_count INBOX)"
alive
wait "$lock_pid"
within 10 has_messages INBOX 4 || fail "not synced after the lock: $(server_count INBOX)"

case="the network goes away and comes back"
relay_stop
within 5 grep -q '^tidemail: account t: cannot connect to 127.0.0.1 port '"$relay_port"': Connection refused; trying again' "$tmp/err" ||
	fail "stderr: $(cat "$tmp/err")"
save INBOX offline
deliver INBOX local4
sleep 3
has_files INBOX 5 || fail "synced while offline? $(files_in INBOX)"
alive
relay_start "$relay_port"
within 15 has_files INBOX 6 || fail "INBOX holds $(files_in INBOX) files"
within 5 has_messages INBOX 6 || fail "the server's INBOX holds $(server_count INBOX)"
grep -qx 'tidemail: account t: connected again' "$tmp/err" || fail "stderr: $(cat "$tmp/err")"
[ "$(grep -c 'cannot connect' "$tmp/err")" = 1 ] || fail "the error was repeated: $(cat "$tmp/err")"

case="the server restarts on other ports; the network follows"
# The relay stays: connections reach it and are closed at once.
"$TM_DOVECOT" stop "$tmp/server" || fail "tm-dovecot stop"
sleep 2
alive
eval "$("$TM_DOVECOT" start "$tmp/server")" || { echo "FAIL: the server did not start again"; exit 1; }
# A fresh password too: password_command is asked again at each login.
printf "%s\n" "$TM_PASSWORD" >"$tmp/pw"
save INBOX restarted
relay_stop
relay_start "$relay_port"
within 15 has_files INBOX 7 || fail "INBOX holds $(files_in INBOX) files; stderr: $(cat "$tmp/err")"
doveadm_ mailbox create -u "$TM_USER" After
save After fourth
within 10 has_files After 1 || fail "the watcher did not come back: After holds $(files_in After)"

case="SIGTERM ends it at once, with status 0"
child=$(pgrep -P "$watch_pid")
[ -n "$child" ] || fail "no server watcher process"
start=$(date +%s%N)
kill -TERM "$watch_pid"
wait "$watch_pid"
status=$?
watch_pid=
[ "$status" = 0 ] || fail "exit $status: $(cat "$tmp/err")"
[ $(( ($(date +%s%N) - start) / 1000000 )) -lt 3000 ] || fail "it took $(( ($(date +%s%N) - start) / 1000000 )) ms"
[ -n "$child" ] && kill -0 "$child" 2>/dev/null && fail "the server watcher $child outlived it"
[ -s "$tmp/out" ] && fail "stdout: $(cat "$tmp/out")"

case="SIGINT too; -v says how the server is watched; --interval"
"$TIDEMAIL" -c "$tmp/c.yaml" -v watch --interval 1s >"$tmp/out" 2>"$tmp/err" &
watch_pid=$!
within 10 grep -q '^tidemail: account t: watching every folder on the server (NOTIFY)$' "$tmp/err" ||
	fail "stderr: $(grep -v ': [CS]: ' "$tmp/err")"
# Nothing changes now: only the periodic sync lists the folders.
lists() { grep -c ' C: T[0-9]* LIST ' "$tmp/err"; }
sleep 2
n1=$(lists)
sleep 3.5
n2=$(lists)
[ $((n2 - n1)) -ge 2 ] && [ $((n2 - n1)) -le 4 ] || fail "$((n2 - n1)) syncs in 3.5 s with --interval 1s"
kill -INT "$watch_pid"
wait "$watch_pid"
status=$?
watch_pid=
[ "$status" = 0 ] || fail "exit $status: $(grep -v ': [CS]: ' "$tmp/err")"

case="usage"
"$TIDEMAIL" -c "$tmp/c.yaml" watch --interval 0s >/dev/null 2>"$tmp/err"
[ $? = 2 ] || fail "exit"
grep -qx "tidemail: --interval: expected a duration from 1s to 7d such as 15m or 90s, got '0s'" "$tmp/err" || fail "$(cat "$tmp/err")"
"$TIDEMAIL" -c "$tmp/c.yaml" watch nope >/dev/null 2>"$tmp/err"
[ $? = 2 ] || fail "exit"
grep -qx "tidemail: $tmp/c.yaml: no account 'nope' in the config" "$tmp/err" || fail "$(cat "$tmp/err")"

"$TIDEMAIL" -c "$tmp/c.yaml" watch --bogus >/dev/null 2>"$tmp/err"
[ $? = 2 ] || fail "exit"
grep -qx "tidemail: watch: unknown option '--bogus' (see tidemail watch --help)" "$tmp/err" || fail "$(cat "$tmp/err")"
"$TIDEMAIL" -c "$tmp/c.yaml" watch --interval >/dev/null 2>"$tmp/err"
[ $? = 2 ] || fail "exit"
grep -qx "tidemail: watch: --interval needs a value (see tidemail watch --help)" "$tmp/err" || fail "$(cat "$tmp/err")"

echo "$failures failed"
[ "$failures" -eq 0 ]
