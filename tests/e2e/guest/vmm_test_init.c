// SPDX-License-Identifier: Apache-2.0
/*
 * /init of the hull-vmm end-to-end guest (static, no libc beyond glibc's
 * static archive). It checks what the VMM gives the guest and reports on the
 * console, one "HULLTEST <key> <value>" line per fact, then ends the way
 * /proc/cmdline's "hulltest.end=" asks: poweroff (default), reboot, panic
 * (init exits -> the kernel panics), hang.
 *
 * "hulltest.blk=N" (1-4): /dev/vda ... hold a 512-byte marker "HULLDISK..."
 * written by the host; the init reads it, writes "GUESTWROTE" + a pattern to
 * sector 8, reads it back (O_DIRECT), and reports as "blk" (vda) and
 * "blk_vdb", "blk_vdc", ... for the others. "hulltest.rng=1": 64 bytes from
 * /dev/hwrng. "hulltest.time=1": the clock and the timer tick work (see
 * test_time). "hulltest.busy=1": a user-space busy loop competes with the
 * vsock test for the (single) vCPU. "hulltest.flush=PORT,KIB": write KIB KiB
 * to host port PORT and power off without waiting for the host to read them.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <linux/vm_sockets.h>
#include <sys/reboot.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char cmdline[4096];

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

static const char *arg(const char *name)
{
	static char val[256];
	char key[64];
	snprintf(key, sizeof(key), "hulltest.%s=", name);
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
	mkdir("/sys", 0755);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	int fd = open("/dev/console", O_RDWR);
	if (fd < 0)
		fd = open("/dev/ttyS0", O_RDWR);
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

static void report_system(void)
{
	say("cpus", "%ld", sysconf(_SC_NPROCESSORS_ONLN));
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long kb;
		if (sscanf(line, "MemTotal: %lu kB", &kb) == 1)
			say("memtotal_kb", "%lu", kb);
	}
	if (f)
		fclose(f);
}

static void test_rng(void)
{
	unsigned char buf[64];
	int fd = open("/dev/hwrng", O_RDONLY);
	if (fd < 0) {
		say("rng", "FAIL open /dev/hwrng: %s", strerror(errno));
		return;
	}
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	unsigned distinct = 0;
	for (int i = 0; i < n; i++) {
		bool seen = false;
		for (int j = 0; j < i; j++)
			seen |= buf[j] == buf[i];
		distinct += !seen;
	}
	/* 64 random bytes have ~56 distinct values; a stuck source has 1. */
	if (n == (ssize_t)sizeof(buf) && distinct > 16)
		say("rng", "OK %zd bytes, %u distinct", n, distinct);
	else
		say("rng", "FAIL read %zd bytes, %u distinct", n, distinct);
}

static void test_blk(const char *dev, const char *key)
{
	char *buf, marker_key[32];
	if (posix_memalign((void **)&buf, 4096, 4096) != 0)
		return;
	int fd = open(dev, O_RDONLY | O_DIRECT);
	if (fd < 0) {
		say(key, "FAIL open %s: %s", dev, strerror(errno));
		return;
	}
	if (pread(fd, buf, 512, 0) != 512 || memcmp(buf, "HULLDISK", 8) != 0) {
		say(key, "FAIL host marker not found in sector 0");
		close(fd);
		return;
	}
	snprintf(marker_key, sizeof(marker_key), "%s_marker", key);
	say(marker_key, "%.32s", buf);
	close(fd);
	/* A read-only disk refuses this open (EROFS) or the write (EIO). */
	fd = open(dev, O_RDWR | O_DIRECT);
	if (fd < 0) {
		say(key, "FAIL write: open: %s", strerror(errno));
		return;
	}
	memset(buf, 0, 4096);
	strcpy(buf, "GUESTWROTE");
	for (int i = 16; i < 4096; i++)
		buf[i] = (char)(i * 7);
	if (pwrite(fd, buf, 4096, 8 * 512) != 4096 || fsync(fd) != 0) {
		say(key, "FAIL write: %s", strerror(errno));
		close(fd);
		return;
	}
	char *back;
	if (posix_memalign((void **)&back, 4096, 4096) != 0)
		return;
	if (pread(fd, back, 4096, 8 * 512) != 4096 || memcmp(buf, back, 4096) != 0)
		say(key, "FAIL read-back differs");
	else
		say(key, "OK");
	close(fd);
}

