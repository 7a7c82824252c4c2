/* SPDX-License-Identifier: MIT */
#include "crash-scenarios.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- groups of messages ------------------------------------------------ */

/* Points w at "<base>-<f>", made on the server if create. */
static void use(struct world *w, const char *base, char f, bool create)
{
	char *folder = xasprintf("%s-%c", base, f);
	world_use(w, folder, create);
	free(folder);
}

/* Runs doveadm CMD [SUB] -u USER [ARG] mailbox <base>-<f> on the group g
 * (its Message-IDs all start with "<g", and no other's do). */
static void srv_on_group(struct world *w, const char *base, char f, char g,
			 const char *cmd, const char *sub, const char *arg)
{
	char *folder = xasprintf("%s-%c", base, f);
	char *id = xasprintf("<%c", g);
	const char *args[12];
	size_t n = 0;
	args[n++] = cmd;
	if (sub)
		args[n++] = sub;
	args[n++] = "-u";
	args[n++] = w->h->user;
	if (arg)
		args[n++] = arg;
	args[n++] = "mailbox";
	args[n++] = folder;
	args[n++] = "HEADER";
	args[n++] = "Message-ID";
	args[n++] = id;
	args[n] = NULL;
	struct error err = ERROR_INIT;
	if (harness_doveadm_argv(w->h, NULL, NULL, args, &err) < 0)
		fail_msg("doveadm %s: %s", cmd, err.msg);
	free(id);
	free(folder);
}

/* k messages g0.. on the server in <base>-<f>, with IMAP flags (or NULL). */
static void srv_add(struct world *w, const char *base, char f, char g, unsigned k,
		    const char *flags)
{
	use(w, base, f, false);
	char prefix[2] = {g, 0};
	server_bulk(w, prefix, k);
	if (flags)
		srv_on_group(w, base, f, g, "flags", "replace", flags);
}

static void srv_flags(struct world *w, const char *base, char f, char g,
		      const char *flags)
{
	srv_on_group(w, base, f, g, "flags", "replace", flags);
}

static void srv_expunge(struct world *w, const char *base, char f, char g)
{
	srv_on_group(w, base, f, g, "expunge", NULL, NULL);
}

static void srv_move(struct world *w, const char *base, char f, char g, char to)
{
	char *dest = xasprintf("%s-%c", base, to);
	srv_on_group(w, base, f, g, "move", NULL, dest);
	free(dest);
}

/* What the local helpers do to one message, for each of a group. */
enum loc_op { LOC_ADD, LOC_FLAGS, LOC_REMOVE, LOC_MOVE };

static void loc_group(struct world *w, const char *base, char f, char g, unsigned k,
		      enum loc_op op, const char *letters, char to)
{
	use(w, base, f, false);
	char *dest = xasprintf("%s-%c", base, to);
	for (unsigned i = 0; i < k; i++) {
		char *name = xasprintf("%c%u", g, i);
		switch (op) {
		case LOC_ADD:
			local_add(w, name, letters);
			break;
		case LOC_FLAGS:
			local_flags(w, name, letters);
			break;
		case LOC_REMOVE:
			local_remove(w, name);
			break;
		case LOC_MOVE:
			local_move(w, name, dest);
			break;
		}
		free(name);
	}
	free(dest);
}

/* Creates the server folders named by the letters of fs and syncs the
 * world once with what srv_add put there (or nothing). */
static void folders(struct world *w, const char *base, const char *fs)
{
	for (const char *p = fs; *p; p++)
		use(w, base, *p, true);
}

static void sync_all(struct world *w, const char *base)
{
	char *glob = xasprintf("%s-*", base);
	world_use(w, glob, false);
	free(glob);
	world_sync_ok(w);
}

/* ---- the table rows ------------------------------------------------------ */

