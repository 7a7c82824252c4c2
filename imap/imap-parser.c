/* SPDX-License-Identifier: MIT */
/*
 * Bytes to a token tree.  The parser keeps the bytes it was fed in one
 * buffer and takes whole tokens off its front; a token that is not whole
 * yet is left there until more arrives ("need more").  Only a body value
 * being streamed to the sink is passed on piece by piece.
 */
#include "imap-parser-private.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Room for a few reads beyond the largest thing the parser must hold. */
#define FEED_SLACK (1024 * 1024)

enum stage {
	ST_ARGS,    /* tokens */
	ST_TEXT,    /* resp-text: the rest of the line */
	ST_LITERAL, /* literal held in memory */
	ST_STREAM,  /* literal passed to the sink */
};

/* Results of one step; errors are negative codes from error_set. */
enum { STEP_AGAIN = 1, STEP_MORE = 2, STEP_DONE = 3 };

/* The tokens of one list being read. */
struct frame {
	struct imap_arg *v;
	size_t n, cap;
};

struct imap_parser {
	struct imap_parser_limits lim;
	struct buf in;
	size_t pos;      /* bytes of in already parsed */
	size_t line_len; /* bytes of the current line already parsed */
	enum stage stage;
	struct frame *frames; /* depth_max + 1; frames[0] is the top level */
	unsigned depth;
	struct imap_arena arena;
	struct imap_response resp;
	bool returned; /* resp was handed out: clear it first */

	/* The literal being read. */
	uint64_t lit_size, lit_done;
	char *lit_data;
	const char *lit_section;

	imap_body_sink_fn *sink;
	void *sink_ctx;

	char *failure; /* set once, repeated by every later call */
	enum err_reach failure_reach;
};

struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits)
{
	struct imap_parser *p = xcalloc(1, sizeof(*p));
	p->lim = *limits;
	if (p->lim.depth_max == 0)
		p->lim.depth_max = 1;
	buf_init(&p->in, p->lim.line_max + p->lim.literal_max + FEED_SLACK);
	p->frames = xcalloc(p->lim.depth_max + 1, sizeof(*p->frames));
	p->arena.max = p->lim.response_max;
	return p;
}

void imap_parser_free(struct imap_parser *p)
{
	if (!p)
		return;
	buf_release(&p->in);
	for (unsigned i = 0; i <= p->lim.depth_max; i++)
		free(p->frames[i].v);
	free(p->frames);
	imap_arena_reset(&p->arena);
	free(p->failure);
	free(p);
}

void imap_parser_set_sink(struct imap_parser *p, imap_body_sink_fn *fn,
			  void *ctx)
{
	p->sink = fn;
	p->sink_ctx = ctx;
}

static void compact(struct imap_parser *p)
{
	if (p->pos) {
		buf_consume(&p->in, p->pos);
		p->pos = 0;
	}
}

int imap_parser_feed(struct imap_parser *p, const void *data, size_t len,
		     struct error *err)
{
	compact(p);
	if (buf_add(&p->in, data, len) < 0)
		return error_set(err, ERR_ACCOUNT,
				 "IMAP server sent more than %zu bytes the "
				 "parser cannot use yet",
				 p->in.max);
	return 0;
}

size_t imap_parser_pending(const struct imap_parser *p)
{
	return p->in.len - p->pos;
}

bool imap_parser_idle(const struct imap_parser *p)
{
	return p->stage == ST_ARGS && p->depth == 0 && p->frames[0].n == 0;
}

static void reset_response(struct imap_parser *p)
{
	for (unsigned i = 0; i <= p->lim.depth_max; i++)
		p->frames[i].n = 0;
	p->depth = 0;
	p->stage = ST_ARGS;
	p->line_len = 0;
	imap_arena_reset(&p->arena);
	memset(&p->resp, 0, sizeof(p->resp));
	p->returned = false;
}

static int fail(struct imap_parser *p, struct error *err, const char *fmt, ...)
	UTIL_PRINTF(3, 4);
