/* SPDX-License-Identifier: MIT */
/*
 * tidemail watch: stays running and syncs an account whenever something
 * changes.  At start, and whenever a change was seen and things have
 * been quiet for a second, it runs the same sync as `tidemail sync`.
 * Changes are seen
 *
 * - on the server by a child process in IDLE (NOTIFY where offered:
 *   watch-remote.c),
 * - in the Maildir by inotify (watch-local.c),
 * - and, as a safety net, by a full sync every --interval (15 minutes).
 *
 * A lost connection is retried with back-off (1 s doubling to 5 min)
 * without exiting; a lock held by another run is waited out.  SIGINT or
 * SIGTERM ends it with status 0: a wait is abandoned at once, a running
 * sync is finished first (a second signal ends even that: every step of
 * a sync is journaled, so the next run completes it).
 *
 * Output follows `tidemail sync`: errors one line each on stderr, said
 * once while they last (a server that stays away is not reported again
 * at every retry); on a terminal or with -v, a line per sync that changed
 * something.
 */
#include "cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sync.h"
#include "watch.h"

static const char usage[] =
	"usage: tidemail [-c FILE] [-v | -q] watch [ACCOUNT...] "
	"[--interval DURATION]";

struct acct {
	const struct cmd_globals *g;
	const struct config *cfg;
	const struct config_account *a;
	struct watch_sched sched;
	struct watch_local *local;  /* NULL: inotify is not available */
	bool rescan;                /* the folder tree changed */
	struct watch_remote remote;
	bool remote_off;            /* the server offers no IDLE */
	/* Error lines of the last sync and of this one: a line is printed
	 * only if the last sync did not print it already. */
	struct buf said, saying;
	char *remote_said;          /* the server watcher's last error */
	char *local_said;           /* inotify's last error */
	bool was_offline;
};

/* ---- signals ----------------------------------------------------------- */

static volatile sig_atomic_t stop_signal;
static int stop_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
	if (stop_signal) {
		/* The second one: leave now, even in the middle of a sync. */
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	stop_signal = sig;
	int saved = errno;
	if (write(stop_pipe[1], "", 1) < 0) {
		/* Full: a byte is there already. */
	}
	errno = saved;
}

static int catch_signals(void)
{
	if (pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	return 0;
}

static void release_signals(void)
{
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	for (int i = 0; i < 2; i++) {
		if (stop_pipe[i] >= 0)
			close(stop_pipe[i]);
		stop_pipe[i] = -1;
	}
}

/* ---- output ------------------------------------------------------------ */

static bool talkative(const struct cmd_globals *g)
{
	return g->verbosity == VERBOSITY_TRACE ||
	       (g->tty && g->verbosity != VERBOSITY_QUIET);
}

static bool has_line(const char *lines, const char *line)
{
	size_t len = strlen(line);
	for (const char *p = lines; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (n == len && !memcmp(p, line, len))
			return true;
		p += n + (nl != NULL);
	}
	return false;
}

/* An error of the sync under way (text without "tidemail: "). */
static void UTIL_PRINTF(2, 3) sync_error(struct acct *ac, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *line = xvasprintf(fmt, ap);
	va_end(ap);
	if (!has_line(ac->said.data, line))
		cmd_error("%s", line);
	buf_addf(&ac->saying, "%s\n", line);
	free(line);
}

/* An error outside a sync, printed when it differs from *last. */
static void other_error(char **last, const char *line)
{
	if (*last && !strcmp(*last, line))
		return;
	cmd_error("%s", line);
	free(*last);
	*last = xstrdup(line);
}

static void trace_line(void *ctx, const char *line)
{
	fprintf(stderr, "%s: %s\n", (const char *)ctx, line);
}

static void on_event(void *ctx, enum sync_event ev, const char *folder,
		     const char *text, const struct sync_counts *c)
{
	(void)c;
	struct acct *ac = ctx;
	if (ev != SYNC_EV_FOLDER_FAILED && ev != SYNC_EV_FOLDER_REFUSED)
		return;
	if (folder)
		sync_error(ac, "account %s, folder %s: %s", ac->a->name, folder,
			   text);
	else
		sync_error(ac, "account %s: %s", ac->a->name, text);
}

/* One line per sync that changed something, naming only what did. */
static void print_summary(const struct acct *ac, const struct sync_counts *c)
{
	const struct {
		const char *what;
		size_t n;
	} parts[] = {
		{"down", c->downloaded},
		{"up", c->uploaded},
		{"flag changes", c->local_flags + c->remote_flags},
		{"deleted", c->deleted_local + c->deleted_remote},
		{"moved", c->moved_local + c->moved_remote},
		{"folders created", c->folders_created},
		{"folders deleted", c->folders_deleted},
		{"folders renamed", c->folders_renamed},
	};
	struct buf line = BUF_INIT(BUF_UNLIMITED);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(parts); i++)
		if (parts[i].n)
			buf_addf(&line, "%s%zu %s", line.len ? ", " : "",
				 parts[i].n, parts[i].what);
	if (line.len) {
		time_t t = time(NULL);
		struct tm tm;
		localtime_r(&t, &tm);
		printf("%02d:%02d:%02d %s: %s\n", tm.tm_hour, tm.tm_min,
		       tm.tm_sec, ac->a->name, line.data);
		fflush(stdout);
	}
	buf_release(&line);
}

