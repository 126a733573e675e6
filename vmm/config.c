// SPDX-License-Identifier: Apache-2.0
/*
 * hull-vmm's JSON configuration (yajl): parse into struct vmm_config and
 * serialize back (vmm_spawn sends it over a pipe). Every key is known and
 * type-checked; a bad one is refused with a message naming it. Example:
 *
 *   {"kernel": "/usr/share/hull/vmlinux", "initrd": "/usr/share/hull/initrd",
 *    "cmdline": "quiet", "mem_mib": 256, "vcpus": 2,
 *    "console": "file", "console_path": "/run/hull/c1/console.log",
 *    "disks": [{"path": "/dev/dm-3", "read_only": false, "serial": "rootfs"}],
 *    "rng": true, "vsock": {"cid": 3, "uds": "/run/hull/c1/vsock.sock"},
 *    "fs": [{"tag": "rootfs", "socket": "/run/hull/c1/virtiofsd.sock"}],
 *    "api_socket": "/run/hull/c1/api.sock", "reboot_exit": 0, "log_level": "info"}
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "lib/json.h"
#include "vmm/vmm.h"

struct perr {
	char *buf;
	size_t len;
};

__attribute__((format(printf, 2, 3))) static int fail(struct perr *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->buf, e->len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int get_str(yajl_val v, const char *key, const char **out, struct perr *e)
{
	if (!YAJL_IS_STRING(v))
		return fail(e, "\"%s\" must be a string", key);
	*out = YAJL_GET_STRING(v);
	return 0;
}

static int get_bool(yajl_val v, const char *key, bool *out, struct perr *e)
{
	if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v))
		return fail(e, "\"%s\" must be true or false", key);
	*out = YAJL_IS_TRUE(v);
	return 0;
}

static int get_uint(yajl_val v, const char *key, uint64_t min, uint64_t max, uint64_t *out,
		    struct perr *e)
{
	if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < 0 || (uint64_t)YAJL_GET_INTEGER(v) < min ||
	    (uint64_t)YAJL_GET_INTEGER(v) > max)
		return fail(e, "\"%s\" must be an integer from %llu to %llu", key,
			    (unsigned long long)min, (unsigned long long)max);
	*out = (uint64_t)YAJL_GET_INTEGER(v);
	return 0;
}

static int parse_disk(yajl_val v, unsigned i, struct vmm_disk *d, struct perr *e)
{
	if (!YAJL_IS_OBJECT(v))
		return fail(e, "\"disks[%u]\" must be an object", i);
	memset(d, 0, sizeof(*d));
	for (size_t k = 0; k < v->u.object.len; k++) {
		const char *key = v->u.object.keys[k];
		yajl_val val = v->u.object.values[k];
		int r;
		if (strcmp(key, "path") == 0)
			r = get_str(val, "disks[].path", &d->path, e);
		else if (strcmp(key, "read_only") == 0)
			r = get_bool(val, "disks[].read_only", &d->read_only, e);
		else if (strcmp(key, "serial") == 0)
			r = get_str(val, "disks[].serial", &d->serial, e);
		else
			r = fail(e, "unknown key \"disks[%u].%s\"", i, key);
		if (r < 0)
			return r;
	}
	if (!d->path)
		return fail(e, "\"disks[%u]\" has no \"path\"", i);
	if (d->serial && strlen(d->serial) > 20)
		return fail(e, "\"disks[%u].serial\" is longer than 20 bytes", i);
	return 0;
}

static int parse_vsock(yajl_val v, struct vmm_config *cfg, struct perr *e)
{
	if (!YAJL_IS_OBJECT(v))
		return fail(e, "\"vsock\" must be an object {\"cid\": N, \"uds\": PATH}");
	for (size_t k = 0; k < v->u.object.len; k++) {
		const char *key = v->u.object.keys[k];
		yajl_val val = v->u.object.values[k];
		int r;
		if (strcmp(key, "cid") == 0)
			r = get_uint(val, "vsock.cid", 3, UINT32_MAX - 1, &cfg->vsock_cid, e);
		else if (strcmp(key, "uds") == 0)
			r = get_str(val, "vsock.uds", &cfg->vsock_uds, e);
		else
			r = fail(e, "unknown key \"vsock.%s\"", key);
		if (r < 0)
			return r;
	}
	if (!cfg->vsock_cid || !cfg->vsock_uds)
		return fail(e, "\"vsock\" needs both \"cid\" and \"uds\"");
	return 0;
}

static int parse_net(yajl_val v, struct vmm_config *cfg, struct perr *e)
{
	if (!YAJL_IS_OBJECT(v))
		return fail(e, "\"net\" must be an object {\"tap\": NAME, \"mac\": MAC}");
	for (size_t k = 0; k < v->u.object.len; k++) {
		const char *key = v->u.object.keys[k];
		yajl_val val = v->u.object.values[k];
		int r;
		if (strcmp(key, "tap") == 0)
			r = get_str(val, "net.tap", &cfg->net_tap, e);
		else if (strcmp(key, "mac") == 0)
			r = get_str(val, "net.mac", &cfg->net_mac, e);
		else
			r = fail(e, "unknown key \"net.%s\"", key);
		if (r < 0)
			return r;
	}
	if (!cfg->net_tap)
		return fail(e, "\"net\" needs \"tap\"");
	uint8_t mac[6];
	if (cfg->net_mac && vmm_mac_parse(cfg->net_mac, mac) < 0)
		return fail(e, "\"net.mac\" must look like 52:54:00:12:34:56");
	return 0;
}

static int parse_fs(yajl_val v, unsigned i, struct vmm_fs *fs, struct perr *e)
{
	if (!YAJL_IS_OBJECT(v))
		return fail(e, "\"fs[%u]\" must be an object {\"tag\": TAG, \"socket\": PATH}", i);
	memset(fs, 0, sizeof(*fs));
	for (size_t k = 0; k < v->u.object.len; k++) {
		const char *key = v->u.object.keys[k];
		yajl_val val = v->u.object.values[k];
		int r;
		if (strcmp(key, "tag") == 0)
			r = get_str(val, "fs[].tag", &fs->tag, e);
		else if (strcmp(key, "socket") == 0)
			r = get_str(val, "fs[].socket", &fs->socket, e);
		else
			r = fail(e, "unknown key \"fs[%u].%s\"", i, key);
		if (r < 0)
			return r;
	}
	if (!fs->tag || !fs->socket)
		return fail(e, "\"fs[%u]\" needs both \"tag\" and \"socket\"", i);
	if (!fs->tag[0] || strlen(fs->tag) > 36)
		return fail(e, "\"fs[%u].tag\" must be 1 to 36 bytes", i);
	return 0;
}

static int parse_nic(yajl_val v, unsigned i, struct vmm_net *nic, struct perr *e)
{
	if (!YAJL_IS_OBJECT(v))
		return fail(
		    e, "\"nets[%u]\" must be an object {\"fd\": N, \"mac\": MAC, \"mtu\": N}", i);
	memset(nic, 0, sizeof(*nic));
	nic->fd = -1;
	for (size_t k = 0; k < v->u.object.len; k++) {
		const char *key = v->u.object.keys[k];
		yajl_val val = v->u.object.values[k];
		uint64_t n = 0;
		int r;
		if (strcmp(key, "fd") == 0) {
			/* 0-2 are stdio and 3 the config pipe */
			if ((r = get_uint(val, "nets[].fd", 4, 1023, &n, e)) == 0)
				nic->fd = (int)n;
		} else if (strcmp(key, "mac") == 0) {
			r = get_str(val, "nets[].mac", &nic->mac, e);
		} else if (strcmp(key, "mtu") == 0) {
			/* the virtio config field is 16 bits; 68 is IPv4's minimum */
			if ((r = get_uint(val, "nets[].mtu", 68, 65535, &n, e)) == 0)
				nic->mtu = (uint32_t)n;
		} else {
			r = fail(e, "unknown key \"nets[%u].%s\"", i, key);
		}
		if (r < 0)
			return r;
	}
	if (nic->fd < 0)
		return fail(e, "\"nets[%u]\" needs \"fd\"", i);
	uint8_t mac[6];
	if (nic->mac && vmm_mac_parse(nic->mac, mac) < 0)
		return fail(e, "\"nets[%u].mac\" must look like 52:54:00:12:34:56", i);
	return 0;
}

