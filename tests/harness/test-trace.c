/* SPDX-License-Identifier: MIT */
/* harness_trace_line: nothing without TIDEMAIL_TRACE_DIR, with it one
 * file per process holding every line. */
#include "harness-private.h"
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static void test_trace(void **state)
{
	(void)state;
	char tmpl[] = "/tmp/tm-trace.XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	char *dir = xasprintf("%s/traces", tmpl);
	char *path = xasprintf("%s/test-harness-trace-%ld.trace", dir,
			       (long)getpid());

	unsetenv("TIDEMAIL_TRACE_DIR");
	assert_false(harness_tracing());
	harness_trace_line("t", "C: T1 NOOP");
	assert_int_equal(access(dir, F_OK), -1);

	setenv("TIDEMAIL_TRACE_DIR", dir, 1);
	assert_true(harness_tracing());
	harness_trace_line("t", "C: T1 NOOP");
	harness_trace_line(NULL, "S: T1 OK");
	/* The whole file: far below the limit. */
	char *text = harness_file_tail(path, 4096);
	assert_non_null(text);
	/* (harness_file_tail drops the last newline.) */
	assert_string_equal(text, "t: C: T1 NOOP\nS: T1 OK");
	free(text);

	unlink(path);
	rmdir(dir);
	rmdir(tmpl);
	free(path);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trace),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
