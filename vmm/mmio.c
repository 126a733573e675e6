// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-mmio transport, modern (virtio 1.2 section 4.2.2, Version 2).
 * Legacy (Version 1) is not offered: virtiofsd and current drivers want 1.x.
 *
 * Register accesses come from vCPU threads (MMIO exits) and run under
 * dev->lock. Queue notifies normally bypass this file's register handler:
 * KVM signals the queue's ioeventfd and the event-loop thread calls
 * ops->notify. Interrupts raise InterruptStatus bits and signal the irqfd.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/virtio_mmio.h>

#include "lib/log.h"
#include "mmio.h"

#define MMIO_MAGIC   0x74726976 /* "virt" */
#define MMIO_VERSION 2
#define MMIO_VENDOR  0x4c4c5548 /* "HULL" */

/* Features the transport itself offers on top of the device's. */
#define TRANSPORT_FEATURES                                                                         \
	((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_INDIRECT_DESC) |                    \
	 (1ull << VIRTIO_RING_F_EVENT_IDX))

static uint64_t offered(const struct virtio_dev *dev)
{
	return dev->host_features | TRANSPORT_FEATURES;
}

static void irq_signal(struct virtio_dev *dev, void *ctx)
{
	struct mmio_dev *m = ctx;
	uint64_t one = 1;
	log_debug("virtio-%s: interrupt, isr %u", dev->ops->name, dev->isr);
	if (m->irqfd >= 0 && write(m->irqfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("virtio-%s: irqfd: %s", dev->ops->name, strerror(errno));
}

static void set_status(struct mmio_dev *m, uint32_t v)
{
	struct virtio_dev *dev = m->dev;
	if (v == 0) {
		virtio_dev_reset(dev);
		return;
	}
	/* 3.1.1: FEATURES_OK only sticks if we accept what the driver chose. */
	if ((v & VIRTIO_CONFIG_S_FEATURES_OK) && !(dev->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
		if ((dev->features & ~offered(dev)) ||
		    !(dev->features & (1ull << VIRTIO_F_VERSION_1))) {
			log_warn("virtio-%s: driver chose unsupported features 0x%llx",
				 dev->ops->name, (unsigned long long)dev->features);
			v &= ~(uint32_t)VIRTIO_CONFIG_S_FEATURES_OK;
		}
	}
	uint32_t keep = dev->status & VIRTIO_CONFIG_S_NEEDS_RESET;
	bool driver_ok =
	    (v & VIRTIO_CONFIG_S_DRIVER_OK) && !(dev->status & VIRTIO_CONFIG_S_DRIVER_OK);
	dev->status = v | keep;
	if (driver_ok && !dev->failed) {
		if (!(v & VIRTIO_CONFIG_S_FEATURES_OK))
			virtio_dev_fail(dev, "DRIVER_OK without FEATURES_OK");
		else
			virtio_dev_activate(dev);
	}
}

static uint32_t read_reg(struct mmio_dev *m, uint64_t off)
{
	struct virtio_dev *dev = m->dev;
	struct virtq *vq = m->queue_sel < dev->n_vqs ? &dev->vqs[m->queue_sel] : NULL;
	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return MMIO_VERSION;
	case VIRTIO_MMIO_DEVICE_ID:
		return dev->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (m->dev_features_sel > 1)
			return 0;
		return (uint32_t)(offered(dev) >> (32 * m->dev_features_sel));
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return vq ? dev->queue_max : 0; /* 0: no such queue */
	case VIRTIO_MMIO_QUEUE_READY:
		return vq ? vq->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return __atomic_load_n(&dev->isr, __ATOMIC_SEQ_CST) | dev->isr_always;
	case VIRTIO_MMIO_STATUS:
		return dev->status;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
		return 0xffffffff; /* no shared memory regions */
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return dev->config_generation;
	default:
		return 0; /* write-only or reserved: reads as zero */
	}
}

static void set_half(uint64_t *v, bool high, uint32_t val)
{
	if (high)
		*v = (*v & 0xffffffffull) | ((uint64_t)val << 32);
	else
		*v = (*v & ~0xffffffffull) | val;
}

/* Queue registers; 4.2.2.2: the driver must not touch them while ready. */
static void write_queue_reg(struct mmio_dev *m, uint64_t off, uint32_t v)
{
	struct virtio_dev *dev = m->dev;
	if (m->queue_sel >= dev->n_vqs)
		return;
	struct virtq *vq = &dev->vqs[m->queue_sel];
	if (off == VIRTIO_MMIO_QUEUE_READY) {
		vq->ready = v & 1;
		return;
	}
	if (vq->ready || dev->active)
		return;
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM:
		vq->size = (uint16_t)(v > dev->queue_max ? 0 : v); /* 0 fails at start */
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		set_half(&vq->desc_gpa, off == VIRTIO_MMIO_QUEUE_DESC_HIGH, v);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		set_half(&vq->avail_gpa, off == VIRTIO_MMIO_QUEUE_AVAIL_HIGH, v);
		break;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		set_half(&vq->used_gpa, off == VIRTIO_MMIO_QUEUE_USED_HIGH, v);
		break;
	}
}

static void queue_notify(struct virtio_dev *dev, unsigned q)
{
	log_debug("virtio-%s: queue %u notified (active %d, failed %d)", dev->ops->name, q,
		  dev->active, dev->failed);
	if (q < dev->n_vqs && dev->active && !dev->failed && dev->vqs[q].ready && dev->ops->notify)
		dev->ops->notify(dev, q);
}

static void write_reg(struct mmio_dev *m, uint64_t off, uint32_t v)
{
	struct virtio_dev *dev = m->dev;
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		m->dev_features_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		m->drv_features_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		/* Only while negotiating (before FEATURES_OK). */
		if (m->drv_features_sel <= 1 && !(dev->status & VIRTIO_CONFIG_S_FEATURES_OK))
			set_half(&dev->features, m->drv_features_sel == 1, v);
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		m->queue_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_READY:
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		write_queue_reg(m, off, v);
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/* Only reached without ioeventfd (tests) or for a queue index
		 * that has none. */
		queue_notify(dev, v & 0xffff);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		__atomic_fetch_and(&dev->isr, ~v, __ATOMIC_SEQ_CST);
		break;
	case VIRTIO_MMIO_STATUS:
		set_status(m, v);
		break;
	}
}

