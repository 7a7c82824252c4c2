/* SPDX-License-Identifier: MIT */
/*
 * The hostile test server's model of the mailboxes and its honest
 * answers: LIST, STATUS, SELECT, UID FETCH/SEARCH/STORE/EXPUNGE/MOVE,
 * APPEND, CREATE and the session commands, as far as tidemail's sync
 * needs them.
 */
#include "hostile-server-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap-uidset.h"

/* ---- the model --------------------------------------------------------- */

static struct box *box_find(struct srv *v, const char *name)
{
	for (size_t i = 0; i < v->n_boxes; i++)
		if (!strcmp(v->boxes[i].name, name) ||
		    (!strcasecmp(name, "INBOX") && !strcasecmp(v->boxes[i].name, "INBOX")))
			return &v->boxes[i];
	return NULL;
}

static struct box *box_add(struct srv *v, const char *name, uint32_t uidvalidity)
{
	v->boxes = xgrow(v->boxes, sizeof(*v->boxes), v->n_boxes + 1, &v->cap_boxes);
	struct box *b = &v->boxes[v->n_boxes++];
	memset(b, 0, sizeof(*b));
	b->name = xstrdup(name);
	b->uidvalidity = uidvalidity;
	b->uidnext = 1;
	return b;
}

static struct msg *msg_add(struct srv *v, struct box *b, uint32_t uid, const char *flags,
			   const char *body, size_t len)
{
	b->msgs = xgrow(b->msgs, sizeof(*b->msgs), b->n + 1, &b->cap);
	struct msg *m = &b->msgs[b->n++];
	m->uid = uid;
	m->flags = xstrdup(flags ? flags : "");
	m->body = xmalloc(len + 1);
	memcpy(m->body, body, len);
	m->body[len] = '\0';
	m->len = len;
	m->modseq = v->modseq;
	if (uid >= b->uidnext)
		b->uidnext = uid + 1;
	return m;
}

/* Each message's MODSEQ is ten times its UID (or the script's HIGHESTMODSEQ
 * if that is lower), so that a message new since a sync is "changed since"
 * that sync's HIGHESTMODSEQ, as RFC 7162 has it. */
void hs_model_load(struct srv *v)
{
	v->modseq = 0;
	for (size_t i = 0; i < v->s->n_boxes; i++) {
		const struct hs_box *hb = &v->s->boxes[i];
		struct box *b = box_add(v, hb->name, hb->uidvalidity);
		for (size_t j = 0; j < hb->n_msgs; j++) {
			struct msg *m = msg_add(v, b, hb->msgs[j].uid, hb->msgs[j].flags,
						hb->msgs[j].body, strlen(hb->msgs[j].body));
			m->modseq = (uint64_t)m->uid * 10;
			if (v->s->modseq && m->modseq > v->s->modseq)
				m->modseq = v->s->modseq;
			if (m->modseq > v->modseq)
				v->modseq = m->modseq;
		}
		if (hb->uidnext)
			b->uidnext = hb->uidnext;
	}
	if (v->s->modseq)
		v->modseq = v->s->modseq;
	if (v->modseq == 0)
		v->modseq = 1;
}

