/* SPDX-License-Identifier: MIT */
/* The planner, one rule at a time: SPEC.md section 4 as tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "plan.h"

#define S PLAN_SEEN
#define F PLAN_FLAGGED
#define R PLAN_ANSWERED
#define T PLAN_DELETED
#define NOW 1700000000

static const struct plan_settings both = {
	.direction = CONFIG_FLOW_BOTH,
	.delete = CONFIG_FLOW_BOTH,
	.folders = CONFIG_FLOW_BOTH,
	.max_delete = 50,
	.now = NOW,
};

/* An expected action; fields not named are zero. */
struct want {
	enum plan_op op;
	size_t state_index;
	uint32_t uid;
	const char *name;
	unsigned rflags, lflags, add, remove;
};

#define NEW SIZE_MAX

static void check_plan(const struct plan *p, const struct want *want, size_t n)
{
	for (size_t i = 0; i < n && i < p->n_actions; i++) {
		const struct plan_action *a = &p->actions[i];
		const struct want *w = &want[i];
		if (a->op != w->op || a->state_index != w->state_index ||
		    a->uid != w->uid ||
		    (a->name == NULL) != (w->name == NULL) ||
		    (a->name && strcmp(a->name, w->name)) ||
		    a->rflags != w->rflags || a->lflags != w->lflags ||
		    a->add != w->add || a->remove != w->remove)
			fail_msg("action %zu: got %s si=%zu uid=%u name=%s r=%u l=%u "
				 "+%u -%u; want %s si=%zu uid=%u name=%s r=%u l=%u +%u -%u",
				 i, plan_op_name(a->op), a->state_index, a->uid,
				 a->name ? a->name : "-", a->rflags, a->lflags,
				 a->add, a->remove, plan_op_name(w->op),
				 w->state_index, w->uid, w->name ? w->name : "-",
				 w->rflags, w->lflags, w->add, w->remove);
	}
	assert_int_equal(p->n_actions, n);
}

/* Zero-length arrays are not C; a sentinel the planner never sees. */
static const struct plan_state_msg no_state[1];
static const struct plan_remote_msg no_remote[1];
static const struct plan_local_msg no_local[1];

#define RUN0(st, nst, rm, nrm, lc, nlc, settings, ...)                       \
	do {                                                                  \
		const struct plan_input in = {st, nst, rm, nrm, lc, nlc};     \
		const struct want w[] = {__VA_ARGS__};                        \
		struct plan p = PLAN_INIT;                                    \
		struct error err = ERROR_INIT;                                \
		assert_int_equal(plan_folder(&in, settings, &p, &err), 0);    \
		assert_false(p.refused);                                      \
		check_plan(&p, w, UTIL_ARRAY_LEN(w));                         \
		plan_release(&p);                                             \
	} while (0)

#define RUN(st, rm, lc, settings, ...)                                        \
	RUN0(st, UTIL_ARRAY_LEN(st), rm, UTIL_ARRAY_LEN(rm), lc,               \
	     UTIL_ARRAY_LEN(lc), settings, __VA_ARGS__)

/* Row: new server message -> download. */
static void new_on_server_is_downloaded(void **state)
{
	const struct plan_remote_msg rm[] = {{7, S | F, 100, NOW}};
	RUN0(no_state, 0, rm, 1, no_local, 0, &both,
	     {PLAN_DOWNLOAD, NEW, 7, NULL, S | F, S | F, 0, 0});
}

/* Row: new local file -> upload with its flags. */
static void new_local_file_is_uploaded(void **state)
{
	const struct plan_local_msg lc[] = {{"1.a.host", R, 50, NOW}};
	RUN0(no_state, 0, no_remote, 0, lc, 1, &both,
	     {PLAN_UPLOAD, NEW, 0, "1.a.host", R, R, 0, 0});
}

