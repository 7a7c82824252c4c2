/* SPDX-License-Identifier: MIT */
/* Folder trees: listing both layouts, mapping local paths to remote names
 * and back, creating and removing folders. */
#include "maildir-private.h"

#include <dirent.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Deeper verbatim trees are reported, not walked: a bound on recursion
 * that no real mail tree reaches. */
#define TREE_MAX_DEPTH 32

static const char *const maildir_dirs[] = {"cur", "new", "tmp"};

static bool is_maildir_dir(const char *name)
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(maildir_dirs); i++)
		if (strcmp(name, maildir_dirs[i]) == 0)
			return true;
	return false;
}

/* Why one path component cannot be a folder name in this layout, or
 * NULL if it can. */
static const char *component_problem(const struct maildir_tree *t,
				     const char *c, size_t len)
{
	if (len == 0)
		return "empty name component";
	if ((len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
		return "'.' or '..' component";
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)c[i];
		if (ch < 0x20 || ch == 0x7f)
			return "control character";
		if (ch == '/')
			return "'/' inside a name component";
	}
	if (t->layout == MAILDIR_LAYOUT_MAILDIRPP) {
		if (memchr(c, '.', len))
			return "'.' inside a name component (maildir++ layout)";
		return NULL;
	}
	if (c[0] == '.')
		return "name component starts with '.' (verbatim layout)";
	for (size_t i = 0; i < UTIL_ARRAY_LEN(maildir_dirs); i++)
		if (len == strlen(maildir_dirs[i]) && memcmp(c, maildir_dirs[i], len) == 0)
			return "name component is a Maildir directory (cur, new, tmp)";
	return NULL;
}

/*
 * Splits s at sep (not at all if sep is '\0'), checks each component and
 * appends them to out joined by join.  A component holding forbid
 * ('\0' for none) cannot be named on the other side.  Returns NULL, or
 * why the name is refused.
 */
static const char *convert(const struct maildir_tree *t, const char *s,
			   char sep, char join, char forbid, struct buf *out)
{
	size_t count = 0;
	for (;;) {
		const char *end = sep ? strchr(s, sep) : NULL;
		size_t len = end ? (size_t)(end - s) : strlen(s);
		const char *why = component_problem(t, s, len);
		if (why)
			return why;
		if (forbid && memchr(s, forbid, len))
			return "name component holds the server's hierarchy delimiter";
		if (count++ > 0) {
			if (!join)
				return "nested folder on a server without hierarchy";
			buf_addc(out, join);
		}
		buf_add(out, s, len);
		if (!end)
			return NULL;
		s = end + 1;
	}
}

int maildir_remote_to_local(const struct maildir_tree *t, const char *remote,
			    char **rel_r, struct error *err)
{
	if (strcasecmp(remote, "INBOX") == 0) {
		*rel_r = xstrdup(t->layout == MAILDIR_LAYOUT_MAILDIRPP ? "" : t->inbox);
		return 0;
	}
	struct buf out = BUF_INIT(BUF_UNLIMITED);
	bool pp = t->layout == MAILDIR_LAYOUT_MAILDIRPP;
	if (pp)
		buf_addc(&out, '.');
	const char *why = convert(t, remote, t->delim, pp ? '.' : '/', '\0', &out);
	if (!why && !pp && strcmp(out.data, t->inbox) == 0)
		why = "would land on the local inbox folder";
	if (why) {
		/* The name comes from the server: its control characters
		 * (CR, LF, ESC...) must not break the one-line message. */
		buf_reset(&out);
		for (const unsigned char *p = (const unsigned char *)remote; *p; p++)
			if (*p < 0x20 || *p == 0x7f)
				buf_addf(&out, "\\x%02x", *p);
			else
				buf_addc(&out, (char)*p);
		error_set(err, ERR_FOLDER, "remote folder \"%s\": %s", out.data, why);
		buf_release(&out);
		return -ERR_FOLDER;
	}
	*rel_r = buf_detach(&out, NULL);
	return 0;
}

int maildir_local_to_remote(const struct maildir_tree *t, const char *rel,
			    char **remote_r, struct error *err)
{
	const char *why = NULL;
	bool pp = t->layout == MAILDIR_LAYOUT_MAILDIRPP;
	if (pp ? rel[0] == '\0' : strcmp(rel, t->inbox) == 0) {
		*remote_r = xstrdup("INBOX");
		return 0;
	}
	struct buf out = BUF_INIT(BUF_UNLIMITED);
	if (pp && rel[0] != '.')
		why = "not a maildir++ folder (no leading '.')";
	else
		why = convert(t, pp ? rel + 1 : rel, pp ? '.' : '/', t->delim,
			      t->delim, &out);
	if (!why && strcasecmp(out.data, "INBOX") == 0)
		why = "would be taken for INBOX";
	if (why) {
		buf_release(&out);
		return error_set(err, ERR_FOLDER, "local folder \"%s\": %s", rel, why);
	}
	*remote_r = buf_detach(&out, NULL);
	return 0;
}

