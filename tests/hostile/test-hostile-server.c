/* SPDX-License-Identifier: MIT */
/*
 * A hostile server against the whole sync (SPEC.md section 5, issue 9
 * point 6): each case is an answer drawn from known IMAP client CVEs and
 * their kin, put in the middle of a real sync_account() run against the
 * scripted server in hostile-server.c.  For each case:
 *
 *   - the run ends with the exact one-line error the case expects (or
 *     goes through, where the right answer is to carry on), no crash;
 *   - nothing is created outside local.path and the state directory;
 *   - the state goes no further than the truth: no message row with a
 *     UID the server never gave or a file that is not there, and for a
 *     failed case INBOX's UIDVALIDITY/UIDNEXT/HIGHESTMODSEQ unchanged;
 *   - no message file in cur/ or new/ that the state does not know (a
 *     partial download made visible);
 *   - a later run against an honest server goes through, and the one
 *     after it changes nothing: the hostile run did no lasting harm.
 *
 * Each case runs in a child of its own; test-hostile.c prints the figures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostile-server.h"
#include "hostile-tests.h"
#include "hostile-world.h"

#define MSG(id) "From: x@example.org\r\nMessage-ID: <" id "@test>\r\nSubject: " id \
		"\r\n\r\nThis is message " id ".\r\n"

static const struct hs_msg inbox_base[] = {
	{1, "\\Seen", MSG("a")},
	{2, "", MSG("b")},
};
/* What the hostile run sees: one new message to download. */
static const struct hs_msg inbox_more[] = {
	{1, "\\Seen", MSG("a")},
	{2, "", MSG("b")},
	{3, "", MSG("c")},
};
static const struct hs_msg work_msgs[] = {
	{1, "", MSG("w")},
};

enum expect {
	EX_OK,      /* the run goes through, no folder fails */
	EX_FOLDER,  /* a folder fails with want; the run goes on */
	EX_ACCOUNT, /* the run fails with want */
	EX_WARN,    /* the run goes through, reporting want for a folder */
};

enum setup {
	SETUP_BASELINE,    /* an honest sync first (a, b; w) */
	SETUP_FIRST,       /* nothing: the hostile run is the first sync */
	SETUP_UPLOAD,      /* baseline, then a new local file in INBOX */
	SETUP_MOVE,        /* baseline, then a's file moved to Work */
};

struct hcase {
	const char *name;
	enum setup setup;
	const struct hs_hook *hooks;
	size_t n_hooks;
	const char *caps_after; /* NULL: the default */
	uint64_t modseq;        /* of the hostile server; 0: 10 */
	const char *body_c;     /* message c's body, NULL: the usual */
	enum expect expect;
	const char *want;       /* "%u" stands for the server's port */
	/* Messages in local INBOX and Work once an honest server has
	 * been synced after the case: 0 means 3 and 1. */
	size_t inbox_after, work_after;
	/* Extra check after the hostile run, or NULL. */
	void (*check)(struct hw *w);
};

static char *with_port(const char *want, unsigned port)
{
	const char *hole = strstr(want, "%u");
	if (!hole)
		return xstrdup(want);
	return xasprintf("%.*s%u%s", (int)(hole - want), want, port, hole + 2);
}

/* got equals want, where "%T" in want stands for any tag ("T" and
 * digits): which tag a command gets is the client's business. */
static bool matches(const char *got, const char *want)
{
	while (*want) {
		if (want[0] == '%' && want[1] == 'T') {
			if (*got++ != 'T' || !(*got >= '0' && *got <= '9'))
				return false;
			while (*got >= '0' && *got <= '9')
				got++;
			want += 2;
		} else if (*got++ != *want++) {
			return false;
		}
	}
	return *got == '\0';
}

static void start_script(struct hs_script *s, const struct hs_msg *inbox, size_t n_inbox,
			 struct hs_box *boxes)
{
	boxes[0] = (struct hs_box){"INBOX", 100, 0, inbox, n_inbox};
	boxes[1] = (struct hs_box){"Work", 200, 0, work_msgs, UTIL_ARRAY_LEN(work_msgs)};
	memset(s, 0, sizeof(*s));
	s->boxes = boxes;
	s->n_boxes = 2;
}

