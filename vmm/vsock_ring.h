/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A bounded byte ring for one vsock connection: guest data the host socket
 * could not take yet. Its capacity is the buf_alloc the device advertises to
 * the guest, so a guest that respects its credit can never overflow it.
 */
#ifndef HULL_VMM_VSOCK_RING_H
#define HULL_VMM_VSOCK_RING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct vsock_ring {
	uint8_t *buf; /* allocated on first push */
	uint32_t cap;
	uint32_t head; /* offset of the oldest byte */
	uint32_t len;  /* bytes held */
};

void vsock_ring_init(struct vsock_ring *r, uint32_t cap);
void vsock_ring_exit(struct vsock_ring *r);

static inline uint32_t vsock_ring_room(const struct vsock_ring *r)
{
	return r->cap - r->len;
}

/*
 * Append the bytes of iov[0..n) after skipping the first `skip` of them.
 * All or nothing: -ENOBUFS when they do not fit, -ENOMEM when the buffer
 * cannot be allocated. Returns the number of bytes appended.
 */
ssize_t vsock_ring_push(struct vsock_ring *r, const struct iovec *iov, int n, size_t skip);

/*
 * Write as much as the socket takes (MSG_NOSIGNAL, never blocks on a
 * non-blocking fd). Returns bytes written (0 when empty), -EAGAIN when the
 * socket is full, or -errno (e.g. -EPIPE) on failure.
 */
ssize_t vsock_ring_flush(struct vsock_ring *r, int fd);

/* Bytes in iov[0..n). */
size_t vsock_iov_len(const struct iovec *iov, int n);

#endif
