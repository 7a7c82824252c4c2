/* SPDX-License-Identifier: MIT */
#include "disk.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "maildir.h"
#include "util.h"

const char *const disk_kind_names[DISK_KINDS] = {"write", "fsync", "rename", "create"};

/* The whole file, NUL-terminated, or NULL when it cannot be read. */
static char *slurp(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return NULL;
	}
	size_t size = (size_t)st.st_size, got = 0;
	char *text = xmalloc(size + 1);
	ssize_t n = 1;
	while (got < size && (n = read(fd, text + got, size - got)) > 0)
		got += (size_t)n;
	close(fd);
	text[got] = '\0';
	return text;
}

static void put_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		fail_msg("cannot create %s: %s", path, strerror(errno));
	size_t len = strlen(text);
	if (write(fd, text, len) != (ssize_t)len)
		fail_msg("cannot write %s: %s", path, strerror(errno));
	close(fd);
}

void disk_config(struct disk_env *env, struct world *w, const char *state_dir)
{
	const struct harness *h = w->h;
	free(env->config);
	free(env->state_db);
	env->config = xasprintf("%s/disk.yaml", w->dir);
	env->state_db = xasprintf("%s/t.db", state_dir);
	char *yaml = xasprintf(
		"state_dir: %s\n"
		"accounts:\n"
		"  t:\n"
		"    remote: {host: %s, port: %u, ca_file: %s, user: %s, password: \"%s\","
		" connections: 1}\n"
		"    local: {path: %s}\n"
		"    folders: {include: [\"%s\"]}\n",
		state_dir, h->host, h->imaps_port, h->ca_file, h->user, h->password,
		w->root, w->folder);
	put_file(env->config, yaml, 0600);
	free(yaml);
}

void disk_env_release(struct disk_env *env)
{
	free(env->config);
	free(env->state_db);
	env->config = NULL;
	env->state_db = NULL;
}

/* In the child: the shim's variables on top of the test's environment.
 * A sanitized tidemail must accept a library loaded before its runtime. */
static void child_env(const char *shim, const char *fault, const char *log)
{
	setenv("LD_PRELOAD", shim, 1);
	setenv("TM_FAULT_LOG", log, 1);
	if (fault)
		setenv("TM_FAULT", fault, 1);
	else
		unsetenv("TM_FAULT");
	const char *asan = getenv("ASAN_OPTIONS");
	char *opts = xasprintf("%s%sverify_asan_link_order=0", asan ? asan : "",
			       asan && *asan ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
	free(opts);
}

/* fault-shim writes its kinds in the order of enum disk_kind. */
static void parse_log(const char *text, struct disk_run *r)
{
	int end = 0;
	if (sscanf(text, "write=%lu fsync=%lu rename=%lu create=%lu injected=%lu%n",
		   &r->calls[DISK_WRITE], &r->calls[DISK_FSYNC], &r->calls[DISK_RENAME],
		   &r->calls[DISK_CREATE], &r->injected, &end) != 5)
		fail_msg("fault-shim log: %s", text);
	const char *nl = strchr(text + end, '\n');
	if (nl && nl[1])
		r->target = xstrndup(nl + 1, strcspn(nl + 1, "\n"));
}

void disk_run(const struct disk_env *env, const char *fault, struct disk_run *r)
{
	memset(r, 0, sizeof(*r));
	char *err_path = xasprintf("%s.err", env->config);
	char *log_path = xasprintf("%s.log", env->config);
	unlink(log_path);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int out = open("/dev/null", O_RDWR);
		int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (out < 0 || err < 0 || dup2(out, 0) < 0 || dup2(out, 1) < 0 ||
		    dup2(err, 2) < 0)
			_exit(126);
		child_env(env->shim, fault, log_path);
		execl(env->tidemail, env->tidemail, "-c", env->config, "sync", (char *)NULL);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		assert_int_equal(errno, EINTR);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r->err = slurp(err_path);
	if (!r->err)
		r->err = xstrdup("");
	/* No log: the binary died before its exit handlers ran. */
	char *log = slurp(log_path);
	if (log)
		parse_log(log, r);
	free(log);
	free(err_path);
	free(log_path);
}

void disk_run_release(struct disk_run *r)
{
	free(r->err);
	free(r->target);
	memset(r, 0, sizeof(*r));
}

bool disk_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return path && !strncmp(path, dir, n) && (path[n] == '/' || path[n] == '\0');
}

