/* SPDX-License-Identifier: MIT */
/* Delivery: where messages land, their names, times and modes, batches,
 * and deliveries killed at random points. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "maildir.h"
#include "store-test.h"

/* A message made of a header naming it and a filler pattern, handed out
 * at most step bytes at a time; fail_at > 0 fails the source there. */
struct src {
	unsigned id;
	size_t len, pos, step, fail_at;
};

static char src_byte(const struct src *s, size_t i)
{
	/* The last line says the message is complete. */
	if (i >= s->len - 4)
		return "END\n"[i - (s->len - 4)];
	return (char)('a' + (i * 7 + s->id) % 26);
}

static ssize_t src_read(void *ctx, char *buf, size_t cap, struct error *err)
{
	struct src *s = ctx;
	if (s->fail_at && s->pos >= s->fail_at)
		return error_set(err, ERR_MESSAGE, "source broke at %zu", s->pos);
	size_t n = s->len - s->pos;
	if (n > cap)
		n = cap;
	if (s->step && n > s->step)
		n = s->step;
	for (size_t i = 0; i < n; i++)
		buf[i] = src_byte(s, s->pos + i);
	s->pos += n;
	return (ssize_t)n;
}

/* Whether a file holds exactly a whole message of len bytes (len 0: of
 * whatever length it has), of any id. */
static bool file_complete(const char *path, size_t len)
{
	char *data = st_read(path);
	if (!data)
		return false;
	if (len == 0)
		len = strlen(data);
	bool ok = len >= 5 && strlen(data) == len &&
		  memcmp(data + len - 4, "END\n", 4) == 0;
	if (ok) {
		/* Recover the id from the first byte, then check every byte. */
		struct src s = {.len = len, .id = (unsigned)(data[0] - 'a')};
		for (size_t i = 0; ok && i < len; i++)
			ok = data[i] == src_byte(&s, i);
	}
	free(data);
	return ok;
}

static char *sub_path(const char *folder, const char *sub, const char *name)
{
	return xasprintf("%s/%s/%s", folder, sub, name);
}

/* The listing of folder/sub, for exact comparisons. */
static char *ls_sub(const char *folder, const char *sub)
{
	char *dir = xasprintf("%s/%s", folder, sub);
	char *l = st_ls(dir);
	free(dir);
	return l;
}

static void assert_ls(const char *folder, const char *sub, const char *expect)
{
	char *l = ls_sub(folder, sub);
	assert_string_equal(l, expect);
	free(l);
}

/* Counts the entries of folder/sub. */
static size_t count_sub(const char *folder, const char *sub)
{
	char *l = ls_sub(folder, sub);
	size_t n = l[0] ? 1 : 0;
	for (const char *p = l; *p; p++)
		n += *p == ' ';
	free(l);
	return n;
}

static void unseen_message_goes_to_new(void **state)
{
	char *dir = st_tmpdir();
	st_mkmaildir(dir);
	struct src s = {.id = 3, .len = 100, .step = 7};
	struct maildir_msg m = {src_read, &s, 0, NULL, 1000000000, NULL};
	struct error err = ERROR_INIT;
	char *unique = NULL;
	assert_int_equal(maildir_deliver(dir, &m, &unique, &err), 0);
	assert_ls(dir, "new", unique);
	assert_ls(dir, "cur", "");
	assert_ls(dir, "tmp", "");
	char *path = sub_path(dir, "new", unique);
	assert_true(file_complete(path, 100));
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, 1000000000);
	assert_int_equal(st.st_mode & 0777, 0600);
	free(path);
	free(unique);
	st_rmtree(dir);
	free(dir);
}

static void flagged_message_goes_to_cur(void **state)
{
	char *dir = st_tmpdir();
	st_mkmaildir(dir);
	struct src s = {.id = 1, .len = 50};
	struct maildir_msg m = {src_read, &s, MAILDIR_FLAG_SEEN | MAILDIR_FLAG_FLAGGED,
				"a", -1, "1700000000.given.host"};
	struct error err = ERROR_INIT;
	char *unique = NULL;
	assert_int_equal(maildir_deliver(dir, &m, &unique, &err), 0);
	assert_string_equal(unique, "1700000000.given.host");
	assert_ls(dir, "new", "");
	assert_ls(dir, "cur", "1700000000.given.host:2,FSa");
	char *path = sub_path(dir, "cur", "1700000000.given.host:2,FSa");
	assert_true(file_complete(path, 50));
	/* No INTERNALDATE: the time of writing stays. */
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_mtim.tv_sec > 1700000000);
	free(path);
	free(unique);
	st_rmtree(dir);
	free(dir);
}

/* A body pushed in pieces, as an IMAP FETCH delivers it; an aborted
 * message leaves nothing behind and the batch goes on. */