static bool has_cap(const struct srv *v, const char *cap)
{
	const char *caps = v->logged_in ? (v->s->caps_after ? v->s->caps_after : HS_CAPS_AFTER)
					: (v->s->caps_before ? v->s->caps_before
							     : "IMAP4rev1 AUTH=PLAIN SASL-IR");
	size_t n = strlen(cap);
	for (const char *p = caps; (p = strstr(p, cap)); p += n)
		if ((p == caps || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

const char *hs_caps_now(const struct srv *v)
{
	if (v->logged_in)
		return v->s->caps_after ? v->s->caps_after : HS_CAPS_AFTER;
	return v->s->caps_before ? v->s->caps_before : "IMAP4rev1 AUTH=PLAIN SASL-IR";
}

/* A mailbox name as a quoted string, or a literal where it must be. */
static void add_astring(struct buf *b, const char *s)
{
	bool literal = false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		literal |= *p == '\r' || *p == '\n' || *p >= 0x80;
	if (literal) {
		buf_addf(b, "{%zu}\r\n%s", strlen(s), s);
		return;
	}
	buf_addc(b, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_addc(b, '\\');
		buf_addc(b, *s);
	}
	buf_addc(b, '"');
}

static bool flag_has(const char *flags, const char *f)
{
	size_t n = strlen(f);
	for (const char *p = flags; (p = strcasestr(p, f)); p += n)
		if ((p == flags || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

/* Calls fn for each word of s (separated by spaces and parentheses). */
static void each_word(const char *s, void (*fn)(void *ctx, const char *w), void *ctx)
{
	while (*s) {
		size_t skip = strspn(s, " ()");
		s += skip;
		size_t len = strcspn(s, " ()");
		if (len) {
			char *w = xstrndup(s, len);
			fn(ctx, w);
			free(w);
		}
		s += len;
	}
}

struct flag_edit {
	struct buf out;
	const char *words; /* of the command */
	bool minus;
};

static void keep_old(void *ctx, const char *w)
{
	struct flag_edit *e = ctx;
	if (!(e->minus && flag_has(e->words, w)))
		buf_addf(&e->out, "%s%s", e->out.len ? " " : "", w);
}

static void add_new(void *ctx, const char *w)
{
	struct flag_edit *e = ctx;
	if (!flag_has(e->out.data, w))
		buf_addf(&e->out, "%s%s", e->out.len ? " " : "", w);
}

/* Applies "+FLAGS", "-FLAGS" or "FLAGS" with the words of list. */
static char *flags_apply(const char *old, const char *action, const char *list)
{
	struct flag_edit e = {BUF_INIT(BUF_UNLIMITED), list, action[0] == '-'};
	if (action[0] == '+' || e.minus)
		each_word(old, keep_old, &e);
	if (!e.minus)
		each_word(list, add_new, &e);
	return buf_detach(&e.out, NULL);
}

/* ---- answers ----------------------------------------------------------- */

static void fetch_one(struct srv *v, size_t seq, const struct msg *m, const char *items,
		      bool modseq)
{
	struct buf *o = &v->out;
	buf_addf(o, "* %zu FETCH (UID %u", seq, m->uid);
	if (strstr(items, " FLAGS") || !strncasecmp(items, "FLAGS", 5))
		buf_addf(o, " FLAGS (%s)", m->flags);
	if (strstr(items, "RFC822.SIZE"))
		buf_addf(o, " RFC822.SIZE %zu", m->len);
	if (strstr(items, "INTERNALDATE"))
		buf_adds(o, " INTERNALDATE \"14-Nov-2023 22:13:20 +0000\"");
	if (modseq)
		buf_addf(o, " MODSEQ (%llu)", (unsigned long long)m->modseq);
	if (strstr(items, "HEADER.FIELDS")) {
		const char *id = strcasestr(m->body, "\nMessage-ID:");
		size_t len = id ? strcspn(id + 1, "\r\n") : 0;
		buf_addf(o, " BODY[HEADER.FIELDS (MESSAGE-ID)] {%zu}\r\n",
			 len ? len + 4 : 2);
		if (len)
			buf_addf(o, "%.*s\r\n", (int)len, id + 1);
		buf_adds(o, "\r\n");
	}
	if (strstr(items, "BODY.PEEK[]")) {
		buf_addf(o, " BODY[] {%zu}\r\n", m->len);
		buf_add(o, m->body, m->len);
	}
	buf_adds(o, ")\r\n");
}

static void do_uid_fetch(struct srv *v, const struct cmd *c)
{
	struct imap_uid_set set;
	if (!v->sel || c->n < 3 || imap_uid_set_parse(c->toks[2].s, &set) < 0) {
		buf_addf(&v->out, "%s BAD fetch what\r\n", c->tag);
		return;
	}
	const char *items = strstr(c->text.data, c->toks[2].s) + c->toks[2].len;
	unsigned long long since = 0;
	const char *cs = strcasestr(items, "CHANGEDSINCE ");
	if (cs)
		since = strtoull(cs + 13, NULL, 10);
	bool modseq = cs || strstr(items, "MODSEQ");
	for (size_t i = 0; i < v->sel->n; i++) {
		const struct msg *m = &v->sel->msgs[i];
		if (imap_uid_set_contains(&set, m->uid) && m->modseq > since)
			fetch_one(v, i + 1, m, items, modseq);
	}
	imap_uid_set_free(&set);
	buf_addf(&v->out, "%s OK fetched\r\n", c->tag);
}

static void do_uid_search(struct srv *v, const struct cmd *c)
{
	struct imap_uid_set set = {0};
	bool have_set = false;
	const char *header = NULL;
	for (size_t i = 2; i < c->n; i++) {
		if (!strcasecmp(c->toks[i].s, "UID") && i + 1 < c->n)
			have_set = imap_uid_set_parse(c->toks[++i].s, &set) == 0;
		else if (!strcasecmp(c->toks[i].s, "HEADER") && i + 2 < c->n)
			header = c->toks[i += 2].s;
	}
	buf_adds(&v->out, "* SEARCH");
	for (size_t i = 0; v->sel && i < v->sel->n; i++) {
		const struct msg *m = &v->sel->msgs[i];
		if ((!have_set || imap_uid_set_contains(&set, m->uid)) &&
		    (!header || strstr(m->body, header)))
			buf_addf(&v->out, " %u", m->uid);
	}
	imap_uid_set_free(&set);
	buf_addf(&v->out, "\r\n%s OK searched\r\n", c->tag);
}

static void do_uid_store(struct srv *v, const struct cmd *c)
{
	struct imap_uid_set set;
	if (!v->sel || c->n < 5 || imap_uid_set_parse(c->toks[2].s, &set) < 0) {
		buf_addf(&v->out, "%s BAD store what\r\n", c->tag);
		return;
	}
	/* Skips an (UNCHANGEDSINCE n) modifier. */
	size_t k = 3;
	if (c->toks[k].s[0] == '(')
		k += 2;
	const char *action = c->toks[k].s;
	const char *list = strstr(c->text.data, action) + strlen(action);
	for (size_t i = 0; i < v->sel->n; i++) {
		struct msg *m = &v->sel->msgs[i];
		if (!imap_uid_set_contains(&set, m->uid))
			continue;
		char *nf = flags_apply(m->flags, action, list);
		free(m->flags);
		m->flags = nf;
		m->modseq = ++v->modseq;
	}
	imap_uid_set_free(&set);
	buf_addf(&v->out, "%s OK stored\r\n", c->tag);
}

/* Takes the messages of set (all \Deleted ones with deleted_only) out
 * of the selected box, sending EXPUNGE for each. */
static void expunge(struct srv *v, const struct imap_uid_set *set, bool deleted_only)
{
	struct box *b = v->sel;
	size_t j = 0;
	for (size_t i = 0; i < b->n; i++) {
		struct msg *m = &b->msgs[i];
		if ((!set || imap_uid_set_contains(set, m->uid)) &&
		    (!deleted_only || flag_has(m->flags, "\\Deleted"))) {
			buf_addf(&v->out, "* %zu EXPUNGE\r\n", j + 1);
			free(m->flags);
			free(m->body);
			continue;
		}
		b->msgs[j++] = *m;
	}
	b->n = j;
	v->modseq++;
}

static void do_uid_move(struct srv *v, const struct cmd *c, bool move)
{
	struct imap_uid_set set;
	struct box *to = c->n >= 4 ? box_find(v, c->toks[3].s) : NULL;
	if (!v->sel || !to || imap_uid_set_parse(c->toks[2].s, &set) < 0) {
		buf_addf(&v->out, "%s NO [TRYCREATE] move where\r\n", c->tag);
		return;
	}
	struct buf src = BUF_INIT(BUF_UNLIMITED), dst = BUF_INIT(BUF_UNLIMITED);
	for (size_t i = 0; i < v->sel->n; i++) {
		const struct msg *m = &v->sel->msgs[i];
		if (!imap_uid_set_contains(&set, m->uid))
			continue;
		buf_addf(&src, "%s%u", src.len ? "," : "", m->uid);
		buf_addf(&dst, "%s%u", dst.len ? "," : "", to->uidnext);
		/* to may be the selected box: copy what m holds first. */
		char *flags = xstrdup(m->flags), *body = xstrdup(m->body);
		size_t len = m->len;
		msg_add(v, to, to->uidnext, flags, body, len);
		free(flags);
		free(body);
	}
	if (move && src.len) {
		buf_addf(&v->out, "* OK [COPYUID %u %s %s] moved\r\n", to->uidvalidity,
			 src.data, dst.data);
		expunge(v, &set, false);
		buf_addf(&v->out, "%s OK moved\r\n", c->tag);
	} else if (src.len) {
		buf_addf(&v->out, "%s OK [COPYUID %u %s %s] copied\r\n", c->tag,
			 to->uidvalidity, src.data, dst.data);
	} else {
		buf_addf(&v->out, "%s OK nothing\r\n", c->tag);
	}
	imap_uid_set_free(&set);
	buf_release(&src);
	buf_release(&dst);
}

static void do_append(struct srv *v, const struct cmd *c)
{
	struct box *b = c->n >= 3 ? box_find(v, c->toks[1].s) : NULL;
	const struct tok *lit = c->n ? &c->toks[c->n - 1] : NULL;
	if (!b || !lit || !lit->literal) {
		buf_addf(&v->out, "%s NO [TRYCREATE] append where\r\n", c->tag);
		return;
	}
	const char *flags = c->toks[2].s[0] == '(' ? c->toks[2].s : "";
	char *fl = flags_apply("", "FLAGS", flags);
	uint32_t uid = b->uidnext;
	msg_add(v, b, uid, fl, lit->s, lit->len);
	free(fl);
	if (has_cap(v, "UIDPLUS"))
		buf_addf(&v->out, "%s OK [APPENDUID %u %u] appended\r\n", c->tag,
			 b->uidvalidity, uid);
	else
		buf_addf(&v->out, "%s OK appended\r\n", c->tag);
}

static void do_status(struct srv *v, const struct cmd *c, const struct box *b)
{
	size_t unseen = 0;
	for (size_t i = 0; i < b->n; i++)
		unseen += !flag_has(b->msgs[i].flags, "\\Seen");
	buf_adds(&v->out, "* STATUS ");
	add_astring(&v->out, b->name);
	buf_addf(&v->out, " (MESSAGES %zu UIDNEXT %u UIDVALIDITY %u UNSEEN %zu", b->n,
		 b->uidnext, b->uidvalidity, unseen);
	if (has_cap(v, "CONDSTORE"))
		buf_addf(&v->out, " HIGHESTMODSEQ %llu", (unsigned long long)v->modseq);
	buf_addf(&v->out, ")\r\n%s OK status\r\n", c->tag);
}

static void do_select(struct srv *v, const struct cmd *c, bool examine)
{
	struct box *b = c->n >= 2 ? box_find(v, c->toks[1].s) : NULL;
	v->sel = b;
	if (!b) {
		buf_addf(&v->out, "%s NO no such mailbox\r\n", c->tag);
		return;
	}
	buf_addf(&v->out, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
		 "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] ok\r\n"
		 "* %zu EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY %u] ok\r\n"
		 "* OK [UIDNEXT %u] ok\r\n", b->n, b->uidvalidity, b->uidnext);
	if (has_cap(v, "CONDSTORE"))
		buf_addf(&v->out, "* OK [HIGHESTMODSEQ %llu] ok\r\n", (unsigned long long)v->modseq);
	buf_addf(&v->out, "%s OK [%s] selected\r\n", c->tag, examine ? "READ-ONLY" : "READ-WRITE");
}

static void do_list(struct srv *v, const struct cmd *c)
{
	for (size_t i = 0; i < v->n_boxes; i++) {
		buf_addf(&v->out, "* LIST (\\HasNoChildren) \"%c\" ",
			 v->s->delim ? v->s->delim : '/');
		add_astring(&v->out, v->boxes[i].name);
		buf_adds(&v->out, "\r\n");
	}
	if (v->s->list_extra)
		buf_add(&v->out, v->s->list_extra,
			v->s->list_extra_len ? v->s->list_extra_len : strlen(v->s->list_extra));
	buf_addf(&v->out, "%s OK listed\r\n", c->tag);
}

/* The normal answer to one command; false ends the connection. */
bool hs_answer(struct srv *v, const struct cmd *c)
{
	const char *verb = c->n ? c->toks[0].s : "";
	const char *sub = c->n > 1 ? c->toks[1].s : "";
	bool uid = !strcasecmp(verb, "UID");
	struct box *b;
	if (!strcasecmp(verb, "CAPABILITY")) {
		buf_addf(&v->out, "* CAPABILITY %s\r\n%s OK\r\n", hs_caps_now(v), c->tag);
	} else if (!strcasecmp(verb, "LOGIN") || !strcasecmp(verb, "AUTHENTICATE")) {
		if (!strcasecmp(verb, "AUTHENTICATE") && c->n < 3) {
			size_t len;
			buf_adds(&v->out, "+ \r\n");
			char *resp = hs_flush(v) ? hs_read_line(v, &len) : NULL;
			if (!resp)
				return false;
			free(resp);
		}
		v->logged_in = true;
		buf_addf(&v->out, "%s OK [CAPABILITY %s] logged in\r\n", c->tag, hs_caps_now(v));
	} else if (!strcasecmp(verb, "ENABLE")) {
		buf_addf(&v->out, "* ENABLED %s\r\n%s OK\r\n", sub, c->tag);
	} else if (!strcasecmp(verb, "LIST")) {
		do_list(v, c);
	} else if (!strcasecmp(verb, "STATUS") && (b = box_find(v, sub))) {
		do_status(v, c, b);
	} else if (!strcasecmp(verb, "SELECT") || !strcasecmp(verb, "EXAMINE")) {
		do_select(v, c, !strcasecmp(verb, "EXAMINE"));
	} else if (uid && !strcasecmp(sub, "FETCH")) {
		do_uid_fetch(v, c);
	} else if (uid && !strcasecmp(sub, "SEARCH")) {
		do_uid_search(v, c);
	} else if (uid && !strcasecmp(sub, "STORE")) {
		do_uid_store(v, c);
	} else if (uid && !strcasecmp(sub, "EXPUNGE") && v->sel) {
		struct imap_uid_set set;
		if (c->n < 3 || imap_uid_set_parse(c->toks[2].s, &set) < 0)
			return false;
		expunge(v, &set, true);
		imap_uid_set_free(&set);
		buf_addf(&v->out, "%s OK expunged\r\n", c->tag);
	} else if (uid && (!strcasecmp(sub, "MOVE") || !strcasecmp(sub, "COPY"))) {
		do_uid_move(v, c, !strcasecmp(sub, "MOVE"));
	} else if (!strcasecmp(verb, "APPEND")) {
		do_append(v, c);
	} else if (!strcasecmp(verb, "CREATE") && c->n >= 2) {
		if (!box_find(v, sub))
			box_add(v, sub, 5000 + (uint32_t)v->n_boxes);
		buf_addf(&v->out, "%s OK created\r\n", c->tag);
	} else if (!strcasecmp(verb, "LOGOUT")) {
		buf_addf(&v->out, "* BYE bye\r\n%s OK\r\n", c->tag);
		hs_flush(v);
		return false;
	} else if (!strcasecmp(verb, "NOOP") || !strcasecmp(verb, "CHECK") ||
		   !strcasecmp(verb, "ID") || !strcasecmp(verb, "UNSELECT") ||
		   !strcasecmp(verb, "CLOSE")) {
		buf_addf(&v->out, "%s OK\r\n", c->tag);
	} else {
		buf_addf(&v->out, "%s BAD not in this script: %s\r\n", c->tag, verb);
	}
	return hs_flush(v);
}

