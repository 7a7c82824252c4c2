/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the IMAP response parser (imap/imap-parser.h).
 *
 * The input is what a server sends.  It is parsed several ways: without a
 * body sink, with one, and with one that is switched on and off between
 * responses; each way once fed whole and once fed in pieces whose sizes
 * come from a generator seeded by a hash of the input (so a crash replays
 * exactly from the input alone, and the corpus files stay plain IMAP).
 *
 * Beyond what the sanitizers catch, it checks what the parser promises:
 * how the input is cut into pieces never changes the result (the same
 * responses, the same body bytes at the sink, the same error); the sink
 * sees each body's bytes in order and exactly once; atoms and quoted
 * strings hold no NUL; an error is repeated by every later call.  A
 * broken promise aborts, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap-dump.h"
#include "imap-parser.h"
#include "imap-uidset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parses that ran too long to be a bug in the parser are cut here: the
 * transcript is for comparing, not for reading. */
#define TRANSCRIPT_MAX (256 * 1024)

static void die(const char *what, const struct buf *a, const struct buf *b)
	__attribute__((noreturn));
static void die(const char *what, const struct buf *a, const struct buf *b)
{
	fprintf(stderr, "fuzz-imap-parser: %s\n", what);
	if (a)
		fprintf(stderr, "---- fed whole:\n%s\n", a->data);
	if (b)
		fprintf(stderr, "---- fed in pieces:\n%s\n", b->data);
	abort();
}

/* ---- piece sizes from the input --------------------------------------- */

static uint64_t hash_input(const uint8_t *data, size_t size)
{
	uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */
	for (size_t i = 0; i < size; i++) {
		h ^= data[i];
		h *= 0x100000001b3u;
	}
	return h ? h : 1;
}

static uint64_t next_rand(uint64_t *s)
{
	/* xorshift64: any fixed sequence will do, it only has to vary. */
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Mostly tiny pieces (where the "need more" paths are), sometimes big. */
static size_t piece_size(uint64_t *s)
{
	static const size_t spans[] = {1, 2, 3, 7, 16, 64, 512};
	uint64_t r = next_rand(s);
	return 1 + (size_t)((r >> 8) % spans[r % UTIL_ARRAY_LEN(spans)]);
}

/* ---- the sink ------------------------------------------------------------ */

struct sink_state {
	struct buf *out;
	bool in_body;      /* a body was started and not finished */
	uint64_t size, done;
	uint32_t seq;
	char *section;
};

/*
 * Refuses bodies whose size is 3 mod 7 (a decision made at offset 0, so
 * it does not depend on how the input was cut), to cover the parser's
 * handling of a failing sink.
 */
static int sink(void *ctx, const struct imap_body_chunk *c, struct error *err)
{
	struct sink_state *s = ctx;
	if (!c->section || (c->len && !c->data))
		die("sink: chunk without section or data", NULL, NULL);
	if (c->len == 0 && c->size != 0)
		die("sink: empty chunk of a non-empty body", NULL, NULL);
	if (c->offset + c->len > c->size || c->offset + c->len < c->offset)
		die("sink: chunk past the end of its body", NULL, NULL);
	if (c->offset == 0) {
		if (s->in_body)
			die("sink: a body started before the last one ended",
			    NULL, NULL);
		s->in_body = true;
		s->size = c->size;
		s->done = 0;
		s->seq = c->seq;
		free(s->section);
		s->section = xstrdup(c->section);
		buf_addf(s->out, "<body %u %s %llu:", c->seq, c->section,
			 (unsigned long long)c->size);
		if (c->size % 7 == 3)
			return error_set(err, ERR_MESSAGE, "sink refuses %llu",
					 (unsigned long long)c->size);
	} else if (!s->in_body || c->offset != s->done || c->size != s->size
		   || c->seq != s->seq || strcmp(c->section, s->section) != 0) {
		die("sink: chunk out of order", NULL, NULL);
	}
	if (s->out->len < TRANSCRIPT_MAX)
		buf_add(s->out, c->data, c->len);
	s->done += c->len;
	if (s->done == s->size) {
		buf_adds(s->out, ">");
		s->in_body = false;
	}
	return 0;
}

/* ---- responses as text -------------------------------------------------- */

static void check_args(const struct imap_arg *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct imap_arg *a = &v[i];
		if ((a->type == IMAP_ARG_ATOM || a->type == IMAP_ARG_STRING)
		    && strlen(a->str) != a->len)
			die("an atom or quoted string holds a NUL", NULL,
			    NULL);
		if (a->type == IMAP_ARG_LITERAL && a->str[a->len] != '\0')
			die("a literal is not NUL-terminated", NULL, NULL);
		if (a->type == IMAP_ARG_LIST && a->len && !a->list)
			die("a list without items", NULL, NULL);
		if (a->type == IMAP_ARG_LIST)
			check_args(a->list, a->len);
	}
}

