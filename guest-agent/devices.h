/* SPDX-License-Identifier: Apache-2.0 */
/* The cgroup v2 device allow-list (an eBPF program; see devices.c). */
#ifndef HULL_AGENT_DEVICES_H
#define HULL_AGENT_DEVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

struct bpf_insn;
struct oci_resources;

struct agent_dev_rule {
	bool allow;
	char type;          /* 'a', 'c' or 'b' */
	int64_t major;      /* -1: any */
	int64_t minor;      /* -1: any */
	const char *access; /* subset of "rwm"; NULL: all */
};

/* Build the program for rules (last match wins, default deny). *out is
 * malloc'd. Exposed for tests. */
int agent_devices_program(const struct agent_dev_rule *rules, size_t n_rules, struct bpf_insn **out,
			  size_t *n_insns);
/* Attach the allow-list of res (spec rules + runc's defaults) to the cgroup.
 * Nothing to do when the spec has no device rules. */
int agent_devices_apply(const char *cgroup_dir, const struct oci_resources *res, struct err **err);

#endif
