// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz the hybrid vsock muxer with guest packet sequences interleaved with
 * host socket activity. The input is a script of one-byte commands:
 *
 *   0  guest packet: control byte + 44-byte header + payload. Control bits
 *      steer the header towards valid (right cids, STREAM, known ports,
 *      consistent len) so the fuzzer reaches deep connection states.
 *   1  take one packet for the guest into a buffer of fuzzed size
 *   2  a host client connects and sends "CONNECT <small port>\n"
 *   3  a host socket writes fuzzed bytes     4  a host socket closes
 *   5  process events, accept guest-initiated streams, drain host sockets
 *
 * Must hold: no crash, no hang, no unbounded memory, and every fd the muxer
 * opened is closed again once it is freed (checked every 256 runs).
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../vmm/vsock_muxer.h"
#include "../../vmm/vsock_packet.h"
#include "input.h"
#include "lib/log.h"
#include "tmpdir.h"

#define CID      3
#define N_LISTEN 3
#define MAX_HOST 16

static char path[96];
static int listeners[N_LISTEN];

struct run {
	struct input in;
	struct vsock_muxer *m;
	int host[MAX_HOST];
	unsigned n_host;
	uint32_t last_local; /* src_port of the last REQUEST we received */
};

/* Open sockets, epoll and timer fds (what the muxer creates; libFuzzer's own
 * symbolizer pipes come and go); with print set, list every fd on stderr. */
static int count_fds(bool print)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (!d)
		return -1;
	struct dirent *e;
	while ((e = readdir(d))) {
		char link[64], target[256] = "";
		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		if (readlink(link, target, sizeof(target) - 1) <= 0)
			continue;
		if (!strncmp(target, "socket:", 7) || !strncmp(target, "anon_inode:", 11))
			n++;
		if (print)
			fprintf(stderr, "  fd %s -> %s\n", e->d_name, target);
	}
	closedir(d);
	return n;
}

static void init_once(void)
{
	log_set_level(LOG_ERROR);
	snprintf(path, sizeof(path), "%s/v.sock", fuzz_tmpdir("vsock"));
	for (int i = 0; i < N_LISTEN; i++) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%d", path, i + 1);
		listeners[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (bind(listeners[i], (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    listen(listeners[i], 64) < 0)
			abort();
	}
}

static void host_add(struct run *r, int fd)
{
	if (r->n_host == MAX_HOST) {
		close(fd);
		return;
	}
	r->host[r->n_host++] = fd;
}

static void guest_packet(struct run *r)
{
	int ctl = input_byte(&r->in);
	struct vsock_hdr h;
	if (ctl < 0 || !input_vsock_hdr(&r->in, ctl, CID, &h))
		return;
	if (ctl & 16) /* a listening host port or the last host-initiated stream */
		h.dst_port = (ctl & 32) ? r->last_local : 1 + h.dst_port % N_LISTEN;
	if (ctl & 64)
		h.src_port %= 4;
	if (ctl & 128)
		h.len = h.len % (r->in.left + 1);
	const uint8_t *payload;
	size_t have = input_take(&r->in, h.len, &payload);
	struct iovec iov[2] = {{(void *)payload, have / 2},
			       {(void *)(payload + have / 2), have - have / 2}};
	vsock_muxer_tx(r->m, &h, iov, 2);
}

static void guest_take(struct run *r)
{
	static uint8_t buf[VSOCK_MAX_PKT_LEN + 1];
	int b = input_byte(&r->in);
	size_t cap = b < 0 ? 4096 : (size_t)b * 257;
	struct vsock_hdr h;
	struct iovec iov = {buf, cap};
	if (vsock_muxer_rx(r->m, &h, &iov, 1) == 0) {
		if (h.len > cap || h.src_cid != VSOCK_HOST_CID || h.dst_cid != CID) {
			fprintf(stderr, "bad packet for the guest: len %u cap %zu\n", h.len, cap);
			abort(); /* the muxer wrote past what it was given */
		}
		if (h.op == VSOCK_OP_REQUEST)
			r->last_local = h.src_port;
	}
}

static void host_connect(struct run *r)
{
	int port = input_byte(&r->in);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return;
	}
	char line[32];
	int n = snprintf(line, sizeof(line), "CONNECT %d\n", port < 0 ? 0 : port % 4);
	send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	host_add(r, fd);
}

static void host_write(struct run *r)
{
	int which = input_byte(&r->in), len = input_byte(&r->in);
	if (which < 0 || len < 0 || !r->n_host)
		return;
	const uint8_t *bytes;
	size_t n = input_take(&r->in, (size_t)len * 16, &bytes);
	send(r->host[which % r->n_host], bytes, n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void host_close(struct run *r)
{
	int which = input_byte(&r->in);
	if (which < 0 || !r->n_host)
		return;
	unsigned i = (unsigned)which % r->n_host;
	close(r->host[i]);
	r->host[i] = r->host[--r->n_host];
}

static void host_service(struct run *r)
{
	static uint8_t sink[65536];
	vsock_muxer_process(r->m);
	for (int i = 0; i < N_LISTEN; i++) {
		int fd;
		while ((fd = accept4(listeners[i], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
			host_add(r, fd);
	}
	for (unsigned i = 0; i < r->n_host; i++)
		while (recv(r->host[i], sink, sizeof(sink), MSG_DONTWAIT) > 0)
			;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int baseline = -1;
	static unsigned runs;
	if (!path[0])
		init_once();
	struct run r = {.in = {.p = data, .left = size}};
	struct vsock_muxer_config cfg = {.path = path, .guest_cid = CID, .max_conns = 8};
	int err = vsock_muxer_new(&cfg, &r.m);
	if (err < 0) {
		fprintf(stderr, "vsock_muxer_new: %s\n", strerror(-err));
		abort();
	}
	for (int op; (op = input_byte(&r.in)) >= 0;) {
		switch (op % 6) {
		case 0:
			guest_packet(&r);
			break;
		case 1:
			guest_take(&r);
			break;
		case 2:
			host_connect(&r);
			break;
		case 3:
			host_write(&r);
			break;
		case 4:
			host_close(&r);
			break;
		case 5:
			host_service(&r);
			break;
		}
	}
	/* Half the inputs end as a guest poweroff does: drain, then free
	 * (timeout 0: whatever the hosts have not taken is dropped). */
	if (size && (data[0] & 1))
		vsock_muxer_drain(r.m, 0);
	vsock_muxer_free(r.m);
	for (unsigned i = 0; i < r.n_host; i++)
		close(r.host[i]);
	/* Connections queued on the listeners but never accepted. */
	for (int i = 0; i < N_LISTEN; i++) {
		int fd;
		while ((fd = accept4(listeners[i], NULL, NULL, SOCK_CLOEXEC)) >= 0)
			close(fd);
	}
	if (runs++ % 256 == 0) {
		int n = count_fds(false);
		if (baseline < 0)
			baseline = n;
		else if (n != baseline) {
			fprintf(stderr, "fd count %d, was %d\n", n, baseline);
			count_fds(true);
			abort(); /* an fd leaked */
		}
	}
	return 0;
}
