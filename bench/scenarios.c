/* SPDX-License-Identifier: MIT */
/*
 * Scenarios (a)-(g) of issue 8.  Each data set has its own Dovecot, and
 * each tool its own local side and state, so the tools never see each
 * other's work.  Runs alternate (tidemail first in odd rounds, mbsync
 * first in even ones) so that warm caches favour neither.
 *
 * Before every timed run the local side is put in place (emptied,
 * restored from a snapshot, or left as the last run left it) and then
 * the program waits 1.1 s: mbsync does not trust a Maildir directory
 * whose mtime is in the current second and sleeps a second before
 * reading it; without the wait, whoever runs right after a restore pays
 * that second.  Both tools get the same wait, outside the timed part.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

/* A data set: a server and both tools' sides of it. */
struct dataset {
	char *dir;
	struct server srv;
	struct tool tools[TOOL_COUNT];
	struct corpus_folder *folders;
	size_t nfolders;
	struct corpus_stats stats;
	/* Snapshots for PREP_RESTORE. */
	char *snap_server;
	char *snap_tool[TOOL_COUNT];
};

enum prep { PREP_RESET, PREP_KEEP, PREP_RESTORE };

static bool wanted(const struct bench *b, char id)
{
	return !b->only || strchr(b->only, id);
}

/* Folder sizes falling off like 1/(i+2): a big INBOX, a long tail. */
static void spread(struct corpus_folder *f, size_t n, unsigned total)
{
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += 1.0 / (double)(i + 2);
	unsigned given = 0;
	for (size_t i = 0; i < n; i++) {
		f[i].count = (unsigned)((double)total / (double)(i + 2) / sum);
		given += f[i].count;
	}
	f[0].count += total - given;
}

static void dataset_free(struct dataset *ds)
{
	server_stop(&ds->srv);
	for (int k = 0; k < TOOL_COUNT; k++) {
		tool_free(&ds->tools[k]);
		free(ds->snap_tool[k]);
	}
	for (size_t i = 0; i < ds->nfolders; i++)
		free((char *)ds->folders[i].name);
	free(ds->folders);
	free(ds->snap_server);
	free(ds->dir);
	memset(ds, 0, sizeof(*ds));
}

/* Starts a server for names[] (total messages spread over them), fills
 * it and sets up both tools.  Takes ownership of nothing. */
static int dataset_open(struct bench *b, struct dataset *ds, const char *name,
			const char *const *names, size_t n, unsigned total,
			enum corpus_mix mix, uint64_t big, struct error *err)
{
	memset(ds, 0, sizeof(*ds));
	ds->dir = xasprintf("%s/%s", b->dir, name);
	ds->folders = xcalloc(n, sizeof(*ds->folders));
	ds->nfolders = n;
	for (size_t i = 0; i < n; i++)
		ds->folders[i].name = xstrdup(names[i]);
	spread(ds->folders, n, total);
	char *srv = xasprintf("%s/server", ds->dir);
	int ret = util_mkdir_p(ds->dir, 0755);
	if (ret < 0)
		ret = error_errno(err, ERR_ACCOUNT, errno, "mkdir %s", ds->dir);
	if (ret == 0)
		ret = server_start(&ds->srv, b->tm_dovecot, srv, err);
	free(srv);
	double t0 = measure_now();
	if (ret == 0)
		ret = server_fill(&ds->srv, ds->folders, n, b->seed, mix, big, &ds->stats, err);
	if (ret == 0)
		printf("data set %s: %u messages, %.1f MB, %u with attachments, %zu folders "
		       "(written and indexed in %.1f s)\n",
		       name, ds->stats.messages, (double)ds->stats.bytes / 1e6,
		       ds->stats.attachments, n, measure_now() - t0);
	for (int k = 0; k < TOOL_COUNT && ret == 0; k++) {
		char *dir = xasprintf("%s/%s", ds->dir, k == TOOL_TIDEMAIL ? "tidemail" : "mbsync");
		ret = tool_init(&ds->tools[k], (enum tool_kind)k,
				k == TOOL_TIDEMAIL ? b->tidemail : b->mbsync, &ds->srv, dir, err);
		free(dir);
	}
	fflush(stdout);
	return ret < 0 ? -1 : 0;
}

static int prepare(struct dataset *ds, int k, enum prep prep, struct error *err)
{
	if (prep == PREP_RESET)
		return tool_reset(&ds->tools[k], err);
	if (prep == PREP_RESTORE) {
		if (server_restore(&ds->srv, ds->snap_server, err) < 0)
			return -1;
		return tool_restore(&ds->tools[k], ds->snap_tool[k], err);
	}
	return 0;
}

