/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull-vmm's embedding API: describe a microVM in a struct vmm_config and get
 * a running hull-vmm process back, without building command lines by hand.
 *
 * The config is an option struct: set .size = sizeof(struct vmm_config) so
 * that later versions with more fields can tell old callers apart. Zeroed
 * fields mean "default".
 */
#ifndef HULL_VMM_VMM_H
#define HULL_VMM_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* hull-vmm's exit status, by how the VM ended. */
enum vmm_exit_status {
	VMM_STATUS_POWEROFF = 0, /* guest powered off (ACPI S5) */
	VMM_STATUS_ERROR = 1,    /* the VMM failed (bad config, KVM error, ...) */
	VMM_STATUS_PANIC = 2,    /* guest kernel panic (pvpanic) */
	VMM_STATUS_CRASH = 3,    /* triple fault or KVM internal error */
				 /* reboot: vmm_config.reboot_exit (default 0); SIGTERM/stop: 0 */
};

enum vmm_console_mode {
	VMM_CONSOLE_STDIO = 0, /* guest console on hull-vmm's stdout (input from stdin) */
	VMM_CONSOLE_FILE,      /* appended to console_path */
	VMM_CONSOLE_OFF,
};

struct vmm_disk {
	const char *path;
	bool read_only;
	const char *serial; /* NULL: default */
};

#define VMM_MAX_DISKS 4

/* A host directory shared by a virtiofsd (vhost-user) the caller started. */
struct vmm_fs {
	const char *tag;    /* what the guest mounts: mount -t virtiofs TAG DIR; 1-36 bytes */
	const char *socket; /* virtiofsd --socket-path */
};

#define VMM_MAX_FS 4

/* A virtio-net device on a tap the caller opened (in whatever network
 * namespace the tap lives: the pod's). The VMM needs no CAP_NET_ADMIN and
 * the tap goes away with the VMM's last reference to it. */
struct vmm_net {
	int fd;          /* an open /dev/net/tun fd after TUNSETIFF with IFF_VNET_HDR */
	const char *mac; /* "52:54:00:12:34:56"; NULL: derived from the fd number */
	uint32_t mtu;    /* offered to the guest (VIRTIO_NET_F_MTU); 0: not offered */
};

#define VMM_MAX_NETS 8

struct vmm_config {
	size_t size;         /* sizeof(struct vmm_config) */
	const char *kernel;  /* required: vmlinux or bzImage */
	const char *initrd;  /* optional */
	const char *cmdline; /* extra kernel arguments, after hull-vmm's defaults */
	uint32_t mem_mib;    /* default 128 */
	uint32_t vcpus;      /* default 1 */
	enum vmm_console_mode console;
	const char *console_path;
	struct vmm_disk disks[VMM_MAX_DISKS];
	unsigned n_disks;
	bool rng;                     /* virtio-rng */
	bool balloon;                 /* virtio-balloon (control socket: "balloon") */
	uint64_t vsock_cid;           /* 0: no vsock; else >= 3 */
	const char *vsock_uds;        /* host unix socket of the hybrid vsock */
	const char *net_tap;          /* virtio-net on this tap interface; NULL: no network */
	const char *net_mac;          /* "52:54:00:12:34:56"; NULL: derived from the tap name */
	const char *api_socket;       /* control socket path; NULL: none */
	int reboot_exit;              /* exit status for a guest reboot */
	const char *log_level;        /* error|warn|info|debug; NULL: info */
	bool no_seccomp;              /* debugging only: skip the seccomp allow-list */
	struct vmm_fs fs[VMM_MAX_FS]; /* virtio-fs devices */
	unsigned n_fs;
	struct vmm_net nets[VMM_MAX_NETS]; /* virtio-net devices on inherited tap fds */
	unsigned n_nets;
};

/* Parse a hull-vmm JSON config (the format `hull-vmm --config` reads) into
 * *cfg; strings point into *owned (free with vmm_config_free_strings).
 * Returns 0 or -EINVAL with a message naming the bad key in errbuf. */
int vmm_config_parse(const char *json, size_t len, struct vmm_config *cfg, void **owned,
		     char *errbuf, size_t errlen);
void vmm_config_free_strings(void *owned);
/* "52:54:00:12:34:56" -> bytes; -EINVAL for anything else or a multicast MAC. */
int vmm_mac_parse(const char *s, uint8_t mac[6]);
/* Serialize cfg as JSON (malloc'd, NUL-terminated). Returns 0 or -errno. */
int vmm_config_to_json(const struct vmm_config *cfg, char **out);

/* A started hull-vmm. */
struct vmm_process {
	pid_t pid;
	int stdout_fd; /* console/log output when requested, else -1 */
};

struct vmm_spawn_opts {
	size_t size;        /* sizeof(struct vmm_spawn_opts) */
	const char *binary; /* hull-vmm path; NULL: "hull-vmm" from PATH */
	int stdin_fd;       /* -1: /dev/null */
	int stdout_fd;      /* -1: /dev/null */
	int stderr_fd;      /* -1: inherit */
	/* Signal the VMM gets when the thread that spawned it exits (0: none):
	 * SIGKILL ties the VM's life to its owner, so a crashed owner leaves no
	 * VM behind. */
	int parent_death_signal;
};

/*
 * Start hull-vmm for cfg. The config travels as JSON on an inherited fd
 * (`--config-fd`), so nothing is written to disk and no command line is
 * built by hand. Returns 0 and fills *out, or -errno.
 */
int vmm_spawn(const struct vmm_config *cfg, const struct vmm_spawn_opts *opts,
	      struct vmm_process *out);

#endif