/* Nothing changed anywhere: no action at all. */
static void unchanged_is_nothing(void **state)
{
	const struct plan_state_msg st[] = {{1, "a", S, S}, {2, "b", 0, 0}};
	const struct plan_remote_msg rm[] = {{2, 0, 1, NOW}, {1, S, 1, NOW}};
	const struct plan_local_msg lc[] = {{"a", S, 1, NOW}, {"b", 0, 1, NOW}};
	const struct plan_input in = {st, 2, rm, 2, lc, 2};
	struct plan p = PLAN_INIT;
	assert_int_equal(plan_folder(&in, &both, &p, NULL), 0);
	assert_int_equal(p.n_actions, 0);
	plan_release(&p);
}

/* Row: flags changed on the server only -> the file follows. */
static void server_flags_go_to_the_file(void **state)
{
	const struct plan_state_msg st[] = {{1, "a", 0, 0}};
	const struct plan_remote_msg rm[] = {{1, S | F, 1, NOW}};
	const struct plan_local_msg lc[] = {{"a", 0, 1, NOW}};
	RUN(st, rm, lc, &both, {PLAN_LOCAL_FLAGS, 0, 1, "a", S | F, S | F, 0, 0});
}

/* Row: flags changed locally only -> STORE on the server. */
static void local_flags_go_to_the_server(void **state)
{
	const struct plan_state_msg st[] = {{1, "a", S | F, S | F}};
	const struct plan_remote_msg rm[] = {{1, S | F, 1, NOW}};
	const struct plan_local_msg lc[] = {{"a", S | R, 1, NOW}};
	RUN(st, rm, lc, &both,
	    {PLAN_REMOTE_FLAGS, 0, 1, "a", S | R, S | R, R, F});
}

/* Row: flags changed on both sides -> merged flag by flag, both get it. */
static void flags_changed_on_both_sides_merge(void **state)
{
	/* Server added F, the file gained R and lost S. */
	const struct plan_state_msg st[] = {{1, "a", S, S}};
	const struct plan_remote_msg rm[] = {{1, S | F, 1, NOW}};
	const struct plan_local_msg lc[] = {{"a", R, 1, NOW}};
	RUN(st, rm, lc, &both,
	    {PLAN_REMOTE_FLAGS, 0, 1, "a", F | R, R, R, S},
	    {PLAN_LOCAL_FLAGS, 0, 1, "a", F | R, F | R, 0, 0});
}

/* The same flag changed the same way on both sides: only the state moves. */
static void same_change_on_both_sides_updates_state(void **state)
{
	const struct plan_state_msg st[] = {{1, "a", 0, 0}};
	const struct plan_remote_msg rm[] = {{1, S, 1, NOW}};
	const struct plan_local_msg lc[] = {{"a", S, 1, NOW}};
	RUN(st, rm, lc, &both, {PLAN_UPDATE_STATE, 0, 1, "a", S, S, 0, 0});
}

/* Row: expunged on the server, file unchanged or flags changed -> the
 * file is removed. */
static void server_expunge_removes_the_file(void **state)
{
	const struct plan_state_msg st[] = {{1, "a", S, S}, {2, "b", 0, 0}};
	const struct plan_local_msg lc[] = {{"a", S, 1, NOW}, {"b", F, 1, NOW}};
	RUN0(st, 2, no_remote, 0, lc, 2, &both,
	     {PLAN_DELETE_LOCAL, 0, 0, "a", 0, S, 0, 0},
	     {PLAN_DELETE_LOCAL, 1, 0, "b", 0, F, 0, 0});
}

/* Row: file removed, server unchanged or flags changed -> \Deleted and
 * UID EXPUNGE. */
static void removed_file_expunges_on_server(void **state)
{
	const struct plan_state_msg st[] = {{1, "a", S, S}, {2, "b", 0, 0}};
	const struct plan_remote_msg rm[] = {{1, S, 1, NOW}, {2, F, 1, NOW}};
	RUN0(st, 2, rm, 2, no_local, 0, &both,
	     {PLAN_DELETE_REMOTE, 0, 1, NULL, S, 0, 0, 0},
	     {PLAN_DELETE_REMOTE, 1, 2, NULL, F, 0, 0, 0});
}

/* Row: expunged and removed -> forget it. */
static void gone_on_both_sides_is_forgotten(void **state)
{
	const struct plan_state_msg st[] = {{1, "a", S, S}};
	RUN0(st, 1, no_remote, 0, no_local, 0, &both,
	     {PLAN_FORGET, 0, 1, "a", 0, 0, 0, 0});
}

