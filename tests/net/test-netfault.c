/* SPDX-License-Identifier: MIT */
/*
 * Network faults (issue 9, point 3): tidemail reaches the harness Dovecot
 * through faultproxy, which cuts, stalls or truncates one connection: after
 * the k-th server line, at a random offset inside a server literal (a
 * message body being downloaded), at a random offset of what the client
 * sends (an upload being written), and on implicit TLS and STARTTLS at a
 * random byte of the encrypted stream either way.  One random case in
 * three gets a second fault early in the next run, which is busy
 * finishing what the first one left.  Some cases sync two folders on two
 * connections.
 *
 * Each case is a fresh folder with work in both directions (netcase.h),
 * one run of the real binary (`timeout: 2s`) through the proxy, then the
 * checks:
 *
 *   - it exits 1 or 3 (SPEC.md section 1), or 0 only if it had in fact
 *     finished (the next run then has nothing to do);
 *   - it ends by itself, and a stalled one within the configured timeout
 *     (2 s) plus a margin;
 *   - no file in new/ or cur/ and no message on the server is a partial
 *     copy;
 *   - no state row claims a local file or a UID that is not there;
 *   - a run without faults then ends in the expected result on both sides
 *     (nothing lost, nothing duplicated) and the run after it is quiet.
 *
 *   test-netfault TIDEMAIL [extended]
 *
 * The faults are drawn from a seed (TIDEMAIL_SEED, else the time), printed
 * first; a failure names the seed and the case.  Cases that once failed
 * are kept in `regressions` and run every time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "faultproxy.h"
#include "netcase.h"
#include "world.h"

/* The configured timeout, and what a stalled run may take beyond it
 * (start, login, writing the error; more under the sanitizers). */
#define TIMEOUT_S 2
#define MARGIN_PLAIN_S 2.0
#define MARGIN_SANITIZED_S 4.0

/* How tidemail reaches the server: the plain port (`tls: none`), the
 * implicit TLS port, the plain port with STARTTLS, or the plain port of a
 * server that offers COMPRESS=DEFLATE (a harness of its own). */
enum nf_link {
	NF_PLAIN,
	NF_TLS,
	NF_STARTTLS,
	NF_DEFLATE,
};

static const char *const link_names[] = {"plain", "tls", "starttls", "deflate"};
/* As the config says it. */
static const char *const link_config[] = {"none", "implicit", "starttls", "none"};

struct nf_case {
	enum nf_link link;
	/* 1: one folder on one connection; 2: two folders synced in
	 * parallel on two connections (`connections: 2`). */
	unsigned folders;
	struct fproxy_fault f;
	/* A second faulty run before the clean one, to interrupt what the
	 * first left to finish (the replay of its intents); PASS: none. */
	struct fproxy_fault then;
};

