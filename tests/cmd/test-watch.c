/* SPDX-License-Identifier: MIT */
/*
 * The parts of `tidemail watch` (cmd/watch.h) on their own: the schedule
 * walked through as a table of times, the test for "a mailbox changed"
 * on responses as the parser makes them, inotify on a real Maildir tree,
 * and the server watcher process failing, and being stopped, without a
 * server.  The whole command against Dovecot is test-watch-e2e.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/watch.h"

#define T0 1000000 /* an arbitrary start on the monotonic clock */
#define MIN (60 * 1000)
/* What the watcher asks for where NOTIFY is offered (watch-remote.c). */
#define NOTIFY_SET_LINE                                                    \
	"NOTIFY SET (selected (MessageNew MessageExpunge FlagChange)) "    \
	"(personal (MessageNew MessageExpunge FlagChange MailboxName))"

/* ---- schedule ---------------------------------------------------------- */

static void sched_start_and_periodic(void **state)
{
	(void)state;
	struct watch_sched s;
	watch_sched_init(&s, 15 * MIN, T0);
	assert_int_equal(watch_sched_next(&s), T0); /* the sync at start */
	assert_int_equal(watch_sched_done(&s, WATCH_SYNCED, T0 + 700), 0);
	assert_int_equal(watch_sched_next(&s), T0 + 700 + 15 * MIN);
	/* A local failure (say the root is missing) waits like a success. */
	assert_int_equal(watch_sched_done(&s, WATCH_FAILED, T0 + 900), 0);
	assert_int_equal(watch_sched_next(&s), T0 + 900 + 15 * MIN);
}

static void sched_debounce(void **state)
{
	(void)state;
	struct watch_sched s;
	watch_sched_init(&s, 15 * MIN, T0);
	watch_sched_done(&s, WATCH_SYNCED, T0);
	watch_sched_change(&s, T0 + 5000);
	assert_int_equal(watch_sched_next(&s), T0 + 6000);
	watch_sched_change(&s, T0 + 5600); /* still in the burst: later */
	assert_int_equal(watch_sched_next(&s), T0 + 6600);
	/* A change every half second: the burst is cut at 10 s. */
	for (int64_t t = T0 + 6000; t < T0 + 30000; t += 500)
		watch_sched_change(&s, t);
	assert_int_equal(watch_sched_next(&s), T0 + 5000 + 10000);
	/* The sync takes what was pending; a change after it starts anew. */
	watch_sched_done(&s, WATCH_SYNCED, T0 + 31000);
	assert_int_equal(watch_sched_next(&s), T0 + 31000 + 15 * MIN);
	watch_sched_change(&s, T0 + 32000);
	assert_int_equal(watch_sched_next(&s), T0 + 33000);
	/* Asked for at once (a server watcher died): no debounce. */
	watch_sched_now(&s, T0 + 32500);
	assert_int_equal(watch_sched_next(&s), T0 + 32500);
}

static void sched_backoff(void **state)
{
	(void)state;
	static const int64_t steps[] = {1000, 2000, 4000, 8000, 16000, 32000,
					64000, 128000, 256000, 300000, 300000};
	struct watch_sched s;
	watch_sched_init(&s, 15 * MIN, T0);
	int64_t now = T0;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(steps); i++) {
		assert_int_equal(watch_sched_done(&s, WATCH_OFFLINE, now), steps[i]);
		assert_int_equal(watch_sched_next(&s), now + steps[i]);
		/* A change does not hurry a retry... */
		watch_sched_change(&s, now + 10);
		assert_int_equal(watch_sched_next(&s), now + steps[i]);
		now += steps[i] + 50;
	}
	assert_int_equal(s.backoff_ms, 300000);
	/* ...and once through, the back-off is forgotten. */
	assert_int_equal(watch_sched_done(&s, WATCH_SYNCED, now), 0);
	assert_int_equal(s.backoff_ms, 0);
	assert_int_equal(watch_sched_next(&s), now + 15 * MIN);
	assert_int_equal(watch_sched_done(&s, WATCH_OFFLINE, now + 1), 1000);
}

