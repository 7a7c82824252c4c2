/* SPDX-License-Identifier: MIT */
/*
 * Adopting an existing Maildir: a folder mbsync (Debian's isync) synced,
 * 2,000 messages, is taken over with nothing downloaded or uploaded and
 * the files left as they are (same inodes); and a plain Maildir whose
 * files match server messages by Message-ID and size keeps them, while
 * only the unmatched mail is transferred.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "world.h"

static int setup(void **state)
{
	return world_setup(state, NULL);
}

static int teardown(void **state)
{
	return world_teardown(state);
}

/* The inode numbers of a folder's files, summed with their names' hash:
 * equal before and after means the very same files. */
static unsigned long long files_fingerprint(const char *folder)
{
	unsigned long long sum = 0;
	const char *subs[] = {"cur", "new"};
	for (int s = 0; s < 2; s++) {
		char *dir = xasprintf("%s/%s", folder, subs[s]);
		DIR *d = opendir(dir);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			char *p = xasprintf("%s/%s", dir, de->d_name);
			struct stat st;
			if (stat(p, &st) == 0)
				sum += (unsigned long long)st.st_ino * 31 + (unsigned long long)st.st_size;
			free(p);
		}
		if (d)
			closedir(d);
		free(dir);
	}
	return sum;
}

static void mbsync_maildir_is_adopted(void **state)
{
	struct harness *h = *state;
	if (!h->pid)
		skip();
	if (system("command -v mbsync >/dev/null 2>&1") != 0) {
		print_message("mbsync is not installed (Debian package isync): skipped\n");
		skip();
	}
	struct world *w = world_new(h, "Adopted", NULL);
	server_bulk(w, "m", 2000);
	server_flags(w, "m7", "\\Seen \\Flagged");
	/* mbsync checks the certificate's DNS name: localhost is in it. */
	char *rc = xasprintf("%s/mbsyncrc", w->dir);
	FILE *f = fopen(rc, "w");
	assert_non_null(f);
	fprintf(f, "IMAPAccount h\nHost localhost\nPort %u\nUser %s\nPass %s\n"
		   "SSLType IMAPS\nCertificateFile %s\n\nIMAPStore far\nAccount h\n\n"
		   "MaildirStore near\nPath %s/\nInbox %s/INBOX\nSubFolders Verbatim\n\n"
		   "Channel c\nFar :far:\nNear :near:\nPatterns %s\nSync All\n"
		   "Create Both\nExpunge Both\nSyncState *\n",
		h->imaps_port, h->user, h->password, h->ca_file, w->root, w->root, w->folder);
	fclose(f);
	char *cmd = xasprintf("mkdir -p %s && mbsync -q -c %s -a", w->root, rc);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(rc);
	unsigned long long before = files_fingerprint(w->path);
	world_sync_ok(w);
	printf("mbsync's Maildir of 2000: %zu adopted, %zu down, %zu up, %llu body "
	       "bytes\n", w->rep.counts.adopted, w->rep.counts.downloaded,
	       w->rep.counts.uploaded,
	       (unsigned long long)(w->rep.counts.bytes_down + w->rep.counts.bytes_up));
	assert_int_equal(w->rep.counts.adopted, 2000);
	assert_int_equal(w->rep.counts.downloaded + w->rep.counts.uploaded, 0);
	assert_int_equal(w->rep.counts.bytes_down + w->rep.counts.bytes_up, 0);
	assert_int_equal(files_fingerprint(w->path), before);
	assert_same_names(w, 2000);
	world_assert_quiet(w);
	world_free(w);
}

static void plain_maildir_is_adopted_by_message_id(void **state)
{
	struct harness *h = *state;
	if (!h->pid)
		skip();
	struct world *w = world_new(h, "Plain", NULL);
	server_add(w, "a", "\\Seen");
	server_add(w, "b", NULL);
	server_add(w, "server-only", NULL);
	local_add(w, "a", "S");
	local_add(w, "b", "F");
	local_add(w, "local-only", "");
	world_sync_ok(w);
	assert_int_equal(w->rep.counts.adopted, 2);
	assert_int_equal(w->rep.counts.downloaded, 1);
	assert_int_equal(w->rep.counts.uploaded, 1);
	/* Flags set on either side are kept (a: S both; b: F locally). */
	assert_sides(w, "a:S b:F local-only: server-only:");
	world_assert_quiet(w);
	world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mbsync_maildir_is_adopted),
		cmocka_unit_test(plain_maildir_is_adopted_by_message_id),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
