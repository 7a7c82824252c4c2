/* SPDX-License-Identifier: MIT */
/*
 * harness: a private Dovecot for end-to-end tests, and doveadm helpers
 * that read and change its mail without any of tidemail's IMAP code, so
 * that tests check our client against an independent oracle.
 *
 * One harness_start() gives one server: its own directory (config, TLS
 * files, passwd-file, maildirs, log), listening on 127.0.0.1 and 127.0.0.2
 * on two free ports (plain/STARTTLS and implicit TLS), with one user.
 * harness_stop() kills it, reaps it and removes the directory.  Meant for
 * cmocka group setup/teardown: teardown runs even when a test fails, and
 * the server also dies with the test process (SIGTERM on parent death).
 *
 * Dovecot counts a connection whose source and destination address are
 * the same (127.0.0.1 -> 127.0.0.1) as secured, so LOGIN is allowed there
 * even without opts.plaintext_auth.  To see LOGINDISABLED on the plain
 * port, connect from 127.0.0.1 to h->alt_host (127.0.0.2).
 *
 * Ownership: every char * in struct harness belongs to the harness and
 * lives until harness_stop().  Functions that fill *_r arrays give them
 * to the caller, to be freed with the matching *_free() function.  A
 * struct buf passed in is appended to; the caller releases it.
 *
 * Errors: functions return 0 or a negative code with the message in err
 * (reach ERR_ACCOUNT: a broken harness spoils the whole test).  A doveadm
 * command that exits non-zero becomes an error holding its stderr.
 */
#ifndef TIDEMAIL_HARNESS_H
#define TIDEMAIL_HARNESS_H

#include "util.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The start of every default password (opts.password NULL): distinctive,
 * so that finding it, or a base64 form of it, anywhere but in the
 * server's own files is a leak (tests/secrets).  Letters and digits
 * only: no quoting needed in YAML, shell or IMAP. */
#define HARNESS_SENTINEL_PREFIX "tmSentinelPw"

/* Where Dovecot is installed (Debian's dovecot-imapd / dovecot-core). */
#define HARNESS_DOVECOT_BIN "/usr/sbin/dovecot"
#define HARNESS_DOVEADM_BIN "/usr/bin/doveadm"

struct harness_opts {
	/* Advertise Dovecot's usual capabilities minus CONDSTORE and
	 * QRESYNC (imap_capability replaces the list), for fallback tests. */
	bool no_condstore;
	/* Advertise CONDSTORE but not QRESYNC, as Gmail does. */
	bool no_qresync;
	/* Leave MOVE out (clients fall back to COPY + EXPUNGE). */
	bool no_move;
	/* Leave UIDPLUS out of the list (Dovecot still sends APPENDUID and
	 * COPYUID; a client must not rely on them nor on UID EXPUNGE). */
	bool no_uidplus;
	/* Login processes serve many connections each (Dovecot's
	 * high-performance mode) instead of one process per connection:
	 * for tests that open thousands of connections. */
	bool fast_login;
	/* Load imap_zlib so that COMPRESS=DEFLATE is offered. */
	bool compress;
	/* disable_plaintext_auth = no: LOGIN allowed without TLS. */
	bool plaintext_auth;
	/* For tm-dovecot: the server keeps running after this process ends
	 * (own session, no parent-death signal) and the directory is kept. */
	bool detach;
	/* Directory to use (created if missing, kept by harness_stop);
	 * NULL: a fresh mkdtemp() directory under $TMPDIR or /tmp. */
	const char *dir;
	/* Password of the default user; NULL: HARNESS_SENTINEL_PREFIX and
	 * 16 random hex digits. */
	const char *password;
	/* Hierarchy separator of the namespace; 0 means '/'. */
	char separator;
	/* Startup time limit in milliseconds; 0 means 10000. */
	int timeout_ms;
};

