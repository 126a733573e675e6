// SPDX-License-Identifier: Apache-2.0
/* virtio-vsock header encoding, guest packet validation and the hybrid
 * "CONNECT <port>\n" line parser. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../../vmm/vsock_muxer.h"
#include "../../../vmm/vsock_packet.h"

static const struct vsock_hdr sample = {
    .src_cid = 0x0102030405060708ull,
    .dst_cid = 2,
    .src_port = 0x11223344,
    .dst_port = 0x55667788,
    .len = 0x99aabbcc,
    .type = 1,
    .op = 5,
    .flags = 0xdeadbeef,
    .buf_alloc = 0x00040000,
    .fwd_cnt = 0xfeedf00d,
};

static void build_is_little_endian_packed(void **state)
{
	uint8_t b[VSOCK_HDR_SIZE];
	vsock_hdr_build(&sample, b);
	static const uint8_t want[VSOCK_HDR_SIZE] = {
	    0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* src_cid */
	    0x02, 0,    0,    0,    0,    0,    0,    0,    /* dst_cid */
	    0x44, 0x33, 0x22, 0x11,                         /* src_port */
	    0x88, 0x77, 0x66, 0x55,                         /* dst_port */
	    0xcc, 0xbb, 0xaa, 0x99,                         /* len */
	    0x01, 0x00,                                     /* type */
	    0x05, 0x00,                                     /* op */
	    0xef, 0xbe, 0xad, 0xde,                         /* flags */
	    0x00, 0x00, 0x04, 0x00,                         /* buf_alloc */
	    0x0d, 0xf0, 0xed, 0xfe,                         /* fwd_cnt */
	};
	assert_memory_equal(b, want, sizeof(want));
}

static void parse_roundtrips(void **state)
{
	uint8_t b[VSOCK_HDR_SIZE + 3];
	struct vsock_hdr h;
	memset(&h, 0, sizeof(h)); /* padding, for the memcmp */
	vsock_hdr_build(&sample, b);
	assert_int_equal(vsock_hdr_parse(b, sizeof(b), &h), 0);
	assert_memory_equal(&h, &sample, sizeof(h));
}

static void parse_rejects_short_header(void **state)
{
	uint8_t b[VSOCK_HDR_SIZE] = {0};
	struct vsock_hdr h;
	for (size_t len = 0; len < VSOCK_HDR_SIZE; len++)
		assert_int_equal(vsock_hdr_parse(b, len, &h), -EMSGSIZE);
}

static struct vsock_hdr good(uint16_t op, uint32_t len)
{
	return (struct vsock_hdr){.src_cid = 3,
				  .dst_cid = VSOCK_HOST_CID,
				  .src_port = 1000,
				  .dst_port = 1024,
				  .len = len,
				  .type = VSOCK_TYPE_STREAM,
				  .op = op};
}

static void check_accepts_valid_packets(void **state)
{
	for (uint16_t op = VSOCK_OP_REQUEST; op <= VSOCK_OP_CREDIT_REQUEST; op++) {
		struct vsock_hdr h = good(op, 0);
		assert_int_equal(vsock_hdr_check(&h, 3, NULL), VSOCK_PKT_OK);
	}
	struct vsock_hdr h = good(VSOCK_OP_RW, VSOCK_MAX_PKT_LEN);
	assert_int_equal(vsock_hdr_check(&h, 3, NULL), VSOCK_PKT_OK);
}

static void check_drops_misaddressed(void **state)
{
	const char *why = NULL;
	struct vsock_hdr h = good(VSOCK_OP_REQUEST, 0);
	h.src_cid = 4; /* spoofed source */
	assert_int_equal(vsock_hdr_check(&h, 3, &why), VSOCK_PKT_DROP);
	assert_non_null(why);
	h = good(VSOCK_OP_REQUEST, 0);
	h.dst_cid = 3; /* loopback to itself */
	assert_int_equal(vsock_hdr_check(&h, 3, &why), VSOCK_PKT_DROP);
	h.dst_cid = 2 | (1ull << 32); /* upper bits must count */
	assert_int_equal(vsock_hdr_check(&h, 3, &why), VSOCK_PKT_DROP);
}

