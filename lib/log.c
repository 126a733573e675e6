// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"

static enum log_level cur_level = LOG_INFO;
static enum log_format cur_format = LOG_TEXT;
static int cur_fd = -1;
static const char *cur_ident;

static const char *const level_names[] = {"error", "warning", "info", "debug"};

void log_set_level(enum log_level level)
{
	cur_level = level;
}

enum log_level log_get_level(void)
{
	return cur_level;
}

void log_set_format(enum log_format format)
{
	cur_format = format;
}

int log_get_fd(void)
{
	return cur_fd;
}

void log_set_fd(int fd)
{
	cur_fd = fd;
}

void log_set_ident(const char *ident)
{
	cur_ident = ident;
}

int log_level_parse(const char *s, enum log_level *out)
{
	static const struct {
		const char *name;
		enum log_level level;
	} names[] = {{"error", LOG_ERROR}, {"warn", LOG_WARN},   {"warning", LOG_WARN},
		     {"info", LOG_INFO},   {"debug", LOG_DEBUG}};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(s, names[i].name) == 0) {
			*out = names[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

/* JSON-escape src into dst (always NUL-terminated, truncated if needed). */
static void json_escape(char *dst, size_t cap, const char *src)
{
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)src; *p && o + 7 < cap; p++) {
		if (*p == '"' || *p == '\\') {
			dst[o++] = '\\';
			dst[o++] = (char)*p;
		} else if (*p < 0x20) {
			o += (size_t)snprintf(dst + o, cap - o, "\\u%04x", *p);
		} else {
			dst[o++] = (char)*p;
		}
	}
	dst[o] = '\0';
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	if (level > cur_level)
		return;
	int saved = errno;

	char msg[2048];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';

	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char when[40];
	size_t w = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + w, sizeof(when) - w, ".%09ldZ", ts.tv_nsec);

	char line[4608];
	if (cur_format == LOG_JSON) {
		char esc[4096];
		json_escape(esc, sizeof(esc), msg);
		snprintf(line, sizeof(line), "{\"level\":\"%s\",\"msg\":\"%s\",\"time\":\"%s\"}\n",
			 level_names[level], esc, when);
	} else {
		snprintf(line, sizeof(line), "%s %s%s%s: %s\n", when, cur_ident ? cur_ident : "",
			 cur_ident ? " " : "", level_names[level], msg);
	}
	/* One write() per line so concurrent writers never interleave mid-line. */
	ssize_t r = write(cur_fd >= 0 ? cur_fd : STDERR_FILENO, line, strlen(line));
	(void)r;
	errno = saved;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
