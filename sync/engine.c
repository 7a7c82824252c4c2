/* SPDX-License-Identifier: MIT */
/*
 * One account's run: the lock, the local root guard, the state, the
 * connection, the folder pairing, and each folder's plan and execution.
 */
#include "sync-private.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

void sync_step(struct engine *e, const char *step)
{
	if (e->o->step)
		e->o->step(e->o->step_ctx, step);
}

void sync_note(struct engine *e, char kind, const char *a, const char *b)
{
	struct sync_changes *c = &e->rep->changes;
	c->lines = xgrow(c->lines, sizeof(*c->lines), c->n + 1, &c->cap);
	c->lines[c->n++] = b ? xasprintf("%c\t%s\t%s", kind, a, b)
			     : xasprintf("%c\t%s", kind, a);
}

char *sync_file_path(const char *folder, enum maildir_sub sub, const char *name)
{
	return xasprintf("%s/%s/%s", folder, sub == MAILDIR_NEW ? "new" : "cur", name);
}

void sync_report_release(struct sync_report *rep)
{
	for (size_t i = 0; i < rep->changes.n; i++)
		free(rep->changes.lines[i]);
	free(rep->changes.lines);
	memset(&rep->changes, 0, sizeof(rep->changes));
}

void sync_emit(struct engine *e, enum sync_event ev, const char *folder,
	       const char *text, const struct sync_counts *counts)
{
	if (!e->o->event)
		return;
	/* Folders may be synced on several threads; one line at a time. */
	if (e->emit_mu)
		pthread_mutex_lock(e->emit_mu);
	e->o->event(e->o->event_ctx, ev, folder, text, counts);
	if (e->emit_mu)
		pthread_mutex_unlock(e->emit_mu);
}

void sync_counts_add(struct sync_counts *to, const struct sync_counts *c)
{
	to->downloaded += c->downloaded;
	to->uploaded += c->uploaded;
	to->local_flags += c->local_flags;
	to->remote_flags += c->remote_flags;
	to->deleted_local += c->deleted_local;
	to->deleted_remote += c->deleted_remote;
	to->skipped += c->skipped;
	to->folders_created += c->folders_created;
	to->folders_deleted += c->folders_deleted;
	to->folders_renamed += c->folders_renamed;
	to->moved_local += c->moved_local;
	to->moved_remote += c->moved_remote;
	to->adopted += c->adopted;
	to->bytes_down += c->bytes_down;
	to->bytes_up += c->bytes_up;
}

/* ---- one folder -------------------------------------------------------- */

static bool has_intents(const struct engine *e, const char *remote)
{
	for (size_t i = 0; i < e->n_intents; i++)
		if (e->intents[i].folder && !strcmp(e->intents[i].folder, remote))
			return true;
	return false;
}

/*
 * Whether the folder's files are exactly what the state remembers (same
 * unique parts, same flags, no odd names): 1 yes, 0 no.  When they are
 * and the listing's stamp may be trusted, the stamp is remembered, so
 * that the next run is settled by the stamp alone.  This is what makes
 * the run after one that changed the folder (its own renames and
 * downloads move the directory times) cheap: a readdir, not a SELECT.
 */
static int files_as_remembered(struct engine *e, const struct state_folder *sf,
			       const char *path, struct error *err)
{
	struct maildir_scan scan = {0};
	struct state_msgs msgs = {0};
	int r = maildir_scan(path, &scan, err);
	if (r == 0)
		r = state_msg_load(e->st, sf->id, &msgs, err);
	size_t with_file = 0;
	bool same = r == 0 && scan.n_skipped == 0;
	for (size_t i = 0; same && i < msgs.n; i++) {
		const struct state_msg *s = &msgs.msgs[i];
		if (!s->local)
			continue;
		with_file++;
		const struct maildir_entry *me = maildir_scan_find(&scan, s->local);
		same = me && me->flags == s->local_flags;
	}
	same = same && with_file == scan.n;
	if (same && (scan.stamp.new_ns || scan.stamp.cur_ns)) {
		struct state_folder now = *sf;
		now.stamp = scan.stamp;
		r = state_folder_update(e->st, &now, err);
	}
	state_msgs_release(&msgs);
	maildir_scan_release(&scan);
	return r < 0 ? r : same;
}

