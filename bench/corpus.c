/* SPDX-License-Identifier: MIT */
/*
 * The benchmark's mail: deterministic, realistic enough that sizes, MIME
 * structure and flags look like a real mailbox, and fast to make (the
 * full benchmark writes about 3 GB).
 *
 * Each message has its own generator seeded from (data set seed, index),
 * so a message is the same whatever else is generated and in whatever
 * order.  The mix, per message:
 *   75% text/plain, 2-20 KB (log-uniform: most are small), UTF-8, 8bit;
 *   20% multipart/alternative, the same text plus its HTML rendering;
 *    5% multipart/mixed with a base64 attachment of 100 KB-2 MB as
 *       encoded (log-uniform), and one in 25 of those 2-8 MB;
 * dates uniform over 2014-01-01..2026-10-31, flags by age (old mail is
 * read, some answered or flagged; recent mail half unread).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define CORPUS_DATE_FIRST 1388534400 /* 2014-01-01 00:00:00 UTC */
#define CORPUS_DATE_LAST 1793491200  /* 2026-11-01 00:00:00 UTC */
#define CORPUS_RECENT (60 * 86400)

/* splitmix64: tiny, fast, and good enough for mail that only has to look
 * plausible and be reproducible. */
struct rng {
	uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static uint64_t rng_below(struct rng *r, uint64_t n)
{
	return n ? rng_next(r) % n : 0;
}

static double rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) / 9007199254740992.0;
}

/* Log-uniform in [lo, hi]: many small values, a long tail. */
static uint64_t rng_log(struct rng *r, double lo, double hi)
{
	return (uint64_t)exp(log(lo) + rng_unit(r) * (log(hi) - log(lo)));
}

static const char *pick(struct rng *r, const char *const *v, size_t n)
{
	return v[rng_below(r, n)];
}
#define PICK(r, v) pick((r), (v), UTIL_ARRAY_LEN(v))

static const char *const first_names[] = {
	"Anna", "Ben", "Chloé", "David", "Elif", "Farid", "Greta", "Hiro",
	"Ines", "Jonas", "Kai", "Lena", "Mateo", "Nora", "Oskar", "Priya",
	"Quentin", "Rosa", "Sven", "Tomás", "Uma", "Viktor", "Wen", "Yusuf",
};
static const char *const last_names[] = {
	"Andersen", "Brown", "Castillo", "Dubois", "Eriksson", "Fischer",
	"García", "Huber", "Ivanova", "Jensen", "Kowalski", "Lindqvist",
	"Müller", "Nakamura", "O'Brien", "Petrov", "Rossi", "Schmidt",
	"Tanaka", "Vogel", "Weber", "Zhang",
};
static const char *const domains[] = {
	"example.org", "lists.example.net", "mail.example.com",
	"university.example.edu", "corp.example", "bank.example",
	"shop.example", "travel.example.org",
};
static const char *const words[] = {
	"the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as",
	"was", "with", "be", "by", "on", "not", "this", "are", "at", "from",
	"we", "have", "release", "patch", "meeting", "schedule", "report",
	"server", "build", "review", "budget", "invoice", "draft", "change",
	"question", "answer", "thanks", "please", "tomorrow", "deadline",
	"project", "version", "config", "folder", "message", "sync", "update",
	"test", "result", "branch", "merge", "issue", "ticket", "customer",
	"order", "shipping", "travel", "hotel", "flight", "agenda", "minutes",
	"proposal", "contract", "signature", "attached", "below", "above",
	"could", "would", "should", "maybe", "certainly", "quickly", "slowly",
	"über", "déjà", "naïve", "café", "résumé", "straße", "año",
};
static const char *const subjects[] = {
	"Re: weekly sync", "Invoice", "Your order has shipped", "Meeting notes",
	"[PATCH v3] fix the build", "Re: [list] release plan", "Fwd: contract",
	"Quarterly report", "Travel itinerary", "Lunch?", "Re: Re: question",
	"Build failed on main", "Welcome aboard", "Password reset", "Photos",
	"Agenda for Thursday", "Budget draft", "Re: review comments",
};
static const char *const attach_types[] = {
	"application/pdf", "image/jpeg", "image/png",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	"application/zip",
};