/* An honest sync (or two) against the honest server. */
static void honest_sync(struct hw *w, const struct hs_msg *inbox, size_t n, int runs,
			const char *caps, bool quiet)
{
	struct hs_box boxes[2];
	struct hs_script s;
	start_script(&s, inbox, n, boxes);
	s.caps_after = caps;
	struct hs_server *srv = hs_start(&s);
	for (int i = 0; i < runs; i++) {
		struct sync_report rep;
		struct error err = ERROR_INIT;
		int r = hw_sync(w, srv->port, &rep, &err);
		if (r != 0 || rep.folders_failed || rep.folders_refused)
			fail_msg("honest sync %d: %d %s; %s", i, r, err.msg ? err.msg : "",
				 w->events.data);
		const struct sync_counts *c = &rep.counts;
		if (quiet && i == runs - 1 &&
		    (c->downloaded || c->uploaded || c->deleted_local || c->deleted_remote ||
		     c->local_flags || c->remote_flags || c->moved_local || c->moved_remote))
			fail_msg("the run after the honest one still changed something: "
				 "%zu down, %zu up, %zu/%zu deleted, %zu/%zu flags",
				 c->downloaded, c->uploaded, c->deleted_local, c->deleted_remote,
				 c->local_flags, c->remote_flags);
		sync_report_release(&rep);
		error_clear(&err);
	}
	hs_stop(srv);
	buf_reset(&w->events);
}

static size_t count_files(struct hw *w, const char *rel)
{
	char *tree = hw_tree(w);
	char *in = xasprintf(" w/Mail/%s/", rel);
	size_t n = 0, len = strlen(in);
	for (const char *p = tree; (p = strstr(p, in)); p += len) {
		const char *name = p + len;
		if ((!strncmp(name, "cur/", 4) || !strncmp(name, "new/", 4)) &&
		    strcspn(name + 4, "/\n") == strcspn(name + 4, "\n") && name[4] != '\n')
			n++;
	}
	free(in);
	free(tree);
	return n;
}

static void move_a_to_work(struct hw *w)
{
	/* a is the \Seen one: its file is in INBOX/cur with ":2,S". */
	char *tree = hw_tree(w);
	const char *p = strstr(tree, "w/Mail/INBOX/cur/");
	assert_non_null(p);
	char *rel = xstrndup(p, strcspn(p, "\n"));
	free(tree);
	char *from = xasprintf("%s/%s", w->top, rel);
	char *to = xasprintf("%s/Work/cur/%s", w->root, strrchr(rel, '/') + 1);
	assert_int_equal(rename(from, to), 0);
	free(from);
	free(to);
	free(rel);
}

/* Whether the line (with its '\n') is one of text's lines. */
static bool has_line(const char *text, const char *line, size_t len)
{
	for (const char *p = text; *p; p += strcspn(p, "\n") + 1)
		if (!strncmp(p, line, len))
			return true;
	return false;
}

/* The UIDs the server really gives its messages (moved "a" gets 2 in
 * Work): a state row with any other UID believed a lie. */
static bool real_uid(const char *folder, size_t flen, unsigned long uid)
{
	if (flen == 5 && !strncmp(folder, "INBOX", 5))
		return uid >= 1 && uid <= 3;
	return flen == 4 && !strncmp(folder, "Work", 4) && uid >= 1 && uid <= 2;
}

/*
 * How far the state went past the truth: a message row added or changed
 * with a UID the server never gave, or naming a file that is not there;
 * and, when the case fails, INBOX's UIDVALIDITY/UIDNEXT/HIGHESTMODSEQ
 * moved at all (what was verified is the messages, not the folder).
 */
