/* SPDX-License-Identifier: MIT */
/*
 * The socket and the DEFLATE layer.  TLS lives in imap-tls.c; the wire
 * functions there choose between the plain socket and the TLS session.
 */
#include "imap-conn-private.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* How much the socket is asked for at once. */
#define IO_CHUNK (64 * 1024)

int imap_conn_poll(struct imap_conn *conn, short events, short *revents_r,
		   struct error *err)
{
	struct pollfd pfd = {.fd = conn->fd, .events = events};
	for (;;) {
		int r = poll(&pfd, 1, conn->timeout_ms);
		if (r > 0)
			break;
		if (r == 0)
			return error_set(err, ERR_ACCOUNT,
					 "%s: no answer for %d.%03d seconds",
					 conn->peer, conn->timeout_ms / 1000,
					 conn->timeout_ms % 1000);
		if (errno != EINTR)
			return error_errno(err, ERR_ACCOUNT, errno, "%s: poll",
					   conn->peer);
	}
	*revents_r = pfd.revents;
	return 0;
}

/* Non-blocking connect to one address, waiting at most timeout_ms. */
static int connect_one(const struct addrinfo *ai, int timeout_ms, int *fd_r)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK
						| SOCK_CLOEXEC,
			ai->ai_protocol);
	if (fd < 0)
		return errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
		*fd_r = fd;
		return 0;
	}
	int e = errno;
	if (e == EINPROGRESS) {
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		int r;
		do
			r = poll(&pfd, 1, timeout_ms);
		while (r < 0 && errno == EINTR);
		socklen_t len = sizeof(e);
		if (r == 0)
			e = ETIMEDOUT;
		else if (r < 0)
			e = errno;
		else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
			e = errno;
		if (e == 0) {
			*fd_r = fd;
			return 0;
		}
	}
	close(fd);
	return e;
}

int imap_conn_open(const char *host, unsigned port, int timeout_ms,
		   struct imap_conn **conn_r, struct error *err)
{
	*conn_r = NULL;
	char *service = xasprintf("%u", port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_ADDRCONFIG};
	struct addrinfo *res = NULL;
	int r = getaddrinfo(host, service, &hints, &res);
	free(service);
	if (r != 0)
		return error_set(err, ERR_ACCOUNT, "cannot resolve %s: %s",
				 host, gai_strerror(r));
	int fd = -1, e = ENOENT;
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next)
		e = connect_one(ai, timeout_ms, &fd);
	freeaddrinfo(res);
	if (fd < 0)
		return error_errno(err, ERR_ACCOUNT, e,
				   "cannot connect to %s port %u", host, port);
	struct imap_conn *conn = xcalloc(1, sizeof(*conn));
	conn->fd = fd;
	conn->peer = xasprintf("%s:%u", host, port);
	conn->timeout_ms = timeout_ms;
	buf_init(&conn->out, BUF_UNLIMITED);
	*conn_r = conn;
	return 0;
}

void imap_conn_close(struct imap_conn *conn)
{
	if (!conn)
		return;
	imap_conn_tls_free(conn);
	if (conn->deflate) {
		inflateEnd(&conn->zin);
		deflateEnd(&conn->zout);
		free(conn->zraw);
	}
	if (conn->fd >= 0)
		close(conn->fd);
	buf_release(&conn->out);
	free(conn->peer);
	free(conn);
}

int imap_conn_start_deflate(struct imap_conn *conn, struct error *err)
{
	if (conn->deflate)
		return 0;
	/* Raw DEFLATE, no zlib header: RFC 4978 section 3. */
	if (inflateInit2(&conn->zin, -15) != Z_OK)
		return error_set(err, ERR_ACCOUNT, "zlib inflateInit failed");
	if (deflateInit2(&conn->zout, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15,
			 8, Z_DEFAULT_STRATEGY)
	    != Z_OK) {
		inflateEnd(&conn->zin);
		return error_set(err, ERR_ACCOUNT, "zlib deflateInit failed");
	}
	conn->zraw_cap = IO_CHUNK;
	conn->zraw = xmalloc(conn->zraw_cap);
	conn->deflate = true;
	return 0;
}

bool imap_conn_is_deflate(const struct imap_conn *conn)
{
	return conn->deflate;
}