static uint16_t csum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

static int if_config(const char *ifname, const char *ip)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr = {0};
	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, ip, &sin->sin_addr);
	if (ioctl(s, SIOCSIFADDR, &ifr) < 0)
		return close(s), -1;
	inet_pton(AF_INET, "255.255.255.0", &sin->sin_addr);
	if (ioctl(s, SIOCSIFNETMASK, &ifr) < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return close(s), -1;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	int r = ioctl(s, SIOCSIFFLAGS, &ifr);
	close(s);
	return r;
}

/* hulltest.net=GUESTIP,HOSTIP: configure eth0, ping the host (raw ICMP). */
static void test_net(const char *spec)
{
	char guest[32], host[32];
	if (sscanf(spec, "%31[^,],%31s", guest, host) != 2) {
		say("net", "FAIL bad hulltest.net=%s", spec);
		return;
	}
	if (if_config("eth0", guest) < 0) {
		say("net", "FAIL configuring eth0: %s", strerror(errno));
		return;
	}
	int s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	struct sockaddr_in to = {.sin_family = AF_INET};
	inet_pton(AF_INET, host, &to.sin_addr);
	for (int seq = 1; seq <= 10; seq++) {
		struct icmphdr req = {.type = ICMP_ECHO};
		req.un.echo.id = htons(0x4855);
		req.un.echo.sequence = htons((uint16_t)seq);
		req.checksum = csum(&req, sizeof(req));
		sendto(s, &req, sizeof(req), 0, (struct sockaddr *)&to, sizeof(to));
		struct pollfd pfd = {.fd = s, .events = POLLIN};
		while (poll(&pfd, 1, 1000) > 0) {
			char buf[256];
			ssize_t n = recv(s, buf, sizeof(buf), 0);
			if (n < 28)
				continue;
			struct icmphdr *rep = (struct icmphdr *)(buf + (buf[0] & 0xf) * 4);
			if (rep->type == ICMP_ECHOREPLY && rep->un.echo.id == htons(0x4855)) {
				say("net", "OK echo reply from %s (seq %d)", host, seq);
				close(s);
				return;
			}
		}
	}
	close(s);
	say("net", "FAIL no echo reply from %s", host);
}

