/* SPDX-License-Identifier: MIT */
/*
 * The hostile test server: reading commands (with their literals),
 * answering them from a model of the mailboxes, and the hooks that put
 * hostile bytes in place of the answers.  It runs in a forked child and
 * talks only to its socket; it never touches the client's files.
 */
#include "hostile-server-private.h"

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
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "imap-uidset.h"
#include "util.h"

/* Ceilings that keep a confused client from making the server hoard. */
#define HS_LINE_MAX (1024 * 1024)
#define HS_LITERAL_MAX (64 * 1024 * 1024)

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

bool hs_flush(struct srv *v)
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
char *hs_read_line(struct srv *v, size_t *len_r)
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
	if (!hs_flush(v))
		return false;
	if (h->fill) {
		/* Sent in blocks, so that megabytes never sit in memory. */
		size_t flen = strlen(h->fill);
		for (size_t i = 0; i < h->fill_count; i++) {
			buf_add(&v->out, h->fill, flen);
			if (v->out.len >= 65536 && !hs_flush(v))
				return false;
		}
	}
	add_tagged(&v->out, h->suffix ? h->suffix : "",
		   h->suffix_len ? h->suffix_len : (h->suffix ? strlen(h->suffix) : 0), tag);
	return hs_flush(v);
}

/* ---- commands ---------------------------------------------------------- */

static void tok_add(struct cmd *c, const char *s, size_t len, bool literal)
{
	c->toks = xgrow(c->toks, sizeof(*c->toks), c->n + 1, &c->cap);
	/* A literal may hold NULs: copied by length, and terminated. */
	char *copy = xmalloc(len + 1);
	memcpy(copy, s, len);
	copy[len] = '\0';
	c->toks[c->n++] = (struct tok){copy, len, literal};
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
		char *line = hs_read_line(v, &len);
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
			if (!hs_flush(v))
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

static void serve_conn(struct srv *v)
{
	buf_init(&v->in, BUF_UNLIMITED);
	buf_init(&v->out, BUF_UNLIMITED);
	v->logged_in = false;
	v->sel = NULL;
	buf_addf(&v->out, "* OK [CAPABILITY %s] hostile test server ready\r\n", hs_caps_now(v));
	bool go = hs_flush(v);
	while (go) {
		struct cmd c;
		go = read_cmd(v, &c);
		if (go && !c.cut) {
			const struct hs_hook *h = hook_for(v, c.text.data, false);
			if (!h)
				go = hs_answer(v, &c);
			else if (h->act == HS_REPLACE) {
				v->mute = true;
				hs_answer(v, &c);
				v->mute = false;
				go = send_hook(v, h, c.tag);
			}
			else if (h->act == HS_BEFORE)
				go = send_hook(v, h, c.tag) && hs_answer(v, &c);
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
	hs_model_load(&v);
	for (;;) {
		/* Nobody connecting for a minute: the test is gone. */
		struct pollfd p = {.fd = ls, .events = POLLIN};
		if (poll(&p, 1, 60000) <= 0)
			_exit(3);
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
		/* A test that fails between start and stop never stops it:
		 * the server goes with the process that started it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(3);
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