/* direction: pull -> nothing travels to the server, and the state
 * remembers the local flag change so it is not seen again. */
static void direction_pull(void **state)
{
	struct plan_settings s = both;
	s.direction = CONFIG_FLOW_PULL;
	const struct plan_state_msg st[] = {{1, "a", 0, 0}, {2, "b", 0, 0}};
	const struct plan_remote_msg rm[] = {{1, 0, 1, NOW}, {2, S, 1, NOW}, {3, 0, 1, NOW}};
	const struct plan_local_msg lc[] = {{"a", F, 1, NOW}, {"b", R, 1, NOW}, {"new", 0, 1, NOW}};
	RUN(st, rm, lc, &s,
	    {PLAN_UPDATE_STATE, 0, 1, "a", 0, F, 0, 0},
	    {PLAN_LOCAL_FLAGS, 1, 2, "b", S, S | R, 0, 0},
	    {PLAN_DOWNLOAD, NEW, 3, NULL, 0, 0, 0, 0});
}

/* direction: push -> nothing comes down. */
static void direction_push(void **state)
{
	struct plan_settings s = both;
	s.direction = CONFIG_FLOW_PUSH;
	const struct plan_state_msg st[] = {{1, "a", 0, 0}, {2, "b", 0, 0}};
	const struct plan_remote_msg rm[] = {{1, S, 1, NOW}, {3, 0, 1, NOW}};
	const struct plan_local_msg lc[] = {{"a", F, 1, NOW}, {"b", 0, 1, NOW}, {"new", T, 9, NOW}};
	RUN(st, rm, lc, &s,
	    {PLAN_REMOTE_FLAGS, 0, 1, "a", S | F, F, F, 0},
	    {PLAN_UPDATE_STATE, 1, 0, "b", 0, 0, 0, 0},
	    {PLAN_UPLOAD, NEW, 0, "new", T, T, 0, 0});
}

/* delete: none -> each side keeps its copy, the state remembers the
 * divergence (uid 0 / name NULL) so nothing is copied back. */
static void delete_none_keeps_both_copies(void **state)
{
	struct plan_settings s = both;
	s.delete = CONFIG_FLOW_NONE;
	const struct plan_state_msg st[] = {{1, "a", S, S}, {2, "b", 0, 0}};
	const struct plan_remote_msg rm[] = {{2, F, 1, NOW}};
	const struct plan_local_msg lc[] = {{"a", S, 1, NOW}};
	RUN(st, rm, lc, &s,
	    {PLAN_UPDATE_STATE, 0, 0, "a", 0, S, 0, 0},
	    {PLAN_UPDATE_STATE, 1, 2, NULL, F, 0, 0, 0});
}

/* delete: pull -> server expunges reach the Maildir, local removals do
 * not reach the server; delete: push the other way round. */
static void delete_pull_and_push(void **state)
{
	const struct plan_state_msg st[] = {{1, "a", 0, 0}, {2, "b", 0, 0}};
	const struct plan_remote_msg rm[] = {{2, 0, 1, NOW}};
	const struct plan_local_msg lc[] = {{"a", 0, 1, NOW}};
	struct plan_settings s = both;
	s.delete = CONFIG_FLOW_PULL;
	RUN(st, rm, lc, &s,
	    {PLAN_DELETE_LOCAL, 0, 0, "a", 0, 0, 0, 0},
	    {PLAN_UPDATE_STATE, 1, 2, NULL, 0, 0, 0, 0});
	s.delete = CONFIG_FLOW_PUSH;
	RUN(st, rm, lc, &s,
	    {PLAN_UPDATE_STATE, 0, 0, "a", 0, 0, 0, 0},
	    {PLAN_DELETE_REMOTE, 1, 2, NULL, 0, 0, 0, 0});
	/* direction: push with delete: both cannot pull a deletion. */
	s.delete = CONFIG_FLOW_BOTH;
	s.direction = CONFIG_FLOW_PUSH;
	RUN(st, rm, lc, &s,
	    {PLAN_UPDATE_STATE, 0, 0, "a", 0, 0, 0, 0},
	    {PLAN_DELETE_REMOTE, 1, 2, NULL, 0, 0, 0, 0});
}

