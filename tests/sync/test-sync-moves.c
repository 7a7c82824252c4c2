/* SPDX-License-Identifier: MIT */
/*
 * Moves without re-transfer (SPEC.md section 4): a thousand messages moved
 * on the server cost no body fetch, a thousand files moved locally cost no
 * APPEND, and the combinations of the table (moved and flagged, moved to
 * different places, moved and removed) end with both sides equal and a
 * run that changes nothing.  Body bytes are counted by the sync itself
 * (the figures -v prints) and the server is checked with doveadm.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "world.h"

static unsigned seq;

static int setup(void **state)
{
	return world_setup(state, NULL);
}

static int teardown(void **state)
{
	return world_teardown(state);
}

/* A world syncing folders "<p>src" and "<p>dst" (both made on the server). */
static struct world *two_folders(void **state, char **src, char **dst)
{
	struct harness *h = *state;
	if (!h->pid)
		skip();
	char *glob = xasprintf("M%u*", ++seq);
	struct world *w = world_new(h, glob, "    sync: {max_delete: 100%}\n");
	free(glob);
	*src = xasprintf("M%usrc", seq);
	*dst = xasprintf("M%udst", seq);
	world_use(w, *dst, true);
	world_use(w, *src, true);
	return w;
}

static void done(struct world *w, char *src, char *dst)
{
	struct error err = ERROR_INIT;
	harness_mailbox_delete(w->h, NULL, src, &err);
	error_clear(&err);
	harness_mailbox_delete(w->h, NULL, dst, &err);
	error_clear(&err);
	free(src);
	free(dst);
	world_free(w);
}

static unsigned server_count(struct world *w, const char *folder)
{
	struct harness_status st;
	struct error err = ERROR_INIT;
	if (harness_mailbox_status(w->h, NULL, folder, &st, &err) < 0)
		fail_msg("%s", err.msg);
	return st.messages;
}

static void server_moves_cost_no_fetch(void **state)
{
	char *src, *dst;
	struct world *w = two_folders(state, &src, &dst);
	server_bulk(w, "m", 1000);
	world_sync_ok(w);
	assert_int_equal(w->rep.counts.downloaded, 1000);
	struct error err = ERROR_INIT;
	assert_int_equal(harness_doveadm(w->h, NULL, NULL, &err, "move", "-u", w->h->user,
					 dst, "mailbox", src, "all", NULL), 0);
	world_sync_ok(w);
	printf("1000 moved on the server: %zu files renamed, %zu downloaded, "
	       "%llu body bytes fetched\n", w->rep.counts.moved_local,
	       w->rep.counts.downloaded, (unsigned long long)w->rep.counts.bytes_down);
	assert_int_equal(w->rep.counts.moved_local, 1000);
	assert_int_equal(w->rep.counts.downloaded, 0);
	assert_int_equal(w->rep.counts.bytes_down, 0);
	assert_int_equal(w->rep.counts.deleted_local, 0);
	assert_local(w, "");
	world_use(w, dst, false);
	assert_same_names(w, 1000);
	world_assert_quiet(w);
	done(w, src, dst);
}

/* Moves every file of one folder into another, keeping names. */
static void move_all_files(struct world *w, const char *from, const char *to)
{
	const char *subs[] = {"cur", "new"};
	for (int s = 0; s < 2; s++) {
		char *dir = xasprintf("%s/%s/%s", w->root, from, subs[s]);
		DIR *d = opendir(dir);
		assert_non_null(d);
		struct dirent *de;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			char *a = xasprintf("%s/%s", dir, de->d_name);
			char *b = xasprintf("%s/%s/%s/%s", w->root, to, subs[s], de->d_name);
			assert_int_equal(rename(a, b), 0);
			free(a);
			free(b);
		}
		closedir(d);
		free(dir);
	}
}

