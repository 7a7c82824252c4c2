/* SPDX-License-Identifier: MIT */
/*
 * Directory trees for the benchmark: removing, cloning for snapshots,
 * counting mail files, and the scripted local flag changes of (d).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

int tree_remove(const char *path, struct error *err)
{
	struct stat st;
	if (lstat(path, &st) < 0 && errno == ENOENT)
		return 0;
	if (nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS) < 0)
		return error_errno(err, ERR_ACCOUNT, errno, "rm -rf %s", path) < 0 ? -1 : 0;
	return 0;
}

/* True for a directory holding mail files (Maildir cur/ or new/). */
static bool is_mail_dir(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	return !strcmp(base, "cur") || !strcmp(base, "new");
}

static int copy_file(const char *src, const char *dst, const struct stat *st,
		     struct error *err)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return error_errno(err, ERR_ACCOUNT, errno, "open %s", src);
	int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st->st_mode & 07777);
	if (out < 0) {
		close(in);
		return error_errno(err, ERR_ACCOUNT, errno, "create %s", dst);
	}
	int ret = 0;
	char *chunk = xmalloc(1 << 16);
	for (;;) {
		ssize_t n = read(in, chunk, 1 << 16);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = error_errno(err, ERR_ACCOUNT, errno, "read %s", src);
			break;
		}
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, chunk + off, (size_t)(n - off));
			if (w < 0 && errno != EINTR) {
				ret = error_errno(err, ERR_ACCOUNT, errno, "write %s", dst);
				break;
			}
			off += w > 0 ? w : 0;
		}
		if (ret < 0)
			break;
	}
	free(chunk);
	struct timespec times[2] = {st->st_atim, st->st_mtim};
	if (ret == 0 && (fchown(out, st->st_uid, st->st_gid) < 0 || futimens(out, times) < 0))
		ret = error_errno(err, ERR_ACCOUNT, errno, "chown/utimes %s", dst);
	close(in);
	if (close(out) < 0 && ret == 0)
		ret = error_errno(err, ERR_ACCOUNT, errno, "close %s", dst);
	return ret;
}

static int clone_dir(const char *src, const char *dst, struct error *err)
{
	struct stat st;
	if (lstat(src, &st) < 0)
		return error_errno(err, ERR_ACCOUNT, errno, "stat %s", src);
	if (mkdir(dst, st.st_mode & 07777) < 0)
		return error_errno(err, ERR_ACCOUNT, errno, "mkdir %s", dst);
	DIR *d = opendir(src);
	if (!d)
		return error_errno(err, ERR_ACCOUNT, errno, "opendir %s", src);
	bool mail = is_mail_dir(src);
	int ret = 0;
	struct dirent *de;
	while (ret == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *s = xasprintf("%s/%s", src, de->d_name);
		char *t = xasprintf("%s/%s", dst, de->d_name);
		struct stat es;
		if (lstat(s, &es) < 0)
			ret = error_errno(err, ERR_ACCOUNT, errno, "stat %s", s);
		else if (S_ISDIR(es.st_mode))
			ret = clone_dir(s, t, err);
		else if (!S_ISREG(es.st_mode))
			ret = error_set(err, ERR_ACCOUNT, "clone: %s is not a file or directory", s);
		else if (mail && link(s, t) < 0)
			ret = error_errno(err, ERR_ACCOUNT, errno, "link %s", t);
		else if (!mail)
			ret = copy_file(s, t, &es, err);
		free(s);
		free(t);
	}
	closedir(d);
	/* Times last: filling the directory changed its mtime.  Keeping
	 * them matters, since both tools compare directory times to skip
	 * unchanged folders. */
	struct timespec times[2] = {st.st_atim, st.st_mtim};
	if (ret == 0 && (lchown(dst, st.st_uid, st.st_gid) < 0 ||
			 utimensat(AT_FDCWD, dst, times, AT_SYMLINK_NOFOLLOW) < 0))
		ret = error_errno(err, ERR_ACCOUNT, errno, "chown/utimes %s", dst);
	return ret < 0 ? -1 : 0;
}

int tree_clone(const char *src, const char *dst, struct error *err)
{
	return clone_dir(src, dst, err);
}

/* A list of the mail files below a root, for walks that rename. */
struct mail_files {
	char **paths;
	size_t n, cap;
	uint64_t bytes;
};
/* nftw() passes no user pointer; the walk is single-threaded. */
static struct mail_files *walk_files;

static int collect_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag != FTW_F || !S_ISREG(st->st_mode))
		return 0;
	char *dir = xstrndup(path, (size_t)(strrchr(path, '/') - path));
	bool mail = is_mail_dir(dir);
	free(dir);
	if (!mail)
		return 0;
	walk_files->paths = xgrow(walk_files->paths, sizeof(char *), walk_files->n + 1,
				  &walk_files->cap);
	walk_files->paths[walk_files->n++] = xstrdup(path);
	walk_files->bytes += (uint64_t)st->st_size;
	return 0;
}

