#!/bin/bash
# SPDX-License-Identifier: MIT
# `tidemail check` against a private Dovecot (tests/harness/tm-dovecot):
# implicit TLS and STARTTLS work; an untrusted certificate, a host name the
# certificate does not hold, a wrong key pin, a wrong password, a failing
# password_command and a closed port each give exit 3 and one clear line;
# the -v trace never shows the password.
set -u
TIDEMAIL=$1
TM_DOVECOT=$2
tmp=$(mktemp -d /tmp/tm-check.XXXXXX)
chmod 755 "$tmp"
trap '"$TM_DOVECOT" stop "$tmp/server" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
eval "$("$TM_DOVECOT" start "$tmp/server")" || { echo "FAIL: no server"; exit 1; }
printf '%s\n' "$TM_PASSWORD" >"$tmp/pw"
failures=0

# config HOST PORT TLS EXTRA-KEY-LINE PASSWORD-COMMAND
config() {
	cat >"$tmp/c.yaml" <<YAML
accounts:
  t:
    remote:
      host: $1
      port: $2
      tls: $3
      $4
      user: $TM_USER
      password_command: "$5"
    local: {path: $tmp/Mail}
YAML
}

# expect STATUS STDERR-PATTERN (grep -E, empty: stderr must be empty) [ARGS...]
expect() {
	want_status=$1 want_err=$2
	shift 2
	"$TIDEMAIL" -c "$tmp/c.yaml" "$@" check >"$tmp/out" 2>"$tmp/err"
	status=$?
	if [ "$status" != "$want_status" ]; then
		echo "FAIL ($case): exit $status, expected $want_status; stderr: $(cat "$tmp/err")"
		failures=$((failures + 1))
	elif [ -z "$want_err" ] && [ -s "$tmp/err" ] && [ "$*" != "-v" ]; then
		echo "FAIL ($case): unexpected stderr: $(cat "$tmp/err")"
		failures=$((failures + 1))
	elif [ -n "$want_err" ] && ! grep -qxE "$want_err" "$tmp/err"; then
		printf 'FAIL (%s):\n  stderr:   %s\n  expected: %s\n' "$case" "$(cat "$tmp/err")" "$want_err"
		failures=$((failures + 1))
	else
		echo "ok: $case"
	fi
}

must_print() {
	if ! grep -qF -- "$1" "$tmp/out"; then
		echo "FAIL ($case): stdout lacks '$1':"; cat "$tmp/out"
		failures=$((failures + 1))
	fi
}

case="implicit TLS"
config "$TM_IMAP_HOST" "$TM_IMAPS_PORT" implicit "ca_file: $TM_CA_FILE" "cat $tmp/pw"
expect 0 ""
must_print "  logged in as alice, TLS"
must_print "    INBOX"
must_print " IMAP4rev1 "

case="STARTTLS"
config "$TM_IMAP_HOST" "$TM_IMAP_PORT" starttls "ca_file: $TM_CA_FILE" "cat $tmp/pw"
expect 0 ""
must_print "  logged in as alice, TLS"

case="trace redacts the password"
expect 0 "" -v
if grep -qF "$TM_PASSWORD" "$tmp/out" "$tmp/err"; then
	echo "FAIL ($case): the password appears in the output"
	failures=$((failures + 1))
fi
grep -q '^t: C: T[0-9]* AUTHENTICATE PLAIN <redacted>$' "$tmp/err" ||
	{ echo "FAIL ($case): no redacted AUTHENTICATE line"; failures=$((failures + 1)); }

case="untrusted certificate"
config "$TM_IMAP_HOST" "$TM_IMAPS_PORT" implicit "" "cat $tmp/pw"
expect 3 "tidemail: account t: 127\.0\.0\.1:$TM_IMAPS_PORT: certificate for 127\.0\.0\.1 not accepted: .*issuer is unknown.*"

case="wrong host name"
config 127.0.0.2 "$TM_IMAPS_PORT" implicit "ca_file: $TM_CA_FILE" "cat $tmp/pw"
expect 3 "tidemail: account t: 127\.0\.0\.2:$TM_IMAPS_PORT: certificate for 127\.0\.0\.2 not accepted: .*name in the certificate does not match.*"

case="STARTTLS with an untrusted certificate"
config "$TM_IMAP_HOST" "$TM_IMAP_PORT" starttls "" "cat $tmp/pw"
expect 3 "tidemail: account t: .*certificate for 127\.0\.0\.1 not accepted: .*issuer is unknown.*"

pin=$(certtool -i --infile "$TM_DOVECOT_DIR/tls/server.pem" | sed -n 's/.*pin-sha256:\([A-Za-z0-9+/=]*\).*/\1/p' | head -1)
case="matching pin"
config "$TM_IMAP_HOST" "$TM_IMAPS_PORT" implicit "pin_sha256: \"$pin\"
      ca_file: $TM_CA_FILE" "cat $tmp/pw"
expect 0 ""

case="wrong pin"
config "$TM_IMAP_HOST" "$TM_IMAPS_PORT" implicit "pin_sha256: \"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\"
      ca_file: $TM_CA_FILE" "cat $tmp/pw"
expect 3 "tidemail: account t: .*pin.*"

case="wrong password"
config "$TM_IMAP_HOST" "$TM_IMAPS_PORT" implicit "ca_file: $TM_CA_FILE" "echo not-the-password"
expect 3 "tidemail: account t: login as alice \(PLAIN\): server said NO: .*"

case="failing password_command"
config "$TM_IMAP_HOST" "$TM_IMAPS_PORT" implicit "ca_file: $TM_CA_FILE" "exit 4"
expect 3 "tidemail: account t: password_command exited with status 4"

case="closed port"
config "$TM_IMAP_HOST" 1 implicit "ca_file: $TM_CA_FILE" "cat $tmp/pw"
expect 3 "tidemail: account t: cannot connect to 127\.0\.0\.1 port 1: Connection refused"

echo "$failures failed"
[ "$failures" -eq 0 ]