bool disk_run_one_line_error(const struct disk_run *r, int e, const char *state_dir)
{
	size_t len = strlen(r->err);
	if (r->status != 1 || len == 0 || r->err[len - 1] != '\n' ||
	    strchr(r->err, '\n') != r->err + len - 1 ||
	    strncmp(r->err, "tidemail: account t", 19) != 0)
		return false;
	if (strstr(r->err, strerror(e)))
		return true;
	/* SQLite says it in its own words, and keeps no reliable errno: a
	 * failed fsync is an "I/O error" whatever the errno, a failed create
	 * of the -wal or -shm file "unable to open". */
	static const char *const sqlite_words[] = {
		"database or disk is full", "disk I/O error", "unable to open database file",
	};
	if (!strstr(r->err, ": state "))
		return false;
	/* An injected fault must have hit the state folder to be told in
	 * SQLite's words; a real full disk has no single target. */
	if (r->target && !disk_under(r->target, state_dir))
		return false;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(sqlite_words); i++)
		if (strstr(r->err, sqlite_words[i]))
			return true;
	return false;
}

/* ---- messages ---------------------------------------------------------- */

static uint32_t name_hash(const char *name)
{
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h;
}

char *disk_message(const char *name, const char *eol)
{
	uint32_t h = name_hash(name);
	/* One in five is large, so that a full disk hits mid-file. */
	size_t size = h % 5 == 0 ? 100000 + h % 60000 : 100 + h % 4000;
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	buf_addf(&b, "From: disk@example.org%sMessage-ID: <%s@test>%sSubject: %s%s%s", eol,
		 name, eol, name, eol, eol);
	for (unsigned line = 0; b.len < size; line++)
		buf_addf(&b, "%s %06u abcdefghijklmnopqrstuvwxyz 0123456789%s", name, line, eol);
	buf_addf(&b, "End of %s.%s", name, eol);
	return buf_detach(&b, NULL);
}

void disk_server_add(struct world *w, struct disk_expect *x, const char *name)
{
	struct error err = ERROR_INIT;
	char *msg = disk_message(name, "\r\n");
	uint32_t uid;
	if (harness_save(w->h, NULL, w->folder, msg, &uid, &err) < 0)
		fail_msg("save %s: %s", name, err.msg);
	free(msg);
	disk_expect_set(x, name, "");
}

void disk_local_add(struct world *w, struct disk_expect *x, const char *name)
{
	struct error err = ERROR_INIT;
	if (maildir_folder_create(w->path, &err) < 0)
		fail_msg("%s", err.msg);
	char *path = xasprintf("%s/cur/1700000000.%s.disktest:2,", w->path, name);
	char *msg = disk_message(name, "\n");
	put_file(path, msg, 0600);
	free(msg);
	free(path);
	disk_expect_set(x, name, "");
}

/* ---- what is expected --------------------------------------------------- */

static size_t expect_find(const struct disk_expect *x, const char *name)
{
	for (size_t i = 0; i < x->n; i++)
		if (!strcmp(x->names[i], name))
			return i;
	return x->n;
}

void disk_expect_set(struct disk_expect *x, const char *name, const char *letters)
{
	size_t i = expect_find(x, name);
	if (i == x->n) {
		size_t cap = x->cap;
		x->names = xgrow(x->names, sizeof(*x->names), x->n + 1, &cap);
		x->letters = xgrow(x->letters, sizeof(*x->letters), x->n + 1, &x->cap);
		x->names[x->n] = xstrdup(name);
		x->letters[x->n] = NULL;
		x->n++;
	}
	free(x->letters[i]);
	x->letters[i] = xstrdup(letters);
}

