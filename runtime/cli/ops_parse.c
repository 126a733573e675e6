// SPDX-License-Identifier: Apache-2.0
/*
 * Values `hull events` and `hull update` take, parsed as runc's Go libraries
 * parse them (so scripts written for runc keep working), and the update
 * itself: runc's update flags -> an OCI LinuxResources -> the agent's
 * UpdateContainer. Kept apart from the commands so it is unit-tested.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/log.h"
#include "oci/spec.h"
#include "runtime/agent_client.h"

#define NUM_MAX 64 /* longer numbers are refused rather than half-read */

/* "12", "1.5": digits with optional fraction(s); the length of the run. */
static size_t number_len(const char *s)
{
	size_t n = 0;
	if (!isdigit((unsigned char)s[0]))
		return 0;
	while (isdigit((unsigned char)s[n]))
		n++;
	/* go-units' regex takes (\.\d+)*; strconv then refuses "1.2.3" */
	while (s[n] == '.' && isdigit((unsigned char)s[n + 1])) {
		n++;
		while (isdigit((unsigned char)s[n]))
			n++;
	}
	return n;
}

/* strtod on s[0..n) only, which must be one plain decimal number. */
static int number_value(const char *s, size_t n, double *out)
{
	char buf[NUM_MAX + 1];
	if (n == 0 || n > NUM_MAX)
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (strchr(buf, '.') != strrchr(buf, '.'))
		return -EINVAL;
	char *end;
	errno = 0;
	*out = strtod(buf, &end);
	return *end || errno ? -EINVAL : 0;
}

/* go-units RAMInBytes: ^(\d+(\.\d+)*) ?([kmgtp])?i?b?$, case-insensitive. */
int rt_cli_size_parse(const char *s, int64_t *out)
{
	size_t n = number_len(s);
	double v;
	if (number_value(s, n, &v) < 0)
		return -EINVAL;
	const char *p = s + n;
	if (*p == ' ')
		p++;
	static const char units[] = "kmgtp";
	const char *u = *p ? strchr(units, tolower((unsigned char)*p)) : NULL;
	if (u) {
		for (const char *k = units; k <= u; k++)
			v *= 1024.0;
		p++;
	}
	if (*p == 'i' || *p == 'I')
		p++;
	if (*p == 'b' || *p == 'B')
		p++;
	if (*p)
		return -EINVAL;
	/* 2^63 is exactly representable: anything from there on overflows */
	if (!(v < 9223372036854775808.0))
		return -EINVAL;
	*out = (int64_t)v;
	return 0;
}

/* Nanoseconds per unit of Go's time.ParseDuration ("µs" in both spellings). */
static const struct {
	const char *name;
	double ns;
} duration_units[] = {
    {"ns", 1},   {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"\xce\xbcs", 1e3},
    {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},        {"h", 3600e9},
};

int rt_cli_duration_parse(const char *s, int64_t *ns)
{
	bool neg = *s == '-';
	if (*s == '-' || *s == '+')
		s++;
	if (strcmp(s, "0") == 0)
		return *ns = 0, 0;
	if (!*s)
		return -EINVAL;
	double total = 0;
	while (*s) {
		/* a number: digits, '.', digits; "1." and ".5" are Go's too, "." is not */
		size_t m = strspn(s, "0123456789");
		if (s[m] == '.')
			m += 1 + strspn(s + m + 1, "0123456789");
		if (m == 0 || m > NUM_MAX || (m == 1 && s[0] == '.'))
			return -EINVAL;
		char buf[NUM_MAX + 1];
		memcpy(buf, s, m);
		buf[m] = '\0';
		double v = strtod(buf, NULL);
		s += m;
		size_t best = 0;
		double mul = 0;
		for (size_t i = 0; i < ARRAY_SIZE(duration_units); i++) {
			size_t l = strlen(duration_units[i].name);
			/* longest match: "ms" before "m" */
			if (l > best && strncmp(s, duration_units[i].name, l) == 0)
				best = l, mul = duration_units[i].ns;
		}
		if (!best)
			return -EINVAL; /* Go: missing or unknown unit */
		s += best;
		total += v * mul;
		if (total > 9223372036854775807.0)
			return -ERANGE;
	}
	*ns = neg ? -(int64_t)total : (int64_t)total;
	return 0;
}

