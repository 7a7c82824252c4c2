/* SPDX-License-Identifier: MIT */
/*
 * Carrying out a folder's plan.  The order is chosen so that a run killed
 * at any point loses and duplicates nothing (docs/sync.md):
 *
 *   1. local renames and unlinks, then their directories synced;
 *   2. flag STOREs on the server (pipelined, UNCHANGEDSINCE with
 *      CONDSTORE: a message changed meanwhile answers MODIFIED, keeps its
 *      state entry, and is merged on the next run instead of overwritten);
 *   3. expunges of messages whose files were removed (\Deleted, then UID
 *      EXPUNGE of exactly those UIDs);
 *   4. downloads, in batches: intents committed, bodies streamed into
 *      tmp/, the batch made durable;
 *   5. uploads: intent committed, APPEND, then the state row with the
 *      APPENDUID and the confirmation in one transaction;
 *   6. state-only changes and the folder's record.
 *
 * The state rows that record 1-4 wait in memory (pending.c) and go into
 * the next transaction the folder opens anyway: the next batch's or
 * upload's intents, or the last one.  A crash before it loses nothing:
 * the next run sees the same changes again in its views (and finds them
 * already made on the other side) or replays the download intents.
 */
#include "sync-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imap-uidset.h"

/* The state row of an action, or NULL for a message new on one side. */
static struct state_msg *row(struct folder_run *f, const struct plan_action *a)
{
	return a->state_index == SIZE_MAX ? NULL : &f->msgs.msgs[a->state_index];
}

/* The file of a state entry, from the folder's listing: the view's scan,
 * or, when the state stood in for one, a listing read once for the
 * whole run (a readdir per file made n changes cost n listings).  A
 * file renamed since is found again by maildir_move/maildir_set_flags.
 * 1 found, 0 gone, negative on error. */
int sync_find_file(struct folder_run *f, const char *unique,
		   struct maildir_entry *e_r, struct error *err)
{
	if (!f->scanned && !f->listed) {
		int r = maildir_scan(f->path, &f->scan, err);
		if (r < 0)
			return r;
		f->listed = true;
	}
	const struct maildir_entry *e = maildir_scan_find(&f->scan, unique);
	if (!e) /* moved in during this run, or gone: rare, so a readdir */
		return maildir_find(f->path, unique, e_r, err);
	*e_r = *e;
	e_r->unique = xstrdup(e->unique);
	e_r->name = xstrdup(e->name);
	e_r->extra = e->extra ? xstrdup(e->extra) : NULL;
	return 1;
}

/* The server's flags of uid in the view (fallback if it is not there). */
static unsigned server_flags(const struct folder_run *f, uint32_t uid, unsigned fallback)
{
	ssize_t k = uid ? sync_remote_index(f, uid) : -1;
	return k >= 0 ? f->premote[k].flags : fallback;
}

/* The action of kind op for a state row, or NULL. */
static const struct plan_action *action_for(const struct plan *p, enum plan_op op,
					    size_t state_index)
{
	for (size_t i = 0; i < p->n_actions; i++)
		if (p->actions[i].op == op && p->actions[i].state_index == state_index)
			return &p->actions[i];
	return NULL;
}

static const struct plan_action *remote_action(const struct plan *p, size_t state_index)
{
	return action_for(p, PLAN_REMOTE_FLAGS, state_index);
}

/* ---- 1. local ---------------------------------------------------------- */

