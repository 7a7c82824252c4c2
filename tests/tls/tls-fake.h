/* SPDX-License-Identifier: MIT */
/*
 * tls-fake: a fake IMAP server on a loopback port, in a thread of the
 * test, that plays a meddler in the middle: it answers whatever the
 * client sends as permissively as an attacker would (LOGIN and
 * AUTHENTICATE are accepted), does TLS with a chosen certificate when
 * told to, and records
 *   - wire: every byte it received from the client, as it came off the
 *     socket (so cleartext before TLS, ciphertext after), and
 *   - app: the application data it decrypted from TLS records.
 * A credential found in wire went out in clear; a non-empty app means
 * the client spoke IMAP over a TLS session it should have refused.
 *
 * Answers may hold "$T" (the tag of the command being answered) and
 * "$N" (the tag the client will use next), so that a script can answer
 * ahead of time, as an injecting attacker does.
 *
 * Ownership: the script's strings are borrowed until tls_fake_finish();
 * the wire and app buffers belong to struct tls_fake and go with
 * tls_fake_release().
 */
#ifndef TIDEMAIL_TLS_FAKE_H
#define TIDEMAIL_TLS_FAKE_H

#include <pthread.h>
#include <stdbool.h>

#include "tls-certs.h"
#include "util.h"

struct tls_script {
	bool implicit;            /* TLS from the first byte */
	const struct tls_ident *ident; /* what TLS presents */
	const char *greeting;     /* sent first; default "* OK ready" */
	const char *caps_clear;   /* CAPABILITY before TLS */
	const char *after_caps;   /* sent with that answer, same packet */
	const char *starttls;     /* answer to STARTTLS; default "$T OK" */
	bool no_handshake;        /* the answer is a refusal: stay clear */
	bool hangup;              /* and then stop sending (the client sees
				   * the connection close) */
	int inject_delay_ms;      /* then wait this long */
	const char *inject;       /* and send this in clear before TLS */
	const char *caps_tls;     /* CAPABILITY after TLS */
};

struct tls_fake {
	const struct tls_script *script;
	int listen_fd;
	unsigned port;
	pthread_t thread;
	bool running;
	struct buf wire;    /* raw bytes from the client */
	struct buf app;     /* decrypted application data from the client */
	bool handshake_ok;  /* the server side finished a handshake */
	char *sni;          /* the server name the client sent, or NULL */
};

/* Listens on 127.0.0.1 (any free port) and serves one connection with
 * script in a thread. */
int tls_fake_start(struct tls_fake *f, const struct tls_script *script,
		   struct error *err);
/* Waits for the connection to end (the client closing, or 5 s of
 * silence). */
void tls_fake_finish(struct tls_fake *f);
void tls_fake_release(struct tls_fake *f);

#endif
