/* SPDX-License-Identifier: MIT */
/*
 * A small world for end-to-end sync tests: a folder on the harness
 * Dovecot (one per test, so tests share a server), a fresh Maildir root
 * and state directory, a config pointing at them, and helpers that change
 * and read each side without tidemail's code: doveadm for the server, plain
 * files for the Maildir.
 *
 * Messages are named: the message "a" has Message-ID <a@test> and Subject
 * a, so that sides are compared by name: "a:S b:" is a with \Seen and b
 * without flags.  Failures fail the running cmocka test.
 */
#ifndef TIDEMAIL_TESTS_SYNC_WORLD_H
#define TIDEMAIL_TESTS_SYNC_WORLD_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "harness.h"
#include "sync.h"

struct world {
	struct harness *h;
	char *dir;        /* root of this world's local files */
	char *root;       /* dir/Mail: the account's local root */
	char *folder;     /* the remote folder under test */
	char *path;       /* its local folder */
	struct config cfg;
	struct sync_report rep;
	struct error err; /* of the last sync */
};

/* cmocka group setup and teardown: a harness Dovecot in *state (not
 * started, so that tests skip, when Dovecot is not installed). */
int world_setup(void **state, const struct harness_opts *opts);
int world_teardown(void **state);

/* A world for folder, with extra YAML lines for the account (e.g.
 * "    sync: {delete: none}\n"), or NULL. */
struct world *world_new(struct harness *h, const char *folder, const char *extra);
/* world_new with more settings. */
struct world_conf {
	const char *extra;    /* as world_new's, or NULL */
	unsigned connections; /* remote.connections; 0: the default */
	bool plain;           /* tls: none on the plain port (a loopback
				 server): no handshake, for tests that run
				 thousands of syncs */
	const char *tmp;      /* where the world's directory goes; NULL: /tmp */
};
struct world *world_new_conf(struct harness *h, const char *folder,
			     const struct world_conf *wc);
void world_free(struct world *w);

/* Points the helpers below at another folder of the same world (a world
 * made with a glob syncs several); creates it on the server if asked. */
void world_use(struct world *w, const char *folder, bool create);

/* Runs a sync in this process; returns sync_account's result. */
int world_sync(struct world *w, const struct sync_opts *o);
/* Runs a sync and asserts it went through with every folder synced. */
void world_sync_ok(struct world *w);
/* Asserts that a sync now changes nothing on either side. */
void world_assert_quiet(struct world *w);

/* The server side. flags as IMAP writes them ("\\Seen \\Flagged"). */
uint32_t server_add(struct world *w, const char *name, const char *flags);
void server_flags(struct world *w, const char *name, const char *flags);
void server_expunge(struct world *w, const char *name);
/* "a:S b:" sorted by name, flags as Maildir letters. */
char *server_view(struct world *w);

/* Puts n messages named prefix0, prefix1... straight into the server's
 * Maildir (much faster than one doveadm save each) and has Dovecot index
 * them. */
void server_bulk(struct world *w, const char *prefix, unsigned n);
/* How many messages each side holds, and whether each name is there
 * exactly once on both sides (no loss, no duplicate). */
void assert_same_names(struct world *w, unsigned want);

/* The local side; flags as Maildir letters ("FS"). */
void local_add(struct world *w, const char *name, const char *letters);
void local_flags(struct world *w, const char *name, const char *letters);
void local_remove(struct world *w, const char *name);
/* Moves the file of name into another folder of the root, keeping its
 * name (as a mail reader or notmuch does). */
void local_move(struct world *w, const char *name, const char *to_folder);
char *local_view(struct world *w);

/* For views of one's own: the name of the message in a file (its
 * Message-ID without "<" and "@test>"), and IMAP flags as Maildir letters
 * appended to b (keywords and \\Recent left out). */
char *world_file_name(const char *path);
void world_imap_letters(const char *flags, struct buf *b);

/* Asserts both sides are exactly want ("a:S b:"). */
void assert_sides(struct world *w, const char *want);
void assert_server(struct world *w, const char *want);
void assert_local(struct world *w, const char *want);

/* ---- snapshots ----------------------------------------------------------
 *
 * Both sides of a world as files: the user's whole mail directory on the
 * server (messages and Dovecot's index files) and the world's directory
 * (Maildir and state), copied with owners, modes and times, so that a
 * test can run a sync from the same starting point many times.  Only
 * valid while no IMAP session of the harness and no sync is running:
 * world_server_idle() waits for that.
 */
struct world_snap;
/* Waits (up to 10 s, else fails) until the harness has no imap process. */
void world_server_idle(struct harness *h);
struct world_snap *world_snapshot(struct world *w);
void world_restore(struct world *w, const struct world_snap *s);
void world_snap_free(struct world_snap *s);

#endif
