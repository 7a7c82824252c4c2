/* SPDX-License-Identifier: MIT */
/*
 * util: the small things every layer needs and nothing mail-specific.
 *
 * Memory policy (the whole program): allocation failure is not an error
 * callers handle.  The x*() allocators print one line to stderr and
 * abort(); for a command-line tool that is the honest answer, and it keeps
 * every other error path about real failures.  This is the only place
 * below cmd/ that writes to stderr or ends the process.
 *
 * Ownership: a function that returns a char * or fills a *_r pointer gives
 * the caller ownership (free() it) unless its comment says otherwise.
 */
#ifndef TIDEMAIL_UTIL_H
#define TIDEMAIL_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define UTIL_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define UTIL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- allocation ------------------------------------------------------ */

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
/* Grows an array of *cap_r elements of size elem so that it holds at least
 * need; doubles, checks for overflow. */
void *xgrow(void *p, size_t elem, size_t need, size_t *cap_r);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) UTIL_PRINTF(1, 2);
char *xvasprintf(const char *fmt, va_list ap) UTIL_PRINTF(1, 0);

/* ---- errors ---------------------------------------------------------- */

/*
 * How far a failure reaches: the caller skips exactly that much and goes
 * on.  A message error spoils one message, a folder error one folder, an
 * account error the whole account (connection, login, local root).
 */
enum err_reach {
	ERR_NONE = 0,
	ERR_MESSAGE = 1,
	ERR_FOLDER = 2,
	ERR_ACCOUNT = 3,
};

/* An error with its context.  msg is NULL until something fails; it is a
 * single line without a trailing newline. */
struct error {
	enum err_reach reach;
	char *msg;
};
#define ERROR_INIT {ERR_NONE, NULL}

/* Records a failure (replacing any earlier one) and returns -(int)reach,
 * so that `return error_set(err, ERR_FOLDER, "...")` reads naturally.
 * err may be NULL: the message is dropped, the code still returned. */
int error_set(struct error *err, enum err_reach reach, const char *fmt, ...)
	UTIL_PRINTF(3, 4);
/* Like error_set, with "<strerror(errnum)>" appended after ": ". */
int error_errno(struct error *err, enum err_reach reach, int errnum,
		const char *fmt, ...) UTIL_PRINTF(4, 5);
/* Puts context in front of a recorded message: "folder X: <old message>".
 * Returns the recorded code. */
int error_prefix(struct error *err, const char *fmt, ...) UTIL_PRINTF(2, 3);
/* Frees the message and resets err to ERROR_INIT. */
void error_clear(struct error *err);

/* ---- growable byte buffer -------------------------------------------- */

/*
 * Invariants: data is never NULL and data[len] is always '\0' (so text
 * can be used as a C string), len < cap unless cap == 0 (then data points
 * to a shared, read-only "").  max is a ceiling on len fixed at init:
 * an addition that would pass it fails with -1 and changes nothing.
 */
struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};
extern char buf_empty_[1];
#define BUF_INIT(ceiling) {buf_empty_, 0, 0, (ceiling)}
#define BUF_UNLIMITED SIZE_MAX

void buf_init(struct buf *b, size_t max);
/* Frees the memory; b is ready for use again, with the same ceiling. */
void buf_release(struct buf *b);
/* Empties b but keeps its memory. */
void buf_reset(struct buf *b);
int buf_add(struct buf *b, const void *data, size_t n);
int buf_adds(struct buf *b, const char *s);
int buf_addc(struct buf *b, char c);
int buf_addf(struct buf *b, const char *fmt, ...) UTIL_PRINTF(2, 3);
int buf_vaddf(struct buf *b, const char *fmt, va_list ap) UTIL_PRINTF(2, 0);
/* Drops the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);
/* Hands the bytes to the caller (never NULL; free() it) and empties b. */
char *buf_detach(struct buf *b, size_t *len_r);

/* ---- files and paths ------------------------------------------------- */

/* Creates dir and its missing parents with mode (existing ones are left
 * as they are).  0 or -1 with errno set. */
int util_mkdir_p(const char *dir, mode_t mode);
/* fsync()s a directory, so that a rename or create inside it is durable. */
int util_fsync_dir(const char *dir);
/* True for "localhost", 127.0.0.0/8, ::1 and [::1]: hosts where plain text
 * never leaves the machine.  Looks nothing up. */
bool util_host_is_loopback(const char *host);

#endif
