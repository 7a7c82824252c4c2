/* SPDX-License-Identifier: MIT */
/*
 * From nothing to a logged-in client: TCP, TLS (implicit or STARTTLS),
 * the greeting, capabilities, authentication, COMPRESS; and back: LOGOUT.
 */
#include "imap-client-private.h"

#include <gnutls/gnutls.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_TIMEOUT_MS 60000
#define DEFAULT_IN_FLIGHT 128

/* ---- capabilities ------------------------------------------------------ */

static void free_caps(struct imap_client *c)
{
	for (size_t i = 0; i < c->n_caps; i++)
		free(c->caps[i]);
	free(c->caps);
	c->caps = NULL;
	c->n_caps = 0;
	c->caps_view = (struct imap_strings){NULL, 0};
}

void imap_set_caps(struct imap_client *c, const struct imap_strings *caps)
{
	free_caps(c);
	c->caps = xcalloc(caps->n + 1, sizeof(*c->caps));
	for (size_t i = 0; i < caps->n; i++)
		c->caps[i] = xstrdup(caps->v[i]);
	c->n_caps = caps->n;
	c->caps_view.v = (const char **)c->caps;
	c->caps_view.n = c->n_caps;
}

bool imap_has_cap(const struct imap_client *c, const char *cap)
{
	for (size_t i = 0; i < c->n_caps; i++)
		if (strcasecmp(c->caps[i], cap) == 0)
			return true;
	return false;
}

const struct imap_strings *imap_caps(const struct imap_client *c)
{
	return &c->caps_view;
}

bool imap_is_tls(const struct imap_client *c)
{
	return imap_conn_is_tls(c->conn);
}

bool imap_is_compressed(const struct imap_client *c)
{
	return imap_conn_is_deflate(c->conn);
}

/* ---- one command, waited for ------------------------------------------- */

void imap_code_copy_free(struct imap_code_copy *c)
{
	free(c->uids);
	free(c->src_uids);
	memset(c, 0, sizeof(*c));
}

struct simple_wait {
	const struct imap_cmd_cb *user; /* the caller's untagged callback */
	bool done;
	bool pause; /* stop reading right after the answer */
	struct imap_client *c;
	enum imap_status status;
	char *text;
	struct imap_code_copy code;
};

static void simple_done(void *ctx, const struct imap_response *r)
{
	struct simple_wait *w = ctx;
	w->done = true;
	w->status = r->status;
	w->text = xstrdup(r->text);
	w->code.type = r->code.type;
	w->code.num = r->code.num;
	w->code.uidvalidity = r->code.uidvalidity;
	w->code.uids = r->code.uids ? xstrdup(r->code.uids) : NULL;
	w->code.src_uids = r->code.src_uids ? xstrdup(r->code.src_uids) : NULL;
	if (w->pause)
		w->c->pause = true;
}

static int simple_untagged(void *ctx, const struct imap_response *r,
			   struct error *err)
{
	struct simple_wait *w = ctx;
	return w->user->untagged(w->user->ctx, r, err);
}

static bool simple_is_done(void *ctx)
{
	return ((struct simple_wait *)ctx)->done;
}

/* Runs until the command with w's callbacks is answered; NO/BAD is an
 * ERR_FOLDER error carrying the server's words. */
static int wait_answer(struct imap_client *c, struct simple_wait *w,
		       const char *what, struct imap_code_copy *code_r,
		       struct error *err)
{
	int r = imap_run_until(c, simple_is_done, w, err);
	c->pause = false;
	if (r == 0 && w->status != IMAP_STATUS_OK)
		r = error_set(err, ERR_FOLDER, "%s: server said %s: %s", what,
			      w->status == IMAP_STATUS_NO ? "NO" : "BAD",
			      w->text);
	free(w->text);
	if (code_r && r == 0)
		*code_r = w->code;
	else
		imap_code_copy_free(&w->code);
	return r;
}

/* Queues the one-line command fmt with w's callbacks around cb's (cb
 * may be NULL); returns its name, for messages ("UID FETCH", "SELECT"). */
static char *queue_simple(struct imap_client *c, struct simple_wait *w,
			  const struct imap_cmd_cb *cb, const char *fmt, va_list ap)
	UTIL_PRINTF(4, 0);
