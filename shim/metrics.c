// SPDX-License-Identifier: Apache-2.0
/*
 * Stats: the guest agent reads the container's cgroup v2 files inside the VM
 * (StatsContainer); containerd wants github.com/containerd/cgroups'
 * cgroup2/stats Metrics in an Any typed "io.containerd.cgroups.v2.Metrics",
 * which is what `ctr task metrics` and the CRI plugin decode.
 */
#include <errno.h>
#include <stdlib.h>

#include "shim.h"
#include "shim/proto/metrics.pb-c.h"

int shim_metrics_pack(const struct rt_agent_stats *st, uint8_t **out, size_t *len)
{
	Io__Containerd__Cgroups__V2__PidsStat pids = IO__CONTAINERD__CGROUPS__V2__PIDS_STAT__INIT;
	pids.current = st->pids_current;
	pids.limit = st->pids_limit;

	Io__Containerd__Cgroups__V2__CPUStat cpu = IO__CONTAINERD__CGROUPS__V2__CPUSTAT__INIT;
	cpu.usage_usec = st->cpu_usage_usec;
	cpu.user_usec = st->cpu_user_usec;
	cpu.system_usec = st->cpu_system_usec;
	cpu.nr_throttled = st->cpu_nr_throttled;
	cpu.throttled_usec = st->cpu_throttled_usec;

	Io__Containerd__Cgroups__V2__MemoryStat mem =
	    IO__CONTAINERD__CGROUPS__V2__MEMORY_STAT__INIT;
	mem.usage = st->memory_usage;
	/* cgroup v2 says "max" for no limit; containerd's reader turns it into
	 * the largest uint64, and so do we */
	mem.usage_limit = st->memory_limit ? st->memory_limit : UINT64_MAX;
	mem.max_usage = st->memory_max_usage;

	Io__Containerd__Cgroups__V2__MemoryEvents events =
	    IO__CONTAINERD__CGROUPS__V2__MEMORY_EVENTS__INIT;
	events.oom_kill = st->memory_oom_kill;

	/* io.stat is per device; the agent sums the container's devices */
	Io__Containerd__Cgroups__V2__IOEntry entry = IO__CONTAINERD__CGROUPS__V2__IOENTRY__INIT;
	entry.rbytes = st->io_read_bytes;
	entry.wbytes = st->io_write_bytes;
	entry.rios = st->io_read_ops;
	entry.wios = st->io_write_ops;
	Io__Containerd__Cgroups__V2__IOEntry *entries[] = {&entry};
	Io__Containerd__Cgroups__V2__IOStat io = IO__CONTAINERD__CGROUPS__V2__IOSTAT__INIT;
	io.n_usage = 1;
	io.usage = entries;

	Io__Containerd__Cgroups__V2__Metrics m = IO__CONTAINERD__CGROUPS__V2__METRICS__INIT;
	m.pids = &pids;
	m.cpu = &cpu;
	m.memory = &mem;
	m.memory_events = &events;
	m.io = &io;
	*len = protobuf_c_message_get_packed_size(&m.base);
	*out = malloc(*len ? *len : 1);
	if (!*out)
		return -ENOMEM;
	protobuf_c_message_pack(&m.base, *out);
	return 0;
}
