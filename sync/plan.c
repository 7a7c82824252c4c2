/* SPDX-License-Identifier: MIT */
/*
 * The planner (see plan.h).  Every state entry is classified by what
 * happened to it on each side since the last sync; the conflict table
 * below turns the pair into a rule, and the settings decide whether the
 * rule's effect may travel.  Messages the state does not know are new on
 * one side.
 */
#include "plan.h"

#include <stdlib.h>
#include <string.h>

/* What happened to a state entry on one side. */
enum side {
	SAME,     /* present, flags as at the last sync */
	CHANGED,  /* present, flags changed */
	GONE,     /* removed since the last sync */
	DIVERGED, /* gone earlier, kept gone by a setting: stays gone */
};

enum rule {
	NOTHING,       /* nothing changed */
	FLAGS,         /* merge flags flag by flag, both sides get the result */
	DELETE_LOCAL,  /* the server expunged it: remove the file */
	DELETE_REMOTE, /* the file was removed: expunge on the server */
	FORGET,        /* gone on both sides */
	KEEP,          /* one copy only, by a setting: remember its flags */
};

/*
 * The conflict table, rows: the server side, columns: the local side.
 * SPEC.md section 4: a deletion wins over a flag change on the other side
 * (the user removed the message; flags on a removed message are moot);
 * moves (a later issue) will add their own rows.
 */
static const enum rule conflict_table[4][4] = {
	/*              SAME          CHANGED       GONE           DIVERGED */
	[SAME]     = {NOTHING,      FLAGS,        DELETE_REMOTE, KEEP},
	[CHANGED]  = {FLAGS,        FLAGS,        DELETE_REMOTE, KEEP},
	[GONE]     = {DELETE_LOCAL, DELETE_LOCAL, FORGET,        FORGET},
	[DIVERGED] = {KEEP,         KEEP,         FORGET,        FORGET},
};

static bool pull_ok(const struct plan_settings *s)
{
	return s->direction != CONFIG_FLOW_PUSH;
}

static bool push_ok(const struct plan_settings *s)
{
	return s->direction != CONFIG_FLOW_PULL;
}

static bool delete_pull_ok(const struct plan_settings *s)
{
	return pull_ok(s) &&
	       (s->delete == CONFIG_FLOW_BOTH || s->delete == CONFIG_FLOW_PULL);
}

static bool delete_push_ok(const struct plan_settings *s)
{
	return push_ok(s) &&
	       (s->delete == CONFIG_FLOW_BOTH || s->delete == CONFIG_FLOW_PUSH);
}

static struct plan_action *add(struct plan *p, enum plan_op op, size_t si)
{
	p->actions = xgrow(p->actions, sizeof(*p->actions), p->n_actions + 1,
			   &p->cap_actions);
	struct plan_action *a = &p->actions[p->n_actions++];
	memset(a, 0, sizeof(*a));
	a->op = op;
	a->state_index = si;
	return a;
}

/* ---- lookups --------------------------------------------------------- */

static int cmp_remote(const void *a, const void *b)
{
	uint32_t x = (*(const struct plan_remote_msg *const *)a)->uid;
	uint32_t y = (*(const struct plan_remote_msg *const *)b)->uid;
	return x < y ? -1 : x > y;
}

static int cmp_local(const void *a, const void *b)
{
	return strcmp((*(const struct plan_local_msg *const *)a)->name,
		      (*(const struct plan_local_msg *const *)b)->name);
}

struct index {
	const void **v;  /* sorted pointers into an input array */
	bool *used;      /* by position in v */
	size_t n;
};

static int index_build(struct index *ix, const void *base, size_t elem, size_t n,
		       int (*cmp)(const void *, const void *))
{
	ix->n = n;
	ix->v = xcalloc(n, sizeof(*ix->v));
	ix->used = xcalloc(n, sizeof(*ix->used));
	for (size_t i = 0; i < n; i++)
		ix->v[i] = (const char *)base + i * elem;
	qsort(ix->v, n, sizeof(*ix->v), cmp);
	for (size_t i = 1; i < n; i++)
		if (cmp(&ix->v[i - 1], &ix->v[i]) == 0)
			return -1;
	return 0;
}

