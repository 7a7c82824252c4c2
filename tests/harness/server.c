/* SPDX-License-Identifier: MIT */
/* Starting and stopping the private Dovecot. */
#include "harness-private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_USER "alice"
#define DEFAULT_TIMEOUT_MS 10000
/* Ports are free when picked but may be taken before Dovecot binds them. */
#define START_ATTEMPTS 5
/* How long Dovecot gets to exit on SIGTERM before SIGKILL.  It needs
 * about 5 ms, 100 ms on a busy machine; but on a busy machine its master
 * sometimes waits seconds for an imap process that served a login, and a
 * throwaway server has nothing worth a graceful shutdown. */
#define STOP_TIMEOUT_MS 500
#define GROUP_TIMEOUT_MS 1000
#define PID_FILE "tm-dovecot.pid"
#define LOG_TAIL_BYTES 1500

bool harness_available(void)
{
	return access(HARNESS_DOVECOT_BIN, X_OK) == 0 &&
	       access(HARNESS_DOVEADM_BIN, X_OK) == 0;
}

static void free_fields(struct harness *h)
{
	free(h->dir);
	free(h->conf_file);
	free(h->log_file);
	free(h->ca_file);
	free(h->users_file);
	free(h->mail_dir);
	free(h->user);
	free(h->password);
	memset(h, 0, sizeof(*h));
}

/* Binds a TCP socket to addr:port (port 0: any); returns it or -1. */
static int bind_tcp(const char *addr, uint16_t port, uint16_t *port_r)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons(port)};
	socklen_t len = sizeof(sa);
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		close(fd);
		return -1;
	}
	*port_r = ntohs(sa.sin_port);
	return fd;
}

/*
 * Two distinct ports free on both addresses.  The sockets stay bound until
 * both are chosen so that the kernel cannot hand out the same port twice;
 * nothing listens on them, so closing leaves no TIME_WAIT behind.
 */
