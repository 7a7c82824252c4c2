/* SPDX-License-Identifier: MIT */
/* The parser of doveadm's JSON output, fed what doveadm 2.3 prints. */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_fetch_output(void **state)
{
	(void)state;
	const char *json =
		"[{\"uid\":\"1\",\"flags\":\"\\\\Seen \\\\Recent\","
		"\"text\":\"Subject: hi\\n\\nbody\\tline\\n\"},"
		"{\"uid\":\"2\",\"flags\":\"\",\"text\":\"caf\\u00e9 \\ud83d\\ude00\"}]\n";
	struct harness_record *recs;
	size_t n;
	struct error err = ERROR_INIT;
	assert_int_equal(harness_json_records(json, &recs, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(recs[0].count, 3);
	assert_string_equal(recs[0].keys[1], "flags");
	assert_string_equal(harness_record_get(&recs[0], "flags"),
			    "\\Seen \\Recent");
	assert_string_equal(harness_record_get(&recs[0], "text"),
			    "Subject: hi\n\nbody\tline\n");
	assert_string_equal(harness_record_get(&recs[1], "uid"), "2");
	assert_string_equal(harness_record_get(&recs[1], "flags"), "");
	assert_string_equal(harness_record_get(&recs[1], "text"),
			    "caf\xc3\xa9 \xf0\x9f\x98\x80");
	assert_null(harness_record_get(&recs[1], "guid"));
	harness_records_free(recs, n);
}

static void test_empty(void **state)
{
	(void)state;
	struct harness_record *recs;
	size_t n = 99;
	struct error err = ERROR_INIT;
	assert_int_equal(harness_json_records("[]", &recs, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_null(recs);
	assert_int_equal(harness_json_records(" [ { } ] ", &recs, &n, &err),
			 0);
	assert_int_equal(n, 1);
	assert_int_equal(recs[0].count, 0);
	harness_records_free(recs, n);
}

static void test_errors(void **state)
{
	(void)state;
	static const struct {
		const char *json, *msg;
	} cases[] = {
		{"", "doveadm JSON: expected '[' at offset 0"},
		{"[{\"a\":1}]", "doveadm JSON: expected a string at offset 6"},
		{"[{\"a\":\"x}]", "doveadm JSON: expected the end of a string "
				  "at offset 10"},
		{"[{\"a\" \"x\"}]", "doveadm JSON: expected ':' at offset 6"},
		{"[{\"a\":\"x\"}", "doveadm JSON: expected ',' or ']' at "
				 "offset 10"},
		{"[{\"a\":\"x\"}] x", "doveadm JSON: expected the end of the "
				   "output at offset 12"},
		{"[{\"a\":\"\\q\"}]", "doveadm JSON: expected an escape "
				   "character at offset 8"},
		{"[{\"a\":\"\\u12\"}]", "doveadm JSON: expected four hex "
				     "digits at offset 9"},
		{"[{\"a\":\"\\ud83d\"}]", "doveadm JSON: expected a low "
				       "surrogate at offset 13"},
	};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		struct harness_record *recs = (void *)1;
		size_t n = 99;
		struct error err = ERROR_INIT;
		assert_int_equal(harness_json_records(cases[i].json, &recs,
						      &n, &err),
				 -ERR_ACCOUNT);
		assert_string_equal(err.msg, cases[i].msg);
		assert_null(recs);
		assert_int_equal(n, 0);
		error_clear(&err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fetch_output),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
