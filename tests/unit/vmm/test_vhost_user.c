// SPDX-License-Identifier: Apache-2.0
/*
 * The vhost-user front-end against a fake back-end on the other end of a
 * socketpair: replies are written into the socket before the request is
 * made (the front-end reads them after sending), then the request bytes and
 * fds the front-end sent are read back and checked field by field. Malformed
 * replies (wrong id, flags, size, fds, EOF, silence) must fail the call,
 * mark the connection broken and never crash.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../../vmm/vhost_user.h"

struct pair {
	struct vhost_user vu;
	int peer;
};

static int setup(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(vhost_user_open_fd(&p->vu, sv[0], "fake", 200), 0);
	p->peer = sv[1];
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	struct pair *p = *state;
	vhost_user_close(&p->vu);
	if (p->peer >= 0)
		close(p->peer);
	free(p);
	return 0;
}

/* The back-end's reply: header + payload, optionally with an fd. */
static void reply_raw(struct pair *p, uint32_t req, uint32_t flags, uint32_t size,
		      const void *payload, size_t len, int fd)
{
	struct vhost_user_hdr h = {req, flags, size};
	struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)payload, len}};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} c;
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
	if (fd >= 0) {
		m.msg_control = c.buf;
		m.msg_controllen = sizeof(c.buf);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	assert_int_equal(sendmsg(p->peer, &m, 0), (ssize_t)(sizeof(h) + len));
}

static void reply_u64(struct pair *p, uint32_t req, uint64_t v)
{
	reply_raw(p, req, VHOST_USER_VERSION | VHOST_USER_REPLY_MASK, 8, &v, 8, -1);
}

/* Read one request the front-end sent; returns its payload size. */
static uint32_t read_req(struct pair *p, uint32_t req, uint32_t flags, void *payload, size_t cap,
			 int *fds, unsigned *n_fds)
{
	struct vhost_user_hdr h;
	union {
		char buf[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} c;
	struct iovec iov = {&h, sizeof(h)};
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = c.buf,
			   .msg_controllen = sizeof(c.buf)};
	assert_int_equal(recvmsg(p->peer, &m, 0), sizeof(h));
	assert_int_equal(h.request, req);
	assert_int_equal(h.flags, flags);
	unsigned n = 0;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
		size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++, n++) {
			int fd;
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (fds)
				fds[n] = fd;
			else
				close(fd);
		}
	}
	if (n_fds)
		*n_fds = n;
	assert_true(h.size <= cap);
	if (h.size)
		assert_int_equal(read(p->peer, payload, h.size), h.size);
	return h.size;
}

