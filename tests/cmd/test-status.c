/* SPDX-License-Identifier: MIT */
/*
 * tidemail status against a state and a Maildir built here with the store
 * API: the exact lines, in-process with a fixed clock and through the
 * real program (argv[1]) with the real one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "maildir.h"
#include "state.h"
#include "store-test.h"

/* 2026-11-22 02:31:00 UTC: the fixed clock of the in-process tests. */
#define T0 INT64_C(1795314660)
#define DAY INT64_C(86400)

static const char *tidemail_path;

struct fixture {
	char *dir, *mail, *config;
	struct config cfg;
};

static char *path_of(const struct fixture *fx, const char *rel)
{
	return xasprintf("%s/%s", fx->mail, rel);
}

static void file_at(const struct fixture *fx, const char *rel)
{
	char *p = path_of(fx, rel);
	st_write(p, "Subject: x\n\nbody\n");
	free(p);
}

static void maildir_at(const struct fixture *fx, const char *rel)
{
	char *p = path_of(fx, rel);
	st_mkmaildir(p);
	free(p);
}

static int64_t folder_at(struct state *st, const char *remote, const char *local,
			 int64_t last_sync)
{
	struct error err = ERROR_INIT;
	int64_t id;
	assert_int_equal(state_folder_add(st, remote, local, &id, &err), 0);
	struct state_folder f = {.id = id, .remote = (char *)remote, .local = (char *)local,
				 .uidvalidity = 7, .last_sync = last_sync};
	assert_int_equal(state_folder_update(st, &f, &err), 0);
	return id;
}

static int64_t folder(struct state *st, const char *name, int64_t last_sync)
{
	return folder_at(st, name, name, last_sync);
}

static void msg(struct state *st, int64_t folder_id, uint32_t uid, const char *local,
		unsigned flags)
{
	struct error err = ERROR_INIT;
	struct state_msg m = {.folder_id = folder_id, .uid = uid, .local = (char *)local,
			      .flags = flags, .local_flags = flags, .size = 17};
	int64_t id;
	assert_int_equal(state_msg_insert(st, &m, &id, &err), 0);
}

static void intent(struct state *st, const char *kind, const char *folder_name,
		   bool done)
{
	struct error err = ERROR_INIT;
	int64_t id;
	assert_int_equal(state_intent_record(st, kind, folder_name, "x", &id, &err), 0);
	if (done)
		assert_int_equal(state_intent_confirm(st, id, &err), 0);
}

/*
 * Account w, last synced at base:
 *   Archive    2 messages, nothing changed, stamp remembered (not read)
 *   Drafts     1 message, the local folder is gone
 *   INBOX      a kept, b removed, c flagged locally, d new, e only on the
 *              server, f only local; an interrupted download
 *   Sent       empty, never completed a sync; two interrupted appends
 *   Lists/dev  local only: 2 files no sync has seen
 *   Trash      local only, excluded by the config: not shown
 * and account v, never synced.
 */
