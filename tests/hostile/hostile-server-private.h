/* SPDX-License-Identifier: MIT */
/*
 * Inside the hostile test server: one connection's state and the parts
 * that answer commands from the model of the mailboxes (hostile-model.c)
 * for the loop that reads them and applies the hooks (hostile-server.c).
 */
#ifndef TIDEMAIL_TESTS_HOSTILE_SERVER_PRIVATE_H
#define TIDEMAIL_TESTS_HOSTILE_SERVER_PRIVATE_H

#include "hostile-server.h"
#include "util.h"

struct msg {
	uint32_t uid;
	char *flags; /* space-separated, never NULL */
	char *body;
	size_t len;
	uint64_t modseq;
};

struct box {
	char *name;
	uint32_t uidvalidity, uidnext;
	struct msg *msgs;
	size_t n, cap;
};

struct tok {
	char *s;
	size_t len;
	bool literal;
};

struct cmd {
	char *tag;
	struct buf text; /* after the tag; literals shown as {n} */
	struct tok *toks;  /* after the tag */
	size_t n, cap;
	bool cut;          /* a HS_LITERAL hook ended it early */
};

struct srv {
	const struct hs_script *s;
	int fd;
	struct buf in;
	struct buf out;
	unsigned *hook_seen;
	struct box *boxes;
	size_t n_boxes, cap_boxes;
	struct box *sel;
	bool logged_in;
	bool mute; /* a hook replaces the answer: the model changes, unseen */
	uint64_t modseq;
};

/* Sends what v->out holds (or drops it while muted); false when the
 * client is gone. */
bool hs_flush(struct srv *v);
/* One line without its CRLF (a new string), or NULL at the end. */
char *hs_read_line(struct srv *v, size_t *len_r);

/* hostile-model.c */
void hs_model_load(struct srv *v);
const char *hs_caps_now(const struct srv *v);
/* The normal answer to one command; false ends the connection. */
bool hs_answer(struct srv *v, const struct cmd *c);

#endif