/* Faults that once failed, or that pin an edge: run first, every time. */
static const struct nf_case regressions[] = {
	/* Before the greeting, after it, and a greeting that never comes. */
	{.link = NF_PLAIN, .folders = 1, .f = {FPROXY_CLOSE, FPROXY_DOWN_BYTE, 0, 0, 0, NULL}},
	{.link = NF_PLAIN, .folders = 1, .f = {FPROXY_CLOSE, FPROXY_AFTER_LINE, 0, 1, 0, NULL}},
	{.link = NF_PLAIN, .folders = 1, .f = {FPROXY_STALL, FPROXY_DOWN_BYTE, 0, 0, 0, NULL}},
	/* The server did it, the client never hears: an upload (the first,
	 * the second, and the third stalled), a download, a flag change, a
	 * deletion. */
	{.link = NF_PLAIN, .folders = 1,
	 .f = {FPROXY_CLOSE, FPROXY_LINE_WITH, 0, 1, 0, "APPENDUID"}},
	{.link = NF_PLAIN, .folders = 1,
	 .f = {FPROXY_CLOSE, FPROXY_LINE_WITH, 0, 2, 0, "APPENDUID"}},
	{.link = NF_PLAIN, .folders = 1,
	 .f = {FPROXY_STALL, FPROXY_LINE_WITH, 0, 3, 0, "APPENDUID"}},
	{.link = NF_PLAIN, .folders = 1,
	 .f = {FPROXY_CLOSE, FPROXY_LINE_WITH, 0, 1, 0, "BODY[] {"}},
	{.link = NF_PLAIN, .folders = 1,
	 .f = {FPROXY_CLOSE, FPROXY_LINE_WITH, 0, 1, 0, "Store completed"}},
	{.link = NF_PLAIN, .folders = 1,
	 .f = {FPROXY_CLOSE, FPROXY_LINE_WITH, 0, 1, 0, "Expunge completed"}},
	/* TLS: nothing, a handshake cut short, one that stalls half way,
	 * a client hello that never arrives. */
	{.link = NF_TLS, .folders = 1, .f = {FPROXY_CLOSE, FPROXY_DOWN_BYTE, 0, 0, 0, NULL}},
	{.link = NF_TLS, .folders = 1, .f = {FPROXY_CLOSE, FPROXY_DOWN_BYTE, 0, 100, 0, NULL}},
	{.link = NF_TLS, .folders = 1, .f = {FPROXY_STALL, FPROXY_DOWN_BYTE, 0, 100, 0, NULL}},
	{.link = NF_TLS, .folders = 1, .f = {FPROXY_STALL, FPROXY_UP_BYTE, 0, 0, 0, NULL}},
	/* STARTTLS: cut and stalled after its OK, before the handshake. */
	{.link = NF_STARTTLS, .folders = 1, .f = {FPROXY_CLOSE, FPROXY_AFTER_LINE, 0, 2, 0, NULL}},
	{.link = NF_STARTTLS, .folders = 1, .f = {FPROXY_STALL, FPROXY_AFTER_LINE, 0, 2, 0, NULL}},
	/* DEFLATE: a compressed stream cut short and stalled. */
	{.link = NF_DEFLATE, .folders = 1, .f = {FPROXY_CLOSE, FPROXY_DOWN_BYTE, 0, 5000, 0, NULL}},
	{.link = NF_DEFLATE, .folders = 1, .f = {FPROXY_STALL, FPROXY_DOWN_BYTE, 0, 5000, 0, NULL}},
	/* Two connections: the second one's greeting never comes, the first
	 * one stalls while the second works, the first one is cut. */
	{.link = NF_PLAIN, .folders = 2, .f = {FPROXY_STALL, FPROXY_DOWN_BYTE, 1, 0, 0, NULL}},
	{.link = NF_PLAIN, .folders = 2, .f = {FPROXY_STALL, FPROXY_AFTER_LINE, 0, 20, 0, NULL}},
	{.link = NF_TLS, .folders = 2, .f = {FPROXY_CLOSE, FPROXY_DOWN_BYTE, 0, 20000, 0, NULL}},
};

struct transport {
	enum nf_link link;
	struct fproxy_stats cal; /* of connection 0 in a run without faults */
	unsigned cal_conns;
};

static struct {
	const char *bin;
	bool extended;
	bool sanitized;
	uint64_t seed, rng;
	unsigned next_folder;
	/* figures */
	size_t cases, plain, tls, starttls, deflate, fired, partial, lost, duplicated, converged;
	size_t stalls, stalls_ok, bad_state, exit0, exit1, exit3;
	double max_stall;
} g;

static uint64_t next_rand(void)
{
	uint64_t z = (g.rng += 0x9e3779b97f4a7c15u); /* splitmix64 */
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi] (hi >= lo). */
static uint64_t pick(uint64_t lo, uint64_t hi)
{
	return lo + next_rand() % (hi - lo + 1);
}

