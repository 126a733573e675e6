// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-fs against the real Debian virtiofsd (/usr/lib/qemu/virtiofsd), no
 * KVM: guest RAM is a real memfd (vmm_mem_alloc), the device sits on the
 * virtio-mmio register file, and this file plays the guest driver: feature
 * negotiation, split rings, DRIVER_OK, then FUSE requests on the request
 * queue (INIT, LOOKUP, OPEN, READ, CREATE, WRITE) that virtiofsd serves out
 * of the shared memory. Shows: the handshake and SET_MEM_TABLE are accepted,
 * ring addresses are translated right, a file the host wrote is read, a file
 * the "guest" writes lands on the host, reset stops the rings, and a
 * virtiofsd that dies fails only the device (DEVICE_NEEDS_RESET).
 *
 * Needs root (virtiofsd sandboxes itself); skipped without it or virtiofsd.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/fuse.h>
#include <linux/virtio_fs.h>
#include <linux/virtio_mmio.h>

#include "../../../vmm/mmio.h"
#include "../../../vmm/virtio_fs.h"

#define VIRTIOFSD "/usr/lib/qemu/virtiofsd"
#define QSIZE     16
#define RAM       (16u << 20)

struct env {
	char dir[64], share[96], sock[96];
	pid_t vfsd;
	struct vmm_loop *loop;
	struct vmm_mem mem;
	struct virtio_dev *dev;
	struct mmio_dev *m;
	unsigned irqs;
	uint64_t ring[VIRTIO_FS_QUEUES]; /* gpa of desc; avail +0x1000, used +0x2000 */
	uint16_t avail_idx, used_seen;
	uint64_t unique;
	/* Transport wired as with KVM: eventfds in notify_fds/irqfd; the test
	 * plays KVM (writes kicks, reads the irqfd). */
	bool kvm_style;
	/* Where rings and reply buffers live: 0, or 4 GiB when guest RAM is
	 * split around an MMIO hole into two regions of the memfd (the second
	 * at a nonzero mmap_offset). Requests always come from low memory. */
	uint64_t hi;
};

static void reg_write(struct env *e, uint32_t off, uint32_t v)
{
	mmio_dev_access(e->m, off, (uint8_t *)&v, 4, true);
}

static uint32_t reg_read(struct env *e, uint32_t off)
{
	uint32_t v = 0;
	mmio_dev_access(e->m, off, (uint8_t *)&v, 4, false);
	return v;
}

static void count_irq(struct virtio_dev *dev, void *ctx)
{
	((struct env *)ctx)->irqs++;
}

static pid_t start_virtiofsd(struct env *e)
{
	pid_t pid = fork();
	if (pid == 0) {
		char sock[128], src[128];
		snprintf(sock, sizeof(sock), "--socket-path=%s", e->sock);
		snprintf(src, sizeof(src), "source=%s", e->share);
		int null = open(getenv("VFSD_LOG") ? getenv("VFSD_LOG") : "/dev/null",
				O_WRONLY | O_CREAT | O_APPEND, 0644);
		dup2(null, 1);
		dup2(null, 2);
		execl(VIRTIOFSD, VIRTIOFSD, sock, "-o", src, "-o", "cache=none",
		      getenv("VFSD_LOG") ? "-d" : "-f", (char *)NULL);
		_exit(127);
	}
	return pid;
}