/* Compares every folder of the data set, Message-ID by Message-ID with
 * the flags, between the server's Maildir and tool k's; the number of
 * folders that differ. */
static int verify(struct dataset *ds, int k, int *differ_r, struct error *err)
{
	*differ_r = 0;
	for (size_t i = 0; i < ds->nfolders; i++) {
		char *sdir = server_folder_dir(&ds->srv, ds->folders[i].name);
		char *ldir = xasprintf("%s/%s", ds->tools[k].local, ds->folders[i].name);
		long long *a = NULL, *b = NULL;
		size_t na = 0, nb = 0;
		int ret = tree_indexes(sdir, &a, &na, err);
		if (ret == 0)
			ret = tree_indexes(ldir, &b, &nb, err);
		if (ret == 0 && (na != nb || (na && memcmp(a, b, na * sizeof(*a)))))
			(*differ_r)++;
		free(a);
		free(b);
		free(sdir);
		free(ldir);
		if (ret < 0)
			return -1;
	}
	return 0;
}

/* One timed sync of tool k, recorded in r and printed. */
static int timed(struct bench *b, struct dataset *ds, struct result *r, int k,
		 enum prep prep, struct error *err)
{
	if (prepare(ds, k, prep, err) < 0)
		return -1;
	usleep(1100000);
	struct tool *t = &ds->tools[k];
	unsigned n = r->nruns[k];
	char *log = xasprintf("%s/%c-%s-%u.log", ds->dir, r->id, t->name, n + 1);
	struct sample s;
	int ret = tool_sync(t, &ds->srv, log, &s, err);
	if (ret == 0 && n < BENCH_MAX_RUNS)
		r->runs[k][r->nruns[k]++] = s;
	if (ret == 0)
		ret = tree_count(t->local, &r->files[k], &r->local_bytes[k], err);
	if (ret == 0)
		ret = server_count(&ds->srv, "*", &r->server_msgs, err);
	if (ret == 0)
		printf("  (%c) %-8s run %u: wall %7.3f s  cpu %7.3f s  all cpu %6.2f s  rss %7.1f MB  "
		       "server out %8.2f MB (bodies %8.2f MB, %u sessions)  exit %d  "
		       "local %u files / server %u%s%s%s\n",
		       r->id, t->name, n + 1, s.wall_s, s.cpu_s, s.machine_cpu_s,
		       (double)s.maxrss_kb / 1024.0,
		       (double)s.out_bytes / 1e6, (double)s.body_bytes / 1e6, s.sessions,
		       s.status, r->files[k], r->server_msgs,
		       s.sleeps ? "  (slept 1 s for a fresh Maildir)" : "",
		       s.status ? "  see " : "", s.status ? log : "");
	fflush(stdout);
	free(log);
	(void)b;
	return ret;
}

static int rounds(struct bench *b, struct dataset *ds, struct result *r, unsigned n,
		  enum prep prep, struct error *err)
{
	printf("(%c) %s\n", r->id, r->title);
	fflush(stdout);
	for (unsigned i = 0; i < n; i++) {
		int first = i % 2 ? TOOL_MBSYNC : TOOL_TIDEMAIL;
		if (timed(b, ds, r, first, prep, err) < 0 ||
		    timed(b, ds, r, 1 - first, prep, err) < 0)
			return -1;
	}
	/* Each local side is as its tool's last run left it. */
	for (int k = 0; k < TOOL_COUNT; k++)
		if (verify(ds, k, &r->differ[k], err) < 0)
			return -1;
	r->done = true;
	return 0;
}

/* An untimed sync of each tool (the base of later scenarios); failure to
 * converge is an error, since everything after it would be wrong. */
static int base_sync(struct dataset *ds, struct error *err)
{
	for (int k = 0; k < TOOL_COUNT; k++) {
		struct tool *t = &ds->tools[k];
		char *log = xasprintf("%s/base-%s.log", ds->dir, t->name);
		struct sample s;
		unsigned files, want;
		uint64_t bytes;
		int ret = tool_reset(t, err);
		if (ret == 0)
			ret = tool_sync(t, &ds->srv, log, &s, err);
		if (ret == 0)
			ret = tree_count(t->local, &files, &bytes, err);
		if (ret == 0)
			ret = server_count(&ds->srv, "*", &want, err);
		if (ret == 0)
			printf("  base sync %-8s: wall %.3f s, exit %d, %u files for %u messages\n",
			       t->name, s.wall_s, s.status, files, want);
		int differ = 0;
		if (ret == 0)
			ret = verify(ds, k, &differ, err);
		if (ret == 0 && (s.status != 0 || files != want || differ))
			ret = error_set(err, ERR_ACCOUNT, "%s did not converge (see %s)", t->name,
					log);
		free(log);
		if (ret < 0)
			return -1;
	}
	fflush(stdout);
	return 0;
}