static char *describe_fault(const struct fproxy_fault *f)
{
	static const char *const actions[] = {"pass", "close", "stall"};
	const char *a = actions[f->action];
	switch (f->where) {
	case FPROXY_AFTER_LINE:
		return xasprintf("%s conn %u after server line %" PRIu64, a, f->conn, f->n);
	case FPROXY_IN_LITERAL:
		return xasprintf("%s conn %u in server literal %" PRIu64 " at byte %" PRIu64,
				 a, f->conn, f->n, f->offset);
	case FPROXY_DOWN_BYTE:
		return xasprintf("%s conn %u at server byte %" PRIu64, a, f->conn, f->n);
	case FPROXY_LINE_WITH:
		return xasprintf("%s conn %u before server line %" PRIu64 " with \"%s\"", a,
				 f->conn, f->n, f->match);
	case FPROXY_UP_BYTE:
		break;
	}
	return xasprintf("%s conn %u at client byte %" PRIu64, a, f->conn, f->n);
}

static char *describe(const struct nf_case *c)
{
	char *first = describe_fault(&c->f);
	char *then = c->then.action != FPROXY_PASS ? describe_fault(&c->then) : NULL;
	char *text = xasprintf("%s%s %s%s%s", link_names[c->link],
			       c->folders > 1 ? " 2 folders" : "", first, then ? ", then " : "",
			       then ? then : "");
	free(first);
	free(then);
	return text;
}

static void case_fail(const char *what, const char *fmt, ...) UTIL_PRINTF(2, 3);
static void case_fail(const char *what, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	printf("netfault FAILED: seed %" PRIu64 " (TIDEMAIL_SEED=%" PRIu64
	       " to replay), case %s: %s\n", g.seed, g.seed, what, msg);
	fflush(stdout);
	fail_msg("seed %" PRIu64 ", %s: %s", g.seed, what, msg);
}

static bool counts_zero(const struct sync_counts *c)
{
	return !(c->downloaded || c->uploaded || c->local_flags || c->remote_flags ||
		 c->deleted_local || c->deleted_remote || c->folders_created ||
		 c->folders_deleted || c->folders_renamed || c->moved_local ||
		 c->moved_remote);
}

/* A run straight to Dovecot, in this process; whether it changed nothing. */
static bool sync_clean(struct world *w, const char *what)
{
	int r = world_sync(w, NULL);
	if (r != 0 || w->rep.folders_failed || w->rep.folders_refused)
		case_fail(what, "the run without faults failed: %d %s", r,
			  w->err.msg ? w->err.msg : "");
	return counts_zero(&w->rep.counts);
}

/* After the run without faults, in the folder w is on. */
static void check_sides(struct world *w, const char *what, const char *folder)
{
	char *sv = server_view(w), *lv = local_view(w);
	size_t lost_s, dup_s, lost_l, dup_l;
	netcase_count(NETCASE_FINAL, sv, &lost_s, &dup_s);
	netcase_count(NETCASE_FINAL, lv, &lost_l, &dup_l);
	g.lost += lost_s + lost_l;
	g.duplicated += dup_s + dup_l;
	if (strcmp(sv, NETCASE_FINAL) || strcmp(lv, NETCASE_FINAL))
		case_fail(what, "%s: server \"%s\", Maildir \"%s\", want \"%s\"", folder, sv,
			  lv, NETCASE_FINAL);
	free(sv);
	free(lv);
}

/* What a run wrote to stderr ("" if nothing). */
static char *read_log(const char *path)
{
	char *text = netcase_read_file(path, NULL);
	return text ? text : xstrdup("");
}

/* SPEC.md: errors go to stderr, one line each (at least one). */
static bool errors_ok(const char *text)
{
	if (!*text)
		return false;
	for (const char *p = text; *p; p = strchr(p, '\n') + 1) {
		if (strncmp(p, "tidemail: ", 10) || !strchr(p, '\n'))
			return false;
	}
	return true;
}

