/* SPDX-License-Identifier: MIT */
/*
 * The sync against a real Dovecot: every non-move row of SPEC.md section
 * 4, the settings that stop changes from travelling, the guards, and a
 * second run that must change nothing.  The server is read with doveadm
 * and the Maildir with plain file access, never with tidemail's own code.
 * The whole group runs three times: with CONDSTORE and QRESYNC, with
 * CONDSTORE only (as Gmail), and with neither.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include "state.h"
#include "world.h"

static struct harness_opts group_opts;
static unsigned folder_seq;

static int setup(void **state)
{
	return world_setup(state, &group_opts);
}

static int teardown(void **state)
{
	return world_teardown(state);
}

static struct world *new_world(void **state, const char *extra)
{
	struct harness *h = *state;
	if (!h->pid)
		skip();
	char *folder = xasprintf("T%u", ++folder_seq);
	struct world *w = world_new(h, folder, extra);
	free(folder);
	return w;
}

/* Row: new on the server -> downloaded, with its flags. */
static void new_server_messages_come_down(void **state)
{
	struct world *w = new_world(state, NULL);
	server_add(w, "a", NULL);
	server_add(w, "b", "\\Seen \\Flagged");
	world_sync_ok(w);
	assert_int_equal(w->rep.counts.downloaded, 2);
	assert_sides(w, "a: b:FS");
	/* An unseen message lands in new/, a seen one in cur/. */
	char *newdir = xasprintf("%s/new", w->path);
	struct stat st;
	assert_int_equal(stat(newdir, &st), 0);
	free(newdir);
	world_assert_quiet(w);
	world_free(w);
}

/* Row: new local file -> APPEND with its flags and date. */
static void new_local_files_go_up(void **state)
{
	struct world *w = new_world(state, NULL);
	local_add(w, "c", "S");
	local_add(w, "d", "");
	/* INTERNALDATE follows the file's mtime (SPEC.md section 3). */
	char *file = xasprintf("%s/cur/1700000000.c.testhost:2,S", w->path);
	struct utimbuf when = {1600000000, 1600000000};
	assert_int_equal(utime(file, &when), 0);
	free(file);
	world_sync_ok(w);
	assert_int_equal(w->rep.counts.uploaded, 2);
	assert_sides(w, "c:S d:");
	struct harness_msg *msgs;
	size_t n;
	struct error err = ERROR_INIT;
	assert_int_equal(harness_fetch(w->h, NULL, w->folder, "date.received.unixtime "
				       "hdr.message-id", &msgs, &n, &err), 0);
	bool checked = false;
	for (size_t i = 0; i < n; i++) {
		const char *id = harness_record_get(&msgs[i].fields, "hdr.message-id");
		if (id && !strcmp(id, "<c@test>")) {
			assert_string_equal(harness_record_get(&msgs[i].fields,
							       "date.received.unixtime"),
					    "1600000000");
			checked = true;
		}
	}
	harness_msgs_free(msgs, n);
	assert_true(checked);
	world_assert_quiet(w);
	world_free(w);
}

/* Row: flags changed on both sides -> merged flag by flag. */
static void flag_changes_merge(void **state)
{
	struct world *w = new_world(state, NULL);
	server_add(w, "a", "\\Seen");
	server_add(w, "b", NULL);
	server_add(w, "c", NULL);
	world_sync_ok(w);
	server_flags(w, "a", "\\Seen \\Flagged");  /* server adds F */
	local_flags(w, "a", "RS");                 /* file adds R */
	server_flags(w, "b", "\\Answered");        /* server only */
	local_flags(w, "c", "T");                  /* file only: \Deleted is a flag */
	world_sync_ok(w);
	assert_sides(w, "a:FRS b:R c:T");
	world_assert_quiet(w);
	world_free(w);
}

/* Row: expunged on the server -> the file goes, even if its flags changed. */
static void server_expunge_removes_files(void **state)
{
	struct world *w = new_world(state, NULL);
	server_add(w, "a", NULL);
	server_add(w, "b", NULL);
	server_add(w, "keep", NULL);
	world_sync_ok(w);
	local_flags(w, "b", "F");
	server_expunge(w, "a");
	server_expunge(w, "b");
	world_sync_ok(w);
	assert_int_equal(w->rep.counts.deleted_local, 2);
	assert_sides(w, "keep:");
	world_assert_quiet(w);
	world_free(w);
}

