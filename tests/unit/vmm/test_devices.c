// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-rng, virtio-blk and the virtio-mmio transport against fake guest
 * memory (no /dev/kvm): a driver's view, register by register, plus the
 * malformed requests a hostile guest can send.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/virtio_balloon.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_mmio.h>

#include "../../../vmm/devices.h"
#include "../../../vmm/mmio.h"
#include "fake_guest.h"

static void test_rng(void **state)
{
	struct fake_guest g;
	struct virtio_dev *dev;
	assert_int_equal(fake_guest_init(&g, 1 << 20), 0);
	assert_int_equal(virtio_rng_create(&g.mem, NULL, &dev), 0);
	fake_dev_attach(&g, dev);
	fake_vq_setup(&g, 0, 16);
	assert_int_equal(virtio_dev_activate(dev), 0);
	uint64_t buf = fake_alloc(&g, 64);
	struct fake_buf b = {buf, 64, true};
	uint16_t head = fake_vq_post(&g, 0, &b, 1);
	uint32_t id, len;
	assert_true(fake_vq_used(&g, 0, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(len, 64);
	assert_int_equal(g.irqs, 1);
	uint8_t zero[64] = {0};
	assert_memory_not_equal(fake_ptr(&g, buf), zero, 64);
	/* a readable-only chain gets nothing written, not an error */
	b.writable = false;
	fake_vq_post(&g, 0, &b, 1);
	assert_true(fake_vq_used(&g, 0, &id, &len));
	assert_int_equal(len, 0);
	dev->ops->free(dev);
	fake_guest_free(&g);
}

struct blk_env {
	struct fake_guest g;
	struct virtio_dev *dev;
	char path[64];
	uint64_t hdr, data, st;
};

static int blk_setup_ro(void **state, bool ro)
{
	struct blk_env *e = calloc(1, sizeof(*e));
	strcpy(e->path, "/tmp/hull-test-blk-XXXXXX");
	int fd = mkstemp(e->path);
	assert_true(fd >= 0);
	uint8_t sector[512];
	for (unsigned s = 0; s < 128; s++) { /* 64 KiB, sector s filled with s */
		memset(sector, (int)s, sizeof(sector));
		assert_int_equal(write(fd, sector, 512), 512);
	}
	close(fd);
	assert_int_equal(fake_guest_init(&e->g, 1 << 20), 0);
	struct virtio_blk_opts o = {.path = e->path, .read_only = ro, .serial = "disk-serial-1"};
	assert_int_equal(virtio_blk_create(&e->g.mem, NULL, &o, &e->dev), 0);
	fake_dev_attach(&e->g, e->dev);
	fake_vq_setup(&e->g, 0, 64);
	assert_int_equal(virtio_dev_activate(e->dev), 0);
	e->hdr = fake_alloc(&e->g, 16);
	e->data = fake_alloc(&e->g, 8192);
	e->st = fake_alloc(&e->g, 1);
	*state = e;
	return 0;
}

static int blk_setup(void **state)
{
	return blk_setup_ro(state, false);
}

static int blk_setup_readonly(void **state)
{
	return blk_setup_ro(state, true);
}

static int blk_teardown(void **state)
{
	struct blk_env *e = *state;
	e->dev->ops->free(e->dev);
	fake_guest_free(&e->g);
	unlink(e->path);
	free(e);
	return 0;
}

/* One request: header, optional data (dir per type), status. Returns the
 * status byte; *used gets the used length. */
static uint8_t blk_req(struct blk_env *e, uint32_t type, uint64_t sector, uint32_t len,
		       uint32_t *used)
{
	struct virtio_blk_outhdr h = {.type = type, .sector = sector};
	memcpy(fake_ptr(&e->g, e->hdr), &h, sizeof(h));
	*(uint8_t *)fake_ptr(&e->g, e->st) = 0xee;
	struct fake_buf b[3] = {{e->hdr, 16, false}};
	unsigned n = 1;
	if (len)
		b[n++] = (struct fake_buf){e->data, len, type != VIRTIO_BLK_T_OUT};
	b[n++] = (struct fake_buf){e->st, 1, true};
	fake_vq_post(&e->g, 0, b, n);
	uint32_t id;
	assert_true(fake_vq_used(&e->g, 0, &id, used));
	return *(uint8_t *)fake_ptr(&e->g, e->st);
}

static void test_blk_rw(void **state)
{
	struct blk_env *e = *state;
	uint32_t used;
	/* config: capacity in sectors */
	assert_int_equal(((struct virtio_blk_config *)e->dev->config)->capacity, 128);

	assert_int_equal(blk_req(e, VIRTIO_BLK_T_IN, 3, 1024, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1025);
	uint8_t *d = fake_ptr(&e->g, e->data);
	assert_int_equal(d[0], 3);
	assert_int_equal(d[1023], 4);

	memset(d, 0xab, 512);
	assert_int_equal(blk_req(e, VIRTIO_BLK_T_OUT, 127, 512, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);
	assert_int_equal(blk_req(e, VIRTIO_BLK_T_FLUSH, 0, 0, &used), VIRTIO_BLK_S_OK);
	memset(d, 0, 512);
	assert_int_equal(blk_req(e, VIRTIO_BLK_T_IN, 127, 512, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(d[0], 0xab);
	assert_int_equal(d[511], 0xab);

	assert_int_equal(blk_req(e, VIRTIO_BLK_T_GET_ID, 0, 20, &used), VIRTIO_BLK_S_OK);
	assert_memory_equal(d, "disk-serial-1", 13);
	assert_int_equal(used, 21);
}

static void test_blk_bad_requests(void **state)
{
	struct blk_env *e = *state;
	uint32_t used;
	/* past the end, straddling the end, sector near 2^64 */
	assert_int_equal(blk_req(e, VIRTIO_BLK_T_IN, 128, 512, &used), VIRTIO_BLK_S_IOERR);
	assert_int_equal(blk_req(e, VIRTIO_BLK_T_IN, 127, 1024, &used), VIRTIO_BLK_S_IOERR);
	assert_int_equal(blk_req(e, VIRTIO_BLK_T_OUT, UINT64_MAX / 512, 512, &used),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(blk_req(e, VIRTIO_BLK_T_IN, UINT64_MAX, 512, &used), VIRTIO_BLK_S_IOERR);
	/* not a whole number of sectors */
	assert_int_equal(blk_req(e, VIRTIO_BLK_T_IN, 0, 100, &used), VIRTIO_BLK_S_IOERR);
	/* unknown type */
	assert_int_equal(blk_req(e, 99, 0, 0, &used), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(used, 1);
	/* header too short: IOERR in the status byte */
	struct fake_buf b[] = {{e->hdr, 8, false}, {e->st, 1, true}};
	fake_vq_post(&e->g, 0, b, 2);
	uint32_t id;
	assert_true(fake_vq_used(&e->g, 0, &id, &used));
	assert_int_equal(*(uint8_t *)fake_ptr(&e->g, e->st), VIRTIO_BLK_S_IOERR);
	assert_false(e->dev->failed);
	/* no writable byte at all: nothing can be reported, the device fails */
	struct fake_buf nb[] = {{e->hdr, 16, false}};
	fake_vq_post(&e->g, 0, nb, 1);
	assert_false(fake_vq_used(&e->g, 0, &id, &used));
	assert_true(e->dev->failed);
	assert_true(e->dev->status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void test_blk_read_only(void **state)
{
	struct blk_env *e = *state;
	uint32_t used;
	assert_true(e->dev->host_features & (1ull << VIRTIO_BLK_F_RO));
	memset(fake_ptr(&e->g, e->data), 0xcd, 512);
	assert_int_equal(blk_req(e, VIRTIO_BLK_T_OUT, 5, 512, &used), VIRTIO_BLK_S_IOERR);
	assert_int_equal(blk_req(e, VIRTIO_BLK_T_IN, 5, 512, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(((uint8_t *)fake_ptr(&e->g, e->data))[0], 5); /* unchanged */
}

static void test_balloon(void **state)
{
	struct fake_guest g;
	struct virtio_dev *dev;
	assert_int_equal(fake_guest_init(&g, 1 << 20), 0);
	assert_int_equal(virtio_balloon_create(&g.mem, NULL, &dev), 0);
	fake_dev_attach(&g, dev);
	for (unsigned q = 0; q < 3; q++)
		fake_vq_setup(&g, q, 16);
	assert_int_equal(virtio_dev_activate(dev), 0);

	/* the host asks for 512 KiB: config change interrupt, num_pages 128 */
	virtio_balloon_set_target(dev, 512 << 10);
	assert_int_equal(g.irqs, 1);
	assert_true(dev->isr & 2);
	assert_int_equal(((struct virtio_balloon_config *)dev->config)->num_pages, 128);

	/* inflate two pages inside RAM */
	uint64_t list = fake_alloc(&g, 8);
	uint32_t pfns[2] = {0x10, 0x11};
	memcpy(fake_ptr(&g, list), pfns, 8);
	struct fake_buf b = {list, 8, false};
	fake_vq_post(&g, 0, &b, 1);
	uint32_t id, len;
	assert_true(fake_vq_used(&g, 0, &id, &len));
	assert_false(dev->failed);

	/* stats: held until asked for */
	uint64_t st = fake_alloc(&g, 20);
	struct virtio_balloon_stat s[2] = {{VIRTIO_BALLOON_S_MEMFREE, 1 << 20},
					   {VIRTIO_BALLOON_S_MEMTOT, 4 << 20}};
	memcpy(fake_ptr(&g, st), s, 20);
	struct fake_buf sb = {st, 20, false};
	fake_vq_post(&g, 2, &sb, 1);
	assert_false(fake_vq_used(&g, 2, &id, &len));
	struct vmm_balloon_stats out;
	virtio_balloon_get_stats(dev, &out);
	assert_true(out.valid);
	assert_int_equal(out.free_bytes, 1 << 20);
	assert_int_equal(out.total_bytes, 4 << 20);
	assert_int_equal(out.target_bytes, 512 << 10);
	assert_true(fake_vq_used(&g, 2, &id, &len)); /* returned: "report again" */

	/* a PFN outside guest RAM breaks only the device */
	pfns[0] = 0xfffff;
	memcpy(fake_ptr(&g, list), pfns, 8);
	fake_vq_post(&g, 0, &b, 1);
	assert_true(dev->failed);
	dev->ops->free(dev);
	fake_guest_free(&g);
}

/* Free page reporting: the blocks the guest reports come out of the memfd
 * (they read back as zeros and the file's blocks are freed); the queue
 * number follows the acked features; a readable report breaks the device. */
static void test_balloon_reporting(void **state)
{
	for (int with_stats = 1; with_stats >= 0; with_stats--) {
		struct fake_guest g;
		struct virtio_dev *dev;
		assert_int_equal(fake_guest_init_memfd(&g, 8 << 20), 0);
		assert_int_equal(virtio_balloon_create(&g.mem, NULL, &dev), 0);
		assert_true(dev->host_features & (1ull << VIRTIO_BALLOON_F_REPORTING));
		fake_dev_attach(&g, dev);
		dev->features = (1ull << VIRTIO_F_VERSION_1) |
				(1ull << VIRTIO_BALLOON_F_REPORTING) |
				(with_stats ? 1ull << VIRTIO_BALLOON_F_STATS_VQ : 0);
		unsigned rq = with_stats ? 3 : 2;
		for (unsigned q = 0; q <= rq; q++)
			fake_vq_setup(&g, q, 16);
		assert_int_equal(virtio_dev_activate(dev), 0);

		/* 2 MiB of touched memory at 4 MiB, and a page beside it */
		memset(fake_ptr(&g, 4 << 20), 0xaa, (2 << 20) + 4096);
		struct stat st;
		assert_int_equal(fstat(g.mem.fd, &st), 0);
		blkcnt_t before = st.st_blocks;
		struct fake_buf report = {4 << 20, 2 << 20, true};
		fake_vq_post(&g, rq, &report, 1);
		uint32_t id, len;
		assert_true(fake_vq_used(&g, rq, &id, &len));
		assert_false(dev->failed);
		const uint8_t *p = fake_ptr(&g, 4 << 20);
		assert_int_equal(p[0], 0);
		assert_int_equal(p[(2 << 20) - 1], 0);
		assert_int_equal(p[2 << 20], 0xaa); /* not reported: kept */
		assert_int_equal(fstat(g.mem.fd, &st), 0);
		/* 2 MiB fewer 512-byte blocks, less the few ring pages posting touched */
		assert_true(st.st_blocks + (2 << 20) / 512 <= before + 64);

		/* a report in a readable buffer is a driver bug */
		struct fake_buf bad = {4 << 20, 4096, false};
		fake_vq_post(&g, rq, &bad, 1);
		assert_true(dev->failed);
		dev->ops->free(dev);
		fake_guest_free(&g);
	}
}

static uint32_t rd(struct mmio_dev *m, uint64_t off)
{
	uint32_t v;
	mmio_dev_access(m, off, (uint8_t *)&v, 4, false);
	return v;
}

static void wr(struct mmio_dev *m, uint64_t off, uint32_t v)
{
	mmio_dev_access(m, off, (uint8_t *)&v, 4, true);
}

static void test_mmio_transport(void **state)
{
	struct fake_guest g;
	struct virtio_dev *dev;
	struct mmio_dev *m;
	assert_int_equal(fake_guest_init(&g, 1 << 20), 0);
	assert_int_equal(virtio_rng_create(&g.mem, NULL, &dev), 0);
	assert_int_equal(mmio_dev_new_detached(dev, &m), 0);

	assert_int_equal(rd(m, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(rd(m, VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(rd(m, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	/* unaligned or narrow register access reads 0 */
	uint16_t narrow = 0xffff;
	mmio_dev_access(m, VIRTIO_MMIO_MAGIC_VALUE, (uint8_t *)&narrow, 2, false);
	assert_int_equal(narrow, 0);

	wr(m, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	wr(m, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_true(rd(m, VIRTIO_MMIO_DEVICE_FEATURES) & 1); /* VERSION_1 */
	/* a driver without VERSION_1 is refused FEATURES_OK */
	wr(m, VIRTIO_MMIO_STATUS, 0x0b);
	assert_false(rd(m, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);
	wr(m, VIRTIO_MMIO_STATUS, 0); /* reset */
	assert_int_equal(rd(m, VIRTIO_MMIO_STATUS), 0);

	wr(m, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	wr(m, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(m, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wr(m, VIRTIO_MMIO_STATUS, 0x0b);
	assert_true(rd(m, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);

	/* queue 0, as Linux's vm_setup_vq does */
	wr(m, VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(rd(m, VIRTIO_MMIO_QUEUE_NUM_MAX), 0); /* no queue 1 */
	wr(m, VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(rd(m, VIRTIO_MMIO_QUEUE_NUM_MAX), 256);
	uint64_t desc = fake_alloc(&g, 16 * 8), avail = fake_alloc(&g, 6 + 2 * 8),
		 used = fake_alloc(&g, 6 + 8 * 8);
	wr(m, VIRTIO_MMIO_QUEUE_NUM, 8);
	wr(m, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(m, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	wr(m, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)avail);
	wr(m, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)used);
	wr(m, VIRTIO_MMIO_QUEUE_READY, 1);
	wr(m, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x42); /* ignored while ready */
	assert_int_equal(dev->vqs[0].desc_gpa, desc);
	wr(m, VIRTIO_MMIO_STATUS, 0x0f);
	assert_true(dev->active);

	/* one request through the ring and QueueNotify */
	uint64_t buf = fake_alloc(&g, 32);
	struct vring_desc *d = fake_ptr(&g, desc);
	d[0] = (struct vring_desc){buf, 32, VRING_DESC_F_WRITE, 0};
	struct vring_avail *a = fake_ptr(&g, avail);
	a->ring[0] = 0;
	a->idx = 1;
	wr(m, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	struct vring_used *u = fake_ptr(&g, used);
	assert_int_equal(u->idx, 1);
	assert_int_equal(u->ring[0].len, 32);
	assert_int_equal(rd(m, VIRTIO_MMIO_INTERRUPT_STATUS), 1);
	wr(m, VIRTIO_MMIO_INTERRUPT_ACK, 1);
	assert_int_equal(rd(m, VIRTIO_MMIO_INTERRUPT_STATUS), 0);

	/* a ring the guest breaks: NEEDS_RESET, no crash; reset recovers */
	d[0].next = 0;
	d[0].flags = VRING_DESC_F_WRITE | VRING_DESC_F_NEXT;
	a->ring[1] = 0;
	a->idx = 2;
	wr(m, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(rd(m, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_true(rd(m, VIRTIO_MMIO_INTERRUPT_STATUS) & 2); /* config change */
	wr(m, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(rd(m, VIRTIO_MMIO_STATUS), 0);
	assert_false(dev->active);

	/* config space past the end reads zero; writes there are dropped */
	assert_int_equal(rd(m, VIRTIO_MMIO_CONFIG + 64), 0);
	wr(m, VIRTIO_MMIO_CONFIG + 0xefc, 1);
	mmio_dev_free(m);
	fake_guest_free(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rng),
	    cmocka_unit_test_setup_teardown(test_blk_rw, blk_setup, blk_teardown),
	    cmocka_unit_test_setup_teardown(test_blk_bad_requests, blk_setup, blk_teardown),
	    cmocka_unit_test_setup_teardown(test_blk_read_only, blk_setup_readonly, blk_teardown),
	    cmocka_unit_test(test_balloon),
	    cmocka_unit_test(test_balloon_reporting),
	    cmocka_unit_test(test_mmio_transport),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
