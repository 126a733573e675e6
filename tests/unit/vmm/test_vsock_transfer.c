// SPDX-License-Identifier: Apache-2.0
/*
 * Bulk transfers through the muxer: 2 MiB in each direction at once between
 * a host unix socket and a simulated guest that behaves like Linux's virtio
 * transport (4 KiB rx buffers, credit updates as it consumes, packets up to
 * 64 KiB that respect the host's credit). The host side reads slowly so the
 * connection buffer and EPOLLOUT path carry real backpressure. Both streams
 * must arrive byte-exact, and the guest's credit is checked on every packet.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/fd.h"
#include "vsock_sim.h"

#define SIZE        (2u * 1024 * 1024 + 4321)
#define GUEST_ALLOC (128u * 1024) /* the guest's receive buffer */
#define GPORT       5000

static uint8_t pattern(uint32_t i, uint32_t seed)
{
	uint32_t x = (i + seed) * 2654435761u;
	return (uint8_t)(x >> 24);
}

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

struct xfer {
	struct vsock_sim s;
	int fd; /* host end, non-blocking */
	uint32_t lport, gport;
	/* host -> guest */
	uint32_t h_sent, g_rcvd, g_fwd_told;
	bool g_eof;
	/* guest -> host */
	uint32_t g_sent, h_rcvd, host_alloc, host_fwd;
	bool g_shut_sent, h_eof, rst;
	uint64_t sum_h2g, sum_g2h;
	unsigned credit_updates_from_host;
};

static void guest_send(struct xfer *x, uint16_t op, uint32_t flags, const void *d, uint32_t len)
{
	assert_int_equal(
	    vsock_sim_send(&x->s, op, x->gport, x->lport, flags, GUEST_ALLOC, x->g_rcvd, d, len),
	    0);
	x->g_fwd_told = x->g_rcvd;
}

/* The guest takes every packet the muxer has for it. */
static void guest_rx(struct xfer *x)
{
	uint8_t buf[4096];
	struct vsock_hdr h;
	while (vsock_sim_recv(&x->s, &h, buf, sizeof(buf)) == 0) {
		assert_int_equal(h.dst_port, x->gport);
		x->host_alloc = h.buf_alloc;
		x->host_fwd = h.fwd_cnt;
		switch (h.op) {
		case VSOCK_OP_RW:
			assert_false(x->g_eof);
			for (uint32_t i = 0; i < h.len; i++)
				if (buf[i] != pattern(x->g_rcvd + i, 1))
					fail_msg("host->guest byte %u wrong", x->g_rcvd + i);
			x->sum_h2g = fnv(x->sum_h2g, buf, h.len);
			x->g_rcvd += h.len;
			/* The muxer must stay within what we advertised. */
			assert_true(x->g_rcvd - x->g_fwd_told <= GUEST_ALLOC);
			break;
		case VSOCK_OP_SHUTDOWN:
			assert_int_equal(h.flags & VSOCK_SHUTDOWN_SEND, VSOCK_SHUTDOWN_SEND);
			x->g_eof = true;
			break;
		case VSOCK_OP_CREDIT_UPDATE:
			x->credit_updates_from_host++;
			break;
		case VSOCK_OP_CREDIT_REQUEST:
			guest_send(x, VSOCK_OP_CREDIT_UPDATE, 0, NULL, 0);
			break;
		case VSOCK_OP_RST:
			x->rst = true;
			return;
		default:
			fail_msg("unexpected %s", vsock_op_name(h.op));
		}
		/* Like Linux: tell the peer once a good part of the buffer is free. */
		if (x->g_rcvd - x->g_fwd_told >= GUEST_ALLOC / 4)
			guest_send(x, VSOCK_OP_CREDIT_UPDATE, 0, NULL, 0);
	}
}

static void guest_tx(struct xfer *x)
{
	static uint8_t chunk[VSOCK_MAX_PKT_LEN];
	while (x->g_sent < SIZE) {
		uint32_t credit = x->host_alloc - (x->g_sent - x->host_fwd);
		uint32_t n = SIZE - x->g_sent;
		/* Vary packet sizes: 1 byte .. 64 KiB. */
		uint32_t cap = 1 + (x->g_sent * 7919u) % VSOCK_MAX_PKT_LEN;
		n = n < cap ? n : cap;
		n = n < credit ? n : credit;
		if (n == 0)
			return;
		for (uint32_t i = 0; i < n; i++)
			chunk[i] = pattern(x->g_sent + i, 2);
		guest_send(x, VSOCK_OP_RW, 0, chunk, n);
		x->g_sent += n;
	}
	if (!x->g_shut_sent) {
		guest_send(x, VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_SEND, NULL, 0);
		x->g_shut_sent = true;
	}
}

