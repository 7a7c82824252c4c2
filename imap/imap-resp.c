/* SPDX-License-Identifier: MIT */
/*
 * Token tree to typed fields: what each untagged response and response
 * code means.  A response whose shape is wrong for its name is an error,
 * because the sync engine acts on these values; a response we do not know
 * is kept as tokens only (IMAP_U_OTHER).
 */
#include "imap-parser-private.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- arena ------------------------------------------------------------ */

struct imap_arena_block {
	struct imap_arena_block *next;
	size_t used, cap;
	max_align_t data[];
};

#define ARENA_BLOCK (16 * 1024)

bool imap_arena_charge(struct imap_arena *a, size_t n)
{
	if (n > a->max - a->charged)
		return false;
	a->charged += n;
	return true;
}

void *imap_arena_alloc(struct imap_arena *a, size_t n)
{
	size_t align = sizeof(max_align_t);
	n = (n + align - 1) / align * align;
	struct imap_arena_block *b = a->head;
	if (!b || b->cap - b->used < n) {
		size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
		b = xmalloc(sizeof(*b) + cap);
		b->used = 0;
		b->cap = cap;
		b->next = a->head;
		a->head = b;
	}
	void *ret = (char *)b->data + b->used;
	b->used += n;
	return ret;
}

char *imap_arena_strndup(struct imap_arena *a, const char *s, size_t n)
{
	char *d = imap_arena_alloc(a, n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

void imap_arena_reset(struct imap_arena *a)
{
	while (a->head) {
		struct imap_arena_block *next = a->head->next;
		free(a->head);
		a->head = next;
	}
	a->charged = 0;
}

/* ---- token helpers ---------------------------------------------------- */

bool imap_arg_is_string(const struct imap_arg *a)
{
	return a && (a->type == IMAP_ARG_ATOM || a->type == IMAP_ARG_STRING
		     || a->type == IMAP_ARG_LITERAL);
}

bool imap_arg_is_atom(const struct imap_arg *a, const char *word)
{
	return a && a->type == IMAP_ARG_ATOM && strcasecmp(a->str, word) == 0;
}

static bool parse_number(const char *s, size_t len, uint64_t max,
			 uint64_t *n_r)
{
	uint64_t n = 0;
	if (len == 0 || len > 20)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (n > (max - d) / 10)
			return false;
		n = n * 10 + d;
	}
	*n_r = n;
	return true;
}

bool imap_arg_number(const struct imap_arg *a, uint64_t max, uint64_t *n_r)
{
	return a && a->type == IMAP_ARG_ATOM
	       && parse_number(a->str, a->len, max, n_r);
}

enum imap_status imap_status_word(const struct imap_arg *a)
{
	static const char *const words[] = {
		[IMAP_STATUS_OK] = "OK",	   [IMAP_STATUS_NO] = "NO",
		[IMAP_STATUS_BAD] = "BAD",	   [IMAP_STATUS_PREAUTH] = "PREAUTH",
		[IMAP_STATUS_BYE] = "BYE",
	};
	for (size_t i = IMAP_STATUS_OK; i < UTIL_ARRAY_LEN(words); i++)
		if (imap_arg_is_atom(a, words[i]))
			return (enum imap_status)i;
	return IMAP_STATUS_NONE;
}

/* A string the caller will take as a C string (a name, a flag, a
 * date): a literal with a NUL in it would be cut short there, so it is
 * refused.  Body values keep their length and may hold NULs. */
static bool is_text(const struct imap_arg *a)
{
	return imap_arg_is_string(a) && !memchr(a->str, '\0', a->len);
}

static int bad(struct error *err, const char *what)
{
	return error_set(err, ERR_ACCOUNT, "IMAP server sent a malformed %s",
			 what);
}

/* The atoms (or strings) of a list, or of args[from..n). */
static int strings_of(struct imap_arena *a, const struct imap_arg *v,
		      size_t n, struct imap_strings *out, const char *what,
		      struct error *err)
{
	out->v = imap_arena_alloc(a, (n ? n : 1) * sizeof(*out->v));
	out->n = 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_text(&v[i]))
			return bad(err, what);
		out->v[out->n++] = v[i].str;
	}
	return 0;
}

static int list_strings(struct imap_arena *a, const struct imap_arg *arg,
			struct imap_strings *out, const char *what,
			struct error *err)
{
	if (!arg || arg->type != IMAP_ARG_LIST)
		return bad(err, what);
	return strings_of(a, arg->list, arg->len, out, what, err);
}

