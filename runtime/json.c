// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "json.h"

/* Nesting depth of JSON text, ignoring brackets inside strings. */
static size_t json_depth(const char *buf, size_t len)
{
	size_t depth = 0, max = 0;
	bool in_str = false;
	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			if (++depth > max)
				max = depth;
		} else if ((c == '}' || c == ']') && depth > 0) {
			depth--;
		}
	}
	return max;
}

int rt_json_parse(const char *buf, size_t len, size_t max, yajl_val *out, struct err **err)
{
	if (len > max)
		return err_set(err, EFBIG, "larger than %zu bytes", max);
	if (memchr(buf, '\0', len))
		return err_set(err, 0, "contains a NUL byte");
	if (json_depth(buf, len) > RT_JSON_MAX_DEPTH)
		return err_set(err, 0, "nested deeper than %d levels", RT_JSON_MAX_DEPTH);

	_cleanup_free_ char *copy = malloc(len + 1);
	if (!copy)
		return err_set(err, ENOMEM, "parse");
	memcpy(copy, buf, len);
	copy[len] = '\0';

	char ebuf[256] = "";
	yajl_val v = yajl_tree_parse(copy, ebuf, sizeof(ebuf));
	if (!v) {
		/* yajl's message spans lines and quotes the input: keep the first line */
		ebuf[strcspn(ebuf, "\n")] = '\0';
		return err_set(err, 0, "invalid JSON: %s", ebuf[0] ? ebuf : "parse error");
	}
	if (!YAJL_IS_OBJECT(v)) {
		yajl_tree_free(v);
		return err_set(err, 0, "expected a JSON object");
	}
	*out = v;
	return 0;
}

static int gen_status(yajl_gen_status s)
{
	if (s == yajl_gen_status_ok)
		return 0;
	return s == yajl_gen_invalid_string ? -EILSEQ : -EINVAL;
}

int rt_json_str(yajl_gen g, const char *s)
{
	return gen_status(yajl_gen_string(g, (const unsigned char *)s, strlen(s)));
}

int rt_json_int(yajl_gen g, long long v)
{
	return gen_status(yajl_gen_integer(g, v));
}

int rt_json_kv_str(yajl_gen g, const char *key, const char *value)
{
	if (!value)
		return 0;
	int r = rt_json_str(g, key);
	return r < 0 ? r : rt_json_str(g, value);
}

int rt_json_kv_int(yajl_gen g, const char *key, long long v)
{
	int r = rt_json_str(g, key);
	return r < 0 ? r : rt_json_int(g, v);
}

int rt_json_take(yajl_gen g, char **out, size_t *len)
{
	const unsigned char *buf;
	size_t n;
	if (yajl_gen_get_buf(g, &buf, &n) != yajl_gen_status_ok)
		return -EINVAL;
	char *s = malloc(n + 1);
	if (!s)
		return -ENOMEM;
	memcpy(s, buf, n);
	s[n] = '\0';
	*out = s;
	if (len)
		*len = n;
	return 0;
}
