#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The quick-start demo: installs what is missing, builds tidemail, starts a
# throwaway Dovecot on 127.0.0.1 with a few folders of mail, points a
# tidemail config at it and runs `tidemail check` against it, then stops the
# server.  Nothing outside a temporary directory is touched, and no traffic
# leaves the machine.
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

echo "== tidemail check"
build/cmd/tidemail -c "$demo/config.yaml" check
echo "== done (the server stops and $demo is removed)"