/* runc update's flags, same names and words (urfave/cli v1). */
const struct rt_flag rt_update_flags[RT_UPDATE_N_FLAGS] = {
    {"resources,r", RT_FLAG_STRING,
     "path to the file containing the resources to update or '-' to read from the standard "
     "input (a LinuxResources JSON object; unchanged values can be omitted); all other options "
     "are then ignored",
     NULL},
    {"blkio-weight", RT_FLAG_STRING, "Specifies per cgroup weight, range is from 10 to 1000", NULL},
    {"cpu-period", RT_FLAG_STRING,
     "CPU CFS period to be used for hardcapping (in usecs). 0 to use system default", NULL},
    {"cpu-quota", RT_FLAG_STRING,
     "CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period", NULL},
    {"cpu-burst", RT_FLAG_STRING,
     "CPU CFS hardcap burst limit (in usecs); not supported by hull yet", NULL},
    {"cpu-share,cpu-shares", RT_FLAG_STRING, "CPU shares (relative weight vs. other containers)",
     NULL},
    {"cpu-rt-period", RT_FLAG_STRING, "CPU realtime period (in usecs); not supported by hull",
     NULL},
    {"cpu-rt-runtime", RT_FLAG_STRING,
     "CPU realtime hardcap limit (in usecs); not supported by hull", NULL},
    {"cpuset-cpus", RT_FLAG_STRING, "CPU(s) to use; not supported by hull yet", NULL},
    {"cpuset-mems", RT_FLAG_STRING, "Memory node(s) to use; not supported by hull yet", NULL},
    {"kernel-memory", RT_FLAG_STRING, "(obsoleted; do not use)", NULL},
    {"kernel-memory-tcp", RT_FLAG_STRING, "(obsoleted; do not use)", NULL},
    {"memory", RT_FLAG_STRING, "Memory limit (in bytes; 64m, 1g suffixes; -1 unlimited)", NULL},
    {"cpu-idle", RT_FLAG_STRING,
     "set cgroup SCHED_IDLE or not, 0: default behavior, 1: SCHED_IDLE (1 not supported yet)",
     NULL},
    {"memory-reservation", RT_FLAG_STRING,
     "Memory reservation or soft_limit (in bytes); not supported by hull yet", NULL},
    {"memory-swap", RT_FLAG_STRING,
     "Total memory usage (memory + swap); set '-1' to enable unlimited swap (the guest has no "
     "swap: checked, then ignored)",
     NULL},
    {"pids-limit", RT_FLAG_STRING, "Maximum number of pids allowed in the container", NULL},
    {"l3-cache-schema", RT_FLAG_STRING, "The string of Intel RDT/CAT L3 cache schema", NULL},
    {"mem-bw-schema", RT_FLAG_STRING, "The string of Intel RDT/MBA memory bandwidth schema", NULL},
};

/* Go's strconv words, as runc wraps them: invalid value for cpu-period: ... */
static int parse_u64(const char *flag, const char *s, uint64_t *out, struct err **err)
{
	char *end;
	errno = 0;
	if (!isdigit((unsigned char)s[0]))
		return err_set(err, 0, "invalid value for %s: parsing \"%s\": invalid syntax", flag,
			       s);
	unsigned long long v = strtoull(s, &end, 10);
	if (*end)
		return err_set(err, 0, "invalid value for %s: parsing \"%s\": invalid syntax", flag,
			       s);
	if (errno == ERANGE)
		return err_set(err, 0, "invalid value for %s: parsing \"%s\": value out of range",
			       flag, s);
	*out = v;
	return 0;
}

static int parse_i64(const char *flag, const char *s, int64_t *out, struct err **err)
{
	char *end;
	errno = 0;
	const char *d = s[0] == '-' || s[0] == '+' ? s + 1 : s;
	long long v = isdigit((unsigned char)d[0]) ? strtoll(s, &end, 10) : 0;
	if (!isdigit((unsigned char)d[0]) || *end)
		return err_set(err, 0, "invalid value for %s: parsing \"%s\": invalid syntax", flag,
			       s);
	if (errno == ERANGE)
		return err_set(err, 0, "invalid value for %s: parsing \"%s\": value out of range",
			       flag, s);
	*out = v;
	return 0;
}

/* urfave/cli's IntFlag refuses at flag-parsing time, in Go flag's words. */
static int parse_int_flag(const char *flag, const char *s, int64_t *out, struct err **err)
{
	struct err *e = NULL;
	int r = parse_i64(flag, s, out, &e);
	err_free(&e);
	if (r < 0 || *out < INT32_MIN || *out > INT32_MAX)
		return err_set(err, 0, "invalid value \"%s\" for flag -%s: parse error", s, flag);
	return 0;
}

