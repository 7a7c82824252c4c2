/* SPDX-License-Identifier: MIT */
/* Inside the sync engine: the account run and one folder's run. */
#ifndef TIDEMAIL_SYNC_PRIVATE_H
#define TIDEMAIL_SYNC_PRIVATE_H

#include <pthread.h>

#include "account.h"
#include "imap-cmds.h"
#include "imap-uidset.h"
#include "maildir.h"
#include "plan.h"
#include "state.h"
#include "sync.h"

/* One account's run (one per connection when folders go in parallel:
 * each has its own connection, state handle and report). */
struct engine {
	const struct config *cfg;
	const struct config_account *a;
	const struct sync_opts *o;
	struct sync_report *rep;
	struct plan_settings settings;
	struct maildir_tree tree;
	char *inbox_rel;            /* the verbatim inbox folder, '/'-separated */
	struct state *st;
	struct imap_client *imap;
	bool condstore, qresync, uidplus;
	bool root_missing;          /* --dry-run of a first sync: no root yet */
	const char *db_path;        /* the state file */
	char *selected;             /* the folder this connection has selected */
	pthread_mutex_t *emit_mu;   /* serialises events across connections */
	struct state_intent *intents; /* pending when the run started */
	size_t n_intents;
	int64_t now;
	/* The state held no folder when the run began (a first sync):
	 * nothing to match moves against. */
	bool no_history;
};

enum side_presence {
	ON_SERVER = 1 << 0,
	ON_DISK = 1 << 1,
};

/* What the planner does not look at but the executor needs. */
struct remote_extra {
	char *keywords;  /* flags a Maildir name cannot carry, or NULL */
	char *msgid;     /* Message-ID, fetched for messages new to the
			  * state (for moves and the state); else NULL */
	char *emailid;   /* RFC 8474 EMAILID where the server has OBJECTID */
};

/* One folder's run: the three views and what the planner needs. */
struct folder_run {
	struct engine *e;
	const char *remote;         /* UTF-8 name */
	const char *wire;           /* as the server spells it */
	char *wire_buf;
	char *rel;                  /* the local folder below the root */
	char *path;                 /* the local folder, absolute */
	unsigned present;           /* enum side_presence */
	struct state_folder sf;
	struct imap_mailbox mb;
	struct sync_counts counts;

	/* The state view, index-aligned with msgs.msgs. */
	struct state_msgs msgs;
	struct plan_state_msg *pstate;

	/* The server view; rx[i] belongs to premote[i]. */
	struct plan_remote_msg *premote;
	struct remote_extra *rx;
	size_t n_remote, cap_remote;
	uint64_t view_modseq;       /* HIGHESTMODSEQ the view is as of */
	size_t n_base;              /* entries sorted by UID, for lookups */
	struct imap_uid_set *vanished; /* VANISHED sets not yet applied */
	size_t n_vanished;
	bool qresync_select;        /* the SELECT brought the changes */
	bool full_view;             /* every server message was fetched */
	uint32_t msgids_from;       /* UIDs from here on came with their
				     * Message-ID in the view's FETCH; 0: none */
	bool pending_intents;       /* an interrupted run left work here */

	/* The Maildir view; entries come from scan (or the state). */
	struct maildir_scan scan;
	bool scanned;               /* false: the state stood in for a scan */
	bool listed;                /* scan filled for moves only (not a view) */
	struct plan_local_msg *plocal;
	size_t n_local;
	char **owned;               /* names copied in by moves, freed last */
	size_t n_owned;

	bool first_pull;            /* the folder's first sync downloaded mail */

	/* State writes waiting for the folder's next transaction (pending.c). */
	struct pending_write *pending;
	size_t n_pending, cap_pending;
};

/* msgid.c: the Message-ID header's value (a new string), or NULL. */
char *sync_msgid_from_header(const char *data, size_t len);
char *sync_msgid_from_fd(int fd);

/* flags.c: IMAP flags <-> plan bits. */
unsigned sync_flags_from_imap(const struct imap_strings *flags,
			      char **keywords_r);
/* "(\Seen \Flagged kw1 kw2)"; keywords may be NULL. */
char *sync_flags_to_imap(unsigned bits, const char *keywords);

