// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "lib/log.h"
#include "runtime/config.h"

/* Must match hack/default-config.sh with PREFIX=/usr/local. */
#define DEF_PREFIX "/usr/local"

void rt_config_free(struct rt_config *cfg)
{
	free(cfg->kernel);
	free(cfg->initramfs);
	free(cfg->virtiofsd);
	free(cfg->vmm);
	free(cfg->log_level);
	memset(cfg, 0, sizeof(*cfg));
}

int rt_config_defaults(struct rt_config *cfg, struct err **err)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->kernel = strdup(DEF_PREFIX "/share/hull/bzImage");
	cfg->initramfs = strdup(DEF_PREFIX "/share/hull/initramfs.cpio.gz");
	cfg->virtiofsd = strdup("/usr/lib/qemu/virtiofsd");
	cfg->vmm = strdup(DEF_PREFIX "/bin/hull-vmm");
	cfg->log_level = strdup("info");
	cfg->default_memory_mib = 128;
	cfg->default_vcpus = 1;
	cfg->free_page_reporting = true;
	if (!cfg->kernel || !cfg->initramfs || !cfg->virtiofsd || !cfg->vmm || !cfg->log_level) {
		rt_config_free(cfg);
		return err_set(err, ENOMEM, "config defaults");
	}
	return 0;
}

static int set_path(char **dst, const char *key, yajl_val v, struct err **err)
{
	if (!YAJL_IS_STRING(v))
		return err_set(err, 0, "%s: expected a string", key);
	const char *s = v->u.string;
	if (s[0] != '/')
		return err_set(err, 0, "%s: expected an absolute path, got \"%s\"", key, s);
	char *copy = strdup(s);
	if (!copy)
		return err_set(err, ENOMEM, "%s", key);
	free(*dst);
	*dst = copy;
	return 0;
}

static int set_uint(uint32_t *dst, const char *key, yajl_val v, uint32_t max, struct err **err)
{
	if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < 1 || YAJL_GET_INTEGER(v) > max)
		return err_set(err, 0, "%s: expected an integer in 1..%u", key, max);
	*dst = (uint32_t)YAJL_GET_INTEGER(v);
	return 0;
}

static int set_level(struct rt_config *cfg, yajl_val v, struct err **err)
{
	enum log_level level;
	if (!YAJL_IS_STRING(v) || log_level_parse(v->u.string, &level) < 0)
		return err_set(err, 0, "log_level: expected one of error, warn, info, debug");
	char *copy = strdup(v->u.string);
	if (!copy)
		return err_set(err, ENOMEM, "log_level");
	free(cfg->log_level);
	cfg->log_level = copy;
	return 0;
}

static int set_key(struct rt_config *cfg, const char *key, yajl_val v, struct err **err)
{
	if (strcmp(key, "kernel") == 0)
		return set_path(&cfg->kernel, key, v, err);
	if (strcmp(key, "initramfs") == 0)
		return set_path(&cfg->initramfs, key, v, err);
	if (strcmp(key, "virtiofsd") == 0)
		return set_path(&cfg->virtiofsd, key, v, err);
	if (strcmp(key, "vmm") == 0)
		return set_path(&cfg->vmm, key, v, err);
	if (strcmp(key, "default_memory_mib") == 0)
		return set_uint(&cfg->default_memory_mib, key, v, RT_CONFIG_MAX_MEM, err);
	if (strcmp(key, "default_vcpus") == 0)
		return set_uint(&cfg->default_vcpus, key, v, RT_CONFIG_MAX_CPUS, err);
	if (strcmp(key, "log_level") == 0)
		return set_level(cfg, v, err);
	if (strcmp(key, "rootfs") == 0) {
		if (YAJL_IS_STRING(v) && strcmp(v->u.string, "virtiofs") == 0)
			cfg->rootfs_block = false;
		else if (YAJL_IS_STRING(v) && strcmp(v->u.string, "block") == 0)
			cfg->rootfs_block = true;
		else
			return err_set(err, 0, "rootfs: expected \"virtiofs\" or \"block\"");
		return 0;
	}
	if (strcmp(key, "free_page_reporting") == 0) {
		if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v))
			return err_set(err, 0, "free_page_reporting: expected true or false");
		cfg->free_page_reporting = YAJL_IS_TRUE(v);
		return 0;
	}
	return err_set(err, 0, "%s: unknown key", key);
}

int rt_config_parse(const char *json, size_t len, struct rt_config *cfg, struct err **err)
{
	yajl_val root = NULL;
	int r = rt_json_parse(json, len, RT_CONFIG_MAX_SIZE, &root, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < root->u.object.len; i++) {
		r = set_key(cfg, root->u.object.keys[i], root->u.object.values[i], err);
		if (r < 0)
			break;
	}
	yajl_tree_free(root);
	return r < 0 ? r : 0;
}

int rt_config_load(struct rt_config *cfg, struct err **err)
{
	const char *env = getenv("HULL_CONFIG");
	bool named = env && env[0];
	const char *path = named ? env : RT_CONFIG_PATH;

	int r = rt_config_defaults(cfg, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	r = fd_read_file(path, &buf, &len, RT_CONFIG_MAX_SIZE);
	/* No /etc/hull/config.json is a valid install; a named file must exist. */
	if (r == -ENOENT && !named)
		return 0;
	if (r < 0) {
		rt_config_free(cfg);
		return err_set(err, -r, "read %s", path);
	}
	r = rt_config_parse(buf, len, cfg, err);
	if (r < 0) {
		rt_config_free(cfg);
		return err_wrap(err, "%s", path);
	}
	return 0;
}
