/* SPDX-License-Identifier: MIT */
/*
 * contrib/config.example.yaml (argv[1]) loads with config_load and says
 * what its comments say.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "config.h"

static const char *example_path;

static void test_loads(void **state)
{
	(void)state;
	struct config_env env = {.home = "/home/alice"};
	struct config cfg;
	struct error err = ERROR_INIT;
	int r = config_load(&cfg, example_path, &env, &err);
	if (r < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(cfg.state_dir, "/home/alice/.local/state/tidemail");
	assert_int_equal(cfg.n_accounts, 2);

	const struct config_account *w = config_find_account(&cfg, "work");
	assert_non_null(w);
	assert_string_equal(w->remote.host, "imap.example.com");
	assert_int_equal(w->remote.port, 993);
	assert_int_equal(w->remote.tls, CONFIG_TLS_IMPLICIT);
	assert_false(w->remote.allow_plaintext);
	assert_null(w->remote.ca_file);
	assert_null(w->remote.pin_sha256);
	assert_string_equal(w->remote.user, "alice@example.com");
	assert_null(w->remote.password);
	assert_string_equal(w->remote.password_command, "pass show mail/work");
	assert_int_equal(w->remote.n_auth, 2);
	assert_int_equal(w->remote.auth[0], CONFIG_AUTH_PLAIN);
	assert_int_equal(w->remote.auth[1], CONFIG_AUTH_LOGIN);
	assert_int_equal(w->remote.connections, 4);
	assert_true(w->remote.compress);
	assert_int_equal(w->remote.timeout, 60);
	assert_string_equal(w->local.path, "/home/alice/Mail/work");
	assert_int_equal(w->local.layout, CONFIG_LAYOUT_VERBATIM);
	assert_string_equal(w->local.inbox, "INBOX");
	assert_int_equal(w->folders.include.n, 1);
	assert_string_equal(w->folders.include.v[0], "*");
	assert_int_equal(w->folders.exclude.n, 2);
	assert_string_equal(w->folders.exclude.v[0], "Junk");
	assert_string_equal(w->folders.exclude.v[1], "Trash");
	assert_int_equal(w->sync.direction, CONFIG_FLOW_BOTH);
	assert_int_equal(w->sync.delete, CONFIG_FLOW_BOTH);
	assert_int_equal(w->sync.folders, CONFIG_FLOW_BOTH);
	assert_int_equal(w->sync.max_age, 365 * 86400);
	assert_int_equal(w->sync.max_size, 25 * 1024 * 1024);
	assert_int_equal(w->sync.max_delete, 50);
	assert_string_equal(w->hooks.post_sync, "notmuch new");

	const struct config_account *h = config_find_account(&cfg, "home");
	assert_non_null(h);
	assert_string_equal(h->remote.host, "mail.example.org");
	assert_int_equal(h->remote.port, 993);
	assert_string_equal(h->remote.password_command,
			    "secret-tool lookup service imap user alice");
	assert_string_equal(h->local.path, "/home/alice/Mail/home");
	assert_int_equal(h->local.layout, CONFIG_LAYOUT_MAILDIRPP);
	assert_int_equal(h->sync.max_size, 0);
	assert_null(h->hooks.post_sync);
	config_free(&cfg);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s config.example.yaml\n", argv[0]);
		return 2;
	}
	example_path = argv[1];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
