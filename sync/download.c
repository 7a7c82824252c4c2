/* SPDX-License-Identifier: MIT */
/*
 * Downloads: step 4 of carrying out a plan (exec.c), in batches.
 *
 * A batch is one set of intents, one UID FETCH whose bodies are routed
 * by UID into tmp/, one fsync round (every file, the renames into new/
 * and cur/, each directory once), and its state rows, which wait for the
 * folder's next transaction (pending.c).
 *
 * Batches overlap: the next batch's intents are committed and its FETCH
 * is on the wire before this batch's files are made durable, so the
 * server reads and sends while we wait for the disk.  A first pull of
 * 10,000 messages spent about a third of its time in those fsync rounds
 * with the connection idle.  The intents of a batch are durable before
 * its FETCH goes out, and its files appear in new/ or cur/ only at its
 * own commit, as before: a crash anywhere leaves at most files in tmp/
 * and intents that the next run replays.
 */
#include "sync-private.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap-uidset.h"

/* Large batches: each one costs an fsync round and a FETCH; the byte
 * bound keeps a crash's loss, and the open files of a batch, modest. */
#define DOWNLOAD_BATCH MAILDIR_BATCH_MAX
#define DOWNLOAD_BATCH_BYTES (32u << 20)

/* Enough of a header to find its Message-ID in any message seen in
 * practice; a batch holds one per message until its commit. */
#define DOWNLOAD_HEAD_MAX 16384

struct download {
	const struct plan_action *a;
	char *unique;
	int64_t intent;
	bool complete;
	const struct remote_extra *x; /* the view's keywords, ids; may be NULL */
	/* The header as it arrives, when the view has no Message-ID for
	 * the message (a first sync does not fetch them separately). */
	bool want_head;
	struct buf head;
	bool head_done;
};

/* One UID FETCH for a whole batch; bodies are told apart by the UID the
 * server sends before each body. */
struct batch {
	struct folder_run *f;
	struct maildir_batch *mb;
	struct download dl[DOWNLOAD_BATCH];
	size_t n;
	struct download *open; /* the message being written */
	struct imap_sent *fetch;
};

static void keep_head(struct download *d, const char *data, size_t len)
{
	if (d->head_done)
		return;
	size_t room = DOWNLOAD_HEAD_MAX - d->head.len;
	buf_add(&d->head, data, len < room ? len : room);
	/* The header ends at the first empty line. */
	d->head_done = d->head.len == DOWNLOAD_HEAD_MAX ||
		       memmem(d->head.data, d->head.len, "\n\r\n", 3) ||
		       memmem(d->head.data, d->head.len, "\n\n", 2);
}

static int on_body(void *ctx, const struct imap_body_chunk *ch, struct error *err)
{
	struct batch *b = ctx;
	if (ch->offset == 0) {
		struct download *d = NULL;
		for (size_t i = 0; i < b->n && !d; i++)
			if (b->dl[i].a->uid == ch->uid && !b->dl[i].complete)
				d = &b->dl[i];
		if (!d || b->open)
			return error_set(err, ERR_FOLDER, "%s: the server sent a body for "
					 "UID %u, which was not asked for (or not "
					 "before the body)", b->f->remote, ch->uid);
		struct maildir_msg m = {
			.flags = d->a->lflags,
			.internal_date = d->a->date,
			.unique = d->unique,
		};
		const char *u;
		if (maildir_batch_start(b->mb, &m, &u, err) < 0)
			return -ERR_FOLDER;
		b->open = d;
	}
	if (!b->open)
		return error_set(err, ERR_FOLDER, "%s: body data out of order", b->f->remote);
	if (maildir_batch_write(b->mb, ch->data, ch->len, err) < 0)
		return -ERR_FOLDER;
	if (b->open->want_head)
		keep_head(b->open, ch->data, ch->len);
	b->f->counts.bytes_down += ch->len;
	if (ch->offset + ch->len == ch->size) {
		if (maildir_batch_finish(b->mb, err) < 0)
			return -ERR_FOLDER;
		b->open->complete = true;
		b->open = NULL;
	}
	return 0;
}

/* The crash-test hook also stops at each file a download batch creates
 * in tmp/ and at each rename into place: a batch commits many files. */
static void on_batch_step(void *ctx, enum maildir_step step)
{
	if (step == MAILDIR_STEP_OPENED)
		sync_step(ctx, "download-file");
	else if (step == MAILDIR_STEP_RENAMED)
		sync_step(ctx, "download-rename");
}

static void batch_free(struct batch *b)
{
	if (!b)
		return;
	for (size_t k = 0; k < b->n; k++) {
		free(b->dl[k].unique);
		buf_release(&b->dl[k].head);
	}
	maildir_batch_free(b->mb);
	free(b);
}

/* The next batch of the plan's downloads from *next on, or NULL. */
static struct batch *batch_fill(struct folder_run *f, const struct plan *p, size_t *next)
{
	struct batch *b = NULL;
	uint64_t bytes = 0;
	for (; *next < p->n_actions; (*next)++) {
		const struct plan_action *a = &p->actions[*next];
		if (a->op != PLAN_DOWNLOAD)
			continue;
		if (b && (b->n == DOWNLOAD_BATCH || bytes >= DOWNLOAD_BATCH_BYTES))
			break;
		if (!b) {
			b = xcalloc(1, sizeof(*b));
			b->f = f;
			b->mb = maildir_batch_new(f->path);
			maildir_batch_set_hook(b->mb, on_batch_step, f->e);
		}
		const struct remote_extra *x = sync_remote_extra(f, a->uid);
		b->dl[b->n++] = (struct download){.a = a, .unique = maildir_unique_new(),
						  .x = x, .want_head = !x || !x->msgid,
						  .head = BUF_INIT(DOWNLOAD_HEAD_MAX)};
		bytes += a->size;
	}
	return b;
}

