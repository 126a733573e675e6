// SPDX-License-Identifier: Apache-2.0
/*
 * vsock_muxer_drain: when the guest powers off, the bytes it sent that a slow
 * host reader has not taken yet are still written out (bounded in time), and
 * the sockets close only afterwards; a device reset (which Linux does right
 * before poweroff) keeps them too. Real unix sockets, a simulated guest.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
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

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	e->fds_before = vsock_sim_fd_count();
	assert_int_equal(vsock_sim_init(&e->s, NULL), 0);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	vsock_sim_exit(&e->s);
	assert_int_equal(vsock_sim_fd_count(), e->fds_before);
	free(e);
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A guest-initiated stream to host port hport; returns the host's end. */
static int guest_stream(struct env *e, int lfd, uint32_t gport, uint32_t hport)
{
	assert_int_equal(
	    vsock_sim_send(&e->s, VSOCK_OP_REQUEST, gport, hport, 0, GUEST_BUF, 0, NULL, 0), 0);
	struct vsock_hdr h;
	assert_int_equal(vsock_sim_wait(&e->s, &h, e->buf, sizeof(e->buf), T), 0);
	assert_int_equal(h.op, VSOCK_OP_RESPONSE);
	int fd = accept(lfd, NULL, NULL);
	assert_true(fd >= 0);
	return fd;
}

/* The guest sends a counting pattern until its credit is used up while the
 * host reads nothing: the socket buffer and the muxer's buffer fill. */
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

struct reader {
	int fd;
	int delay_ms;  /* before the first read */
	uint32_t got;  /* bytes read, checked against the pattern */
	bool bad_byte; /* a byte differed from the pattern */
	bool saw_eof;  /* the muxer closed the stream after the last byte */
};

static void *read_slowly(void *arg)
{
	struct reader *r = arg;
	usleep((useconds_t)r->delay_ms * 1000);
	static uint8_t buf[16 * 1024];
	for (;;) {
		/* Small reads: a reader slower than the drain's writes. */
		ssize_t n = vsock_sim_read(r->fd, buf, sizeof(buf), 3 * T);
		if (n <= 0) {
			r->saw_eof = n == 0;
			break;
		}
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != (uint8_t)(r->got + i))
				r->bad_byte = true;
		r->got += (uint32_t)n;
	}
	return NULL;
}

static void drain_delivers_to_a_slow_reader(void **state)
{
	struct env *e = *state;
	int lfd = vsock_sim_listen(&e->s, 90);
	int fd = guest_stream(e, lfd, 20, 90);
	uint32_t sent = fill_host(e, 20, 90);
	/* More than the socket holds: the muxer really buffers some. */
	assert_true(vsock_muxer_host_pending(e->s.m) > 64 * 1024);
	/* A host client still in its CONNECT handshake is simply closed. */
	int hc = vsock_sim_client(&e->s);
	vsock_sim_pump(&e->s, 10);

	struct reader r = {.fd = fd, .delay_ms = 150};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, read_slowly, &r), 0);
	double t0 = now_ms();
	/* The guest powered off here. */
	assert_int_equal(vsock_muxer_drain(e->s.m, 5000), 0);
	double took = now_ms() - t0;
	assert_true(took >= 100); /* it waited for the reader... */
	assert_true(took < 4000); /* ...and not for the timeout */
	assert_int_equal(vsock_muxer_host_pending(e->s.m), 0);
	char c;
	assert_int_equal(vsock_sim_read(hc, &c, 1, T), 0); /* handshake client: EOF */

	/* Freeing closes the streams: the reader sees EOF after every byte. */
	vsock_muxer_free(e->s.m);
	e->s.m = NULL;
	pthread_join(t, NULL);
	assert_int_equal(r.got, sent);
	assert_false(r.bad_byte);
	assert_true(r.saw_eof);
	close(hc);
	close(fd);
	close(lfd);
}