/* ---- response codes --------------------------------------------------- */

static const struct {
	const char *name;
	enum imap_code_type type;
} codes[] = {
	{"ALERT", IMAP_CODE_ALERT},
	{"CAPABILITY", IMAP_CODE_CAPABILITY},
	{"PERMANENTFLAGS", IMAP_CODE_PERMANENTFLAGS},
	{"UIDVALIDITY", IMAP_CODE_UIDVALIDITY},
	{"UIDNEXT", IMAP_CODE_UIDNEXT},
	{"UNSEEN", IMAP_CODE_UNSEEN},
	{"HIGHESTMODSEQ", IMAP_CODE_HIGHESTMODSEQ},
	{"NOMODSEQ", IMAP_CODE_NOMODSEQ},
	{"APPENDUID", IMAP_CODE_APPENDUID},
	{"COPYUID", IMAP_CODE_COPYUID},
	{"CLOSED", IMAP_CODE_CLOSED},
	{"TRYCREATE", IMAP_CODE_TRYCREATE},
	{"READ-ONLY", IMAP_CODE_READ_ONLY},
	{"READ-WRITE", IMAP_CODE_READ_WRITE},
	{"MODIFIED", IMAP_CODE_MODIFIED},
};

/* Splits code args at spaces into at most max words (the last one takes
 * the rest).  Returns how many. */
static size_t split_words(struct imap_arena *a, const char *s, const char **w,
			  size_t max)
{
	size_t n = 0;
	while (*s && n < max) {
		while (*s == ' ')
			s++;
		if (!*s)
			break;
		const char *end = n + 1 == max ? s + strlen(s) : strchr(s, ' ');
		if (!end)
			end = s + strlen(s);
		w[n++] = imap_arena_strndup(a, s, (size_t)(end - s));
		s = end;
	}
	return n;
}

static bool is_set(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr("0123456789:,*", *s))
			return false;
	return true;
}

static int interpret_code(struct imap_arena *a, struct imap_resp_code *c,
			  struct error *err)
{
	if (!c->name) {
		c->type = IMAP_CODE_NONE;
		return 0;
	}
	c->type = IMAP_CODE_OTHER;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(codes); i++)
		if (strcasecmp(c->name, codes[i].name) == 0)
			c->type = codes[i].type;
	const char *w[3] = {0};
	size_t n;
	uint64_t num;
	switch (c->type) {
	case IMAP_CODE_UIDVALIDITY:
	case IMAP_CODE_UIDNEXT:
	case IMAP_CODE_UNSEEN:
	case IMAP_CODE_HIGHESTMODSEQ: {
		uint64_t max = c->type == IMAP_CODE_HIGHESTMODSEQ ? UINT64_MAX
								  : UINT32_MAX;
		if (!parse_number(c->args, strlen(c->args), max, &c->num))
			return bad(err, c->name);
		return 0;
	}
	case IMAP_CODE_APPENDUID:
	case IMAP_CODE_COPYUID:
		n = split_words(a, c->args, w, 3);
		if (n != (c->type == IMAP_CODE_COPYUID ? 3u : 2u)
		    || !parse_number(w[0], strlen(w[0]), UINT32_MAX, &num)
		    || num == 0 || !is_set(w[1]) || (n == 3 && !is_set(w[2])))
			return bad(err, c->name);
		c->uidvalidity = (uint32_t)num;
		if (n == 3) {
			c->src_uids = w[1];
			c->uids = w[2];
		} else {
			c->uids = w[1];
		}
		return 0;
	case IMAP_CODE_MODIFIED:
		if (!is_set(c->args))
			return bad(err, c->name);
		c->uids = c->args;
		return 0;
	case IMAP_CODE_CAPABILITY:
	case IMAP_CODE_PERMANENTFLAGS: {
		const char *s = c->args;
		size_t len = strlen(s);
		if (c->type == IMAP_CODE_PERMANENTFLAGS) {
			if (len < 2 || s[0] != '(' || s[len - 1] != ')')
				return bad(err, c->name);
			s++;
			len -= 2;
		}
		const char **v = imap_arena_alloc(a, (len / 2 + 1) * sizeof(*v));
		char *copy = imap_arena_strndup(a, s, len);
		c->list.v = v;
		c->list.n = 0;
		for (char *tok = copy; *tok;) {
			char *sp = strchr(tok, ' ');
			if (sp)
				*sp = '\0';
			if (*tok)
				v[c->list.n++] = tok;
			if (!sp)
				break;
			tok = sp + 1;
		}
		return 0;
	}
	default:
		return 0;
	}
}

