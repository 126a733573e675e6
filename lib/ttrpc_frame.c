// SPDX-License-Identifier: Apache-2.0
/*
 * ttrpc framing (containerd/ttrpc PROTOCOL.md "Message Frame", channel.go):
 * the 10-byte big-endian header, an incremental decoder that never allocates
 * more than TTRPC_MAX_PAYLOAD for one frame, a buffered reader over an fd and
 * a SIGPIPE-free writer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "ttrpc_wire.h"

static uint32_t be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void ttrpc_header_encode(uint8_t out[TTRPC_HEADER_SIZE], const struct ttrpc_frame_header *h)
{
	be32_put(out, h->length);
	be32_put(out + 4, h->stream_id);
	out[8] = h->type;
	out[9] = h->flags;
}

int ttrpc_header_decode(const uint8_t in[TTRPC_HEADER_SIZE], struct ttrpc_frame_header *h)
{
	h->length = be32_get(in);
	h->stream_id = be32_get(in + 4);
	h->type = in[8];
	h->flags = in[9];
	return h->length > TTRPC_MAX_PAYLOAD ? -EMSGSIZE : 0;
}

void ttrpc_rx_init(struct ttrpc_rx *rx)
{
	memset(rx, 0, sizeof(*rx));
}

void ttrpc_rx_exit(struct ttrpc_rx *rx)
{
	free(rx->body);
	ttrpc_rx_init(rx);
}

bool ttrpc_rx_partial(const struct ttrpc_rx *rx)
{
	return rx->hdr_got > 0 || rx->in_body;
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* The header just completed: validate it and get ready for the body. */
static int rx_start_body(struct ttrpc_rx *rx)
{
	/* PROTOCOL.md: the first byte is reserved and always zero, since no
	 * payload may reach 16 MiB. Anything else is not a ttrpc peer. */
	if (rx->hdr[0] != 0)
		return -EPROTO;
	rx->discarding = ttrpc_header_decode(rx->hdr, &rx->h) == -EMSGSIZE;
	rx->body_got = 0;
	rx->in_body = true;
	if (!rx->discarding && rx->h.length > 0) {
		rx->body = malloc(rx->h.length);
		if (!rx->body)
			return -ENOMEM;
	}
	return 0;
}

int ttrpc_rx_feed(struct ttrpc_rx *rx, const uint8_t *buf, size_t len, size_t *used,
                  struct ttrpc_frame *out)
{
	size_t pos = 0;
	int r;

	while (pos < len) {
		if (!rx->in_body) {
			size_t n = min_size(TTRPC_HEADER_SIZE - rx->hdr_got, len - pos);
			memcpy(rx->hdr + rx->hdr_got, buf + pos, n);
			rx->hdr_got += n;
			pos += n;
			if (rx->hdr_got < TTRPC_HEADER_SIZE)
				break;
			r = rx_start_body(rx);
			if (r < 0) {
				*used = pos;
				return r;
			}
			/* no `continue`: a zero-length frame completes right here */
		}
		size_t n = min_size(rx->h.length - rx->body_got, len - pos);
		if (!rx->discarding && n > 0)
			memcpy(rx->body + rx->body_got, buf + pos, n);
		rx->body_got += n;
		pos += n;
		if (rx->body_got == rx->h.length) {
			out->h = rx->h;
			out->body = TAKE_PTR(rx->body);
			out->oversized = rx->discarding;
			rx->in_body = false;
			rx->discarding = false;
			rx->hdr_got = 0;
			*used = pos;
			return 1;
		}
	}
	*used = pos;
	return 0;
}

void ttrpc_reader_init(struct ttrpc_reader *r, int fd)
{
	r->fd = fd;
	r->off = r->len = 0;
	ttrpc_rx_init(&r->rx);
}

void ttrpc_reader_exit(struct ttrpc_reader *r)
{
	ttrpc_rx_exit(&r->rx);
}

int ttrpc_reader_next(struct ttrpc_reader *r, struct ttrpc_frame *out)
{
	for (;;) {
		if (r->off < r->len) {
			size_t used = 0;
			int ret =
			    ttrpc_rx_feed(&r->rx, r->buf + r->off, r->len - r->off, &used, out);
			r->off += used;
			if (ret != 0)
				return ret;
			continue;
		}
		ssize_t n = read(r->fd, r->buf, sizeof(r->buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return ttrpc_rx_partial(&r->rx) ? -EPIPE : 0;
		r->off = 0;
		r->len = (size_t)n;
	}
}

int ttrpc_fd_write(int fd, const void *buf, size_t len)
{
	size_t done = 0;
	bool sock = true;

	while (done < len) {
		/* MSG_NOSIGNAL: a peer that went away must give EPIPE, not kill
		 * the process with SIGPIPE. */
		ssize_t n = sock ? send(fd, (const char *)buf + done, len - done, MSG_NOSIGNAL)
		                 : write(fd, (const char *)buf + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOTSOCK && sock) {
				sock = false;
				continue;
			}
			return -errno;
		}
		done += (size_t)n;
	}
	return 0;
}

int ttrpc_frame_pack(uint32_t stream_id, uint8_t type, uint8_t flags, const ProtobufCMessage *msg,
                     uint8_t **out, size_t *out_len)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	if (n > TTRPC_MAX_PAYLOAD)
		return -EMSGSIZE;
	uint8_t *buf = malloc(TTRPC_HEADER_SIZE + n);
	if (!buf)
		return -ENOMEM;
	struct ttrpc_frame_header h = {
	    .length = (uint32_t)n, .stream_id = stream_id, .type = type, .flags = flags};
	ttrpc_header_encode(buf, &h);
	protobuf_c_message_pack(msg, buf + TTRPC_HEADER_SIZE);
	*out = buf;
	*out_len = TTRPC_HEADER_SIZE + n;
	return 0;
}
