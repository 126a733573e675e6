// SPDX-License-Identifier: Apache-2.0
/*
 * The device cgroup on cgroup v2: an eBPF program of type
 * BPF_PROG_TYPE_CGROUP_DEVICE attached to the container's cgroup
 * (Documentation/admin-guide/cgroup-v2.rst "Device controller"). It sees
 * struct bpf_cgroup_dev_ctx {access_type = access << 16 | type, major, minor}
 * and returns 1 to allow, 0 to deny.
 *
 * Rules are the spec's linux.resources.devices followed by the devices every
 * container needs (the list runc's specconv appends: null, zero, full, tty,
 * random, urandom, ptmx, pts, mknod of anything), and, as in runc, the LAST
 * matching rule decides: the program tests the rules in reverse order and
 * the first hit returns. No hit: deny.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>

#include "devices.h"
#include "lib/cleanup.h"
#include "oci/spec.h"

static const struct agent_dev_rule default_rules[] = {
    {true, 'c', -1, -1, "m"}, {true, 'b', -1, -1, "m"},    {true, 'c', 1, 3, "rwm"},
    {true, 'c', 1, 5, "rwm"}, {true, 'c', 1, 7, "rwm"},    {true, 'c', 1, 8, "rwm"},
    {true, 'c', 1, 9, "rwm"}, {true, 'c', 5, 0, "rwm"},    {true, 'c', 5, 1, "rwm"},
    {true, 'c', 5, 2, "rwm"}, {true, 'c', 136, -1, "rwm"},
};

#define INSN(c, d, s, o, i)                                                                        \
	((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})

static unsigned access_bits(const char *a)
{
	unsigned bits = 0;
	for (; a && *a; a++)
		bits |= *a == 'm'   ? BPF_DEVCG_ACC_MKNOD
			: *a == 'r' ? BPF_DEVCG_ACC_READ
			: *a == 'w' ? BPF_DEVCG_ACC_WRITE
				    : 0;
	return bits;
}

/* Instructions one rule needs (so jumps can skip the rest of its block). */
static int rule_len(const struct agent_dev_rule *r)
{
	unsigned acc = r->access ? access_bits(r->access) : 7;
	return (r->type != 'a') + (acc != 7 ? 3 : 0) + (r->major >= 0) + (r->minor >= 0) + 2;
}

/* A conditional jump at index at of a block of len instructions that skips
 * to the next block when the test fails. */
static struct bpf_insn jne(int reg, int imm, int at, int len)
{
	return INSN(BPF_JMP | BPF_JNE | BPF_K, reg, 0, (short)(len - at - 1), imm);
}

