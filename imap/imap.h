/* SPDX-License-Identifier: MIT */
/*
 * imap: the IMAP client tidemail's sync engine (and `tidemail check`)
 * use.  One struct imap_client is one logged-in connection.
 *
 * Commands are pipelined: imap_submit() and the imap_cmd_* builders only
 * queue; imap_run() writes (at most max_in_flight commands unanswered at
 * once), reads, and calls each command's callbacks as its answers come.
 * Tagged answers are matched to commands by tag.  An untagged response
 * goes to the oldest command in flight that has an untagged callback,
 * else to the client's default handler (imap_set_untagged), else nowhere.
 * The synchronous helpers in imap-cmds.h are built on these.
 *
 * Errors: a failed connection, TLS, login or protocol breach is
 * ERR_ACCOUNT and breaks the client (every later call fails the same
 * way); a command answered NO or BAD is ERR_FOLDER, reported by the
 * helper that sent it.
 *
 * The trace callback sees every line sent and received; passwords,
 * tokens and SASL data are replaced by "<redacted>", literal data by its
 * size.
 *
 * Ownership: imap_connect() gives the caller the client (imap_close()
 * frees it).  Options are copied.  Responses passed to callbacks live only
 * during the call.  Functions that return char * or fill *_r arrays give
 * the caller ownership.
 */
#ifndef TIDEMAIL_IMAP_H
#define TIDEMAIL_IMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap-parser.h"
#include "util.h"

enum imap_tls_mode {
	IMAP_TLS_IMPLICIT,
	IMAP_TLS_STARTTLS,
	IMAP_TLS_NONE,
};

enum imap_auth {
	IMAP_AUTH_PLAIN,       /* AUTHENTICATE PLAIN */
	IMAP_AUTH_LOGIN,       /* the LOGIN command */
	IMAP_AUTH_OAUTHBEARER, /* RFC 7628; secret is the token */
	IMAP_AUTH_XOAUTH2,     /* Google/Microsoft; secret is the token */
};

typedef void imap_trace_fn(void *ctx, const char *line);

struct imap_options {
	const char *host;
	unsigned port; /* 0: 993 for implicit TLS, else 143 */
	enum imap_tls_mode tls;
	bool allow_plaintext; /* IMAP_TLS_NONE to a host not on loopback */
	const char *ca_file;  /* optional, trusted besides the system store */
	const char *pin_sha256; /* optional base64 SHA-256 of the server key */
	const char *user;
	const char *secret;   /* password or OAuth token */
	const enum imap_auth *auth; /* order of preference; */
	size_t n_auth;              /* 0: PLAIN, then LOGIN */
	bool compress;        /* COMPRESS=DEFLATE when offered */
	int timeout_ms;       /* inactivity limit; 0: 60 s */
	unsigned max_in_flight; /* 0: 128 */
	const struct imap_parser_limits *limits; /* NULL: the defaults */
	imap_trace_fn *trace; /* NULL: no trace */
	void *trace_ctx;
};

struct imap_client;

/* Connects, checks TLS, reads capabilities, logs in, turns on DEFLATE if
 * asked and offered.  On failure nothing is left open. */
int imap_connect(const struct imap_options *opts, struct imap_client **c_r,
		 struct error *err);
/* Sends LOGOUT and waits for its answer. */
int imap_logout(struct imap_client *c, struct error *err);
/* Closes the connection (without LOGOUT) and frees everything. */
void imap_close(struct imap_client *c);

/* Capabilities as the server last announced them (after login). */
bool imap_has_cap(const struct imap_client *c, const char *cap);
const struct imap_strings *imap_caps(const struct imap_client *c);
bool imap_is_tls(const struct imap_client *c);
bool imap_is_compressed(const struct imap_client *c);

/* ---- the pipeline ------------------------------------------------------ */

/* For untagged responses; a negative return (with err) breaks the
 * client, so return one only for what makes the connection useless. */
typedef int imap_untagged_fn(void *ctx, const struct imap_response *r,
			     struct error *err);
