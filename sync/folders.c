/* SPDX-License-Identifier: MIT */
/*
 * The folders of a run: listed on the server, in the Maildir and in the
 * state, paired by remote name (include/exclude and ACCOUNT:FOLDER
 * select), and folder renames recognised before anything else happens:
 *
 *   - renamed on the server: a folder the state and the Maildir have is
 *     gone from the server, and a folder new on the server has its
 *     UIDVALIDITY (servers keep it across RENAME): the local directory is
 *     renamed;
 *   - renamed locally: a folder the state and the server have is gone
 *     from the Maildir, and a new local folder holds its files (by unique
 *     part, 9 in 10 at least): RENAME on the server;
 *   - renamed on both sides alike: only the state changes.
 *
 * Nothing is transferred again, and the state keeps the folder's
 * messages.  A rename travels only where `folders` (and `direction`) let
 * a folder change travel; otherwise the ordinary folder rules apply.
 */
#include "sync-private.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int cmp_pair(const void *a, const void *b)
{
	return strcmp(((const struct pair *)a)->name, ((const struct pair *)b)->name);
}

static struct pair *pair_get(struct folder_lists *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->pairs[i].name, name))
			return &l->pairs[i];
	l->pairs = xgrow(l->pairs, sizeof(*l->pairs), l->n + 1, &l->cap);
	struct pair *p = &l->pairs[l->n++];
	memset(p, 0, sizeof(*p));
	p->name = name;
	return p;
}

static bool selected(const struct engine *e, const char *name)
{
	const struct config_folders *cf = &e->a->folders;
	bool in = false;
	for (size_t i = 0; i < cf->include.n && !in; i++)
		in = fnmatch(cf->include.v[i], name, 0) == 0;
	for (size_t i = 0; i < cf->exclude.n && in; i++)
		in = fnmatch(cf->exclude.v[i], name, 0) != 0;
	if (in && e->o->n_folders) {
		in = false;
		for (size_t i = 0; i < e->o->n_folders && !in; i++)
			in = !strcmp(e->o->folders[i], name);
	}
	return in;
}

int sync_list_folders(struct engine *e, struct folder_lists *l, struct error *err)
{
	memset(l, 0, sizeof(*l));
	int r = imap_list(e->imap, &l->rfs, &l->n_rf, err);
	if (r < 0)
		return r;
	e->tree.delim = '/';
	for (size_t i = 0; i < l->n_rf; i++)
		if (l->rfs[i].delim) {
			e->tree.delim = l->rfs[i].delim;
			break;
		}
	if (!e->root_missing)
		r = maildir_list(&e->tree, &l->lfs, err);
	if (r == 0)
		r = state_folder_list(e->st, &l->sfs, &l->n_sf, err);
	if (r < 0)
		return r;
	e->no_history = l->n_sf == 0;
	for (size_t i = 0; i < l->n_rf; i++) {
		if (l->rfs[i].noselect || !selected(e, l->rfs[i].name))
			continue;
		/* INBOX is INBOX in any case (RFC 3501 5.1); the local side
		 * and the state spell it so. */
		const char *name = l->rfs[i].name;
		struct pair *p = pair_get(l, strcasecmp(name, "INBOX") ? name : "INBOX");
		if (!p->rf) {
			p->rf = &l->rfs[i];
			continue;
		}
		/* Two server names that read as one ("&Jjo", not valid
		 * modified UTF-7 and so taken as sent, and "&-Jjo"; "INBOX"
		 * and "Inbox"): one local folder cannot stand for both.  The
		 * first listed is synced; the other is reported, not silently
		 * dropped.  (A listing repeated after a rename reports it
		 * again.) */
		sync_emit(e, SYNC_EV_FOLDER_FAILED, l->rfs[i].name,
			  "another server folder has the same name (once decoded, or "
			  "INBOX in another case); only the first listed is synced", NULL);
		e->rep->folders_failed++;
	}
	for (size_t i = 0; i < l->lfs.n; i++)
		if (selected(e, l->lfs.folders[i].remote))
			pair_get(l, l->lfs.folders[i].remote)->lf = &l->lfs.folders[i];
	for (size_t i = 0; i < l->n_sf; i++)
		if (selected(e, l->sfs[i].remote))
			pair_get(l, l->sfs[i].remote)->sf = &l->sfs[i];
	for (size_t i = 0; i < l->lfs.n_skipped; i++) {
		char *text = xasprintf("local folder %s skipped: %s", l->lfs.skipped[i].name,
				       l->lfs.skipped[i].why);
		sync_emit(e, SYNC_EV_FOLDER_FAILED, NULL, text, NULL);
		free(text);
	}
	if (l->n)
		qsort(l->pairs, l->n, sizeof(*l->pairs), cmp_pair);
	return 0;
}

void sync_folder_lists_free(struct folder_lists *l)
{
	free(l->pairs);
	imap_folders_free(l->rfs, l->n_rf);
	maildir_folder_list_release(&l->lfs);
	state_folders_free(l->sfs, l->n_sf);
	memset(l, 0, sizeof(*l));
}

/* ---- renames ----------------------------------------------------------- */

enum rename_kind {
	RENAMED_REMOTE,  /* on the server: the directory follows */
	RENAMED_LOCAL,   /* locally: RENAME on the server */
	RENAMED_BOTH,    /* alike on both sides: the state follows */
};

static bool may_travel(const struct engine *e, enum config_flow way)
{
	struct plan_folder_in in = {.remote = way == CONFIG_FLOW_PULL,
				    .local = way == CONFIG_FLOW_PUSH};
	/* A new folder on one side is created on the other exactly when a
	 * folder change may travel that way. */
	enum plan_folder_op op = plan_folder_op(&in, &e->settings);
	return op == PLAN_FOLDER_CREATE_LOCAL || op == PLAN_FOLDER_CREATE_REMOTE;
}

