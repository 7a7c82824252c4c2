/* SPDX-License-Identifier: MIT */
/*
 * The pipeline: commands are queued as chunks, written while fewer than
 * max_in_flight are unanswered, and matched to their tagged answers.
 * This is the one place that moves protocol state; everything else
 * queues commands and reacts in callbacks.
 */
#include "imap-client-private.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Stop queueing output for the socket beyond this: the rest waits in
 * the commands' chunks (or readers) rather than in memory. */
#define OUT_HIGH_WATER (256 * 1024)
#define READ_CHUNK (64 * 1024)
/* Literals up to this size may be sent non-synchronizing under
 * LITERAL- (RFC 7888). */
#define LITERAL_MINUS_MAX 4096

/* ---- building commands ------------------------------------------------ */

static struct chunk *new_chunk(struct imap_cmd *cmd, enum chunk_kind kind)
{
	cmd->chunks = xgrow(cmd->chunks, sizeof(*cmd->chunks), cmd->n_chunks + 1,
			    &cmd->cap_chunks);
	struct chunk *ch = &cmd->chunks[cmd->n_chunks++];
	memset(ch, 0, sizeof(*ch));
	ch->kind = kind;
	return ch;
}

static void add_text(struct imap_cmd *cmd, enum chunk_kind kind,
		     const char *s, size_t len, bool wait_cont)
{
	struct chunk *last = cmd->n_chunks ? &cmd->chunks[cmd->n_chunks - 1]
					   : NULL;
	if (!last || last->kind != kind || kind != CHUNK_TEXT || wait_cont) {
		last = new_chunk(cmd, kind);
		last->wait_cont = wait_cont;
	}
	last->data = xrealloc(last->data, last->len + len + 1);
	memcpy(last->data + last->len, s, len);
	last->len += len;
	last->data[last->len] = '\0';
}

struct imap_cmd *imap_cmd_begin(struct imap_client *c,
				const struct imap_cmd_cb *cb)
{
	struct imap_cmd *cmd = xcalloc(1, sizeof(*cmd));
	cmd->c = c;
	cmd->tag = ++c->next_tag;
	if (cb)
		cmd->cb = *cb;
	imap_cmd_addf(cmd, "T%u ", cmd->tag);
	return cmd;
}

void imap_cmd_add_raw(struct imap_cmd *cmd, enum chunk_kind kind,
		      const char *s, bool wait_cont)
{
	add_text(cmd, kind, s, strlen(s), wait_cont);
}

void imap_cmd_add(struct imap_cmd *cmd, const char *text)
{
	add_text(cmd, CHUNK_TEXT, text, strlen(text), false);
}

void imap_cmd_addf(struct imap_cmd *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	imap_cmd_add(cmd, s);
	free(s);
}

static bool literal_nonsync(const struct imap_client *c, uint64_t size)
{
	return imap_has_cap(c, "LITERAL+")
	       || (imap_has_cap(c, "LITERAL-") && size <= LITERAL_MINUS_MAX);
}

/* 2: can be an atom, 1: needs quotes, 0: needs a literal. */
static int string_form(const char *s)
{
	int form = *s ? 2 : 1;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p >= 0x7f)
			return 0;
		if (strchr(" (){\"\\%*]", *p))
			form = 1;
	}
	return form;
}

char *imap_quote(const char *s)
{
	int form = string_form(s);
	if (form == 0)
		return NULL;
	if (form == 2)
		return xstrdup(s);
	struct buf q = BUF_INIT(BUF_UNLIMITED);
	buf_addc(&q, '"');
	for (const char *p = s; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_addc(&q, '\\');
		buf_addc(&q, *p);
	}
	buf_addc(&q, '"');
	return buf_detach(&q, NULL);
}

static void add_any_string(struct imap_cmd *cmd, const char *s,
			   enum chunk_kind kind)
{
	int form = string_form(s);
	if (form > 0) {
		/* A secret is always quoted: its shape tells nothing. */
		char *q = form == 2 && kind == CHUNK_SECRET
				  ? xasprintf("\"%s\"", s)
				  : imap_quote(s);
		add_text(cmd, kind, q, strlen(q), false);
		free(q);
		return;
	}
	size_t len = strlen(s);
	bool nonsync = literal_nonsync(cmd->c, len);
	imap_cmd_addf(cmd, "{%zu%s}\r\n", len, nonsync ? "+" : "");
	add_text(cmd, kind, s, len, !nonsync);
}