/* Entries kept on one side by a setting stay that way: no upload, no
 * download; when the remaining copy goes, the entry is forgotten. */
static void diverged_entries_stay_diverged(void **state)
{
	const struct plan_state_msg st[] = {
		{0, "kept-local", S, S},  /* server copy gone earlier */
		{5, NULL, 0, 0},          /* local copy gone earlier */
		{0, "gone-now", 0, 0},
		{6, NULL, 0, 0},
	};
	const struct plan_remote_msg rm[] = {{5, F, 1, NOW}};
	const struct plan_local_msg lc[] = {{"kept-local", S, 1, NOW}};
	RUN(st, rm, lc, &both,
	    {PLAN_UPDATE_STATE, 1, 5, NULL, F, 0, 0, 0},
	    {PLAN_FORGET, 2, 0, "gone-now", 0, 0, 0, 0},
	    {PLAN_FORGET, 3, 6, NULL, 0, 0, 0, 0});
}

/* max_size and max_age: new messages are listed, not transferred. */
static void max_size_and_max_age(void **state)
{
	struct plan_settings s = both;
	s.max_size = 1000;
	s.max_age = 86400;
	const struct plan_remote_msg rm[] = {
		{1, 0, 1000, NOW}, {2, 0, 1001, NOW}, {3, 0, 10, NOW - 86401},
	};
	const struct plan_local_msg lc[] = {
		{"big", 0, 5000, NOW}, {"old", 0, 10, NOW - 90000}, {"ok", 0, 10, NOW - 10},
	};
	RUN0(no_state, 0, rm, 3, lc, 3, &s,
	     {PLAN_DOWNLOAD, NEW, 1, NULL, 0, 0, 0, 0},
	     {PLAN_SKIP_TOO_BIG, NEW, 2, NULL, 0, 0, 0, 0},
	     {PLAN_SKIP_TOO_OLD, NEW, 3, NULL, 0, 0, 0, 0},
	     {PLAN_SKIP_TOO_BIG, NEW, 0, "big", 0, 0, 0, 0},
	     {PLAN_UPLOAD, NEW, 0, "ok", 0, 0, 0, 0},
	     {PLAN_SKIP_TOO_OLD, NEW, 0, "old", 0, 0, 0, 0});
}

/* ---- the max_delete guard -------------------------------------------- */

static char names[20][8];

/* n synced messages, the first `deleted` of them gone on side `server`. */
static void guard_case(size_t n, size_t deleted, bool server, bool force,
		       unsigned max_delete, bool want_refused, const char *want_msg)
{
	struct plan_state_msg st[20];
	struct plan_remote_msg rm[20];
	struct plan_local_msg lc[20];
	size_t nr = 0, nl = 0;
	for (size_t i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "m%zu", i);
		st[i] = (struct plan_state_msg){(uint32_t)i + 1, names[i], 0, 0};
		if (!server || i >= deleted)
			rm[nr++] = (struct plan_remote_msg){(uint32_t)i + 1, 0, 1, NOW};
		if (server || i >= deleted)
			lc[nl++] = (struct plan_local_msg){names[i], 0, 1, NOW};
	}
	struct plan_settings s = both;
	s.force = force;
	s.max_delete = max_delete;
	const struct plan_input in = {st, n, rm, nr, lc, nl};
	struct plan p = PLAN_INIT;
	assert_int_equal(plan_folder(&in, &s, &p, NULL), 0);
	assert_int_equal(p.refused, want_refused);
	if (want_msg)
		assert_string_equal(p.refusal, want_msg);
	else
		assert_null(p.refusal);
	assert_int_equal(server ? p.n_delete_local : p.n_delete_remote, deleted);
	plan_release(&p);
}

