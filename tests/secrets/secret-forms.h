/* SPDX-License-Identifier: MIT */
/*
 * secret-forms: the strings that betray a secret in text.  Used by
 * tm-secrets (files) and by tests/fuzz/fuzz-imap-session.c (traces and
 * what the client sends).
 *
 * Ownership: the strings written to forms_r belong to the caller (free()
 * each).
 */
#ifndef TIDEMAIL_TESTS_SECRET_FORMS_H
#define TIDEMAIL_TESTS_SECRET_FORMS_H

#include <stddef.h>

#define SECRET_FORMS_MAX 4

/*
 * The secret as it is, and, for each of the three alignments it can have
 * inside a base64 stream (an AUTHENTICATE PLAIN, XOAUTH2 or OAUTHBEARER
 * blob), the characters that encode whole groups of its bytes: whatever
 * precedes the secret in the blob, one of them appears in the encoding.
 * Alignments that leave fewer than 3 bytes are left out.  Returns how
 * many forms were written.
 */
size_t secret_forms(const char *secret, char *forms_r[SECRET_FORMS_MAX]);

#endif
