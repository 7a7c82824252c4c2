/* SPDX-License-Identifier: MIT */
/*
 * imap-parser: the IMAP response parser (RFC 3501 / RFC 9051 grammar plus
 * the extensions tidemail uses).  It never reads a socket: the caller
 * pushes bytes in with imap_parser_feed() and pulls whole responses out
 * with imap_parser_next(), which says "need more" when the input stops
 * short.  That is what lets the tests feed a response one byte at a time
 * and lets a fuzzer drive it directly.
 *
 * Limits (line length, literal size, nesting depth, memory per response)
 * are fixed when the parser is created and checked before anything is
 * allocated: a server cannot make us allocate what it merely announces.
 *
 * A message body in an untagged FETCH (BODY[...], BINARY[...], RFC822...)
 * is passed in chunks to the sink the caller set, never held whole.
 *
 * Ownership: the parser owns every response it returns and everything a
 * response points to; a response stays valid until the next call to
 * imap_parser_next(), imap_parser_feed() or imap_parser_free().  Strings
 * are NUL-terminated (a literal may also hold NULs: use its length).
 */
#ifndef TIDEMAIL_IMAP_PARSER_H
#define TIDEMAIL_IMAP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util.h"

struct imap_parser_limits {
	size_t line_max;       /* one line, without its CRLF and literals */
	size_t literal_max;    /* one literal held in memory */
	uint64_t stream_max;   /* one body literal passed to the sink */
	size_t response_max;   /* memory one parsed response may use */
	unsigned depth_max;    /* nesting of parenthesised lists */
};
/* Generous for real servers (a LIST line, a big CAPABILITY, 64 KiB of
 * header fields), small enough that a hostile one cannot hurt. */
#define IMAP_PARSER_LIMITS_DEFAULT                                        \
	{                                                                 \
		.line_max = 256 * 1024, .literal_max = 1024 * 1024,      \
		.stream_max = (uint64_t)2 << 30,                          \
		.response_max = 8 * 1024 * 1024, .depth_max = 16,        \
	}

/* ---- the token tree ------------------------------------------------- */

enum imap_arg_type {
	IMAP_ARG_ATOM,     /* also numbers, flags (\Seen), BODY[...] keys */
	IMAP_ARG_STRING,   /* quoted string, unescaped */
	IMAP_ARG_LITERAL,  /* {n}, {n+} or ~{n} held in memory */
	IMAP_ARG_STREAMED, /* body value given to the sink: only size is kept */
	IMAP_ARG_NIL,
	IMAP_ARG_LIST,
};

struct imap_arg {
	enum imap_arg_type type;
	const char *str;             /* ATOM, STRING, LITERAL */
	size_t len;                  /* of str; items in list for LIST */
	const struct imap_arg *list; /* LIST */
	uint64_t size;               /* STREAMED */
};

/* True for ATOM, STRING and LITERAL (an IMAP astring or nstring value). */
bool imap_arg_is_string(const struct imap_arg *a);
/* Case-insensitive comparison of an atom with word. */
bool imap_arg_is_atom(const struct imap_arg *a, const char *word);
/* Parses an atom that is a plain decimal number no bigger than max. */
bool imap_arg_number(const struct imap_arg *a, uint64_t max, uint64_t *n_r);

/* Appends tokens as text, lists in parentheses; literals as "{n}data"
 * with literal_data, else as their size.  Stops adding after about 1000
 * bytes (it is for traces and tests). */
void imap_args_render(struct buf *b, const struct imap_arg *v, size_t n,
		      bool literal_data);

/* ---- parsed responses ----------------------------------------------- */

enum imap_resp_kind {
	IMAP_RESP_UNTAGGED, /* "* ..." */
	IMAP_RESP_TAGGED,   /* "A1 OK ..." */
	IMAP_RESP_CONTINUE, /* "+ ..." */
};

enum imap_status {
	IMAP_STATUS_NONE,
	IMAP_STATUS_OK,
	IMAP_STATUS_NO,
	IMAP_STATUS_BAD,
	IMAP_STATUS_PREAUTH,
	IMAP_STATUS_BYE,
};