/* Snapshots of the server and both local sides under name. */
static int snapshot(struct dataset *ds, const char *name, struct error *err)
{
	free(ds->snap_server);
	ds->snap_server = xasprintf("%s/snap-%s-server", ds->dir, name);
	if (server_save(&ds->srv, ds->snap_server, err) < 0)
		return -1;
	for (int k = 0; k < TOOL_COUNT; k++) {
		free(ds->snap_tool[k]);
		ds->snap_tool[k] = xasprintf("%s/snap-%s-%s", ds->dir, name, ds->tools[k].name);
		if (tool_save(&ds->tools[k], ds->snap_tool[k], err) < 0)
			return -1;
	}
	return 0;
}

/* The UIDs of folder, ascending (doveadm search prints "GUID UID"). */
static int folder_uids(struct server *s, const char *folder, uint32_t **uids_r,
		       size_t *n_r, struct error *err)
{
	struct buf out = BUF_INIT(BUF_UNLIMITED);
	const char *args[] = {"search", "-u", s->user, "mailbox", folder, "all", NULL};
	int ret = server_doveadm_argv(s, args, &out, err);
	size_t n = 0, cap = 0;
	uint32_t *uids = NULL;
	for (const char *line = out.data; ret == 0 && *line;) {
		const char *sp = strchr(line, ' ');
		const char *nl = strchr(line, '\n');
		if (!nl)
			nl = line + strlen(line);
		if (sp && sp < nl) {
			uids = xgrow(uids, sizeof(*uids), n + 1, &cap);
			uids[n++] = (uint32_t)strtoul(sp + 1, NULL, 10);
		}
		line = *nl ? nl + 1 : nl;
	}
	buf_release(&out);
	*uids_r = uids;
	*n_r = n;
	return ret;
}

/* "1,5,9" of the UIDs whose position i has i % modulo == rest, or NULL. */
static char *uid_set(const uint32_t *uids, size_t n, size_t modulo, size_t rest,
		     unsigned *count_r)
{
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	for (size_t i = rest; i < n; i += modulo) {
		buf_addf(&b, "%s%" PRIu32, b.len ? "," : "", uids[i]);
		(*count_r)++;
	}
	if (!b.len)
		return NULL;
	return buf_detach(&b, NULL);
}

/* (d)'s server side: 1% flagged, 0.5% expunged, 1% new in every folder. */
static int server_changes(struct bench *b, struct dataset *ds, struct error *err)
{
	unsigned flagged = 0, expunged = 0, added = 0;
	uint64_t index = ds->stats.messages;
	struct corpus_stats st = {0};
	int ret = 0;
	for (size_t i = 0; i < ds->nfolders && ret == 0; i++) {
		const char *f = ds->folders[i].name;
		uint32_t *uids;
		size_t n;
		if (folder_uids(&ds->srv, f, &uids, &n, err) < 0)
			return -1;
		char *fl = uid_set(uids, n, 100, 7, &flagged);
		char *ex = uid_set(uids, n, 200, 101, &expunged);
		if (fl)
			ret = server_doveadm(&ds->srv, err, "flags", "add", "-u", ds->srv.user,
					     "\\Flagged", "mailbox", f, "uid", fl, NULL);
		if (ret == 0 && ex)
			ret = server_doveadm(&ds->srv, err, "expunge", "-u", ds->srv.user,
					     "mailbox", f, "uid", ex, NULL);
		free(fl);
		free(ex);
		free(uids);
		unsigned nnew = ds->folders[i].count / 100 ? ds->folders[i].count / 100 : 1;
		char *dir = server_folder_dir(&ds->srv, f);
		if (ret == 0)
			ret = corpus_write(dir, b->seed, index, nnew, CORPUS_REALISTIC, 0, true,
					   ds->srv.uid, ds->srv.gid, &st, err);
		free(dir);
		index += nnew;
		added += nnew;
	}
	if (ret == 0)
		ret = server_index(&ds->srv, err);
	if (ret == 0)
		printf("  server: \\Flagged added to %u, %u expunged, %u new (%.1f MB)\n", flagged,
		       expunged, added, (double)st.bytes / 1e6);
	return ret;
}