void imap_cmd_add_string(struct imap_cmd *cmd, const char *s)
{
	add_any_string(cmd, s, CHUNK_TEXT);
}

void imap_cmd_add_secret(struct imap_cmd *cmd, const char *s)
{
	add_any_string(cmd, s, CHUNK_SECRET);
}

void imap_cmd_add_literal(struct imap_cmd *cmd, uint64_t size,
			  imap_reader_fn *reader, void *reader_ctx)
{
	bool nonsync = literal_nonsync(cmd->c, size);
	imap_cmd_addf(cmd, "{%llu%s}\r\n", (unsigned long long)size,
		      nonsync ? "+" : "");
	struct chunk *ch = new_chunk(cmd, CHUNK_STREAM);
	ch->wait_cont = !nonsync;
	ch->reader = reader;
	ch->reader_ctx = reader_ctx;
	ch->size = size;
}

unsigned imap_cmd_end(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->c;
	imap_cmd_add(cmd, "\r\n");
	if (c->tail)
		c->tail->next = cmd;
	else
		c->head = cmd;
	c->tail = cmd;
	if (!c->writing)
		c->writing = cmd;
	c->n_cmds++;
	return cmd->tag;
}

unsigned imap_submit(struct imap_client *c, const struct imap_cmd_cb *cb,
		     const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	struct imap_cmd *cmd = imap_cmd_begin(c, cb);
	imap_cmd_add(cmd, s);
	free(s);
	return imap_cmd_end(cmd);
}

void imap_send_secret_line(struct imap_client *c, const char *text)
{
	/* A bare line, not a command: it goes out at once, ahead of any
	 * queued command (which is written only after this one's answer
	 * arrives, since the server reads it as the SASL exchange). */
	struct error e = ERROR_INIT;
	imap_trace(c, "C: <redacted>");
	if (imap_conn_send(c->conn, text, strlen(text), &e) == 0)
		imap_conn_send(c->conn, "\r\n", 2, &e);
	error_clear(&e);
}

static void cmd_free(struct imap_cmd *cmd)
{
	for (size_t i = 0; i < cmd->n_chunks; i++)
		free(cmd->chunks[i].data);
	free(cmd->chunks);
	free(cmd);
}

size_t imap_pending(const struct imap_client *c)
{
	return c->n_cmds;
}

void imap_set_untagged(struct imap_client *c, imap_untagged_fn *fn,
		       void *ctx)
{
	c->untagged = fn;
	c->untagged_ctx = ctx;
}

/* ---- breakage ---------------------------------------------------------- */

int imap_client_break(struct imap_client *c, int code, struct error *err)
{
	if (!c->broken)
		c->broken = xstrdup(err && err->msg ? err->msg
						    : "IMAP connection failed");
	return code;
}

int imap_client_check(struct imap_client *c, struct error *err)
{
	if (c->broken)
		return error_set(err, ERR_ACCOUNT, "%s", c->broken);
	return 0;
}

/* ---- writing ----------------------------------------------------------- */

/* Feeds the trace line by line with what is being sent. */
static void trace_sent(struct imap_client *c, const char *s, size_t len)
{
	if (!c->opts.trace)
		return;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n') {
			if (c->trace.len && c->trace.data[c->trace.len - 1] == '\r')
				c->trace.len--;
			c->trace.data[c->trace.len] = '\0';
			imap_trace(c, "C: %s", c->trace.data);
			buf_reset(&c->trace);
		} else {
			buf_addc(&c->trace, s[i]);
		}
	}
}

static int write_stream(struct imap_client *c, struct chunk *ch,
			struct error *err)
{
	if (ch->done == 0 && c->opts.trace) {
		char *what = xasprintf("<literal %llu bytes>",
				       (unsigned long long)ch->size);
		buf_adds(&c->trace, what);
		free(what);
	}
	uint64_t left = ch->size - ch->done;
	size_t cap = left < READ_CHUNK ? (size_t)left : READ_CHUNK;
	char *tmp = xmalloc(cap ? cap : 1);
	size_t n = 0;
	int r = cap ? ch->reader(ch->reader_ctx, tmp, cap, &n, err) : 0;
	if (r == 0 && cap && n == 0)
		r = error_set(err, ERR_ACCOUNT,
			      "literal source ended %llu bytes early",
			      (unsigned long long)left);
	if (r == 0)
		r = imap_conn_send(c->conn, tmp, n, err);
	free(tmp);
	/* A literal cut short cannot be taken back: the connection is
	 * unusable whatever the reader's reason. */
	if (r < 0)
		return -ERR_ACCOUNT;
	ch->done += n;
	return 0;
}

