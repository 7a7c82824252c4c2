/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static void buf_starts_empty_and_terminated(void **state)
{
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	assert_int_equal(b.len, 0);
	buf_release(&b);
	assert_string_equal(b.data, "");
}

static void buf_appends_and_formats(void **state)
{
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	assert_int_equal(buf_adds(&b, "UID "), 0);
	assert_int_equal(buf_addf(&b, "%u:%s", 42u, "*"), 0);
	assert_int_equal(buf_addc(&b, '!'), 0);
	assert_string_equal(b.data, "UID 42:*!");
	assert_int_equal(b.len, 9);
	buf_consume(&b, 4);
	assert_string_equal(b.data, "42:*!");
	buf_consume(&b, 100);
	assert_string_equal(b.data, "");
	for (int i = 0; i < 1000; i++)
		assert_int_equal(buf_adds(&b, "0123456789"), 0);
	assert_int_equal(b.len, 10000);
	assert_int_equal(b.data[10000], '\0');
	buf_release(&b);
}

static void buf_refuses_past_ceiling(void **state)
{
	struct buf b = BUF_INIT(8);
	assert_int_equal(buf_adds(&b, "12345678"), 0);
	assert_int_equal(buf_addc(&b, '9'), -1);
	assert_int_equal(buf_addf(&b, "%d", 1), -1);
	assert_string_equal(b.data, "12345678");
	size_t len;
	char *s = buf_detach(&b, &len);
	assert_int_equal(len, 8);
	assert_string_equal(s, "12345678");
	assert_string_equal(b.data, "");
	assert_int_equal(b.max, 8);
	free(s);
}

static void error_records_reach_and_context(void **state)
{
	struct error err = ERROR_INIT;
	assert_int_equal(error_set(&err, ERR_FOLDER, "SELECT %s failed", "Work"),
			 -ERR_FOLDER);
	assert_int_equal(error_prefix(&err, "account %s", "home"), -ERR_FOLDER);
	assert_string_equal(err.msg, "account home: SELECT Work failed");
	assert_int_equal(error_errno(&err, ERR_ACCOUNT, ENOENT, "open %s", "/x"),
			 -ERR_ACCOUNT);
	assert_string_equal(err.msg, "open /x: No such file or directory");
	assert_int_equal(err.reach, ERR_ACCOUNT);
	error_clear(&err);
	assert_null(err.msg);
	/* A NULL error still yields the code. */
	assert_int_equal(error_set(NULL, ERR_MESSAGE, "x"), -ERR_MESSAGE);
}

static void loopback_hosts(void **state)
{
	assert_true(util_host_is_loopback("localhost"));
	assert_true(util_host_is_loopback("LOCALHOST"));
	assert_true(util_host_is_loopback("127.0.0.1"));
	assert_true(util_host_is_loopback("127.8.9.10"));
	assert_true(util_host_is_loopback("::1"));
	assert_true(util_host_is_loopback("[::1]"));
	assert_false(util_host_is_loopback("128.0.0.1"));
	assert_false(util_host_is_loopback("localhost.example.com"));
	assert_false(util_host_is_loopback("::2"));
	assert_false(util_host_is_loopback("imap.example.com"));
	assert_false(util_host_is_loopback(""));
}

static void mkdir_p_creates_parents(void **state)
{
	char tmpl[] = "/tmp/tm-util-XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	char *deep = xasprintf("%s/a/b/c", tmpl);
	assert_int_equal(util_mkdir_p(deep, 0700), 0);
	assert_int_equal(util_mkdir_p(deep, 0700), 0);
	struct stat st;
	assert_int_equal(stat(deep, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(util_fsync_dir(deep), 0);
	/* A file in the way is an error, not a silent success. */
	char *file = xasprintf("%s/file", tmpl);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	char *under = xasprintf("%s/x", file);
	assert_int_equal(util_mkdir_p(under, 0700), -1);
	assert_int_equal(errno, ENOTDIR);
	assert_int_equal(util_mkdir_p(file, 0700), -1);
	char *cmd = xasprintf("rm -rf %s", tmpl);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(under);
	free(file);
	free(deep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(buf_starts_empty_and_terminated),
		cmocka_unit_test(buf_appends_and_formats),
		cmocka_unit_test(buf_refuses_past_ceiling),
		cmocka_unit_test(error_records_reach_and_context),
		cmocka_unit_test(loopback_hosts),
		cmocka_unit_test(mkdir_p_creates_parents),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
