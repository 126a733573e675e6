// SPDX-License-Identifier: Apache-2.0
/*
 * vhost-user front-end (QEMU docs/interop/vhost-user.rst, "Communication",
 * "Message types"): framing, fd passing, reply validation and the requests a
 * virtio device on a vhost-user back-end needs.
 *
 * Wire format: a 12-byte header (u32 request, u32 flags, u32 size; host byte
 * order, which the spec defines as little-endian on x86) then `size` payload
 * bytes; fds travel as SCM_RIGHTS ancillary data with the header. The
 * back-end is a separate, less trusted process: a reply is read only as far
 * as its header allows (never more than the payload we expect), fds it tries
 * to send us are closed, and after any error the stream may be out of step,
 * so the connection is marked broken and never used again.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "vhost_user.h"

/* Bits of the spec's SET_VRING_ADDR flags: none (no dirty logging). */
#define VRING_ADDR_FLAGS 0

/* Log once and give the connection up: after an error mid-message the byte
 * stream cannot be trusted to be in step. `doing` + `what`: "sending" "SET_OWNER". */
static int broken(struct vhost_user *vu, int r, const char *doing, const char *what)
{
	if (!vu->broken)
		log_warn("vhost-user %s: %s %s: %s; back-end connection given up", vu->name, doing,
			 what, strerror(-r));
	vu->broken = true;
	return r;
}

static const char *req_name(uint32_t req)
{
	static const char *const names[] = {
	    [VHOST_USER_GET_FEATURES] = "GET_FEATURES",
	    [VHOST_USER_SET_FEATURES] = "SET_FEATURES",
	    [VHOST_USER_SET_OWNER] = "SET_OWNER",
	    [VHOST_USER_RESET_OWNER] = "RESET_OWNER",
	    [VHOST_USER_SET_MEM_TABLE] = "SET_MEM_TABLE",
	    [VHOST_USER_SET_VRING_NUM] = "SET_VRING_NUM",
	    [VHOST_USER_SET_VRING_ADDR] = "SET_VRING_ADDR",
	    [VHOST_USER_SET_VRING_BASE] = "SET_VRING_BASE",
	    [VHOST_USER_GET_VRING_BASE] = "GET_VRING_BASE",
	    [VHOST_USER_SET_VRING_KICK] = "SET_VRING_KICK",
	    [VHOST_USER_SET_VRING_CALL] = "SET_VRING_CALL",
	    [VHOST_USER_SET_VRING_ERR] = "SET_VRING_ERR",
	    [VHOST_USER_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
	    [VHOST_USER_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
	    [VHOST_USER_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
	    [VHOST_USER_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
	};
	return req < sizeof(names) / sizeof(names[0]) && names[req] ? names[req] : "request";
}

int vhost_user_open_fd(struct vhost_user *vu, int fd, const char *name, int timeout_ms)
{
	memset(vu, 0, sizeof(*vu));
	vu->fd = fd;
	vu->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
	snprintf(vu->name, sizeof(vu->name), "%s", name ? name : "back-end");
	/* Timeouts on the socket itself rather than poll(): a hung back-end
	 * must not hang a vCPU, and the jailed VMM may not poll. */
	struct timeval tv = {.tv_sec = vu->timeout_ms / 1000,
			     .tv_usec = (vu->timeout_ms % 1000) * 1000};
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		vu->fd = -1; /* the caller still owns fd */
		vu->broken = true;
		return -errno;
	}
	return 0;
}

int vhost_user_connect(struct vhost_user *vu, const char *path, int timeout_ms)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	vu->fd = -1;
	vu->broken = true; /* until connected */
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	int waited_ms = 0;
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			int r = vhost_user_open_fd(vu, fd, path, timeout_ms);
			if (r < 0)
				close(fd);
			return r;
		}
		int r = -errno;
		close(fd);
		/* A back-end started just before us may not be listening yet. */
		if ((r != -ENOENT && r != -ECONNREFUSED) || waited_ms >= timeout_ms)
			return r;
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
		waited_ms += 10;
	}
}