struct harness {
	char *dir;        /* the server's directory (absolute) */
	char *conf_file;  /* dir/dovecot.conf, for doveadm -c / doveconf -c */
	char *log_file;   /* dir/dovecot.log */
	char *ca_file;    /* PEM CA that signed the server certificate */
	char *users_file; /* dir/users, the passwd-file */
	char *mail_dir;   /* dir/mail: homes are mail_dir/USER */
	const char *host;     /* "127.0.0.1": in the certificate */
	const char *alt_host; /* "127.0.0.2": same ports, not in the cert */
	char *user;       /* "alice" */
	char *password;
	uint16_t imap_port;  /* plain, offers STARTTLS */
	uint16_t imaps_port; /* implicit TLS */
	pid_t pid;        /* Dovecot master, leader of its process group */
	uid_t mail_uid;   /* owner of the mail (not root) */
	gid_t mail_gid;
	bool keep_dir;    /* dir came from opts or detach: never removed */
};

/* True when the Dovecot binaries exist, so e2e tests can skip cleanly. */
bool harness_available(void);

/*
 * Starts a server as described above and waits until the IMAP port takes
 * connections and `doveadm user` answers for the default user, within
 * opts->timeout_ms.  opts may be NULL (all defaults).  On failure nothing
 * is left running, h is zeroed, and err holds the reason with the tail of
 * the Dovecot log.
 */
int harness_start(struct harness *h, const struct harness_opts *opts,
		  struct error *err);

/*
 * Stops the server (SIGTERM to its process group, SIGKILL after a time
 * limit), reaps it, and removes the directory unless it was given in the
 * options or the environment variable TM_KEEP_HARNESS is set (then its
 * path goes to stderr).  Safe on a zeroed or already stopped harness.
 */
void harness_stop(struct harness *h);

/* Frees h but leaves the server and its directory alone (tm-dovecot
 * start, after a detached harness_start()). */
void harness_forget(struct harness *h);

/*
 * Stops the server that harness_start() with opts.detach left running in
 * dir (tm-dovecot stop).  Succeeds when no server is running there.
 */
int harness_stop_dir(const char *dir, struct error *err);

/*
 * Adds a user with the same uid as the default one to the passwd-file and
 * waits until Dovecot sees it (it re-reads the file at most once a
 * second).  name and password may not hold ':' or line breaks.
 */
int harness_add_user(struct harness *h, const char *name,
		     const char *password, struct error *err);

/* ---- traces to files ------------------------------------------------ */

/*
 * For the secrets sweep (tests/secrets/sweep.sh): harness_tracing() is
 * true when the environment variable TIDEMAIL_TRACE_DIR is set, and
 * harness_trace_line, an imap_trace_fn (sync_opts.trace, imap_options
 * .trace), then appends "CTX: LINE" (ctx: a string or NULL) to
 * TIDEMAIL_TRACE_DIR/<program>-<pid>.trace.  Without the variable it
 * does nothing.  An e2e test turns it on with
 *	if (harness_tracing()) opts.trace = harness_trace_line;
 */
bool harness_tracing(void);
void harness_trace_line(void *ctx, const char *line);

/* The whole file (a new string, NUL-terminated; *len_r its length if
 * len_r), or NULL when it cannot be opened. */
char *harness_read_file(const char *path, size_t *len_r);

/* ---- doveadm --------------------------------------------------------- */

/*
 * Runs `doveadm -c CONF arg0 ...` (NULL-terminated, no shell).  stdin_data
 * (may be NULL) is fed to its standard input; its standard output is
 * appended to out (may be NULL: discarded).
 */
int harness_doveadm(struct harness *h, const char *stdin_data,
		    struct buf *out, struct error *err, const char *arg0, ...)
	__attribute__((sentinel));
/* The same with an argument vector (NULL-terminated). */
int harness_doveadm_argv(struct harness *h, const char *stdin_data,
			 struct buf *out, const char *const *args,
			 struct error *err);

/*
 * One object of doveadm's JSON output (-f json): field names and values
 * in doveadm's order.  Values are as doveadm prints them: bytes that are
 * not UTF-8 come back as U+FFFD.
 */