static void prep_download(struct world *w, const char *b, unsigned k)
{
	folders(w, b, "a");
	srv_add(w, b, 'a', 'p', 1, NULL);
	sync_all(w, b);
	srv_add(w, b, 'a', 'n', k, NULL);
	srv_add(w, b, 'a', 's', k, "\\Seen");
	srv_add(w, b, 'a', 'f', k, "\\Seen \\Flagged");
}

static void prep_upload(struct world *w, const char *b, unsigned k)
{
	folders(w, b, "a");
	srv_add(w, b, 'a', 'p', 1, NULL);
	sync_all(w, b);
	loc_group(w, b, 'a', 'u', k, LOC_ADD, "", 0);
	loc_group(w, b, 'a', 'v', k, LOC_ADD, "S", 0);
	loc_group(w, b, 'a', 'x', k, LOC_ADD, "FR", 0);
}

static void prep_flags(struct world *w, const char *b, unsigned k)
{
	folders(w, b, "a");
	srv_add(w, b, 'a', 'p', k, NULL);
	srv_add(w, b, 'a', 'q', k, NULL);
	srv_add(w, b, 'a', 'r', k, NULL);
	srv_add(w, b, 'a', 't', k, "\\Seen");
	sync_all(w, b);
	srv_flags(w, b, 'a', 'p', "\\Flagged");
	loc_group(w, b, 'a', 'p', k, LOC_FLAGS, "S", 0);
	srv_flags(w, b, 'a', 'q', "\\Seen");
	loc_group(w, b, 'a', 'q', k, LOC_FLAGS, "R", 0);
	srv_flags(w, b, 'a', 'r', "\\Seen");
	loc_group(w, b, 'a', 'r', k, LOC_FLAGS, "S", 0);
	srv_flags(w, b, 'a', 't', "");
	loc_group(w, b, 'a', 't', k, LOC_FLAGS, "FS", 0);
}

/* Groups x, y, z synced in <base>-a; the rows below change x and y. */
static void three_groups(struct world *w, const char *b, unsigned k)
{
	folders(w, b, "a");
	srv_add(w, b, 'a', 'x', k, NULL);
	srv_add(w, b, 'a', 'y', k, NULL);
	srv_add(w, b, 'a', 'z', k, NULL);
	sync_all(w, b);
}

static void prep_server_expunge(struct world *w, const char *b, unsigned k)
{
	three_groups(w, b, k);
	srv_expunge(w, b, 'a', 'x');
	loc_group(w, b, 'a', 'y', k, LOC_FLAGS, "S", 0);
	srv_expunge(w, b, 'a', 'y');
}

static void prep_local_remove(struct world *w, const char *b, unsigned k)
{
	three_groups(w, b, k);
	loc_group(w, b, 'a', 'x', k, LOC_REMOVE, NULL, 0);
	srv_flags(w, b, 'a', 'y', "\\Seen");
	loc_group(w, b, 'a', 'y', k, LOC_REMOVE, NULL, 0);
}

static void prep_both_removed(struct world *w, const char *b, unsigned k)
{
	three_groups(w, b, k);
	loc_group(w, b, 'a', 'x', k, LOC_REMOVE, NULL, 0);
	srv_expunge(w, b, 'a', 'x');
	loc_group(w, b, 'a', 'y', k, LOC_FLAGS, "F", 0);
	srv_flags(w, b, 'a', 'y', "\\Seen");
}

/* x removed locally, y expunged on the server. */
static void prep_both_removed_other(struct world *w, const char *b, unsigned k)
{
	three_groups(w, b, k);
	loc_group(w, b, 'a', 'x', k, LOC_REMOVE, NULL, 0);
	srv_expunge(w, b, 'a', 'y');
}

/* New and changed on both sides, for a pull-only account. */
static void prep_pull(struct world *w, const char *b, unsigned k)
{
	folders(w, b, "a");
	srv_add(w, b, 'a', 'p', k, NULL);
	sync_all(w, b);
	srv_add(w, b, 'a', 'n', k, NULL);
	srv_flags(w, b, 'a', 'p', "\\Seen");
	loc_group(w, b, 'a', 'p', k, LOC_FLAGS, "F", 0);
	loc_group(w, b, 'a', 'u', k, LOC_ADD, "", 0);
}

