/* SPDX-License-Identifier: MIT */
/*
 * The hostile test server: reading commands (with their literals),
 * answering them from a model of the mailboxes, and the hooks that put
 * hostile bytes in place of the answers.  It runs in a forked child and
 * talks only to its socket; it never touches the client's files.
 */
#include "hostile-server.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "imap-uidset.h"
#include "util.h"

/* Ceilings that keep a confused client from making the server hoard. */
#define HS_LINE_MAX (1024 * 1024)
#define HS_LITERAL_MAX (64 * 1024 * 1024)

struct msg {
	uint32_t uid;
	char *flags; /* space-separated, never NULL */
	char *body;
	size_t len;
	uint64_t modseq;
};

struct box {
	char *name;
	uint32_t uidvalidity, uidnext;
	struct msg *msgs;
	size_t n, cap;
};

struct tok {
	char *s;
	size_t len;
	bool literal;
};

struct cmd {
	char *tag;
	struct buf text; /* after the tag; literals shown as {n} */
	struct tok *toks;  /* after the tag */
	size_t n, cap;
	bool cut;          /* a HS_LITERAL hook ended it early */
};

struct srv {
	const struct hs_script *s;
	int fd;
	struct buf in;
	struct buf out;
	unsigned *hook_seen;
	struct box *boxes;
	size_t n_boxes, cap_boxes;
	struct box *sel;
	bool logged_in;
	bool mute; /* a hook replaces the answer: the model changes, unseen */
	uint64_t modseq;
};

/* ---- the socket -------------------------------------------------------- */

static bool send_all(int fd, const void *p, size_t len)
{
	const char *c = p;
	while (len > 0) {
		ssize_t n = send(fd, c, len, MSG_NOSIGNAL);
		if (n <= 0)
			return false;
		c += n;
		len -= (size_t)n;
	}
	return true;
}

static bool flush_out(struct srv *v)
{
	if (v->mute) {
		buf_reset(&v->out);
		return true;
	}
	bool ok = send_all(v->fd, v->out.data, v->out.len);
	buf_reset(&v->out);
	return ok;
}

static bool read_more(struct srv *v)
{
	struct pollfd p = {.fd = v->fd, .events = POLLIN};
	if (poll(&p, 1, 20000) <= 0)
		return false;
	char tmp[4096];
	ssize_t n = read(v->fd, tmp, sizeof(tmp));
	return n > 0 && buf_add(&v->in, tmp, (size_t)n) == 0;
}

/* One line without its CRLF (a new string), or NULL at the end. */
static char *read_line(struct srv *v, size_t *len_r)
{
	for (;;) {
		char *crlf = memmem(v->in.data, v->in.len, "\r\n", 2);
		if (crlf) {
			size_t len = (size_t)(crlf - v->in.data);
			char *line = xstrndup(v->in.data, len);
			buf_consume(&v->in, len + 2);
			*len_r = len;
			return line;
		}
		if (v->in.len > HS_LINE_MAX || !read_more(v))
			return NULL;
	}
}

static bool read_bytes(struct srv *v, size_t n, char **data_r)
{
	while (v->in.len < n)
		if (!read_more(v))
			return false;
	*data_r = xmalloc(n + 1);
	memcpy(*data_r, v->in.data, n);
	(*data_r)[n] = '\0';
	buf_consume(&v->in, n);
	return true;
}

/* ---- hooks ------------------------------------------------------------- */

static void add_tagged(struct buf *b, const char *s, size_t len, const char *tag)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '$' && i + 1 < len && s[i + 1] == 'T') {
			buf_adds(b, tag);
			i++;
		} else {
			buf_addc(b, s[i]);
		}
	}
}

/* The hook of act that fires on this command, or NULL. */
static const struct hs_hook *hook_for(struct srv *v, const char *text, bool literal)
{
	for (size_t i = 0; i < v->s->n_hooks; i++) {
		const struct hs_hook *h = &v->s->hooks[i];
		if (!h->when || (h->act == HS_LITERAL) != literal ||
		    strncasecmp(text, h->when, strlen(h->when)) != 0)
			continue;
		unsigned seen = ++v->hook_seen[i];
		if (h->nth == 0 || h->nth == seen)
			return h;
	}
	return NULL;
}

