/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the store tests: temporary trees and small files.
 * Ownership: char * results are the caller's (free()).  Failures in the
 * helpers themselves fail the running cmocka test.
 */
#ifndef TIDEMAIL_TESTS_STORE_TEST_H
#define TIDEMAIL_TESTS_STORE_TEST_H

#include <stddef.h>
#include <stdint.h>

/* A fresh private directory below $TMPDIR (or /tmp). */
char *st_tmpdir(void);
/* Removes a tree (depth first, no symlinks followed). */
void st_rmtree(const char *path);
/* Writes a file with the given contents (mode 0600), making no parents. */
void st_write(const char *path, const char *contents);
/* The contents of a file (NUL-terminated); NULL if it cannot be read. */
char *st_read(const char *path);
/* The sorted names in a directory (dot files left out), joined by ' '. */
char *st_ls(const char *dir);
/* Creates dir/cur, dir/new, dir/tmp (and dir). */
void st_mkmaildir(const char *dir);
/* Sets a directory's mtime to sec seconds, nsec nanoseconds. */
void st_set_mtime(const char *path, long long sec, long nsec);
/* The first column of the first row of sql, run on the SQLite file at
 * path through a connection of its own. */
int64_t st_query_int(const char *path, const char *sql);
/* Runs sql on the file through a connection of its own. */
void st_exec_sql(const char *path, const char *sql);

#endif