static void check_resets_bad_fields(void **state)
{
	const char *why = NULL;
	struct vsock_hdr h = good(VSOCK_OP_REQUEST, 0);
	h.type = 2; /* SEQPACKET: not offered */
	assert_int_equal(vsock_hdr_check(&h, 3, &why), VSOCK_PKT_RST);
	assert_string_equal(why, "socket type is not STREAM");
	h = good(0, 0);
	assert_int_equal(vsock_hdr_check(&h, 3, &why), VSOCK_PKT_RST);
	h = good(8, 0);
	assert_int_equal(vsock_hdr_check(&h, 3, &why), VSOCK_PKT_RST);
	h = good(0xffff, 0);
	assert_int_equal(vsock_hdr_check(&h, 3, &why), VSOCK_PKT_RST);
	h = good(VSOCK_OP_RW, VSOCK_MAX_PKT_LEN + 1);
	assert_int_equal(vsock_hdr_check(&h, 3, &why), VSOCK_PKT_RST);
	h = good(VSOCK_OP_RW, UINT32_MAX);
	assert_int_equal(vsock_hdr_check(&h, 3, &why), VSOCK_PKT_RST);
	h = good(VSOCK_OP_REQUEST, 1); /* payload on a control packet */
	assert_int_equal(vsock_hdr_check(&h, 3, &why), VSOCK_PKT_RST);
}

static void check_never_answers_rst_with_rst(void **state)
{
	struct vsock_hdr h = good(VSOCK_OP_RST, 0);
	assert_int_equal(vsock_hdr_check(&h, 3, NULL), VSOCK_PKT_OK);
	h.len = 5;
	assert_int_equal(vsock_hdr_check(&h, 3, NULL), VSOCK_PKT_DROP);
	h.len = 0;
	h.type = 7;
	assert_int_equal(vsock_hdr_check(&h, 3, NULL), VSOCK_PKT_DROP);
}

static void op_names(void **state)
{
	assert_string_equal(vsock_op_name(VSOCK_OP_CREDIT_REQUEST), "CREDIT_REQUEST");
	assert_string_equal(vsock_op_name(99), "op?");
}

static int parse(const char *s, uint32_t *port)
{
	return vsock_connect_parse(s, strlen(s), port);
}

static void connect_line_good(void **state)
{
	uint32_t port = 0;
	assert_int_equal(parse("CONNECT 1024\n", &port), 0);
	assert_int_equal(port, 1024);
	assert_int_equal(parse("CONNECT 0\n", &port), 0);
	assert_int_equal(port, 0);
	assert_int_equal(parse("CONNECT 4294967295\n", &port), 0);
	assert_int_equal(port, UINT32_MAX);
	assert_int_equal(parse("CONNECT 0000000052\n", &port), 0);
	assert_int_equal(port, 52);
}

static void connect_line_bad(void **state)
{
	static const char *const bad[] = {
	    "",
	    "\n",
	    "CONNECT\n",
	    "CONNECT \n",
	    "CONNECT 12",            /* no newline */
	    "connect 12\n",          /* case matters */
	    "CONNECT  12\n",         /* two spaces */
	    "CONNECT 12 \n",         /* trailing space */
	    "CONNECT 12\r\n",        /* CR */
	    "CONNECT -1\n",          /* sign */
	    "CONNECT +1\n",          /* sign */
	    "CONNECT 0x10\n",        /* hex */
	    "CONNECT 4294967296\n",  /* 2^32 */
	    "CONNECT 99999999999\n", /* 11 digits */
	    "CONNECT 00000000001\n", /* 11 digits, small value */
	    "LISTEN 12\n",
	    "CONNECT 1\n\n",
	    "CONNECT 123456789012345678901234567890\n", /* over-long */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t port = 7;
		if (parse(bad[i], &port) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(port, 7);
	}
	/* Embedded NUL. */
	uint32_t port;
	assert_int_equal(vsock_connect_parse("CONNECT 1\0002\n", 12, &port), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(build_is_little_endian_packed),
	    cmocka_unit_test(parse_roundtrips),
	    cmocka_unit_test(parse_rejects_short_header),
	    cmocka_unit_test(check_accepts_valid_packets),
	    cmocka_unit_test(check_drops_misaddressed),
	    cmocka_unit_test(check_resets_bad_fields),
	    cmocka_unit_test(check_never_answers_rst_with_rst),
	    cmocka_unit_test(op_names),
	    cmocka_unit_test(connect_line_good),
	    cmocka_unit_test(connect_line_bad),
	};
	return cmocka_run_group_tests_name("vmm/vsock_packet", tests, NULL, NULL);
}
