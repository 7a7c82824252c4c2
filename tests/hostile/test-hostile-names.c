/* SPDX-License-Identifier: MIT */
/*
 * Hostile mailbox names from the server's LIST (SPEC.md section 5, issue
 * 9 point 6): names that climb out of the local root, hold NUL, CR or LF,
 * shell syntax, 4 KB, broken modified UTF-7, Maildir's own directory
 * names, and pairs that would land in one local directory.  Each name is
 * synced on its own next to INBOX and "good" (which must still sync),
 * then all of them at once, checking:
 *
 *   - a refused name gets exactly the expected one-line error, on an
 *     event that names the folder, and no state row;
 *   - a name that is accepted lands in exactly the expected directory
 *     below local.path, and the next run is quiet;
 *   - nothing at all is created outside local.path and the state
 *     directory (the whole temporary tree is listed before and after);
 *   - no shell ever runs a name.
 *
 * Prints "figures: hostile names=M crashes=0 outside-writes=0 ...".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostile-server.h"
#include "hostile-tests.h"
#include "hostile-world.h"

#define MSG(id) "From: x@example.org\r\nMessage-ID: <" id "@test>\r\nSubject: " id \
		"\r\n\r\nThis is message " id ".\r\n"

static const struct hs_msg inbox_msgs[] = {{1, "", MSG("i")}};
static const struct hs_msg good_msgs[] = {{1, "", MSG("g")}};
static const struct hs_msg odd_msgs[] = {{1, "\\Seen", MSG("o")}};

enum outcome {
	REFUSED,  /* the folder fails with want; nothing of it is made */
	SYNCED,   /* it syncs into the directory want (below the root) */
	ACCOUNT,  /* the LIST answer itself is refused: the run fails */
};

struct name_case {
	const char *label;
	/* The name as LIST sends it: a quoted string or a literal (raw
	 * bytes, raw_len of them); and as SELECT names it for SYNCED. */
	const char *raw;
	size_t raw_len;   /* 0: strlen */
	const char *box;  /* SYNCED: the box the server holds, else NULL */
	char delim;       /* '\0': '/' */
	bool maildirpp;   /* the maildir++ layout */
	enum outcome outcome;
	const char *folder; /* the name as events give it (REFUSED) */
	const char *want;
	/* A box the server holds besides (listed first), which must sync
	 * into the directory of its name: the twin that is kept. */
	const char *also_box;
	bool all; /* every name of the table that can share one LIST */
};

/* The LIST line of a name (raw may hold NULs). */
static void add_list_line(struct buf *b, const struct name_case *nc)
{
	buf_addf(b, "* LIST (\\HasNoChildren) \"%c\" ", nc->delim ? nc->delim : '/');
	buf_add(b, nc->raw, nc->raw_len ? nc->raw_len : strlen(nc->raw));
	buf_adds(b, "\r\n");
}

/* Whether the state knows a folder by remote name. */
static bool state_has_folder(const char *state, const char *name)
{
	char *needle = xasprintf("F|%s|", name);
	bool found = !strncmp(state, needle, strlen(needle));
	char *mid = xasprintf("\nF|%s|", name);
	found = found || strstr(state, mid);
	free(needle);
	free(mid);
	return found;
}

/* Files that hold a message below root/rel (cur/ or new/). */
static size_t files_in(const char *tree, const char *rel)
{
	size_t n = 0;
	const char *sep = rel[0] ? "/" : "";
	char *cur = xasprintf(" w/Mail/%s%scur/", rel, sep);
	char *new = xasprintf(" w/Mail/%s%snew/", rel, sep);
	for (const char *l = tree; *l; l += strcspn(l, "\n") + 1) {
		const char *p = strchr(strchr(l, ' ') + 1, ' ');
		size_t len = strcspn(p, "\n");
		for (const char *dir = cur; dir; dir = dir == cur ? new : NULL) {
			size_t dl = strlen(dir);
			if (l[0] == 'f' && len > dl && !strncmp(p, dir, dl) &&
			    !memchr(p + dl, '/', len - dl))
				n++;
		}
	}
	free(cur);
	free(new);
	return n;
}