static size_t state_advances(const struct hcase *hc, const char *before, const char *after,
			     const char *tree)
{
	size_t n = 0;
	for (const char *l = after; *l; l += strcspn(l, "\n") + 1) {
		size_t len = strcspn(l, "\n") + 1;
		if (l[0] != 'M' || has_line(before, l, len))
			continue;
		/* M|folder|uid|local|... */
		const char *folder = l + 2;
		size_t flen = strcspn(folder, "|");
		char *end;
		unsigned long uid = strtoul(folder + flen + 1, &end, 10);
		char *local = xstrndup(end + 1, strcspn(end + 1, "|"));
		char *cur = xasprintf(" w/Mail/%.*s/cur/%s", (int)flen, folder, local);
		char *new = xasprintf(" w/Mail/%.*s/new/%s\n", (int)flen, folder, local);
		bool file = strstr(tree, new) || strstr(tree, cur);
		n += !real_uid(folder, flen, uid) || !file;
		free(cur);
		free(new);
		free(local);
	}
	if (hc->expect == EX_ACCOUNT || hc->expect == EX_FOLDER)
		for (const char *l = before; *l; l += strcspn(l, "\n") + 1)
			if (!strncmp(l, "F|INBOX|", 8) &&
			    !has_line(after, l, strcspn(l, "\n") + 1))
				n++;
	return n;
}

/* Message files new in after whose unique part no state row names:
 * something written but not recorded (a partial file made visible). */
static size_t loose_files(const char *tree0, const char *tree1, const char *state)
{
	size_t n = 0;
	for (const char *l = tree1; *l; l += strcspn(l, "\n") + 1) {
		size_t len = strcspn(l, "\n");
		char *line = xstrndup(l, len);
		const char *path = strchr(strchr(line, ' ') + 1, ' ') + 1;
		const char *slash = strrchr(path, '/');
		const char *name = slash ? slash + 1 : path;
		bool mail = line[0] == 'f' && name - path > 4 &&
			    (!strncmp(name - 5, "/cur/", 5) || !strncmp(name - 5, "/new/", 5));
		char *needle = xasprintf("|%.*s|", (int)strcspn(name, ":"), name);
		if (mail && !strstr(tree0, path) && !strstr(state, needle))
			n++;
		free(needle);
		free(line);
	}
	return n;
}

static void run_case(const struct hcase *hc)
{
	struct hw *w = hw_new(NULL);
	if (hc->setup != SETUP_FIRST)
		honest_sync(w, inbox_base, UTIL_ARRAY_LEN(inbox_base), 1, hc->caps_after, false);
	if (hc->setup == SETUP_UPLOAD)
		hw_local_add(w, "INBOX", "1700000000.up.test:2,S", MSG("up"));
	if (hc->setup == SETUP_MOVE)
		move_a_to_work(w);
	char *tree0 = hw_tree(w), *state0 = hw_state(w);

	struct hs_msg more[UTIL_ARRAY_LEN(inbox_more)];
	memcpy(more, inbox_more, sizeof(more));
	if (hc->body_c)
		more[2].body = hc->body_c;
	struct hs_box boxes[2];
	struct hs_script s;
	start_script(&s, more, UTIL_ARRAY_LEN(more), boxes);
	s.hooks = hc->hooks;
	s.n_hooks = hc->n_hooks;
	s.caps_after = hc->caps_after;
	s.modseq = hc->modseq;
	struct hs_server *srv = hs_start(&s);
	struct sync_report rep;
	struct error err = ERROR_INIT;
	int r = hw_sync(w, srv->port, &rep, &err);
	char *want = hc->want ? with_port(hc->want, srv->port) : NULL;
	hs_stop(srv);

	switch (hc->expect) {
	case EX_OK:
		if (r != 0 || rep.folders_failed)
			fail_msg("%s: expected to go through: %d %s; %s", hc->name, r,
				 err.msg ? err.msg : "", w->events.data);
		break;
	case EX_FOLDER: {
		if (r != 0 || rep.folders_failed == 0)
			fail_msg("%s: want a folder to fail with \"%s\"; got %d \"%s\"; %s",
				 hc->name, want, r, err.msg ? err.msg : "", w->events.data);
		char *line = xasprintf("\t%s\n", want);
		if (!strstr(w->events.data, line))
			fail_msg("%s: want \"%s\"; got: %s", hc->name, want, w->events.data);
		free(line);
		break;
	}
	case EX_WARN:
		if (r != 0 || rep.folders_failed || !strstr(w->events.data, want))
			fail_msg("%s: want a warning \"%s\"; got %d \"%s\"; %s", hc->name, want,
				 r, err.msg ? err.msg : "", w->events.data);
		break;
	case EX_ACCOUNT:
		if (r >= 0 || !err.msg || !matches(err.msg, want))
			fail_msg("%s: want \"%s\"; got %d \"%s\"", hc->name, want, r,
				 err.msg ? err.msg : "");
		break;
	}
	assert_int_equal(w->multiline, 0);
	sync_report_release(&rep);
	error_clear(&err);

	char *tree1 = hw_tree(w), *state1 = hw_state(w);
	size_t outside = hw_outside(tree0, tree1);
	hw_fig->outside += outside;
	if (outside)
		fail_msg("%s: written outside local.path:\n%s", hc->name, tree1);
	size_t adv = state_advances(hc, state0, state1, tree1);
	hw_fig->advances += adv;
	if (adv)
		fail_msg("%s: the state moved past what is true:\n%s---\n%s", hc->name, state0,
			 state1);
	if (loose_files(tree0, tree1, state1))
		fail_msg("%s: a message file the state does not know:\n%s", hc->name, tree1);
	if (hc->check)
		hc->check(w);
	free(tree0);
	free(tree1);
	free(state0);
	free(state1);
	free(want);

	/* An honest server now: the run goes through, and the next one is
	 * quiet.  Nothing was lost or duplicated on the way. */
	honest_sync(w, inbox_more, UTIL_ARRAY_LEN(inbox_more), 2, NULL, true);
	assert_int_equal(count_files(w, "INBOX"), hc->inbox_after ? hc->inbox_after : 3);
	assert_int_equal(count_files(w, "Work"), hc->work_after ? hc->work_after : 1);
	hw_free(w);
}

