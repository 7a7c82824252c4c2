/* SPDX-License-Identifier: MIT */
/* Maildir file names: every quirk the scan can meet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "maildir.h"

static const struct {
	const char *name;
	const char *unique;
	unsigned flags;
	const char *extra;
	uint32_t uid;
	uint64_t size;
} good_names[] = {
	{"123.abc:2,S", "123.abc", MAILDIR_FLAG_SEEN, NULL, 0, 0},
	{"123.abc:2,FRS", "123.abc",
	 MAILDIR_FLAG_FLAGGED | MAILDIR_FLAG_REPLIED | MAILDIR_FLAG_SEEN, NULL, 0, 0},
	{"123.abc:2,SRF", "123.abc",
	 MAILDIR_FLAG_FLAGGED | MAILDIR_FLAG_REPLIED | MAILDIR_FLAG_SEEN, NULL, 0, 0},
	{"123.abc:2,DFPRST", "123.abc", MAILDIR_FLAGS_ALL, NULL, 0, 0},
	{"123.abc:2,Sab", "123.abc", MAILDIR_FLAG_SEEN, "ab", 0, 0},
	{"123.abc:2,baS", "123.abc", MAILDIR_FLAG_SEEN, "ab", 0, 0},
	{"123.abc:2,SaSaX", "123.abc", MAILDIR_FLAG_SEEN, "Xa", 0, 0},
	{"123.abc", "123.abc", 0, NULL, 0, 0},
	{"123.abc:2,", "123.abc", 0, NULL, 0, 0},
	{"123.abc:1,xyz", "123.abc", 0, NULL, 0, 0},
	{"123.abc:", "123.abc", 0, NULL, 0, 0},
	{"1.2_3.host,U=42:2,S", "1.2_3.host,U=42", MAILDIR_FLAG_SEEN, NULL, 42, 0},
	{"1.2_3.host,U=4294967295", "1.2_3.host,U=4294967295", 0, NULL, 4294967295u, 0},
	{"1.2.host,U=4294967296:2,S", "1.2.host,U=4294967296", MAILDIR_FLAG_SEEN, NULL, 0, 0},
	{"1.2.host,U=12x:2,", "1.2.host,U=12x", 0, NULL, 0, 0},
	{"1.2.host,U=:2,", "1.2.host,U=", 0, NULL, 0, 0},
	{"1.2.host,S=1234,W=1300:2,S", "1.2.host,S=1234,W=1300", MAILDIR_FLAG_SEEN,
	 NULL, 0, 1234},
	{"1.2.host,S=99,U=7:2,T", "1.2.host,S=99,U=7", MAILDIR_FLAG_TRASHED, NULL, 7, 99},
	{"\xc3\xbc-utf8:2,S", "\xc3\xbc-utf8", MAILDIR_FLAG_SEEN, NULL, 0, 0},
	{"a b:2,S", "a b", MAILDIR_FLAG_SEEN, NULL, 0, 0},
};

static void parses_good_names(void **state)
{
	for (size_t i = 0; i < sizeof(good_names) / sizeof(good_names[0]); i++) {
		struct maildir_entry e;
		const char *why = NULL;
		assert_int_equal(maildir_name_parse(good_names[i].name, &e, &why), 0);
		assert_string_equal(e.name, good_names[i].name);
		assert_string_equal(e.unique, good_names[i].unique);
		assert_int_equal(e.flags, good_names[i].flags);
		if (good_names[i].extra)
			assert_string_equal(e.extra, good_names[i].extra);
		else
			assert_null(e.extra);
		assert_int_equal(e.uid, good_names[i].uid);
		assert_int_equal(e.size, good_names[i].size);
		maildir_entry_release(&e);
		assert_null(e.unique);
	}
}

static const struct {
	const char *name;
	const char *why;
} odd_names[] = {
	{"", "empty name"},
	{".", "dot file"},
	{"..", "dot file"},
	{".hidden:2,S", "dot file"},
	{"a/b:2,S", "'/' in name"},
	{"a\tb:2,S", "control character in name"},
	{"a\x7f" "b", "control character in name"},
	{"ab:2,S\x01", "control character in name"},
	{"a\nb", "control character in name"},
	{":2,S", "empty unique part"},
	{":", "empty unique part"},
};

static void reports_odd_names(void **state)
{
	for (size_t i = 0; i < sizeof(odd_names) / sizeof(odd_names[0]); i++) {
		struct maildir_entry e;
		const char *why = NULL;
		assert_int_equal(maildir_name_parse(odd_names[i].name, &e, &why), -1);
		assert_string_equal(why, odd_names[i].why);
		assert_null(e.unique);
		assert_null(e.name);
	}
}

static void formats_in_ascii_order(void **state)
{
	char *s = maildir_name_format("u", MAILDIR_FLAG_SEEN | MAILDIR_FLAG_FLAGGED, NULL);
	assert_string_equal(s, "u:2,FS");
	free(s);
	s = maildir_name_format("u", MAILDIR_FLAGS_ALL, "ba");
	assert_string_equal(s, "u:2,DFPRSTab");
	free(s);
	s = maildir_name_format("u", 0, NULL);
	assert_string_equal(s, "u:2,");
	free(s);
	/* Letters given twice, or a flag letter in extra, appear once. */
	s = maildir_name_format("u", MAILDIR_FLAG_SEEN, "aSa");
	assert_string_equal(s, "u:2,Sa");
	free(s);
}

