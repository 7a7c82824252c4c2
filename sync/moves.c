/* SPDX-License-Identifier: MIT */
/*
 * Moves between folders (SPEC.md section 4): a message that left folder A
 * and appeared in folder B is moved on the other side too, instead of
 * being copied again and deleted.  This runs between the two halves of
 * the folder syncs, when every folder's three views are known:
 *
 *   - on the server: a state row of A whose UID is gone, and a message
 *     new in B with the same EMAILID (RFC 8474, where the server has
 *     OBJECTID), else the same Message-ID (and the same size or
 *     INTERNALDATE), found in exactly one place.  The file follows:
 *     renamed into B (same name, same inode).  Messages without a
 *     Message-ID are never matched by guess.
 *   - locally: a state row of A whose file is gone, and a file of the
 *     same unique part new in B.  The server follows: UID MOVE, the new
 *     UID from COPYUID.
 *   - both: the server's place wins; the file follows it.
 *
 * A message moved on one side and removed on the other is not matched:
 * the ordinary rules then keep the moved copy on both sides.  Once a
 * move is done the views are changed as if it had been so at the last
 * sync, and the folders' plans merge flags as usual.
 *
 * Crash safety: a file rename or a UID MOVE whose state update was lost
 * is found again by the same matching on the next run (gone from A on
 * both sides, new in B on both sides: the state is re-keyed).  A server
 * without MOVE gets COPY + \Deleted + UID EXPUNGE, which is not atomic, so
 * every server move is journaled: a replay finishes an expunge that a
 * crash left undone.
 */
#include "sync-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum move_kind {
	MOVE_FILE,     /* the server moved it: the file follows */
	MOVE_REKEY,    /* both sides already agree: only the state changes */
	MOVE_SERVER,   /* the file moved: UID MOVE on the server */
	MOVE_FAILED,   /* the server refused it: the folders' plans decide */
};

struct move {
	enum move_kind kind;
	struct folder_run *from;  /* the folder of the state row */
	size_t row;               /* index in from->msgs */
	struct folder_run *to;    /* where it ends */
	uint32_t to_uid;          /* its UID there (0 until a MOVE gives it) */
	struct folder_run *file_in; /* where the file is now */
};

/* A message new on one side, for lookups across folders. */
struct fresh {
	const char *key;          /* unique part, or Message-ID */
	struct folder_run *run;
	size_t idx;               /* in run->plocal or run->premote */
	bool ambiguous, used;
};

static int cmp_fresh(const void *a, const void *b)
{
	return strcmp(((const struct fresh *)a)->key, ((const struct fresh *)b)->key);
}

static void fresh_sort(struct fresh *v, size_t n)
{
	if (n == 0)
		return; /* v may be NULL: qsort must not see it */
	qsort(v, n, sizeof(*v), cmp_fresh);
	for (size_t i = 1; i < n; i++)
		if (!strcmp(v[i].key, v[i - 1].key))
			v[i].ambiguous = v[i - 1].ambiguous = true;
}

static struct fresh *fresh_find(struct fresh *v, size_t n, const char *key)
{
	if (n == 0)
		return NULL;
	struct fresh k = {.key = key};
	struct fresh *f = bsearch(&k, v, n, sizeof(*v), cmp_fresh);
	return f && !f->ambiguous && !f->used ? f : NULL;
}

static bool both_sides(const struct folder_run *f)
{
	return f && (f->present & (ON_SERVER | ON_DISK)) == (ON_SERVER | ON_DISK);
}

/*
 * Lookups for the matching, built once per folder so that matching stays
 * O(n log n) on large folders: the state's UIDs and names, the files by
 * name.  The server view is sorted by UID already.
 */
struct run_index {
	uint32_t *uids;
	size_t n_uids;
	const char **names;
	size_t n_names;
	const struct plan_local_msg **files;
};

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_file(const void *a, const void *b)
{
	return strcmp((*(const struct plan_local_msg *const *)a)->name,
		      (*(const struct plan_local_msg *const *)b)->name);
}