static int parse_mem(const char *flag, const char *s, int64_t *out, struct err **err)
{
	if (strcmp(s, "-1") == 0)
		return *out = -1, 0;
	if (rt_cli_size_parse(s, out) < 0)
		return err_set(err, 0, "invalid value for %s: invalid size: '%s'", flag, s);
	return 0;
}

static const char *flag_str(const struct rt_args *a, const char *name)
{
	const char *v = rt_args_str(a, name, NULL);
	return v && v[0] ? v : NULL; /* runc: an empty value is "not given" */
}

static int flags_memory(const struct rt_args *a, struct oci_memory *m, struct err **err)
{
	const char *v;
	int r;
	if ((v = flag_str(a, "memory"))) {
		if ((r = parse_mem("memory", v, &m->limit, err)) < 0)
			return r;
		m->has_limit = true;
	}
	if ((v = flag_str(a, "memory-swap"))) {
		if ((r = parse_mem("memory-swap", v, &m->swap, err)) < 0)
			return r;
		m->has_swap = true;
	}
	if ((v = flag_str(a, "memory-reservation"))) {
		if ((r = parse_mem("memory-reservation", v, &m->reservation, err)) < 0)
			return r;
		m->has_reservation = true;
	}
	/* runc: unlimited memory without a swap value means unlimited swap too */
	if (m->has_limit && m->limit == -1 && !m->has_swap)
		m->has_swap = true, m->swap = -1;
	for (size_t i = 0; i < 2; i++) {
		const char *k = i ? "kernel-memory-tcp" : "kernel-memory";
		if (flag_str(a, k))
			log_warn("Setting --%s is ignored and will be removed", k);
	}
	return 0;
}

/* The numeric cpu flags of `hull update`: where each one's value and its
 * "given" mark go in struct oci_cpu, and whether it may be negative. One
 * flag a line: */
/* clang-format off */
#define CPU_VALUE(f) offsetof(struct oci_cpu, f), offsetof(struct oci_cpu, has_##f)
static const struct {
	const char *name;
	bool is_signed;
	size_t value, given;
} cpu_flags[] = {
	{"cpu-period", false, CPU_VALUE(period)},
	{"cpu-share", false, CPU_VALUE(shares)},
	{"cpu-burst", false, CPU_VALUE(burst)},
	{"cpu-rt-period", false, CPU_VALUE(realtime_period)},
	{"cpu-quota", true, CPU_VALUE(quota)},
	{"cpu-rt-runtime", true, CPU_VALUE(realtime_runtime)},
	{"cpu-idle", true, CPU_VALUE(idle)},
};
/* clang-format on */
#undef CPU_VALUE

static int flags_cpu(const struct rt_args *a, struct oci_cpu *c, struct err **err)
{
	const char *v;
	for (size_t i = 0; i < ARRAY_SIZE(cpu_flags); i++) {
		if (!(v = flag_str(a, cpu_flags[i].name)))
			continue;
		void *value = (char *)c + cpu_flags[i].value;
		int r = cpu_flags[i].is_signed ? parse_i64(cpu_flags[i].name, v, value, err)
					       : parse_u64(cpu_flags[i].name, v, value, err);
		if (r < 0)
			return r;
		*(bool *)((char *)c + cpu_flags[i].given) = true;
	}
	if ((v = flag_str(a, "cpuset-cpus")) && !(c->cpus = strdup(v)))
		return err_set(err, ENOMEM, "cpuset-cpus");
	if ((v = flag_str(a, "cpuset-mems")) && !(c->mems = strdup(v)))
		return err_set(err, ENOMEM, "cpuset-mems");
	return 0;
}

static int flags_other(const struct rt_args *a, struct oci_resources *res, struct err **err)
{
	const char *v;
	int64_t n;
	int r;
	if ((v = flag_str(a, "pids-limit"))) {
		if ((r = parse_int_flag("pids-limit", v, &n, err)) < 0)
			return r;
		res->pids->limit = n;
	}
	if ((v = flag_str(a, "blkio-weight"))) {
		if ((r = parse_int_flag("blkio-weight", v, &n, err)) < 0)
			return r;
		/* runc: 0 is "not given"; others must be 10..1000 (validated) */
		if (n != 0) {
			if (n < 0 || n > UINT16_MAX)
				return err_set(
				    err, 0, "blkio-weight: %" PRId64 " is out of range (10..1000)",
				    n);
			res->block_io->has_weight = true;
			res->block_io->weight = (uint16_t)n;
		}
	}
	if (flag_str(a, "l3-cache-schema"))
		return err_set(err, 0, "Intel RDT/CAT: l3 cache schema is not enabled");
	if (flag_str(a, "mem-bw-schema"))
		return err_set(err, 0, "Intel RDT/MBA: memory bandwidth schema is not enabled");
	return 0;
}

