/* SPDX-License-Identifier: MIT */
/*
 * Loading the config: libyaml builds the document tree, then a table of
 * keys per mapping (below) says what each key holds.  Every error carries
 * the file, line and column of the node at fault and the dotted path of
 * the key ("accounts.work.remote.port"), so a user can go straight to it.
 */
#include "config-private.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

/* A config file is a few kilobytes; anything far larger is a mistake. */
#define CONFIG_MAX_FILE (1024 * 1024)


/* ---- mappings -------------------------------------------------------- */

static int walk_map(struct ctx *c, yaml_node_t *map, const char *where,
		    const struct map_spec *spec, void *base);

static int set_value(struct ctx *c, const struct key_spec *k, yaml_node_t *key,
		     yaml_node_t *v, const char *where, void *base)
{
	void *field = (char *)base + k->offset;
	switch (k->kind) {
	case K_STRING:
		return cfg_get_string(c, v, where, field);
	case K_SECRET:
		if (!c->password_key) {
			c->password_key = key;
			c->password_where = xstrdup(where);
		}
		return cfg_get_string(c, v, where, field);
	case K_PATH:
		return cfg_get_path(c, v, where, field);
	case K_BOOL:
		return cfg_get_bool(c, v, where, field);
	case K_UINT:
		return cfg_get_uint(c, v, where, k, field);
	case K_ENUM:
		return cfg_get_enum(c, v, where, k->names, field);
	case K_SIZE:
		return cfg_get_size(c, v, where, field);
	case K_DURATION:
		return cfg_get_duration(c, v, where, k, field);
	case K_PERCENT:
		return cfg_get_percent(c, v, where, field);
	case K_PATTERNS:
		return cfg_get_list(c, v, where, "glob patterns", cfg_add_pattern, field);
	case K_AUTH:
		return cfg_get_list(c, v, where, "mechanisms", cfg_add_auth, base);
	case K_PIN:
		return cfg_get_pin(c, v, where, field);
	case K_MAP:
		return walk_map(c, v, where, k->map, field);
	}
	return cfg_fail(c, v, where, "internal error: unknown key kind");
}

static char *key_list(const struct map_spec *spec)
{
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	for (const struct key_spec *k = spec->keys; k->name; k++)
		buf_addf(&b, "%s%s", k == spec->keys ? "" : ", ", k->name);
	return buf_detach(&b, NULL);
}

static char *join_where(const char *where, const char *key)
{
	return *where ? xasprintf("%s.%s", where, key) : xstrdup(key);
}

static int walk_map(struct ctx *c, yaml_node_t *map, const char *where,
		    const struct map_spec *spec, void *base)
{
	if (map->type != YAML_MAPPING_NODE)
		return cfg_fail_expected(c, map, where, "a mapping");

	size_t nkeys = 0;
	while (spec->keys[nkeys].name)
		nkeys++;
	yaml_node_t **found = xcalloc(nkeys, sizeof(*found));
	int ret = 0;

	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     ret == 0 && p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *key = yaml_document_get_node(c->doc, p->key);
		yaml_node_t *val = yaml_document_get_node(c->doc, p->value);
		const char *name;
		if (cfg_scalar(c, key, where, "a key name", &name) < 0) {
			ret = -1;
			break;
		}
		size_t i = 0;
		while (i < nkeys && strcmp(spec->keys[i].name, name))
			i++;
		if (i == nkeys) {
			char *keys = key_list(spec);
			char *v = cfg_shown(name);
			ret = cfg_fail(c, key, where, "unknown key %s (expected one of: %s)",
				   v, keys);
			free(v);
			free(keys);
			break;
		}
		if (found[i]) {
			ret = cfg_fail(c, key, where, "duplicate key '%s'", name); /* a known key */
			break;
		}
		found[i] = key;
		char *kwhere = join_where(where, name);
		ret = set_value(c, &spec->keys[i], key, val, kwhere, base);
		free(kwhere);
	}
	for (size_t i = 0; ret == 0 && i < nkeys; i++)
		if (spec->keys[i].required && !found[i])
			ret = cfg_fail(c, map, where, "missing key '%s'", spec->keys[i].name);
	if (ret == 0 && spec->check)
		ret = spec->check(c, map, where, base, found);
	free(found);
	return ret;
}

/* ---- the schema ------------------------------------------------------ */

