/* SPDX-License-Identifier: MIT */
/*
 * The planner: a pure function from three views of a folder (the state
 * both sides agreed on after the last sync, the server now, the Maildir
 * now) and the account's settings to a list of actions.  It does no I/O,
 * so every rule of SPEC.md section 4 is a unit test (tests/sync/).
 *
 * Ownership: a plan borrows the strings of its inputs (action.name points
 * into the input arrays); keep the inputs alive while the plan is used.
 * plan_release() frees what the plan itself allocated.
 */
#ifndef TIDEMAIL_PLAN_H
#define TIDEMAIL_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* The flags a Maildir name can carry (SPEC.md section 3), with the same
 * bits as store/maildir.h's MAILDIR_FLAG_* (letters in ASCII order), so
 * that the executor passes them through unchanged. */
enum plan_flag {
	PLAN_DRAFT = 1 << 0,     /* D  \Draft */
	PLAN_FLAGGED = 1 << 1,   /* F  \Flagged */
	PLAN_FORWARDED = 1 << 2, /* P  $Forwarded */
	PLAN_ANSWERED = 1 << 3,  /* R  \Answered */
	PLAN_SEEN = 1 << 4,      /* S  \Seen */
	PLAN_DELETED = 1 << 5,   /* T  \Deleted */
};

/*
 * One message as the state remembers it.  Each side's flags are kept on
 * their own, so that when a setting (direction, --pull) stops a change
 * from travelling, the state remembers the divergence instead of seeing
 * the same change again on every run.
 */
struct plan_state_msg {
	uint32_t uid;        /* 0: the server copy is gone and stays gone */
	const char *name;    /* unique part of the local file name; NULL: the
	                        local copy is gone and stays gone */
	unsigned rflags;     /* server flags at the last sync */
	unsigned lflags;     /* local flags at the last sync */
};

struct plan_remote_msg {
	uint32_t uid;
	unsigned flags;
	uint64_t size;
	int64_t date;        /* INTERNALDATE, seconds since the epoch */
};

struct plan_local_msg {
	const char *name;    /* unique part */
	unsigned flags;
	uint64_t size;
	int64_t date;        /* file mtime, which follows INTERNALDATE */
};

struct plan_input {
	const struct plan_state_msg *state;
	size_t n_state;
	const struct plan_remote_msg *remote;
	size_t n_remote;
	const struct plan_local_msg *local;
	size_t n_local;
};

struct plan_settings {
	enum config_flow direction;  /* both | pull | push (after --pull/--push) */
	enum config_flow delete;     /* both | pull | push | none */
	enum config_flow folders;    /* folder creation and removal */
	uint64_t max_age;            /* seconds, 0 = none */
	uint64_t max_size;           /* bytes, 0 = none */
	unsigned max_delete;         /* percent */
	bool force;                  /* --force: pass the max_delete guard */
	int64_t now;                 /* for max_age */
};

enum plan_op {
	PLAN_DOWNLOAD,       /* uid -> new local file with flags */
	PLAN_UPLOAD,         /* name -> APPEND with flags and date */
	PLAN_REMOTE_FLAGS,   /* uid: STORE +add -remove */
	PLAN_LOCAL_FLAGS,    /* name: rename to carry flags */
	PLAN_DELETE_LOCAL,   /* name: unlink (the server expunged it) */
	PLAN_DELETE_REMOTE,  /* uid: \Deleted + UID EXPUNGE (the file went) */
	PLAN_FORGET,         /* both copies gone: drop the state entry */
	PLAN_UPDATE_STATE,   /* no side effect, the state entry changes */
	PLAN_SKIP_TOO_BIG,   /* not transferred because of max_size */
	PLAN_SKIP_TOO_OLD,   /* not transferred because of max_age */
};

