/* SPDX-License-Identifier: MIT */
/*
 * A throwaway certificate authority and server certificate for each run,
 * made with the GnuTLS API (no certtool processes: faster startup).  ECDSA
 * P-256 keys because they take microseconds to generate.
 */
#include "harness-private.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Long enough for any test run, short enough to be obviously throwaway. */
#define CERT_LIFETIME_SECONDS (7 * 24 * 3600)

struct pair {
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;
};

static void pair_free(struct pair *p)
{
	if (p->crt)
		gnutls_x509_crt_deinit(p->crt);
	if (p->key)
		gnutls_x509_privkey_deinit(p->key);
}

static int tls_fail(struct error *err, const char *what, int r)
{
	return error_set(err, ERR_ACCOUNT, "certificate: %s: %s", what,
			 gnutls_strerror(r));
}

/*
 * Makes the key and the fields both certificates share; issuer NULL means
 * self-signed (the CA).  The caller adds its extensions before signing.
 */
static int pair_begin(struct pair *p, const char *cn, struct error *err)
{
	unsigned char serial[16];
	int r = gnutls_x509_privkey_init(&p->key);
	if (r >= 0)
		r = gnutls_x509_privkey_generate(
			p->key, GNUTLS_PK_ECDSA,
			GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
	if (r < 0)
		return tls_fail(err, "generate key", r);
	r = gnutls_x509_crt_init(&p->crt);
	if (r >= 0)
		r = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial));
	/* A serial number is a positive integer: clear the sign bit. */
	serial[0] &= 0x7f;
	time_t now = time(NULL);
	if (r >= 0)
		r = gnutls_x509_crt_set_version(p->crt, 3);
	if (r >= 0)
		r = gnutls_x509_crt_set_serial(p->crt, serial, sizeof(serial));
	/* An hour back, so that clock skew between steps cannot matter. */
	if (r >= 0)
		r = gnutls_x509_crt_set_activation_time(p->crt, now - 3600);
	if (r >= 0)
		r = gnutls_x509_crt_set_expiration_time(
			p->crt, now + CERT_LIFETIME_SECONDS);
	if (r >= 0)
		r = gnutls_x509_crt_set_dn_by_oid(p->crt,
						  GNUTLS_OID_X520_COMMON_NAME,
						  0, cn, (unsigned)strlen(cn));
	if (r >= 0)
		r = gnutls_x509_crt_set_key(p->crt, p->key);
	if (r < 0)
		return tls_fail(err, cn, r);
	return 0;
}

static int set_key_ids(struct pair *p, struct pair *issuer)
{
	unsigned char id[64];
	size_t len = sizeof(id);
	int r = gnutls_x509_crt_get_key_id(p->crt, 0, id, &len);
	if (r >= 0)
		r = gnutls_x509_crt_set_subject_key_id(p->crt, id, len);
	len = sizeof(id);
	if (r >= 0)
		r = gnutls_x509_crt_get_key_id(issuer->crt, 0, id, &len);
	if (r >= 0)
		r = gnutls_x509_crt_set_authority_key_id(p->crt, id, len);
	return r;
}

static int make_ca(struct pair *ca, struct error *err)
{
	int r = pair_begin(ca, "tidemail test CA (throwaway)", err);
	if (r < 0)
		return r;
	r = gnutls_x509_crt_set_basic_constraints(ca->crt, 1, -1);
	if (r >= 0)
		r = gnutls_x509_crt_set_key_usage(
			ca->crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN);
	if (r >= 0)
		r = set_key_ids(ca, ca);
	if (r >= 0)
		r = gnutls_x509_crt_sign2(ca->crt, ca->crt, ca->key,
					  GNUTLS_DIG_SHA256, 0);
	return r < 0 ? tls_fail(err, "CA", r) : 0;
}

static int make_server(struct pair *srv, struct pair *ca, struct error *err)
{
	static const unsigned char loopback[4] = {127, 0, 0, 1};
	int r = pair_begin(srv, "localhost", err);
	if (r < 0)
		return r;
	r = gnutls_x509_crt_set_basic_constraints(srv->crt, 0, -1);
	if (r >= 0)
		r = gnutls_x509_crt_set_key_usage(
			srv->crt, GNUTLS_KEY_DIGITAL_SIGNATURE);
	if (r >= 0)
		r = gnutls_x509_crt_set_key_purpose_oid(
			srv->crt, GNUTLS_KP_TLS_WWW_SERVER, 0);
	if (r >= 0)
		r = gnutls_x509_crt_set_subject_alt_name(
			srv->crt, GNUTLS_SAN_DNSNAME, "localhost", 9,
			GNUTLS_FSAN_APPEND);
	if (r >= 0)
		r = gnutls_x509_crt_set_subject_alt_name(
			srv->crt, GNUTLS_SAN_IPADDRESS, loopback,
			sizeof(loopback), GNUTLS_FSAN_APPEND);
	if (r >= 0)
		r = set_key_ids(srv, ca);
	if (r >= 0)
		r = gnutls_x509_crt_sign2(srv->crt, ca->crt, ca->key,
					  GNUTLS_DIG_SHA256, 0);
	return r < 0 ? tls_fail(err, "server certificate", r) : 0;
}

/* Writes a PEM datum from GnuTLS to dir/name and frees it. */
static int write_pem(const char *dir, const char *name, gnutls_datum_t *d,
		     mode_t mode, struct error *err)
{
	char *text = xstrndup((const char *)d->data, d->size);
	gnutls_free(d->data);
	char *path = xasprintf("%s/%s", dir, name);
	int r = harness_write_file(path, text, mode, err);
	free(path);
	free(text);
	return r;
}

int harness_make_tls(const char *dir, struct error *err)
{
	struct pair ca = {NULL, NULL}, srv = {NULL, NULL};
	gnutls_datum_t d;
	int r = make_ca(&ca, err);
	if (r == 0)
		r = make_server(&srv, &ca, err);
	if (r == 0) {
		r = gnutls_x509_crt_export2(ca.crt, GNUTLS_X509_FMT_PEM, &d);
		r = r < 0 ? tls_fail(err, "export CA", r)
			  : write_pem(dir, "ca.pem", &d, 0644, err);
	}
	if (r == 0) {
		r = gnutls_x509_crt_export2(srv.crt, GNUTLS_X509_FMT_PEM, &d);
		r = r < 0 ? tls_fail(err, "export certificate", r)
			  : write_pem(dir, "server.pem", &d, 0644, err);
	}
	if (r == 0) {
		r = gnutls_x509_privkey_export2(srv.key, GNUTLS_X509_FMT_PEM,
						&d);
		r = r < 0 ? tls_fail(err, "export key", r)
			  : write_pem(dir, "server-key.pem", &d, 0600, err);
	}
	pair_free(&srv);
	pair_free(&ca);
	return r;
}