char *maildir_folder_path(const struct maildir_tree *t, const char *rel)
{
	if (rel[0] == '\0')
		return xstrdup(t->root);
	return xasprintf("%s/%s", t->root, rel);
}

/* ---- listing ------------------------------------------------------- */

struct lister {
	const struct maildir_tree *t;
	struct maildir_folder_list *list;
	size_t cap, skip_cap;
};

static bool is_dir_at(int dirfd, const char *name)
{
	struct stat st;
	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISDIR(st.st_mode);
}

/* A folder is a directory with cur/ and new/; tmp/ is made on delivery. */
static bool is_folder(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool r = is_dir_at(fd, "cur") && is_dir_at(fd, "new");
	close(fd);
	return r;
}

static void lister_skip(struct lister *l, const char *name, char *why)
{
	maildir_skip_add(&l->list->skipped, &l->list->n_skipped, &l->skip_cap,
			 name, why);
}

static void lister_add(struct lister *l, const char *rel)
{
	struct error err = ERROR_INIT;
	char *remote;
	if (maildir_local_to_remote(l->t, rel, &remote, &err) < 0) {
		lister_skip(l, rel, err.msg);
		return;
	}
	struct maildir_folder_list *list = l->list;
	list->folders = xgrow(list->folders, sizeof(*list->folders),
			      list->n + 1, &l->cap);
	list->folders[list->n].rel = xstrdup(rel);
	list->folders[list->n].remote = remote;
	list->n++;
}

/* Whether a directory entry is a real directory (not a symlink). */
static bool entry_is_dir(DIR *d, const struct dirent *de)
{
	if (de->d_type == DT_DIR)
		return true;
	if (de->d_type != DT_UNKNOWN)
		return false;
	return is_dir_at(dirfd(d), de->d_name);
}

/* Walks one directory of a verbatim tree; rel is "" for the root. */
static void walk_verbatim(struct lister *l, const char *rel, int depth)
{
	char *path = maildir_folder_path(l->t, rel);
	DIR *d = opendir(path);
	free(path);
	if (!d) {
		lister_skip(l, rel, xasprintf("cannot read: %s", strerror(errno)));
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		/* Dot directories belong to other programs (.notmuch). */
		if (name[0] == '.' || is_maildir_dir(name) || !entry_is_dir(d, de))
			continue;
		char *child = rel[0] ? xasprintf("%s/%s", rel, name) : xstrdup(name);
		if (maildir_has_control(name)) {
			lister_skip(l, child, xstrdup("odd directory name"));
			free(child);
			continue;
		}
		char *child_path = maildir_folder_path(l->t, child);
		if (is_folder(child_path))
			lister_add(l, child);
		free(child_path);
		if (depth + 1 < TREE_MAX_DEPTH)
			walk_verbatim(l, child, depth + 1);
		else
			lister_skip(l, child, xstrdup("too deep; not walked"));
		free(child);
	}
	closedir(d);
}

static void walk_maildirpp(struct lister *l, DIR *d)
{
	if (is_folder(l->t->root))
		lister_add(l, "");
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		if (name[0] != '.' || !strcmp(name, ".") || !strcmp(name, "..") ||
		    !entry_is_dir(d, de))
			continue;
		if (maildir_has_control(name)) {
			lister_skip(l, name, xstrdup("odd directory name"));
			continue;
		}
		char *path = maildir_folder_path(l->t, name);
		if (is_folder(path))
			lister_add(l, name);
		free(path);
	}
}

static int folder_cmp(const void *a, const void *b)
{
	const struct maildir_folder *x = a, *y = b;
	return strcmp(x->rel, y->rel);
}

int maildir_list(const struct maildir_tree *t, struct maildir_folder_list *list_r,
		 struct error *err)
{
	memset(list_r, 0, sizeof(*list_r));
	/* The root is checked first and on its own: if it is missing (an
	 * unmounted disk) the account stops, rather than every folder
	 * looking deleted. */
	DIR *d = opendir(t->root);
	if (!d)
		return error_errno(err, ERR_ACCOUNT, errno, "local root %s", t->root);
	struct lister l = {.t = t, .list = list_r};
	if (t->layout == MAILDIR_LAYOUT_MAILDIRPP)
		walk_maildirpp(&l, d);
	closedir(d);
	if (t->layout == MAILDIR_LAYOUT_VERBATIM) {
		/* inbox "" puts INBOX at the root of a verbatim tree. */
		if (t->inbox[0] == '\0' && is_folder(t->root))
			lister_add(&l, "");
		walk_verbatim(&l, "", 0);
	}
	if (list_r->n > 1)
		qsort(list_r->folders, list_r->n, sizeof(*list_r->folders), folder_cmp);
	return 0;
}