/* The folders of a case: "nfN" alone, or "nfN-a" and "nfN-b" under the
 * glob "nfN-*"; w is left on the first. */
static struct world *case_world(struct harness *h, const struct nf_case *c,
				char ***names_r)
{
	unsigned id = g.next_folder++;
	char **names = xcalloc(c->folders + 1, sizeof(*names));
	if (c->folders == 1)
		names[0] = xasprintf("nf%u", id);
	for (unsigned i = 0; c->folders > 1 && i < c->folders; i++)
		names[i] = xasprintf("nf%u-%c", id, 'a' + i);
	char *glob = c->folders > 1 ? xasprintf("nf%u-*", id) : xstrdup(names[0]);
	struct world *w = world_new(h, glob, NULL);
	free(glob);
	for (unsigned i = 0; c->folders > 1 && i < c->folders; i++) {
		world_use(w, names[i], true);
		netcase_base(w);
	}
	if (c->folders > 1) {
		world_sync_ok(w);
		for (unsigned i = 0; i < c->folders; i++) {
			world_use(w, names[i], false);
			netcase_changes(w);
		}
	} else {
		netcase_prepare(w);
	}
	*names_r = names;
	return w;
}

static void case_world_free(struct world *w, char **names)
{
	for (size_t i = 0; names[i]; i++) {
		world_use(w, names[i], false);
		/* world_free() removes the folder it is on. */
		if (names[i + 1]) {
			struct error err = ERROR_INIT;
			harness_mailbox_delete(w->h, NULL, names[i], &err);
			error_clear(&err);
		}
		free(names[i]);
	}
	free(names);
	world_free(w);
}

/* The checks right after the interrupted run, in every folder. */
static void check_after_fault(struct world *w, char **names, const char *what)
{
	struct buf why = BUF_INIT(BUF_UNLIMITED);
	for (size_t i = 0; names[i]; i++) {
		world_use(w, names[i], false);
		size_t partial, bad;
		netcase_check_durable(w, &partial, &bad, &why);
		g.partial += partial;
		g.bad_state += bad;
		if (partial || bad)
			case_fail(what, "after the fault, in %s:%s", names[i], why.data);
	}
	buf_release(&why);
}

/* One case from its world to its checks; several run at once. */
struct case_run {
	struct nf_case c;
	char *what;
	char **names;
	struct world *w;
	struct fproxy *proxy;
	char *cfg, *log;
	struct netcase_run run;
};

/* Makes the case's world, proxy and config. */
static void case_prepare(struct harness *h, struct case_run *r, const struct nf_case *c)
{
	r->c = *c;
	r->what = describe(c);
	r->w = case_world(h, c, &r->names);
	struct error err = ERROR_INIT;
	if (fproxy_start(c->link == NF_TLS ? h->imaps_port : h->imap_port, &r->proxy, &err) < 0)
		fail_msg("%s", err.msg);
	r->cfg = netcase_config(r->w, fproxy_port(r->proxy), link_config[c->link], TIMEOUT_S,
				c->folders);
	r->log = xasprintf("%s/run.log", r->w->dir);
	fproxy_arm(r->proxy, &c->f);
}

/* How one run with a fault (or a PASS) ended: in time, with 1 or 3. */
static void check_run(const char *what, const struct fproxy_fault *f, bool fired,
		      const struct netcase_run *run, const char *err_text, double margin)
{
	if (run->hung)
		case_fail(what, "the run did not end; killed after %.2f s", run->secs);
	if (fired && f->action == FPROXY_STALL) {
		g.stalls++;
		if (run->secs > g.max_stall)
			g.max_stall = run->secs;
		if (run->secs > TIMEOUT_S + margin)
			case_fail(what, "a stalled run took %.2f s with timeout %d s", run->secs,
				  TIMEOUT_S);
		g.stalls_ok++;
	}
	int status = run->status;
	if (f->action == FPROXY_PASS || !fired) {
		if (status != 0)
			case_fail(what, "a run without a fault exited %d: %s", status, err_text);
	} else if (status != 1 && status != 3 && status != 0) {
		case_fail(what, "exit status %d, want 1 or 3: %s", status, err_text);
	}
	g.fired += fired && f->action != FPROXY_PASS;
	g.exit0 += status == 0 && fired;
	g.exit1 += status == 1;
	g.exit3 += status == 3;
	if (status != 0 && !errors_ok(err_text))
		case_fail(what, "want error lines \"tidemail: ...\", got \"%s\"", err_text);
}

