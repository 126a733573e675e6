/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The OCI runtime spec (config.json, v1.1 as runc 1.1 and crun read it) as plain
 * C structs. Nothing of the JSON library leaks out of oci/.
 *
 * Conventions:
 * - Strings are NUL-terminated and owned by the struct; NULL means "absent".
 * - Arrays are a pointer plus a count (`foo` and `foo_len`); string lists are
 *   struct oci_strv whose items are also NULL-terminated (ready for execve).
 * - Optional scalars carry a `has_` flag, since 0 is a valid value for many.
 * - Optional sub-objects are pointers, NULL when the JSON had none.
 * - Unknown JSON fields are ignored (forward compatibility, as runc does).
 *
 * Parsing checks structure, types, ranges and required fields; errors name the
 * JSON path: "process.args[2]: expected a string".  oci_spec_validate() adds the
 * semantic checks (absolute paths, duplicate namespaces, mappings need a user
 * namespace, ...).
 */
#ifndef HULL_OCI_SPEC_H
#define HULL_OCI_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct err;

#define OCI_VERSION   "1.1.0"     /* the spec version we write */
#define OCI_MAX_SIZE  (16u << 20) /* config.json / process.json larger than this is refused */
#define OCI_MAX_DEPTH 64          /* JSON nesting deeper than this is refused */
/* More array elements + object members than this in one document is refused:
 * the parse tree costs ~100 bytes per value, and the guest has little memory.
 * Docker's seccomp profile, the largest real-world part, is ~1,000. */
#define OCI_MAX_VALUES 250000

/* A list of strings; items[n] == NULL. */
struct oci_strv {
	char **items;
	size_t n;
};

/* Ordered key/value list (annotations, sysctl, unified); keys are unique. */
struct oci_kv {
	char *key;
	char *value;
};
struct oci_map {
	struct oci_kv *items;
	size_t n;
};

/* ---- process ---------------------------------------------------------------------------- */

/* One capability set: canonical names ("CAP_CHOWN") plus their numbers. */
struct oci_capset {
	struct oci_strv names; /* "CAP_CHOWN", ... */
	int *nums;             /* nums[i] is the number of names.items[i] */
	uint64_t mask;         /* bit (1 << num) for every entry */
};

struct oci_capabilities {
	struct oci_capset bounding;
	struct oci_capset effective;
	struct oci_capset inheritable;
	struct oci_capset permitted;
	struct oci_capset ambient;
};

struct oci_rlimit {
	char *type;    /* "RLIMIT_NOFILE" */
	int resource;  /* RLIMIT_NOFILE */
	uint64_t hard; /* UINT64_MAX is RLIM_INFINITY */
	uint64_t soft;
};

struct oci_user {
	uint32_t uid;
	uint32_t gid;
	bool has_umask;
	uint32_t umask;
	uint32_t *additional_gids;
	size_t additional_gids_len;
	char *username; /* accepted, unused on Linux */
};

/* process.ioPriority (v1.1). */
struct oci_io_priority {
	char *class_name; /* "IOPRIO_CLASS_RT" | "IOPRIO_CLASS_BE" | "IOPRIO_CLASS_IDLE" */
	int class_num;    /* IOPRIO_CLASS_* value: 1 RT, 2 BE, 3 IDLE */
	int priority;     /* 0..7 */
};

struct oci_process {
	bool terminal;
	bool has_console_size;
	uint32_t console_height;
	uint32_t console_width;
	struct oci_user user;
	struct oci_strv args;
	struct oci_strv env;
	char *cwd;
	struct oci_capabilities *capabilities; /* NULL: none given */
	struct oci_rlimit *rlimits;
	size_t rlimits_len;
	bool no_new_privileges;
	bool has_oom_score_adj;
	int oom_score_adj;
	char *apparmor_profile;
	char *selinux_label;
	struct oci_io_priority *io_priority; /* NULL: none given */
};

/* ---- root, mounts ----------------------------------------------------------------------- */

struct oci_root {
	char *path; /* relative paths are relative to the bundle */
	bool readonly;
};

struct oci_idmap {
	uint32_t container_id;
	uint32_t host_id;
	uint32_t size;
};

/* Extra, non-MS_* mount options (runc's extFlags). */
#define OCI_MOUNT_EXT_TMPCOPYUP (1u << 0) /* tmpfs: copy the old directory contents up */
#define OCI_MOUNT_EXT_IDMAP     (1u << 1) /* "idmap": id-mapped bind mount */
#define OCI_MOUNT_EXT_RIDMAP    (1u << 2) /* "ridmap": recursive id-mapped bind mount */

