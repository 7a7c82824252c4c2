/* SPDX-License-Identifier: MIT */
/*
 * The client against a scripted fake server, for what no real server
 * sends: truncation, oversized literals, garbage, STARTTLS response
 * injection, BYE in the middle of a command, a connection dropped inside
 * a literal.  The server (a forked child on a loopback port) also checks
 * the exact bytes the client sends, including how many commands it
 * pipelines and that it waits for "+" before a synchronizing literal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "imap-cmds.h"

enum step_kind {
	STEP_SEND,    /* write these bytes */
	STEP_EXPECT,  /* read exactly these bytes */
	STEP_SILENCE, /* the client sends nothing for 300 ms */
	STEP_CLOSE,   /* drop the connection */
};

struct step {
	enum step_kind kind;
	const char *s;
	size_t len;
};

#define SEND(x) {STEP_SEND, x, sizeof(x) - 1}
#define EXPECT(x) {STEP_EXPECT, x, sizeof(x) - 1}
#define SILENCE {STEP_SILENCE, NULL, 0}
#define CLOSE {STEP_CLOSE, NULL, 0}

/* Greeting and login as alice/secret with SASL-IR. */
#define LOGIN_STEPS                                                       \
	SEND("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] hi\r\n"),    \
	EXPECT("T1 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n"),         \
	SEND("T1 OK logged in\r\n"), EXPECT("T2 CAPABILITY\r\n"),         \
	SEND("* CAPABILITY IMAP4rev1 IDLE\r\nT2 OK\r\n")

static int server_fail(int fd, const char *fmt, ...) UTIL_PRINTF(2, 3);
static int server_fail(int fd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("fake server: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	close(fd);
	return 1;
}

static int read_exact(int fd, char *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 5000) <= 0)
			break;
		ssize_t n = read(fd, buf + got, len - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return (int)got;
}

static int run_script(int fd, const struct step *steps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct step *st = &steps[i];
		if (st->kind == STEP_SEND) {
			if (write(fd, st->s, st->len) != (ssize_t)st->len)
				return server_fail(fd, "write failed");
		} else if (st->kind == STEP_EXPECT) {
			char *got = xcalloc(1, st->len + 1);
			int r = read_exact(fd, got, st->len);
			bool ok = (size_t)r == st->len
				  && memcmp(got, st->s, st->len) == 0;
			if (!ok)
				server_fail(fd, "step %zu: expected \"%s\", got "
						"\"%.*s\"",
					    i, st->s, r, got);
			free(got);
			if (!ok)
				return 1;
		} else if (st->kind == STEP_SILENCE) {
			struct pollfd p = {.fd = fd, .events = POLLIN};
			if (poll(&p, 1, 300) != 0) {
				char c = 0;
				ssize_t r = read(fd, &c, 1);
				if (r == 0) {
					/* The client hung up: also silence. */
					close(fd);
					return 0;
				}
				return server_fail(fd, "step %zu: client sent "
						       "'%c' (%zd)",
						   i, c, r);
			}
		} else {
			close(fd);
			return 0;
		}
	}
	/* The client must send nothing beyond the script. */
	char c;
	if (read_exact(fd, &c, 1) == 1)
		return server_fail(fd, "client sent more: '%c'...", c);
	close(fd);
	return 0;
}

struct fake {
	pid_t pid;
	unsigned port;
};