/* (f): moves messages round a ring of the four largest folders, at most
 * a quarter of any folder (tidemail's max_delete guard is 50%). */
static int server_moves(struct dataset *ds, unsigned total, unsigned *moved_r,
			struct error *err)
{
	enum { RING = 4 };
	char *sets[RING] = {NULL};
	int ret = 0;
	*moved_r = 0;
	/* All sets first: a message moved in gets a new UID, so it is not
	 * picked again from its new folder. */
	for (size_t i = 0; i < RING && ret == 0; i++) {
		uint32_t *uids;
		size_t n;
		if (folder_uids(&ds->srv, ds->folders[i].name, &uids, &n, err) < 0)
			break;
		size_t want = total / RING, cap = n / 4;
		if (want > cap)
			want = cap;
		if (want) {
			size_t step = n / want;
			sets[i] = uid_set(uids, want * step, step, step / 2, moved_r);
		}
		free(uids);
	}
	for (size_t i = 0; i < RING && ret == 0; i++)
		if (sets[i])
			ret = server_doveadm(&ds->srv, err, "move", "-u", ds->srv.user,
					     ds->folders[(i + 1) % RING].name, "mailbox",
					     ds->folders[i].name, "uid", sets[i], NULL);
	for (size_t i = 0; i < RING; i++)
		free(sets[i]);
	if (ret == 0)
		ret = server_index(&ds->srv, err);
	return ret < 0 ? -1 : 0;
}

static const char *const b_folders[] = {
	"INBOX", "Archive/2025", "Lists/debian-devel", "Sent", "Archive/2024",
	"Lists/dovecot", "Archive/2023", "Work", "Archive/2022", "Lists/lkml",
	"Archive/2021", "Work/Projects", "Archive/2020", "Receipts", "Archive/2019",
	"Archive/2018", "Travel", "Archive/2017", "Drafts", "Archive/2016",
};

static void set_title(struct result *r, char *title)
{
	free(r->title);
	r->title = title;
}

static int run_a(struct bench *b, struct error *err)
{
	struct result *r = &b->results[0];
	const char *const inbox[] = {"INBOX"};
	struct dataset ds;
	unsigned n = b->quick ? 500 : 10000;
	int ret = dataset_open(b, &ds, "a", inbox, 1, n, CORPUS_REALISTIC, 0, err);
	if (ret == 0) {
		set_title(r, xasprintf("initial pull of %u messages (%.0f MB) in INBOX into an "
				       "empty Maildir",
				       n, (double)ds.stats.bytes / 1e6));
		ret = rounds(b, &ds, r, b->heavy_runs, PREP_RESET, err);
	}
	dataset_free(&ds);
	return ret;
}