static ssize_t index_find(const struct index *ix, const void *key,
			  int (*cmp)(const void *, const void *))
{
	const void **hit = bsearch(&key, ix->v, ix->n, sizeof(*ix->v), cmp);
	return hit ? hit - ix->v : -1;
}

static void index_free(struct index *ix)
{
	free(ix->v);
	free(ix->used);
}

/* ---- one state entry ------------------------------------------------- */

/* Flag merge, flag by flag: a flag changed on one side takes that side's
 * value; changed on both (possible only after a divergence) the server's
 * value wins, as the server's place wins for moves. */
static void merge_flags(const struct plan_state_msg *st, unsigned remote,
			unsigned local, const struct plan_settings *s,
			unsigned *rflags_r, unsigned *lflags_r)
{
	unsigned rd = remote ^ st->rflags;     /* changed on the server */
	unsigned ld = (local ^ st->lflags) & ~rd; /* changed locally only */
	*lflags_r = pull_ok(s) ? (local & ~rd) | (remote & rd) : local;
	*rflags_r = push_ok(s) ? (remote & ~ld) | (local & ld) : remote;
}

static void plan_known(struct plan *p, size_t si, const struct plan_state_msg *st,
		       const struct plan_remote_msg *r, const struct plan_local_msg *l,
		       const struct plan_settings *s)
{
	enum side rs = st->uid == 0 ? DIVERGED : !r ? GONE
				      : r->flags != st->rflags ? CHANGED : SAME;
	enum side ls = st->name == NULL ? DIVERGED : !l ? GONE
				      : l->flags != st->lflags ? CHANGED : SAME;
	struct plan_action *a;

	switch (conflict_table[rs][ls]) {
	case NOTHING:
		return;
	case FLAGS: {
		unsigned rf, lf;
		merge_flags(st, r->flags, l->flags, s, &rf, &lf);
		if (rf != r->flags) {
			a = add(p, PLAN_REMOTE_FLAGS, si);
			a->add = rf & ~r->flags;
			a->remove = r->flags & ~rf;
		} else if (lf != l->flags) {
			a = add(p, PLAN_LOCAL_FLAGS, si);
		} else {
			a = add(p, PLAN_UPDATE_STATE, si);
		}
		/* A flag change on both sides is two actions; the second
		 * records the final state of both. */
		if (rf != r->flags && lf != l->flags) {
			a->uid = st->uid;
			a->name = st->name;
			a->rflags = rf;
			a->lflags = l->flags;
			a = add(p, PLAN_LOCAL_FLAGS, si);
		}
		a->uid = st->uid;
		a->name = st->name;
		a->rflags = rf;
		a->lflags = lf;
		return;
	}
	case DELETE_LOCAL:
		if (delete_pull_ok(s)) {
			a = add(p, PLAN_DELETE_LOCAL, si);
			p->n_delete_local++;
		} else {
			/* Kept locally; the state remembers the server copy is
			 * gone so the file is not uploaded again. */
			a = add(p, PLAN_UPDATE_STATE, si);
		}
		a->name = st->name;
		a->lflags = l->flags;
		return;
	case DELETE_REMOTE:
		if (delete_push_ok(s)) {
			a = add(p, PLAN_DELETE_REMOTE, si);
			p->n_delete_remote++;
		} else {
			a = add(p, PLAN_UPDATE_STATE, si);
		}
		a->uid = st->uid;
		a->rflags = r->flags;
		return;
	case FORGET:
		a = add(p, PLAN_FORGET, si);
		a->uid = st->uid;
		a->name = st->name;
		return;
	case KEEP: {
		unsigned rf = r ? r->flags : st->rflags;
		unsigned lf = l ? l->flags : st->lflags;
		if (rf == st->rflags && lf == st->lflags)
			return;
		a = add(p, PLAN_UPDATE_STATE, si);
		a->uid = st->uid;
		a->name = st->name;
		a->rflags = rf;
		a->lflags = lf;
		return;
	}
	}
}

/* ---- new messages ---------------------------------------------------- */

