// SPDX-License-Identifier: Apache-2.0
/* Split virtqueue walking against fake guest memory: well-formed chains and
 * every kind of broken ring a hostile driver can build. */
#include <errno.h>
#include <setjmp.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_guest.h"

struct env {
	struct fake_guest g;
	struct virtio_dev dev;
};

static const struct virtio_dev_ops test_ops = {.name = "test"};

static int setup_features(void **state, uint64_t features)
{
	struct env *e = calloc(1, sizeof(*e));
	assert_int_equal(fake_guest_init(&e->g, 1 << 20), 0);
	assert_int_equal(virtio_dev_init(&e->dev, &test_ops, 4, 2, 16, &e->g.mem, NULL), 0);
	e->dev.host_features = features;
	fake_dev_attach(&e->g, &e->dev);
	fake_vq_setup(&e->g, 0, 16);
	assert_int_equal(virtio_dev_activate(&e->dev), 0);
	*state = e;
	return 0;
}

static int setup(void **state)
{
	return setup_features(state, 0);
}

static int setup_indirect(void **state)
{
	return setup_features(state, 1ull << VIRTIO_RING_F_INDIRECT_DESC);
}

static int setup_event_idx(void **state)
{
	return setup_features(state, 1ull << VIRTIO_RING_F_EVENT_IDX);
}

static int teardown(void **state)
{
	struct env *e = *state;
	virtio_dev_exit(&e->dev);
	fake_guest_free(&e->g);
	free(e);
	return 0;
}

static struct vring_desc *descs(struct env *e)
{
	return fake_ptr(&e->g, e->g.q[0].desc);
}

/* Publish head `head` on the avail ring without writing descriptors. */
static void publish(struct env *e, uint16_t head)
{
	struct fake_queue *fq = &e->g.q[0];
	struct vring_avail *avail = fake_ptr(&e->g, fq->avail);
	avail->ring[fq->avail_idx % fq->size] = head;
	avail->idx = ++fq->avail_idx;
}

static void test_mem_bounds(void **state)
{
	uint8_t a[4096], b[4096];
	struct vmm_mem m;
	vmm_mem_init(&m);
	assert_int_equal(vmm_mem_add(&m, 0x1000, sizeof(a), a), 0);
	assert_int_equal(vmm_mem_add(&m, 0x100000, sizeof(b), b), 0);
	assert_int_equal(vmm_mem_add(&m, 0x1800, 16, b), -EINVAL);           /* overlap */
	assert_int_equal(vmm_mem_add(&m, UINT64_MAX - 10, 100, b), -EINVAL); /* wraps */
	assert_ptr_equal(vmm_mem_ptr(&m, 0x1000, 4096), a);
	assert_ptr_equal(vmm_mem_ptr(&m, 0x1fff, 1), a + 4095);
	assert_null(vmm_mem_ptr(&m, 0x1fff, 2)); /* crosses the end */
	assert_null(vmm_mem_ptr(&m, 0xfff, 1));
	assert_null(vmm_mem_ptr(&m, 0x1000, UINT64_MAX)); /* would wrap */
	assert_null(vmm_mem_ptr(&m, UINT64_MAX, 2));
	assert_ptr_equal(vmm_mem_ptr(&m, 0x100010, 16), b + 16);
	assert_null(vmm_mem_ptr(&m, 0x2000, 0)); /* a hole is not RAM even for len 0 */
	uint32_t v = 0x12345678;
	assert_int_equal(vmm_mem_write(&m, 0x1ffc, &v, 4), 0);
	assert_int_equal(vmm_mem_write(&m, 0x1ffd, &v, 4), -EFAULT);
	uint32_t w;
	assert_int_equal(vmm_mem_read(&m, 0x1ffc, &w, 4), 0);
	assert_int_equal(w, v);
}