/* intents.c: what an intent's params hold, and the replay. */
char *sync_intent_params(const char *key, ...) __attribute__((sentinel));
/* The value of key in params (a new string), or NULL. */
char *sync_intent_get(const char *params, const char *key);
int sync_replay_folder(struct folder_run *f, struct error *err);
/* The UID an APPEND described by an intent got, 0 if none is found. */
int sync_find_appended(struct folder_run *f, const struct state_intent *in,
		       uint32_t *uid_r, struct error *err);

/* pending.c: the folder's transactions.  sync_txn_begin() opens one and
 * writes what waits in it; sync_txn_end() commits it if r is 0 (the
 * waiting writes are then done), else rolls it back.  The sync_pending_*
 * calls queue a write that records an effect already durable. */
int sync_txn_begin(struct folder_run *f, struct error *err);
int sync_txn_end(struct folder_run *f, int r, const char *step, struct error *err);
void sync_pending_update(struct folder_run *f, struct state_msg *row);
void sync_pending_delete(struct folder_run *f, int64_t id);
void sync_pending_insert(struct folder_run *f, const struct state_msg *m);
void sync_pending_confirm(struct folder_run *f, int64_t intent);
/* Commits what waits, in a transaction of its own (none if nothing). */
int sync_pending_flush(struct folder_run *f, const char *step, struct error *err);
void sync_pending_release(struct folder_run *f);

/* views.c */
int sync_state_view(struct folder_run *f, struct error *err);
/* Before SELECT: sets its options (CONDSTORE; QRESYNC with what the
 * state knows, the changes then coming with the SELECT). */
void sync_server_view_prepare(struct folder_run *f, struct imap_select_opts *so);
/* msgids: also fetch the Message-IDs of messages new to the state. */
int sync_server_view(struct folder_run *f, bool msgids, struct error *err);
int sync_local_view(struct folder_run *f, struct error *err);
void sync_views_release(struct folder_run *f);

/* views.c: the index of uid in the (sorted) server view, or -1. */
ssize_t sync_remote_index(const struct folder_run *f, uint32_t uid);
/* views.c: the extra data of the server's copy of uid, or NULL. */
const struct remote_extra *sync_remote_extra(const struct folder_run *f,
					     uint32_t uid);

/* views.c: what a move changes in the views of the folders involved
 * (every string is copied: what a move takes from one folder's view may
 * be freed with that folder's dropped state rows). */
void sync_view_drop_remote(struct folder_run *f, uint32_t uid);
void sync_view_add_remote(struct folder_run *f, const struct plan_remote_msg *m,
			  const struct remote_extra *x);
/* Drops the files marked in drop, which covers f->plocal's first n. */
void sync_view_drop_locals(struct folder_run *f, const bool *drop, size_t n);
/* Adds copies of n files (their names are copied too). */
void sync_view_add_locals(struct folder_run *f, const struct plan_local_msg *ls, size_t n);
/* Drops the state rows whose drop[i] is set (rows are reordered). */
void sync_view_drop_states(struct folder_run *f, const bool *drop);
void sync_view_add_state(struct folder_run *f, const struct state_msg *m);

/* moves.c: messages that left one folder for another, on either side,
 * are moved on the other side too instead of copied and deleted. */
int sync_moves(struct engine *e, struct folder_run **runs, size_t n,
	       struct error *err);

/* adopt.c: the first sync of a folder whose directory already holds
 * mail matches files to server messages (mbsync's state, else
 * Message-ID and size) and records them, so they are not transferred. */
int sync_adopt(struct folder_run *f, struct error *err);

/* rematch.c: after a UIDVALIDITY change, re-keys the folder's state by
 * Message-ID (the folder is selected; f->mb holds the new UIDVALIDITY). */
int sync_rematch(struct folder_run *f, struct error *err);

/* exec.c */
int sync_execute(struct folder_run *f, const struct plan *p, struct error *err);
/* download.c: the plan's downloads (step 4 of sync_execute). */
int sync_exec_downloads(struct folder_run *f, const struct plan *p, struct error *err);
/* A file of f by its unique part, from f's listing (read once per run
 * when the state stood in for a scan): 1 found (release *e_r), 0 gone,
 * negative on error. */