static void push_style_delivery(void **state)
{
	char *dir = st_tmpdir();
	st_mkmaildir(dir);
	struct maildir_batch *b = maildir_batch_new(dir);
	struct error err = ERROR_INIT;
	struct maildir_msg m = {NULL, NULL, MAILDIR_FLAG_SEEN, NULL, 1000000000, "p1.host"};
	const char *unique;
	assert_int_equal(maildir_batch_write(b, "x", 1, &err), -ERR_FOLDER);
	char *want = xasprintf("deliver into %s: no message open", dir);
	assert_string_equal(err.msg, want);
	free(want);
	error_clear(&err);
	assert_int_equal(maildir_batch_start(b, &m, &unique, &err), 0);
	assert_string_equal(unique, "p1.host");
	assert_int_equal(maildir_batch_start(b, &m, &unique, &err), -ERR_FOLDER);
	error_clear(&err);
	assert_int_equal(maildir_batch_write(b, "Subject: a\r\n", 12, &err), 0);
	assert_int_equal(maildir_batch_write(b, "", 0, &err), 0);
	assert_int_equal(maildir_batch_write(b, "\r\nbody\r\n", 8, &err), 0);
	assert_int_equal(maildir_batch_finish(b, &err), 0);

	struct maildir_msg m2 = {NULL, NULL, 0, NULL, -1, "p2.host"};
	assert_int_equal(maildir_batch_start(b, &m2, &unique, &err), 0);
	assert_int_equal(maildir_batch_write(b, "partial", 7, &err), 0);
	assert_ls(dir, "tmp", "p1.host p2.host");
	maildir_batch_abort(b);
	assert_ls(dir, "tmp", "p1.host");
	assert_int_equal(maildir_batch_count(b), 1);

	assert_int_equal(maildir_batch_commit(b, &err), 0);
	maildir_batch_free(b);
	assert_ls(dir, "cur", "p1.host:2,S");
	assert_ls(dir, "new", "");
	assert_ls(dir, "tmp", "");
	char *path = sub_path(dir, "cur", "p1.host:2,S");
	char *body = st_read(path);
	assert_string_equal(body, "Subject: a\r\n\r\nbody\r\n");
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, 1000000000);
	free(body);
	free(path);
	st_rmtree(dir);
	free(dir);
}

static void given_unique_replaces_stale_tmp_file(void **state)
{
	char *dir = st_tmpdir();
	st_mkmaildir(dir);
	char *stale = sub_path(dir, "tmp", "1.replayed.host");
	st_write(stale, "half a mess");
	struct src s = {.id = 2, .len = 300, .step = 64};
	struct maildir_msg m = {src_read, &s, 0, NULL, 5, "1.replayed.host"};
	struct error err = ERROR_INIT;
	char *unique = NULL;
	assert_int_equal(maildir_deliver(dir, &m, &unique, &err), 0);
	assert_ls(dir, "tmp", "");
	char *path = sub_path(dir, "new", "1.replayed.host");
	assert_true(file_complete(path, 300));
	free(path);
	free(stale);
	free(unique);
	st_rmtree(dir);
	free(dir);
}

static void refuses_bad_unique_and_letters(void **state)
{
	char *dir = st_tmpdir();
	st_mkmaildir(dir);
	const char *bad[] = {"", ".dot", "a/b", "a:2,S", "a\nb"};
	struct error err = ERROR_INIT;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct src s = {.len = 10};
		struct maildir_msg m = {src_read, &s, 0, NULL, -1, bad[i]};
		char *unique = NULL;
		assert_int_equal(maildir_deliver(dir, &m, &unique, &err), -ERR_MESSAGE);
		assert_null(unique);
		error_clear(&err);
	}
	struct src s = {.len = 10};
	struct maildir_msg m = {src_read, &s, MAILDIR_FLAG_SEEN, "a/", -1, NULL};
	char *unique = NULL;
	assert_int_equal(maildir_deliver(dir, &m, &unique, &err), -ERR_MESSAGE);
	error_clear(&err);
	assert_int_equal(count_sub(dir, "new") + count_sub(dir, "cur") +
				 count_sub(dir, "tmp"), 0);
	st_rmtree(dir);
	free(dir);
}

static void failing_source_leaves_nothing(void **state)
{
	char *dir = st_tmpdir();
	st_mkmaildir(dir);
	struct src s = {.id = 4, .len = 1000, .step = 100, .fail_at = 500};
	struct maildir_msg m = {src_read, &s, 0, NULL, -1, NULL};
	struct error err = ERROR_INIT;
	char *unique = NULL;
	assert_int_equal(maildir_deliver(dir, &m, &unique, &err), -ERR_MESSAGE);
	assert_non_null(strstr(err.msg, "source broke at 500"));
	assert_non_null(strstr(err.msg, "deliver into"));
	error_clear(&err);
	assert_ls(dir, "new", "");
	assert_ls(dir, "cur", "");
	assert_ls(dir, "tmp", "");
	st_rmtree(dir);
	free(dir);
}

