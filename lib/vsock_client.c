// SPDX-License-Identifier: Apache-2.0
/*
 * Hybrid vsock client handshake (Firecracker docs/vsock.md, "Host-Initiated
 * Connections"): CONNECT <port>\n -> OK <host_port>\n.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "lib/vsock_client.h"

/* "OK 4294967295\n" fits easily; anything longer is not our VMM. */
#define REPLY_MAX 32

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* MSG_NOSIGNAL: a VMM that hung up must not kill us with SIGPIPE. */
static int send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Wait until fd is readable before the deadline (-1: none). */
static int wait_readable(int fd, int64_t deadline)
{
	for (;;) {
		int t = -1;
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();
			if (left <= 0)
				return -ETIMEDOUT;
			t = left > 1000000 ? 1000000 : (int)left;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, t);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r > 0)
			return 0;
	}
}

/*
 * connect() that gives up at the deadline. A unix-socket connect blocks only
 * while the listener's backlog is full; non-blocking, it fails with EAGAIN
 * instead (it never returns EINPROGRESS), so retry until the deadline.
 */
static int connect_before(int fd, const struct sockaddr_un *sa, int64_t deadline)
{
	int r = fd_set_nonblock(fd, 1);
	if (r < 0)
		return r;
	while (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		if (deadline >= 0 && now_ms() >= deadline)
			return -ETIMEDOUT;
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return fd_set_nonblock(fd, 0);
}

/* Read the reply line, one byte per read() so nothing after '\n' is taken.
 * Returns its length without the newline (it is also NUL-terminated). */
static int read_reply(int fd, char *line, size_t cap, int64_t deadline)
{
	size_t n = 0;
	for (;;) {
		int r = wait_readable(fd, deadline);
		if (r < 0)
			return r;
		char ch;
		ssize_t got = read(fd, &ch, 1);
		if (got < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (got == 0)
			return -ECONNRESET;
		if (ch == '\n') {
			line[n] = '\0';
			return (int)n;
		}
		if (n + 1 >= cap)
			return -EPROTO;
		line[n++] = ch;
	}
}

int vsock_hybrid_reply_parse(const char *line, size_t len, uint32_t *host_port)
{
	/* "OK " and 1-10 decimal digits: anything else is not our VMM. */
	if (len < 4 || len > 13 || memcmp(line, "OK ", 3) != 0)
		return -EPROTO;
	uint64_t v = 0;
	for (size_t i = 3; i < len; i++) {
		if (line[i] < '0' || line[i] > '9')
			return -EPROTO;
		v = v * 10 + (uint64_t)(line[i] - '0');
	}
	if (v > UINT32_MAX)
		return -EPROTO;
	if (host_port)
		*host_port = (uint32_t)v;
	return 0;
}

/* Make the reply printable for an error message. */
static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

int vsock_hybrid_connect(const char *uds_path, uint32_t port, int timeout_ms, struct err **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : -1;

	if (strlen(uds_path) >= sizeof(sa.sun_path))
		return err_set(err, ENAMETOOLONG, "vsock socket %s", uds_path);
	memcpy(sa.sun_path, uds_path, strlen(uds_path) + 1);

	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(err, errno, "socket");
	int r = connect_before(fd, &sa, deadline);
	if (r == -ETIMEDOUT)
		return err_set(err, ETIMEDOUT, "connect to vsock socket %s: backlog full for %d ms",
		               uds_path, timeout_ms);
	if (r < 0)
		return err_set(err, -r, "connect to vsock socket %s", uds_path);

	char cmd[32];
	int len = snprintf(cmd, sizeof(cmd), "CONNECT %u\n", port);
	r = send_all(fd, cmd, (size_t)len);
	if (r < 0)
		return err_set(err, -r, "vsock %s: send CONNECT %u", uds_path, port);

	char line[REPLY_MAX];
	r = read_reply(fd, line, sizeof(line), deadline);
	if (r == -ECONNRESET)
		return err_set(err, ECONNRESET,
		               "vsock %s port %u: connection closed by the VMM (nothing listening "
		               "on that guest port?)",
		               uds_path, port);
	if (r == -EPROTO)
		return err_set(err, EPROTO, "vsock %s port %u: reply longer than %d bytes",
		               uds_path, port, REPLY_MAX);
	if (r == -ETIMEDOUT)
		return err_set(err, ETIMEDOUT, "vsock %s port %u: no reply within %d ms", uds_path,
		               port, timeout_ms);
	if (r < 0)
		return err_set(err, -r, "vsock %s port %u: read reply", uds_path, port);
	if (vsock_hybrid_reply_parse(line, (size_t)r, NULL) < 0) {
		sanitize(line);
		return err_set(err, EPROTO, "vsock %s port %u: unexpected reply \"%s\"", uds_path,
		               port, line);
	}
	return TAKE_FD(fd);
}