/* ---- one account ------------------------------------------------------- */

static void local_scan(struct acct *ac)
{
	if (!ac->local)
		return;
	struct error err = ERROR_INIT;
	if (watch_local_scan(ac->local, &err) < 0) {
		char *line = xasprintf("account %s: %s; local changes are seen "
				       "by the periodic sync only",
				       ac->a->name, err.msg);
		other_error(&ac->local_said, line);
		free(line);
		error_clear(&err);
	}
	ac->rescan = false;
}

static void run_sync(struct acct *ac)
{
	/* Watches first: what changes during the run is seen after it. */
	local_scan(ac);
	struct sync_opts so = {.event = on_event, .event_ctx = ac};
	if (ac->g->verbosity == VERBOSITY_TRACE) {
		so.trace = trace_line;
		so.trace_ctx = ac->a->name;
	}
	struct sync_report rep = {0};
	struct error err = ERROR_INIT;
	int r = sync_account(ac->cfg, ac->a, &so, &rep, &err);
	enum watch_outcome o = WATCH_SYNCED;
	if (r == SYNC_LOCKED) {
		o = WATCH_LOCKED;
	} else if (r < 0) {
		o = rep.connect_failed ? WATCH_OFFLINE : WATCH_FAILED;
		/* "...terminated." from GnuTLS: no ".;" before what follows. */
		const char *msg = err.msg ? err.msg : "the sync failed";
		int len = (int)strlen(msg);
		if (o == WATCH_OFFLINE && len > 0 && msg[len - 1] == '.')
			len--;
		sync_error(ac, "account %s: %.*s%s", ac->a->name, len, msg,
			   o == WATCH_OFFLINE ? "; trying again, less and less "
						"often (at most every 5 minutes)"
					      : "");
	}
	error_clear(&err);
	int64_t wait_ms = watch_sched_done(&ac->sched, o, watch_now_ms());
	if (o == WATCH_LOCKED && talkative(ac->g))
		fprintf(stderr, "tidemail: account %s: another tidemail run "
			"holds it; trying again in %lld s\n", ac->a->name,
			(long long)(wait_ms / 1000));
	if (o == WATCH_SYNCED) {
		if (ac->was_offline && ac->g->verbosity != VERBOSITY_QUIET)
			fprintf(stderr, "tidemail: account %s: connected again\n",
				ac->a->name);
		ac->was_offline = false;
		if (talkative(ac->g))
			print_summary(ac, &rep.counts);
		/* As after `tidemail sync`; a failing hook says why itself. */
		if (rep.local_changed && ac->a->hooks.post_sync)
			cmd_post_sync_hook(ac->a, &rep);
	} else if (o == WATCH_OFFLINE) {
		ac->was_offline = true;
	}
	if (o != WATCH_LOCKED) {
		/* A lock wait says nothing about the errors of the last run. */
		buf_reset(&ac->said);
		buf_add(&ac->said, ac->saying.data, ac->saying.len);
	}
	buf_reset(&ac->saying);
	sync_report_release(&rep);
}