static void build(struct fixture *fx, int64_t base)
{
	fx->dir = st_tmpdir();
	fx->mail = xasprintf("%s/mail", fx->dir);
	fx->config = xasprintf("%s/config.yaml", fx->dir);
	char *yaml = xasprintf(
		"state_dir: %s/state\n"
		"accounts:\n"
		"  w:\n"
		"    remote: {host: 127.0.0.1, user: u, password_command: 'echo x'}\n"
		"    local: {path: %s}\n"
		"    folders: {exclude: [Trash]}\n"
		"  v:\n"
		"    remote: {host: 127.0.0.1, user: u, password_command: 'echo x'}\n"
		"    local: {path: %s/other}\n",
		fx->dir, fx->mail, fx->dir);
	st_write(fx->config, yaml);
	free(yaml);
	struct config_env env = {.home = fx->dir};
	struct error err = ERROR_INIT;
	assert_int_equal(config_load(&fx->cfg, fx->config, &env, &err), 0);

	const char *dirs[] = {"INBOX", "Archive", "Sent", "Lists/dev", "Trash"};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(dirs); i++)
		maildir_at(fx, dirs[i]);
	file_at(fx, "INBOX/cur/a:2,S");
	file_at(fx, "INBOX/cur/c:2,FS");
	file_at(fx, "INBOX/new/d");
	file_at(fx, "INBOX/cur/f:2,S");
	file_at(fx, "Archive/cur/g:2,S");
	file_at(fx, "Archive/cur/h:2,RS");
	file_at(fx, "Lists/dev/new/l1");
	file_at(fx, "Lists/dev/cur/l2:2,S");
	file_at(fx, "Trash/cur/t:2,ST");

	char *db = xasprintf("%s/state/w.db", fx->dir);
	struct state *st;
	assert_int_equal(state_open(db, &st, &err), 0);
	free(db);
	const unsigned S = MAILDIR_FLAG_SEEN;
	int64_t inbox = folder(st, "INBOX", base);
	msg(st, inbox, 1, "a", S);
	msg(st, inbox, 2, "b", S);
	msg(st, inbox, 3, "c", S);
	msg(st, inbox, 4, NULL, S);
	msg(st, inbox, 0, "f", S);
	int64_t archive = folder(st, "Archive", base - 3 * DAY);
	msg(st, archive, 1, "g", S);
	msg(st, archive, 2, "h", S | MAILDIR_FLAG_REPLIED);
	int64_t drafts = folder(st, "Drafts", base - 2 * 3600);
	msg(st, drafts, 1, "z", MAILDIR_FLAG_DRAFT);
	folder(st, "Sent", 0);
	intent(st, "download", "INBOX", false);
	intent(st, "append", "Sent", false);
	intent(st, "append", "INBOX", true);
	intent(st, "create-folder", NULL, false);
	intent(st, "append", "Sent", false);

	/* Archive's stamp is old and remembered: status trusts it.  A file
	 * slipped in behind the same mtimes proves the folder is not read. */
	char *arch = path_of(fx, "Archive");
	char *sub_new = xasprintf("%s/new", arch), *sub_cur = xasprintf("%s/cur", arch);
	file_at(fx, "Archive/cur/hidden:2,S");
	st_set_mtime(sub_new, base - 4 * DAY, 0);
	st_set_mtime(sub_cur, base - 4 * DAY, 0);
	struct state_folder sf;
	assert_int_equal(state_folder_get(st, "Archive", &sf, &err), 1);
	assert_int_equal(maildir_stamp_read(arch, &sf.stamp, &err), 0);
	assert_int_equal(state_folder_update(st, &sf, &err), 0);
	state_folder_release(&sf);
	free(sub_new);
	free(sub_cur);
	free(arch);
	state_close(st);
}

static int setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof(*fx));
	build(fx, T0);
	*state = fx;
	return 0;
}

static void fixture_release(struct fixture *fx)
{
	st_rmtree(fx->dir);
	config_free(&fx->cfg);
	free(fx->dir);
	free(fx->mail);
	free(fx->config);
}

static int teardown(void **state)
{
	fixture_release(*state);
	free(*state);
	return 0;
}

static char *read_stream(FILE *f)
{
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	int c;
	while ((c = fgetc(f)) != EOF)
		buf_addc(&b, (char)c);
	return buf_detach(&b, NULL);
}

/* What status says about w; the three dates are INBOX's, Archive's and
 * Drafts' last sync. */
static char *expected_w(const char *inbox, const char *archive, const char *drafts,
			bool details)
{
	return xasprintf(
		"w: 4 folders, 7 messages on the server, 7 local; last sync %s (3 minutes ago); "
		"5 local changes and 4 intents of an interrupted run pending\n"
		"  Archive: 2 on the server, 2 local; last sync %s (3 days ago); no local changes\n"
		"  Drafts: 1 on the server, 1 local; last sync %s (2 hours ago); local folder missing\n"
		"  INBOX: 4 on the server, 4 local; last sync %s (3 minutes ago); "
		"local changes: 1 new, 1 removed, 1 flag changed; "
		"1 intent of an interrupted run pending (1 download)\n"
		"%s"
		"  Sent: 0 on the server, 0 local; last sync never; no local changes; "
		"2 intents of an interrupted run pending (2 append)\n"
		"  Lists/dev: new local folder, 2 files, not synced yet\n"
		"  (account): 1 intent of an interrupted run pending (1 create-folder)\n",
		inbox, archive, drafts, inbox,
		details ? "    removed: b\n"
			  "    flags: c S -> FS\n"
			  "    new: new/d\n"
			: "");
}