static int fail(struct imap_parser *p, struct error *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *what = xvasprintf(fmt, ap);
	va_end(ap);
	int r = error_set(err, ERR_ACCOUNT, "IMAP server sent %s", what);
	free(what);
	return r;
}

static void advance(struct imap_parser *p, size_t n)
{
	p->pos += n;
	p->line_len += n;
}

/* How many bytes of the current line may still be scanned: the rest of
 * line_max, plus 2 for its CRLF. */
static size_t line_room(const struct imap_parser *p)
{
	if (p->line_len >= p->lim.line_max)
		return 2;
	return p->lim.line_max - p->line_len + 2;
}

static int too_long(struct imap_parser *p, struct error *err)
{
	return fail(p, err, "a line longer than %zu bytes", p->lim.line_max);
}

/* A token scanner reached the end of what it may look at without finding
 * the token's end: either the line is too long or we need more input. */
static int short_or_long(struct imap_parser *p, size_t avail,
			 struct error *err)
{
	if (avail >= line_room(p))
		return too_long(p, err);
	return STEP_MORE;
}

static int add_arg(struct imap_parser *p, const struct imap_arg *arg,
		   struct error *err)
{
	if (!imap_arena_charge(&p->arena, sizeof(*arg)))
		return fail(p, err, "a response bigger than %zu bytes",
			    p->lim.response_max);
	struct frame *f = &p->frames[p->depth];
	f->v = xgrow(f->v, sizeof(*f->v), f->n + 1, &f->cap);
	f->v[f->n++] = *arg;
	return STEP_AGAIN;
}

static const struct imap_arg *top(const struct imap_parser *p, size_t i)
{
	return i < p->frames[0].n ? &p->frames[0].v[i] : NULL;
}

/*
 * Decides, after each top-level token, whether the rest of the line is
 * resp-text (state responses and continuations) rather than tokens.
 */
static int after_top_token(struct imap_parser *p, struct error *err)
{
	const struct imap_arg *first = top(p, 0);
	size_t n = p->frames[0].n;
	if (n == 1) {
		if (first->type != IMAP_ARG_ATOM)
			return fail(p, err, "a response without a tag");
		if (strcmp(first->str, "+") == 0)
			p->stage = ST_TEXT;
		return STEP_AGAIN;
	}
	if (n != 2)
		return STEP_AGAIN;
	bool untagged = strcmp(first->str, "*") == 0;
	enum imap_status st = imap_status_word(top(p, 1));
	if (!untagged && (st < IMAP_STATUS_OK || st > IMAP_STATUS_BAD))
		return fail(p, err, "a tagged response that is not OK, NO or "
				    "BAD");
	if (st != IMAP_STATUS_NONE)
		p->stage = ST_TEXT;
	return STEP_AGAIN;
}

static int add_top_or_nested(struct imap_parser *p, const struct imap_arg *a,
			     struct error *err)
{
	int r = add_arg(p, a, err);
	if (r < 0 || p->depth > 0)
		return r;
	return after_top_token(p, err);
}

/* Is the literal or string about to be read the value of a body item in
 * an untagged FETCH, and is there a sink for it? */
static const char *body_section(const struct imap_parser *p)
{
	if (!p->sink || p->depth != 1 || p->frames[0].n != 3)
		return NULL;
	const struct imap_arg *star = top(p, 0), *seq = top(p, 1);
	if (strcmp(star->str, "*") != 0 || !imap_arg_is_atom(top(p, 2), "FETCH")
	    || !imap_arg_number(seq, UINT32_MAX, &(uint64_t){0}))
		return NULL;
	const struct frame *f = &p->frames[1];
	if (f->n % 2 == 0)
		return NULL;
	const struct imap_arg *key = &f->v[f->n - 1];
	if (key->type != IMAP_ARG_ATOM)
		return NULL;
	if (strncasecmp(key->str, "BODY[", 5) == 0
	    || strncasecmp(key->str, "BINARY[", 7) == 0
	    || strcasecmp(key->str, "RFC822") == 0
	    || strcasecmp(key->str, "RFC822.HEADER") == 0
	    || strcasecmp(key->str, "RFC822.TEXT") == 0)
		return key->str;
	return NULL;
}