void disk_expect_remove(struct disk_expect *x, const char *name)
{
	size_t i = expect_find(x, name);
	if (i == x->n)
		fail_msg("%s is not expected anywhere", name);
	free(x->names[i]);
	free(x->letters[i]);
	x->n--;
	x->names[i] = x->names[x->n];
	x->letters[i] = x->letters[x->n];
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *disk_expect_view(const struct disk_expect *x)
{
	char **items = xcalloc(x->n ? x->n : 1, sizeof(*items));
	for (size_t i = 0; i < x->n; i++)
		items[i] = xasprintf("%s:%s", x->names[i], x->letters[i]);
	qsort(items, x->n, sizeof(*items), cmp_str);
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	for (size_t i = 0; i < x->n; i++) {
		buf_addf(&b, "%s%s", i ? " " : "", items[i]);
		free(items[i]);
	}
	free(items);
	return buf_detach(&b, NULL);
}

void disk_expect_release(struct disk_expect *x)
{
	for (size_t i = 0; i < x->n; i++) {
		free(x->names[i]);
		free(x->letters[i]);
	}
	free(x->names);
	free(x->letters);
	memset(x, 0, sizeof(*x));
}

/* ---- checks ------------------------------------------------------------ */

/* "name@test>..." -> name, or NULL. */
static char *msgid_name(const char *p)
{
	const char *end = strstr(p, "@test>");
	return end ? xstrndup(p, (size_t)(end - p)) : NULL;
}

/* The name in a message's "Message-ID: <name@test>", or NULL. */
static char *text_name(const char *text)
{
	const char *p = strstr(text, "Message-ID: <");
	return p ? msgid_name(p + 13) : NULL;
}

static bool file_complete(const char *path)
{
	char *text = slurp(path);
	char *name = text ? text_name(text) : NULL;
	bool ok = false;
	if (name) {
		char *crlf = disk_message(name, "\r\n"), *lf = disk_message(name, "\n");
		ok = !strcmp(text, crlf) || !strcmp(text, lf);
		free(crlf);
		free(lf);
	}
	free(name);
	free(text);
	return ok;
}

static unsigned walk_partial(const char *dir, bool msgs)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	unsigned bad = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *path = xasprintf("%s/%s", dir, de->d_name);
		struct stat st;
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			bad += walk_partial(path, !strcmp(de->d_name, "new") ||
						      !strcmp(de->d_name, "cur"));
		else if (msgs && !file_complete(path))
			bad++;
		free(path);
	}
	closedir(d);
	return bad;
}

unsigned disk_partial_files(const char *root)
{
	return walk_partial(root, false);
}

bool disk_quick_check(const char *db)
{
	struct stat st;
	if (stat(db, &st) < 0 && errno == ENOENT)
		return true;
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;
	char *first = NULL;
	bool ok = sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
		  sqlite3_prepare_v2(h, "PRAGMA quick_check", -1, &s, NULL) == SQLITE_OK &&
		  sqlite3_step(s) == SQLITE_ROW;
	if (ok) {
		first = xstrdup((const char *)sqlite3_column_text(s, 0));
		ok = !strcmp(first, "ok") && sqlite3_step(s) == SQLITE_DONE;
	}
	if (!ok)
		print_message("quick_check %s: %s\n", db,
			      first ? first : h ? sqlite3_errmsg(h) : "no handle");
	free(first);
	sqlite3_finalize(s);
	sqlite3_close(h);
	return ok;
}

static bool folder_has_unique(const char *folder, const char *unique)
{
	struct maildir_scan scan;
	struct error err = ERROR_INIT;
	if (maildir_scan(folder, &scan, &err) < 0) {
		error_clear(&err);
		return false;
	}
	bool found = false;
	for (size_t i = 0; i < scan.n && !found; i++)
		found = !strcmp(scan.entries[i].unique, unique);
	maildir_scan_release(&scan);
	return found;
}

unsigned disk_state_ahead(const char *db, const char *root, const struct disk_expect *x)
{
	struct stat st;
	if (stat(db, &st) < 0)
		return 0;
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(h,
			       "SELECT f.local, m.local_name, m.message_id FROM messages m"
			       " JOIN folders f ON f.id = m.folder_id"
			       " WHERE m.uid IS NOT NULL AND m.local_name IS NOT NULL",
			       -1, &s, NULL) != SQLITE_OK) {
		/* A file the schema never made it into records nothing. */
		bool empty = strstr(sqlite3_errmsg(h), "no such table") != NULL;
		if (!empty)
			fail_msg("state %s: %s", db, sqlite3_errmsg(h));
		sqlite3_close(h);
		return 0;
	}
	unsigned ahead = 0;
	while (sqlite3_step(s) == SQLITE_ROW) {
		/* message_id is "<name@test>". */
		const char *msgid = (const char *)sqlite3_column_text(s, 2);
		char *n = msgid && msgid[0] == '<' ? msgid_name(msgid + 1) : NULL;
		if (n && expect_find(x, n) < x->n) {
			char *folder = xasprintf("%s/%s", root,
						 (const char *)sqlite3_column_text(s, 0));
			if (!folder_has_unique(folder, (const char *)sqlite3_column_text(s, 1)))
				ahead++;
			free(folder);
		}
		free(n);
	}
	sqlite3_finalize(s);
	sqlite3_close(h);
	return ahead;
}

