/* SPDX-License-Identifier: MIT */
/*
 * watch: the parts of `tidemail watch` (cmd/watch.c), kept apart so that
 * each can be tested on its own.
 *
 * - watch_sched (watch-sched.c): when the next sync of an account is due.
 *   Pure: it is told the time and what happened, does no I/O.
 * - watch_local (watch-local.c): inotify on an account's Maildir tree.
 * - watch_remote (watch-remote.c): a child process that keeps its own
 *   connection to the server in IDLE (with NOTIFY where offered) and
 *   writes a line to a pipe when something changes there.  A process, not
 *   a thread, because imap_idle() cannot be interrupted from outside: on
 *   exit the parent can end a child at once, but would have to wait up to
 *   an IDLE round for a thread.
 *
 * Times are milliseconds of CLOCK_MONOTONIC (watch_now_ms()).
 *
 * Ownership: watch_local_open() and watch_remote_start() hand the
 * caller an object that watch_local_free() and watch_remote_stop() release.  Config and account are borrowed and
 * must outlive the objects.
 */
#ifndef TIDEMAIL_CMD_WATCH_H
#define TIDEMAIL_CMD_WATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "imap.h"
#include "util.h"

int64_t watch_now_ms(void);

/* ---- scheduling --------------------------------------------------------- */

#define WATCH_DEBOUNCE_MS 1000          /* quiet time after a change */
#define WATCH_DEBOUNCE_CAP_MS 10000     /* a burst waits at most this */
#define WATCH_BACKOFF_MIN_MS 1000       /* first retry after network loss */
#define WATCH_BACKOFF_MAX_MS (300 * 1000)
#define WATCH_LOCK_RETRY_MAX_MS (30 * 1000)
#define WATCH_INTERVAL_DEFAULT_MS (15 * 60 * 1000)
/* A server watcher that stayed up this long starts its back-off afresh. */
#define WATCH_REMOTE_STABLE_MS (60 * 1000)

/* How a sync ended, as far as scheduling cares. */
enum watch_outcome {
	WATCH_SYNCED,         /* the run went through (folders may have failed) */
	WATCH_OFFLINE,        /* could not connect or log in: back off */
	WATCH_LOCKED,         /* another run holds the account: wait it out */
	WATCH_FAILED,         /* a local, account-wide failure: wait for news */
};

#define WATCH_NEVER INT64_MAX

struct watch_sched {
	int64_t interval_ms;   /* periodic full sync */
	int64_t due;           /* a sync asked for at once, WATCH_NEVER: none */
	int64_t burst_start;   /* first change of the pending burst, or -1 */
	int64_t burst_last;    /* its latest change */
	int64_t not_before;    /* back-off or lock wait: no sync before this */
	int64_t periodic;      /* next periodic sync */
	int64_t backoff_ms;    /* 0: online; else the last back-off step */
	int64_t lock_wait_ms;  /* 0: not waiting for a lock */
	/* The server watcher: when it may be started again, its back-off. */
	int64_t remote_at;
	int64_t remote_backoff_ms;
};

/* A sync is due at once (the one at start). */
void watch_sched_init(struct watch_sched *s, int64_t interval_ms, int64_t now);
/* A change was seen: sync after WATCH_DEBOUNCE_MS of quiet, but no later
 * than WATCH_DEBOUNCE_CAP_MS after the burst began. */
void watch_sched_change(struct watch_sched *s, int64_t now);
/* Sync at once (as soon as a back-off allows). */
void watch_sched_now(struct watch_sched *s, int64_t now);
/* When the next sync should start: the earliest of a due change and the
 * periodic sync, never before not_before. */
int64_t watch_sched_next(const struct watch_sched *s);
/* A sync ended at now.  Returns the back-off (or lock wait) now in force,
 * 0 when none. */
int64_t watch_sched_done(struct watch_sched *s, enum watch_outcome o,
			 int64_t now);
/* The server watcher ended after running up_ms: it may start again after
 * its own back-off (1 s doubling to 5 min, afresh after a stable run). */
void watch_sched_remote_died(struct watch_sched *s, int64_t up_ms, int64_t now);

/* ---- the Maildir: inotify ---------------------------------------------- */

struct watch_local;

enum watch_local_news {
	WATCH_LOCAL_NOTHING = 0,
	WATCH_LOCAL_CHANGE = 1 << 0,    /* a message file came, went or moved */
	WATCH_LOCAL_TREE = 1 << 1,      /* folders changed: rescan, then sync */
};

/* An inotify instance for the Maildir tree under root (not yet watched:
 * call watch_local_scan()). */
int watch_local_open(const char *root, struct watch_local **wl_r,
		     struct error *err);
/* Watches root and every folder below it (structure), and each folder's
 * new/ and cur/ (messages); forgets directories that went away.  A
 * missing root is not an error (an unmounted disk): nothing is watched
 * until a later scan finds it.  Returns how many directories are
 * watched, or a negative code (the inotify watch limit, say). */
int watch_local_scan(struct watch_local *wl, struct error *err);
int watch_local_fd(const struct watch_local *wl);
/* Reads what inotify has queued (without blocking) and sums it up as
 * enum watch_local_news bits. */
int watch_local_read(struct watch_local *wl, unsigned *news_r,
		     struct error *err);
void watch_local_free(struct watch_local *wl);

/* ---- the server: IDLE in a child process ------------------------------- */

enum watch_remote_mode {
	WATCH_REMOTE_STARTING,
	WATCH_REMOTE_NOTIFY,    /* NOTIFY: every personal folder */
	WATCH_REMOTE_IDLE,      /* IDLE on INBOX */
};

struct watch_remote {
	pid_t pid;              /* 0: not running */
	int fd;                 /* the pipe from the child, -1: none */
	int64_t started;
	enum watch_remote_mode mode;
	struct buf in;          /* a partial line from the child */
};

/* What the child said since the last read. */
struct watch_remote_news {
	bool ready;             /* logged in and idling; see mode */
	bool change;            /* something changed on the server */
	bool no_idle;           /* the server offers no IDLE: do not restart */
	bool ended;             /* the child is gone (reaped) */
	char *error;            /* its last words (free()), or NULL */
};

void watch_remote_init(struct watch_remote *r);
/* Forks the child.  trace (may be NULL) gets the child's protocol trace
 * (-v), in the child. */
int watch_remote_start(struct watch_remote *r, const struct config_account *a,
		       imap_trace_fn *trace, void *trace_ctx, struct error *err);
/* Reads what the child wrote (call when fd is readable). */
void watch_remote_read(struct watch_remote *r, struct watch_remote_news *news);
/* Ends the child, if any, and reaps it. */
void watch_remote_stop(struct watch_remote *r);

/* True for an untagged response that says a mailbox changed (new,
 * expunged or changed messages, a folder created, renamed or deleted),
 * false for the rest (the keep-alive "OK Still here" among them). */
bool watch_remote_is_change(const struct imap_response *r);

#endif
