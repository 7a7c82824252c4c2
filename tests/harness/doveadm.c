/* SPDX-License-Identifier: MIT */
/*
 * doveadm as an oracle: every helper is one doveadm command against the
 * private instance, with an argument vector (no shell, so folder names
 * need no quoting) and, where it prints, its JSON output parsed.
 */
#include "harness-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* doveadm answers in milliseconds; this only stops a hung test. */
#define DOVEADM_TIMEOUT_MS 30000
#define DOVEADM_STDERR_MAX (64 * 1024)
/* Dovecot re-reads the passwd-file at most once a second. */
#define ADD_USER_TIMEOUT_MS 5000

/* A growing NULL-terminated vector of borrowed strings. */
struct args {
	const char **v;
	size_t n, cap;
};

static void args_add(struct args *a, const char *s)
{
	a->v = xgrow(a->v, sizeof(*a->v), a->n + 2, &a->cap);
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

static void args_add_va(struct args *a, const char *first, va_list ap)
{
	for (const char *s = first; s; s = va_arg(ap, const char *))
		args_add(a, s);
}

static const char *user_or_default(struct harness *h, const char *user)
{
	return user ? user : h->user;
}

/* "doveadm fetch ... failed (exit 68): <stderr as one line>" */
static int command_failed(const char *const *args, int status,
			  struct buf *errout, struct error *err)
{
	struct buf cmd = BUF_INIT(BUF_UNLIMITED);
	for (size_t i = 0; args[i]; i++)
		buf_addf(&cmd, "%s%s", i ? " " : "", args[i]);
	while (errout->len > 0 && errout->data[errout->len - 1] == '\n')
		errout->data[--errout->len] = '\0';
	for (size_t i = 0; i < errout->len; i++)
		if (errout->data[i] == '\n')
			errout->data[i] = '|';
	int r;
	if (WIFEXITED(status))
		r = error_set(err, ERR_ACCOUNT, "doveadm %s failed (exit %d): %s",
			      cmd.data, WEXITSTATUS(status), errout->data);
	else
		r = error_set(err, ERR_ACCOUNT, "doveadm %s died (status %d): %s",
			      cmd.data, status, errout->data);
	buf_release(&cmd);
	return r;
}

int harness_doveadm_argv(struct harness *h, const char *stdin_data,
			 struct buf *out, const char *const *args,
			 struct error *err)
{
	struct args a = {NULL, 0, 0};
	args_add(&a, HARNESS_DOVEADM_BIN);
	args_add(&a, "-c");
	args_add(&a, h->conf_file);
	for (size_t i = 0; args[i]; i++)
		args_add(&a, args[i]);
	struct buf errout = BUF_INIT(DOVEADM_STDERR_MAX);
	int status = 0;
	int r = harness_run(a.v, stdin_data, out, &errout, DOVEADM_TIMEOUT_MS,
			    &status, err);
	if (r == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		r = command_failed(args, status, &errout, err);
	buf_release(&errout);
	free(a.v);
	return r;
}

int harness_doveadm(struct harness *h, const char *stdin_data,
		    struct buf *out, struct error *err, const char *arg0, ...)
{
	struct args a = {NULL, 0, 0};
	va_list ap;
	va_start(ap, arg0);
	args_add_va(&a, arg0, ap);
	va_end(ap);
	int r = harness_doveadm_argv(h, stdin_data, out, a.v, err);
	free(a.v);
	return r;
}

static int records_argv(struct harness *h, const char *const *args,
			struct harness_record **recs_r, size_t *count_r,
			struct error *err)
{
	struct args a = {NULL, 0, 0};
	args_add(&a, "-f");
	args_add(&a, "json");
	for (size_t i = 0; args[i]; i++)
		args_add(&a, args[i]);
	struct buf out = BUF_INIT(BUF_UNLIMITED);
	int r = harness_doveadm_argv(h, NULL, &out, a.v, err);
	free(a.v);
	/* Commands that find nothing may print nothing at all. */
	if (r == 0)
		r = harness_json_records(out.len ? out.data : "[]", recs_r,
					 count_r, err);
	buf_release(&out);
	return r;
}

int harness_doveadm_records(struct harness *h, struct harness_record **recs_r,
			    size_t *count_r, struct error *err,
			    const char *arg0, ...)
{
	struct args a = {NULL, 0, 0};
	va_list ap;
	va_start(ap, arg0);
	args_add_va(&a, arg0, ap);
	va_end(ap);
	int r = records_argv(h, a.v, recs_r, count_r, err);
	free(a.v);
	return r;
}

/* Strict decimal: the whole string, no sign, no overflow. */
static int parse_u64(const char *s, uint64_t max, uint64_t *v_r)
{
	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*v_r = v;
	return 0;
}

int harness_mailbox_status(struct harness *h, const char *user,
			   const char *folder, struct harness_status *st_r,
			   struct error *err)
{
	struct harness_record *recs;
	size_t n;
	int r = harness_doveadm_records(
		h, &recs, &n, err, "mailbox", "status", "-u",
		user_or_default(h, user),
		"messages uidvalidity uidnext highestmodseq", folder, NULL);
	if (r < 0)
		return r;
	uint64_t v[4];
	static const char *const keys[] = {"messages", "uidvalidity",
					   "uidnext", "highestmodseq"};
	for (size_t i = 0; r == 0 && i < 4; i++)
		if (n != 1 || parse_u64(harness_record_get(&recs[0], keys[i]),
					i < 3 ? UINT32_MAX : UINT64_MAX,
					&v[i]) < 0)
			r = error_set(err, ERR_ACCOUNT,
				      "doveadm mailbox status %s: no %s",
				      folder, keys[i]);
	harness_records_free(recs, n);
	if (r < 0)
		return r;
	st_r->messages = (uint32_t)v[0];
	st_r->uidvalidity = (uint32_t)v[1];
	st_r->uidnext = (uint32_t)v[2];
	st_r->highestmodseq = v[3];
	return 0;
}

int harness_save(struct harness *h, const char *user, const char *folder,
		 const char *message, uint32_t *uid_r, struct error *err)
{
	/* doveadm save does not say which UID it assigned; in a mailbox
	 * nobody else is writing to, it is the UIDNEXT from before. */
	if (uid_r) {
		struct harness_status st;
		int r = harness_mailbox_status(h, user, folder, &st, err);
		if (r < 0)
			return r;
		*uid_r = st.uidnext;
	}
	return harness_doveadm(h, message, NULL, err, "save", "-u",
			       user_or_default(h, user), "-m", folder, NULL);
}

int harness_mailbox_create(struct harness *h, const char *user,
			   const char *folder, struct error *err)
{
	return harness_doveadm(h, NULL, NULL, err, "mailbox", "create", "-u",
			       user_or_default(h, user), folder, NULL);
}

int harness_mailbox_delete(struct harness *h, const char *user,
			   const char *folder, struct error *err)
{
	return harness_doveadm(h, NULL, NULL, err, "mailbox", "delete", "-u",
			       user_or_default(h, user), folder, NULL);
}

int harness_mailbox_rename(struct harness *h, const char *user,
			   const char *from, const char *to,
			   struct error *err)
{
	return harness_doveadm(h, NULL, NULL, err, "mailbox", "rename", "-u",
			       user_or_default(h, user), from, to, NULL);
}

int harness_set_uidvalidity(struct harness *h, const char *user,
			    const char *folder, uint32_t uidvalidity,
			    struct error *err)
{
	char *v = xasprintf("%u", uidvalidity);
	int r = harness_doveadm(h, NULL, NULL, err, "mailbox", "update", "-u",
				user_or_default(h, user), "--uid-validity", v,
				folder, NULL);
	free(v);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int harness_mailbox_list(struct harness *h, const char *user,
			 char ***names_r, size_t *count_r, struct error *err)
{
	struct harness_record *recs;
	size_t n;
	int r = harness_doveadm_records(h, &recs, &n, err, "mailbox", "list",
					"-u", user_or_default(h, user), NULL);
	if (r < 0)
		return r;
	char **names = xcalloc(n + 1, sizeof(*names));
	for (size_t i = 0; i < n; i++) {
		const char *name = harness_record_get(&recs[i], "mailbox");
		names[i] = xstrdup(name ? name : "");
	}
	harness_records_free(recs, n);
	qsort(names, n, sizeof(*names), cmp_str);
	*names_r = names;
	*count_r = n;
	return 0;
}

void harness_strv_free(char **v, size_t count)
{
	if (!v)
		return;
	for (size_t i = 0; i < count; i++)
		free(v[i]);
	free(v);
}

/* `doveadm CMD [SUBCMD] -u USER [ARG] mailbox FOLDER uid UID` */
static int uid_command(struct harness *h, const char *user, const char *cmd,
		       const char *subcmd, const char *arg, const char *folder,
		       uint32_t uid, struct error *err)
{
	char *uid_text = xasprintf("%u", uid);
	struct args a = {NULL, 0, 0};
	args_add(&a, cmd);
	if (subcmd)
		args_add(&a, subcmd);
	args_add(&a, "-u");
	args_add(&a, user_or_default(h, user));
	if (arg)
		args_add(&a, arg);
	args_add(&a, "mailbox");
	args_add(&a, folder);
	args_add(&a, "uid");
	args_add(&a, uid_text);
	int r = harness_doveadm_argv(h, NULL, NULL, a.v, err);
	free(a.v);
	free(uid_text);
	return r;
}

int harness_flags(struct harness *h, const char *user, const char *folder,
		  uint32_t uid, enum harness_flags_op op, const char *flags,
		  struct error *err)
{
	static const char *const ops[] = {"add", "remove", "replace"};
	if ((unsigned)op >= UTIL_ARRAY_LEN(ops))
		return error_set(err, ERR_ACCOUNT, "harness_flags: bad op %d",
				 (int)op);
	return uid_command(h, user, "flags", ops[op], flags, folder, uid, err);
}

int harness_expunge(struct harness *h, const char *user, const char *folder,
		    uint32_t uid, struct error *err)
{
	return uid_command(h, user, "expunge", NULL, NULL, folder, uid, err);
}

int harness_move(struct harness *h, const char *user, const char *from,
		 uint32_t uid, const char *to, struct error *err)
{
	return uid_command(h, user, "move", NULL, to, from, uid, err);
}

/* Flags without \Recent: the oracle should not depend on who looked. */
static char *without_recent(const char *flags)
{
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	const char *p = flags;
	while (*p) {
		size_t len = strcspn(p, " ");
		if (len > 0 && !(len == 7 && strncmp(p, "\\Recent", 7) == 0))
			buf_addf(&b, "%s%.*s", b.len ? " " : "", (int)len, p);
		p += len;
		p += strspn(p, " ");
	}
	return buf_detach(&b, NULL);
}

static int cmp_msg(const void *a, const void *b)
{
	uint32_t x = ((const struct harness_msg *)a)->uid;
	uint32_t y = ((const struct harness_msg *)b)->uid;
	return x < y ? -1 : x > y;
}

int harness_fetch(struct harness *h, const char *user, const char *folder,
		  const char *extra_fields, struct harness_msg **msgs_r,
		  size_t *count_r, struct error *err)
{
	*msgs_r = NULL;
	*count_r = 0;
	/* doveadm fetch prints nothing for a folder that does not exist;
	 * status makes that an error, as an oracle must. */
	struct harness_status st;
	int r = harness_mailbox_status(h, user, folder, &st, err);
	if (r < 0)
		return r;
	char *fields = xasprintf("uid flags%s%s", extra_fields ? " " : "",
				 extra_fields ? extra_fields : "");
	struct harness_record *recs;
	size_t n;
	r = harness_doveadm_records(h, &recs, &n, err, "fetch", "-u",
				    user_or_default(h, user), fields,
				    "mailbox", folder, "all", NULL);
	free(fields);
	if (r < 0)
		return r;
	struct harness_msg *msgs = xcalloc(n ? n : 1, sizeof(*msgs));
	for (size_t i = 0; i < n; i++) {
		uint64_t uid;
		const char *flags = harness_record_get(&recs[i], "flags");
		if (r == 0 && (parse_u64(harness_record_get(&recs[i], "uid"),
					 UINT32_MAX, &uid) < 0 ||
			       !flags))
			r = error_set(err, ERR_ACCOUNT,
				      "doveadm fetch %s: message %zu lacks "
				      "uid or flags",
				      folder, i + 1);
		msgs[i].uid = r == 0 ? (uint32_t)uid : 0;
		msgs[i].flags = without_recent(flags ? flags : "");
		/* The record moves into the message. */
		msgs[i].fields = recs[i];
		memset(&recs[i], 0, sizeof(recs[i]));
	}
	harness_records_free(recs, n);
	if (r < 0) {
		harness_msgs_free(msgs, n);
		return r;
	}
	qsort(msgs, n, sizeof(*msgs), cmp_msg);
	*msgs_r = msgs;
	*count_r = n;
	return 0;
}

void harness_msgs_free(struct harness_msg *msgs, size_t count)
{
	if (!msgs)
		return;
	for (size_t i = 0; i < count; i++) {
		free(msgs[i].flags);
		harness_record_release(&msgs[i].fields);
	}
	free(msgs);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

int harness_search(struct harness *h, const char *user, const char *folder,
		   uint32_t **uids_r, size_t *count_r, struct error *err,
		   const char *query0, ...)
{
	*uids_r = NULL;
	*count_r = 0;
	struct args a = {NULL, 0, 0};
	args_add(&a, "search");
	args_add(&a, "-u");
	args_add(&a, user_or_default(h, user));
	args_add(&a, "mailbox");
	args_add(&a, folder);
	va_list ap;
	va_start(ap, query0);
	args_add_va(&a, query0, ap);
	va_end(ap);
	if (!query0)
		args_add(&a, "all");
	struct harness_record *recs;
	size_t n;
	int r = records_argv(h, a.v, &recs, &n, err);
	free(a.v);
	if (r < 0)
		return r;
	uint32_t *uids = n ? xcalloc(n, sizeof(*uids)) : NULL;
	for (size_t i = 0; r == 0 && i < n; i++) {
		uint64_t uid;
		if (parse_u64(harness_record_get(&recs[i], "uid"), UINT32_MAX,
			      &uid) < 0)
			r = error_set(err, ERR_ACCOUNT,
				      "doveadm search %s: result %zu has no "
				      "uid",
				      folder, i + 1);
		else
			uids[i] = (uint32_t)uid;
	}
	harness_records_free(recs, n);
	if (r < 0) {
		free(uids);
		return r;
	}
	if (n)
		qsort(uids, n, sizeof(*uids), cmp_u32);
	*uids_r = uids;
	*count_r = n;
	return 0;
}

int harness_add_user(struct harness *h, const char *name,
		     const char *password, struct error *err)
{
	if (!*name || strpbrk(name, ":\r\n/") || strpbrk(password, ":\r\n"))
		return error_set(err, ERR_ACCOUNT,
				 "harness_add_user: '%s': name or password "
				 "holds ':', '/' or a line break",
				 name);
	char *line = harness_passwd_line(h, name, password);
	int fd = open(h->users_file, O_WRONLY | O_APPEND | O_CLOEXEC);
	size_t len = strlen(line);
	bool ok = fd >= 0 && write(fd, line, len) == (ssize_t)len;
	int e = errno;
	if (fd >= 0 && close(fd) < 0)
		ok = false;
	free(line);
	if (!ok)
		return error_errno(err, ERR_ACCOUNT, e, "append to %s",
				   h->users_file);
	long long deadline = harness_now_ms() + ADD_USER_TIMEOUT_MS;
	while (!harness_user_known(h, name, ADD_USER_TIMEOUT_MS)) {
		if (harness_now_ms() > deadline)
			return error_set(err, ERR_ACCOUNT,
					 "Dovecot did not see new user %s "
					 "within %d ms",
					 name, ADD_USER_TIMEOUT_MS);
		harness_sleep_ms(50);
	}
	return 0;
}
