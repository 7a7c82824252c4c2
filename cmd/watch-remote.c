/* SPDX-License-Identifier: MIT */
/*
 * The server side of `tidemail watch`: a child process with its own
 * connection, waiting in IDLE, that writes one line to a pipe for each
 * thing the parent should know:
 *
 *   ready notify | ready idle   logged in, waiting (which way, see below)
 *   change                      something changed on the server
 *   noidle                      the server offers no IDLE (then it exits)
 *   error TEXT                  why it gives up (then it exits)
 *
 * Where the server offers NOTIFY (RFC 5465) the child asks for news of
 * every personal folder (new and expunged messages, flag changes, folders
 * created, renamed or deleted), so a message filed into any folder wakes
 * the sync.  Elsewhere it EXAMINEs INBOX and IDLEs there: other folders
 * are then seen by the periodic sync.
 *
 * IDLE is renewed before the connection's inactivity limit (imap_idle()
 * treats a silence that long as a dead server) and at most every 25
 * minutes (RFC 2177 asks for under 29).  A change is written without
 * blocking: if the pipe is full the parent has plenty to read already.
 */
#include "watch.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "account.h"
#include "imap-cmds.h"

#define IDLE_ROUND_MAX_MS (25 * 60 * 1000)
/* How much of a line from the child is kept (error texts are short). */
#define LINE_MAX_BYTES (16 * 1024)
/* An error line stays under PIPE_BUF, so that it is written whole. */
#define ERROR_TEXT_MAX 2000

/* The events asked for.  FlagChange needs MessageNew and MessageExpunge
 * beside it (RFC 5465 section 5). */
#define NOTIFY_SET                                                         \
	"NOTIFY SET (selected (MessageNew MessageExpunge FlagChange)) "    \
	"(personal (MessageNew MessageExpunge FlagChange MailboxName))"

bool watch_remote_is_change(const struct imap_response *r)
{
	if (r->kind != IMAP_RESP_UNTAGGED)
		return false;
	switch (r->type) {
	case IMAP_U_EXISTS:
	case IMAP_U_EXPUNGE:
	case IMAP_U_FETCH:
	case IMAP_U_VANISHED:
	case IMAP_U_STATUS:
	case IMAP_U_LIST:
		return true;
	case IMAP_U_STATE:
		/* NOTIFY's way of saying "too much happened, look for
		 * yourself" (RFC 5465 section 5.8). */
		return r->code.name &&
		       !strcasecmp(r->code.name, "NOTIFICATIONOVERFLOW");
	default:
		return false;
	}
}

/* ---- the child ---------------------------------------------------------- */

struct child {
	int fd;
	bool changed;
};

static void say(int fd, const char *line)
{
	size_t len = strlen(line);
	/* Under PIPE_BUF bytes: written whole or not at all. */
	while (write(fd, line, len) < 0 && errno == EINTR)
		;
}

static int on_untagged(void *ctx, const struct imap_response *r,
		       struct error *err)
{
	(void)err;
	struct child *ch = ctx;
	if (watch_remote_is_change(r))
		ch->changed = true;
	return 0;
}

static int child_watch(struct child *ch, struct imap_client *c,
		       int round_ms, struct error *err)
{
	imap_set_untagged(c, on_untagged, ch);
	struct imap_select_opts so = {.examine = true};
	struct imap_mailbox mb;
	int r = imap_select(c, "INBOX", &so, &mb, err);
	if (r < 0)
		return r;
	imap_mailbox_free(&mb);
	bool notify = false;
	if (imap_has_cap(c, "NOTIFY")) {
		struct error e = ERROR_INIT;
		r = imap_simple(c, NULL, NULL, &e, NOTIFY_SET);
		if (r < 0 && e.reach == ERR_ACCOUNT) {
			error_set(err, ERR_ACCOUNT, "%s", e.msg);
			error_clear(&e);
			return r;
		}
		/* Refused: IDLE on INBOX will do. */
		notify = r == 0;
		error_clear(&e);
	}
	say(ch->fd, notify ? "ready notify\n" : "ready idle\n");
	for (;;) {
		ch->changed = false;
		bool woke;
		r = imap_idle(c, round_ms, on_untagged, ch, &woke, err);
		if (r < 0)
			return r;
		if (ch->changed)
			say(ch->fd, "change\n");
	}
}