/*
 * Mount options decoded the way runc's parseMountOptions does: flags to set,
 * flags explicitly cleared ("rw", "suid", "dev", "exec", "atime", ...), one
 * propagation change applied after the mount, recursive mount_setattr(2)
 * attributes ("rro", "rnosuid", ...), and the remaining options joined with
 * commas as the filesystem data string ("mode=755,size=65536k").
 */
struct oci_mount_opts {
	unsigned long flags;       /* MS_RDONLY, MS_NOSUID, MS_BIND, MS_REC, MS_REMOUNT, ... */
	unsigned long clear;       /* MS_* flags an option explicitly turned off */
	unsigned long propagation; /* 0 or MS_PRIVATE/MS_SHARED/MS_SLAVE/MS_UNBINDABLE [|MS_REC];
				      the last propagation option wins */
	uint64_t attr_set;         /* MOUNT_ATTR_* for "r<opt>" options, applied recursively */
	uint64_t attr_clr;
	uint32_t ext; /* OCI_MOUNT_EXT_* */
	char *data;   /* NULL when there is no data option */
};

struct oci_mount {
	char *destination; /* absolute (checked by oci_spec_validate) */
	char *type;        /* may be NULL: "bind" is implied by a bind option */
	char *source;
	struct oci_strv options;
	struct oci_idmap *uid_mappings;
	size_t uid_mappings_len;
	struct oci_idmap *gid_mappings;
	size_t gid_mappings_len;
	struct oci_mount_opts opts; /* decoded from options */
};

/* ---- hooks ------------------------------------------------------------------------------ */

struct oci_hook {
	char *path;
	struct oci_strv args;
	struct oci_strv env;
	bool has_timeout;
	int timeout; /* seconds, > 0 */
};

struct oci_hook_list {
	struct oci_hook *items;
	size_t n;
};

struct oci_hooks {
	struct oci_hook_list prestart; /* deprecated but still run, as runc does */
	struct oci_hook_list create_runtime;
	struct oci_hook_list create_container;
	struct oci_hook_list start_container;
	struct oci_hook_list poststart;
	struct oci_hook_list poststop;
};

/* ---- linux ------------------------------------------------------------------------------ */

enum oci_ns_type {
	OCI_NS_PID = 0,
	OCI_NS_NETWORK,
	OCI_NS_MOUNT,
	OCI_NS_IPC,
	OCI_NS_UTS,
	OCI_NS_USER,
	OCI_NS_CGROUP,
	OCI_NS_TIME,
	OCI_NS_COUNT,
};

struct oci_namespace {
	enum oci_ns_type type;
	int clone_flag; /* CLONE_NEWPID, ... */
	char *path;     /* NULL: create a new one; else setns() into this one */
};

/* linux.devices[]: device nodes to create in the container. */
struct oci_device {
	char *path;
	char type;      /* 'c', 'b', 'u' (unbuffered char) or 'p' (fifo) */
	bool has_major; /* required for c, b, u (checked by oci_spec_validate) */
	int64_t major;
	bool has_minor;
	int64_t minor;
	bool has_file_mode;
	uint32_t file_mode; /* permission bits, e.g. 0666 */
	bool has_uid;
	uint32_t uid;
	bool has_gid;
	uint32_t gid;
};

/* linux.resources.devices[]: the device cgroup allow/deny list. */
struct oci_device_rule {
	bool allow;
	char type; /* 'a' (also when absent), 'c' or 'b' */
	bool has_major;
	int64_t major; /* absent or -1 means any ("*") */
	bool has_minor;
	int64_t minor;
	char *access; /* subset of "rwm"; NULL means "rwm" */
};

struct oci_memory {
	bool has_limit;
	int64_t limit; /* bytes, -1 unlimited */
	bool has_reservation;
	int64_t reservation;
	bool has_swap;
	int64_t swap; /* memory+swap, as in cgroup v1 semantics; -1 unlimited */
	bool has_kernel;
	int64_t kernel; /* deprecated, accepted and ignored */
	bool has_kernel_tcp;
	int64_t kernel_tcp;
	bool has_swappiness;
	uint64_t swappiness; /* 0..100 */
	bool has_disable_oom_killer;
	bool disable_oom_killer;
	bool has_use_hierarchy;
	bool use_hierarchy;
};

