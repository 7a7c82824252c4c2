/* SPDX-License-Identifier: MIT */
/*
 * bench-sync: tidemail against mbsync, side by side, in one run (issue 8).
 *
 *   bench-sync [--quick] [--runs N] [--light-runs N] [--only LETTERS]
 *              [--seed N] [--dir DIR] [--keep]
 *              [--tidemail PATH] [--mbsync PATH] [--tm-dovecot PATH]
 *
 * Prints every run as it happens, then a table of medians and the
 * tidemail/mbsync ratios.  Asserts no figure: the exit status is 0 when
 * every scenario ran, 1 when one could not be set up, 2 on bad usage, 3
 * when tidemail failed a run or its mail differed from the server's after
 * its last run of a scenario (mbsync's failures show in the table only).
 * A tool that fails a run shows its exit status in the run's line.
 *
 * DIR (default: a new directory under $TMPDIR or /tmp) holds the servers,
 * both tools' Maildirs and logs; it is removed at the end unless --keep.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench.h"

#ifndef BENCH_BUILD_ROOT
#define BENCH_BUILD_ROOT "build"
#endif

static int usage(void)
{
	fputs("usage: bench-sync [--quick] [--runs N] [--light-runs N] [--only LETTERS]\n"
	      "                  [--seed N] [--dir DIR] [--keep] [--tidemail PATH]\n"
	      "                  [--mbsync PATH] [--tm-dovecot PATH]\n",
	      stderr);
	return 2;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The median of one field of a tool's runs (the lower middle of an even
 * count would favour nobody either; the mean of the two middles is used). */