/* The case's second faulty run, alone; returns its exit status. */
static int second_run(struct case_run *r, double margin)
{
	struct harness *h = r->w->h;
	struct error err = ERROR_INIT;
	struct fproxy *proxy;
	if (fproxy_start(r->c.link == NF_TLS ? h->imaps_port : h->imap_port, &proxy, &err) < 0)
		fail_msg("%s", err.msg);
	free(r->cfg);
	r->cfg = netcase_config(r->w, fproxy_port(proxy), link_config[r->c.link], TIMEOUT_S,
				r->c.folders);
	fproxy_arm(proxy, &r->c.then);
	struct netcase_run run;
	netcase_spawn(g.bin, r->cfg, r->log, &run);
	netcase_wait(&run, 1, (int)((TIMEOUT_S + margin + 2) * 1000));
	bool fired = fproxy_fired(proxy);
	fproxy_stop(proxy);
	char *err_text = read_log(r->log);
	printf("  then: exit %d after %.2f s, fault %s\n", run.status, run.secs,
	       fired ? "fired" : "not reached");
	check_run(r->what, &r->c.then, fired, &run, err_text, margin);
	check_after_fault(r->w, r->names, r->what);
	free(err_text);
	return run.status;
}

/* Everything after the run; a PASS fault is the calibration of t. */
static void case_check(struct case_run *r, struct transport *t, double margin)
{
	const struct nf_case *c = &r->c;
	const char *what = r->what;
	struct world *w = r->w;
	bool fired = fproxy_fired(r->proxy);
	int status = r->run.status;
	char *err_text = read_log(r->log);
	printf("case %zu: %s: exit %d after %.2f s, fault %s\n", g.cases, what, status,
	       r->run.secs, fired ? "fired" : "not reached");
	fflush(stdout);
	if (c->f.action == FPROXY_PASS) {
		t->cal_conns = fproxy_accepted(r->proxy);
		fproxy_stats(r->proxy, 0, &t->cal);
	}
	/* Drop what the fault held open before anything else talks to the
	 * server. */
	fproxy_stop(r->proxy);
	check_run(what, &c->f, fired, &r->run, err_text, margin);
	check_after_fault(w, r->names, what);
	free(err_text);
	if (c->then.action != FPROXY_PASS)
		status = second_run(r, margin);

	/* The next run without faults finishes the work... */
	bool quiet = sync_clean(w, what);
	if (status == 0 && !quiet)
		case_fail(what, "exited 0 but the next run still had work");
	for (size_t i = 0; r->names[i]; i++) {
		world_use(w, r->names[i], false);
		check_sides(w, what, r->names[i]);
	}
	/* ...and the one after it has nothing left to do (so the sides stay
	 * as just checked). */
	if (!sync_clean(w, what))
		case_fail(what, "the second run without faults changed things");
	g.converged++;
	g.cases++;
	g.plain += c->link == NF_PLAIN;
	g.tls += c->link == NF_TLS;
	g.starttls += c->link == NF_STARTTLS;
	g.deflate += c->link == NF_DEFLATE;

	free(r->log);
	free(r->cfg);
	case_world_free(w, r->names);
	free(r->what);
}

/*
 * Runs cases at_once at a time: their worlds are made one after the
 * other, then the runs go together (stalled ones spend most of their time
 * waiting), then each is checked.
 */
