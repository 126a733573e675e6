// SPDX-License-Identifier: Apache-2.0
/*
 * /init of the hull-vmm benchmark guest (tests/bench/bench-vmm.sh). It runs
 * what /proc/cmdline asks, prints one "HULLBENCH <key>=<value>" line per
 * figure on the console, and powers off:
 *
 *   hullbench.g2h=PORT,MIB   connect to host port PORT, send MIB MiB, close
 *                            and linger until the host has every byte
 *                            (the VMM's RST comes after its last write)
 *   hullbench.h2g=PORT       listen on guest port PORT, read one stream to
 *                            EOF (the host sends)
 *   hullbench.blk=MIB        sequential O_DIRECT write then read of MIB MiB
 *                            on /dev/vda in 1 MiB requests (page cache
 *                            bypassed, so this is the device's speed)
 *
 * Times come from CLOCK_MONOTONIC in the guest (kvm-clock).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1u << 20)

static char cmdline[4096];

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("HULLBENCH %s\n", buf);
	fflush(stdout);
}

static const char *arg(const char *name)
{
	static char val[128];
	char key[64];
	snprintf(key, sizeof(key), "hullbench.%s=", name);
	const char *p = strstr(cmdline, key);
	if (!p)
		return NULL;
	p += strlen(key);
	size_t n = strcspn(p, " \n");
	if (n >= sizeof(val))
		n = sizeof(val) - 1;
	memcpy(val, p, n);
	val[n] = '\0';
	return val;
}

static void setup(void)
{
	mkdir("/dev", 0755);
	mkdir("/proc", 0755);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("proc", "/proc", "proc", 0, NULL);
	int fd = open("/dev/console", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	int c = open("/proc/cmdline", O_RDONLY);
	if (c >= 0) {
		ssize_t n = read(c, cmdline, sizeof(cmdline) - 1);
		cmdline[n > 0 ? n : 0] = '\0';
		close(c);
	}
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void report(const char *key, double bytes, double secs)
{
	if (secs <= 0)
		secs = 1e-9;
	say("%s_mibs=%.1f", key, bytes / (1 << 20) / secs);
	say("%s_s=%.3f", key, secs);
}

/* A page-aligned 1 MiB buffer (O_DIRECT needs the alignment). */
static uint8_t *chunk(void)
{
	static uint8_t *buf;
	if (!buf && posix_memalign((void **)&buf, 4096, CHUNK) == 0)
		for (size_t i = 0; i < CHUNK; i++)
			buf[i] = (uint8_t)(i * 13 + (i >> 9));
	return buf;
}

static void bench_g2h(const char *spec)
{
	unsigned port, mib;
	uint8_t *buf = chunk();
	if (sscanf(spec, "%u,%u", &port, &mib) != 2 || !mib || !buf) {
		say("g2h_error=bad spec %s", spec);
		return;
	}
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0);
	struct sockaddr_vm sa = {
	    .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = port};
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		say("g2h_error=connect: %s", strerror(errno));
		return;
	}
	double t0 = now_s();
	for (unsigned i = 0; i < mib; i++)
		for (size_t off = 0; off < CHUNK;) {
			ssize_t n = write(fd, buf + off, CHUNK - off);
			if (n <= 0) {
				say("g2h_error=write: %s", strerror(errno));
				return;
			}
			off += (size_t)n;
		}
	/* Done only when the host has it all: linger for the VMM's RST. */
	shutdown(fd, SHUT_WR);
	struct linger lg = {.l_onoff = 1, .l_linger = 60};
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	report("vsock_g2h", (double)mib * CHUNK, now_s() - t0);
}

static void bench_h2g(const char *spec)
{
	unsigned port = (unsigned)atoi(spec);
	uint8_t *buf = chunk();
	int l = socket(AF_VSOCK, SOCK_STREAM, 0);
	struct sockaddr_vm sa = {
	    .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port};
	if (!buf || l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 1) < 0) {
		say("h2g_error=listen: %s", strerror(errno));
		return;
	}
	say("h2g_listening=%u", port);
	int c = accept(l, NULL, NULL);
	if (c < 0) {
		say("h2g_error=accept: %s", strerror(errno));
		return;
	}
	double t0 = now_s(), total = 0;
	for (;;) {
		ssize_t n = read(c, buf, CHUNK);
		if (n <= 0)
			break;
		total += (double)n;
	}
	report("vsock_h2g", total, now_s() - t0);
	say("vsock_h2g_bytes=%.0f", total);
	close(c);
	close(l);
}

static int blk_pass(int fd, unsigned mib, int write_pass, uint8_t *buf)
{
	for (unsigned i = 0; i < mib; i++) {
		off_t off = (off_t)i * CHUNK;
		ssize_t n = write_pass ? pwrite(fd, buf, CHUNK, off) : pread(fd, buf, CHUNK, off);
		if (n != CHUNK)
			return -1;
	}
	return write_pass ? fdatasync(fd) : 0;
}

static void bench_blk(const char *spec)
{
	unsigned mib = (unsigned)atoi(spec);
	uint8_t *buf = chunk();
	int fd = open("/dev/vda", O_RDWR | O_DIRECT);
	if (!mib || !buf || fd < 0) {
		say("blk_error=open /dev/vda: %s", strerror(errno));
		return;
	}
	double t0 = now_s();
	if (blk_pass(fd, mib, 1, buf) < 0) {
		say("blk_error=write: %s", strerror(errno));
		return;
	}
	report("blk_write", (double)mib * CHUNK, now_s() - t0);
	t0 = now_s();
	if (blk_pass(fd, mib, 0, buf) < 0) {
		say("blk_error=read: %s", strerror(errno));
		return;
	}
	report("blk_read", (double)mib * CHUNK, now_s() - t0);
	close(fd);
}

int main(void)
{
	setup();
	const char *v;
	if ((v = arg("g2h")))
		bench_g2h(v);
	if ((v = arg("h2g")))
		bench_h2g(v);
	if ((v = arg("blk")))
		bench_blk(v);
	say("done=1");
	sync();
	reboot(RB_POWER_OFF);
	return 1;
}