static int pick_ports(struct harness *h, struct error *err)
{
	int fds[4] = {-1, -1, -1, -1};
	uint16_t ports[2] = {0, 0};
	int got = 0;
	for (int tries = 0; got < 2 && tries < 50; tries++) {
		uint16_t p = 0, same = 0;
		int a = bind_tcp(h->host, 0, &p);
		int b = a < 0 ? -1 : bind_tcp(h->alt_host, p, &same);
		if (a >= 0 && b >= 0) {
			fds[2 * got] = a;
			fds[2 * got + 1] = b;
			ports[got++] = p;
			continue;
		}
		if (a >= 0)
			close(a);
	}
	for (int i = 0; i < 4; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (got < 2)
		return error_set(err, ERR_ACCOUNT,
				 "no free port on both %s and %s", h->host,
				 h->alt_host);
	h->imap_port = ports[0];
	h->imaps_port = ports[1];
	return 0;
}

/* Appends the tails of Dovecot's log and stderr to the recorded error,
 * one line, so that a failed start explains itself. */
static int fail_with_log(struct harness *h, struct error *err)
{
	char *stderr_file = xasprintf("%s/dovecot.stderr", h->dir);
	char *paths[2] = {h->log_file, stderr_file};
	struct buf msg = BUF_INIT(BUF_UNLIMITED);
	buf_adds(&msg, err && err->msg ? err->msg : "Dovecot did not start");
	for (size_t i = 0; i < 2 && h->log_file; i++) {
		char *tail = harness_file_tail(paths[i], LOG_TAIL_BYTES);
		for (char *p = tail; *p; p++)
			if (*p == '\n')
				*p = '|';
		if (*tail)
			buf_addf(&msg, "; %s: %s", paths[i], tail);
		free(tail);
	}
	free(stderr_file);
	int r = error_set(err, ERR_ACCOUNT, "%s", msg.data);
	buf_release(&msg);
	return r;
}

/*
 * As root, Dovecot reads its files as the dovecot user and the mail as
 * mail: every directory above dir must let others through, or startup
 * would only time out with "Permission denied" in the log.
 */
static int check_traversable(const char *dir, struct error *err)
{
	char *path = xstrdup(dir);
	int r = 0;
	for (char *slash = strrchr(path, '/'); r == 0 && slash;
	     slash = strrchr(path, '/')) {
		*slash = '\0';
		struct stat st;
		const char *p = *path ? path : "/";
		if (stat(p, &st) == 0 && !(st.st_mode & S_IXOTH))
			r = error_set(err, ERR_ACCOUNT,
				      "%s is mode %03o: Dovecot's users "
				      "cannot reach %s (chmod o+x it or use "
				      "another directory)",
				      p, (unsigned)(st.st_mode & 0777), dir);
	}
	free(path);
	return r;
}

/* Creates the directory and everything in it that does not depend on the
 * ports: TLS files, passwd-file, mail directory. */
static int prepare_dir(struct harness *h, const struct harness_opts *opts,
		       struct error *err)
{
	if (opts->dir) {
		if (util_mkdir_p(opts->dir, 0711) < 0)
			return error_errno(err, ERR_ACCOUNT, errno, "mkdir %s",
					   opts->dir);
		h->dir = realpath(opts->dir, NULL);
		if (!h->dir)
			return error_errno(err, ERR_ACCOUNT, errno,
					   "realpath %s", opts->dir);
	} else {
		const char *tmp = getenv("TMPDIR");
		char *tmpl = xasprintf("%s/tm-harness.XXXXXX",
				       tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(tmpl)) {
			int e = errno;
			error_errno(err, ERR_ACCOUNT, e, "mkdtemp %s", tmpl);
			free(tmpl);
			return -ERR_ACCOUNT;
		}
		h->dir = tmpl;
	}
	h->conf_file = xasprintf("%s/dovecot.conf", h->dir);
	h->log_file = xasprintf("%s/dovecot.log", h->dir);
	h->ca_file = xasprintf("%s/tls/ca.pem", h->dir);
	h->users_file = xasprintf("%s/users", h->dir);
	h->mail_dir = xasprintf("%s/mail", h->dir);
	/* The mail user and Dovecot's own users must get through. */
	if (chmod(h->dir, 0711) < 0)
		return error_errno(err, ERR_ACCOUNT, errno, "chmod %s", h->dir);
	if (getuid() == 0) {
		int r = check_traversable(h->dir, err);
		if (r < 0)
			return r;
	}
	static const char *const subdirs[] = {"run", "state", "tls"};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(subdirs); i++) {
		char *p = xasprintf("%s/%s", h->dir, subdirs[i]);
		int r = util_mkdir_p(p, 0755);
		int e = errno;
		free(p);
		if (r < 0)
			return error_errno(err, ERR_ACCOUNT, e, "mkdir %s/%s",
					   h->dir, subdirs[i]);
	}
	if (util_mkdir_p(h->mail_dir, 0700) < 0 ||
	    chown(h->mail_dir, h->mail_uid, h->mail_gid) < 0)
		return error_errno(err, ERR_ACCOUNT, errno, "mail dir %s",
				   h->mail_dir);
	char *tls_dir = xasprintf("%s/tls", h->dir);
	int r = harness_make_tls(tls_dir, err);
	free(tls_dir);
	if (r < 0)
		return r;
	char *line = harness_passwd_line(h, h->user, h->password);
	r = harness_write_file(h->users_file, line, 0644, err);
	free(line);
	return r;
}

/* In the child: never returns. */
static void exec_dovecot(const struct harness *h, bool detach, pid_t parent,
			 int out_fd)
{
	if (detach) {
		setsid();
	} else {
		/* Own group, so that stop can signal every Dovecot process
		 * at once (the master alone takes a second to shut down);
		 * and it dies with the test, however the test ends. */
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
	}
	int null_fd = open("/dev/null", O_RDONLY);
	if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 ||
	    dup2(out_fd, 2) < 0)
		_exit(127);
	const char *argv[] = {"dovecot", "-F", "-c", h->conf_file, NULL};
	execv(HARNESS_DOVECOT_BIN, (char *const *)argv);
	_exit(127);
}

