/* SPDX-License-Identifier: MIT */
/* Folder trees: both layouts, the name mapping both ways, and the names
 * that must never leave the root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "maildir.h"
#include "store-test.h"

#define VERB MAILDIR_LAYOUT_VERBATIM
#define PP MAILDIR_LAYOUT_MAILDIRPP

/* expect NULL: refused with ERR_FOLDER. */
static const struct {
	enum maildir_layout layout;
	char delim;
	const char *inbox;
	const char *remote;
	const char *expect;
} to_local[] = {
	{VERB, '/', "INBOX", "INBOX", "INBOX"},
	{VERB, '/', "INBOX", "inbox", "INBOX"},
	{VERB, '/', "INBOX", "Work", "Work"},
	{VERB, '/', "INBOX", "Work/Sub", "Work/Sub"},
	{VERB, '/', "INBOX", "INBOX/Sub", "INBOX/Sub"},
	{VERB, '/', "INBOX", "[Gmail]/All Mail", "[Gmail]/All Mail"},
	{VERB, '/', "INBOX", "a.b", "a.b"},
	{VERB, '/', "INBOX", "../etc", NULL},
	{VERB, '/', "INBOX", "Work/../../x", NULL},
	{VERB, '/', "INBOX", "..", NULL},
	{VERB, '/', "INBOX", "/abs", NULL},
	{VERB, '/', "INBOX", "a//b", NULL},
	{VERB, '/', "INBOX", "a/", NULL},
	{VERB, '/', "INBOX", "", NULL},
	{VERB, '/', "INBOX", ".hidden", NULL},
	{VERB, '/', "INBOX", "a/.b", NULL},
	{VERB, '/', "INBOX", "a/cur", NULL},
	{VERB, '/', "INBOX", "new", NULL},
	{VERB, '/', "INBOX", "tmp", NULL},
	{VERB, '/', "INBOX", "a\001b", NULL},
	{VERB, '/', "INBOX", "a\177", NULL},
	{VERB, '/', "INBOX", "Work/.", NULL},
	{VERB, '.', "INBOX", "Work.Sub", "Work/Sub"},
	{VERB, '.', "INBOX", "a/b", NULL},
	{VERB, '.', "INBOX", "..x", NULL},
	{VERB, '\0', "INBOX", "Work", "Work"},
	{VERB, '\0', "INBOX", "Work/Sub", NULL},
	{VERB, '/', "Mail/In", "INBOX", "Mail/In"},
	{VERB, '/', "Mail/In", "Mail/In", NULL},
	{VERB, '/', "Mail/In", "Mail", "Mail"},
	{PP, '/', "INBOX", "INBOX", ""},
	{PP, '/', "INBOX", "Inbox", ""},
	{PP, '/', "INBOX", "Work", ".Work"},
	{PP, '/', "INBOX", "Work/Sub", ".Work.Sub"},
	{PP, '/', "INBOX", "a/cur", ".a.cur"},
	{PP, '/', "INBOX", "a.b", NULL},
	{PP, '/', "INBOX", "../x", NULL},
	{PP, '/', "INBOX", "/x", NULL},
	{PP, '/', "INBOX", "x\033", NULL},
	{PP, '.', "INBOX", "Work.Sub", ".Work.Sub"},
	{PP, '.', "INBOX", "a/b", NULL},
};

static void maps_remote_to_local(void **state)
{
	for (size_t i = 0; i < sizeof(to_local) / sizeof(to_local[0]); i++) {
		struct maildir_tree t = {"/r", to_local[i].layout, to_local[i].inbox,
					 to_local[i].delim};
		struct error err = ERROR_INIT;
		char *rel = NULL;
		int r = maildir_remote_to_local(&t, to_local[i].remote, &rel, &err);
		if (!to_local[i].expect) {
			assert_int_equal(r, -ERR_FOLDER);
			assert_non_null(strstr(err.msg, "remote folder"));
			assert_null(rel);
			error_clear(&err);
			continue;
		}
		assert_int_equal(r, 0);
		assert_string_equal(rel, to_local[i].expect);
		/* And back, except for INBOX written in another case. */
		char *remote = NULL;
		assert_int_equal(maildir_local_to_remote(&t, rel, &remote, &err), 0);
		if (strcmp(to_local[i].expect, "INBOX") != 0 && rel[0] &&
		    strcmp(rel, "Mail/In") != 0)
			assert_string_equal(remote, to_local[i].remote);
		else
			assert_string_equal(remote, "INBOX");
		free(remote);
		free(rel);
	}
}

