/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Errors a person reads: an errno plus a message that says what was being
 * done, with context added by each caller on the way up ("container c1:
 * start: open /x: No such file or directory").
 */
#ifndef HULL_LIB_ERR_H
#define HULL_LIB_ERR_H

struct err {
	int code;  /* positive errno */
	char *msg; /* full message, outermost context first */
};

/*
 * Set *err (if err is not NULL) to "<fmt>: strerror(code)" and return -code.
 * code 0 means "no errno": the message is just <fmt> and EINVAL is returned.
 * An existing *err is replaced.
 */
int err_set(struct err **err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix the message in *err with "<fmt>: " and return -(*err)->code. */
int err_wrap(struct err **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The message, or "unknown error" when err is NULL. */
const char *err_msg(const struct err *err);

void err_free(struct err **err);

#define _cleanup_err_ __attribute__((cleanup(err_free)))

#endif
