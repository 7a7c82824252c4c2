/* SPDX-License-Identifier: MIT */
/*
 * The fake server's thread.  The socket is blocking with a 5 s receive
 * timeout, so a client that stops talking ends the thread rather than
 * the test; GnuTLS reads through pull(), which records the raw bytes.
 */
#include "tls-fake.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SILENCE_MS 5000
#define LINE_MAX_BYTES (64 * 1024)

struct conn {
	struct tls_fake *f;
	int fd;
	gnutls_session_t tls; /* NULL while in clear */
	gnutls_certificate_credentials_t cred;
	unsigned tag; /* number of the tag last seen ("T<n>") */
};

static ssize_t pull(gnutls_transport_ptr_t p, void *data, size_t len)
{
	struct conn *c = p;
	ssize_t n = recv(c->fd, data, len, 0);
	if (n > 0)
		buf_add(&c->f->wire, data, (size_t)n);
	/* The receive timeout must end a handshake, not make GnuTLS try
	 * again forever. */
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		errno = ECONNRESET;
	return n;
}

static ssize_t push(gnutls_transport_ptr_t p, const void *data, size_t len)
{
	struct conn *c = p;
	return send(c->fd, data, len, MSG_NOSIGNAL);
}

/* The answer with $T and $N replaced. */
static char *expand(const struct conn *c, const char *text)
{
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	for (const char *p = text; *p; p++) {
		if (p[0] == '$' && (p[1] == 'T' || p[1] == 'N')) {
			buf_addf(&b, "T%u", c->tag + (p[1] == 'N'));
			p++;
		} else {
			buf_addc(&b, *p);
		}
	}
	return buf_detach(&b, NULL);
}