/*
 * An action and the state entry it leaves behind: after it is done, the
 * state entry state_index (or a new one, for SIZE_MAX) becomes
 * {uid, name, rflags, lflags}.  PLAN_FORGET, PLAN_DELETE_LOCAL and
 * PLAN_DELETE_REMOTE remove the entry once done; the skips leave none.
 * A PLAN_UPDATE_STATE whose uid is 0 (or name NULL) records that the
 * server (or local) copy is gone and, by a setting, stays gone.  uid is 0 and name NULL where the action creates that
 * copy (a download's name and an upload's uid are known only once done).
 */
struct plan_action {
	enum plan_op op;
	size_t state_index;  /* SIZE_MAX for a message new on one side */
	uint32_t uid;
	const char *name;
	unsigned rflags;     /* server flags after the action */
	unsigned lflags;     /* local flags after the action */
	unsigned add;        /* PLAN_REMOTE_FLAGS: flags to add */
	unsigned remove;     /* PLAN_REMOTE_FLAGS: flags to remove */
	uint64_t size;
	int64_t date;
};

struct plan {
	struct plan_action *actions;
	size_t n_actions;
	size_t cap_actions;
	size_t n_delete_local;
	size_t n_delete_remote;
	/* Set when the max_delete guard refused the folder: nothing in
	 * actions may be carried out, and refusal says why in one line. */
	bool refused;
	char *refusal;
};

#define PLAN_INIT {NULL, 0, 0, 0, 0, false, NULL}

/* Plans one folder.  The input arrays may be in any order; a uid or name
 * that appears twice in one array is a caller bug and is reported as
 * -1 with err set.  Returns 0 on success (also when the guard refused). */
int plan_folder(const struct plan_input *in, const struct plan_settings *s,
		struct plan *plan, struct error *err);

void plan_release(struct plan *plan);

/* ---- folders ----------------------------------------------------------- */

/* A folder as the server, the Maildir and the state know it. */
struct plan_folder_in {
	bool remote;        /* on the server now */
	bool local;         /* in the Maildir now */
	bool known;         /* in the state: synced before */
	/* For a folder gone from one side: the other side holds nothing the
	 * state does not (no new message, no flag change).  Only then may
	 * the removal travel. */
	bool remote_clean;
	bool local_clean;
	size_t messages;    /* the state's messages in it, for the guard */
};

enum plan_folder_op {
	PLAN_FOLDER_SYNC,           /* on both sides: sync the messages */
	PLAN_FOLDER_CREATE_LOCAL,   /* new on the server: make it, then sync */
	PLAN_FOLDER_CREATE_REMOTE,  /* new locally: CREATE it, then sync */
	PLAN_FOLDER_DELETE_REMOTE,  /* removed locally: DELETE on the server */
	PLAN_FOLDER_DELETE_LOCAL,   /* removed on the server: remove locally */
	/* Removed on one side, but the other holds unsynced mail or a
	 * setting keeps the removal from travelling: made again where it
	 * went, and the state forgets its messages there so all of them
	 * are copied back.  When in doubt, keep. */
	PLAN_FOLDER_RESTORE_LOCAL,
	PLAN_FOLDER_RESTORE_REMOTE,
	PLAN_FOLDER_FORGET,         /* gone on both sides */
	PLAN_FOLDER_SKIP,           /* on one side only, `folders` says no */
	PLAN_FOLDER_REFUSE,         /* a removal the max_delete guard stops */
};

/* The rule for one folder (docs/sync.md, "Folders"). */
enum plan_folder_op plan_folder_op(const struct plan_folder_in *in,
				   const struct plan_settings *s);
const char *plan_folder_op_name(enum plan_folder_op op);

/* "download", "upload", ... for dry runs and traces. */
const char *plan_op_name(enum plan_op op);

/* Flags as Maildir letters, in the order the Maildir spec wants
 * (alphabetical): PLAN_FLAGGED|PLAN_SEEN -> "FS".  out must hold 7 bytes. */
void plan_flags_letters(unsigned flags, char out[7]);

#endif
