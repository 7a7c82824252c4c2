/* SPDX-License-Identifier: MIT */
#include "crash-view.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* One folder of a view: its suffix and its "name:LETTERS" items. */
struct vfolder {
	char *suffix;
	char **items;
	size_t n, cap;
};

struct view {
	struct vfolder *f;
	size_t n, cap;
};

static struct vfolder *view_folder(struct view *v, const char *suffix)
{
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->f[i].suffix, suffix))
			return &v->f[i];
	v->f = xgrow(v->f, sizeof(*v->f), v->n + 1, &v->cap);
	struct vfolder *f = &v->f[v->n++];
	memset(f, 0, sizeof(*f));
	f->suffix = xstrdup(suffix);
	return f;
}

static void view_add(struct view *v, const char *suffix, char *item)
{
	struct vfolder *f = view_folder(v, suffix);
	f->items = xgrow(f->items, sizeof(*f->items), f->n + 1, &f->cap);
	f->items[f->n++] = item;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_folder(const void *a, const void *b)
{
	return strcmp(((const struct vfolder *)a)->suffix,
		      ((const struct vfolder *)b)->suffix);
}

/* The line, and the view released. */
static char *view_line(struct view *v)
{
	if (v->n)
		qsort(v->f, v->n, sizeof(*v->f), cmp_folder);
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	for (size_t i = 0; i < v->n; i++) {
		struct vfolder *f = &v->f[i];
		if (f->n)
			qsort(f->items, f->n, sizeof(*f->items), cmp_str);
		buf_addf(&b, "%s%s:", i ? " | " : "", f->suffix);
		for (size_t j = 0; j < f->n; j++) {
			buf_addf(&b, " %s", f->items[j]);
			free(f->items[j]);
		}
		free(f->items);
		free(f->suffix);
	}
	free(v->f);
	return buf_detach(&b, NULL);
}

/* Calls fn(ctx, suffix, path) for each directory entry of dir whose name
 * is prefix followed by more. */
static void each_prefixed(const char *dir, const char *prefix,
			  void (*fn)(void *, const char *, const char *), void *ctx)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	size_t len = strlen(prefix);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, prefix, len) || !de->d_name[len])
			continue;
		char *path = xasprintf("%s/%s", dir, de->d_name);
		fn(ctx, de->d_name + len, path);
		free(path);
	}
	closedir(d);
}

/* each_prefixed over the server's folders "<base>-*": in Dovecot's
 * Maildir++ layout mailbox "B-x" is the directory ".B-x". */
static void each_server_folder(struct world *w, const char *base,
			       void (*fn)(void *, const char *, const char *),
			       struct view *v)
{
	char *maildir = xasprintf("%s/%s/Maildir", w->h->mail_dir, w->h->user);
	char *prefix = xasprintf(".%s-", base);
	each_prefixed(maildir, prefix, fn, v);
	free(prefix);
	free(maildir);
}

static void server_folder(void *ctx, const char *suffix, const char *path)
{
	view_folder(ctx, suffix);
}

char *crash_view_server(struct world *w, const char *base)
{
	struct view v = {0};
	/* Empty folders show only as directories. */
	each_server_folder(w, base, server_folder, &v);
	char *pattern = xasprintf("%s-*", base);
	struct harness_record *recs;
	size_t n;
	struct error err = ERROR_INIT;
	if (harness_doveadm_records(w->h, &recs, &n, &err, "fetch", "-u", w->h->user,
				    "mailbox hdr.message-id flags", "mailbox", pattern,
				    NULL) < 0)
		fail_msg("%s", err.msg);
	free(pattern);
	size_t skip = strlen(base) + 1;
	for (size_t i = 0; i < n; i++) {
		const char *mbox = harness_record_get(&recs[i], "mailbox");
		const char *id = harness_record_get(&recs[i], "hdr.message-id");
		if (!mbox || strlen(mbox) < skip)
			fail_msg("doveadm fetch: a record without a mailbox");
		size_t idlen = id ? strlen(id) : 0;
		struct buf b = BUF_INIT(BUF_UNLIMITED);
		if (idlen > 7 && id[0] == '<' && !strcmp(id + idlen - 6, "@test>"))
			buf_add(&b, id + 1, idlen - 7);
		else
			buf_adds(&b, id ? id : "?");
		buf_addc(&b, ':');
		world_imap_letters(harness_record_get(&recs[i], "flags"), &b);
		view_add(&v, mbox + skip, buf_detach(&b, NULL));
	}
	harness_records_free(recs, n);
	return view_line(&v);
}