static void round_trips_every_flag_set(void **state)
{
	for (unsigned flags = 0; flags <= MAILDIR_FLAGS_ALL; flags++) {
		char *s = maildir_name_format("1.M2P3.host,U=9", flags, "kz");
		struct maildir_entry e;
		const char *why;
		assert_int_equal(maildir_name_parse(s, &e, &why), 0);
		assert_int_equal(e.flags, flags);
		assert_string_equal(e.extra, "kz");
		assert_string_equal(e.unique, "1.M2P3.host,U=9");
		assert_int_equal(e.uid, 9);
		maildir_entry_release(&e);
		free(s);
	}
}

static void maps_flag_letters(void **state)
{
	assert_int_equal(maildir_flag_letter(MAILDIR_FLAG_DRAFT), 'D');
	assert_int_equal(maildir_flag_letter(MAILDIR_FLAG_FLAGGED), 'F');
	assert_int_equal(maildir_flag_letter(MAILDIR_FLAG_PASSED), 'P');
	assert_int_equal(maildir_flag_letter(MAILDIR_FLAG_REPLIED), 'R');
	assert_int_equal(maildir_flag_letter(MAILDIR_FLAG_SEEN), 'S');
	assert_int_equal(maildir_flag_letter(MAILDIR_FLAG_TRASHED), 'T');
	assert_int_equal(maildir_flag_letter(1u << 9), '\0');
	assert_int_equal(maildir_flag_from_letter('T'), MAILDIR_FLAG_TRASHED);
	assert_int_equal(maildir_flag_from_letter('a'), 0);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void generates_unique_plain_names(void **state)
{
	enum { N = 2000 };
	char **u = calloc(N, sizeof(*u));
	assert_non_null(u);
	for (int i = 0; i < N; i++) {
		u[i] = maildir_unique_new();
		struct maildir_entry e;
		const char *why;
		assert_int_equal(maildir_name_parse(u[i], &e, &why), 0);
		/* The whole name is the unique part and carries no hint. */
		assert_string_equal(e.unique, u[i]);
		assert_int_equal(e.uid, 0);
		assert_int_equal(e.size, 0);
		assert_null(strchr(u[i], ':'));
		assert_null(strchr(u[i], ','));
		maildir_entry_release(&e);
	}
	qsort(u, N, sizeof(*u), str_cmp);
	for (int i = 1; i < N; i++)
		assert_string_not_equal(u[i - 1], u[i]);
	for (int i = 0; i < N; i++)
		free(u[i]);
	free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_good_names),
		cmocka_unit_test(reports_odd_names),
		cmocka_unit_test(formats_in_ascii_order),
		cmocka_unit_test(round_trips_every_flag_set),
		cmocka_unit_test(maps_flag_letters),
		cmocka_unit_test(generates_unique_plain_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
