/* SPDX-License-Identifier: MIT */
#include "netcase.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "maildir.h"
#include "state.h"

static void die_on(int r, struct error *err)
{
	if (r < 0)
		fail_msg("%s", err->msg ? err->msg : "failed");
}

static uint32_t name_hash(const char *name)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h;
}

char *netcase_message(const char *name, bool crlf)
{
	const char *eol = crlf ? "\r\n" : "\n";
	uint32_t h = name_hash(name);
	/* The line count, not the size, is fixed: the same lines whatever
	 * the line ends. */
	unsigned lines = 3 + h % 260;
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	buf_addf(&b, "From: tester@example.org%sMessage-ID: <%s@test>%sSubject: %s%s%s",
		 eol, name, eol, name, eol, eol);
	/* Lines that differ from message to message and from line to line,
	 * so that a copy cut anywhere differs from the whole. */
	for (unsigned line = 0; line < lines; line++) {
		buf_addf(&b, "%s line %u:", name, line);
		for (unsigned i = 0; i < 8; i++) {
			h = h * 1103515245u + 12345u;
			buf_addf(&b, " %08x", h);
		}
		buf_adds(&b, eol);
	}
	return buf_detach(&b, NULL);
}

/* Puts messages prefix0..prefix{n-1} straight into the server's Maildir,
 * then has Dovecot index them (one doveadm call for them all). */
static void server_put(struct world *w, const char *prefix, unsigned n)
{
	char *dir = xasprintf("%s/%s/Maildir/.%s/new", w->h->mail_dir, w->h->user,
			      w->folder);
	for (unsigned i = 0; i < n; i++) {
		char *name = xasprintf("%s%u", prefix, i);
		char *path = xasprintf("%s/1700000000.M%uP%s.nettest", dir, i, prefix);
		char *text = netcase_message(name, true);
		FILE *f = fopen(path, "w");
		if (!f || fputs(text, f) < 0 || fclose(f) != 0)
			fail_msg("cannot write %s", path);
		if (chown(path, w->h->mail_uid, w->h->mail_gid) < 0)
			fail_msg("chown %s", path);
		free(text);
		free(path);
		free(name);
	}
	struct error err = ERROR_INIT;
	die_on(harness_doveadm(w->h, NULL, NULL, &err, "force-resync", "-u", w->h->user,
			       w->folder, NULL), &err);
	free(dir);
}

static void local_put(struct world *w, const char *name, const char *letters)
{
	char *path = xasprintf("%s/cur/1700000000.%s.nettest:2,%s", w->path, name, letters);
	char *text = netcase_message(name, false);
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		fail_msg("cannot write %s", path);
	free(text);
	free(path);
}

/* Changes one message on the server, found by its Message-ID. */
static void server_flags_of(struct world *w, const char *name, const char *flags)
{
	char *id = xasprintf("<%s@test>", name);
	struct error err = ERROR_INIT;
	die_on(harness_doveadm(w->h, NULL, NULL, &err, "flags", "replace", "-u", w->h->user,
			       flags, "mailbox", w->folder, "HEADER", "Message-ID", id, NULL),
	       &err);
	free(id);
}

static void server_expunge_of(struct world *w, const char *name)
{
	char *id = xasprintf("<%s@test>", name);
	struct error err = ERROR_INIT;
	die_on(harness_doveadm(w->h, NULL, NULL, &err, "expunge", "-u", w->h->user,
			       "mailbox", w->folder, "HEADER", "Message-ID", id, NULL),
	       &err);
	free(id);
}

void netcase_base(struct world *w)
{
	server_put(w, "s", 8);
}

void netcase_changes(struct world *w)
{
	server_put(w, "n", 6);
	server_flags_of(w, "s0", "\\Seen \\Flagged");
	server_flags_of(w, "s1", "\\Answered");
	server_expunge_of(w, "s2");
	local_put(w, "u0", "S");
	local_put(w, "u1", "");
	local_put(w, "u2", "F");
	local_flags(w, "s3", "FS");
	local_remove(w, "s4");
}

void netcase_prepare(struct world *w)
{
	netcase_base(w);
	world_sync_ok(w);
	netcase_changes(w);
}

