/* SPDX-License-Identifier: MIT */
/*
 * Intents and their replay.  Only the side effects that create a copy of
 * a message need an intent, since only they could duplicate mail when a
 * run dies between the effect and the state commit:
 *
 *   download  uid, unique: the file that is being written.  On replay the
 *             file is looked for by its unique part; found, the state
 *             learns it (it is not uploaded back); not found, nothing was
 *             made and the message is planned as new again.
 *   append    unique, uidnext, msgid, size, date: the upload.  On replay
 *             the server is searched among UIDs >= uidnext by Message-ID
 *             (else by size and INTERNALDATE when exactly one matches);
 *             found, the state learns its UID; not found, the file is
 *             planned as new again.
 *   move      uid, to, uidnext, msgid: a UID MOVE.  A server without MOVE
 *             gets COPY, \Deleted and UID EXPUNGE; if a crash came between
 *             the COPY and the EXPUNGE, the message is in both folders:
 *             the replay finds the copy (by Message-ID, at or above the
 *             destination's UIDNEXT) and finishes the expunge.  Everything
 *             else about a move is found again by the matching (moves.c).
 *
 * Every other effect (a rename for flags, a STORE, an unlink, an
 * expunge) is safe to repeat and converges by itself: the next run sees
 * the change on one side and the same value on the other (see
 * docs/sync.md).
 */
#include "sync-private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


char *sync_intent_params(const char *key, ...)
{
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	va_list ap;
	va_start(ap, key);
	for (const char *k = key; k; k = va_arg(ap, const char *)) {
		const char *v = va_arg(ap, const char *);
		/* Values never hold a newline: names from a scan have no
		 * control characters and Message-IDs are one header line. */
		buf_addf(&b, "%s=%s\n", k, v ? v : "");
	}
	va_end(ap);
	return buf_detach(&b, NULL);
}

char *sync_intent_get(const char *params, const char *key)
{
	size_t klen = strlen(key);
	for (const char *p = params; p && *p;) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len > klen && !strncmp(p, key, klen) && p[klen] == '=')
			return xstrndup(p + klen + 1, len - klen - 1);
		p = end ? end + 1 : NULL;
	}
	return NULL;
}

static uint64_t get_num(const char *params, const char *key)
{
	char *v = sync_intent_get(params, key);
	uint64_t n = v ? strtoull(v, NULL, 10) : 0;
	free(v);
	return n;
}

/* The state learns a message both sides now have. */
static int learn(struct folder_run *f, uint32_t uid, const char *unique,
		 unsigned flags, uint64_t size, int64_t date, const char *msgid,
		 struct error *err)
{
	struct state_msg old;
	int r = state_msg_by_uid(f->e->st, f->sf.id, uid, &old, err);
	if (r < 0)
		return r;
	if (r == 1) {
		state_msg_release(&old);
		return 0;
	}
	struct state_msg m = {
		.folder_id = f->sf.id,
		.uid = uid,
		.local = (char *)(uintptr_t)unique,
		.flags = flags,
		.local_flags = flags,
		.size = size,
		.internal_date = date,
		.message_id = msgid && *msgid ? (char *)(uintptr_t)msgid : NULL,
	};
	int64_t id;
	return state_msg_insert(f->e->st, &m, &id, err);
}

static int replay_download(struct folder_run *f, const struct state_intent *in,
			   struct error *err)
{
	uint32_t uid = (uint32_t)get_num(in->params, "uid");
	char *unique = sync_intent_get(in->params, "unique");
	int r = 0;
	if (uid && unique && get_num(in->params, "uidvalidity") == f->mb.uidvalidity) {
		struct maildir_entry e;
		r = maildir_find(f->path, unique, &e, err);
		if (r == 1) {
			r = learn(f, uid, unique, e.flags, get_num(in->params, "size"),
				  (int64_t)get_num(in->params, "date"), NULL, err);
			maildir_entry_release(&e);
		}
	}
	free(unique);
	return r < 0 ? r : 0;
}

/* The UID an interrupted APPEND got, or 0 if it never arrived. */
int sync_find_appended(struct folder_run *f, const struct state_intent *in,
			 uint32_t *uid_r, struct error *err)
{
	*uid_r = 0;
	uint64_t uidnext = get_num(in->params, "uidnext");
	if (!uidnext)
		uidnext = 1;
	char *msgid = sync_intent_get(in->params, "msgid");
	char *quoted = msgid && *msgid ? imap_quote(msgid) : NULL;
	uint32_t *uids = NULL;
	size_t n = 0;
	int r;
	if (quoted) {
		char *criteria = xasprintf("UID %llu:* HEADER Message-ID %s",
					   (unsigned long long)uidnext, quoted);
		r = imap_uid_search(f->e->imap, criteria, &uids, &n, err);
		free(criteria);
		/* UID n:* also names the highest UID when it is below n. */
		while (r == 0 && n && uids[n - 1] < uidnext)
			n--;
		if (r == 0 && n >= 1)
			*uid_r = uids[0];
	} else {
		/* No Message-ID: only an exact size and date, seen once. */
		char *criteria = xasprintf("UID %llu:* LARGER %llu SMALLER %llu",
					   (unsigned long long)uidnext,
					   (unsigned long long)get_num(in->params, "size") - 1,
					   (unsigned long long)get_num(in->params, "size") + 1);
		r = imap_uid_search(f->e->imap, criteria, &uids, &n, err);
		free(criteria);
		while (r == 0 && n && uids[n - 1] < uidnext)
			n--;
		if (r == 0 && n == 1)
			*uid_r = uids[0];
	}
	free(uids);
	free(quoted);
	free(msgid);
	return r;
}