static int exec_local(struct folder_run *f, const struct plan *p, struct error *err)
{
	bool any = false;
	bool *done = xcalloc(p->n_actions ? p->n_actions : 1, sizeof(*done));
	int r = 0;
	for (size_t i = 0; i < p->n_actions && r == 0; i++) {
		const struct plan_action *a = &p->actions[i];
		if (a->op != PLAN_LOCAL_FLAGS && a->op != PLAN_DELETE_LOCAL)
			continue;
		struct maildir_entry e;
		int found = sync_find_file(f, a->name, &e, err);
		if (found < 0) {
			r = found;
			break;
		}
		if (found == 0) {
			/* Gone since the scan: the next run sees it. */
			continue;
		}
		sync_step(f->e, a->op == PLAN_LOCAL_FLAGS ? "local-flags" : "local-delete");
		char *before = sync_file_path(f->path, e.sub, e.name);
		if (a->op == PLAN_LOCAL_FLAGS)
			r = maildir_set_flags(f->path, &e, a->lflags, e.extra,
					      MAILDIR_OP_NO_SYNC, err);
		else
			r = maildir_delete(f->path, &e, MAILDIR_OP_NO_SYNC, err);
		if (r == 0 && a->op == PLAN_LOCAL_FLAGS) {
			char *after = sync_file_path(f->path, e.sub, e.name);
			sync_note(f->e, 'R', before, after);
			free(after);
		} else if (r == 0) {
			sync_note(f->e, 'D', before, NULL);
		}
		free(before);
		maildir_entry_release(&e);
		if (r == 0) {
			done[i] = any = true;
			if (a->op == PLAN_LOCAL_FLAGS)
				f->counts.local_flags++;
			else
				f->counts.deleted_local++;
		}
	}
	if (any) {
		f->e->rep->local_changed = true;
		sync_step(f->e, "local-sync");
		int rs = maildir_folder_sync(f->path, err);
		if (r == 0)
			r = rs;
	}
	/* Recorded with the folder's next transaction, even after a
	 * failure part way: the renames are durable now. */
	for (size_t i = 0; any && i < p->n_actions; i++) {
		if (!done[i])
			continue;
		const struct plan_action *a = &p->actions[i];
		struct state_msg *m = row(f, a);
		if (a->op == PLAN_DELETE_LOCAL) {
			sync_pending_delete(f, m->id);
		} else {
			/* The server's side as it is now.  When a STORE for
			 * this message is still to come (flags changed on
			 * both sides), the local side keeps what the state
			 * had: if the STORE fails, is refused (MODIFIED) or
			 * never happens (a crash), the next run still sees the
			 * local change and sends it. */
			m->flags = server_flags(f, m->uid, m->flags);
			if (!remote_action(p, a->state_index))
				m->local_flags = a->lflags;
			sync_pending_update(f, m);
		}
	}
	free(done);
	return r;
}

/* ---- 2. and 3. the server's flags and expunges -------------------------- */

/* The outcome of the STORE(s) of one message. */
struct store_one {
	struct store_ctx *sc;
	bool refused;      /* NO, BAD or MODIFIED: the state keeps the row */
};

struct store_ctx {
	struct folder_run *f;
	bool failed;
	char *why;
};

static void on_store_done(void *ctx, const struct imap_response *resp)
{
	struct store_one *one = ctx;
	if (resp->status != IMAP_STATUS_OK) {
		one->refused = true;
		one->sc->failed = true;
		if (!one->sc->why)
			one->sc->why = xstrdup(resp->text);
	} else if (resp->code.type == IMAP_CODE_MODIFIED) {
		/* UNCHANGEDSINCE refused it: another client changed the
		 * message since the view; the next run merges. */
		one->refused = true;
	}
}

static const char *keywords_of(const struct folder_run *f, uint32_t uid)
{
	const struct remote_extra *x = sync_remote_extra(f, uid);
	return x ? x->keywords : NULL;
}

static int exec_remote_flags(struct folder_run *f, const struct plan *p,
			     struct error *err)
{
	struct engine *e = f->e;
	struct store_ctx sc = {.f = f};
	struct store_one *ones = xcalloc(p->n_actions ? p->n_actions : 1, sizeof(*ones));
	size_t n = 0;
	for (size_t i = 0; i < p->n_actions; i++) {
		const struct plan_action *a = &p->actions[i];
		if (a->op != PLAN_REMOTE_FLAGS)
			continue;
		ones[i].sc = &sc;
		struct imap_cmd_cb cb = {.done = on_store_done, .ctx = &ones[i]};
		char uid[16];
		snprintf(uid, sizeof(uid), "%u", a->uid);
		sync_step(e, "remote-flags");
		if (e->condstore && f->view_modseq) {
			/* One STORE that replaces the whole flag list, valid
			 * only if nothing changed since the view was taken. */
			char *flags = sync_flags_to_imap(a->rflags, keywords_of(f, a->uid));
			imap_uid_store_submit(e->imap, uid, f->view_modseq, "FLAGS.SILENT",
					      flags, &cb);
			free(flags);
		} else {
			if (a->add) {
				char *flags = sync_flags_to_imap(a->add, NULL);
				imap_uid_store_submit(e->imap, uid, 0, "+FLAGS.SILENT", flags, &cb);
				free(flags);
			}
			if (a->remove) {
				char *flags = sync_flags_to_imap(a->remove, NULL);
				imap_uid_store_submit(e->imap, uid, 0, "-FLAGS.SILENT", flags, &cb);
				free(flags);
			}
		}
		n++;
	}
	int r = 0;
	if (n == 0)
		goto out;
	r = imap_run(e->imap, err);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < p->n_actions; i++) {
		const struct plan_action *a = &p->actions[i];
		if (a->op != PLAN_REMOTE_FLAGS || ones[i].refused)
			continue;
		/* Both sides now hold the result: the rename of step 1, if
		 * there was one, holds the final local flags. */
		const struct plan_action *ren = action_for(p, PLAN_LOCAL_FLAGS, a->state_index);
		struct state_msg *m = row(f, a);
		m->flags = a->rflags;
		m->local_flags = ren ? ren->lflags : a->lflags;
		sync_pending_update(f, m);
		f->counts.remote_flags++;
	}
	if (sc.failed)
		r = error_set(err, ERR_FOLDER, "%s: the server refused a flag change: %s",
			      f->remote, sc.why);
