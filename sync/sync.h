/* SPDX-License-Identifier: MIT */
/*
 * sync: one run of a two-way sync of an account (SPEC.md sections 4 and
 * 5): lock, connect, finish what an interrupted run left, pair folders,
 * and for each folder build the three views, plan (plan.h) and carry out
 * the plan with every side effect journaled.
 *
 * Nothing here prints: what the user should see comes through the event
 * callback, and cmd/ decides how to show it.
 *
 * Ownership: options and config are borrowed for the call; the report is
 * the caller's (plain values, nothing to free).
 */
#ifndef TIDEMAIL_SYNC_H
#define TIDEMAIL_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "imap.h"
#include "util.h"

/* sync_account() returns this when another run holds the account. */
#define SYNC_LOCKED 75

struct sync_counts {
	size_t downloaded, uploaded;
	size_t local_flags, remote_flags;
	size_t deleted_local, deleted_remote;
	size_t skipped;             /* max_size / max_age */
	size_t folders_created;
	size_t folders_deleted;
	size_t folders_renamed;
	size_t moved_local;         /* files renamed because the server moved them */
	size_t moved_remote;        /* UID MOVEs because files moved */
	size_t adopted;             /* existing files matched at a first sync */
	/* What the folder's plan will transfer (set when it starts), for
	 * progress lines with a time left. */
	size_t planned_down, planned_up;
	uint64_t planned_bytes_down, planned_bytes_up;
	uint64_t bytes_down, bytes_up; /* message bodies */
};

enum sync_event {
	SYNC_EV_PLAN,           /* --dry-run: one planned action (text) */
	SYNC_EV_FOLDER_START,   /* a folder is being synced */
	SYNC_EV_FOLDER_DONE,    /* a folder finished; counts are its own */
	SYNC_EV_FOLDER_FAILED,  /* text: why; the run goes on */
	SYNC_EV_FOLDER_REFUSED, /* a guard refused it; text: why */
	SYNC_EV_PROGRESS,       /* counts so far in the folder */
};

/* folder is the remote (UTF-8) name, or NULL for the account. */
typedef void sync_event_fn(void *ctx, enum sync_event ev, const char *folder,
			   const char *text, const struct sync_counts *counts);

/* A test-only crash point: called before every side effect and state
 * commit with a short name of the step; it may end the process. */
typedef void sync_step_fn(void *ctx, const char *step);

struct sync_opts {
	bool dry_run;
	bool pull_only;             /* --pull */
	bool push_only;             /* --push */
	bool force;                 /* pass the max_delete guard */
	const char *const *folders; /* only these remote names (ACCOUNT:FOLDER) */
	size_t n_folders;
	sync_event_fn *event;
	void *event_ctx;
	imap_trace_fn *trace;       /* -v */
	void *trace_ctx;
	sync_step_fn *step;
	void *step_ctx;
};

/* What the run did to the Maildir, path by path, for hooks (indexers such
 * as notmuch update just those): lines "A\tPATH" (added), "D\tPATH"
 * (removed), "R\tOLD\tNEW" (renamed: flags, moves, folders). */
struct sync_changes {
	char **lines;
	size_t n, cap;
};

struct sync_report {
	struct sync_counts counts;   /* the whole account */
	struct sync_changes changes; /* free with sync_report_release() */
	size_t folders_synced, folders_failed, folders_refused;
	bool connect_failed;         /* the error was connecting or logging in */
	bool local_changed;          /* anything written to the Maildir */
};

/*
 * Syncs one account.  Returns 0 when the run went through (folders may
 * still have failed or been refused: see the report), SYNC_LOCKED when
 * another run holds the account, or a negative code with err set when
 * the whole account failed (rep->connect_failed tells a network or login
 * failure from a local one).
 */
int sync_account(const struct config *cfg, const struct config_account *a,
		 const struct sync_opts *o, struct sync_report *rep,
		 struct error *err);
void sync_report_release(struct sync_report *rep);

#endif
