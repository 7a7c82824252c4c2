/* SPDX-License-Identifier: MIT */
/* Schema migrations from hand-built older files, their all-or-nothing
 * transaction, and the files the state refuses to touch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "state-private.h"
#include "store-test.h"

struct fixture {
	char *dir, *path;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	f->dir = st_tmpdir();
	f->path = xasprintf("%s/acct.db", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	st_rmtree(f->dir);
	free(f->dir);
	free(f->path);
	free(f);
	return 0;
}

/* Runs a migration list on the file with a plain connection. */
static int migrate(const char *path, const struct state_migration *steps,
		   size_t n, struct error *err)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	int r = state_migrate(db, path, steps, n, err);
	sqlite3_close(db);
	return r;
}

/* A version 1 file with one folder, written as an old tidemail would. */
static void make_v1(const char *path)
{
	struct error err = ERROR_INIT;
	assert_int_equal(migrate(path, state_migrations, 1, &err), 0);
	st_exec_sql(path, "INSERT INTO folders (remote, local, uidvalidity)"
		       " VALUES ('INBOX', 'INBOX', 7)");
	assert_int_equal(st_query_int(path, "PRAGMA user_version"), 1);
}

static void empty_v0_file_is_adopted(void **state)
{
	struct fixture *f = *state;
	/* An empty SQLite file: version 0, no application id, no tables. */
	st_exec_sql(f->path, "PRAGMA user_version = 0");
	struct state *st;
	struct error err = ERROR_INIT;
	assert_int_equal(state_open(f->path, &st, &err), 0);
	state_close(st);
	assert_int_equal(st_query_int(f->path, "PRAGMA user_version"), STATE_SCHEMA_VERSION);
	assert_int_equal(st_query_int(f->path, "PRAGMA application_id"), STATE_APPLICATION_ID);
	assert_int_equal(st_query_int(f->path, "SELECT count(*) FROM sqlite_schema"
					    " WHERE type = 'table'"), 3);
}

/* Hypothetical next versions, after the real ones. */
#define NEXT (STATE_SCHEMA_VERSION + 1)
static const struct state_migration good_next = {
	NEXT, "ALTER TABLE folders ADD COLUMN note TEXT NOT NULL DEFAULT 'none';"
	   "UPDATE folders SET note = 'migrated';"};
static const struct state_migration bad_next = {
	NEXT, "CREATE TABLE extra (a INTEGER);"
	   "UPDATE folders SET uidvalidity = 0;"
	   "INSERT INTO no_such_table VALUES (1);"};

/* Every real migration, then next: NEXT steps. */
static void real_then(struct state_migration *steps, struct state_migration next)
{
	assert_int_equal(state_migrations_count, STATE_SCHEMA_VERSION);
	for (size_t i = 0; i < state_migrations_count; i++)
		steps[i] = state_migrations[i];
	steps[NEXT - 1] = next;
}

/* The real migration 4: the count of rows with a UID starts from the
 * rows already there. */
static void v1_folders_get_with_uid(void **state)
{
	struct fixture *f = *state;
	make_v1(f->path);
	st_exec_sql(f->path, "INSERT INTO messages (folder_id, uid, local_name)"
		       " VALUES (1, 5, 'u5'), (1, 6, NULL), (1, NULL, 'u7')");
	struct state *st;
	struct error err = ERROR_INIT;
	assert_int_equal(state_open(f->path, &st, &err), 0);
	size_t n = 0;
	assert_int_equal(state_msg_count(st, 1, &n, &err), 0);
	assert_int_equal(n, 2);
	state_close(st);
}

/* The real migration 2: each side's flags apart, the old agreed flags
 * becoming both. */
static void v1_messages_get_local_flags(void **state)
{
	struct fixture *f = *state;
	make_v1(f->path);
	st_exec_sql(f->path, "INSERT INTO messages (folder_id, uid, local_name, flags)"
		       " VALUES (1, 5, 'u5', 18)");
	struct state *st;
	struct error err = ERROR_INIT;
	assert_int_equal(state_open(f->path, &st, &err), 0);
	struct state_msg m;
	assert_int_equal(state_msg_by_uid(st, 1, 5, &m, &err), 1);
	assert_int_equal(m.flags, 18);
	assert_int_equal(m.local_flags, 18);
	state_msg_release(&m);
	state_close(st);
	assert_int_equal(st_query_int(f->path, "PRAGMA user_version"), STATE_SCHEMA_VERSION);
}

