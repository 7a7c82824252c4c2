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
	"  status [ACCOUNT]      (not in this version yet)\n"
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

void cmd_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("tidemail: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

int cmd_load_config(const struct cmd_globals *g, struct config *cfg)
{
	struct config_env env;
	config_env_from_process(&env);
	char *path = g->config_path ? xstrdup(g->config_path)
				    : config_default_path(&env);
	if (!path) {
		cmd_error("no config file given and $HOME is not set; use -c FILE");
		return -1;
	}
	struct error err = ERROR_INIT;
	int r = config_load(cfg, path, &env, &err);
	if (r < 0) {
		cmd_error("%s", err.msg);
		error_clear(&err);
	}
	free(path);
	return r;
}

int cmd_select_accounts(const struct config *cfg, int argc, char **argv,
			const struct config_account ***accounts_r, size_t *n_r)
{
	size_t n = argc > 0 ? (size_t)argc : cfg->n_accounts;
	const struct config_account **v = xcalloc(n, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		if (argc == 0) {
			v[i] = &cfg->accounts[i];
			continue;
		}
		v[i] = config_find_account(cfg, argv[i]);
		if (!v[i]) {
			cmd_error("%s: no account '%s' in the config", cfg->path, argv[i]);
			free(v);
			return -1;
		}
	}
	*accounts_r = v;
	*n_r = n;
	return 0;
}

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
	if (!strcmp(command, "status")) {
		cmd_error("%s: not available in this version of tidemail yet", command);
		return EXIT_USAGE;
	}
	cmd_error("unknown command '%s' (expected check, sync or status; see --help)",
		  command);
	return EXIT_USAGE;

conflict:
	cmd_error("-v and -q cannot be used together");
	return EXIT_USAGE;
}
