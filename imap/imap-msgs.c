/* SPDX-License-Identifier: MIT */
/*
 * Message commands in the selected mailbox: UID FETCH, UID SEARCH,
 * UID STORE, APPEND, UID MOVE/COPY, UID EXPUNGE, IDLE.
 */
#include "imap-client-private.h"
#include "imap-cmds.h"

#include <stdlib.h>
#include <string.h>

unsigned imap_uid_fetch_submit(struct imap_client *c, const char *uids,
			       const char *items, uint64_t changedsince,
			       bool vanished, const struct imap_cmd_cb *cb)
{
	struct imap_cmd *cmd = imap_cmd_begin(c, cb);
	imap_cmd_addf(cmd, "UID FETCH %s (%s)", uids, items);
	if (changedsince)
		imap_cmd_addf(cmd, " (CHANGEDSINCE %llu%s)",
			      (unsigned long long)changedsince,
			      vanished ? " VANISHED" : "");
	return imap_cmd_end(cmd);
}

int imap_uid_fetch(struct imap_client *c, const char *uids, const char *items,
		   uint64_t changedsince, bool vanished,
		   const struct imap_cmd_cb *cb, struct error *err)
{
	struct buf mod = BUF_INIT(BUF_UNLIMITED);
	if (changedsince)
		buf_addf(&mod, " (CHANGEDSINCE %llu%s)",
			 (unsigned long long)changedsince,
			 vanished ? " VANISHED" : "");
	int r = imap_simple(c, cb, NULL, err, "UID FETCH %s (%s)%s", uids,
			    items, mod.data);
	buf_release(&mod);
	return r;
}

struct search_ctx {
	uint32_t *v;
	size_t n, cap;
};

static int search_untagged(void *ctx, const struct imap_response *r,
			   struct error *err)
{
	struct search_ctx *s = ctx;
	if (r->type != IMAP_U_SEARCH)
		return 0;
	s->v = xgrow(s->v, sizeof(*s->v), s->n + r->search.n + 1, &s->cap);
	memcpy(s->v + s->n, r->search.nums, r->search.n * sizeof(*s->v));
	s->n += r->search.n;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

int imap_uid_search(struct imap_client *c, const char *criteria,
		    uint32_t **uids_r, size_t *n_r, struct error *err)
{
	struct search_ctx s = {0};
	struct imap_cmd_cb cb = {.untagged = search_untagged, .ctx = &s};
	int r = imap_simple(c, &cb, NULL, err, "UID SEARCH %s", criteria);
	if (r < 0) {
		free(s.v);
		s.v = NULL;
		s.n = 0;
	} else if (s.n) {
		qsort(s.v, s.n, sizeof(*s.v), cmp_u32);
	}
	*uids_r = s.v;
	*n_r = s.n;
	return r;
}

unsigned imap_uid_store_submit(struct imap_client *c, const char *uids,
			       uint64_t unchangedsince, const char *action,
			       const char *flags, const struct imap_cmd_cb *cb)
{
	struct imap_cmd *cmd = imap_cmd_begin(c, cb);
	imap_cmd_addf(cmd, "UID STORE %s ", uids);
	if (unchangedsince)
		imap_cmd_addf(cmd, "(UNCHANGEDSINCE %llu) ",
			      (unsigned long long)unchangedsince);
	imap_cmd_addf(cmd, "%s %s", action, flags);
	return imap_cmd_end(cmd);
}

/* INTERNALDATE for APPEND, in UTC: "dd-Mon-yyyy hh:mm:ss +0000". */
static char *format_date(time_t t)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct tm tm;
	gmtime_r(&t, &tm);
	return xasprintf("\"%02d-%.3s-%04d %02d:%02d:%02d +0000\"", tm.tm_mday,
			 months + 3 * tm.tm_mon, tm.tm_year + 1900, tm.tm_hour,
			 tm.tm_min, tm.tm_sec);
}

