// SPDX-License-Identifier: Apache-2.0
/*
 * /init of the virtio-fs end-to-end guest (static). It mounts the virtio-fs
 * share whose tag /proc/cmdline names ("hulltest.fstag=TAG", default
 * "hullfs") on /mnt, reads the file the host wrote (/mnt/from-host.txt),
 * writes /mnt/from-guest.txt, lists the directory, and reports one
 * "HULLTEST <key> <value>" line per fact on the console; then powers off.
 *
 * "hulltest.rebind=1": afterwards unbind and rebind the virtio-fs driver
 * through sysfs - a device reset (the VMM stops the rings in virtiofsd) and a
 * fresh DRIVER_OK (it hands them over again) - and do it all once more.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>

static void say(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const char *key, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("HULLTEST %s %s\n", key, buf);
	fflush(stdout);
}

static char cmdline[4096];

static void tag_from_cmdline(char *tag, size_t len)
{
	snprintf(tag, len, "hullfs");
	char *p = strstr(cmdline, "hulltest.fstag=");
	if (!p)
		return;
	p += strlen("hulltest.fstag=");
	size_t k = strcspn(p, " \n");
	if (k > 0 && k < len)
		snprintf(tag, len, "%.*s", (int)k, p);
}

static void check_share(void)
{
	char tag[64], buf[256];
	tag_from_cmdline(tag, sizeof(tag));
	mkdir("/mnt", 0755);
	if (mount(tag, "/mnt", "virtiofs", 0, NULL) < 0) {
		say("vfs-mount", "FAIL %s", strerror(errno));
		return;
	}
	say("vfs-mount", "ok %s", tag);
	int fd = open("/mnt/from-host.txt", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		say("vfs-read", "FAIL %s", strerror(errno));
	} else {
		buf[n] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		say("vfs-read", "%s", buf);
	}
	if (fd >= 0)
		close(fd);
	const char msg[] = "written by the guest over virtio-fs\n";
	fd = open("/mnt/from-guest.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, msg, sizeof(msg) - 1) != (ssize_t)sizeof(msg) - 1 || fsync(fd) < 0)
		say("vfs-write", "FAIL %s", strerror(errno));
	else
		say("vfs-write", "ok %zu", sizeof(msg) - 1);
	if (fd >= 0)
		close(fd);
	DIR *d = opendir("/mnt");
	int entries = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		entries += e->d_name[0] != '.';
	if (d)
		closedir(d);
	say("vfs-entries", "%d", entries);
	if (umount("/mnt") < 0)
		say("vfs-umount", "FAIL %s", strerror(errno));
	else
		say("vfs-umount", "ok");
}

/* Write `val` to a sysfs file; 0 or -errno. */
static int sysfs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	int r = write(fd, val, strlen(val)) < 0 ? -errno : 0;
	close(fd);
	return r;
}

static void rebind(void)
{
	const char *drv = "/sys/bus/virtio/drivers/virtiofs";
	char dev[sizeof(((struct dirent *)0)->d_name)] = "", path[sizeof(dev) + 48];
	mkdir("/sys", 0755);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	DIR *d = opendir(drv);
	for (struct dirent *e; d && (e = readdir(d));)
		if (strncmp(e->d_name, "virtio", 6) == 0)
			snprintf(dev, sizeof(dev), "%s", e->d_name);
	if (d)
		closedir(d);
	if (!dev[0]) {
		say("vfs-rebind", "FAIL no device bound to %s", drv);
		return;
	}
	int r;
	snprintf(path, sizeof(path), "%s/unbind", drv);
	if ((r = sysfs_write(path, dev)) < 0) {
		say("vfs-rebind", "FAIL unbind %s: %s", dev, strerror(-r));
		return;
	}
	snprintf(path, sizeof(path), "%s/bind", drv);
	if ((r = sysfs_write(path, dev)) < 0) {
		say("vfs-rebind", "FAIL bind %s: %s", dev, strerror(-r));
		return;
	}
	say("vfs-rebind", "ok %s", dev);
	check_share();
}

int main(void)
{
	mkdir("/proc", 0755);
	mount("proc", "/proc", "proc", 0, NULL);
	int fd = open("/proc/cmdline", O_RDONLY);
	if (fd >= 0) {
		ssize_t n = read(fd, cmdline, sizeof(cmdline) - 1);
		cmdline[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	check_share();
	if (strstr(cmdline, "hulltest.rebind=1"))
		rebind();
	say("end", "poweroff");
	sync();
	reboot(RB_POWER_OFF);
	say("end", "FAIL reboot(): %s", strerror(errno));
	return 1;
}
