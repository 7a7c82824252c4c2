/* SPDX-License-Identifier: MIT */
/*
 * Parser tests: every input is fed whole, one byte at a time and in
 * chunks of 7 bytes, and each way must give the same exact rendering of
 * the parsed responses (and the same body bytes at the sink).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap-dump.h"
#include "imap-parser.h"

/* ---- driving the parser ----------------------------------------------- */

struct sink_log {
	struct buf bytes;
	unsigned calls;
	int fail_at; /* fail on this call (1-based), 0: never */
};

static int sink(void *ctx, const struct imap_body_chunk *c, struct error *err)
{
	struct sink_log *log = ctx;
	log->calls++;
	if ((int)log->calls == log->fail_at)
		return error_set(err, ERR_MESSAGE, "disk full");
	if (c->offset == 0)
		buf_addf(&log->bytes, "[%u %s %llu]", c->seq, c->section,
			 (unsigned long long)c->size);
	buf_add(&log->bytes, c->data, c->len);
	return 0;
}

/* Feeds in step bytes at a time; returns the rendering of every response,
 * then "ERROR: msg" or "MORE" if the input stopped inside a response. */
static char *run(const char *in, size_t len, size_t step,
		 const struct imap_parser_limits *lim, struct sink_log *log)
{
	struct imap_parser *p = imap_parser_new(lim);
	if (log)
		imap_parser_set_sink(p, sink, log);
	struct buf out = BUF_INIT(BUF_UNLIMITED);
	struct error err = ERROR_INIT;
	int r = 0;
	for (size_t off = 0; off < len && r >= 0; off += step) {
		size_t n = len - off < step ? len - off : step;
		r = imap_parser_feed(p, in + off, n, &err);
		const struct imap_response *resp;
		while (r >= 0 && (r = imap_parser_next(p, &resp, &err)) > 0)
			imap_dump_response(&out, resp);
	}
	if (r < 0)
		buf_addf(&out, "ERROR: %s", err.msg);
	else if (!imap_parser_idle(p) || imap_parser_pending(p))
		buf_adds(&out, "MORE");
	error_clear(&err);
	imap_parser_free(p);
	return buf_detach(&out, NULL);
}

static const struct imap_parser_limits default_limits =
	IMAP_PARSER_LIMITS_DEFAULT;

/* Runs in three ways with the given limits and sink; all must give want
 * (and, with a sink, the same body bytes: want_body). */
static void check_full(const char *in, size_t len,
		       const struct imap_parser_limits *lim, bool use_sink,
		       const char *want, const char *want_body)
{
	const size_t steps[] = {len ? len : 1, 1, 7};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(steps); i++) {
		struct sink_log log = {.bytes = BUF_INIT(BUF_UNLIMITED)};
		char *got = run(in, len, steps[i], lim, use_sink ? &log : NULL);
		assert_string_equal(got, want);
		if (want_body)
			assert_string_equal(log.bytes.data, want_body);
		free(got);
		buf_release(&log.bytes);
	}
}

static void check(const char *in, const char *want)
{
	check_full(in, strlen(in), &default_limits, false, want, NULL);
}

/* ---- well-formed responses -------------------------------------------- */

static void greeting_and_capability(void **state)
{
	check("* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] Dovecot ready.\r\n"
	      "* CAPABILITY IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE\r\n"
	      "A1 OK Pre-login capabilities listed\r\n",
	      "* OK [CAPABILITY [IMAP4rev1,STARTTLS,AUTH=PLAIN]] 'Dovecot "
	      "ready.'\n"
	      "* CAPABILITY [IMAP4rev1,LITERAL+,SASL-IR,ID,ENABLE,IDLE]\n"
	      "A1 OK 'Pre-login capabilities listed'\n");
}

