/* SPDX-License-Identifier: MIT */
/*
 * The value kinds of the config (strings, paths, numbers, enums, sizes,
 * durations, percentages, lists) and the messages that name where a
 * value is wrong: file:line:col, the dotted key, what was expected and,
 * quoted and escaped, what was found.
 */
#include "config-private.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <stdlib.h>
#include <string.h>

/* ---- messages -------------------------------------------------------- */

static int vfail_at(struct ctx *c, const yaml_mark_t *mark, const char *where,
		    const char *fmt, va_list ap) UTIL_PRINTF(4, 0);
static int vfail_at(struct ctx *c, const yaml_mark_t *mark, const char *where,
		    const char *fmt, va_list ap)
{
	char *msg = xvasprintf(fmt, ap);
	error_set(c->err, ERR_ACCOUNT, "%s:%zu:%zu: %s%s%s", c->file,
		  mark->line + 1, mark->column + 1, where ? where : "",
		  where && *where ? ": " : "", msg);
	free(msg);
	return -1;
}

int cfg_fail(struct ctx *c, const yaml_node_t *node, const char *where,
		const char *fmt, ...) UTIL_PRINTF(4, 5);
int cfg_fail(struct ctx *c, const yaml_node_t *node, const char *where,
		const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail_at(c, &node->start_mark, where, fmt, ap);
	va_end(ap);
	return -1;
}

static bool is_null(const yaml_node_t *n)
{
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	const char *v = (const char *)n->data.scalar.value;
	/* "~" is YAML's null too, but in a path it means the home directory,
	 * which is what a user who writes it expects. */
	return !*v || !strcmp(v, "null") ||
	       !strcmp(v, "Null") || !strcmp(v, "NULL");
}

/* A value as it may appear in a one-line message: in quotes, control
 * characters escaped (a newline or a terminal escape in a YAML string
 * must not break the line or reach the terminal), cut after 80 bytes. */
char *cfg_shown(const char *v)
{
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	buf_addc(&b, '\'');
	for (size_t i = 0; v[i]; i++) {
		unsigned char ch = (unsigned char)v[i];
		if (i == 80) {
			buf_adds(&b, "...");
			break;
		}
		if (ch == '\n')
			buf_adds(&b, "\\n");
		else if (ch == '\t')
			buf_adds(&b, "\\t");
		else if (ch < 0x20 || ch == 0x7f)
			buf_addf(&b, "\\x%02x", ch);
		else
			buf_addc(&b, (char)ch);
	}
	buf_addc(&b, '\'');
	return buf_detach(&b, NULL);
}

/* What the user wrote, for "got ..." in messages. */
static char *describe(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return xstrdup("a mapping");
	case YAML_SEQUENCE_NODE:
		return xstrdup("a list");
	case YAML_SCALAR_NODE:
		if (is_null(n))
			return xstrdup("nothing");
		return cfg_shown((const char *)n->data.scalar.value);
	case YAML_NO_NODE:
		break;
	}
	return xstrdup("nothing");
}

int cfg_fail_expected(struct ctx *c, const yaml_node_t *n, const char *where,
			 const char *expected)
{
	char *got = describe(n);
	cfg_fail(c, n, where, "expected %s, got %s", expected, got);
	free(got);
	return -1;
}

/* The text of a non-null cfg_scalar, or an error naming what was expected. */
int cfg_scalar(struct ctx *c, const yaml_node_t *n, const char *where,
		  const char *expected, const char **r)
{
	if (n->type != YAML_SCALAR_NODE || is_null(n))
		return cfg_fail_expected(c, n, where, expected);
	if (n->data.scalar.length == 0)
		return cfg_fail_expected(c, n, where, expected);
	if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
		return cfg_fail(c, n, where, "expected %s, got a value with a NUL byte",
			    expected);
	*r = (const char *)n->data.scalar.value;
	return 0;
}

/* ---- value kinds ----------------------------------------------------- */