static void max_delete_guard(void **state)
{
	/* 6 of 10 files removed locally -> 6 server deletions: refused. */
	guard_case(10, 6, false, false, 50, true,
		   "refusing to delete 6 of 10 server messages (more than "
		   "max_delete 50%); run with --force to allow it");
	/* 6 of 10 expunged on the server: 6 of the 10 local files would go. */
	guard_case(10, 6, true, false, 50, true,
		   "refusing to delete 6 of 10 local messages (more than "
		   "max_delete 50%); run with --force to allow it");
	/* Exactly 50% is allowed; so is anything with --force. */
	guard_case(10, 5, false, false, 50, false, NULL);
	guard_case(10, 10, false, true, 50, false, NULL);
	/* Folders under 10 messages are not guarded. */
	guard_case(9, 9, true, false, 50, false, NULL);
	/* max_delete 100% turns the guard off, 0% refuses any deletion. */
	guard_case(20, 20, true, false, 100, false, NULL);
	guard_case(20, 1, false, false, 0, true,
		   "refusing to delete 1 of 20 server messages (more than "
		   "max_delete 0%); run with --force to allow it");
}

static void duplicate_keys_are_caller_bugs(void **state)
{
	const struct plan_remote_msg rm[] = {{1, 0, 1, NOW}, {1, 0, 1, NOW}};
	const struct plan_input in = {no_state, 0, rm, 2, no_local, 0};
	struct plan p = PLAN_INIT;
	struct error err = ERROR_INIT;
	assert_true(plan_folder(&in, &both, &p, &err) < 0);
	assert_string_equal(err.msg, "planner: a UID appears twice in the server view");
	error_clear(&err);
	plan_release(&p);
	const struct plan_local_msg lc[] = {{"x", 0, 1, NOW}, {"x", S, 1, NOW}};
	const struct plan_input in2 = {no_state, 0, no_remote, 0, lc, 2};
	assert_true(plan_folder(&in2, &both, &p, &err) < 0);
	assert_string_equal(err.msg, "planner: a file name appears twice in the Maildir view");
	error_clear(&err);
	plan_release(&p);
}

/* ---- folders ----------------------------------------------------------- */

struct folder_case {
	bool remote, local, known, rclean, lclean;
	size_t messages;
	enum config_flow folders, direction;
	bool force;
	enum plan_folder_op want;
};

#define B CONFIG_FLOW_BOTH
#define PL CONFIG_FLOW_PULL
#define PU CONFIG_FLOW_PUSH
#define NO CONFIG_FLOW_NONE

