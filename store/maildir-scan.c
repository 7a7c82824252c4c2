/* SPDX-License-Identifier: MIT */
/* Reading a folder: directory stamps for change detection, the full scan
 * of new/ and cur/, and the lookup of one unique part. */
#include "maildir-private.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int stamp_one(const char *folder, enum maildir_sub sub, int64_t *ns_r,
		     struct error *err)
{
	char *path = maildir_sub_path(folder, sub);
	struct stat st;
	int r = 0;
	if (stat(path, &st) < 0)
		r = error_errno(err, ERR_FOLDER, errno, "%s", path);
	else
		*ns_r = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	free(path);
	return r;
}

int maildir_stamp_read(const char *folder, struct maildir_stamp *stamp_r,
		       struct error *err)
{
	int r = stamp_one(folder, MAILDIR_NEW, &stamp_r->new_ns, err);
	if (r == 0)
		r = stamp_one(folder, MAILDIR_CUR, &stamp_r->cur_ns, err);
	return r;
}

bool maildir_stamp_settled(const struct maildir_stamp *s, int64_t now_ns)
{
	/* A time in the future (clock skew, a network file system) is as
	 * untrustworthy as a young one: now - t is negative then. */
	return s->new_ns != 0 && s->cur_ns != 0 &&
	       now_ns - s->new_ns >= MAILDIR_STAMP_GUARD_NS &&
	       now_ns - s->cur_ns >= MAILDIR_STAMP_GUARD_NS;
}

int maildir_unchanged(const char *folder, const struct maildir_stamp *remembered,
		      struct error *err)
{
	if (remembered->new_ns == 0 || remembered->cur_ns == 0)
		return 0;
	struct maildir_stamp now;
	int r = maildir_stamp_read(folder, &now, err);
	if (r < 0)
		return r;
	return now.new_ns == remembered->new_ns && now.cur_ns == remembered->cur_ns;
}

/* Opens new/ or cur/; NULL with err set (ERR_FOLDER) on failure. */
static DIR *open_sub(const char *folder, enum maildir_sub sub, struct error *err)
{
	char *path = maildir_sub_path(folder, sub);
	DIR *d = opendir(path);
	if (!d)
		error_errno(err, ERR_FOLDER, errno, "%s", path);
	free(path);
	return d;
}

struct scanner {
	struct maildir_scan *scan;
	size_t cap, skip_cap;
};

static void scanner_skip(struct scanner *s, enum maildir_sub sub,
			 const char *name, char *why)
{
	char *where = xasprintf("%s/%s", maildir_sub_name(sub), name);
	maildir_skip_add(&s->scan->skipped, &s->scan->n_skipped, &s->skip_cap,
			 where, why);
	free(where);
}

static int read_sub(struct scanner *s, const char *folder, enum maildir_sub sub,
		    struct error *err)
{
	DIR *d = open_sub(folder, sub, err);
	if (!d)
		return -ERR_FOLDER;
	struct maildir_scan *scan = s->scan;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		/* The Maildir spec says to ignore dot files; "." and ".."
		 * are among them.  They are not odd, so not reported. */
		if (name[0] == '.')
			continue;
		if (de->d_type == DT_DIR || de->d_type == DT_LNK) {
			scanner_skip(s, sub, name, xstrdup("not a regular file"));
			continue;
		}
		scan->entries = xgrow(scan->entries, sizeof(*scan->entries),
				      scan->n + 1, &s->cap);
		struct maildir_entry *e = &scan->entries[scan->n];
		const char *why;
		if (maildir_name_parse(name, e, &why) < 0) {
			scanner_skip(s, sub, name, xstrdup(why));
			continue;
		}
		e->sub = sub;
		scan->n++;
	}
	int e = errno;
	closedir(d);
	if (e)
		return error_errno(err, ERR_FOLDER, e, "read %s/%s", folder,
				   maildir_sub_name(sub));
	return 0;
}

/* By unique part; for equal ones cur/ before new/, then by name, so that
 * the copy kept is the same on every run. */
