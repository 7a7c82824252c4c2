/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the names of the local side: Maildir file names
 * ("unique:2,FLAGS", store/maildir-name.c), the mapping between remote
 * folder names and paths below the root (store/maildir-tree.c), and the
 * modified UTF-7 of remote names (imap/imap-utf7.c).  No file is touched.
 *
 * Input: one option byte, then up to three strings separated by NUL: a
 * file name, a remote folder name, a local folder path.  The option bits
 * pick the layout (0: verbatim or maildir++), the server's delimiter
 * (1-2: '/', '.', none, '\\') and the verbatim inbox folder (3: "INBOX"
 * or "Inbox").
 *
 * Beyond what the sanitizers catch, it checks what maildir.h and imap.h
 * promise: a parsed name keeps its unique part and formats back to a
 * name that parses to the same flags; a folder name that maps one way
 * maps back to itself and to a path that stays below the root; modified
 * UTF-7 survives the round trip both ways; a refused remote name
 * is shown on one line, its control characters escaped.
 * A broken promise aborts, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap.h"
#include "maildir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ROOT "/fuzz/Mail"

static void die(const char *what, const char *detail) __attribute__((noreturn));
static void die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz-maildir-names: %s%s%s\n", what,
		detail ? ": " : "", detail ? detail : "");
	abort();
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/*
 * A refusal: a message and a code; with clean set, a message without
 * control characters (one line that cannot steer a terminal).  Remote
 * names come from the server and are shown escaped; local names and
 * UTF-7 input are quoted as they are (cmd/ escapes what it prints).
 */
static void check_refusal(int r, struct error *err, const char *what,
			  bool clean)
{
	if (r >= 0)
		die("neither a result nor an error", what);
	if (!err->msg || !err->msg[0] || r != -(int)err->reach)
		die("an error without its message or code", what);
	if (clean && has_control(err->msg))
		die("a refusal with a control character", err->msg);
	error_clear(err);
}

/* ---- file names ----------------------------------------------------------- */

static void check_entry_against(const struct maildir_entry *a,
				const struct maildir_entry *b, const char *name)
{
	if (strcmp(a->unique, b->unique) != 0 || a->flags != b->flags
	    || (a->extra == NULL) != (b->extra == NULL)
	    || (a->extra && strcmp(a->extra, b->extra) != 0)
	    || a->uid != b->uid || a->size != b->size)
		die("a formatted name parses to something else", name);
}

static void check_file_name(const char *name)
{
	struct maildir_entry e;
	const char *why = NULL;
	if (maildir_name_parse(name, &e, &why) < 0) {
		if (!why)
			die("a refused name without a reason", name);
		if (name[0] && name[0] != '.' && name[0] != ':'
		    && !strchr(name, '/') && !has_control(name))
			die("a good name refused", why);
		if (e.unique || e.name || e.extra)
			die("a refused name left something behind", name);
		return;
	}
	size_t ulen = strcspn(name, ":");
	if (!e.unique || strlen(e.unique) != ulen || ulen == 0
	    || strncmp(e.unique, name, ulen) != 0 || strcmp(e.name, name) != 0)
		die("the unique part is not the name up to ':'", name);
	if (name[0] == '.' || strchr(name, '/') || has_control(name))
		die("an odd name accepted", name);
	if (e.flags & ~MAILDIR_FLAGS_ALL)
		die("an unknown flag bit", name);
	if (strncmp(name + ulen, ":2,", 3) != 0 && (e.flags || e.extra))
		die("flags from a name without \":2,\"", name);
	for (const char *p = e.extra; p && *p; p++)
		if (maildir_flag_from_letter(*p)
		    || (p[1] && (unsigned char)p[0] >= (unsigned char)p[1]))
			die("extra letters not ascending, or a flag among them",
			    name);
	if (e.extra && !e.extra[0])
		die("empty extra letters", name);
	for (unsigned bit = 1; bit <= MAILDIR_FLAGS_ALL; bit <<= 1)
		if (maildir_flag_from_letter(maildir_flag_letter(bit)) != bit)
			die("a flag letter does not map back", name);

	/* Formatting is the inverse, and a fixed point after one round. */
	char *f = maildir_name_format(e.unique, e.flags, e.extra);
	struct maildir_entry e2;
	if (maildir_name_parse(f, &e2, &why) < 0)
		die("a formatted name is refused", f);
	check_entry_against(&e, &e2, f);
	char *f2 = maildir_name_format(e2.unique, e2.flags, e2.extra);
	if (strcmp(f, f2) != 0)
		die("formatting twice gives another name", f);
	free(f2);
	free(f);
	maildir_entry_release(&e2);
	maildir_entry_release(&e);
}

