/* SPDX-License-Identifier: MIT */
/*
 * The -v protocol trace.  Sent lines are traced by the writer (with
 * secrets already replaced); received responses are traced here from the
 * parsed tokens, so that message bodies appear as their size and a trace
 * of a big download stays readable.
 */
#include "imap-client-private.h"

#include <stdlib.h>

/* A trace line longer than this is cut: it is for people. */
#define TRACE_MAX 1000

void imap_trace(struct imap_client *c, const char *fmt, ...)
{
	if (!c->opts.trace)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *line = xvasprintf(fmt, ap);
	va_end(ap);
	c->opts.trace(c->opts.trace_ctx, line);
	free(line);
}

void imap_args_render(struct buf *b, const struct imap_arg *v, size_t n,
		      bool literal_data)
{
	for (size_t i = 0; i < n && b->len < TRACE_MAX; i++) {
		if (i)
			buf_addc(b, ' ');
		switch (v[i].type) {
		case IMAP_ARG_ATOM:
			buf_adds(b, v[i].str);
			break;
		case IMAP_ARG_STRING:
			buf_addf(b, "\"%s\"", v[i].str);
			break;
		case IMAP_ARG_LITERAL:
			if (literal_data) {
				buf_addf(b, "{%zu}", v[i].len);
				buf_add(b, v[i].str, v[i].len);
			} else {
				buf_addf(b, "<literal %zu bytes>", v[i].len);
			}
			break;
		case IMAP_ARG_STREAMED:
			buf_addf(b, "<literal %llu bytes>",
				 (unsigned long long)v[i].size);
			break;
		case IMAP_ARG_NIL:
			buf_adds(b, "NIL");
			break;
		case IMAP_ARG_LIST:
			buf_addc(b, '(');
			imap_args_render(b, v[i].list, v[i].len, literal_data);
			buf_addc(b, ')');
			break;
		}
	}
}

static void render_text(struct buf *b, const struct imap_response *r)
{
	if (r->code.name)
		buf_addf(b, " [%s%s%s]", r->code.name, *r->code.args ? " " : "",
			 r->code.args);
	if (*r->text)
		buf_addf(b, " %s", r->text);
}

void imap_trace_response(struct imap_client *c, const struct imap_response *r)
{
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	if (r->kind == IMAP_RESP_CONTINUE) {
		/* The text may be a SASL challenge. */
		buf_adds(&b, "S: + <challenge or prompt>");
	} else if (r->kind == IMAP_RESP_TAGGED) {
		buf_addf(&b, "S: %s %s", r->tag,
			 r->status == IMAP_STATUS_OK ? "OK"
			 : r->status == IMAP_STATUS_NO ? "NO"
						       : "BAD");
		render_text(&b, r);
	} else {
		buf_adds(&b, "S: * ");
		imap_args_render(&b, r->args, r->n_args, false);
		if (r->type == IMAP_U_STATE)
			render_text(&b, r);
	}
	if (b.len > TRACE_MAX) {
		b.len = TRACE_MAX;
		b.data[b.len] = '\0';
		buf_adds(&b, "...");
	}
	imap_trace(c, "%s", b.data);
	buf_release(&b);
}
