/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-vsock packet header (virtio 1.2, section 5.10.6 "Device Operation"):
 * the 44-byte little-endian struct virtio_vsock_hdr that heads every packet on
 * the rx and tx queues, its parse/build and the checks the device applies to
 * every packet the guest sends.
 */
#ifndef HULL_VMM_VSOCK_PACKET_H
#define HULL_VMM_VSOCK_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VSOCK_HDR_SIZE 44
#define VSOCK_HOST_CID 2
/* Largest payload a packet may carry: Linux's VIRTIO_VSOCK_MAX_PKT_BUF_SIZE. */
#define VSOCK_MAX_PKT_LEN (64u * 1024)

#define VSOCK_TYPE_STREAM 1

enum vsock_op {
	VSOCK_OP_INVALID = 0,
	VSOCK_OP_REQUEST = 1,
	VSOCK_OP_RESPONSE = 2,
	VSOCK_OP_RST = 3,
	VSOCK_OP_SHUTDOWN = 4,
	VSOCK_OP_RW = 5,
	VSOCK_OP_CREDIT_UPDATE = 6,
	VSOCK_OP_CREDIT_REQUEST = 7,
};

/* SHUTDOWN flags: the sender will receive (RCV) / send (SEND) no more. */
#define VSOCK_SHUTDOWN_RCV  1u
#define VSOCK_SHUTDOWN_SEND 2u
#define VSOCK_SHUTDOWN_BOTH (VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND)

/* Host-order view of struct virtio_vsock_hdr. */
struct vsock_hdr {
	uint64_t src_cid;
	uint64_t dst_cid;
	uint32_t src_port;
	uint32_t dst_port;
	uint32_t len;
	uint16_t type;
	uint16_t op;
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
};

/* Decode the first VSOCK_HDR_SIZE bytes of buf. -EMSGSIZE when len is shorter. */
int vsock_hdr_parse(const uint8_t *buf, size_t len, struct vsock_hdr *out);
/* Encode h into out (exactly VSOCK_HDR_SIZE bytes). */
void vsock_hdr_build(const struct vsock_hdr *h, uint8_t out[VSOCK_HDR_SIZE]);

/* What vsock_hdr_check() concluded about a guest packet. */
enum vsock_verdict {
	VSOCK_PKT_OK = 0,
	VSOCK_PKT_DROP, /* not addressed from this guest to the host: ignore silently */
	VSOCK_PKT_RST,  /* well addressed but unusable: answer RST */
};

/*
 * Check a packet the guest put on its tx queue: it must come from guest_cid
 * and go to the host CID; type STREAM; a known op; len at most
 * VSOCK_MAX_PKT_LEN and non-zero only for RW. *why (may be NULL) names the
 * first problem found, for logs.
 */
enum vsock_verdict vsock_hdr_check(const struct vsock_hdr *h, uint64_t guest_cid, const char **why);

/* "REQUEST", "RW", ... or "op?" for unknown values. */
const char *vsock_op_name(uint16_t op);

#endif
