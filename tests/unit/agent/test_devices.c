// SPDX-License-Identifier: Apache-2.0
/* The device cgroup program, run by a small interpreter of the few eBPF
 * instructions it uses: rule order (last match wins), wildcards, access. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <linux/bpf.h>

#include "../../../guest-agent/devices.h"
#include "lib/cleanup.h"

/* Returns the program's r0 for one access. */
static int run(const struct agent_dev_rule *rules, size_t n, int type, int access, int major,
	       int minor)
{
	_cleanup_free_ struct bpf_insn *p = NULL;
	size_t len = 0;
	assert_int_equal(agent_devices_program(rules, n, &p, &len), 0);
	uint32_t ctx[3] = {(uint32_t)(access << 16 | type), (uint32_t)major, (uint32_t)minor};
	uint64_t r[11] = {0};
	for (size_t pc = 0; pc < len; pc++) {
		const struct bpf_insn *i = &p[pc];
		switch (i->code) {
		case BPF_LDX | BPF_MEM | BPF_W:
			assert_int_equal(i->src_reg, BPF_REG_1);
			r[i->dst_reg] = ctx[i->off / 4];
			break;
		case BPF_ALU | BPF_AND | BPF_K:
			r[i->dst_reg] = (uint32_t)r[i->dst_reg] & (uint32_t)i->imm;
			break;
		case BPF_ALU | BPF_RSH | BPF_K:
			r[i->dst_reg] = (uint32_t)r[i->dst_reg] >> i->imm;
			break;
		case BPF_ALU | BPF_MOV | BPF_X:
			r[i->dst_reg] = (uint32_t)r[i->src_reg];
			break;
		case BPF_ALU64 | BPF_MOV | BPF_K:
			r[i->dst_reg] = (uint64_t)(int64_t)i->imm;
			break;
		case BPF_JMP | BPF_JNE | BPF_K:
			if (r[i->dst_reg] != (uint64_t)(int64_t)i->imm)
				pc += (size_t)i->off;
			break;
		case BPF_JMP | BPF_EXIT:
			return (int)r[0];
		default:
			fail_msg("unexpected opcode %#x", i->code);
		}
	}
	fail_msg("fell off the end");
	return -1;
}

#define C BPF_DEVCG_DEV_CHAR
#define B BPF_DEVCG_DEV_BLOCK
#define R BPF_DEVCG_ACC_READ
#define W BPF_DEVCG_ACC_WRITE
#define M BPF_DEVCG_ACC_MKNOD

static void no_rules_deny(void **state)
{
	assert_int_equal(run(NULL, 0, C, R, 1, 3), 0);
}

static void deny_all_then_allow_one(void **state)
{
	struct agent_dev_rule rules[] = {
	    {false, 'a', -1, -1, "rwm"},
	    {true, 'c', 1, 3, "rw"},
	};
	assert_int_equal(run(rules, 2, C, R, 1, 3), 1);
	assert_int_equal(run(rules, 2, C, R | W, 1, 3), 1);
	assert_int_equal(run(rules, 2, C, M, 1, 3), 0);  /* access not granted */
	assert_int_equal(run(rules, 2, B, R, 1, 3), 0);  /* wrong type */
	assert_int_equal(run(rules, 2, C, R, 1, 11), 0); /* other minor */
}

static void last_match_wins(void **state)
{
	struct agent_dev_rule rules[] = {
	    {true, 'c', 1, -1, NULL},
	    {false, 'c', 1, 11, NULL},
	};
	assert_int_equal(run(rules, 2, C, R, 1, 5), 1);
	assert_int_equal(run(rules, 2, C, R, 1, 11), 0);
	struct agent_dev_rule flipped[] = {rules[1], rules[0]};
	assert_int_equal(run(flipped, 2, C, R, 1, 11), 1);
}

/* The kernel's verifier refuses unreachable instructions: nothing may follow
 * a rule that matches everything. */
static void nothing_after_a_total_match(void **state)
{
	struct agent_dev_rule rules[] = {{false, 'a', -1, -1, "rwm"}, {true, 'c', 1, 3, NULL}};
	_cleanup_free_ struct bpf_insn *p = NULL;
	size_t len = 0;
	assert_int_equal(agent_devices_program(rules, 2, &p, &len), 0);
	assert_int_equal(p[len - 1].code, BPF_JMP | BPF_EXIT);
	assert_int_equal(p[len - 2].code, BPF_ALU64 | BPF_MOV | BPF_K);
	assert_int_equal(p[len - 2].imm, 0); /* the deny-all, not a second epilogue */
	assert_int_equal(p[len - 3].code, BPF_JMP | BPF_EXIT);
	assert_int_equal(len, 6 + 5 + 2); /* prologue, the c 1:3 rule, the deny-all */
	assert_int_equal(run(rules, 2, BPF_DEVCG_DEV_CHAR, BPF_DEVCG_ACC_READ, 1, 4), 0);
	assert_int_equal(run(rules, 2, BPF_DEVCG_DEV_CHAR, BPF_DEVCG_ACC_READ, 1, 3), 1);
}

static void wildcards(void **state)
{
	struct agent_dev_rule rules[] = {{true, 'c', 136, -1, "rwm"}, {true, 'b', -1, -1, "m"}};
	assert_int_equal(run(rules, 2, C, R | W, 136, 7), 1);
	assert_int_equal(run(rules, 2, B, M, 8, 0), 1);
	assert_int_equal(run(rules, 2, B, R, 8, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(no_rules_deny),
	    cmocka_unit_test(deny_all_then_allow_one),
	    cmocka_unit_test(last_match_wins),
	    cmocka_unit_test(wildcards),
	    cmocka_unit_test(nothing_after_a_total_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
