/* SPDX-License-Identifier: MIT */
/* The chaos tests' environment and the tidemail program as a child. */
#include "chaos.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

unsigned chaos_seed(void)
{
	const char *v = getenv("TIDEMAIL_SEED");
	if (v && *v)
		return (unsigned)strtoul(v, NULL, 10);
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (unsigned)(t.tv_sec ^ t.tv_nsec ^ ((long)getpid() << 16));
}

bool chaos_sanitized(void)
{
	const char *v = getenv("TIDEMAIL_SANITIZED");
	return v && !strcmp(v, "1");
}

double chaos_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

const char *chaos_program_arg(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s TIDEMAIL [ARGS]\n", argv[0]);
		return NULL;
	}
	return argv[1];
}

char *chaos_config_write(const struct world *w, const char *include,
			 const char *secret, const char *extra)
{
	const struct harness *h = w->h;
	char *pass = secret ? NULL : xasprintf("password: \"%s\"", h->password);
	char *yaml = xasprintf(
		"state_dir: %s/state\n"
		"accounts:\n"
		"  t:\n"
		"    remote: {host: %s, port: %u, ca_file: %s, user: %s, %s}\n"
		"    local: {path: %s}\n"
		"    folders: {include: [\"%s\"]}\n"
		"%s",
		w->dir, h->host, h->imaps_port, h->ca_file, h->user,
		secret ? secret : pass, w->root, include, extra ? extra : "");
	char *path = xasprintf("%s/config.yaml", w->dir);
	/* SPEC.md section 2: a config holding a password is 0600. */
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		fail_msg("cannot write %s: %s", path, strerror(errno));
	size_t len = strlen(yaml);
	if (write(fd, yaml, len) != (ssize_t)len)
		fail_msg("cannot write %s", path);
	close(fd);
	free(yaml);
	free(pass);
	return path;
}

static void redirect(const char *path, int to)
{
	int fd = path ? open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)
		      : open("/dev/null", O_RDWR);
	if (fd < 0 || dup2(fd, to) < 0)
		_exit(126);
	close(fd);
}

void chaos_exec(const char *exe, const char *config, const char *out_path,
		const char *err_path, const char *const *args)
{
	size_t n = 0;
	while (args[n])
		n++;
	const char **argv = xcalloc(n + 4, sizeof(*argv));
	argv[0] = exe;
	argv[1] = "-c";
	argv[2] = config;
	for (size_t i = 0; i < n; i++)
		argv[3 + i] = args[i];
	redirect(NULL, STDIN_FILENO);
	redirect(out_path, STDOUT_FILENO);
	redirect(err_path, STDERR_FILENO);
	execv(exe, (char *const *)argv);
	_exit(127);
}

pid_t chaos_spawn(const char *exe, const char *config, const char *out_path,
		  const char *err_path, const char *const *args)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0)
		chaos_exec(exe, config, out_path, err_path, args);
	return pid;
}

int chaos_wait(pid_t pid)
{
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			fail_msg("waitpid: %s", strerror(errno));
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

char *chaos_read_file(const char *path)
{
	char *text = harness_read_file(path, NULL);
	return text ? text : xstrdup("");
}

size_t chaos_count_lines(const char *text)
{
	size_t n = 0;
	for (const char *p = text; (p = strchr(p, '\n')); p++)
		n++;
	return n;
}

char *chaos_errors(const char *text)
{
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	for (const char *p = text; *p;) {
		size_t len = strcspn(p, "\n");
		if (!strncmp(p, "tidemail: ", 10))
			buf_addf(&b, "%.*s\n", (int)len, p);
		p += len + (p[len] == '\n');
	}
	return buf_detach(&b, NULL);
}

int chaos_run(const char *exe, const char *config, char **out_r, char **err_r,
	      const char *const *args)
{
	/* Beside the config, which lives in the test's own directory. */
	size_t dirlen = strrchr(config, '/') ? (size_t)(strrchr(config, '/') - config) : 1;
	char *out = xasprintf("%.*s/run.out", (int)dirlen, config);
	char *err = xasprintf("%.*s/run.err", (int)dirlen, config);
	int status = chaos_wait(chaos_spawn(exe, config, out, err, args));
	if (out_r)
		*out_r = chaos_read_file(out);
	if (err_r)
		*err_r = chaos_read_file(err);
	unlink(out);
	unlink(err);
	free(out);
	free(err);
	return status;
}
