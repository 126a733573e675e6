// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-fs device (virtio 1.2 section 5.11: device id 26, config = tag[36] +
 * le32 num_request_queues, queue 0 hiprio, queues 1..n requests) backed by a
 * vhost-user back-end (virtiofsd). hull-vmm never looks at a FUSE request:
 *
 *  - guest RAM is a MAP_SHARED memfd (vmm_mem_alloc); SET_MEM_TABLE gives
 *    virtiofsd the fd, the offsets, the guest-physical addresses and our
 *    mapping addresses, and ring addresses are then sent as our mapping
 *    addresses, which is what vhost-user translates from;
 *  - kick fds are the transport's ioeventfds, taken off our event loop, so a
 *    guest QueueNotify wakes virtiofsd directly in the kernel;
 *  - the call fd is the transport's irqfd, so virtiofsd interrupts the guest
 *    directly. virtio-mmio drivers only look at the rings when
 *    InterruptStatus has the VRING bit, which the VMM never gets to set for
 *    such interrupts: the device asks the transport to always report it
 *    (isr_always), as the driver's vring_interrupt() ignores queues with
 *    nothing new.
 *
 * Life cycle: connect + handshake at creation (a missing virtiofsd fails VM
 * creation); DRIVER_OK -> SET_FEATURES, SET_MEM_TABLE (once), per queue
 * NUM/BASE/ADDR/CALL/KICK/ENABLE; driver reset -> GET_VRING_BASE per queue,
 * which stops it in the back-end. A back-end that hangs up, times out or
 * breaks the protocol fails the device (DEVICE_NEEDS_RESET), never the VMM.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/virtio_fs.h>
#include <linux/virtio_mmio.h>

#include "lib/log.h"
#include "mmio.h"
#include "vhost_user.h"
#include "virtio_fs.h"

#define FS_QUEUE_MAX 1024 /* libvhost-user's VIRTQUEUE_MAX_SIZE */

/* Ring features the transport always offers; the back-end must do them. */
#define FS_RING_FEATURES                                                                           \
	((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_INDIRECT_DESC) |                    \
	 (1ull << VIRTIO_RING_F_EVENT_IDX))

struct fs_dev {
	struct virtio_dev vdev;
	struct virtio_fs_config cfg;
	struct vhost_user vu;
	bool mem_sent;
	bool started[VIRTIO_FS_QUEUES]; /* ring handed to the back-end */
	int kick_fds[VIRTIO_FS_QUEUES];
	int call_fd;
	/* Made by the device when the transport has no KVM fds (see attach). */
	int own_kick_fds[VIRTIO_FS_QUEUES];
	int own_call_fd;
	bool hup_watched;
};

static struct fs_dev *to_fs(struct virtio_dev *d)
{
	return (struct fs_dev *)d;
}

static int start_queue(struct fs_dev *fs, unsigned q)
{
	struct vhost_user *vu = &fs->vu;
	struct virtq *vq = &fs->vdev.vqs[q];
	int r = vhost_user_set_vring_num(vu, q, vq->size);
	if (r == 0)
		r = vhost_user_set_vring_base(vu, q, 0);
	if (r == 0)
		r = vhost_user_set_vring_addr(vu, q, (uint64_t)(uintptr_t)vq->desc,
					      (uint64_t)(uintptr_t)vq->used,
					      (uint64_t)(uintptr_t)vq->avail);
	/* Call before kick: a kick starts the ring, and a request served
	 * before the back-end knows where to signal would go unnoticed. */
	if (r == 0)
		r = vhost_user_set_vring_call(vu, q, fs->call_fd);
	if (r == 0)
		r = vhost_user_set_vring_kick(vu, q, fs->kick_fds[q]);
	if (r < 0)
		return r;
	fs->started[q] = true; /* from the kick on, it needs GET_VRING_BASE to stop */
	if (vu->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES))
		r = vhost_user_set_vring_enable(vu, q, true);
	return r;
}

static void fs_reset(struct virtio_dev *d)
{
	struct fs_dev *fs = to_fs(d);
	for (unsigned q = 0; q < VIRTIO_FS_QUEUES; q++) {
		if (!fs->started[q])
			continue;
		fs->started[q] = false;
		unsigned base;
		/* Stops the ring; the index is of no use after a reset. */
		if (vhost_user_get_vring_base(&fs->vu, q, &base) == 0)
			log_debug("virtio-fs: queue %u stopped at %u", q, base);
	}
}

