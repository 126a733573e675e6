// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz the vhost-user front-end's reply handling: the input is everything a
 * hostile back-end says on the socket (then it closes its side). The first
 * byte picks the front-end state (REPLY_ACK negotiated or not); the rest is
 * fed through a socketpair while the front-end runs the handshake and the
 * queue setup/stop requests a virtio-fs activation and reset make. Nothing
 * may crash, hang or read beyond what a header announced; once a reply is
 * refused the connection must stay broken.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../vmm/vhost_user.h"
#include "lib/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	if (!quiet) {
		log_set_level(LOG_ERROR);
		quiet = 1;
	}
	if (size < 1 || size > 65536)
		return 0;
	if (size >= 1 + sizeof(struct vhost_user_hdr)) {
		struct vhost_user_hdr h;
		memcpy(&h, data + 1, sizeof(h));
		vhost_user_reply_check(&h, h.request, 8);
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	/* The whole "back-end" at once, then EOF: the front-end never waits. */
	if (size > 1 && write(sv[1], data + 1, size - 1) != (ssize_t)(size - 1))
		abort();
	shutdown(sv[1], SHUT_WR);
	struct vhost_user vu;
	if (vhost_user_open_fd(&vu, sv[0], "fuzz", 1000) < 0)
		abort();
	uint64_t qn;
	unsigned base;
	vhost_user_handshake(&vu, &qn);
	if (data[0] & 1)
		vu.protocol_features |= 1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK;
	vhost_user_set_features(&vu, 1ull << 32);
	vhost_user_set_vring_num(&vu, 1, 256);
	vhost_user_set_vring_addr(&vu, 1, 0x1000, 0x3000, 0x2000);
	vhost_user_set_vring_call(&vu, 1, -1);
	vhost_user_set_vring_enable(&vu, 1, true);
	int r = vhost_user_get_vring_base(&vu, 1, &base);
	if (r < 0 && r != -EIO && !vu.broken)
		abort(); /* a refused reply must leave the connection unusable */
	if (vu.broken && vhost_user_set_owner(&vu) != -ENOTCONN)
		abort();
	vhost_user_close(&vu);
	close(sv[1]);
	return 0;
}