static void streams_a_large_message(void **state)
{
	char *dir = st_tmpdir();
	st_mkmaildir(dir);
	/* Several chunks of the delivery buffer, not a multiple of it. */
	struct src s = {.id = 5, .len = 3 * 1024 * 1024 + 17};
	struct maildir_msg m = {src_read, &s, MAILDIR_FLAG_SEEN, NULL, 86400, NULL};
	struct error err = ERROR_INIT;
	char *unique = NULL;
	assert_int_equal(maildir_deliver(dir, &m, &unique, &err), 0);
	char *name = xasprintf("%s:2,S", unique);
	char *path = sub_path(dir, "cur", name);
	assert_true(file_complete(path, s.len));
	free(path);
	free(name);
	free(unique);
	st_rmtree(dir);
	free(dir);
}

struct step_count {
	int n[MAILDIR_STEP_DIR_SYNCED + 1];
	int total;
	int kill_at; /* step number at which to die; -1 never */
};

static void count_step(void *ctx, enum maildir_step step)
{
	struct step_count *c = ctx;
	c->n[step]++;
	if (c->total++ == c->kill_at)
		raise(SIGKILL);
}

static void batch_shares_one_flush(void **state)
{
	char *dir = st_tmpdir();
	st_mkmaildir(dir);
	struct maildir_batch *b = maildir_batch_new(dir);
	struct step_count c = {.kill_at = -1};
	maildir_batch_set_hook(b, count_step, &c);
	struct error err = ERROR_INIT;
	struct src s[10];
	for (unsigned i = 0; i < 10; i++) {
		s[i] = (struct src){.id = i, .len = 40 + i};
		struct maildir_msg m = {src_read, &s[i], i % 2 ? MAILDIR_FLAG_SEEN : 0,
					NULL, 1000 + i, NULL};
		const char *unique;
		assert_int_equal(maildir_batch_add(b, &m, &unique, &err), 0);
	}
	assert_int_equal(maildir_batch_count(b), 10);
	/* Nothing is visible before the commit. */
	assert_ls(dir, "new", "");
	assert_ls(dir, "cur", "");
	assert_int_equal(count_sub(dir, "tmp"), 10);
	assert_int_equal(maildir_batch_commit(b, &err), 0);
	assert_int_equal(maildir_batch_count(b), 0);
	assert_int_equal(count_sub(dir, "new"), 5);
	assert_int_equal(count_sub(dir, "cur"), 5);
	assert_int_equal(count_sub(dir, "tmp"), 0);
	assert_int_equal(c.n[MAILDIR_STEP_OPENED], 10);
	assert_int_equal(c.n[MAILDIR_STEP_SYNCED], 10);
	assert_int_equal(c.n[MAILDIR_STEP_RENAMED], 10);
	/* One fsync for new/ and one for cur/, not one per message. */
	assert_int_equal(c.n[MAILDIR_STEP_DIR_SYNCED], 2);

	/* A batch freed before its commit leaves nothing behind. */
	struct src one = {.id = 9, .len = 20};
	struct maildir_msg m = {src_read, &one, 0, NULL, -1, NULL};
	const char *unique;
	assert_int_equal(maildir_batch_add(b, &m, &unique, &err), 0);
	assert_int_equal(count_sub(dir, "tmp"), 1);
	maildir_batch_free(b);
	assert_int_equal(count_sub(dir, "tmp"), 0);
	assert_int_equal(count_sub(dir, "new"), 5);
	st_rmtree(dir);
	free(dir);
}

static void batch_refuses_past_its_size(void **state)
{
	char *dir = st_tmpdir();
	st_mkmaildir(dir);
	struct maildir_batch *b = maildir_batch_new(dir);
	struct error err = ERROR_INIT;
	struct src s = {.len = 8};
	for (int i = 0; i <= MAILDIR_BATCH_MAX; i++) {
		s.pos = 0;
		struct maildir_msg m = {src_read, &s, 0, NULL, -1, NULL};
		const char *unique;
		int r = maildir_batch_add(b, &m, &unique, &err);
		assert_int_equal(r, i < MAILDIR_BATCH_MAX ? 0 : -ERR_FOLDER);
	}
	assert_non_null(strstr(err.msg, "batch full"));
	error_clear(&err);
	maildir_batch_free(b);
	assert_int_equal(count_sub(dir, "tmp"), 0);
	st_rmtree(dir);
	free(dir);
}

