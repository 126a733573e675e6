// SPDX-License-Identifier: Apache-2.0
/*
 * PID 1 duties in the guest: the API filesystems, the loopback interface, a
 * hostname, and — before any container exists — leaving the initramfs.
 *
 * pivot_root(2) refuses to move the initial rootfs (ramfs/tmpfs "rootfs"
 * mount is the root of the mount tree and cannot be unmounted), so a
 * container created directly from the initramfs could only chroot, and
 * setns()-based exec would then land outside its rootfs. Like switch_root,
 * the agent mounts a fresh tmpfs, copies itself there, moves the API
 * filesystems over, MS_MOVEs the tmpfs onto "/" and chroots into it; from then
 * on "/" is an ordinary mount and containers get a real pivot_root.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "init.h"
#include "lib/cleanup.h"
#include "lib/log.h"

struct api_mount {
	const char *src, *dst, *type;
	unsigned long flags;
	const char *data;
};

static const struct api_mount api_mounts[] = {
    {"proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
    {"sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
    {"devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755"},
    {"devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=0620,ptmxmode=0666"},
    {"shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"},
    {"tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"},
    {"cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
};

static int mount_api(struct err **err)
{
	for (size_t i = 0; i < ARRAY_SIZE(api_mounts); i++) {
		const struct api_mount *m = &api_mounts[i];
		mkdir(m->dst, 0755);
		if (mount(m->src, m->dst, m->type, m->flags, m->data) < 0 && errno != EBUSY) {
			/* cgroup2 missing only disables limits; the rest is fatal. */
			if (strcmp(m->type, "cgroup2") == 0) {
				log_warn("mount cgroup2: %s", strerror(errno));
				continue;
			}
			return err_set(err, errno, "mount %s on %s", m->type, m->dst);
		}
	}
	if (symlink("/proc/self/fd", "/dev/fd") < 0 && errno != EEXIST)
		log_warn("symlink /dev/fd: %s", strerror(errno));
	return 0;
}

static int copy_file(const char *from, const char *to, struct err **err)
{
	_cleanup_close_ int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return err_set(err, errno, "open %s", from);
	struct stat st;
	if (fstat(in, &st) < 0)
		return err_set(err, errno, "stat %s", from);
	_cleanup_close_ int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (out < 0)
		return err_set(err, errno, "create %s", to);
	for (off_t off = 0; off < st.st_size;) {
		ssize_t n = sendfile(out, in, &off, (size_t)(st.st_size - off));
		if (n <= 0)
			return err_set(err, n < 0 ? errno : EIO, "copy %s", from);
	}
	return 0;
}

static bool root_is_initramfs(void)
{
	struct statfs sfs;
	if (statfs("/", &sfs) < 0)
		return false;
	/* The initial rootfs is ramfs or tmpfs, and it is nobody's mount
	 * point: there is no parent to move it under. */
	return sfs.f_type == RAMFS_MAGIC || sfs.f_type == TMPFS_MAGIC;
}

int agent_init_reroot(struct err **err)
{
	static const char *keep[] = {"/proc", "/sys", "/dev", "/run"};
	const char *nr = "/.hull-root";
	if (mkdir(nr, 0755) < 0 && errno != EEXIST)
		return err_set(err, errno, "mkdir %s", nr);
	if (mount("tmpfs", nr, "tmpfs", 0, "mode=0755") < 0)
		return err_set(err, errno, "mount tmpfs on %s", nr);
	char path[64];
	/* Our own binary, so /init still exists after the switch. */
	snprintf(path, sizeof(path), "%s/init", nr);
	int r = copy_file("/proc/self/exe", path, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(keep); i++) {
		snprintf(path, sizeof(path), "%s%s", nr, keep[i]);
		mkdir(path, 0755);
		if (mount(keep[i], path, NULL, MS_MOVE, NULL) < 0)
			return err_set(err, errno, "move %s", keep[i]);
	}
	for (const char *d = "tmp"; d; d = NULL) {
		snprintf(path, sizeof(path), "%s/%s", nr, d);
		mkdir(path, 01777);
	}
	if (chdir(nr) < 0)
		return err_set(err, errno, "chdir %s", nr);
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
		return err_set(err, errno, "move %s onto /", nr);
	if (chroot(".") < 0)
		return err_set(err, errno, "chroot");
	if (chdir("/") < 0)
		return err_set(err, errno, "chdir /");
	return 0;
}

static void loopback_up(void)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		log_warn("bring up lo: %s", strerror(errno));
}

/*
 * Free page reporting (virtio-balloon) hands free blocks of this order and up
 * back to the host. Linux 6.1 sets it to pageblock_order when the balloon
 * registers: order 10 (4 MiB) in our kernel without hugetlbfs, and it
 * reports only while more than 32 blocks of that order are free, so a small
 * guest (128 MiB: ~90 MiB free) never reports at all. What boot touched and
 * freed (the compressed kernel, the initramfs image) is fragmented: measured
 * on an idle 128 MiB sandbox, order 9 gave back 0.9 MiB, order 5 (128 KiB)
 * 5.8 MiB of 43, order 3 no more. The knob is read at each reporting pass.
 */
#define PAGE_REPORTING_ORDER "/sys/module/page_reporting/parameters/page_reporting_order"

static void set_page_reporting_order(void)
{
	_cleanup_close_ int fd = open(PAGE_REPORTING_ORDER, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return; /* a kernel without page reporting */
	if (write(fd, "5", 1) != 1)
		log_warn("%s: %s", PAGE_REPORTING_ORDER, strerror(errno));
}

int agent_init_pid1(struct err **err)
{
	int r = mount_api(err);
	if (r < 0)
		return r;
	if (root_is_initramfs() && (r = agent_init_reroot(err)) < 0)
		return err_wrap(err, "leave the initramfs");
	if (sethostname("hull", 4) < 0)
		log_warn("sethostname: %s", strerror(errno));
	loopback_up();
	set_page_reporting_order();
	return 0;
}
