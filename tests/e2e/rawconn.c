/* SPDX-License-Identifier: MIT */
#include "rawconn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define READ_TIMEOUT_SECONDS 5
#define LINE_MAX_BYTES (64 * 1024)

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int rawconn_open(struct rawconn *c, const char *host, uint16_t port,
		 const char *from)
{
	memset(c, 0, sizeof(*c));
	buf_init(&c->in, LINE_MAX_BYTES);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	struct timeval tv = {READ_TIMEOUT_SECONDS, 0};
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	struct sockaddr_in sa = {.sin_family = AF_INET};
	if (from) {
		inet_pton(AF_INET, from, &sa.sin_addr);
		if (bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return -errno;
	}
	sa.sin_port = htons(port);
	inet_pton(AF_INET, host, &sa.sin_addr);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return 0;
}

int rawconn_tls(struct rawconn *c, const char *ca_file,
		const char *verify_name)
{
	int r = gnutls_certificate_allocate_credentials(&c->cred);
	if (r < 0)
		return r;
	r = ca_file ? gnutls_certificate_set_x509_trust_file(
			      c->cred, ca_file, GNUTLS_X509_FMT_PEM)
		    : gnutls_certificate_set_x509_system_trust(c->cred);
	if (r < 0)
		return r;
	r = gnutls_init(&c->tls, GNUTLS_CLIENT);
	if (r < 0) {
		c->tls = NULL;
		return r;
	}
	struct in_addr ip;
	/* SNI carries host names only (RFC 6066 section 3). */
	if (inet_pton(AF_INET, verify_name, &ip) != 1)
		gnutls_server_name_set(c->tls, GNUTLS_NAME_DNS, verify_name,
				       strlen(verify_name));
	gnutls_set_default_priority(c->tls);
	gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, c->cred);
	gnutls_session_set_verify_cert(c->tls, verify_name, 0);
	gnutls_transport_set_int(c->tls, c->fd);
	gnutls_handshake_set_timeout(c->tls, READ_TIMEOUT_SECONDS * 1000);
	do {
		r = gnutls_handshake(c->tls);
	} while (r < 0 && !gnutls_error_is_fatal(r));
	if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR)
		c->verify_status = gnutls_session_get_verify_cert_status(c->tls);
	return r;
}

int rawconn_send(struct rawconn *c, const char *text)
{
	size_t len = strlen(text);
	while (len > 0) {
		ssize_t n = c->tls ? gnutls_record_send(c->tls, text, len)
				   : send(c->fd, text, len, MSG_NOSIGNAL);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED ||
		    (n < 0 && !c->tls && errno == EINTR))
			continue;
		if (n <= 0)
			return -1;
		text += n;
		len -= (size_t)n;
	}
	return 0;
}

char *rawconn_line(struct rawconn *c)
{
	/* TLS 1.3 session tickets make gnutls_record_recv() return
	 * GNUTLS_E_AGAIN even on a blocking socket: retry, within the
	 * same limit as a plain read. */
	long long deadline = now_ms() + READ_TIMEOUT_SECONDS * 1000;
	for (;;) {
		char *nl = memchr(c->in.data, '\n', c->in.len);
		if (nl) {
			size_t len = (size_t)(nl - c->in.data);
			char *line = xstrndup(c->in.data,
					      len > 0 && nl[-1] == '\r' ? len - 1
									: len);
			buf_consume(&c->in, len + 1);
			return line;
		}
		char chunk[4096];
		ssize_t n = c->tls ? gnutls_record_recv(c->tls, chunk,
							sizeof(chunk))
				   : recv(c->fd, chunk, sizeof(chunk), 0);
		if ((n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) &&
		    now_ms() < deadline)
			continue;
		if (n <= 0 || buf_add(&c->in, chunk, (size_t)n) < 0)
			return NULL;
	}
}

char *rawconn_command(struct rawconn *c, const char *tag,
		      const char *command, char **untagged_r)
{
	struct buf untagged = BUF_INIT(BUF_UNLIMITED);
	char *out = xasprintf("%s %s\r\n", tag, command);
	int r = rawconn_send(c, out);
	free(out);
	size_t tag_len = strlen(tag);
	char *line = NULL;
	while (r == 0 && (line = rawconn_line(c)) != NULL) {
		if (strncmp(line, tag, tag_len) == 0 && line[tag_len] == ' ')
			break;
		buf_addf(&untagged, "%s%s", untagged.len ? "\n" : "", line);
		free(line);
		line = NULL;
	}
	if (untagged_r)
		*untagged_r = buf_detach(&untagged, NULL);
	else
		buf_release(&untagged);
	return line;
}

void rawconn_close(struct rawconn *c)
{
	if (c->tls)
		gnutls_deinit(c->tls);
	if (c->cred)
		gnutls_certificate_free_credentials(c->cred);
	if (c->fd >= 0)
		close(c->fd);
	buf_release(&c->in);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}