int rt_cli_update_from_flags(const struct rt_args *a, struct oci_resources **out, struct err **err)
{
	struct oci_resources *res = calloc(1, sizeof(*res));
	if (res) {
		res->memory = calloc(1, sizeof(*res->memory));
		res->cpu = calloc(1, sizeof(*res->cpu));
		res->pids = calloc(1, sizeof(*res->pids));
		res->block_io = calloc(1, sizeof(*res->block_io));
	}
	if (!res || !res->memory || !res->cpu || !res->pids || !res->block_io) {
		oci_resources_free(res);
		return err_set(err, ENOMEM, "update");
	}
	int r = flags_memory(a, res->memory, err);
	if (r >= 0)
		r = flags_cpu(a, res->cpu, err);
	if (r >= 0)
		r = flags_other(a, res, err);
	if (r >= 0)
		r = oci_resources_validate(res, err);
	if (r < 0) {
		oci_resources_free(res);
		return r;
	}
	*out = res;
	return 0;
}

/* A field the agent's UpdateContainer has no room for: refused by name. */
static int unsupported(const char *field, const char *flag, struct err **err)
{
	return err_set(err, 0,
		       "%s (--%s): hull cannot update it yet (the guest agent's UpdateContainer "
		       "does not carry it)",
		       field, flag);
}

/* -1 is unlimited; other negative values mean nothing. */
static int limit_of(const char *field, int64_t v, int64_t *out, struct err **err)
{
	if (v < -1)
		return err_set(err, 0, "%s: %" PRId64 " is not a limit (use -1 for unlimited)",
			       field, v);
	*out = v;
	return 0;
}

static int memory_to_agent(const struct oci_memory *m, struct rt_agent_resources *out,
			   struct err **err)
{
	int r;
	if (m->has_limit && (r = limit_of("memory.limit", m->limit, &out->memory_limit, err)) < 0)
		return r;
	if (m->has_reservation && m->reservation != 0)
		return unsupported("memory.reservation", "memory-reservation", err);
	/* The guest has no swap device: a memory+swap limit (already checked
	 * against the memory limit) cannot change what the container gets. */
	if (m->has_swap && m->swap != 0 && m->swap != -1)
		log_warn("memory.swap: ignored: the guest has no swap");
	return 0;
}

static int cpu_to_agent(const struct oci_cpu *c, struct rt_agent_resources *out, struct err **err)
{
	int r;
	if (c->has_quota && (r = limit_of("cpu.quota", c->quota, &out->cpu_quota, err)) < 0)
		return r;
	if (c->has_period)
		out->cpu_period = c->period;
	if (c->has_shares)
		out->cpu_shares = c->shares;
	if (c->cpus && c->cpus[0])
		return unsupported("cpu.cpus", "cpuset-cpus", err);
	if (c->mems && c->mems[0])
		return unsupported("cpu.mems", "cpuset-mems", err);
	if (c->has_burst && c->burst)
		return unsupported("cpu.burst", "cpu-burst", err);
	if (c->has_realtime_period && c->realtime_period)
		return unsupported("cpu.realtimePeriod", "cpu-rt-period", err);
	if (c->has_realtime_runtime && c->realtime_runtime)
		return unsupported("cpu.realtimeRuntime", "cpu-rt-runtime", err);
	if (c->has_idle && c->idle)
		return unsupported("cpu.idle", "cpu-idle", err);
	return 0;
}

/*
 * runc update applies memory, cpu, pids, blockIO.weight and unified, and
 * ignores the rest of a LinuxResources (devices, hugepages, network, ...): so
 * do we. What runc would apply and the agent cannot carry is refused.
 */
int rt_cli_update_to_agent(const struct oci_resources *r, struct rt_agent_resources *out,
			   struct err **err)
{
	memset(out, 0, sizeof(*out));
	int ret;
	if (r->memory && (ret = memory_to_agent(r->memory, out, err)) < 0)
		return ret;
	if (r->cpu && (ret = cpu_to_agent(r->cpu, out, err)) < 0)
		return ret;
	if (r->pids && r->pids->limit != 0)
		out->pids_limit = r->pids->limit < 0 ? -1 : r->pids->limit;
	if (r->block_io && r->block_io->has_weight)
		out->blkio_weight = r->block_io->weight;
	if (r->unified.n)
		return err_set(err, 0,
			       "unified: hull cannot update it yet (the guest agent's "
			       "UpdateContainer does not carry it)");
	return 0;
}