static void index_run(const struct folder_run *f, struct run_index *ix)
{
	size_t n = f->msgs.n ? f->msgs.n : 1;
	ix->uids = xcalloc(n, sizeof(*ix->uids));
	ix->names = xcalloc(n, sizeof(*ix->names));
	ix->n_uids = ix->n_names = 0;
	for (size_t i = 0; i < f->msgs.n; i++) {
		if (f->msgs.msgs[i].uid)
			ix->uids[ix->n_uids++] = f->msgs.msgs[i].uid;
		if (f->msgs.msgs[i].local)
			ix->names[ix->n_names++] = f->msgs.msgs[i].local;
	}
	qsort(ix->uids, ix->n_uids, sizeof(*ix->uids), cmp_u32);
	qsort(ix->names, ix->n_names, sizeof(*ix->names), cmp_name);
	ix->files = xcalloc(f->n_local ? f->n_local : 1, sizeof(*ix->files));
	for (size_t i = 0; i < f->n_local; i++)
		ix->files[i] = &f->plocal[i];
	qsort(ix->files, f->n_local, sizeof(*ix->files), cmp_file);
}

static void index_free(struct run_index *ix)
{
	free(ix->uids);
	free(ix->names);
	free(ix->files);
}

static bool state_has_uid(const struct run_index *ix, uint32_t uid)
{
	return ix->n_uids && bsearch(&uid, ix->uids, ix->n_uids, sizeof(*ix->uids), cmp_u32);
}

static bool state_has_local(const struct run_index *ix, const char *name)
{
	return ix->n_names && bsearch(&name, ix->names, ix->n_names, sizeof(*ix->names),
				      cmp_name);
}

static bool has_file(const struct folder_run *f, const struct run_index *ix,
		     const char *name)
{
	struct plan_local_msg key = {.name = name};
	const struct plan_local_msg *k = &key;
	return f->n_local && bsearch(&k, ix->files, f->n_local, sizeof(*ix->files), cmp_file);
}

/* After moves changed the views: a plain search. */

static ssize_t remote_index(const struct folder_run *f, uint32_t uid)
{
	return sync_remote_index(f, uid);
}

/* ---- matching ---------------------------------------------------------- */

struct matcher {
	struct run_index *ix;   /* one per run, index-aligned */
	/* Server moves need UIDPLUS (COPYUID for the new UID, UID EXPUNGE
	 * for the COPY fallback): without it a file moved locally is
	 * uploaded and its old copy left (deletions need UIDPLUS too).  And
	 * only where changes may travel to the server (direction, --pull). */
	bool server_moves;
	/* Files follow the server only where changes may travel down. */
	bool file_moves;
	struct fresh *nl, *nr;  /* new files, new server messages */
	struct fresh *ne;       /* new server messages by EMAILID */
	size_t n_nl, n_nr, n_ne;
	struct move *moves;
	size_t n_moves, cap_moves;
};

static void collect(struct matcher *m, struct folder_run **runs, size_t n)
{
	size_t cap_l = 0, cap_r = 0, cap_e = 0;
	m->ix = xcalloc(n ? n : 1, sizeof(*m->ix));
	for (size_t k = 0; k < n; k++) {
		struct folder_run *f = runs[k];
		if (!both_sides(f))
			continue;
		index_run(f, &m->ix[k]);
		for (size_t i = 0; f->scanned && i < f->n_local; i++)
			if (!state_has_local(&m->ix[k], f->plocal[i].name)) {
				m->nl = xgrow(m->nl, sizeof(*m->nl), m->n_nl + 1, &cap_l);
				m->nl[m->n_nl++] = (struct fresh){f->plocal[i].name, f, i, false, false};
			}
		for (size_t i = 0; i < f->n_remote; i++) {
			if (state_has_uid(&m->ix[k], f->premote[i].uid))
				continue;
			if (f->rx[i].msgid) {
				m->nr = xgrow(m->nr, sizeof(*m->nr), m->n_nr + 1, &cap_r);
				m->nr[m->n_nr++] = (struct fresh){f->rx[i].msgid, f, i, false, false};
			}
			if (f->rx[i].emailid) {
				m->ne = xgrow(m->ne, sizeof(*m->ne), m->n_ne + 1, &cap_e);
				m->ne[m->n_ne++] = (struct fresh){f->rx[i].emailid, f, i, false, false};
			}
		}
	}
	fresh_sort(m->nl, m->n_nl);
	fresh_sort(m->nr, m->n_nr);
	fresh_sort(m->ne, m->n_ne);
}

