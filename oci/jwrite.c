// SPDX-License-Identifier: Apache-2.0
/*
 * A thin writer over yajl_gen: tab-indented output like `runc spec`, UTF-8
 * validated (caller-supplied strings must not turn into invalid JSON), and the
 * first failure remembered so emitters need not check every call.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "json.h"

int jw_init(struct jw *w, struct err **err)
{
	w->status = yajl_gen_status_ok;
	w->g = yajl_gen_alloc(NULL);
	if (!w->g)
		return err_set(err, ENOMEM, "JSON generator");
	yajl_gen_config(w->g, yajl_gen_beautify, 1);
	yajl_gen_config(w->g, yajl_gen_indent_string, "\t");
	yajl_gen_config(w->g, yajl_gen_validate_utf8, 1);
	return 0;
}

void jw_exit(struct jw *w)
{
	if (w->g)
		yajl_gen_free(w->g);
	w->g = NULL;
}

static void note(struct jw *w, yajl_gen_status s)
{
	if (s != yajl_gen_status_ok && w->status == yajl_gen_status_ok)
		w->status = s;
}

int jw_finish(struct jw *w, char **json, size_t *len, struct err **err)
{
	if (w->status != yajl_gen_status_ok) {
		const char *why = w->status == yajl_gen_invalid_string
				      ? "a string is not valid UTF-8"
				  : w->status == yajl_max_depth_exceeded ? "nested too deep"
									 : "generator error";
		return err_set(err, 0, "write JSON: %s (yajl status %d)", why, w->status);
	}
	const unsigned char *buf;
	size_t n;
	yajl_gen_get_buf(w->g, &buf, &n);
	char *s = malloc(n + 1);
	if (!s)
		return err_set(err, ENOMEM, "write JSON");
	memcpy(s, buf, n);
	s[n] = '\0';
	*json = s;
	if (len)
		*len = n;
	return 0;
}

void jw_key(struct jw *w, const char *key)
{
	note(w, yajl_gen_string(w->g, (const unsigned char *)key, strlen(key)));
}

void jw_str(struct jw *w, const char *s)
{
	note(w, yajl_gen_string(w->g, (const unsigned char *)s, strlen(s)));
}

void jw_kstr(struct jw *w, const char *key, const char *s)
{
	if (!s)
		return;
	jw_key(w, key);
	jw_str(w, s);
}

void jw_kbool(struct jw *w, const char *key, bool b)
{
	jw_key(w, key);
	note(w, yajl_gen_bool(w->g, b));
}

void jw_i64(struct jw *w, int64_t v)
{
	note(w, yajl_gen_integer(w->g, (long long)v));
}

/* yajl_gen_integer is signed: values above INT64_MAX go out as number text. */
void jw_u64(struct jw *w, uint64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%" PRIu64, v);
	note(w, yajl_gen_number(w->g, buf, (size_t)n));
}

void jw_ki64(struct jw *w, const char *key, int64_t v)
{
	jw_key(w, key);
	jw_i64(w, v);
}

void jw_ku64(struct jw *w, const char *key, uint64_t v)
{
	jw_key(w, key);
	jw_u64(w, v);
}

void jw_open(struct jw *w, const char *key)
{
	if (key)
		jw_key(w, key);
	note(w, yajl_gen_map_open(w->g));
}

void jw_close(struct jw *w)
{
	note(w, yajl_gen_map_close(w->g));
}

void jw_aopen(struct jw *w, const char *key)
{
	if (key)
		jw_key(w, key);
	note(w, yajl_gen_array_open(w->g));
}

void jw_aclose(struct jw *w)
{
	note(w, yajl_gen_array_close(w->g));
}

void jw_kstrv(struct jw *w, const char *key, const struct oci_strv *v)
{
	if (!v->n)
		return;
	jw_aopen(w, key);
	for (size_t i = 0; i < v->n; i++)
		jw_str(w, v->items[i]);
	jw_aclose(w);
}

void jw_kmap(struct jw *w, const char *key, const struct oci_map *m)
{
	if (!m || !m->n)
		return;
	jw_open(w, key);
	for (size_t i = 0; i < m->n; i++)
		jw_kstr(w, m->items[i].key, m->items[i].value);
	jw_close(w);
}

void jw_kidmaps(struct jw *w, const char *key, const struct oci_idmap *m, size_t n)
{
	if (!n)
		return;
	jw_aopen(w, key);
	for (size_t i = 0; i < n; i++) {
		jw_open(w, NULL);
		jw_ku64(w, "containerID", m[i].container_id);
		jw_ku64(w, "hostID", m[i].host_id);
		jw_ku64(w, "size", m[i].size);
		jw_close(w);
	}
	jw_aclose(w);
}