static double median(const struct result *r, int k, double (*get)(const struct sample *))
{
	unsigned n = r->nruns[k];
	if (!n)
		return 0;
	double v[BENCH_MAX_RUNS];
	for (unsigned i = 0; i < n; i++)
		v[i] = get(&r->runs[k][i]);
	qsort(v, n, sizeof(v[0]), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double get_wall(const struct sample *s) { return s->wall_s; }
static double get_cpu(const struct sample *s) { return s->cpu_s; }
static double get_all_cpu(const struct sample *s) { return s->machine_cpu_s; }
static double get_rss(const struct sample *s) { return (double)s->maxrss_kb / 1024.0; }
static double get_out(const struct sample *s) { return (double)s->out_bytes / 1e6; }
static double get_body(const struct sample *s) { return (double)s->body_bytes / 1e6; }
static double get_sessions(const struct sample *s) { return s->sessions; }
static double get_failed(const struct sample *s) { return s->status != 0; }
/* Wall time less mbsync's one-second waits for a fresh Maildir. */
static double get_awake(const struct sample *s) { return s->wall_s - s->sleeps; }

static void print_ratio(double t, double m, int width, int prec)
{
	if (m > 0)
		printf(" %*.*f", width, prec, t / m);
	else
		printf(" %*s", width, "-");
}

static void print_table(const struct bench *b)
{
	double (*const cols[])(const struct sample *) = {get_wall, get_awake, get_cpu,
							 get_all_cpu, get_rss, get_out, get_body};
	printf("\n==== medians (tidemail / mbsync = ratio; below 1 means tidemail "
	       "does better)\n");
	printf("%-4s %-9s %9s %9s %9s %9s %11s %13s %11s %8s %6s %13s  %s\n", "", "tool",
	       "wall s", "-sleeps s", "CPU s", "all CPU s", "peak RSS MB", "srv out MB",
	       "bodies MB", "sessions", "fails",
	       "local/server", "same mail");
	for (int i = 0; i < 7; i++) {
		const struct result *r = &b->results[i];
		if (!r->done)
			continue;
		printf("(%c)  %s; %u/%u runs\n", r->id, r->title, r->nruns[TOOL_TIDEMAIL],
		       r->nruns[TOOL_MBSYNC]);
		for (int k = 0; k < TOOL_COUNT; k++) {
			int fails = 0;
			for (unsigned j = 0; j < r->nruns[k]; j++)
				fails += (int)get_failed(&r->runs[k][j]);
			printf("%-4s %-9s %9.3f %9.3f %9.3f %9.2f %11.1f %13.2f %11.2f %8.0f %6d "
			       "%6u/%-6u  ",
			       "", k == TOOL_TIDEMAIL ? "tidemail" : "mbsync", median(r, k, get_wall),
			       median(r, k, get_awake), median(r, k, get_cpu), median(r, k, get_all_cpu),
			       median(r, k, get_rss), median(r, k, get_out),
			       median(r, k, get_body), median(r, k, get_sessions), fails,
			       r->files[k], r->server_msgs);
			if (r->differ[k])
				printf("NO: %d folders differ\n", r->differ[k]);
			else
				printf("yes\n");
		}
		printf("%-4s %-9s", "", "ratio");
		int widths[] = {9, 9, 9, 9, 11, 13, 11};
		for (size_t c = 0; c < UTIL_ARRAY_LEN(cols); c++)
			print_ratio(median(r, TOOL_TIDEMAIL, cols[c]), median(r, TOOL_MBSYNC, cols[c]),
				    widths[c], 2);
		printf("\n");
	}
	const struct result *c = &b->results[2], *g = &b->results[6];
	if (c->done && g->done)
		printf("\ntidemail's own wall time, (g) / (c): %.2f (mbsync: %.2f)\n",
		       median(g, TOOL_TIDEMAIL, get_wall) / median(c, TOOL_TIDEMAIL, get_wall),
		       median(g, TOOL_MBSYNC, get_wall) / median(c, TOOL_MBSYNC, get_wall));
}

/* Other work on the machine skews every figure: say how busy it was. */
static void print_load(const char *when)
{
	FILE *f = fopen("/proc/loadavg", "r");
	double l1, l5;
	if (f && fscanf(f, "%lf %lf", &l1, &l5) == 2)
		printf("load average %s: %.2f (1 min), %.2f (5 min)\n", when, l1, l5);
	if (f)
		fclose(f);
}

static void print_method(const struct bench *b)
{
	struct utsname u;
	uname(&u);
	printf("bench-sync: %s size, seed %" PRIu64 ", %u runs per tool of (a)(b)(e), %u of "
	       "(c)(d)(f)(g), alternating, in %s\n",
	       b->quick ? "quick" : "full", b->seed, b->heavy_runs, b->light_runs, b->dir);
	printf("machine: %s %s, %ld CPUs online\n", u.sysname, u.release,
	       sysconf(_SC_NPROCESSORS_ONLN));
	/* The smallest peak RSS this program can report (see bench.h). */
	struct sample floor;
	struct error err = ERROR_INIT;
	char *out = xasprintf("%s/true.log", b->dir);
	char *argv[] = {"true", NULL};
	if (measure_run(argv, out, NULL, 0, &floor, &err) == 0)
		printf("peak RSS floor (true(1) run the same way): %.1f MB\n",
		       (double)floor.maxrss_kb / 1024.0);
	error_clear(&err);
	free(out);
	print_load("at the start");
	printf("how: wall = fork..wait4 of the tool; CPU = user+sys and peak RSS = "
	       "ru_maxrss from wait4 (the tool with its threads, not the server);\n"
	       "     all CPU = every core's busy time during the run, from /proc/stat (the "
	       "tool, Dovecot, the kernel's\n"
	       "     work for both, and anything else running): a run whose all CPU nears wall "
	       "x CPUs is bound by the machine;\n"
	       "     server bytes = Dovecot's own per-session counters (out=: IMAP bytes it "
	       "sent before TLS; body_bytes=: message bodies it served),\n"
	       "     summed over the sessions logged in during the run.  Each tool has its own "
	       "Maildir and state.\n"
	       "     Every timed run starts 1.1 s after its Maildir was last touched: mbsync "
	       "sleeps a second when a Maildir\n"
	       "     directory changed within the current second, and neither tool should pay "
	       "for the benchmark's own setup.\n"
	       "     When mbsync still sleeps inside a run (directories it made itself), it says "
	       "so; the run's line shows it\n"
	       "     and '-sleeps s' is the wall time less one second per such sleep.\n"
	       "     mbsync adds an X-TUID header to every message it copies and stores LF line "
	       "ends, tidemail stores the\n"
	       "     server's bytes: the local files differ a little in size, which is why "
	       "'local files' counts files, not bytes.\n\n");
	fflush(stdout);
}

static int parse_count(const char *s, unsigned long max, unsigned long *v_r)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || !*s || v == 0 || v > max)
		return -1;
	*v_r = v;
	return 0;
}

