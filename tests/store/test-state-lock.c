/* SPDX-License-Identifier: MIT */
/* The account lock, contended from forked children. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "state.h"
#include "store-test.h"

/* In a child: tries the lock once and exits 10 (got it), 11 (busy, with
 * the holder's pid in the message) or 12 (anything else). */
static void child_try(const char *path, pid_t holder)
{
	struct state_lock *l;
	struct error err = ERROR_INIT;
	int r = state_lock_acquire(path, &l, &err);
	if (r == 0)
		_exit(10);
	if (r == STATE_LOCK_BUSY) {
		char *want = xasprintf("(pid %ld) holds it", (long)holder);
		bool named = err.msg && strstr(err.msg, want);
		_exit(named ? 11 : 12);
	}
	_exit(12);
}

static int run_child(const char *path, pid_t holder)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		child_try(path, holder);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void second_locker_is_told_busy_at_once(void **state)
{
	char *dir = st_tmpdir();
	char *path = xasprintf("%s/acct.db.lock", dir);
	struct state_lock *l;
	struct error err = ERROR_INIT;
	assert_int_equal(state_lock_acquire(path, &l, &err), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(run_child(path, getpid()), 11);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* "At once": no waiting for the holder. */
	assert_true(t1.tv_sec - t0.tv_sec < 2);

	state_lock_release(l);
	assert_int_equal(run_child(path, getpid()), 10);
	free(path);
	st_rmtree(dir);
	free(dir);
}

static void lock_of_a_killed_run_is_free(void **state)
{
	char *dir = st_tmpdir();
	char *path = xasprintf("%s/acct.db.lock", dir);
	int ready[2];
	assert_int_equal(pipe(ready), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct state_lock *l;
		if (state_lock_acquire(path, &l, NULL) != 0)
			_exit(1);
		ssize_t w = write(ready[1], "x", 1);
		(void)w;
		pause();
		_exit(0);
	}
	char c;
	assert_int_equal(read(ready[0], &c, 1), 1);
	struct state_lock *l;
	struct error err = ERROR_INIT;
	assert_int_equal(state_lock_acquire(path, &l, &err), STATE_LOCK_BUSY);
	assert_non_null(err.msg);
	char *want = xasprintf("(pid %ld)", (long)pid);
	assert_non_null(strstr(err.msg, want));
	free(want);
	error_clear(&err);
	kill(pid, SIGKILL);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(state_lock_acquire(path, &l, &err), 0);
	state_lock_release(l);
	close(ready[0]);
	close(ready[1]);
	free(path);
	st_rmtree(dir);
	free(dir);
}

static void unwritable_place_is_an_error(void **state)
{
	struct state_lock *l;
	struct error err = ERROR_INIT;
	int r = state_lock_acquire("/nonexistent/dir/acct.db.lock", &l, &err);
	assert_int_equal(r, -ERR_ACCOUNT);
	assert_non_null(strstr(err.msg, "No such file or directory"));
	assert_null(l);
	error_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(second_locker_is_told_busy_at_once),
		cmocka_unit_test(lock_of_a_killed_run_is_free),
		cmocka_unit_test(unwritable_place_is_an_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
