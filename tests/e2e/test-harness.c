/* SPDX-License-Identifier: MIT */
/*
 * Smoke test of the private-Dovecot harness: the server it starts greets
 * on both ports, its certificate verifies for the names it should and not
 * for others, the doveadm helpers read back exactly what they wrote, the
 * no-CONDSTORE variant hides exactly CONDSTORE and QRESYNC, and stopping
 * leaves no process, no open port and no directory behind.  It talks to
 * Dovecot with raw sockets and GnuTLS only (rawconn.c).
 */
#include "harness-private.h"
#include "rawconn.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* What Dovecot 2.3.19 says first, on the plain port, to a client whose
 * address equals the server's (secured: AUTH=PLAIN offered). */
#define GREETING_CAPS                                                      \
	"IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS"
#define GREETING_SECURED \
	"* OK [CAPABILITY " GREETING_CAPS " AUTH=PLAIN] Dovecot (Debian) ready."
#define GREETING_INSECURE \
	"* OK [CAPABILITY " GREETING_CAPS " LOGINDISABLED] Dovecot (Debian) ready."

struct fixture {
	struct harness h;
	/* A second server a test starts; teardown stops it should the test
	 * fail before it does. */
	struct harness variant;
	long long start_ms;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	*state = f;
	if (!harness_available())
		return 0; /* each test skips */
	struct error err = ERROR_INIT;
	long long t0 = harness_now_ms();
	if (harness_start(&f->h, NULL, &err) < 0) {
		fprintf(stderr, "harness_start: %s\n", err.msg);
		error_clear(&err);
		return -1;
	}
	f->start_ms = harness_now_ms() - t0;
	printf("harness: default server started in %lld ms (ports %u, %u)\n",
	       f->start_ms, f->h.imap_port, f->h.imaps_port);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	long long t0 = harness_now_ms();
	harness_stop(&f->h);
	harness_stop(&f->variant);
	printf("harness: default server stopped in %lld ms\n",
	       harness_now_ms() - t0);
	free(f);
	return 0;
}

static struct harness *need_server(void **state)
{
	struct fixture *f = *state;
	if (!harness_available()) {
		printf("skipped: %s not installed (apt-get install "
		       "dovecot-imapd)\n",
		       HARNESS_DOVECOT_BIN);
		skip();
	}
	return &f->h;
}

/* Fails the test with the error's message. */
static void check(int r, struct error *err)
{
	if (r < 0)
		fail_msg("%s", err->msg ? err->msg : "(no message)");
	assert_int_equal(r, 0);
}

static char *greeting(const char *host, uint16_t port, const char *from)
{
	struct rawconn c;
	assert_int_equal(rawconn_open(&c, host, port, from), 0);
	char *line = rawconn_line(&c);
	rawconn_close(&c);
	assert_non_null(line);
	return line;
}

static void test_plain_greeting(void **state)
{
	struct harness *h = need_server(state);
	char *line = greeting(h->host, h->imap_port, NULL);
	assert_string_equal(line, GREETING_SECURED);
	free(line);
	/* From another address the connection is not "secured": without
	 * plaintext_auth, LOGIN needs STARTTLS first. */
	line = greeting(h->alt_host, h->imap_port, h->host);
	assert_string_equal(line, GREETING_INSECURE);
	free(line);
}

/* TLS to host:port checked for name; returns the handshake result and
 * the verification status of a failure. */
static int tls_try(struct harness *h, const char *host, const char *name,
		   const char *ca_file, unsigned *status_r)
{
	struct rawconn c;
	assert_int_equal(rawconn_open(&c, host, h->imaps_port, NULL), 0);
	int r = rawconn_tls(&c, ca_file, name);
	*status_r = c.verify_status;
	if (r == 0) {
		char *line = rawconn_line(&c);
		assert_non_null(line);
		assert_true(strncmp(line, "* OK [CAPABILITY IMAP4rev1 ", 27) ==
			    0);
		free(line);
	}
	rawconn_close(&c);
	return r;
}