/* The child: three batches of four messages of varied sizes. */
static void deliver_batches(const char *dir, int kill_at)
{
	struct step_count c = {.kill_at = kill_at};
	struct error err = ERROR_INIT;
	for (unsigned batch = 0; batch < 3; batch++) {
		struct maildir_batch *b = maildir_batch_new(dir);
		maildir_batch_set_hook(b, count_step, &c);
		for (unsigned i = 0; i < 4; i++) {
			struct src s = {.id = batch * 4 + i, .len = 20000 + 70000 * i,
					.step = 8192};
			struct maildir_msg m = {src_read, &s, i % 2 ? MAILDIR_FLAG_SEEN : 0,
						NULL, 1000, NULL};
			const char *unique;
			if (maildir_batch_add(b, &m, &unique, &err) < 0)
				_exit(2);
		}
		if (maildir_batch_commit(b, &err) < 0)
			_exit(3);
		maildir_batch_free(b);
	}
	_exit(0);
}

/* Every file visible in new/ or cur/ is a whole message of one of the
 * sizes the child writes.  Returns how many there are. */
static size_t check_visible(const char *dir)
{
	struct maildir_scan scan;
	struct error err = ERROR_INIT;
	assert_int_equal(maildir_scan(dir, &scan, &err), 0);
	assert_int_equal(scan.n_skipped, 0);
	for (size_t i = 0; i < scan.n; i++) {
		const struct maildir_entry *e = &scan.entries[i];
		char *path = sub_path(dir, e->sub == MAILDIR_NEW ? "new" : "cur", e->name);
		char *data = st_read(path);
		assert_non_null(data);
		size_t len = strlen(data);
		free(data);
		assert_true(len == 20000 || len == 90000 || len == 160000 ||
			    len == 230000);
		assert_true(file_complete(path, len));
		free(path);
	}
	size_t n = scan.n;
	maildir_scan_release(&scan);
	return n;
}

/* Kills a delivering child at a step chosen at random (from a fixed
 * seed, so a failure can be reproduced), or at a random moment from the
 * outside, then checks what a reader would see. */
static void killed_delivery_shows_no_partial_file(void **state)
{
	unsigned seed = 20240601;
	/* A clean run, to learn how many steps there are. */
	int total_steps;
	{
		char *dir = st_tmpdir();
		st_mkmaildir(dir);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			deliver_batches(dir, -1);
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		assert_int_equal(check_visible(dir), 12);
		/* 12 x (opened, chunks, written, synced, renamed) + dir syncs. */
		total_steps = 0;
		for (unsigned i = 0; i < 4; i++)
			total_steps += 3 * (4 + (int)((20000 + 70000 * i + 8191) / 8192));
		total_steps += 3 * 2;
		st_rmtree(dir);
		free(dir);
	}
	for (int round = 0; round < 60; round++) {
		char *dir = st_tmpdir();
		st_mkmaildir(dir);
		bool from_outside = round % 3 == 2;
		int kill_at = from_outside ? -1 : rand_r(&seed) % total_steps;
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			deliver_batches(dir, kill_at);
		if (from_outside) {
			struct timespec ts = {0, (long)(rand_r(&seed) % 20000) * 1000};
			nanosleep(&ts, NULL);
			kill(pid, SIGKILL);
		}
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!from_outside)
			assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		size_t seen = check_visible(dir);
		assert_true(seen <= 12);
		/* What the killed run left in tmp/ is swept away. */
		struct error err = ERROR_INIT;
		assert_int_equal(maildir_clean_tmp(dir, -1, &err), 0);
		assert_int_equal(count_sub(dir, "tmp"), 0);
		assert_int_equal(check_visible(dir), seen);
		st_rmtree(dir);
		free(dir);
	}
}

static void clean_tmp_keeps_young_files(void **state)
{
	char *dir = st_tmpdir();
	st_mkmaildir(dir);
	char *young = sub_path(dir, "tmp", "young");
	st_write(young, "in flight");
	/* An old mtime does not make a file old: delivery sets mtime. */
	st_set_mtime(young, 1000, 0);
	struct error err = ERROR_INIT;
	assert_int_equal(maildir_clean_tmp(dir, 36 * 3600, &err), 0);
	assert_ls(dir, "tmp", "young");
	assert_int_equal(maildir_clean_tmp(dir, -1, &err), 0);
	assert_ls(dir, "tmp", "");
	free(young);
	st_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unseen_message_goes_to_new),
		cmocka_unit_test(flagged_message_goes_to_cur),
		cmocka_unit_test(push_style_delivery),
		cmocka_unit_test(given_unique_replaces_stale_tmp_file),
		cmocka_unit_test(refuses_bad_unique_and_letters),
		cmocka_unit_test(failing_source_leaves_nothing),
		cmocka_unit_test(streams_a_large_message),
		cmocka_unit_test(batch_shares_one_flush),
		cmocka_unit_test(batch_refuses_past_its_size),
		cmocka_unit_test(killed_delivery_shows_no_partial_file),
		cmocka_unit_test(clean_tmp_keeps_young_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