static void run_names(const struct name_case *const *ncs, size_t n)
{
	struct hw *w = hw_new(NULL);
	if (ncs[0]->maildirpp)
		w->local_opts = xstrdup(", layout: maildir++");
	struct hs_box boxes[2 + 32];
	size_t nb = 0;
	boxes[nb++] = (struct hs_box){"INBOX", 100, 0, inbox_msgs, 1};
	boxes[nb++] = (struct hs_box){"good", 200, 0, good_msgs, 1};
	struct buf extra = BUF_INIT(BUF_UNLIMITED);
	for (size_t i = 0; i < n; i++) {
		if (ncs[i]->also_box)
			boxes[nb++] = (struct hs_box){ncs[i]->also_box, 400 + (uint32_t)i, 0,
						      odd_msgs, 1};
		if (ncs[i]->box) {
			assert_true(nb < UTIL_ARRAY_LEN(boxes));
			boxes[nb++] = (struct hs_box){ncs[i]->box, 300 + (uint32_t)i, 0, odd_msgs, 1};
		} else {
			add_list_line(&extra, ncs[i]);
		}
	}
	struct hs_script s = {
		.boxes = boxes, .n_boxes = nb,
		.list_extra = extra.len ? extra.data : NULL, .list_extra_len = extra.len,
		.delim = ncs[0]->delim,
	};
	char *tree0 = hw_tree(w);
	struct hs_server *srv = hs_start(&s);
	struct sync_report rep;
	struct error err = ERROR_INIT;
	int r = hw_sync(w, srv->port, &rep, &err);
	char *tree1 = hw_tree(w), *state1 = hw_state(w);

	size_t want_failed = 0;
	bool account = false;
	for (size_t i = 0; i < n; i++) {
		const struct name_case *nc = ncs[i];
		if (nc->outcome == ACCOUNT) {
			account = true;
			if (r >= 0 || !err.msg || strcmp(err.msg, nc->want))
				fail_msg("%s: want \"%s\"; got %d \"%s\"", nc->label, nc->want, r,
					 err.msg ? err.msg : "");
		} else if (nc->outcome == REFUSED) {
			want_failed++;
			/* "%R" in want stands for the local root. */
			const char *r_at = strstr(nc->want, "%R");
			char *line = r_at ? xasprintf("%s\t%.*s%s%s\n", nc->folder,
						      (int)(r_at - nc->want), nc->want, w->root,
						      r_at + 2)
					  : xasprintf("%s\t%s\n", nc->folder, nc->want);
			if (!strstr(w->events.data, line)) {
				/* cmocka cuts long messages: the whole on stderr. */
				fprintf(stderr, "want: %sgot: %s", line, w->events.data);
				fail_msg("%s: not the error wanted", nc->label);
			}
			free(line);
			if (!nc->also_box && state_has_folder(state1, nc->folder)) {
				hw_fig->advances++;
				fail_msg("%s: the state holds the refused folder:\n%s", nc->label,
					 state1);
			}
		}
		if (nc->also_box && files_in(tree1, nc->also_box) != 1)
			fail_msg("%s: %s not synced:\n%s", nc->label, nc->also_box, tree1);
		if (nc->outcome == SYNCED) {
			if (files_in(tree1, nc->want) != 1)
				fail_msg("%s: not synced into %s:\n%s", nc->label, nc->want, tree1);
		}
	}
	if (!account) {
		if (r != 0 || rep.folders_failed != want_failed)
			fail_msg("want %zu folders refused; got %d \"%s\", %zu: %s", want_failed, r,
				 err.msg ? err.msg : "", rep.folders_failed, w->events.data);
		/* The honest folders still sync. */
		assert_int_equal(files_in(tree1, ncs[0]->maildirpp ? "" : "INBOX"), 1);
		assert_int_equal(files_in(tree1, ncs[0]->maildirpp ? ".good" : "good"), 1);
	}
	assert_int_equal(w->multiline, 0);
	size_t outside = hw_outside(tree0, tree1);
	hw_fig->outside += outside;
	if (outside)
		fail_msg("written outside local.path:\n%s", tree1);
	/* Nothing ran a name as a command, here or in the working dir. */
	assert_int_equal(access("pwned", F_OK), -1);
	assert_null(strstr(tree1, "pwned\n"));
	sync_report_release(&rep);
	error_clear(&err);

	if (!account) {
		/* The next run changes nothing and refuses the same names. */
		buf_reset(&w->events);
		r = hw_sync(w, srv->port, &rep, &err);
		assert_int_equal(r, 0);
		assert_int_equal(rep.folders_failed, want_failed);
		assert_int_equal(rep.counts.downloaded + rep.counts.uploaded +
					 rep.counts.folders_created + rep.counts.deleted_local +
					 rep.counts.deleted_remote,
				 0);
		sync_report_release(&rep);
		error_clear(&err);
	}
	hs_stop(srv);
	free(tree0);
	free(tree1);
	free(state1);
	buf_release(&extra);
	hw_free(w);
}

