/* SPDX-License-Identifier: MIT */
/*
 * Folders in parallel, in three phases.  The account's `connections`
 * setting says how many connections may work at once: the first is the
 * run's own; each extra one is a thread with its own IMAP connection, its
 * own handle on the state (SQLite serialises the writes, WAL lets reads
 * go on) and its own report, merged at the end.
 *
 *   1. each connection takes folders off one queue in name order: folder
 *      operations, SELECT, replay, the three views;
 *   2. the run's own connection matches moves across all folders
 *      (moves.c), which needs every view at once;
 *   3. each connection plans and carries out the folders it prepared (its
 *      connection may still have one selected).
 *
 * A connection the server refuses leaves the work to the others; an
 * account error on any connection stops them all.
 */
#include "sync-private.h"

#include <stdlib.h>
#include <string.h>

struct queue {
	pthread_mutex_t mu;
	const struct pair *pairs;
	struct folder_run **runs; /* index-aligned with pairs */
	const bool *quiet;        /* unchanged on both sides: nothing to do */
	size_t n, next;
	bool stop;
	struct error err;         /* the first account error */
};

struct worker {
	struct engine e;
	struct sync_report rep;
	struct queue *q;
	pthread_t thread;
	bool ready;               /* connected, state open */
	int phase;                /* 1 or 3 */
};

static void stop_with(struct queue *q, struct error *err)
{
	pthread_mutex_lock(&q->mu);
	if (!q->stop) {
		q->stop = true;
		q->err = *err;
	} else {
		error_clear(err);
	}
	pthread_mutex_unlock(&q->mu);
}

static bool stopped(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	bool s = q->stop;
	pthread_mutex_unlock(&q->mu);
	return s;
}

/* Phase 1: takes folders off the queue until it is empty or stopped. */
static void prepare_all(struct engine *e, struct queue *q)
{
	for (;;) {
		pthread_mutex_lock(&q->mu);
		size_t i = q->next;
		bool done = q->stop || i >= q->n;
		if (!done)
			q->next++;
		pthread_mutex_unlock(&q->mu);
		if (done)
			return;
		if (q->quiet[i])
			continue;
		struct error err = ERROR_INIT;
		int r = sync_pair_prepare(e, &q->pairs[i], &q->runs[i], &err);
		if (r < 0)
			r = sync_folder_failed(e, q->pairs[i].name, r, &err);
		if (r < 0) {
			stop_with(q, &err);
			return;
		}
	}
}

/* Phase 3: the folders this connection prepared, the one it still has
 * selected first (one SELECT saved). */