void vhost_user_close(struct vhost_user *vu)
{
	if (vu->fd >= 0)
		close(vu->fd);
	vu->fd = -1;
	vu->broken = true;
}

int vhost_user_reply_check(const struct vhost_user_hdr *hdr, uint32_t request, uint32_t want)
{
	if ((hdr->flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION)
		return -EPROTO;
	if (!(hdr->flags & VHOST_USER_REPLY_MASK) || (hdr->flags & VHOST_USER_NEED_REPLY_MASK))
		return -EPROTO;
	if (hdr->request != request || hdr->size != want)
		return -EPROTO;
	return 0;
}

static int send_msg(struct vhost_user *vu, uint32_t req, uint32_t flags, const void *payload,
		    uint32_t size, const int *fds, unsigned n_fds)
{
	struct vhost_user_hdr hdr = {
	    .request = req, .flags = VHOST_USER_VERSION | flags, .size = size};
	struct iovec iov[2] = {{&hdr, sizeof(hdr)}, {(void *)payload, size}};
	union {
		char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_REGIONS)];
		struct cmsghdr align;
	} cmsg;
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = size ? 2 : 1};
	if (n_fds > VHOST_USER_MAX_REGIONS)
		return -EINVAL;
	if (n_fds) {
		memset(&cmsg, 0, sizeof(cmsg));
		msg.msg_control = cmsg.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
	}
	size_t total = sizeof(hdr) + size, done = 0;
	while (done < total) {
		ssize_t n = sendmsg(vu->fd, &msg, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		done += (size_t)n;
		/* A short write (rare on unix sockets): send the rest, fds already went. */
		msg.msg_control = NULL;
		msg.msg_controllen = 0;
		size_t skip = (size_t)n;
		while (msg.msg_iovlen && skip >= msg.msg_iov[0].iov_len) {
			skip -= msg.msg_iov[0].iov_len;
			msg.msg_iov++;
			msg.msg_iovlen--;
		}
		if (msg.msg_iovlen) {
			msg.msg_iov[0].iov_base = (char *)msg.msg_iov[0].iov_base + skip;
			msg.msg_iov[0].iov_len -= skip;
		}
	}
	return 0;
}

/* Read exactly len bytes; fds that arrive with them are closed and refused. */
static int recv_exact(struct vhost_user *vu, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		union {
			char buf[CMSG_SPACE(sizeof(int) * 8)];
			struct cmsghdr align;
		} cmsg;
		struct iovec iov = {(char *)buf + got, len - got};
		struct msghdr msg = {.msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = cmsg.buf,
				     .msg_controllen = sizeof(cmsg.buf)};
		ssize_t n = recvmsg(vu->fd, &msg, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		bool fds = false;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < nfd; i++) {
				int fd;
				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				close(fd);
			}
			fds = true;
		}
		if (fds || (msg.msg_flags & MSG_CTRUNC))
			return -EPROTO; /* no reply we ask for carries fds */
		if (n == 0)
			return -ECONNRESET;
		got += (size_t)n;
	}
	return 0;
}

/* Read the reply to `req`: exactly `want` payload bytes into out. */
static int recv_reply(struct vhost_user *vu, uint32_t req, void *out, uint32_t want)
{
	struct vhost_user_hdr hdr;
	uint8_t payload[VHOST_USER_MAX_REPLY];
	int r = recv_exact(vu, &hdr, sizeof(hdr));
	if (r < 0)
		return broken(vu, r, "reading the reply to", req_name(req));
	if (vhost_user_reply_check(&hdr, req, want) < 0) {
		log_warn("vhost-user %s: bad reply to %s: request %u flags 0x%x size %u "
			 "(expected request %u, reply flag, version 1, size %u)",
			 vu->name, req_name(req), hdr.request, hdr.flags, hdr.size, req, want);
		vu->broken = true; /* the rest of the stream cannot be trusted */
		return -EPROTO;
	}
	if (want > sizeof(payload))
		return broken(vu, -EINVAL, "internal: reply too large for", req_name(req));
	r = recv_exact(vu, payload, want);
	if (r < 0)
		return broken(vu, r, "reading the payload of", req_name(req));
	memcpy(out, payload, want);
	return 0;
}