static const struct {
	enum maildir_layout layout;
	char delim;
	const char *rel;
	const char *expect;
} to_remote[] = {
	{VERB, '/', "Work/Sub", "Work/Sub"},
	{VERB, '/', "INBOX", "INBOX"},
	{VERB, '.', "Work/Sub", "Work.Sub"},
	{VERB, '.', "a.b", NULL},
	{VERB, '/', "inbox", NULL},
	{VERB, '\0', "a/b", NULL},
	{VERB, '\0', "ab", "ab"},
	{VERB, '/', "../x", NULL},
	{VERB, '/', "/x", NULL},
	{PP, '/', "", "INBOX"},
	{PP, '/', ".Work.Sub", "Work/Sub"},
	{PP, '/', "Work", NULL},
	{PP, '/', ".a..b", NULL},
	{PP, '/', ".", NULL},
	{PP, '/', "..", NULL},
	{PP, '.', ".a.b", "a.b"},
	{PP, '/', ".INBOX", NULL},
	{PP, '/', ".INBOX.Sub", "INBOX/Sub"},
};

static void maps_local_to_remote(void **state)
{
	for (size_t i = 0; i < sizeof(to_remote) / sizeof(to_remote[0]); i++) {
		struct maildir_tree t = {"/r", to_remote[i].layout, "INBOX",
					 to_remote[i].delim};
		struct error err = ERROR_INIT;
		char *remote = NULL;
		int r = maildir_local_to_remote(&t, to_remote[i].rel, &remote, &err);
		if (!to_remote[i].expect) {
			assert_int_equal(r, -ERR_FOLDER);
			assert_non_null(strstr(err.msg, "local folder"));
			error_clear(&err);
			continue;
		}
		assert_int_equal(r, 0);
		assert_string_equal(remote, to_remote[i].expect);
		free(remote);
	}
}

static void mk(const char *root, const char *rel)
{
	char *p = xasprintf("%s/%s", root, rel);
	st_mkmaildir(p);
	free(p);
}

static void mkplain(const char *root, const char *rel)
{
	char *p = xasprintf("%s/%s", root, rel);
	assert_int_equal(util_mkdir_p(p, 0700), 0);
	free(p);
}

/* "rel=remote rel=remote | skipped skipped" */
static char *describe(const struct maildir_folder_list *l)
{
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	for (size_t i = 0; i < l->n; i++)
		buf_addf(&b, "%s=%s ", l->folders[i].rel, l->folders[i].remote);
	buf_adds(&b, "|");
	for (size_t i = 0; i < l->n_skipped; i++)
		buf_addf(&b, " %s", l->skipped[i].name);
	return buf_detach(&b, NULL);
}

static void lists_verbatim_tree(void **state)
{
	char *root = st_tmpdir();
	mk(root, "INBOX");
	mk(root, "Work");
	mk(root, "Work/Sub");
	mkplain(root, "Archive");
	mk(root, "Archive/2020");
	mk(root, ".notmuch");
	mk(root, "Odd\001");
	mk(root, "a.b");
	mkplain(root, "Work/cur/nested");
	char *link_path = xasprintf("%s/Link", root);
	char *target = xasprintf("%s/Work", root);
	assert_int_equal(symlink(target, link_path), 0);

	struct maildir_tree t = {root, VERB, "INBOX", '/'};
	struct maildir_folder_list l;
	struct error err = ERROR_INIT;
	assert_int_equal(maildir_list(&t, &l, &err), 0);
	char *d = describe(&l);
	assert_string_equal(d, "Archive/2020=Archive/2020 INBOX=INBOX Work=Work "
			       "Work/Sub=Work/Sub a.b=a.b | Odd\001");
	free(d);
	maildir_folder_list_release(&l);

	t.delim = '.';
	assert_int_equal(maildir_list(&t, &l, &err), 0);
	d = describe(&l);
	/* Order of skips follows readdir, so only membership is checked. */
	assert_non_null(strstr(d, "Archive/2020=Archive.2020 INBOX=INBOX Work=Work "
				  "Work/Sub=Work.Sub |"));
	assert_non_null(strstr(d, " a.b"));
	assert_non_null(strstr(d, " Odd\001"));
	assert_int_equal(l.n_skipped, 2);
	free(d);
	maildir_folder_list_release(&l);

	free(link_path);
	free(target);
	st_rmtree(root);
	free(root);
}