out:
	free(ones);
	free(sc.why);
	return r;
}

static int exec_remote_delete(struct folder_run *f, const struct plan *p,
			      struct error *err)
{
	struct engine *e = f->e;
	uint32_t *uids = xcalloc(p->n_actions ? p->n_actions : 1, sizeof(*uids));
	size_t n = 0;
	for (size_t i = 0; i < p->n_actions; i++)
		if (p->actions[i].op == PLAN_DELETE_REMOTE)
			uids[n++] = p->actions[i].uid;
	int r = 0;
	if (n == 0)
		goto out;
	if (!e->uidplus) {
		/* A plain EXPUNGE would also remove what other clients
		 * marked \Deleted: never send one. */
		r = error_set(err, ERR_FOLDER, "%s: %zu messages removed locally are not "
			      "deleted on the server, which lacks UIDPLUS (UID EXPUNGE)",
			      f->remote, n);
		goto out;
	}
	char *set = imap_uid_set_format(uids, n);
	sync_step(e, "remote-delete-store");
	r = imap_simple(e->imap, NULL, NULL, err, "UID STORE %s +FLAGS.SILENT (\\Deleted)", set);
	if (r == 0) {
		sync_step(e, "remote-expunge");
		r = imap_uid_expunge(e->imap, set, err);
	}
	free(set);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < p->n_actions; i++) {
		const struct plan_action *a = &p->actions[i];
		if (a->op != PLAN_DELETE_REMOTE)
			continue;
		sync_pending_delete(f, row(f, a)->id);
		f->counts.deleted_remote++;
	}
out:
	free(uids);
	return r;
}

/* ---- 4. downloads: download.c ---------------------------------------- */

/* ---- 5. uploads -------------------------------------------------------- */

struct upload {
	int fd;
	uint64_t left;
	uint64_t *bytes;
};

static int read_file(void *ctx, void *buf, size_t cap, size_t *n_r, struct error *err)
{
	struct upload *u = ctx;
	size_t want = cap < u->left ? cap : (size_t)u->left;
	ssize_t n;
	do
		n = read(u->fd, buf, want);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return error_errno(err, ERR_MESSAGE, errno, "read");
	if (n == 0 && want > 0)
		return error_set(err, ERR_MESSAGE, "the file shrank while it was uploaded");
	u->left -= (uint64_t)n;
	*u->bytes += (uint64_t)n;
	*n_r = (size_t)n;
	return 0;
}

