# SPDX-License-Identifier: MIT
# Sourced by test.sh, demo.sh and .ci/run: makes sure the Debian packages
# tidemail needs to build and test are installed, installing the missing
# ones with apt-get when we are root (or can sudo).

TIDEMAIL_PACKAGES="gcc meson ninja-build pkg-config libgnutls28-dev
libsqlite3-dev libyaml-dev libcmocka-dev zlib1g-dev dovecot-imapd gnutls-bin
sqlite3 man-db isync notmuch
ca-certificates"

tidemail_install_deps() {
	missing=""
	for p in $TIDEMAIL_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "Installing missing Debian packages:$missing"
	if [ "$(id -u)" -eq 0 ]; then
		sudo=""
	elif command -v sudo >/dev/null; then
		sudo="sudo"
	else
		echo "Not root and no sudo: please install:$missing" >&2
		return 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	# A package's own service (the system Dovecot) is not wanted; the tests
	# start private instances.  policy-rc.d keeps apt from starting it where
	# the machine allows that.
	$sudo apt-get update -qq &&
		$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
}
