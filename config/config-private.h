/* SPDX-License-Identifier: MIT */
/* Inside the config module: the load's context, the key tables that
 * describe the schema, and the value kinds (scalars.c). */
#ifndef TIDEMAIL_CONFIG_PRIVATE_H
#define TIDEMAIL_CONFIG_PRIVATE_H

#include "config.h"

#include <yaml.h>

/* What a load carries around (load.c). */
struct ctx {
	const char *file;
	yaml_document_t *doc;
	const struct config_env *env;
	struct error *err;
	/* Where the first `password` key is, for the permission check. */
	yaml_node_t *password_key;
	char *password_where;
};

enum key_kind {
	K_STRING,   /* char *, non-empty */
	K_SECRET,   /* char *, and the file must not be readable by others */
	K_PATH,     /* char *, absolute or ~/, expanded */
	K_BOOL,     /* bool: true | false */
	K_UINT,     /* unsigned in [min, max] */
	K_ENUM,     /* an enum, spelled as in names[] */
	K_SIZE,     /* uint64_t bytes: 25M */
	K_DURATION, /* uint64_t seconds in [min, max]: 90d */
	K_PERCENT,  /* unsigned 0..100: 50% */
	K_PATTERNS, /* struct config_strlist */
	K_AUTH,     /* the auth list of struct config_remote */
	K_PIN,      /* char *, base64 of a SHA-256 digest */
	K_MAP,      /* a nested mapping described by map */
};

struct enum_name {
	const char *name;
	int value;
};

struct map_spec;

struct key_spec {
	const char *name;
	enum key_kind kind;
	size_t offset;              /* of the field in the mapping's struct */
	bool required;
	uint64_t min, max;
	const char *min_text, *max_text; /* the range as a user writes it */
	const struct enum_name *names;   /* ends with {NULL, 0} */
	const struct map_spec *map;
};

/* Called once a mapping's keys are read: cross-key rules and defaults.
 * found[i] is the key node of keys[i], or NULL when it was absent. */
typedef int map_check_fn(struct ctx *c, yaml_node_t *map, const char *where,
			 void *base, yaml_node_t **found);

struct map_spec {
	const struct key_spec *keys; /* ends with a NULL name */
	map_check_fn *check;
};


/* scalars.c: messages, all returning -1 with c->err set. */
int cfg_fail(struct ctx *c, const yaml_node_t *node, const char *where,
	     const char *fmt, ...) UTIL_PRINTF(4, 5);
int cfg_fail_expected(struct ctx *c, const yaml_node_t *n, const char *where,
		      const char *expected);
/* A value for a message: quoted, control characters escaped, cut. */
char *cfg_shown(const char *v);
/* The text of a non-null scalar, or an error naming what was expected. */
int cfg_scalar(struct ctx *c, const yaml_node_t *n, const char *where,
	       const char *expected, const char **r);

/* scalars.c: the value kinds, each filling its field or failing. */
int cfg_get_string(struct ctx *c, const yaml_node_t *n, const char *where, char **r);
int cfg_get_path(struct ctx *c, const yaml_node_t *n, const char *where, char **r);
int cfg_get_bool(struct ctx *c, const yaml_node_t *n, const char *where, bool *r);
int cfg_get_uint(struct ctx *c, const yaml_node_t *n, const char *where,
		 const struct key_spec *k, unsigned *r);
int cfg_get_enum(struct ctx *c, const yaml_node_t *n, const char *where,
		 const struct enum_name *names, int *r);
int cfg_get_size(struct ctx *c, const yaml_node_t *n, const char *where, uint64_t *r);
int cfg_get_duration(struct ctx *c, const yaml_node_t *n, const char *where,
		     const struct key_spec *k, uint64_t *r);
int cfg_get_percent(struct ctx *c, const yaml_node_t *n, const char *where, unsigned *r);
typedef int cfg_item_fn(struct ctx *c, const yaml_node_t *n, const char *where,
			const char *s, size_t i, void *arg);
int cfg_get_list(struct ctx *c, const yaml_node_t *n, const char *where,
		 const char *what, cfg_item_fn *each, void *arg);
cfg_item_fn cfg_add_pattern;
cfg_item_fn cfg_add_auth;
int cfg_get_pin(struct ctx *c, const yaml_node_t *n, const char *where, char **r);

#endif
