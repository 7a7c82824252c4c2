/* SPDX-License-Identifier: MIT */
/*
 * The IMAP client against a private Dovecot (tests/harness): TLS both
 * ways, certificate refusals, login, capabilities, folders, COMPRESS.
 * Results are checked against doveadm, which does not use our code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "imap-cmds.h"

static struct harness h;

static int setup(void **state)
{
	if (!harness_available())
		return -1;
	struct error err = ERROR_INIT;
	struct harness_opts o = {.compress = true};
	if (harness_start(&h, &o, &err) < 0) {
		fprintf(stderr, "harness: %s\n", err.msg);
		error_clear(&err);
		return -1;
	}
	if (harness_mailbox_create(&h, NULL, "Sent", &err) < 0
	    || harness_mailbox_create(&h, NULL, "Caf\xc3\xa9/Men\xc3\xbc", &err)
		       < 0) {
		fprintf(stderr, "harness: %s\n", err.msg);
		error_clear(&err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	harness_stop(&h);
	return 0;
}

struct trace {
	struct buf all;
};

static void trace_fn(void *ctx, const char *line)
{
	struct trace *t = ctx;
	buf_addf(&t->all, "%s\n", line);
}

static struct imap_options opts_for(enum imap_tls_mode mode)
{
	struct imap_options o = {
		.host = h.host,
		.port = mode == IMAP_TLS_IMPLICIT ? h.imaps_port : h.imap_port,
		.tls = mode,
		.ca_file = h.ca_file,
		.user = h.user,
		.secret = h.password,
		.timeout_ms = 10000,
	};
	return o;
}

/* Runs check, which must succeed. */
static void check_ok(const struct imap_options *o,
		     struct imap_check_result *res)
{
	struct error err = ERROR_INIT;
	if (imap_check(o, res, &err) < 0)
		fail_msg("check: %s", err.msg);
}

