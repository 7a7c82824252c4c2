#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Builds the libFuzzer targets with clang (AddressSanitizer, UBSan and
# LeakSanitizer on) and runs each for SECONDS seconds on its corpus.
# Exits non-zero when a build fails or a run finds a crash, a leak, a
# timeout or any sanitizer report; the input that did it is left in
# $OUT/artifacts/ and the log in $OUT/<target>.log.
#
# The targets (fuzz-<name>.c, corpus-<name>/, <name>.dict):
#   imap-parser    the response parser, fed whole and in pieces
#   imap-session   the whole client (login, list, select, fetch, store,
#                  append, search, logout) against a fake server over a
#                  socketpair that plays the input back
#   config         the config loader
#   maildir-names  Maildir file names, folder-name mapping, modified UTF-7
#
#   bash tests/fuzz/run.sh 60          # what CI runs: 60 s per target,
#                                      # about 4.5 minutes in all
#   bash tests/fuzz/run.sh 0           # build and replay the corpus only
#   bash tests/fuzz/run.sh 60 imap     # only the targets named *imap*
#
# Needs clang with its runtimes (Debian: clang libclang-rt-14-dev; llvm-14
# for llvm-symbolizer, so that stack traces show lines) and the -dev
# packages the project builds with.  Not part of meson: libFuzzer
# needs clang, and the project builds with whatever cc is.  New inputs
# found during a run go to $OUT/work-<target>/, never into the committed
# corpus; add a reproducer to tests/fuzz/corpus-*/ by hand once its bug
# is fixed.
set -euo pipefail

# Everything is in main, so bash has read the whole file before running
# any of it (bash reads a script as it goes: one edited while it runs,
# say by a git checkout, would otherwise misbehave).
main() {

	seconds=${1:?usage: run.sh SECONDS [TARGET-FILTER]}
	filter=${2:-}
	case $seconds in
	*[!0-9]* | '') echo "run.sh: SECONDS must be a number" >&2; exit 2 ;;
	esac

	here=$(cd "$(dirname "$0")" && pwd)
	top=$(cd "$here/../.." && pwd)
	out=${OUT:-$top/build-fuzz/libfuzzer}
	cc=${CLANG:-clang}

	if ! command -v "$cc" >/dev/null; then
		echo "run.sh: $cc not found (apt-get install clang)" >&2
		exit 2
	fi

	# The same warnings as the meson build (warning_level=3, werror).
	cflags=(-std=gnu11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer
		-Wall -Wextra -Wpedantic -Werror -Wformat=2 -Wshadow
		-Wstrict-prototypes -Wmissing-prototypes -Wvla -Wno-unused-parameter
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
		-I"$top" -I"$top/util" -I"$out")
	# shellcheck disable=SC2207
	deps=($(pkg-config --cflags --libs gnutls yaml-0.1 zlib))

	util_src=(util/alloc.c util/buf.c util/error.c util/fs.c)
	config_src=(config/load.c config/scalars.c config/values.c)
	# The parser target needs only the parser; the session target the
	# whole client, with socket() and connect() wrapped so that the
	# "server" is a socketpair holding the fuzz input.
	imap_parser_src=(imap/imap-parser.c imap/imap-resp.c imap/imap-trace.c
		imap/imap-uidset.c)
	imap_src=(imap/imap-parser.c imap/imap-resp.c imap/imap-conn.c
		imap/imap-tls.c imap/imap-client.c imap/imap-login.c
		imap/imap-trace.c imap/imap-utf7.c imap/imap-cmds.c
		imap/imap-uidset.c imap/imap-mailbox.c imap/imap-msgs.c)
	store_names_src=(store/maildir-common.c store/maildir-name.c
		store/maildir-tree.c)

	# name, then the sources, include directories and link flags after
	# the harness; corpus-<name>/ and <name>.dict are its inputs.
	targets=(imap-parser imap-session config maildir-names)
	sources_imap_parser=("${util_src[@]}" "${imap_parser_src[@]}" tests/imap/imap-dump.c)
	includes_imap_parser=(-I"$top/imap" -I"$top/tests/imap")
	sources_imap_session=("${util_src[@]}" "${imap_src[@]}" tests/secrets/secret-forms.c)
	includes_imap_session=(-I"$top/imap" -I"$top/tests/secrets" -Wl,--wrap=socket
		-Wl,--wrap=connect -Wl,--wrap=poll)
	sources_config=("${util_src[@]}" "${config_src[@]}")
	includes_config=(-I"$top/config")
	sources_maildir_names=("${util_src[@]}" "${store_names_src[@]}" imap/imap-utf7.c)
	includes_maildir_names=(-I"$top/store" -I"$top/imap")

	mkdir -p "$out/artifacts"
	# What meson's configure_file() makes for imap-mailbox.c (ID command).
	version=$(sed -n "s/^  version : '\\(.*\\)',$/\\1/p" "$top/meson.build")
	printf '#define TIDEMAIL_VERSION "%s"\n' "${version:-0}" \
		>"$out/tidemail-version.h"
	status=0
	for t in "${targets[@]}"; do
		[[ -n $filter && $t != *"$filter"* ]] && continue
		var=${t//-/_}
		src_var="sources_${var}[@]"
		inc_var="includes_${var}[@]"
		srcs=()
		for s in "${!src_var}"; do
			srcs+=("$top/$s")
		done
		bin=$out/fuzz-$t
		echo "== building fuzz-$t"
		if ! "$cc" "${cflags[@]}" "${!inc_var}" -o "$bin" \
			"$here/fuzz-$t.c" "${srcs[@]}" "${deps[@]}"; then
			echo "!! building fuzz-$t failed (libFuzzer and the" \
				"sanitizer runtimes come with libclang-rt-14-dev)" >&2
			return 1
		fi

		corpus=$here/corpus-$t
		work=$out/work-$t
		log=$out/$t.log
		mkdir -p "$work"
		dict=()
		[[ -f $here/$t.dict ]] && dict=(-dict="$here/$t.dict")
		echo "== running fuzz-$t for ${seconds}s on $corpus (log: $log)"
		# The first directory collects new inputs; the committed corpus
		# after it is only read.  -runs=0 with no time replays the corpus.
		run=(-max_total_time="$seconds")
		[[ $seconds == 0 ]] && run=(-runs=0)
		rc=0
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:${ASAN_OPTIONS:-} \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-} \
			"$bin" "${run[@]}" -timeout=10 -rss_limit_mb=2048 \
			-max_len=8192 -print_final_stats=1 "${dict[@]}" \
			-artifact_prefix="$out/artifacts/$t-" \
			"$work" "$corpus" >"$log" 2>&1 || rc=$?
		# A sanitizer report that did not stop the run is a failure too.
		if ((rc != 0)) || grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:|==ERROR: libFuzzer' "$log"; then
			echo "!! fuzz-$t failed (exit $rc); the end of $log:" >&2
			tail -n 60 "$log" >&2
			status=1
		else
			grep -E '^(stat::number_of_executed_units|Done )' "$log" || true
			echo "== fuzz-$t: no findings"
		fi
	done
	return $status
}

# One line, so that exit is read before main runs.
main "$@"; exit
