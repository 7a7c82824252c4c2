/* SPDX-License-Identifier: MIT */
/* harness_run(): the process runner under doveadm helpers. */
#include "harness-private.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

static void test_stdout_and_status(void **state)
{
	(void)state;
	const char *argv[] = {"/bin/sh", "-c", "echo out; echo err >&2; exit 3",
			      NULL};
	struct buf out = BUF_INIT(BUF_UNLIMITED), errout = BUF_INIT(100);
	struct error err = ERROR_INIT;
	int status = -1;
	assert_int_equal(harness_run(argv, NULL, &out, &errout, 5000, &status,
				     &err),
			 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 3);
	assert_string_equal(out.data, "out\n");
	assert_string_equal(errout.data, "err\n");
	buf_release(&out);
	buf_release(&errout);
}

/* A megabyte through cat: stdin and stdout must be pumped together or
 * both pipes fill up and the two processes wait for each other. */
static void test_large_stdin(void **state)
{
	(void)state;
	size_t len = 1 << 20;
	char *in = xmalloc(len + 1);
	for (size_t i = 0; i < len; i++)
		in[i] = (char)('a' + i % 26);
	in[len] = '\0';
	const char *argv[] = {"/bin/cat", NULL};
	struct buf out = BUF_INIT(BUF_UNLIMITED);
	struct error err = ERROR_INIT;
	int status = -1;
	assert_int_equal(harness_run(argv, in, &out, NULL, 10000, &status,
				     &err),
			 0);
	assert_int_equal(status, 0);
	assert_int_equal(out.len, len);
	assert_memory_equal(out.data, in, len);
	buf_release(&out);
	free(in);
}

static void test_timeout(void **state)
{
	(void)state;
	const char *argv[] = {"/bin/sleep", "5", NULL};
	struct error err = ERROR_INIT;
	int status = -1;
	long long t0 = harness_now_ms();
	assert_int_equal(harness_run(argv, NULL, NULL, NULL, 100, &status,
				     &err),
			 -ERR_ACCOUNT);
	assert_true(harness_now_ms() - t0 < 2000);
	assert_string_equal(err.msg, "/bin/sleep: no answer within 100 ms");
	error_clear(&err);
}

static void test_output_ceiling(void **state)
{
	(void)state;
	const char *argv[] = {"/bin/sh", "-c", "yes | head -c 100000", NULL};
	struct buf out = BUF_INIT(100);
	struct error err = ERROR_INIT;
	int status = -1;
	assert_int_equal(harness_run(argv, NULL, &out, NULL, 5000, &status,
				     &err),
			 -ERR_ACCOUNT);
	assert_string_equal(err.msg, "/bin/sh: output larger than 100 bytes");
	assert_true(out.len <= 100);
	buf_release(&out);
	error_clear(&err);
}

static void test_not_executable(void **state)
{
	(void)state;
	const char *argv[] = {"/nonexistent/doveadm", NULL};
	struct buf errout = BUF_INIT(BUF_UNLIMITED);
	int status = -1;
	assert_int_equal(harness_run(argv, NULL, NULL, &errout, 5000, &status,
				     NULL),
			 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 127);
	assert_string_equal(errout.data,
			    "harness: cannot execute the program\n");
	buf_release(&errout);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stdout_and_status),
		cmocka_unit_test(test_large_stdin),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_output_ceiling),
		cmocka_unit_test(test_not_executable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