/* ---- the names ------------------------------------------------------- */

#define TWIN "another server folder has the same name (once decoded, or INBOX in " \
	     "another case); only the first listed is synced"

/* Names too long for a string literal are made at start (see main). */
#define LONG_4K "@4K"   /* "x" * 4096: one component past NAME_MAX */
#define DEEP_4K "@DEEP" /* "abcdefghijklmno/..." to 4097 bytes: past PATH_MAX */

/* REFUSED(label, raw, folder, want); SYNCED(label, raw-quoted name, dir). */
#define REF(l, r, f, w) {.label = l, .raw = r, .outcome = REFUSED, .folder = f, .want = w}
#define SYN(l, n, d) {.label = l, .raw = "\"" n "\"", .box = n, .outcome = SYNCED, .want = d}
#define COMPONENT(l, n, why) REF(l, "\"" n "\"", n, "remote folder \"" n "\": " why)
#define DOTS "'.' or '..' component"
#define MAILDIR_DIR "name component is a Maildir directory (cur, new, tmp)"

static struct name_case names[] = {
	COMPONENT("dotdot", "..", DOTS),
	COMPONENT("dotdot-x", "../x", DOTS),
	COMPONENT("absolute", "/abs", "empty name component"),
	COMPONENT("climb", "a/../../b", DOTS),
	COMPONENT("dot", ".", DOTS),
	COMPONENT("cur", "cur", MAILDIR_DIR),
	COMPONENT("a-new", "a/new", MAILDIR_DIR),
	COMPONENT("tmp-b", "tmp/b", MAILDIR_DIR),
	COMPONENT("dot-dir", ".notmuch", "name component starts with '.' (verbatim layout)"),
	COMPONENT("double-slash", "a//b", "empty name component"),
	COMPONENT("trailing-slash", "a/", "empty name component"),
	{.label = "nul-literal", .raw = "{5}\r\nab\0cd", .raw_len = 10, .outcome = ACCOUNT,
	 .want = "IMAP server sent a malformed LIST mailbox"},
	{.label = "cr-literal", .raw = "{5}\r\nab\rcd", .raw_len = 10, .outcome = REFUSED,
	 .folder = "ab\rcd", .want = "remote folder \"ab\\x0dcd\": control character"},
	{.label = "lf-literal", .raw = "{5}\r\nab\ncd", .raw_len = 10, .outcome = REFUSED,
	 .folder = "ab\ncd", .want = "remote folder \"ab\\x0acd\": control character"},
	REF("esc-utf7", "\"&ABs-[2J\"", "\x1b[2J", "remote folder \"\\x1b[2J\": control character"),
	REF("cr-utf7", "\"a&AA0-b\"", "a\rb", "remote folder \"a\\x0db\": control character"),
	SYN("nul-utf7", "a&AAA-b", "a&AAA-b"),
	SYN("shell", "$(touch pwned)", "$(touch pwned)"),
	SYN("backticks", "`touch pwned`", "`touch pwned`"),
	SYN("broken-utf7", "&Jjo", "&Jjo"),
	{.label = "long-4k", .raw = LONG_4K, .box = LONG_4K, .outcome = REFUSED,
	 .folder = LONG_4K, .want = "create folder %R/@: File name too long"},
	{.label = "deep-4k", .raw = DEEP_4K, .box = DEEP_4K, .outcome = REFUSED,
	 .folder = DEEP_4K, .want = "create folder %R/@: File name too long"},
	REF("inbox-case", "\"Inbox\"", "Inbox", TWIN),
	{.label = "utf7-twins", .raw = "\"&-Jjo\"", .outcome = REFUSED, .folder = "&Jjo",
	 .want = TWIN, .also_box = "&Jjo"},
	{.label = "delim-dot", .raw = "\"a/b\"", .delim = '.', .outcome = REFUSED,
	 .folder = "a/b", .want = "remote folder \"a/b\": '/' inside a name component"},
	{.label = "maildirpp-dot", .raw = "\"a.b\"", .maildirpp = true, .outcome = REFUSED,
	 .folder = "a.b",
	 .want = "remote folder \"a.b\": '.' inside a name component (maildir++ layout)"},
	{.label = "all-at-once", .all = true},
};

