/* SPDX-License-Identifier: MIT */
/*
 * Adopting an existing Maildir (SPEC.md section 3): the first sync of a
 * folder whose directory already holds mail matches files to server
 * messages before planning, so that they are kept as they are (same file,
 * same inode) and only the rest is transferred.
 *
 *   - A folder mbsync kept (its .mbsyncstate, SyncState *) maps mbsync's
 *     ",U=" number in each file name to the server UID, when mbsync's
 *     FarUidValidity is the server's; the flags mbsync last agreed on are
 *     the base of the flag merge.
 *   - Otherwise, and for files the map does not cover: the same
 *     Message-ID, found once on each side, and the same size, counting the
 *     file's bare LFs as the CRLFs the server has (mail readers and mbsync
 *     store LF).  The flags both sides have are the base, so that a flag
 *     set on either side is kept.
 *
 * Messages without a Message-ID are never matched by guess.
 */
#include "sync-private.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct near_far {
	uint32_t near, far;
	unsigned flags;
};

struct mbsync_map {
	struct near_far *v;
	size_t n, cap;
};

/* .mbsyncstate: "Key value" lines, a blank line, then "far near flags". */
static void read_mbsyncstate(struct folder_run *f, struct mbsync_map *map)
{
	char *path = xasprintf("%s/.mbsyncstate", f->path);
	FILE *in = fopen(path, "r");
	free(path);
	if (!in)
		return;
	char line[512];
	unsigned long long far_uv = 0;
	bool body = false, ok = false;
	while (fgets(line, sizeof(line), in)) {
		if (!body) {
			if (line[0] == '\n') {
				body = true;
				ok = far_uv && far_uv == f->mb.uidvalidity;
				if (!ok)
					break;
			} else {
				sscanf(line, "FarUidValidity %llu", &far_uv);
			}
			continue;
		}
		unsigned long far, near;
		char letters[16] = "";
		if (sscanf(line, "%lu %lu %15s", &far, &near, letters) < 2 || !far || !near)
			continue;
		unsigned flags = 0;
		for (const char *p = letters; *p; p++)
			flags |= maildir_flag_from_letter(*p);
		map->v = xgrow(map->v, sizeof(*map->v), map->n + 1, &map->cap);
		map->v[map->n++] = (struct near_far){(uint32_t)near, (uint32_t)far, flags};
	}
	fclose(in);
	if (!ok)
		map->n = 0;
}

/* The file's Message-ID, and its size as the server would count it: each
 * bare LF a CRLF, and without the X-TUID header mbsync adds to the copies
 * it makes (the server's copy lacks it). */
static char *file_facts(struct folder_run *f, const struct maildir_entry *me,
			uint64_t *crlf_size_r, uint64_t *size_r)
{
	char *path = xasprintf("%s/%s/%s", f->path, me->sub == MAILDIR_NEW ? "new" : "cur",
			       me->name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	*crlf_size_r = *size_r = 0;
	if (fd < 0)
		return NULL;
	char *msgid = sync_msgid_from_fd(fd);
	char buf[65536];
	ssize_t n;
	char prev = '\n';
	bool header = true;
	uint64_t line_start = 0, tuid = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			uint64_t at = *size_r + (uint64_t)i;
			if (header && prev == '\n') {
				line_start = at;
				if (buf[i] == '\n' || buf[i] == '\r')
					header = false;
			}
			if (buf[i] == '\n' && prev != '\r')
				(*crlf_size_r)++;
			/* A header line "X-TUID: ..." (checked at its end, when
			 * its first bytes are behind us, so only within one
			 * buffer: header lines are short). */
			if (header && buf[i] == '\n' && at >= line_start &&
			    at - line_start >= 7 && line_start >= *size_r &&
			    !strncasecmp(buf + (line_start - *size_r), "X-TUID:", 7))
				tuid += at - line_start + 1 + (prev != '\r');
			prev = buf[i];
		}
		*size_r += (uint64_t)n;
	}
	*crlf_size_r += *size_r - tuid;
	close(fd);
	return msgid;
}

struct adopted {
	const struct maildir_entry *file;
	size_t remote;  /* index in f->premote */
	unsigned base;  /* the flags both sides agree on */
	char *msgid;
};

static int cmp_id_of(const void *a, const void *b, void *ctx)
{
	char **ids = ctx;
	return strcmp(ids[*(const size_t *)a], ids[*(const size_t *)b]);
}

static int cmp_msgid_idx(const void *a, const void *b, void *ctx)
{
	const struct folder_run *f = ctx;
	return strcmp(f->rx[*(const size_t *)a].msgid, f->rx[*(const size_t *)b].msgid);
}

/* The server messages with Message-IDs, sorted by them. */
static size_t *server_by_msgid(struct folder_run *f, size_t *n_r)
{
	size_t *v = xcalloc(f->n_remote ? f->n_remote : 1, sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < f->n_remote; i++)
		if (f->rx[i].msgid)
			v[n++] = i;
	qsort_r(v, n, sizeof(*v), cmp_msgid_idx, f);
	*n_r = n;
	return v;
}

