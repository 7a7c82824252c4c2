/* SPDX-License-Identifier: MIT */
/*
 * bench-store: the figures behind "a 100,000-message folder is scanned and
 * its state loaded in well under a second".  Builds a folder of small
 * files and a state with one row per file, then times a full scan, a
 * state load, the unchanged-folder check, and delivery with a flush per
 * message against batched flushes.  Prints the figures; asserts nothing.
 *
 *   bench-store [MESSAGES [DELIVERIES [DIR]]]
 *
 * DIR (default: a fresh directory under $TMPDIR or /tmp) is removed at
 * the end.  Run it on the disk the mail will live on: fsync costs differ
 * by orders of magnitude between tmpfs, SSDs and spinning disks.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "maildir.h"
#include "state.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static int die(const char *what, struct error *err)
{
	fprintf(stderr, "bench-store: %s: %s\n", what,
		err && err->msg ? err->msg : strerror(errno));
	return 1;
}

/* Parses a positive count or returns fallback for a missing argument. */
static long count_arg(int argc, char **argv, int i, long fallback)
{
	if (argc <= i)
		return fallback;
	char *end;
	errno = 0;
	long v = strtol(argv[i], &end, 10);
	if (errno || *end || v <= 0) {
		fprintf(stderr, "bench-store: not a positive count: %s\n", argv[i]);
		exit(2);
	}
	return v;
}

static const char body[] =
	"From: a@example.org\nTo: b@example.org\nSubject: bench\n"
	"Message-ID: <bench@example.org>\n\nA small message body.\n";

static ssize_t body_read(void *ctx, char *buf, size_t cap, struct error *err)
{
	size_t *pos = ctx;
	size_t n = sizeof(body) - 1 - *pos;
	if (n > cap)
		n = cap;
	memcpy(buf, body + *pos, n);
	*pos += n;
	return (ssize_t)n;
}

/* Writes n files straight into cur/ and a state row for each. */
static int populate(const char *folder, struct state *st, long n, struct error *err)
{
	int64_t fid;
	if (state_folder_add(st, "INBOX", "INBOX", &fid, err) < 0)
		return -1;
	double t0 = now_s();
	for (long i = 0; i < n; i++) {
		char *unique = xasprintf("1700000000.B%ldP1.bench", i);
		char *name = maildir_name_format(unique, MAILDIR_FLAG_SEEN, NULL);
		char *path = xasprintf("%s/cur/%s", folder, name);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 || write(fd, body, sizeof(body) - 1) < 0)
			return error_errno(err, ERR_FOLDER, errno, "%s", path);
		close(fd);
		free(path);
		free(name);
		free(unique);
	}
	double t1 = now_s();
	if (state_begin(st, err) < 0)
		return -1;
	for (long i = 0; i < n; i++) {
		char *unique = xasprintf("1700000000.B%ldP1.bench", i);
		char *msgid = xasprintf("<%ld@bench>", i);
		struct state_msg m = {.folder_id = fid, .uid = (uint32_t)(i + 1),
				      .local = unique, .flags = MAILDIR_FLAG_SEEN,
				      .size = sizeof(body) - 1, .message_id = msgid,
				      .internal_date = 1700000000};
		int64_t id;
		int r = state_msg_insert(st, &m, &id, err);
		free(unique);
		free(msgid);
		if (r < 0)
			return r;
	}
	if (state_commit(st, err) < 0)
		return -1;
	double t2 = now_s();
	printf("setup: %ld files written in %.3f s, %ld state rows in %.3f s (one transaction)\n",
	       n, t1 - t0, n, t2 - t1);
	return 0;
}

