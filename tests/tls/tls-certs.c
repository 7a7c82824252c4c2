/* SPDX-License-Identifier: MIT */
/*
 * The certificate matrix, made by running certtool with templates written
 * to the temporary directory.  Dates are fixed (2020, 2099) rather than
 * relative, so "expired" and "not yet valid" do not depend on how fast
 * the test runs.
 */
#include "tls-certs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Pieces of the certtool templates. */
#define DAYS_30 "expiration_days = 30\n"
#define DATES(from, to)                                                   \
	"activation_date = \"" from " 00:00:00\"\n"                        \
	"expiration_date = \"" to " 00:00:00\"\n"
#define CA(cn, validity) "cn = \"" cn "\"\nca\ncert_signing_key\n" validity
#define NAMED(name) "cn = \"" name "\"\ndns_name = \"" name "\"\n"
#define LOCAL NAMED("localhost") "ip_address = \"127.0.0.1\"\n"
#define LEAF(names, validity) names "tls_www_server\nsigning_key\n" validity

/* certtool templates, by file name. */
static const struct {
	const char *name, *text;
} templates[] = {
	{"root.tmpl", CA("tidemail test root", DAYS_30)},
	{"stranger.tmpl", CA("tidemail stranger CA", DAYS_30)},
	{"int.tmpl", CA("tidemail intermediate", DAYS_30)},
	{"int-expired.tmpl",
	 CA("tidemail expired intermediate", DATES("2020-01-01", "2020-02-01"))},
	/* May sign server certificates only, not another CA. */
	{"int-pl0.tmpl", CA("tidemail last CA", "path_len = 0\n" DAYS_30)},
	{"int2.tmpl", CA("tidemail CA below the last", DAYS_30)},
	/* May sign for example.org and below only. */
	{"int-nc.tmpl", CA("tidemail example.org CA",
			   "nc_permit_dns = \"example.org\"\n" DAYS_30)},
	/* Signs, but its basic constraints say CA:FALSE. */
	{"int-noca.tmpl", "cn = \"tidemail not a CA\"\ncert_signing_key\n" DAYS_30},
	{"leaf.tmpl", LEAF(LOCAL "ip_address = \"::1\"\n", DAYS_30)},
	{"leaf-expired.tmpl", LEAF(LOCAL, DATES("2020-01-01", "2020-02-01"))},
	{"leaf-notyet.tmpl", LEAF(LOCAL, DATES("2099-01-01", "2099-02-01"))},
	{"leaf-wrong.tmpl", LEAF(NAMED("mail.example.org"), DAYS_30)},
	{"leaf-wild.tmpl", LEAF(NAMED("*.example.org"), DAYS_30)},
	{"leaf-wildlocal.tmpl", LEAF(NAMED("*.localhost"), DAYS_30)},
	/* The key purpose (extended key usage) says TLS client only. */
	{"leaf-client.tmpl", LOCAL "tls_www_client\nsigning_key\n" DAYS_30},
	/* No extended key usage: good for any purpose (RFC 5280 4.2.1.12). */
	{"leaf-any.tmpl", LOCAL "signing_key\n" DAYS_30},
	{"other.tmpl", "cn = \"tidemail unused key\"\n" DAYS_30},
};

/* One certtool run: out is made from template with key, signed by
 * ca/ca_key (NULL: self-signed) with hash (NULL: certtool's default). */
struct cert_step {
	const char *out, *tmpl, *key, *ca, *ca_key, *hash;
};

static const char *const keys[] = {"root.key", "stranger.key", "int.key",
				   "int2.key", "leaf.key", "other.key"};

/* A server certificate for leaf.key signed by the root. */
#define BY_ROOT(out, tmpl) \
	{out, tmpl, "leaf.key", "root.pem", "root.key", NULL}
/* A server certificate from leaf.tmpl signed by ca with int.key. */
#define BY_INT(out, ca) {out, "leaf.tmpl", "leaf.key", ca, "int.key", NULL}