int sync_find_file(struct folder_run *f, const char *unique,
		   struct maildir_entry *e_r, struct error *err);
/* The text of an action for --dry-run and traces. */
char *sync_action_text(const struct folder_run *f, const struct plan_action *a);

/* A folder as the three sides know it. */
struct pair {
	const char *name;                /* remote (UTF-8) name */
	const struct imap_folder *rf;    /* on the server */
	const struct maildir_folder *lf; /* on disk */
	const struct state_folder *sf;   /* in the state */
};

/* folders.c: the folders as the three sides list them, paired. */
struct folder_lists {
	struct imap_folder *rfs;
	size_t n_rf;
	struct maildir_folder_list lfs;
	struct state_folder *sfs;
	size_t n_sf;
	struct pair *pairs; /* sorted by name; they point into the lists */
	size_t n, cap;
};
int sync_list_folders(struct engine *e, struct folder_lists *l, struct error *err);
void sync_folder_lists_free(struct folder_lists *l);
/* Carries out one folder rename found in l: 1 when it did (the lists
 * are stale then), 0 when there is none.  A dry run reports them all
 * and takes their pairs out of l. */
int sync_rename_one(struct engine *e, struct folder_lists *l, struct error *err);

/* engine.c */
/* queue_enable: the ENABLE is only queued, to go with the next command
 * (the account's LIST); a worker selects at once and waits for it. */
int sync_connect(struct engine *e, bool queue_enable, struct error *err);
/*
 * 1 when a folder is known to be unchanged on both sides, so it costs
 * nothing, not even a SELECT: LIST-STATUS shows the state's UIDVALIDITY,
 * UIDNEXT, HIGHESTMODSEQ and message count, no intent of it is pending,
 * and its Maildir directories did not change.  0 when it must be looked
 * at, negative on error.
 */
int sync_pair_unchanged(struct engine *e, const struct pair *p, struct error *err);
/* engine.c: the first half of a folder's sync (SELECT, replay, views);
 * *f_r is NULL when there is nothing to do. */
int sync_folder_prepare(struct engine *e, const char *remote, const char *wire,
			const char *rel, unsigned present, const struct imap_folder *rf,
			struct folder_run **f_r, struct error *err);
/* pairs.c: the folder operations of a pair (create, delete...) and, when its
 * messages are to be synced, the first half of that: *f_r. */
int sync_pair_prepare(struct engine *e, const struct pair *p,
		      struct folder_run **f_r, struct error *err);
/* The second half: plan, carry out, record. */
int sync_folder_finish(struct folder_run *f, struct error *err);
/* A first pull's own renames moved its directories' times past the stamp
 * its scan took, so the next run (a cron job's first, usually with
 * nothing to do) would list the folder again to be sure.  At the end of
 * the pull, one listing settles the stamp instead. */
void sync_settle_first_pull(struct engine *e, struct folder_run *f);
void sync_folder_free(struct folder_run *f);
/* Adds the folder to the state if it is new there. */
int sync_folder_record(struct folder_run *f, struct error *err);
/* SELECT (or EXAMINE), remembering what is selected. */
int sync_select(struct engine *e, const char *wire, struct imap_select_opts *so,
		struct imap_mailbox *mb, struct error *err);
/* Reports a folder's failure and returns 0, or returns r for an account
 * error (which ends the run). */
int sync_folder_failed(struct engine *e, const char *name, int r,
		       struct error *err);
void sync_counts_add(struct sync_counts *to, const struct sync_counts *c);

/* workers.c: the folders, over up to `connections` connections. */
int sync_pairs(struct engine *e, const struct pair *pairs, size_t n,
	       struct error *err);

void sync_step(struct engine *e, const char *step);
/* Notes a change to the Maildir for hooks: kind 'A', 'D' or 'R' (then b
 * is the new path). */
void sync_note(struct engine *e, char kind, const char *a, const char *b);
/* The path of a message file in a folder. */
char *sync_file_path(const char *folder, enum maildir_sub sub, const char *name);
void sync_emit(struct engine *e, enum sync_event ev, const char *folder,
	       const char *text, const struct sync_counts *counts);

#endif