static void test_pop_push(void **state)
{
	struct env *e = *state;
	struct virtq *vq = &e->dev.vqs[0];
	struct virtq_chain c;
	assert_int_equal(virtq_pop(vq, &c), 0); /* empty */

	uint64_t hdr = fake_alloc(&e->g, 16), data = fake_alloc(&e->g, 100),
		 st = fake_alloc(&e->g, 1);
	struct fake_buf b[] = {{hdr, 16, false}, {data, 100, true}, {st, 1, true}};
	uint16_t head = fake_vq_add(&e->g, 0, b, 3);
	assert_true(virtq_has_avail(vq));
	assert_int_equal(virtq_pop(vq, &c), 1);
	assert_int_equal(c.head, head);
	assert_int_equal(c.n_out, 1);
	assert_int_equal(c.n_in, 2);
	assert_int_equal(c.out_len, 16);
	assert_int_equal(c.in_len, 101);
	assert_ptr_equal(c.iov[0].iov_base, fake_ptr(&e->g, hdr));
	assert_ptr_equal(c.iov[2].iov_base, fake_ptr(&e->g, st));
	assert_int_equal(virtq_pop(vq, &c), 0);

	virtq_push(vq, &c, 101);
	uint32_t id, len;
	assert_true(fake_vq_used(&e->g, 0, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(len, 101);
	virtq_notify(vq);
	assert_int_equal(e->g.irqs, 1);
	assert_int_equal(e->dev.isr & 1, 1);

	/* The driver asks for no interrupts. */
	struct vring_avail *avail = fake_ptr(&e->g, e->g.q[0].avail);
	avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	fake_vq_add(&e->g, 0, b, 1);
	assert_int_equal(virtq_pop(vq, &c), 1);
	virtq_unpop(vq);
	assert_int_equal(virtq_pop(vq, &c), 1); /* same chain again */
	virtq_push(vq, &c, 0);
	virtq_notify(vq);
	assert_int_equal(e->g.irqs, 1);
}

static void test_many_wraps(void **state)
{
	/* Indices are free-running u16: run well past 65536 to cross the wrap. */
	struct env *e = *state;
	struct virtq *vq = &e->dev.vqs[0];
	uint64_t buf = fake_alloc(&e->g, 8);
	struct fake_buf b = {buf, 8, true};
	struct virtq_chain c;
	for (unsigned i = 0; i < 70000; i++) {
		fake_vq_add(&e->g, 0, &b, 1);
		assert_int_equal(virtq_pop(vq, &c), 1);
		virtq_push(vq, &c, 8);
		uint32_t id, len;
		assert_true(fake_vq_used(&e->g, 0, &id, &len));
		assert_int_equal(id, c.head);
	}
}

static void test_loop_detected(void **state)
{
	struct env *e = *state;
	struct vring_desc *d = descs(e);
	uint64_t buf = fake_alloc(&e->g, 8);
	d[0] = (struct vring_desc){buf, 8, VRING_DESC_F_NEXT, 1};
	d[1] = (struct vring_desc){buf, 8, VRING_DESC_F_NEXT, 0};
	publish(e, 0);
	struct virtq_chain c;
	assert_int_equal(virtq_pop(&e->dev.vqs[0], &c), -ELOOP);
	/* A self-loop too. */
	d[0].next = 0;
	assert_int_equal(virtq_pop(&e->dev.vqs[0], &c), -ELOOP);
}

static void test_bad_indices(void **state)
{
	struct env *e = *state;
	struct virtq *vq = &e->dev.vqs[0];
	struct vring_desc *d = descs(e);
	struct virtq_chain c;
	uint64_t buf = fake_alloc(&e->g, 8);

	d[0] = (struct vring_desc){buf, 8, VRING_DESC_F_NEXT, 16}; /* next out of range */
	publish(e, 0);
	assert_int_equal(virtq_pop(vq, &c), -ERANGE);

	d[0] = (struct vring_desc){buf, 8, 0, 0};
	struct vring_avail *avail = fake_ptr(&e->g, e->g.q[0].avail);
	avail->ring[0] = 16; /* head out of range */
	assert_int_equal(virtq_pop(vq, &c), -ERANGE);
	avail->ring[0] = 0;
	avail->idx = 17; /* more pending than the ring holds */
	assert_int_equal(virtq_pop(vq, &c), -ERANGE);
	avail->idx = 1;
	assert_int_equal(virtq_pop(vq, &c), 1);
}

static void test_bad_buffers(void **state)
{
	struct env *e = *state;
	struct virtq *vq = &e->dev.vqs[0];
	struct vring_desc *d = descs(e);
	struct virtq_chain c;
	uint64_t buf = fake_alloc(&e->g, 8);

	d[0] = (struct vring_desc){e->g.size - 4, 8, 0, 0}; /* runs past RAM */
	publish(e, 0);
	assert_int_equal(virtq_pop(vq, &c), -EFAULT);
	d[0] = (struct vring_desc){UINT64_MAX - 3, 8, 0, 0}; /* wraps */
	assert_int_equal(virtq_pop(vq, &c), -EFAULT);
	/* writable then readable */
	d[0] = (struct vring_desc){buf, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1};
	d[1] = (struct vring_desc){buf, 8, 0, 0};
	assert_int_equal(virtq_pop(vq, &c), -EPROTO);
	/* indirect without negotiating it */
	d[0] = (struct vring_desc){buf, 16, VRING_DESC_F_INDIRECT, 0};
	assert_int_equal(virtq_pop(vq, &c), -EPROTO);
	/* zero-length buffers are dropped, not an error */
	d[0] = (struct vring_desc){buf, 0, VRING_DESC_F_NEXT, 1};
	d[1] = (struct vring_desc){buf, 8, VRING_DESC_F_WRITE, 0};
	assert_int_equal(virtq_pop(vq, &c), 1);
	assert_int_equal(c.n_out + c.n_in, 1);
}

static void test_indirect(void **state)
{
	struct env *e = *state;
	struct virtq *vq = &e->dev.vqs[0];
	struct vring_desc *d = descs(e);
	struct virtq_chain c;
	uint64_t tgpa = fake_alloc(&e->g, 3 * 16);
	uint64_t buf = fake_alloc(&e->g, 64);
	struct vring_desc *t = fake_ptr(&e->g, tgpa);
	t[0] = (struct vring_desc){buf, 16, VRING_DESC_F_NEXT, 2};
	t[2] = (struct vring_desc){buf + 16, 32, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1};
	t[1] = (struct vring_desc){buf + 48, 16, VRING_DESC_F_WRITE, 0};
	d[0] = (struct vring_desc){tgpa, 48, VRING_DESC_F_INDIRECT, 0};
	publish(e, 0);
	assert_int_equal(virtq_pop(vq, &c), 1);
	assert_int_equal(c.n_out, 1);
	assert_int_equal(c.n_in, 2);
	assert_int_equal(c.in_len, 48);

	/* scatter/gather across the buffers */
	uint8_t src[48], dst[48];
	for (unsigned i = 0; i < 48; i++)
		src[i] = (uint8_t)i;
	assert_int_equal(virtq_chain_write(&c, 0, src, 48), 48);
	assert_memory_equal(fake_ptr(&e->g, buf + 16), src, 48);
	assert_int_equal(virtq_chain_write(&c, 40, src, 48), 8);
	memcpy(fake_ptr(&e->g, buf), src, 16);
	assert_int_equal(virtq_chain_read(&c, 4, dst, 48), 12);
	assert_memory_equal(dst, src + 4, 12);

	/* loop inside the table */
	t[1].flags |= VRING_DESC_F_NEXT;
	t[1].next = 0;
	publish(e, 0);
	assert_int_equal(virtq_pop(vq, &c), -ELOOP);
	/* nested indirect */
	t[1] = (struct vring_desc){tgpa, 48, VRING_DESC_F_INDIRECT, 0};
	assert_int_equal(virtq_pop(vq, &c), -EPROTO);
	/* table length not a multiple of 16, or 0 */
	d[0].len = 40;
	assert_int_equal(virtq_pop(vq, &c), -EPROTO);
	d[0].len = 0;
	assert_int_equal(virtq_pop(vq, &c), -EPROTO);
	/* table outside RAM */
	d[0] = (struct vring_desc){e->g.size - 16, 48, VRING_DESC_F_INDIRECT, 0};
	assert_int_equal(virtq_pop(vq, &c), -EFAULT);
	/* INDIRECT together with NEXT */
	d[0] = (struct vring_desc){tgpa, 48, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1};
	assert_int_equal(virtq_pop(vq, &c), -EPROTO);
}

static void test_event_idx(void **state)
{
	struct env *e = *state;
	struct virtq *vq = &e->dev.vqs[0];
	struct vring_avail *avail = fake_ptr(&e->g, e->g.q[0].avail);
	uint64_t buf = fake_alloc(&e->g, 8);
	struct fake_buf b = {buf, 8, true};
	struct virtq_chain c;
	avail->ring[16] = 2; /* used_event: interrupt once used idx passes 2 */
	for (unsigned i = 0; i < 4; i++) {
		fake_vq_add(&e->g, 0, &b, 1);
		assert_int_equal(virtq_pop(vq, &c), 1);
		virtq_push(vq, &c, 0);
		virtq_notify(vq);
	}
	/* The first notify always fires (no history); then only the crossing
	 * of used_event (used idx 3 > 2) fires. */
	assert_int_equal(e->g.irqs, 2);
	/* avail_event tells the driver which index to kick for: the next one. */
	struct vring_used *used = fake_ptr(&e->g, e->g.q[0].used);
	assert_int_equal(virtq_pop(vq, &c), 0);
	assert_int_equal(*(uint16_t *)&used->ring[16], 4);
}

static void test_activate_bad_ring(void **state)
{
	struct env *e = *state;
	virtio_dev_reset(&e->dev);
	fake_dev_attach(&e->g, &e->dev);
	fake_vq_setup(&e->g, 0, 16);
	e->dev.vqs[0].used_gpa = e->g.size - 8; /* used ring past the end of RAM */
	assert_int_equal(virtio_dev_activate(&e->dev), -EFAULT);
	assert_true(e->dev.status & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_int_equal(e->g.irqs, 1);
	virtio_dev_fail(&e->dev, "again"); /* logged once, no second interrupt */
	assert_int_equal(e->g.irqs, 1);
	virtio_dev_reset(&e->dev);
	assert_int_equal(e->dev.status, 0);
	fake_dev_attach(&e->g, &e->dev);
	fake_vq_setup(&e->g, 0, 12); /* not a power of two */
	assert_int_equal(virtio_dev_activate(&e->dev), -EINVAL);
}

static int loop_calls;
static void on_event(struct vmm_loop *loop, int fd, uint32_t events, void *ctx)
{
	uint64_t v;
	assert_int_equal(read(fd, &v, 8), 8);
	loop_calls++;
	vmm_loop_del(loop, *(int *)ctx); /* deleting the other fd mid-batch */
}

static void test_loop(void **state)
{
	struct vmm_loop *loop;
	assert_int_equal(vmm_loop_new(&loop), 0);
	int a = eventfd(0, EFD_NONBLOCK), b = eventfd(0, EFD_NONBLOCK);
	assert_int_equal(vmm_loop_add(loop, a, EPOLLIN, on_event, &b), 0);
	assert_int_equal(vmm_loop_add(loop, b, EPOLLIN, on_event, &a), 0);
	assert_int_equal(vmm_loop_add(loop, a, EPOLLIN, on_event, &b), -EEXIST);
	uint64_t one = 1;
	assert_int_equal(write(a, &one, 8), 8);
	assert_int_equal(write(b, &one, 8), 8);
	/* Whichever runs first deletes the other: exactly one call. */
	assert_int_equal(vmm_loop_run_once(loop, 1000), 1);
	assert_int_equal(loop_calls, 1);
	assert_int_equal(vmm_loop_run_once(loop, 0), 0);
	vmm_loop_stop(loop);
	assert_int_equal(vmm_loop_run(loop), 0);
	close(a);
	close(b);
	vmm_loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mem_bounds),
	    cmocka_unit_test_setup_teardown(test_pop_push, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_many_wraps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_loop_detected, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_indices, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_buffers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_indirect, setup_indirect, teardown),
	    cmocka_unit_test_setup_teardown(test_event_idx, setup_event_idx, teardown),
	    cmocka_unit_test_setup_teardown(test_activate_bad_ring, setup, teardown),
	    cmocka_unit_test(test_loop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
