/* SPDX-License-Identifier: MIT */
/*
 * Opening the state file: permissions, pragmas, the application id check,
 * migrations; the statement cache and transactions.
 */
#include "state-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* How long a writer waits for another connection (a concurrent `status`,
 * or another folder's worker) before giving up. */
#define STATE_BUSY_TIMEOUT_MS 10000
/* The longest nap between two tries for a busy database. */
#define STATE_BUSY_NAP_MAX_NS 1000000

/*
 * The schema, one entry per version.  A released entry is never edited:
 * a change is a new entry, so that every older file can be brought up
 * to date.  STATE_SCHEMA_VERSION is the last version here.
 */
const struct state_migration state_migrations[] = {
	{1,
	 "CREATE TABLE folders ("
	 " id INTEGER PRIMARY KEY,"
	 " remote TEXT NOT NULL UNIQUE,"
	 " local TEXT NOT NULL UNIQUE,"
	 " uidvalidity INTEGER NOT NULL DEFAULT 0,"
	 " uidnext INTEGER NOT NULL DEFAULT 0,"
	 " highestmodseq INTEGER NOT NULL DEFAULT 0,"
	 " new_mtime_ns INTEGER NOT NULL DEFAULT 0,"
	 " cur_mtime_ns INTEGER NOT NULL DEFAULT 0,"
	 " last_sync INTEGER NOT NULL DEFAULT 0"
	 ") STRICT;"
	 "CREATE TABLE messages ("
	 " id INTEGER PRIMARY KEY,"
	 " folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,"
	 " uid INTEGER CHECK (uid > 0),"
	 " local_name TEXT CHECK (local_name <> ''),"
	 " flags INTEGER NOT NULL DEFAULT 0,"
	 " keywords TEXT,"
	 " modseq INTEGER NOT NULL DEFAULT 0,"
	 " size INTEGER NOT NULL DEFAULT 0,"
	 " message_id TEXT,"
	 " emailid TEXT,"
	 " internal_date INTEGER NOT NULL DEFAULT 0,"
	 " CHECK (uid IS NOT NULL OR local_name IS NOT NULL)"
	 ") STRICT;"
	 "CREATE UNIQUE INDEX messages_by_uid ON messages(folder_id, uid);"
	 "CREATE UNIQUE INDEX messages_by_folder_local ON messages(folder_id, local_name);"
	 "CREATE INDEX messages_by_local ON messages(local_name)"
	 " WHERE local_name IS NOT NULL;"
	 "CREATE INDEX messages_by_message_id ON messages(message_id)"
	 " WHERE message_id IS NOT NULL;"
	 "CREATE INDEX messages_by_emailid ON messages(emailid)"
	 " WHERE emailid IS NOT NULL;"
	 "CREATE TABLE intents ("
	 " id INTEGER PRIMARY KEY,"
	 " kind TEXT NOT NULL CHECK (kind <> ''),"
	 " folder TEXT,"
	 " params TEXT NOT NULL DEFAULT '',"
	 " state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done')),"
	 " created INTEGER NOT NULL,"
	 " done_at INTEGER"
	 ") STRICT;"
	 "CREATE INDEX intents_pending ON intents(id) WHERE state = 'pending';"},
	/* Each side's flags apart, so that a divergence a setting causes is
	 * remembered instead of being seen again on every run. */
	{2,
	 "ALTER TABLE messages ADD COLUMN local_flags INTEGER NOT NULL DEFAULT 0;"
	 "UPDATE messages SET local_flags = flags;"},
	/* What the last run could not do, for tidemail status. */
	{3,
	 "ALTER TABLE folders ADD COLUMN refused TEXT;"
	 "ALTER TABLE folders ADD COLUMN skipped INTEGER NOT NULL DEFAULT 0;"},
	/* How many of a folder's rows have a UID, kept by triggers in the
	 * same transaction as the rows: a no-op run reads one number per
	 * folder instead of counting rows, whose cost grew with the
	 * mailbox. */
	{4,
	 "ALTER TABLE folders ADD COLUMN with_uid INTEGER NOT NULL DEFAULT 0;"
	 "UPDATE folders SET with_uid = (SELECT count(uid) FROM messages"
	 " WHERE folder_id = folders.id);"
	 "CREATE TRIGGER with_uid_insert AFTER INSERT ON messages"
	 " WHEN NEW.uid IS NOT NULL BEGIN"
	 " UPDATE folders SET with_uid = with_uid + 1 WHERE id = NEW.folder_id; END;"
	 "CREATE TRIGGER with_uid_delete AFTER DELETE ON messages"
	 " WHEN OLD.uid IS NOT NULL BEGIN"
	 " UPDATE folders SET with_uid = with_uid - 1 WHERE id = OLD.folder_id; END;"
	 "CREATE TRIGGER with_uid_update AFTER UPDATE OF uid, folder_id ON messages"
	 " BEGIN"
	 " UPDATE folders SET with_uid = with_uid - 1"
	 "  WHERE id = OLD.folder_id AND OLD.uid IS NOT NULL;"
	 " UPDATE folders SET with_uid = with_uid + 1"
	 "  WHERE id = NEW.folder_id AND NEW.uid IS NOT NULL; END;"},
};