static void host_io(struct xfer *x)
{
	static uint8_t buf[64 * 1024];
	if (x->h_sent < SIZE) {
		uint32_t n = SIZE - x->h_sent < sizeof(buf) ? SIZE - x->h_sent : sizeof(buf);
		for (uint32_t i = 0; i < n; i++)
			buf[i] = pattern(x->h_sent + i, 1);
		ssize_t w = send(x->fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w > 0)
			x->h_sent += (uint32_t)w;
		else
			assert_true(errno == EAGAIN);
		if (x->h_sent == SIZE)
			shutdown(x->fd, SHUT_WR);
	}
	/* A slow reader: at most 8 KiB per round, so guest data piles up. */
	ssize_t r = recv(x->fd, buf, 8192, MSG_DONTWAIT);
	if (r > 0) {
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] != pattern(x->h_rcvd + (uint32_t)i, 2))
				fail_msg("guest->host byte %u wrong", x->h_rcvd + (uint32_t)i);
		x->sum_g2h = fnv(x->sum_g2h, buf, (size_t)r);
		x->h_rcvd += (uint32_t)r;
	} else if (r == 0) {
		x->h_eof = true;
	} else {
		assert_true(errno == EAGAIN);
	}
}

static void run(struct xfer *x)
{
	uint64_t expect = fnv(0xcbf29ce484222325ull, NULL, 0);
	for (uint32_t i = 0; i < SIZE; i++) {
		uint8_t b = pattern(i, 1);
		expect = fnv(expect, &b, 1);
	}
	x->sum_h2g = x->sum_g2h = 0xcbf29ce484222325ull;
	time_t start = time(NULL);
	while (!(x->g_eof && x->h_eof && x->rst)) {
		if (time(NULL) - start > 60)
			fail_msg("stalled: h->g %u/%u, g->h sent %u rcvd %u", x->g_rcvd, SIZE,
				 x->g_sent, x->h_rcvd);
		struct pollfd p[2] = {{.fd = vsock_muxer_fd(x->s.m), .events = POLLIN},
				      {.fd = x->fd, .events = POLLIN}};
		poll(p, 2, 1);
		host_io(x);
		guest_rx(x);
		guest_tx(x);
	}
	assert_int_equal(x->g_rcvd, SIZE);
	assert_int_equal(x->h_rcvd, SIZE);
	assert_true(x->sum_h2g == expect);
	uint64_t expect2 = 0xcbf29ce484222325ull;
	for (uint32_t i = 0; i < SIZE; i++) {
		uint8_t b = pattern(i, 2);
		expect2 = fnv(expect2, &b, 1);
	}
	assert_true(x->sum_g2h == expect2);
	/* The slow host reader forced the muxer to hand out credit on its own. */
	assert_true(x->credit_updates_from_host > 0);
	assert_int_equal(vsock_muxer_conn_count(x->s.m), 0);
	printf("# %u bytes each way, fnv %016llx / %016llx, %u credit updates\n", SIZE,
	       (unsigned long long)x->sum_h2g, (unsigned long long)x->sum_g2h,
	       x->credit_updates_from_host);
}

static void host_initiated_2mib_both_ways(void **state)
{
	struct xfer *x = calloc(1, sizeof(*x));
	int fds = vsock_sim_fd_count();
	assert_int_equal(vsock_sim_init(&x->s, NULL), 0);
	x->fd = vsock_sim_client(&x->s);
	assert_true(x->fd >= 0);
	assert_int_equal(write(x->fd, "CONNECT 5000\n", 13), 13);
	struct vsock_hdr req;
	uint8_t b[64];
	assert_int_equal(vsock_sim_wait(&x->s, &req, b, sizeof(b), 2000), 0);
	assert_int_equal(req.op, VSOCK_OP_REQUEST);
	x->lport = req.src_port;
	x->gport = GPORT;
	x->host_alloc = req.buf_alloc;
	guest_send(x, VSOCK_OP_RESPONSE, 0, NULL, 0);
	char ok[32] = {0};
	int n = snprintf(ok, sizeof(ok), "OK %u\n", x->lport);
	char got[32] = {0};
	assert_int_equal(fd_read_full(x->fd, got, (size_t)n), n);
	assert_string_equal(got, ok);
	fd_set_nonblock(x->fd, 1);
	run(x);
	close(x->fd);
	vsock_sim_exit(&x->s);
	assert_int_equal(vsock_sim_fd_count(), fds);
	free(x);
}

static void guest_initiated_2mib_both_ways(void **state)
{
	struct xfer *x = calloc(1, sizeof(*x));
	int fds = vsock_sim_fd_count();
	assert_int_equal(vsock_sim_init(&x->s, NULL), 0);
	int lfd = vsock_sim_listen(&x->s, 1024);
	x->lport = 1024;
	x->gport = GPORT;
	guest_send(x, VSOCK_OP_REQUEST, 0, NULL, 0);
	struct vsock_hdr resp;
	uint8_t b[64];
	assert_int_equal(vsock_sim_wait(&x->s, &resp, b, sizeof(b), 2000), 0);
	assert_int_equal(resp.op, VSOCK_OP_RESPONSE);
	x->host_alloc = resp.buf_alloc;
	x->fd = accept(lfd, NULL, NULL);
	assert_true(x->fd >= 0);
	fd_set_nonblock(x->fd, 1);
	run(x);
	close(x->fd);
	close(lfd);
	vsock_sim_exit(&x->s);
	assert_int_equal(vsock_sim_fd_count(), fds);
	free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(host_initiated_2mib_both_ways),
	    cmocka_unit_test(guest_initiated_2mib_both_ways),
	};
	return cmocka_run_group_tests_name("vmm/vsock_transfer", tests, NULL, NULL);
}