unsigned imap_append_submit(struct imap_client *c, const struct imap_append *a,
			    const struct imap_cmd_cb *cb)
{
	struct imap_cmd *cmd = imap_cmd_begin(c, cb);
	imap_cmd_add(cmd, "APPEND ");
	imap_cmd_add_string(cmd, a->wire);
	if (a->flags)
		imap_cmd_addf(cmd, " %s", a->flags);
	if (a->date) {
		char *d = format_date(a->date);
		imap_cmd_addf(cmd, " %s", d);
		free(d);
	}
	imap_cmd_add(cmd, " ");
	imap_cmd_add_literal(cmd, a->size, a->reader, a->reader_ctx);
	return imap_cmd_end(cmd);
}

struct append_wait {
	bool done;
	enum imap_status status;
	char *text;
	uint32_t uidvalidity, uid;
};

static void append_done(void *ctx, const struct imap_response *r)
{
	struct append_wait *w = ctx;
	w->done = true;
	w->status = r->status;
	w->text = xstrdup(r->text);
	if (r->code.type == IMAP_CODE_APPENDUID) {
		uint64_t uid = 0;
		struct imap_arg a = {.type = IMAP_ARG_ATOM, .str = r->code.uids,
				     .len = strlen(r->code.uids)};
		if (imap_arg_number(&a, UINT32_MAX, &uid)) {
			w->uidvalidity = r->code.uidvalidity;
			w->uid = (uint32_t)uid;
		}
	}
}

static bool append_is_done(void *ctx)
{
	return ((struct append_wait *)ctx)->done;
}

int imap_append(struct imap_client *c, const struct imap_append *a,
		uint32_t uidvalidity, uint32_t *uid_r, struct error *err)
{
	struct append_wait w = {0};
	struct imap_cmd_cb cb = {.done = append_done, .ctx = &w};
	*uid_r = 0;
	imap_append_submit(c, a, &cb);
	int r = imap_run_until(c, append_is_done, &w, err);
	if (r == 0 && w.status != IMAP_STATUS_OK)
		r = error_set(err, ERR_MESSAGE, "APPEND to %s: server said %s",
			      a->wire, w.text);
	else if (r == 0 && uidvalidity && w.uid && w.uidvalidity != uidvalidity)
		r = error_set(err, ERR_FOLDER,
			      "APPEND to %s: APPENDUID names UIDVALIDITY %u, "
			      "the mailbox has %u",
			      a->wire, w.uidvalidity, uidvalidity);
	else if (r == 0)
		*uid_r = w.uid;
	free(w.text);
	return r;
}

/* MOVE sends COPYUID in an untagged OK before its expunges (RFC 6851
 * section 4.3); COPY in its tagged OK. */
static int copyuid_untagged(void *ctx, const struct imap_response *r,
			    struct error *err)
{
	struct imap_code_copy *cu = ctx;
	if (r->type == IMAP_U_STATE && r->code.type == IMAP_CODE_COPYUID) {
		imap_code_copy_free(cu);
		cu->type = IMAP_CODE_COPYUID;
		cu->uidvalidity = r->code.uidvalidity;
		cu->uids = xstrdup(r->code.uids);
		cu->src_uids = xstrdup(r->code.src_uids);
	}
	return 0;
}

static int copy_or_move(struct imap_client *c, const char *verb,
			const char *uids, const char *dest,
			struct imap_code_copy *copyuid_r, struct error *err)
{
	struct imap_code_copy early = {0}, tagged = {0};
	char *q = imap_quote(dest);
	if (!q)
		return error_set(err, ERR_FOLDER,
				 "mailbox name \"%s\" cannot be sent", dest);
	struct imap_cmd_cb cb = {.untagged = copyuid_untagged, .ctx = &early};
	int r = imap_simple(c, &cb, &tagged, err, "UID %s %s %s", verb, uids,
			    q);
	free(q);
	if (tagged.type != IMAP_CODE_COPYUID) {
		imap_code_copy_free(&tagged);
		tagged = early;
	} else {
		imap_code_copy_free(&early);
	}
	if (copyuid_r && r == 0)
		*copyuid_r = tagged;
	else
		imap_code_copy_free(&tagged);
	return r;
}

