#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The quick-start demo: installs what is missing, builds tidemail, starts a
# throwaway Dovecot on 127.0.0.1 with a few folders of mail, points a
# tidemail config at it, checks it, syncs into a local Maildir, changes
# something on each side, syncs again, and stops the server.  Nothing
# outside a temporary directory is touched, and no traffic leaves the
# machine.
set -euo pipefail
cd "$(dirname "$0")"
. tools/deps.sh
tidemail_install_deps

[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null

demo=$(mktemp -d /tmp/tidemail-demo.XXXXXX)
# As root, Dovecot's mail user must be able to reach the server directory.
chmod 755 "$demo"
server=$demo/server
cleanup() {
	build/tests/harness/tm-dovecot stop "$server" >/dev/null 2>&1 || true
	rm -rf "$demo"
}
trap cleanup EXIT

echo "== starting a private Dovecot in $server"
eval "$(build/tests/harness/tm-dovecot start "$server")"

echo "== filling it with mail"
doveadm_() { doveadm -c "$TM_DOVECOT_CONF" "$@"; }
for folder in Work Work/Projects Lists; do
	doveadm_ mailbox create -u "$TM_USER" "$folder"
done
n=0
for folder in INBOX Work Work/Projects Lists; do
	for i in $(seq 1 12); do
		n=$((n + 1))
		printf 'From: Demo Sender <sender%d@example.org>\r\nTo: %s@example.com\r\nSubject: %s message %d\r\nDate: Mon, 2 Nov 2026 10:%02d:00 +0000\r\nMessage-ID: <demo-%d@example.org>\r\n\r\nHello from the tidemail demo, message %d in %s.\r\n' \
			"$i" "$TM_USER" "$folder" "$i" "$i" "$n" "$i" "$folder" |
			doveadm_ save -u "$TM_USER" -m "$folder"
	done
done
echo "   $n messages in 4 folders"

cat >"$demo/config.yaml" <<YAML
state_dir: $demo/state
accounts:
  demo:
    remote:
      host: $TM_IMAP_HOST
      port: $TM_IMAPS_PORT
      tls: implicit
      ca_file: $TM_CA_FILE
      user: $TM_USER
      password: "$TM_PASSWORD"
    local:
      path: $demo/Mail
YAML
chmod 600 "$demo/config.yaml"

tidemail() { build/cmd/tidemail -c "$demo/config.yaml" "$@"; }

echo "== tidemail check"
tidemail check

echo "== tidemail sync (first run: everything comes down)"
tidemail -v sync 2>/dev/null | grep -v '^demo: [CS]:' || true
echo "   $(find "$demo/Mail" -type f -path '*/cur/*' -o -type f -path '*/new/*' | wc -l) files in $demo/Mail"

echo "== a change on each side"
# Locally: mark one message read (a rename, as a mail reader does), write a
# new message into Work, delete one from Lists.
f=$(ls "$demo/Mail/INBOX/new" | head -1)
mv "$demo/Mail/INBOX/new/$f" "$demo/Mail/INBOX/cur/$f:2,S"
printf 'From: me@example.com\nTo: team@example.org\nSubject: written offline\nMessage-ID: <offline-1@example.com>\n\nWritten on the train.\n' \
	>"$demo/Mail/Work/cur/$(date +%s).offline.demo:2,S"
rm "$demo/Mail/Lists/new/$(ls "$demo/Mail/Lists/new" | head -1)"
# On the server: a new message arrives and one is flagged.
printf 'From: boss@example.org\r\nSubject: new on the server\r\nMessage-ID: <server-new@example.org>\r\n\r\nPlease read.\r\n' |
	doveadm_ save -u "$TM_USER" -m INBOX
doveadm_ flags add -u "$TM_USER" '\Flagged' mailbox Work/Projects uid 1

echo "== tidemail sync --dry-run (the plan)"
tidemail sync --dry-run

echo "== tidemail sync"
tidemail -v sync 2>/dev/null | grep -v '^demo: [CS]:' || true

echo "== the server now (doveadm)"
for folder in INBOX Work Lists; do
	printf '   %-8s %s messages\n' "$folder" \
		"$(doveadm_ -f flow mailbox status -u "$TM_USER" messages "$folder" | sed 's/.*messages=//')"
done
echo "== a third run has nothing to do"
tidemail -v sync 2>/dev/null | tail -1
echo "== done (the server stops and $demo is removed)"