static const struct enum_name tls_names[] = {
	{"implicit", CONFIG_TLS_IMPLICIT},
	{"starttls", CONFIG_TLS_STARTTLS},
	{"none", CONFIG_TLS_NONE},
	{NULL, 0},
};
static const struct enum_name layout_names[] = {
	{"verbatim", CONFIG_LAYOUT_VERBATIM},
	{"maildir++", CONFIG_LAYOUT_MAILDIRPP},
	{NULL, 0},
};
static const struct enum_name direction_names[] = {
	{"both", CONFIG_FLOW_BOTH},
	{"pull", CONFIG_FLOW_PULL},
	{"push", CONFIG_FLOW_PUSH},
	{NULL, 0},
};
static const struct enum_name flow_names[] = {
	{"both", CONFIG_FLOW_BOTH},
	{"pull", CONFIG_FLOW_PULL},
	{"push", CONFIG_FLOW_PUSH},
	{"none", CONFIG_FLOW_NONE},
	{NULL, 0},
};

#define R(field) offsetof(struct config_remote, field)
enum { TLS_KEY = 2, PASSWORD_KEY = 6, PASSWORD_COMMAND_KEY = 7 };
static const struct key_spec remote_keys[] = {
	{.name = "host", .kind = K_STRING, .offset = R(host), .required = true},
	{.name = "port", .kind = K_UINT, .offset = R(port), .min = 1, .max = 65535},
	[TLS_KEY] = {.name = "tls", .kind = K_ENUM, .offset = R(tls), .names = tls_names},
	{.name = "allow_plaintext", .kind = K_BOOL, .offset = R(allow_plaintext)},
	{.name = "ca_file", .kind = K_PATH, .offset = R(ca_file)},
	{.name = "pin_sha256", .kind = K_PIN, .offset = R(pin_sha256)},
	[PASSWORD_KEY] = {.name = "password", .kind = K_SECRET, .offset = R(password)},
	[PASSWORD_COMMAND_KEY] = {.name = "password_command", .kind = K_STRING, .offset = R(password_command)},
	{.name = "user", .kind = K_STRING, .offset = R(user), .required = true},
	{.name = "auth", .kind = K_AUTH, .offset = 0},
	{.name = "connections", .kind = K_UINT, .offset = R(connections), .min = 1, .max = 32},
	{.name = "compress", .kind = K_BOOL, .offset = R(compress)},
	{.name = "timeout", .kind = K_DURATION, .offset = R(timeout), .min = 1, .max = 3600,
	 .min_text = "1s", .max_text = "1h"},
	{.name = NULL},
};
#undef R

/* The value node paired with key in map. */
static yaml_node_t *value_of(struct ctx *c, yaml_node_t *map, yaml_node_t *key)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++)
		if (yaml_document_get_node(c->doc, p->key) == key)
			return yaml_document_get_node(c->doc, p->value);
	return key;
}

static int check_remote(struct ctx *c, yaml_node_t *map, const char *where,
			void *base, yaml_node_t **found)
{
	struct config_remote *r = base;
	if (r->password && r->password_command)
		return cfg_fail(c, found[PASSWORD_COMMAND_KEY], where,
			    "set either 'password' or 'password_command', not both");
	if (!r->password && !r->password_command)
		return cfg_fail(c, map, where, "missing key 'password' or 'password_command'");
	if (r->tls == CONFIG_TLS_NONE && !r->allow_plaintext &&
	    !util_host_is_loopback(r->host)) {
		char *twhere = join_where(where, "tls");
		/* Point at the value of `tls`, which is what to change. */
		char *host = cfg_shown(r->host);
		cfg_fail(c, value_of(c, map, found[TLS_KEY]), twhere,
		     "'none' would send the password in clear text to %s; use "
		     "'implicit' or 'starttls', or set 'allow_plaintext: true'",
		     host);
		free(host);
		free(twhere);
		return -1;
	}
	if (!r->port)
		r->port = r->tls == CONFIG_TLS_IMPLICIT ? 993 : 143;
	if (!r->n_auth) {
		r->auth[r->n_auth++] = CONFIG_AUTH_PLAIN;
		r->auth[r->n_auth++] = CONFIG_AUTH_LOGIN;
	}
	return 0;
}

static const struct map_spec remote_map = {remote_keys, check_remote};

