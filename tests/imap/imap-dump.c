/* SPDX-License-Identifier: MIT */
/* Parsed responses as text: see imap-dump.h. */
#include "imap-dump.h"

static void dump_strings(struct buf *b, const struct imap_strings *s)
{
	buf_addc(b, '[');
	for (size_t i = 0; i < s->n; i++)
		buf_addf(b, "%s%s", i ? "," : "", s->v[i]);
	buf_addc(b, ']');
}

static const char *const code_names[] = {
	"NONE",	     "ALERT",	   "CAPABILITY", "PERMANENTFLAGS",
	"UIDVALIDITY", "UIDNEXT",  "UNSEEN",	 "HIGHESTMODSEQ",
	"NOMODSEQ",    "APPENDUID", "COPYUID",	 "CLOSED",
	"TRYCREATE",   "READ-ONLY", "READ-WRITE", "MODIFIED",
	"OTHER",
};

static void dump_code(struct buf *b, const struct imap_resp_code *c)
{
	if (c->type == IMAP_CODE_NONE)
		return;
	buf_addf(b, " [%s", code_names[c->type]);
	switch (c->type) {
	case IMAP_CODE_UIDVALIDITY:
	case IMAP_CODE_UIDNEXT:
	case IMAP_CODE_UNSEEN:
	case IMAP_CODE_HIGHESTMODSEQ:
		buf_addf(b, " %llu", (unsigned long long)c->num);
		break;
	case IMAP_CODE_APPENDUID:
		buf_addf(b, " %u %s", c->uidvalidity, c->uids);
		break;
	case IMAP_CODE_COPYUID:
		buf_addf(b, " %u %s>%s", c->uidvalidity, c->src_uids, c->uids);
		break;
	case IMAP_CODE_MODIFIED:
		buf_addf(b, " %s", c->uids);
		break;
	case IMAP_CODE_CAPABILITY:
	case IMAP_CODE_PERMANENTFLAGS:
		buf_addc(b, ' ');
		dump_strings(b, &c->list);
		break;
	case IMAP_CODE_OTHER:
		buf_addf(b, " %s|%s", c->name, c->args);
		break;
	default:
		break;
	}
	buf_addc(b, ']');
}

static const char *const status_names[] = {
	"NONE", "OK", "NO", "BAD", "PREAUTH", "BYE",
};

static void dump_fetch(struct buf *b, const struct imap_fetch *f)
{
	buf_addf(b, "FETCH %u", f->seq);
	if (f->have & IMAP_FETCH_UID)
		buf_addf(b, " uid=%u", f->uid);
	if (f->have & IMAP_FETCH_FLAGS) {
		buf_adds(b, " flags=");
		dump_strings(b, &f->flags);
	}
	if (f->have & IMAP_FETCH_MODSEQ)
		buf_addf(b, " modseq=%llu", (unsigned long long)f->modseq);
	if (f->have & IMAP_FETCH_SIZE)
		buf_addf(b, " size=%llu", (unsigned long long)f->size);
	if (f->have & IMAP_FETCH_INTERNALDATE)
		buf_addf(b, " date=%lld", (long long)f->date);
	if (f->have & IMAP_FETCH_EMAILID)
		buf_addf(b, " emailid=%s", f->emailid);
	for (size_t i = 0; i < f->n_bodies; i++) {
		const struct imap_fetch_body *x = &f->bodies[i];
		buf_addf(b, " %s=", x->section);
		if (x->nil)
			buf_adds(b, "NIL");
		else if (x->streamed)
			buf_addf(b, "<streamed %llu>",
				 (unsigned long long)x->size);
		else
			buf_addf(b, "'%s'", x->data);
	}
}

static void dump_untagged(struct buf *b, const struct imap_response *r)
{
	switch (r->type) {
	case IMAP_U_STATE:
		buf_addf(b, "* %s", status_names[r->status]);
		dump_code(b, &r->code);
		buf_addf(b, " '%s'", r->text);
		break;
	case IMAP_U_CAPABILITY:
	case IMAP_U_ENABLED:
	case IMAP_U_FLAGS:
		buf_addf(b, "* %s ", r->args[0].str);
		dump_strings(b, &r->strings);
		break;
	case IMAP_U_LIST:
	case IMAP_U_LSUB:
		buf_addf(b, "* %s ", r->type == IMAP_U_LIST ? "LIST" : "LSUB");
		dump_strings(b, &r->list.attrs);
		buf_addf(b, " delim=%c mailbox='%s'",
			 r->list.delim ? r->list.delim : '0', r->list.mailbox);
		break;
	case IMAP_U_STATUS: {
		const struct imap_mbox_status *s = &r->mbox_status;
		buf_addf(b, "* STATUS '%s' have=%u messages=%u uidnext=%u "
			    "uidvalidity=%u unseen=%u recent=%u hms=%llu",
			 s->mailbox, s->have, s->messages, s->uidnext,
			 s->uidvalidity, s->unseen, s->recent,
			 (unsigned long long)s->highestmodseq);
		break;
	}
	case IMAP_U_SEARCH:
		buf_adds(b, "* SEARCH");
		for (size_t i = 0; i < r->search.n; i++)
			buf_addf(b, " %u", r->search.nums[i]);
		if (r->search.have_modseq)
			buf_addf(b, " modseq=%llu",
				 (unsigned long long)r->search.modseq);
		break;
	case IMAP_U_ESEARCH: {
		const struct imap_esearch *e = &r->esearch;
		buf_addf(b, "* ESEARCH tag=%s uid=%d have=%u min=%u max=%u "
			    "count=%u all=%s modseq=%llu",
			 e->tag ? e->tag : "-", e->uid, e->have, e->min, e->max,
			 e->count, e->all ? e->all : "-",
			 (unsigned long long)e->modseq);
		break;
	}
	case IMAP_U_NAMESPACE:
		buf_addf(b, "* NAMESPACE present=%d prefix='%s' delim=%c",
			 r->ns.present, r->ns.prefix ? r->ns.prefix : "-",
			 r->ns.delim ? r->ns.delim : '0');
		break;
	case IMAP_U_EXISTS:
	case IMAP_U_RECENT:
	case IMAP_U_EXPUNGE:
		buf_addf(b, "* %u %s", r->number, r->args[1].str);
		break;
	case IMAP_U_FETCH:
		buf_adds(b, "* ");
		dump_fetch(b, &r->fetch);
		break;
	case IMAP_U_VANISHED:
		buf_addf(b, "* VANISHED earlier=%d %s", r->vanished_earlier,
			 r->vanished);
		break;
	default:
		buf_addf(b, "* %s ", r->type == IMAP_U_ID ? "ID" : "OTHER");
		imap_args_render(b, r->args, r->n_args, true);
		break;
	}
}

void imap_dump_response(struct buf *b, const struct imap_response *r)
{
	if (r->kind == IMAP_RESP_CONTINUE) {
		buf_adds(b, "+");
		dump_code(b, &r->code);
		buf_addf(b, " '%s'", r->text);
	} else if (r->kind == IMAP_RESP_TAGGED) {
		buf_addf(b, "%s %s", r->tag, status_names[r->status]);
		dump_code(b, &r->code);
		buf_addf(b, " '%s'", r->text);
	} else {
		dump_untagged(b, r);
	}
	buf_addc(b, '\n');
}