int main(int argc, char **argv)
{
	struct bench b = {0};
	bool keep = false;
	const char *dir = NULL;
	unsigned long heavy = 3, light = 5, seed = 8;
	b.tidemail = xstrdup(BENCH_BUILD_ROOT "/cmd/tidemail");
	b.tm_dovecot = xstrdup(BENCH_BUILD_ROOT "/tests/harness/tm-dovecot");
	b.mbsync = xstrdup("mbsync");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		char **path = !strcmp(a, "--tidemail")	 ? &b.tidemail
			      : !strcmp(a, "--mbsync")	 ? &b.mbsync
			      : !strcmp(a, "--tm-dovecot") ? &b.tm_dovecot
							   : NULL;
		if (!strcmp(a, "--quick")) {
			b.quick = true;
		} else if (!strcmp(a, "--keep")) {
			keep = true;
		} else if (path && v) {
			free(*path);
			*path = xstrdup(v);
			i++;
		} else if (!strcmp(a, "--dir") && v) {
			dir = argv[++i];
		} else if (!strcmp(a, "--only") && v && strspn(v, "abcdefg") == strlen(v)) {
			b.only = argv[++i];
		} else if (!strcmp(a, "--runs") && v && !parse_count(v, BENCH_MAX_RUNS, &heavy)) {
			i++;
		} else if (!strcmp(a, "--light-runs") && v &&
			   !parse_count(v, BENCH_MAX_RUNS, &light)) {
			i++;
		} else if (!strcmp(a, "--seed") && v && !parse_count(v, ULONG_MAX, &seed)) {
			i++;
		} else {
			return usage();
		}
	}
	b.heavy_runs = (unsigned)heavy;
	b.light_runs = (unsigned)light;
	b.seed = seed;
	if (dir) {
		b.dir = xstrdup(dir);
		if (util_mkdir_p(dir, 0755) < 0) {
			fprintf(stderr, "bench-sync: %s: %s\n", dir, strerror(errno));
			return 1;
		}
	} else {
		const char *tmp = getenv("TMPDIR");
		b.dir = xasprintf("%s/tm-bench.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(b.dir)) {
			fprintf(stderr, "bench-sync: mkdtemp %s: %s\n", b.dir, strerror(errno));
			return 1;
		}
	}
	/* As root, Dovecot's mail user must be able to reach the servers. */
	chmod(b.dir, 0755);
	print_method(&b);
	struct error err = ERROR_INIT;
	int ret = scenarios_run(&b, &err);
	print_table(&b);
	print_load("at the end");
	bool tidemail_ok = true;
	for (int i = 0; i < 7; i++) {
		const struct result *r = &b.results[i];
		for (unsigned j = 0; j < r->nruns[TOOL_TIDEMAIL]; j++)
			tidemail_ok &= r->runs[TOOL_TIDEMAIL][j].status == 0;
		tidemail_ok &= !r->done || r->differ[TOOL_TIDEMAIL] == 0;
	}
	if (!tidemail_ok)
		printf("tidemail failed a run or ended with mail unlike the server's (above)\n");
	if (!keep && tree_remove(b.dir, &err) < 0) {
		fprintf(stderr, "bench-sync: %s\n", err.msg);
		error_clear(&err);
	} else if (keep) {
		printf("\nkept %s\n", b.dir);
	}
	for (int i = 0; i < 7; i++) {
		free(b.results[i].title);
		free(b.results[i].note);
	}
	free(b.dir);
	free(b.tidemail);
	free(b.mbsync);
	free(b.tm_dovecot);
	return ret < 0 ? 1 : tidemail_ok ? 0 : 3;
}
