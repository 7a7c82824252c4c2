/* SPDX-License-Identifier: MIT */
/*
 * The Maildir side of `tidemail watch`: inotify on the account's tree.
 *
 * Two kinds of directory are watched.  Message directories (a folder's
 * new/ and cur/) report files that arrive, go or are renamed (a flag
 * change is a rename in cur/); a file written in place reports when it is
 * closed.  Every other directory (the root and each folder, which in the
 * verbatim layout also holds its subfolders) reports directories that
 * come, go or are renamed, so that new folders get watched too; files
 * there (Dovecot's or mbsync's own beside the folders) do not matter.
 * tmp/ is never watched: what happens there is not a message yet.
 *
 * Events are not mapped back to paths: any message event means "sync",
 * any directory event means "scan the tree again, then sync".  That keeps
 * the bookkeeping to the watch descriptors and their kind, which a scan
 * needs to drop the ones whose directories went away.
 */
#include "watch.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

/* Folders nested deeper than this are not watched (a loop of bind mounts
 * must not recurse forever); the periodic sync still sees them. */
#define TREE_DEPTH_MAX 64

#define MASK_MESSAGES                                                      \
	(IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO |        \
	 IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
#define MASK_TREE                                                          \
	(IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE |             \
	 IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

struct watched {
	int wd;
	bool messages; /* new/ or cur/ */
};

struct watch_local {
	char *root;
	int fd;
	struct watched *v;
	size_t n, cap;
};

int watch_local_open(const char *root, struct watch_local **wl_r,
		     struct error *err)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return error_errno(err, ERR_ACCOUNT, errno,
				   "cannot watch %s: inotify_init1", root);
	struct watch_local *wl = xcalloc(1, sizeof(*wl));
	wl->root = xstrdup(root);
	wl->fd = fd;
	*wl_r = wl;
	return 0;
}

int watch_local_fd(const struct watch_local *wl)
{
	return wl->fd;
}

void watch_local_free(struct watch_local *wl)
{
	if (!wl)
		return;
	close(wl->fd);
	free(wl->v);
	free(wl->root);
	free(wl);
}

/* What one scan found. */
struct scan {
	struct watch_local *wl;
	struct watched *v;
	size_t n, cap;
};

/* Adds (or refreshes: the kernel returns the same descriptor for the same
 * inode) one watch.  A directory that vanished meanwhile is skipped. */
static int add_watch(struct scan *s, const char *path, bool messages,
		     struct error *err)
{
	int wd = inotify_add_watch(s->wl->fd, path,
				   messages ? MASK_MESSAGES : MASK_TREE);
	if (wd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		if (errno == ENOSPC)
			return error_set(err, ERR_ACCOUNT,
					 "cannot watch %s: too many directories "
					 "for inotify (raise the sysctl "
					 "fs.inotify.max_user_watches)",
					 path);
		return error_errno(err, ERR_ACCOUNT, errno, "cannot watch %s",
				   path);
	}
	s->v = xgrow(s->v, sizeof(*s->v), s->n + 1, &s->cap);
	s->v[s->n++] = (struct watched){wd, messages};
	return 0;
}

static bool is_dir(const char *parent, const struct dirent *d)
{
	if (d->d_type == DT_DIR)
		return true;
	if (d->d_type != DT_UNKNOWN)
		return false; /* symlinks included: never followed */
	char *path = xasprintf("%s/%s", parent, d->d_name);
	struct stat st;
	bool dir = lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
	free(path);
	return dir;
}

static int scan_dir(struct scan *s, const char *dir, unsigned depth,
		    struct error *err)
{
	int r = add_watch(s, dir, false, err);
	if (r < 0 || depth >= TREE_DEPTH_MAX)
		return r;
	DIR *d = opendir(dir);
	if (!d)
		return 0; /* gone meanwhile, or unreadable: the sync will say */
	struct dirent *e;
	while (r == 0 && (e = readdir(d))) {
		const char *name = e->d_name;
		if (!strcmp(name, ".") || !strcmp(name, "..") ||
		    !strcmp(name, "tmp") || !is_dir(dir, e))
			continue;
		char *path = xasprintf("%s/%s", dir, name);
		if (!strcmp(name, "new") || !strcmp(name, "cur"))
			r = add_watch(s, path, true, err);
		else
			r = scan_dir(s, path, depth + 1, err);
		free(path);
	}
	closedir(d);
	return r;
}

static const struct watched *find(const struct watched *v, size_t n, int wd)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].wd == wd)
			return &v[i];
	return NULL;
}

int watch_local_scan(struct watch_local *wl, struct error *err)
{
	struct scan s = {.wl = wl};
	int r = scan_dir(&s, wl->root, 0, err);
	/* Directories no longer in the tree.  The kernel has already dropped
	 * the watches of deleted ones (inotify_rm_watch then fails, which is
	 * fine); renamed-away ones are dropped here. */
	for (size_t i = 0; i < wl->n; i++)
		if (!find(s.v, s.n, wl->v[i].wd))
			inotify_rm_watch(wl->fd, wl->v[i].wd);
	free(wl->v);
	wl->v = s.v;
	wl->n = s.n;
	wl->cap = s.cap;
	return r < 0 ? r : (int)s.n;
}

static unsigned classify(const struct watch_local *wl,
			 const struct inotify_event *ev)
{
	if (ev->mask & IN_Q_OVERFLOW)
		return WATCH_LOCAL_CHANGE | WATCH_LOCAL_TREE;
	/* Our own inotify_rm_watch, or the end of a deleted directory
	 * (whose parent reports the deletion). */
	if (ev->mask & IN_IGNORED)
		return WATCH_LOCAL_NOTHING;
	if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF))
		return WATCH_LOCAL_CHANGE | WATCH_LOCAL_TREE;
	const struct watched *w = find(wl->v, wl->n, ev->wd);
	if (!w) /* dropped by a scan since the event was queued */
		return WATCH_LOCAL_NOTHING;
	if (w->messages)
		return WATCH_LOCAL_CHANGE;
	return ev->mask & IN_ISDIR ? WATCH_LOCAL_CHANGE | WATCH_LOCAL_TREE
				   : WATCH_LOCAL_NOTHING;
}

int watch_local_read(struct watch_local *wl, unsigned *news_r,
		     struct error *err)
{
	/* Room for many events, each with a name of up to NAME_MAX bytes;
	 * malloc's alignment suits struct inotify_event. */
	size_t cap = 16 * (sizeof(struct inotify_event) + NAME_MAX + 1);
	char *space = xmalloc(cap);
	unsigned news = WATCH_LOCAL_NOTHING;
	int r = 0;
	for (;;) {
		ssize_t n = read(wl->fd, space, cap);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			r = error_errno(err, ERR_ACCOUNT, n < 0 ? errno : EIO,
					"reading inotify events for %s",
					wl->root);
			break;
		}
		for (char *p = space; p < space + n;) {
			const struct inotify_event *ev = (const void *)p;
			news |= classify(wl, ev);
			p += sizeof(*ev) + ev->len;
		}
	}
	free(space);
	*news_r = news;
	return r;
}