static void test_tls_names(void **state)
{
	struct harness *h = need_server(state);
	unsigned status;
	assert_int_equal(tls_try(h, h->host, "localhost", h->ca_file, &status),
			 0);
	assert_int_equal(tls_try(h, h->host, "127.0.0.1", h->ca_file, &status),
			 0);
	/* Same server, same certificate, a name it does not hold. */
	assert_int_equal(
		tls_try(h, h->alt_host, "127.0.0.2", h->ca_file, &status),
		GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR);
	assert_int_equal(status, GNUTLS_CERT_INVALID |
					 GNUTLS_CERT_UNEXPECTED_OWNER);
	assert_int_equal(tls_try(h, h->alt_host, "mail.example.org",
				 h->ca_file, &status),
			 GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR);
	assert_int_equal(status, GNUTLS_CERT_INVALID |
					 GNUTLS_CERT_UNEXPECTED_OWNER);
	/* The CA is the run's own: the system store does not know it. */
	assert_int_equal(tls_try(h, h->host, "localhost", NULL, &status),
			 GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR);
	assert_int_equal(status,
			 GNUTLS_CERT_INVALID | GNUTLS_CERT_SIGNER_NOT_FOUND);
}

static void test_starttls(void **state)
{
	struct harness *h = need_server(state);
	struct rawconn c;
	assert_int_equal(rawconn_open(&c, h->host, h->imap_port, NULL), 0);
	char *line = rawconn_line(&c);
	assert_non_null(line);
	free(line);
	line = rawconn_command(&c, "a", "STARTTLS", NULL);
	assert_non_null(line);
	assert_string_equal(line, "a OK Begin TLS negotiation now.");
	free(line);
	assert_int_equal(rawconn_tls(&c, h->ca_file, "localhost"), 0);
	line = rawconn_command(&c, "b", "NOOP", NULL);
	assert_non_null(line);
	assert_string_equal(line, "b OK NOOP completed.");
	free(line);
	rawconn_close(&c);
}

/*
 * Logs in over implicit TLS and returns the post-login CAPABILITY list;
 * with compress, also checks that COMPRESS DEFLATE is accepted.
 */
static char *capabilities_after_login(struct harness *h, bool compress)
{
	struct rawconn c;
	assert_int_equal(rawconn_open(&c, h->host, h->imaps_port, NULL), 0);
	assert_int_equal(rawconn_tls(&c, h->ca_file, "localhost"), 0);
	char *line = rawconn_line(&c);
	assert_non_null(line);
	free(line);
	char *login = xasprintf("LOGIN %s %s", h->user, h->password);
	line = rawconn_command(&c, "a", login, NULL);
	free(login);
	assert_non_null(line);
	assert_true(strncmp(line, "a OK ", 5) == 0);
	free(line);
	char *untagged = NULL;
	line = rawconn_command(&c, "b", "CAPABILITY", &untagged);
	assert_non_null(line);
	assert_true(strncmp(line, "b OK ", 5) == 0);
	free(line);
	if (compress) {
		line = rawconn_command(&c, "c", "COMPRESS DEFLATE", NULL);
		assert_non_null(line);
		/* Dovecot appends timings: "(0.001 + 0.000 secs)." */
		const char *ok = "c OK Begin compression";
		assert_true(strncmp(line, ok, strlen(ok)) == 0);
		free(line);
	} else {
		/* Leave as a client should: an imap process still busy with
		 * a dropped connection can hold up the server's shutdown. */
		line = rawconn_command(&c, "z", "LOGOUT", NULL);
		assert_non_null(line);
		free(line);
	}
	rawconn_close(&c);
	const char *prefix = "* CAPABILITY ";
	assert_true(strncmp(untagged, prefix, strlen(prefix)) == 0);
	char *caps = xstrdup(untagged + strlen(prefix));
	free(untagged);
	return caps;
}

/* caps with the words in drop removed and the words in add appended. */
static char *edit_caps(const char *caps, const char *const *drop,
		       const char *add)
{
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	const char *p = caps;
	while (*p) {
		size_t len = strcspn(p, " ");
		bool dropped = false;
		for (size_t i = 0; drop[i]; i++)
			if (strlen(drop[i]) == len &&
			    strncmp(p, drop[i], len) == 0)
				dropped = true;
		if (!dropped)
			buf_addf(&b, "%s%.*s", b.len ? " " : "", (int)len, p);
		p += len + strspn(p + len, " ");
	}
	if (add)
		buf_addf(&b, " %s", add);
	return buf_detach(&b, NULL);
}