struct oci_cpu {
	bool has_shares;
	uint64_t shares;
	bool has_quota;
	int64_t quota; /* µs per period, -1 unlimited */
	bool has_burst;
	uint64_t burst;
	bool has_period;
	uint64_t period;
	bool has_realtime_runtime;
	int64_t realtime_runtime;
	bool has_realtime_period;
	uint64_t realtime_period;
	char *cpus; /* "0-3,7" */
	char *mems;
	bool has_idle;
	int64_t idle;
};

struct oci_pids {
	int64_t limit; /* <= 0 means unlimited */
};

struct oci_blkio_weight_device {
	int64_t major;
	int64_t minor;
	bool has_weight;
	uint16_t weight;
	bool has_leaf_weight;
	uint16_t leaf_weight;
};

struct oci_blkio_throttle {
	int64_t major;
	int64_t minor;
	uint64_t rate;
};

struct oci_blkio {
	bool has_weight;
	uint16_t weight; /* 10..1000 */
	bool has_leaf_weight;
	uint16_t leaf_weight;
	struct oci_blkio_weight_device *weight_device;
	size_t weight_device_len;
	struct oci_blkio_throttle *throttle_read_bps;
	size_t throttle_read_bps_len;
	struct oci_blkio_throttle *throttle_write_bps;
	size_t throttle_write_bps_len;
	struct oci_blkio_throttle *throttle_read_iops;
	size_t throttle_read_iops_len;
	struct oci_blkio_throttle *throttle_write_iops;
	size_t throttle_write_iops_len;
};

struct oci_hugepage_limit {
	char *page_size; /* "2MB", "1GB" */
	uint64_t limit;
};

struct oci_net_priority {
	char *name;
	uint32_t priority;
};

struct oci_network {
	bool has_class_id;
	uint32_t class_id;
	struct oci_net_priority *priorities;
	size_t priorities_len;
};

struct oci_rdma {
	char *device; /* the map key in the JSON */
	bool has_hca_handles;
	uint32_t hca_handles;
	bool has_hca_objects;
	uint32_t hca_objects;
};

struct oci_resources {
	struct oci_device_rule *devices;
	size_t devices_len;
	struct oci_memory *memory;  /* NULL: not given */
	struct oci_cpu *cpu;        /* NULL: not given */
	struct oci_pids *pids;      /* NULL: not given */
	struct oci_blkio *block_io; /* NULL: not given */
	struct oci_hugepage_limit *hugepage_limits;
	size_t hugepage_limits_len;
	struct oci_network *network; /* NULL: not given */
	struct oci_rdma *rdma;
	size_t rdma_len;
	struct oci_map unified; /* cgroup v2 file name -> value */
};

enum oci_seccomp_action {
	OCI_SECCOMP_KILL = 0, /* SCMP_ACT_KILL (== KILL_THREAD) */
	OCI_SECCOMP_KILL_PROCESS,
	OCI_SECCOMP_KILL_THREAD,
	OCI_SECCOMP_TRAP,
	OCI_SECCOMP_ERRNO,
	OCI_SECCOMP_TRACE,
	OCI_SECCOMP_ALLOW,
	OCI_SECCOMP_LOG,
	OCI_SECCOMP_NOTIFY,
};

enum oci_seccomp_op {
	OCI_SECCOMP_OP_NE = 0,
	OCI_SECCOMP_OP_LT,
	OCI_SECCOMP_OP_LE,
	OCI_SECCOMP_OP_EQ,
	OCI_SECCOMP_OP_GE,
	OCI_SECCOMP_OP_GT,
	OCI_SECCOMP_OP_MASKED_EQ,
};

struct oci_seccomp_arg {
	uint32_t index; /* 0..5 */
	uint64_t value;
	uint64_t value_two;
	enum oci_seccomp_op op;
};

struct oci_seccomp_syscall {
	struct oci_strv names;
	enum oci_seccomp_action action;
	bool has_errno_ret;
	uint32_t errno_ret; /* for ERRNO (default EPERM) and TRACE */
	struct oci_seccomp_arg *args;
	size_t args_len;
};

#define OCI_SECCOMP_FLAG_TSYNC              (1u << 0) /* SECCOMP_FILTER_FLAG_TSYNC */
#define OCI_SECCOMP_FLAG_LOG                (1u << 1) /* SECCOMP_FILTER_FLAG_LOG */
#define OCI_SECCOMP_FLAG_SPEC_ALLOW         (1u << 2) /* SECCOMP_FILTER_FLAG_SPEC_ALLOW */
#define OCI_SECCOMP_FLAG_WAIT_KILLABLE_RECV (1u << 3) /* SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV */

