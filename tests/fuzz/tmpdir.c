// SPDX-License-Identifier: Apache-2.0
/* A fuzz target's temporary directory; see tmpdir.h. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tmpdir.h"

static char dir[64];

/* Its entries are the target's sockets: no subdirectories to walk. */
static void remove_dir(void)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)))
			unlinkat(dirfd(d), e->d_name, 0); /* "." and ".." just fail */
		closedir(d);
	}
	rmdir(dir);
}

const char *fuzz_tmpdir(const char *name)
{
	if (dir[0])
		abort(); /* one per process */
	snprintf(dir, sizeof(dir), "/tmp/hull-fuzz-%s-XXXXXX", name);
	if (!mkdtemp(dir) || atexit(remove_dir) != 0)
		abort();
	return dir;
}
