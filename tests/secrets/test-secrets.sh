#!/bin/bash
# SPDX-License-Identifier: MIT
# Secrets and modes (issue 9, point 8), with the real binary against a
# private Dovecot:
#  - `tidemail -v` check, sync and status with a sentinel password over
#    AUTHENTICATE PLAIN and LOGIN (implicit TLS, STARTTLS and, on
#    loopback, no TLS), and a sentinel OAuth token from password_command
#    (OAUTHBEARER and XOAUTH2: this Dovecot offers neither, so those runs
#    fail to log in, and what they print must still not hold the token);
#    then every file the runs wrote (stdout, stderr with the trace, state
#    DB, lock, Maildir, $TMPDIR, $HOME) holds neither sentinel, as it is
#    or in base64 at any alignment (tm-secrets scan);
#  - every tidemail run has umask 000, and afterwards every file it
#    created is at most 0600 and every directory at most 0700
#    (tm-secrets modes), after a first sync and a resync that create
#    folders, state, lock and Maildir files on both sides.
# The sentinels sit only in files outside the scanned tree: the server's
# directory and the two files password_command reads.
set -u
TIDEMAIL=$1
TM_DOVECOT=$2
TM_SECRETS=$3
umask 077
tmp=$(mktemp -d /tmp/tm-secrets.XXXXXX)
trap '"$TM_DOVECOT" stop "$tmp/server" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
chmod 755 "$tmp" # Dovecot's mail user reads the server directory

rand() { od -An -tx1 -N8 /dev/urandom | tr -d ' \n'; }
eval "$("$TM_DOVECOT" start "$tmp/server")" || { echo "FAIL: no server"; exit 1; }
# The harness's passwords are sentinels (HARNESS_SENTINEL_PREFIX).
pw=$TM_PASSWORD
case $pw in
tmSentinelPw????????????????) ;;
*) echo "FAIL: the harness password $pw is not a sentinel"; exit 1 ;;
esac
tok="tmSentinelTok$(rand)"
doveadm_() { doveadm -c "$TM_DOVECOT_CONF" "$@"; }
failures=0
fail() { echo "FAIL ($case): $*"; failures=$((failures + 1)); }

mkdir -p "$tmp/secret"
printf '%s\n' "$pw" >"$tmp/secret/pw"
printf '%s\n' "$tok" >"$tmp/secret/token"
# What the runs write; the test's own files stay outside it.
run=$tmp/run
mkdir -p "$run/home" "$run/tmp" "$run/out" "$run/Mail" "$tmp/conf"

for f in Work Work/Sub; do doveadm_ mailbox create -u "$TM_USER" "$f"; done
for i in 1 2 3; do
	for f in INBOX Work Work/Sub; do
		printf 'Message-ID: <m%d-%s@t>\r\nSubject: m%d\r\n\r\nbody %d\r\n' \
			"$i" "${f//\//-}" "$i" "$i" | doveadm_ save -u "$TM_USER" -m "$f"
	done
done

# config NAME PORT TLS AUTH SECRET-FILE
config() {
	cat >"$tmp/conf/$1.yaml" <<YAML
state_dir: $run/state
accounts:
  t:
    remote:
      host: $TM_IMAP_HOST
      port: $2
      tls: $3
      ca_file: $TM_CA_FILE
      user: $TM_USER
      password_command: "cat $tmp/secret/$5"
      auth: [$4]
    local: {path: $run/Mail}
YAML
}
config plain "$TM_IMAPS_PORT" implicit plain pw
config login "$TM_IMAP_PORT" starttls login pw
config plain-clear "$TM_IMAP_PORT" none plain pw
config login-clear "$TM_IMAP_PORT" none login pw
config oauthbearer "$TM_IMAPS_PORT" implicit oauthbearer token
config xoauth2 "$TM_IMAPS_PORT" implicit xoauth2 token

n=0
# tm CONFIG WANT-STATUS ARGS...: one run with umask 000; its stdout and
# stderr (with the -v trace) are kept in $run/out for the scan.
tm() {
	local conf=$1 want=$2
	shift 2
	n=$((n + 1))
	case="$conf: $*"
	(umask 000; HOME=$run/home TMPDIR=$run/tmp XDG_STATE_HOME=$run/xdg-state \
		exec "$TIDEMAIL" -c "$tmp/conf/$conf.yaml" "$@") \
		>"$run/out/$n.out" 2>"$run/out/$n.err"
	local status=$?
	[ "$status" = "$want" ] ||
		fail "exit $status, expected $want: $(head -c 600 "$run/out/$n.err")"
}

