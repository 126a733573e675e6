// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-vsock packet header (virtio 1.2, 5.10.6): byte-exact little-endian
 * encoding, independent of host endianness and of struct padding, and the
 * validation every guest packet passes before the muxer acts on it.
 */
#include <errno.h>

#include "vsock_packet.h"

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* Field offsets of struct virtio_vsock_hdr (packed). */
enum {
	OFF_SRC_CID = 0,
	OFF_DST_CID = 8,
	OFF_SRC_PORT = 16,
	OFF_DST_PORT = 20,
	OFF_LEN = 24,
	OFF_TYPE = 28,
	OFF_OP = 30,
	OFF_FLAGS = 32,
	OFF_BUF_ALLOC = 36,
	OFF_FWD_CNT = 40,
};

int vsock_hdr_parse(const uint8_t *buf, size_t len, struct vsock_hdr *out)
{
	if (len < VSOCK_HDR_SIZE)
		return -EMSGSIZE;
	out->src_cid = get64(buf + OFF_SRC_CID);
	out->dst_cid = get64(buf + OFF_DST_CID);
	out->src_port = get32(buf + OFF_SRC_PORT);
	out->dst_port = get32(buf + OFF_DST_PORT);
	out->len = get32(buf + OFF_LEN);
	out->type = get16(buf + OFF_TYPE);
	out->op = get16(buf + OFF_OP);
	out->flags = get32(buf + OFF_FLAGS);
	out->buf_alloc = get32(buf + OFF_BUF_ALLOC);
	out->fwd_cnt = get32(buf + OFF_FWD_CNT);
	return 0;
}

void vsock_hdr_build(const struct vsock_hdr *h, uint8_t out[VSOCK_HDR_SIZE])
{
	put64(out + OFF_SRC_CID, h->src_cid);
	put64(out + OFF_DST_CID, h->dst_cid);
	put32(out + OFF_SRC_PORT, h->src_port);
	put32(out + OFF_DST_PORT, h->dst_port);
	put32(out + OFF_LEN, h->len);
	put16(out + OFF_TYPE, h->type);
	put16(out + OFF_OP, h->op);
	put32(out + OFF_FLAGS, h->flags);
	put32(out + OFF_BUF_ALLOC, h->buf_alloc);
	put32(out + OFF_FWD_CNT, h->fwd_cnt);
}

static enum vsock_verdict verdict(const char **why, const char *msg, enum vsock_verdict v)
{
	if (why)
		*why = msg;
	return v;
}

enum vsock_verdict vsock_hdr_check(const struct vsock_hdr *h, uint64_t guest_cid, const char **why)
{
	/* A packet that claims another source or goes elsewhere cannot be
	 * answered meaningfully (an RST would go to a forged address). */
	if (h->src_cid != guest_cid)
		return verdict(why, "source cid is not the guest's", VSOCK_PKT_DROP);
	if (h->dst_cid != VSOCK_HOST_CID)
		return verdict(why, "destination cid is not the host", VSOCK_PKT_DROP);
	if (h->op == VSOCK_OP_RST) {
		/* Never answer an RST with an RST (5.10.6.4: no reply loops). */
		if (h->len != 0)
			return verdict(why, "RST with payload", VSOCK_PKT_DROP);
		if (h->type != VSOCK_TYPE_STREAM)
			return verdict(why, "RST of unsupported type", VSOCK_PKT_DROP);
		return verdict(why, NULL, VSOCK_PKT_OK);
	}
	if (h->type != VSOCK_TYPE_STREAM)
		return verdict(why, "socket type is not STREAM", VSOCK_PKT_RST);
	if (h->op < VSOCK_OP_REQUEST || h->op > VSOCK_OP_CREDIT_REQUEST)
		return verdict(why, "unknown op", VSOCK_PKT_RST);
	if (h->len > VSOCK_MAX_PKT_LEN)
		return verdict(why, "payload longer than 64 KiB", VSOCK_PKT_RST);
	if (h->len != 0 && h->op != VSOCK_OP_RW)
		return verdict(why, "payload on a control packet", VSOCK_PKT_RST);
	return verdict(why, NULL, VSOCK_PKT_OK);
}

const char *vsock_op_name(uint16_t op)
{
	static const char *const names[] = {
	    [VSOCK_OP_INVALID] = "INVALID",
	    [VSOCK_OP_REQUEST] = "REQUEST",
	    [VSOCK_OP_RESPONSE] = "RESPONSE",
	    [VSOCK_OP_RST] = "RST",
	    [VSOCK_OP_SHUTDOWN] = "SHUTDOWN",
	    [VSOCK_OP_RW] = "RW",
	    [VSOCK_OP_CREDIT_UPDATE] = "CREDIT_UPDATE",
	    [VSOCK_OP_CREDIT_REQUEST] = "CREDIT_REQUEST",
	};
	return op < sizeof(names) / sizeof(names[0]) ? names[op] : "op?";
}
