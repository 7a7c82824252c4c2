/* SPDX-License-Identifier: MIT */
/* tidemail check: is the config right, and can we reach and log in? */
#include "cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "account.h"
#include "imap-cmds.h"

static void print_account(const struct config_account *a)
{
	printf("account %s: %s@%s:%u (%s), local %s (%s)\n", a->name,
	       a->remote.user, a->remote.host, a->remote.port,
	       a->remote.tls == CONFIG_TLS_IMPLICIT   ? "implicit TLS"
	       : a->remote.tls == CONFIG_TLS_STARTTLS ? "STARTTLS"
						      : "no TLS",
	       a->local.path, config_layout_name(a->local.layout));
}

static void trace_line(void *ctx, const char *line)
{
	fprintf(stderr, "%s: %s\n", (const char *)ctx, line);
}

/* Connects and logs in; prints what the server offers.  Returns an exit
 * status. */
static int check_account(const struct cmd_globals *g,
			 const struct config_account *a)
{
	struct error err = ERROR_INIT;
	char *secret = NULL;
	if (account_secret(a, &secret, &err) < 0) {
		cmd_error("%s", err.msg);
		error_clear(&err);
		return EXIT_CONNECT;
	}
	enum imap_auth auth[CONFIG_AUTH_COUNT_];
	struct imap_options o;
	account_imap_options(a, secret, auth, &o);
	if (g->verbosity == VERBOSITY_TRACE) {
		o.trace = trace_line;
		o.trace_ctx = a->name;
	}
	struct imap_check_result res;
	int r = imap_check(&o, &res, &err);
	account_secret_free(secret);
	if (r < 0) {
		cmd_error("account %s: %s", a->name, err.msg);
		error_clear(&err);
		return EXIT_CONNECT;
	}
	if (g->verbosity != VERBOSITY_QUIET) {
		printf("  logged in as %s%s%s\n", a->remote.user,
		       res.tls ? ", TLS" : ", no TLS",
		       res.compressed ? ", compressed" : "");
		printf("  capabilities:");
		for (size_t i = 0; i < res.n_caps; i++)
			printf(" %s", res.caps[i]);
		printf("\n  folders (%zu):\n", res.n_folders);
		for (size_t i = 0; i < res.n_folders; i++) {
			const struct imap_folder *f = &res.folders[i];
			printf("    %s%s%s%s\n", f->name, f->special ? " " : "",
			       f->special ? f->special : "",
			       f->noselect ? " (not selectable)" : "");
		}
	}
	imap_check_result_free(&res);
	return EXIT_SYNCED;
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
		int r = check_account(g, accounts[i]);
		if (r != EXIT_SYNCED)
			status = r;
	}
	free(accounts);
	config_free(&cfg);
	return status;
}
