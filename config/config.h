/* SPDX-License-Identifier: MIT */
/*
 * config: the YAML config file (SPEC.md section 2) turned into a plain,
 * validated struct with every default filled in.  No libyaml type leaves
 * this module.
 *
 * Ownership: config_load() fills a struct config that owns every string
 * and array in it; config_free() releases them all.  Paths are absolute
 * (with ~ and the XDG defaults expanded) once loaded.
 */
#ifndef TIDEMAIL_CONFIG_H
#define TIDEMAIL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum config_tls {
	CONFIG_TLS_IMPLICIT,
	CONFIG_TLS_STARTTLS,
	CONFIG_TLS_NONE,
};

enum config_auth {
	CONFIG_AUTH_PLAIN,
	CONFIG_AUTH_LOGIN,
	CONFIG_AUTH_OAUTHBEARER,
	CONFIG_AUTH_XOAUTH2,
	CONFIG_AUTH_COUNT_,
};

enum config_layout {
	CONFIG_LAYOUT_VERBATIM,
	CONFIG_LAYOUT_MAILDIRPP,
};

/* Which way changes of one kind may travel.  `direction` never takes
 * CONFIG_FLOW_NONE; `delete` and `folders` may. */
enum config_flow {
	CONFIG_FLOW_BOTH,
	CONFIG_FLOW_PULL,
	CONFIG_FLOW_PUSH,
	CONFIG_FLOW_NONE,
};

struct config_remote {
	char *host;
	unsigned port;              /* 993 for implicit TLS, else 143 */
	enum config_tls tls;        /* default implicit */
	bool allow_plaintext;       /* permits tls: none to a remote host */
	char *ca_file;              /* NULL: system trust store only */
	char *pin_sha256;           /* base64 of 32 bytes, or NULL */
	char *user;
	char *password;             /* exactly one of password and */
	char *password_command;     /* password_command is set */
	enum config_auth auth[CONFIG_AUTH_COUNT_];
	size_t n_auth;              /* default: plain, login */
	unsigned connections;       /* 1..32, default 4 */
	bool compress;              /* default true */
	uint64_t timeout;           /* seconds, default 60 */
};

struct config_local {
	char *path;
	enum config_layout layout;  /* default verbatim */
	char *inbox;                /* default "INBOX" */
};

struct config_strlist {
	char **v;
	size_t n;
};

struct config_folders {
	struct config_strlist include; /* globs over remote names; default "*" */
	struct config_strlist exclude; /* default none */
};

struct config_sync {
	enum config_flow direction; /* default both */
	enum config_flow delete;    /* default both */
	enum config_flow folders;   /* default both */
	uint64_t max_age;           /* seconds, 0 = no limit */
	uint64_t max_size;          /* bytes, 0 = no limit */
	unsigned max_delete;        /* percent, default 50 */
};

struct config_hooks {
	char *post_sync;            /* shell command, or NULL */
};

struct config_account {
	char *name;
	struct config_remote remote;
	struct config_local local;
	struct config_folders folders;
	struct config_sync sync;
	struct config_hooks hooks;
};

struct config {
	char *path;                 /* the file it was read from */
	char *state_dir;
	struct config_account *accounts;
	size_t n_accounts;
};

/* Where the environment says the defaults live.  home is required;
 * either XDG variable may be NULL or empty (then ~/.config and
 * ~/.local/state are used, as the XDG base directory spec says; a
 * relative value is ignored for the same reason). */
struct config_env {
	const char *home;
	const char *xdg_config_home;
	const char *xdg_state_home;
};

/* Fills env from getenv(). */
void config_env_from_process(struct config_env *env);

/* The default config file path: $XDG_CONFIG_HOME/tidemail/config.yaml. */
char *config_default_path(const struct config_env *env);

/*
 * Reads and validates the file at path into *cfg.  On failure returns a
 * negative value, leaves *cfg empty, and sets err to one line naming
 * "file:line:col:" where the problem is and what was expected there.
 */
int config_load(struct config *cfg, const char *path,
		const struct config_env *env, struct error *err);

/* The same from a buffer; name is used in messages only, and the file
 * permission check (a password in a file others can read) is skipped. */
int config_load_string(struct config *cfg, const char *name, const char *text,
		       size_t len, const struct config_env *env,
		       struct error *err);

void config_free(struct config *cfg);

/* The account called name, or NULL. */
const struct config_account *config_find_account(const struct config *cfg,
						 const char *name);

/* Names for enum values, as written in the config file. */
const char *config_tls_name(enum config_tls tls);
const char *config_flow_name(enum config_flow flow);
const char *config_auth_name(enum config_auth auth);
const char *config_layout_name(enum config_layout layout);

/*
 * Value parsers shared with the command line.  Each returns 0 or -1 and
 * leaves *r alone on failure.  Sizes take K, M, G or T (powers of 1024,
 * an optional trailing B or iB); durations take s, m, h, d or w;
 * percentages end in %.
 */
int config_parse_size(const char *s, uint64_t *r);
int config_parse_duration(const char *s, uint64_t *r);
int config_parse_percent(const char *s, unsigned *r);
/* Account names: 1 to 64 of letters, digits, '.', '_', '-', not starting
 * with '.' (the name becomes a file name in state_dir). */
bool config_account_name_ok(const char *name);

#endif
