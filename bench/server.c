/* SPDX-License-Identifier: MIT */
/*
 * The benchmark's servers: one private Dovecot per data set, started with
 * tm-dovecot (tests/harness), filled by writing its Maildir directly, and
 * driven with doveadm.  Snapshots copy the Maildir (indexes included)
 * between sessions so that a scenario can start every run from the same
 * server state.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"

/* The value of KEY='...' in tm-dovecot's env text, unquoted. */
static char *env_get(const char *env, const char *key)
{
	size_t kl = strlen(key);
	for (const char *line = env; *line; line += strcspn(line, "\n"), line += *line == '\n') {
		if (strncmp(line, key, kl) || line[kl] != '=' || line[kl + 1] != '\'')
			continue;
		struct buf v = BUF_INIT(BUF_UNLIMITED);
		/* tm-dovecot quotes ' as '\'' */
		for (const char *p = line + kl + 2; *p && *p != '\n'; p++) {
			if (!strncmp(p, "'\\''", 4)) {
				buf_addc(&v, '\'');
				p += 3;
			} else if (*p != '\'') {
				buf_addc(&v, *p);
			}
		}
		return buf_detach(&v, NULL);
	}
	return NULL;
}

int server_start(struct server *s, const char *tm_dovecot, const char *dir,
		 struct error *err)
{
	memset(s, 0, sizeof(*s));
	struct buf env = BUF_INIT(1 << 20);
	char *argv[] = {(char *)tm_dovecot, "start", (char *)dir, NULL};
	if (measure_exec(argv, &env, err) < 0) {
		buf_release(&env);
		return -1;
	}
	s->dir = xstrdup(dir);
	s->tm_dovecot = xstrdup(tm_dovecot);
	s->conf = env_get(env.data, "TM_DOVECOT_CONF");
	s->ca_file = env_get(env.data, "TM_CA_FILE");
	s->user = env_get(env.data, "TM_USER");
	s->password = env_get(env.data, "TM_PASSWORD");
	char *port = env_get(env.data, "TM_IMAPS_PORT");
	buf_release(&env);
	if (!s->conf || !s->ca_file || !s->user || !s->password || !port) {
		free(port);
		server_stop(s);
		return error_set(err, ERR_ACCOUNT, "tm-dovecot start %s: unexpected output", dir) <
			       0 ? -1 : 0;
	}
	s->imaps_port = (unsigned)strtoul(port, NULL, 10);
	free(port);
	s->log = xasprintf("%s/dovecot.log", dir);
	s->maildir = xasprintf("%s/mail/%s/Maildir", dir, s->user);
	char *mail = xasprintf("%s/mail", dir);
	struct stat st;
	int ret = stat(mail, &st);
	free(mail);
	if (ret < 0) {
		server_stop(s);
		return error_errno(err, ERR_ACCOUNT, errno, "%s/mail", dir) < 0 ? -1 : 0;
	}
	s->uid = st.st_uid;
	s->gid = st.st_gid;
	/* The first access makes Dovecot create the user's Maildir. */
	if (server_doveadm(s, err, "mailbox", "status", "-u", s->user, "messages", "INBOX",
			   NULL) < 0) {
		server_stop(s);
		return -1;
	}
	return 0;
}

void server_stop(struct server *s)
{
	if (s->tm_dovecot && s->dir) {
		struct error err = ERROR_INIT;
		char *argv[] = {s->tm_dovecot, "stop", s->dir, NULL};
		if (measure_exec(argv, NULL, &err) < 0)
			fprintf(stderr, "bench-sync: %s\n", err.msg);
		error_clear(&err);
	}
	free(s->dir);
	free(s->conf);
	free(s->log);
	free(s->ca_file);
	free(s->user);
	free(s->password);
	free(s->maildir);
	free(s->tm_dovecot);
	memset(s, 0, sizeof(*s));
}

char *server_folder_dir(const struct server *s, const char *folder)
{
	if (!strcmp(folder, "INBOX"))
		return xstrdup(s->maildir);
	/* Maildir++: ".A.B" for "A/B". */
	char *name = xasprintf("%s/.%s", s->maildir, folder);
	for (char *p = name + strlen(s->maildir) + 2; *p; p++)
		if (*p == '/')
			*p = '.';
	return name;
}