struct local_ctx {
	struct view *v;
	const char *suffix;
};

static void local_file(struct local_ctx *c, const char *path, const char *file)
{
	char *name = world_file_name(path);
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	buf_addf(&b, "%s:", name);
	const char *info = strstr(file, ":2,");
	/* The letters IMAP has flags for, in order, as world.c spells them. */
	for (const char *l = "DFPRST"; info && *l; l++)
		if (strchr(info + 3, *l))
			buf_addc(&b, *l);
	free(name);
	view_add(c->v, c->suffix, buf_detach(&b, NULL));
}

static void local_folder(void *ctx, const char *suffix, const char *path)
{
	struct local_ctx c = {ctx, suffix};
	view_folder(c.v, suffix);
	static const char *const subs[] = {"new", "cur"};
	for (size_t i = 0; i < 2; i++) {
		char *dir = xasprintf("%s/%s", path, subs[i]);
		DIR *d = opendir(dir);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			char *file = xasprintf("%s/%s", dir, de->d_name);
			local_file(&c, file, de->d_name);
			free(file);
		}
		if (d)
			closedir(d);
		free(dir);
	}
}

char *crash_view_server_files(struct world *w, const char *base)
{
	struct view v = {0};
	/* Dovecot keeps a Maildir as well: the same reading as ours. */
	each_server_folder(w, base, local_folder, &v);
	return view_line(&v);
}

char *crash_view_local(struct world *w, const char *base)
{
	struct view v = {0};
	char *prefix = xasprintf("%s-", base);
	each_prefixed(w->root, prefix, local_folder, &v);
	free(prefix);
	return view_line(&v);
}

char *crash_view_expand(const char *spec, unsigned k)
{
	struct view v = {0};
	char *folder = NULL;
	bool head = true;
	for (const char *p = spec; *p;) {
		size_t len = strcspn(p, " ");
		char *word = xstrndup(p, len);
		if (!strcmp(word, "|")) {
			head = true;
		} else if (head) {
			head = false;
			free(folder);
			folder = xstrndup(word, len - 1); /* without its ':' */
			view_folder(&v, folder);
		} else {
			char *star = strchr(word, '*');
			for (unsigned i = 0; star && i < k; i++)
				view_add(&v, folder, xasprintf("%.*s%u%s", (int)(star - word),
							       word, i, star + 1));
			if (!star)
				view_add(&v, folder, xstrdup(word));
		}
		free(word);
		p += len;
		p += strspn(p, " ");
	}
	free(folder);
	return view_line(&v);
}

/* The message names of a view line, sorted. */
static char **line_names(const char *line, size_t *n_r)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	bool head = true; /* the first word and each after "|" name folders */
	for (const char *p = line; *p;) {
		size_t len = strcspn(p, " ");
		if (len == 1 && *p == '|') {
			head = true;
		} else if (head) {
			head = false;
		} else {
			names = xgrow(names, sizeof(*names), n + 1, &cap);
			names[n++] = xstrndup(p, strcspn(p, ":"));
		}
		p += len;
		p += strspn(p, " ");
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	*n_r = n;
	return names;
}

void crash_view_count(const char *want, const char *got, unsigned *lost_r,
		      unsigned *dup_r)
{
	size_t nw, ng;
	char **w = line_names(want, &nw), **g = line_names(got, &ng);
	unsigned lost = 0, dup = 0;
	size_t i = 0, j = 0;
	while (i < nw || j < ng) {
		/* The copies of one name on each side. */
		const char *name = i == nw ? g[j] : j == ng || strcmp(w[i], g[j]) < 0 ? w[i] : g[j];
		size_t cw = 0, cg = 0;
		while (i < nw && !strcmp(w[i], name))
			cw++, i++;
		while (j < ng && !strcmp(g[j], name))
			cg++, j++;
		/* A message the run should have removed but that came back
		 * once is divergent, not a duplicate: the inputs held it. */
		if (cg < cw)
			lost += (unsigned)(cw - cg);
		else if (cg > (cw ? cw : 1))
			dup += (unsigned)(cg - (cw ? cw : 1));
	}
	for (i = 0; i < nw; i++)
		free(w[i]);
	for (j = 0; j < ng; j++)
		free(g[j]);
	free(w);
	free(g);
	*lost_r = lost;
	*dup_r = dup;
}