struct oci_seccomp {
	enum oci_seccomp_action default_action;
	bool has_default_errno_ret;
	uint32_t default_errno_ret;
	struct oci_strv architectures; /* "SCMP_ARCH_X86_64", ... (validated names) */
	struct oci_strv flags;         /* as written */
	uint32_t flag_bits;            /* OCI_SECCOMP_FLAG_* */
	char *listener_path;
	char *listener_metadata;
	struct oci_seccomp_syscall *syscalls;
	size_t syscalls_len;
};

struct oci_personality {
	char *domain;          /* "LINUX" | "LINUX32" */
	unsigned long persona; /* PER_LINUX or PER_LINUX32 */
	struct oci_strv flags;
};

struct oci_linux {
	struct oci_namespace *namespaces;
	size_t namespaces_len;
	struct oci_idmap *uid_mappings;
	size_t uid_mappings_len;
	struct oci_idmap *gid_mappings;
	size_t gid_mappings_len;
	struct oci_device *devices;
	size_t devices_len;
	char *cgroups_path;
	struct oci_resources *resources; /* NULL: not given */
	struct oci_map sysctl;
	struct oci_seccomp *seccomp;            /* NULL: no seccomp */
	char *rootfs_propagation;               /* as written, NULL when absent */
	unsigned long rootfs_propagation_flags; /* MS_PRIVATE|MS_REC, ...; 0 when absent */
	struct oci_strv masked_paths;
	struct oci_strv readonly_paths;
	char *mount_label;
	struct oci_personality *personality; /* NULL: not given */
	bool has_intel_rdt;                  /* accepted and ignored */
};

/* ---- the whole config ------------------------------------------------------------------- */

struct oci_spec {
	char *oci_version;
	struct oci_process *process; /* NULL: none (allowed at create, needed at start) */
	struct oci_root *root;
	char *hostname;
	char *domainname;
	struct oci_mount *mounts;
	size_t mounts_len;
	struct oci_hooks *hooks; /* NULL: no hooks */
	struct oci_map annotations;
	/* `linux` is a predefined macro in GNU C, hence the underscore. */
	struct oci_linux *linux_; /* NULL: no "linux" object */
};

/* The state of a container as `runc state` prints it. All fields are borrowed. */
struct oci_state {
	const char *oci_version; /* NULL: OCI_VERSION */
	const char *id;
	const char *status; /* creating | created | running | stopped | paused */
	int pid;            /* 0 when there is no process (still written, as runc does) */
	const char *bundle;
	const char *rootfs;                /* NULL: omitted */
	const char *created;               /* RFC 3339, NULL: omitted */
	const char *owner;                 /* NULL: "" as runc writes it */
	const struct oci_map *annotations; /* NULL or empty: omitted */
};

/* ---- functions -------------------------------------------------------------------------- */

/*
 * Parse config.json bytes (need not be NUL-terminated). Refuses input larger
 * than OCI_MAX_SIZE (-EFBIG), with more than OCI_MAX_VALUES values (-E2BIG),
 * nested deeper than OCI_MAX_DEPTH, containing NUL bytes or comments, or that
 * is not valid UTF-8 JSON. Checks types, ranges and required fields.
 * Returns 0 and *out (free with oci_spec_free), or -errno with *err set.
 */
int oci_spec_parse(const char *json, size_t len, struct oci_spec **out, struct err **err);

/* Read and parse BUNDLE/config.json; errors are prefixed "config.json: ". */
int oci_spec_load(const char *bundle_dir, struct oci_spec **out, struct err **err);

void oci_spec_free(struct oci_spec *spec);

/*
 * Semantic checks of a parsed spec: ociVersion 1.x, root present with a path,
 * process args/cwd, absolute mount destinations and cwd, duplicate namespace
 * types, id mappings only with a user namespace, sysctls that need their
 * namespace, rlimit duplicates, device paths, seccomp sanity, ...
 */
int oci_spec_validate(const struct oci_spec *spec, struct err **err);

/* A standalone process object (`runc exec -p process.json`, or ExecProcess).
 * Field errors are named from the object's root ("args[0]: ..."). */
