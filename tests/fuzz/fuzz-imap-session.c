/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for a whole IMAP session: the real client (imap/)
 * logs in, lists, selects, fetches, stores, appends and logs out against
 * a "server" whose every byte comes from the fuzzer.
 *
 * Input: one option byte, then what the server sends.  The option bits
 * pick the authentication mechanism (0-1), COMPRESS=DEFLATE when offered
 * (2), one command in flight instead of a pipeline (3) and small parser
 * limits (4).  Corpus files are therefore one character and then plain
 * IMAP, e.g. "0* OK hi\r\n...".
 *
 * There is no network: the binary is linked with --wrap=socket,
 * --wrap=connect and --wrap=poll, so the socket imap_conn_open() makes
 * is one end of a socketpair; the other end is a fake server (below)
 * that plays the input back in step with the client.  A run replays
 * exactly from its input.
 *
 * Beyond what the sanitizers catch, it checks what imap.h promises: no
 * trace line of what the client sent holds the secret or a base64 form
 * of it; the client sends the secret at most once and never a NUL (in
 * its text, before any COMPRESS); every
 * failure has a message; body chunks reach the sink in order.  A broken
 * promise aborts, which libFuzzer reports as a crash.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "imap-cmds.h"
#include "secret-forms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int __real_socket(int domain, int type, int protocol);
int __wrap_socket(int domain, int type, int protocol);
int __wrap_connect(int fd, const struct sockaddr *addr, socklen_t len);
int __real_poll(struct pollfd *fds, nfds_t n, int timeout);
int __wrap_poll(struct pollfd *fds, nfds_t n, int timeout);

/* Distinctive, so that finding it in what the client sent or traced
 * cannot be chance. */
#define SECRET "Fz7-sentinel-Pw-Q9x"
#define USER "alice"

static void die(const char *what, const char *detail) __attribute__((noreturn));
static void die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz-imap-session: %s%s%s\n", what,
		detail ? ": " : "", detail ? detail : "");
	abort();
}

/* ---- the fake server ------------------------------------------------- */

/*
 * The server's bytes go out a line at a time, as the client asks for
 * them: the lines up to a tagged one ("T5 OK") wait until the client has
 * sent the command with that tag; a continuation ("+ ") waits for a
 * command not yet answered, and what follows it for the client's answer
 * to it.  So answers do not overtake commands (the client rightly
 * refuses an answer to a command it never sent, and a "+" nobody asked
 * for).  When the client waits for input and the next line is still
 * held, it goes
 * out anyway: the fuzzer decides what a server does, not this pacing.
 * After the last byte the server shuts its side down, so the client
 * sees end of file and nothing ever waits for a timeout.
 */
static struct server {
	const uint8_t *data;
	size_t len, pos;
	int fd, client_fd;
	struct buf sent;     /* everything the client wrote */
	size_t scanned;      /* how much of sent was read for tags */
	unsigned max_tag;    /* the highest tag the client sent */
	unsigned answered;   /* the highest tag the server answered */
	size_t cont_mark;    /* sent.len when the last "+" went out */
	size_t line_end;     /* end of the line being written */
	bool shut;
} server = {.fd = -1, .client_fd = -1};

/* "T<n> " at the start of a line of the input: n, else 0. */
static unsigned line_tag(const uint8_t *p, size_t len)
{
	unsigned n = 0;
	size_t i = 1;
	if (len < 3 || p[0] != 'T')
		return 0;
	for (; i < len && p[i] >= '0' && p[i] <= '9' && n < 100000; i++)
		n = n * 10 + (unsigned)(p[i] - '0');
	return i < len && p[i] == ' ' ? n : 0;
}

