// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/json.h"
#include "json.h"

/*
 * The lib front end with runtime's limits; runtime's files keep their own
 * (shorter) wording for the faults they always reported, callers wrap it
 * with the file name ("state.json: nested deeper than 16 levels").
 */
int rt_json_parse(const char *buf, size_t len, size_t max, yajl_val *out, struct err **err)
{
	const struct lib_json_limits limits = {
	    .max_size = max,
	    .max_depth = RT_JSON_MAX_DEPTH,
	    .max_values = RT_JSON_MAX_VALUES,
	    .object = true,
	};
	struct lib_json_error je;
	int r = lib_json_parse(buf, len, &limits, out, &je);
	if (r >= 0)
		return 0;
	switch (je.fault) {
	case LIB_JSON_TOO_BIG:
		return err_set(err, EFBIG, "larger than %zu bytes", max);
	case LIB_JSON_NUL:
		return err_set(err, 0, "contains a NUL byte");
	case LIB_JSON_TOO_DEEP:
		return err_set(err, 0, "nested deeper than %d levels", RT_JSON_MAX_DEPTH);
	case LIB_JSON_NOT_OBJECT:
		return err_set(err, 0, "expected a JSON object");
	case LIB_JSON_NOMEM:
		return err_set(err, ENOMEM, "parse");
	default: /* "invalid JSON: ... at byte N", and the faults the lib added */
		return lib_json_error_set(&je, err);
	}
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
