/* SPDX-License-Identifier: MIT */
/* The state file: creation, pragmas, folders, messages and their
 * lookups, transactions, and the intent log replayed after a kill. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "maildir.h"
#include "state.h"
#include "store-test.h"

struct fixture {
	char *dir, *path;
	struct state *st;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	f->dir = st_tmpdir();
	f->path = xasprintf("%s/sub/dir/acct.db", f->dir);
	struct error err = ERROR_INIT;
	assert_int_equal(state_open(f->path, &f->st, &err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	state_close(f->st);
	st_rmtree(f->dir);
	free(f->dir);
	free(f->path);
	free(f);
	return 0;
}

static void creates_private_file_with_header(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	char *dir = xasprintf("%s/sub/dir", f->dir);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	free(dir);
	assert_int_equal(st_query_int(f->path, "PRAGMA application_id"), STATE_APPLICATION_ID);
	assert_int_equal(st_query_int(f->path, "PRAGMA user_version"), STATE_SCHEMA_VERSION);
	/* WAL is a property of the file, so another connection sees it. */
	sqlite3 *db;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	sqlite3_close(db);

	/* A group-readable file is made private again on open. */
	state_close(f->st);
	assert_int_equal(chmod(f->path, 0644), 0);
	struct error err = ERROR_INIT;
	assert_int_equal(state_open(f->path, &f->st, &err), 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void stores_folders(void **state)
{
	struct fixture *f = *state;
	struct error err = ERROR_INIT;
	int64_t a, b;
	assert_int_equal(state_folder_add(f->st, "Work/Sub", "Work/Sub", &a, &err), 0);
	assert_int_equal(state_folder_add(f->st, "INBOX", "INBOX", &b, &err), 0);
	assert_int_equal(state_folder_add(f->st, "INBOX", "Other", &b, &err), -ERR_FOLDER);
	assert_non_null(strstr(err.msg, "folder INBOX"));
	assert_non_null(strstr(err.msg, "UNIQUE"));
	error_clear(&err);

	struct state_folder fo;
	assert_int_equal(state_folder_get(f->st, "Work/Sub", &fo, &err), 1);
	assert_int_equal(fo.id, a);
	assert_int_equal(fo.uidvalidity, 0);
	fo.uidvalidity = 4000000000u;
	fo.uidnext = 77;
	fo.highestmodseq = UINT64_C(9000000000000000000);
	fo.stamp.new_ns = INT64_C(1700000000123456789);
	fo.stamp.cur_ns = INT64_C(1700000001987654321);
	fo.last_sync = 1700000002;
	free(fo.remote);
	fo.remote = xstrdup("Work/Renamed");
	assert_int_equal(state_folder_update(f->st, &fo, &err), 0);
	state_folder_release(&fo);
	assert_int_equal(state_folder_get(f->st, "Work/Sub", &fo, &err), 0);

	struct state_folder *list;
	size_t n;
	assert_int_equal(state_folder_list(f->st, &list, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].remote, "INBOX");
	assert_string_equal(list[1].remote, "Work/Renamed");
	assert_string_equal(list[1].local, "Work/Sub");
	assert_int_equal(list[1].uidvalidity, 4000000000u);
	assert_int_equal(list[1].uidnext, 77);
	assert_true(list[1].highestmodseq == UINT64_C(9000000000000000000));
	assert_true(list[1].stamp.new_ns == INT64_C(1700000000123456789));
	assert_true(list[1].stamp.cur_ns == INT64_C(1700000001987654321));
	assert_int_equal(list[1].last_sync, 1700000002);
	state_folders_free(list, n);

	struct state_folder ghost = {.id = 999, .remote = (char *)"x", .local = (char *)"x"};
	assert_int_equal(state_folder_update(f->st, &ghost, &err), -ERR_FOLDER);
	error_clear(&err);
}

static struct state_msg msg(int64_t folder, uint32_t uid, const char *local,
			    const char *message_id, const char *emailid)
{
	struct state_msg m = {
		.folder_id = folder, .uid = uid, .local = (char *)local,
		.flags = MAILDIR_FLAG_SEEN, .keywords = (char *)"$Junk work",
		.modseq = 12, .size = 3456, .message_id = (char *)message_id,
		.emailid = (char *)emailid, .internal_date = 1600000000,
	};
	return m;
}

static void stores_and_finds_messages(void **state)
{
	struct fixture *f = *state;
	struct error err = ERROR_INIT;
	int64_t fa, fb, id1, id2, id3, id4;
	assert_int_equal(state_folder_add(f->st, "A", "A", &fa, &err), 0);
	assert_int_equal(state_folder_add(f->st, "B", "B", &fb, &err), 0);
	struct state_msg m1 = msg(fa, 10, "u1", "<m1@x>", "E1");
	struct state_msg m2 = msg(fa, 5, "u2", "<dup@x>", NULL);
	struct state_msg m3 = msg(fa, 0, "u3", "<dup@x>", NULL);
	struct state_msg m4 = msg(fb, 10, NULL, NULL, "E4");
	m4.keywords = NULL;
	assert_int_equal(state_msg_insert(f->st, &m1, &id1, &err), 0);
	assert_int_equal(state_msg_insert(f->st, &m2, &id2, &err), 0);
	assert_int_equal(state_msg_insert(f->st, &m3, &id3, &err), 0);
	assert_int_equal(state_msg_insert(f->st, &m4, &id4, &err), 0);
	/* The same UID or unique part twice in a folder is refused. */
	int64_t idx;
	struct state_msg clash = msg(fa, 10, "other", NULL, NULL);
	assert_int_equal(state_msg_insert(f->st, &clash, &idx, &err), -ERR_MESSAGE);
	error_clear(&err);
	clash = msg(fa, 11, "u1", NULL, NULL);
	assert_int_equal(state_msg_insert(f->st, &clash, &idx, &err), -ERR_MESSAGE);
	error_clear(&err);
	/* Neither a UID nor a file: nothing to remember. */
	clash = msg(fa, 0, NULL, NULL, NULL);
	assert_int_equal(state_msg_insert(f->st, &clash, &idx, &err), -ERR_MESSAGE);
	error_clear(&err);

	struct state_msg got;
	assert_int_equal(state_msg_by_uid(f->st, fa, 10, &got, &err), 1);
	assert_int_equal(got.id, id1);
	assert_string_equal(got.local, "u1");
	assert_string_equal(got.keywords, "$Junk work");
	assert_int_equal(got.flags, MAILDIR_FLAG_SEEN);
	assert_int_equal(got.modseq, 12);
	assert_int_equal(got.size, 3456);
	assert_string_equal(got.message_id, "<m1@x>");
	assert_string_equal(got.emailid, "E1");
	assert_int_equal(got.internal_date, 1600000000);
	state_msg_release(&got);
	assert_int_equal(state_msg_by_uid(f->st, fb, 10, &got, &err), 1);
	assert_int_equal(got.id, id4);
	assert_null(got.local);
	assert_null(got.keywords);
	state_msg_release(&got);
	assert_int_equal(state_msg_by_uid(f->st, fb, 11, &got, &err), 0);
	assert_int_equal(state_msg_by_local(f->st, "u3", &got, &err), 1);
	assert_int_equal(got.id, id3);
	assert_int_equal(got.uid, 0);
	state_msg_release(&got);
	assert_int_equal(state_msg_by_local(f->st, "nope", &got, &err), 0);
	assert_int_equal(state_msg_by_emailid(f->st, "E4", &got, &err), 1);
	assert_int_equal(got.id, id4);
	state_msg_release(&got);
	assert_int_equal(state_msg_by_emailid(f->st, "E9", &got, &err), 0);

	struct state_msgs list;
	assert_int_equal(state_msg_by_message_id(f->st, "<dup@x>", &list, &err), 0);
	assert_int_equal(list.n, 2);
	assert_int_equal(list.msgs[0].id, id2);
	assert_int_equal(list.msgs[1].id, id3);
	state_msgs_release(&list);

	/* A folder loads by UID, the one without a UID first. */
	assert_int_equal(state_msg_load(f->st, fa, &list, &err), 0);
	assert_int_equal(list.n, 3);
	assert_int_equal(list.msgs[0].id, id3);
	assert_int_equal(list.msgs[1].uid, 5);
	assert_int_equal(list.msgs[2].uid, 10);
	state_msgs_release(&list);

	/* A move is an update of folder_id; the lookup by unique part
	 * finds it in its new place. */
	assert_int_equal(state_msg_by_uid(f->st, fa, 5, &got, &err), 1);
	got.folder_id = fb;
	got.uid = 33;
	got.flags |= MAILDIR_FLAG_FLAGGED;
	assert_int_equal(state_msg_update(f->st, &got, &err), 0);
	state_msg_release(&got);
	assert_int_equal(state_msg_by_local(f->st, "u2", &got, &err), 1);
	assert_int_equal(got.folder_id, fb);
	assert_int_equal(got.uid, 33);
	assert_int_equal(got.flags, MAILDIR_FLAG_SEEN | MAILDIR_FLAG_FLAGGED);
	state_msg_release(&got);

	assert_int_equal(state_msg_delete(f->st, id1, &err), 0);
	assert_int_equal(state_msg_by_uid(f->st, fa, 10, &got, &err), 0);
	/* Deleting a folder takes its messages along. */
	assert_int_equal(state_folder_delete(f->st, fb, &err), 0);
	assert_int_equal(state_msg_by_emailid(f->st, "E4", &got, &err), 0);
	assert_int_equal(st_query_int(f->path, "SELECT count(*) FROM messages"), 1);
}

static size_t with_uid(struct state *st, int64_t folder)
{
	struct error err = ERROR_INIT;
	size_t n = 99;
	assert_int_equal(state_msg_count(st, folder, &n, &err), 0);
	return n;
}

/* The count of rows with a UID follows every insert, update (a UID
 * learnt or lost, a move between folders) and delete. */
static void counts_rows_with_uid(void **state)
{
	struct fixture *f = *state;
	struct error err = ERROR_INIT;
	int64_t fa, fb, id1, id2, id3;
	assert_int_equal(state_folder_add(f->st, "A", "A", &fa, &err), 0);
	assert_int_equal(state_folder_add(f->st, "B", "B", &fb, &err), 0);
	assert_int_equal(with_uid(f->st, fa), 0);
	assert_int_equal(with_uid(f->st, 12345), 0); /* no such folder */
	struct state_msg m1 = msg(fa, 1, "u1", NULL, NULL);
	struct state_msg m2 = msg(fa, 2, "u2", NULL, NULL);
	struct state_msg m3 = msg(fa, 0, "u3", NULL, NULL); /* not uploaded yet */
	assert_int_equal(state_msg_insert(f->st, &m1, &id1, &err), 0);
	assert_int_equal(state_msg_insert(f->st, &m2, &id2, &err), 0);
	assert_int_equal(state_msg_insert(f->st, &m3, &id3, &err), 0);
	assert_int_equal(with_uid(f->st, fa), 2);

	struct state_msg got;
	assert_int_equal(state_msg_by_local(f->st, "u3", &got, &err), 1);
	got.uid = 3; /* uploaded */
	assert_int_equal(state_msg_update(f->st, &got, &err), 0);
	state_msg_release(&got);
	assert_int_equal(with_uid(f->st, fa), 3);

	assert_int_equal(state_msg_by_local(f->st, "u1", &got, &err), 1);
	got.folder_id = fb; /* moved */
	got.uid = 7;
	assert_int_equal(state_msg_update(f->st, &got, &err), 0);
	state_msg_release(&got);
	assert_int_equal(with_uid(f->st, fa), 2);
	assert_int_equal(with_uid(f->st, fb), 1);

	assert_int_equal(state_msg_by_local(f->st, "u2", &got, &err), 1);
	got.uid = 0; /* gone from the server, the file kept */
	assert_int_equal(state_msg_update(f->st, &got, &err), 0);
	state_msg_release(&got);
	assert_int_equal(with_uid(f->st, fa), 1);

	assert_int_equal(state_msg_delete(f->st, id3, &err), 0);
	assert_int_equal(with_uid(f->st, fa), 0);
	/* A rolled-back insert leaves the count as it was. */
	assert_int_equal(state_begin(f->st, &err), 0);
	struct state_msg m4 = msg(fb, 9, "u4", NULL, NULL);
	int64_t id4;
	assert_int_equal(state_msg_insert(f->st, &m4, &id4, &err), 0);
	assert_int_equal(with_uid(f->st, fb), 2);
	state_rollback(f->st);
	assert_int_equal(with_uid(f->st, fb), 1);
	assert_int_equal(st_query_int(f->path, "SELECT with_uid FROM folders WHERE remote = 'B'"),
			 1);
}

static void transactions_commit_or_roll_back(void **state)
{
	struct fixture *f = *state;
	struct error err = ERROR_INIT;
	int64_t fa, id;
	assert_int_equal(state_folder_add(f->st, "A", "A", &fa, &err), 0);
	assert_int_equal(state_begin(f->st, &err), 0);
	assert_int_equal(state_begin(f->st, &err), -ERR_ACCOUNT);
	error_clear(&err);
	struct state_msg m = msg(fa, 1, "u1", NULL, NULL);
	assert_int_equal(state_msg_insert(f->st, &m, &id, &err), 0);
	/* Not visible to another connection before the commit. */
	assert_int_equal(st_query_int(f->path, "SELECT count(*) FROM messages"), 0);
	assert_int_equal(state_commit(f->st, &err), 0);
	assert_int_equal(st_query_int(f->path, "SELECT count(*) FROM messages"), 1);
	assert_int_equal(state_commit(f->st, &err), -ERR_ACCOUNT);
	error_clear(&err);

	assert_int_equal(state_begin(f->st, &err), 0);
	m = msg(fa, 2, "u2", NULL, NULL);
	assert_int_equal(state_msg_insert(f->st, &m, &id, &err), 0);
	state_rollback(f->st);
	struct state_msg got;
	assert_int_equal(state_msg_by_uid(f->st, fa, 2, &got, &err), 0);
	assert_int_equal(st_query_int(f->path, "SELECT count(*) FROM messages"), 1);
}

static void intents_record_confirm_prune(void **state)
{
	struct fixture *f = *state;
	struct error err = ERROR_INIT;
	int64_t i1, i2, i3;
	assert_int_equal(state_intent_record(f->st, "download", "INBOX", "uid=1", &i1, &err), 0);
	assert_int_equal(state_intent_record(f->st, "folder-create", NULL, "Work", &i2, &err), 0);
	assert_int_equal(state_intent_record(f->st, "append", "INBOX", NULL, &i3, &err), 0);
	assert_int_equal(state_intent_record(f->st, "", "INBOX", "x", &i3, &err), -ERR_ACCOUNT);
	error_clear(&err);
	assert_int_equal(state_intent_confirm(f->st, i1, &err), 0);
	assert_int_equal(state_intent_confirm(f->st, i1, &err), 0);

	struct state_intent *list;
	size_t n;
	assert_int_equal(state_intent_pending(f->st, &list, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(list[0].id, i2);
	assert_string_equal(list[0].kind, "folder-create");
	assert_null(list[0].folder);
	assert_string_equal(list[0].params, "Work");
	assert_true(list[0].created > 1600000000);
	assert_int_equal(list[1].id, i3);
	assert_string_equal(list[1].folder, "INBOX");
	assert_string_equal(list[1].params, "");
	state_intents_free(list, n);

	assert_int_equal(st_query_int(f->path, "SELECT count(*) FROM intents"), 3);
	assert_int_equal(state_intent_prune(f->st, &err), 0);
	assert_int_equal(st_query_int(f->path, "SELECT count(*) FROM intents"), 2);
}

static ssize_t text_read(void *ctx, char *buf, size_t cap, struct error *err)
{
	const char **p = ctx;
	size_t n = strlen(*p);
	if (n > cap)
		n = cap;
	memcpy(buf, *p, n);
	*p += n;
	return (ssize_t)n;
}

/*
 * The child does what the engine does for a download (intent, commit,
 * deliver) and is killed before it records the result.  The next run
 * finds the pending intent, sees the file is there, and completes the
 * bookkeeping instead of downloading again.
 */
static void interrupted_download_is_replayed(void **state)
{
	struct fixture *f = *state;
	struct error err = ERROR_INIT;
	char *folder = xasprintf("%s/INBOX", f->dir);
	st_mkmaildir(folder);
	int64_t fid;
	assert_int_equal(state_folder_add(f->st, "INBOX", "INBOX", &fid, &err), 0);
	const char *unique = "1700000000.replay.host";

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct state *st;
		int64_t id;
		if (state_open(f->path, &st, &err) < 0)
			_exit(2);
		char *params = xasprintf("uid=42 unique=%s", unique);
		if (state_intent_record(st, "download", "INBOX", params, &id, &err) < 0)
			_exit(3);
		const char *body = "Subject: hi\r\n\r\nhello\r\n";
		struct maildir_msg m = {text_read, &body, MAILDIR_FLAG_SEEN, NULL,
					1600000000, unique};
		char *got;
		if (maildir_deliver(folder, &m, &got, &err) < 0)
			_exit(4);
		raise(SIGKILL);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	/* The next run (a fresh connection) replays. */
	state_close(f->st);
	assert_int_equal(state_open(f->path, &f->st, &err), 0);
	struct state_intent *list;
	size_t n;
	assert_int_equal(state_intent_pending(f->st, &list, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].kind, "download");
	assert_string_equal(list[0].folder, "INBOX");
	assert_string_equal(list[0].params, "uid=42 unique=1700000000.replay.host");
	const char *u = strstr(list[0].params, "unique=") + strlen("unique=");
	struct maildir_entry e;
	assert_int_equal(maildir_find(folder, u, &e, &err), 1);
	assert_int_equal(e.flags, MAILDIR_FLAG_SEEN);
	assert_int_equal(state_begin(f->st, &err), 0);
	struct state_msg m = {.folder_id = fid, .uid = 42, .local = e.unique,
			      .flags = e.flags, .internal_date = 1600000000};
	int64_t mid;
	assert_int_equal(state_msg_insert(f->st, &m, &mid, &err), 0);
	assert_int_equal(state_intent_confirm(f->st, list[0].id, &err), 0);
	assert_int_equal(state_commit(f->st, &err), 0);
	maildir_entry_release(&e);
	state_intents_free(list, n);

	assert_int_equal(state_intent_pending(f->st, &list, &n, &err), 0);
	assert_int_equal(n, 0);
	free(list);
	struct state_msg got;
	assert_int_equal(state_msg_by_uid(f->st, fid, 42, &got, &err), 1);
	assert_string_equal(got.local, unique);
	state_msg_release(&got);
	free(folder);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(creates_private_file_with_header, setup, teardown),
		cmocka_unit_test_setup_teardown(stores_folders, setup, teardown),
		cmocka_unit_test_setup_teardown(stores_and_finds_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(counts_rows_with_uid, setup, teardown),
		cmocka_unit_test_setup_teardown(transactions_commit_or_roll_back, setup, teardown),
		cmocka_unit_test_setup_teardown(intents_record_confirm_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(interrupted_download_is_replayed, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