/* ---- untagged responses ----------------------------------------------- */

static int fetch_item(struct imap_arena *a, struct imap_fetch *f,
		      struct imap_fetch_body *bodies, const struct imap_arg *key,
		      const struct imap_arg *val, struct error *err)
{
	uint64_t n;
	const char *k = key->str;
	if (strcasecmp(k, "UID") == 0) {
		if (!imap_arg_number(val, UINT32_MAX, &n) || n == 0)
			return bad(err, "FETCH UID");
		f->uid = (uint32_t)n;
		f->have |= IMAP_FETCH_UID;
	} else if (strcasecmp(k, "FLAGS") == 0) {
		if (list_strings(a, val, &f->flags, "FETCH FLAGS", err) < 0)
			return -ERR_ACCOUNT;
		f->have |= IMAP_FETCH_FLAGS;
	} else if (strcasecmp(k, "MODSEQ") == 0) {
		if (val->type != IMAP_ARG_LIST || val->len != 1
		    || !imap_arg_number(&val->list[0], UINT64_MAX, &f->modseq))
			return bad(err, "FETCH MODSEQ");
		f->have |= IMAP_FETCH_MODSEQ;
	} else if (strcasecmp(k, "RFC822.SIZE") == 0) {
		if (!imap_arg_number(val, UINT64_MAX, &f->size))
			return bad(err, "FETCH RFC822.SIZE");
		f->have |= IMAP_FETCH_SIZE;
	} else if (strcasecmp(k, "INTERNALDATE") == 0) {
		if (!is_text(val)
		    || !imap_parse_date(val->str, &f->date))
			return bad(err, "FETCH INTERNALDATE");
		f->internaldate = val->str;
		f->have |= IMAP_FETCH_INTERNALDATE;
	} else if (strcasecmp(k, "EMAILID") == 0) {
		if (val->type != IMAP_ARG_LIST || val->len != 1
		    || !is_text(&val->list[0]))
			return bad(err, "FETCH EMAILID");
		f->emailid = val->list[0].str;
		f->have |= IMAP_FETCH_EMAILID;
	} else if (strncasecmp(k, "BODY[", 5) == 0
		   || strncasecmp(k, "BINARY[", 7) == 0
		   || strncasecmp(k, "RFC822", 6) == 0) {
		struct imap_fetch_body *b = &bodies[f->n_bodies];
		*b = (struct imap_fetch_body){.section = k};
		if (val->type == IMAP_ARG_NIL) {
			b->nil = true;
		} else if (val->type == IMAP_ARG_STREAMED) {
			b->streamed = true;
			b->size = val->size;
		} else if (imap_arg_is_string(val)) {
			b->data = val->str;
			b->size = val->len;
		} else {
			return bad(err, "FETCH body");
		}
		f->n_bodies++;
	}
	/* Anything else (ENVELOPE, BODYSTRUCTURE...) stays in args. */
	return 0;
}

static int interpret_fetch(struct imap_arena *a, struct imap_response *r,
			   struct error *err)
{
	const struct imap_arg *l = r->n_args == 3 ? &r->args[2] : NULL;
	if (!l || l->type != IMAP_ARG_LIST || l->len % 2 != 0)
		return bad(err, "FETCH");
	struct imap_fetch *f = &r->fetch;
	f->seq = r->number;
	f->bodies = imap_arena_alloc(a, (l->len / 2 + 1) * sizeof(*f->bodies));
	for (size_t i = 0; i < l->len; i += 2) {
		if (l->list[i].type != IMAP_ARG_ATOM)
			return bad(err, "FETCH item name");
		if (fetch_item(a, f, f->bodies, &l->list[i], &l->list[i + 1],
			       err) < 0)
			return -ERR_ACCOUNT;
	}
	return 0;
}