static int64_t now_ms(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A child that spins in user space (never entering the kernel on its own)
 * for at most max_ms: only the timer tick can take the CPU back from it. */
static pid_t start_busy(int64_t max_ms)
{
	pid_t pid = fork();
	if (pid == 0) {
		int64_t end = now_ms(CLOCK_MONOTONIC) + max_ms;
		volatile uint64_t spin = 0;
		while (now_ms(CLOCK_MONOTONIC) < end)
			for (int i = 0; i < 100000; i++)
				spin++;
		_exit(0);
	}
	return pid;
}

static void stop_busy(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/*
 * hulltest.time=1: (1) across a 300 ms busy loop, the tick-driven
 * CLOCK_MONOTONIC_COARSE advances too (a guest without a working timer
 * interrupt keeps it still); (2) nanosleep(100 ms) returns after about
 * 100 ms; (3) it still does while another task spins on the same CPU (no
 * tick: the sleeper is never scheduled again until the spinner gives up).
 */
static void test_time(void)
{
	int64_t t0 = now_ms(CLOCK_MONOTONIC), c0 = now_ms(CLOCK_MONOTONIC_COARSE);
	volatile uint64_t spin = 0;
	for (long n = 0; n < 200000000 && now_ms(CLOCK_MONOTONIC) - t0 < 300; n++)
		spin++;
	int64_t busy = now_ms(CLOCK_MONOTONIC) - t0, coarse = now_ms(CLOCK_MONOTONIC_COARSE) - c0;
	say("time_busy", "%s monotonic %lld ms coarse %lld ms",
	    busy >= 300 && coarse >= 100 ? "OK" : "FAIL", (long long)busy, (long long)coarse);

	struct timespec req = {.tv_nsec = 100 * 1000000};
	t0 = now_ms(CLOCK_MONOTONIC);
	nanosleep(&req, NULL);
	int64_t slept = now_ms(CLOCK_MONOTONIC) - t0;
	say("time_sleep", "%s %lld ms", slept >= 100 && slept < 5000 ? "OK" : "FAIL",
	    (long long)slept);

	pid_t busy_pid = start_busy(20000);
	int64_t worst = 0;
	for (int i = 0; i < 3; i++) {
		t0 = now_ms(CLOCK_MONOTONIC);
		nanosleep(&req, NULL);
		int64_t d = now_ms(CLOCK_MONOTONIC) - t0;
		worst = d > worst ? d : worst;
	}
	stop_busy(busy_pid);
	say("time_sleep_busy", "%s worst %lld ms", busy_pid > 0 && worst < 5000 ? "OK" : "FAIL",
	    (long long)worst);
}

#define VSOCK_BYTES (1u << 20)

static uint32_t fnv(const uint8_t *p, size_t n, uint32_t h)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* Send VSOCK_BYTES of a pattern and read as many back at the same time
 * (poll: the peer echoes, so neither side may block on a full buffer).
 * Returns 0 when what came back is what went out. */
static int echo_exchange(int fd)
{
	static uint8_t out[VSOCK_BYTES], in[VSOCK_BYTES];
	for (size_t i = 0; i < VSOCK_BYTES; i++)
		out[i] = (uint8_t)(i * 131 + (i >> 12));
	size_t sent = 0, got = 0;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (got < VSOCK_BYTES) {
		struct pollfd p = {.fd = fd, .events = POLLIN | (sent < VSOCK_BYTES ? POLLOUT : 0)};
		if (poll(&p, 1, 20000) <= 0)
			return -1;
		if (p.revents & POLLOUT) {
			ssize_t n = write(fd, out + sent, VSOCK_BYTES - sent);
			if (n > 0)
				sent += (size_t)n;
			if (sent == VSOCK_BYTES)
				shutdown(fd, SHUT_WR);
		}
		if (p.revents & (POLLIN | POLLHUP)) {
			ssize_t n = read(fd, in + got, VSOCK_BYTES - got);
			if (n == 0)
				break;
			if (n > 0)
				got += (size_t)n;
		}
	}
	return got == VSOCK_BYTES && fnv(in, got, 2166136261u) == fnv(out, got, 2166136261u) ? 0
											     : -1;
}

/* hulltest.vsock=PORT: guest -> host echo on host port PORT, then serve one
 * host -> guest echo connection on guest port PORT+1. */
static void test_vsock(int port)
{
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0);
	struct sockaddr_vm sa = {
	    .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = (unsigned)port};
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		say("vsock_g2h", "FAIL connect to host port %d: %s", port, strerror(errno));
	else
		say("vsock_g2h", "%s 1 MiB echoed", echo_exchange(fd) == 0 ? "OK" : "FAIL");
	if (fd >= 0) {
		struct linger lg = {.l_onoff = 1, .l_linger = 30};
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
	}

	int l = socket(AF_VSOCK, SOCK_STREAM, 0);
	sa.svm_cid = VMADDR_CID_ANY;
	sa.svm_port = (unsigned)port + 1;
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 1) < 0) {
		say("vsock_h2g", "FAIL listen: %s", strerror(errno));
		return;
	}
	say("vsock_h2g", "listening on %d", port + 1);
	int c = accept(l, NULL, NULL);
	if (c < 0) {
		say("vsock_h2g", "FAIL accept: %s", strerror(errno));
		return;
	}
	/* echo until the host is done */
	static uint8_t buf[65536];
	size_t total = 0;
	for (;;) {
		ssize_t n = read(c, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(c, buf + off, (size_t)(n - off));
			if (w <= 0)
				break;
			off += w;
		}
		total += (size_t)n;
	}
	say("vsock_h2g", "echoed %zu bytes", total);
	/* close() returns while our last bytes may still be queued in this
	 * kernel or in the VMM; powering off then would lose them. Linger
	 * until the VMM's RST says the host has everything. */
	struct linger lg = {.l_onoff = 1, .l_linger = 30};
	setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(c);
	close(l);
}

