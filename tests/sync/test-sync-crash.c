/* SPDX-License-Identifier: MIT */
/*
 * Interrupted at every step, then resumed (SPEC.md section 5; issue 9,
 * point 1).  The sync library calls a test hook before every side effect
 * and every state commit; a child process runs a sync and dies (_exit, as
 * kill -9 leaves things) at its n-th step, then a normal run resumes.
 *
 * For each scenario (crash-scenarios.h) the world before the run under
 * test is kept as files (world_snapshot), an uninterrupted run counts the
 * steps S and must give the scenario's expected sides, and then for each
 * n in 1..S: restore, die at step n, resume, compare both sides (content,
 * flags, folder) with the uninterrupted result, and check that one more
 * run is quiet (no mutating IMAP command, nothing written locally).
 *
 * Figures (one line on stdout): lost = message copies of the expected
 * sides missing after the resume; duplicated = copies more often than
 * expected; divergent = points whose sides differ from the uninterrupted
 * result in any way; not-quiet = points whose next run changed something.
 *
 * Servers: Dovecot as it is (folders synced on one connection, so that
 * step n is the same step in every run, and again on four), without MOVE
 * and without UIDPLUS.  Every kill is checked against the same expected
 * sides, written by hand per scenario.  The server's side is read from
 * Dovecot's Maildir files, and every ORACLE_EVERY-th time also through
 * doveadm, which must agree; Dovecot's log must show no error (restored
 * index files included).  Worlds and servers live on /dev/shm when it
 * exists: the crash here is a process's death, which the page cache
 * survives, so fsync() changes nothing tested and costs nothing there.
 *
 * Tiers: the CI tier (suite e2e) runs groups of K_CI messages; with
 * --extended (suite extended) groups of K_EXTENDED, and each resume is
 * itself killed once early (in its replay of the first run's intents)
 * before a last run.  Both kill at every step; under the sanitizers
 * (TIDEMAIL_SANITIZED=1) the CI tier kills at every STRIDE_SANITIZED-th
 * step to stay within its time.
 *
 * Debugging: TIDEMAIL_CRASH_ONLY=name, TIDEMAIL_CRASH_VERBOSE=1 (steps
 * and timings), TIDEMAIL_CRASH_TRACE=n (IMAP trace of the resume after
 * step n), TIDEMAIL_CRASH_K / _STRIDE / _DOUBLE / _ORACLE override the
 * tier.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crash-scenarios.h"
#include "crash-view.h"
#include "world.h"

enum {
	K_CI = 5, K_EXTENDED = 32, STRIDE_SANITIZED = 3, ORACLE_EVERY = 8,
	DOUBLE_SPAN = 6, /* the second kill falls on one of the resume's first steps */
};

struct tally {
	unsigned scenarios, points, steps;
	unsigned lost, duplicated, divergent, not_quiet;
	unsigned failed; /* resumed runs that did not go through */
	unsigned unreached; /* children whose run ended before step n */
	unsigned oracle;    /* server sides also read through doveadm */
	unsigned dovecot_errors; /* error lines in the server's log */
	unsigned double_kills;   /* resumes killed too (extended tier) */
};

static struct tally tally;
/* The scenario under way, freed by the teardown if a check failed. */
static struct world *cur_world;
static struct world_snap *cur_snap;

static unsigned group_k = K_CI, stride = 1;
static bool double_kill;
static unsigned base_seq;
/* Where worlds and servers live: a tmpfs when there is one.  The crash
 * here is a process's death, which the page cache survives, so fsync()
 * changes nothing that is tested, and on a tmpfs it costs nothing. */
static const char *tmp_dir = "/tmp";

/* Reports of what went wrong: the first few in full. */
static unsigned reports;

