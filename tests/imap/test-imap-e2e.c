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

#include <ctype.h>
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

/* The error must contain want; with at_end, end with it exactly. */
static void expect_failure_at(const struct imap_options *o, const char *want,
			      bool at_end)
{
	struct imap_check_result res;
	struct error err = ERROR_INIT;
	assert_int_equal(imap_check(o, &res, &err), -ERR_ACCOUNT);
	assert_int_equal(err.reach, ERR_ACCOUNT);
	const char *at = strstr(err.msg, want);
	if (!at || (at_end && strcmp(at, want) != 0))
		fail_msg("error \"%s\" does not %s \"%s\"", err.msg,
			 at_end ? "end with" : "say", want);
	/* One line, nothing dangling after it. */
	size_t len = strlen(err.msg);
	assert_true(len > 0);
	assert_null(strchr(err.msg, '\n'));
	assert_false(isspace((unsigned char)err.msg[len - 1]));
	assert_null(res.caps);
	assert_null(res.folders);
	error_clear(&err);
}

static void expect_failure(const struct imap_options *o, const char *want)
{
	expect_failure_at(o, want, false);
}

static void untrusted_certificate_is_refused(void **state)
{
	struct imap_options o = opts_for(IMAP_TLS_IMPLICIT);
	o.ca_file = NULL;
	expect_failure_at(&o, "certificate for 127.0.0.1 not accepted: The "
			      "certificate is NOT trusted. The certificate "
			      "issuer is unknown.",
			  true);
	o = opts_for(IMAP_TLS_STARTTLS);
	o.ca_file = NULL;
	expect_failure_at(&o, "certificate for 127.0.0.1 not accepted: The "
			      "certificate is NOT trusted. The certificate "
			      "issuer is unknown.",
			  true);
}

