/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the maildir-*.c files; not for other layers.
 * Ownership as in maildir.h: char * results are the caller's.
 */
#ifndef TIDEMAIL_STORE_MAILDIR_PRIVATE_H
#define TIDEMAIL_STORE_MAILDIR_PRIVATE_H

#include "maildir.h"

/* "new" or "cur". */
const char *maildir_sub_name(enum maildir_sub sub);
/* folder + "/new" or "/cur". */
char *maildir_sub_path(const char *folder, enum maildir_sub sub);
/* folder + "/new/" or "/cur/" + name. */
char *maildir_file_path(const char *folder, enum maildir_sub sub, const char *name);

/* rename() that never replaces an existing target: 0, or -1 with errno
 * (EEXIST when the target is there). */
int maildir_rename_noreplace(const char *from, const char *to);

/* Appends a skipped name; takes ownership of why.  *cap_r is the
 * capacity of *list (0 with a NULL list to start). */
void maildir_skip_add(struct maildir_skip **list, size_t *n, size_t *cap_r,
		      const char *name, char *why);
void maildir_skips_free(struct maildir_skip *list, size_t n);

/* CLOCK_REALTIME in nanoseconds. */
int64_t maildir_now_ns(void);

/* True if s holds a byte below 0x20 or 0x7f. */
bool maildir_has_control(const char *s);

#endif
