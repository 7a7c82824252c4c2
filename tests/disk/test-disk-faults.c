/* SPDX-License-Identifier: MIT */
/*
 * ENOSPC and EIO at the k-th write, fsync, rename or creating open of a
 * real `tidemail sync` (fault-shim preloaded), against the harness
 * Dovecot.  Two scenarios: a first sync into an empty Maildir and state,
 * and a sync of every kind of change after a converged one.  After each
 * faulted run:
 *   - exit 1 with one line on stderr naming the cause; or exit 0 when the
 *     fault hit the state folder and SQLite or the lock rightly survived
 *     it (a checkpoint at close, a directory fsync SQLite ignores, the pid
 *     written into the lock file): counted as absorbed.  A fault on the
 *     Maildir is never absorbed: mail was not written.
 *   - no file in new/ or cur/ that is not a whole message,
 *   - PRAGMA quick_check says ok,
 *   - no state row pairs a UID with a file that is not there,
 * then a run without faults exits 0 silently, both sides hold exactly the
 * expected messages and flags, and another sync changes nothing.
 *
 * ENOSPC is sticky (every later call of the kind fails too, as on a full
 * disk); EIO hits one call.  In the CI tier a spread of k is tried for
 * each kind; with the argument "all" (the extended tier) every k.
 *
 * Arguments: the tidemail binary, fault-shim, and optionally "all".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "disk.h"
#include "maildir.h"
#include "util.h"

/* k values tried per kind and errno in each scenario of the CI tier. */
#define CI_KS 3
#define CI_KS_SANITIZED 2

static struct disk_env env;
static bool every_k;
static struct disk_tally tally;

struct ctx {
	struct world *w;
	struct disk_expect x;
	char *state_dir;
	unsigned round;
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) < 0 ? -1 : 0;
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void ctx_init(struct ctx *c, struct harness *h, const char *folder)
{
	if (!harness_available())
		skip();
	memset(c, 0, sizeof(*c));
	c->w = world_new(h, folder, NULL);
	c->state_dir = xasprintf("%s/state", c->w->dir);
	disk_config(&env, c->w, c->state_dir);
}

static void ctx_release(struct ctx *c)
{
	disk_expect_release(&c->x);
	world_free(c->w);
	free(c->state_dir);
	disk_env_release(&env);
}

/* A run without faults: exit 0, nothing said; then both sides are the
 * expected ones and a further sync is a no-op. */
static void converge(struct ctx *c, const char *what)
{
	struct disk_run r;
	disk_run(&env, NULL, &r);
	if (r.status != 0 || r.err[0]) {
		tally.bad_exits++;
		print_message("%s, rerun: exit %d: %s", what, r.status, r.err);
	}
	disk_run_release(&r);
	disk_check(&tally, env.state_db, c->w, &c->x, what);
	if (!disk_compare(c->w, &c->x, &tally))
		fail_msg("%s: the rerun did not converge", what);
	world_assert_quiet(c->w);
}

/* One faulted run (fault "KIND:K:ERRNO[:sticky]"), its checks, and the
 * rerun.  Returns false when k was past the last call of the kind. */
static bool fault_case(struct ctx *c, enum disk_kind kind, int e, unsigned long k)
{
	char *spec = xasprintf("%s:%lu:%d%s", disk_kind_names[kind], k, e,
			       e == ENOSPC ? ":sticky" : "");
	struct disk_run r;
	disk_run(&env, spec, &r);
	bool hit = r.injected > 0;
	if (!hit && r.status != 0)
		fail_msg("%s: not injected, yet exit %d: %s", spec, r.status, r.err);
	if (hit) {
		tally.cases++;
		tally.enospc += e == ENOSPC;
		tally.eio += e == EIO;
		if (r.status == 0 && disk_under(r.target, c->state_dir)) {
			tally.absorbed++;
			printf("absorbed: %s on %s\n", spec, r.target);
		} else if (!disk_run_one_line_error(&r, e, c->state_dir)) {
			tally.bad_exits++;
			print_message("%s (hit %s): exit %d, stderr: %s", spec,
				      r.target ? r.target : "?", r.status, r.err);
		}
	}
	disk_run_release(&r);
	disk_check(&tally, env.state_db, c->w, &c->x, spec);
	converge(c, spec);
	if (hit)
		tally.converged++;
	free(spec);
	return hit;
}