static void v1_file_upgrades_keeping_its_rows(void **state)
{
	struct fixture *f = *state;
	make_v1(f->path);
	struct state_migration steps[NEXT];
	real_then(steps, good_next);
	struct error err = ERROR_INIT;
	assert_int_equal(migrate(f->path, steps, NEXT, &err), 0);
	assert_int_equal(st_query_int(f->path, "PRAGMA user_version"), NEXT);
	assert_int_equal(st_query_int(f->path, "SELECT uidvalidity FROM folders"
					    " WHERE note = 'migrated' AND remote = 'INBOX'"), 7);
	/* Running it again finds nothing to do. */
	assert_int_equal(migrate(f->path, steps, NEXT, &err), 0);
	assert_int_equal(st_query_int(f->path, "SELECT count(*) FROM folders"), 1);

	/* This tidemail does not know the next version: the file is refused. */
	struct state *st;
	assert_int_equal(state_open(f->path, &st, &err), -ERR_ACCOUNT);
	char *want = xasprintf("schema version %d is newer than this tidemail knows (%d)",
			       NEXT, STATE_SCHEMA_VERSION);
	assert_non_null(strstr(err.msg, want));
	free(want);
	error_clear(&err);
}

static void failed_migration_changes_nothing(void **state)
{
	struct fixture *f = *state;
	make_v1(f->path);
	struct state_migration steps[NEXT];
	real_then(steps, bad_next);
	struct error err = ERROR_INIT;
	assert_int_equal(migrate(f->path, steps, NEXT, &err), -ERR_ACCOUNT);
	char *want = xasprintf("migration to version %d: no such table: no_such_table", NEXT);
	assert_non_null(strstr(err.msg, want));
	free(want);
	error_clear(&err);
	assert_int_equal(st_query_int(f->path, "PRAGMA user_version"), 1);
	assert_int_equal(st_query_int(f->path, "SELECT count(*) FROM sqlite_schema"
					    " WHERE name = 'extra'"), 0);
	assert_int_equal(st_query_int(f->path, "SELECT uidvalidity FROM folders"), 7);
	/* And the file still opens as it was. */
	struct state *st;
	assert_int_equal(state_open(f->path, &st, &err), 0);
	state_close(st);
}

static void refuses_foreign_files(void **state)
{
	struct fixture *f = *state;
	struct state *st = NULL;
	struct error err = ERROR_INIT;

	st_exec_sql(f->path, "PRAGMA application_id = 1234");
	assert_int_equal(state_open(f->path, &st, &err), -ERR_ACCOUNT);
	assert_non_null(strstr(err.msg, "not a tidemail state file (application id 0x4d2)"));
	assert_null(st);
	error_clear(&err);
	st_rmtree(f->path);

	st_exec_sql(f->path, "CREATE TABLE notes (x TEXT)");
	assert_int_equal(state_open(f->path, &st, &err), -ERR_ACCOUNT);
	assert_non_null(strstr(err.msg, "not a tidemail state file (no application id)"));
	error_clear(&err);
	/* It was not turned into WAL or otherwise touched. */
	assert_int_equal(st_query_int(f->path, "SELECT count(*) FROM notes"), 0);
	st_rmtree(f->path);

	st_write(f->path, "this is not a database, just text that is long enough "
			  "to fill a header of one hundred bytes or so, really.");
	assert_int_equal(state_open(f->path, &st, &err), -ERR_ACCOUNT);
	assert_non_null(strstr(err.msg, "file is not a database"));
	error_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(empty_v0_file_is_adopted, setup, teardown),
		cmocka_unit_test_setup_teardown(v1_folders_get_with_uid, setup, teardown),
		cmocka_unit_test_setup_teardown(v1_messages_get_local_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(v1_file_upgrades_keeping_its_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(failed_migration_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(refuses_foreign_files, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