static int parse_console(yajl_val v, struct vmm_config *cfg, struct perr *e)
{
	const char *s = NULL;
	if (get_str(v, "console", &s, e) < 0)
		return -EINVAL;
	if (strcmp(s, "stdio") == 0)
		cfg->console = VMM_CONSOLE_STDIO;
	else if (strcmp(s, "file") == 0)
		cfg->console = VMM_CONSOLE_FILE;
	else if (strcmp(s, "off") == 0)
		cfg->console = VMM_CONSOLE_OFF;
	else
		return fail(e, "\"console\" must be \"stdio\", \"file\" or \"off\", not \"%s\"", s);
	return 0;
}

static int parse_key(const char *key, yajl_val v, struct vmm_config *cfg, struct perr *e)
{
	uint64_t n = 0;
	int r;
	if (strcmp(key, "kernel") == 0)
		return get_str(v, key, &cfg->kernel, e);
	if (strcmp(key, "initrd") == 0)
		return get_str(v, key, &cfg->initrd, e);
	if (strcmp(key, "cmdline") == 0)
		return get_str(v, key, &cfg->cmdline, e);
	if (strcmp(key, "console_path") == 0)
		return get_str(v, key, &cfg->console_path, e);
	if (strcmp(key, "api_socket") == 0)
		return get_str(v, key, &cfg->api_socket, e);
	if (strcmp(key, "log_level") == 0)
		return get_str(v, key, &cfg->log_level, e);
	if (strcmp(key, "rng") == 0)
		return get_bool(v, key, &cfg->rng, e);
	if (strcmp(key, "balloon") == 0)
		return get_bool(v, key, &cfg->balloon, e);
	if (strcmp(key, "seccomp") == 0) {
		bool on = true;
		r = get_bool(v, key, &on, e);
		cfg->no_seccomp = !on;
		return r;
	}
	if (strcmp(key, "console") == 0)
		return parse_console(v, cfg, e);
	if (strcmp(key, "vsock") == 0)
		return parse_vsock(v, cfg, e);
	if (strcmp(key, "net") == 0)
		return parse_net(v, cfg, e);
	if (strcmp(key, "mem_mib") == 0) {
		if ((r = get_uint(v, key, 16, 1u << 20, &n, e)) == 0)
			cfg->mem_mib = (uint32_t)n;
		return r;
	}
	if (strcmp(key, "vcpus") == 0) {
		if ((r = get_uint(v, key, 1, 64, &n, e)) == 0)
			cfg->vcpus = (uint32_t)n;
		return r;
	}
	if (strcmp(key, "reboot_exit") == 0) {
		if ((r = get_uint(v, key, 0, 255, &n, e)) == 0)
			cfg->reboot_exit = (int)n;
		return r;
	}
	if (strcmp(key, "disks") == 0) {
		if (!YAJL_IS_ARRAY(v))
			return fail(e, "\"disks\" must be an array");
		if (v->u.array.len > VMM_MAX_DISKS)
			return fail(e, "\"disks\": at most %d disks", VMM_MAX_DISKS);
		for (size_t i = 0; i < v->u.array.len; i++)
			if ((r = parse_disk(v->u.array.values[i], (unsigned)i, &cfg->disks[i], e)) <
			    0)
				return r;
		cfg->n_disks = (unsigned)v->u.array.len;
		return 0;
	}
	if (strcmp(key, "fs") == 0) {
		if (!YAJL_IS_ARRAY(v))
			return fail(e, "\"fs\" must be an array");
		if (v->u.array.len > VMM_MAX_FS)
			return fail(e, "\"fs\": at most %d shares", VMM_MAX_FS);
		for (size_t i = 0; i < v->u.array.len; i++)
			if ((r = parse_fs(v->u.array.values[i], (unsigned)i, &cfg->fs[i], e)) < 0)
				return r;
		cfg->n_fs = (unsigned)v->u.array.len;
		return 0;
	}
	if (strcmp(key, "nets") == 0) {
		if (!YAJL_IS_ARRAY(v))
			return fail(e, "\"nets\" must be an array");
		if (v->u.array.len > VMM_MAX_NETS)
			return fail(e, "\"nets\": at most %d devices", VMM_MAX_NETS);
		for (size_t i = 0; i < v->u.array.len; i++)
			if ((r = parse_nic(v->u.array.values[i], (unsigned)i, &cfg->nets[i], e)) <
			    0)
				return r;
		cfg->n_nets = (unsigned)v->u.array.len;
		return 0;
	}
	return fail(e, "unknown key \"%s\"", key);
}

