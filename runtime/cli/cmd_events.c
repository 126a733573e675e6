// SPDX-License-Identifier: Apache-2.0
/*
 * hull events [--stats] [--interval 5s] ID: runc's event stream, one JSON
 * object per line (runc's types/events.go):
 *
 *   {"type":"stats","id":"c1","data":{"cpu":...,"memory":...,"pids":...,"blkio":...}}
 *   {"type":"oom","id":"c1"}
 *
 * The numbers come from the guest agent's StatsContainer (the container's
 * cgroup v2 files in the guest), converted the way runc's cgroup v2 code
 * does (usec -> ns, "max" -> 2^64-1). --stats prints one stats event and
 * exits; otherwise a stats event every interval and an oom event whenever
 * the agent reports an OOM kill in the container, until SIGINT/SIGTERM or
 * the container stops.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <yajl/yajl_gen.h>

#include "cli.h"
#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/log.h"
#include "runtime/agent_client.h"
#include "runtime/state.h"

#define OOM_POLL_MAX_MS 500 /* how long a signal or a stopped container may go unseen */

static const struct rt_flag events_flags[] = {
    {"interval", RT_FLAG_STRING, "set the stats collection interval", "5s"},
    {"stats", RT_FLAG_BOOL, "display the container's stats then exit", NULL},
};

struct events_opts {
	bool once;
	int64_t interval_ns;
};

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* ---- JSON: Go's encoding/json of runc's types.Event, compact --------------------------- */

static void key(yajl_gen g, const char *k)
{
	yajl_gen_string(g, (const unsigned char *)k, strlen(k));
}

static void u64(yajl_gen g, const char *k, uint64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%" PRIu64, v);
	key(g, k);
	yajl_gen_number(g, buf, (size_t)n); /* integer() is signed: 2^64-1 needs this */
}

/* Go's omitempty on a number: left out when zero. */
static void u64_omit(yajl_gen g, const char *k, uint64_t v)
{
	if (v)
		u64(g, k, v);
}

static void cpu(yajl_gen g, const struct rt_agent_stats *s)
{
	key(g, "cpu");
	yajl_gen_map_open(g);
	key(g, "usage");
	yajl_gen_map_open(g);
	u64_omit(g, "total", s->cpu_usage_usec * 1000);
	u64(g, "kernel", s->cpu_system_usec * 1000);
	u64(g, "user", s->cpu_user_usec * 1000);
	yajl_gen_map_close(g);
	key(g, "throttling");
	yajl_gen_map_open(g);
	u64_omit(g, "throttledPeriods", s->cpu_nr_throttled);
	u64_omit(g, "throttledTime", s->cpu_throttled_usec * 1000);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	/* cpuset: nothing reported; Go writes the zero struct's fields */
	static const char *const cpuset_fields[] = {
	    "cpu_exclusive",   "mem_hardwall",       "mem_exclusive",
	    "memory_migrate",  "memory_spread_page", "memory_spread_slab",
	    "memory_pressure", "sched_load_balance", "sched_relax_domain_level",
	};
	key(g, "cpuset");
	yajl_gen_map_open(g);
	for (size_t i = 0; i < ARRAY_SIZE(cpuset_fields); i++)
		u64(g, cpuset_fields[i], 0);
	yajl_gen_map_close(g);
}

/* types.MemoryEntry: limit and failcnt always, usage and max when non-zero. */
static void mem_entry(yajl_gen g, const char *k, uint64_t limit, uint64_t usage, uint64_t max)
{
	key(g, k);
	yajl_gen_map_open(g);
	u64(g, "limit", limit);
	u64_omit(g, "usage", usage);
	u64_omit(g, "max", max);
	u64(g, "failcnt", 0);
	yajl_gen_map_close(g);
}

