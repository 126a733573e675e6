// SPDX-License-Identifier: Apache-2.0
/*
 * The hybrid vsock muxer against real unix sockets in a /tmp directory and a
 * simulated guest: host- and guest-initiated streams, the CONNECT handshake,
 * RST paths, credit, half-close, timeouts, limits and fd hygiene.
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vsock_sim.h"

#define GUEST_BUF (64 * 1024)
#define T         2000 /* ms: generous test timeouts */

struct env {
	struct vsock_sim s;
	int fds_before;
	uint8_t buf[GUEST_BUF];
};

static int setup_cfg(void **state, const struct vsock_muxer_config *cfg)
{
	struct env *e = calloc(1, sizeof(*e));
	e->fds_before = vsock_sim_fd_count();
	assert_int_equal(vsock_sim_init(&e->s, cfg), 0);
	*state = e;
	return 0;
}

static int setup(void **state)
{
	return setup_cfg(state, NULL);
}

static int setup_fast_timeouts(void **state)
{
	struct vsock_muxer_config cfg = {.connect_timeout_ms = 50, .handshake_timeout_ms = 50};
	return setup_cfg(state, &cfg);
}

static int setup_fast_shutdown(void **state)
{
	struct vsock_muxer_config cfg = {.shutdown_timeout_ms = 50};
	return setup_cfg(state, &cfg);
}

static int setup_two_conns(void **state)
{
	struct vsock_muxer_config cfg = {.max_conns = 2};
	return setup_cfg(state, &cfg);
}

static int teardown(void **state)
{
	struct env *e = *state;
	vsock_sim_exit(&e->s);
	/* Every socket the muxer opened is closed again. */
	assert_int_equal(vsock_sim_fd_count(), e->fds_before);
	free(e);
	return 0;
}

/* Take the next packet, failing the test if none comes. */
static struct vsock_hdr expect_pkt(struct env *e, uint16_t op)
{
	struct vsock_hdr h;
	int r = vsock_sim_wait(&e->s, &h, e->buf, sizeof(e->buf), T);
	if (r != 0)
		fail_msg("no packet (wanted %s): %d", vsock_op_name(op), r);
	if (h.op != op)
		fail_msg("got %s, wanted %s", vsock_op_name(h.op), vsock_op_name(op));
	assert_int_equal(h.src_cid, VSOCK_HOST_CID);
	assert_int_equal(h.dst_cid, SIM_CID);
	assert_int_equal(h.type, VSOCK_TYPE_STREAM);
	return h;
}

static void expect_nothing(struct env *e)
{
	struct vsock_hdr h;
	int r = vsock_sim_wait(&e->s, &h, e->buf, sizeof(e->buf), 50);
	if (r == 0)
		fail_msg("unexpected %s packet", vsock_op_name(h.op));
}

