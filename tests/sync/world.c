/* SPDX-License-Identifier: MIT */
#include "world.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "maildir.h"
#include "util.h"

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) < 0 ? -1 : 0;
}

static void die_on(int r, struct error *err)
{
	if (r < 0)
		fail_msg("%s", err->msg ? err->msg : "failed");
}

int world_setup(void **state, const struct harness_opts *opts)
{
	struct harness *h = xcalloc(1, sizeof(*h));
	*state = h;
	if (!harness_available())
		return 0;
	struct error err = ERROR_INIT;
	if (harness_start(h, opts, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		error_clear(&err);
		return -1;
	}
	return 0;
}

int world_teardown(void **state)
{
	harness_stop(*state);
	free(*state);
	return 0;
}

struct world *world_new(struct harness *h, const char *folder, const char *extra)
{
	struct world_conf wc = {.extra = extra};
	return world_new_conf(h, folder, &wc);
}

struct world *world_new_conf(struct harness *h, const char *folder,
			     const struct world_conf *wc)
{
	struct world *w = xcalloc(1, sizeof(*w));
	w->h = h;
	w->dir = xasprintf("%s/tm-sync-XXXXXX", wc->tmp ? wc->tmp : "/tmp");
	assert_non_null(mkdtemp(w->dir));
	w->root = xasprintf("%s/Mail", w->dir);
	w->folder = xstrdup(folder);
	w->path = xasprintf("%s/%s", w->root, folder);
	char *remote = wc->plain
		? xasprintf("host: %s, port: %u, tls: none", h->host, h->imap_port)
		: xasprintf("host: %s, port: %u, ca_file: %s", h->host, h->imaps_port,
			    h->ca_file);
	char *conns = wc->connections ? xasprintf(", connections: %u", wc->connections)
				      : xstrdup("");
	char *yaml = xasprintf(
		"state_dir: %s/state\n"
		"accounts:\n"
		"  t:\n"
		"    remote: {%s, user: %s, password: \"%s\"%s}\n"
		"    local: {path: %s}\n"
		"    folders: {include: [\"%s\"]}\n"
		"%s",
		w->dir, remote, h->user, h->password, conns, w->root, folder,
		wc->extra ? wc->extra : "");
	free(remote);
	free(conns);
	struct config_env env = {"/root", NULL, NULL};
	struct error err = ERROR_INIT;
	die_on(config_load_string(&w->cfg, "world.yaml", yaml, strlen(yaml), &env, &err),
	       &err);
	free(yaml);
	/* A glob names several folders: the test makes them itself. */
	if (!strchr(folder, '*'))
		die_on(harness_mailbox_create(h, NULL, folder, &err), &err);
	return w;
}

void world_use(struct world *w, const char *folder, bool create)
{
	free(w->folder);
	free(w->path);
	w->folder = xstrdup(folder);
	w->path = xasprintf("%s/%s", w->root, folder);
	struct error err = ERROR_INIT;
	if (create)
		die_on(harness_mailbox_create(w->h, NULL, folder, &err), &err);
}

void world_free(struct world *w)
{
	struct error err = ERROR_INIT;
	if (!strchr(w->folder, '*'))
		harness_mailbox_delete(w->h, NULL, w->folder, &err);
	error_clear(&err);
	error_clear(&w->err);
	sync_report_release(&w->rep);
	nftw(w->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	config_free(&w->cfg);
	free(w->dir);
	free(w->root);
	free(w->folder);
	free(w->path);
	free(w);
}

/* Folder failures are reported as events; keep the last one. */
static void on_event(void *ctx, enum sync_event ev, const char *folder,
		     const char *text, const struct sync_counts *counts)
{
	struct world *w = ctx;
	if (ev == SYNC_EV_FOLDER_FAILED || ev == SYNC_EV_FOLDER_REFUSED)
		error_set(&w->err, ERR_FOLDER, "%s: %s", folder ? folder : "", text);
}

int world_sync(struct world *w, const struct sync_opts *o)
{
	struct sync_opts opts = {0};
	if (o)
		opts = *o;
	opts.event = on_event;
	opts.event_ctx = w;
	/* The protocol trace to a file when the secrets sweep asks for it
	 * (test.sh), unless the test traces for itself. */
	if (!opts.trace && harness_tracing())
		opts.trace = harness_trace_line;
	error_clear(&w->err);
	sync_report_release(&w->rep);
	struct error err = ERROR_INIT;
	int r = sync_account(&w->cfg, &w->cfg.accounts[0], &opts, &w->rep, &err);
	if (r != 0) {
		error_clear(&w->err);
		w->err = err;
	}
	return r;
}

void world_sync_ok(struct world *w)
{
	int r = world_sync(w, NULL);
	if (r != 0)
		fail_msg("sync: %d %s", r, w->err.msg ? w->err.msg : "");
	if (w->rep.folders_failed || w->rep.folders_refused)
		fail_msg("sync: %zu folders failed, %zu refused: %s", w->rep.folders_failed,
			 w->rep.folders_refused, w->err.msg ? w->err.msg : "");
}

void world_assert_quiet(struct world *w)
{
	world_sync_ok(w);
	const struct sync_counts *c = &w->rep.counts;
	if (c->downloaded || c->uploaded || c->local_flags || c->remote_flags ||
	    c->deleted_local || c->deleted_remote || c->folders_created ||
	    c->folders_deleted || c->folders_renamed || c->moved_local ||
	    c->moved_remote)
		fail_msg("a second sync changed things: %zu down %zu up %zu/%zu flags "
			 "%zu/%zu deleted %zu folders", c->downloaded, c->uploaded,
			 c->local_flags, c->remote_flags, c->deleted_local,
			 c->deleted_remote, c->folders_created);
}

/* ---- the server -------------------------------------------------------- */

static char *message(const char *name)
{
	return xasprintf("From: tester@example.org\r\nMessage-ID: <%s@test>\r\n"
			 "Subject: %s\r\n\r\nThis is message %s.\r\n", name, name, name);
}

uint32_t server_add(struct world *w, const char *name, const char *flags)
{
	struct error err = ERROR_INIT;
	char *msg = message(name);
	uint32_t uid = 0;
	die_on(harness_save(w->h, NULL, w->folder, msg, &uid, &err), &err);
	free(msg);
	if (flags && *flags)
		die_on(harness_flags(w->h, NULL, w->folder, uid, HARNESS_FLAGS_REPLACE,
				     flags, &err), &err);
	return uid;
}

static uint32_t server_uid(struct world *w, const char *name)
{
	struct error err = ERROR_INIT;
	uint32_t *uids;
	size_t n;
	char *id = xasprintf("<%s@test>", name);
	die_on(harness_search(w->h, NULL, w->folder, &uids, &n, &err, "HEADER",
			      "Message-ID", id, NULL), &err);
	free(id);
	if (n != 1)
		fail_msg("%zu messages named %s on the server", n, name);
	uint32_t uid = uids[0];
	free(uids);
	return uid;
}

void server_flags(struct world *w, const char *name, const char *flags)
{
	struct error err = ERROR_INIT;
	die_on(harness_flags(w->h, NULL, w->folder, server_uid(w, name),
			     HARNESS_FLAGS_REPLACE, flags, &err), &err);
}

void server_expunge(struct world *w, const char *name)
{
	struct error err = ERROR_INIT;
	die_on(harness_expunge(w->h, NULL, w->folder, server_uid(w, name), &err), &err);
}

static unsigned letters_bits(const char *letters)
{
	unsigned bits = 0;
	for (const char *p = letters; *p; p++)
		bits |= maildir_flag_from_letter(*p);
	return bits;
}

static void bits_letters(unsigned bits, struct buf *b)
{
	for (unsigned bit = 1; bit <= MAILDIR_FLAGS_ALL; bit <<= 1)
		if (bits & bit)
			buf_addc(b, maildir_flag_letter(bit));
}

static unsigned imap_bits(const char *flags)
{
	static const struct {
		const char *name;
		unsigned bit;
	} map[] = {
		{"\\Draft", MAILDIR_FLAG_DRAFT}, {"\\Flagged", MAILDIR_FLAG_FLAGGED},
		{"$Forwarded", MAILDIR_FLAG_PASSED}, {"\\Answered", MAILDIR_FLAG_REPLIED},
		{"\\Seen", MAILDIR_FLAG_SEEN}, {"\\Deleted", MAILDIR_FLAG_TRASHED},
	};
	unsigned bits = 0;
	for (const char *p = flags ? flags : ""; *p;) {
		size_t len = strcspn(p, " ");
		for (size_t i = 0; i < UTIL_ARRAY_LEN(map); i++)
			if (strlen(map[i].name) == len && !strncmp(map[i].name, p, len))
				bits |= map[i].bit;
		p += len;
		p += strspn(p, " ");
	}
	return bits;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "a:S b:" from name/bits pairs. */
static char *join_sorted(char **items, size_t n)
{
	qsort(items, n, sizeof(*items), cmp_str);
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	for (size_t i = 0; i < n; i++) {
		buf_addf(&b, "%s%s", i ? " " : "", items[i]);
		free(items[i]);
	}
	free(items);
	return buf_detach(&b, NULL);
}

/* "<a@test>" -> "a"; anything else as it is. */
static char *name_of(const char *msgid)
{
	size_t n = msgid ? strlen(msgid) : 0;
	if (n > 7 && msgid[0] == '<' && !strcmp(msgid + n - 6, "@test>"))
		return xstrndup(msgid + 1, n - 7);
	return xstrdup(msgid ? msgid : "?");
}

char *server_view(struct world *w)
{
	struct error err = ERROR_INIT;
	struct harness_msg *msgs;
	size_t n;
	die_on(harness_fetch(w->h, NULL, w->folder, "hdr.message-id", &msgs, &n, &err),
	       &err);
	char **items = xcalloc(n ? n : 1, sizeof(*items));
	for (size_t i = 0; i < n; i++) {
		const char *id = harness_record_get(&msgs[i].fields, "hdr.message-id");
		char *name = name_of(id);
		struct buf b = BUF_INIT(BUF_UNLIMITED);
		buf_addf(&b, "%s:", name);
		bits_letters(imap_bits(msgs[i].flags), &b);
		items[i] = buf_detach(&b, NULL);
		free(name);
	}
	harness_msgs_free(msgs, n);
	return join_sorted(items, n);
}

void world_imap_letters(const char *flags, struct buf *b)
{
	bits_letters(imap_bits(flags), b);
}

/* ---- the Maildir ------------------------------------------------------- */

static char *file_msgid(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("cannot read %s", path);
	char line[1024];
	char *id = NULL;
	while (!id && fgets(line, sizeof(line), f)) {
		if (line[0] == '\r' || line[0] == '\n')
			break;
		if (!strncasecmp(line, "Message-ID: ", 12))
			id = xstrndup(line + 12, strcspn(line + 12, "\r\n"));
	}
	fclose(f);
	return id;
}

char *world_file_name(const char *path)
{
	char *id = file_msgid(path);
	char *name = name_of(id);
	free(id);
	return name;
}

/* Calls fn(path, name, entry) for each message file of the folder. */
static void each_file(struct world *w,
		      void (*fn)(struct world *, const char *, const char *,
				 const struct maildir_entry *, void *),
		      void *ctx)
{
	struct maildir_scan scan;
	struct error err = ERROR_INIT;
	die_on(maildir_scan(w->path, &scan, &err), &err);
	for (size_t i = 0; i < scan.n; i++) {
		const struct maildir_entry *e = &scan.entries[i];
		char *path = xasprintf("%s/%s/%s", w->path,
				       e->sub == MAILDIR_NEW ? "new" : "cur", e->name);
		char *name = world_file_name(path);
		fn(w, path, name, e, ctx);
		free(name);
		free(path);
	}
	maildir_scan_release(&scan);
}

struct collect {
	char **items;
	size_t n;
};

static void collect_one(struct world *w, const char *path, const char *name,
			const struct maildir_entry *e, void *ctx)
{
	struct collect *c = ctx;
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	buf_addf(&b, "%s:", name);
	bits_letters(e->flags, &b);
	c->items = xrealloc(c->items, (c->n + 1) * sizeof(*c->items));
	c->items[c->n++] = buf_detach(&b, NULL);
}

char *local_view(struct world *w)
{
	struct stat st;
	if (stat(w->path, &st) < 0)
		return xstrdup("(no folder)");
	struct collect c = {NULL, 0};
	each_file(w, collect_one, &c);
	return join_sorted(c.items ? c.items : xcalloc(1, sizeof(char *)), c.n);
}

void local_add(struct world *w, const char *name, const char *letters)
{
	struct error err = ERROR_INIT;
	die_on(maildir_folder_create(w->path, &err), &err);
	char *file = xasprintf("%s/cur/1700000000.%s.testhost:2,%s", w->path, name, letters);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	/* Local mail readers write LF line ends. */
	fprintf(f, "From: tester@example.org\nMessage-ID: <%s@test>\nSubject: %s\n\n"
		   "This is message %s.\n", name, name, name);
	fclose(f);
	free(file);
}

struct change {
	const char *name;
	const char *letters; /* NULL: remove, unless to is set */
	const char *to;      /* move into this folder */
	bool done;
};

static void change_one(struct world *w, const char *path, const char *name,
		       const struct maildir_entry *e, void *ctx)
{
	struct change *c = ctx;
	if (strcmp(name, c->name))
		return;
	if (c->done)
		fail_msg("%s is in the Maildir twice", name);
	c->done = true;
	if (c->to) {
		char *dest = xasprintf("%s/%s/%s/%s", w->root, c->to,
				       e->sub == MAILDIR_NEW ? "new" : "cur", e->name);
		assert_int_equal(rename(path, dest), 0);
		free(dest);
		return;
	}
	if (!c->letters) {
		assert_int_equal(unlink(path), 0);
		return;
	}
	char *to = xasprintf("%s/cur/%s:2,", w->path, e->unique);
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	buf_adds(&b, to);
	bits_letters(letters_bits(c->letters), &b);
	assert_int_equal(rename(path, b.data), 0);
	buf_release(&b);
	free(to);
}

void local_flags(struct world *w, const char *name, const char *letters)
{
	struct change c = {name, letters, NULL, false};
	each_file(w, change_one, &c);
	if (!c.done)
		fail_msg("no local file for %s", name);
}

void local_remove(struct world *w, const char *name)
{
	struct change c = {name, NULL, NULL, false};
	each_file(w, change_one, &c);
	if (!c.done)
		fail_msg("no local file for %s", name);
}

void local_move(struct world *w, const char *name, const char *to_folder)
{
	struct change c = {name, NULL, to_folder, false};
	each_file(w, change_one, &c);
	if (!c.done)
		fail_msg("no local file for %s", name);
}

void assert_server(struct world *w, const char *want)
{
	char *s = server_view(w);
	if (strcmp(s, want))
		fail_msg("server is \"%s\", want \"%s\"", s, want);
	free(s);
}

void assert_local(struct world *w, const char *want)
{
	char *s = local_view(w);
	if (strcmp(s, want))
		fail_msg("Maildir is \"%s\", want \"%s\"", s, want);
	free(s);
}

void assert_sides(struct world *w, const char *want)
{
	assert_server(w, want);
	assert_local(w, want);
}

/* ---- bulk --------------------------------------------------------------- */

void server_bulk(struct world *w, const char *prefix, unsigned n)
{
	/* Dovecot's Maildir++ layout below the user's home. */
	char *dir = xasprintf("%s/%s/Maildir/.%s", w->h->mail_dir, w->h->user, w->folder);
	char *newdir = xasprintf("%s/new", dir);
	struct error err = ERROR_INIT;
	/* The mailbox exists (world_new), so the directories do. */
	for (unsigned i = 0; i < n; i++) {
		/* The prefix in the name: several batches in one folder. */
		char *path = xasprintf("%s/1700000000.M%uP1.bulk-%s", newdir, i, prefix);
		FILE *f = fopen(path, "w");
		if (!f)
			fail_msg("cannot write %s", path);
		fprintf(f, "From: bulk@example.org\r\nMessage-ID: <%s%u@test>\r\n"
			   "Subject: %s%u\r\n\r\nBulk message %u, with a little body text "
			   "to make it look like mail.\r\n", prefix, i, prefix, i, i);
		fclose(f);
		if (chown(path, w->h->mail_uid, w->h->mail_gid) < 0)
			fail_msg("chown %s", path);
		free(path);
	}
	die_on(harness_doveadm(w->h, NULL, NULL, &err, "force-resync", "-u", w->h->user,
			       w->folder, NULL), &err);
	free(newdir);
	free(dir);
}

static void count_names(const char *view, char ***names_r, size_t *n_r)
{
	size_t n = 0, cap = 0;
	char **names = NULL;
	for (const char *p = view; *p;) {
		size_t len = strcspn(p, ":");
		names = xgrow(names, sizeof(*names), n + 1, &cap);
		names[n++] = xstrndup(p, len);
		p += strcspn(p, " ");
		p += strspn(p, " ");
	}
	*names_r = names;
	*n_r = n;
}

void assert_same_names(struct world *w, unsigned want)
{
	char *sv = server_view(w), *lv = local_view(w);
	char **sn, **ln;
	size_t ns, nl;
	count_names(sv, &sn, &ns);
	count_names(lv, &ln, &nl);
	/* Views are sorted by name: a duplicate sits next to its twin. */
	size_t dup_s = 0, dup_l = 0;
	for (size_t i = 1; i < ns; i++)
		dup_s += !strcmp(sn[i], sn[i - 1]);
	for (size_t i = 1; i < nl; i++)
		dup_l += !strcmp(ln[i], ln[i - 1]);
	bool same = ns == nl;
	for (size_t i = 0; same && i < ns; i++)
		same = !strcmp(sn[i], ln[i]);
	for (size_t i = 0; i < ns; i++)
		free(sn[i]);
	for (size_t i = 0; i < nl; i++)
		free(ln[i]);
	free(sn);
	free(ln);
	free(sv);
	free(lv);
	if (ns != want || nl != want || dup_s || dup_l || !same)
		fail_msg("server %zu messages (%zu duplicated), Maildir %zu (%zu "
			 "duplicated), same names: %s; want %u each", ns, dup_s, nl,
			 dup_l, same ? "yes" : "no", want);
}

/* ---- snapshots ---------------------------------------------------------- */

struct world_snap {
	char *dir;    /* the copies: dir/server and dir/local */
	char *server; /* the user's home on the server */
};

/* True while a process of the harness's group is an imap session. */
static bool server_busy(pid_t group)
{
	DIR *d = opendir("/proc");
	if (!d)
		fail_msg("cannot read /proc");
	bool busy = false;
	struct dirent *de;
	while (!busy && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		char *path = xasprintf("/proc/%s/stat", de->d_name);
		FILE *f = fopen(path, "r");
		free(path);
		if (!f)
			continue; /* gone meanwhile */
		/* "pid (comm) state ppid pgrp ...": comm may hold spaces. */
		char line[512];
		if (fgets(line, sizeof(line), f)) {
			char *close = strrchr(line, ')');
			char *open = strchr(line, '(');
			long pgrp = 0;
			if (open && close && close > open &&
			    sscanf(close + 1, " %*c %*d %ld", &pgrp) == 1)
				busy = pgrp == group && close - open - 1 == 4 &&
				       !strncmp(open + 1, "imap", 4);
		}
		fclose(f);
	}
	closedir(d);
	return busy;
}

void world_server_idle(struct harness *h)
{
	/* A session ends a moment after its client hangs up or dies; its
	 * index writes are done when the process is gone. */
	for (int i = 0; i < 10000; i++) {
		if (!server_busy(h->pid))
			return;
		usleep(1000);
	}
	fail_msg("an IMAP session of the harness is still running after 10 s");
}

static void copy_file(const char *from, const char *to, const struct stat *st)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st->st_mode & 07777);
	if (in < 0 || out < 0)
		fail_msg("cannot copy %s to %s: %s", from, to, strerror(errno));
	char chunk[65536];
	ssize_t n;
	while ((n = read(in, chunk, sizeof(chunk))) > 0)
		if (write(out, chunk, (size_t)n) != n)
			fail_msg("cannot write %s: %s", to, strerror(errno));
	if (n < 0)
		fail_msg("cannot read %s: %s", from, strerror(errno));
	close(in);
	close(out);
}

/* Owner, mode and times of st on path (times last: they are what Dovecot
 * and the sync compare with their records). */
static void copy_attrs(const char *path, const struct stat *st)
{
	if ((st->st_uid != geteuid() || st->st_gid != getegid()) &&
	    lchown(path, st->st_uid, st->st_gid) < 0)
		fail_msg("cannot chown %s: %s", path, strerror(errno));
	if (chmod(path, st->st_mode & 07777) < 0)
		fail_msg("cannot chmod %s: %s", path, strerror(errno));
	struct timespec times[2] = {st->st_atim, st->st_mtim};
	if (utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW) < 0)
		fail_msg("cannot set the times of %s: %s", path, strerror(errno));
}

