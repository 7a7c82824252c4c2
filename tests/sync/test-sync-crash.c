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
static struct harness_opts group_opts;

static int setup(void **state)
{
	return world_setup(state, &group_opts);
}

static int teardown(void **state)
{
	return world_teardown(state);
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
 * they must hold after it.  A scenario with folders names the suffixes
 * of the folders it syncs (the world then syncs "<folder>*") and want
 * lists them as "-a: a:S b: | -b: c:". */
struct scenario {
	const char *name;
	void (*prepare)(struct world *w);
	const char *want;
	const char *const *folders;
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

/* Moves both ways with flag changes, after a first sync of two folders
 * (w syncs "<base>*"; the folders are "<base>-a" and "<base>-b"). */
static void prepare_moves(struct world *w)
{
	char *base = xstrndup(w->folder, strlen(w->folder) - 1);
	char *fa = xasprintf("%s-a", base), *fb = xasprintf("%s-b", base);
	world_use(w, fb, true);
	world_use(w, fa, true);
	const char *names[] = {"a", "b", "c", "d", "e", "f"};
	for (size_t i = 0; i < 6; i++)
		server_add(w, names[i], NULL);
	world_sync_ok(w);
	struct error err = ERROR_INIT;
	for (size_t i = 0; i < 2; i++) {
		char *id = xasprintf("<%s@test>", names[i]);
		if (harness_doveadm(w->h, NULL, NULL, &err, "move", "-u", w->h->user, fb,
				    "mailbox", fa, "HEADER", "Message-ID", id, NULL) < 0)
			fail_msg("%s", err.msg);
		free(id);
	}
	local_move(w, "c", fb);
	local_move(w, "d", fb);
	local_flags(w, "f", "F");
	server_flags(w, "e", "\\Seen");
	free(base);
	free(fa);
	free(fb);
}

/* Flags changed on both sides of the same messages. */
static void prepare_flags(struct world *w)
{
	server_add(w, "a", NULL);
	server_add(w, "b", NULL);
	world_sync_ok(w);
	server_flags(w, "a", "\\Flagged");
	local_flags(w, "a", "S");
	server_flags(w, "b", "\\Seen");
	local_flags(w, "b", "R");
}

static const char *const two_folders[] = {"-a", "-b", NULL};

static const struct scenario scenarios[] = {
	{"mixed", prepare_mixed, "a:FS b:R e: f:S g:S h:", NULL},
	{"first", prepare_first, "l0:S l1:FS l2: s0: s1:S s2: s3:S s4:", NULL},
	{"moves", prepare_moves, "-a: e:S f:F | -b: a: b: c: d:", two_folders},
	{"flags", prepare_flags, "a:FS b:RS", NULL},
};

/* Both sides of every folder of the scenario, as want spells them; NULL
 * when the two sides differ (then *diff_r says how). */
static char *describe(struct world *w, const struct scenario *sc, char **diff_r)
{
	*diff_r = NULL;
	if (!sc->folders) {
		char *server = server_view(w), *local = local_view(w);
		if (strcmp(server, local)) {
			*diff_r = xasprintf("server \"%s\", Maildir \"%s\"", server, local);
			free(server);
			free(local);
			return NULL;
		}
		free(local);
		return server;
	}
	char *base = xstrndup(w->folder, strcspn(w->folder, "-*"));
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	for (size_t i = 0; sc->folders[i]; i++) {
		char *folder = xasprintf("%s%s", base, sc->folders[i]);
		world_use(w, folder, false);
		char *server = server_view(w), *local = local_view(w);
		if (strcmp(server, local) && !*diff_r)
			*diff_r = xasprintf("%s: server \"%s\", Maildir \"%s\"", folder,
					    server, local);
		buf_addf(&b, "%s%s: %s", i ? " | " : "", sc->folders[i], server);
		free(server);
		free(local);
		free(folder);
	}
	char *glob = xasprintf("%s*", base);
	world_use(w, glob, false);
	free(glob);
	free(base);
	if (*diff_r) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

static struct world *fresh(struct harness *h, const struct scenario *sc)
{
	char *folder = xasprintf(sc->folders ? "C%u*" : "C%u", ++folder_seq);
	struct world *w = world_new(h, folder, NULL);
	free(folder);
	sc->prepare(w);
	if (sc->folders) {
		/* prepare_* leave the world on one folder; sync them all. */
		char *glob = xasprintf("C%u*", folder_seq);
		world_use(w, glob, false);
		free(glob);
	}
	return w;
}

static void check(struct world *w, const struct scenario *sc, const char *when)
{
	char *diff;
	char *got = describe(w, sc, &diff);
	if (!got)
		fail_msg("%s %s: the sides differ: %s", sc->name, when, diff);
	if (strcmp(got, sc->want))
		fail_msg("%s %s: \"%s\", want \"%s\"", sc->name, when, got, sc->want);
	free(got);
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
	check(w, sc, "uninterrupted");
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
		char *when = xasprintf("killed at step %u of %u", k, count.n);
		check(w, sc, when);
		free(when);
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

static void killed_at_every_step_moves(void **state)
{
	struct harness *h = *state;
	if (!h->pid)
		skip();
	run_scenario(h, &scenarios[2]);
}

static void killed_at_every_step_flags(void **state)
{
	struct harness *h = *state;
	if (!h->pid)
		skip();
	run_scenario(h, &scenarios[3]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(killed_at_every_step_mixed),
		cmocka_unit_test(killed_at_every_step_first_sync),
		cmocka_unit_test(killed_at_every_step_moves),
		cmocka_unit_test(killed_at_every_step_flags),
	};
	int failed = cmocka_run_group_tests(tests, setup, teardown);
	/* Without MOVE a server move is COPY, \Deleted, UID EXPUNGE: the
	 * moves again, killed between each of those too. */
	const struct CMUnitTest moves[] = {
		cmocka_unit_test(killed_at_every_step_moves),
	};
	group_opts.no_move = true;
	failed += cmocka_run_group_tests_name("moves on a server without MOVE", moves,
					      setup, teardown);
	return failed;
}
