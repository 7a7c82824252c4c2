/* SPDX-License-Identifier: MIT */
/*
 * tls-certs: the certificate matrix for the TLS tests, made with certtool
 * (gnutls-bin) in a fresh temporary directory when the test starts.
 *
 * One root CA (the one a test's ca_file names), a stranger CA nobody
 * trusts, intermediates (good, expired, and one without the CA basic
 * constraint), and server certificates signed by them.  Every key is a
 * P-256 ECDSA key: made in milliseconds, so the matrix costs well under a
 * second.
 *
 * Ownership: tls_certs_make() fills a struct whose strings the caller
 * frees with tls_certs_free(), which also removes the directory.
 */
#ifndef TIDEMAIL_TLS_CERTS_H
#define TIDEMAIL_TLS_CERTS_H

#include "util.h"

/* What the fake server presents: a PEM file holding the server
 * certificate and then any intermediates it sends, and its key. */
struct tls_ident {
	char *chain;
	char *key;
};

enum tls_ident_id {
	TLS_ID_CHAIN,        /* leaf <- intermediate <- root; sends both */
	TLS_ID_DIRECT,       /* leaf <- root */
	TLS_ID_LEAF_ONLY,    /* leaf <- intermediate, intermediate not sent */
	TLS_ID_EXPIRED,      /* leaf <- root, expired in 2020 */
	TLS_ID_NOT_YET,      /* leaf <- root, valid from 2099 */
	TLS_ID_SELF_SIGNED,  /* leaf signed by its own key */
	TLS_ID_UNKNOWN_CA,   /* leaf <- a CA not in ca_file */
	TLS_ID_WRONG_HOST,   /* leaf <- root for mail.example.org only */
	TLS_ID_WILDCARD,     /* leaf <- root for *.example.org */
	TLS_ID_WILDCARD_LOCAL, /* leaf <- root for *.localhost */
	TLS_ID_NON_CA,       /* leaf <- intermediate without CA:TRUE */
	TLS_ID_EXPIRED_INT,  /* leaf <- expired intermediate <- root */
	TLS_ID_PATH_LEN_OK,  /* leaf <- CA with path_len 0 <- root */
	TLS_ID_PATH_LEN,     /* leaf <- CA <- CA with path_len 0 <- root */
	TLS_ID_NAME_CONSTRAINED, /* leaf <- CA for example.org only <- root */
	TLS_ID_CLIENT_ONLY,  /* leaf <- root for TLS clients, not servers */
	TLS_ID_ANY_PURPOSE,  /* leaf <- root without a key purpose at all */
	TLS_ID_SHA1,         /* leaf <- root, signed with SHA-1 */
	TLS_ID_COUNT_
};

struct tls_certs {
	char *dir;
	char *root_pem;   /* the CA a ca_file names */
	char *leaf_pin;   /* base64 SHA-256 of the leaf key's SPKI */
	char *other_pin;  /* the same for a key no server uses */
	struct tls_ident ids[TLS_ID_COUNT_];
};

/* Makes the matrix under $TMPDIR (or /tmp).  Fails with certtool's exit
 * status or the step that failed. */
int tls_certs_make(struct tls_certs *tc, struct error *err);
void tls_certs_free(struct tls_certs *tc);

#endif
