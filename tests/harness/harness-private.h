/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by the harness's files.  Same ownership rules as
 * harness.h: returned char * are the caller's to free().
 */
#ifndef TIDEMAIL_HARNESS_PRIVATE_H
#define TIDEMAIL_HARNESS_PRIVATE_H

#include "harness.h"

/* Milliseconds on the monotonic clock. */
long long harness_now_ms(void);
void harness_sleep_ms(int ms);

/*
 * Runs argv[0] (an absolute path) with argv, no shell.  stdin_data (may be
 * NULL) is written to its standard input; stdout and stderr are appended
 * to out and errout (either may be NULL: discarded).  The child dies with
 * us (SIGKILL on parent death) and is killed after timeout_ms.  *status_r
 * gets the wait() status.  Fails only when the child could not be run or
 * timed out, not for a non-zero exit.
 */
int harness_run(const char *const *argv, const char *stdin_data,
		struct buf *out, struct buf *errout, int timeout_ms,
		int *status_r, struct error *err);

/*
 * Once the Dovecot master is gone, nothing in its process group is worth
 * waiting for: SIGKILL them all and wait (up to timeout_ms) until they
 * are gone, so that no straggler still holds a listening socket or
 * writes into a directory about to be removed.
 */
void harness_end_group(pid_t pgid, int timeout_ms);

/* Writes a whole file (created or truncated) with mode. */
int harness_write_file(const char *path, const char *data, mode_t mode,
		       struct error *err);
/* The last max bytes of a file, from a line start; "" if unreadable. */
char *harness_file_tail(const char *path, size_t max);
/* rm -rf without following symbolic links.  0 or -1 with errno. */
int harness_remove_tree(const char *dir);

/*
 * Writes dir/ca.pem, dir/server.pem and dir/server-key.pem: a throwaway CA
 * and a server certificate it signed, for DNS:localhost and IP:127.0.0.1.
 */
int harness_make_tls(const char *dir, struct error *err);

/* `doveadm user NAME` succeeds: auth is up and the user can have mail. */
bool harness_user_known(struct harness *h, const char *name, int timeout_ms);

/* Frees what a record holds and zeroes it. */
void harness_record_release(struct harness_record *rec);

/* dovecot.conf for h (dir, ports, users file, mail owner set) and opts. */
char *harness_config_text(const struct harness *h,
			  const struct harness_opts *opts);
/* One passwd-file line (with its newline) for a user of h. */
char *harness_passwd_line(const struct harness *h, const char *name,
			  const char *password);

#endif
