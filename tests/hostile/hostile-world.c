/* SPDX-License-Identifier: MIT */
#include "hostile-world.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "hostile-server.h"
#include "maildir.h"

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path) < 0 ? -1 : 0;
}

struct hw_figures *hw_fig;

void hw_figures_open(void)
{
	hw_fig = mmap(NULL, sizeof(*hw_fig), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		      -1, 0);
	assert_true(hw_fig != MAP_FAILED);
	memset(hw_fig, 0, sizeof(*hw_fig));
}

void hw_figures_close(void)
{
	munmap(hw_fig, sizeof(*hw_fig));
	hw_fig = NULL;
}

struct hw *hw_new(const char *extra)
{
	struct hw *w = xcalloc(1, sizeof(*w));
	w->top = xstrdup("/tmp/tm-hostile-XXXXXX");
	assert_non_null(mkdtemp(w->top));
	char *wdir = xasprintf("%s/w", w->top);
	assert_int_equal(mkdir(wdir, 0700), 0);
	free(wdir);
	w->root = xasprintf("%s/w/Mail", w->top);
	w->state = xasprintf("%s/w/state", w->top);
	w->db = xasprintf("%s/h.db", w->state);
	w->extra = extra ? xstrdup(extra) : NULL;
	buf_init(&w->events, BUF_UNLIMITED);
	return w;
}

void hw_free(struct hw *w)
{
	if (!w)
		return;
	nftw(w->top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(w->top);
	free(w->root);
	free(w->state);
	free(w->db);
	free(w->extra);
	free(w->local_opts);
	buf_release(&w->events);
	free(w);
}

static bool one_line(const char *s)
{
	return s && s[0] && !strpbrk(s, "\r\n");
}

static void on_event(void *ctx, enum sync_event ev, const char *folder, const char *text,
		     const struct sync_counts *counts)
{
	(void)counts;
	struct hw *w = ctx;
	if (ev != SYNC_EV_FOLDER_FAILED && ev != SYNC_EV_FOLDER_REFUSED)
		return;
	/* cmd/ prints "account: folder: text" (or the text alone): the
	 * text must be one line, and so must the folder as it is named. */
	if (!one_line(text))
		w->multiline++;
	buf_addf(&w->events, "%s\t%s\n", folder ? folder : "-", text ? text : "");
}

static void trace_line(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(stderr, "%.300s\n", line);
}

int hw_sync(struct hw *w, unsigned port, struct sync_report *rep, struct error *err)
{
	char *yaml = xasprintf("state_dir: %s\n"
			       "accounts:\n"
			       "  h:\n"
			       "    remote: {host: 127.0.0.1, port: %u, tls: none, user: alice,"
			       " password: \"secret\", connections: 1, timeout: 2s}\n"
			       "    local: {path: %s%s}\n"
			       "%s",
			       w->state, port, w->root, w->local_opts ? w->local_opts : "",
			       w->extra ? w->extra : "");
	struct config cfg;
	struct config_env env = {.home = w->top};
	struct error cerr = ERROR_INIT;
	if (config_load_string(&cfg, "hostile.yaml", yaml, strlen(yaml), &env, &cerr) < 0)
		fail_msg("config: %s", cerr.msg);
	free(yaml);
	struct sync_opts o = {.event = on_event, .event_ctx = w};
	/* HOSTILE_TRACE=1 shows the conversation, for writing cases. */
	const char *trace = getenv("HOSTILE_TRACE");
	if (trace && !strcmp(trace, "1"))
		o.trace = trace_line;
	int r = sync_account(&cfg, &cfg.accounts[0], &o, rep, err);
	if (r < 0 && !one_line(err->msg))
		w->multiline++;
	config_free(&cfg);
	return r;
}

/* ---- snapshots --------------------------------------------------------- */

static struct {
	size_t skip; /* the length of top and its '/' */
	char **lines;
	size_t n, cap;
} walk;

static int walk_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (strlen(path) <= walk.skip)
		return 0;
	char type = flag == FTW_D || flag == FTW_DNR ? 'd' : S_ISLNK(st->st_mode) ? 'l' : 'f';
	walk.lines = xgrow(walk.lines, sizeof(*walk.lines), walk.n + 1, &walk.cap);
	walk.lines[walk.n++] = xasprintf("%c %lld %s", type,
					 type == 'f' ? (long long)st->st_size : 0LL,
					 path + walk.skip);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted by path, not by the "TYPE SIZE " in front. */
static int cmp_path(const void *a, const void *b)
{
	const char *x = strchr(strchr(*(char *const *)a, ' ') + 1, ' ');
	const char *y = strchr(strchr(*(char *const *)b, ' ') + 1, ' ');
	return strcmp(x, y);
}

char *hw_tree(const struct hw *w)
{
	walk.skip = strlen(w->top) + 1;
	walk.n = 0;
	nftw(w->top, walk_one, 16, FTW_PHYS);
	if (walk.n)
		qsort(walk.lines, walk.n, sizeof(*walk.lines), cmp_path);
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	for (size_t i = 0; i < walk.n; i++) {
		buf_addf(&b, "%s\n", walk.lines[i]);
		free(walk.lines[i]);
	}
	free(walk.lines);
	memset(&walk, 0, sizeof(walk));
	return buf_detach(&b, NULL);
}

static void dump(sqlite3 *db, const char *sql, struct buf *out)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("state: %s", sqlite3_errmsg(db));
	char **rows = NULL;
	size_t n = 0, cap = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct buf row = BUF_INIT(BUF_UNLIMITED);
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			const unsigned char *t = sqlite3_column_text(st, i);
			buf_addf(&row, "%s%s", i ? "|" : "", t ? (const char *)t : "NULL");
		}
		rows = xgrow(rows, sizeof(*rows), n + 1, &cap);
		rows[n++] = buf_detach(&row, NULL);
	}
	sqlite3_finalize(st);
	if (n)
		qsort(rows, n, sizeof(*rows), cmp_str);
	for (size_t i = 0; i < n; i++) {
		buf_addf(out, "%s\n", rows[i]);
		free(rows[i]);
	}
	free(rows);
}

