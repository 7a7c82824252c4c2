/* SPDX-License-Identifier: MIT */
/*
 * bench-sync: tidemail against mbsync on the same private Dovecot, the
 * same mail and the same machine (issue 8).  This header is private to
 * the bench-sync program; nothing else links it.
 *
 * Pieces:
 *   corpus.c   a deterministic mail corpus written straight into the
 *              server's Maildir (seeded PRNG, one generator per message)
 *   tree.c     directory trees: remove, clone (hard links for message
 *              files, real copies for everything else), count, local flag
 *              changes
 *   server.c   a tm-dovecot instance per data set, doveadm, snapshots
 *   measure.c  running a child with wall/CPU/peak-RSS figures, and the
 *              server's own per-session byte counts from its log
 *   tools.c    tidemail and mbsync: configs, local sides, one timed sync
 *   scenarios.c and bench-sync.c: the scenarios (a)-(g) and the table
 *
 * Ownership: every char * in these structs belongs to the struct and is
 * freed by its _free() or _stop() function.  Functions returning char *
 * give it to the caller.  Errors: 0 or -1 with one line in err, as in
 * util.h; the program prints it and goes on with the next scenario.
 */
#ifndef TIDEMAIL_BENCH_H
#define TIDEMAIL_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

/* ---- corpus.c ---------------------------------------------------------- */

/* One folder of a data set, with the name the server uses ('/'). */
struct corpus_folder {
	const char *name;
	unsigned count;
};

/* What kind of mail a data set holds. */
enum corpus_mix {
	/* Most 2-20 KB of text, some HTML, ~5% with 100 KB-2 MB base64
	 * attachments, ~0.2% with 2-8 MB. */
	CORPUS_REALISTIC,
	/* Text and HTML only, no attachments (the 200,000-message data
	 * set of (g), where only the count matters). */
	CORPUS_TEXT,
};

/* Totals of what corpus_write() wrote. */
struct corpus_stats {
	unsigned messages;
	uint64_t bytes;
	unsigned attachments;
};

/*
 * Appends message number index (global, unique in a data set; it is in
 * the Message-ID) of the data set seeded with seed to out, with LF line
 * ends as Dovecot stores mail.  If big_bytes is not 0 the message is
 * instead one with a base64 attachment making it about that large.
 * *date_r gets its date (also its Date: header), *flags_r Maildir flag
 * letters.  Same (seed, index, mix, big_bytes): same bytes.
 */
void corpus_message(uint64_t seed, uint64_t index, enum corpus_mix mix,
		    uint64_t big_bytes, struct buf *out, time_t *date_r,
		    const char **flags_r);

/*
 * Writes messages first_index.. of the data set into the Maildir++
 * folder directory dir (".Name" below the user's Maildir, or the Maildir
 * itself for INBOX): files in cur/ (new/ when new_dir), owned by uid:gid,
 * mtime = date (Dovecot's INTERNALDATE).
 */
int corpus_write(const char *dir, uint64_t seed, uint64_t first_index,
		 unsigned count, enum corpus_mix mix, uint64_t big_bytes,
		 bool new_dir, uid_t uid, gid_t gid, struct corpus_stats *st,
		 struct error *err);

/* ---- tree.c ------------------------------------------------------------ */

/* rm -rf path; a missing path is fine. */
int tree_remove(const char *path, struct error *err);
/*
 * Copies the tree src to dst (which must not exist), keeping owners,
 * modes and times.  Files inside directories named cur/ or new/ are hard
 * linked: mail files are never changed in place, only renamed or
 * unlinked, by Dovecot, tidemail and mbsync alike; everything else
 * (indexes, state, uidlists) is copied, since those are.
 */
int tree_clone(const char *src, const char *dst, struct error *err);
/* Mail files (in cur/ and new/) below root, and their bytes. */
int tree_count(const char *root, unsigned *files_r, uint64_t *bytes_r,
	       struct error *err);
/*
 * The local flag changes of scenario (d), identical for both tools:
 * every mail file below root whose Message-ID has a corpus index with
 * index % modulo == rest gets its F flag toggled (a rename, as a mail
 * reader does; a file in new/ moves to cur/).  *changed_r: how many.
 */
int tree_toggle_flagged(const char *root, unsigned modulo, unsigned rest,
			unsigned *changed_r, struct error *err);

/*
 * The corpus indexes (from the Message-IDs) of the mail files of one
 * Maildir folder (its cur/ and new/, not subfolders), times 32 plus a bit
 * for each of the flags D F P R S in the file name, sorted; -32 and up
 * for a file that is not from the corpus.  A missing folder is empty.
 */
int tree_indexes(const char *folder_dir, long long **idx_r, size_t *n_r,
		 struct error *err);

/* ---- server.c ---------------------------------------------------------- */

struct server {
	char *dir;      /* tm-dovecot's directory */
	char *conf;     /* its dovecot.conf, for doveadm -c */
	char *log;      /* its dovecot.log */
	char *ca_file;
	char *user;
	char *password;
	char *maildir;  /* dir/mail/USER/Maildir */
	char *tm_dovecot;
	unsigned imaps_port;
	uid_t uid;      /* owner of the mail */
	gid_t gid;
};

int server_start(struct server *s, const char *tm_dovecot, const char *dir,
		 struct error *err);
