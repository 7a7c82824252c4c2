/* SPDX-License-Identifier: MIT */
/*
 * Snapshots of both sides, read as an outsider would: the Maildir with
 * readdir() and fopen(), the server with doveadm.  Nothing here uses
 * tidemail's store or IMAP code, so that a bug there cannot hide itself.
 */
#include "chaos.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char chaos_letters[] = "DFPRST";
const char *const chaos_imap_flags[] = {
	"\\Draft", "\\Flagged", "$Forwarded", "\\Answered", "\\Seen", "\\Deleted",
};

char *chaos_flag_letters(unsigned bits)
{
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	for (int i = 0; i < CHAOS_FLAG_COUNT; i++)
		if (bits & (1u << i))
			buf_addc(&b, chaos_letters[i]);
	return buf_detach(&b, NULL);
}

/* "<a@test>" -> "a"; anything else "?". */
static char *name_of(const char *msgid)
{
	size_t n = msgid ? strlen(msgid) : 0;
	if (n > 7 && msgid[0] == '<' && !strcmp(msgid + n - 6, "@test>"))
		return xstrndup(msgid + 1, n - 7);
	return xstrdup("?");
}

/* The body with CRLF as LF and the line ends at its end cut, so that a
 * file written with LF and its copy on the server compare equal. */
static char *normal_body(const char *text)
{
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	for (const char *p = text; *p; p++)
		if (!(p[0] == '\r' && p[1] == '\n'))
			buf_addc(&b, *p);
	while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == ' '))
		b.data[--b.len] = '\0';
	return buf_detach(&b, NULL);
}

static void add_msg(struct chaos_side *s, size_t *cap, char *name, size_t folder,
		    unsigned flags, char *body, char *path)
{
	s->v = xgrow(s->v, sizeof(*s->v), s->n + 1, cap);
	s->v[s->n++] = (struct chaos_msg){name, folder, flags, body, path};
}

static int cmp_msg(const void *a, const void *b)
{
	const struct chaos_msg *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	return x->folder < y->folder ? -1 : x->folder > y->folder;
}

/* ---- the Maildir ------------------------------------------------------- */

static unsigned letters_bits(const char *letters)
{
	unsigned bits = 0;
	for (const char *p = letters; *p; p++) {
		const char *at = strchr(chaos_letters, *p);
		if (at && *p)
			bits |= 1u << (at - chaos_letters);
	}
	return bits;
}

static void read_file(const char *path, char **name_r, char **body_r)
{
	char *text = chaos_read_file(path);
	char *id = NULL;
	/* The header ends at the first empty line (LF or CRLF). */
	char *p = text;
	while (*p && *p != '\n' && !(p[0] == '\r' && p[1] == '\n')) {
		size_t len = strcspn(p, "\n");
		if (!id && !strncasecmp(p, "Message-ID: ", 12))
			id = xstrndup(p + 12, strcspn(p + 12, "\r\n"));
		p += len + (p[len] == '\n');
	}
	p += *p == '\r';
	p += *p == '\n';
	*name_r = name_of(id);
	*body_r = normal_body(p);
	free(id);
	free(text);
}

void chaos_local_snapshot(const char *root, const char *const *folders,
			  size_t n_folders, struct chaos_side *s)
{
	static const char *const subs[] = {"cur", "new"};
	size_t cap = 0;
	*s = (struct chaos_side){NULL, 0};
	for (size_t f = 0; f < n_folders; f++) {
		for (size_t k = 0; k < UTIL_ARRAY_LEN(subs); k++) {
			char *dir = xasprintf("%s/%s/%s", root, folders[f], subs[k]);
			DIR *d = opendir(dir);
			struct dirent *de;
			while (d && (de = readdir(d))) {
				if (de->d_name[0] == '.')
					continue;
				char *path = xasprintf("%s/%s", dir, de->d_name);
				const char *info = strstr(de->d_name, ":2,");
				char *name, *body;
				read_file(path, &name, &body);
				add_msg(s, &cap, name, f, info ? letters_bits(info + 3) : 0,
					body, path);
			}
			if (d)
				closedir(d);
			free(dir);
		}
	}
	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), cmp_msg);
}

/* ---- the server -------------------------------------------------------- */

static unsigned imap_bits(const char *flags)
{
	unsigned bits = 0;
	for (const char *p = flags ? flags : ""; *p;) {
		size_t len = strcspn(p, " ");
		for (int i = 0; i < CHAOS_FLAG_COUNT; i++)
			if (strlen(chaos_imap_flags[i]) == len &&
			    !strncmp(chaos_imap_flags[i], p, len))
				bits |= 1u << i;
		p += len;
		p += strspn(p, " ");
	}
	return bits;
}

static bool server_has(struct harness *h, const char *folder)
{
	char **names;
	size_t n;
	struct error err = ERROR_INIT;
	if (harness_mailbox_list(h, NULL, &names, &n, &err) < 0)
		fail_msg("%s", err.msg);
	bool found = false;
	for (size_t i = 0; i < n && !found; i++)
		found = !strcmp(names[i], folder);
	harness_strv_free(names, n);
	return found;
}

void chaos_server_snapshot(struct harness *h, const char *const *folders,
			   size_t n_folders, struct chaos_side *s)
{
	size_t cap = 0;
	*s = (struct chaos_side){NULL, 0};
	for (size_t f = 0; f < n_folders; f++) {
		struct harness_msg *msgs;
		size_t n;
		struct error err = ERROR_INIT;
		if (harness_fetch(h, NULL, folders[f], "hdr.message-id body", &msgs, &n,
				  &err) < 0) {
			/* A folder that is gone holds nothing; anything else
			 * is the harness failing. */
			if (!server_has(h, folders[f])) {
				error_clear(&err);
				continue;
			}
			fail_msg("doveadm fetch %s: %s", folders[f], err.msg);
		}
		for (size_t i = 0; i < n; i++) {
			const char *body = harness_record_get(&msgs[i].fields, "body");
			add_msg(s, &cap,
				name_of(harness_record_get(&msgs[i].fields, "hdr.message-id")),
				f, imap_bits(msgs[i].flags), normal_body(body ? body : ""),
				NULL);
		}
		harness_msgs_free(msgs, n);
	}
	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), cmp_msg);
}

size_t chaos_side_find(const struct chaos_side *s, const char *name, size_t *n_r)
{
	/* Lower bound of name in the sorted snapshot. */
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(s->v[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t end = lo;
	while (end < s->n && !strcmp(s->v[end].name, name))
		end++;
	*n_r = end - lo;
	return lo;
}

void chaos_side_release(struct chaos_side *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].name);
		free(s->v[i].body);
		free(s->v[i].path);
	}
	free(s->v);
	*s = (struct chaos_side){NULL, 0};
}