static void add_date(struct buf *out, time_t t)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	/* RFC 5322 wants English names whatever the locale. */
	static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	buf_addf(out, "%s, %d %s %d %02d:%02d:%02d +0000", wd[tm.tm_wday], tm.tm_mday,
		 mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* About n bytes of paragraphs, lines wrapped at 72 columns; quoted when
 * quote is set. */
static void add_text(struct rng *r, struct buf *out, size_t n, bool quote)
{
	size_t start = out->len, col = 0;
	bool sentence_start = true;
	while (out->len - start < n) {
		const char *w = PICK(r, words);
		size_t wl = strlen(w);
		if (col && col + wl + 1 > 72) {
			buf_addc(out, '\n');
			col = 0;
			if (rng_below(r, 8) == 0)
				buf_addc(out, '\n'); /* paragraph */
		}
		if (!col && quote) {
			buf_adds(out, "> ");
			col = 2;
		} else if (col) {
			buf_addc(out, ' ');
			col++;
		}
		if (sentence_start && w[0] >= 'a' && w[0] <= 'z') {
			buf_addc(out, (char)(w[0] - 'a' + 'A'));
			buf_adds(out, w + 1);
		} else {
			buf_adds(out, w);
		}
		col += wl;
		sentence_start = rng_below(r, 12) == 0;
		if (sentence_start) {
			buf_addc(out, '.');
			col++;
		}
	}
	buf_adds(out, ".\n");
}

/* The text again as minimal HTML, one <p> per blank-line paragraph. */
static void add_html(struct buf *out, const char *text, size_t len)
{
	buf_adds(out, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>"
		      "<body style=\"font-family: sans-serif\">\n<p>");
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\n' && i + 1 < len && text[i + 1] == '\n') {
			buf_adds(out, "</p>\n<p>");
			i++;
		} else if (text[i] == '<') {
			buf_adds(out, "&lt;");
		} else if (text[i] == '>') {
			buf_adds(out, "&gt;");
		} else if (text[i] == '&') {
			buf_adds(out, "&amp;");
		} else {
			buf_addc(out, text[i]);
		}
	}
	buf_adds(out, "</p>\n</body></html>\n");
}

/* n random bytes in base64, 76 columns. */
static void add_base64(struct rng *r, struct buf *out, uint64_t n)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char line[78];
	size_t col = 0;
	for (uint64_t done = 0; done < n; done += 3) {
		/* Whole groups only: n is rounded up to a multiple of 3. */
		uint64_t v = rng_next(r);
		line[col++] = b64[v & 63];
		line[col++] = b64[(v >> 6) & 63];
		line[col++] = b64[(v >> 12) & 63];
		line[col++] = b64[(v >> 18) & 63];
		if (col == 76) {
			line[col++] = '\n';
			buf_add(out, line, col);
			col = 0;
		}
	}
	if (col) {
		line[col++] = '\n';
		buf_add(out, line, col);
	}
}

static void add_headers(struct rng *r, struct buf *out, uint64_t seed,
			uint64_t index, time_t date)
{
	const char *fn = PICK(r, first_names), *ln = PICK(r, last_names);
	const char *dom = PICK(r, domains);
	buf_addf(out, "Return-Path: <%" PRIu64 "@bounces.%s>\n", rng_next(r) % 100000, dom);
	buf_addf(out, "Received: from mx%u.%s (mx%u.%s [192.0.2.%u])\n"
		      "\tby mail.example.com (Postfix) with ESMTPS id %016" PRIx64 "\n"
		      "\tfor <alice@example.com>; ",
		 (unsigned)rng_below(r, 9), dom, (unsigned)rng_below(r, 9), dom,
		 (unsigned)rng_below(r, 250) + 1, rng_next(r));
	add_date(out, date);
	buf_addf(out, "\nFrom: %s %s <%c.%s@%s>\n", fn, ln, fn[0] | 0x20, "sender", dom);
	buf_adds(out, "To: Alice Example <alice@example.com>\n");
	if (rng_below(r, 4) == 0)
		buf_addf(out, "Cc: %s <%s@%s>\n", PICK(r, first_names), "team", PICK(r, domains));
	buf_addf(out, "Subject: %s #%" PRIu64 "\nDate: ", PICK(r, subjects), index);
	add_date(out, date);
	buf_addf(out, "\nMessage-ID: <bench.%" PRIu64 ".%" PRIx64 "@corpus.tidemail.example>\n",
		 index, seed);
	if (index > 0 && rng_below(r, 3) == 0)
		buf_addf(out, "In-Reply-To: <bench.%" PRIu64 ".%" PRIx64
			      "@corpus.tidemail.example>\n",
			 rng_below(r, index), seed);
	buf_adds(out, "MIME-Version: 1.0\n");
}

static const char *flags_for(struct rng *r, time_t date)
{
	uint64_t p = rng_below(r, 100);
	if (date > CORPUS_DATE_LAST - CORPUS_RECENT)
		return p < 50 ? "" : p < 55 ? "FS" : "S";
	return p < 3 ? "" : p < 5 ? "FS" : p < 12 ? "RS" : "S";
}