static void sched_lock_wait(void **state)
{
	(void)state;
	static const int64_t steps[] = {1000, 2000, 4000, 8000, 16000, 30000,
					30000};
	struct watch_sched s;
	watch_sched_init(&s, 15 * MIN, T0);
	watch_sched_done(&s, WATCH_OFFLINE, T0);
	int64_t now = T0 + 1000;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(steps); i++) {
		assert_int_equal(watch_sched_done(&s, WATCH_LOCKED, now), steps[i]);
		assert_int_equal(watch_sched_next(&s), now + steps[i]);
		now += steps[i];
	}
	/* Waiting for a lock says nothing about the network. */
	assert_int_equal(s.backoff_ms, 1000);
	watch_sched_done(&s, WATCH_SYNCED, now);
	assert_int_equal(s.lock_wait_ms, 0);
	assert_int_equal(watch_sched_done(&s, WATCH_LOCKED, now), 1000);
}

static void sched_remote_backoff(void **state)
{
	(void)state;
	struct watch_sched s;
	watch_sched_init(&s, 15 * MIN, T0);
	assert_int_equal(s.remote_at, T0); /* started at once */
	watch_sched_remote_died(&s, 200, T0 + 200);
	assert_int_equal(s.remote_at, T0 + 200 + 1000);
	watch_sched_remote_died(&s, 300, T0 + 1500);
	assert_int_equal(s.remote_at, T0 + 1500 + 2000);
	watch_sched_remote_died(&s, 300, T0 + 3800);
	assert_int_equal(s.remote_at, T0 + 3800 + 4000);
	/* Up for a good while before it died: afresh. */
	watch_sched_remote_died(&s, 2 * MIN, T0 + 10 * MIN);
	assert_int_equal(s.remote_at, T0 + 10 * MIN + 1000);
}

static void clock_moves_forward(void **state)
{
	(void)state;
	int64_t a = watch_now_ms();
	usleep(20 * 1000);
	int64_t b = watch_now_ms();
	assert_true(b - a >= 20 && b - a < 2000);
}

/* ---- what counts as a change on the server ----------------------------- */

static bool change_in(const char *line)
{
	const struct imap_parser_limits lim = IMAP_PARSER_LIMITS_DEFAULT;
	struct imap_parser *p = imap_parser_new(&lim);
	struct error err = ERROR_INIT;
	assert_int_equal(imap_parser_feed(p, line, strlen(line), &err), 0);
	const struct imap_response *r;
	assert_int_equal(imap_parser_next(p, &r, &err), 1);
	bool change = watch_remote_is_change(r);
	imap_parser_free(p);
	return change;
}

static void server_changes(void **state)
{
	(void)state;
	assert_true(change_in("* 4 EXISTS\r\n"));
	assert_true(change_in("* 2 EXPUNGE\r\n"));
	assert_true(change_in("* VANISHED 7:9\r\n"));
	assert_true(change_in("* 3 FETCH (UID 9 FLAGS (\\Seen) MODSEQ (12))\r\n"));
	/* NOTIFY: other folders, and folders themselves. */
	assert_true(change_in("* STATUS Work (MESSAGES 3 UIDNEXT 4)\r\n"));
	assert_true(change_in("* LIST () \"/\" Projects\r\n"));
	assert_true(change_in("* OK [NOTIFICATIONOVERFLOW] too many\r\n"));
	/* Dovecot's keep-alive and other chatter. */
	assert_false(change_in("* OK Still here\r\n"));
	assert_false(change_in("* 1 RECENT\r\n"));
	assert_false(change_in("* FLAGS (\\Seen \\Answered)\r\n"));
	assert_false(change_in("* CAPABILITY IMAP4rev1 IDLE\r\n"));
	assert_false(change_in("+ idling\r\n"));
	assert_false(change_in("T4 OK Idle completed.\r\n"));
}