static int send_all(struct conn *c, const char *data, size_t len)
{
	while (len) {
		ssize_t n = c->tls ? gnutls_record_send(c->tls, data, len)
				   : send(c->fd, data, len, MSG_NOSIGNAL);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static int answer(struct conn *c, const char *text)
{
	char *s = expand(c, text);
	int r = send_all(c, s, strlen(s));
	free(s);
	return r;
}

/* One byte at a time in clear, so that nothing after the line (a TLS
 * hello) is taken from the socket by mistake. */
static int read_byte(struct conn *c, char *ch)
{
	for (;;) {
		ssize_t n;
		if (c->tls) {
			n = gnutls_record_recv(c->tls, ch, 1);
			if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
				continue;
			if (n == 1)
				buf_add(&c->f->app, ch, 1);
		} else {
			n = pull(c, ch, 1);
		}
		return n == 1 ? 0 : -1;
	}
}

static char *read_line(struct conn *c)
{
	struct buf line = BUF_INIT(LINE_MAX_BYTES);
	char ch;
	while (read_byte(c, &ch) == 0) {
		if (ch == '\n')
			return buf_detach(&line, NULL);
		if (ch != '\r' && buf_addc(&line, ch) < 0)
			break;
	}
	buf_release(&line);
	return NULL;
}

/* Whatever the client still sends in clear, kept in wire. */
static void drain_raw(struct conn *c)
{
	char tmp[4096];
	while (pull(c, tmp, sizeof(tmp)) > 0)
		;
}

static int handshake(struct conn *c)
{
	const struct tls_ident *id = c->f->script->ident;
	if (gnutls_certificate_allocate_credentials(&c->cred) < 0
	    || gnutls_certificate_set_x509_key_file(c->cred, id->chain, id->key,
						    GNUTLS_X509_FMT_PEM)
		       < 0
	    || gnutls_init(&c->tls, GNUTLS_SERVER) < 0)
		return -1;
	gnutls_set_default_priority(c->tls);
	gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, c->cred);
	gnutls_transport_set_ptr(c->tls, c);
	gnutls_transport_set_pull_function(c->tls, pull);
	gnutls_transport_set_push_function(c->tls, push);
	int r;
	do
		r = gnutls_handshake(c->tls);
	while (r < 0 && !gnutls_error_is_fatal(r));
	/* The client hello has been read, whatever happened after it. */
	char name[256];
	size_t name_len = sizeof(name);
	unsigned type;
	if (gnutls_server_name_get(c->tls, name, &name_len, &type, 0) == 0
	    && type == GNUTLS_NAME_DNS)
		c->f->sni = xstrndup(name, name_len);
	if (r < 0) {
		/* Back to the raw socket: what a client sends now is in
		 * clear and must be recorded as such. */
		gnutls_deinit(c->tls);
		c->tls = NULL;
		drain_raw(c);
		return -1;
	}
	c->f->handshake_ok = true;
	return 0;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int on_starttls(struct conn *c)
{
	const struct tls_script *s = c->f->script;
	if (answer(c, s->starttls ? s->starttls : "$T OK begin TLS now\r\n")
	    < 0)
		return -1;
	if (s->no_handshake && s->hangup) {
		/* Half-close: the client sees the end, and whatever it
		 * still sends is recorded. */
		shutdown(c->fd, SHUT_WR);
		drain_raw(c);
		return -1;
	}
	if (s->no_handshake)
		return 0;
	if (s->inject_delay_ms)
		sleep_ms(s->inject_delay_ms);
	if (s->inject && answer(c, s->inject) < 0)
		return -1;
	return handshake(c);
}

/* The next space-separated word of *p (NUL-terminated in place), or
 * NULL at the end. */
static char *next_word(char **p)
{
	while (**p == ' ')
		(*p)++;
	if (!**p)
		return NULL;
	char *w = *p;
	while (**p && **p != ' ')
		(*p)++;
	if (**p)
		*(*p)++ = '\0';
	return w;
}

/* Answers one command line; -1 ends the conversation. */
static int on_line(struct conn *c, char *line)
{
	const struct tls_script *s = c->f->script;
	char *p = line;
	char *tag = next_word(&p);
	char *cmd = tag ? next_word(&p) : NULL;
	if (!cmd)
		return answer(c, "* BAD what?\r\n");
	unsigned n = 0;
	if (sscanf(tag, "T%u", &n) == 1)
		c->tag = n;
	if (strcasecmp(cmd, "CAPABILITY") == 0) {
		const char *caps = c->tls ? s->caps_tls : s->caps_clear;
		/* after_caps goes in the same packet: the client must see
		 * it before it has sent anything more. */
		char *a = xasprintf("* CAPABILITY %s\r\n$T OK done\r\n%s",
				    caps ? caps : "IMAP4rev1",
				    !c->tls && s->after_caps ? s->after_caps
							     : "");
		int r = answer(c, a);
		free(a);
		return r;
	}
	if (strcasecmp(cmd, "STARTTLS") == 0)
		return on_starttls(c);
	if (strcasecmp(cmd, "AUTHENTICATE") == 0) {
		/* A SASL exchange without an initial response: take it. */
		next_word(&p);
		if (!next_word(&p)) {
			char *resp;
			if (answer(c, "+ \r\n") < 0 || !(resp = read_line(c)))
				return -1;
			free(resp);
		}
		return answer(c, "$T OK logged in\r\n");
	}
	if (strcasecmp(cmd, "LOGOUT") == 0)
		return answer(c, "* BYE see you\r\n$T OK bye\r\n");
	return answer(c, "$T OK done\r\n");
}

static void serve(struct conn *c)
{
	const struct tls_script *s = c->f->script;
	if (s->implicit && handshake(c) < 0)
		return;
	if (answer(c, s->greeting ? s->greeting : "* OK ready\r\n") < 0)
		return;
	char *line;
	while ((line = read_line(c))) {
		int r = on_line(c, line);
		free(line);
		if (r < 0)
			break;
	}
	if (!c->tls)
		drain_raw(c);
}

static void *thread_main(void *arg)
{
	struct tls_fake *f = arg;
	struct pollfd p = {.fd = f->listen_fd, .events = POLLIN};
	if (poll(&p, 1, SILENCE_MS) <= 0)
		return NULL;
	struct conn c = {.f = f, .fd = accept(f->listen_fd, NULL, NULL)};
	if (c.fd < 0)
		return NULL;
	struct timeval tv = {SILENCE_MS / 1000, 0};
	setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	serve(&c);
	if (c.tls)
		gnutls_deinit(c.tls);
	if (c.cred)
		gnutls_certificate_free_credentials(c.cred);
	close(c.fd);
	return NULL;
}

int tls_fake_start(struct tls_fake *f, const struct tls_script *script,
		   struct error *err)
{
	memset(f, 0, sizeof(*f));
	f->script = script;
	buf_init(&f->wire, BUF_UNLIMITED);
	buf_init(&f->app, BUF_UNLIMITED);
	f->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->listen_fd < 0)
		return error_errno(err, ERR_ACCOUNT, errno, "socket");
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t alen = sizeof(a);
	int r = 0;
	if (bind(f->listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0
	    || listen(f->listen_fd, 1) < 0
	    || getsockname(f->listen_fd, (struct sockaddr *)&a, &alen) < 0)
		r = errno;
	f->port = ntohs(a.sin_port);
	if (r == 0)
		r = pthread_create(&f->thread, NULL, thread_main, f);
	if (r != 0) {
		close(f->listen_fd);
		f->listen_fd = -1;
		return error_errno(err, ERR_ACCOUNT, r, "fake server");
	}
	f->running = true;
	return 0;
}

void tls_fake_finish(struct tls_fake *f)
{
	if (f->running)
		pthread_join(f->thread, NULL);
	f->running = false;
	if (f->listen_fd >= 0)
		close(f->listen_fd);
	f->listen_fd = -1;
}

void tls_fake_release(struct tls_fake *f)
{
	tls_fake_finish(f);
	buf_release(&f->wire);
	buf_release(&f->app);
	free(f->sni);
	f->sni = NULL;
}
