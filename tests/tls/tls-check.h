/* SPDX-License-Identifier: MIT */
/*
 * tls-check: what the TLS tests look for and how they connect.
 *
 * The client is configured the way a user configures it: a YAML account
 * read by config_load_string(), turned into imap options by
 * account_imap_options(), so ca_file and pin_sha256 are exercised from
 * the config file on.  Its password is a sentinel; the forms it can take
 * on the wire (as itself, and inside the base64 of AUTHENTICATE PLAIN at
 * each of the three alignments) are searched for in what the fake server
 * received in clear.
 *
 * Ownership: strings returned are the caller's to free.
 */
#ifndef TIDEMAIL_TLS_CHECK_H
#define TIDEMAIL_TLS_CHECK_H

#include <stdbool.h>

#include "imap.h"
#include "util.h"

#define TLS_CHECK_USER "alice"
#define TLS_CHECK_SECRET "Sentinel-7Qx9-pw"

struct tls_account {
	const char *host;   /* 127.0.0.1 or localhost */
	unsigned port;
	bool starttls;      /* else implicit TLS */
	const char *ca_file; /* NULL: none */
	const char *pin;    /* NULL: none */
};

/* imap_connect() with the account as a config file would give it. */
int tls_check_connect(const struct tls_account *acct,
		      struct imap_client **c_r, struct error *err);

/* Runs "exe -c CONFIG check t" with the account written to a file in
 * dir (HOME is dir too): its exit status and everything it wrote on
 * stderr. */
int tls_check_run(const char *exe, const char *dir,
		  const struct tls_account *acct, int *status_r,
		  char **stderr_r, struct error *err);

/* How many of the secret's forms occur in data (0: none). */
unsigned tls_check_secret_seen(const void *data, size_t len);

/* base64 of len bytes of data (for the oracle's own test). */
char *tls_check_b64(const void *data, size_t len);

/* base64 of "\0alice\0<secret>": the AUTHENTICATE PLAIN response. */
char *tls_check_plain_b64(void);

/* text with "$P" replaced by port and "$B" by tls_check_plain_b64(). */
char *tls_check_expand(const char *text, unsigned port);

#endif