char *hw_state(const struct hw *w)
{
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	if (access(w->db, F_OK) != 0)
		return buf_detach(&b, NULL);
	sqlite3 *db;
	if (sqlite3_open_v2(w->db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		fail_msg("open %s", w->db);
	dump(db, "SELECT 'F', remote, local, uidvalidity, uidnext, highestmodseq FROM folders", &b);
	dump(db, "SELECT 'M', f.remote, m.uid, m.local_name, m.flags, m.local_flags, m.size "
		 "FROM messages m JOIN folders f ON f.id = m.folder_id", &b);
	sqlite3_close(db);
	return buf_detach(&b, NULL);
}

/* The paths of "TYPE SIZE PATH" lines (pointing into a copy of tree in
 * *copy_r), sorted: new paths are looked up, not searched for. */
static char **paths_of(const char *tree, char **copy_r, size_t *n_r)
{
	char *copy = xstrdup(tree);
	char **v = NULL;
	size_t n = 0, cap = 0;
	for (char *l = copy; *l;) {
		char *end = strchr(l, '\n');
		*end = '\0';
		v = xgrow(v, sizeof(*v), n + 1, &cap);
		v[n++] = strchr(strchr(l, ' ') + 1, ' ') + 1;
		l = end + 1;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	*copy_r = copy;
	*n_r = n;
	return v;
}

/* How many paths of after are not in before and satisfy fn. */
static size_t count_new(const char *before, const char *after, bool (*fn)(const char *path))
{
	char *c0, *c1;
	size_t n0, n1, n = 0;
	char **old = paths_of(before, &c0, &n0), **now = paths_of(after, &c1, &n1);
	for (size_t i = 0; i < n1; i++)
		if (!(n0 && bsearch(&now[i], old, n0, sizeof(*old), cmp_str)) && fn(now[i]))
			n++;
	free(old);
	free(now);
	free(c0);
	free(c1);
	return n;
}

static bool outside(const char *path)
{
	return strcmp(path, "w") && strcmp(path, "w/Mail") && strcmp(path, "w/state") &&
	       strncmp(path, "w/Mail/", 7) && strncmp(path, "w/state/", 8);
}

size_t hw_outside(const char *before, const char *after)
{
	return count_new(before, after, outside);
}

/* ---- the local side ------------------------------------------------------ */

void hw_local_add(struct hw *w, const char *rel, const char *name, const char *body)
{
	char *dir = xasprintf("%s/%s", w->root, rel);
	struct error err = ERROR_INIT;
	if (maildir_folder_create(dir, &err) < 0)
		fail_msg("%s", err.msg);
	char *path = xasprintf("%s/cur/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(body, f);
	assert_int_equal(fclose(f), 0);
	free(path);
	free(dir);
}

/* ---- running in a child -------------------------------------------------- */

/* A sanitizer's report is a crash too: an exit status of its own, told
 * apart from a failed check (1).  The environment may still override. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "exitcode=99";
}
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:exitcode=98:print_stacktrace=1";
}

struct forked {
	CMUnitTestFunction fn;
	void *state;
};

static void forked_test(void **state)
{
	struct forked *f = *state;
	/* cmocka's handlers would make a crash an ordinary failure. */
	hs_default_signals();
	f->fn(&f->state);
}

int hw_forked(const char *name, CMUnitTestFunction fn, void *state)
{
	struct forked f = {fn, state};
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* A test group of its own: a failure must not return into
		 * the parent's runner, which this child has a copy of. */
		const struct CMUnitTest t[] = {{name, forked_test, NULL, NULL, &f}};
		/* exit, not _exit: LeakSanitizer checks the child at exit. */
		exit(_cmocka_run_group_tests(name, t, 1, NULL, NULL) ? 1 : 0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) > 1))
		return 2;
	return WEXITSTATUS(status) != 0;
}