static void state_responses_and_codes(void **state)
{
	check("* PREAUTH ready\r\n"
	      "* BYE [ALERT] going down\r\n"
	      "* NO [TRYCREATE] no such mailbox\r\n"
	      "* BAD junk\r\n"
	      "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"
	      "* OK [UIDNEXT 4392] Predicted next UID\r\n"
	      "* OK [UNSEEN 12] first unseen\r\n"
	      "* OK [HIGHESTMODSEQ 18446744073709551615] Highest\r\n"
	      "* OK [NOMODSEQ] Sorry\r\n"
	      "* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n"
	      "* OK [CLOSED] Previous mailbox closed\r\n"
	      "* OK [X-SOMETHING 1 2] other\r\n"
	      "* OK [READ-WRITE]\r\n"
	      "A2 OK [APPENDUID 38505 3955] APPEND completed\r\n"
	      "A3 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n"
	      "A4 NO [MODIFIED 7,9] Conditional STORE failed\r\n"
	      "A5 BAD\r\n"
	      "a.b OK\n",
	      "* PREAUTH 'ready'\n"
	      "* BYE [ALERT] 'going down'\n"
	      "* NO [TRYCREATE] 'no such mailbox'\n"
	      "* BAD 'junk'\n"
	      "* OK [UIDVALIDITY 3857529045] 'UIDs valid'\n"
	      "* OK [UIDNEXT 4392] 'Predicted next UID'\n"
	      "* OK [UNSEEN 12] 'first unseen'\n"
	      "* OK [HIGHESTMODSEQ 18446744073709551615] 'Highest'\n"
	      "* OK [NOMODSEQ] 'Sorry'\n"
	      "* OK [PERMANENTFLAGS [\\Deleted,\\Seen,\\*]] 'Limited'\n"
	      "* OK [CLOSED] 'Previous mailbox closed'\n"
	      "* OK [OTHER X-SOMETHING|1 2] 'other'\n"
	      "* OK [READ-WRITE] ''\n"
	      "A2 OK [APPENDUID 38505 3955] 'APPEND completed'\n"
	      "A3 OK [COPYUID 38505 304,319:320>3956:3958] 'Done'\n"
	      "A4 NO [MODIFIED 7,9] 'Conditional STORE failed'\n"
	      "A5 BAD ''\n"
	      "a.b OK ''\n");
}

static void continuation(void **state)
{
	check("+ Ready for literal data\r\n+\r\n+ \r\n+ dGVzdA==\r\n",
	      "+ 'Ready for literal data'\n+ ''\n+ ''\n+ 'dGVzdA=='\n");
}

static void mailbox_data(void **state)
{
	check("* 172 EXISTS\r\n* 1 RECENT\r\n* 44 EXPUNGE\r\n"
	      "* FLAGS (\\Answered \\Flagged $Forwarded)\r\n"
	      "* FLAGS ()\r\n"
	      "* ENABLED CONDSTORE QRESYNC\r\n"
	      "* VANISHED (EARLIER) 41,43:116,118\r\n"
	      "* VANISHED 405\r\n",
	      "* 172 EXISTS\n* 1 RECENT\n* 44 EXPUNGE\n"
	      "* FLAGS [\\Answered,\\Flagged,$Forwarded]\n"
	      "* FLAGS []\n"
	      "* ENABLED [CONDSTORE,QRESYNC]\n"
	      "* VANISHED earlier=1 41,43:116,118\n"
	      "* VANISHED earlier=0 405\n");
}

