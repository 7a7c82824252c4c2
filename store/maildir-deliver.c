/* SPDX-License-Identifier: MIT */
/*
 * Delivery: tmp/ file created with O_EXCL, body streamed in, mtime set
 * from INTERNALDATE, fsync, rename into new/ or cur/, fsync of that
 * directory.  A rename is atomic, so a reader (or a rerun after kill -9)
 * sees either nothing or the whole message in new/ and cur/; what a
 * killed delivery leaves in tmp/ is removed by maildir_clean_tmp().
 */
#include "maildir-private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How much of a message is held at once. */
#define DELIVER_CHUNK (64 * 1024)
/* Bodies arrive in pieces of a TLS record or less (4 KB from Dovecot);
 * they are gathered here and written 256 KB at a time.  A write per
 * piece cost 127,000 write(2)s for a first pull of 480 MB, and in ext4
 * each one that begins or ends inside a block zeroes the rest of it
 * first: a quarter of that pull's CPU went to the kernel's memset. */
#define DELIVER_WBUF (256 * 1024)
/* Fresh names tried before a clash is taken for a real problem. */
#define OPEN_TRIES 8

struct pending {
	char *unique;
	char *tmp_path;
	char *final_path;
	enum maildir_sub sub;
	int fd;       /* open from add to commit, so that fsync sees any
		       * writeback error; -1 after */
	bool renamed;
};

struct maildir_batch {
	char *folder;
	char *chunk;
	char *wbuf;             /* the open message's bytes not yet written */
	size_t wlen;
	struct pending *items;
	size_t n, cap;
	maildir_step_fn hook;
	void *hook_ctx;
	/* The message being written push-style (start/write/finish). */
	struct pending open;
	bool is_open;
	unsigned open_flags;
	char *open_extra;
	int64_t open_date;
};

static void step(struct maildir_batch *b, enum maildir_step s)
{
	if (b->hook)
		b->hook(b->hook_ctx, s);
}

struct maildir_batch *maildir_batch_new(const char *folder)
{
	struct maildir_batch *b = xcalloc(1, sizeof(*b));
	b->folder = xstrdup(folder);
	b->chunk = xmalloc(DELIVER_CHUNK);
	b->wbuf = xmalloc(DELIVER_WBUF);
	return b;
}

void maildir_batch_set_hook(struct maildir_batch *b, maildir_step_fn fn, void *ctx)
{
	b->hook = fn;
	b->hook_ctx = ctx;
}

size_t maildir_batch_count(const struct maildir_batch *b)
{
	return b->n;
}

static void pending_release(struct pending *p, bool discard)
{
	if (p->fd >= 0)
		close(p->fd);
	if (discard && !p->renamed)
		unlink(p->tmp_path);
	free(p->unique);
	free(p->tmp_path);
	free(p->final_path);
	memset(p, 0, sizeof(*p));
	p->fd = -1;
}

void maildir_batch_free(struct maildir_batch *b)
{
	if (!b)
		return;
	maildir_batch_abort(b);
	for (size_t i = 0; i < b->n; i++)
		pending_release(&b->items[i], true);
	free(b->items);
	free(b->chunk);
	free(b->wbuf);
	free(b->folder);
	free(b);
}

/* A unique part given by the caller must be a plain file name. */
static bool unique_ok(const char *u)
{
	return u[0] != '\0' && u[0] != '.' && !strchr(u, '/') && !strchr(u, ':') &&
	       !maildir_has_control(u);
}

/* Creates the tmp/ file for p; a given unique part that is already in
 * tmp/ is the leftover of a killed attempt at the same delivery. */
static int open_tmp(struct maildir_batch *b, struct pending *p, bool given,
		    struct error *err)
{
	bool made_tmp = false;
	for (int tries = 0; tries < OPEN_TRIES; tries++) {
		free(p->tmp_path);
		p->tmp_path = xasprintf("%s/tmp/%s", b->folder, p->unique);
		p->fd = open(p->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
				   O_NOFOLLOW, 0600);
		if (p->fd >= 0)
			return 0;
		if (errno == EEXIST && given) {
			unlink(p->tmp_path);
		} else if (errno == EEXIST) {
			free(p->unique);
			p->unique = maildir_unique_new();
		} else if (errno == ENOENT && !made_tmp) {
			/* Some tools leave tmp/ out; it is ours to make. */
			char *tmp = xasprintf("%s/tmp", b->folder);
			mkdir(tmp, 0700);
			free(tmp);
			made_tmp = true;
		} else {
			break;
		}
	}
	return error_errno(err, ERR_FOLDER, errno, "create %s", p->tmp_path);
}

