/* SPDX-License-Identifier: MIT */
/* The messages table: what both sides agreed on, message by message. */
#include "state-private.h"

#include <stdlib.h>
#include <string.h>

#define MSG_COLS                                                              \
	"id, folder_id, uid, local_name, flags, keywords, modseq, size, "      \
	"message_id, emailid, internal_date, local_flags"

static void msg_from_row(sqlite3_stmt *s, struct state_msg *m)
{
	m->id = sqlite3_column_int64(s, 0);
	m->folder_id = sqlite3_column_int64(s, 1);
	/* NULL (no UID) reads as 0, which is what the API means by it. */
	m->uid = (uint32_t)sqlite3_column_int64(s, 2);
	m->local = state_column_text(s, 3);
	m->flags = (unsigned)sqlite3_column_int64(s, 4);
	m->keywords = state_column_text(s, 5);
	m->modseq = (uint64_t)sqlite3_column_int64(s, 6);
	m->size = (uint64_t)sqlite3_column_int64(s, 7);
	m->message_id = state_column_text(s, 8);
	m->emailid = state_column_text(s, 9);
	m->internal_date = sqlite3_column_int64(s, 10);
	m->local_flags = (unsigned)sqlite3_column_int64(s, 11);
}

/* Binds m's fields to ?2..?12 (insert and update share the order). */
static void bind_msg(sqlite3_stmt *s, const struct state_msg *m)
{
	sqlite3_bind_int64(s, 2, m->folder_id);
	if (m->uid)
		sqlite3_bind_int64(s, 3, m->uid);
	else
		sqlite3_bind_null(s, 3);
	/* An empty unique part is no file, as NULL is. */
	state_bind_text(s, 4, m->local && m->local[0] ? m->local : NULL);
	sqlite3_bind_int64(s, 5, m->flags);
	state_bind_text(s, 6, m->keywords && m->keywords[0] ? m->keywords : NULL);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)m->modseq);
	sqlite3_bind_int64(s, 8, (sqlite3_int64)m->size);
	state_bind_text(s, 9, m->message_id);
	state_bind_text(s, 10, m->emailid);
	sqlite3_bind_int64(s, 11, m->internal_date);
	sqlite3_bind_int64(s, 12, m->local_flags);
}

int state_msg_insert(struct state *st, const struct state_msg *m, int64_t *id_r,
		     struct error *err)
{
	sqlite3_stmt *s = state_stmt(st, STMT_MSG_INSERT,
				     "INSERT INTO messages (" MSG_COLS ") VALUES"
				     " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
				     err);
	if (!s)
		return -ERR_ACCOUNT;
	sqlite3_bind_null(s, 1);
	bind_msg(s, m);
	int r = state_exec(st, s, "insert message", ERR_MESSAGE, err);
	if (r == 0)
		*id_r = sqlite3_last_insert_rowid(st->db);
	return r;
}

int state_msg_update(struct state *st, const struct state_msg *m,
		     struct error *err)
{
	sqlite3_stmt *s = state_stmt(st, STMT_MSG_UPDATE,
				     "UPDATE messages SET folder_id = ?2, uid = ?3,"
				     " local_name = ?4, flags = ?5, keywords = ?6,"
				     " modseq = ?7, size = ?8, message_id = ?9,"
				     " emailid = ?10, internal_date = ?11, local_flags = ?12"
				     " WHERE id = ?1",
				     err);
	if (!s)
		return -ERR_ACCOUNT;
	sqlite3_bind_int64(s, 1, m->id);
	bind_msg(s, m);
	int r = state_exec(st, s, "update message", ERR_MESSAGE, err);
	if (r == 0 && sqlite3_changes(st->db) != 1)
		r = error_set(err, ERR_MESSAGE, "state %s: update message: no row %lld",
			      st->path, (long long)m->id);
	return r;
}

int state_msg_delete(struct state *st, int64_t id, struct error *err)
{
	sqlite3_stmt *s = state_stmt(st, STMT_MSG_DELETE,
				     "DELETE FROM messages WHERE id = ?", err);
	if (!s)
		return -ERR_ACCOUNT;
	sqlite3_bind_int64(s, 1, id);
	return state_exec(st, s, "delete message", ERR_MESSAGE, err);
}

/* Steps a bound lookup: 1 and m_r filled, 0 none, negative on error. */
static int msg_one(struct state *st, sqlite3_stmt *s, const char *what,
		   struct state_msg *m_r, struct error *err)
{
	int rc = sqlite3_step(s);
	int r = 0;
	if (rc == SQLITE_ROW) {
		msg_from_row(s, m_r);
		r = 1;
	} else if (rc != SQLITE_DONE) {
		r = state_db_error(st, what, rc, ERR_ACCOUNT, err);
	}
	sqlite3_reset(s);
	return r;
}