/* ---- folder names --------------------------------------------------------- */

/* A path below the root: no empty, "." or ".." component. */
static void check_below_root(const struct maildir_tree *t, const char *rel)
{
	char *path = maildir_folder_path(t, rel);
	size_t rlen = strlen(ROOT);
	if (strncmp(path, ROOT, rlen) != 0 || (path[rlen] && path[rlen] != '/'))
		die("a folder outside the root", path);
	if (rel[0] == '/' || has_control(rel))
		die("a local folder that is absolute or has a control character",
		    rel);
	/* "" is the root itself (maildir++ INBOX). */
	for (const char *c = rel; *c;) {
		size_t len = strcspn(c, "/");
		if (len == 0 || (len == 1 && c[0] == '.')
		    || (len == 2 && c[0] == '.' && c[1] == '.'))
			die("a local folder with an empty, . or .. component", rel);
		if (t->layout == MAILDIR_LAYOUT_VERBATIM
		    && (c[0] == '.' || (len == 3 && (!strncmp(c, "cur", 3)
						     || !strncmp(c, "new", 3)
						     || !strncmp(c, "tmp", 3)))))
			die("a verbatim folder inside Maildir's own directories",
			    rel);
		if (!c[len])
			break;
		c += len + 1;
	}
	free(path);
}

static void check_remote(const struct maildir_tree *t, const char *remote)
{
	struct error err = ERROR_INIT;
	char *rel = NULL, *back = NULL;
	int r = maildir_remote_to_local(t, remote, &rel, &err);
	if (r < 0) {
		check_refusal(r, &err, remote, true);
		return;
	}
	check_below_root(t, rel);
	if (maildir_local_to_remote(t, rel, &back, &err) < 0)
		die("a mapped folder does not map back", err.msg);
	bool inbox = strcasecmp(remote, "INBOX") == 0;
	if (strcmp(back, inbox ? "INBOX" : remote) != 0)
		die("a remote name maps back to another", remote);
	free(back);
	free(rel);
}

static void check_local(const struct maildir_tree *t, const char *rel)
{
	struct error err = ERROR_INIT;
	char *remote = NULL, *back = NULL;
	int r = maildir_local_to_remote(t, rel, &remote, &err);
	if (r < 0) {
		check_refusal(r, &err, rel, false);
		return;
	}
	if (maildir_remote_to_local(t, remote, &back, &err) < 0)
		die("a local folder's remote name does not map back", err.msg);
	if (strcmp(back, rel) != 0)
		die("a local folder maps back to another", rel);
	check_below_root(t, back);
	free(back);
	free(remote);
}

/* Modified UTF-7 both ways: what decodes re-encodes to a name that
 * decodes the same; what encodes decodes to itself. */
static void check_utf7(const char *s)
{
	struct error err = ERROR_INIT;
	char *utf8 = NULL, *wire = NULL, *again = NULL;
	int r = imap_utf7_decode(s, &utf8, &err);
	if (r < 0) {
		check_refusal(r, &err, s, false);
	} else {
		if (imap_utf7_encode(utf8, &wire, &err) < 0)
			die("a decoded name does not encode", err.msg);
		if (imap_utf7_decode(wire, &again, &err) < 0
		    || strcmp(again, utf8) != 0)
			die("a decoded name does not survive the round trip", s);
		free(again);
		free(wire);
		free(utf8);
	}
	r = imap_utf7_encode(s, &wire, &err);
	if (r < 0) {
		check_refusal(r, &err, s, false);
		return;
	}
	if (imap_utf7_decode(wire, &again, &err) < 0 || strcmp(again, s) != 0)
		die("an encoded name does not decode to itself", s);
	free(again);
	free(wire);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char delims[] = {'/', '.', '\0', '\\'};
	if (size == 0)
		return 0;
	unsigned opt = data[0];
	struct maildir_tree t = {
		.root = ROOT,
		.layout = opt & 1 ? MAILDIR_LAYOUT_MAILDIRPP : MAILDIR_LAYOUT_VERBATIM,
		.inbox = opt & 8 ? "Inbox" : "INBOX",
		.delim = delims[(opt >> 1) & 3],
	};
	/* The strings, NUL-terminated by the copy. */
	char *copy = xcalloc(1, size);
	memcpy(copy, data + 1, size - 1);
	const char *field[3] = {"", "", ""};
	size_t n = 0;
	for (size_t off = 0; off < size - 1 && n < 3; n++) {
		field[n] = copy + off;
		off += strlen(copy + off) + 1;
	}
	check_file_name(field[0]);
	check_remote(&t, field[1]);
	check_local(&t, field[2]);
	check_utf7(field[1]);
	free(copy);
	return 0;
}
