/* SPDX-License-Identifier: MIT */
/*
 * state: what both sides agreed on after the last sync, one SQLite file
 * per account, plus the intent log that makes every side effect
 * resumable, plus the account lock.  docs/state.md describes the schema.
 *
 * Ownership: struct state and struct state_lock are opaque and freed by
 * their close/release function.  Structs filled here own their strings
 * (release with the matching *_release()); const char * arguments are
 * borrowed for the call.  One struct state is used by one thread.
 *
 * Errors: 0 (or 1 for "found" where a function says so) on success, a
 * negative util.h code on failure with the message in err.  A failing
 * database is ERR_ACCOUNT: nothing of that account can go on safely.
 *
 * Writes: each call is its own transaction unless the caller opened one
 * with state_begin(); a sync groups its writes in one transaction per
 * batch, which is what makes it fast.
 */
#ifndef TIDEMAIL_STORE_STATE_H
#define TIDEMAIL_STORE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "maildir.h"
#include "util.h"

/* The schema version this code writes (PRAGMA user_version). */
#define STATE_SCHEMA_VERSION 4
/* PRAGMA application_id of a tidemail state file: "TiMl". */
#define STATE_APPLICATION_ID 0x54694d6c

struct state;

/*
 * Opens (creating if needed: folder 0700, file 0600) the state file at
 * path and brings its schema up to date.  Refuses a file that is not
 * SQLite, belongs to another application, or was written by a newer
 * tidemail.
 */
int state_open(const char *path, struct state **st_r, struct error *err);
void state_close(struct state *st);

/* One write transaction (BEGIN IMMEDIATE) around many calls. */
int state_begin(struct state *st, struct error *err);
int state_commit(struct state *st, struct error *err);
/* Undoes the open transaction, if any; never fails the caller. */
void state_rollback(struct state *st);

/* ---- folders ----------------------------------------------------------- */

struct state_folder {
	int64_t id;
	char *remote;           /* remote name */
	char *local;            /* path below the local root */
	uint32_t uidvalidity;   /* 0 until the first select */
	uint32_t uidnext;
	uint64_t highestmodseq; /* 0 without CONDSTORE */
	struct maildir_stamp stamp; /* of the last local scan; zero: rescan */
	int64_t last_sync;      /* seconds since the epoch; 0 never */
	char *refused;          /* why a guard refused the last run, or NULL */
	uint32_t skipped;       /* messages max_size/max_age left out */
};

/* Adds a folder; *id_r is its id.  A remote or local name already known
 * is an ERR_FOLDER error. */
int state_folder_add(struct state *st, const char *remote, const char *local,
		     int64_t *id_r, struct error *err);
/* 1 and f_r filled if known, 0 if not. */
int state_folder_get(struct state *st, const char *remote,
		     struct state_folder *f_r, struct error *err);
/* Writes every field of f (by f->id), names included (a rename). */
int state_folder_update(struct state *st, const struct state_folder *f,
			struct error *err);
/* Removes a folder with its messages. */
int state_folder_delete(struct state *st, int64_t id, struct error *err);
/* All folders, by remote name; *list_r is the caller's
 * (state_folders_free). */
int state_folder_list(struct state *st, struct state_folder **list_r,
		      size_t *n_r, struct error *err);
void state_folder_release(struct state_folder *f);
void state_folders_free(struct state_folder *list, size_t n);

/* ---- messages ---------------------------------------------------------- */

/* One message as both sides last agreed on it. */
struct state_msg {
	int64_t id;
	int64_t folder_id;
	uint32_t uid;          /* 0: not on the server (yet) */
	char *local;           /* Maildir unique part; NULL: no local file */
	unsigned flags;        /* the server's system flags at the last sync,
				* as MAILDIR_FLAG_* bits */
	unsigned local_flags;  /* the file's flags at the last sync; they
				* differ from flags only where a setting
				* (direction, --pull) kept a change from
				* travelling */
	char *keywords;        /* space-separated keywords; NULL if none */
	uint64_t modseq;
	uint64_t size;
	char *message_id;      /* NULL if unknown */
	char *emailid;         /* RFC 8474 EMAILID; NULL if none */
	int64_t internal_date; /* seconds since the epoch */
};