static void one_name(void **state)
{
	const struct name_case *nc = *state;
	if (!nc->all) {
		run_names(&nc, 1);
		return;
	}
	/* Names that need their own layout, delimiter or twin, or that
	 * fail the whole LIST, cannot share it. */
	const struct name_case *v[UTIL_ARRAY_LEN(names)];
	size_t n = 0;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(names); i++) {
		const struct name_case *o = &names[i];
		if (!o->all && !o->maildirpp && !o->delim && !o->also_box &&
		    o->outcome != ACCOUNT)
			v[n++] = o;
	}
	run_names(v, n);
}

static void in_child(void **state)
{
	one_name(state);
}

static void forked_name(void **state)
{
	const struct name_case *nc = *state;
	int r = hw_forked(nc->label, in_child, *state);
	hw_fig->names += !nc->all; /* the names, not the runs */
	hw_fig->crashes += r == 2;
	if (r)
		fail_msg("%s: %s", nc->label, r == 2 ? "the run crashed" : "failed (see above)");
}

/* Fills in the long names: raw quoted, box and folder as they are, and
 * want's "%s" with the name.  The strings live until the end. */
static char *long_names[8]; /* NULL-terminated */

static void make_long(struct name_case *nc, const char *unit, size_t len)
{
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	while (b.len < len)
		buf_adds(&b, unit);
	b.data[len] = '\0';
	b.len = len;
	char *name = buf_detach(&b, NULL);
	size_t k = 0;
	while (long_names[k])
		k++;
	long_names[k] = name;
	long_names[k + 1] = xasprintf("\"%s\"", name);
	nc->raw = long_names[k + 1];
	nc->box = nc->folder = name;
	/* want's '@' stands for the name. */
	const char *at = strchr(nc->want, '@');
	if (at)
		long_names[k + 2] = xasprintf("%.*s%s%s", (int)(at - nc->want), nc->want,
					      name, at + 1);
	if (at)
		nc->want = long_names[k + 2];
}

int hostile_names_tests(void)
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(names); i++) {
		if (names[i].all)
			continue;
		if (!strcmp(names[i].raw, LONG_4K))
			make_long(&names[i], "x", 4096);
		else if (!strcmp(names[i].raw, DEEP_4K))
			make_long(&names[i], "abcdefghijklmno/", 4097);
	}
	struct CMUnitTest tests[UTIL_ARRAY_LEN(names)];
	for (size_t i = 0; i < UTIL_ARRAY_LEN(names); i++)
		tests[i] = (struct CMUnitTest){names[i].label, forked_name, NULL, NULL,
					       (void *)(uintptr_t)&names[i]};
	int failed = _cmocka_run_group_tests("hostile-names", tests, UTIL_ARRAY_LEN(tests),
					     NULL, NULL);
	for (size_t k = 0; long_names[k]; k++)
		free(long_names[k]);
	return failed;
}