static struct fake serve(const struct step *steps, size_t n)
{
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(ls >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t alen = sizeof(a);
	assert_int_equal(bind(ls, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(ls, 1), 0);
	assert_int_equal(getsockname(ls, (struct sockaddr *)&a, &alen), 0);
	struct fake f = {.port = ntohs(a.sin_port)};
	f.pid = fork();
	assert_true(f.pid >= 0);
	if (f.pid == 0) {
		int fd = accept(ls, NULL, NULL);
		close(ls);
		/* _exit: the child must not run the parent's atexit work. */
		_exit(fd < 0 ? 3 : run_script(fd, steps, n));
	}
	close(ls);
	return f;
}

static void server_done(struct fake *f)
{
	int status;
	assert_int_equal(waitpid(f->pid, &status, 0), f->pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static struct imap_options opts(const struct fake *f)
{
	struct imap_options o = {
		.host = "127.0.0.1",
		.port = f->port,
		.tls = IMAP_TLS_NONE,
		.user = "alice",
		.secret = "secret",
		.timeout_ms = 3000,
	};
	return o;
}

/* Connecting must fail with exactly want (after "127.0.0.1:PORT: " when
 * want starts with ':'). */
static void connect_fails(const struct step *steps, size_t n,
			  const struct imap_options *extra, const char *want)
{
	struct fake f = serve(steps, n);
	struct imap_options o = extra ? *extra : opts(&f);
	o.port = f.port;
	struct imap_client *c = (struct imap_client *)1;
	struct error err = ERROR_INIT;
	assert_int_equal(imap_connect(&o, &c, &err), -ERR_ACCOUNT);
	assert_null(c);
	char *full = want[0] == ':'
			     ? xasprintf("127.0.0.1:%u%s", f.port, want)
			     : xstrdup(want);
	assert_string_equal(err.msg, full);
	free(full);
	error_clear(&err);
	server_done(&f);
}

static void login_exact_bytes(void **state)
{
	static const struct step steps[] = {
		LOGIN_STEPS,
		EXPECT("T3 LOGOUT\r\n"),
		SEND("* BYE bye\r\nT3 OK\r\n"),
	};
	struct fake f = serve(steps, UTIL_ARRAY_LEN(steps));
	struct imap_options o = opts(&f);
	struct imap_client *c;
	struct error err = ERROR_INIT;
	assert_int_equal(imap_connect(&o, &c, &err), 0);
	assert_true(imap_has_cap(c, "IDLE"));
	assert_false(imap_has_cap(c, "SASL-IR"));
	assert_int_equal(imap_logout(c, &err), 0);
	imap_close(c);
	server_done(&f);
}

/* Connects with o, checks the capabilities (has, then has_not: NULL
 * ends each list) and logs out. */
static void connect_check_caps(const struct step *steps, size_t n,
			       const struct imap_options *extra,
			       const char *const *has,
			       const char *const *has_not)
{
	struct fake f = serve(steps, n);
	struct imap_options o = extra ? *extra : opts(&f);
	o.port = f.port;
	struct imap_client *c;
	struct error err = ERROR_INIT;
	assert_int_equal(imap_connect(&o, &c, &err), 0);
	for (; *has; has++)
		if (!imap_has_cap(c, *has))
			fail_msg("capability %s missing", *has);
	for (; *has_not; has_not++)
		if (imap_has_cap(c, *has_not))
			fail_msg("capability %s kept", *has_not);
	assert_int_equal(imap_logout(c, &err), 0);
	imap_close(c);
	server_done(&f);
}

static void login_ok_with_capabilities(void **state)
{
	/* The OK lists what we may do now: no CAPABILITY command after. */
	static const struct step plain[] = {
		SEND("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] hi\r\n"),
		EXPECT("T1 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n"),
		SEND("T1 OK [CAPABILITY IMAP4rev1 IDLE MOVE] logged in\r\n"),
		EXPECT("T2 LOGOUT\r\n"),
		SEND("* BYE bye\r\nT2 OK\r\n"),
	};
	static const char *const after[] = {"IMAP4rev1", "IDLE", "MOVE", NULL};
	static const char *const before[] = {"AUTH=PLAIN", "SASL-IR", NULL};
	connect_check_caps(plain, UTIL_ARRAY_LEN(plain), NULL, after, before);

	static const struct step login[] = {
		SEND("* OK [CAPABILITY IMAP4rev1 IDLE] hi\r\n"),
		EXPECT("T1 LOGIN alice \"secret\"\r\n"),
		SEND("T1 OK [CAPABILITY IMAP4rev1 MOVE] logged in\r\n"),
		EXPECT("T2 LOGOUT\r\n"),
		SEND("T2 OK\r\n"),
	};
	static const char *const moved[] = {"MOVE", NULL};
	static const char *const idle[] = {"IDLE", NULL};
	connect_check_caps(login, UTIL_ARRAY_LEN(login), NULL, moved, idle);
}

static void login_ok_with_other_code(void **state)
{
	/* Any other code says nothing about capabilities: ask. */
	static const struct step steps[] = {
		SEND("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] hi\r\n"),
		EXPECT("T1 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n"),
		SEND("T1 OK [ALERT] password expires soon\r\n"),
		EXPECT("T2 CAPABILITY\r\n"),
		SEND("* CAPABILITY IMAP4rev1 MOVE\r\nT2 OK\r\n"),
		EXPECT("T3 LOGOUT\r\n"),
		SEND("T3 OK\r\n"),
	};
	static const char *const after[] = {"MOVE", NULL};
	static const char *const before[] = {"SASL-IR", NULL};
	connect_check_caps(steps, UTIL_ARRAY_LEN(steps), NULL, after, before);
}

static void sasl_without_initial_response(void **state)
{
	static const struct step steps[] = {
		SEND("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n"),
		EXPECT("T1 AUTHENTICATE PLAIN\r\n"),
		SILENCE,
		SEND("+ \r\n"),
		EXPECT("AGFsaWNlAHNlY3JldA==\r\n"),
		SEND("T1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"),
	};
	connect_fails(steps, UTIL_ARRAY_LEN(steps), NULL,
		      "login as alice (PLAIN): server said NO: "
		      "Authentication failed.");
}

static void truncated_response(void **state)
{
	static const struct step steps[] = {
		SEND("* OK ready\r\n"),
		EXPECT("T1 CAPABILITY\r\n"),
		SEND("* CAPABILITY IMAP4rev1 AUTH=PL"),
		CLOSE,
	};
	connect_fails(steps, UTIL_ARRAY_LEN(steps), NULL,
		      ": server closed the connection");
}

static void literal_over_the_limit(void **state)
{
	static const struct step steps[] = {
		SEND("* OK ready\r\n"),
		EXPECT("T1 CAPABILITY\r\n"),
		SEND("* CAPABILITY {2000}\r\n"),
	};
	struct imap_parser_limits lim = IMAP_PARSER_LIMITS_DEFAULT;
	lim.literal_max = 1024;
	struct imap_options o = {.host = "127.0.0.1", .tls = IMAP_TLS_NONE,
				 .timeout_ms = 3000, .limits = &lim};
	connect_fails(steps, UTIL_ARRAY_LEN(steps), &o,
		      "IMAP server sent a literal of 2000 bytes, over the "
		      "limit of 1024");
}

static void garbage_greeting(void **state)
{
	static const struct step steps[] = {
		SEND("\x16\x03\x01\x02\x00garbage\r\n"),
	};
	connect_fails(steps, UTIL_ARRAY_LEN(steps), NULL,
		      "IMAP server sent control character 0x16");
}

static void bye_greeting(void **state)
{
	static const struct step steps[] = {
		SEND("* BYE [UNAVAILABLE] too many connections\r\n"),
	};
	connect_fails(steps, UTIL_ARRAY_LEN(steps), NULL,
		      "server refused us: too many connections");
}

static void starttls_not_offered(void **state)
{
	static const struct step steps[] = {
		SEND("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n"),
	};
	struct imap_options o = {.host = "127.0.0.1", .tls = IMAP_TLS_STARTTLS,
				 .timeout_ms = 3000};
	connect_fails(steps, UTIL_ARRAY_LEN(steps), &o,
		      "server does not offer STARTTLS; refusing to go on "
		      "without TLS");
}

static void starttls_response_injection(void **state)
{
	/* The untagged OK arrives in the same packet as the tagged OK, as
	 * a man in the middle would send it. */
	static const struct step steps[] = {
		SEND("* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n"),
		EXPECT("T1 STARTTLS\r\n"),
		SEND("T1 OK Begin TLS negotiation now\r\n"
		     "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n"),
	};
	struct imap_options o = {.host = "127.0.0.1", .tls = IMAP_TLS_STARTTLS,
				 .timeout_ms = 3000};
	connect_fails(steps, UTIL_ARRAY_LEN(steps), &o,
		      "server sent data after its STARTTLS answer, before "
		      "the switch (response injection?); refusing it");
}

static void starttls_refused(void **state)
{
	static const struct step steps[] = {
		SEND("* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n"),
		EXPECT("T1 STARTTLS\r\n"),
		SEND("T1 BAD not now\r\n"),
	};
	struct imap_options o = {.host = "127.0.0.1", .tls = IMAP_TLS_STARTTLS,
				 .timeout_ms = 3000};
	connect_fails(steps, UTIL_ARRAY_LEN(steps), &o,
		      "STARTTLS: server said BAD: not now");
}

/* Runs LIST after logging in; it must fail with want, in which "%u"
 * stands for the server's port. */
static void list_fails(const struct step *steps, size_t n, const char *want)
{
	struct fake f = serve(steps, n);
	struct imap_options o = opts(&f);
	struct imap_client *c;
	struct error err = ERROR_INIT;
	assert_int_equal(imap_connect(&o, &c, &err), 0);
	struct imap_folder *folders = (struct imap_folder *)1;
	size_t nf = 1;
	assert_int_equal(imap_list(c, &folders, &nf, &err), -ERR_ACCOUNT);
	assert_null(folders);
	assert_int_equal(nf, 0);
	char *port = xasprintf("%u", f.port);
	struct buf full = BUF_INIT(BUF_UNLIMITED);
	const char *hole = strstr(want, "%u");
	buf_add(&full, want, hole ? (size_t)(hole - want) : strlen(want));
	if (hole) {
		buf_adds(&full, port);
		buf_adds(&full, hole + 2);
	}
	free(port);
	assert_string_equal(err.msg, full.data);
	error_clear(&err);
	/* The client stays broken, with the same reason. */
	assert_int_equal(imap_simple(c, NULL, NULL, &err, "NOOP"),
			 -ERR_ACCOUNT);
	assert_string_equal(err.msg, full.data);
	buf_release(&full);
	error_clear(&err);
	imap_close(c);
	server_done(&f);
}

static void bye_in_the_middle(void **state)
{
	static const struct step steps[] = {
		LOGIN_STEPS,
		EXPECT("T3 LIST \"\" \"*\"\r\n"),
		SEND("* LIST () \"/\" INBOX\r\n* BYE shutting down\r\n"),
		CLOSE,
	};
	list_fails(steps, UTIL_ARRAY_LEN(steps),
		   "server said BYE (shutting down): 127.0.0.1:%u: server "
		   "closed the connection");
}

static void dropped_inside_literal(void **state)
{
	static const struct step steps[] = {
		LOGIN_STEPS,
		EXPECT("T3 LIST \"\" \"*\"\r\n"),
		SEND("* LIST () \"/\" {10}\r\nabc"),
		CLOSE,
	};
	list_fails(steps, UTIL_ARRAY_LEN(steps),
		   "127.0.0.1:%u: server closed the connection");
}

static void answer_to_unknown_tag(void **state)
{
	static const struct step steps[] = {
		LOGIN_STEPS,
		EXPECT("T3 LIST \"\" \"*\"\r\n"),
		SEND("T9 OK what\r\n"),
	};
	list_fails(steps, UTIL_ARRAY_LEN(steps),
		   "IMAP server answered a command never sent (tag T9)");
}

static void silent_server_times_out(void **state)
{
	static const struct step steps[] = {
		LOGIN_STEPS,
		EXPECT("T3 LIST \"\" \"*\"\r\n"),
		SILENCE, SILENCE, SILENCE, SILENCE, SILENCE, SILENCE,
		SILENCE, SILENCE, SILENCE, SILENCE, SILENCE, SILENCE,
	};
	list_fails(steps, UTIL_ARRAY_LEN(steps),
		   "127.0.0.1:%u: no answer for 3.000 seconds");
}

static void done_cb(void *ctx, const struct imap_response *r)
{
	buf_addf(ctx, "%s:%d:%s ", r->tag, r->status, r->text);
}

static void pipeline_respects_bound(void **state)
{
	static const struct step steps[] = {
		LOGIN_STEPS,
		EXPECT("T3 NOOP\r\nT4 NOOP\r\n"),
		SILENCE,
		SEND("T3 OK a\r\n"),
		EXPECT("T5 NOOP\r\n"),
		SILENCE,
		SEND("T4 OK b\r\nT5 NO c\r\n"),
	};
	struct fake f = serve(steps, UTIL_ARRAY_LEN(steps));
	struct imap_options o = opts(&f);
	o.max_in_flight = 2;
	struct imap_client *c;
	struct error err = ERROR_INIT;
	assert_int_equal(imap_connect(&o, &c, &err), 0);
	struct buf got = BUF_INIT(BUF_UNLIMITED);
	struct imap_cmd_cb cb = {.done = done_cb, .ctx = &got};
	for (int i = 0; i < 3; i++)
		imap_submit(c, &cb, "NOOP");
	assert_int_equal(imap_pending(c), 3);
	assert_int_equal(imap_run(c, &err), 0);
	assert_int_equal(imap_pending(c), 0);
	assert_string_equal(got.data, "T3:1:a T4:1:b T5:2:c ");
	buf_release(&got);
	imap_close(c);
	server_done(&f);
}

struct mem_reader {
	const char *data;
	size_t off, len;
};

static int mem_read(void *ctx, void *buf, size_t cap, size_t *n_r,
		    struct error *err)
{
	struct mem_reader *m = ctx;
	size_t n = m->len - m->off < cap ? m->len - m->off : cap;
	memcpy(buf, m->data + m->off, n);
	m->off += n;
	*n_r = n;
	return 0;
}

static void synchronizing_literal_waits(void **state)
{
	static const struct step steps[] = {
		LOGIN_STEPS,
		EXPECT("T3 APPEND INBOX {5}\r\n"),
		SILENCE,
		SEND("+ go ahead\r\n"),
		EXPECT("hello\r\n"),
		SEND("T3 OK [APPENDUID 7 9] done\r\n"),
		EXPECT("T4 APPEND INBOX {3}\r\n"),
		SILENCE,
		SEND("T4 NO [TRYCREATE] no such mailbox\r\n"),
		EXPECT("T5 NOOP\r\n"),
		SEND("T5 OK\r\n"),
	};
	struct fake f = serve(steps, UTIL_ARRAY_LEN(steps));
	struct imap_options o = opts(&f);
	struct imap_client *c;
	struct error err = ERROR_INIT;
	assert_int_equal(imap_connect(&o, &c, &err), 0);
	struct buf got = BUF_INIT(BUF_UNLIMITED);
	struct imap_cmd_cb cb = {.done = done_cb, .ctx = &got};
	struct mem_reader m1 = {"hello", 0, 5}, m2 = {"abc", 0, 3};
	struct imap_cmd *cmd = imap_cmd_begin(c, &cb);
	imap_cmd_add(cmd, "APPEND INBOX ");
	imap_cmd_add_literal(cmd, 5, mem_read, &m1);
	assert_int_equal(imap_cmd_end(cmd), 3);
	cmd = imap_cmd_begin(c, &cb);
	imap_cmd_add(cmd, "APPEND INBOX ");
	imap_cmd_add_literal(cmd, 3, mem_read, &m2);
	imap_cmd_end(cmd);
	/* Refused before its literal: the next command still goes out. */
	imap_submit(c, &cb, "NOOP");
	assert_int_equal(imap_run(c, &err), 0);
	assert_string_equal(got.data, "T3:1:done T4:2:no such mailbox T5:1: ");
	assert_int_equal(m2.off, 0);
	buf_release(&got);
	imap_close(c);
	server_done(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(login_exact_bytes),
		cmocka_unit_test(login_ok_with_capabilities),
		cmocka_unit_test(login_ok_with_other_code),
		cmocka_unit_test(sasl_without_initial_response),
		cmocka_unit_test(truncated_response),
		cmocka_unit_test(literal_over_the_limit),
		cmocka_unit_test(garbage_greeting),
		cmocka_unit_test(bye_greeting),
		cmocka_unit_test(starttls_not_offered),
		cmocka_unit_test(starttls_response_injection),
		cmocka_unit_test(starttls_refused),
		cmocka_unit_test(bye_in_the_middle),
		cmocka_unit_test(dropped_inside_literal),
		cmocka_unit_test(answer_to_unknown_tag),
		cmocka_unit_test(silent_server_times_out),
		cmocka_unit_test(pipeline_respects_bound),
		cmocka_unit_test(synchronizing_literal_waits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