struct state_msgs {
	struct state_msg *msgs;
	size_t n;
};

/* Inserts m (m->id is ignored) and sets *id_r.  A UID or unique part
 * already in that folder is an ERR_MESSAGE error. */
int state_msg_insert(struct state *st, const struct state_msg *m, int64_t *id_r,
		     struct error *err);
/* Rewrites every field of the row m->id (a move changes folder_id). */
int state_msg_update(struct state *st, const struct state_msg *m,
		     struct error *err);
int state_msg_delete(struct state *st, int64_t id, struct error *err);
/* Lookups: 1 and m_r filled when found, 0 when not. */
int state_msg_by_uid(struct state *st, int64_t folder_id, uint32_t uid,
		     struct state_msg *m_r, struct error *err);
/* By unique part in any folder: where a file that moved used to be. */
int state_msg_by_local(struct state *st, const char *local,
		       struct state_msg *m_r, struct error *err);
int state_msg_by_emailid(struct state *st, const char *emailid,
			 struct state_msg *m_r, struct error *err);
/* Every message with this Message-ID (any folder), by id. */
int state_msg_by_message_id(struct state *st, const char *message_id,
			    struct state_msgs *list_r, struct error *err);
/* A whole folder, by UID (rows without a UID first). */
int state_msg_load(struct state *st, int64_t folder_id,
		   struct state_msgs *list_r, struct error *err);
/* How many of a folder's rows have a UID (what the server should hold),
 * without loading them. */
int state_msg_count(struct state *st, int64_t folder_id, size_t *with_uid_r,
		    struct error *err);
void state_msg_release(struct state_msg *m);
void state_msgs_release(struct state_msgs *list);

/* ---- intents ------------------------------------------------------------ */

/*
 * The intent log.  Before a side effect (a download, an APPEND, a
 * rename, an expunge...) the engine records what it is about to do and
 * commits; once the effect is durable it confirms the intent, in the
 * same transaction as the state change that records the result.  A run
 * that starts with pending intents replays them first: each is checked
 * against both sides and either finished or dropped.
 *
 * kind is a short word the engine chooses ("download", "append", ...);
 * folder is the remote name concerned (NULL: the account); params is
 * the engine's own text encoding of the rest, opaque here.
 */
struct state_intent {
	int64_t id;
	char *kind;
	char *folder; /* NULL for account-wide intents */
	char *params;
	int64_t created; /* seconds since the epoch */
};

int state_intent_record(struct state *st, const char *kind, const char *folder,
			const char *params, int64_t *id_r, struct error *err);
/* Marks an intent done; confirming one twice is not an error. */
int state_intent_confirm(struct state *st, int64_t id, struct error *err);
/* The pending intents in the order they were recorded. */
int state_intent_pending(struct state *st, struct state_intent **list_r,
			 size_t *n_r, struct error *err);
/* Drops the intents that are done (the log does not grow forever). */
int state_intent_prune(struct state *st, struct error *err);
void state_intents_free(struct state_intent *list, size_t n);

/* ---- the account lock -------------------------------------------------- */

/* Returned by state_lock_acquire when another process holds the lock. */
#define STATE_LOCK_BUSY 1

struct state_lock;

/*
 * Takes the account's lock: flock(LOCK_EX | LOCK_NB) on path (by
 * convention the state file's path + ".lock"; created 0600).  Returns 0
 * with *lock_r set, STATE_LOCK_BUSY at once (with a message naming the
 * holder's pid when known) if another run holds it, or a negative error.
 * The lock ends with state_lock_release() or with the process.
 */
int state_lock_acquire(const char *path, struct state_lock **lock_r,
		       struct error *err);
void state_lock_release(struct state_lock *lock);

#endif