static void memory(yajl_gen g, const struct rt_agent_stats *s)
{
	key(g, "memory");
	yajl_gen_map_open(g);
	/* the agent says 0 for "max"; runc reports an unlimited v2 limit as 2^64-1 */
	mem_entry(g, "usage", s->memory_limit ? s->memory_limit : UINT64_MAX, s->memory_usage,
		  s->memory_max_usage);
	mem_entry(g, "swap", 0, 0, 0);
	mem_entry(g, "kernel", 0, 0, 0);
	mem_entry(g, "kernelTCP", 0, 0, 0);
	key(g, "event_count");
	yajl_gen_map_open(g);
	u64_omit(g, "oom_kill", s->memory_oom_kill);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
}

static void pids(yajl_gen g, const struct rt_agent_stats *s)
{
	key(g, "pids");
	yajl_gen_map_open(g);
	u64_omit(g, "current", s->pids_current);
	u64_omit(g, "limit", s->pids_limit ? s->pids_limit : UINT64_MAX);
	yajl_gen_map_close(g);
}

/* One Read and one Write entry per list: the agent sums io.stat over devices. */
static void blkio_list(yajl_gen g, const char *k, uint64_t read, uint64_t write)
{
	key(g, k);
	yajl_gen_array_open(g);
	for (int i = 0; i < 2; i++) {
		yajl_gen_map_open(g);
		key(g, "op");
		yajl_gen_string(g, (const unsigned char *)(i ? "Write" : "Read"), i ? 5 : 4);
		u64_omit(g, "value", i ? write : read);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
}

static void blkio(yajl_gen g, const struct rt_agent_stats *s)
{
	key(g, "blkio");
	yajl_gen_map_open(g);
	if (s->io_read_bytes || s->io_write_bytes || s->io_read_ops || s->io_write_ops) {
		blkio_list(g, "ioServiceBytesRecursive", s->io_read_bytes, s->io_write_bytes);
		blkio_list(g, "ioServicedRecursive", s->io_read_ops, s->io_write_ops);
	}
	yajl_gen_map_close(g);
}

/* Print one event line; s NULL: an oom event (no data). */
static int emit(const char *id, const struct rt_agent_stats *s, struct err **err)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	if (!g)
		return err_set(err, ENOMEM, "events");
	yajl_gen_map_open(g);
	key(g, "type");
	key(g, s ? "stats" : "oom");
	key(g, "id");
	key(g, id);
	if (s) {
		key(g, "data");
		yajl_gen_map_open(g);
		cpu(g, s);
		memory(g, s);
		pids(g, s);
		blkio(g, s);
		key(g, "hugetlb");
		yajl_gen_map_open(g);
		yajl_gen_map_close(g);
		key(g, "intel_rdt");
		yajl_gen_map_open(g);
		yajl_gen_map_close(g);
		key(g, "network_interfaces");
		yajl_gen_null(g);
		yajl_gen_map_close(g);
	}
	const unsigned char *buf;
	size_t len;
	int r = 0;
	if (yajl_gen_map_close(g) != yajl_gen_status_ok ||
	    yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
		r = err_set(err, EINVAL, "events: JSON generation");
	else if (fwrite(buf, 1, len, stdout) != len || fputc('\n', stdout) == EOF ||
		 fflush(stdout) == EOF)
		r = err_set(err, errno, "events: write");
	yajl_gen_free(g);
	return r;
}

/* ---- the watch loop ------------------------------------------------------------------ */

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* No SA_RESTART: a signal should cut a wait short, not resume it. */
static void catch_stop_signals(void)
{
	struct sigaction sa = {.sa_handler = on_stop};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* Is the container (still) there to watch? */
static bool gone(const struct rt_container *c)
{
	return rt_state_status(&c->state) == RT_STATUS_STOPPED;
}

/* One stats event; 1 when the container is gone and the watch should end. */
static int tick(struct rt_container *c, struct rt_agent *agent, struct err **err)
{
	struct rt_agent_stats st;
	_cleanup_err_ struct err *e = NULL;
	int r = rt_agent_stats(agent, c->state.id, &st, &e);
	if (r == -ENOENT || (r < 0 && gone(c)))
		return 1;
	if (r < 0) {
		/* runc logs a failed collection and carries on */
		log_error("%s", err_msg(e));
		return 0;
	}
	return emit(c->state.id, &st, err);
}

/*
 * Wait up to ms for an OOM kill. The agent's GetOOMEvent reports every
 * container of the guest: only ours is printed.
 */
static int wait_oom(struct rt_container *c, struct rt_agent *agent, int ms, struct err **err)
{
	_cleanup_free_ char *oom_id = NULL;
	_cleanup_err_ struct err *e = NULL;
	int r = rt_agent_get_oom_event(agent, ms, &oom_id, NULL, &e);
	if (r == 0)
		return strcmp(oom_id, c->state.id) == 0 ? emit(c->state.id, NULL, err) : 0;
	if (r != -ETIMEDOUT && !stop_requested) {
		if (gone(c))
			return 1;
		/* an agent without OOM events, or a hiccup: still wait, quietly */
		log_debug("%s", err_msg(e));
		nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000L}, NULL);
	}
	return 0;
}

