/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the chaos tests (tests/chaos): the real tidemail program run
 * as a child process (a config file on disk, spawn, SIGKILL, wait, exit
 * status and output), and snapshots of both sides read without any of
 * tidemail's code (plain file access for the Maildir, doveadm for the
 * server), so that a test can compare every message by name, folder,
 * flags and body.
 *
 * Messages are named as in tests/sync/world.h: the message "a" has the
 * Message-ID <a@test>.
 *
 * Ownership: every char * returned and every snapshot filled belongs to
 * the caller (free() or chaos_side_release()).  Failures of the machinery
 * itself (a file that cannot be written, doveadm failing) fail the
 * running cmocka test.
 */
#ifndef TIDEMAIL_TESTS_CHAOS_H
#define TIDEMAIL_TESTS_CHAOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "world.h"

/* ---- the environment ------------------------------------------------- */

/* TIDEMAIL_SEED when set, else one derived from the time and the pid. */
unsigned chaos_seed(void);
/* True when TIDEMAIL_SANITIZED=1 (meson sets it for sanitizer builds). */
bool chaos_sanitized(void);
/* Seconds on the monotonic clock. */
double chaos_now(void);

/* ---- the program ------------------------------------------------------- */

/* The tidemail program a chaos test runs: its first argument (meson
 * passes the built executable), or NULL after a usage line. */
const char *chaos_program_arg(int argc, char **argv);

/*
 * Writes w->dir/config.yaml (mode 0600) for the account "t": the same
 * server, state_dir and local root as w, the folders matching include,
 * secret as the YAML text of the remote's secret (NULL: the harness
 * password as `password:`), and extra YAML lines for the account (or
 * NULL).  Returns its path.
 */
char *chaos_config_write(const struct world *w, const char *include,
			 const char *secret, const char *extra);

/*
 * Starts `exe -c config args...` (args NULL-terminated after the config,
 * so the first is the command) with stdin from /dev/null and stdout and
 * stderr into the files out_path and err_path (created or truncated;
 * NULL: /dev/null).
 */
pid_t chaos_spawn(const char *exe, const char *config, const char *out_path,
		  const char *err_path, const char *const *args);

/* The same in this process, for a child the caller forked itself: never
 * returns (exit 127 when exec fails). */
void chaos_exec(const char *exe, const char *config, const char *out_path,
		const char *err_path, const char *const *args)
	__attribute__((noreturn));

/* Waits for pid: its exit status, or 128 + the signal that ended it. */
int chaos_wait(pid_t pid);

/* Runs the program to its end (as chaos_spawn); returns as chaos_wait()
 * and puts its stdout and stderr in *out_r and *err_r (either may be
 * NULL). */
int chaos_run(const char *exe, const char *config, char **out_r, char **err_r,
	      const char *const *args);

/* The whole file, or "" if it does not exist. */
char *chaos_read_file(const char *path);
/* The program's error lines ("tidemail: ...") of a stderr that may hold
 * a -v trace as well. */
char *chaos_errors(const char *text);
/* Number of lines of text ending in '\n'. */
size_t chaos_count_lines(const char *text);

/* ---- the two sides ----------------------------------------------------- */

/* Maildir flag letters as bits, in the order of Maildir names. */
enum {
	CHAOS_D = 1 << 0, /* \Draft */
	CHAOS_F = 1 << 1, /* \Flagged */
	CHAOS_P = 1 << 2, /* $Forwarded */
	CHAOS_R = 1 << 3, /* \Answered */
	CHAOS_S = 1 << 4, /* \Seen */
	CHAOS_T = 1 << 5, /* \Deleted */
	CHAOS_FLAG_COUNT = 6,
};
/* "DFPRST"[i] is the letter of bit 1 << i; the IMAP names likewise. */
extern const char chaos_letters[];
extern const char *const chaos_imap_flags[];
/* Letters of bits, as a Maildir name writes them ("FS"). */
char *chaos_flag_letters(unsigned bits);

struct chaos_msg {
	char *name;    /* from the Message-ID; "?" without one */
	size_t folder; /* index into the folder list of the snapshot */
	unsigned flags;
	char *body;    /* after the header; CRLF as LF, trailing blank lines cut */
	char *path;    /* local: the file (cur/ or new/); server: NULL */
};

struct chaos_side {
	struct chaos_msg *v; /* sorted by name, then folder */
	size_t n;
};

/* Every message file in cur/ and new/ of root/folders[i] (a missing
 * folder is simply empty). */
void chaos_local_snapshot(const char *root, const char *const *folders,
			  size_t n_folders, struct chaos_side *s);
/* Every message of each folder on the server (a missing one is empty). */
void chaos_server_snapshot(struct harness *h, const char *const *folders,
			   size_t n_folders, struct chaos_side *s);
/* The messages named name: *n_r of them from the returned index. */
size_t chaos_side_find(const struct chaos_side *s, const char *name, size_t *n_r);
void chaos_side_release(struct chaos_side *s);

#endif
