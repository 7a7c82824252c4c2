/* SPDX-License-Identifier: MIT */
/*
 * STARTTLS and certificates (issue 9, point 7).
 *
 * The STARTTLS cases script the attacks Poddebniak et al. describe in
 * "Why TLS is better without STARTTLS" (USENIX Security 2021) against the
 * client: stripping (STARTTLS not offered, refused, the server hanging
 * up), a PREAUTH greeting, responses injected after the STARTTLS answer
 * (in the same packet, as a partial line, in a later packet), a tagged
 * answer sent before the command, and capabilities from before TLS.  In
 * every one the password never crosses the wire in clear, and the run
 * fails with one line naming the cause; two honest servers show the
 * same checks pass when nothing is wrong (and that the password is found
 * where it does go, inside TLS).
 *
 * The certificate cases serve each certificate of the matrix (see
 * tls-certs.h), with implicit TLS and after STARTTLS: a bad one is
 * refused before the client sends one byte of IMAP over the session,
 * with the cause in words; a good chain through ca_file, and a matching
 * pin_sha256, are accepted.
 *
 * Every case compares the error text and the bytes the client sent over
 * TLS with exact expected values, and checks that the error is one line
 * with no control character (the server's words from before TLS reach
 * the user's terminal).  Some cases also run through "tidemail check":
 * exit 3 and exactly that line on stderr.  With TLS the server name sent
 * is the host name, never an address.
 *
 * Figures: starttls-cases and cert-cases count runs (library and
 * program); cleartext-credentials counts runs where the password or its
 * base64 forms reached the wire in clear; wrongly-accepted and
 * wrongly-rejected count connections that went the wrong way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls-certs.h"
#include "tls-check.h"
#include "tls-fake.h"

static struct tls_certs certs;
/* The tidemail program (argv[1]): some cases also run through it. */
static const char *tidemail_exe;

static struct {
	unsigned starttls_cases, cleartext, cert_cases, wrongly_accepted,
		wrongly_rejected;
} figures;

/* ---- one connection, judged ------------------------------------------- */

struct outcome {
	bool connected;
	bool logout_ok;
	bool binary;   /* the run was "tidemail check" */
	char *error;   /* NULL when connected */
	unsigned seen; /* forms of the secret in clear */
	struct buf app; /* what the client sent inside TLS */
	char *sni;      /* the server name it sent, or NULL */
	unsigned port;
};

static void outcome_free(struct outcome *o)
{
	free(o->error);
	free(o->sni);
	buf_release(&o->app);
}

/* The library: imap_connect(), then LOGOUT. */
static void connect_lib(const struct tls_account *acct, struct outcome *out)
{
	struct imap_client *c = NULL;
	struct error err = ERROR_INIT;
	if (tls_check_connect(acct, &c, &err) == 0) {
		out->connected = true;
		struct error e2 = ERROR_INIT;
		out->logout_ok = imap_logout(c, &e2) == 0;
		if (!out->logout_ok)
			print_message("logout: %s\n", e2.msg);
		error_clear(&e2);
		imap_close(c);
	} else {
		out->error = xstrdup(err.msg ? err.msg : "(no message)");
	}
	error_clear(&err);
}

/* The program: exit 0, or exit 3 with exactly one line on stderr,
 * "tidemail: account t: " and the library's message. */
static void connect_exe(const struct tls_account *acct, struct outcome *out)
{
	static const char prefix[] = "tidemail: account t: ";
	int status;
	char *text = NULL;
	struct error err = ERROR_INIT;
	if (tls_check_run(tidemail_exe, certs.dir, acct, &status, &text, &err)
	    < 0)
		fail_msg("%s", err.msg);
	size_t len = strlen(text);
	out->binary = true;
	out->connected = out->logout_ok = status == 0;
	if (status == 3 && len && text[len - 1] == '\n'
	    && strncmp(text, prefix, strlen(prefix)) == 0) {
		text[len - 1] = '\0';
		out->error = xstrdup(text + strlen(prefix));
	} else if (status != 0) {
		out->error = xasprintf("exit %d, stderr: %s", status, text);
	}
	free(text);
}