void sync_settle_first_pull(struct engine *e, struct folder_run *f)
{
	/* Young times are not trusted (MAILDIR_STAMP_GUARD_NS): a folder
	 * filled in the last moments keeps its old stamp, and the next run
	 * lists it as before. */
	struct error err = ERROR_INIT;
	if (f->first_pull && !e->o->dry_run)
		files_as_remembered(e, &f->sf, f->path, &err);
	error_clear(&err);
}

int sync_pair_unchanged(struct engine *e, const struct pair *p, struct error *err)
{
	const struct imap_folder *rf = p->rf;
	const struct state_folder *sf = p->sf;
	const unsigned need = IMAP_STATUS_MESSAGES | IMAP_STATUS_UIDNEXT |
			      IMAP_STATUS_UIDVALIDITY | IMAP_STATUS_HIGHESTMODSEQ;
	if (!rf || !p->lf || !sf || e->o->dry_run || (rf->counts.have & need) != need ||
	    !e->condstore || !sf->highestmodseq || sf->uidvalidity != rf->counts.uidvalidity ||
	    sf->uidnext != rf->counts.uidnext || sf->highestmodseq != rf->counts.highestmodseq ||
	    has_intents(e, p->name))
		return 0;
	size_t on_server = 0;
	int r = state_msg_count(e->st, sf->id, &on_server, err);
	if (r < 0)
		return r;
	/* Messages max_size or max_age leave out are on the server only. */
	if (on_server + sf->skipped != rf->counts.messages)
		return 0;
	char *path = maildir_folder_path(&e->tree, p->lf->rel);
	int u = maildir_unchanged(path, &sf->stamp, err);
	if (u == 0)
		u = files_as_remembered(e, p->sf, path, err);
	free(path);
	return u;
}

int sync_select(struct engine *e, const char *wire, struct imap_select_opts *so,
		struct imap_mailbox *mb, struct error *err)
{
	free(e->selected);
	e->selected = NULL;
	int r = imap_select(e->imap, wire, so, mb, err);
	if (r == 0 && !so->examine)
		e->selected = xstrdup(wire);
	return r;
}

void sync_folder_free(struct folder_run *f)
{
	if (!f)
		return;
	sync_views_release(f);
	sync_pending_release(f);
	imap_mailbox_free(&f->mb);
	state_folder_release(&f->sf);
	free(f->path);
	free(f->rel);
	free(f->wire_buf);
	free(f);
}

/*
 * The first half of a folder's sync: SELECT, the replay of its intents,
 * and the three views.  *f_r is NULL when there is nothing to do (the
 * folder is unchanged on both sides).  Moves across folders are matched
 * between the two halves (moves.c).
 */
int sync_folder_prepare(struct engine *e, const char *remote,
			       const char *wire, const char *rel, unsigned present,
			       const struct imap_folder *rf, struct folder_run **f_r,
			       struct error *err)
{
	*f_r = NULL;
	struct folder_run *f = xcalloc(1, sizeof(*f));
	f->e = e;
	f->remote = remote;
	f->wire_buf = wire ? xstrdup(wire) : NULL;
	f->wire = f->wire_buf;
	f->rel = xstrdup(rel);
	f->present = present;
	f->path = maildir_folder_path(&e->tree, rel);
	int r = state_folder_get(e->st, remote, &f->sf, err);
	if (r < 0)
		goto fail;
	sync_emit(e, SYNC_EV_FOLDER_START, remote, NULL, NULL);