static void remote_start(struct acct *ac, int64_t now)
{
	struct error err = ERROR_INIT;
	imap_trace_fn *trace = ac->g->verbosity == VERBOSITY_TRACE ? trace_line
								     : NULL;
	if (watch_remote_start(&ac->remote, ac->a, trace, ac->a->name, &err) < 0) {
		char *line = xasprintf("account %s: cannot watch the server: %s",
				       ac->a->name, err.msg);
		other_error(&ac->remote_said, line);
		free(line);
		error_clear(&err);
		watch_sched_remote_died(&ac->sched, 0, now);
	}
}

static void remote_news(struct acct *ac, int64_t now)
{
	int64_t started = ac->remote.started;
	struct watch_remote_news news;
	watch_remote_read(&ac->remote, &news);
	if (news.ready) {
		free(ac->remote_said);
		ac->remote_said = NULL;
		if (ac->g->verbosity == VERBOSITY_TRACE)
			fprintf(stderr, "tidemail: account %s: watching %s\n",
				ac->a->name,
				ac->remote.mode == WATCH_REMOTE_NOTIFY
					? "every folder on the server (NOTIFY)"
					: "INBOX on the server (IDLE)");
		/* Whatever changed while no watcher was up. */
		watch_sched_change(&ac->sched, now);
	}
	if (news.change)
		watch_sched_change(&ac->sched, now);
	if (news.no_idle) {
		ac->remote_off = true;
		if (ac->g->verbosity != VERBOSITY_QUIET)
			fprintf(stderr, "tidemail: account %s: the server "
				"offers no IDLE; its changes are seen by the "
				"periodic sync only\n", ac->a->name);
	}
	if (news.error) {
		char *line = xasprintf("account %s: watching the server: %s",
				       ac->a->name, news.error);
		other_error(&ac->remote_said, line);
		free(line);
		free(news.error);
	}
	if (news.ended && !ac->remote_off) {
		watch_sched_remote_died(&ac->sched, now - started, now);
		/* The connection may be gone: a sync finds out (and backs
		 * off if so); the watcher waits until the server answers. */
		watch_sched_now(&ac->sched, now);
	}
}

static void local_news(struct acct *ac, int64_t now)
{
	unsigned news;
	struct error err = ERROR_INIT;
	if (watch_local_read(ac->local, &news, &err) < 0) {
		char *line = xasprintf("account %s: %s", ac->a->name, err.msg);
		other_error(&ac->local_said, line);
		free(line);
		error_clear(&err);
		/* inotify is broken: the periodic sync remains. */
		watch_local_free(ac->local);
		ac->local = NULL;
		return;
	}
	if (news & WATCH_LOCAL_TREE)
		ac->rescan = true;
	if (news & WATCH_LOCAL_CHANGE)
		watch_sched_change(&ac->sched, now);
}

static void acct_init(struct acct *ac, const struct cmd_globals *g,
		      const struct config *cfg, const struct config_account *a,
		      int64_t interval_ms, int64_t now)
{
	*ac = (struct acct){.g = g, .cfg = cfg, .a = a,
			    .said = BUF_INIT(BUF_UNLIMITED),
			    .saying = BUF_INIT(BUF_UNLIMITED)};
	watch_sched_init(&ac->sched, interval_ms, now);
	watch_remote_init(&ac->remote);
	struct error err = ERROR_INIT;
	if (watch_local_open(a->local.path, &ac->local, &err) < 0) {
		char *line = xasprintf("account %s: %s; local changes are seen "
				       "by the periodic sync only",
				       a->name, err.msg);
		other_error(&ac->local_said, line);
		free(line);
		error_clear(&err);
	}
}

static void acct_free(struct acct *ac)
{
	watch_remote_stop(&ac->remote);
	watch_local_free(ac->local);
	buf_release(&ac->said);
	buf_release(&ac->saying);
	free(ac->remote_said);
	free(ac->local_said);
}

/* ---- the loop ---------------------------------------------------------- */

/* One turn: start what is due, then wait for news until the next thing
 * is due.  Returns after a sync, so the caller reads the news it caused. */
