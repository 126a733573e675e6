// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-net (virtio 1.2 section 5.1) on a host tap device: one receive and
 * one transmit queue (no multiqueue), a fixed MAC, link status and, when
 * asked, the MTU (5.1.3, VIRTIO_NET_F_MTU). The tap is opened with
 * IFF_VNET_HDR and a 12-byte header, which has the layout of struct
 * virtio_net_hdr_v1, so frames move between tap and guest buffers with a
 * single readv/writev and no copy. The tap is named (we open it) or handed
 * over as an fd (the runtime opened it in the pod's network namespace).
 *
 * Offloads (5.1.6.2, 5.1.6.4): when the tap accepts TUNSETOFFLOAD, the
 * device offers checksum offload and TSO both ways. Frames the guest sends
 * carry their GSO/checksum request in the header, which tun understands as
 * is (HOST_TSO*, CSUM). What the tap may hand us is set from what the guest
 * acked (GUEST_CSUM, GUEST_TSO*), at activation.
 *
 * Mergeable receive buffers (5.1.6.3.1, VIRTIO_NET_F_MRG_RXBUF): the guest
 * posts small buffers and a frame may span several; num_buffers in the
 * first one's header says how many. We gather chains until they can hold
 * the largest frame, readv() straight into them, push the ones the frame
 * filled and give the rest back. Without the feature each frame takes one
 * chain (Linux then posts 64 KiB "big packet" chains for TSO).
 *
 * Receive: while the guest has posted buffers, read one frame per chain.
 * When it has none, stop watching the tap until the guest kicks the rx
 * queue, so a busy host link cannot spin the event loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/if_tun.h>
#include <linux/virtio_net.h>

#include "devices.h"
#include "lib/log.h"

#define RXQ                  0
#define TXQ                  1
#define VNET_HDR_LEN         ((int)sizeof(struct virtio_net_hdr_v1))
#define MAX_FRAMES_PER_ROUND 256                    /* fairness with other fds on the loop */
#define MAX_FRAME            (VNET_HDR_LEN + 65550) /* header + the largest GSO frame */
#define MRG_CHAINS           64                     /* >= MAX_FRAME / 1500-byte buffers */
#define MRG_IOV              128

#define F(bit) (1ull << (bit))
#define OFFLOAD_FEATURES                                                                           \
	(F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_GUEST_TSO4) |          \
	 F(VIRTIO_NET_F_GUEST_TSO6) | F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6))

struct net_dev {
	struct virtio_dev vdev;
	int tap;
	bool polling; /* tap registered for EPOLLIN */
	struct virtio_net_config cfg;
	/* mergeable rx: the chains gathered for one frame, their buffers in order */
	struct virtq_chain scratch;
	struct {
		uint16_t head;
		uint64_t len;
	} mrg[MRG_CHAINS];
	int mrg_k; /* how many are held */
	unsigned mrg_niov;
	uint64_t mrg_space;
	struct iovec mrg_iov[MRG_IOV];
};