/* Takes what the client wrote and notes the tags of its command lines. */
static void server_read(void)
{
	char tmp[4096];
	ssize_t n;
	while ((n = recv(server.fd, tmp, sizeof(tmp), MSG_DONTWAIT)) > 0)
		buf_add(&server.sent, tmp, (size_t)n);
	const uint8_t *d = (const uint8_t *)server.sent.data;
	while (server.scanned < server.sent.len) {
		const uint8_t *p = d + server.scanned;
		const uint8_t *nl = memchr(p, '\n', server.sent.len - server.scanned);
		if (!nl)
			break;
		unsigned tag = line_tag(p, (size_t)(nl - p));
		if (tag > server.max_tag)
			server.max_tag = tag;
		server.scanned = (size_t)(nl - d) + 1;
	}
}

/* The tag of the first tagged line at or after off, 0 if none. */
static unsigned next_tag(size_t off)
{
	while (off < server.len) {
		const uint8_t *p = server.data + off;
		const uint8_t *nl = memchr(p, '\n', server.len - off);
		size_t n = nl ? (size_t)(nl - p) + 1 : server.len - off;
		unsigned tag = line_tag(p, n);
		if (tag)
			return tag;
		off += n;
	}
	return 0;
}

/* Sends the next line of the input; false if it is held (unless forced). */
static bool server_send_line(bool force)
{
	/* A line the socket took only in part goes on without a check:
	 * its start is out already. */
	if (server.pos >= server.line_end) {
		const uint8_t *p = server.data + server.pos;
		size_t left = server.len - server.pos;
		const uint8_t *nl = memchr(p, '\n', left);
		size_t n = nl ? (size_t)(nl - p) + 1 : left;
		bool cont = p[0] == '+';
		/* Nothing goes out after a "+" until the client answered. */
		bool after_cont = server.cont_mark
				  && server.sent.len <= server.cont_mark;
		if (!force && (after_cont || next_tag(server.pos) > server.max_tag
			       || (cont && server.max_tag <= server.answered)))
			return false;
		if (cont)
			server.cont_mark = server.sent.len;
		else if (server.sent.len > server.cont_mark)
			server.cont_mark = 0;
		unsigned tag = line_tag(p, n);
		if (tag > server.answered)
			server.answered = tag;
		server.line_end = server.pos + n;
	}
	/* Many short lines can fill the socket's buffer (each write costs
	 * more than its bytes there): then the client has plenty to read,
	 * and the rest waits for the next call. */
	ssize_t r = write(server.fd, server.data + server.pos,
			  server.line_end - server.pos);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return false;
	if (r < 0)
		die("write to the socketpair", strerror(errno));
	server.pos += (size_t)r;
	return server.pos == server.line_end;
}

/* Called whenever the client is about to wait for its socket. */
static void server_pump(bool client_waits_for_input)
{
	if (server.shut)
		return;
	server_read();
	bool any = false;
	while (server.pos < server.len && server_send_line(false))
		any = true;
	if (!any && client_waits_for_input && server.pos < server.len)
		server_send_line(true);
	if (server.pos == server.len) {
		shutdown(server.fd, SHUT_WR);
		server.shut = true;
	}
}

int __wrap_socket(int domain, int type, int protocol)
{
	int sv[2];
	int flags = type & (SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (server.fd >= 0)
		die("a second connection", NULL);
	if (socketpair(AF_UNIX, SOCK_STREAM | flags, 0, sv) < 0)
		die("socketpair", strerror(errno));
	server.fd = sv[1];
	server.client_fd = sv[0];
	return sv[0];
}

int __wrap_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	return 0;
}

int __wrap_poll(struct pollfd *fds, nfds_t n, int timeout)
{
	for (nfds_t i = 0; i < n; i++)
		if (fds[i].fd == server.client_fd)
			server_pump((fds[i].events & POLLIN)
				    && !(fds[i].events & POLLOUT));
	return __real_poll(fds, n, timeout);
}

/* ---- the secret in its forms ------------------------------------------ */

/* The secret and its base64 forms (tests/secrets/secret-forms.h). */
static char **secret_forms_all(size_t *n_r)
{
	static char *forms[SECRET_FORMS_MAX];
	static size_t n;
	if (!n)
		n = secret_forms(SECRET, forms);
	*n_r = n;
	return forms;
}

