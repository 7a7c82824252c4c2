/* SPDX-License-Identifier: MIT */
/*
 * Shared by imap-conn.c (socket, DEFLATE) and imap-tls.c (GnuTLS).  Not
 * for use outside imap/.
 */
#ifndef TIDEMAIL_IMAP_CONN_PRIVATE_H
#define TIDEMAIL_IMAP_CONN_PRIVATE_H

#include <gnutls/gnutls.h>
#include <zlib.h>

#include "imap-conn.h"

struct imap_conn {
	int fd;
	char *peer;     /* "host:port", for messages */
	int timeout_ms; /* inactivity limit for every wait */

	gnutls_session_t tls; /* NULL until imap_conn_start_tls() */
	gnutls_certificate_credentials_t cred;
	/* With a ca_file, the system store is read only when ca_file alone
	 * does not vouch for the server (parsing it costs most of a no-op
	 * sync's CPU); the verify callback needs the host and the result. */
	char *verify_host;
	unsigned verify_status;
	bool system_trust;
	/* gnutls_record_send() that returned EAGAIN must be repeated with
	 * the same length: remember it (0: none pending). */
	size_t tls_retry_len;
	/* TLS records as read from the socket, not yet taken by GnuTLS: one
	 * recv() fills it, where GnuTLS alone makes two per record (its
	 * header, then its body); Dovecot sends 4 KB records. */
	char *rbuf;
	size_t rpos, rlen;

	bool deflate;
	z_stream zin, zout;
	char *zraw;      /* compressed input not yet inflated */
	size_t zraw_cap;
	bool zin_full;   /* last inflate filled its output: more may wait */
	bool zin_ended;  /* the server finished its DEFLATE stream */

	struct buf out;  /* bytes for the wire (after compression) */
};

/* Whether TLS holds input not yet returned: decrypted, or read ahead. */
bool imap_conn_tls_buffered(const struct imap_conn *conn);
/* Reads or writes the wire, through TLS once it is on.  *n_r is 0 when
 * the socket would block. */
int imap_conn_wire_read(struct imap_conn *conn, void *buf, size_t cap,
			size_t *n_r, struct error *err);
int imap_conn_wire_write(struct imap_conn *conn, const void *buf, size_t len,
			 size_t *n_r, struct error *err);
/* Polls the socket for events for the inactivity timeout. */
int imap_conn_poll(struct imap_conn *conn, short events, short *revents_r,
		   struct error *err);
void imap_conn_tls_free(struct imap_conn *conn);

#endif
