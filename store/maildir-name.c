/* SPDX-License-Identifier: MIT */
/* Maildir file names: the unique part, the ":2," info with its flag
 * letters, mbsync's and Dovecot's hints, and fresh unique parts. */
#include "maildir-private.h"

#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static const struct {
	char letter;
	unsigned flag;
} flag_letters[] = {
	{'D', MAILDIR_FLAG_DRAFT},   {'F', MAILDIR_FLAG_FLAGGED},
	{'P', MAILDIR_FLAG_PASSED},  {'R', MAILDIR_FLAG_REPLIED},
	{'S', MAILDIR_FLAG_SEEN},    {'T', MAILDIR_FLAG_TRASHED},
};

char maildir_flag_letter(unsigned flag)
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(flag_letters); i++)
		if (flag_letters[i].flag == flag)
			return flag_letters[i].letter;
	return '\0';
}

unsigned maildir_flag_from_letter(char c)
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(flag_letters); i++)
		if (flag_letters[i].letter == c)
			return flag_letters[i].flag;
	return 0;
}

/* Reads ",<key>=<digits>" from a unique part; 0 when absent, malformed
 * or out of range, since a hint that does not parse is no hint. */
static uint64_t hint_value(const char *unique, char key, uint64_t max)
{
	for (const char *p = strchr(unique, ','); p; p = strchr(p + 1, ',')) {
		if (p[1] != key || p[2] != '=')
			continue;
		const char *d = p + 3;
		uint64_t v = 0;
		bool any = false;
		for (; *d >= '0' && *d <= '9'; d++) {
			unsigned digit = (unsigned)(*d - '0');
			if (v > (max - digit) / 10)
				return 0;
			v = v * 10 + digit;
			any = true;
		}
		if (any && (*d == ',' || *d == '\0'))
			return v;
	}
	return 0;
}

/* Builds the ascending, duplicate-free letter string of a letter set. */
static char *letters_string(const bool set[UCHAR_MAX + 1])
{
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	for (unsigned c = 1; c <= UCHAR_MAX; c++)
		if (set[c])
			buf_addc(&b, (char)c);
	return buf_detach(&b, NULL);
}

int maildir_name_parse(const char *name, struct maildir_entry *e_r,
		       const char **why_r)
{
	memset(e_r, 0, sizeof(*e_r));
	e_r->sub = MAILDIR_CUR;
	if (name[0] == '\0') {
		*why_r = "empty name";
		return -1;
	}
	/* The Maildir spec reserves dot files ("." and ".." included). */
	if (name[0] == '.') {
		*why_r = "dot file";
		return -1;
	}
	if (strchr(name, '/')) {
		*why_r = "'/' in name";
		return -1;
	}
	if (maildir_has_control(name)) {
		*why_r = "control character in name";
		return -1;
	}
	const char *colon = strchr(name, ':');
	size_t ulen = colon ? (size_t)(colon - name) : strlen(name);
	if (ulen == 0) {
		*why_r = "empty unique part";
		return -1;
	}
	e_r->unique = xstrndup(name, ulen);
	e_r->name = xstrdup(name);
	e_r->uid = (uint32_t)hint_value(e_r->unique, 'U', UINT32_MAX);
	e_r->size = hint_value(e_r->unique, 'S', UINT64_MAX);
	if (!colon || colon[1] != '2' || colon[2] != ',')
		return 0;

	bool extra[UCHAR_MAX + 1] = {false};
	bool any_extra = false;
	for (const char *p = colon + 3; *p; p++) {
		unsigned flag = maildir_flag_from_letter(*p);
		if (flag) {
			e_r->flags |= flag;
		} else {
			extra[(unsigned char)*p] = true;
			any_extra = true;
		}
	}
	if (any_extra)
		e_r->extra = letters_string(extra);
	return 0;
}

char *maildir_name_format(const char *unique, unsigned flags, const char *extra)
{
	bool set[UCHAR_MAX + 1] = {false};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(flag_letters); i++)
		if (flags & flag_letters[i].flag)
			set[(unsigned char)flag_letters[i].letter] = true;
	for (const char *p = extra ? extra : ""; *p; p++)
		set[(unsigned char)*p] = true;
	char *letters = letters_string(set);
	char *name = xasprintf("%s:2,%s", unique, letters);
	free(letters);
	return name;
}

char *maildir_unique_new(void)
{
	/* The counter makes names unique within one process even when the
	 * clock does not move; pid, random bits and host cover the rest. */
	static atomic_uint counter;
	unsigned n = atomic_fetch_add(&counter, 1);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t rnd;
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
		rnd = ((uint64_t)ts.tv_nsec << 20) ^ ((uint64_t)getpid() << 40) ^ n;

	struct buf b = BUF_INIT(BUF_UNLIMITED);
	buf_addf(&b, "%lld.M%06ldP%ldQ%uR%016llx.", (long long)ts.tv_sec,
		 ts.tv_nsec / 1000, (long)getpid(), n, (unsigned long long)rnd);
	struct utsname u;
	const char *host = uname(&u) == 0 && u.nodename[0] ? u.nodename : "localhost";
	/* As the Maildir spec asks, '/' and ':' become octal escapes; ','
	 * too, so that a host name never looks like a ",U=" hint. */
	for (const char *p = host; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '/' || c == ':' || c == ',' || c == '\\')
			buf_addf(&b, "\\%03o", c);
		else if (c >= 0x20 && c != 0x7f)
			buf_addc(&b, (char)c);
	}
	return buf_detach(&b, NULL);
}

void maildir_entry_release(struct maildir_entry *e)
{
	free(e->unique);
	free(e->name);
	free(e->extra);
	memset(e, 0, sizeof(*e));
}
