/* SPDX-License-Identifier: MIT */
/* Flag renames, moves between folders and deletion, including files a
 * mail reader renamed since the scan and operations done twice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "maildir.h"
#include "store-test.h"

struct fixture {
	char *root, *a, *b;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	f->root = st_tmpdir();
	f->a = xasprintf("%s/A", f->root);
	f->b = xasprintf("%s/B", f->root);
	st_mkmaildir(f->a);
	st_mkmaildir(f->b);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	st_rmtree(f->root);
	free(f->root);
	free(f->a);
	free(f->b);
	free(f);
	return 0;
}

static void put(const char *dir, const char *sub, const char *name)
{
	char *p = xasprintf("%s/%s/%s", dir, sub, name);
	st_write(p, name);
	free(p);
}

static void assert_ls(const char *dir, const char *sub, const char *expect)
{
	char *d = xasprintf("%s/%s", dir, sub);
	char *l = st_ls(d);
	assert_string_equal(l, expect);
	free(l);
	free(d);
}

/* The entry for a name, as a scan would give it. */
static struct maildir_entry entry(const char *name, enum maildir_sub sub)
{
	struct maildir_entry e;
	const char *why;
	assert_int_equal(maildir_name_parse(name, &e, &why), 0);
	e.sub = sub;
	return e;
}

static void flags_move_message_from_new_to_cur(void **state)
{
	struct fixture *f = *state;
	put(f->a, "new", "m1");
	struct maildir_entry e = entry("m1", MAILDIR_NEW);
	struct error err = ERROR_INIT;
	assert_int_equal(maildir_set_flags(f->a, &e, MAILDIR_FLAG_SEEN, NULL, 0, &err), 0);
	assert_ls(f->a, "new", "");
	assert_ls(f->a, "cur", "m1:2,S");
	assert_string_equal(e.name, "m1:2,S");
	assert_int_equal(e.sub, MAILDIR_CUR);
	assert_int_equal(e.flags, MAILDIR_FLAG_SEEN);
	/* Content follows the name. */
	char *p = xasprintf("%s/cur/m1:2,S", f->a);
	char *data = st_read(p);
	assert_string_equal(data, "m1");
	free(data);
	free(p);

	/* Clearing every flag keeps it in cur/ with an empty info. */
	assert_int_equal(maildir_set_flags(f->a, &e, 0, NULL, MAILDIR_OP_NO_SYNC, &err), 0);
	assert_ls(f->a, "cur", "m1:2,");
	assert_int_equal(maildir_folder_sync(f->a, &err), 0);
	maildir_entry_release(&e);

	/* No flags on a message in new/: nothing moves. */
	put(f->a, "new", "m2");
	e = entry("m2", MAILDIR_NEW);
	assert_int_equal(maildir_set_flags(f->a, &e, 0, NULL, 0, &err), 0);
	assert_ls(f->a, "new", "m2");
	maildir_entry_release(&e);
}

static void flags_keep_unknown_letters(void **state)
{
	struct fixture *f = *state;
	put(f->a, "cur", "m1:2,Sab");
	struct maildir_entry e = entry("m1:2,Sab", MAILDIR_CUR);
	struct error err = ERROR_INIT;
	char *extra = xstrdup(e.extra);
	assert_int_equal(maildir_set_flags(f->a, &e,
					   MAILDIR_FLAG_FLAGGED | MAILDIR_FLAG_REPLIED,
					   extra, 0, &err), 0);
	assert_ls(f->a, "cur", "m1:2,FRab");
	assert_string_equal(e.extra, "ab");
	free(extra);
	maildir_entry_release(&e);
}