static int write_all(int fd, const char *data, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, data, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		data += w;
		n -= (size_t)w;
	}
	return 0;
}

int maildir_batch_start(struct maildir_batch *b, const struct maildir_msg *m,
			const char **unique_r, struct error *err)
{
	if (b->is_open)
		return error_set(err, ERR_FOLDER, "deliver into %s: a message is "
				 "already being written", b->folder);
	if (b->n >= MAILDIR_BATCH_MAX)
		return error_set(err, ERR_FOLDER, "deliver into %s: batch full (%d)",
				 b->folder, MAILDIR_BATCH_MAX);
	if (m->unique && !unique_ok(m->unique))
		return error_set(err, ERR_MESSAGE, "deliver into %s: bad unique part \"%s\"",
				 b->folder, m->unique);
	if (m->extra && (strchr(m->extra, '/') || maildir_has_control(m->extra)))
		return error_set(err, ERR_MESSAGE, "deliver into %s: bad info letters",
				 b->folder);
	struct pending p = {.fd = -1};
	p.unique = m->unique ? xstrdup(m->unique) : maildir_unique_new();
	int r = open_tmp(b, &p, m->unique != NULL, err);
	if (r < 0) {
		pending_release(&p, true);
		return r;
	}
	step(b, MAILDIR_STEP_OPENED);
	b->open = p;
	b->is_open = true;
	b->open_flags = m->flags;
	b->open_extra = m->extra ? xstrdup(m->extra) : NULL;
	b->open_date = m->internal_date;
	*unique_r = b->open.unique;
	return 0;
}

static int flush_open(struct maildir_batch *b, struct error *err)
{
	size_t n = b->wlen;
	b->wlen = 0;
	if (n && write_all(b->open.fd, b->wbuf, n) < 0)
		return error_errno(err, ERR_FOLDER, errno, "write %s", b->open.tmp_path);
	return 0;
}

int maildir_batch_write(struct maildir_batch *b, const void *data, size_t len,
			struct error *err)
{
	if (!b->is_open)
		return error_set(err, ERR_FOLDER, "deliver into %s: no message open",
				 b->folder);
	if (len == 0)
		return 0;
	if (b->wlen + len > DELIVER_WBUF) {
		int r = flush_open(b, err);
		if (r < 0)
			return r;
	}
	if (len >= DELIVER_WBUF) {
		if (write_all(b->open.fd, data, len) < 0)
			return error_errno(err, ERR_FOLDER, errno, "write %s",
					   b->open.tmp_path);
	} else {
		memcpy(b->wbuf + b->wlen, data, len);
		b->wlen += len;
	}
	step(b, MAILDIR_STEP_CHUNK);
	return 0;
}

void maildir_batch_abort(struct maildir_batch *b)
{
	if (!b->is_open)
		return;
	b->wlen = 0;
	pending_release(&b->open, true);
	free(b->open_extra);
	b->open_extra = NULL;
	b->is_open = false;
}