static size_t count_secret(const char *hay, size_t len)
{
	size_t n_forms, count = 0;
	char **forms = secret_forms_all(&n_forms);
	for (size_t f = 0; f < n_forms; f++) {
		size_t flen = strlen(forms[f]);
		for (const char *p = hay; p && (size_t)(p - hay) + flen <= len;) {
			p = memmem(p, len - (size_t)(p - hay), forms[f], flen);
			if (p) {
				count++;
				p++;
			}
		}
	}
	return count;
}

/* ---- callbacks ----------------------------------------------------------- */

static void trace(void *ctx, const char *line)
{
	/* What the server said may echo anything; what we sent must not
	 * show the secret. */
	if (strncmp(line, "C:", 2) == 0 && count_secret(line, strlen(line)))
		die("the trace shows the secret", line);
	/* FUZZ_PRINT=1 ./fuzz-imap-session FILE... shows the session. */
	if (getenv("FUZZ_PRINT"))
		fprintf(stderr, "%s\n", line);
}

static int untagged(void *ctx, const struct imap_response *r, struct error *err)
{
	unsigned *n = ctx;
	(*n)++;
	return 0;
}

struct sink_state {
	bool in_body;
	uint64_t size, done;
};

static int sink(void *ctx, const struct imap_body_chunk *c, struct error *err)
{
	struct sink_state *s = ctx;
	if (c->offset == 0) {
		if (s->in_body)
			die("sink: a body started before the last one ended", NULL);
		s->in_body = c->size != 0;
		s->size = c->size;
		s->done = 0;
	} else if (!s->in_body || c->offset != s->done || c->size != s->size) {
		die("sink: chunk out of order", NULL);
	}
	s->done += c->len;
	if (s->done > s->size)
		die("sink: more bytes than the body's size", NULL);
	if (s->done == s->size)
		s->in_body = false;
	return 0;
}

static const char message[] = "From: a@b\r\nSubject: x\r\n\r\nbody\r\n";

static int reader(void *ctx, void *out, size_t cap, size_t *n_r, struct error *err)
{
	size_t *off = ctx;
	size_t n = sizeof(message) - 1 - *off;
	if (n > cap)
		n = cap;
	memcpy(out, message + *off, n);
	*off += n;
	*n_r = n;
	return 0;
}

/* ---- the session ------------------------------------------------------- */

static void check_err(int r, struct error *err, const char *step)
{
	if (getenv("FUZZ_PRINT"))
		fprintf(stderr, "# %s: %d %s\n", step, r, err->msg ? err->msg : "");
	if (r >= 0) {
		if (err->msg)
			die("a message without an error", step);
		return;
	}
	if (!err->msg || !err->msg[0])
		die("an error without a message", step);
	if (r != -(int)err->reach)
		die("an error whose code is not its reach", step);
	/* Not checked for the secret: a server may echo anything, and
	 * errors quote what it said. */
}

/* Runs one step: false when the client is broken and the session over. */
static bool step(int r, struct error *err, const char *name)
{
	check_err(r, err, name);
	bool broken = r == -ERR_ACCOUNT;
	error_clear(err);
	return !broken;
}

