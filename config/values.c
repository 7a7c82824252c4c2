/* SPDX-License-Identifier: MIT */
/* Scalar value syntax: sizes, durations, percentages, names. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Parses the leading decimal digits of s into *r; returns the rest, or
 * NULL when there are no digits or the number overflows. */
static const char *parse_digits(const char *s, uint64_t *r)
{
	uint64_t v = 0;
	const char *p = s;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return NULL;
		v = v * 10 + d;
	}
	if (p == s)
		return NULL;
	*r = v;
	return p;
}

static int scale(uint64_t v, uint64_t unit, uint64_t *r)
{
	if (unit && v > UINT64_MAX / unit)
		return -1;
	*r = v * unit;
	return 0;
}

int config_parse_size(const char *s, uint64_t *r)
{
	uint64_t v;
	const char *p = parse_digits(s, &v);
	if (!p)
		return -1;
	uint64_t unit = 1;
	switch (toupper((unsigned char)*p)) {
	case 'K': unit = 1ULL << 10; p++; break;
	case 'M': unit = 1ULL << 20; p++; break;
	case 'G': unit = 1ULL << 30; p++; break;
	case 'T': unit = 1ULL << 40; p++; break;
	default: break;
	}
	/* "25M", "25MB", "25MiB" and a bare byte count "100" or "100B". */
	if (unit > 1 && (strcmp(p, "iB") == 0 || strcmp(p, "ib") == 0))
		p += 2;
	else if (*p == 'B' || *p == 'b')
		p++;
	if (*p != '\0')
		return -1;
	return scale(v, unit, r);
}

int config_parse_duration(const char *s, uint64_t *r)
{
	uint64_t v;
	const char *p = parse_digits(s, &v);
	if (!p || p[0] == '\0' || p[1] != '\0')
		return -1;
	uint64_t unit;
	switch (*p) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	case 'w': unit = 7 * 86400; break;
	default: return -1;
	}
	return scale(v, unit, r);
}

int config_parse_percent(const char *s, unsigned *r)
{
	uint64_t v;
	const char *p = parse_digits(s, &v);
	if (!p || strcmp(p, "%") != 0 || v > 100)
		return -1;
	*r = (unsigned)v;
	return 0;
}

bool config_account_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 64 || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isalnum(c) && c != '.' && c != '_' && c != '-')
			return false;
	}
	return true;
}

const char *config_tls_name(enum config_tls tls)
{
	switch (tls) {
	case CONFIG_TLS_IMPLICIT: return "implicit";
	case CONFIG_TLS_STARTTLS: return "starttls";
	case CONFIG_TLS_NONE: return "none";
	}
	return "?";
}

const char *config_flow_name(enum config_flow flow)
{
	switch (flow) {
	case CONFIG_FLOW_BOTH: return "both";
	case CONFIG_FLOW_PULL: return "pull";
	case CONFIG_FLOW_PUSH: return "push";
	case CONFIG_FLOW_NONE: return "none";
	}
	return "?";
}

const char *config_auth_name(enum config_auth auth)
{
	switch (auth) {
	case CONFIG_AUTH_PLAIN: return "plain";
	case CONFIG_AUTH_LOGIN: return "login";
	case CONFIG_AUTH_OAUTHBEARER: return "oauthbearer";
	case CONFIG_AUTH_XOAUTH2: return "xoauth2";
	case CONFIG_AUTH_COUNT_: break;
	}
	return "?";
}

const char *config_layout_name(enum config_layout layout)
{
	switch (layout) {
	case CONFIG_LAYOUT_VERBATIM: return "verbatim";
	case CONFIG_LAYOUT_MAILDIRPP: return "maildir++";
	}
	return "?";
}
