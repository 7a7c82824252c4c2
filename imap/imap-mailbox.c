/* SPDX-License-Identifier: MIT */
/*
 * Session and mailbox commands: ENABLE, ID, NAMESPACE, NOOP, CREATE,
 * DELETE, RENAME, STATUS, SELECT/EXAMINE.
 */
#include "imap-cmds.h"

#include <stdlib.h>
#include <string.h>

#include "tidemail-version.h"

/* A command with one mailbox argument, quoted as it needs. */
static int mailbox_cmd(struct imap_client *c, const struct imap_cmd_cb *cb,
		       const char *verb, const char *wire, const char *tail,
		       struct error *err)
{
	char *quoted = imap_quote(wire);
	if (!quoted)
		return error_set(err, ERR_FOLDER,
				 "mailbox name \"%s\" cannot be sent", wire);
	int r = imap_simple(c, cb, NULL, err, "%s %s%s", verb, quoted,
			    tail ? tail : "");
	free(quoted);
	if (r == -ERR_FOLDER)
		error_prefix(err, "mailbox %s", wire);
	return r;
}

static int count_enabled(void *ctx, const struct imap_response *r,
			 struct error *err)
{
	if (r->type == IMAP_U_ENABLED)
		*(size_t *)ctx += r->strings.n;
	return 0;
}

int imap_enable(struct imap_client *c, const char *exts, size_t *enabled_r,
		struct error *err)
{
	size_t n = 0;
	if (enabled_r)
		*enabled_r = 0;
	if (!imap_has_cap(c, "ENABLE"))
		return 0;
	struct imap_cmd_cb cb = {.untagged = count_enabled, .ctx = &n};
	int r = imap_simple(c, &cb, NULL, err, "ENABLE %s", exts);
	if (enabled_r)
		*enabled_r = n;
	return r;
}

static int note_enabled(void *ctx, const struct imap_response *r,
			struct error *err)
{
	if (r->type == IMAP_U_ENABLED && r->strings.n > 0)
		*(bool *)ctx = true;
	return 0;
}

void imap_enable_submit(struct imap_client *c, const char *exts, bool *on_r)
{
	*on_r = false;
	if (!imap_has_cap(c, "ENABLE"))
		return;
	struct imap_cmd_cb cb = {.untagged = note_enabled, .ctx = on_r};
	imap_submit(c, &cb, "ENABLE %s", exts);
}

int imap_id(struct imap_client *c, struct error *err)
{
	if (!imap_has_cap(c, "ID"))
		return 0;
	return imap_simple(c, NULL, NULL, err,
			   "ID (\"name\" \"tidemail\" \"version\" \"%s\")",
			   TIDEMAIL_VERSION);
}

struct ns_ctx {
	char *prefix;
	char delim;
};

static int ns_untagged(void *ctx, const struct imap_response *r,
		       struct error *err)
{
	struct ns_ctx *n = ctx;
	if (r->type == IMAP_U_NAMESPACE && r->ns.present && !n->prefix) {
		n->prefix = xstrdup(r->ns.prefix);
		n->delim = r->ns.delim;
	}
	return 0;
}

int imap_namespace(struct imap_client *c, char **prefix_r, char *delim_r,
		   struct error *err)
{
	struct ns_ctx n = {0};
	struct imap_cmd_cb cb = {.untagged = ns_untagged, .ctx = &n};
	*prefix_r = NULL;
	*delim_r = '\0';
	int r = imap_simple(c, &cb, NULL, err, "NAMESPACE");
	if (r < 0) {
		free(n.prefix);
		return r;
	}
	*prefix_r = n.prefix ? n.prefix : xstrdup("");
	*delim_r = n.delim;
	return 0;
}

int imap_noop(struct imap_client *c, struct error *err)
{
	return imap_simple(c, NULL, NULL, err, "NOOP");
}

int imap_create(struct imap_client *c, const char *wire, struct error *err)
{
	return mailbox_cmd(c, NULL, "CREATE", wire, NULL, err);
}

int imap_delete(struct imap_client *c, const char *wire, struct error *err)
{
	return mailbox_cmd(c, NULL, "DELETE", wire, NULL, err);
}

int imap_rename(struct imap_client *c, const char *from_wire,
		const char *to_wire, struct error *err)
{
	char *to = imap_quote(to_wire);
	if (!to)
		return error_set(err, ERR_FOLDER,
				 "mailbox name \"%s\" cannot be sent", to_wire);
	char *tail = xasprintf(" %s", to);
	int r = mailbox_cmd(c, NULL, "RENAME", from_wire, tail, err);
	free(tail);
	free(to);
	return r;
}

