/* SPDX-License-Identifier: MIT */
/*
 * The safety guards of SPEC.md section 5, through the real tidemail
 * program (issue 9, point 5): every case an unmounted disk, a slip of the
 * hand or a server glitch can make, each refused with 0 deletions on
 * either side, exit 1 and one line naming the folder and how much would
 * go; the same refusal on the next run; then with --force the run goes
 * through and deletes exactly what the change asked for.  The local root
 * guard is the exception: SPEC.md says a missing root is *never* read as
 * "everything was deleted", so --force does not pass it either.
 *
 * Each case has two folders: the victim (12 messages) and a bystander
 * (10) that gets a new server message before the refused run, to show
 * that the other folders of the account still sync (exit 1 is "some
 * folder was refused", not "nothing happened").
 *
 * Two rows show where the guard stops by design: exactly half of a
 * folder deleted, and a folder under 10 messages, both go through.
 *
 * tests/sync/test-sync-e2e.c checks the missing root and the max_delete
 * guard on sync_account() in the same process; these cases run the
 * program and check its exit status and exact stderr lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chaos.h"

static const char *exe;
static unsigned seq;

/* What the cases add up to, for the figures line. */
static struct {
	unsigned cases, refused, refusals_seen, forced, passed_by_design;
	size_t unforced_deletions, forced_deletions;
	double max_refused;
	/* Exit statuses seen without and with --force: bit n for status n. */
	uint64_t exits_unforced, exits_forced;
} fig;

static void seen_exit(uint64_t *set, int status)
{
	*set |= 1ULL << (status < 63 ? status : 63);
}

static char *exits(uint64_t set)
{
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	for (int i = 0; i < 64; i++)
		if (set & (1ULL << i))
			buf_addf(&b, "%s%d", b.len ? "," : "", i);
	return buf_detach(&b, NULL);
}

struct gw {
	struct world *w;
	char *config;
	char *folders[2]; /* the victim, the bystander */
	size_t victim_n;
};

enum { VICTIM, BYSTANDER };

struct run {
	int status;
	char *out, *err;
	double seconds;
};