static char *queue_simple(struct imap_client *c, struct simple_wait *w,
			  const struct imap_cmd_cb *cb, const char *fmt, va_list ap)
{
	char *line = xvasprintf(fmt, ap);
	struct imap_cmd_cb mine = {.done = simple_done, .ctx = w};
	if (cb) {
		mine.untagged = cb->untagged ? simple_untagged : NULL;
		mine.sink = cb->sink;
		mine.sink_ctx = cb->sink_ctx;
	}
	struct imap_cmd *cmd = imap_cmd_begin(c, &mine);
	imap_cmd_add(cmd, line);
	imap_cmd_end(cmd);
	char *sp = strchr(line, ' ');
	if (sp && strncasecmp(line, "UID ", 4) != 0)
		*sp = '\0';
	return line;
}

static int vsimple(struct imap_client *c, const struct imap_cmd_cb *cb,
		   bool pause, struct imap_code_copy *code_r, struct error *err,
		   const char *fmt, va_list ap) UTIL_PRINTF(6, 0);
static int vsimple(struct imap_client *c, const struct imap_cmd_cb *cb,
		   bool pause, struct imap_code_copy *code_r, struct error *err,
		   const char *fmt, va_list ap)
{
	if (code_r)
		memset(code_r, 0, sizeof(*code_r));
	if (imap_client_check(c, err) < 0)
		return -ERR_ACCOUNT;
	struct simple_wait w = {.c = c, .pause = pause, .user = cb};
	char *what = queue_simple(c, &w, cb, fmt, ap);
	int r = wait_answer(c, &w, what, code_r, err);
	free(what);
	return r;
}

int imap_simple(struct imap_client *c, const struct imap_cmd_cb *cb,
		struct imap_code_copy *code_r, struct error *err,
		const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vsimple(c, cb, false, code_r, err, fmt, ap);
	va_end(ap);
	return r;
}

/* ---- one command, sent now and waited for later ------------------------- */

struct imap_sent {
	struct simple_wait w;
	struct imap_cmd_cb user;
	char *what;             /* NULL: never queued */
};

struct imap_sent *imap_send(struct imap_client *c, const struct imap_cmd_cb *cb,
			    const char *fmt, ...)
{
	struct imap_sent *s = xcalloc(1, sizeof(*s));
	if (imap_client_check(c, NULL) < 0)
		return s; /* imap_await() says why */
	s->user = *cb;
	s->w = (struct simple_wait){.c = c, .user = &s->user};
	va_list ap;
	va_start(ap, fmt);
	s->what = queue_simple(c, &s->w, &s->user, fmt, ap);
	va_end(ap);
	/* Out now, without waiting: a failure breaks the client, and
	 * imap_await() reports it. */
	imap_run_for(c, NULL, NULL, 0, NULL);
	return s;
}

int imap_await(struct imap_client *c, struct imap_sent *s, struct error *err)
{
	/* Not queued: the client was broken, and a broken client stays so. */
	int r = s->what ? wait_answer(c, &s->w, s->what, NULL, err)
			: imap_client_check(c, err);
	free(s->what);
	free(s);
	return r;
}

/* Like imap_simple, but stops reading right after the answer, so that
 * imap_parser_pending() shows what the server sent after it. */
static int simple_pause(struct imap_client *c, struct error *err,
			const char *fmt, ...) UTIL_PRINTF(3, 4);
static int simple_pause(struct imap_client *c, struct error *err,
			const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vsimple(c, NULL, true, NULL, err, fmt, ap);
	va_end(ap);
	return r;
}

/* ---- authentication ---------------------------------------------------- */

static char *base64(const void *data, size_t len, struct error *err)
{
	gnutls_datum_t in = {(unsigned char *)(uintptr_t)data, (unsigned)len};
	gnutls_datum_t out = {NULL, 0};
	int r = gnutls_base64_encode2(&in, &out);
	if (r < 0) {
		error_set(err, ERR_ACCOUNT, "base64: %s", gnutls_strerror(r));
		return NULL;
	}
	char *s = xstrndup((char *)out.data, out.size);
	gnutls_free(out.data);
	return s;
}

/* A second "+" during AUTHENTICATE is an error report (RFC 7628 3.2.3):
 * answer with an empty line and let the NO come. */
static int sasl_cont(struct imap_client *c, struct imap_cmd *cmd,
		     const struct imap_response *r, struct error *err)
{
	imap_send_secret_line(c, "");
	return 0;
}

static const char *mech_name(enum imap_auth m)
{
	switch (m) {
	case IMAP_AUTH_PLAIN: return "PLAIN";
	case IMAP_AUTH_OAUTHBEARER: return "OAUTHBEARER";
	case IMAP_AUTH_XOAUTH2: return "XOAUTH2";
	default: return "LOGIN";
	}
}