static enum plan_op new_message_op(enum plan_op transfer, uint64_t size,
				   int64_t date, const struct plan_settings *s)
{
	if (s->max_size && size > s->max_size)
		return PLAN_SKIP_TOO_BIG;
	if (s->max_age && date < s->now - (int64_t)s->max_age)
		return PLAN_SKIP_TOO_OLD;
	return transfer;
}

static void plan_new_remote(struct plan *p, const struct plan_remote_msg *r,
			    const struct plan_settings *s)
{
	if (!pull_ok(s))
		return;
	struct plan_action *a =
		add(p, new_message_op(PLAN_DOWNLOAD, r->size, r->date, s), SIZE_MAX);
	a->uid = r->uid;
	a->rflags = a->lflags = r->flags;
	a->size = r->size;
	a->date = r->date;
}

static void plan_new_local(struct plan *p, const struct plan_local_msg *l,
			   const struct plan_settings *s)
{
	if (!push_ok(s))
		return;
	struct plan_action *a =
		add(p, new_message_op(PLAN_UPLOAD, l->size, l->date, s), SIZE_MAX);
	a->name = l->name;
	a->rflags = a->lflags = l->flags;
	a->size = l->size;
	a->date = l->date;
}

/* ---- the guard ------------------------------------------------------- */

/* SPEC.md section 5: a plan deleting more than max_delete of a folder's
 * messages (folders of 10 or more) on either side is refused. */
static bool too_many(size_t deleted, size_t total, unsigned max_delete)
{
	return total >= 10 && deleted * 100 > (size_t)max_delete * total;
}

static void guard(struct plan *p, const struct plan_input *in,
		  const struct plan_settings *s)
{
	if (s->force)
		return;
	bool local = too_many(p->n_delete_local, in->n_local, s->max_delete);
	bool remote = too_many(p->n_delete_remote, in->n_remote, s->max_delete);
	if (!local && !remote)
		return;
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	buf_adds(&b, "refusing to delete ");
	if (local)
		buf_addf(&b, "%zu of %zu local messages", p->n_delete_local, in->n_local);
	if (local && remote)
		buf_adds(&b, " and ");
	if (remote)
		buf_addf(&b, "%zu of %zu server messages", p->n_delete_remote,
			 in->n_remote);
	buf_addf(&b, " (more than max_delete %u%%); run with --force to allow it",
		 s->max_delete);
	p->refused = true;
	p->refusal = buf_detach(&b, NULL);
}

/* ---- entry points ---------------------------------------------------- */

int plan_folder(const struct plan_input *in, const struct plan_settings *s,
		struct plan *p, struct error *err)
{
	struct index rix, lix;
	int ret = 0;
	if (index_build(&rix, in->remote, sizeof(*in->remote), in->n_remote,
			cmp_remote) < 0)
		ret = error_set(err, ERR_FOLDER, "planner: a UID appears twice in the server view");
	if (index_build(&lix, in->local, sizeof(*in->local), in->n_local,
			cmp_local) < 0 && ret == 0)
		ret = error_set(err, ERR_FOLDER, "planner: a file name appears twice in the Maildir view");

	for (size_t i = 0; ret == 0 && i < in->n_state; i++) {
		const struct plan_state_msg *st = &in->state[i];
		const struct plan_remote_msg *r = NULL;
		const struct plan_local_msg *l = NULL;
		if (st->uid) {
			struct plan_remote_msg key = {.uid = st->uid};
			ssize_t k = index_find(&rix, &key, cmp_remote);
			if (k >= 0) {
				rix.used[k] = true;
				r = rix.v[k];
			}
		}
		if (st->name) {
			struct plan_local_msg key = {.name = st->name};
			ssize_t k = index_find(&lix, &key, cmp_local);
			if (k >= 0) {
				lix.used[k] = true;
				l = lix.v[k];
			}
		}
		plan_known(p, i, st, r, l, s);
	}
	for (size_t i = 0; ret == 0 && i < rix.n; i++)
		if (!rix.used[i])
			plan_new_remote(p, rix.v[i], s);
	for (size_t i = 0; ret == 0 && i < lix.n; i++)
		if (!lix.used[i])
			plan_new_local(p, lix.v[i], s);
	if (ret == 0)
		guard(p, in, s);
	index_free(&rix);
	index_free(&lix);
	return ret;
}