/* A server message is listed by Message-ID and by EMAILID: once matched,
 * it is used under both. */
static void use_remote(struct matcher *m, const struct fresh *S)
{
	for (size_t i = 0; i < m->n_nr; i++)
		if (m->nr[i].run == S->run && m->nr[i].idx == S->idx)
			m->nr[i].used = true;
	for (size_t i = 0; i < m->n_ne; i++)
		if (m->ne[i].run == S->run && m->ne[i].idx == S->idx)
			m->ne[i].used = true;
}

static void add_move(struct matcher *m, struct move mv)
{
	m->moves = xgrow(m->moves, sizeof(*m->moves), m->n_moves + 1, &m->cap_moves);
	m->moves[m->n_moves++] = mv;
}

/* Same message: the same Message-ID found once, and the same size or
 * the same INTERNALDATE (a server counts the size of an uploaded file
 * with bare LFs in CRLFs, so either may differ, not both). */
static bool same_message(const struct state_msg *s, const struct plan_remote_msg *r)
{
	return (s->size && s->size == r->size) ||
	       (s->internal_date && s->internal_date == r->date);
}

static void match(struct matcher *m, struct folder_run **runs, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		struct folder_run *a = runs[k];
		if (!both_sides(a))
			continue;
		for (size_t i = 0; i < a->msgs.n; i++) {
			const struct state_msg *s = &a->msgs.msgs[i];
			bool rg = s->uid && remote_index(a, s->uid) < 0;
			bool lg = a->scanned && s->local && !has_file(a, &m->ix[k], s->local);
			if (!rg && !lg)
				continue;
			struct fresh *L = lg ? fresh_find(m->nl, m->n_nl, s->local) : NULL;
			struct fresh *S = NULL;
			if (rg && s->emailid)
				S = fresh_find(m->ne, m->n_ne, s->emailid);
			if (S && S->run == a)
				S = NULL;
			if (!S && rg && s->message_id) {
				S = fresh_find(m->nr, m->n_nr, s->message_id);
				if (S && (S->run == a ||
					  !same_message(s, &S->run->premote[S->idx])))
					S = NULL;
			}
			if (L && L->run == a)
				L = NULL;
			if (rg && S && !lg && !s->local) {
				/* No file (kept gone by a setting): the state
				 * row follows the server, nothing else. */
				use_remote(m, S);
				add_move(m, (struct move){MOVE_REKEY, a, i, S->run,
							  S->run->premote[S->idx].uid, S->run});
			} else if (rg && S && !lg && m->file_moves) {
				use_remote(m, S);
				add_move(m, (struct move){MOVE_FILE, a, i, S->run,
							  S->run->premote[S->idx].uid, a});
			} else if (rg && S && lg && L && (L->run == S->run || m->file_moves)) {
				use_remote(m, S);
				L->used = true;
				add_move(m, (struct move){L->run == S->run ? MOVE_REKEY : MOVE_FILE,
							  a, i, S->run, S->run->premote[S->idx].uid,
							  L->run});
			} else if (!rg && lg && L && m->server_moves && s->uid && s->message_id) {
				/* A UID MOVE whose answer is lost to a crash is
				 * found again by its Message-ID, so only messages
				 * that have one are moved; others are uploaded
				 * in their new folder and deleted in the old. */
				L->used = true;
				add_move(m, (struct move){MOVE_SERVER, a, i, L->run, 0, L->run});
			}
		}
	}
}

/* ---- carrying out ------------------------------------------------------ */