static int run_bcdf(struct bench *b, struct error *err)
{
	struct dataset ds;
	unsigned n = b->quick ? 1000 : 20000;
	int ret = dataset_open(b, &ds, "b", b_folders, UTIL_ARRAY_LEN(b_folders), n,
			       CORPUS_REALISTIC, 0, err);
	struct result *rb = &b->results[1], *rc = &b->results[2];
	struct result *rd = &b->results[3], *rf = &b->results[5];
	if (ret == 0 && wanted(b, 'b')) {
		set_title(rb, xasprintf("initial pull of %zu folders holding %u messages (%.0f MB)",
					UTIL_ARRAY_LEN(b_folders), n,
					(double)ds.stats.bytes / 1e6));
		ret = rounds(b, &ds, rb, b->heavy_runs, PREP_RESET, err);
	} else if (ret == 0) {
		ret = base_sync(&ds, err);
	}
	if (ret == 0)
		ret = snapshot(&ds, "synced", err);
	if (ret == 0 && wanted(b, 'c')) {
		set_title(rc, xasprintf("no-op resync of (b): %u messages in %zu folders", n,
					UTIL_ARRAY_LEN(b_folders)));
		ret = rounds(b, &ds, rc, b->light_runs, PREP_KEEP, err);
	}
	if (ret == 0 && wanted(b, 'd')) {
		set_title(rd, xstrdup("resync of (b) after 1% server flag changes, 1% new server "
				      "messages, 0.5% server expunges, 1% local flag changes"));
		unsigned changed[TOOL_COUNT] = {0};
		ret = server_changes(b, &ds, err);
		for (int k = 0; k < TOOL_COUNT && ret == 0; k++)
			ret = tree_toggle_flagged(ds.tools[k].local, 100, 42, &changed[k], err);
		if (ret == 0) {
			printf("  local: \\Flagged toggled on %u files (tidemail) and %u (mbsync)\n",
			       changed[0], changed[1]);
			ret = snapshot(&ds, "changed", err);
		}
		if (ret == 0)
			ret = rounds(b, &ds, rd, b->light_runs, PREP_RESTORE, err);
		/* (f) starts again from the synced state. */
		free(ds.snap_server);
		ds.snap_server = xasprintf("%s/snap-synced-server", ds.dir);
		for (int k = 0; k < TOOL_COUNT && ret == 0; k++) {
			free(ds.snap_tool[k]);
			ds.snap_tool[k] = xasprintf("%s/snap-synced-%s", ds.dir, ds.tools[k].name);
		}
		if (ret == 0)
			ret = server_restore(&ds.srv, ds.snap_server, err);
	}
	if (ret == 0 && wanted(b, 'f')) {
		unsigned moved = 0;
		ret = server_moves(&ds, b->quick ? 50 : 1000, &moved, err);
		if (ret == 0) {
			set_title(rf, xasprintf("%u messages moved between 4 folders on the server, "
						"then sync",
						moved));
			free(ds.snap_server);
			ds.snap_server = xasprintf("%s/snap-moved-server", ds.dir);
			ret = server_save(&ds.srv, ds.snap_server, err);
		}
		if (ret == 0)
			ret = rounds(b, &ds, rf, b->light_runs, PREP_RESTORE, err);
	}
	dataset_free(&ds);
	return ret;
}

static int run_e(struct bench *b, struct error *err)
{
	struct result *r = &b->results[4];
	const char *const big[] = {"Big"};
	struct dataset ds;
	uint64_t size = b->quick ? 5000000 : 50000000;
	int ret = dataset_open(b, &ds, "e", big, 1, 1, CORPUS_REALISTIC, size, err);
	if (ret == 0) {
		set_title(r, xasprintf("initial sync of one folder holding one %.0f MB message "
				       "(peak memory)",
				       (double)ds.stats.bytes / 1e6));
		ret = rounds(b, &ds, r, b->heavy_runs, PREP_RESET, err);
	}
	dataset_free(&ds);
	return ret;
}

static int run_g(struct bench *b, struct error *err)
{
	struct result *r = &b->results[6];
	enum { FOLDERS = 50 };
	char *names[FOLDERS];
	names[0] = xstrdup("INBOX");
	names[1] = xstrdup("Sent");
	for (int i = 2; i < FOLDERS; i++)
		names[i] = i % 2 ? xasprintf("Lists/list-%02d", i / 2)
				 : xasprintf("Archive/%d", 2026 - i / 2);
	struct dataset ds;
	unsigned n = b->quick ? 5000 : 200000;
	int ret = dataset_open(b, &ds, "g", (const char *const *)names, FOLDERS, n,
			       CORPUS_TEXT, 0, err);
	for (int i = 0; i < FOLDERS; i++)
		free(names[i]);
	if (ret == 0) {
		printf("(g) base: one first sync of each tool (untimed for the table)\n");
		ret = base_sync(&ds, err);
	}
	if (ret == 0) {
		set_title(r, xasprintf("no-op resync of %u messages (%.0f MB) in %d folders", n,
				       (double)ds.stats.bytes / 1e6, FOLDERS));
		ret = rounds(b, &ds, r, b->light_runs, PREP_KEEP, err);
	}
	dataset_free(&ds);
	return ret;
}

int scenarios_run(struct bench *b, struct error *err)
{
	for (int i = 0; i < 7; i++)
		b->results[i].id = (char)('a' + i);
	int failed = 0;
	struct {
		const char *ids;
		int (*fn)(struct bench *, struct error *);
	} steps[] = {{"a", run_a}, {"bcdf", run_bcdf}, {"e", run_e}, {"g", run_g}};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(steps); i++) {
		bool any = false;
		for (const char *p = steps[i].ids; *p; p++)
			any |= wanted(b, *p);
		if (!any)
			continue;
		/* A failed data set is reported and the others still run. */
		if (steps[i].fn(b, err) < 0) {
			fprintf(stderr, "bench-sync: scenarios %s: %s\n", steps[i].ids,
				err->msg ? err->msg : "failed");
			error_clear(err);
			failed = 1;
		}
	}
	return failed ? -1 : 0;
}
