/* SPDX-License-Identifier: MIT */
#include "secret-forms.h"

#include <string.h>

#include "util.h"

static void b64_groups(const unsigned char *in, size_t len, struct buf *out)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i + 3 <= len; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		for (int k = 18; k >= 0; k -= 6)
			buf_addc(out, abc[(v >> k) & 63]);
	}
}

size_t secret_forms(const char *secret, char *forms_r[SECRET_FORMS_MAX])
{
	size_t len = strlen(secret), n = 0;
	forms_r[n++] = xstrdup(secret);
	for (size_t skip = 0; skip < 3 && len >= skip + 3; skip++) {
		struct buf b = BUF_INIT(BUF_UNLIMITED);
		b64_groups((const unsigned char *)secret + skip, len - skip, &b);
		forms_r[n++] = buf_detach(&b, NULL);
	}
	return n;
}