/* Copies the tree from into to (which must not exist). */
static void copy_tree(const char *from, const char *to)
{
	struct stat st;
	if (lstat(from, &st) < 0)
		fail_msg("cannot stat %s: %s", from, strerror(errno));
	if (S_ISREG(st.st_mode)) {
		copy_file(from, to, &st);
	} else if (S_ISDIR(st.st_mode)) {
		if (mkdir(to, 0700) < 0)
			fail_msg("cannot create %s: %s", to, strerror(errno));
		DIR *d = opendir(from);
		if (!d)
			fail_msg("cannot read %s: %s", from, strerror(errno));
		struct dirent *de;
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			char *a = xasprintf("%s/%s", from, de->d_name);
			char *b = xasprintf("%s/%s", to, de->d_name);
			copy_tree(a, b);
			free(a);
			free(b);
		}
		closedir(d);
	} else {
		fail_msg("%s: neither a file nor a directory", from);
	}
	copy_attrs(to, &st);
}

static void remove_tree(const char *dir)
{
	struct stat st;
	if (lstat(dir, &st) < 0 && errno == ENOENT)
		return;
	if (nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
		fail_msg("cannot remove %s: %s", dir, strerror(errno));
}

struct world_snap *world_snapshot(struct world *w)
{
	world_server_idle(w->h);
	struct world_snap *s = xcalloc(1, sizeof(*s));
	/* Next to the world: on the same file system (a tmpfs, say). */
	s->dir = xasprintf("%s.snap-XXXXXX", w->dir);
	assert_non_null(mkdtemp(s->dir));
	s->server = xasprintf("%s/%s", w->h->mail_dir, w->h->user);
	char *server = xasprintf("%s/server", s->dir);
	char *local = xasprintf("%s/local", s->dir);
	copy_tree(s->server, server);
	copy_tree(w->dir, local);
	free(server);
	free(local);
	return s;
}

void world_restore(struct world *w, const struct world_snap *s)
{
	world_server_idle(w->h);
	char *server = xasprintf("%s/server", s->dir);
	char *local = xasprintf("%s/local", s->dir);
	remove_tree(s->server);
	copy_tree(server, s->server);
	remove_tree(w->dir);
	copy_tree(local, w->dir);
	free(server);
	free(local);
}

void world_snap_free(struct world_snap *s)
{
	if (!s)
		return;
	remove_tree(s->dir);
	free(s->dir);
	free(s->server);
	free(s);
}