enum imap_untagged {
	IMAP_U_NONE,    /* tagged or continuation */
	IMAP_U_STATE,   /* OK NO BAD PREAUTH BYE: see status, code, text */
	IMAP_U_CAPABILITY,
	IMAP_U_ENABLED,
	IMAP_U_FLAGS,
	IMAP_U_LIST,
	IMAP_U_LSUB,
	IMAP_U_STATUS,  /* STATUS mailbox (...) */
	IMAP_U_SEARCH,
	IMAP_U_ESEARCH,
	IMAP_U_NAMESPACE,
	IMAP_U_ID,
	IMAP_U_EXISTS,
	IMAP_U_RECENT,
	IMAP_U_EXPUNGE,
	IMAP_U_FETCH,
	IMAP_U_VANISHED,
	IMAP_U_OTHER,   /* anything else: only args */
};

enum imap_code_type {
	IMAP_CODE_NONE,
	IMAP_CODE_ALERT,
	IMAP_CODE_CAPABILITY,
	IMAP_CODE_PERMANENTFLAGS,
	IMAP_CODE_UIDVALIDITY,
	IMAP_CODE_UIDNEXT,
	IMAP_CODE_UNSEEN,
	IMAP_CODE_HIGHESTMODSEQ,
	IMAP_CODE_NOMODSEQ,
	IMAP_CODE_APPENDUID,
	IMAP_CODE_COPYUID,
	IMAP_CODE_CLOSED,
	IMAP_CODE_TRYCREATE,
	IMAP_CODE_READ_ONLY,
	IMAP_CODE_READ_WRITE,
	IMAP_CODE_MODIFIED,
	IMAP_CODE_OTHER, /* see name and args */
};

struct imap_strings {
	const char **v;
	size_t n;
};

struct imap_resp_code {
	enum imap_code_type type;
	const char *name;       /* as sent; NULL when there is no code */
	const char *args;       /* raw text after the name, "" when none */
	uint64_t num;           /* UIDVALIDITY UIDNEXT UNSEEN HIGHESTMODSEQ */
	uint32_t uidvalidity;   /* APPENDUID, COPYUID */
	const char *uids;       /* APPENDUID: new UID(s); COPYUID: dest set;
				   MODIFIED: the set that failed */
	const char *src_uids;   /* COPYUID */
	struct imap_strings list; /* CAPABILITY, PERMANENTFLAGS */
};

enum imap_fetch_have {
	IMAP_FETCH_UID = 1 << 0,
	IMAP_FETCH_FLAGS = 1 << 1,
	IMAP_FETCH_MODSEQ = 1 << 2,
	IMAP_FETCH_SIZE = 1 << 3,
	IMAP_FETCH_INTERNALDATE = 1 << 4,
	IMAP_FETCH_EMAILID = 1 << 5,
};

struct imap_fetch_body {
	const char *section; /* the key as sent: "BODY[HEADER.FIELDS (X)]" */
	bool nil;            /* the server sent NIL */
	bool streamed;       /* went to the sink; data is NULL */
	const char *data;    /* in memory when no sink was set */
	uint64_t size;
};

struct imap_fetch {
	uint32_t seq;
	unsigned have; /* enum imap_fetch_have bits */
	uint32_t uid;
	struct imap_strings flags;
	uint64_t modseq;
	uint64_t size;
	const char *internaldate; /* as sent */
	time_t date;              /* the same, seconds since the epoch */
	const char *emailid;
	struct imap_fetch_body *bodies;
	size_t n_bodies;
};

struct imap_list {
	struct imap_strings attrs; /* \HasNoChildren \Sent ... */
	char delim;                /* '\0' for NIL */
	const char *mailbox;       /* as sent (modified UTF-7 unless UTF8) */
};

enum imap_status_have {
	IMAP_STATUS_MESSAGES = 1 << 0,
	IMAP_STATUS_UIDNEXT = 1 << 1,
	IMAP_STATUS_UIDVALIDITY = 1 << 2,
	IMAP_STATUS_UNSEEN = 1 << 3,
	IMAP_STATUS_RECENT = 1 << 4,
	IMAP_STATUS_HIGHESTMODSEQ = 1 << 5,
};

