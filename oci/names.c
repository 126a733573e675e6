// SPDX-License-Identifier: Apache-2.0
/*
 * Name <-> number tables for the OCI spec's enumerations: capabilities
 * (capabilities(7)), namespaces, rlimits (getrlimit(2)), seccomp actions,
 * comparison operators, architectures and filter flags (config-linux.md
 * "Seccomp"), I/O priority classes and personality domains.
 */
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/personality.h>
#include <sys/resource.h>

#include "lib/cleanup.h"
#include "internal.h"

/* Indexed by capability number (linux/capability.h). */
static const char *const cap_names[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

int oci_cap_parse(const char *name)
{
	if (!name)
		return -EINVAL;
	/* runc and crun accept "cap_chown" and "CHOWN" too. */
	const char *bare = strncasecmp(name, "CAP_", 4) == 0 ? name + 4 : name;
	for (size_t i = 0; i < ARRAY_SIZE(cap_names); i++)
		if (strcasecmp(cap_names[i] + 4, bare) == 0)
			return (int)i;
	return -EINVAL;
}

const char *oci_cap_name(int cap)
{
	if (cap < 0 || (size_t)cap >= ARRAY_SIZE(cap_names))
		return NULL;
	return cap_names[cap];
}

int oci_cap_last(void)
{
	return (int)ARRAY_SIZE(cap_names) - 1;
}

static const struct {
	const char *name;
	const char *proc;
	int clone_flag;
} ns_table[OCI_NS_COUNT] = {
    [OCI_NS_PID] = {"pid", "pid", CLONE_NEWPID},
    [OCI_NS_NETWORK] = {"network", "net", CLONE_NEWNET},
    [OCI_NS_MOUNT] = {"mount", "mnt", CLONE_NEWNS},
    [OCI_NS_IPC] = {"ipc", "ipc", CLONE_NEWIPC},
    [OCI_NS_UTS] = {"uts", "uts", CLONE_NEWUTS},
    [OCI_NS_USER] = {"user", "user", CLONE_NEWUSER},
    [OCI_NS_CGROUP] = {"cgroup", "cgroup", CLONE_NEWCGROUP},
    [OCI_NS_TIME] = {"time", "time", 0x00000080 /* CLONE_NEWTIME, not in older libcs */},
};

int oci_ns_parse(const char *name)
{
	for (int i = 0; i < OCI_NS_COUNT; i++)
		if (name && strcmp(ns_table[i].name, name) == 0)
			return i;
	return -EINVAL;
}

const char *oci_ns_name(enum oci_ns_type type)
{
	return (unsigned)type < OCI_NS_COUNT ? ns_table[type].name : NULL;
}

const char *oci_ns_proc_name(enum oci_ns_type type)
{
	return (unsigned)type < OCI_NS_COUNT ? ns_table[type].proc : NULL;
}

int oci_ns_clone_flag(enum oci_ns_type type)
{
	return (unsigned)type < OCI_NS_COUNT ? ns_table[type].clone_flag : 0;
}

static const char *const action_names[] = {
    [OCI_SECCOMP_KILL] = "SCMP_ACT_KILL",
    [OCI_SECCOMP_KILL_PROCESS] = "SCMP_ACT_KILL_PROCESS",
    [OCI_SECCOMP_KILL_THREAD] = "SCMP_ACT_KILL_THREAD",
    [OCI_SECCOMP_TRAP] = "SCMP_ACT_TRAP",
    [OCI_SECCOMP_ERRNO] = "SCMP_ACT_ERRNO",
    [OCI_SECCOMP_TRACE] = "SCMP_ACT_TRACE",
    [OCI_SECCOMP_ALLOW] = "SCMP_ACT_ALLOW",
    [OCI_SECCOMP_LOG] = "SCMP_ACT_LOG",
    [OCI_SECCOMP_NOTIFY] = "SCMP_ACT_NOTIFY",
};

int oci_seccomp_action_parse(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(action_names); i++)
		if (name && strcmp(action_names[i], name) == 0)
			return (int)i;
	return -EINVAL;
}

const char *oci_seccomp_action_name(enum oci_seccomp_action action)
{
	return (unsigned)action < ARRAY_SIZE(action_names) ? action_names[action] : NULL;
}

static const char *const op_names[] = {
    [OCI_SECCOMP_OP_NE] = "SCMP_CMP_NE",
    [OCI_SECCOMP_OP_LT] = "SCMP_CMP_LT",
    [OCI_SECCOMP_OP_LE] = "SCMP_CMP_LE",
    [OCI_SECCOMP_OP_EQ] = "SCMP_CMP_EQ",
    [OCI_SECCOMP_OP_GE] = "SCMP_CMP_GE",
    [OCI_SECCOMP_OP_GT] = "SCMP_CMP_GT",
    [OCI_SECCOMP_OP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
};

int oci_seccomp_op_parse(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(op_names); i++)
		if (name && strcmp(op_names[i], name) == 0)
			return (int)i;
	return -EINVAL;
}

const char *oci_seccomp_op_name(enum oci_seccomp_op op)
{
	return (unsigned)op < ARRAY_SIZE(op_names) ? op_names[op] : NULL;
}

/* The architectures config-linux.md lists (libseccomp's SCMP_ARCH_* names). */
static const char *const arch_names[] = {
    "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",     "SCMP_ARCH_LOONGARCH64",
};

bool oci_seccomp_arch_known(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(arch_names); i++)
		if (name && strcmp(arch_names[i], name) == 0)
			return true;
	return false;
}

static const char *const flag_names[] = {
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
};

int oci_seccomp_flag_parse(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(flag_names); i++)
		if (name && strcmp(flag_names[i], name) == 0)
			return 1 << i;
	return -EINVAL;
}

static const struct {
	const char *name;
	int resource;
} rlimit_table[] = {
    {"RLIMIT_CPU", RLIMIT_CPU},           {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},         {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},         {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},   {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},       {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},     {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

int oci_rlimit_parse(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(rlimit_table); i++)
		if (name && strcmp(rlimit_table[i].name, name) == 0)
			return rlimit_table[i].resource;
	return -EINVAL;
}

int oci_ioprio_class_parse(const char *name)
{
	static const char *const classes[] = {"IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE",
					      "IOPRIO_CLASS_IDLE"};
	for (size_t i = 0; i < ARRAY_SIZE(classes); i++)
		if (name && strcmp(classes[i], name) == 0)
			return (int)i + 1;
	return -EINVAL;
}

int oci_personality_parse(const char *domain, unsigned long *persona)
{
	if (domain && strcmp(domain, "LINUX") == 0)
		*persona = PER_LINUX;
	else if (domain && strcmp(domain, "LINUX32") == 0)
		*persona = PER_LINUX32;
	else
		return -EINVAL;
	return 0;
}

const char *oci_map_get(const struct oci_map *map, const char *key)
{
	for (size_t i = 0; map && i < map->n; i++)
		if (strcmp(map->items[i].key, key) == 0)
			return map->items[i].value;
	return NULL;
}

const char *oci_seccomp_arch_name(size_t i)
{
	return i < ARRAY_SIZE(arch_names) ? arch_names[i] : NULL;
}

const char *oci_seccomp_flag_name(size_t i)
{
	return i < ARRAY_SIZE(flag_names) ? flag_names[i] : NULL;
}
