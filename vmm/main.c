// SPDX-License-Identifier: Apache-2.0
/*
 * hull-vmm: command line -> struct vmm_config -> vmm_run(). Flags cover the
 * common case; --config FILE / --config-fd N take the whole configuration as
 * JSON (flags given after it override it). A bad value is refused with a
 * message naming the flag.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/fd.h"
#include "lib/log.h"
#include "run.h"
#include "vm.h"

static const char usage[] =
    "usage: hull-vmm --kernel PATH [options]\n"
    "  --kernel PATH        vmlinux (ELF) or bzImage\n"
    "  --initrd PATH        initramfs\n"
    "  --cmdline STR        extra kernel arguments\n"
    "  --mem MIB            guest memory in MiB (default 128)\n"
    "  --cpus N             vCPUs (default 1, at most 64)\n"
    "  --console MODE       stdio (default), off, or file:PATH\n"
    "  --disk PATH[,ro][,serial=ID]  virtio-blk disk (repeatable, at most 4)\n"
    "  --rng                virtio-rng\n"
    "  --balloon            virtio-balloon (sized through the control socket)\n"
    "  --vsock CID,PATH     virtio-vsock with guest CID, host unix socket PATH\n"
    "  --net TAP[,mac=MAC]  virtio-net on tap interface TAP\n"
    "  --fs TAG,SOCKET      virtio-fs: guest tag TAG, virtiofsd at SOCKET (repeatable)\n"
    "  --api-socket PATH    control socket (JSON: pause, resume, stop, status, memory)\n"
    "  --reboot-exit N      exit status when the guest reboots (default 0)\n"
    "  --config FILE        JSON configuration (flags after it override it)\n"
    "  --config-fd N        JSON configuration read from fd N\n"
    "  --log-level LEVEL    error, warn, info (default), debug\n"
    "  --no-seccomp         debugging: no seccomp filter (capabilities are still dropped)\n"
    "exit status: 0 poweroff/stop, 1 VMM error, 2 guest panic, 3 guest crash\n";

enum {
	OPT_KERNEL = 256,
	OPT_INITRD,
	OPT_CMDLINE,
	OPT_MEM,
	OPT_CPUS,
	OPT_CONSOLE,
	OPT_DISK,
	OPT_RNG,
	OPT_BALLOON,
	OPT_VSOCK,
	OPT_NET,
	OPT_API,
	OPT_REBOOT,
	OPT_CONFIG,
	OPT_CONFIG_FD,
	OPT_LOG,
	OPT_NO_SECCOMP,
	OPT_FS,
	OPT_HELP,
};

static const struct option options[] = {
    {"kernel", required_argument, NULL, OPT_KERNEL},
    {"initrd", required_argument, NULL, OPT_INITRD},
    {"cmdline", required_argument, NULL, OPT_CMDLINE},
    {"mem", required_argument, NULL, OPT_MEM},
    {"cpus", required_argument, NULL, OPT_CPUS},
    {"console", required_argument, NULL, OPT_CONSOLE},
    {"disk", required_argument, NULL, OPT_DISK},
    {"rng", no_argument, NULL, OPT_RNG},
    {"balloon", no_argument, NULL, OPT_BALLOON},
    {"vsock", required_argument, NULL, OPT_VSOCK},
    {"net", required_argument, NULL, OPT_NET},
    {"api-socket", required_argument, NULL, OPT_API},
    {"reboot-exit", required_argument, NULL, OPT_REBOOT},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"config-fd", required_argument, NULL, OPT_CONFIG_FD},
    {"log-level", required_argument, NULL, OPT_LOG},
    {"no-seccomp", no_argument, NULL, OPT_NO_SECCOMP},
    {"fs", required_argument, NULL, OPT_FS},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* Strict unsigned parse within [min, max]; -EINVAL otherwise. */
