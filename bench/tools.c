/* SPDX-License-Identifier: MIT */
/*
 * The two contestants, set up for the same job: a two-way sync of every
 * folder of the account into a Maildir tree (verbatim folder names, INBOX
 * at the root as "INBOX"), with deletions and folder creation travelling
 * both ways, over implicit TLS to the same port, trusting only the run's
 * CA.
 *
 *   tidemail: its defaults (4 connections, QRESYNC, ...), -q.
 *   mbsync:   Sync All, Create Both, Expunge Both, Patterns *, its state
 *             in each folder (SyncState *).  It checks the certificate's
 *             DNS names only, so it connects to "localhost" (in the
 *             certificate, and 127.0.0.1 on these machines) where
 *             tidemail uses 127.0.0.1 (an IP SAN).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

static int write_file(const char *path, const char *text, struct error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return error_errno(err, ERR_ACCOUNT, errno, "%s", path);
	size_t n = strlen(text);
	ssize_t w = write(fd, text, n);
	int ret = 0;
	if (w < 0 || (size_t)w != n)
		ret = error_errno(err, ERR_ACCOUNT, errno, "write %s", path);
	if (close(fd) < 0 && ret == 0)
		ret = error_errno(err, ERR_ACCOUNT, errno, "close %s", path);
	return ret;
}

int tool_init(struct tool *t, enum tool_kind kind, const char *bin,
	      const struct server *s, const char *dir, struct error *err)
{
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	t->name = kind == TOOL_TIDEMAIL ? "tidemail" : "mbsync";
	t->bin = xstrdup(bin);
	t->dir = xstrdup(dir);
	t->local = xasprintf("%s/Mail", dir);
	if (util_mkdir_p(dir, 0700) < 0)
		return error_errno(err, ERR_ACCOUNT, errno, "mkdir %s", dir) < 0 ? -1 : 0;
	char *text;
	if (kind == TOOL_TIDEMAIL) {
		t->state = xasprintf("%s/state", dir);
		t->config = xasprintf("%s/config.yaml", dir);
		text = xasprintf("state_dir: %s\n"
				 "accounts:\n"
				 "  bench:\n"
				 "    remote:\n"
				 "      host: 127.0.0.1\n"
				 "      port: %u\n"
				 "      tls: implicit\n"
				 "      ca_file: %s\n"
				 "      user: %s\n"
				 "      password: \"%s\"\n"
				 "    local:\n"
				 "      path: %s\n",
				 t->state, s->imaps_port, s->ca_file, s->user, s->password,
				 t->local);
	} else {
		t->config = xasprintf("%s/mbsyncrc", dir);
		text = xasprintf("IMAPAccount bench\n"
				 "Host localhost\n"
				 "Port %u\n"
				 "User %s\n"
				 "Pass %s\n"
				 "SSLType IMAPS\n"
				 "CertificateFile %s\n"
				 "\n"
				 "IMAPStore remote\n"
				 "Account bench\n"
				 "\n"
				 "MaildirStore local\n"
				 "Path %s/\n"
				 "Inbox %s/INBOX\n"
				 "SubFolders Verbatim\n"
				 "\n"
				 "Channel bench\n"
				 "Far :remote:\n"
				 "Near :local:\n"
				 "Patterns *\n"
				 "Sync All\n"
				 "Create Both\n"
				 "Expunge Both\n"
				 "SyncState *\n",
				 s->imaps_port, s->user, s->password, s->ca_file, t->local,
				 t->local);
	}
	int ret = write_file(t->config, text, err);
	free(text);
	return ret < 0 ? -1 : 0;
}

void tool_free(struct tool *t)
{
	free(t->bin);
	free(t->dir);
	free(t->local);
	free(t->config);
	free(t->state);
	memset(t, 0, sizeof(*t));
}

/* Moves path (if it is there) into the tool's discarded/ directory. */
static int discard(struct tool *t, const char *path, struct error *err)
{
	char *bin = xasprintf("%s/discarded", t->dir);
	char *to = xasprintf("%s/%u", bin, t->discarded++);
	int ret = 0;
	if (access(path, F_OK) == 0 &&
	    ((mkdir(bin, 0700) < 0 && errno != EEXIST) || rename(path, to) < 0))
		ret = error_errno(err, ERR_ACCOUNT, errno, "move %s to %s", path, to) < 0 ? -1 : 0;
	free(bin);
	free(to);
	return ret;
}

/*
 * The last run's side is moved aside, not deleted: on ext4 without a
 * journal (this project's VMs) a new inode is never one freed in the last
 * minute or more, and finding one means stepping over every inode just
 * freed (recently_deleted() in the kernel).  Deleting the 10,000 files
 * of the last run of (a) made the next run's creates cost seconds of
 * kernel time, for both tools: a cost of the benchmark, not of syncing.
 * The discarded trees go with the work directory at the end.
 */
int tool_reset(struct tool *t, struct error *err)
{
	if (discard(t, t->local, err) < 0 || (t->state && discard(t, t->state, err) < 0))
		return -1;
	/* An empty root, as a user prepares it: mbsync refuses a missing
	 * one, tidemail would create it. */
	if (mkdir(t->local, 0700) < 0)
		return error_errno(err, ERR_ACCOUNT, errno, "mkdir %s", t->local) < 0 ? -1 : 0;
	return 0;
}

int tool_save(struct tool *t, const char *path, struct error *err)
{
	if (tree_remove(path, err) < 0)
		return -1;
	if (mkdir(path, 0700) < 0)
		return error_errno(err, ERR_ACCOUNT, errno, "mkdir %s", path) < 0 ? -1 : 0;
	char *mail = xasprintf("%s/Mail", path), *state = xasprintf("%s/state", path);
	int ret = tree_clone(t->local, mail, err);
	if (ret == 0 && t->state)
		ret = tree_clone(t->state, state, err);
	free(mail);
	free(state);
	return ret;
}

int tool_restore(struct tool *t, const char *path, struct error *err)
{
	if (tree_remove(t->local, err) < 0 || (t->state && tree_remove(t->state, err) < 0))
		return -1;
	char *mail = xasprintf("%s/Mail", path), *state = xasprintf("%s/state", path);
	int ret = tree_clone(mail, t->local, err);
	if (ret == 0 && t->state)
		ret = tree_clone(state, t->state, err);
	free(mail);
	free(state);
	return ret;
}

int tool_sync(struct tool *t, struct server *s, const char *log_file,
	      struct sample *out, struct error *err)
{
	char *tidemail_argv[] = {t->bin, "-c", t->config, "-q", "sync", NULL};
	char *mbsync_argv[] = {t->bin, "-c", t->config, "-a", NULL};
	off_t mark = measure_log_mark(s->log);
	if (measure_run(t->kind == TOOL_TIDEMAIL ? tidemail_argv : mbsync_argv, log_file,
			s->log, mark, out, err) < 0)
		return -1;
	/* mbsync says when it waits for a Maildir's clock second to pass. */
	FILE *f = fopen(log_file, "r");
	char *line = NULL;
	size_t cap = 0;
	while (f && getline(&line, &cap, f) > 0)
		out->sleeps += strstr(line, "sleeping due to recent directory modification") != NULL;
	free(line);
	if (f)
		fclose(f);
	return 0;
}