/* ---- UID sets the responses carry -------------------------------------- */

/* Every UID of a set that names at most max of them, or NULL. */
static uint32_t *expand(const struct imap_uid_set *set, uint64_t max,
			size_t *n_r)
{
	uint64_t count = imap_uid_set_count(set);
	if (count == 0 || count > max)
		return NULL;
	uint32_t *v = xcalloc((size_t)count, sizeof(*v));
	for (uint64_t i = 0; i < count; i++) {
		v[i] = imap_uid_set_nth(set, i);
		if (v[i] == 0 || !imap_uid_set_contains(set, v[i]))
			die("a UID set does not hold its own n-th UID", NULL,
			    NULL);
	}
	if (imap_uid_set_nth(set, count) != 0)
		die("a UID set has a UID past its count", NULL, NULL);
	*n_r = (size_t)count;
	return v;
}

/* Parsing, membership and formatting must agree: the set written back
 * from its UIDs names exactly the same UIDs. */
static void check_uid_set(const char *s)
{
	struct imap_uid_set set, back;
	if (!s || imap_uid_set_parse(s, &set) < 0)
		return;
	for (size_t i = 0; i < set.n; i++)
		if (set.v[i].lo > set.v[i].hi || set.v[i].lo == 0
		    || !imap_uid_set_contains(&set, set.v[i].lo)
		    || !imap_uid_set_contains(&set, set.v[i].hi))
			die("a UID set range is wrong", NULL, NULL);
	/* Few enough UIDs that checking each one stays quick. */
	size_t n = 0, n_back = 0;
	uint32_t *v = expand(&set, 256, &n);
	if (v) {
		char *f = imap_uid_set_format(v, n);
		if (imap_uid_set_parse(f, &back) < 0)
			die("a formatted UID set does not parse", NULL, NULL);
		uint32_t *w = expand(&back, 256, &n_back);
		if (!w || n_back > n)
			die("a formatted UID set names more UIDs", NULL, NULL);
		for (size_t i = 0; i < n; i++)
			if (!imap_uid_set_contains(&back, v[i]))
				die("a formatted UID set lost a UID", NULL,
				    NULL);
		for (size_t i = 0; i < n_back; i++)
			if (!imap_uid_set_contains(&set, w[i]))
				die("a formatted UID set gained a UID", NULL,
				    NULL);
		free(w);
		free(f);
		imap_uid_set_free(&back);
	}
	free(v);
	imap_uid_set_free(&set);
}

/* What the typed fields promise beyond their types. */
static void check_response(const struct imap_response *r)
{
	if (!r->text)
		die("a response without text", NULL, NULL);
	if ((r->code.type == IMAP_CODE_NONE) != !r->code.name)
		die("a code name without a code type, or the reverse", NULL,
		    NULL);
	if (r->kind == IMAP_RESP_TAGGED
	    && (r->status < IMAP_STATUS_OK || r->status > IMAP_STATUS_BAD))
		die("a tagged response that is not OK, NO or BAD", NULL, NULL);
	check_uid_set(r->code.uids);
	check_uid_set(r->code.src_uids);
	if (r->kind != IMAP_RESP_UNTAGGED)
		return;
	check_uid_set(r->vanished);
	check_uid_set(r->esearch.all);
	if (r->n_args == 0)
		die("an untagged response without tokens", NULL, NULL);
	check_args(r->args, r->n_args);
	/* Names are C strings: one with a NUL would be cut short. */
	if ((r->type == IMAP_U_LIST || r->type == IMAP_U_LSUB)
	    && strlen(r->list.mailbox) != r->args[3].len)
		die("a LIST mailbox name holds a NUL", NULL, NULL);
	if (r->type == IMAP_U_STATUS
	    && strlen(r->mbox_status.mailbox) != r->args[1].len)
		die("a STATUS mailbox name holds a NUL", NULL, NULL);
	for (size_t i = 0; r->type == IMAP_U_FETCH && i < r->fetch.n_bodies;
	     i++) {
		const struct imap_fetch_body *b = &r->fetch.bodies[i];
		if (b->streamed ? b->data != NULL : !b->nil && !b->data)
			die("a FETCH body both streamed and in memory, or "
			    "neither",
			    NULL, NULL);
	}
}

/* The typed fields (as the unit tests render them), then the raw code
 * and every token: all of it must come out the same however the input
 * was cut. */
