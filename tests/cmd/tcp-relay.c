/* SPDX-License-Identifier: MIT */
/*
 * tcp-relay: forwards connections from 127.0.0.1:PORT to
 * 127.0.0.1:TARGET, for the watch test to pull the network away and give
 * it back: killing the relay drops every connection through it and makes
 * the port refuse new ones, and a relay started again on the same port
 * (SO_REUSEADDR) is the network coming back, even to a server that came
 * back on another port.
 *
 *   tcp-relay PORT TARGET     PORT 0: any free port below 30000
 *
 * Prints the port it listens on, one line, then relays until killed.  A
 * test tool: one thread, blocking writes, no limits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

#define CHUNK 65536

struct pair {
	int fd[2]; /* client, server; -1 when closed */
};

static int parse_port(const char *s, unsigned *port_r)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > 65535)
		return -1;
	*port_r = (unsigned)v;
	return 0;
}

static struct sockaddr_in loopback(unsigned port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sa;
}

/* Binds 127.0.0.1:port, or with port 0 a free port below the kernel's
 * ephemeral range (32768 and up on Linux): one the kernel could hand to
 * a server started meanwhile, or to a client as its own end, would be
 * gone when the relay starts again there. */
static int listen_on(unsigned port, unsigned *port_r)
{
	int fd = -1;
	srand((unsigned)getpid());
	for (int tries = 0; fd < 0 && tries < 200; tries++) {
		unsigned p = port ? port : 10000 + (unsigned)rand() % 20000;
		int one = 1;
		struct sockaddr_in sa = loopback(p);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 ||
		    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    listen(fd, 64) < 0) {
			if (fd >= 0)
				close(fd);
			fd = -1;
			if (port)
				break;
		}
		*port_r = p;
	}
	if (fd < 0) {
		perror("tcp-relay: listen");
		exit(1);
	}
	return fd;
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

static int send_all(int fd, const char *p, size_t n)
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

static void close_pair(struct pair *p)
{
	for (int k = 0; k < 2; k++) {
		if (p->fd[k] >= 0)
			close(p->fd[k]);
		p->fd[k] = -1;
	}
}

int main(int argc, char **argv)
{
	unsigned port, target;
	if (argc != 3 || parse_port(argv[1], &port) < 0 ||
	    parse_port(argv[2], &target) < 0 || target == 0) {
		fputs("usage: tcp-relay PORT TARGET\n", stderr);
		return 2;
	}
	int lfd = listen_on(port, &port);
	printf("%u\n", port);
	fflush(stdout);
	struct pair *pairs = NULL;
	size_t n = 0, cap = 0;
	char *chunk = xmalloc(CHUNK);
	for (;;) {
		struct pollfd *fds = xcalloc(1 + 2 * n, sizeof(*fds));
		fds[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
		for (size_t i = 0; i < n; i++)
			for (int k = 0; k < 2; k++)
				fds[1 + 2 * i + k] = (struct pollfd){
					.fd = pairs[i].fd[k], .events = POLLIN};
		if (poll(fds, 1 + 2 * n, -1) < 0 && errno != EINTR) {
			perror("tcp-relay: poll");
			return 1;
		}
		for (size_t i = 0; i < n; i++) {
			for (int k = 0; k < 2 && pairs[i].fd[0] >= 0; k++) {
				if (!fds[1 + 2 * i + k].revents)
					continue;
				ssize_t r = recv(pairs[i].fd[k], chunk, CHUNK, 0);
				if (r <= 0 || send_all(pairs[i].fd[!k], chunk,
						       (size_t)r) < 0)
					close_pair(&pairs[i]);
			}
		}
		if (fds[0].revents) {
			int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			int s = c >= 0 ? connect_to(target) : -1;
			if (s < 0 && c >= 0) {
				close(c); /* no server: the client sees EOF */
			} else if (s >= 0) {
				pairs = xgrow(pairs, sizeof(*pairs), n + 1, &cap);
				pairs[n++] = (struct pair){{c, s}};
			}
		}
		free(fds);
		/* Forget closed pairs. */
		size_t kept = 0;
		for (size_t i = 0; i < n; i++)
			if (pairs[i].fd[0] >= 0)
				pairs[kept++] = pairs[i];
		n = kept;
	}
}
