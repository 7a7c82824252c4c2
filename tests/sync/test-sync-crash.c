/* SPDX-License-Identifier: MIT */
/*
 * Interrupted at every step, then resumed (SPEC.md section 5): a sync is
 * run in a child that dies (_exit, as kill -9 would leave things) at its
 * N-th step — every side effect and every state commit is a step — and
 * then a normal run must finish the work: both sides end exactly as an
 * uninterrupted run leaves them (nothing lost, nothing duplicated), and a
 * further run changes nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "world.h"

static unsigned folder_seq;

static int setup(void **state)
{
	struct harness *h = xcalloc(1, sizeof(*h));
	*state = h;
	if (!harness_available())
		return 0;
	struct error err = ERROR_INIT;
	if (harness_start(h, NULL, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		error_clear(&err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	harness_stop(*state);
	free(*state);
	return 0;
}

struct steps {
	unsigned n;
	unsigned die_at; /* 0: never */
};

static void on_step(void *ctx, const char *step)
{
	struct steps *s = ctx;
	if (++s->n == s->die_at)
		_exit(77);
}

/* A scenario: what both sides hold before the run under test, and what
 * they must hold after it. */
struct scenario {
	const char *name;
	void (*prepare)(struct world *w);
	const char *want;
};

/* Every kind of change at once, after a first sync. */
static void prepare_mixed(struct world *w)
{
	server_add(w, "a", "\\Seen");
	server_add(w, "b", NULL);
	server_add(w, "c", "\\Flagged");
	server_add(w, "d", NULL);
	world_sync_ok(w);
	server_add(w, "e", NULL);
	server_add(w, "f", "\\Seen");
	server_flags(w, "b", "\\Answered");
	server_expunge(w, "c");
	local_add(w, "g", "S");
	local_add(w, "h", "");
	local_flags(w, "a", "FS");
	local_remove(w, "d");
}

/* The first sync of an account: downloads and uploads only. */
static void prepare_first(struct world *w)
{
	for (int i = 0; i < 5; i++) {
		char name[4] = {'s', (char)('0' + i), 0};
		server_add(w, name, i % 2 ? "\\Seen" : NULL);
	}
	local_add(w, "l0", "S");
	local_add(w, "l1", "FS");
	local_add(w, "l2", "");
}

static const struct scenario scenarios[] = {
	{"mixed", prepare_mixed, "a:FS b:R e: f:S g:S h:"},
	{"first", prepare_first, "l0:S l1:FS l2: s0: s1:S s2: s3:S s4:"},
};

static struct world *fresh(struct harness *h, const struct scenario *sc)
{
	char *folder = xasprintf("C%u", ++folder_seq);
	struct world *w = world_new(h, folder, NULL);
	free(folder);
	sc->prepare(w);
	return w;
}

static void run_scenario(struct harness *h, const struct scenario *sc)
{
	/* Uninterrupted, counting the steps. */
	struct world *w = fresh(h, sc);
	struct steps count = {0, 0};
	struct sync_opts o = {.step = on_step, .step_ctx = &count};
	int r = world_sync(w, &o);
	if (r != 0 || w->rep.folders_failed)
		fail_msg("%s: %s", sc->name, w->err.msg ? w->err.msg : "a folder failed");
	assert_sides(w, sc->want);
	world_assert_quiet(w);
	world_free(w);
	assert_true(count.n > 5);

	for (unsigned k = 1; k <= count.n; k++) {
		w = fresh(h, sc);
		fflush(NULL);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct steps die = {0, k};
			struct sync_opts co = {.step = on_step, .step_ctx = &die};
			world_sync(w, &co);
			_exit(0);
		}
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		if (WEXITSTATUS(status) != 77 && WEXITSTATUS(status) != 0)
			fail_msg("%s: the child stopped at step %u with status %d",
				 sc->name, k, WEXITSTATUS(status));
		/* Resume: the result must be exactly the uninterrupted one. */
		r = world_sync(w, NULL);
		if (r != 0 || w->rep.folders_failed)
			fail_msg("%s: resuming after step %u: %s", sc->name, k,
				 w->err.msg ? w->err.msg : "failed");
		char *server = server_view(w), *local = local_view(w);
		if (strcmp(server, sc->want) || strcmp(local, sc->want))
			fail_msg("%s, killed at step %u of %u: server \"%s\", Maildir "
				 "\"%s\", want \"%s\"", sc->name, k, count.n, server, local,
				 sc->want);
		free(server);
		free(local);
		world_assert_quiet(w);
		world_free(w);
	}
	printf("%s: interrupted at each of %u steps and resumed: 0 lost, "
	       "0 duplicated, 0 divergent\n", sc->name, count.n);
}

static void killed_at_every_step_mixed(void **state)
{
	struct harness *h = *state;
	if (!h->pid)
		skip();
	run_scenario(h, &scenarios[0]);
}

static void killed_at_every_step_first_sync(void **state)
{
	struct harness *h = *state;
	if (!h->pid)
		skip();
	run_scenario(h, &scenarios[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(killed_at_every_step_mixed),
		cmocka_unit_test(killed_at_every_step_first_sync),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