static void lists_maildirpp_tree(void **state)
{
	char *root = st_tmpdir();
	st_mkmaildir(root);
	mk(root, ".Work");
	mk(root, ".Work.Sub");
	mk(root, "other");
	mk(root, ".Odd\002");
	mk(root, "..x");
	mkplain(root, ".NotAFolder");
	char *f = xasprintf("%s/.file", root);
	st_write(f, "x");
	free(f);

	struct maildir_tree t = {root, PP, "ignored", '/'};
	struct maildir_folder_list l;
	struct error err = ERROR_INIT;
	assert_int_equal(maildir_list(&t, &l, &err), 0);
	char *d = describe(&l);
	assert_non_null(strstr(d, "=INBOX .Work=Work .Work.Sub=Work/Sub |"));
	assert_int_equal(l.n, 3);
	assert_string_equal(l.folders[0].rel, "");
	assert_int_equal(l.n_skipped, 2);
	free(d);
	maildir_folder_list_release(&l);
	st_rmtree(root);
	free(root);
}

static void refuses_missing_root(void **state)
{
	struct maildir_tree t = {"/nonexistent/tidemail-root", VERB, "INBOX", '/'};
	struct maildir_folder_list l;
	struct error err = ERROR_INIT;
	assert_int_equal(maildir_list(&t, &l, &err), -ERR_ACCOUNT);
	assert_non_null(strstr(err.msg, "local root /nonexistent/tidemail-root"));
	assert_int_equal(l.n, 0);
	error_clear(&err);
}

static void creates_and_removes_folders(void **state)
{
	char *root = st_tmpdir();
	struct maildir_tree t = {root, VERB, "INBOX", '/'};
	char *path = maildir_folder_path(&t, "A/B");
	struct error err = ERROR_INIT;
	assert_int_equal(maildir_folder_create(path, &err), 0);
	assert_int_equal(maildir_folder_create(path, &err), 0);
	struct stat st;
	char *cur = xasprintf("%s/cur", path);
	assert_int_equal(stat(cur, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	char *parent = maildir_folder_path(&t, "A");
	assert_int_equal(stat(parent, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	/* Not empty: refused and nothing removed. */
	char *msg = xasprintf("%s/cur/1.x:2,S", path);
	st_write(msg, "hello");
	assert_int_equal(maildir_folder_remove(path, &err), -ERR_FOLDER);
	assert_non_null(strstr(err.msg, "cur/ is not empty"));
	error_clear(&err);
	assert_int_equal(stat(msg, &st), 0);
	unlink(msg);

	/* tmp/ leftovers do not count. */
	char *tmpf = xasprintf("%s/tmp/leftover", path);
	st_write(tmpf, "partial");
	assert_int_equal(maildir_folder_remove(path, &err), 0);
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(stat(parent, &st), 0);

	/* A verbatim folder with a child keeps its directory. */
	char *child = maildir_folder_path(&t, "A/B");
	assert_int_equal(maildir_folder_create(parent, &err), 0);
	assert_int_equal(maildir_folder_create(child, &err), 0);
	assert_int_equal(maildir_folder_remove(parent, &err), 0);
	char *pcur = xasprintf("%s/cur", parent);
	assert_int_equal(stat(pcur, &st), -1);
	assert_int_equal(stat(child, &st), 0);

	free(pcur);
	free(child);
	free(tmpf);
	free(msg);
	free(parent);
	free(cur);
	free(path);
	st_rmtree(root);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(maps_remote_to_local),
		cmocka_unit_test(maps_local_to_remote),
		cmocka_unit_test(lists_verbatim_tree),
		cmocka_unit_test(lists_maildirpp_tree),
		cmocka_unit_test(refuses_missing_root),
		cmocka_unit_test(creates_and_removes_folders),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
