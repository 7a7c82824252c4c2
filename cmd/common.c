/* SPDX-License-Identifier: MIT */
/* What every command shares: error lines, loading the config, picking
 * accounts.  Kept out of main.c so that tests can link the commands. */
#include "cmd.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void cmd_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	/* One line, whatever a server put in a folder name or a message:
	 * control characters (CR, LF, ESC...) are shown, not obeyed. */
	fputs("tidemail: ", stderr);
	for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			fprintf(stderr, "\\x%02x", *p);
		else
			fputc(*p, stderr);
	fputc('\n', stderr);
	free(msg);
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

int cmd_accounts_from_args(const struct cmd_globals *g, int argc, char **argv,
			   const char *usage, struct config *cfg,
			   const struct config_account ***accounts_r, size_t *n_r)
{
	static const struct option options[] = {
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	optind = 1;
	opterr = 0; /* getopt's own message would name "status", not tidemail */
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (c != 'h') {
			/* optopt names a short option; a long one is the
			 * argument just passed. */
			char *opt = optopt ? xasprintf("-%c", optopt)
					   : xstrdup(argv[optind - 1]);
			cmd_error("%s: unknown option '%s' (see tidemail %s --help)", argv[0],
				  opt, argv[0]);
			free(opt);
			return -1;
		}
		puts(usage);
		return 1;
	}
	if (cmd_load_config(g, cfg) < 0)
		return -1;
	if (cmd_select_accounts(cfg, argc - optind, argv + optind, accounts_r, n_r) < 0) {
		config_free(cfg);
		return -1;
	}
	return 0;
}
