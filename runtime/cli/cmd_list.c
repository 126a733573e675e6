// SPDX-License-Identifier: Apache-2.0
/* hull list [-q] [--format table|json]: the containers under --root. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

#include "cli.h"
#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/log.h"
#include "runtime/state.h"

static const struct rt_flag list_flags[] = {
    {"format,f", RT_FLAG_STRING, "select one of: table or json", "table"},
    {"quiet,q", RT_FLAG_BOOL, "display only container IDs", NULL},
};

struct row {
	char pid[16];
	char owner[64];
	struct oci_state st;
	struct rt_container *c;
};

/* Column widths as Go's tabwriter (minwidth 12, padding 3) makes runc's table. */
static int width(int w, const char *s)
{
	int n = (int)strlen(s) + 3;
	return n > w ? n : w;
}

static void print_table(const struct row *rows, size_t n)
{
	static const char *const head[] = {"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"};
	int w[5] = {12, 12, 12, 12, 12};
	for (int k = 0; k < 5; k++)
		w[k] = width(w[k], head[k]);
	for (size_t i = 0; i < n; i++) {
		const char *cells[5] = {rows[i].st.id, rows[i].pid, rows[i].st.status,
					rows[i].st.bundle, rows[i].st.created};
		for (int k = 0; k < 5; k++)
			w[k] = width(w[k], cells[k]);
	}
	printf("%-*s%-*s%-*s%-*s%-*s%s\n", w[0], head[0], w[1], head[1], w[2], head[2], w[3],
	       head[3], w[4], head[4], head[5]);
	for (size_t i = 0; i < n; i++)
		printf("%-*s%-*s%-*s%-*s%-*s%s\n", w[0], rows[i].st.id, w[1], rows[i].pid, w[2],
		       rows[i].st.status, w[3], rows[i].st.bundle, w[4], rows[i].st.created,
		       rows[i].owner);
}

static void gen_kv(yajl_gen g, const char *k, const char *v)
{
	yajl_gen_string(g, (const unsigned char *)k, strlen(k));
	yajl_gen_string(g, (const unsigned char *)v, strlen(v));
}

/* The JSON array runc prints: one compact line; "null" when empty, as Go's
 * encoder writes a nil slice. */
static int print_json(const struct row *rows, size_t n, struct err **err)
{
	if (n == 0) {
		puts("null");
		return 0;
	}
	yajl_gen g = yajl_gen_alloc(NULL);
	if (!g)
		return err_set(err, ENOMEM, "list");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < n; i++) {
		const struct oci_state *s = &rows[i].st;
		yajl_gen_map_open(g);
		gen_kv(g, "ociVersion", OCI_VERSION);
		gen_kv(g, "id", s->id);
		yajl_gen_string(g, (const unsigned char *)"pid", 3);
		yajl_gen_integer(g, s->pid);
		gen_kv(g, "status", s->status);
		gen_kv(g, "bundle", s->bundle);
		gen_kv(g, "rootfs", s->rootfs ? s->rootfs : "");
		gen_kv(g, "created", s->created);
		if (s->annotations && s->annotations->n) {
			yajl_gen_string(g, (const unsigned char *)"annotations", 11);
			yajl_gen_map_open(g);
			for (size_t k = 0; k < s->annotations->n; k++)
				gen_kv(g, s->annotations->items[k].key,
				       s->annotations->items[k].value);
			yajl_gen_map_close(g);
		}
		gen_kv(g, "owner", s->owner);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	const unsigned char *buf;
	size_t len;
	int r = yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok ? 0 : -EINVAL;
	if (r == 0)
		printf("%.*s\n", (int)len, (const char *)buf);
	yajl_gen_free(g);
	return r < 0 ? err_set(err, EINVAL, "list: write JSON") : 0;
}

static int list_run(struct rt_cli *cli, const struct rt_args *a, struct err **err)
{
	const char *format = rt_args_str(a, "format", "table");
	bool quiet = rt_args_bool(a, "quiet");
	if (!quiet && strcmp(format, "table") != 0 && strcmp(format, "json") != 0)
		return err_set(err, 0, "invalid format option");
	char **ids = NULL;
	size_t n = 0;
	int r = rt_container_list(cli->root, &ids, &n, err);
	if (r < 0)
		return r;
	struct row *rows = calloc(n ? n : 1, sizeof(*rows));
	if (!rows) {
		rt_strv_free(ids, n);
		return err_set(err, ENOMEM, "list");
	}
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		struct err *e = NULL;
		/* a container deleted meanwhile, or a damaged one, is skipped, not fatal */
		if (rt_container_open(cli->root, ids[i], false, &rows[m].c, &e) < 0) {
			log_warn("list: %s", err_msg(e));
			err_free(&e);
			continue;
		}
		rt_cli_oci_state(rows[m].c, &rows[m].st, rows[m].owner, sizeof(rows[m].owner));
		snprintf(rows[m].pid, sizeof(rows[m].pid), "%d", rows[m].st.pid);
		m++;
	}
	if (quiet)
		for (size_t i = 0; i < m; i++)
			puts(rows[i].st.id);
	else if (strcmp(format, "json") == 0)
		r = print_json(rows, m, err);
	else
		print_table(rows, m);
	for (size_t i = 0; i < m; i++)
		rt_container_close(rows[i].c);
	free(rows);
	rt_strv_free(ids, n);
	return r;
}

const struct rt_cli_cmd rt_cmd_list = {
    .name = "list",
    .summary = "lists containers started by hull with the given root",
    .description = "Where the given root is specified via the global option \"--root\"\n"
		   "(default: \"" RT_ROOT_DEFAULT "\").",
    .flags = list_flags,
    .n_flags = ARRAY_SIZE(list_flags),
    .min_args = 0,
    .max_args = 0,
    .run = list_run,
};