static void report(const char *fmt, ...) UTIL_PRINTF(1, 2);
static void report(const char *fmt, ...)
{
	if (++reports > 40)
		return;
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

struct steps {
	unsigned n;
	unsigned die_at; /* 0: never */
};

static bool verbose; /* TIDEMAIL_CRASH_VERBOSE=1: the steps by name */

static void on_step(void *ctx, const char *step)
{
	struct steps *s = ctx;
	/* Folders synced on several connections step on several threads. */
	if (__atomic_add_fetch(&s->n, 1, __ATOMIC_SEQ_CST) == s->die_at)
		_exit(77);
	if (!s->die_at && verbose)
		printf("  step %u: %s\n", s->n, step);
}

/* ---- a quiet run ---------------------------------------------------------- */

struct quiet {
	char *first; /* the first mutating command */
};

static bool mutating(const char *line)
{
	static const char *const verbs[] = {
		"APPEND", "STORE", "EXPUNGE", "MOVE", "COPY", "CREATE",
		"DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE",
	};
	if (strncmp(line, "C: ", 3))
		return false;
	const char *p = line + 3;
	p += strcspn(p, " "); /* the tag */
	p += strspn(p, " ");
	if (!strncasecmp(p, "UID ", 4))
		p += 4;
	size_t len = strcspn(p, " ");
	for (size_t i = 0; i < UTIL_ARRAY_LEN(verbs); i++)
		if (len == strlen(verbs[i]) && !strncasecmp(p, verbs[i], len))
			return true;
	return false;
}

static void on_trace(void *ctx, const char *line)
{
	struct quiet *q = ctx;
	if (!q->first && mutating(line))
		q->first = xstrdup(line);
}

/* Runs a sync that should change nothing; NULL if it did not, else why. */
static char *quiet_run(struct world *w, const char *base)
{
	char *before = crash_view_local(w, base);
	struct quiet q = {NULL};
	struct sync_opts o = {.trace = on_trace, .trace_ctx = &q};
	int r = world_sync(w, &o);
	const struct sync_counts *c = &w->rep.counts;
	char *why = NULL;
	if (r != 0 || w->rep.folders_failed || w->rep.folders_refused)
		why = xasprintf("the run failed: %s", w->err.msg ? w->err.msg : "a folder");
	else if (q.first)
		why = xasprintf("it sent %s", q.first);
	else if (w->rep.local_changed || w->rep.changes.n)
		why = xasprintf("it changed the Maildir (%zu paths)", w->rep.changes.n);
	else if (c->downloaded || c->uploaded || c->local_flags || c->remote_flags ||
		 c->deleted_local || c->deleted_remote || c->folders_created ||
		 c->folders_deleted || c->folders_renamed || c->moved_local ||
		 c->moved_remote)
		why = xstrdup("it counted changes");
	if (!why) {
		char *after = crash_view_local(w, base);
		if (strcmp(before, after))
			why = xasprintf("the Maildir went from \"%s\" to \"%s\"", before, after);
		free(after);
	}
	free(q.first);
	free(before);
	return why;
}

/* ---- one scenario ----------------------------------------------------------- */


/* The server's side: from Dovecot's files, and at every ORACLE_EVERY-th
 * call also through doveadm, which must agree. */
static unsigned oracle_every = ORACLE_EVERY; /* TIDEMAIL_CRASH_ORACLE=1: always */

static char *server_side(struct world *w, const char *base, bool always)
{
	static unsigned calls;
	char *files = crash_view_server_files(w, base);
	if (calls++ % oracle_every == 0 || always) {
		char *oracle = crash_view_server(w, base);
		if (strcmp(files, oracle))
			fail_msg("Dovecot's files say \"%s\", doveadm \"%s\"", files, oracle);
		free(oracle);
		tally.oracle++;
	}
	return files;
}

/* What both sides must hold after the run. */
struct want {
	char *server, *local;
};

/* Compares both sides with want after a resume; adds to the tally. */
static void judge(struct world *w, const char *base, const struct want *want,
		  const char *name, unsigned n, unsigned steps)
{
	char *server = server_side(w, base, false), *local = crash_view_local(w, base);
	unsigned lost_s, dup_s, lost_l, dup_l;
	crash_view_count(want->server, server, &lost_s, &dup_s);
	crash_view_count(want->local, local, &lost_l, &dup_l);
	tally.lost += lost_s + lost_l;
	tally.duplicated += dup_s + dup_l;
	if (strcmp(server, want->server) || strcmp(local, want->local)) {
		tally.divergent++;
		report("%s, killed at step %u of %u: server \"%s\", Maildir \"%s\", "
		       "want \"%s\" and \"%s\"", name, n, steps, server, local,
		       want->server, want->local);
	}
	free(server);
	free(local);
	char *why = quiet_run(w, base);
	if (why) {
		tally.not_quiet++;
		report("%s, killed at step %u of %u: the next run was not quiet: %s", name,
		       n, steps, why);
		free(why);
	}
}

/* Removes the scenario's folders from the server, so that snapshots of
 * later scenarios stay small. */
static void drop_folders(struct harness *h, const char *base)
{
	char **names;
	size_t n;
	struct error err = ERROR_INIT;
	if (harness_mailbox_list(h, NULL, &names, &n, &err) < 0)
		fail_msg("%s", err.msg);
	size_t len = strlen(base);
	for (size_t i = 0; i < n; i++)
		if (!strncmp(names[i], base, len) && names[i][len] == '-' &&
		    harness_mailbox_delete(h, NULL, names[i], &err) < 0)
			fail_msg("%s", err.msg);
	harness_strv_free(names, n);
}

/* One point: restore, die at step n in a child, resume, judge. */
static void print_trace(void *ctx, const char *line)
{
	printf("    %s\n", line);
}

/* CPU seconds of this process and its reaped children. */
static double cpu(void)
{
	struct rusage a, b;
	getrusage(RUSAGE_SELF, &a);
	getrusage(RUSAGE_CHILDREN, &b);
	return (double)(a.ru_utime.tv_sec + a.ru_stime.tv_sec + b.ru_utime.tv_sec +
			b.ru_stime.tv_sec) +
	       (double)(a.ru_utime.tv_usec + a.ru_stime.tv_usec + b.ru_utime.tv_usec +
			b.ru_stime.tv_usec) / 1e6;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Runs a sync in a child that dies at its n-th step; false if the run
 * ended before.  The killed session ends on the server before this
 * returns, so that what follows always starts from the same place. */
static bool die_at(struct world *w, const struct crash_scenario *sc, unsigned n)
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct steps die = {0, n};
		struct sync_opts o = {.step = on_step, .step_ctx = &die};
		world_sync(w, &o);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || (WEXITSTATUS(status) != 77 && WEXITSTATUS(status) != 0))
		fail_msg("%s: the child stopped at step %u with status %d", sc->name, n,
			 status);
	world_server_idle(w->h);
	return WEXITSTATUS(status) == 77;
}