static void run_cases(struct harness *h, struct transport *t, const struct nf_case *cases,
		      size_t n, size_t at_once)
{
	double margin = g.sanitized ? MARGIN_SANITIZED_S : MARGIN_PLAIN_S;
	int limit_ms = (int)((TIMEOUT_S + margin + 2) * 1000);
	struct case_run *runs = xcalloc(at_once, sizeof(*runs));
	struct netcase_run *procs = xcalloc(at_once, sizeof(*procs));
	for (size_t i = 0; i < n; i += at_once) {
		size_t k = n - i < at_once ? n - i : at_once;
		for (size_t j = 0; j < k; j++)
			case_prepare(h, &runs[j], &cases[i + j]);
		for (size_t j = 0; j < k; j++)
			netcase_spawn(g.bin, runs[j].cfg, runs[j].log, &procs[j]);
		netcase_wait(procs, k, limit_ms);
		for (size_t j = 0; j < k; j++) {
			runs[j].run = procs[j];
			case_check(&runs[j], t, margin);
		}
	}
	free(procs);
	free(runs);
}

/* A random fault of the kinds a transport can place. */
/* A random fault of the kinds a transport can place, within the first
 * 1/part of the streams a whole run carries. */
static struct fproxy_fault random_fault(const struct transport *t, bool stall,
					unsigned part)
{
	struct fproxy_fault f = {stall ? FPROXY_STALL : FPROXY_CLOSE, FPROXY_DOWN_BYTE,
				 0, 0, 0, NULL};
	const struct fproxy_stats *s = &t->cal;
	uint64_t down = s->bytes_down / part, up = s->bytes_up / part;
	unsigned kind = (unsigned)pick(0, 9);
	if (t->link != NF_PLAIN) {
		/* An encrypted or compressed stream (after the first lines of
		 * STARTTLS or COMPRESS): random bytes, mostly the server's. */
		if (kind < 7 || stall) {
			f.n = pick(0, down - 1);
		} else {
			f.where = FPROXY_UP_BYTE;
			f.n = pick(0, up - 1);
		}
	} else if (kind < 4 && s->lines / part > 3) {
		/* The last lines answer LOGOUT: cutting there loses nothing. */
		f.where = FPROXY_AFTER_LINE;
		f.n = pick(1, s->lines / part - 3);
	} else if (kind < 8 && s->n_lit / part) {
		f.where = FPROXY_IN_LITERAL;
		f.n = pick(1, s->n_lit / part);
		f.offset = pick(0, s->lit_sizes[f.n - 1] - 1);
	} else if (kind < 9) {
		/* Anywhere: inside a line as well. */
		f.n = pick(0, down - 1);
	} else {
		f.where = FPROXY_UP_BYTE;
		f.n = pick(0, up - 1);
	}
	return f;
}

/* A random case on one connection; one in three has a second fault
 * early in the next run, where it finishes what the first one left. */
static struct nf_case random_case(const struct transport *t, bool stall)
{
	struct nf_case c = {.link = t->link, .folders = 1, .f = random_fault(t, stall, 1)};
	if (!stall && pick(0, 2) == 0)
		c.then = random_fault(t, false, 3);
	return c;
}

/* A random fault on one of two connections syncing two folders. */
static struct nf_case random_parallel(const struct transport *t, bool stall)
{
	struct nf_case c = {.link = t->link, .folders = 2,
			    .f = {stall ? FPROXY_STALL : FPROXY_CLOSE, FPROXY_DOWN_BYTE, 0, 0, 0, NULL}};
	/* The run's own connection, already logged in, often takes both
	 * folders before the second one is ready: that one mostly carries
	 * its login. */
	c.f.conn = (unsigned)pick(0, 1);
	c.f.n = pick(0, c.f.conn ? 1200 : t->cal.bytes_down - 1);
	return c;
}