static int replay_append(struct folder_run *f, const struct state_intent *in,
			 struct error *err)
{
	if (get_num(in->params, "uidvalidity") != f->mb.uidvalidity)
		return 0; /* the folder was recreated: the upload is moot */
	uint32_t uid;
	int r = sync_find_appended(f, in, &uid, err);
	if (r < 0 || uid == 0)
		return r;
	char *unique = sync_intent_get(in->params, "unique");
	char *msgid = sync_intent_get(in->params, "msgid");
	struct maildir_entry e;
	r = unique ? maildir_find(f->path, unique, &e, err) : 0;
	unsigned flags = (unsigned)get_num(in->params, "flags");
	if (r == 1) {
		flags = e.flags;
		maildir_entry_release(&e);
	}
	/* Even when the file went meanwhile, the server copy is recorded
	 * with it, so the planner sees a removal, not a new message. */
	if (r >= 0 && unique)
		r = learn(f, uid, unique, flags, get_num(in->params, "size"),
			  (int64_t)get_num(in->params, "date"), msgid, err);
	free(unique);
	free(msgid);
	return r < 0 ? r : 0;
}

/* The UIDs of `criteria` in the folder now selected, at or above `min`. */
static int search_from(struct folder_run *f, const char *criteria, uint32_t min,
		       uint32_t *first_r, struct error *err)
{
	uint32_t *uids = NULL;
	size_t n = 0;
	*first_r = 0;
	int r = imap_uid_search(f->e->imap, criteria, &uids, &n, err);
	for (size_t i = 0; r == 0 && i < n && !*first_r; i++)
		if (uids[i] >= min)
			*first_r = uids[i];
	free(uids);
	return r;
}

/* *expunged_r is set when the replay expunged the source message. */
static int replay_move(struct folder_run *f, const struct state_intent *in,
		       bool *expunged_r, struct error *err)
{
	struct engine *e = f->e;
	uint32_t uid = (uint32_t)get_num(in->params, "uid");
	char *to = sync_intent_get(in->params, "to");
	char *msgid = sync_intent_get(in->params, "msgid");
	char *quoted = msgid && *msgid ? imap_quote(msgid) : NULL;
	char *wire = NULL;
	int r = 0;
	uint32_t here = 0, copy = 0;
	if (!uid || !to || !quoted || !e->uidplus)
		goto out;
	char *criteria = xasprintf("UID %u", uid);
	r = search_from(f, criteria, uid, &here, err);
	free(criteria);
	if (r < 0 || here != uid)
		goto out; /* gone from here: moved or expunged */
	r = imap_mailbox_wire(e->imap, to, &wire, err);
	if (r < 0)
		goto out;
	struct imap_select_opts ex = {.examine = true};
	struct imap_mailbox mb = {0};
	r = sync_select(e, wire, &ex, &mb, err);
	imap_mailbox_free(&mb);
	if (r == 0) {
		uint64_t next = get_num(in->params, "uidnext");
		criteria = xasprintf("UID %llu:* HEADER Message-ID %s",
				     (unsigned long long)(next ? next : 1), quoted);
		r = search_from(f, criteria, (uint32_t)next, &copy, err);
		free(criteria);
	}
	/* Back to this folder, whose views are built next. */
	struct imap_select_opts so = {.condstore = e->condstore};
	struct imap_mailbox back = {0};
	int rs = sync_select(e, f->wire, &so, &back, err);
	imap_mailbox_free(&back);
	if (r == 0)
		r = rs;
	if (r == 0 && copy) {
		sync_step(e, "move-replay-expunge");
		r = imap_simple(e->imap, NULL, NULL, err,
				"UID STORE %u +FLAGS.SILENT (\\Deleted)", uid);
		if (r == 0) {
			char set[16];
			snprintf(set, sizeof(set), "%u", uid);
			*expunged_r = true;
			r = imap_uid_expunge(e->imap, set, err);
		}
	}
out:
	free(wire);
	free(quoted);
	free(msgid);
	free(to);
	return r;
}

int sync_replay_folder(struct folder_run *f, struct error *err)
{
	struct engine *e = f->e;
	bool expunged = false;
	for (size_t i = 0; i < e->n_intents; i++) {
		const struct state_intent *in = &e->intents[i];
		if (!in->folder || strcmp(in->folder, f->remote) != 0)
			continue;
		int r = 0;
		if (!strcmp(in->kind, "download"))
			r = replay_download(f, in, err);
		else if (!strcmp(in->kind, "append"))
			r = replay_append(f, in, err);
		else if (!strcmp(in->kind, "move"))
			r = replay_move(f, in, &expunged, err);
		if (r == 0)
			r = state_intent_confirm(e->st, in->id, err);
		if (r < 0)
			return error_prefix(err, "resuming an interrupted %s", in->kind);
	}
	if (!expunged)
		return 0;
	/* The server view starts from the SELECT made before the replay
	 * (f->mb): with CONDSTORE its unchanged HIGHESTMODSEQ would say the
	 * folder is as the state has it, hiding the expunges above (and the
	 * moved messages would be copied once more, then downloaded). */
	struct imap_select_opts so = {0};
	sync_server_view_prepare(f, &so);
	struct imap_mailbox mb = {0};
	int r = sync_select(e, f->wire, &so, &mb, err);
	if (r < 0) {
		imap_mailbox_free(&mb);
		return r;
	}
	imap_mailbox_free(&f->mb);
	f->mb = mb;
	return 0;
}