static void kill_and_resume(struct world *w, const struct world_snap *snap,
			    const char *base, const struct want *want,
			    const struct crash_scenario *sc, unsigned n, unsigned steps)
{
	double t0 = now(), c0 = cpu();
	world_restore(w, snap);
	double t1 = now(), c1 = cpu();
	tally.unreached += !die_at(w, sc, n);
	tally.points++;
	/* The extended tier also kills the first resume early (in its
	 * replay of what the first run left), then resumes again. */
	if (double_kill)
		tally.double_kills += die_at(w, sc, 1 + n % DOUBLE_SPAN);
	double t2 = now(), c2 = cpu();
	/* TIDEMAIL_CRASH_TRACE=n: the resume's IMAP trace after step n. */
	const char *tr = getenv("TIDEMAIL_CRASH_TRACE");
	struct sync_opts ro = {0};
	if (tr && strtoul(tr, NULL, 10) == n) {
		ro.trace = print_trace;
		ro.trace_ctx = NULL;
	}
	int r = world_sync(w, &ro);
	double t4 = now(), c4 = cpu();
	if (r != 0 || w->rep.folders_failed || w->rep.folders_refused) {
		tally.failed++;
		report("%s, killed at step %u of %u: the resumed run failed: %s", sc->name,
		       n, steps, w->err.msg ? w->err.msg : "a folder");
	}
	judge(w, base, want, sc->name, n, steps);
	if (verbose)
		printf("  point %u: seconds restore %.3f kill %.3f resume %.3f judge %.3f; "
		       "cpu restore %.3f kill %.3f resume %.3f judge %.3f\n",
		       n, t1 - t0, t2 - t1, t4 - t2, now() - t4, c1 - c0, c2 - c1,
		       c4 - c2, cpu() - c4);
}