void maildir_folder_list_release(struct maildir_folder_list *list)
{
	for (size_t i = 0; i < list->n; i++) {
		free(list->folders[i].rel);
		free(list->folders[i].remote);
	}
	free(list->folders);
	maildir_skips_free(list->skipped, list->n_skipped);
	memset(list, 0, sizeof(*list));
}

/* ---- creating and removing ----------------------------------------- */

/* fsyncs the directory that holds path, so that path's entry is durable. */
static int sync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return util_fsync_dir(".");
	char *parent = slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
	int r = util_fsync_dir(parent);
	free(parent);
	return r;
}

int maildir_folder_create(const char *path, struct error *err)
{
	if (util_mkdir_p(path, 0700) < 0)
		return error_errno(err, ERR_FOLDER, errno, "create folder %s", path);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(maildir_dirs); i++) {
		char *sub = xasprintf("%s/%s", path, maildir_dirs[i]);
		int r = mkdir(sub, 0700);
		int e = errno;
		free(sub);
		if (r < 0 && e != EEXIST)
			return error_errno(err, ERR_FOLDER, e, "create folder %s/%s",
					   path, maildir_dirs[i]);
	}
	if (util_fsync_dir(path) < 0 || sync_parent(path) < 0)
		return error_errno(err, ERR_FOLDER, errno, "sync folder %s", path);
	return 0;
}

int maildir_folder_rename(const char *from, const char *to, struct error *err)
{
	struct stat st;
	if (lstat(to, &st) == 0)
		return error_set(err, ERR_FOLDER, "rename folder %s to %s: %s exists",
				 from, to, to);
	char *parent = xstrdup(to);
	char *slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	int r = 0;
	if (util_mkdir_p(parent, 0700) < 0)
		r = error_errno(err, ERR_FOLDER, errno, "rename folder %s to %s", from, to);
	else if (rename(from, to) < 0)
		r = error_errno(err, ERR_FOLDER, errno, "rename folder %s to %s", from, to);
	/* Both directories that changed entries: the new name's and the
	 * old one's parents. */
	else if (sync_parent(to) < 0 || sync_parent(from) < 0)
		r = error_errno(err, ERR_FOLDER, errno, "sync after renaming %s", from);
	free(parent);
	return r;
}

/* 1 if a directory holds no entries besides . and .., 0 if it does,
 * -1 with errno on failure.  With unlink_all it empties it first. */
static int dir_empty(const char *path, bool unlink_all)
{
	DIR *d = opendir(path);
	if (!d)
		return errno == ENOENT ? 1 : -1;
	struct dirent *de;
	int r = 1;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlink_all && unlinkat(dirfd(d), de->d_name, 0) == 0)
			continue;
		r = 0;
		break;
	}
	closedir(d);
	return r;
}

int maildir_folder_remove(const char *path, struct error *err)
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(maildir_dirs); i++) {
		char *sub = xasprintf("%s/%s", path, maildir_dirs[i]);
		bool is_tmp = !strcmp(maildir_dirs[i], "tmp");
		int r = dir_empty(sub, is_tmp);
		free(sub);
		if (r < 0)
			return error_errno(err, ERR_FOLDER, errno, "remove folder %s", path);
		if (r == 0)
			return error_set(err, ERR_FOLDER,
					 "remove folder %s: %s/ is not empty", path,
					 maildir_dirs[i]);
	}
	/* cur/ goes first: without it the directory is no longer a folder,
	 * so an interrupted removal never leaves a half folder that lists. */
	for (size_t i = 0; i < UTIL_ARRAY_LEN(maildir_dirs); i++) {
		char *sub = xasprintf("%s/%s", path, maildir_dirs[i]);
		int r = rmdir(sub);
		int e = errno;
		free(sub);
		if (r < 0 && e != ENOENT)
			return error_errno(err, ERR_FOLDER, e, "remove folder %s", path);
	}
	/* Subfolders (verbatim) or other programs' files keep the directory. */
	if (rmdir(path) < 0 && errno != ENOTEMPTY && errno != EEXIST && errno != ENOENT)
		return error_errno(err, ERR_FOLDER, errno, "remove folder %s", path);
	if (sync_parent(path) < 0)
		return error_errno(err, ERR_FOLDER, errno, "sync parent of %s", path);
	return 0;
}
