// SPDX-License-Identifier: Apache-2.0
/*
 * Arbitrary argument vectors (NUL-separated) through the CLI flag parser with
 * a command's worth of flags of every type, flags-anywhere and exec-style.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "runtime/cli_args.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct rt_flag flags[] = {
    {"bundle,b", RT_FLAG_STRING, "", NULL},
    {"detach,d", RT_FLAG_BOOL, "", NULL},
    {"env,e", RT_FLAG_STRINGS, "", NULL},
    {"pid-file", RT_FLAG_STRING, "", NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	char *argv[4097];
	int argc = 0;
	for (size_t i = 0; i <= size; i += strlen(buf + i) + 1)
		argv[argc++] = buf + i;
	for (int stop = 0; stop < 2; stop++) {
		struct rt_args a;
		struct err *err = NULL;
		if (rt_args_parse(flags, ARRAY_SIZE(flags), argc, argv, stop, &a, &err) < 0) {
			if (!err || !err->msg)
				abort();
			err_free(&err);
		} else {
			size_t n = 0;
			rt_args_list(&a, "e", &n);
			if (a.n_pos > (size_t)argc || n > (size_t)argc)
				abort();
			(void)rt_args_str(&a, "b", NULL);
		}
		rt_args_free(&a);
	}
	free(buf);
	return 0;
}