int vmm_mac_parse(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char end;
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &end) != 6 ||
	    strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	if (mac[0] & 1)
		return -EINVAL; /* multicast bit: not a station address */
	return 0;
}

/*
 * The configuration comes from a file or from vmm_spawn's pipe: bounded like
 * any untrusted JSON. Its shape is at most three levels deep ({"disks": [{}]})
 * and a few dozen values.
 */
static const struct lib_json_limits config_limits = {
    .max_size = 1u << 20,
    .max_depth = 8,
    .max_values = 4096,
    .object = true,
};

/* Keep hull-vmm's wording for the faults it always reported. */
static int parse_fail(const struct lib_json_error *je, int r, struct perr *e)
{
	switch (je->fault) {
	case LIB_JSON_NUL:
		fail(e, "NUL byte inside the JSON");
		break;
	case LIB_JSON_NOMEM:
		fail(e, "out of memory");
		break;
	case LIB_JSON_SYNTAX:
		fail(e, "not valid JSON: %s at byte %zu", je->yajl, je->offset);
		break;
	case LIB_JSON_NOT_OBJECT:
		fail(e, "the configuration must be a JSON object");
		break;
	default: /* limits, escapes, comments: the lib's wording */
		fail(e, "%s", je->msg);
		break;
	}
	return r;
}

