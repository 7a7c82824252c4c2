/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by the state-*.c files, and the migration runner the
 * tests drive directly.  Not for other layers.
 */
#ifndef TIDEMAIL_STORE_STATE_PRIVATE_H
#define TIDEMAIL_STORE_STATE_PRIVATE_H

#include <sqlite3.h>

#include "state.h"

/* Every statement the module runs, prepared on first use and kept. */
enum state_stmt {
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_FOLDER_ADD,
	STMT_FOLDER_GET,
	STMT_FOLDER_UPDATE,
	STMT_FOLDER_DELETE,
	STMT_FOLDER_LIST,
	STMT_MSG_INSERT,
	STMT_MSG_UPDATE,
	STMT_MSG_DELETE,
	STMT_MSG_BY_UID,
	STMT_MSG_BY_LOCAL,
	STMT_MSG_BY_EMAILID,
	STMT_MSG_BY_MESSAGE_ID,
	STMT_MSG_LOAD,
	STMT_MSG_COUNT,
	STMT_INTENT_RECORD,
	STMT_INTENT_CONFIRM,
	STMT_INTENT_PENDING,
	STMT_INTENT_PRUNE,
	STMT_COUNT
};

struct state {
	sqlite3 *db;
	char *path;
	bool in_txn;
	int64_t busy_since_ns;  /* when the current wait for a lock began */
	sqlite3_stmt *stmts[STMT_COUNT];
};

/* The statement for id, reset and with no bindings, prepared from sql the
 * first time.  NULL with err set if it does not prepare. */
sqlite3_stmt *state_stmt(struct state *st, enum state_stmt id, const char *sql,
			 struct error *err);
/* Records SQLite's message for what; constraint violations get
 * constraint_reach (a clash of names is not the account's fault),
 * everything else ERR_ACCOUNT. */
int state_db_error(struct state *st, const char *what, int rc,
		   enum err_reach constraint_reach, struct error *err);
/* Runs a statement that returns no rows. */
int state_exec(struct state *st, sqlite3_stmt *s, const char *what,
	       enum err_reach constraint_reach, struct error *err);
/* Binds text, or NULL for a NULL pointer. */
void state_bind_text(sqlite3_stmt *s, int col, const char *text);
/* A copy of a text column, NULL for SQL NULL. */
char *state_column_text(sqlite3_stmt *s, int col);

/* One step of the schema: run sql to go from version - 1 to version. */
struct state_migration {
	int version;
	const char *sql;
};

/* The real schema history, STATE_SCHEMA_VERSION entries. */
extern const struct state_migration state_migrations[];
extern const size_t state_migrations_count;

/*
 * Brings db from its user_version up to the last migration's, all in one
 * transaction: either every step is applied (and user_version and
 * application_id written) or none is.  A file newer than the last
 * migration is refused.
 */
int state_migrate(sqlite3 *db, const char *path,
		  const struct state_migration *steps, size_t n,
		  struct error *err);

#endif