/* Serves script to a client configured as acct (port filled in), the
 * library or, with binary, tidemail check. */
static void exchange(const struct tls_script *script, struct tls_account acct,
		     bool binary, struct outcome *out)
{
	struct tls_fake f;
	struct error err = ERROR_INIT;
	if (tls_fake_start(&f, script, &err) < 0)
		fail_msg("%s", err.msg);
	acct.port = f.port;
	memset(out, 0, sizeof(*out));
	out->port = f.port;
	if (binary)
		connect_exe(&acct, out);
	else
		connect_lib(&acct, out);
	tls_fake_finish(&f);
	out->seen = tls_check_secret_seen(f.wire.data, f.wire.len);
	buf_init(&out->app, BUF_UNLIMITED);
	buf_add(&out->app, f.app.data, f.app.len);
	out->sni = f.sni ? xstrdup(f.sni) : NULL;
	tls_fake_release(&f);
}

/* want: NULL for a connection that must succeed, else the exact error
 * ($P: the port).  want_app: exactly what the client must have sent
 * inside TLS ($B: the PLAIN response). */
static void judge(const struct outcome *o, const char *want,
		  const char *want_alt, const char *want_app)
{
	figures.cleartext += o->seen > 0;
	if (want && o->connected)
		figures.wrongly_accepted++;
	if (!want && !o->connected)
		figures.wrongly_rejected++;
	for (const char *p = o->error; p && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			fail_msg("error is not one clean line: %s", o->error);
	if (want) {
		if (o->connected)
			fail_msg("connected, but wanted: %s", want);
		char *w = tls_check_expand(want, o->port);
		char *alt = want_alt ? tls_check_expand(want_alt, o->port) : NULL;
		if (!alt || strcmp(o->error, alt) != 0)
			assert_string_equal(o->error, w);
		free(w);
		free(alt);
	} else if (!o->connected) {
		fail_msg("refused: %s", o->error);
	} else {
		assert_true(o->logout_ok);
	}
	char *app = tls_check_expand(want_app ? want_app : "", o->port);
	char *got = xstrndup(o->app.data, o->app.len);
	/* tidemail check goes on to list folders: its login is what
	 * counts, and that it was inside TLS. */
	if (o->binary && o->connected) {
		char *login = tls_check_expand("AUTHENTICATE PLAIN $B\r\n", 0);
		assert_non_null(strstr(got, login));
		free(login);
	} else {
		assert_string_equal(got, app);
	}
	free(got);
	free(app);
	assert_int_equal(o->seen, 0);
}

/* The oracle itself: the secret is found as it is, and inside base64
 * whatever comes before it (OAUTHBEARER, XOAUTH2, LOGIN as a literal
 * all put it at other offsets), and a near miss is not. */
static void oracle_finds_secret(void **state)
{
	static const char *const before[] = {"", "n,a=alice,\001auth=Bearer ",
					     "user=alice\001auth=Bearer "};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(before); i++) {
		char *raw = xasprintf("%s%s\001\001", before[i], TLS_CHECK_SECRET);
		char *enc = tls_check_b64(raw, strlen(raw));
		char *line = xasprintf("T3 AUTHENTICATE XOAUTH2 %s\r\n", enc);
		assert_true(tls_check_secret_seen(raw, strlen(raw)) > 0);
		assert_true(tls_check_secret_seen(line, strlen(line)) > 0);
		free(line);
		free(enc);
		free(raw);
	}
	/* Base64 pieces cover the secret's middle twelve bytes at least, so
	 * the miss differs there. */
	static const char miss[] = "T1 LOGIN alice \"Sentinel-7Qy9-pw\"\r\n";
	assert_int_equal(tls_check_secret_seen(miss, sizeof(miss) - 1), 0);
	char *enc = tls_check_b64(miss, sizeof(miss) - 1);
	assert_int_equal(tls_check_secret_seen(enc, strlen(enc)), 0);
	free(enc);
}

/* ---- STARTTLS ---------------------------------------------------------- */

struct starttls_case {
	const char *name;
	struct tls_script script; /* ident: the good chain */
	const char *want, *want_alt, *want_app;
	bool exe; /* also through tidemail check */
};

