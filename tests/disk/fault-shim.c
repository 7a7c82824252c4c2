/* SPDX-License-Identifier: MIT */
/*
 * A test-only LD_PRELOAD library that makes the k-th disk call of one kind
 * fail with a chosen errno, so that tests can run the real tidemail binary
 * into ENOSPC and EIO at every point of a sync.
 *
 * Why not libfiu: its POSIX preload fails calls at random or from outside
 * (fiu-ctrl), not deterministically at the k-th call, and it does not tell
 * a socket from a file, so a "write" fault would as often hit the IMAP
 * connection (a network test, not ours) as the disk.
 *
 * Environment (read once, at load):
 *   TM_FAULT      "KIND:K:ERRNO[:sticky]"  KIND is write, fsync, rename or
 *                 create; ERRNO a number.  The K-th call of KIND fails;
 *                 with sticky every later one too, as on a full disk.
 *                 Unset: nothing fails, calls are only counted.
 *   TM_FAULT_LOG  a file that gets, at exit, one line
 *                 "write=N fsync=N rename=N create=N injected=N", and
 *                 a second line with the path the first fault hit.
 *
 * What counts as a call of each kind (only those the disk can fail):
 *   write   write/pwrite/writev family on a regular file (not on stdin,
 *           stdout, stderr, sockets or pipes)
 *   fsync   fsync/fdatasync on a regular file or a directory
 *   rename  rename/renameat/renameat2
 *   create  open/openat/creat with O_CREAT
 * Counters are atomic: calls from several threads are each counted once.
 */
/* The build asks for 64-bit off_t, which renames open() to open64() and
 * so on in the headers; this file defines both names itself. */
#undef _FILE_OFFSET_BITS
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

/* Shared objects in this project are not listed in a header; these are
 * the libc names this library replaces. */
#pragma GCC diagnostic ignored "-Wmissing-prototypes"

enum fault_kind { FK_WRITE, FK_FSYNC, FK_RENAME, FK_CREATE, FK_COUNT };

static const char *const kind_names[FK_COUNT] = {"write", "fsync", "rename", "create"};

static struct {
	bool armed;
	enum fault_kind kind;
	unsigned long at;
	int err;
	bool sticky;
	const char *log;
	unsigned long calls[FK_COUNT];
	unsigned long injected;
	char *target; /* of the first fault; malloc'd */
} fs;

__attribute__((constructor)) static void shim_init(void)
{
	fs.log = getenv("TM_FAULT_LOG");
	const char *spec = getenv("TM_FAULT");
	if (!spec || !*spec)
		return;
	size_t len = strcspn(spec, ":");
	for (int k = 0; k < FK_COUNT; k++)
		if (strlen(kind_names[k]) == len && !strncmp(spec, kind_names[k], len))
			fs.kind = (enum fault_kind)k;
	char *end;
	fs.at = strtoul(spec + len + (spec[len] == ':'), &end, 10);
	fs.err = *end == ':' ? (int)strtol(end + 1, &end, 10) : EIO;
	fs.sticky = !strcmp(end, ":sticky");
	fs.armed = fs.at > 0 && fs.err > 0;
}

__attribute__((destructor)) static void shim_fini(void)
{
	if (!fs.log)
		return;
	FILE *f = fopen(fs.log, "w");
	if (!f)
		return;
	for (int k = 0; k < FK_COUNT; k++)
		fprintf(f, "%s=%lu ", kind_names[k], __atomic_load_n(&fs.calls[k], __ATOMIC_SEQ_CST));
	fprintf(f, "injected=%lu\n", __atomic_load_n(&fs.injected, __ATOMIC_SEQ_CST));
	if (fs.target)
		fprintf(f, "%s\n", fs.target);
	fclose(f);
	free(fs.target);
}

/*
 * Counts one call of kind on path (or on fd when path is NULL); true when
 * it is to fail, with errno set.  The first fault's target is kept for the
 * log, so that a test can say what failed.
 */
static bool shim_fail(enum fault_kind kind, int fd, const char *path)
{
	unsigned long n = __atomic_add_fetch(&fs.calls[kind], 1, __ATOMIC_SEQ_CST);
	if (!fs.armed || kind != fs.kind || n < fs.at || (n > fs.at && !fs.sticky))
		return false;
	if (__atomic_add_fetch(&fs.injected, 1, __ATOMIC_SEQ_CST) == 1) {
		if (path) {
			fs.target = strdup(path);
		} else {
			char *link = NULL;
			if (asprintf(&link, "/proc/self/fd/%d", fd) >= 0)
				fs.target = realpath(link, NULL);
			free(link);
		}
	}
	errno = fs.err;
	return true;
}