/* ---- inotify ------------------------------------------------------------ */

struct tree {
	char *root;
	struct watch_local *wl;
};

static char *path_of(const struct tree *t, const char *rel)
{
	return xasprintf("%s/%s", t->root, rel);
}

static void make_dir(const struct tree *t, const char *rel)
{
	char *p = path_of(t, rel);
	assert_int_equal(mkdir(p, 0700), 0);
	free(p);
}

static void write_file(const struct tree *t, const char *rel)
{
	char *p = path_of(t, rel);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs("Subject: x\n\nx\n", f);
	fclose(f);
	free(p);
}

static void move(const struct tree *t, const char *from, const char *to)
{
	char *a = path_of(t, from), *b = path_of(t, to);
	assert_int_equal(rename(a, b), 0);
	free(a);
	free(b);
}

static unsigned news_of(struct tree *t)
{
	unsigned news;
	struct error err = ERROR_INIT;
	assert_int_equal(watch_local_read(t->wl, &news, &err), 0);
	return news;
}

static int scan(struct tree *t)
{
	struct error err = ERROR_INIT;
	int n = watch_local_scan(t->wl, &err);
	assert_null(err.msg);
	return n;
}

static void make_folder(const struct tree *t, const char *rel)
{
	make_dir(t, rel);
	for (int i = 0; i < 3; i++) {
		char *sub = xasprintf("%s/%s", rel, (const char *[]){"cur", "new", "tmp"}[i]);
		make_dir(t, sub);
		free(sub);
	}
}

static int tree_setup(void **state)
{
	struct tree *t = xcalloc(1, sizeof(*t));
	char tmpl[] = "/tmp/tm-watch-local.XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	t->root = xasprintf("%s/Mail", tmpl);
	struct error err = ERROR_INIT;
	assert_int_equal(watch_local_open(t->root, &t->wl, &err), 0);
	*state = t;
	return 0;
}

static int tree_teardown(void **state)
{
	struct tree *t = *state;
	watch_local_free(t->wl);
	char *cmd = xasprintf("rm -rf '%.*s'", (int)(strlen(t->root) - 5), t->root);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(t->root);
	free(t);
	return 0;
}

static void local_tree(void **state)
{
	struct tree *t = *state;
	/* No root yet (an unmounted disk): nothing to watch, no error. */
	assert_int_equal(scan(t), 0);
	assert_int_equal(news_of(t), WATCH_LOCAL_NOTHING);
	assert_int_equal(mkdir(t->root, 0700), 0);
	make_folder(t, "INBOX");
	assert_int_equal(scan(t), 4); /* root, INBOX, its cur/ and new/ */
	assert_int_equal(news_of(t), WATCH_LOCAL_NOTHING);

	/* Delivery: tmp/ is not watched, the rename into new/ is. */
	write_file(t, "INBOX/tmp/1.host");
	assert_int_equal(news_of(t), WATCH_LOCAL_NOTHING);
	move(t, "INBOX/tmp/1.host", "INBOX/new/1.host");
	assert_int_equal(news_of(t), WATCH_LOCAL_CHANGE);
	/* A flag change is a rename into cur/. */
	move(t, "INBOX/new/1.host", "INBOX/cur/1.host:2,S");
	assert_int_equal(news_of(t), WATCH_LOCAL_CHANGE);
	/* Written in place (not the Maildir way, but it happens). */
	write_file(t, "INBOX/cur/2.host:2,");
	assert_int_equal(news_of(t), WATCH_LOCAL_CHANGE);
	/* Files beside the folders are not mail. */
	write_file(t, "subscriptions");
	write_file(t, "INBOX/dovecot-uidlist");
	assert_int_equal(news_of(t), WATCH_LOCAL_NOTHING);

	/* A new folder: the tree changed; after a scan its mail is seen. */
	make_folder(t, "Work");
	assert_int_equal(news_of(t), WATCH_LOCAL_CHANGE | WATCH_LOCAL_TREE);
	assert_int_equal(scan(t), 7);
	write_file(t, "Work/new/3.host");
	assert_int_equal(news_of(t), WATCH_LOCAL_CHANGE);
	/* A subfolder (verbatim layout) is a folder inside a folder. */
	make_folder(t, "Work/Sub");
	assert_int_equal(news_of(t), WATCH_LOCAL_CHANGE | WATCH_LOCAL_TREE);
	assert_int_equal(scan(t), 10);
	/* Scanning again changes nothing and says nothing. */
	assert_int_equal(scan(t), 10);
	assert_int_equal(news_of(t), WATCH_LOCAL_NOTHING);

	/* A folder renamed away, then removed: the tree shrinks. */
	move(t, "Work", "Old");
	assert_int_equal(news_of(t), WATCH_LOCAL_CHANGE | WATCH_LOCAL_TREE);
	assert_int_equal(scan(t), 10);
	char *cmd = xasprintf("rm -rf '%s/Old'", t->root);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	assert_int_equal(news_of(t), WATCH_LOCAL_CHANGE | WATCH_LOCAL_TREE);
	assert_int_equal(scan(t), 4);
	assert_int_equal(news_of(t), WATCH_LOCAL_NOTHING);
}