static int interpret_list(struct imap_arena *a, struct imap_response *r,
			  struct error *err)
{
	const struct imap_arg *v = r->args;
	if (r->n_args < 4 || list_strings(a, &v[1], &r->list.attrs, "LIST",
					  err) < 0)
		return bad(err, "LIST");
	if (v[2].type == IMAP_ARG_NIL)
		r->list.delim = '\0';
	else if (is_text(&v[2]) && v[2].len == 1)
		r->list.delim = v[2].str[0];
	else
		return bad(err, "LIST delimiter");
	if (!is_text(&v[3]))
		return bad(err, "LIST mailbox");
	r->list.mailbox = v[3].str;
	return 0;
}

static int interpret_status(struct imap_response *r, struct error *err)
{
	static const struct {
		const char *name;
		unsigned bit;
	} items[] = {
		{"MESSAGES", IMAP_STATUS_MESSAGES},
		{"UIDNEXT", IMAP_STATUS_UIDNEXT},
		{"UIDVALIDITY", IMAP_STATUS_UIDVALIDITY},
		{"UNSEEN", IMAP_STATUS_UNSEEN},
		{"RECENT", IMAP_STATUS_RECENT},
		{"HIGHESTMODSEQ", IMAP_STATUS_HIGHESTMODSEQ},
	};
	struct imap_mbox_status *st = &r->mbox_status;
	if (r->n_args != 3 || !is_text(&r->args[1])
	    || r->args[2].type != IMAP_ARG_LIST || r->args[2].len % 2)
		return bad(err, "STATUS");
	st->mailbox = r->args[1].str;
	const struct imap_arg *l = r->args[2].list;
	for (size_t i = 0; i < r->args[2].len; i += 2) {
		uint64_t n;
		if (l[i].type != IMAP_ARG_ATOM
		    || !imap_arg_number(&l[i + 1], UINT64_MAX, &n))
			return bad(err, "STATUS item");
		for (size_t j = 0; j < UTIL_ARRAY_LEN(items); j++) {
			if (strcasecmp(l[i].str, items[j].name) != 0)
				continue;
			if (items[j].bit != IMAP_STATUS_HIGHESTMODSEQ
			    && n > UINT32_MAX)
				return bad(err, "STATUS number");
			st->have |= items[j].bit;
			switch (items[j].bit) {
			case IMAP_STATUS_MESSAGES: st->messages = (uint32_t)n; break;
			case IMAP_STATUS_UIDNEXT: st->uidnext = (uint32_t)n; break;
			case IMAP_STATUS_UIDVALIDITY: st->uidvalidity = (uint32_t)n; break;
			case IMAP_STATUS_UNSEEN: st->unseen = (uint32_t)n; break;
			case IMAP_STATUS_RECENT: st->recent = (uint32_t)n; break;
			default: st->highestmodseq = n; break;
			}
		}
	}
	return 0;
}

static int interpret_search(struct imap_arena *a, struct imap_response *r,
			    struct error *err)
{
	struct imap_search *s = &r->search;
	uint32_t *nums = imap_arena_alloc(a, r->n_args * sizeof(*nums));
	for (size_t i = 1; i < r->n_args; i++) {
		const struct imap_arg *v = &r->args[i];
		uint64_t n;
		if (v->type == IMAP_ARG_LIST && i + 1 == r->n_args
		    && v->len == 2 && imap_arg_is_atom(&v->list[0], "MODSEQ")
		    && imap_arg_number(&v->list[1], UINT64_MAX, &s->modseq)) {
			s->have_modseq = true;
		} else if (imap_arg_number(v, UINT32_MAX, &n) && n) {
			nums[s->n++] = (uint32_t)n;
		} else {
			return bad(err, "SEARCH");
		}
	}
	s->nums = nums;
	return 0;
}