static void session(struct imap_client *c)
{
	struct error err = ERROR_INIT;
	unsigned n_untagged = 0;

	struct imap_folder *folders = NULL;
	size_t n_folders = 0;
	int r = imap_list(c, &folders, &n_folders, &err);
	if (r == 0)
		imap_folders_free(folders, n_folders);
	if (!step(r, &err, "list"))
		return;

	if (!step(imap_enable(c, "CONDSTORE", NULL, &err), &err, "enable"))
		return;

	struct imap_mailbox mb;
	struct imap_select_opts so = {.condstore = true, .untagged = untagged,
				      .ctx = &n_untagged};
	r = imap_select(c, "INBOX", &so, &mb, &err);
	if (r == 0)
		imap_mailbox_free(&mb);
	if (!step(r, &err, "select"))
		return;

	struct sink_state ss = {0};
	struct imap_cmd_cb fetch_cb = {.untagged = untagged, .ctx = &n_untagged,
				       .sink = sink, .sink_ctx = &ss};
	r = imap_uid_fetch(c, "1:*", "UID FLAGS RFC822.SIZE BODY.PEEK[]", 0,
			   false, &fetch_cb, &err);
	if (!step(r, &err, "fetch"))
		return;
	if (ss.in_body && r == 0)
		die("a fetch ended in the middle of a body", NULL);

	struct imap_cmd_cb store_cb = {.untagged = untagged, .ctx = &n_untagged};
	imap_uid_store_submit(c, "1:3", 0, "+FLAGS.SILENT", "(\\Seen)", &store_cb);
	imap_uid_store_submit(c, "4", 7, "-FLAGS.SILENT", "(\\Flagged)", &store_cb);
	if (!step(imap_run(c, &err), &err, "store"))
		return;

	size_t off = 0;
	struct imap_append a = {.wire = "INBOX", .flags = "(\\Seen)",
				.size = sizeof(message) - 1, .reader = reader,
				.reader_ctx = &off};
	uint32_t uid = 0;
	if (!step(imap_append(c, &a, 0, &uid, &err), &err, "append"))
		return;

	uint32_t *uids = NULL;
	size_t n_uids = 0;
	r = imap_uid_search(c, "UNSEEN", &uids, &n_uids, &err);
	free(uids);
	if (!step(r, &err, "search"))
		return;
	step(imap_logout(c, &err), &err, "logout");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum imap_auth mechs[] = {IMAP_AUTH_PLAIN, IMAP_AUTH_LOGIN,
					       IMAP_AUTH_OAUTHBEARER,
					       IMAP_AUTH_XOAUTH2};
	static const struct imap_parser_limits small = {
		.line_max = 200, .literal_max = 100, .stream_max = 1000,
		.response_max = 4096, .depth_max = 4};
	if (size == 0)
		return 0;
	unsigned opt = data[0];
	buf_release(&server.sent);
	server = (struct server){.data = data + 1, .len = size - 1, .fd = -1,
				 .client_fd = -1, .sent = BUF_INIT(BUF_UNLIMITED)};

	/* The chosen mechanism first, then the usual fallback. */
	enum imap_auth auth[] = {mechs[opt & 3], IMAP_AUTH_PLAIN, IMAP_AUTH_LOGIN};
	struct imap_options o = {
		.host = "127.0.0.1",
		.port = 143,
		.tls = IMAP_TLS_NONE,
		.user = USER,
		.secret = SECRET,
		.auth = auth,
		.n_auth = UTIL_ARRAY_LEN(auth),
		.compress = opt & 4,
		.timeout_ms = 2000,
		.max_in_flight = opt & 8 ? 1 : 0,
		.limits = opt & 16 ? &small : NULL,
		.trace = trace,
	};
	struct imap_client *c = NULL;
	struct error err = ERROR_INIT;
	int r = imap_connect(&o, &c, &err);
	check_err(r, &err, "connect");
	error_clear(&err);
	if (r == 0) {
		session(c);
		imap_close(c);
	} else if (c) {
		die("a failed connect left a client", NULL);
	}

	if (server.fd >= 0) {
		server_read();
		struct buf *sent = &server.sent;
		/* After COMPRESS the client's bytes are DEFLATE data, where
		 * a NUL is no news; only the text before it is checked. */
		size_t text = sent->len;
		const char *z = sent->len ? memmem(sent->data, sent->len,
						   " COMPRESS DEFLATE\r\n", 19)
					  : NULL;
		if (z)
			text = (size_t)(z - sent->data) + 19;
		if (text && memchr(sent->data, '\0', text))
			die("the client sent a NUL", NULL);
		if (count_secret(text ? sent->data : "", text) > 1)
			die("the client sent the secret more than once", NULL);
		if (getenv("FUZZ_PRINT"))
			fprintf(stderr, "---- the client sent:\n%.*s", (int)sent->len,
				sent->len ? sent->data : "");
		close(server.fd);
	}
	buf_release(&server.sent);
	server.fd = server.client_fd = -1;
	return 0;
}