/* Names in a view ("a:S b:"), sorted as the view is. */
static char **view_names(const char *view, size_t *n_r)
{
	size_t n = 0, cap = 0;
	char **names = NULL;
	for (const char *p = view; *p && strcmp(view, "(no folder)");) {
		names = xgrow(names, sizeof(*names), n + 1, &cap);
		names[n++] = xstrndup(p, strcspn(p, ":"));
		p += strcspn(p, " ");
		p += strspn(p, " ");
	}
	*n_r = n;
	return names;
}

/* lost: expected names missing from the view; duplicated: every copy of
 * a name beyond the first, and any name not expected at all (a deleted
 * message brought back is one copy more than the inputs made). */
static void count_side(const char *view, const struct disk_expect *x, struct disk_tally *t)
{
	size_t n;
	char **names = view_names(view, &n);
	for (size_t i = 0; i < x->n; i++) {
		bool seen = false;
		for (size_t j = 0; j < n && !seen; j++)
			seen = !strcmp(names[j], x->names[i]);
		t->lost += !seen;
	}
	for (size_t j = 0; j < n; j++) {
		bool again = j > 0 && !strcmp(names[j], names[j - 1]);
		t->duplicated += again || expect_find(x, names[j]) == x->n;
	}
	for (size_t j = 0; j < n; j++)
		free(names[j]);
	free(names);
}

bool disk_compare(struct world *w, const struct disk_expect *x, struct disk_tally *t)
{
	char *sv = server_view(w), *lv = local_view(w), *ev = disk_expect_view(x);
	count_side(sv, x, t);
	count_side(lv, x, t);
	bool same = !strcmp(sv, ev) && !strcmp(lv, ev);
	if (!same)
		print_message("server \"%s\"\nlocal  \"%s\"\nwant   \"%s\"\n", sv, lv, ev);
	free(sv);
	free(lv);
	free(ev);
	return same;
}

void disk_tally_print(const char *label, const struct disk_tally *t)
{
	printf("figures: %s cases=%u enospc=%u eio=%u partial-files=%u "
	       "quick_check-failures=%u lost=%u duplicated=%u converged=%u "
	       "absorbed=%u state-ahead=%u bad-exits=%u\n",
	       label, t->cases, t->enospc, t->eio, t->partial_files, t->quick_check_failures,
	       t->lost, t->duplicated, t->converged, t->absorbed, t->state_ahead,
	       t->bad_exits);
	fflush(stdout);
}

void disk_check(struct disk_tally *t, const char *db, struct world *w,
		const struct disk_expect *x, const char *what)
{
	unsigned partial = disk_partial_files(w->root);
	bool qc = disk_quick_check(db);
	unsigned ahead = disk_state_ahead(db, w->root, x);
	if (partial || !qc || ahead)
		print_message("%s: %u partial files, quick_check %s, %u state rows ahead\n",
			      what, partial, qc ? "ok" : "FAILED", ahead);
	t->partial_files += partial;
	t->quick_check_failures += !qc;
	t->state_ahead += ahead;
}

int disk_setup(void **state)
{
	return world_setup(state, NULL);
}

void disk_tally_assert(const struct disk_tally *t)
{
	assert_true(t->cases > 0);
	assert_int_equal(t->partial_files, 0);
	assert_int_equal(t->quick_check_failures, 0);
	assert_int_equal(t->state_ahead, 0);
	assert_int_equal(t->lost, 0);
	assert_int_equal(t->duplicated, 0);
	assert_int_equal(t->bad_exits, 0);
	assert_int_equal(t->converged, t->cases);
}