static void list_and_status(void **state)
{
	check("* LIST (\\HasNoChildren \\Sent) \"/\" Sent\r\n"
	      "* LIST (\\Noselect) NIL \"\"\r\n"
	      "* LIST () \".\" \"Quoted \\\"name\\\" \\\\ here\"\r\n"
	      "* LIST (\\HasChildren) \"/\" {9}\r\nA&AOQ-b/c"
	      " (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
	      "* LSUB () \"/\" INBOX\r\n"
	      "* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n"
	      "* STATUS \"a b\" (UIDVALIDITY 7 UNSEEN 0 RECENT 1 "
	      "HIGHESTMODSEQ 99999999999 X-FOO 3)\r\n",
	      "* LIST [\\HasNoChildren,\\Sent] delim=/ mailbox='Sent'\n"
	      "* LIST [\\Noselect] delim=0 mailbox=''\n"
	      "* LIST [] delim=. mailbox='Quoted \"name\" \\ here'\n"
	      "* LIST [\\HasChildren] delim=/ mailbox='A&AOQ-b/c'\n"
	      "* LSUB [] delim=/ mailbox='INBOX'\n"
	      "* STATUS 'blurdybloop' have=3 messages=231 uidnext=44292 "
	      "uidvalidity=0 unseen=0 recent=0 hms=0\n"
	      "* STATUS 'a b' have=60 messages=0 uidnext=0 uidvalidity=7 "
	      "unseen=0 recent=1 hms=99999999999\n");
}

static void search_esearch_namespace_id(void **state)
{
	check("* SEARCH 2 84 882\r\n* SEARCH\r\n"
	      "* SEARCH 2 5 (MODSEQ 917162500)\r\n"
	      "* ESEARCH (TAG \"A282\") UID MIN 2 COUNT 3 ALL 2,10:11 "
	      "MODSEQ 5\r\n"
	      "* ESEARCH (TAG \"A283\")\r\n"
	      "* NAMESPACE ((\"\" \"/\")) NIL ((\"Public/\" \"/\"))\r\n"
	      "* NAMESPACE ((\"INBOX.\" \".\")) NIL NIL\r\n"
	      "* NAMESPACE NIL NIL NIL\r\n"
	      "* ID (\"name\" \"Dovecot\" \"version\" NIL)\r\n"
	      "* XFOO 1 (2 3)\r\n",
	      "* SEARCH 2 84 882\n* SEARCH\n* SEARCH 2 5 modseq=917162500\n"
	      "* ESEARCH tag=A282 uid=1 have=29 min=2 max=0 count=3 "
	      "all=2,10:11 modseq=5\n"
	      "* ESEARCH tag=A283 uid=0 have=0 min=0 max=0 count=0 all=- "
	      "modseq=0\n"
	      "* NAMESPACE present=1 prefix='' delim=/\n"
	      "* NAMESPACE present=1 prefix='INBOX.' delim=.\n"
	      "* NAMESPACE present=0 prefix='-' delim=0\n"
	      "* ID ID (\"name\" \"Dovecot\" \"version\" NIL)\n"
	      "* OTHER XFOO 1 (2 3)\n");
}

static void fetch_in_memory(void **state)
{
	/* Fed by length: the binary literal holds a NUL. */
	static const char in[] =
		"* 12 FETCH (UID 4827313 FLAGS (\\Seen $Label1) MODSEQ "
	      "(12121231000) RFC822.SIZE 44827 INTERNALDATE "
	      "\"17-Jul-1996 02:44:25 -0700\" EMAILID (M6d99ac3275bb4e) "
	      "BODY[HEADER.FIELDS (MESSAGE-ID)] {21}\r\n"
	      "Message-ID: <a@b>\r\n\r\n"
	      " BODY[TEXT]<0> \"hi\" BODY[1] NIL BINARY[] ~{3}\r\nx\0y)\r\n"
	      "* 1 FETCH (FLAGS () INTERNALDATE \" 1-Jan-1970 00:00:00 +0000\")"
	      "\r\n";
	check_full(in, sizeof(in) - 1, &default_limits, false,
	      "* FETCH 12 uid=4827313 flags=[\\Seen,$Label1] modseq=12121231000"
	      " size=44827 date=837596665 emailid=M6d99ac3275bb4e "
	      "BODY[HEADER.FIELDS (MESSAGE-ID)]='Message-ID: <a@b>\r\n\r\n' "
	      "BODY[TEXT]<0>='hi' BODY[1]=NIL BINARY[]='x'\n"
	      "* FETCH 1 flags=[] date=0\n", NULL);
}

