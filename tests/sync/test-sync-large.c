/* SPDX-License-Identifier: MIT */
/*
 * Size: a 10,000-message folder (TM_LARGE_N to change it) synced both ways
 * in one run, then a run that changes nothing; and a sync killed with
 * SIGKILL at random moments, resumed each time, that ends with nothing
 * lost and nothing duplicated.  The seed of the random kills is printed
 * (TM_SEED to replay one).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "world.h"

static int setup(void **state)
{
	return world_setup(state, NULL);
}

static int teardown(void **state)
{
	return world_teardown(state);
}

static unsigned env_num(const char *name, unsigned dflt)
{
	const char *v = getenv(name);
	return v && *v ? (unsigned)strtoul(v, NULL, 10) : dflt;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void large_folder_converges_in_one_run(void **state)
{
	struct harness *h = *state;
	if (!h->pid)
		skip();
	unsigned n = env_num("TM_LARGE_N", 10000), up = n / 50;
	struct world *w = world_new(h, "Large", NULL);
	server_bulk(w, "s", n);
	for (unsigned i = 0; i < up; i++) {
		char name[16];
		snprintf(name, sizeof(name), "l%u", i);
		local_add(w, name, i % 2 ? "S" : "");
	}
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	world_sync_ok(w);
	printf("first sync: %u down, %u up in %.2f s\n", n, up, seconds_since(&t0));
	assert_int_equal(w->rep.counts.downloaded, n);
	assert_int_equal(w->rep.counts.uploaded, up);
	assert_same_names(w, n + up);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	world_assert_quiet(w);
	printf("second sync: nothing to do, %.2f s\n", seconds_since(&t0));
	world_free(w);
}

static void killed_at_random_moments(void **state)
{
	struct harness *h = *state;
	if (!h->pid)
		skip();
	unsigned seed = env_num("TM_SEED", (unsigned)time(NULL));
	unsigned n = env_num("TM_LARGE_N", 10000) / 4, up = n / 10;
	unsigned kills = env_num("TM_KILLS", 8);
	printf("seed %u (TM_SEED=%u to replay)\n", seed, seed);
	srand(seed);
	struct world *w = world_new(h, "Killed", NULL);
	server_bulk(w, "s", n);
	for (unsigned i = 0; i < up; i++) {
		char name[16];
		snprintf(name, sizeof(name), "l%u", i);
		local_add(w, name, "");
	}
	unsigned killed = 0;
	for (unsigned k = 0; k < kills; k++) {
		fflush(NULL);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			world_sync(w, NULL);
			_exit(0);
		}
		/* Somewhere in the first 0.4 s of the run (one takes seconds). */
		usleep((useconds_t)(5000 + rand() % 400000));
		kill(pid, SIGKILL);
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		killed += WIFSIGNALED(status);
	}
	world_sync_ok(w);
	assert_same_names(w, n + up);
	world_assert_quiet(w);
	printf("%u runs killed with SIGKILL (%u before they finished), then "
	       "resumed: %u messages, 0 lost, 0 duplicated\n", kills, killed, n + up);
	world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(large_folder_converges_in_one_run),
		cmocka_unit_test(killed_at_random_moments),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
