/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to oci/: reading a yajl tree with type, range and presence checks,
 * each error naming the JSON path of the offending value
 * ("linux.resources.memory.limit: expected an integer, got \"abc\""), and a
 * thin wrapper over yajl_gen for writing.
 */
#ifndef HULL_OCI_JSON_H
#define HULL_OCI_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "oci/spec.h"

struct err;

/* Where we are in the document, for error messages. */
struct jctx {
	struct err **err;
	char path[256];
	size_t len;
};

/* Flags for the j_* readers. */
#define J_REQ 1 /* absent (or null) is an error "missing required field" */

void jctx_init(struct jctx *c, struct err **err);
/* Append ".key" (or "key" at the top) / "[i]" to the path; returns the mark to pop to. */
size_t jctx_push_key(struct jctx *c, const char *key);
size_t jctx_push_index(struct jctx *c, size_t i);
void jctx_pop(struct jctx *c, size_t mark);
/* Set *err to "<path>: <message>" and return -EINVAL. */
int jctx_fail(struct jctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same, for a child key of the current path. */
int jctx_fail_key(struct jctx *c, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Parse bytes into a tree through lib_json_parse with the OCI limits (size,
 * depth, value count; no NUL, comments or \u0000); one-line errors.
 */
int json_tree_parse(const char *json, size_t len, yajl_val *out, struct err **err);

/* The value of key in obj (the last one if repeated, as Go's encoding/json
 * does); NULL when absent or JSON null. */
yajl_val jobj_get(yajl_val obj, const char *key);

/* keep[i] is true for the entries of object o that survive de-duplication
 * (the last of equal keys); O(n log n). NULL (error set) on ENOMEM. free() it. */
bool *jobj_unique(struct jctx *c, yajl_val o);

/*
 * Readers: look up key in obj (which must be an object), check the type,
 * store into *out. Return 1 when present, 0 when absent (or null) and not
 * J_REQ, -EINVAL with the error set otherwise.
 */
int j_obj(struct jctx *c, yajl_val obj, const char *key, yajl_val *out, int flags);
int j_arr(struct jctx *c, yajl_val obj, const char *key, yajl_val *out, int flags);
int j_str(struct jctx *c, yajl_val obj, const char *key, char **out, int flags);
int j_bool(struct jctx *c, yajl_val obj, const char *key, bool *out, int flags);
int j_i64(struct jctx *c, yajl_val obj, const char *key, int64_t min, int64_t max, int64_t *out,
	  int flags);
int j_u64(struct jctx *c, yajl_val obj, const char *key, uint64_t max, uint64_t *out, int flags);
int j_u32(struct jctx *c, yajl_val obj, const char *key, uint32_t *out, int flags);
int j_strv(struct jctx *c, yajl_val obj, const char *key, struct oci_strv *out, int flags);
/* An object whose values are all strings; keys made unique (last wins), order kept. */
int j_map(struct jctx *c, yajl_val obj, const char *key, struct oci_map *out, int flags);
/* [{containerID, hostID, size}, ...] */
int j_idmaps(struct jctx *c, yajl_val obj, const char *key, struct oci_idmap **out, size_t *len);

/*
 * An array of objects: allocates *items (n elements of size bytes, zeroed),
 * sets *len, then calls fn for each element with the path at "key[i]".
 * *items is set even when an element fails, so the caller frees it as usual.
 */
typedef int (*j_elem_fn)(struct jctx *c, yajl_val e, void *item);
int j_list(struct jctx *c, yajl_val obj, const char *key, size_t size, void **items, size_t *len,
	   j_elem_fn fn);

/* Value-level readers for array elements (path already pushed). */
int jv_str(struct jctx *c, yajl_val v, char **out);
int jv_u64(struct jctx *c, yajl_val v, uint64_t max, uint64_t *out);
int jv_i64(struct jctx *c, yajl_val v, int64_t min, int64_t max, int64_t *out);
int jv_obj(struct jctx *c, yajl_val v);

/* calloc that reports failure through the context. */
void *jctx_calloc(struct jctx *c, size_t n, size_t size);

/* ---- writing ---- */

/* Writer state: the first yajl error sticks and makes jw_finish fail. */
struct jw {
	yajl_gen g;
	int status;
};

int jw_init(struct jw *w, struct err **err);
void jw_exit(struct jw *w);
/* Copy out the document (NUL-terminated); -errno with *err set if any write failed. */
int jw_finish(struct jw *w, char **json, size_t *len, struct err **err);

void jw_key(struct jw *w, const char *key);
void jw_str(struct jw *w, const char *s);
void jw_kstr(struct jw *w, const char *key, const char *s); /* skipped when s == NULL */
void jw_kbool(struct jw *w, const char *key, bool b);
void jw_ki64(struct jw *w, const char *key, int64_t v);
void jw_ku64(struct jw *w, const char *key, uint64_t v);
void jw_u64(struct jw *w, uint64_t v);
void jw_i64(struct jw *w, int64_t v);
void jw_open(struct jw *w, const char *key); /* "key": {   (key NULL: bare {) */
void jw_close(struct jw *w);
void jw_aopen(struct jw *w, const char *key); /* "key": [ */
void jw_aclose(struct jw *w);
void jw_kstrv(struct jw *w, const char *key, const struct oci_strv *v); /* skipped when empty */
void jw_kmap(struct jw *w, const char *key, const struct oci_map *m);   /* skipped when empty */
void jw_kidmaps(struct jw *w, const char *key, const struct oci_idmap *m, size_t n);

#endif