static int sink_chunk(struct imap_parser *p, const char *section,
		      uint64_t size, uint64_t offset, const void *data,
		      size_t len, struct error *err)
{
	uint64_t seq = 0, uid = 0;
	imap_arg_number(top(p, 1), UINT32_MAX, &seq);
	/* The UID, when it came before this body item (servers send it
	 * first), so that a sink can tell messages apart even when several
	 * FETCH commands run at once. */
	const struct frame *items = &p->frames[1];
	for (size_t i = 0; i + 2 < items->n; i += 2)
		if (imap_arg_is_atom(&items->v[i], "UID"))
			imap_arg_number(&items->v[i + 1], UINT32_MAX, &uid);
	struct imap_body_chunk c = {
		.seq = (uint32_t)seq,
		.uid = (uint32_t)uid,
		.section = section,
		.size = size,
		.offset = offset,
		.data = data,
		.len = len,
	};
	struct error serr = ERROR_INIT;
	int r = p->sink(p->sink_ctx, &c, &serr);
	if (r >= 0) {
		error_clear(&serr);
		return 0;
	}
	if (!serr.msg)
		error_set(&serr, ERR_MESSAGE, "body sink failed");
	r = error_set(err, serr.reach, "%s", serr.msg);
	error_clear(&serr);
	return r;
}

static int parse_atom(struct imap_parser *p, const char *s, size_t avail,
		      struct error *err)
{
	size_t win = avail < line_room(p) ? avail : line_room(p);
	unsigned bracket = 0;
	size_t i;
	for (i = 0; i < win; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\r' || c == '\n') {
			if (bracket)
				return fail(p, err, "an unclosed '[' in \"%.*s\"",
					    (int)i, s);
			break;
		}
		if (c < 0x20 || c == 0x7f)
			return fail(p, err, "control character 0x%02x", c);
		if (bracket) {
			if (c == '[')
				bracket++;
			else if (c == ']')
				bracket--;
			continue;
		}
		if (c == ' ' || c == '(' || c == ')')
			break;
		if (c == '"' || c == '{')
			return fail(p, err, "'%c' inside the atom \"%.*s\"", c,
				    (int)i, s);
		if (c == '[')
			bracket++;
	}
	if (i == win)
		return short_or_long(p, avail, err);
	if (!imap_arena_charge(&p->arena, i + 1))
		return fail(p, err, "a response bigger than %zu bytes",
			    p->lim.response_max);
	struct imap_arg a = {.type = IMAP_ARG_ATOM, .len = i};
	a.str = imap_arena_strndup(&p->arena, s, i);
	if (i == 3 && strncasecmp(s, "NIL", 3) == 0)
		a.type = IMAP_ARG_NIL;
	advance(p, i);
	return add_top_or_nested(p, &a, err);
}