static const struct cert_step steps[] = {
	{"root.pem", "root.tmpl", "root.key", NULL, NULL, NULL},
	{"stranger.pem", "stranger.tmpl", "stranger.key", NULL, NULL, NULL},
	{"other.pem", "other.tmpl", "other.key", NULL, NULL, NULL},
	{"int.pem", "int.tmpl", "int.key", "root.pem", "root.key", NULL},
	{"int-expired.pem", "int-expired.tmpl", "int.key", "root.pem",
	 "root.key", NULL},
	{"int-noca.pem", "int-noca.tmpl", "int.key", "root.pem", "root.key",
	 NULL},
	{"int-pl0.pem", "int-pl0.tmpl", "int.key", "root.pem", "root.key", NULL},
	{"int2.pem", "int2.tmpl", "int2.key", "int-pl0.pem", "int.key", NULL},
	{"int-nc.pem", "int-nc.tmpl", "int.key", "root.pem", "root.key", NULL},
	{"leaf-pl.pem", "leaf.tmpl", "leaf.key", "int2.pem", "int2.key", NULL},
	{"leaf-self.pem", "leaf.tmpl", "leaf.key", NULL, NULL, NULL},
	{"leaf-stranger.pem", "leaf.tmpl", "leaf.key", "stranger.pem",
	 "stranger.key", NULL},
	{"leaf-sha1.pem", "leaf.tmpl", "leaf.key", "root.pem", "root.key",
	 "SHA1"},
	BY_ROOT("leaf-root.pem", "leaf.tmpl"),
	BY_ROOT("leaf-expired.pem", "leaf-expired.tmpl"),
	BY_ROOT("leaf-notyet.pem", "leaf-notyet.tmpl"),
	BY_ROOT("leaf-wrong.pem", "leaf-wrong.tmpl"),
	BY_ROOT("leaf-wild.pem", "leaf-wild.tmpl"),
	BY_ROOT("leaf-wildlocal.pem", "leaf-wildlocal.tmpl"),
	BY_ROOT("leaf-client.pem", "leaf-client.tmpl"),
	BY_ROOT("leaf-any.pem", "leaf-any.tmpl"),
	BY_INT("leaf-int.pem", "int.pem"),
	BY_INT("leaf-noca.pem", "int-noca.pem"),
	BY_INT("leaf-expint.pem", "int-expired.pem"),
	BY_INT("leaf-nc.pem", "int-nc.pem"),
	BY_INT("leaf-pl0.pem", "int-pl0.pem"),
};

/* What each identity sends: the server certificate, then intermediates. */
static const struct {
	enum tls_ident_id id;
	const char *parts[3];
} idents[] = {
	{TLS_ID_CHAIN, {"leaf-int.pem", "int.pem"}},
	{TLS_ID_DIRECT, {"leaf-root.pem", NULL}},
	{TLS_ID_LEAF_ONLY, {"leaf-int.pem", NULL}},
	{TLS_ID_EXPIRED, {"leaf-expired.pem", NULL}},
	{TLS_ID_NOT_YET, {"leaf-notyet.pem", NULL}},
	{TLS_ID_SELF_SIGNED, {"leaf-self.pem", NULL}},
	{TLS_ID_UNKNOWN_CA, {"leaf-stranger.pem", "stranger.pem"}},
	{TLS_ID_WRONG_HOST, {"leaf-wrong.pem", NULL}},
	{TLS_ID_WILDCARD, {"leaf-wild.pem", NULL}},
	{TLS_ID_WILDCARD_LOCAL, {"leaf-wildlocal.pem", NULL}},
	{TLS_ID_NON_CA, {"leaf-noca.pem", "int-noca.pem"}},
	{TLS_ID_EXPIRED_INT, {"leaf-expint.pem", "int-expired.pem"}},
	{TLS_ID_PATH_LEN_OK, {"leaf-pl0.pem", "int-pl0.pem", NULL}},
	{TLS_ID_PATH_LEN, {"leaf-pl.pem", "int2.pem", "int-pl0.pem"}},
	{TLS_ID_NAME_CONSTRAINED, {"leaf-nc.pem", "int-nc.pem", NULL}},
	{TLS_ID_CLIENT_ONLY, {"leaf-client.pem", NULL}},
	{TLS_ID_ANY_PURPOSE, {"leaf-any.pem", NULL}},
	{TLS_ID_SHA1, {"leaf-sha1.pem", NULL}},
};

/* Runs certtool with argv in dir; its chatter goes to dir/certtool.log. */
static int certtool(const char *dir, char *const argv[], struct error *err)
{
	char *log = xasprintf("%s/certtool.log", dir);
	pid_t pid = fork();
	if (pid < 0) {
		free(log);
		return error_errno(err, ERR_ACCOUNT, errno, "fork");
	}
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd < 0 || chdir(dir) < 0)
			_exit(126);
		dup2(fd, 1);
		dup2(fd, 2);
		execvp("certtool", argv);
		_exit(127);
	}
	free(log);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return error_errno(err, ERR_ACCOUNT, errno, "waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return error_set(err, ERR_ACCOUNT,
				 "certtool %s failed (status %d, see %s/certtool.log)",
				 argv[1], status, dir);
	return 0;
}

static int write_file(const char *path, const void *data, size_t len,
		      struct error *err)
{
	FILE *f = fopen(path, "we");
	if (!f)
		return error_errno(err, ERR_ACCOUNT, errno, "%s", path);
	bool ok = fwrite(data, 1, len, f) == len;
	if (fclose(f) != 0 || !ok)
		return error_errno(err, ERR_ACCOUNT, errno, "writing %s", path);
	return 0;
}

static int make_key(const char *dir, const char *key, struct error *err)
{
	char *argv[] = {"certtool", "--generate-privkey", "--key-type=ecdsa",
			"--curve=secp256r1", "--outfile", (char *)key, NULL};
	return certtool(dir, argv, err);
}

