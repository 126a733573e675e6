// SPDX-License-Identifier: Apache-2.0
/*
 * Byte ring holding guest->host stream data that a unix socket would not
 * take at once. Written out with sendmsg(MSG_NOSIGNAL) so that a host peer
 * that went away yields EPIPE instead of killing the VMM with SIGPIPE.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "vsock_ring.h"

void vsock_ring_init(struct vsock_ring *r, uint32_t cap)
{
	*r = (struct vsock_ring){.cap = cap};
}

void vsock_ring_exit(struct vsock_ring *r)
{
	free(r->buf);
	r->buf = NULL;
	r->head = r->len = 0;
}

size_t vsock_iov_len(const struct iovec *iov, int n)
{
	size_t total = 0;
	for (int i = 0; i < n; i++)
		total += iov[i].iov_len;
	return total;
}

static void put(struct vsock_ring *r, const uint8_t *src, size_t len)
{
	uint32_t tail = (r->head + r->len) % r->cap;
	size_t first = r->cap - tail;
	if (first > len)
		first = len;
	memcpy(r->buf + tail, src, first);
	memcpy(r->buf, src + first, len - first);
	r->len += (uint32_t)len;
}

ssize_t vsock_ring_push(struct vsock_ring *r, const struct iovec *iov, int n, size_t skip)
{
	size_t total = vsock_iov_len(iov, n);
	if (skip >= total)
		return 0;
	size_t add = total - skip;
	if (add > vsock_ring_room(r))
		return -ENOBUFS;
	if (!r->buf) {
		r->buf = malloc(r->cap);
		if (!r->buf)
			return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		size_t l = iov[i].iov_len;
		if (skip >= l) {
			skip -= l;
			continue;
		}
		put(r, (const uint8_t *)iov[i].iov_base + skip, l - skip);
		skip = 0;
	}
	return (ssize_t)add;
}

ssize_t vsock_ring_flush(struct vsock_ring *r, int fd)
{
	ssize_t done = 0;
	while (r->len > 0) {
		/* The held bytes form at most two runs: head..end, 0..wrap. */
		struct iovec iov[2];
		size_t first = r->cap - r->head;
		if (first > r->len)
			first = r->len;
		iov[0] = (struct iovec){r->buf + r->head, first};
		iov[1] = (struct iovec){r->buf, r->len - first};
		struct msghdr msg = {.msg_iov = iov, .msg_iovlen = iov[1].iov_len ? 2 : 1};
		ssize_t w = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (done > 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return done;
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		}
		r->head = (uint32_t)((r->head + (size_t)w) % r->cap);
		r->len -= (uint32_t)w;
		done += w;
	}
	r->head = 0; /* empty: restart at 0 so the next push is one run */
	return done;
}
