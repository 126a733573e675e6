// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz the virtio-vsock device end to end: a hostile driver builds tx and rx
 * descriptor chains of any shape (headers split anywhere, short, long,
 * writable where they should be readable, lengths that lie) in fake guest
 * RAM, while host clients connect and write. The input is a script:
 *
 *   0  tx packet: control byte, chain shape bytes, 44-byte header, payload
 *   1  rx buffers: a chain of 1-3 writable buffers of fuzzed sizes
 *   2  poll the device (host socket events)
 *   3  a host client connects with "CONNECT <small port>\n" and writes
 *   4  reset the device and start it again
 *
 * Must hold: no crash, no out-of-bounds access, every used length the device
 * reports fits the chain it was given.
 */
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../vmm/virtio_vsock.h"
#include "../../vmm/vsock_packet.h"
#include "fake_driver.h"
#include "lib/log.h"
#include "tmpdir.h"

#define CID 3

static const struct fdrv_config layout = {
    .ram_gpa = 0x10000, .ram_size = 512 * 1024, .n_queues = 2, .qsize = 16};
static char path[96];
static int listener;

struct drv {
	struct fdrv f;
	int host[8];
	unsigned n_host;
};

static void tx_packet(struct drv *d)
{
	struct fdrv *f = &d->f;
	int ctl = input_byte(&f->in), shape = input_byte(&f->in);
	struct vsock_hdr h;
	if (ctl < 0 || shape < 0 || !input_vsock_hdr(&f->in, ctl, CID, &h))
		return;
	if (ctl & 16)
		h.dst_port = 1;
	if (ctl & 32)
		h.len %= 4096;
	const uint8_t *payload;
	uint32_t plen = (uint32_t)input_take(&f->in, h.len < 8192 ? h.len : 8192, &payload);
	/* Lay out header + payload contiguously, then cut it into up to three
	 * buffers at fuzzed points; a buffer may also be marked writable or
	 * claim more bytes than were written. */
	uint32_t total = VSOCK_HDR_SIZE + plen;
	uint64_t base = fdrv_alloc(f, total + 64);
	vsock_hdr_build(&h, fdrv_at(f, base));
	memcpy((uint8_t *)fdrv_at(f, base) + VSOCK_HDR_SIZE, payload, plen);
	struct fdrv_chain c = {.n = (uint16_t)(1 + (shape & 3) % 3)};
	uint32_t cut1 = (uint32_t)(shape * 7) % (total + 1), cut2 = cut1 + (total - cut1) / 2;
	uint64_t gpa[3] = {base, base + cut1, base + cut2};
	uint32_t len[3] = {cut1, cut2 - cut1, total - cut2};
	if (c.n == 1)
		len[0] = total;
	else if (c.n == 2)
		len[1] = total - cut1;
	if (shape & 0x40)
		len[c.n - 1] += 64; /* lies: the chain is longer than the packet */
	memcpy(c.gpa, gpa, sizeof(gpa));
	memcpy(c.len, len, sizeof(len));
	c.wr[2] = (shape & 0x80) != 0; /* in a chain of three only */
	if (fdrv_post(f, 1, &c))
		fdrv_kick(f, 1);
	fdrv_reap(f, 1);
	fdrv_reap(f, 0);
}

static void rx_buffers(struct drv *d)
{
	struct fdrv *f = &d->f;
	int a = input_byte(&f->in), b = input_byte(&f->in), c = input_byte(&f->in);
	if (a < 0 || b < 0 || c < 0)
		return;
	struct fdrv_chain ch = {.n = (uint16_t)(1 + (unsigned)a % 3)};
	uint32_t len[3] = {(uint32_t)b * 3, (uint32_t)c * 17, 4096};
	if (a & 0x80)
		len[0] = VSOCK_HDR_SIZE; /* Linux 6.1 style: header buffer + data buffer */
	for (unsigned i = 0; i < ch.n; i++) {
		ch.gpa[i] = fdrv_alloc(f, len[i] + 16);
		ch.len[i] = len[i];
		ch.wr[i] = true;
	}
	if (fdrv_post(f, 0, &ch))
		fdrv_kick(f, 0);
	fdrv_reap(f, 0);
}

static void host_connect(struct drv *d)
{
	int port = input_byte(&d->f.in), n = input_byte(&d->f.in);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || d->n_host == 8 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	char line[32];
	int l = snprintf(line, sizeof(line), "CONNECT %d\n", port < 0 ? 1 : port % 3);
	send(fd, line, (size_t)l, MSG_NOSIGNAL);
	const uint8_t *bytes;
	size_t k = input_take(&d->f.in, n < 0 ? 0 : (size_t)n, &bytes);
	send(fd, bytes, k, MSG_NOSIGNAL);
	d->host[d->n_host++] = fd;
}

static void init_once(void)
{
	log_set_level(LOG_ERROR);
	snprintf(path, sizeof(path), "%s/v.sock", fuzz_tmpdir("vsockdev"));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_1", path);
	listener = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (bind(listener, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(listener, 64) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!path[0])
		init_once();
	struct drv d;
	fdrv_init(&d.f, &layout, data, size);
	d.n_host = 0;
	struct virtio_vsock_config cfg = {.uds_path = path, .guest_cid = CID, .max_conns = 4};
	if (virtio_vsock_create(&d.f.mem, NULL, &cfg, &d.f.dev) < 0 ||
	    fdrv_start(&d.f, 1ull << VIRTIO_F_VERSION_1) < 0)
		abort();
	for (int op; (op = input_byte(&d.f.in)) >= 0;) {
		switch (op % 5) {
		case 0:
			tx_packet(&d);
			break;
		case 1:
			rx_buffers(&d);
			break;
		case 2: {
			int fd;
			while ((fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
				if (d.n_host < 8)
					d.host[d.n_host++] = fd;
				else
					close(fd);
			}
			virtio_vsock_poll(d.f.dev);
			fdrv_reap(&d.f, 0);
			break;
		}
		case 3:
			host_connect(&d);
			break;
		case 4:
			fdrv_reset(&d.f);
			if (fdrv_start(&d.f, 1ull << VIRTIO_F_VERSION_1) < 0)
				abort();
			break;
		}
	}
	/* Half the inputs end as a guest poweroff does: the tx queue is taken
	 * and host-bound bytes drained (timeout 0) before the teardown. */
	if (size && (data[0] & 1))
		virtio_vsock_drain(d.f.dev, 0);
	fdrv_free(&d.f);
	for (unsigned i = 0; i < d.n_host; i++)
		close(d.host[i]);
	int fd;
	while ((fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC)) >= 0)
		close(fd);
	return 0;
}