static void turn(struct acct *accts, size_t n)
{
	int64_t now = watch_now_ms();
	for (size_t i = 0; i < n; i++) {
		struct acct *ac = &accts[i];
		if (ac->remote.pid == 0 && !ac->remote_off &&
		    ac->sched.backoff_ms == 0 && now >= ac->sched.remote_at)
			remote_start(ac, now);
	}
	int64_t next = WATCH_NEVER;
	for (size_t i = 0; i < n; i++) {
		struct acct *ac = &accts[i];
		if (ac->rescan)
			local_scan(ac);
		int64_t at = watch_sched_next(&ac->sched);
		if (at <= now) {
			run_sync(ac);
			return;
		}
		if (at < next)
			next = at;
		if (ac->remote.pid == 0 && !ac->remote_off &&
		    ac->sched.backoff_ms == 0 && ac->sched.remote_at < next)
			next = ac->sched.remote_at;
	}
	struct pollfd *fds = xcalloc(1 + 2 * n, sizeof(*fds));
	size_t nfds = 0;
	fds[nfds++] = (struct pollfd){.fd = stop_pipe[0], .events = POLLIN};
	for (size_t i = 0; i < n; i++) {
		fds[nfds++] = (struct pollfd){
			.fd = accts[i].local ? watch_local_fd(accts[i].local) : -1,
			.events = POLLIN};
		fds[nfds++] = (struct pollfd){.fd = accts[i].remote.fd,
					      .events = POLLIN};
	}
	int64_t wait = next == WATCH_NEVER ? -1 : next - now;
	int timeout = wait > INT32_MAX ? INT32_MAX : (int)wait;
	int r = poll(fds, nfds, timeout);
	now = watch_now_ms();
	for (size_t i = 0; r > 0 && i < n; i++) {
		if (fds[1 + 2 * i].revents)
			local_news(&accts[i], now);
		if (fds[2 + 2 * i].revents)
			remote_news(&accts[i], now);
	}
	free(fds);
}

static int parse_args(int argc, char **argv, int64_t *interval_ms_r)
{
	static const struct option options[] = {
		{"interval", required_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	optind = 1;
	opterr = 0; /* getopt's own message would name "watch", not tidemail */
	int c;
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		uint64_t secs;
		switch (c) {
		case 'i':
			if (config_parse_duration(optarg, &secs) < 0 || secs == 0 ||
			    secs > 7 * 86400) {
				cmd_error("--interval: expected a duration from 1s "
					  "to 7d such as 15m or 90s, got '%s'",
					  optarg);
				return EXIT_USAGE;
			}
			*interval_ms_r = (int64_t)secs * 1000;
			break;
		case 'h':
			puts(usage);
			return EXIT_SYNCED;
		case ':':
			cmd_error("watch: %s needs a value (see tidemail watch --help)",
				  argv[optind - 1]);
			return EXIT_USAGE;
		default:
			cmd_error("watch: unknown option '%s' (see tidemail watch --help)",
				  argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	return -1;
}

int cmd_watch(const struct cmd_globals *g, int argc, char **argv)
{
	int64_t interval_ms = WATCH_INTERVAL_DEFAULT_MS;
	int status = parse_args(argc, argv, &interval_ms);
	if (status >= 0)
		return status;
	struct config cfg;
	if (cmd_load_config(g, &cfg) < 0)
		return EXIT_USAGE;
	const struct config_account **picked;
	size_t n;
	if (cmd_select_accounts(&cfg, argc - optind, argv + optind, &picked, &n) < 0) {
		config_free(&cfg);
		return EXIT_USAGE;
	}
	/* Each account once, in the order first named. */
	struct acct *accts = xcalloc(n ? n : 1, sizeof(*accts));
	size_t n_accts = 0;
	int64_t now = watch_now_ms();
	if (catch_signals() < 0) {
		cmd_error("cannot set up signal handling: %s", strerror(errno));
		status = EXIT_PARTIAL;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = picked[k] == picked[i];
		if (!seen)
			acct_init(&accts[n_accts++], g, &cfg, picked[i],
				  interval_ms, now);
	}
	if (n_accts == 0) {
		cmd_error("%s: no accounts to watch", cfg.path);
		status = EXIT_USAGE;
		goto out;
	}
	while (!stop_signal)
		turn(accts, n_accts);
	status = EXIT_SYNCED;
out:
	for (size_t i = 0; i < n_accts; i++)
		acct_free(&accts[i]);
	release_signals();
	free(accts);
	free(picked);
	config_free(&cfg);
	return status;
}