/* A request with a reply of `want` bytes (want 0: no reply expected). */
static int request(struct vhost_user *vu, uint32_t req, const void *payload, uint32_t size,
		   const int *fds, unsigned n_fds, void *reply, uint32_t want)
{
	if (vu->broken || vu->fd < 0)
		return -ENOTCONN;
	bool ack = !want && (vu->protocol_features & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK));
	int r = send_msg(vu, req, ack ? VHOST_USER_NEED_REPLY_MASK : 0, payload, size, fds, n_fds);
	if (r < 0)
		return broken(vu, r, "sending", req_name(req));
	if (want)
		return recv_reply(vu, req, reply, want);
	if (!ack)
		return 0;
	uint64_t status;
	r = recv_reply(vu, req, &status, sizeof(status));
	if (r < 0)
		return r;
	if (status != 0) {
		/* The back-end refused but the stream is in step: not broken. */
		log_warn("vhost-user %s: back-end refused %s (status %llu)", vu->name,
			 req_name(req), (unsigned long long)status);
		return -EIO;
	}
	return 0;
}

static int get_u64(struct vhost_user *vu, uint32_t req, uint64_t *out)
{
	return request(vu, req, NULL, 0, NULL, 0, out, sizeof(*out));
}

static int set_u64(struct vhost_user *vu, uint32_t req, uint64_t v)
{
	return request(vu, req, &v, sizeof(v), NULL, 0, NULL, 0);
}

int vhost_user_set_owner(struct vhost_user *vu)
{
	return request(vu, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0, NULL, 0);
}

int vhost_user_get_features(struct vhost_user *vu, uint64_t *features)
{
	return get_u64(vu, VHOST_USER_GET_FEATURES, features);
}

int vhost_user_set_features(struct vhost_user *vu, uint64_t features)
{
	return set_u64(vu, VHOST_USER_SET_FEATURES, features);
}

int vhost_user_get_protocol_features(struct vhost_user *vu, uint64_t *features)
{
	return get_u64(vu, VHOST_USER_GET_PROTOCOL_FEATURES, features);
}

int vhost_user_set_protocol_features(struct vhost_user *vu, uint64_t features)
{
	return set_u64(vu, VHOST_USER_SET_PROTOCOL_FEATURES, features);
}

int vhost_user_get_queue_num(struct vhost_user *vu, uint64_t *num)
{
	return get_u64(vu, VHOST_USER_GET_QUEUE_NUM, num);
}

int vhost_user_handshake(struct vhost_user *vu, uint64_t *queue_num)
{
	uint64_t pf = 0;
	*queue_num = 0;
	int r = vhost_user_set_owner(vu);
	if (r == 0)
		r = vhost_user_get_features(vu, &vu->features);
	if (r < 0 || !(vu->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)))
		return r;
	if ((r = vhost_user_get_protocol_features(vu, &pf)) < 0)
		return r;
	/* Only what this file implements; REPLY_ACK takes effect after the
	 * SET itself (which therefore gets no ack). */
	pf &= (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) | (1ull << VHOST_USER_PROTOCOL_F_MQ);
	if ((r = vhost_user_set_protocol_features(vu, pf)) < 0)
		return r;
	vu->protocol_features = pf;
	if (pf & (1ull << VHOST_USER_PROTOCOL_F_MQ))
		r = vhost_user_get_queue_num(vu, queue_num);
	log_debug("vhost-user %s: features 0x%llx, protocol features 0x%llx, queues %llu", vu->name,
		  (unsigned long long)vu->features, (unsigned long long)pf,
		  (unsigned long long)*queue_num);
	return r;
}

