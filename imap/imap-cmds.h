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

struct imap_folder {
	char *name;    /* UTF-8, for people and for the local side */
	char *wire;    /* as the server spells it, for commands */
	char delim;    /* hierarchy delimiter, '\0' if flat */
	bool noselect; /* \Noselect or \NonExistent: holds no messages */
	char *special; /* "\Sent", "\Trash"... (SPECIAL-USE), or NULL */
	unsigned have; /* enum imap_status_have bits: LIST-STATUS data */
	uint32_t messages, uidnext, uidvalidity, unseen;
	uint64_t highestmodseq;
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