/* The k to try for a kind that made calls calls in a clean run: all of
 * them, or the first and an even spread after it. */
static size_t pick_ks(unsigned long calls, unsigned long **ks_r)
{
	unsigned long *ks = xcalloc(calls + 1, sizeof(*ks));
	size_t n = 0;
	const char *san = getenv("TIDEMAIL_SANITIZED");
	unsigned long want = san && !strcmp(san, "1") ? CI_KS_SANITIZED : CI_KS;
	if (every_k || calls <= want) {
		for (unsigned long k = 1; k <= calls; k++)
			ks[n++] = k;
	} else {
		/* The last calls are mostly the state's checkpoint at close,
		 * which SQLite rightly survives: the spread stops short. */
		for (unsigned long i = 0; i < want; i++)
			ks[n++] = 1 + (calls - 1) * i / want;
	}
	*ks_r = ks;
	return n;
}

typedef void (*prepare_fn)(struct ctx *c);

/* Probes the scenario once without faults, then runs it into each fault
 * kind, errno and k. */
static void run_matrix(struct ctx *c, prepare_fn prepare)
{
	static const int errnos[] = {ENOSPC, EIO};
	prepare(c);
	struct disk_run probe;
	disk_run(&env, NULL, &probe);
	if (probe.status != 0)
		fail_msg("a run without faults: exit %d: %s", probe.status, probe.err);
	unsigned long calls[DISK_KINDS];
	memcpy(calls, probe.calls, sizeof(calls));
	disk_run_release(&probe);
	converge(c, "probe");
	for (int kind = 0; kind < DISK_KINDS; kind++) {
		unsigned long *ks;
		size_t n = pick_ks(calls[kind], &ks);
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < UTIL_ARRAY_LEN(errnos); j++) {
				prepare(c);
				fault_case(c, (enum disk_kind)kind, errnos[j], ks[i]);
			}
		free(ks);
	}
}

/* n messages on the server, named prefix0, prefix1... */
static void server_base(struct ctx *c, const char *prefix, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		char *name = xasprintf("%s%u", prefix, i);
		disk_server_add(c->w, &c->x, name);
		free(name);
	}
}

/* ---- a first sync ------------------------------------------------------- */

static void prepare_fresh(struct ctx *c)
{
	rm_tree(c->w->root);
	rm_tree(c->state_dir);
}

static void first_sync(void **state)
{
	struct ctx c;
	ctx_init(&c, *state, "DiskFresh");
	server_base(&c, "f", 12);
	run_matrix(&c, prepare_fresh);
	ctx_release(&c);
}

/* ---- every kind of change ----------------------------------------------- */

/* Two downloads, two uploads, a flag change on each side, a deletion on
 * each side: the four oldest expected messages are the ones changed. */
static void prepare_changes(struct ctx *c)
{
	struct world *w = c->w;
	unsigned r = c->round++;
	char *victims[4];
	for (int i = 0; i < 4; i++)
		victims[i] = xstrdup(c->x.names[i]);
	server_flags(w, victims[0], "\\Flagged");
	disk_expect_set(&c->x, victims[0], "F");
	local_flags(w, victims[1], "S");
	disk_expect_set(&c->x, victims[1], "S");
	server_expunge(w, victims[2]);
	disk_expect_remove(&c->x, victims[2]);
	local_remove(w, victims[3]);
	disk_expect_remove(&c->x, victims[3]);
	for (int i = 0; i < 2; i++) {
		char *s = xasprintf("s%u_%d", r, i), *l = xasprintf("l%u_%d", r, i);
		disk_server_add(w, &c->x, s);
		disk_local_add(w, &c->x, l);
		free(s);
		free(l);
	}
	for (int i = 0; i < 4; i++)
		free(victims[i]);
}

