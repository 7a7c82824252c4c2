/* SPDX-License-Identifier: MIT */
/* IMAP flags and the six a Maildir name carries (SPEC.md section 3). */
#include "sync-private.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	unsigned bit;
} system_flags[] = {
	{"\\Draft", PLAN_DRAFT},
	{"\\Flagged", PLAN_FLAGGED},
	{"$Forwarded", PLAN_FORWARDED},
	{"\\Answered", PLAN_ANSWERED},
	{"\\Seen", PLAN_SEEN},
	{"\\Deleted", PLAN_DELETED},
};

unsigned sync_flags_from_imap(const struct imap_strings *flags,
			      char **keywords_r)
{
	unsigned bits = 0;
	struct buf kw = BUF_INIT(BUF_UNLIMITED);
	for (size_t i = 0; i < flags->n; i++) {
		const char *f = flags->v[i];
		size_t k = 0;
		/* Flag names are case-insensitive (RFC 3501 2.3.2). */
		while (k < UTIL_ARRAY_LEN(system_flags) &&
		       strcasecmp(system_flags[k].name, f) != 0)
			k++;
		if (k < UTIL_ARRAY_LEN(system_flags))
			bits |= system_flags[k].bit;
		else if (strcasecmp(f, "\\Recent") != 0)
			buf_addf(&kw, "%s%s", kw.len ? " " : "", f);
	}
	if (keywords_r)
		*keywords_r = kw.len ? buf_detach(&kw, NULL) : NULL;
	buf_release(&kw);
	return bits;
}

char *sync_flags_to_imap(unsigned bits, const char *keywords)
{
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	buf_addc(&b, '(');
	for (size_t k = 0; k < UTIL_ARRAY_LEN(system_flags); k++)
		if (bits & system_flags[k].bit)
			buf_addf(&b, "%s%s", b.len > 1 ? " " : "", system_flags[k].name);
	if (keywords && *keywords)
		buf_addf(&b, "%s%s", b.len > 1 ? " " : "", keywords);
	buf_addc(&b, ')');
	return buf_detach(&b, NULL);
}