static int fs_activate(struct virtio_dev *d)
{
	struct fs_dev *fs = to_fs(d);
	struct vhost_user *vu = &fs->vu;
	if (vu->broken)
		return -ENOTCONN;
	if (fs->call_fd < 0)
		return -EINVAL; /* virtio_fs_attach was not called */
	/* What the driver accepted, plus the protocol-feature extension bit,
	 * which must be echoed for the back-end to keep using it. */
	uint64_t features = d->features & vu->features;
	features |= vu->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
	int r = vhost_user_set_features(vu, features);
	if (r == 0 && !fs->mem_sent) {
		/* Guest RAM never changes after boot: one table for the VM's life. */
		r = vhost_user_set_mem_table(vu, d->mem);
		fs->mem_sent = r == 0;
	}
	for (unsigned q = 0; r == 0 && q < VIRTIO_FS_QUEUES; q++)
		if (d->vqs[q].ready)
			r = start_queue(fs, q);
	if (r < 0) {
		log_warn("virtio-fs %s: handing the queues to the back-end failed: %s", fs->vu.name,
			 strerror(-r));
		/* The transport will not call reset for a device that never
		 * became active: stop what was started here. */
		fs_reset(d);
	}
	return r;
}

/* Only with a transport without ioeventfds: pass the QueueNotify on. */
static void fs_notify(struct virtio_dev *d, unsigned q)
{
	struct fs_dev *fs = to_fs(d);
	uint64_t one = 1;
	if (q < VIRTIO_FS_QUEUES && fs->own_kick_fds[q] >= 0 &&
	    write(fs->own_kick_fds[q], &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("virtio-fs: kick queue %u: %s", q, strerror(errno));
}

static void on_call(struct vmm_loop *loop, int fd, uint32_t events, void *ctx)
{
	struct fs_dev *fs = ctx;
	uint64_t v;
	if (read(fd, &v, sizeof(v)) < 0)
		return;
	pthread_mutex_lock(&fs->vdev.lock);
	if (fs->vdev.active)
		virtio_dev_interrupt(&fs->vdev, VIRTIO_MMIO_INT_VRING);
	pthread_mutex_unlock(&fs->vdev.lock);
}

static void on_hangup(struct vmm_loop *loop, int fd, uint32_t events, void *ctx)
{
	struct fs_dev *fs = ctx;
	vmm_loop_del(loop, fd);
	pthread_mutex_lock(&fs->vdev.lock);
	fs->hup_watched = false;
	if (!fs->vu.broken)
		log_warn("virtio-fs: back-end %s hung up", fs->vu.name);
	fs->vu.broken = true;
	if (fs->vdev.active)
		virtio_dev_fail(&fs->vdev, "vhost-user back-end %s is gone", fs->vu.name);
	pthread_mutex_unlock(&fs->vdev.lock);
}

static int own_eventfd(int *fd)
{
	*fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return *fd < 0 ? -errno : 0;
}

int virtio_fs_attach(struct virtio_dev *d)
{
	struct fs_dev *fs = to_fs(d);
	struct mmio_dev *m = d->transport;
	int r;
	if (!m)
		return -EINVAL;
	for (unsigned q = 0; q < VIRTIO_FS_QUEUES; q++) {
		if (m->notify_fds[q] >= 0) {
			/* The back-end, not our loop, consumes the guest's kicks. */
			if (m->vm)
				vmm_loop_del(m->vm->loop, m->notify_fds[q]);
			fs->kick_fds[q] = m->notify_fds[q];
		} else {
			if ((r = own_eventfd(&fs->own_kick_fds[q])) < 0)
				return r;
			fs->kick_fds[q] = fs->own_kick_fds[q];
		}
	}
	if (m->irqfd >= 0) {
		fs->call_fd = m->irqfd;
		d->isr_always = VIRTIO_MMIO_INT_VRING;
	} else {
		if ((r = own_eventfd(&fs->own_call_fd)) < 0)
			return r;
		if ((r = vmm_loop_add(d->loop, fs->own_call_fd, EPOLLIN, on_call, fs)) < 0)
			return r;
		fs->call_fd = fs->own_call_fd;
	}
	/* EPOLLRDHUP/EPOLLHUP only: replies are read synchronously elsewhere. */
	if ((r = vmm_loop_add(d->loop, fs->vu.fd, EPOLLRDHUP, on_hangup, fs)) < 0)
		return r;
	fs->hup_watched = true;
	return 0;
}

static void fs_free(struct virtio_dev *d)
{
	struct fs_dev *fs = to_fs(d);
	if (fs->hup_watched)
		vmm_loop_del(d->loop, fs->vu.fd);
	if (fs->own_call_fd >= 0) {
		vmm_loop_del(d->loop, fs->own_call_fd);
		close(fs->own_call_fd);
	}
	for (unsigned q = 0; q < VIRTIO_FS_QUEUES; q++)
		if (fs->own_kick_fds[q] >= 0)
			close(fs->own_kick_fds[q]);
	vhost_user_close(&fs->vu);
	virtio_dev_exit(d);
	free(fs);
}

static const struct virtio_dev_ops fs_ops = {
    .name = "fs",
    .activate = fs_activate,
    .notify = fs_notify,
    .reset = fs_reset,
    .free = fs_free,
};

/* The back-end must serve what the transport offers the driver. */
static int check_backend(struct fs_dev *fs, uint64_t queue_num)
{
	uint64_t missing = FS_RING_FEATURES & ~fs->vu.features;
	if (missing) {
		log_error("virtio-fs %s: back-end lacks virtio features 0x%llx", fs->vu.name,
			  (unsigned long long)missing);
		return -EPROTONOSUPPORT;
	}
	if (queue_num && queue_num < VIRTIO_FS_QUEUES) {
		log_error("virtio-fs %s: back-end serves %llu queues, need %d", fs->vu.name,
			  (unsigned long long)queue_num, VIRTIO_FS_QUEUES);
		return -EPROTONOSUPPORT;
	}
	return 0;
}

static int fs_init(struct fs_dev *fs, const struct virtio_fs_opts *o)
{
	uint64_t queue_num;
	size_t n = o->tag ? strlen(o->tag) : 0;
	if (n == 0 || n > VIRTIO_FS_TAG_MAX) {
		log_error("virtio-fs: tag must be 1 to %d bytes", VIRTIO_FS_TAG_MAX);
		return -EINVAL;
	}
	memcpy(fs->cfg.tag, o->tag, n); /* not NUL-terminated when 36 bytes */
	fs->cfg.num_request_queues = htole32(VIRTIO_FS_QUEUES - 1);
	int r = vhost_user_connect(&fs->vu, o->socket, o->timeout_ms ? o->timeout_ms : 5000);
	if (r < 0) {
		log_error("virtio-fs: connecting to virtiofsd at %s: %s", o->socket, strerror(-r));
		return r;
	}
	if ((r = vhost_user_handshake(&fs->vu, &queue_num)) < 0) {
		log_error("virtio-fs: vhost-user handshake with %s: %s", o->socket, strerror(-r));
		return r;
	}
	return check_backend(fs, queue_num);
}

int virtio_fs_create(struct vmm_mem *mem, struct vmm_loop *loop, const struct virtio_fs_opts *o,
		     struct virtio_dev **out)
{
	if (mem->fd < 0) {
		log_error("virtio-fs: guest memory is not a shareable memfd");
		return -EINVAL;
	}
	struct fs_dev *fs = calloc(1, sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	fs->vu.fd = -1;
	fs->call_fd = fs->own_call_fd = -1;
	for (unsigned q = 0; q < VIRTIO_FS_QUEUES; q++)
		fs->kick_fds[q] = fs->own_kick_fds[q] = -1;
	int r = virtio_dev_init(&fs->vdev, &fs_ops, VIRTIO_ID_FS, VIRTIO_FS_QUEUES, FS_QUEUE_MAX,
				mem, loop);
	if (r < 0) {
		free(fs);
		return r;
	}
	if ((r = fs_init(fs, o)) < 0) {
		fs_free(&fs->vdev);
		return r;
	}
	fs->vdev.config = &fs->cfg;
	fs->vdev.config_len = sizeof(fs->cfg);
	*out = &fs->vdev;
	return 0;
}
