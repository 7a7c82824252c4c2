/* SPDX-License-Identifier: MIT */
#include "cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tidemail-version.h"

static const char usage_text[] =
	"usage: tidemail [-c FILE] [-v | -q] COMMAND [ARGS]\n"
	"\n"
	"Keeps IMAP accounts and local Maildir trees in step, both ways.\n"
	"\n"
	"commands:\n"
	"  check  [ACCOUNT...]   validate the config, connect, log in, list\n"
	"                        capabilities and folders\n"
	"  sync   [ACCOUNT[:FOLDER]...] [--dry-run] [--pull | --push] [--force]\n"
	"                        sync both ways (--dry-run: print the plan only)\n"
	"  status [ACCOUNT...]   what the state says: folders, counts, last sync,\n"
	"                        pending local changes (no network)\n"
	"  watch  [ACCOUNT...] [--interval DURATION]\n"
	"                        stay running; sync whenever either side changes\n"
	"                        (and every 15 minutes)\n"
	"\n"
	"options:\n"
	"  -c, --config FILE     config file (default\n"
	"                        $XDG_CONFIG_HOME/tidemail/config.yaml)\n"
	"  -v, --verbose         trace the protocol (passwords redacted)\n"
	"  -q, --quiet           print nothing but errors\n"
	"  -h, --help            show this help\n"
	"      --version         show the version\n"
	"\n"
	"exit status: 0 done, 1 some folder failed, 2 usage or config error,\n"
	"3 could not connect or log in, 75 the account is locked by another run.\n"
	"The config format is described in tidemail-config(5) and README.md.\n";

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{"config", required_argument, NULL, 'c'},
		{"verbose", no_argument, NULL, 'v'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct cmd_globals g = {.tty = isatty(STDOUT_FILENO)};
	int c;
	/* '+': stop at the command name; what follows is the command's. */
	while ((c = getopt_long(argc, argv, "+c:vqh", options, NULL)) != -1) {
		switch (c) {
		case 'c':
			g.config_path = optarg;
			break;
		case 'v':
			if (g.verbosity == VERBOSITY_QUIET)
				goto conflict;
			g.verbosity = VERBOSITY_TRACE;
			break;
		case 'q':
			if (g.verbosity == VERBOSITY_TRACE)
				goto conflict;
			g.verbosity = VERBOSITY_QUIET;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_SYNCED;
		case 'V':
			printf("tidemail %s\n", TIDEMAIL_VERSION);
			return EXIT_SYNCED;
		default:
			fputs(usage_text, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	const char *command = argv[optind];
	int cargc = argc - optind;
	char **cargv = argv + optind;
	if (!strcmp(command, "check"))
		return cmd_check(&g, cargc, cargv);
	if (!strcmp(command, "sync"))
		return cmd_sync(&g, cargc, cargv);
	if (!strcmp(command, "status"))
		return cmd_status(&g, cargc, cargv);
	if (!strcmp(command, "watch"))
		return cmd_watch(&g, cargc, cargv);
	cmd_error("unknown command '%s' (expected check, status, sync or watch; see --help)",
		  command);
	return EXIT_USAGE;

conflict:
	cmd_error("-v and -q cannot be used together");
	return EXIT_USAGE;
}
