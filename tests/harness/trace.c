/* SPDX-License-Identifier: MIT */
/*
 * Protocol traces of in-process e2e tests to files, for the secrets
 * sweep (tests/secrets/sweep.sh): with TIDEMAIL_TRACE_DIR set, every
 * trace line goes to TIDEMAIL_TRACE_DIR/<test>-<pid>.trace.
 *
 * One file per process, opened at the first line and closed at exit;
 * the stream is flushed after each line, so that a test that fails (or
 * is killed) leaves its trace whole up to that point.
 */
#include "harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static FILE *trace_file;
static bool trace_failed;

static void trace_close(void)
{
	if (trace_file)
		fclose(trace_file);
	trace_file = NULL;
}

bool harness_tracing(void)
{
	const char *dir = getenv("TIDEMAIL_TRACE_DIR");
	return dir && dir[0];
}

void harness_trace_line(void *ctx, const char *line)
{
	if (!trace_file && !trace_failed && harness_tracing()) {
		const char *dir = getenv("TIDEMAIL_TRACE_DIR");
		/* The test's name (GNU's program_invocation_short_name), for
		 * people reading the directory. */
		char *path = xasprintf("%s/%s-%ld.trace", dir,
				       program_invocation_short_name, (long)getpid());
		if (util_mkdir_p(dir, 0700) == 0)
			trace_file = fopen(path, "ae");
		if (trace_file) {
			atexit(trace_close);
		} else {
			fprintf(stderr, "harness: trace %s: %s\n", path, strerror(errno));
			trace_failed = true;
		}
		free(path);
	}
	if (!trace_file)
		return;
	fprintf(trace_file, "%s%s%s\n", ctx ? (const char *)ctx : "",
		ctx ? ": " : "", line);
	fflush(trace_file);
}
