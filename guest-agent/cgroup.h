/* SPDX-License-Identifier: Apache-2.0 */
/* cgroup v2 for containers: one directory per container under the agent's root. */
#ifndef HULL_AGENT_CGROUP_H
#define HULL_AGENT_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/err.h"

struct oci_resources;

/* Check root is a cgroup2 mount and enable every available controller in its
 * subtree_control (and in ROOT/hull). */
int agent_cgroup_root_init(const char *root, struct err **err);

/* Does the spec ask for anything a cgroup must enforce? */
bool agent_cgroup_needed(const struct oci_resources *res);

/* The cgroup dir for a container: ROOT/<cgroups_path> when the spec names a
 * relative-to-root path, else ROOT/hull/<id>. Created; *out malloc'd. */
int agent_cgroup_create(const char *root, const char *id, const char *cgroups_path, char **out,
			struct err **err);
/* Write the limits (memory.max, cpu.max, cpu.weight, pids.max, io.weight,
 * unified) into dir. Refuses when a needed controller is missing. */
int agent_cgroup_apply(const char *dir, const struct oci_resources *res, struct err **err);
int agent_cgroup_join(const char *dir, pid_t pid, struct err **err);
int agent_cgroup_freeze(const char *dir, bool frozen, struct err **err);
int agent_cgroup_kill(const char *dir, int sig);
/* rmdir, after killing what is left; waits up to ~1 s for it to empty. */
int agent_cgroup_remove(const char *dir, struct err **err);
int agent_cgroup_oom_count(const char *dir, uint64_t *out);
/* Pids in the cgroup (malloc'd array). */
int agent_cgroup_pids(const char *dir, pid_t **out, size_t *n);

struct agent_cgroup_stats {
	uint64_t cpu_usage_usec, cpu_user_usec, cpu_system_usec;
	uint64_t cpu_nr_throttled, cpu_throttled_usec;
	uint64_t memory_usage, memory_limit, memory_max_usage, memory_oom_kill;
	uint64_t pids_current, pids_limit;
	uint64_t io_read_bytes, io_write_bytes, io_read_ops, io_write_ops;
};
int agent_cgroup_stats(const char *dir, struct agent_cgroup_stats *st, struct err **err);

/* Translations, exposed for unit tests. */
/* cpu.shares (2..262144) -> cpu.weight (1..10000), as runc/crun convert. */
uint64_t agent_cgroup_shares_to_weight(uint64_t shares);
/* blkio weight (10..1000) -> io.weight (1..10000). */
uint64_t agent_cgroup_blkio_to_io_weight(uint64_t w);
/* "max 100000" style cpu.max from quota/period (quota < 0: "max"). */
void agent_cgroup_cpu_max(int64_t quota, uint64_t period, char *buf, size_t len);
/* Value of key in a "key value\n" file text (memory.events, cpu.stat). */
int agent_cgroup_kv_get(const char *text, const char *key, uint64_t *out);

#endif