static bool mech_offered(const struct imap_client *c, enum imap_auth m)
{
	if (m == IMAP_AUTH_LOGIN)
		return !imap_has_cap(c, "LOGINDISABLED");
	char *cap = xasprintf("AUTH=%s", mech_name(m));
	bool ok = imap_has_cap(c, cap);
	free(cap);
	return ok;
}

static char *sasl_payload(const struct imap_client *c, enum imap_auth m,
			  struct error *err)
{
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	const char *user = c->user ? c->user : "";
	const char *secret = c->secret ? c->secret : "";
	if (m == IMAP_AUTH_PLAIN) {
		/* authzid NUL authcid NUL password (RFC 4616) */
		buf_addc(&b, '\0');
		buf_adds(&b, user);
		buf_addc(&b, '\0');
		buf_adds(&b, secret);
	} else if (m == IMAP_AUTH_OAUTHBEARER) {
		buf_addf(&b, "n,a=%s,\001auth=Bearer %s\001\001", user, secret);
	} else {
		buf_addf(&b, "user=%s\001auth=Bearer %s\001\001", user, secret);
	}
	char *enc = base64(b.data, b.len, err);
	/* Wipe the cleartext copy of the secret before freeing it. */
	memset(b.data, 0, b.len);
	buf_release(&b);
	return enc;
}

/* *caps_r tells whether the server's OK listed the capabilities it has
 * now that we are logged in (RFC 9051 7.1: [CAPABILITY ...] in the
 * tagged OK); the client has already taken them from it. */
static int authenticate(struct imap_client *c, enum imap_auth m,
			bool *caps_r, struct error *err)
{
	char *payload = NULL;
	if (m != IMAP_AUTH_LOGIN && !(payload = sasl_payload(c, m, err)))
		return -ERR_ACCOUNT;
	struct simple_wait w = {.c = c};
	struct imap_cmd_cb cb = {.done = simple_done, .ctx = &w};
	struct imap_cmd *cmd = imap_cmd_begin(c, &cb);
	if (m == IMAP_AUTH_LOGIN) {
		imap_cmd_add(cmd, "LOGIN ");
		imap_cmd_add_string(cmd, c->user ? c->user : "");
		imap_cmd_add(cmd, " ");
		imap_cmd_add_secret(cmd, c->secret ? c->secret : "");
	} else {
		imap_cmd_addf(cmd, "AUTHENTICATE %s", mech_name(m));
		if (imap_has_cap(c, "SASL-IR")) {
			imap_cmd_add(cmd, " ");
			imap_cmd_add_raw(cmd, CHUNK_SECRET, payload, false);
		} else {
			imap_cmd_add(cmd, "\r\n");
			imap_cmd_add_raw(cmd, CHUNK_SECRET, payload, true);
		}
		cmd->cont = sasl_cont;
		memset(payload, 0, strlen(payload));
		free(payload);
	}
	imap_cmd_end(cmd);
	char *what = xasprintf("login as %s (%s)", c->user ? c->user : "",
			       mech_name(m));
	struct imap_code_copy code;
	int r = wait_answer(c, &w, what, &code, err);
	free(what);
	if (r == 0) {
		*caps_r = code.type == IMAP_CODE_CAPABILITY;
		imap_code_copy_free(&code);
	}
	if (r == -ERR_FOLDER)
		r = error_set(err, ERR_ACCOUNT, "%s", err ? err->msg : "");
	return r;
}

static int log_in(struct imap_client *c, bool *caps_r, struct error *err)
{
	static const enum imap_auth fallback[] = {IMAP_AUTH_PLAIN,
						  IMAP_AUTH_LOGIN};
	const enum imap_auth *order = c->auth ? c->auth : fallback;
	size_t n = c->auth ? c->opts.n_auth : UTIL_ARRAY_LEN(fallback);
	for (size_t i = 0; i < n; i++)
		if (mech_offered(c, order[i]))
			return authenticate(c, order[i], caps_r, err);
	struct buf offered = BUF_INIT(BUF_UNLIMITED);
	for (size_t i = 0; i < c->n_caps; i++)
		if (strncasecmp(c->caps[i], "AUTH=", 5) == 0)
			buf_addf(&offered, " %s", c->caps[i] + 5);
	int r = error_set(err, ERR_ACCOUNT,
			  "no authentication method in common with the server "
			  "(it offers:%s%s)",
			  offered.len ? offered.data : " none",
			  imap_has_cap(c, "LOGINDISABLED") ? ", LOGIN disabled"
							   : "");
	buf_release(&offered);
	return r;
}

/* ---- connecting -------------------------------------------------------- */

struct greeting {
	bool seen;
	enum imap_status status;
	char *text;
};