static int status_untagged(void *ctx, const struct imap_response *r,
			   struct error *err)
{
	if (r->type == IMAP_U_STATUS)
		imap_counts_from(ctx, &r->mbox_status);
	return 0;
}

int imap_status(struct imap_client *c, const char *wire,
		struct imap_counts *counts_r, struct error *err)
{
	memset(counts_r, 0, sizeof(*counts_r));
	struct imap_cmd_cb cb = {.untagged = status_untagged, .ctx = counts_r};
	return mailbox_cmd(c, &cb, "STATUS", wire,
			   imap_has_cap(c, "CONDSTORE")
				   ? " (MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ)"
				   : " (MESSAGES UIDNEXT UIDVALIDITY)",
			   err);
}

struct select_ctx {
	struct imap_mailbox *mb;
	const struct imap_select_opts *o;
};

static int select_untagged(void *ctx, const struct imap_response *r,
			   struct error *err)
{
	struct select_ctx *s = ctx;
	struct imap_mailbox *mb = s->mb;
	if (r->type == IMAP_U_EXISTS)
		mb->exists = r->number;
	const struct imap_resp_code *code = &r->code;
	if (r->type == IMAP_U_STATE && r->status == IMAP_STATUS_OK) {
		switch (code->type) {
		case IMAP_CODE_UIDVALIDITY:
			mb->uidvalidity = (uint32_t)code->num;
			break;
		case IMAP_CODE_UIDNEXT:
			mb->uidnext = (uint32_t)code->num;
			break;
		case IMAP_CODE_HIGHESTMODSEQ:
			mb->highestmodseq = code->num;
			break;
		case IMAP_CODE_NOMODSEQ:
			mb->nomodseq = true;
			break;
		case IMAP_CODE_PERMANENTFLAGS:
			for (size_t i = 0; i < mb->n_permflags; i++)
				free(mb->permflags[i]);
			free(mb->permflags);
			mb->permflags = xcalloc(code->list.n + 1,
						sizeof(*mb->permflags));
			for (size_t i = 0; i < code->list.n; i++)
				mb->permflags[i] = xstrdup(code->list.v[i]);
			mb->n_permflags = code->list.n;
			break;
		default:
			break;
		}
	}
	if (s->o && s->o->untagged)
		return s->o->untagged(s->o->ctx, r, err);
	return 0;
}

int imap_select(struct imap_client *c, const char *wire,
		const struct imap_select_opts *o, struct imap_mailbox *mb_r,
		struct error *err)
{
	memset(mb_r, 0, sizeof(*mb_r));
	struct buf params = BUF_INIT(BUF_UNLIMITED);
	if (o && o->qresync_uidvalidity && o->qresync_modseq
	    && imap_has_cap(c, "QRESYNC"))
		buf_addf(&params, " (QRESYNC (%u %llu%s%s))",
			 o->qresync_uidvalidity,
			 (unsigned long long)o->qresync_modseq,
			 o->qresync_uids ? " " : "",
			 o->qresync_uids ? o->qresync_uids : "");
	else if (o && o->condstore && imap_has_cap(c, "CONDSTORE"))
		buf_adds(&params, " (CONDSTORE)");
	struct select_ctx s = {.mb = mb_r, .o = o};
	struct imap_cmd_cb cb = {.untagged = select_untagged, .ctx = &s};
	struct imap_code_copy code;
	char *quoted = imap_quote(wire);
	int r = quoted ? imap_simple(c, &cb, &code, err, "%s %s%s",
				     o && o->examine ? "EXAMINE" : "SELECT",
				     quoted, params.data)
		       : error_set(err, ERR_FOLDER,
				   "mailbox name \"%s\" cannot be sent", wire);
	free(quoted);
	buf_release(&params);
	if (r < 0) {
		imap_mailbox_free(mb_r);
		if (r == -ERR_FOLDER)
			error_prefix(err, "mailbox %s", wire);
		return r;
	}
	mb_r->read_only = code.type == IMAP_CODE_READ_ONLY;
	imap_code_copy_free(&code);
	return 0;
}

void imap_mailbox_free(struct imap_mailbox *mb)
{
	for (size_t i = 0; i < mb->n_permflags; i++)
		free(mb->permflags[i]);
	free(mb->permflags);
	memset(mb, 0, sizeof(*mb));
}