const size_t state_migrations_count = UTIL_ARRAY_LEN(state_migrations);

_Static_assert(sizeof(state_migrations) / sizeof(state_migrations[0]) ==
		       STATE_SCHEMA_VERSION,
	       "one migration per schema version");

static int pragma_int(sqlite3 *db, const char *sql, int64_t *v_r)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*v_r = sqlite3_column_int64(s, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	return rc;
}

static int db_fail(sqlite3 *db, const char *path, const char *what,
		   struct error *err)
{
	return error_set(err, ERR_ACCOUNT, "state %s: %s: %s", path, what,
			 sqlite3_errmsg(db));
}

int state_migrate(sqlite3 *db, const char *path,
		  const struct state_migration *steps, size_t n,
		  struct error *err)
{
	/* A state already at the latest version is only read: a sync with
	 * nothing to do then writes (and fsyncs) nothing at all. */
	int64_t cur_version = 0, cur_app = 0;
	if (n > 0 &&
	    pragma_int(db, "PRAGMA user_version", &cur_version) == SQLITE_OK &&
	    pragma_int(db, "PRAGMA application_id", &cur_app) == SQLITE_OK &&
	    cur_app == STATE_APPLICATION_ID && cur_version == steps[n - 1].version)
		return 0;
	/* IMMEDIATE: the version is read under the write lock, so two
	 * processes never both run the same migration. */
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(db, path, "begin migration", err);
	int64_t version = 0, app = 0, tables = 0;
	int r = 0;
	if (pragma_int(db, "PRAGMA user_version", &version) != SQLITE_OK ||
	    pragma_int(db, "PRAGMA application_id", &app) != SQLITE_OK ||
	    pragma_int(db, "SELECT count(*) FROM sqlite_schema", &tables) != SQLITE_OK) {
		r = db_fail(db, path, "read header", err);
	} else if (app != 0 && app != STATE_APPLICATION_ID) {
		r = error_set(err, ERR_ACCOUNT,
			      "state %s: not a tidemail state file (application id %#llx)",
			      path, (unsigned long long)app);
	} else if (app == 0 && (version != 0 || tables != 0)) {
		/* A database of something else that happens to be SQLite. */
		r = error_set(err, ERR_ACCOUNT,
			      "state %s: not a tidemail state file (no application id)",
			      path);
	} else if (n > 0 && version > steps[n - 1].version) {
		r = error_set(err, ERR_ACCOUNT,
			      "state %s: schema version %lld is newer than this "
			      "tidemail knows (%d)",
			      path, (long long)version, steps[n - 1].version);
	}
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (steps[i].version <= version)
			continue;
		char *msg = NULL;
		if (sqlite3_exec(db, steps[i].sql, NULL, NULL, &msg) != SQLITE_OK)
			r = error_set(err, ERR_ACCOUNT,
				      "state %s: migration to version %d: %s", path,
				      steps[i].version, msg ? msg : "failed");
		sqlite3_free(msg);
		version = steps[i].version;
	}
	if (r == 0) {
		char *sql = xasprintf("PRAGMA user_version = %lld; "
				      "PRAGMA application_id = %d",
				      (long long)version, STATE_APPLICATION_ID);
		if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
			r = db_fail(db, path, "write version", err);
		free(sql);
	}
	if (r == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		r = db_fail(db, path, "commit migration", err);
	if (r < 0)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

/* Creates the folder (0700) and the file (0600) before SQLite opens it:
 * SQLite gives its -wal and -shm files the database file's mode. */
static int prepare_file(const char *path, struct error *err)
{
	const char *slash = strrchr(path, '/');
	if (slash && slash != path) {
		char *dir = xstrndup(path, (size_t)(slash - path));
		int r = util_mkdir_p(dir, 0700);
		int e = errno;
		free(dir);
		if (r < 0)
			return error_errno(err, ERR_ACCOUNT, e, "state folder of %s", path);
	}
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return error_errno(err, ERR_ACCOUNT, errno, "state %s", path);
	struct stat st;
	int r = 0;
	if (fstat(fd, &st) < 0 || ((st.st_mode & 077) && fchmod(fd, 0600) < 0))
		r = error_errno(err, ERR_ACCOUNT, errno, "state %s", path);
	close(fd);
	return r;
}

/*
 * synchronous = FULL, on purpose.  In WAL mode NORMAL loses the last
 * commits on power failure (not on a crash of the process).  The intent
 * log is only worth having if an intent is on disk before the effect it
 * announces: a download recorded under NORMAL could be lost together
 * with its intent while the file it wrote survives, and the next run
 * would upload that file as new and download the message again.  The
 * price is one fsync per commit, and commits are batched.
 */
static const char *const state_pragmas =
	"PRAGMA foreign_keys = ON;"
	"PRAGMA synchronous = FULL;"
	/* A statement journal (every INSERT whose trigger keeps with_uid)
	 * stays in memory instead of spilling into a file in /var/tmp. */
	"PRAGMA temp_store = MEMORY;";

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * The folders' workers are connections of one process to one file, and
 * each holds the write lock for a commit of a few milliseconds.  SQLite's
 * own busy timeout naps 1, 2, 5, 10, 15, 20, 25 ms and more between
 * tries: a worker waiting for a lock freed after 1 ms slept 10 or 25
 * (the bench's scenario d spent more time asleep than working).  Naps
 * here start at 50 us and grow to 1 ms; the deadline is the same.
 */
static int on_busy(void *ctx, int count)
{
	struct state *st = ctx;
	int64_t now = now_ns();
	if (count == 0)
		st->busy_since_ns = now;
	else if (now - st->busy_since_ns > (int64_t)STATE_BUSY_TIMEOUT_MS * 1000000)
		return 0;
	int64_t nap = count < 5 ? 50000 << count : STATE_BUSY_NAP_MAX_NS;
	if (nap > STATE_BUSY_NAP_MAX_NS)
		nap = STATE_BUSY_NAP_MAX_NS;
	struct timespec ts = {0, (long)nap};
	nanosleep(&ts, NULL);
	return 1;
}

int state_open(const char *path, struct state **st_r, struct error *err)
{
	*st_r = NULL;
	int r = prepare_file(path, err);
	if (r < 0)
		return r;
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
				 NULL);
	if (rc != SQLITE_OK) {
		r = db ? db_fail(db, path, "open", err)
		       : error_set(err, ERR_ACCOUNT, "state %s: cannot open", path);
		sqlite3_close(db);
		return r;
	}
	sqlite3_extended_result_codes(db, 1);
	struct state *st = xcalloc(1, sizeof(*st));
	st->db = db;
	sqlite3_busy_handler(db, on_busy, st);
	/* The header check comes first so that a foreign file is refused
	 * before anything (WAL mode included) is written to it. */
	int64_t app = 0;
	char *mode = NULL;
	if (pragma_int(db, "PRAGMA application_id", &app) != SQLITE_OK)
		r = db_fail(db, path, "read", err);
	else if (app != 0 && app != STATE_APPLICATION_ID)
		r = error_set(err, ERR_ACCOUNT,
			      "state %s: not a tidemail state file (application id %#llx)",
			      path, (unsigned long long)app);
	if (r == 0) {
		sqlite3_stmt *s;
		if (sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &s, NULL) ==
			    SQLITE_OK &&
		    sqlite3_step(s) == SQLITE_ROW)
			mode = state_column_text(s, 0);
		sqlite3_finalize(s);
		if (!mode || strcmp(mode, "wal") != 0)
			r = db_fail(db, path, "switch to WAL", err);
		free(mode);
	}
	if (r == 0 && sqlite3_exec(db, state_pragmas, NULL, NULL, NULL) != SQLITE_OK)
		r = db_fail(db, path, "set pragmas", err);
	if (r == 0)
		r = state_migrate(db, path, state_migrations, state_migrations_count,
				  err);
	if (r < 0) {
		sqlite3_close(db);
		free(st);
		return r;
	}
	st->path = xstrdup(path);
	*st_r = st;
	return 0;
}

