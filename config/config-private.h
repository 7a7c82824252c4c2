/* SPDX-License-Identifier: MIT */
/* Inside the config module: the key tables that describe the schema. */
#ifndef TIDEMAIL_CONFIG_PRIVATE_H
#define TIDEMAIL_CONFIG_PRIVATE_H

#include "config.h"

#include <yaml.h>

struct ctx;

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

#endif
