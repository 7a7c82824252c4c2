/* SPDX-License-Identifier: MIT */
/*
 * The client's insides, shared by imap-client.c (pipeline), imap-login.c
 * (connect, TLS, login) and imap-cmds.c (commands).  Not for use outside
 * imap/.
 */
#ifndef TIDEMAIL_IMAP_CLIENT_PRIVATE_H
#define TIDEMAIL_IMAP_CLIENT_PRIVATE_H

#include "imap-conn.h"
#include "imap.h"

enum chunk_kind {
	CHUNK_TEXT,   /* command text */
	CHUNK_SECRET, /* command text the trace must not show */
	CHUNK_STREAM, /* literal data pulled from a reader */
};

struct chunk {
	enum chunk_kind kind;
	bool wait_cont; /* send only after the server's "+" */
	char *data;     /* TEXT, SECRET */
	size_t len;
	imap_reader_fn *reader; /* STREAM */
	void *reader_ctx;
	uint64_t size, done;
};

/* Called for a "+" that no waiting literal explains (SASL challenge,
 * IDLE accepted). */
typedef int imap_cont_fn(struct imap_client *c, struct imap_cmd *cmd,
			 const struct imap_response *r, struct error *err);

struct imap_cmd {
	struct imap_client *c;
	unsigned tag;
	struct imap_cmd_cb cb;
	imap_cont_fn *cont;
	void *cont_ctx;
	struct chunk *chunks;
	size_t n_chunks, cap_chunks, next_chunk;
	bool started; /* counted in flight */
	struct imap_cmd *next;
};

struct imap_client {
	struct imap_options opts; /* strings below are copies */
	char *host, *ca_file, *pin, *user, *secret;
	enum imap_auth *auth;

	struct imap_conn *conn;
	struct imap_parser *parser;

	struct imap_cmd *head, *tail; /* queued and in flight, in order */
	struct imap_cmd *writing;     /* first command not wholly written */
	struct imap_cmd *last_written;
	size_t n_cmds;
	unsigned in_flight;
	unsigned next_tag;
	bool blocked;     /* writing waits for a "+" */
	bool pause;       /* stop dispatching: a callback wants to look */
	struct buf trace; /* the line being sent, as the trace shows it */

	char **caps;
	size_t n_caps;
	struct imap_strings caps_view;
	char *bye;        /* text of an untagged BYE */

	imap_untagged_fn *untagged;
	void *untagged_ctx;

	char *broken;     /* set once: every later call fails with it */
};

/* Adds text of the given kind as it is (no quoting); with wait_cont it
 * is sent only after the server's "+". */
void imap_cmd_add_raw(struct imap_cmd *cmd, enum chunk_kind kind,
		      const char *s, bool wait_cont);
/* Breaks the client with err's message (or msg) and returns the code. */
int imap_client_break(struct imap_client *c, int code, struct error *err);
/* Fails with the recorded breakage, if any. */
int imap_client_check(struct imap_client *c, struct error *err);
/* Runs until cond(ctx) is true or nothing is pending. */
int imap_run_until(struct imap_client *c, bool (*cond)(void *ctx),
		   void *ctx, struct error *err);
/* Like imap_run_until, but also returns (0) after ms milliseconds. */
int imap_run_for(struct imap_client *c, bool (*cond)(void *ctx), void *ctx,
		 int ms, struct error *err);
/* Replaces the known capabilities. */
void imap_set_caps(struct imap_client *c, const struct imap_strings *caps);
/* Sends a secret (SASL response) as its own line, hidden from the trace.
 * For continuation handlers. */
void imap_send_secret_line(struct imap_client *c, const char *text);
void imap_trace(struct imap_client *c, const char *fmt, ...)
	UTIL_PRINTF(2, 3);
/* Traces a received response, with literal contents shown by size. */
void imap_trace_response(struct imap_client *c, const struct imap_response *r);

#endif