	f->pending_intents = has_intents(e, remote);
	if (present & ON_SERVER) {
		struct imap_select_opts so = {0};
		/* With QRESYNC the view starts from the state before SELECT. */
		if (f->sf.id && e->qresync && !f->pending_intents && !f->pstate)
			r = sync_state_view(f, err);
		if (r < 0)
			goto fail;
		sync_server_view_prepare(f, &so);
		r = sync_select(e, f->wire, &so, &f->mb, err);
		if (r < 0)
			goto fail;
		if (f->sf.id && f->sf.uidvalidity && f->mb.uidvalidity != f->sf.uidvalidity) {
			if (e->o->dry_run) {
				char *text = xasprintf("UIDVALIDITY changed from %u to %u: "
						       "messages would be matched again",
						       f->sf.uidvalidity, f->mb.uidvalidity);
				sync_emit(e, SYNC_EV_PLAN, remote, text, NULL);
				free(text);
				sync_folder_free(f);
				return 0;
			}
			/* A view begun from the state holds void UIDs. */
			sync_views_release(f);
			f->qresync_select = false;
			r = sync_rematch(f, err);
			if (r < 0)
				goto fail;
		}
		if (f->sf.id && !e->o->dry_run)
			r = sync_replay_folder(f, err);
	}
	if (r == 0 && !f->pstate)
		r = sync_state_view(f, err);
	if (r == 0 && (present & ON_DISK))
		r = sync_local_view(f, err);
	/* The Message-IDs of new server messages are for matching moves
	 * and adopting files; a first sync into an empty folder has
	 * neither, and takes them from the bodies it downloads instead of
	 * having the server read every message twice. */
	if (r == 0 && (present & ON_SERVER))
		r = sync_server_view(f, !e->no_history || f->n_local > 0, err);
	if (r == 0 && present == (ON_SERVER | ON_DISK))
		r = sync_adopt(f, err);
	if (r < 0)
		goto fail;
	*f_r = f;
	return 0;
fail:
	sync_folder_free(f);
	return r;
}

/* Whether carrying out a plan talks to this folder on the server (an
 * APPEND names its folder; finding its UID without UIDPLUS searches). */
static bool plan_needs_select(const struct engine *e, const struct plan *p)
{
	for (size_t i = 0; i < p->n_actions; i++)
		switch (p->actions[i].op) {
		case PLAN_REMOTE_FLAGS:
		case PLAN_DELETE_REMOTE:
		case PLAN_DOWNLOAD:
			return true;
		case PLAN_UPLOAD:
			if (!e->uidplus)
				return true;
			break;
		default:
			break;
		}
	return false;
}

int sync_folder_finish(struct folder_run *f, struct error *err)
{
	struct engine *e = f->e;
	struct plan_input in = {f->pstate, f->msgs.n, f->premote, f->n_remote,
				f->plocal, f->n_local};
	struct plan p = PLAN_INIT;
	int r = plan_folder(&in, &e->settings, &p, err);
	/* The connection may have selected another folder since (moves,
	 * or other folders it prepared): select this one again only if the
	 * plan needs it. */
	if (r == 0 && !p.refused && (f->present & ON_SERVER) && !e->o->dry_run &&
	    (!e->selected || strcmp(e->selected, f->wire)) && plan_needs_select(e, &p)) {
		struct imap_select_opts so = {.condstore = e->condstore};
		struct imap_mailbox mb = {0};
		r = sync_select(e, f->wire, &so, &mb, err);
		imap_mailbox_free(&mb);
	}
	if (r == 0 && p.refused) {
		sync_emit(e, SYNC_EV_FOLDER_REFUSED, f->remote, p.refusal, NULL);
		e->rep->folders_refused++;
		/* Remembered for tidemail status until a run goes through. */
		if (f->sf.id && !e->o->dry_run) {
			free(f->sf.refused);
			f->sf.refused = xstrdup(p.refusal);
			r = state_folder_update(e->st, &f->sf, err);
		}
	} else if (r == 0 && e->o->dry_run) {
		for (size_t i = 0; i < p.n_actions; i++) {
			char *text = sync_action_text(f, &p.actions[i]);
			if (text)
				sync_emit(e, SYNC_EV_PLAN, f->remote, text, NULL);
			free(text);
		}
		e->rep->folders_synced++;
	} else if (r == 0) {
		bool first = !f->sf.id;
		r = sync_folder_record(f, err);
		if (r == 0)
			r = sync_execute(f, &p, err);
		f->first_pull = r == 0 && first && f->counts.downloaded > 0;
		e->rep->folders_synced += r == 0;
	}
	plan_release(&p);
	sync_counts_add(&e->rep->counts, &f->counts);
	if (r == 0)
		sync_emit(e, SYNC_EV_FOLDER_DONE, f->remote, NULL, &f->counts);
	return r;
}

