/* SPDX-License-Identifier: MIT */
/*
 * Measuring one run of a sync tool: wall time around fork..wait4, the
 * child's CPU time and peak RSS from wait4()'s rusage, and the bytes the
 * server sent, as Dovecot itself counts them per session.
 *
 * Why Dovecot's figures: they are the same yardstick for both tools and
 * need no cooperation from either.  Each imap process logs, when its
 * session ends, "in=N out=N ... body_count=N body_bytes=N": out= is every
 * byte of IMAP the server wrote to that session (the plaintext, before
 * TLS, which imap-login adds), body_bytes= the message bytes it served
 * (BODY[]/RFC822 fetches).  A run's figure is the sum over the sessions
 * that logged in after the run began.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

double measure_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

off_t measure_log_mark(const char *log)
{
	struct stat st;
	return stat(log, &st) < 0 ? 0 : st.st_size;
}

static int status_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* The log from mark to its end. */
static char *log_tail(const char *log, off_t mark)
{
	struct buf b = BUF_INIT(BUF_UNLIMITED);
	int fd = open(log, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && lseek(fd, mark, SEEK_SET) == mark) {
		char chunk[65536];
		ssize_t n;
		while ((n = read(fd, chunk, sizeof(chunk))) > 0)
			buf_add(&b, chunk, (size_t)n);
	}
	if (fd >= 0)
		close(fd);
	return buf_detach(&b, NULL);
}

/* Where needle starts within [line, end), or NULL. */
static const char *line_find(const char *line, const char *end, const char *needle)
{
	/* The check also keeps GCC's -Wnonnull quiet under the sanitizers. */
	if (!line || end <= line)
		return NULL;
	return memmem(line, (size_t)(end - line), needle, strlen(needle));
}

/* The number after key in [line, end), or 0. */
static uint64_t line_field(const char *line, const char *end, const char *key)
{
	const char *p = line_find(line, end, key);
	return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

/* Adds up the sessions of the log tail; true when every login ended. */
static bool sessions_done(const char *tail, struct sample *s)
{
	unsigned logins = 0, ends = 0;
	uint64_t out = 0, body = 0;
	for (const char *line = tail; *line;) {
		const char *end = strchr(line, '\n');
		if (!end)
			break; /* a line still being written */
		if (line_find(line, end, "imap-login: Info: Login: "))
			logins++;
		/* "imap(alice)<pid><session>: Info: Disconnected: ... out=" */
		if (line_find(line, end, " imap(") && line_find(line, end, " out=")) {
			ends++;
			out += line_field(line, end, " out=");
			body += line_field(line, end, " body_bytes=");
		}
		line = end + 1;
	}
	s->sessions = logins;
	s->out_bytes = out;
	s->body_bytes = body;
	return ends >= logins;
}

/* CPU time every core spent busy since boot (user, nice, system, irq,
 * softirq, steal), in seconds; 0 if /proc/stat cannot be read. */
static double machine_busy_s(void)
{
	FILE *f = fopen("/proc/stat", "r");
	unsigned long long v[8] = {0};
	int n = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
			   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7])
		  : 0;
	if (f)
		fclose(f);
	if (n != 8)
		return 0;
	/* v[3] is idle and v[4] iowait: not busy. */
	unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
	return (double)busy / (double)sysconf(_SC_CLK_TCK);
}

int measure_run(char *const argv[], const char *out_file, const char *log,
		off_t mark, struct sample *s, struct error *err)
{
	memset(s, 0, sizeof(*s));
	int out = open(out_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0)
		return error_errno(err, ERR_ACCOUNT, errno, "%s", out_file) < 0 ? -1 : 0;
	double busy0 = machine_busy_s();
	double t0 = measure_now();
	pid_t pid = fork();
	if (pid < 0) {
		close(out);
		return error_errno(err, ERR_ACCOUNT, errno, "fork") < 0 ? -1 : 0;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(127);
		execvp(argv[0], argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(out);
	int status;
	struct rusage ru;
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR)
			return error_errno(err, ERR_ACCOUNT, errno, "wait4") < 0 ? -1 : 0;
	s->wall_s = measure_now() - t0;
	s->machine_cpu_s = machine_busy_s() - busy0;
	s->cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		   (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	s->maxrss_kb = ru.ru_maxrss;
	s->status = status_code(status);

	if (!log)
		return 0;
	/* The server logs a session's end a moment after the client left. */
	double deadline = measure_now() + 3;
	for (;;) {
		char *tail = log_tail(log, mark);
		bool done = sessions_done(tail, s);
		free(tail);
		if (done || measure_now() > deadline)
			break;
		usleep(20000);
	}
	return 0;
}

/* Reads whatever is ready on fd into b; false at end of file. */
static bool drain(int fd, struct buf *b)
{
	char chunk[65536];
	ssize_t n = read(fd, chunk, sizeof(chunk));
	if (n < 0 && errno == EINTR)
		return true;
	if (n <= 0)
		return false;
	if (b)
		buf_add(b, chunk, (size_t)n);
	return true;
}

int measure_exec(char *const argv[], struct buf *out, struct error *err)
{
	int po[2], pe[2];
	if (pipe2(po, O_CLOEXEC) < 0)
		return error_errno(err, ERR_ACCOUNT, errno, "pipe") < 0 ? -1 : 0;
	if (pipe2(pe, O_CLOEXEC) < 0) {
		close(po[0]);
		close(po[1]);
		return error_errno(err, ERR_ACCOUNT, errno, "pipe") < 0 ? -1 : 0;
	}
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		if (null < 0 || dup2(null, 0) < 0 || dup2(po[1], 1) < 0 || dup2(pe[1], 2) < 0)
			_exit(127);
		execvp(argv[0], argv);
		dprintf(2, "exec %s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	if (pid < 0) {
		close(po[0]);
		close(pe[0]);
		return error_errno(err, ERR_ACCOUNT, errno, "fork") < 0 ? -1 : 0;
	}
	/* Both pipes at once: a child that fills one while we block on the
	 * other would never finish. */
	struct buf errs = BUF_INIT(1 << 20);
	struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
	while (fds[0].fd >= 0 || fds[1].fd >= 0) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd >= 0 && fds[i].revents &&
			    !drain(fds[i].fd, i == 0 ? out : &errs)) {
				close(fds[i].fd);
				fds[i].fd = -1;
			}
		}
	}
	for (int i = 0; i < 2; i++)
		if (fds[i].fd >= 0)
			close(fds[i].fd);
	int status, ret = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		/* One line: the first line of what it said. */
		size_t n = strcspn(errs.data, "\n");
		ret = error_set(err, ERR_ACCOUNT, "%s %s: exit %d: %.*s", argv[0],
				argv[1] ? argv[1] : "", status_code(status), (int)n, errs.data);
	}
	buf_release(&errs);
	return ret < 0 ? -1 : 0;
}