#define L(field) offsetof(struct config_local, field)
static const struct key_spec local_keys[] = {
	{.name = "path", .kind = K_PATH, .offset = L(path), .required = true},
	{.name = "layout", .kind = K_ENUM, .offset = L(layout), .names = layout_names},
	{.name = "inbox", .kind = K_STRING, .offset = L(inbox)},
	{.name = NULL},
};
#undef L

static int check_local(struct ctx *c, yaml_node_t *map, const char *where,
		       void *base, yaml_node_t **found)
{
	struct config_local *l = base;
	if (!l->inbox)
		l->inbox = xstrdup("INBOX");
	return 0;
}

static const struct map_spec local_map = {local_keys, check_local};

static const struct key_spec folders_keys[] = {
	{.name = "include", .kind = K_PATTERNS, .offset = offsetof(struct config_folders, include)},
	{.name = "exclude", .kind = K_PATTERNS, .offset = offsetof(struct config_folders, exclude)},
	{.name = NULL},
};
static const struct map_spec folders_map = {folders_keys, NULL};

#define S(field) offsetof(struct config_sync, field)
static const struct key_spec sync_keys[] = {
	{.name = "direction", .kind = K_ENUM, .offset = S(direction), .names = direction_names},
	{.name = "delete", .kind = K_ENUM, .offset = S(delete), .names = flow_names},
	{.name = "folders", .kind = K_ENUM, .offset = S(folders), .names = flow_names},
	{.name = "max_age", .kind = K_DURATION, .offset = S(max_age), .min = 1, .max = 100ULL * 366 * 86400,
	 .min_text = "1s", .max_text = "100 years"},
	{.name = "max_size", .kind = K_SIZE, .offset = S(max_size)},
	{.name = "max_delete", .kind = K_PERCENT, .offset = S(max_delete)},
	{.name = NULL},
};
#undef S
static const struct map_spec sync_map = {sync_keys, NULL};

static const struct key_spec hooks_keys[] = {
	{.name = "post_sync", .kind = K_STRING, .offset = offsetof(struct config_hooks, post_sync)},
	{.name = NULL},
};
static const struct map_spec hooks_map = {hooks_keys, NULL};

#define A(field) offsetof(struct config_account, field)
static const struct key_spec account_keys[] = {
	{.name = "remote", .kind = K_MAP, .offset = A(remote), .required = true, .map = &remote_map},
	{.name = "local", .kind = K_MAP, .offset = A(local), .required = true, .map = &local_map},
	{.name = "folders", .kind = K_MAP, .offset = A(folders), .map = &folders_map},
	{.name = "sync", .kind = K_MAP, .offset = A(sync), .map = &sync_map},
	{.name = "hooks", .kind = K_MAP, .offset = A(hooks), .map = &hooks_map},
	{.name = NULL},
};
#undef A

static int check_account(struct ctx *c, yaml_node_t *map, const char *where,
			 void *base, yaml_node_t **found)
{
	struct config_account *a = base;
	if (!a->folders.include.n) {
		a->folders.include.v = xcalloc(1, sizeof(char *));
		a->folders.include.v[0] = xstrdup("*");
		a->folders.include.n = 1;
	}
	return 0;
}

static const struct map_spec account_map = {account_keys, check_account};

static void account_defaults(struct config_account *a)
{
	a->remote.tls = CONFIG_TLS_IMPLICIT;
	a->remote.connections = 4;
	a->remote.compress = true;
	a->remote.timeout = 60;
	a->local.layout = CONFIG_LAYOUT_VERBATIM;
	a->sync.direction = CONFIG_FLOW_BOTH;
	a->sync.delete = CONFIG_FLOW_BOTH;
	a->sync.folders = CONFIG_FLOW_BOTH;
	a->sync.max_delete = 50;
}