int imap_uid_copy(struct imap_client *c, const char *uids, const char *dest,
		  struct imap_code_copy *copyuid_r, struct error *err)
{
	return copy_or_move(c, "COPY", uids, dest, copyuid_r, err);
}

int imap_uid_move(struct imap_client *c, const char *uids, const char *dest,
		  struct imap_code_copy *copyuid_r, struct error *err)
{
	if (imap_has_cap(c, "MOVE"))
		return copy_or_move(c, "MOVE", uids, dest, copyuid_r, err);
	/* RFC 6851 section 3.3: the same effect in three steps. */
	int r = copy_or_move(c, "COPY", uids, dest, copyuid_r, err);
	if (r == 0)
		r = imap_simple(c, NULL, NULL, err,
				"UID STORE %s +FLAGS.SILENT (\\Deleted)", uids);
	if (r == 0)
		r = imap_uid_expunge(c, uids, err);
	return r;
}

int imap_uid_expunge(struct imap_client *c, const char *uids,
		     struct error *err)
{
	if (!imap_has_cap(c, "UIDPLUS"))
		return error_set(err, ERR_FOLDER,
				 "server lacks UIDPLUS: UID EXPUNGE %s is not "
				 "possible",
				 uids);
	return imap_simple(c, NULL, NULL, err, "UID EXPUNGE %s", uids);
}

/* ---- IDLE --------------------------------------------------------------- */

struct idle_ctx {
	imap_untagged_fn *untagged;
	void *ctx;
	bool idling, woke, done;
	enum imap_status status;
};

static int idle_cont(struct imap_client *c, struct imap_cmd *cmd,
		     const struct imap_response *r, struct error *err)
{
	((struct idle_ctx *)cmd->cb.ctx)->idling = true;
	return 0;
}

static int idle_untagged(void *ctx, const struct imap_response *r,
			 struct error *err)
{
	struct idle_ctx *i = ctx;
	if (i->idling)
		i->woke = true;
	return i->untagged ? i->untagged(i->ctx, r, err) : 0;
}

static void idle_done(void *ctx, const struct imap_response *r)
{
	struct idle_ctx *i = ctx;
	i->done = true;
	i->status = r->status;
}

static bool idle_started(void *ctx)
{
	struct idle_ctx *i = ctx;
	return i->idling || i->done;
}

static bool idle_woke(void *ctx)
{
	struct idle_ctx *i = ctx;
	return i->woke || i->done;
}

static bool idle_finished(void *ctx)
{
	return ((struct idle_ctx *)ctx)->done;
}

int imap_idle(struct imap_client *c, int timeout_ms, imap_untagged_fn *untagged,
	      void *ctx, bool *woke_r, struct error *err)
{
	struct idle_ctx i = {.untagged = untagged, .ctx = ctx};
	struct imap_cmd_cb cb = {.untagged = idle_untagged,
				 .done = idle_done,
				 .ctx = &i};
	*woke_r = false;
	if (!imap_has_cap(c, "IDLE"))
		return error_set(err, ERR_FOLDER, "server does not offer IDLE");
	struct imap_cmd *cmd = imap_cmd_begin(c, &cb);
	imap_cmd_add(cmd, "IDLE");
	cmd->cont = idle_cont;
	imap_cmd_end(cmd);
	int r = imap_run_until(c, idle_started, &i, err);
	if (r == 0 && !i.done) {
		r = imap_run_for(c, idle_woke, &i, timeout_ms, err);
		if (r == 0 && !i.done) {
			/* DONE is not a command: no tag (RFC 2177). */
			imap_trace(c, "C: DONE");
			r = imap_conn_send(c->conn, "DONE\r\n", 6, err);
		}
		if (r == 0)
			r = imap_run_until(c, idle_finished, &i, err);
	}
	if (r == 0 && i.status != IMAP_STATUS_OK)
		r = error_set(err, ERR_FOLDER, "IDLE refused by the server");
	*woke_r = i.woke;
	return r;
}
