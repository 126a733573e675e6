// SPDX-License-Identifier: Apache-2.0
/*
 * The transport-independent part of a virtio device (virtio 1.2 sections 2.1
 * status, 2.2 features, 2.5 config generation, 3.1 initialization): queue
 * start on DRIVER_OK, reset, interrupts and the "guest broke it" state
 * DEVICE_NEEDS_RESET (2.1.1), which is how a hostile driver only hurts itself.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_mmio.h>

#include "lib/log.h"
#include "virtio.h"

int virtio_dev_init(struct virtio_dev *dev, const struct virtio_dev_ops *ops, uint32_t device_id,
		    unsigned n_vqs, uint16_t queue_max, struct vmm_mem *mem, struct vmm_loop *loop)
{
	if (n_vqs == 0 || queue_max == 0 || queue_max > VIRTQ_MAX_SIZE ||
	    (queue_max & (queue_max - 1)) != 0)
		return -EINVAL;
	dev->vqs = calloc(n_vqs, sizeof(*dev->vqs));
	if (!dev->vqs)
		return -ENOMEM;
	for (unsigned i = 0; i < n_vqs; i++) {
		dev->vqs[i].dev = dev;
		dev->vqs[i].index = i;
	}
	pthread_mutex_init(&dev->lock, NULL);
	dev->ops = ops;
	dev->mem = mem;
	dev->loop = loop;
	dev->device_id = device_id;
	dev->n_vqs = n_vqs;
	dev->queue_max = queue_max;
	return 0;
}

void virtio_dev_exit(struct virtio_dev *dev)
{
	free(dev->vqs);
	dev->vqs = NULL;
	pthread_mutex_destroy(&dev->lock);
}

void virtio_dev_interrupt(struct virtio_dev *dev, uint32_t bits)
{
	__atomic_fetch_or(&dev->isr, bits, __ATOMIC_SEQ_CST);
	if (dev->irq_fn)
		dev->irq_fn(dev, dev->irq_ctx);
}

void virtio_dev_config_changed(struct virtio_dev *dev)
{
	dev->config_generation++;
	virtio_dev_interrupt(dev, VIRTIO_MMIO_INT_CONFIG);
}

void virtio_dev_fail(struct virtio_dev *dev, const char *fmt, ...)
{
	if (dev->failed)
		return; /* log once per reset, a looping guest must not flood the log */
	dev->failed = true;
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warn("virtio-%s: %s; device needs reset", dev->ops->name, msg);
	dev->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	/* 4.2.2.1 / 2.1.2: a device entering NEEDS_RESET sends a config change
	 * notification if DRIVER_OK was set. */
	if (dev->status & VIRTIO_CONFIG_S_DRIVER_OK)
		virtio_dev_interrupt(dev, VIRTIO_MMIO_INT_CONFIG);
}

int virtio_dev_activate(struct virtio_dev *dev)
{
	if (dev->active)
		return 0;
	for (unsigned i = 0; i < dev->n_vqs; i++) {
		struct virtq *vq = &dev->vqs[i];
		if (!vq->ready)
			continue; /* a driver may leave optional queues unused */
		int r = virtq_start(vq);
		if (r < 0) {
			virtio_dev_fail(dev, "queue %u: ring outside guest memory or misaligned",
					i);
			return r;
		}
	}
	if (dev->ops->activate) {
		int r = dev->ops->activate(dev);
		if (r < 0) {
			virtio_dev_fail(dev, "activation failed: %s", strerror(-r));
			return r;
		}
	}
	dev->active = true;
	log_debug("virtio-%s: activated, features 0x%llx", dev->ops->name,
		  (unsigned long long)dev->features);
	/* A driver may have queued buffers (and kicked) before DRIVER_OK; such
	 * a kick was dropped, so look at every started queue once now. */
	for (unsigned i = 0; i < dev->n_vqs && dev->ops->notify; i++)
		if (dev->vqs[i].ready && virtq_has_avail(&dev->vqs[i]))
			dev->ops->notify(dev, i);
	return 0;
}

void virtio_dev_reset(struct virtio_dev *dev)
{
	if (dev->active && dev->ops->reset)
		dev->ops->reset(dev);
	dev->active = false;
	for (unsigned i = 0; i < dev->n_vqs; i++)
		virtq_reset(&dev->vqs[i]);
	dev->status = 0;
	dev->features = 0;
	dev->failed = false;
	__atomic_store_n(&dev->isr, 0, __ATOMIC_SEQ_CST);
}