static int parse_accounts(struct ctx *c, yaml_node_t *n, struct config *cfg)
{
	if (n->type != YAML_MAPPING_NODE)
		return cfg_fail_expected(c, n, "accounts", "a mapping of account names");
	size_t count = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	if (count == 0)
		return cfg_fail(c, n, "accounts", "expected at least one account");
	cfg->accounts = xcalloc(count, sizeof(*cfg->accounts));
	for (size_t i = 0; i < count; i++) {
		yaml_node_pair_t *p = &n->data.mapping.pairs.start[i];
		yaml_node_t *key = yaml_document_get_node(c->doc, p->key);
		yaml_node_t *val = yaml_document_get_node(c->doc, p->value);
		const char *name;
		if (cfg_scalar(c, key, "accounts", "an account name", &name) < 0)
			return -1;
		if (!config_account_name_ok(name)) {
			char *v = cfg_shown(name);
			cfg_fail(c, key, "accounts",
			     "invalid account name %s (expected 1 to 64 letters, "
			     "digits, '.', '_' or '-', not starting with '.')", v);
			free(v);
			return -1;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(cfg->accounts[j].name, name))
				return cfg_fail(c, key, "accounts",
					    "duplicate account '%s'", name);
		struct config_account *a = &cfg->accounts[cfg->n_accounts++];
		a->name = xstrdup(name);
		account_defaults(a);
		char *where = xasprintf("accounts.%s", name);
		int r = walk_map(c, val, where, &account_map, a);
		free(where);
		if (r < 0)
			return -1;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(cfg->accounts[j].local.path, a->local.path))
			{
				char *v = cfg_shown(a->local.path);
				cfg_fail(c, val, "accounts", "accounts '%s' and '%s' share the "
				     "local path %s", cfg->accounts[j].name, name, v);
				free(v);
				return -1;
			}
	}
	return 0;
}

static int parse_root(struct ctx *c, yaml_node_t *root, struct config *cfg)
{
	if (root->type != YAML_MAPPING_NODE)
		return cfg_fail_expected(c, root, "", "a mapping with an 'accounts' key");
	yaml_node_t *accounts = NULL;
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
	     p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *key = yaml_document_get_node(c->doc, p->key);
		yaml_node_t *val = yaml_document_get_node(c->doc, p->value);
		const char *name;
		if (cfg_scalar(c, key, "", "a key name", &name) < 0)
			return -1;
		if (!strcmp(name, "state_dir")) {
			if (cfg->state_dir)
				return cfg_fail(c, key, "", "duplicate key 'state_dir'");
			if (cfg_get_path(c, val, "state_dir", &cfg->state_dir) < 0)
				return -1;
		} else if (!strcmp(name, "accounts")) {
			if (accounts)
				return cfg_fail(c, key, "", "duplicate key 'accounts'");
			accounts = val;
		} else {
		{
			char *v = cfg_shown(name);
			cfg_fail(c, key, "", "unknown key %s (expected one of: state_dir, "
			     "accounts)", v);
			free(v);
			return -1;
		}
		}
	}
	if (!accounts)
		return cfg_fail(c, root, "", "missing key 'accounts'");
	if (parse_accounts(c, accounts, cfg) < 0)
		return -1;
	if (!cfg->state_dir) {
		const char *xdg = c->env->xdg_state_home;
		if (xdg && xdg[0] == '/')
			cfg->state_dir = xasprintf("%s/tidemail", xdg);
		else if (c->env->home && c->env->home[0] == '/')
			cfg->state_dir = xasprintf("%s/.local/state/tidemail", c->env->home);
		else
			return cfg_fail(c, root, "",
				    "missing key 'state_dir' (no $XDG_STATE_HOME or $HOME to default to)");
	}
	return 0;
}

/* ---- entry points ---------------------------------------------------- */

