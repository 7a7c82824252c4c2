/* SPDX-License-Identifier: MIT */
/*
 * A folder's state transactions, and the writes that wait for the next
 * one.
 *
 * An intent must be durable before its effect, so the transaction that
 * records one commits at once.  The writes that record an effect after
 * it is durable (a file renamed and its directory synced, a STORE or an
 * EXPUNGE the server answered OK, a downloaded batch synced) need not:
 * lost in a crash, they are found again by the next run, from the three
 * views or from the intents.  So they wait in memory and go into the
 * folder's next transaction: the next intents, or the last one, with
 * the folder's record.  A folder with changes on both sides used to cost
 * five commits (each an fsync of the WAL under synchronous=FULL, and a
 * turn at the write lock the other folders' workers wait for); now it
 * costs one, or two with downloads.
 *
 * The queue is emptied only once a commit holding it succeeded: after a
 * rollback, the writes are still there for the next try.
 */
#include "sync-private.h"

#include <stdlib.h>
#include <string.h>

enum pending_op { PENDING_UPDATE, PENDING_DELETE, PENDING_INSERT, PENDING_CONFIRM };

struct pending_write {
	enum pending_op op;
	struct state_msg *row;   /* UPDATE: the view's row, written as it is then */
	int64_t id;              /* DELETE: the row; CONFIRM: the intent */
	struct state_msg msg;    /* INSERT: an own copy */
};

static struct pending_write *push(struct folder_run *f, enum pending_op op)
{
	f->pending = xgrow(f->pending, sizeof(*f->pending), f->n_pending + 1,
			   &f->cap_pending);
	struct pending_write *w = &f->pending[f->n_pending++];
	memset(w, 0, sizeof(*w));
	w->op = op;
	return w;
}

void sync_pending_update(struct folder_run *f, struct state_msg *row)
{
	push(f, PENDING_UPDATE)->row = row;
}

void sync_pending_delete(struct folder_run *f, int64_t id)
{
	push(f, PENDING_DELETE)->id = id;
}

void sync_pending_confirm(struct folder_run *f, int64_t intent)
{
	push(f, PENDING_CONFIRM)->id = intent;
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void sync_pending_insert(struct folder_run *f, const struct state_msg *m)
{
	struct state_msg *c = &push(f, PENDING_INSERT)->msg;
	*c = *m;
	c->local = dup_or_null(m->local);
	c->keywords = dup_or_null(m->keywords);
	c->message_id = dup_or_null(m->message_id);
	c->emailid = dup_or_null(m->emailid);
}

static void clear(struct folder_run *f)
{
	for (size_t i = 0; i < f->n_pending; i++)
		if (f->pending[i].op == PENDING_INSERT)
			state_msg_release(&f->pending[i].msg);
	f->n_pending = 0;
}

void sync_pending_release(struct folder_run *f)
{
	clear(f);
	free(f->pending);
	f->pending = NULL;
	f->cap_pending = 0;
}

static int write_all(struct folder_run *f, struct error *err)
{
	struct state *st = f->e->st;
	int r = 0;
	for (size_t i = 0; r == 0 && i < f->n_pending; i++) {
		struct pending_write *w = &f->pending[i];
		int64_t id;
		switch (w->op) {
		case PENDING_UPDATE:
			r = state_msg_update(st, w->row, err);
			break;
		case PENDING_DELETE:
			r = state_msg_delete(st, w->id, err);
			break;
		case PENDING_INSERT:
			r = state_msg_insert(st, &w->msg, &id, err);
			break;
		case PENDING_CONFIRM:
			r = state_intent_confirm(st, w->id, err);
			break;
		}
	}
	return r;
}

int sync_txn_begin(struct folder_run *f, struct error *err)
{
	int r = state_begin(f->e->st, err);
	if (r == 0)
		r = write_all(f, err);
	if (r < 0)
		state_rollback(f->e->st);
	return r;
}

int sync_txn_end(struct folder_run *f, int r, const char *step, struct error *err)
{
	if (r < 0) {
		state_rollback(f->e->st);
		return r;
	}
	sync_step(f->e, step);
	r = state_commit(f->e->st, err);
	if (r < 0)
		state_rollback(f->e->st);
	else
		clear(f);
	return r;
}

int sync_pending_flush(struct folder_run *f, const char *step, struct error *err)
{
	if (f->n_pending == 0)
		return 0;
	int r = sync_txn_begin(f, err);
	return r < 0 ? r : sync_txn_end(f, 0, step, err);
}