static int setup_env(void **state, bool kvm_style, bool split)
{
	if (geteuid() != 0 || access(VIRTIOFSD, X_OK) != 0)
		return 0; /* each test skips */
	struct env *e = calloc(1, sizeof(*e));
	strcpy(e->dir, "/tmp/hull-vfs-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	snprintf(e->share, sizeof(e->share), "%s/share", e->dir);
	snprintf(e->sock, sizeof(e->sock), "%s/vfsd.sock", e->dir);
	assert_int_equal(mkdir(e->share, 0755), 0);
	char path[160];
	snprintf(path, sizeof(path), "%s/hello.txt", e->share);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("hello from the host\n", f);
	fclose(f);
	e->vfsd = start_virtiofsd(e);
	assert_true(e->vfsd > 0);
	assert_int_equal(vmm_loop_new(&e->loop), 0);
	assert_int_equal(vmm_mem_alloc(&e->mem, RAM, split ? RAM / 2 : RAM), 0);
	e->hi = split ? 4ull << 30 : 0;
	struct virtio_fs_opts o = {.tag = "hullfs", .socket = e->sock, .timeout_ms = 5000};
	assert_int_equal(virtio_fs_create(&e->mem, e->loop, &o, &e->dev), 0);
	assert_int_equal(mmio_dev_new_detached(e->dev, &e->m), 0);
	e->kvm_style = kvm_style;
	if (kvm_style) {
		/* What mmio.c's wire_kvm() makes (the transport closes them). */
		e->m->irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		for (unsigned q = 0; q < VIRTIO_FS_QUEUES; q++)
			e->m->notify_fds[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	}
	assert_int_equal(virtio_fs_attach(e->dev), 0);
	e->dev->irq_fn = count_irq;
	e->dev->irq_ctx = e;
	*state = e;
	return 0;
}

static int setup(void **state)
{
	return setup_env(state, false, false);
}

static int setup_kvm_style(void **state)
{
	return setup_env(state, true, false);
}

static int setup_split_ram(void **state)
{
	return setup_env(state, true, true);
}

static int teardown(void **state)
{
	struct env *e = *state;
	if (!e)
		return 0;
	mmio_dev_free(e->m);
	if (e->vfsd > 0) {
		kill(e->vfsd, SIGTERM);
		waitpid(e->vfsd, NULL, 0);
	}
	vmm_loop_free(e->loop);
	vmm_mem_free(&e->mem);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
	assert_int_equal(system(cmd), 0);
	free(e);
	return 0;
}

/* The driver side of 3.1.1 and 4.2.3.2 through the register file, up to
 * and including DRIVER_OK. */
static void driver_setup(struct env *e)
{
	reg_write(e, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	reg_write(e, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_true(reg_read(e, VIRTIO_MMIO_DEVICE_FEATURES) & 1); /* VERSION_1 */
	reg_write(e, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	reg_write(e, VIRTIO_MMIO_DRIVER_FEATURES, 0);
	reg_write(e, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg_write(e, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	reg_write(e, VIRTIO_MMIO_STATUS,
		  VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		      VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned q = 0; q < VIRTIO_FS_QUEUES; q++) {
		e->ring[q] = e->hi + 0x10000 + q * 0x10000;
		memset(vmm_mem_ptr(&e->mem, e->ring[q], 0x3000), 0, 0x3000);
		reg_write(e, VIRTIO_MMIO_QUEUE_SEL, q);
		assert_int_equal(reg_read(e, VIRTIO_MMIO_QUEUE_NUM_MAX), 1024);
		reg_write(e, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
		reg_write(e, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)e->ring[q]);
		reg_write(e, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(e->ring[q] >> 32));
		reg_write(e, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)e->ring[q] + 0x1000);
		reg_write(e, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(e->ring[q] >> 32));
		reg_write(e, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)e->ring[q] + 0x2000);
		reg_write(e, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(e->ring[q] >> 32));
		reg_write(e, VIRTIO_MMIO_QUEUE_READY, 1);
	}
	e->avail_idx = e->used_seen = 0;
	reg_write(e, VIRTIO_MMIO_STATUS,
		  VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		      VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
}

static void driver_start(struct env *e)
{
	driver_setup(e);
	assert_true(e->dev->active);
	assert_false(reg_read(e, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/*
 * One FUSE request on request queue 1: `in` (header filled here) as one
 * readable buffer, a 64 KiB writable reply buffer. Returns the reply's
 * fuse_out_header.error; the reply body is copied to out.
 */
static int fuse_call(struct env *e, uint32_t opcode, uint64_t nodeid, const void *arg,
		     size_t arg_len, void *out, size_t out_len)
{
	const uint64_t req = 0x100000, rep = e->hi + 0x200000;
	struct fuse_in_header h = {.len = (uint32_t)(sizeof(h) + arg_len),
				   .opcode = opcode,
				   .unique = ++e->unique,
				   .nodeid = nodeid};
	assert_int_equal(vmm_mem_write(&e->mem, req, &h, sizeof(h)), 0);
	assert_int_equal(vmm_mem_write(&e->mem, req + sizeof(h), arg, arg_len), 0);
	memset(vmm_mem_ptr(&e->mem, rep, 65536), 0, 65536);
	struct vring_desc *d = vmm_mem_ptr(&e->mem, e->ring[1], QSIZE * sizeof(*d));
	d[0] = (struct vring_desc){req, h.len, VRING_DESC_F_NEXT, 1};
	d[1] = (struct vring_desc){rep, 65536, VRING_DESC_F_WRITE, 0};
	struct vring_avail *av = vmm_mem_ptr(&e->mem, e->ring[1] + 0x1000, 4 + 2 * QSIZE);
	av->ring[e->avail_idx % QSIZE] = 0;
	__atomic_store_n(&av->idx, ++e->avail_idx, __ATOMIC_RELEASE);
	unsigned irqs = e->irqs;
	uint64_t one = 1;
	if (e->kvm_style) /* KVM signals the ioeventfd on the QueueNotify write */
		assert_int_equal(write(e->m->notify_fds[1], &one, 8), 8);
	else
		reg_write(e, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	struct vring_used *u = vmm_mem_ptr(&e->mem, e->ring[1] + 0x2000, 4 + 8 * QSIZE);
	/* Wait for the used ring, then for the interrupt (the call eventfd is
	 * read by the event loop, which raises it). */
	for (int i = 0; i < 500 && __atomic_load_n(&u->idx, __ATOMIC_ACQUIRE) == e->used_seen; i++)
		vmm_loop_run_once(e->loop, 10);
	assert_int_equal(__atomic_load_n(&u->idx, __ATOMIC_ACQUIRE), ++e->used_seen);
	if (e->kvm_style) {
		/* virtiofsd signalled the irqfd itself; the driver then sees the
		 * VRING bit although the VMM never raised it. */
		struct pollfd p = {.fd = e->m->irqfd, .events = POLLIN};
		assert_int_equal(poll(&p, 1, 5000), 1);
		assert_int_equal(read(e->m->irqfd, &one, 8), 8);
		assert_true(reg_read(e, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);
	} else {
		for (int i = 0; i < 500 && e->irqs == irqs; i++)
			vmm_loop_run_once(e->loop, 10);
		assert_true(e->irqs > irqs);
	}
	struct vring_used_elem el = u->ring[(e->used_seen - 1) % QSIZE];
	assert_int_equal(el.id, 0);
	struct fuse_out_header oh;
	assert_int_equal(vmm_mem_read(&e->mem, rep, &oh, sizeof(oh)), 0);
	assert_int_equal(oh.unique, h.unique);
	assert_int_equal(el.len, oh.len);
	assert_true(oh.len >= sizeof(oh) && oh.len - sizeof(oh) <= out_len);
	assert_int_equal(vmm_mem_read(&e->mem, rep + sizeof(oh), out, oh.len - sizeof(oh)), 0);
	return oh.error;
}

static void fuse_init(struct env *e)
{
	struct fuse_init_in in = {.major = FUSE_KERNEL_VERSION, .minor = FUSE_KERNEL_MINOR_VERSION};
	struct fuse_init_out out = {0};
	assert_int_equal(fuse_call(e, FUSE_INIT, 0, &in, sizeof(in), &out, sizeof(out)), 0);
	assert_int_equal(out.major, FUSE_KERNEL_VERSION);
}

static void test_config_space(void **state)
{
	struct env *e = *state;
	if (!e)
		skip();
	assert_int_equal(reg_read(e, VIRTIO_MMIO_DEVICE_ID), 26);
	struct virtio_fs_config c;
	for (unsigned i = 0; i < sizeof(c); i++)
		mmio_dev_access(e->m, VIRTIO_MMIO_CONFIG + i, (uint8_t *)&c + i, 1, false);
	assert_memory_equal(c.tag, "hullfs\0", 7);
	assert_int_equal(c.num_request_queues, 1);
}

static void test_read_host_file_write_guest_file(void **state)
{
	struct env *e = *state;
	if (!e)
		skip();
	driver_start(e);
	fuse_init(e);
	struct fuse_entry_out ent;
	assert_int_equal(
	    fuse_call(e, FUSE_LOOKUP, FUSE_ROOT_ID, "hello.txt", 10, &ent, sizeof(ent)), 0);
	assert_int_equal(ent.attr.size, 20);
	struct fuse_open_in oi = {.flags = O_RDONLY};
	struct fuse_open_out oo;
	assert_int_equal(fuse_call(e, FUSE_OPEN, ent.nodeid, &oi, sizeof(oi), &oo, sizeof(oo)), 0);
	struct fuse_read_in ri = {.fh = oo.fh, .size = 4096};
	char data[4096] = "";
	assert_int_equal(fuse_call(e, FUSE_READ, ent.nodeid, &ri, sizeof(ri), data, sizeof(data)),
			 0);
	assert_string_equal(data, "hello from the host\n");

	/* CREATE + WRITE: the bytes must be in the host directory afterwards. */
	struct {
		struct fuse_create_in c;
		char name[16];
	} ci = {{.flags = O_WRONLY | O_CREAT, .mode = S_IFREG | 0644}, "from-guest.txt"};
	struct {
		struct fuse_entry_out e;
		struct fuse_open_out o;
	} co;
	assert_int_equal(
	    fuse_call(e, FUSE_CREATE, FUSE_ROOT_ID, &ci, sizeof(ci.c) + 15, &co, sizeof(co)), 0);
	const char msg[] = "written by the guest\n";
	struct {
		struct fuse_write_in w;
		char data[sizeof(msg) - 1];
	} wi = {{.fh = co.o.fh, .size = sizeof(msg) - 1}, {0}};
	memcpy(wi.data, msg, sizeof(msg) - 1);
	struct fuse_write_out wo;
	assert_int_equal(fuse_call(e, FUSE_WRITE, co.e.nodeid, &wi, sizeof(wi.w) + sizeof(msg) - 1,
				   &wo, sizeof(wo)),
			 0);
	assert_int_equal(wo.size, sizeof(msg) - 1);
	char path[160], got[64] = "";
	snprintf(path, sizeof(path), "%s/from-guest.txt", e->share);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(got, sizeof(got), f));
	fclose(f);
	assert_string_equal(got, msg);
	/* An error reply is passed through, not a device failure. */
	assert_int_equal(fuse_call(e, FUSE_LOOKUP, FUSE_ROOT_ID, "missing", 8, &ent, sizeof(ent)),
			 -ENOENT);
}

/* Reset stops the rings (GET_VRING_BASE); the driver can start over. */
static void test_reset_and_restart(void **state)
{
	struct env *e = *state;
	if (!e)
		skip();
	driver_start(e);
	fuse_init(e);
	reg_write(e, VIRTIO_MMIO_STATUS, 0);
	assert_false(e->dev->active);
	assert_int_equal(reg_read(e, VIRTIO_MMIO_STATUS), 0);
	driver_start(e);
	fuse_init(e);
}

/* virtiofsd dies: the device needs a reset, nothing else happens; a new
 * DRIVER_OK fails cleanly. */
static void test_backend_dies(void **state)
{
	struct env *e = *state;
	if (!e)
		skip();
	driver_start(e);
	fuse_init(e);
	kill(e->vfsd, SIGKILL);
	waitpid(e->vfsd, NULL, 0);
	e->vfsd = 0;
	unsigned irqs = e->irqs;
	for (int i = 0; i < 200 && !(reg_read(e, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	     i++)
		vmm_loop_run_once(e->loop, 10);
	assert_true(reg_read(e, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_true(e->irqs > irqs); /* config change interrupt */
	reg_write(e, VIRTIO_MMIO_STATUS, 0);
	driver_setup(e);
	assert_false(e->dev->active);
	assert_true(reg_read(e, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/* The same with the transport's fds as KVM wires them: ioeventfd kicks go
 * to virtiofsd untouched, virtiofsd signals the irqfd itself. */
static void test_kvm_fds_read_write(void **state)
{
	test_read_host_file_write_guest_file(state);
}

static void test_kvm_fds_reset_and_restart(void **state)
{
	test_reset_and_restart(state);
}

/* Guest RAM in two regions of one memfd: the ring addresses and the reply
 * buffers virtiofsd writes are above 4 GiB, i.e. at mmap_offset RAM/2. */
static void test_split_ram_read_write(void **state)
{
	struct env *e = *state;
	if (!e)
		skip();
	assert_int_equal(e->mem.n_regions, 2);
	test_read_host_file_write_guest_file(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_config_space, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_host_file_write_guest_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset_and_restart, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kvm_fds_read_write, setup_kvm_style, teardown),
	    cmocka_unit_test_setup_teardown(test_kvm_fds_reset_and_restart, setup_kvm_style,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_split_ram_read_write, setup_split_ram, teardown),
	    cmocka_unit_test_setup_teardown(test_backend_dies, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