static void wrong_host_name_is_refused(void **state)
{
	struct imap_options o = opts_for(IMAP_TLS_IMPLICIT);
	o.host = h.alt_host;
	/* GnuTLS's text ends in ". ": the message must not. */
	expect_failure_at(&o, "certificate for 127.0.0.2 not accepted: The "
			      "certificate is NOT trusted. The name in the "
			      "certificate does not match the expected.",
			  true);
	o = opts_for(IMAP_TLS_STARTTLS);
	o.host = h.alt_host;
	expect_failure_at(&o, "does not match the expected.", true);
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

struct fetch_log {
	struct buf bodies;
	uint32_t uids[8];
	uint64_t modseq[8];
	size_t n;
	bool modified_seen;
};

static int fetch_untagged(void *ctx, const struct imap_response *r,
			  struct error *err)
{
	struct fetch_log *l = ctx;
	if (r->type == IMAP_U_FETCH && l->n < 8
	    && (r->fetch.have & IMAP_FETCH_UID)) {
		l->uids[l->n] = r->fetch.uid;
		l->modseq[l->n++] = r->fetch.modseq;
	}
	return 0;
}

static int body_sink(void *ctx, const struct imap_body_chunk *ch,
		     struct error *err)
{
	struct fetch_log *l = ctx;
	buf_add(&l->bodies, ch->data, ch->len);
	if (ch->offset + ch->len == ch->size)
		buf_adds(&l->bodies, "|");
	return 0;
}

struct mem_reader {
	const char *data;
	size_t off;
};

static int mem_read(void *ctx, void *buf, size_t cap, size_t *n_r,
		    struct error *err)
{
	struct mem_reader *m = ctx;
	size_t left = strlen(m->data) - m->off;
	*n_r = left < cap ? left : cap;
	memcpy(buf, m->data + m->off, *n_r);
	m->off += *n_r;
	return 0;
}

static void store_done(void *ctx, const struct imap_response *r)
{
	struct fetch_log *l = ctx;
	if (r->code.type == IMAP_CODE_MODIFIED)
		l->modified_seen = true;
}

static const char msg1[] = "Subject: one\r\nMessage-ID: <1@x>\r\n\r\nfirst\r\n";
static const char msg2[] = "Subject: two\r\nMessage-ID: <2@x>\r\n\r\nsecond\r\n";
static const char msg3[] = "Subject: three\r\n\r\nthird\r\n";

static char *flags_of(const char *folder, uint32_t uid)
{
	struct harness_msg *m;
	size_t n;
	struct error err = ERROR_INIT;
	assert_int_equal(harness_fetch(&h, NULL, folder, NULL, &m, &n, &err), 0);
	char *flags = NULL;
	for (size_t i = 0; i < n; i++)
		if (m[i].uid == uid)
			flags = xstrdup(m[i].flags);
	harness_msgs_free(m, n);
	return flags;
}

static void commands_against_doveadm(void **state)
{
	struct error err = ERROR_INIT;
	uint32_t u1, u2;
	assert_int_equal(harness_save(&h, NULL, "INBOX", msg1, &u1, &err), 0);
	assert_int_equal(harness_save(&h, NULL, "INBOX", msg2, &u2, &err), 0);
	struct imap_options o = opts_for(IMAP_TLS_IMPLICIT);
	struct imap_client *c;
	if (imap_connect(&o, &c, &err) < 0)
		fail_msg("connect: %s", err.msg);
	size_t enabled;
	assert_int_equal(imap_enable(c, "CONDSTORE QRESYNC", &enabled, &err), 0);
	assert_int_equal(enabled, 2);
	assert_int_equal(imap_id(c, &err), 0);
	char *prefix, delim;
	assert_int_equal(imap_namespace(c, &prefix, &delim, &err), 0);
	assert_string_equal(prefix, "");
	assert_int_equal(delim, '/');
	free(prefix);

	/* Folders: create, rename, delete, seen by doveadm. */
	char *wire;
	assert_int_equal(imap_mailbox_wire(c, "W\xc3\xb6rk", &wire, &err), 0);
	assert_string_equal(wire, "W&APY-rk");
	assert_int_equal(imap_create(c, wire, &err), 0);
	struct harness_status st;
	assert_int_equal(harness_mailbox_status(&h, NULL, "W\xc3\xb6rk", &st,
						&err), 0);
	assert_int_equal(imap_rename(c, wire, "Work 2", &err), 0);
	assert_int_equal(harness_mailbox_status(&h, NULL, "Work 2", &st, &err),
			 0);
	assert_int_equal(imap_delete(c, "Work 2", &err), 0);
	assert_true(harness_mailbox_status(&h, NULL, "Work 2", &st, &err) < 0);
	error_clear(&err);
	assert_int_equal(imap_delete(c, "Work 2", &err), -ERR_FOLDER);
	assert_non_null(strstr(err.msg, "mailbox Work 2: DELETE: server said NO"));
	error_clear(&err);
	free(wire);

	/* SELECT agrees with doveadm. */
	assert_int_equal(harness_mailbox_status(&h, NULL, "INBOX", &st, &err), 0);
	struct imap_select_opts so = {.condstore = true};
	struct imap_mailbox mb;
	assert_int_equal(imap_select(c, "INBOX", &so, &mb, &err), 0);
	assert_int_equal(mb.exists, st.messages);
	assert_int_equal(mb.uidvalidity, st.uidvalidity);
	assert_int_equal(mb.uidnext, st.uidnext);
	assert_int_equal(mb.highestmodseq, st.highestmodseq);
	assert_false(mb.read_only);
	assert_true(mb.n_permflags > 0);

	/* UID FETCH streams both bodies to the sink. */
	struct fetch_log log = {.bodies = BUF_INIT(BUF_UNLIMITED)};
	struct imap_cmd_cb cb = {.untagged = fetch_untagged, .ctx = &log,
				 .sink = body_sink, .sink_ctx = &log};
	char *set = xasprintf("%u,%u", u1, u2);
	/* EMAILID only where OBJECTID is offered (Dovecot 2.3 lacks it). */
	const char *items = imap_has_cap(c, "OBJECTID")
				    ? "UID FLAGS MODSEQ RFC822.SIZE INTERNALDATE "
				      "EMAILID BODY.PEEK[]"
				    : "UID FLAGS MODSEQ RFC822.SIZE INTERNALDATE "
				      "BODY.PEEK[]";
	if (imap_uid_fetch(c, set, items, 0, false, &cb, &err) < 0)
		fail_msg("fetch: %s", err.msg);
	assert_int_equal(log.n, 2);
	assert_int_equal(log.uids[0], u1);
	assert_int_equal(log.uids[1], u2);
	char *both = xasprintf("%s|%s|", msg1, msg2);
	assert_string_equal(log.bodies.data, both);
	free(both);

	/* Pipelined stores; one with a stale UNCHANGEDSINCE is refused. */
	struct imap_cmd_cb scb = {.done = store_done, .ctx = &log};
	char *one = xasprintf("%u", u1), *two = xasprintf("%u", u2);
	imap_uid_store_submit(c, one, 0, "+FLAGS.SILENT", "(\\Flagged)", &scb);
	imap_uid_store_submit(c, two, 0, "+FLAGS.SILENT", "(\\Flagged $Work)",
			      &scb);
	imap_uid_store_submit(c, two, log.modseq[1], "+FLAGS.SILENT",
			      "(\\Answered)", &scb);
	assert_int_equal(imap_run(c, &err), 0);
	assert_true(log.modified_seen);
	char *f1 = flags_of("INBOX", u1), *f2 = flags_of("INBOX", u2);
	assert_string_equal(f1, "\\Flagged");
	assert_string_equal(f2, "\\Flagged $Work");
	free(f1);
	free(f2);
	uint32_t *found;
	size_t nfound;
	assert_int_equal(imap_uid_search(c, "KEYWORD $Work", &found, &nfound,
					 &err), 0);
	assert_int_equal(nfound, 1);
	assert_int_equal(found[0], u2);
	free(found);

	/* APPEND with flags and date: APPENDUID is the next UID. */
	struct mem_reader mr = {msg3, 0};
	struct imap_append ap = {.wire = "INBOX", .flags = "(\\Seen)",
				 .date = 1700000000, .size = strlen(msg3),
				 .reader = mem_read, .reader_ctx = &mr};
	uint32_t u3;
	assert_int_equal(imap_append(c, &ap, mb.uidvalidity, &u3, &err), 0);
	assert_int_equal(u3, mb.uidnext);
	char *f3 = flags_of("INBOX", u3);
	assert_string_equal(f3, "\\Seen");
	free(f3);
	mr.off = 0;
	assert_int_equal(imap_append(c, &ap, mb.uidvalidity + 1, &u3, &err),
			 -ERR_FOLDER);
	assert_non_null(strstr(err.msg, "APPENDUID names UIDVALIDITY"));
	error_clear(&err);

	/* COPY and MOVE to Sent, then UID EXPUNGE. */
	struct imap_code_copy cu;
	assert_int_equal(imap_uid_copy(c, one, "Sent", &cu, &err), 0);
	assert_int_equal(cu.type, IMAP_CODE_COPYUID);
	assert_string_equal(cu.src_uids, one);
	imap_code_copy_free(&cu);
	assert_int_equal(imap_uid_move(c, two, "Sent", &cu, &err), 0);
	assert_int_equal(cu.type, IMAP_CODE_COPYUID);
	imap_code_copy_free(&cu);
	imap_uid_store_submit(c, one, 0, "+FLAGS.SILENT", "(\\Deleted)", NULL);
	assert_int_equal(imap_run(c, &err), 0);
	assert_int_equal(imap_uid_expunge(c, one, &err), 0);
	struct imap_counts counts;
	assert_int_equal(imap_status(c, "Sent", &counts, &err), 0);
	assert_int_equal(counts.messages, 2);
	assert_int_equal(harness_mailbox_status(&h, NULL, "INBOX", &st, &err), 0);
	assert_int_equal(st.messages, 2); /* msg3 appended twice */

	/* IDLE wakes for a message delivered meanwhile. */
	bool woke;
	assert_int_equal(imap_idle(c, 300, NULL, NULL, &woke, &err), 0);
	assert_false(woke);
	assert_int_equal(harness_save(&h, NULL, "INBOX", msg1, NULL, &err), 0);
	assert_int_equal(imap_idle(c, 5000, NULL, NULL, &woke, &err), 0);
	assert_true(woke);
	assert_int_equal(imap_noop(c, &err), 0);

	free(one);
	free(two);
	free(set);
	buf_release(&log.bodies);
	imap_mailbox_free(&mb);
	assert_int_equal(imap_logout(c, &err), 0);
	imap_close(c);
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
		cmocka_unit_test(commands_against_doveadm),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
