/* SPDX-License-Identifier: MIT */
/*
 * UID sets as IMAP writes them (RFC 3501 sequence-set: "1:3,5,9:*"),
 * both ways: parsed from VANISHED, APPENDUID and COPYUID, formatted for
 * UID STORE, UID EXPUNGE and UID FETCH of many messages.
 *
 * Ownership: a parsed set owns its ranges (imap_uid_set_free()); a
 * formatted string is the caller's (free()).
 */
#ifndef TIDEMAIL_IMAP_UIDSET_H
#define TIDEMAIL_IMAP_UIDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct imap_uid_range {
	uint32_t lo, hi; /* lo <= hi; '*' reads as UINT32_MAX */
};

struct imap_uid_set {
	struct imap_uid_range *v; /* sorted by lo */
	size_t n;
};

/* 0, or -1 for anything that is not a sequence-set (set_r left empty). */
int imap_uid_set_parse(const char *s, struct imap_uid_set *set_r);
bool imap_uid_set_contains(const struct imap_uid_set *set, uint32_t uid);
/* How many UIDs the set names (ranges ending in '*' count to UINT32_MAX). */
uint64_t imap_uid_set_count(const struct imap_uid_set *set);
/* The n-th UID of the set in the order written (0-based), as COPYUID
 * pairs source and destination UIDs; 0 if there is no such UID. */
uint32_t imap_uid_set_nth(const struct imap_uid_set *set, uint64_t n);
void imap_uid_set_free(struct imap_uid_set *set);

/* Writes UIDs (any order, duplicates allowed) as a compact set: runs
 * become ranges.  n must be at least 1. */
char *imap_uid_set_format(const uint32_t *uids, size_t n);

#endif
