/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-vsock device (virtio 1.2, section 5.10 "Socket Device") backed by
 * the hybrid unix-socket muxer (vsock_muxer.h): the VM's socket at uds_path
 * takes "CONNECT <port>\n" from host clients, and guest connections to host
 * port P land on "<uds_path>_P".
 */
#ifndef HULL_VMM_VIRTIO_VSOCK_H
#define HULL_VMM_VIRTIO_VSOCK_H

#include <stdint.h>

#include "virtio.h"

struct virtio_vsock_config {
	const char *uds_path; /* the VM's vsock unix socket (created, unlinked at free) */
	uint64_t guest_cid;   /* >= 3 */
	unsigned max_conns;   /* 0: default (256) */
};

/*
 * Create the device and start listening on cfg->uds_path (host clients may
 * connect before the guest driver is up). loop may be NULL in tests, which
 * then call virtio_vsock_poll() themselves. Returns 0 or -errno.
 */
int virtio_vsock_create(struct vmm_mem *mem, struct vmm_loop *loop,
			const struct virtio_vsock_config *cfg, struct virtio_dev **out);

/* Handle host socket events and fill the rx queue (what the loop callback
 * does). Takes dev->lock. For tests without an event loop. */
void virtio_vsock_poll(struct virtio_dev *dev);
/* The muxer's epoll fd (readable when virtio_vsock_poll has work). */
int virtio_vsock_fd(struct virtio_dev *dev);

/*
 * The guest has stopped for good (its vCPUs are joined): take the packets it
 * left on the tx queue, then give host sockets up to timeout_ms to take every
 * byte it sent (vsock_muxer_drain). Takes dev->lock. Returns the bytes that
 * could not be delivered (0: all of them were).
 */
size_t virtio_vsock_drain(struct virtio_dev *dev, unsigned timeout_ms);

#endif