static void finish_own(struct engine *e, struct queue *q)
{
	size_t first = q->n;
	for (size_t i = 0; i < q->n && e->selected; i++)
		if (q->runs[i] && q->runs[i]->e == e && !strcmp(q->runs[i]->wire, e->selected))
			first = i;
	for (size_t k = 0; k <= q->n && !stopped(q); k++) {
		/* k == 0 is the selected folder (if any), then the rest in order. */
		size_t i = k == 0 ? first : k - 1;
		if (i >= q->n || (k > 0 && i == first))
			continue;
		struct folder_run *f = q->runs[i];
		if (!f || f->e != e)
			continue;
		struct error err = ERROR_INIT;
		int r = sync_folder_finish(f, &err);
		if (r < 0)
			r = sync_folder_failed(e, f->remote, r, &err);
		if (r < 0) {
			stop_with(q, &err);
			return;
		}
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	if (w->phase == 1) {
		struct error err = ERROR_INIT;
		/* A connection or state that could not be had leaves the
		 * folders to the other connections. */
		w->ready = state_open(w->e.db_path, &w->e.st, &err) == 0 &&
			   sync_connect(&w->e, false, &err) == 0;
		error_clear(&err);
		if (w->ready)
			prepare_all(&w->e, w->q);
	} else if (w->ready) {
		finish_own(&w->e, w->q);
	}
	return NULL;
}

static void run_phase(struct worker *workers, size_t n, int phase,
		      void (*own)(struct engine *, struct queue *),
		      struct engine *e, struct queue *q)
{
	bool *started = xcalloc(n ? n : 1, sizeof(*started));
	for (size_t i = 0; i < n; i++) {
		workers[i].phase = phase;
		started[i] = pthread_create(&workers[i].thread, NULL, worker_main,
					    &workers[i]) == 0;
	}
	own(e, q);
	for (size_t i = 0; i < n; i++)
		if (started[i])
			pthread_join(workers[i].thread, NULL);
	free(started);
}

static void worker_end(struct engine *e, struct worker *w)
{
	sync_counts_add(&e->rep->counts, &w->rep.counts);
	e->rep->folders_synced += w->rep.folders_synced;
	e->rep->folders_failed += w->rep.folders_failed;
	e->rep->folders_refused += w->rep.folders_refused;
	e->rep->local_changed |= w->rep.local_changed;
	struct sync_changes *to = &e->rep->changes, *from = &w->rep.changes;
	for (size_t i = 0; i < from->n; i++) {
		to->lines = xgrow(to->lines, sizeof(*to->lines), to->n + 1, &to->cap);
		to->lines[to->n++] = from->lines[i];
	}
	free(from->lines);
	memset(from, 0, sizeof(*from));
	struct error err = ERROR_INIT;
	if (w->e.imap) {
		imap_logout(w->e.imap, &err);
		error_clear(&err);
		imap_close(w->e.imap);
	}
	free(w->e.selected);
	state_close(w->e.st);
}

int sync_pairs(struct engine *e, const struct pair *pairs, size_t n,
	       struct error *err)
{
	struct queue q = {.pairs = pairs, .n = n};
	q.runs = xcalloc(n ? n : 1, sizeof(*q.runs));
	pthread_mutex_init(&q.mu, NULL);
	pthread_mutex_t emit_mu;
	pthread_mutex_init(&emit_mu, NULL);

	/* Folders unchanged on both sides are done before anything else: a
	 * no-op run opens no other connection and selects nothing. */
	size_t busy = 0;
	bool *quiet = xcalloc(n ? n : 1, sizeof(*quiet));
	for (size_t i = 0; i < n; i++) {
		struct error uerr = ERROR_INIT;
		int u = sync_pair_unchanged(e, &pairs[i], &uerr);
		error_clear(&uerr); /* a failed check just means: look */
		quiet[i] = u > 0;
		if (quiet[i]) {
			e->rep->folders_synced++;
			sync_emit(e, SYNC_EV_FOLDER_DONE, pairs[i].name, NULL,
				  &(struct sync_counts){0});
		} else {
			busy++;
		}
	}
	q.quiet = quiet;

	/* One connection per busy folder at most, the run's own included. */
	size_t extra = e->a->remote.connections > 1 ? e->a->remote.connections - 1 : 0;
	if (busy == 0)
		extra = 0;
	else if (extra > busy - 1)
		extra = busy - 1;
	struct worker *workers = extra ? xcalloc(extra, sizeof(*workers)) : NULL;
	if (extra)
		e->emit_mu = &emit_mu;
	for (size_t i = 0; i < extra; i++) {
		struct worker *w = &workers[i];
		w->e = *e;
		w->e.rep = &w->rep;
		w->e.imap = NULL;
		w->e.st = NULL;
		w->e.selected = NULL;
		w->q = &q;
	}

	run_phase(workers, extra, 1, prepare_all, e, &q);
	if (!q.stop) {
		struct error merr = ERROR_INIT;
		if (sync_moves(e, q.runs, n, &merr) < 0)
			stop_with(&q, &merr);
	}
	if (!q.stop)
		run_phase(workers, extra, 3, finish_own, e, &q);
	for (size_t i = 0; i < n && !q.stop; i++)
		if (q.runs[i])
			sync_settle_first_pull(e, q.runs[i]);

	for (size_t i = 0; i < n; i++)
		sync_folder_free(q.runs[i]);
	for (size_t i = 0; i < extra; i++)
		worker_end(e, &workers[i]);
	e->emit_mu = NULL;
	int r = 0;
	if (q.stop) {
		/* Some connection (maybe this one) hit an account error. */
		r = error_set(err, q.err.reach, "%s", q.err.msg);
		error_clear(&q.err);
	}
	free(workers);
	free(q.runs);
	free(quiet);
	pthread_mutex_destroy(&q.mu);
	pthread_mutex_destroy(&emit_mu);
	return r;
}
