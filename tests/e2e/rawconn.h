/* SPDX-License-Identifier: MIT */
/*
 * rawconn: just enough socket and GnuTLS code for the harness smoke test
 * to talk to Dovecot itself (tidemail's IMAP layer must not be the thing
 * that proves the harness works).  Lines are read up to CRLF; every read
 * has a 5 second limit so a silent server fails the test, not hangs it.
 *
 * Ownership: rawconn_close() frees everything a connection holds;
 * rawconn_line() returns a string the caller frees.
 */
#ifndef TIDEMAIL_RAWCONN_H
#define TIDEMAIL_RAWCONN_H

#include "util.h"

#include <gnutls/gnutls.h>
#include <stdint.h>

struct rawconn {
	int fd;
	gnutls_session_t tls; /* NULL until rawconn_tls() succeeds */
	gnutls_certificate_credentials_t cred;
	struct buf in;
	/* After a failed handshake: gnutls_certificate_verify_peers result. */
	unsigned verify_status;
};

/* Connects to host:port, optionally from source address from (NULL: any).
 * 0, or -errno. */
int rawconn_open(struct rawconn *c, const char *host, uint16_t port,
		 const char *from);
/*
 * TLS handshake trusting only ca_file (NULL: the system's trust store),
 * checking the certificate against verify_name (a DNS name or an IP
 * address; sent as SNI when it is a name).  0 or the GnuTLS error code.
 */
int rawconn_tls(struct rawconn *c, const char *ca_file,
		const char *verify_name);
/* Sends a whole string.  0 or -1. */
int rawconn_send(struct rawconn *c, const char *text);
/* Next line without its CRLF, or NULL on EOF, error or timeout. */
char *rawconn_line(struct rawconn *c);
/*
 * Sends "TAG COMMAND\r\n" and reads up to the tagged reply.  Returns the
 * tagged line; *untagged_r (may be NULL) gets the untagged lines joined
 * with '\n'.  NULL when the connection ends first.
 */
char *rawconn_command(struct rawconn *c, const char *tag,
		      const char *command, char **untagged_r);
void rawconn_close(struct rawconn *c);

#endif
