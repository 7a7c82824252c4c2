/* SPDX-License-Identifier: MIT */
/*
 * tm-dovecot as the demo script uses it: start prints shell assignments
 * (also in DIR/tm-dovecot.env) for a server that outlives the command,
 * stop ends it.  The path of tm-dovecot is the first argument.
 */
#include "harness-private.h"
#include "rawconn.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static const char *tm_dovecot;

/* Runs tm-dovecot with up to three arguments; returns the exit status. */
static int run(struct buf *out, struct buf *errout, const char *a1,
	       const char *a2, const char *a3)
{
	const char *argv[] = {tm_dovecot, a1, a2, a3, NULL};
	int status = -1;
	struct error err = ERROR_INIT;
	if (harness_run(argv, NULL, out, errout, 20000, &status, &err) < 0)
		fail_msg("%s", err.msg);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* The value of NAME='value' in text (no quotes inside: none are). */
static char *value_of(const char *text, const char *name)
{
	char *key = xasprintf("%s='", name);
	const char *p = strstr(text, key);
	assert_non_null(p);
	p += strlen(key);
	free(key);
	const char *end = strchr(p, '\'');
	assert_non_null(end);
	return xstrndup(p, (size_t)(end - p));
}

static void test_start_stop(void **state)
{
	(void)state;
	if (!harness_available())
		skip();
	const char *tmp = getenv("TMPDIR");
	char *base = xasprintf("%s/tm-cli.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(base));
	assert_int_equal(chmod(base, 0711), 0);
	char *dir = xasprintf("%s/server", base);
	struct buf out = BUF_INIT(BUF_UNLIMITED);
	struct buf errout = BUF_INIT(BUF_UNLIMITED);
	assert_int_equal(run(&out, &errout, "start", dir, "--no-condstore"), 0);
	assert_string_equal(errout.data, "");

	/* Exactly these variables, in this order, one per line. */
	static const char *const names[] = {
		"TM_DOVECOT_DIR", "TM_IMAP_HOST", "TM_IMAP_PORT",
		"TM_IMAPS_PORT", "TM_CA_FILE", "TM_USER", "TM_PASSWORD",
		"TM_DOVECOT_CONF", "TM_DOVECOT_PID"};
	const char *line = out.data;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(names); i++) {
		assert_int_equal(strncmp(line, names[i], strlen(names[i])), 0);
		assert_int_equal(line[strlen(names[i])], '=');
		line = strchr(line, '\n');
		assert_non_null(line);
		line++;
	}
	assert_string_equal(line, "");
	char *v_dir = value_of(out.data, "TM_DOVECOT_DIR");
	assert_string_equal(v_dir, dir);
	char *v_host = value_of(out.data, "TM_IMAP_HOST");
	assert_string_equal(v_host, "127.0.0.1");
	char *v_user = value_of(out.data, "TM_USER");
	assert_string_equal(v_user, "alice");
	char *v_ca = value_of(out.data, "TM_CA_FILE");
	char *ca = xasprintf("%s/tls/ca.pem", dir);
	assert_string_equal(v_ca, ca);
	char *v_conf = value_of(out.data, "TM_DOVECOT_CONF");
	char *conf = xasprintf("%s/dovecot.conf", dir);
	assert_string_equal(v_conf, conf);
	char *v_port = value_of(out.data, "TM_IMAPS_PORT");
	uint16_t port = (uint16_t)strtoul(v_port, NULL, 10);

	/* The env file holds the same lines. */
	char *env_path = xasprintf("%s/tm-dovecot.env", dir);
	char *env = harness_file_tail(env_path, 1 << 16);
	out.data[out.len - 1] = '\0'; /* the tail drops the last newline */
	assert_string_equal(env, out.data);

	/* The server outlived tm-dovecot and speaks TLS for localhost. */
	struct rawconn c;
	assert_int_equal(rawconn_open(&c, v_host, port, NULL), 0);
	assert_int_equal(rawconn_tls(&c, v_ca, "localhost"), 0);
	char *greeting = rawconn_line(&c);
	assert_non_null(greeting);
	/* --no-condstore reached the config: the replaced list shows. */
	assert_non_null(strstr(greeting, " MOVE "));
	free(greeting);
	rawconn_close(&c);

	buf_reset(&out);
	assert_int_equal(run(&out, &errout, "stop", dir, NULL), 0);
	assert_string_equal(out.data, "");
	assert_string_equal(errout.data, "");
	assert_int_equal(rawconn_open(&c, v_host, port, NULL), -ECONNREFUSED);
	rawconn_close(&c);
	/* The directory and its files stay. */
	struct stat st;
	assert_int_equal(stat(conf, &st), 0);

	assert_int_equal(harness_remove_tree(base), 0);
	free(env);
	free(env_path);
	free(v_port);
	free(conf);
	free(v_conf);
	free(ca);
	free(v_ca);
	free(v_user);
	free(v_host);
	free(v_dir);
	buf_release(&out);
	buf_release(&errout);
	free(dir);
	free(base);
}

static void test_usage_and_errors(void **state)
{
	(void)state;
	struct buf out = BUF_INIT(BUF_UNLIMITED);
	struct buf errout = BUF_INIT(BUF_UNLIMITED);
	static const char usage[] =
		"usage: tm-dovecot start [DIR] [--no-condstore] [--compress] "
		"[--plaintext-auth]\n"
		"       tm-dovecot stop DIR\n";
	assert_int_equal(run(&out, &errout, NULL, NULL, NULL), 2);
	assert_string_equal(errout.data, usage);
	buf_reset(&errout);
	assert_int_equal(run(&out, &errout, "start", "--bogus", NULL), 2);
	assert_string_equal(errout.data, usage);
	buf_reset(&errout);
	assert_int_equal(run(&out, &errout, "stop", "/nonexistent/tm", NULL),
			 1);
	assert_string_equal(errout.data, "tm-dovecot: /nonexistent/tm: No "
					 "such file or directory\n");
	assert_string_equal(out.data, "");
	buf_release(&out);
	buf_release(&errout);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test-tm-dovecot PATH-TO-TM-DOVECOT\n");
		return 2;
	}
	tm_dovecot = argv[1];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_stop),
		cmocka_unit_test(test_usage_and_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
