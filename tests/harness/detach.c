/* SPDX-License-Identifier: MIT */
/*
 * Stopping a detached server (tm-dovecot stop DIR).  It is not our child
 * any more, so it cannot be waited for: we watch /proc instead, and check
 * that the recorded pid still runs Dovecot with DIR's config before
 * signalling it, so that a stale pid file never kills a stranger.
 */
#include "harness-private.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STOP_TIMEOUT_MS 5000

/* The whole file (NUL-terminated, *len_r bytes), or NULL. */
static char *read_small_file(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	struct buf b = BUF_INIT(1 << 20);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_add(&b, chunk, n) < 0)
			break;
	fclose(f);
	return buf_detach(&b, len_r);
}

/* True when pid is alive (not a zombie) and has conf among its arguments. */
static bool runs_conf(pid_t pid, const char *conf)
{
	char *path = xasprintf("/proc/%ld/cmdline", (long)pid);
	size_t len = 0;
	char *args = read_small_file(path, &len);
	free(path);
	bool found = false;
	/* cmdline is NUL-separated; a zombie's is empty. */
	for (size_t i = 0; args && i < len; i += strlen(args + i) + 1)
		if (strcmp(args + i, conf) == 0)
			found = true;
	free(args);
	return found;
}

static bool wait_gone(pid_t pid, const char *conf, int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;
	while (runs_conf(pid, conf)) {
		if (harness_now_ms() > deadline)
			return false;
		harness_sleep_ms(5);
	}
	return true;
}

int harness_stop_dir(const char *dir, struct error *err)
{
	char *real = realpath(dir, NULL);
	if (!real)
		return error_errno(err, ERR_ACCOUNT, errno, "%s", dir);
	char *pid_path = xasprintf("%s/tm-dovecot.pid", real);
	char *conf = xasprintf("%s/dovecot.conf", real);
	char *text = read_small_file(pid_path, NULL);
	char *end = NULL;
	long pid = text ? strtol(text, &end, 10) : 0;
	int r = 0;
	if (pid > 1 && end && (*end == '\n' || *end == '\0') &&
	    runs_conf((pid_t)pid, conf)) {
		/* The server is its own session and process group leader. */
		kill(-(pid_t)pid, SIGTERM);
		if (!wait_gone((pid_t)pid, conf, STOP_TIMEOUT_MS)) {
			kill(-(pid_t)pid, SIGKILL);
			if (!wait_gone((pid_t)pid, conf, 1000))
				r = error_set(err, ERR_ACCOUNT,
					      "Dovecot (pid %ld) in %s does not "
					      "die",
					      pid, real);
		}
		/* Its children may still hold the listening sockets. */
		harness_end_group((pid_t)pid, 1000);
	}
	if (r == 0)
		unlink(pid_path);
	free(text);
	free(conf);
	free(pid_path);
	free(real);
	return r;
}