static int interpret_esearch(struct imap_response *r, struct error *err)
{
	struct imap_esearch *e = &r->esearch;
	size_t i = 1;
	const struct imap_arg *v = r->args;
	if (i < r->n_args && v[i].type == IMAP_ARG_LIST) {
		if (v[i].len != 2 || !imap_arg_is_atom(&v[i].list[0], "TAG")
		    || !is_text(&v[i].list[1]))
			return bad(err, "ESEARCH correlator");
		e->tag = v[i].list[1].str;
		i++;
	}
	if (i < r->n_args && imap_arg_is_atom(&v[i], "UID")) {
		e->uid = true;
		i++;
	}
	for (; i < r->n_args; i += 2) {
		if (i + 1 >= r->n_args || v[i].type != IMAP_ARG_ATOM)
			return bad(err, "ESEARCH");
		const struct imap_arg *k = &v[i], *val = &v[i + 1];
		uint64_t n = 0;
		bool num32 = imap_arg_number(val, UINT32_MAX, &n);
		bool ok = true;
		if (imap_arg_is_atom(k, "MIN")) {
			e->min = (uint32_t)n;
			e->have |= IMAP_ESEARCH_MIN;
			ok = num32;
		} else if (imap_arg_is_atom(k, "MAX")) {
			e->max = (uint32_t)n;
			e->have |= IMAP_ESEARCH_MAX;
			ok = num32;
		} else if (imap_arg_is_atom(k, "COUNT")) {
			e->count = (uint32_t)n;
			e->have |= IMAP_ESEARCH_COUNT;
			ok = num32;
		} else if (imap_arg_is_atom(k, "ALL")) {
			e->all = val->str;
			e->have |= IMAP_ESEARCH_ALL;
			ok = val->type == IMAP_ARG_ATOM && is_set(val->str);
		} else if (imap_arg_is_atom(k, "MODSEQ")) {
			e->have |= IMAP_ESEARCH_MODSEQ;
			ok = imap_arg_number(val, UINT64_MAX, &e->modseq);
		}
		/* Other return data (PARTIAL, RELEVANCY...) is skipped. */
		if (!ok)
			return bad(err, "ESEARCH item");
	}
	return 0;
}

/* "17-Jul-1996 02:44:25 -0700"; the day may be padded with a space. */
bool imap_parse_date(const char *s, time_t *t_r)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	size_t len = strlen(s);
	if (len == 26 && s[0] == ' ') {
		s++;
		len--;
	}
	if (len != 25 && len != 26)
		return false;
	uint64_t day, year, hh, mm, ss, zh, zm;
	size_t dl = len - 24; /* digits in the day: 1 or 2 */
	const char *m = s + dl + 1;
	if (!parse_number(s, dl, 31, &day) || s[dl] != '-' || m[3] != '-'
	    || !parse_number(m + 4, 4, 9999, &year) || m[8] != ' '
	    || !parse_number(m + 9, 2, 23, &hh) || m[11] != ':'
	    || !parse_number(m + 12, 2, 59, &mm) || m[14] != ':'
	    || !parse_number(m + 15, 2, 60, &ss) || m[17] != ' '
	    || (m[18] != '+' && m[18] != '-')
	    || !parse_number(m + 19, 2, 99, &zh)
	    || !parse_number(m + 21, 2, 59, &zm) || day == 0)
		return false;
	int mon = -1;
	for (int i = 0; i < 12; i++)
		if (strncasecmp(m, months + 3 * i, 3) == 0)
			mon = i;
	if (mon < 0)
		return false;
	struct tm tm = {
		.tm_year = (int)year - 1900,
		.tm_mon = mon,
		.tm_mday = (int)day,
		.tm_hour = (int)hh,
		.tm_min = (int)mm,
		.tm_sec = (int)ss,
	};
	time_t t = timegm(&tm);
	long off = (long)(zh * 3600 + zm * 60);
	*t_r = m[18] == '+' ? t - off : t + off;
	return true;
}

static int interpret_namespace(struct imap_response *r, struct error *err)
{
	const struct imap_arg *p = r->n_args >= 2 ? &r->args[1] : NULL;
	if (!p)
		return bad(err, "NAMESPACE");
	if (p->type == IMAP_ARG_NIL)
		return 0;
	if (p->type != IMAP_ARG_LIST || p->len == 0
	    || p->list[0].type != IMAP_ARG_LIST || p->list[0].len < 2
	    || !is_text(&p->list[0].list[0]))
		return bad(err, "NAMESPACE");
	const struct imap_arg *d = &p->list[0].list[1];
	r->ns.present = true;
	r->ns.prefix = p->list[0].list[0].str;
	if (is_text(d) && d->len == 1)
		r->ns.delim = d->str[0];
	else if (d->type != IMAP_ARG_NIL)
		return bad(err, "NAMESPACE delimiter");
	return 0;
}

static int interpret_vanished(struct imap_response *r, struct error *err)
{
	size_t i = 1;
	if (i < r->n_args && r->args[i].type == IMAP_ARG_LIST) {
		if (r->args[i].len != 1
		    || !imap_arg_is_atom(&r->args[i].list[0], "EARLIER"))
			return bad(err, "VANISHED");
		r->vanished_earlier = true;
		i++;
	}
	if (i + 1 != r->n_args || r->args[i].type != IMAP_ARG_ATOM
	    || !is_set(r->args[i].str))
		return bad(err, "VANISHED");
	r->vanished = r->args[i].str;
	return 0;
}

