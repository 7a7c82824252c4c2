/* SPDX-License-Identifier: MIT */
/* tidemail sync: arguments, what the user sees, and the exit status. */
#include "cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sync.h"

struct out {
	const struct cmd_globals *g;
	const char *account;
	struct timespec started;   /* of the folder the progress line shows */
	bool progress_shown;       /* a progress line waits to be cleared */
};

static void trace_line(void *ctx, const char *line)
{
	fprintf(stderr, "%s: %s\n", (const char *)ctx, line);
}

static void human_bytes(uint64_t n, char *out, size_t len)
{
	if (n >= 10 * 1024 * 1024)
		snprintf(out, len, "%.1f MB", (double)n / (1024 * 1024));
	else if (n >= 10 * 1024)
		snprintf(out, len, "%.1f kB", (double)n / 1024);
	else
		snprintf(out, len, "%llu bytes", (unsigned long long)n);
}

static bool counts_any(const struct sync_counts *c)
{
	return c->downloaded || c->uploaded || c->local_flags || c->remote_flags ||
	       c->deleted_local || c->deleted_remote || c->skipped ||
	       c->moved_local || c->moved_remote || c->adopted;
}

static void print_counts(const char *what, const struct sync_counts *c)
{
	char down[32], up[32];
	human_bytes(c->bytes_down, down, sizeof(down));
	human_bytes(c->bytes_up, up, sizeof(up));
	printf("%s: %zu down (%s), %zu up (%s), flags %zu local %zu server, "
	       "deleted %zu local %zu server", what, c->downloaded, down,
	       c->uploaded, up, c->local_flags, c->remote_flags, c->deleted_local,
	       c->deleted_remote);
	if (c->moved_local || c->moved_remote)
		printf(", moved %zu local %zu server", c->moved_local, c->moved_remote);
	if (c->folders_renamed)
		printf(", %zu folders renamed", c->folders_renamed);
	if (c->adopted)
		printf(", %zu adopted", c->adopted);
	if (c->skipped)
		printf(", %zu skipped", c->skipped);
	printf("\n");
}

static double since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* On a terminal: one line that redraws in place while a folder transfers,
 * with the rate and, once the rate means something, the time left. */
static void progress(struct out *o, const char *folder, const struct sync_counts *c)
{
	uint64_t done = c->bytes_down + c->bytes_up;
	uint64_t total = c->planned_bytes_down + c->planned_bytes_up;
	double secs = since(&o->started);
	char d[32], t[32], rate[32];
	human_bytes(done, d, sizeof(d));
	human_bytes(total, t, sizeof(t));
	human_bytes(secs > 0.2 ? (uint64_t)((double)done / secs) : 0, rate, sizeof(rate));
	printf("\r\033[K%s/%s: %zu/%zu down, %zu/%zu up, %s of %s, %s/s", o->account,
	       folder, c->downloaded, c->planned_down, c->uploaded, c->planned_up, d, t,
	       rate);
	if (secs > 2 && done > 0 && total > done)
		printf(", %.0f s left", (double)(total - done) * secs / (double)done);
	o->progress_shown = true;
}

static void on_event(void *ctx, enum sync_event ev, const char *folder,
		     const char *text, const struct sync_counts *c)
{
	struct out *o = ctx;
	bool talk = o->g->verbosity != VERBOSITY_QUIET && (o->g->tty ||
		    o->g->verbosity == VERBOSITY_TRACE);
	/* Anything else printed starts on a clean line. */
	if (o->progress_shown && ev != SYNC_EV_PROGRESS) {
		printf("\r\033[K");
		o->progress_shown = false;
	}
	switch (ev) {
	case SYNC_EV_PLAN:
		printf("%s/%s: %s\n", o->account, folder ? folder : "", text);
		break;
	case SYNC_EV_FOLDER_FAILED:
		if (folder)
			cmd_error("account %s, folder %s: %s", o->account, folder, text);
		else
			cmd_error("account %s: %s", o->account, text);
		break;
	case SYNC_EV_FOLDER_REFUSED:
		cmd_error("account %s, folder %s: %s", o->account, folder, text);
		break;
	case SYNC_EV_FOLDER_DONE:
		if (talk && c && counts_any(c)) {
			char *what = xasprintf("%s/%s", o->account, folder);
			print_counts(what, c);
			free(what);
		}
		break;
	case SYNC_EV_FOLDER_START:
		clock_gettime(CLOCK_MONOTONIC, &o->started);
		break;
	case SYNC_EV_PROGRESS:
		if (o->g->tty && o->g->verbosity != VERBOSITY_QUIET && c)
			progress(o, folder, c);
		else if (o->g->verbosity == VERBOSITY_TRACE && text)
			fprintf(stderr, "%s/%s: %s\n", o->account, folder, text);
		break;
	}
	fflush(stdout);
}