static int file_move(struct folder_run *from, struct folder_run *to,
		     const char *unique, struct error *err)
{
	struct maildir_entry e;
	int r = sync_find_file(from, unique, &e, err);
	if (r <= 0)
		return r; /* gone meanwhile: the next run sees it */
	sync_step(from->e, "move-file");
	char *before = sync_file_path(from->path, e.sub, e.name);
	r = maildir_move(from->path, &e, to->path, MAILDIR_OP_NO_SYNC, err);
	if (r == 0) {
		char *after = sync_file_path(to->path, e.sub, e.name);
		sync_note(from->e, 'R', before, after);
		free(after);
	}
	free(before);
	maildir_entry_release(&e);
	return r;
}

/* fsyncs each folder that files were moved out of or into, once. */
static int sync_moved_folders(const struct move *moves, size_t n, struct error *err)
{
	struct folder_run **done = xcalloc(2 * n + 1, sizeof(*done));
	size_t n_done = 0;
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		if (moves[i].kind != MOVE_FILE)
			continue;
		struct folder_run *both[2] = {moves[i].to, moves[i].file_in};
		for (size_t k = 0; k < 2 && r == 0; k++) {
			size_t j = 0;
			while (j < n_done && done[j] != both[k])
				j++;
			if (j < n_done)
				continue;
			done[n_done++] = both[k];
			r = maildir_folder_sync(both[k]->path, err);
		}
	}
	free(done);
	return r;
}

struct copyuid_map {
	struct imap_uid_set src, dst;
};

/* The UID MOVEs from one folder to another, as one command; each move's
 * to_uid is set from COPYUID. */
static int server_moves(struct engine *e, struct move *mv, size_t n, struct error *err)
{
	struct folder_run *from = mv[0].from, *to = mv[0].to;
	uint32_t *uids = xcalloc(n, sizeof(*uids));
	for (size_t i = 0; i < n; i++)
		uids[i] = from->msgs.msgs[mv[i].row].uid;
	char *set = imap_uid_set_format(uids, n);

	/* Journal first: without MOVE the server gets COPY, \Deleted and
	 * UID EXPUNGE, and a crash between them must be finished later. */
	int64_t *intents = xcalloc(n, sizeof(*intents));
	char next[16];
	snprintf(next, sizeof(next), "%u", to->mb.uidnext);
	int r = state_begin(e->st, err);
	for (size_t i = 0; r == 0 && i < n; i++) {
		const struct state_msg *s = &from->msgs.msgs[mv[i].row];
		char uid[16];
		snprintf(uid, sizeof(uid), "%u", s->uid);
		char *params = sync_intent_params("uid", uid, "to", to->remote,
						  "uidnext", next, "msgid",
						  s->message_id ? s->message_id : "", NULL);
		r = state_intent_record(e->st, "move", from->remote, params, &intents[i], err);
		free(params);
	}
	if (r == 0) {
		sync_step(e, "move-intents");
		r = state_commit(e->st, err);
	}
	if (r < 0)
		state_rollback(e->st);

	struct imap_code_copy copy = {0};
	if (r == 0 && (!e->selected || strcmp(e->selected, from->wire))) {
		struct imap_select_opts so = {.condstore = e->condstore};
		struct imap_mailbox mb = {0};
		r = sync_select(e, from->wire, &so, &mb, err);
		imap_mailbox_free(&mb);
	}
	if (r == 0 && imap_has_cap(e->imap, "MOVE")) {
		sync_step(e, "uid-move");
		r = imap_uid_move(e->imap, set, to->wire, &copy, err);
	} else if (r == 0) {
		/* RFC 6851's fallback, one journaled step at a time. */
		sync_step(e, "uid-copy");
		r = imap_uid_copy(e->imap, set, to->wire, &copy, err);
		if (r == 0) {
			sync_step(e, "copy-delete");
			r = imap_simple(e->imap, NULL, NULL, err,
					"UID STORE %s +FLAGS.SILENT (\\Deleted)", set);
		}
		if (r == 0) {
			sync_step(e, "copy-expunge");
			r = imap_uid_expunge(e->imap, set, err);
		}
	}
	/* COPYUID is believed only when it can be true: the destination's
	 * UIDVALIDITY, as many UIDs as were moved (a set of 2^32 would
	 * also keep the loop below busy for hours), and new UIDs at or
	 * above the destination's UIDNEXT.  Else it is ignored, as if the
	 * server had sent none. */
	struct imap_uid_set src = {0}, dst = {0};
	bool trusted = r == 0 && copy.uids && copy.src_uids &&
		       (!to->mb.uidvalidity || copy.uidvalidity == to->mb.uidvalidity) &&
		       imap_uid_set_parse(copy.src_uids, &src) == 0 &&
		       imap_uid_set_parse(copy.uids, &dst) == 0 &&
		       imap_uid_set_count(&src) == n && imap_uid_set_count(&dst) == n;
	for (size_t i = 0; trusted && i < n; i++)
		for (uint64_t k = 0; k < n; k++)
			if (imap_uid_set_nth(&src, k) == uids[i])
				mv[i].to_uid = imap_uid_set_nth(&dst, k);
	for (size_t i = 0; trusted && i < n; i++)
		trusted = mv[i].to_uid >= to->mb.uidnext;
	if (r == 0 && copy.uids && !trusted) {
		for (size_t i = 0; i < n; i++)
			mv[i].to_uid = 0;
		char *text = xasprintf("UID MOVE to %s: COPYUID %u %.40s %.40s does not fit "
				       "(UIDVALIDITY %u, %zu UIDs from %u); ignored, the "
				       "next run finds the moved messages again",
				       to->remote, copy.uidvalidity, copy.src_uids, copy.uids,
				       to->mb.uidvalidity, n, to->mb.uidnext);
		sync_emit(e, SYNC_EV_FOLDER_FAILED, to->remote, text, NULL);
		free(text);
	}
	/* Without COPYUID the new UIDs are not known: the state keeps the
	 * rows as they were, and the next run re-keys them by matching
	 * (gone from A on both sides, new in B on both). */
	if (r == 0) {
		r = state_begin(e->st, err);
		for (size_t i = 0; r == 0 && i < n; i++) {
			/* The views still need the old row: change a copy. */
			struct state_msg s = from->msgs.msgs[mv[i].row];
			if (mv[i].to_uid) {
				s.folder_id = to->sf.id;
				s.uid = mv[i].to_uid;
				r = state_msg_update(e->st, &s, err);
			}
			if (r == 0)
				r = state_intent_confirm(e->st, intents[i], err);
		}
		if (r == 0) {
			sync_step(e, "move-state");
			r = state_commit(e->st, err);
		}
		if (r < 0)
			state_rollback(e->st);
	}
	imap_uid_set_free(&src);
	imap_uid_set_free(&dst);
	imap_code_copy_free(&copy);
	free(intents);
	free(set);
	free(uids);
	return r;
}

