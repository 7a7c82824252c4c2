/* SPDX-License-Identifier: MIT */
/*
 * A disk that really fills: small tmpfs mounts under a real `tidemail
 * sync` against the harness Dovecot.
 *   - The Maildir root on a 3 MB tmpfs, the server holding about 4 MB:
 *     the download stops with exit 1 and one line naming the full disk;
 *     no partial file in new/ or cur/, the state passes quick_check and
 *     pairs no UID with a file that is not there.  The mount is then made
 *     larger and a rerun converges; another sync changes nothing.
 *   - The state folder on a small tmpfs with a filler file leaving a
 *     little room, at several sizes of that room, while new mail arrives
 *     on both sides: whatever the run managed, the same checks hold, and
 *     once the filler is deleted a rerun converges.
 * Needs root (mount); without it the test is skipped (exit 77).
 *
 * Arguments: the tidemail binary and fault-shim (used here only to count
 * calls; nothing is injected).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "disk.h"
#include "util.h"

/* Room left next to the filler in the state folder, in kB: from none at
 * all to enough for a few commits of the write-ahead log. */
static const unsigned state_room_kb[] = {4, 48, 128, 320, 768};

static struct disk_env env;
static struct disk_tally tally;
/* The mount of the running test, unmounted by its teardown whatever
 * happened. */
static char *mounted;

static int mount_tmpfs(const char *dir, unsigned size_kb)
{
	char *opts = xasprintf("size=%uk,mode=0700", size_kb);
	int r = mount("tmpfs", dir, "tmpfs", 0, opts);
	free(opts);
	return r;
}

static void mount_at(const char *dir, unsigned size_kb)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		fail_msg("mkdir %s: %s", dir, strerror(errno));
	if (mount_tmpfs(dir, size_kb) < 0)
		fail_msg("mount tmpfs on %s: %s", dir, strerror(errno));
	mounted = xstrdup(dir);
}

static void remount(unsigned size_kb)
{
	char *opts = xasprintf("size=%uk,mode=0700", size_kb);
	if (mount("tmpfs", mounted, "tmpfs", MS_REMOUNT, opts) < 0)
		fail_msg("remount %s: %s", mounted, strerror(errno));
	free(opts);
}

static int unmount(void **state)
{
	if (mounted && umount2(mounted, MNT_DETACH) < 0)
		fprintf(stderr, "umount %s: %s\n", mounted, strerror(errno));
	free(mounted);
	mounted = NULL;
	return 0;
}

/* A run that must go through: exit 0, nothing on stderr, both sides as
 * expected, and a further sync a no-op. */
static void converge(struct world *w, const struct disk_expect *x, const char *what)
{
	struct disk_run r;
	disk_run(&env, NULL, &r);
	if (r.status != 0 || r.err[0])
		fail_msg("%s: exit %d: %s", what, r.status, r.err);
	disk_run_release(&r);
	disk_check(&tally, env.state_db, w, x, what);
	if (!disk_compare(w, x, &tally))
		fail_msg("%s: the sides did not converge", what);
	world_assert_quiet(w);
}

/*
 * A run on a full disk: exit 0 if it still fitted, else exit 1 with one
 * line naming the full disk (or the state file and SQLite's words: it
 * calls a full disk under its shared-memory file an I/O error).  Returns
 * whether it failed.  The caller checks the disk, once there is room to
 * open the state again.
 */
static bool run_full(const char *what)
{
	struct disk_run r;
	disk_run(&env, NULL, &r);
	bool failed = r.status != 0;
	bool ok = failed ? disk_run_one_line_error(&r, ENOSPC, "") : !r.err[0];
	tally.cases++;
	if (failed) {
		tally.enospc++;
		printf("%s: exit %d: %s", what, r.status, r.err);
	}
	if (!ok) {
		tally.bad_exits++;
		print_message("%s: exit %d, stderr: %s", what, r.status, r.err);
	}
	disk_run_release(&r);
	return failed;
}

/* Names whose disk_message() is over 100 kB, so that a few fill a disk. */
static void server_large(struct world *w, struct disk_expect *x, unsigned n)
{
	for (unsigned i = 0, found = 0; found < n; i++) {
		char *name = xasprintf("big%u", i);
		char *text = disk_message(name, "\r\n");
		if (strlen(text) > 100000) {
			disk_server_add(w, x, name);
			found++;
		}
		free(text);
		free(name);
	}
}