static int write_some(struct imap_client *c, struct error *err)
{
	while (c->writing && !c->blocked
	       && imap_conn_unsent(c->conn) < OUT_HIGH_WATER) {
		struct imap_cmd *cmd = c->writing;
		if (!cmd->started) {
			if (c->in_flight >= c->opts.max_in_flight)
				break;
			cmd->started = true;
			c->in_flight++;
		}
		struct chunk *ch = &cmd->chunks[cmd->next_chunk];
		if (ch->wait_cont) {
			c->blocked = true;
			break;
		}
		if (ch->kind == CHUNK_STREAM) {
			if (write_stream(c, ch, err) < 0)
				return -ERR_ACCOUNT;
			if (ch->done < ch->size)
				continue;
		} else {
			if (imap_conn_send(c->conn, ch->data, ch->len, err) < 0)
				return -ERR_ACCOUNT;
			if (ch->kind == CHUNK_SECRET)
				trace_sent(c, "<redacted>", 10);
			else
				trace_sent(c, ch->data, ch->len);
		}
		if (++cmd->next_chunk == cmd->n_chunks) {
			c->last_written = cmd;
			c->writing = cmd->next;
		}
	}
	return imap_conn_flush(c->conn, err);
}

/* ---- reading ----------------------------------------------------------- */

static void take_caps(struct imap_client *c, const struct imap_response *r)
{
	if (r->kind == IMAP_RESP_UNTAGGED && r->type == IMAP_U_CAPABILITY)
		imap_set_caps(c, &r->strings);
	else if (r->code.type == IMAP_CODE_CAPABILITY)
		imap_set_caps(c, &r->code.list);
}

static int on_continue(struct imap_client *c, const struct imap_response *r,
		       struct error *err)
{
	if (c->blocked) {
		c->writing->chunks[c->writing->next_chunk].wait_cont = false;
		c->blocked = false;
		return 0;
	}
	struct imap_cmd *cmd = c->last_written;
	if (cmd && cmd->cont)
		return cmd->cont(c, cmd, r, err);
	return error_set(err, ERR_ACCOUNT,
			 "IMAP server sent a continuation request nobody "
			 "asked for");
}

static int on_tagged(struct imap_client *c, const struct imap_response *r,
		     struct error *err)
{
	struct imap_cmd *prev = NULL, *cmd = c->head;
	for (; cmd && cmd->started; prev = cmd, cmd = cmd->next) {
		char *tag = xasprintf("T%u", cmd->tag);
		bool match = strcmp(tag, r->tag) == 0;
		free(tag);
		if (match)
			break;
	}
	if (!cmd || !cmd->started)
		return error_set(err, ERR_ACCOUNT,
				 "IMAP server answered a command never sent "
				 "(tag %s)",
				 r->tag);
	/* A server may refuse a command before its literal (NO or BAD
	 * instead of "+"), but it cannot have carried out what it has not
	 * received: an OK then is a lie (an APPEND taken as stored would
	 * put a UID in the state for a message the server never got). */
	if (c->writing == cmd && r->status == IMAP_STATUS_OK)
		return error_set(err, ERR_ACCOUNT,
				 "IMAP server answered OK to a command it has "
				 "not received in full (tag %s)",
				 r->tag);
	if (prev)
		prev->next = cmd->next;
	else
		c->head = cmd->next;
	if (c->tail == cmd)
		c->tail = prev;
	if (c->last_written == cmd)
		c->last_written = NULL;
	if (c->writing == cmd) {
		/* Refused before its literal was sent: the rest of it is
		 * not part of the conversation any more. */
		c->writing = cmd->next;
		c->blocked = false;
	}
	c->n_cmds--;
	c->in_flight--;
	take_caps(c, r);
	if (cmd->cb.done)
		cmd->cb.done(cmd->cb.ctx, r);
	cmd_free(cmd);
	return 0;
}