void plan_release(struct plan *p)
{
	free(p->actions);
	free(p->refusal);
	memset(p, 0, sizeof(*p));
}

/* ---- folders ----------------------------------------------------------- */

/* Folder changes follow `folders`, within what `direction` allows. */
static bool folders_pull(const struct plan_settings *s)
{
	return pull_ok(s) &&
	       (s->folders == CONFIG_FLOW_BOTH || s->folders == CONFIG_FLOW_PULL);
}

static bool folders_push(const struct plan_settings *s)
{
	return push_ok(s) &&
	       (s->folders == CONFIG_FLOW_BOTH || s->folders == CONFIG_FLOW_PUSH);
}

enum plan_folder_op plan_folder_op(const struct plan_folder_in *in,
				   const struct plan_settings *s)
{
	if (in->remote && in->local)
		return PLAN_FOLDER_SYNC;
	if (!in->remote && !in->local)
		return PLAN_FOLDER_FORGET;
	if (!in->known) {
		if (in->remote)
			return folders_pull(s) ? PLAN_FOLDER_CREATE_LOCAL : PLAN_FOLDER_SKIP;
		return folders_push(s) ? PLAN_FOLDER_CREATE_REMOTE : PLAN_FOLDER_SKIP;
	}
	/* Synced before and now gone from one side: a removal. */
	bool gone_locally = in->remote;
	bool may = gone_locally ? folders_push(s) && in->remote_clean
				: folders_pull(s) && in->local_clean;
	if (!may)
		return gone_locally ? PLAN_FOLDER_RESTORE_LOCAL : PLAN_FOLDER_RESTORE_REMOTE;
	/* A whole folder going is a deletion of all its messages. */
	if (!s->force && too_many(in->messages, in->messages, s->max_delete))
		return PLAN_FOLDER_REFUSE;
	return gone_locally ? PLAN_FOLDER_DELETE_REMOTE : PLAN_FOLDER_DELETE_LOCAL;
}

const char *plan_folder_op_name(enum plan_folder_op op)
{
	switch (op) {
	case PLAN_FOLDER_SYNC: return "sync";
	case PLAN_FOLDER_CREATE_LOCAL: return "create local";
	case PLAN_FOLDER_CREATE_REMOTE: return "create on server";
	case PLAN_FOLDER_DELETE_REMOTE: return "delete on server";
	case PLAN_FOLDER_DELETE_LOCAL: return "delete local";
	case PLAN_FOLDER_RESTORE_LOCAL: return "restore local";
	case PLAN_FOLDER_RESTORE_REMOTE: return "restore on server";
	case PLAN_FOLDER_FORGET: return "forget";
	case PLAN_FOLDER_SKIP: return "skip";
	case PLAN_FOLDER_REFUSE: return "refuse";
	}
	return "?";
}

const char *plan_op_name(enum plan_op op)
{
	switch (op) {
	case PLAN_DOWNLOAD: return "download";
	case PLAN_UPLOAD: return "upload";
	case PLAN_REMOTE_FLAGS: return "server flags";
	case PLAN_LOCAL_FLAGS: return "local flags";
	case PLAN_DELETE_LOCAL: return "delete local";
	case PLAN_DELETE_REMOTE: return "delete on server";
	case PLAN_FORGET: return "forget";
	case PLAN_UPDATE_STATE: return "update state";
	case PLAN_SKIP_TOO_BIG: return "skip (max_size)";
	case PLAN_SKIP_TOO_OLD: return "skip (max_age)";
	}
	return "?";
}

void plan_flags_letters(unsigned flags, char out[7])
{
	static const struct {
		char letter;
		unsigned flag;
	} order[] = {
		{'D', PLAN_DRAFT}, {'F', PLAN_FLAGGED}, {'P', PLAN_FORWARDED},
		{'R', PLAN_ANSWERED}, {'S', PLAN_SEEN}, {'T', PLAN_DELETED},
	};
	size_t n = 0;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(order); i++)
		if (flags & order[i].flag)
			out[n++] = order[i].letter;
	out[n] = '\0';
}