/* ---- the server watcher process ----------------------------------------- */

static void load_account(struct config *cfg, unsigned port)
{
	char *text = xasprintf("state_dir: /nonexistent\n"
			       "accounts:\n"
			       "  t:\n"
			       "    remote: {host: 127.0.0.1, port: %u, tls: none, "
			       "user: u, password: p, timeout: 30s, compress: false}\n"
			       "    local: {path: /nonexistent}\n",
			       port);
	struct config_env env = {.home = "/nonexistent"};
	struct error err = ERROR_INIT;
	assert_int_equal(config_load_string(cfg, "test", text, strlen(text), &env, &err), 0);
	free(text);
}

/* Reads what the child says until it ends (at most 10 s). */
static void read_until_end(struct watch_remote *r, char **error_r)
{
	*error_r = NULL;
	int64_t limit = watch_now_ms() + 10000;
	while (r->pid && watch_now_ms() < limit) {
		struct pollfd pfd = {.fd = r->fd, .events = POLLIN};
		poll(&pfd, 1, 100);
		struct watch_remote_news news;
		watch_remote_read(r, &news);
		assert_false(news.ready);
		if (news.error) {
			free(*error_r);
			*error_r = news.error;
		}
	}
}

/* A TCP socket bound to a free port of 127.0.0.1, listening or not. */
static int loopback_socket(bool listening, unsigned *port_r)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(sa);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (listening)
		assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port_r = ntohs(sa.sin_port);
	return fd;
}

static void remote_cannot_connect(void **state)
{
	(void)state;
	/* A port nobody listens on: bind one, then close it. */
	unsigned port;
	close(loopback_socket(false, &port));

	struct config cfg;
	load_account(&cfg, port);
	struct watch_remote r;
	watch_remote_init(&r);
	struct error err = ERROR_INIT;
	assert_int_equal(watch_remote_start(&r, &cfg.accounts[0], NULL, NULL, &err), 0);
	assert_true(r.pid > 0);
	char *error;
	read_until_end(&r, &error);
	assert_int_equal(r.pid, 0);
	assert_int_equal(r.fd, -1);
	char *want = xasprintf("cannot connect to 127.0.0.1 port %u: Connection refused", port);
	assert_non_null(error);
	assert_string_equal(error, want);
	free(want);
	free(error);
	watch_remote_stop(&r); /* nothing left to stop: harmless */
	config_free(&cfg);
}

/* A listening socket, an account whose server it is, and a watcher not
 * started yet. */
