/* SPDX-License-Identifier: MIT */
#include "account.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs cmd with /bin/sh, its stdout into out (stdin from /dev/null,
 * stderr passed through so the user sees why `pass` failed). */
static int run_capture(const char *cmd, struct buf *out, int *status_r)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, STDIN_FILENO);
		dup2(fds[1], STDOUT_FILENO);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	int r = 0;
	char chunk[4096];
	for (;;) {
		ssize_t n = read(fds[0], chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (buf_add(out, chunk, (size_t)n) < 0) {
			/* Too much: stop reading, the child gets SIGPIPE. */
			r = -2;
			break;
		}
	}
	explicit_bzero(chunk, sizeof(chunk));
	close(fds[0]);
	if (r == -2)
		kill(pid, SIGTERM);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	*status_r = status;
	return r;
}

int account_secret(const struct config_account *a, char **secret_r,
		   struct error *err)
{
	if (a->remote.password) {
		*secret_r = xstrdup(a->remote.password);
		return 0;
	}
	struct buf out = BUF_INIT(ACCOUNT_SECRET_MAX);
	int status = 0;
	int r = run_capture(a->remote.password_command, &out, &status);
	if (r < 0) {
		explicit_bzero(out.data, out.len);
		buf_release(&out);
		return error_set(err, ERR_ACCOUNT, "account %s: password_command %s",
				 a->name, r == -1 ? "could not be started"
						  : "printed more than 64 KiB");
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		explicit_bzero(out.data, out.len);
		buf_release(&out);
		if (WIFEXITED(status))
			return error_set(err, ERR_ACCOUNT,
					 "account %s: password_command exited with status %d",
					 a->name, WEXITSTATUS(status));
		return error_set(err, ERR_ACCOUNT,
				 "account %s: password_command was killed by signal %d",
				 a->name, WTERMSIG(status));
	}
	/* `pass` and friends end with a newline that is not the password. */
	if (out.len && out.data[out.len - 1] == '\n')
		out.data[--out.len] = '\0';
	if (out.len && out.data[out.len - 1] == '\r')
		out.data[--out.len] = '\0';
	if (out.len == 0 || strlen(out.data) != out.len) {
		explicit_bzero(out.data, out.len);
		buf_release(&out);
		return error_set(err, ERR_ACCOUNT, "account %s: password_command printed %s",
				 a->name, out.len ? "a NUL byte" : "nothing");
	}
	*secret_r = buf_detach(&out, NULL);
	return 0;
}

void account_secret_free(char *secret)
{
	if (!secret)
		return;
	explicit_bzero(secret, strlen(secret));
	free(secret);
}

void account_imap_options(const struct config_account *a, const char *secret,
			  enum imap_auth *auth, struct imap_options *o)
{
	memset(o, 0, sizeof(*o));
	o->host = a->remote.host;
	o->port = a->remote.port;
	switch (a->remote.tls) {
	case CONFIG_TLS_IMPLICIT: o->tls = IMAP_TLS_IMPLICIT; break;
	case CONFIG_TLS_STARTTLS: o->tls = IMAP_TLS_STARTTLS; break;
	case CONFIG_TLS_NONE: o->tls = IMAP_TLS_NONE; break;
	}
	o->allow_plaintext = a->remote.allow_plaintext;
	o->ca_file = a->remote.ca_file;
	o->pin_sha256 = a->remote.pin_sha256;
	o->user = a->remote.user;
	o->secret = secret;
	for (size_t i = 0; i < a->remote.n_auth; i++) {
		switch (a->remote.auth[i]) {
		case CONFIG_AUTH_PLAIN: auth[i] = IMAP_AUTH_PLAIN; break;
		case CONFIG_AUTH_LOGIN: auth[i] = IMAP_AUTH_LOGIN; break;
		case CONFIG_AUTH_OAUTHBEARER: auth[i] = IMAP_AUTH_OAUTHBEARER; break;
		case CONFIG_AUTH_XOAUTH2: auth[i] = IMAP_AUTH_XOAUTH2; break;
		case CONFIG_AUTH_COUNT_: break;
		}
	}
	o->auth = auth;
	o->n_auth = a->remote.n_auth;
	o->compress = a->remote.compress;
	o->timeout_ms = a->remote.timeout > 3600 ? 3600 * 1000
						 : (int)a->remote.timeout * 1000;
}
