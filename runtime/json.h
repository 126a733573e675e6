/* SPDX-License-Identifier: Apache-2.0 */
/* Small yajl helpers shared by runtime/'s own JSON files (config.json, state.json). */
#ifndef HULL_RUNTIME_JSON_H
#define HULL_RUNTIME_JSON_H

#include <stddef.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

struct err;

#define RT_JSON_MAX_DEPTH  16     /* our files are flat; deeper input is refused */
#define RT_JSON_MAX_VALUES 100000 /* far above any state.json or config, far below OOM */

/* Parse len bytes (need not be NUL-terminated) into a tree whose root must be
 * an object, through lib_json_parse: refuses NUL bytes, \u0000, comments,
 * more than max bytes, more than RT_JSON_MAX_VALUES values and deeper nesting
 * than RT_JSON_MAX_DEPTH before yajl sees the input (yajl_tree_free recurses). */
int rt_json_parse(const char *buf, size_t len, size_t max, yajl_val *out, struct err **err);

/* Emit a string / an integer; yajl_gen status folded into -errno. */
int rt_json_str(yajl_gen g, const char *s);
int rt_json_int(yajl_gen g, long long v);
/* key then string value; a NULL value is skipped. */
int rt_json_kv_str(yajl_gen g, const char *key, const char *value);
int rt_json_kv_int(yajl_gen g, const char *key, long long v);

/* The generated buffer copied into a NUL-terminated malloc'd string. */
int rt_json_take(yajl_gen g, char **out, size_t *len);

#endif