struct server {
	unsigned port;
	int lfd;
	struct config cfg;
	struct watch_remote r;
};

static int server_setup(void **state)
{
	struct server *s = xcalloc(1, sizeof(*s));
	s->lfd = loopback_socket(true, &s->port);
	load_account(&s->cfg, s->port);
	watch_remote_init(&s->r);
	*state = s;
	return 0;
}

static int server_teardown(void **state)
{
	struct server *s = *state;
	watch_remote_stop(&s->r);
	close(s->lfd);
	config_free(&s->cfg);
	free(s);
	return 0;
}

static void remote_stopped_while_waiting(void **state)
{
	struct server *s = *state;
	/* A server that accepts (the backlog does) and never says a word. */
	struct error err = ERROR_INIT;
	assert_int_equal(watch_remote_start(&s->r, &s->cfg.accounts[0], NULL, NULL, &err), 0);
	pid_t pid = s->r.pid;
	usleep(200 * 1000);
	struct watch_remote_news news;
	watch_remote_read(&s->r, &news);
	assert_false(news.ended || news.ready || news.change || news.error);
	int64_t t = watch_now_ms();
	watch_remote_stop(&s->r);
	assert_true(watch_now_ms() - t < 2000); /* not the 30 s timeout */
	assert_int_equal(s->r.pid, 0);
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);
}

/* ---- the server watcher against a scripted server ------------------------ */

/* The test plays the server: it accepts the watcher's connection, sends
 * lines and checks the exact bytes the watcher sends back. */
static int fake_accept(int lfd)
{
	struct pollfd pfd = {.fd = lfd, .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	int fd = accept(lfd, NULL, NULL);
	assert_true(fd >= 0);
	return fd;
}

static void fake_send(int fd, const char *s)
{
	size_t len = strlen(s);
	assert_int_equal(write(fd, s, len), (ssize_t)len);
}

static void fake_expect(int fd, const char *want)
{
	size_t len = strlen(want), got = 0;
	char *have = xcalloc(len + 1, 1);
	while (got < len) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		assert_int_equal(poll(&pfd, 1, 5000), 1);
		ssize_t n = read(fd, have + got, len - got);
		assert_true(n > 0);
		got += (size_t)n;
	}
	assert_string_equal(have, want);
	free(have);
}

/* What the watcher said so far (waiting up to 2 s for a first word when
 * wait is set). */
static void news_now(struct watch_remote *r, bool wait,
		     struct watch_remote_news *news)
{
	struct pollfd pfd = {.fd = r->fd, .events = POLLIN};
	poll(&pfd, 1, wait ? 2000 : 0);
	watch_remote_read(r, news);
}

/* Starts the watcher and lets it log in (as u, p) to a server that
 * offers caps besides IMAP4rev1; returns the server's end. */
static int fake_login(struct watch_remote *r, const struct config *cfg,
		      int lfd, const char *caps)
{
	struct error err = ERROR_INIT;
	assert_int_equal(watch_remote_start(r, &cfg->accounts[0], NULL, NULL, &err), 0);
	int fd = fake_accept(lfd);
	char *line = xasprintf("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR%s] hi\r\n", caps);
	fake_send(fd, line);
	free(line);
	fake_expect(fd, "T1 AUTHENTICATE PLAIN AHUAcA==\r\n");
	line = xasprintf("T1 OK [CAPABILITY IMAP4rev1%s] in\r\n", caps);
	fake_send(fd, line);
	free(line);
	return fd;
}