static void fetch_streamed_to_sink(void **state)
{
	static const char in[] =
		"* 3 FETCH (UID 9 BODY[] {11}\r\nHello\r\nBody FLAGS (\\Seen))\r\n"
		"* 4 FETCH (BODY[] \"\" UID 10)\r\n"
		"* 5 FETCH (BODY[] {0}\r\n UID 11)\r\n"
		"A7 OK done\r\n";
	check_full(in, sizeof(in) - 1, &default_limits, true,
		   "* FETCH 3 uid=9 flags=[\\Seen] BODY[]=<streamed 11>\n"
		   "* FETCH 4 uid=10 BODY[]=<streamed 0>\n"
		   "* FETCH 5 uid=11 BODY[]=<streamed 0>\n"
		   "A7 OK 'done'\n",
		   "[3 BODY[] 11]Hello\r\nBody[4 BODY[] 0][5 BODY[] 0]");
}

static void streamed_body_ignores_literal_limit(void **state)
{
	struct imap_parser_limits lim = default_limits;
	lim.literal_max = 4;
	lim.stream_max = 10;
	static const char in[] = "* 1 FETCH (BODY[] {10}\r\n0123456789)\r\n";
	check_full(in, sizeof(in) - 1, &lim, true,
		   "* FETCH 1 BODY[]=<streamed 10>\n", "[1 BODY[] 10]0123456789");
	check_full(in, sizeof(in) - 1, &lim, false,
		   "ERROR: IMAP server sent a literal of 10 bytes, over the "
		   "limit of 4",
		   NULL);
}

static void literal_forms(void **state)
{
	check("* XX {3+}\r\nabc ~{2}\r\nde {0}\r\n nil NIL \"\"\r\n",
	      "* OTHER XX {3}abc {2}de {0} NIL NIL \"\"\n");
}

static void input_stopping_short(void **state)
{
	check("* 1 EXISTS\r\n* 2 EXI", "* 1 EXISTS\nMORE");
	check("* 1 FETCH (BODY[] {5}\r\nab", "MORE");
	check("A1 OK done\r", "MORE");
}

/* ---- hostile and malformed input -------------------------------------- */

static void check_limits_error(const struct imap_parser_limits *lim,
			       const char *in, const char *want)
{
	check_full(in, strlen(in), lim, false, want, NULL);
}