static int cmp_server_moves(const void *a, const void *b)
{
	const struct move *x = a, *y = b;
	if (x->kind != y->kind)
		return (int)x->kind - (int)y->kind;
	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	if (x->to != y->to)
		return x->to < y->to ? -1 : 1;
	return 0;
}

static int carry_out(struct engine *e, struct move *moves, size_t n, struct error *err)
{
	int r = 0;
	/* Server moves, one UID MOVE per pair of folders. */
	qsort(moves, n, sizeof(*moves), cmp_server_moves);
	for (size_t i = 0; i < n && r == 0;) {
		size_t j = i;
		if (moves[i].kind != MOVE_SERVER) {
			i++;
			continue;
		}
		while (j < n && moves[j].kind == MOVE_SERVER && moves[j].from == moves[i].from &&
		       moves[j].to == moves[i].to)
			j++;
		r = sync_folder_record(moves[i].to, err);
		if (r == 0)
			r = server_moves(e, &moves[i], j - i, err);
		if (r == 0) {
			e->rep->counts.moved_remote += j - i;
		} else if (err->reach != ERR_ACCOUNT) {
			/* A refused move spoils that folder's moves only: the
			 * ordinary rules then upload and delete instead. */
			sync_emit(e, SYNC_EV_FOLDER_FAILED, moves[i].from->remote, err->msg, NULL);
			error_clear(err);
			for (size_t k = i; k < j; k++)
				moves[k].kind = MOVE_FAILED;
			r = 0;
		}
		i = j;
	}
	/* Files follow the server; the state follows both. */
	bool any_file = false;
	for (size_t i = 0; i < n && r == 0; i++) {
		struct move *m = &moves[i];
		if (m->kind == MOVE_SERVER || m->kind == MOVE_FAILED)
			continue;
		r = sync_folder_record(m->to, err);
		if (r == 0 && m->kind == MOVE_FILE) {
			r = file_move(m->file_in, m->to, m->from->msgs.msgs[m->row].local, err);
			any_file = true;
			e->rep->counts.moved_local++;
		}
	}
	if (any_file) {
		e->rep->local_changed = true;
		sync_step(e, "move-file-sync");
		r = sync_moved_folders(moves, n, err);
	}
	if (r == 0) {
		r = state_begin(e->st, err);
		for (size_t i = 0; i < n && r == 0; i++) {
			struct move *m = &moves[i];
			if (m->kind == MOVE_SERVER || m->kind == MOVE_FAILED)
				continue;
			struct state_msg s = m->from->msgs.msgs[m->row];
			s.folder_id = m->to->sf.id;
			s.uid = m->to_uid;
			r = state_msg_update(e->st, &s, err);
		}
		if (r == 0) {
			sync_step(e, "move-file-state");
			r = state_commit(e->st, err);
		}
		if (r < 0)
			state_rollback(e->st);
	}
	return r;
}

