// SPDX-License-Identifier: Apache-2.0
/*
 * Reading config.json (OCI runtime spec config.md): the top-level fields,
 * root, mounts, hooks and annotations; process and linux have their own files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "internal.h"

static int read_root(struct jctx *c, yajl_val v, struct oci_spec *s)
{
	yajl_val o;
	int r = j_obj(c, v, "root", &o, 0);
	if (r <= 0)
		return r;
	s->root = jctx_calloc(c, 1, sizeof(*s->root));
	if (!s->root)
		return -ENOMEM;
	size_t mark = jctx_push_key(c, "root");
	if ((r = j_str(c, o, "path", &s->root->path, J_REQ)) >= 0)
		r = j_bool(c, o, "readonly", &s->root->readonly, 0);
	jctx_pop(c, mark);
	return r;
}

static int read_mount(struct jctx *c, yajl_val e, struct oci_mount *m)
{
	int r = jv_obj(c, e);
	if (r < 0)
		return r;
	if ((r = j_str(c, e, "destination", &m->destination, J_REQ)) < 0)
		return r;
	if ((r = j_str(c, e, "type", &m->type, 0)) < 0)
		return r;
	if ((r = j_str(c, e, "source", &m->source, 0)) < 0)
		return r;
	if ((r = j_strv(c, e, "options", &m->options, 0)) < 0)
		return r;
	if ((r = j_idmaps(c, e, "uidMappings", &m->uid_mappings, &m->uid_mappings_len)) < 0)
		return r;
	if ((r = j_idmaps(c, e, "gidMappings", &m->gid_mappings, &m->gid_mappings_len)) < 0)
		return r;
	r = oci_mount_opts_parse(&m->options, &m->opts, c->err);
	return r < 0 ? err_wrap(c->err, "%s", c->path) : 0;
}

static int read_mounts(struct jctx *c, yajl_val v, struct oci_spec *s)
{
	yajl_val a;
	int r = j_arr(c, v, "mounts", &a, 0);
	if (r <= 0)
		return r;
	size_t n = a->u.array.len;
	s->mounts = jctx_calloc(c, n, sizeof(*s->mounts));
	if (!s->mounts)
		return -ENOMEM;
	s->mounts_len = n;
	size_t kmark = jctx_push_key(c, "mounts");
	for (size_t i = 0; i < n && r >= 0; i++) {
		size_t mark = jctx_push_index(c, i);
		r = read_mount(c, a->u.array.values[i], &s->mounts[i]);
		jctx_pop(c, mark);
	}
	jctx_pop(c, kmark);
	return r;
}

static int read_hook(struct jctx *c, yajl_val e, struct oci_hook *h)
{
	int r = jv_obj(c, e);
	if (r < 0)
		return r;
	if ((r = j_str(c, e, "path", &h->path, J_REQ)) < 0)
		return r;
	if ((r = j_strv(c, e, "args", &h->args, 0)) < 0)
		return r;
	if ((r = j_strv(c, e, "env", &h->env, 0)) < 0)
		return r;
	int64_t t = 0;
	/* config.md: "timeout ... MUST be greater than zero". */
	if ((r = j_i64(c, e, "timeout", 1, INT32_MAX, &t, 0)) < 0)
		return r;
	h->has_timeout = r;
	h->timeout = (int)t;
	return 0;
}

static int read_hook_list(struct jctx *c, yajl_val v, const char *key, struct oci_hook_list *l)
{
	yajl_val a;
	int r = j_arr(c, v, key, &a, 0);
	if (r <= 0)
		return r;
	size_t n = a->u.array.len;
	l->items = jctx_calloc(c, n, sizeof(*l->items));
	if (!l->items)
		return -ENOMEM;
	l->n = n;
	size_t kmark = jctx_push_key(c, key);
	for (size_t i = 0; i < n && r >= 0; i++) {
		size_t mark = jctx_push_index(c, i);
		r = read_hook(c, a->u.array.values[i], &l->items[i]);
		jctx_pop(c, mark);
	}
	jctx_pop(c, kmark);
	return r;
}

