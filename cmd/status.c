/* SPDX-License-Identifier: MIT */
/*
 * tidemail status: what the state says about each account and folder, and
 * what changed in the Maildir since the last sync.  No network at all.
 *
 * The state file is opened, never the account lock: SQLite's WAL lets a
 * reader in while a sync writes, so a running sync is not held up (the
 * only wait is state_open()'s brief schema check, which queues behind a
 * sync's open batch for at most the state's busy timeout).  A folder's
 * files are read only when the mtimes of new/ and cur/ moved since the
 * last sync (maildir_unchanged), the same shortcut the sync takes.
 *
 * Output (stdout), per account:
 *   ACCOUNT: N folders, N messages on the server, N local; last sync WHEN; PENDING
 *     FOLDER: N on the server, N local; last sync WHEN; CHANGES[; INTENTS]
 *     FOLDER: new local folder, N files, not synced yet
 * -q prints the first line only; -v adds a line per changed file.
 */
#include "cmd.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "maildir.h"
#include "state.h"

/* What one folder looks like now. */
struct folder_report {
	char *name;           /* remote name; owned */
	char *rel;            /* local folder below the root; owned */
	bool in_state;        /* false: a local folder no sync has seen yet */
	int64_t last_sync;
	size_t on_server;     /* state rows with a UID */
	size_t local;         /* state rows with a local file */
	size_t added, removed, reflagged; /* local changes since the last sync */
	bool missing;         /* the local folder is gone */
	bool unknown;         /* the local side could not be read */
	char *intents;        /* "2 download, 1 append", or NULL; owned */
	char *refused;        /* why a guard refused the last run; owned */
	uint32_t skipped;     /* messages max_size/max_age left out */
	size_t n_intents;
	char **details;       /* -v: one line per changed file; owned */
	size_t n_details, cap_details;
};

struct account_report {
	const struct config_account *a;
	struct maildir_tree tree;
	struct folder_report *folders;
	size_t n, cap;
	struct state_intent *intents; /* pending, of an interrupted run */
	size_t n_intents;
	bool root_missing;
	bool failed;          /* something could not be read: exit 1 */
};

static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* "2026-11-22 02:31 (3 minutes ago)" in local time; "never" for 0. */
static char *when_text(int64_t t, int64_t now)
{
	if (t <= 0)
		return xstrdup("never");
	time_t tt = (time_t)t;
	struct tm tm;
	if (!localtime_r(&tt, &tm))
		return xasprintf("@%lld", (long long)t);
	int64_t d = now - t;
	char *ago;
	if (d < 0)
		ago = xstrdup("in the future: is the clock right?");
	else if (d < 60)
		ago = xstrdup("just now");
	else if (d < 3600)
		ago = xasprintf("%lld %s ago", (long long)(d / 60),
				plural((size_t)(d / 60), "minute", "minutes"));
	else if (d < 48 * 3600)
		ago = xasprintf("%lld %s ago", (long long)(d / 3600),
				plural((size_t)(d / 3600), "hour", "hours"));
	else
		ago = xasprintf("%lld days ago", (long long)(d / 86400));
	char *s = xasprintf("%04d-%02d-%02d %02d:%02d (%s)", tm.tm_year + 1900,
			    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, ago);
	free(ago);
	return s;
}

/* The sync's folder selection: include globs, then exclude globs. */
static bool folder_selected(const struct config_account *a, const char *remote)
{
	const struct config_folders *cf = &a->folders;
	bool in = false;
	for (size_t i = 0; i < cf->include.n && !in; i++)
		in = fnmatch(cf->include.v[i], remote, 0) == 0;
	for (size_t i = 0; i < cf->exclude.n && in; i++)
		in = fnmatch(cf->exclude.v[i], remote, 0) != 0;
	return in;
}

