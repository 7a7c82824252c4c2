/* SPDX-License-Identifier: MIT */
/*
 * The three views of a folder the planner compares: the state, the server
 * now and the Maildir now.  The server view costs as little as the server
 * allows: nothing at all when UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ and the
 * message count say nothing changed; only the changes with CONDSTORE
 * (plus VANISHED with QRESYNC, or a UID SEARCH for expunges without it);
 * a full UID FETCH otherwise.  The Maildir is not read when its
 * directories did not change since the last scan.
 */
#include "sync-private.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "imap-uidset.h"

/* ---- the state ------------------------------------------------------- */

int sync_state_view(struct folder_run *f, struct error *err)
{
	if (f->sf.id == 0)
		return 0; /* a folder new to the state has no messages there */
	int r = state_msg_load(f->e->st, f->sf.id, &f->msgs, err);
	if (r < 0)
		return r;
	f->pstate = xcalloc(f->msgs.n, sizeof(*f->pstate));
	for (size_t i = 0; i < f->msgs.n; i++) {
		const struct state_msg *m = &f->msgs.msgs[i];
		f->pstate[i] = (struct plan_state_msg){
			.uid = m->uid,
			.name = m->local,
			.rflags = m->flags,
			.lflags = m->local_flags,
		};
	}
	return 0;
}

/* ---- the server ------------------------------------------------------ */

static struct plan_remote_msg *remote_add(struct folder_run *f, uint32_t uid)
{
	size_t cap = f->cap_remote;
	f->premote = xgrow(f->premote, sizeof(*f->premote), f->n_remote + 1, &cap);
	f->rx = xgrow(f->rx, sizeof(*f->rx), f->n_remote + 1, &f->cap_remote);
	struct plan_remote_msg *m = &f->premote[f->n_remote];
	memset(m, 0, sizeof(*m));
	m->uid = uid;
	f->rx[f->n_remote++] = (struct remote_extra){NULL, NULL, NULL};
	return m;
}

static int cmp_uid(const void *a, const void *b)
{
	uint32_t x = ((const struct plan_remote_msg *)a)->uid;
	uint32_t y = ((const struct plan_remote_msg *)b)->uid;
	return x < y ? -1 : x > y;
}

