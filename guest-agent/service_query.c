// SPDX-License-Identifier: Apache-2.0
/*
 * The read-mostly RPCs: ListProcesses, StatsContainer (cgroup v2 cpu, memory,
 * pids, io), UpdateContainer (new limits) and GetOOMEvent (a poll of every
 * container's memory.events oom_kill counter).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "cgroup.h"
#include "lib/cleanup.h"
#include "lib/fd.h"
#include "lib/proto/agent.pb-c.h"
#include "lib/ttrpc.h"
#include "oci/spec.h"
#include "service.h"

static int reply(struct ttrpc_response *resp, const ProtobufCMessage *m)
{
	if (ttrpc_response_pack(resp, m) < 0)
		ttrpc_response_error(resp, TTRPC_RESOURCE_EXHAUSTED, "out of memory");
	return 0;
}

/* Copy the cgroup dir of a live container (lock held inside). */
static int cgroup_of(struct agent *a, const char *id, char **dir, struct ttrpc_response *resp)
{
	pthread_mutex_lock(&a->lock);
	struct agent_container *c = agent_container_find(a, id);
	int r = 0;
	if (!c || c->removing)
		r = ttrpc_response_error(resp, TTRPC_NOT_FOUND, "container %s not found", id) - 1;
	else if (!c->cgroup)
		r = ttrpc_response_error(resp, TTRPC_FAILED_PRECONDITION,
					 "container %s has no cgroup (cgroup2 unavailable)", id) -
		    1;
	else if (!(*dir = strdup(c->cgroup)))
		r = ttrpc_response_error(resp, TTRPC_RESOURCE_EXHAUSTED, "oom") - 1;
	pthread_mutex_unlock(&a->lock);
	return r;
}

static char *cmdline_of(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	char *s = NULL;
	size_t len = 0;
	if (fd_read_file(path, &s, &len, 4096) < 0)
		return strdup("");
	for (size_t i = 0; i + 1 < len; i++)
		if (s[i] == '\0')
			s[i] = ' ';
	return s;
}

static int h_list(struct agent *a, Hull__Agent__V1__ListProcessesRequest *in,
		  struct ttrpc_response *resp)
{
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;
	pthread_mutex_lock(&a->lock);
	struct agent_container *c = agent_container_find(a, in->id);
	if (!c || c->removing) {
		pthread_mutex_unlock(&a->lock);
		return ttrpc_response_error(resp, TTRPC_NOT_FOUND, "container %s not found",
					    in->id);
	}
	if (!c->cgroup || agent_cgroup_pids(c->cgroup, &pids, &n) < 0) {
		/* No cgroup: the processes the agent started and still runs. */
		pids = calloc(64, sizeof(*pids));
		for (struct agent_proc *p = c->procs; pids && p && n < 64; p = p->next)
			if (p->state != PROC_EXITED && p->pid > 0)
				pids[n++] = p->pid;
	}
	Hull__Agent__V1__ListProcessesResponse out = HULL__AGENT__V1__LIST_PROCESSES_RESPONSE__INIT;
	Hull__Agent__V1__ProcessInfo *infos = calloc(n + 1, sizeof(*infos));
	Hull__Agent__V1__ProcessInfo **ptrs = calloc(n + 1, sizeof(*ptrs));
	for (size_t i = 0; infos && ptrs && i < n; i++) {
		hull__agent__v1__process_info__init(&infos[i]);
		infos[i].pid = pids[i];
		infos[i].exec_id = (char *)"";
		for (struct agent_proc *p = c->procs; p; p = p->next)
			if (p->pid == pids[i])
				infos[i].exec_id = p->exec_id;
		infos[i].cmdline = cmdline_of(pids[i]);
		ptrs[i] = &infos[i];
	}
	if (infos && ptrs) {
		out.n_processes = n;
		out.processes = ptrs;
		reply(resp, &out.base);
	} else {
		ttrpc_response_error(resp, TTRPC_RESOURCE_EXHAUSTED, "oom");
	}
	pthread_mutex_unlock(&a->lock);
	for (size_t i = 0; infos && i < n; i++)
		free(infos[i].cmdline);
	free(infos);
	free(ptrs);
	return 0;
}

static int h_stats(struct agent *a, Hull__Agent__V1__StatsContainerRequest *in,
		   struct ttrpc_response *resp)
{
	_cleanup_free_ char *dir = NULL;
	if (cgroup_of(a, in->id, &dir, resp) < 0)
		return 0;
	struct agent_cgroup_stats st;
	struct err *err = NULL;
	if (agent_cgroup_stats(dir, &st, &err) < 0) {
		ttrpc_response_error(resp, TTRPC_INTERNAL, "%s", err_msg(err));
		err_free(&err);
		return 0;
	}
	Hull__Agent__V1__StatsContainerResponse out =
	    HULL__AGENT__V1__STATS_CONTAINER_RESPONSE__INIT;
	out.cpu_usage_usec = st.cpu_usage_usec;
	out.cpu_user_usec = st.cpu_user_usec;
	out.cpu_system_usec = st.cpu_system_usec;
	out.cpu_nr_throttled = st.cpu_nr_throttled;
	out.cpu_throttled_usec = st.cpu_throttled_usec;
	out.memory_usage = st.memory_usage;
	out.memory_limit = st.memory_limit;
	out.memory_max_usage = st.memory_max_usage;
	out.memory_oom_kill = st.memory_oom_kill;
	out.pids_current = st.pids_current;
	out.pids_limit = st.pids_limit;
	out.io_read_bytes = st.io_read_bytes;
	out.io_write_bytes = st.io_write_bytes;
	out.io_read_ops = st.io_read_ops;
	out.io_write_ops = st.io_write_ops;
	return reply(resp, &out.base);
}

