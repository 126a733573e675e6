// SPDX-License-Identifier: Apache-2.0
/* lib_json_parse: every limit, every fault, its offsets and its wording. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "lib/err.h"
#include "lib/json.h"

static const struct lib_json_limits obj_limits = {
    .max_size = 1024,
    .max_depth = 4,
    .max_values = 32,
    .object = true,
};

/* Parse a C string (or len bytes) that must be refused; check fault, offset, message. */
static void expect_fault(const struct lib_json_limits *lim, const char *json, size_t len, int code,
			 enum lib_json_fault fault, size_t offset, const char *msg)
{
	struct lib_json_error je;
	yajl_val v = NULL;
	int r = lib_json_parse(json, len, lim, &v, &je);
	if (r != code || je.fault != fault || je.offset != offset || strcmp(je.msg, msg) != 0)
		fail_msg("%.60s: got r=%d fault=%d offset=%zu \"%s\"\n"
			 "  want r=%d fault=%d offset=%zu \"%s\"",
			 json, r, je.fault, je.offset, je.msg, code, fault, offset, msg);
	assert_null(v);
	/* Every message is one line of printable ASCII. */
	for (const char *p = je.msg; *p; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
}

static void parses_objects_and_values(void **state)
{
	yajl_val v = NULL;
	const char *json = "{\"a\": [1, 2, {\"b\": \"x/[{,\\\"\"}], \"c\": null}";
	assert_int_equal(lib_json_parse(json, strlen(json), &obj_limits, &v, NULL), 0);
	assert_true(YAJL_IS_OBJECT(v));
	const char *path[] = {"a", NULL};
	yajl_val a = yajl_tree_get(v, path, yajl_t_array);
	assert_non_null(a);
	assert_int_equal(a->u.array.len, 3);
	const char *bpath[] = {"b", NULL};
	yajl_val b = yajl_tree_get(a->u.array.values[2], bpath, yajl_t_string);
	assert_string_equal(YAJL_GET_STRING(b), "x/[{,\"");
	yajl_tree_free(v);

	/* Without .object any value is a document; the input need not end in NUL. */
	struct lib_json_limits any = obj_limits;
	any.object = false;
	const char *docs[] = {"[1,2]", "\"s\"", "12", "true", " null "};
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		char buf[16];
		memcpy(buf, docs[i], strlen(docs[i]));
		memset(buf + strlen(docs[i]), 'x', sizeof(buf) - strlen(docs[i]));
		assert_int_equal(lib_json_parse(buf, strlen(docs[i]), &any, &v, NULL), 0);
		yajl_tree_free(v);
	}
}

static void size_limit(void **state)
{
	struct lib_json_limits lim = obj_limits;
	lim.max_size = 10;
	yajl_val v = NULL;
	assert_int_equal(lib_json_parse("{\"a\":1234}", 10, &lim, &v, NULL), 0);
	yajl_tree_free(v);
	expect_fault(&lim, "{\"a\":12345}", 11, -EFBIG, LIB_JSON_TOO_BIG, 11,
		     "JSON is 11 bytes, more than the 10 allowed");
}

static void empty_document(void **state)
{
	expect_fault(&obj_limits, "", 0, -EINVAL, LIB_JSON_EMPTY, 0,
		     "empty document, expected a JSON object");
	struct lib_json_limits any = obj_limits;
	any.object = false;
	expect_fault(&any, "", 0, -EINVAL, LIB_JSON_EMPTY, 0, "empty document");
	/* Only white space: yajl's own words, at the end. */
	expect_fault(&obj_limits, "  \n", 3, -EINVAL, LIB_JSON_SYNTAX, 3,
		     "invalid JSON: parse error: premature EOF at byte 3");
}

