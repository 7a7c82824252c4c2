/* SPDX-License-Identifier: MIT */
/*
 * When `tidemail watch` syncs an account next.  Pure: the caller passes
 * the time, so tests/cmd/test-watch.c can walk through hours in a table.
 */
#include "watch.h"

#include <time.h>

int64_t watch_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* The next step of a doubling back-off. */
static int64_t backoff_step(int64_t last, int64_t max)
{
	if (last <= 0)
		return min64(WATCH_BACKOFF_MIN_MS, max);
	return last >= max / 2 ? max : last * 2;
}

void watch_sched_init(struct watch_sched *s, int64_t interval_ms, int64_t now)
{
	*s = (struct watch_sched){
		.interval_ms = interval_ms,
		.due = now,
		.burst_start = -1,
		.burst_last = -1,
		.not_before = 0,
		.periodic = now + interval_ms,
		.remote_at = now,
	};
}

void watch_sched_change(struct watch_sched *s, int64_t now)
{
	if (s->burst_start < 0)
		s->burst_start = now;
	s->burst_last = now;
}

void watch_sched_now(struct watch_sched *s, int64_t now)
{
	s->due = min64(s->due, now);
}

int64_t watch_sched_next(const struct watch_sched *s)
{
	int64_t next = min64(s->due, s->periodic);
	if (s->burst_start >= 0)
		next = min64(next, min64(s->burst_last + WATCH_DEBOUNCE_MS,
					 s->burst_start + WATCH_DEBOUNCE_CAP_MS));
	return max64(next, s->not_before);
}

int64_t watch_sched_done(struct watch_sched *s, enum watch_outcome o,
			 int64_t now)
{
	/* Changes seen during the run are read after it returns, so
	 * whatever was pending before it is now synced. */
	s->due = WATCH_NEVER;
	s->burst_start = s->burst_last = -1;
	switch (o) {
	case WATCH_OFFLINE:
		s->lock_wait_ms = 0;
		s->backoff_ms = backoff_step(s->backoff_ms, WATCH_BACKOFF_MAX_MS);
		s->not_before = s->due = now + s->backoff_ms;
		return s->backoff_ms;
	case WATCH_LOCKED:
		/* The network is as it was: keep backoff_ms. */
		s->lock_wait_ms = backoff_step(s->lock_wait_ms,
					       WATCH_LOCK_RETRY_MAX_MS);
		s->not_before = s->due = now + s->lock_wait_ms;
		return s->lock_wait_ms;
	case WATCH_SYNCED:
	case WATCH_FAILED:
		break;
	}
	s->backoff_ms = s->lock_wait_ms = 0;
	s->not_before = 0;
	s->periodic = now + s->interval_ms;
	return 0;
}

void watch_sched_remote_died(struct watch_sched *s, int64_t up_ms, int64_t now)
{
	if (up_ms >= WATCH_REMOTE_STABLE_MS)
		s->remote_backoff_ms = 0;
	s->remote_backoff_ms = backoff_step(s->remote_backoff_ms,
					    WATCH_BACKOFF_MAX_MS);
	s->remote_at = now + s->remote_backoff_ms;
}