static char *run_account(const struct fixture *fx, const char *name,
			 enum cmd_verbosity v, int64_t now, int *status_r)
{
	struct cmd_globals g = {.verbosity = v};
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	assert_non_null(out);
	*status_r = cmd_status_account(out, &g, &fx->cfg,
				       config_find_account(&fx->cfg, name), now);
	fclose(out);
	return text;
}

/* The whole report of w at 3 minutes past its last sync. */
static void check_w(void **state, enum cmd_verbosity v, bool details)
{
	struct fixture *fx = *state;
	int status;
	char *got = run_account(fx, "w", v, T0 + 180, &status);
	char *want = expected_w("2026-11-22 02:31", "2026-11-19 02:31", "2026-11-22 00:31",
				details);
	assert_string_equal(got, want);
	assert_int_equal(status, EXIT_SYNCED);
	free(got);
	free(want);
}

static void test_report(void **state)
{
	check_w(state, VERBOSITY_NORMAL, false);
}

static void test_verbose_lists_files(void **state)
{
	check_w(state, VERBOSITY_TRACE, true);
}

static void test_quiet_summary_only(void **state)
{
	struct fixture *fx = *state;
	int status;
	char *got = run_account(fx, "w", VERBOSITY_QUIET, T0 + 59, &status);
	assert_string_equal(got, "w: 4 folders, 7 messages on the server, 7 local; "
				 "last sync 2026-11-22 02:31 (just now); "
				 "5 local changes and 4 intents of an interrupted run pending\n");
	free(got);
	/* The clock set back: said, not hidden. */
	got = run_account(fx, "w", VERBOSITY_QUIET, T0 - 60, &status);
	assert_non_null(strstr(got, "last sync 2026-11-22 02:31 (in the future: is the clock right?);"));
	free(got);
	got = run_account(fx, "w", VERBOSITY_QUIET, T0 + 3 * 3600 + 60, &status);
	assert_non_null(strstr(got, "(3 hours ago);"));
	free(got);
	got = run_account(fx, "w", VERBOSITY_QUIET, T0 + 60, &status);
	assert_non_null(strstr(got, "(1 minute ago);"));
	free(got);
}

static void test_never_synced_creates_nothing(void **state)
{
	struct fixture *fx = *state;
	int status;
	char *got = run_account(fx, "v", VERBOSITY_NORMAL, T0, &status);
	char *want = xasprintf("v: never synced (no state file %s/state/v.db)\n", fx->dir);
	assert_string_equal(got, want);
	assert_int_equal(status, EXIT_SYNCED);
	char *db = xasprintf("%s/state/v.db", fx->dir);
	struct stat sb;
	assert_int_equal(stat(db, &sb), -1);
	free(db);
	free(want);
	free(got);
}

/* A running sync holds the account lock; status does not need it. */
static void test_lock_held_by_a_sync(void **state)
{
	struct fixture *fx = *state;
	char *lockpath = xasprintf("%s/state/w.db.lock", fx->dir);
	struct state_lock *lock;
	struct error err = ERROR_INIT;
	assert_int_equal(state_lock_acquire(lockpath, &lock, &err), 0);
	int status;
	char *got = run_account(fx, "w", VERBOSITY_QUIET, T0 + 180, &status);
	assert_int_equal(status, EXIT_SYNCED);
	assert_non_null(strstr(got, "5 local changes and 4 intents"));
	free(got);
	state_lock_release(lock);
	free(lockpath);
}

