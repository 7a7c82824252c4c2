/* SPDX-License-Identifier: MIT */
/*
 * faultproxy: a TCP proxy on 127.0.0.1 between tidemail and the harness
 * Dovecot that breaks one connection at a chosen point, for the network
 * fault tests (issue 9, point 3).
 *
 * It runs in a thread of the test process.  Each connection it accepts
 * gets an index (0, 1, ... in accept order since the last fproxy_arm())
 * and its own connection to the target port.  It watches both directions:
 * bytes each way, and in the server's direction, when the stream is plain
 * IMAP, the CRLF-terminated lines and the literals ("{N}" at the end of a
 * line, then N bytes) that it carries.  On an encrypted stream the line
 * and literal counts mean nothing; only the byte counts do.
 *
 * A fault names one connection and one point of its stream; the proxy
 * forwards everything before that point and then, before the next byte
 * in that direction:
 *
 *   FPROXY_CLOSE  closes both ends (the client sees EOF or a reset);
 *   FPROXY_STALL  stops forwarding both ways but keeps both ends open, as
 *                 a server or network that hangs.
 *
 * The points: after the n-th server line (the line is delivered; whatever
 * the server sends next is not, so the server may already have acted on
 * the client's next command, exactly as when a response is lost); before
 * byte `offset` of the n-th server literal; before server byte n; before
 * client byte n; before the n-th server line that holds a string (so that
 * the server did what the client asked but the client never learns it:
 * an APPENDUID, an EXPUNGE, a FETCH of a body).  A line is matched as it
 * arrives: one that began in an earlier read is cut where the match ends.  Once a fault fired, the network stays broken: later
 * connections are closed at once (CLOSE) or held without a server behind
 * them (STALL).
 *
 * Ownership: fproxy_start() gives the caller a proxy to end with
 * fproxy_stop(), which joins the thread and closes every socket.  Stats
 * filled by fproxy_stats() are the caller's (fproxy_stats_release()).
 * All functions may be called while the proxy thread runs.
 */
#ifndef TIDEMAIL_TESTS_NET_FAULTPROXY_H
#define TIDEMAIL_TESTS_NET_FAULTPROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum fproxy_action {
	FPROXY_PASS,  /* no fault: forward and count */
	FPROXY_CLOSE,
	FPROXY_STALL,
};

enum fproxy_where {
	FPROXY_AFTER_LINE, /* after server line n (1-based) */
	FPROXY_IN_LITERAL, /* before byte offset of server literal n (1-based) */
	FPROXY_DOWN_BYTE,  /* before server byte n (0-based) */
	FPROXY_UP_BYTE,    /* before client byte n (0-based) */
	FPROXY_LINE_WITH,  /* before the n-th server line holding match */
};

struct fproxy_fault {
	enum fproxy_action action;
	enum fproxy_where where;
	unsigned conn; /* index of the connection it applies to */
	uint64_t n;
	uint64_t offset;
	const char *match;  /* FPROXY_LINE_WITH; borrowed until the next arm */
};

/* What one connection carried (the whole of it, or up to its fault). */
struct fproxy_stats {
	uint64_t bytes_down, bytes_up;
	uint64_t lines;      /* server lines, literals not counted */
	uint64_t *lit_sizes; /* server literals in order */
	size_t n_lit;
};

struct fproxy;

/* Listens on a free port of 127.0.0.1 and forwards to 127.0.0.1:target,
 * passing everything until the first fproxy_arm(). */
int fproxy_start(unsigned target, struct fproxy **p_r, struct error *err);
unsigned fproxy_port(const struct fproxy *p);
/* Closes every connection, forgets their stats and counts, and applies
 * fault (PASS: none) to the connections accepted from now on. */
void fproxy_arm(struct fproxy *p, const struct fproxy_fault *fault);
/* Whether the armed fault has fired. */
bool fproxy_fired(struct fproxy *p);
/* How many connections were accepted since the last arm. */
unsigned fproxy_accepted(struct fproxy *p);
/* Stats of connection conn (zeroes for one never accepted). */
void fproxy_stats(struct fproxy *p, unsigned conn, struct fproxy_stats *s_r);
void fproxy_stats_release(struct fproxy_stats *s);
void fproxy_stop(struct fproxy *p);

#endif
