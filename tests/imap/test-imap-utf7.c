/* SPDX-License-Identifier: MIT */
/* Modified UTF-7 both ways, with RFC 3501's examples and broken input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "imap.h"

static void round_trip(const char *utf8, const char *mutf7)
{
	char *out;
	assert_int_equal(imap_utf7_encode(utf8, &out, NULL), 0);
	assert_string_equal(out, mutf7);
	free(out);
	assert_int_equal(imap_utf7_decode(mutf7, &out, NULL), 0);
	assert_string_equal(out, utf8);
	free(out);
}

static void both_ways(void **state)
{
	round_trip("", "");
	round_trip("INBOX", "INBOX");
	round_trip("Tom & Jerry", "Tom &- Jerry");
	round_trip("&&", "&-&-");
	round_trip("~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
		   "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
	round_trip("Caf\xc3\xa9", "Caf&AOk-");
	round_trip("\xc3\xa9t\xc3\xa9", "&AOk-t&AOk-");
	/* U+1F600, a surrogate pair in UTF-16. */
	round_trip("x\xf0\x9f\x98\x80y", "x&2D3eAA-y");
	/* A control character is encoded too. */
	round_trip("a\tb", "a&AAk-b");
}

static void bad_input(void **state)
{
	static const char *const bad7[] = {
		"&",         /* unterminated */
		"&AOk",      /* unterminated */
		"&AGE-",     /* "a" encoded: must stand for itself */
		"&AO-",      /* leftover bits not zero */
		"&2D0-",     /* half a surrogate pair */
		"&3gA-",     /* low surrogate alone */
		"&AO!-",     /* not base64 */
		"caf\xc3\xa9", /* 8-bit */
	};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad7); i++) {
		char *out = (char *)1;
		struct error err = ERROR_INIT;
		assert_int_equal(imap_utf7_decode(bad7[i], &out, &err),
				 -ERR_FOLDER);
		assert_null(out);
		char *want = xasprintf("mailbox name \"%s\" is not valid "
				       "modified UTF-7",
				       bad7[i]);
		assert_string_equal(err.msg, want);
		free(want);
		error_clear(&err);
	}
	static const char *const bad8[] = {
		"\xc3", "\xc3\x28", "\xe0\x80\x80", "\xed\xa0\x80",
		"\xf4\x90\x80\x80", "\xff",
	};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad8); i++) {
		char *out = (char *)1;
		struct error err = ERROR_INIT;
		assert_int_equal(imap_utf7_encode(bad8[i], &out, &err),
				 -ERR_FOLDER);
		assert_null(out);
		assert_non_null(strstr(err.msg, "is not valid UTF-8"));
		error_clear(&err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(both_ways),
		cmocka_unit_test(bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