static void drain_gives_up_after_the_timeout(void **state)
{
	struct env *e = *state;
	int lfd = vsock_sim_listen(&e->s, 91);
	int fd = guest_stream(e, lfd, 21, 91);
	fill_host(e, 21, 91);
	size_t pending = vsock_muxer_host_pending(e->s.m);
	assert_true(pending > 0);
	/* Nobody reads: bounded by the timeout, the rest is reported. */
	double t0 = now_ms();
	assert_int_equal(vsock_muxer_drain(e->s.m, 100), pending);
	double took = now_ms() - t0;
	/* the lower bound is what matters; the upper one only catches "never
	 * gave up" (a loaded CI host may be slow to return) */
	assert_true(took >= 90 && took < 4000);
	close(fd);
	close(lfd);
}

static void drain_stops_for_a_reader_that_went_away(void **state)
{
	struct env *e = *state;
	int lfd = vsock_sim_listen(&e->s, 92);
	int fd = guest_stream(e, lfd, 22, 92);
	fill_host(e, 22, 92);
	close(fd); /* the host end is gone: the bytes have nowhere to go */
	double t0 = now_ms();
	assert_int_equal(vsock_muxer_drain(e->s.m, 5000), 0);
	assert_true(now_ms() - t0 < 2500); /* well before the 5 s timeout */
	close(lfd);
}

static void drain_with_nothing_owed_returns_at_once(void **state)
{
	struct env *e = *state;
	int lfd = vsock_sim_listen(&e->s, 93);
	int fd = guest_stream(e, lfd, 23, 93);
	vsock_sim_send(&e->s, VSOCK_OP_RW, 23, 93, 0, GUEST_BUF, 0, "tail", 4);
	double t0 = now_ms();
	assert_int_equal(vsock_muxer_drain(e->s.m, 5000), 0);
	assert_true(now_ms() - t0 < 2500); /* well before the 5 s timeout */
	char got[4];
	assert_int_equal(vsock_sim_read(fd, got, 4, T), 4);
	assert_memory_equal(got, "tail", 4);
	close(fd);
	close(lfd);
}

/* Linux resets every virtio device on its way to poweroff: the streams are
 * gone for the guest, but what it sent before still reaches the host. */
static void reset_keeps_bytes_the_guest_sent(void **state)
{
	struct env *e = *state;
	int lfd = vsock_sim_listen(&e->s, 94);
	int fd = guest_stream(e, lfd, 24, 94);
	uint32_t sent = fill_host(e, 24, 94);
	size_t pending = vsock_muxer_host_pending(e->s.m);
	assert_true(pending > 0);
	vsock_muxer_reset(e->s.m);
	/* The orphan still holds the bytes; the guest is told nothing. */
	assert_int_equal(vsock_muxer_host_pending(e->s.m), pending);
	assert_false(vsock_muxer_has_rx(e->s.m));
	/* The guest may reuse the ports at once: a new stream, not the orphan. */
	int fd2 = guest_stream(e, lfd, 24, 94);
	assert_int_equal(vsock_muxer_conn_count(e->s.m), 2);

	struct reader r = {.fd = fd, .delay_ms = 0};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, read_slowly, &r), 0);
	/* The event loop writes the orphan's bytes as the host reads; after
	 * the last one the host sees EOF and the orphan is gone. */
	for (int i = 0; i < 2 * T && vsock_muxer_conn_count(e->s.m) > 1; i++)
		vsock_sim_pump(&e->s, 1);
	pthread_join(t, NULL);
	assert_int_equal(r.got, sent);
	assert_false(r.bad_byte);
	assert_true(r.saw_eof);
	assert_int_equal(vsock_muxer_conn_count(e->s.m), 1);
	assert_false(vsock_muxer_has_rx(e->s.m)); /* no RST for the orphan */
	close(fd2);
	close(fd);
	close(lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(drain_delivers_to_a_slow_reader, setup, teardown),
	    cmocka_unit_test_setup_teardown(drain_gives_up_after_the_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(drain_stops_for_a_reader_that_went_away, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(drain_with_nothing_owed_returns_at_once, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(reset_keeps_bytes_the_guest_sent, setup, teardown),
	};
	return cmocka_run_group_tests_name("vmm/vsock_drain", tests, NULL, NULL);
}
