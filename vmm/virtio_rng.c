// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-rng (virtio 1.2 section 5.4): one request queue; the device fills
 * each device-writable buffer with bytes from the host's getrandom().
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include <linux/virtio_ids.h>

#include "devices.h"

/* Cap per chain: a guest asking for gigabytes gets a short answer. */
#define RNG_MAX_PER_CHAIN (64u << 10)

struct rng_dev {
	struct virtio_dev vdev;
};

static uint32_t fill(struct virtq_chain *c)
{
	uint32_t done = 0;
	for (unsigned i = c->n_out; i < c->n_out + c->n_in && done < RNG_MAX_PER_CHAIN; i++) {
		size_t want = c->iov[i].iov_len;
		if (want > RNG_MAX_PER_CHAIN - done)
			want = RNG_MAX_PER_CHAIN - done;
		ssize_t r = getrandom(c->iov[i].iov_base, want, GRND_NONBLOCK);
		if (r <= 0)
			break;
		done += (uint32_t)r;
		if ((size_t)r < want)
			break;
	}
	return done;
}

static void rng_notify(struct virtio_dev *d, unsigned q)
{
	struct virtq *vq = &d->vqs[q];
	struct virtq_chain c;
	int r;
	bool pushed = false;
	while ((r = virtq_pop(vq, &c)) > 0) {
		virtq_push(vq, &c, fill(&c));
		pushed = true;
	}
	if (pushed)
		virtq_notify(vq);
	if (r < 0)
		virtio_dev_fail(d, "request queue: bad descriptor chain (%d)", r);
}

static void rng_free(struct virtio_dev *d)
{
	virtio_dev_exit(d);
	free(d);
}

static const struct virtio_dev_ops rng_ops = {
    .name = "rng",
    .notify = rng_notify,
    .free = rng_free,
};

int virtio_rng_create(struct vmm_mem *mem, struct vmm_loop *loop, struct virtio_dev **out)
{
	struct rng_dev *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	int r = virtio_dev_init(&d->vdev, &rng_ops, VIRTIO_ID_RNG, 1, 256, mem, loop);
	if (r < 0) {
		free(d);
		return r;
	}
	*out = &d->vdev;
	return 0;
}
