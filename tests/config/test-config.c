/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

static const struct config_env env = {
	.home = "/home/alice",
	.xdg_config_home = NULL,
	.xdg_state_home = NULL,
};

/* The full example of SPEC.md section 2, as a user would write it. */
static const char spec_example[] =
	"state_dir: ~/.local/state/tidemail   # default $XDG_STATE_HOME/tidemail\n"
	"accounts:\n"
	"  work:                              # name: letters, digits, '.', '_', '-'\n"
	"    remote:\n"
	"      host: imap.example.com\n"
	"      port: 993                      # default 993 (implicit), 143 (starttls)\n"
	"      tls: implicit                  # implicit | starttls | none\n"
	"      ca_file: /etc/ssl/my-ca.pem    # optional\n"
	"      pin_sha256: \"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\"\n"
	"      user: alice@example.com\n"
	"      password_command: \"pass show mail/work\"\n"
	"      auth: [plain, login]\n"
	"      connections: 4\n"
	"      compress: true\n"
	"      timeout: 60s\n"
	"    local:\n"
	"      path: ~/Mail/work\n"
	"      layout: verbatim\n"
	"      inbox: INBOX\n"
	"    folders:\n"
	"      include: [\"*\"]\n"
	"      exclude: [\"[Gmail]/All Mail\"]\n"
	"    sync:\n"
	"      direction: both\n"
	"      delete: both\n"
	"      folders: both\n"
	"      max_age: 90d\n"
	"      max_size: 25M\n"
	"      max_delete: 50%\n"
	"    hooks:\n"
	"      post_sync: \"notmuch new\"\n";