/* ---- the views after the moves ----------------------------------------- */

/* The files of each run by name, for the moves' lookups; drops and adds
 * are gathered and applied once per run (one at a time, n moves cost
 * n scans of a folder's files). */
struct file_moves {
	const struct plan_local_msg **by_name;
	size_t n;                             /* plocal's length before */
	bool *drop;                           /* index-aligned with plocal */
	struct plan_local_msg *add;           /* copies: plocal may move */
	size_t n_add;
};

static int cmp_local_name(const void *a, const void *b)
{
	return strcmp((*(const struct plan_local_msg *const *)a)->name,
		      (*(const struct plan_local_msg *const *)b)->name);
}

static const struct plan_local_msg *file_named(const struct folder_run *f,
					       const struct file_moves *fm, const char *name)
{
	struct plan_local_msg key = {.name = name};
	const struct plan_local_msg *k = &key, *const *hit = NULL;
	if (f->n_local)
		hit = bsearch(&k, fm->by_name, f->n_local, sizeof(*fm->by_name),
			      cmp_local_name);
	return hit ? *hit : NULL;
}

static size_t run_of(struct folder_run *const *runs, size_t n_runs,
		     const struct folder_run *f)
{
	size_t k = 0;
	while (k < n_runs && runs[k] != f)
		k++;
	return k;
}