static int parse_quoted(struct imap_parser *p, const char *s, size_t avail,
			struct error *err)
{
	size_t win = avail < line_room(p) ? avail : line_room(p);
	size_t i, escapes = 0;
	for (i = 1; i < win; i++) {
		if (s[i] == '"')
			break;
		if (s[i] == '\r' || s[i] == '\n')
			return fail(p, err, "a line break inside a quoted "
					    "string");
		/* Not a CHAR (RFC 3501 9), and every user of the string
		 * takes it as a C string: "INBOX\0x" would read as INBOX. */
		if (s[i] == '\0')
			return fail(p, err, "a NUL inside a quoted string");
		if (s[i] == '\\') {
			if (i + 1 == win)
				continue; /* the loop ends: need more */
			if (s[i + 1] != '\\' && s[i + 1] != '"')
				return fail(p, err, "the escape \"\\%c\" in a "
						    "quoted string",
					    s[i + 1]);
			escapes++;
			i++;
		}
	}
	if (i >= win)
		return short_or_long(p, avail, err);
	size_t len = i - 1 - escapes;
	if (!imap_arena_charge(&p->arena, len + 1))
		return fail(p, err, "a response bigger than %zu bytes",
			    p->lim.response_max);
	char *out = imap_arena_alloc(&p->arena, len + 1);
	size_t o = 0;
	for (size_t j = 1; j < i; j++) {
		if (s[j] == '\\')
			j++;
		out[o++] = s[j];
	}
	out[o] = '\0';
	advance(p, i + 1);
	struct imap_arg a = {.type = IMAP_ARG_STRING, .str = out, .len = len};
	const char *section = body_section(p);
	if (section) {
		int r = sink_chunk(p, section, len, 0, out, len, err);
		if (r < 0)
			return r;
		a = (struct imap_arg){.type = IMAP_ARG_STREAMED, .size = len};
	}
	return add_top_or_nested(p, &a, err);
}

/* "{123}\r\n", "{123+}\r\n" or "~{123}\r\n". */
static int parse_literal_header(struct imap_parser *p, const char *s,
				size_t avail, struct error *err)
{
	size_t win = avail < line_room(p) ? avail : line_room(p);
	size_t i = 0;
	bool binary = s[0] == '~';
	if (binary) {
		if (win < 2)
			return short_or_long(p, avail, err);
		if (s[1] != '{')
			return fail(p, err, "'~' not followed by '{'");
		i = 1;
	}
	i++;
	uint64_t n = 0;
	size_t digits = 0;
	for (; i < win && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
		if (n > (UINT64_MAX - 9) / 10)
			return fail(p, err, "a literal size that overflows");
		n = n * 10 + (uint64_t)(s[i] - '0');
	}
	if (i < win && s[i] == '+')
		i++;
	if (i + 3 > win)
		return short_or_long(p, avail, err);
	if (digits == 0 || s[i] != '}')
		return fail(p, err, "a malformed literal size");
	if (s[i + 1] != '\r' || s[i + 2] != '\n')
		return fail(p, err, "a literal size not followed by CRLF");
	if (p->frames[0].n == 0)
		return fail(p, err, "a literal in place of a tag");
	if (p->line_len + i + 1 > p->lim.line_max)
		return too_long(p, err);

	const char *section = body_section(p);
	if (section) {
		if (n > p->lim.stream_max)
			return fail(p, err, "a body of %llu bytes, over the "
					    "limit of %llu",
				    (unsigned long long)n,
				    (unsigned long long)p->lim.stream_max);
		p->stage = ST_STREAM;
	} else {
		if (n > p->lim.literal_max)
			return fail(p, err, "a literal of %llu bytes, over the "
					    "limit of %zu",
				    (unsigned long long)n, p->lim.literal_max);
		if (!imap_arena_charge(&p->arena, (size_t)n + 1))
			return fail(p, err, "a response bigger than %zu bytes",
				    p->lim.response_max);
		p->lit_data = imap_arena_alloc(&p->arena, (size_t)n + 1);
		p->stage = ST_LITERAL;
	}
	p->lit_size = n;
	p->lit_done = 0;
	p->lit_section = section;
	p->pos += i + 3;
	p->line_len = 0; /* the literal's data is not part of any line */
	return STEP_AGAIN;
}