static int greeting_untagged(void *ctx, const struct imap_response *r,
			     struct error *err)
{
	struct greeting *g = ctx;
	if (g->seen)
		return 0;
	g->seen = true;
	if (r->type != IMAP_U_STATE)
		return error_set(err, ERR_ACCOUNT,
				 "IMAP server greeting is not OK, PREAUTH or "
				 "BYE");
	g->status = r->status;
	g->text = xstrdup(r->text);
	return 0;
}

static bool greeting_seen(void *ctx)
{
	return ((struct greeting *)ctx)->seen;
}

static int read_greeting(struct imap_client *c, bool *preauth_r,
			 struct error *err)
{
	struct greeting g = {0};
	imap_set_untagged(c, greeting_untagged, &g);
	int r = imap_run_until(c, greeting_seen, &g, err);
	imap_set_untagged(c, NULL, NULL);
	if (r == 0 && g.status != IMAP_STATUS_OK
	    && g.status != IMAP_STATUS_PREAUTH)
		r = error_set(err, ERR_ACCOUNT, "server refused us: %s",
			      g.text);
	*preauth_r = g.status == IMAP_STATUS_PREAUTH;
	free(g.text);
	return r;
}

/* Bytes the server sent after the answer we paused at, before we started
 * TLS or DEFLATE, were written without it: an attacker's, or garbage. */
static int check_nothing_early(struct imap_client *c, const char *what,
			       struct error *err)
{
	if (imap_parser_pending(c->parser) == 0
	    && !imap_conn_has_buffered(c->conn))
		return 0;
	int r = error_set(err, ERR_ACCOUNT,
			  "server sent data after its %s answer, before the "
			  "switch (response injection?); refusing it",
			  what);
	return imap_client_break(c, r, err);
}

static int start_tls(struct imap_client *c, struct error *err)
{
	struct imap_tls_options tls = {
		.host = c->host, .ca_file = c->ca_file, .pin_sha256 = c->pin};
	int r = imap_conn_start_tls(c->conn, &tls, err);
	if (r < 0)
		imap_client_break(c, r, err);
	return r;
}

static int starttls(struct imap_client *c, bool preauth, struct error *err)
{
	if (preauth)
		return error_set(err, ERR_ACCOUNT,
				 "server logged us in before STARTTLS "
				 "(PREAUTH); refusing to go on without TLS");
	if (!imap_has_cap(c, "STARTTLS"))
		return error_set(err, ERR_ACCOUNT,
				 "server does not offer STARTTLS; refusing "
				 "to go on without TLS");
	int r = simple_pause(c, err, "STARTTLS");
	if (r < 0)
		return error_set(err, ERR_ACCOUNT, "%s", err ? err->msg : "");
	if ((r = check_nothing_early(c, "STARTTLS", err)) < 0)
		return r;
	if ((r = start_tls(c, err)) < 0)
		return r;
	/* What the server said before TLS cannot be trusted (RFC 3501
	 * 6.2.1): ask again. */
	free_caps(c);
	return imap_simple(c, NULL, NULL, err, "CAPABILITY");
}

static int compress(struct imap_client *c, struct error *err)
{
	int r = simple_pause(c, err, "COMPRESS DEFLATE");
	if (r == -ERR_FOLDER) {
		/* Refused: carry on uncompressed, and the refusal is not an
		 * error left behind for the caller. */
		imap_trace(c, "# COMPRESS refused, going on without it");
		error_clear(err);
		return 0;
	}
	if (r < 0)
		return r;
	if ((r = check_nothing_early(c, "COMPRESS", err)) < 0)
		return r;
	r = imap_conn_start_deflate(c->conn, err);
	if (r < 0)
		imap_client_break(c, r, err);
	return r;
}

