/* SPDX-License-Identifier: MIT */
/*
 * Folders in parallel: the account's `connections` setting says how many
 * connections may work at once.  The first is the run's own; each extra
 * one is a thread with its own IMAP connection, its own handle on the
 * state (SQLite serialises the writes, WAL lets reads go on) and its own
 * report, merged at the end.  Folders are taken from one queue in name
 * order.  A connection the server refuses just leaves the work to the
 * others; an account error on any connection stops them all.
 */
#include "sync-private.h"

#include <stdlib.h>
#include <string.h>

struct queue {
	pthread_mutex_t mu;
	const struct pair *pairs;
	size_t n, next;
	bool stop;
	struct error err;   /* the first account error */
};

struct worker {
	struct engine e;
	struct sync_report rep;
	struct queue *q;
	pthread_t thread;
	bool started;
};

/* Takes folders off the queue until it is empty or stopped. */
static int work(struct engine *e, struct queue *q)
{
	for (;;) {
		pthread_mutex_lock(&q->mu);
		size_t i = q->next;
		bool done = q->stop || i >= q->n;
		if (!done)
			q->next++;
		pthread_mutex_unlock(&q->mu);
		if (done)
			return 0;
		struct error err = ERROR_INIT;
		int r = sync_pair(e, &q->pairs[i], &err);
		if (r < 0)
			r = sync_folder_failed(e, q->pairs[i].name, r, &err);
		if (r < 0) {
			pthread_mutex_lock(&q->mu);
			if (!q->stop) {
				q->stop = true;
				q->err = err;
			} else {
				error_clear(&err);
			}
			pthread_mutex_unlock(&q->mu);
			return r;
		}
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct error err = ERROR_INIT;
	if (state_open(w->e.db_path, &w->e.st, &err) == 0 &&
	    sync_connect(&w->e, &err) == 0)
		work(&w->e, w->q);
	/* A connection or state that could not be had leaves the folders
	 * to the other connections; the run's own connection works. */
	error_clear(&err);
	if (w->e.imap) {
		imap_logout(w->e.imap, &err);
		error_clear(&err);
		imap_close(w->e.imap);
	}
	state_close(w->e.st);
	return NULL;
}

int sync_pairs(struct engine *e, const struct pair *pairs, size_t n,
	       struct error *err)
{
	struct queue q = {.pairs = pairs, .n = n};
	pthread_mutex_init(&q.mu, NULL);
	pthread_mutex_t emit_mu;
	pthread_mutex_init(&emit_mu, NULL);

	/* One connection per folder at most, the run's own included. */
	size_t extra = e->a->remote.connections > 1 ? e->a->remote.connections - 1 : 0;
	if (n == 0)
		extra = 0;
	else if (extra > n - 1)
		extra = n - 1;
	struct worker *workers = extra ? xcalloc(extra, sizeof(*workers)) : NULL;
	if (extra)
		e->emit_mu = &emit_mu;
	for (size_t i = 0; i < extra; i++) {
		struct worker *w = &workers[i];
		w->e = *e;
		w->e.rep = &w->rep;
		w->e.imap = NULL;
		w->e.st = NULL;
		w->q = &q;
		w->started = pthread_create(&w->thread, NULL, worker_main, w) == 0;
	}
	int r = work(e, &q);
	for (size_t i = 0; i < extra; i++) {
		struct worker *w = &workers[i];
		if (!w->started)
			continue;
		pthread_join(w->thread, NULL);
		sync_counts_add(&e->rep->counts, &w->rep.counts);
		e->rep->folders_synced += w->rep.folders_synced;
		e->rep->folders_failed += w->rep.folders_failed;
		e->rep->folders_refused += w->rep.folders_refused;
		e->rep->local_changed |= w->rep.local_changed;
	}
	e->emit_mu = NULL;
	if (q.stop) {
		/* Some connection (maybe this one) hit an account error. */
		r = error_set(err, q.err.reach, "%s", q.err.msg);
		error_clear(&q.err);
	}
	free(workers);
	pthread_mutex_destroy(&q.mu);
	pthread_mutex_destroy(&emit_mu);
	return r;
}
