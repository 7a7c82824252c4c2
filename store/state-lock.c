/* SPDX-License-Identifier: MIT */
/*
 * The account lock: flock() on a file beside the state.  flock, not
 * fcntl locks, because it belongs to the open file rather than the
 * process (closing another descriptor of the same file does not drop
 * it) and the kernel releases it when the holder dies, even by kill -9:
 * there is no stale lock to clean up.
 */
#include "state-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

struct state_lock {
	int fd;
};

/* The pid the holder wrote, for the message; 0 if unreadable. */
static long read_holder(int fd)
{
	struct buf b = BUF_INIT(64);
	char c;
	while (pread(fd, &c, 1, (off_t)b.len) == 1 && c >= '0' && c <= '9')
		if (buf_addc(&b, c) < 0)
			break;
	char *end;
	long pid = b.len ? strtol(b.data, &end, 10) : 0;
	buf_release(&b);
	return pid;
}

int state_lock_acquire(const char *path, struct state_lock **lock_r,
		       struct error *err)
{
	*lock_r = NULL;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return error_errno(err, ERR_ACCOUNT, errno, "lock %s", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		if (e == EWOULDBLOCK) {
			long pid = read_holder(fd);
			close(fd);
			if (pid > 0)
				error_set(err, ERR_ACCOUNT,
					  "lock %s: another run (pid %ld) holds it",
					  path, pid);
			else
				error_set(err, ERR_ACCOUNT,
					  "lock %s: another run holds it", path);
			return STATE_LOCK_BUSY;
		}
		close(fd);
		return error_errno(err, ERR_ACCOUNT, e, "lock %s", path);
	}
	/* The pid is only a hint for the message above; the lock itself is
	 * the flock, so a failed write changes nothing. */
	char *pid = xasprintf("%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == 0) {
		ssize_t w = pwrite(fd, pid, strlen(pid), 0);
		(void)w;
	}
	free(pid);
	struct state_lock *l = xmalloc(sizeof(*l));
	l->fd = fd;
	*lock_r = l;
	return 0;
}

void state_lock_release(struct state_lock *lock)
{
	if (!lock)
		return;
	/* The file stays: unlinking it would let a third run lock a new
	 * file while a second still waits on the old one. */
	close(lock->fd);
	free(lock);
}