static void local_moves_cost_no_append(void **state)
{
	char *src, *dst;
	struct world *w = two_folders(state, &src, &dst);
	server_bulk(w, "m", 1000);
	world_sync_ok(w);
	move_all_files(w, src, dst);
	world_sync_ok(w);
	printf("1000 moved locally: %zu UID MOVEs, %zu uploaded, %llu body bytes "
	       "appended\n", w->rep.counts.moved_remote, w->rep.counts.uploaded,
	       (unsigned long long)w->rep.counts.bytes_up);
	assert_int_equal(w->rep.counts.moved_remote, 1000);
	assert_int_equal(w->rep.counts.uploaded, 0);
	assert_int_equal(w->rep.counts.bytes_up, 0);
	assert_int_equal(w->rep.counts.deleted_remote, 0);
	assert_int_equal(server_count(w, src), 0);
	assert_int_equal(server_count(w, dst), 1000);
	world_use(w, dst, false);
	assert_same_names(w, 1000);
	world_assert_quiet(w);
	done(w, src, dst);
}

/* Moved on the server, flags changed locally (and the other way round):
 * both apply. */
static void move_and_flags_both_apply(void **state)
{
	char *src, *dst;
	struct world *w = two_folders(state, &src, &dst);
	server_add(w, "a", NULL);
	server_add(w, "b", NULL);
	world_sync_ok(w);
	/* a: moved on the server, flagged locally. */
	local_flags(w, "a", "F");
	struct error err = ERROR_INIT;
	assert_int_equal(harness_doveadm(w->h, NULL, NULL, &err, "move", "-u", w->h->user,
					 dst, "mailbox", src, "HEADER", "Message-ID",
					 "<a@test>", NULL), 0);
	/* b: moved locally, seen on the server. */
	server_flags(w, "b", "\\Seen");
	local_move(w, "b", dst);
	world_sync_ok(w);
	assert_int_equal(w->rep.counts.bytes_down + w->rep.counts.bytes_up, 0);
	world_sync_ok(w); /* a MOVE's new UID may need one more run for flags */
	assert_sides(w, "");
	world_use(w, dst, false);
	assert_sides(w, "a:F b:S");
	world_assert_quiet(w);
	done(w, src, dst);
}

/* Moved to different places on each side: the server's place wins and
 * the file follows; moved on one side and removed on the other: the
 * moved copy survives on both sides. */
static void conflicting_moves(void **state)
{
	char *src, *dst;
	struct world *w = two_folders(state, &src, &dst);
	char *third = xasprintf("M%uthird", seq);
	world_use(w, third, true);
	world_use(w, src, false);
	server_add(w, "a", NULL);
	server_add(w, "b", NULL);
	world_sync_ok(w);
	struct error err = ERROR_INIT;
	/* a: server moves it to dst, the file goes to third. */
	assert_int_equal(harness_doveadm(w->h, NULL, NULL, &err, "move", "-u", w->h->user,
					 dst, "mailbox", src, "HEADER", "Message-ID",
					 "<a@test>", NULL), 0);
	/* b: server moves it to dst, the file is removed. */
	assert_int_equal(harness_doveadm(w->h, NULL, NULL, &err, "move", "-u", w->h->user,
					 dst, "mailbox", src, "HEADER", "Message-ID",
					 "<b@test>", NULL), 0);
	local_remove(w, "b");
	local_move(w, "a", third);
	world_sync_ok(w);
	assert_int_equal(w->rep.counts.uploaded, 0);
	assert_sides(w, "");
	world_use(w, third, false);
	assert_sides(w, "");
	world_use(w, dst, false);
	assert_sides(w, "a: b:");
	world_assert_quiet(w);
	harness_mailbox_delete(w->h, NULL, third, &err);
	error_clear(&err);
	free(third);
	done(w, src, dst);
}

static bool has_mailbox(struct world *w, const char *name)
{
	char **names;
	size_t n;
	struct error err = ERROR_INIT;
	if (harness_mailbox_list(w->h, NULL, &names, &n, &err) < 0)
		fail_msg("%s", err.msg);
	bool found = false;
	for (size_t i = 0; i < n; i++)
		found |= !strcmp(names[i], name);
	harness_strv_free(names, n);
	return found;
}

/* A folder (with a subfolder) renamed on the server: the directories are
 * renamed, nothing is transferred, the state keeps its messages. */