static bool has_word(const char *caps, const char *word)
{
	char *padded = xasprintf(" %s ", caps);
	char *needle = xasprintf(" %s ", word);
	bool found = strstr(padded, needle) != NULL;
	free(needle);
	free(padded);
	return found;
}

/* Starts a variant, checks its capabilities against the default
 * server's list edited by hand, and stops it. */
static void check_variant(struct harness *v, const char *normal,
			  const struct harness_opts *opts)
{
	struct error err = ERROR_INIT;
	long long t0 = harness_now_ms();
	check(harness_start(v, opts, &err), &err);
	long long started = harness_now_ms() - t0;
	char *caps = capabilities_after_login(v, opts->compress);
	static const char *const cond[] = {"CONDSTORE", "QRESYNC", NULL};
	static const char *const none[] = {NULL};
	char *expected = edit_caps(normal, opts->no_condstore ? cond : none,
				   opts->compress ? "COMPRESS=DEFLATE" : NULL);
	assert_string_equal(caps, expected);
	assert_true(has_word(caps, "CONDSTORE") == !opts->no_condstore);
	assert_true(has_word(caps, "QRESYNC") == !opts->no_condstore);
	/* The greeting shows the replaced list too (so MOVE appears there
	 * early), still without CONDSTORE. */
	char *line = greeting(v->host, v->imap_port, NULL);
	assert_true(has_word(line, "STARTTLS"));
	assert_true(has_word(line, "MOVE") == opts->no_condstore);
	assert_false(has_word(line, "CONDSTORE"));
	free(line);
	t0 = harness_now_ms();
	harness_stop(v);
	printf("harness: variant%s%s started in %lld ms, stopped in %lld ms\n",
	       opts->no_condstore ? " no_condstore" : "",
	       opts->compress ? " compress" : "", started,
	       harness_now_ms() - t0);
	free(expected);
	free(caps);
}

static void test_variants(void **state)
{
	struct harness *h = need_server(state);
	char *normal = capabilities_after_login(h, false);
	assert_true(has_word(normal, "CONDSTORE"));
	assert_true(has_word(normal, "QRESYNC"));
	assert_false(has_word(normal, "COMPRESS=DEFLATE"));
	static const struct harness_opts variants[] = {
		{.no_condstore = true},
		{.compress = true},
		{.no_condstore = true, .compress = true},
	};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(variants); i++)
		check_variant(&((struct fixture *)*state)->variant, normal,
			      &variants[i]);
	free(normal);
}

static const char *const seed[3] = {
	"From: a@example.org\nSubject: one\n\nfirst\n",
	"From: b@example.org\nSubject: two\n\nsecond\n",
	"From: c@example.org\nSubject: three\n\nthird\n",
};

static void expect_flags(struct harness *h, const char *folder,
			 const uint32_t *uids, const char *const *flags,
			 size_t n)
{
	struct harness_msg *msgs;
	size_t count;
	struct error err = ERROR_INIT;
	check(harness_fetch(h, NULL, folder, NULL, &msgs, &count, &err), &err);
	assert_int_equal(count, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(msgs[i].uid, uids[i]);
		assert_string_equal(msgs[i].flags, flags[i]);
	}
	harness_msgs_free(msgs, count);
}