/* The batch's intents, committed (with what waits for the folder's next
 * transaction), then its FETCH written out, not waited for. */
static int batch_send(struct folder_run *f, struct batch *b, struct error *err)
{
	struct engine *e = f->e;
	char uv[16];
	snprintf(uv, sizeof(uv), "%u", f->mb.uidvalidity);
	int r = sync_txn_begin(f, err);
	for (size_t i = 0; r == 0 && i < b->n; i++) {
		char uid[16], size[24], date[24];
		snprintf(uid, sizeof(uid), "%u", b->dl[i].a->uid);
		snprintf(size, sizeof(size), "%llu", (unsigned long long)b->dl[i].a->size);
		snprintf(date, sizeof(date), "%lld", (long long)b->dl[i].a->date);
		char *params = sync_intent_params("uid", uid, "unique", b->dl[i].unique,
						  "uidvalidity", uv, "size", size,
						  "date", date, NULL);
		r = state_intent_record(e->st, "download", f->remote, params,
					&b->dl[i].intent, err);
		free(params);
	}
	r = sync_txn_end(f, r, "download-intents", err);
	if (r < 0)
		return r;
	uint32_t *uids = xcalloc(b->n, sizeof(*uids));
	for (size_t i = 0; i < b->n; i++)
		uids[i] = b->dl[i].a->uid;
	char *set = imap_uid_set_format(uids, b->n);
	free(uids);
	struct imap_cmd_cb cb = {.sink = on_body, .sink_ctx = b};
	sync_step(e, "download-fetch");
	b->fetch = imap_send(e->imap, &cb, "UID FETCH %s (UID BODY.PEEK[])", set);
	free(set);
	return 0;
}

/* Waits for the batch's bodies, if its FETCH went out. */
static int batch_receive(struct folder_run *f, struct batch *b, struct error *err)
{
	if (!b->fetch)
		return 0;
	int r = imap_await(f->e->imap, b->fetch, err);
	b->fetch = NULL;
	return r;
}

/* Makes the batch's files durable and puts them in place; their state
 * rows and the intents' confirmation wait for the next transaction. */
static int batch_commit(struct folder_run *f, struct batch *b, struct error *err)
{
	struct engine *e = f->e;
	sync_step(e, "download-commit");
	int r = maildir_batch_commit(b->mb, err);
	if (r < 0)
		return r;
	e->rep->local_changed = true;
	for (size_t i = 0; i < b->n; i++) {
		struct download *d = &b->dl[i];
		if (d->complete) {
			/* Where the batch put it: new/ without flags, else cur/. */
			unsigned flags = d->a->lflags;
			char *name = flags ? maildir_name_format(d->unique, flags, NULL)
					   : xstrdup(d->unique);
			char *path = sync_file_path(f->path, flags ? MAILDIR_CUR : MAILDIR_NEW,
						    name);
			sync_note(e, 'A', path, NULL);
			free(path);
			free(name);

			const struct plan_action *a = d->a;
			const struct remote_extra *x = d->x;
			const char *known = x ? x->msgid : NULL;
			char *from_head = known || !d->head.len
				? NULL : sync_msgid_from_header(d->head.data, d->head.len);
			struct state_msg m = {
				.folder_id = f->sf.id, .uid = a->uid, .local = d->unique,
				.flags = a->rflags, .local_flags = a->lflags,
				.size = a->size, .internal_date = a->date,
				.keywords = x ? x->keywords : NULL,
				.message_id = known ? (char *)(uintptr_t)known : from_head,
				.emailid = x ? x->emailid : NULL,
			};
			sync_pending_insert(f, &m);
			free(from_head);
			f->counts.downloaded++;
		}
		/* A message expunged meanwhile has no body: its intent is
		 * confirmed with nothing learnt. */
		sync_pending_confirm(f, d->intent);
	}
	sync_emit(e, SYNC_EV_PROGRESS, f->remote, NULL, &f->counts);
	return 0;
}

int sync_exec_downloads(struct folder_run *f, const struct plan *p, struct error *err)
{
	size_t next = 0;
	struct batch *cur = batch_fill(f, p, &next);
	int r = cur ? batch_send(f, cur, err) : 0;
	while (r == 0 && cur) {
		r = batch_receive(f, cur, err);
		if (r < 0)
			break;
		struct batch *after = batch_fill(f, p, &next);
		struct error serr = ERROR_INIT;
		int rs = after ? batch_send(f, after, &serr) : 0;
		/* This batch's bodies are complete: they go in place even if
		 * the next one could not be asked for. */
		r = batch_commit(f, cur, err);
		batch_free(cur);
		cur = after;
		if (r == 0 && rs < 0) {
			error_set(err, serr.reach, "%s", serr.msg);
			r = rs;
		}
		error_clear(&serr);
	}
	if (cur) {
		/* Stopped with a FETCH out: its answer is read and dropped
		 * (its files stay in tmp/), so that the connection stays in
		 * step for what follows. */
		struct error ferr = ERROR_INIT;
		batch_receive(f, cur, &ferr);
		error_clear(&ferr);
		batch_free(cur);
	}
	return r;
}