int vmm_config_parse(const char *json, size_t len, struct vmm_config *cfg, void **owned,
		     char *errbuf, size_t errlen)
{
	struct perr e = {errbuf, errlen};
	struct lib_json_error je;
	yajl_val root = NULL;
	*owned = NULL;
	int r = lib_json_parse(json, len, &config_limits, &root, &je);
	if (r < 0)
		return parse_fail(&je, r, &e);
	for (size_t k = 0; k < root->u.object.len; k++) {
		r = parse_key(root->u.object.keys[k], root->u.object.values[k], cfg, &e);
		if (r < 0) {
			yajl_tree_free(root);
			return r;
		}
	}
	*owned = root; /* cfg's strings point into the tree */
	return 0;
}

void vmm_config_free_strings(void *owned)
{
	if (owned)
		yajl_tree_free(owned);
}

static void gen_str(yajl_gen g, const char *key, const char *val)
{
	if (!val)
		return;
	yajl_gen_string(g, (const unsigned char *)key, strlen(key));
	yajl_gen_string(g, (const unsigned char *)val, strlen(val));
}

static void gen_int(yajl_gen g, const char *key, long long val)
{
	yajl_gen_string(g, (const unsigned char *)key, strlen(key));
	yajl_gen_integer(g, val);
}

static void gen_bool(yajl_gen g, const char *key, bool val)
{
	yajl_gen_string(g, (const unsigned char *)key, strlen(key));
	yajl_gen_bool(g, val);
}

