/* SPDX-License-Identifier: MIT */
/*
 * The Message-ID of a message, from its header: what moves, UIDVALIDITY
 * changes and resumed uploads match messages by (with the size), so it is
 * recorded in the state for every message both sides have.
 */
#include "sync-private.h"

#include <string.h>
#include <strings.h>
#include <unistd.h>

/* The longest Message-ID taken seriously; longer ones are not used for
 * matching (a guess is worse than a second download). */
#define MSGID_MAX 998

char *sync_msgid_from_header(const char *data, size_t len)
{
	const char *end = data + len;
	for (const char *line = data; line < end;) {
		const char *eol = memchr(line, '\n', (size_t)(end - line));
		size_t n = eol ? (size_t)(eol - line) : (size_t)(end - line);
		if (n == 0 || (n == 1 && line[0] == '\r'))
			break; /* the end of the header */
		if (n > 11 && !strncasecmp(line, "Message-ID:", 11)) {
			/* The value, unfolded: it may continue on the next
			 * line when that starts with white space. */
			const char *v = line + 11, *vend = line + n;
			while (v < vend && (*v == ' ' || *v == '\t'))
				v++;
			if (v == vend && eol && eol + 1 < end &&
			    (eol[1] == ' ' || eol[1] == '\t')) {
				v = eol + 1;
				vend = memchr(v, '\n', (size_t)(end - v));
				if (!vend)
					vend = end;
				while (v < vend && (*v == ' ' || *v == '\t'))
					v++;
			}
			size_t vn = 0;
			while (v + vn < vend && v[vn] != ' ' && v[vn] != '\t' &&
			       v[vn] != '\r' && v[vn] != '\n')
				vn++;
			if (vn == 0 || vn > MSGID_MAX)
				return NULL;
			return xstrndup(v, vn);
		}
		line = eol ? eol + 1 : end;
	}
	return NULL;
}

char *sync_msgid_from_fd(int fd)
{
	char head[65536];
	ssize_t n = pread(fd, head, sizeof(head), 0);
	return n > 0 ? sync_msgid_from_header(head, (size_t)n) : NULL;
}
