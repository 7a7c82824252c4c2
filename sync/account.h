/* SPDX-License-Identifier: MIT */
/*
 * account: what every command that talks to a server needs from an
 * account's config: the password or token (running password_command when
 * that is how it is given) and the imap layer's options.
 *
 * Ownership: account_secret() returns a string the caller must pass to
 * account_secret_free(), which wipes it.  account_imap_options() borrows
 * from the account and the secret; keep both alive while it is used.
 */
#ifndef TIDEMAIL_ACCOUNT_H
#define TIDEMAIL_ACCOUNT_H

#include "config.h"
#include "imap.h"
#include "util.h"

/* Limits what password_command may print: a password or a token, not a
 * file. */
#define ACCOUNT_SECRET_MAX (64 * 1024)

/* The password, or password_command's output without its final newline.
 * A command that fails, prints nothing, or prints more than
 * ACCOUNT_SECRET_MAX bytes is an ERR_ACCOUNT error that names the
 * account but never the output. */
int account_secret(const struct config_account *a, char **secret_r,
		   struct error *err);
void account_secret_free(char *secret);

/* auth must have room for CONFIG_AUTH_COUNT_ entries. */
void account_imap_options(const struct config_account *a, const char *secret,
			  enum imap_auth *auth, struct imap_options *o);

#endif