/* Groups m, n in <base>-a and s in -b, synced, folders a, b and c. */
static void two_folders(struct world *w, const char *b, unsigned k)
{
	folders(w, b, "abc");
	srv_add(w, b, 'a', 'm', k, NULL);
	srv_add(w, b, 'a', 'n', k, NULL);
	srv_add(w, b, 'b', 's', 1, NULL);
	sync_all(w, b);
}

static void prep_server_move(struct world *w, const char *b, unsigned k)
{
	two_folders(w, b, k);
	srv_move(w, b, 'a', 'm', 'b');
}

static void prep_local_move(struct world *w, const char *b, unsigned k)
{
	two_folders(w, b, k);
	loc_group(w, b, 'a', 'm', k, LOC_MOVE, NULL, 'b');
}

static void prep_move_conflict(struct world *w, const char *b, unsigned k)
{
	two_folders(w, b, k);
	srv_move(w, b, 'a', 'm', 'b');
	loc_group(w, b, 'a', 'm', k, LOC_MOVE, NULL, 'c');
}

static void prep_move_flags(struct world *w, const char *b, unsigned k)
{
	two_folders(w, b, k);
	srv_move(w, b, 'a', 'm', 'b');
	loc_group(w, b, 'a', 'm', k, LOC_FLAGS, "S", 0);
	loc_group(w, b, 'a', 'n', k, LOC_MOVE, NULL, 'b');
	srv_flags(w, b, 'a', 'n', "\\Flagged");
}

static void prep_move_remove(struct world *w, const char *b, unsigned k)
{
	two_folders(w, b, k);
	srv_move(w, b, 'a', 'm', 'b');
	loc_group(w, b, 'a', 'm', k, LOC_REMOVE, NULL, 0);
	loc_group(w, b, 'a', 'n', k, LOC_MOVE, NULL, 'b');
	srv_expunge(w, b, 'a', 'n');
}

/* ---- folders ------------------------------------------------------------ */

/* <base>-a with p and <base>-b with q, synced. */
static void folder_pair(struct world *w, const char *b, unsigned k)
{
	folders(w, b, "ab");
	srv_add(w, b, 'a', 'p', 1, NULL);
	srv_add(w, b, 'b', 'q', k, NULL);
	sync_all(w, b);
}

static void prep_folder_new_server(struct world *w, const char *b, unsigned k)
{
	folders(w, b, "a");
	srv_add(w, b, 'a', 'p', 1, NULL);
	sync_all(w, b);
	folders(w, b, "b");
	srv_add(w, b, 'b', 'q', k, NULL);
}

static void prep_folder_new_local(struct world *w, const char *b, unsigned k)
{
	folders(w, b, "a");
	srv_add(w, b, 'a', 'p', 1, NULL);
	sync_all(w, b);
	loc_group(w, b, 'b', 'q', k, LOC_ADD, "", 0);
}

static void prep_folder_delete_server(struct world *w, const char *b, unsigned k)
{
	folder_pair(w, b, k);
	struct error err = ERROR_INIT;
	char *folder = xasprintf("%s-b", b);
	if (harness_mailbox_delete(w->h, NULL, folder, &err) < 0)
		fail_msg("%s", err.msg);
	free(folder);
}

static void prep_folder_delete_local(struct world *w, const char *b, unsigned k)
{
	folder_pair(w, b, k);
	loc_group(w, b, 'b', 'q', k, LOC_REMOVE, NULL, 0);
	char *dir = xasprintf("%s/%s-b", w->root, b);
	static const char *const subs[] = {"cur", "new", "tmp", ""};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(subs); i++) {
		char *sub = xasprintf("%s/%s", dir, subs[i]);
		if (rmdir(sub) < 0)
			fail_msg("cannot remove %s", sub);
		free(sub);
	}
	free(dir);
}

