// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-balloon (virtio 1.2 section 5.5): the host asks for a target size
 * (config num_pages); the guest hands 4 KiB pages over on the inflate queue
 * and we give their memory back to the host (MADV_REMOVE punches them out of
 * the guest-RAM memfd); deflated pages simply come back when touched. The
 * statistics queue (VIRTIO_BALLOON_F_STATS_VQ) keeps the guest's last report;
 * the driver's buffer is held and returned to ask for a fresh one.
 *
 * Free page reporting (VIRTIO_BALLOON_F_REPORTING, 5.5.6.7): the guest lists
 * free blocks (of its reporting order and up, a while after they became
 * free; hull-agent sets 128 KiB) as writable buffers on the reporting queue
 * and we punch them out of the memfd too, so memory a guest touched once
 * (boot, a finished job) goes back to the host without anyone setting a
 * balloon target. A reported page the guest uses
 * again reads as zeros, which is what the spec allows.
 *
 * Queue numbers: the driver numbers only the queues of features it acked
 * (Linux's virtio-mmio find_vqs skips absent ones), so the reporting queue
 * is 3 with the statistics queue and 2 without it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <linux/virtio_balloon.h>

#include "devices.h"
#include "lib/log.h"

#define INFLATEQ 0
#define DEFLATEQ 1
#define STATSQ   2 /* when STATS_VQ is acked */
#define NQUEUES  4 /* inflate, deflate, stats, reporting */
#define PAGE     4096u

enum queue_role { Q_INFLATE, Q_DEFLATE, Q_STATS, Q_REPORTING, Q_NONE };

struct balloon_dev {
	struct virtio_dev vdev;
	struct virtio_balloon_config cfg;
	struct virtq_chain stats_chain; /* held until we want new stats */
	bool stats_held;
	struct vmm_balloon_stats stats;
};

/* Give the pages listed in one inflate chain back to the host. */
static int inflate(struct balloon_dev *b, const struct virtq_chain *c)
{
	uint64_t n = c->out_len / sizeof(uint32_t);
	for (uint64_t i = 0; i < n; i++) {
		uint32_t pfn;
		virtq_chain_read(c, i * sizeof(pfn), &pfn, sizeof(pfn));
		uint64_t gpa = (uint64_t)pfn << VIRTIO_BALLOON_PFN_SHIFT;
		void *p = vmm_mem_ptr(b->vdev.mem, gpa, PAGE);
		if (!p)
			return -EFAULT; /* a PFN outside guest RAM */
		/* Fake memory in tests is malloc'd: only real guest RAM is
		 * page-aligned shared memfd memory that MADV_REMOVE frees. */
		if (b->vdev.mem->fd >= 0 && madvise(p, PAGE, MADV_REMOVE) < 0)
			log_debug("virtio-balloon: MADV_REMOVE: %s", strerror(errno));
	}
	return 0;
}

/* Give back the free blocks of one reporting chain: the whole pages inside
 * each writable buffer (virtq_pop has checked they lie in guest RAM). */
static int report_free(struct balloon_dev *b, const struct virtq_chain *c)
{
	if (c->n_out != 0 || c->n_in == 0)
		return -EPROTO; /* the spec's report buffers are device-writable */
	log_debug("virtio-balloon: %llu KiB of free pages reported",
		  (unsigned long long)(c->in_len >> 10));
	for (unsigned i = 0; i < c->n_in; i++) {
		uintptr_t start = (uintptr_t)c->iov[i].iov_base;
		uintptr_t end = start + c->iov[i].iov_len;
		start = (start + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
		end &= ~(uintptr_t)(PAGE - 1);
		if (end > start && b->vdev.mem->fd >= 0 &&
		    madvise((void *)start, end - start, MADV_REMOVE) < 0)
			log_debug("virtio-balloon: report: MADV_REMOVE: %s", strerror(errno));
	}
	return 0;
}

/* What queue q is, given the features the driver acked. */
static enum queue_role queue_role(const struct virtio_dev *d, unsigned q)
{
	if (q == INFLATEQ)
		return Q_INFLATE;
	if (q == DEFLATEQ)
		return Q_DEFLATE;
	unsigned next = 2;
	if (virtio_dev_has(d, VIRTIO_BALLOON_F_STATS_VQ) && q == next++)
		return Q_STATS;
	if (virtio_dev_has(d, VIRTIO_BALLOON_F_REPORTING) && q == next)
		return Q_REPORTING;
	return Q_NONE;
}

static void read_stats(struct balloon_dev *b, const struct virtq_chain *c)
{
	struct virtio_balloon_stat s;
	for (size_t off = 0; off + sizeof(s) <= c->out_len; off += sizeof(s)) {
		virtq_chain_read(c, off, &s, sizeof(s));
		switch (s.tag) {
		case VIRTIO_BALLOON_S_MEMFREE:
			b->stats.free_bytes = s.val;
			break;
		case VIRTIO_BALLOON_S_MEMTOT:
			b->stats.total_bytes = s.val;
			break;
		case VIRTIO_BALLOON_S_AVAIL:
			b->stats.available_bytes = s.val;
			break;
		}
	}
	b->stats.valid = true;
}

static void balloon_notify(struct virtio_dev *d, unsigned q)
{
	struct balloon_dev *b = (struct balloon_dev *)d;
	struct virtq *vq = &d->vqs[q];
	struct virtq_chain c;
	int r;
	bool pushed = false;
	enum queue_role role = queue_role(d, q);
	if (role == Q_NONE)
		return; /* a queue of a feature the driver did not ack */
	while ((r = virtq_pop(vq, &c)) > 0) {
		if (role == Q_INFLATE && (r = inflate(b, &c)) < 0)
			break;
		if (role == Q_REPORTING && (r = report_free(b, &c)) < 0)
			break;
		if (role == Q_STATS) {
			read_stats(b, &c);
			b->stats_chain = c; /* hold: returning it requests new stats */
			b->stats_held = true;
			continue;
		}
		virtq_push(vq, &c, 0);
		pushed = true;
	}
	if (pushed)
		virtq_notify(vq);
	if (r < 0)
		virtio_dev_fail(d, "queue %u: bad %s (%s)", q,
				role == Q_REPORTING ? "free page report" : "page list",
				strerror(-r));
}

static void balloon_reset(struct virtio_dev *d)
{
	struct balloon_dev *b = (struct balloon_dev *)d;
	b->stats_held = false;
	b->cfg.actual = 0;
}

static void balloon_free(struct virtio_dev *d)
{
	virtio_dev_exit(d);
	free(d);
}

static const struct virtio_dev_ops balloon_ops = {
    .name = "balloon",
    .notify = balloon_notify,
    .reset = balloon_reset,
    .free = balloon_free,
};

int virtio_balloon_create(struct vmm_mem *mem, struct vmm_loop *loop, struct virtio_dev **out)
{
	struct balloon_dev *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	int r = virtio_dev_init(&b->vdev, &balloon_ops, VIRTIO_ID_BALLOON, NQUEUES, 256, mem, loop);
	if (r < 0) {
		free(b);
		return r;
	}
	/* DEFLATE_ON_OOM: the guest may take pages back when it runs out,
	 * rather than OOM-killing a container because of us. */
	b->vdev.host_features = (1ull << VIRTIO_BALLOON_F_STATS_VQ) |
				(1ull << VIRTIO_BALLOON_F_DEFLATE_ON_OOM) |
				(1ull << VIRTIO_BALLOON_F_REPORTING);
	b->vdev.config = &b->cfg;
	b->vdev.config_len = sizeof(b->cfg);
	*out = &b->vdev;
	return 0;
}

void virtio_balloon_set_target(struct virtio_dev *d, uint64_t bytes)
{
	struct balloon_dev *b = (struct balloon_dev *)d;
	pthread_mutex_lock(&d->lock);
	b->cfg.num_pages = (uint32_t)(bytes / PAGE);
	virtio_dev_config_changed(d);
	pthread_mutex_unlock(&d->lock);
}

void virtio_balloon_get_stats(struct virtio_dev *d, struct vmm_balloon_stats *out)
{
	struct balloon_dev *b = (struct balloon_dev *)d;
	pthread_mutex_lock(&d->lock);
	*out = b->stats;
	out->actual_bytes = (uint64_t)b->cfg.actual * PAGE;
	out->target_bytes = (uint64_t)b->cfg.num_pages * PAGE;
	/* Ask for a fresh report for next time. */
	if (b->stats_held && d->active && !d->failed) {
		b->stats_held = false;
		virtq_push(&d->vqs[STATSQ], &b->stats_chain, 0);
		virtq_notify(&d->vqs[STATSQ]);
	}
	pthread_mutex_unlock(&d->lock);
}
