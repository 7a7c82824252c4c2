/* SPDX-License-Identifier: MIT */
/* The folders table: one row per synced folder pair. */
#include "state-private.h"

#include <stdlib.h>
#include <string.h>

#define FOLDER_COLS                                                            \
	"id, remote, local, uidvalidity, uidnext, highestmodseq, new_mtime_ns, " \
	"cur_mtime_ns, last_sync, refused, skipped"

static void folder_from_row(sqlite3_stmt *s, struct state_folder *f)
{
	f->id = sqlite3_column_int64(s, 0);
	f->remote = state_column_text(s, 1);
	f->local = state_column_text(s, 2);
	f->uidvalidity = (uint32_t)sqlite3_column_int64(s, 3);
	f->uidnext = (uint32_t)sqlite3_column_int64(s, 4);
	f->highestmodseq = (uint64_t)sqlite3_column_int64(s, 5);
	f->stamp.new_ns = sqlite3_column_int64(s, 6);
	f->stamp.cur_ns = sqlite3_column_int64(s, 7);
	f->last_sync = sqlite3_column_int64(s, 8);
	f->refused = state_column_text(s, 9);
	f->skipped = (uint32_t)sqlite3_column_int64(s, 10);
}

int state_folder_add(struct state *st, const char *remote, const char *local,
		     int64_t *id_r, struct error *err)
{
	sqlite3_stmt *s = state_stmt(st, STMT_FOLDER_ADD,
				     "INSERT INTO folders (remote, local) VALUES (?, ?)",
				     err);
	if (!s)
		return -ERR_ACCOUNT;
	state_bind_text(s, 1, remote);
	state_bind_text(s, 2, local);
	int r = state_exec(st, s, "add folder", ERR_FOLDER, err);
	if (r < 0)
		return error_prefix(err, "folder %s", remote);
	*id_r = sqlite3_last_insert_rowid(st->db);
	return 0;
}

int state_folder_get(struct state *st, const char *remote,
		     struct state_folder *f_r, struct error *err)
{
	memset(f_r, 0, sizeof(*f_r));
	sqlite3_stmt *s = state_stmt(st, STMT_FOLDER_GET,
				     "SELECT " FOLDER_COLS " FROM folders WHERE remote = ?",
				     err);
	if (!s)
		return -ERR_ACCOUNT;
	state_bind_text(s, 1, remote);
	int rc = sqlite3_step(s);
	int r = 0;
	if (rc == SQLITE_ROW) {
		folder_from_row(s, f_r);
		r = 1;
	} else if (rc != SQLITE_DONE) {
		r = state_db_error(st, "get folder", rc, ERR_ACCOUNT, err);
	}
	sqlite3_reset(s);
	return r;
}

int state_folder_update(struct state *st, const struct state_folder *f,
			struct error *err)
{
	sqlite3_stmt *s = state_stmt(st, STMT_FOLDER_UPDATE,
				     "UPDATE folders SET remote = ?2, local = ?3,"
				     " uidvalidity = ?4, uidnext = ?5, highestmodseq = ?6,"
				     " new_mtime_ns = ?7, cur_mtime_ns = ?8, last_sync = ?9,"
				     " refused = ?10, skipped = ?11 WHERE id = ?1",
				     err);
	if (!s)
		return -ERR_ACCOUNT;
	sqlite3_bind_int64(s, 1, f->id);
	state_bind_text(s, 2, f->remote);
	state_bind_text(s, 3, f->local);
	sqlite3_bind_int64(s, 4, f->uidvalidity);
	sqlite3_bind_int64(s, 5, f->uidnext);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)f->highestmodseq);
	sqlite3_bind_int64(s, 7, f->stamp.new_ns);
	sqlite3_bind_int64(s, 8, f->stamp.cur_ns);
	sqlite3_bind_int64(s, 9, f->last_sync);
	state_bind_text(s, 10, f->refused);
	sqlite3_bind_int64(s, 11, f->skipped);
	int r = state_exec(st, s, "update folder", ERR_FOLDER, err);
	if (r < 0)
		return error_prefix(err, "folder %s", f->remote);
	if (sqlite3_changes(st->db) != 1)
		return error_set(err, ERR_FOLDER, "state %s: folder %s: no row %lld",
				 st->path, f->remote, (long long)f->id);
	return 0;
}

int state_folder_delete(struct state *st, int64_t id, struct error *err)
{
	sqlite3_stmt *s = state_stmt(st, STMT_FOLDER_DELETE,
				     "DELETE FROM folders WHERE id = ?", err);
	if (!s)
		return -ERR_ACCOUNT;
	sqlite3_bind_int64(s, 1, id);
	return state_exec(st, s, "delete folder", ERR_FOLDER, err);
}

int state_folder_list(struct state *st, struct state_folder **list_r,
		      size_t *n_r, struct error *err)
{
	*list_r = NULL;
	*n_r = 0;
	sqlite3_stmt *s = state_stmt(st, STMT_FOLDER_LIST,
				     "SELECT " FOLDER_COLS " FROM folders ORDER BY remote",
				     err);
	if (!s)
		return -ERR_ACCOUNT;
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*list_r = xgrow(*list_r, sizeof(**list_r), *n_r + 1, &cap);
		folder_from_row(s, &(*list_r)[(*n_r)++]);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		state_folders_free(*list_r, *n_r);
		*list_r = NULL;
		*n_r = 0;
		return state_db_error(st, "list folders", rc, ERR_ACCOUNT, err);
	}
	return 0;
}

void state_folder_release(struct state_folder *f)
{
	free(f->remote);
	free(f->local);
	free(f->refused);
	memset(f, 0, sizeof(*f));
}

void state_folders_free(struct state_folder *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		state_folder_release(&list[i]);
	free(list);
}