static void detail_add(struct folder_report *fr, char *line)
{
	fr->details = xgrow(fr->details, sizeof(*fr->details), fr->n_details + 1,
			    &fr->cap_details);
	fr->details[fr->n_details++] = line;
}

/* "FS", or "-" for no flags. */
static char *flag_letters(unsigned flags)
{
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	for (unsigned bit = 1; bit <= MAILDIR_FLAGS_ALL; bit <<= 1)
		if (flags & bit)
			buf_addc(&b, maildir_flag_letter(bit));
	if (b.len == 0)
		buf_addc(&b, '-');
	return buf_detach(&b, NULL);
}

static int cmp_local(const void *a, const void *b)
{
	const struct state_msg *x = *(const struct state_msg *const *)a;
	const struct state_msg *y = *(const struct state_msg *const *)b;
	return strcmp(x->local, y->local);
}

static int cmp_local_key(const void *key, const void *elem)
{
	return strcmp(key, (*(const struct state_msg *const *)elem)->local);
}

/*
 * Compares the folder's files with the state's local names and flags.
 * A folder whose stamp did not move is as the last sync left it, and is
 * not read.
 */
static int folder_changes(const char *path, const struct state_folder *sf,
			  const struct state_msgs *msgs, bool details,
			  struct folder_report *fr, struct error *err)
{
	struct stat st;
	if (stat(path, &st) < 0 && errno == ENOENT) {
		fr->missing = true;
		return 0;
	}
	int u = maildir_unchanged(path, &sf->stamp, err);
	if (u != 0)
		return u < 0 ? u : 0;
	struct maildir_scan scan;
	int r = maildir_scan(path, &scan, err);
	if (r < 0)
		return r;
	const struct state_msg **known = xcalloc(msgs->n ? msgs->n : 1, sizeof(*known));
	size_t n_known = 0;
	for (size_t i = 0; i < msgs->n; i++)
		if (msgs->msgs[i].local)
			known[n_known++] = &msgs->msgs[i];
	qsort(known, n_known, sizeof(*known), cmp_local);

	for (size_t i = 0; i < n_known; i++) {
		const struct maildir_entry *e = maildir_scan_find(&scan, known[i]->local);
		if (!e) {
			fr->removed++;
			if (details)
				detail_add(fr, xasprintf("removed: %s", known[i]->local));
		} else if (e->flags != known[i]->local_flags) {
			fr->reflagged++;
			if (details) {
				char *was = flag_letters(known[i]->local_flags);
				char *now = flag_letters(e->flags);
				detail_add(fr, xasprintf("flags: %s %s -> %s", e->unique, was, now));
				free(was);
				free(now);
			}
		}
	}
	for (size_t i = 0; i < scan.n; i++) {
		const struct maildir_entry *e = &scan.entries[i];
		if (bsearch(e->unique, known, n_known, sizeof(*known), cmp_local_key))
			continue;
		fr->added++;
		if (details)
			detail_add(fr, xasprintf("new: %s/%s",
						 e->sub == MAILDIR_NEW ? "new" : "cur", e->name));
	}
	free(known);
	maildir_scan_release(&scan);
	return 0;
}

/* "2 download, 1 append" for the pending intents of one folder (NULL:
 * account-wide ones), in the order first recorded. */
