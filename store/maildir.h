/* SPDX-License-Identifier: MIT */
/*
 * maildir: the local side of a sync.  Folder trees in two layouts, the
 * mapping between local folders and remote names, scanning a folder,
 * delivering messages durably, and renames for flags, moves and deletion.
 *
 * Identity (SPEC.md section 3): a message is its file name's unique part,
 * everything before the first ':'.  The info after ":2," carries the
 * flags; a move or a flag change keeps the unique part.
 *
 * Ownership: every struct filled by a function here owns its strings;
 * release it with the matching *_release() (which leaves it empty and safe
 * to release again).  char * results belong to the caller (free()).
 * const char * arguments are only borrowed for the duration of the call.
 *
 * Errors: 0 on success, a negative code from util.h on failure with the
 * message in err.  A broken folder (missing cur/, unreadable) is
 * ERR_FOLDER; a missing or unreadable root is ERR_ACCOUNT (an unmounted
 * disk must never look like "everything was deleted"); a single message
 * that cannot be handled is ERR_MESSAGE.
 *
 * Nothing here prints, exits, talks to the network, or holds a whole
 * message in memory.  There is no global state apart from an atomic
 * counter that makes generated names unique within the process.
 */
#ifndef TIDEMAIL_STORE_MAILDIR_H
#define TIDEMAIL_STORE_MAILDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

/* ---- names and flags --------------------------------------------------- */

/* The six flags the Maildir spec defines, as bits.  The state stores the
 * agreed system flags with the same bits. */
enum maildir_flag {
	MAILDIR_FLAG_DRAFT = 1u << 0,   /* D  \Draft */
	MAILDIR_FLAG_FLAGGED = 1u << 1, /* F  \Flagged */
	MAILDIR_FLAG_PASSED = 1u << 2,  /* P  $Forwarded */
	MAILDIR_FLAG_REPLIED = 1u << 3, /* R  \Answered */
	MAILDIR_FLAG_SEEN = 1u << 4,    /* S  \Seen */
	MAILDIR_FLAG_TRASHED = 1u << 5, /* T  \Deleted */
};
#define MAILDIR_FLAGS_ALL 0x3fu

/* Which subdirectory a message file lives in. */
enum maildir_sub {
	MAILDIR_NEW = 0,
	MAILDIR_CUR = 1,
};

/* One message file as found on disk. */
struct maildir_entry {
	char *unique;   /* the identity: the name up to the first ':' */
	char *name;     /* the whole file name inside new/ or cur/ */
	char *extra;    /* info letters other than DFPRST, ascending; NULL if none */
	unsigned flags; /* MAILDIR_FLAG_* */
	uint32_t uid;   /* mbsync's ",U=<n>" in the unique part, for adoption; 0 if absent */
	uint64_t size;  /* ",S=<n>" (Dovecot's size hint) in the unique part; 0 if absent */
	enum maildir_sub sub;
};

/*
 * Parses a file name.  Returns 0 and fills e_r (sub set to MAILDIR_CUR;
 * the caller corrects it), or -1 with *why_r set to a static reason when
 * the name is odd: empty, a dot file, a '/', a control character, or an
 * empty unique part.  A name without ":2," is a message without flags;
 * any other info after ':' (":1,...") is not understood and is dropped
 * by the next flag change.
 */
int maildir_name_parse(const char *name, struct maildir_entry *e_r,
		       const char **why_r);
/* "unique:2,<letters>" with the letters of flags and extra in ASCII order,
 * each once.  extra may be NULL. */
char *maildir_name_format(const char *unique, unsigned flags, const char *extra);
/* The flag letter for one MAILDIR_FLAG_* bit, and back (0 if none). */
char maildir_flag_letter(unsigned flag);
unsigned maildir_flag_from_letter(char c);
/* A fresh unique part: seconds, microseconds, pid, a per-process counter,
 * 64 random bits and the host name (with '/', ':' and ',' escaped). */
char *maildir_unique_new(void);

void maildir_entry_release(struct maildir_entry *e);

/* ---- folder trees -------------------------------------------------- */

enum maildir_layout {
	MAILDIR_LAYOUT_VERBATIM,  /* Work/Sub as nested directories */
	MAILDIR_LAYOUT_MAILDIRPP, /* .Work.Sub below the root, INBOX is the root */
};

/* How one account's tree is laid out.  Borrowed strings. */
struct maildir_tree {
	const char *root;  /* the local root, absolute */
	enum maildir_layout layout;
	const char *inbox; /* verbatim: the folder (relative, '/'-separated)
			    * that holds the remote INBOX; maildir++ ignores it */
	char delim;        /* the server's hierarchy delimiter; '\0' if flat */
};

/* Something a listing or a scan passed over, and why. */
struct maildir_skip {
	char *name;         /* the path or file name as found */
	char *why;          /* one line */
};