#define CAPS_GREETING(caps) "* OK [CAPABILITY " caps "] hi\r\n"
#define GREETING_STARTTLS CAPS_GREETING("IMAP4rev1 STARTTLS AUTH=PLAIN")
#define REFUSED_INJECTION \
	"server sent data after its STARTTLS answer, before the switch " \
	"(response injection?); refusing it"
#define NO_STARTTLS \
	"server does not offer STARTTLS; refusing to go on without TLS"
#define PREAUTH \
	"server logged us in before STARTTLS (PREAUTH); refusing to go on " \
	"without TLS"

static const struct starttls_case starttls_cases[] = {
	{"stripped from the greeting's capabilities",
	 {.greeting = CAPS_GREETING("IMAP4rev1 AUTH=PLAIN SASL-IR")},
	 NO_STARTTLS, NULL, NULL, true},
	{"stripped from the CAPABILITY answer",
	 {.greeting = "* OK hi\r\n", .caps_clear = "IMAP4rev1 AUTH=PLAIN"},
	 NO_STARTTLS, NULL, NULL, false},
	{"STARTTLS answered NO",
	 {.greeting = GREETING_STARTTLS, .no_handshake = true,
	  .starttls = "$T NO [ALERT] TLS is down, carry on without\r\n"},
	 "STARTTLS: server said NO: TLS is down, carry on without", NULL, NULL, false},
	/* The words of a server not yet authenticated reach the user's
	 * terminal: no escape sequence may come with them (the paper's UI
	 * spoofing; here one that would erase the line and write another). */
	{"STARTTLS answered NO with terminal escapes",
	 {.greeting = GREETING_STARTTLS, .no_handshake = true,
	  .starttls = "$T NO \033[2K\033[1Goffline\a\b\tmode\177\r\n"},
	 "STARTTLS: server said NO: ?[2K?[1Goffline???mode?", NULL, NULL, true},
	{"STARTTLS answered BAD",
	 {.greeting = GREETING_STARTTLS, .no_handshake = true,
	  .starttls = "$T BAD unknown command\r\n"},
	 "STARTTLS: server said BAD: unknown command", NULL, NULL, false},
	{"STARTTLS answered BYE, then the server hangs up",
	 {.greeting = GREETING_STARTTLS, .no_handshake = true,
	  .starttls = "* BYE no TLS today\r\n", .hangup = true},
	 "server said BYE (no TLS today): 127.0.0.1:$P: server closed the "
	 "connection", NULL, NULL, false},
	{"PREAUTH greeting with capabilities",
	 {.greeting = "* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] welcome\r\n"},
	 PREAUTH, NULL, NULL, true},
	{"PREAUTH greeting, capabilities asked for",
	 {.greeting = "* PREAUTH welcome\r\n",
	  .caps_clear = "IMAP4rev1 STARTTLS AUTH=PLAIN"},
	 PREAUTH, NULL, NULL, false},
	{"untagged CAPABILITY injected after the STARTTLS OK",
	 {.greeting = GREETING_STARTTLS,
	  .starttls = "$T OK begin TLS\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN "
		      "SASL-IR\r\n"},
	 REFUSED_INJECTION, NULL, NULL, true},
	{"the answer to the next command injected after the STARTTLS OK",
	 {.greeting = GREETING_STARTTLS,
	  .starttls = "$T OK begin TLS\r\n$N OK [CAPABILITY IMAP4rev1 "
		      "AUTH=PLAIN SASL-IR] done\r\n"},
	 REFUSED_INJECTION, NULL, NULL, false},
	{"a partial line injected after the STARTTLS OK",
	 {.greeting = GREETING_STARTTLS,
	  .starttls = "$T OK begin TLS\r\n* CAPABILITY IMAP4rev1 AUTH="},
	 REFUSED_INJECTION, NULL, NULL, false},
	{"cleartext injected 100 ms after the STARTTLS OK",
	 {.greeting = GREETING_STARTTLS, .inject_delay_ms = 100,
	  .inject = "* CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR\r\n"},
	 "127.0.0.1:$P: TLS handshake failed: An unexpected TLS packet was "
	 "received.", REFUSED_INJECTION, NULL, false},
	{"tagged OK to STARTTLS sent with the greeting",
	 {.greeting = GREETING_STARTTLS "$N OK begin TLS now\r\n"},
	 "IMAP server answered a command never sent (tag T1)", NULL, NULL, true},
	{"tagged OK to STARTTLS sent with the CAPABILITY answer",
	 {.greeting = "* OK hi\r\n", .caps_clear = "IMAP4rev1 STARTTLS AUTH=PLAIN",
	  .after_caps = "$N OK begin TLS now\r\n"},
	 "IMAP server answered a command never sent (tag T2)", NULL, NULL, false},
	/* Before TLS every capability says PLAIN may be used; after it the
	 * server disables every login: only the later list counts. */
	{"capabilities from before TLS are forgotten",
	 {.greeting = GREETING_STARTTLS,
	  .starttls = "* CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR\r\n"
		      "$T OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] begin TLS\r\n",
	  .caps_tls = "IMAP4rev1 LOGINDISABLED"},
	 "no authentication method in common with the server (it offers: "
	 "none, LOGIN disabled)", NULL, "T2 CAPABILITY\r\n", false},
	/* Controls: honest servers. */
	{"honest server",
	 {.greeting = CAPS_GREETING("IMAP4rev1 STARTTLS LOGINDISABLED"),
	  .caps_tls = "IMAP4rev1 AUTH=PLAIN SASL-IR"},
	 NULL, NULL,
	 "T2 CAPABILITY\r\nT3 AUTHENTICATE PLAIN $B\r\nT4 CAPABILITY\r\n"
	 "T5 LOGOUT\r\n", true},
	/* SASL-IR offered only before TLS: the client waits for "+". */
	{"honest server, SASL-IR only before TLS",
	 {.greeting = CAPS_GREETING("IMAP4rev1 STARTTLS AUTH=PLAIN SASL-IR"),
	  .caps_tls = "IMAP4rev1 AUTH=PLAIN"},
	 NULL, NULL,
	 "T2 CAPABILITY\r\nT3 AUTHENTICATE PLAIN\r\n$B\r\nT4 CAPABILITY\r\n"
	 "T5 LOGOUT\r\n", false},
};

