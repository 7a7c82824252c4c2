/* SPDX-License-Identifier: MIT */
/*
 * imap-conn: one byte stream to the server: a TCP socket, optionally TLS
 * (GnuTLS) on top, optionally DEFLATE (zlib, RFC 4978) on top of that.
 * It knows nothing of IMAP; imap-client drives it.
 *
 * The socket is non-blocking.  imap_conn_send() only queues bytes;
 * imap_conn_flush() writes what the socket takes now; imap_conn_recv()
 * reads what is there now; imap_conn_wait() polls with the inactivity
 * timeout.  That lets the client read responses while it is still
 * writing a long pipeline, so neither side can block the other.
 *
 * Errors reach ERR_ACCOUNT: a connection that failed is gone.
 *
 * Ownership: imap_conn_open() gives the caller the connection; free it
 * with imap_conn_close().  Strings passed in are copied when kept.
 */
#ifndef TIDEMAIL_IMAP_CONN_H
#define TIDEMAIL_IMAP_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct imap_conn;

/* What TLS must check.  host is verified against the certificate (and
 * sent as SNI unless it is an IP address); ca_file (optional) is trusted
 * besides the system store; pin_sha256 (optional) is the base64 SHA-256
 * of the server's SubjectPublicKeyInfo, checked as well as the chain. */
struct imap_tls_options {
	const char *host;
	const char *ca_file;
	const char *pin_sha256;
};

/* Resolves host (IPv4 and IPv6) and connects to the first address that
 * answers within timeout_ms each. */
int imap_conn_open(const char *host, unsigned port, int timeout_ms,
		   struct imap_conn **conn_r, struct error *err);
void imap_conn_close(struct imap_conn *conn);

/* TLS handshake on the connection (implicit TLS, or after STARTTLS).
 * Fails with the verification status in words when the certificate is
 * not trusted, does not name the host, or does not match the pin. */
int imap_conn_start_tls(struct imap_conn *conn,
			const struct imap_tls_options *opts, struct error *err);
/* From now on both directions are raw DEFLATE streams. */
int imap_conn_start_deflate(struct imap_conn *conn, struct error *err);

bool imap_conn_is_tls(const struct imap_conn *conn);
bool imap_conn_is_deflate(const struct imap_conn *conn);

/* Queues bytes to send (compressed now if DEFLATE is on). */
int imap_conn_send(struct imap_conn *conn, const void *data, size_t len,
		   struct error *err);
/* Bytes queued but not yet taken by the socket. */
size_t imap_conn_unsent(const struct imap_conn *conn);
/* Writes what the socket takes without blocking. */
int imap_conn_flush(struct imap_conn *conn, struct error *err);

/* Reads what is available without blocking: *n_r bytes (0: nothing
 * now).  The server closing the connection is an error. */
int imap_conn_recv(struct imap_conn *conn, void *buf, size_t cap,
		   size_t *n_r, struct error *err);
/* True when recv would return bytes without the socket being readable
 * (TLS records or inflated data already held). */
bool imap_conn_has_buffered(const struct imap_conn *conn);

/* Waits until the socket is readable (or writable, if there is unsent
 * data) for at most timeout_ms: an error when nothing happened.  Sets
 * *readable_r / *writable_r. */
int imap_conn_wait(struct imap_conn *conn, int timeout_ms, bool *readable_r,
		   bool *writable_r, struct error *err);

/* Blocks (with the timeout) until everything queued is written. */
int imap_conn_flush_all(struct imap_conn *conn, int timeout_ms,
			struct error *err);

#endif