void state_close(struct state *st)
{
	if (!st)
		return;
	if (st->in_txn)
		state_rollback(st);
	for (size_t i = 0; i < STMT_COUNT; i++)
		sqlite3_finalize(st->stmts[i]);
	sqlite3_close(st->db);
	free(st->path);
	free(st);
}

sqlite3_stmt *state_stmt(struct state *st, enum state_stmt id, const char *sql,
			 struct error *err)
{
	sqlite3_stmt *s = st->stmts[id];
	if (s) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		return s;
	}
	int rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
	if (rc != SQLITE_OK) {
		state_db_error(st, "prepare", rc, ERR_ACCOUNT, err);
		return NULL;
	}
	st->stmts[id] = s;
	return s;
}

int state_db_error(struct state *st, const char *what, int rc,
		   enum err_reach constraint_reach, struct error *err)
{
	enum err_reach reach = (rc & 0xff) == SQLITE_CONSTRAINT ? constraint_reach
							     : ERR_ACCOUNT;
	return error_set(err, reach, "state %s: %s: %s", st->path, what,
			 sqlite3_errmsg(st->db));
}

int state_exec(struct state *st, sqlite3_stmt *s, const char *what,
	       enum err_reach constraint_reach, struct error *err)
{
	int rc = sqlite3_step(s);
	int r = 0;
	if (rc != SQLITE_DONE)
		r = state_db_error(st, what, rc, constraint_reach, err);
	sqlite3_reset(s);
	return r;
}

