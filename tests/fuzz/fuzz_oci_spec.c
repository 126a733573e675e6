// SPDX-License-Identifier: Apache-2.0
/*
 * Arbitrary bytes as config.json: parse, validate, write back out, and check
 * that what we wrote parses again to the same document (the round trip the
 * host -> guest spec transfer relies on). The same bytes also go through the
 * process.json and resources.json parsers. Any crash, leak or mismatch is a bug.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "oci/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void spec_round_trip(const char *json, size_t size)
{
	struct err *err = NULL;
	struct oci_spec *a = NULL, *b = NULL;
	char *j1 = NULL, *j2 = NULL;
	size_t l1 = 0, l2 = 0;

	if (oci_spec_parse(json, size, &a, &err) < 0) {
		/* every failure carries a message */
		if (!err || !err->msg)
			abort();
		err_free(&err);
		return;
	}
	(void)oci_spec_validate(a, &err);
	err_free(&err);
	/* Parsed strings came from valid UTF-8 JSON, so writing cannot fail. */
	if (oci_spec_to_json(a, &j1, &l1, &err) < 0)
		abort();
	if (oci_spec_parse(j1, l1, &b, &err) < 0)
		abort();
	if (oci_spec_to_json(b, &j2, &l2, &err) < 0)
		abort();
	if (l1 != l2 || memcmp(j1, j2, l1) != 0)
		abort();
	free(j1);
	free(j2);
	oci_spec_free(a);
	oci_spec_free(b);
}

static void process_round_trip(const char *json, size_t size)
{
	struct err *err = NULL;
	struct oci_process *p = NULL, *q = NULL;
	char *j1 = NULL, *j2 = NULL;
	size_t l1 = 0, l2 = 0;

	if (oci_process_parse(json, size, &p, &err) < 0) {
		err_free(&err);
		return;
	}
	(void)oci_process_validate(p, &err);
	err_free(&err);
	if (oci_process_to_json(p, &j1, &l1, &err) < 0 || oci_process_parse(j1, l1, &q, &err) < 0 ||
	    oci_process_to_json(q, &j2, &l2, &err) < 0)
		abort();
	if (l1 != l2 || memcmp(j1, j2, l1) != 0)
		abort();
	free(j1);
	free(j2);
	oci_process_free(p);
	oci_process_free(q);
}

static void resources_round_trip(const char *json, size_t size)
{
	struct err *err = NULL;
	struct oci_resources *r = NULL, *q = NULL;
	char *j1 = NULL, *j2 = NULL;
	size_t l1 = 0, l2 = 0;

	if (oci_resources_parse(json, size, &r, &err) < 0) {
		err_free(&err);
		return;
	}
	(void)oci_resources_validate(r, &err);
	err_free(&err);
	if (oci_resources_to_json(r, &j1, &l1, &err) < 0 ||
	    oci_resources_parse(j1, l1, &q, &err) < 0 ||
	    oci_resources_to_json(q, &j2, &l2, &err) < 0)
		abort();
	if (l1 != l2 || memcmp(j1, j2, l1) != 0)
		abort();
	free(j1);
	free(j2);
	oci_resources_free(r);
	oci_resources_free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	spec_round_trip((const char *)data, size);
	process_round_trip((const char *)data, size);
	resources_round_trip((const char *)data, size);
	return 0;
}