static int interpret_numbered(struct imap_arena *a, struct imap_response *r,
			      uint64_t n, struct error *err)
{
	const struct imap_arg *what = r->n_args >= 2 ? &r->args[1] : NULL;
	r->number = (uint32_t)n;
	if (imap_arg_is_atom(what, "EXISTS"))
		r->type = IMAP_U_EXISTS;
	else if (imap_arg_is_atom(what, "RECENT"))
		r->type = IMAP_U_RECENT;
	else if (imap_arg_is_atom(what, "EXPUNGE"))
		r->type = IMAP_U_EXPUNGE;
	else if (imap_arg_is_atom(what, "FETCH"))
		r->type = IMAP_U_FETCH;
	else
		r->type = IMAP_U_OTHER;
	if (r->type == IMAP_U_FETCH)
		return interpret_fetch(a, r, err);
	if (r->type != IMAP_U_OTHER && (r->n_args != 2 || (n == 0 && r->type == IMAP_U_EXPUNGE)))
		return bad(err, what->str);
	return 0;
}

static int interpret_untagged(struct imap_arena *a, struct imap_response *r,
			      struct error *err)
{
	const struct imap_arg *w = &r->args[0];
	uint64_t n;
	r->status = imap_status_word(w);
	if (r->status != IMAP_STATUS_NONE) {
		r->type = IMAP_U_STATE;
		return 0;
	}
	if (imap_arg_number(w, UINT32_MAX, &n))
		return interpret_numbered(a, r, n, err);
	/* A number past 2^32-1 ("* 4294967296 EXISTS") is not some other
	 * response to pass over: the count it carries would be lost. */
	if (w->type != IMAP_ARG_ATOM || strspn(w->str, "0123456789") == w->len)
		return bad(err, "untagged response");
	const char *name = w->str;
	if (strcasecmp(name, "CAPABILITY") == 0) {
		r->type = IMAP_U_CAPABILITY;
		return strings_of(a, r->args + 1, r->n_args - 1, &r->strings,
				  "CAPABILITY", err);
	}
	if (strcasecmp(name, "ENABLED") == 0) {
		r->type = IMAP_U_ENABLED;
		return strings_of(a, r->args + 1, r->n_args - 1, &r->strings,
				  "ENABLED", err);
	}
	if (strcasecmp(name, "FLAGS") == 0) {
		r->type = IMAP_U_FLAGS;
		if (r->n_args != 2)
			return bad(err, "FLAGS");
		return list_strings(a, &r->args[1], &r->strings, "FLAGS", err);
	}
	if (strcasecmp(name, "LIST") == 0 || strcasecmp(name, "LSUB") == 0) {
		r->type = strcasecmp(name, "LSUB") == 0 ? IMAP_U_LSUB : IMAP_U_LIST;
		return interpret_list(a, r, err);
	}
	if (strcasecmp(name, "STATUS") == 0) {
		r->type = IMAP_U_STATUS;
		return interpret_status(r, err);
	}
	if (strcasecmp(name, "SEARCH") == 0) {
		r->type = IMAP_U_SEARCH;
		return interpret_search(a, r, err);
	}
	if (strcasecmp(name, "ESEARCH") == 0) {
		r->type = IMAP_U_ESEARCH;
		return interpret_esearch(r, err);
	}
	if (strcasecmp(name, "NAMESPACE") == 0) {
		r->type = IMAP_U_NAMESPACE;
		return interpret_namespace(r, err);
	}
	if (strcasecmp(name, "VANISHED") == 0) {
		r->type = IMAP_U_VANISHED;
		return interpret_vanished(r, err);
	}
	r->type = strcasecmp(name, "ID") == 0 ? IMAP_U_ID : IMAP_U_OTHER;
	return 0;
}

int imap_resp_interpret(struct imap_arena *a, struct imap_response *r,
			struct error *err)
{
	if (interpret_code(a, &r->code, err) < 0)
		return -ERR_ACCOUNT;
	if (r->kind != IMAP_RESP_UNTAGGED) {
		r->type = IMAP_U_NONE;
		return 0;
	}
	return interpret_untagged(a, r, err);
}
