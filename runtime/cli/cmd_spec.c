// SPDX-License-Identifier: Apache-2.0
/* hull spec: write a default config.json into the bundle, as `runc spec` does. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "oci/spec.h"

static const struct rt_flag spec_flags[] = {
    {"bundle,b", RT_FLAG_STRING, "path to the root of the bundle directory", NULL},
};

static int spec_run(struct rt_cli *cli, const struct rt_args *a, struct err **err)
{
	const char *bundle = rt_args_str(a, "bundle", NULL);
	_cleanup_close_ int dirfd = open(bundle ? bundle : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return err_set(err, errno, "open bundle %s", bundle ? bundle : ".");

	_cleanup_oci_spec_ struct oci_spec *spec = NULL;
	int r = oci_spec_default(&spec, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *json = NULL;
	size_t len = 0;
	r = oci_spec_to_json(spec, &json, &len, err);
	if (r < 0)
		return r;
	/* O_EXCL: never overwrite a user's config.json (runc refuses too) */
	_cleanup_close_ int fd =
	    openat(dirfd, "config.json", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (fd < 0 && errno == EEXIST)
		return err_set(err, 0, "File config.json exists. Remove it first");
	if (fd < 0)
		return err_set(err, errno, "create config.json");
	ssize_t w = fd_write_full(fd, json, len);
	if (w < 0) {
		unlinkat(dirfd, "config.json", 0);
		return err_set(err, (int)-w, "write config.json");
	}
	return 0;
}

const struct rt_cli_cmd rt_cmd_spec = {
    .name = "spec",
    .summary = "create a new specification file",
    .description = "The spec command creates the new specification file named \"config.json\"\n"
		   "   for the bundle, with a busybox-style \"sh\" as the process.",
    .flags = spec_flags,
    .n_flags = ARRAY_SIZE(spec_flags),
    .min_args = 0,
    .max_args = 0,
    .run = spec_run,
};
