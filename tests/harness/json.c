/* SPDX-License-Identifier: MIT */
/*
 * doveadm's JSON output (-f json): an array of flat objects whose values
 * are all strings.  That is all this parser accepts; anything else is an
 * error naming the byte offset, so a format change cannot slip through.
 */
#include "harness-private.h"

#include <stdlib.h>
#include <string.h>

struct json {
	const char *s;
	size_t pos;
	struct error *err;
};

static void skip_ws(struct json *j)
{
	while (j->s[j->pos] && strchr(" \t\r\n", j->s[j->pos]))
		j->pos++;
}

static int fail(struct json *j, const char *what)
{
	return error_set(j->err, ERR_ACCOUNT,
			 "doveadm JSON: expected %s at offset %zu", what,
			 j->pos);
}

static bool eat(struct json *j, char c)
{
	skip_ws(j);
	if (j->s[j->pos] != c)
		return false;
	j->pos++;
	return true;
}

static int hex4(const char *p, unsigned *v_r)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return -1;
		v = v * 16 + d;
	}
	*v_r = v;
	return 0;
}

static void add_utf8(struct buf *b, unsigned cp)
{
	if (cp < 0x80) {
		buf_addc(b, (char)cp);
	} else if (cp < 0x800) {
		buf_addc(b, (char)(0xc0 | (cp >> 6)));
		buf_addc(b, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		buf_addc(b, (char)(0xe0 | (cp >> 12)));
		buf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		buf_addc(b, (char)(0x80 | (cp & 0x3f)));
	} else {
		buf_addc(b, (char)(0xf0 | (cp >> 18)));
		buf_addc(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
		buf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		buf_addc(b, (char)(0x80 | (cp & 0x3f)));
	}
}

/* \uXXXX, with a following low surrogate when this is a high one. */
static int unicode_escape(struct json *j, struct buf *b)
{
	unsigned cp, lo;
	if (hex4(j->s + j->pos, &cp) < 0)
		return fail(j, "four hex digits");
	j->pos += 4;
	if (cp >= 0xd800 && cp < 0xdc00) {
		if (strncmp(j->s + j->pos, "\\u", 2) != 0 ||
		    hex4(j->s + j->pos + 2, &lo) < 0 || lo < 0xdc00 ||
		    lo >= 0xe000)
			return fail(j, "a low surrogate");
		j->pos += 6;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	add_utf8(b, cp);
	return 0;
}

static int string(struct json *j, char **out_r)
{
	if (!eat(j, '"'))
		return fail(j, "a string");
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	for (;;) {
		char c = j->s[j->pos++];
		if (c == '\0') {
			buf_release(&b);
			j->pos--;
			return fail(j, "the end of a string");
		}
		if (c == '"')
			break;
		if (c != '\\') {
			buf_addc(&b, c);
			continue;
		}
		c = j->s[j->pos++];
		const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
		const char *hit = c ? strchr(from, c) : NULL;
		if (hit) {
			buf_addc(&b, to[hit - from]);
		} else if (c == 'u') {
			if (unicode_escape(j, &b) < 0) {
				buf_release(&b);
				return -ERR_ACCOUNT;
			}
		} else {
			buf_release(&b);
			j->pos--;
			return fail(j, "an escape character");
		}
	}
	*out_r = buf_detach(&b, NULL);
	return 0;
}

static int object(struct json *j, struct harness_record *rec)
{
	size_t cap = 0;
	if (!eat(j, '{'))
		return fail(j, "'{'");
	if (eat(j, '}'))
		return 0;
	do {
		char *key, *value;
		if (string(j, &key) < 0)
			return -ERR_ACCOUNT;
		if (!eat(j, ':')) {
			free(key);
			return fail(j, "':'");
		}
		if (string(j, &value) < 0) {
			free(key);
			return -ERR_ACCOUNT;
		}
		size_t vcap = cap;
		rec->keys = xgrow(rec->keys, sizeof(char *), rec->count + 1,
				  &cap);
		rec->values = xgrow(rec->values, sizeof(char *),
				    rec->count + 1, &vcap);
		rec->keys[rec->count] = key;
		rec->values[rec->count++] = value;
	} while (eat(j, ','));
	return eat(j, '}') ? 0 : fail(j, "',' or '}'");
}

int harness_json_records(const char *json, struct harness_record **recs_r,
			 size_t *count_r, struct error *err)
{
	struct json j = {json, 0, err};
	struct harness_record *recs = NULL;
	size_t n = 0, cap = 0;
	int r = 0;
	*recs_r = NULL;
	*count_r = 0;
	if (!eat(&j, '['))
		return fail(&j, "'['");
	if (!eat(&j, ']')) {
		do {
			recs = xgrow(recs, sizeof(*recs), n + 1, &cap);
			memset(&recs[n], 0, sizeof(recs[n]));
			r = object(&j, &recs[n++]);
		} while (r == 0 && eat(&j, ','));
		if (r == 0 && !eat(&j, ']'))
			r = fail(&j, "',' or ']'");
	}
	skip_ws(&j);
	if (r == 0 && j.s[j.pos] != '\0')
		r = fail(&j, "the end of the output");
	if (r < 0) {
		harness_records_free(recs, n);
		return r;
	}
	*recs_r = recs;
	*count_r = n;
	return 0;
}

const char *harness_record_get(const struct harness_record *rec,
			       const char *key)
{
	for (size_t i = 0; i < rec->count; i++)
		if (strcmp(rec->keys[i], key) == 0)
			return rec->values[i];
	return NULL;
}

void harness_record_release(struct harness_record *rec)
{
	for (size_t i = 0; i < rec->count; i++) {
		free(rec->keys[i]);
		free(rec->values[i]);
	}
	free(rec->keys);
	free(rec->values);
	memset(rec, 0, sizeof(*rec));
}

void harness_records_free(struct harness_record *recs, size_t count)
{
	for (size_t i = 0; i < count; i++)
		harness_record_release(&recs[i]);
	free(recs);
}
