/* SPDX-License-Identifier: MIT */
/*
 * The harness's lifecycle guarantees: a server dies with the process that
 * started it, however that process ends; a detached server (tm-dovecot)
 * outlives it and is stopped by directory; TM_KEEP_HARNESS keeps the
 * directory; a failed start leaves nothing running.  Each test has its
 * own servers and its own temp directory.
 */
#include "harness-private.h"
#include "rawconn.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
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

static void check(int r, struct error *err)
{
	if (r < 0)
		fail_msg("%s", err->msg ? err->msg : "(no message)");
	assert_int_equal(r, 0);
}

/* A temp directory others may traverse (Dovecot's users must). */
static char *make_base(void)
{
	const char *tmp = getenv("TMPDIR");
	char *base = xasprintf("%s/tm-life.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(base));
	assert_int_equal(chmod(base, 0711), 0);
	return base;
}

static void remove_base(char *base)
{
	assert_int_equal(harness_remove_tree(base), 0);
	free(base);
}

static int setup(void **state)
{
	if (!harness_available())
		printf("skipped: %s not installed (apt-get install "
		       "dovecot-imapd)\n",
		       HARNESS_DOVECOT_BIN);
	*state = NULL;
	return 0;
}

static void need_dovecot(void)
{
	if (!harness_available())
		skip();
}

/* Gone, or a zombie nobody reaps (a container's init may not). */
static bool process_gone(pid_t pid)
{
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return true;
	char *path = xasprintf("/proc/%ld/stat", (long)pid);
	FILE *f = fopen(path, "re");
	free(path);
	if (!f)
		return true;
	char state = '?';
	/* "pid (comm) S ...": comm may hold spaces, so skip to ") ". */
	int c, prev = 0;
	while ((c = fgetc(f)) != EOF && !(prev == ')' && c == ' '))
		prev = c;
	if (c != EOF)
		state = (char)fgetc(f);
	fclose(f);
	return state == 'Z' || state == 'X';
}

static bool wait_gone(pid_t pid, int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;
	while (!process_gone(pid)) {
		if (harness_now_ms() > deadline)
			return false;
		harness_sleep_ms(10);
	}
	return true;
}

static void assert_port_closed(uint16_t port)
{
	struct rawconn c;
	assert_int_equal(rawconn_open(&c, "127.0.0.1", port, NULL),
			 -ECONNREFUSED);
	rawconn_close(&c);
}

/* The test process is killed with SIGKILL: no teardown runs, and the
 * parent-death signal must still take Dovecot down. */
static void test_dies_with_parent(void **state)
{
	need_dovecot();
	char *base = make_base();
	char *dir = xasprintf("%s/srv", base);
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		close(pfd[0]);
		struct harness h;
		struct harness_opts opts = {.dir = dir};
		if (harness_start(&h, &opts, NULL) < 0)
			_exit(1);
		pid_t info[2] = {h.pid, (pid_t)h.imap_port};
		if (write(pfd[1], info, sizeof(info)) != sizeof(info))
			_exit(1);
		raise(SIGKILL);
		_exit(1);
	}
	close(pfd[1]);
	pid_t info[2] = {0, 0};
	assert_int_equal(read(pfd[0], info, sizeof(info)), sizeof(info));
	close(pfd[0]);
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	/* The master alone gets the signal and shuts its children down,
	 * which takes it about a second; allow for a slow machine. */
	assert_true(wait_gone(info[0], 10000));
	/* Its children (imap-login holds the listener too) follow it. */
	long long deadline = harness_now_ms() + 5000;
	struct rawconn c;
	while (rawconn_open(&c, "127.0.0.1", (uint16_t)info[1], NULL) == 0 &&
	       harness_now_ms() < deadline) {
		rawconn_close(&c);
		harness_sleep_ms(10);
	}
	rawconn_close(&c);
	assert_port_closed((uint16_t)info[1]);
	free(dir);
	remove_base(base);
}

static uint32_t inbox_messages(struct harness *h)
{
	struct harness_status st;
	struct error err = ERROR_INIT;
	check(harness_mailbox_status(h, NULL, "INBOX", &st, &err), &err);
	return st.messages;
}

/* tm-dovecot's mode: the server outlives harness_forget() and is stopped
 * by directory; a restart on the same directory keeps the mail. */