static bool has(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

/* The folder names check saw, sorted, against doveadm's list. */
static void check_folders_match_doveadm(const struct imap_check_result *res)
{
	struct error err = ERROR_INIT;
	char **names;
	size_t n;
	assert_int_equal(harness_mailbox_list(&h, NULL, &names, &n, &err), 0);
	assert_int_equal(res->n_folders, n);
	for (size_t i = 0; i < n; i++) {
		bool found = false;
		for (size_t j = 0; j < res->n_folders; j++)
			if (strcmp(res->folders[j].name, names[i]) == 0)
				found = true;
		if (!found)
			fail_msg("folder %s missing from LIST", names[i]);
	}
	harness_strv_free(names, n);
}

static void check_over_implicit_tls(void **state)
{
	struct imap_options o = opts_for(IMAP_TLS_IMPLICIT);
	struct trace t = {.all = BUF_INIT(BUF_UNLIMITED)};
	o.trace = trace_fn;
	o.trace_ctx = &t;
	struct imap_check_result res;
	check_ok(&o, &res);
	assert_true(res.tls);
	assert_false(res.compressed);
	assert_true(has(res.caps, res.n_caps, "IMAP4rev1"));
	assert_true(has(res.caps, res.n_caps, "CONDSTORE"));
	check_folders_match_doveadm(&res);
	bool saw_sent = false, saw_cafe = false;
	for (size_t i = 0; i < res.n_folders; i++) {
		const struct imap_folder *f = &res.folders[i];
		if (strcmp(f->name, "Sent") == 0)
			saw_sent = true;
		if (strcmp(f->name, "Caf\xc3\xa9/Men\xc3\xbc") == 0) {
			saw_cafe = true;
			assert_string_equal(f->wire, "Caf&AOk-/Men&APw-");
			assert_int_equal(f->delim, '/');
		}
	}
	assert_true(saw_sent);
	assert_true(saw_cafe);
	/* The password never reaches the trace; the command does. */
	assert_null(strstr(t.all.data, h.password));
	assert_non_null(strstr(t.all.data, "AUTHENTICATE PLAIN <redacted>"));
	assert_non_null(strstr(t.all.data, "C: T"));
	imap_check_result_free(&res);
	buf_release(&t.all);
}

static void check_over_starttls(void **state)
{
	struct imap_options o = opts_for(IMAP_TLS_STARTTLS);
	struct imap_check_result res;
	check_ok(&o, &res);
	assert_true(res.tls);
	assert_false(has(res.caps, res.n_caps, "STARTTLS"));
	check_folders_match_doveadm(&res);
	imap_check_result_free(&res);
}

static void expect_failure(const struct imap_options *o, const char *want)
{
	struct imap_check_result res;
	struct error err = ERROR_INIT;
	assert_int_equal(imap_check(o, &res, &err), -ERR_ACCOUNT);
	assert_int_equal(err.reach, ERR_ACCOUNT);
	if (!strstr(err.msg, want))
		fail_msg("error \"%s\" does not say \"%s\"", err.msg, want);
	assert_null(res.caps);
	assert_null(res.folders);
	error_clear(&err);
}

static void untrusted_certificate_is_refused(void **state)
{
	struct imap_options o = opts_for(IMAP_TLS_IMPLICIT);
	o.ca_file = NULL;
	expect_failure(&o, "certificate for 127.0.0.1 not accepted: The "
			   "certificate is NOT trusted.");
	o = opts_for(IMAP_TLS_STARTTLS);
	o.ca_file = NULL;
	expect_failure(&o, "certificate for 127.0.0.1 not accepted: The "
			   "certificate is NOT trusted.");
}

static void wrong_host_name_is_refused(void **state)
{
	struct imap_options o = opts_for(IMAP_TLS_IMPLICIT);
	o.host = h.alt_host;
	expect_failure(&o, "certificate for 127.0.0.2 not accepted: The "
			   "certificate is NOT trusted. The name in the "
			   "certificate does not match the expected.");
	o = opts_for(IMAP_TLS_STARTTLS);
	o.host = h.alt_host;
	expect_failure(&o, "does not match the expected");
}

static void wrong_password_is_refused(void **state)
{
	struct imap_options o = opts_for(IMAP_TLS_IMPLICIT);
	o.secret = "not the password";
	expect_failure(&o, "login as alice (PLAIN): server said NO: ");
	static const enum imap_auth login[] = {IMAP_AUTH_LOGIN};
	o.auth = login;
	o.n_auth = 1;
	expect_failure(&o, "login as alice (LOGIN): server said NO: ");
}

static void login_command_works(void **state)
{
	static const enum imap_auth login[] = {IMAP_AUTH_LOGIN};
	struct imap_options o = opts_for(IMAP_TLS_STARTTLS);
	o.auth = login;
	o.n_auth = 1;
	struct trace t = {.all = BUF_INIT(BUF_UNLIMITED)};
	o.trace = trace_fn;
	o.trace_ctx = &t;
	struct imap_client *c;
	struct error err = ERROR_INIT;
	if (imap_connect(&o, &c, &err) < 0)
		fail_msg("connect: %s", err.msg);
	assert_non_null(strstr(t.all.data, "LOGIN alice <redacted>"));
	assert_null(strstr(t.all.data, h.password));
	assert_int_equal(imap_logout(c, &err), 0);
	imap_close(c);
	buf_release(&t.all);
}

static void pin_is_checked(void **state)
{
	struct imap_options o = opts_for(IMAP_TLS_IMPLICIT);
	o.pin_sha256 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
	struct imap_check_result res;
	struct error err = ERROR_INIT;
	assert_int_equal(imap_check(&o, &res, &err), -ERR_ACCOUNT);
	const char *is = strstr(err.msg, "does not match pin_sha256 (it is ");
	assert_non_null(is);
	/* The real pin, as the message gives it, is accepted. */
	is += strlen("does not match pin_sha256 (it is ");
	char *pin = xstrndup(is, strcspn(is, ")"));
	assert_int_equal(strlen(pin), 44);
	o.pin_sha256 = pin;
	error_clear(&err);
	if (imap_check(&o, &res, &err) < 0)
		fail_msg("check with pin: %s", err.msg);
	imap_check_result_free(&res);
	free(pin);
}

static void compress_when_asked(void **state)
{
	struct imap_options o = opts_for(IMAP_TLS_IMPLICIT);
	o.compress = true;
	struct imap_check_result res;
	check_ok(&o, &res);
	assert_true(res.compressed);
	check_folders_match_doveadm(&res);
	imap_check_result_free(&res);
}

static void plaintext_only_on_loopback(void **state)
{
	struct imap_options o = opts_for(IMAP_TLS_NONE);
	o.host = "192.0.2.1"; /* TEST-NET: never reached */
	expect_failure(&o, "refusing an unencrypted connection to 192.0.2.1");
	o = opts_for(IMAP_TLS_NONE);
	struct imap_check_result res;
	check_ok(&o, &res);
	assert_false(res.tls);
	imap_check_result_free(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(check_over_implicit_tls),
		cmocka_unit_test(check_over_starttls),
		cmocka_unit_test(untrusted_certificate_is_refused),
		cmocka_unit_test(wrong_host_name_is_refused),
		cmocka_unit_test(wrong_password_is_refused),
		cmocka_unit_test(login_command_works),
		cmocka_unit_test(pin_is_checked),
		cmocka_unit_test(compress_when_asked),
		cmocka_unit_test(plaintext_only_on_loopback),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