static void run_transport(struct harness *h, enum nf_link link, size_t n_close, size_t n_stall,
			  size_t n_parallel)
{
	struct transport t = {.link = link};
	/* A run without faults measures the streams the faults fall in. */
	struct nf_case cal = {.link = link, .folders = 1,
			      .f = {FPROXY_PASS, FPROXY_DOWN_BYTE, 0, 0, 0, NULL}};
	run_cases(h, &t, &cal, 1, 1);
	printf("calibration %s: %u connection(s); connection 0: %" PRIu64 " lines, %zu "
	       "literals, %" PRIu64 " bytes down, %" PRIu64 " up\n", link_names[link],
	       t.cal_conns, t.cal.lines, t.cal.n_lit, t.cal.bytes_down, t.cal.bytes_up);
	if (t.cal.bytes_down == 0 || t.cal.bytes_up == 0)
		fail_msg("the calibration run went nowhere");

	/* Stalls first, up to 8 at once: each waits out the timeout. */
	size_t n = 0, cap = 0;
	struct nf_case *cases = NULL;
	for (int stall = 1; stall >= 0; stall--) {
		for (size_t i = 0; i < UTIL_ARRAY_LEN(regressions); i++) {
			const struct nf_case *c = &regressions[i];
			if (c->link == link && (c->f.action == FPROXY_STALL) == stall) {
				cases = xgrow(cases, sizeof(*cases), n + 1, &cap);
				cases[n++] = *c;
			}
		}
		for (size_t i = 0; i < (stall ? n_stall : n_close) + n_parallel / 2; i++) {
			cases = xgrow(cases, sizeof(*cases), n + 1, &cap);
			cases[n++] = i < (stall ? n_stall : n_close) ? random_case(&t, stall)
								      : random_parallel(&t, stall);
		}
		if (stall) {
			run_cases(h, &t, cases, n, n < 8 ? n : 8);
			n = 0;
		}
	}
	/* The others two at a time, for the two cores CI has. */
	run_cases(h, &t, cases, n, 2);
	free(cases);
	fproxy_stats_release(&t.cal);
}

/* CI: over 30 faults within a minute (half under the sanitizers, which
 * are 2-3 times slower); extended: several hundred. */
static size_t scaled(size_t n, size_t extended)
{
	if (g.extended)
		return extended;
	return g.sanitized ? (n + 1) / 2 : n;
}

static int shorten(const char *path)
{
	struct stat st;
	return stat(path, &st) < 0 ? -1 : truncate(path, st.st_size - 1);
}

/* Applies fn to every file in w's cur/; returns how many. */
static size_t each_in_cur(struct world *w, int (*fn)(const char *path))
{
	char *cur = xasprintf("%s/cur", w->path);
	DIR *d = opendir(cur);
	assert_non_null(d);
	size_t n = 0;
	for (struct dirent *de; (de = readdir(d));) {
		if (de->d_name[0] == '.')
			continue;
		char *path = xasprintf("%s/%s", cur, de->d_name);
		assert_int_equal(fn(path), 0);
		free(path);
		n++;
	}
	closedir(d);
	free(cur);
	return n;
}

/* The checks themselves find what they look for: a shortened file, a
 * shortened message on the server, a state row without its file, a lost
 * and a doubled message in a view. */
