// SPDX-License-Identifier: Apache-2.0
/*
 * The bounded JSON front end (see lib/json.h): a linear scan enforces the
 * limits, then yajl_tree_parse builds the tree. On a syntax error a second,
 * tree-less yajl pass over the same bytes gives a one-line message and the
 * byte offset, which yajl_tree_parse does not expose (its verbose message
 * spans three lines and quotes the input).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/json.h"

static int fault(struct lib_json_error *je, enum lib_json_fault f, int code, size_t offset,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int fault(struct lib_json_error *je, enum lib_json_fault f, int code, size_t offset,
		 const char *fmt, ...)
{
	je->fault = f;
	je->code = code;
	je->offset = offset;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(je->msg, sizeof(je->msg), fmt, ap);
	va_end(ap);
	return code ? -code : -EINVAL;
}

/*
 * Depth, value count, comments and \u0000, in one pass. Values are counted
 * as containers plus separators (a cheap upper bound of what yajl
 * allocates); brackets, commas and slashes inside strings do not count.
 */
static int scan(const char *s, size_t len, const struct lib_json_limits *lim,
		struct lib_json_error *je)
{
	size_t depth = 0, values = 1;
	bool in_str = false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (in_str) {
			if (ch == '\\' && len - i >= 6 && memcmp(s + i + 1, "u0000", 5) == 0)
				return fault(je, LIB_JSON_NUL_ESCAPE, 0, i,
					     "NUL character (\\u0000) in a string at byte %zu", i);
			if (ch == '\\')
				i++; /* the escaped byte cannot end the string */
			else if (ch == '"')
				in_str = false;
			continue;
		}
		if (ch == '"') {
			in_str = true;
		} else if (ch == '/') {
			return fault(je, LIB_JSON_COMMENT, 0, i,
				     "invalid JSON: comment at byte %zu", i);
		} else if (ch == '{' || ch == '[') {
			values++;
			if (++depth > lim->max_depth)
				return fault(je, LIB_JSON_TOO_DEEP, 0, i,
					     "JSON nested deeper than %u levels at byte %zu",
					     lim->max_depth, i);
		} else if (ch == '}' || ch == ']') {
			if (depth > 0) /* unbalanced input is left for yajl to refuse */
				depth--;
		} else if (ch == ',') {
			values++;
		}
		if (lim->max_values && values > lim->max_values)
			return fault(je, LIB_JSON_TOO_MANY, E2BIG, i,
				     "JSON has more than %zu values (byte %zu)", lim->max_values,
				     i);
	}
	return 0;
}

/* yajl's words, on one line of printable ASCII, without the final period. */
static void copy_words(char *dst, size_t size, const char *src)
{
	size_t n = 0;
	for (; src[n] && src[n] != '\n' && n + 1 < size; n++) {
		unsigned char ch = (unsigned char)src[n];
		dst[n] = ch < 0x20 || ch >= 0x7f ? ' ' : (char)ch;
	}
	while (n && (dst[n - 1] == ' ' || dst[n - 1] == '.'))
		n--;
	dst[n] = '\0';
}

/*
 * yajl_tree_parse failed: find out where and why with a plain parser over
 * the same bytes. If that one succeeds, the tree builder ran out of memory.
 */
static int syntax_fault(const char *buf, size_t len, const char *tree_msg,
			struct lib_json_error *je)
{
	yajl_handle h = yajl_alloc(NULL, NULL, NULL);
	if (!h)
		return fault(je, LIB_JSON_NOMEM, ENOMEM, 0, "parsing JSON");
	/* Same settings as yajl_tree_parse (comments were refused by the scan). */
	yajl_config(h, yajl_allow_comments, 1);
	size_t offset = len;
	yajl_status st = yajl_parse(h, (const unsigned char *)buf, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h); /* an error here is at the end */
	else if (yajl_get_bytes_consumed(h) > 0)
		offset = yajl_get_bytes_consumed(h) - 1; /* the byte yajl stopped at */
	if (st == yajl_status_ok) {
		yajl_free(h);
		copy_words(je->yajl, sizeof(je->yajl), tree_msg);
		return fault(je, LIB_JSON_NOMEM, ENOMEM, 0, "parsing JSON (%s)", je->yajl);
	}
	unsigned char *words = yajl_get_error(h, 0, NULL, 0);
	copy_words(je->yajl, sizeof(je->yajl), words ? (const char *)words : "parse error");
	if (words)
		yajl_free_error(h, words);
	yajl_free(h);
	return fault(je, LIB_JSON_SYNTAX, 0, offset, "invalid JSON: %s at byte %zu", je->yajl,
		     offset);
}

int lib_json_parse(const char *buf, size_t len, const struct lib_json_limits *limits, yajl_val *out,
		   struct lib_json_error *je)
{
	struct lib_json_error scratch;
	if (!je)
		je = &scratch;
	je->fault = LIB_JSON_OK;
	je->code = 0;
	je->offset = 0;
	je->yajl[0] = '\0';
	je->msg[0] = '\0';
	if (len > limits->max_size || len == SIZE_MAX) /* len + 1 below must not wrap */
		return fault(je, LIB_JSON_TOO_BIG, EFBIG, len,
			     "JSON is %zu bytes, more than the %zu allowed", len, limits->max_size);
	if (len == 0)
		return fault(je, LIB_JSON_EMPTY, 0, 0, "empty document%s",
			     limits->object ? ", expected a JSON object" : "");
	const char *nul = memchr(buf, '\0', len);
	if (nul)
		return fault(je, LIB_JSON_NUL, 0, (size_t)(nul - buf), "NUL byte at offset %zu",
			     (size_t)(nul - buf));
	int r = scan(buf, len, limits, je);
	if (r < 0)
		return r;

	/* yajl_tree_parse wants a NUL-terminated string. */
	_cleanup_free_ char *copy = malloc(len + 1);
	if (!copy)
		return fault(je, LIB_JSON_NOMEM, ENOMEM, 0, "parsing JSON");
	memcpy(copy, buf, len);
	copy[len] = '\0';

	char ebuf[256] = "";
	yajl_val v = yajl_tree_parse(copy, ebuf, sizeof(ebuf));
	if (!v)
		return syntax_fault(buf, len, ebuf, je);
	if (limits->object && !YAJL_IS_OBJECT(v)) {
		yajl_tree_free(v);
		return fault(je, LIB_JSON_NOT_OBJECT, 0, 0,
			     "expected a JSON object at the top level");
	}
	*out = v;
	return 0;
}

int lib_json_error_set(const struct lib_json_error *je, struct err **err)
{
	return err_set(err, je->code, "%s", je->msg);
}
