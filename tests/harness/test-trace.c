/* SPDX-License-Identifier: MIT */
/* harness_trace_line: nothing without TIDEMAIL_TRACE_DIR, with it one
 * file per process holding every line. */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	int c;
	while ((c = fgetc(f)) != EOF)
		buf_addc(&b, (char)c);
	fclose(f);
	return buf_detach(&b, NULL);
}

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
	char *text = read_all(path);
	assert_non_null(text);
	assert_string_equal(text, "t: C: T1 NOOP\nS: T1 OK\n");
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