static bool send_hook(struct srv *v, const struct hs_hook *h, const char *tag)
{
	add_tagged(&v->out, h->prefix ? h->prefix : "",
		   h->prefix_len ? h->prefix_len : (h->prefix ? strlen(h->prefix) : 0), tag);
	if (!flush_out(v))
		return false;
	if (h->fill) {
		/* Sent in blocks, so that megabytes never sit in memory. */
		size_t flen = strlen(h->fill);
		for (size_t i = 0; i < h->fill_count; i++) {
			buf_add(&v->out, h->fill, flen);
			if (v->out.len >= 65536 && !flush_out(v))
				return false;
		}
	}
	add_tagged(&v->out, h->suffix ? h->suffix : "",
		   h->suffix_len ? h->suffix_len : (h->suffix ? strlen(h->suffix) : 0), tag);
	return flush_out(v);
}

/* ---- commands ---------------------------------------------------------- */

static void tok_add(struct cmd *c, const char *s, size_t len, bool literal)
{
	c->toks = xgrow(c->toks, sizeof(*c->toks), c->n + 1, &c->cap);
	c->toks[c->n++] = (struct tok){xstrndup(s, len), len, literal};
	if (literal) {
		free(c->toks[c->n - 1].s);
		c->toks[c->n - 1].s = xmalloc(len + 1);
		memcpy(c->toks[c->n - 1].s, s, len);
		c->toks[c->n - 1].s[len] = '\0';
	}
}

/* Splits one line into tokens: quoted strings (unescaped) and runs of
 * other non-space bytes.  A final {n} or {n+} is returned in *lit_r. */
static void tokenize(struct cmd *c, const char *line, long long *lit_r, bool *sync_r)
{
	*lit_r = -1;
	const char *p = line;
	while (*p) {
		if (*p == ' ') {
			p++;
			continue;
		}
		if (*p == '"') {
			struct buf q = BUF_INIT(BUF_UNLIMITED);
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				buf_addc(&q, *p);
			}
			if (*p)
				p++;
			tok_add(c, q.data, q.len, false);
			buf_release(&q);
			continue;
		}
		const char *start = p;
		while (*p && *p != ' ')
			p++;
		size_t len = (size_t)(p - start);
		unsigned long long n;
		char plus = 0, close = 0;
		if (!*p && start[0] == '{' && start[len - 1] == '}' &&
		    (sscanf(start, "{%llu%c%c", &n, &plus, &close) >= 2) &&
		    (plus == '}' || (plus == '+' && close == '}'))) {
			*lit_r = (long long)n;
			*sync_r = plus == '}';
			return;
		}
		tok_add(c, start, len, false);
	}
}

/* Reads one command with its literals; false at the end of input. */
static bool read_cmd(struct srv *v, struct cmd *c)
{
	memset(c, 0, sizeof(*c));
	buf_init(&c->text, BUF_UNLIMITED);
	bool first = true;
	for (;;) {
		size_t len;
		char *line = read_line(v, &len);
		if (!line)
			return false;
		const char *rest = line;
		if (first) {
			const char *sp = strchr(line, ' ');
			c->tag = xstrndup(line, sp ? (size_t)(sp - line) : len);
			rest = sp ? sp + 1 : "";
			first = false;
		}
		long long lit;
		bool sync = false;
		tokenize(c, rest, &lit, &sync);
		buf_adds(&c->text, rest);
		free(line);
		if (lit < 0)
			return true;
		if (lit > HS_LITERAL_MAX)
			return false;
		if (sync) {
			const struct hs_hook *h = hook_for(v, c->text.data, true);
			if (h) {
				c->cut = true;
				return send_hook(v, h, c->tag);
			}
			buf_adds(&v->out, "+ go ahead\r\n");
			if (!flush_out(v))
				return false;
		}
		char *data;
		if (!read_bytes(v, (size_t)lit, &data))
			return false;
		tok_add(c, data, (size_t)lit, true);
		free(data);
	}
}

