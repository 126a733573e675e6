/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One bounded front end to yajl_tree for every JSON reader in hull (OCI
 * config.json, the runtime's own files, hull-vmm's configuration and its
 * control socket). yajl_tree_parse keeps its parse stack on the heap, but
 * yajl_tree_free recurses and yajl spends ~100 bytes per value, so size,
 * nesting and value count are checked by a scan before yajl sees a byte.
 */
#ifndef HULL_LIB_JSON_H
#define HULL_LIB_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <yajl/yajl_tree.h>

struct err;

/* What a document may hold; each caller picks its own figures. */
struct lib_json_limits {
	size_t max_size;    /* bytes; more is refused with -EFBIG */
	unsigned max_depth; /* nesting of objects and arrays; deeper is refused */
	size_t max_values;  /* containers plus separators; 0: only max_size bounds them */
	bool object;        /* the top-level value must be an object */
};

/* Why a document was refused, for callers that word errors their own way. */
enum lib_json_fault {
	LIB_JSON_OK,
	LIB_JSON_TOO_BIG,    /* more than max_size bytes */
	LIB_JSON_EMPTY,      /* zero bytes */
	LIB_JSON_NUL,        /* a raw NUL byte (yajl would stop reading there) */
	LIB_JSON_NUL_ESCAPE, /* \u0000 in a string (it would cut the C string short) */
	LIB_JSON_COMMENT,    /* yajl_tree accepts comments; JSON (and Go) does not */
	LIB_JSON_TOO_DEEP,   /* nested deeper than max_depth */
	LIB_JSON_TOO_MANY,   /* more than max_values values */
	LIB_JSON_SYNTAX,     /* yajl refused it: see yajl[] */
	LIB_JSON_NOT_OBJECT, /* the top level is not an object, and limits->object */
	LIB_JSON_NOMEM,
};

struct lib_json_error {
	enum lib_json_fault fault;
	int code;       /* positive errno: EFBIG, E2BIG, ENOMEM, or 0 for "bad input" */
	size_t offset;  /* byte where the fault was found; the length for TOO_BIG/EMPTY */
	char yajl[128]; /* SYNTAX: yajl's words on one line ("parse error: trailing garbage") */
	char msg[256];  /* the whole default message on one line, printable ASCII only */
};

/*
 * Parse len bytes of buf (need not be NUL-terminated) into a yajl tree.
 *
 * Arguments: limits must not be NULL; je (may be NULL) receives the fault,
 * its byte offset and a default one-line message.
 * Returns: 0 with *out set (free it with yajl_tree_free), or -EINVAL for bad
 * input, -EFBIG (too large), -E2BIG (too many values), -ENOMEM.
 * Notes: refuses raw NUL bytes, \u0000 escapes and comments everywhere: they
 * would either cut strings short or let a quote inside a comment hide
 * nesting from the scan. Trailing data after the value is a syntax error.
 */
int lib_json_parse(const char *buf, size_t len, const struct lib_json_limits *limits, yajl_val *out,
		   struct lib_json_error *je);

/* err_set(err, je->code, "%s", je->msg): the default wording. Returns -errno. */
int lib_json_error_set(const struct lib_json_error *je, struct err **err);

#endif