void server_stop(struct server *s);
/* The Maildir++ directory of folder (INBOX: the Maildir itself). */
char *server_folder_dir(const struct server *s, const char *folder);
/* doveadm -c CONF arg0 ... (NULL-terminated), output discarded. */
int server_doveadm(struct server *s, struct error *err, const char *arg0, ...)
	__attribute__((sentinel));
/* doveadm with an argument vector; stdout appended to out (may be NULL). */
int server_doveadm_argv(struct server *s, const char *const *args,
			struct buf *out, struct error *err);
/* Creates the folders (INBOX is skipped) and fills them from the corpus:
 * folder i gets consecutive indexes after those of folders before it. */
int server_fill(struct server *s, const struct corpus_folder *folders,
		size_t nfolders, uint64_t seed, enum corpus_mix mix,
		uint64_t big_bytes, struct corpus_stats *st, struct error *err);
/* doveadm force-resync of every folder, then a fetch of what clients
 * ask for, so that no timed run pays for Dovecot's first indexing. */
int server_index(struct server *s, struct error *err);
/* Messages in folder now (doveadm mailbox status). */
int server_count(struct server *s, const char *folder, unsigned *n_r,
		 struct error *err);
/* The snapshot of the server's Maildir in path / back from it.  Only
 * between sessions: Dovecot keeps no mailbox state outside the Maildir. */
int server_save(struct server *s, const char *path, struct error *err);
int server_restore(struct server *s, const char *path, struct error *err);

/* ---- measure.c --------------------------------------------------------- */

struct sample {
	double wall_s;
	double cpu_s;       /* user + sys of the child and its threads */
	double machine_cpu_s; /* every core's busy time during the run: the
			       * tool, the server and anything else (10 ms ticks) */
	long maxrss_kb;     /* the child's peak resident set */
	uint64_t out_bytes; /* server -> client IMAP bytes (Dovecot out=) */
	uint64_t body_bytes;/* message bytes Dovecot served (body_bytes=) */
	unsigned sessions;  /* IMAP logins during the run */
	int status;         /* exit status, or 128 + signal */
	unsigned sleeps;    /* mbsync's "sleeping due to recent directory
			     * modification" notices: a second each */
};

/* The current end of the server log, to count a run's sessions from. */
off_t measure_log_mark(const char *log);
/*
 * Runs argv with stdout and stderr to out_file, waits for it with
 * wait4(), and fills s; then waits (at most 3 s) until every IMAP session
 * that logged in after mark has logged its end, and adds up their
 * out=/body_bytes= figures.  log NULL: no server figures.
 *
 * ru_maxrss counts the child from fork() on, so the pages it shares with
 * this program before exec() count too: bench-sync keeps itself small
 * and prints that floor (a run of true(1)) with its results.
 */
int measure_run(char *const argv[], const char *out_file, const char *log,
		off_t mark, struct sample *s, struct error *err);
double measure_now(void);
/* Runs argv and waits; stdout is appended to out (NULL: discarded).  A
 * non-zero exit is an error holding the first line of its stderr. */
int measure_exec(char *const argv[], struct buf *out, struct error *err);

/* ---- tools.c ----------------------------------------------------------- */

enum tool_kind { TOOL_TIDEMAIL, TOOL_MBSYNC, TOOL_COUNT };

struct tool {
	enum tool_kind kind;
	const char *name;
	char *bin;
	char *dir;      /* everything of this tool for one data set */
	char *local;    /* its Maildir root */
	char *config;
	char *state;    /* tidemail's state_dir; NULL for mbsync (in-tree) */
	unsigned discarded; /* local sides moved to dir/discarded/ so far */
};

/* The tool's config for server s in dir (created), local side empty. */
int tool_init(struct tool *t, enum tool_kind kind, const char *bin,
	      const struct server *s, const char *dir, struct error *err);
void tool_free(struct tool *t);
/* Moves the local side (Maildir and state) aside, into dir/discarded/:
 * the next sync is a first. */
int tool_reset(struct tool *t, struct error *err);
/* Local side (Maildir + state) to snapshot path / back from it. */
int tool_save(struct tool *t, const char *path, struct error *err);
int tool_restore(struct tool *t, const char *path, struct error *err);
/* One measured sync; its output goes to log_file. */
int tool_sync(struct tool *t, struct server *s, const char *log_file,
	      struct sample *out, struct error *err);

/* ---- scenarios.c, bench-sync.c ----------------------------------------- */

#define BENCH_MAX_RUNS 16

/* The figures of one scenario. */
struct result {
	char id;        /* 'a'..'g' */
	char *title;
	bool done;
	unsigned nruns[TOOL_COUNT];
	struct sample runs[TOOL_COUNT][BENCH_MAX_RUNS];
	unsigned files[TOOL_COUNT]; /* local mail files after the last run */
	uint64_t local_bytes[TOOL_COUNT];
	unsigned server_msgs;       /* messages on the server after the last run */
	/* After each tool's last run: folders whose local mail (by
	 * Message-ID and flags) differs from the server's. */
	int differ[TOOL_COUNT];
	char *note;
};

struct bench {
	bool quick;
	unsigned heavy_runs; /* runs per tool of (a), (b), (e) */
	unsigned light_runs; /* of (c), (d), (f), (g) */
	const char *only;    /* scenario letters to run; NULL: all */
	uint64_t seed;
	char *dir;           /* work directory */
	char *tidemail, *mbsync, *tm_dovecot;
	struct result results[7];
};

/* Runs the selected scenarios, filling b->results; prints each run. */
int scenarios_run(struct bench *b, struct error *err);

#endif