static void expect_search(struct harness *h, const char *folder,
			  const char *key, const uint32_t *uids, size_t n)
{
	uint32_t *got;
	size_t count;
	struct error err = ERROR_INIT;
	check(harness_search(h, NULL, folder, &got, &count, &err, key, NULL),
	      &err);
	assert_int_equal(count, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(got[i], uids[i]);
	free(got);
}

static void test_doveadm_helpers(void **state)
{
	struct harness *h = need_server(state);
	struct error err = ERROR_INIT;
	for (uint32_t i = 0; i < 3; i++) {
		uint32_t uid = 0;
		check(harness_save(h, NULL, "INBOX", seed[i], &uid, &err),
		      &err);
		assert_int_equal(uid, i + 1);
	}
	struct harness_msg *msgs;
	size_t n;
	check(harness_fetch(h, NULL, "INBOX", "hdr.subject text", &msgs, &n,
			    &err),
	      &err);
	assert_int_equal(n, 3);
	static const char *const subjects[] = {"one", "two", "three"};
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(msgs[i].uid, i + 1);
		assert_string_equal(msgs[i].flags, "");
		assert_string_equal(
			harness_record_get(&msgs[i].fields, "hdr.subject"),
			subjects[i]);
		assert_string_equal(harness_record_get(&msgs[i].fields, "text"),
				    seed[i]);
	}
	harness_msgs_free(msgs, n);

	check(harness_flags(h, NULL, "INBOX", 1, HARNESS_FLAGS_ADD,
			    "\\Seen \\Answered", &err),
	      &err);
	check(harness_flags(h, NULL, "INBOX", 2, HARNESS_FLAGS_ADD,
			    "\\Flagged $Label1", &err),
	      &err);
	check(harness_flags(h, NULL, "INBOX", 3, HARNESS_FLAGS_REPLACE,
			    "\\Seen", &err),
	      &err);
	check(harness_flags(h, NULL, "INBOX", 1, HARNESS_FLAGS_REMOVE,
			    "\\Answered", &err),
	      &err);
	static const uint32_t all[] = {1, 2, 3};
	static const char *const flags3[] = {"\\Seen", "\\Flagged $Label1",
					     "\\Seen"};
	expect_flags(h, "INBOX", all, flags3, 3);
	static const uint32_t seen[] = {1, 3};
	expect_search(h, "INBOX", "SEEN", seen, 2);
	expect_search(h, "INBOX", "FLAGGED", all + 1, 1);
	expect_search(h, "INBOX", "ALL", all, 3);

	struct harness_status before;
	check(harness_mailbox_status(h, NULL, "INBOX", &before, &err), &err);
	assert_int_equal(before.messages, 3);
	assert_int_equal(before.uidnext, 4);

	check(harness_mailbox_create(h, NULL, "Archive", &err), &err);
	check(harness_move(h, NULL, "INBOX", 2, "Archive", &err), &err);
	check(harness_expunge(h, NULL, "INBOX", 3, &err), &err);
	static const char *const flags1[] = {"\\Seen"};
	expect_flags(h, "INBOX", all, flags1, 1);
	static const char *const moved[] = {"\\Flagged $Label1"};
	expect_flags(h, "Archive", all, moved, 1);

	struct harness_status after;
	check(harness_mailbox_status(h, NULL, "INBOX", &after, &err), &err);
	assert_int_equal(after.messages, 1);
	assert_int_equal(after.uidnext, 4);
	assert_int_equal(after.uidvalidity, before.uidvalidity);
	assert_true(after.highestmodseq > before.highestmodseq);
	check(harness_set_uidvalidity(h, NULL, "INBOX", before.uidvalidity + 7,
				      &err),
	      &err);
	check(harness_mailbox_status(h, NULL, "INBOX", &after, &err), &err);
	assert_int_equal(after.uidvalidity, before.uidvalidity + 7);
	assert_int_equal(after.messages, 1);

	char **names;
	check(harness_mailbox_rename(h, NULL, "Archive", "Old/Archive", &err),
	      &err);
	check(harness_mailbox_list(h, NULL, &names, &n, &err), &err);
	assert_int_equal(n, 3);
	assert_string_equal(names[0], "INBOX");
	assert_string_equal(names[1], "Old");
	assert_string_equal(names[2], "Old/Archive");
	harness_strv_free(names, n);
	check(harness_mailbox_delete(h, NULL, "Old/Archive", &err), &err);
	check(harness_mailbox_list(h, NULL, &names, &n, &err), &err);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "INBOX");
	harness_strv_free(names, n);
}

