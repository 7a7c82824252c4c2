/* SPDX-License-Identifier: MIT */
/*
 * Folder listing and `tidemail check`.
 */
#include "imap-cmds.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int imap_mailbox_wire(struct imap_client *c, const char *utf8, char **wire_r,
		      struct error *err)
{
	(void)c; /* UTF8=ACCEPT is not enabled by this client (yet) */
	return imap_utf7_encode(utf8, wire_r, err);
}

void imap_folders_free(struct imap_folder *folders, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(folders[i].name);
		free(folders[i].wire);
		free(folders[i].special);
	}
	free(folders);
}

struct list_ctx {
	struct imap_folder *v;
	size_t n, cap;
};

static const char *const special_uses[] = {
	"\\All", "\\Archive", "\\Drafts", "\\Flagged",
	"\\Junk", "\\Sent", "\\Trash",
};

static void add_folder(struct list_ctx *l, const struct imap_list *li)
{
	l->v = xgrow(l->v, sizeof(*l->v), l->n + 1, &l->cap);
	struct imap_folder *f = &l->v[l->n++];
	memset(f, 0, sizeof(*f));
	f->wire = xstrdup(li->mailbox);
	f->delim = li->delim;
	/* A name that is not valid modified UTF-7 is shown as sent: it
	 * still works in commands through f->wire. */
	if (imap_utf7_decode(li->mailbox, &f->name, NULL) < 0)
		f->name = xstrdup(li->mailbox);
	for (size_t i = 0; i < li->attrs.n; i++) {
		const char *a = li->attrs.v[i];
		if (strcasecmp(a, "\\Noselect") == 0
		    || strcasecmp(a, "\\NonExistent") == 0)
			f->noselect = true;
		for (size_t j = 0; j < UTIL_ARRAY_LEN(special_uses); j++)
			if (!f->special && strcasecmp(a, special_uses[j]) == 0)
				f->special = xstrdup(special_uses[j]);
	}
}

void imap_counts_from(struct imap_counts *c, const struct imap_mbox_status *s)
{
	c->have = s->have;
	c->messages = s->messages;
	c->uidnext = s->uidnext;
	c->uidvalidity = s->uidvalidity;
	c->unseen = s->unseen;
	c->highestmodseq = s->highestmodseq;
}

static void add_status(struct list_ctx *l, const struct imap_mbox_status *s)
{
	/* LIST-STATUS sends each STATUS right after its LIST: search from
	 * the end. */
	for (size_t i = l->n; i-- > 0;) {
		struct imap_folder *f = &l->v[i];
		if (strcmp(f->wire, s->mailbox) != 0)
			continue;
		imap_counts_from(&f->counts, s);
		return;
	}
}

static int list_untagged(void *ctx, const struct imap_response *r,
			 struct error *err)
{
	struct list_ctx *l = ctx;
	if (r->type == IMAP_U_LIST)
		add_folder(l, &r->list);
	else if (r->type == IMAP_U_STATUS)
		add_status(l, &r->mbox_status);
	return 0;
}

int imap_list(struct imap_client *c, struct imap_folder **folders_r,
	      size_t *n_r, struct error *err)
{
	*folders_r = NULL;
	*n_r = 0;
	struct buf ret = BUF_INIT(BUF_UNLIMITED);
	/* RETURN options need LIST-EXTENDED (RFC 5258) syntax. */
	if (imap_has_cap(c, "SPECIAL-USE") && imap_has_cap(c, "LIST-EXTENDED"))
		buf_adds(&ret, "SPECIAL-USE");
	if (imap_has_cap(c, "LIST-STATUS"))
		buf_addf(&ret, "%sSTATUS (MESSAGES UIDNEXT UIDVALIDITY%s)",
			 ret.len ? " " : "",
			 imap_has_cap(c, "CONDSTORE") ? " HIGHESTMODSEQ" : "");
	struct list_ctx l = {0};
	struct imap_cmd_cb cb = {.untagged = list_untagged, .ctx = &l};
	int r;
	if (ret.len)
		r = imap_simple(c, &cb, NULL, err, "LIST \"\" \"*\" RETURN (%s)",
				ret.data);
	else
		r = imap_simple(c, &cb, NULL, err, "LIST \"\" \"*\"");
	buf_release(&ret);
	if (r < 0) {
		imap_folders_free(l.v, l.n);
		return r;
	}
	*folders_r = l.v;
	*n_r = l.n;
	return 0;
}

void imap_check_result_free(struct imap_check_result *res)
{
	for (size_t i = 0; i < res->n_caps; i++)
		free(res->caps[i]);
	free(res->caps);
	imap_folders_free(res->folders, res->n_folders);
	memset(res, 0, sizeof(*res));
}

int imap_check(const struct imap_options *opts, struct imap_check_result *res_r,
	       struct error *err)
{
	memset(res_r, 0, sizeof(*res_r));
	struct imap_client *c;
	int r = imap_connect(opts, &c, err);
	if (r < 0)
		return r;
	const struct imap_strings *caps = imap_caps(c);
	res_r->caps = xcalloc(caps->n + 1, sizeof(*res_r->caps));
	for (size_t i = 0; i < caps->n; i++)
		res_r->caps[i] = xstrdup(caps->v[i]);
	res_r->n_caps = caps->n;
	res_r->tls = imap_is_tls(c);
	res_r->compressed = imap_is_compressed(c);
	r = imap_list(c, &res_r->folders, &res_r->n_folders, err);
	if (r == 0)
		r = imap_logout(c, err);
	imap_close(c);
	if (r < 0) {
		imap_check_result_free(res_r);
		/* check is about the account: any failure is one. */
		if (err && err->msg)
			err->reach = ERR_ACCOUNT;
		return -ERR_ACCOUNT;
	}
	return 0;
}