static int watch(struct rt_container *c, struct rt_agent *agent, void *data, struct err **err)
{
	const struct events_opts *o = data;
	if (o->once) {
		struct rt_agent_stats st;
		int r = rt_agent_stats(agent, c->state.id, &st, err);
		return r < 0 ? r : emit(c->state.id, &st, err);
	}
	catch_stop_signals();
	/* like runc's time.Tick: the first stats event after one interval */
	int64_t next = now_ns() + o->interval_ns;
	int r = 0;
	while (!stop_requested && r == 0 && !gone(c)) {
		int64_t now = now_ns();
		if (now >= next) {
			r = tick(c, agent, err);
			next += o->interval_ns;
			if (next <= now) /* a slow guest: skip the ticks we missed */
				next = now + o->interval_ns;
			continue;
		}
		int64_t ms = (next - now + 999999) / 1000000;
		r = wait_oom(c, agent, ms > OOM_POLL_MAX_MS ? OOM_POLL_MAX_MS : (int)ms, err);
	}
	return r < 0 ? r : 0;
}

static int events_run(struct rt_cli *cli, const struct rt_args *a, struct err **err)
{
	const char *iv = rt_args_str(a, "interval", "5s");
	struct events_opts o = {.once = rt_args_bool(a, "stats")};
	if (rt_cli_duration_parse(iv, &o.interval_ns) < 0)
		return err_set(err, 0, "invalid value \"%s\" for flag -interval: parse error", iv);
	if (o.interval_ns <= 0)
		return err_set(err, 0, "duration interval must be greater than 0");
	char refusal[RT_ID_MAX + 64];
	snprintf(refusal, sizeof(refusal), "container with id %s is not running", a->pos[0]);
	/* A shared lock, dropped once connected: a watch that runs for hours
	 * must not hold off delete or kill. */
	const struct rt_agent_op op = {
	    .id = a->pos[0],
	    .unlock = true,
	    .allowed = RT_OP_STATUS(RT_STATUS_CREATED) | RT_OP_STATUS(RT_STATUS_RUNNING) |
		       RT_OP_STATUS(RT_STATUS_PAUSED),
	    .refusal = refusal,
	};
	return rt_container_agent_op(cli, &op, watch, &o, err);
}

const struct rt_cli_cmd rt_cmd_events = {
    .name = "events",
    .args_usage = "<container-id>",
    .summary = "display container events such as OOM notifications, cpu, memory, and IO usage "
	       "statistics",
    .description = "The events command displays information about the container. By default "
		   "the\n   information is displayed once every 5 seconds. The statistics are "
		   "those of the\n   container's cgroup inside its microVM.",
    .flags = events_flags,
    .n_flags = ARRAY_SIZE(events_flags),
    .min_args = 1,
    .max_args = 1,
    .run = events_run,
};
