/* SPDX-License-Identifier: MIT */
/*
 * imap-cmds: the IMAP commands tidemail sends, on top of the pipeline in
 * imap.h.  Functions named imap_X run the command and wait for its
 * answer; functions named imap_X_submit only queue it (answers come to
 * the callbacks during imap_run()), for pipelining many at once.
 *
 * Mailbox names: `wire` arguments are names as the server spells them
 * (struct imap_folder.wire); imap_mailbox_wire() makes one from UTF-8.
 *
 * Errors: NO/BAD answers are ERR_FOLDER with the server's words; a
 * broken connection is ERR_ACCOUNT.
 *
 * Ownership: *_r results belong to the caller; free them with the
 * matching *_free function.
 */
#ifndef TIDEMAIL_IMAP_CMDS_H
#define TIDEMAIL_IMAP_CMDS_H

#include <time.h>

#include "imap.h"

/* ---- folders ------------------------------------------------------------ */

/* STATUS data; have says which fields the server sent. */
struct imap_counts {
	unsigned have; /* enum imap_status_have bits */
	uint32_t messages, uidnext, uidvalidity, unseen;
	uint64_t highestmodseq;
};

void imap_counts_from(struct imap_counts *c, const struct imap_mbox_status *s);

struct imap_folder {
	char *name;    /* UTF-8, for people and for the local side */
	char *wire;    /* as the server spells it, for commands */
	char delim;    /* hierarchy delimiter, '\0' if flat */
	bool noselect; /* \Noselect or \NonExistent: holds no messages */
	char *special; /* "\Sent", "\Trash"... (SPECIAL-USE), or NULL */
	struct imap_counts counts; /* from LIST-STATUS, when offered */
};

/* LIST "" "*", with SPECIAL-USE attributes and, when LIST-STATUS is
 * offered, the status of each folder in the same round trip. */
int imap_list(struct imap_client *c, struct imap_folder **folders_r,
	      size_t *n_r, struct error *err);
void imap_folders_free(struct imap_folder *folders, size_t n);

/* UTF-8 name to what the server expects (modified UTF-7, or UTF-8 as it
 * is when UTF8=ACCEPT is enabled). */
int imap_mailbox_wire(struct imap_client *c, const char *utf8, char **wire_r,
		      struct error *err);

/* ---- session and mailboxes ------------------------------------------ */

/* ENABLE exts ("CONDSTORE QRESYNC"); 0 and nothing sent if ENABLE is
 * not offered.  enabled_r (may be NULL): how many the server enabled. */
int imap_enable(struct imap_client *c, const char *exts, size_t *enabled_r,
		struct error *err);
/* The same, only queued: it goes out with the next command that runs,
 * saving a round trip.  *on_r becomes true once the server's ENABLED
 * names an extension (it must live until the queue has run); a refusal
 * leaves it false. */
void imap_enable_submit(struct imap_client *c, const char *exts, bool *on_r);
/* ID ("name" "tidemail" "version" V), if offered; the answer is ignored. */
int imap_id(struct imap_client *c, struct error *err);
/* The first personal namespace: prefix ("" or "INBOX.") and delimiter. */
int imap_namespace(struct imap_client *c, char **prefix_r, char *delim_r,
		   struct error *err);
int imap_noop(struct imap_client *c, struct error *err);
int imap_create(struct imap_client *c, const char *wire, struct error *err);
int imap_delete(struct imap_client *c, const char *wire, struct error *err);
int imap_rename(struct imap_client *c, const char *from_wire,
		const char *to_wire, struct error *err);
int imap_status(struct imap_client *c, const char *wire,
		struct imap_counts *counts_r, struct error *err);

struct imap_select_opts {
	bool examine;   /* read-only */
	bool condstore; /* (CONDSTORE) parameter */
	/* QRESYNC (RFC 7162): known UIDVALIDITY and MODSEQ (both non-zero
	 * to use it), optionally the known UIDs.  Changes since then come
	 * as VANISHED (EARLIER) and FETCH to untagged. */
	uint32_t qresync_uidvalidity;
	uint64_t qresync_modseq;
	const char *qresync_uids;
	imap_untagged_fn *untagged; /* also sees EXISTS, FLAGS... */
	void *ctx;
};