int cfg_get_string(struct ctx *c, const yaml_node_t *n, const char *where,
		      char **r)
{
	const char *s;
	if (cfg_scalar(c, n, where, "a non-empty string", &s) < 0)
		return -1;
	free(*r);
	*r = xstrdup(s);
	return 0;
}

/* "~", "~/x" and absolute paths; ~user and relative paths are refused,
 * since cron runs us from an arbitrary directory. */
static int expand_path(struct ctx *c, const yaml_node_t *n, const char *where,
		       const char *s, char **r)
{
	char *out;
	if (s[0] == '/') {
		out = xstrdup(s);
	} else if (s[0] == '~' && (s[1] == '\0' || s[1] == '/')) {
		if (!c->env->home || c->env->home[0] != '/')
			return cfg_fail(c, n, where,
				    "cannot expand '~': $HOME is not set to an absolute path");
		out = xasprintf("%s%s", c->env->home, s + 1);
	} else {
		return cfg_fail_expected(c, n, where,
				     "an absolute path or one starting with ~/");
	}
	size_t len = strlen(out);
	while (len > 1 && out[len - 1] == '/')
		out[--len] = '\0';
	free(*r);
	*r = out;
	return 0;
}

int cfg_get_path(struct ctx *c, const yaml_node_t *n, const char *where,
		    char **r)
{
	const char *s;
	if (cfg_scalar(c, n, where, "an absolute path or one starting with ~/", &s) < 0)
		return -1;
	return expand_path(c, n, where, s, r);
}

int cfg_get_bool(struct ctx *c, const yaml_node_t *n, const char *where,
		    bool *r)
{
	const char *s;
	if (cfg_scalar(c, n, where, "true or false", &s) < 0)
		return -1;
	if (!strcmp(s, "true"))
		*r = true;
	else if (!strcmp(s, "false"))
		*r = false;
	else
		return cfg_fail_expected(c, n, where, "true or false");
	return 0;
}

int cfg_get_uint(struct ctx *c, const yaml_node_t *n, const char *where,
		    const struct key_spec *k, unsigned *r)
{
	char *expected = xasprintf("an integer from %llu to %llu",
				   (unsigned long long)k->min,
				   (unsigned long long)k->max);
	const char *s;
	int ret = cfg_scalar(c, n, where, expected, &s);
	if (ret == 0) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(s, &end, 10);
		if (s[0] < '0' || s[0] > '9' || *end || errno || v < k->min ||
		    v > k->max)
			ret = cfg_fail_expected(c, n, where, expected);
		else
			*r = (unsigned)v;
	}
	free(expected);
	return ret;
}

int cfg_get_enum(struct ctx *c, const yaml_node_t *n, const char *where,
		    const struct enum_name *names, int *r)
{
	struct buf expected = BUF_INIT(BUF_UNLIMITED);
	buf_adds(&expected, "one of ");
	for (const struct enum_name *e = names; e->name; e++)
		buf_addf(&expected, "%s%s", e == names ? "" : ", ", e->name);
	const char *s;
	int ret = cfg_scalar(c, n, where, expected.data, &s);
	if (ret == 0) {
		const struct enum_name *e = names;
		while (e->name && strcmp(e->name, s))
			e++;
		if (e->name)
			*r = e->value;
		else
			ret = cfg_fail_expected(c, n, where, expected.data);
	}
	buf_release(&expected);
	return ret;
}

int cfg_get_size(struct ctx *c, const yaml_node_t *n, const char *where,
		    uint64_t *r)
{
	static const char expected[] = "a size such as 25M (a number of bytes "
				       "with an optional K, M, G or T)";
	const char *s;
	uint64_t v;
	if (cfg_scalar(c, n, where, expected, &s) < 0)
		return -1;
	if (config_parse_size(s, &v) < 0 || v == 0)
		return cfg_fail_expected(c, n, where, expected);
	*r = v;
	return 0;
}