static void starttls_run(const struct starttls_case *tc, bool binary)
{
	struct tls_script script = tc->script;
	script.ident = &certs.ids[TLS_ID_CHAIN];
	struct tls_account acct = {.host = "127.0.0.1", .starttls = true,
				   .ca_file = certs.root_pem};
	struct outcome o;
	exchange(&script, acct, binary, &o);
	figures.starttls_cases++;
	judge(&o, tc->want, tc->want_alt, tc->want_app);
	outcome_free(&o);
}

static void starttls_lib(void **state)
{
	starttls_run(*state, false);
}

static void starttls_exe(void **state)
{
	starttls_run(*state, true);
}

/* ---- certificates ------------------------------------------------------ */

enum pin { PIN_NONE, PIN_LEAF, PIN_OTHER };

struct cert_case {
	const char *name;
	enum tls_ident_id id;
	const char *host;
	bool no_ca_file;
	enum pin pin;
	const char *reason; /* NULL: accepted */
	bool exe; /* also through tidemail check (implicit TLS) */
};

#define NOT_TRUSTED "The certificate is NOT trusted. "
#define UNKNOWN_ISSUER NOT_TRUSTED "The certificate issuer is unknown."
#define EXPIRED NOT_TRUSTED "The certificate chain uses expired certificate."
#define SIGNER_CONSTRAINTS \
	NOT_TRUSTED "The certificate chain violates the signer's constraints."
#define WRONG_NAME \
	NOT_TRUSTED "The name in the certificate does not match the expected."

