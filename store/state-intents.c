/* SPDX-License-Identifier: MIT */
/* The intent log: recorded before a side effect, confirmed after it is
 * durable, replayed when a run was interrupted between the two. */
#include "state-private.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int state_intent_record(struct state *st, const char *kind, const char *folder,
			const char *params, int64_t *id_r, struct error *err)
{
	sqlite3_stmt *s = state_stmt(st, STMT_INTENT_RECORD,
				     "INSERT INTO intents (kind, folder, params, created)"
				     " VALUES (?, ?, ?, ?)",
				     err);
	if (!s)
		return -ERR_ACCOUNT;
	state_bind_text(s, 1, kind);
	state_bind_text(s, 2, folder);
	state_bind_text(s, 3, params ? params : "");
	sqlite3_bind_int64(s, 4, (sqlite3_int64)time(NULL));
	/* An empty kind breaks the CHECK: the caller's mistake, but the
	 * effect must not happen unrecorded, so it stops the account. */
	int r = state_exec(st, s, "record intent", ERR_ACCOUNT, err);
	if (r == 0)
		*id_r = sqlite3_last_insert_rowid(st->db);
	return r;
}

int state_intent_confirm(struct state *st, int64_t id, struct error *err)
{
	sqlite3_stmt *s = state_stmt(st, STMT_INTENT_CONFIRM,
				     "UPDATE intents SET state = 'done', done_at = ?2"
				     " WHERE id = ?1 AND state = 'pending'",
				     err);
	if (!s)
		return -ERR_ACCOUNT;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)time(NULL));
	return state_exec(st, s, "confirm intent", ERR_ACCOUNT, err);
}

int state_intent_pending(struct state *st, struct state_intent **list_r,
			 size_t *n_r, struct error *err)
{
	*list_r = NULL;
	*n_r = 0;
	sqlite3_stmt *s = state_stmt(st, STMT_INTENT_PENDING,
				     "SELECT id, kind, folder, params, created FROM intents"
				     " WHERE state = 'pending' ORDER BY id",
				     err);
	if (!s)
		return -ERR_ACCOUNT;
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*list_r = xgrow(*list_r, sizeof(**list_r), *n_r + 1, &cap);
		struct state_intent *in = &(*list_r)[(*n_r)++];
		in->id = sqlite3_column_int64(s, 0);
		in->kind = state_column_text(s, 1);
		in->folder = state_column_text(s, 2);
		in->params = state_column_text(s, 3);
		in->created = sqlite3_column_int64(s, 4);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		state_intents_free(*list_r, *n_r);
		*list_r = NULL;
		*n_r = 0;
		return state_db_error(st, "pending intents", rc, ERR_ACCOUNT, err);
	}
	return 0;
}

int state_intent_prune(struct state *st, struct error *err)
{
	sqlite3_stmt *s = state_stmt(st, STMT_INTENT_PRUNE,
				     "DELETE FROM intents WHERE state = 'done'", err);
	if (!s)
		return -ERR_ACCOUNT;
	return state_exec(st, s, "prune intents", ERR_ACCOUNT, err);
}

void state_intents_free(struct state_intent *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(list[i].kind);
		free(list[i].folder);
		free(list[i].params);
	}
	free(list);
}