/*
 * hulltest.flush=PORT,KIB: a pattern (byte i = i*7 + i/1024) to host port
 * PORT, then straight on to the end (poweroff): the host reads only after
 * "vsock_flush sent", so the VMM still holds bytes when the guest goes.
 */
static void test_flush(const char *spec)
{
	int port = 0, kib = 0;
	if (sscanf(spec, "%d,%d", &port, &kib) != 2 || kib <= 0 || kib > 4096) {
		say("vsock_flush", "FAIL bad hulltest.flush=%s", spec);
		return;
	}
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0);
	struct sockaddr_vm sa = {
	    .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = (unsigned)port};
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		say("vsock_flush", "FAIL connect to host port %d: %s", port, strerror(errno));
		return;
	}
	static uint8_t buf[4096 * 1024];
	size_t len = (size_t)kib * 1024, sent = 0;
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 7 + (i >> 10));
	while (sent < len) {
		ssize_t n = write(fd, buf + sent, len - sent);
		if (n <= 0) {
			say("vsock_flush", "FAIL write after %zu bytes: %s", sent, strerror(errno));
			return;
		}
		sent += (size_t)n;
	}
	/* write() returns once the bytes are queued in this kernel; its vsock
	 * worker moves them to the virtqueue when it next runs, and poweroff
	 * does not wait for it (a guest matter, not the VMM's): let it run. */
	usleep(200 * 1000);
	say("vsock_flush", "sent %zu bytes", sent);
	/* no close(): powering off with the stream open is the point */
}

int main(void)
{
	setup();
	say("init", "started");
	report_system();
	const char *v;
	if ((v = arg("rng")) && strcmp(v, "1") == 0)
		test_rng();
	if ((v = arg("blk"))) {
		int disks = atoi(v);
		for (int i = 0; i < disks && i < 4; i++) {
			char dev[16], key[16];
			snprintf(dev, sizeof(dev), "/dev/vd%c", 'a' + i);
			snprintf(key, sizeof(key), i ? "blk_vd%c" : "blk", 'a' + i);
			test_blk(dev, key);
		}
	}
	if ((v = arg("net")))
		test_net(v);
	if ((v = arg("time")) && strcmp(v, "1") == 0)
		test_time();
	if ((v = arg("vsock"))) {
		/* bounded: the test must end even if nothing ever stops it */
		pid_t busy = (v = arg("busy")) && strcmp(v, "1") == 0 ? start_busy(240000) : 0;
		test_vsock(atoi(arg("vsock")));
		stop_busy(busy);
	}
	if ((v = arg("flush")))
		test_flush(v);
	const char *end = arg("end");
	if (!end)
		end = "poweroff";
	say("end", "%s", end);
	sync();
	if (strcmp(end, "panic") == 0)
		return 1; /* PID 1 exiting panics the kernel */
	if (strcmp(end, "hang") == 0)
		for (;;)
			pause();
	reboot(strcmp(end, "reboot") == 0 ? RB_AUTOBOOT : RB_POWER_OFF);
	say("end", "FAIL reboot(): %s", strerror(errno));
	return 1;
}