static void changes(void **state)
{
	struct ctx c;
	ctx_init(&c, *state, "DiskChanges");
	server_base(&c, "b", 10);
	converge(&c, "base");
	run_matrix(&c, prepare_changes);
	ctx_release(&c);
}

/* ---- the checks themselves --------------------------------------------- */

static void put(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
}

static void sql(const char *db, const char *text)
{
	sqlite3 *h;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, text, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}

/* Each check finds what it looks for: a shortened message, a message
 * with a byte changed, a state row whose file is missing, a damaged
 * database.  Without this, zeros above could mean blind checks. */
static void checks_can_fail(void **state)
{
	char *dir = xstrdup("/tmp/tm-disk-checks-XXXXXX");
	assert_non_null(mkdtemp(dir));
	char *folder = xasprintf("%s/Box", dir), *db = xasprintf("%s/t.db", dir);
	struct error err = ERROR_INIT;
	assert_int_equal(maildir_folder_create(folder, &err), 0);
	char *text = disk_message("m1", "\r\n");
	size_t len = strlen(text);
	char *whole = xasprintf("%s/cur/1.m1:2,S", folder);
	put(whole, text, len);
	assert_int_equal(disk_partial_files(dir), 0);
	char *cut = xasprintf("%s/new/2.m1", folder);
	put(cut, text, len - 1);
	assert_int_equal(disk_partial_files(dir), 1);
	text[len / 2] ^= 1;
	put(cut, text, len);
	assert_int_equal(disk_partial_files(dir), 1);
	/* Left in tmp/, a part is invisible, as it should be. */
	char *tmp = xasprintf("%s/tmp/3.m1", folder);
	assert_int_equal(rename(cut, tmp), 0);
	assert_int_equal(disk_partial_files(dir), 0);

	struct disk_expect x = {0};
	disk_expect_set(&x, "m1", "S");
	disk_expect_set(&x, "m2", "");
	sql(db, "CREATE TABLE folders (id INTEGER PRIMARY KEY, local TEXT);"
		"CREATE TABLE messages (id INTEGER PRIMARY KEY, folder_id INTEGER,"
		" uid INTEGER, local_name TEXT, message_id TEXT);"
		"INSERT INTO folders VALUES (1, 'Box');"
		"INSERT INTO messages VALUES (1, 1, 1, '1.m1', '<m1@test>');"
		"INSERT INTO messages VALUES (2, 1, 2, '9.m2', '<m2@test>');"
		/* Not expected (deleted by the test): may point nowhere. */
		"INSERT INTO messages VALUES (3, 1, 3, '8.m3', '<m3@test>');");
	assert_int_equal(disk_state_ahead(db, dir, &x), 1);
	assert_true(disk_quick_check(db));
	/* Garbage over the whole second page (the folders table; pages
	 * are 4 kB). */
	FILE *f = fopen(db, "r+");
	assert_non_null(f);
	assert_int_equal(fseek(f, 4096, SEEK_SET), 0);
	for (int i = 0; i < 4096; i++)
		fputc(0x5a, f);
	fclose(f);
	assert_false(disk_quick_check(db));

	disk_expect_release(&x);
	free(text);
	free(whole);
	free(cut);
	free(tmp);
	free(folder);
	free(db);
	rm_tree(dir);
	free(dir);
}

static void figures(void **state)
{
	disk_tally_print("diskfault", &tally);
	disk_tally_assert(&tally);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s TIDEMAIL FAULT-SHIM [all]\n", argv[0]);
		return 2;
	}
	env.tidemail = argv[1];
	env.shim = argv[2];
	every_k = argc > 3 && !strcmp(argv[3], "all");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(checks_can_fail),
		cmocka_unit_test(first_sync),
		cmocka_unit_test(changes),
		cmocka_unit_test(figures),
	};
	return cmocka_run_group_tests(tests, disk_setup, world_teardown);
}