static int spawn(struct harness *h, bool detach, struct error *err)
{
	char *out_path = xasprintf("%s/dovecot.stderr", h->dir);
	int out_fd = open(out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			  0644);
	int e = errno;
	free(out_path);
	if (out_fd < 0)
		return error_errno(err, ERR_ACCOUNT, e, "dovecot.stderr");
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0)
		exec_dovecot(h, detach, parent, out_fd);
	e = errno;
	close(out_fd);
	if (pid < 0)
		return error_errno(err, ERR_ACCOUNT, e, "fork");
	/* Also here, so that a stop right after start finds the group. */
	if (!detach)
		setpgid(pid, pid);
	h->pid = pid;
	char *pid_path = xasprintf("%s/%s", h->dir, PID_FILE);
	char *text = xasprintf("%ld\n", (long)pid);
	int r = harness_write_file(pid_path, text, 0644, err);
	free(text);
	free(pid_path);
	return r;
}

/* True (and h->pid cleared) when the master has exited. */
static bool master_exited(struct harness *h)
{
	int status;
	if (h->pid > 0 && waitpid(h->pid, &status, WNOHANG) == h->pid)
		h->pid = 0;
	return h->pid == 0;
}

static bool port_open(const char *host, uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons(port)};
	inet_pton(AF_INET, host, &sa.sin_addr);
	bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

