// SPDX-License-Identifier: Apache-2.0
/* The per-connection byte ring: all-or-nothing pushes bounded by the
 * capacity, partial flushes into a full socket, wrap-around, byte order. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../../vmm/vsock_ring.h"

static void push_is_all_or_nothing(void **state)
{
	struct vsock_ring r;
	vsock_ring_init(&r, 10);
	uint8_t a[6] = "abcdef", b[6] = "ghijkl";
	struct iovec iov[2] = {{a, 6}, {b, 6}};
	assert_int_equal(vsock_ring_push(&r, iov, 2, 0), -ENOBUFS);
	assert_int_equal(r.len, 0);
	assert_null(r.buf); /* nothing allocated for a refused push */
	assert_int_equal(vsock_ring_push(&r, iov, 2, 3), 9); /* skip part of the first */
	assert_int_equal(r.len, 9);
	assert_int_equal(vsock_ring_room(&r), 1);
	assert_int_equal(vsock_ring_push(&r, iov, 1, 6), 0); /* everything skipped */
	assert_memory_equal(r.buf, "defghijkl", 9);
	vsock_ring_exit(&r);
}

static void flush_wraps_and_keeps_order(void **state)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	struct vsock_ring r;
	vsock_ring_init(&r, 8);
	uint8_t out[64];
	size_t got = 0;
	uint8_t next = 0;
	/* Push 5, flush 5, push 5 (wraps), flush, many rounds. */
	for (int round = 0; round < 20; round++) {
		uint8_t chunk[5];
		for (int i = 0; i < 5; i++)
			chunk[i] = next++;
		struct iovec iov = {chunk, 5};
		assert_int_equal(vsock_ring_push(&r, &iov, 1, 0), 5);
		assert_int_equal(vsock_ring_flush(&r, sv[0]), 5);
		assert_int_equal(r.len, 0);
		ssize_t n = read(sv[1], out, sizeof(out));
		assert_int_equal(n, 5);
		for (int i = 0; i < 5; i++)
			assert_int_equal(out[i], (uint8_t)(got + i));
		got += 5;
	}
	assert_int_equal(vsock_ring_flush(&r, sv[0]), 0); /* empty */
	vsock_ring_exit(&r);
	close(sv[0]);
	close(sv[1]);
}

static void flush_into_full_socket(void **state)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	static uint8_t junk[4096];
	while (send(sv[0], junk, sizeof(junk), MSG_DONTWAIT) > 0)
		;
	struct vsock_ring r;
	vsock_ring_init(&r, 100);
	struct iovec iov = {junk, 100};
	assert_int_equal(vsock_ring_push(&r, &iov, 1, 0), 100);
	assert_int_equal(vsock_ring_flush(&r, sv[0]), -EAGAIN);
	assert_int_equal(r.len, 100); /* kept, not dropped */
	close(sv[1]);
	assert_int_equal(vsock_ring_flush(&r, sv[0]), -EPIPE); /* no SIGPIPE */
	vsock_ring_exit(&r);
	close(sv[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(push_is_all_or_nothing),
	    cmocka_unit_test(flush_wraps_and_keeps_order),
	    cmocka_unit_test(flush_into_full_socket),
	};
	return cmocka_run_group_tests_name("vmm/vsock_ring", tests, NULL, NULL);
}