/* The exit status of several accounts: the most serious one. */
static int worse(int a, int b)
{
	static const int order[] = {EXIT_SYNCED, EXIT_PARTIAL, EXIT_LOCKED,
				    EXIT_CONNECT, EXIT_USAGE};
	int ia = 0, ib = 0;
	for (int i = 0; i < (int)UTIL_ARRAY_LEN(order); i++) {
		if (order[i] == a)
			ia = i;
		if (order[i] == b)
			ib = i;
	}
	return ia >= ib ? a : b;
}

static int sync_one(const struct cmd_globals *g, const struct config *cfg,
		    const struct config_account *a, struct sync_opts *so)
{
	struct out o = {g, a->name, {0, 0}, false};
	so->event = on_event;
	so->event_ctx = &o;
	if (g->verbosity == VERBOSITY_TRACE) {
		so->trace = trace_line;
		so->trace_ctx = a->name;
	}
	struct sync_report rep;
	struct error err = ERROR_INIT;
	int r = sync_account(cfg, a, so, &rep, &err);
	if (r != 0)
		sync_report_release(&rep);
	if (r == SYNC_LOCKED) {
		cmd_error("account %s: another tidemail run holds it (%s)", a->name,
			  err.msg ? err.msg : "locked");
		error_clear(&err);
		return EXIT_LOCKED;
	}
	if (r < 0) {
		cmd_error("account %s: %s", a->name, err.msg);
		error_clear(&err);
		return rep.connect_failed ? EXIT_CONNECT : EXIT_PARTIAL;
	}
	if (o.progress_shown)
		printf("\r\033[K");
	if ((g->tty && g->verbosity != VERBOSITY_QUIET) || g->verbosity == VERBOSITY_TRACE)
		print_counts(a->name, &rep.counts);
	int status = rep.folders_failed || rep.folders_refused ? EXIT_PARTIAL : EXIT_SYNCED;
	/* A hook failure is a failure of the run (exit 1), reported. */
	if (rep.local_changed && !so->dry_run && a->hooks.post_sync &&
	    cmd_post_sync_hook(a, &rep) < 0)
		status = EXIT_PARTIAL;
	sync_report_release(&rep);
	return status;
}

int cmd_sync(const struct cmd_globals *g, int argc, char **argv)
{
	static const struct option options[] = {
		{"dry-run", no_argument, NULL, 'n'},
		{"pull", no_argument, NULL, 'P'},
		{"push", no_argument, NULL, 'U'},
		{"force", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct sync_opts so = {0};
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'n': so.dry_run = true; break;
		case 'P': so.pull_only = true; break;
		case 'U': so.push_only = true; break;
		case 'f': so.force = true; break;
		case 'h':
			puts("usage: tidemail [-c FILE] [-v | -q] sync [ACCOUNT[:FOLDER]...] "
			     "[--dry-run] [--pull | --push] [--force]");
			return EXIT_SYNCED;
		default:
			return EXIT_USAGE;
		}
	}
	if (so.pull_only && so.push_only) {
		cmd_error("--pull and --push cannot be used together");
		return EXIT_USAGE;
	}
	struct config cfg;
	if (cmd_load_config(g, &cfg) < 0)
		return EXIT_USAGE;

	/* ACCOUNT or ACCOUNT:FOLDER; the accounts in the order first named. */
	int nargs = argc - optind;
	char **names = xcalloc(nargs > 0 ? (size_t)nargs : 1, sizeof(*names));
	const char **folders = xcalloc(nargs > 0 ? (size_t)nargs : 1, sizeof(*folders));
	for (int i = 0; i < nargs; i++) {
		names[i] = xstrdup(argv[optind + i]);
		char *colon = strchr(names[i], ':');
		if (colon) {
			*colon = '\0';
			folders[i] = colon + 1;
		}
	}
	int status = EXIT_SYNCED;
	const struct config_account **accounts;
	size_t n;
	if (cmd_select_accounts(&cfg, nargs, names, &accounts, &n) < 0) {
		status = EXIT_USAGE;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = accounts[k] == accounts[i];
		if (seen)
			continue;
		/* The folders named for this account; none named: all. */
		const char **only = xcalloc(n, sizeof(*only));
		size_t n_only = 0;
		bool all = nargs == 0;
		for (size_t k = 0; k < n; k++) {
			if (accounts[k] != accounts[i])
				continue;
			if (folders[k] && *folders[k])
				only[n_only++] = folders[k];
			else
				all = true;
		}
		so.folders = all ? NULL : only;
		so.n_folders = all ? 0 : n_only;
		status = worse(status, sync_one(g, &cfg, accounts[i], &so));
		free(only);
	}
	free(accounts);
out:
	for (int i = 0; i < nargs; i++)
		free(names[i]);
	free(names);
	free(folders);
	config_free(&cfg);
	return status;
}