struct harness_record {
	size_t count;
	char **keys;
	char **values;
};
/* The value of key, or NULL. */
const char *harness_record_get(const struct harness_record *rec,
			       const char *key);
/* Parses doveadm's JSON output: an array of flat objects of strings. */
int harness_json_records(const char *json, struct harness_record **recs_r,
			 size_t *count_r, struct error *err);
void harness_records_free(struct harness_record *recs, size_t count);
/* Runs `doveadm -c CONF -f json args...` and parses what it prints. */
int harness_doveadm_records(struct harness *h, struct harness_record **recs_r,
			    size_t *count_r, struct error *err,
			    const char *arg0, ...) __attribute__((sentinel));

/*
 * The helpers below act as user (NULL: h->user) on the mailbox named with
 * the namespace separator (opts.separator, '/' by default).
 */

/* doveadm save: appends message (RFC 5322 text) to folder.  uid_r (may be
 * NULL) receives the UID it got, read from UIDNEXT just before. */
int harness_save(struct harness *h, const char *user, const char *folder,
		 const char *message, uint32_t *uid_r, struct error *err);

int harness_mailbox_create(struct harness *h, const char *user,
			   const char *folder, struct error *err);
/* Deletes the folder with its messages. */
int harness_mailbox_delete(struct harness *h, const char *user,
			   const char *folder, struct error *err);
int harness_mailbox_rename(struct harness *h, const char *user,
			   const char *from, const char *to,
			   struct error *err);
/* All mailbox names, sorted with strcmp().  Free with harness_strv_free. */
int harness_mailbox_list(struct harness *h, const char *user,
			 char ***names_r, size_t *count_r, struct error *err);
void harness_strv_free(char **v, size_t count);

struct harness_status {
	uint32_t messages;
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;
};
/* doveadm mailbox status: fails if the folder does not exist. */
int harness_mailbox_status(struct harness *h, const char *user,
			   const char *folder, struct harness_status *st_r,
			   struct error *err);
/* doveadm mailbox update --uid-validity: makes clients resynchronize. */
int harness_set_uidvalidity(struct harness *h, const char *user,
			    const char *folder, uint32_t uidvalidity,
			    struct error *err);

enum harness_flags_op {
	HARNESS_FLAGS_ADD,
	HARNESS_FLAGS_REMOVE,
	HARNESS_FLAGS_REPLACE,
};
/* flags: space-separated, e.g. "\\Seen $Label1"; "" with REPLACE clears. */
int harness_flags(struct harness *h, const char *user, const char *folder,
		  uint32_t uid, enum harness_flags_op op, const char *flags,
		  struct error *err);
int harness_expunge(struct harness *h, const char *user, const char *folder,
		    uint32_t uid, struct error *err);
int harness_move(struct harness *h, const char *user, const char *from,
		 uint32_t uid, const char *to, struct error *err);

struct harness_msg {
	uint32_t uid;
	/* Flags as doveadm lists them, without \Recent (a per-session flag
	 * that would make comparisons depend on who looked first). */
	char *flags;
	/* Every fetched field, including uid, flags and the extra ones. */
	struct harness_record fields;
};
/*
 * Fetches "uid flags" plus extra_fields (NULL or doveadm field names such
 * as "guid hdr.subject text") of every message in folder, in UID order.
 * Fails if the folder does not exist.
 */
int harness_fetch(struct harness *h, const char *user, const char *folder,
		  const char *extra_fields, struct harness_msg **msgs_r,
		  size_t *count_r, struct error *err);
void harness_msgs_free(struct harness_msg *msgs, size_t count);

/*
 * UIDs of the messages in folder that match a doveadm search query given
 * as arguments (e.g. "SEEN", or "HEADER", "Subject", "x"), ascending.
 * uids_r is NULL when none match; free() it.
 */
int harness_search(struct harness *h, const char *user, const char *folder,
		   uint32_t **uids_r, size_t *count_r, struct error *err,
		   const char *query0, ...) __attribute__((sentinel));

#endif