static const struct cert_case cert_cases[] = {
	{"valid chain through ca_file", TLS_ID_CHAIN, "127.0.0.1", false,
	 PIN_NONE, NULL, true},
	{"valid chain and matching pin", TLS_ID_CHAIN, "127.0.0.1", false,
	 PIN_LEAF, NULL, true},
	{"signed by the root, by host name", TLS_ID_DIRECT, "localhost", false,
	 PIN_NONE, NULL, false},
	{"expired", TLS_ID_EXPIRED, "127.0.0.1", false, PIN_NONE, EXPIRED, true},
	{"not yet valid", TLS_ID_NOT_YET, "127.0.0.1", false, PIN_NONE,
	 NOT_TRUSTED "The certificate chain uses not yet valid certificate.", false},
	{"self-signed", TLS_ID_SELF_SIGNED, "127.0.0.1", false, PIN_NONE,
	 UNKNOWN_ISSUER, false},
	{"self-signed with a matching pin", TLS_ID_SELF_SIGNED, "127.0.0.1",
	 false, PIN_LEAF, UNKNOWN_ISSUER, false},
	{"unknown CA", TLS_ID_UNKNOWN_CA, "127.0.0.1", false, PIN_NONE,
	 UNKNOWN_ISSUER, false},
	{"valid chain without ca_file", TLS_ID_CHAIN, "127.0.0.1", true,
	 PIN_NONE, UNKNOWN_ISSUER, false},
	{"intermediate not sent", TLS_ID_LEAF_ONLY, "127.0.0.1", false,
	 PIN_NONE, UNKNOWN_ISSUER, false},
	{"wrong host", TLS_ID_WRONG_HOST, "127.0.0.1", false, PIN_NONE,
	 WRONG_NAME, true},
	{"wildcard *.example.org for localhost", TLS_ID_WILDCARD, "localhost",
	 false, PIN_NONE, WRONG_NAME, false},
	{"wildcard *.example.org for 127.0.0.1", TLS_ID_WILDCARD, "127.0.0.1",
	 false, PIN_NONE, WRONG_NAME, false},
	{"wildcard *.localhost for localhost", TLS_ID_WILDCARD_LOCAL,
	 "localhost", false, PIN_NONE, WRONG_NAME, false},
	{"signer is not a CA", TLS_ID_NON_CA, "127.0.0.1", false, PIN_NONE,
	 NOT_TRUSTED "The certificate issuer is not a CA. The certificate "
		     "chain violates the signer's constraints.", false},
	{"expired intermediate", TLS_ID_EXPIRED_INT, "127.0.0.1", false,
	 PIN_NONE, EXPIRED, false},
	{"signed by a CA with path length 0", TLS_ID_PATH_LEN_OK,
	 "127.0.0.1", false, PIN_NONE, NULL, false},
	{"a CA below a CA with path length 0", TLS_ID_PATH_LEN, "127.0.0.1",
	 false, PIN_NONE, SIGNER_CONSTRAINTS, false},
	{"outside the signer's name constraints", TLS_ID_NAME_CONSTRAINED,
	 "127.0.0.1", false, PIN_NONE, SIGNER_CONSTRAINTS, false},
	{"for TLS clients only", TLS_ID_CLIENT_ONLY, "127.0.0.1", false,
	 PIN_NONE, NOT_TRUSTED "The certificate chain does not match the "
			       "intended purpose.", false},
	{"without a key purpose", TLS_ID_ANY_PURPOSE, "127.0.0.1", false,
	 PIN_NONE, NULL, false},
	{"signed with SHA-1", TLS_ID_SHA1, "127.0.0.1", false, PIN_NONE,
	 NOT_TRUSTED "The certificate chain uses insecure algorithm.", false},
	{"pin mismatch", TLS_ID_CHAIN, "127.0.0.1", false, PIN_OTHER, NULL, true},
};