static struct run run(struct gw *g, bool force)
{
	const char *const plain[] = {"sync", NULL};
	const char *const forced[] = {"sync", "--force", NULL};
	struct run r;
	double t0 = chaos_now();
	r.status = chaos_run(exe, g->config, &r.out, &r.err, force ? forced : plain);
	r.seconds = chaos_now() - t0;
	return r;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* Messages per folder on each side: counts[side][folder]. */
struct counts {
	size_t n[2][2];
};

static struct counts count(struct gw *g)
{
	struct counts c = {{{0}}};
	const char *const *f = (const char *const *)g->folders;
	struct chaos_side s[2];
	chaos_server_snapshot(g->w->h, f, 2, &s[0]);
	chaos_local_snapshot(g->w->root, f, 2, &s[1]);
	for (int side = 0; side < 2; side++) {
		for (size_t i = 0; i < s[side].n; i++)
			c.n[side][s[side].v[i].folder]++;
		chaos_side_release(&s[side]);
	}
	return c;
}

/* Messages that went missing from before to after, both sides. */
static size_t deletions(const struct counts *before, const struct counts *after)
{
	size_t d = 0;
	for (int side = 0; side < 2; side++)
		for (int f = 0; f < 2; f++)
			if (after->n[side][f] < before->n[side][f])
				d += before->n[side][f] - after->n[side][f];
	return d;
}

static void flag_all_seen(struct gw *g, const char *folder)
{
	struct error err = ERROR_INIT;
	if (harness_doveadm(g->w->h, NULL, NULL, &err, "flags", "add", "-u", g->w->h->user,
			    "\\Seen", "mailbox", folder, "all", NULL) < 0)
		fail_msg("%s", err.msg);
}

/* A synced account: the victim with victim_n messages, all \Seen (so
 * that they live in cur/), and the bystander with bystander_n. */
static struct gw *gw_new2(void **state, size_t victim_n, size_t bystander_n)
{
	struct harness *h = *state;
	if (!h->pid)
		skip();
	struct gw *g = xcalloc(1, sizeof(*g));
	char *glob = xasprintf("G%u-*", ++seq);
	g->w = world_new(h, glob, NULL);
	g->config = chaos_config_write(g->w, glob, NULL, NULL);
	g->folders[VICTIM] = xasprintf("G%u-v", seq);
	g->folders[BYSTANDER] = xasprintf("G%u-b", seq);
	g->victim_n = victim_n;
	world_use(g->w, g->folders[BYSTANDER], true);
	server_bulk(g->w, "b", (unsigned)bystander_n);
	world_use(g->w, g->folders[VICTIM], true);
	server_bulk(g->w, "v", (unsigned)victim_n);
	flag_all_seen(g, g->folders[VICTIM]);
	struct run r = run(g, false);
	if (r.status != 0)
		fail_msg("first sync exited %d: %s", r.status, r.err);
	run_free(&r);
	struct counts c = count(g);
	assert_int_equal(c.n[1][VICTIM], victim_n);
	assert_int_equal(c.n[1][BYSTANDER], bystander_n);
	free(glob);
	fig.cases++;
	return g;
}

static struct gw *gw_new(void **state, size_t victim_n)
{
	return gw_new2(state, victim_n, 10);
}

static void gw_free(struct gw *g)
{
	world_free(g->w);
	free(g->config);
	free(g->folders[0]);
	free(g->folders[1]);
	free(g);
}

/* The bystander gets one new message on the server. */
static void bystander_mail(struct gw *g)
{
	world_use(g->w, g->folders[BYSTANDER], false);
	server_add(g->w, "news", NULL);
	world_use(g->w, g->folders[VICTIM], false);
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of text, sorted (folders may be refused in any order). */
static char *sorted_lines(const char *text)
{
	char *copy = xstrdup(text);
	char **lines = NULL;
	size_t n = 0, cap = 0;
	for (char *p = copy; *p;) {
		char *end = strchr(p, '\n');
		if (end)
			*end = '\0';
		lines = xgrow(lines, sizeof(*lines), n + 1, &cap);
		lines[n++] = p;
		p = end ? end + 1 : p + strlen(p);
	}
	if (n)
		qsort(lines, n, sizeof(*lines), cmp_line);
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	for (size_t i = 0; i < n; i++)
		buf_addf(&b, "%s\n", lines[i]);
	free(lines);
	free(copy);
	return buf_detach(&b, NULL);
}

/*
 * Runs twice without --force: each must exit 1 with exactly the lines
 * want (sorted; one per refused folder), print nothing on stdout, and
 * delete nothing.  bystander_synced: the other folder still took its
 * new message.
 */
static void assert_refused(struct gw *g, const char *want, bool bystander_synced)
{
	struct counts before = count(g);
	char *sorted_want = sorted_lines(want);
	for (int i = 0; i < 2; i++) {
		struct run r = run(g, false);
		char *got = sorted_lines(r.err);
		if (r.status != 1 || strcmp(got, sorted_want) || *r.out)
			fail_msg("run %d without --force: exit %d, stderr:\n%s\nwant exit 1 "
				 "and:\n%s", i + 1, r.status, r.err, sorted_want);
		fig.refusals_seen += (unsigned)chaos_count_lines(r.err);
		seen_exit(&fig.exits_unforced, r.status);
		if (r.seconds > fig.max_refused)
			fig.max_refused = r.seconds;
		free(got);
		run_free(&r);
	}
	struct counts after = count(g);
	size_t gone = deletions(&before, &after);
	fig.unforced_deletions += gone;
	assert_int_equal(gone, 0);
	if (bystander_synced)
		assert_int_equal(after.n[1][BYSTANDER], 11);
	fig.refused++;
	free(sorted_want);
}

/* With --force: exit 0 and exactly `want` deletions. */
static void assert_forced(struct gw *g, size_t want)
{
	struct counts before = count(g);
	struct run r = run(g, true);
	seen_exit(&fig.exits_forced, r.status);
	if (r.status != 0)
		fail_msg("the run with --force exited %d: %s", r.status, r.err);
	run_free(&r);
	struct counts after = count(g);
	size_t gone = deletions(&before, &after);
	assert_int_equal(gone, want);
	fig.forced_deletions += gone;
	fig.forced++;
}

/* A plain run goes through now; both sides hold want in the victim. */
static void assert_settled(struct gw *g, size_t want)
{
	struct run r = run(g, false);
	if (r.status != 0)
		fail_msg("the run after exited %d: %s", r.status, r.err);
	run_free(&r);
	struct counts c = count(g);
	assert_int_equal(c.n[0][VICTIM], want);
	assert_int_equal(c.n[1][VICTIM], want);
	assert_int_equal(c.n[0][BYSTANDER], c.n[1][BYSTANDER]);
}

static char *folder_refusal(struct gw *g, int f, size_t n, const char *where)
{
	return xasprintf("tidemail: account t, folder %s: refusing to delete the folder %s "
			 "with %zu messages (it was removed %s; more than max_delete "
			 "50%%); run with --force to allow it\n", g->folders[f],
			 g->folders[f], n, where);
}

static char *message_refusal(struct gw *g, size_t n, size_t of, const char *side)
{
	return xasprintf("tidemail: account t, folder %s: refusing to delete %zu of %zu "
			 "%s messages (more than max_delete 50%%); run with --force to "
			 "allow it\n", g->folders[VICTIM], n, of, side);
}

static char *root_refusal(struct gw *g)
{
	return xasprintf("tidemail: account t: local root %s is missing (an unmounted "
			 "disk?); refusing to sync rather than take it for deleted mail\n",
			 g->w->root);
}

/* Removes the files of folder f (n of them, or all when n is 0). */
static void remove_local(struct gw *g, int f, size_t n)
{
	static const char *const subs[] = {"cur", "new"};
	size_t done = 0;
	for (size_t s = 0; s < UTIL_ARRAY_LEN(subs); s++) {
		char *dir = xasprintf("%s/%s/%s", g->w->root, g->folders[f], subs[s]);
		DIR *d = opendir(dir);
		struct dirent *de;
		while (d && (de = readdir(d)) && (!n || done < n)) {
			if (de->d_name[0] == '.')
				continue;
			char *path = xasprintf("%s/%s", dir, de->d_name);
			assert_int_equal(unlink(path), 0);
			free(path);
			done++;
		}
		if (d)
			closedir(d);
		free(dir);
	}
	assert_true(!n || done == n);
}

/* Expunges the first n messages of the victim on the server (0: all). */
static void expunge_server(struct gw *g, size_t n)
{
	struct error err = ERROR_INIT;
	/* A bare sequence set is a doveadm search key, as in IMAP SEARCH. */
	char *set = n ? xasprintf("1:%zu", n) : xstrdup("all");
	if (harness_doveadm(g->w->h, NULL, NULL, &err, "expunge", "-u", g->w->h->user,
			    "mailbox", g->folders[VICTIM], set, NULL) < 0)
		fail_msg("%s", err.msg);
	free(set);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) < 0 ? -1 : 0;
}

static void rm_rf(const char *path)
{
	assert_int_equal(nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* ---- the cases ----------------------------------------------------------- */

/* An unmounted disk: the root is gone.  Never passed, not even by --force. */
static void root_missing(void **state)
{
	struct gw *g = gw_new(state, 12);
	char *away = xasprintf("%s.away", g->w->root);
	assert_int_equal(rename(g->w->root, away), 0);
	char *want = root_refusal(g);
	assert_refused(g, want, false);
	struct counts before = count(g);
	struct run r = run(g, true);
	seen_exit(&fig.exits_forced, r.status);
	assert_int_equal(r.status, 1);
	assert_string_equal(r.err, want);
	run_free(&r);
	struct counts after = count(g);
	assert_int_equal(deletions(&before, &after), 0);
	assert_int_equal(rename(away, g->w->root), 0);
	assert_settled(g, 12);
	free(want);
	free(away);
	gw_free(g);
}

/* The root is a symlink to a mount point that is not there. */
static void root_dangling_symlink(void **state)
{
	struct gw *g = gw_new(state, 12);
	char *away = xasprintf("%s.away", g->w->root);
	char *gone = xasprintf("%s.unmounted", g->w->root);
	assert_int_equal(rename(g->w->root, away), 0);
	assert_int_equal(symlink(gone, g->w->root), 0);
	char *want = root_refusal(g);
	assert_refused(g, want, false);
	struct run r = run(g, true);
	seen_exit(&fig.exits_forced, r.status);
	assert_int_equal(r.status, 1);
	assert_string_equal(r.err, want);
	run_free(&r);
	/* The mount comes back: the link leads to the mail again. */
	assert_int_equal(rename(away, gone), 0);
	assert_settled(g, 12);
	free(want);
	free(gone);
	free(away);
	gw_free(g);
}

static void empty_the_root(struct gw *g)
{
	for (int f = 0; f < 2; f++) {
		char *dir = xasprintf("%s/%s", g->w->root, g->folders[f]);
		rm_rf(dir);
		free(dir);
	}
}

static char *empty_root_refusal(struct gw *g, size_t messages)
{
	return xasprintf("tidemail: account t: local root %s is empty but the state "
			 "knows %zu messages in 2 folders (an unmounted disk?); refusing "
			 "to sync rather than take them for deleted mail; run with "
			 "--force to allow it\n", g->w->root, messages);
}

/* The root is there but empty: what an unmounted disk leaves behind (its
 * mount point).  The account is refused; --force deletes both folders. */
static void root_empty(void **state)
{
	struct gw *g = gw_new(state, 12);
	empty_the_root(g);
	char *want = empty_root_refusal(g, 22);
	assert_refused(g, want, false);
	assert_forced(g, 22);
	struct error err = ERROR_INIT;
	struct harness_status st;
	assert_true(harness_mailbox_status(g->w->h, NULL, g->folders[VICTIM], &st, &err) < 0);
	error_clear(&err);
	free(want);
	gw_free(g);
}

/* The same with folders under 10 messages each, which the folder guard
 * lets go: the account-wide count still refuses it.  (Until the fix in
 * sync/engine.c, both server folders were deleted, exit 0.) */
static void root_empty_small_folders(void **state)
{
	struct gw *g = gw_new2(state, 6, 6);
	empty_the_root(g);
	char *want = empty_root_refusal(g, 12);
	assert_refused(g, want, false);
	assert_forced(g, 12);
	free(want);
	gw_free(g);
}

/* cur/ gone: the directory is no longer a Maildir folder. */
static void cur_gone(void **state)
{
	struct gw *g = gw_new(state, 12);
	char *cur = xasprintf("%s/%s/cur", g->w->root, g->folders[VICTIM]);
	rm_rf(cur);
	bystander_mail(g);
	char *want = folder_refusal(g, VICTIM, 12, "locally");
	assert_refused(g, want, true);
	assert_forced(g, 12);
	free(want);
	free(cur);
	gw_free(g);
}

/* n of the victim's 12 messages deleted on one side (0: all of them):
 * refused, then forced through. */
static void messages_guard(void **state, bool on_server, size_t n)
{
	struct gw *g = gw_new(state, 12);
	if (on_server)
		expunge_server(g, n);
	else
		remove_local(g, VICTIM, n);
	size_t gone = n ? n : 12;
	bystander_mail(g);
	char *want = message_refusal(g, gone, 12, on_server ? "local" : "server");
	assert_refused(g, want, true);
	assert_forced(g, gone);
	assert_settled(g, 12 - gone);
	free(want);
	gw_free(g);
}

/* Every file of the folder removed locally, the folder itself kept. */
static void folder_emptied_locally(void **state)
{
	messages_guard(state, false, 0);
}

/* More than half of the files removed locally. */
static void most_removed_locally(void **state)
{
	messages_guard(state, false, 7);
}

/* The server answers with an empty folder. */
static void server_folder_empty(void **state)
{
	messages_guard(state, true, 0);
}

/* More than half of the folder expunged on the server. */
static void most_expunged_on_server(void **state)
{
	messages_guard(state, true, 7);
}

/* The folder deleted on the server. */
static void server_folder_deleted(void **state)
{
	struct gw *g = gw_new(state, 12);
	struct error err = ERROR_INIT;
	assert_int_equal(harness_mailbox_delete(g->w->h, NULL, g->folders[VICTIM], &err), 0);
	bystander_mail(g);
	char *want = folder_refusal(g, VICTIM, 12, "on the server");
	assert_refused(g, want, true);
	assert_forced(g, 12);
	char *dir = xasprintf("%s/%s", g->w->root, g->folders[VICTIM]);
	struct stat st;
	assert_true(stat(dir, &st) < 0 && errno == ENOENT);
	free(dir);
	free(want);
	gw_free(g);
}

/* size messages in the victim, n of them expunged on the server (0:
 * all): no refusal, the run goes through and deletes them locally. */
static void passes(void **state, size_t size, size_t n)
{
	struct gw *g = gw_new(state, size);
	expunge_server(g, n);
	size_t gone = n ? n : size;
	struct counts before = count(g);
	struct run r = run(g, false);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err, "");
	run_free(&r);
	struct counts after = count(g);
	assert_int_equal(deletions(&before, &after), gone);
	assert_int_equal(after.n[1][VICTIM], size - gone);
	fig.passed_by_design++;
	gw_free(g);
}

/* Exactly half is not "more than half": no refusal. */
static void half_expunged_passes(void **state)
{
	passes(state, 12, 6);
}

/* A folder under 10 messages is not guarded (SPEC.md section 5). */
static void small_folder_passes(void **state)
{
	passes(state, 9, 0);
}

static int setup(void **state)
{
	return world_setup(state, NULL);
}

static int teardown(void **state)
{
	char *unforced = exits(fig.exits_unforced), *forced = exits(fig.exits_forced);
	if (fig.cases)
		printf("figures: guards cases=%u refused=%u refusal_lines=%u "
		       "deletions_without_force=%zu exit_without_force=%s forced=%u "
		       "exit_with_force=%s forced_deletions=%zu passed_by_design=%u "
		       "max_refused_ms=%.0f\n", fig.cases, fig.refused, fig.refusals_seen,
		       fig.unforced_deletions, unforced, fig.forced, forced,
		       fig.forced_deletions, fig.passed_by_design, fig.max_refused * 1000);
	free(unforced);
	free(forced);
	return world_teardown(state);
}

int main(int argc, char **argv)
{
	exe = chaos_program_arg(argc, argv);
	if (!exe)
		return 2;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(root_missing),
		cmocka_unit_test(root_dangling_symlink),
		cmocka_unit_test(root_empty),
		cmocka_unit_test(root_empty_small_folders),
		cmocka_unit_test(cur_gone),
		cmocka_unit_test(folder_emptied_locally),
		cmocka_unit_test(most_removed_locally),
		cmocka_unit_test(server_folder_empty),
		cmocka_unit_test(most_expunged_on_server),
		cmocka_unit_test(server_folder_deleted),
		cmocka_unit_test(half_expunged_passes),
		cmocka_unit_test(small_folder_passes),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