static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	if (!s[0] || s[0] == '-')
		return -EINVAL;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_disk(char *arg, struct vmm_config *cfg)
{
	if (cfg->n_disks >= VMM_MAX_DISKS)
		return fprintf(stderr, "hull-vmm: --disk: at most %d disks\n", VMM_MAX_DISKS),
		       -EINVAL;
	struct vmm_disk *d = &cfg->disks[cfg->n_disks];
	char *save, *tok = strtok_r(arg, ",", &save);
	if (!tok || !tok[0])
		return fprintf(stderr, "hull-vmm: --disk: missing path\n"), -EINVAL;
	d->path = tok;
	while ((tok = strtok_r(NULL, ",", &save))) {
		if (strcmp(tok, "ro") == 0)
			d->read_only = true;
		else if (strcmp(tok, "rw") == 0)
			d->read_only = false;
		else if (strncmp(tok, "serial=", 7) == 0 && strlen(tok + 7) <= 20)
			d->serial = tok + 7;
		else
			return fprintf(stderr,
				       "hull-vmm: --disk: unknown option '%s' (ro, rw, serial=ID "
				       "of at most 20 bytes)\n",
				       tok),
			       -EINVAL;
	}
	cfg->n_disks++;
	return 0;
}

static int parse_vsock(char *arg, struct vmm_config *cfg)
{
	char *comma = strchr(arg, ',');
	uint64_t cid;
	if (!comma || !comma[1])
		return fprintf(stderr, "hull-vmm: --vsock: expected CID,PATH\n"), -EINVAL;
	*comma = '\0';
	if (parse_u64(arg, 3, UINT32_MAX - 1, &cid) < 0)
		return fprintf(stderr, "hull-vmm: --vsock: bad guest CID '%s' (3..%u)\n", arg,
			       UINT32_MAX - 1),
		       -EINVAL;
	cfg->vsock_cid = cid;
	cfg->vsock_uds = comma + 1;
	return 0;
}

static int parse_fs(char *arg, struct vmm_config *cfg)
{
	char *comma = strchr(arg, ',');
	if (cfg->n_fs >= VMM_MAX_FS)
		return fprintf(stderr, "hull-vmm: --fs: at most %d\n", VMM_MAX_FS), -EINVAL;
	if (!comma || comma == arg || !comma[1] || comma - arg > 36)
		return fprintf(stderr, "hull-vmm: --fs: expected TAG,SOCKET (TAG 1-36 bytes)\n"),
		       -EINVAL;
	*comma = '\0';
	cfg->fs[cfg->n_fs].tag = arg;
	cfg->fs[cfg->n_fs].socket = comma + 1;
	cfg->n_fs++;
	return 0;
}

static int load_config(int fd, const char *what, struct vmm_config *cfg, void **owned)
{
	char *json = NULL;
	size_t len = 0;
	char err[256];
	int r;
	if (fd >= 0) {
		/* A pipe from vmm_spawn(): read to EOF. */
		size_t cap = 0;
		for (;;) {
			if (len + 4096 > cap) {
				cap = cap ? cap * 2 : 8192;
				if (cap > (1u << 20))
					return fprintf(stderr, "hull-vmm: %s: too large\n", what),
					       -E2BIG;
				char *n = realloc(json, cap + 1);
				if (!n)
					return free(json), -ENOMEM;
				json = n;
			}
			ssize_t n = read(fd, json + len, cap - len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				r = -errno;
				free(json);
				return fprintf(stderr, "hull-vmm: %s: %s\n", what, strerror(-r)), r;
			}
			if (n == 0)
				break;
			len += (size_t)n;
		}
		json[len] = '\0';
	} else if ((r = fd_read_file(what, &json, &len, 1u << 20)) < 0) {
		return fprintf(stderr, "hull-vmm: --config %s: %s\n", what, strerror(-r)), r;
	}
	r = vmm_config_parse(json, len, cfg, owned, err, sizeof(err));
	free(json);
	if (r < 0)
		fprintf(stderr, "hull-vmm: config %s: %s\n", what, err);
	return r;
}