static void folder_renamed_on_server(void **state)
{
	struct harness *h = *state;
	if (!h->pid)
		skip();
	unsigned n = ++seq;
	char *glob = xasprintf("R%u*", n);
	char *old = xasprintf("R%uold", n), *sub = xasprintf("R%uold/sub", n);
	char *young = xasprintf("R%unew", n), *ysub = xasprintf("R%unew/sub", n);
	struct world *w = world_new(h, glob, NULL);
	world_use(w, old, true);
	server_add(w, "a", "\\Seen");
	server_add(w, "b", NULL);
	world_use(w, sub, true);
	server_add(w, "c", NULL);
	world_sync_ok(w);
	struct error err = ERROR_INIT;
	assert_int_equal(harness_mailbox_rename(h, NULL, old, young, &err), 0);
	world_sync_ok(w);
	printf("renamed on the server: %zu folders renamed, %llu bytes down, %llu up\n",
	       w->rep.counts.folders_renamed, (unsigned long long)w->rep.counts.bytes_down,
	       (unsigned long long)w->rep.counts.bytes_up);
	assert_int_equal(w->rep.counts.bytes_down + w->rep.counts.bytes_up, 0);
	assert_int_equal(w->rep.counts.downloaded + w->rep.counts.uploaded, 0);
	assert_true(w->rep.counts.folders_renamed >= 1);
	world_use(w, young, false);
	assert_sides(w, "a:S b:");
	world_use(w, ysub, false);
	assert_sides(w, "c:");
	world_use(w, old, false);
	assert_local(w, "(no folder)");
	world_use(w, glob, false);
	world_assert_quiet(w);
	harness_mailbox_delete(h, NULL, ysub, &err);
	harness_mailbox_delete(h, NULL, young, &err);
	error_clear(&err);
	free(glob);
	free(old);
	free(sub);
	free(young);
	free(ysub);
	world_free(w);
}

/* A folder (with a subfolder) renamed locally: RENAME on the server. */
static void folder_renamed_locally(void **state)
{
	struct harness *h = *state;
	if (!h->pid)
		skip();
	unsigned n = ++seq;
	char *glob = xasprintf("R%u*", n);
	char *old = xasprintf("R%uold", n), *sub = xasprintf("R%uold/sub", n);
	char *young = xasprintf("R%unew", n), *ysub = xasprintf("R%unew/sub", n);
	struct world *w = world_new(h, glob, NULL);
	world_use(w, old, true);
	server_add(w, "a", NULL);
	world_use(w, sub, true);
	server_add(w, "c", "\\Flagged");
	world_sync_ok(w);
	char *from = xasprintf("%s/%s", w->root, old), *to = xasprintf("%s/%s", w->root, young);
	assert_int_equal(rename(from, to), 0);
	free(from);
	free(to);
	world_sync_ok(w);
	printf("renamed locally: %zu folders renamed, %llu bytes down, %llu up\n",
	       w->rep.counts.folders_renamed, (unsigned long long)w->rep.counts.bytes_down,
	       (unsigned long long)w->rep.counts.bytes_up);
	assert_int_equal(w->rep.counts.bytes_down + w->rep.counts.bytes_up, 0);
	assert_true(has_mailbox(w, young));
	assert_true(has_mailbox(w, ysub));
	assert_false(has_mailbox(w, old));
	world_use(w, young, false);
	assert_sides(w, "a:");
	world_use(w, ysub, false);
	assert_sides(w, "c:F");
	world_use(w, glob, false);
	world_assert_quiet(w);
	struct error err = ERROR_INIT;
	harness_mailbox_delete(h, NULL, ysub, &err);
	harness_mailbox_delete(h, NULL, young, &err);
	error_clear(&err);
	free(glob);
	free(old);
	free(sub);
	free(young);
	free(ysub);
	world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(server_moves_cost_no_fetch),
		cmocka_unit_test(local_moves_cost_no_append),
		cmocka_unit_test(move_and_flags_both_apply),
		cmocka_unit_test(conflicting_moves),
		cmocka_unit_test(folder_renamed_on_server),
		cmocka_unit_test(folder_renamed_locally),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