static int make_cert(const char *dir, const struct cert_step *s,
		     struct error *err)
{
	if (!s->ca) {
		char *argv[] = {"certtool", "--generate-self-signed",
				"--load-privkey", (char *)s->key, "--template",
				(char *)s->tmpl, "--outfile", (char *)s->out,
				NULL};
		return certtool(dir, argv, err);
	}
	char *hash = s->hash ? xasprintf("--hash=%s", s->hash) : NULL;
	char *argv[] = {"certtool", "--generate-certificate", "--load-privkey",
			(char *)s->key, "--load-ca-certificate", (char *)s->ca,
			"--load-ca-privkey", (char *)s->ca_key, "--template",
			(char *)s->tmpl, "--outfile", (char *)s->out, hash, NULL};
	int r = certtool(dir, argv, err);
	free(hash);
	return r;
}

/* base64(SHA-256(SubjectPublicKeyInfo)) of the certificate in path,
 * computed here from the certificate (not by the code under test). */
static int pin_of(const char *path, char **pin_r, struct error *err)
{
	gnutls_datum_t pem = {NULL, 0}, b64 = {NULL, 0};
	gnutls_x509_crt_t crt = NULL;
	unsigned char id[32];
	size_t id_len = sizeof(id);
	int r = gnutls_load_file(path, &pem);
	if (r >= 0)
		r = gnutls_x509_crt_init(&crt);
	if (r >= 0)
		r = gnutls_x509_crt_import(crt, &pem, GNUTLS_X509_FMT_PEM);
	if (r >= 0)
		r = gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, id,
					       &id_len);
	if (r >= 0) {
		gnutls_datum_t d = {id, (unsigned)id_len};
		r = gnutls_base64_encode2(&d, &b64);
	}
	if (crt)
		gnutls_x509_crt_deinit(crt);
	gnutls_free(pem.data);
	if (r < 0)
		return error_set(err, ERR_ACCOUNT, "pin of %s: %s", path,
				 gnutls_strerror(r));
	*pin_r = xstrndup((char *)b64.data, b64.size);
	gnutls_free(b64.data);
	return 0;
}

static int concat(const char *dir, const char *out, const char *const parts[3],
		  struct error *err)
{
	struct buf all = BUF_INIT(BUF_UNLIMITED);
	int r = 0;
	for (size_t i = 0; i < 3 && parts[i] && r == 0; i++) {
		char *p = xasprintf("%s/%s", dir, parts[i]);
		gnutls_datum_t d = {NULL, 0};
		if (gnutls_load_file(p, &d) < 0)
			r = error_set(err, ERR_ACCOUNT, "cannot read %s", p);
		else
			buf_add(&all, d.data, d.size);
		gnutls_free(d.data);
		free(p);
	}
	if (r == 0)
		r = write_file(out, all.data, all.len, err);
	buf_release(&all);
	return r;
}

static int make_all(struct tls_certs *tc, struct error *err)
{
	const char *dir = tc->dir;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(templates); i++) {
		char *p = xasprintf("%s/%s", dir, templates[i].name);
		int r = write_file(p, templates[i].text,
				   strlen(templates[i].text), err);
		free(p);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < UTIL_ARRAY_LEN(keys); i++)
		if (make_key(dir, keys[i], err) < 0)
			return -ERR_ACCOUNT;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(steps); i++)
		if (make_cert(dir, &steps[i], err) < 0)
			return -ERR_ACCOUNT;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(idents); i++) {
		struct tls_ident *id = &tc->ids[idents[i].id];
		id->chain = xasprintf("%s/ident-%zu.pem", dir, i);
		id->key = xasprintf("%s/leaf.key", dir);
		if (concat(dir, id->chain, idents[i].parts, err) < 0)
			return -ERR_ACCOUNT;
	}
	tc->root_pem = xasprintf("%s/root.pem", dir);
	char *leaf = xasprintf("%s/leaf-int.pem", dir);
	char *other = xasprintf("%s/other.pem", dir);
	int r = pin_of(leaf, &tc->leaf_pin, err);
	if (r == 0)
		r = pin_of(other, &tc->other_pin, err);
	free(leaf);
	free(other);
	return r;
}

int tls_certs_make(struct tls_certs *tc, struct error *err)
{
	memset(tc, 0, sizeof(*tc));
	const char *tmp = getenv("TMPDIR");
	tc->dir = xasprintf("%s/tidemail-tls-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tc->dir)) {
		int e = errno;
		free(tc->dir);
		tc->dir = NULL;
		return error_errno(err, ERR_ACCOUNT, e, "mkdtemp");
	}
	int r = make_all(tc, err);
	if (r < 0)
		tls_certs_free(tc);
	return r;
}

void tls_certs_free(struct tls_certs *tc)
{
	if (tc->dir) {
		DIR *d = opendir(tc->dir);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			char *p = xasprintf("%s/%s", tc->dir, de->d_name);
			unlink(p);
			free(p);
		}
		if (d)
			closedir(d);
		rmdir(tc->dir);
	}
	for (size_t i = 0; i < TLS_ID_COUNT_; i++) {
		free(tc->ids[i].chain);
		free(tc->ids[i].key);
	}
	free(tc->dir);
	free(tc->root_pem);
	free(tc->leaf_pin);
	free(tc->other_pin);
	memset(tc, 0, sizeof(*tc));
}
