/* SPDX-License-Identifier: MIT */
/*
 * Modified UTF-7 for mailbox names (RFC 3501 section 5.1.3): printable
 * ASCII stands for itself ("&" is "&-"); anything else is UTF-16 in a
 * base64 variant (',' for '/', no padding) between "&" and "-".
 * Both directions are strict, so that a name survives the round trip.
 */
#include "imap.h"

#include <string.h>

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* Decodes one UTF-8 character; returns its length or 0 if invalid. */
static size_t utf8_next(const unsigned char *s, uint32_t *cp_r)
{
	static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
	size_t len;
	uint32_t cp;
	if (s[0] < 0x80)
		return *cp_r = s[0], 1;
	if ((s[0] & 0xe0) == 0xc0)
		len = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cp_r = cp;
	return len;
}

static void utf8_put(struct buf *b, uint32_t cp)
{
	if (cp < 0x80) {
		buf_addc(b, (char)cp);
	} else if (cp < 0x800) {
		buf_addc(b, (char)(0xc0 | cp >> 6));
		buf_addc(b, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		buf_addc(b, (char)(0xe0 | cp >> 12));
		buf_addc(b, (char)(0x80 | (cp >> 6 & 0x3f)));
		buf_addc(b, (char)(0x80 | (cp & 0x3f)));
	} else {
		buf_addc(b, (char)(0xf0 | cp >> 18));
		buf_addc(b, (char)(0x80 | (cp >> 12 & 0x3f)));
		buf_addc(b, (char)(0x80 | (cp >> 6 & 0x3f)));
		buf_addc(b, (char)(0x80 | (cp & 0x3f)));
	}
}

/* Appends base64 of 16-bit units, flushing leftover bits at the end. */
struct b64w {
	struct buf *b;
	uint32_t bits;
	unsigned nbits;
};

static void b64_unit(struct b64w *w, uint32_t unit)
{
	w->bits = w->bits << 16 | unit;
	w->nbits += 16;
	while (w->nbits >= 6) {
		w->nbits -= 6;
		buf_addc(w->b, b64[w->bits >> w->nbits & 0x3f]);
	}
	w->bits &= (1u << w->nbits) - 1;
}

int imap_utf7_encode(const char *utf8, char **mutf7_r, struct error *err)
{
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	const unsigned char *s = (const unsigned char *)utf8;
	*mutf7_r = NULL;
	while (*s) {
		if (*s >= 0x20 && *s <= 0x7e) {
			buf_adds(&b, *s == '&' ? "&-" : (char[]){(char)*s, 0});
			s++;
			continue;
		}
		struct b64w w = {.b = &b};
		buf_addc(&b, '&');
		while (*s && (*s < 0x20 || *s > 0x7e)) {
			uint32_t cp;
			size_t n = utf8_next(s, &cp);
			if (n == 0) {
				buf_release(&b);
				return error_set(err, ERR_FOLDER,
						 "mailbox name \"%s\" is not "
						 "valid UTF-8",
						 utf8);
			}
			if (cp >= 0x10000) {
				cp -= 0x10000;
				b64_unit(&w, 0xd800 | cp >> 10);
				b64_unit(&w, 0xdc00 | (cp & 0x3ff));
			} else {
				b64_unit(&w, cp);
			}
			s += n;
		}
		if (w.nbits)
			buf_addc(&b, b64[w.bits << (6 - w.nbits) & 0x3f]);
		buf_addc(&b, '-');
	}
	*mutf7_r = buf_detach(&b, NULL);
	return 0;
}

/* Decodes the base64 between '&' and '-' (s, len) into b. */
static bool decode_run(struct buf *b, const char *s, size_t len)
{
	uint32_t bits = 0, high = 0;
	unsigned nbits = 0;
	for (size_t i = 0; i < len; i++) {
		const char *p = strchr(b64, s[i]);
		if (!p || !s[i])
			return false;
		bits = bits << 6 | (uint32_t)(p - b64);
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		uint32_t unit = bits >> nbits & 0xffff;
		bits &= (1u << nbits) - 1;
		if (high) {
			if (unit < 0xdc00 || unit > 0xdfff)
				return false;
			utf8_put(b, 0x10000 + ((high - 0xd800) << 10)
					    + (unit - 0xdc00));
			high = 0;
		} else if (unit >= 0xd800 && unit <= 0xdbff) {
			high = unit;
		} else if (unit >= 0xdc00 && unit <= 0xdfff) {
			return false;
		} else if (unit >= 0x20 && unit <= 0x7e) {
			/* Printable ASCII must stand for itself. */
			return false;
		} else if (unit == 0) {
			/* A NUL would cut the name short ("a&AAA-b" read as
			 * "a", another folder's name). */
			return false;
		} else {
			utf8_put(b, unit);
		}
	}
	/* Leftover bits must be padding: fewer than 6 and all zero. */
	return !high && nbits < 6 && bits == 0;
}

int imap_utf7_decode(const char *mutf7, char **utf8_r, struct error *err)
{
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	*utf8_r = NULL;
	for (const char *s = mutf7; *s;) {
		unsigned char ch = (unsigned char)*s;
		if (ch < 0x20 || ch > 0x7e)
			goto bad;
		if (ch != '&') {
			buf_addc(&b, *s++);
			continue;
		}
		const char *end = strchr(s + 1, '-');
		if (!end)
			goto bad;
		if (end == s + 1)
			buf_addc(&b, '&');
		else if (!decode_run(&b, s + 1, (size_t)(end - s - 1)))
			goto bad;
		s = end + 1;
	}
	*utf8_r = buf_detach(&b, NULL);
	return 0;
bad:
	buf_release(&b);
	return error_set(err, ERR_FOLDER,
			 "mailbox name \"%s\" is not valid modified UTF-7",
			 mutf7);
}