static void nul_bytes_and_escapes(void **state)
{
	expect_fault(&obj_limits, "{\"a\":\"x\0\"}", 10, -EINVAL, LIB_JSON_NUL, 7,
		     "NUL byte at offset 7");
	expect_fault(&obj_limits, "{\"a\":\"x\\u0000y\"}", 16, -EINVAL, LIB_JSON_NUL_ESCAPE, 7,
		     "NUL character (\\u0000) in a string at byte 7");
	expect_fault(&obj_limits, "{\"a\\u0000\":1}", 13, -EINVAL, LIB_JSON_NUL_ESCAPE, 3,
		     "NUL character (\\u0000) in a string at byte 3");
	/* An escaped backslash followed by "u0000" is six ordinary characters;
	 * \u0001 is a control character, not a terminator. */
	yajl_val v = NULL;
	const char *ok = "{\"a\":\"\\\\u0000\",\"b\":\"\\u0001\"}";
	assert_int_equal(lib_json_parse(ok, strlen(ok), &obj_limits, &v, NULL), 0);
	assert_string_equal(YAJL_GET_STRING(v->u.object.values[0]), "\\u0000");
	assert_string_equal(YAJL_GET_STRING(v->u.object.values[1]), "\x01");
	yajl_tree_free(v);
}

static void comments_refused(void **state)
{
	/* A quote inside a comment must not hide nesting from the scan. */
	expect_fault(&obj_limits, "{\"a\": /* \" */ [[[[[1]]]]]}", 26, -EINVAL, LIB_JSON_COMMENT, 6,
		     "invalid JSON: comment at byte 6");
	expect_fault(&obj_limits, "{\"a\":1} // x", 12, -EINVAL, LIB_JSON_COMMENT, 8,
		     "invalid JSON: comment at byte 8");
}

static void depth_limit(void **state)
{
	yajl_val v = NULL;
	const char *four = "{\"a\":[[[1]]]}";
	assert_int_equal(lib_json_parse(four, strlen(four), &obj_limits, &v, NULL), 0);
	yajl_tree_free(v);
	expect_fault(&obj_limits, "{\"a\":[[[[1]]]]}", 15, -EINVAL, LIB_JSON_TOO_DEEP, 8,
		     "JSON nested deeper than 4 levels at byte 8");
	/* Brackets in strings (even after an escaped quote) do not count. */
	const char *str = "{\"a\":\"\\\"[[[[[[[[{{{{{{\"}";
	assert_int_equal(lib_json_parse(str, strlen(str), &obj_limits, &v, NULL), 0);
	yajl_tree_free(v);
	/* Closers without openers do not make room for deeper nesting. */
	expect_fault(&obj_limits, "]]]]{\"a\":[[[[1]]]]}", 19, -EINVAL, LIB_JSON_TOO_DEEP, 12,
		     "JSON nested deeper than 4 levels at byte 12");
}

/* A million '[': refused at the first level too many, before yajl allocates. */
static void depth_bomb(void **state)
{
	size_t n = 1000000;
	char *bomb = malloc(2 * n);
	assert_non_null(bomb);
	memset(bomb, '[', n);
	memset(bomb + n, ']', n);
	struct lib_json_limits lim = {.max_size = 2 * n, .max_depth = 64};
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	expect_fault(&lim, bomb, 2 * n, -EINVAL, LIB_JSON_TOO_DEEP, 64,
		     "JSON nested deeper than 64 levels at byte 64");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* The scan stops there: far under a second even with sanitizers. */
	assert_true(t1.tv_sec - t0.tv_sec < 2);
	/* The same bomb as an unclosed string is just a string to the scan. */
	bomb[0] = '"';
	expect_fault(&lim, bomb, 2 * n, -EINVAL, LIB_JSON_SYNTAX, 2 * n,
		     "invalid JSON: parse error: premature EOF at byte 2000000");
	free(bomb);
}