static int emit_rule(struct bpf_insn *p, const struct agent_dev_rule *r)
{
	int n = 0, len = rule_len(r);
	unsigned acc = r->access ? access_bits(r->access) : 7;
	if (r->type != 'a') {
		int t = r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
		p[n] = jne(BPF_REG_2, t, n, len);
		n++;
	}
	if (acc != 7) {
		/* the requested access must be a subset of the rule's */
		p[n++] = INSN(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0);
		p[n++] = INSN(BPF_ALU | BPF_AND | BPF_K, BPF_REG_1, 0, 0, (int)(~acc & 7));
		p[n] = jne(BPF_REG_1, 0, n, len);
		n++;
	}
	if (r->major >= 0) {
		p[n] = jne(BPF_REG_4, (int)r->major, n, len);
		n++;
	}
	if (r->minor >= 0) {
		p[n] = jne(BPF_REG_5, (int)r->minor, n, len);
		n++;
	}
	p[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, r->allow ? 1 : 0);
	p[n++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	return n;
}

int agent_devices_program(const struct agent_dev_rule *rules, size_t n_rules, struct bpf_insn **out,
			  size_t *n_insns)
{
	size_t total = 6 + 2;
	for (size_t i = 0; i < n_rules; i++)
		total += (size_t)rule_len(&rules[i]);
	if (total > 4096)
		return -E2BIG;
	struct bpf_insn *p = calloc(total, sizeof(*p));
	if (!p)
		return -ENOMEM;
	size_t n = 0;
	/* r2 = type, r3 = access, r4 = major, r5 = minor */
	p[n++] = INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0);
	p[n++] = INSN(BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xFFFF);
	p[n++] = INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_1, 0, 0);
	p[n++] = INSN(BPF_ALU | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16);
	p[n++] = INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, 4, 0);
	p[n++] = INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, 8, 0);
	bool total_match = false;
	for (size_t i = n_rules; i-- > 0 && !total_match;) { /* last rule first: it wins */
		n += (size_t)emit_rule(p + n, &rules[i]);
		/* A rule without tests matches everything: what would follow
		 * is unreachable, which the verifier refuses. */
		total_match = rule_len(&rules[i]) == 2;
	}
	if (!total_match) {
		p[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
		p[n++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	}
	*out = p;
	*n_insns = n;
	return 0;
}

/* Spec rules then the defaults, as runc orders them. */
static int collect(const struct oci_resources *res, struct agent_dev_rule **out, size_t *n)
{
	size_t cnt = res->devices_len + ARRAY_SIZE(default_rules);
	struct agent_dev_rule *r = calloc(cnt, sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (size_t i = 0; i < res->devices_len; i++) {
		const struct oci_device_rule *d = &res->devices[i];
		r[i] = (struct agent_dev_rule){
		    .allow = d->allow,
		    .type = d->type ? d->type : 'a',
		    .major = d->has_major ? d->major : -1,
		    .minor = d->has_minor ? d->minor : -1,
		    .access = d->access,
		};
	}
	memcpy(r + res->devices_len, default_rules, sizeof(default_rules));
	*out = r;
	*n = cnt;
	return 0;
}

static int load(const struct bpf_insn *prog, size_t n, char *log, size_t log_size)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = (uint64_t)(uintptr_t)prog;
	attr.insn_cnt = (uint32_t)n;
	attr.license = (uint64_t)(uintptr_t) "Apache-2.0";
	if (log) {
		attr.log_buf = (uint64_t)(uintptr_t)log;
		attr.log_size = (uint32_t)log_size;
		attr.log_level = 1;
	}
	int fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	return fd < 0 ? -errno : fd;
}

int agent_devices_apply(const char *cgroup_dir, const struct oci_resources *res, struct err **err)
{
	if (!res || res->devices_len == 0)
		return 0;
	_cleanup_free_ struct agent_dev_rule *rules = NULL;
	_cleanup_free_ struct bpf_insn *prog = NULL;
	size_t n_rules = 0, n_insns = 0;
	int r = collect(res, &rules, &n_rules);
	if (r == 0)
		r = agent_devices_program(rules, n_rules, &prog, &n_insns);
	if (r < 0)
		return err_set(err, -r, "device cgroup program");
	_cleanup_close_ int prog_fd = load(prog, n_insns, NULL, 0);
	if (prog_fd < 0) {
		/* Again with the verifier's log, for a message that says why. */
		_cleanup_free_ char *log = calloc(1, 65536);
		int e = -prog_fd;
		if (log && load(prog, n_insns, log, 65536) < 0) {
			size_t l = strlen(log);
			return err_set(err, e, "load device cgroup program (verifier: %s)",
				       log + (l > 200 ? l - 200 : 0));
		}
		return err_set(err, e, "load device cgroup program");
	}
	_cleanup_close_ int cg = open(cgroup_dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (cg < 0)
		return err_set(err, errno, "open %s", cgroup_dir);
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.target_fd = (uint32_t)cg;
	attr.attach_bpf_fd = (uint32_t)prog_fd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	attr.attach_flags = BPF_F_ALLOW_MULTI;
	if (syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof(attr)) < 0)
		return err_set(err, errno, "attach device cgroup program to %s", cgroup_dir);
	return 0;
}