bool harness_user_known(struct harness *h, const char *name, int timeout_ms)
{
	const char *argv[] = {HARNESS_DOVEADM_BIN, "-c", h->conf_file, "user",
			      name, NULL};
	int status = -1;
	if (harness_run(argv, NULL, NULL, NULL, timeout_ms, &status, NULL) < 0)
		return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static int wait_ready(struct harness *h, long long deadline,
		      struct error *err)
{
	/* The deadline is looked at before the port: a port that answers
	 * at once may be another server's (two harnesses can be handed the
	 * same free port), and a start that has run out of time must fail
	 * whatever answers. */
	for (;;) {
		if (master_exited(h))
			return error_set(err, ERR_ACCOUNT,
					 "Dovecot exited during startup");
		if (harness_now_ms() > deadline)
			return error_set(err, ERR_ACCOUNT,
					 "port %u not open in time",
					 h->imap_port);
		if (port_open(h->host, h->imap_port))
			break;
		harness_sleep_ms(5);
	}
	for (;;) {
		long long left = deadline - harness_now_ms();
		/* doveadm answers without the master: a master that lost
		 * its port to another server has exited by now. */
		if (harness_user_known(h, h->user, left > 100 ? (int)left : 100) &&
		    !master_exited(h))
			return 0;
		if (master_exited(h))
			return error_set(err, ERR_ACCOUNT,
					 "Dovecot exited during startup");
		if (harness_now_ms() > deadline)
			return error_set(err, ERR_ACCOUNT,
					 "`doveadm user %s` did not answer in "
					 "time",
					 h->user);
		harness_sleep_ms(20);
	}
}

/* Signals the group, waits for the master (a child of ours), kills. */
static void kill_child_group(pid_t pid)
{
	/* The pid too: right after fork the child may not lead its group
	 * yet (setsid() in the detached case runs in the child only). */
	kill(-pid, SIGTERM);
	kill(pid, SIGTERM);
	long long deadline = harness_now_ms() + STOP_TIMEOUT_MS;
	int status;
	pid_t r;
	while ((r = waitpid(pid, &status, WNOHANG)) == 0 &&
	       harness_now_ms() < deadline)
		harness_sleep_ms(2);
	if (r == 0) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	harness_end_group(pid, GROUP_TIMEOUT_MS);
}

static int set_mail_owner(struct harness *h, struct error *err)
{
	if (getuid() != 0) {
		h->mail_uid = getuid();
		h->mail_gid = getgid();
		return 0;
	}
	/* Dovecot refuses mail access as root; Debian's mail user fits. */
	struct passwd *pw = getpwnam("mail");
	if (!pw)
		return error_set(err, ERR_ACCOUNT,
				 "running as root needs a 'mail' user for "
				 "the mailboxes");
	h->mail_uid = pw->pw_uid;
	h->mail_gid = pw->pw_gid;
	return 0;
}

/*
 * Every default password starts with HARNESS_SENTINEL_PREFIX, so that a
 * sweep after the whole suite (tests/secrets/sweep.sh) can look for
 * passwords in test output, traces and left-over files without knowing
 * each run's random part.
 */
static char *random_password(void)
{
	unsigned char raw[8];
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return xasprintf("%s%ld", HARNESS_SENTINEL_PREFIX, (long)getpid());
	return xasprintf("%s%02x%02x%02x%02x%02x%02x%02x%02x",
			 HARNESS_SENTINEL_PREFIX, raw[0], raw[1], raw[2], raw[3],
			 raw[4], raw[5], raw[6], raw[7]);
}

static int start_attempt(struct harness *h, const struct harness_opts *opts,
			 long long deadline, bool *retry_r, struct error *err)
{
	*retry_r = false;
	int r = pick_ports(h, err);
	if (r < 0)
		return r;
	char *conf = harness_config_text(h, opts);
	r = harness_write_file(h->conf_file, conf, 0644, err);
	free(conf);
	if (r == 0)
		r = spawn(h, opts->detach, err);
	if (r == 0)
		r = wait_ready(h, deadline, err);
	if (r == 0)
		return 0;
	if (h->pid > 0) {
		kill_child_group(h->pid);
		h->pid = 0;
	}
	char *tail = harness_file_tail(h->log_file, LOG_TAIL_BYTES);
	*retry_r = strstr(tail, "Address already in use") != NULL;
	free(tail);
	return r;
}

int harness_start(struct harness *h, const struct harness_opts *opts,
		  struct error *err)
{
	static const struct harness_opts defaults;
	if (!opts)
		opts = &defaults;
	memset(h, 0, sizeof(*h));
	long long deadline =
		harness_now_ms() +
		(opts->timeout_ms > 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS);
	h->host = "127.0.0.1";
	h->alt_host = "127.0.0.2";
	h->user = xstrdup(DEFAULT_USER);
	h->password = opts->password ? xstrdup(opts->password)
				     : random_password();
	h->keep_dir = opts->dir != NULL || opts->detach;
	int r = set_mail_owner(h, err);
	if (r == 0)
		r = prepare_dir(h, opts, err);
	bool retry = true, tried = false;
	for (int i = 0; r == 0 && i < START_ATTEMPTS; i++) {
		tried = true;
		/* A port taken in between shows up in the log; try others
		 * with a fresh log so the old message does not linger. */
		unlink(h->log_file);
		r = start_attempt(h, opts, deadline, &retry, err);
		if (r == 0 || !retry)
			break;
		if (i + 1 < START_ATTEMPTS) {
			if (err)
				error_clear(err);
			r = 0;
		}
	}
	if (r == 0)
		return 0;
	/* A log in a reused directory may be an earlier run's. */
	if (tried)
		fail_with_log(h, err);
	error_prefix(err, "starting Dovecot");
	if (h->dir && !h->keep_dir && !getenv("TM_KEEP_HARNESS"))
		harness_remove_tree(h->dir);
	free_fields(h);
	return r;
}

void harness_stop(struct harness *h)
{
	if (h->pid > 0)
		kill_child_group(h->pid);
	h->pid = 0;
	if (h->dir && !h->keep_dir) {
		if (getenv("TM_KEEP_HARNESS"))
			fprintf(stderr, "harness: TM_KEEP_HARNESS: kept %s\n",
				h->dir);
		else
			harness_remove_tree(h->dir);
	}
	free_fields(h);
}

void harness_forget(struct harness *h)
{
	free_fields(h);
}