static void prep_folder_rename_server(struct world *w, const char *b, unsigned k)
{
	folder_pair(w, b, k);
	struct error err = ERROR_INIT;
	char *from = xasprintf("%s-b", b), *to = xasprintf("%s-c", b);
	if (harness_mailbox_rename(w->h, NULL, from, to, &err) < 0)
		fail_msg("%s", err.msg);
	free(from);
	free(to);
}

static void prep_folder_rename_local(struct world *w, const char *b, unsigned k)
{
	folder_pair(w, b, k);
	char *from = xasprintf("%s/%s-b", w->root, b), *to = xasprintf("%s/%s-c", w->root, b);
	if (rename(from, to) < 0)
		fail_msg("cannot rename %s", from);
	free(from);
	free(to);
}

/* ---- the rest ------------------------------------------------------------ */

static void prep_uidvalidity(struct world *w, const char *b, unsigned k)
{
	folders(w, b, "a");
	srv_add(w, b, 'a', 'p', k, NULL);
	sync_all(w, b);
	struct error err = ERROR_INIT;
	struct harness_status st;
	char *folder = xasprintf("%s-a", b);
	if (harness_mailbox_status(w->h, NULL, folder, &st, &err) < 0 ||
	    harness_set_uidvalidity(w->h, NULL, folder, st.uidvalidity + 7, &err) < 0)
		fail_msg("%s", err.msg);
	free(folder);
	srv_add(w, b, 'a', 'n', k, "\\Seen");
	loc_group(w, b, 'a', 'u', k, LOC_ADD, "F", 0);
}

static void prep_first(struct world *w, const char *b, unsigned k)
{
	folders(w, b, "ab");
	srv_add(w, b, 'a', 's', k, NULL);
	srv_add(w, b, 'a', 't', k, "\\Seen");
	srv_add(w, b, 'b', 'r', k, "\\Answered");
	loc_group(w, b, 'a', 'l', k, LOC_ADD, "S", 0);
	loc_group(w, b, 'c', 'c', k, LOC_ADD, "", 0);
}

static void prep_mixed(struct world *w, const char *b, unsigned k)
{
	folders(w, b, "ab");
	srv_add(w, b, 'a', 'a', k, "\\Seen");
	srv_add(w, b, 'a', 'b', k, NULL);
	srv_add(w, b, 'a', 'c', k, "\\Flagged");
	srv_add(w, b, 'a', 'd', k, NULL);
	srv_add(w, b, 'a', 'm', k, NULL);
	srv_add(w, b, 'a', 'n', k, NULL);
	sync_all(w, b);
	srv_add(w, b, 'a', 'e', k, NULL);
	srv_flags(w, b, 'a', 'b', "\\Answered");
	srv_expunge(w, b, 'a', 'c');
	srv_move(w, b, 'a', 'm', 'b');
	loc_group(w, b, 'a', 'g', k, LOC_ADD, "S", 0);
	loc_group(w, b, 'a', 'a', k, LOC_FLAGS, "FS", 0);
	loc_group(w, b, 'a', 'd', k, LOC_REMOVE, NULL, 0);
	loc_group(w, b, 'a', 'n', k, LOC_MOVE, NULL, 'b');
}

#define ALL (CRASH_ON_PLAIN | CRASH_ON_NO_UIDPLUS)
/* Without UIDPLUS a file moved or removed locally fails its folder (no
 * UID EXPUNGE): only the rows that need neither run there. */
#define MOVES (CRASH_ON_PLAIN | CRASH_ON_NO_MOVE)