static int load(struct config *cfg, const char *name, const char *text,
		size_t len, const struct config_env *env, const struct stat *st,
		struct error *err)
{
	memset(cfg, 0, sizeof(*cfg));
	struct ctx c = {.file = name, .env = env, .err = err};
	yaml_parser_t parser;
	yaml_document_t doc;
	if (!yaml_parser_initialize(&parser))
		return error_set(err, ERR_ACCOUNT, "%s: cannot initialise the YAML parser", name);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	int ret = -1;
	if (!yaml_parser_load(&parser, &doc)) {
		yaml_mark_t mark = parser.problem_mark;
		error_set(err, ERR_ACCOUNT, "%s:%zu:%zu: invalid YAML: %s%s%s", name,
			  mark.line + 1, mark.column + 1,
			  parser.problem ? parser.problem : "syntax error",
			  parser.context ? " " : "",
			  parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		return -1;
	}
	c.doc = &doc;
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (!root) {
		error_set(err, ERR_ACCOUNT,
			  "%s:1:1: expected a mapping with an 'accounts' key, got an empty file",
			  name);
		goto out;
	}
	/* A second document would be silently ignored by a sloppier reader. */
	yaml_document_t next;
	if (!yaml_parser_load(&parser, &next)) {
		yaml_mark_t mark = parser.problem_mark;
		error_set(err, ERR_ACCOUNT, "%s:%zu:%zu: invalid YAML: %s", name,
			  mark.line + 1, mark.column + 1,
			  parser.problem ? parser.problem : "syntax error");
		goto out;
	}
	yaml_node_t *next_root = yaml_document_get_root_node(&next);
	if (next_root) {
		cfg_fail(&c, next_root, "", "expected a single YAML document, found a second one");
		yaml_document_delete(&next);
		goto out;
	}
	yaml_document_delete(&next);

	if (parse_root(&c, root, cfg) < 0)
		goto out;
	if (st && c.password_key && (st->st_mode & (S_IRGRP | S_IROTH))) {
		cfg_fail(&c, c.password_key, c.password_where,
		     "this file holds a password but is readable by group or "
		     "others; run: chmod 600 %s", name);
		goto out;
	}
	cfg->path = xstrdup(name);
	ret = 0;
out:
	free(c.password_where);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (ret < 0)
		config_free(cfg);
	return ret;
}

int config_load_string(struct config *cfg, const char *name, const char *text,
		       size_t len, const struct config_env *env, struct error *err)
{
	return load(cfg, name, text, len, env, NULL, err);
}

int config_load(struct config *cfg, const char *path,
		const struct config_env *env, struct error *err)
{
	memset(cfg, 0, sizeof(*cfg));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_errno(err, ERR_ACCOUNT, errno, "%s: cannot open the config file", path);
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return error_errno(err, ERR_ACCOUNT, e, "%s", path);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return error_set(err, ERR_ACCOUNT, "%s: not a regular file", path);
	}
	struct buf text = BUF_INIT(CONFIG_MAX_FILE);
	char chunk[8192];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			buf_release(&text);
			return error_errno(err, ERR_ACCOUNT, e, "%s: read", path);
		}
		if (n == 0)
			break;
		if (buf_add(&text, chunk, (size_t)n) < 0) {
			close(fd);
			buf_release(&text);
			return error_set(err, ERR_ACCOUNT,
					 "%s: larger than 1 MiB; expected a tidemail config file",
					 path);
		}
	}
	close(fd);
	int r = load(cfg, path, text.data, text.len, env, &st, err);
	buf_release(&text);
	return r;
}

static void free_list(struct config_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

void config_free(struct config *cfg)
{
	for (size_t i = 0; i < cfg->n_accounts; i++) {
		struct config_account *a = &cfg->accounts[i];
		free(a->name);
		free(a->remote.host);
		free(a->remote.ca_file);
		free(a->remote.pin_sha256);
		free(a->remote.user);
		if (a->remote.password) {
			/* Do not leave the secret lying in freed memory. */
			explicit_bzero(a->remote.password, strlen(a->remote.password));
			free(a->remote.password);
		}
		free(a->remote.password_command);
		free(a->local.path);
		free(a->local.inbox);
		free_list(&a->folders.include);
		free_list(&a->folders.exclude);
		free(a->hooks.post_sync);
	}
	free(cfg->accounts);
	free(cfg->path);
	free(cfg->state_dir);
	memset(cfg, 0, sizeof(*cfg));
}

const struct config_account *config_find_account(const struct config *cfg,
						 const char *name)
{
	for (size_t i = 0; i < cfg->n_accounts; i++)
		if (!strcmp(cfg->accounts[i].name, name))
			return &cfg->accounts[i];
	return NULL;
}

void config_env_from_process(struct config_env *env)
{
	env->home = getenv("HOME");
	env->xdg_config_home = getenv("XDG_CONFIG_HOME");
	env->xdg_state_home = getenv("XDG_STATE_HOME");
}

char *config_default_path(const struct config_env *env)
{
	const char *xdg = env->xdg_config_home;
	if (xdg && xdg[0] == '/')
		return xasprintf("%s/tidemail/config.yaml", xdg);
	if (env->home && env->home[0] == '/')
		return xasprintf("%s/.config/tidemail/config.yaml", env->home);
	return NULL;
}