int oci_process_parse(const char *json, size_t len, struct oci_process **out, struct err **err);
void oci_process_free(struct oci_process *p);
/* Same checks for a process as oci_spec_validate makes for spec->process. */
int oci_process_validate(const struct oci_process *p, struct err **err);

/*
 * A standalone LinuxResources object (`runc update -r resources.json`, or the
 * resources of an Update request). Errors name fields from the object's root
 * ("memory.limit: ..."); validation messages use the linux.resources. prefix.
 */
int oci_resources_parse(const char *json, size_t len, struct oci_resources **out, struct err **err);
void oci_resources_free(struct oci_resources *r);
int oci_resources_validate(const struct oci_resources *r, struct err **err);
int oci_resources_to_json(const struct oci_resources *r, char **json, size_t *len,
			  struct err **err);

/*
 * Serialize (tab-indented like `runc spec`). oci_spec_parse(oci_spec_to_json(s))
 * gives back an equal spec. *json is NUL-terminated, free() it.
 */
int oci_spec_to_json(const struct oci_spec *spec, char **json, size_t *len, struct err **err);
int oci_process_to_json(const struct oci_process *p, char **json, size_t *len, struct err **err);

/* The spec `runc spec` writes: busybox-style sh, default caps, mounts, namespaces,
 * masked and read-only paths. */
int oci_spec_default(struct oci_spec **out, struct err **err);

int oci_state_to_json(const struct oci_state *st, char **json, size_t *len, struct err **err);

/* `runc features` (OCI features.md): what this runtime understands. */
int oci_features_json(char **json, size_t *len, struct err **err);

/* Decode mount options as described at struct oci_mount_opts. Free with oci_mount_opts_free. */
int oci_mount_opts_parse(const struct oci_strv *options, struct oci_mount_opts *out,
			 struct err **err);
void oci_mount_opts_free(struct oci_mount_opts *opts);
/* One mount(8) flag word: "ro" -> MS_RDONLY, "rw" -> MS_RDONLY with *clear set
 * (the word clears the bit), "defaults" -> 0. -EINVAL when it is no flag word. */
int oci_mount_flag_parse(const char *name, unsigned long *flag, bool *clear);
/* A propagation word: "rprivate" -> MS_PRIVATE|MS_REC. -EINVAL when it is none. */
int oci_propagation_parse(const char *name, unsigned long *flags);

/* Capabilities: "CAP_SYS_ADMIN" -> 21, or -EINVAL when unknown. Case-insensitive,
 * "CAP_" prefix optional ("sys_admin" works too); the parser stores the
 * canonical "CAP_SYS_ADMIN" spelling. */
int oci_cap_parse(const char *name);
/* 21 -> "CAP_SYS_ADMIN", NULL when unknown. */
const char *oci_cap_name(int cap);
/* The highest capability number this library knows. */
int oci_cap_last(void);

/* Namespaces: "network" -> OCI_NS_NETWORK or -EINVAL; and back. */
int oci_ns_parse(const char *name);
const char *oci_ns_name(enum oci_ns_type type);
/* "pid" -> "pid", as in /proc/self/ns/<name> ("network" -> "net", "mount" -> "mnt"). */
const char *oci_ns_proc_name(enum oci_ns_type type);

/* Seccomp names: "SCMP_ACT_ERRNO" -> OCI_SECCOMP_ERRNO, or -EINVAL; and back. */
int oci_seccomp_action_parse(const char *name);
const char *oci_seccomp_action_name(enum oci_seccomp_action action);
int oci_seccomp_op_parse(const char *name);
const char *oci_seccomp_op_name(enum oci_seccomp_op op);

/* Rlimits: "RLIMIT_NOFILE" -> RLIMIT_NOFILE, or -EINVAL. */
int oci_rlimit_parse(const char *name);

/* Look up a key in an oci_map; NULL when absent. */
const char *oci_map_get(const struct oci_map *map, const char *key);

/* Free a string list's items (not the struct itself). */
void oci_strv_free(struct oci_strv *v);

/* Scope-bound cleanup: `_cleanup_oci_spec_ struct oci_spec *s = NULL;` */
static inline void oci_spec_freep(struct oci_spec **s)
{
	oci_spec_free(*s);
}
static inline void oci_process_freep(struct oci_process **p)
{
	oci_process_free(*p);
}
#define _cleanup_oci_spec_    __attribute__((cleanup(oci_spec_freep)))
#define _cleanup_oci_process_ __attribute__((cleanup(oci_process_freep)))

#endif
