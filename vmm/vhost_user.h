/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The front-end side of the vhost-user protocol (QEMU docs/interop/vhost-user.rst):
 * hull-vmm hands a device's virtqueues to a back-end process (virtiofsd) over
 * a unix socket. Guest RAM is shared by passing its memfd (SET_MEM_TABLE);
 * the back-end reads kicks from the queues' ioeventfds and signals the guest
 * through the irqfd, so the data path never passes through the VMM.
 *
 * Every message is synchronous: the front-end sends a request and, when the
 * request has a reply (or REPLY_ACK asked for one), reads it at once. The
 * back-end is another process and not trusted: each reply is checked
 * (header size, version and reply flags, request id, payload size, no fds),
 * reads and writes time out, and any violation marks the connection broken
 * for good (`broken`), so that the caller fails only the device.
 */
#ifndef HULL_VMM_VHOST_USER_H
#define HULL_VMM_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio.h"

/* Front-end requests (vhost-user.rst, "Front-end message types"). */
enum vhost_user_request {
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_RESET_OWNER = 4,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_SET_VRING_ERR = 14,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
};

/* Header flags: bits 0-1 version, bit 2 reply, bit 3 need-reply. */
#define VHOST_USER_VERSION         0x1u
#define VHOST_USER_VERSION_MASK    0x3u
#define VHOST_USER_REPLY_MASK      (1u << 2)
#define VHOST_USER_NEED_REPLY_MASK (1u << 3)

/* Virtio feature bit 30: the back-end speaks the protocol-feature extension. */
#define VHOST_USER_F_PROTOCOL_FEATURES 30

/* Protocol features hull's front-end knows how to use. */
#define VHOST_USER_PROTOCOL_F_MQ        0
#define VHOST_USER_PROTOCOL_F_REPLY_ACK 3
#define VHOST_USER_PROTOCOL_F_CONFIG    9

/* Kick/call/err payload: queue index in bits 0-7, bit 8 = no fd attached. */
#define VHOST_USER_VRING_IDX_MASK  0xffu
#define VHOST_USER_VRING_NOFD_MASK (1u << 8)

/* At most this many memory regions in SET_MEM_TABLE (VHOST_MEMORY_BASELINE_NREGIONS). */
#define VHOST_USER_MAX_REGIONS 8

struct vhost_user_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size; /* payload bytes after the header */
} __attribute__((packed));

struct vhost_user_vring_state {
	uint32_t index;
	uint32_t num;
} __attribute__((packed));

struct vhost_user_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc_user_addr;
	uint64_t used_user_addr;
	uint64_t avail_user_addr;
	uint64_t log_guest_addr;
} __attribute__((packed));

struct vhost_user_mem_region {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;
} __attribute__((packed));

struct vhost_user_mem_table {
	uint32_t n_regions;
	uint32_t padding;
	struct vhost_user_mem_region regions[VHOST_USER_MAX_REGIONS];
} __attribute__((packed));

/* Largest reply payload any request we send can have (GET_VRING_BASE: 8). */
#define VHOST_USER_MAX_REPLY 8

struct vhost_user {
	int fd;                     /* the connection, or -1 */
	int timeout_ms;             /* per send/receive */
	uint64_t features;          /* GET_FEATURES result */
	uint64_t protocol_features; /* negotiated (ours & the back-end's) */
	bool broken;                /* a protocol error or timeout: never used again */
	char name[64];              /* for log messages: the socket path */
};

/* Take an already connected socket (tests: one end of a socketpair). Sets
 * send/receive timeouts on it. Returns 0 (vu owns fd) or -errno (the caller still does). */
int vhost_user_open_fd(struct vhost_user *vu, int fd, const char *name, int timeout_ms);
/* Connect to a back-end listening on `path`, retrying for up to timeout_ms
 * while the socket does not exist yet or refuses (the back-end is starting). */
int vhost_user_connect(struct vhost_user *vu, const char *path, int timeout_ms);
void vhost_user_close(struct vhost_user *vu);

/*
 * Check a reply header and payload length for `request`: reply flag set,
 * version 1, same request id, payload exactly `want` bytes. Pure function,
 * used by the receive path and the fuzz target. Returns 0 or -EPROTO.
 */
int vhost_user_reply_check(const struct vhost_user_hdr *hdr, uint32_t request, uint32_t want);

/*
 * The session setup every device needs, in the order QEMU's front-end uses:
 * SET_OWNER, GET_FEATURES, and when the back-end offers protocol features,
 * GET_PROTOCOL_FEATURES / SET_PROTOCOL_FEATURES (ours: REPLY_ACK, MQ) and,
 * with MQ, GET_QUEUE_NUM into *queue_num (else *queue_num = 0: unknown).
 */
int vhost_user_handshake(struct vhost_user *vu, uint64_t *queue_num);

/* The single requests (each returns 0 or -errno and marks vu broken on a
 * protocol error). Requests without a reply ask for a REPLY_ACK when it was
 * negotiated, so that a back-end's refusal is seen at once. */
int vhost_user_set_owner(struct vhost_user *vu);
int vhost_user_get_features(struct vhost_user *vu, uint64_t *features);
int vhost_user_set_features(struct vhost_user *vu, uint64_t features);
int vhost_user_get_protocol_features(struct vhost_user *vu, uint64_t *features);
int vhost_user_set_protocol_features(struct vhost_user *vu, uint64_t features);
int vhost_user_get_queue_num(struct vhost_user *vu, uint64_t *num);
/* All regions of mem, each as (memfd, offset in it, gpa, our mapping address). */
int vhost_user_set_mem_table(struct vhost_user *vu, const struct vmm_mem *mem);
int vhost_user_set_vring_num(struct vhost_user *vu, unsigned idx, unsigned num);
/* Ring addresses in the front-end's address space (our mapping of guest RAM). */
int vhost_user_set_vring_addr(struct vhost_user *vu, unsigned idx, uint64_t desc, uint64_t used,
			      uint64_t avail);
int vhost_user_set_vring_base(struct vhost_user *vu, unsigned idx, unsigned base);
/* Stops the ring in the back-end and returns its next available index. */
int vhost_user_get_vring_base(struct vhost_user *vu, unsigned idx, unsigned *base);
/* fd -1: sent with the "no fd" flag. */
int vhost_user_set_vring_kick(struct vhost_user *vu, unsigned idx, int fd);
int vhost_user_set_vring_call(struct vhost_user *vu, unsigned idx, int fd);
int vhost_user_set_vring_enable(struct vhost_user *vu, unsigned idx, bool enable);

#endif