const struct crash_scenario crash_scenarios[] = {
	{"download", "server: new message -> download", prep_download,
	 "a: f*:FS n*: p0: s*:S", ALL, NULL, NULL},
	{"upload", "Maildir: new file -> APPEND with its flags", prep_upload,
	 "a: p0: u*: v*:S x*:FR", ALL, NULL, NULL},
	{"flags", "flags changed on both sides -> merged flag by flag", prep_flags,
	 "a: p*:FS q*:RS r*:S t*:F", ALL, NULL, NULL},
	{"server-expunge", "expunged, file unchanged or flags changed -> file removed",
	 prep_server_expunge, "a: z*:", ALL, NULL, NULL},
	{"local-remove", "file removed, message unchanged or flags changed -> "
	 "\\Deleted + UID EXPUNGE", prep_local_remove, "a: z*:", CRASH_ON_PLAIN, NULL, NULL},
	{"both-removed", "expunged and removed -> forgotten", prep_both_removed,
	 "a: y*:FS z*:", ALL, NULL, NULL},
	{"server-move", "moved A->B on the server -> file renamed", prep_server_move,
	 "a: n*: | b: m*: s0: | c:", ALL, NULL, NULL},
	{"local-move", "file moved A->B -> UID MOVE (COPY + EXPUNGE without MOVE)",
	 prep_local_move, "a: n*: | b: m*: s0: | c:", MOVES, NULL, NULL},
	{"move-conflict", "moved A->B on the server, A->C locally -> the server wins",
	 prep_move_conflict, "a: n*: | b: m*: s0: | c:", MOVES, NULL, NULL},
	{"move-flags", "moved and flags changed -> both apply", prep_move_flags,
	 "a: | b: m*:S n*:F s0: | c:", MOVES | CRASH_ON_PARALLEL, NULL, NULL},
	{"move-remove", "moved and removed -> the moved copy survives", prep_move_remove,
	 "a: | b: m*: n*: s0: | c:", MOVES, NULL, NULL},
	{"folder-new-server", "folder new on the server -> made locally",
	 prep_folder_new_server, "a: p0: | b: q*:", ALL, NULL, NULL},
	{"folder-new-local", "folder new locally -> CREATE", prep_folder_new_local,
	 "a: p0: | b: q*:", ALL | CRASH_ON_PARALLEL, NULL, NULL},
	{"folder-delete-server", "folder removed on the server -> removed locally",
	 prep_folder_delete_server, "a: p0:", ALL, NULL, NULL},
	{"folder-delete-local", "emptied folder removed locally -> DELETE",
	 prep_folder_delete_local, "a: p0:", CRASH_ON_PLAIN, NULL, NULL},
	{"folder-rename-server", "folder renamed on the server -> renamed locally",
	 prep_folder_rename_server, "a: p0: | c: q*:", ALL, NULL, NULL},
	{"folder-rename-local", "folder renamed locally -> RENAME",
	 prep_folder_rename_local, "a: p0: | c: q*:", ALL, NULL, NULL},
	{"uidvalidity", "UIDVALIDITY changed -> re-matched, nothing re-copied",
	 prep_uidvalidity, "a: n*:S p*: u*:F", ALL, NULL, NULL},
	{"first", "first sync of an account: downloads, uploads, new folders",
	 prep_first, "a: l*:S s*: t*:S | b: r*:R | c: c*:", ALL | CRASH_ON_PARALLEL,
	 NULL, NULL},
	{"delete-none", "delete: none -> each side keeps what the other removed",
	 prep_both_removed_other, "a: x*: z*:", ALL, "delete: none", "a: y*: z*:"},
	{"pull-only", "direction: pull -> local changes stay local", prep_pull,
	 "a: n*: p*:S", ALL, "direction: pull", "a: n*: p*:FS u*:"},
	{"mixed", "every kind of change at once", prep_mixed,
	 "a: a*:FS b*:R e*: g*:S | b: m*: n*:", MOVES | CRASH_ON_PARALLEL, NULL, NULL},
};

const size_t crash_n_scenarios = UTIL_ARRAY_LEN(crash_scenarios);