static int time_reads(const char *folder, struct state *st, struct error *err)
{
	double t0 = now_s();
	struct maildir_scan scan;
	if (maildir_scan(folder, &scan, err) < 0)
		return -1;
	double t1 = now_s();
	struct state_folder f;
	struct state_msgs msgs;
	if (state_folder_get(st, "INBOX", &f, err) != 1 ||
	    state_msg_load(st, f.id, &msgs, err) < 0)
		return -1;
	double t2 = now_s();
	/* Join the two views as the planner would: every row to its file. */
	size_t matched = 0;
	for (size_t i = 0; i < msgs.n; i++)
		matched += maildir_scan_find(&scan, msgs.msgs[i].local) != NULL;
	double t3 = now_s();
	int unchanged = maildir_unchanged(folder, &f.stamp, err);
	double t4 = now_s();
	printf("full scan:      %zu messages in %.3f s\n", scan.n, t1 - t0);
	printf("state load:     %zu rows in %.3f s\n", msgs.n, t2 - t1);
	printf("scan + load:    %.3f s\n", t2 - t0);
	printf("join by unique: %zu matched in %.3f s\n", matched, t3 - t2);
	printf("unchanged test: %.6f s (answer %d: the stamp was never stored)\n",
	       t4 - t3, unchanged);
	state_folder_release(&f);
	state_msgs_release(&msgs);
	maildir_scan_release(&scan);
	return 0;
}

static int time_delivery(const char *root, long n, struct error *err)
{
	char *per = xasprintf("%s/per-message", root);
	char *bat = xasprintf("%s/batched", root);
	int r = -1;
	if (maildir_folder_create(per, err) < 0 || maildir_folder_create(bat, err) < 0)
		goto out;
	double t0 = now_s();
	for (long i = 0; i < n; i++) {
		size_t pos = 0;
		struct maildir_msg m = {body_read, &pos, 0, NULL, 1700000000, NULL};
		char *unique;
		if (maildir_deliver(per, &m, &unique, err) < 0)
			goto out;
		free(unique);
	}
	double t1 = now_s();
	struct maildir_batch *b = maildir_batch_new(bat);
	size_t *pos = calloc((size_t)n, sizeof(*pos));
	for (long i = 0; i < n; i++) {
		struct maildir_msg m = {body_read, &pos[i], 0, NULL, 1700000000, NULL};
		const char *unique;
		if (maildir_batch_add(b, &m, &unique, err) < 0 ||
		    (maildir_batch_count(b) == 64 && maildir_batch_commit(b, err) < 0)) {
			maildir_batch_free(b);
			free(pos);
			goto out;
		}
	}
	r = maildir_batch_commit(b, err);
	maildir_batch_free(b);
	free(pos);
	double t2 = now_s();
	if (r == 0) {
		printf("deliver, fsync per message: %ld in %.3f s (%.2f ms each)\n", n,
		       t1 - t0, (t1 - t0) * 1e3 / (double)n);
		printf("deliver, batches of 64:     %ld in %.3f s (%.2f ms each)\n", n,
		       t2 - t1, (t2 - t1) * 1e3 / (double)n);
	}
out:
	free(per);
	free(bat);
	return r;
}

int main(int argc, char **argv)
{
	long n = count_arg(argc, argv, 1, 100000);
	long deliveries = count_arg(argc, argv, 2, 500);
	char *root;
	if (argc > 3) {
		root = xstrdup(argv[3]);
		if (util_mkdir_p(root, 0700) < 0)
			return die(root, NULL);
	} else {
		const char *base = getenv("TMPDIR");
		root = xasprintf("%s/bench-store-XXXXXX", base && *base ? base : "/tmp");
		if (!mkdtemp(root))
			return die(root, NULL);
	}
	struct error err = ERROR_INIT;
	char *folder = xasprintf("%s/INBOX", root);
	char *db = xasprintf("%s/state/bench.db", root);
	struct state *st = NULL;
	int rc = 0;
	printf("bench-store in %s\n", root);
	if (maildir_folder_create(folder, &err) < 0 || state_open(db, &st, &err) < 0 ||
	    populate(folder, st, n, &err) < 0 || time_reads(folder, st, &err) < 0 ||
	    time_delivery(root, deliveries, &err) < 0)
		rc = die("failed", &err);
	state_close(st);
	error_clear(&err);
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(db);
	free(folder);
	free(root);
	return rc;
}