static void config_access(struct mmio_dev *m, uint64_t off, uint8_t *data, uint32_t len, bool write)
{
	struct virtio_dev *dev = m->dev;
	uint64_t coff = off - VIRTIO_MMIO_CONFIG;
	bool inside = coff < dev->config_len && len <= dev->config_len - coff;
	if (!write) {
		if (inside)
			memcpy(data, (uint8_t *)dev->config + coff, len);
		else
			memset(data, 0, len);
		return;
	}
	if (!inside)
		return;
	memcpy((uint8_t *)dev->config + coff, data, len);
	if (dev->ops->config_write)
		dev->ops->config_write(dev, (uint32_t)coff, len);
}

void mmio_dev_access(void *ctx, uint64_t off, uint8_t *data, uint32_t len, bool write)
{
	struct mmio_dev *m = ctx;
	struct virtio_dev *dev = m->dev;
	if (len == 0 || len > 8 || off >= MMIO_WINDOW) {
		if (!write)
			memset(data, 0, len);
		return;
	}
	pthread_mutex_lock(&dev->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		config_access(m, off, data, len, write);
	} else if (len != 4 || (off & 3)) {
		/* 4.2.2.2: the register file only takes aligned 32-bit access. */
		if (!write)
			memset(data, 0, len);
	} else if (write) {
		uint32_t v;
		memcpy(&v, data, 4);
		write_reg(m, off, v);
	} else {
		uint32_t v = read_reg(m, off);
		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&dev->lock);
}