/* Row: file removed -> \Deleted + UID EXPUNGE, even if server flags changed. */
static void removed_files_are_expunged(void **state)
{
	struct world *w = new_world(state, NULL);
	server_add(w, "a", NULL);
	server_add(w, "b", NULL);
	server_add(w, "keep", "\\Deleted");
	world_sync_ok(w);
	server_flags(w, "b", "\\Flagged");
	local_remove(w, "a");
	local_remove(w, "b");
	world_sync_ok(w);
	assert_int_equal(w->rep.counts.deleted_remote, 2);
	/* Only those two: "keep" carries \Deleted but is not expunged. */
	assert_sides(w, "keep:T");
	world_assert_quiet(w);
	world_free(w);
}

/* Row: gone on both sides -> forgotten, nothing else happens. */
static void gone_on_both_sides(void **state)
{
	struct world *w = new_world(state, NULL);
	server_add(w, "a", NULL);
	world_sync_ok(w);
	server_expunge(w, "a");
	local_remove(w, "a");
	world_sync_ok(w);
	assert_sides(w, "");
	world_assert_quiet(w);
	world_free(w);
}

/* A folder that exists only locally is created on the server. */
static void local_folder_is_created_on_the_server(void **state)
{
	struct world *w = new_world(state, NULL);
	struct error err = ERROR_INIT;
	assert_int_equal(harness_mailbox_delete(w->h, NULL, w->folder, &err), 0);
	local_add(w, "x", "S");
	world_sync_ok(w);
	assert_int_equal(w->rep.counts.folders_created, 1);
	assert_sides(w, "x:S");
	world_assert_quiet(w);
	world_free(w);
}

/* direction: pull -> nothing goes up, and nothing is copied again later. */
static void direction_pull(void **state)
{
	struct world *w = new_world(state, "    sync: {direction: pull}\n");
	server_add(w, "a", NULL);
	world_sync_ok(w);
	local_add(w, "mine", "");
	local_flags(w, "a", "S");
	server_add(w, "b", NULL);
	world_sync_ok(w);
	assert_server(w, "a: b:");
	assert_local(w, "a:S b: mine:");
	world_assert_quiet(w);
	world_free(w);
}

/* delete: none -> removals stay where they happened, and are not undone. */
static void delete_none(void **state)
{
	struct world *w = new_world(state, "    sync: {delete: none}\n");
	server_add(w, "a", NULL);
	server_add(w, "b", NULL);
	world_sync_ok(w);
	local_remove(w, "a");
	server_expunge(w, "b");
	world_sync_ok(w);
	assert_server(w, "a:");
	assert_local(w, "b:");
	world_assert_quiet(w);
	assert_server(w, "a:");
	assert_local(w, "b:");
	world_free(w);
}

/* max_delete: removing most files of a folder is refused until --force. */
static void max_delete_guard(void **state)
{
	struct world *w = new_world(state, NULL);
	char name[8];
	for (int i = 0; i < 12; i++) {
		snprintf(name, sizeof(name), "m%02d", i);
		server_add(w, name, NULL);
	}
	world_sync_ok(w);
	for (int i = 0; i < 7; i++) {
		snprintf(name, sizeof(name), "m%02d", i);
		local_remove(w, name);
	}
	assert_int_equal(world_sync(w, NULL), 0);
	assert_int_equal(w->rep.folders_refused, 1);
	char *server = server_view(w);
	assert_int_equal(strlen(server), strlen("m00: ") * 12 - 1);
	free(server);
	struct sync_opts force = {.force = true};
	assert_int_equal(world_sync(w, &force), 0);
	assert_int_equal(w->rep.folders_refused, 0);
	assert_int_equal(w->rep.counts.deleted_remote, 7);
	assert_sides(w, "m07: m08: m09: m10: m11:");
	world_assert_quiet(w);
	world_free(w);
}

