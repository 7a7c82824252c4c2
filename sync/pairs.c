/* SPDX-License-Identifier: MIT */
/*
 * A folder pair's operations before its messages sync: create it where it
 * is missing, delete it where it was removed (once proven to hold nothing
 * unsynced, and checked again right before a DELETE), restore it where it
 * went when in doubt, forget it when gone from both sides, or refuse by
 * the max_delete guard (plan_folder_op() decides which).
 */
#include "sync-private.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* A folder error spoils that folder only; an account error ends the run. */
int sync_folder_failed(struct engine *e, const char *name, int r, struct error *err)
{
	if (err->reach == ERR_ACCOUNT)
		return r;
	sync_emit(e, SYNC_EV_FOLDER_FAILED, name, err->msg, NULL);
	e->rep->folders_failed++;
	error_clear(err);
	return 0;
}

static int create_local(struct engine *e, const char *name, const char *rel,
			struct error *err)
{
	if (e->o->dry_run) {
		char *text = xasprintf("create local folder %s", rel[0] ? rel : "(root)");
		sync_emit(e, SYNC_EV_PLAN, name, text, NULL);
		free(text);
		return 0;
	}
	char *path = maildir_folder_path(&e->tree, rel);
	sync_step(e, "create-local-folder");
	int r = maildir_folder_create(path, err);
	free(path);
	if (r == 0) {
		e->rep->counts.folders_created++;
		e->rep->local_changed = true;
	}
	return r;
}

static int create_remote(struct engine *e, const char *name, char **wire_r,
			 struct error *err)
{
	int r = imap_mailbox_wire(e->imap, name, wire_r, err);
	if (r < 0)
		return r;
	if (e->o->dry_run) {
		char *text = xasprintf("create folder %s on the server", name);
		sync_emit(e, SYNC_EV_PLAN, name, text, NULL);
		free(text);
		return 0;
	}
	sync_step(e, "create-remote-folder");
	r = imap_create(e->imap, *wire_r, err);
	if (r == 0)
		e->rep->counts.folders_created++;
	return r;
}

static int forget_folder(struct engine *e, const struct state_folder *sf,
			 struct error *err)
{
	if (e->o->dry_run)
		return 0;
	return state_folder_delete(e->st, sf->id, err);
}

static void plan_line(struct engine *e, const char *folder, const char *fmt, ...)
	UTIL_PRINTF(3, 4);
static void plan_line(struct engine *e, const char *folder, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *text = xvasprintf(fmt, ap);
	va_end(ap);
	sync_emit(e, SYNC_EV_PLAN, folder, text, NULL);
	free(text);
}

struct clean_ctx {
	const struct state_msgs *m;
	size_t matched;
	bool differs;
};

static int on_clean_fetch(void *ctx, const struct imap_response *r, struct error *err)
{
	struct clean_ctx *cc = ctx;
	if (r->kind != IMAP_RESP_UNTAGGED || r->type != IMAP_U_FETCH ||
	    !(r->fetch.have & IMAP_FETCH_UID))
		return 0;
	unsigned flags = sync_flags_from_imap(&r->fetch.flags, NULL);
	/* state_msg_load orders by UID. */
	const struct state_msgs *m = cc->m;
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->msgs[mid].uid < r->fetch.uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < m->n && m->msgs[lo].uid == r->fetch.uid && m->msgs[lo].flags == flags)
		cc->matched++;
	else
		cc->differs = true;
	return 0;
}

/* The server folder holds nothing the state does not: the same
 * UIDVALIDITY, UIDNEXT and message count and no flag changed.  With
 * CONDSTORE the status says it (HIGHESTMODSEQ); without, the folder's
 * flags are fetched and compared. */