void corpus_message(uint64_t seed, uint64_t index, enum corpus_mix mix,
		    uint64_t big_bytes, struct buf *out, time_t *date_r,
		    const char **flags_r)
{
	struct rng r = {seed ^ (index * 0xd1342543de82ef95ULL + 0x2545f4914f6cdd1dULL)};
	/* A few draws to spread nearby seeds apart. */
	rng_next(&r);
	rng_next(&r);
	time_t date = CORPUS_DATE_FIRST +
		      (time_t)rng_below(&r, CORPUS_DATE_LAST - CORPUS_DATE_FIRST);
	*date_r = date;
	*flags_r = flags_for(&r, date);
	add_headers(&r, out, seed, index, date);

	uint64_t kind = rng_below(&r, 100);
	/* Sizes are as the attachment appears in the message, base64 and
	 * all; attach is the raw size (base64: 4 bytes per 3, plus a line
	 * end per 76). */
	uint64_t encoded = 0;
	if (big_bytes)
		encoded = big_bytes;
	else if (mix == CORPUS_REALISTIC && kind >= 95)
		encoded = rng_below(&r, 25) == 0 ? rng_log(&r, 2e6, 8e6) : rng_log(&r, 1e5, 2e6);
	uint64_t attach = encoded / 77 * 57;
	size_t text_len = (size_t)rng_log(&r, 2000, 20000);
	if (attach)
		text_len = 300 + (size_t)rng_below(&r, 1500);
	uint64_t boundary = rng_next(&r);

	if (attach) {
		buf_addf(out, "Content-Type: multipart/mixed; boundary=\"=_%016" PRIx64 "\"\n\n"
			      "This is a multi-part message in MIME format.\n\n"
			      "--=_%016" PRIx64 "\n"
			      "Content-Type: text/plain; charset=utf-8\n"
			      "Content-Transfer-Encoding: 8bit\n\n",
			 boundary, boundary);
		add_text(&r, out, text_len, false);
		const char *type = PICK(&r, attach_types);
		buf_addf(out, "\n--=_%016" PRIx64 "\nContent-Type: %s\n"
			      "Content-Transfer-Encoding: base64\n"
			      "Content-Disposition: attachment; filename=\"file-%" PRIu64 "\"\n\n",
			 boundary, type, index);
		add_base64(&r, out, attach);
		buf_addf(out, "\n--=_%016" PRIx64 "--\n", boundary);
	} else if (kind >= 75) {
		buf_addf(out, "Content-Type: multipart/alternative; boundary=\"=_%016" PRIx64 "\"\n\n"
			      "--=_%016" PRIx64 "\n"
			      "Content-Type: text/plain; charset=utf-8\n"
			      "Content-Transfer-Encoding: 8bit\n\n",
			 boundary, boundary);
		/* The text is generated once and rendered twice; the HTML
		 * takes about as much again, so each half gets half. */
		size_t at = out->len;
		add_text(&r, out, text_len / 2, false);
		char *text = xstrndup(out->data + at, out->len - at);
		buf_addf(out, "\n--=_%016" PRIx64 "\nContent-Type: text/html; charset=utf-8\n"
			      "Content-Transfer-Encoding: 8bit\n\n",
			 boundary);
		add_html(out, text, strlen(text));
		free(text);
		buf_addf(out, "\n--=_%016" PRIx64 "--\n", boundary);
	} else {
		buf_adds(out, "Content-Type: text/plain; charset=utf-8\n"
			      "Content-Transfer-Encoding: 8bit\n\n");
		if (rng_below(&r, 3) == 0) {
			add_text(&r, out, text_len / 3, false);
			buf_adds(out, "\nOn an earlier day, someone wrote:\n");
			add_text(&r, out, text_len - text_len / 3, true);
		} else {
			add_text(&r, out, text_len, false);
		}
		buf_adds(out, "\n-- \nSent from a benchmark\n");
	}
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int corpus_write(const char *dir, uint64_t seed, uint64_t first_index,
		 unsigned count, enum corpus_mix mix, uint64_t big_bytes,
		 bool new_dir, uid_t uid, gid_t gid, struct corpus_stats *st,
		 struct error *err)
{
	struct buf msg = BUF_INIT(BUF_UNLIMITED);
	int ret = 0;
	for (unsigned i = 0; i < count && ret == 0; i++) {
		uint64_t index = first_index + i;
		time_t date;
		const char *flags;
		buf_reset(&msg);
		corpus_message(seed, index, mix, big_bytes, &msg, &date, &flags);
		size_t lines = 0;
		for (const char *p = msg.data; (p = memchr(p, '\n', msg.len - (size_t)(p - msg.data)));
		     p++)
			lines++;
		/* Dovecot's own name format: S= is the file size, W= the size
		 * with CRLF line ends (RFC822.SIZE), so it need not read the
		 * file to answer either. */
		char *path = new_dir
			? xasprintf("%s/new/%lld.M%" PRIu64 "P%" PRIx64 ".corpus,S=%zu,W=%zu",
				    dir, (long long)date, index, seed, msg.len, msg.len + lines)
			: xasprintf("%s/cur/%lld.M%" PRIu64 "P%" PRIx64 ".corpus,S=%zu,W=%zu:2,%s",
				    dir, (long long)date, index, seed, msg.len, msg.len + lines,
				    flags);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		struct timespec times[2] = {{date, 0}, {date, 0}};
		if (fd < 0 || write_all(fd, msg.data, msg.len) < 0 || fchown(fd, uid, gid) < 0 ||
		    futimens(fd, times) < 0)
			ret = error_errno(err, ERR_ACCOUNT, errno, "corpus: %s", path);
		if (fd >= 0 && close(fd) < 0 && ret == 0)
			ret = error_errno(err, ERR_ACCOUNT, errno, "corpus: close %s", path);
		free(path);
		st->messages++;
		st->bytes += msg.len;
		st->attachments += strstr(msg.data, "Content-Transfer-Encoding: base64") != NULL;
	}
	buf_release(&msg);
	return ret < 0 ? -1 : 0;
}
