/* SPDX-License-Identifier: MIT */
/*
 * Issue 9, point 6: a hostile server (test-hostile-server.c) and hostile
 * mailbox names (test-hostile-names.c) against the whole sync, each case
 * in a child of its own.  Prints one line of figures:
 *
 *   figures: hostile server-cases=N names=M crashes=0 outside-writes=0
 *            state-advances=0
 *
 * HOSTILE_CASE=glob runs only the matching cases (cmocka's filter);
 * HOSTILE_TRACE=1 shows each conversation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "hostile-tests.h"
#include "hostile-world.h"

int main(void)
{
	hw_figures_open();
	if (getenv("HOSTILE_CASE"))
		cmocka_set_test_filter(getenv("HOSTILE_CASE"));
	int failed = hostile_server_tests();
	failed += hostile_names_tests();
	printf("figures: hostile server-cases=%zu names=%zu crashes=%zu outside-writes=%zu "
	       "state-advances=%zu\n",
	       hw_fig->cases, hw_fig->names, hw_fig->crashes, hw_fig->outside,
	       hw_fig->advances);
	hw_figures_close();
	return failed;
}
