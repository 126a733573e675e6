/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the oci unit tests. */
#ifndef HULL_TESTS_OCI_HELPERS_H
#define HULL_TESTS_OCI_HELPERS_H

#include <stddef.h>

/* Read tests/unit/oci/fixtures/<name>, found from the cwd or from the test
 * binary's location (BUILD/tests/unit/oci/...). NULL if missing. free() it. */
char *fixture_read(const char *name, size_t *len);

#endif