static int read_hooks(struct jctx *c, yajl_val v, struct oci_spec *s)
{
	yajl_val o;
	int r = j_obj(c, v, "hooks", &o, 0);
	if (r <= 0)
		return r;
	struct oci_hooks *h = s->hooks = jctx_calloc(c, 1, sizeof(*s->hooks));
	if (!h)
		return -ENOMEM;
	size_t mark = jctx_push_key(c, "hooks");
	if ((r = read_hook_list(c, o, "prestart", &h->prestart)) >= 0 &&
	    (r = read_hook_list(c, o, "createRuntime", &h->create_runtime)) >= 0 &&
	    (r = read_hook_list(c, o, "createContainer", &h->create_container)) >= 0 &&
	    (r = read_hook_list(c, o, "startContainer", &h->start_container)) >= 0 &&
	    (r = read_hook_list(c, o, "poststart", &h->poststart)) >= 0)
		r = read_hook_list(c, o, "poststop", &h->poststop);
	jctx_pop(c, mark);
	return r;
}

static int read_sub(struct jctx *c, yajl_val v, const char *key, struct oci_spec *s)
{
	yajl_val o;
	int r = j_obj(c, v, key, &o, 0);
	if (r <= 0)
		return r;
	size_t mark = jctx_push_key(c, key);
	if (strcmp(key, "process") == 0) {
		s->process = jctx_calloc(c, 1, sizeof(*s->process));
		r = s->process ? oci_process_read(c, o, s->process) : -ENOMEM;
	} else {
		s->linux_ = jctx_calloc(c, 1, sizeof(*s->linux_));
		r = s->linux_ ? oci_linux_read(c, o, s->linux_) : -ENOMEM;
	}
	jctx_pop(c, mark);
	return r;
}

static int read_spec(struct jctx *c, yajl_val v, struct oci_spec *s)
{
	int r;
	if ((r = j_str(c, v, "ociVersion", &s->oci_version, J_REQ)) < 0)
		return r;
	if ((r = read_sub(c, v, "process", s)) < 0)
		return r;
	if ((r = read_root(c, v, s)) < 0)
		return r;
	if ((r = j_str(c, v, "hostname", &s->hostname, 0)) < 0)
		return r;
	if ((r = j_str(c, v, "domainname", &s->domainname, 0)) < 0)
		return r;
	if ((r = read_mounts(c, v, s)) < 0)
		return r;
	if ((r = read_hooks(c, v, s)) < 0)
		return r;
	if ((r = j_map(c, v, "annotations", &s->annotations, 0)) < 0)
		return r;
	return read_sub(c, v, "linux", s);
}

int oci_spec_parse(const char *json, size_t len, struct oci_spec **out, struct err **err)
{
	yajl_val root;
	int r = json_tree_parse(json, len, &root, err);
	if (r < 0)
		return r;
	struct oci_spec *s = calloc(1, sizeof(*s));
	if (!s) {
		yajl_tree_free(root);
		return err_set(err, ENOMEM, "spec");
	}
	struct jctx c;
	jctx_init(&c, err);
	r = read_spec(&c, root, s);
	yajl_tree_free(root);
	if (r < 0) {
		oci_spec_free(s);
		return r;
	}
	*out = s;
	return 0;
}

int oci_spec_load(const char *bundle_dir, struct oci_spec **out, struct err **err)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	if (asprintf(&path, "%s/config.json", bundle_dir) < 0)
		return err_set(err, ENOMEM, "config.json path");
	/* A FIFO or device named config.json would block or never end. */
	struct stat st;
	if (stat(path, &st) < 0)
		return err_set(err, errno, "read %s", path);
	if (!S_ISREG(st.st_mode))
		return err_set(err, 0, "read %s: not a regular file", path);
	if (st.st_size > (off_t)OCI_MAX_SIZE)
		return err_set(err, EFBIG, "config.json: larger than %u bytes", OCI_MAX_SIZE);
	int r = fd_read_file(path, &buf, &len, OCI_MAX_SIZE);
	if (r == -EFBIG)
		return err_set(err, EFBIG, "config.json: larger than %u bytes", OCI_MAX_SIZE);
	if (r < 0)
		return err_set(err, -r, "read %s", path);
	r = oci_spec_parse(buf, len, out, err);
	if (r < 0)
		return err_wrap(err, "config.json");
	return 0;
}
