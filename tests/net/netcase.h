/* SPDX-License-Identifier: MIT */
/*
 * netcase: one account with work to do in both directions, for a run that
 * a network fault interrupts, and the checks made after it.
 *
 * The scenario (netcase_prepare): the server folder holds s0..s7, synced
 * once; then on the server n0..n5 arrive, s0 gets \Seen \Flagged, s1
 * \Answered, s2 is expunged; in the Maildir u0 (S), u1 and u2 (F) are
 * written, s3 gets F and S, s4 is removed.  Every message has its own
 * body of 300 bytes to 24 KB made from its name, so that a truncated copy
 * anywhere is seen, and literals are long enough to be cut inside.  A
 * complete run ends in NETCASE_FINAL on both sides.
 *
 * The checks report what they found instead of failing the test, so that
 * the caller can print the seed and the fault first.
 *
 * Ownership: strings returned are the caller's (free()); struct buf
 * arguments are appended to.
 */
#ifndef TIDEMAIL_TESTS_NET_NETCASE_H
#define TIDEMAIL_TESTS_NET_NETCASE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "world.h"

#define NETCASE_FINAL                                                       \
	"n0: n1: n2: n3: n4: n5: s0:FS s1:R s3:FS s5: s6: s7: u0:S u1: u2:F"
/* Messages in NETCASE_FINAL. */
#define NETCASE_FINAL_COUNT 15

/* The text of message name, with CRLF or LF line ends. */
char *netcase_message(const char *name, bool crlf);

/* Sets up the scenario above in w's folder (fails the test if the
 * harness does): netcase_base(), a sync, netcase_changes().  A world of
 * several folders (a glob) calls the parts for each folder itself. */
void netcase_prepare(struct world *w);
/* s0..s7 on the server. */
void netcase_base(struct world *w);
/* The changes on both sides, after the first sync. */
void netcase_changes(struct world *w);

/* Writes the config tidemail reads for this world (same state, root and
 * folders as w->cfg, the remote at 127.0.0.1:port with tls as the config
 * says it ("none", "implicit", "starttls"), the given timeout in seconds
 * and connections); returns its path. */
char *netcase_config(struct world *w, unsigned port, const char *tls, unsigned timeout_s,
		     unsigned connections);

/* One run of the binary. */
struct netcase_run {
	pid_t pid;
	double t0;    /* CLOCK_MONOTONIC seconds at the start */
	int status;   /* exit status, or -1 when killed or not an exit */
	double secs;  /* how long it ran */
	bool hung;    /* killed at the limit */
};

/* Starts `tidemail -c cfg sync` with stderr into log_path. */
void netcase_spawn(const char *bin, const char *cfg, const char *log_path,
		   struct netcase_run *r);
/* Waits for n runs started together, killing any still running after
 * limit_ms. */
void netcase_wait(struct netcase_run *runs, size_t n, int limit_ms);

/*
 * What a run left, in w's folder:
 *
 * *partial_r: files in new/ and cur/ whose text is not the message they
 * name (a partial file), and server messages likewise (a partial APPEND).
 *
 * *bad_state_r: state rows that claim more than is durable: a local file
 * that is not in the Maildir, or a UID the server does not hold.  A row
 * like that would make the next run delete the other side's copy.  The
 * rows of the two messages the scenario deletes are left aside: their
 * deletion may have gone through on the other side before the row went,
 * which the next run completes.
 *
 * Each problem is described in why.
 */
void netcase_check_durable(struct world *w, size_t *partial_r, size_t *bad_state_r,
			   struct buf *why);

/* A whole file (NUL-terminated; *len_r, if not NULL, its length), or
 * NULL if it cannot be opened. */
char *netcase_read_file(const char *path, size_t *len_r);

/*
 * Counts, in "a:S b:" views, the names of want missing from got (lost)
 * and the names of want found more than once (duplicated).
 */
void netcase_count(const char *want, const char *got, size_t *lost_r,
		   size_t *duplicated_r);

#endif