/* Steps a bound query into a list. */
static int msg_many(struct state *st, sqlite3_stmt *s, const char *what,
		    struct state_msgs *list_r, struct error *err)
{
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		list_r->msgs = xgrow(list_r->msgs, sizeof(*list_r->msgs),
				     list_r->n + 1, &cap);
		msg_from_row(s, &list_r->msgs[list_r->n++]);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		state_msgs_release(list_r);
		return state_db_error(st, what, rc, ERR_ACCOUNT, err);
	}
	return 0;
}

int state_msg_by_uid(struct state *st, int64_t folder_id, uint32_t uid,
		     struct state_msg *m_r, struct error *err)
{
	memset(m_r, 0, sizeof(*m_r));
	sqlite3_stmt *s = state_stmt(st, STMT_MSG_BY_UID,
				     "SELECT " MSG_COLS " FROM messages"
				     " WHERE folder_id = ? AND uid = ?",
				     err);
	if (!s)
		return -ERR_ACCOUNT;
	sqlite3_bind_int64(s, 1, folder_id);
	sqlite3_bind_int64(s, 2, uid);
	return msg_one(st, s, "message by uid", m_r, err);
}

int state_msg_by_local(struct state *st, const char *local,
		       struct state_msg *m_r, struct error *err)
{
	memset(m_r, 0, sizeof(*m_r));
	sqlite3_stmt *s = state_stmt(st, STMT_MSG_BY_LOCAL,
				     "SELECT " MSG_COLS " FROM messages"
				     " WHERE local_name = ? ORDER BY id LIMIT 1",
				     err);
	if (!s)
		return -ERR_ACCOUNT;
	state_bind_text(s, 1, local);
	return msg_one(st, s, "message by local name", m_r, err);
}

int state_msg_by_emailid(struct state *st, const char *emailid,
			 struct state_msg *m_r, struct error *err)
{
	memset(m_r, 0, sizeof(*m_r));
	sqlite3_stmt *s = state_stmt(st, STMT_MSG_BY_EMAILID,
				     "SELECT " MSG_COLS " FROM messages"
				     " WHERE emailid = ? ORDER BY id LIMIT 1",
				     err);
	if (!s)
		return -ERR_ACCOUNT;
	state_bind_text(s, 1, emailid);
	return msg_one(st, s, "message by emailid", m_r, err);
}

int state_msg_by_message_id(struct state *st, const char *message_id,
			    struct state_msgs *list_r, struct error *err)
{
	memset(list_r, 0, sizeof(*list_r));
	sqlite3_stmt *s = state_stmt(st, STMT_MSG_BY_MESSAGE_ID,
				     "SELECT " MSG_COLS " FROM messages"
				     " WHERE message_id = ? ORDER BY id",
				     err);
	if (!s)
		return -ERR_ACCOUNT;
	state_bind_text(s, 1, message_id);
	return msg_many(st, s, "messages by message-id", list_r, err);
}

int state_msg_load(struct state *st, int64_t folder_id,
		   struct state_msgs *list_r, struct error *err)
{
	memset(list_r, 0, sizeof(*list_r));
	sqlite3_stmt *s = state_stmt(st, STMT_MSG_LOAD,
				     "SELECT " MSG_COLS " FROM messages"
				     " WHERE folder_id = ? ORDER BY uid, id",
				     err);
	if (!s)
		return -ERR_ACCOUNT;
	sqlite3_bind_int64(s, 1, folder_id);
	return msg_many(st, s, "load messages", list_r, err);
}

int state_msg_count(struct state *st, int64_t folder_id, size_t *with_uid_r,
		    struct error *err)
{
	sqlite3_stmt *s = state_stmt(st, STMT_MSG_COUNT,
				     "SELECT with_uid FROM folders WHERE id = ?",
				     err);
	if (!s)
		return -ERR_ACCOUNT;
	sqlite3_bind_int64(s, 1, folder_id);
	int rc = sqlite3_step(s);
	int r = 0;
	*with_uid_r = 0;
	if (rc == SQLITE_ROW)
		*with_uid_r = (size_t)sqlite3_column_int64(s, 0);
	else if (rc != SQLITE_DONE) /* DONE: no such folder, no rows */
		r = state_db_error(st, "count messages", rc, ERR_ACCOUNT, err);
	sqlite3_reset(s);
	return r;
}

void state_msg_release(struct state_msg *m)
{
	free(m->local);
	free(m->keywords);
	free(m->message_id);
	free(m->emailid);
	memset(m, 0, sizeof(*m));
}

void state_msgs_release(struct state_msgs *list)
{
	for (size_t i = 0; i < list->n; i++)
		state_msg_release(&list->msgs[i]);
	free(list->msgs);
	memset(list, 0, sizeof(*list));
}