static void checks_find_damage(void **state)
{
	size_t lost, dup;
	netcase_count("a: b:S c:", "a:S b: b:", &lost, &dup);
	assert_int_equal(lost, 1);
	assert_int_equal(dup, 1);
	if (!harness_available())
		skip();
	struct world *w = world_new(*state, "nfcheck", NULL);
	netcase_prepare(w);
	world_sync_ok(w);
	struct buf why = BUF_INIT(BUF_UNLIMITED);
	size_t partial, bad;
	netcase_check_durable(w, &partial, &bad, &why);
	assert_int_equal(partial + bad, 0);

	/* Every file in cur/ is cut by one byte, then they go: the state
	 * still names them. */
	size_t files = each_in_cur(w, shorten);
	assert_true(files > 0);
	netcase_check_durable(w, &partial, &bad, &why);
	assert_int_equal(partial, files);
	assert_int_equal(bad, 0);
	assert_int_equal(each_in_cur(w, unlink), files);
	netcase_check_durable(w, &partial, &bad, &why);
	assert_int_equal(partial, 0);
	assert_int_equal(bad, files);

	/* A shortened copy of s5 on the server. */
	char *text = netcase_message("s5", true);
	text[strlen(text) - 3] = '\0';
	struct error err = ERROR_INIT;
	assert_int_equal(harness_save(w->h, NULL, w->folder, text, NULL, &err), 0);
	free(text);
	size_t before = partial;
	netcase_check_durable(w, &partial, &bad, &why);
	assert_int_equal(partial, before + 1);
	assert_non_null(strstr(why.data, "(s5) is not the whole message"));
	buf_release(&why);
	world_free(w);
}

static void faults_plain(void **state)
{
	if (!harness_available())
		skip();
	run_transport(*state, NF_PLAIN, scaled(5, 200), scaled(1, 10), scaled(2, 40));
}

static void faults_tls(void **state)
{
	if (!harness_available())
		skip();
	run_transport(*state, NF_TLS, scaled(3, 150), scaled(1, 10), scaled(0, 40));
}

static void faults_starttls(void **state)
{
	if (!harness_available())
		skip();
	run_transport(*state, NF_STARTTLS, scaled(1, 50), scaled(0, 5), scaled(0, 10));
}

static void faults_deflate(void **state)
{
	if (!harness_available())
		skip();
	run_transport(*state, NF_DEFLATE, scaled(2, 50), scaled(0, 5), scaled(0, 10));
}

static int setup(void **state)
{
	return world_setup(state, NULL);
}

static int setup_compress(void **state)
{
	return world_setup(state, &(struct harness_opts){.compress = true});
}

static int teardown(void **state)
{
	return world_teardown(state);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs("usage: test-netfault TIDEMAIL [extended]\n", stderr);
		return 2;
	}
	g.bin = argv[1];
	g.extended = argc > 2 && !strcmp(argv[2], "extended");
	const char *san = getenv("TIDEMAIL_SANITIZED");
	g.sanitized = san && !strcmp(san, "1");
	const char *seed = getenv("TIDEMAIL_SEED");
	g.seed = seed && *seed ? strtoull(seed, NULL, 10) : (uint64_t)time(NULL);
	g.rng = g.seed;
	printf("netfault: seed %" PRIu64 " (TIDEMAIL_SEED=%" PRIu64 " to replay)\n", g.seed,
	       g.seed);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(checks_find_damage),
		cmocka_unit_test(faults_plain),
		cmocka_unit_test(faults_tls),
		cmocka_unit_test(faults_starttls),
	};
	int failed = cmocka_run_group_tests(tests, setup, teardown);
	const struct CMUnitTest compressed[] = {
		cmocka_unit_test(faults_deflate),
	};
	failed += cmocka_run_group_tests_name("COMPRESS=DEFLATE", compressed, setup_compress,
					      teardown);
	printf("figures: netfault cases=%zu plain=%zu tls=%zu starttls=%zu deflate=%zu "
	       "partial-files=%zu "
	       "lost=%zu duplicated=%zu converged=%zu stalls-within-timeout=%zu fired=%zu "
	       "exit1=%zu exit3=%zu exit0-finished=%zu bad-state=%zu max-stall=%.2fs "
	       "timeout=%ds seed=%" PRIu64 "\n",
	       g.cases, g.plain, g.tls, g.starttls, g.deflate, g.partial, g.lost, g.duplicated, g.converged,
	       g.stalls_ok, g.fired, g.exit1, g.exit3, g.exit0, g.bad_state, g.max_stall,
	       TIMEOUT_S, g.seed);
	return failed;
}