/* ---- the cases --------------------------------------------------------- */

#define BODY_FETCH "UID FETCH 3 (UID BODY.PEEK[])"
#define FLAGS_FETCH "UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE) (CHANGEDSINCE"
#define HOOK(when_, act_, prefix_) {.when = when_, .nth = 1, .act = act_, .prefix = prefix_}
#define CASE(n_, ...) {.name = #n_, .hooks = n_##_hooks, \
		       .n_hooks = UTIL_ARRAY_LEN(n_##_hooks), __VA_ARGS__}

static const struct hs_hook literal_4g_hooks[] = {
	HOOK(BODY_FETCH, HS_REPLACE, "* 3 FETCH (UID 3 BODY[] {4294967295}\r\nFrom: x\r\n"),
};
static const struct hs_hook literal_2_64_hooks[] = {
	HOOK(BODY_FETCH, HS_REPLACE,
	     "* 3 FETCH (UID 3 BODY[] {18446744073709551616}\r\nFrom: x\r\n"),
};
static const struct hs_hook literal_shorter_hooks[] = {
	HOOK(BODY_FETCH, HS_REPLACE,
	     "* 3 FETCH (UID 3 BODY[] {12}\r\n" MSG("c") ")\r\n$T OK done\r\n"),
};
static const struct hs_hook literal_longer_hooks[] = {
	HOOK(BODY_FETCH, HS_CLOSE,
	     "* 3 FETCH (UID 3 BODY[] {500}\r\n" MSG("c") ")\r\n$T OK done\r\n"),
};
static const struct hs_hook list_literal_4g_hooks[] = {
	HOOK("LIST", HS_REPLACE, "* LIST () \"/\" {4294967295}\r\nINBOX\r\n"),
};
static const struct hs_hook blank_line_hooks[] = {{0}};
static const struct hs_hook exists_4g_hooks[] = {
	HOOK("SELECT INBOX", HS_REPLACE,
	     "* 4294967295 EXISTS\r\n* OK [UIDVALIDITY 100] ok\r\n* OK [UIDNEXT 4] ok\r\n"
	     "* OK [HIGHESTMODSEQ 30] ok\r\n$T OK [READ-WRITE] selected\r\n"),
};
static const struct hs_hook exists_2_32_hooks[] = {
	HOOK("SELECT INBOX", HS_REPLACE,
	     "* 4294967296 EXISTS\r\n* OK [UIDVALIDITY 100] ok\r\n* OK [UIDNEXT 4] ok\r\n"
	     "* OK [HIGHESTMODSEQ 30] ok\r\n$T OK [READ-WRITE] selected\r\n"),
};
static const struct hs_hook body_unknown_uid_hooks[] = {
	HOOK(BODY_FETCH, HS_REPLACE, "* 3 FETCH (UID 99 BODY[] {5}\r\nhello)\r\n$T OK\r\n"),
};
static const struct hs_hook body_without_uid_hooks[] = {
	HOOK(BODY_FETCH, HS_REPLACE, "* 3 FETCH (BODY[] {5}\r\nhello UID 3)\r\n$T OK\r\n"),
};
static const struct hs_hook body_twice_hooks[] = {
	HOOK(BODY_FETCH, HS_REPLACE,
	     "* 3 FETCH (UID 3 BODY[] {5}\r\nfirst)\r\n"
	     "* 3 FETCH (UID 3 BODY[] {6}\r\nsecond)\r\n$T OK\r\n"),
};
static const struct hs_hook uid_zero_hooks[] = {
	HOOK(FLAGS_FETCH, HS_REPLACE,
	     "* 3 FETCH (UID 0 FLAGS () RFC822.SIZE 9 MODSEQ (11))\r\n$T OK\r\n"),
};
static const struct hs_hook uid_2_32_hooks[] = {
	HOOK(FLAGS_FETCH, HS_REPLACE,
	     "* 3 FETCH (UID 4294967296 FLAGS () RFC822.SIZE 9 MODSEQ (11))\r\n$T OK\r\n"),
};
static const struct hs_hook uid_twice_hooks[] = {
	HOOK("UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE)", HS_REPLACE,
	     "* 1 FETCH (UID 1 FLAGS (\\Seen) RFC822.SIZE 80 INTERNALDATE "
	     "\"14-Nov-2023 22:13:20 +0000\")\r\n"
	     "* 2 FETCH (UID 1 FLAGS () RFC822.SIZE 80 INTERNALDATE "
	     "\"14-Nov-2023 22:13:20 +0000\")\r\n$T OK\r\n"),
};
static const struct hs_hook uid_twice_changes_hooks[] = {
	HOOK(FLAGS_FETCH, HS_REPLACE,
	     "* 3 FETCH (UID 3 FLAGS () RFC822.SIZE 77 INTERNALDATE "
	     "\"14-Nov-2023 22:13:20 +0000\" MODSEQ (30))\r\n"
	     "* 3 FETCH (UID 3 FLAGS (\\Seen) RFC822.SIZE 77 INTERNALDATE "
	     "\"14-Nov-2023 22:13:20 +0000\" MODSEQ (30))\r\n$T OK\r\n"),
};
static const struct hs_hook ok_before_literal_hooks[] = {
	{.when = "APPEND", .nth = 1, .act = HS_LITERAL, .prefix = "$T OK [APPENDUID 100 7] fake\r\n"},
};
static const struct hs_hook appenduid_other_box_hooks[] = {
	HOOK("APPEND", HS_REPLACE, "$T OK [APPENDUID 200 4] appended\r\n"),
};
static const struct hs_hook appenduid_taken_hooks[] = {
	HOOK("APPEND", HS_REPLACE, "$T OK [APPENDUID 100 1] appended\r\n"),
};
static const struct hs_hook copyuid_other_box_hooks[] = {
	HOOK("UID MOVE", HS_REPLACE, "* OK [COPYUID 100 1 7] moved\r\n* 1 EXPUNGE\r\n$T OK\r\n"),
};
static const struct hs_hook copyuid_huge_hooks[] = {
	HOOK("UID MOVE", HS_REPLACE,
	     "* OK [COPYUID 200 1:4294967295 1:4294967295] moved\r\n* 1 EXPUNGE\r\n$T OK\r\n"),
};
static const struct hs_hook endless_line_hooks[] = {
	{.when = "SELECT INBOX", .nth = 1, .act = HS_CLOSE, .prefix = "* OK ",
	 .fill = "xxxxxxxxxxxxxxxx", .fill_count = 4 * 65536},
};
static const struct hs_hook deep_nesting_hooks[] = {
	{.when = FLAGS_FETCH, .nth = 1, .act = HS_CLOSE, .prefix = "* 3 FETCH (UID 3 FLAGS ",
	 .fill = "((((((((", .fill_count = 100000, .suffix = "\r\n"},
};
static const struct hs_hook bye_mid_command_hooks[] = {
	HOOK(BODY_FETCH, HS_CLOSE, "* 3 FETCH (UID 3 FLAGS ())\r\n* BYE going away\r\n"),
};
static const struct hs_hook unknown_tag_hooks[] = {
	HOOK(FLAGS_FETCH, HS_REPLACE, "X999 OK what\r\n"),
};
static const struct hs_hook tag_twice_hooks[] = {
	HOOK("ENABLE", HS_REPLACE, "* ENABLED CONDSTORE\r\n$T OK\r\n$T OK again\r\n"),
};
static const struct hs_hook nul_in_line_hooks[] = {
	{.when = "SELECT INBOX", .nth = 1, .act = HS_CLOSE,
	 .prefix = "* OK [UIDVALIDITY 100] a\0b\r\n", .prefix_len = 28},
};
static const struct hs_hook many_untagged_hooks[] = {
	{.when = FLAGS_FETCH, .nth = 1, .act = HS_BEFORE, .fill = "* OK noise\r\n",
	 .fill_count = 200000},
};
static const struct hs_hook continuation_unasked_hooks[] = {
	HOOK(FLAGS_FETCH, HS_BEFORE, "+ more please\r\n"),
};
static const struct hs_hook status_negative_hooks[] = {
	HOOK("LIST", HS_REPLACE,
	     "* LIST () \"/\" INBOX\r\n* STATUS INBOX (MESSAGES -1 UIDNEXT 4 "
	     "UIDVALIDITY 100 UNSEEN 1)\r\n$T OK\r\n"),
};
static const struct hs_hook status_overflow_hooks[] = {
	HOOK("LIST", HS_REPLACE,
	     "* LIST () \"/\" INBOX\r\n* STATUS INBOX (MESSAGES 3 UIDNEXT 4294967296 "
	     "UIDVALIDITY 100 UNSEEN 1)\r\n$T OK\r\n"),
};
static const struct hs_hook modseq_backwards_hooks[] = {{0}};
static const struct hs_hook caps_drop_condstore_hooks[] = {
	HOOK("UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE) (CHANGEDSINCE", HS_REPLACE,
	     "$T BAD CONDSTORE was never offered\r\n"),
};
static const struct hs_hook caps_change_midway_hooks[] = {
	HOOK("SELECT INBOX", HS_BEFORE, "* CAPABILITY IMAP4rev1 LITERAL+ QRESYNC\r\n"),
};
static const struct hs_hook vanished_unseen_hooks[] = {
	HOOK("SELECT INBOX", HS_BEFORE, "* VANISHED (EARLIER) 500:600\r\n"),
};
static const struct hs_hook vanished_bad_hooks[] = {
	HOOK("SELECT INBOX", HS_BEFORE, "* VANISHED (EARLIER) 0:*x\r\n"),
};
static const struct hs_hook expunge_seq_zero_hooks[] = {
	HOOK(BODY_FETCH, HS_BEFORE, "* 0 EXPUNGE\r\n"),
};

#define QRESYNC_CAPS "IMAP4rev1 UIDPLUS MOVE ENABLE CONDSTORE QRESYNC"

/* Whether a message file of local INBOX holds exactly body. */
static bool inbox_holds(struct hw *w, const char *body)
{
	char *tree = hw_tree(w);
	bool found = false;
	for (const char *p = tree; !found && (p = strstr(p, " w/Mail/INBOX/")); p++) {
		char *rel = xstrndup(p + 1, strcspn(p + 1, "\n"));
		char *path = xasprintf("%s/%s", w->top, rel);
		FILE *f = strstr(rel, "/cur/") || strstr(rel, "/new/") ? fopen(path, "r") : NULL;
		if (f) {
			struct buf b = BUF_INIT(BUF_UNLIMITED);
			char tmp[256];
			size_t n;
			while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
				buf_add(&b, tmp, n);
			fclose(f);
			found = b.len == strlen(body) && !memcmp(b.data, body, b.len);
			buf_release(&b);
		}
		free(path);
		free(rel);
	}
	free(tree);
	return found;
}

static void check_blank_line(struct hw *w)
{
	/* c (no header at all) is stored byte for byte. */
	assert_int_equal(count_files(w, "INBOX"), 3);
	assert_true(inbox_holds(w, "\r\nno headers at all\r\n"));
}

static void check_c_downloaded(struct hw *w)
{
	assert_int_equal(count_files(w, "INBOX"), 3);
}

static const struct hcase cases[] = {
	CASE(literal_4g, .expect = EX_ACCOUNT,
	     .want = "IMAP server sent a body of 4294967295 bytes, over the limit of "
		     "2147483648"),
	CASE(literal_2_64, .expect = EX_ACCOUNT,
	     .want = "IMAP server sent a literal size that overflows"),
	CASE(literal_shorter, .expect = EX_ACCOUNT,
	     .want = "IMAP server sent a line that ends inside a list"),
	CASE(literal_longer, .expect = EX_ACCOUNT,
	     .want = "127.0.0.1:%u: server closed the connection"),
	CASE(list_literal_4g, .expect = EX_ACCOUNT,
	     .want = "IMAP server sent a literal of 4294967295 bytes, over the limit of 1048576"),
	CASE(blank_line, .body_c = "\r\nno headers at all\r\n", .expect = EX_OK,
	     .check = check_blank_line),
	CASE(exists_4g, .expect = EX_OK, .check = check_c_downloaded),
	CASE(exists_2_32, .expect = EX_ACCOUNT,
	     .want = "IMAP server sent a malformed untagged response"),
	CASE(body_unknown_uid, .expect = EX_ACCOUNT,
	     .want = "INBOX: the server sent a body for UID 99, which was not asked for "
		     "(or not before the body)"),
	CASE(body_without_uid, .expect = EX_ACCOUNT,
	     .want = "INBOX: the server sent a body for UID 0, which was not asked for "
		     "(or not before the body)"),
	CASE(body_twice, .expect = EX_ACCOUNT,
	     .want = "INBOX: the server sent a body for UID 3, which was not asked for "
		     "(or not before the body)"),
	CASE(uid_zero, .expect = EX_ACCOUNT, .want = "IMAP server sent a malformed FETCH UID"),
	CASE(uid_2_32, .expect = EX_ACCOUNT, .want = "IMAP server sent a malformed FETCH UID"),
	CASE(uid_twice, .setup = SETUP_FIRST, .expect = EX_FOLDER,
	     .want = "INBOX: the server sent UID 1 twice"),
	CASE(uid_twice_changes, .expect = EX_FOLDER,
	     .want = "planner: a UID appears twice in the server view"),
	CASE(ok_before_literal, .setup = SETUP_UPLOAD, .expect = EX_ACCOUNT,
	     .want = "IMAP server answered OK to a command it has not received in full "
		     "(tag %T)",
	     .inbox_after = 4),
	CASE(appenduid_other_box, .setup = SETUP_UPLOAD, .expect = EX_FOLDER,
	     .want = "APPEND to INBOX: APPENDUID names UIDVALIDITY 200, the mailbox has 100",
	     .inbox_after = 4),
	CASE(appenduid_taken, .setup = SETUP_UPLOAD, .expect = EX_FOLDER,
	     .want = "APPEND to INBOX: APPENDUID names UID 1, below UIDNEXT 4 (another message's)",
	     .inbox_after = 4),
	CASE(copyuid_other_box, .setup = SETUP_MOVE, .expect = EX_WARN,
	     .want = "UID MOVE to Work: COPYUID 100 1 7 does not fit (UIDVALIDITY 200, 1 UIDs "
		     "from 2); ignored, the next run finds the moved messages again",
	     .inbox_after = 2, .work_after = 2),
	CASE(copyuid_huge, .setup = SETUP_MOVE, .expect = EX_WARN,
	     .want = "UID MOVE to Work: COPYUID 200 1:4294967295 1:4294967295 does not fit "
		     "(UIDVALIDITY 200, 1 UIDs from 2); ignored, the next run finds the moved "
		     "messages again",
	     .inbox_after = 2, .work_after = 2),
	CASE(endless_line, .expect = EX_ACCOUNT,
	     .want = "IMAP server sent a line longer than 262144 bytes"),
	CASE(deep_nesting, .expect = EX_ACCOUNT,
	     .want = "IMAP server sent lists nested deeper than 16"),
	CASE(bye_mid_command, .expect = EX_ACCOUNT,
	     .want = "server said BYE (going away): 127.0.0.1:%u: server closed the "
		     "connection"),
	CASE(unknown_tag, .expect = EX_ACCOUNT,
	     .want = "IMAP server answered a command never sent (tag X999)"),
	CASE(tag_twice, .expect = EX_ACCOUNT,
	     .want = "IMAP server answered a command never sent (tag %T)"),
	CASE(nul_in_line, .expect = EX_ACCOUNT,
	     .want = "IMAP server sent a control character in response text"),
	CASE(many_untagged, .expect = EX_OK, .check = check_c_downloaded),
	CASE(continuation_unasked, .expect = EX_ACCOUNT,
	     .want = "IMAP server sent a continuation request nobody asked for"),
	CASE(status_negative, .caps_after = "IMAP4rev1 UIDPLUS MOVE ENABLE CONDSTORE LIST-STATUS",
	     .expect = EX_ACCOUNT, .want = "IMAP server sent a malformed STATUS item"),
	CASE(status_overflow, .caps_after = "IMAP4rev1 UIDPLUS MOVE ENABLE CONDSTORE LIST-STATUS",
	     .expect = EX_ACCOUNT, .want = "IMAP server sent a malformed STATUS number"),
	CASE(modseq_backwards, .modseq = 5, .expect = EX_OK, .check = check_c_downloaded),
	CASE(caps_drop_condstore, .caps_after = "IMAP4rev1 UIDPLUS MOVE", .expect = EX_OK,
	     .check = check_c_downloaded),
	CASE(caps_change_midway, .expect = EX_OK, .check = check_c_downloaded),
	CASE(vanished_unseen, .caps_after = QRESYNC_CAPS, .expect = EX_OK,
	     .check = check_c_downloaded),
	CASE(vanished_bad, .caps_after = QRESYNC_CAPS, .expect = EX_ACCOUNT,
	     .want = "IMAP server sent a malformed VANISHED"),
	CASE(expunge_seq_zero, .expect = EX_ACCOUNT,
	     .want = "IMAP server sent a malformed EXPUNGE"),
};

static void in_child(void **state)
{
	run_case(*state);
}

/* Each case runs in a child of its own (hw_forked), so that a crash is
 * counted and named instead of ending the whole test. */
static void one_case(void **state)
{
	const struct hcase *hc = *state;
	int r = hw_forked(hc->name, in_child, *state);
	hw_fig->cases++;
	hw_fig->crashes += r == 2;
	if (r)
		fail_msg("%s: %s", hc->name, r == 2 ? "the run crashed" : "failed (see above)");
}

int hostile_server_tests(void)
{
	struct CMUnitTest tests[UTIL_ARRAY_LEN(cases)];
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++)
		tests[i] = (struct CMUnitTest){cases[i].name, one_case, NULL, NULL,
					       (void *)(uintptr_t)&cases[i]};
	return _cmocka_run_group_tests("hostile-server", tests, UTIL_ARRAY_LEN(tests), NULL,
				       NULL);
}