static void test_handshake(void **state)
{
	struct pair *p = *state;
	uint64_t feats = (1ull << 32) | (1ull << VHOST_USER_F_PROTOCOL_FEATURES) | (1ull << 28);
	uint64_t pf = (1ull << VHOST_USER_PROTOCOL_F_MQ) |
		      (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
		      (1ull << VHOST_USER_PROTOCOL_F_CONFIG) | (1ull << 5);
	reply_u64(p, VHOST_USER_GET_FEATURES, feats);
	reply_u64(p, VHOST_USER_GET_PROTOCOL_FEATURES, pf);
	reply_u64(p, VHOST_USER_GET_QUEUE_NUM, 2);
	uint64_t qn = 99, v;
	assert_int_equal(vhost_user_handshake(&p->vu, &qn), 0);
	assert_int_equal(qn, 2);
	assert_int_equal(p->vu.features, feats);
	/* Only what the front-end implements is accepted. */
	uint64_t want =
	    (1ull << VHOST_USER_PROTOCOL_F_MQ) | (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK);
	assert_int_equal(p->vu.protocol_features, want);
	assert_int_equal(read_req(p, VHOST_USER_SET_OWNER, 1, NULL, 0, NULL, NULL), 0);
	assert_int_equal(read_req(p, VHOST_USER_GET_FEATURES, 1, NULL, 0, NULL, NULL), 0);
	assert_int_equal(read_req(p, VHOST_USER_GET_PROTOCOL_FEATURES, 1, NULL, 0, NULL, NULL), 0);
	assert_int_equal(read_req(p, VHOST_USER_SET_PROTOCOL_FEATURES, 1, &v, 8, NULL, NULL), 8);
	assert_int_equal(v, want);
	assert_int_equal(read_req(p, VHOST_USER_GET_QUEUE_NUM, 1, NULL, 0, NULL, NULL), 0);
	assert_false(p->vu.broken);
}

/* Without bit 30 there is no protocol-feature exchange at all. */
static void test_handshake_legacy(void **state)
{
	struct pair *p = *state;
	reply_u64(p, VHOST_USER_GET_FEATURES, 1ull << 32);
	uint64_t qn = 99;
	assert_int_equal(vhost_user_handshake(&p->vu, &qn), 0);
	assert_int_equal(qn, 0);
	assert_int_equal(p->vu.protocol_features, 0);
	read_req(p, VHOST_USER_SET_OWNER, 1, NULL, 0, NULL, NULL);
	read_req(p, VHOST_USER_GET_FEATURES, 1, NULL, 0, NULL, NULL);
	/* nothing else was sent */
	char b;
	assert_int_equal(recv(p->peer, &b, 1, MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
}

static void test_reply_ack(void **state)
{
	struct pair *p = *state;
	p->vu.protocol_features = 1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK;
	struct vhost_user_vring_state s;
	reply_u64(p, VHOST_USER_SET_VRING_NUM, 0);
	assert_int_equal(vhost_user_set_vring_num(&p->vu, 1, 256), 0);
	read_req(p, VHOST_USER_SET_VRING_NUM, 1 | VHOST_USER_NEED_REPLY_MASK, &s, sizeof(s), NULL,
		 NULL);
	assert_int_equal(s.index, 1);
	assert_int_equal(s.num, 256);
	/* A refusal is an error, but the stream is still in step. */
	reply_u64(p, VHOST_USER_SET_VRING_ENABLE, 1);
	assert_int_equal(vhost_user_set_vring_enable(&p->vu, 0, true), -EIO);
	assert_false(p->vu.broken);
	read_req(p, VHOST_USER_SET_VRING_ENABLE, 1 | VHOST_USER_NEED_REPLY_MASK, &s, sizeof(s),
		 NULL, NULL);
	assert_int_equal(s.num, 1);
	/* Requests with their own reply never ask for an ack. */
	struct vhost_user_vring_state st = {1, 42};
	reply_raw(p, VHOST_USER_GET_VRING_BASE, 5, 8, &st, 8, -1);
	unsigned base;
	assert_int_equal(vhost_user_get_vring_base(&p->vu, 1, &base), 0);
	assert_int_equal(base, 42);
	read_req(p, VHOST_USER_GET_VRING_BASE, 1, &s, sizeof(s), NULL, NULL);
}

static void test_mem_table(void **state)
{
	struct pair *p = *state;
	struct vmm_mem mem;
	assert_int_equal(vmm_mem_alloc(&mem, 8u << 20, 4u << 20), 0); /* two regions */
	assert_int_equal(mem.n_regions, 2);
	assert_int_equal(vhost_user_set_mem_table(&p->vu, &mem), 0);
	struct vhost_user_mem_table t;
	int fds[8];
	unsigned n;
	uint32_t size = read_req(p, VHOST_USER_SET_MEM_TABLE, 1, &t, sizeof(t), fds, &n);
	assert_int_equal(size, 8 + 2 * 32);
	assert_int_equal(t.n_regions, 2);
	assert_int_equal(n, 2);
	struct stat a, b;
	assert_int_equal(fstat(mem.fd, &a), 0);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(fstat(fds[i], &b), 0);
		assert_int_equal(a.st_ino, b.st_ino); /* the guest RAM memfd itself */
		close(fds[i]);
		assert_int_equal(t.regions[i].guest_phys_addr, mem.regions[i].gpa);
		assert_int_equal(t.regions[i].memory_size, mem.regions[i].size);
		assert_int_equal(t.regions[i].userspace_addr, (uintptr_t)mem.regions[i].hva);
		assert_int_equal(t.regions[i].mmap_offset, mem.regions[i].fd_offset);
	}
	assert_int_equal(t.regions[1].guest_phys_addr, 4ull << 30);
	assert_int_equal(t.regions[1].mmap_offset, 4u << 20);
	vmm_mem_free(&mem);
	/* Memory that is not a memfd cannot be shared. */
	char buf[4096];
	vmm_mem_init(&mem);
	vmm_mem_add(&mem, 0, sizeof(buf), buf);
	assert_int_equal(vhost_user_set_mem_table(&p->vu, &mem), -EINVAL);
}

static void test_vring_messages(void **state)
{
	struct pair *p = *state;
	assert_int_equal(vhost_user_set_vring_addr(&p->vu, 1, 0x1000, 0x3000, 0x2000), 0);
	struct vhost_user_vring_addr a;
	assert_int_equal(read_req(p, VHOST_USER_SET_VRING_ADDR, 1, &a, sizeof(a), NULL, NULL), 40);
	assert_int_equal(a.index, 1);
	assert_int_equal(a.desc_user_addr, 0x1000);
	assert_int_equal(a.used_user_addr, 0x3000);
	assert_int_equal(a.avail_user_addr, 0x2000);
	assert_int_equal(a.log_guest_addr, 0);
	int pipefd[2];
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(vhost_user_set_vring_kick(&p->vu, 1, pipefd[0]), 0);
	uint64_t v;
	int fds[8];
	unsigned n;
	read_req(p, VHOST_USER_SET_VRING_KICK, 1, &v, 8, fds, &n);
	assert_int_equal(v, 1);
	assert_int_equal(n, 1);
	close(fds[0]);
	assert_int_equal(vhost_user_set_vring_call(&p->vu, 0, -1), 0);
	read_req(p, VHOST_USER_SET_VRING_CALL, 1, &v, 8, fds, &n);
	assert_int_equal(v, VHOST_USER_VRING_NOFD_MASK);
	assert_int_equal(n, 0);
	assert_int_equal(vhost_user_set_vring_kick(&p->vu, 256, -1), -EINVAL);
	close(pipefd[0]);
	close(pipefd[1]);
}

/* ---- malformed replies --------------------------------------------------- */

enum bad {
	WRONG_ID,
	NO_REPLY_FLAG,
	VERSION_2,
	NEED_REPLY_SET,
	SHORT_SIZE,
	HUGE_SIZE,
	WITH_FD,
	EOF_IN_PAYLOAD,
	EOF_AT_ONCE,
	SILENCE,
	N_BAD
};

static void test_bad_replies(void **state)
{
	for (int b = 0; b < N_BAD; b++) {
		struct pair *p;
		setup((void **)&p);
		uint64_t v = 0x1234, out = 0;
		const uint32_t ok = VHOST_USER_VERSION | VHOST_USER_REPLY_MASK;
		switch (b) {
		case WRONG_ID:
			reply_raw(p, VHOST_USER_GET_PROTOCOL_FEATURES, ok, 8, &v, 8, -1);
			break;
		case NO_REPLY_FLAG:
			reply_raw(p, VHOST_USER_GET_FEATURES, 1, 8, &v, 8, -1);
			break;
		case VERSION_2:
			reply_raw(p, VHOST_USER_GET_FEATURES, 2 | VHOST_USER_REPLY_MASK, 8, &v, 8,
				  -1);
			break;
		case NEED_REPLY_SET:
			reply_raw(p, VHOST_USER_GET_FEATURES, ok | VHOST_USER_NEED_REPLY_MASK, 8,
				  &v, 8, -1);
			break;
		case SHORT_SIZE:
			reply_raw(p, VHOST_USER_GET_FEATURES, ok, 4, &v, 4, -1);
			break;
		case HUGE_SIZE:
			reply_raw(p, VHOST_USER_GET_FEATURES, ok, 0xffffffff, &v, 8, -1);
			break;
		case WITH_FD:
			reply_raw(p, VHOST_USER_GET_FEATURES, ok, 8, &v, 8, STDIN_FILENO);
			break;
		case EOF_IN_PAYLOAD:
			reply_raw(p, VHOST_USER_GET_FEATURES, ok, 8, &v, 4, -1);
			shutdown(p->peer, SHUT_WR);
			break;
		case EOF_AT_ONCE:
			close(p->peer);
			p->peer = -1;
			break;
		case SILENCE: /* times out after 200 ms */
			break;
		}
		int r = vhost_user_get_features(&p->vu, &out);
		print_message("bad reply %d -> %d\n", b, r);
		assert_true(r < 0);
		assert_true(p->vu.broken);
		assert_int_equal(out, 0);
		/* Broken for good: nothing more is sent. */
		assert_int_equal(vhost_user_set_owner(&p->vu), -ENOTCONN);
		teardown((void **)&p);
	}
}

static void test_wrong_ring_index(void **state)
{
	struct pair *p = *state;
	struct vhost_user_vring_state st = {0, 42};
	reply_raw(p, VHOST_USER_GET_VRING_BASE, 5, 8, &st, 8, -1);
	unsigned base = 7;
	assert_int_equal(vhost_user_get_vring_base(&p->vu, 1, &base), -EPROTO);
	assert_int_equal(base, 7);
	assert_true(p->vu.broken);
}

static void test_reply_check(void **state)
{
	struct vhost_user_hdr h = {VHOST_USER_GET_FEATURES, 5, 8};
	assert_int_equal(vhost_user_reply_check(&h, VHOST_USER_GET_FEATURES, 8), 0);
	assert_int_equal(vhost_user_reply_check(&h, VHOST_USER_GET_QUEUE_NUM, 8), -EPROTO);
	assert_int_equal(vhost_user_reply_check(&h, VHOST_USER_GET_FEATURES, 4), -EPROTO);
	h.flags = 4;
	assert_int_equal(vhost_user_reply_check(&h, VHOST_USER_GET_FEATURES, 8), -EPROTO);
}

static void test_connect_missing(void **state)
{
	struct vhost_user vu;
	assert_int_equal(vhost_user_connect(&vu, "/nonexistent/hull-vfs.sock", 50), -ENOENT);
	char longp[200];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(vhost_user_connect(&vu, longp, 50), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_handshake, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_handshake_legacy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reply_ack, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mem_table, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vring_messages, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_ring_index, setup, teardown),
	    cmocka_unit_test(test_bad_replies),
	    cmocka_unit_test(test_reply_check),
	    cmocka_unit_test(test_connect_missing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
