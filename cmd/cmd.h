/* SPDX-License-Identifier: MIT */
/*
 * cmd: the tidemail program.  The only layer that prints or exits: it
 * turns arguments into calls below and errors into lines on stderr and
 * exit statuses (SPEC.md section 1).
 */
#ifndef TIDEMAIL_CMD_H
#define TIDEMAIL_CMD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "util.h"

enum cmd_exit {
	EXIT_SYNCED = 0,     /* everything done */
	EXIT_PARTIAL = 1,    /* some folder failed or was refused by a guard */
	EXIT_USAGE = 2,      /* bad arguments or config */
	EXIT_CONNECT = 3,    /* could not connect or authenticate */
	EXIT_LOCKED = 75,    /* another run holds the account's lock */
};

enum cmd_verbosity {
	VERBOSITY_QUIET = -1,
	VERBOSITY_NORMAL = 0,
	VERBOSITY_TRACE = 1,
};

/* What every command gets: the options before the command name. */
struct cmd_globals {
	const char *config_path;     /* -c, or NULL for the default */
	enum cmd_verbosity verbosity;
	bool tty;                    /* stdout is a terminal */
};

/* Loads the config named by -c (or the default path); on failure prints
 * the one-line error and returns -1 (the caller exits EXIT_USAGE). */
int cmd_load_config(const struct cmd_globals *g, struct config *cfg);

/* Picks the accounts named in argv (all when argc is 0) into accounts_r
 * (pointers into cfg; free() the array).  Prints an error and returns -1
 * for an unknown name. */
int cmd_select_accounts(const struct config *cfg, int argc, char **argv,
			const struct config_account ***accounts_r, size_t *n_r);

/* For a command whose only option is --help and whose arguments are
 * account names: parses argv, loads the config and picks the accounts.
 * Returns 0 with cfg and *accounts_r filled (the caller frees both), 1
 * when --help printed usage (exit EXIT_SYNCED), or -1 after printing an
 * error (exit EXIT_USAGE). */
int cmd_accounts_from_args(const struct cmd_globals *g, int argc, char **argv,
			   const char *usage, struct config *cfg,
			   const struct config_account ***accounts_r, size_t *n_r);

/* Prints "tidemail: " and a formatted line to stderr. */
void cmd_error(const char *fmt, ...) UTIL_PRINTF(1, 2);

int cmd_check(const struct cmd_globals *g, int argc, char **argv);
int cmd_sync(const struct cmd_globals *g, int argc, char **argv);

struct sync_report;
/* Runs the account's hooks.post_sync (see hook.c); 0, or -1 after
 * printing why it failed. */
int cmd_post_sync_hook(const struct config_account *a, const struct sync_report *rep);
int cmd_status(const struct cmd_globals *g, int argc, char **argv);
/* Runs until SIGINT or SIGTERM (then EXIT_SYNCED); EXIT_USAGE for bad
 * arguments or config. */
int cmd_watch(const struct cmd_globals *g, int argc, char **argv);

/* tidemail status of one account, printed to out as of now (seconds
 * since the epoch: a parameter so that tests can fix the clock).  Reads
 * the state and the Maildir only; problems go to stderr.  Returns
 * EXIT_SYNCED, or EXIT_PARTIAL when the state or part of the Maildir
 * could not be read. */
int cmd_status_account(FILE *out, const struct cmd_globals *g,
		       const struct config *cfg, const struct config_account *a,
		       int64_t now);

#endif