/* --dry-run changes nothing on either side. */
static void dry_run_changes_nothing(void **state)
{
	struct world *w = new_world(state, NULL);
	server_add(w, "a", NULL);
	world_sync_ok(w);
	server_add(w, "b", NULL);
	local_add(w, "c", "");
	local_flags(w, "a", "S");
	struct sync_opts dry = {.dry_run = true};
	assert_int_equal(world_sync(w, &dry), 0);
	assert_server(w, "a: b:");
	assert_local(w, "a:S c:");
	world_sync_ok(w);
	assert_sides(w, "a:S b: c:");
	world_free(w);
}

/* A local root that went missing (an unmounted disk) refuses the account. */
static void missing_root_is_refused(void **state)
{
	struct world *w = new_world(state, NULL);
	server_add(w, "a", NULL);
	world_sync_ok(w);
	char *moved = xasprintf("%s.away", w->root);
	assert_int_equal(rename(w->root, moved), 0);
	assert_true(world_sync(w, NULL) < 0);
	assert_non_null(strstr(w->err.msg, "is missing (an unmounted disk?)"));
	assert_false(w->rep.connect_failed);
	assert_server(w, "a:");
	assert_int_equal(rename(moved, w->root), 0);
	free(moved);
	world_assert_quiet(w);
	world_free(w);
}

/* A second run while one holds the account's lock exits at once. */
static void locked_account(void **state)
{
	struct world *w = new_world(state, NULL);
	world_sync_ok(w);
	char *path = xasprintf("%s/t.db.lock", w->cfg.state_dir);
	struct state_lock *lock;
	struct error err = ERROR_INIT;
	assert_int_equal(state_lock_acquire(path, &lock, &err), 0);
	assert_int_equal(world_sync(w, NULL), SYNC_LOCKED);
	state_lock_release(lock);
	free(path);
	world_sync_ok(w);
	world_free(w);
}

/* Folders go in parallel over `connections` connections; all converge. */
static void folders_in_parallel(void **state)
{
	struct harness *h = *state;
	if (!h->pid)
		skip();
	char *glob = xasprintf("P%u*", ++folder_seq);
	struct world *w = world_new(h, glob, "    sync: {max_delete: 100%}\n");
	struct error err = ERROR_INIT;
	for (int f = 0; f < 5; f++) {
		char *folder = xasprintf("P%u-%d", folder_seq, f);
		assert_int_equal(harness_mailbox_create(h, NULL, folder, &err), 0);
		for (int i = 0; i < 4; i++) {
			char *msg = xasprintf("Message-ID: <p%d-%d@test>\r\n\r\nx\r\n", f, i);
			assert_int_equal(harness_save(h, NULL, folder, msg, NULL, &err), 0);
			free(msg);
		}
		free(folder);
	}
	world_sync_ok(w);
	assert_int_equal(w->rep.folders_synced, 5);
	assert_int_equal(w->rep.counts.downloaded, 20);
	assert_int_equal(w->rep.counts.folders_created, 5);
	world_assert_quiet(w);
	for (int f = 0; f < 5; f++) {
		char *folder = xasprintf("P%u-%d", folder_seq, f);
		assert_int_equal(harness_mailbox_delete(h, NULL, folder, &err), 0);
		free(folder);
	}
	free(glob);
	world_free(w);
}

static bool server_has_folder(struct world *w)
{
	char **names;
	size_t n;
	struct error err = ERROR_INIT;
	assert_int_equal(harness_mailbox_list(w->h, NULL, &names, &n, &err), 0);
	bool found = false;
	for (size_t i = 0; i < n; i++)
		found |= !strcmp(names[i], w->folder);
	harness_strv_free(names, n);
	return found;
}