static void remote_idle_on_inbox(void **state)
{
	struct server *s = *state;
	int fd = fake_login(&s->r, &s->cfg, s->lfd, " IDLE NOTIFY");
	fake_expect(fd, "T2 EXAMINE INBOX\r\n");
	fake_send(fd, "* 3 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\nT2 OK [READ-ONLY] in\r\n");
	fake_expect(fd, "T3 " NOTIFY_SET_LINE "\r\n");
	fake_send(fd, "T3 NO not here\r\n"); /* refused: IDLE on INBOX */
	fake_expect(fd, "T4 IDLE\r\n");
	struct watch_remote_news news;
	news_now(&s->r, true, &news);
	assert_true(news.ready);
	assert_false(news.change || news.ended);
	assert_int_equal(s->r.mode, WATCH_REMOTE_IDLE);

	/* Dovecot's keep-alive ends a round of IDLE but is no change. */
	fake_send(fd, "+ idling\r\n* OK Still here\r\n");
	fake_expect(fd, "DONE\r\n");
	fake_send(fd, "T4 OK done\r\n");
	fake_expect(fd, "T5 IDLE\r\n");
	news_now(&s->r, false, &news);
	assert_false(news.ready || news.change || news.ended);

	/* A new message is. */
	fake_send(fd, "+ idling\r\n* 4 EXISTS\r\n");
	fake_expect(fd, "DONE\r\n");
	fake_send(fd, "T5 OK done\r\n");
	fake_expect(fd, "T6 IDLE\r\n");
	news_now(&s->r, true, &news);
	assert_true(news.change);
	assert_false(news.ended);

	/* The server goes away: the watcher says why and ends. */
	close(fd);
	char *error;
	read_until_end(&s->r, &error);
	char *want = xasprintf("127.0.0.1:%u: server closed the connection", s->port);
	assert_non_null(error);
	assert_string_equal(error, want);
	free(want);
	free(error);
}

static void remote_notify_and_no_idle(void **state)
{
	struct server *s = *state;

	/* NOTIFY accepted: a STATUS of another folder is a change. */
	int fd = fake_login(&s->r, &s->cfg, s->lfd, " IDLE NOTIFY");
	fake_expect(fd, "T2 EXAMINE INBOX\r\n");
	fake_send(fd, "T2 OK [READ-ONLY] in\r\n");
	fake_expect(fd, "T3 " NOTIFY_SET_LINE "\r\n");
	fake_send(fd, "T3 OK set\r\n");
	fake_expect(fd, "T4 IDLE\r\n");
	fake_send(fd, "+ idling\r\n* STATUS Work (MESSAGES 2 UIDNEXT 3)\r\n");
	fake_expect(fd, "DONE\r\n");
	fake_send(fd, "T4 OK done\r\n");
	fake_expect(fd, "T5 IDLE\r\n");
	struct watch_remote_news news;
	news_now(&s->r, true, &news);
	assert_true(news.ready && news.change);
	assert_int_equal(s->r.mode, WATCH_REMOTE_NOTIFY);
	watch_remote_stop(&s->r);
	close(fd);

	/* No IDLE at all: it says so and ends, without an error. */
	fd = fake_login(&s->r, &s->cfg, s->lfd, "");
	bool no_idle = false;
	int64_t limit = watch_now_ms() + 5000;
	while (s->r.pid && watch_now_ms() < limit) {
		news_now(&s->r, true, &news);
		assert_null(news.error);
		no_idle |= news.no_idle;
	}
	assert_true(no_idle);
	assert_int_equal(s->r.pid, 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sched_start_and_periodic),
		cmocka_unit_test(sched_debounce),
		cmocka_unit_test(sched_backoff),
		cmocka_unit_test(sched_lock_wait),
		cmocka_unit_test(sched_remote_backoff),
		cmocka_unit_test(clock_moves_forward),
		cmocka_unit_test(server_changes),
		cmocka_unit_test_setup_teardown(local_tree, tree_setup, tree_teardown),
		cmocka_unit_test(remote_cannot_connect),
		cmocka_unit_test_setup_teardown(remote_stopped_while_waiting, server_setup,
						server_teardown),
		cmocka_unit_test_setup_teardown(remote_idle_on_inbox, server_setup,
						server_teardown),
		cmocka_unit_test_setup_teardown(remote_notify_and_no_idle, server_setup,
						server_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
