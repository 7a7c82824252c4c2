/* SPDX-License-Identifier: MIT */
/*
 * Shared between imap-parser.c (bytes to a token tree) and imap-resp.c
 * (token tree to typed fields).  Not for use outside imap/.
 *
 * Ownership: everything a response points to lives in the parser's arena,
 * which is emptied when the next response starts.
 */
#ifndef TIDEMAIL_IMAP_PARSER_PRIVATE_H
#define TIDEMAIL_IMAP_PARSER_PRIVATE_H

#include "imap-parser.h"

/*
 * A list of blocks freed all at once.  `charged` counts what the input
 * asked for (strings and tokens) against a ceiling checked before any
 * allocation; what interpretation adds is proportional to the tokens
 * already charged, so it is not charged again.
 */
struct imap_arena_block;
struct imap_arena {
	struct imap_arena_block *head;
	size_t charged;
	size_t max;
};

/* False (and nothing charged) if n more bytes would pass the ceiling. */
bool imap_arena_charge(struct imap_arena *a, size_t n);
/* Memory for n bytes, aligned for any type; lives until reset. */
void *imap_arena_alloc(struct imap_arena *a, size_t n);
char *imap_arena_strndup(struct imap_arena *a, const char *s, size_t n);
void imap_arena_reset(struct imap_arena *a);

/* Fills the typed fields of r from its args and raw code.  r->kind,
 * r->tag, r->status (tagged), r->code.name/args, r->text, r->args and
 * r->n_args are set by the caller; args are the tokens after the tag. */
int imap_resp_interpret(struct imap_arena *a, struct imap_response *r,
			struct error *err);

/* The status word of a tagged or untagged state response. */
enum imap_status imap_status_word(const struct imap_arg *a);

#endif
