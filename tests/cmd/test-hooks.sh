#!/bin/bash
# SPDX-License-Identifier: MIT
# hooks.post_sync, the progress line on a terminal, and notmuch end to end
# (Debian's notmuch), against a private Dovecot:
#   - the hook runs after a run that changed the local side, with the
#     account and counts in its environment and a file listing the added,
#     removed and renamed paths; not after a run that changed nothing, nor
#     after --dry-run; a failing hook is reported and gives exit 1;
#   - under a pseudo-terminal, a progress line redraws in place;
#   - notmuch: sync, `notmuch new` from the hook, a file moved between
#     folders as a notmuch-based tagger does (a rename keeping the unique
#     part) is moved on the server (checked with doveadm), with no body
#     transferred.
set -u
TIDEMAIL=$1
TM_DOVECOT=$2
tmp=$(mktemp -d /tmp/tm-hooks.XXXXXX)
chmod 755 "$tmp"
trap '"$TM_DOVECOT" stop "$tmp/server" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
eval "$("$TM_DOVECOT" start "$tmp/server")" || { echo "FAIL: no server"; exit 1; }
doveadm_() { doveadm -c "$TM_DOVECOT_CONF" "$@"; }
failures=0
fail() { echo "FAIL ($case): $*"; failures=$((failures + 1)); }
ok() { echo "ok: $case"; }

config() { # HOOK
	cat >"$tmp/c.yaml" <<YAML
state_dir: $tmp/state
accounts:
  t:
    remote: {host: $TM_IMAP_HOST, port: $TM_IMAPS_PORT, ca_file: $TM_CA_FILE, user: $TM_USER, password: "$TM_PASSWORD"}
    local: {path: $tmp/Mail}
    folders: {include: [INBOX, Archive]}
    hooks: {post_sync: '$1'}
YAML
	chmod 600 "$tmp/c.yaml"
}
run() { "$TIDEMAIL" -c "$tmp/c.yaml" "$@" >"$tmp/out" 2>"$tmp/err"; echo $?; }
save() { printf 'From: a@example.org\r\nSubject: %s\r\nMessage-ID: <%s@t>\r\n\r\nHello %s.\r\n' "$1" "$1" "$1" | doveadm_ save -u "$TM_USER" -m "${2:-INBOX}"; }

doveadm_ mailbox create -u "$TM_USER" Archive
for i in 1 2 3; do save "m$i"; done
config 'cp "$TIDEMAIL_CHANGES" '"$tmp"'/changes; env | grep ^TIDEMAIL_ | sort >'"$tmp"'/env; echo ran >>'"$tmp"'/runs'

case="the hook after a first sync"
[ "$(run sync)" = 0 ] || fail "exit $(cat "$tmp/err")"
[ "$(grep -c . "$tmp/runs" 2>/dev/null)" = 1 ] || fail "the hook ran $(grep -c . "$tmp/runs" 2>/dev/null) times"
[ "$(grep -c '^A	'"$tmp"'/Mail/INBOX/new/' "$tmp/changes")" = 3 ] || fail "changes: $(cat "$tmp/changes")"
grep -qx 'TIDEMAIL_ACCOUNT=t' "$tmp/env" || fail "env: $(cat "$tmp/env")"
grep -qx 'TIDEMAIL_DOWNLOADED=3' "$tmp/env" || fail "env: $(cat "$tmp/env")"
grep -qx "TIDEMAIL_LOCAL_ROOT=$tmp/Mail" "$tmp/env" || fail "env: $(cat "$tmp/env")"
[ -e "$(sed -n 's/^TIDEMAIL_CHANGES=//p' "$tmp/env")" ] && fail "the changes file was left behind"
ok

case="no hook when nothing changed locally, nor for --dry-run"
[ "$(run sync)" = 0 ] || fail "exit"
save m4
[ "$(run sync --dry-run)" = 0 ] || fail "exit"
[ "$(grep -c . "$tmp/runs")" = 1 ] || fail "the hook ran"
ok

case="renamed and removed paths"
doveadm_ flags add -u "$TM_USER" '\Seen' mailbox INBOX uid 1
doveadm_ expunge -u "$TM_USER" mailbox INBOX uid 2
[ "$(run sync)" = 0 ] || fail "exit $(cat "$tmp/err")"
grep -q "^R	$tmp/Mail/INBOX/new/[^	]*	$tmp/Mail/INBOX/cur/[^	]*:2,S$" "$tmp/changes" || fail "no rename: $(cat "$tmp/changes")"
grep -q "^D	$tmp/Mail/INBOX/" "$tmp/changes" || fail "no removal: $(cat "$tmp/changes")"
grep -q "^A	$tmp/Mail/INBOX/new/" "$tmp/changes" || fail "no addition (m4): $(cat "$tmp/changes")"
ok

case="a failing hook: exit 1 and one line"
config 'exit 7'
save m5
[ "$(run sync)" = 1 ] || fail "exit"
grep -qx 'tidemail: account t: post_sync hook failed (exit status 7): exit 7' "$tmp/err" || fail "$(cat "$tmp/err")"
ok

case="a progress line on a terminal"
config 'true'
for i in $(seq 10 60); do save "p$i"; done
script -qfec "$TIDEMAIL -c $tmp/c.yaml sync" /dev/null >"$tmp/tty" 2>&1 || fail "exit"
grep -q $'\r\033\[Kt/INBOX: [0-9]*/51 down, 0/0 up' "$tmp/tty" || fail "no progress line: $(od -c "$tmp/tty" | head -5)"
grep -q '^t: 51 down' <(tr '\r' '\n' <"$tmp/tty" | sed 's/\x1b\[K//g') || fail "no summary"
ok

if command -v notmuch >/dev/null; then
	case="notmuch: the hook indexes, a tagger's move is a server move"
	export NOTMUCH_CONFIG=$tmp/notmuch-config
	printf '[database]\npath=%s/Mail\n[user]\nname=T\nprimary_email=t@example.org\n[new]\ntags=new\n' "$tmp" >"$NOTMUCH_CONFIG"
	notmuch new --quiet >/dev/null 2>&1 || fail "notmuch new"
	config 'notmuch new --quiet'
	save tagme
	[ "$(run -v sync)" = 0 ] || fail "exit $(cat "$tmp/err")"
	[ "$(notmuch count id:tagme@t)" = 1 ] || fail "the hook did not index the new message"
	# A tagger moves the file into Archive keeping its name.
	file=$(notmuch search --output=files id:tagme@t)
	sub=$(basename "$(dirname "$file")")
	mv "$file" "$tmp/Mail/Archive/$sub/$(basename "$file")"
	notmuch new --quiet >/dev/null 2>&1
	[ "$(run -v sync)" = 0 ] || fail "exit $(cat "$tmp/err")"
	grep -q '^t: 0 down (0 bytes), 0 up (0 bytes)' "$tmp/out" || fail "bodies moved: $(tail -1 "$tmp/out")"
	[ "$(doveadm_ search -u "$TM_USER" mailbox Archive header Message-ID tagme@t | wc -l)" = 1 ] || fail "not in Archive on the server"
	[ "$(doveadm_ search -u "$TM_USER" mailbox INBOX header Message-ID tagme@t | wc -l)" = 0 ] || fail "still in INBOX on the server"
	[ "$(notmuch count id:tagme@t)" = 1 ] || fail "notmuch lost it"
	ok
else
	echo "notmuch is not installed (Debian package notmuch): its part is skipped"
fi

echo "$failures failed"
[ "$failures" -eq 0 ]
