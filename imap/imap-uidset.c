/* SPDX-License-Identifier: MIT */
#include "imap-uidset.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* One number or '*'; returns the rest of s or NULL. */
static const char *parse_num(const char *s, uint32_t *n_r)
{
	if (*s == '*') {
		*n_r = UINT32_MAX;
		return s + 1;
	}
	uint64_t v = 0;
	const char *p = s;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			return NULL;
	}
	/* nz-number: no empty number, no zero. */
	if (p == s || v == 0)
		return NULL;
	*n_r = (uint32_t)v;
	return p;
}

static int cmp_range(const void *a, const void *b)
{
	const struct imap_uid_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

int imap_uid_set_parse(const char *s, struct imap_uid_set *set_r)
{
	struct imap_uid_set set = {NULL, 0};
	size_t cap = 0;
	const char *p = s;
	for (;;) {
		uint32_t lo, hi;
		p = parse_num(p, &lo);
		if (!p)
			goto bad;
		hi = lo;
		if (*p == ':') {
			p = parse_num(p + 1, &hi);
			if (!p)
				goto bad;
		}
		set.v = xgrow(set.v, sizeof(*set.v), set.n + 1, &cap);
		set.v[set.n++] = (struct imap_uid_range){lo < hi ? lo : hi,
							 lo < hi ? hi : lo};
		if (*p == '\0')
			break;
		if (*p++ != ',')
			goto bad;
	}
	*set_r = set;
	return 0;
bad:
	free(set.v);
	set_r->v = NULL;
	set_r->n = 0;
	return -1;
}

static bool in_order(const struct imap_uid_set *set)
{
	for (size_t i = 1; i < set->n; i++)
		if (set->v[i].lo < set->v[i - 1].lo)
			return false;
	return true;
}

bool imap_uid_set_contains(const struct imap_uid_set *set, uint32_t uid)
{
	if (!in_order(set)) {
		/* Sorting changes nothing a caller can see but the order
		 * imap_uid_set_nth walks, so sort a copy. */
		struct imap_uid_set s = {xcalloc(set->n, sizeof(*s.v)), set->n};
		memcpy(s.v, set->v, set->n * sizeof(*s.v));
		qsort(s.v, s.n, sizeof(*s.v), cmp_range);
		bool r = imap_uid_set_contains(&s, uid);
		free(s.v);
		return r;
	}
	/* The last range starting at or before uid, and any before it that
	 * may reach further (ranges can overlap). */
	size_t lo = 0, hi = set->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (set->v[mid].lo <= uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i-- > 0;)
		if (set->v[i].hi >= uid)
			return true;
	return false;
}

uint64_t imap_uid_set_count(const struct imap_uid_set *set)
{
	uint64_t n = 0;
	for (size_t i = 0; i < set->n; i++)
		n += (uint64_t)set->v[i].hi - set->v[i].lo + 1;
	return n;
}

uint32_t imap_uid_set_nth(const struct imap_uid_set *set, uint64_t n)
{
	for (size_t i = 0; i < set->n; i++) {
		uint64_t len = (uint64_t)set->v[i].hi - set->v[i].lo + 1;
		if (n < len)
			return set->v[i].lo + (uint32_t)n;
		n -= len;
	}
	return 0;
}

void imap_uid_set_free(struct imap_uid_set *set)
{
	free(set->v);
	set->v = NULL;
	set->n = 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

char *imap_uid_set_format(const uint32_t *uids, size_t n)
{
	uint32_t *v = xcalloc(n ? n : 1, sizeof(*v));
	memcpy(v, uids, n * sizeof(*v));
	qsort(v, n, sizeof(*v), cmp_u32);
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && (v[j + 1] == v[j] || v[j + 1] == v[j] + 1))
			j++;
		if (v[j] == v[i])
			buf_addf(&b, "%s%u", b.len ? "," : "", v[i]);
		else
			buf_addf(&b, "%s%u:%u", b.len ? "," : "", v[i], v[j]);
		i = j + 1;
	}
	free(v);
	return buf_detach(&b, NULL);
}