struct maildir_folder {
	char *rel;    /* path below the root; "" is the root itself */
	char *remote; /* the remote name it maps to */
};

struct maildir_folder_list {
	struct maildir_folder *folders; /* sorted by rel */
	size_t n;
	struct maildir_skip *skipped;   /* odd names, names that cannot map */
	size_t n_skipped;
};

/*
 * Lists the folders (directories holding cur/ and new/) below the root,
 * in the tree's layout, each with its remote name.  Symbolic links and
 * dot directories (verbatim) are not followed.  A missing or unreadable
 * root is an ERR_ACCOUNT error.
 */
int maildir_list(const struct maildir_tree *t, struct maildir_folder_list *list_r,
		 struct error *err);
void maildir_folder_list_release(struct maildir_folder_list *list);

/*
 * Maps a remote folder name to a path below the root and back.  Names
 * that would leave the root or cannot be told apart from Maildir's own
 * directories are refused with ERR_FOLDER: empty components, "." and
 * "..", control characters, a '/' inside a component, components "cur",
 * "new" and "tmp" or starting with '.' (verbatim), a '.' inside a
 * component (maildir++), a local component holding the server's
 * delimiter, and a non-INBOX name that would land on the inbox folder.
 * INBOX is matched without regard to case.
 */
int maildir_remote_to_local(const struct maildir_tree *t, const char *remote,
			    char **rel_r, struct error *err);
int maildir_local_to_remote(const struct maildir_tree *t, const char *rel,
			    char **remote_r, struct error *err);
/* root + "/" + rel, or the root for "". */
char *maildir_folder_path(const struct maildir_tree *t, const char *rel);

/* Creates the folder with cur/, new/ and tmp/ (0700, parents too) and
 * makes the creation durable.  Existing parts are kept. */
int maildir_folder_create(const char *path, struct error *err);
/* Renames a folder (with what is below it: in the verbatim layout its
 * subfolders go along); the new name's parents are made as needed.
 * Refuses to replace anything.  Both parents are fsynced. */
int maildir_folder_rename(const char *from, const char *to, struct error *err);
/* Removes an empty folder: fails with ERR_FOLDER if new/ or cur/ holds
 * anything; tmp/ leftovers are deleted.  Subfolders are not touched, so
 * a verbatim folder with children keeps its directory. */
int maildir_folder_remove(const char *path, struct error *err);

/* ---- scanning and change detection -------------------------------- */

/*
 * The modification times of new/ and cur/, in nanoseconds since the
 * epoch.  All zero means "never trust": a folder with that stamp is
 * always scanned.
 */
struct maildir_stamp {
	int64_t new_ns;
	int64_t cur_ns;
};

/*
 * How long a directory time must lie in the past before it is trusted.
 * A change made in the same clock tick as a scan (timestamps are coarse:
 * a jiffy on ext4, a second or two on some file systems) leaves the time
 * unchanged, so a stamp this young is not remembered as proof.
 */
#define MAILDIR_STAMP_GUARD_NS (2 * INT64_C(1000000000))

struct maildir_scan {
	struct maildir_entry *entries; /* sorted by unique */
	size_t n;
	struct maildir_skip *skipped;  /* odd names and duplicates */
	size_t n_skipped;
	/* The stamp taken before reading the directories, or zero when it
	 * was younger than MAILDIR_STAMP_GUARD_NS: what to remember. */
	struct maildir_stamp stamp;
};

/* Reads the stamp of a folder now. */
int maildir_stamp_read(const char *folder, struct maildir_stamp *stamp_r,
		       struct error *err);
/* Whether a stamp read at now_ns (CLOCK_REALTIME) may be remembered:
 * neither time is younger than the guard, nor in the future. */
bool maildir_stamp_settled(const struct maildir_stamp *s, int64_t now_ns);
/* 1 when the folder certainly did not change since the scan that gave
 * remembered (so the scan can be skipped), 0 when it must be scanned. */
int maildir_unchanged(const char *folder, const struct maildir_stamp *remembered,
		      struct error *err);

/* Reads new/ and cur/.  A unique part found twice is kept once (cur/
 * first) and the other name is listed as skipped. */
int maildir_scan(const char *folder, struct maildir_scan *scan_r,
		 struct error *err);
/* Binary search in a scan by unique part; NULL if absent. */
const struct maildir_entry *maildir_scan_find(const struct maildir_scan *scan,
					      const char *unique);
void maildir_scan_release(struct maildir_scan *scan);

/* Looks for one unique part in new/ and cur/ without a full scan:
 * 1 found (e_r filled), 0 absent, negative on error. */
int maildir_find(const char *folder, const char *unique,
		 struct maildir_entry *e_r, struct error *err);

/* ---- delivery --------------------------------------------------------- */

/*
 * A message body comes from a source: each call copies up to cap bytes
 * into buf and returns how many, 0 at the end, or a negative code from
 * util.h with err set.  It is read chunk by chunk.
 */