static void run_scenario(struct harness *h, const struct crash_scenario *sc,
			 unsigned connections)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char *base = xasprintf("X%u", ++base_seq);
	char *glob = xasprintf("%s-*", base);
	/* Guards are tested elsewhere: here whole groups go at once. */
	char *extra = xasprintf("    sync: {max_delete: 100%%%s%s}\n", sc->sync ? ", " : "",
				sc->sync ? sc->sync : "");
	struct world_conf wc = {.extra = extra, .connections = connections, .plain = true,
				.tmp = tmp_dir};
	struct world *w = world_new_conf(h, glob, &wc);
	cur_world = w;
	free(extra);
	sc->prepare(w, base, group_k);
	world_use(w, glob, false);
	struct world_snap *snap = world_snapshot(w);
	cur_snap = snap;
	struct want want = {crash_view_expand(sc->want, group_k),
			    crash_view_expand(sc->want_local ? sc->want_local : sc->want,
					      group_k)};

	/* Uninterrupted, counting the steps: the result every point must
	 * reach. */
	struct steps count = {0, 0};
	struct sync_opts o = {.step = on_step, .step_ctx = &count};
	int r = world_sync(w, &o);
	if (r != 0 || w->rep.folders_failed || w->rep.folders_refused)
		fail_msg("%s: %s", sc->name, w->err.msg ? w->err.msg : "a folder failed");
	char *server = server_side(w, base, true), *local = crash_view_local(w, base);
	if (strcmp(server, want.server) || strcmp(local, want.local))
		fail_msg("%s uninterrupted: server \"%s\", Maildir \"%s\", want \"%s\" "
			 "and \"%s\"", sc->name, server, local, want.server, want.local);
	free(server);
	free(local);
	char *why = quiet_run(w, base);
	if (why)
		fail_msg("%s uninterrupted: the next run was not quiet: %s", sc->name, why);

	unsigned points = 0;
	for (unsigned n = 1; n <= count.n; n += stride, points++)
		kill_and_resume(w, snap, base, &want, sc, n, count.n);
	tally.scenarios++;
	tally.steps += count.n;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%-22s %3u steps, %3u points, %5.1f s: %s\n", sc->name, count.n, points,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	       sc->row);
	fflush(stdout);

	free(want.server);
	free(want.local);
	world_snap_free(snap);
	world_free(w);
	cur_snap = NULL;
	cur_world = NULL;
	drop_folders(h, base);
	free(glob);
	free(base);
}

/* ---- the servers -------------------------------------------------------------- */

/* Lines of the server's log that say something went wrong. */
static unsigned dovecot_errors(struct harness *h)
{
	FILE *f = fopen(h->log_file, "r");
	if (!f)
		fail_msg("cannot read %s", h->log_file);
	unsigned n = 0;
	char line[4096];
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "Error:") || strstr(line, "Panic:") ||
		    strstr(line, "Fatal:") || strcasestr(line, "corrupt")) {
			report("dovecot: %s", line);
			n++;
		}
	fclose(f);
	return n;
}

static void run_on(void **state, unsigned on)
{
	struct harness *h = *state;
	if (!h->pid)
		skip();
	unsigned before = tally.lost + tally.duplicated + tally.divergent +
			  tally.not_quiet + tally.failed + tally.dovecot_errors;
	/* TIDEMAIL_CRASH_ONLY=name runs one scenario, for debugging. */
	const char *only = getenv("TIDEMAIL_CRASH_ONLY");
	for (size_t i = 0; i < crash_n_scenarios; i++)
		if ((crash_scenarios[i].on & on) &&
		    (!only || !strcmp(only, crash_scenarios[i].name)))
			run_scenario(h, &crash_scenarios[i], on == CRASH_ON_PARALLEL ? 4 : 1);
	/* Restored files must not upset Dovecot: no index it calls
	 * corrupted, no error of its own. */
	tally.dovecot_errors += dovecot_errors(h);
	unsigned after = tally.lost + tally.duplicated + tally.divergent +
			 tally.not_quiet + tally.failed + tally.dovecot_errors;
	if (after != before)
		fail_msg("%u bad points (above)", after - before);
}