tm plain 0 -v check
tm plain 0 -v sync
tm login 0 -v check
tm login-clear 0 -v check
tm plain-clear 0 -v check
# Local changes for the resync: a new message, a flag, a new folder.
printf 'Message-ID: <local@t>\r\nSubject: local\r\n\r\nx\r\n' \
	>"$run/Mail/INBOX/cur/local.1:2,S"
chmod 600 "$run/Mail/INBOX/cur/local.1:2,S"
first=$(find "$run/Mail/Work/cur" -type f | head -n 1)
[ -n "$first" ] && mv "$first" "${first%%:*}:2,F"
doveadm_ mailbox create -u "$TM_USER" Later
printf 'Message-ID: <later@t>\r\n\r\nx\r\n' | doveadm_ save -u "$TM_USER" -m Later
sleep 1.1 # past the Maildir timestamp guard
tm login 0 -v sync
tm plain-clear 0 -v sync
tm plain 0 -v status
tm oauthbearer 3 -v check
tm oauthbearer 3 -v sync
tm xoauth2 3 -v check

case="the runs did their work"
cat "$run"/out/*.err >"$tmp/all-traces"
grep -q ' C: T[0-9]* AUTHENTICATE PLAIN' "$tmp/all-traces" || fail "no AUTHENTICATE PLAIN in the traces"
grep -q ' C: T[0-9]* LOGIN ' "$tmp/all-traces" || fail "no LOGIN in the traces"
grep -q ' C: T[0-9]* APPEND ' "$tmp/all-traces" || fail "no APPEND in the traces"
[ -d "$run/Mail/Later" ] || fail "the folder Later was not synced"
msgs=$(find "$run/Mail" -type f \( -path '*/cur/*' -o -path '*/new/*' \) | wc -l)
[ "$msgs" = 11 ] ||
	fail "$msgs messages, expected 9 from the server, 1 local, 1 in Later"
[ -n "$(find "$run/state" -type f 2>/dev/null)" ] || fail "no state files"
doveadm_ search -u "$TM_USER" mailbox INBOX header Message-ID local@t | grep -q . ||
	fail "the local message was not uploaded"

case="no sentinel anywhere the runs wrote"
"$TM_SECRETS" scan "$pw" "$tok" -- "$run" >"$tmp/scan"
scan_status=$?
grep '^hit: ' "$tmp/scan"
[ "$scan_status" = 0 ] || fail "tm-secrets scan exit $scan_status"
scanned=$(sed -n 's/^files-scanned=\([0-9]*\) hits=\([0-9]*\)$/\1/p' "$tmp/scan")
hits=$(sed -n 's/^files-scanned=\([0-9]*\) hits=\([0-9]*\)$/\2/p' "$tmp/scan")
# The scan must be able to fail: a trace line with the base64 PLAIN
# blob, as a broken redaction would write it.
blob=$(printf '\0%s\0%s' "$TM_USER" "$pw" | base64 -w0)
mkdir -p "$tmp/probe"
printf 't: C: T1 AUTHENTICATE PLAIN %s\n' "$blob" >"$tmp/probe/trace"
"$TM_SECRETS" scan "$pw" -- "$tmp/probe" >/dev/null && fail "the scan misses a PLAIN blob"

case="modes under umask 000"
# out/ holds the test's own redirections; everything else is tidemail's.
"$TM_SECRETS" modes "$run/Mail" "$run/state" "$run/tmp" "$run/home" >"$tmp/modes"
modes_status=$?
grep '^over ' "$tmp/modes"
[ "$modes_status" = 0 ] || fail "tm-secrets modes exit $modes_status"
modes=$(tail -n 1 "$tmp/modes")
# And it must be able to fail: a file 0644, a directory 0755.
mkdir -m 755 "$tmp/probe/d"
(umask 022; : >"$tmp/probe/d/f")
[ "$("$TM_SECRETS" modes "$tmp/probe/d" | tail -n 1)" = "files=1 over-0600=1 dirs=1 over-0700=1" ] ||
	fail "tm-secrets modes misses wide modes"

echo "figures: secrets sentinel-hits=${hits:-?} files-scanned=${scanned:-?}; modes $modes"
if [ "$failures" != 0 ]; then
	echo "$failures failures"
	exit 1
fi
echo "all ok"
