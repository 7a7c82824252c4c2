/* SPDX-License-Identifier: MIT */
/*
 * Parsed IMAP responses as one line of text each, for tests that compare
 * with an exact expected value (tests/imap/test-imap-parser.c) and for
 * the parser fuzzer, which compares two parses of the same input.
 */
#ifndef TIDEMAIL_TESTS_IMAP_DUMP_H
#define TIDEMAIL_TESTS_IMAP_DUMP_H

#include "imap-parser.h"

/* Appends r as text and a newline: the typed fields its kind and type
 * fill (FETCH bodies kept in memory as text, streamed ones by size). */
void imap_dump_response(struct buf *b, const struct imap_response *r);

#endif