static void remove_local_folder(struct world *w)
{
	char *cmd = xasprintf("rm -rf '%s'", w->path);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

/* Row: folder removed locally, nothing unsynced on the server -> DELETE. */
static void folder_removed_locally(void **state)
{
	struct world *w = new_world(state, NULL);
	server_add(w, "a", NULL);
	world_sync_ok(w);
	remove_local_folder(w);
	world_sync_ok(w);
	assert_int_equal(w->rep.counts.folders_deleted, 1);
	assert_false(server_has_folder(w));
	world_assert_quiet(w);
	/* The folder is gone on both sides for good. */
	assert_false(server_has_folder(w));
	assert_local(w, "(no folder)");
	world_free(w);
}

/* Row: folder removed on the server, nothing unsynced locally -> removed. */
static void folder_removed_on_server(void **state)
{
	struct world *w = new_world(state, NULL);
	server_add(w, "a", "\\Seen");
	world_sync_ok(w);
	struct error err = ERROR_INIT;
	assert_int_equal(harness_mailbox_delete(w->h, NULL, w->folder, &err), 0);
	world_sync_ok(w);
	assert_int_equal(w->rep.counts.folders_deleted, 1);
	assert_local(w, "(no folder)");
	world_assert_quiet(w);
	assert_false(server_has_folder(w));
	world_free(w);
}

/* A removed folder whose other side holds unsynced mail is kept: made
 * again where it went, with every message. */
static void removed_folder_with_unsynced_mail_is_kept(void **state)
{
	struct world *w = new_world(state, NULL);
	server_add(w, "a", NULL);
	world_sync_ok(w);
	remove_local_folder(w);
	server_add(w, "late", NULL);
	world_sync_ok(w);
	assert_int_equal(w->rep.counts.folders_deleted, 0);
	assert_sides(w, "a: late:");
	world_assert_quiet(w);

	/* The other way round: a new local file in a folder the server lost. */
	struct error err = ERROR_INIT;
	assert_int_equal(harness_mailbox_delete(w->h, NULL, w->folder, &err), 0);
	local_add(w, "offline", "S");
	world_sync_ok(w);
	assert_sides(w, "a: late: offline:S");
	world_assert_quiet(w);
	world_free(w);
}

struct race {
	struct world *w;
	bool done;
};

/* Another client changes the message between our view and our STORE. */
static void race_step(void *ctx, const char *step)
{
	struct race *r = ctx;
	if (!r->done && !strcmp(step, "remote-flags")) {
		r->done = true;
		server_flags(r->w, "a", "\\Flagged");
	}
}

/* A flag change that races another client's is merged, not overwritten:
 * with CONDSTORE the STORE carries UNCHANGEDSINCE and answers MODIFIED. */
static void concurrent_server_change_is_merged(void **state)
{
	struct world *w = new_world(state, NULL);
	server_add(w, "a", NULL);
	world_sync_ok(w);
	local_flags(w, "a", "S");
	struct race race = {w, false};
	struct sync_opts o = {.step = race_step, .step_ctx = &race};
	assert_int_equal(world_sync(w, &o), 0);
	assert_true(race.done);
	/* With CONDSTORE our STORE was refused (MODIFIED): the other
	 * client's change stands and ours waits for the merge. */
	if (!group_opts.no_condstore)
		assert_server(w, "a:F");
	world_sync_ok(w);
	assert_sides(w, "a:FS");
	world_assert_quiet(w);
	world_free(w);
}

/* A changed UIDVALIDITY re-keys the folder by Message-ID: nothing is
 * transferred, nothing deleted. */
static void uidvalidity_change_costs_nothing(void **state)
{
	struct world *w = new_world(state, NULL);
	for (int i = 0; i < 20; i++) {
		char name[8];
		snprintf(name, sizeof(name), "u%02d", i);
		server_add(w, name, i % 3 ? NULL : "\\Seen");
	}
	world_sync_ok(w);
	struct error err = ERROR_INIT;
	assert_int_equal(harness_set_uidvalidity(w->h, NULL, w->folder, 4242, &err), 0);
	local_flags(w, "u01", "F");
	world_sync_ok(w);
	assert_int_equal(w->rep.counts.downloaded + w->rep.counts.uploaded, 0);
	assert_int_equal(w->rep.counts.bytes_down + w->rep.counts.bytes_up, 0);
	assert_int_equal(w->rep.counts.deleted_local + w->rep.counts.deleted_remote, 0);
	assert_int_equal(w->rep.counts.remote_flags, 1);
	char *want = server_view(w);
	assert_local(w, want);
	free(want);
	world_assert_quiet(w);
	world_free(w);
}

/* A folder deleted and made again on the server (new UIDVALIDITY, new
 * UIDs) with the same mail: matched again; of the messages it lost, the
 * local files go back up; of the new ones, only they come down. */
static void recreated_folder_costs_only_the_difference(void **state)
{
	struct world *w = new_world(state, NULL);
	server_add(w, "a", "\\Seen");
	server_add(w, "b", NULL);
	server_add(w, "c", NULL);
	world_sync_ok(w);
	struct error err = ERROR_INIT;
	assert_int_equal(harness_mailbox_delete(w->h, NULL, w->folder, &err), 0);
	assert_int_equal(harness_mailbox_create(w->h, NULL, w->folder, &err), 0);
	server_add(w, "a", "\\Seen");
	server_add(w, "b", NULL);
	server_add(w, "new", NULL);
	world_sync_ok(w);
	assert_int_equal(w->rep.counts.downloaded, 1);
	assert_int_equal(w->rep.counts.uploaded, 1);
	assert_int_equal(w->rep.counts.deleted_local, 0);
	assert_sides(w, "a:S b: c: new:");
	world_assert_quiet(w);
	world_free(w);
}

/* A message removed locally and kept removed (delete: pull) is not
 * downloaded again because the server's UIDVALIDITY changed. */
static void uidvalidity_change_keeps_divergence(void **state)
{
	struct world *w = new_world(state, "    sync: {delete: pull}\n");
	server_add(w, "a", NULL);
	server_add(w, "b", NULL);
	world_sync_ok(w);
	local_remove(w, "a");
	world_sync_ok(w);
	struct error err = ERROR_INIT;
	assert_int_equal(harness_set_uidvalidity(w->h, NULL, w->folder, 777, &err), 0);
	world_sync_ok(w);
	assert_int_equal(w->rep.counts.downloaded, 0);
	assert_server(w, "a: b:");
	assert_local(w, "b:");
	world_assert_quiet(w);
	world_free(w);
}

#define TESTS                                                                 \
	cmocka_unit_test(new_server_messages_come_down),                      \
	cmocka_unit_test(new_local_files_go_up),                              \
	cmocka_unit_test(flag_changes_merge),                                 \
	cmocka_unit_test(server_expunge_removes_files),                       \
	cmocka_unit_test(removed_files_are_expunged),                         \
	cmocka_unit_test(gone_on_both_sides),                                 \
	cmocka_unit_test(local_folder_is_created_on_the_server),              \
	cmocka_unit_test(direction_pull),                                     \
	cmocka_unit_test(delete_none),                                        \
	cmocka_unit_test(max_delete_guard),                                   \
	cmocka_unit_test(dry_run_changes_nothing),                            \
	cmocka_unit_test(missing_root_is_refused),                            \
	cmocka_unit_test(locked_account),                                     \
	cmocka_unit_test(folders_in_parallel),                                \
	cmocka_unit_test(folder_removed_locally),                             \
	cmocka_unit_test(folder_removed_on_server),                           \
	cmocka_unit_test(removed_folder_with_unsynced_mail_is_kept),          \
	cmocka_unit_test(concurrent_server_change_is_merged),                 \
	cmocka_unit_test(uidvalidity_change_costs_nothing),                   \
	cmocka_unit_test(recreated_folder_costs_only_the_difference),         \
	cmocka_unit_test(uidvalidity_change_keeps_divergence)

int main(void)
{
	const struct CMUnitTest tests[] = {TESTS};
	int failed = cmocka_run_group_tests_name("sync with CONDSTORE/QRESYNC", tests,
						 setup, teardown);
	group_opts.no_qresync = true;
	failed += cmocka_run_group_tests_name("sync with CONDSTORE, without QRESYNC",
					      tests, setup, teardown);
	group_opts.no_qresync = false;
	group_opts.no_condstore = true;
	failed += cmocka_run_group_tests_name("sync without CONDSTORE/QRESYNC", tests,
					      setup, teardown);
	return failed;
}
