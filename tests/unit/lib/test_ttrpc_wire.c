// SPDX-License-Identifier: Apache-2.0
/* ttrpc framing, and the server driven by a raw peer that writes frames by
 * hand (short reads, oversized frames, bad stream ids, garbage). */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../../lib/ttrpc_wire.h"
#include "lib/fd.h"
#include "lib/ttrpc.h"
#include "ttrpc_testutil.h"

#define SVC "hull.test.v1.Test"

static void header_encode_decode(void **state)
{
	struct ttrpc_frame_header h = {0x00010203, 0x0a0b0c0d, TTRPC_RESPONSE, 0x7};
	uint8_t b[TTRPC_HEADER_SIZE];
	ttrpc_header_encode(b, &h);
	const uint8_t want[] = {0, 1, 2, 3, 0x0a, 0x0b, 0x0c, 0x0d, 2, 7};
	assert_memory_equal(b, want, sizeof(want));
	struct ttrpc_frame_header d;
	assert_int_equal(ttrpc_header_decode(b, &d), 0);
	assert_int_equal(d.length, h.length);
	assert_int_equal(d.stream_id, h.stream_id);
	assert_int_equal(d.type, h.type);
	assert_int_equal(d.flags, h.flags);

	h.length = TTRPC_MAX_PAYLOAD;
	ttrpc_header_encode(b, &h);
	assert_int_equal(ttrpc_header_decode(b, &d), 0);
	h.length = TTRPC_MAX_PAYLOAD + 1;
	ttrpc_header_encode(b, &h);
	assert_int_equal(ttrpc_header_decode(b, &d), -EMSGSIZE);
	assert_int_equal(d.length, TTRPC_MAX_PAYLOAD + 1);
}

/* Two frames (one empty) fed one byte at a time come out whole. */
static void rx_reassembles_any_split(void **state)
{
	const uint8_t stream[] = {0,   0, 0, 3, 0, 0, 0, 1, 2, 0, 'a', 'b',
	                          'c', 0, 0, 0, 0, 0, 0, 0, 3, 3, 1};
	struct ttrpc_rx rx;
	ttrpc_rx_init(&rx);
	struct ttrpc_frame f[2];
	int got = 0;
	for (size_t i = 0; i < sizeof(stream); i++) {
		size_t used = 0;
		int r = ttrpc_rx_feed(&rx, stream + i, 1, &used, &f[got]);
		assert_true(r >= 0);
		assert_int_equal(used, 1);
		got += r;
		assert_int_equal(ttrpc_rx_partial(&rx), i != 12 && i != sizeof(stream) - 1);
	}
	assert_int_equal(got, 2);
	assert_int_equal(f[0].h.length, 3);
	assert_memory_equal(f[0].body, "abc", 3);
	assert_int_equal(f[1].h.stream_id, 3);
	assert_int_equal(f[1].h.type, TTRPC_DATA);
	assert_null(f[1].body);
	free(f[0].body);
	ttrpc_rx_exit(&rx);
}

static void rx_discards_oversized_and_rejects_reserved_byte(void **state)
{
	struct ttrpc_rx rx;
	ttrpc_rx_init(&rx);
	struct ttrpc_frame f;
	uint8_t hdr[TTRPC_HEADER_SIZE];
	struct ttrpc_frame_header h = {TTRPC_MAX_PAYLOAD + 5, 1, TTRPC_REQUEST, 0};
	ttrpc_header_encode(hdr, &h);
	size_t used;
	assert_int_equal(ttrpc_rx_feed(&rx, hdr, sizeof(hdr), &used, &f), 0);
	assert_null(rx.body); /* nothing allocated for it */
	static uint8_t chunk[64 * 1024];
	size_t left = h.length;
	int r = 0;
	while (left > 0) {
		size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
		r = ttrpc_rx_feed(&rx, chunk, n, &used, &f);
		assert_int_equal(used, n);
		left -= n;
		assert_int_equal(r, left == 0);
	}
	assert_true(f.oversized);
	assert_null(f.body);
	assert_int_equal(f.h.length, TTRPC_MAX_PAYLOAD + 5);

	const uint8_t bad[] = {'H', 'T', 'T', 'P', '/', '1', '.', '1', ' ', '4'};
	assert_int_equal(ttrpc_rx_feed(&rx, bad, sizeof(bad), &used, &f), -EPROTO);
	ttrpc_rx_exit(&rx);
}

