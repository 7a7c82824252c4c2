/* SPDX-License-Identifier: MIT */
#include "faultproxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHUNK 65536

/* Where the server's stream is, for lines and literals. */
struct track {
	unsigned char prev;  /* the byte before, for CRLF */
	int lit_state;       /* 0 none, 1 "{" digits, 2 "}", 3 "}\r" */
	uint64_t digits;
	unsigned n_digits;
	uint64_t lit_left;   /* bytes of the current literal still to come */
	uint64_t lit_size;
	struct buf line;     /* the current line so far, for FPROXY_LINE_WITH */
	uint64_t matched;    /* lines that held the match so far */
};

struct conn {
	int fd[2];       /* client, server; -1 when closed */
	unsigned index;  /* into stats */
	bool stalled;
	struct track down;
};

struct fproxy {
	pthread_t thread;
	pthread_mutex_t mu;
	int lfd;
	int wake[2];
	unsigned port, target;
	bool stop;
	unsigned generation;    /* bumped by arm: pollfds of an older round are void */
	struct fproxy_fault fault;
	bool fired;
	struct conn *conns;
	size_t n_conns, cap_conns;
	struct fproxy_stats *stats; /* one per accepted connection */
	size_t n_stats, cap_stats;
};

static struct sockaddr_in loopback(unsigned port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sa;
}