/* Runs in the child; never returns. */
static void child_main(const struct config_account *a, int fd,
		       imap_trace_fn *trace, void *trace_ctx)
{
	struct child ch = {.fd = fd};
	struct error err = ERROR_INIT;
	char *secret = NULL;
	struct imap_client *c = NULL;
	int code = 1;
	if (account_secret(a, &secret, &err) < 0)
		goto out;
	enum imap_auth auth[CONFIG_AUTH_COUNT_];
	struct imap_options o;
	account_imap_options(a, secret, auth, &o);
	o.trace = trace;
	o.trace_ctx = trace_ctx;
	/* Renew IDLE well before the inactivity limit makes it an error. */
	int limit = o.timeout_ms > 0 ? o.timeout_ms : 60 * 1000;
	int round_ms = limit - limit / 10;
	if (round_ms > IDLE_ROUND_MAX_MS)
		round_ms = IDLE_ROUND_MAX_MS;
	if (imap_connect(&o, &c, &err) < 0)
		goto out;
	if (!imap_has_cap(c, "IDLE")) {
		say(fd, "noidle\n");
		code = 0;
		goto out;
	}
	child_watch(&ch, c, round_ms, &err);
out:
	if (err.msg) {
		/* One line, whatever the text holds. */
		char *line = xasprintf("error %.*s\n", ERROR_TEXT_MAX, err.msg);
		for (char *p = line + 6; p[1]; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		say(fd, line);
		free(line);
	}
	error_clear(&err);
	if (c)
		imap_close(c);
	if (secret)
		account_secret_free(secret);
	close(fd);
	/* _exit: the parent's atexit handlers and stdio buffers are the
	 * parent's business. */
	_exit(code);
}

/* ---- the parent --------------------------------------------------------- */

void watch_remote_init(struct watch_remote *r)
{
	*r = (struct watch_remote){.fd = -1, .in = BUF_INIT(LINE_MAX_BYTES)};
}

int watch_remote_start(struct watch_remote *r, const struct config_account *a,
		       imap_trace_fn *trace, void *trace_ctx, struct error *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return error_errno(err, ERR_ACCOUNT, errno, "pipe");
	fflush(NULL); /* nothing buffered is written twice */
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return error_errno(err, ERR_ACCOUNT, e, "fork");
	}
	if (pid == 0) {
		/* Ctrl-C reaches the whole process group: the parent decides
		 * when the child ends.  It ends with the parent, too. */
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_IGN);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		/* Only the pipe's write end, and stdin/out/err, stay open. */
		int fd = p[1];
		if (fd != 3) {
			dup3(fd, 3, O_CLOEXEC);
			fd = 3;
		}
		close_range(4, ~0U, 0);
		fcntl(fd, F_SETFL, O_NONBLOCK);
		child_main(a, fd, trace, trace_ctx);
	}
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	r->pid = pid;
	r->fd = p[0];
	r->started = watch_now_ms();
	r->mode = WATCH_REMOTE_STARTING;
	buf_reset(&r->in);
	return 0;
}

static void reap(struct watch_remote *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	if (r->pid > 0)
		while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR)
			;
	r->pid = 0;
	buf_release(&r->in);
}

static void on_line(struct watch_remote *r, const char *line,
		    struct watch_remote_news *news)
{
	if (!strcmp(line, "change")) {
		news->change = true;
	} else if (!strcmp(line, "ready notify")) {
		news->ready = true;
		r->mode = WATCH_REMOTE_NOTIFY;
	} else if (!strcmp(line, "ready idle")) {
		news->ready = true;
		r->mode = WATCH_REMOTE_IDLE;
	} else if (!strcmp(line, "noidle")) {
		news->no_idle = true;
	} else if (!strncmp(line, "error ", 6)) {
		free(news->error);
		news->error = xstrdup(line + 6);
	}
}

void watch_remote_read(struct watch_remote *r, struct watch_remote_news *news)
{
	*news = (struct watch_remote_news){0};
	if (r->fd < 0)
		return;
	char chunk[512];
	for (;;) {
		ssize_t n = read(r->fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			news->ended = true;
			break;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (chunk[i] != '\n') {
				/* Past the ceiling the rest of the line is
				 * dropped; it is only text for a message. */
				buf_addc(&r->in, chunk[i]);
				continue;
			}
			on_line(r, r->in.data, news);
			buf_reset(&r->in);
		}
	}
	if (news->ended)
		reap(r);
}

void watch_remote_stop(struct watch_remote *r)
{
	if (r->pid > 0)
		kill(r->pid, SIGTERM);
	reap(r);
}