static int upload_one(struct folder_run *f, const struct plan_action *a,
		      uint32_t *next_uid, struct error *err)
{
	struct engine *e = f->e;
	const struct maildir_entry *me = maildir_scan_find(&f->scan, a->name);
	if (!me)
		return 0; /* only new files are uploaded, and they come from a scan */
	char *file = xasprintf("%s/%s/%s", f->path, me->sub == MAILDIR_NEW ? "new" : "cur",
			       me->name);
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int r = errno == ENOENT ? 0 /* gone since the scan */
			: error_errno(err, ERR_MESSAGE, errno, "%s", file);
		if (fd >= 0)
			close(fd);
		free(file);
		return r;
	}
	free(file);
	char *msgid = sync_msgid_from_fd(fd);
	char next[16], uv[16], size[24], date[24], flags[8];
	snprintf(next, sizeof(next), "%u", *next_uid);
	snprintf(uv, sizeof(uv), "%u", f->mb.uidvalidity);
	snprintf(size, sizeof(size), "%llu", (unsigned long long)st.st_size);
	snprintf(date, sizeof(date), "%lld", (long long)st.st_mtim.tv_sec);
	snprintf(flags, sizeof(flags), "%u", a->lflags);
	char *params = sync_intent_params("unique", a->name, "uidnext", next,
					  "uidvalidity", uv, "msgid", msgid ? msgid : "",
					  "size", size, "date", date, "flags", flags, NULL);
	int64_t intent;
	int r = sync_txn_begin(f, err);
	if (r == 0)
		r = state_intent_record(e->st, "append", f->remote, params, &intent, err);
	r = sync_txn_end(f, r, "append-intent", err);
	uint32_t uid = 0;
	if (r == 0) {
		char *fl = sync_flags_to_imap(a->lflags, NULL);
		struct upload u = {fd, (uint64_t)st.st_size, &f->counts.bytes_up};
		struct imap_append ap = {f->wire, fl, st.st_mtim.tv_sec, (uint64_t)st.st_size,
					 read_file, &u};
		sync_step(e, "append");
		r = imap_append(e->imap, &ap, f->mb.uidvalidity, &uid, err);
		free(fl);
		/* A new message's UID is at least the UIDNEXT the SELECT gave;
		 * a lower one belongs to another message of the state. */
		if (r == 0 && uid && uid < f->mb.uidnext)
			r = error_set(err, ERR_FOLDER, "APPEND to %s: APPENDUID names UID %u, "
				      "below UIDNEXT %u (another message's)", f->remote, uid,
				      f->mb.uidnext);
	}
	if (r == 0 && uid == 0) {
		/* No APPENDUID (no UIDPLUS): look it up as a replay would. */
		struct state_intent in = {.params = params};
		r = sync_find_appended(f, &in, &uid, err);
	}
	if (r == 0) {
		/* At once, not queued: an APPEND without APPENDUID is found
		 * again only by a search that can be fooled (docs/sync.md). */
		r = sync_txn_begin(f, err);
		if (r == 0 && uid) {
			struct state_msg m = {
				.folder_id = f->sf.id, .uid = uid, .local = (char *)(uintptr_t)a->name,
				.flags = a->rflags, .local_flags = a->lflags,
				.size = (uint64_t)st.st_size, .internal_date = st.st_mtim.tv_sec,
				.message_id = msgid,
			};
			int64_t id;
			r = state_msg_insert(e->st, &m, &id, err);
			if (uid >= *next_uid)
				*next_uid = uid + 1;
		}
		if (r == 0)
			r = state_intent_confirm(e->st, intent, err);
		r = sync_txn_end(f, r, "append-state", err);
		if (r == 0)
			f->counts.uploaded++;
	}
	close(fd);
	free(params);
	free(msgid);
	return r;
}

static int exec_uploads(struct folder_run *f, const struct plan *p, struct error *err)
{
	uint32_t next_uid = f->mb.uidnext;
	for (size_t i = 0; i < p->n_actions; i++) {
		if (p->actions[i].op != PLAN_UPLOAD)
			continue;
		int r = upload_one(f, &p->actions[i], &next_uid, err);
		if (r < 0)
			return r;
		if (f->counts.uploaded % 16 == 0)
			sync_emit(f->e, SYNC_EV_PROGRESS, f->remote, NULL, &f->counts);
	}
	return 0;
}

/* ---- 6. the state alone, and the folder's record ---------------------- */

/* What the next run compares with: the server's and the Maildir's
 * stamps as the views saw them. */
static int record_folder(struct folder_run *f, struct error *err)
{
	if (f->present & ON_SERVER) {
		f->sf.uidvalidity = f->mb.uidvalidity;
		f->sf.uidnext = f->mb.uidnext;
		f->sf.highestmodseq = f->view_modseq;
	}
	if (f->scanned)
		f->sf.stamp = f->scan.stamp;
	f->sf.last_sync = f->e->now;
	free(f->sf.refused);
	f->sf.refused = NULL;
	/* An incremental view shows only what changed: messages skipped
	 * earlier are not in it, so they still count. */
	f->sf.skipped = (uint32_t)f->counts.skipped +
			(f->full_view || !(f->present & ON_SERVER) ? 0 : f->sf.skipped);
	return state_folder_update(f->e->st, &f->sf, err);
}