static void spec_example_loads(void **state)
{
	struct config cfg;
	struct error err = ERROR_INIT;
	int r = config_load_string(&cfg, "t.yaml", spec_example,
				   strlen(spec_example), &env, &err);
	if (r < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(cfg.path, "t.yaml");
	assert_string_equal(cfg.state_dir, "/home/alice/.local/state/tidemail");
	assert_int_equal(cfg.n_accounts, 1);
	const struct config_account *a = config_find_account(&cfg, "work");
	assert_non_null(a);
	assert_null(config_find_account(&cfg, "home"));
	assert_string_equal(a->name, "work");
	assert_string_equal(a->remote.host, "imap.example.com");
	assert_int_equal(a->remote.port, 993);
	assert_int_equal(a->remote.tls, CONFIG_TLS_IMPLICIT);
	assert_false(a->remote.allow_plaintext);
	assert_string_equal(a->remote.ca_file, "/etc/ssl/my-ca.pem");
	assert_string_equal(a->remote.pin_sha256,
			    "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	assert_string_equal(a->remote.user, "alice@example.com");
	assert_null(a->remote.password);
	assert_string_equal(a->remote.password_command, "pass show mail/work");
	assert_int_equal(a->remote.n_auth, 2);
	assert_int_equal(a->remote.auth[0], CONFIG_AUTH_PLAIN);
	assert_int_equal(a->remote.auth[1], CONFIG_AUTH_LOGIN);
	assert_int_equal(a->remote.connections, 4);
	assert_true(a->remote.compress);
	assert_int_equal(a->remote.timeout, 60);
	assert_string_equal(a->local.path, "/home/alice/Mail/work");
	assert_int_equal(a->local.layout, CONFIG_LAYOUT_VERBATIM);
	assert_string_equal(a->local.inbox, "INBOX");
	assert_int_equal(a->folders.include.n, 1);
	assert_string_equal(a->folders.include.v[0], "*");
	assert_int_equal(a->folders.exclude.n, 1);
	assert_string_equal(a->folders.exclude.v[0], "[Gmail]/All Mail");
	assert_int_equal(a->sync.direction, CONFIG_FLOW_BOTH);
	assert_int_equal(a->sync.delete, CONFIG_FLOW_BOTH);
	assert_int_equal(a->sync.folders, CONFIG_FLOW_BOTH);
	assert_int_equal(a->sync.max_age, 90 * 86400);
	assert_int_equal(a->sync.max_size, 25 * 1024 * 1024);
	assert_int_equal(a->sync.max_delete, 50);
	assert_string_equal(a->hooks.post_sync, "notmuch new");
	config_free(&cfg);
	assert_null(cfg.accounts);
}

static void minimal_config_gets_defaults(void **state)
{
	static const char text[] =
		"accounts:\n"
		"  home:\n"
		"    remote: {host: mail.example.org, user: bob, password: s3cret}\n"
		"    local: {path: /srv/mail/bob/}\n"
		"  lab.2-x_y:\n"
		"    remote:\n"
		"      host: localhost\n"
		"      tls: none\n"
		"      user: u\n"
		"      password_command: cat /run/pw\n"
		"      auth: [xoauth2, oauthbearer]\n"
		"    local: {path: ~, layout: maildir++, inbox: Inbox}\n"
		"    sync: {direction: pull, delete: none, folders: push}\n";
	struct config_env xdg = {"/home/bob", "/home/bob/.cfg", "/var/state"};
	struct config cfg;
	struct error err = ERROR_INIT;
	if (config_load_string(&cfg, "m.yaml", text, strlen(text), &xdg, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(cfg.state_dir, "/var/state/tidemail");
	assert_int_equal(cfg.n_accounts, 2);
	const struct config_account *a = &cfg.accounts[0];
	assert_string_equal(a->remote.password, "s3cret");
	assert_int_equal(a->remote.port, 993);
	assert_int_equal(a->remote.tls, CONFIG_TLS_IMPLICIT);
	assert_int_equal(a->remote.n_auth, 2);
	assert_int_equal(a->remote.connections, 4);
	assert_true(a->remote.compress);
	assert_int_equal(a->remote.timeout, 60);
	assert_null(a->remote.ca_file);
	assert_null(a->remote.pin_sha256);
	assert_string_equal(a->local.path, "/srv/mail/bob");
	assert_string_equal(a->local.inbox, "INBOX");
	assert_int_equal(a->local.layout, CONFIG_LAYOUT_VERBATIM);
	assert_int_equal(a->folders.include.n, 1);
	assert_string_equal(a->folders.include.v[0], "*");
	assert_int_equal(a->folders.exclude.n, 0);
	assert_int_equal(a->sync.max_age, 0);
	assert_int_equal(a->sync.max_size, 0);
	assert_int_equal(a->sync.max_delete, 50);
	assert_null(a->hooks.post_sync);

	const struct config_account *b = config_find_account(&cfg, "lab.2-x_y");
	assert_non_null(b);
	assert_int_equal(b->remote.tls, CONFIG_TLS_NONE);
	assert_int_equal(b->remote.port, 143);
	assert_int_equal(b->remote.auth[0], CONFIG_AUTH_XOAUTH2);
	assert_int_equal(b->remote.auth[1], CONFIG_AUTH_OAUTHBEARER);
	assert_string_equal(b->local.path, "/home/bob");
	assert_int_equal(b->local.layout, CONFIG_LAYOUT_MAILDIRPP);
	assert_string_equal(b->local.inbox, "Inbox");
	assert_int_equal(b->sync.direction, CONFIG_FLOW_PULL);
	assert_int_equal(b->sync.delete, CONFIG_FLOW_NONE);
	assert_int_equal(b->sync.folders, CONFIG_FLOW_PUSH);
	config_free(&cfg);
}

/* ---- bad configs: each must produce exactly this one line ------------ */

#define ACCT "accounts:\n  w:\n"
#define REMOTE "    remote: {host: h.example, user: u, password: p}\n"
#define LOCAL "    local: {path: /m}\n"

struct bad {
	const char *text;
	const char *message;
};

static const struct bad bad_configs[] = {
	{"", "b.yaml:1:1: expected a mapping with an 'accounts' key, got an empty file"},
	{"- a\n- b\n", "b.yaml:1:1: expected a mapping with an 'accounts' key, got a list"},
	{"accounts: [\n", "b.yaml:2:1: invalid YAML: did not find expected node content while parsing a flow node"},
	{"accounts:\n  w: {\n  x: 1\n", "b.yaml:4:1: invalid YAML: did not find expected ',' or '}' while parsing a flow mapping"},
	{"state_dir: /s\n", "b.yaml:1:1: missing key 'accounts'"},
	{"acounts: {}\n", "b.yaml:1:1: unknown key 'acounts' (expected one of: state_dir, accounts)"},
	{"accounts: {}\n", "b.yaml:1:11: accounts: expected at least one account"},
	{"accounts: 3\n", "b.yaml:1:11: accounts: expected a mapping of account names, got '3'"},
	{"accounts:\n  my work:\n" REMOTE LOCAL,
	 "b.yaml:2:3: accounts: invalid account name 'my work' (expected 1 to 64 letters, digits, '.', '_' or '-', not starting with '.')"},
	{"accounts:\n  ..:\n" REMOTE LOCAL,
	 "b.yaml:2:3: accounts: invalid account name '..' (expected 1 to 64 letters, digits, '.', '_' or '-', not starting with '.')"},
	{ACCT REMOTE LOCAL "  w:\n" REMOTE LOCAL,
	 "b.yaml:5:3: accounts: duplicate account 'w'"},
	{ACCT REMOTE, "b.yaml:3:5: accounts.w: missing key 'local'"},
	{ACCT "    remote: []\n" LOCAL, "b.yaml:3:13: accounts.w.remote: expected a mapping, got a list"},
	{ACCT REMOTE LOCAL "    remtoe: {}\n",
	 "b.yaml:5:5: accounts.w: unknown key 'remtoe' (expected one of: remote, local, folders, sync, hooks)"},
	{ACCT "    remote:\n      hots: h\n      user: u\n      password: p\n" LOCAL,
	 "b.yaml:4:7: accounts.w.remote: unknown key 'hots' (expected one of: host, port, tls, allow_plaintext, ca_file, pin_sha256, password, password_command, user, auth, connections, compress, timeout)"},
	{ACCT "    remote: {user: u, password: p}\n" LOCAL,
	 "b.yaml:3:13: accounts.w.remote: missing key 'host'"},
	{ACCT "    remote: {host: h, host: i, user: u, password: p}\n" LOCAL,
	 "b.yaml:3:23: accounts.w.remote: duplicate key 'host'"},
	{ACCT "    remote: {host: '', user: u, password: p}\n" LOCAL,
	 "b.yaml:3:20: accounts.w.remote.host: expected a non-empty string, got ''"},
	{ACCT "    remote: {host: , user: u, password: p}\n" LOCAL,
	 "b.yaml:3:20: accounts.w.remote.host: expected a non-empty string, got nothing"},
	{ACCT "    remote: {host: {a: b}, user: u, password: p}\n" LOCAL,
	 "b.yaml:3:20: accounts.w.remote.host: expected a non-empty string, got a mapping"},
	{ACCT "    remote: {host: h, port: imap, user: u, password: p}\n" LOCAL,
	 "b.yaml:3:29: accounts.w.remote.port: expected an integer from 1 to 65535, got 'imap'"},
	{ACCT "    remote: {host: h, port: 70000, user: u, password: p}\n" LOCAL,
	 "b.yaml:3:29: accounts.w.remote.port: expected an integer from 1 to 65535, got '70000'"},
	{ACCT "    remote: {host: h, port: -1, user: u, password: p}\n" LOCAL,
	 "b.yaml:3:29: accounts.w.remote.port: expected an integer from 1 to 65535, got '-1'"},
	{ACCT "    remote: {host: h, tls: ssl, user: u, password: p}\n" LOCAL,
	 "b.yaml:3:28: accounts.w.remote.tls: expected one of implicit, starttls, none, got 'ssl'"},
	{ACCT "    remote: {host: imap.example.com, tls: none, user: u, password: p}\n" LOCAL,
	 "b.yaml:3:43: accounts.w.remote.tls: 'none' would send the password in clear text to 'imap.example.com'; use 'implicit' or 'starttls', or set 'allow_plaintext: true'"},
	{ACCT "    remote: {host: h, user: u}\n" LOCAL,
	 "b.yaml:3:13: accounts.w.remote: missing key 'password' or 'password_command'"},
	{ACCT "    remote: {host: h, user: u, password: p, password_command: c}\n" LOCAL,
	 "b.yaml:3:45: accounts.w.remote: set either 'password' or 'password_command', not both"},
	{ACCT "    remote: {host: h, user: u, password: p, compress: yes}\n" LOCAL,
	 "b.yaml:3:55: accounts.w.remote.compress: expected true or false, got 'yes'"},
	{ACCT "    remote: {host: h, user: u, password: p, connections: 0}\n" LOCAL,
	 "b.yaml:3:58: accounts.w.remote.connections: expected an integer from 1 to 32, got '0'"},
	{ACCT "    remote: {host: h, user: u, password: p, timeout: 60}\n" LOCAL,
	 "b.yaml:3:54: accounts.w.remote.timeout: expected a duration such as 90d (a number with s, m, h, d or w), got '60'"},
	{ACCT "    remote: {host: h, user: u, password: p, timeout: 2h}\n" LOCAL,
	 "b.yaml:3:54: accounts.w.remote.timeout: expected a duration from 1s to 1h, got '2h'"},
	{ACCT "    remote: {host: h, user: u, password: p, auth: plain}\n" LOCAL,
	 "b.yaml:3:51: accounts.w.remote.auth: expected a list of mechanisms, got 'plain'"},
	{ACCT "    remote: {host: h, user: u, password: p, auth: [plain, cram-md5]}\n" LOCAL,
	 "b.yaml:3:59: accounts.w.remote.auth[1]: expected one of plain, login, oauthbearer, xoauth2, got 'cram-md5'"},
	{ACCT "    remote: {host: h, user: u, password: p, auth: [plain, plain]}\n" LOCAL,
	 "b.yaml:3:59: accounts.w.remote.auth[1]: 'plain' is listed twice"},
	{ACCT "    remote: {host: h, user: u, password: p, auth: []}\n" LOCAL,
	 "b.yaml:3:51: accounts.w.remote.auth: expected a non-empty list of mechanisms"},
	{ACCT "    remote: {host: h, user: u, password: p, pin_sha256: abc=}\n" LOCAL,
	 "b.yaml:3:57: accounts.w.remote.pin_sha256: expected the base64 of a SHA-256 digest (44 characters ending in '='), got 'abc='"},
	{ACCT "    remote: {host: h, user: u, password: p, ca_file: certs/ca.pem}\n" LOCAL,
	 "b.yaml:3:54: accounts.w.remote.ca_file: expected an absolute path or one starting with ~/, got 'certs/ca.pem'"},
	{ACCT REMOTE "    local: {path: ~bob/Mail}\n",
	 "b.yaml:4:19: accounts.w.local.path: expected an absolute path or one starting with ~/, got '~bob/Mail'"},
	{ACCT REMOTE "    local: {inbox: X}\n",
	 "b.yaml:4:12: accounts.w.local: missing key 'path'"},
	{ACCT REMOTE "    local: {path: /m, layout: maildir}\n",
	 "b.yaml:4:31: accounts.w.local.layout: expected one of verbatim, maildir++, got 'maildir'"},
	{ACCT REMOTE LOCAL "    folders: {include: \"*\"}\n",
	 "b.yaml:5:24: accounts.w.folders.include: expected a list of glob patterns, got '*'"},
	{ACCT REMOTE LOCAL "    folders: {exclude: [Spam, [Trash]]}\n",
	 "b.yaml:5:31: accounts.w.folders.exclude[1]: expected a non-empty string, got a list"},
	{ACCT REMOTE LOCAL "    sync: {direction: none}\n",
	 "b.yaml:5:23: accounts.w.sync.direction: expected one of both, pull, push, got 'none'"},
	{ACCT REMOTE LOCAL "    sync: {delete: local}\n",
	 "b.yaml:5:20: accounts.w.sync.delete: expected one of both, pull, push, none, got 'local'"},
	{ACCT REMOTE LOCAL "    sync: {max_size: 25X}\n",
	 "b.yaml:5:22: accounts.w.sync.max_size: expected a size such as 25M (a number of bytes with an optional K, M, G or T), got '25X'"},
	{ACCT REMOTE LOCAL "    sync: {max_size: 0}\n",
	 "b.yaml:5:22: accounts.w.sync.max_size: expected a size such as 25M (a number of bytes with an optional K, M, G or T), got '0'"},
	{ACCT REMOTE LOCAL "    sync: {max_age: 3 months}\n",
	 "b.yaml:5:21: accounts.w.sync.max_age: expected a duration such as 90d (a number with s, m, h, d or w), got '3 months'"},
	{ACCT REMOTE LOCAL "    sync: {max_delete: 150%}\n",
	 "b.yaml:5:24: accounts.w.sync.max_delete: expected a percentage from 0% to 100%, got '150%'"},
	{ACCT REMOTE LOCAL "    sync: {max_delete: 50}\n",
	 "b.yaml:5:24: accounts.w.sync.max_delete: expected a percentage from 0% to 100%, got '50'"},
	{ACCT REMOTE LOCAL "    hooks: {post_sync: [notmuch, new]}\n",
	 "b.yaml:5:24: accounts.w.hooks.post_sync: expected a non-empty string, got a list"},
	{ACCT REMOTE LOCAL "  v:\n" REMOTE LOCAL,
	 "b.yaml:6:5: accounts: accounts 'w' and 'v' share the local path '/m'"},
	{ACCT REMOTE LOCAL "---\naccounts: {}\n",
	 "b.yaml:6:1: expected a single YAML document, found a second one"},
	{"state_dir: relative/dir\n" ACCT REMOTE LOCAL,
	 "b.yaml:1:12: state_dir: expected an absolute path or one starting with ~/, got 'relative/dir'"},
	{ACCT "    remote: {host: \"h\\0x\", user: u, password: p}\n" LOCAL,
	 "b.yaml:3:20: accounts.w.remote.host: expected a non-empty string, got a value with a NUL byte"},
	/* Control characters in a value are escaped: one line, no escapes
	 * reaching the terminal. */
	{ACCT "    remote: {host: h, port: \"1\\nX\\e[31m\", user: u, password: p}\n" LOCAL,
	 "b.yaml:3:29: accounts.w.remote.port: expected an integer from 1 to 65535, got '1\\nX\\x1b[31m'"},
	{ACCT "    remote: {host: h, \"ho\\tst\": 1, user: u, password: p}\n" LOCAL,
	 "b.yaml:3:23: accounts.w.remote: unknown key 'ho\\tst' (expected one of: host, port, tls, allow_plaintext, ca_file, pin_sha256, password, password_command, user, auth, connections, compress, timeout)"},
	{ACCT "    remote: {? [a]: b, host: h, user: u, password: p}\n" LOCAL,
	 "b.yaml:3:16: accounts.w.remote: expected a key name, got a list"},
};

static void bad_configs_give_exact_messages(void **state)
{
	int failures = 0;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad_configs); i++) {
		const struct bad *b = &bad_configs[i];
		struct config cfg;
		struct error err = ERROR_INIT;
		int r = config_load_string(&cfg, "b.yaml", b->text, strlen(b->text),
					   &env, &err);
		if (r >= 0) {
			print_error("case %zu: loaded, expected: %s\n", i, b->message);
			config_free(&cfg);
			failures++;
		} else if (strcmp(err.msg, b->message) != 0 || strchr(err.msg, '\n')) {
			print_error("case %zu:\n  got:      %s\n  expected: %s\n", i,
				    err.msg, b->message);
			failures++;
		} else {
			/* A failed load leaves nothing to free. */
			assert_null(cfg.accounts);
			assert_int_equal(cfg.n_accounts, 0);
		}
		error_clear(&err);
	}
	assert_int_equal(failures, 0);
	assert_true(UTIL_ARRAY_LEN(bad_configs) >= 25);
}

static void loopback_plaintext_and_allow_plaintext(void **state)
{
	static const char text[] =
		"accounts:\n"
		"  a:\n"
		"    remote: {host: 127.0.0.1, tls: none, user: u, password: p}\n"
		"    local: {path: /a}\n"
		"  b:\n"
		"    remote: {host: mail.lan, tls: none, allow_plaintext: true, user: u, password: p}\n"
		"    local: {path: /b}\n";
	struct config cfg;
	struct error err = ERROR_INIT;
	if (config_load_string(&cfg, "p.yaml", text, strlen(text), &env, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(cfg.accounts[0].remote.port, 143);
	assert_true(cfg.accounts[1].remote.allow_plaintext);
	config_free(&cfg);
}

/* ---- files on disk --------------------------------------------------- */

static char *write_temp(const char *text, mode_t mode)
{
	char *path = xstrdup("/tmp/tm-config-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static void password_file_must_be_private(void **state)
{
	const char *text = ACCT REMOTE LOCAL;
	char *path = write_temp(text, 0644);
	struct config cfg;
	struct error err = ERROR_INIT;
	assert_true(config_load(&cfg, path, &env, &err) < 0);
	char *want = xasprintf("%s:3:40: accounts.w.remote.password: this file "
			       "holds a password but is readable by group or "
			       "others; run: chmod 600 %s", path, path);
	assert_string_equal(err.msg, want);
	free(want);
	error_clear(&err);

	/* Group-readable is refused too; 0600 loads. */
	assert_int_equal(chmod(path, 0640), 0);
	assert_true(config_load(&cfg, path, &env, &err) < 0);
	error_clear(&err);
	assert_int_equal(chmod(path, 0600), 0);
	if (config_load(&cfg, path, &env, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(cfg.path, path);
	config_free(&cfg);
	unlink(path);
	free(path);

	/* Without a password the file may be world-readable. */
	path = write_temp(ACCT "    remote: {host: h, user: u, password_command: pw}\n" LOCAL,
			  0644);
	if (config_load(&cfg, path, &env, &err) < 0)
		fail_msg("%s", err.msg);
	config_free(&cfg);
	unlink(path);
	free(path);
}

static void missing_file_is_named(void **state)
{
	struct config cfg;
	struct error err = ERROR_INIT;
	assert_true(config_load(&cfg, "/nonexistent/tidemail.yaml", &env, &err) < 0);
	assert_string_equal(err.msg, "/nonexistent/tidemail.yaml: cannot open "
				     "the config file: No such file or directory");
	error_clear(&err);
	assert_true(config_load(&cfg, "/tmp", &env, &err) < 0);
	assert_string_equal(err.msg, "/tmp: not a regular file");
	error_clear(&err);
}

static void default_paths_follow_xdg(void **state)
{
	char *p = config_default_path(&env);
	assert_string_equal(p, "/home/alice/.config/tidemail/config.yaml");
	free(p);
	struct config_env xdg = {"/home/alice", "/x/cfg", NULL};
	p = config_default_path(&xdg);
	assert_string_equal(p, "/x/cfg/tidemail/config.yaml");
	free(p);
	/* A relative XDG value is ignored, as the XDG spec says. */
	struct config_env rel = {"/home/alice", "cfg", "state"};
	p = config_default_path(&rel);
	assert_string_equal(p, "/home/alice/.config/tidemail/config.yaml");
	free(p);
	struct config_env none = {NULL, NULL, NULL};
	assert_null(config_default_path(&none));
}

/* ---- value syntax ---------------------------------------------------- */

static void sizes(void **state)
{
	uint64_t v;
	assert_int_equal(config_parse_size("25M", &v), 0);
	assert_int_equal(v, 25ULL << 20);
	assert_int_equal(config_parse_size("100", &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(config_parse_size("100B", &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(config_parse_size("2k", &v), 0);
	assert_int_equal(v, 2048);
	assert_int_equal(config_parse_size("1GiB", &v), 0);
	assert_int_equal(v, 1ULL << 30);
	assert_int_equal(config_parse_size("3TB", &v), 0);
	assert_int_equal(v, 3ULL << 40);
	v = 7;
	assert_int_equal(config_parse_size("", &v), -1);
	assert_int_equal(config_parse_size("M", &v), -1);
	assert_int_equal(config_parse_size("25 M", &v), -1);
	assert_int_equal(config_parse_size("-1", &v), -1);
	assert_int_equal(config_parse_size("1.5M", &v), -1);
	assert_int_equal(config_parse_size("100iB", &v), -1);
	assert_int_equal(config_parse_size("99999999999999999999", &v), -1);
	assert_int_equal(config_parse_size("16777216T", &v), -1);
	assert_int_equal(v, 7);
}

static void durations(void **state)
{
	uint64_t v;
	assert_int_equal(config_parse_duration("90d", &v), 0);
	assert_int_equal(v, 90 * 86400);
	assert_int_equal(config_parse_duration("60s", &v), 0);
	assert_int_equal(v, 60);
	assert_int_equal(config_parse_duration("5m", &v), 0);
	assert_int_equal(v, 300);
	assert_int_equal(config_parse_duration("2h", &v), 0);
	assert_int_equal(v, 7200);
	assert_int_equal(config_parse_duration("2w", &v), 0);
	assert_int_equal(v, 14 * 86400);
	v = 7;
	assert_int_equal(config_parse_duration("60", &v), -1);
	assert_int_equal(config_parse_duration("d", &v), -1);
	assert_int_equal(config_parse_duration("1y", &v), -1);
	assert_int_equal(config_parse_duration("1dd", &v), -1);
	assert_int_equal(config_parse_duration("99999999999999999w", &v), -1);
	assert_int_equal(v, 7);
}

static void percents_and_names(void **state)
{
	unsigned p = 9;
	assert_int_equal(config_parse_percent("50%", &p), 0);
	assert_int_equal(p, 50);
	assert_int_equal(config_parse_percent("0%", &p), 0);
	assert_int_equal(p, 0);
	assert_int_equal(config_parse_percent("100%", &p), 0);
	assert_int_equal(p, 100);
	assert_int_equal(config_parse_percent("101%", &p), -1);
	assert_int_equal(config_parse_percent("50", &p), -1);
	assert_int_equal(config_parse_percent("%", &p), -1);
	assert_int_equal(config_parse_percent("5 %", &p), -1);
	assert_int_equal(p, 100);

	assert_true(config_account_name_ok("work"));
	assert_true(config_account_name_ok("a.b_c-D9"));
	assert_false(config_account_name_ok(""));
	assert_false(config_account_name_ok(".hidden"));
	assert_false(config_account_name_ok("a/b"));
	assert_false(config_account_name_ok("caf\xc3\xa9"));
	assert_false(config_account_name_ok(
		"a1234567890123456789012345678901234567890123456789012345678901234"));

	assert_string_equal(config_tls_name(CONFIG_TLS_STARTTLS), "starttls");
	assert_string_equal(config_flow_name(CONFIG_FLOW_NONE), "none");
	assert_string_equal(config_auth_name(CONFIG_AUTH_XOAUTH2), "xoauth2");
	assert_string_equal(config_layout_name(CONFIG_LAYOUT_MAILDIRPP), "maildir++");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(spec_example_loads),
		cmocka_unit_test(minimal_config_gets_defaults),
		cmocka_unit_test(bad_configs_give_exact_messages),
		cmocka_unit_test(loopback_plaintext_and_allow_plaintext),
		cmocka_unit_test(password_file_must_be_private),
		cmocka_unit_test(missing_file_is_named),
		cmocka_unit_test(default_paths_follow_xdg),
		cmocka_unit_test(sizes),
		cmocka_unit_test(durations),
		cmocka_unit_test(percents_and_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
