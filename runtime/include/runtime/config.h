/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull's host configuration, /etc/hull/config.json (HULL_CONFIG overrides the
 * path): where the guest kernel, initramfs, virtiofsd and hull-vmm live, the
 * default VM size and the log level. hack/default-config.sh prints the file an
 * install writes:
 *
 *   { "kernel": "...", "initramfs": "...", "virtiofsd": "...", "vmm": "...",
 *     "default_memory_mib": 128, "default_vcpus": 1, "log_level": "info",
 *     "rootfs": "virtiofs" | "block" }
 *
 * Every key is optional; unknown keys are refused (a typo must not silently
 * fall back to a default).
 */
#ifndef HULL_RUNTIME_CONFIG_H
#define HULL_RUNTIME_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct err;

#define RT_CONFIG_PATH     "/etc/hull/config.json"
#define RT_CONFIG_MAX_SIZE (64u << 10) /* a config larger than this is refused */
#define RT_CONFIG_MAX_MEM  (1u << 20)  /* MiB: 1 TiB */
#define RT_CONFIG_MAX_CPUS 254u        /* what hull-vmm's MP table can describe */

struct rt_config {
	char *kernel;
	char *initramfs;
	char *virtiofsd;
	char *vmm;
	uint32_t default_memory_mib;
	uint32_t default_vcpus;
	char *log_level; /* error|warn|warning|info|debug */
	/* How the container rootfs reaches the guest: virtio-fs (default; writes
	 * land in the bundle) or "block": a copy as an ext4 image on virtio-blk. */
	bool rootfs_block;
	/* virtio-balloon free page reporting: memory the guest frees goes back
	 * to the host (default on). */
	bool free_page_reporting;
};

/* Fill *cfg with the built-in defaults (those of hack/default-config.sh for
 * PREFIX=/usr/local). */
int rt_config_defaults(struct rt_config *cfg, struct err **err);

/*
 * Parse config bytes over the defaults already in *cfg. Errors name the key:
 * "default_vcpus: expected an integer in 1..254".
 */
int rt_config_parse(const char *json, size_t len, struct rt_config *cfg, struct err **err);

/*
 * Load the host config: the file named by $HULL_CONFIG (must exist), else
 * /etc/hull/config.json (built-in defaults when it does not exist).
 * Errors are prefixed with the path.
 */
int rt_config_load(struct rt_config *cfg, struct err **err);

void rt_config_free(struct rt_config *cfg);

#endif
