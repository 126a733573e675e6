/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A simulated guest for vsock muxer tests: a muxer listening in a fresh
 * directory under /tmp, helpers that send it guest packets and collect the
 * packets it owes the guest, and host-side socket helpers.
 */
#ifndef HULL_TESTS_VSOCK_SIM_H
#define HULL_TESTS_VSOCK_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "../../../vmm/vsock_muxer.h"

#define SIM_CID 3

struct vsock_sim {
	struct vsock_muxer *m;
	char dir[64];
	char path[80];
};

/* cfg may be NULL (defaults); its path and guest_cid are filled in. */
int vsock_sim_init(struct vsock_sim *s, const struct vsock_muxer_config *cfg);
void vsock_sim_exit(struct vsock_sim *s);

/* Guest -> muxer: one packet from SIM_CID. Returns vsock_muxer_tx(). */
int vsock_sim_send(struct vsock_sim *s, uint16_t op, uint32_t src_port, uint32_t dst_port,
		   uint32_t flags, uint32_t buf_alloc, uint32_t fwd_cnt, const void *data,
		   uint32_t len);
/* Muxer -> guest: process events, then take one packet into buf (cap bytes
 * of payload room). 0 or -EAGAIN. */
int vsock_sim_recv(struct vsock_sim *s, struct vsock_hdr *h, void *buf, size_t cap);
/* vsock_sim_recv, polling the muxer fd for up to timeout_ms. */
int vsock_sim_wait(struct vsock_sim *s, struct vsock_hdr *h, void *buf, size_t cap, int timeout_ms);
/* Let the muxer handle pending events for up to timeout_ms without taking
 * packets. */
void vsock_sim_pump(struct vsock_sim *s, int timeout_ms);

/* Host side: a blocking client connected to the VM socket. */
int vsock_sim_client(struct vsock_sim *s);
/* Host side: listen on <path>_<port>. */
int vsock_sim_listen(struct vsock_sim *s, uint32_t port);
/* Read with a timeout: bytes read, 0 at EOF, -ETIMEDOUT or -errno. */
ssize_t vsock_sim_read(int fd, void *buf, size_t len, int timeout_ms);
/* Open fds of this process (/proc/self/fd). */
int vsock_sim_fd_count(void);

#endif
