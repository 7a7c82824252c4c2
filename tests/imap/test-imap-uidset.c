/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "imap-uidset.h"

static void parses_ranges_and_star(void **state)
{
	struct imap_uid_set s;
	assert_int_equal(imap_uid_set_parse("1:3,5,9:7,20:*", &s), 0);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.v[2].lo, 7);
	assert_int_equal(s.v[2].hi, 9);
	assert_int_equal(s.v[3].hi, UINT32_MAX);
	assert_true(imap_uid_set_contains(&s, 1));
	assert_true(imap_uid_set_contains(&s, 3));
	assert_false(imap_uid_set_contains(&s, 4));
	assert_true(imap_uid_set_contains(&s, 5));
	assert_false(imap_uid_set_contains(&s, 6));
	assert_true(imap_uid_set_contains(&s, 8));
	assert_false(imap_uid_set_contains(&s, 19));
	assert_true(imap_uid_set_contains(&s, 4000000000u));
	imap_uid_set_free(&s);
}

static void unordered_and_overlapping(void **state)
{
	struct imap_uid_set s;
	assert_int_equal(imap_uid_set_parse("10:20,1:100,5", &s), 0);
	assert_true(imap_uid_set_contains(&s, 50));
	assert_true(imap_uid_set_contains(&s, 100));
	assert_false(imap_uid_set_contains(&s, 101));
	/* COPYUID pairs UIDs in the order written. */
	assert_int_equal(imap_uid_set_count(&s), 11 + 100 + 1);
	assert_int_equal(imap_uid_set_nth(&s, 0), 10);
	assert_int_equal(imap_uid_set_nth(&s, 10), 20);
	assert_int_equal(imap_uid_set_nth(&s, 11), 1);
	assert_int_equal(imap_uid_set_nth(&s, 111), 5);
	assert_int_equal(imap_uid_set_nth(&s, 112), 0);
	imap_uid_set_free(&s);
}

static void refuses_what_is_not_a_set(void **state)
{
	static const char *bad[] = {"", ",", "1,", ",1", "0", "1:0", "a", "1::2",
				    "4294967296", "1 2", "1:2:3", "-1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct imap_uid_set s;
		if (imap_uid_set_parse(bad[i], &s) == 0)
			fail_msg("'%s' parsed", bad[i]);
		assert_null(s.v);
	}
}

static void formats_runs(void **state)
{
	const uint32_t u[] = {9, 1, 2, 3, 5, 3, 10, 11, 7};
	char *s = imap_uid_set_format(u, 9);
	assert_string_equal(s, "1:3,5,7,9:11");
	free(s);
	const uint32_t one[] = {42};
	s = imap_uid_set_format(one, 1);
	assert_string_equal(s, "42");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_ranges_and_star),
		cmocka_unit_test(unordered_and_overlapping),
		cmocka_unit_test(refuses_what_is_not_a_set),
		cmocka_unit_test(formats_runs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
