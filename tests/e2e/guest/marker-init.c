// SPDX-License-Identifier: Apache-2.0
/*
 * A one-file initramfs init: prints a marker (with the boot time and the
 * number of online CPUs) on the console and stops the VM. Proves the guest
 * kernel boots (under QEMU microvm before hull-vmm exists, and as the peer's
 * guest in the boot benchmark). It stops the VM by reboot: QEMU with
 * -no-reboot and hull-vmm both end on it, with or without ACPI.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	/* The initramfs has no device nodes: bring devtmpfs (and sysfs, for
	 * the CPU count) up first. */
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	int fd = open("/dev/console", O_WRONLY | O_NOCTTY);
	if (fd < 0)
		fd = open("/dev/kmsg", O_WRONLY);

	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	char msg[160];
	int n = snprintf(msg, sizeof(msg),
			 "HULL-MARKER init reached at %ld.%06ld s boottime, %d CPUs online\n",
			 (long)ts.tv_sec, ts.tv_nsec / 1000, get_nprocs());
	if (fd >= 0 && n > 0 && write(fd, msg, (size_t)n) < 0) {
		/* Nothing else to report it on; the missing marker says it. */
	}
	sync();
	reboot(RB_AUTOBOOT);
	reboot(RB_POWER_OFF);
	return 1;
}
