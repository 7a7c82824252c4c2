/* SPDX-License-Identifier: MIT */
/* Scanning a folder, odd names in it, and the directory-time skip with
 * its same-clock-tick guard. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "maildir.h"
#include "store-test.h"

static void put(const char *dir, const char *sub, const char *name)
{
	char *p = xasprintf("%s/%s/%s", dir, sub, name);
	st_write(p, "Subject: x\n\nbody\n");
	free(p);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Puts both directory times at sec (seconds since the epoch). */
static void age_dirs(const char *dir, long long sec)
{
	char *n = xasprintf("%s/new", dir), *c = xasprintf("%s/cur", dir);
	st_set_mtime(n, sec, 111);
	st_set_mtime(c, sec, 222);
	free(n);
	free(c);
}

static void scans_entries_and_reports_odd_names(void **state)
{
	char *dir = st_tmpdir();
	st_mkmaildir(dir);
	put(dir, "cur", "b1:2,S");
	put(dir, "cur", "a2:2,FRx");
	put(dir, "new", "c3");
	put(dir, "new", "m1.host,U=77");
	put(dir, "cur", "bad\001name:2,S");
	put(dir, "cur", ":2,S");
	put(dir, "cur", ".dotfile");
	put(dir, "cur", "dup:2,S");
	put(dir, "new", "dup");
	char *sub = xasprintf("%s/cur/adir", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	free(sub);

	struct maildir_scan scan;
	struct error err = ERROR_INIT;
	assert_int_equal(maildir_scan(dir, &scan, &err), 0);
	assert_int_equal(scan.n, 5);
	const char *uniques[] = {"a2", "b1", "c3", "dup", "m1.host,U=77"};
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(scan.entries[i].unique, uniques[i]);
	assert_int_equal(scan.entries[0].flags, MAILDIR_FLAG_FLAGGED | MAILDIR_FLAG_REPLIED);
	assert_string_equal(scan.entries[0].extra, "x");
	assert_int_equal(scan.entries[0].sub, MAILDIR_CUR);
	assert_int_equal(scan.entries[2].sub, MAILDIR_NEW);
	assert_int_equal(scan.entries[2].flags, 0);
	/* Of a duplicate, the cur/ copy is kept. */
	assert_int_equal(scan.entries[3].sub, MAILDIR_CUR);
	assert_string_equal(scan.entries[3].name, "dup:2,S");
	assert_int_equal(scan.entries[4].uid, 77);

	assert_int_equal(scan.n_skipped, 4);
	int found = 0;
	for (size_t i = 0; i < scan.n_skipped; i++) {
		const struct maildir_skip *s = &scan.skipped[i];
		if (!strcmp(s->name, "cur/bad\001name:2,S"))
			found += !strcmp(s->why, "control character in name");
		else if (!strcmp(s->name, "cur/:2,S"))
			found += !strcmp(s->why, "empty unique part");
		else if (!strcmp(s->name, "cur/adir"))
			found += !strcmp(s->why, "not a regular file");
		else if (!strcmp(s->name, "new/dup"))
			found += !strcmp(s->why, "duplicate unique part; cur/dup:2,S kept");
	}
	assert_int_equal(found, 4);

	const struct maildir_entry *e = maildir_scan_find(&scan, "b1");
	assert_non_null(e);
	assert_string_equal(e->name, "b1:2,S");
	assert_null(maildir_scan_find(&scan, "b"));
	assert_null(maildir_scan_find(&scan, "zz"));
	maildir_scan_release(&scan);
	assert_int_equal(scan.n, 0);

	struct maildir_entry f;
	assert_int_equal(maildir_find(dir, "c3", &f, &err), 1);
	assert_int_equal(f.sub, MAILDIR_NEW);
	maildir_entry_release(&f);
	assert_int_equal(maildir_find(dir, "a2", &f, &err), 1);
	assert_string_equal(f.name, "a2:2,FRx");
	maildir_entry_release(&f);
	/* A prefix of a unique part is not a match. */
	assert_int_equal(maildir_find(dir, "a", &f, &err), 0);
	assert_int_equal(maildir_find(dir, "m1.host", &f, &err), 0);
	st_rmtree(dir);
	free(dir);
}

static void broken_folder_is_a_folder_error(void **state)
{
	char *dir = st_tmpdir();
	char *n = xasprintf("%s/new", dir);
	assert_int_equal(mkdir(n, 0700), 0);
	struct maildir_scan scan;
	struct error err = ERROR_INIT;
	assert_int_equal(maildir_scan(dir, &scan, &err), -ERR_FOLDER);
	assert_non_null(strstr(err.msg, "/cur: No such file or directory"));
	error_clear(&err);
	struct maildir_entry e;
	assert_int_equal(maildir_find(dir, "x", &e, &err), -ERR_FOLDER);
	error_clear(&err);
	free(n);
	st_rmtree(dir);
	free(dir);
}

static void settled_needs_both_times_old_enough(void **state)
{
	int64_t now = now_ns();
	int64_t sec = 1000000000;
	struct maildir_stamp s = {now - 3 * sec, now - 2 * sec};
	assert_true(maildir_stamp_settled(&s, now));
	s.cur_ns = now - 2 * sec + 1;
	assert_false(maildir_stamp_settled(&s, now));
	s = (struct maildir_stamp){now - 3 * sec, now + sec};
	assert_false(maildir_stamp_settled(&s, now));
	s = (struct maildir_stamp){0, 0};
	assert_false(maildir_stamp_settled(&s, now));
}

static void skips_unchanged_folder(void **state)
{
	char *dir = st_tmpdir();
	st_mkmaildir(dir);
	put(dir, "cur", "a:2,S");
	long long old = (long long)(now_ns() / 1000000000) - 100;
	age_dirs(dir, old);

	struct maildir_scan scan;
	struct error err = ERROR_INIT;
	assert_int_equal(maildir_scan(dir, &scan, &err), 0);
	assert_int_equal(scan.stamp.new_ns, old * 1000000000 + 111);
	assert_int_equal(scan.stamp.cur_ns, old * 1000000000 + 222);
	struct maildir_stamp remembered = scan.stamp;
	maildir_scan_release(&scan);
	assert_int_equal(maildir_unchanged(dir, &remembered, &err), 1);

	/* A new file moves new/'s time: scan again. */
	put(dir, "new", "b");
	assert_int_equal(maildir_unchanged(dir, &remembered, &err), 0);

	/* A flag change (a rename in cur/) moves cur/'s time. */
	age_dirs(dir, old);
	assert_int_equal(maildir_unchanged(dir, &remembered, &err), 1);
	char *from = xasprintf("%s/cur/a:2,S", dir), *to = xasprintf("%s/cur/a:2,FS", dir);
	assert_int_equal(rename(from, to), 0);
	assert_int_equal(maildir_unchanged(dir, &remembered, &err), 0);
	free(from);
	free(to);

	/* A zero stamp is never trusted. */
	struct maildir_stamp zero = {0, 0};
	age_dirs(dir, old);
	assert_int_equal(maildir_unchanged(dir, &zero, &err), 0);
	st_rmtree(dir);
	free(dir);
}

static void change_in_same_clock_tick_is_not_missed(void **state)
{
	char *dir = st_tmpdir();
	st_mkmaildir(dir);
	put(dir, "cur", "a:2,S");
	/* The directories changed a moment ago: the scan's stamp is young. */
	long long tick = (long long)(now_ns() / 1000000000) - 1;
	age_dirs(dir, tick);
	struct maildir_scan scan;
	struct error err = ERROR_INIT;
	assert_int_equal(maildir_scan(dir, &scan, &err), 0);
	assert_int_equal(scan.n, 1);
	assert_int_equal(scan.stamp.new_ns, 0);
	assert_int_equal(scan.stamp.cur_ns, 0);
	struct maildir_stamp remembered = scan.stamp;
	maildir_scan_release(&scan);

	/* A delivery in the same tick leaves the times as they were (the
	 * clock did not move), which is exactly what the guard is for. */
	put(dir, "new", "b");
	age_dirs(dir, tick);
	assert_int_equal(maildir_unchanged(dir, &remembered, &err), 0);
	assert_int_equal(maildir_scan(dir, &scan, &err), 0);
	assert_int_equal(scan.n, 2);
	maildir_scan_release(&scan);

	/* Without the guard the same tick would hide it: a stamp taken as
	 * trusted compares equal although a file came in. */
	struct maildir_stamp naive;
	assert_int_equal(maildir_stamp_read(dir, &naive, &err), 0);
	put(dir, "new", "c");
	age_dirs(dir, tick);
	assert_int_equal(maildir_unchanged(dir, &naive, &err), 1);
	assert_false(maildir_stamp_settled(&naive, now_ns()));
	st_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(scans_entries_and_reports_odd_names),
		cmocka_unit_test(broken_folder_is_a_folder_error),
		cmocka_unit_test(settled_needs_both_times_old_enough),
		cmocka_unit_test(skips_unchanged_folder),
		cmocka_unit_test(change_in_same_clock_tick_is_not_missed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
