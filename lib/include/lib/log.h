/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging for every hull process: one line per message, to stderr by default
 * or to a file/fd, as text ("2026-11-21T08:00:00.000Z level=info msg") or as
 * JSON lines the way runc's --log-format json writes them
 * ({"level":"info","msg":"...","time":"..."}).
 */
#ifndef HULL_LIB_LOG_H
#define HULL_LIB_LOG_H

#include <stdarg.h>

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };
enum log_format { LOG_TEXT = 0, LOG_JSON };

/* Messages above this level are dropped. Default LOG_INFO. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_set_format(enum log_format format);
/* Write to fd (not closed by the logger); -1 restores stderr. */
void log_set_fd(int fd);
/* The fd set with log_set_fd, or -1 for stderr. */
int log_get_fd(void);
/* A short tag put before each text message, e.g. "hull-vmm". May be NULL. */
void log_set_ident(const char *ident);
/* Parse "error|warn|warning|info|debug"; -EINVAL when unknown. */
int log_level_parse(const char *s, enum log_level *out);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                                            \
	do {                                                                                      \
		if (log_get_level() >= LOG_DEBUG)                                                 \
			log_msg(LOG_DEBUG, __VA_ARGS__);                                          \
	} while (0)

#endif