static void on_notify(struct vmm_loop *loop, int fd, uint32_t events, void *ctx)
{
	struct mmio_dev *m = ctx;
	uint64_t v;
	if (read(fd, &v, sizeof(v)) < 0)
		return;
	for (unsigned q = 0; q < m->dev->n_vqs; q++) {
		if (m->notify_fds[q] != fd)
			continue;
		pthread_mutex_lock(&m->dev->lock);
		queue_notify(m->dev, q);
		pthread_mutex_unlock(&m->dev->lock);
	}
}

int mmio_dev_new_detached(struct virtio_dev *dev, struct mmio_dev **out)
{
	struct mmio_dev *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->notify_fds = malloc(dev->n_vqs * sizeof(int));
	if (!m->notify_fds) {
		free(m);
		return -ENOMEM;
	}
	for (unsigned q = 0; q < dev->n_vqs; q++)
		m->notify_fds[q] = -1;
	m->dev = dev;
	m->irqfd = -1;
	dev->transport = m;
	dev->irq_fn = irq_signal;
	dev->irq_ctx = m;
	*out = m;
	return 0;
}

static int wire_kvm(struct mmio_dev *m)
{
	struct vmm_vm *vm = m->vm;
	m->irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->irqfd < 0)
		return -errno;
	struct kvm_irqfd irqfd = {.fd = (uint32_t)m->irqfd, .gsi = m->irq};
	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0)
		return -errno;
	for (unsigned q = 0; q < m->dev->n_vqs; q++) {
		int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fd < 0)
			return -errno;
		m->notify_fds[q] = fd;
		/* A 32-bit write of q to QueueNotify signals fd in the kernel,
		 * without an exit to us. */
		struct kvm_ioeventfd io = {
		    .datamatch = q,
		    .addr = m->base + VIRTIO_MMIO_QUEUE_NOTIFY,
		    .len = 4,
		    .fd = fd,
		    .flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
		};
		if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0)
			return -errno;
		int r = vmm_loop_add(vm->loop, fd, EPOLLIN, on_notify, m);
		if (r < 0)
			return r;
	}
	return vmm_bus_add(&vm->mmio, m->base, MMIO_WINDOW, mmio_dev_access, m);
}

int mmio_dev_add(struct vmm_vm *vm, struct virtio_dev *dev, uint64_t base, unsigned irq,
		 struct mmio_dev **out)
{
	struct mmio_dev *m;
	int r = mmio_dev_new_detached(dev, &m);
	if (r < 0)
		return r;
	m->vm = vm;
	m->base = base;
	m->irq = irq;
	r = wire_kvm(m);
	if (r < 0) {
		log_error("virtio-%s at 0x%llx irq %u: %s", dev->ops->name,
			  (unsigned long long)base, irq, strerror(-r));
		mmio_dev_free(m);
		return r;
	}
	*out = m;
	return 0;
}

void mmio_dev_free(struct mmio_dev *m)
{
	if (!m)
		return;
	struct virtio_dev *dev = m->dev;
	pthread_mutex_lock(&dev->lock);
	virtio_dev_reset(dev);
	pthread_mutex_unlock(&dev->lock);
	for (unsigned q = 0; q < dev->n_vqs; q++) {
		if (m->notify_fds[q] < 0)
			continue;
		if (m->vm)
			vmm_loop_del(m->vm->loop, m->notify_fds[q]);
		close(m->notify_fds[q]);
	}
	if (m->irqfd >= 0)
		close(m->irqfd);
	free(m->notify_fds);
	if (dev->ops->free)
		dev->ops->free(dev);
	free(m);
}

int mmio_dev_cmdline(const struct mmio_dev *m, char *buf, size_t len)
{
	int n = snprintf(buf, len, "virtio_mmio.device=4K@0x%llx:%u", (unsigned long long)m->base,
			 m->irq);
	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}