char *netcase_config(struct world *w, unsigned port, const char *tls, unsigned timeout_s,
		     unsigned connections)
{
	const struct config_remote *r = &w->cfg.accounts[0].remote;
	char *path = xasprintf("%s/netfault.yaml", w->dir);
	FILE *f = fopen(path, "w");
	if (!f)
		fail_msg("cannot write %s", path);
	/* The same account name, state and root as the world's own config:
	 * the runs share one state. */
	fprintf(f,
		"state_dir: %s\n"
		"accounts:\n"
		"  %s:\n"
		"    remote: {host: 127.0.0.1, port: %u, tls: %s, ca_file: %s,\n"
		"             user: %s, password: \"%s\", timeout: %us, connections: %u}\n"
		"    local: {path: %s}\n"
		"    folders: {include: [\"%s\"]}\n",
		w->cfg.state_dir, w->cfg.accounts[0].name, port, tls,
		r->ca_file, r->user, r->password, timeout_s, connections, w->root,
		w->cfg.accounts[0].folders.include.v[0]);
	if (fchmod(fileno(f), 0600) < 0 || fclose(f) != 0)
		fail_msg("cannot write %s", path);
	return path;
}

static double now_secs(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void netcase_spawn(const char *bin, const char *cfg, const char *log_path,
		   struct netcase_run *r)
{
	/* Everything the child needs is made before fork(): a proxy thread
	 * may hold the allocator's locks. */
	const char *argv[] = {bin, "-c", cfg, "sync", NULL};
	*r = (struct netcase_run){.t0 = now_secs(), .status = -1};
	r->pid = fork();
	if (r->pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (r->pid == 0) {
		int log = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (log < 0 || null < 0 || dup2(null, STDIN_FILENO) < 0 ||
		    dup2(null, STDOUT_FILENO) < 0 || dup2(log, STDERR_FILENO) < 0)
			_exit(126);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
}

void netcase_wait(struct netcase_run *runs, size_t n, int limit_ms)
{
	for (size_t left = n; left;) {
		for (size_t i = 0; i < n; i++) {
			struct netcase_run *r = &runs[i];
			if (r->pid <= 0)
				continue;
			int status;
			pid_t got = waitpid(r->pid, &status, WNOHANG);
			if (got < 0 && errno != EINTR)
				fail_msg("waitpid: %s", strerror(errno));
			if (got == r->pid) {
				r->secs = now_secs() - r->t0;
				r->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
				r->pid = 0;
				left--;
			} else if (!r->hung && (now_secs() - r->t0) * 1000 > limit_ms) {
				r->hung = true;
				kill(r->pid, SIGKILL);
			}
		}
		nanosleep(&(struct timespec){0, 2 * 1000 * 1000}, NULL);
	}
}

/* "<a@test>" -> "a"; NULL for anything else. */
static char *name_of(const char *msgid)
{
	size_t n = msgid ? strlen(msgid) : 0;
	if (n > 7 && msgid[0] == '<' && !strcmp(msgid + n - 6, "@test>"))
		return xstrndup(msgid + 1, n - 7);
	return NULL;
}

static char *without_cr(const char *s, size_t len)
{
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	for (size_t i = 0; i < len; i++)
		if (s[i] != '\r')
			buf_addc(&b, s[i]);
	return buf_detach(&b, NULL);
}

/* The Message-ID header's value in a message's text. */
static char *msgid_in(const char *text)
{
	for (const char *p = text; *p && *p != '\r' && *p != '\n';) {
		size_t len = strcspn(p, "\r\n");
		if (!strncasecmp(p, "Message-ID: ", 12))
			return xstrndup(p + 12, len - 12);
		p += len;
		p += strspn(p, "\r\n") > 2 ? 2 : strspn(p, "\r\n");
	}
	return NULL;
}

/* Whether text (either line end) is exactly the message it names. */
static bool whole(const char *text, size_t len, char **name_r)
{
	char *id = msgid_in(text);
	char *name = name_of(id);
	free(id);
	*name_r = name;
	if (!name)
		return false;
	char *want = netcase_message(name, false);
	char *got = without_cr(text, len);
	bool same = !strcmp(want, got);
	free(want);
	free(got);
	return same;
}

char *netcase_read_file(const char *path, size_t *len_r)
{
	return harness_read_file(path, len_r);
}

static size_t bad_local(struct world *w, struct buf *why)
{
	size_t bad = 0;
	static const char *const subs[] = {"new", "cur"};
	for (size_t s = 0; s < 2; s++) {
		char *dir = xasprintf("%s/%s", w->path, subs[s]);
		DIR *d = opendir(dir);
		for (struct dirent *de; d && (de = readdir(d));) {
			if (de->d_name[0] == '.')
				continue;
			char *path = xasprintf("%s/%s", dir, de->d_name);
			size_t len = 0;
			char *text = netcase_read_file(path, &len);
			char *name = NULL;
			if (!text || !whole(text, len, &name)) {
				bad++;
				buf_addf(why, " local %s/%s (%s, %zu bytes) is not the whole "
					 "message;", subs[s], de->d_name, name ? name : "?", len);
			}
			free(name);
			free(text);
			free(path);
		}
		if (d)
			closedir(d);
		free(dir);
	}
	return bad;
}

static size_t bad_server(const struct harness_msg *msgs, size_t n, struct buf *why)
{
	size_t bad = 0;
	for (size_t i = 0; i < n; i++) {
		const char *text = harness_record_get(&msgs[i].fields, "text");
		char *name = NULL;
		if (!text || !whole(text, strlen(text), &name)) {
			bad++;
			buf_addf(why, " server UID %u (%s) is not the whole message;",
				 msgs[i].uid, name ? name : "?");
		}
		free(name);
	}
	return bad;
}

static bool has_uid(const struct harness_msg *msgs, size_t n, uint32_t uid)
{
	for (size_t i = 0; i < n; i++)
		if (msgs[i].uid == uid)
			return true;
	return false;
}

static size_t bad_state(struct world *w, const struct harness_msg *msgs, size_t n,
			struct buf *why)
{
	struct error err = ERROR_INIT;
	char *db = xasprintf("%s/%s.db", w->cfg.state_dir, w->cfg.accounts[0].name);
	struct state *st;
	die_on(state_open(db, &st, &err), &err);
	free(db);
	struct state_folder sf = {0};
	struct state_msgs rows = {0};
	int r = state_folder_get(st, w->folder, &sf, &err);
	die_on(r, &err);
	if (r == 1)
		die_on(state_msg_load(st, sf.id, &rows, &err), &err);
	size_t bad = 0;
	for (size_t i = 0; i < rows.n; i++) {
		const struct state_msg *m = &rows.msgs[i];
		char *name = name_of(m->message_id);
		const char *nm = name ? name : "?";
		/* The scenario deletes s2 and s4: the run may have done that on
		 * the other side before the row went. */
		bool deleted = !strcmp(nm, "s2") || !strcmp(nm, "s4");
		if (m->local && !deleted) {
			struct maildir_entry e;
			r = maildir_find(w->path, m->local, &e, &err);
			die_on(r, &err);
			if (r == 1)
				maildir_entry_release(&e);
			else {
				bad++;
				buf_addf(why, " state has local file %s for %s, the Maildir "
					 "does not;", m->local, nm);
			}
		}
		if (m->uid && !deleted && !has_uid(msgs, n, m->uid)) {
			bad++;
			buf_addf(why, " state has UID %u for %s, the server does not;",
				 m->uid, nm);
		}
		free(name);
	}
	state_msgs_release(&rows);
	state_folder_release(&sf);
	state_close(st);
	return bad;
}

void netcase_check_durable(struct world *w, size_t *partial_r, size_t *bad_state_r,
			   struct buf *why)
{
	struct harness_msg *msgs;
	size_t n;
	struct error err = ERROR_INIT;
	die_on(harness_fetch(w->h, NULL, w->folder, "text", &msgs, &n, &err), &err);
	*partial_r = bad_local(w, why) + bad_server(msgs, n, why);
	*bad_state_r = bad_state(w, msgs, n, why);
	harness_msgs_free(msgs, n);
}

void netcase_count(const char *want, const char *got, size_t *lost_r,
		   size_t *duplicated_r)
{
	/* Every name in a view follows a space and ends at its colon. */
	char *hay = xasprintf(" %s", got);
	*lost_r = *duplicated_r = 0;
	for (const char *p = want; *p;) {
		char *needle = xasprintf(" %.*s:", (int)strcspn(p, ":"), p);
		size_t seen = 0;
		for (const char *q = hay; (q = strstr(q, needle)); q++)
			seen++;
		*lost_r += seen == 0;
		*duplicated_r += seen > 1 ? seen - 1 : 0;
		free(needle);
		p += strcspn(p, " ");
		p += strspn(p, " ");
	}
	free(hay);
}
