/* SPDX-License-Identifier: MIT */
/* Running helper programs (doveadm) with their output captured. */
#include "harness-private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

long long harness_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void harness_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Reads "pid (comm) S ppid pgrp ..." from /proc/PID/stat: true when the
 * process is in pgid and not a zombie. */
static bool live_member(const char *pid_dir, pid_t pgid)
{
	char *path = xasprintf("/proc/%s/stat", pid_dir);
	FILE *f = fopen(path, "re");
	free(path);
	if (!f)
		return false;
	char *line = NULL;
	size_t cap = 0;
	bool member = false;
	if (getline(&line, &cap, f) > 0) {
		/* comm may hold spaces and parentheses: the last ')' ends it. */
		const char *p = strrchr(line, ')');
		char state = 0;
		long ppid = 0, pgrp = 0;
		if (p && sscanf(p + 1, " %c %ld %ld", &state, &ppid, &pgrp) == 3)
			member = pgrp == (long)pgid && state != 'Z' &&
				 state != 'X';
	}
	free(line);
	fclose(f);
	return member;
}

/* Whether any process of the group still runs.  Zombies do not count:
 * once the master is gone its children are reaped by init, which in a
 * container may take its time or never happen. */
static bool group_alive(pid_t pgid)
{
	if (kill(-pgid, 0) < 0)
		return false;
	DIR *d = opendir("/proc");
	if (!d)
		return true;
	bool alive = false;
	struct dirent *e;
	while (!alive && (e = readdir(d)) != NULL)
		if (e->d_name[0] >= '1' && e->d_name[0] <= '9')
			alive = live_member(e->d_name, pgid);
	closedir(d);
	return alive;
}

void harness_end_group(pid_t pgid, int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;
	kill(-pgid, SIGKILL);
	while (group_alive(pgid) && harness_now_ms() < deadline)
		harness_sleep_ms(2);
}

/* In the child: never returns. */
static void run_child(const char *const *argv, pid_t parent, int in_fd,
		      int out_fd, int err_fd)
{
	/* A test that dies must not leave doveadm behind. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
		_exit(127);
	execv(argv[0], (char *const *)argv);
	const char *msg = "harness: cannot execute the program\n";
	if (write(2, msg, strlen(msg)) < 0)
		_exit(127);
	_exit(127);
}

/* Reads what is available from fd into b (NULL: dropped).  Returns 1
 * when more may come, 0 at EOF, -1 when b reached its ceiling. */
static int drain(int fd, struct buf *b)
{
	char chunk[4096];
	ssize_t n = read(fd, chunk, sizeof(chunk));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : 0;
	if (n == 0)
		return 0;
	if (b && buf_add(b, chunk, (size_t)n) < 0)
		return -1;
	return 1;
}

int harness_run(const char *const *argv, const char *stdin_data,
		struct buf *out, struct buf *errout, int timeout_ms,
		int *status_r, struct error *err)
{
	/* stdin is a socket so that send(MSG_NOSIGNAL) cannot raise SIGPIPE
	 * in the test process when the child exits without reading. */
	int in_sp[2], out_p[2], err_p[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in_sp) < 0)
		return error_errno(err, ERR_ACCOUNT, errno, "socketpair");
	if (pipe2(out_p, O_CLOEXEC) < 0) {
		int e = errno;
		close(in_sp[0]);
		close(in_sp[1]);
		return error_errno(err, ERR_ACCOUNT, e, "pipe");
	}
	if (pipe2(err_p, O_CLOEXEC) < 0) {
		int e = errno;
		close(in_sp[0]);
		close(in_sp[1]);
		close(out_p[0]);
		close(out_p[1]);
		return error_errno(err, ERR_ACCOUNT, e, "pipe");
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0)
		run_child(argv, parent, in_sp[1], out_p[1], err_p[1]);
	int fork_errno = errno;
	close(in_sp[1]);
	close(out_p[1]);
	close(err_p[1]);
	if (pid < 0) {
		close(in_sp[0]);
		close(out_p[0]);
		close(err_p[0]);
		return error_errno(err, ERR_ACCOUNT, fork_errno, "fork");
	}

	int in_fd = in_sp[0];
	const char *in_left = stdin_data ? stdin_data : "";
	size_t in_len = strlen(in_left);
	if (in_len == 0) {
		close(in_fd);
		in_fd = -1;
	}
	bool out_open = true, err_open = true, timed_out = false;
	bool overflow = false;
	long long deadline = harness_now_ms() + timeout_ms;
	while (out_open || err_open || in_fd >= 0) {
		struct pollfd pfd[3] = {
			{out_open ? out_p[0] : -1, POLLIN, 0},
			{err_open ? err_p[0] : -1, POLLIN, 0},
			{in_fd, POLLOUT, 0},
		};
		long long left = deadline - harness_now_ms();
		if (left <= 0) {
			timed_out = true;
			break;
		}
		if (poll(pfd, 3, (int)left) < 0 && errno != EINTR)
			break;
		/* Output over the ceiling: stop reading, so the child gets
		 * EPIPE instead of blocking on a full pipe until timeout. */
		int d = pfd[0].revents ? drain(out_p[0], out) : 1;
		if (d < 0)
			overflow = true;
		if (d <= 0 && out_open) {
			out_open = false;
			close(out_p[0]);
		}
		d = pfd[1].revents ? drain(err_p[0], errout) : 1;
		if (d <= 0 && err_open) {
			err_open = false;
			close(err_p[0]);
		}
		if (in_fd >= 0 && pfd[2].revents) {
			ssize_t n = send(in_fd, in_left, in_len,
					 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0) {
				in_left += n;
				in_len -= (size_t)n;
			}
			/* Done, or the child stopped reading: give it EOF. */
			if (in_len == 0 || (n < 0 && errno != EAGAIN &&
					    errno != EINTR)) {
				close(in_fd);
				in_fd = -1;
			}
		}
	}
	if (in_fd >= 0)
		close(in_fd);
	if (out_open)
		close(out_p[0]);
	if (err_open)
		close(err_p[0]);
	/* A child may close its output and still run: the time limit holds
	 * for the wait as well. */
	int status = 0;
	if (timed_out)
		kill(pid, SIGKILL);
	for (;;) {
		pid_t r = waitpid(pid, &status, timed_out ? 0 : WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR))
			break;
		if (r == 0 && harness_now_ms() >= deadline) {
			timed_out = true;
			kill(pid, SIGKILL);
		} else if (r == 0) {
			harness_sleep_ms(2);
		}
	}
	if (timed_out)
		return error_set(err, ERR_ACCOUNT, "%s: no answer within %d ms",
				 argv[0], timeout_ms);
	if (overflow)
		return error_set(err, ERR_ACCOUNT,
				 "%s: output larger than %zu bytes", argv[0],
				 out->max);
	*status_r = status;
	return 0;
}