struct imap_mailbox {
	uint32_t exists, uidvalidity, uidnext;
	uint64_t highestmodseq; /* 0 with NOMODSEQ or without CONDSTORE */
	bool nomodseq;
	bool read_only;
	char **permflags; /* PERMANENTFLAGS, "\\*" included if sent */
	size_t n_permflags;
};
int imap_select(struct imap_client *c, const char *wire,
		const struct imap_select_opts *o, struct imap_mailbox *mb_r,
		struct error *err);
void imap_mailbox_free(struct imap_mailbox *mb);

/* ---- messages (in the selected mailbox) -------------------------------- */

/* UID FETCH uids (items) [(CHANGEDSINCE m [VANISHED])]: FETCH and
 * VANISHED go to cb->untagged, bodies to cb->sink. */
unsigned imap_uid_fetch_submit(struct imap_client *c, const char *uids,
			       const char *items, uint64_t changedsince,
			       bool vanished, const struct imap_cmd_cb *cb);
int imap_uid_fetch(struct imap_client *c, const char *uids, const char *items,
		   uint64_t changedsince, bool vanished,
		   const struct imap_cmd_cb *cb, struct error *err);
/* UID SEARCH criteria: ascending UIDs (NULL when none). */
int imap_uid_search(struct imap_client *c, const char *criteria,
		    uint32_t **uids_r, size_t *n_r, struct error *err);
/* UID STORE uids [(UNCHANGEDSINCE m)] action flags, e.g. action
 * "+FLAGS.SILENT", flags "(\\Seen)".  The answer's code is MODIFIED
 * with the UIDs not stored when UNCHANGEDSINCE failed. */
unsigned imap_uid_store_submit(struct imap_client *c, const char *uids,
			       uint64_t unchangedsince, const char *action,
			       const char *flags, const struct imap_cmd_cb *cb);

struct imap_append {
	const char *wire;  /* destination mailbox */
	const char *flags; /* "(\\Seen)" or NULL */
	time_t date;       /* INTERNALDATE, 0: the server's now */
	uint64_t size;
	imap_reader_fn *reader;
	void *reader_ctx;
};
unsigned imap_append_submit(struct imap_client *c, const struct imap_append *a,
			    const struct imap_cmd_cb *cb);
/* APPEND and wait: *uid_r from APPENDUID (0 without UIDPLUS).  If
 * uidvalidity is not 0, an APPENDUID with another one is an error. */
int imap_append(struct imap_client *c, const struct imap_append *a,
		uint32_t uidvalidity, uint32_t *uid_r, struct error *err);
/* UID MOVE (or COPY + STORE \Deleted + UID EXPUNGE without MOVE);
 * copyuid_r (may be NULL) gets COPYUID. */
int imap_uid_move(struct imap_client *c, const char *uids, const char *dest,
		  struct imap_code_copy *copyuid_r, struct error *err);
int imap_uid_copy(struct imap_client *c, const char *uids, const char *dest,
		  struct imap_code_copy *copyuid_r, struct error *err);
int imap_uid_expunge(struct imap_client *c, const char *uids,
		     struct error *err);
/* IDLE until an untagged response arrives (given to untagged) or
 * timeout_ms passes, then DONE.  *woke_r: something arrived. */
int imap_idle(struct imap_client *c, int timeout_ms, imap_untagged_fn *untagged,
	      void *ctx, bool *woke_r, struct error *err);

/* ---- `tidemail check` ------------------------------------------------- */

struct imap_check_result {
	char **caps; /* after login */
	size_t n_caps;
	struct imap_folder *folders;
	size_t n_folders;
	bool tls;        /* the session was encrypted */
	bool compressed; /* COMPRESS=DEFLATE was on */
};

/* Connects, logs in, reads capabilities and the folder list, logs out.
 * Errors are ERR_ACCOUNT with a one-line reason (connection, certificate,
 * login). */
int imap_check(const struct imap_options *opts, struct imap_check_result *res_r,
	       struct error *err);
void imap_check_result_free(struct imap_check_result *res);

#endif
