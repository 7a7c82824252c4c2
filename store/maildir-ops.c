/* SPDX-License-Identifier: MIT */
/*
 * Changing messages in place: flags (a rename inside the folder), moves
 * (a rename to another folder, same name), deletion.  Each is safe to
 * repeat: a mail reader may have renamed the file since the scan, and a
 * rerun after a crash may find the work already done.
 */
#include "maildir-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int sync_sub(const char *folder, enum maildir_sub sub, struct error *err)
{
	char *dir = maildir_sub_path(folder, sub);
	int r = util_fsync_dir(dir);
	int e = errno;
	free(dir);
	if (r < 0)
		return error_errno(err, ERR_FOLDER, e, "sync %s/%s", folder,
				   maildir_sub_name(sub));
	return 0;
}

int maildir_folder_sync(const char *folder, struct error *err)
{
	int r = sync_sub(folder, MAILDIR_NEW, err);
	return r < 0 ? r : sync_sub(folder, MAILDIR_CUR, err);
}

/* Finds e again by its unique part after its name went stale:
 * 1 found (e replaced), 0 gone, negative on error. */
static int refind(const char *folder, struct maildir_entry *e, struct error *err)
{
	struct maildir_entry found;
	int r = maildir_find(folder, e->unique, &found, err);
	if (r == 1) {
		maildir_entry_release(e);
		*e = found;
	}
	return r;
}

static void entry_copy(struct maildir_entry *dst, const struct maildir_entry *src)
{
	*dst = *src;
	dst->unique = xstrdup(src->unique);
	dst->name = xstrdup(src->name);
	dst->extra = src->extra ? xstrdup(src->extra) : NULL;
}

/*
 * Renames e (in from) to name in to/sub.  A stale name is looked up
 * once more by unique part.  Returns 0 when renamed, 1 when the file is
 * gone from from, negative on error.
 */
static int rename_entry(const char *from, struct maildir_entry *e,
			const char *to, enum maildir_sub sub, const char *name,
			struct error *err)
{
	for (int attempt = 0;; attempt++) {
		char *src = maildir_file_path(from, e->sub, e->name);
		char *dst = maildir_file_path(to, sub, name);
		/* Same name: nothing to rename, but the file must be there. */
		int r = strcmp(src, dst) == 0 ? access(src, F_OK)
					      : maildir_rename_noreplace(src, dst);
		int e_no = errno;
		if (r < 0 && (e_no != ENOENT || attempt > 0))
			r = error_errno(err, e_no == EEXIST ? ERR_MESSAGE : ERR_FOLDER,
					e_no, "rename %s to %s", src, dst);
		free(src);
		free(dst);
		if (r == 0 || e_no != ENOENT || attempt > 0)
			return r;
		r = refind(from, e, err);
		if (r <= 0)
			return r < 0 ? r : 1;
	}
}

int maildir_set_flags(const char *folder, struct maildir_entry *e,
		      unsigned flags, const char *extra, unsigned opts,
		      struct error *err)
{
	if (extra && (strchr(extra, '/') || maildir_has_control(extra)))
		return error_set(err, ERR_MESSAGE, "%s: bad info letters for %s",
				 folder, e->unique);
	bool plain = flags == 0 && (!extra || !extra[0]);
	/* A message stays in new/ only while it has nothing to say; with
	 * a flag it goes to cur/, as a mail reader would move it. */
	enum maildir_sub target = e->sub == MAILDIR_NEW && plain ? MAILDIR_NEW : MAILDIR_CUR;
	char *name = target == MAILDIR_NEW ? xstrdup(e->unique)
					   : maildir_name_format(e->unique, flags, extra);
	enum maildir_sub old_sub = e->sub;
	int r = rename_entry(folder, e, folder, target, name, err);
	if (r == 1)
		r = error_set(err, ERR_MESSAGE, "%s: message %s is gone", folder,
			      e->unique);
	if (r == 0 && !(opts & MAILDIR_OP_NO_SYNC)) {
		r = sync_sub(folder, target, err);
		if (r == 0 && old_sub != target)
			r = sync_sub(folder, old_sub, err);
	}
	if (r == 0) {
		struct maildir_entry parsed;
		const char *why;
		/* name was built from a valid unique part, so it parses. */
		if (maildir_name_parse(name, &parsed, &why) == 0) {
			parsed.sub = target;
			maildir_entry_release(e);
			*e = parsed;
		}
	}
	free(name);
	return r;
}

int maildir_move(const char *from, struct maildir_entry *e, const char *to,
		 unsigned opts, struct error *err)
{
	char *name = xstrdup(e->name);
	int r = rename_entry(from, e, to, e->sub, name, err);
	free(name);
	if (r == 1) {
		/* Not in from any more: if it is in to already, an earlier
		 * run did this move and was stopped before it said so. */
		r = refind(to, e, err);
		if (r == 0)
			r = error_set(err, ERR_MESSAGE, "move %s from %s: message is gone",
				      e->unique, from);
		return r < 0 ? r : 0;
	}
	/* The destination first: the name is durable there before its
	 * removal from the source is. */
	if (r == 0 && !(opts & MAILDIR_OP_NO_SYNC)) {
		r = sync_sub(to, e->sub, err);
		if (r == 0)
			r = sync_sub(from, e->sub, err);
	}
	return r;
}

int maildir_delete(const char *folder, const struct maildir_entry *e,
		   unsigned opts, struct error *err)
{
	struct maildir_entry cur;
	entry_copy(&cur, e);
	int r = 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		char *path = maildir_file_path(folder, cur.sub, cur.name);
		int u = unlink(path);
		int e_no = errno;
		if (u < 0 && e_no != ENOENT)
			r = error_errno(err, ERR_FOLDER, e_no, "delete %s", path);
		free(path);
		if (u == 0 || r < 0)
			break;
		/* Renamed by a mail reader since the scan, or gone already. */
		int f = refind(folder, &cur, err);
		if (f <= 0) {
			r = f;
			break;
		}
	}
	if (r == 0 && !(opts & MAILDIR_OP_NO_SYNC))
		r = sync_sub(folder, cur.sub, err);
	maildir_entry_release(&cur);
	return r;
}