static int remote_clean(struct engine *e, const struct pair *p,
			const struct state_msgs *m, bool *clean_r, struct error *err)
{
	*clean_r = false;
	size_t on_server = 0;
	for (size_t i = 0; i < m->n; i++)
		on_server += m->msgs[i].uid != 0;
	if (e->condstore) {
		struct imap_counts c = p->rf->counts;
		const unsigned need = IMAP_STATUS_MESSAGES | IMAP_STATUS_UIDNEXT |
				      IMAP_STATUS_UIDVALIDITY | IMAP_STATUS_HIGHESTMODSEQ;
		if ((c.have & need) != need) {
			int r = imap_status(e->imap, p->rf->wire, &c, err);
			if (r < 0)
				return r;
		}
		*clean_r = (c.have & need) == need && c.uidvalidity == p->sf->uidvalidity &&
			   c.uidnext == p->sf->uidnext &&
			   c.highestmodseq == p->sf->highestmodseq && c.messages == on_server;
		return 0;
	}
	struct imap_select_opts so = {.examine = true};
	struct imap_mailbox mb = {0};
	int r = sync_select(e, p->rf->wire, &so, &mb, err);
	struct clean_ctx cc = {m, 0, false};
	if (r == 0 && mb.uidvalidity == p->sf->uidvalidity && mb.uidnext == p->sf->uidnext &&
	    mb.exists == on_server) {
		struct imap_cmd_cb cb = {.untagged = on_clean_fetch, .ctx = &cc};
		if (mb.exists)
			r = imap_uid_fetch(e->imap, "1:*", "UID FLAGS", 0, false, &cb, err);
		*clean_r = r == 0 && !cc.differs && cc.matched == on_server;
	}
	imap_mailbox_free(&mb);
	return r;
}

/* 1 if a STATUS now still shows the folder as the state has it, 0 if not. */
static int still_unchanged(struct engine *e, const struct pair *p, const char *wire,
			   const struct state_msgs *m, struct error *err)
{
	size_t on_server = 0;
	for (size_t i = 0; i < m->n; i++)
		on_server += m->msgs[i].uid != 0;
	struct imap_counts c = {0};
	int r = imap_status(e->imap, wire, &c, err);
	if (r < 0)
		return r;
	bool same = (c.have & IMAP_STATUS_UIDNEXT) && (c.have & IMAP_STATUS_MESSAGES) &&
		    c.uidnext == p->sf->uidnext && c.messages == on_server &&
		    (!(c.have & IMAP_STATUS_HIGHESTMODSEQ) ||
		     c.highestmodseq == p->sf->highestmodseq);
	return same ? 1 : 0;
}

/* The local folder holds nothing the state does not: every file known,
 * with the flags the state has for it.  Files the state knows may be
 * missing: removed by the user, or by a run that was removing this
 * folder and was interrupted (counting those as changes would upload
 * the rest to a new server folder). */
static int local_clean(struct engine *e, const char *path, const struct state_msgs *m,
		       bool *clean_r, struct error *err)
{
	struct maildir_scan scan;
	int r = maildir_scan(path, &scan, err);
	if (r < 0)
		return r;
	size_t matched = 0;
	for (size_t i = 0; i < m->n; i++) {
		if (!m->msgs[i].local)
			continue;
		const struct maildir_entry *me = maildir_scan_find(&scan, m->msgs[i].local);
		matched += me && me->flags == m->msgs[i].local_flags;
	}
	*clean_r = matched == scan.n && scan.n_skipped == 0;
	maildir_scan_release(&scan);
	return 0;
}

/* Removes a clean local folder: its files (all known to the state), then
 * the folder itself, then the state's record of it. */
static int delete_local_folder(struct engine *e, const char *path,
			       const struct pair *p, const struct state_msgs *m,
			       struct error *err)
{
	int r = 0;
	for (size_t i = 0; i < m->n && r == 0; i++) {
		if (!m->msgs[i].local)
			continue;
		struct maildir_entry me;
		int found = maildir_find(path, m->msgs[i].local, &me, err);
		if (found < 0)
			return found;
		if (found) {
			sync_step(e, "delete-local-folder-file");
			r = maildir_delete(path, &me, MAILDIR_OP_NO_SYNC, err);
			if (r == 0) {
				char *gone = sync_file_path(path, me.sub, me.name);
				sync_note(e, 'D', gone, NULL);
				free(gone);
			}
			maildir_entry_release(&me);
		}
	}
	if (r == 0) {
		sync_step(e, "delete-local-folder");
		r = maildir_folder_remove(path, err);
	}
	if (r == 0) {
		sync_step(e, "delete-local-folder-state");
		r = state_folder_delete(e->st, p->sf->id, err);
	}
	if (r == 0) {
		e->rep->counts.folders_deleted++;
		e->rep->local_changed = true;
	}
	return r;
}

