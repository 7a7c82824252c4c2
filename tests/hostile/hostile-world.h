/* SPDX-License-Identifier: MIT */
/*
 * hostile-world: what a hostile-server case runs in and checks after:
 * a temporary tree (top/w/Mail is local.path, top/w/state the state
 * directory, so that an escape by ".." lands inside top where it is
 * seen), a config with tls: none on 127.0.0.1, a sync_account() run that
 * records what it reported, and snapshots of the files and of the state
 * to compare before and after.
 *
 * Ownership: hw_new() returns a world hw_free() removes (files too);
 * char * results are the caller's.  Failures fail the running cmocka test.
 */
#ifndef TIDEMAIL_TESTS_HOSTILE_WORLD_H
#define TIDEMAIL_TESTS_HOSTILE_WORLD_H

#include <stdbool.h>
#include <stddef.h>

#include "sync.h"

struct hw {
	char *top;   /* everything of this world, and nothing else, is here */
	char *root;  /* local.path */
	char *state; /* state_dir */
	char *db;    /* the account's state file */
	char *extra; /* YAML lines added to the account, or NULL */
	char *local_opts; /* more of local: (", layout: maildir++"), or NULL */
	/* One line per folder failure or refusal: "FOLDER<TAB>TEXT". */
	struct buf events;
	size_t multiline; /* reports (error or event) that spanned lines */
};

/* The figures of the whole test, shared with the children that run the
 * cases (MAP_SHARED): each child adds what it found. */
struct hw_figures {
	size_t cases, names;            /* server cases and names run */
	size_t crashes, outside, advances;
};
extern struct hw_figures *hw_fig;
void hw_figures_open(void);
void hw_figures_close(void);

struct hw *hw_new(const char *extra);
void hw_free(struct hw *w);

/* Runs one sync of the account "h" against the server on port;
 * returns sync_account()'s result, with err and rep as it left them
 * (release both). */
int hw_sync(struct hw *w, unsigned port, struct sync_report *rep, struct error *err);

/* Every path below top ("TYPE SIZE PATH" lines, sorted). */
char *hw_tree(const struct hw *w);
/* The agreed state: folders (names, UIDVALIDITY, UIDNEXT, MODSEQ) and
 * messages (UID, file, flags, size), one line each, sorted. */
char *hw_state(const struct hw *w);
/* Paths new in after that are outside local.path and the state dir. */
size_t hw_outside(const char *before, const char *after);

/* Writes a message file into the folder rel's cur/ (made as needed). */
void hw_local_add(struct hw *w, const char *rel, const char *name, const char *body);
/* Runs fn as a cmocka test in a forked child: 0 when it passed, 1 when a
 * check failed, 2 when it crashed (a signal, or a sanitizer's report). */
int hw_forked(const char *name, void (*fn)(void **state), void *state);

#endif