int cfg_get_duration(struct ctx *c, const yaml_node_t *n, const char *where,
			const struct key_spec *k, uint64_t *r)
{
	static const char expected[] = "a duration such as 90d (a number with "
				       "s, m, h, d or w)";
	const char *s;
	uint64_t v;
	if (cfg_scalar(c, n, where, expected, &s) < 0)
		return -1;
	if (config_parse_duration(s, &v) < 0)
		return cfg_fail_expected(c, n, where, expected);
	if (v < k->min || v > k->max) {
		char *range = xasprintf("a duration from %s to %s", k->min_text,
					k->max_text);
		cfg_fail_expected(c, n, where, range);
		free(range);
		return -1;
	}
	*r = v;
	return 0;
}

int cfg_get_percent(struct ctx *c, const yaml_node_t *n, const char *where,
		       unsigned *r)
{
	static const char expected[] = "a percentage from 0% to 100%";
	const char *s;
	if (cfg_scalar(c, n, where, expected, &s) < 0)
		return -1;
	if (config_parse_percent(s, r) < 0)
		return cfg_fail_expected(c, n, where, expected);
	return 0;
}

/* Walks a sequence of non-empty strings; calls each(item) for every one. */
int cfg_get_list(struct ctx *c, const yaml_node_t *n, const char *where,
		    const char *what,
		    int (*each)(struct ctx *, const yaml_node_t *, const char *,
				const char *, size_t, void *),
		    void *arg)
{
	char *expected = xasprintf("a list of %s", what);
	if (n->type != YAML_SEQUENCE_NODE) {
		cfg_fail_expected(c, n, where, expected);
		free(expected);
		return -1;
	}
	free(expected);
	size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (count == 0)
		return cfg_fail(c, n, where, "expected a non-empty list of %s", what);
	for (size_t i = 0; i < count; i++) {
		yaml_node_t *item = yaml_document_get_node(c->doc,
							   n->data.sequence.items.start[i]);
		char *iwhere = xasprintf("%s[%zu]", where, i);
		const char *s;
		int r = cfg_scalar(c, item, iwhere, "a non-empty string", &s);
		if (r == 0)
			r = each(c, item, iwhere, s, i, arg);
		free(iwhere);
		if (r < 0)
			return -1;
	}
	return 0;
}

int cfg_add_pattern(struct ctx *c, const yaml_node_t *n, const char *where,
		       const char *s, size_t i, void *arg)
{
	struct config_strlist *list = arg;
	size_t cap = list->n;
	list->v = xgrow(list->v, sizeof(*list->v), list->n + 1, &cap);
	list->v[list->n++] = xstrdup(s);
	return 0;
}

static const struct enum_name auth_names[] = {
	{"plain", CONFIG_AUTH_PLAIN},
	{"login", CONFIG_AUTH_LOGIN},
	{"oauthbearer", CONFIG_AUTH_OAUTHBEARER},
	{"xoauth2", CONFIG_AUTH_XOAUTH2},
	{NULL, 0},
};

int cfg_add_auth(struct ctx *c, const yaml_node_t *n, const char *where,
		    const char *s, size_t i, void *arg)
{
	struct config_remote *remote = arg;
	int v;
	if (cfg_get_enum(c, n, where, auth_names, &v) < 0)
		return -1;
	for (size_t j = 0; j < remote->n_auth; j++)
		if ((int)remote->auth[j] == v) /* s is a known mechanism name */
			return cfg_fail(c, n, where, "'%s' is listed twice", s);
	remote->auth[remote->n_auth++] = (enum config_auth)v;
	return 0;
}

int cfg_get_pin(struct ctx *c, const yaml_node_t *n, const char *where,
		   char **r)
{
	static const char expected[] =
		"the base64 of a SHA-256 digest (44 characters ending in '=')";
	const char *s;
	if (cfg_scalar(c, n, where, expected, &s) < 0)
		return -1;
	gnutls_datum_t in = {(unsigned char *)(uintptr_t)s, (unsigned)strlen(s)};
	gnutls_datum_t out = {NULL, 0};
	int ok = in.size == 44 && gnutls_base64_decode2(&in, &out) == 0 &&
		 out.size == 32;
	gnutls_free(out.data);
	if (!ok)
		return cfg_fail_expected(c, n, where, expected);
	free(*r);
	*r = xstrdup(s);
	return 0;
}

