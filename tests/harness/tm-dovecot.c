/* SPDX-License-Identifier: MIT */
/*
 * tm-dovecot: the harness from the shell.
 *
 *   eval "$(tm-dovecot start [DIR] [--no-condstore] [--compress]
 *                              [--plaintext-auth])"
 *   tm-dovecot stop DIR
 *
 * start leaves a private Dovecot running in DIR (a fresh temp directory
 * without DIR) and prints shell assignments describing it; they are also
 * written to DIR/tm-dovecot.env.  stop ends it; DIR and its mail stay.
 * Exit status: 0 done, 1 failed, 2 usage.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void)
{
	fputs("usage: tm-dovecot start [DIR] [--no-condstore] [--compress] "
	      "[--plaintext-auth]\n"
	      "       tm-dovecot stop DIR\n",
	      stderr);
	return 2;
}

/* A single-quoted shell word. */
static void add_quoted(struct buf *b, const char *s)
{
	buf_addc(b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			buf_adds(b, "'\\''");
		else
			buf_addc(b, *s);
	}
	buf_addc(b, '\'');
}

static void add_var(struct buf *b, const char *name, const char *value)
{
	buf_addf(b, "%s=", name);
	add_quoted(b, value);
	buf_addc(b, '\n');
}

static char *describe(const struct harness *h)
{
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	char *imap = xasprintf("%u", h->imap_port);
	char *imaps = xasprintf("%u", h->imaps_port);
	char *pid = xasprintf("%ld", (long)h->pid);
	add_var(&b, "TM_DOVECOT_DIR", h->dir);
	add_var(&b, "TM_IMAP_HOST", h->host);
	add_var(&b, "TM_IMAP_PORT", imap);
	add_var(&b, "TM_IMAPS_PORT", imaps);
	add_var(&b, "TM_CA_FILE", h->ca_file);
	add_var(&b, "TM_USER", h->user);
	add_var(&b, "TM_PASSWORD", h->password);
	add_var(&b, "TM_DOVECOT_CONF", h->conf_file);
	add_var(&b, "TM_DOVECOT_PID", pid);
	free(pid);
	free(imaps);
	free(imap);
	return buf_detach(&b, NULL);
}

static int start(int argc, char **argv)
{
	struct harness_opts opts = {.detach = true};
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--no-condstore") == 0)
			opts.no_condstore = true;
		else if (strcmp(argv[i], "--compress") == 0)
			opts.compress = true;
		else if (strcmp(argv[i], "--plaintext-auth") == 0)
			opts.plaintext_auth = true;
		else if (argv[i][0] == '-' || opts.dir)
			return usage();
		else
			opts.dir = argv[i];
	}
	struct harness h;
	struct error err = ERROR_INIT;
	if (harness_start(&h, &opts, &err) < 0) {
		fprintf(stderr, "tm-dovecot: %s\n", err.msg);
		error_clear(&err);
		return 1;
	}
	char *text = describe(&h);
	char *env_path = xasprintf("%s/tm-dovecot.env", h.dir);
	FILE *f = fopen(env_path, "we");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
	fputs(text, stdout);
	free(env_path);
	free(text);
	harness_forget(&h);
	return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "start") == 0)
		return start(argc - 2, argv + 2);
	if (argc == 3 && strcmp(argv[1], "stop") == 0) {
		struct error err = ERROR_INIT;
		if (harness_stop_dir(argv[2], &err) < 0) {
			fprintf(stderr, "tm-dovecot: %s\n", err.msg);
			error_clear(&err);
			return 1;
		}
		return 0;
	}
	return usage();
}
