// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-vsock device (virtio 1.2, 5.10): device id 19, queues rx (0),
 * tx (1) and event (2), config space { le64 guest_cid }, no device feature
 * bits beyond VIRTIO_F_VERSION_1 (stream sockets only, 5.10.3).
 *
 * This file only moves packets between virtqueues and the muxer: tx chains
 * are parsed (header copied out of guest memory first, since the guest may
 * change it under us) and handed over with their payload in place; rx chains
 * are filled with whatever the muxer owes the guest, payload read from host
 * sockets straight into guest buffers. The event queue is only kept for the
 * driver's sake: we never need TRANSPORT_RESET as we never migrate.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "lib/log.h"
#include "virtio_vsock.h"
#include "vsock_muxer.h"
#include "vsock_packet.h"

enum { VQ_RX = 0, VQ_TX = 1, VQ_EVENT = 2, VQ_COUNT = 3 };
#define QUEUE_MAX 256

struct virtio_vsock {
	struct virtio_dev vdev; /* first: ops get &vdev */
	struct vsock_muxer *mux;
	uint8_t config[8]; /* le64 guest_cid (5.10.4) */
	bool watching;     /* muxer fd registered with the loop */
};

static struct virtio_vsock *to_vsock(struct virtio_dev *d)
{
	return (struct virtio_vsock *)d;
}

/*
 * The chain's buffers of one direction, from byte `skip` on, at most `len`
 * bytes, as iovecs. Returns the count; *got is the byte total.
 */
static int iov_slice(const struct iovec *src, unsigned n, size_t skip, size_t len,
		     struct iovec *dst, size_t *got)
{
	int k = 0;
	*got = 0;
	for (unsigned i = 0; i < n && *got < len; i++) {
		size_t l = src[i].iov_len;
		if (skip >= l) {
			skip -= l;
			continue;
		}
		size_t take = l - skip < len - *got ? l - skip : len - *got;
		dst[k++] = (struct iovec){(uint8_t *)src[i].iov_base + skip, take};
		*got += take;
		skip = 0;
	}
	return k;
}

/* One guest packet. A chain too short for its header is dropped (there is
 * nothing to answer to); the muxer judges everything else. */
static void tx_one(struct virtio_vsock *v, const struct virtq_chain *c)
{
	uint8_t raw[VSOCK_HDR_SIZE];
	struct vsock_hdr h;
	if (virtq_chain_read(c, 0, raw, sizeof(raw)) != sizeof(raw) ||
	    vsock_hdr_parse(raw, sizeof(raw), &h) < 0) {
		log_debug("virtio-vsock: tx chain shorter than a header, dropped");
		return;
	}
	struct iovec data[VIRTQ_MAX_CHAIN];
	size_t got;
	size_t want = h.len <= VSOCK_MAX_PKT_LEN ? h.len : 0;
	int n = iov_slice(c->iov, c->n_out, VSOCK_HDR_SIZE, want, data, &got);
	if (got < want) {
		log_debug("virtio-vsock: tx %s claims %u bytes, chain has %zu, dropped",
			  vsock_op_name(h.op), h.len, got);
		return;
	}
	/* An oversized len goes in with no data so the muxer can RST it. */
	vsock_muxer_tx(v->mux, &h, data, n);
}

/* Hand the guest what the muxer owes it, while it has rx buffers. */
static void rx_fill(struct virtio_vsock *v)
{
	struct virtq *vq = &v->vdev.vqs[VQ_RX];
	struct virtq_chain c;
	struct iovec data[VIRTQ_MAX_CHAIN];
	bool pushed = false;
	int r = 0;
	while (vsock_muxer_has_rx(v->mux) && (r = virtq_pop(vq, &c)) > 0) {
		if (c.in_len < VSOCK_HDR_SIZE) {
			virtq_push(vq, &c, 0);
			pushed = true;
			virtio_dev_fail(&v->vdev, "rx buffer of %llu bytes cannot hold a header",
					(unsigned long long)c.in_len);
			break;
		}
		size_t room;
		int n = iov_slice(c.iov + c.n_out, c.n_in, VSOCK_HDR_SIZE, c.in_len, data, &room);
		struct vsock_hdr h;
		if (vsock_muxer_rx(v->mux, &h, data, n) < 0) {
			virtq_unpop(vq); /* nothing to send after all: keep the buffer */
			break;
		}
		uint8_t raw[VSOCK_HDR_SIZE];
		vsock_hdr_build(&h, raw);
		virtq_chain_write(&c, 0, raw, sizeof(raw));
		virtq_push(vq, &c, VSOCK_HDR_SIZE + h.len);
		pushed = true;
	}
	if (r < 0)
		virtio_dev_fail(&v->vdev, "bad chain on the rx queue");
	if (pushed)
		virtq_notify(vq);
}