static void flags_follow_a_file_renamed_by_a_reader(void **state)
{
	struct fixture *f = *state;
	put(f->a, "cur", "m1:2,RS");
	/* The scan saw it before the reader added R. */
	struct maildir_entry e = entry("m1:2,S", MAILDIR_CUR);
	struct error err = ERROR_INIT;
	assert_int_equal(maildir_set_flags(f->a, &e, MAILDIR_FLAG_FLAGGED, NULL, 0, &err), 0);
	assert_ls(f->a, "cur", "m1:2,F");
	maildir_entry_release(&e);

	/* A message that is gone cannot get flags. */
	e = entry("gone:2,S", MAILDIR_CUR);
	assert_int_equal(maildir_set_flags(f->a, &e, MAILDIR_FLAG_SEEN, NULL, 0, &err),
			 -ERR_MESSAGE);
	assert_non_null(strstr(err.msg, "message gone is gone"));
	error_clear(&err);
	maildir_entry_release(&e);
}

static void move_keeps_the_name_and_is_repeatable(void **state)
{
	struct fixture *f = *state;
	put(f->a, "cur", "m1:2,S");
	put(f->a, "new", "m2");
	struct maildir_entry e1 = entry("m1:2,S", MAILDIR_CUR);
	struct maildir_entry e2 = entry("m2", MAILDIR_NEW);
	struct error err = ERROR_INIT;
	assert_int_equal(maildir_move(f->a, &e1, f->b, 0, &err), 0);
	assert_int_equal(maildir_move(f->a, &e2, f->b, 0, &err), 0);
	assert_ls(f->a, "cur", "");
	assert_ls(f->a, "new", "");
	assert_ls(f->b, "cur", "m1:2,S");
	assert_ls(f->b, "new", "m2");

	/* Done already (a rerun after a crash): found in B, success. */
	struct maildir_entry again = entry("m1:2,S", MAILDIR_CUR);
	assert_int_equal(maildir_move(f->a, &again, f->b, 0, &err), 0);
	assert_string_equal(again.name, "m1:2,S");
	maildir_entry_release(&again);

	/* Never replaces a file in the destination. */
	put(f->a, "cur", "m1:2,S");
	assert_int_equal(maildir_move(f->a, &e1, f->b, 0, &err), -ERR_MESSAGE);
	assert_non_null(strstr(err.msg, "File exists"));
	error_clear(&err);
	assert_ls(f->a, "cur", "m1:2,S");

	/* Gone from both: an error for that one message. */
	struct maildir_entry lost = entry("lost", MAILDIR_NEW);
	assert_int_equal(maildir_move(f->a, &lost, f->b, 0, &err), -ERR_MESSAGE);
	error_clear(&err);
	maildir_entry_release(&lost);
	maildir_entry_release(&e1);
	maildir_entry_release(&e2);
}

static void delete_is_repeatable(void **state)
{
	struct fixture *f = *state;
	put(f->a, "cur", "m1:2,FS");
	put(f->a, "cur", "m2:2,S");
	/* m1 was renamed by a reader since the scan. */
	struct maildir_entry e1 = entry("m1:2,S", MAILDIR_CUR);
	struct maildir_entry e2 = entry("m2:2,S", MAILDIR_CUR);
	struct error err = ERROR_INIT;
	assert_int_equal(maildir_delete(f->a, &e1, 0, &err), 0);
	assert_int_equal(maildir_delete(f->a, &e2, MAILDIR_OP_NO_SYNC, &err), 0);
	assert_ls(f->a, "cur", "");
	assert_int_equal(maildir_delete(f->a, &e2, 0, &err), 0);
	assert_string_equal(e1.name, "m1:2,S");
	maildir_entry_release(&e1);
	maildir_entry_release(&e2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(flags_move_message_from_new_to_cur, setup, teardown),
		cmocka_unit_test_setup_teardown(flags_keep_unknown_letters, setup, teardown),
		cmocka_unit_test_setup_teardown(flags_follow_a_file_renamed_by_a_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(move_keeps_the_name_and_is_repeatable, setup, teardown),
		cmocka_unit_test_setup_teardown(delete_is_repeatable, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