static int uidvalidity_of(struct engine *e, const struct imap_folder *rf,
			  uint32_t *uv_r, struct error *err)
{
	if (rf->counts.have & IMAP_STATUS_UIDVALIDITY) {
		*uv_r = rf->counts.uidvalidity;
		return 0;
	}
	struct imap_counts c = {0};
	int r = imap_status(e->imap, rf->wire, &c, err);
	*uv_r = r == 0 && (c.have & IMAP_STATUS_UIDVALIDITY) ? c.uidvalidity : 0;
	return r;
}

/* Does the new local folder hold the old one's files (9 in 10)? */
static int holds_files_of(struct engine *e, const struct pair *old,
			  const struct pair *young, bool *yes_r, struct error *err)
{
	*yes_r = false;
	struct state_msgs msgs = {0};
	struct maildir_scan scan = {0};
	char *path = maildir_folder_path(&e->tree, young->lf->rel);
	int r = state_msg_load(e->st, old->sf->id, &msgs, err);
	if (r == 0)
		r = maildir_scan(path, &scan, err);
	size_t known = 0, found = 0;
	for (size_t i = 0; r == 0 && i < msgs.n; i++) {
		if (!msgs.msgs[i].local)
			continue;
		known++;
		found += maildir_scan_find(&scan, msgs.msgs[i].local) != NULL;
	}
	*yes_r = r == 0 && known > 0 && found * 10 >= known * 9;
	maildir_scan_release(&scan);
	state_msgs_release(&msgs);
	free(path);
	return r;
}

static int apply(struct engine *e, enum rename_kind kind, const struct pair *old,
		 const struct pair *young, struct error *err)
{
	char *rel = NULL, *wire = NULL;
	int r = maildir_remote_to_local(&e->tree, young->name, &rel, err);
	if (r < 0)
		return r;
	if (kind == RENAMED_REMOTE) {
		char *from = maildir_folder_path(&e->tree, old->lf->rel);
		char *to = maildir_folder_path(&e->tree, rel);
		sync_step(e, "rename-local-folder");
		r = maildir_folder_rename(from, to, err);
		if (r == 0)
			sync_note(e, 'R', from, to);
		free(from);
		free(to);
		e->rep->local_changed |= r == 0;
	} else if (kind == RENAMED_LOCAL) {
		r = imap_mailbox_wire(e->imap, young->name, &wire, err);
		if (r == 0) {
			sync_step(e, "rename-remote-folder");
			r = imap_rename(e->imap, old->rf->wire, wire, err);
		}
	}
	if (r == 0) {
		struct state_folder sf = *old->sf;
		sf.remote = (char *)(uintptr_t)young->name;
		sf.local = rel;
		sync_step(e, "rename-state");
		r = state_folder_update(e->st, &sf, err);
	}
	if (r == 0)
		e->rep->counts.folders_renamed++;
	free(rel);
	free(wire);
	return r;
}

static void plan_line(struct engine *e, enum rename_kind kind, const struct pair *old,
		      const struct pair *young)
{
	char *text = xasprintf("rename folder %s to %s %s", old->name, young->name,
			       kind == RENAMED_REMOTE ? "locally (renamed on the server)"
			       : kind == RENAMED_LOCAL ? "on the server (renamed locally)"
						       : "in the state (renamed on both sides)");
	sync_emit(e, SYNC_EV_PLAN, old->name, text, NULL);
	free(text);
}

/* Drops two pairs that a dry run has reported as a rename. */
static void forget_pairs(struct folder_lists *l, const struct pair *a, const struct pair *b)
{
	size_t j = 0;
	for (size_t i = 0; i < l->n; i++)
		if (&l->pairs[i] != a && &l->pairs[i] != b)
			l->pairs[j++] = l->pairs[i];
	l->n = j;
}

int sync_rename_one(struct engine *e, struct folder_lists *l, struct error *err)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct pair *old = &l->pairs[i];
		/* A folder the state knows, gone from one side or both. */
		if (!old->sf || (old->rf && old->lf))
			continue;
		for (size_t j = 0; j < l->n; j++) {
			const struct pair *young = &l->pairs[j];
			if (young->sf || j == i)
				continue;
			enum rename_kind kind;
			bool match = false;
			int r = 0;
			if (!old->rf && young->rf && !young->lf == !!old->lf) {
				/* Gone from the server, new there with the same
				 * UIDVALIDITY: renamed on the server (and, if it
				 * is new locally too, locally as well). */
				kind = old->lf ? RENAMED_REMOTE : RENAMED_BOTH;
				uint32_t uv = 0;
				if (kind == RENAMED_REMOTE && !may_travel(e, CONFIG_FLOW_PULL))
					continue;
				r = uidvalidity_of(e, young->rf, &uv, err);
				match = r == 0 && uv && uv == old->sf->uidvalidity;
			} else if (old->rf && !old->lf && young->lf && !young->rf) {
				kind = RENAMED_LOCAL;
				if (!may_travel(e, CONFIG_FLOW_PUSH))
					continue;
				r = holds_files_of(e, old, young, &match, err);
			} else {
				continue;
			}
			if (r < 0)
				return r;
			if (!match)
				continue;
			if (e->o->dry_run) {
				plan_line(e, kind, old, young);
				forget_pairs(l, old, young);
				return sync_rename_one(e, l, err) < 0 ? -ERR_ACCOUNT : 0;
			}
			r = apply(e, kind, old, young, err);
			return r < 0 ? r : 1;
		}
	}
	return 0;
}