int server_doveadm_argv(struct server *s, const char *const *args, struct buf *out,
			struct error *err)
{
	size_t n = 0;
	while (args[n])
		n++;
	char **argv = xcalloc(n + 4, sizeof(*argv));
	argv[0] = "doveadm";
	argv[1] = "-c";
	argv[2] = s->conf;
	for (size_t i = 0; i < n; i++)
		argv[3 + i] = (char *)args[i];
	int ret = measure_exec(argv, out, err);
	free(argv);
	return ret;
}

int server_doveadm(struct server *s, struct error *err, const char *arg0, ...)
{
	const char *args[64];
	size_t n = 0;
	va_list ap;
	va_start(ap, arg0);
	for (const char *a = arg0; a && n + 1 < UTIL_ARRAY_LEN(args); a = va_arg(ap, const char *))
		args[n++] = a;
	va_end(ap);
	args[n] = NULL;
	return server_doveadm_argv(s, args, NULL, err);
}

int server_fill(struct server *s, const struct corpus_folder *folders, size_t nfolders,
		uint64_t seed, enum corpus_mix mix, uint64_t big_bytes,
		struct corpus_stats *st, struct error *err)
{
	memset(st, 0, sizeof(*st));
	/* One doveadm for all folders: it creates the Maildir++ directories
	 * and tells the list index about them. */
	const char **args = xcalloc(nfolders + 5, sizeof(*args));
	size_t n = 0;
	args[n++] = "mailbox";
	args[n++] = "create";
	args[n++] = "-u";
	args[n++] = s->user;
	size_t first = n;
	for (size_t i = 0; i < nfolders; i++)
		if (strcmp(folders[i].name, "INBOX"))
			args[n++] = folders[i].name;
	args[n] = NULL;
	int ret = n > first ? server_doveadm_argv(s, args, NULL, err) : 0;
	free(args);
	uint64_t index = 0;
	for (size_t i = 0; i < nfolders && ret == 0; i++) {
		char *dir = server_folder_dir(s, folders[i].name);
		ret = corpus_write(dir, seed, index, folders[i].count, mix, big_bytes, false,
				   s->uid, s->gid, st, err);
		index += folders[i].count;
		free(dir);
	}
	return ret < 0 ? -1 : server_index(s, err);
}

int server_index(struct server *s, struct error *err)
{
	if (server_doveadm(s, err, "force-resync", "-u", s->user, "*", NULL) < 0)
		return -1;
	/* What a sync client asks for first, so Dovecot's cache has it. */
	return server_doveadm(s, err, "fetch", "-u", s->user,
			      "uid flags size.virtual date.received", "mailbox", "*", "all",
			      NULL);
}

int server_count(struct server *s, const char *folder, unsigned *n_r, struct error *err)
{
	struct buf out = BUF_INIT(BUF_UNLIMITED);
	const char *args[] = {"-f", "flow", "mailbox", "status", "-u", s->user, "messages",
			      folder, NULL};
	int ret = server_doveadm_argv(s, args, &out, err);
	*n_r = 0;
	/* One "messages=N" per folder ("*" gives all of them). */
	for (const char *p = out.data; ret == 0 && (p = strstr(p, "messages=")); p++)
		*n_r += (unsigned)strtoul(p + strlen("messages="), NULL, 10);
	buf_release(&out);
	return ret;
}

int server_save(struct server *s, const char *path, struct error *err)
{
	if (tree_remove(path, err) < 0)
		return -1;
	return tree_clone(s->maildir, path, err);
}

int server_restore(struct server *s, const char *path, struct error *err)
{
	char *old = xasprintf("%s.old", s->maildir);
	int ret = tree_remove(old, err);
	if (ret == 0 && rename(s->maildir, old) < 0)
		ret = error_errno(err, ERR_ACCOUNT, errno, "rename %s", s->maildir);
	if (ret == 0)
		ret = tree_clone(path, s->maildir, err);
	if (ret == 0)
		ret = tree_remove(old, err);
	free(old);
	return ret < 0 ? -1 : 0;
}
