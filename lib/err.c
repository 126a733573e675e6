// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"

static struct err oom_err = {ENOMEM, "out of memory formatting an error"};

int err_set(struct err **err, int code, const char *fmt, ...)
{
	if (code < 0)
		code = -code;
	if (!err)
		return code ? -code : -EINVAL;
	err_free(err);

	char *what = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&what, fmt, ap);
	va_end(ap);

	struct err *e = calloc(1, sizeof(*e));
	if (n < 0 || !e) {
		free(what);
		free(e);
		*err = &oom_err;
		return -ENOMEM;
	}
	e->code = code ? code : EINVAL;
	if (code)
		n = asprintf(&e->msg, "%s: %s", what, strerror(code));
	else
		n = asprintf(&e->msg, "%s", what);
	free(what);
	if (n < 0) {
		free(e);
		*err = &oom_err;
		return -ENOMEM;
	}
	*err = e;
	return -e->code;
}

int err_wrap(struct err **err, const char *fmt, ...)
{
	if (!err || !*err)
		return -EINVAL;
	if (*err == &oom_err)
		return -ENOMEM;

	char *ctx = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&ctx, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -(*err)->code;

	char *msg = NULL;
	if (asprintf(&msg, "%s: %s", ctx, (*err)->msg) >= 0) {
		free((*err)->msg);
		(*err)->msg = msg;
	}
	free(ctx);
	return -(*err)->code;
}

const char *err_msg(const struct err *err)
{
	return err && err->msg ? err->msg : "unknown error";
}

void err_free(struct err **err)
{
	if (!err || !*err)
		return;
	if (*err != &oom_err) {
		free((*err)->msg);
		free(*err);
	}
	*err = NULL;
}