static void cmd_release(struct cmd *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->toks[i].s);
	free(c->toks);
	free(c->tag);
	buf_release(&c->text);
}

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
static void model_load(struct srv *v)
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

static const char *caps_now(const struct srv *v)
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
static bool answer(struct srv *v, const struct cmd *c)
{
	const char *verb = c->n ? c->toks[0].s : "";
	const char *sub = c->n > 1 ? c->toks[1].s : "";
	bool uid = !strcasecmp(verb, "UID");
	struct box *b;
	if (!strcasecmp(verb, "CAPABILITY")) {
		buf_addf(&v->out, "* CAPABILITY %s\r\n%s OK\r\n", caps_now(v), c->tag);
	} else if (!strcasecmp(verb, "LOGIN") || !strcasecmp(verb, "AUTHENTICATE")) {
		if (!strcasecmp(verb, "AUTHENTICATE") && c->n < 3) {
			size_t len;
			buf_adds(&v->out, "+ \r\n");
			char *resp = flush_out(v) ? read_line(v, &len) : NULL;
			if (!resp)
				return false;
			free(resp);
		}
		v->logged_in = true;
		buf_addf(&v->out, "%s OK [CAPABILITY %s] logged in\r\n", c->tag, caps_now(v));
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
		flush_out(v);
		return false;
	} else if (!strcasecmp(verb, "NOOP") || !strcasecmp(verb, "CHECK") ||
		   !strcasecmp(verb, "ID") || !strcasecmp(verb, "UNSELECT") ||
		   !strcasecmp(verb, "CLOSE")) {
		buf_addf(&v->out, "%s OK\r\n", c->tag);
	} else {
		buf_addf(&v->out, "%s BAD not in this script: %s\r\n", c->tag, verb);
	}
	return flush_out(v);
}

static void serve_conn(struct srv *v)
{
	buf_init(&v->in, BUF_UNLIMITED);
	buf_init(&v->out, BUF_UNLIMITED);
	v->logged_in = false;
	v->sel = NULL;
	buf_addf(&v->out, "* OK [CAPABILITY %s] hostile test server ready\r\n", caps_now(v));
	bool go = flush_out(v);
	while (go) {
		struct cmd c;
		go = read_cmd(v, &c);
		if (go && !c.cut) {
			const struct hs_hook *h = hook_for(v, c.text.data, false);
			if (!h)
				go = answer(v, &c);
			else if (h->act == HS_REPLACE) {
				v->mute = true;
				answer(v, &c);
				v->mute = false;
				go = send_hook(v, h, c.tag);
			}
			else if (h->act == HS_BEFORE)
				go = send_hook(v, h, c.tag) && answer(v, &c);
			else
				go = (send_hook(v, h, c.tag), false);
		}
		cmd_release(&c);
	}
	buf_release(&v->in);
	buf_release(&v->out);
}

static void serve(int ls, const struct hs_script *s)
{
	struct srv v = {.s = s};
	v.hook_seen = xcalloc(s->n_hooks + 1, sizeof(*v.hook_seen));
	model_load(&v);
	for (;;) {
		int fd = accept(ls, NULL, NULL);
		if (fd < 0)
			_exit(3);
		v.fd = fd;
		serve_conn(&v);
		close(fd);
	}
}

void hs_default_signals(void)
{
	static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(sigs); i++)
		signal(sigs[i], SIG_DFL);
}

struct hs_server *hs_start(const struct hs_script *s)
{
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(ls >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t alen = sizeof(a);
	assert_int_equal(bind(ls, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(ls, 4), 0);
	assert_int_equal(getsockname(ls, (struct sockaddr *)&a, &alen), 0);
	struct hs_server *srv = xcalloc(1, sizeof(*srv));
	srv->port = ntohs(a.sin_port);
	srv->pid = fork();
	assert_true(srv->pid >= 0);
	if (srv->pid == 0) {
		hs_default_signals();
		serve(ls, s); /* never returns: the child ends with _exit */
	}
	close(ls);
	return srv;
}

void hs_stop(struct hs_server *srv)
{
	if (!srv)
		return;
	kill(srv->pid, SIGKILL);
	int status;
	waitpid(srv->pid, &status, 0);
	free(srv);
}