/* The index of the one server message with this Message-ID, or -1. */
static ssize_t unique_server(struct folder_run *f, const size_t *v, size_t n,
			     const char *msgid)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(f->rx[v[mid]].msgid, msgid) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo >= n || strcmp(f->rx[v[lo]].msgid, msgid))
		return -1;
	if (lo + 1 < n && !strcmp(f->rx[v[lo + 1]].msgid, msgid))
		return -1;
	return (ssize_t)v[lo];
}

int sync_adopt(struct folder_run *f, struct error *err)
{
	struct engine *e = f->e;
	/* A folder the state holds no message of: its first sync, or one a
	 * crash cut short after the folder was recorded. */
	if (f->msgs.n || !f->scanned || !f->scan.n || !f->n_remote)
		return 0;
	struct mbsync_map map = {0};
	read_mbsyncstate(f, &map);
	bool *taken = xcalloc(f->n_remote, sizeof(*taken));
	struct adopted *ad = xcalloc(f->scan.n, sizeof(*ad));
	size_t n_ad = 0;

	/* mbsync's own record first. */
	bool *done = xcalloc(f->scan.n, sizeof(*done));
	for (size_t i = 0; i < f->scan.n && map.n; i++) {
		const struct maildir_entry *me = &f->scan.entries[i];
		for (size_t k = 0; me->uid && k < map.n; k++) {
			if (map.v[k].near != me->uid)
				continue;
			for (size_t j = 0; j < f->n_remote; j++)
				if (f->premote[j].uid == map.v[k].far && !taken[j]) {
					taken[j] = done[i] = true;
					ad[n_ad++] = (struct adopted){me, j, map.v[k].flags, NULL};
				}
			break;
		}
	}
	/* Then Message-ID and size, found once on each side. */
	size_t n_idx;
	size_t *idx = server_by_msgid(f, &n_idx);
	char **ids = xcalloc(f->scan.n, sizeof(*ids));
	uint64_t *crlf = xcalloc(f->scan.n, sizeof(*crlf)), *size = xcalloc(f->scan.n, sizeof(*size));
	for (size_t i = 0; i < f->scan.n; i++)
		if (!done[i])
			ids[i] = file_facts(f, &f->scan.entries[i], &crlf[i], &size[i]);
	/* A Message-ID two files share identifies neither. */
	bool *twin = xcalloc(f->scan.n, sizeof(*twin));
	size_t *order = xcalloc(f->scan.n, sizeof(*order));
	size_t n_order = 0;
	for (size_t i = 0; i < f->scan.n; i++)
		if (ids[i])
			order[n_order++] = i;
	qsort_r(order, n_order, sizeof(*order), cmp_id_of, ids);
	for (size_t k = 1; k < n_order; k++)
		if (!strcmp(ids[order[k]], ids[order[k - 1]]))
			twin[order[k]] = twin[order[k - 1]] = true;
	free(order);
	for (size_t i = 0; i < f->scan.n; i++) {
		if (done[i] || !ids[i])
			continue;
		ssize_t j = twin[i] ? -1 : unique_server(f, idx, n_idx, ids[i]);
		if (j < 0 || taken[j])
			continue;
		uint64_t rs = f->premote[j].size;
		if (rs != size[i] && rs != crlf[i])
			continue;
		taken[j] = done[i] = true;
		ad[n_ad++] = (struct adopted){&f->scan.entries[i], (size_t)j,
					      f->scan.entries[i].flags & f->premote[j].flags,
					      ids[i]};
		ids[i] = NULL;
	}

	int r = n_ad && !e->o->dry_run ? sync_folder_record(f, err) : 0;
	if (r == 0 && n_ad && !e->o->dry_run)
		r = state_begin(e->st, err);
	for (size_t i = 0; r == 0 && i < n_ad; i++) {
		const struct plan_remote_msg *rm = &f->premote[ad[i].remote];
		const char *msgid = ad[i].msgid ? ad[i].msgid : f->rx[ad[i].remote].msgid;
		struct state_msg m = {
			.folder_id = f->sf.id,
			.uid = rm->uid,
			.local = ad[i].file->unique,
			.flags = ad[i].base,
			.local_flags = ad[i].base,
			.keywords = f->rx[ad[i].remote].keywords,
			.size = rm->size,
			.message_id = (char *)(uintptr_t)msgid,
			.internal_date = rm->date,
		};
		if (!e->o->dry_run)
			r = state_msg_insert(e->st, &m, &m.id, err);
		if (r == 0)
			sync_view_add_state(f, &m);
	}
	if (n_ad && !e->o->dry_run) {
		if (r == 0) {
			sync_step(e, "adopt-state");
			r = state_commit(e->st, err);
		}
		if (r < 0)
			state_rollback(e->st);
	}
	if (r == 0 && n_ad) {
		f->counts.adopted += n_ad;
		char *text = xasprintf("adopted %zu of %zu existing files%s", n_ad, f->scan.n,
				       map.n ? " (mbsync's state)" : "");
		sync_emit(e, e->o->dry_run ? SYNC_EV_PLAN : SYNC_EV_PROGRESS, f->remote,
			  text, NULL);
		free(text);
	}
	for (size_t i = 0; i < f->scan.n; i++)
		free(ids[i]);
	for (size_t i = 0; i < n_ad; i++)
		free(ad[i].msgid);
	free(ids);
	free(twin);
	free(crlf);
	free(size);
	free(idx);
	free(done);
	free(ad);
	free(taken);
	free(map.v);
	return r;
}