typedef ssize_t (*maildir_source_fn)(void *ctx, char *buf, size_t cap,
				     struct error *err);

struct maildir_msg {
	maildir_source_fn read;
	void *ctx;
	unsigned flags;        /* MAILDIR_FLAG_*; 0 and no extra: new/ */
	const char *extra;     /* more info letters to carry, or NULL */
	int64_t internal_date; /* seconds since the epoch; < 0 leaves mtime alone */
	const char *unique;    /* the unique part to use (e.g. already written
				* in an intent), or NULL to generate one */
};

/* The durable points of a delivery, for crash tests. */
enum maildir_step {
	MAILDIR_STEP_OPENED,      /* tmp/ file created */
	MAILDIR_STEP_CHUNK,       /* one chunk written */
	MAILDIR_STEP_WRITTEN,     /* whole body written, mtime set */
	MAILDIR_STEP_SYNCED,      /* file fsynced */
	MAILDIR_STEP_RENAMED,     /* renamed into new/ or cur/ */
	MAILDIR_STEP_DIR_SYNCED,  /* the directory fsynced */
};
typedef void (*maildir_step_fn)(void *ctx, enum maildir_step step);

/* Most messages one batch holds (each keeps a file descriptor open). */
#define MAILDIR_BATCH_MAX 128

/*
 * A batch of deliveries into one folder that share one flush: each
 * message is written into tmp/ (O_EXCL, 0600) with writeback started;
 * the commit fsyncs every file, renames them all into new/ or cur/, then
 * fsyncs each of those directories once.  A single delivery is a batch
 * of one.  Freeing a batch deletes the tmp/ files it did not commit.
 *
 * After a failed commit some messages may be in place and others not:
 * the caller (which wrote their unique parts in intents) checks each with
 * maildir_find(), exactly as a replay after a crash does.
 */
struct maildir_batch;

struct maildir_batch *maildir_batch_new(const char *folder);
/* Test hook called at each step (may kill the process). */
void maildir_batch_set_hook(struct maildir_batch *b, maildir_step_fn fn, void *ctx);
/* Writes one message into tmp/.  *unique_r (borrowed, valid until the
 * batch is freed) is its unique part.  ERR_MESSAGE if the source fails. */
int maildir_batch_add(struct maildir_batch *b, const struct maildir_msg *m,
		      const char **unique_r, struct error *err);
/*
 * The same push-style, for a body that arrives in pieces (an IMAP FETCH
 * literal): start (m->read is not used), write any number of times,
 * finish to add it to the batch, or abort to drop it.  One message is
 * open at a time; *unique_r is valid until the batch is freed.
 */
int maildir_batch_start(struct maildir_batch *b, const struct maildir_msg *m,
			const char **unique_r, struct error *err);
int maildir_batch_write(struct maildir_batch *b, const void *data, size_t len,
			struct error *err);
int maildir_batch_finish(struct maildir_batch *b, struct error *err);
void maildir_batch_abort(struct maildir_batch *b);
size_t maildir_batch_count(const struct maildir_batch *b);
int maildir_batch_commit(struct maildir_batch *b, struct error *err);
void maildir_batch_free(struct maildir_batch *b);

/* One message, durable on return; *unique_r is the caller's. */
int maildir_deliver(const char *folder, const struct maildir_msg *m,
		    char **unique_r, struct error *err);

/* Deletes tmp/ files older than max_age_s seconds (the Maildir spec says
 * 36 hours): leftovers of deliveries that were killed. */
int maildir_clean_tmp(const char *folder, int64_t max_age_s, struct error *err);

/* ---- flags, moves, deletion -------------------------------------------- */

/* Options for the operations below. */
enum maildir_op_opts {
	MAILDIR_OP_SYNC = 0,        /* fsync the directories before returning */
	MAILDIR_OP_NO_SYNC = 1 << 0, /* the caller calls maildir_folder_sync() once */
};

/*
 * Gives a message new flags by renaming it in cur/ (a message with
 * flags never stays in new/).  If a mail reader renamed the file since
 * the scan, it is found again by its unique part.  e is updated to the
 * new name.  A message that is gone is an ERR_MESSAGE error.
 */
int maildir_set_flags(const char *folder, struct maildir_entry *e,
		      unsigned flags, const char *extra, unsigned opts,
		      struct error *err);
/* Moves a message to another folder of the same tree, keeping its name
 * (and so its unique part); refuses to replace an existing file. */
int maildir_move(const char *from, struct maildir_entry *e, const char *to,
		 unsigned opts, struct error *err);
/* Deletes a message; one that is already gone is not an error. */
int maildir_delete(const char *folder, const struct maildir_entry *e,
		   unsigned opts, struct error *err);
/* fsyncs new/ and cur/ of a folder: the end of a run of NO_SYNC ops. */
int maildir_folder_sync(const char *folder, struct error *err);

#endif
