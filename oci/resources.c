// SPDX-License-Identifier: Apache-2.0
/*
 * A LinuxResources object on its own (config-linux.md "Control groups"), as
 * `runc update -r FILE` reads it: the same reader and writer as the
 * linux.resources of a config.json.
 */
#include <errno.h>
#include <stdlib.h>

#include "lib/err.h"
#include "internal.h"

int oci_resources_parse(const char *json, size_t len, struct oci_resources **out, struct err **err)
{
	yajl_val root;
	int r = json_tree_parse(json, len, &root, err);
	if (r < 0)
		return err_wrap(err, "resources");
	struct oci_resources *res = calloc(1, sizeof(*res));
	if (!res) {
		yajl_tree_free(root);
		return err_set(err, ENOMEM, "resources");
	}
	struct jctx c;
	jctx_init(&c, err);
	r = oci_resources_read(&c, root, res);
	yajl_tree_free(root);
	if (r < 0) {
		oci_resources_free(res);
		return r;
	}
	*out = res;
	return 0;
}

void oci_resources_free(struct oci_resources *r)
{
	if (!r)
		return;
	oci_resources_clear(r);
	free(r);
}

int oci_resources_to_json(const struct oci_resources *r, char **json, size_t *len, struct err **err)
{
	struct jw w;
	int ret = jw_init(&w, err);
	if (ret < 0)
		return ret;
	oci_resources_write(&w, NULL, r);
	ret = jw_finish(&w, json, len, err);
	jw_exit(&w);
	return ret;
}