static void cert_case(const struct cert_case *tc, bool starttls,
		      bool binary)
{
	struct tls_script script = {
		.implicit = !starttls,
		.ident = &certs.ids[tc->id],
		.greeting = starttls ? GREETING_STARTTLS
				     : CAPS_GREETING("IMAP4rev1 AUTH=PLAIN SASL-IR"),
		.caps_tls = "IMAP4rev1 AUTH=PLAIN SASL-IR",
	};
	struct tls_account acct = {
		.host = tc->host, .starttls = starttls,
		.ca_file = tc->no_ca_file ? NULL : certs.root_pem,
		.pin = tc->pin == PIN_LEAF    ? certs.leaf_pin
		       : tc->pin == PIN_OTHER ? certs.other_pin
					      : NULL};
	char *want = NULL;
	if (tc->reason)
		want = xasprintf("%s:$P: certificate for %s not accepted: %s",
				 tc->host, tc->host, tc->reason);
	else if (tc->pin == PIN_OTHER)
		want = xasprintf("%s:$P: server public key does not match "
				 "pin_sha256 (it is %s)",
				 tc->host, certs.leaf_pin);
	/* An accepted server sees the whole session inside TLS, the one
	 * reached by STARTTLS one command later. */
	const char *app = NULL;
	if (!want)
		app = starttls ? "T2 CAPABILITY\r\nT3 AUTHENTICATE PLAIN $B\r\n"
				 "T4 CAPABILITY\r\nT5 LOGOUT\r\n"
			       : "T1 AUTHENTICATE PLAIN $B\r\nT2 CAPABILITY\r\n"
				 "T3 LOGOUT\r\n";
	struct outcome o;
	exchange(&script, acct, binary, &o);
	figures.cert_cases++;
	judge(&o, want, NULL, app);
	/* RFC 6066: the name is sent, an address never is. */
	if (strcmp(tc->host, "localhost") == 0)
		assert_string_equal(o.sni ? o.sni : "(none)", "localhost");
	else
		assert_null(o.sni);
	free(want);
	outcome_free(&o);
}

static void cert_implicit(void **state)
{
	cert_case(*state, false, false);
}

static void cert_starttls(void **state)
{
	cert_case(*state, true, false);
}

static void cert_exe(void **state)
{
	cert_case(*state, false, true);
}

/* ---- main -------------------------------------------------------------- */

static int make_certs(void **state)
{
	struct error err = ERROR_INIT;
	if (tls_certs_make(&certs, &err) < 0) {
		fprintf(stderr, "certificate matrix: %s\n", err.msg);
		error_clear(&err);
		return -1;
	}
	return 0;
}

static int free_certs(void **state)
{
	tls_certs_free(&certs);
	return 0;
}

#define N_STARTTLS UTIL_ARRAY_LEN(starttls_cases)
#define N_CERT UTIL_ARRAY_LEN(cert_cases)

/* The table: every case through the library, some through the program
 * as well. */
#define N_TESTS (1 + 2 * N_STARTTLS + 3 * N_CERT)

static size_t add(struct CMUnitTest *tests, size_t n, char **names,
		  const char *prefix, const char *name, CMUnitTestFunction fn,
		  const void *tc)
{
	names[n] = xasprintf("%s%s", prefix, name);
	tests[n] = (struct CMUnitTest){names[n], fn, NULL, NULL, (void *)tc};
	return n + 1;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s PATH-TO-TIDEMAIL\n", argv[0]);
		return 2;
	}
	tidemail_exe = argv[1];
	struct CMUnitTest tests[N_TESTS];
	char *names[N_TESTS];
	size_t n = add(tests, 0, names, "", "the cleartext oracle",
		       oracle_finds_secret, NULL);
	for (size_t i = 0; i < N_STARTTLS; i++) {
		const struct starttls_case *tc = &starttls_cases[i];
		n = add(tests, n, names, "", tc->name, starttls_lib, tc);
		if (tc->exe)
			n = add(tests, n, names, "tidemail check: ", tc->name,
				starttls_exe, tc);
	}
	for (size_t i = 0; i < N_CERT; i++) {
		const struct cert_case *tc = &cert_cases[i];
		n = add(tests, n, names, "implicit TLS: ", tc->name,
			cert_implicit, tc);
		n = add(tests, n, names, "STARTTLS: ", tc->name,
			cert_starttls, tc);
		if (tc->exe)
			n = add(tests, n, names, "tidemail check: ", tc->name,
				cert_exe, tc);
	}
	int failed = _cmocka_run_group_tests("tls", tests, n, make_certs,
					     free_certs);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	printf("figures: tls starttls-cases=%u cleartext-credentials=%u "
	       "cert-cases=%u wrongly-accepted=%u wrongly-rejected=%u\n",
	       figures.starttls_cases, figures.cleartext, figures.cert_cases,
	       figures.wrongly_accepted, figures.wrongly_rejected);
	return failed || figures.cleartext || figures.wrongly_accepted
	       || figures.wrongly_rejected;
}