static int parse_option(int opt, char *arg, struct vmm_config *cfg, void **owned)
{
	uint64_t v;
	switch (opt) {
	case OPT_KERNEL:
		cfg->kernel = arg;
		return 0;
	case OPT_INITRD:
		cfg->initrd = arg;
		return 0;
	case OPT_CMDLINE:
		cfg->cmdline = arg;
		return 0;
	case OPT_MEM:
		if (parse_u64(arg, 16, 1u << 20, &v) < 0)
			break;
		cfg->mem_mib = (uint32_t)v;
		return 0;
	case OPT_CPUS:
		if (parse_u64(arg, 1, 64, &v) < 0)
			break;
		cfg->vcpus = (uint32_t)v;
		return 0;
	case OPT_CONSOLE:
		if (strcmp(arg, "stdio") == 0) {
			cfg->console = VMM_CONSOLE_STDIO;
		} else if (strcmp(arg, "off") == 0) {
			cfg->console = VMM_CONSOLE_OFF;
		} else if (strncmp(arg, "file:", 5) == 0 && arg[5]) {
			cfg->console = VMM_CONSOLE_FILE;
			cfg->console_path = arg + 5;
		} else {
			break;
		}
		return 0;
	case OPT_DISK:
		return parse_disk(arg, cfg);
	case OPT_RNG:
		cfg->rng = true;
		return 0;
	case OPT_BALLOON:
		cfg->balloon = true;
		return 0;
	case OPT_VSOCK:
		return parse_vsock(arg, cfg);
	case OPT_NET: {
		char *comma = strchr(arg, ',');
		uint8_t mac[6];
		if (comma) {
			*comma = '\0';
			if (strncmp(comma + 1, "mac=", 4) != 0 ||
			    vmm_mac_parse(comma + 5, mac) < 0) {
				fprintf(stderr,
					"hull-vmm: --net: expected TAP[,mac=52:54:00:12:34:56]\n");
				return -EINVAL;
			}
			cfg->net_mac = comma + 5;
		}
		if (!arg[0] || strlen(arg) >= IFNAMSIZ) {
			fprintf(stderr, "hull-vmm: --net: bad tap name '%s' (1-%d bytes)\n", arg,
				IFNAMSIZ - 1);
			return -EINVAL;
		}
		cfg->net_tap = arg;
		return 0;
	}
	case OPT_API:
		cfg->api_socket = arg;
		return 0;
	case OPT_REBOOT:
		if (parse_u64(arg, 0, 255, &v) < 0)
			break;
		cfg->reboot_exit = (int)v;
		return 0;
	case OPT_CONFIG:
		return load_config(-1, arg, cfg, owned);
	case OPT_CONFIG_FD:
		if (parse_u64(arg, 0, INT32_MAX, &v) < 0)
			break;
		return load_config((int)v, "--config-fd", cfg, owned);
	case OPT_LOG:
		cfg->log_level = arg;
		return 0;
	case OPT_NO_SECCOMP:
		cfg->no_seccomp = true;
		return 0;
	case OPT_FS:
		return parse_fs(arg, cfg);
	}
	return -EINVAL;
}

int main(int argc, char **argv)
{
	struct vmm_config cfg = {.size = sizeof(cfg)};
	void *owned[8] = {NULL};
	unsigned n_owned = 0;
	int opt;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	vmm_start_ns = (uint64_t)t0.tv_sec * 1000000000ull + (uint64_t)t0.tv_nsec;
	log_set_ident("hull-vmm");
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (opt == 'h' || opt == OPT_HELP) {
			fputs(usage, stdout);
			return 0;
		}
		if (opt == '?') {
			fputs(usage, stderr);
			return VMM_STATUS_ERROR;
		}
		void **slot = n_owned < 8 ? &owned[n_owned] : NULL;
		if ((opt == OPT_CONFIG || opt == OPT_CONFIG_FD) && !slot) {
			fprintf(stderr, "hull-vmm: too many --config options\n");
			return VMM_STATUS_ERROR;
		}
		int r = parse_option(opt, optarg, &cfg, slot);
		if (opt == OPT_CONFIG || opt == OPT_CONFIG_FD)
			n_owned++;
		if (r < 0) {
			if (r == -EINVAL && opt != OPT_CONFIG && opt != OPT_CONFIG_FD &&
			    opt != OPT_DISK && opt != OPT_VSOCK && opt != OPT_NET && opt != OPT_FS)
				fprintf(stderr, "hull-vmm: invalid value '%s' for --%s\n", optarg,
					options[opt - OPT_KERNEL].name);
			return VMM_STATUS_ERROR;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "hull-vmm: unexpected argument '%s'\n%s", argv[optind], usage);
		return VMM_STATUS_ERROR;
	}
	if (!cfg.kernel) {
		fprintf(stderr, "hull-vmm: --kernel is required\n%s", usage);
		return VMM_STATUS_ERROR;
	}
	if (cfg.log_level) {
		enum log_level l;
		if (log_level_parse(cfg.log_level, &l) < 0) {
			fprintf(stderr, "hull-vmm: invalid value '%s' for --log-level\n",
				cfg.log_level);
			return VMM_STATUS_ERROR;
		}
		log_set_level(l);
	}
	int status = vmm_run(&cfg);
	for (unsigned i = 0; i < n_owned; i++)
		vmm_config_free_strings(owned[i]);
	return status;
}