int sync_folder_record(struct folder_run *f, struct error *err)
{
	if (f->sf.id)
		return 0;
	int r = state_folder_add(f->e->st, f->remote, f->rel, &f->sf.id, err);
	if (r == 0) {
		free(f->sf.remote);
		free(f->sf.local);
		f->sf.remote = xstrdup(f->remote);
		f->sf.local = xstrdup(f->rel);
	}
	return r;
}

static int sync_folders(struct engine *e, struct error *err)
{
	struct folder_lists l = {0};
	int r = 0;
	/* Renames first, each followed by a fresh listing: a parent's
	 * rename takes its children along on both sides. */
	for (int round = 0;; round++) {
		r = sync_list_folders(e, &l, err);
		if (r < 0 || round == 100)
			break;
		r = sync_rename_one(e, &l, err);
		if (r <= 0)
			break;
		sync_folder_lists_free(&l);
	}
	if (r == 0)
		r = sync_pairs(e, l.pairs, l.n, err);
	sync_folder_lists_free(&l);
	return r;
}

/* ---- the account ------------------------------------------------------- */

/* An empty root is what an unmounted disk leaves behind (its mount
 * point), and it reads as every folder removed.  The folder guard misses
 * that when the mail is spread over folders of under 10 messages each, so
 * the account as a whole is held to max_delete here: refused unless
 * --force (SPEC.md section 5). */
static int check_empty_root(struct engine *e, const char *root, struct error *err)
{
	if (e->o->force || e->settings.max_delete >= 100)
		return 0;
	DIR *d = opendir(root);
	if (!d)
		return error_errno(err, ERR_ACCOUNT, errno, "local root %s", root);
	bool empty = true;
	struct dirent *de;
	while (empty && (de = readdir(d)))
		empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
	closedir(d);
	if (!empty)
		return 0;
	struct state_folder *sfs;
	size_t n, total = 0;
	int r = state_folder_list(e->st, &sfs, &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; r == 0 && i < n; i++) {
		size_t with_uid = 0;
		r = state_msg_count(e->st, sfs[i].id, &with_uid, err);
		total += with_uid;
	}
	state_folders_free(sfs, n);
	if (r < 0 || total < 10)
		return r;
	return error_set(err, ERR_ACCOUNT, "local root %s is empty but the state knows %zu "
			 "messages in %zu folders (an unmounted disk?); refusing to sync "
			 "rather than take them for deleted mail; run with --force to "
			 "allow it", root, total, n);
}

/* SPEC.md section 5: a missing local root is never read as "everything
 * was deleted".  Only an account that never synced may have it made. */
