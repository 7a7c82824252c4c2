/* SPDX-License-Identifier: MIT */
/*
 * A changed UIDVALIDITY (SPEC.md section 4): every UID the state holds for
 * the folder is void, but the messages usually are not.  They are matched
 * again by Message-ID with the same size or INTERNALDATE (found exactly
 * once), and the state is re-keyed in one transaction: matched rows take
 * their new UIDs, rows whose file still exists but whose message was not
 * found lose their row (the file is then new and is uploaded), and the
 * folder's UIDNEXT and HIGHESTMODSEQ are forgotten so that the view is
 * built in full.  Nothing is downloaded or deleted because of the change
 * alone; only unmatched messages are transferred.
 */
#include "sync-private.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct candidate {
	char *msgid;
	uint32_t uid;
	uint64_t size;
	int64_t date;
	bool taken;
};

struct gather {
	struct candidate *v;
	size_t n, cap;
};

static int on_candidate(void *ctx, const struct imap_response *r, struct error *err)
{
	struct gather *g = ctx;
	if (r->kind != IMAP_RESP_UNTAGGED || r->type != IMAP_U_FETCH ||
	    !(r->fetch.have & IMAP_FETCH_UID))
		return 0;
	char *msgid = NULL;
	for (size_t i = 0; i < r->fetch.n_bodies; i++) {
		const struct imap_fetch_body *b = &r->fetch.bodies[i];
		if (!b->nil && b->data && !strncasecmp(b->section, "BODY[HEADER", 11))
			msgid = sync_msgid_from_header(b->data, (size_t)b->size);
	}
	if (!msgid)
		return 0; /* never matched by guess */
	g->v = xgrow(g->v, sizeof(*g->v), g->n + 1, &g->cap);
	g->v[g->n++] = (struct candidate){msgid, r->fetch.uid, r->fetch.size,
					  (int64_t)r->fetch.date, false};
	return 0;
}

static int cmp_candidate(const void *a, const void *b)
{
	return strcmp(((const struct candidate *)a)->msgid,
		      ((const struct candidate *)b)->msgid);
}

/* The one candidate for a state row, or NULL when there is none or more
 * than one. */
static struct candidate *find(struct gather *g, const struct state_msg *s)
{
	if (g->n == 0)
		return NULL;
	struct candidate key = {.msgid = s->message_id};
	struct candidate *c = bsearch(&key, g->v, g->n, sizeof(*g->v), cmp_candidate);
	if (!c)
		return NULL;
	while (c > g->v && !strcmp(c[-1].msgid, s->message_id))
		c--;
	struct candidate *hit = NULL;
	for (; c < g->v + g->n && !strcmp(c->msgid, s->message_id); c++) {
		bool same = (s->size && s->size == c->size) ||
			    (s->internal_date && s->internal_date == c->date);
		if (!same || c->taken)
			continue;
		if (hit)
			return NULL;
		hit = c;
	}
	return hit;
}

int sync_rematch(struct folder_run *f, struct error *err)
{
	struct engine *e = f->e;
	struct gather g = {0};
	struct state_msgs msgs = {0};
	int r = 0;
	if (f->mb.exists) {
		struct imap_cmd_cb cb = {.untagged = on_candidate, .ctx = &g};
		r = imap_uid_fetch(e->imap, "1:*", "UID RFC822.SIZE INTERNALDATE "
				   "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]", 0, false, &cb, err);
	}
	if (r == 0)
		r = state_msg_load(e->st, f->sf.id, &msgs, err);
	if (r < 0)
		goto out;
	if (g.n)
		qsort(g.v, g.n, sizeof(*g.v), cmp_candidate);

	uint32_t *new_uid = xcalloc(msgs.n ? msgs.n : 1, sizeof(*new_uid));
	bool *had_uid = xcalloc(msgs.n ? msgs.n : 1, sizeof(*had_uid));
	for (size_t i = 0; i < msgs.n; i++)
		had_uid[i] = msgs.msgs[i].uid != 0;
	size_t matched = 0;
	for (size_t i = 0; i < msgs.n; i++) {
		struct candidate *c = msgs.msgs[i].uid && msgs.msgs[i].message_id
				      ? find(&g, &msgs.msgs[i]) : NULL;
		if (c) {
			c->taken = true;
			new_uid[i] = c->uid;
			matched++;
		}
	}
	/* Two passes in one transaction: every old UID goes first, so that
	 * a new UID never meets an old one in the unique index. */
	r = state_begin(e->st, err);
	for (size_t i = 0; r == 0 && i < msgs.n; i++) {
		struct state_msg *s = &msgs.msgs[i];
		if (!s->uid)
			continue;
		if (!s->local) {
			r = state_msg_delete(e->st, s->id, err);
			s->id = 0;
		} else {
			s->uid = 0;
			r = state_msg_update(e->st, s, err);
		}
	}
	for (size_t i = 0; r == 0 && i < msgs.n; i++) {
		struct state_msg *s = &msgs.msgs[i];
		if (!s->id) {
			/* A server-only row (its file kept removed by a
			 * setting) comes back with its new UID, so that the
			 * message is not downloaded again. */
			if (new_uid[i]) {
				s->uid = new_uid[i];
				r = state_msg_insert(e->st, s, &s->id, err);
			}
			continue;
		}
		if (new_uid[i]) {
			s->uid = new_uid[i];
			r = state_msg_update(e->st, s, err);
		} else if (had_uid[i]) {
			/* Not found on the server: the file is new again.
			 * (Rows that had no UID, copies kept on one side by a
			 * setting, stay as they are.) */
			r = state_msg_delete(e->st, s->id, err);
		}
	}
	if (r == 0) {
		f->sf.uidvalidity = f->mb.uidvalidity;
		f->sf.uidnext = 0;
		f->sf.highestmodseq = 0;
		r = state_folder_update(e->st, &f->sf, err);
	}
	if (r == 0) {
		sync_step(e, "rematch-state");
		r = state_commit(e->st, err);
	}
	if (r < 0)
		state_rollback(e->st);
	if (r == 0) {
		char *text = xasprintf("UIDVALIDITY changed: %zu of %zu messages found "
				       "again by Message-ID", matched, msgs.n);
		sync_emit(e, SYNC_EV_PROGRESS, f->remote, text, NULL);
		free(text);
	}
	free(new_uid);
	free(had_uid);
out:
	for (size_t i = 0; i < g.n; i++)
		free(g.v[i].msgid);
	free(g.v);
	state_msgs_release(&msgs);
	return r;
}
