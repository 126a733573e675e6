// SPDX-License-Identifier: Apache-2.0
/* Simulated guest and host helpers for vsock tests; see vsock_sim.h. */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vsock_sim.h"

int vsock_sim_init(struct vsock_sim *s, const struct vsock_muxer_config *cfg)
{
	memset(s, 0, sizeof(*s));
	/* Sockets cannot live on 9p shares: always a local /tmp directory. */
	snprintf(s->dir, sizeof(s->dir), "/tmp/hull-vsock-XXXXXX");
	if (!mkdtemp(s->dir))
		return -errno;
	snprintf(s->path, sizeof(s->path), "%.60s/v.sock", s->dir);
	struct vsock_muxer_config c = cfg ? *cfg : (struct vsock_muxer_config){0};
	c.path = s->path;
	c.guest_cid = SIM_CID;
	return vsock_muxer_new(&c, &s->m);
}

void vsock_sim_exit(struct vsock_sim *s)
{
	vsock_muxer_free(s->m);
	s->m = NULL;
	DIR *d = opendir(s->dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			char p[400];
			if (e->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%s", s->dir, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(s->dir);
}

int vsock_sim_send(struct vsock_sim *s, uint16_t op, uint32_t src_port, uint32_t dst_port,
		   uint32_t flags, uint32_t buf_alloc, uint32_t fwd_cnt, const void *data,
		   uint32_t len)
{
	struct vsock_hdr h = {
	    .src_cid = SIM_CID,
	    .dst_cid = VSOCK_HOST_CID,
	    .src_port = src_port,
	    .dst_port = dst_port,
	    .len = len,
	    .type = VSOCK_TYPE_STREAM,
	    .op = op,
	    .flags = flags,
	    .buf_alloc = buf_alloc,
	    .fwd_cnt = fwd_cnt,
	};
	struct iovec iov = {(void *)data, len};
	return vsock_muxer_tx(s->m, &h, &iov, len ? 1 : 0);
}

int vsock_sim_recv(struct vsock_sim *s, struct vsock_hdr *h, void *buf, size_t cap)
{
	vsock_muxer_process(s->m);
	struct iovec iov = {buf, cap};
	return vsock_muxer_rx(s->m, h, &iov, 1);
}

void vsock_sim_pump(struct vsock_sim *s, int timeout_ms)
{
	struct pollfd p = {.fd = vsock_muxer_fd(s->m), .events = POLLIN};
	if (poll(&p, 1, timeout_ms) > 0)
		vsock_muxer_process(s->m);
}

int vsock_sim_wait(struct vsock_sim *s, struct vsock_hdr *h, void *buf, size_t cap, int timeout_ms)
{
	for (int waited = 0;; waited += 10) {
		int r = vsock_sim_recv(s, h, buf, cap);
		if (r != -EAGAIN || waited >= timeout_ms)
			return r;
		struct pollfd p = {.fd = vsock_muxer_fd(s->m), .events = POLLIN};
		poll(&p, 1, 10);
	}
}

int vsock_sim_client(struct vsock_sim *s)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int vsock_sim_listen(struct vsock_sim *s, uint32_t port)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", s->path, port);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

ssize_t vsock_sim_read(int fd, void *buf, size_t len, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int r = poll(&p, 1, timeout_ms);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	ssize_t n = read(fd, buf, len);
	return n < 0 ? -errno : n;
}

int vsock_sim_fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -errno;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the DIR's own fd */
}
