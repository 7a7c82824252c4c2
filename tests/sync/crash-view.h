/* SPDX-License-Identifier: MIT */
/*
 * What the crash tests compare: both sides of the folders "<base>-*" of a
 * world, each as one line "a: x:S y: | b: z:" (folders by the suffix after
 * "<base>-", sorted; messages by name, sorted, flags as Maildir letters).
 * The server's line comes from one doveadm fetch and the folders in its
 * Maildir, the local one from the files: neither uses tidemail's code.
 *
 * Ownership: returned strings are the caller's (free()).  Failures of
 * the tools fail the running cmocka test.
 */
#ifndef TIDEMAIL_TESTS_SYNC_CRASH_VIEW_H
#define TIDEMAIL_TESTS_SYNC_CRASH_VIEW_H

#include "world.h"

char *crash_view_server(struct world *w, const char *base);
/* The server's line read from the files of Dovecot's Maildir (flags in
 * the names), without a doveadm process: many times cheaper, and checked
 * against crash_view_server() by the caller now and then. */
char *crash_view_server_files(struct world *w, const char *base);
char *crash_view_local(struct world *w, const char *base);

/* A view line from a spec with groups: in "a: n*:S o*: | b:" each item
 * with a '*' stands for k items, the '*' replaced by 0 .. k-1. */
char *crash_view_expand(const char *spec, unsigned k);

/* Message copies of want missing from got (lost) and copies in got more
 * often than in want (duplicated), by name over all folders. */
void crash_view_count(const char *want, const char *got, unsigned *lost_r,
		      unsigned *dup_r);

#endif