static int connect_to(unsigned port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = loopback(port);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

static int send_all(int fd, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void conn_close(struct conn *c)
{
	buf_release(&c->down.line);
	for (int k = 0; k < 2; k++) {
		if (c->fd[k] >= 0)
			close(c->fd[k]);
		c->fd[k] = -1;
	}
	c->stalled = false;
}

static void add_literal(struct fproxy_stats *s, uint64_t size)
{
	size_t cap = s->n_lit; /* xgrow from the exact size: literals are few */
	s->lit_sizes = xgrow(s->lit_sizes, sizeof(*s->lit_sizes), s->n_lit + 1, &cap);
	s->lit_sizes[s->n_lit++] = size;
}

/* Takes one server byte into the line and literal counts. */
static void track_byte(struct track *t, struct fproxy_stats *s, unsigned char ch)
{
	s->bytes_down++;
	if (t->lit_left) {
		t->lit_left--;
		t->prev = 0;
		return;
	}
	if (ch == '\n' && t->prev == '\r') {
		s->lines++;
		if (t->lit_state == 3 && t->digits) {
			t->lit_left = t->lit_size = t->digits;
			add_literal(s, t->digits);
		}
		t->lit_state = 0;
	} else if (ch == '{') {
		t->lit_state = 1;
		t->digits = 0;
		t->n_digits = 0;
	} else if (t->lit_state == 1 && ch >= '0' && ch <= '9' && t->n_digits < 12) {
		t->digits = t->digits * 10 + (uint64_t)(ch - '0');
		t->n_digits++;
	} else if (t->lit_state == 1 && ch == '}' && t->n_digits) {
		t->lit_state = 2;
	} else if (t->lit_state == 2 && ch == '\r') {
		t->lit_state = 3;
	} else {
		t->lit_state = 0;
	}
	t->prev = ch;
}

/* Whether the fault is due before the next server byte. */
static bool down_due(const struct fproxy_fault *f, const struct track *t,
		     const struct fproxy_stats *s)
{
	switch (f->where) {
	case FPROXY_AFTER_LINE:
		return s->lines >= f->n;
	case FPROXY_IN_LITERAL:
		return t->lit_left && s->n_lit == f->n &&
		       t->lit_size - t->lit_left == f->offset;
	case FPROXY_DOWN_BYTE:
		return s->bytes_down >= f->n;
	case FPROXY_UP_BYTE:
	case FPROXY_LINE_WITH:
		break;
	}
	return false;
}

/* After byte ch of a line: whether the line now ends with the match, for
 * the n-th time. */
static bool line_matched(const struct fproxy_fault *f, struct track *t, unsigned char ch,
			 bool in_literal)
{
	if (in_literal)
		return false;
	if (ch == '\n') {
		buf_reset(&t->line);
		return false;
	}
	/* A line longer than the ceiling is no longer looked at. */
	if (buf_addc(&t->line, (char)ch) < 0)
		return false;
	size_t m = strlen(f->match);
	if (t->line.len < m || memcmp(t->line.data + t->line.len - m, f->match, m))
		return false;
	return ++t->matched == f->n;
}

static void fire(struct fproxy *p, struct conn *c)
{
	p->fired = true;
	if (p->fault.action == FPROXY_CLOSE)
		conn_close(c);
	else
		c->stalled = true;
}

static bool armed_for(const struct fproxy *p, const struct conn *c)
{
	return p->fault.action != FPROXY_PASS && !p->fired && p->fault.conn == c->index;
}

/* Forwards what the server sent, up to the fault if it falls inside. */
static int forward_down(struct fproxy *p, struct conn *c, const unsigned char *data,
			size_t n)
{
	struct fproxy_stats *s = &p->stats[c->index];
	bool armed = armed_for(p, c) && p->fault.where != FPROXY_UP_BYTE;
	bool match = armed && p->fault.where == FPROXY_LINE_WITH;
	size_t i = 0;
	bool due = false;
	/* Where the current line began in this chunk, if it did. */
	size_t line_at = c->down.line.len == 0 ? 0 : SIZE_MAX;
	for (; i < n; i++) {
		if (armed && !match && down_due(&p->fault, &c->down, s)) {
			due = true;
			break;
		}
		bool in_literal = c->down.lit_left > 0;
		track_byte(&c->down, s, data[i]);
		if (match && line_matched(&p->fault, &c->down, data[i], in_literal)) {
			due = true;
			i = line_at == SIZE_MAX ? i + 1 : line_at;
			break;
		}
		if (!in_literal && data[i] == '\n')
			line_at = i + 1;
	}
	if (send_all(c->fd[0], data, i) < 0)
		return -1;
	/* A point at the end of this chunk waits for the next byte: after a
	 * line, the server's next response is what gets lost. */
	if (due)
		fire(p, c);
	return 0;
}

/* Forwards what the client sent, up to an FPROXY_UP_BYTE fault. */
static int forward_up(struct fproxy *p, struct conn *c, const unsigned char *data,
		      size_t n)
{
	struct fproxy_stats *s = &p->stats[c->index];
	size_t allow = n;
	bool due = false;
	if (armed_for(p, c) && p->fault.where == FPROXY_UP_BYTE) {
		uint64_t left = p->fault.n > s->bytes_up ? p->fault.n - s->bytes_up : 0;
		if (left <= n) {
			allow = (size_t)left;
			due = true;
		}
	}
	if (send_all(c->fd[1], data, allow) < 0)
		return -1;
	s->bytes_up += allow;
	if (due)
		fire(p, c);
	return 0;
}

static void accept_one(struct fproxy *p)
{
	int cfd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	p->stats = xgrow(p->stats, sizeof(*p->stats), p->n_stats + 1, &p->cap_stats);
	p->stats[p->n_stats] = (struct fproxy_stats){0};
	struct conn c = {{cfd, -1}, (unsigned)p->n_stats++, false, {0}};
	c.down.line = (struct buf)BUF_INIT(4096);
	if (p->fired && p->fault.action == FPROXY_CLOSE) {
		close(cfd); /* the network is down */
		return;
	}
	if (p->fired && p->fault.action == FPROXY_STALL) {
		c.stalled = true; /* a server that never answers */
	} else {
		c.fd[1] = connect_to(p->target);
		if (c.fd[1] < 0) {
			close(cfd);
			return;
		}
	}
	p->conns = xgrow(p->conns, sizeof(*p->conns), p->n_conns + 1, &p->cap_conns);
	p->conns[p->n_conns++] = c;
}

/* Drops closed connections from the list. */
static void compact(struct fproxy *p)
{
	size_t kept = 0;
	for (size_t i = 0; i < p->n_conns; i++)
		if (p->conns[i].fd[0] >= 0)
			p->conns[kept++] = p->conns[i];
	p->n_conns = kept;
}

static void *proxy_main(void *arg)
{
	struct fproxy *p = arg;
	unsigned char *chunk = xmalloc(CHUNK);
	struct pollfd *fds = NULL;
	size_t cap_fds = 0;
	size_t *owner = NULL; /* fds[k] belongs to conns[owner[k] / 2], end owner[k] % 2 */
	size_t cap_owner = 0;
	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		size_t nf = 2;
		fds = xgrow(fds, sizeof(*fds), 2 + 2 * p->n_conns, &cap_fds);
		owner = xgrow(owner, sizeof(*owner), 2 + 2 * p->n_conns, &cap_owner);
		fds[0] = (struct pollfd){.fd = p->wake[0], .events = POLLIN};
		fds[1] = (struct pollfd){.fd = p->lfd, .events = POLLIN};
		for (size_t i = 0; i < p->n_conns; i++) {
			if (p->conns[i].stalled)
				continue;
			for (size_t k = 0; k < 2; k++) {
				owner[nf] = 2 * i + k;
				fds[nf++] = (struct pollfd){.fd = p->conns[i].fd[k], .events = POLLIN};
			}
		}
		unsigned gen = p->generation;
		pthread_mutex_unlock(&p->mu);
		int r = poll(fds, nf, -1);
		pthread_mutex_lock(&p->mu);
		if (r < 0 || p->stop)
			continue;
		if (fds[0].revents) {
			char drain[64];
			while (read(p->wake[0], drain, sizeof(drain)) > 0)
				;
		}
		if (gen != p->generation)
			continue; /* armed meanwhile: these fds are gone */
		for (size_t k = 2; k < nf; k++) {
			struct conn *c = &p->conns[owner[k] / 2];
			size_t end = owner[k] % 2;
			if (!fds[k].revents || c->fd[end] < 0 || c->stalled)
				continue;
			ssize_t got = recv(c->fd[end], chunk, CHUNK, 0);
			int w = got <= 0 ? -1
				: end == 1 ? forward_down(p, c, chunk, (size_t)got)
					   : forward_up(p, c, chunk, (size_t)got);
			if (w < 0)
				conn_close(c);
		}
		if (fds[1].revents)
			accept_one(p);
		compact(p);
	}
	pthread_mutex_unlock(&p->mu);
	free(owner);
	free(fds);
	free(chunk);
	return NULL;
}

int fproxy_start(unsigned target, struct fproxy **p_r, struct error *err)
{
	struct fproxy *p = xcalloc(1, sizeof(*p));
	p->target = target;
	p->wake[0] = p->wake[1] = -1;
	p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = loopback(0);
	socklen_t len = sizeof(sa);
	if (p->lfd < 0 || bind(p->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(p->lfd, 64) < 0 || getsockname(p->lfd, (struct sockaddr *)&sa, &len) < 0 ||
	    pipe2(p->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		int e = errno;
		fproxy_stop(p);
		return error_errno(err, ERR_ACCOUNT, e, "fault proxy: listen");
	}
	p->port = ntohs(sa.sin_port);
	pthread_mutex_init(&p->mu, NULL);
	if (pthread_create(&p->thread, NULL, proxy_main, p) != 0) {
		pthread_mutex_destroy(&p->mu);
		p->thread = 0;
		fproxy_stop(p);
		return error_set(err, ERR_ACCOUNT, "fault proxy: no thread");
	}
	*p_r = p;
	return 0;
}

unsigned fproxy_port(const struct fproxy *p)
{
	return p->port;
}

static void wake(struct fproxy *p)
{
	ssize_t w = write(p->wake[1], "x", 1);
	(void)w; /* a full pipe wakes the thread just as well */
}

static void forget_stats(struct fproxy *p)
{
	for (size_t i = 0; i < p->n_stats; i++)
		free(p->stats[i].lit_sizes);
	p->n_stats = 0;
}

void fproxy_arm(struct fproxy *p, const struct fproxy_fault *fault)
{
	pthread_mutex_lock(&p->mu);
	for (size_t i = 0; i < p->n_conns; i++)
		conn_close(&p->conns[i]);
	p->n_conns = 0;
	forget_stats(p);
	p->fault = *fault;
	p->fired = false;
	p->generation++;
	pthread_mutex_unlock(&p->mu);
	wake(p);
}

bool fproxy_fired(struct fproxy *p)
{
	pthread_mutex_lock(&p->mu);
	bool f = p->fired;
	pthread_mutex_unlock(&p->mu);
	return f;
}

unsigned fproxy_accepted(struct fproxy *p)
{
	pthread_mutex_lock(&p->mu);
	unsigned n = (unsigned)p->n_stats;
	pthread_mutex_unlock(&p->mu);
	return n;
}

void fproxy_stats(struct fproxy *p, unsigned conn, struct fproxy_stats *s_r)
{
	*s_r = (struct fproxy_stats){0};
	pthread_mutex_lock(&p->mu);
	if (conn < p->n_stats) {
		*s_r = p->stats[conn];
		s_r->lit_sizes = NULL;
		if (s_r->n_lit) {
			s_r->lit_sizes = xcalloc(s_r->n_lit, sizeof(*s_r->lit_sizes));
			memcpy(s_r->lit_sizes, p->stats[conn].lit_sizes,
			       s_r->n_lit * sizeof(*s_r->lit_sizes));
		}
	}
	pthread_mutex_unlock(&p->mu);
}

void fproxy_stats_release(struct fproxy_stats *s)
{
	free(s->lit_sizes);
	*s = (struct fproxy_stats){0};
}

void fproxy_stop(struct fproxy *p)
{
	if (!p)
		return;
	if (p->thread) {
		pthread_mutex_lock(&p->mu);
		p->stop = true;
		pthread_mutex_unlock(&p->mu);
		wake(p);
		pthread_join(p->thread, NULL);
		pthread_mutex_destroy(&p->mu);
	}
	for (size_t i = 0; i < p->n_conns; i++)
		conn_close(&p->conns[i]);
	forget_stats(p);
	free(p->stats);
	free(p->conns);
	for (int k = 0; k < 2; k++)
		if (p->wake[k] >= 0)
			close(p->wake[k]);
	if (p->lfd >= 0)
		close(p->lfd);
	free(p);
}
