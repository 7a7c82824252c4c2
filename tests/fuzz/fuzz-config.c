/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the config loader (config/config.h): the input is
 * a config file, loaded with config_load_string() in a fixed environment.
 *
 * Beyond what the sanitizers catch, it checks what config.h promises: a
 * failure leaves the struct empty and says "file:line:col: ..."; a
 * success has every default filled in and every value inside its range.
 * A broken promise aborts, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const char *detail) __attribute__((noreturn));
static void die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz-config: %s%s%s\n", what, detail ? ": " : "",
		detail ? detail : "");
	abort();
}

static void check_path(const char *what, const char *p)
{
	size_t len = strlen(p);
	if (p[0] != '/')
		die("a path that is not absolute", what);
	if (len > 1 && p[len - 1] == '/')
		die("a path with a trailing slash", what);
}

static void check_patterns(const struct config_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (!l->v[i] || !l->v[i][0])
			die("an empty folder pattern", NULL);
}

static bool name_known(const char *name)
{
	return strcmp(name, "?") != 0;
}

static void check_remote(const struct config_remote *r)
{
	if (!r->host[0] || !r->user[0])
		die("an empty host or user", r->host);
	if (!r->port)
		die("no port", r->host);
	if ((r->password != NULL) == (r->password_command != NULL))
		die("not exactly one of password and password_command", NULL);
	if (r->tls == CONFIG_TLS_NONE && !r->allow_plaintext
	    && !util_host_is_loopback(r->host))
		die("tls: none accepted for a remote host", r->host);
	if (!name_known(config_tls_name(r->tls)))
		die("an unknown tls value", NULL);
	if (r->ca_file)
		check_path("ca_file", r->ca_file);
	if (r->pin_sha256 && strlen(r->pin_sha256) != 44)
		die("a pin that is not 44 characters", r->pin_sha256);
	if (r->n_auth == 0 || r->n_auth > CONFIG_AUTH_COUNT_)
		die("no auth mechanism or too many", NULL);
	for (size_t i = 0; i < r->n_auth; i++) {
		if (!name_known(config_auth_name(r->auth[i])))
			die("an unknown auth mechanism", NULL);
		for (size_t j = 0; j < i; j++)
			if (r->auth[i] == r->auth[j])
				die("an auth mechanism listed twice", NULL);
	}
	if (r->connections < 1 || r->connections > 32)
		die("connections out of range", NULL);
	if (r->timeout < 1 || r->timeout > 3600)
		die("timeout out of range", NULL);
}

static void check_account(const struct config *cfg,
			  const struct config_account *a)
{
	if (!config_account_name_ok(a->name))
		die("a bad account name accepted", a->name);
	if (config_find_account(cfg, a->name) != a)
		die("an account not found by its name", a->name);
	check_remote(&a->remote);
	check_path("local.path", a->local.path);
	if (!a->local.inbox || !a->local.inbox[0])
		die("no inbox folder name", a->name);
	if (!name_known(config_layout_name(a->local.layout)))
		die("an unknown layout", a->name);
	if (a->folders.include.n == 0)
		die("no include pattern", a->name);
	check_patterns(&a->folders.include);
	check_patterns(&a->folders.exclude);
	if (a->sync.direction == CONFIG_FLOW_NONE
	    || !name_known(config_flow_name(a->sync.direction))
	    || !name_known(config_flow_name(a->sync.delete))
	    || !name_known(config_flow_name(a->sync.folders)))
		die("an unknown sync flow", a->name);
	if (a->sync.max_delete > 100)
		die("max_delete over 100%", a->name);
	if (a->hooks.post_sync && !a->hooks.post_sync[0])
		die("an empty post_sync hook", a->name);
	for (const struct config_account *b = cfg->accounts; b < a; b++)
		if (strcmp(b->local.path, a->local.path) == 0)
			die("two accounts share a local path", a->local.path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct config_env env = {
		.home = "/home/fuzz",
		.xdg_config_home = NULL,
		.xdg_state_home = "/state",
	};
	struct config cfg;
	struct error err = ERROR_INIT;
	int r = config_load_string(&cfg, "fuzz.yaml", (const char *)data, size,
				   &env, &err);
	/* FUZZ_PRINT=1 ./fuzz-config FILE... shows what a corpus file
	 * loads to. */
	if (getenv("FUZZ_PRINT"))
		fprintf(stderr, "%s\n", r < 0 ? err.msg : "loaded");
	if (r < 0) {
		if (!err.msg || strncmp(err.msg, "fuzz.yaml:", 10) != 0)
			die("an error that does not name the file",
			    err.msg ? err.msg : "(none)");
		/* One line, and nothing that would steer a terminal. */
		for (const char *m = err.msg; *m; m++)
			if ((unsigned char)*m < 0x20 || *m == 0x7f)
				die("an error message with a control character", err.msg);
		if (cfg.accounts || cfg.n_accounts || cfg.path || cfg.state_dir)
			die("a failed load left something in the struct",
			    err.msg);
		error_clear(&err);
		return 0;
	}
	if (r != 0 || err.msg)
		die("success with an error message", err.msg);
	if (!cfg.path || strcmp(cfg.path, "fuzz.yaml") != 0)
		die("the path is not the name given", cfg.path);
	if (cfg.n_accounts == 0)
		die("a config without accounts", NULL);
	check_path("state_dir", cfg.state_dir);
	for (size_t i = 0; i < cfg.n_accounts; i++)
		check_account(&cfg, &cfg.accounts[i]);
	config_free(&cfg);
	return 0;
}