int vhost_user_set_mem_table(struct vhost_user *vu, const struct vmm_mem *mem)
{
	struct vhost_user_mem_table t = {.n_regions = mem->n_regions};
	int fds[VHOST_USER_MAX_REGIONS];
	if (mem->fd < 0 || mem->n_regions == 0 || mem->n_regions > VHOST_USER_MAX_REGIONS)
		return -EINVAL; /* only memfd-backed guest RAM can be shared */
	for (unsigned i = 0; i < mem->n_regions; i++) {
		const struct vmm_mem_region *m = &mem->regions[i];
		t.regions[i] = (struct vhost_user_mem_region){
		    .guest_phys_addr = m->gpa,
		    .memory_size = m->size,
		    .userspace_addr = (uint64_t)(uintptr_t)m->hva,
		    .mmap_offset = m->fd_offset,
		};
		fds[i] = mem->fd; /* one fd per region, all the same memfd */
	}
	uint32_t size = (uint32_t)(8 + mem->n_regions * sizeof(struct vhost_user_mem_region));
	return request(vu, VHOST_USER_SET_MEM_TABLE, &t, size, fds, mem->n_regions, NULL, 0);
}

static int vring_state(struct vhost_user *vu, uint32_t req, unsigned idx, unsigned num)
{
	struct vhost_user_vring_state s = {.index = idx, .num = num};
	return request(vu, req, &s, sizeof(s), NULL, 0, NULL, 0);
}

int vhost_user_set_vring_num(struct vhost_user *vu, unsigned idx, unsigned num)
{
	return vring_state(vu, VHOST_USER_SET_VRING_NUM, idx, num);
}

int vhost_user_set_vring_base(struct vhost_user *vu, unsigned idx, unsigned base)
{
	return vring_state(vu, VHOST_USER_SET_VRING_BASE, idx, base);
}

int vhost_user_set_vring_enable(struct vhost_user *vu, unsigned idx, bool enable)
{
	return vring_state(vu, VHOST_USER_SET_VRING_ENABLE, idx, enable);
}

int vhost_user_get_vring_base(struct vhost_user *vu, unsigned idx, unsigned *base)
{
	struct vhost_user_vring_state s = {.index = idx}, reply;
	int r =
	    request(vu, VHOST_USER_GET_VRING_BASE, &s, sizeof(s), NULL, 0, &reply, sizeof(reply));
	if (r < 0)
		return r;
	if (reply.index != idx)
		return broken(vu, -EPROTO, "wrong queue index in", "GET_VRING_BASE reply");
	*base = reply.num;
	return 0;
}

int vhost_user_set_vring_addr(struct vhost_user *vu, unsigned idx, uint64_t desc, uint64_t used,
			      uint64_t avail)
{
	struct vhost_user_vring_addr a = {.index = idx,
					  .flags = VRING_ADDR_FLAGS,
					  .desc_user_addr = desc,
					  .used_user_addr = used,
					  .avail_user_addr = avail};
	return request(vu, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0, NULL, 0);
}

static int vring_fd(struct vhost_user *vu, uint32_t req, unsigned idx, int fd)
{
	uint64_t v = idx & VHOST_USER_VRING_IDX_MASK;
	if (idx > VHOST_USER_VRING_IDX_MASK)
		return -EINVAL;
	if (fd < 0)
		v |= VHOST_USER_VRING_NOFD_MASK;
	return request(vu, req, &v, sizeof(v), fd < 0 ? NULL : &fd, fd < 0 ? 0 : 1, NULL, 0);
}

int vhost_user_set_vring_kick(struct vhost_user *vu, unsigned idx, int fd)
{
	return vring_fd(vu, VHOST_USER_SET_VRING_KICK, idx, fd);
}

int vhost_user_set_vring_call(struct vhost_user *vu, unsigned idx, int fd)
{
	return vring_fd(vu, VHOST_USER_SET_VRING_CALL, idx, fd);
}