static void every_step_plain(void **state)
{
	run_on(state, CRASH_ON_PLAIN);
}

/* Folders on several connections: the steps of one run interleave
 * differently from run to run, so step n is not always the same one. */
static void every_step_parallel(void **state)
{
	run_on(state, CRASH_ON_PARALLEL);
}

static void every_step_no_move(void **state)
{
	run_on(state, CRASH_ON_NO_MOVE);
}

static void every_step_no_uidplus(void **state)
{
	run_on(state, CRASH_ON_NO_UIDPLUS);
}

static int setup_plain(void **state)
{
	struct harness_opts opts = {.fast_login = true};
	return world_setup(state, &opts);
}

static int setup_no_move(void **state)
{
	struct harness_opts opts = {.no_move = true, .fast_login = true};
	return world_setup(state, &opts);
}

static int setup_no_uidplus(void **state)
{
	struct harness_opts opts = {.no_uidplus = true, .fast_login = true};
	return world_setup(state, &opts);
}

static int teardown(void **state)
{
	world_snap_free(cur_snap);
	if (cur_world)
		world_free(cur_world);
	cur_snap = NULL;
	cur_world = NULL;
	return world_teardown(state);
}

int main(int argc, char **argv)
{
	const char *san = getenv("TIDEMAIL_SANITIZED");
	bool extended = argc > 1 && !strcmp(argv[1], "--extended");
	if (extended) {
		group_k = K_EXTENDED;
		double_kill = true;
	}
	else if (san && !strcmp(san, "1"))
		stride = STRIDE_SANITIZED;
	verbose = getenv("TIDEMAIL_CRASH_VERBOSE") != NULL;
	if (getenv("TIDEMAIL_CRASH_ORACLE"))
		oracle_every = 1;
	/* For sizing the tiers: TIDEMAIL_CRASH_K (group size) and
	 * TIDEMAIL_CRASH_STRIDE override the tier's. */
	const char *k = getenv("TIDEMAIL_CRASH_K"), *st = getenv("TIDEMAIL_CRASH_STRIDE");
	if (getenv("TIDEMAIL_CRASH_DOUBLE"))
		double_kill = true;
	if (k && strtoul(k, NULL, 10) > 0)
		group_k = (unsigned)strtoul(k, NULL, 10);
	if (st && strtoul(st, NULL, 10) > 0)
		stride = (unsigned)strtoul(st, NULL, 10);
	if (access("/dev/shm", W_OK | X_OK) == 0) {
		tmp_dir = "/dev/shm";
		/* The harness makes its server's directory in $TMPDIR. */
		setenv("TMPDIR", tmp_dir, 1);
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);

	const struct CMUnitTest plain[] = {cmocka_unit_test(every_step_plain),
					   cmocka_unit_test(every_step_parallel)};
	const struct CMUnitTest no_move[] = {cmocka_unit_test(every_step_no_move)};
	const struct CMUnitTest no_uidplus[] = {cmocka_unit_test(every_step_no_uidplus)};
	int failed = cmocka_run_group_tests_name("crash at every step", plain,
						 setup_plain, teardown);
	failed += cmocka_run_group_tests_name("crash at every step, no MOVE", no_move,
					      setup_no_move, teardown);
	failed += cmocka_run_group_tests_name("crash at every step, no UIDPLUS",
					      no_uidplus, setup_no_uidplus, teardown);

	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("figures: crash tier=%s group=%u stride=%u scenarios=%u steps=%u points=%u "
	       "lost=%u duplicated=%u divergent=%u not-quiet=%u failed-resume=%u "
	       "unreached=%u double-kills=%u doveadm-checks=%u dovecot-errors=%u "
	       "seconds=%.0f\n",
	       extended ? "extended" : "ci", group_k, stride, tally.scenarios, tally.steps,
	       tally.points, tally.lost, tally.duplicated, tally.divergent, tally.not_quiet,
	       tally.failed, tally.unreached, tally.double_kills, tally.oracle,
	       tally.dovecot_errors, secs);
	return failed;
}
