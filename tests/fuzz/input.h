/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fuzz input read as a script (a fuzz-target helper, see tests/tests.mk):
 * one byte at a time for commands and their arguments, runs of bytes for
 * payloads. Running out is never an error: a command short of its bytes is
 * skipped, a payload is cut short.
 */
#ifndef HULL_TESTS_FUZZ_INPUT_H
#define HULL_TESTS_FUZZ_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../vmm/vsock_packet.h"

struct input {
	const uint8_t *p;
	size_t left;
};

/* The next byte, or -1 at the end. */
int input_byte(struct input *in);
/* Take up to n bytes: returns how many (fewer at the end), *p where they start. */
size_t input_take(struct input *in, size_t n, const uint8_t **p);
/*
 * A vsock header from the next VSOCK_HDR_SIZE bytes (false, nothing taken,
 * when fewer are left), steered towards a valid one by ctl's low bits so the
 * fuzzer gets past the first checks: 1 src_cid = guest_cid, 2 dst_cid = host,
 * 4 type STREAM, 8 a known op. The higher bits are the caller's.
 */
bool input_vsock_hdr(struct input *in, int ctl, uint64_t guest_cid, struct vsock_hdr *h);

#endif