static int on_untagged(struct imap_client *c, const struct imap_response *r,
		       struct error *err)
{
	take_caps(c, r);
	if (r->type == IMAP_U_STATE && r->status == IMAP_STATUS_BYE) {
		free(c->bye);
		c->bye = xstrdup(r->text);
	}
	for (struct imap_cmd *cmd = c->head; cmd && cmd->started;
	     cmd = cmd->next)
		if (cmd->cb.untagged)
			return cmd->cb.untagged(cmd->cb.ctx, r, err);
	if (c->untagged)
		return c->untagged(c->untagged_ctx, r, err);
	return 0;
}

static void set_sink(struct imap_client *c)
{
	for (struct imap_cmd *cmd = c->head; cmd && cmd->started;
	     cmd = cmd->next) {
		if (cmd->cb.sink) {
			imap_parser_set_sink(c->parser, cmd->cb.sink,
					     cmd->cb.sink_ctx);
			return;
		}
	}
	imap_parser_set_sink(c->parser, NULL, NULL);
}

/* Parses and dispatches every whole response held. */
static int dispatch_all(struct imap_client *c, struct error *err)
{
	for (;;) {
		const struct imap_response *r;
		set_sink(c);
		int n = imap_parser_next(c->parser, &r, err);
		if (n <= 0)
			return n;
		if (c->opts.trace)
			imap_trace_response(c, r);
		int ret;
		if (r->kind == IMAP_RESP_CONTINUE)
			ret = on_continue(c, r, err);
		else if (r->kind == IMAP_RESP_TAGGED)
			ret = on_tagged(c, r, err);
		else
			ret = on_untagged(c, r, err);
		if (ret < 0)
			return ret;
		if (c->pause)
			return 0;
	}
}

static int read_some(struct imap_client *c, struct error *err)
{
	char *tmp = xmalloc(READ_CHUNK);
	size_t n = 0;
	int r = imap_conn_recv(c->conn, tmp, READ_CHUNK, &n, err);
	if (r == 0 && n)
		r = imap_parser_feed(c->parser, tmp, n, err);
	free(tmp);
	if (r < 0 && c->bye)
		error_prefix(err, "server said BYE (%s)", c->bye);
	if (r < 0)
		return r;
	return dispatch_all(c, err);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The loop behind imap_run*: until cond, or with no cond until nothing
 * is pending; with a deadline (ms from now, -1: none) also until then,
 * which is not an error. */
static int run(struct imap_client *c, bool (*cond)(void *ctx), void *ctx,
	       int for_ms, struct error *err)
{
	if (imap_client_check(c, err) < 0)
		return -ERR_ACCOUNT;
	int64_t deadline = for_ms >= 0 ? now_ms() + for_ms : 0;
	struct error e = ERROR_INIT;
	int r = 0;
	while (cond ? !cond(ctx) : c->n_cmds > 0) {
		bool rd, wr;
		if ((r = write_some(c, &e)) < 0)
			break;
		int wait = c->opts.timeout_ms;
		if (for_ms >= 0) {
			int64_t left = deadline - now_ms();
			if (left <= 0)
				break;
			if (left < wait)
				wait = (int)left;
		}
		r = imap_conn_wait(c->conn, wait, &rd, &wr, &e);
		if (r < 0 && for_ms >= 0 && now_ms() >= deadline) {
			/* Our own deadline, not the server's silence. */
			r = 0;
			error_clear(&e);
			break;
		}
		if (r < 0)
			break;
		if (rd && (r = read_some(c, &e)) < 0)
			break;
	}
	if (r < 0) {
		imap_client_break(c, r, &e);
		r = error_set(err, ERR_ACCOUNT, "%s", e.msg ? e.msg : c->broken);
	}
	error_clear(&e);
	return r;
}

int imap_run_until(struct imap_client *c, bool (*cond)(void *ctx),
		   void *ctx, struct error *err)
{
	return run(c, cond, ctx, -1, err);
}

int imap_run_for(struct imap_client *c, bool (*cond)(void *ctx), void *ctx,
		 int ms, struct error *err)
{
	return run(c, cond, ctx, ms, err);
}

int imap_run(struct imap_client *c, struct error *err)
{
	return imap_run_until(c, NULL, NULL, err);
}
