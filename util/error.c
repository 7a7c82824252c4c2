/* SPDX-License-Identifier: MIT */
#include "util.h"

#include <stdlib.h>
#include <string.h>

static int record(struct error *err, enum err_reach reach, char *msg)
{
	if (!err) {
		free(msg);
		return -(int)reach;
	}
	free(err->msg);
	err->reach = reach;
	err->msg = msg;
	return -(int)reach;
}

int error_set(struct error *err, enum err_reach reach, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	return record(err, reach, msg);
}

int error_errno(struct error *err, enum err_reach reach, int errnum,
		const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *what = xvasprintf(fmt, ap);
	va_end(ap);
	char *msg = xasprintf("%s: %s", what, strerror(errnum));
	free(what);
	return record(err, reach, msg);
}

int error_prefix(struct error *err, const char *fmt, ...)
{
	if (!err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	char *ctx = xvasprintf(fmt, ap);
	va_end(ap);
	char *msg = xasprintf("%s: %s", ctx, err->msg ? err->msg : "failed");
	free(ctx);
	return record(err, err->reach, msg);
}

void error_clear(struct error *err)
{
	free(err->msg);
	err->msg = NULL;
	err->reach = ERR_NONE;
}
