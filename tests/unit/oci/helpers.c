// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fd.h"
#include "helpers.h"

#define FIXTURES "tests/unit/oci/fixtures/"

char *fixture_read(const char *name, size_t *len)
{
	char path[PATH_MAX + 64];
	char *buf = NULL;
	snprintf(path, sizeof(path), FIXTURES "%s", name);
	if (fd_read_file(path, &buf, len, 16u << 20) == 0)
		return buf;
	/* Not run from the repo root: walk up from the binary (BUILD may be nested). */
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	for (char *slash = strrchr(exe, '/'); slash; slash = strrchr(exe, '/')) {
		*slash = '\0';
		if (snprintf(path, sizeof(path), "%s/" FIXTURES "%s", exe, name) >=
		    (int)sizeof(path))
			continue;
		if (fd_read_file(path, &buf, len, 16u << 20) == 0)
			return buf;
	}
	return NULL;
}
