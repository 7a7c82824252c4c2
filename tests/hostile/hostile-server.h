/* SPDX-License-Identifier: MIT */
/*
 * hostile-server: a small IMAP server for the hostile-server tests.  It
 * keeps a model of a few mailboxes and answers what tidemail's sync sends
 * (login, LIST, STATUS, SELECT, UID FETCH/SEARCH/STORE/EXPUNGE/MOVE,
 * APPEND, CREATE...) well enough for a whole sync_account() to run, and
 * replaces or decorates chosen answers with hostile bytes (hooks): lying
 * literals, impossible numbers, endless lines, BYE in the middle, OK
 * before a literal was sent, and so on.
 *
 * It runs in a forked child on a loopback port, one connection at a time,
 * until hs_stop().  The script and everything it points to must stay
 * valid until then (the child has its own copy of memory anyway).
 *
 * Ownership: hs_start() returns a handle hs_stop() frees.
 */
#ifndef TIDEMAIL_TESTS_HOSTILE_SERVER_H
#define TIDEMAIL_TESTS_HOSTILE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct hs_msg {
	uint32_t uid;
	const char *flags; /* "\\Seen \\Flagged", "" or NULL for none */
	const char *body;  /* the whole message */
};

struct hs_box {
	const char *name; /* as on the wire (modified UTF-7) */
	uint32_t uidvalidity;
	uint32_t uidnext; /* 0: one past the last message's UID */
	const struct hs_msg *msgs;
	size_t n_msgs;
};

enum hs_act {
	HS_REPLACE, /* send the hook's bytes instead of the normal answer */
	HS_BEFORE,  /* send them, then the normal answer */
	HS_CLOSE,   /* send them and drop the connection */
	HS_LITERAL, /* on a synchronizing literal of the command: send them
		     * instead of "+", and take the command as over */
};

/*
 * What a hook sends: prefix, then fill repeated fill_count times, then
 * suffix.  "$T" in prefix and suffix stands for the command's tag.
 * prefix_len/suffix_len: 0 means strlen (give a length for NULs).
 */
struct hs_hook {
	const char *when; /* prefix of the command after its tag, any case */
	unsigned nth;     /* the n-th such command (1-based); 0: each one */
	enum hs_act act;
	const char *prefix;
	size_t prefix_len;
	const char *fill;
	size_t fill_count;
	const char *suffix;
	size_t suffix_len;
};

struct hs_script {
	/* Capabilities before and after login; NULL: the defaults
	 * ("IMAP4rev1 AUTH=PLAIN SASL-IR" and HS_CAPS_AFTER). */
	const char *caps_before;
	const char *caps_after;
	const struct hs_box *boxes;
	size_t n_boxes;
	/* Raw bytes sent after the generated LIST answers (hostile names). */
	const char *list_extra;
	size_t list_extra_len; /* 0: strlen */
	const struct hs_hook *hooks;
	size_t n_hooks;
	char delim; /* the hierarchy delimiter LIST gives; '\0': '/' */
	/* HIGHESTMODSEQ of every box (CONDSTORE), which no message passes;
	 * 0: the highest message's (ten times its UID). */
	uint64_t modseq;
};

#define HS_CAPS_AFTER "IMAP4rev1 UIDPLUS MOVE ENABLE CONDSTORE"

struct hs_server {
	pid_t pid;
	unsigned port;
};

/* Puts back the default action of the crash signals (cmocka catches
 * them): in a forked child, a crash must end it so that it is counted. */
void hs_default_signals(void);

/* Starts the server; fails the running cmocka test if it cannot. */
struct hs_server *hs_start(const struct hs_script *s);
/* Stops it (whatever it is doing) and frees the handle. */
void hs_stop(struct hs_server *srv);

#endif
