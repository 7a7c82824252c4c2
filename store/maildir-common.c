/* SPDX-License-Identifier: MIT */
/* Small helpers the Maildir files share: paths, no-replace renames,
 * lists of skipped names, the clock. */
#include "maildir-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *maildir_sub_name(enum maildir_sub sub)
{
	return sub == MAILDIR_NEW ? "new" : "cur";
}

char *maildir_sub_path(const char *folder, enum maildir_sub sub)
{
	return xasprintf("%s/%s", folder, maildir_sub_name(sub));
}

char *maildir_file_path(const char *folder, enum maildir_sub sub, const char *name)
{
	return xasprintf("%s/%s/%s", folder, maildir_sub_name(sub), name);
}

int maildir_rename_noreplace(const char *from, const char *to)
{
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* A file system without RENAME_NOREPLACE: link() refuses an
	 * existing target just as well; the unlink() after it leaves at
	 * worst a second name for the same file, never a lost one. */
	if (link(from, to) < 0)
		return -1;
	if (unlink(from) < 0)
		return -1;
	return 0;
}

void maildir_skip_add(struct maildir_skip **list, size_t *n, size_t *cap_r,
		      const char *name, char *why)
{
	*list = xgrow(*list, sizeof(**list), *n + 1, cap_r);
	(*list)[*n].name = xstrdup(name);
	(*list)[*n].why = why;
	(*n)++;
}

void maildir_skips_free(struct maildir_skip *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(list[i].name);
		free(list[i].why);
	}
	free(list);
}

int64_t maildir_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

bool maildir_has_control(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f)
			return true;
	}
	return false;
}