static int h_update(struct agent *a, Hull__Agent__V1__UpdateContainerRequest *in,
		    struct ttrpc_response *resp)
{
	_cleanup_free_ char *dir = NULL;
	if (cgroup_of(a, in->id, &dir, resp) < 0)
		return 0;
	struct oci_memory mem = {0};
	struct oci_cpu cpu = {0};
	struct oci_pids pids = {0};
	struct oci_blkio blk = {0};
	struct oci_resources res = {0};
	if (in->memory_limit) {
		mem.has_limit = true;
		mem.limit = in->memory_limit;
		res.memory = &mem;
	}
	if (in->cpu_quota || in->cpu_period) {
		cpu.has_quota = in->cpu_quota != 0;
		cpu.quota = in->cpu_quota;
		cpu.has_period = in->cpu_period != 0;
		cpu.period = in->cpu_period;
		res.cpu = &cpu;
	}
	if (in->cpu_shares) {
		cpu.has_shares = true;
		cpu.shares = in->cpu_shares;
		res.cpu = &cpu;
	}
	if (in->pids_limit) {
		pids.limit = in->pids_limit;
		res.pids = &pids;
	}
	if (in->blkio_weight) {
		blk.has_weight = true;
		blk.weight = (uint16_t)in->blkio_weight;
		res.block_io = &blk;
	}
	struct err *err = NULL;
	if (agent_cgroup_apply(dir, &res, &err) < 0) {
		ttrpc_response_error(resp, TTRPC_FAILED_PRECONDITION, "update %s: %s", in->id,
				     err_msg(err));
		err_free(&err);
		return 0;
	}
	Hull__Agent__V1__Empty e = HULL__AGENT__V1__EMPTY__INIT;
	return reply(resp, &e.base);
}

/* Which container had a new OOM kill since the last report (lock held). */
static struct agent_container *oom_next(struct agent *a, uint64_t *count)
{
	for (struct agent_container *c = a->containers; c; c = c->next) {
		uint64_t n;
		if (c->removing || !c->cgroup || agent_cgroup_oom_count(c->cgroup, &n) < 0)
			continue;
		if (n > c->oom_seen) {
			c->oom_seen = n;
			*count = n;
			return c;
		}
	}
	return NULL;
}

static int h_oom(struct agent *a, Hull__Agent__V1__GetOOMEventRequest *in,
		 struct ttrpc_response *resp, int64_t timeout_nano)
{
	int64_t timeout = in->timeout_ms > 0 ? (int64_t)in->timeout_ms * 1000000 : timeout_nano;
	int64_t deadline = timeout > 0 ? agent_now_ns(CLOCK_MONOTONIC) + timeout : 0;
	for (;;) {
		uint64_t count = 0;
		pthread_mutex_lock(&a->lock);
		struct agent_container *c = oom_next(a, &count);
		if (c) {
			Hull__Agent__V1__GetOOMEventResponse out =
			    HULL__AGENT__V1__GET_OOMEVENT_RESPONSE__INIT;
			out.id = c->id;
			out.oom_kill = count;
			reply(resp, &out.base);
			pthread_mutex_unlock(&a->lock);
			return 0;
		}
		pthread_mutex_unlock(&a->lock);
		if (deadline && agent_now_ns(CLOCK_MONOTONIC) >= deadline)
			return ttrpc_response_error(resp, TTRPC_DEADLINE_EXCEEDED, "no OOM event");
		/* memory.events is cheap to read; 100 ms is quick enough for
		 * an event that containerd only forwards. */
		nanosleep(&(struct timespec){0, 100000000}, NULL);
	}
}

int agent_service_query(struct agent *a, const char *method, ProtobufCMessage *m,
			struct ttrpc_response *resp, int64_t timeout_nano)
{
	if (!strcmp(method, "ListProcesses"))
		return h_list(a, (void *)m, resp);
	if (!strcmp(method, "StatsContainer"))
		return h_stats(a, (void *)m, resp);
	if (!strcmp(method, "UpdateContainer"))
		return h_update(a, (void *)m, resp);
	if (!strcmp(method, "GetOOMEvent"))
		return h_oom(a, (void *)m, resp, timeout_nano);
	return ttrpc_response_error(resp, TTRPC_UNIMPLEMENTED, "method %s", method);
}
