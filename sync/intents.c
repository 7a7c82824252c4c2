/* SPDX-License-Identifier: MIT */
/*
 * Intents and their replay.  Only the side effects that create a copy of
 * a message need an intent, since only they could duplicate mail when a
 * run dies between the effect and the state commit:
 *
 *   download  uid, unique: the file that is being written.  On replay the
 *             file is looked for by its unique part; found, the state
 *             learns it (it is not uploaded back); not found, nothing was
 *             made and the message is planned as new again.
 *   append    unique, uidnext, msgid, size, date: the upload.  On replay
 *             the server is searched among UIDs >= uidnext by Message-ID
 *             (else by size and INTERNALDATE when exactly one matches);
 *             found, the state learns its UID; not found, the file is
 *             planned as new again.
 *
 * Every other effect (a rename for flags, a STORE, an unlink, an
 * expunge) is safe to repeat and converges by itself: the next run sees
 * the change on one side and the same value on the other (see
 * docs/sync.md).
 */
#include "sync-private.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>


char *sync_intent_params(const char *key, ...)
{
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	va_list ap;
	va_start(ap, key);
	for (const char *k = key; k; k = va_arg(ap, const char *)) {
		const char *v = va_arg(ap, const char *);
		/* Values never hold a newline: names from a scan have no
		 * control characters and Message-IDs are one header line. */
		buf_addf(&b, "%s=%s\n", k, v ? v : "");
	}
	va_end(ap);
	return buf_detach(&b, NULL);
}

char *sync_intent_get(const char *params, const char *key)
{
	size_t klen = strlen(key);
	for (const char *p = params; p && *p;) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len > klen && !strncmp(p, key, klen) && p[klen] == '=')
			return xstrndup(p + klen + 1, len - klen - 1);
		p = end ? end + 1 : NULL;
	}
	return NULL;
}

static uint64_t get_num(const char *params, const char *key)
{
	char *v = sync_intent_get(params, key);
	uint64_t n = v ? strtoull(v, NULL, 10) : 0;
	free(v);
	return n;
}

/* The state learns a message both sides now have. */
static int learn(struct folder_run *f, uint32_t uid, const char *unique,
		 unsigned flags, uint64_t size, int64_t date, const char *msgid,
		 struct error *err)
{
	struct state_msg old;
	int r = state_msg_by_uid(f->e->st, f->sf.id, uid, &old, err);
	if (r < 0)
		return r;
	if (r == 1) {
		state_msg_release(&old);
		return 0;
	}
	struct state_msg m = {
		.folder_id = f->sf.id,
		.uid = uid,
		.local = (char *)(uintptr_t)unique,
		.flags = flags,
		.local_flags = flags,
		.size = size,
		.internal_date = date,
		.message_id = msgid && *msgid ? (char *)(uintptr_t)msgid : NULL,
	};
	int64_t id;
	return state_msg_insert(f->e->st, &m, &id, err);
}

static int replay_download(struct folder_run *f, const struct state_intent *in,
			   struct error *err)
{
	uint32_t uid = (uint32_t)get_num(in->params, "uid");
	char *unique = sync_intent_get(in->params, "unique");
	int r = 0;
	if (uid && unique && get_num(in->params, "uidvalidity") == f->mb.uidvalidity) {
		struct maildir_entry e;
		r = maildir_find(f->path, unique, &e, err);
		if (r == 1) {
			r = learn(f, uid, unique, e.flags, get_num(in->params, "size"),
				  (int64_t)get_num(in->params, "date"), NULL, err);
			maildir_entry_release(&e);
		}
	}
	free(unique);
	return r < 0 ? r : 0;
}

/* The UID an interrupted APPEND got, or 0 if it never arrived. */
int sync_find_appended(struct folder_run *f, const struct state_intent *in,
			 uint32_t *uid_r, struct error *err)
{
	*uid_r = 0;
	uint64_t uidnext = get_num(in->params, "uidnext");
	if (!uidnext)
		uidnext = 1;
	char *msgid = sync_intent_get(in->params, "msgid");
	char *quoted = msgid && *msgid ? imap_quote(msgid) : NULL;
	uint32_t *uids = NULL;
	size_t n = 0;
	int r;
	if (quoted) {
		char *criteria = xasprintf("UID %llu:* HEADER Message-ID %s",
					   (unsigned long long)uidnext, quoted);
		r = imap_uid_search(f->e->imap, criteria, &uids, &n, err);
		free(criteria);
		/* UID n:* also names the highest UID when it is below n. */
		while (r == 0 && n && uids[n - 1] < uidnext)
			n--;
		if (r == 0 && n >= 1)
			*uid_r = uids[0];
	} else {
		/* No Message-ID: only an exact size and date, seen once. */
		char *criteria = xasprintf("UID %llu:* LARGER %llu SMALLER %llu",
					   (unsigned long long)uidnext,
					   (unsigned long long)get_num(in->params, "size") - 1,
					   (unsigned long long)get_num(in->params, "size") + 1);
		r = imap_uid_search(f->e->imap, criteria, &uids, &n, err);
		free(criteria);
		while (r == 0 && n && uids[n - 1] < uidnext)
			n--;
		if (r == 0 && n == 1)
			*uid_r = uids[0];
	}
	free(uids);
	free(quoted);
	free(msgid);
	return r;
}

static int replay_append(struct folder_run *f, const struct state_intent *in,
			 struct error *err)
{
	if (get_num(in->params, "uidvalidity") != f->mb.uidvalidity)
		return 0; /* the folder was recreated: the upload is moot */
	uint32_t uid;
	int r = sync_find_appended(f, in, &uid, err);
	if (r < 0 || uid == 0)
		return r;
	char *unique = sync_intent_get(in->params, "unique");
	char *msgid = sync_intent_get(in->params, "msgid");
	struct maildir_entry e;
	r = unique ? maildir_find(f->path, unique, &e, err) : 0;
	unsigned flags = (unsigned)get_num(in->params, "flags");
	if (r == 1) {
		flags = e.flags;
		maildir_entry_release(&e);
	}
	/* Even when the file went meanwhile, the server copy is recorded
	 * with it, so the planner sees a removal, not a new message. */
	if (r >= 0 && unique)
		r = learn(f, uid, unique, flags, get_num(in->params, "size"),
			  (int64_t)get_num(in->params, "date"), msgid, err);
	free(unique);
	free(msgid);
	return r < 0 ? r : 0;
}

int sync_replay_folder(struct folder_run *f, struct error *err)
{
	struct engine *e = f->e;
	for (size_t i = 0; i < e->n_intents; i++) {
		const struct state_intent *in = &e->intents[i];
		if (!in->folder || strcmp(in->folder, f->remote) != 0)
			continue;
		int r = 0;
		if (!strcmp(in->kind, "download"))
			r = replay_download(f, in, err);
		else if (!strcmp(in->kind, "append"))
			r = replay_append(f, in, err);
		if (r == 0)
			r = state_intent_confirm(e->st, in->id, err);
		if (r < 0)
			return error_prefix(err, "resuming an interrupted %s", in->kind);
	}
	return 0;
}