static void test_root_missing(void **state)
{
	struct fixture *fx = *state;
	char *away = xasprintf("%s/unmounted", fx->dir);
	assert_int_equal(rename(fx->mail, away), 0);
	int status;
	char *got = run_account(fx, "w", VERBOSITY_NORMAL, T0 + 180, &status);
	assert_int_equal(rename(away, fx->mail), 0);
	assert_int_equal(status, EXIT_PARTIAL);
	assert_string_equal(got,
		"w: 4 folders, 7 messages on the server, 7 local; last sync 2026-11-22 02:31 "
		"(3 minutes ago); local root missing\n"
		"  Archive: 2 on the server, 2 local; last sync 2026-11-19 02:31 (3 days ago); "
		"local changes unknown\n"
		"  Drafts: 1 on the server, 1 local; last sync 2026-11-22 00:31 (2 hours ago); "
		"local changes unknown\n"
		"  INBOX: 4 on the server, 4 local; last sync 2026-11-22 02:31 (3 minutes ago); "
		"local changes unknown; 1 intent of an interrupted run pending (1 download)\n"
		"  Sent: 0 on the server, 0 local; last sync never; local changes unknown; "
		"2 intents of an interrupted run pending (2 append)\n"
		"  (account): 1 intent of an interrupted run pending (1 create-folder)\n");
	free(got);
	free(away);
}

static void test_not_a_state_file(void **state)
{
	struct fixture *fx = *state;
	char *db = xasprintf("%s/state/v.db", fx->dir);
	st_write(db, "this is not SQLite, it is a letter to grandma, long enough to "
		     "be more than a header's worth of bytes for sure............\n");
	int status;
	char *got = run_account(fx, "v", VERBOSITY_NORMAL, T0, &status);
	assert_int_equal(status, EXIT_PARTIAL);
	assert_string_equal(got, "");
	assert_int_equal(unlink(db), 0);
	free(got);
	free(db);
}

/* A server whose delimiter is '.': the state's folder Work.Sub lives in
 * the local folder Work/Sub, which is therefore no new local folder. */
static void test_folder_matched_by_local_path(void **state)
{
	(void)state;
	char *dir = st_tmpdir();
	char *yaml = xasprintf("state_dir: %s/state\n"
			       "accounts:\n"
			       "  d:\n"
			       "    remote: {host: 127.0.0.1, user: u, password_command: p}\n"
			       "    local: {path: %s/mail}\n",
			       dir, dir);
	struct config_env env = {.home = dir};
	struct config cfg;
	struct error err = ERROR_INIT;
	assert_int_equal(config_load_string(&cfg, "d.yaml", yaml, strlen(yaml), &env, &err), 0);
	char *sub = xasprintf("%s/mail/Work/Sub", dir);
	st_mkmaildir(sub);
	char *file = xasprintf("%s/cur/k:2,S", sub);
	st_write(file, "Subject: k\n\nk\n");
	char *db = xasprintf("%s/state/d.db", dir);
	struct state *st;
	assert_int_equal(state_open(db, &st, &err), 0);
	msg(st, folder_at(st, "Work.Sub", "Work/Sub", T0), 1, "k", MAILDIR_FLAG_SEEN);
	state_close(st);

	struct cmd_globals g = {0};
	char *got = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&got, &len);
	assert_non_null(out);
	assert_int_equal(cmd_status_account(out, &g, &cfg, &cfg.accounts[0], T0 + 180),
			 EXIT_SYNCED);
	fclose(out);
	assert_string_equal(got,
		"d: 1 folder, 1 message on the server, 1 local; last sync 2026-11-22 02:31 "
		"(3 minutes ago); nothing pending\n"
		"  Work.Sub: 1 on the server, 1 local; last sync 2026-11-22 02:31 "
		"(3 minutes ago); no local changes\n");
	free(got);
	free(db);
	free(file);
	free(sub);
	free(yaml);
	config_free(&cfg);
	st_rmtree(dir);
	free(dir);
}

/* Runs the real program with args (shell words) and TZ=UTC; its stdout
 * and stderr together. */
static char *run_program(const char *args, int *exit_r)
{
	char *cmd = xasprintf("TZ=UTC '%s' %s 2>&1", tidemail_path, args);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char *out = read_stream(p);
	int status = pclose(p);
	assert_true(WIFEXITED(status));
	*exit_r = WEXITSTATUS(status);
	free(cmd);
	return out;
}