static ssize_t remote_find(const struct folder_run *f, size_t n, uint32_t uid)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->premote[mid].uid == uid)
			return (ssize_t)mid;
		if (f->premote[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static void extra_free(struct remote_extra *x)
{
	free(x->keywords);
	free(x->msgid);
	free(x->emailid);
	x->keywords = x->msgid = x->emailid = NULL;
}

/* Sorts the view by UID, keeping each message's extra data with it. */
static void remote_sort(struct folder_run *f)
{
	struct pair {
		struct plan_remote_msg m;
		struct remote_extra x;
	} *v = xcalloc(f->n_remote ? f->n_remote : 1, sizeof(*v));
	for (size_t i = 0; i < f->n_remote; i++)
		v[i] = (struct pair){f->premote[i], f->rx[i]};
	qsort(v, f->n_remote, sizeof(*v), cmp_uid);
	for (size_t i = 0; i < f->n_remote; i++) {
		f->premote[i] = v[i].m;
		f->rx[i] = v[i].x;
	}
	free(v);
}

ssize_t sync_remote_index(const struct folder_run *f, uint32_t uid)
{
	return remote_find(f, f->n_remote, uid);
}

const struct remote_extra *sync_remote_extra(const struct folder_run *f,
					     uint32_t uid)
{
	ssize_t k = remote_find(f, f->n_remote, uid);
	return k >= 0 ? &f->rx[k] : NULL;
}

/* Drops the messages marked with uid 0. */
static void remote_compact(struct folder_run *f)
{
	size_t j = 0;
	for (size_t i = 0; i < f->n_remote; i++) {
		if (f->premote[i].uid == 0) {
			extra_free(&f->rx[i]);
			continue;
		}
		f->premote[j] = f->premote[i];
		f->rx[j++] = f->rx[i];
	}
	f->n_remote = j;
}

/* The server as the state left it: the starting point of an
 * incremental view, and the whole view when nothing changed. */
static void remote_from_state(struct folder_run *f)
{
	for (size_t i = 0; i < f->msgs.n; i++) {
		const struct state_msg *s = &f->msgs.msgs[i];
		if (!s->uid)
			continue;
		struct plan_remote_msg *m = remote_add(f, s->uid);
		m->flags = s->flags;
		m->size = s->size;
		m->date = s->internal_date;
		f->rx[f->n_remote - 1].keywords = s->keywords ? xstrdup(s->keywords) : NULL;
	}
	remote_sort(f);
}

/* FETCH and VANISHED answers go into the view.  VANISHED sets are kept
 * and applied once the answers are over: marking entries while FETCHes
 * still come would unsort what they are looked up in. */
/* The Message-ID header field, if the FETCH carries it. */
static void take_msgid(struct remote_extra *x, const struct imap_fetch *ft)
{
	for (size_t i = 0; i < ft->n_bodies; i++) {
		const struct imap_fetch_body *b = &ft->bodies[i];
		if (b->nil || !b->data || strncasecmp(b->section, "BODY[HEADER", 11))
			continue;
		free(x->msgid);
		x->msgid = sync_msgid_from_header(b->data, (size_t)b->size);
	}
}

static int on_fetch(void *ctx, const struct imap_response *r, struct error *err)
{
	struct folder_run *f = ctx;
	if (r->kind != IMAP_RESP_UNTAGGED)
		return 0;
	if (r->type == IMAP_U_VANISHED && r->vanished) {
		struct imap_uid_set set;
		if (imap_uid_set_parse(r->vanished, &set) < 0)
			return error_set(err, ERR_FOLDER, "%s: bad VANISHED set", f->remote);
		f->vanished = xrealloc(f->vanished,
				       (f->n_vanished + 1) * sizeof(*f->vanished));
		f->vanished[f->n_vanished++] = set;
		return 0;
	}
	if (r->type != IMAP_U_FETCH || !(r->fetch.have & IMAP_FETCH_UID))
		return 0;
	const struct imap_fetch *ft = &r->fetch;
	ssize_t k = remote_find(f, f->n_base, ft->uid);
	struct plan_remote_msg *m;
	if (k >= 0) {
		m = &f->premote[k];
	} else {
		m = remote_add(f, ft->uid);
		k = (ssize_t)f->n_remote - 1;
	}
	if (ft->have & IMAP_FETCH_FLAGS) {
		free(f->rx[k].keywords);
		m->flags = sync_flags_from_imap(&ft->flags, &f->rx[k].keywords);
	}
	if (ft->have & IMAP_FETCH_SIZE)
		m->size = ft->size;
	if (ft->have & IMAP_FETCH_INTERNALDATE)
		m->date = (int64_t)ft->date;
	if (ft->have & IMAP_FETCH_EMAILID) {
		free(f->rx[k].emailid);
		f->rx[k].emailid = xstrdup(ft->emailid);
	}
	take_msgid(&f->rx[k], ft);
	return 0;
}

/* Applies the VANISHED sets gathered so far, then makes the view sorted
 * again so that it can serve as the base of another FETCH. */
static int cmp_range_lo(const void *a, const void *b)
{
	uint32_t x = ((const struct imap_uid_range *)a)->lo;
	uint32_t y = ((const struct imap_uid_range *)b)->lo;
	return x < y ? -1 : x > y;
}

/* Zeroes the UIDs of the view that set names: the ranges sorted once,
 * each UID found by binary search (a set may hold a thousand ranges
 * after a thousand moves; asking the set UID by UID walked them all). */
static void drop_vanished(struct folder_run *f, const struct imap_uid_set *set)
{
	if (set->n == 0)
		return;
	struct imap_uid_range *v = xcalloc(set->n, sizeof(*v));
	memcpy(v, set->v, set->n * sizeof(*v));
	qsort(v, set->n, sizeof(*v), cmp_range_lo);
	/* reach[i]: the highest UID ranges 0..i cover (they may overlap). */
	uint32_t *reach = xcalloc(set->n, sizeof(*reach));
	for (size_t i = 0; i < set->n; i++)
		reach[i] = i && reach[i - 1] > v[i].hi ? reach[i - 1] : v[i].hi;
	for (size_t i = 0; i < f->n_remote; i++) {
		uint32_t uid = f->premote[i].uid;
		size_t lo = 0, hi = set->n; /* first range starting after uid */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (v[mid].lo <= uid)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo > 0 && reach[lo - 1] >= uid)
			f->premote[i].uid = 0;
	}
	free(reach);
	free(v);
}

static void settle(struct folder_run *f)
{
	for (size_t v = 0; v < f->n_vanished; v++) {
		drop_vanished(f, &f->vanished[v]);
		imap_uid_set_free(&f->vanished[v]);
	}
	free(f->vanished);
	f->vanished = NULL;
	f->n_vanished = 0;
	remote_compact(f);
	remote_sort(f);
	f->n_base = f->n_remote;
}

/* Without QRESYNC, expunges since the last sync show as UIDs missing
 * from a UID SEARCH of the whole folder. */
static int drop_expunged(struct folder_run *f, size_t n_base, struct error *err)
{
	uint32_t *uids = NULL;
	size_t n = 0;
	int r = imap_uid_search(f->e->imap, "ALL", &uids, &n, err);
	if (r < 0)
		return r;
	/* Both ascending: one merge pass. */
	size_t j = 0;
	for (size_t i = 0; i < n_base; i++) {
		while (j < n && uids[j] < f->premote[i].uid)
			j++;
		if (j == n || uids[j] != f->premote[i].uid)
			f->premote[i].uid = 0;
	}
	free(uids);
	return 0;
}

static int on_msgid(void *ctx, const struct imap_response *r, struct error *err)
{
	struct folder_run *f = ctx;
	if (r->kind != IMAP_RESP_UNTAGGED || r->type != IMAP_U_FETCH ||
	    !(r->fetch.have & IMAP_FETCH_UID))
		return 0;
	ssize_t k = remote_find(f, f->n_remote, r->fetch.uid);
	if (k >= 0)
		take_msgid(&f->rx[k], &r->fetch);
	return 0;
}

/* The Message-IDs of the messages the state does not know: moves are
 * recognised by them, and the state keeps them (UIDVALIDITY changes and
 * resumed uploads match by them).  One FETCH of a header field each. */
static int fetch_new_msgids(struct folder_run *f, struct error *err)
{
	uint32_t *uids = xcalloc(f->n_remote ? f->n_remote : 1, sizeof(*uids));
	size_t n = 0, j = 0;
	/* Both sorted by UID (the state's rows without a UID come first). */
	for (size_t i = 0; i < f->n_remote; i++) {
		while (j < f->msgs.n && f->msgs.msgs[j].uid < f->premote[i].uid)
			j++;
		if ((j == f->msgs.n || f->msgs.msgs[j].uid != f->premote[i].uid) &&
		    !(f->msgids_from && f->premote[i].uid >= f->msgids_from))
			uids[n++] = f->premote[i].uid;
	}
	int r = 0;
	if (n) {
		char *set = imap_uid_set_format(uids, n);
		struct imap_cmd_cb cb = {.untagged = on_msgid, .ctx = f};
		r = imap_uid_fetch(f->e->imap, set, "UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]",
				   0, false, &cb, err);
		free(set);
	}
	free(uids);
	return r;
}

void sync_server_view_prepare(struct folder_run *f, struct imap_select_opts *so)
{
	struct engine *e = f->e;
	so->condstore = e->condstore;
	/* QRESYNC (RFC 7162 3.2.5): SELECT with the known UIDVALIDITY and
	 * MODSEQ answers with VANISHED (EARLIER) and a FETCH of each changed
	 * message, so the changes come with the SELECT itself.  Not while
	 * intents are pending: their replay may teach the state new rows. */
	if (!e->qresync || !f->sf.uidvalidity || !f->sf.highestmodseq || f->pending_intents)
		return;
	remote_from_state(f);
	f->n_base = f->n_remote;
	f->qresync_select = true;
	so->qresync_uidvalidity = f->sf.uidvalidity;
	so->qresync_modseq = f->sf.highestmodseq;
	so->untagged = on_fetch;
	so->ctx = f;
}

static int server_view(struct folder_run *f, bool msgids, struct error *err)
{
	struct engine *e = f->e;
	const struct imap_mailbox *mb = &f->mb;
	f->view_modseq = mb->highestmodseq;
	/* A HIGHESTMODSEQ below the one remembered breaks RFC 7162's promise
	 * that mod-sequences only grow: "changed since" then means nothing
	 * (a new message may carry a MODSEQ below the old mark and never be
	 * reported), so only a full view can be trusted. */
	bool known = f->sf.uidvalidity != 0 && f->sf.uidvalidity == mb->uidvalidity &&
		     mb->highestmodseq >= f->sf.highestmodseq;
	/* With OBJECTID (RFC 8474) each message has an EMAILID that moves
	 * keep: the surest way to recognise a moved message. */
	const char *items = imap_has_cap(e->imap, "OBJECTID")
				    ? "UID FLAGS RFC822.SIZE INTERNALDATE EMAILID"
				    : "UID FLAGS RFC822.SIZE INTERNALDATE";

	if (f->qresync_select && known) {
		/* The SELECT brought flags and expunges; new messages still
		 * need their size and date. */
		settle(f);
		int r = 0;
		if (mb->uidnext > f->sf.uidnext) {
			/* Their Message-IDs in the same FETCH: one round trip
			 * less than fetch_new_msgids would take. */
			uint32_t from = f->sf.uidnext ? f->sf.uidnext : 1;
			char *range = xasprintf("%u:*", from);
			char *with = xasprintf("%s%s", items, msgids ? " BODY.PEEK[HEADER.FIELDS"
								       " (MESSAGE-ID)]" : "");
			struct imap_cmd_cb cb = {.untagged = on_fetch, .ctx = f};
			r = imap_uid_fetch(e->imap, range, with, 0, false, &cb, err);
			free(range);
			free(with);
			if (r == 0 && msgids)
				f->msgids_from = from;
		}
		settle(f);
		return r;
	}
	if (known && e->condstore && f->sf.highestmodseq && mb->highestmodseq) {
		size_t on_server = 0;
		for (size_t i = 0; i < f->msgs.n; i++)
			on_server += f->msgs.msgs[i].uid != 0;
		if (!f->qresync_select)
			remote_from_state(f);
		f->n_base = f->n_remote;
		if (mb->highestmodseq == f->sf.highestmodseq &&
		    mb->uidnext == f->sf.uidnext && mb->exists == on_server)
			return 0; /* nothing changed: no FETCH at all */
		struct imap_cmd_cb cb = {.untagged = on_fetch, .ctx = f};
		int r = imap_uid_fetch(e->imap, "1:*", items, f->sf.highestmodseq,
				       e->qresync, &cb, err);
		size_t n_base = f->n_base;
		if (r == 0 && !e->qresync)
			r = drop_expunged(f, n_base, err);
		settle(f);
		/* New messages are asked for by UID as well: a server whose
		 * CHANGEDSINCE leaves one out (a MODSEQ below the old mark
		 * without HIGHESTMODSEQ going backwards) would otherwise
		 * keep it from us for good. */
		if (r == 0 && mb->uidnext > f->sf.uidnext) {
			char *range = xasprintf("%u:*", f->sf.uidnext ? f->sf.uidnext : 1);
			r = imap_uid_fetch(e->imap, range, items, 0, false, &cb, err);
			free(range);
			settle(f);
		}
		return r;
	}
	/* A full view: anything a QRESYNC SELECT gathered is dropped. */
	f->full_view = true;
	for (size_t i = 0; i < f->n_remote; i++)
		extra_free(&f->rx[i]);
	f->n_remote = f->n_base = 0;
	settle(f);
	if (mb->exists == 0)
		return 0;
	struct imap_cmd_cb cb = {.untagged = on_fetch, .ctx = f};
	int r = imap_uid_fetch(e->imap, "1:*", items, 0, false, &cb, err);
	if (r < 0)
		return r;
	remote_sort(f);
	/* A server that answers one UID twice is broken; the planner would
	 * refuse the view, so say it here with the folder's name. */
	for (size_t i = 1; i < f->n_remote; i++)
		if (f->premote[i].uid == f->premote[i - 1].uid)
			return error_set(err, ERR_FOLDER, "%s: the server sent UID %u twice",
					 f->remote, f->premote[i].uid);
	return 0;
}

int sync_server_view(struct folder_run *f, bool msgids, struct error *err)
{
	int r = server_view(f, msgids, err);
	if (r == 0 && msgids)
		r = fetch_new_msgids(f, err);
	return r;
}

/* ---- changes moves make to the views ------------------------------------ */

void sync_view_drop_remote(struct folder_run *f, uint32_t uid)
{
	ssize_t k = remote_find(f, f->n_remote, uid);
	if (k < 0)
		return;
	f->premote[k].uid = 0;
	remote_compact(f);
	f->n_base = f->n_remote;
}

void sync_view_add_remote(struct folder_run *f, const struct plan_remote_msg *m,
			  const struct remote_extra *x)
{
	struct plan_remote_msg *n = remote_add(f, m->uid);
	*n = *m;
	f->rx[f->n_remote - 1].keywords = x && x->keywords ? xstrdup(x->keywords) : NULL;
	f->rx[f->n_remote - 1].msgid = x && x->msgid ? xstrdup(x->msgid) : NULL;
	f->rx[f->n_remote - 1].emailid = x && x->emailid ? xstrdup(x->emailid) : NULL;
	remote_sort(f);
	f->n_base = f->n_remote;
}

void sync_view_drop_locals(struct folder_run *f, const bool *drop, size_t n)
{
	size_t j = 0;
	for (size_t i = 0; i < f->n_local; i++)
		if (i >= n || !drop[i])
			f->plocal[j++] = f->plocal[i];
	f->n_local = j;
}

void sync_view_add_locals(struct folder_run *f, const struct plan_local_msg *ls, size_t n)
{
	if (n == 0)
		return;
	f->owned = xrealloc(f->owned, (f->n_owned + n) * sizeof(*f->owned));
	f->plocal = xrealloc(f->plocal, (f->n_local + n) * sizeof(*f->plocal));
	for (size_t i = 0; i < n; i++) {
		char *name = f->owned[f->n_owned++] = xstrdup(ls[i].name);
		f->plocal[f->n_local] = ls[i];
		f->plocal[f->n_local++].name = name;
	}
}

void sync_view_drop_states(struct folder_run *f, const bool *drop)
{
	size_t j = 0;
	for (size_t i = 0; i < f->msgs.n; i++) {
		if (drop[i]) {
			state_msg_release(&f->msgs.msgs[i]);
			continue;
		}
		f->msgs.msgs[j] = f->msgs.msgs[i];
		f->pstate[j++] = f->pstate[i];
	}
	f->msgs.n = j;
}

void sync_view_add_state(struct folder_run *f, const struct state_msg *m)
{
	size_t n = f->msgs.n;
	f->msgs.msgs = xrealloc(f->msgs.msgs, (n + 1) * sizeof(*f->msgs.msgs));
	f->pstate = xrealloc(f->pstate, (n + 1) * sizeof(*f->pstate));
	struct state_msg *c = &f->msgs.msgs[n];
	*c = *m;
	c->local = m->local ? xstrdup(m->local) : NULL;
	c->keywords = m->keywords ? xstrdup(m->keywords) : NULL;
	c->message_id = m->message_id ? xstrdup(m->message_id) : NULL;
	c->emailid = m->emailid ? xstrdup(m->emailid) : NULL;
	f->pstate[n] = (struct plan_state_msg){c->uid, c->local, c->flags, c->local_flags};
	f->msgs.n++;
}

/* ---- the Maildir ----------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int sync_local_view(struct folder_run *f, struct error *err)
{
	bool any_stamp = f->sf.stamp.new_ns || f->sf.stamp.cur_ns;
	if (f->sf.id && any_stamp) {
		int u = maildir_unchanged(f->path, &f->sf.stamp, err);
		if (u < 0)
			return u;
		if (u == 1) {
			/* Not read: the files are as the state remembers them. */
			f->plocal = xcalloc(f->msgs.n ? f->msgs.n : 1, sizeof(*f->plocal));
			for (size_t i = 0; i < f->msgs.n; i++) {
				const struct state_msg *s = &f->msgs.msgs[i];
				if (s->local)
					f->plocal[f->n_local++] = (struct plan_local_msg){
						.name = s->local, .flags = s->local_flags,
						.size = s->size, .date = s->internal_date};
			}
			return 0;
		}
	}
	int r = maildir_scan(f->path, &f->scan, err);
	if (r < 0)
		return r;
	f->scanned = true;

	/* Files the state knows need nothing more; new ones are stat()ed
	 * for max_size and max_age, and for the upload's date. */
	const char **known = xcalloc(f->msgs.n ? f->msgs.n : 1, sizeof(*known));
	size_t n_known = 0;
	for (size_t i = 0; i < f->msgs.n; i++)
		if (f->msgs.msgs[i].local)
			known[n_known++] = f->msgs.msgs[i].local;
	qsort(known, n_known, sizeof(*known), cmp_str);

	f->plocal = xcalloc(f->scan.n ? f->scan.n : 1, sizeof(*f->plocal));
	for (size_t i = 0; i < f->scan.n; i++) {
		const struct maildir_entry *me = &f->scan.entries[i];
		struct plan_local_msg *l = &f->plocal[f->n_local++];
		l->name = me->unique;
		l->flags = me->flags;
		if (bsearch(&me->unique, known, n_known, sizeof(*known), cmp_str))
			continue;
		char *file = xasprintf("%s/%s/%s", f->path,
				       me->sub == MAILDIR_NEW ? "new" : "cur", me->name);
		struct stat st;
		if (stat(file, &st) == 0) {
			l->size = (uint64_t)st.st_size;
			l->date = st.st_mtim.tv_sec;
		}
		free(file);
	}
	free(known);
	return 0;
}

void sync_views_release(struct folder_run *f)
{
	state_msgs_release(&f->msgs);
	free(f->pstate);
	for (size_t i = 0; i < f->n_remote; i++)
		extra_free(&f->rx[i]);
	free(f->rx);
	free(f->premote);
	maildir_scan_release(&f->scan);
	free(f->plocal);
	for (size_t i = 0; i < f->n_owned; i++)
		free(f->owned[i]);
	free(f->owned);
	f->owned = NULL;
	f->n_owned = 0;
	for (size_t v = 0; v < f->n_vanished; v++)
		imap_uid_set_free(&f->vanished[v]);
	free(f->vanished);
	f->vanished = NULL;
	f->n_vanished = 0;
	f->pstate = NULL;
	f->rx = NULL;
	f->premote = NULL;
	f->plocal = NULL;
	f->n_remote = f->cap_remote = f->n_local = f->n_base = 0;
}