static const struct folder_case folder_cases[] = {
	/* On both sides, whatever the settings: its messages are synced. */
	{1, 1, 0, 0, 0, 0, NO, B, 0, PLAN_FOLDER_SYNC},
	{1, 1, 1, 0, 0, 0, B, PU, 0, PLAN_FOLDER_SYNC},
	/* New on the server: made locally if folders (and direction) pull. */
	{1, 0, 0, 0, 0, 0, B, B, 0, PLAN_FOLDER_CREATE_LOCAL},
	{1, 0, 0, 0, 0, 0, PL, B, 0, PLAN_FOLDER_CREATE_LOCAL},
	{1, 0, 0, 0, 0, 0, PU, B, 0, PLAN_FOLDER_SKIP},
	{1, 0, 0, 0, 0, 0, NO, B, 0, PLAN_FOLDER_SKIP},
	{1, 0, 0, 0, 0, 0, B, PU, 0, PLAN_FOLDER_SKIP},
	/* New locally: created on the server if folders pushes. */
	{0, 1, 0, 0, 0, 0, B, B, 0, PLAN_FOLDER_CREATE_REMOTE},
	{0, 1, 0, 0, 0, 0, PU, B, 0, PLAN_FOLDER_CREATE_REMOTE},
	{0, 1, 0, 0, 0, 0, PL, B, 0, PLAN_FOLDER_SKIP},
	{0, 1, 0, 0, 0, 0, NO, B, 0, PLAN_FOLDER_SKIP},
	{0, 1, 0, 0, 0, 0, B, PL, 0, PLAN_FOLDER_SKIP},
	/* Gone on both sides: forgotten. */
	{0, 0, 1, 0, 0, 0, B, B, 0, PLAN_FOLDER_FORGET},
	/* Removed locally: deleted on the server only if it holds nothing
	 * unsynced and folders pushes; else made again locally. */
	{1, 0, 1, 1, 0, 3, B, B, 0, PLAN_FOLDER_DELETE_REMOTE},
	{1, 0, 1, 1, 0, 3, PU, B, 0, PLAN_FOLDER_DELETE_REMOTE},
	{1, 0, 1, 0, 0, 3, B, B, 0, PLAN_FOLDER_RESTORE_LOCAL},
	{1, 0, 1, 1, 0, 3, PL, B, 0, PLAN_FOLDER_RESTORE_LOCAL},
	{1, 0, 1, 1, 0, 3, NO, B, 0, PLAN_FOLDER_RESTORE_LOCAL},
	{1, 0, 1, 1, 0, 3, B, PL, 0, PLAN_FOLDER_RESTORE_LOCAL},
	/* Removed on the server: the mirror image. */
	{0, 1, 1, 0, 1, 3, B, B, 0, PLAN_FOLDER_DELETE_LOCAL},
	{0, 1, 1, 0, 1, 3, PL, B, 0, PLAN_FOLDER_DELETE_LOCAL},
	{0, 1, 1, 0, 0, 3, B, B, 0, PLAN_FOLDER_RESTORE_REMOTE},
	{0, 1, 1, 0, 1, 3, PU, B, 0, PLAN_FOLDER_RESTORE_REMOTE},
	{0, 1, 1, 0, 1, 3, NO, B, 0, PLAN_FOLDER_RESTORE_REMOTE},
	{0, 1, 1, 0, 1, 3, B, PU, 0, PLAN_FOLDER_RESTORE_REMOTE},
	/* A removal of 10 or more messages is refused unless forced. */
	{1, 0, 1, 1, 0, 10, B, B, 0, PLAN_FOLDER_REFUSE},
	{0, 1, 1, 0, 1, 10, B, B, 0, PLAN_FOLDER_REFUSE},
	{0, 1, 1, 0, 1, 10, B, B, 1, PLAN_FOLDER_DELETE_LOCAL},
	{1, 0, 1, 1, 0, 9, B, B, 0, PLAN_FOLDER_DELETE_REMOTE},
};

static void folder_rules(void **state)
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(folder_cases); i++) {
		const struct folder_case *c = &folder_cases[i];
		struct plan_folder_in in = {c->remote, c->local, c->known, c->rclean,
					    c->lclean, c->messages};
		struct plan_settings s = both;
		s.folders = c->folders;
		s.direction = c->direction;
		s.force = c->force;
		enum plan_folder_op got = plan_folder_op(&in, &s);
		if (got != c->want)
			fail_msg("case %zu: got %s, want %s", i, plan_folder_op_name(got),
				 plan_folder_op_name(c->want));
	}
}

static void flag_letters(void **state)
{
	char out[7];
	plan_flags_letters(0, out);
	assert_string_equal(out, "");
	plan_flags_letters(PLAN_SEEN | PLAN_FLAGGED, out);
	assert_string_equal(out, "FS");
	plan_flags_letters(0x3f, out);
	assert_string_equal(out, "DFPRST");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(new_on_server_is_downloaded),
		cmocka_unit_test(new_local_file_is_uploaded),
		cmocka_unit_test(unchanged_is_nothing),
		cmocka_unit_test(server_flags_go_to_the_file),
		cmocka_unit_test(local_flags_go_to_the_server),
		cmocka_unit_test(flags_changed_on_both_sides_merge),
		cmocka_unit_test(same_change_on_both_sides_updates_state),
		cmocka_unit_test(server_expunge_removes_the_file),
		cmocka_unit_test(removed_file_expunges_on_server),
		cmocka_unit_test(gone_on_both_sides_is_forgotten),
		cmocka_unit_test(direction_pull),
		cmocka_unit_test(direction_push),
		cmocka_unit_test(delete_none_keeps_both_copies),
		cmocka_unit_test(delete_pull_and_push),
		cmocka_unit_test(diverged_entries_stay_diverged),
		cmocka_unit_test(max_size_and_max_age),
		cmocka_unit_test(max_delete_guard),
		cmocka_unit_test(duplicate_keys_are_caller_bugs),
		cmocka_unit_test(folder_rules),
		cmocka_unit_test(flag_letters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