static int echo(void *ctx, const struct ttrpc_request *req, struct ttrpc_response *resp)
{
	resp->payload = malloc(req->payload_len + 1);
	if (req->payload_len)
		memcpy(resp->payload, req->payload, req->payload_len);
	resp->payload_len = req->payload_len;
	return 0;
}

static const struct ttrpc_method methods[] = {{SVC, "Echo", echo}};

static void expect_status(int fd, uint32_t id, int code, const char *msg)
{
	uint32_t got_id = 0;
	int got_code = -1;
	char *got_msg = NULL;
	assert_int_equal(tt_raw_response(fd, &got_id, &got_code, &got_msg, NULL, NULL), 0);
	assert_int_equal(got_id, id);
	assert_int_equal(got_code, code);
	if (msg)
		assert_string_equal(got_msg, msg);
	free(got_msg);
}

static void expect_echo(int fd, uint32_t id, const char *text)
{
	uint32_t got_id = 0;
	int code = -1;
	char *msg = NULL;
	uint8_t *p = NULL;
	size_t len = 0;
	assert_int_equal(tt_raw_response(fd, &got_id, &code, &msg, &p, &len), 0);
	assert_int_equal(got_id, id);
	assert_int_equal(code, 0);
	assert_int_equal(len, strlen(text));
	assert_memory_equal(p, text, len);
	free(p);
	free(msg);
}

static void server_short_reads(void **state)
{
	struct tt_server ts;
	int fd;
	tt_server_start(&ts, methods, 1, NULL, &fd);
	assert_int_equal(tt_raw_request(fd, 1, 0, SVC, "Echo", "slow", 4, 1), 0);
	expect_echo(fd, 1, "slow");
	assert_int_equal(tt_raw_request(fd, 3, 0, SVC, "Echo", "fast", 4, 0), 0);
	expect_echo(fd, 3, "fast");
	close(fd);
	assert_int_equal(tt_server_join(&ts), 0);
}

struct blob {
	int fd;
	uint32_t len;
};

static void *write_zeros(void *arg)
{
	struct blob *b = arg;
	uint8_t *z = calloc(1, b->len);
	fd_write_full(b->fd, z, b->len);
	free(z);
	return NULL;
}

static void server_oversized_request(void **state)
{
	struct tt_server ts;
	int fd;
	tt_server_start(&ts, methods, 1, NULL, &fd);
	uint8_t hdr[TTRPC_HEADER_SIZE];
	struct ttrpc_frame_header h = {TTRPC_MAX_PAYLOAD + 1, 1, TTRPC_REQUEST, 0};
	ttrpc_header_encode(hdr, &h);
	assert_int_equal(fd_write_full(fd, hdr, sizeof(hdr)), sizeof(hdr));
	struct blob b = {fd, h.length};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, write_zeros, &b), 0);
	expect_status(fd, 1, TTRPC_RESOURCE_EXHAUSTED,
	              "message length 4194305 exceed maximum message size of 4194304");
	pthread_join(t, NULL);
	/* the connection stays usable, as with ttrpc-go */
	assert_int_equal(tt_raw_request(fd, 3, 0, SVC, "Echo", "ok", 2, 0), 0);
	expect_echo(fd, 3, "ok");
	close(fd);
	assert_int_equal(tt_server_join(&ts), 0);
}