void state_bind_text(sqlite3_stmt *s, int col, const char *text)
{
	if (text)
		sqlite3_bind_text(s, col, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, col);
}

char *state_column_text(sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	if (!t)
		return NULL;
	return xstrndup((const char *)t, (size_t)sqlite3_column_bytes(s, col));
}

/* ---- transactions ------------------------------------------------------- */

static int run_simple(struct state *st, enum state_stmt id, const char *sql,
		      struct error *err)
{
	sqlite3_stmt *s = state_stmt(st, id, sql, err);
	if (!s)
		return -ERR_ACCOUNT;
	return state_exec(st, s, sql, ERR_ACCOUNT, err);
}

int state_begin(struct state *st, struct error *err)
{
	if (st->in_txn)
		return error_set(err, ERR_ACCOUNT, "state %s: transaction already open",
				 st->path);
	/* IMMEDIATE takes the write lock now, so a busy database shows at
	 * the start of a batch and never as a failed COMMIT after it. */
	int r = run_simple(st, STMT_BEGIN, "BEGIN IMMEDIATE", err);
	if (r == 0)
		st->in_txn = true;
	return r;
}

int state_commit(struct state *st, struct error *err)
{
	if (!st->in_txn)
		return error_set(err, ERR_ACCOUNT, "state %s: no transaction open",
				 st->path);
	int r = run_simple(st, STMT_COMMIT, "COMMIT", err);
	if (r == 0)
		st->in_txn = false;
	return r;
}

void state_rollback(struct state *st)
{
	if (!st->in_txn)
		return;
	/* Reset every statement first: a statement still stepping would
	 * keep the transaction's read open. */
	for (size_t i = 0; i < STMT_COUNT; i++)
		if (st->stmts[i])
			sqlite3_reset(st->stmts[i]);
	run_simple(st, STMT_ROLLBACK, "ROLLBACK", NULL);
	st->in_txn = false;
}