static void tx_drain(struct virtio_vsock *v)
{
	struct virtq *vq = &v->vdev.vqs[VQ_TX];
	struct virtq_chain c;
	bool pushed = false;
	int r;
	/* Never blocks: the muxer buffers within the guest's credit and resets
	 * streams that overrun it, so the tx queue is always drained. */
	while ((r = virtq_pop(vq, &c)) > 0) {
		tx_one(v, &c);
		virtq_push(vq, &c, 0);
		pushed = true;
	}
	if (r < 0)
		virtio_dev_fail(&v->vdev, "bad chain on the tx queue");
	if (pushed)
		virtq_notify(vq);
}

static bool running(struct virtio_vsock *v)
{
	return v->vdev.active && !v->vdev.failed;
}

static void vsock_notify(struct virtio_dev *d, unsigned q)
{
	struct virtio_vsock *v = to_vsock(d);
	if (!running(v))
		return;
	if (q == VQ_TX)
		tx_drain(v);
	/* New rx buffers, or tx produced replies (RESPONSE, RST, credit). */
	if (q == VQ_TX || q == VQ_RX)
		rx_fill(v);
	/* VQ_EVENT: the driver posted event buffers; we keep them unused. */
}

void virtio_vsock_poll(struct virtio_dev *d)
{
	struct virtio_vsock *v = to_vsock(d);
	pthread_mutex_lock(&d->lock);
	int r = vsock_muxer_process(v->mux);
	if (r < 0)
		log_warn("virtio-vsock: %s", strerror(-r));
	if (running(v))
		rx_fill(v);
	pthread_mutex_unlock(&d->lock);
}

int virtio_vsock_fd(struct virtio_dev *d)
{
	return vsock_muxer_fd(to_vsock(d)->mux);
}

size_t virtio_vsock_drain(struct virtio_dev *d, unsigned timeout_ms)
{
	struct virtio_vsock *v = to_vsock(d);
	pthread_mutex_lock(&d->lock);
	/* Chains the guest queued after the event loop last looked: their
	 * notify may still sit in the ioeventfd. */
	if (running(v))
		tx_drain(v);
	size_t owed = vsock_muxer_host_pending(v->mux);
	if (owed)
		log_debug("vsock: the guest stopped with %zu bytes owed to host sockets", owed);
	size_t left = vsock_muxer_drain(v->mux, timeout_ms);
	pthread_mutex_unlock(&d->lock);
	return left;
}

static void on_muxer(struct vmm_loop *loop, int fd, uint32_t events, void *ctx)
{
	virtio_vsock_poll(ctx);
}

static int vsock_activate(struct virtio_dev *d)
{
	/* The driver must give us both data queues; the event queue is optional
	 * for us since we never post events. */
	if (!d->vqs[VQ_RX].ready || !d->vqs[VQ_TX].ready)
		return -EINVAL;
	return 0;
}

static void vsock_reset(struct virtio_dev *d)
{
	/* The guest forgot every stream: close their host sockets. */
	vsock_muxer_reset(to_vsock(d)->mux);
}

static void vsock_free(struct virtio_dev *d)
{
	struct virtio_vsock *v = to_vsock(d);
	if (v->watching)
		vmm_loop_del(d->loop, vsock_muxer_fd(v->mux));
	vsock_muxer_free(v->mux);
	virtio_dev_exit(d);
	free(v);
}

static const struct virtio_dev_ops vsock_ops = {
    .name = "vsock",
    .activate = vsock_activate,
    .notify = vsock_notify,
    .reset = vsock_reset,
    .free = vsock_free,
};

int virtio_vsock_create(struct vmm_mem *mem, struct vmm_loop *loop,
			const struct virtio_vsock_config *cfg, struct virtio_dev **out)
{
	struct virtio_vsock *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	int r =
	    virtio_dev_init(&v->vdev, &vsock_ops, VIRTIO_ID_VSOCK, VQ_COUNT, QUEUE_MAX, mem, loop);
	if (r < 0)
		goto fail_free;
	struct vsock_muxer_config mc = {
	    .path = cfg->uds_path,
	    .guest_cid = cfg->guest_cid,
	    .max_conns = cfg->max_conns,
	};
	r = vsock_muxer_new(&mc, &v->mux);
	if (r < 0)
		goto fail_dev;
	for (unsigned i = 0; i < sizeof(v->config); i++)
		v->config[i] = (uint8_t)(cfg->guest_cid >> (8 * i));
	v->vdev.config = v->config;
	v->vdev.config_len = sizeof(v->config);
	if (loop) {
		r = vmm_loop_add(loop, vsock_muxer_fd(v->mux), EPOLLIN, on_muxer, &v->vdev);
		if (r < 0)
			goto fail_mux;
		v->watching = true;
	}
	*out = &v->vdev;
	return 0;

fail_mux:
	vsock_muxer_free(v->mux);
fail_dev:
	virtio_dev_exit(&v->vdev);
fail_free:
	free(v);
	return r;
}