static void write_str(int fd, const char *s)
{
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

static void expect_eof(struct env *e, int fd)
{
	char c;
	for (int i = 0; i < 100; i++) {
		vsock_sim_pump(&e->s, 10);
		ssize_t r = vsock_sim_read(fd, &c, 1, 10);
		if (r == 0 || r == -ECONNRESET)
			return;
		if (r != -ETIMEDOUT)
			fail_msg("expected EOF, read returned %zd", r);
	}
	fail_msg("host socket was not closed");
}

/* Host client sends CONNECT; returns the REQUEST the guest sees. */
static struct vsock_hdr host_connect(struct env *e, int *fd, uint32_t port)
{
	char line[32];
	*fd = vsock_sim_client(&e->s);
	assert_true(*fd >= 0);
	snprintf(line, sizeof(line), "CONNECT %u\n", port);
	write_str(*fd, line);
	struct vsock_hdr req = expect_pkt(e, VSOCK_OP_REQUEST);
	assert_int_equal(req.dst_port, port);
	assert_true(req.src_port >= (1u << 30));
	assert_int_equal(req.len, 0);
	assert_int_equal(req.buf_alloc, 256 * 1024);
	return req;
}

/* Full host-initiated stream: CONNECT, guest accepts, "OK <port>\n". */
static struct vsock_hdr host_stream(struct env *e, int *fd, uint32_t port)
{
	struct vsock_hdr req = host_connect(e, fd, port);
	assert_int_equal(
	    vsock_sim_send(&e->s, VSOCK_OP_RESPONSE, port, req.src_port, 0, GUEST_BUF, 0, NULL, 0),
	    0);
	char want[32], got[32] = {0};
	snprintf(want, sizeof(want), "OK %u\n", req.src_port);
	assert_int_equal(vsock_sim_read(*fd, got, strlen(want), T), (ssize_t)strlen(want));
	assert_string_equal(got, want);
	return req;
}

static void host_connect_relays_both_ways(void **state)
{
	struct env *e = *state;
	int fd;
	struct vsock_hdr req = host_stream(e, &fd, 1234);
	assert_int_equal(vsock_muxer_conn_count(e->s.m), 1);

	write_str(fd, "hello");
	struct vsock_hdr rw = expect_pkt(e, VSOCK_OP_RW);
	assert_int_equal(rw.len, 5);
	assert_memory_equal(e->buf, "hello", 5);
	assert_int_equal(rw.src_port, req.src_port);
	assert_int_equal(rw.dst_port, 1234);

	assert_int_equal(
	    vsock_sim_send(&e->s, VSOCK_OP_RW, 1234, req.src_port, 0, GUEST_BUF, 5, "world", 5), 0);
	char got[8] = {0};
	assert_int_equal(vsock_sim_read(fd, got, 5, T), 5);
	assert_string_equal(got, "world");
	close(fd);
	/* Host closed: the guest hears SHUTDOWN, answers with its own, gets RST. */
	struct vsock_hdr sd = expect_pkt(e, VSOCK_OP_SHUTDOWN);
	assert_int_equal(sd.flags, VSOCK_SHUTDOWN_SEND);
	vsock_sim_send(&e->s, VSOCK_OP_SHUTDOWN, 1234, req.src_port, VSOCK_SHUTDOWN_BOTH, GUEST_BUF,
		       5, NULL, 0);
	expect_pkt(e, VSOCK_OP_RST);
	assert_int_equal(vsock_muxer_conn_count(e->s.m), 0);
}

static void host_connect_guest_refuses(void **state)
{
	struct env *e = *state;
	int fd;
	struct vsock_hdr req = host_connect(e, &fd, 77);
	vsock_sim_send(&e->s, VSOCK_OP_RST, 77, req.src_port, 0, 0, 0, NULL, 0);
	expect_eof(e, fd);
	expect_nothing(e); /* no RST answered to an RST */
	assert_int_equal(vsock_muxer_conn_count(e->s.m), 0);
	close(fd);
}

static void host_connect_bytes_after_line_are_kept(void **state)
{
	struct env *e = *state;
	int fd = vsock_sim_client(&e->s);
	write_str(fd, "CONNECT 9\nearly bytes");
	struct vsock_hdr req = expect_pkt(e, VSOCK_OP_REQUEST);
	vsock_sim_send(&e->s, VSOCK_OP_RESPONSE, 9, req.src_port, 0, GUEST_BUF, 0, NULL, 0);
	struct vsock_hdr rw = expect_pkt(e, VSOCK_OP_RW);
	assert_int_equal(rw.len, 11);
	assert_memory_equal(e->buf, "early bytes", 11);
	char ok[32] = {0};
	assert_true(vsock_sim_read(fd, ok, sizeof(ok) - 1, T) > 0);
	assert_int_equal(strncmp(ok, "OK ", 3), 0);
	close(fd);
}

static void host_connect_partial_line(void **state)
{
	struct env *e = *state;
	int fd = vsock_sim_client(&e->s);
	write_str(fd, "CONN");
	expect_nothing(e);
	write_str(fd, "ECT 4");
	expect_nothing(e);
	write_str(fd, "2\n");
	struct vsock_hdr req = expect_pkt(e, VSOCK_OP_REQUEST);
	assert_int_equal(req.dst_port, 42);
	close(fd);
}

static void host_connect_bad_lines_close(void **state)
{
	struct env *e = *state;
	static const char *const bad[] = {
	    "CONNECT x\n",
	    "connect 1\n",
	    "CONNECT 4294967296\n",
	    "CONNECT \n",
	    "HELLO\n",
	    "CONNECT 1234567890123456789012345678901234567890", /* no newline, too long */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int fd = vsock_sim_client(&e->s);
		write_str(fd, bad[i]);
		expect_eof(e, fd);
		close(fd);
	}
	expect_nothing(e);
	assert_int_equal(vsock_muxer_conn_count(e->s.m), 0);
}

static void host_connect_guest_never_answers(void **state)
{
	struct env *e = *state;
	int fd;
	struct vsock_hdr req = host_connect(e, &fd, 5);
	usleep(80 * 1000);
	expect_eof(e, fd);
	/* The guest is told to forget the request. */
	struct vsock_hdr rst = expect_pkt(e, VSOCK_OP_RST);
	assert_int_equal(rst.src_port, req.src_port);
	assert_int_equal(rst.dst_port, 5);
	close(fd);
	assert_int_equal(vsock_muxer_conn_count(e->s.m), 0);
}

static void host_client_silent_is_dropped(void **state)
{
	struct env *e = *state;
	int fd = vsock_sim_client(&e->s);
	usleep(80 * 1000);
	expect_eof(e, fd);
	close(fd);
}

/* Guest REQUEST to host port; returns the accepted host-side fd. */
static int guest_stream(struct env *e, int lfd, uint32_t gport, uint32_t hport)
{
	assert_int_equal(
	    vsock_sim_send(&e->s, VSOCK_OP_REQUEST, gport, hport, 0, GUEST_BUF, 0, NULL, 0), 0);
	struct vsock_hdr resp = expect_pkt(e, VSOCK_OP_RESPONSE);
	assert_int_equal(resp.src_port, hport);
	assert_int_equal(resp.dst_port, gport);
	int fd = accept(lfd, NULL, NULL);
	assert_true(fd >= 0);
	return fd;
}

static void guest_connect_relays_both_ways(void **state)
{
	struct env *e = *state;
	int lfd = vsock_sim_listen(&e->s, 52);
	int fd = guest_stream(e, lfd, 4000, 52);
	vsock_sim_send(&e->s, VSOCK_OP_RW, 4000, 52, 0, GUEST_BUF, 0, "ping", 4);
	char got[8] = {0};
	assert_int_equal(vsock_sim_read(fd, got, 4, T), 4);
	assert_string_equal(got, "ping");
	write_str(fd, "pong!");
	struct vsock_hdr rw = expect_pkt(e, VSOCK_OP_RW);
	assert_int_equal(rw.len, 5);
	assert_memory_equal(e->buf, "pong!", 5);
	assert_int_equal(rw.fwd_cnt, 4); /* our consumed count rides along */
	/* Guest RST: the host socket closes, nothing is answered. */
	vsock_sim_send(&e->s, VSOCK_OP_RST, 4000, 52, 0, 0, 0, NULL, 0);
	expect_eof(e, fd);
	expect_nothing(e);
	close(fd);
	close(lfd);
}

static void guest_connect_nothing_listens(void **state)
{
	struct env *e = *state;
	vsock_sim_send(&e->s, VSOCK_OP_REQUEST, 4001, 53, 0, GUEST_BUF, 0, NULL, 0);
	struct vsock_hdr rst = expect_pkt(e, VSOCK_OP_RST);
	assert_int_equal(rst.src_port, 53);
	assert_int_equal(rst.dst_port, 4001);
	assert_int_equal(vsock_muxer_conn_count(e->s.m), 0);
}

static void stray_and_bad_packets(void **state)
{
	struct env *e = *state;
	/* Data for a stream that does not exist: RST. */
	vsock_sim_send(&e->s, VSOCK_OP_RW, 1, 2, 0, GUEST_BUF, 0, "x", 1);
	struct vsock_hdr rst = expect_pkt(e, VSOCK_OP_RST);
	assert_int_equal(rst.src_port, 2);
	assert_int_equal(rst.dst_port, 1);
	/* Unknown op: RST. */
	vsock_sim_send(&e->s, 42, 1, 2, 0, GUEST_BUF, 0, NULL, 0);
	expect_pkt(e, VSOCK_OP_RST);
	/* Too long: RST, without reading past what was given. */
	static uint8_t big[VSOCK_MAX_PKT_LEN + 1];
	vsock_sim_send(&e->s, VSOCK_OP_RW, 1, 2, 0, GUEST_BUF, 0, big, sizeof(big));
	expect_pkt(e, VSOCK_OP_RST);
	/* Wrong source cid: silently dropped. */
	struct vsock_hdr h = {.src_cid = 9, .dst_cid = 2, .type = 1, .op = VSOCK_OP_REQUEST};
	assert_int_equal(vsock_muxer_tx(e->s.m, &h, NULL, 0), 0);
	expect_nothing(e);
	/* Payload length that does not match the data handed in. */
	h.src_cid = SIM_CID;
	h.len = 10;
	h.op = VSOCK_OP_RW;
	struct iovec iov = {big, 5};
	assert_int_equal(vsock_muxer_tx(e->s.m, &h, &iov, 1), -EINVAL);
	expect_nothing(e);
	/* A flood of stray packets queues a bounded number of RSTs. */
	for (int i = 0; i < 10000; i++)
		vsock_sim_send(&e->s, VSOCK_OP_RW, (uint32_t)i, 2, 0, 0, 0, "x", 1);
	int n = 0;
	while (vsock_sim_recv(&e->s, &h, e->buf, sizeof(e->buf)) == 0)
		n++;
	assert_true(n > 0 && n <= 64);
}

static void guest_cannot_exceed_max_conns(void **state)
{
	struct env *e = *state;
	int lfd = vsock_sim_listen(&e->s, 60);
	int a = guest_stream(e, lfd, 1, 60);
	int b = guest_stream(e, lfd, 2, 60);
	vsock_sim_send(&e->s, VSOCK_OP_REQUEST, 3, 60, 0, GUEST_BUF, 0, NULL, 0);
	struct vsock_hdr rst = expect_pkt(e, VSOCK_OP_RST);
	assert_int_equal(rst.dst_port, 3);
	assert_int_equal(vsock_muxer_conn_count(e->s.m), 2);
	/* A duplicate REQUEST on an open stream resets it. */
	vsock_sim_send(&e->s, VSOCK_OP_REQUEST, 1, 60, 0, GUEST_BUF, 0, NULL, 0);
	expect_pkt(e, VSOCK_OP_RST);
	expect_eof(e, a);
	assert_int_equal(vsock_muxer_conn_count(e->s.m), 1);
	close(a);
	close(b);
	close(lfd);
}

static void credit_limits_host_to_guest(void **state)
{
	struct env *e = *state;
	int lfd = vsock_sim_listen(&e->s, 70);
	/* The guest offers only 1000 bytes of buffer. */
	vsock_sim_send(&e->s, VSOCK_OP_REQUEST, 7, 70, 0, 1000, 0, NULL, 0);
	expect_pkt(e, VSOCK_OP_RESPONSE);
	int fd = accept(lfd, NULL, NULL);
	static uint8_t data[5000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	assert_int_equal(write(fd, data, sizeof(data)), (ssize_t)sizeof(data));

	uint32_t got = 0;
	struct vsock_hdr h;
	static uint8_t rcv[5000];
	for (uint32_t fwd = 0; got < sizeof(data); fwd = got) {
		/* Drain everything the muxer will send on the current credit. */
		while (vsock_sim_wait(&e->s, &h, e->buf, sizeof(e->buf), 50) == 0) {
			if (h.op == VSOCK_OP_CREDIT_REQUEST)
				continue;
			assert_int_equal(h.op, VSOCK_OP_RW);
			memcpy(rcv + got, e->buf, h.len);
			got += h.len;
			assert_true(got - fwd <= 1000); /* never beyond the credit */
		}
		assert_int_equal(got - fwd, got < sizeof(data) ? 1000 : got - fwd);
		/* The guest consumed it: credit update, the flow resumes. */
		vsock_sim_send(&e->s, VSOCK_OP_CREDIT_UPDATE, 7, 70, 0, 1000, got, NULL, 0);
	}
	assert_memory_equal(rcv, data, sizeof(data));
	close(fd);
	close(lfd);
}

static void guest_credit_request_answered(void **state)
{
	struct env *e = *state;
	int lfd = vsock_sim_listen(&e->s, 71);
	int fd = guest_stream(e, lfd, 8, 71);
	vsock_sim_send(&e->s, VSOCK_OP_RW, 8, 71, 0, GUEST_BUF, 0, "abc", 3);
	vsock_sim_send(&e->s, VSOCK_OP_CREDIT_REQUEST, 8, 71, 0, GUEST_BUF, 0, NULL, 0);
	struct vsock_hdr cu = expect_pkt(e, VSOCK_OP_CREDIT_UPDATE);
	assert_int_equal(cu.buf_alloc, 256 * 1024);
	assert_int_equal(cu.fwd_cnt, 3);
	close(fd);
	close(lfd);
}

static void guest_overrunning_credit_is_reset(void **state)
{
	struct env *e = *state;
	int lfd = vsock_sim_listen(&e->s, 72);
	int fd = guest_stream(e, lfd, 9, 72);
	/* The host never reads: the socket fills, then the connection buffer. */
	static uint8_t chunk[VSOCK_MAX_PKT_LEN];
	uint32_t sent = 0, fwd = 0;
	struct vsock_hdr h;
	for (;;) {
		vsock_sim_send(&e->s, VSOCK_OP_CREDIT_REQUEST, 9, 72, 0, GUEST_BUF, 0, NULL, 0);
		assert_int_equal(vsock_sim_recv(&e->s, &h, e->buf, sizeof(e->buf)), 0);
		assert_int_equal(h.op, VSOCK_OP_CREDIT_UPDATE);
		fwd = h.fwd_cnt;
		uint32_t credit = h.buf_alloc - (sent - fwd);
		if (credit == 0)
			break;
		uint32_t n = credit < sizeof(chunk) ? credit : sizeof(chunk);
		vsock_sim_send(&e->s, VSOCK_OP_RW, 9, 72, 0, GUEST_BUF, 0, chunk, n);
		sent += n;
		assert_int_equal(vsock_muxer_conn_count(e->s.m), 1);
	}
	assert_true(sent - fwd == 256 * 1024); /* buffered, not dropped */
	/* One byte more than the credit: reset. */
	vsock_sim_send(&e->s, VSOCK_OP_RW, 9, 72, 0, GUEST_BUF, 0, chunk, 1);
	expect_pkt(e, VSOCK_OP_RST);
	assert_int_equal(vsock_muxer_conn_count(e->s.m), 0);
	close(fd);
	close(lfd);
}

static void half_close_both_ways(void **state)
{
	struct env *e = *state;
	int fd;
	struct vsock_hdr req = host_stream(e, &fd, 300);
	uint32_t lp = req.src_port;
	/* Host is done sending; it can still receive. */
	shutdown(fd, SHUT_WR);
	struct vsock_hdr sd = expect_pkt(e, VSOCK_OP_SHUTDOWN);
	assert_int_equal(sd.flags, VSOCK_SHUTDOWN_SEND);
	vsock_sim_send(&e->s, VSOCK_OP_RW, 300, lp, 0, GUEST_BUF, 0, "late", 4);
	char got[8] = {0};
	assert_int_equal(vsock_sim_read(fd, got, 4, T), 4);
	assert_string_equal(got, "late");
	/* Guest done sending too: the host sees EOF, the guest gets RST. */
	vsock_sim_send(&e->s, VSOCK_OP_SHUTDOWN, 300, lp, VSOCK_SHUTDOWN_SEND, GUEST_BUF, 0, NULL,
		       0);
	expect_pkt(e, VSOCK_OP_RST);
	expect_eof(e, fd);
	close(fd);
}

static void guest_shutdown_send_gives_host_eof(void **state)
{
	struct env *e = *state;
	int lfd = vsock_sim_listen(&e->s, 73);
	int fd = guest_stream(e, lfd, 10, 73);
	vsock_sim_send(&e->s, VSOCK_OP_RW, 10, 73, 0, GUEST_BUF, 0, "bye", 3);
	vsock_sim_send(&e->s, VSOCK_OP_SHUTDOWN, 10, 73, VSOCK_SHUTDOWN_SEND, GUEST_BUF, 0, NULL,
		       0);
	char got[8] = {0};
	assert_int_equal(vsock_sim_read(fd, got, sizeof(got), T), 3);
	assert_int_equal(vsock_sim_read(fd, got, sizeof(got), T), 0); /* EOF */
	/* The host can still answer. */
	write_str(fd, "ack");
	struct vsock_hdr rw = expect_pkt(e, VSOCK_OP_RW);
	assert_memory_equal(e->buf, "ack", 3);
	(void)rw;
	close(fd);
	/* Host closes: both directions done, RST ends the stream. */
	expect_pkt(e, VSOCK_OP_RST);
	assert_int_equal(vsock_muxer_conn_count(e->s.m), 0);
	close(lfd);
}

static void guest_shutdown_rcv_stops_host_data(void **state)
{
	struct env *e = *state;
	int lfd = vsock_sim_listen(&e->s, 74);
	int fd = guest_stream(e, lfd, 11, 74);
	vsock_sim_send(&e->s, VSOCK_OP_SHUTDOWN, 11, 74, VSOCK_SHUTDOWN_RCV, GUEST_BUF, 0, NULL, 0);
	write_str(fd, "ignored");
	expect_nothing(e);
	assert_int_equal(vsock_muxer_conn_count(e->s.m), 1);
	close(fd);
	close(lfd);
}

static void reset_closes_everything(void **state)
{
	struct env *e = *state;
	int lfd = vsock_sim_listen(&e->s, 75);
	int a = guest_stream(e, lfd, 12, 75);
	int b;
	host_stream(e, &b, 13);
	int c;
	host_connect(e, &c, 14);
	assert_int_equal(vsock_muxer_conn_count(e->s.m), 3);
	vsock_muxer_reset(e->s.m);
	assert_int_equal(vsock_muxer_conn_count(e->s.m), 0);
	assert_false(vsock_muxer_has_rx(e->s.m));
	expect_eof(e, a);
	expect_eof(e, b);
	expect_eof(e, c);
	close(a);
	close(b);
	close(c);
	close(lfd);
}

static void many_streams_open_and_close_leak_nothing(void **state)
{
	struct env *e = *state;
	int lfd = vsock_sim_listen(&e->s, 76);
	int before = vsock_sim_fd_count();
	for (uint32_t i = 0; i < 50; i++) {
		int fd = guest_stream(e, lfd, 100 + i, 76);
		close(fd);
		struct vsock_hdr sd = expect_pkt(e, VSOCK_OP_SHUTDOWN);
		assert_int_equal(sd.dst_port, 100 + i);
		vsock_sim_send(&e->s, VSOCK_OP_SHUTDOWN, 100 + i, 76, VSOCK_SHUTDOWN_BOTH,
			       GUEST_BUF, 0, NULL, 0);
		expect_pkt(e, VSOCK_OP_RST);
		int h;
		struct vsock_hdr req = host_stream(e, &h, 200 + i);
		vsock_sim_send(&e->s, VSOCK_OP_RST, 200 + i, req.src_port, 0, 0, 0, NULL, 0);
		expect_eof(e, h);
		close(h);
	}
	assert_int_equal(vsock_muxer_conn_count(e->s.m), 0);
	assert_int_equal(vsock_sim_fd_count(), before);
	close(lfd);
}

static void stale_socket_is_replaced_live_one_is_not(void **state)
{
	struct env *e = *state;
	/* A second muxer on a live path refuses. */
	struct vsock_muxer *m2 = NULL;
	struct vsock_muxer_config cfg = {.path = e->s.path, .guest_cid = 3};
	assert_int_equal(vsock_muxer_new(&cfg, &m2), -EADDRINUSE);
	/* Bad configs. */
	cfg.guest_cid = 2;
	assert_int_equal(vsock_muxer_new(&cfg, &m2), -EINVAL);
	cfg.guest_cid = 3;
	char longpath[200];
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = 0;
	cfg.path = longpath;
	assert_int_equal(vsock_muxer_new(&cfg, &m2), -ENAMETOOLONG);
	/* A leftover socket file with no listener is taken over. */
	struct vsock_sim tmp;
	memcpy(&tmp, &e->s, sizeof(tmp));
	snprintf(tmp.path, sizeof(tmp.path), "%.60s/stale.sock", e->s.dir);
	int lfd = vsock_sim_listen(&tmp, 0); /* creates <stale>_0 */
	close(lfd);
	char stale0[140];
	snprintf(stale0, sizeof(stale0), "%s_0", tmp.path);
	cfg.path = stale0;
	assert_int_equal(vsock_muxer_new(&cfg, &m2), 0);
	vsock_muxer_free(m2);
	assert_int_equal(access(stale0, F_OK), -1); /* unlinked on free */
}

/* Guest sends as much as its credit allows while the host does not read:
 * returns bytes sent (socket buffer + connection buffer). */
static uint32_t fill_host(struct env *e, uint32_t gport, uint32_t hport)
{
	static uint8_t chunk[VSOCK_MAX_PKT_LEN];
	uint32_t sent = 0;
	struct vsock_hdr h;
	for (;;) {
		vsock_sim_send(&e->s, VSOCK_OP_CREDIT_REQUEST, gport, hport, 0, GUEST_BUF, 0, NULL,
			       0);
		assert_int_equal(vsock_sim_recv(&e->s, &h, e->buf, sizeof(e->buf)), 0);
		assert_int_equal(h.op, VSOCK_OP_CREDIT_UPDATE);
		uint32_t credit = h.buf_alloc - (sent - h.fwd_cnt);
		if (credit == 0)
			return sent;
		uint32_t n = credit < sizeof(chunk) ? credit : sizeof(chunk);
		for (uint32_t i = 0; i < n; i++)
			chunk[i] = (uint8_t)(sent + i);
		vsock_sim_send(&e->s, VSOCK_OP_RW, gport, hport, 0, GUEST_BUF, 0, chunk, n);
		sent += n;
	}
}

static void guest_close_flushes_buffered_data(void **state)
{
	struct env *e = *state;
	int lfd = vsock_sim_listen(&e->s, 77);
	int fd = guest_stream(e, lfd, 15, 77);
	uint32_t sent = fill_host(e, 15, 77);
	assert_true(sent > 256 * 1024);
	/* The guest closes with data still buffered: nothing may be lost. */
	vsock_sim_send(&e->s, VSOCK_OP_SHUTDOWN, 15, 77, VSOCK_SHUTDOWN_BOTH, GUEST_BUF, 0, NULL,
		       0);
	expect_nothing(e);
	static uint8_t got[64 * 1024];
	uint32_t rcvd = 0;
	for (;;) {
		vsock_sim_pump(&e->s, 1);
		ssize_t r = vsock_sim_read(fd, got, sizeof(got), T);
		assert_true(r >= 0);
		if (r == 0)
			break;
		for (ssize_t i = 0; i < r; i++)
			assert_int_equal(got[i], (uint8_t)(rcvd + i));
		rcvd += (uint32_t)r;
	}
	assert_int_equal(rcvd, sent);
	expect_pkt(e, VSOCK_OP_RST);
	assert_int_equal(vsock_muxer_conn_count(e->s.m), 0);
	close(fd);
	close(lfd);
}

/* Linux gives up waiting for our RST 8 s after close() and resets the
 * stream itself; what it sent before is still owed to the host. */
static void guest_reset_after_close_still_flushes(void **state)
{
	struct env *e = *state;
	int lfd = vsock_sim_listen(&e->s, 79);
	int fd = guest_stream(e, lfd, 17, 79);
	uint32_t sent = fill_host(e, 17, 79);
	vsock_sim_send(&e->s, VSOCK_OP_SHUTDOWN, 17, 79, VSOCK_SHUTDOWN_BOTH, GUEST_BUF, 0, NULL,
		       0);
	vsock_sim_send(&e->s, VSOCK_OP_RST, 17, 79, 0, GUEST_BUF, 0, NULL, 0);
	static uint8_t got[64 * 1024];
	uint32_t rcvd = 0;
	for (;;) {
		vsock_sim_pump(&e->s, 1);
		ssize_t r = vsock_sim_read(fd, got, sizeof(got), T);
		assert_true(r >= 0);
		if (r == 0)
			break;
		for (ssize_t i = 0; i < r; i++)
			assert_int_equal(got[i], (uint8_t)(rcvd + i));
		rcvd += (uint32_t)r;
	}
	assert_int_equal(rcvd, sent);
	/* The guest already forgot the stream: no RST back for its RST. */
	expect_nothing(e);
	assert_int_equal(vsock_muxer_conn_count(e->s.m), 0);
	close(fd);
	close(lfd);
}

static void guest_close_flush_times_out(void **state)
{
	struct env *e = *state;
	int lfd = vsock_sim_listen(&e->s, 78);
	int fd = guest_stream(e, lfd, 16, 78);
	fill_host(e, 16, 78);
	vsock_sim_send(&e->s, VSOCK_OP_SHUTDOWN, 16, 78, VSOCK_SHUTDOWN_BOTH, GUEST_BUF, 0, NULL,
		       0);
	/* The host never reads: after shutdown_timeout_ms the stream is reset. */
	expect_pkt(e, VSOCK_OP_RST);
	assert_int_equal(vsock_muxer_conn_count(e->s.m), 0);
	close(fd);
	close(lfd);
}

static bool muxer_readable(struct env *e, int ms)
{
	struct pollfd p = {.fd = vsock_muxer_fd(e->s.m), .events = POLLIN};
	return poll(&p, 1, ms) > 0;
}

static void pending_data_without_rx_buffers_does_not_spin(void **state)
{
	struct env *e = *state;
	int lfd = vsock_sim_listen(&e->s, 79);
	int fd = guest_stream(e, lfd, 17, 79);
	write_str(fd, "waiting");
	assert_true(muxer_readable(e, T));
	vsock_muxer_process(e->s.m);
	/* The guest posts no rx buffers: the stream is queued, and its socket
	 * must not keep the level-triggered muxer fd readable meanwhile. */
	assert_true(vsock_muxer_has_rx(e->s.m));
	assert_false(muxer_readable(e, 100));
	write_str(fd, " more");
	assert_false(muxer_readable(e, 50));
	struct vsock_hdr h = expect_pkt(e, VSOCK_OP_RW);
	assert_int_equal(h.len, 12);
	assert_memory_equal(e->buf, "waiting more", 12);
	close(fd);
	close(lfd);
}

static void accept_out_of_fds_pauses_listener(void **state)
{
	struct env *e = *state;
	struct rlimit old;
	getrlimit(RLIMIT_NOFILE, &old);
	/* Room for exactly one more fd: the client's. */
	int fd = dup(0);
	close(fd);
	struct rlimit low = {.rlim_cur = (rlim_t)fd + 1, .rlim_max = old.rlim_max};
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	int c = vsock_sim_client(&e->s);
	assert_true(c >= 0);
	assert_true(muxer_readable(e, T));
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	vsock_muxer_process(e->s.m); /* accept fails with EMFILE */
	bool readable = muxer_readable(e, 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	/* Paused, not spinning on the still-pending client (unless the machine
	 * was so slow that the 100 ms pause already ended). */
	if (ms < 90)
		assert_false(readable);
	/* After the pause the client is accepted and its CONNECT handled. */
	write_str(c, "CONNECT 80\n");
	struct vsock_hdr req = expect_pkt(e, VSOCK_OP_REQUEST);
	assert_int_equal(req.dst_port, 80);
	close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(host_connect_relays_both_ways, setup, teardown),
	    cmocka_unit_test_setup_teardown(host_connect_guest_refuses, setup, teardown),
	    cmocka_unit_test_setup_teardown(host_connect_bytes_after_line_are_kept, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(host_connect_partial_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(host_connect_bad_lines_close, setup, teardown),
	    cmocka_unit_test_setup_teardown(host_connect_guest_never_answers, setup_fast_timeouts,
					    teardown),
	    cmocka_unit_test_setup_teardown(host_client_silent_is_dropped, setup_fast_timeouts,
					    teardown),
	    cmocka_unit_test_setup_teardown(guest_connect_relays_both_ways, setup, teardown),
	    cmocka_unit_test_setup_teardown(guest_connect_nothing_listens, setup, teardown),
	    cmocka_unit_test_setup_teardown(stray_and_bad_packets, setup, teardown),
	    cmocka_unit_test_setup_teardown(guest_cannot_exceed_max_conns, setup_two_conns,
					    teardown),
	    cmocka_unit_test_setup_teardown(credit_limits_host_to_guest, setup, teardown),
	    cmocka_unit_test_setup_teardown(guest_credit_request_answered, setup, teardown),
	    cmocka_unit_test_setup_teardown(guest_overrunning_credit_is_reset, setup, teardown),
	    cmocka_unit_test_setup_teardown(half_close_both_ways, setup, teardown),
	    cmocka_unit_test_setup_teardown(guest_shutdown_send_gives_host_eof, setup, teardown),
	    cmocka_unit_test_setup_teardown(guest_shutdown_rcv_stops_host_data, setup, teardown),
	    cmocka_unit_test_setup_teardown(guest_close_flushes_buffered_data, setup, teardown),
	    cmocka_unit_test_setup_teardown(guest_close_flush_times_out, setup_fast_shutdown,
					    teardown),
	    cmocka_unit_test_setup_teardown(guest_reset_after_close_still_flushes, setup, teardown),
	    cmocka_unit_test_setup_teardown(pending_data_without_rx_buffers_does_not_spin, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(accept_out_of_fds_pauses_listener, setup, teardown),
	    cmocka_unit_test_setup_teardown(reset_closes_everything, setup, teardown),
	    cmocka_unit_test_setup_teardown(many_streams_open_and_close_leak_nothing, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(stale_socket_is_replaced_live_one_is_not, setup,
					    teardown),
	};
	return cmocka_run_group_tests_name("vmm/vsock_muxer", tests, NULL, NULL);
}
