#!/bin/bash
# SPDX-License-Identifier: MIT
# contrib/completion/tidemail.bash: what each position completes to,
# account names from the config given with -c and from the default path.
set -u
. "$1" || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

# expect "WANTED COMPLETIONS" WORDS... (the last word is being completed)
expect() {
	local want=$1
	shift
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMPREPLY=()
	_tidemail
	local got="${COMPREPLY[*]}"
	if [[ $got == "$want" ]]; then
		echo "ok: [$*] -> $got"
	else
		printf 'FAIL: [%s]\n  got:  %s\n  want: %s\n' "$*" "$got" "$want"
		failures=$((failures + 1))
	fi
}

cat >"$tmp/c.yaml" <<'YAML'
state_dir: /tmp/s   # accounts: in a comment is no key
accounts:
  # a comment
  work:
    remote: {host: h, user: u, password_command: p}
    local:
      path: /m/w
  home-2.x:
    remote: {host: h, user: u, password_command: p}
    local: {path: /m/h}
other: ignored
YAML
mkdir -p "$tmp/xdg/tidemail"
printf 'accounts:\n    solo:\n        remote: {}\n' >"$tmp/xdg/tidemail/config.yaml"
mkdir -p "$tmp/.config/tidemail"
printf 'accounts:\n  dflt:\n    remote: {}\n' >"$tmp/.config/tidemail/config.yaml"

expect "check status sync watch" tidemail ""
expect "status sync" tidemail s
expect "--verbose --version" tidemail --v
expect "-c --config -v --verbose -q --quiet -h --help --version" tidemail -
expect "$tmp/c.yaml" tidemail -c "$tmp/c."
expect "status" tidemail -c "$tmp/c.yaml" -q st
expect "work home-2.x" tidemail -c "$tmp/c.yaml" status ""
expect "home-2.x" tidemail --config="$tmp/c.yaml" sync h
expect "work" tidemail -c "$tmp/c.yaml" sync --dry-run w
expect "--dry-run --pull --push --force --help" tidemail -c "$tmp/c.yaml" sync --
expect "--help" tidemail -c "$tmp/c.yaml" check --
expect "" tidemail -c "$tmp/none.yaml" status ""
XDG_CONFIG_HOME=$tmp/xdg expect "solo" tidemail check ""
HOME=$tmp XDG_CONFIG_HOME= expect "dflt" tidemail check ""
HOME=$tmp XDG_CONFIG_HOME=relative expect "dflt" tidemail check ""

[[ $(complete -p tidemail) == "complete -o default -F _tidemail tidemail" ]] ||
	{ echo "FAIL: not registered: $(complete -p tidemail 2>&1)"; failures=$((failures + 1)); }
[ "$failures" = 0 ] || { echo "$failures failed"; exit 1; }
echo "all passed"