static struct imap_client *client_new(const struct imap_options *opts)
{
	struct imap_client *c = xcalloc(1, sizeof(*c));
	c->opts = *opts;
	c->host = xstrdup(opts->host);
	c->ca_file = opts->ca_file ? xstrdup(opts->ca_file) : NULL;
	c->pin = opts->pin_sha256 ? xstrdup(opts->pin_sha256) : NULL;
	c->user = opts->user ? xstrdup(opts->user) : NULL;
	c->secret = opts->secret ? xstrdup(opts->secret) : NULL;
	if (opts->n_auth) {
		c->auth = xcalloc(opts->n_auth, sizeof(*c->auth));
		memcpy(c->auth, opts->auth, opts->n_auth * sizeof(*c->auth));
	}
	/* The copies only: the caller's strings may go away. */
	c->opts.host = c->opts.ca_file = c->opts.pin_sha256 = NULL;
	c->opts.user = c->opts.secret = NULL;
	c->opts.auth = NULL;
	if (!c->opts.port)
		c->opts.port = opts->tls == IMAP_TLS_IMPLICIT ? 993 : 143;
	if (c->opts.timeout_ms <= 0)
		c->opts.timeout_ms = DEFAULT_TIMEOUT_MS;
	if (!c->opts.max_in_flight)
		c->opts.max_in_flight = DEFAULT_IN_FLIGHT;
	static const struct imap_parser_limits deflim =
		IMAP_PARSER_LIMITS_DEFAULT;
	c->parser = imap_parser_new(opts->limits ? opts->limits : &deflim);
	c->opts.limits = NULL;
	buf_init(&c->trace, BUF_UNLIMITED);
	return c;
}

static int session_start(struct imap_client *c, struct error *err)
{
	const struct imap_options *o = &c->opts;
	if (o->tls == IMAP_TLS_NONE && !o->allow_plaintext
	    && !util_host_is_loopback(c->host))
		return error_set(err, ERR_ACCOUNT,
				 "refusing an unencrypted connection to %s "
				 "(not a loopback address)",
				 c->host);
	int r = imap_conn_open(c->host, o->port, o->timeout_ms, &c->conn, err);
	if (r < 0)
		return r;
	imap_trace(c, "# connected to %s port %u", c->host, o->port);
	if (o->tls == IMAP_TLS_IMPLICIT && (r = start_tls(c, err)) < 0)
		return r;
	bool preauth = false;
	if ((r = read_greeting(c, &preauth, err)) < 0)
		return r;
	if (!c->n_caps && (r = imap_simple(c, NULL, NULL, err, "CAPABILITY")) < 0)
		return r;
	if (o->tls == IMAP_TLS_STARTTLS && (r = starttls(c, preauth, err)) < 0)
		return r;
	if (!preauth) {
		bool caps_in_ok = false;
		if ((r = log_in(c, &caps_in_ok, err)) < 0)
			return r;
		/* Capabilities change at login.  When the OK listed the new
		 * ones we hold them already; asking again would only cost a
		 * round trip. */
		if (!caps_in_ok) {
			free_caps(c);
			r = imap_simple(c, NULL, NULL, err, "CAPABILITY");
			if (r < 0)
				return r;
		}
	}
	if (o->compress && imap_has_cap(c, "COMPRESS=DEFLATE")
	    && (r = compress(c, err)) < 0)
		return r;
	return 0;
}

int imap_connect(const struct imap_options *opts, struct imap_client **c_r,
		 struct error *err)
{
	*c_r = NULL;
	struct imap_client *c = client_new(opts);
	int r = session_start(c, err);
	if (r < 0) {
		imap_close(c);
		/* Whatever step failed (a CAPABILITY answered NO is a folder
		 * error on its own), without a session the account fails:
		 * the error says so too, not only the code. */
		if (err && r >= -ERR_ACCOUNT)
			err->reach = ERR_ACCOUNT;
		return r < -ERR_ACCOUNT ? r : -ERR_ACCOUNT;
	}
	*c_r = c;
	return 0;
}

static void logout_done(void *ctx, const struct imap_response *r)
{
	*(bool *)ctx = true;
}

int imap_logout(struct imap_client *c, struct error *err)
{
	bool done = false;
	struct imap_cmd_cb cb = {.done = logout_done, .ctx = &done};
	imap_submit(c, &cb, "LOGOUT");
	struct error e = ERROR_INIT;
	int r = imap_run(c, &e);
	/* A server that says BYE and closes before its OK is fine. */
	if (r < 0 && !done && c->bye)
		r = 0;
	if (r < 0)
		error_set(err, e.reach, "%s", e.msg);
	error_clear(&e);
	return r;
}

void imap_close(struct imap_client *c)
{
	if (!c)
		return;
	while (c->head) {
		struct imap_cmd *next = c->head->next;
		for (size_t i = 0; i < c->head->n_chunks; i++)
			free(c->head->chunks[i].data);
		free(c->head->chunks);
		free(c->head);
		c->head = next;
	}
	imap_conn_close(c->conn);
	imap_parser_free(c->parser);
	free_caps(c);
	if (c->secret)
		memset(c->secret, 0, strlen(c->secret));
	free(c->secret);
	free(c->host);
	free(c->ca_file);
	free(c->pin);
	free(c->user);
	free(c->auth);
	free(c->bye);
	free(c->broken);
	buf_release(&c->trace);
	free(c);
}