static void maildir_fills(void **state)
{
	struct world *w = world_new(*state, "DiskFull", NULL);
	struct disk_expect x = {0};
	char *state_dir = xasprintf("%s/state", w->dir);
	disk_config(&env, w, state_dir);
	mount_at(w->root, 3 * 1024);
	/* About 4 MB of mail for 3 MB, and a few small ones. */
	server_large(w, &x, 30);
	for (unsigned i = 0; i < 8; i++) {
		char *name = xasprintf("small%u", i);
		disk_server_add(w, &x, name);
		free(name);
	}
	if (!run_full("Maildir on 3 MB"))
		fail_msg("4 MB of mail fitted on a 3 MB tmpfs");
	/* Downloads are committed in batches: a batch that does not fit
	 * leaves none of its messages, and the rerun fetches them again. */
	disk_check(&tally, env.state_db, w, &x, "Maildir on 3 MB");
	char *view = local_view(w);
	size_t got = 0;
	for (const char *p = view; (p = strchr(p, ':')); p++)
		got++;
	free(view);
	print_message("%zu of %zu messages fitted\n", got, x.n);
	assert_true(got < x.n);
	remount(64 * 1024);
	converge(w, &x, "Maildir after remount");
	tally.converged++;
	unmount(NULL);
	disk_expect_release(&x);
	disk_env_release(&env);
	free(state_dir);
	world_free(w);
}

/* Fills the file system of dir but for room_kb, with dir/filler. */
static void fill_but(const char *dir, unsigned room_kb)
{
	char *path = xasprintf("%s/filler", dir);
	struct statvfs vfs;
	assert_int_equal(statvfs(dir, &vfs), 0);
	unsigned long long avail = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
	unsigned long long want = avail > room_kb * 1024ull ? avail - room_kb * 1024ull : 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	char *zeros = xcalloc(1, 65536);
	while (want > 0) {
		size_t n = want < 65536 ? (size_t)want : 65536;
		ssize_t w = write(fd, zeros, n);
		if (w <= 0)
			break;
		want -= (unsigned long long)w;
	}
	free(zeros);
	close(fd);
	free(path);
}

static void state_fills(void **state)
{
	struct world *w = world_new(*state, "DiskState", NULL);
	struct disk_expect x = {0};
	char *state_dir = xasprintf("%s/state", w->dir);
	disk_config(&env, w, state_dir);
	mount_at(state_dir, 2048);
	for (unsigned i = 0; i < 6; i++) {
		char *name = xasprintf("st%u", i);
		disk_server_add(w, &x, name);
		free(name);
	}
	converge(w, &x, "state: first sync");
	unsigned full = 0;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(state_room_kb); i++) {
		for (unsigned j = 0; j < 4; j++) {
			char *s = xasprintf("r%zu_s%u", i, j), *l = xasprintf("r%zu_l%u", i, j);
			disk_server_add(w, &x, s);
			disk_local_add(w, &x, l);
			free(s);
			free(l);
		}
		fill_but(state_dir, state_room_kb[i]);
		char *what = xasprintf("state with %u kB of room", state_room_kb[i]);
		full += run_full(what);
		char *filler = xasprintf("%s/filler", state_dir);
		assert_int_equal(unlink(filler), 0);
		free(filler);
		disk_check(&tally, env.state_db, w, &x, what);
		converge(w, &x, what);
		tally.converged++;
		free(what);
	}
	/* The smallest room cannot hold a commit: at least that run failed. */
	assert_true(full > 0);
	unmount(NULL);
	disk_expect_release(&x);
	disk_env_release(&env);
	free(state_dir);
	world_free(w);
}

static void figures(void **state)
{
	disk_tally_print("diskfull", &tally);
	disk_tally_assert(&tally);
}

/* Whether this process may mount a tmpfs; the reason when not. */
static char *mount_refused(void)
{
	char *dir = xstrdup("/tmp/tm-disk-probe-XXXXXX");
	if (!mkdtemp(dir)) {
		free(dir);
		return xasprintf("mkdtemp: %s", strerror(errno));
	}
	char *why = NULL;
	if (mount_tmpfs(dir, 64) < 0)
		why = xasprintf("mount -t tmpfs: %s", strerror(errno));
	else
		umount2(dir, MNT_DETACH);
	rmdir(dir);
	free(dir);
	return why;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s TIDEMAIL FAULT-SHIM\n", argv[0]);
		return 2;
	}
	env.tidemail = argv[1];
	env.shim = argv[2];
	if (!harness_available()) {
		printf("SKIP: Dovecot is not installed\n");
		return 77;
	}
	char *why = mount_refused();
	if (why) {
		printf("SKIP: a small file system is needed and %s\n", why);
		free(why);
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(maildir_fills, unmount),
		cmocka_unit_test_teardown(state_fills, unmount),
		cmocka_unit_test(figures),
	};
	return cmocka_run_group_tests(tests, disk_setup, world_teardown);
}
