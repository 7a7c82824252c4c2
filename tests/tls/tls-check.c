/* SPDX-License-Identifier: MIT */
#include "tls-check.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "account.h"
#include "config.h"

/* The account as a config file says it. */
static char *account_yaml(const struct tls_account *acct)
{
	struct buf y = BUF_INIT(BUF_UNLIMITED);
	buf_addf(&y, "accounts:\n  t:\n    remote:\n      host: %s\n"
		     "      port: %u\n      tls: %s\n",
		 acct->host, acct->port, acct->starttls ? "starttls" : "implicit");
	if (acct->ca_file)
		buf_addf(&y, "      ca_file: %s\n", acct->ca_file);
	if (acct->pin)
		buf_addf(&y, "      pin_sha256: \"%s\"\n", acct->pin);
	buf_addf(&y, "      user: %s\n      password: \"%s\"\n"
		     "      timeout: 3s\n"
		     "    local: {path: /nonexistent/tidemail-tls-test}\n",
		 TLS_CHECK_USER, TLS_CHECK_SECRET);
	return buf_detach(&y, NULL);
}

int tls_check_connect(const struct tls_account *acct,
		      struct imap_client **c_r, struct error *err)
{
	char *yaml = account_yaml(acct);
	struct config cfg;
	struct config_env env = {"/nonexistent/home", NULL, NULL};
	*c_r = NULL;
	int r = config_load_string(&cfg, "tls-test.yaml", yaml, strlen(yaml),
				   &env, err);
	free(yaml);
	if (r < 0)
		return error_prefix(err, "test config");
	const struct config_account *a = config_find_account(&cfg, "t");
	char *secret = NULL;
	r = account_secret(a, &secret, err);
	if (r == 0) {
		enum imap_auth auth[CONFIG_AUTH_COUNT_];
		struct imap_options o;
		account_imap_options(a, secret, auth, &o);
		r = imap_connect(&o, c_r, err);
	}
	account_secret_free(secret);
	config_free(&cfg);
	return r;
}

char *tls_check_b64(const void *data, size_t len)
{
	gnutls_datum_t in = {(unsigned char *)(uintptr_t)data, (unsigned)len};
	gnutls_datum_t out = {NULL, 0};
	if (gnutls_base64_encode2(&in, &out) < 0)
		abort();
	char *s = xstrndup((char *)out.data, out.size);
	gnutls_free(out.data);
	return s;
}

char *tls_check_plain_b64(void)
{
	static const char plain[] = "\0" TLS_CHECK_USER "\0" TLS_CHECK_SECRET;
	return tls_check_b64(plain, sizeof(plain) - 1);
}

static bool contains(const void *data, size_t len, const char *needle)
{
	return memmem(data, len, needle, strlen(needle)) != NULL;
}

/* The secret inside any base64 text, whatever precedes it: with s bytes
 * before it, the 4-character groups that encode only secret bytes are
 * the same whatever those bytes were. */
static char *b64_core(size_t s)
{
	size_t n = strlen(TLS_CHECK_SECRET), total = s + n;
	char *in = xcalloc(1, total);
	memcpy(in + s, TLS_CHECK_SECRET, n);
	char *enc = tls_check_b64(in, total);
	free(in);
	size_t first = (s + 2) / 3; /* first group wholly inside */
	size_t last = total / 3;    /* groups before this are whole */
	char *core = xstrndup(enc + 4 * first, 4 * (last - first));
	free(enc);
	return core;
}

unsigned tls_check_secret_seen(const void *data, size_t len)
{
	unsigned seen = contains(data, len, TLS_CHECK_SECRET);
	char *plain = tls_check_plain_b64();
	seen += contains(data, len, plain);
	free(plain);
	for (size_t s = 0; s < 3; s++) {
		char *core = b64_core(s);
		seen += contains(data, len, core);
		free(core);
	}
	return seen;
}

char *tls_check_expand(const char *text, unsigned port)
{
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	char *plain = tls_check_plain_b64();
	for (const char *p = text; *p; p++) {
		if (p[0] == '$' && p[1] == 'P') {
			buf_addf(&b, "%u", port);
			p++;
		} else if (p[0] == '$' && p[1] == 'B') {
			buf_adds(&b, plain);
			p++;
		} else {
			buf_addc(&b, *p);
		}
	}
	free(plain);
	return buf_detach(&b, NULL);
}

/* The test's environment with HOME set to dir and no XDG directories,
 * so that nothing of the user's is read. */
static char **child_env(const char *dir)
{
	extern char **environ;
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = xcalloc(n + 2, sizeof(*env));
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "HOME=", 5) != 0
		    && strncmp(environ[i], "XDG_", 4) != 0)
			env[k++] = xstrdup(environ[i]);
	env[k] = xasprintf("HOME=%s", dir);
	return env;
}

int tls_check_run(const char *exe, const char *dir,
		  const struct tls_account *acct, int *status_r,
		  char **stderr_r, struct error *err)
{
	char *cfg = xasprintf("%s/tidemail-%u.yaml", dir, acct->port);
	char *yaml = account_yaml(acct);
	/* 0600: the loader refuses a password others can read. */
	int fd = open(cfg, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	bool ok = fd >= 0 && write(fd, yaml, strlen(yaml)) == (ssize_t)strlen(yaml);
	if (fd >= 0)
		close(fd);
	free(yaml);
	int pipefd[2];
	if (!ok || pipe2(pipefd, O_CLOEXEC) < 0) {
		int e = errno;
		free(cfg);
		return error_errno(err, ERR_ACCOUNT, e, "test config");
	}
	/* Everything the child needs is made before fork(): the fake
	 * server's thread may hold the allocator's lock at that moment. */
	char **env = child_env(dir);
	char *argv[] = {(char *)exe, "-c", cfg, "check", "t", NULL};
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(null, 1);
		dup2(pipefd[1], 2);
		execve(exe, argv, env);
		_exit(127);
	}
	if (null >= 0)
		close(null);
	close(pipefd[1]);
	free(cfg);
	for (char **e = env; *e; e++)
		free(*e);
	free(env);
	struct buf out = BUF_INIT(BUF_UNLIMITED);
	char tmp[4096];
	ssize_t n;
	while ((n = read(pipefd[0], tmp, sizeof(tmp))) > 0
	       || (n < 0 && errno == EINTR))
		if (n > 0)
			buf_add(&out, tmp, (size_t)n);
	close(pipefd[0]);
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) < 0) {
		buf_release(&out);
		return error_errno(err, ERR_ACCOUNT, errno, "running %s", exe);
	}
	*status_r = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	*stderr_r = buf_detach(&out, NULL);
	return 0;
}