static void limits_are_enforced(void **state)
{
	struct imap_parser_limits lim = default_limits;
	lim.line_max = 20;
	check_limits_error(&lim, "* OK 012345678901234\r\n",
			   "* OK '012345678901234'\n");
	check_limits_error(&lim, "* OK 01234567890123456789012345\r\n",
			   "ERROR: IMAP server sent a line longer than 20 "
			   "bytes");
	check_limits_error(&lim, "* XX aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
			   "ERROR: IMAP server sent a line longer than 20 "
			   "bytes");
	check_limits_error(&lim, "* XX \"aaaaaaaaaaaaaaaaaaaaaaaa",
			   "ERROR: IMAP server sent a line longer than 20 "
			   "bytes");
	/* A literal restarts the line count. */
	check_limits_error(&lim, "* XX {3}\r\nabc 0123456789012345\r\n",
			   "* OTHER XX {3}abc 0123456789012345\n");
	/* Exactly line_max bytes before the CRLF (or LF) is still fine,
	 * one more is not, whatever the tokens are made of. */
	check_limits_error(&lim, "* XX 012345678901234\r\n",
			   "* OTHER XX 012345678901234\n");
	check_limits_error(&lim, "* OK 012345678901234\n",
			   "* OK '012345678901234'\n");
	static const char *const too_long[] = {
		"* XX 0123456789012345\r\n",
		"* OK 0123456789012345\n",
		"* XX a a a a a a a a a a a a a a a a a a\r\n",
		"* XX () () () () () () () () () () ()\r\n",
		"* XX (a) (b) (c) (d) (e) (f)",
		"* XX 01234567890123 {3}\r\nabc\r\n",
	};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(too_long); i++)
		check_limits_error(&lim, too_long[i],
				   "ERROR: IMAP server sent a line longer than "
				   "20 bytes");
	check_limits_error(&lim, "* XX 0123456789 {3}\r\nabc\r\n",
			   "* OTHER XX 0123456789 {3}abc\n");

	lim = default_limits;
	lim.literal_max = 100;
	check_limits_error(&lim, "* XX {101}\r\n",
			   "ERROR: IMAP server sent a literal of 101 bytes, "
			   "over the limit of 100");
	check_limits_error(&lim, "* XX {99999999999999999999999}\r\n",
			   "ERROR: IMAP server sent a literal size that "
			   "overflows");

	lim = default_limits;
	lim.depth_max = 3;
	check_limits_error(&lim, "* XX (((1)))\r\n", "* OTHER XX (((1)))\n");
	check_limits_error(&lim, "* XX ((((1))))\r\n",
			   "ERROR: IMAP server sent lists nested deeper than 3");

	lim = default_limits;
	lim.response_max = 200;
	check_limits_error(&lim, "* XX (a a a a a a a a a a a a)\r\n",
			   "ERROR: IMAP server sent a response bigger than 200 "
			   "bytes");
	lim.stream_max = 5;
	struct sink_log log = {.bytes = BUF_INIT(BUF_UNLIMITED)};
	char *got = run("* 1 FETCH (BODY[] {6}\r\n", 23, 1, &lim, &log);
	assert_string_equal(got, "ERROR: IMAP server sent a body of 6 bytes, "
				 "over the limit of 5");
	assert_int_equal(log.calls, 0);
	free(got);
	buf_release(&log.bytes);
}