struct imap_mbox_status {
	const char *mailbox;
	unsigned have; /* enum imap_status_have bits */
	uint32_t messages, uidnext, uidvalidity, unseen, recent;
	uint64_t highestmodseq;
};

enum imap_esearch_have {
	IMAP_ESEARCH_MIN = 1 << 0,
	IMAP_ESEARCH_MAX = 1 << 1,
	IMAP_ESEARCH_COUNT = 1 << 2,
	IMAP_ESEARCH_ALL = 1 << 3,
	IMAP_ESEARCH_MODSEQ = 1 << 4,
};

struct imap_esearch {
	const char *tag; /* the command's tag, NULL if not given */
	bool uid;
	unsigned have;   /* enum imap_esearch_have bits */
	uint32_t min, max, count;
	const char *all; /* sequence set */
	uint64_t modseq;
};

struct imap_search {
	const uint32_t *nums;
	size_t n;
	bool have_modseq;
	uint64_t modseq;
};

struct imap_namespace {
	bool present;       /* the personal namespace was not NIL */
	const char *prefix; /* of the first personal namespace */
	char delim;
};

struct imap_response {
	enum imap_resp_kind kind;
	const char *tag;         /* TAGGED */
	enum imap_untagged type; /* UNTAGGED */
	enum imap_status status; /* TAGGED, IMAP_U_STATE */
	struct imap_resp_code code;
	const char *text;        /* resp-text, continuation text; "" if none */
	uint32_t number;         /* EXISTS RECENT EXPUNGE, FETCH's seq */
	struct imap_strings strings; /* CAPABILITY ENABLED FLAGS */
	struct imap_fetch fetch;
	struct imap_list list;   /* LIST, LSUB */
	struct imap_mbox_status mbox_status;
	struct imap_esearch esearch;
	struct imap_search search;
	struct imap_namespace ns;
	bool vanished_earlier;
	const char *vanished;    /* UID set */
	/* Every token after "*" (tagged and continuation: none), for what
	 * the typed fields do not cover (ID, NAMESPACE's other parts). */
	const struct imap_arg *args;
	size_t n_args;
};

/* ---- body sink -------------------------------------------------------- */

struct imap_body_chunk {
	uint32_t seq;        /* message sequence number of the FETCH */
	uint32_t uid;        /* its UID if that came before the body, else 0 */
	const char *section; /* "BODY[]" etc., as sent */
	uint64_t size;       /* the whole value */
	uint64_t offset;     /* of data within it */
	const void *data;
	size_t len;          /* 0 only for an empty value (one call) */
};

/* Called for each chunk of a body value, in order; the chunk with
 * offset + len == size is the last.  A negative return (with err set)
 * stops the parser with that error. */
typedef int imap_body_sink_fn(void *ctx, const struct imap_body_chunk *chunk,
			      struct error *err);

/* ---- the parser ------------------------------------------------------- */

struct imap_parser;

struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits);
void imap_parser_free(struct imap_parser *p);

/* Body values of later FETCH responses go to fn (NULL: kept in memory,
 * within literal_max).  May be changed between responses. */
void imap_parser_set_sink(struct imap_parser *p, imap_body_sink_fn *fn,
			  void *ctx);

/* Appends bytes for the parser to read.  Fails (ERR_ACCOUNT) only when
 * the input held but not yet parsed would pass what the limits allow. */
int imap_parser_feed(struct imap_parser *p, const void *data, size_t len,
		     struct error *err);

/* 1 and *resp_r set: a whole response.  0: need more input.  Negative:
 * the input is not IMAP or passes a limit (ERR_ACCOUNT: the connection
 * cannot be trusted any more), or the sink failed (its error).  After an
 * error every later call fails the same way. */
int imap_parser_next(struct imap_parser *p, const struct imap_response **resp_r,
		     struct error *err);

/* Bytes fed but not yet part of a returned response.  STARTTLS and
 * COMPRESS need this to be 0 when the server's answer has been read. */
size_t imap_parser_pending(const struct imap_parser *p);

/* True between responses: nothing of a next one has been parsed yet. */
bool imap_parser_idle(const struct imap_parser *p);

/* Parses an INTERNALDATE ("17-Jul-1996 02:44:25 -0700"). */
bool imap_parse_date(const char *s, time_t *t_r);

#endif