static int open_tap(const char *name)
{
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/* A tap we were handed must be one with a virtio-net header. */
static int check_tap(int fd)
{
	struct ifreq ifr = {0};
	if (ioctl(fd, TUNGETIFF, &ifr) < 0)
		return -errno;
	if (!(ifr.ifr_flags & IFF_TAP) || !(ifr.ifr_flags & IFF_VNET_HDR))
		return -EINVAL;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/* The tun offload flags matching the guest's receive features. */
static unsigned tun_offloads(uint64_t features)
{
	unsigned f = 0;
	if (features & F(VIRTIO_NET_F_GUEST_CSUM)) {
		f |= TUN_F_CSUM;
		if (features & F(VIRTIO_NET_F_GUEST_TSO4))
			f |= TUN_F_TSO4;
		if (features & F(VIRTIO_NET_F_GUEST_TSO6))
			f |= TUN_F_TSO6;
	}
	return f;
}

static void set_polling(struct net_dev *n, bool on)
{
	if (n->polling == on)
		return;
	n->polling = on;
	vmm_loop_mod(n->vdev.loop, n->tap, on ? EPOLLIN : 0);
}

/* Take chains until they hold MAX_FRAME bytes. Chains stay taken across
 * calls (n->mrg_k): when the guest has posted too few, we wait holding
 * them, so the ring is empty and virtq_pop() has asked for a kick on the
 * next buffer (giving them back would leave avail_event behind the
 * driver's index, and no kick would come). Returns 1 when enough are
 * held, 0 when not (yet), -EPROTO for a bad buffer. */
static int mrg_gather(struct net_dev *n, struct virtq *vq)
{
	int r = 1;
	struct virtq_chain *c = &n->scratch;
	while (n->mrg_space < MAX_FRAME && n->mrg_k < MRG_CHAINS) {
		if ((r = virtq_pop(vq, c)) <= 0)
			return r;
		/* the header must fit the first buffer; buffers are write-only */
		if (c->n_out || !c->n_in || (n->mrg_k == 0 && c->in_len < (uint64_t)VNET_HDR_LEN))
			return -EPROTO;
		if (n->mrg_niov + c->n_in > MRG_IOV) {
			virtq_unpop(vq);
			break;
		}
		n->mrg[n->mrg_k].head = c->head;
		n->mrg[n->mrg_k].len = c->in_len;
		n->mrg_k++;
		memcpy(&n->mrg_iov[n->mrg_niov], c->iov, c->n_in * sizeof(struct iovec));
		n->mrg_niov += c->n_in;
		n->mrg_space += c->in_len;
	}
	return n->mrg_space >= MAX_FRAME ? 1 : -EPROTO; /* a ring of tiny buffers */
}

/* Write into the gathered buffers at off (the header: in the first one). */
static void mrg_write(struct net_dev *n, size_t off, const void *src, size_t len)
{
	for (unsigned i = 0; i < n->mrg_niov && len; i++) {
		size_t l = n->mrg_iov[i].iov_len;
		if (off >= l) {
			off -= l;
			continue;
		}
		size_t k = l - off < len ? l - off : len;
		memcpy((uint8_t *)n->mrg_iov[i].iov_base + off, src, k);
		src = (const uint8_t *)src + k;
		len -= k;
		off = 0;
	}
}

static void mrg_forget(struct net_dev *n)
{
	n->mrg_k = 0;
	n->mrg_niov = 0;
	n->mrg_space = 0;
}

/* Mergeable rx: one frame over as many chains as it needs. 1: a frame went
 * in, 0: no frame or not enough buffers (*starved), <0: bad buffer. */
static int rx_one_mrg(struct net_dev *n, struct virtq *vq, bool *starved)
{
	int r = mrg_gather(n, vq);
	if (r <= 0) {
		*starved = r == 0;
		return r;
	}
	ssize_t got = readv(n->tap, n->mrg_iov, (int)n->mrg_niov);
	if (got < 0) {
		/* keep the chains for the next frame */
		if (errno != EAGAIN && errno != EINTR)
			log_warn("virtio-net: tap read: %s", strerror(errno));
		return 0;
	}
	int k = n->mrg_k;
	uint16_t used = 0;
	for (uint64_t rem = (uint64_t)got; used < k && rem > 0; used++)
		rem -= rem < n->mrg[used].len ? rem : n->mrg[used].len;
	if (used == 0)
		used = 1; /* an empty read still fills the header's buffer */
	mrg_write(n, offsetof(struct virtio_net_hdr_v1, num_buffers), &used, 2);
	uint64_t rem = (uint64_t)got;
	for (uint16_t i = 0; i < used; i++) {
		uint32_t len = (uint32_t)(rem < n->mrg[i].len ? rem : n->mrg[i].len);
		n->scratch.head = n->mrg[i].head;
		virtq_push(vq, &n->scratch, len);
		rem -= len;
	}
	/* The chains the frame did not need go back (the last popped ones);
	 * the caller goes on reading, so the next pops move avail_event on. */
	for (int i = used; i < k; i++)
		virtq_unpop(vq);
	mrg_forget(n);
	return 1;
}

/* Move frames from the tap into rx buffers. dev->lock held. */
static void rx_fill(struct net_dev *n)
{
	struct virtio_dev *d = &n->vdev;
	struct virtq *vq = &d->vqs[RXQ];
	struct virtq_chain c;
	bool pushed = false, starved = false;
	bool mrg = d->features & F(VIRTIO_NET_F_MRG_RXBUF);
	int r = 0;
	for (int i = 0; i < MAX_FRAMES_PER_ROUND; i++) {
		if (mrg) {
			if ((r = rx_one_mrg(n, vq, &starved)) <= 0)
				break;
			pushed = true;
			continue;
		}
		if ((r = virtq_pop(vq, &c)) <= 0)
			break;
		if (c.n_in == 0 || c.in_len < (uint64_t)VNET_HDR_LEN) {
			r = -EPROTO;
			break;
		}
		ssize_t got = readv(n->tap, &c.iov[c.n_out], (int)c.n_in);
		if (got < 0) {
			virtq_unpop(vq); /* EAGAIN: keep the buffer for the next frame */
			r = 0;
			if (errno != EAGAIN && errno != EINTR)
				log_warn("virtio-net: tap read: %s", strerror(errno));
			break;
		}
		/* tun leaves num_buffers alone; without MRG_RXBUF it must be 1. */
		uint16_t one = 1;
		virtq_chain_write(&c, offsetof(struct virtio_net_hdr_v1, num_buffers), &one, 2);
		virtq_push(vq, &c, (uint32_t)got);
		pushed = true;
	}
	if (pushed)
		virtq_notify(vq);
	if (r < 0) {
		virtio_dev_fail(d, "receive queue: bad buffer (%s)", strerror(-r));
		return;
	}
	/* No (or too few) buffers left: stop reading until the guest posts
	 * more; its kick calls us again. */
	set_polling(n, !starved && virtq_has_avail(vq));
}

static void tx_drain(struct net_dev *n)
{
	struct virtio_dev *d = &n->vdev;
	struct virtq *vq = &d->vqs[TXQ];
	struct virtq_chain c;
	bool pushed = false;
	int r;
	while ((r = virtq_pop(vq, &c)) > 0) {
		if (c.out_len < (uint64_t)VNET_HDR_LEN) {
			r = -EPROTO;
			break;
		}
		/* A full tap queue or a down link drops the frame, like a NIC. */
		if (writev(n->tap, c.iov, (int)c.n_out) < 0 && errno != EAGAIN)
			log_debug("virtio-net: tap write: %s", strerror(errno));
		virtq_push(vq, &c, 0);
		pushed = true;
	}
	if (pushed)
		virtq_notify(vq);
	if (r < 0)
		virtio_dev_fail(d, "transmit queue: bad frame (%s)", strerror(-r));
}

static void net_notify(struct virtio_dev *d, unsigned q)
{
	struct net_dev *n = (struct net_dev *)d;
	if (q == RXQ)
		rx_fill(n); /* new buffers: maybe frames are waiting */
	else if (q == TXQ)
		tx_drain(n);
}

static void on_tap(struct vmm_loop *loop, int fd, uint32_t events, void *ctx)
{
	struct net_dev *n = ctx;
	pthread_mutex_lock(&n->vdev.lock);
	if (n->vdev.active && !n->vdev.failed)
		rx_fill(n);
	else
		set_polling(n, false);
	pthread_mutex_unlock(&n->vdev.lock);
}

static int net_activate(struct virtio_dev *d)
{
	struct net_dev *n = (struct net_dev *)d;
	/* Only what the guest can take: a TSO frame to a guest that did not
	 * ack GUEST_TSO4 would be dropped by its driver. */
	if ((d->host_features & OFFLOAD_FEATURES) &&
	    ioctl(n->tap, TUNSETOFFLOAD, tun_offloads(d->features)) < 0)
		log_warn("virtio-net: TUNSETOFFLOAD: %s", strerror(errno));
	set_polling(n, true);
	return 0;
}

static void net_reset(struct virtio_dev *d)
{
	struct net_dev *n = (struct net_dev *)d;
	set_polling(n, false);
	mrg_forget(n); /* the queue and what it held are gone */
	if (d->host_features & OFFLOAD_FEATURES)
		ioctl(n->tap, TUNSETOFFLOAD, 0u);
}

static void net_free(struct virtio_dev *d)
{
	struct net_dev *n = (struct net_dev *)d;
	if (n->tap >= 0) {
		if (d->loop)
			vmm_loop_del(d->loop, n->tap);
		close(n->tap);
	}
	virtio_dev_exit(d);
	free(n);
}

static const struct virtio_dev_ops net_ops = {
    .name = "net",
    .activate = net_activate,
    .notify = net_notify,
    .reset = net_reset,
    .free = net_free,
};

int virtio_net_create_fd(struct vmm_mem *mem, struct vmm_loop *loop, int fd, bool offloads,
			 const struct virtio_net_opts *opts, struct virtio_dev **out)
{
	struct net_dev *n = calloc(1, sizeof(*n));
	if (!n) {
		close(fd);
		return -ENOMEM;
	}
	n->tap = fd;
	int r = virtio_dev_init(&n->vdev, &net_ops, VIRTIO_ID_NET, 2, 256, mem, loop);
	if (r < 0)
		goto out_free;
	if (loop && (r = vmm_loop_add(loop, n->tap, 0, on_tap, n)) < 0) /* enabled at activation */
		goto out_exit;
	memcpy(n->cfg.mac, opts->mac, 6);
	n->cfg.status = VIRTIO_NET_S_LINK_UP;
	n->vdev.host_features = F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS);
	if (offloads)
		n->vdev.host_features |= OFFLOAD_FEATURES;
	n->vdev.host_features |= F(VIRTIO_NET_F_MRG_RXBUF);
	if (opts->mtu) {
		n->cfg.mtu = opts->mtu;
		n->vdev.host_features |= F(VIRTIO_NET_F_MTU);
	}
	n->vdev.config = &n->cfg;
	n->vdev.config_len = sizeof(n->cfg);
	*out = &n->vdev;
	return 0;

out_exit:
	virtio_dev_exit(&n->vdev);
out_free:
	close(fd);
	free(n);
	return r;
}

int virtio_net_create(struct vmm_mem *mem, struct vmm_loop *loop,
		      const struct virtio_net_opts *opts, struct virtio_dev **out)
{
	int fd, r;
	if (opts->tap) {
		fd = open_tap(opts->tap);
		r = fd < 0 ? fd : 0;
	} else {
		fd = opts->fd;
		r = check_tap(fd);
	}
	int hdr = VNET_HDR_LEN;
	if (r == 0 && ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0)
		r = -errno;
	if (r < 0) {
		if (opts->tap)
			log_error("tap %s: %s", opts->tap, strerror(-r));
		else
			log_error("tap fd %d: %s", opts->fd, strerror(-r));
		if (fd >= 0)
			close(fd);
		return r;
	}
	/* Probe: a tap that takes the full set takes any subset later. */
	bool offloads = ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) == 0;
	if (offloads)
		ioctl(fd, TUNSETOFFLOAD, 0u); /* nothing until the guest acks */
	return virtio_net_create_fd(mem, loop, fd, offloads, opts, out);
}