/* The folder's last transaction: what waits, the state-only actions and
 * the folder's record. */
static int exec_state(struct folder_run *f, const struct plan *p, struct error *err)
{
	int r = sync_txn_begin(f, err);
	for (size_t i = 0; r == 0 && i < p->n_actions; i++) {
		const struct plan_action *a = &p->actions[i];
		struct state_msg *m = row(f, a);
		if (a->op == PLAN_FORGET) {
			r = state_msg_delete(f->e->st, m->id, err);
		} else if (a->op == PLAN_UPDATE_STATE) {
			/* a->name may point into m->local itself. */
			char *name = a->name ? xstrdup(a->name) : NULL;
			free(m->local);
			m->local = name;
			m->uid = a->uid;
			m->flags = a->rflags;
			m->local_flags = a->lflags;
			r = state_msg_update(f->e->st, m, err);
		} else if (a->op == PLAN_SKIP_TOO_BIG || a->op == PLAN_SKIP_TOO_OLD) {
			f->counts.skipped++;
		}
	}
	if (r == 0)
		r = record_folder(f, err);
	return sync_txn_end(f, r, "state", err);
}

int sync_execute(struct folder_run *f, const struct plan *p, struct error *err)
{
	for (size_t i = 0; i < p->n_actions; i++) {
		const struct plan_action *a = &p->actions[i];
		if (a->op == PLAN_DOWNLOAD) {
			f->counts.planned_down++;
			f->counts.planned_bytes_down += a->size;
		} else if (a->op == PLAN_UPLOAD) {
			f->counts.planned_up++;
			f->counts.planned_bytes_up += a->size;
		}
	}
	if (f->counts.planned_down || f->counts.planned_up)
		sync_emit(f->e, SYNC_EV_PROGRESS, f->remote, NULL, &f->counts);
	int r = exec_local(f, p, err);
	if (r == 0)
		r = exec_remote_flags(f, p, err);
	if (r == 0)
		r = exec_remote_delete(f, p, err);
	if (r == 0)
		r = sync_exec_downloads(f, p, err);
	if (r == 0)
		r = exec_uploads(f, p, err);
	if (r == 0)
		return exec_state(f, p, err);
	/* A step failed: what was done before it is still recorded. */
	struct error ferr = ERROR_INIT;
	sync_pending_flush(f, "state-after-failure", &ferr);
	error_clear(&ferr);
	return r;
}

char *sync_action_text(const struct folder_run *f, const struct plan_action *a)
{
	char lf[7], add[7], rm[7];
	plan_flags_letters(a->lflags, lf);
	plan_flags_letters(a->add, add);
	plan_flags_letters(a->remove, rm);
	switch (a->op) {
	case PLAN_DOWNLOAD:
		return xasprintf("download UID %u (%llu bytes) flags %s", a->uid,
				 (unsigned long long)a->size, lf);
	case PLAN_UPLOAD:
		return xasprintf("upload %s (%llu bytes) flags %s", a->name,
				 (unsigned long long)a->size, lf);
	case PLAN_REMOTE_FLAGS:
		return xasprintf("server flags of UID %u:%s%s%s%s", a->uid, *add ? " +" : "",
				 add, *rm ? " -" : "", rm);
	case PLAN_LOCAL_FLAGS:
		return xasprintf("local flags of %s: %s", a->name, *lf ? lf : "none");
	case PLAN_DELETE_LOCAL:
		return xasprintf("delete local %s (expunged on the server)", a->name);
	case PLAN_DELETE_REMOTE:
		return xasprintf("delete UID %u on the server (file removed)", a->uid);
	case PLAN_SKIP_TOO_BIG:
		if (a->name)
			return xasprintf("skip %s (%llu bytes, over max_size)", a->name,
					 (unsigned long long)a->size);
		return xasprintf("skip UID %u (%llu bytes, over max_size)", a->uid,
				 (unsigned long long)a->size);
	case PLAN_SKIP_TOO_OLD:
		if (a->name)
			return xasprintf("skip %s (older than max_age)", a->name);
		return xasprintf("skip UID %u (older than max_age)", a->uid);
	case PLAN_FORGET:
	case PLAN_UPDATE_STATE:
		break;
	}
	return NULL;
}