static char *intent_summary(const struct account_report *ar, const char *folder,
			    size_t *n_r)
{
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	*n_r = 0;
	for (size_t i = 0; i < ar->n_intents; i++) {
		const struct state_intent *in = &ar->intents[i];
		if (!folder != !in->folder || (folder && strcmp(folder, in->folder)))
			continue;
		(*n_r)++;
		bool seen = false;
		size_t count = 0;
		for (size_t k = 0; k < ar->n_intents; k++) {
			const struct state_intent *o = &ar->intents[k];
			if (!strcmp(o->kind, in->kind) && !o->folder == !in->folder &&
			    (!folder || !strcmp(o->folder, folder))) {
				seen = seen || k < i;
				count++;
			}
		}
		if (!seen)
			buf_addf(&b, "%s%zu %s", b.len ? ", " : "", count, in->kind);
	}
	if (*n_r == 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

static struct folder_report *report_add(struct account_report *ar, const char *name,
					 const char *rel)
{
	ar->folders = xgrow(ar->folders, sizeof(*ar->folders), ar->n + 1, &ar->cap);
	struct folder_report *fr = &ar->folders[ar->n++];
	memset(fr, 0, sizeof(*fr));
	fr->name = xstrdup(name);
	fr->rel = xstrdup(rel);
	return fr;
}

static void local_failed(struct account_report *ar, struct folder_report *fr,
			 struct error *err)
{
	cmd_error("account %s, folder %s: %s", ar->a->name, fr->name, err->msg);
	error_clear(err);
	fr->unknown = true;
	ar->failed = true;
}

static int read_state_folders(struct account_report *ar, struct state *st,
			      bool details, struct error *err)
{
	struct state_folder *sfs;
	size_t n;
	int r = state_folder_list(st, &sfs, &n, err);
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (!folder_selected(ar->a, sfs[i].remote))
			continue;
		struct folder_report *fr = report_add(ar, sfs[i].remote, sfs[i].local);
		fr->in_state = true;
		fr->last_sync = sfs[i].last_sync;
		fr->refused = sfs[i].refused ? xstrdup(sfs[i].refused) : NULL;
		fr->skipped = sfs[i].skipped;
		fr->intents = intent_summary(ar, sfs[i].remote, &fr->n_intents);
		struct state_msgs msgs = {0};
		r = state_msg_load(st, sfs[i].id, &msgs, err);
		if (r < 0)
			break;
		for (size_t k = 0; k < msgs.n; k++) {
			fr->on_server += msgs.msgs[k].uid != 0;
			fr->local += msgs.msgs[k].local != NULL;
		}
		if (ar->root_missing) {
			fr->unknown = true;
		} else {
			char *path = maildir_folder_path(&ar->tree, sfs[i].local);
			if (folder_changes(path, &sfs[i], &msgs, details, fr, err) < 0)
				local_failed(ar, fr, err);
			free(path);
		}
		state_msgs_release(&msgs);
	}
	state_folders_free(sfs, n);
	return r;
}

/* Local folders the state does not know: the next sync creates them on
 * the server and uploads every file.  They are matched by local path: a
 * remote name made here assumes '/' as the server's delimiter. */
static void read_new_local_folders(struct account_report *ar, size_t n_known)
{
	struct maildir_folder_list list;
	struct error err = ERROR_INIT;
	if (maildir_list(&ar->tree, &list, &err) < 0) {
		cmd_error("account %s: %s", ar->a->name, err.msg);
		error_clear(&err);
		ar->failed = true;
		return;
	}
	for (size_t i = 0; i < list.n; i++) {
		const struct maildir_folder *lf = &list.folders[i];
		bool known = false;
		for (size_t k = 0; k < n_known && !known; k++)
			known = !strcmp(ar->folders[k].rel, lf->rel);
		if (known || !folder_selected(ar->a, lf->remote))
			continue;
		struct folder_report *fr = report_add(ar, lf->remote, lf->rel);
		char *path = maildir_folder_path(&ar->tree, lf->rel);
		struct maildir_scan scan;
		if (maildir_scan(path, &scan, &err) < 0) {
			local_failed(ar, fr, &err);
		} else {
			fr->added = scan.n;
			maildir_scan_release(&scan);
		}
		free(path);
	}
	maildir_folder_list_release(&list);
}

/* Reads the state and the Maildir of one account into ar.  A state that
 * cannot be read is an error; a local side that cannot is reported in
 * ar (and on stderr). */
static int account_read(struct account_report *ar, struct state *st, bool details,
			struct error *err)
{
	const struct config_account *a = ar->a;
	ar->tree = (struct maildir_tree){
		.root = a->local.path,
		.layout = a->local.layout == CONFIG_LAYOUT_MAILDIRPP ? MAILDIR_LAYOUT_MAILDIRPP
								      : MAILDIR_LAYOUT_VERBATIM,
		.inbox = a->local.inbox,
		/* The server's delimiter is not in the state; it only
		 * matters for naming local folders no sync has seen. */
		.delim = '/',
	};
	struct stat sb;
	ar->root_missing = stat(a->local.path, &sb) < 0 && errno == ENOENT;
	int r = state_intent_pending(st, &ar->intents, &ar->n_intents, err);
	if (r == 0)
		r = read_state_folders(ar, st, details, err);
	if (r < 0)
		return r;
	if (ar->root_missing) {
		if (ar->n > 0) {
			cmd_error("account %s: local root %s is missing (an unmounted disk?); "
				  "sync refuses the account until it is back", a->name,
				  a->local.path);
			ar->failed = true;
		}
		return 0;
	}
	read_new_local_folders(ar, ar->n);
	return 0;
}

static void account_report_release(struct account_report *ar)
{
	for (size_t i = 0; i < ar->n; i++) {
		struct folder_report *fr = &ar->folders[i];
		free(fr->name);
		free(fr->rel);
		free(fr->intents);
		free(fr->refused);
		for (size_t k = 0; k < fr->n_details; k++)
			free(fr->details[k]);
		free(fr->details);
	}
	free(ar->folders);
	state_intents_free(ar->intents, ar->n_intents);
}

/* "no local changes" or "local changes: 2 new, 1 removed". */
static char *changes_text(const struct folder_report *fr)
{
	if (fr->missing)
		return xstrdup("local folder missing");
	if (fr->unknown)
		return xstrdup("local changes unknown");
	if (!fr->added && !fr->removed && !fr->reflagged)
		return xstrdup("no local changes");
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	buf_adds(&b, "local changes:");
	const char *sep = " ";
	if (fr->added) {
		buf_addf(&b, "%s%zu new", sep, fr->added);
		sep = ", ";
	}
	if (fr->removed) {
		buf_addf(&b, "%s%zu removed", sep, fr->removed);
		sep = ", ";
	}
	if (fr->reflagged)
		buf_addf(&b, "%s%zu %s changed", sep, fr->reflagged,
			 plural(fr->reflagged, "flag", "flags"));
	return buf_detach(&b, NULL);
}

static void print_folder(FILE *out, const struct folder_report *fr, int64_t now)
{
	if (!fr->in_state) {
		if (fr->unknown)
			fprintf(out, "  %s: new local folder, not synced yet; "
				"local changes unknown\n", fr->name);
		else
			fprintf(out, "  %s: new local folder, %zu %s, not synced yet\n",
				fr->name, fr->added, plural(fr->added, "file", "files"));
		return;
	}
	char *when = when_text(fr->last_sync, now);
	char *changes = changes_text(fr);
	fprintf(out, "  %s: %zu on the server, %zu local; last sync %s; %s", fr->name,
		fr->on_server, fr->local, when, changes);
	if (fr->n_intents)
		fprintf(out, "; %zu %s of an interrupted run pending (%s)", fr->n_intents,
			plural(fr->n_intents, "intent", "intents"), fr->intents);
	if (fr->skipped)
		fprintf(out, "; %u %s not transferred (max_size or max_age)", fr->skipped,
			fr->skipped == 1 ? "message" : "messages");
	if (fr->refused)
		fprintf(out, "; REFUSED by a guard: %s", fr->refused);
	fputc('\n', out);
	free(when);
	free(changes);
}

static void print_summary(FILE *out, const struct account_report *ar, int64_t now)
{
	size_t folders = 0, on_server = 0, local = 0, changes = 0, intents = ar->n_intents;
	bool unknown = false;
	int64_t last = 0;
	for (size_t i = 0; i < ar->n; i++) {
		const struct folder_report *fr = &ar->folders[i];
		folders += fr->in_state;
		on_server += fr->on_server;
		local += fr->local;
		changes += fr->added + fr->removed + fr->reflagged;
		unknown = unknown || fr->unknown;
		if (fr->last_sync > last)
			last = fr->last_sync;
	}
	char *when = when_text(last, now);
	fprintf(out, "%s: %zu %s, %zu %s on the server, %zu local; last sync %s; ",
		ar->a->name, folders, plural(folders, "folder", "folders"), on_server,
		plural(on_server, "message", "messages"), local, when);
	free(when);
	if (ar->root_missing && ar->n > 0)
		fputs("local root missing", out);
	else if (!changes && !intents)
		fputs(unknown ? "local changes unknown" : "nothing pending", out);
	else if (!intents)
		fprintf(out, "%zu local %s pending", changes, plural(changes, "change", "changes"));
	else if (!changes)
		fprintf(out, "%zu %s of an interrupted run pending", intents,
			plural(intents, "intent", "intents"));
	else
		fprintf(out, "%zu local %s and %zu %s of an interrupted run pending", changes,
			plural(changes, "change", "changes"), intents,
			plural(intents, "intent", "intents"));
	fputc('\n', out);
}

int cmd_status_account(FILE *out, const struct cmd_globals *g,
		       const struct config *cfg, const struct config_account *a,
		       int64_t now)
{
	char *db = xasprintf("%s/%s.db", cfg->state_dir, a->name);
	struct stat sb;
	if (stat(db, &sb) < 0 && errno == ENOENT) {
		/* state_open() would create it: a status must not. */
		fprintf(out, "%s: never synced (no state file %s)\n", a->name, db);
		free(db);
		return EXIT_SYNCED;
	}
	struct state *st = NULL;
	struct error err = ERROR_INIT;
	struct account_report ar = {.a = a};
	int r = state_open(db, &st, &err);
	free(db);
	if (r == 0)
		r = account_read(&ar, st, g->verbosity == VERBOSITY_TRACE, &err);
	state_close(st);
	if (r < 0) {
		cmd_error("account %s: %s", a->name, err.msg);
		error_clear(&err);
		account_report_release(&ar);
		return EXIT_PARTIAL;
	}
	print_summary(out, &ar, now);
	for (size_t i = 0; g->verbosity != VERBOSITY_QUIET && i < ar.n; i++) {
		print_folder(out, &ar.folders[i], now);
		for (size_t k = 0; k < ar.folders[i].n_details; k++)
			fprintf(out, "    %s\n", ar.folders[i].details[k]);
	}
	size_t n_account;
	char *account_intents = intent_summary(&ar, NULL, &n_account);
	if (g->verbosity != VERBOSITY_QUIET && n_account)
		fprintf(out, "  (account): %zu %s of an interrupted run pending (%s)\n",
			n_account, plural(n_account, "intent", "intents"), account_intents);
	free(account_intents);
	int status = ar.failed ? EXIT_PARTIAL : EXIT_SYNCED;
	account_report_release(&ar);
	return status;
}

int cmd_status(const struct cmd_globals *g, int argc, char **argv)
{
	struct config cfg;
	const struct config_account **accounts;
	size_t n;
	int r = cmd_accounts_from_args(g, argc, argv,
				       "usage: tidemail [-c FILE] [-v | -q] status [ACCOUNT...]",
				       &cfg, &accounts, &n);
	if (r != 0)
		return r > 0 ? EXIT_SYNCED : EXIT_USAGE;
	int status = EXIT_SYNCED;
	int64_t now = time(NULL);
	for (size_t i = 0; i < n; i++)
		if (cmd_status_account(stdout, g, &cfg, accounts[i], now) != EXIT_SYNCED)
			status = EXIT_PARTIAL;
	free(accounts);
	config_free(&cfg);
	return status;
}