static void server_rejects_bad_streams(void **state)
{
	struct tt_server ts;
	int fd;
	tt_server_start(&ts, methods, 1, NULL, &fd);
	assert_int_equal(tt_raw_request(fd, 2, 0, SVC, "Echo", "x", 1, 0), 0);
	expect_status(fd, 2, TTRPC_INVALID_ARGUMENT,
	              "StreamID must be odd for client initiated streams");
	assert_int_equal(tt_raw_request(fd, 5, 0, SVC, "Echo", "x", 1, 0), 0);
	expect_echo(fd, 5, "x");
	assert_int_equal(tt_raw_request(fd, 3, 0, SVC, "Echo", "x", 1, 0), 0);
	expect_status(fd, 3, TTRPC_INVALID_ARGUMENT,
	              "StreamID cannot be re-used and must increment");
	/* streaming is not served */
	assert_int_equal(tt_raw_request(fd, 7, TTRPC_FLAG_REMOTE_OPEN, SVC, "Echo", "x", 1, 0), 0);
	expect_status(fd, 7, TTRPC_UNIMPLEMENTED, NULL);
	/* Data on a stream that is not open */
	const uint8_t data[] = {0, 0, 0, 0, 0, 0, 0, 9, TTRPC_DATA, 1};
	assert_int_equal(fd_write_full(fd, data, sizeof(data)), sizeof(data));
	expect_status(fd, 9, TTRPC_INVALID_ARGUMENT, "StreamID is no longer active");
	/* an unknown message type is ignored; a bad Request body is not */
	const uint8_t future[] = {0, 0, 0, 1, 0, 0, 0, 11, 0x42, 0, 0};
	assert_int_equal(fd_write_full(fd, future, sizeof(future)), sizeof(future));
	const uint8_t junk[] = {0, 0, 0, 2, 0, 0, 0, 13, TTRPC_REQUEST, 0, 0xff, 0xff};
	assert_int_equal(fd_write_full(fd, junk, sizeof(junk)), sizeof(junk));
	expect_status(fd, 13, TTRPC_INVALID_ARGUMENT, NULL);
	assert_int_equal(tt_raw_request(fd, 15, 0, SVC, "Echo", "y", 1, 0), 0);
	expect_echo(fd, 15, "y");
	close(fd);
	assert_int_equal(tt_server_join(&ts), 0);
}

static void server_closes_on_garbage(void **state)
{
	struct tt_server ts;
	int fd;
	tt_server_start(&ts, methods, 1, NULL, &fd);
	const char *http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	assert_int_equal(fd_write_full(fd, http, strlen(http)), (ssize_t)strlen(http));
	struct ttrpc_frame_header h;
	uint8_t *body = NULL;
	assert_int_equal(tt_raw_read(fd, &h, &body), -EPIPE); /* closed, no answer */
	assert_int_equal(tt_server_join(&ts), -EPROTO);
	close(fd);
}

static void server_eof_mid_frame(void **state)
{
	struct tt_server ts;
	int fd;
	tt_server_start(&ts, methods, 1, NULL, &fd);
	const uint8_t part[] = {0, 0, 0, 9, 0, 0, 0, 1, TTRPC_REQUEST, 0, 0x0a};
	assert_int_equal(fd_write_full(fd, part, sizeof(part)), sizeof(part));
	close(fd);
	assert_int_equal(tt_server_join(&ts), -EPIPE);
}

static void response_decode_rejects_junk(void **state)
{
	uint8_t *p = NULL;
	size_t len = 0;
	struct ttrpc_status st = {0};
	const uint8_t junk[] = {0x12, 0x10, 1};
	assert_int_equal(ttrpc_response_decode(junk, sizeof(junk), &p, &len, &st), -EPROTO);
	assert_null(p);
	/* a response with no status at all is OK (proto3 default) */
	const uint8_t only_payload[] = {0x12, 0x02, 'h', 'i'};
	assert_int_equal(ttrpc_response_decode(only_payload, sizeof(only_payload), &p, &len, &st),
	                 0);
	assert_int_equal(len, 2);
	assert_memory_equal(p, "hi", 2);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(header_encode_decode),
	    cmocka_unit_test(rx_reassembles_any_split),
	    cmocka_unit_test(rx_discards_oversized_and_rejects_reserved_byte),
	    cmocka_unit_test(server_short_reads),
	    cmocka_unit_test(server_oversized_request),
	    cmocka_unit_test(server_rejects_bad_streams),
	    cmocka_unit_test(server_closes_on_garbage),
	    cmocka_unit_test(server_eof_mid_frame),
	    cmocka_unit_test(response_decode_rejects_junk),
	};
	return cmocka_run_group_tests_name("lib/ttrpc_wire", tests, NULL, NULL);
}
