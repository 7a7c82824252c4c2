/* SPDX-License-Identifier: MIT */
/*
 * GnuTLS behind the connection: the handshake with certificate checks,
 * and the two wire functions that go through TLS once it is on.
 */
#include "imap-conn-private.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Raw bytes read ahead for GnuTLS (see struct imap_conn). */
#define TLS_READ_AHEAD (64 * 1024)

void imap_conn_tls_free(struct imap_conn *conn)
{
	if (conn->tls)
		gnutls_deinit(conn->tls);
	free(conn->rbuf);
	conn->rbuf = NULL;
	conn->rpos = conn->rlen = 0;
	if (conn->cred)
		gnutls_certificate_free_credentials(conn->cred);
	free(conn->verify_host);
	conn->tls = NULL;
	conn->cred = NULL;
	conn->verify_host = NULL;
	conn->verify_status = 0;
	conn->system_trust = false;
}

bool imap_conn_is_tls(const struct imap_conn *conn)
{
	return conn->tls != NULL;
}

static bool is_ip_literal(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;
	return inet_pton(AF_INET, host, &a4) == 1
	       || inet_pton(AF_INET6, host, &a6) == 1;
}

static int tls_fail(struct imap_conn *conn, int code, const char *what,
		    struct error *err)
{
	return error_set(err, ERR_ACCOUNT, "%s: %s: %s", conn->peer, what,
			 gnutls_strerror(code));
}

/* The verification status in words, as GnuTLS prints it. */
static int verify_fail(struct imap_conn *conn, const char *host,
		       unsigned status, struct error *err)
{
	gnutls_datum_t out = {NULL, 0};
	if (gnutls_certificate_verification_status_print(
		    status, GNUTLS_CRT_X509, &out, 0)
	    < 0)
		return error_set(err, ERR_ACCOUNT,
				 "%s: certificate for %s not accepted",
				 conn->peer, host);
	/* GnuTLS ends each reason with ". " (and may count its NUL), which
	 * would leave a space at the end of our one-line message. */
	size_t len = out.size;
	while (len > 0 && (isspace(out.data[len - 1]) || !out.data[len - 1]))
		len--;
	int r = error_set(err, ERR_ACCOUNT,
			  "%s: certificate for %s not accepted: %.*s",
			  conn->peer, host, (int)len, (char *)out.data);
	gnutls_free(out.data);
	return r;
}

/* base64(SHA-256(SubjectPublicKeyInfo)) of the server's certificate must
 * equal pin: the key is what an operator can pin across renewals. */
static int check_pin(struct imap_conn *conn, const char *pin,
		     struct error *err)
{
	unsigned n = 0;
	const gnutls_datum_t *certs = gnutls_certificate_get_peers(conn->tls,
								    &n);
	if (!certs || n == 0)
		return error_set(err, ERR_ACCOUNT,
				 "%s: server sent no certificate", conn->peer);
	gnutls_pubkey_t key;
	gnutls_datum_t spki = {NULL, 0}, b64 = {NULL, 0};
	int r = gnutls_pubkey_init(&key);
	if (r < 0)
		return tls_fail(conn, r, "public key", err);
	r = gnutls_pubkey_import_x509_raw(key, &certs[0], GNUTLS_X509_FMT_DER,
					  0);
	if (r >= 0)
		r = gnutls_pubkey_export2(key, GNUTLS_X509_FMT_DER, &spki);
	gnutls_pubkey_deinit(key);
	if (r < 0)
		return tls_fail(conn, r, "server public key", err);
	size_t dlen = gnutls_hash_get_len(GNUTLS_DIG_SHA256);
	unsigned char *digest = xmalloc(dlen);
	r = gnutls_hash_fast(GNUTLS_DIG_SHA256, spki.data, spki.size, digest);
	gnutls_free(spki.data);
	if (r >= 0) {
		gnutls_datum_t d = {digest, (unsigned)dlen};
		r = gnutls_base64_encode2(&d, &b64);
	}
	free(digest);
	if (r < 0)
		return tls_fail(conn, r, "hashing the server public key", err);
	bool match = strlen(pin) == b64.size
		     && memcmp(pin, b64.data, b64.size) == 0;
	if (!match)
		r = error_set(err, ERR_ACCOUNT,
			      "%s: server public key does not match "
			      "pin_sha256 (it is %.*s)",
			      conn->peer, (int)b64.size, (char *)b64.data);
	else
		r = 0;
	gnutls_free(b64.data);
	return r;
}

/* The chain, the host name, and the purpose: a certificate whose
 * extended key usage says it is for TLS clients (or mail signing) only
 * must not stand in for a server (gnutls_certificate_verify_peers3 and
 * gnutls_session_set_verify_cert check the name only). */