/* A huge array is refused by the value count at the first value too many. */
static void value_limit(void **state)
{
	size_t n = 4000000; /* 8 MB of "1," */
	char *wide = malloc(2 * n + 2);
	assert_non_null(wide);
	wide[0] = '[';
	for (size_t i = 0; i < n; i++) {
		wide[1 + 2 * i] = '1';
		wide[2 + 2 * i] = ',';
	}
	wide[2 * n] = ']';
	struct lib_json_limits lim = {.max_size = 16u << 20, .max_depth = 4, .max_values = 1000};
	/* values = 1 (the document) + 1 (the array) + one per comma */
	expect_fault(&lim, wide, 2 * n + 1, -E2BIG, LIB_JSON_TOO_MANY, 1998,
		     "JSON has more than 1000 values (byte 1998)");
	/* Exactly at the limit: [1,...] with 998 commas is 1000 values. */
	wide[1 + 2 * 998] = '1';
	wide[2 + 2 * 998] = ']';
	yajl_val v = NULL;
	assert_int_equal(lib_json_parse(wide, 2 + 2 * 998 + 1, &lim, &v, NULL), 0);
	assert_int_equal(v->u.array.len, 999);
	yajl_tree_free(v);
	free(wide);
}

static void syntax_errors(void **state)
{
	expect_fault(&obj_limits, "{\"a\":", 5, -EINVAL, LIB_JSON_SYNTAX, 5,
		     "invalid JSON: parse error: premature EOF at byte 5");
	expect_fault(&obj_limits, "{\"a\":[1,2", 9, -EINVAL, LIB_JSON_SYNTAX, 9,
		     "invalid JSON: parse error: premature EOF at byte 9");
	expect_fault(&obj_limits, "{\"a\":1}x", 8, -EINVAL, LIB_JSON_SYNTAX, 7,
		     "invalid JSON: parse error: trailing garbage at byte 7");
	expect_fault(&obj_limits, "{} {}", 5, -EINVAL, LIB_JSON_SYNTAX, 3,
		     "invalid JSON: parse error: trailing garbage at byte 3");
	expect_fault(&obj_limits, "[1,2,]", 6, -EINVAL, LIB_JSON_SYNTAX, 5,
		     "invalid JSON: parse error: unallowed token at this point in JSON text at "
		     "byte 5");
	expect_fault(&obj_limits, "{\"a\":\"\xff\"}", 9, -EINVAL, LIB_JSON_SYNTAX, 6,
		     "invalid JSON: lexical error: invalid bytes in UTF8 string at byte 6");
	/* yajl's words alone, for callers with their own prefix. */
	struct lib_json_error je;
	yajl_val v = NULL;
	assert_int_equal(lib_json_parse("{\"a\" 1}", 7, &obj_limits, &v, &je), -EINVAL);
	assert_string_equal(je.yajl,
			    "parse error: object key and value must be separated by a colon (':')");
}

static void non_object_root(void **state)
{
	expect_fault(&obj_limits, "[1]", 3, -EINVAL, LIB_JSON_NOT_OBJECT, 0,
		     "expected a JSON object at the top level");
	expect_fault(&obj_limits, "\"{}\"", 4, -EINVAL, LIB_JSON_NOT_OBJECT, 0,
		     "expected a JSON object at the top level");
}

static void error_set_keeps_code(void **state)
{
	_cleanup_err_ struct err *err = NULL;
	struct lib_json_error je;
	yajl_val v = NULL;
	struct lib_json_limits lim = obj_limits;
	lim.max_size = 2;
	assert_int_equal(lib_json_parse("{ }", 3, &lim, &v, &je), -EFBIG);
	assert_int_equal(lib_json_error_set(&je, &err), -EFBIG);
	assert_string_equal(err_msg(err),
			    "JSON is 3 bytes, more than the 2 allowed: File too large");
	assert_int_equal(lib_json_parse("[]", 2, &obj_limits, &v, &je), -EINVAL);
	assert_int_equal(lib_json_error_set(&je, &err), -EINVAL);
	assert_string_equal(err_msg(err), "expected a JSON object at the top level");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parses_objects_and_values),
	    cmocka_unit_test(size_limit),
	    cmocka_unit_test(empty_document),
	    cmocka_unit_test(nul_bytes_and_escapes),
	    cmocka_unit_test(comments_refused),
	    cmocka_unit_test(depth_limit),
	    cmocka_unit_test(depth_bomb),
	    cmocka_unit_test(value_limit),
	    cmocka_unit_test(syntax_errors),
	    cmocka_unit_test(non_object_root),
	    cmocka_unit_test(error_set_keeps_code),
	};
	return cmocka_run_group_tests_name("lib/json", tests, NULL, NULL);
}