int sync_pair_prepare(struct engine *e, const struct pair *p,
		      struct folder_run **f_r, struct error *err)
{
	*f_r = NULL;
	char *rel = NULL, *wire = NULL, *path = NULL;
	struct state_msgs msgs = {NULL, 0};
	unsigned present = 0;
	int r = 0;
	if (p->lf) {
		rel = xstrdup(p->lf->rel);
		present |= ON_DISK;
	} else {
		r = maildir_remote_to_local(&e->tree, p->name, &rel, err);
		if (r < 0)
			return r;
	}
	if (p->rf) {
		wire = xstrdup(p->rf->wire);
		present |= ON_SERVER;
	}
	path = maildir_folder_path(&e->tree, rel);

	struct plan_folder_in in = {.remote = p->rf, .local = p->lf, .known = p->sf};
	if (p->sf && (!p->rf || !p->lf)) {
		r = state_msg_load(e->st, p->sf->id, &msgs, err);
		in.messages = msgs.n;
		if (r == 0 && p->rf)
			r = remote_clean(e, p, &msgs, &in.remote_clean, err);
		if (r == 0 && p->lf)
			r = local_clean(e, path, &msgs, &in.local_clean, err);
		if (r < 0)
			goto out;
	}

	enum plan_folder_op op = plan_folder_op(&in, &e->settings);
	switch (op) {
	case PLAN_FOLDER_SKIP:
		goto out;
	case PLAN_FOLDER_FORGET:
		r = forget_folder(e, p->sf, err);
		goto out;
	case PLAN_FOLDER_REFUSE: {
		char *text = xasprintf("refusing to delete the folder %s with %zu messages "
				       "(it was removed %s; more than max_delete %u%%); "
				       "run with --force to allow it", p->name, in.messages,
				       p->rf ? "locally" : "on the server",
				       e->settings.max_delete);
		sync_emit(e, SYNC_EV_FOLDER_REFUSED, p->name, text, NULL);
		e->rep->folders_refused++;
		if (!e->o->dry_run) {
			struct state_folder sf = *p->sf;
			sf.refused = text;
			r = state_folder_update(e->st, &sf, err);
		}
		free(text);
		goto out;
	}
	case PLAN_FOLDER_DELETE_REMOTE:
		if (e->o->dry_run) {
			plan_line(e, p->name, "delete folder %s on the server (removed locally)",
				  p->name);
			goto out;
		}
		/* Mail may have arrived since the LIST: look once more,
		 * right before the DELETE that would take it along. */
		r = still_unchanged(e, p, wire, &msgs, err);
		if (r == 0) {
			r = error_set(err, ERR_FOLDER, "not deleting the server folder %s "
				      "(removed locally): it changed during the run", p->name);
			goto out;
		}
		if (r < 0)
			goto out;
		sync_step(e, "delete-remote-folder");
		r = imap_delete(e->imap, wire, err);
		if (r == 0) {
			sync_step(e, "delete-remote-folder-state");
			r = state_folder_delete(e->st, p->sf->id, err);
		}
		if (r == 0)
			e->rep->counts.folders_deleted++;
		goto out;
	case PLAN_FOLDER_DELETE_LOCAL:
		if (e->o->dry_run) {
			plan_line(e, p->name, "delete local folder %s (removed on the server)",
				  rel[0] ? rel : "(root)");
			goto out;
		}
		r = delete_local_folder(e, path, p, &msgs, err);
		goto out;
	case PLAN_FOLDER_RESTORE_LOCAL:
	case PLAN_FOLDER_CREATE_LOCAL:
		if (op == PLAN_FOLDER_RESTORE_LOCAL)
			r = forget_folder(e, p->sf, err);
		if (r == 0)
			r = create_local(e, p->name, rel, err);
		if (r == 0 && !e->o->dry_run)
			present |= ON_DISK;
		break;
	case PLAN_FOLDER_RESTORE_REMOTE:
	case PLAN_FOLDER_CREATE_REMOTE:
		if (op == PLAN_FOLDER_RESTORE_REMOTE)
			r = forget_folder(e, p->sf, err);
		if (r == 0)
			r = create_remote(e, p->name, &wire, err);
		if (r == 0 && !e->o->dry_run)
			present |= ON_SERVER;
		break;
	case PLAN_FOLDER_SYNC:
		break;
	}
	if (r == 0)
		r = sync_folder_prepare(e, p->name, wire, rel, present, p->rf, f_r, err);
out:
	state_msgs_release(&msgs);
	free(path);
	free(rel);
	free(wire);
	return r;
}