static int deflate_into_out(struct imap_conn *conn, const void *data,
			    size_t len, struct error *err)
{
	z_stream *z = &conn->zout;
	z->next_in = (Bytef *)(uintptr_t)data;
	z->avail_in = (uInt)len;
	/* A sync flush per call: what we send is a whole command or a
	 * piece of one, and the server must see it now. */
	size_t room = 4096 + len / 2;
	unsigned char *tmp = xmalloc(room);
	int r;
	do {
		z->next_out = tmp;
		z->avail_out = (uInt)room;
		r = deflate(z, Z_SYNC_FLUSH);
		if (r != Z_OK && r != Z_BUF_ERROR)
			break;
		buf_add(&conn->out, tmp, room - z->avail_out);
	} while (z->avail_out == 0);
	free(tmp);
	if (r != Z_OK && r != Z_BUF_ERROR)
		return error_set(err, ERR_ACCOUNT, "%s: deflate failed",
				 conn->peer);
	return 0;
}

int imap_conn_send(struct imap_conn *conn, const void *data, size_t len,
		   struct error *err)
{
	if (len == 0)
		return 0;
	if (conn->deflate)
		return deflate_into_out(conn, data, len, err);
	buf_add(&conn->out, data, len);
	return 0;
}

size_t imap_conn_unsent(const struct imap_conn *conn)
{
	return conn->out.len;
}

int imap_conn_flush(struct imap_conn *conn, struct error *err)
{
	while (conn->out.len) {
		size_t n = conn->out.len < IO_CHUNK ? conn->out.len : IO_CHUNK;
		size_t done;
		if (imap_conn_wire_write(conn, conn->out.data, n, &done, err)
		    < 0)
			return -ERR_ACCOUNT;
		if (done == 0)
			break;
		buf_consume(&conn->out, done);
	}
	return 0;
}

int imap_conn_flush_all(struct imap_conn *conn, int timeout_ms,
			struct error *err)
{
	int saved = conn->timeout_ms;
	conn->timeout_ms = timeout_ms;
	int r = 0;
	while (r == 0 && conn->out.len) {
		short rev;
		r = imap_conn_flush(conn, err);
		if (r == 0 && conn->out.len)
			r = imap_conn_poll(conn, POLLOUT, &rev, err);
	}
	conn->timeout_ms = saved;
	return r;
}

static int inflate_recv(struct imap_conn *conn, void *buf, size_t cap,
			size_t *n_r, struct error *err)
{
	z_stream *z = &conn->zin;
	*n_r = 0;
	if (conn->zin_ended)
		return error_set(err, ERR_ACCOUNT,
				 "%s: server closed the connection",
				 conn->peer);
	if (z->avail_in == 0 && !conn->zin_full) {
		size_t got;
		if (imap_conn_wire_read(conn, conn->zraw, conn->zraw_cap, &got,
					err)
		    < 0)
			return -ERR_ACCOUNT;
		if (got == 0)
			return 0;
		z->next_in = (Bytef *)conn->zraw;
		z->avail_in = (uInt)got;
	}
	z->next_out = buf;
	z->avail_out = (uInt)cap;
	int r = inflate(z, Z_SYNC_FLUSH);
	/* The server ends its stream when it closes (after LOGOUT): what
	 * came with the end is still good, nothing can follow it. */
	if (r == Z_STREAM_END)
		conn->zin_ended = true;
	else if (r != Z_OK && r != Z_BUF_ERROR)
		return error_set(err, ERR_ACCOUNT,
				 "%s: corrupt DEFLATE data from server: %s",
				 conn->peer, z->msg ? z->msg : "inflate failed");
	*n_r = cap - z->avail_out;
	conn->zin_full = z->avail_out == 0 && !conn->zin_ended;
	if (*n_r == 0 && conn->zin_ended)
		return error_set(err, ERR_ACCOUNT,
				 "%s: server closed the connection",
				 conn->peer);
	return 0;
}

int imap_conn_recv(struct imap_conn *conn, void *buf, size_t cap,
		   size_t *n_r, struct error *err)
{
	if (conn->deflate)
		return inflate_recv(conn, buf, cap, n_r, err);
	return imap_conn_wire_read(conn, buf, cap, n_r, err);
}

bool imap_conn_has_buffered(const struct imap_conn *conn)
{
	if (conn->deflate && (conn->zin.avail_in > 0 || conn->zin_full))
		return true;
	return imap_conn_tls_buffered(conn);
}

int imap_conn_wait(struct imap_conn *conn, int timeout_ms, bool *readable_r,
		   bool *writable_r, struct error *err)
{
	*readable_r = *writable_r = false;
	if (imap_conn_has_buffered(conn)) {
		*readable_r = true;
		return 0;
	}
	int saved = conn->timeout_ms;
	conn->timeout_ms = timeout_ms;
	short rev = 0;
	int r = imap_conn_poll(conn, POLLIN | (conn->out.len ? POLLOUT : 0),
			       &rev, err);
	conn->timeout_ms = saved;
	if (r < 0)
		return r;
	*readable_r = rev & (POLLIN | POLLHUP | POLLERR);
	*writable_r = rev & POLLOUT;
	return 0;
}
