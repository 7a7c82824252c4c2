/* SPDX-License-Identifier: MIT */
/*
 * tm-secrets: the two checks of tests/secrets, as a tool for scripts.
 *
 *   tm-secrets scan SECRET... -- PATH...
 *	Looks through every regular file below each PATH (symbolic links
 *	are not followed) for each SECRET as it is and in base64 as it
 *	sits inside an AUTHENTICATE blob (PLAIN, XOAUTH2, OAUTHBEARER):
 *	for each of the three alignments a secret can have in a base64
 *	stream, the characters that encode whole groups of it.  Prints
 *	each hit as "hit: PATH: FORM", then "files-scanned=N hits=H".
 *	Exit 0 with no hit, 1 with hits, 2 on usage or I/O errors.
 *
 *   tm-secrets modes PATH...
 *	Walks every PATH; prints each file over 0600 and each directory
 *	over 0700 (permission bits other than the owner's), then
 *	"files=N over-0600=A dirs=M over-0700=B".  Exit 0 when A and B
 *	are 0, 1 otherwise, 2 on errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secret-forms.h"
#include "util.h"

struct form {
	char *text;
	const char *what;
};

static struct {
	struct form *forms;
	size_t n_forms, cap_forms;
	size_t files, hits, dirs, over_files, over_dirs;
	bool io_error;
} g;

static void add_forms(const char *secret)
{
	char *forms[SECRET_FORMS_MAX];
	size_t n = secret_forms(secret, forms);
	g.forms = xgrow(g.forms, sizeof(*g.forms), g.n_forms + n, &g.cap_forms);
	for (size_t i = 0; i < n; i++)
		g.forms[g.n_forms++] = (struct form){forms[i], i ? "base64" : "raw"};
}

static int scan_file(const char *path, const struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	/* Gone since it was listed (a run still going): nothing to read. */
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0) {
		fprintf(stderr, "tm-secrets: %s: %s\n", path, strerror(errno));
		g.io_error = true;
		return 0;
	}
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	char tmp[65536];
	ssize_t n;
	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		buf_add(&b, tmp, (size_t)n);
	if (n < 0) {
		fprintf(stderr, "tm-secrets: %s: %s\n", path, strerror(errno));
		g.io_error = true;
	}
	close(fd);
	g.files++;
	for (size_t f = 0; f < g.n_forms && b.len; f++)
		if (memmem(b.data, b.len, g.forms[f].text, strlen(g.forms[f].text))) {
			printf("hit: %s: %s form of a secret\n", path, g.forms[f].what);
			g.hits++;
		}
	buf_release(&b);
	return 0;
}

static int scan_cb(const char *path, const struct stat *st, int type,
		   struct FTW *ftw)
{
	if (type == FTW_F && S_ISREG(st->st_mode))
		return scan_file(path, st);
	if (type == FTW_DNR || type == FTW_NS) {
		fprintf(stderr, "tm-secrets: %s: cannot read\n", path);
		g.io_error = true;
	}
	return 0;
}

static int modes_cb(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	mode_t perm = st->st_mode & 07777;
	if (type == FTW_D || type == FTW_DP) {
		g.dirs++;
		if (perm & ~(mode_t)0700) {
			printf("over 0700: %s (%04o)\n", path, (unsigned)perm);
			g.over_dirs++;
		}
	} else if (type == FTW_F && S_ISREG(st->st_mode)) {
		g.files++;
		if (perm & ~(mode_t)0600) {
			printf("over 0600: %s (%04o)\n", path, (unsigned)perm);
			g.over_files++;
		}
	} else if (type == FTW_NS || type == FTW_DNR) {
		fprintf(stderr, "tm-secrets: %s: cannot read\n", path);
		g.io_error = true;
	}
	return 0;
}

static int walk(const char *path, __nftw_func_t fn)
{
	if (nftw(path, fn, 32, FTW_PHYS) != 0 && errno != ENOENT) {
		fprintf(stderr, "tm-secrets: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int status = 2;
	if (argc >= 4 && strcmp(argv[1], "scan") == 0) {
		int i = 2;
		for (; i < argc && strcmp(argv[i], "--") != 0; i++)
			add_forms(argv[i]);
		if (i == argc || g.n_forms == 0) {
			fputs("usage: tm-secrets scan SECRET... -- PATH...\n", stderr);
			return 2;
		}
		for (i++; i < argc; i++)
			if (walk(argv[i], scan_cb) < 0)
				g.io_error = true;
		printf("files-scanned=%zu hits=%zu\n", g.files, g.hits);
		status = g.io_error ? 2 : g.hits ? 1 : 0;
		for (size_t f = 0; f < g.n_forms; f++)
			free(g.forms[f].text);
		free(g.forms);
	} else if (argc >= 3 && strcmp(argv[1], "modes") == 0) {
		for (int i = 2; i < argc; i++)
			if (walk(argv[i], modes_cb) < 0)
				g.io_error = true;
		printf("files=%zu over-0600=%zu dirs=%zu over-0700=%zu\n", g.files,
		       g.over_files, g.dirs, g.over_dirs);
		status = g.io_error ? 2 : g.over_files || g.over_dirs ? 1 : 0;
	} else {
		fputs("usage: tm-secrets scan SECRET... -- PATH...\n"
		      "       tm-secrets modes PATH...\n",
		      stderr);
	}
	return status;
}