int maildir_batch_finish(struct maildir_batch *b, struct error *err)
{
	if (!b->is_open)
		return error_set(err, ERR_FOLDER, "deliver into %s: no message open",
				 b->folder);
	struct pending *p = &b->open;
	int rw = flush_open(b, err);
	if (rw < 0) {
		maildir_batch_abort(b);
		return rw;
	}
	/* After the last write, since a write moves mtime. */
	if (b->open_date >= 0) {
		struct timespec times[2] = {{b->open_date, 0}, {b->open_date, 0}};
		if (futimens(p->fd, times) < 0) {
			int r = error_errno(err, ERR_FOLDER, errno, "set times of %s",
					    p->tmp_path);
			maildir_batch_abort(b);
			return r;
		}
	}
	/* Start writeback now, so that the fsyncs at commit mostly wait
	 * for I/O already under way instead of starting it one by one. */
	sync_file_range(p->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	step(b, MAILDIR_STEP_WRITTEN);
	/* New unseen messages go to new/, which cannot hold info; anything
	 * with a flag goes to cur/ with the flags in its name. */
	const char *extra = b->open_extra;
	bool plain = b->open_flags == 0 && (!extra || !extra[0]);
	p->sub = plain ? MAILDIR_NEW : MAILDIR_CUR;
	if (plain) {
		p->final_path = maildir_file_path(b->folder, p->sub, p->unique);
	} else {
		char *name = maildir_name_format(p->unique, b->open_flags, extra);
		p->final_path = maildir_file_path(b->folder, p->sub, name);
		free(name);
	}
	b->items = xgrow(b->items, sizeof(*b->items), b->n + 1, &b->cap);
	b->items[b->n++] = *p;
	free(b->open_extra);
	b->open_extra = NULL;
	b->is_open = false;
	memset(p, 0, sizeof(*p));
	p->fd = -1;
	return 0;
}

int maildir_batch_add(struct maildir_batch *b, const struct maildir_msg *m,
		      const char **unique_r, struct error *err)
{
	int r = maildir_batch_start(b, m, unique_r, err);
	if (r < 0)
		return r;
	for (;;) {
		ssize_t n = m->read(m->ctx, b->chunk, DELIVER_CHUNK, err);
		if (n < 0) {
			maildir_batch_abort(b);
			return error_prefix(err, "deliver into %s", b->folder);
		}
		if (n == 0)
			break;
		r = maildir_batch_write(b, b->chunk, (size_t)n, err);
		if (r < 0) {
			maildir_batch_abort(b);
			return r;
		}
	}
	r = maildir_batch_finish(b, err);
	if (r == 0)
		*unique_r = b->items[b->n - 1].unique;
	return r;
}

/* fsyncs new/ and/or cur/ once each, for the items renamed so far. */
static int sync_dirs(struct maildir_batch *b, struct error *err)
{
	bool used[2] = {false, false};
	for (size_t i = 0; i < b->n; i++)
		if (b->items[i].renamed)
			used[b->items[i].sub] = true;
	for (int sub = MAILDIR_NEW; sub <= MAILDIR_CUR; sub++) {
		if (!used[sub])
			continue;
		char *dir = maildir_sub_path(b->folder, (enum maildir_sub)sub);
		int r = util_fsync_dir(dir);
		int e = errno;
		free(dir);
		if (r < 0)
			return error_errno(err, ERR_FOLDER, e, "sync %s/%s", b->folder,
					   maildir_sub_name((enum maildir_sub)sub));
		step(b, MAILDIR_STEP_DIR_SYNCED);
	}
	return 0;
}

static void batch_clear(struct maildir_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		pending_release(&b->items[i], true);
	b->n = 0;
}

int maildir_batch_commit(struct maildir_batch *b, struct error *err)
{
	/* Order matters: every file's data is durable before any name for
	 * it appears in new/ or cur/, and the directories are synced after
	 * the renames, before the caller confirms anything in the state. */
	for (size_t i = 0; i < b->n; i++) {
		struct pending *p = &b->items[i];
		if (fsync(p->fd) < 0)
			return error_errno(err, ERR_FOLDER, errno, "sync %s", p->tmp_path);
		close(p->fd);
		p->fd = -1;
		step(b, MAILDIR_STEP_SYNCED);
	}
	int r = 0;
	for (size_t i = 0; i < b->n && r == 0; i++) {
		struct pending *p = &b->items[i];
		if (maildir_rename_noreplace(p->tmp_path, p->final_path) < 0) {
			r = error_errno(err, ERR_FOLDER, errno, "rename %s to %s",
					p->tmp_path, p->final_path);
			break;
		}
		p->renamed = true;
		step(b, MAILDIR_STEP_RENAMED);
	}
	/* Even after a failed rename, the ones that moved are made durable. */
	struct error dir_err = ERROR_INIT;
	int rd = sync_dirs(b, &dir_err);
	if (r == 0 && rd < 0) {
		r = rd;
		error_set(err, dir_err.reach, "%s", dir_err.msg);
	}
	error_clear(&dir_err);
	if (r == 0)
		batch_clear(b);
	return r;
}

int maildir_deliver(const char *folder, const struct maildir_msg *m,
		    char **unique_r, struct error *err)
{
	struct maildir_batch *b = maildir_batch_new(folder);
	const char *unique;
	int r = maildir_batch_add(b, m, &unique, err);
	if (r == 0) {
		*unique_r = xstrdup(unique);
		r = maildir_batch_commit(b, err);
		if (r < 0) {
			free(*unique_r);
			*unique_r = NULL;
		}
	}
	maildir_batch_free(b);
	return r;
}

int maildir_clean_tmp(const char *folder, int64_t max_age_s, struct error *err)
{
	char *tmp = xasprintf("%s/tmp", folder);
	DIR *d = opendir(tmp);
	if (!d) {
		int e = errno;
		int r = e == ENOENT ? 0 : error_errno(err, ERR_FOLDER, e, "%s", tmp);
		free(tmp);
		return r;
	}
	free(tmp);
	int64_t now_s = maildir_now_ns() / 1000000000;
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat st;
		if (de->d_name[0] == '.' ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		/* ctime, not mtime: delivery sets mtime to INTERNALDATE,
		 * which may be years old for a file written a moment ago. */
		if (now_s - (int64_t)st.st_ctim.tv_sec > max_age_s)
			unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
	return 0;
}