static void garbage_is_refused(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"\r\n", "an empty line"},
		{" * OK\r\n", "a line that starts with a space"},
		{"(a) OK\r\n", "a list in place of a tag"},
		{"\"x\" OK\r\n", "a quoted string in place of a tag"},
		{"{3}\r\nabc\r\n", "a literal in place of a tag"},
		{"A1 MAYBE\r\n", "a tagged response that is not OK, NO or BAD"},
		{"A1\r\n", "a response that stops after its tag"},
		{"*\r\n", "a response that stops after its tag"},
		{"* XX (a\r\n", "a line that ends inside a list"},
		{"* XX a)\r\n", "')' without '('"},
		{"* XX \"a\rb\"\r\n", "a line break inside a quoted string"},
		{"* XX \"a\\qb\"\r\n", "the escape \"\\q\" in a quoted string"},
		{"* XX a\x01" "b\r\n", "control character 0x01"},
		{"* XX a\"b\r\n", "'\"' inside the atom \"a\""},
		{"* XX {3x}\r\n", "a malformed literal size"},
		{"* XX {}\r\n", "a malformed literal size"},
		{"* XX {3}abc\r\n", "a literal size not followed by CRLF"},
		{"* XX ~x\r\n", "'~' not followed by '{'"},
		{"* XX BODY[a\r\n", "an unclosed '[' in \"BODY[a\""},
		{"* XX a\rb\r\n", "a CR not followed by LF"},
		{"* 3 EXISTS 4\r\n", "a malformed EXISTS"},
		{"* 0 EXPUNGE\r\n", "a malformed EXPUNGE"},
		{"* 1 FETCH UID 3\r\n", "a malformed FETCH"},
		{"* 1 FETCH (UID)\r\n", "a malformed FETCH"},
		{"* 1 FETCH (UID x)\r\n", "a malformed FETCH UID"},
		{"* 1 FETCH (UID 0)\r\n", "a malformed FETCH UID"},
		{"* 1 FETCH (UID 4294967296)\r\n", "a malformed FETCH UID"},
		{"* 1 FETCH (FLAGS \\Seen)\r\n", "a malformed FETCH FLAGS"},
		{"* 1 FETCH (MODSEQ 3)\r\n", "a malformed FETCH MODSEQ"},
		{"* 1 FETCH (INTERNALDATE \"yesterday\")\r\n",
		 "a malformed FETCH INTERNALDATE"},
		{"* 1 FETCH ((UID) 1)\r\n", "a malformed FETCH item name"},
		{"* 1 FETCH (BODY[] (x))\r\n", "a malformed FETCH body"},
		{"* LIST (\\X) \"ab\" INBOX\r\n", "a malformed LIST delimiter"},
		{"* LIST \\X \"/\" INBOX\r\n", "a malformed LIST"},
		{"* STATUS INBOX (MESSAGES)\r\n", "a malformed STATUS"},
		{"* STATUS INBOX (MESSAGES x)\r\n", "a malformed STATUS item"},
		{"* STATUS INBOX (UIDNEXT 4294967296)\r\n",
		 "a malformed STATUS number"},
		{"* SEARCH 1 x\r\n", "a malformed SEARCH"},
		{"* ESEARCH MIN x\r\n", "a malformed ESEARCH item"},
		{"* ESEARCH MIN\r\n", "a malformed ESEARCH"},
		{"* VANISHED (LATER) 1\r\n", "a malformed VANISHED"},
		{"* VANISHED 1 2\r\n", "a malformed VANISHED"},
		{"* FLAGS \\Seen\r\n", "a malformed FLAGS"},
		{"* NAMESPACE (x)\r\n", "a malformed NAMESPACE"},
		{"* OK [UIDVALIDITY x] hm\r\n", "a malformed UIDVALIDITY"},
		{"* OK [UIDNEXT 4294967296] hm\r\n", "a malformed UIDNEXT"},
		{"A1 OK [APPENDUID 1] hm\r\n", "a malformed APPENDUID"},
		{"A1 OK [APPENDUID 0 1] hm\r\n", "a malformed APPENDUID"},
		{"A1 OK [COPYUID 1 2 x] hm\r\n", "a malformed COPYUID"},
		{"A1 OK [PERMANENTFLAGS \\Seen] hm\r\n",
		 "a malformed PERMANENTFLAGS"},
	};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		char *want = xasprintf("ERROR: IMAP server sent %s",
				       cases[i].want);
		check_full(cases[i].in, strlen(cases[i].in), &default_limits,
			   false, want, NULL);
		free(want);
	}
}

/* A NUL is never part of a name or of text: the callers take those as C
 * strings, and "INBOX\0x" would read as INBOX. */
static void nul_is_refused(void **state)
{
#define WITH_LEN(s) s, sizeof(s) - 1
	static const struct {
		const char *in;
		size_t len;
		const char *want;
	} cases[] = {
		{WITH_LEN("* OK a\0b\r\n"), "a control character in response text"},
		{WITH_LEN("* LIST () \"/\" \"a\0b\"\r\n"),
		 "a NUL inside a quoted string"},
		{WITH_LEN("* LIST () \"/\" {3}\r\na\0b\r\n"),
		 "a malformed LIST mailbox"},
		{WITH_LEN("* STATUS {3}\r\na\0b (MESSAGES 1)\r\n"),
		 "a malformed STATUS"},
		{WITH_LEN("* CAPABILITY IMAP4rev1 {1}\r\n\0\r\n"),
		 "a malformed CAPABILITY"},
	};
#undef WITH_LEN
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		char *want = xasprintf("ERROR: IMAP server sent %s",
				       cases[i].want);
		check_full(cases[i].in, cases[i].len, &default_limits, false,
			   want, NULL);
		free(want);
	}
	/* A body value keeps its length and may hold NULs. */
	static const char body[] = "* 1 FETCH (BODY[] {3}\r\na\0b)\r\n";
	check_full(body, sizeof(body) - 1, &default_limits, false,
		   "* FETCH 1 BODY[]='a'\n", NULL);
}

