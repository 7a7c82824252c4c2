/* SPDX-License-Identifier: MIT */
/*
 * The two groups of the hostile test (test-hostile.c runs both and
 * prints their figures): each returns how many of its tests failed.
 */
#ifndef TIDEMAIL_TESTS_HOSTILE_TESTS_H
#define TIDEMAIL_TESTS_HOSTILE_TESTS_H

/* test-hostile-server.c: hostile answers in the middle of a sync. */
int hostile_server_tests(void);
/* test-hostile-names.c: hostile mailbox names in LIST. */
int hostile_names_tests(void);

#endif
