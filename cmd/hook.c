/* SPDX-License-Identifier: MIT */
/*
 * hooks.post_sync: run after a sync that changed the local side, so that
 * an indexer such as notmuch can update just what changed.  It runs with
 * /bin/sh -c, and finds in its environment:
 *
 *   TIDEMAIL_ACCOUNT      the account's name
 *   TIDEMAIL_LOCAL_ROOT   its local root
 *   TIDEMAIL_CHANGES      a file listing the changed paths, one a line:
 *                         "A<TAB>path" added, "D<TAB>path" removed,
 *                         "R<TAB>old<TAB>new" renamed (flags, moves,
 *                         folders); removed when the hook ends
 *   TIDEMAIL_DOWNLOADED, TIDEMAIL_UPLOADED, TIDEMAIL_DELETED_LOCAL,
 *   TIDEMAIL_DELETED_REMOTE, TIDEMAIL_RENAMED_LOCAL   the counts
 */
#include "cmd.h"

#include <string.h>
#include "sync.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void setenv_num(const char *name, size_t n)
{
	char v[32];
	snprintf(v, sizeof(v), "%zu", n);
	setenv(name, v, 1);
}

int cmd_post_sync_hook(const struct config_account *a, const struct sync_report *rep)
{
	const char *tmpdir = getenv("TMPDIR");
	char *path = xasprintf("%s/tidemail-changes-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	int fd = mkstemp(path);
	if (fd < 0) {
		cmd_error("account %s: post_sync hook: cannot create %s: %s", a->name, path,
			  strerror(errno));
		free(path);
		return -1;
	}
	FILE *out = fdopen(fd, "w");
	for (size_t i = 0; out && i < rep->changes.n; i++)
		fprintf(out, "%s\n", rep->changes.lines[i]);
	if (!out || fclose(out) != 0) {
		cmd_error("account %s: post_sync hook: cannot write %s", a->name, path);
		unlink(path);
		free(path);
		return -1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		const struct sync_counts *c = &rep->counts;
		setenv("TIDEMAIL_ACCOUNT", a->name, 1);
		setenv("TIDEMAIL_LOCAL_ROOT", a->local.path, 1);
		setenv("TIDEMAIL_CHANGES", path, 1);
		setenv_num("TIDEMAIL_DOWNLOADED", c->downloaded);
		setenv_num("TIDEMAIL_UPLOADED", c->uploaded);
		setenv_num("TIDEMAIL_DELETED_LOCAL", c->deleted_local);
		setenv_num("TIDEMAIL_DELETED_REMOTE", c->deleted_remote);
		setenv_num("TIDEMAIL_RENAMED_LOCAL", c->local_flags + c->moved_local);
		execl("/bin/sh", "sh", "-c", a->hooks.post_sync, (char *)NULL);
		_exit(127);
	}
	int status = 0, r = 0;
	if (pid < 0 || waitpid(pid, &status, 0) < 0) {
		cmd_error("account %s: post_sync hook could not be run: %s", a->name,
			  strerror(errno));
		r = -1;
	} else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		cmd_error("account %s: post_sync hook failed (exit status %d): %s", a->name,
			  WEXITSTATUS(status), a->hooks.post_sync);
		r = -1;
	} else if (WIFSIGNALED(status)) {
		cmd_error("account %s: post_sync hook was killed by signal %d", a->name,
			  WTERMSIG(status));
		r = -1;
	}
	unlink(path);
	free(path);
	return r;
}