static void error_is_sticky(void **state)
{
	struct imap_parser *p = imap_parser_new(&default_limits);
	struct error err = ERROR_INIT;
	const struct imap_response *r;
	assert_int_equal(imap_parser_feed(p, "* XX )\r\n* 1 EXISTS\r\n", 20,
					  &err),
			 0);
	assert_int_equal(imap_parser_next(p, &r, &err), -ERR_ACCOUNT);
	assert_string_equal(err.msg, "IMAP server sent ')' without '('");
	error_clear(&err);
	assert_int_equal(imap_parser_next(p, &r, &err), -ERR_ACCOUNT);
	assert_null(r);
	assert_string_equal(err.msg, "IMAP server sent ')' without '('");
	error_clear(&err);
	imap_parser_free(p);
}

static void sink_failure_stops_the_parser(void **state)
{
	static const char in[] = "* 1 FETCH (BODY[] {4}\r\nabcd)\r\n";
	struct sink_log log = {.bytes = BUF_INIT(BUF_UNLIMITED), .fail_at = 2};
	char *got = run(in, sizeof(in) - 1, 1, &default_limits, &log);
	assert_string_equal(got, "ERROR: disk full");
	assert_string_equal(log.bytes.data, "[1 BODY[] 4]a");
	free(got);
	buf_release(&log.bytes);
}

static void feed_ceiling(void **state)
{
	struct imap_parser_limits lim = {.line_max = 10, .literal_max = 10,
					 .stream_max = 10, .response_max = 100,
					 .depth_max = 2};
	struct imap_parser *p = imap_parser_new(&lim);
	struct error err = ERROR_INIT;
	size_t big = 2 * 1024 * 1024;
	char *junk = xcalloc(1, big);
	assert_int_equal(imap_parser_feed(p, junk, big, &err), -ERR_ACCOUNT);
	assert_non_null(strstr(err.msg, "more than"));
	error_clear(&err);
	free(junk);
	imap_parser_free(p);
}

static void dates(void **state)
{
	time_t t;
	assert_true(imap_parse_date("17-Jul-1996 02:44:25 -0700", &t));
	assert_int_equal(t, 837596665);
	assert_true(imap_parse_date(" 1-Feb-2024 10:00:00 +0130", &t));
	assert_int_equal(t, 1706781600 - 5400);
	assert_true(imap_parse_date("1-Feb-2024 10:00:00 +0000", &t));
	assert_int_equal(t, 1706781600);
	assert_false(imap_parse_date("17-Jux-1996 02:44:25 -0700", &t));
	assert_false(imap_parse_date("17-Jul-1996 02:44:25", &t));
	assert_false(imap_parse_date("32-Jul-1996 02:44:25 -0700", &t));
	assert_false(imap_parse_date("", &t));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(greeting_and_capability),
		cmocka_unit_test(state_responses_and_codes),
		cmocka_unit_test(continuation),
		cmocka_unit_test(mailbox_data),
		cmocka_unit_test(list_and_status),
		cmocka_unit_test(search_esearch_namespace_id),
		cmocka_unit_test(fetch_in_memory),
		cmocka_unit_test(fetch_streamed_to_sink),
		cmocka_unit_test(streamed_body_ignores_literal_limit),
		cmocka_unit_test(literal_forms),
		cmocka_unit_test(input_stopping_short),
		cmocka_unit_test(limits_are_enforced),
		cmocka_unit_test(garbage_is_refused),
		cmocka_unit_test(nul_is_refused),
		cmocka_unit_test(error_is_sticky),
		cmocka_unit_test(sink_failure_stops_the_parser),
		cmocka_unit_test(feed_ceiling),
		cmocka_unit_test(dates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
