/* SPDX-License-Identifier: MIT */
/*
 * The crash tests' scenarios: one for each row of SPEC.md's table of
 * what a sync does (section 4), for folders made, renamed and removed on
 * either side, a changed UIDVALIDITY, a first sync and everything at
 * once.  Each prepares a world whose folders are "<base>-a", "<base>-b"...
 * (the world syncs "<base>-*") up to the run under test, and says what
 * both sides hold after that run.
 *
 * Messages come in groups of k named by one letter: the group "m" is
 * m0 .. m(k-1), so a scenario's size, and its number of steps, grows
 * with k.
 */
#ifndef TIDEMAIL_TESTS_SYNC_CRASH_SCENARIOS_H
#define TIDEMAIL_TESTS_SYNC_CRASH_SCENARIOS_H

#include "world.h"

/* Which servers a scenario runs against. */
enum {
	CRASH_ON_PLAIN = 1,     /* Dovecot as it is */
	CRASH_ON_NO_MOVE = 2,   /* without MOVE: COPY, STORE, UID EXPUNGE */
	CRASH_ON_NO_UIDPLUS = 4, /* without UIDPLUS */
	CRASH_ON_PARALLEL = 8    /* Dovecot as it is, folders on 4 connections */
};

struct crash_scenario {
	const char *name;
	const char *row; /* what it proves, SPEC.md's words */
	void (*prepare)(struct world *w, const char *base, unsigned k);
	/* Both sides after the run (crash_view_expand spec), on every
	 * server it runs against; want_local when the Maildir differs (a
	 * setting kept a change from travelling). */
	const char *want;
	unsigned on;
	const char *sync;       /* more of the account's sync: mapping, or NULL */
	const char *want_local; /* NULL: as want */
};

extern const struct crash_scenario crash_scenarios[];
extern const size_t crash_n_scenarios;

#endif