static int read_literal(struct imap_parser *p, struct error *err)
{
	size_t avail = p->in.len - p->pos;
	uint64_t want = p->lit_size - p->lit_done;
	size_t n = want < avail ? (size_t)want : avail;
	const char *s = p->in.data + p->pos;
	if (p->stage == ST_STREAM) {
		/* An empty value still gets its one call. */
		if (n > 0 || p->lit_size == 0) {
			int r = sink_chunk(p, p->lit_section, p->lit_size,
					   p->lit_done, s, n, err);
			if (r < 0)
				return r;
		}
	} else {
		memcpy(p->lit_data + p->lit_done, s, n);
	}
	p->pos += n;
	p->lit_done += n;
	if (p->lit_done < p->lit_size)
		return STEP_MORE;
	struct imap_arg a = {.type = IMAP_ARG_LITERAL};
	if (p->stage == ST_STREAM) {
		a.type = IMAP_ARG_STREAMED;
		a.size = p->lit_size;
	} else {
		p->lit_data[p->lit_size] = '\0';
		a.str = p->lit_data;
		a.len = (size_t)p->lit_size;
	}
	p->stage = ST_ARGS;
	p->lit_data = NULL;
	return add_top_or_nested(p, &a, err);
}

static int open_list(struct imap_parser *p, struct error *err)
{
	if (p->frames[0].n == 0)
		return fail(p, err, "a list in place of a tag");
	if (p->depth + 1 > p->lim.depth_max)
		return fail(p, err, "lists nested deeper than %u",
			    p->lim.depth_max);
	p->depth++;
	p->frames[p->depth].n = 0;
	advance(p, 1);
	return STEP_AGAIN;
}

static int close_list(struct imap_parser *p, struct error *err)
{
	if (p->depth == 0)
		return fail(p, err, "')' without '('");
	struct frame *f = &p->frames[p->depth];
	struct imap_arg a = {.type = IMAP_ARG_LIST, .len = f->n};
	if (f->n) {
		/* Already charged when each token was added. */
		struct imap_arg *v =
			imap_arena_alloc(&p->arena, f->n * sizeof(*v));
		memcpy(v, f->v, f->n * sizeof(*v));
		a.list = v;
	}
	p->depth--;
	advance(p, 1);
	return add_top_or_nested(p, &a, err);
}

static int end_line(struct imap_parser *p, size_t crlf, struct error *err)
{
	if (p->depth > 0)
		return fail(p, err, "a line that ends inside a list");
	if (p->frames[0].n == 0)
		return fail(p, err, "an empty line");
	if (p->frames[0].n == 1 || strcmp(top(p, 0)->str, "*") != 0)
		return fail(p, err, "a response that stops after its tag");
	p->pos += crlf;
	return STEP_DONE;
}

static int parse_token(struct imap_parser *p, struct error *err)
{
	/* The scanners look up to 2 bytes past line_max (for the CRLF),
	 * and ' ', '(' and ')' take a byte unchecked: a line that went
	 * past the limit that way is caught here, before its next token.
	 * Without this a line of one-byte tokens could grow unchecked. */
	if (p->line_len > p->lim.line_max)
		return too_long(p, err);
	size_t avail = p->in.len - p->pos;
	if (avail == 0)
		return STEP_MORE;
	const char *s = p->in.data + p->pos;
	switch (s[0]) {
	case ' ':
		if (p->frames[0].n == 0)
			return fail(p, err, "a line that starts with a space");
		advance(p, 1);
		return STEP_AGAIN;
	case '\r':
		if (avail < 2)
			return STEP_MORE;
		if (s[1] != '\n')
			return fail(p, err, "a CR not followed by LF");
		return end_line(p, 2, err);
	case '\n':
		return end_line(p, 1, err);
	case '(':
		return open_list(p, err);
	case ')':
		return close_list(p, err);
	case '"':
		if (p->frames[0].n == 0)
			return fail(p, err, "a quoted string in place of a tag");
		return parse_quoted(p, s, avail, err);
	case '{':
	case '~':
		return parse_literal_header(p, s, avail, err);
	default:
		return parse_atom(p, s, avail, err);
	}
}