int vmm_config_to_json(const struct vmm_config *cfg, char **out)
{
	static const char *const consoles[] = {"stdio", "file", "off"};
	yajl_gen g = yajl_gen_alloc(NULL);
	if (!g)
		return -ENOMEM;
	yajl_gen_map_open(g);
	gen_str(g, "kernel", cfg->kernel);
	gen_str(g, "initrd", cfg->initrd);
	gen_str(g, "cmdline", cfg->cmdline);
	if (cfg->mem_mib)
		gen_int(g, "mem_mib", cfg->mem_mib);
	if (cfg->vcpus)
		gen_int(g, "vcpus", cfg->vcpus);
	if ((unsigned)cfg->console < 3)
		gen_str(g, "console", consoles[cfg->console]);
	gen_str(g, "console_path", cfg->console_path);
	if (cfg->n_disks) {
		yajl_gen_string(g, (const unsigned char *)"disks", 5);
		yajl_gen_array_open(g);
		for (unsigned i = 0; i < cfg->n_disks && i < VMM_MAX_DISKS; i++) {
			yajl_gen_map_open(g);
			gen_str(g, "path", cfg->disks[i].path);
			gen_bool(g, "read_only", cfg->disks[i].read_only);
			gen_str(g, "serial", cfg->disks[i].serial);
			yajl_gen_map_close(g);
		}
		yajl_gen_array_close(g);
	}
	gen_bool(g, "rng", cfg->rng);
	gen_bool(g, "balloon", cfg->balloon);
	if (cfg->vsock_cid) {
		yajl_gen_string(g, (const unsigned char *)"vsock", 5);
		yajl_gen_map_open(g);
		gen_int(g, "cid", (long long)cfg->vsock_cid);
		gen_str(g, "uds", cfg->vsock_uds);
		yajl_gen_map_close(g);
	}
	if (cfg->net_tap) {
		yajl_gen_string(g, (const unsigned char *)"net", 3);
		yajl_gen_map_open(g);
		gen_str(g, "tap", cfg->net_tap);
		gen_str(g, "mac", cfg->net_mac);
		yajl_gen_map_close(g);
	}
	if (cfg->n_nets) {
		yajl_gen_string(g, (const unsigned char *)"nets", 4);
		yajl_gen_array_open(g);
		for (unsigned i = 0; i < cfg->n_nets; i++) {
			yajl_gen_map_open(g);
			gen_int(g, "fd", cfg->nets[i].fd);
			gen_str(g, "mac", cfg->nets[i].mac);
			if (cfg->nets[i].mtu)
				gen_int(g, "mtu", cfg->nets[i].mtu);
			yajl_gen_map_close(g);
		}
		yajl_gen_array_close(g);
	}
	if (cfg->n_fs) {
		yajl_gen_string(g, (const unsigned char *)"fs", 2);
		yajl_gen_array_open(g);
		for (unsigned i = 0; i < cfg->n_fs && i < VMM_MAX_FS; i++) {
			yajl_gen_map_open(g);
			gen_str(g, "tag", cfg->fs[i].tag);
			gen_str(g, "socket", cfg->fs[i].socket);
			yajl_gen_map_close(g);
		}
		yajl_gen_array_close(g);
	}
	gen_str(g, "api_socket", cfg->api_socket);
	gen_int(g, "reboot_exit", cfg->reboot_exit);
	gen_str(g, "log_level", cfg->log_level);
	gen_bool(g, "seccomp", !cfg->no_seccomp);
	yajl_gen_map_close(g);
	const unsigned char *buf;
	size_t len;
	int r = yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok ? 0 : -EINVAL;
	if (r == 0) {
		*out = strndup((const char *)buf, len);
		if (!*out)
			r = -ENOMEM;
	}
	yajl_gen_free(g);
	return r;
}