static int check_root(struct engine *e, struct error *err)
{
	const char *root = e->a->local.path;
	struct stat st;
	if (stat(root, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return error_set(err, ERR_ACCOUNT, "local root %s is not a directory", root);
		return check_empty_root(e, root, err);
	}
	if (errno != ENOENT)
		return error_errno(err, ERR_ACCOUNT, errno, "local root %s", root);
	struct state_folder *sfs;
	size_t n;
	int r = state_folder_list(e->st, &sfs, &n, err);
	if (r < 0)
		return r;
	state_folders_free(sfs, n);
	if (n > 0)
		return error_set(err, ERR_ACCOUNT, "local root %s is missing (an unmounted "
				 "disk?); refusing to sync rather than take it for deleted "
				 "mail", root);
	if (e->o->dry_run) {
		e->root_missing = true;
		return 0;
	}
	if (util_mkdir_p(root, 0700) < 0)
		return error_errno(err, ERR_ACCOUNT, errno, "create local root %s", root);
	return 0;
}

int sync_connect(struct engine *e, bool queue_enable, struct error *err)
{
	char *secret = NULL;
	int r = account_secret(e->a, &secret, err);
	if (r < 0) {
		e->rep->connect_failed = true;
		return r;
	}
	enum imap_auth auth[CONFIG_AUTH_COUNT_];
	struct imap_options o;
	account_imap_options(e->a, secret, auth, &o);
	o.trace = e->o->trace;
	o.trace_ctx = e->o->trace_ctx;
	r = imap_connect(&o, &e->imap, err);
	account_secret_free(secret);
	if (r < 0) {
		e->rep->connect_failed = true;
		return r;
	}
	e->uidplus = imap_has_cap(e->imap, "UIDPLUS");
	e->condstore = imap_has_cap(e->imap, "CONDSTORE") || imap_has_cap(e->imap, "QRESYNC");
	if (imap_has_cap(e->imap, "QRESYNC") && queue_enable) {
		/* Nothing needs QRESYNC before the first SELECT: its ENABLE
		 * rides with the LIST that comes next. */
		imap_enable_submit(e->imap, "QRESYNC", &e->qresync);
	} else if (imap_has_cap(e->imap, "QRESYNC")) {
		size_t enabled = 0;
		r = imap_enable(e->imap, "QRESYNC", &enabled, err);
		e->qresync = r == 0 && enabled > 0;
	} else if (e->condstore) {
		size_t enabled = 0;
		r = imap_enable(e->imap, "CONDSTORE", &enabled, err);
	}
	return r;
}

static void settings_from(struct engine *e)
{
	const struct config_sync *s = &e->a->sync;
	e->settings.direction = s->direction;
	if (e->o->pull_only)
		e->settings.direction = CONFIG_FLOW_PULL;
	if (e->o->push_only)
		e->settings.direction = CONFIG_FLOW_PUSH;
	e->settings.delete = s->delete;
	e->settings.folders = s->folders;
	e->settings.max_age = s->max_age;
	e->settings.max_size = s->max_size;
	e->settings.max_delete = s->max_delete;
	e->settings.force = e->o->force;
	e->settings.now = e->now;
}

int sync_account(const struct config *cfg, const struct config_account *a,
		 const struct sync_opts *o, struct sync_report *rep,
		 struct error *err)
{
	memset(rep, 0, sizeof(*rep));
	struct engine e = {.cfg = cfg, .a = a, .o = o, .rep = rep, .now = time(NULL)};
	settings_from(&e);
	e.tree = (struct maildir_tree){
		.root = a->local.path,
		.layout = a->local.layout == CONFIG_LAYOUT_MAILDIRPP ? MAILDIR_LAYOUT_MAILDIRPP
								      : MAILDIR_LAYOUT_VERBATIM,
		.inbox = a->local.inbox,
		.delim = '/',
	};

	if (util_mkdir_p(cfg->state_dir, 0700) < 0)
		return error_errno(err, ERR_ACCOUNT, errno, "state directory %s", cfg->state_dir);
	char *db = xasprintf("%s/%s.db", cfg->state_dir, a->name);
	char *lockpath = xasprintf("%s.lock", db);
	struct state_lock *lock = NULL;
	int r = state_lock_acquire(lockpath, &lock, err);
	free(lockpath);
	if (r == STATE_LOCK_BUSY) {
		free(db);
		return SYNC_LOCKED;
	}
	if (r < 0) {
		free(db);
		return r;
	}
	e.db_path = db;
	r = state_open(db, &e.st, err);
	if (r == 0)
		r = check_root(&e, err);
	if (r == 0)
		r = sync_connect(&e, true, err);
	if (r == 0 && !o->dry_run)
		r = state_intent_pending(e.st, &e.intents, &e.n_intents, err);
	if (r == 0)
		r = sync_folders(&e, err);
	if (r == 0 && !o->dry_run)
		r = state_intent_prune(e.st, err);
	if (e.imap) {
		struct error lerr = ERROR_INIT;
		if (r == 0)
			imap_logout(e.imap, &lerr);
		error_clear(&lerr);
		imap_close(e.imap);
	}
	state_intents_free(e.intents, e.n_intents);
	free(e.selected);
	state_close(e.st);
	state_lock_release(lock);
	free(db);
	return r < 0 ? r : 0;
}