static int collect(const char *root, struct mail_files *mf, struct error *err)
{
	memset(mf, 0, sizeof(*mf));
	walk_files = mf;
	int ret = nftw(root, collect_one, 32, FTW_PHYS);
	walk_files = NULL;
	if (ret < 0)
		return error_errno(err, ERR_ACCOUNT, errno, "walk %s", root) < 0 ? -1 : 0;
	return 0;
}

static void mail_files_free(struct mail_files *mf)
{
	for (size_t i = 0; i < mf->n; i++)
		free(mf->paths[i]);
	free(mf->paths);
}

int tree_count(const char *root, unsigned *files_r, uint64_t *bytes_r, struct error *err)
{
	struct mail_files mf;
	if (collect(root, &mf, err) < 0)
		return -1;
	*files_r = (unsigned)mf.n;
	*bytes_r = mf.bytes;
	mail_files_free(&mf);
	return 0;
}

/* The corpus index in the Message-ID of the mail file at path, or -1. */
static long long corpus_index(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char head[8192];
	ssize_t n = read(fd, head, sizeof(head) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	head[n] = '\0';
	const char *p = strstr(head, "\nMessage-ID: <bench.");
	if (!p)
		return -1;
	return strtoll(p + strlen("\nMessage-ID: <bench."), NULL, 10);
}

/* The name of path with F toggled, as it goes in cur/. */
static char *toggled_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = xstrndup(path, (size_t)(slash - path));
	const char *base = slash + 1;
	const char *info = strstr(base, ":2,");
	struct buf flags = BUF_INIT(BUF_UNLIMITED);
	bool had = info && strchr(info + 3, 'F');
	/* Maildir info letters are kept in ASCII order. */
	if (info) {
		for (const char *f = info + 3; *f; f++) {
			if (!had && *f > 'F' && !strchr(flags.data, 'F'))
				buf_addc(&flags, 'F');
			if (*f != 'F')
				buf_addc(&flags, *f);
		}
	}
	if (!had && !strchr(flags.data, 'F'))
		buf_addc(&flags, 'F');
	size_t base_len = info ? (size_t)(info - base) : strlen(base);
	/* dir ends in cur or new: the file always goes to its sibling cur/. */
	dir[strlen(dir) - 3] = '\0';
	char *out = xasprintf("%scur/%.*s:2,%s", dir, (int)base_len, base, flags.data);
	buf_release(&flags);
	free(dir);
	return out;
}

int tree_toggle_flagged(const char *root, unsigned modulo, unsigned rest,
			unsigned *changed_r, struct error *err)
{
	struct mail_files mf;
	if (collect(root, &mf, err) < 0)
		return -1;
	int ret = 0;
	*changed_r = 0;
	for (size_t i = 0; i < mf.n && ret == 0; i++) {
		long long idx = corpus_index(mf.paths[i]);
		if (idx < 0 || (unsigned long long)idx % modulo != rest)
			continue;
		char *to = toggled_name(mf.paths[i]);
		if (rename(mf.paths[i], to) < 0)
			ret = error_errno(err, ERR_ACCOUNT, errno, "rename %s", mf.paths[i]);
		else
			(*changed_r)++;
		free(to);
	}
	mail_files_free(&mf);
	return ret < 0 ? -1 : 0;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

int tree_indexes(const char *folder_dir, long long **idx_r, size_t *n_r, struct error *err)
{
	long long *idx = NULL;
	size_t n = 0, cap = 0;
	int ret = 0;
	/* Only this folder's cur/ and new/: subfolders live inside it. */
	for (int i = 0; i < 2 && ret == 0; i++) {
		char *dir = xasprintf("%s/%s", folder_dir, i ? "new" : "cur");
		DIR *d = opendir(dir);
		if (!d && errno != ENOENT)
			ret = error_errno(err, ERR_ACCOUNT, errno, "opendir %s", dir);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			char *path = xasprintf("%s/%s", dir, de->d_name);
			/* The standard flags ride along in the low bits, so a
			 * flag that failed to travel shows as a difference. */
			long long flags = 0;
			const char *info = strstr(de->d_name, ":2,");
			for (const char *f = info ? info + 3 : ""; *f; f++) {
				const char *at = strchr("DFPRS", *f);
				if (at && *f)
					flags |= 1LL << (at - "DFPRS");
			}
			idx = xgrow(idx, sizeof(*idx), n + 1, &cap);
			idx[n++] = corpus_index(path) * 32 + flags;
			free(path);
		}
		if (d)
			closedir(d);
		free(dir);
	}
	if (n)
		qsort(idx, n, sizeof(*idx), cmp_ll);
	*idx_r = idx;
	*n_r = n;
	return ret < 0 ? -1 : 0;
}
