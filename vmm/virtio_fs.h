/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-fs (virtio 1.2 section 5.11) as a vhost-user front-end: the device
 * model in hull-vmm only owns the config space (tag, number of request
 * queues) and hands the virtqueues to a virtiofsd, which serves FUSE requests
 * straight out of the shared guest memory.
 */
#ifndef HULL_VMM_VIRTIO_FS_H
#define HULL_VMM_VIRTIO_FS_H

#include "virtio.h"

/* The tag the guest mounts (`mount -t virtiofs TAG /mnt`): 1..36 bytes. */
#define VIRTIO_FS_TAG_MAX 36
/* hiprio + one request queue (virtiofsd serves one request queue). */
#define VIRTIO_FS_QUEUES 2

struct virtio_fs_opts {
	const char *tag;
	const char *socket; /* virtiofsd's --socket-path */
	int timeout_ms;     /* connect wait and per-message timeout; 0: 5000 */
};

/*
 * Connect to the back-end and do the vhost-user handshake (so that a missing
 * or incompatible virtiofsd fails VM creation, not the guest's mount).
 * mem must be memfd-backed (vmm_mem_alloc). Returns 0 or -errno (logged).
 */
int virtio_fs_create(struct vmm_mem *mem, struct vmm_loop *loop, const struct virtio_fs_opts *opts,
		     struct virtio_dev **out);

/*
 * Call once the transport is attached (after mmio_dev_add or
 * mmio_dev_new_detached), before the guest runs: the queues' ioeventfds are
 * taken off the event loop (virtiofsd reads them), the irqfd becomes the
 * back-end's call fd, and a back-end hang-up is watched for. Without KVM
 * (detached transport) the device makes its own kick eventfds, fed by
 * QueueNotify writes, and relays the back-end's calls as interrupts.
 */
int virtio_fs_attach(struct virtio_dev *dev);

#endif
