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
folders=(INBOX Work Work/Projects Lists/debian-devel Lists/notmuch Receipts)
for folder in "${folders[@]:1}"; do
	doveadm_ mailbox create -u "$TM_USER" "$folder"
done
# A few hundred plausible messages: senders, subjects and dates vary, some
# are threads, a few carry a small attachment.  Deterministic ($RANDOM is
# seeded), so every run of the demo shows the same mailbox.
RANDOM=42
senders=("Ada Lovelace <ada@example.org>" "Grace Hopper <grace@example.net>"
	"Linus T <linus@example.com>" "Debian Bugs <bugs@example.org>"
	"Build Bot <ci@example.com>" "Shop <orders@shop.example>")
topics=("meeting notes" "release plan" "patch review" "lunch on Friday"
	"server migration" "invoice" "quarterly report" "bug 4711" "travel"
	"design doc")
n=0
for folder in "${folders[@]}"; do
	count=$((30 + RANDOM % 40))
	for i in $(seq 1 "$count"); do
		n=$((n + 1))
		from=${senders[RANDOM % ${#senders[@]}]}
		topic=${topics[RANDOM % ${#topics[@]}]}
		day=$((1 + RANDOM % 28)) month=$((1 + RANDOM % 12)) year=$((2019 + RANDOM % 7))
		date=$(date -u -d "$year-$month-$day $((RANDOM % 24)):$((RANDOM % 60))" '+%a, %d %b %Y %H:%M:%S +0000')
		{
			printf 'From: %s\r\nTo: %s@example.com\r\nSubject: %s%s\r\n' \
				"$from" "$TM_USER" "$([ $((RANDOM % 3)) = 0 ] && echo 'Re: ')" "$topic"
			printf 'Date: %s\r\nMessage-ID: <demo-%d@example.org>\r\nMIME-Version: 1.0\r\n' "$date" "$n"
			if [ $((RANDOM % 12)) = 0 ]; then
				printf 'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' "$n" "$n"
				printf 'Content-Type: text/plain\r\n\r\nThe %s, attached.\r\n--b%d\r\n' "$topic" "$n"
				printf 'Content-Type: application/octet-stream; name="notes-%d.bin"\r\n' "$n"
				printf 'Content-Transfer-Encoding: base64\r\n\r\n'
				head -c $((2000 + RANDOM % 20000)) /dev/urandom | base64 | sed 's/$/\r/'
				printf -- '--b%d--\r\n' "$n"
			else
				printf 'Content-Type: text/plain; charset=utf-8\r\n\r\n'
				for p in $(seq 1 $((2 + RANDOM % 8))); do
					printf 'Paragraph %d about the %s. Nothing here is real; it only has\r\nto look like mail for the demo.\r\n\r\n' "$p" "$topic"
				done
			fi
		} | doveadm_ save -u "$TM_USER" -m "$folder"
	done
done
echo "   $n messages in ${#folders[@]} folders"

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
rm "$demo/Mail/Lists/notmuch/new/$(ls "$demo/Mail/Lists/notmuch/new" | head -1)"
# On the server: a new message arrives, one is flagged, one is filed
# into Receipts by another client.
printf 'From: boss@example.org\r\nSubject: new on the server\r\nMessage-ID: <server-new@example.org>\r\n\r\nPlease read.\r\n' |
	doveadm_ save -u "$TM_USER" -m INBOX
doveadm_ flags add -u "$TM_USER" '\Flagged' mailbox Work/Projects uid 1
doveadm_ move -u "$TM_USER" Receipts mailbox INBOX uid 2

echo "== tidemail sync --dry-run (the plan)"
tidemail sync --dry-run

echo "== tidemail sync"
tidemail -v sync 2>/dev/null | grep -v '^demo: [CS]:' || true

echo "== tidemail status"
tidemail status

echo "== the server now (doveadm)"
for folder in INBOX Work Lists/notmuch Receipts; do
	printf '   %-14s %s messages\n' "$folder" \
		"$(doveadm_ -f flow mailbox status -u "$TM_USER" messages "$folder" | sed 's/.*messages=//')"
done
echo "== a third run has nothing to do"
tidemail -v sync 2>/dev/null | tail -1
echo "== done (the server stops and $demo is removed)"
