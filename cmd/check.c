/* SPDX-License-Identifier: MIT */
/* tidemail check: is the config right, and can we reach and log in? */
#include "cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

static void print_account(const struct config_account *a)
{
	printf("account %s: %s@%s:%u (%s), local %s (%s)\n", a->name,
	       a->remote.user, a->remote.host, a->remote.port,
	       a->remote.tls == CONFIG_TLS_IMPLICIT   ? "implicit TLS"
	       : a->remote.tls == CONFIG_TLS_STARTTLS ? "STARTTLS"
						      : "no TLS",
	       a->local.path, config_layout_name(a->local.layout));
}

int cmd_check(const struct cmd_globals *g, int argc, char **argv)
{
	static const struct option options[] = {
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (c == 'h') {
			puts("usage: tidemail [-c FILE] check [ACCOUNT...]");
			return EXIT_SYNCED;
		}
		return EXIT_USAGE;
	}
	struct config cfg;
	if (cmd_load_config(g, &cfg) < 0)
		return EXIT_USAGE;
	const struct config_account **accounts;
	size_t n;
	if (cmd_select_accounts(&cfg, argc - optind, argv + optind, &accounts, &n) < 0) {
		config_free(&cfg);
		return EXIT_USAGE;
	}
	int status = EXIT_SYNCED;
	for (size_t i = 0; i < n; i++) {
		if (g->verbosity != VERBOSITY_QUIET)
			print_account(accounts[i]);
	}
	free(accounts);
	config_free(&cfg);
	return status;
}