static void put_response(struct buf *b, const struct imap_response *r)
{
	check_response(r);
	if (b->len >= TRANSCRIPT_MAX)
		return;
	imap_dump_response(b, r);
	if (r->code.name)
		buf_addf(b, "  code=%s|%s", r->code.name, r->code.args);
	if (r->kind == IMAP_RESP_UNTAGGED) {
		buf_adds(b, "  args=");
		imap_args_render(b, r->args, r->n_args, true);
	}
	buf_addc(b, '\n');
}

/* ---- one parse ------------------------------------------------------------ */

enum sink_mode { SINK_NONE, SINK_ALWAYS, SINK_ALTERNATE };

static void drain(struct imap_parser *p, struct buf *out, enum sink_mode mode,
		  struct sink_state *ss, unsigned *n_resp, bool *failed)
{
	for (;;) {
		const struct imap_response *r;
		struct error err = ERROR_INIT;
		int ret = imap_parser_next(p, &r, &err);
		if (ret < 0) {
			if (!err.msg || ret != -(int)err.reach)
				die("an error without its message or code",
				    NULL, NULL);
			buf_addf(out, "error %d %s\n", ret, err.msg);
			/* Every later call fails the same way. */
			struct error again = ERROR_INIT;
			if (imap_parser_next(p, &r, &again) != ret || r
			    || strcmp(again.msg, err.msg) != 0)
				die("a second call after an error differs",
				    NULL, NULL);
			error_clear(&again);
			error_clear(&err);
			*failed = true;
			return;
		}
		if (err.msg)
			die("an error message without an error", NULL, NULL);
		if (ret == 0) {
			if (r)
				die("a response with \"need more\"", NULL, NULL);
			return;
		}
		put_response(out, r);
		(*n_resp)++;
		if (mode == SINK_ALTERNATE)
			imap_parser_set_sink(p, *n_resp % 2 ? sink : NULL, ss);
	}
}

/* Parses the input and writes what came out to out. */
static void parse(const uint8_t *data, size_t size,
		  const struct imap_parser_limits *lim, enum sink_mode mode,
		  bool pieces, struct buf *out)
{
	struct imap_parser *p = imap_parser_new(lim);
	struct sink_state ss = {.out = out};
	if (mode != SINK_NONE)
		imap_parser_set_sink(p, sink, &ss);
	if (!imap_parser_idle(p) || imap_parser_pending(p) != 0)
		die("a new parser is not idle", NULL, NULL);
	uint64_t rnd = hash_input(data, size);
	unsigned n_resp = 0;
	bool failed = false;
	size_t off = 0;
	while (off < size && !failed) {
		size_t n = pieces ? piece_size(&rnd) : size;
		if (n > size - off)
			n = size - off;
		struct error err = ERROR_INIT;
		if (imap_parser_feed(p, data + off, n, &err) < 0) {
			/* The limits here are far below what feeding can
			 * hold, so this must not happen. */
			die(err.msg, NULL, NULL);
		}
		off += n;
		drain(p, out, mode, &ss, &n_resp, &failed);
		if (!failed && imap_parser_pending(p) > off)
			die("more pending than was fed", NULL, NULL);
	}
	if (!failed)
		buf_addf(out, "need more, %s, %zu pending\n",
			 imap_parser_idle(p) ? "idle" : "inside a response",
			 imap_parser_pending(p));
	free(ss.section);
	imap_parser_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Small enough that inputs of a few KiB reach every limit. */
	static const struct imap_parser_limits limits[] = {
		{.line_max = 80, .literal_max = 64, .stream_max = 300,
		 .response_max = 2048, .depth_max = 3},
		{.line_max = 1024, .literal_max = 1024, .stream_max = 8192,
		 .response_max = 16384, .depth_max = 8},
	};
	const struct imap_parser_limits *lim =
		&limits[hash_input(data, size) >> 63];
	for (int mode = SINK_NONE; mode <= SINK_ALTERNATE; mode++) {
		struct buf whole = BUF_INIT(BUF_UNLIMITED);
		struct buf cut = BUF_INIT(BUF_UNLIMITED);
		parse(data, size, lim, (enum sink_mode)mode, false, &whole);
		parse(data, size, lim, (enum sink_mode)mode, true, &cut);
		if (whole.len != cut.len
		    || memcmp(whole.data, cut.data, whole.len) != 0)
			die("feeding in pieces changed the result", &whole,
			    &cut);
		/* FUZZ_PRINT=1 ./fuzz-imap-parser FILE... shows what a
		 * corpus file parses to. */
		if (mode == SINK_NONE && getenv("FUZZ_PRINT"))
			fputs(whole.data, stderr);
		buf_release(&whole);
		buf_release(&cut);
	}
	return 0;
}