static int entry_cmp(const void *a, const void *b)
{
	const struct maildir_entry *x = a, *y = b;
	int c = strcmp(x->unique, y->unique);
	if (c)
		return c;
	if (x->sub != y->sub)
		return x->sub == MAILDIR_CUR ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void drop_duplicates(struct scanner *s)
{
	struct maildir_scan *scan = s->scan;
	size_t out = 0;
	for (size_t i = 0; i < scan->n; i++) {
		struct maildir_entry *e = &scan->entries[i];
		if (out > 0 && strcmp(scan->entries[out - 1].unique, e->unique) == 0) {
			const struct maildir_entry *kept = &scan->entries[out - 1];
			scanner_skip(s, e->sub, e->name,
				     xasprintf("duplicate unique part; %s/%s kept",
					       maildir_sub_name(kept->sub), kept->name));
			maildir_entry_release(e);
			continue;
		}
		if (out != i)
			scan->entries[out] = *e;
		out++;
	}
	scan->n = out;
}

int maildir_scan(const char *folder, struct maildir_scan *scan_r,
		 struct error *err)
{
	memset(scan_r, 0, sizeof(*scan_r));
	/* The stamp is read before the directories: a change after this
	 * point moves the times (unless it falls in the same clock tick,
	 * which the settle guard covers), so the next run sees it. */
	int64_t now = maildir_now_ns();
	struct maildir_stamp stamp;
	int r = maildir_stamp_read(folder, &stamp, err);
	if (r < 0)
		return r;
	if (maildir_stamp_settled(&stamp, now))
		scan_r->stamp = stamp;

	struct scanner s = {.scan = scan_r};
	r = read_sub(&s, folder, MAILDIR_CUR, err);
	if (r == 0)
		r = read_sub(&s, folder, MAILDIR_NEW, err);
	if (r < 0) {
		maildir_scan_release(scan_r);
		return r;
	}
	if (scan_r->n > 1) {
		qsort(scan_r->entries, scan_r->n, sizeof(*scan_r->entries), entry_cmp);
		drop_duplicates(&s);
	}
	return 0;
}

static int unique_cmp(const void *key, const void *elem)
{
	const struct maildir_entry *e = elem;
	return strcmp(key, e->unique);
}

const struct maildir_entry *maildir_scan_find(const struct maildir_scan *scan,
					      const char *unique)
{
	if (scan->n == 0)
		return NULL;
	return bsearch(unique, scan->entries, scan->n, sizeof(*scan->entries),
		       unique_cmp);
}

void maildir_scan_release(struct maildir_scan *scan)
{
	for (size_t i = 0; i < scan->n; i++)
		maildir_entry_release(&scan->entries[i]);
	free(scan->entries);
	maildir_skips_free(scan->skipped, scan->n_skipped);
	memset(scan, 0, sizeof(*scan));
}

/* Looks through one subdirectory: 1 found, 0 not, negative on error. */
static int find_in(const char *folder, enum maildir_sub sub, const char *unique,
		   struct maildir_entry *e_r, struct error *err)
{
	DIR *d = open_sub(folder, sub, err);
	if (!d)
		return -ERR_FOLDER;
	size_t len = strlen(unique);
	struct dirent *de;
	int found = 0;
	while (!found && (de = readdir(d))) {
		const char *why;
		if (strncmp(de->d_name, unique, len) != 0 ||
		    (de->d_name[len] != ':' && de->d_name[len] != '\0'))
			continue;
		if (maildir_name_parse(de->d_name, e_r, &why) == 0) {
			e_r->sub = sub;
			found = 1;
		}
	}
	closedir(d);
	return found;
}

int maildir_find(const char *folder, const char *unique,
		 struct maildir_entry *e_r, struct error *err)
{
	int r = find_in(folder, MAILDIR_CUR, unique, e_r, err);
	if (r == 0)
		r = find_in(folder, MAILDIR_NEW, unique, e_r, err);
	return r;
}