static int verify_peer(gnutls_session_t tls, const char *host,
		       unsigned *status)
{
	gnutls_typed_vdata_st data[2] = {
		{.type = GNUTLS_DT_DNS_HOSTNAME, .data = (void *)host},
		{.type = GNUTLS_DT_KEY_PURPOSE_OID,
		 .data = (void *)GNUTLS_KP_TLS_WWW_SERVER},
	};
	return gnutls_certificate_verify_peers(tls, data, 2, status);
}

/*
 * Verification inside the handshake, before our first application byte.
 * When a ca_file is configured, the chain is checked against ca_file
 * first, and only if no signer was found there against ca_file plus the
 * system store, the same check as without a ca_file.
 */
static int verify_server(gnutls_session_t tls)
{
	struct imap_conn *conn = gnutls_session_get_ptr(tls);
	unsigned status = 0;
	int r = verify_peer(tls, conn->verify_host, &status);
	if (r >= 0 && (status & GNUTLS_CERT_SIGNER_NOT_FOUND) && !conn->system_trust) {
		conn->system_trust = true;
		/* Not fatal by itself: ca_file may be all there is. */
		gnutls_certificate_set_x509_system_trust(conn->cred);
		r = verify_peer(tls, conn->verify_host, &status);
	}
	if (r < 0)
		status |= GNUTLS_CERT_INVALID;
	conn->verify_status = status;
	return status ? GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR : 0;
}

/* GnuTLS's reads, served from conn->rbuf, refilled one recv() at a time. */
static ssize_t pull(gnutls_transport_ptr_t ptr, void *data, size_t len)
{
	struct imap_conn *conn = ptr;
	if (conn->rpos == conn->rlen) {
		ssize_t n;
		do
			n = recv(conn->fd, conn->rbuf, TLS_READ_AHEAD, 0);
		while (n < 0 && errno == EINTR);
		if (n <= 0) {
			if (n < 0)
				gnutls_transport_set_errno(conn->tls, errno);
			return n;
		}
		conn->rpos = 0;
		conn->rlen = (size_t)n;
	}
	size_t take = conn->rlen - conn->rpos < len ? conn->rlen - conn->rpos : len;
	memcpy(data, conn->rbuf + conn->rpos, take);
	conn->rpos += take;
	return (ssize_t)take;
}

static ssize_t push(gnutls_transport_ptr_t ptr, const void *data, size_t len)
{
	struct imap_conn *conn = ptr;
	ssize_t n = send(conn->fd, data, len, MSG_NOSIGNAL);
	if (n < 0)
		gnutls_transport_set_errno(conn->tls, errno);
	return n;
}

static int setup(struct imap_conn *conn, const struct imap_tls_options *opts,
		 struct error *err)
{
	int r = gnutls_certificate_allocate_credentials(&conn->cred);
	if (r < 0)
		return tls_fail(conn, r, "TLS credentials", err);
	/* No system store is not fatal by itself: verification fails in
	 * words if nothing trusts the server. */
	if (!opts->ca_file) {
		conn->system_trust = true;
		gnutls_certificate_set_x509_system_trust(conn->cred);
	} else {
		r = gnutls_certificate_set_x509_trust_file(
			conn->cred, opts->ca_file, GNUTLS_X509_FMT_PEM);
		if (r <= 0)
			return error_set(err, ERR_ACCOUNT,
					 "ca_file %s: no certificate loaded%s%s",
					 opts->ca_file, r < 0 ? ": " : "",
					 r < 0 ? gnutls_strerror(r) : "");
	}
	r = gnutls_init(&conn->tls, GNUTLS_CLIENT | GNUTLS_NONBLOCK);
	if (r < 0) {
		conn->tls = NULL;
		return tls_fail(conn, r, "TLS session", err);
	}
	if ((r = gnutls_set_default_priority(conn->tls)) < 0
	    || (r = gnutls_credentials_set(conn->tls, GNUTLS_CRD_CERTIFICATE,
					   conn->cred))
		       < 0)
		return tls_fail(conn, r, "TLS session", err);
	/* RFC 6066: SNI carries host names only, never addresses. */
	if (!is_ip_literal(opts->host)) {
		r = gnutls_server_name_set(conn->tls, GNUTLS_NAME_DNS,
					   opts->host, strlen(opts->host));
		if (r < 0)
			return tls_fail(conn, r, "TLS server name", err);
	}
	/* With the system store already loaded (no ca_file), the callback
	 * is one check. */
	conn->verify_host = xstrdup(opts->host);
	gnutls_session_set_ptr(conn->tls, conn);
	gnutls_session_set_verify_function(conn->tls, verify_server);
	conn->rbuf = xmalloc(TLS_READ_AHEAD);
	conn->rpos = conn->rlen = 0;
	gnutls_transport_set_ptr(conn->tls, conn);
	gnutls_transport_set_pull_function(conn->tls, pull);
	gnutls_transport_set_push_function(conn->tls, push);
	return 0;
}

