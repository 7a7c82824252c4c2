/* SPDX-License-Identifier: MIT */
/* Small file chores of the harness: write, tail, remove a tree. */
#include "harness-private.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int harness_write_file(const char *path, const char *data, mode_t mode,
		       struct error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return error_errno(err, ERR_ACCOUNT, errno, "create %s", path);
	size_t len = strlen(data);
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			return error_errno(err, ERR_ACCOUNT, e, "write %s",
					   path);
		}
		data += n;
		len -= (size_t)n;
	}
	/* open() applies the umask; the mode is part of the contract. */
	if (fchmod(fd, mode) < 0 || close(fd) < 0)
		return error_errno(err, ERR_ACCOUNT, errno, "close %s", path);
	return 0;
}

char *harness_read_file(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	char chunk[4096];
	size_t got;
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, got);
	fclose(f);
	return buf_detach(&b, len_r);
}

char *harness_file_tail(const char *path, size_t max)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return xstrdup("");
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		buf_add(&b, chunk, n);
		/* Keep at most twice the tail in memory. */
		if (b.len > 2 * max)
			buf_consume(&b, b.len - max);
	}
	fclose(f);
	if (b.len > max) {
		buf_consume(&b, b.len - max);
		const char *nl = strchr(b.data, '\n');
		if (nl)
			buf_consume(&b, (size_t)(nl + 1 - b.data));
	}
	while (b.len > 0 && b.data[b.len - 1] == '\n')
		b.data[--b.len] = '\0';
	return buf_detach(&b, NULL);
}

static int remove_one(const char *path, const struct stat *st, int type,
		      struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	int r = type == FTW_DP ? rmdir(path) : unlink(path);
	/* Something already gone is what we want anyway. */
	return r < 0 && errno != ENOENT ? -1 : 0;
}

int harness_remove_tree(const char *dir)
{
	return nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}