static void test_detached(void **state)
{
	need_dovecot();
	char *base = make_base();
	char *dir = xasprintf("%s/srv", base);
	struct harness_opts opts = {.dir = dir, .detach = true};
	struct harness h;
	struct error err = ERROR_INIT;
	check(harness_start(&h, &opts, &err), &err);
	check(harness_save(&h, NULL, "INBOX", "Subject: kept\n\nx\n", NULL,
			   &err),
	      &err);
	pid_t pid = h.pid;
	uint16_t port = h.imap_port;
	harness_forget(&h);
	struct rawconn c;
	assert_int_equal(rawconn_open(&c, "127.0.0.1", port, NULL), 0);
	char *line = rawconn_line(&c);
	assert_non_null(line);
	assert_true(strncmp(line, "* OK ", 5) == 0);
	free(line);
	rawconn_close(&c);

	check(harness_stop_dir(dir, &err), &err);
	/* It is still our child: reaping it proves it exited. */
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_port_closed(port);
	char *pid_file = xasprintf("%s/tm-dovecot.pid", dir);
	struct stat st;
	assert_int_equal(stat(pid_file, &st), -1);
	/* Nothing runs there now: stopping again is fine. */
	check(harness_stop_dir(dir, &err), &err);

	check(harness_start(&h, &opts, &err), &err);
	assert_int_equal(inbox_messages(&h), 1);
	pid = h.pid;
	harness_forget(&h);
	check(harness_stop_dir(dir, &err), &err);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	free(pid_file);
	free(dir);
	remove_base(base);
}

static void test_keep_env(void **state)
{
	need_dovecot();
	struct harness h;
	struct error err = ERROR_INIT;
	assert_int_equal(setenv("TM_KEEP_HARNESS", "1", 1), 0);
	check(harness_start(&h, NULL, &err), &err);
	char *dir = xstrdup(h.dir);
	char *log = xstrdup(h.log_file);
	harness_stop(&h);
	unsetenv("TM_KEEP_HARNESS");
	struct stat st;
	assert_int_equal(stat(log, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(harness_remove_tree(dir), 0);
	free(log);
	free(dir);
}

/* A start that cannot finish in time says so and leaves nothing behind. */
static void test_failed_start(void **state)
{
	need_dovecot();
	char *base = make_base();
	char *dir = xasprintf("%s/srv", base);
	struct harness_opts opts = {.dir = dir, .timeout_ms = 1};
	struct harness h;
	struct error err = ERROR_INIT;
	assert_int_equal(harness_start(&h, &opts, &err), -ERR_ACCOUNT);
	const char *prefix = "starting Dovecot: port ";
	assert_true(strncmp(err.msg, prefix, strlen(prefix)) == 0);
	assert_non_null(strstr(err.msg, " not open in time"));
	assert_null(h.dir);
	assert_int_equal(h.pid, 0);
	char *pid_file = xasprintf("%s/tm-dovecot.pid", dir);
	FILE *f = fopen(pid_file, "re");
	assert_non_null(f);
	long pid = 0;
	assert_int_equal(fscanf(f, "%ld", &pid), 1);
	fclose(f);
	/* Reaped by harness_start, so not even a zombie is left. */
	assert_int_equal(kill((pid_t)pid, 0), -1);
	assert_int_equal(errno, ESRCH);
	error_clear(&err);

	if (getuid() == 0) {
		/* A directory the mail user cannot reach is refused at
		 * once, instead of timing out on "Permission denied". */
		assert_int_equal(chmod(base, 0700), 0);
		opts.timeout_ms = 0;
		assert_int_equal(harness_start(&h, &opts, &err), -ERR_ACCOUNT);
		char *expected = xasprintf(
			"starting Dovecot: %s is mode 700: Dovecot's users "
			"cannot reach %s (chmod o+x it or use another "
			"directory)",
			base, dir);
		assert_string_equal(err.msg, expected);
		free(expected);
		error_clear(&err);
	}
	free(pid_file);
	free(dir);
	remove_base(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dies_with_parent),
		cmocka_unit_test(test_detached),
		cmocka_unit_test(test_keep_env),
		cmocka_unit_test(test_failed_start),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