static bool fd_is_disk(int fd, bool dirs_too)
{
	struct stat st;
	if (fd <= 2 || fstat(fd, &st) < 0)
		return false;
	return S_ISREG(st.st_mode) || (dirs_too && S_ISDIR(st.st_mode));
}

/* The next definition of name, looked up once. */
#define REAL(type, name, ...)                                                  \
	static type (*real_##name)(__VA_ARGS__);                               \
	if (!real_##name) {                                                    \
		void *sym_ = dlsym(RTLD_NEXT, #name);                          \
		memcpy(&real_##name, &sym_, sizeof(sym_));                     \
	}

/* Counts a call on fd if the disk could fail it; true when it is to fail. */
static bool fd_fails(int fd, bool dirs_too, enum fault_kind kind)
{
	return fd_is_disk(fd, dirs_too) && shim_fail(kind, fd, NULL);
}

ssize_t write(int fd, const void *buf, size_t n)
{
	REAL(ssize_t, write, int, const void *, size_t);
	return fd_fails(fd, false, FK_WRITE) ? -1 : real_write(fd, buf, n);
}

/* With a 64-bit off_t (every platform this runs on: x86_64, aarch64),
 * pwrite64 and open64 are the same functions as pwrite and open. */
ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	REAL(ssize_t, pwrite, int, const void *, size_t, off_t);
	return fd_fails(fd, false, FK_WRITE) ? -1 : real_pwrite(fd, buf, n, off);
}
ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) __attribute__((alias("pwrite")));
_Static_assert(sizeof(off_t) == sizeof(off64_t), "pwrite64 is not pwrite here");

ssize_t writev(int fd, const struct iovec *iov, int n)
{
	REAL(ssize_t, writev, int, const struct iovec *, int);
	return fd_fails(fd, false, FK_WRITE) ? -1 : real_writev(fd, iov, n);
}

int fsync(int fd)
{
	REAL(int, fsync, int);
	return fd_fails(fd, true, FK_FSYNC) ? -1 : real_fsync(fd);
}

int fdatasync(int fd)
{
	REAL(int, fdatasync, int);
	return fd_fails(fd, true, FK_FSYNC) ? -1 : real_fdatasync(fd);
}

int rename(const char *from, const char *to)
{
	REAL(int, rename, const char *, const char *);
	return shim_fail(FK_RENAME, -1, from) ? -1 : real_rename(from, to);
}

int renameat(int fromfd, const char *from, int tofd, const char *to)
{
	REAL(int, renameat, int, const char *, int, const char *);
	return shim_fail(FK_RENAME, -1, from) ? -1 : real_renameat(fromfd, from, tofd, to);
}

int renameat2(int fromfd, const char *from, int tofd, const char *to, unsigned flags)
{
	REAL(int, renameat2, int, const char *, int, const char *, unsigned);
	return shim_fail(FK_RENAME, -1, from) ? -1
					      : real_renameat2(fromfd, from, tofd, to, flags);
}

/* The open family: only creating opens count.  The mode argument is read
 * only when O_CREAT or O_TMPFILE asks for it, as open(2) does. */
#define OPEN_MODE(flags, mode)                                                 \
	mode_t mode = 0;                                                       \
	if (((flags) & O_CREAT) || ((flags) & O_TMPFILE) == O_TMPFILE) {       \
		va_list ap_;                                                   \
		va_start(ap_, flags);                                          \
		mode = va_arg(ap_, mode_t);                                    \
		va_end(ap_);                                                   \
	}

int open(const char *path, int flags, ...)
{
	REAL(int, open, const char *, int, ...);
	OPEN_MODE(flags, mode);
	if ((flags & O_CREAT) && shim_fail(FK_CREATE, -1, path))
		return -1;
	return real_open(path, flags, mode);
}
int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int openat(int dirfd, const char *path, int flags, ...)
{
	REAL(int, openat, int, const char *, int, ...);
	OPEN_MODE(flags, mode);
	if ((flags & O_CREAT) && shim_fail(FK_CREATE, -1, path))
		return -1;
	return real_openat(dirfd, path, flags, mode);
}
int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));

int creat(const char *path, mode_t mode)
{
	REAL(int, creat, const char *, mode_t);
	return shim_fail(FK_CREATE, -1, path) ? -1 : real_creat(path, mode);
}