/* "[CODE args] text" into code.name, code.args and text. */
static void split_resp_text(struct imap_parser *p, const char *s, size_t len)
{
	struct imap_response *r = &p->resp;
	if (len && s[0] == '[') {
		const char *close = memchr(s, ']', len);
		if (close) {
			size_t inner = (size_t)(close - s) - 1;
			const char *sp = memchr(s + 1, ' ', inner);
			size_t name_len = sp ? (size_t)(sp - s) - 1 : inner;
			r->code.name = imap_arena_strndup(&p->arena, s + 1,
							  name_len);
			r->code.args = sp ? imap_arena_strndup(
						    &p->arena, sp + 1,
						    inner - name_len - 1)
					  : "";
			len -= (size_t)(close - s) + 1;
			s = close + 1;
			if (len && s[0] == ' ') {
				s++;
				len--;
			}
		}
	}
	/* The text is for people, and ends up in error messages on a
	 * terminal: a control character (an escape sequence that erases
	 * or rewrites what is shown, a backspace) becomes '?'. */
	char *text = imap_arena_strndup(&p->arena, s, len);
	for (char *c = text; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	r->text = text;
}

static int parse_text(struct imap_parser *p, struct error *err)
{
	size_t avail = p->in.len - p->pos;
	size_t win = avail < line_room(p) ? avail : line_room(p);
	const char *s = p->in.data + p->pos;
	const char *lf = memchr(s, '\n', win);
	if (!lf)
		return short_or_long(p, avail, err);
	size_t len = (size_t)(lf - s);
	size_t crlf = 1;
	if (len && s[len - 1] == '\r') {
		len--;
		crlf = 2;
	}
	if (p->line_len + len > p->lim.line_max)
		return too_long(p, err);
	if (memchr(s, '\0', len) || memchr(s, '\r', len))
		return fail(p, err, "a control character in response text");
	/* The text is one copy of bytes we hold: charge it like a token. */
	if (!imap_arena_charge(&p->arena, 2 * len + 2))
		return fail(p, err, "a response bigger than %zu bytes",
			    p->lim.response_max);
	size_t skip = len && s[0] == ' ' ? 1 : 0;
	split_resp_text(p, s + skip, len - skip);
	p->pos += len + crlf;
	return STEP_DONE;
}

static int finish(struct imap_parser *p, struct error *err)
{
	struct imap_response *r = &p->resp;
	struct frame *f = &p->frames[0];
	struct imap_arg *v = imap_arena_alloc(&p->arena, f->n * sizeof(*v));
	memcpy(v, f->v, f->n * sizeof(*v));
	if (!r->text)
		r->text = "";
	if (strcmp(v[0].str, "+") == 0) {
		r->kind = IMAP_RESP_CONTINUE;
	} else if (strcmp(v[0].str, "*") == 0) {
		r->kind = IMAP_RESP_UNTAGGED;
		r->args = v + 1;
		r->n_args = f->n - 1;
	} else {
		r->kind = IMAP_RESP_TAGGED;
		r->tag = v[0].str;
		r->status = imap_status_word(&v[1]);
	}
	return imap_resp_interpret(&p->arena, r, err);
}

static int remember_failure(struct imap_parser *p, int r, struct error *err)
{
	p->failure_reach = err && err->msg ? err->reach : ERR_ACCOUNT;
	p->failure = xstrdup(err && err->msg ? err->msg
					      : "IMAP parser failed");
	return r;
}

int imap_parser_next(struct imap_parser *p, const struct imap_response **resp_r,
		     struct error *err)
{
	*resp_r = NULL;
	if (p->failure)
		return error_set(err, p->failure_reach, "%s", p->failure);
	if (p->returned)
		reset_response(p);
	for (;;) {
		int r;
		switch (p->stage) {
		case ST_TEXT:
			r = parse_text(p, err);
			break;
		case ST_LITERAL:
		case ST_STREAM:
			r = read_literal(p, err);
			break;
		case ST_ARGS:
		default:
			r = parse_token(p, err);
			break;
		}
		if (r < 0)
			return remember_failure(p, r, err);
		if (r == STEP_MORE) {
			compact(p);
			return 0;
		}
		if (r == STEP_DONE) {
			r = finish(p, err);
			if (r < 0)
				return remember_failure(p, r, err);
			p->returned = true;
			*resp_r = &p->resp;
			return 1;
		}
	}
}