static void test_doveadm_errors(void **state)
{
	struct harness *h = need_server(state);
	struct error err = ERROR_INIT;
	struct harness_msg *msgs = (void *)1;
	size_t n = 99;
	assert_int_equal(harness_fetch(h, NULL, "Nope", NULL, &msgs, &n, &err),
			 -ERR_ACCOUNT);
	assert_null(msgs);
	assert_int_equal(n, 0);
	assert_string_equal(
		err.msg, "doveadm -f json mailbox status -u alice messages "
			 "uidvalidity uidnext highestmodseq Nope failed "
			 "(exit 68): doveadm(alice): Error: Mailbox Nope: "
			 "Failed to lookup mailbox status: Mailbox doesn't "
			 "exist: Nope");
	assert_int_equal(harness_save(h, NULL, "Nope", seed[0], NULL, &err),
			 -ERR_ACCOUNT);
	assert_string_equal(err.msg, "doveadm save -u alice -m Nope failed "
				     "(exit 68): doveadm(alice): Error: "
				     "Failed to open mailbox Nope: Mailbox "
				     "doesn't exist: Nope");
	assert_int_equal(harness_add_user(h, "eve:x", "pw", &err),
			 -ERR_ACCOUNT);
	assert_string_equal(err.msg, "harness_add_user: 'eve:x': name or "
				     "password holds ':', '/' or a line "
				     "break");
	error_clear(&err);
}

static void test_add_user(void **state)
{
	struct harness *h = need_server(state);
	struct error err = ERROR_INIT;
	long long t0 = harness_now_ms();
	check(harness_add_user(h, "bob", "bob-secret", &err), &err);
	printf("harness: user bob visible after %lld ms\n",
	       harness_now_ms() - t0);
	check(harness_save(h, "bob", "INBOX", seed[1], NULL, &err), &err);
	struct harness_status st;
	check(harness_mailbox_status(h, "bob", "INBOX", &st, &err), &err);
	assert_int_equal(st.messages, 1);
	/* bob's mail lives in his own home, beside alice's. */
	char *home = xasprintf("%s/bob/Maildir", h->mail_dir);
	struct stat sb;
	assert_int_equal(stat(home, &sb), 0);
	assert_int_equal(sb.st_uid, h->mail_uid);
	free(home);
}

/* Its own server, so that the shared one stays up for the others. */
static void test_stop_cleans_up(void **state)
{
	need_server(state);
	struct harness h;
	struct error err = ERROR_INIT;
	long long t0 = harness_now_ms();
	check(harness_start(&h, NULL, &err), &err);
	long long started = harness_now_ms() - t0;
	pid_t pid = h.pid;
	uint16_t ports[2] = {h.imap_port, h.imaps_port};
	char *dir = xstrdup(h.dir);
	assert_int_equal(kill(pid, 0), 0);
	t0 = harness_now_ms();
	harness_stop(&h);
	long long stopped = harness_now_ms() - t0;
	printf("harness: start %lld ms, stop %lld ms\n", started, stopped);
	/* Reaped (not a zombie: that would still answer kill 0), and the
	 * whole process group is gone. */
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);
	assert_int_equal(kill(-pid, 0), -1);
	for (size_t i = 0; i < 2; i++) {
		struct rawconn c;
		assert_int_equal(rawconn_open(&c, "127.0.0.1", ports[i], NULL),
				 -ECONNREFUSED);
		rawconn_close(&c);
		assert_int_equal(rawconn_open(&c, "127.0.0.2", ports[i], NULL),
				 -ECONNREFUSED);
		rawconn_close(&c);
	}
	struct stat st;
	assert_int_equal(stat(dir, &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_null(h.dir);
	assert_int_equal(h.pid, 0);
	/* A second stop is harmless. */
	harness_stop(&h);
	/* The target is well under two seconds; five leaves room for a
	 * loaded CI machine while still catching a stop that times out. */
	assert_true(started + stopped < 5000);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_greeting),
		cmocka_unit_test(test_tls_names),
		cmocka_unit_test(test_starttls),
		cmocka_unit_test(test_variants),
		cmocka_unit_test(test_doveadm_helpers),
		cmocka_unit_test(test_doveadm_errors),
		cmocka_unit_test(test_add_user),
		cmocka_unit_test(test_stop_cleans_up),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