static void update_views(struct move *moves, size_t n, struct folder_run **runs,
			 size_t n_runs)
{
	struct file_moves *fm = xcalloc(n_runs ? n_runs : 1, sizeof(*fm));
	for (size_t k = 0; k < n_runs; k++) {
		const struct folder_run *f = runs[k];
		if (!f)
			continue;
		fm[k].n = f->n_local;
		fm[k].by_name = xcalloc(f->n_local ? f->n_local : 1, sizeof(*fm[k].by_name));
		for (size_t i = 0; i < f->n_local; i++)
			fm[k].by_name[i] = &f->plocal[i];
		if (f->n_local)
			qsort(fm[k].by_name, f->n_local, sizeof(*fm[k].by_name), cmp_local_name);
		fm[k].drop = xcalloc(f->n_local ? f->n_local : 1, sizeof(*fm[k].drop));
		fm[k].add = xcalloc(n ? n : 1, sizeof(*fm[k].add));
	}
	for (size_t i = 0; i < n; i++) {
		struct move *m = &moves[i];
		if (m->kind == MOVE_FAILED)
			continue;
		struct state_msg s = m->from->msgs.msgs[m->row];
		/* The file, wherever it was, is now in m->to. */
		size_t a = run_of(runs, n_runs, m->file_in), b = run_of(runs, n_runs, m->to);
		const struct plan_local_msg *l = s.local && a < n_runs
			? file_named(m->file_in, &fm[a], s.local) : NULL;
		if (l && fm[a].drop[l - m->file_in->plocal])
			l = NULL; /* already taken by another move */
		if (l && m->file_in != m->to && b < n_runs) {
			fm[a].drop[l - m->file_in->plocal] = true;
			fm[b].add[fm[b].n_add++] = *l;
		}
		if (m->kind == MOVE_SERVER) {
			ssize_t k = remote_index(m->from, s.uid);
			if (k >= 0 && m->to_uid) {
				struct plan_remote_msg r = m->from->premote[k];
				r.uid = m->to_uid;
				sync_view_add_remote(m->to, &r, &m->from->rx[k]);
			}
			if (k >= 0)
				sync_view_drop_remote(m->from, s.uid);
		}
		/* A server move without a new UID leaves no state row: the
		 * file is known (no upload) and the server copy unknown (no
		 * download) until the next run re-keys it. */
		s.uid = m->to_uid;
		s.folder_id = m->to->sf.id;
		if (s.uid || s.local)
			sync_view_add_state(m->to, &s);
	}
	/* Adds first: they copy names that dropped entries and rows own. */
	for (size_t k = 0; k < n_runs; k++)
		if (runs[k])
			sync_view_add_locals(runs[k], fm[k].add, fm[k].n_add);
	for (size_t k = 0; k < n_runs; k++) {
		if (!runs[k])
			continue;
		sync_view_drop_locals(runs[k], fm[k].drop, fm[k].n);
		free(fm[k].by_name);
		free(fm[k].drop);
		free(fm[k].add);
	}
	for (size_t k = 0; k < n_runs; k++) {
		struct folder_run *f = runs[k];
		if (!f)
			continue;
		bool *drop = xcalloc(f->msgs.n ? f->msgs.n : 1, sizeof(*drop));
		bool any = false;
		for (size_t i = 0; i < n; i++)
			if (moves[i].from == f && moves[i].kind != MOVE_FAILED) {
				drop[moves[i].row] = true;
				any = true;
			}
		if (any)
			sync_view_drop_states(f, drop);
		free(drop);
	}
	free(fm);
}

static void plan_lines(struct engine *e, const struct move *moves, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct move *m = &moves[i];
		const struct state_msg *s = &m->from->msgs.msgs[m->row];
		char *text = m->kind == MOVE_SERVER
			? xasprintf("move UID %u to %s on the server (moved locally)",
				    s->uid, m->to->remote)
			: m->kind == MOVE_FILE
			? xasprintf("move local %s to %s (moved on the server)",
				    s->local ? s->local : "?", m->to->remote)
			: xasprintf("record UID %u as moved to %s (moved on both sides)",
				    s->uid, m->to->remote);
		sync_emit(e, SYNC_EV_PLAN, m->from->remote, text, NULL);
		free(text);
	}
}

int sync_moves(struct engine *e, struct folder_run **runs, size_t n,
	       struct error *err)
{
	struct matcher m = {0};
	/* UIDPLUS gives the moved message's new UID (COPYUID), without
	 * which the state could not follow it. */
	m.server_moves = e->uidplus && e->settings.direction != CONFIG_FLOW_PULL;
	m.file_moves = e->settings.direction != CONFIG_FLOW_PUSH;
	collect(&m, runs, n);
	match(&m, runs, n);
	int r = 0;
	if (m.n_moves && e->o->dry_run) {
		plan_lines(e, m.moves, m.n_moves);
		/* A dry run cannot know the UIDs a MOVE would give. */
		for (size_t i = 0; i < m.n_moves; i++)
			if (m.moves[i].kind == MOVE_SERVER)
				m.moves[i].to_uid = 0;
		update_views(m.moves, m.n_moves, runs, n);
	} else if (m.n_moves) {
		r = carry_out(e, m.moves, m.n_moves, err);
		if (r == 0)
			update_views(m.moves, m.n_moves, runs, n);
	}
	for (size_t k = 0; m.ix && k < n; k++)
		index_free(&m.ix[k]);
	free(m.ix);
	free(m.nl);
	free(m.nr);
	free(m.ne);
	free(m.moves);
	return r;
}