int imap_conn_start_tls(struct imap_conn *conn,
			const struct imap_tls_options *opts, struct error *err)
{
	if (conn->tls)
		return error_set(err, ERR_ACCOUNT, "%s: TLS is already on",
				 conn->peer);
	if (setup(conn, opts, err) < 0) {
		imap_conn_tls_free(conn);
		return -ERR_ACCOUNT;
	}
	int r;
	for (;;) {
		r = gnutls_handshake(conn->tls);
		if (r >= 0)
			break;
		if (r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED
		    && gnutls_error_is_fatal(r))
			break;
		short rev;
		short ev = gnutls_record_get_direction(conn->tls) ? POLLOUT
								  : POLLIN;
		if (imap_conn_poll(conn, ev, &rev, err) < 0) {
			imap_conn_tls_free(conn);
			return error_prefix(err, "TLS handshake");
		}
	}
	if (r < 0) {
		if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR ||
		    (r == GNUTLS_E_CERTIFICATE_ERROR && conn->verify_status))
			verify_fail(conn, opts->host, conn->verify_status, err);
		else
			tls_fail(conn, r, "TLS handshake failed", err);
		imap_conn_tls_free(conn);
		return -ERR_ACCOUNT;
	}
	if (opts->pin_sha256 && check_pin(conn, opts->pin_sha256, err) < 0) {
		imap_conn_tls_free(conn);
		return -ERR_ACCOUNT;
	}
	return 0;
}

bool imap_conn_tls_buffered(const struct imap_conn *conn)
{
	return conn->tls &&
	       (conn->rpos < conn->rlen || gnutls_record_check_pending(conn->tls) > 0);
}

static int closed(struct imap_conn *conn, struct error *err)
{
	return error_set(err, ERR_ACCOUNT, "%s: server closed the connection",
			 conn->peer);
}

int imap_conn_wire_read(struct imap_conn *conn, void *buf, size_t cap,
			size_t *n_r, struct error *err)
{
	*n_r = 0;
	for (;;) {
		if (conn->tls) {
			ssize_t r = gnutls_record_recv(conn->tls, buf, cap);
			if (r > 0) {
				/* More records read ahead are decrypted now, not
				 * after another poll each. */
				size_t n = (size_t)r;
				while (n < cap && imap_conn_tls_buffered(conn)) {
					r = gnutls_record_recv(conn->tls, (char *)buf + n, cap - n);
					if (r <= 0)
						break; /* the next read reports it */
					n += (size_t)r;
				}
				*n_r = n;
				return 0;
			}
			if (r == 0 || r == GNUTLS_E_PREMATURE_TERMINATION)
				return closed(conn, err);
			if (r == GNUTLS_E_AGAIN)
				return 0;
			if (r == GNUTLS_E_INTERRUPTED || !gnutls_error_is_fatal((int)r))
				continue;
			return tls_fail(conn, (int)r, "TLS read", err);
		}
		ssize_t r = recv(conn->fd, buf, cap, 0);
		if (r > 0) {
			*n_r = (size_t)r;
			return 0;
		}
		if (r == 0)
			return closed(conn, err);
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno != EINTR)
			return error_errno(err, ERR_ACCOUNT, errno, "%s: read",
					   conn->peer);
	}
}

int imap_conn_wire_write(struct imap_conn *conn, const void *buf, size_t len,
			 size_t *n_r, struct error *err)
{
	*n_r = 0;
	for (;;) {
		if (conn->tls) {
			if (conn->tls_retry_len)
				len = conn->tls_retry_len;
			ssize_t r = gnutls_record_send(conn->tls, buf, len);
			if (r >= 0) {
				conn->tls_retry_len = 0;
				*n_r = (size_t)r;
				return 0;
			}
			if (r == GNUTLS_E_AGAIN) {
				conn->tls_retry_len = len;
				return 0;
			}
			if (r == GNUTLS_E_INTERRUPTED)
				continue;
			return tls_fail(conn, (int)r, "TLS write", err);
		}
		ssize_t r = send(conn->fd, buf, len, MSG_NOSIGNAL);
		if (r >= 0) {
			*n_r = (size_t)r;
			return 0;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno == EPIPE || errno == ECONNRESET)
			return closed(conn, err);
		if (errno != EINTR)
			return error_errno(err, ERR_ACCOUNT, errno, "%s: write",
					   conn->peer);
	}
}