/* The real program, the real clock: the state is built 3 minutes ago. */
static void test_program(void **state)
{
	(void)state;
	struct fixture fx = {0};
	int64_t base = time(NULL) - 180;
	build(&fx, base);
	char *dates[3];
	const int64_t when[3] = {base, base - 3 * DAY, base - 2 * 3600};
	for (int i = 0; i < 3; i++) {
		time_t t = (time_t)when[i];
		struct tm tm;
		assert_non_null(gmtime_r(&t, &tm));
		dates[i] = xasprintf("%04d-%02d-%02d %02d:%02d", tm.tm_year + 1900,
				     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min);
	}
	char *args = xasprintf("-c '%s' status w", fx.config);
	int status;
	char *got = run_program(args, &status);
	char *want = expected_w(dates[0], dates[1], dates[2], false);
	assert_string_equal(got, want);
	assert_int_equal(status, EXIT_SYNCED);
	for (int i = 0; i < 3; i++)
		free(dates[i]);
	free(args);
	free(got);
	free(want);
	fixture_release(&fx);
}

/* Runs the program on the fixture's config and checks its exit status;
 * the output is the caller's. */
static char *run_on(const struct fixture *fx, const char *args, int want_exit)
{
	char *full = xasprintf("-c '%s' %s", fx->config, args);
	int status;
	char *got = run_program(full, &status);
	free(full);
	assert_int_equal(status, want_exit);
	return got;
}

/* Every account in the config's order when none is named; -q keeps the
 * summary lines only; usage and config errors exit 2. */
static void test_program_arguments(void **state)
{
	struct fixture *fx = *state;
	char *v_line = xasprintf("v: never synced (no state file %s/state/v.db)\n", fx->dir);

	char *got = run_on(fx, "status", EXIT_SYNCED);
	const char *tail = strstr(got, "  (account): 1 intent of an interrupted run pending "
				       "(1 create-folder)\n");
	assert_memory_equal(got, "w: 4 folders, ", 14);
	assert_non_null(tail);
	assert_string_equal(strchr(tail, '\n') + 1, v_line);
	free(got);

	got = run_on(fx, "-q status", EXIT_SYNCED);
	tail = strchr(got, '\n');
	assert_memory_equal(got, "w: 4 folders, ", 14);
	assert_string_equal(tail + 1, v_line);
	free(got);

	got = run_on(fx, "status v", EXIT_SYNCED);
	assert_string_equal(got, v_line);
	free(got);

	char *want = xasprintf("tidemail: %s: no account 'nope' in the config\n", fx->config);
	got = run_on(fx, "status v nope", EXIT_USAGE);
	assert_string_equal(got, want);
	free(got);
	free(want);

	got = run_on(fx, "status --frobnicate", EXIT_USAGE);
	assert_string_equal(got, "tidemail: status: unknown option '--frobnicate' "
				 "(see tidemail status --help)\n");
	free(got);
	got = run_on(fx, "status -xy", EXIT_USAGE);
	assert_string_equal(got, "tidemail: status: unknown option '-x' "
				 "(see tidemail status --help)\n");
	free(got);

	got = run_on(fx, "status --help", EXIT_SYNCED);
	assert_string_equal(got, "usage: tidemail [-c FILE] [-v | -q] status [ACCOUNT...]\n");
	free(got);

	want = xasprintf("tidemail: %s/none.yaml: cannot open the config file: "
			 "No such file or directory\n", fx->dir);
	char *args = xasprintf("-c '%s/none.yaml' status", fx->dir);
	int status;
	got = run_program(args, &status);
	assert_int_equal(status, EXIT_USAGE);
	assert_string_equal(got, want);
	free(got);
	free(want);
	free(args);
	free(v_line);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s PATH-TO-TIDEMAIL\n", argv[0]);
		return 2;
	}
	tidemail_path = argv[1];
	/* Local time is what status prints; the expected lines are UTC. */
	setenv("TZ", "UTC", 1);
	tzset();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report),
		cmocka_unit_test(test_verbose_lists_files),
		cmocka_unit_test(test_quiet_summary_only),
		cmocka_unit_test(test_never_synced_creates_nothing),
		cmocka_unit_test(test_lock_held_by_a_sync),
		cmocka_unit_test(test_root_missing),
		cmocka_unit_test(test_not_a_state_file),
		cmocka_unit_test(test_folder_matched_by_local_path),
		cmocka_unit_test(test_program),
		cmocka_unit_test(test_program_arguments),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
