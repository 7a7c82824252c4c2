/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the disk tests: messages whose whole text follows from their
 * name (so a shortened or garbled file is seen), the real tidemail binary
 * run with fault-shim preloaded, and the checks made after every run:
 * no partial file in new/ or cur/, PRAGMA quick_check, no state row ahead
 * of the Maildir, and both sides against the expected messages.
 *
 * Ownership: a struct disk_run, struct disk_expect and struct disk_tally
 * own what they hold; release each with its *_release().  Failures of the
 * helpers themselves (a file that cannot be written) fail the running
 * cmocka test; what a check finds is returned as counts.
 */
#ifndef TIDEMAIL_TESTS_DISK_H
#define TIDEMAIL_TESTS_DISK_H

#include <stdbool.h>
#include <stddef.h>

#include "world.h"

/* The fault kinds fault-shim counts, in its order. */
enum disk_kind { DISK_WRITE, DISK_FSYNC, DISK_RENAME, DISK_CREATE, DISK_KINDS };

extern const char *const disk_kind_names[DISK_KINDS];

/* Paths of the binary and the shim (the test's arguments), and the
 * config file of the world, written by disk_config(). */
struct disk_env {
	const char *tidemail;
	const char *shim;
	char *config;   /* dir/disk.yaml */
	char *state_db; /* state_dir/t.db */
};

/* Writes a config file for the world w (same settings as w->cfg, one
 * connection so that calls come in a fixed order), with state_dir. */
void disk_config(struct disk_env *env, struct world *w, const char *state_dir);
void disk_env_release(struct disk_env *env);

struct disk_run {
	int status;     /* exit status; 128 + signal when killed by one */
	char *err;      /* everything on stderr */
	unsigned long calls[DISK_KINDS];
	unsigned long injected;
	char *target;   /* the path the first fault hit, or NULL */
};

/*
 * Runs `tidemail -c CONFIG sync` with fault-shim preloaded; fault is
 * fault-shim's TM_FAULT ("write:3:28:sticky") or NULL to only count.
 */
void disk_run(const struct disk_env *env, const char *fault, struct disk_run *r);
void disk_run_release(struct disk_run *r);

/* True when path is dir or below it. */
bool disk_under(const char *path, const char *dir);

/* True when r failed the way SPEC.md says: exit 1 and exactly one line on
 * stderr, "tidemail: account t...", naming the cause: strerror(e), or
 * the state file and SQLite's words for it, when the fault was injected
 * into a file in state_dir or was not injected at all (a real full disk). */
bool disk_run_one_line_error(const struct disk_run *r, int e, const char *state_dir);

/* The full text of the message name, with eol line ends: headers,
 * Message-ID <name@test>, a body of a size that follows from the name
 * (some over 100 kB), and a last line naming it. */
char *disk_message(const char *name, const char *eol);

/* The messages a test expects on both sides, with their flags as Maildir
 * letters. */
struct disk_expect {
	char **names;
	char **letters;
	size_t n, cap;
};
void disk_expect_set(struct disk_expect *x, const char *name, const char *letters);
void disk_expect_remove(struct disk_expect *x, const char *name);
/* "a:S b:", as server_view() and local_view() print it. */
char *disk_expect_view(const struct disk_expect *x);
void disk_expect_release(struct disk_expect *x);

/* On the server (doveadm save) and in the Maildir (a file in cur/, LF
 * line ends as mail readers write); both recorded in x. */
void disk_server_add(struct world *w, struct disk_expect *x, const char *name);
void disk_local_add(struct world *w, struct disk_expect *x, const char *name);

/* What the checks found, summed over runs. */
struct disk_tally {
	unsigned cases, enospc, eio, absorbed;
	unsigned partial_files, quick_check_failures, state_ahead;
	unsigned lost, duplicated, converged, bad_exits;
};

/* Files in new/ or cur/ anywhere under root whose text is not exactly
 * disk_message() of their name (either line end). */
unsigned disk_partial_files(const char *root);
/* false unless PRAGMA quick_check on db says ok (a missing db is ok:
 * nothing was recorded). */
bool disk_quick_check(const char *db);
/* State rows that pair a UID with a local file of a message x expects,
 * where that file is not in the folder: the state ran ahead of the disk. */
unsigned disk_state_ahead(const char *db, const char *root, const struct disk_expect *x);
/* Adds to t->lost and t->duplicated what each side of w's folder lacks or
 * has more often than x; true when both sides are exactly x (names and
 * flags). */
bool disk_compare(struct world *w, const struct disk_expect *x, struct disk_tally *t);
/* Runs a sync in this process; true when it changed nothing anywhere. */
bool disk_quiet(struct world *w);

/* The three checks above for w's root and the state db; what they find
 * goes into t and, when anything, to the test's output under what. */
void disk_check(struct disk_tally *t, const char *db, struct world *w,
		const struct disk_expect *x, const char *what);

/* cmocka group setup: a harness Dovecot (world_setup); the teardown is
 * world_teardown. */
int disk_setup(void **state);

/* The one greppable line the test prints: "figures: LABEL cases=...". */
void disk_tally_print(const char *label, const struct disk_tally *t);
/* Fails the test unless every bad count is 0, something was tried, and
 * every case converged. */
void disk_tally_assert(const struct disk_tally *t);

#endif