/* The tagged answer; resp->status says how it went. */
typedef void imap_done_fn(void *ctx, const struct imap_response *resp);
/* Fills buf with up to cap bytes of a literal being uploaded. */
typedef int imap_reader_fn(void *ctx, void *buf, size_t cap, size_t *n_r,
			   struct error *err);

struct imap_cmd_cb {
	imap_untagged_fn *untagged;
	imap_done_fn *done;
	void *ctx;
	imap_body_sink_fn *sink; /* bodies of FETCH answers, see parser */
	void *sink_ctx;
};

void imap_set_untagged(struct imap_client *c, imap_untagged_fn *fn,
		       void *ctx);

/* Building one command: begin, add pieces, end (which queues it). */
struct imap_cmd;
struct imap_cmd *imap_cmd_begin(struct imap_client *c,
				const struct imap_cmd_cb *cb);
void imap_cmd_add(struct imap_cmd *cmd, const char *text);
void imap_cmd_addf(struct imap_cmd *cmd, const char *fmt, ...)
	UTIL_PRINTF(2, 3);
/* A mailbox name or other string, as an atom, quoted string or literal,
 * whichever it needs. */
void imap_cmd_add_string(struct imap_cmd *cmd, const char *s);
/* Like imap_cmd_add_string, but hidden from the trace. */
void imap_cmd_add_secret(struct imap_cmd *cmd, const char *s);
/* A literal of size bytes read from reader as it is sent: {n+} with
 * LITERAL+ (or LITERAL- for small ones), else {n} and wait for "+". */
void imap_cmd_add_literal(struct imap_cmd *cmd, uint64_t size,
			  imap_reader_fn *reader, void *reader_ctx);
/* Queues the command; returns its tag number. */
unsigned imap_cmd_end(struct imap_cmd *cmd);

/* s as an atom or a quoted string; NULL if it holds bytes only a
 * literal can carry (CR, LF, NUL, 8-bit): use imap_cmd_add_string. */
char *imap_quote(const char *s);

/* Queues a one-line command ("NOOP", "UID EXPUNGE 3:5"). */
unsigned imap_submit(struct imap_client *c, const struct imap_cmd_cb *cb,
		     const char *fmt, ...) UTIL_PRINTF(3, 4);
/* Works until every queued command is answered. */
int imap_run(struct imap_client *c, struct error *err);
/* Commands queued or unanswered. */
size_t imap_pending(const struct imap_client *c);

/* Submits a one-line command and runs until it is answered: 0 for OK,
 * ERR_FOLDER with the server's text for NO/BAD.  resp_code_r (may be
 * NULL) receives a copy of the answer's code: free its strings with
 * imap_code_copy_free(). */
struct imap_code_copy {
	enum imap_code_type type;
	uint64_t num;
	uint32_t uidvalidity;
	char *uids, *src_uids;
};
void imap_code_copy_free(struct imap_code_copy *c);
int imap_simple(struct imap_client *c, const struct imap_cmd_cb *cb,
		struct imap_code_copy *code_r, struct error *err,
		const char *fmt, ...) UTIL_PRINTF(5, 6);

/* A one-line command written out now and waited for later, so that the
 * server works on it while the caller does something else: imap_send()
 * queues it and writes what it can without waiting; imap_await() runs
 * until it is answered, with imap_simple's result, and frees s.  Every
 * command sent must be awaited.  cb is copied. */
struct imap_sent;
struct imap_sent *imap_send(struct imap_client *c, const struct imap_cmd_cb *cb,
			    const char *fmt, ...) UTIL_PRINTF(3, 4);
int imap_await(struct imap_client *c, struct imap_sent *s, struct error *err);

/* ---- modified UTF-7 (RFC 3501 5.1.3) ----------------------------------- */

/* UTF-8 to modified UTF-7 and back; invalid input is an error. */
int imap_utf7_encode(const char *utf8, char **mutf7_r, struct error *err);
int imap_utf7_decode(const char *mutf7, char **utf8_r, struct error *err);

#endif
